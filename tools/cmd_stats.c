/*
 * cmd_stats.c - `sessrec stats PATH... [--json] [--plot FILE.svg]`: counts,
 * time range and quantiles of prepared splits as a table (or JSON), and the
 * session-length chart. Loads with sr_split_open, computes with
 * sr_split_stats, draws with sr_plot_lengths_svg; only formatting lives here.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const split_names[] = {"train_full", "train", "valid", "test"};
#define N_SPLIT_NAMES 4

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sessrec stats PATH... [--json] [--plot FILE.svg]\n"
            "\n"
            "Statistics of prepared splits: events, sessions, distinct items, first and\n"
            "last click time (ISO-8601 UTC), session-length and item-support quantiles.\n"
            "\n"
            "PATH is a folder written by `sessrec prepare`: every split present among\n"
            "train_full, train, valid, test, in that order, read from PATH/<name>.split\n"
            "(train is left out when it is the same file as train_full, as prepare\n"
            "makes it without --valid-days). Or PATH is a split file; a file that is not\n"
            "a binary split is opened as sr_split_open does: PATH.split if PATH does not\n"
            "exist, else any click log `sessrec prepare` reads (grouped into sessions,\n"
            "not filtered).\n"
            "\n"
            "options:\n"
            "  --plot FILE.svg             also write an SVG chart of the session-length\n"
            "                              distribution (share of sessions per length 1..29\n"
            "                              and 30+, mean and median marked, and a log-log\n"
            "                              panel of the long tail); at most %d splits; the\n"
            "                              name must end in .svg\n",
            SR_PLOT_MAX_SPLITS);
    cli_opts_help(f, cli_threads_option, 30);
    cli_opts_help(f, cli_common_options, 30);
    fprintf(f, "                              (--json: one key per split)\n\n");
    cli_read_help(f, 30);
    fprintf(f,
            "\n"
            "Quantiles are nearest-rank: of n sorted values, the q-quantile is the one at\n"
            "position ceil(q*n) (1-based), so they are always actual values. Item support\n"
            "is the number of clicks on an item, over the items present in the split.\n"
            "Split names label the columns; when they repeat (several folders), the\n"
            "paths are used instead.\n"
            "\n"
            "examples:\n"
            "  sessrec stats data/\n"
            "  sessrec stats data/ --plot lengths.svg\n"
            "  sessrec stats data/train_full.split data/test.split --json\n");
}

typedef struct entry {
    char *path;      /* file opened */
    char *label;     /* column / key name */
    sr_split split;
    sr_stats st;
} entry;

typedef struct entries {
    entry *v;
    int n, cap;
} entries;

static int push(entries *es, const char *path, const char *label)
{
    if (es->n == es->cap) {
        int nc = es->cap ? 2 * es->cap : 8;
        entry *p = realloc(es->v, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        es->v = p;
        es->cap = nc;
    }
    entry *e = &es->v[es->n];
    memset(e, 0, sizeof *e);
    e->path = malloc(strlen(path) + 1);
    e->label = malloc(strlen(label) + 1);
    if (!e->path || !e->label) {
        free(e->path);
        free(e->label);
        return -1;
    }
    strcpy(e->path, path);
    strcpy(e->label, label);
    es->n++;
    return 0;
}

/* "a/b/test.split" -> "test"; "clicks.dat" -> "clicks.dat". */
static void file_label(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b && b[1] ? b + 1 : path;
    snprintf(out, n, "%s", b);
    size_t len = strlen(out);
    if (len > 6 && !strcmp(out + len - 6, ".split"))
        out[len - 6] = 0;
}

static json_t *quantiles(double mean, const int64_t *q, int64_t p90, int64_t p99)
{
    json_t *o = json_object();
    json_object_set_new(o, "mean", cli_json_real("stats", "a mean", mean));
    json_object_set_new(o, "min", json_integer(q[0]));
    json_object_set_new(o, "p25", json_integer(q[1]));
    json_object_set_new(o, "median", json_integer(q[2]));
    json_object_set_new(o, "p75", json_integer(q[3]));
    json_object_set_new(o, "p90", json_integer(p90));
    json_object_set_new(o, "p99", json_integer(p99));
    json_object_set_new(o, "max", json_integer(q[4]));
    return o;
}

static int print_json(const entries *es)
{
    char tb[64];
    json_t *root = json_object();
    for (int i = 0; i < es->n; i++) {
        const sr_stats *st = &es->v[i].st;
        json_t *o = json_object();
        json_object_set_new(o, "path", cli_json_text(es->v[i].path));
        json_object_set_new(o, "events", json_integer(st->events));
        json_object_set_new(o, "sessions", json_integer(st->sessions));
        json_object_set_new(o, "items", json_integer(st->items));
        if (st->events > 0) {
            json_object_set_new(o, "first_time",
                                json_string(cli_iso_time(tb, sizeof tb, st->first_time, 0)));
            json_object_set_new(o, "last_time",
                                json_string(cli_iso_time(tb, sizeof tb, st->last_time, 0)));
            json_object_set_new(o, "first_time_us", json_integer(st->first_time));
            json_object_set_new(o, "last_time_us", json_integer(st->last_time));
        } else {
            json_object_set_new(o, "first_time", json_null());
            json_object_set_new(o, "last_time", json_null());
            json_object_set_new(o, "first_time_us", json_null());
            json_object_set_new(o, "last_time_us", json_null());
        }
        json_object_set_new(o, "session_length",
                            quantiles(st->len_mean, st->len_q, st->len_p90, st->len_p99));
        json_object_set_new(o, "item_support",
                            quantiles(st->items ? (double)st->events / (double)st->items : 0,
                                      st->sup_q, st->sup_p90, st->sup_p99));
        /* labels are unique (paths when split names repeat) */
        json_t *label = cli_json_text(es->v[i].label);
        json_object_set_new(root, json_string_value(label), o);
        json_decref(label);
    }
    return cli_json_print("stats", root);
}

/* One table row: a name, then one right-aligned cell per split. */
static void row(const entries *es, const int *w, const char *name, char cells[][64])
{
    int blank = 1;
    for (int i = 0; i < es->n; i++)
        blank &= !cells[i][0];
    if (blank) {   /* a section heading */
        printf("%s\n", name);
        return;
    }
    printf("%-16s", name);
    for (int i = 0; i < es->n; i++)
        printf("  %*s", w[i], cells[i]);
    putchar('\n');
}

static void print_table(const entries *es)
{
    int *w = malloc((size_t)es->n * sizeof *w);
    char (*c)[64] = malloc((size_t)es->n * sizeof *c);
    if (!w || !c) {
        free(w);
        free(c);
        return;
    }
    for (int i = 0; i < es->n; i++) {
        int l = (int)strlen(es->v[i].label);
        w[i] = l > 20 ? l : 20;
        snprintf(c[i], sizeof c[i], "%.63s", es->v[i].label);
    }
    row(es, w, "", c);
#define ROW(name, ...)                                                          \
    do {                                                                        \
        for (int i = 0; i < es->n; i++) {                                       \
            const sr_stats *st = &es->v[i].st;                                  \
            (void)st;                                                           \
            __VA_ARGS__;                                                        \
        }                                                                       \
        row(es, w, name, c);                                                    \
    } while (0)
    ROW("Events", cli_grouped(st->events, c[i], 64));
    ROW("Sessions", cli_grouped(st->sessions, c[i], 64));
    ROW("Items", cli_grouped(st->items, c[i], 64));
    ROW("First time", st->events ? cli_iso_time(c[i], 64, st->first_time, 0) : strcpy(c[i], "-"));
    ROW("Last time", st->events ? cli_iso_time(c[i], 64, st->last_time, 0) : strcpy(c[i], "-"));
    for (int which = 0; which < 2; which++) {
        ROW(which ? "Item support" : "Session length", c[i][0] = 0);
        ROW("  mean", snprintf(c[i], 64, "%.2f",
                               which ? (st->items ? (double)st->events / (double)st->items : 0)
                                     : st->len_mean));
        const char *qn[5] = {"  min", "  25%", "  median", "  75%", "  max"};
        for (int k = 0; k < 5; k++) {
            if (k == 4) {
                ROW("  90%", cli_grouped(which ? st->sup_p90 : st->len_p90, c[i], 64));
                ROW("  99%", cli_grouped(which ? st->sup_p99 : st->len_p99, c[i], 64));
            }
            ROW(qn[k], cli_grouped(which ? st->sup_q[k] : st->len_q[k], c[i], 64));
        }
    }
#undef ROW
    free(w);
    free(c);
}

static const cli_opt stats_options[] = {
    {"plot", 0, NULL, "FILE.svg", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct stats_args {
    const char *plot;
    sr_read_opts ro;
} stats_args;

static int on_option(void *ud, const cli_opt *o, const char *v)
{
    stats_args *a = ud;
    if (cli_opt_in(o, cli_read_options))
        return cli_read_opt("stats", o, v, &a->ro);
    a->plot = v;
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    int json = 0;
    const char *plot = NULL;
    entries es = {0};
    int rc = 1;
    stats_args sa;
    sa.plot = NULL;
    sa.ro = sr_read_default_opts();
    const cli_opt *const tables[] = {stats_options, cli_read_options, cli_threads_option,
                                     cli_common_options, NULL};
    cli_cmd cc = {"stats", "PATH... [options]", usage, tables, on_option, &sa};
    cli_common com = {0};
    char **paths;
    int n_paths;
    int prc = cli_parse(&cc, argc, argv, &com, &paths, &n_paths);
    if (prc >= 0)
        return prc;
    json = com.json;
    plot = sa.plot;
    sa.ro.threads = com.threads;
    if (cli_read_opts_done("stats", &sa.ro))
        return 1;
    if (n_paths == 0) {
        free(paths);
        return cli_usage_error(&cc, "missing PATH");
    }
    if (plot) {
        size_t pl = strlen(plot);
        if (pl < 5 || strcmp(plot + pl - 4, ".svg")) {
            free(paths);
            return cli_usage_error(&cc, "--plot %s: the chart is SVG; give a name ending in "
                                   ".svg", plot);
        }
    }

    /* Which files, under which labels. */
    for (int p = 0; p < n_paths; p++) {
        struct stat sb;
        if (stat(paths[p], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            int found = 0;
            struct stat seen[N_SPLIT_NAMES];
            for (int k = 0; k < N_SPLIT_NAMES; k++) {
                char f[4096];
                size_t len = strlen(paths[p]);
                snprintf(f, sizeof f, "%s%s%s.split", paths[p],
                         len && paths[p][len - 1] == '/' ? "" : "/", split_names[k]);
                if (stat(f, &sb) == 0) {
                    /* Without --valid-days, prepare makes train.split a hard link
                     * to train_full.split: one column for one file. */
                    int same = 0;
                    for (int j = 0; j < found; j++)
                        same |= seen[j].st_dev == sb.st_dev && seen[j].st_ino == sb.st_ino;
                    if (same)
                        continue;
                    seen[found] = sb;
                    if (push(&es, f, split_names[k])) {
                        cli_fail("stats", "out of memory");
                        goto done;
                    }
                    found++;
                }
            }
            if (!found) {
                cli_fail("stats", "%s: no split files in this folder (looked for train_full, "
                                  "train, valid, test .split); run `sessrec prepare` first",
                         paths[p]);
                goto done;
            }
        } else {
            char lab[512];
            file_label(paths[p], lab, sizeof lab);
            if (push(&es, paths[p], lab)) {
                cli_fail("stats", "out of memory");
                goto done;
            }
        }
    }
    int dup = 0;
    for (int i = 0; i < es.n; i++)
        for (int j = i + 1; j < es.n; j++)
            dup |= !strcmp(es.v[i].label, es.v[j].label);
    if (dup)
        for (int i = 0; i < es.n; i++) {
            char *l = realloc(es.v[i].label, strlen(es.v[i].path) + 1);
            if (!l) {
                cli_fail("stats", "out of memory");
                goto done;
            }
            strcpy(l, es.v[i].path);
            es.v[i].label = l;
        }

    /* Load and measure. */
    for (int i = 0; i < es.n; i++) {
        sr_error err = {0};
        if (sr_split_open_opts(es.v[i].path, &sa.ro, &es.v[i].split, &err) != SR_OK) {
            cli_fail_err("stats", &err);
            goto done;
        }
        if (sr_split_stats(&es.v[i].split, &es.v[i].st, &err) != SR_OK) {
            cli_fail("stats", "%s: %s", es.v[i].path, err.msg);
            goto done;
        }
    }

    /* The chart's limits are checked before anything is printed: a command
     * fails before its output, not after half of it. */
    if (plot && es.n > SR_PLOT_MAX_SPLITS) {
        cli_fail("stats", "--plot draws at most %d splits, got %d (plot fewer paths)",
                 SR_PLOT_MAX_SPLITS, es.n);
        goto done;
    }
    if (plot) {
        sr_error perr = {0};
        if (sr_output_check(plot, &perr) != SR_OK) {
            cli_fail_err("stats", &perr);
            goto done;
        }
    }
    if (json) {
        if (print_json(&es))
            goto done;
    } else {
        print_table(&es);
    }
    fflush(stdout);

    if (plot) {
        const sr_split **sp = malloc((size_t)es.n * sizeof *sp);
        const char **nm = malloc((size_t)es.n * sizeof *nm);
        sr_error err = {0};
        sr_status st = SR_ERR_NOMEM;
        if (sp && nm) {
            for (int i = 0; i < es.n; i++) {
                sp[i] = &es.v[i].split;
                nm[i] = es.v[i].label;
            }
            st = sr_plot_lengths_svg(plot, sp, nm, es.n, &err);
        } else {
            sr_error_set(&err, st, "out of memory");
        }
        free(sp);
        free(nm);
        if (st != SR_OK) {
            cli_fail_err("stats", &err);
            goto done;
        }
        if (!com.quiet)
            fprintf(stderr, "sessrec stats: wrote %s\n", plot);
    }
    rc = 0;
done:
    for (int i = 0; i < es.n; i++) {
        sr_split_free(&es.v[i].split);
        free(es.v[i].path);
        free(es.v[i].label);
    }
    free(es.v);
    free(paths);
    return rc;
}
