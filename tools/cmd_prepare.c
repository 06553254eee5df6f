/*
 * cmd_prepare.c - `sessrec prepare`: reads a click log, cleans and splits it
 * (sr_read_log + sr_prepare) and writes the splits into a folder.
 *
 * All-or-nothing output: every file is first written under a temporary name
 * (NAME.part.<pid>, itself written atomically) and only when all of them are
 * complete are they renamed into place, one rename each. A failed run removes
 * its temporaries (also on SIGINT/SIGTERM/SIGHUP) and leaves the folder as it
 * was; a killed run (SIGKILL) can leave NAME.part.<pid> files but never a
 * half-written file under a final name.
 * The report (statistics, timing) goes to stdout; progress of long runs to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "util/util.h" /* sr_now, sr_atomic_* */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sessrec prepare INPUT -o DIR [options]\n"
            "\n"
            "Reads a click log (plain or gzip), groups it into sessions, cleans it and\n"
            "splits it by time, as the GRU4Rec tutorial does:\n"
            "  1. optional --dedup: drop a click that repeats the previous item of its session;\n"
            "  2. filter, recursive (default): repeat {drop sessions shorter than\n"
            "     --min-session-length; drop items with fewer than --min-item-support clicks}\n"
            "     until a round drops nothing; --filter rsc15: the official single pass\n"
            "     (drop 1-click sessions, drop rare items, drop short sessions);\n"
            "  3. time split: T = time of the latest click; sessions whose LAST click is at or\n"
            "     after T - test days form the test set, the others train_full. Test clicks on\n"
            "     items absent from train_full are dropped, then test sessions shorter than\n"
            "     --min-session-length. With --valid-days, the same split of train_full gives\n"
            "     train (train_tr) and valid.\n"
            "Sessions are ordered by their first click (ties: session id), clicks by time\n"
            "(ties: file order).\n"
            "\n"
            "writes into DIR (created if missing):\n"
            "  train_full.split  train + valid before the second split\n"
            "  train.split       the training set: train_tr with --valid-days, else the same\n"
            "                    file as train_full.split (a hard link)\n"
            "  valid.split       with --valid-days only\n"
            "  test.split\n"
            "  items.tsv         ItemIndex<TAB>ItemId: the item table shared by all the splits\n"
            "                    (items of train_full by first appearance)\n"
            "  with --tsv also train_full.tsv, train.tsv, valid.tsv, test.tsv in the GRU4Rec\n"
            "  layout (SessionId<TAB>ItemId<TAB>Time, Time in seconds).\n"
            "Binary splits are described in docs/formats.md. Output is all-or-nothing: files\n"
            "are written under temporary names and renamed into place only when all are\n"
            "complete. Files of those names that this run does not produce (valid.* without\n"
            "validation, *.tsv without --tsv) are removed, so DIR never mixes two runs.\n"
            "\n"
            "options:\n"
            "  -o, --output DIR            output folder (required)\n"
            "  --nrows N                   read only the first N data rows (as pandas' nrows)\n"
            "  --filter recursive|rsc15    see above (default recursive)\n"
            "  --min-session-length N      default 2\n"
            "  --min-item-support N        default 5\n"
            "  --test-days D               test window, in days (fractions allowed) or seconds\n"
            "                              with an 's' suffix (86400s); default 1\n"
            "  --valid-days D              validation window, same units; default 0 = none\n"
            "  --dedup                     drop consecutive repeated clicks within a session\n"
            "  --tsv                       also write the GRU4Rec TSV files\n"
            "  --skip-bad-lines            skip malformed lines (counted and reported) instead\n"
            "                              of failing on the first one\n"
            "  --threads N                 reader and prepare threads (default 0 = all\n"
            "                              cores); the output does not depend on it\n"
            "  --quiet                     no progress messages on stderr (the report on\n"
            "                              stdout stays)\n"
            "  -h, --help                  this text\n"
            "\n");
    cli_read_help(f);
    fprintf(f,
            "\n"
            "examples:\n"
            "  sessrec prepare yoochoose-clicks.dat -o data/ --valid-days 1 --tsv\n"
            "  sessrec prepare events.csv -o rr/ --user-key visitorid -ik itemid -tk timestamp \\\n"
            "      --where event=view --session-gap 1800\n");
}

/* ---- temporary files, removed on failure and on signals ------------------------- */

#define MAX_FILES 16
static char g_part[MAX_FILES][4096];   /* temporaries of this run */
static char g_inner[MAX_FILES][4200];  /* what the library writes before renaming to part */
static volatile sig_atomic_t g_nparts;

static void on_signal(int sig)
{
    for (int k = 0; k < g_nparts; k++) {
        unlink(g_inner[k]);
        unlink(g_part[k]);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void remove_parts(void)
{
    for (int k = 0; k < g_nparts; k++) {
        unlink(g_inner[k]);
        unlink(g_part[k]);
    }
    g_nparts = 0;
}

/* ---- small helpers -------------------------------------------------------------- */

/* mkdir -p; *created = 1 when the last component did not exist. */
static int mkdir_p(const char *dir, int *created)
{
    char p[4096];
    *created = 0;
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return -1;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    if (mkdir(p, 0777) == 0) {
        *created = 1;
        return 0;
    }
    struct stat sb;
    if (errno == EEXIST && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0;
    if (errno == EEXIST)
        errno = ENOTDIR;
    return -1;
}

/* The tutorial's stats_info, plus the first time. */
static void stats_info(const sr_split *s, const char *name)
{
    int64_t items = 0, tmin = INT64_MAX, tmax = INT64_MIN;
    unsigned char *seen = calloc((size_t)s->n_items + 1, 1);
    for (int64_t j = 0; j < s->n_events; j++) {
        if (seen && !seen[s->items[j]]) {
            seen[s->items[j]] = 1;
            items++;
        }
        tmin = s->times[j] < tmin ? s->times[j] : tmin;
        tmax = s->times[j] > tmax ? s->times[j] : tmax;
    }
    free(seen);
    char a[64] = "-", b[64] = "-";
    if (s->n_events) {
        cli_iso_time(a, sizeof a, tmin, 1);
        cli_iso_time(b, sizeof b, tmax, 1);
    }
    printf("* %s Set Stats Info\n\tEvents: %lld\n\tSessions: %lld\n\tItems: %lld\n"
           "\tFirst Time: %s\n\tLast Time : %s\n",
           name, (long long)s->n_events, (long long)s->n_sessions, (long long)items, a, b);
}

static const char *fmt_days(double d, char *buf, size_t n)
{
    double secs = d * 86400;
    if (d != 0 && secs == (double)(int64_t)secs && (int64_t)secs % 86400 != 0)
        snprintf(buf, n, "%.0f s", secs);
    else
        snprintf(buf, n, "%g day%s", d, d == 1 ? "" : "s");
    return buf;
}

/* ---- output files --------------------------------------------------------------- */

typedef struct outfile {
    char name[32];
    char final[4096];
    int part; /* index into g_part */
} outfile;

typedef struct writer {
    const char *dir;
    outfile f[MAX_FILES];
    int n;
    double bytes;
    sr_error err;
} writer;

/* Registers NAME and returns its temporary path (NULL if too long). */
static const char *add_file(writer *w, const char *name)
{
    outfile *o = &w->f[w->n];
    int k = g_nparts;
    snprintf(o->name, sizeof o->name, "%s", name);
    if (snprintf(o->final, sizeof o->final, "%s/%s", w->dir, name) >= (int)sizeof o->final ||
        snprintf(g_part[k], sizeof g_part[k], "%s.part.%ld", o->final, (long)getpid()) >=
            (int)sizeof g_part[k]) {
        sr_error_set(&w->err, SR_ERR_ARG, "%s: output path too long", w->dir);
        return NULL;
    }
    snprintf(g_inner[k], sizeof g_inner[k], "%s.tmp.%ld", g_part[k], (long)getpid());
    o->part = k;
    g_nparts = k + 1;
    w->n++;
    return g_part[k];
}

static void count_bytes(writer *w, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0)
        w->bytes += (double)sb.st_size;
}

/* Writes s to the temporary path p: a binary split, or GRU4Rec TSV. */
static int save_to(writer *w, const char *p, const sr_split *s, int tsv)
{
    if ((tsv ? sr_split_save_tsv(s, p, &w->err) : sr_split_save(s, p, &w->err)) != SR_OK)
        return -1;
    count_bytes(w, p);
    return 0;
}

static int write_split(writer *w, const char *name, const sr_split *s, int tsv)
{
    const char *p = add_file(w, name);
    return p ? save_to(w, p, s, tsv) : -1;
}

/* `name` holds the same bytes as the already written file `same`: a hard link
 * (a copy where links are not possible). */
static int write_same(writer *w, const char *name, const char *same, const sr_split *s,
                      int tsv)
{
    const char *src = NULL;
    for (int k = 0; k < w->n; k++)
        if (!strcmp(w->f[k].name, same))
            src = g_part[w->f[k].part];
    const char *p = add_file(w, name);
    if (!p)
        return -1;
    if (src && link(src, p) == 0)
        return 0;
    return save_to(w, p, s, tsv);
}

static int write_items(writer *w, const sr_split *s)
{
    const char *p = add_file(w, "items.tsv");
    sr_atomic a; /* writes g_inner[k], as the library does for the other files */
    if (!p || sr_atomic_open(&a, p, &w->err) != SR_OK)
        return -1;
    fputs("ItemIndex\tItemId\n", a.f);
    for (int64_t i = 0; i < s->n_items && !ferror(a.f); i++) {
        if (!s->item_text.text) {
            fprintf(a.f, "%lld\t%lld\n", (long long)i, (long long)s->item_ids[i]);
            continue;
        }
        /* text ids: as written in the log; RFC 4180-quoted if a reader would split them */
        const char *t = sr_idtext_get(&s->item_text, i);
        fprintf(a.f, "%lld\t", (long long)i);
        if (t[0] == '"' || strpbrk(t, "\t\r")) {
            fputc('"', a.f);
            for (const char *c = t; *c; c++) {
                if (*c == '"')
                    fputc('"', a.f);
                fputc(*c, a.f);
            }
            fputs("\"\n", a.f);
        } else {
            fprintf(a.f, "%s\n", t);
        }
    }
    if (sr_atomic_commit(&a, &w->err) != SR_OK)
        return -1;
    count_bytes(w, p);
    return 0;
}

/* Renames every temporary into place; then removes stale files of our names. */
static int commit(writer *w, const char *const *stale, int nstale)
{
    for (int k = 0; k < w->n; k++) { /* fail before the first rename if any would fail */
        struct stat sb;
        if (stat(w->f[k].final, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            sr_error_set(&w->err, SR_ERR_IO, "%s: is a folder, cannot replace it",
                         w->f[k].final);
            return -1;
        }
    }
    for (int k = 0; k < w->n; k++)
        if (rename(g_part[w->f[k].part], w->f[k].final) != 0) {
            sr_error_set(&w->err, SR_ERR_IO, "%s: cannot rename into place: %s (the files "
                         "before it in this list are already replaced:", w->f[k].final,
                         strerror(errno));
            for (int q = 0; q < k; q++) {
                size_t l = strlen(w->err.msg);
                snprintf(w->err.msg + l, sizeof w->err.msg - l, " %s", w->f[q].name);
            }
            size_t l = strlen(w->err.msg);
            snprintf(w->err.msg + l, sizeof w->err.msg - l, ")");
            return -1;
        }
    g_nparts = 0;
    for (int k = 0; k < nstale; k++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", w->dir, stale[k]);
        unlink(p);
    }
    return 0;
}

/* ---- the command ------------------------------------------------------------------ */

int cmd_prepare(int argc, char **argv)
{
    const char *cmd = "prepare", *input = NULL, *dir = NULL;
    int quiet = 0, tsv = 0, gap_given = 0;
    sr_read_opts ro = sr_read_default_opts();
    sr_prepare_opts po = sr_prepare_default_opts();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char opt[64];
        const char *v = NULL;
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq && (size_t)(eq - a) < sizeof opt) { /* --opt=value */
            memcpy(opt, a, (size_t)(eq - a));
            opt[eq - a] = 0;
            a = opt;
            v = eq + 1;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        int flag = 1;
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            quiet = 1;
        else if (!strcmp(a, "--dedup"))
            po.dedup = 1;
        else if (!strcmp(a, "--tsv"))
            tsv = 1;
        else if (!strcmp(a, "--skip-bad-lines"))
            ro.skip_bad_lines = 1;
        else
            flag = 0;
        if (flag) {
            if (v)
                return cli_fail(cmd, "%s takes no value", a);
            continue;
        }
        if (a[0] != '-' || !strcmp(a, "-")) {
            if (input)
                return cli_fail(cmd, "more than one input ('%s' and '%s'); see --help", input, a);
            input = a;
            continue;
        }
        static const char *const valued[] = {
            "-o", "--output", "--nrows", "--filter", "--min-session-length", "--min-item-support",
            "--test-days", "--valid-days", "--threads"};
        int known = cli_is_read_opt(a);
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
            known |= !strcmp(a, valued[k]);
        if (!known) {
            cli_fail(cmd, "unknown option '%s' (see sessrec prepare --help)", a);
            return 2;
        }
        if (!v) {
            if (i + 1 >= argc)
                return cli_fail(cmd, "%s needs a value", a);
            v = argv[++i];
        }
        if (cli_is_read_opt(a)) {
            if (cli_read_opt(cmd, a, v, &ro))
                return 1;
            gap_given |= !strcmp(a, "--session-gap");
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            dir = v;
        } else if (!strcmp(a, "--nrows")) {
            if (cli_int64(cmd, a, v, 1, INT64_MAX, &ro.nrows))
                return 1;
        } else if (!strcmp(a, "--filter")) {
            if (!strcmp(v, "recursive"))
                po.filter = SR_FILTER_RECURSIVE;
            else if (!strcmp(v, "rsc15"))
                po.filter = SR_FILTER_RSC15;
            else
                return cli_fail(cmd, "--filter: expected recursive or rsc15, got '%s'", v);
        } else if (!strcmp(a, "--min-session-length")) {
            if (cli_int(cmd, a, v, 1, 1000000000, &po.min_session_length))
                return 1;
        } else if (!strcmp(a, "--min-item-support")) {
            if (cli_int(cmd, a, v, 1, 1000000000, &po.min_item_support))
                return 1;
        } else if (!strcmp(a, "--test-days")) {
            if (cli_days(cmd, a, v, &po.test_days))
                return 1;
        } else if (!strcmp(a, "--valid-days")) {
            if (cli_days(cmd, a, v, &po.valid_days))
                return 1;
        } else if (!strcmp(a, "--threads")) {
            if (cli_int(cmd, a, v, 0, 1024, &ro.threads))
                return 1;
            po.threads = ro.threads;
        }
    }
    if (!input || !dir) {
        usage(stderr);
        return cli_fail(cmd, "%s", !input ? "missing INPUT" : "missing -o DIR");
    }
    if (cli_read_opts_done(cmd, &ro, gap_given))
        return 1;
    if (!*dir) /* mkdir_p would read past the end of "" */
        return cli_fail(cmd, "-o: empty folder name");

    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    for (size_t l = strlen(dirbuf); l > 1 && dirbuf[l - 1] == '/'; l--)
        dirbuf[l - 1] = 0; /* "out/" -> "out" (messages name out/train.split, not out//) */
    dir = dirbuf;

    /* A full disk or a file-size limit must give an error, not a kill. */
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    struct stat sb;
    double in_size = stat(input, &sb) == 0 ? (double)sb.st_size : 0;
    int chatty = !quiet && in_size >= 64e6; /* progress only where it takes a while */
    int created = 0;
    if (mkdir_p(dir, &created) != 0)
        return cli_fail(cmd, "%s: cannot create the output folder: %s", dir, strerror(errno));

    double t0 = sr_now();
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_log log;
    sr_read_report rep;
    memset(&rep, 0, sizeof rep);
    if (chatty)
        fprintf(stderr, "prepare: reading %s (%.0f MB)...\n", input, in_size / 1e6);
    sr_status st = sr_read_log(input, &ro, &log, &rep, &err);
    if (st != SR_OK) {
        if (created)
            rmdir(dir);
        return cli_fail_err(cmd, &err);
    }
    double t1 = sr_now();
    if (chatty)
        fprintf(stderr, "prepare: read %lld clicks in %.1f s; cleaning and splitting...\n",
                (long long)log.n, t1 - t0);
    int64_t n_clicks = log.n;
    sr_prepared p;
    st = sr_prepare(&log, &po, &p, &err);
    sr_log_free(&log);
    if (st != SR_OK) {
        if (created)
            rmdir(dir);
        return cli_fail_err(cmd, &err);
    }
    double t2 = sr_now();
    if (chatty)
        fprintf(stderr, "prepare: done in %.1f s; writing %s...\n", t2 - t1, dir);

    writer w;
    memset(&w, 0, sizeof w);
    w.dir = dir;
    int bad = write_split(&w, "train_full.split", &p.train_full, 0) ||
              write_split(&w, "test.split", &p.test, 0);
    if (!bad && p.has_valid)
        bad = write_split(&w, "train.split", &p.train, 0) ||
              write_split(&w, "valid.split", &p.valid, 0);
    else if (!bad)
        bad = write_same(&w, "train.split", "train_full.split", &p.train_full, 0);
    bad = bad || write_items(&w, &p.train_full);
    if (!bad && tsv) {
        bad = write_split(&w, "train_full.tsv", &p.train_full, 1) ||
              write_split(&w, "test.tsv", &p.test, 1);
        if (!bad && p.has_valid)
            bad = write_split(&w, "train.tsv", &p.train, 1) ||
                  write_split(&w, "valid.tsv", &p.valid, 1);
        else if (!bad)
            bad = write_same(&w, "train.tsv", "train_full.tsv", &p.train_full, 1);
    }
    const char *stale[5];
    int nstale = 0;
    if (!p.has_valid) {
        stale[nstale++] = "valid.split";
        stale[nstale++] = "valid.tsv";
    }
    if (!tsv) {
        stale[nstale++] = "train_full.tsv";
        stale[nstale++] = "train.tsv";
        stale[nstale++] = "test.tsv";
        if (p.has_valid)
            stale[nstale++] = "valid.tsv";
    }
    bad = bad || commit(&w, stale, nstale);
    if (bad) {
        remove_parts();
        if (created)
            rmdir(dir);
        sr_prepared_free(&p);
        return cli_fail_err(cmd, &w.err);
    }
    double t3 = sr_now();

    /* The report. */
    char d1[64], d2[64];
    printf("input: %s (%s): %lld lines, %lld clicks, %.2f MB\n", input,
           sr_format_name(rep.format), (long long)rep.lines, (long long)n_clicks,
           (double)rep.bytes / 1e6);
    if (rep.delimiter || rep.text_items || rep.text_sessions || rep.filtered)
        printf("read: delimiter %s, %s item ids, %s %s ids%s", rep.delimiter == '\t' ? "tab"
               : rep.delimiter == ',' ? "','" : rep.delimiter == ';' ? "';'"
               : rep.delimiter == '|' ? "'|'" : "none",
               rep.text_items ? "text" : "integer", rep.text_sessions ? "text" : "integer",
               ro.user_key ? "user" : "session", rep.filtered ? "" : "\n");
    if (rep.filtered)
        printf(", %lld rows filtered out by --where\n", (long long)rep.filtered);
    if (ro.user_key)
        printf("sessions: cut from users' clicks at gaps longer than %g s\n", ro.session_gap);
    if (rep.bad_lines)
        printf("skipped %lld bad lines; the first: %s\n", (long long)rep.bad_lines, rep.first_bad);
    int64_t kept = p.filtered_events;
    printf("filter: %s%s, min session length %d, min item support %d: %lld round%s, "
           "%lld clicks kept (%.1f%%)\n",
           po.filter == SR_FILTER_RSC15 ? "rsc15" : "recursive", po.dedup ? " after dedup" : "",
           po.min_session_length, po.min_item_support, (long long)p.filter_rounds,
           p.filter_rounds == 1 ? "" : "s", (long long)kept,
           n_clicks ? 100.0 * (double)kept / (double)n_clicks : 0.0);
    printf("split: test = sessions ending in the last %s", fmt_days(po.test_days, d1, sizeof d1));
    if (p.has_valid)
        printf("; valid = sessions of train_full ending in its last %s",
               fmt_days(po.valid_days, d2, sizeof d2));
    printf("\n");
    stats_info(&p.train_full, "train_full");
    if (p.has_valid) {
        stats_info(&p.train, "train");
        stats_info(&p.valid, "valid");
    }
    stats_info(&p.test, "test");
    printf("wrote %s/:", dir);
    for (int k = 0; k < w.n; k++)
        printf(" %s", w.f[k].name);
    printf(" (%.2f MB)\n", w.bytes / 1e6);
    double total = t3 - t0, mb = (double)rep.bytes / 1e6;
    printf("time: %.2f s total = read %.2f + prepare %.2f + write %.2f; %.0f MB/s of input\n",
           total, t1 - t0, t2 - t1, t3 - t2, total > 0 ? mb / total : 0.0);
    sr_prepared_free(&p);
    return 0;
}
