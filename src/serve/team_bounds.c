/*
 * team_bounds.c - a batch's top k from score bounds (see team.c's top and
 * sr_session_score_bounds_cols): each thread keeps, per row, the items whose
 * mid + rad reaches the row's floor, raising the floor by a selection as they
 * come; then the team takes the rows in turn, merges a row's candidates of
 * all threads, raises its floor once more, scores the survivors exactly and
 * ranks them. Every item whose exact score reaches the row's k-th best is a
 * survivor: mid + rad w bounds its score from above (w: the item's weight,
 * t->bw), and the floor is a lower bound of the k-th best score (the seed:
 * k probe items' exact scores; or the k-th best mid - rad w: k distinct
 * items score at least that). Never prints or exits.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve/team_impl.h"

#include <math.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

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

float srv_kth_largest(float *a, int n, int k)
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

/* The mids that may reach the floor f: an item counts when mid + rad w >= f
 * in float (w <= 1); below f - rad by more than those sums can round, none
 * does. */
static float bound_prefilter(float f, float rad)
{
    return f - rad - 0x1p-21f * (fabsf(f) + rad);
}

/* The floor f raised from m candidates (items ci, mids cm): when there are
 * k, their k-th best mid - rad w is a lower bound of k distinct items'
 * scores, so of the row's final k-th best. scratch: room for m floats. */
static float raise_floor(float f, const int32_t *ci, const float *cm, int m, int k, float rad,
                         const float *w, float *scratch)
{
    if (m < k)
        return f;
    for (int c = 0; c < m; c++)
        scratch[c] = cm[c] - rad * w[ci[c]];
    float lo = srv_kth_largest(scratch, m, k);
    return lo > f ? lo : f;
}

/* Keeps the candidates (ci, cm) that can reach the floor f; returns their
 * count. */
static int keep_reaching(int32_t *ci, float *cm, int m, float rad, const float *w, float f)
{
    int kept = 0;
    for (int c = 0; c < m; c++)
        if (cm[c] + rad * w[ci[c]] >= f) {
            ci[kept] = ci[c];
            cm[kept++] = cm[c];
        }
    return kept;
}

/* Bounds, row r, items base..base+n-1 with mids mid, radius rad: the items
 * whose upper bound mid + rad w reaches the row's floor (its seed, raised as
 * candidates come) join the part's candidates of the row. Only mids at or
 * above the prefilter of the floor are looked at, a block of 32 at a time.
 * Each time the candidates reach lim, the floor is raised from them and
 * those below it dropped (a selection, no heap); when that leaves more than
 * half, lim doubles, up to cap: beyond, the row is given up (-1: it is
 * scored in full). */
void srv_bounds_offer(const srv_team *t, srv_part *pt, int r, const float *mid, float rad,
                      int64_t n, int64_t base)
{
    enum { BLK = 32 };
    const int k = t->k[r];
    int m = pt->ncand[r];
    int32_t *ci = pt->cand + (size_t)r * (size_t)t->cap;
    float *cm = pt->cand_mid + (size_t)r * (size_t)t->cap;
    const float *w = t->bw, *wb = w + base;
    float f = pt->floor[r], th = bound_prefilter(f, rad);
    for (int64_t j = 0; j < n && m >= 0; j += BLK) {
        for (uint32_t bits = at_or_above(mid + j, n - j < BLK ? n - j : BLK, th); bits;
             bits &= bits - 1) {
            const int64_t i = j + __builtin_ctz(bits);
            if (!(mid[i] + rad * wb[i] >= f)) /* NaN too */
                continue;
            if (m == pt->lim[r]) {
                f = pt->floor[r] = raise_floor(f, ci, cm, m, k, rad, w, pt->lscratch);
                m = keep_reaching(ci, cm, m, rad, w, f);
                th = bound_prefilter(f, rad);
                if (m > pt->lim[r] / 2) {
                    if (pt->lim[r] == t->cap) {
                        m = -1;
                        break;
                    }
                    pt->lim[r] = 2 * pt->lim[r] < t->cap ? 2 * pt->lim[r] : t->cap;
                }
                if (!(mid[i] + rad * wb[i] >= f))
                    continue;
            }
            ci[m] = (int32_t)(base + i);
            cm[m++] = mid[i];
        }
    }
    pt->ncand[r] = m;
}

/* srv_team_set_skew: the chunk's radii widened (x 16 + 0.05, so that they
 * span the gaps between a row's best scores) and its mids moved to the edges
 * of what they allow, exact score + 0.999 rad w for odd items and - 0.999
 * rad w for even: bounds that keep their promise and nothing more. */
sr_status srv_bounds_skew(srv_team *t, srv_part *pt, int64_t c0, int64_t c1)
{
    sr_status st = sr_session_scores_cols(pt->ws, NULL, t->n, c0, c1, pt->skew, t->step, &pt->err);
    for (int r = 0; r < t->n && st == SR_OK; r++)
        pt->rad[r] = 16.0f * pt->rad[r] + 0.05f;
    for (int r = 0; r < t->n && st == SR_OK; r++)
        for (int64_t j = 0; j < c1 - c0; j++) {
            size_t o = (size_t)r * (size_t)t->step + (size_t)j;
            float e = ((c0 + j) % 2 ? 0.999f : -0.999f) * pt->rad[r] * t->bw[c0 + j];
            pt->buf[o] = pt->skew[o] + e;
        }
    return st;
}

/* Bounds: row r's top k from the parts' candidates. The floor is raised once
 * more from all of them (see raise_floor); every item whose score
 * reaches the k-th best has mid + rad w at or above it, so it is among the
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
    const int32_t *pc[64]; /* each part's candidates of the row, in item order */
    const float *pm[64];
    for (int p = 0; p < t->T; p++) {
        pc[p] = t->parts[p].cand + (size_t)r * (size_t)t->cap;
        pm[p] = t->parts[p].cand_mid + (size_t)r * (size_t)t->cap;
    }
    for (;;) { /* merged */
        int best = -1;
        for (int p = 0; p < t->T; p++)
            if (pos[p] < t->parts[p].ncand[r] && (best < 0 || pc[p][pos[p]] < pc[best][pos[best]]))
                best = p;
        if (best < 0)
            break;
        me->list[m] = pc[best][pos[best]];
        me->lsc[m++] = pm[best][pos[best]++];
    }
    f = raise_floor(f, me->list, me->lsc, m, k, rad, t->bw, me->lscratch);
    int kept = keep_reaching(me->list, me->lsc, m, rad, t->bw, f);
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
void srv_bounds_finish(srv_team *t, srv_part *pt)
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

