/*
 * test_cli.c - the command line as a whole: one option parser and one wording
 * for its errors in every command, the same names for the same things, the
 * reading options on every command that reads a log, JSON (parsed with
 * jansson) in the one documented form, progress and parameter reports,
 * warnings about skipped test rows, stats --plot names. Runs build/sessrec
 * (or $SR_BIN); the helpers of tools/cli.c are compiled in and tested directly.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "cli_run.h"
#include "../tools/cli.c"

#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const commands[] = {"synth", "prepare", "stats", "train",
                                       "eval", "recommend", "compare"};
#define N_COMMANDS 7

static char g_train[512], g_test[512], g_keys[512], g_unknown[512], g_model[512];

/* A log of 40 sessions over 8 items: session s clicks items s%8, (s+1)%8, (s+2)%8
 * (a clear next-item pattern) at increasing times. */
static void write_log(const char *path, const char *header, int s0, int n, int item_base)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", header);
    for (int s = s0; s < s0 + n; s++)
        for (int k = 0; k < 3; k++)
            fprintf(f, "%d\t%d\t%d\n", s, item_base + (s + k) % 8, 1000 * s + k);
    fclose(f);
}

static void setup(void)
{
    const char *d = test_tmpdir();
    snprintf(g_train, sizeof g_train, "%s/train.tsv", d);
    snprintf(g_test, sizeof g_test, "%s/test.tsv", d);
    snprintf(g_keys, sizeof g_keys, "%s/keys.tsv", d);
    snprintf(g_unknown, sizeof g_unknown, "%s/unknown.tsv", d);
    snprintf(g_model, sizeof g_model, "%s/pop.srm", d);
    write_log(g_train, "SessionId\tItemId\tTime", 1, 40, 100);
    write_log(g_test, "SessionId\tItemId\tTime", 41, 10, 100);
    write_log(g_keys, "sid\tiid\tts", 1, 40, 100);
    write_log(g_unknown, "SessionId\tItemId\tTime", 41, 10, 900); /* no item the model knows */
    char args[2048], *o, *e;
    snprintf(args, sizeof args, "train %s -o %s --algo pop -q", g_train, g_model);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 0);
    free(o);
    free(e);
}

/* Runs the CLI and returns stderr (caller frees); *rc the exit status. */
static char *run_err(int *rc, const char *fmt, ...)
{
    char args[4096], *o, *e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    *rc = cli_run(args, NULL, &o, &e);
    free(o);
    return e;
}

static char *run_out(int *rc, char **err, const char *fmt, ...)
{
    char args[4096], *o, *e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    *rc = cli_run(args, NULL, &o, &e);
    if (err)
        *err = e;
    else
        free(e);
    return o;
}

/* Every command: the same words for an unknown option (also a trailing one,
 * once reported as "needs a value") and an abbreviation. */
static void test_unknown_option(void)
{
    for (int i = 0; i < N_COMMANDS; i++) {
        const char *c = commands[i];
        char want[256];
        snprintf(want, sizeof want, "sessrec %s: unknown option '--x' (see sessrec %s --help)\n",
                 c, c);
        int rc;
        char *e = run_err(&rc, "%s --x", c);
        CHECK_EQ_INT(rc, 2);
        CHECK_MSG(!strcmp(e, want), "%s: '%s'", c, e);
        free(e);
        e = run_err(&rc, "%s a b --x=5", c); /* trailing, with a value */
        CHECK_EQ_INT(rc, 2);
        CHECK_MSG(!strcmp(e, want), "%s: '%s'", c, e);
        free(e);
        e = run_err(&rc, "%s --qui", c); /* no abbreviations */
        CHECK_EQ_INT(rc, 2);
        CHECK_MSG(strstr(e, "unknown option '--qui'") != NULL, "%s: '%s'", c, e);
        free(e);
        e = run_err(&rc, "%s --json=yes", c);
        CHECK_EQ_INT(rc, 2);
        CHECK_MSG(strstr(e, "--json takes no value") != NULL, "%s: '%s'", c, e);
        free(e);
    }
}

/* A missing value or operand: two lines (the usage and the reason with the
 * hint), not the whole help. */
static void test_missing_argument(void)
{
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"eval m t --cutoffs", "usage: sessrec eval MODEL TEST [options]\n"
                               "sessrec eval: --cutoffs needs a value (see sessrec eval --help)\n"},
        {"eval m", "usage: sessrec eval MODEL TEST [options]\n"
                   "sessrec eval: missing TEST (see sessrec eval --help)\n"},
        {"train t", "usage: sessrec train TRAIN -o MODEL [options]\n"
                    "sessrec train: missing -o MODEL (see sessrec train --help)\n"},
        {"train t -o", "usage: sessrec train TRAIN -o MODEL [options]\n"
                       "sessrec train: -o needs a value (see sessrec train --help)\n"},
        {"prepare in.dat", "usage: sessrec prepare INPUT -o DIR [options]\n"
                           "sessrec prepare: missing -o DIR (see sessrec prepare --help)\n"},
        {"stats", "usage: sessrec stats PATH... [options]\n"
                  "sessrec stats: missing PATH (see sessrec stats --help)\n"},
        {"compare a", "usage: sessrec compare TRAIN TEST [options]\n"
                      "sessrec compare: missing TEST (see sessrec compare --help)\n"},
        {"synth", "usage: sessrec synth -o FILE [options]\n"
                  "sessrec synth: missing -o FILE (see sessrec synth --help)\n"},
        {"recommend", "usage: sessrec recommend MODEL [ITEM...] [options]\n"
                      "sessrec recommend: missing MODEL (see sessrec recommend --help)\n"},
        {"recommend m -k", "usage: sessrec recommend MODEL [ITEM...] [options]\n"
                           "sessrec recommend: -k needs a value (see sessrec recommend --help)\n"},
        {"serve", "usage: sessrec serve MODEL [options]\n"
                  "sessrec serve: missing MODEL (see sessrec serve --help)\n"},
        {"serve m --port", "usage: sessrec serve MODEL [options]\n"
                           "sessrec serve: --port needs a value (see sessrec serve --help)\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        char *e = run_err(&rc, "%s", cases[i].args);
        CHECK_EQ_INT(rc, 2);
        CHECK_MSG(!strcmp(e, cases[i].want), "%s: '%s'", cases[i].args, e);
        free(e);
    }
}

/* The same names everywhere: -q/--quiet and --json on every command, --threads
 * where threads exist, --cutoffs (not --cutoff), the reading options on every
 * command that reads a log; help texts name no issue numbers. */
static void test_same_names(void)
{
    for (int i = 0; i < N_COMMANDS; i++) {
        int rc;
        char *o = run_out(&rc, NULL, "%s --help", commands[i]);
        CHECK_EQ_INT(rc, 0);
        CHECK_MSG(strstr(o, "-q, --quiet") && strstr(o, "--json"), "%s", commands[i]);
        int reads = strcmp(commands[i], "synth") && strcmp(commands[i], "recommend");
        CHECK_MSG(!reads || (strstr(o, "--session-key K, -sk K") && strstr(o, "--format F") &&
                             strstr(o, "--skip-bad-lines") && strstr(o, "--nrows N")),
                  "%s", commands[i]);
        CHECK_MSG(!strcmp(commands[i], "recommend") || strstr(o, "--threads N"), "%s",
                  commands[i]);
        CHECK_MSG(strstr(o, "issue ") == NULL && strstr(o, "Issue ") == NULL, "%s", commands[i]);
        free(o);
        /* -q is accepted by every command (it fails later for want of files) */
        char *e = run_err(&rc, "%s -q --json", commands[i]);
        CHECK_MSG(strstr(e, "unknown option") == NULL, "%s: %s", commands[i], e);
        free(e);
    }
    int rc;
    char *e = run_err(&rc, "train %s -o x.srm --cutoff 5", g_train);
    CHECK(rc == 2 && strstr(e, "unknown option '--cutoff'"));
    free(e);
}

/* --opt=value and --opt value mean the same. */
static void test_equals_form(void)
{
    int rc1, rc2;
    char *a = run_out(&rc1, NULL, "eval %s %s --cutoffs 1,3 --ties standard --threads 1", g_model,
                      g_test);
    char *b = run_out(&rc2, NULL, "eval %s %s --cutoffs=1,3 --ties=standard --threads=1",
                      g_model, g_test);
    CHECK_EQ_INT(rc1, 0);
    CHECK_EQ_INT(rc2, 0);
    /* equal up to the timing line */
    char *ta = strstr(a, "time:"), *tb = strstr(b, "time:");
    CHECK(ta && tb);
    if (ta && tb) {
        *ta = *tb = 0;
        CHECK_MSG(!strcmp(a, b), "'%s' vs '%s'", a, b);
        CHECK(strstr(a, "@3") != NULL);
    }
    free(a);
    free(b);
}

/* The reading options work on train, eval, stats, compare and prepare: a TSV
 * whose columns are sid/iid/ts. */
static void test_reading_options(void)
{
    char model[600], dir[600];
    snprintf(model, sizeof model, "%s/keys.srm", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/prep", test_tmpdir());
    int rc;
    char *e = run_err(&rc, "train %s -o %s --algo pop -q", g_keys, model);
    CHECK_MSG(rc == 1 && strstr(e, "SessionId"), "%d '%s'", rc, e); /* without the keys */
    free(e);
    e = run_err(&rc, "train %s -o %s --algo pop -q -sk sid --item-key=iid -tk ts", g_keys, model);
    CHECK_MSG(rc == 0, "'%s'", e);
    free(e);
    e = run_err(&rc, "eval %s %s -q --session-key sid -ik iid --time-key ts", model, g_keys);
    CHECK_MSG(rc == 0, "'%s'", e);
    free(e);
    char *o = run_out(&rc, &e, "stats %s -sk sid -ik iid -tk ts --json", g_keys);
    CHECK_MSG(rc == 0 && strstr(o, "\"events\": 120"), "'%s' '%s'", o, e);
    free(o);
    free(e);
    o = run_out(&rc, &e, "compare %s %s --algos pop -q -sk sid -ik iid -tk ts", g_keys, g_keys);
    CHECK_MSG(rc == 0 && strstr(o, "pop"), "'%s' '%s'", o, e);
    free(o);
    free(e);
    e = run_err(&rc, "prepare %s -o %s -q -sk sid -ik iid -tk ts --min-item-support 1 "
                     "--test-days 0.0001", g_keys, dir);
    CHECK_MSG(rc == 0, "'%s'", e);
    free(e);
}

/* The one metrics form: eval's "metrics", compare's results[].metrics and
 * train's per-epoch valid.metrics are arrays of {cutoff, recall, mrr, ndcg}. */
static int metrics_ok(json_t *m, int n, const int *cutoffs)
{
    if (!json_is_array(m) || (int)json_array_size(m) != n)
        return 0;
    for (int i = 0; i < n; i++) {
        json_t *x = json_array_get(m, (size_t)i);
        if (json_integer_value(json_object_get(x, "cutoff")) != cutoffs[i] ||
            !json_is_real(json_object_get(x, "recall")) ||
            !json_is_real(json_object_get(x, "mrr")) || !json_is_real(json_object_get(x, "ndcg")) ||
            json_object_size(x) != 4)
            return 0;
    }
    return 1;
}

static void test_json_schema(void)
{
    static const int cut[2] = {1, 5};
    int rc;
    json_error_t je;
    char *o = run_out(&rc, NULL, "eval %s %s --json --cutoffs 1,5", g_model, g_test);
    json_t *j = json_loads(o, 0, &je);
    CHECK_MSG(rc == 0 && j, "'%s'", o);
    CHECK(metrics_ok(json_object_get(j, "metrics"), 2, cut));
    CHECK(json_integer_value(json_object_get(j, "n_predictions")) == 20); /* 10 sessions x 2 */
    CHECK(json_integer_value(json_object_get(j, "n_skipped")) == 0);
    /* pop ranks by clicks: all 8 items have 15 clicks, ties conservative -> rank 8 */
    json_t *m5 = json_array_get(json_object_get(j, "metrics"), 1);
    CHECK_NEAR(json_real_value(json_object_get(m5, "recall")), 0.0, 0);
    json_decref(j);
    free(o);

    o = run_out(&rc, NULL, "compare %s %s --json --cutoffs 1,5 --algos pop,sr", g_train, g_test);
    j = json_loads(o, 0, &je);
    CHECK_MSG(rc == 0 && j, "'%s'", o);
    json_t *res = json_object_get(j, "results");
    CHECK(json_array_size(res) == 2);
    for (size_t i = 0; i < json_array_size(res); i++)
        CHECK(metrics_ok(json_object_get(json_array_get(res, i), "metrics"), 2, cut));
    /* sr learns the pattern: each next item is certain, Recall@1 = 1 */
    json_t *sr1 = json_array_get(json_object_get(json_array_get(res, 1), "metrics"), 0);
    CHECK_NEAR(json_real_value(json_object_get(sr1, "recall")), 1.0, 1e-12);
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(res, 1), "params")),
                  "steps=10,weighting=div,pruning=20,idf_weight=0"));
    json_decref(j);
    free(o);

    /* train --json: one object per epoch, then the result */
    char model[600];
    snprintf(model, sizeof model, "%s/g.srm", test_tmpdir());
    o = run_out(&rc, NULL, "train %s -o %s --json --valid %s --cutoffs 1,5 --threads 1 "
                "-p n_epochs=2,layers=8,batch_size=4,n_sample=0", g_train, model, g_test);
    CHECK_EQ_INT(rc, 0);
    int lines = 0;
    for (char *line = strtok(o, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        j = json_loads(line, 0, &je);
        CHECK_MSG(j != NULL, "line %d: '%s'", lines, line);
        if (!j)
            continue;
        if (lines < 2) {
            CHECK(json_integer_value(json_object_get(j, "epoch")) == lines + 1);
            CHECK(json_is_real(json_object_get(j, "loss")));
            CHECK(metrics_ok(json_object_get(json_object_get(j, "valid"), "metrics"), 2, cut));
        } else {
            CHECK(!strcmp(json_string_value(json_object_get(j, "algo")), "gru4rec"));
            CHECK(strstr(json_string_value(json_object_get(j, "params")), "layers=8") != NULL);
            CHECK(metrics_ok(json_object_get(json_object_get(j, "valid"), "metrics"), 2, cut));
        }
        json_decref(j);
    }
    CHECK_EQ_INT(lines, 3);
    free(o);

    /* stats and synth --json parse too */
    o = run_out(&rc, NULL, "stats %s --json", g_test);
    j = json_loads(o, 0, &je);
    CHECK(rc == 0 && j && json_integer_value(json_object_get(json_object_get(j, "test.tsv"),
                                                             "sessions")) == 10);
    json_decref(j);
    free(o);
}

/* Never inf or nan in JSON: null and a warning. */
static void test_json_nonfinite(void)
{
    fflush(stderr);
    json_t *a = cli_json_real("eval", "Recall@20", NAN);
    json_t *b = cli_json_real("eval", "Recall@20", INFINITY);
    json_t *c = cli_json_real("eval", "Recall@20", 0.25);
    CHECK(json_is_null(a) && json_is_null(b));
    CHECK(json_is_real(c) && json_real_value(c) == 0.25);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    sr_eval_result r;
    memset(&r, 0, sizeof r);
    r.n_cutoffs = 1;
    r.cutoffs[0] = 20;
    r.recall[0] = NAN;
    r.mrr[0] = 0.5;
    r.ndcg[0] = INFINITY;
    json_t *m = cli_json_metrics("eval", &r);
    char *s = json_dumps(m, 0);
    CHECK_MSG(s && !strcmp(s, "[{\"cutoff\": 20, \"recall\": null, \"mrr\": 0.5, \"ndcg\": null}]"),
              "%s", s);
    free(s);
    json_decref(m);
}

/* The helpers: --cutoffs lists and effective parameters from the table. */
static void test_helpers(void)
{
    sr_eval_opts o;
    memset(&o, 0, sizeof o);
    CHECK_EQ_INT(cli_cutoffs("t", "1,5,20", &o), 0);
    CHECK(o.n_cutoffs == 3 && o.cutoffs[0] == 1 && o.cutoffs[2] == 20);
    CHECK_EQ_INT(cli_cutoffs("t", "1,,5", &o), 1);
    CHECK_EQ_INT(cli_cutoffs("t", "5,", &o), 1);
    CHECK_EQ_INT(cli_cutoffs("t", "", &o), 1);
    CHECK_EQ_INT(cli_cutoffs("t", "0", &o), 1);
    char buf[1024];
    cli_effective_params(sr_algo_find("sr"), "steps=5, weighting = quadratic,steps=7", buf,
                         sizeof buf);
    CHECK_MSG(!strcmp(buf, "steps=7,weighting=quadratic,pruning=20,idf_weight=0"), "%s", buf);
    cli_effective_params(sr_algo_find("sr"), NULL, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "steps=10,weighting=div,pruning=20,idf_weight=0"), "%s", buf);
}

/* train --algo X prints the effective parameters; compare reports progress
 * and ends with every algorithm's parameters. */
static void test_reports(void)
{
    char model[600];
    snprintf(model, sizeof model, "%s/sr.srm", test_tmpdir());
    int rc;
    char *e;
    char *o = run_out(&rc, &e, "train %s -o %s --algo sr -p steps=3", g_train, model);
    CHECK_EQ_INT(rc, 0);
    CHECK_MSG(strstr(o, "params   steps=3,weighting=div,pruning=20,idf_weight=0\n") != NULL, "%s", o);
    CHECK(strstr(o, "(defaults)") == NULL);
    CHECK_MSG(strstr(e, "train: training sr on 120 clicks ...") != NULL, "%s", e);
    free(o);
    free(e);
    o = run_out(&rc, &e, "compare %s %s --algos pop,sr,gru4rec -p gru4rec:n_epochs=1,layers=8 "
                "--threads 1", g_train, g_test);
    CHECK_EQ_INT(rc, 0);
    CHECK_MSG(strstr(o, "parameters:\n  pop: top_n=None\n  sr: steps=10,weighting=div,"
                        "pruning=20,idf_weight=0\n  gru4rec: layers=8,") != NULL, "%s", o);
    CHECK(strstr(e, "compare: training pop (1/3)") && strstr(e, "compare: training gru4rec (3/3)"));
    CHECK_MSG(strstr(e, "compare: gru4rec epoch 1: done in") != NULL, "%s", e);
    CHECK(strstr(e, "compare: evaluating gru4rec") != NULL);
    free(o);
    free(e);
    /* -q: no progress */
    o = run_out(&rc, &e, "compare %s %s --algos pop -q", g_train, g_test);
    CHECK(rc == 0 && !strcmp(e, ""));
    free(o);
    free(e);
}

/* Skipped test rows: a warning above 5%, an error when nothing is left. */
static void test_skipped_rows(void)
{
    char mixed[600];
    snprintf(mixed, sizeof mixed, "%s/mixed.tsv", test_tmpdir());
    /* 20 rows: sessions of 4 clicks, one row of one session unknown = 5%: no warning;
     * two = 10%: a warning */
    for (int unknown = 1; unknown <= 2; unknown++) {
        FILE *f = fopen(mixed, "w");
        fprintf(f, "SessionId\tItemId\tTime\n");
        for (int s = 0; s < 5; s++)
            for (int k = 0; k < 4; k++)
                fprintf(f, "%d\t%d\t%d\n", 50 + s, s * 4 + k < unknown ? 999 : 100 + (s + k) % 8,
                        1000 * s + k);
        fclose(f);
        int rc;
        char *e = run_err(&rc, "eval %s %s", g_model, mixed);
        CHECK_EQ_INT(rc, 0);
        if (unknown == 1)
            CHECK_MSG(!strcmp(e, ""), "'%s'", e);
        else
            CHECK_MSG(strstr(e, "sessrec eval: warning: ") &&
                      strstr(e, ": 2 of 20 test rows (10.0%) skipped as unknown to the model"),
                      "'%s'", e);
        free(e);
        e = run_err(&rc, "compare %s %s --algos pop -q", g_train, mixed);
        CHECK_EQ_INT(rc, 0);
        CHECK_MSG((unknown == 1) == !strstr(e, "warning"), "'%s'", e);
        free(e);
    }
    int rc;
    char *e = run_err(&rc, "eval %s %s", g_model, g_unknown);
    CHECK_EQ_INT(rc, 1);
    CHECK_MSG(strstr(e, "30 rows skipped as unknown") != NULL, "'%s'", e);
    free(e);
    char *o = run_out(&rc, &e, "compare %s %s --algos pop", g_train, g_unknown);
    CHECK_EQ_INT(rc, 1);
    CHECK_MSG(strstr(o, "pop      failed: ") != NULL, "'%s'", o);
    free(o);
    free(e);
}

/* stats --plot writes SVG, so the name must say so. */
static void test_plot_name(void)
{
    char png[600];
    snprintf(png, sizeof png, "%s/x.png", test_tmpdir());
    int rc;
    char *e = run_err(&rc, "stats %s --plot %s", g_test, png);
    CHECK_EQ_INT(rc, 2);
    CHECK_MSG(strstr(e, "the chart is SVG; give a name ending in .svg") != NULL, "'%s'", e);
    CHECK(access(png, F_OK) != 0);
    free(e);
    snprintf(png, sizeof png, "%s/x.svg", test_tmpdir());
    e = run_err(&rc, "stats %s --plot=%s -q", g_test, png);
    CHECK_EQ_INT(rc, 0);
    CHECK(access(png, F_OK) == 0);
    unlink(png);
    free(e);
}

/* deps.sh finds what is missing by compiling and linking, not by asking dpkg:
 * a compiler that cannot link jansson names jansson and its package. */
static void test_deps_probe(void)
{
    char cc[600], errf[600], cmd[2048];
    snprintf(cc, sizeof cc, "%s/fakecc", test_tmpdir());
    snprintf(errf, sizeof errf, "%s/deps.err", test_tmpdir());
    FILE *f = fopen(cc, "w");
    fprintf(f, "#!/bin/sh\nfor a; do [ \"$a\" = -ljansson ] && exit 1; done\nexec cc \"$@\"\n");
    fclose(f);
    chmod(cc, 0755);
    snprintf(cmd, sizeof cmd, "sh scripts/deps.sh check 2>%s", errf);
    CHECK_EQ_INT(system(cmd), 0); /* this machine has everything */
    snprintf(cmd, sizeof cmd, "CC=%s sh scripts/deps.sh check 2>%s", cc, errf);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char *e = test_read_text(errf);
    CHECK_MSG(strstr(e, "deps: missing: jansson\n") && strstr(e, "libjansson-dev") &&
              !strstr(e, "OpenBLAS") && !strstr(e, "zlib"), "'%s'", e);
    free(e);
    snprintf(cmd, sizeof cmd, "CC=/nonexistent/cc sh scripts/deps.sh check 2>%s", errf);
    st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    e = test_read_text(errf);
    CHECK_MSG(strstr(e, "C-compiler(/nonexistent/cc)") != NULL, "'%s'", e);
    free(e);
}

int main(void)
{
    setup();
    RUN(test_unknown_option);
    RUN(test_missing_argument);
    RUN(test_same_names);
    RUN(test_equals_form);
    RUN(test_reading_options);
    RUN(test_json_schema);
    RUN(test_json_nonfinite);
    RUN(test_helpers);
    RUN(test_reports);
    RUN(test_skipped_rows);
    RUN(test_plot_name);
    RUN(test_deps_probe);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", test_tmpdir());
    return test_summary();
}
