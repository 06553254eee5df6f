/*
 * model.c - the algorithm-independent part of sr_model and sr_scorer: the item
 * table, id lookup, and dispatch through the algorithm's sr_model_vt.
 * Must never know any algorithm's internals.
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sr_model *sr_model_new_shell(const sr_model_vt *vt, int64_t n_items, const int64_t *item_ids)
{
    sr_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->vt = vt;
    m->n_items = n_items;
    m->item_ids = malloc((size_t)(n_items > 0 ? n_items : 1) * sizeof *m->item_ids);
    if (!m->item_ids || sr_map_init(&m->index, (size_t)n_items) != SR_OK) {
        free(m->item_ids);
        free(m);
        return NULL;
    }
    for (int64_t i = 0; i < n_items; i++) {
        m->item_ids[i] = item_ids[i];
        if (sr_map_put(&m->index, item_ids[i], (int32_t)i) == -2) {
            sr_model_free(m);
            return NULL;
        }
    }
    return m;
}

void sr_model_free(sr_model *m)
{
    if (!m)
        return;
    if (m->impl && m->vt && m->vt->free_impl)
        m->vt->free_impl(m->impl);
    free(m->item_ids);
    sr_map_free(&m->index);
    sr_intern_free(&m->text);
    free(m);
}

sr_status sr_model_set_text(sr_model *m, const sr_idtext *src, int by_id)
{
    if (!src || !src->text)
        return SR_OK;
    sr_intern_free(&m->text);
    for (int64_t j = 0; j < m->n_items; j++) {
        int64_t k = by_id ? m->item_ids[j] : j;
        if (k < 0 || k >= src->n) {
            sr_intern_free(&m->text);
            return SR_ERR_FORMAT;
        }
        const char *t = sr_idtext_get(src, k);
        int64_t r = sr_intern_put(&m->text, t, (size_t)(src->off[k + 1] - src->off[k] - 1));
        if (r != j) {
            sr_intern_free(&m->text);
            return r < 0 ? SR_ERR_NOMEM : SR_ERR_FORMAT;
        }
    }
    return SR_OK;
}

const char *sr_model_item_text(const sr_model *m, int64_t idx)
{
    if (!m->text.t.n || idx < 0 || idx >= m->n_items)
        return NULL;
    return sr_idtext_get(&m->text.t, idx);
}

const char *sr_model_item_name(const sr_model *m, int64_t idx, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    const char *t = sr_model_item_text(m, idx);
    if (t)
        snprintf(buf, cap, "%s", t);
    else if (idx >= 0 && idx < m->n_items)
        snprintf(buf, cap, "%lld", (long long)m->item_ids[idx]);
    else
        buf[0] = '\0';
    return buf;
}

/* A non-negative decimal integer that fits int64 (leading zeros allowed). */
static int parse_int_id(const char *s, size_t n, int64_t *v)
{
    if (n == 0)
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || x > ((uint64_t)INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return 0;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = (int64_t)x;
    return 1;
}

int64_t sr_model_item_find(const sr_model *m, const char *s, size_t n)
{
    if (m->text.t.n)
        return sr_intern_get(&m->text, s, n);
    int64_t id;
    return parse_int_id(s, n, &id) ? sr_map_get(&m->index, id) : -1;
}

int64_t sr_model_item_of_split(const sr_model *m, const sr_split *s, int64_t i)
{
    if (s->item_text.text) {
        const sr_idtext *t = &s->item_text;
        return sr_model_item_find(m, sr_idtext_get(t, i), (size_t)(t->off[i + 1] - t->off[i] - 1));
    }
    if (m->text.t.n) {
        char b[24];
        int l = snprintf(b, sizeof b, "%lld", (long long)s->item_ids[i]);
        return sr_intern_get(&m->text, b, (size_t)l);
    }
    return sr_map_get(&m->index, s->item_ids[i]);
}

int64_t sr_model_n_items(const sr_model *m) { return m->n_items; }
const int64_t *sr_model_item_ids(const sr_model *m) { return m->item_ids; }
const char *sr_model_algo(const sr_model *m) { return m->vt->algo; }

int64_t sr_model_item_index(const sr_model *m, int64_t item_id)
{
    return sr_map_get(&m->index, item_id);
}

sr_scorer *sr_scorer_new(const sr_model *m, int max_batch)
{
    if (max_batch < 1)
        return NULL;
    sr_scorer *s = m->vt->scorer_new(m, max_batch);
    if (s) {
        s->m = m;
        s->max_batch = max_batch;
        s->row = NULL;
        s->cols_n = -1;
    }
    return s;
}

void sr_scorer_free(sr_scorer *s)
{
    if (s) {
        free(s->row);
        s->m->vt->scorer_free(s);
    }
}

void sr_scorer_reset(sr_scorer *s, int slot)
{
    s->cols_n = -1;
    s->m->vt->reset(s, slot);
}

void sr_scorer_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    s->cols_n = -1;
    s->m->vt->step(s, items, n, scores);
}

void sr_scorer_move(sr_scorer *s, int dst, int src)
{
    s->cols_n = -1;
    if (dst != src)
        s->m->vt->move(s, dst, src);
}
