/*
 * test_gru_torch.c - sessrec's GRU4Rec against a PyTorch reference, tensor by
 * tensor. tests/fixtures/gru_ref.bin is written by scripts/torch_ref.py (how
 * to regenerate it: see the top of that script; CI only reads the committed
 * file). For each tiny model there (every input mode, 1 and 2 layers, every
 * loss, with and without extra negatives) this test loads the same weights and
 * negatives and checks:
 *   - the scores of step 1 (computed through sr_gru_infer_step),
 *   - the loss of each of 3 steps (step 2 after a session reset in row 1,
 *     step 3 on a batch shrunk to rows 0 and 2),
 *   - the gradient of every tensor at step 1,
 *   - every parameter after 3 Adagrad(+momentum) steps and after 3 Adam steps.
 */
#include "test.h"
#include "gru4rec/gru4rec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE "tests/fixtures/gru_ref.bin"
#define N_ITEMS 12
#define BATCH 3

typedef struct rec {
    char name[64];
    int kind;          /* 0 float32, 1 int32 */
    uint32_t n;
    const uint8_t *data;
} rec;

static uint8_t *blob;
static rec *recs;
static int n_recs;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int load_fixture(void)
{
    FILE *f = fopen(FIXTURE, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    blob = malloc((size_t)len);
    if (!blob || fread(blob, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        return 0;
    }
    fclose(f);
    if (len < 12 || memcmp(blob, "SRGR", 4) || le32(blob + 4) != 1)
        return 0;
    uint32_t n = le32(blob + 8);
    recs = calloc(n, sizeof *recs);
    size_t off = 12;
    for (uint32_t i = 0; i < n; i++) {
        if (off + 2 > (size_t)len)
            return 0;
        size_t nl = (size_t)blob[off] | (size_t)blob[off + 1] << 8;
        off += 2;
        if (nl >= sizeof recs[i].name || off + nl + 5 > (size_t)len)
            return 0;
        memcpy(recs[i].name, blob + off, nl);
        off += nl;
        recs[i].kind = blob[off];
        recs[i].n = le32(blob + off + 1);
        off += 5;
        if (off + 4 * (size_t)recs[i].n > (size_t)len)
            return 0;
        recs[i].data = blob + off;
        off += 4 * (size_t)recs[i].n;
    }
    n_recs = (int)n;
    return off == (size_t)len;
}

static const rec *find(const char *fmt, int k, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, fmt, k, name);
    for (int i = 0; i < n_recs; i++)
        if (!strcmp(recs[i].name, key))
            return &recs[i];
    return NULL;
}

static float fval(const rec *r, uint32_t i)
{
    uint32_t u = le32(r->data + 4 * i);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int32_t ival(const rec *r, uint32_t i) { return (int32_t)le32(r->data + 4 * i); }

static void ints(const rec *r, int32_t *out, uint32_t max)
{
    for (uint32_t i = 0; i < r->n && i < max; i++)
        out[i] = ival(r, i);
}

/* |a - ref| <= tol * max|ref| + 1e-7 element-wise; reports the worst element */
static void compare(const char *what, int k, const char *name, const float *a, const rec *ref,
                    int64_t n, double tol)
{
    CHECK_MSG(ref && (int64_t)ref->n == n, "case %d: %s %s: reference missing or size %lld",
              k, what, name, ref ? (long long)ref->n : -1LL);
    if (!ref || (int64_t)ref->n != n)
        return;
    double mx = 0, worst = 0;
    int64_t wi = 0;
    for (int64_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(fval(ref, (uint32_t)i)));
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - fval(ref, (uint32_t)i));
        if (e > worst)
            worst = e, wi = i;
    }
    CHECK_MSG(worst <= tol * mx + 1e-7,
              "case %d: %s %s[%lld]: %.8g vs PyTorch %.8g (max |ref| %.3g)", k, what, name,
              (long long)wi, (double)a[wi], (double)fval(ref, (uint32_t)wi), mx);
}

typedef struct kase {
    int mode, n_layers, h0, h1, loss, n_sample, embedding;
    float logq, bpreg, elu, momentum, alpha, lr_ada, lr_adam;
} kase;

static sr_gru *make_net(const kase *c, int adam, int k)
{
    sr_gru_params p;
    memset(&p, 0, sizeof p);
    p.n_layers = c->n_layers;
    p.layers[0] = c->h0;
    p.layers[1] = c->h1;
    p.embedding = c->mode == 1 ? c->embedding : 0;
    p.constrained_embedding = c->mode == 2;
    p.loss = (sr_loss)c->loss;
    p.optim = adam ? SR_OPT_ADAM : SR_OPT_ADAGRAD;
    p.batch_size = BATCH;
    p.learning_rate = adam ? c->lr_adam : c->lr_ada;
    p.momentum = adam ? 0 : c->momentum;
    p.adam_beta1 = 0.9f;
    p.adam_beta2 = 0.999f;
    p.adam_eps = 1e-8f;
    p.n_sample = c->n_sample;
    p.sample_alpha = c->alpha;
    p.sample_store = 64;
    p.logq = c->logq;
    p.bpreg = c->bpreg;
    p.elu_param = c->elu;
    p.n_epochs = 1;
    p.seed = 5;
    const rec *sup = find("%.0d%s", 0, "support");
    int64_t support[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++)
        support[i] = sup ? ival(sup, (uint32_t)i) : 1;
    sr_gru *g = NULL;
    sr_error err;
    if (sr_gru_new(&g, &p, N_ITEMS, support, &err) != SR_OK) {
        CHECK_MSG(0, "case %d: %s", k, err.msg);
        return NULL;
    }
    CHECK(sr_gru_dense_grads(g) == SR_OK);
    sr_tensor t[16];
    int nt = sr_gru_tensors(g, t, 16);
    for (int i = 0; i < nt; i++) {
        const rec *w = find("c%d.w.%s", k, t[i].name);
        CHECK_MSG(w && (int64_t)w->n == t[i].rows * t[i].cols, "case %d: weights of %s", k,
                  t[i].name);
        if (w && (int64_t)w->n == t[i].rows * t[i].cols)
            for (uint32_t j = 0; j < w->n; j++)
                t[i].data[j] = fval(w, j);
    }
    return g;
}

static int n_steps_rows[3] = {BATCH, BATCH, 2};

/* Runs the 3 steps; compares losses (and step-1 gradients when grads != 0). */
static void run_steps(sr_gru *g, int k, const kase *c, const char *opt, int grads)
{
    const rec *lref = find("c%d.%s", k, strcmp(opt, "ada") ? "adam.loss" : "ada.loss");
    for (int s = 0; s < 3; s++) {
        int32_t in[BATCH], out[BATCH], smp[8];
        char nm[16];
        snprintf(nm, sizeof nm, "in%d", s);
        ints(find("c%d.%s", k, nm), in, BATCH);
        snprintf(nm, sizeof nm, "out%d", s);
        ints(find("c%d.%s", k, nm), out, BATCH);
        if (c->n_sample && c->loss != SR_LOSS_FULL_XE) {
            snprintf(nm, sizeof nm, "smp%d", s);
            ints(find("c%d.%s", k, nm), smp, 8);
            sr_gru_fix_samples(g, smp);
        }
        if (s == 1)
            sr_gru_reset_row(g, 1);
        if (s == 2) {
            const int keep[2] = {0, 2};
            sr_gru_keep_rows(g, keep, 2);
        }
        double loss = sr_gru_train_step(g, in, out, n_steps_rows[s]);
        double ref = lref ? fval(lref, (uint32_t)s) : NAN;
        CHECK_MSG(fabs(loss - ref) <= 1e-5 * fabs(ref) + 1e-7,
                  "case %d: %s loss of step %d: %.8g vs PyTorch %.8g", k, opt, s + 1, loss, ref);
        if (s == 0 && grads) {
            sr_tensor t[16];
            int nt = sr_gru_tensors(g, t, 16);
            for (int i = 0; i < nt; i++)
                compare("gradient", k, t[i].name, t[i].grad, find("c%d.g.%s", k, t[i].name),
                        t[i].rows * t[i].cols, 1e-5);
        }
    }
    sr_tensor t[16];
    int nt = sr_gru_tensors(g, t, 16);
    char pre[32];
    snprintf(pre, sizeof pre, "c%%d.%s.%%s", opt);
    for (int i = 0; i < nt; i++)
        compare(opt, k, t[i].name, t[i].data, find(pre, k, t[i].name), t[i].rows * t[i].cols,
                1e-5);
}

static void check_scores(sr_gru *g, int k, const kase *c)
{
    int32_t in[BATCH], out[BATCH], smp[8];
    ints(find("c%d.%s", k, "in0"), in, BATCH);
    ints(find("c%d.%s", k, "out0"), out, BATCH);
    int S = sr_gru_state_size(g);
    float h[BATCH * 16] = {0}, scores[BATCH * N_ITEMS];
    float *work = malloc(sr_gru_infer_work_size(g, BATCH) * sizeof *work);
    sr_gru_infer_step(g, h, in, BATCH, scores, work);
    free(work);
    (void)S;
    int full = c->loss == SR_LOSS_FULL_XE;
    int C = full ? N_ITEMS : BATCH + c->n_sample;
    int32_t cols[N_ITEMS + BATCH + 8];
    for (int j = 0; j < C; j++)
        cols[j] = full ? j : j < BATCH ? out[j] : 0;
    if (!full && c->n_sample) {
        ints(find("c%d.%s", k, "smp0"), smp, 8);
        for (int j = 0; j < c->n_sample; j++)
            cols[BATCH + j] = smp[j];
    }
    float sel[BATCH * (N_ITEMS + BATCH + 8)];
    for (int i = 0; i < BATCH; i++)
        for (int j = 0; j < C; j++)
            sel[i * C + j] = scores[i * N_ITEMS + cols[j]];
    compare("scores", k, "R", sel, find("c%d.%s", k, "scores"), (int64_t)BATCH * C, 1e-5);
}

static void test_against_pytorch(void)
{
    if (!load_fixture()) {
        CHECK_MSG(0, "cannot read %s", FIXTURE);
        return;
    }
    const rec *nc = find("%.0d%s", 0, "n_cases");
    CHECK(nc && ival(nc, 0) >= 14);
    int n_cases = nc ? ival(nc, 0) : 0;
    int seen_mode[3] = {0}, seen_loss[3] = {0}, seen_2l = 0;
    for (int k = 0; k < n_cases; k++) {
        const rec *cfg = find("c%d.%s", k, "cfg"), *hy = find("c%d.%s", k, "hyper");
        CHECK(cfg && cfg->n == 7 && hy && hy->n == 7);
        if (!cfg || cfg->n != 7 || !hy || hy->n != 7)
            continue;
        kase c = {ival(cfg, 0), ival(cfg, 1), ival(cfg, 2), ival(cfg, 3), ival(cfg, 4),
                  ival(cfg, 5), ival(cfg, 6), fval(hy, 0), fval(hy, 1), fval(hy, 2),
                  fval(hy, 3), fval(hy, 4), fval(hy, 5), fval(hy, 6)};
        seen_mode[c.mode] = seen_loss[c.loss] = 1;
        seen_2l |= c.n_layers == 2;
        sr_gru *g = make_net(&c, 0, k);
        if (g) {
            check_scores(g, k, &c);
            run_steps(g, k, &c, "ada", 1);
            sr_gru_free(g);
        }
        g = make_net(&c, 1, k);
        if (g) {
            run_steps(g, k, &c, "adam", 0);
            sr_gru_free(g);
        }
    }
    CHECK(seen_mode[0] && seen_mode[1] && seen_mode[2]);
    CHECK(seen_loss[0] && seen_loss[1] && seen_loss[2] && seen_2l);
    free(recs);
    free(blob);
}

int main(void)
{
    RUN(test_against_pytorch);
    return test_summary();
}
