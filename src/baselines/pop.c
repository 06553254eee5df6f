/*
 * pop.c - popularity baselines, as session-rec's Pop and SessionPop:
 *   pop:  score(i) = supp_i / (supp_i + 1)          (supp = training clicks of i)
 *   spop: score(s, i) = clicks of i in the session s so far + supp_i / (supp_i + 1)
 * Only the top_n most popular items get a popularity score (pop: all by
 * default, spop: 100 by default, as session-rec).
 *
 * Only the ORDER of scores matters to evaluation, and supp/(supp+1) is not
 * representable in float without merging nearby counts, so we write order-
 * equivalent floats: pop writes supp_i; spop writes c * (R + 1) + r_i, where
 * c is the item's count in the session and r_i in 1..R is the dense rank of
 * supp_i among the R distinct counts of the top_n items (0 outside them).
 *
 * Must never print or exit; scoring allocates nothing.
 */
#include "baselines/common.h"

#include <stdlib.h>
#include <string.h>

typedef struct pop_params {
    int top_n;          /* 0 = None: every item */
} pop_params;

static const sr_param_info pop_defs[] = {
    {"top_n", NULL, SR_PARAM_INT, offsetof(pop_params, top_n), 0, 2147483647.0, NULL, "None",
     "only the top_n most popular items get a popularity score (None: all)"},
};
/* spop: the same parameter with session-rec's SessionPop default. */
static const sr_param_info spop_defs[] = {
    {"top_n", NULL, SR_PARAM_INT, offsetof(pop_params, top_n), 0, 2147483647.0, NULL, "100",
     "only the top_n most popular items get a popularity score (None: all)"},
};

typedef struct pop_model {
    int session_pop;
    pop_params p;
    char params[64];
    int64_t *count;     /* (n_items) training clicks */
    float *base;        /* (n_items) popularity part of the score */
    float mult;         /* spop: weight of one session click (R + 1) */
} pop_model;

typedef struct pop_scorer {
    sr_scorer hdr;
    bl_hist h;
    int32_t *cnt;       /* (n_items) spop: clicks in the current session, zero between uses */
} pop_scorer;

static void pop_free(void *impl)
{
    pop_model *p = impl;
    if (!p)
        return;
    free(p->count);
    free(p->base);
    free(p);
}

/* qsort has no context argument: sort (count, index) pairs instead. */
typedef struct cidx {
    int64_t count, idx;
} cidx;

static int cidx_cmp(const void *a, const void *b)
{
    const cidx *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Derives base[] and mult from count[] and the parameters. */
static sr_status pop_derive(pop_model *p, int64_t n)
{
    cidx *o = malloc((size_t)n * sizeof *o);
    p->base = calloc((size_t)n, sizeof *p->base);
    if (!o || !p->base) {
        free(o);
        return SR_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++)
        o[i] = (cidx){p->count[i], i};
    qsort(o, (size_t)n, sizeof *o, cidx_cmp);
    int64_t top = p->p.top_n > 0 && p->p.top_n < n ? p->p.top_n : n;
    /* dense ranks: the least popular kept item gets 1 */
    int64_t r = 0;
    for (int64_t k = top - 1; k >= 0; k--) {
        if (k == top - 1 || o[k].count != o[k + 1].count)
            r++;
        p->base[o[k].idx] = p->session_pop ? (float)r : (float)o[k].count;
    }
    p->mult = (float)(r + 1);
    free(o);
    return SR_OK;
}

static sr_scorer *pop_scorer_new(const sr_model *m, int max_batch)
{
    pop_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cnt = calloc((size_t)(m->n_items ? m->n_items : 1), sizeof *s->cnt);
    if (!s->cnt || sr_bl_hist_init(&s->h, max_batch) != SR_OK) {
        free(s->cnt);
        free(s);
        return NULL;
    }
    return &s->hdr;
}

static void pop_scorer_free(sr_scorer *s)
{
    pop_scorer *x = (pop_scorer *)s;
    sr_bl_hist_free(&x->h);
    free(x->cnt);
    free(x);
}

static void pop_reset(sr_scorer *s, int slot) { sr_bl_hist_reset(&((pop_scorer *)s)->h, slot); }

static void pop_move(sr_scorer *s, int dst, int src)
{
    sr_bl_hist_move(&((pop_scorer *)s)->h, dst, src);
}

static void pop_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    pop_scorer *x = (pop_scorer *)s;
    const pop_model *p = s->m->impl;
    const int64_t ni = s->m->n_items;
    for (int r = 0; r < n; r++) {
        float *row = scores ? scores + (size_t)r * (size_t)ni : NULL; /* (n_items) */
        if (row)
            memcpy(row, p->base, (size_t)ni * sizeof *row);
        if (items[r] < 0 || items[r] >= ni)
            continue;
        sr_bl_hist_push(&x->h, r, items[r]);
        if (!row || !p->session_pop)
            continue;
        const int32_t *h = sr_bl_hist_items(&x->h, r);
        int len = x->h.len[r];
        for (int j = 0; j < len; j++)
            x->cnt[h[j]]++;
        for (int j = 0; j < len; j++)
            if (x->cnt[h[j]]) {
                row[h[j]] += (float)x->cnt[h[j]] * p->mult;
                x->cnt[h[j]] = 0;
            }
    }
}

#define POP_MAGIC 0x31504f50u /* "POP1" */
#define POP_VERSION 1u

static sr_status pop_serialize(const sr_model *m, sr_buf *out)
{
    const pop_model *p = m->impl;
    sr_buf_u32(out, POP_MAGIC);
    sr_buf_u32(out, POP_VERSION);
    sr_buf_u32(out, (uint32_t)p->p.top_n);
    sr_buf_u64(out, (uint64_t)m->n_items);
    for (int64_t i = 0; i < m->n_items; i++)
        sr_buf_u64(out, (uint64_t)p->count[i]);
    return out->oom ? SR_ERR_NOMEM : SR_OK;
}

static sr_status pop_deserialize_common(sr_model *m, const uint8_t *buf, size_t len,
                                        int session_pop, sr_error *err)
{
    const char *algo = m->vt->algo;
    sr_rd r = {buf, len, 0, 0};
    uint32_t magic = sr_rd_u32(&r), ver = sr_rd_u32(&r), top = sr_rd_u32(&r);
    uint64_t n = sr_rd_u64(&r);
    if (r.bad || magic != POP_MAGIC)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: bad payload magic", algo);
    if (ver != POP_VERSION)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: unsupported payload version %u", algo,
                            ver);
    if (top > 2147483647u || n != (uint64_t)m->n_items || len - r.off != n * 8)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: corrupted payload (item count or "
                            "length)", algo);
    pop_model *p = calloc(1, sizeof *p);
    if (!p || !(p->count = malloc((size_t)(n ? n : 1) * sizeof *p->count))) {
        free(p);
        return sr_error_set(err, SR_ERR_NOMEM, "%s model: out of memory", algo);
    }
    p->session_pop = session_pop;
    p->p.top_n = (int)top;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t c = sr_rd_u64(&r);
        if (c > (uint64_t)INT64_MAX) {
            pop_free(p);
            return sr_error_set(err, SR_ERR_FORMAT, "%s model: corrupted payload (count)", algo);
        }
        p->count[i] = (int64_t)c;
    }
    if (pop_derive(p, (int64_t)n) != SR_OK) {
        pop_free(p);
        return sr_error_set(err, SR_ERR_NOMEM, "%s model: out of memory", algo);
    }
    sr_bl_params_format(pop_defs, 1, &p->p, p->params, sizeof p->params);
    m->impl = p;
    return SR_OK;
}

static sr_status pop_deserialize(sr_model *m, const uint8_t *b, size_t l, sr_error *e)
{
    return pop_deserialize_common(m, b, l, 0, e);
}

static sr_status spop_deserialize(sr_model *m, const uint8_t *b, size_t l, sr_error *e)
{
    return pop_deserialize_common(m, b, l, 1, e);
}

static const sr_model_vt vt_pop = {"pop", pop_scorer_new, pop_scorer_free, pop_reset, pop_step,
                               pop_move, pop_serialize, pop_deserialize, pop_free, NULL};
static const sr_model_vt vt_spop = {"spop", pop_scorer_new, pop_scorer_free, pop_reset, pop_step,
                                pop_move, pop_serialize, spop_deserialize, pop_free, NULL};

static sr_status train_pop_common(const bl_data *d, const char *params, int session_pop,
                                  sr_model **out, sr_error *err)
{
    const char *algo = session_pop ? "spop" : "pop";
    pop_params pp = {session_pop ? 100 : 0};
    sr_status st = sr_bl_params_apply(algo, pop_defs, 1, &pp, params, err);
    if (st != SR_OK)
        return st;
    pop_model *p = calloc(1, sizeof *p);
    if (!p || !(p->count = malloc((size_t)d->n_items * sizeof *p->count))) {
        free(p);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
    }
    p->session_pop = session_pop;
    p->p = pp;
    memcpy(p->count, d->count, (size_t)d->n_items * sizeof *p->count);
    sr_bl_params_format(pop_defs, 1, &p->p, p->params, sizeof p->params);
    sr_model *m = NULL;
    if (pop_derive(p, d->n_items) != SR_OK ||
        !(m = sr_model_new_shell(session_pop ? &vt_spop : &vt_pop, d->n_items,
                                 d->item_ids))) {
        pop_free(p);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
    }
    m->impl = p;
    *out = m;
    return SR_OK;
}

static sr_status train_with(const sr_split *train, const char *params, int session_pop,
                            sr_model **out, sr_error *err)
{
    bl_data d;
    sr_status st = sr_bl_data_init(&d, train, session_pop ? "spop" : "pop", err);
    if (st != SR_OK)
        return st;
    st = train_pop_common(&d, params, session_pop, out, err);
    sr_bl_data_free(&d);
    return st;
}

static sr_status train_pop(const sr_split *train, const char *params, const sr_train_opts *opts,
                           sr_model **out, sr_error *err)
{
    (void)opts;
    return train_with(train, params, 0, out, err);
}

static sr_status train_spop(const sr_split *train, const char *params, const sr_train_opts *opts,
                            sr_model **out, sr_error *err)
{
    (void)opts;
    return train_with(train, params, 1, out, err);
}

const sr_algo sr_algo_pop = {
    {"pop", "popularity: the items with the most training clicks", pop_defs, BL_COUNT(pop_defs),
     NULL, 0},
    &vt_pop, train_pop};

const sr_algo sr_algo_spop = {
    {"spop", "session popularity: clicks in the session so far, then overall popularity",
     spop_defs, BL_COUNT(spop_defs), NULL, 0},
    &vt_spop, train_spop};
