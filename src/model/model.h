/*
 * model.h - internal: how an algorithm plugs into sr_model / sr_scorer.
 *
 * Every algorithm (gru4rec, pop, iknn, ...) provides one sr_model_vt. The
 * generic part (item table, id lookup, model files, the public sr_model_* and
 * sr_scorer_* functions) lives in model.c and checkpoint.c and knows nothing
 * about any algorithm's internals.
 */
#ifndef SR_MODEL_H
#define SR_MODEL_H

#include "sessrec.h"
#include "util/util.h"

/* Per-session state an algorithm keeps beyond the session's clicks, for
 * sr_session (session.c). A session does not hold a scorer slot: to advance or
 * score sessions, session.c puts their states into slots 0..n-1 of a scorer
 * (put), runs the scorer, and takes the states back (get). */
typedef struct sr_state_vt {
    size_t (*size)(const sr_model *m);                        /* bytes of one state */
    void (*get)(const sr_scorer *s, int slot, void *state);   /* slot -> state */
    void (*put)(sr_scorer *s, int slot, const void *state);   /* state -> slot */
    /* Scores of ALL items (n, n_items) for slots 0..n-1 in their current
     * state, without a click. */
    void (*score)(sr_scorer *s, int n, float *scores);
    /* Optional (NULL: scoring does not split): the same numbers for the
     * items [i0, i1) only, item i0 + j of slot r at out[r * ldo + j]; i0, i1
     * multiples of cols_align (i1 may be n_items). Scorers of one model on
     * different threads may run it at once. -1: out of memory (nothing
     * written). */
    int (*score_cols)(sr_scorer *s, int n, int64_t i0, int64_t i1, float *out, int64_t ldo);
    int cols_align;
    /* Optional (NULL: session.c scores all items and picks): the same numbers
     * for the m listed items only (each in range), items[j] of slot r at
     * out[r * ldo + j]. -1: out of memory (nothing written). */
    int (*score_items)(sr_scorer *s, int n, const int32_t *items, int m, float *out,
                       int64_t ldo);
    /* Optional (NULL: no bounds): for the items [i0, i1) (as score_cols), a
     * number mid per item and a radius rad[r] per slot such that mid - rad
     * <= the number score_cols gives <= mid + rad (the sums in float), at a
     * fraction of its cost. fresh: slots 0..n-1 were loaded since the last
     * call. -1: out of memory (nothing written). */
    int (*bound_cols)(sr_scorer *s, int n, int fresh, int64_t i0, int64_t i1, float *mid,
                      int64_t ldo, float *rad);
    /* With bound_cols: each item's share w of a slot's radius (n_items, in
     * [0, 1]): mid - rad w <= score <= mid + rad w too. NULL: all 1. */
    const float *(*bound_weights)(const sr_model *m);
} sr_state_vt;

typedef struct sr_model_vt {
    const char *algo;                       /* "gru4rec", "pop", ... (stored in model files) */
    /* Scoring state for up to max_batch slots. The returned struct must begin
     * with an `sr_scorer` header (see below). NULL on OOM. */
    sr_scorer *(*scorer_new)(const sr_model *m, int max_batch);
    void (*scorer_free)(sr_scorer *s);
    void (*reset)(sr_scorer *s, int slot);
    void (*step)(sr_scorer *s, const int32_t *items, int n, float *scores);
    void (*move)(sr_scorer *s, int dst, int src);
    /* Model files: the algorithm's own payload (hyperparameters + parameters).
     * serialize appends to `out`; deserialize fills m->impl from the payload
     * and must reject anything inconsistent with SR_ERR_FORMAT (never crash). */
    sr_status (*serialize)(const sr_model *m, sr_buf *out);
    sr_status (*deserialize)(sr_model *m, const uint8_t *p, size_t len, sr_error *err);
    void (*free_impl)(void *impl);
    /* Session state (above). NULL: the algorithm's state is the session's
     * clicks themselves (the baselines): session.c rebuilds a slot by
     * resetting it and feeding the clicks with step(..., NULL), and scores a
     * session without a new click by feeding all clicks but the last, then the
     * last with scores. */
    const sr_state_vt *state;
} sr_model_vt;

struct sr_model {
    const sr_model_vt *vt;
    int64_t n_items;
    int64_t *item_ids;          /* (n_items) dense index -> original id, owned */
    sr_map index;               /* original id -> dense index */
    sr_intern text;             /* text ids: item j is text id j (t.n == n_items); empty
                                   (t.n == 0) for integer ids */
    void *impl;                 /* the algorithm's own state, owned */
};

/* Common header of every algorithm's scorer struct (first member). */
struct sr_scorer {
    const sr_model *m;
    int max_batch;
    float *row;                 /* (n_items) scores of sr_session_recommend, lazy; model.c */
    int cols_n;                 /* sessions loaded by the last sr_session_scores_cols, or
                                 * -1 once any other call has used the slots; session.c */
    int bounds_ready;           /* bound_cols has seen those sessions since they were loaded */
};

/* Creates a model shell with a copy of the item table (builds the index).
 * The caller then sets vt and impl. NULL on OOM. */
sr_model *sr_model_new_shell(const sr_model_vt *vt, int64_t n_items, const int64_t *item_ids);

/* Gives the model text ids. by_id = 1: item j gets src's id number
 * m->item_ids[j] (a model trained on a text split, whose item_ids are
 * indices into the split's text table); by_id = 0: item j gets src's id j.
 * src NULL or without text: nothing to do. SR_ERR_FORMAT for a repeated or
 * missing id, SR_ERR_NOMEM. */
sr_status sr_model_set_text(sr_model *m, const sr_idtext *src, int by_id);


#endif
