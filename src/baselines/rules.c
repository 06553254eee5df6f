/*
 * rules.c - association rules (ar) and sequential rules (sr), as session-rec's
 * AssociationRules and SequentialRules (Ludewig & Jannach 2018).
 *
 *   ar: rule(i -> j) = number of ordered pairs of distinct positions of one
 *       training session holding i and j (so sum over sessions of c_i * c_j,
 *       and c_i * (c_i - 1) for i == j; c = clicks of the item in the session).
 *   sr: rule(i -> j) = sum over clicks of j that follow a click of i within
 *       `steps` positions of w(distance), w = weighting (div: 1/d, ...);
 *       idf_weight=1 multiplies w by the min-max normalised idf of i,
 *       idf_weight=2 adds it.
 * Pruning keeps the `pruning` strongest rules of each item (a fraction < 1
 * drops that share instead); ties keep the rule that session-rec's dict met
 * first while reading the data, as Counter.most_common does.
 * Scoring: the rules of the session's last item (session-rec also divides by
 * the maximum; that does not change the order, so we skip it).
 *
 * Must never print or exit; scoring lives in common.c (sr_bl_i2i_step).
 */
#include "baselines/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rules_params {
    int steps;
    int weighting;
    double pruning;
    int idf_weight;
} rules_params;

#define PRUNING_HELP "rules kept per item (a fraction < 1: the share dropped; 0: all)"
static const sr_param_info sr_defs[] = {
    {"steps", NULL, SR_PARAM_INT, offsetof(rules_params, steps), 1, 1e6, NULL, "10",
     "a click of j counts for i when it follows i within `steps` clicks"},
    {"weighting", NULL, SR_PARAM_CHOICE, offsetof(rules_params, weighting), 0, 0,
     sr_bl_weighting_names, "div", "weight of a rule by the distance of the two clicks"},
    {"pruning", NULL, SR_PARAM_NUMBER, offsetof(rules_params, pruning), 0, 1e9, NULL, "20",
     PRUNING_HELP},
    {"idf_weight", NULL, SR_PARAM_INT, offsetof(rules_params, idf_weight), 0, 2, NULL, "0",
     "idf of the source item: 0 off, 1 multiplies the weight, 2 adds to it"},
};
static const sr_param_info ar_defs[] = {
    {"pruning", NULL, SR_PARAM_NUMBER, offsetof(rules_params, pruning), 0, 1e9, NULL, "20",
     PRUNING_HELP},
};

static const sr_model_vt vt_sr = {"sr", sr_bl_i2i_scorer_new, sr_bl_i2i_scorer_free, sr_bl_i2i_reset,
                              sr_bl_i2i_step, sr_bl_i2i_move, sr_bl_i2i_serialize,
                              sr_bl_i2i_deserialize, sr_bl_i2i_free, NULL};
static const sr_model_vt vt_ar = {"ar", sr_bl_i2i_scorer_new, sr_bl_i2i_scorer_free, sr_bl_i2i_reset,
                              sr_bl_i2i_step, sr_bl_i2i_move, sr_bl_i2i_serialize,
                              sr_bl_i2i_deserialize, sr_bl_i2i_free, NULL};

/* How many rules of a list of n the pruning keeps. */
static int64_t prune_keep(double pruning, int64_t n)
{
    if (pruning <= 0)
        return n;
    if (pruning < 1)
        return n - (int64_t)((double)n * pruning);
    return (int64_t)pruning;
}

static sr_status train_rules(const bl_data *d, const char *params, int sequential,
                             sr_model **out, sr_error *err)
{
    const char *algo = sequential ? "sr" : "ar";
    rules_params rp = {10, BL_W_DIV, 20, 0};
    sr_status st = sequential
                       ? sr_bl_params_apply(algo, sr_defs, BL_COUNT(sr_defs), &rp, params, err)
                       : sr_bl_params_apply(algo, ar_defs, BL_COUNT(ar_defs), &rp, params, err);
    if (st != SR_OK)
        return st;
    const int64_t ni = d->n_items, ne = d->n_events;

    /* item -> its clicks (global event positions, ascending) and session of each click */
    int64_t *ioff = NULL, *iev = NULL, *evs = NULL;
    if (sr_bl_item_events(d, &ioff, &iev, &evs) != SR_OK)
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
    double *acc = calloc((size_t)ni, sizeof *acc);              /* (ni) rule weights of one source */
    int64_t *first = malloc((size_t)ni * sizeof *first);       /* (ni) first-seen key */
    int32_t *touched = malloc((size_t)ni * sizeof *touched);
    double *tval = malloc((size_t)ni * sizeof *tval);
    double *idf = sequential && rp.idf_weight ? malloc((size_t)ni * sizeof *idf) : NULL;
    char ptxt[256];
    if (sequential)
        sr_bl_params_format(sr_defs, 4, &rp, ptxt, sizeof ptxt);
    else
        sr_bl_params_format(ar_defs, 1, &rp, ptxt, sizeof ptxt);
    bl_i2i *t = sr_bl_i2i_new(ni, ptxt);
    int64_t cap = 0;
    if (!acc || !first || !touched || !tval || (sequential && rp.idf_weight && !idf) || !t) {
        st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
        goto done;
    }
    if (idf) { /* session-rec's compute_idf: log(sessions / clicks), min-max scaled */
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < ni; i++) {
            idf[i] = log((double)d->n_sessions / (double)d->count[i]);
            lo = fmin(lo, idf[i]);
            hi = fmax(hi, idf[i]);
        }
        for (int64_t i = 0; i < ni; i++)
            idf[i] = hi > lo ? (idf[i] - lo) / (hi - lo) : 0.0;
    }
    for (int64_t i = 0; i < ni; i++)
        first[i] = INT64_MAX;

    for (int64_t src = 0; src < ni; src++) {
        int64_t nt = 0;
        for (int64_t k = ioff[src]; k < ioff[src + 1]; k++) {
            int64_t q = iev[k];
            int64_t lo = sequential ? q + 1 : d->offsets[evs[q]];
            int64_t hi = d->offsets[evs[q] + 1];
            if (sequential && q + rp.steps + 1 < hi)
                hi = q + rp.steps + 1;
            for (int64_t p = lo; p < hi; p++) {
                if (p == q)
                    continue;
                int32_t j = d->items[p];
                double w = 1.0;
                if (sequential) {
                    w = sr_bl_decay(rp.weighting, (int)(p - q), 100);
                    if (rp.idf_weight == 1)
                        w *= idf[src];
                    else if (rp.idf_weight == 2)
                        w += idf[src];
                }
                /* the row at which session-rec's dict first met this rule */
                int64_t key = sequential ? p : (p > q ? p : q) * ne + (p > q ? q : p);
                if (first[j] == INT64_MAX)
                    touched[nt++] = j;
                if (key < first[j])
                    first[j] = key;
                acc[j] += w;
            }
        }
        for (int64_t x = 0; x < nt; x++)
            tval[x] = acc[touched[x]];
        int64_t *order = malloc((size_t)(nt ? nt : 1) * sizeof *order);
        if (!order) {
            st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
            goto done;
        }
        for (int64_t x = 0; x < nt; x++) {
            order[x] = first[touched[x]];
            acc[touched[x]] = 0;
            first[touched[x]] = INT64_MAX;
        }
        int64_t keep = sr_bl_top_entries(touched, tval, order, nt, prune_keep(rp.pruning, nt));
        free(order);
        if (keep < 0) {
            st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
            goto done;
        }
        if (sr_bl_i2i_append(t, &cap, src, touched, tval, keep) != SR_OK) {
            st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
            goto done;
        }
    }
    st = sr_bl_i2i_finish(sequential ? &vt_sr : &vt_ar, d, t, out, err);
    if (st == SR_OK)
        t = NULL;
done:
    free(ioff);
    free(iev);
    free(evs);
    free(acc);
    free(first);
    free(touched);
    free(tval);
    free(idf);
    sr_bl_i2i_free(t);
    return st;
}

static sr_status train_with(const sr_split *train, const char *params, int sequential,
                            sr_model **out, sr_error *err)
{
    bl_data d;
    sr_status st = sr_bl_data_init(&d, train, sequential ? "sr" : "ar", err);
    if (st != SR_OK)
        return st;
    st = train_rules(&d, params, sequential, out, err);
    sr_bl_data_free(&d);
    return st;
}

static sr_status train_ar(const sr_split *train, const char *params, const sr_train_opts *opts,
                          sr_model **out, sr_error *err)
{
    (void)opts;
    return train_with(train, params, 0, out, err);
}

static sr_status train_sr(const sr_split *train, const char *params, const sr_train_opts *opts,
                          sr_model **out, sr_error *err)
{
    (void)opts;
    return train_with(train, params, 1, out, err);
}

/* rsc15: the session-rec studies' tuned values for yoochoose (issue 4). */
static const sr_preset_info ar_presets[] = {
    {"rsc15", "pruning=20", "the tuned yoochoose settings of the session-rec studies"},
};
static const sr_preset_info sr_presets[] = {
    {"rsc15", "steps=10,weighting=div,pruning=20",
     "the tuned yoochoose settings of the session-rec studies"},
};

const sr_algo sr_algo_ar = {
    {"ar", "association rules: co-occurrence of two items in a training session", ar_defs,
     BL_COUNT(ar_defs), ar_presets, BL_COUNT(ar_presets)},
    &vt_ar, train_ar};

const sr_algo sr_algo_sr = {
    {"sr", "sequential rules: j follows i within a few clicks, weighted by the distance",
     sr_defs, BL_COUNT(sr_defs), sr_presets, BL_COUNT(sr_presets)},
    &vt_sr, train_sr};
