/*
 * iknn.c - item-to-item kNN, the baseline of the GRU4Rec paper, as
 * session-rec's ItemKNN:
 *
 *   sim(i, j) = co(i, j) / ((supp_i + lambda)^alpha * (supp_j + lambda)^(1 - alpha))
 *
 * with co(i, j) = sum over training sessions holding j of c_i, the clicks of i
 * in the session (session-rec adds 1 to every item of the session for each
 * click of i, through numpy's `iarray[items] += 1`, which counts a repeated
 * index once), supp = training clicks of the item, sim(i, i) = 0. Each item
 * keeps its n_sims most similar items (ties: lower item index first); scoring
 * writes the list of the session's last item.
 *
 * Must never print or exit; scoring lives in common.c (sr_bl_i2i_step).
 */
#include "baselines/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct iknn_params {
    int n_sims;
    double lambda;
    double alpha;
} iknn_params;

static const sr_param_info iknn_defs[] = {
    {"n_sims", NULL, SR_PARAM_INT, offsetof(iknn_params, n_sims), 1, 2147483647.0, NULL, "100",
     "similar items kept per item"},
    {"lambda", "lmbd", SR_PARAM_NUMBER, offsetof(iknn_params, lambda), 0, 1e12, NULL, "20",
     "regularisation added to both supports"},
    {"alpha", NULL, SR_PARAM_NUMBER, offsetof(iknn_params, alpha), 0, 1, NULL, "0.5",
     "balance of the two supports in the denominator (0.5: cosine)"},
};

static const sr_model_vt vt_iknn = {"iknn", sr_bl_i2i_scorer_new, sr_bl_i2i_scorer_free,
                                sr_bl_i2i_reset, sr_bl_i2i_step, sr_bl_i2i_move,
                                sr_bl_i2i_serialize, sr_bl_i2i_deserialize, sr_bl_i2i_free,
                                NULL};

static sr_status train_iknn_data(const bl_data *d, const char *params, sr_model **out,
                                 sr_error *err)
{
    iknn_params ip = {100, 20, 0.5};
    sr_status st = sr_bl_params_apply("iknn", iknn_defs, BL_COUNT(iknn_defs), &ip, params, err);
    if (st != SR_OK)
        return st;
    const int64_t ni = d->n_items;
    int64_t *ioff = NULL, *iev = NULL, *evs = NULL;
    if (sr_bl_item_events(d, &ioff, &iev, &evs) != SR_OK)
        return sr_error_set(err, SR_ERR_NOMEM, "iknn: out of memory");
    double *co = calloc((size_t)ni, sizeof *co);          /* (ni) co-occurrences of one item */
    double *pw = malloc((size_t)ni * sizeof *pw);         /* (ni) (supp_j + lambda)^(1-alpha) */
    int32_t *touched = malloc((size_t)ni * sizeof *touched);
    double *tval = malloc((size_t)ni * sizeof *tval);
    int64_t *order = malloc((size_t)ni * sizeof *order);
    int64_t keep_max = ip.n_sims < ni ? ip.n_sims : ni;
    /* distinct items of each session */
    int64_t *doff = malloc((size_t)(d->n_sessions + 1) * sizeof *doff);
    int32_t *ditems = malloc((size_t)d->n_events * sizeof *ditems);
    int64_t *seen = malloc((size_t)ni * sizeof *seen);
    if (doff && ditems && seen) {
        int64_t dn = 0;
        for (int64_t i = 0; i < ni; i++)
            seen[i] = -1;
        doff[0] = 0;
        for (int64_t s = 0; s < d->n_sessions; s++) {
            for (int64_t e = d->offsets[s]; e < d->offsets[s + 1]; e++)
                if (seen[d->items[e]] != s) {
                    seen[d->items[e]] = s;
                    ditems[dn++] = d->items[e];
                }
            doff[s + 1] = dn;
        }
    }
    char ptxt[128];
    sr_bl_params_format(iknn_defs, 3, &ip, ptxt, sizeof ptxt);
    bl_i2i *t = sr_bl_i2i_new(ni, ptxt);
    if (!doff || !ditems || !seen || !co || !pw || !touched || !tval || !order || !t) {
        st = sr_error_set(err, SR_ERR_NOMEM, "iknn: out of memory");
        goto done;
    }
    for (int64_t j = 0; j < ni; j++)
        pw[j] = pow((double)d->count[j] + ip.lambda, 1.0 - ip.alpha);
    int64_t cap = 0;
    for (int64_t i = 0; i < ni; i++) {
        int64_t nt = 0;
        for (int64_t k = ioff[i]; k < ioff[i + 1]; k++) {
            int64_t s = evs[iev[k]];
            for (int64_t e = doff[s]; e < doff[s + 1]; e++) {
                int32_t j = ditems[e];
                if (j == i)
                    continue;
                if (co[j] == 0)
                    touched[nt++] = j;
                co[j] += 1;
            }
        }
        double pi = pow((double)d->count[i] + ip.lambda, ip.alpha);
        for (int64_t x = 0; x < nt; x++) {
            int32_t j = touched[x];
            double norm = pi * pw[j];
            tval[x] = co[j] / (norm == 0 ? 1.0 : norm);
            order[x] = j;
            co[j] = 0;
        }
        int64_t keep = sr_bl_top_entries(touched, tval, order, nt, keep_max);
        if (keep < 0) {
            st = sr_error_set(err, SR_ERR_NOMEM, "iknn: out of memory");
            goto done;
        }
        if (sr_bl_i2i_append(t, &cap, i, touched, tval, keep) != SR_OK) {
            st = sr_error_set(err, SR_ERR_NOMEM, "iknn: out of memory");
            goto done;
        }
    }
    st = sr_bl_i2i_finish(&vt_iknn, d, t, out, err);
    if (st == SR_OK)
        t = NULL;
done:
    free(doff);
    free(ditems);
    free(seen);
    free(ioff);
    free(iev);
    free(evs);
    free(co);
    free(pw);
    free(touched);
    free(tval);
    free(order);
    sr_bl_i2i_free(t);
    return st;
}

static sr_status train_iknn(const sr_split *train, const char *params, const sr_train_opts *opts,
                            sr_model **out, sr_error *err)
{
    (void)opts;
    bl_data d;
    sr_status st = sr_bl_data_init(&d, train, "iknn", err);
    if (st != SR_OK)
        return st;
    st = train_iknn_data(&d, params, out, err);
    sr_bl_data_free(&d);
    return st;
}

/* rsc15: the session-rec studies' tuned values for yoochoose (issue 4). */
static const sr_preset_info iknn_presets[] = {
    {"rsc15", "n_sims=100,lambda=20,alpha=0.5",
     "the tuned yoochoose settings of the session-rec studies"},
};

const sr_algo sr_algo_iknn = {
    {"iknn", "item-to-item kNN on session co-occurrence (the GRU4Rec paper's baseline)",
     iknn_defs, BL_COUNT(iknn_defs), iknn_presets, BL_COUNT(iknn_presets)},
    &vt_iknn, train_iknn};
