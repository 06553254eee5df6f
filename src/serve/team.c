/*
 * team.c - a batching thread's helpers (see serve.h): one batch of sessions
 * scored by T threads at once, each taking chunks of the items with its own
 * scorer and selecting every row's top k among its chunks while they are
 * still in its cache; the batching thread then puts each row's answer
 * together from the T parts. The order is sr_topk's (higher score first,
 * lower index on a tie), so the answer is the one a single thread would
 * give, bit for bit.
 *
 * Each thread loads the batch's states into its scorer once, then takes the
 * next chunk of CHUNK items from a shared counter until none is left.
 * Chunks are taken, not dealt: a thread the HTTP thread or the load
 * generator preempts does fewer of them, and the other does not wait for it
 * with its core idle (a fixed half each left the cores 17-20% idle at 64
 * connections). Each thread's chunks still come in increasing item order.
 * srv_team_each hands out its indices the same way.
 *
 * With score bounds (sr_model_score_bounds: GRU4Rec), a chunk gives each row
 * a mid per item and a radius rad, mid - rad <= score <= mid + rad. A row
 * keeps as candidates the items whose mid + rad reaches its floor, a lower
 * bound of its final k-th best score: first its seed (below), then, each
 * time the candidates reach a limit, the k-th best of their mids less rad
 * (k distinct items score at least that), the candidates below it dropped.
 * Then the team takes the rows in turn: a row's candidates of all parts
 * merged, its floor raised once more, the survivors scored exactly
 * (sr_session_scores_items) and ranked: every item that reaches the k-th
 * best score is among them. A row whose candidates overflow is scored in
 * full. Without bounds
 * (sr_session_scores_cols), each part keeps a running top k per row in a heap
 * and the batching thread merges the T heaps.
 *
 * Seeds: before the chunks, each row's scores of the model's PROBE items
 * best for an empty session (the most popular, roughly) are computed
 * (sr_session_scores_items: the very numbers the chunks give them); their
 * k-th best is a floor for the row's final k-th best score, since those k
 * items exist. A floor needs k valid probe items (exclude_seen removes the
 * seen ones); otherwise no seed.
 *
 * Hand-off: the batching thread bumps a generation counter and works on part
 * 0; helpers spin briefly on the counter (batches come back to back under
 * load), then sleep on a condition variable. Never prints or exits.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve/serve.h"

#include <math.h>
#include <sched.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define SPINS 2000 /* polls before a thread sleeps (a few microseconds) */
#define PROBE 64   /* items whose scores seed each row's top k */

typedef struct srv_part {
    srv_team *t;
    int id;
    pthread_t thread;
    sr_scorer *ws;       /* own scorer (part 0: the batching thread's, lent per call) */
    float *buf;          /* (batch_max * step) one chunk's scores of the batch (with
                          * bounds: their mids) */
    int32_t *cand;       /* bounds: (batch_max * cap) each row's candidates, */
    float *cand_mid;     /* their mids, */
    int *ncand;          /* (batch_max) their count, -1 after an overflow, */
    int *lim;            /* (batch_max) the count that raises the floor next, */
    float *floor;        /* (batch_max) the row's floor, */
    float *rad;          /* (batch_max) its radius, */
    float *scratch;      /* (cap) and room for a selection */
    int took;            /* chunks taken in this batch */
    float *skew;         /* srv_team_set_skew: (batch_max * step) exact scores */
    /* finish_row's room, one block from full: */
    float *full;         /* (n_items) a row's scores, after a candidate overflow, */
    int32_t *list;       /* (T * cap) a row's candidates, */
    float *lsc;          /* their mids, then their exact scores, */
    float *lscratch;     /* (T * cap) room for a selection, */
    int32_t *lpos;       /* (max_k) their top k's places in the list, */
    srv_team_stats stats; /* and what it did in this batch */
    int32_t *idx;        /* (batch_max * max_k) each row's top k of this part's items
                          * (not with bounds) */
    float *val;
    int *cnt;            /* (batch_max) */
    sr_status st;
    sr_error err;
} srv_part;

struct srv_team {
    int T, batch_max, max_k;
    srv_part *parts;
    int started;         /* helper threads running */
    const sr_model *m;
    /* the batch being stepped or scored */
    sr_session *const *sess;
    const int32_t *items;
    int n;
    const int *k, *excl;
    int64_t step;        /* items per chunk: CHUNK rounded up to the model's split */
    int bounds;          /* the model has score bounds: top k from them (see the top) */
    int cap;             /* candidates a part keeps per row, at most */
    int lim0;            /* and the first count that raises its floor, less 2 k */
    srv_team_stats stats; /* the last srv_team_topk's (serve.h) */
    int32_t *oidx;       /* srv_team_topk's answers, for run_finish */
    float *oval;
    int *ocnt;
    atomic_llong next;   /* the next chunk (srv_team_topk) or index (srv_team_each) to take */
    /* seeds (see the top): the model's probe items, sorted by index too (item,
     * place), the batch's probe scores and each row's seed */
    int32_t probe[PROBE], probe_by_item[2 * PROBE];
    int n_probe;
    float *pscore;       /* (batch_max * PROBE) */
    float *seed;         /* (batch_max); -INFINITY: none */
    /* srv_team_each's loop */
    void (*each_fn)(void *ctx, int i);
    void *each_ctx;
    int each_n;
    /* what the team runs now: run_part or run_each */
    void (*task)(srv_team *t, srv_part *pt);
    /* hand-off */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint gen;
    atomic_int left;
    atomic_int stop;
};

/* ---- a running top k: sr_topk's order (higher score first, lower index on a
 * tie; NaN never), fed the items in increasing index order ---- */

/* a ranks before b */
static inline int better(float va, int32_t ia, float vb, int32_t ib)
{
    return va > vb || (va == vb && ia < ib);
}

static inline void swap_at(int32_t *idx, float *val, int a, int b)
{
    int32_t ti = idx[a];
    float tv = val[a];
    idx[a] = idx[b];
    val[a] = val[b];
    idx[b] = ti;
    val[b] = tv;
}

/* Restores the min-heap (worst kept item at the root) below position i. */
static void sift_down(int32_t *idx, float *val, int m, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < m && better(val[w], idx[w], val[l], idx[l]))
            w = l;
        if (r < m && better(val[w], idx[w], val[r], idx[r]))
            w = r;
        if (w == i)
            return;
        swap_at(idx, val, i, w);
        i = w;
    }
}

/* Adds an item to a heap that is not full: a new leaf, sifted up. */
static void heap_push(int32_t *idx, float *val, int *m, int32_t item, float v)
{
    int i = (*m)++;
    idx[i] = item;
    val[i] = v;
    while (i > 0 && better(val[(i - 1) / 2], idx[(i - 1) / 2], val[i], idx[i])) {
        swap_at(idx, val, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

/* 1 when one of s[0..n) is above th (a NaN never is). A full block of 32 is
 * four vector maxima and one compare (the compiler does not vectorise a
 * float max reduction without -ffast-math; MAXPS passes its second operand
 * on a NaN, so an excluded item is skipped). */
static inline int any_above(const float *s, int64_t n, float th)
{
#if defined(__AVX__)
    if (n == 32) {
        __m256 t = _mm256_set1_ps(th);
        __m256 a = _mm256_max_ps(_mm256_loadu_ps(s), t);
        __m256 b = _mm256_max_ps(_mm256_loadu_ps(s + 8), t);
        a = _mm256_max_ps(_mm256_loadu_ps(s + 16), a);
        b = _mm256_max_ps(_mm256_loadu_ps(s + 24), b);
        return _mm256_movemask_ps(_mm256_cmp_ps(_mm256_max_ps(a, b), t, _CMP_GT_OQ)) != 0;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        if (s[i] > th)
            return 1;
    return 0;
}

/* Bit i set when s[i] >= th (a NaN never is), i < n <= 32. */
static inline uint32_t at_or_above(const float *s, int64_t n, float th)
{
#if defined(__AVX__)
    if (n == 32) {
        __m256 t = _mm256_set1_ps(th);
        uint32_t m0 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s), t, _CMP_GE_OQ));
        uint32_t m1 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + 8), t, _CMP_GE_OQ));
        uint32_t m2 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + 16), t, _CMP_GE_OQ));
        uint32_t m3 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + 24), t, _CMP_GE_OQ));
        return m0 | m1 << 8 | m2 << 16 | m3 << 24;
    }
#endif
    uint32_t m = 0;
    for (int64_t i = 0; i < n; i++)
        m |= (uint32_t)(s[i] >= th) << i;
    return m;
}

/* Offers items base..base+n-1 (scores s) to the heap of *m of k items; items
 * below `seed` (a floor of the final k-th best score, or -INFINITY) are not. */
static void heap_offer(int32_t *idx, float *val, int *m, int k, const float *s, int64_t n,
                       int64_t base, float seed)
{
    enum { BLK = 32 };
    int64_t j = 0;
    /* filling up: sift the new leaf up; with a seed, blocks with no score at
     * or above it (above the float just below it) are passed over */
    const float below = seed == -INFINITY ? seed : nextafterf(seed, -INFINITY);
    while (j < n && *m < k) {
        int64_t end = n - j < BLK ? n : j + BLK;
        if (seed != -INFINITY && !any_above(s + j, end - j, below)) {
            j = end;
            continue;
        }
        for (; j < end && *m < k; j++) {
            if (!(s[j] >= seed)) /* NaN too */
                continue;
            heap_push(idx, val, m, (int32_t)(base + j), s[j]);
        }
    }
    if (*m < k || k <= 0)
        return;
    /* full: every kept index is lower, so an item enters only when its score is
     * above the root's (a NaN never is; the root is at or above the seed);
     * blocks of 32 with no such score are passed over by any_above */
    float th = val[0];
    while (j < n) {
        int64_t end = n - j < BLK ? n : j + BLK;
        if (!any_above(s + j, end - j, th)) {
            j = end;
            continue;
        }
        for (int64_t t = j; t < end; t++)
            if (s[t] > th) {
                idx[0] = (int32_t)(base + t);
                val[0] = s[t];
                sift_down(idx, val, *m, 0);
                th = val[0];
            }
        j = end;
    }
}

/* Heap -> best first. */
static void heap_sort(int32_t *idx, float *val, int m)
{
    for (int end = m - 1; end > 0; end--) {
        swap_at(idx, val, 0, end);
        sift_down(idx, val, end, 0);
    }
}

/* Items scored per chunk: the chunk's scores of a whole batch (37 rows * 4 KB
 * at the batches measured) are still in L2 when each row's top k goes
 * through them. */
#define CHUNK 1024

/* The k-th largest of a[0..n) (k <= n; no NaN), a reordered. */
static float kth_largest(float *a, int n, int k)
{
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > pivot)
                i++;
            while (a[j] < pivot)
                j--;
            if (i <= j) {
                float x = a[i];
                a[i++] = a[j];
                a[j--] = x;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            break;
    }
    return a[want];
}

/* The mids that may reach the floor f: an item counts when mid + rad >= f
 * in float; below f - rad by more than those sums can round, none does. */
static float bound_prefilter(float f, float rad)
{
    return f - rad - 0x1p-21f * (fabsf(f) + rad);
}

/* Bounds: raises the floor of row r from its m candidates (when there are k:
 * their k-th best mid less the radius is a lower bound of k distinct items'
 * scores, so of the final k-th best) and drops those that cannot reach it.
 * Returns the count left. */
static int raise_floor(srv_part *pt, int r, int k, int32_t *ci, float *cm, int m, float rad)
{
    if (m < k)
        return m;
    memcpy(pt->scratch, cm, (size_t)m * sizeof *cm);
    float lo = kth_largest(pt->scratch, m, k) - rad;
    float f = pt->floor[r] = lo > pt->floor[r] ? lo : pt->floor[r];
    int kept = 0;
    for (int c = 0; c < m; c++)
        if (cm[c] + rad >= f) {
            ci[kept] = ci[c];
            cm[kept++] = cm[c];
        }
    return kept;
}

/* Bounds, row r, items base..base+n-1 with mids mid, radius rad: the items
 * whose upper bound mid + rad reaches the row's floor (its seed, raised as
 * candidates come) join the part's candidates of the row. Only mids at or
 * above the prefilter of the floor are looked at, a block of 32 at a time.
 * Each time the candidates reach lim, the floor is raised from them and
 * those below it dropped (a selection, no heap); when that leaves more than
 * half, lim doubles, up to cap: beyond, the row is given up (-1: it is
 * scored in full). */
static void offer_bounds(const srv_team *t, srv_part *pt, int r, const float *mid, float rad,
                         int64_t n, int64_t base)
{
    enum { BLK = 32 };
    const int k = t->k[r];
    int m = pt->ncand[r];
    int32_t *ci = pt->cand + (size_t)r * (size_t)t->cap;
    float *cm = pt->cand_mid + (size_t)r * (size_t)t->cap;
    float f = pt->floor[r], th = bound_prefilter(f, rad);
    for (int64_t j = 0; j < n && m >= 0; j += BLK) {
        for (uint32_t bits = at_or_above(mid + j, n - j < BLK ? n - j : BLK, th); bits;
             bits &= bits - 1) {
            const int64_t i = j + __builtin_ctz(bits);
            if (!(mid[i] + rad >= f)) /* NaN too */
                continue;
            if (m == pt->lim[r]) {
                m = raise_floor(pt, r, k, ci, cm, m, rad);
                f = pt->floor[r];
                th = bound_prefilter(f, rad);
                if (m > pt->lim[r] / 2) {
                    if (pt->lim[r] == t->cap) {
                        m = -1;
                        break;
                    }
                    pt->lim[r] = 2 * pt->lim[r] < t->cap ? 2 * pt->lim[r] : t->cap;
                }
                if (!(mid[i] + rad >= f))
                    continue;
            }
            ci[m] = (int32_t)(base + i);
            cm[m++] = mid[i];
        }
    }
    pt->ncand[r] = m;
}

/* This chunk's share of row r's exclude_seen: its seen items' entries NaN. */
static void drop_seen(const srv_team *t, int r, float *row, int64_t c0, int64_t c1)
{
    const int32_t *seen = sr_session_items(t->sess[r]);
    for (int j = 0, len = sr_session_length(t->sess[r]); j < len; j++)
        if (seen[j] >= c0 && seen[j] < c1)
            row[seen[j] - c0] = NAN;
}

/* srv_team_set_skew: the chunk's radii widened (x 16 + 0.05, so that they
 * span the gaps between a row's best scores) and its mids moved to the edges
 * of what they allow, exact score + 0.999 rad for odd items and - 0.999 rad
 * for even: bounds that keep their promise and nothing more. */
static sr_status skew(srv_team *t, srv_part *pt, int64_t c0, int64_t c1)
{
    sr_status st = sr_session_scores_cols(pt->ws, NULL, t->n, c0, c1, pt->skew, t->step, &pt->err);
    for (int r = 0; r < t->n && st == SR_OK; r++)
        pt->rad[r] = 16.0f * pt->rad[r] + 0.05f;
    for (int r = 0; r < t->n && st == SR_OK; r++)
        for (int64_t j = 0; j < c1 - c0; j++) {
            size_t o = (size_t)r * (size_t)t->step + (size_t)j;
            pt->buf[o] = pt->skew[o] + ((c0 + j) % 2 ? 0.999f : -0.999f) * pt->rad[r];
        }
    return st;
}

static void run_part(srv_team *t, srv_part *pt)
{
    const int64_t N = sr_model_n_items(t->m);
    const int64_t step = t->step;
    const sr_session *const *sess = (const sr_session *const *)t->sess;
    int loaded = 0;
    pt->st = SR_OK;
    pt->took = 0;
    for (int r = 0; r < t->n; r++)
        pt->cnt[r] = 0;
    if (t->bounds)
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
        if (t->bounds)
            pt->st = sr_session_score_bounds_cols(pt->ws, loaded ? NULL : sess, t->n, c0, c1,
                                                  pt->buf, step, pt->rad, &pt->err);
        else
            pt->st = sr_session_scores_cols(pt->ws, loaded ? NULL : sess, t->n, c0, c1, pt->buf,
                                            step, &pt->err);
        if (pt->st == SR_OK && pt->skew)
            pt->st = skew(t, pt, c0, c1);
        if (pt->st != SR_OK)
            return;
        loaded = 1;
        pt->took++;
        for (int r = 0; r < t->n; r++) {
            float *row = pt->buf + (size_t)r * (size_t)step; /* item c0 + j at row[j] */
            if (t->excl[r])
                drop_seen(t, r, row, c0, c1);
            if (!t->bounds) {
                size_t o = (size_t)r * (size_t)t->max_k;
                heap_offer(pt->idx + o, pt->val + o, &pt->cnt[r], t->k[r], row, c1 - c0, c0,
                           t->seed[r]);
            } else if (t->k[r] > 0 && pt->ncand[r] >= 0) {
                offer_bounds(t, pt, r, row, pt->rad[r], c1 - c0, c0);
            }
        }
    }
    for (int r = 0; r < t->n; r++) {
        size_t o = (size_t)r * (size_t)t->max_k;
        heap_sort(pt->idx + o, pt->val + o, pt->cnt[r]);
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
    t->T = T < 1 ? 1 : T > 64 ? 64 : T; /* merge() keeps 64 heads */
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
        srv_part *pt = &t->parts[p];
        pt->t = t;
        pt->id = p;
        pt->idx = malloc((size_t)batch_max * (size_t)max_k * sizeof *pt->idx);
        pt->val = malloc((size_t)batch_max * (size_t)max_k * sizeof *pt->val);
        pt->cnt = malloc((size_t)batch_max * sizeof *pt->cnt);
        if (!pt->idx || !pt->val || !pt->cnt) {
            srv_team_free(t);
            return NULL;
        }
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
            free(t->parts[p].buf);
            free(t->parts[p].cand); /* cand_mid, ncand and rad too */
            free(t->parts[p].skew);
            free(t->parts[p].full); /* list, lsc, lscratch and lpos too */
            free(t->parts[p].idx);
            free(t->parts[p].val);
            free(t->parts[p].cnt);
        }
    free(t->parts);
    free(t->pscore);
    free(t->seed);
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
    return t && sr_model_score_split(m) > 0;
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

/* Row r's seed from its probe scores p (clobbered): the k-th best of those not
 * excluded, or -INFINITY with fewer than k of them. */
static float row_seed(const srv_team *t, float *p, int k, const sr_session *excl)
{
    const int np = t->n_probe;
    if (k <= 0 || k > np)
        return -INFINITY;
    if (excl) {
        const int32_t *seen = sr_session_items(excl);
        for (int j = 0, len = sr_session_length(excl); j < len; j++) {
            const int32_t *hit = bsearch(&seen[j], t->probe_by_item, (size_t)np,
                                         2 * sizeof *t->probe_by_item, by_item);
            if (hit)
                p[hit[1]] = NAN;
        }
    }
    int32_t ti[PROBE];
    float tv[PROBE];
    return sr_topk(p, np, k, ti, tv) == k ? tv[k - 1] : -INFINITY; /* NaN never counts */
}

int srv_team_use_model(srv_team *t, const sr_model *m)
{
    sr_scorer *ws[64] = {0};
    float *buf[64] = {0};
    int32_t *cand[64] = {0};
    const int T = t->T; /* at most 64: srv_team_new */
    const int a = sr_model_score_split(m);
    const int64_t step = a > 0 ? (CHUNK + a - 1) / a * a : CHUNK;
    const int64_t N = sr_model_n_items(m);
    const int bounds = sr_model_score_bounds(m);
    /* a row's candidates: k of them at least, and the items whose bounds
     * straddle the k-th best; more (after dropping those below the floor
     * then) and the row is scored in full */
    const int cap = 2 * t->max_k + 512;
    const size_t rows = (size_t)t->batch_max;
    const size_t nc = rows * (size_t)cap * (sizeof **cand + sizeof(float)) +
                      rows * (2 * sizeof(int) + 2 * sizeof(float)) + (size_t)cap * sizeof(float);
    float *full[64] = {0};
    const size_t nfull = (size_t)N * sizeof(float) +
                         (size_t)T * (size_t)cap * (sizeof(int32_t) + 2 * sizeof(float)) +
                         (size_t)t->max_k * sizeof(int32_t);
    int ok = 1;
    for (int p = 0; p < T && ok; p++)
        ok = (p == 0 || (ws[p] = sr_scorer_new(m, t->batch_max))) &&
             (buf[p] = malloc(rows * (size_t)step * sizeof *buf[p])) &&
             (!bounds || ((cand[p] = malloc(nc)) && (full[p] = malloc(nfull))));
    if (!ok) {
        for (int p = 0; p < T; p++) {
            sr_scorer_free(ws[p]);
            free(buf[p]);
            free(cand[p]);
            free(full[p]);
        }
        return -1;
    }
    for (int p = 0; p < T; p++) {
        srv_part *pt = &t->parts[p];
        sr_scorer_free(pt->ws);
        pt->ws = ws[p];
        free(pt->buf);
        pt->buf = buf[p];
        free(pt->cand);
        pt->cand = cand[p];
        pt->cand_mid = cand[p] ? (float *)(cand[p] + rows * (size_t)cap) : NULL;
        pt->ncand = cand[p] ? (int *)(pt->cand_mid + rows * (size_t)cap) : NULL;
        pt->lim = cand[p] ? pt->ncand + rows : NULL;
        pt->floor = cand[p] ? (float *)(pt->lim + rows) : NULL;
        pt->rad = cand[p] ? pt->floor + rows : NULL;
        pt->scratch = cand[p] ? pt->rad + rows : NULL;
        free(pt->full);
        pt->full = full[p];
        pt->list = full[p] ? (int32_t *)(full[p] + N) : NULL;
        pt->lsc = full[p] ? (float *)(pt->list + (size_t)T * (size_t)cap) : NULL;
        pt->lscratch = full[p] ? pt->lsc + (size_t)T * (size_t)cap : NULL;
        pt->lpos = full[p] ? (int32_t *)(pt->lscratch + (size_t)T * (size_t)cap) : NULL;
    }
    t->m = m;
    t->step = step;
    t->bounds = bounds;
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

/* Row r's top k from the T partial lists: the best head each time. */
static int merge(const srv_team *t, int r, int k, int32_t *idx, float *val)
{
    int pos[64] = {0};
    int T = t->T, n = 0; /* at most 64: srv_team_new */
    while (n < k) {
        int best = -1;
        float bv = 0;
        int32_t bi = 0;
        for (int p = 0; p < T; p++) {
            const srv_part *pt = &t->parts[p];
            if (pos[p] >= pt->cnt[r])
                continue;
            size_t o = (size_t)r * (size_t)t->max_k + (size_t)pos[p];
            float v = pt->val[o];
            int32_t i = pt->idx[o];
            if (best < 0 || v > bv || (v == bv && i < bi)) {
                best = p;
                bv = v;
                bi = i;
            }
        }
        if (best < 0)
            break;
        pos[best]++;
        idx[n] = bi;
        val[n] = bv;
        n++;
    }
    return n;
}

/* Bounds: row r's top k from the parts' candidates. The floor is raised once
 * more from all of them (raise_floor's argument); every item whose score
 * reaches the k-th best has mid + rad at or above it, so it is among the
 * candidates kept, which are scored exactly (sr_session_scores_items: the
 * very numbers of sr_session_scores) and ranked in item order (each part's
 * candidates come in increasing order and are merged; sr_topk then breaks
 * ties by the lower index). A part that overflowed: the row's scores in
 * full. */
static sr_status finish_row(srv_team *t, srv_part *me, int r, int32_t *idx, float *val,
                            int *cnt, sr_error *err)
{
    sr_scorer *ws = me->ws;
    const int k = t->k[r];
    const sr_session *s = t->sess[r];
    *cnt = 0;
    if (k <= 0)
        return SR_OK;
    int full = 0, m = 0, pos[64] = {0};
    float rad = 0, f = t->seed[r];
    for (int p = 0; p < t->T; p++) {
        const srv_part *pt = &t->parts[p];
        full |= pt->ncand[r] < 0;
        if (pt->took) { /* the same radius in every part that scored */
            rad = pt->rad[r] > rad ? pt->rad[r] : rad;
            f = pt->floor[r] > f ? pt->floor[r] : f;
        }
    }
    me->stats.rows++;
    if (full) {
        me->stats.full++;
        sr_status st = sr_session_scores(ws, &s, 1, me->full, err);
        if (st == SR_OK)
            *cnt = sr_session_topk(s, me->full, k, t->excl[r], idx, val);
        return st;
    }
    for (;;) { /* merge the parts' lists (each in item order) */
        int best = -1;
        int32_t bi = 0;
        for (int p = 0; p < t->T; p++) {
            const srv_part *pt = &t->parts[p];
            if (pos[p] < pt->ncand[r] && (best < 0 || pt->cand[(size_t)r * (size_t)t->cap + (size_t)pos[p]] < bi)) {
                best = p;
                bi = pt->cand[(size_t)r * (size_t)t->cap + (size_t)pos[p]];
            }
        }
        if (best < 0)
            break;
        me->list[m] = bi;
        me->lsc[m++] = t->parts[best].cand_mid[(size_t)r * (size_t)t->cap + (size_t)pos[best]++];
    }
    if (m >= k) { /* the floor from all candidates */
        memcpy(me->lscratch, me->lsc, (size_t)m * sizeof *me->lsc);
        float lo = kth_largest(me->lscratch, m, k) - rad;
        f = lo > f ? lo : f;
    }
    int kept = 0;
    for (int c = 0; c < m; c++)
        if (me->lsc[c] + rad >= f)
            me->list[kept++] = me->list[c];
    me->stats.scored += (uint64_t)kept;
    sr_status st = sr_session_scores_items(ws, &s, 1, me->list, kept, me->lsc, kept, err);
    if (st != SR_OK)
        return st;
    *cnt = sr_topk(me->lsc, kept, k, me->lpos, val);
    for (int j = 0; j < *cnt; j++)
        idx[j] = me->list[me->lpos[j]];
    return SR_OK;
}

/* Bounds: every row's finish_row, the rows taken from the shared counter. */
static void run_finish(srv_team *t, srv_part *pt)
{
    pt->st = SR_OK;
    for (;;) {
        int64_t r = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
        if (r >= t->n)
            break;
        size_t o = (size_t)r * (size_t)t->max_k;
        sr_status st = finish_row(t, pt, (int)r, t->oidx + o, t->oval + o, &t->ocnt[r], &pt->err);
        if (st != SR_OK)
            pt->st = st;
    }
}

sr_status srv_team_topk(srv_team *t, sr_scorer *ws, sr_session *const *sess, int n, const int *k,
                        const int *excl, int32_t *idx, float *val, int *cnt, sr_error *err)
{
    if (n <= 0)
        return SR_OK;
    t->sess = sess;
    t->n = n;
    t->k = k;
    t->excl = excl;
    t->stats = (srv_team_stats){0};
    for (int r = 0; r < n; r++)
        t->seed[r] = -INFINITY;
    if (t->n_probe > 0 &&
        sr_session_scores_items(ws, (const sr_session *const *)sess, n, t->probe, t->n_probe,
                                t->pscore, PROBE, NULL) == SR_OK)
        for (int r = 0; r < n; r++)
            t->seed[r] = row_seed(t, t->pscore + (size_t)r * PROBE, k[r], excl[r] ? sess[r] : NULL);
    atomic_store_explicit(&t->next, 0, memory_order_relaxed); /* published by fork_join */
    sr_status st = run_scored(t, ws, run_part, err);
    if (st != SR_OK)
        return st;
    if (!t->bounds) {
        for (int r = 0; r < n; r++) {
            size_t o = (size_t)r * (size_t)t->max_k;
            cnt[r] = merge(t, r, k[r], idx + o, val + o);
        }
        return SR_OK;
    }
    /* the rows' answers from their candidates, spread over the team too */
    t->oidx = idx;
    t->oval = val;
    t->ocnt = cnt;
    atomic_store_explicit(&t->next, 0, memory_order_relaxed);
    for (int p = 0; p < t->T; p++)
        t->parts[p].stats = (srv_team_stats){0};
    if (n < 2 * t->T) { /* a few rows: not worth a hand-off */
        t->parts[0].ws = ws;
        run_finish(t, &t->parts[0]);
        t->parts[0].ws = NULL;
        if ((st = t->parts[0].st) != SR_OK && err)
            *err = t->parts[0].err;
    } else {
        st = run_scored(t, ws, run_finish, err);
    }
    for (int p = 0; p < t->T; p++) {
        t->stats.rows += t->parts[p].stats.rows;
        t->stats.full += t->parts[p].stats.full;
        t->stats.scored += t->parts[p].stats.scored;
    }
    return st;
}
