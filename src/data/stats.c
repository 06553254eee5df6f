/*
 * stats.c - sr_split_stats: counts, time range, and quantiles of session
 * lengths and item supports of one split (the numbers `sessrec stats` prints).
 *
 * Quantile method: nearest rank. Of n values sorted ascending v[0..n-1], the
 * q-quantile (0 < q <= 1) is v[ceil(q*n) - 1]; q = 0 gives v[0] (the minimum).
 * It is always one of the values (no interpolation), so a median of session
 * lengths is a whole number of clicks. (numpy's default, linear interpolation,
 * would give 2.5 for {2, 3}; nearest rank gives 2.)
 *
 * Values are counted, not sorted: lengths and supports below HIST_CAP go into a
 * histogram; the few larger ones (at most n_events / HIST_CAP of them) are
 * copied out and sorted. Memory: n_items int64 supports + two histograms.
 *
 * Never prints, never exits; a malformed split (offsets not increasing, item
 * index out of range) is reported through sr_error, not trusted.
 */
#include "sessrec.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define HIST_CAP 4096

/* A multiset of non-negative integers: hist[v] = count of v for v < HIST_CAP,
 * plus the larger values in big[0..n_big) (sorted before querying). */
typedef struct vset {
    int64_t *hist;      /* (HIST_CAP) */
    int64_t *big;       /* (cap_big) */
    int64_t n_big, cap_big;
    int64_t n;          /* total count */
} vset;

static int vset_add(vset *s, int64_t v)
{
    s->n++;
    if (v < HIST_CAP) {
        s->hist[v]++;
        return 0;
    }
    if (s->n_big == s->cap_big) {
        int64_t nc = s->cap_big ? 2 * s->cap_big : 64;
        int64_t *p = realloc(s->big, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        s->big = p;
        s->cap_big = nc;
    }
    s->big[s->n_big++] = v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The value at 0-based rank r (0 <= r < n) of the sorted multiset. */
static int64_t vset_at(const vset *s, int64_t r)
{
    for (int64_t v = 0; v < HIST_CAP; v++) {
        if (r < s->hist[v])
            return v;
        r -= s->hist[v];
    }
    return s->big[r];
}

/* Nearest-rank q-quantile with q = num/den, computed exactly in integers:
 * rank ceil(num*n/den), clamped to >= 1. */
static int64_t vset_quantile(const vset *s, int64_t num, int64_t den)
{
    if (s->n == 0)
        return 0;
    int64_t n = s->n;
    int64_t rank = (n / den) * num + ((n % den) * num + den - 1) / den;
    if (rank < 1)
        rank = 1;
    return vset_at(s, rank - 1);
}

/* Fills q[5] = min, 25%, 50%, 75%, max and *p90, *p99. */
static void vset_summary(vset *s, int64_t q[5], int64_t *p90, int64_t *p99)
{
    if (s->n_big > 1)
        qsort(s->big, (size_t)s->n_big, sizeof *s->big, cmp_i64);
    q[0] = vset_quantile(s, 0, 1);
    q[1] = vset_quantile(s, 1, 4);
    q[2] = vset_quantile(s, 1, 2);
    q[3] = vset_quantile(s, 3, 4);
    q[4] = vset_quantile(s, 1, 1);
    *p90 = vset_quantile(s, 9, 10);
    *p99 = vset_quantile(s, 99, 100);
}

sr_status sr_split_stats(const sr_split *s, sr_stats *out, sr_error *err)
{
    if (!s || !out)
        return sr_error_set(err, SR_ERR_ARG, "sr_split_stats: NULL split or output");
    memset(out, 0, sizeof *out);
    if (s->n_events < 0 || s->n_sessions < 0 || s->n_items < 0)
        return sr_error_set(err, SR_ERR_FORMAT,
                            "split: negative count (events %lld, sessions %lld, items %lld)",
                            (long long)s->n_events, (long long)s->n_sessions,
                            (long long)s->n_items);
    if (s->n_sessions > 0 && !s->offsets)
        return sr_error_set(err, SR_ERR_FORMAT, "split: %lld sessions but no offsets",
                            (long long)s->n_sessions);
    if (s->n_events > 0 && (!s->items || !s->times))
        return sr_error_set(err, SR_ERR_FORMAT, "split: %lld events but no item/time arrays",
                            (long long)s->n_events);

    /* Structure first: nothing below may index out of range. */
    if (s->offsets) {
        if (s->offsets[0] != 0)
            return sr_error_set(err, SR_ERR_FORMAT, "split: offsets[0] is %lld, expected 0",
                                (long long)s->offsets[0]);
        for (int64_t i = 0; i < s->n_sessions; i++)
            if (s->offsets[i + 1] < s->offsets[i])
                return sr_error_set(err, SR_ERR_FORMAT,
                                    "split: session %lld: offsets decrease (%lld then %lld)",
                                    (long long)i, (long long)s->offsets[i],
                                    (long long)s->offsets[i + 1]);
        if (s->offsets[s->n_sessions] != s->n_events)
            return sr_error_set(err, SR_ERR_FORMAT,
                                "split: last offset is %lld, expected n_events %lld",
                                (long long)s->offsets[s->n_sessions], (long long)s->n_events);
    } else if (s->n_events > 0) {
        return sr_error_set(err, SR_ERR_FORMAT, "split: %lld events in no session",
                            (long long)s->n_events);
    }
    for (int64_t e = 0; e < s->n_events; e++)
        if (s->items[e] < 0 || s->items[e] >= s->n_items)
            return sr_error_set(err, SR_ERR_FORMAT,
                                "split: event %lld: item index %d outside [0, %lld)",
                                (long long)e, (int)s->items[e], (long long)s->n_items);

    out->events = s->n_events;
    out->sessions = s->n_sessions;
    if (s->n_events > 0) {
        int64_t lo = s->times[0], hi = s->times[0];
        for (int64_t e = 1; e < s->n_events; e++) {
            if (s->times[e] < lo) lo = s->times[e];
            if (s->times[e] > hi) hi = s->times[e];
        }
        out->first_time = lo;
        out->last_time = hi;
    }
    if (s->n_sessions > 0)
        out->len_mean = (double)s->n_events / (double)s->n_sessions;

    sr_status st = SR_OK;
    vset len = {0}, sup = {0};
    int64_t *support = calloc((size_t)(s->n_items > 0 ? s->n_items : 1), sizeof *support);
    len.hist = calloc(HIST_CAP, sizeof *len.hist);
    sup.hist = calloc(HIST_CAP, sizeof *sup.hist);
    if (!support || !len.hist || !sup.hist) {
        st = sr_error_set(err, SR_ERR_NOMEM, "split stats: out of memory (%lld items)",
                          (long long)s->n_items);
        goto done;
    }
    for (int64_t i = 0; i < s->n_sessions; i++)
        if (vset_add(&len, s->offsets[i + 1] - s->offsets[i])) {
            st = sr_error_set(err, SR_ERR_NOMEM, "split stats: out of memory");
            goto done;
        }
    for (int64_t e = 0; e < s->n_events; e++)
        support[s->items[e]]++;
    for (int64_t it = 0; it < s->n_items; it++) {
        if (!support[it])
            continue;   /* in the shared item table but not in this split */
        out->items++;
        if (vset_add(&sup, support[it])) {
            st = sr_error_set(err, SR_ERR_NOMEM, "split stats: out of memory");
            goto done;
        }
    }
    vset_summary(&len, out->len_q, &out->len_p90, &out->len_p99);
    vset_summary(&sup, out->sup_q, &out->sup_p90, &out->sup_p99);
done:
    free(support);
    free(len.hist);
    free(len.big);
    free(sup.hist);
    free(sup.big);
    if (st != SR_OK) {
        memset(out, 0, sizeof *out);
    }
    return st;
}
