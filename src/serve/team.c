/*
 * team.c - a batching thread's helpers (see serve.h): one batch of sessions
 * scored by T threads at once, for models with score bounds
 * (sr_model_score_bounds: GRU4Rec). Each thread takes chunks of the items
 * with its own scorer and keeps every row's candidates among its chunks
 * while their bounds are still in its cache; then the threads take the rows
 * in turn and put each row's answer together. The order is sr_topk's (higher
 * score first, lower index on a tie), so the answer is the one
 * sr_session_scores + sr_session_topk give, bit for bit.
 *
 * Each thread loads the batch's states into its scorer once, then takes the
 * next chunk of CHUNK items from a shared counter until none is left.
 * Chunks are taken, not dealt: a thread the HTTP thread or the load
 * generator preempts does fewer of them, and the other does not wait for it
 * with its core idle (a fixed half each left the cores 17-20% idle at 64
 * connections). Each thread's chunks still come in increasing item order.
 * srv_team_each and srv_team_step hand out their work the same way or by
 * halves.
 *
 * A chunk gives each row a mid per item and a radius rad, item i's radius
 * being rad w[i] with the model's weights w: mid - rad w <= score <= mid +
 * rad w (sr_session_score_bounds_cols). A row keeps as candidates the items
 * whose mid + rad w reaches its floor, a lower bound of its final k-th best
 * score: first its seed (below), then, each time the candidates reach a
 * limit, the k-th best of their mid - rad w (k distinct items score at
 * least that), the candidates below it dropped. Then a row's candidates of
 * all parts are merged, its floor raised once more, the survivors scored
 * exactly (sr_session_scores_items) and ranked: every item that reaches the
 * k-th best score is among them. A row whose candidates overflow is scored
 * in full. That part is team_bounds.c.
 *
 * Seeds: before the chunks, each row's exact scores (sr_session_scores_items:
 * the very numbers of sr_session_scores) of the model's PROBE items best for
 * an empty session (the most popular, roughly) and of up to HINTS hint items:
 * the best of the last answer given to a session whose last click was the
 * same item (clicks on one item are followed by much the same items). The
 * k-th best of those distinct items' scores is a floor for the row's final
 * k-th best score, since those k items exist; exclude_seen leaves the seen
 * ones out; fewer than k left: no seed. The hints take the floor most of
 * the way up before the first chunk (yoochoose1_64 at 64 connections:
 * 229 -> 45 items taken as candidates per row).
 *
 * Hand-off: the batching thread bumps a generation counter and works on part
 * 0; helpers spin briefly on the counter (batches come back to back under
 * load), then sleep on a condition variable. Never prints or exits.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve/team_impl.h"

#include <math.h>
#include <sched.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define SPINS 2000 /* polls before a thread sleeps (a few microseconds) */

/* Items scored per chunk: the chunk's scores of a whole batch (37 rows * 4 KB
 * at the batches measured) are still in L2 when each row's top k goes
 * through them. */
#define CHUNK 1024

/* This chunk's share of row r's exclude_seen: its seen items' entries NaN. */
static void drop_seen(const srv_team *t, int r, float *row, int64_t c0, int64_t c1)
{
    const int32_t *seen = sr_session_items(t->sess[r]);
    for (int j = 0, len = sr_session_length(t->sess[r]); j < len; j++)
        if (seen[j] >= c0 && seen[j] < c1)
            row[seen[j] - c0] = NAN;
}

static void run_part(srv_team *t, srv_part *pt)
{
    const int64_t N = sr_model_n_items(t->m);
    const int64_t step = t->step;
    const sr_session *const *sess = (const sr_session *const *)t->sess;
    int loaded = 0;
    pt->st = SR_OK;
    pt->took = 0;
    for (int r = 0; r < t->n; r++) {
        pt->ncand[r] = 0;
        pt->floor[r] = t->seed[r];
        pt->lim[r] = t->lim0 + 2 * (t->k[r] > 0 ? t->k[r] : 0) < t->cap
                         ? t->lim0 + 2 * (t->k[r] > 0 ? t->k[r] : 0)
                         : t->cap;
    }
    for (;;) {
        int64_t c0 = (int64_t)atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed) * step;
        if (c0 >= N)
            break;
        int64_t c1 = c0 + step < N ? c0 + step : N;
        /* the first chunk loads the batch into the scorer; the others reuse it */
        pt->st = sr_session_score_bounds_cols(pt->ws, loaded ? NULL : sess, t->n, c0, c1, pt->buf,
                                              step, pt->rad, &pt->err);
        if (pt->st == SR_OK && pt->skew)
            pt->st = srv_bounds_skew(t, pt, c0, c1);
        if (pt->st != SR_OK)
            return;
        loaded = 1;
        pt->took++;
        for (int r = 0; r < t->n; r++) {
            float *row = pt->buf + (size_t)r * (size_t)step; /* item c0 + j at row[j] */
            if (t->excl[r])
                drop_seen(t, r, row, c0, c1);
            if (t->k[r] > 0 && pt->ncand[r] >= 0)
                srv_bounds_offer(t, pt, r, row, pt->rad[r], c1 - c0, c0);
        }
    }
}

static void *helper_main(void *arg)
{
    srv_part *pt = arg;
    srv_team *t = pt->t;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&t->gen, memory_order_acquire)) == seen &&
               !atomic_load(&t->stop)) {
            if (++spins < SPINS)
                continue;
            pthread_mutex_lock(&t->mu);
            while (atomic_load_explicit(&t->gen, memory_order_acquire) == seen &&
                   !atomic_load(&t->stop))
                pthread_cond_wait(&t->go, &t->mu);
            pthread_mutex_unlock(&t->mu);
        }
        if (atomic_load(&t->stop))
            return NULL;
        seen = g;
        t->task(t, pt);
        if (atomic_fetch_sub_explicit(&t->left, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&t->mu);
            pthread_cond_signal(&t->done);
            pthread_mutex_unlock(&t->mu);
        }
    }
}

srv_team *srv_team_new(int T, int batch_max, int max_k)
{
    srv_team *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->T = T < 1 ? 1 : T > 64 ? 64 : T; /* srv_bounds_finish keeps 64 heads */
    t->batch_max = batch_max;
    t->max_k = max_k;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->go, NULL);
    pthread_cond_init(&t->done, NULL);
    t->parts = calloc((size_t)t->T, sizeof *t->parts);
    t->pscore = malloc((size_t)batch_max * PROBE * sizeof *t->pscore);
    t->seed = malloc((size_t)batch_max * sizeof *t->seed);
    if (!t->parts || !t->pscore || !t->seed) {
        srv_team_free(t);
        return NULL;
    }
    for (int p = 0; p < t->T; p++) {
        t->parts[p].t = t;
        t->parts[p].id = p;
    }
    for (int p = 1; p < t->T; p++) {
        if (pthread_create(&t->parts[p].thread, NULL, helper_main, &t->parts[p]) != 0) {
            srv_team_free(t);
            return NULL;
        }
        t->started = p;
    }
    return t;
}

void srv_team_free(srv_team *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->stop, 1);
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
    for (int p = 1; p <= t->started; p++)
        pthread_join(t->parts[p].thread, NULL);
    if (t->parts)
        for (int p = 0; p < t->T; p++) {
            if (p > 0)
                sr_scorer_free(t->parts[p].ws);
            free(t->parts[p].buf); /* its whole room (part_room) */
            free(t->parts[p].skew);
        }
    free(t->parts);
    free(t->pscore);
    free(t->ones);
    free(t->seed);
    free(t->hint);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->go);
    pthread_cond_destroy(&t->done);
    free(t);
}

void srv_team_set_limits(srv_team *t, int cap, int lim0)
{
    if (cap >= 1 && cap < t->cap)
        t->cap = cap;
    if (lim0 >= 0)
        t->lim0 = lim0;
}

int srv_team_set_skew(srv_team *t)
{
    for (int p = 0; p < t->T; p++)
        if (!t->parts[p].skew &&
            !(t->parts[p].skew = malloc((size_t)t->batch_max * (size_t)t->step * sizeof(float))))
            return -1;
    return 0;
}

srv_team_stats srv_team_get_stats(const srv_team *t)
{
    return t->stats;
}

int srv_team_splits(const srv_team *t, const sr_model *m)
{
    return t && sr_model_score_bounds(m);
}

static int by_item(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The probe items of m: the PROBE best for an empty session. None (no seeds)
 * when out of memory. */
static void find_probe(srv_team *t, const sr_model *m)
{
    t->n_probe = 0;
    const int64_t N = sr_model_n_items(m);
    sr_scorer *ws = sr_scorer_new(m, 1);
    sr_session *e = sr_session_new(m);
    float *sc = malloc((size_t)N * sizeof *sc);
    const sr_session *one = e;
    if (ws && e && sc && sr_session_scores(ws, &one, 1, sc, NULL) == SR_OK) {
        int n = sr_topk(sc, N, PROBE, t->probe, NULL);
        for (int j = 0; j < n; j++) {
            t->probe_by_item[2 * j] = t->probe[j];
            t->probe_by_item[2 * j + 1] = j;
        }
        qsort(t->probe_by_item, (size_t)n, 2 * sizeof *t->probe_by_item, by_item);
        t->n_probe = n;
    }
    free(sc);
    sr_session_free(e);
    sr_scorer_free(ws);
}

/* item's place among the probe items, or -1 */
static int probe_place(const srv_team *t, int32_t item)
{
    const int32_t *hit = bsearch(&item, t->probe_by_item, (size_t)t->n_probe,
                                 2 * sizeof *t->probe_by_item, by_item);
    return hit ? hit[1] : -1;
}

static int seen_in(const sr_session *s, int32_t item)
{
    const int32_t *seen = sr_session_items(s);
    for (int j = 0, len = sr_session_length(s); j < len; j++)
        if (seen[j] == item)
            return 1;
    return 0;
}

/* s's hint items (see the top) into out (HINTS): valid, not probe items,
 * distinct, and not seen in s with excl. Returns their count. */
static int row_hints(const srv_team *t, const sr_session *s, int excl, int32_t *out)
{
    const int len = sr_session_length(s);
    if (!t->hint || len == 0 || (excl && len > 256)) /* a long history: not worth the scan */
        return 0;
    const int64_t N = sr_model_n_items(t->m);
    const int32_t *h = t->hint + (size_t)(sr_session_items(s)[len - 1] % t->n_hint) * HINTS;
    int n = 0;
    for (int j = 0; j < HINTS; j++) {
        int32_t x = h[j];
        if (x < 0 || x >= N || probe_place(t, x) >= 0 || (excl && seen_in(s, x)))
            continue;
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = out[i] == x;
        if (!dup)
            out[n++] = x;
    }
    return n;
}

/* Row r's seed (see the top) from its probe scores p (clobbered; NULL: none)
 * and its hints' scores: the k-th best of those not excluded, or -INFINITY
 * with fewer than k of them. */
static float row_seed(const srv_team *t, sr_scorer *ws, const sr_session *s, float *p, int k,
                      int excl)
{
    if (k <= 0)
        return -INFINITY;
    float v[PROBE + HINTS];
    int nv = 0;
    if (p) {
        if (excl) {
            const int32_t *seen = sr_session_items(s);
            for (int j = 0, len = sr_session_length(s); j < len; j++) {
                int at = probe_place(t, seen[j]);
                if (at >= 0)
                    p[at] = NAN;
            }
        }
        for (int j = 0; j < t->n_probe; j++)
            if (!isnan(p[j])) /* NaN never counts */
                v[nv++] = p[j];
    }
    int32_t hl[HINTS];
    int nh = row_hints(t, s, excl, hl);
    float *hv = v + nv;
    if (nh > 0 && nv + nh >= k && sr_session_scores_items(ws, &s, 1, hl, nh, hv, nh, NULL) == SR_OK)
        for (int j = 0; j < nh; j++)
            if (!isnan(hv[j]))
                v[nv++] = hv[j];
    return nv >= k ? srv_kth_largest(v, nv, k) : -INFINITY;
}

void srv_team_hint(srv_team *t, const sr_session *s, const int32_t *idx, int cnt)
{
    const int len = sr_session_length(s);
    if (!t->hint || len == 0 || cnt <= 0)
        return;
    int32_t *h = t->hint + (size_t)(sr_session_items(s)[len - 1] % t->n_hint) * HINTS;
    for (int j = 0; j < HINTS; j++)
        h[j] = j < cnt ? idx[j] : -1;
}

/* A part's room for a batch of a model with bounds, one block from pt->buf
 * (see team_impl.h); with blk NULL only its size. Every array starts on a
 * 64-byte line. */
static size_t part_room(srv_part *pt, char *blk, const srv_team *t, int64_t step, int cap,
                        int64_t N)
{
    const size_t rows = (size_t)t->batch_max, tc = (size_t)t->T * (size_t)cap;
    size_t at = 0;
#define CARVE(field, count)                                                                      \
    do {                                                                                         \
        if (blk)                                                                                 \
            pt->field = (void *)(blk + at);                                                      \
        at += ((size_t)(count) * sizeof *pt->field + 63) / 64 * 64;                              \
    } while (0)
    CARVE(buf, rows * (size_t)step);
    CARVE(cand, rows * (size_t)cap);
    CARVE(cand_mid, rows * (size_t)cap);
    CARVE(ncand, rows);
    CARVE(lim, rows);
    CARVE(floor, rows);
    CARVE(rad, rows);
    CARVE(full, N);
    CARVE(list, tc);
    CARVE(lsc, tc);
    CARVE(lscratch, tc);
    CARVE(lpos, t->max_k);
#undef CARVE
    return at;
}

int srv_team_use_model(srv_team *t, const sr_model *m)
{
    sr_scorer *ws[64] = {0};
    char *room[64] = {0};
    const int T = t->T; /* at most 64: srv_team_new */
    const int a = sr_model_score_split(m);
    const int64_t step = a > 0 ? (CHUNK + a - 1) / a * a : CHUNK;
    const int bounds = sr_model_score_bounds(m);
    /* a row's candidates: k of them at least, and the items whose bounds
     * straddle the k-th best; more (after dropping those below the floor
     * then) and the row is scored in full */
    const int cap = 2 * t->max_k + 512;
    const size_t nroom = part_room(&t->parts[0], NULL, t, step, cap, sr_model_n_items(m));
    const float *bw = bounds ? sr_model_score_bound_weights(m) : NULL;
    float *ones = NULL;
    /* hints: a slot per item, up to 2^18 slots (32 MiB) */
    const int64_t N = sr_model_n_items(m), nh = N < (1 << 18) ? N : (1 << 18);
    int32_t *hint = bounds && nh > 0 ? malloc((size_t)nh * HINTS * sizeof *hint) : NULL;
    if (bounds && nh > 0 && !hint)
        return -1;
    if (hint)
        memset(hint, 0xff, (size_t)nh * HINTS * sizeof *hint); /* all -1 */
    if (bounds && !bw) { /* a model whose weights are all 1 */
        if (!(ones = malloc((size_t)(N > 0 ? N : 1) * sizeof *ones))) {
            free(hint);
            return -1;
        }
        for (int64_t i = 0; i < N; i++)
            ones[i] = 1.0f;
    }
    int ok = 1;
    for (int p = 0; p < T && ok; p++)
        ok = (p == 0 || (ws[p] = sr_scorer_new(m, t->batch_max))) &&
             (!bounds || (room[p] = aligned_alloc(64, nroom)));
    if (!ok) {
        for (int p = 0; p < T; p++) {
            sr_scorer_free(ws[p]);
            free(room[p]);
        }
        free(ones);
        free(hint);
        return -1;
    }
    for (int p = 0; p < T; p++) {
        srv_part *pt = &t->parts[p];
        sr_scorer_free(pt->ws);
        pt->ws = ws[p];
        free(pt->buf);
        pt->buf = NULL;
        if (room[p])
            part_room(pt, room[p], t, step, cap, sr_model_n_items(m));
    }
    t->m = m;
    t->step = step;
    t->bounds = bounds;
    free(t->ones);
    t->ones = ones;
    t->bw = ones ? ones : bw;
    free(t->hint);
    t->hint = hint;
    t->n_hint = nh;
    t->cap = cap;
    t->lim0 = 128;
    find_probe(t, m);
    return 0;
}

/* Runs task on every part: part 0 on the calling thread, the others on the
 * helpers; returns when all are done (what they wrote is then visible). */
static void fork_join(srv_team *t, void (*task)(srv_team *, srv_part *))
{
    t->task = task;
    if (t->T > 1) {
        atomic_store_explicit(&t->left, t->T - 1, memory_order_relaxed);
        pthread_mutex_lock(&t->mu);
        atomic_fetch_add_explicit(&t->gen, 1, memory_order_release);
        pthread_cond_broadcast(&t->go);
        pthread_mutex_unlock(&t->mu);
    }
    task(t, &t->parts[0]);
    int spins = 0;
    while (atomic_load_explicit(&t->left, memory_order_acquire) > 0) {
        if (++spins < SPINS)
            continue;
        pthread_mutex_lock(&t->mu);
        while (atomic_load_explicit(&t->left, memory_order_acquire) > 0)
            pthread_cond_wait(&t->done, &t->mu);
        pthread_mutex_unlock(&t->mu);
    }
}

static void run_step(srv_team *t, srv_part *pt)
{
    int a = (int)((int64_t)t->n * pt->id / t->T), b = (int)((int64_t)t->n * (pt->id + 1) / t->T);
    pt->st = b > a ? sr_session_step(pt->ws, t->sess + a, t->items + a, b - a, NULL, &pt->err)
                   : SR_OK;
}

/* task on every part, part 0 with the caller's scorer ws; the first part's
 * error, if any. */
static sr_status run_scored(srv_team *t, sr_scorer *ws, void (*task)(srv_team *, srv_part *),
                            sr_error *err)
{
    t->parts[0].ws = ws;
    fork_join(t, task);
    t->parts[0].ws = NULL;
    for (int p = 0; p < t->T; p++)
        if (t->parts[p].st != SR_OK) {
            if (err)
                *err = t->parts[p].err;
            return t->parts[p].st;
        }
    return SR_OK;
}

sr_status srv_team_step(srv_team *t, sr_scorer *ws, sr_session *const *sess,
                        const int32_t *items, int n, sr_error *err)
{
    if (t->T == 1 || n < 2 * t->T) /* a few rows: not worth a hand-off */
        return sr_session_step(ws, sess, items, n, NULL, err);
    t->sess = sess;
    t->items = items;
    t->n = n;
    return run_scored(t, ws, run_step, err);
}

static void run_each(srv_team *t, srv_part *pt)
{
    (void)pt;
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
        if (i >= t->each_n)
            break;
        t->each_fn(t->each_ctx, (int)i);
    }
}

void srv_team_each(srv_team *t, void (*fn)(void *ctx, int i), void *ctx, int n)
{
    if (n <= 0)
        return;
    if (t->T == 1 || n == 1) {
        for (int i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    t->each_fn = fn;
    t->each_ctx = ctx;
    t->each_n = n;
    atomic_store_explicit(&t->next, 0, memory_order_relaxed); /* published by fork_join */
    fork_join(t, run_each);
}

sr_status srv_team_topk(srv_team *t, sr_scorer *ws, sr_session *const *sess, int n, const int *k,
                        const int *excl, int32_t *idx, float *val, int *cnt, sr_error *err)
{
    if (n <= 0)
        return SR_OK;
    if (!t->bounds)
        return sr_error_set(err, SR_ERR_ARG, "the team scores only models with score bounds");
    t->sess = sess;
    t->n = n;
    t->k = k;
    t->excl = excl;
    t->stats = (srv_team_stats){0};
    int probed = t->n_probe > 0 &&
                 sr_session_scores_items(ws, (const sr_session *const *)sess, n, t->probe,
                                         t->n_probe, t->pscore, PROBE, NULL) == SR_OK;
    for (int r = 0; r < n; r++)
        t->seed[r] = row_seed(t, ws, sess[r], probed ? t->pscore + (size_t)r * PROBE : NULL, k[r],
                              excl[r]);
    atomic_store_explicit(&t->next, 0, memory_order_relaxed); /* published by fork_join */
    sr_status st = run_scored(t, ws, run_part, err);
    if (st != SR_OK)
        return st;
    /* the rows' answers from their candidates, spread over the team too */
    t->oidx = idx;
    t->oval = val;
    t->ocnt = cnt;
    atomic_store_explicit(&t->next, 0, memory_order_relaxed);
    for (int p = 0; p < t->T; p++)
        t->parts[p].stats = (srv_team_stats){0};
    if (n < 2 * t->T) { /* a few rows: not worth a hand-off */
        t->parts[0].ws = ws;
        srv_bounds_finish(t, &t->parts[0]);
        t->parts[0].ws = NULL;
        if ((st = t->parts[0].st) != SR_OK && err)
            *err = t->parts[0].err;
    } else {
        st = run_scored(t, ws, srv_bounds_finish, err);
    }
    for (int r = 0; r < n && st == SR_OK; r++) /* the answers as hints for the next */
        srv_team_hint(t, sess[r], idx + (size_t)r * (size_t)t->max_k, cnt[r]);
    for (int p = 0; p < t->T; p++) {
        t->stats.rows += t->parts[p].stats.rows;
        t->stats.full += t->parts[p].stats.full;
        t->stats.scored += t->parts[p].stats.scored;
    }
    return st;
}
