/*
 * data_prep.c - from a raw click log to clean, time-split sessions:
 * sr_prepare (group, dedup, filter, split by time) and sr_split_from_log
 * (group only).
 *
 * The pipeline, for n clicks and S sessions (33 M and 9 M at YOOCHOOSE size):
 *   1. session ids -> dense indices (direct table when the ids are dense,
 *      hash map otherwise), counting sort of the rows by session: perm (n);
 *   2. inside each session a stable sort by time (usually a no-op check);
 *   3. item ids -> dense indices, in perm order: it (n);
 *   4. optional dedup, then the filter, which only marks clicks dead
 *      (perm[j] = -1) and keeps per-session lengths and per-item supports;
 *   5. sessions ordered by (first surviving click time, session id) with a
 *      radix sort, and materialised into one sr_split ("all");
 *   6. the time split takes "all" over in place: train_full keeps its
 *      buffers, test is copied out; the validation split copies train_full.
 * No comparison sort touches n rows; everything is linear passes, counting
 * arrays and radix passes over S keys.
 *
 * Must never: print, exit, modify the input log, or keep a working array
 * alive longer than needed (the 2 GiB budget at 33 M clicks counts the log).
 * Limits: at most INT32_MAX - 1 clicks (indices are int32).
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

sr_prepare_opts sr_prepare_default_opts(void)
{
    sr_prepare_opts o;
    memset(&o, 0, sizeof o);
    o.filter = SR_FILTER_RECURSIVE;
    o.min_session_length = 2;
    o.min_item_support = 5;
    o.test_days = 1.0;
    o.valid_days = 0.0;
    o.dedup = 0;
    return o;
}

void sr_prepared_free(sr_prepared *p)
{
    if (!p)
        return;
    sr_split_free(&p->train_full);
    sr_split_free(&p->test);
    sr_split_free(&p->train);
    sr_split_free(&p->valid);
    memset(p, 0, sizeof *p);
}

/* malloc that never returns NULL for a zero size (so NULL always means OOM). */
static void *xmalloc(size_t n) { return malloc(n ? n : 1); }

#define NOMEM(err, what) sr_error_set(err, SR_ERR_NOMEM, "out of memory (%s)", what)

/* ---- dense ids ----------------------------------------------------------------- */

/* out[j] = dense index of ids[order ? order[j] : j], numbered by first
 * appearance in that order; *uniq_out (n_out) lists the distinct values
 * (caller frees). `order` is NULL or a permutation of 0..n-1. */
static sr_status densify(const int64_t *ids, const int32_t *order, int64_t n, int32_t *out,
                         int64_t **uniq_out, int32_t *n_out, const char *what, sr_error *err)
{
    *uniq_out = NULL;
    *n_out = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int64_t i = 0; i < n; i++) {
        lo = ids[i] < lo ? ids[i] : lo;
        hi = ids[i] > hi ? ids[i] : hi;
    }
    size_t cap = 1024, k = 0;
    int64_t *uniq = xmalloc(cap * sizeof *uniq);
    if (!uniq)
        return NOMEM(err, what);
    uint64_t range = n ? (uint64_t)hi - (uint64_t)lo + 1 : 0;
    if (range != 0 && range <= (uint64_t)n + (1u << 20)) {
        /* Dense ids (YOOCHOOSE sessions 1..11.5 M, items 214 M + 0..1 M):
         * a direct table, (range) int32, -1 = not seen yet. */
        int32_t *tab = xmalloc(range * sizeof *tab);
        if (!tab)
            goto oom;
        memset(tab, 0xff, range * sizeof *tab);
        for (int64_t j = 0; j < n; j++) {
            int64_t v = ids[order ? order[j] : j];
            int32_t *t = &tab[(uint64_t)v - (uint64_t)lo];
            if (*t < 0) {
                if (k == cap) {
                    int64_t *nu = realloc(uniq, 2 * cap * sizeof *uniq);
                    if (!nu) {
                        free(tab);
                        goto oom;
                    }
                    uniq = nu;
                    cap *= 2;
                }
                uniq[k] = v;
                *t = (int32_t)k++;
            }
            out[j] = *t;
        }
        free(tab);
    } else {
        sr_map m;
        if (sr_map_init(&m, 1024) != SR_OK)
            goto oom;
        for (int64_t j = 0; j < n; j++) {
            int64_t v = ids[order ? order[j] : j];
            int32_t r = sr_map_put(&m, v, (int32_t)k);
            if (r == -2) {
                sr_map_free(&m);
                goto oom;
            }
            if ((size_t)r == k) {
                if (k == cap) {
                    int64_t *nu = realloc(uniq, 2 * cap * sizeof *uniq);
                    if (!nu) {
                        sr_map_free(&m);
                        goto oom;
                    }
                    uniq = nu;
                    cap *= 2;
                }
                uniq[k++] = v;
            }
            out[j] = r;
        }
        sr_map_free(&m);
    }
    *uniq_out = uniq;
    *n_out = (int32_t)k;
    return SR_OK;
oom:
    free(uniq);
    return NOMEM(err, what);
}

/* ---- grouping ------------------------------------------------------------------ */

/* A log grouped by session, before ordering. Position j in perm/it is one click. */
typedef struct grouped {
    int64_t n;          /* clicks in the log */
    int32_t S;          /* sessions */
    int32_t n_items;
    int32_t *perm;      /* (n) log row of each click: sessions in first-appearance
                           order, clicks by time inside; -1 = dropped */
    int32_t *it;        /* (n) dense item of each click (index into item_ids) */
    int32_t *start;     /* (S + 1) first position of each session */
    int32_t *len;       /* (S) clicks of the session still alive */
    int64_t *sid;       /* (S) original session ids */
    int64_t *item_ids;  /* (n_items) original item ids */
} grouped;

static void grouped_free(grouped *g)
{
    free(g->perm);
    free(g->it);
    free(g->start);
    free(g->len);
    free(g->sid);
    free(g->item_ids);
    memset(g, 0, sizeof *g);
}

/* Stable merge sort of p (m) by time[p[j]]; tmp is scratch of m entries. */
static void sort_by_time(int32_t *p, int32_t m, const int64_t *time, int32_t *tmp)
{
    if (m <= 24) {
        for (int32_t a = 1; a < m; a++) {
            int32_t x = p[a];
            int64_t tx = time[x];
            int32_t b = a;
            while (b > 0 && time[p[b - 1]] > tx) {
                p[b] = p[b - 1];
                b--;
            }
            p[b] = x;
        }
        return;
    }
    int32_t h = m / 2;
    sort_by_time(p, h, time, tmp);
    sort_by_time(p + h, m - h, time, tmp);
    if (time[p[h - 1]] <= time[p[h]])
        return;
    memcpy(tmp, p, (size_t)h * sizeof *p);
    int32_t a = 0, b = h, w = 0;
    while (a < h && b < m) /* ties take the left run: stable */
        p[w++] = time[p[b]] < time[tmp[a]] ? p[b++] : tmp[a++];
    while (a < h)
        p[w++] = tmp[a++];
}

static sr_status group_log(const sr_log *log, grouped *g, sr_error *err)
{
    memset(g, 0, sizeof *g);
    int64_t n = log->n;
    if (n < 0 || n >= INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "log has %lld clicks: at most %d are supported",
                            (long long)n, INT32_MAX - 1);
    if (n > 0 && (!log->session || !log->item || !log->time))
        return sr_error_set(err, SR_ERR_ARG, "log has %lld clicks but no arrays", (long long)n);
    g->n = n;
    sr_status st;
    int32_t *sidx = xmalloc((size_t)n * sizeof *sidx); /* (n) dense session of row i */
    g->perm = xmalloc((size_t)n * sizeof *g->perm);
    if (!sidx || !g->perm) {
        free(sidx);
        grouped_free(g);
        return NOMEM(err, "grouping sessions");
    }
    st = densify(log->session, NULL, n, sidx, &g->sid, &g->S, "session ids", err);
    if (st != SR_OK) {
        free(sidx);
        grouped_free(g);
        return st;
    }
    int32_t S = g->S;
    g->start = calloc((size_t)S + 1, sizeof *g->start);
    g->len = xmalloc((size_t)S * sizeof *g->len);
    if (!g->start || !g->len) {
        free(sidx);
        grouped_free(g);
        return NOMEM(err, "session tables");
    }
    /* Counting sort by session (stable: file order inside a session). */
    for (int64_t i = 0; i < n; i++)
        g->start[sidx[i] + 1]++;
    int32_t maxlen = 0;
    for (int32_t s = 0; s < S; s++) {
        g->len[s] = g->start[s + 1];
        maxlen = g->len[s] > maxlen ? g->len[s] : maxlen;
        g->start[s + 1] += g->start[s];
    }
    int32_t *cursor = g->len; /* borrow len as the cursor, then restore it */
    for (int32_t s = 0; s < S; s++)
        cursor[s] = g->start[s];
    for (int64_t i = 0; i < n; i++)
        g->perm[cursor[sidx[i]]++] = (int32_t)i;
    free(sidx);
    for (int32_t s = 0; s < S; s++)
        g->len[s] = g->start[s + 1] - g->start[s];

    /* Time order inside sessions: usually already true, checked in one pass. */
    int32_t *tmp = NULL;
    const int64_t *time = log->time;
    for (int32_t s = 0; s < S; s++) {
        int32_t a = g->start[s], b = g->start[s + 1];
        int sorted = 1;
        for (int32_t j = a + 1; j < b && sorted; j++)
            sorted = time[g->perm[j - 1]] <= time[g->perm[j]];
        if (sorted)
            continue;
        if (!tmp && !(tmp = xmalloc((size_t)maxlen * sizeof *tmp))) {
            grouped_free(g);
            return NOMEM(err, "sorting sessions by time");
        }
        sort_by_time(g->perm + a, b - a, time, tmp);
    }
    free(tmp);

    g->it = xmalloc((size_t)n * sizeof *g->it);
    if (!g->it) {
        grouped_free(g);
        return NOMEM(err, "item indices");
    }
    st = densify(log->item, g->perm, n, g->it, &g->item_ids, &g->n_items, "item ids", err);
    if (st != SR_OK) {
        grouped_free(g);
        return st;
    }
    return SR_OK;
}

/* ---- dedup and filters --------------------------------------------------------- */

/* Drops a click whose item equals the previous click's in the same session. */
static void dedup(grouped *g)
{
    for (int32_t s = 0; s < g->S; s++)
        for (int32_t j = g->start[s] + 1; j < g->start[s + 1]; j++)
            if (g->it[j] == g->it[j - 1]) { /* dropped neighbours carry the same item */
                g->perm[j] = -1;
                g->len[s]--;
            }
}

/* support (n_items): alive clicks per item. */
static void count_support(const grouped *g, int32_t *support)
{
    memset(support, 0, (size_t)g->n_items * sizeof *support);
    for (int32_t s = 0; s < g->S; s++)
        for (int32_t j = g->start[s]; j < g->start[s + 1]; j++)
            if (g->perm[j] >= 0)
                support[g->it[j]]++;
}

/* Drops sessions with 0 < len < min_len; returns the clicks dropped. */
static int64_t drop_short_sessions(grouped *g, int32_t min_len, int32_t *support)
{
    int64_t removed = 0;
    for (int32_t s = 0; s < g->S; s++) {
        if (g->len[s] == 0 || g->len[s] >= min_len)
            continue;
        for (int32_t j = g->start[s]; j < g->start[s + 1]; j++)
            if (g->perm[j] >= 0) {
                support[g->it[j]]--;
                g->perm[j] = -1;
            }
        removed += g->len[s];
        g->len[s] = 0;
    }
    return removed;
}

/* Drops every click of items with support < min_sup; returns the clicks dropped.
 * dead (n_items) remembers the items already dropped. */
static int64_t drop_rare_items(grouped *g, int32_t min_sup, const int32_t *support, uint8_t *dead)
{
    int scan = 0;
    for (int32_t i = 0; i < g->n_items; i++)
        if (!dead[i] && support[i] < min_sup) {
            dead[i] = 1;
            scan |= support[i] > 0;
        }
    if (!scan)
        return 0;
    int64_t removed = 0;
    for (int32_t s = 0; s < g->S; s++) {
        if (g->len[s] == 0)
            continue;
        for (int32_t j = g->start[s]; j < g->start[s + 1]; j++)
            if (g->perm[j] >= 0 && dead[g->it[j]]) {
                g->perm[j] = -1;
                g->len[s]--;
                removed++;
            }
    }
    return removed;
}

static sr_status filter(grouped *g, const sr_prepare_opts *o, int64_t *rounds, sr_error *err)
{
    int32_t *support = xmalloc((size_t)g->n_items * sizeof *support);
    uint8_t *dead = calloc((size_t)g->n_items + 1, 1);
    if (!support || !dead) {
        free(support);
        free(dead);
        return NOMEM(err, "item supports");
    }
    count_support(g, support);
    int32_t L = o->min_session_length > 1 ? o->min_session_length : 1;
    int32_t K = o->min_item_support;
    if (o->filter == SR_FILTER_RSC15) {
        drop_short_sessions(g, 2, support);
        drop_rare_items(g, K, support, dead);
        drop_short_sessions(g, L, support);
        *rounds = 1;
    } else {
        /* The tutorial's cleanse_recursive: a round drops short sessions, then
         * rare items; rounds repeat until one drops nothing. The result is the
         * unique largest subset in which every session has >= L clicks and
         * every item >= K (removals never make anything longer or more popular). */
        *rounds = 0;
        for (;;) {
            ++*rounds;
            int64_t r = drop_short_sessions(g, L, support);
            r += drop_rare_items(g, K, support, dead);
            if (r == 0)
                break;
        }
    }
    free(support);
    free(dead);
    return SR_OK;
}

/* ---- ordering and materialisation ---------------------------------------------- */

/* Stable LSD radix sort of (key, val) by key, 11 bits a pass; tk, tv: scratch (n). */
static void radix_sort(uint64_t *key, int32_t *val, size_t n, uint64_t *tk, int32_t *tv)
{
    uint64_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= key[i];
    uint64_t *k0 = key, *k1 = tk;
    int32_t *v0 = val, *v1 = tv;
    static const int B = 11;
    for (int shift = 0; shift < 64 && (any >> shift); shift += B) {
        size_t cnt[1 << 11] = {0};
        for (size_t i = 0; i < n; i++)
            cnt[(k0[i] >> shift) & ((1u << B) - 1)]++;
        size_t sum = 0;
        int one = 0;
        for (int d = 0; d < (1 << B); d++) {
            size_t c = cnt[d];
            one |= c == n;
            cnt[d] = sum;
            sum += c;
        }
        if (one)
            continue; /* every key has the same digit here */
        for (size_t i = 0; i < n; i++) {
            size_t p = cnt[(k0[i] >> shift) & ((1u << B) - 1)]++;
            k1[p] = k0[i];
            v1[p] = v0[i];
        }
        uint64_t *tkk = k0; k0 = k1; k1 = tkk;
        int32_t *tvv = v0; v0 = v1; v1 = tvv;
    }
    if (k0 != key) {
        memcpy(key, k0, n * sizeof *key);
        memcpy(val, v0, n * sizeof *val);
    }
}

typedef struct sid_pair { int64_t sid; int32_t s; } sid_pair;

static int cmp_sid(const void *a, const void *b)
{
    int64_t x = ((const sid_pair *)a)->sid, y = ((const sid_pair *)b)->sid;
    return (x > y) - (x < y);
}

/* Sorts sessions of equal first time by session id (runs are rare and short). */
static sr_status break_ties(const uint64_t *key, int32_t *val, size_t n, const int64_t *sid,
                            sr_error *err)
{
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && key[b] == key[a])
            b++;
        if (b - a > 1) {
            size_t m = b - a;
            sid_pair *p = xmalloc(m * sizeof *p);
            if (!p)
                return NOMEM(err, "ordering sessions");
            for (size_t i = 0; i < m; i++) {
                p[i].sid = sid[val[a + i]];
                p[i].s = val[a + i];
            }
            qsort(p, m, sizeof *p, cmp_sid);
            for (size_t i = 0; i < m; i++)
                val[a + i] = p[i].s;
            free(p);
        }
        a = b;
    }
    return SR_OK;
}

/* Builds the split of the surviving clicks of g, sessions ordered by (first
 * time, id), item table by first appearance in that order. Frees g (also on
 * failure). */
static sr_status materialize(grouped *g, const sr_log *log, sr_split *out, sr_error *err)
{
    memset(out, 0, sizeof *out);
    sr_status st = SR_OK;
    int32_t ns = 0;
    int64_t ne = 0;
    for (int32_t s = 0; s < g->S; s++)
        if (g->len[s] > 0) {
            ns++;
            ne += g->len[s];
        }
    const int64_t *time = log->time;
    int64_t tmin = INT64_MAX;
    for (int32_t s = 0; s < g->S; s++)
        if (g->len[s] > 0) {
            int32_t j = g->start[s];
            while (g->perm[j] < 0)
                j++;
            tmin = time[g->perm[j]] < tmin ? time[g->perm[j]] : tmin;
        }
    /* key (ns), ord (ns): first time of each surviving session, then sorted. */
    uint64_t *key = xmalloc((size_t)ns * sizeof *key), *tk = xmalloc((size_t)ns * sizeof *tk);
    int32_t *ord = xmalloc((size_t)ns * sizeof *ord), *tv = xmalloc((size_t)ns * sizeof *tv);
    int32_t *remap = xmalloc((size_t)g->n_items * sizeof *remap);
    out->offsets = xmalloc(((size_t)ns + 1) * sizeof *out->offsets);
    out->session_ids = xmalloc((size_t)ns * sizeof *out->session_ids);
    out->items = xmalloc((size_t)ne * sizeof *out->items);
    if (!key || !tk || !ord || !tv || !remap || !out->offsets || !out->session_ids || !out->items) {
        st = NOMEM(err, "ordering sessions");
        goto done;
    }
    int32_t k = 0;
    for (int32_t s = 0; s < g->S; s++)
        if (g->len[s] > 0) {
            int32_t j = g->start[s];
            while (g->perm[j] < 0)
                j++;
            key[k] = (uint64_t)time[g->perm[j]] - (uint64_t)tmin;
            ord[k++] = s;
        }
    radix_sort(key, ord, (size_t)ns, tk, tv);
    free(tk);
    free(tv);
    tk = NULL;
    tv = NULL;
    st = break_ties(key, ord, (size_t)ns, g->sid, err);
    free(key);
    key = NULL;
    if (st != SR_OK)
        goto done;

    /* Items first (then `it` can go), item table by first appearance. */
    memset(remap, 0xff, (size_t)g->n_items * sizeof *remap);
    int32_t nit = 0;
    int64_t w = 0;
    for (int32_t r = 0; r < ns; r++) {
        int32_t s = ord[r];
        out->session_ids[r] = g->sid[s];
        out->offsets[r] = w;
        for (int32_t j = g->start[s]; j < g->start[s + 1]; j++)
            if (g->perm[j] >= 0) {
                int32_t *m = &remap[g->it[j]];
                if (*m < 0)
                    *m = nit++;
                out->items[w++] = *m;
            }
    }
    out->offsets[ns] = w;
    free(g->it);
    g->it = NULL;
    out->item_ids = xmalloc((size_t)nit * sizeof *out->item_ids);
    out->times = xmalloc((size_t)ne * sizeof *out->times);
    if (!out->item_ids || !out->times) {
        st = NOMEM(err, "split arrays");
        goto done;
    }
    for (int32_t i = 0; i < g->n_items; i++)
        if (remap[i] >= 0)
            out->item_ids[remap[i]] = g->item_ids[i];
    w = 0;
    for (int32_t r = 0; r < ns; r++) {
        int32_t s = ord[r];
        for (int32_t j = g->start[s]; j < g->start[s + 1]; j++)
            if (g->perm[j] >= 0)
                out->times[w++] = time[g->perm[j]];
    }
    out->n_events = ne;
    out->n_sessions = ns;
    out->n_items = nit;
done:
    free(key);
    free(tk);
    free(ord);
    free(tv);
    free(remap);
    grouped_free(g);
    if (st != SR_OK)
        sr_split_free(out);
    return st;
}

sr_status sr_split_from_log(const sr_log *log, sr_split *out, sr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!log)
        return sr_error_set(err, SR_ERR_ARG, "sr_split_from_log: no log");
    grouped g;
    sr_status st = group_log(log, &g, err);
    if (st != SR_OK)
        return st;
    return materialize(&g, log, out, err);
}

/* ---- time split ------------------------------------------------------------------ */

/* Splits src at T - days (T = its latest click): sessions whose last click is
 * at or after the cut go to `after`, the others to `before`. Clicks of `after`
 * on items absent from `before` are dropped, then `after` sessions shorter than
 * min_len. reindex = 1: both get a new item table, the items of `before` by
 * first appearance; 0: both keep src's table. in_place = 1: `before` takes
 * over src's arrays and src is left empty (on failure src is freed). */
static sr_status split_time(sr_split *src, int in_place, double days, int32_t min_len,
                            int reindex, const char *what, sr_split *before, sr_split *after,
                            sr_error *err)
{
    memset(before, 0, sizeof *before);
    memset(after, 0, sizeof *after);
    sr_status st = SR_OK;
    int64_t S = src->n_sessions, NI = src->n_items;
    const int64_t *off = src->offsets;
    uint8_t *is_after = NULL;
    int32_t *map = NULL;
    int64_t T = INT64_MIN;
    for (int64_t s = 0; s < S; s++)
        if (off[s + 1] > off[s] && src->times[off[s + 1] - 1] > T)
            T = src->times[off[s + 1] - 1];
    if (S == 0) {
        st = sr_error_set(err, SR_ERR_EMPTY, "no sessions to split into train and %s", what);
        goto fail;
    }
    double span_d = days * 86400e6;
    int64_t span = (int64_t)llround(span_d < 9e18 ? span_d : 9e18);
    int64_t cut = T >= INT64_MIN + span ? T - span : INT64_MIN;
    is_after = xmalloc((size_t)S);
    map = xmalloc((size_t)NI * sizeof *map);
    if (!is_after || !map) {
        st = NOMEM(err, "time split");
        goto fail;
    }
    memset(map, 0xff, (size_t)NI * sizeof *map);
    int64_t nb_s = 0, nb_e = 0;
    int32_t nb_items = 0;
    for (int64_t s = 0; s < S; s++) {
        is_after[s] = src->times[off[s + 1] - 1] >= cut;
        if (is_after[s])
            continue;
        nb_s++;
        nb_e += off[s + 1] - off[s];
        for (int64_t j = off[s]; j < off[s + 1]; j++) {
            int32_t *m = &map[src->items[j]];
            if (*m < 0)
                *m = reindex ? nb_items++ : src->items[j];
        }
    }
    if (nb_s == 0) {
        st = sr_error_set(err, SR_ERR_EMPTY,
                          "every session ends within the last %g days of the data: nothing "
                          "is left before the %s split", days, what);
        goto fail;
    }
    int32_t L = min_len > 1 ? min_len : 1;

    /* after: count, allocate, fill. */
    int64_t na_s = 0, na_e = 0;
    for (int64_t s = 0; s < S; s++) {
        if (!is_after[s])
            continue;
        int64_t c = 0;
        for (int64_t j = off[s]; j < off[s + 1]; j++)
            c += map[src->items[j]] >= 0;
        if (c >= L) {
            na_s++;
            na_e += c;
        }
    }
    int64_t nit = reindex ? nb_items : NI;
    after->offsets = xmalloc(((size_t)na_s + 1) * sizeof *after->offsets);
    after->session_ids = xmalloc((size_t)na_s * sizeof *after->session_ids);
    after->items = xmalloc((size_t)na_e * sizeof *after->items);
    after->times = xmalloc((size_t)na_e * sizeof *after->times);
    after->item_ids = xmalloc((size_t)nit * sizeof *after->item_ids);
    if (!after->offsets || !after->session_ids || !after->items || !after->times ||
        !after->item_ids) {
        st = NOMEM(err, "time split");
        goto fail;
    }
    int64_t ws = 0, w = 0;
    for (int64_t s = 0; s < S; s++) {
        if (!is_after[s])
            continue;
        int64_t c = 0;
        for (int64_t j = off[s]; j < off[s + 1]; j++)
            c += map[src->items[j]] >= 0;
        if (c < L)
            continue;
        after->session_ids[ws] = src->session_ids[s];
        after->offsets[ws++] = w;
        for (int64_t j = off[s]; j < off[s + 1]; j++)
            if (map[src->items[j]] >= 0) {
                after->items[w] = map[src->items[j]];
                after->times[w++] = src->times[j];
            }
    }
    after->offsets[ws] = w;
    after->n_sessions = na_s;
    after->n_events = na_e;
    after->n_items = nit;
    if (reindex) {
        for (int64_t i = 0; i < NI; i++)
            if (map[i] >= 0)
                after->item_ids[map[i]] = src->item_ids[i];
    } else {
        memcpy(after->item_ids, src->item_ids, (size_t)NI * sizeof *after->item_ids);
    }

    /* before: compact src in place, or copy. */
    if (in_place) {
        *before = *src;
        memset(src, 0, sizeof *src);
    } else {
        before->offsets = xmalloc(((size_t)nb_s + 1) * sizeof *before->offsets);
        before->session_ids = xmalloc((size_t)nb_s * sizeof *before->session_ids);
        before->items = xmalloc((size_t)nb_e * sizeof *before->items);
        before->times = xmalloc((size_t)nb_e * sizeof *before->times);
        before->item_ids = xmalloc((size_t)nit * sizeof *before->item_ids);
        if (!before->offsets || !before->session_ids || !before->items || !before->times ||
            !before->item_ids) {
            st = NOMEM(err, "time split");
            goto fail;
        }
    }
    const sr_split *rd = in_place ? before : src;
    int64_t lo = rd->offsets[0];
    ws = 0;
    w = 0;
    for (int64_t s = 0; s < S; s++) {
        int64_t hi = rd->offsets[s + 1]; /* read before offsets[ws <= s] is written */
        if (!is_after[s]) {
            before->session_ids[ws] = rd->session_ids[s];
            before->offsets[ws++] = w;
            for (int64_t j = lo; j < hi; j++) {
                before->items[w] = map[rd->items[j]];
                before->times[w++] = rd->times[j];
            }
        }
        lo = hi;
    }
    before->offsets[ws] = w;
    before->n_sessions = nb_s;
    before->n_events = nb_e;
    if (reindex) {
        /* after->item_ids holds the new table; in place, src's old table
         * (NI >= nit entries) is reused. */
        memcpy(before->item_ids, after->item_ids, (size_t)nit * sizeof *before->item_ids);
    } else if (!in_place) {
        memcpy(before->item_ids, src->item_ids, (size_t)NI * sizeof *before->item_ids);
    }
    before->n_items = nit;
    if (in_place) { /* give back the tail (realloc may move; failure keeps the old block) */
        void *p;
        if ((p = realloc(before->items, (size_t)(nb_e ? nb_e : 1) * sizeof *before->items)))
            before->items = p;
        if ((p = realloc(before->times, (size_t)(nb_e ? nb_e : 1) * sizeof *before->times)))
            before->times = p;
        if ((p = realloc(before->offsets, (size_t)(nb_s + 1) * sizeof *before->offsets)))
            before->offsets = p;
        if ((p = realloc(before->session_ids, (size_t)(nb_s ? nb_s : 1) * sizeof *before->session_ids)))
            before->session_ids = p;
    }
    free(is_after);
    free(map);
    return SR_OK;
fail:
    free(is_after);
    free(map);
    sr_split_free(before);
    sr_split_free(after);
    if (in_place)
        sr_split_free(src);
    return st;
}

/* ---- sr_prepare -------------------------------------------------------------------- */

sr_status sr_prepare(const sr_log *log, const sr_prepare_opts *opts, sr_prepared *out,
                     sr_error *err)
{
    memset(out, 0, sizeof *out);
    sr_prepare_opts o = opts ? *opts : sr_prepare_default_opts();
    if (!log)
        return sr_error_set(err, SR_ERR_ARG, "sr_prepare: no log");
    if (o.filter != SR_FILTER_RECURSIVE && o.filter != SR_FILTER_RSC15)
        return sr_error_set(err, SR_ERR_ARG, "unknown filter mode %d", (int)o.filter);
    if (!(o.test_days >= 0 && o.test_days <= 1e7))
        return sr_error_set(err, SR_ERR_ARG, "test days must be in [0, 1e7], got %g", o.test_days);
    if (!(o.valid_days >= 0 && o.valid_days <= 1e7))
        return sr_error_set(err, SR_ERR_ARG, "validation days must be in [0, 1e7], got %g",
                            o.valid_days);
    if (log->n == 0)
        return sr_error_set(err, SR_ERR_EMPTY, "the click log is empty");
    grouped g;
    sr_status st = group_log(log, &g, err);
    if (st != SR_OK)
        return st;
    if (o.dedup)
        dedup(&g);
    st = filter(&g, &o, &out->filter_rounds, err);
    if (st != SR_OK) {
        grouped_free(&g);
        return st;
    }
    sr_split all;
    st = materialize(&g, log, &all, err);
    if (st != SR_OK)
        return st;
    if (all.n_events == 0) {
        sr_split_free(&all);
        return sr_error_set(err, SR_ERR_EMPTY,
                            "no clicks survive the filter (%s, min session length %d, min item "
                            "support %d) of %lld clicks",
                            o.filter == SR_FILTER_RSC15 ? "rsc15" : "recursive",
                            o.min_session_length, o.min_item_support, (long long)log->n);
    }
    st = split_time(&all, 1, o.test_days, o.min_session_length, 1, "test", &out->train_full,
                    &out->test, err);
    if (st == SR_OK && o.valid_days > 0) {
        st = split_time(&out->train_full, 0, o.valid_days, o.min_session_length, 0, "validation",
                        &out->train, &out->valid, err);
        out->has_valid = st == SR_OK;
    }
    if (st != SR_OK) {
        sr_prepared_free(out);
        return st;
    }
    return SR_OK;
}
