/*
 * bench_gru.c - speed of the GRU4Rec network, printed as a markdown table:
 *   - training: events/s of sr_gru_train_step with the rsc15 preset settings
 *     (constrained embedding, 100 units, batch 32, 2048 negatives with
 *     alpha 0.75, logq 1, cross-entropy, Adagrad lr 0.1, dropout_p_embed 0.1)
 *     on random sessions over 17,376 items (yoochoose1_64's count); the same
 *     with bpr-max; the tutorial preset (one-hot, 50 units, full softmax,
 *     Adam, batch 1024); and the shape of the official DIGINETICA bpr-max
 *     parameter file (512 units, batch 128, 2048 negatives, bpr-max with ELU,
 *     momentum) over 43,000 items;
 *   - inference: predictions/s of sr_gru_infer_step for batches of 512
 *     (all-item scores).
 * Training runs on a team of 1 and of all cores (sr_gru_set_threads: the
 * step split between threads, OpenBLAS on one thread inside); inference with
 * OpenBLAS on 1 thread and on all cores. Training figures are min / median /
 * max of a few timed repeats after a warm-up, per wall-clock second, and the
 * median per CPU-second of this process (on an overloaded machine the wall
 * rate mostly measures the other processes).
 * Usage: bench_gru [repeats]   (default 3)
 */
#define _POSIX_C_SOURCE 200809L
#include "gru4rec/gru4rec.h"
#include "util/util.h"

#include <cblas.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ITEMS 17376
#define N_ITEMS_DIGI 43000

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The shape of the official DIGINETICA bpr-max parameter file: what sets the
 * speed is the loss, 512 units, batch 128, 2048 negatives and momentum. */
static sr_gru_params digi_bprmax(void)
{
    sr_gru_params p = sr_gru_default_params();
    p.loss = SR_LOSS_BPR_MAX;
    p.constrained_embedding = 1;
    p.embedding = 0;
    p.n_layers = 1;
    p.layers[0] = 512;
    p.batch_size = 128;
    p.elu_param = 1;
    p.bpreg = 1.95f;
    p.logq = 0;
    p.dropout_p_embed = 0.5f;
    p.dropout_p_hidden = 0.3f;
    p.learning_rate = 0.05f;
    p.momentum = 0.4f;
    p.n_sample = 2048;
    p.sample_alpha = 0.2f;
    p.n_epochs = 1;
    p.seed = 1;
    return p;
}

/* A named preset (params.c), one epoch, a fixed seed. */
static sr_gru_params preset(const char *name)
{
    sr_gru_params p = sr_gru_default_params();
    sr_gru_params_preset(&p, name, NULL);
    p.n_epochs = 1;
    p.seed = 1;
    return p;
}

static sr_gru_params rsc15(void) { return preset("rsc15"); }
static sr_gru_params tutorial(void) { return preset("tutorial"); }

/* events/s of train_step over `steps` steps (wall; *cpu_rate: per CPU-second);
 * sessions end at random (mean 4 clicks) */
static double train_rate(sr_gru *g, sr_rng *r, int steps, int64_t n_items, double *cpu_rate)
{
    int B = sr_gru_params_of(g)->batch_size;
    int32_t *in = malloc((size_t)B * sizeof *in), *out = malloc((size_t)B * sizeof *out);
    double t = 0, c = 0;
    int64_t events = 0;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < B; i++) {
            in[i] = (int32_t)(sr_rng_next(r) % (uint64_t)n_items);
            out[i] = (int32_t)(sr_rng_next(r) % (uint64_t)n_items);
            if (sr_rng_next(r) % 4 == 0)
                sr_gru_reset_row(g, i);
        }
        double t0 = sr_now(), c0 = cpu_now();
        double loss = sr_gru_train_step(g, in, out, B);
        t += sr_now() - t0;
        c += cpu_now() - c0;
        events += B;
        if (loss != loss) {
            fprintf(stderr, "bench_gru: NaN loss\n");
            exit(1);
        }
    }
    free(in);
    free(out);
    if (cpu_rate)
        *cpu_rate = (double)events / c;
    return (double)events / t;
}

static void bench_train(const char *label, sr_gru_params p, int64_t n_items, int steps, int reps,
                        int threads)
{
    int64_t *sup = malloc((size_t)n_items * sizeof *sup);
    for (int64_t i = 0; i < n_items; i++)
        sup[i] = 100;
    sr_gru *g = NULL;
    sr_error err;
    if (sr_gru_new(&g, &p, n_items, sup, &err) != SR_OK ||
        sr_gru_set_threads(g, threads, &err) != SR_OK) {
        fprintf(stderr, "bench_gru: %s\n", err.msg);
        exit(1);
    }
    sr_rng r;
    sr_rng_seed(&r, 3);
    train_rate(g, &r, steps / 4 + 1, n_items, NULL); /* warm-up (first sample store fill included) */
    double v[16], vc[16];
    for (int k = 0; k < reps; k++)
        v[k] = train_rate(g, &r, steps, n_items, &vc[k]);
    double med = median(v, reps); /* sorts v */
    printf("| train %-44s | %d | %8.0f / %8.0f / %8.0f events/s | %8.0f events/s |\n", label,
           threads, v[0], med, v[reps - 1], median(vc, reps));
    fflush(stdout);
    sr_gru_free(g);
    free(sup);
}

static void bench_infer(int reps, int threads)
{
    sr_gru_params p = rsc15();
    int64_t *sup = malloc(N_ITEMS * sizeof *sup);
    for (int i = 0; i < N_ITEMS; i++)
        sup[i] = 100;
    sr_gru *g = NULL;
    sr_gru_new(&g, &p, N_ITEMS, sup, NULL);
    const int n = 512, batches = 10;
    int S = sr_gru_state_size(g);
    float *h = calloc((size_t)n * S, sizeof *h);
    float *sc = malloc((size_t)n * N_ITEMS * sizeof *sc);
    float *work = malloc(sr_gru_infer_work_size(g, n) * sizeof *work);
    int32_t in[512];
    sr_rng r;
    sr_rng_seed(&r, 4);
    double v[16], vc[16];
    for (int k = 0; k <= reps; k++) {
        double t0 = sr_now(), c0 = cpu_now();
        for (int b = 0; b < batches; b++) {
            for (int i = 0; i < n; i++)
                in[i] = (int32_t)(sr_rng_next(&r) % N_ITEMS);
            sr_gru_infer_step(g, h, in, n, sc, work);
        }
        if (k > 0) { /* the first round is the warm-up */
            v[k - 1] = (double)n * batches / (sr_now() - t0);
            vc[k - 1] = (double)n * batches / (cpu_now() - c0);
        }
    }
    printf("| infer_step, batch 512, all 17,376 item scores (OpenBLAS threads) | %d | %8.0f "
           "predictions/s (median) | %8.0f predictions/s |\n", threads, median(v, reps),
           median(vc, reps));
    fflush(stdout);
    free(h);
    free(sc);
    free(work);
    sr_gru_free(g);
    free(sup);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    if (reps < 1 || reps > 15)
        reps = 3;
    int all = sr_ncores();
    printf("\n### GRU4Rec network (bench_gru, %d repeats, n_items %d unless said)\n\n", reps,
           N_ITEMS);
    printf("| what | threads | per wall second: min / median / max | per CPU-second (median) "
           "|\n|---|---|---|---|\n");
    openblas_set_num_threads(1);
    for (int th = 1; th <= all; th = th == 1 && all > 1 ? all : all + 1) {
        bench_train("rsc15 preset (xe, 2048 negatives)", rsc15(), N_ITEMS, 3000, reps, th);
        sr_gru_params b = rsc15();
        b.loss = SR_LOSS_BPR_MAX;
        b.elu_param = 0.5f;
        b.bpreg = 1;
        b.logq = 0;
        bench_train("rsc15 but bpr-max (elu .5, bpreg 1)", b, N_ITEMS, 3000, reps, th);
        bench_train("tutorial (one-hot, 50, full xe, Adam, batch 1024)", tutorial(), N_ITEMS, 6,
                    reps, th);
        bench_train("bpr-max 512 units, batch 128, 43,000 items", digi_bprmax(), N_ITEMS_DIGI, 300,
                    reps, th);
    }
    for (int th = 1; th <= all; th = th == 1 && all > 1 ? all : all + 1) {
        openblas_set_num_threads(th);
        bench_infer(reps, th);
    }
    return 0;
}
