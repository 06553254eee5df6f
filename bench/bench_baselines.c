/*
 * bench_baselines.c - training time and next-item prediction throughput of
 * every baseline on ../shared/data/yoochoose1_64 (train.tsv -> test.tsv), with
 * issue 4's parameters (each algorithm's rsc15 preset in the library's
 * algorithm table; defaults where it has none), measured through sr_evaluate on ONE thread (batch 512):
 * a "prediction" scores all items for one session prefix and ranks the true
 * next item among them (GRU4REC.md's protocol). Throughput is given per
 * wall-clock second and per CPU second of the process (the latter does not
 * suffer when other jobs share the cores). Prints a table; `make bench` runs it.
 */
#include "sessrec.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void)
{
    const char *dir = getenv("SR_DATA");
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/yoochoose1_64/train.tsv", dir && *dir ? dir : "../shared/data");
    snprintf(p2, sizeof p2, "%s/yoochoose1_64/test.tsv", dir && *dir ? dir : "../shared/data");
    sr_split tr, te;
    if (sr_split_open(p1, &tr, NULL) != SR_OK || sr_split_open(p2, &te, NULL) != SR_OK) {
        printf("bench_baselines: %s or %s missing, skipped\n", p1, p2);
        return 0;
    }
    printf("baselines on yoochoose1_64 (%lld training clicks, 1 thread, full ranking)\n",
           (long long)tr.n_events);
    printf("%-6s %9s %12s %11s %13s %10s %10s\n", "algo", "train s", "predictions", "pred/s",
           "pred/CPU-s", "Recall@20", "MRR@20");
    for (int i = 0; i < sr_algo_count(); i++) {
        const sr_algo_info *a = sr_algo_at(i);
        if (!strcmp(a->name, "gru4rec"))
            continue; /* bench_gru */
        const char *preset = sr_algo_preset(a, "rsc15") ? "rsc15" : NULL;
        sr_model *m = NULL;
        sr_error err;
        double t0 = sr_now();
        if (sr_train(a->name, &tr, preset, NULL, NULL, &m, &err) != SR_OK) {
            printf("%-6s failed: %s\n", a->name, err.msg);
            continue;
        }
        double tt = sr_now() - t0;
        sr_eval_opts o = sr_eval_default_opts();
        o.n_cutoffs = 1;
        o.cutoffs[0] = 20;
        o.threads = 1;
        sr_eval_result r;
        clock_t c0 = clock();
        if (sr_evaluate(m, &te, &o, &r, &err) != SR_OK) {
            printf("%-6s evaluation failed: %s\n", a->name, err.msg);
            sr_model_free(m);
            continue;
        }
        double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
        printf("%-6s %9.2f %12lld %11.0f %13.0f %10.4f %10.4f\n", a->name, tt,
               (long long)r.n_predictions, (double)r.n_predictions / r.seconds,
               cpu > 0 ? (double)r.n_predictions / cpu : 0, r.recall[0], r.mrr[0]);
        fflush(stdout);
        sr_model_free(m);
    }
    printf("(conservative ties; pred/s includes ranking the target among all items)\n");
    sr_split_free(&tr);
    sr_split_free(&te);
    return 0;
}
