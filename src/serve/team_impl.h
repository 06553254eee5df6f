/*
 * team_impl.h - internal to serve/: the scoring team's state, shared by
 * team.c (threads, hand-off, chunks, seeds, the heap top k) and
 * team_bounds.c (the top k from score bounds).
 */
#ifndef SR_TEAM_IMPL_H
#define SR_TEAM_IMPL_H

#include "serve/serve.h"

#define PROBE 64 /* items whose scores seed each row's top k */
#define HINTS 32 /* and items remembered per last click, for the same */

typedef struct srv_part {
    srv_team *t;
    int id;
    pthread_t thread;
    sr_scorer *ws;       /* own scorer (part 0: the batching thread's, lent per call) */
    /* its room for a batch (a model with bounds), one block from buf: */
    float *buf;          /* (batch_max * step) one chunk's mids of the batch, */
    int32_t *cand;       /* (batch_max * cap) each row's candidates, */
    float *cand_mid;     /* their mids, */
    int *ncand;          /* (batch_max) their count, -1 after an overflow, */
    int *lim;            /* (batch_max) the count that raises the floor next, */
    float *floor;        /* (batch_max) the row's floor, */
    float *rad;          /* (batch_max) its radius; then, for a row's answer: */
    float *full;         /* (n_items) its scores, after a candidate overflow, */
    int32_t *list;       /* (T * cap) its candidates of all parts, */
    float *lsc;          /* their mids, then their exact scores, */
    float *lscratch;     /* (T * cap) room for a selection, */
    int32_t *lpos;       /* (max_k) their top k's places in the list */
    int took;            /* chunks taken in this batch */
    float *skew;         /* srv_team_set_skew: (batch_max * step) exact scores */
    srv_team_stats stats; /* and what it did in this batch */
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
    const float *bw;     /* and its items' weights (sr_model_score_bound_weights), */
    float *ones;         /* or these (n_items), when it has none */
    int cap;             /* candidates a part keeps per row, at most */
    int lim0;            /* and the first count that raises its floor, less 2 k */
    srv_team_stats stats; /* the last srv_team_topk's (serve.h) */
    int32_t *oidx;       /* srv_team_topk's answers, for srv_bounds_finish */
    float *oval;
    int *ocnt;
    atomic_llong next;   /* the next chunk (srv_team_topk) or index (srv_team_each) to take */
    /* seeds (see the top): the model's probe items, sorted by index too (item,
     * place), the batch's probe scores and each row's seed */
    int32_t probe[PROBE], probe_by_item[2 * PROBE];
    int n_probe;
    float *pscore;       /* (batch_max * PROBE) */
    float *seed;         /* (batch_max); -INFINITY: none */
    /* hints (see the top): slot x % n_hint holds the best items of the last
     * answer to a session whose last click was x (HINTS, -1: none); written
     * and read by the calling thread (srv_team_topk) */
    int32_t *hint;
    int64_t n_hint;
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

/* team_bounds.c, run by run_part and srv_team_topk (see team.c's top) */
/* Row r of a chunk, items base..base+n-1 with mids mid and radius rad
 * (item i's: rad t->bw[i]): its candidates. */
void srv_bounds_offer(const srv_team *t, srv_part *pt, int r, const float *mid, float rad,
                      int64_t n, int64_t base);
/* srv_team_set_skew's change of a chunk's bounds. */
sr_status srv_bounds_skew(srv_team *t, srv_part *pt, int64_t c0, int64_t c1);
/* A team task: the batch's rows' answers from their candidates, the rows
 * taken in turn (t->oidx, oval, ocnt). */
void srv_bounds_finish(srv_team *t, srv_part *pt);
/* The k-th largest of a[0..n) (1 <= k <= n; no NaN), a reordered. */
float srv_kth_largest(float *a, int n, int k);


#endif
