/*
 * fake_model.h - a tiny algorithm ("testfake") for tests and the model-file
 * fuzz target: exercises the generic model container without any real
 * algorithm. Payload: u32 tag 0x454b4146 ("FAKE"), u32 k, k floats (k >= 1).
 * Scores of item j = w[j % k] + (last item fed) * 0.001. Header-only; include
 * once per program and register with sr_model_vt_register_test(&fake_vt).
 */
#ifndef SR_FAKE_MODEL_H
#define SR_FAKE_MODEL_H

#include "model/model.h"

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

#endif
