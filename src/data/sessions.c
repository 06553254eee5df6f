/*
 * sessions.c - sessions cut from user streams (sr_log_sessionize): for logs
 * with visitors instead of sessions (RetailRocket, Rees46 by user), each
 * user's clicks ordered by time are cut where the gap to the previous click
 * is longer than a limit. A gap of exactly the limit stays in the session.
 * Deterministic: the result depends only on the log. Never prints or exits.
 */
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct skey {
    int64_t first;     /* time of the session's first click */
    int32_t user;      /* dense user (order of first appearance) */
    int32_t order;     /* the session's position in user-then-time order */
} skey;

static int skey_cmp(const void *a, const void *b)
{
    const skey *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Stable merge sort of rows p (m) by time; tmp: scratch of m. */
static void msort_time(int32_t *p, int64_t m, const int64_t *t, int32_t *tmp)
{
    if (m <= 16) {
        for (int64_t a = 1; a < m; a++) {
            int32_t x = p[a];
            int64_t b = a;
            while (b > 0 && t[p[b - 1]] > t[x]) {
                p[b] = p[b - 1];
                b--;
            }
            p[b] = x;
        }
        return;
    }
    int64_t h = m / 2;
    msort_time(p, h, t, tmp);
    msort_time(p + h, m - h, t, tmp);
    if (t[p[h - 1]] <= t[p[h]])
        return;
    memcpy(tmp, p, (size_t)h * sizeof *p);
    int64_t a = 0, b = h, w = 0;
    while (a < h && b < m)
        p[w++] = t[p[b]] < t[tmp[a]] ? p[b++] : tmp[a++];
    while (a < h)
        p[w++] = tmp[a++];
}

sr_status sr_log_sessionize(sr_log *log, double gap_seconds, sr_error *err)
{
    if (!log)
        return sr_error_set(err, SR_ERR_ARG, "sr_log_sessionize: no log");
    if (!(gap_seconds >= 0 && gap_seconds <= 1e12))
        return sr_error_set(err, SR_ERR_ARG, "session gap must be in [0, 1e12] seconds, got %g",
                            gap_seconds);
    int64_t n = log->n;
    if (n >= INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "log has %lld clicks: at most %d are supported",
                            (long long)n, INT32_MAX - 1);
    if (n == 0)
        return SR_OK;
    /* the limit in microseconds, rounded to the nearest (0.5 s -> 500000) */
    int64_t gap = (int64_t)llround(gap_seconds * 1e6);
    sr_status st = SR_OK;
    int32_t *user = malloc((size_t)n * sizeof *user);
    int32_t *perm = malloc((size_t)n * sizeof *perm);
    int32_t *tmp = malloc((size_t)n * sizeof *tmp);
    int32_t *start = NULL;
    skey *keys = NULL;
    sr_map m;
    memset(&m, 0, sizeof m);
    if (!user || !perm || !tmp || sr_map_init(&m, 1024) != SR_OK)
        goto oom;
    int32_t U = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t v = sr_map_put(&m, log->session[i], U);
        if (v == -2)
            goto oom;
        if (v == U)
            U++;
        user[i] = v;
    }
    sr_map_free(&m);
    /* counting sort by user (stable), then by time inside each user */
    start = calloc((size_t)U + 1, sizeof *start);
    if (!start)
        goto oom;
    for (int64_t i = 0; i < n; i++)
        start[user[i] + 1]++;
    for (int32_t u = 0; u < U; u++)
        start[u + 1] += start[u];
    memcpy(tmp, start, (size_t)U * sizeof *tmp); /* cursors */
    for (int64_t i = 0; i < n; i++)
        perm[tmp[user[i]]++] = (int32_t)i;
    for (int32_t u = 0; u < U; u++)
        msort_time(perm + start[u], start[u + 1] - start[u], log->time, tmp);
    /* cut: tmp[j] = session (in user-then-time order) of the click perm[j] */
    int64_t S = 0;
    for (int32_t u = 0; u < U; u++)
        for (int32_t j = start[u]; j < start[u + 1]; j++) {
            if (j == start[u] || log->time[perm[j]] - log->time[perm[j - 1]] > gap)
                S++;
            tmp[j] = (int32_t)(S - 1);
        }
    keys = malloc((size_t)S * sizeof *keys);
    if (!keys)
        goto oom;
    for (int32_t u = 0; u < U; u++)
        for (int32_t j = start[u]; j < start[u + 1]; j++)
            if (j == start[u] || tmp[j] != tmp[j - 1])
                keys[tmp[j]] = (skey){log->time[perm[j]], u, tmp[j]};
    qsort(keys, (size_t)S, sizeof *keys, skey_cmp);
    /* number of each session = its rank in (first time, user) order */
    for (int64_t k = 0; k < S; k++)
        user[keys[k].order] = (int32_t)k; /* user[] reused as order -> number */
    for (int64_t j = 0; j < n; j++)
        log->session[perm[j]] = user[tmp[j]];
    goto done;
oom:
    st = sr_error_set(err, SR_ERR_NOMEM, "out of memory cutting sessions");
done:
    sr_map_free(&m);
    free(user);
    free(perm);
    free(tmp);
    free(start);
    free(keys);
    return st;
}
