/*
 * bench_yoochoose.c - GRU4Rec training speed and accuracy on the real
 * yoochoose1_64 split with --preset rsc15 (issue 13): for 1 thread and for
 * all cores, several complete trainings (default 3 x 10 epochs), each giving
 * events/s = training events / training wall time; min / median / max over
 * the runs, the matrix-product rate that implies (FLOP per event from the
 * shapes) against cblas_sgemm measured in the same run at the step's largest
 * product (32 x 2080 x 100), and Recall@20 / MRR@20 (conservative ties) of
 * the last model of each thread count, next to the official PyTorch GRU4Rec.
 * Usage: bench_yoochoose [epochs [runs]]   (SR_DATA overrides ../shared/data)
 */
#define _POSIX_C_SOURCE 200809L
#include "sessrec.h"
#include "util/util.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_RUNS 15

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

static int at(const sr_eval_result *r, int k)
{
    for (int i = 0; i < r->n_cutoffs; i++)
        if (r->cutoffs[i] == k)
            return i;
    return 0;
}

typedef struct {
    int64_t events;
} count_log;

static void on_progress(const sr_train_progress *p, void *ud)
{
    count_log *l = ud;
    if (p->epoch_done) {
        l->events += p->events_done;
        fprintf(stderr, "bench_yoochoose: epoch %d/%d loss %.4f %.0f events/s\n", p->epoch,
                p->n_epochs, p->loss, p->events_per_sec);
    }
}

/* Matrix-product FLOP of one training event (sampled losses: C = batch +
 * n_sample score columns): output scores and their two gradients (6 C H),
 * per GRU layer the forward products (2 in 3H + 2 H 3H) and backward ones
 * (dWh, dWx and dx: 2 H 3H + 4 in 3H; no dx for the first layer's input
 * when it is one-hot). */
static double flop_per_event(const sr_gru_params *p, int64_t n_items)
{
    double C = p->loss == SR_LOSS_FULL_XE ? (double)n_items : p->batch_size + p->n_sample;
    double Hl = p->layers[p->n_layers - 1];
    double f = 6 * C * Hl;
    for (int l = 0; l < p->n_layers; l++) {
        double H = p->layers[l];
        double in = l > 0 ? p->layers[l - 1]
                    : p->constrained_embedding ? Hl
                    : p->embedding > 0 ? p->embedding
                                       : 0; /* one-hot: a row lookup */
        f += 2 * in * 3 * H + 2 * H * 3 * H; /* forward */
        f += 2 * H * 3 * H + 4 * in * 3 * H; /* backward */
    }
    return f;
}

/* GFLOP/s of cblas_sgemm for C (m, n) = A (m, k) B (n, k)^T, the score
 * product of a step, on `threads` OpenBLAS threads (median of 5 timings). */
static double sgemm_rate(int m, int n, int k, int threads)
{
    float *A = malloc((size_t)m * k * sizeof *A), *B = malloc((size_t)n * k * sizeof *B);
    float *C = malloc((size_t)m * n * sizeof *C);
    for (int i = 0; i < m * k; i++)
        A[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < n * k; i++)
        B[i] = (float)(i % 5) * 0.1f;
    openblas_set_num_threads(threads);
    double v[5];
    int reps = 200;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int j = 0; j < reps; j++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, A, k, B, k, 0, C, n);
        v[r] = 2.0 * m * n * k * reps / (now() - t0) / 1e9;
    }
    qsort(v, 5, sizeof v[0], cmp_double);
    free(A);
    free(B);
    free(C);
    return v[2];
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 10;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    if (epochs < 1)
        epochs = 10;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 3;
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
    int cores = sr_ncores();
    int ths[2] = {1, cores};
    int n_th = cores > 1 ? 2 : 1;
    int Hl = p.layers[p.n_layers - 1], C = p.batch_size + p.n_sample;
    double gemm[2];
    for (int k = 0; k < n_th; k++)
        gemm[k] = sgemm_rate(p.batch_size, C, Hl, ths[k]);
    openblas_set_num_threads(1);

    double eps[2][MAX_RUNS], rec[2] = {0}, mrr[2] = {0}, evs[2] = {0}, fpe = 0;
    int64_t npred = 0;
    for (int k = 0; k < n_th; k++) {
        for (int r = 0; r < runs; r++) {
            count_log log = {0};
            sr_train_opts to = sr_train_default_opts();
            to.threads = ths[k];
            to.cb = on_progress;
            to.ud = &log;
            sr_model *m = NULL;
            double t0 = now();
            if (sr_train_gru(&train, &p, &to, &m, &err) != SR_OK) {
                fprintf(stderr, "bench_yoochoose: %s\n", err.msg);
                return 1;
            }
            eps[k][r] = (double)log.events / (now() - t0);
            fpe = flop_per_event(&p, sr_model_n_items(m));
            if (r == runs - 1) {
                sr_eval_opts eo = sr_eval_default_opts();
                eo.ties = SR_TIES_CONSERVATIVE;
                eo.threads = ths[k];
                sr_eval_result res;
                double te = now();
                if (sr_evaluate(m, &test, &eo, &res, &err) != SR_OK) {
                    fprintf(stderr, "bench_yoochoose: %s\n", err.msg);
                    return 1;
                }
                evs[k] = now() - te;
                npred = res.n_predictions;
                rec[k] = res.recall[at(&res, 20)];
                mrr[k] = res.mrr[at(&res, 20)];
            }
            sr_model_free(m);
        }
        qsort(eps[k], (size_t)runs, sizeof eps[k][0], cmp_double);
    }

    printf("\n### GRU4Rec training on yoochoose1_64 (--preset rsc15, %d epochs, %d runs per row)\n\n",
           epochs, runs);
    printf("Events/s = training events / wall time of the whole training (min / median / max of "
           "the runs); GFLOP/s = events/s x %.2f MFLOP per event (matrix products, from the "
           "shapes), against cblas_sgemm at %d x %d x %d measured in this run. Official PyTorch "
           "GRU4Rec on the development machine: 2,050-3,657 events/s, Recall@20 0.6984, "
           "MRR@20 0.3114.\n\n", fpe / 1e6, p.batch_size, C, Hl);
    printf("| threads | events/s min | median | max | GFLOP/s (median) | sgemm GFLOP/s | share "
           "| Recall@20 | MRR@20 |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < n_th; k++) {
        double med = eps[k][runs / 2], gf = med * fpe / 1e9;
        printf("| %d | %.0f | %.0f | %.0f | %.1f | %.1f | %.0f%% | %.4f | %.4f |\n", ths[k],
               eps[k][0], med, eps[k][runs - 1], gf, gemm[k], 100 * gf / gemm[k], rec[k], mrr[k]);
    }
    printf("\nEvaluation of the test split (%lld predictions, all items ranked): ", (long long)npred);
    for (int k = 0; k < n_th; k++)
        printf("%s%.2f s with %d thread%s", k ? ", " : "", evs[k], ths[k], ths[k] > 1 ? "s" : "");
    printf(" (official: 11.9 s).\n");
    sr_split_free(&train);
    sr_split_free(&test);
    return 0;
}
