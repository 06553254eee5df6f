/*
 * test_filesafety.c - nothing lost, nothing clobbered (issue 8). Runs the
 * command-line program as a user (and an attacker) would:
 *   - fault injection: build/sessrec-fault fails its k-th wrapped I/O call
 *     (open/write/fsync/rename/mkdir/link, src/util/fileio.h) with EIO or
 *     ENOSPC; for every k, prepare, train (pop, tiny gru4rec), synth and
 *     stats --plot must exit 1 with a message, leave the previous outputs
 *     byte-identical and leave no temporary behind;
 *   - crash tests: kill -9 prepare and train at 20 random moments each;
 *     the output is then the old one or the complete new one, and the next
 *     run leaves no debris; SIGTERM removes what the run created;
 *   - hostile paths: planted symlinks, FIFO/folder/symlink/device targets,
 *     an output equal to an input, two concurrent prepares (100 rounds);
 *   - one check per defect of the issue (stdout errors, NUL bytes and
 *     unbounded echoes in recommend, repeated item ids, a split truncated
 *     under a reader, over-long paths, stats --plot limits).
 * Needs SR_BIN (and SR_BIN-fault) built; skips what it cannot run.
 */
#define _GNU_SOURCE
#include "sessrec.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ------------------------------------------------------------------ */

static char g_bin[900], g_fault[1024];
static int g_have_fault;

static void find_bins(void)
{
    const char *b = getenv("SR_BIN");
    if (!b || !*b)
        b = "build/sessrec";
    if (b[0] == '/')
        snprintf(g_bin, sizeof g_bin, "%s", b);
    else {
        char cwd[512];
        if (!getcwd(cwd, sizeof cwd))
            cwd[0] = 0;
        snprintf(g_bin, sizeof g_bin, "%s/%s", cwd, b);
    }
    snprintf(g_fault, sizeof g_fault, "%s-fault", g_bin);
    g_have_fault = access(g_fault, X_OK) == 0;
}

static int have_bin(void) { return access(g_bin, X_OK) == 0; }

/* Runs a shell command line; returns its exit status (-1 if it did not exit). */
static int sh(const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path, size_t *len)
{
    size_t n = 0;
    char *s = test_read_file(path, &n);
    if (len)
        *len = s ? n : 0;
    return s;
}

static int file_has(const char *path, const char *needle)
{
    char *s = slurp(path, NULL);
    int yes = s && strstr(s, needle);
    free(s);
    return yes;
}

/* A growable string. */
typedef struct str {
    char *p;
    size_t n, cap;
} str;

static void str_add(str *s, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if (s->n + (size_t)k + 1 > s->cap) {
        size_t cap = (s->n + (size_t)k + 1) * 2;
        char *q = realloc(s->p, cap);
        if (!q)
            return;
        s->p = q;
        s->cap = cap;
    }
    memcpy(s->p + s->n, tmp, (size_t)k + 1);
    s->n += (size_t)k;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry under dir (dotfiles too), sorted, with its type and, for
 * files, size and CRC: two equal snapshots mean byte-identical trees. */
static void snap_into(str *out, const char *dir, const char *rel)
{
    DIR *d = opendir(dir);
    if (!d) {
        str_add(out, "%s: (none)\n", rel);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char p[4096], r[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        snprintf(r, sizeof r, "%s/%s", rel, names[i]);
        struct stat sb;
        if (lstat(p, &sb) != 0) {
            str_add(out, "%s ?\n", r);
        } else if (S_ISDIR(sb.st_mode)) {
            str_add(out, "%s/\n", r);
            snap_into(out, p, r);
        } else if (S_ISREG(sb.st_mode)) {
            size_t len;
            char *c = slurp(p, &len);
            uLong crc = crc32(0, (const Bytef *)(c ? c : ""), (uInt)len);
            free(c);
            str_add(out, "%s %zu %08lx\n", r, len, (unsigned long)crc);
        } else {
            str_add(out, "%s type %o\n", r, (unsigned)(sb.st_mode & S_IFMT));
        }
        free(names[i]);
    }
    free(names);
}

static char *snapshot(const char *dir)
{
    str s = {0};
    str_add(&s, "");
    snap_into(&s, dir, ".");
    return s.p;
}

/* Does the tree under dir hold a temporary of ours (".sr-" names, ".part.",
 * ".tmp.")? */
static int has_debris(const char *dir)
{
    char *s = snapshot(dir);
    int yes = s && (strstr(s, ".sr-") || strstr(s, ".part.") || strstr(s, ".tmp."));
    if (yes)
        fprintf(stderr, "  debris in %s:\n%s", dir, s);
    free(s);
    return yes;
}

static void mkdirs(const char *p)
{
    if (sh("mkdir -p '%s'", p) != 0)
        fprintf(stderr, "cannot create %s\n", p);
}

/* Starts `sh -c cmd` in its own process; returns the pid. */
static pid_t spawn(const char *cmd)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- shared fixture: a work folder with a click log and a prepared folder ---- */

static char W[512];     /* work folder of the fault tests */

static int fixture(void)
{
    static int done = -1;
    if (done >= 0)
        return done;
    snprintf(W, sizeof W, "%s/w", test_tmpdir());
    mkdirs(W);
    done = sh("cd %s && %s synth -o in.dat --clicks 20000 --seed 3 -q && "
              "%s prepare in.dat -o data -q --test-days 2 > /dev/null",
              W, g_bin, g_bin) == 0;
    return done;
}

/* ---- fault injection ------------------------------------------------------------ */

/* Runs `args` (relative paths, in folder `dir`) under the fault build failing
 * the k-th call, for every k up to the number of calls a clean run makes.
 * Returns the number of calls (0 if the count failed). */
static long fault_loop(const char *dir, const char *args, long min_calls)
{
    char cnt[600], out[600], err[600], copy[600];
    snprintf(cnt, sizeof cnt, "%s/count", test_tmpdir());
    snprintf(out, sizeof out, "%s/fault.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/fault.err", test_tmpdir());
    snprintf(copy, sizeof copy, "%s.copy", dir);
    /* Count on a copy, so that the folder under test keeps its old outputs. */
    CHECK_EQ_INT(sh("rm -rf %s && cp -a %s %s", copy, dir, copy), 0);
    CHECK_EQ_INT(sh("cd %s && SR_FAULT_COUNT=%s %s %s > %s 2> %s", copy, cnt, g_fault, args, out,
                    err), 0);
    char *c = slurp(cnt, NULL);
    long n = c ? strtol(c, NULL, 10) : 0;
    free(c);
    CHECK_MSG(n >= min_calls, "%s: %ld wrapped calls, expected at least %ld", args, n, min_calls);
    char *before = snapshot(dir);
    int bad_rc = 0, bad_msg = 0, bad_tree = 0;
    for (long k = 1; k <= n; k++) {
        int eno = k % 2 ? EIO : ENOSPC;
        int rc = sh("cd %s && SR_FAULT_AT=%ld SR_FAULT_ERRNO=%d %s %s > %s 2> %s", dir, k, eno,
                    g_fault, args, out, err);
        if (rc != 1) {
            if (!bad_rc++)
                fprintf(stderr, "  %s: call %ld failing: exit %d\n", args, k, rc);
        } else if (!file_has(err, strerror(eno))) {
            if (!bad_msg++) {
                char *e = slurp(err, NULL);
                fprintf(stderr, "  %s: call %ld failing: message without '%s': %s\n", args, k,
                        strerror(eno), e ? e : "");
                free(e);
            }
        }
        char *after = snapshot(dir);
        if (!after || strcmp(after, before)) {
            if (!bad_tree++)
                fprintf(stderr, "  %s: call %ld failing changed the folder:\n--- before\n%s"
                        "--- after\n%s", args, k, before, after ? after : "");
        }
        free(after);
    }
    CHECK_EQ_INT(bad_rc, 0);
    CHECK_EQ_INT(bad_msg, 0);
    CHECK_EQ_INT(bad_tree, 0);
    /* and without a fault the run succeeds, changes the folder, leaves no debris */
    CHECK_EQ_INT(sh("cd %s && %s %s > %s 2> %s", dir, g_fault, args, out, err), 0);
    char *after = snapshot(dir);
    CHECK(after && strcmp(after, before) != 0);
    CHECK(!has_debris(dir));
    free(after);
    free(before);
    sh("rm -rf %s", copy);
    return n;
}

static void test_fault_prepare(void)
{
    if (!have_bin() || !g_have_fault)
        SKIP("sessrec / sessrec-fault not built");
    if (!fixture())
        SKIP("cannot build the fixture");
    char d[600];
    snprintf(d, sizeof d, "%s/fp", test_tmpdir());
    CHECK_EQ_INT(sh("rm -rf %s && mkdir -p %s && cp %s/in.dat %s/ && cd %s && "
                    "%s prepare in.dat -o data -q --test-days 2 > /dev/null", d, d, W, d, d,
                    g_bin), 0);
    /* into the existing folder (exchange), with every kind of file */
    long n = fault_loop(d, "prepare in.dat -o data -q --valid-days 1 --tsv", 30);
    /* into a new folder under new parents: they must not stay behind */
    CHECK_EQ_INT(sh("rm -rf %s/new", d), 0);
    long m = fault_loop(d, "prepare in.dat -o new/a/b -q", 10);
    fprintf(stderr, "  prepare: %ld and %ld wrapped I/O calls, each failed once\n", n, m);
}

static void test_fault_train(void)
{
    if (!have_bin() || !g_have_fault)
        SKIP("sessrec / sessrec-fault not built");
    if (!fixture())
        SKIP("cannot build the fixture");
    char d[600];
    snprintf(d, sizeof d, "%s/ft", test_tmpdir());
    CHECK_EQ_INT(sh("rm -rf %s && cp -a %s %s && cd %s && "
                    "%s train data/test.split -o pop.srm --algo pop -q > /dev/null && "
                    "%s train data/test.split -o gru.srm --algo pop -q > /dev/null",
                    d, W, d, d, g_bin, g_bin), 0);
    long n = fault_loop(d, "train data/train.split -o pop.srm --algo pop -q", 5);
    long m = fault_loop(d, "train data/train.split -o gru.srm -q -p layers=8,n_epochs=1,"
                           "batch_size=16,n_sample=0", 5);
    fprintf(stderr, "  train: pop %ld, gru4rec %ld wrapped I/O calls\n", n, m);
}

static void test_fault_synth_stats(void)
{
    if (!have_bin() || !g_have_fault)
        SKIP("sessrec / sessrec-fault not built");
    if (!fixture())
        SKIP("cannot build the fixture");
    char d[600];
    snprintf(d, sizeof d, "%s/fs", test_tmpdir());
    CHECK_EQ_INT(sh("rm -rf %s && cp -a %s %s && cd %s && "
                    "%s synth -o s.dat --clicks 3000 -q && "
                    "%s stats data --plot p.svg > /dev/null 2>&1", d, W, d, d, g_bin, g_bin), 0);
    long n = fault_loop(d, "synth -o s.dat --clicks 200000 --seed 9 -q", 5);
    long m = fault_loop(d, "stats data/test.split --plot p.svg", 5);
    fprintf(stderr, "  synth %ld, stats --plot %ld wrapped I/O calls\n", n, m);
}

/* ---- crash tests ------------------------------------------------------------------ */

static uint64_t g_rng = 88172645463325252ULL;
static double rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) * 0x1.0p-53;
}

/* Starts cmd, SIGKILLs it after `delay` seconds (if still running). */
static void run_and_kill(const char *cmd, double delay, int sig)
{
    pid_t pid = spawn(cmd);
    struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
    nanosleep(&ts, NULL);
    kill(pid, sig);
    int st;
    waitpid(pid, &st, 0);
}

static void test_crash_prepare(void)
{
    if (!have_bin())
        SKIP("sessrec not built");
    char d[600], a[4096], b[4096], data[700];
    snprintf(d, sizeof d, "%s/crash", test_tmpdir());
    snprintf(data, sizeof data, "%s/data", d);
    CHECK_EQ_INT(sh("rm -rf %s && mkdir -p %s && %s synth -o %s/in.dat --clicks 300000 -q", d, d,
                    g_bin, d), 0);
    /* exec: the shell's pid is the command's, so the kill reaches it */
    snprintf(a, sizeof a, "exec %s prepare %s/in.dat -o %s -q > /dev/null 2>&1", g_bin, d, data);
    snprintf(b, sizeof b, "exec %s prepare %s/in.dat -o %s -q --valid-days 1 --tsv --threads 1 "
             "> /dev/null 2>&1", g_bin, d, data);
    double t0 = now_s();
    CHECK_EQ_INT(sh("%s", b), 0);
    double tb = now_s() - t0;
    char *snap_b = snapshot(data);
    CHECK_EQ_INT(sh("%s", a), 0);
    char *snap_a = snapshot(data);
    CHECK(strcmp(snap_a, snap_b) != 0);
    int olds = 0, news = 0, mixed = 0, debris = 0;
    for (int round = 0; round < 20; round++) {
        run_and_kill(b, rnd() * tb * 1.2, SIGKILL);
        char *s = snapshot(data);
        if (!strcmp(s, snap_a))
            olds++;
        else if (!strcmp(s, snap_b))
            news++;
        else if (!mixed++)
            fprintf(stderr, "  round %d: neither old nor new:\n%s", round, s);
        free(s);
        CHECK_EQ_INT(sh("%s", a), 0); /* the next run */
        s = snapshot(data);
        CHECK(!strcmp(s, snap_a));
        free(s);
        debris += has_debris(d);
    }
    CHECK_EQ_INT(mixed, 0);
    CHECK_EQ_INT(debris, 0);
    fprintf(stderr, "  prepare killed 20 times (run %.2f s): %d old, %d new, 0 mixed\n", tb, olds,
            news);

    /* SIGTERM: the run removes what it created, new folders included */
    char fresh[700];
    snprintf(fresh, sizeof fresh, "%s/fresh", d);
    int term_left = 0;
    for (int round = 0; round < 5; round++) {
        char c[4096];
        snprintf(c, sizeof c, "exec %s prepare %s/in.dat -o %s/x/y -q --tsv > /dev/null 2>&1",
                 g_bin, d, fresh);
        sh("rm -rf %s", fresh);
        run_and_kill(c, rnd() * tb * 0.8, SIGTERM);
        struct stat sb;
        char y[800];
        snprintf(y, sizeof y, "%s/x/y/train.split", fresh);
        if (stat(y, &sb) == 0)
            continue; /* it finished first */
        term_left += stat(fresh, &sb) == 0;
    }
    CHECK_EQ_INT(term_left, 0);
    CHECK(!has_debris(d));
    free(snap_a);
    free(snap_b);
}

static void test_crash_train(void)
{
    if (!have_bin())
        SKIP("sessrec not built");
    char d[600], a[4096], b[4096], model[700];
    snprintf(d, sizeof d, "%s/crash-train", test_tmpdir());
    snprintf(model, sizeof model, "%s/m.srm", d);
    CHECK_EQ_INT(sh("rm -rf %s && mkdir -p %s && %s synth -o %s/in.dat --clicks 40000 -q && "
                    "%s prepare %s/in.dat -o %s/data -q > /dev/null", d, d, g_bin, d, g_bin, d, d),
                 0);
    snprintf(a, sizeof a, "exec %s train %s/data/train -o %s --algo pop -q > /dev/null 2>&1",
             g_bin, d, model);
    snprintf(b, sizeof b, "exec %s train %s/data/train -o %s -q -p layers=16,n_epochs=1 "
             "> /dev/null 2>&1", g_bin, d, model);
    double t0 = now_s();
    CHECK_EQ_INT(sh("%s", b), 0);
    double tb = now_s() - t0;
    CHECK_EQ_INT(sh("%s", a), 0);
    size_t la;
    char *old = slurp(model, &la);
    int olds = 0, news = 0, bad = 0;
    for (int round = 0; round < 20; round++) {
        run_and_kill(b, rnd() * tb * 1.2, SIGKILL);
        size_t l;
        char *now = slurp(model, &l);
        sr_model *m = NULL;
        sr_error err;
        if (now && l == la && !memcmp(now, old, la))
            olds++;
        else if (sr_model_load(model, &m, &err) == SR_OK && !strcmp(sr_model_algo(m), "gru4rec"))
            news++;
        else
            bad++;
        sr_model_free(m);
        free(now);
        CHECK_EQ_INT(sh("%s", a), 0);
        CHECK(!has_debris(d));
    }
    CHECK_EQ_INT(bad, 0);
    fprintf(stderr, "  train killed 20 times (run %.2f s): %d old, %d new, 0 broken\n", tb, olds,
            news);
    free(old);
}

/* ---- hostile paths ----------------------------------------------------------------- */

/* Runs cmd in a child whose pid is known before it starts: plant(pid) runs
 * first (e.g. to put a symlink at a name derived from the pid). */
static int run_with_pid(const char *cmd, void (*plant)(pid_t, void *), void *ud)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(fds[1]);
        if (read(fds[0], &c, 1) != 1)
            _exit(126);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    plant(pid, ud);
    if (write(fds[1], "x", 1) != 1)
        kill(pid, SIGKILL);
    close(fds[1]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct plant_ctx {
    const char *target; /* the output path */
    const char *victim; /* what the symlinks point at */
} plant_ctx;

/* The temporary names of the old writer: PATH.tmp.<pid>. */
static void plant_links(pid_t pid, void *ud)
{
    plant_ctx *c = ud;
    char p[1024];
    snprintf(p, sizeof p, "%s.tmp.%ld", c->target, (long)pid);
    if (symlink(c->victim, p) != 0)
        perror("symlink");
}

static void test_hostile_paths(void)
{
    if (!have_bin())
        SKIP("sessrec not built");
    if (!fixture())
        SKIP("cannot build the fixture");
    char d[600], victim[700], target[700], cmd[4096], err[700];
    snprintf(d, sizeof d, "%s/hostile", test_tmpdir());
    snprintf(victim, sizeof victim, "%s/victim.txt", d);
    snprintf(err, sizeof err, "%s/hostile.err", test_tmpdir());
    CHECK_EQ_INT(sh("rm -rf %s && cp -a %s %s && echo precious > %s", d, W, d, victim), 0);

    /* 1. a symlink planted at the old temporary name (exec: same pid) */
    plant_ctx pc = {target, victim};
    snprintf(target, sizeof target, "%s/s.dat", d);
    snprintf(cmd, sizeof cmd, "exec %s synth -o %s --clicks 1000 -q", g_bin, target);
    CHECK_EQ_INT(run_with_pid(cmd, plant_links, &pc), 0);
    CHECK(file_has(victim, "precious"));
    snprintf(target, sizeof target, "%s/m.srm", d);
    snprintf(cmd, sizeof cmd, "exec %s train %s/data/train -o %s --algo pop -q", g_bin, d, target);
    CHECK_EQ_INT(run_with_pid(cmd, plant_links, &pc), 0);
    CHECK(file_has(victim, "precious"));
    struct stat sb;
    CHECK(lstat(target, &sb) == 0 && S_ISREG(sb.st_mode));
    CHECK_EQ_INT(sh("rm %s/*.tmp.*", d), 0); /* the planted links */

    /* 2. stale temporaries: a dead writer's is removed, a symlink is not followed */
    CHECK_EQ_INT(sh("cd %s && echo junk > .s.dat.sr-tmp-999999999-0000abcd && "
                    "ln -s victim.txt .s.dat.sr-tmp-999999998-0000abcd && "
                    "%s synth -o s.dat --clicks 1000 -q", d, g_bin), 0);
    CHECK(!file_has(victim, "junk") && file_has(victim, "precious"));
    snprintf(target, sizeof target, "%s/.s.dat.sr-tmp-999999999-0000abcd", d);
    CHECK(lstat(target, &sb) != 0);
    CHECK_EQ_INT(sh("rm %s/.s.dat.sr-tmp-999999998-0000abcd", d), 0);

    /* 3. targets that are not regular files */
    CHECK_EQ_INT(sh("cd %s && mkfifo fifo && mkdir adir && ln -s fifo lfifo && "
                    "ln -s /dev/null lnull && ln -s nowhere/x dangling && "
                    "echo old > real.txt && ln -s real.txt lreal && "
                    "mkfifo fifo.svg && mkdir adir.svg && ln -s fifo lfifo.svg && "
                    "ln -s /dev/null lnull.svg && ln -s nowhere/x dangling.svg", d), 0);
    static const char *const bad_targets[] = {"fifo", "adir", "lfifo", "lnull", "dangling"};
    CHECK_EQ_INT(sh(": > %s", err), 0);
    for (size_t k = 0; k < sizeof bad_targets / sizeof *bad_targets; k++) {
        CHECK_EQ_INT(sh("cd %s && %s synth -o %s --clicks 1000 -q 2>> %s", d, g_bin,
                        bad_targets[k], err), 1);
        CHECK_EQ_INT(sh("cd %s && %s train data/train -o %s --algo pop -q 2>> %s", d, g_bin,
                        bad_targets[k], err), 1);
        /* stats --plot takes only names ending in .svg */
        CHECK_EQ_INT(sh("cd %s && %s stats data --plot %s.svg > /dev/null 2>> %s", d, g_bin,
                        bad_targets[k], err), 1);
    }
    CHECK_EQ_INT(sh("cd %s && test -p fifo && test -d adir && test -L lfifo && test -L lnull && "
                    "test -L dangling && test -c /dev/null", d), 0);
    CHECK(file_has(err, "FIFO") && file_has(err, "folder") && file_has(err, "device"));
    CHECK(!has_debris(d));
    /* a symlink to a regular file is written through; the link stays */
    CHECK_EQ_INT(sh("cd %s && %s synth -o lreal --clicks 1000 -q && test -L lreal && "
                    "head -c 2 real.txt | grep -q 1,", d, g_bin), 0);
    /* '-' is standard output */
    CHECK_EQ_INT(sh("cd %s && %s synth -o - --clicks 10 -q | wc -l | grep -qx 10", d, g_bin), 0);

    /* 4. an output that is an input (also through the hard link) */
    snprintf(target, sizeof target, "%s/data/train.split", d);
    char *before = snapshot(d);
    CHECK_EQ_INT(sh("cd %s && %s train data/train.split -o data/train.split --algo pop -q "
                    "2> %s", d, g_bin, err), 1);
    CHECK(file_has(err, "input"));
    CHECK_EQ_INT(sh("cd %s && %s train data/train -o data/train.split --algo pop -q 2> /dev/null",
                    d, g_bin), 1);
    CHECK_EQ_INT(sh("cd %s && %s train data/train -o data/train_full.split --algo pop -q "
                    "2> /dev/null", d, g_bin), 1);
    char *after = snapshot(d);
    CHECK(!strcmp(before, after));
    free(before);
    free(after);
}

static void test_concurrent_prepares(void)
{
    if (!have_bin())
        SKIP("sessrec not built");
    if (!fixture())
        SKIP("cannot build the fixture");
    char d[600], a[4096], b[4096], data[700];
    snprintf(d, sizeof d, "%s/conc", test_tmpdir());
    snprintf(data, sizeof data, "%s/data", d);
    CHECK_EQ_INT(sh("rm -rf %s && mkdir -p %s && head -n 6000 %s/in.dat > %s/in.dat", d, d, W,
                    d), 0);
    snprintf(a, sizeof a, "exec %s prepare %s/in.dat -o %s -q --threads 1 > /dev/null", g_bin, d,
             data);
    snprintf(b, sizeof b, "exec %s prepare %s/in.dat -o %s -q --threads 1 --valid-days 1 --tsv "
             "> /dev/null", g_bin, d, data);
    CHECK_EQ_INT(sh("%s", a), 0);
    char *sa = snapshot(data);
    CHECK_EQ_INT(sh("%s", b), 0);
    char *sb_ = snapshot(data);
    int mixed = 0, failed = 0, debris = 0;
    for (int round = 0; round < 100; round++) {
        pid_t p1 = spawn(round % 2 ? a : b), p2 = spawn(round % 2 ? b : a);
        int s1, s2;
        waitpid(p1, &s1, 0);
        waitpid(p2, &s2, 0);
        failed += !(WIFEXITED(s1) && WEXITSTATUS(s1) == 0) + !(WIFEXITED(s2) && WEXITSTATUS(s2) == 0);
        char *s = snapshot(data);
        if (strcmp(s, sa) && strcmp(s, sb_) && !mixed++)
            fprintf(stderr, "  round %d: a mixed folder:\n%s", round, s);
        free(s);
        if (round % 10 == 9)
            debris += has_debris(d);
    }
    CHECK_EQ_INT(failed, 0); /* they wait for each other */
    CHECK_EQ_INT(mixed, 0);
    CHECK_EQ_INT(debris, 0);
    free(sa);
    free(sb_);
}

/* ---- one check per defect ----------------------------------------------------------- */

static void test_stdout_errors(void)
{
    if (!have_bin())
        SKIP("sessrec not built");
    if (!fixture() || access("/dev/full", W_OK) != 0)
        SKIP("no fixture or no /dev/full");
    char err[700];
    snprintf(err, sizeof err, "%s/stdout.err", test_tmpdir());
    CHECK_EQ_INT(sh("cd %s && %s train data/train -o pop.srm --algo pop -q", W, g_bin), 0);
    const char *cmds[] = {"eval pop.srm data/test --json", "eval pop.srm data/test",
                          "stats data", "stats data --json", "prepare in.dat -o data2 -q",
                          "version", "synth -o - --clicks 100 -q"};
    for (size_t k = 0; k < sizeof cmds / sizeof *cmds; k++) {
        CHECK_MSG(sh("cd %s && %s %s > /dev/full 2> %s", W, g_bin, cmds[k], err) != 0, "%s",
                  cmds[k]);
        CHECK_MSG(file_has(err, "standard output"), "%s", cmds[k]);
    }
    /* recommend: an id from the item table */
    CHECK_EQ_INT(sh("cd %s && id=$(sed -n 2p data/items.tsv | cut -f2) && "
                    "%s recommend pop.srm $id > /dev/full 2> %s", W, g_bin, err), 1);
    CHECK(file_has(err, "standard output"));
}

static void test_recommend_hostile_input(void)
{
    if (!have_bin())
        SKIP("sessrec not built");
    if (!fixture())
        SKIP("cannot build the fixture");
    char out[700], err[700];
    snprintf(out, sizeof out, "%s/rec.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/rec.err", test_tmpdir());
    CHECK_EQ_INT(sh("cd %s && %s train data/train -o pop.srm --algo pop -q", W, g_bin), 0);
    /* a NUL byte cuts nothing: the line is an error, the next line is answered */
    CHECK_EQ_INT(sh("cd %s && id=$(sed -n 2p data/items.tsv | cut -f2) && "
                    "printf \"$id\\000 $id\\n$id\\n\" | %s recommend pop.srm --stdin --json -k 3 "
                    "> %s 2> %s", W, g_bin, out, err), 1);
    char *o = slurp(out, NULL);
    CHECK(o && strstr(o, "{\"error\": ") && strstr(o, "NUL"));
    CHECK(o && strstr(o, "\"recommendations\": [{\"rank\": 1"));
    CHECK(o && strstr(o, "\"clicks\": [")); /* the second line was answered */
    free(o);
    CHECK(file_has(err, "stdin line 1") && file_has(err, "NUL"));
    /* a 1 MB bad token with terminal escapes: a short, escaped echo */
    CHECK_EQ_INT(sh("cd %s && { printf '\\033[31m'; head -c 1000000 /dev/zero | tr '\\0' x; "
                    "echo; } | %s recommend pop.srm --stdin > /dev/null 2> %s", W, g_bin, err), 1);
    size_t n;
    char *e = slurp(err, &n);
    CHECK_MSG(n < 2000, "%zu bytes on stderr", n);
    CHECK(e && !memchr(e, 0x1b, n) && strstr(e, "\\x1b"));
    free(e);
    /* the same through argv and a parameter file */
    CHECK_EQ_INT(sh("cd %s && %s recommend pop.srm \"$(printf 'x\\033[2J')\" 2> %s", W, g_bin,
                    err), 1);
    e = slurp(err, &n);
    CHECK(e && !memchr(e, 0x1b, n));
    free(e);
    CHECK_EQ_INT(sh("cd %s && { printf 'layers=\\033[2J'; head -c 100000 /dev/zero | tr '\\0' 9; "
                    "echo; } > pf.txt && %s train data/train -o g.srm --params-file pf.txt -q "
                    "2> %s", W, g_bin, err), 1);
    e = slurp(err, &n);
    CHECK_MSG(n < 2500, "%zu bytes on stderr", n);
    CHECK(e && !memchr(e, 0x1b, n));
    free(e);
    CHECK_EQ_INT(sh("cd %s && printf 'layers=8\\000junk\\n' > pf.txt && %s train data/train -o "
                    "g.srm --params-file pf.txt -q 2> %s", W, g_bin, err), 1);
    CHECK(file_has(err, "NUL"));
}

/* The split file header: payload CRC at 88, header CRC at 92 (docs/formats.md). */
static void fix_crcs(unsigned char *b, size_t n)
{
    uint32_t pc = (uint32_t)crc32(0, b + 96, (uInt)(n - 96));
    for (int i = 0; i < 4; i++)
        b[88 + i] = (unsigned char)(pc >> (8 * i));
    uint32_t hc = (uint32_t)crc32(0, b, 92);
    for (int i = 0; i < 4; i++)
        b[92 + i] = (unsigned char)(hc >> (8 * i));
}

static void test_repeated_item_ids(void)
{
    int64_t sids[2] = {1, 2}, off[3] = {0, 2, 4}, times[4] = {1, 2, 3, 4};
    int32_t items[4] = {0, 1, 1, 0};
    int64_t ids[2] = {7, 7};
    sr_split s = {4, 2, 2, sids, off, items, times, ids, {0}, NULL, 0};
    char p[600], q[600];
    snprintf(p, sizeof p, "%s/rep.split", test_tmpdir());
    snprintf(q, sizeof q, "%s/good.srm", test_tmpdir());
    sr_error err;
    /* the writer refuses it... */
    CHECK_EQ_INT(sr_split_save(&s, p, &err), SR_ERR_ARG);
    CHECK(strstr(err.msg, "appears twice") != NULL);
    /* ...and the loader refuses a crafted file with valid checksums */
    ids[1] = 8;
    CHECK_EQ_INT(sr_split_save(&s, p, &err), SR_OK);
    size_t n;
    unsigned char *b = (unsigned char *)slurp(p, &n);
    CHECK(b && n > 96);
    if (!b)
        return;
    int found = 0;
    for (size_t i = 96; i + 16 <= n; i += 8) /* the item id table: 7 then 8 */
        if (!memcmp(b + i, "\x07\0\0\0\0\0\0\0\x08\0\0\0\0\0\0\0", 16)) {
            b[i + 8] = 7;
            found = 1;
        }
    CHECK(found);
    fix_crcs(b, n);
    FILE *f = fopen(p, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    if (f)
        fclose(f);
    free(b);
    sr_split v;
    CHECK_EQ_INT(sr_split_load(p, &v, &err), SR_ERR_FORMAT);
    CHECK(strstr(err.msg, "appears twice") != NULL);
    /* train on it does not replace a good model */
    if (have_bin()) {
        CHECK_EQ_INT(sh("echo good > %s && %s train %s -o %s --algo pop -q 2> /dev/null", q, g_bin,
                        p, q), 1);
        CHECK(file_has(q, "good"));
    }
}

/* A split truncated or rewritten under a command that loaded it: the
 * command keeps what it loaded (it used to die of SIGBUS). */
static void test_split_changed_under_reader(void)
{
    enum { S = 200000, E = 4 * S };
    int64_t *sids = malloc(S * sizeof *sids), *off = malloc((S + 1) * sizeof *off);
    int64_t *times = malloc(E * sizeof *times), ids[100];
    int32_t *items = malloc(E * sizeof *items);
    if (!sids || !off || !times || !items)
        SKIP("out of memory");
    for (int i = 0; i < 100; i++)
        ids[i] = 1000 + i;
    for (int k = 0; k <= S; k++)
        off[k] = 4 * (int64_t)k;
    for (int k = 0; k < S; k++)
        sids[k] = k;
    for (int j = 0; j < E; j++) {
        items[j] = j % 100;
        times[j] = j;
    }
    sr_split s = {E, S, 100, sids, off, items, times, ids, {0}, NULL, 0};
    char p[600];
    snprintf(p, sizeof p, "%s/big.split", test_tmpdir());
    sr_error err;
    CHECK_EQ_INT(sr_split_save(&s, p, &err), SR_OK);
    for (int how = 0; how < 2; how++) {
        pid_t pid = fork();
        if (pid == 0) {
            sr_split v;
            if (sr_split_load(p, &v, &err) != SR_OK)
                _exit(3);
            if (how == 0) {
                if (truncate(p, 0) != 0)
                    _exit(4);
            } else { /* cp over it: same inode, new bytes */
                int fd = open(p, O_WRONLY | O_TRUNC);
                char junk[4096];
                memset(junk, 'j', sizeof junk);
                for (int k = 0; k < 10; k++)
                    if (fd < 0 || write(fd, junk, sizeof junk) != (ssize_t)sizeof junk)
                        _exit(5);
                close(fd);
            }
            int64_t sum = 0;
            for (int64_t j = 0; j < v.n_events; j++)
                sum += v.items[j] + v.times[j];
            for (int64_t k = 0; k < v.n_items; k++)
                sum += v.item_ids[k];
            sr_split_free(&v);
            _exit(sum > 0 ? 0 : 6);
        }
        int st;
        waitpid(pid, &st, 0);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "how %d: %s %d", how,
                  WIFSIGNALED(st) ? "signal" : "exit",
                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        CHECK_EQ_INT(sr_split_save(&s, p, &err), SR_OK);
    }
    free(sids);
    free(off);
    free(times);
    free(items);
}

static void test_long_paths_and_limits(void)
{
    if (!have_bin())
        SKIP("sessrec not built");
    if (!fixture())
        SKIP("cannot build the fixture");
    /* -o longer than PATH_MAX: refused before any folder is created */
    str p = {0};
    str_add(&p, "%s/long", test_tmpdir());
    for (int k = 0; k < 25; k++)
        str_add(&p, "/%0200d", k);
    char err[700];
    snprintf(err, sizeof err, "%s/long.err", test_tmpdir());
    CHECK_EQ_INT(sh("cd %s && %s prepare in.dat -o %s -q 2> %s", W, g_bin, p.p, err), 1);
    CHECK(file_has(err, "too long"));
    char first[700];
    snprintf(first, sizeof first, "%s/long", test_tmpdir());
    struct stat sb;
    CHECK(stat(first, &sb) != 0);
    CHECK_EQ_INT(sh("cd %s && %s synth -o %s/x.dat --clicks 10 -q 2> /dev/null", W, g_bin, p.p),
                 1);
    CHECK(stat(first, &sb) != 0);
    free(p.p);

    /* stats --plot with more than 10 splits: fails before printing the table */
    char out[700];
    snprintf(out, sizeof out, "%s/plot.out", test_tmpdir());
    CHECK_EQ_INT(sh("cd %s && %s stats data/test data/test data/test data/test data/test "
                    "data/test data/test data/test data/test data/test data/test --plot many.svg "
                    "> %s 2> %s", W, g_bin, out, err), 1);
    size_t n;
    char *o = slurp(out, &n);
    CHECK_EQ_INT(n, 0);
    free(o);
    CHECK(file_has(err, "at most 10"));
    snprintf(out, sizeof out, "%s/many.svg", W);
    CHECK(stat(out, &sb) != 0);

    /* one click in year 294247 does not shrink the test set silently */
    CHECK_EQ_INT(sh("cd %s && { printf 'SessionId\\tItemId\\tTime\\n'; "
                    "for s in 1 2 3 4 5 6; do for i in 1 2 3 4 5 6; do "
                    "printf '%%d\\t%%d\\t%%d\\n' $s $i $((1400000000 + s * 3600 + i)); done; done; "
                    "printf '7\\t1\\t9223372036854\\n7\\t2\\t9223372036854\\n'; } > far.tsv && "
                    "%s prepare far.tsv -o far -q --min-item-support 1 > /dev/null 2> %s", W, g_bin,
                    err), 1);
    CHECK(file_has(err, "2 clicks are dated after 2200-01-01") && file_has(err, "session 7"));
    snprintf(out, sizeof out, "%s/far", W);
    CHECK(stat(out, &sb) != 0);

    /* eval --cutoffs 1000000: ranks are bounded by the item count; the
     * metrics equal those at a cutoff of all items */
    CHECK_EQ_INT(sh("cd %s && %s train data/train -o pop.srm --algo pop -q", W, g_bin), 0);
    snprintf(out, sizeof out, "%s/ev.out", test_tmpdir());
    CHECK_EQ_INT(sh("cd %s && n=$(($(wc -l < data/items.tsv) - 1)) && "
                    "%s eval pop.srm data/test --json --cutoffs 1000000 | sed 's/.*\"recall\"//' "
                    "> %s.a && %s eval pop.srm data/test --json --cutoffs $n | "
                    "sed 's/.*\"recall\"//' > %s.b && cmp -s %s.a %s.b && grep -q mrr %s.a", W,
                    g_bin, out, g_bin, out, out, out, out), 0);
}

/* FS_ONLY=part1,part2 runs only the tests whose names contain a part. */
static int t_selected(const char *only, const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (strstr(name, tok))
            return 1;
    return 0;
}

#define RUN_SOME(fn)                                                          \
    do {                                                                      \
        const char *only_ = getenv("FS_ONLY");                                \
        if (!only_ || !*only_ || t_selected(only_, #fn))                      \
            RUN(fn);                                                          \
    } while (0)

int main(void)
{
    find_bins();
    if (!g_have_fault)
        fprintf(stderr, "  (no %s: the fault-injection tests are skipped)\n", g_fault);
    RUN_SOME(test_repeated_item_ids);
    RUN_SOME(test_split_changed_under_reader);
    RUN_SOME(test_stdout_errors);
    RUN_SOME(test_recommend_hostile_input);
    RUN_SOME(test_long_paths_and_limits);
    RUN_SOME(test_hostile_paths);
    RUN_SOME(test_fault_prepare);
    RUN_SOME(test_fault_train);
    RUN_SOME(test_fault_synth_stats);
    RUN_SOME(test_concurrent_prepares);
    RUN_SOME(test_crash_prepare);
    RUN_SOME(test_crash_train);
    if (!t_failed) { /* keep the files of a failed run for a look */
        char rm[600];
        snprintf(rm, sizeof rm, "rm -rf %s", test_tmpdir());
        if (system(rm) != 0)
            fprintf(stderr, "could not remove %s\n", test_tmpdir());
    }
    return test_summary();
}
