/*
 * cmd_prepare.c - `sessrec prepare`: reads a click log, cleans and splits it
 * (sr_read_log + sr_prepare) and writes the splits into a folder.
 *
 * All-or-nothing output (sr_outdir): the files are written into a sibling
 * temporary folder, which replaces DIR with one rename when all are complete.
 * A failed run removes its temporary folder (also on SIGINT/SIGTERM/SIGHUP,
 * from the signal handler) and leaves DIR as it was; a killed run (SIGKILL)
 * leaves DIR old or new, never mixed, and its debris is removed by the next
 * run. Runs into one folder wait for each other (a lock on the parent).
 * The report (statistics, timing) goes to stdout; progress of long runs to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

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
            "A click dated after 2200-01-01 is an error (a corrupted timestamp would make\n"
            "the test window end there and leave almost nothing in it).\n"
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
            "Binary splits are described in docs/formats.md. Output is all-or-nothing: the\n"
            "files are written into a temporary folder next to DIR, which then replaces DIR\n"
            "as a whole with one rename: an interrupted or killed run leaves DIR as it was\n"
            "or complete, never mixed. So DIR may hold only the files above (anything else\n"
            "is refused). Two runs into one folder wait for each other.\n"
            "\n"
            "options:\n"
            "  -o, --output DIR            output folder (required)\n"
            "  --filter recursive|rsc15    see above (default recursive)\n"
            "  --min-session-length N      default 2\n"
            "  --min-item-support N        default 5\n"
            "  --test-days D               test window, in days (fractions allowed) or seconds\n"
            "                              with an 's' suffix (86400s); default 1\n"
            "  --valid-days D              validation window, same units; default 0 = none\n"
            "  --dedup                     drop consecutive repeated clicks within a session\n"
            "  --tsv                       also write the GRU4Rec TSV files\n");
    cli_opts_help(f, cli_threads_option, 30);
    cli_opts_help(f, cli_common_options, 30);
    fprintf(f, "                              (-q: the report on stdout stays; --json: the\n"
               "                              report as one JSON object)\n\n");
    cli_read_help(f, 30);
    fprintf(f, "\nexamples:\n"
               "  sessrec prepare yoochoose-clicks.dat -o data/ --valid-days 1 --tsv\n"
               "  sessrec prepare events.csv -o rr/ --user-key visitorid -ik itemid -tk timestamp \\\n"
               "      --where event=view --session-gap 1800\n");
}

/* ---- the output folder, removed on failure and on signals ------------------------ */

static sr_outdir *volatile g_od;

static void on_signal(int sig)
{
    sr_outdir *d = g_od;
    if (d)
        sr_outdir_abort_signal(d);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- small helpers -------------------------------------------------------------- */

/* The tutorial's stats_info, plus the first time; as JSON into obj when
 * obj is given, else printed. */
static void stats_info(const sr_split *s, const char *name, json_t *obj)
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
    if (obj) {
        json_t *o = json_object();
        json_object_set_new(o, "events", json_integer(s->n_events));
        json_object_set_new(o, "sessions", json_integer(s->n_sessions));
        json_object_set_new(o, "items", json_integer(items));
        json_object_set_new(o, "first_time", s->n_events ? json_string(a) : json_null());
        json_object_set_new(o, "last_time", s->n_events ? json_string(b) : json_null());
        json_object_set_new(obj, name, o);
        return;
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

/* Every name prepare may write: an existing folder may hold only these (and
 * temporaries), since it is replaced as a whole. */
static const char *const k_names[] = {"train_full.split", "train.split", "valid.split",
                                      "test.split", "items.tsv", "train_full.tsv", "train.tsv",
                                      "valid.tsv", "test.tsv", NULL};

typedef struct writer {
    sr_outdir *od;
    const char *names[16];
    int n;
    double bytes;
    sr_error err;
} writer;

static void count_bytes(writer *w, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0)
        w->bytes += (double)sb.st_size;
}

/* Writes s as NAME in the new folder: a binary split, or GRU4Rec TSV. */
static int write_split(writer *w, const char *name, const sr_split *s, int tsv)
{
    const char *p = sr_outdir_file(w->od, name);
    if (!p || (tsv ? sr_split_save_tsv(s, p, &w->err) : sr_split_save(s, p, &w->err)) != SR_OK)
        return -1;
    count_bytes(w, p);
    w->names[w->n++] = name;
    return 0;
}

/* `name` holds the same bytes as the already written file `same`: a hard link
 * (a copy where links are not possible). */
static int write_same(writer *w, const char *name, const char *same, const sr_split *s,
                      int tsv)
{
    if (sr_outdir_link(w->od, name, same, &w->err) == SR_OK) {
        w->names[w->n++] = name;
        return 0;
    }
    /* a copy only where links are not possible; other errors are errors */
    if (errno != EPERM && errno != EXDEV && errno != EMLINK && errno != ENOTSUP &&
        errno != EOPNOTSUPP)
        return -1;
    return write_split(w, name, s, tsv);
}

static int write_items(writer *w, const sr_split *s)
{
    const char *p = sr_outdir_file(w->od, "items.tsv");
    sr_atomic a;
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
    w->names[w->n++] = "items.tsv";
    return 0;
}

/* ---- the command ------------------------------------------------------------------ */

static const cli_opt prepare_options[] = {
    {"output", 'o', NULL, "DIR", ""},
    {"filter", 0, NULL, "F", ""},
    {"min-session-length", 0, NULL, "N", ""},
    {"min-item-support", 0, NULL, "N", ""},
    {"test-days", 0, NULL, "D", ""},
    {"valid-days", 0, NULL, "D", ""},
    {"dedup", 0, NULL, NULL, ""},
    {"tsv", 0, NULL, NULL, ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct prep_args {
    const char *dir;
    int tsv;
    sr_read_opts ro;
    sr_prepare_opts po;
} prep_args;

static int on_option(void *ud, const cli_opt *o, const char *v)
{
    prep_args *a = ud;
    const char *n = o->name, *cmd = "prepare";
    if (cli_opt_in(o, cli_read_options))
        return cli_read_opt(cmd, o, v, &a->ro);
    if (!strcmp(n, "output")) {
        a->dir = v;
    } else if (!strcmp(n, "filter")) {
        sr_error e;
        if (sr_filter_parse(v, &a->po.filter, &e) != SR_OK)
            return cli_fail(cmd, "--filter: %s", e.msg);
    } else if (!strcmp(n, "min-session-length")) {
        return cli_int(cmd, "--min-session-length", v, 1, 1000000000, &a->po.min_session_length);
    } else if (!strcmp(n, "min-item-support")) {
        return cli_int(cmd, "--min-item-support", v, 1, 1000000000, &a->po.min_item_support);
    } else if (!strcmp(n, "test-days")) {
        return cli_days(cmd, "--test-days", v, &a->po.test_days);
    } else if (!strcmp(n, "valid-days")) {
        return cli_days(cmd, "--valid-days", v, &a->po.valid_days);
    } else if (!strcmp(n, "dedup")) {
        a->po.dedup = 1;
    } else if (!strcmp(n, "tsv")) {
        a->tsv = 1;
    }
    return 0;
}

int cmd_prepare(int argc, char **argv)
{
    const char *cmd = "prepare", *input = NULL, *dir = NULL;
    int quiet = 0, tsv = 0;
    sr_read_opts ro = sr_read_default_opts();
    sr_prepare_opts po = sr_prepare_default_opts();
    prep_args pa;
    pa.dir = NULL;
    pa.tsv = 0;
    pa.ro = ro;
    pa.po = po;
    const cli_opt *const tables[] = {prepare_options, cli_read_options, cli_threads_option,
                                     cli_common_options, NULL};
    cli_cmd cc = {"prepare", "INPUT -o DIR [options]", usage, tables, on_option, &pa};
    cli_common com = {0};
    char **pos;
    int npos;
    int prc = cli_parse(&cc, argc, argv, &com, &pos, &npos);
    if (prc >= 0)
        return prc;
    input = npos ? pos[0] : NULL;
    if (npos > 1) {
        prc = cli_usage_error(&cc, "more than one input ('%s' and '%s')", pos[0], pos[1]);
        free(pos);
        return prc;
    }
    free(pos);
    dir = pa.dir;
    tsv = pa.tsv;
    ro = pa.ro;
    po = pa.po;
    ro.threads = po.threads = com.threads;
    quiet = com.quiet || com.json;
    int json = com.json;
    if (!input || !dir)
        return cli_usage_error(&cc, "%s", !input ? "missing INPUT" : "missing -o DIR");
    if (cli_read_opts_done(cmd, &ro))
        return 1;
    if (!*dir)
        return cli_fail(cmd, "-o: empty folder name");

    /* A full disk or a file-size limit must give an error, not a kill. */
    signal(SIGXFSZ, SIG_IGN);

    struct stat sb;
    double in_size = stat(input, &sb) == 0 ? (double)sb.st_size : 0;
    int chatty = !quiet && in_size >= 64e6; /* progress only where it takes a while */
    /* The folder is checked, locked and its temp sibling created before the
     * long work, so a bad -o fails at once and creates nothing. */
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_outdir *od = NULL;
    if (sr_outdir_open(&od, dir, k_names, &err) != SR_OK)
        return cli_fail_err(cmd, &err);
    g_od = od;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    double t0 = cli_now();
    sr_log log;
    sr_read_report rep;
    memset(&rep, 0, sizeof rep);
    if (chatty)
        fprintf(stderr, "prepare: reading %s (%.0f MB)...\n", input, in_size / 1e6);
    sr_status st = sr_read_log(input, &ro, &log, &rep, &err);
    if (st != SR_OK) {
        g_od = NULL;
        sr_outdir_abort(od);
        return cli_fail_err(cmd, &err);
    }
    double t1 = cli_now();
    if (chatty)
        fprintf(stderr, "prepare: read %lld clicks in %.1f s; cleaning and splitting...\n",
                (long long)log.n, t1 - t0);
    int64_t n_clicks = log.n;
    sr_prepared p;
    st = sr_prepare(&log, &po, &p, &err);
    sr_log_free(&log);
    if (st != SR_OK) {
        g_od = NULL;
        sr_outdir_abort(od);
        return cli_fail_err(cmd, &err);
    }
    double t2 = cli_now();
    if (chatty)
        fprintf(stderr, "prepare: done in %.1f s; writing %s...\n", t2 - t1, dir);

    writer w;
    memset(&w, 0, sizeof w);
    w.od = od;
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
    /* No signal may free the folder object while commit does. */
    /* Messages about files of the temporary folder name the final one. */
    if (bad) {
        const char *t = sr_outdir_file(od, "items.tsv");
        char tmpdir[4096], msg[sizeof w.err.msg];
        snprintf(tmpdir, sizeof tmpdir, "%s", t ? t : "");
        char *sl = strrchr(tmpdir, '/');
        char *at = sl ? (*sl = 0, strstr(w.err.msg, tmpdir)) : NULL;
        if (at && *tmpdir) {
            snprintf(msg, sizeof msg, "%.*s%s%s", (int)(at - w.err.msg), w.err.msg, dir,
                     at + strlen(tmpdir));
            memcpy(w.err.msg, msg, sizeof msg);
        }
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (bad)
        sr_outdir_abort(od);
    else
        bad = sr_outdir_commit(od, &w.err) != SR_OK;
    g_od = NULL;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (bad) {
        sr_prepared_free(&p);
        return cli_fail_err(cmd, &w.err);
    }
    double t3 = cli_now();

    /* The report. */
    int64_t kept = p.filtered_events;
    double total = t3 - t0, mb = (double)rep.bytes / 1e6;
    if (json) {
        json_t *j = json_object(), *in = json_object(), *fl = json_object(), *sp = json_object();
        json_t *splits = json_object(), *files = json_array(), *tm = json_object();
        json_object_set_new(in, "path", cli_json_text(input));
        json_object_set_new(in, "format", json_string(sr_format_name(rep.format)));
        json_object_set_new(in, "lines", json_integer(rep.lines));
        json_object_set_new(in, "clicks", json_integer(n_clicks));
        json_object_set_new(in, "bytes", json_integer(rep.bytes));
        json_object_set_new(in, "bad_lines", json_integer(rep.bad_lines));
        json_object_set_new(in, "first_bad", rep.bad_lines ? cli_json_text(rep.first_bad)
                                                           : json_null());
        json_object_set_new(j, "input", in);
        json_object_set_new(fl, "filter", json_string(sr_filter_name(po.filter)));
        json_object_set_new(fl, "dedup", json_boolean(po.dedup));
        json_object_set_new(fl, "min_session_length", json_integer(po.min_session_length));
        json_object_set_new(fl, "min_item_support", json_integer(po.min_item_support));
        json_object_set_new(fl, "rounds", json_integer(p.filter_rounds));
        json_object_set_new(fl, "clicks_kept", json_integer(kept));
        json_object_set_new(j, "filter", fl);
        json_object_set_new(sp, "test_days", cli_json_real(cmd, "--test-days", po.test_days));
        json_object_set_new(sp, "valid_days", p.has_valid ? cli_json_real(cmd, "--valid-days",
                                                                           po.valid_days)
                                                          : json_null());
        json_object_set_new(j, "split", sp);
        stats_info(&p.train_full, "train_full", splits);
        if (p.has_valid) {
            stats_info(&p.train, "train", splits);
            stats_info(&p.valid, "valid", splits);
        }
        stats_info(&p.test, "test", splits);
        json_object_set_new(j, "splits", splits);
        json_object_set_new(j, "output", cli_json_text(dir));
        for (int k = 0; k < w.n; k++)
            json_array_append_new(files, json_string(w.names[k]));
        json_object_set_new(j, "files", files);
        json_object_set_new(j, "bytes_written", json_integer((json_int_t)w.bytes));
        json_object_set_new(tm, "total", cli_json_real(cmd, "seconds", total));
        json_object_set_new(tm, "read", cli_json_real(cmd, "seconds", t1 - t0));
        json_object_set_new(tm, "prepare", cli_json_real(cmd, "seconds", t2 - t1));
        json_object_set_new(tm, "write", cli_json_real(cmd, "seconds", t3 - t2));
        json_object_set_new(j, "seconds", tm);
        sr_prepared_free(&p);
        return cli_json_print(cmd, j);
    }
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
    printf("filter: %s%s, min session length %d, min item support %d: %lld round%s, "
           "%lld clicks kept (%.1f%%)\n",
           sr_filter_name(po.filter), po.dedup ? " after dedup" : "",
           po.min_session_length, po.min_item_support, (long long)p.filter_rounds,
           p.filter_rounds == 1 ? "" : "s", (long long)kept,
           n_clicks ? 100.0 * (double)kept / (double)n_clicks : 0.0);
    printf("split: test = sessions ending in the last %s", fmt_days(po.test_days, d1, sizeof d1));
    if (p.has_valid)
        printf("; valid = sessions of train_full ending in its last %s",
               fmt_days(po.valid_days, d2, sizeof d2));
    printf("\n");
    stats_info(&p.train_full, "train_full", NULL);
    if (p.has_valid) {
        stats_info(&p.train, "train", NULL);
        stats_info(&p.valid, "valid", NULL);
    }
    stats_info(&p.test, "test", NULL);
    printf("wrote %s/:", dir);
    for (int k = 0; k < w.n; k++)
        printf(" %s", w.names[k]);
    printf(" (%.2f MB)\n", w.bytes / 1e6);
    printf("time: %.2f s total = read %.2f + prepare %.2f + write %.2f; %.0f MB/s of input\n",
           total, t1 - t0, t2 - t1, t3 - t2, total > 0 ? mb / total : 0.0);
    sr_prepared_free(&p);
    return 0;
}
