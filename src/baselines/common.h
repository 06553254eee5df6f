/*
 * common.h - internal: what the baseline algorithms (pop.c, rules.c, iknn.c,
 * knn.c) share: the training data in model item indices, a "name=value,..."
 * parameter parser over the table's parameter descriptions, the per-slot
 * click history of a scorer, the item-to-item list model used by iknn, ar and
 * sr, and the decay functions of the session-rec framework. It sits below the
 * algorithm files: it knows none of them, and they know only it (each one's
 * train function and vtable are reached through its row of the algorithm
 * table, model/algo.h).
 *
 * Nothing here prints or exits; errors go through sr_error.
 */
#ifndef SR_BL_COMMON_H
#define SR_BL_COMMON_H

#include "model/model.h"
#include "model/algo.h"

/* ---- training data -------------------------------------------------------- */

/* A training split re-indexed to the MODEL's items: only items that occur in
 * the split (GRU4REC.md: the item map comes from the training data), dense
 * indices 0..n_items-1 in the order of the split's item table. */
typedef struct bl_data {
    int64_t n_items;
    int64_t *item_ids;        /* (n_items) original item ids, owned */
    int64_t n_sessions, n_events;
    const int64_t *offsets;   /* (n_sessions + 1) borrowed from the split */
    int32_t *items;           /* (n_events) model item index of each click, owned */
    const int64_t *times;     /* (n_events) microseconds, borrowed from the split */
    int64_t *count;           /* (n_items) training events of each item, owned */
} bl_data;

/* Fills d from a split; SR_ERR_EMPTY for a split without clicks, SR_ERR_ARG
 * for an item index outside the split's table. Free with sr_bl_data_free. */
sr_status sr_bl_data_init(bl_data *d, const sr_split *train, const char *algo, sr_error *err);
void sr_bl_data_free(bl_data *d);
/* Inverted index item -> clicks: the clicks of item i are the global event
 * positions iev[ioff[i] .. ioff[i+1]) (ascending); evs[e] is the session of
 * click e. All three are malloc'ed here (caller frees); SR_ERR_NOMEM. */
sr_status sr_bl_item_events(const bl_data *d, int64_t **ioff, int64_t **iev, int64_t **evs);

/* ---- parameters ------------------------------------------------------------- */

/* The parameters of a baseline are described by the table's sr_param_info
 * (sessrec.h): name, alias, type, the offset of its field in the algorithm's
 * params struct (int for INT/BOOL/CHOICE, double for NUMBER), the allowed
 * range (INT/NUMBER) or the NULL-terminated list of choices (CHOICE: the field
 * gets the index), the default as text and a line of help. TEXT is not used by
 * baselines. */

/* Applies "name=value,name=value" (spaces around tokens ignored; NULL or ""
 * is a no-op) to the struct at p. Booleans accept true/false/1/0 in any case;
 * doubles and ints accept "None" and "False" as 0 and "True" as 1 when in
 * range (session-rec writes idf_weighting=False, last_n_clicks=None). Unknown names and bad values fail with SR_ERR_ARG naming the
 * algorithm, the parameter and the text. */
sr_status sr_bl_params_apply(const char *algo, const sr_param_info *defs, int n_defs, void *p,
                          const char *spec, sr_error *err);
/* Writes every parameter as "name=value,..." (canonical text) into buf. */
void sr_bl_params_format(const sr_param_info *defs, int n_defs, const void *p, char *buf, size_t len);

/* ---- decay functions of session-rec (by name index) ------------------------- */

enum { BL_W_LINEAR, BL_W_SAME, BL_W_DIV, BL_W_LOG, BL_W_QUADRATIC };
extern const char *const sr_bl_weighting_names[];   /* "linear", "same", "div", "log", "quadratic" */

/* Weight of a click at distance i >= 1 (sr's rule weight; vsknn's score decay
 * weighting_score; `linear_cut` is where linear drops to 0: sr and vsknn use 100). */
double sr_bl_decay(int fn, int i, int linear_cut);
/* vsknn's position weight of the i-th click (1-based) of a session of `length`. */
double sr_bl_pos_weight(int fn, int i, int length);

/* ---- per-slot click history of a scorer ------------------------------------- */

/* Clicks kept per slot. Longer sessions keep their last BL_HIST clicks only
 * (yoochoose1_64's longest test session has 74 clicks). */
#define BL_HIST 1024

typedef struct bl_hist {
    int32_t *items;   /* (max_batch, BL_HIST) */
    int *len;         /* (max_batch) */
} bl_hist;

sr_status sr_bl_hist_init(bl_hist *h, int max_batch);
void sr_bl_hist_free(bl_hist *h);
void sr_bl_hist_reset(bl_hist *h, int slot);
void sr_bl_hist_push(bl_hist *h, int slot, int32_t item);
void sr_bl_hist_move(bl_hist *h, int dst, int src);
static inline const int32_t *sr_bl_hist_items(const bl_hist *h, int slot)
{
    return h->items + (size_t)slot * BL_HIST;
}

/* ---- item-to-item lists: iknn, ar, sr -------------------------------------------- */

/* For each source item, a list of (target, score); scoring writes the list of
 * the session's LAST item into an otherwise zero row. Scoring needs nothing
 * else, so the training parameters ride along only as their canonical text
 * ("steps=10,weighting=div,pruning=20"), for people reading the model. */
typedef struct bl_i2i {
    int64_t n_items;
    int64_t *off;       /* (n_items + 1) */
    int32_t *to;        /* (off[n_items]) target items */
    float *val;         /* (off[n_items]) scores, > 0 */
    char *params;       /* canonical parameter text, owned */
} bl_i2i;

void sr_bl_i2i_free(void *impl);
/* An empty list model over n_items (off all zero) with a copy of the canonical
 * parameter text; NULL when out of memory. */
bl_i2i *sr_bl_i2i_new(int64_t n_items, const char *params);
sr_scorer *sr_bl_i2i_scorer_new(const sr_model *m, int max_batch);
void sr_bl_i2i_scorer_free(sr_scorer *s);
void sr_bl_i2i_reset(sr_scorer *s, int slot);
void sr_bl_i2i_step(sr_scorer *s, const int32_t *items, int n, float *scores);
void sr_bl_i2i_move(sr_scorer *s, int dst, int src);
sr_status sr_bl_i2i_serialize(const sr_model *m, sr_buf *out);
sr_status sr_bl_i2i_deserialize(sr_model *m, const uint8_t *p, size_t len, sr_error *err);

/* Appends n entries (values cast to float; entries whose value is not > 0 are
 * dropped: they would score like no entry) to t, growing t->to / t->val
 * (capacity *cap), then closes the list of `src` (t->off[src + 1]).
 * SR_ERR_NOMEM on failure. */
sr_status sr_bl_i2i_append(bl_i2i *t, int64_t *cap, int64_t src, const int32_t *to,
                           const double *val, int64_t n);
/* Builds a model shell around an i2i (takes ownership of i2i on success). */
sr_status sr_bl_i2i_finish(const sr_model_vt *vt, const bl_data *d, bl_i2i *i2i,
                        sr_model **out, sr_error *err);

/* Keeps the `keep` best entries of a candidate list (val desc, then `order`
 * asc), sorted that way. Used by the pruning of ar/sr and iknn's n_sims.
 * Arrays are (n); returns the new length, or -1 when out of memory. */
int64_t sr_bl_top_entries(int32_t *to, double *val, int64_t *order, int64_t n, int64_t keep);

/* Number of elements of a static array (parameter lists, presets). */
#define BL_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
