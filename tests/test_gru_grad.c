/*
 * test_gru_grad.c - finite-difference gradient checks of the GRU4Rec step.
 *
 * The kernels exist in double (grk_*_d, the same source as the float ones), so
 * the checks run on the production code path: for every input mode (one-hot,
 * embedding, constrained), 1 and 2 layers, and every loss (cross-entropy with
 * and without logq, bpr-max with and without ELU/bpreg, full cross-entropy),
 *   1. a float network (sr_gru) takes steps with fixed negatives; the double
 *      mirror repeats each step with the very same plan (samples, unique rows,
 *      dropout masks) and hidden states;
 *   2. the double analytic gradient of EVERY parameter tensor, every element,
 *      is checked against central differences of the double loss;
 *   3. the float gradients (sr_tensor.grad) are checked against the double ones.
 * Steps checked: one after a mid-batch session reset (row 1 zeroed, the others
 * carrying state) and one on a shrunk batch (keep_rows, n < batch_size).
 * The float network also runs with a team of 2 and 3 threads (the step's
 * output layer split into slices of rows and columns, some of them empty).
 */
#include "test.h"
#include "gru4rec/gru4rec.h"
#include "gru4rec/gru_kernels.h"
#include "gru4rec/loss.h"

#include <stdlib.h>
#include <string.h>

#define NI 9       /* items */
#define BS 4       /* batch size */
#define NS 5       /* extra negatives */

enum { L_XE, L_XE_LOGQ, L_BPR, L_BPR_ELU, L_FULL, N_LOSS };
static const char *loss_name[] = {"xe", "xe+logq", "bpr-max", "bpr-max+elu", "full-xe"};
static const char *mode_name[] = {"one-hot", "embedding", "constrained"};

static const int64_t support[NI] = {7, 1, 3, 12, 2, 5, 9, 4, 6};

typedef struct cfg {
    int mode, layers, loss, n_sample;
    float p_embed, p_hidden;
    int threads;               /* training threads of the float network (0: 1) */
} cfg;

static sr_gru_params make_params(const cfg *c)
{
    sr_gru_params p;
    memset(&p, 0, sizeof p);
    p.n_layers = c->layers;
    p.layers[0] = 4;
    p.layers[1] = 3;
    p.embedding = c->mode == GRK_EMBED ? 3 : 0;
    p.constrained_embedding = c->mode == GRK_CONSTRAINED;
    p.loss = c->loss == L_FULL ? SR_LOSS_FULL_XE
             : c->loss == L_BPR || c->loss == L_BPR_ELU ? SR_LOSS_BPR_MAX
                                                       : SR_LOSS_XE;
    p.optim = SR_OPT_ADAGRAD;
    p.batch_size = BS;
    p.dropout_p_embed = c->p_embed;
    p.dropout_p_hidden = c->p_hidden;
    p.learning_rate = 0.1f;
    p.adam_beta1 = 0.9f;
    p.adam_beta2 = 0.999f;
    p.adam_eps = 1e-8f;
    p.n_sample = c->n_sample;
    p.sample_alpha = 0.75f;
    p.sample_store = 100;
    p.logq = c->loss == L_XE_LOGQ ? 1.0f : 0.0f;
    p.bpreg = c->loss == L_BPR_ELU ? 0.7f : 0.0f;
    p.elu_param = c->loss == L_BPR_ELU ? 0.5f : 0.0f;
    p.n_epochs = 1;
    p.seed = 11;
    return p;
}

/* The double mirror of a float network. */
typedef struct dnet {
    grk_net_d net;
    int nt;
    double *w[16];            /* tensors, sr_gru_tensors order */
    double *gd[16];           /* dense gradients, same order */
    int64_t n[16];
    char name[16][8];
    double logsup[NI];
    double *ws_mem, *gc_mem, *gd_mem, *hp, *hn, *scratch;
    grk_ws_d ws;
    grk_grads_d gc, gdense;
} dnet;

static double **slot(grk_net_d *net, const char *name)
{
    int l = name[2] ? name[2] - '0' : 0;
    if (!strcmp(name, "E")) return &net->E;
    if (!strcmp(name, "Wy")) return &net->Wy;
    if (!strcmp(name, "By")) return &net->By;
    if (!strncmp(name, "Wx", 2)) return &net->Wx[l];
    if (!strncmp(name, "Wh", 2)) return &net->Wh[l];
    if (!strncmp(name, "bx", 2)) return &net->bx[l];
    return &net->bh[l];
}

static double **gslot(grk_grads_d *g, const char *name)
{
    int l = name[2] ? name[2] - '0' : 0;
    if (!strcmp(name, "E")) return &g->E;
    if (!strcmp(name, "Wy")) return &g->Wy;
    if (!strcmp(name, "By")) return &g->By;
    if (!strncmp(name, "Wx", 2)) return &g->Wx[l];
    if (!strncmp(name, "Wh", 2)) return &g->Wh[l];
    if (!strncmp(name, "bx", 2)) return &g->bx[l];
    return &g->bh[l];
}

static void dnet_init(dnet *d, sr_gru *g)
{
    memset(d, 0, sizeof *d);
    const grk_net_f *f = sr_gru_net(g);
    const grk_shape *sh = &f->sh;
    d->net.sh = *sh;
    d->net.loss = f->loss;
    d->net.logq = f->logq;
    d->net.alpha = f->alpha;
    d->net.bpreg = f->bpreg;
    d->net.elu = f->elu;
    for (int i = 0; i < NI; i++)
        d->logsup[i] = log((double)support[i]);
    d->net.logsup = d->logsup;
    sr_tensor t[16];
    d->nt = sr_gru_tensors(g, t, 16);
    d->ws_mem = calloc(grk_ws_count_d(sh), sizeof(double));
    d->gc_mem = calloc(grk_grads_count_d(sh), sizeof(double));
    d->gd_mem = calloc(grk_grads_dense_count(sh), sizeof(double));
    d->hp = calloc((size_t)sh->Bmax * sh->S, sizeof(double));
    d->hn = calloc((size_t)sh->Bmax * sh->S, sizeof(double));
    d->scratch = calloc((size_t)sh->Bmax * sh->S, sizeof(double));
    grk_ws_carve_d(&d->ws, sh, d->ws_mem);
    grk_grads_carve_d(&d->gc, sh, d->gc_mem);
    grk_grads_dense_carve_d(&d->gdense, sh, d->gd_mem);
    for (int i = 0; i < d->nt; i++) {
        d->n[i] = t[i].rows * t[i].cols;
        snprintf(d->name[i], sizeof d->name[i], "%s", t[i].name);
        d->w[i] = malloc((size_t)d->n[i] * sizeof(double));
        for (int64_t j = 0; j < d->n[i]; j++)
            d->w[i][j] = t[i].data[j];
        *slot(&d->net, t[i].name) = d->w[i];
        d->gd[i] = *gslot(&d->gdense, t[i].name);
    }
}

static void dnet_free(dnet *d)
{
    for (int i = 0; i < d->nt; i++)
        free(d->w[i]);
    free(d->ws_mem);
    free(d->gc_mem);
    free(d->gd_mem);
    free(d->hp);
    free(d->hn);
    free(d->scratch);
}

/* The double step with the float network's last plan: loss, dense gradients,
 * and the new state copied into hp (rows 0..B-1). */
static double dnet_step(dnet *d, const grk_plan *pl)
{
    double loss = grk_step_d(&d->net, pl, d->hp, d->hn, &d->ws, &d->gc);
    grk_grads_expand_d(&d->gdense, &d->gc, &d->net.sh, pl);
    memcpy(d->hp, d->hn, (size_t)pl->B * d->net.sh.S * sizeof(double));
    return loss;
}

static double dnet_loss(dnet *d, const grk_plan *pl)
{
    return grk_step_d(&d->net, pl, d->hp, d->scratch, &d->ws, NULL);
}

/* Central differences of every element of every tensor against the analytic
 * double gradient; float gradients against the double ones. */
static void check_step(dnet *d, sr_gru *g, const grk_plan *pl, double lf, const char *what)
{
    double ld = dnet_loss(d, pl);
    CHECK_MSG(fabs(lf - ld) <= 1e-5 * fabs(ld) + 1e-6, "%s: float loss %.9g, double %.9g", what,
              lf, ld);
    /* analytic double gradients at this point (without advancing the state) */
    double keep_hp[64];
    memcpy(keep_hp, d->hp, (size_t)pl->B * d->net.sh.S * sizeof(double));
    grk_step_d(&d->net, pl, d->hp, d->scratch, &d->ws, &d->gc);
    grk_grads_expand_d(&d->gdense, &d->gc, &d->net.sh, pl);
    sr_tensor t[16];
    sr_gru_tensors(g, t, 16);
    const double h = 1e-5;
    int checked = 0;
    for (int i = 0; i < d->nt; i++) {
        double gmax = 0, fmaxerr = 0;
        for (int64_t j = 0; j < d->n[i]; j++) {
            double w0 = d->w[i][j];
            d->w[i][j] = w0 + h;
            double lp = dnet_loss(d, pl);
            d->w[i][j] = w0 - h;
            double lm = dnet_loss(d, pl);
            d->w[i][j] = w0;
            double fd = (lp - lm) / (2 * h), an = d->gd[i][j];
            CHECK_MSG(fabs(fd - an) <= 2e-7 + 1e-6 * fabs(an),
                      "%s: d%s[%lld]: finite difference %.10g, analytic %.10g", what, d->name[i],
                      (long long)j, fd, an);
            gmax = fmax(gmax, fabs(an));
            fmaxerr = fmax(fmaxerr, fabs((double)t[i].grad[j] - an));
            checked++;
        }
        CHECK_MSG(fmaxerr <= 2e-4 * gmax + 1e-6, "%s: float d%s off by %.3g (max |grad| %.3g)",
                  what, d->name[i], fmaxerr, gmax);
        /* every tensor takes part in the step, so none may have a zero gradient */
        CHECK_MSG(gmax > 1e-6, "%s: d%s is all zero", what, d->name[i]);
    }
    CHECK(checked > 100);
    memcpy(d->hp, keep_hp, (size_t)pl->B * d->net.sh.S * sizeof(double));
}

/* Random weights (biases too, unlike the official init, so every path counts). */
static void randomize(sr_gru *g, uint64_t seed)
{
    sr_rng r;
    sr_rng_seed(&r, seed);
    sr_tensor t[16];
    int nt = sr_gru_tensors(g, t, 16);
    for (int i = 0; i < nt; i++)
        for (int64_t j = 0; j < t[i].rows * t[i].cols; j++)
            t[i].data[j] = (float)(1.6 * sr_rng_uniform(&r) - 0.8);
}

static void run_cfg(const cfg *c)
{
    char what[128];
    snprintf(what, sizeof what, "%s, %d layer(s), %s, n_sample %d, dropout %g/%g, %d thread(s)",
             mode_name[c->mode], c->layers, loss_name[c->loss], c->n_sample,
             (double)c->p_embed, (double)c->p_hidden, c->threads > 1 ? c->threads : 1);
    sr_gru_params p = make_params(c);
    sr_gru *g = NULL;
    sr_error err;
    sr_status st = sr_gru_new(&g, &p, NI, support, &err);
    CHECK_MSG(st == SR_OK, "%s: %s", what, err.msg);
    if (st != SR_OK)
        return;
    CHECK(sr_gru_dense_grads(g) == SR_OK);
    CHECK(sr_gru_set_threads(g, c->threads > 1 ? c->threads : 1, &err) == SR_OK);
    if (c->n_sample && c->loss != L_FULL) {
        /* duplicates among the samples and with the targets */
        const int32_t smp[NS] = {2, 5, 2, 8, 0};
        CHECK(sr_gru_fix_samples(g, smp) == SR_OK);
    }
    randomize(g, 99 + (uint64_t)c->mode * 7 + (uint64_t)c->layers);
    dnet d;
    dnet_init(&d, g);

    const int32_t in1[BS] = {1, 2, 3, 4}, out1[BS] = {3, 3, 6, 0};
    const int32_t in2[BS] = {3, 3, 6, 0}, out2[BS] = {5, 1, 5, 7};
    const int32_t in3[3] = {5, 5, 7}, out3[3] = {2, 8, 1};
    double lf = sr_gru_grad_step(g, in1, out1, BS);
    double ld = dnet_step(&d, sr_gru_last_plan(g));
    CHECK_MSG(fabs(lf - ld) <= 1e-5 * fabs(ld), "%s: step 1 loss %.9g vs %.9g", what, lf, ld);

    /* a new session starts in row 1; the other rows carry their state */
    sr_gru_reset_row(g, 1);
    memset(d.hp + d.net.sh.S, 0, (size_t)d.net.sh.S * sizeof(double));
    char w2[160];
    lf = sr_gru_grad_step(g, in2, out2, BS);
    snprintf(w2, sizeof w2, "%s, after reset", what);
    check_step(&d, g, sr_gru_last_plan(g), lf, w2);
    dnet_step(&d, sr_gru_last_plan(g));

    /* the batch shrinks to rows 0, 2, 3 */
    const int keep[3] = {0, 2, 3};
    sr_gru_keep_rows(g, keep, 3);
    for (int i = 0; i < 3; i++)
        memmove(d.hp + (size_t)i * d.net.sh.S, d.hp + (size_t)keep[i] * d.net.sh.S,
                (size_t)d.net.sh.S * sizeof(double));
    lf = sr_gru_grad_step(g, in3, out3, 3);
    snprintf(w2, sizeof w2, "%s, shrunk batch", what);
    check_step(&d, g, sr_gru_last_plan(g), lf, w2);

    dnet_free(&d);
    sr_gru_free(g);
}

static void test_grad_every_mode_loss_layers(void)
{
    for (int mode = 0; mode < 3; mode++)
        for (int layers = 1; layers <= 2; layers++)
            for (int loss = 0; loss < N_LOSS; loss++)
                for (int th = 1; th <= 3; th++) {
                    cfg c = {mode, layers, loss, NS, 0, 0, th};
                    run_cfg(&c);
                }
}

static void test_grad_in_batch_negatives_only(void)
{
    for (int mode = 0; mode < 3; mode++) {
        cfg a = {mode, 2, L_XE, 0, 0, 0, 1};
        run_cfg(&a);
        cfg b = {mode, 1, L_BPR_ELU, 0, 0, 0, 2};
        run_cfg(&b);
    }
}

/* With dropout the step is still a deterministic function of the weights
 * given its masks (the plan): check it too. */
static void test_grad_with_dropout_masks(void)
{
    for (int mode = 0; mode < 3; mode++) {
        cfg c = {mode, 2, L_XE_LOGQ, NS, 0.3f, 0.25f, 1};
        run_cfg(&c);
        c.threads = 2;
        run_cfg(&c);
    }
}

/* The loss kernels alone, on a hand-checkable case. */
static void test_loss_values(void)
{
    /* xe: one row, scores (0, ln 3) -> p = (1/4, 3/4); loss = -log(1/4) */
    double R[2] = {0, log(3.0)};
    double l = sr_loss_xe_d(R, 1, 2, NULL, NULL, 1.0);
    CHECK_NEAR(l, log(4.0), 1e-12);
    CHECK_NEAR(R[0], 0.25 - 1, 1e-12);
    CHECK_NEAR(R[1], 0.75, 1e-12);
    /* logq: subtracting off = (0, ln 3) makes the row uniform */
    double R2[2] = {0, log(3.0)}, off[2] = {0, log(3.0)};
    CHECK_NEAR(sr_loss_xe_d(R2, 1, 2, NULL, off, 1.0), log(2.0), 1e-12);
    /* bpr-max, one negative: w = 1, loss = -log(sigmoid(s_pos - s_neg)) */
    double R3[4] = {2, 0.5, 1, -1}, tmp[8];
    double lb = sr_loss_bprmax_d(R3, 2, 2, 0, 0, 1.0, tmp);
    CHECK_NEAR(lb, -log(1 / (1 + exp(-1.5))) - log(1 / (1 + exp(-(-1 - 1)))), 1e-12);
    /* a non-finite score gives NaN */
    float Rf[2] = {0, INFINITY};
    CHECK(isnan(sr_loss_xe_f(Rf, 1, 2, NULL, NULL, 1.0f)));
    float Rg[3] = {0, NAN, 1}, tf[12];
    CHECK(isnan(sr_loss_bprmax_f(Rg, 1, 3, 0.5f, 0, 1.0f, tf)));
}

int main(void)
{
    RUN(test_loss_values);
    RUN(test_grad_every_mode_loss_layers);
    RUN(test_grad_in_batch_negatives_only);
    RUN(test_grad_with_dropout_masks);
    return test_summary();
}
