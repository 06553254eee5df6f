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
        "are dropped (the row, not the session; reported as skipped rows); sessions left\n"
        "with fewer than 2 clicks yield no prediction.\n"
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
        "  --batch N           sessions scored in parallel per thread (default 512)\n"
        "  --threads N         threads (default 0 = all cores)\n"
        "  --json              print one JSON object instead of the table\n"
        "  -h, --help          this text\n"
        "\n"
        "Recall@k = share of targets ranked <= k; MRR@k = mean of 1/rank (0 beyond k);\n"
        "NDCG@k = mean of 1/log2(rank + 1) (0 beyond k). Results do not depend on\n"
        "--batch or --threads.\n"
        "\n"
        "example: sessrec eval model.srm data/test --cutoffs 10,20 --ties conservative\n",
        SR_MAX_CUTOFFS);
}

static const char *ties_name(sr_ties t)
{
    return t == SR_TIES_STANDARD ? "standard" : t == SR_TIES_MEDIAN ? "median" : "conservative";
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *test_path = NULL;
    sr_eval_opts o = sr_eval_default_opts();
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--cutoffs") || !strcmp(a, "--ties") || !strcmp(a, "--batch") ||
            !strcmp(a, "--threads")) {
            if (i + 1 >= argc)
                return cli_fail("eval", "%s needs a value (see sessrec eval --help)", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--cutoffs")) {
                if (cli_cutoffs("eval", v, &o))
                    return 1;
            } else if (!strcmp(a, "--ties")) {
                if (!strcmp(v, "standard"))
                    o.ties = SR_TIES_STANDARD;
                else if (!strcmp(v, "conservative"))
                    o.ties = SR_TIES_CONSERVATIVE;
                else if (!strcmp(v, "median"))
                    o.ties = SR_TIES_MEDIAN;
                else
                    return cli_fail("eval", "--ties: expected standard, conservative or median, got '%s'", v);
            } else if (!strcmp(a, "--batch")) {
                if (cli_int("eval", a, v, 1, 1000000, &o.batch_size))
                    return 1;
            } else if (cli_int("eval", a, v, 0, 4096, &o.threads)) {
                return 1;
            }
            continue;
        }
        if (a[0] == '-' && a[1])
            return cli_fail("eval", "unknown option '%s' (see sessrec eval --help)", a);
        if (!model_path)
            model_path = a;
        else if (!test_path)
            test_path = a;
        else
            return cli_fail("eval", "unexpected argument '%s' (see sessrec eval --help)", a);
    }
    if (!model_path || !test_path) {
        usage(stderr);
        return 1;
    }

    sr_error err = {0};
    sr_model *m = NULL;
    if (sr_model_load(model_path, &m, &err) != SR_OK)
        return cli_fail_err("eval", &err);
    sr_split test;
    memset(&test, 0, sizeof test);
    if (sr_split_open(test_path, &test, &err) != SR_OK) {
        sr_model_free(m);
        return cli_fail_err("eval", &err);
    }
    sr_eval_result r;
    sr_status st = sr_evaluate(m, &test, &o, &r, &err);
    if (st != SR_OK) {
        int rc = cli_fail_err("eval", &err);
        sr_split_free(&test);
        sr_model_free(m);
        return rc;
    }
    double per_s = r.seconds > 0 ? (double)r.n_predictions / r.seconds : 0;

    if (json) {
        printf("{\"model\": ");
        cli_json_str(stdout, model_path);
        printf(", \"algo\": ");
        cli_json_str(stdout, sr_model_algo(m));
        printf(", \"n_items\": %lld, \"test\": ", (long long)sr_model_n_items(m));
        cli_json_str(stdout, test_path);
        printf(", \"test_sessions\": %lld, \"test_events\": %lld", (long long)test.n_sessions,
               (long long)test.n_events);
        printf(", \"ties\": \"%s\", \"batch_size\": %d, \"threads\": %d", ties_name(o.ties),
               o.batch_size, r.threads);
        printf(", \"n_predictions\": %lld, \"n_skipped\": %lld, \"seconds\": %.6f"
               ", \"predictions_per_sec\": %.1f, \"metrics\": [",
               (long long)r.n_predictions, (long long)r.n_skipped, r.seconds, per_s);
        for (int c = 0; c < r.n_cutoffs; c++)
            printf("%s{\"cutoff\": %d, \"recall\": %.10g, \"mrr\": %.10g, \"ndcg\": %.10g}",
                   c ? ", " : "", r.cutoffs[c], r.recall[c], r.mrr[c], r.ndcg[c]);
        printf("]}\n");
    } else {
        char b1[32], b2[32], b3[32];
        printf("model: %s (%s, %s items)\n", model_path, sr_model_algo(m),
               cli_grouped(sr_model_n_items(m), b1, sizeof b1));
        printf("test:  %s (%s sessions, %s clicks)\n", test_path,
               cli_grouped(test.n_sessions, b2, sizeof b2), cli_grouped(test.n_events, b3, sizeof b3));
        printf("ties:  %s   batch %d x %d thread%s\n\n", ties_name(o.ties), o.batch_size,
               r.threads, r.threads == 1 ? "" : "s");
        printf("  cutoff    Recall       MRR      NDCG\n");
        for (int c = 0; c < r.n_cutoffs; c++)
            printf("  @%-5d %9.4f %9.4f %9.4f\n", r.cutoffs[c], r.recall[c], r.mrr[c], r.ndcg[c]);
        printf("\npredictions: %s   skipped rows (item unknown to the model): %s\n",
               cli_grouped(r.n_predictions, b1, sizeof b1), cli_grouped(r.n_skipped, b2, sizeof b2));
        printf("time: %.2f s (%s predictions/s)\n", r.seconds,
               cli_grouped((int64_t)(per_s + 0.5), b3, sizeof b3));
    }
    sr_split_free(&test);
    sr_model_free(m);
    return 0;
}
