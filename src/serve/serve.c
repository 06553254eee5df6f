/*
 * serve.c - the recommendation server without its sockets (sr_server): the
 * model holder and reload, the session store (chained hash map on the session
 * id, LRU list, idle expiry, memory accounting), the micro-batching queue and
 * its worker threads, snapshots, metrics. Routing and JSON are in
 * serve_http.c. Must never print or exit; everything a user can get wrong is
 * answered as an HTTP error by the caller of these functions.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve/serve.h"
#include "util/blas.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- models ---------------------------------------------------------------------- */

/* FNV-1a over the model file: tells whether two loads read the same file. (Not
 * the CRC-32: a model file ends with the CRC of what precedes it, and the
 * CRC-32 of any such file of a given length is the same number.) */
static uint64_t file_hash(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint64_t h = 14695981039346656037ull;
    if (!f)
        return 0;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ull;
    fclose(f);
    return h;
}

/* Item i's id as text: its text id, or its integer id written into tmp. */
static const char *item_text(void *ctx, int64_t i, char *tmp)
{
    const sr_model *m = ctx;
    const char *t = sr_model_item_text(m, i);
    if (t)
        return t;
    snprintf(tmp, SRV_ITEM_TEXT, "%lld", (long long)sr_model_item_ids(m)[i]);
    return tmp;
}

static sr_status holder_load(const char *path, srv_model **out, sr_error *err)
{
    *out = NULL;
    srv_model *h = calloc(1, sizeof *h);
    if (!h)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory loading a model");
    sr_status st = sr_model_load(path, &h->m, err);
    if (st != SR_OK) {
        free(h);
        return st;
    }
    if (srv_strtab_build(&h->items, sr_model_n_items(h->m), item_text, h->m) != 0) {
        sr_model_free(h->m);
        free(h);
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory loading a model");
    }
    h->fp = file_hash(path);
    h->refs = 1;
    h->loaded_at = (double)time(NULL);
    *out = h;
    return SR_OK;
}

srv_model *srv_model_ref(srv_model *h)
{
    atomic_fetch_add(&h->refs, 1);
    return h;
}

void srv_model_unref(srv_model *h)
{
    if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
        srv_strtab_free(&h->items);
        sr_model_free(h->m);
        free(h);
    }
}

srv_model *srv_current_model(sr_server *s)
{
    pthread_mutex_lock(&s->mlock);
    srv_model *h = srv_model_ref(s->model);
    pthread_mutex_unlock(&s->mlock);
    return h;
}

sr_status sr_server_reload(sr_server *s, sr_error *err)
{
    srv_model *h;
    sr_status st = holder_load(s->opts.model_path, &h, err);
    if (st != SR_OK) {
        atomic_fetch_add(&s->reload_failures, 1);
        return st;
    }
    pthread_mutex_lock(&s->mlock);
    srv_model *old = s->model;
    s->model = h;
    pthread_mutex_unlock(&s->mlock);
    srv_model_unref(old);
    atomic_fetch_add(&s->reloads, 1);
    return SR_OK;
}

/* ---- item ids as text ---------------------------------------------------------------
 * The one place that converts between the item text of the API and the model's
 * dense index: a model with text ids (SKUs, UUIDs) looks the text up; one with
 * integer ids takes them in decimal. */

int32_t srv_item_index(const sr_model *m, const char *text)
{
    if (text && sr_model_item_text(m, 0))
        return (int32_t)sr_model_item_find(m, text, strlen(text));
    if (!text || !*text || strlen(text) > 20)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*end || errno || v < 0 || text[0] == '+' || text[0] == ' ' ||
        (text[0] == '0' && text[1]))
        return -1;
    return (int32_t)sr_model_item_index(m, (int64_t)v);
}

/* ---- session store ------------------------------------------------------------------ */

static uint32_t hash_id(const char *id, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)id[i]) * 16777619u;
    return h;
}

static size_t entry_bytes(const srv_entry *e)
{
    return sizeof *e + e->idlen + 1 + (e->s ? sr_session_bytes(e->s) : 0);
}

static void lru_unlink(sr_server *s, srv_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_head(sr_server *s, srv_entry *e)
{
    e->prev = NULL;
    e->next = s->lru_head;
    if (s->lru_head)
        s->lru_head->prev = e;
    s->lru_head = e;
    if (!s->lru_tail)
        s->lru_tail = e;
}

static srv_entry **bucket_of(sr_server *s, uint32_t h) { return &s->table[h & (s->tcap - 1)]; }

static srv_entry *find(sr_server *s, const char *id, size_t n, uint32_t h)
{
    for (srv_entry *e = *bucket_of(s, h); e; e = e->hnext)
        if (e->hash == h && e->idlen == n && !memcmp(e->id, id, n))
            return e;
    return NULL;
}

static void grow_table(sr_server *s)
{
    size_t nc = s->tcap * 2;
    srv_entry **t = calloc(nc, sizeof *t);
    if (!t)
        return; /* chains just get longer */
    for (size_t i = 0; i < s->tcap; i++)
        for (srv_entry *e = s->table[i], *nx; e; e = nx) {
            nx = e->hnext;
            e->hnext = t[e->hash & (nc - 1)];
            t[e->hash & (nc - 1)] = e;
        }
    free(s->table);
    s->table = t;
    s->tcap = nc;
}

/* Removes an idle entry from the table and the LRU list and frees it. */
static void drop_entry(sr_server *s, srv_entry *e)
{
    srv_entry **p = bucket_of(s, e->hash);
    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    lru_unlink(s, e);
    s->n_sessions--;
    s->bytes -= e->bytes;
    sr_session_free(e->s);
    srv_model_unref(e->mh);
    free(e);
}

/* Expired sessions sit at the LRU tail. Called with the store lock held. */
static void expire(sr_server *s, double now)
{
    while (s->lru_tail && !s->lru_tail->busy && now - s->lru_tail->last > s->opts.session_ttl) {
        drop_entry(s, s->lru_tail);
        atomic_fetch_add(&s->expired, 1);
    }
}

/* Makes room for one more session: evicts least recently used idle ones. */
static void evict(sr_server *s)
{
    srv_entry *e = s->lru_tail;
    while (s->n_sessions >= s->opts.max_sessions && e) {
        srv_entry *prev = e->prev;
        if (!e->busy) {
            drop_entry(s, e);
            atomic_fetch_add(&s->evictions, 1);
        }
        e = prev;
    }
}

/* A new entry for id (n bytes, hash h), in the table and at the head of the
 * LRU list, counted; NULL when out of memory. Called with slock held. */
static srv_entry *insert_entry(sr_server *s, const char *id, size_t n, uint32_t h)
{
    srv_entry *e = calloc(1, sizeof *e + n + 1);
    if (!e)
        return NULL;
    memcpy(e->id, id, n + 1);
    e->idlen = n;
    e->hash = h;
    e->hnext = *bucket_of(s, h);
    *bucket_of(s, h) = e;
    e->last = sr_now();
    e->bytes = entry_bytes(e);
    s->bytes += e->bytes;
    lru_push_head(s, e);
    if (++s->n_sessions > (int64_t)s->tcap)
        grow_table(s);
    return e;
}

srv_entry *srv_acquire(sr_server *s, const char *id, int create, int *created)
{
    size_t n = strlen(id);
    uint32_t h = hash_id(id, n);
    *created = 0;
    pthread_mutex_lock(&s->slock);
    expire(s, sr_now());
    srv_entry *e;
    for (;;) {
        e = find(s, id, n, h);
        if (!e || !e->busy)
            break;
        pthread_cond_wait(&s->scond, &s->slock); /* another request holds it: wait our turn */
    }
    if (!e && create) {
        evict(s);
        if (s->n_sessions >= s->opts.max_sessions) { /* every session is busy */
            pthread_mutex_unlock(&s->slock);
            return NULL;
        }
        if ((e = insert_entry(s, id, n, h)))
            *created = 1;
    }
    if (e) {
        e->busy = 1;
        lru_unlink(s, e);
        lru_push_head(s, e);
    }
    pthread_mutex_unlock(&s->slock);
    return e;
}

void srv_release(sr_server *s, srv_entry *e, int drop)
{
    pthread_mutex_lock(&s->slock);
    e->busy = 0;
    if (drop || !e->s) { /* deleted, or never got a session (failed request) */
        drop_entry(s, e);
    } else {
        size_t b = entry_bytes(e);
        s->bytes += b - e->bytes;
        e->bytes = b;
        e->last = sr_now();
    }
    pthread_cond_broadcast(&s->scond);
    pthread_mutex_unlock(&s->slock);
}

/* Puts j at the end of the batch queue. Called with qlock held. */
static void enqueue_locked(sr_server *s, srv_job *j)
{
    j->next = NULL;
    if (s->qtail)
        s->qtail->next = j;
    else
        s->qhead = j;
    s->qtail = j;
    s->qlen++;
}

static void enqueue(sr_server *s, srv_job *j)
{
    pthread_mutex_lock(&s->qlock);
    enqueue_locked(s, j);
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

static void job_status(srv_job *j, int status, const char *msg)
{
    j->status = status;
    snprintf(j->error, sizeof j->error, "%s", msg);
}

/* Empties a held entry's session (a DELETE that reached it while others wait
 * after it: they see a session that does not exist). */
static void entry_clear(srv_entry *e)
{
    sr_session_free(e->s);
    srv_model_unref(e->mh);
    e->s = NULL;
    e->mh = NULL;
}

int srv_start_job(sr_server *s, srv_job *j)
{
    j->status = 200;
    if (j->kind == SRV_JOB_STATELESS) {
        enqueue(s, j);
        return 1;
    }
    size_t n = strlen(j->id);
    uint32_t h = hash_id(j->id, n);
    pthread_mutex_lock(&s->slock);
    expire(s, sr_now());
    srv_entry *e = find(s, j->id, n, h);
    if (e && e->busy) { /* another request holds it: wait in line, no thread waits */
        j->next = NULL;
        if (e->wait_tail)
            e->wait_tail->next = j;
        else
            e->wait_head = j;
        e->wait_tail = j;
        pthread_mutex_unlock(&s->slock);
        return 1;
    }
    if (j->kind == SRV_JOB_DELETE) {
        if (e)
            drop_entry(s, e);
        else
            job_status(j, 404, "");
        pthread_mutex_unlock(&s->slock);
        return 0;
    }
    if (!e && j->kind == SRV_JOB_RECS) {
        job_status(j, 404, "");
        pthread_mutex_unlock(&s->slock);
        return 0;
    }
    if (!e) {
        evict(s);
        if (s->n_sessions >= s->opts.max_sessions) { /* every session is busy */
            pthread_mutex_unlock(&s->slock);
            job_status(j, 503, "the session store is full (every session is in use)");
            return 0;
        }
        e = insert_entry(s, j->id, n, h);
        if (!e) {
            pthread_mutex_unlock(&s->slock);
            job_status(j, 503, "out of memory");
            return 0;
        }
    }
    e->busy = 1;
    lru_unlink(s, e);
    lru_push_head(s, e);
    pthread_mutex_unlock(&s->slock);
    j->e = e;
    enqueue(s, j);
    return 1;
}

/* Gives back the entry of a finished job: to the first request waiting for
 * it (appended to *ready, to be queued), or to the store. DELETEs waiting for
 * it are done here (appended to *answered). Called with the store lock held. */
static void release_locked(sr_server *s, srv_entry *e, srv_job ***ready, srv_job ***answered)
{
    double now = sr_now();
    for (;;) {
        srv_job *w = e->wait_head;
        if (!w)
            break;
        e->wait_head = w->next;
        if (!e->wait_head)
            e->wait_tail = NULL;
        w->next = NULL;
        if (w->kind == SRV_JOB_DELETE) {
            if (!e->s)
                job_status(w, 404, "");
            entry_clear(e);
            **answered = w;
            *answered = &w->next;
            continue;
        }
        if (w->kind == SRV_JOB_RECS && !e->s) {
            job_status(w, 404, "");
            **answered = w;
            *answered = &w->next;
            continue;
        }
        w->e = e; /* stays busy: handed over */
        **ready = w;
        *ready = &w->next;
        size_t b = entry_bytes(e);
        s->bytes += b - e->bytes;
        e->bytes = b;
        e->last = now;
        return;
    }
    e->busy = 0;
    if (!e->s) { /* deleted, or never got a session (failed request) */
        drop_entry(s, e);
    } else {
        size_t b = entry_bytes(e);
        s->bytes += b - e->bytes;
        e->bytes = b;
        e->last = now;
    }
    pthread_cond_broadcast(&s->scond);
}

int64_t sr_server_sessions(const sr_server *s, size_t *bytes)
{
    sr_server *w = (sr_server *)s;
    pthread_mutex_lock(&w->slock);
    int64_t n = w->n_sessions;
    if (bytes)
        *bytes = w->bytes;
    pthread_mutex_unlock(&w->slock);
    return n;
}

/* ---- moving a session to another model --------------------------------------------- */

/* A session of model `to` with the clicks of `from` replayed (items `to` does
 * not know dropped), or, when both come from the same file, its exact bytes.
 * NULL when out of memory. */
static sr_session *migrate(sr_scorer *ws, const srv_model *fromh, const sr_session *from,
                           const srv_model *to)
{
    if (fromh->fp == to->fp && sr_model_n_items(fromh->m) == sr_model_n_items(to->m)) {
        size_t need = sr_session_save(from, NULL, 0);
        void *buf = malloc(need);
        sr_session *out = NULL;
        if (buf) {
            sr_session_save(from, buf, need);
            sr_session_restore(to->m, buf, need, &out, NULL);
            free(buf);
        }
        return out;
    }
    sr_session *out = sr_session_new(to->m);
    if (!out)
        return NULL;
    const int32_t *it = sr_session_items(from);
    const int64_t *ids = sr_model_item_ids(fromh->m);
    for (int i = 0; i < sr_session_length(from); i++) {
        int64_t j = sr_model_item_index(to->m, ids[it[i]]);
        if (j >= 0 && sr_session_click(ws, out, (int32_t)j, NULL) != SR_OK) {
            sr_session_free(out);
            return NULL;
        }
    }
    return out;
}

/* ---- micro-batching ------------------------------------------------------------------- */

typedef struct srv_worker {
    sr_server *s;
    srv_model *mh;         /* model of the scorer */
    sr_scorer *ws;
    float *scores;         /* (batch_max, n_items), NULL when the team splits the scoring */
    int32_t *topk;         /* (max_k) */
    float *topv;
    sr_session **sess;     /* (batch_max) */
    int32_t *items;        /* (batch_max) */
    int *rows;             /* (batch_max) job of each row */
    srv_team *team;        /* this thread and its helpers, scoring a batch split by items */
    sr_session **all;      /* (batch_max) the team's rows: sessions, */
    int *all_job, *all_k, *all_excl;           /* their jobs, k, exclude_seen */
    int32_t *all_idx;      /* (batch_max, max_k) their top k */
    float *all_val;
    int *all_cnt;
    pthread_t thread;
} worker;

static void fail(srv_job *j, int status, const char *msg) { job_status(j, status, msg); }

static int worker_use_model(worker *w, srv_model *mh)
{
    if (w->mh == mh) {
        srv_model_unref(mh);
        return 0;
    }
    int bm = w->s->opts.batch_max;
    sr_scorer *ws = sr_scorer_new(mh->m, bm);
    /* whole rows of scores only where the team does not split the scoring
     * (baselines); the team scores in chunks into buffers of its own */
    int splits = srv_team_splits(w->team, mh->m);
    float *sc = splits ? NULL : malloc((size_t)bm * (size_t)sr_model_n_items(mh->m) * sizeof *sc);
    if (!ws || (!sc && !splits)) {
        sr_scorer_free(ws);
        free(sc);
        srv_model_unref(mh);
        return -1;
    }
    if (w->team && srv_team_use_model(w->team, mh->m) != 0) {
        sr_scorer_free(ws);
        free(sc);
        srv_model_unref(mh);
        return -1;
    }
    sr_scorer_free(w->ws);
    free(w->scores);
    srv_model_unref(w->mh);
    w->ws = ws;
    w->scores = sc;
    w->mh = mh;
    return 0;
}

/* Fills job j's results from session ss's top n (idx, val). */
static void fill_recs(worker *w, srv_job *j, const sr_session *ss, const int32_t *idx,
                      const float *val, int n)
{
    /* written now, while the worker holds the model: the answer itself may be
     * sent after a reload freed it */
    if (srv_recs_json(&j->recs, &w->mh->items, idx, val, n) != 0)
        fail(j, 503, "out of memory writing an answer, or an item id that is not UTF-8");
    j->session_clicks = sr_session_clicks_total(ss);
}

/* Fills job j's results from a row of scores. */
static void take_topk(worker *w, srv_job *j, sr_session *ss, float *row)
{
    int n = sr_session_topk(ss, row, j->k, j->exclude_seen, w->topk, w->topv);
    fill_recs(w, j, ss, w->topk, w->topv, n);
}

/* a batch's jobs, for the team's per-job loops (srv_team_each) */
typedef struct batch_ctx {
    worker *w;
    srv_job **jobs;
} batch_ctx;

static void fill_one(void *ctx, int r)
{
    batch_ctx *f = ctx;
    worker *w = f->w;
    const size_t mk = (size_t)w->s->opts.max_k;
    fill_recs(w, f->jobs[w->all_job[r]], w->all[r], w->all_idx + (size_t)r * mk,
              w->all_val + (size_t)r * mk, w->all_cnt[r]);
}

/* The batch's scoring by the team: the clicks of the step rows are fed
 * without scores, then every row is scored and ranked split by items. */
static void team_score(worker *w, srv_job **jobs, int nstep, const int *step_rows, int nscore,
                       const int *score_rows)
{
    sr_error err;
    int n = 0;
    if (nstep) {
        if (srv_team_step(w->team, w->ws, w->sess, w->items, nstep, &err) != SR_OK) {
            for (int r = 0; r < nstep; r++)
                fail(jobs[step_rows[r]], 503, err.msg);
        } else {
            for (int r = 0; r < nstep; r++) {
                w->all[n] = w->sess[r];
                w->all_job[n++] = step_rows[r];
            }
        }
    }
    for (int r = 0; r < nscore; r++) {
        srv_job *j = jobs[score_rows[r]];
        w->all[n] = j->kind == SRV_JOB_STATELESS ? j->tmp : j->e->s;
        w->all_job[n++] = score_rows[r];
    }
    for (int r = 0; r < n; r++) {
        w->all_k[r] = jobs[w->all_job[r]]->k;
        w->all_excl[r] = jobs[w->all_job[r]]->exclude_seen;
    }
    if (srv_team_topk(w->team, w->ws, w->all, n, w->all_k, w->all_excl, w->all_idx,
                      w->all_val, w->all_cnt, &err) != SR_OK) {
        for (int r = 0; r < n; r++)
            fail(jobs[w->all_job[r]], 503, err.msg);
        return;
    }
    srv_team_stats ts = srv_team_get_stats(w->team);
    atomic_fetch_add_explicit(&w->s->topk_rows, ts.rows, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->s->topk_full, ts.full, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->s->topk_scored, ts.scored, memory_order_relaxed);
    batch_ctx f = {w, jobs};
    srv_team_each(w->team, fill_one, &f, n); /* the answers' item lists, in parallel */
}

static void run_batch(worker *w, srv_job **jobs, int nj)
{
    sr_server *s = w->s;
    if (worker_use_model(w, srv_current_model(s)) != 0) {
        for (int i = 0; i < nj; i++)
            fail(jobs[i], 503, "out of memory preparing the model");
        return;
    }
    const sr_model *m = w->mh->m;
    int nstep = 0, nscore = 0;
    int *step_rows = w->rows, *score_rows = w->rows + nj;
    for (int i = 0; i < nj; i++) {
        srv_job *j = jobs[i];
        j->status = 200;
        sr_session *ss;
        if (j->kind == SRV_JOB_STATELESS) {
            ss = j->tmp = sr_session_new(m);
        } else {
            srv_entry *e = j->e;
            if (e->s && e->mh != w->mh) {
                sr_session *ns = migrate(w->ws, e->mh, e->s, w->mh);
                if (ns) {
                    sr_session_free(e->s);
                    srv_model_unref(e->mh);
                    e->s = ns;
                    e->mh = srv_model_ref(w->mh);
                } else {
                    fail(j, 503, "out of memory moving the session to the new model");
                    continue;
                }
            }
            if (!e->s && j->kind == SRV_JOB_RECS) { /* deleted while it waited */
                fail(j, 404, "");
                continue;
            }
            if (!e->s) {
                e->s = sr_session_new(m);
                if (e->s)
                    e->mh = srv_model_ref(w->mh);
            }
            ss = e->s;
        }
        if (!ss) {
            fail(j, 503, "out of memory creating a session");
            continue;
        }
        /* map the items; every click but the last is fed on its own (no scores) */
        int32_t last = -1;
        j->n_unknown = 0;
        for (int t = 0; t < j->n_items; t++) {
            int32_t x = srv_item_index(m, j->items[t]);
            if (x < 0) {
                j->unknown[j->n_unknown++] = t;
                continue;
            }
            if (last >= 0 && sr_session_click(w->ws, ss, last, NULL) != SR_OK)
                break;
            last = x;
        }
        if (j->k == 0) { /* record the clicks only: nothing to score */
            if (last >= 0 && sr_session_click(w->ws, ss, last, NULL) != SR_OK)
                fail(j, 503, "out of memory recording a click");
            j->session_clicks = sr_session_clicks_total(ss);
            continue;
        }
        if (last >= 0) {
            w->sess[nstep] = ss;
            w->items[nstep] = last;
            step_rows[nstep++] = i;
        } else {
            score_rows[nscore++] = i;
        }
    }
    const size_t ni = (size_t)sr_model_n_items(m);
    sr_error err;
    if (srv_team_splits(w->team, m)) {
        team_score(w, jobs, nstep, step_rows, nscore, score_rows);
        nstep = nscore = 0;
    }
    if (nstep) {
        if (sr_session_step(w->ws, w->sess, w->items, nstep, w->scores, &err) != SR_OK) {
            for (int r = 0; r < nstep; r++)
                fail(jobs[step_rows[r]], 503, err.msg);
        } else {
            for (int r = 0; r < nstep; r++)
                take_topk(w, jobs[step_rows[r]], w->sess[r], w->scores + (size_t)r * ni);
        }
    }
    if (nscore) {
        for (int r = 0; r < nscore; r++) {
            srv_job *j = jobs[score_rows[r]];
            w->sess[r] = j->kind == SRV_JOB_STATELESS ? j->tmp : j->e->s;
        }
        if (sr_session_scores(w->ws, (const sr_session *const *)w->sess, nscore, w->scores,
                              &err) != SR_OK) {
            for (int r = 0; r < nscore; r++)
                fail(jobs[score_rows[r]], 503, err.msg);
        } else {
            for (int r = 0; r < nscore; r++)
                take_topk(w, jobs[score_rows[r]], w->sess[r], w->scores + (size_t)r * ni);
        }
    }
    for (int i = 0; i < nj; i++) {
        sr_session_free(jobs[i]->tmp);
        jobs[i]->tmp = NULL;
    }
    atomic_fetch_add(&s->batches, 1);
    atomic_fetch_add(&s->batch_rows, (uint64_t)nj);
}

static void answer_one(void *ctx, int i)
{
    batch_ctx *a = ctx;
    a->jobs[i]->e = NULL;
    srv_answer_job(a->w->s, a->jobs[i]);
}

/* Answers a batch's jobs: hands each session to the request waiting for it
 * (queued for the next batch) or back to the store, then the answers (JSON
 * written by the team, in parallel). */
static void finish_batch(worker *w, srv_job **jobs, int nj)
{
    sr_server *s = w->s;
    srv_job *ready = NULL, **rtail = &ready, *answered = NULL, **atail = &answered;
    pthread_mutex_lock(&s->slock);
    for (int i = 0; i < nj; i++)
        if (jobs[i]->e)
            release_locked(s, jobs[i]->e, &rtail, &atail);
    pthread_mutex_unlock(&s->slock);
    if (ready) { /* they waited a batch already: first in the next one */
        int n = 0;
        srv_job *last = ready;
        for (srv_job *j = ready; j; j = j->next, n++)
            last = j;
        pthread_mutex_lock(&s->qlock);
        last->next = s->qhead;
        s->qhead = ready;
        if (!s->qtail)
            s->qtail = last;
        s->qlen += n;
        pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qlock);
    }
    batch_ctx a = {w, jobs};
    srv_team_each(w->team, answer_one, &a, nj);
    for (srv_job *j = answered, *nx; j; j = nx) {
        nx = j->next;
        srv_answer_job(s, j);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sr_server *s = w->s;
    const int bm = s->opts.batch_max;
    srv_job **jobs = malloc((size_t)bm * sizeof *jobs);
    pthread_mutex_lock(&s->qlock);
    while (jobs) {
        while (!s->qhead && !s->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            if (pthread_cond_timedwait(&s->qcond, &s->qlock, &ts) == ETIMEDOUT &&
                w == s->workers) { /* idle: let expired sessions go */
                pthread_mutex_unlock(&s->qlock);
                pthread_mutex_lock(&s->slock);
                expire(s, sr_now());
                pthread_mutex_unlock(&s->slock);
                pthread_mutex_lock(&s->qlock);
            }
        }
        if (!s->qhead && s->stop)
            break;
        if (s->opts.batch_wait > 0 && s->qlen < bm) { /* gather window */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            long ns = ts.tv_nsec + (long)(s->opts.batch_wait * 1e9);
            ts.tv_sec += ns / 1000000000L;
            ts.tv_nsec = ns % 1000000000L;
            while (s->qlen < bm && !s->stop &&
                   pthread_cond_timedwait(&s->qcond, &s->qlock, &ts) != ETIMEDOUT)
                ;
        }
        const int split = s->opts.batch_split; /* past it, a third of what waits */
        int take = s->qlen;
        if (split > 0 && take > split)
            take = (take + 2) / 3 > split ? (take + 2) / 3 : split;
        if (take > bm)
            take = bm;
        int nj = 0;
        while (s->qhead && nj < take) {
            jobs[nj++] = s->qhead;
            s->qhead = s->qhead->next;
            s->qlen--;
        }
        if (!s->qhead)
            s->qtail = NULL;
        if (s->qhead) /* more than one batch waiting: wake another worker */
            pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qlock);
        run_batch(w, jobs, nj);
        finish_batch(w, jobs, nj); /* may queue jobs that waited for these sessions */
        pthread_mutex_lock(&s->qlock);
    }
    pthread_mutex_unlock(&s->qlock);
    free(jobs);
    return NULL;
}

/* ---- snapshots ----------------------------------------------------------------------- */
/* File: "SRSNAP01", u32 count, then per session: u32 id length, id, f64 idle
 * seconds, u64 model fingerprint (FNV-1a of the model file), u32 n clicks, n int64 item ids (original),
 * u32 session bytes, the bytes (sr_session_save); then the CRC-32 of all of it.
 * Sessions of the same model file come back exactly; otherwise their clicks
 * are replayed through the model loaded now. */

#define SNAP_MAGIC "SRSNAP01"

sr_status sr_server_snapshot(sr_server *s, sr_error *err)
{
    if (!s->opts.snapshot_path)
        return sr_error_set(err, SR_ERR_ARG, "no snapshot file configured");
    sr_buf b = {0};
    sr_buf_append(&b, SNAP_MAGIC, 8);
    pthread_mutex_lock(&s->slock);
    sr_buf_u32(&b, (uint32_t)s->n_sessions);
    double now = sr_now();
    for (srv_entry *e = s->lru_tail; e; e = e->prev) { /* oldest first: restore keeps the order */
        if (!e->s)
            continue;
        sr_buf_u32(&b, (uint32_t)e->idlen);
        sr_buf_append(&b, e->id, e->idlen);
        double idle = now - e->last;
        uint64_t bits;
        memcpy(&bits, &idle, 8);
        sr_buf_u64(&b, bits);
        sr_buf_u64(&b, e->mh->fp);
        int n = sr_session_length(e->s);
        const int32_t *it = sr_session_items(e->s);
        sr_buf_u32(&b, (uint32_t)n);
        for (int i = 0; i < n; i++)
            sr_buf_u64(&b, (uint64_t)sr_model_item_ids(e->mh->m)[it[i]]);
        size_t need = sr_session_save(e->s, NULL, 0);
        sr_buf_u32(&b, (uint32_t)need);
        sr_buf_reserve(&b, need);
        if (!b.oom) {
            sr_session_save(e->s, b.data + b.len, need);
            b.len += need;
        }
    }
    pthread_mutex_unlock(&s->slock);
    sr_buf_u32(&b, sr_crc32(0, b.data, b.len));
    if (b.oom) {
        sr_buf_free(&b);
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory writing the snapshot");
    }
    sr_status st = sr_write_file_atomic(s->opts.snapshot_path, b.data, b.len, err);
    sr_buf_free(&b);
    return st;
}

static sr_status snap_restore(sr_server *s, sr_error *err)
{
    const char *path = s->opts.snapshot_path;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? SR_OK
                               : sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
    sr_buf b = {0};
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        sr_buf_append(&b, tmp, n);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || b.oom) {
        sr_buf_free(&b);
        return sr_error_set(err, rerr ? SR_ERR_IO : SR_ERR_NOMEM, "%s: cannot read", path);
    }
    sr_status st = SR_OK;
    if (b.len < 16 || memcmp(b.data, SNAP_MAGIC, 8) ||
        sr_crc32(0, b.data, b.len - 4) != (uint32_t)(b.data[b.len - 4] | b.data[b.len - 3] << 8 |
                                                     b.data[b.len - 2] << 16 |
                                                     (uint32_t)b.data[b.len - 1] << 24)) {
        sr_buf_free(&b);
        return sr_error_set(err, SR_ERR_FORMAT, "%s: not a sessrec snapshot, or corrupted", path);
    }
    sr_rd r = {b.data, b.len - 4, 8, 0};
    uint32_t count = sr_rd_u32(&r);
    srv_model *mh = s->model;
    sr_scorer *ws = sr_scorer_new(mh->m, 1);
    double now = sr_now();
    for (uint32_t i = 0; i < count && !r.bad && ws && st == SR_OK; i++) {
        uint32_t idlen = sr_rd_u32(&r);
        const char *id = sr_rd_bytes(&r, idlen);
        uint64_t bits = sr_rd_u64(&r);
        uint64_t fp = sr_rd_u64(&r);
        uint32_t nc = sr_rd_u32(&r);
        const uint8_t *ids = sr_rd_bytes(&r, (size_t)nc * 8);
        uint32_t nb = sr_rd_u32(&r);
        const uint8_t *bytes = sr_rd_bytes(&r, nb);
        if (r.bad || idlen == 0 || idlen > SRV_MAX_ID || memchr(id, 0, idlen))
            break;
        double idle;
        memcpy(&idle, &bits, 8);
        sr_session *ss = NULL;
        if (fp == mh->fp) {
            if (sr_session_restore(mh->m, bytes, nb, &ss, err) != SR_OK) {
                st = SR_ERR_FORMAT;
                break;
            }
        } else { /* another model: replay the clicks this one knows */
            ss = sr_session_new(mh->m);
            for (uint32_t c = 0; ss && c < nc; c++) {
                uint64_t v = 0;
                for (int k = 7; k >= 0; k--)
                    v = v << 8 | ids[8 * (size_t)c + (size_t)k];
                int64_t x = sr_model_item_index(mh->m, (int64_t)v);
                if (x >= 0)
                    sr_session_click(ws, ss, (int32_t)x, NULL);
            }
        }
        if (!ss) {
            st = sr_error_set(err, SR_ERR_NOMEM, "out of memory restoring sessions");
            break;
        }
        char idz[SRV_MAX_ID + 1];
        memcpy(idz, id, idlen);
        idz[idlen] = 0;
        int created;
        srv_entry *e = srv_acquire(s, idz, 1, &created);
        if (!e) {
            sr_session_free(ss);
            continue;
        }
        sr_session_free(e->s);
        srv_model_unref(e->mh);
        e->s = ss;
        e->mh = srv_model_ref(mh);
        srv_release(s, e, 0);
        pthread_mutex_lock(&s->slock);
        e->last = now - (idle >= 0 && idle < 1e9 ? idle : 0);
        pthread_mutex_unlock(&s->slock);
    }
    if (st == SR_OK && (r.bad || !ws))
        st = sr_error_set(err, ws ? SR_ERR_FORMAT : SR_ERR_NOMEM, "%s: truncated snapshot", path);
    sr_scorer_free(ws);
    sr_buf_free(&b);
    return st;
}

/* ---- life cycle ------------------------------------------------------------------------ */

sr_server_opts sr_server_default_opts(void)
{
    sr_server_opts o = {0};
    o.max_sessions = 1000000;
    o.session_ttl = 1800;
    o.batch_max = 128;
    o.batch_wait = 0;
    o.batch_split = 16;
    o.workers = 1;
    o.score_threads = 1;
    o.max_body = 65536;
    o.max_items = 1000;
    o.max_k = 1000;
    return o;
}

sr_status sr_server_new(const sr_server_opts *opts, sr_server **out, sr_error *err)
{
    *out = NULL;
    if (!opts || !opts->model_path)
        return sr_error_set(err, SR_ERR_ARG, "serve: no model file");
    if (opts->max_sessions < 1 || opts->session_ttl <= 0 || opts->batch_max < 1 ||
        opts->batch_max > 4096 || opts->batch_wait < 0 || opts->batch_wait > 1 ||
        opts->batch_split < 0 || opts->batch_split > 4096 ||
        opts->workers < 1 || opts->workers > 64 || opts->score_threads < 1 ||
        opts->score_threads > 64 || opts->max_body < 16 || opts->max_items < 1 || opts->max_k < 1)
        return sr_error_set(err, SR_ERR_ARG,
                            "serve: bad limits (max_sessions %lld, ttl %g, batch %d, wait %g, "
                            "workers %d, score threads %d, body %zu, items %d, k %d)",
                            (long long)opts->max_sessions, opts->session_ttl, opts->batch_max,
                            opts->batch_wait, opts->workers, opts->score_threads,
                            opts->max_body, opts->max_items,
                            opts->max_k);
    sr_server *s = calloc(1, sizeof *s);
    if (!s)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory");
    s->opts = *opts;
    /* The workers are the parallelism: a multithreaded BLAS inside each small
     * product only spins and yields (a third of the CPU time in a profile).
     * The program's own setting comes back when the server is freed. */
    s->blas_prev = sr_blas_threads_enter(1);
    pthread_mutex_init(&s->mlock, NULL);
    pthread_mutex_init(&s->slock, NULL);
    pthread_cond_init(&s->scond, NULL);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    s->tcap = 1024;
    s->table = calloc(s->tcap, sizeof *s->table);
    if (!s->table) {
        sr_server_free(s);
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory");
    }
    sr_status st = holder_load(opts->model_path, &s->model, err);
    if (st == SR_OK && opts->snapshot_path)
        st = snap_restore(s, err);
    if (st != SR_OK) {
        sr_server_free(s);
        return st;
    }
    s->workers = calloc((size_t)opts->workers, sizeof *s->workers);
    if (!s->workers) {
        sr_server_free(s);
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < opts->workers; i++) {
        worker *w = &s->workers[i];
        w->s = s;
        w->topk = malloc((size_t)opts->max_k * sizeof *w->topk);
        w->topv = malloc((size_t)opts->max_k * sizeof *w->topv);
        w->sess = malloc((size_t)opts->batch_max * sizeof *w->sess);
        w->items = malloc((size_t)opts->batch_max * sizeof *w->items);
        w->rows = malloc(2 * (size_t)opts->batch_max * sizeof *w->rows);
        size_t bm = (size_t)opts->batch_max, mk = (size_t)opts->max_k;
        w->all = malloc(bm * sizeof *w->all);
        w->all_job = malloc(bm * sizeof *w->all_job);
        w->all_k = malloc(bm * sizeof *w->all_k);
        w->all_excl = malloc(bm * sizeof *w->all_excl);
        w->all_cnt = malloc(bm * sizeof *w->all_cnt);
        w->all_idx = malloc(bm * mk * sizeof *w->all_idx);
        w->all_val = malloc(bm * mk * sizeof *w->all_val);
        w->team = srv_team_new(opts->score_threads, opts->batch_max, opts->max_k);
        if (!w->topk || !w->topv || !w->sess || !w->items || !w->rows || !w->all ||
            !w->all_job || !w->all_k || !w->all_excl || !w->all_cnt || !w->all_idx ||
            !w->all_val || !w->team ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            sr_server_free(s);
            return sr_error_set(err, SR_ERR_NOMEM, "cannot start the batching threads");
        }
        s->n_workers++;
    }
    s->started = sr_now();
    *out = s;
    return SR_OK;
}

void sr_server_free(sr_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->qlock);
    s->stop = 1;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i].thread, NULL);
    if (s->workers)
        for (int i = 0; i < s->opts.workers; i++) {
            worker *w = &s->workers[i];
            sr_scorer_free(w->ws);
            free(w->scores);
            srv_model_unref(w->mh);
            free(w->topk);
            free(w->topv);
            free(w->sess);
            free(w->items);
            free(w->rows);
            srv_team_free(w->team);
            free(w->all);
            free(w->all_job);
            free(w->all_k);
            free(w->all_excl);
            free(w->all_cnt);
            free(w->all_idx);
            free(w->all_val);
        }
    free(s->workers);
    while (s->lru_tail)
        drop_entry(s, s->lru_tail);
    free(s->table);
    srv_model_unref(s->model);
    pthread_mutex_destroy(&s->mlock);
    pthread_mutex_destroy(&s->slock);
    pthread_cond_destroy(&s->scond);
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    sr_blas_threads_leave(s->blas_prev);
    free(s);
}
