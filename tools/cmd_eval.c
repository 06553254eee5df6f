/*
 * cmd_eval.c - 'sessrec eval MODEL TEST': next-item Recall/MRR/NDCG of a model
 * on a test split (prepared split file or GRU4Rec TSV), as a table or JSON.
 * Only parses options and prints; the evaluation is sr_evaluate.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: sessrec eval MODEL TEST [options]\n"
        "\n"
        "Next-item evaluation (GRU4Rec protocol): each test session starts from an empty\n"
        "state; after each of its clicks but the last, ALL items are scored and the rank\n"
        "of the true next click is taken. Test rows whose item the model does not know\n"
        "are dropped (the row, not the session; reported as skipped rows, with a warning\n"
        "above 5%%); sessions left with fewer than 2 clicks yield no prediction, and no\n"
        "prediction at all is an error.\n"
        "\n"
        "  MODEL               a model file written by 'sessrec train'\n"
        "  TEST                a prepared split file (from 'sessrec prepare'; the .split\n"
        "                      suffix may be left out) or a click log such as a GRU4Rec\n"
        "                      TSV (SessionId, ItemId, Time columns)\n"
        "\n"
        "options:\n"
        "  --cutoffs LIST      comma-separated cutoffs k, each 1..1000000, at most %d\n"
        "                      (default 1,5,10,20)\n"
        "  --ties MODE         rank of a target tied with other items:\n"
        "                        conservative  #items scoring >= the target (default, as\n"
        "                                      the official GRU4Rec evaluation)\n"
        "                        standard      1 + #items scoring higher\n"
        "                        median        1 + #higher + (#equal - 1) / 2\n"
        "  --batch N           sessions scored in parallel per thread (default 512)\n",
        SR_MAX_CUTOFFS);
    cli_opts_help(f, cli_threads_option, 22);
    cli_opts_help(f, cli_common_options, 22);
    fputc('\n', f);
    cli_read_help(f, 22);
    fputs(
        "\n"
        "Recall@k = share of targets ranked <= k; MRR@k = mean of 1/rank (0 beyond k);\n"
        "NDCG@k = mean of 1/log2(rank + 1) (0 beyond k). Results do not depend on\n"
        "--batch or --threads. The JSON form is described in docs/json.md.\n"
        "\n"
        "example: sessrec eval model.srm data/test --cutoffs 10,20 --ties conservative\n", f);
}

static const cli_opt eval_options[] = {
    {"cutoffs", 0, NULL, "LIST", ""},
    {"ties", 0, NULL, "MODE", ""},
    {"batch", 0, NULL, "N", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct eval_args {
    sr_eval_opts o;
    sr_read_opts ro;
} eval_args;

static int on_option(void *ud, const cli_opt *opt, const char *v)
{
    eval_args *a = ud;
    if (cli_opt_in(opt, cli_read_options))
        return cli_read_opt("eval", opt, v, &a->ro);
    if (!strcmp(opt->name, "cutoffs"))
        return cli_cutoffs("eval", v, &a->o);
    if (!strcmp(opt->name, "ties")) {
        sr_error e;
        if (sr_ties_parse(v, &a->o.ties, &e) != SR_OK)
            return cli_fail("eval", "--ties: %s", e.msg);
        return 0;
    }
    return cli_int("eval", "--batch", v, 1, 1000000, &a->o.batch_size);
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    a.o = sr_eval_default_opts();
    a.ro = sr_read_default_opts();
    const cli_opt *const tables[] = {eval_options, cli_read_options, cli_threads_option,
                                     cli_common_options, NULL};
    cli_cmd c = {"eval", "MODEL TEST [options]", usage, tables, on_option, &a};
    cli_common com = {0};
    char **pos;
    int npos;
    int rc = cli_parse(&c, argc, argv, &com, &pos, &npos);
    if (rc >= 0)
        return rc;
    if (npos != 2) {
        rc = npos < 2 ? cli_usage_error(&c, "missing %s", npos ? "TEST" : "MODEL and TEST")
                      : cli_usage_error(&c, "unexpected argument '%s'", pos[2]);
        free(pos);
        return rc;
    }
    const char *model_path = pos[0], *test_path = pos[1];
    free(pos);
    sr_eval_opts o = a.o;
    o.threads = com.threads;
    a.ro.threads = com.threads;
    if (cli_read_opts_done("eval", &a.ro))
        return 1;
    int json = com.json;

    sr_error err = {0};
    sr_model *m = NULL;
    if (sr_model_load(model_path, &m, &err) != SR_OK)
        return cli_fail_err("eval", &err);
    sr_split test;
    memset(&test, 0, sizeof test);
    if (sr_split_open_opts(test_path, &a.ro, &test, &err) != SR_OK) {
        sr_model_free(m);
        return cli_fail_err("eval", &err);
    }
    sr_eval_result r;
    sr_status st = sr_evaluate(m, &test, &o, &r, &err);
    if (st != SR_OK) {
        rc = cli_fail_err("eval", &err);
        sr_split_free(&test);
        sr_model_free(m);
        return rc;
    }
    double per_s = r.seconds > 0 ? (double)r.n_predictions / r.seconds : 0;

    if (cli_check_skipped("eval", test_path, test.n_events, &r)) {
        sr_split_free(&test);
        sr_model_free(m);
        return 1;
    }
    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "model", cli_json_text(model_path));
        json_object_set_new(j, "algo", cli_json_text(sr_model_algo(m)));
        json_object_set_new(j, "n_items", json_integer(sr_model_n_items(m)));
        json_object_set_new(j, "test", cli_json_text(test_path));
        json_object_set_new(j, "test_sessions", json_integer(test.n_sessions));
        json_object_set_new(j, "test_events", json_integer(test.n_events));
        json_object_set_new(j, "ties", json_string(sr_ties_name(o.ties)));
        json_object_set_new(j, "batch_size", json_integer(o.batch_size));
        json_object_set_new(j, "threads", json_integer(r.threads));
        cli_json_eval("eval", j, &r);
        if (cli_json_print("eval", j)) {
            sr_split_free(&test);
            sr_model_free(m);
            return 1;
        }
    } else {
        char b1[32], b2[32], b3[32];
        printf("model: %s (%s, %s items)\n", model_path, sr_model_algo(m),
               cli_grouped(sr_model_n_items(m), b1, sizeof b1));
        printf("test:  %s (%s sessions, %s clicks)\n", test_path,
               cli_grouped(test.n_sessions, b2, sizeof b2), cli_grouped(test.n_events, b3, sizeof b3));
        printf("ties:  %s   batch %d x %d thread%s\n\n", sr_ties_name(o.ties), o.batch_size,
               r.threads, r.threads == 1 ? "" : "s");
        printf("  cutoff    Recall       MRR      NDCG\n");
        for (int k = 0; k < r.n_cutoffs; k++)
            printf("  @%-5d %9.4f %9.4f %9.4f\n", r.cutoffs[k], r.recall[k], r.mrr[k], r.ndcg[k]);
        printf("\npredictions: %s   skipped rows (item unknown to the model): %s\n",
               cli_grouped(r.n_predictions, b1, sizeof b1), cli_grouped(r.n_skipped, b2, sizeof b2));
        printf("time: %.2f s (%s predictions/s)\n", r.seconds,
               cli_grouped((int64_t)(per_s + 0.5), b3, sizeof b3));
    }
    sr_split_free(&test);
    sr_model_free(m);
    return 0;
}
