/*
 * bench_data.c - the data pipeline's speed and memory on a file of the real
 * YOOCHOOSE size (33,003,944 clicks, ~1.5 GB), printed as markdown table rows:
 *   - synth: MB/s written (1 and 2 threads), fsync included, and peak RSS;
 *   - prepare end to end (`sessrec prepare FILE -o DIR` run as a child
 *     process): MB/s of input and peak RSS (ru_maxrss from wait4), on the
 *     YOOCHOOSE file and on the same clicks as a string-id CSV (synth --layout csv).
 * Each figure is the median of 3 runs, each run in its own child process.
 * Files go to $TMPDIR (default /tmp) and are deleted afterwards.
 * Env: SR_BIN (default build/sessrec), SR_BENCH_CLICKS (default 33003944).
 * Run by `make bench`, never by the tests. Must never leave files behind.
 */
#define _DEFAULT_SOURCE
#include "sessrec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median3(double *v)
{
    qsort(v, REPS, sizeof *v, cmp_dbl);
    return v[REPS / 2];
}

/* One synth run in a child process: returns 0 and fills MB/s, bytes, RSS. */
static int synth_once(const char *path, int64_t clicks, int threads, sr_synth_layout layout,
                      double *mbs, int64_t *bytes, double *rss_mib, char *why, size_t why_len)
{
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(why, why_len, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout); /* else the child may write the parent's buffered rows again */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_len, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        sr_synth_opts o = sr_synth_default_opts();
        o.clicks = clicks;
        o.seed = 1;
        o.threads = threads;
        o.layout = layout;
        sr_synth_report rep;
        sr_error err = {0};
        sr_status st = sr_synth_run(path, &o, NULL, NULL, &rep, &err);
        char msg[600];
        if (st == SR_OK)
            snprintf(msg, sizeof msg, "ok %lld %.6f", (long long)rep.bytes, rep.seconds);
        else
            snprintf(msg, sizeof msg, "error %s", err.msg);
        ssize_t w = write(fd[1], msg, strlen(msg) + 1);
        _exit(st == SR_OK && w > 0 ? 0 : 1);
    }
    close(fd[1]);
    char msg[600] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 && (r = read(fd[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)r;
    close(fd[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, why_len, "%.400s", got && !strncmp(msg, "error ", 6) ? msg + 6 : "child failed");
        return -1;
    }
    long long b;
    double secs;
    if (sscanf(msg, "ok %lld %lf", &b, &secs) != 2 || secs <= 0) {
        snprintf(why, why_len, "bad child report");
        return -1;
    }
    *bytes = b;
    *mbs = (double)b / 1e6 / secs;
    *rss_mib = (double)ru.ru_maxrss / 1024.0;
    return 0;
}

/* One `sessrec prepare in -o dir` run: wall seconds and peak RSS; -1 on failure
 * with the first line of its stderr in `why`. */
static int prepare_once(const char *bin, const char *in, const char *dir, const char *errfile,
                        double *secs, double *rss_mib, char *why, size_t why_len)
{
    double t0 = now_s();
    fflush(stdout); /* else the child may write the parent's buffered rows again */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_len, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen(errfile, "w", stderr))
            _exit(127);
        execl(bin, bin, "prepare", in, "-o", dir, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        snprintf(why, why_len, "wait4: %s", strerror(errno));
        return -1;
    }
    *secs = now_s() - t0;
    *rss_mib = (double)ru.ru_maxrss / 1024.0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        why[0] = 0;
        FILE *f = fopen(errfile, "r");
        if (f) {
            if (!fgets(why, (int)why_len, f))
                why[0] = 0;
            fclose(f);
        }
        why[strcspn(why, "\n")] = 0;
        if (!why[0])
            snprintf(why, why_len, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return 0;
}

static void remove_tree(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_data: could not remove %s\n", dir);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    const char *bin = getenv("SR_BIN");
    if (!bin || !*bin)
        bin = "build/sessrec";
    int64_t clicks = 33003944;
    const char *ce = getenv("SR_BENCH_CLICKS");
    if (ce && *ce)
        clicks = atoll(ce);
    if (clicks < 1)
        clicks = 33003944;

    char path[1024], dir[1024], errfile[1024];
    snprintf(path, sizeof path, "%s/sessrec-bench-%ld.dat", tmp, (long)getpid());
    snprintf(dir, sizeof dir, "%s/sessrec-bench-%ld.out", tmp, (long)getpid());
    snprintf(errfile, sizeof errfile, "%s/sessrec-bench-%ld.err", tmp, (long)getpid());

    printf("\n| data pipeline (%lld clicks, median of %d) | result | target | ok |\n",
           (long long)clicks, REPS);
    printf("|---|---|---|---|\n");
    fflush(stdout);

    int64_t bytes = 0;
    int have_file = 0;
    for (int threads = 1; threads <= 2; threads++) {
        double mbs[REPS], rss[REPS];
        char why[512] = "";
        int ok = 1;
        for (int r = 0; r < REPS && ok; r++) {
            unlink(path);
            ok = synth_once(path, clicks, threads, SR_LAYOUT_YOOCHOOSE, &mbs[r], &bytes, &rss[r],
                            why, sizeof why) == 0;
        }
        if (!ok) {
            printf("| synth, %d thread%s | failed: %s | >= 100 MB/s | no |\n", threads,
                   threads > 1 ? "s" : "", why);
            continue;
        }
        have_file = 1;
        double m = median3(mbs), rs = median3(rss);
        printf("| synth, %d thread%s (%.2f GB written) | %.0f MB/s, peak RSS %.0f MiB | >= 100 MB/s "
               "| %s |\n",
               threads, threads > 1 ? "s" : "", (double)bytes / 1e9, m, rs, m >= 100 ? "yes" : "no");
        fflush(stdout);
    }

    if (have_file) {
        double secs[REPS], rss[REPS];
        char why[512] = "";
        int ok = 1;
        for (int r = 0; r < REPS && ok; r++) {
            remove_tree(dir);
            ok = prepare_once(bin, path, dir, errfile, &secs[r], &rss[r], why, sizeof why) == 0;
        }
        if (!ok) {
            printf("| prepare end to end | not measured: `%s prepare` failed: %s | >= 300 MB/s, "
                   "<= 2 GiB | n/a |\n",
                   bin, why);
        } else {
            double s = median3(secs), rs = median3(rss);
            double mbs = (double)bytes / 1e6 / s;
            printf("| prepare end to end (%.2f GB in) | %.0f MB/s of input (%.1f s), peak RSS %.0f "
                   "MiB | >= 300 MB/s, <= 2048 MiB | %s |\n",
                   (double)bytes / 1e9, mbs, s, rs, mbs >= 300 && rs <= 2048 ? "yes" : "no");
        }
    }
    /* the same clicks as a shop's string-id CSV: UUID sessions, SKU items, ISO times */
    {
        double mbs0, rss0, secs[REPS], rss[REPS];
        int64_t csv_bytes = 0;
        char why[512] = "";
        unlink(path);
        int ok = synth_once(path, clicks, 0, SR_LAYOUT_CSV, &mbs0, &csv_bytes, &rss0, why,
                            sizeof why) == 0;
        for (int r = 0; r < REPS && ok; r++) {
            remove_tree(dir);
            ok = prepare_once(bin, path, dir, errfile, &secs[r], &rss[r], why, sizeof why) == 0;
        }
        if (!ok) {
            printf("| prepare string-id CSV | not measured: %s | >= 150 MB/s | n/a |\n", why);
        } else {
            double sm = median3(secs), rs = median3(rss);
            double mbs = (double)csv_bytes / 1e6 / sm;
            printf("| prepare string-id CSV end to end (%.2f GB in: UUID sessions, SKU items, ISO "
                   "times) | %.0f MB/s of input (%.1f s), peak RSS %.0f MiB | >= 150 MB/s | %s |\n",
                   (double)csv_bytes / 1e9, mbs, sm, rs, mbs >= 150 ? "yes" : "no");
        }
    }
    remove_tree(dir);
    unlink(path);
    unlink(errfile);
    return 0;
}
