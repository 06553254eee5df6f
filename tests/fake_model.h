/*
 * fake_model.h - a tiny algorithm ("testfake") for tests and the model-file
 * fuzz target: exercises the generic model container without any real
 * algorithm. Payload: u32 tag 0x454b4146 ("FAKE"), u32 k, k floats (k >= 1).
 * Scores of item j = w[j % k] + (last item fed) * 0.001. Header-only; include
 * once per program. It is a row of fake_table (the library's rows plus this
 * one): pass that table to sr_train_in / sr_model_load_mem_from /
 * sr_model_load_from. The library's own table does not know it.
 */
#ifndef SR_FAKE_MODEL_H
#define SR_FAKE_MODEL_H

#include "model/model.h"
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

typedef struct fake_impl {
    uint32_t k;
    float *w; /* (k) */
} fake_impl;

typedef struct fake_scorer {
    sr_scorer base;
    int32_t *last; /* (max_batch) */
} fake_scorer;

static sr_scorer *fake_scorer_new(const sr_model *m, int max_batch)
{
    (void)m;
    fake_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->last = calloc((size_t)max_batch, sizeof *s->last);
    if (!s->last) {
        free(s);
        return NULL;
    }
    return &s->base;
}

static void fake_scorer_free(sr_scorer *s)
{
    fake_scorer *f = (fake_scorer *)s;
    free(f->last);
    free(f);
}

static void fake_reset(sr_scorer *s, int slot) { ((fake_scorer *)s)->last[slot] = 0; }

static void fake_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    fake_scorer *f = (fake_scorer *)s;
    const fake_impl *im = s->m->impl;
    for (int i = 0; i < n; i++) {
        f->last[i] = items[i];
        for (int64_t j = 0; j < s->m->n_items; j++)
            scores[(int64_t)i * s->m->n_items + j] = im->w[j % im->k] + 0.001f * (float)items[i];
    }
}

static void fake_move(sr_scorer *s, int dst, int src)
{
    fake_scorer *f = (fake_scorer *)s;
    f->last[dst] = f->last[src];
}

static sr_status fake_serialize(const sr_model *m, sr_buf *out)
{
    const fake_impl *im = m->impl;
    sr_buf_u32(out, 0x454b4146u);
    sr_buf_u32(out, im->k);
    for (uint32_t i = 0; i < im->k; i++)
        sr_buf_f32(out, im->w[i]);
    return out->oom ? SR_ERR_NOMEM : SR_OK;
}

static void fake_free_impl(void *p)
{
    fake_impl *im = p;
    if (im) {
        free(im->w);
        free(im);
    }
}

static sr_status fake_deserialize(sr_model *m, const uint8_t *p, size_t len, sr_error *err)
{
    sr_rd r = {p, len, 0, 0};
    uint32_t tag = sr_rd_u32(&r), k = sr_rd_u32(&r);
    if (r.bad || tag != 0x454b4146u)
        return sr_error_set(err, SR_ERR_FORMAT, "no FAKE tag");
    if (k < 1 || (uint64_t)k * 4 != len - 8)
        return sr_error_set(err, SR_ERR_FORMAT, "%zu payload bytes do not hold k=%u floats", len, k);
    fake_impl *im = calloc(1, sizeof *im);
    if (!im)
        return SR_ERR_NOMEM;
    im->k = k;
    im->w = malloc((size_t)k * sizeof *im->w);
    if (!im->w) {
        free(im);
        return SR_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < k; i++)
        im->w[i] = sr_rd_f32(&r);
    m->impl = im;
    return SR_OK;
}

static const sr_model_vt fake_vt = {
    "testfake",     fake_scorer_new,  fake_scorer_free, fake_reset,     fake_step,
    fake_move,      fake_serialize,   fake_deserialize, fake_free_impl,   NULL,
};

/* A fake model over item ids ids[0..n) with weights w[0..k). */
static inline sr_model *fake_model_new(int64_t n, const int64_t *ids, uint32_t k, const float *w)
{
    sr_model *m = sr_model_new_shell(&fake_vt, n, ids);
    fake_impl *im = calloc(1, sizeof *im);
    if (!m || !im) {
        free(im);
        sr_model_free(m);
        return NULL;
    }
    im->k = k;
    im->w = malloc((size_t)k * sizeof *im->w);
    memcpy(im->w, w, (size_t)k * sizeof *w);
    m->impl = im;
    return m;
}

/* Training: w[j] = clicks of the split's item j (j < k), the model holds
 * every item of the split's table. Parameters: "k=N,..." (1..1000, default 3). */
static sr_status fake_train(const sr_split *train, const char *params, const sr_train_opts *opts,
                            sr_model **out, sr_error *err)
{
    (void)opts;
    *out = NULL;
    long k = 3;
    for (const char *s = params; s && *s;) { /* "k=N,k=N,...": the last one wins */
        char *end;
        if (strncmp(s, "k=", 2) || (k = strtol(s + 2, &end, 10)) < 1 || k > 1000 ||
            (*end && *end != ','))
            return sr_error_set(err, SR_ERR_ARG, "testfake: bad parameters '%s'", params);
        s = *end ? end + 1 : end;
    }
    if (!train || train->n_items < 1)
        return sr_error_set(err, SR_ERR_EMPTY, "testfake: no items");
    float *w = calloc((size_t)k, sizeof *w);
    if (!w)
        return SR_ERR_NOMEM;
    for (int64_t e = 0; e < train->n_events; e++)
        if (train->items[e] < k)
            w[train->items[e]] += 1;
    *out = fake_model_new(train->n_items, train->item_ids, (uint32_t)k, w);
    free(w);
    return *out ? SR_OK : SR_ERR_NOMEM;
}

static const sr_param_info fake_params[] = {
    {"k", NULL, SR_PARAM_INT, 0, 1, 1000, NULL, "3", "number of weights"},
};
static const sr_preset_info fake_presets[] = {
    {"five", "k=5", "five weights"},
};
static const sr_algo fake_algo = {
    {"testfake", "a tiny algorithm of the tests", fake_params, 1, fake_presets, 1},
    &fake_vt, fake_train};

/* The library's rows and testfake: a table of the test's own, const. */
static const sr_algo *const fake_rows[] = {
    &sr_algo_gru4rec, &sr_algo_pop,  &sr_algo_spop,  &sr_algo_iknn, &sr_algo_ar,
    &sr_algo_sr,      &sr_algo_sknn, &sr_algo_vsknn, &sr_algo_stan, &fake_algo,
};
static const sr_algo_table fake_table = {fake_rows, (int)(sizeof fake_rows / sizeof fake_rows[0])};

#endif
