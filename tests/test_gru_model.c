/*
 * test_gru_model.c - the GRU4Rec network beyond its gradients: sparse
 * optimizer updates (untouched rows bitwise unchanged, duplicates coalesced),
 * divergence -> NaN, bit-identical training from a seed, the negative sampler,
 * learning a simple pattern in every input mode and loss, the scorer plug-in
 * (reset/step/move), and model payloads (round trip; truncated, corrupted or
 * inconsistent payloads rejected with SR_ERR_FORMAT).
 */
#include "test.h"
#include "gru4rec/gru4rec.h"
#include "gru4rec/sampler.h"

#include <stdlib.h>
#include <string.h>

static sr_gru_params small_params(int mode, sr_loss loss)
{
    sr_gru_params p;
    memset(&p, 0, sizeof p);
    p.n_layers = 1;
    p.layers[0] = 6;
    p.embedding = mode == 1 ? 5 : 0;
    p.constrained_embedding = mode == 2;
    p.loss = loss;
    p.optim = SR_OPT_ADAGRAD;
    p.batch_size = 4;
    p.learning_rate = 0.1f;
    p.momentum = 0.5f;
    p.adam_beta1 = 0.9f;
    p.adam_beta2 = 0.999f;
    p.adam_eps = 1e-8f;
    p.n_sample = 5;
    p.sample_alpha = 0.75f;
    p.sample_store = 1000;
    p.logq = loss == SR_LOSS_XE ? 1.0f : 0.0f;
    p.bpreg = loss == SR_LOSS_BPR_MAX ? 0.5f : 0.0f;
    p.elu_param = loss == SR_LOSS_BPR_MAX ? 0.5f : 0.0f;
    p.n_epochs = 1;
    p.seed = 42;
    return p;
}

static int64_t *flat_support(int64_t n)
{
    int64_t *s = malloc((size_t)n * sizeof *s);
    for (int64_t i = 0; i < n; i++)
        s[i] = 1 + i % 7;
    return s;
}

static const sr_tensor *tensor(sr_tensor *t, int nt, const char *name, int *idx)
{
    for (int i = 0; i < nt; i++)
        if (!strcmp(t[i].name, name)) {
            if (idx)
                *idx = i;
            return &t[i];
        }
    return NULL;
}

static void test_params_rejected(void)
{
    sr_gru_params p = small_params(2, SR_LOSS_XE);
    int64_t *sup = flat_support(10);
    sr_gru *g = NULL;
    sr_error err = {0};
    sr_gru_params q = p;
    q.n_layers = 0;
    CHECK(sr_gru_new(&g, &q, 10, sup, &err) == SR_ERR_ARG && !g);
    CHECK(strstr(err.msg, "layers") != NULL);
    q = p;
    q.dropout_p_hidden = 1.0f;
    CHECK(sr_gru_new(&g, &q, 10, sup, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "dropout_p_hidden") != NULL);
    q = p;
    q.learning_rate = 0;
    CHECK(sr_gru_new(&g, &q, 10, sup, &err) == SR_ERR_ARG);
    CHECK(sr_gru_new(&g, &p, 0, sup, &err) == SR_ERR_ARG);
    /* sampling needs the supports */
    CHECK(sr_gru_new(&g, &p, 10, NULL, &err) == SR_ERR_ARG);
    CHECK(sr_gru_new(&g, &p, 10, sup, &err) == SR_OK && g);
    sr_gru_free(g);
    free(sup);
}

/* Snapshot of a tensor and its optimizer state. */
typedef struct snap {
    float *w, *s1, *s2;
    int64_t n;
} snap;

static snap take(sr_gru *g, int i, const sr_tensor *t)
{
    snap s = {0};
    float *a, *b;
    s.n = t->rows * t->cols;
    s.w = malloc((size_t)s.n * sizeof(float));
    s.s1 = malloc((size_t)s.n * sizeof(float));
    s.s2 = malloc((size_t)s.n * sizeof(float));
    memcpy(s.w, t->data, (size_t)s.n * sizeof(float));
    CHECK(sr_gru_opt_state(g, i, &a, &b) && a && b);
    memcpy(s.s1, a, (size_t)s.n * sizeof(float));
    memcpy(s.s2, b, (size_t)s.n * sizeof(float));
    return s;
}

static void drop(snap *s)
{
    free(s->w);
    free(s->s1);
    free(s->s2);
}

/* row r of tensor i equal (bitwise) to the snapshot, parameters and state */
static int row_same(sr_gru *g, int i, const sr_tensor *t, const snap *s, int64_t r)
{
    float *a, *b;
    sr_gru_opt_state(g, i, &a, &b);
    size_t o = (size_t)(r * t->cols), n = (size_t)t->cols * sizeof(float);
    return !memcmp(t->data + o, s->w + o, n) && !memcmp(a + o, s->s1 + o, n) &&
           !memcmp(b + o, s->s2 + o, n);
}

static int in_list(int32_t x, const int32_t *l, int n)
{
    for (int i = 0; i < n; i++)
        if (l[i] == x)
            return 1;
    return 0;
}

static void test_sparse_adagrad_rows(void)
{
    for (int mode = 0; mode < 3; mode++) {
        const int64_t N = 40;
        sr_gru_params p = small_params(mode, SR_LOSS_XE);
        p.batch_size = 3;
        p.n_sample = 4;
        int64_t *sup = flat_support(N);
        sr_gru *g = NULL;
        CHECK(sr_gru_new(&g, &p, N, sup, NULL) == SR_OK);
        CHECK(sr_gru_dense_grads(g) == SR_OK);
        const int32_t smp[4] = {7, 9, 7, 30};           /* 7 twice */
        const int32_t in[3] = {3, 12, 3}, out[3] = {9, 20, 21}; /* 3 twice, 9 also sampled */
        sr_gru_fix_samples(g, smp);
        sr_tensor t[16];
        int nt = sr_gru_tensors(g, t, 16), iwy = 0, iby = 0, iin = -1;
        tensor(t, nt, "Wy", &iwy);
        tensor(t, nt, "By", &iby);
        if (mode == 0)
            tensor(t, nt, "Wx0", &iin);
        if (mode == 1)
            tensor(t, nt, "E", &iin);
        snap swy = take(g, iwy, &t[iwy]), sby = take(g, iby, &t[iby]), sin = {0};
        if (iin >= 0)
            sin = take(g, iin, &t[iin]);
        double loss = sr_gru_train_step(g, in, out, 3);
        CHECK(isfinite(loss) && loss > 0);
        int32_t ys[7];
        memcpy(ys, out, sizeof out);
        memcpy(ys + 3, smp, sizeof smp);
        for (int64_t r = 0; r < N; r++) {
            int is_y = in_list((int32_t)r, ys, 7), is_x = in_list((int32_t)r, in, 3);
            int wy_touched = is_y || (mode == 2 && is_x);
            CHECK_MSG(row_same(g, iwy, &t[iwy], &swy, r) == !wy_touched, "mode %d Wy row %lld",
                      mode, (long long)r);
            CHECK_MSG(row_same(g, iby, &t[iby], &sby, r) == !is_y, "mode %d By row %lld", mode,
                      (long long)r);
            if (iin >= 0)
                CHECK_MSG(row_same(g, iin, &t[iin], &sin, r) == !is_x, "mode %d input row %lld",
                          mode, (long long)r);
        }
        /* coalesced: one update with the summed gradient, acc = g^2 exactly
         * (the gradient of row 7 has two sample columns, row 3 two input rows) */
        float *acc, *mom;
        sr_gru_opt_state(g, iwy, &acc, &mom);
        const float *gw = t[iwy].grad;
        int64_t H = t[iwy].cols;
        int nz = 0;
        for (int64_t j = 0; j < H; j++) {
            CHECK(acc[7 * H + j] == gw[7 * H + j] * gw[7 * H + j]);
            nz += gw[7 * H + j] != 0;
            if (mode == 2)
                CHECK(acc[3 * H + j] == gw[3 * H + j] * gw[3 * H + j]);
        }
        CHECK(nz == H);
        /* step 2 touches other rows only: rows of step 1 keep weights AND momentum */
        drop(&swy);
        drop(&sby);
        swy = take(g, iwy, &t[iwy]);
        sby = take(g, iby, &t[iby]);
        const int32_t smp2[4] = {1, 2, 4, 5}, in2[3] = {10, 11, 13}, out2[3] = {14, 15, 16};
        sr_gru_fix_samples(g, smp2);
        sr_gru_train_step(g, in2, out2, 3);
        for (int k = 0; k < 7; k++) {
            CHECK(row_same(g, iwy, &t[iwy], &swy, ys[k]));
            CHECK(row_same(g, iby, &t[iby], &sby, ys[k]));
        }
        CHECK(!row_same(g, iwy, &t[iwy], &swy, 14));
        drop(&swy);
        drop(&sby);
        if (iin >= 0)
            drop(&sin);
        sr_gru_free(g);
        free(sup);
    }
}

static void test_nan_on_divergence(void)
{
    sr_gru_params p = small_params(2, SR_LOSS_XE);
    p.learning_rate = 1e38f;
    int64_t *sup = flat_support(20);
    sr_gru *g = NULL;
    CHECK(sr_gru_new(&g, &p, 20, sup, NULL) == SR_OK);
    const int32_t in[4] = {1, 2, 3, 4}, out[4] = {5, 6, 7, 8};
    int nan_at = -1;
    for (int s = 0; s < 10 && nan_at < 0; s++)
        if (isnan(sr_gru_train_step(g, in, out, 4)))
            nan_at = s;
    CHECK(nan_at >= 1);
    sr_gru_free(g);
    free(sup);
}

/* Random sessions for a net: fills in/out with rows of a repeating pattern. */
static void pattern_batch(int step, int B, int64_t N, int32_t *in, int32_t *out)
{
    for (int i = 0; i < B; i++) {
        in[i] = (int32_t)((step * 3 + i * 5) % N);
        out[i] = (int32_t)((in[i] + 1) % N);
    }
}

static void train_some(sr_gru *g, int steps, int64_t N)
{
    int B = sr_gru_params_of(g)->batch_size;
    int32_t in[64], out[64];
    for (int s = 0; s < steps; s++) {
        pattern_batch(s, B, N, in, out);
        if (s % 7 == 3)
            sr_gru_reset_row(g, s % B);
        sr_gru_train_step(g, in, out, B);
    }
}

/* max |a - b| over every parameter of two networks of the same shape */
static double max_param_diff(sr_gru *a, sr_gru *b)
{
    sr_tensor ta[16], tb[16];
    int n = sr_gru_tensors(a, ta, 16);
    sr_gru_tensors(b, tb, 16);
    double d = 0;
    for (int i = 0; i < n; i++)
        for (int64_t j = 0; j < ta[i].rows * ta[i].cols; j++)
            d = fmax(d, fabs((double)ta[i].data[j] - (double)tb[i].data[j]));
    return d;
}

/* A team of threads: bit-identical run to run for the same thread count, and
 * the same training as one thread up to float rounding (dL/dh is summed over
 * the threads' slices in another order). */
static void test_threads_deterministic(void)
{
    for (int mode = 0; mode < 3; mode++)
        for (int loss = 0; loss < 3; loss++) {
            sr_loss ls = loss == 0 ? SR_LOSS_XE : loss == 1 ? SR_LOSS_BPR_MAX : SR_LOSS_FULL_XE;
            sr_gru_params p = small_params(mode, ls);
            p.dropout_p_embed = 0.2f;
            p.momentum = 0.5f;
            int64_t *sup = flat_support(30);
            sr_gru *a = NULL, *b = NULL, *one = NULL;
            sr_gru_new(&a, &p, 30, sup, NULL);
            sr_gru_new(&b, &p, 30, sup, NULL);
            sr_gru_new(&one, &p, 30, sup, NULL);
            CHECK(sr_gru_set_threads(a, 2, NULL) == SR_OK);
            CHECK(sr_gru_set_threads(b, 2, NULL) == SR_OK);
            CHECK_EQ_INT(sr_gru_threads(a), 2);
            train_some(a, 40, 30);
            train_some(b, 40, 30);
            train_some(one, 40, 30);
            CHECK_MSG(max_param_diff(a, b) == 0, "mode %d loss %d: 2 threads not reproducible",
                      mode, loss);
            double d1 = max_param_diff(a, one);
            CHECK_MSG(d1 < 1e-4, "mode %d loss %d: 2 threads vs 1 differ by %g", mode, loss, d1);
            sr_gru_free(a);
            sr_gru_free(b);
            sr_gru_free(one);
            free(sup);
        }
    sr_gru *g = NULL;
    sr_gru_params p = small_params(2, SR_LOSS_XE);
    int64_t *sup = flat_support(30);
    sr_gru_new(&g, &p, 30, sup, NULL);
    sr_error err;
    CHECK(sr_gru_set_threads(g, 0, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "0 training threads") != NULL);
    CHECK(sr_gru_set_threads(g, 3, NULL) == SR_OK);
    CHECK(sr_gru_set_threads(g, 1, NULL) == SR_OK);
    CHECK_EQ_INT(sr_gru_threads(g), 1);
    sr_gru_free(g);
    free(sup);
}

static void test_same_seed_bit_identical(void)
{
    for (int mode = 0; mode < 3; mode++) {
        sr_gru_params p = small_params(mode, SR_LOSS_XE);
        p.dropout_p_embed = 0.2f;
        p.dropout_p_hidden = 0.1f;
        p.n_layers = 2;
        p.layers[1] = 4;
        int64_t *sup = flat_support(30);
        sr_gru *a = NULL, *b = NULL, *c = NULL;
        sr_gru_new(&a, &p, 30, sup, NULL);
        sr_gru_new(&b, &p, 30, sup, NULL);
        p.seed = 43;
        sr_gru_new(&c, &p, 30, sup, NULL);
        train_some(a, 50, 30);
        train_some(b, 50, 30);
        train_some(c, 50, 30);
        sr_tensor ta[16], tb[16], tc[16];
        int n = sr_gru_tensors(a, ta, 16);
        sr_gru_tensors(b, tb, 16);
        sr_gru_tensors(c, tc, 16);
        int same = 1, same_c = 1;
        for (int i = 0; i < n; i++) {
            size_t bytes = (size_t)(ta[i].rows * ta[i].cols) * sizeof(float);
            same &= !memcmp(ta[i].data, tb[i].data, bytes);
            same_c &= !memcmp(ta[i].data, tc[i].data, bytes);
        }
        CHECK_MSG(same, "mode %d: same seed, different parameters", mode);
        CHECK_MSG(!same_c, "mode %d: another seed, same parameters", mode);
        sr_gru_free(a);
        sr_gru_free(b);
        sr_gru_free(c);
        free(sup);
    }
}

static void test_sampler_distribution(void)
{
    const int64_t sup[6] = {1, 16, 0, 81, 4, 256};
    sr_sampler s;
    CHECK(sr_sampler_init(&s, sup, 6, 0.75, 10, 95, 7, NULL) == SR_OK);
    CHECK_EQ_INT(s.len, 90); /* 9 batches of 10 */
    double w[6], tot = 0;
    for (int i = 0; i < 6; i++)
        tot += w[i] = sup[i] ? pow((double)sup[i], 0.75) : 0;
    int cnt[6] = {0};
    const int draws = 300000;
    for (int d = 0; d < draws; d++)
        cnt[sr_sampler_draw(&s)]++;
    CHECK_EQ_INT(cnt[2], 0);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR((double)cnt[i] / draws, w[i] / tot, 0.004);
    /* the store is handed out batch by batch and redrawn when used up */
    const int32_t *b0 = sr_sampler_next(&s);
    int32_t first[10];
    memcpy(first, b0, sizeof first);
    for (int k = 1; k < 9; k++)
        CHECK(sr_sampler_next(&s) == b0 + 10 * k);
    CHECK(sr_sampler_next(&s) == b0);              /* refilled in place */
    CHECK(memcmp(first, b0, sizeof first) != 0);  /* with new draws */
    sr_sampler_free(&s);
    /* deterministic from the seed */
    sr_sampler a, b;
    sr_sampler_init(&a, sup, 6, 0.75, 10, 100, 99, NULL);
    sr_sampler_init(&b, sup, 6, 0.75, 10, 100, 99, NULL);
    CHECK(!memcmp(sr_sampler_next(&a), sr_sampler_next(&b), 10 * sizeof(int32_t)));
    sr_sampler_free(&a);
    sr_sampler_free(&b);
    /* drawing ahead (a little, a lot, before the first batch) hands out the
     * very same batches over several rounds of the store */
    sr_sampler_init(&a, sup, 6, 0.75, 10, 50, 5, NULL);
    sr_sampler_init(&b, sup, 6, 0.75, 10, 50, 5, NULL);
    sr_sampler_fill_ahead(&b, 7);
    int same = 1;
    for (int k = 0; k < 23; k++) {
        const int32_t *x = sr_sampler_next(&a), *y = sr_sampler_next(&b);
        same &= !memcmp(x, y, 10 * sizeof(int32_t));
        int32_t keep[10];
        memcpy(keep, y, sizeof keep);
        sr_sampler_fill_ahead(&b, k % 3 == 0 ? 3 : 1000);
        same &= !memcmp(keep, y, sizeof keep); /* the batch in use is never overwritten */
    }
    CHECK(same);
    sr_sampler_free(&a);
    sr_sampler_free(&b);
    const int64_t zero[3] = {0, 0, 0};
    CHECK(sr_sampler_init(&a, zero, 3, 0.75, 2, 10, 1, NULL) == SR_ERR_ARG);
    sr_sampler_free(&a);
}

/* Every mode and loss learns "next item = this item + 1". */
static void test_learns_successor(void)
{
    const int64_t N = 24;
    for (int mode = 0; mode < 3; mode++)
        for (int loss = 0; loss < 3; loss++)
            for (int adam = 0; adam < 2; adam++) {
                sr_gru_params p = small_params(mode, (sr_loss)loss);
                p.layers[0] = 16;
                p.embedding = mode == 1 ? 8 : 0;
                p.batch_size = 8;
                p.momentum = 0;
                if (adam) {
                    p.optim = SR_OPT_ADAM;
                    p.learning_rate = 0.02f;
                }
                int64_t *sup = flat_support(N);
                sr_gru *g = NULL;
                CHECK(sr_gru_new(&g, &p, N, sup, NULL) == SR_OK);
                int32_t in[8], out[8];
                double first = 0, last = 0;
                for (int s = 0; s < 600; s++) {
                    pattern_batch(s, 8, N, in, out);
                    for (int i = 0; i < 8; i++) /* sessions of two clicks */
                        sr_gru_reset_row(g, i);
                    double l = sr_gru_train_step(g, in, out, 8);
                    if (s < 20)
                        first += l;
                    if (s >= 580)
                        last += l;
                }
                /* predict from a fresh state */
                int S = sr_gru_state_size(g), hits = 0;
                float *h = calloc((size_t)N * S, sizeof *h), *sc = malloc((size_t)N * N * 4);
                float *work = malloc(sr_gru_infer_work_size(g, (int)N) * sizeof *work);
                int32_t items[64];
                for (int i = 0; i < N; i++)
                    items[i] = i;
                sr_gru_infer_step(g, h, items, (int)N, sc, work);
                for (int i = 0; i < N; i++) {
                    int best = 0;
                    for (int j = 1; j < N; j++)
                        best = sc[i * N + j] > sc[i * N + best] ? j : best;
                    hits += best == (i + 1) % N;
                }
                CHECK_MSG(last < 0.7 * first && hits >= N - 2,
                          "mode %d loss %d adam %d: loss %.4f -> %.4f, %d/%lld top-1 hits", mode,
                          loss, adam, first / 20, last / 20, hits, (long long)N);
                free(h);
                free(sc);
                free(work);
                sr_gru_free(g);
                free(sup);
            }
}

/* Inference runs the same forward as training (dropout off). */
static void test_infer_matches_train_forward(void)
{
    for (int mode = 0; mode < 3; mode++) {
        sr_gru_params p = small_params(mode, SR_LOSS_XE);
        p.n_layers = 2;
        p.layers[1] = 3;
        int64_t *sup = flat_support(15);
        sr_gru *g = NULL;
        sr_gru_new(&g, &p, 15, sup, NULL);
        int S = sr_gru_state_size(g);
        CHECK_EQ_INT(S, 9);
        const int32_t in[4] = {1, 5, 9, 14}, out[4] = {2, 3, 4, 0};
        float h[4 * 9] = {0}, work[4096];
        CHECK(sr_gru_infer_work_size(g, 4) <= 4096);
        sr_gru_grad_step(g, in, out, 4); /* no update */
        sr_gru_infer_step(g, h, in, 4, NULL, work);
        const float *st = sr_gru_train_state(g);
        double e = 0;
        for (int i = 0; i < 4 * S; i++)
            e = fmax(e, fabs(st[i] - h[i]));
        CHECK_MSG(e < 1e-6, "mode %d: train and infer states differ by %g", mode, e);
        sr_gru_free(g);
        free(sup);
    }
}

static sr_model *trained_model(int mode, sr_loss loss, int64_t N)
{
    sr_gru_params p = small_params(mode, loss);
    p.n_layers = 2;
    p.layers[1] = 5;
    int64_t *sup = flat_support(N);
    sr_gru *g = NULL;
    sr_gru_new(&g, &p, N, sup, NULL);
    train_some(g, 30, N);
    free(sup);
    int64_t *ids = malloc((size_t)N * sizeof *ids);
    for (int64_t i = 0; i < N; i++)
        ids[i] = 1000 + 3 * i;
    sr_model *m = sr_gru_to_model(g, ids);
    free(ids);
    return m;
}

static void test_scorer_reset_step_move(void)
{
    const int64_t N = 17;
    sr_model *m = trained_model(2, SR_LOSS_XE, N);
    CHECK(m && !strcmp(sr_model_algo(m), "gru4rec"));
    CHECK_EQ_INT(sr_model_item_index(m, 1000 + 3 * 5), 5);
    sr_scorer *a = sr_scorer_new(m, 3), *b = sr_scorer_new(m, 1);
    float sa[3 * 17], sb[17];
    /* a: slot 0 session (1, 2), slot 1 session (7, 8); then slot 1 moves to 0 */
    int32_t x[3] = {1, 7, 0};
    sr_scorer_step(a, x, 2, sa);
    int32_t y[2] = {2, 8};
    sr_scorer_step(a, y, 2, sa);
    sr_scorer_move(a, 0, 1);
    int32_t z = 9;
    sr_scorer_step(a, &z, 1, sa);
    /* b: session (7, 8, 9) alone */
    int32_t s1 = 7, s2 = 8;
    sr_scorer_step(b, &s1, 1, sb);
    sr_scorer_step(b, &s2, 1, sb);
    sr_scorer_step(b, &z, 1, sb);
    CHECK(!memcmp(sa, sb, sizeof sb));
    /* clicks fed without scores (NULL) carry the state all the same */
    float sc[17];
    sr_scorer_reset(a, 0);
    sr_scorer_step(a, &s1, 1, NULL);
    sr_scorer_step(a, &s2, 1, NULL);
    sr_scorer_step(a, &z, 1, sc);
    CHECK(!memcmp(sc, sb, sizeof sb));
    /* reset gives a fresh session */
    sr_scorer_reset(a, 0);
    sr_scorer_reset(b, 0);
    sr_scorer_step(a, &s1, 1, sa);
    sr_scorer_step(b, &s1, 1, sb);
    CHECK(!memcmp(sa, sb, sizeof sb));
    sr_scorer_free(a);
    sr_scorer_free(b);
    sr_model_free(m);
}

/* Scores of a short session through a model. */
static void session_scores(const sr_model *m, float *out)
{
    sr_scorer *s = sr_scorer_new(m, 2);
    int32_t a[2] = {3, 4}, b[2] = {5, 0};
    sr_scorer_step(s, a, 2, out);
    sr_scorer_step(s, b, 2, out);
    sr_scorer_free(s);
}

/* A view scores like the owned model and leaves the network alive. */
static void test_model_view(void)
{
    sr_gru_params p = small_params(2, SR_LOSS_XE);
    int64_t *sup = flat_support(11), ids[11];
    for (int i = 0; i < 11; i++)
        ids[i] = 50 + i;
    sr_gru *g = NULL;
    sr_gru_new(&g, &p, 11, sup, NULL);
    train_some(g, 10, 11);
    sr_model *v = sr_gru_model_view(g, ids);
    CHECK(v && !strcmp(sr_model_algo(v), "gru4rec") && sr_model_item_index(v, 53) == 3);
    float a[2 * 11], b[2 * 11];
    session_scores(v, a);
    sr_model_free(v);
    train_some(g, 10, 11); /* still usable */
    sr_model *m = sr_gru_to_model(g, ids);
    session_scores(m, b);
    CHECK(memcmp(a, b, sizeof a) != 0); /* trained further */
    sr_model *v2 = sr_gru_model_view(m->impl, ids);
    session_scores(v2, a);
    CHECK(!memcmp(a, b, sizeof a));
    sr_model_free(v2);
    sr_model_free(m);
    free(sup);
}

static sr_status load_payload(const sr_model *like, const uint8_t *p, size_t len)
{
    sr_model *m = sr_model_new_shell(&sr_gru4rec_vt, like->n_items, like->item_ids);
    sr_error err;
    err.msg[0] = 0;
    sr_status st = sr_gru4rec_vt.deserialize(m, p, len, &err);
    if (st != SR_OK)
        CHECK(err.msg[0] != 0);
    sr_model_free(m);
    return st;
}

static void test_payload_round_trip_and_rejects(void)
{
    const int64_t N = 13;
    for (int mode = 0; mode < 3; mode++) {
        sr_model *m = trained_model(mode, mode == 1 ? SR_LOSS_BPR_MAX : SR_LOSS_XE, N);
        sr_buf b = {0};
        CHECK(sr_gru4rec_vt.serialize(m, &b) == SR_OK);
        sr_model *m2 = sr_model_new_shell(&sr_gru4rec_vt, N, m->item_ids);
        sr_error err;
        CHECK(sr_gru4rec_vt.deserialize(m2, b.data, b.len, &err) == SR_OK);
        float s1[2 * 13], s2[2 * 13];
        session_scores(m, s1);
        session_scores(m2, s2);
        CHECK(!memcmp(s1, s2, sizeof s1));
        const sr_gru_params *p1 = sr_gru_params_of(m->impl), *p2 = sr_gru_params_of(m2->impl);
        CHECK(!memcmp(p1, p2, sizeof *p1));
        sr_model_free(m2);

        /* every truncation is rejected */
        int bad = 0;
        for (size_t len = 0; len < b.len; len++)
            bad += load_payload(m, b.data, len) != SR_ERR_FORMAT;
        CHECK_EQ_INT(bad, 0);
        /* trailing bytes */
        uint8_t *c = malloc(b.len + 4);
        memcpy(c, b.data, b.len);
        memset(c + b.len, 0, 4);
        CHECK(load_payload(m, c, b.len + 4) == SR_ERR_FORMAT);
        /* header fields: magic, version, layer count, a layer size, loss code */
        const size_t hdr[] = {0, 4, 8, 12, 28};
        for (size_t k = 0; k < sizeof hdr / sizeof hdr[0]; k++) {
            memcpy(c, b.data, b.len);
            c[hdr[k]] ^= 0x5a;
            CHECK_MSG(load_payload(m, c, b.len) == SR_ERR_FORMAT, "byte %zu", hdr[k]);
        }
        /* a NaN in the last weight */
        memcpy(c, b.data, b.len);
        const uint8_t nan_bytes[4] = {0x00, 0x00, 0xc0, 0x7f};
        memcpy(c + b.len - 4, nan_bytes, 4);
        CHECK(load_payload(m, c, b.len) == SR_ERR_FORMAT);
        /* any single corrupted byte: accepted or rejected, never a crash */
        sr_rng r;
        sr_rng_seed(&r, 5);
        for (int k = 0; k < 300; k++) {
            memcpy(c, b.data, b.len);
            c[sr_rng_next(&r) % b.len] = (uint8_t)sr_rng_next(&r);
            sr_status st = load_payload(m, c, b.len);
            CHECK(st == SR_OK || st == SR_ERR_FORMAT);
        }
        /* another item count than the model's table */
        sr_model *m3 = sr_model_new_shell(&sr_gru4rec_vt, N - 1, m->item_ids);
        CHECK(sr_gru4rec_vt.deserialize(m3, b.data, b.len, &err) == SR_ERR_FORMAT);
        sr_model_free(m3);
        free(c);
        sr_buf_free(&b);
        sr_model_free(m);
    }
}

int main(void)
{
    RUN(test_params_rejected);
    RUN(test_sparse_adagrad_rows);
    RUN(test_nan_on_divergence);
    RUN(test_same_seed_bit_identical);
    RUN(test_threads_deterministic);
    RUN(test_sampler_distribution);
    RUN(test_learns_successor);
    RUN(test_infer_matches_train_forward);
    RUN(test_scorer_reset_step_move);
    RUN(test_model_view);
    RUN(test_payload_round_trip_and_rejects);
    return test_summary();
}
