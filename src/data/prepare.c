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
 *      radix sort over S keys, each session flagged train or test by its
 *      last surviving click, and the clicks scattered straight into the
 *      train_full and test splits (materialize);
 *   6. the validation split, when asked, copies train_full into train / valid.
 * No comparison sort touches n rows; everything is linear passes, counting
 * arrays and radix passes over S keys. The passes of steps 1, 2, 4 and 5
 * over clicks or sessions run in opts.threads contiguous parts (sr_parallel_for,
 * at most PREP_MAX_THREADS); a part writes only its own rows or sessions, or
 * per-part counts merged in part order, so the result is bit-identical for
 * any thread count (tests/test_prepare.c compares them). Measured on a 33 M-click synthetic log
 * (bench/bench_prepare.c): about 2 s on one thread, 1.4-1.6 s on two
 * (2-core machine), 1.6-1.7 GB peak RSS for the whole `sessrec prepare`
 * (the 0.8 GB log included; a second thread adds 4 bytes a session).
 *
 * Must never: print, exit, modify the input log, or keep a working array
 * alive longer than needed (the 2 GiB budget at 33 M clicks counts the log).
 * Limits: at most INT32_MAX - 1 clicks (indices are int32).
 */
#define _POSIX_C_SOURCE 200809L
#include "util/parallel.h"
#include "util/util.h"

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

/* ---- threads ------------------------------------------------------------------- */

/* At most this many workers: per-worker arrays of the counting sort cost
 * 4 bytes a session each (36 MB at YOOCHOOSE size). */
#define PREP_MAX_THREADS 4

/* A pass split into nt contiguous parts: fn(ctx, t, nt) does part t. Every
 * parallel pass writes only its own part of the outputs (or per-part arrays
 * merged afterwards in part order), so results never depend on nt. */
typedef void (*par_fn)(void *ctx, int t, int nt);

typedef struct par_arg {
    par_fn fn;
    void *ctx;
    int nt;
} par_arg;

static void par_task(int task, int thread, void *ud)
{
    (void)thread;
    const par_arg *p = ud;
    p->fn(p->ctx, task, p->nt);
}

/* Runs parts 0..nt-1 through sr_parallel_for, one thread a part (a part
 * whose thread cannot be started runs on another one). */
static void run_par(int nt, par_fn fn, void *ctx)
{
    par_arg a = {fn, ctx, nt};
    sr_parallel_for(nt, nt, par_task, &a);
}

/* First index of part t of [0, n) split into nt parts. */
static int64_t part_lo(int64_t n, int t, int nt) { return n / nt * t + (n % nt) * t / nt; }

/* ---- dense ids ----------------------------------------------------------------- */

/* (*uniq)[k] = v, doubling *uniq (*cap entries) when full; -1 when out of memory. */
static int uniq_put(int64_t **uniq, size_t *cap, size_t k, int64_t v)
{
    if (k == *cap) {
        int64_t *nu = realloc(*uniq, 2 * *cap * sizeof *nu);
        if (!nu)
            return -1;
        *uniq = nu;
        *cap *= 2;
    }
    (*uniq)[k] = v;
    return 0;
}

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
                if (uniq_put(&uniq, &cap, k, v) != 0) {
                    free(tab);
                    goto oom;
                }
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
                if (uniq_put(&uniq, &cap, k, v) != 0) {
                    sr_map_free(&m);
                    goto oom;
                }
                k++;
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
    int nt;             /* parallel parts (threads) */
    int32_t part[PREP_MAX_THREADS + 1]; /* part t = sessions [part[t], part[t+1]),
                                           about n / nt clicks each */
} grouped;

/* Session range of part t. */
static void sess_part(const grouped *g, int t, int32_t *a, int32_t *b)
{
    *a = g->part[t];
    *b = g->part[t + 1];
}

/* Splits the sessions into nt parts of about equal clicks (g->start known). */
static void set_parts(grouped *g)
{
    g->part[0] = 0;
    for (int t = 1; t < g->nt; t++) { /* first session starting at or after the cut */
        int64_t cut = part_lo(g->n, t, g->nt);
        int32_t lo = g->part[t - 1], hi = g->S;
        while (lo < hi) {
            int32_t m = lo + (hi - lo) / 2;
            if (g->start[m] < cut)
                lo = m + 1;
            else
                hi = m;
        }
        g->part[t] = lo;
    }
    g->part[g->nt] = g->S;
}

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

/* The counting sort by session, in parts of rows: part t counts its rows
 * into cnt[t], which then become its cursors (part t's clicks of a session
 * follow those of parts < t: file order is kept). */
typedef struct csort_ctx {
    const int32_t *sidx;                /* (n) dense session of each row */
    int64_t n;
    int32_t *cnt[PREP_MAX_THREADS];     /* (S) each */
    int32_t *perm;                      /* (n) output */
} csort_ctx;

static void csort_count(void *ctx, int t, int nt)
{
    csort_ctx *c = ctx;
    int32_t *cnt = c->cnt[t];
    for (int64_t i = part_lo(c->n, t, nt), e = part_lo(c->n, t + 1, nt); i < e; i++)
        cnt[c->sidx[i]]++;
}

static void csort_scatter(void *ctx, int t, int nt)
{
    csort_ctx *c = ctx;
    int32_t *cur = c->cnt[t], *perm = c->perm;
    for (int64_t i = part_lo(c->n, t, nt), e = part_lo(c->n, t + 1, nt); i < e; i++)
        perm[cur[c->sidx[i]]++] = (int32_t)i;
}

/* Stable sort by time inside each session of a part (usually a no-op check). */
typedef struct tsort_ctx {
    grouped *g;
    const int64_t *time;
    int32_t maxlen;
    int oom[PREP_MAX_THREADS];
} tsort_ctx;

static void tsort_part(void *ctx, int t, int nt)
{
    (void)nt;
    tsort_ctx *c = ctx;
    grouped *g = c->g;
    const int64_t *time = c->time;
    int32_t *tmp = NULL, a0, b0;
    sess_part(g, t, &a0, &b0);
    for (int32_t s = a0; s < b0; s++) {
        int32_t a = g->start[s], b = g->start[s + 1];
        int sorted = 1;
        for (int32_t j = a + 1; j < b && sorted; j++)
            sorted = time[g->perm[j - 1]] <= time[g->perm[j]];
        if (sorted)
            continue;
        if (!tmp && !(tmp = xmalloc((size_t)c->maxlen * sizeof *tmp))) {
            c->oom[t] = 1;
            return;
        }
        sort_by_time(g->perm + a, b - a, time, tmp);
    }
    free(tmp);
}

/* threads: as sr_prepare_opts.threads (<= 0: all cores, then one thread for
 * small logs, where starting threads costs more than it saves). */
static sr_status group_log(const sr_log *log, int threads, grouped *g, sr_error *err)
{
    memset(g, 0, sizeof *g);
    int nt = sr_resolve_threads(threads);
    nt = nt < 1 ? 1 : nt > PREP_MAX_THREADS ? PREP_MAX_THREADS : nt;
    if (threads <= 0 && log->n < (int64_t)nt * 65536)
        nt = 1;
    g->nt = nt;
    int64_t n = log->n;
    if (n < 0 || n >= INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "log has %lld clicks: at most %d are supported",
                            (long long)n, INT32_MAX - 1);
    if (n > 0 && (!log->session || !log->item || !log->time))
        return sr_error_set(err, SR_ERR_ARG, "log has %lld clicks but no arrays", (long long)n);
    if (log->item_text.text) /* text ids: items index the text table */
        for (int64_t i = 0; i < n; i++)
            if (log->item[i] < 0 || log->item[i] >= log->item_text.n)
                return sr_error_set(err, SR_ERR_ARG, "click %lld: item %lld is outside the "
                                    "text id table (%lld ids)", (long long)i,
                                    (long long)log->item[i], (long long)log->item_text.n);
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
    /* Counting sort by session (stable: file order inside a session). Part
     * 0 borrows len for its counts and cursors; len is restored after. */
    csort_ctx cs = {sidx, n, {NULL}, g->perm};
    cs.cnt[0] = g->len;
    memset(g->len, 0, (size_t)S * sizeof *g->len);
    for (int t = 1; t < nt; t++)
        if (!(cs.cnt[t] = calloc((size_t)S + 1, sizeof *cs.cnt[t]))) {
            for (int u = 1; u < t; u++)
                free(cs.cnt[u]);
            free(sidx);
            grouped_free(g);
            return NOMEM(err, "grouping sessions");
        }
    run_par(nt, csort_count, &cs);
    int32_t maxlen = 0;
    for (int32_t s = 0; s < S; s++) {
        int32_t c = g->start[s];
        for (int t = 0; t < nt; t++) {
            int32_t x = cs.cnt[t][s];
            cs.cnt[t][s] = c;
            c += x;
        }
        g->start[s + 1] = c;
        maxlen = c - g->start[s] > maxlen ? c - g->start[s] : maxlen;
    }
    run_par(nt, csort_scatter, &cs);
    for (int t = 1; t < nt; t++)
        free(cs.cnt[t]);
    g->it = sidx; /* the same size: reused for the items (saves 4n bytes of page faults) */
    sidx = NULL;
    for (int32_t s = 0; s < S; s++)
        g->len[s] = g->start[s + 1] - g->start[s];
    set_parts(g);

    tsort_ctx ts = {g, log->time, maxlen, {0}};
    run_par(nt, tsort_part, &ts);
    for (int t = 0; t < nt; t++)
        if (ts.oom[t]) {
            grouped_free(g);
            return NOMEM(err, "sorting sessions by time");
        }
    st = densify(log->item, g->perm, n, g->it, &g->item_ids, &g->n_items, "item ids", err);
    if (st != SR_OK) {
        grouped_free(g);
        return st;
    }
    return SR_OK;
}

/* ---- dedup and filters --------------------------------------------------------- */

/* The filter's passes, each over the sessions of one part. Part t changes only
 * its own sessions and its own support array (sup[0]: the supports; sup[t],
 * t > 0: a delta merged into sup[0] after the pass, then zeroed). */
typedef struct filt_ctx {
    grouped *g;
    int32_t *sup[PREP_MAX_THREADS];   /* (n_items) each */
    const uint8_t *dead;              /* (n_items) items dropped */
    int32_t min_len;
    int64_t removed[PREP_MAX_THREADS];
} filt_ctx;

/* Adds the deltas of parts > 0 into the supports. */
static void merge_support(filt_ctx *c)
{
    int32_t NI = c->g->n_items;
    for (int t = 1; t < c->g->nt; t++) {
        int32_t *d = c->sup[t];
        for (int32_t i = 0; i < NI; i++)
            c->sup[0][i] += d[i];
        memset(d, 0, (size_t)NI * sizeof *d);
    }
}

/* Drops a click whose item equals the previous click's in the same session. */
static void dedup_part(void *ctx, int t, int nt)
{
    (void)nt;
    grouped *g = ((filt_ctx *)ctx)->g;
    int32_t a, b;
    sess_part(g, t, &a, &b);
    for (int32_t s = a; s < b; s++)
        for (int32_t j = g->start[s] + 1; j < g->start[s + 1]; j++)
            if (g->it[j] == g->it[j - 1]) { /* dropped neighbours carry the same item */
                g->perm[j] = -1;
                g->len[s]--;
            }
}

/* sup[t] += alive clicks per item. */
static void count_part(void *ctx, int t, int nt)
{
    (void)nt;
    filt_ctx *c = ctx;
    const grouped *g = c->g;
    int32_t *support = c->sup[t], a, b;
    sess_part(g, t, &a, &b);
    for (int32_t j = g->start[a]; j < g->start[b]; j++)
        if (g->perm[j] >= 0)
            support[g->it[j]]++;
}

/* Drops sessions with 0 < len < min_len; removed[t] = the clicks dropped. */
static void short_part(void *ctx, int t, int nt)
{
    (void)nt;
    filt_ctx *c = ctx;
    grouped *g = c->g;
    int32_t *support = c->sup[t], min_len = c->min_len, a, b;
    int64_t removed = 0;
    sess_part(g, t, &a, &b);
    for (int32_t s = a; s < b; s++) {
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
    c->removed[t] = removed;
}

/* Drops every click of a dead item; removed[t] = the clicks dropped. */
static void rare_part(void *ctx, int t, int nt)
{
    (void)nt;
    filt_ctx *c = ctx;
    grouped *g = c->g;
    const uint8_t *dead = c->dead;
    int64_t removed = 0;
    int32_t a, b;
    sess_part(g, t, &a, &b);
    for (int32_t s = a; s < b; s++) {
        if (g->len[s] == 0)
            continue;
        for (int32_t j = g->start[s]; j < g->start[s + 1]; j++)
            if (dead[g->it[j]] && g->perm[j] >= 0) { /* `it` first: perm is read rarely */
                g->perm[j] = -1;
                g->len[s]--;
                removed++;
            }
    }
    c->removed[t] = removed;
}

static int64_t total_removed(const filt_ctx *c)
{
    int64_t r = 0;
    for (int t = 0; t < c->g->nt; t++)
        r += c->removed[t];
    return r;
}

/* Drops sessions with 0 < len < min_len, updating the supports; returns the
 * clicks dropped. */
static int64_t drop_short_sessions(filt_ctx *c, int32_t min_len)
{
    c->min_len = min_len;
    run_par(c->g->nt, short_part, c);
    merge_support(c);
    return total_removed(c);
}

/* Drops every click of items with support < min_sup; returns the clicks
 * dropped. dead (n_items) remembers the items already dropped. */
static int64_t drop_rare_items(filt_ctx *c, int32_t min_sup, uint8_t *dead)
{
    const int32_t *support = c->sup[0];
    int scan = 0;
    for (int32_t i = 0; i < c->g->n_items; i++)
        if (!dead[i] && support[i] < min_sup) {
            dead[i] = 1;
            scan |= support[i] > 0;
        }
    if (!scan)
        return 0;
    run_par(c->g->nt, rare_part, c);
    return total_removed(c);
}

static sr_status filter(grouped *g, const sr_prepare_opts *o, int64_t *rounds, sr_error *err)
{
    filt_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    uint8_t *dead = calloc((size_t)g->n_items + 1, 1);
    int ok = dead != NULL;
    for (int t = 0; t < g->nt; t++)
        ok = ok && (c.sup[t] = calloc((size_t)g->n_items + 1, sizeof *c.sup[t])) != NULL;
    if (!ok) {
        for (int t = 0; t < g->nt; t++)
            free(c.sup[t]);
        free(dead);
        return NOMEM(err, "item supports");
    }
    c.dead = dead;
    if (o->dedup)
        run_par(g->nt, dedup_part, &c);
    run_par(g->nt, count_part, &c);
    merge_support(&c);
    int32_t L = o->min_session_length > 1 ? o->min_session_length : 1;
    int32_t K = o->min_item_support;
    if (o->filter == SR_FILTER_RSC15) {
        drop_short_sessions(&c, 2);
        drop_rare_items(&c, K, dead);
        drop_short_sessions(&c, L);
        *rounds = 1;
    } else {
        /* The tutorial's cleanse_recursive: a round drops short sessions, then
         * rare items; rounds repeat until one drops nothing. The result is the
         * unique largest subset in which every session has >= L clicks and
         * every item >= K (removals never make anything longer or more popular). */
        *rounds = 0;
        for (;;) {
            ++*rounds;
            int64_t r = drop_short_sessions(&c, L);
            r += drop_rare_items(&c, K, dead);
            if (r == 0)
                break;
        }
    }
    for (int t = 0; t < g->nt; t++)
        free(c.sup[t]);
    free(dead);
    return SR_OK;
}

/* ---- ordering and materialisation ---------------------------------------------- */

/* Stable LSD radix sort of (key, val) by key >> shift, 11 bits a digit; tk,
 * tv: scratch (n). One read pass counts every digit, then one scatter pass
 * per digit that is not the same for all keys. */
static sr_status radix_sort(uint64_t *key, int32_t *val, size_t n, int shift, uint64_t *tk,
                            int32_t *tv)
{
    enum { B = 11, NB = 1 << B, ND = (64 + B - 1) / B };
    static const uint64_t M = NB - 1;
    uint64_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= key[i];
    any >>= shift;
    int nd = 0;
    while (nd < ND && (any >> (B * nd)))
        nd++;
    size_t (*cnt)[NB] = calloc((size_t)(nd ? nd : 1), sizeof *cnt); /* (nd, NB) */
    if (!cnt)
        return SR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = key[i] >> shift;
        for (int d = 0; d < nd; d++)
            cnt[d][(k >> (B * d)) & M]++;
    }
    uint64_t *k0 = key, *k1 = tk;
    int32_t *v0 = val, *v1 = tv;
    for (int d = 0; d < nd; d++) {
        size_t sum = 0;
        int one = 0;
        for (int b = 0; b < NB; b++) {
            size_t c = cnt[d][b];
            one |= c == n;
            cnt[d][b] = sum;
            sum += c;
        }
        if (one)
            continue; /* every key has the same digit here */
        size_t *c = cnt[d];
        int sh = shift + B * d;
        for (size_t i = 0; i < n; i++) {
            size_t q = c[(k0[i] >> sh) & M]++;
            k1[q] = k0[i];
            v1[q] = v0[i];
        }
        uint64_t *tkk = k0; k0 = k1; k1 = tkk;
        int32_t *tvv = v0; v0 = v1; v1 = tvv;
    }
    free(cnt);
    if (k0 != key) {
        memcpy(key, k0, n * sizeof *key);
        memcpy(val, v0, n * sizeof *val);
    }
    return SR_OK;
}

typedef struct sess_key { uint64_t key; int64_t sid; int32_t s; } sess_key;

static int cmp_sess_key(const void *a, const void *b)
{
    const sess_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->sid > y->sid) - (x->sid < y->sid);
}

/* Sorts ord (n) by (key, sid[ord]); key (n) moves along. A radix sort on the
 * top 22 bits of the keys (two passes; coarser keys collide only for sessions
 * starting within the same few seconds), then each run of equal coarse keys is
 * sorted exactly: insertion sort (runs are a handful), qsort for long runs. */
static sr_status order_sessions(uint64_t *key, int32_t *ord, size_t n, const int64_t *sid,
                                uint64_t *tk, int32_t *tv, sr_error *err)
{
    uint64_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= key[i];
    int bits = 0;
    while (bits < 64 && (any >> bits))
        bits++;
    int shift = bits > 22 ? bits - 22 : 0;
    if (radix_sort(key, ord, n, shift, tk, tv) != SR_OK)
        return NOMEM(err, "ordering sessions");
    for (size_t a = 0; a < n;) {
        uint64_t c = key[a] >> shift;
        size_t b = a + 1;
        while (b < n && key[b] >> shift == c)
            b++;
        size_t m = b - a;
        if (m > 1 && m <= 32) {
            for (size_t i = a + 1; i < b; i++) {
                uint64_t kx = key[i];
                int32_t vx = ord[i];
                size_t j = i;
                while (j > a && (key[j - 1] > kx || (key[j - 1] == kx && sid[ord[j - 1]] > sid[vx]))) {
                    key[j] = key[j - 1];
                    ord[j] = ord[j - 1];
                    j--;
                }
                key[j] = kx;
                ord[j] = vx;
            }
        } else if (m > 32) {
            sess_key *p = xmalloc(m * sizeof *p);
            if (!p)
                return NOMEM(err, "ordering sessions");
            for (size_t i = 0; i < m; i++) {
                p[i].key = key[a + i];
                p[i].s = ord[a + i];
                p[i].sid = sid[ord[a + i]];
            }
            qsort(p, m, sizeof *p, cmp_sess_key);
            for (size_t i = 0; i < m; i++) {
                key[a + i] = p[i].key;
                ord[a + i] = p[i].s;
            }
            free(p);
        }
        a = b;
    }
    return SR_OK;
}

/* A split span in microseconds: days * 86400e6, rounded, saturated. */
static int64_t span_us(double days)
{
    double us = days * 86400e6;
    return (int64_t)llround(us < 9e18 ? us : 9e18);
}

static int64_t cut_time(int64_t T, double days)
{
    int64_t span = span_us(days);
    return T >= INT64_MIN + span ? T - span : INT64_MIN;
}

/* Allocates the session arrays (ns) and click arrays (ne) of s and sets its
 * counts; -1 when out of memory (the caller frees s). */
static int split_alloc(sr_split *s, int64_t ns, int64_t ne)
{
    s->offsets = xmalloc(((size_t)ns + 1) * sizeof *s->offsets);
    s->session_ids = xmalloc((size_t)ns * sizeof *s->session_ids);
    s->items = xmalloc((size_t)ne * sizeof *s->items);
    s->times = xmalloc((size_t)ne * sizeof *s->times);
    if (!s->offsets || !s->session_ids || !s->items || !s->times)
        return -1;
    s->n_sessions = ns;
    s->n_events = ne;
    return 0;
}

/* materialize's passes over the sessions of one part; per-part results are
 * combined in part order. */
typedef struct mat_ctx {
    grouped *g;
    const int64_t *time;
    int split;                         /* 1: time split at cut; 0: one split */
    int64_t cut;
    uint8_t *is_after;                 /* (S) */
    uint64_t *key;                     /* (ns) */
    int32_t *ord;                      /* (ns) */
    sr_split *out[2];
    int32_t ns[PREP_MAX_THREADS + 1];  /* surviving sessions of each part, then
                                          the first key position of each part */
    int64_t T[PREP_MAX_THREADS], tmin[PREP_MAX_THREADS];
    int64_t cnt_s[PREP_MAX_THREADS][2], cnt_e[PREP_MAX_THREADS][2];
} mat_ctx;

/* ns[t]: surviving sessions; T[t]: their latest click. */
static void mat_last(void *ctx, int t, int nt)
{
    (void)nt;
    mat_ctx *c = ctx;
    const grouped *g = c->g;
    const int64_t *time = c->time;
    int32_t a, b, ns = 0;
    int64_t T = INT64_MIN;
    sess_part(g, t, &a, &b);
    for (int32_t s = a; s < b; s++)
        if (g->len[s] > 0) {
            ns++;
            int32_t j = g->start[s + 1] - 1;
            while (g->perm[j] < 0)
                j--;
            T = time[g->perm[j]] > T ? time[g->perm[j]] : T;
        }
    c->ns[t] = ns;
    c->T[t] = T;
}

/* From position ns[t] on: key = first time, ord = session; is_after, counts;
 * len = -1 for dropped sessions. */
static void mat_keys(void *ctx, int t, int nt)
{
    (void)nt;
    mat_ctx *c = ctx;
    grouped *g = c->g;
    const int64_t *time = c->time;
    int64_t tmin = INT64_MAX, cs[2] = {0, 0}, ce[2] = {0, 0};
    int32_t a, b, k = c->ns[t];
    sess_part(g, t, &a, &b);
    for (int32_t s = a; s < b; s++) {
        if (g->len[s] <= 0) {
            g->len[s] = -1;
            continue;
        }
        int32_t j = g->start[s], e = g->start[s + 1] - 1;
        while (g->perm[j] < 0)
            j++;
        while (g->perm[e] < 0)
            e--;
        int64_t tf = time[g->perm[j]];
        tmin = tf < tmin ? tf : tmin;
        c->key[k] = (uint64_t)tf;
        c->ord[k++] = s;
        int h = c->split && time[g->perm[e]] >= c->cut;
        c->is_after[s] = (uint8_t)h;
        cs[h]++;
        ce[h] += g->len[s];
    }
    c->tmin[t] = tmin;
    for (int h = 0; h < 2; h++) {
        c->cnt_s[t][h] = cs[h];
        c->cnt_e[t][h] = ce[h];
    }
}

/* Copies the alive clicks of each session to its output position len[s]. */
static void mat_scatter(void *ctx, int t, int nt)
{
    (void)nt;
    mat_ctx *c = ctx;
    const grouped *g = c->g;
    const int64_t *time = c->time;
    int32_t a, b;
    sess_part(g, t, &a, &b);
    for (int32_t s = a; s < b; s++) {
        int32_t d = g->len[s];
        if (d < 0)
            continue;
        sr_split *o = c->out[c->is_after[s]];
        int32_t *items = o->items;
        int64_t *times = o->times;
        for (int32_t j = g->start[s]; j < g->start[s + 1]; j++)
            if (g->perm[j] >= 0) {
                items[d] = g->it[j];
                times[d++] = time[g->perm[j]];
            }
    }
}

/* Materialises the surviving clicks of g into splits, sessions ordered by
 * (first time, id), and frees g (also on failure).
 *   days < 0: one split, `before`; its item table: items by first appearance.
 *   days >= 0: the time split. T = latest surviving click; sessions whose last
 *     click is at or after T - days go to `after`, the others to `before`.
 *     The item table is that of `before` (first appearance), shared by `after`,
 *     whose clicks on other items are dropped, then its sessions shorter than
 *     min_len (at least 1).
 * The clicks are scattered in storage order (sequential reads of perm, it and
 * the log; each session's block written where it belongs), then one
 * sequential pass renumbers the items. */
/* Text ids: s->item_ids holds indices into the log's text table; the split
 * gets its own table in its item order, and item_ids[i] becomes i. */
static sr_status split_take_text(sr_split *s, const sr_idtext *log_text, sr_error *err)
{
    if (!log_text->text)
        return SR_OK;
    if (sr_idtext_select(log_text, s->item_ids, s->n_items, &s->item_text) != SR_OK)
        return NOMEM(err, "item text ids");
    for (int64_t i = 0; i < s->n_items; i++)
        s->item_ids[i] = i;
    return SR_OK;
}

/* dst gets a copy of src's text ids (the same item table). */
static sr_status split_copy_text(sr_split *dst, const sr_split *src, sr_error *err)
{
    if (!src->item_text.text)
        return SR_OK;
    if (sr_idtext_select(&src->item_text, NULL, src->item_text.n, &dst->item_text) != SR_OK)
        return NOMEM(err, "item text ids");
    return SR_OK;
}

static sr_status materialize(grouped *g, const sr_log *log, double days, int32_t min_len,
                             const char *what, sr_split *before, sr_split *after, sr_error *err)
{
    memset(before, 0, sizeof *before);
    if (days >= 0)
        memset(after, 0, sizeof *after);
    sr_status st = SR_OK;
    const int64_t *time = log->time;
    int32_t S = g->S;
    uint64_t *key = NULL, *tk = NULL;
    int32_t *ord = NULL, *tv = NULL, *remap = NULL;
    uint8_t *is_after = calloc((size_t)S + 1, 1);
    if (!is_after) {
        st = NOMEM(err, "ordering sessions");
        goto done;
    }
    mat_ctx mc;
    memset(&mc, 0, sizeof mc);
    mc.g = g;
    mc.time = time;
    mc.is_after = is_after;
    run_par(g->nt, mat_last, &mc);
    int32_t ns = 0;
    int64_t T = INT64_MIN;
    for (int t = 0; t < g->nt; t++) {
        int32_t c = mc.ns[t];
        mc.ns[t] = ns;
        ns += c;
        T = mc.T[t] > T ? mc.T[t] : T;
    }
    int64_t cut = days >= 0 ? cut_time(T, days) : INT64_MAX;

    /* key (ns), ord (ns): first time of each surviving session, then sorted;
     * is_after (S): the session ends at or after the cut; len = -1: dropped. */
    key = xmalloc((size_t)ns * sizeof *key);
    tk = xmalloc((size_t)ns * sizeof *tk);
    ord = xmalloc((size_t)ns * sizeof *ord);
    tv = xmalloc((size_t)ns * sizeof *tv);
    if (!key || !tk || !ord || !tv) {
        st = NOMEM(err, "ordering sessions");
        goto done;
    }
    mc.split = days >= 0;
    mc.cut = cut;
    mc.key = key;
    mc.ord = ord;
    run_par(g->nt, mat_keys, &mc);
    int64_t tmin = INT64_MAX, nb_s = 0, nb_e = 0, na_s = 0, na_e = 0;
    for (int t = 0; t < g->nt; t++) {
        tmin = mc.tmin[t] < tmin ? mc.tmin[t] : tmin;
        nb_s += mc.cnt_s[t][0];
        nb_e += mc.cnt_e[t][0];
        na_s += mc.cnt_s[t][1];
        na_e += mc.cnt_e[t][1];
    }
    if (days >= 0 && nb_s == 0) {
        st = sr_error_set(err, SR_ERR_EMPTY,
                          "every session ends within the last %g days of the data: nothing "
                          "is left before the %s split", days, what);
        goto done;
    }
    for (int32_t r = 0; r < ns; r++)
        key[r] -= (uint64_t)tmin;
    st = order_sessions(key, ord, (size_t)ns, g->sid, tk, tv, err);
    free(key);
    free(tk);
    free(tv);
    key = tk = NULL;
    tv = NULL;
    if (st != SR_OK)
        goto done;

    /* Offsets in the new order; len[s] becomes the session's output position
     * in its split (positions < n < 2^31 fit). */
    sr_split *out[2] = {before, after};
    int64_t cnt_s[2] = {nb_s, na_s}, cnt_e[2] = {nb_e, na_e};
    for (int h = 0; h < (days >= 0 ? 2 : 1); h++)
        if (split_alloc(out[h], cnt_s[h], cnt_e[h]) != 0) {
            st = NOMEM(err, "split arrays");
            goto done;
        }
    int64_t ws[2] = {0, 0}, we[2] = {0, 0};
    for (int32_t r = 0; r < ns; r++) {
        int32_t s = ord[r];
        int h = is_after[s];
        out[h]->session_ids[ws[h]] = g->sid[s];
        out[h]->offsets[ws[h]++] = we[h];
        int32_t len = g->len[s];
        g->len[s] = (int32_t)we[h];
        we[h] += len;
    }
    before->offsets[nb_s] = we[0];
    if (days >= 0)
        after->offsets[na_s] = we[1];
    free(ord);
    ord = NULL;
    free(g->sid);
    g->sid = NULL;

    mc.out[0] = before;
    mc.out[1] = after;
    run_par(g->nt, mat_scatter, &mc);

    /* Item table: the items of `before` by first appearance. */
    int32_t NI = g->n_items, nit = 0;
    remap = xmalloc((size_t)NI * sizeof *remap);
    if (!remap) {
        st = NOMEM(err, "item table");
        goto done;
    }
    memset(remap, 0xff, (size_t)NI * sizeof *remap);
    int32_t *items = before->items;
    for (int64_t j = 0; j < nb_e; j++) {
        int32_t *m = &remap[items[j]];
        if (*m < 0)
            *m = nit++;
        items[j] = *m;
    }
    before->n_items = nit;
    before->item_ids = xmalloc((size_t)nit * sizeof *before->item_ids);
    if (!before->item_ids) {
        st = NOMEM(err, "item table");
        goto done;
    }
    for (int32_t i = 0; i < NI; i++)
        if (remap[i] >= 0)
            before->item_ids[remap[i]] = g->item_ids[i];
    if ((st = split_take_text(before, &log->item_text, err)) != SR_OK)
        goto done;

    if (days >= 0) { /* after: known items only, then long enough sessions, compacted */
        int32_t L = min_len > 1 ? min_len : 1;
        int64_t w = 0, wsess = 0, lo = 0;
        for (int64_t q = 0; q < na_s; q++) {
            int64_t hi = after->offsets[q + 1], w0 = w;
            for (int64_t j = lo; j < hi; j++) {
                int32_t m = remap[after->items[j]];
                if (m >= 0) {
                    after->items[w] = m;
                    after->times[w++] = after->times[j];
                }
            }
            if (w - w0 >= L) {
                after->session_ids[wsess] = after->session_ids[q];
                after->offsets[wsess++] = w0;
            } else {
                w = w0;
            }
            lo = hi;
        }
        after->offsets[wsess] = w;
        after->n_sessions = wsess;
        after->n_events = w;
        after->n_items = nit;
        after->item_ids = xmalloc((size_t)nit * sizeof *after->item_ids);
        if (!after->item_ids) {
            st = NOMEM(err, "item table");
            goto done;
        }
        memcpy(after->item_ids, before->item_ids, (size_t)nit * sizeof *after->item_ids);
        if ((st = split_copy_text(after, before, err)) != SR_OK)
            goto done;
    }
done:
    free(is_after);
    free(key);
    free(tk);
    free(ord);
    free(tv);
    free(remap);
    grouped_free(g);
    if (st != SR_OK) {
        sr_split_free(before);
        if (days >= 0)
            sr_split_free(after);
    }
    return st;
}

sr_status sr_split_from_log(const sr_log *log, sr_split *out, sr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!log)
        return sr_error_set(err, SR_ERR_ARG, "sr_split_from_log: no log");
    grouped g;
    sr_status st = group_log(log, 0, &g, err);
    if (st != SR_OK)
        return st;
    return materialize(&g, log, -1, 1, "", out, NULL, err);
}

/* ---- time split ------------------------------------------------------------------ */

/* The validation split of a materialised split: sessions of src whose last
 * click is at or after T - days (T = its latest click) go to `after`, the
 * others to `before`; both copy src's item table. Clicks of `after` on items
 * absent from `before` are dropped, then its sessions shorter than min_len.
 * src is left as it is. */
static sr_status split_time(const sr_split *src, double days, int32_t min_len, const char *what,
                            sr_split *before, sr_split *after, sr_error *err)
{
    memset(before, 0, sizeof *before);
    memset(after, 0, sizeof *after);
    sr_status st = SR_OK;
    int64_t S = src->n_sessions, NI = src->n_items;
    const int64_t *off = src->offsets;
    uint8_t *is_after = NULL, *known = NULL;
    if (S == 0)
        return sr_error_set(err, SR_ERR_EMPTY, "no sessions to split into train and %s", what);
    int64_t T = INT64_MIN;
    for (int64_t s = 0; s < S; s++) /* sessions are non-empty and time-ordered inside */
        T = src->times[off[s + 1] - 1] > T ? src->times[off[s + 1] - 1] : T;
    int64_t cut = cut_time(T, days);
    is_after = xmalloc((size_t)S);
    known = calloc((size_t)NI + 1, 1);
    if (!is_after || !known) {
        st = NOMEM(err, "time split");
        goto fail;
    }
    int64_t nb_s = 0, nb_e = 0;
    for (int64_t s = 0; s < S; s++) {
        is_after[s] = src->times[off[s + 1] - 1] >= cut;
        if (is_after[s])
            continue;
        nb_s++;
        nb_e += off[s + 1] - off[s];
        for (int64_t j = off[s]; j < off[s + 1]; j++)
            known[src->items[j]] = 1;
    }
    if (nb_s == 0) {
        st = sr_error_set(err, SR_ERR_EMPTY,
                          "every session ends within the last %g days of the data: nothing "
                          "is left before the %s split", days, what);
        goto fail;
    }
    int32_t L = min_len > 1 ? min_len : 1;
    int64_t na_s = 0, na_e = 0;
    for (int64_t s = 0; s < S; s++) {
        if (!is_after[s])
            continue;
        int64_t c = 0;
        for (int64_t j = off[s]; j < off[s + 1]; j++)
            c += known[src->items[j]];
        if (c >= L) {
            na_s++;
            na_e += c;
        } else {
            is_after[s] = 2; /* dropped */
        }
    }
    sr_split *out[2] = {before, after};
    int64_t cnt_s[2] = {nb_s, na_s}, cnt_e[2] = {nb_e, na_e};
    for (int h = 0; h < 2; h++) {
        if (split_alloc(out[h], cnt_s[h], cnt_e[h]) != 0 ||
            !(out[h]->item_ids = xmalloc((size_t)NI * sizeof *out[h]->item_ids))) {
            st = NOMEM(err, "time split");
            goto fail;
        }
        memcpy(out[h]->item_ids, src->item_ids, (size_t)NI * sizeof *src->item_ids);
        out[h]->n_items = NI;
        if ((st = split_copy_text(out[h], src, err)) != SR_OK)
            goto fail;
    }
    int64_t ws[2] = {0, 0}, we[2] = {0, 0};
    for (int64_t s = 0; s < S; s++) {
        int h = is_after[s];
        if (h == 2)
            continue;
        sr_split *o = out[h];
        o->session_ids[ws[h]] = src->session_ids[s];
        o->offsets[ws[h]++] = we[h];
        for (int64_t j = off[s]; j < off[s + 1]; j++)
            if (h == 0 || known[src->items[j]]) {
                o->items[we[h]] = src->items[j];
                o->times[we[h]++] = src->times[j];
            }
    }
    before->offsets[nb_s] = we[0];
    after->offsets[na_s] = we[1];
    free(is_after);
    free(known);
    return SR_OK;
fail:
    free(is_after);
    free(known);
    sr_split_free(before);
    sr_split_free(after);
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
    /* The time split counts back from the latest click, so one corrupted
     * timestamp far in the future (year 294247) would leave a test set of one
     * session without a word. Clicks after 2200-01-01 are an error. */
    {
        const int64_t limit = INT64_C(7258118400) * 1000000; /* 2200-01-01T00:00:00Z */
        int64_t tmax = INT64_MIN;
        for (int64_t j = 0; j < log->n; j++)
            tmax = log->time[j] > tmax ? log->time[j] : tmax;
        if (tmax >= limit) {
            int64_t count = 0, first = -1;
            for (int64_t j = 0; j < log->n; j++)
                if (log->time[j] >= limit) {
                    count++;
                    if (first < 0)
                        first = j;
                }
            return sr_error_set(err, SR_ERR_ARG,
                                "%lld click%s dated after 2200-01-01 (the first: click %lld of "
                                "the log, session %lld, item %lld, %lld s after 1970): corrupted "
                                "timestamps? The time split counts back from the latest click; "
                                "remove or fix them", (long long)count, count == 1 ? " is" : "s are",
                                (long long)first + 1, (long long)log->session[first],
                                (long long)log->item[first], (long long)(log->time[first] / 1000000));
        }
    }
    grouped g;
    sr_status st = group_log(log, o.threads, &g, err);
    if (st != SR_OK)
        return st;
    st = filter(&g, &o, &out->filter_rounds, err);
    if (st != SR_OK) {
        grouped_free(&g);
        return st;
    }
    int64_t alive = 0;
    for (int32_t q = 0; q < g.S; q++)
        alive += g.len[q];
    out->filtered_events = alive;
    if (alive == 0) {
        grouped_free(&g);
        return sr_error_set(err, SR_ERR_EMPTY,
                            "no clicks survive the filter (%s, min session length %d, min item "
                            "support %d) of %lld clicks",
                            sr_filter_name(o.filter),
                            o.min_session_length, o.min_item_support, (long long)log->n);
    }
    st = materialize(&g, log, o.test_days, o.min_session_length, "test", &out->train_full,
                     &out->test, err);
    if (st == SR_OK && o.valid_days > 0) {
        st = split_time(&out->train_full, o.valid_days, o.min_session_length, "validation",
                        &out->train, &out->valid, err);
        out->has_valid = st == SR_OK;
    }
    if (st != SR_OK) {
        sr_prepared_free(out);
        return st;
    }
    return SR_OK;
}
