/*
 * gru4rec.c - the GRU4Rec network: parameter arena and initialisation,
 * optimizer state, the training step (negatives, dropout, kernels, sparse
 * optimizer update), inference, and the "gru4rec" model plug-in (scorer,
 * model-file payload). The math lives in gru_kernels.c / loss.c / optim.c.
 *
 * Must never print or exit; sr_gru_train_step and sr_gru_infer_step allocate
 * nothing (every buffer is sized in sr_gru_new / the scorer).
 */
#include "gru4rec/gru4rec.h"
#include "util/blas.h"
#include "gru4rec/gru_bound.h"
#include "gru4rec/gru_score.h"
#include "gru4rec/params.h"
#include "gru4rec/optim.h"
#include "gru4rec/sampler.h"
#include "gru4rec/pool.h"

#include <cblas.h>

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS (3 + 4 * SR_MAX_LAYERS)
#define ADAGRAD_EPS 1e-6f

/* How the optimizer reaches a tensor's rows. */
enum { TK_DENSE, TK_WY, TK_BY, TK_IN };

typedef struct gten {
    char name[8];
    float *w;                    /* (rows, cols) in the parameter arena */
    int64_t rows, cols;
    int kind;
    int role, layer;
    float sigma;                 /* init: uniform(-sigma, sigma); 0 = zeros */
    float *s1, *s2;              /* optimizer state: (acc, mom) or (m, v); s2 NULL if unused */
    float *grad;                 /* gradient of the last step: dense, or compact rows (tables) */
    float *dgrad;                /* dense_grads mode: full-size gradient, else NULL */
} gten;

/* A training state as model files carry it (resume, warm start): the
 * optimizer state, the RNG and sampler positions, the progress counters. */
typedef struct gru_tstate {
    sr_gru_progress pr;
    int64_t adam_t;
    sr_rng rng;                  /* dropout */
    int has_sampler;
    sr_rng smp_from, smp_now;    /* the sampler's store was drawn from smp_from */
    int64_t smp_pos;
    int per;                     /* optimizer values per parameter: 1 or 2 */
    float *opt;                  /* (n_params * per): per tensor, s1 then s2 */
} gru_tstate;

struct sr_gru {
    sr_gru_params p;
    grk_shape sh;
    grk_net_f net;
    int nt;
    gten t[MAX_TENSORS];
    float *params;               /* arena of every tensor */
    size_t n_params;

    /* ---- training only (NULL in a loaded / wrapped model) ---- */
    int training;
    float *opt;                  /* optimizer state arena */
    float *logsup;               /* (N) log(max(support, 1)) for logq */
    float *ws_mem, *gr_mem;
    grk_ws_f ws;
    grk_grads_f gr;
    int32_t *plan_buf, *marker;  /* marker: (N), all -1 between steps */
    grk_plan plan;
    float *state, *state_new;    /* (Bmax, S) */
    uint8_t *masks;              /* (Bmax, din + S) dropout keep flags */
    uint8_t *uin;                /* (Wy gradient rows) 1: the row is also an input row
                                    of this step (its update waits for the input gradient) */
    int32_t *defer;              /* (Bmax) Wy gradient rows updated after the step */
    int ndefer;
    sr_sampler smp;
    int32_t *fixed;              /* (nsmp) test hook: fixed negatives, or NULL */
    sr_rng rng;                  /* dropout */
    int64_t adam_t;
    int per;                     /* optimizer values per parameter (1 or 2) */
    float *dgrad_mem;            /* dense_grads mode */
    grk_grads_f dg;
    grk_pool *pool;              /* the team of a step (NULL: one thread) */

    /* ---- training state in model files ---- */
    int save_state;              /* training: files written from g carry its state */
    sr_gru_progress pr;          /* progress written with that state */
    gru_tstate *ts;              /* loaded from a model file, or NULL */

    /* ---- serving ---- */
    /* Wy in gru_score.c's panels, built on the first scoring by state of a
     * model that is not training, and shared by all its scorers (the model
     * stays logically immutable: the panels are a function of Wy) */
    void *_Atomic wyp;
    /* Wy's 8-bit sketch for score bounds (gru_bound.c), built like wyp (a
     * gru_bound.c sr_gru_sketch); sketch_failed: it cannot be (out of memory,
     * or weights not finite) */
    void *_Atomic sketch;
    atomic_int sketch_failed;
};

static int current_state(const sr_gru *g, gru_tstate *ts);

/* ---- parameters ------------------------------------------------------------------ */

/* The hyperparameters as params.c checks them for every user, plus the item
 * count this network can index. */
static sr_status check_params(const sr_gru_params *p, int64_t n_items, sr_error *err)
{
    sr_status st = sr_gru_params_check(p, err);
    if (st != SR_OK)
        return st;
    if (n_items < 1 || n_items >= INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "gru4rec: %lld items (1 to %d supported)",
                            (long long)n_items, INT32_MAX - 1);
    return SR_OK;
}

static int mode_of(const sr_gru_params *p)
{
    return p->constrained_embedding ? GRK_CONSTRAINED : p->embedding > 0 ? GRK_EMBED : GRK_ONEHOT;
}

/* The role of a tensor in the kernel view. */
enum { R_E, R_WX, R_WH, R_BX, R_BH, R_WY, R_BY };

static void add_tensor(sr_gru *g, const char *name, int role, int l, int64_t rows, int64_t cols,
                       int kind, double fan_in, double fan_out)
{
    gten *t = &g->t[g->nt++];
    if (role != R_E && role != R_WY && role != R_BY)
        snprintf(t->name, sizeof t->name, "%s%d", name, l);
    else
        snprintf(t->name, sizeof t->name, "%s", name);
    t->role = role;
    t->layer = l;
    t->rows = rows;
    t->cols = cols;
    t->kind = kind;
    t->sigma = fan_in > 0 ? (float)sqrt(6.0 / (fan_in + fan_out)) : 0;
    g->n_params += (size_t)(rows * cols);
}

/* Lays out the tensors (fixed order: E, per layer Wx Wh bx bh, Wy, By) and the
 * shape. Allocates nothing. */
static void layout(sr_gru *g, int64_t n_items)
{
    const sr_gru_params *p = &g->p;
    int mode = mode_of(p);
    grk_shape_init(&g->sh, mode, p->n_layers, p->layers, p->embedding, n_items,
                   p->loss == SR_LOSS_FULL_XE, p->batch_size, p->n_sample);
    const grk_shape *sh = &g->sh;
    int Hl = sh->H[sh->L - 1];
    double N = (double)n_items;
    g->nt = 0;
    g->n_params = 0;
    if (mode == GRK_EMBED)
        add_tensor(g, "E", R_E, 0, n_items, sh->din, TK_IN, N, sh->din);
    for (int l = 0; l < sh->L; l++) {
        int H = sh->H[l];
        int onehot0 = l == 0 && mode == GRK_ONEHOT;
        add_tensor(g, "Wx", R_WX, l, grk_in_dim(sh, l), 3 * H, onehot0 ? TK_IN : TK_DENSE,
                   (double)grk_in_dim(sh, l), H);
        add_tensor(g, "Wh", R_WH, l, H, 3 * H, TK_DENSE, H, H);
        add_tensor(g, "bx", R_BX, l, 1, 3 * H, TK_DENSE, 0, 0);
        if (!onehot0)
            add_tensor(g, "bh", R_BH, l, 1, 3 * H, TK_DENSE, 0, 0);
    }
    add_tensor(g, "Wy", R_WY, 0, n_items, Hl, TK_WY, N, Hl);
    add_tensor(g, "By", R_BY, 0, n_items, 1, TK_BY, 0, 0);
}

/* The slot of tensor t in a net or grads struct (same field names). */
#define ROLE_SLOT(s, t)                                                                  \
    ((t)->role == R_E    ? &(s)->E                                                       \
     : (t)->role == R_WY ? &(s)->Wy                                                      \
     : (t)->role == R_BY ? &(s)->By                                                      \
     : (t)->role == R_WX ? &(s)->Wx[(t)->layer]                                          \
     : (t)->role == R_WH ? &(s)->Wh[(t)->layer]                                          \
     : (t)->role == R_BX ? &(s)->bx[(t)->layer]                                          \
                         : &(s)->bh[(t)->layer])

/* Allocates the parameter arena (zeros) and points the kernel view at it. */
static sr_status alloc_params(sr_gru *g, sr_error *err)
{
    const sr_gru_params *p = &g->p;
    g->params = sr_alloc_big(g->n_params, sizeof *g->params, 1);
    if (!g->params)
        return sr_error_set(err, SR_ERR_NOMEM, "gru4rec: out of memory for %zu parameters",
                            g->n_params);
    grk_net_f *net = &g->net;
    memset(net, 0, sizeof *net);
    net->sh = g->sh;
    float *w = g->params;
    for (int i = 0; i < g->nt; i++) {
        gten *t = &g->t[i];
        t->w = w;
        w += t->rows * t->cols;
        *ROLE_SLOT(net, t) = t->w;
    }
    net->loss = p->loss;
    net->logq = p->loss == SR_LOSS_XE ? p->logq : 0;
    net->alpha = p->sample_alpha;
    net->bpreg = p->bpreg;
    net->elu = p->elu_param;
    return SR_OK;
}

static void init_weights(sr_gru *g)
{
    sr_rng r;
    sr_rng_seed(&r, g->p.seed);
    for (int i = 0; i < g->nt; i++) {
        gten *t = &g->t[i];
        size_t n = (size_t)(t->rows * t->cols);
        if (t->sigma > 0)
            for (size_t j = 0; j < n; j++)
                t->w[j] = (2 * sr_rng_uniformf(&r) - 1) * t->sigma;
    }
}

static void free_training(sr_gru *g)
{
    free(g->opt);
    free(g->logsup);
    free(g->ws_mem);
    free(g->gr_mem);
    free(g->plan_buf);
    free(g->marker);
    free(g->state);
    free(g->state_new);
    free(g->masks);
    free(g->uin);
    free(g->defer);
    free(g->fixed);
    free(g->dgrad_mem);
    sr_sampler_free(&g->smp);
    grk_pool_free(g->pool);
    g->pool = NULL;
    g->ws.pool = NULL;
    g->sh.T = 1;
    g->opt = g->logsup = g->ws_mem = g->gr_mem = g->state = g->state_new = g->dgrad_mem = NULL;
    g->plan_buf = g->marker = g->fixed = NULL;
    g->masks = NULL;
    g->uin = NULL;
    g->defer = NULL;
    for (int i = 0; i < g->nt; i++)
        g->t[i].s1 = g->t[i].s2 = g->t[i].grad = g->t[i].dgrad = NULL;
    g->training = 0;
}

static void tstate_free(gru_tstate *ts)
{
    if (ts)
        free(ts->opt);
    free(ts);
}

void sr_gru_free(sr_gru *g)
{
    if (!g)
        return;
    free_training(g);
    tstate_free(g->ts);
    free(atomic_load(&g->wyp));
    free(atomic_load(&g->sketch));
    free(g->params);
    free(g);
}

/* Points each tensor's grad (or dense grad) at its part of a grads struct. */
static void bind_grads(sr_gru *g, grk_grads_f *gr, int dense)
{
    for (int i = 0; i < g->nt; i++) {
        gten *t = &g->t[i];
        float *p = *ROLE_SLOT(gr, t);
        if (dense)
            t->dgrad = p;
        else
            t->grad = p;
    }
}

static sr_status alloc_training(sr_gru *g, const int64_t *support, sr_error *err)
{
    const sr_gru_params *p = &g->p;
    const grk_shape *sh = &g->sh;
    int64_t N = sh->N;
    int need_support = (!sh->full && sh->nsmp > 0) || g->net.logq > 0;
    if (need_support && !support)
        return sr_error_set(err, SR_ERR_ARG,
                            "gru4rec: item supports are needed for sampling and logq");
    size_t per = p->optim == SR_OPT_ADAM || p->momentum > 0 ? 2 : 1;
    g->per = (int)per;
    g->opt = sr_alloc_big(g->n_params * per + 1, sizeof *g->opt, 1);
    g->ws_mem = malloc((grk_ws_count_f(sh) + 1) * sizeof *g->ws_mem);
    g->gr_mem = malloc((grk_grads_count_f(sh) + 1) * sizeof *g->gr_mem);
    g->plan_buf = malloc((grk_plan_ints(sh) + 1) * sizeof *g->plan_buf);
    g->marker = malloc((size_t)N * sizeof *g->marker);
    size_t st = (size_t)sh->Bmax * (size_t)sh->S;
    g->state = calloc(st, sizeof *g->state);
    g->state_new = calloc(st, sizeof *g->state_new);
    g->masks = malloc((size_t)sh->Bmax * (size_t)(sh->din + sh->S) + 1);
    g->uin = calloc((size_t)grk_max_wy_rows(sh) + 1, 1);
    g->defer = malloc(((size_t)sh->Bmax + 1) * sizeof *g->defer);
    if (g->net.logq > 0)
        g->logsup = malloc((size_t)N * sizeof *g->logsup);
    if (!g->opt || !g->ws_mem || !g->gr_mem || !g->plan_buf || !g->marker || !g->state ||
        !g->state_new || !g->masks || !g->uin || !g->defer || (g->net.logq > 0 && !g->logsup))
        return sr_error_set(err, SR_ERR_NOMEM, "gru4rec: out of memory for the training state");
    for (int64_t i = 0; i < N; i++)
        g->marker[i] = -1;
    float *o = g->opt;
    for (int i = 0; i < g->nt; i++) {
        gten *t = &g->t[i];
        size_t n = (size_t)(t->rows * t->cols);
        t->s1 = o, o += n;
        if (per == 2)
            t->s2 = o, o += n;
    }
    grk_ws_carve_f(&g->ws, sh, g->ws_mem);
    grk_grads_carve_f(&g->gr, sh, g->gr_mem);
    bind_grads(g, &g->gr, 0);
    if (g->logsup) {
        for (int64_t i = 0; i < N; i++) {
            if (support[i] < 0)
                return sr_error_set(err, SR_ERR_ARG, "gru4rec: negative support %lld of item %lld",
                                    (long long)support[i], (long long)i);
            g->logsup[i] = (float)log(support[i] > 1 ? (double)support[i] : 1.0);
        }
        g->net.logsup = g->logsup;
    }
    if (!sh->full && sh->nsmp > 0) {
        sr_status s = sr_sampler_init(&g->smp, support, N, p->sample_alpha, sh->nsmp,
                                      p->sample_store, p->seed ^ 0x5a3c9e1b7d2f4861ULL, err);
        if (s != SR_OK)
            return s;
    }
    sr_rng_seed(&g->rng, p->seed ^ 0x1f83d9abfb41bd6bULL);
    g->training = 1;
    return SR_OK;
}

/* A network with its tensors laid out but nothing allocated. */
static sr_gru *gru_layout(const sr_gru_params *p, int64_t n_items, sr_error *err, sr_status *st)
{
    *st = check_params(p, n_items, err);
    if (*st != SR_OK)
        return NULL;
    sr_gru *g = calloc(1, sizeof *g);
    if (!g) {
        *st = sr_error_set(err, SR_ERR_NOMEM, "gru4rec: out of memory");
        return NULL;
    }
    g->p = *p;
    if (g->p.n_layers < SR_MAX_LAYERS)
        memset(g->p.layers + g->p.n_layers, 0,
               (size_t)(SR_MAX_LAYERS - g->p.n_layers) * sizeof g->p.layers[0]);
    layout(g, n_items);
    return g;
}

sr_status sr_gru_new(sr_gru **out, const sr_gru_params *p, int64_t n_items,
                     const int64_t *support, sr_error *err)
{
    sr_status st;
    *out = NULL;
    sr_gru *g = gru_layout(p, n_items, err, &st);
    if (!g)
        return st;
    st = alloc_params(g, err);
    if (st != SR_OK) {
        sr_gru_free(g);
        return st;
    }
    init_weights(g);
    st = alloc_training(g, support, err);
    if (st != SR_OK) {
        sr_gru_free(g);
        return st;
    }
    *out = g;
    return SR_OK;
}

const sr_gru_params *sr_gru_params_of(const sr_gru *g) { return &g->p; }
int64_t sr_gru_n_items(const sr_gru *g) { return g->sh.N; }
int sr_gru_state_size(const sr_gru *g) { return g->sh.S; }

int sr_gru_tensors(sr_gru *g, sr_tensor *out, int max)
{
    for (int i = 0; i < g->nt && i < max; i++) {
        out[i].name = g->t[i].name;
        out[i].data = g->t[i].w;
        out[i].grad = g->t[i].dgrad;
        out[i].rows = g->t[i].rows;
        out[i].cols = g->t[i].cols;
    }
    return g->nt;
}

/* ---- training ------------------------------------------------------------------ */

/* The side job of a step: draw the next negatives ahead (the same draws in
 * the same order as a refill of the whole store would make). */
static void draw_ahead(void *ud)
{
    sr_gru *g = ud;
    sr_sampler_fill_ahead(&g->smp, 2 * (int64_t)g->sh.nsmp);
}

sr_status sr_gru_set_threads(sr_gru *g, int threads, sr_error *err)
{
    if (!g->training)
        return sr_error_set(err, SR_ERR_ARG, "gru4rec: threads set on a network that is not training");
    if (threads < 1 || threads > GRK_MAX_THREADS)
        return sr_error_set(err, SR_ERR_ARG, "gru4rec: %d training threads (1 to %d supported)",
                            threads, GRK_MAX_THREADS);
    if (threads == grk_pool_threads(g->pool))
        return SR_OK;
    grk_pool *pool = NULL;
    sr_status st = threads > 1 ? grk_pool_new(&pool, threads, err) : SR_OK;
    if (st != SR_OK)
        return st;
    grk_shape sh = g->sh;
    sh.T = threads;
    float *mem = malloc((grk_ws_count_f(&sh) + 1) * sizeof *mem);
    if (!mem) {
        grk_pool_free(pool);
        return sr_error_set(err, SR_ERR_NOMEM, "gru4rec: out of memory for %d training threads",
                            threads);
    }
    grk_pool_free(g->pool);
    free(g->ws_mem);
    g->pool = pool;
    g->ws_mem = mem;
    g->sh.T = threads;
    g->net.sh.T = threads;
    grk_ws_carve_f(&g->ws, &g->sh, g->ws_mem);
    g->ws.pool = pool;
    if (!g->sh.full && g->sh.nsmp > 0) {
        g->ws.side = draw_ahead;
        g->ws.side_ud = g;
    }
    return SR_OK;
}

int sr_gru_threads(const sr_gru *g) { return grk_pool_threads(g->pool); }

void sr_gru_reset_row(sr_gru *g, int row)
{
    assert(g->training && row >= 0 && row < g->sh.Bmax);
    memset(g->state + (size_t)row * g->sh.S, 0, (size_t)g->sh.S * sizeof *g->state);
}

void sr_gru_keep_rows(sr_gru *g, const int *keep, int n_keep)
{
    size_t S = (size_t)g->sh.S;
    for (int i = 0; i < n_keep; i++) {
        assert(keep[i] >= i && keep[i] < g->sh.Bmax && (i == 0 || keep[i] > keep[i - 1]));
        if (keep[i] != i)
            memcpy(g->state + (size_t)i * S, g->state + (size_t)keep[i] * S, S * sizeof *g->state);
    }
}

/* keep flags for n values: 1 with probability 1 - p */
static void draw_mask(sr_rng *r, uint8_t *m, size_t n, float p)
{
    for (size_t j = 0; j < n; j++)
        m[j] = sr_rng_uniformf(r) >= p;
}

static void fused_rows(void *ud, int64_t u0, int64_t u1);

/* Forward + backward of one step; leaves the gradients in g->gr (compact) and
 * the plan in g->plan, advances the hidden state of rows 0..n-1. With `fused`
 * the output rows are updated by the optimizer as their gradients complete
 * (fused_rows), except the rows listed in g->defer for update(). */
static double fwd_bwd(sr_gru *g, const int32_t *in, const int32_t *out, int n, int fused)
{
    const grk_shape *sh = &g->sh;
    assert(g->training && n >= 1 && n <= sh->Bmax);
#ifndef NDEBUG
    for (int i = 0; i < n; i++)
        assert(in[i] >= 0 && in[i] < sh->N && out[i] >= 0 && out[i] < sh->N);
#endif
    const int32_t *smp = NULL;
    if (!sh->full && sh->nsmp > 0)
        smp = g->fixed ? g->fixed : sr_sampler_next(&g->smp);
    grk_plan *pl = &g->plan;
    grk_plan_build(pl, sh, g->plan_buf, in, out, n, g->p.batch_size, smp, g->marker);

    /* dropout: the official code applies dropout_p_embed to the input vector,
     * or, in one-hot mode, to layer 0's output; dropout_p_hidden to the others */
    uint8_t *m = g->masks;
    float pe = g->p.dropout_p_embed, ph = g->p.dropout_p_hidden;
    if (sh->mode != GRK_ONEHOT && pe > 0) {
        draw_mask(&g->rng, m, (size_t)n * sh->din, pe);
        pl->mask_x = m, pl->scale_x = 1.0 / (1.0 - pe);
        m += (size_t)n * sh->din;
    }
    for (int l = 0; l < sh->L; l++) {
        float pl_p = l == 0 && sh->mode == GRK_ONEHOT ? pe : ph;
        if (pl_p > 0) {
            draw_mask(&g->rng, m, (size_t)n * sh->H[l], pl_p);
            pl->mask_h[l] = m, pl->scale_h[l] = 1.0 / (1.0 - pl_p);
            m += (size_t)n * sh->H[l];
        }
    }
    /* Wy rows that are also this step's inputs (constrained embedding) get
     * their input gradient last: they, and the input-only rows, wait for
     * update(); the flags tell fused_rows to skip them. */
    g->ndefer = 0;
    g->ws.rows_ready = fused ? fused_rows : NULL;
    g->ws.rows_ud = g;
    if (fused && sh->mode == GRK_CONSTRAINED)
        for (int i = 0; i < n; i++) { /* the input-only rows nU..nW-1 are among them */
            int32_t k = pl->in_u[i];
            if (!g->uin[k]) {
                g->uin[k] = 1;
                g->defer[g->ndefer++] = k;
            }
        }
    /* A team splits the step itself: each of its BLAS calls must stay on one
     * thread, whatever the process-wide OpenBLAS setting is (restored after). */
    int blas = g->pool ? sr_blas_threads_enter(1) : 0;
    double loss = grk_step_f(&g->net, pl, g->state, g->state_new, &g->ws, &g->gr);
    if (g->pool)
        sr_blas_threads_leave(blas);
    if (fused && sh->mode == GRK_CONSTRAINED)
        for (int i = 0; i < n; i++)
            g->uin[pl->in_u[i]] = 0;
    memcpy(g->state, g->state_new, (size_t)n * sh->S * sizeof *g->state);
    return loss;
}

/* The optimizer on n rows of table t starting at row k0 of its compact
 * gradient: rows[k0..] name the table rows, or (rows NULL) rows k0.. in order. */
static void opt_rows(const sr_gru *g, const gten *t, const int32_t *rows, size_t k0, size_t n)
{
    const sr_gru_params *p = &g->p;
    size_t cols = (size_t)t->cols;
    size_t off = rows ? 0 : k0 * cols;
    const int32_t *r = rows ? rows + k0 : NULL;
    const float *gk = t->grad + k0 * cols;
    if (p->optim == SR_OPT_ADAM)
        sr_adam_rows(t->w + off, t->s1 + off, t->s2 + off, cols, r, gk, n, p->learning_rate,
                     p->adam_beta1, p->adam_beta2, p->adam_eps, g->adam_t);
    else
        sr_adagrad_rows(t->w + off, t->s1 + off, t->s2 ? t->s2 + off : NULL, cols, r, gk, n,
                        p->learning_rate, p->momentum, ADAGRAD_EPS);
}

/* rows_ready of the kernels: the optimizer on the distinct output rows
 * u0..u1-1 (Wy rows not flagged in g->uin, every By row), on the thread
 * that has just computed their gradients. */
static void fused_rows(void *ud, int64_t u0, int64_t u1)
{
    sr_gru *g = ud;
    const int32_t *rows = g->sh.full ? NULL : g->plan.urows;
    for (int i = 0; i < g->nt; i++) {
        gten *t = &g->t[i];
        if (t->kind == TK_BY) {
            opt_rows(g, t, rows, (size_t)u0, (size_t)(u1 - u0));
        } else if (t->kind == TK_WY) {
            for (int64_t a = u0; a < u1;) {
                while (a < u1 && g->uin[a])
                    a++;
                int64_t b = a;
                while (b < u1 && !g->uin[b])
                    b++;
                if (b > a)
                    opt_rows(g, t, rows, (size_t)a, (size_t)(b - a));
                a = b;
            }
        }
    }
}

/* The optimizer on slice ti (of T) of what fused_rows left: the dense
 * tensors (by elements), the input tables (by rows) and the deferred Wy rows.
 * Each element is updated alone, so the result does not depend on the number
 * of threads (nor on the fusion). */
static void update_slice(void *ud, int ti, int T)
{
    sr_gru *g = ud;
    const sr_gru_params *p = &g->p;
    const grk_plan *pl = &g->plan;
    for (int i = 0; i < g->nt; i++) {
        gten *t = &g->t[i];
        int64_t a, b;
        switch (t->kind) {
        case TK_DENSE: {
            grk_slice(t->rows * t->cols, ti, T, &a, &b);
            size_t n = (size_t)(b - a);
            if (p->optim == SR_OPT_ADAM)
                sr_adam_dense(t->w + a, t->s1 + a, t->s2 + a, t->grad + a, n, p->learning_rate,
                              p->adam_beta1, p->adam_beta2, p->adam_eps, g->adam_t);
            else
                sr_adagrad_dense(t->w + a, t->s1 + a, t->s2 ? t->s2 + a : NULL, t->grad + a, n,
                                 p->learning_rate, p->momentum, ADAGRAD_EPS);
            break;
        }
        case TK_IN:
            grk_slice(pl->nI, ti, T, &a, &b);
            opt_rows(g, t, pl->irows, (size_t)a, (size_t)(b - a));
            break;
        case TK_WY:
            grk_slice(g->ndefer, ti, T, &a, &b);
            for (int64_t j = a; j < b; j++)
                opt_rows(g, t, g->sh.full ? NULL : pl->urows, (size_t)g->defer[j], 1);
            break;
        case TK_BY: /* every row done by fused_rows */
            break;
        }
    }
}

static void update(sr_gru *g)
{
    grk_pool_run(g->pool, update_slice, g);
}

double sr_gru_train_step(sr_gru *g, const int32_t *in, const int32_t *out, int n)
{
    if (g->p.optim == SR_OPT_ADAM)
        g->adam_t++; /* the fused row updates in the step use it */
    double loss = fwd_bwd(g, in, out, n, 1);
    if (!isfinite(loss)) {
        if (g->p.optim == SR_OPT_ADAM)
            g->adam_t--; /* nothing was updated */
        return NAN;
    }
    if (g->dgrad_mem)
        grk_grads_expand_f(&g->dg, &g->gr, &g->sh, &g->plan);
    update(g);
    return loss;
}

/* ---- test hooks ------------------------------------------------------------------ */

sr_status sr_gru_dense_grads(sr_gru *g)
{
    if (!g->training)
        return SR_ERR_ARG;
    if (g->dgrad_mem)
        return SR_OK;
    g->dgrad_mem = calloc(grk_grads_dense_count(&g->sh) + 1, sizeof *g->dgrad_mem);
    if (!g->dgrad_mem)
        return SR_ERR_NOMEM;
    grk_grads_dense_carve_f(&g->dg, &g->sh, g->dgrad_mem);
    bind_grads(g, &g->dg, 1);
    return SR_OK;
}

double sr_gru_grad_step(sr_gru *g, const int32_t *in, const int32_t *out, int n)
{
    double loss = fwd_bwd(g, in, out, n, 0);
    if (isfinite(loss) && g->dgrad_mem)
        grk_grads_expand_f(&g->dg, &g->gr, &g->sh, &g->plan);
    return loss;
}

sr_status sr_gru_fix_samples(sr_gru *g, const int32_t *samples)
{
    if (!samples) {
        free(g->fixed);
        g->fixed = NULL;
        return SR_OK;
    }
    if (!g->training || g->sh.full || g->sh.nsmp == 0)
        return SR_ERR_ARG;
    if (!g->fixed && !(g->fixed = malloc((size_t)g->sh.nsmp * sizeof *g->fixed)))
        return SR_ERR_NOMEM;
    memcpy(g->fixed, samples, (size_t)g->sh.nsmp * sizeof *samples);
    return SR_OK;
}

float *sr_gru_train_state(sr_gru *g) { return g->training ? g->state : NULL; }
const grk_net_f *sr_gru_net(const sr_gru *g) { return &g->net; }
const grk_plan *sr_gru_last_plan(const sr_gru *g) { return &g->plan; }

int sr_gru_opt_state(sr_gru *g, int i, float **s1, float **s2)
{
    if (i < 0 || i >= g->nt || !g->training)
        return 0;
    *s1 = g->t[i].s1;
    *s2 = g->t[i].s2;
    return 1;
}

/* ---- training state: resume and warm start ---------------------------------------- */

void sr_gru_keep_state(sr_gru *g, int on, const sr_gru_progress *pr)
{
    g->save_state = on && g->training;
    if (pr)
        g->pr = *pr;
}

int sr_gru_has_state(const sr_gru *g, sr_gru_progress *pr)
{
    gru_tstate ts;
    int has = current_state(g, &ts);
    if (pr)
        *pr = has ? ts.pr : (sr_gru_progress){0, 0, 0, 0.0};
    return has;
}

/* Optimizer state of tensor i of src (live, or loaded), s2 NULL if none. */
static int src_opt(const sr_gru *src, int i, const float **s1, const float **s2)
{
    *s1 = *s2 = NULL;
    if (src->training) {
        *s1 = src->t[i].s1;
        *s2 = src->t[i].s2;
        return 1;
    }
    if (!src->ts)
        return 0;
    const float *o = src->ts->opt;
    for (int k = 0; k < i; k++)
        o += (size_t)(src->t[k].rows * src->t[k].cols) * (size_t)src->ts->per;
    *s1 = o;
    if (src->ts->per == 2)
        *s2 = o + (size_t)(src->t[i].rows * src->t[i].cols);
    return 1;
}

/* The first rows of dst (or all, for a dense tensor of the same shape) = src. */
static void copy_rows(float *dst, const float *src, int64_t rows, int64_t cols)
{
    if (dst && src)
        memcpy(dst, src, (size_t)(rows * cols) * sizeof *dst);
}

sr_status sr_gru_copy_from(sr_gru *dst, const sr_gru *src, int resume, sr_error *err)
{
    const grk_shape *a = &dst->sh, *b = &src->sh;
    if (b->onehot_legacy)
        return sr_error_set(err, SR_ERR_ARG, "the model's one-hot layer is the GRUCell form of "
                            "earlier sessrec versions, not the official cell this version "
                            "trains: it can be used for prediction only; train anew");
    int same = dst->training && a->mode == b->mode && a->L == b->L && a->din == b->din &&
               dst->nt == src->nt && (resume ? a->N == b->N : a->N >= b->N);
    for (int l = 0; same && l < a->L; l++)
        same = a->H[l] == b->H[l];
    if (!same) {
        char pa[1024], pb[1024];
        sr_gru_params_format(&dst->p, pa, sizeof pa);
        sr_gru_params_format(&src->p, pb, sizeof pb);
        return sr_error_set(err, SR_ERR_ARG, "the model's network (%s) differs from the one "
                            "these parameters build (%s): layers, embedding and "
                            "constrained_embedding must be the same", pb, pa);
    }
    gru_tstate ts;
    int has = current_state(src, &ts);
    if (resume && !has)
        return sr_error_set(err, SR_ERR_ARG, "the model holds no optimizer state to resume "
                            "from (train with --save-optimizer, or use a --checkpoint-every file)");
    int same_opt = has && src->p.optim == dst->p.optim;
    for (int i = 0; i < dst->nt; i++) {
        gten *t = &dst->t[i];
        const gten *u = &src->t[i];
        /* item tables (rows = items) of dst start with src's items */
        copy_rows(t->w, u->w, u->rows, u->cols);
        const float *s1, *s2;
        if (same_opt && src_opt(src, i, &s1, &s2)) {
            copy_rows(t->s1, s1, u->rows, u->cols);
            copy_rows(t->s2, s2, u->rows, u->cols);
        }
    }
    if (same_opt)
        dst->adam_t = ts.adam_t;
    if (resume) {
        dst->rng = ts.rng;
        dst->pr = ts.pr;
        if (ts.has_sampler != (dst->smp.store != NULL) ||
            (ts.has_sampler &&
             sr_sampler_restore(&dst->smp, &ts.smp_from, &ts.smp_now, ts.smp_pos) != SR_OK))
            return sr_error_set(err, SR_ERR_ARG, "the model's sampler state does not fit these "
                                "parameters (n_sample, sample_store_size)");
    }
    return SR_OK;
}

sr_status sr_model_gru_params(const sr_model *m, sr_gru_params *p, int *epochs_done)
{
    if (!m || !m->impl || !m->vt || strcmp(m->vt->algo, "gru4rec"))
        return SR_ERR_ARG;
    const sr_gru *g = m->impl;
    if (p)
        *p = g->p;
    if (epochs_done) {
        sr_gru_progress pr;
        *epochs_done = sr_gru_has_state(g, &pr) ? pr.epochs_done : -1;
    }
    return SR_OK;
}

/* ---- inference ----------------------------------------------------------------- */

size_t sr_gru_infer_work_size(const sr_gru *g, int n)
{
    return grk_infer_count_f(&g->sh, n);
}

void sr_gru_infer_step(const sr_gru *g, float *h, const int32_t *in, int n, float *scores,
                       float *work)
{
    grk_infer_f(&g->net, h, in, n, scores, work);
}

/* ---- the "gru4rec" model plug-in ---------------------------------------------------- */

typedef struct gru_scorer {
    sr_scorer base;
    float *h;                    /* (max_batch, S) */
    float *work;
    float *wyt;                  /* Wy in gru_score.c's panels for vt_state_score, lazy */
    float *itp;                  /* vt_state_score_items: the listed items' panels, */
    float *itb;                  /* their biases and the list, in one block from itp */
    int32_t *itl;                /* (room for it_cap items; it_n in them now: a server */
    int it_cap, it_n;            /* lists the same items for every batch) */
    uint8_t *hq;                 /* vt_state_bound_cols: the rows quantized (max_batch, */
    float *hc;                   /* row bytes) and their constants, in one block from hq */
} gru_scorer;

static sr_scorer *vt_scorer_new(const sr_model *m, int max_batch)
{
    const sr_gru *g = m->impl;
    gru_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->h = calloc((size_t)max_batch * (size_t)g->sh.S, sizeof *s->h);
    s->work = malloc((sr_gru_infer_work_size(g, max_batch) + 1) * sizeof *s->work);
    if (!s->h || !s->work) {
        free(s->h);
        free(s->work);
        free(s);
        return NULL;
    }
    return &s->base;
}

static void vt_scorer_free(sr_scorer *sc)
{
    gru_scorer *s = (gru_scorer *)sc;
    free(s->h);
    free(s->work);
    free(s->wyt);
    free(s->itp); /* itb and itl too */
    free(s->hq);  /* hc too */
    free(s);
}

static void vt_reset(sr_scorer *sc, int slot)
{
    gru_scorer *s = (gru_scorer *)sc;
    const sr_gru *g = sc->m->impl;
    memset(s->h + (size_t)slot * g->sh.S, 0, (size_t)g->sh.S * sizeof *s->h);
}

static void vt_step(sr_scorer *sc, const int32_t *items, int n, float *scores)
{
    gru_scorer *s = (gru_scorer *)sc;
    sr_gru_infer_step(sc->m->impl, s->h, items, n, scores, s->work);
}

static void vt_move(sr_scorer *sc, int dst, int src)
{
    gru_scorer *s = (gru_scorer *)sc;
    const sr_gru *g = sc->m->impl;
    size_t S = (size_t)g->sh.S;
    memcpy(s->h + (size_t)dst * S, s->h + (size_t)src * S, S * sizeof *s->h);
}

/* ---- session state: the hidden state of every layer (S floats) ---------------------- */

static size_t vt_state_size(const sr_model *m)
{
    const sr_gru *g = m->impl;
    return (size_t)g->sh.S * sizeof(float);
}

static void vt_state_get(const sr_scorer *sc, int slot, void *state)
{
    const gru_scorer *s = (const gru_scorer *)sc;
    const sr_gru *g = sc->m->impl;
    memcpy(state, s->h + (size_t)slot * g->sh.S, (size_t)g->sh.S * sizeof *s->h);
}

static void vt_state_put(sr_scorer *sc, int slot, const void *state)
{
    gru_scorer *s = (gru_scorer *)sc;
    const sr_gru *g = sc->m->impl;
    memcpy(s->h + (size_t)slot * g->sh.S, state, (size_t)g->sh.S * sizeof *s->h);
}

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Something the model derives from its weights for serving (the panels, the
 * sketch), one copy shared by all its scorers: *slot, built by build(g) the
 * first time, under a lock. NULL when that fails; with a failure flag, a
 * failed build is not tried again. */
static void *shared_build(sr_gru *g, void *_Atomic *slot, atomic_int *failed,
                          void *(*build)(const sr_gru *g))
{
    void *p = atomic_load_explicit(slot, memory_order_acquire);
    if (p || (failed && atomic_load_explicit(failed, memory_order_relaxed)))
        return p;
    pthread_mutex_lock(&shared_lock);
    p = atomic_load_explicit(slot, memory_order_relaxed);
    if (!p && !(failed && atomic_load_explicit(failed, memory_order_relaxed))) {
        if ((p = build(g)))
            atomic_store_explicit(slot, p, memory_order_release);
        else if (failed)
            atomic_store_explicit(failed, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&shared_lock);
    return p;
}

static void *build_panels(const sr_gru *g)
{
    const grk_shape *sh = &g->sh;
    const int Hl = sh->H[sh->L - 1];
    float *p = sr_alloc_big(sr_gru_panel_count(sh->N, Hl), sizeof *p, 0);
    if (p)
        sr_gru_panel_wy(p, g->net.Wy, sh->N, Hl);
    return p;
}

/* Wy in panels for the output layer by state: the model's shared copy unless
 * the net is training (its Wy changes: then the scorer's own copy). NULL when
 * out of memory. */
static const float *panels(gru_scorer *s, sr_gru *g)
{
    const grk_shape *sh = &g->sh;
    const int Hl = sh->H[sh->L - 1];
    if (g->training) {
        if (!s->wyt && (s->wyt = sr_alloc_big(sr_gru_panel_count(sh->N, Hl), sizeof *s->wyt, 0)))
            sr_gru_panel_wy(s->wyt, g->net.Wy, sh->N, Hl);
        return s->wyt;
    }
    return shared_build(g, &g->wyp, NULL, build_panels);
}

/* The output layer alone for the items [i0, i1): those columns of
 * h_last (n, Hl) Wy^T + By, item i0 + j of row r at out[r * ldo + j], with
 * gru_score.c's small-batch kernel. -1 when out of memory (nothing written). */
static int vt_state_score_cols(sr_scorer *sc, int n, int64_t i0, int64_t i1, float *out,
                               int64_t ldo)
{
    gru_scorer *s = (gru_scorer *)sc;
    sr_gru *g = sc->m->impl;
    const grk_shape *sh = &g->sh;
    if (n <= 0 || i0 >= i1)
        return 0;
    const float *p = panels(s, g);
    if (!p)
        return -1;
    sr_gru_score_cols(out, ldo, s->h + sh->off[sh->L - 1], sh->S, n, p, g->net.By, sh->N,
                      sh->H[sh->L - 1], i0, i1);
    return 0;
}

/* The output layer for the m listed items: their rows of Wy gathered into
 * panels of their own, then the kernel above (so the same numbers). -1 when
 * out of memory (nothing written). */
static int vt_state_score_items(sr_scorer *sc, int n, const int32_t *items, int m, float *out,
                                int64_t ldo)
{
    gru_scorer *s = (gru_scorer *)sc;
    const sr_gru *g = sc->m->impl;
    const grk_shape *sh = &g->sh;
    const int Hl = sh->H[sh->L - 1];
    if (n <= 0 || m <= 0)
        return 0;
    const int cached = !g->training && m == s->it_n &&
                       memcmp(items, s->itl, (size_t)m * sizeof *items) == 0;
    if (n == 1 && !cached) { /* one row (a top k's candidates): no panels, cache kept */
        sr_gru_score_list(out, s->h + sh->off[sh->L - 1], g->net.Wy, g->net.By, items, m, Hl);
        return 0;
    }
    if (m > s->it_cap) { /* one block: panels, biases, list */
        size_t np = sr_gru_panel_count(m, Hl);
        float *p = malloc((np + (size_t)m) * sizeof *p + (size_t)m * sizeof *s->itl);
        if (!p)
            return -1;
        free(s->itp);
        s->itp = p;
        s->itb = p + np;
        s->itl = (int32_t *)(s->itb + m);
        s->it_cap = m;
        s->it_n = 0;
    }
    /* the same list as last time, from weights that cannot have changed (not
     * training): its panels are ready (gathering 64 rows scattered over Wy
     * cost a one-session batch about 5% of its time) */
    if (!cached) {
        sr_gru_panel_wy_items(s->itp, g->net.Wy, items, m, Hl);
        if (g->net.By)
            for (int j = 0; j < m; j++)
                s->itb[j] = g->net.By[items[j]];
        memcpy(s->itl, items, (size_t)m * sizeof *items);
        s->it_n = m;
    }
    sr_gru_score_cols(out, ldo, s->h + sh->off[sh->L - 1], sh->S, n, s->itp,
                      g->net.By ? s->itb : NULL, m, Hl, 0, m);
    return 0;
}

static void *build_sketch(const sr_gru *g)
{
    const grk_shape *sh = &g->sh;
    return sr_gru_sketch_new(g->net.Wy, g->net.By, sh->N, sh->H[sh->L - 1]);
}

/* The model's sketch of Wy, shared, or NULL when it cannot be built (out of
 * memory, weights not finite) or the net is training (its Wy changes). */
static const sr_gru_sketch *sketch(sr_gru *g)
{
    return g->training ? NULL : shared_build(g, &g->sketch, &g->sketch_failed, build_sketch);
}

/* Bounds on vt_state_score_cols's numbers (gru_bound.c); without a sketch,
 * those numbers themselves, radius 0. */
static int vt_state_bound_cols(sr_scorer *sc, int n, int fresh, int64_t i0, int64_t i1,
                               float *mid, int64_t ldo, float *rad)
{
    gru_scorer *s = (gru_scorer *)sc;
    sr_gru *g = sc->m->impl;
    const grk_shape *sh = &g->sh;
    const int Hl = sh->H[sh->L - 1];
    const sr_gru_sketch *k = sketch(g);
    if (!k) {
        for (int r = 0; r < n; r++)
            rad[r] = 0;
        return vt_state_score_cols(sc, n, i0, i1, mid, ldo);
    }
    const size_t rb = sr_gru_sketch_row_bytes(Hl);
    if (!s->hq) {
        size_t nq = ((size_t)sc->max_batch * rb + 63) / 64 * 64;
        if (!(s->hq = malloc(nq + (size_t)sc->max_batch * SR_GRU_ROW_CONSTS * sizeof *s->hc)))
            return -1;
        s->hc = (float *)(s->hq + nq);
        fresh = 1;
    }
    if (fresh)
        sr_gru_sketch_rows(k, s->h + sh->off[sh->L - 1], sh->S, n, s->hq, s->hc);
    sr_gru_bound_cols(k, s->hq, s->hc, n, i0, i1, mid, ldo);
    for (int r = 0; r < n; r++)
        rad[r] = sr_gru_bound_radius(s->hc, r);
    return 0;
}

/* Each item's share of a row's radius; NULL (all 1) without a sketch, when
 * vt_state_bound_cols gives the exact scores and radius 0. */
static const float *vt_state_bound_weights(const sr_model *m)
{
    const sr_gru_sketch *k = sketch(m->impl);
    return k ? sr_gru_sketch_weights(k) : NULL;
}

/* All items: the kernel above, or without memory for the panels the BLAS
 * product grk_infer ends with. */
static void vt_state_score(sr_scorer *sc, int n, float *scores)
{
    gru_scorer *s = (gru_scorer *)sc;
    const sr_gru *g = sc->m->impl;
    const grk_shape *sh = &g->sh;
    const int Hl = sh->H[sh->L - 1];
    if (n <= 0 || vt_state_score_cols(sc, n, 0, sh->N, scores, sh->N) == 0)
        return;
    for (int i = 0; i < n; i++)
        if (g->net.By)
            memcpy(scores + (size_t)i * (size_t)sh->N, g->net.By, (size_t)sh->N * sizeof *scores);
        else
            memset(scores + (size_t)i * (size_t)sh->N, 0, (size_t)sh->N * sizeof *scores);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)sh->N, Hl, 1.0f,
                s->h + sh->off[sh->L - 1], sh->S, g->net.Wy, Hl, 1.0f, scores, (int)sh->N);
}

static const sr_state_vt gru_state_vt = {vt_state_size,       vt_state_get,
                                         vt_state_put,        vt_state_score,
                                         vt_state_score_cols, SR_GRU_PANEL,
                                         vt_state_score_items, vt_state_bound_cols,
                                         vt_state_bound_weights};

/* Payload: "GRU4", version, [flags,] hyperparameters, n_items, then each
 * tensor as name, rows, cols and rows*cols little-endian floats, then the
 * training state if flagged (docs/gru4rec.md). Version 1 has no flags: no
 * training state, and a one-hot layer 0 in the GRUCell form of the first
 * versions (still read and scored as such). Version 2 adds the flags. A model
 * with neither flag is written as version 1, byte for byte as before. */
#define PAYLOAD_VERSION 1
#define PAYLOAD_VERSION_FLAGS 2
#define FLAG_STATE 1u            /* a training state follows the tensors */
#define FLAG_ONEHOT_OFFICIAL 2u  /* the one-hot layer 0 is the official GRUEmbedding cell */

/* The training state a file written from g now carries (its opt points into
 * g), or 0 for none. */
static int current_state(const sr_gru *g, gru_tstate *ts)
{
    memset(ts, 0, sizeof *ts);
    if (g->training && g->save_state) {
        ts->pr = g->pr;
        ts->adam_t = g->adam_t;
        ts->rng = g->rng;
        ts->has_sampler = g->smp.store != NULL;
        if (ts->has_sampler) {
            ts->smp_from = g->smp.from;
            ts->smp_now = g->smp.rng;
            ts->smp_pos = g->smp.pos;
        }
        ts->per = g->per;
        ts->opt = g->opt;
        return 1;
    }
    if (g->ts) {
        *ts = *g->ts;
        return 1;
    }
    return 0;
}

static void put_rng(sr_buf *b, const sr_rng *r)
{
    for (int i = 0; i < 4; i++)
        sr_buf_u64(b, r->s[i]);
}

static void get_rng(sr_rd *r, sr_rng *out)
{
    for (int i = 0; i < 4; i++)
        out->s[i] = sr_rd_u64(r);
}

static void put_state(sr_buf *b, const sr_gru *g, const gru_tstate *ts)
{
    uint64_t bm;
    memcpy(&bm, &ts->pr.best_metric, sizeof bm);
    sr_buf_append(b, "TRST", 4);
    sr_buf_u32(b, (uint32_t)ts->pr.epochs_done);
    sr_buf_u32(b, (uint32_t)ts->pr.best_epoch);
    sr_buf_u32(b, (uint32_t)ts->pr.since_best);
    sr_buf_u64(b, bm);
    sr_buf_u64(b, (uint64_t)ts->adam_t);
    put_rng(b, &ts->rng);
    sr_buf_u32(b, (uint32_t)ts->has_sampler);
    put_rng(b, &ts->smp_from);
    put_rng(b, &ts->smp_now);
    sr_buf_u64(b, (uint64_t)ts->smp_pos);
    sr_buf_u32(b, (uint32_t)ts->per);
    size_t n = g->n_params * (size_t)ts->per;
    sr_buf_reserve(b, n * 4);
    for (size_t j = 0; j < n; j++)
        sr_buf_f32(b, ts->opt[j]);
}

/* Reads the state written by put_state into a new g->ts; checks it fits g. */
static sr_status get_state(sr_rd *r, sr_gru *g, sr_error *err)
{
    const uint8_t *magic = sr_rd_bytes(r, 4);
    if (!magic || memcmp(magic, "TRST", 4))
        return sr_error_set(err, SR_ERR_FORMAT, "gru4rec model: no training state after the "
                            "parameters, although the payload flags one");
    gru_tstate t;
    memset(&t, 0, sizeof t);
    t.pr.epochs_done = (int)(sr_rd_u32(r) & 0x7fffffff);
    t.pr.best_epoch = (int)(sr_rd_u32(r) & 0x7fffffff);
    t.pr.since_best = (int)(sr_rd_u32(r) & 0x7fffffff);
    uint64_t bm = sr_rd_u64(r);
    memcpy(&t.pr.best_metric, &bm, sizeof bm);
    t.adam_t = (int64_t)(sr_rd_u64(r) & 0x7fffffffffffffffULL);
    get_rng(r, &t.rng);
    t.has_sampler = sr_rd_u32(r) != 0;
    get_rng(r, &t.smp_from);
    get_rng(r, &t.smp_now);
    uint64_t pos = sr_rd_u64(r);
    uint32_t per = sr_rd_u32(r);
    if (r->bad)
        return sr_error_set(err, SR_ERR_FORMAT, "gru4rec model: truncated training state");
    const sr_gru_params *p = &g->p;
    uint32_t want = p->optim == SR_OPT_ADAM || p->momentum > 0 ? 2 : 1;
    int want_smp = !g->sh.full && g->sh.nsmp > 0;
    if (per != want || t.has_sampler != want_smp || pos > (uint64_t)p->sample_store + (uint64_t)g->sh.nsmp)
        return sr_error_set(err, SR_ERR_FORMAT, "gru4rec model: training state does not fit the "
                            "hyperparameters (%u optimizer values per parameter, sampler %d at %llu)",
                            per, t.has_sampler, (unsigned long long)pos);
    t.smp_pos = (int64_t)pos;
    t.per = (int)per;
    size_t n = g->n_params * per;
    if (r->len - r->off < n * 4)
        return sr_error_set(err, SR_ERR_FORMAT, "gru4rec model: optimizer state truncated "
                            "(%zu bytes left for %zu values)", r->len - r->off, n);
    const uint8_t *raw = sr_rd_bytes(r, n * 4);
    t.opt = malloc((n ? n : 1) * sizeof *t.opt);
    g->ts = malloc(sizeof *g->ts);
    if (!raw || !t.opt || !g->ts) {
        free(t.opt);
        free(g->ts);
        g->ts = NULL;
        return sr_error_set(err, raw ? SR_ERR_NOMEM : SR_ERR_FORMAT,
                            "gru4rec model: cannot read the optimizer state");
    }
    for (size_t j = 0; j < n; j++) {
        uint32_t u = (uint32_t)raw[4 * j] | (uint32_t)raw[4 * j + 1] << 8 |
                     (uint32_t)raw[4 * j + 2] << 16 | (uint32_t)raw[4 * j + 3] << 24;
        memcpy(&t.opt[j], &u, sizeof u);
        if (!isfinite(t.opt[j])) {
            free(t.opt);
            free(g->ts);
            g->ts = NULL;
            return sr_error_set(err, SR_ERR_FORMAT, "gru4rec model: optimizer state holds a "
                                "non-finite value at %zu", j);
        }
    }
    *g->ts = t;
    return SR_OK;
}

static sr_status vt_serialize(const sr_model *m, sr_buf *b)
{
    const sr_gru *g = m->impl;
    const sr_gru_params *p = &g->p;
    gru_tstate ts;
    int with_state = current_state(g, &ts);
    uint32_t flags = (with_state ? FLAG_STATE : 0) |
                     (GRK_OFFICIAL_ONEHOT(&g->sh, 0) ? FLAG_ONEHOT_OFFICIAL : 0);
    sr_buf_append(b, "GRU4", 4);
    sr_buf_u32(b, flags ? PAYLOAD_VERSION_FLAGS : PAYLOAD_VERSION);
    if (flags)
        sr_buf_u32(b, flags);
    sr_buf_u32(b, (uint32_t)p->n_layers);
    for (int l = 0; l < p->n_layers; l++)
        sr_buf_u32(b, (uint32_t)p->layers[l]);
    sr_buf_u32(b, (uint32_t)p->embedding);
    sr_buf_u32(b, (uint32_t)p->constrained_embedding);
    sr_buf_u32(b, (uint32_t)p->loss);
    sr_buf_u32(b, (uint32_t)p->optim);
    sr_buf_u32(b, (uint32_t)p->batch_size);
    sr_buf_f32(b, p->dropout_p_embed);
    sr_buf_f32(b, p->dropout_p_hidden);
    sr_buf_f32(b, p->learning_rate);
    sr_buf_f32(b, p->momentum);
    sr_buf_f32(b, p->adam_beta1);
    sr_buf_f32(b, p->adam_beta2);
    sr_buf_f32(b, p->adam_eps);
    sr_buf_u32(b, (uint32_t)p->n_sample);
    sr_buf_f32(b, p->sample_alpha);
    sr_buf_u64(b, (uint64_t)p->sample_store);
    sr_buf_f32(b, p->logq);
    sr_buf_f32(b, p->bpreg);
    sr_buf_f32(b, p->elu_param);
    sr_buf_u32(b, (uint32_t)p->n_epochs);
    sr_buf_u64(b, p->seed);
    sr_buf_u64(b, (uint64_t)g->sh.N);
    sr_buf_u32(b, (uint32_t)g->nt);
    for (int i = 0; i < g->nt; i++) {
        const gten *t = &g->t[i];
        uint32_t len = (uint32_t)strlen(t->name);
        sr_buf_u32(b, len);
        sr_buf_append(b, t->name, len);
        sr_buf_u64(b, (uint64_t)t->rows);
        sr_buf_u64(b, (uint64_t)t->cols);
        size_t n = (size_t)(t->rows * t->cols);
        sr_buf_reserve(b, n * 4);
        for (size_t j = 0; j < n; j++)
            sr_buf_f32(b, t->w[j]);
    }
    if (with_state)
        put_state(b, g, &ts);
    return b->oom ? SR_ERR_NOMEM : SR_OK;
}

static sr_status vt_deserialize(sr_model *m, const uint8_t *data, size_t len, sr_error *err)
{
#define FMT(...) return sr_error_set(err, SR_ERR_FORMAT, __VA_ARGS__)
#define FAILG(...)                                                                        \
    do {                                                                                  \
        sr_error_set(err, SR_ERR_FORMAT, __VA_ARGS__);                                    \
        sr_gru_free(g);                                                                   \
        return SR_ERR_FORMAT;                                                             \
    } while (0)
    sr_rd r = {data, len, 0, 0};
    const uint8_t *magic = sr_rd_bytes(&r, 4);
    if (!magic || memcmp(magic, "GRU4", 4))
        FMT("gru4rec model: payload does not start with GRU4");
    uint32_t ver = sr_rd_u32(&r);
    if (r.bad || (ver != PAYLOAD_VERSION && ver != PAYLOAD_VERSION_FLAGS))
        FMT("gru4rec model: payload version %u (this build reads %d and %d)", ver,
            PAYLOAD_VERSION, PAYLOAD_VERSION_FLAGS);
    uint32_t flags = ver == PAYLOAD_VERSION_FLAGS ? sr_rd_u32(&r) : 0;
    if (r.bad || (flags & ~(FLAG_STATE | FLAG_ONEHOT_OFFICIAL)))
        FMT("gru4rec model: unknown payload flags 0x%x", flags);
    sr_gru_params p;
    memset(&p, 0, sizeof p);
    uint32_t nl = sr_rd_u32(&r);
    if (r.bad || nl < 1 || nl > SR_MAX_LAYERS)
        FMT("gru4rec model: bad layer count %u", nl);
    p.n_layers = (int)nl;
    for (uint32_t l = 0; l < nl; l++)
        p.layers[l] = (int)(sr_rd_u32(&r) & 0x7fffffff);
    p.embedding = (int)(sr_rd_u32(&r) & 0x7fffffff);
    p.constrained_embedding = sr_rd_u32(&r) != 0;
    p.loss = (sr_loss)(sr_rd_u32(&r) & 0xff);
    p.optim = (sr_optim)(sr_rd_u32(&r) & 0xff);
    p.batch_size = (int)(sr_rd_u32(&r) & 0x7fffffff);
    p.dropout_p_embed = sr_rd_f32(&r);
    p.dropout_p_hidden = sr_rd_f32(&r);
    p.learning_rate = sr_rd_f32(&r);
    p.momentum = sr_rd_f32(&r);
    p.adam_beta1 = sr_rd_f32(&r);
    p.adam_beta2 = sr_rd_f32(&r);
    p.adam_eps = sr_rd_f32(&r);
    p.n_sample = (int)(sr_rd_u32(&r) & 0x7fffffff);
    p.sample_alpha = sr_rd_f32(&r);
    p.sample_store = (int64_t)(sr_rd_u64(&r) & 0x7fffffffffffffffULL);
    p.logq = sr_rd_f32(&r);
    p.bpreg = sr_rd_f32(&r);
    p.elu_param = sr_rd_f32(&r);
    p.n_epochs = (int)(sr_rd_u32(&r) & 0x7fffffff);
    p.seed = sr_rd_u64(&r);
    uint64_t n_items = sr_rd_u64(&r);
    uint32_t nt = sr_rd_u32(&r);
    if (r.bad)
        FMT("gru4rec model: truncated hyperparameters");
    if (m->n_items > 0 && (uint64_t)m->n_items != n_items)
        FMT("gru4rec model: %llu items in the network but %lld in the item table",
            (unsigned long long)n_items, (long long)m->n_items);
    sr_error e2;
    if (n_items >= INT32_MAX || check_params(&p, (int64_t)n_items, &e2) != SR_OK)
        FMT("gru4rec model: bad hyperparameters (%s)",
            n_items >= INT32_MAX ? "item count" : e2.msg);
    /* Shapes follow from the hyperparameters: check the payload holds exactly
     * them before allocating anything large. */
    sr_status st;
    sr_gru *g = gru_layout(&p, (int64_t)n_items, &e2, &st);
    if (!g)
        return sr_error_set(err, st == SR_ERR_NOMEM ? st : SR_ERR_FORMAT, "gru4rec model: %s",
                            e2.msg);
    if (nt != (uint32_t)g->nt)
        FAILG("gru4rec model: %u tensors, expected %d", nt, g->nt);
    if ((flags & FLAG_ONEHOT_OFFICIAL) && g->sh.mode != GRK_ONEHOT)
        FAILG("gru4rec model: one-hot cell flag on a model without one-hot input");
    g->sh.onehot_legacy = g->sh.mode == GRK_ONEHOT && !(flags & FLAG_ONEHOT_OFFICIAL);
    /* each tensor: name (4 + len), rows and cols (16), data */
    if (len - r.off < g->n_params * 4 + (size_t)g->nt * 20)
        FAILG("gru4rec model: payload truncated (%zu bytes left for %zu parameters)",
              len - r.off, g->n_params);
    if ((st = alloc_params(g, &e2)) != SR_OK) {
        sr_gru_free(g);
        return sr_error_set(err, st, "gru4rec model: %s", e2.msg);
    }
    for (int i = 0; i < g->nt; i++) {
        gten *t = &g->t[i];
        uint32_t nlen = sr_rd_u32(&r);
        const char *name = nlen < 8 ? sr_rd_bytes(&r, nlen) : NULL;
        uint64_t rows = sr_rd_u64(&r), cols = sr_rd_u64(&r);
        size_t n = (size_t)(t->rows * t->cols);
        if (r.bad || !name || nlen != strlen(t->name) || memcmp(name, t->name, nlen) ||
            rows != (uint64_t)t->rows || cols != (uint64_t)t->cols)
            FAILG("gru4rec model: tensor %d is not the expected %s (%lld x %lld)", i, t->name,
                  (long long)t->rows, (long long)t->cols);
        const uint8_t *raw = sr_rd_bytes(&r, n * 4);
        if (!raw)
            FAILG("gru4rec model: tensor %s is truncated", t->name);
        for (size_t j = 0; j < n; j++) {
            uint32_t u = (uint32_t)raw[4 * j] | (uint32_t)raw[4 * j + 1] << 8 |
                         (uint32_t)raw[4 * j + 2] << 16 | (uint32_t)raw[4 * j + 3] << 24;
            float f;
            memcpy(&f, &u, sizeof f);
            if (!isfinite(f))
                FAILG("gru4rec model: tensor %s holds a non-finite value at %zu", t->name, j);
            t->w[j] = f;
        }
    }
    if ((flags & FLAG_STATE) && (st = get_state(&r, g, &e2)) != SR_OK) {
        sr_gru_free(g);
        return sr_error_set(err, st, "%s", e2.msg);
    }
    if (r.off != len)
        FAILG("gru4rec model: %zu unexpected bytes after the %s", len - r.off,
              (flags & FLAG_STATE) ? "training state" : "parameters");
    m->impl = g;
    /* A network read from bytes is the model's own, whichever plug-in read it
     * (a view's check of its own bytes included): the owning vtable frees it. */
    m->vt = &sr_gru4rec_vt;
    return SR_OK;
#undef FMT
#undef FAILG
}

static void vt_free_impl(void *impl) { sr_gru_free(impl); }

/* Every member but free_impl, shared by the owning plug-in and the view. */
#define GRU4REC_VT_COMMON                                                                 \
    .algo = "gru4rec", .scorer_new = vt_scorer_new, .scorer_free = vt_scorer_free,        \
    .reset = vt_reset, .step = vt_step, .move = vt_move, .serialize = vt_serialize,       \
    .deserialize = vt_deserialize, .state = &gru_state_vt

const sr_model_vt sr_gru4rec_vt = {GRU4REC_VT_COMMON, .free_impl = vt_free_impl};

/* The same plug-in without ownership: freeing the model leaves the network. */
static const sr_model_vt gru4rec_view_vt = {GRU4REC_VT_COMMON, .free_impl = NULL};
#undef GRU4REC_VT_COMMON

sr_model *sr_gru_model_view(sr_gru *g, const int64_t *item_ids)
{
    sr_model *m = sr_model_new_shell(&gru4rec_view_vt, g->sh.N, item_ids);
    if (m)
        m->impl = g;
    return m;
}

sr_model *sr_gru_to_model(sr_gru *g, const int64_t *item_ids)
{
    sr_model *m = sr_model_new_shell(&sr_gru4rec_vt, g->sh.N, item_ids);
    if (!m) {
        sr_gru_free(g);
        return NULL;
    }
    free_training(g);
    m->impl = g;
    return m;
}
