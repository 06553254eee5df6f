/*
 * session.c - live sessions (sr_session): the per-session state of any
 * algorithm outside the scorer, batched stepping and scoring of arbitrary
 * sessions through a scorer used as scratch, top-k with exclude_seen, and
 * sessions as bytes.
 *
 * Algorithms with a state (sr_model_vt.state, GRU4Rec) are gathered into
 * scorer slots 0..n-1 with put, stepped together, and scattered back with get.
 * Algorithms without one keep nothing but the clicks (the baselines): a slot is
 * rebuilt by feeding the session's remembered clicks through slot 0 and moving
 * it into place. Must never print or exit; allocates only when a session's
 * click array grows (before anything changes, so a failure changes nothing).
 */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sr_session {
    const sr_model *m;
    int32_t n, cap;             /* remembered clicks, capacity of `items` */
    int32_t *items;             /* (cap) oldest first */
    int64_t total;              /* clicks fed since creation */
    size_t state_bytes;
    float state[];              /* (state_bytes / 4, rounded up) the algorithm's state */
};

static size_t state_size(const sr_model *m)
{
    return m->vt->state ? m->vt->state->size(m) : 0;
}

sr_session *sr_session_new(const sr_model *m)
{
    size_t sb = state_size(m);
    size_t nf = (sb + sizeof(float) - 1) / sizeof(float);
    sr_session *s = calloc(1, sizeof *s + nf * sizeof(float));
    if (!s)
        return NULL;
    s->m = m;
    s->state_bytes = sb;
    return s;
}

void sr_session_free(sr_session *s)
{
    if (!s)
        return;
    free(s->items);
    free(s);
}

const sr_model *sr_session_model(const sr_session *s) { return s->m; }
int sr_session_length(const sr_session *s) { return s->n; }
const int32_t *sr_session_items(const sr_session *s) { return s->items; }
int64_t sr_session_clicks_total(const sr_session *s) { return s->total; }

size_t sr_session_bytes(const sr_session *s)
{
    size_t nf = (s->state_bytes + sizeof(float) - 1) / sizeof(float);
    return sizeof *s + nf * sizeof(float) + (size_t)s->cap * sizeof *s->items;
}

/* Room for one more click (no-op when full: the oldest is dropped on push). */
static int reserve_one(sr_session *s)
{
    if (s->n < s->cap || s->cap == SR_SESSION_MAX_CLICKS)
        return 0;
    int32_t nc = s->cap ? s->cap * 2 : 4;
    if (nc > SR_SESSION_MAX_CLICKS)
        nc = SR_SESSION_MAX_CLICKS;
    int32_t *p = realloc(s->items, (size_t)nc * sizeof *p);
    if (!p)
        return -1;
    s->items = p;
    s->cap = nc;
    return 0;
}

static void push(sr_session *s, int32_t item)
{
    if (s->n == SR_SESSION_MAX_CLICKS) {
        memmove(s->items, s->items + 1, (SR_SESSION_MAX_CLICKS - 1) * sizeof *s->items);
        s->n--;
    }
    s->items[s->n++] = item;
    s->total++;
}

/* Puts sessions 0..n-1 into slots 0..n-1 of ws: their state, or (no state)
 * their clicks, leaving out the last one of each when drop_last. */
static void load(sr_scorer *ws, const sr_session *const *sess, int n, int drop_last)
{
    const sr_model_vt *vt = ws->m->vt;
    ws->cols_n = -1;
    ws->bounds_ready = 0;
    if (vt->state) {
        for (int i = 0; i < n; i++)
            vt->state->put(ws, i, sess[i]->state);
        return;
    }
    /* slot 0 is the workbench, so it is filled last */
    for (int i = n - 1; i >= 0; i--) {
        vt->reset(ws, 0);
        int len = sess[i]->n - (drop_last && sess[i]->n > 0);
        for (int j = 0; j < len; j++)
            vt->step(ws, &sess[i]->items[j], 1, NULL);
        if (i > 0)
            vt->move(ws, i, 0);
    }
}

static sr_status check_call(const sr_scorer *ws, const sr_session *const *sess, int n,
                            sr_error *err)
{
    if (!ws || n < 0 || n > ws->max_batch || (n > 0 && !sess))
        return sr_error_set(err, SR_ERR_ARG, "session batch of %d (scorer holds %d)", n,
                            ws ? ws->max_batch : 0);
    for (int i = 0; i < n; i++)
        if (!sess[i] || sess[i]->m != ws->m)
            return sr_error_set(err, SR_ERR_ARG,
                                "session %d of the batch belongs to another model", i);
    return SR_OK;
}

sr_status sr_session_step(sr_scorer *ws, sr_session *const *sess, const int32_t *items, int n,
                          float *scores, sr_error *err)
{
    sr_status st = check_call(ws, (const sr_session *const *)sess, n, err);
    if (st != SR_OK)
        return st;
    for (int i = 0; i < n; i++)
        if (items[i] < 0 || items[i] >= ws->m->n_items)
            return sr_error_set(err, SR_ERR_ARG, "item index %d outside 0..%lld", (int)items[i],
                                (long long)ws->m->n_items - 1);
    for (int i = 0; i < n; i++)
        if (reserve_one(sess[i]) != 0)
            return sr_error_set(err, SR_ERR_NOMEM, "out of memory growing a session");
    if (n == 0)
        return SR_OK;
    const sr_model_vt *vt = ws->m->vt;
    load(ws, (const sr_session *const *)sess, n, 0);
    if (vt->state) { /* advance, then the same scoring as sr_session_scores */
        vt->step(ws, items, n, NULL);
        if (scores)
            vt->state->score(ws, n, scores);
    } else {
        vt->step(ws, items, n, scores);
    }
    for (int i = 0; i < n; i++) {
        if (vt->state)
            vt->state->get(ws, i, sess[i]->state);
        push(sess[i], items[i]);
    }
    return SR_OK;
}

sr_status sr_session_scores(sr_scorer *ws, const sr_session *const *sess, int n, float *scores,
                            sr_error *err)
{
    sr_status st = check_call(ws, sess, n, err);
    if (st != SR_OK)
        return st;
    if (n == 0)
        return SR_OK;
    const sr_model_vt *vt = ws->m->vt;
    load(ws, sess, n, 1);
    if (vt->state) {
        vt->state->score(ws, n, scores);
        return SR_OK;
    }
    /* the last click again, this time with scores; -1 (no click) for an empty session */
    int32_t last[256];
    int32_t *in = n <= 256 ? last : malloc((size_t)n * sizeof *in);
    if (!in)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory scoring %d sessions", n);
    for (int i = 0; i < n; i++)
        in[i] = sess[i]->n ? sess[i]->items[sess[i]->n - 1] : -1;
    vt->step(ws, in, n, scores);
    if (in != last)
        free(in);
    return SR_OK;
}

int sr_model_score_split(const sr_model *m)
{
    const sr_state_vt *st = m->vt->state;
    return st && st->score_cols ? st->cols_align : 0;
}

/* The checks and loading of sr_session_scores_cols and
 * sr_session_score_bounds_cols; *go = 0 when there is nothing to compute. */
static sr_status cols_call(sr_scorer *ws, const sr_session *const *sess, int n, int64_t i0,
                           int64_t i1, const float *out, int64_t ldo, int *go, sr_error *err)
{
    *go = 0;
    /* sess == NULL: the sessions are those already loaded (checked when loaded) */
    sr_status st = check_call(ws, sess, sess ? n : 0, err);
    if (st != SR_OK)
        return st;
    if (!sess && n != 0 && (n < 0 || n != ws->cols_n))
        return sr_error_set(err, SR_ERR_ARG, "no batch of %d sessions loaded in this scorer "
                            "(sess == NULL reuses the previous call's)", n);
    const int64_t N = ws->m->n_items;
    const int a = sr_model_score_split(ws->m);
    if (!a)
        return sr_error_set(err, SR_ERR_ARG, "the %s model's scoring does not split by items",
                            ws->m->vt->algo);
    if (i0 < 0 || i1 > N || i0 > i1 || (i0 % a && i0 != N) || (i1 % a && i1 != N))
        return sr_error_set(err, SR_ERR_ARG, "item range [%lld, %lld) of %lld items (bounds: "
                            "multiples of %d, or the item count)", (long long)i0, (long long)i1,
                            (long long)N, a);
    if (ldo < i1 - i0 || (n > 0 && i1 > i0 && !out))
        return sr_error_set(err, SR_ERR_ARG, "output row stride %lld for %lld items",
                            (long long)ldo, (long long)(i1 - i0));
    if (n == 0)
        return SR_OK;
    if (sess) {
        load(ws, sess, n, 1);
        ws->cols_n = n;
    }
    *go = i0 < i1;
    return SR_OK;
}

sr_status sr_session_scores_cols(sr_scorer *ws, const sr_session *const *sess, int n,
                                 int64_t i0, int64_t i1, float *out, int64_t ldo, sr_error *err)
{
    int go;
    sr_status st = cols_call(ws, sess, n, i0, i1, out, ldo, &go, err);
    if (st != SR_OK || !go)
        return st;
    if (ws->m->vt->state->score_cols(ws, n, i0, i1, out, ldo) != 0)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory scoring %d sessions", n);
    return SR_OK;
}

int sr_model_score_bounds(const sr_model *m)
{
    return sr_model_score_split(m) > 0 && m->vt->state->bound_cols != NULL;
}

const float *sr_model_score_bound_weights(const sr_model *m)
{
    if (!sr_model_score_bounds(m) || !m->vt->state->bound_weights)
        return NULL;
    return m->vt->state->bound_weights(m);
}

sr_status sr_session_score_bounds_cols(sr_scorer *ws, const sr_session *const *sess, int n,
                                       int64_t i0, int64_t i1, float *mid, int64_t ldo,
                                       float *rad, sr_error *err)
{
    if (ws && !sr_model_score_bounds(ws->m))
        return sr_error_set(err, SR_ERR_ARG, "the %s model has no score bounds",
                            ws->m->vt->algo);
    if (n > 0 && !rad)
        return sr_error_set(err, SR_ERR_ARG, "no array for the radii");
    int go;
    sr_status st = cols_call(ws, sess, n, i0, i1, mid, ldo, &go, err);
    if (st != SR_OK || !go)
        return st;
    int fresh = !ws->bounds_ready;
    ws->bounds_ready = 0;
    if (ws->m->vt->state->bound_cols(ws, n, fresh, i0, i1, mid, ldo, rad) != 0)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory bounding %d sessions' scores", n);
    ws->bounds_ready = 1;
    return SR_OK;
}

sr_status sr_session_scores_items(sr_scorer *ws, const sr_session *const *sess, int n,
                                  const int32_t *items, int m, float *out, int64_t ldo,
                                  sr_error *err)
{
    sr_status st = check_call(ws, sess, n, err);
    if (st != SR_OK)
        return st;
    const int64_t N = ws->m->n_items;
    if (m < 0 || ldo < m || (m > 0 && !items) || (n > 0 && m > 0 && !out))
        return sr_error_set(err, SR_ERR_ARG, "%d listed items, output row stride %lld", m,
                            (long long)ldo);
    for (int j = 0; j < m; j++)
        if (items[j] < 0 || items[j] >= N)
            return sr_error_set(err, SR_ERR_ARG, "item index %d outside 0..%lld", (int)items[j],
                                (long long)N - 1);
    if (n == 0 || m == 0)
        return SR_OK;
    const sr_state_vt *sv = ws->m->vt->state;
    if (sv && sv->score_items) {
        load(ws, sess, n, 1);
        if (sv->score_items(ws, n, items, m, out, ldo) != 0)
            return sr_error_set(err, SR_ERR_NOMEM, "out of memory scoring %d sessions", n);
        return SR_OK;
    }
    float *all = malloc((size_t)n * (size_t)N * sizeof *all); /* all items, then pick */
    if (!all)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory scoring %d sessions", n);
    st = sr_session_scores(ws, sess, n, all, err);
    if (st == SR_OK)
        for (int r = 0; r < n; r++)
            for (int j = 0; j < m; j++)
                out[(size_t)r * (size_t)ldo + (size_t)j] = all[(size_t)r * (size_t)N + items[j]];
    free(all);
    return st;
}

int sr_session_topk(const sr_session *s, float *scores, int k, int exclude_seen, int32_t *idx,
                    float *val)
{
    if (exclude_seen)
        for (int j = 0; j < s->n; j++)
            scores[s->items[j]] = NAN;
    return sr_topk(scores, s->m->n_items, k, idx, val);
}

sr_status sr_session_click(sr_scorer *ws, sr_session *s, int32_t item, sr_error *err)
{
    return sr_session_step(ws, &s, &item, 1, NULL, err);
}

int sr_session_recommend(sr_scorer *ws, const sr_session *s, int k, int exclude_seen,
                         int32_t *idx, float *val)
{
    if (!ws->row) {
        ws->row = malloc((size_t)(ws->m->n_items > 0 ? ws->m->n_items : 1) * sizeof *ws->row);
        if (!ws->row)
            return -1;
    }
    if (sr_session_scores(ws, &s, 1, ws->row, NULL) != SR_OK)
        return -1;
    return sr_session_topk(s, ws->row, k, exclude_seen, idx, val);
}

/* ---- bytes ----------------------------------------------------------------------------- */

/* "SRS1", u32 state bytes, u32 remembered clicks, u64 total clicks, the state,
 * the clicks as u32; all little-endian (floats as their bits). */
#define SESS_MAGIC 0x31535253u
#define SESS_HEAD 20

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t sr_session_save(const sr_session *s, void *buf, size_t cap)
{
    size_t sb4 = (s->state_bytes + 3) / 4 * 4;
    size_t need = SESS_HEAD + sb4 + (size_t)s->n * 4;
    if (!buf || cap < need)
        return need;
    uint8_t *p = buf;
    put_u32(p, SESS_MAGIC);
    put_u32(p + 4, (uint32_t)s->state_bytes);
    put_u32(p + 8, (uint32_t)s->n);
    put_u32(p + 12, (uint32_t)((uint64_t)s->total & 0xffffffffu));
    put_u32(p + 16, (uint32_t)((uint64_t)s->total >> 32));
    p += SESS_HEAD;
    const uint8_t *st = (const uint8_t *)s->state;
    for (size_t i = 0; i < sb4; i += 4) { /* 32-bit words, little-endian */
        uint32_t w;
        memcpy(&w, st + i, 4);
        put_u32(p + i, w);
    }
    p += sb4;
    for (int i = 0; i < s->n; i++)
        put_u32(p + 4 * (size_t)i, (uint32_t)s->items[i]);
    return need;
}

sr_status sr_session_restore(const sr_model *m, const void *buf, size_t len, sr_session **out,
                             sr_error *err)
{
    *out = NULL;
    const uint8_t *p = buf;
    if (!buf || len < SESS_HEAD || get_u32(p) != SESS_MAGIC)
        return sr_error_set(err, SR_ERR_FORMAT, "session bytes: bad header (%zu bytes)", len);
    size_t sb = get_u32(p + 4);
    uint32_t n = get_u32(p + 8);
    uint64_t total = get_u32(p + 12) | (uint64_t)get_u32(p + 16) << 32;
    if (sb != state_size(m))
        return sr_error_set(err, SR_ERR_FORMAT,
                            "session bytes: state of %zu bytes, the %s model has %zu", sb,
                            m->vt->algo, state_size(m));
    size_t sb4 = (sb + 3) / 4 * 4;
    if (n > SR_SESSION_MAX_CLICKS || total < n || total > INT64_MAX ||
        len != SESS_HEAD + sb4 + (size_t)n * 4)
        return sr_error_set(err, SR_ERR_FORMAT,
                            "session bytes: %u clicks (total %llu) do not fit %zu bytes", n,
                            (unsigned long long)total, len);
    sr_session *s = sr_session_new(m);
    if (!s)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory restoring a session");
    p += SESS_HEAD;
    uint8_t *st = (uint8_t *)s->state;
    for (size_t i = 0; i < sb4; i += 4) {
        uint32_t w = get_u32(p + i);
        memcpy(st + i, &w, 4);
    }
    p += sb4;
    if (n) {
        s->items = malloc((size_t)n * sizeof *s->items);
        if (!s->items) {
            sr_session_free(s);
            return sr_error_set(err, SR_ERR_NOMEM, "out of memory restoring a session");
        }
        s->cap = (int32_t)n;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t it = get_u32(p + 4 * (size_t)i);
        if ((int64_t)it >= m->n_items) {
            sr_session_free(s);
            return sr_error_set(err, SR_ERR_FORMAT,
                                "session bytes: click %u is item %u, the model has %lld", i, it,
                                (long long)m->n_items);
        }
        s->items[i] = (int32_t)it;
    }
    s->n = (int32_t)n;
    s->total = (int64_t)total;
    *out = s;
    return SR_OK;
}
