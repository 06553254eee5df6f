/*
 * serve.h - internal: the parts of sr_server shared by serve.c (models,
 * session store, batching, snapshots) and serve_http.c (routing, JSON,
 * metrics). Nothing here prints or exits.
 */
#ifndef SR_SERVE_H
#define SR_SERVE_H

#include "sessrec.h"
#include "util/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#define SRV_MAX_ID 128        /* bytes of a session id */
#define SRV_ITEM_TEXT 24      /* an item id as text, NUL included */

/* Strings as JSON literals, encoded by jansson once (answer.c): string i is
 * blob[off[i] .. off[i + 1]); an empty one could not be encoded (not UTF-8). */
typedef struct srv_strtab {
    char *blob;
    size_t *off;
    int64_t n;
} srv_strtab;

/* Encodes text(ctx, i, tmp) for i < n (tmp: SRV_ITEM_TEXT bytes the callback
 * may write into). -1 out of memory (t left empty). */
int srv_strtab_build(srv_strtab *t, int64_t n,
                     const char *(*text)(void *ctx, int64_t i, char *tmp), void *ctx);
void srv_strtab_free(srv_strtab *t);

/* A loaded model and the sessions and workers using it (reference counted:
 * after a reload the old one lives until its last session has moved). */
typedef struct srv_model {
    sr_model *m;
    srv_strtab items;         /* every item id as a JSON literal, for the answers */
    uint64_t fp;              /* FNV-1a of the model file: same file, same number */
    double loaded_at;         /* Unix time */
    atomic_int refs;
} srv_model;

srv_model *srv_model_ref(srv_model *h);
void srv_model_unref(srv_model *h);     /* NULL is a no-op */
srv_model *srv_current_model(sr_server *s);

struct srv_job;

/* One session in the store. While `busy`, the request holding it owns e->s
 * and e->mh; everything else is under the store lock. Requests for a busy
 * session wait in its `waiters` list (no thread waits): the holder's release
 * hands the session to the first of them. */
typedef struct srv_entry {
    struct srv_entry *hnext, *prev, *next;   /* hash chain; LRU list (head = newest) */
    sr_session *s;            /* NULL until the first batch creates it */
    srv_model *mh;            /* model of s */
    struct srv_job *wait_head, *wait_tail;   /* requests waiting for it, in arrival order */
    double last;              /* sr_now() of the last use */
    size_t bytes;             /* what this entry counts in sr_server.bytes */
    int busy;
    uint32_t hash;
    size_t idlen;
    char id[];
} srv_entry;

/* Takes the session `id` for the calling thread (waits while a request holds
 * it); creates it when absent and `create` (evicting the least recently used
 * idle sessions beyond max_sessions). NULL: absent, or no room (every session
 * busy) or out of memory when creating. Used where no request is in flight
 * (snapshot restore); requests go through srv_start_job. */
srv_entry *srv_acquire(sr_server *s, const char *id, int create, int *created);
/* Gives it back; `drop` deletes it. Only for entries without waiters. */
void srv_release(sr_server *s, srv_entry *e, int drop);

enum { SRV_JOB_CLICK, SRV_JOB_RECS, SRV_JOB_STATELESS, SRV_JOB_DELETE };

/* A request from its parse to its answer. Items are the request's texts;
 * results are filled by the worker (status 200, or an error status and
 * message). Heap-allocated; freed once answered. */
typedef struct srv_job {
    int kind, ep;
    double t0;                /* sr_now() when the request came in */
    char id[SRV_MAX_ID + 1];  /* CLICK, RECS, DELETE: the session id */
    srv_entry *e;             /* CLICK, RECS: the session, held (busy) */
    char **items;             /* (n_items) owned item texts to feed, in order */
    int n_items;
    int k, exclude_seen;
    /* results */
    int status;
    char error[512];
    int *unknown;             /* (n_items) indices of items the model does not know */
    int n_unknown;
    sr_buf recs;              /* the recommendations as JSON text, [{"item": .., "score": ..}, ..] */
    int64_t session_clicks;
    /* queue */
    sr_session *tmp;          /* STATELESS: the worker's temporary session */
    struct srv_job *next;     /* in the batch queue or an entry's waiters */
    /* the answer: written to *out, then done(arg) */
    sr_http_response *out;
    sr_server_done_fn done;
    void *arg;
} srv_job;

/* Starts a job: 1 when it waits for a batch (the worker answers it), 0 when
 * it was answered here (DELETE of an idle or absent session, RECS of an absent
 * one, no room: j->status and j->error say how; the caller answers). */
int srv_start_job(sr_server *s, srv_job *j);
/* Builds j's response into *j->out, records the metrics, calls j->done and
 * frees j (serve_http.c). */
void srv_answer_job(sr_server *s, srv_job *j);
void srv_job_free(srv_job *j);
/* Records one answered request in the metrics. */
void srv_count(sr_server *s, int ep, double t0, const sr_http_response *out);

/* The n recommendations (items idx, scores val) as the JSON text of the
 * answers' "items" array, into b (emptied first). -1 when out of memory or
 * an item id is not UTF-8. */
int srv_recs_json(sr_buf *b, const srv_strtab *items, const int32_t *idx, const float *val,
                  int n);
/* JSON text pieces in the form json_dumps gives them (JSON_COMPACT |
 * JSON_REAL_PRECISION(7)): a string literal (-1 when not UTF-8 or out of
 * memory), a real (null when not finite), an integer. */
int srv_json_str(sr_buf *b, const char *s, size_t n);
void srv_json_real(sr_buf *b, double v);
void srv_json_int(sr_buf *b, int64_t v);
/* The body of job j's 200 answer (CLICK, RECS, STATELESS), malloc'd; NULL
 * when out of memory or a string is not UTF-8. */
char *srv_answer_text(const srv_job *j);

/* Responses (answer.c). A NULL body (out of memory) is answered 503. */
#define JSON_TYPE "application/json"
void srv_set_body(sr_http_response *out, int status, const char *type, char *body);
void srv_reply_json(sr_http_response *out, int status, json_t *obj);  /* takes obj */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void srv_reply_error(sr_http_response *out, int status, const char *fmt, ...);

/* ---- team.c: one batch scored by T threads sharing out its items ---- */
typedef struct srv_team srv_team;
/* T threads in all (the caller and T-1 helpers, 1 <= T <= 64), batches of up
 * to batch_max rows, k up to max_k. NULL when out of memory or threads. */
srv_team *srv_team_new(int T, int batch_max, int max_k);
void srv_team_free(srv_team *t);
/* 1 when the team scores m's batches: the model has score bounds
 * (sr_model_score_bounds; then even one thread gains: each row's top k needs
 * the exact scores of a few candidates only). */
int srv_team_splits(const srv_team *t, const sr_model *m);
/* Gives the parts scorers of m and their chunk buffers (once per model); -1
 * out of memory. */
int srv_team_use_model(srv_team *t, const sr_model *m);
/* The top k[r] items (exclude_seen when excl[r]) of each of the n sessions as
 * they are now, as sr_session_scores + sr_session_topk would give them:
 * idx/val rows of max_k, cnt[r] written. ws is the caller's scorer of the
 * model (part 0). */
sr_status srv_team_topk(srv_team *t, sr_scorer *ws, sr_session *const *sess, int n, const int *k,
                        const int *excl, int32_t *idx, float *val, int *cnt, sr_error *err);

/* With score bounds (sr_model_score_bounds), what the last srv_team_topk
 * did: rows answered from the bounds, of them scored in full instead (too
 * many items near the k-th best), and items scored exactly for the others. */
typedef struct srv_team_stats {
    uint64_t rows, full, scored;
} srv_team_stats;
srv_team_stats srv_team_get_stats(const srv_team *t);
/* For tests, after srv_team_use_model: fewer candidates per row and thread
 * before a row is scored in full (cap: only lowers the 2 max_k + 512 set
 * there), and the first count that raises a row's floor less 2 k (lim0,
 * 128 there; 0 raises it as soon as there are 2 k). */
void srv_team_set_limits(srv_team *t, int cap, int lim0);
/* Remembers idx (cnt items) as the hints for s's last click (see team.c):
 * srv_team_topk does with each answer; tests plant hints with it (any
 * numbers: a seed takes only valid, distinct items that count). */
void srv_team_hint(srv_team *t, const sr_session *s, const int32_t *idx, int cnt);
/* For tests, after srv_team_use_model: the bounds widened and each mid
 * replaced by the worst the radius allows (the exact score + 0.999 rad for
 * odd items, - 0.999 rad for even), so that a top k that leaned on the
 * bounds being better than promised goes wrong. -1 out of memory. */
int srv_team_set_skew(srv_team *t);

/* sr_session_step(ws, sess, items, n, NULL) with the rows split over the
 * team: part p steps rows [n p / T, n (p + 1) / T) with its own scorer (one
 * call below 2T rows). Each part's states are what sr_session_step gives its
 * rows as a batch: a GRU step's last bits depend on the batch, as with any
 * batching. On an error (out of memory) the other parts' sessions may have
 * advanced. */
sr_status srv_team_step(srv_team *t, sr_scorer *ws, sr_session *const *sess,
                        const int32_t *items, int n, sr_error *err);

/* fn(ctx, i) for every i in [0, n), spread over the team; returns when all
 * are done. fn must be safe to run for different i at once. */
void srv_team_each(srv_team *t, void (*fn)(void *ctx, int i), void *ctx, int n);

/* An item id as text -> the model's dense index (-1: unknown or malformed). */
int32_t srv_item_index(const sr_model *m, const char *text);

/* Endpoints, for the metrics. */
enum { SRV_EP_CLICKS, SRV_EP_RECS, SRV_EP_DELETE, SRV_EP_RECOMMEND, SRV_EP_HEALTH,
       SRV_EP_METRICS, SRV_EP_RELOAD, SRV_EP_OTHER, SRV_N_EP };
#define SRV_N_BUCKETS 12
extern const double srv_buckets[SRV_N_BUCKETS];   /* latency histogram bounds, seconds */

struct srv_worker;

struct sr_server {
    sr_server_opts opts;
    double started;
    int blas_prev;               /* OpenBLAS's thread count before the server (util/blas.h) */
    /* model */
    pthread_mutex_t mlock;
    srv_model *model;
    atomic_uint_fast64_t reloads, reload_failures;
    /* session store */
    pthread_mutex_t slock;
    pthread_cond_t scond;     /* a busy session was released (srv_acquire) */
    srv_entry **table;
    size_t tcap;              /* power of two */
    srv_entry *lru_head, *lru_tail;
    int64_t n_sessions;
    size_t bytes;
    atomic_uint_fast64_t evictions, expired;
    /* batching */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    srv_job *qhead, *qtail;
    int qlen, stop;
    struct srv_worker *workers;
    int n_workers;
    atomic_uint_fast64_t batches, batch_rows;
    atomic_uint_fast64_t topk_rows, topk_full, topk_scored; /* srv_team_stats' sums */
    /* metrics */
    atomic_uint_fast64_t requests[SRV_N_EP], errors[SRV_N_EP];
    atomic_uint_fast64_t lat_bucket[SRV_N_BUCKETS + 1];  /* cumulative at render time */
    atomic_uint_fast64_t lat_sum_us;
};

#endif
