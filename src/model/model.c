/*
 * model.c - the algorithm-independent part of sr_model and sr_scorer: the item
 * table, id lookup, and dispatch through the algorithm's sr_model_vt.
 * Must never know any algorithm's internals.
 */
#include "model/model.h"

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
    free(m);
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

void sr_scorer_reset(sr_scorer *s, int slot) { s->m->vt->reset(s, slot); }

void sr_scorer_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    s->m->vt->step(s, items, n, scores);
}

void sr_scorer_move(sr_scorer *s, int dst, int src)
{
    if (dst != src)
        s->m->vt->move(s, dst, src);
}
