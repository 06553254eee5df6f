/*
 * bench_yoochoose.c - GRU4Rec on the real yoochoose1_64 split, as issue 3's
 * targets state them: --preset rsc15, 10 epochs, full ranking, conservative
 * ties; training events/s (median over the epochs) and evaluation time of the
 * whole test split (median of 3), next to the official PyTorch GRU4Rec's
 * figures measured on this machine (../shared/GRU4REC.md, issue 3).
 * Usage: bench_yoochoose [epochs]   (default 10; SR_DATA overrides ../shared/data)
 */
#define _POSIX_C_SOURCE 200809L
#include "sessrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double eps[64];
    int n;
} epoch_log;

static void on_progress(const sr_train_progress *p, void *ud)
{
    epoch_log *l = ud;
    if (p->epoch_done && l->n < 64) {
        l->eps[l->n++] = p->events_per_sec;
        fprintf(stderr, "bench_yoochoose: epoch %d/%d loss %.4f %.0f events/s\n", p->epoch,
                p->n_epochs, p->loss, p->events_per_sec);
    }
}

static int at(const sr_eval_result *r, int k)
{
    for (int i = 0; i < r->n_cutoffs; i++)
        if (r->cutoffs[i] == k)
            return i;
    return 0;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 10;
    const char *dir = getenv("SR_DATA");
    if (!dir || !*dir)
        dir = "../shared/data";
    char ptr[1024], pte[1024];
    snprintf(ptr, sizeof ptr, "%s/yoochoose1_64/train.tsv", dir);
    snprintf(pte, sizeof pte, "%s/yoochoose1_64/test.tsv", dir);
    sr_split train = {0}, test = {0};
    sr_error err = {0};
    if (sr_split_open(ptr, &train, &err) != SR_OK || sr_split_open(pte, &test, &err) != SR_OK) {
        printf("\n(bench_yoochoose: yoochoose1_64 not available: %s)\n", err.msg);
        return 0;
    }
    sr_gru_params p = sr_gru_default_params();
    sr_gru_params_preset(&p, "rsc15", &err);
    p.n_epochs = epochs;
    epoch_log log = {.n = 0};
    sr_train_opts to = sr_train_default_opts();
    to.cb = on_progress;
    to.ud = &log;
    sr_model *m = NULL;
    double t0 = now();
    if (sr_train_gru(&train, &p, &to, &m, &err) != SR_OK) {
        fprintf(stderr, "bench_yoochoose: %s\n", err.msg);
        return 1;
    }
    double train_s = now() - t0;
    qsort(log.eps, (size_t)log.n, sizeof log.eps[0], cmp_double);
    double eps_med = log.n ? log.eps[log.n / 2] : 0;

    sr_eval_opts eo = sr_eval_default_opts();
    eo.ties = SR_TIES_CONSERVATIVE;
    sr_eval_result r;
    double secs[3];
    for (int i = 0; i < 3; i++) {
        double t = now();
        if (sr_evaluate(m, &test, &eo, &r, &err) != SR_OK) {
            fprintf(stderr, "bench_yoochoose: %s\n", err.msg);
            return 1;
        }
        secs[i] = now() - t;
    }
    qsort(secs, 3, sizeof secs[0], cmp_double);
    int k20 = at(&r, 20), k10 = at(&r, 10), k1 = at(&r, 1);

    printf("\n### GRU4Rec on yoochoose1_64 (--preset rsc15, %d epochs, conservative ties)\n\n", epochs);
    printf("| measure | sessrec | official PyTorch GRU4Rec (same machine) | target |\n");
    printf("|---|---|---|---|\n");
    printf("| Recall@20 | %.4f | 0.6984 | >= 0.69 |\n", r.recall[k20]);
    printf("| MRR@20 | %.4f | 0.3114 | >= 0.305 |\n", r.mrr[k20]);
    printf("| Recall@10 | %.4f | 0.5953 | |\n", r.recall[k10]);
    printf("| MRR@10 | %.4f | 0.3042 | |\n", r.mrr[k10]);
    printf("| Recall@1 | %.4f | 0.1837 | |\n", r.recall[k1]);
    printf("| training events/s (median of %d epochs) | %.0f | 2,050 | >= 20,000 |\n", log.n, eps_med);
    printf("| training wall time | %.1f s | | |\n", train_s);
    printf("| evaluation of the test split (%lld predictions, median of 3) | %.2f s | 11.9 s | a few s |\n",
           (long long)r.n_predictions, secs[1]);
    sr_model_free(m);
    sr_split_free(&train);
    sr_split_free(&test);
    return 0;
}
