/*
 * registry.c - the algorithm table: the one list of algorithms that training,
 * model files and the CLI know. Adding an algorithm = its own file (which
 * defines its sr_algo row) + one line below. Holds no mutable state.
 */
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

static const sr_algo *const default_rows[] = {
    &sr_algo_gru4rec,
    &sr_algo_pop,
    &sr_algo_spop,
    &sr_algo_iknn,
    &sr_algo_ar,
    &sr_algo_sr,
    &sr_algo_sknn,
    &sr_algo_vsknn,
    &sr_algo_stan,
};

const sr_algo_table sr_algo_default = {default_rows,
                                       (int)(sizeof default_rows / sizeof default_rows[0])};

int sr_algo_count(void) { return sr_algo_default.n; }

const sr_algo_info *sr_algo_at(int i)
{
    return i >= 0 && i < sr_algo_default.n ? &sr_algo_default.rows[i]->info : NULL;
}

const sr_algo_info *sr_algo_find(const char *name)
{
    const sr_algo *a = sr_algo_find_in(&sr_algo_default, name);
    return a ? &a->info : NULL;
}

const sr_preset_info *sr_algo_preset(const sr_algo_info *a, const char *name)
{
    for (int i = 0; a && name && i < a->n_presets; i++)
        if (!strcmp(a->presets[i].name, name))
            return &a->presets[i];
    return NULL;
}

/* "a, b or c" of the names in t, for error messages. */
static void list_names(const sr_algo_table *t, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < t->n && used < len; i++) {
        const char *sep = i == 0 ? "" : i == t->n - 1 ? " or " : ", ";
        int w = snprintf(buf + used, len - used, "%s%s", sep, t->rows[i]->info.name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

sr_status sr_train_in(const sr_algo_table *t, const char *algo, const sr_split *train,
                      const char *preset, const char *params, const sr_train_opts *opts,
                      sr_model **out, sr_error *err)
{
    *out = NULL;
    const sr_algo *a = sr_algo_find_in(t, algo);
    if (!a) {
        char names[256];
        list_names(t, names, sizeof names);
        return sr_error_set(err, SR_ERR_ARG, "unknown algorithm '%s' (expected %s)",
                            algo ? algo : "(none)", names);
    }
    const sr_preset_info *pr = NULL;
    if (preset && !(pr = sr_algo_preset(&a->info, preset))) {
        char names[256] = "";
        size_t used = 0;
        for (int i = 0; i < a->info.n_presets && used < sizeof names; i++) {
            int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                             a->info.presets[i].name);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        return sr_error_set(err, SR_ERR_ARG, "%s: unknown preset '%s' (known: %s)", algo, preset,
                            a->info.n_presets ? names : "none");
    }
    /* the preset's text first, the caller's after it: later names win */
    char *spec = NULL;
    if (pr) {
        size_t l1 = strlen(pr->params), l2 = params ? strlen(params) : 0;
        spec = malloc(l1 + l2 + 2);
        if (!spec)
            return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
        memcpy(spec, pr->params, l1);
        spec[l1] = 0;
        if (l2) {
            spec[l1] = ',';
            memcpy(spec + l1 + 1, params, l2 + 1);
        }
    }
    sr_train_opts def = sr_train_default_opts();
    sr_status st = a->train(train, spec ? spec : params, opts ? opts : &def, out, err);
    free(spec);
    /* A model trained on text ids keeps them (its item_ids index the split's
     * text table); an algorithm's train function may have done it already. */
    if (st == SR_OK && train && train->item_text.text && !sr_model_item_text(*out, 0) &&
        (st = sr_model_set_text(*out, &train->item_text, 1)) != SR_OK) {
        sr_model_free(*out);
        *out = NULL;
        return sr_error_set(err, st, "%s: %s while copying the text item ids", algo,
                            sr_status_name(st));
    }
    return st;
}

sr_status sr_train(const char *algo, const sr_split *train, const char *preset, const char *params,
                   const sr_train_opts *opts, sr_model **out, sr_error *err)
{
    return sr_train_in(&sr_algo_default, algo, train, preset, params, opts, out, err);
}

sr_status sr_train_baseline(const char *algo, const char *params, const sr_split *train,
                            sr_model **out, sr_error *err)
{
    *out = NULL;
    if (algo && !strcmp(algo, "gru4rec"))
        return sr_error_set(err, SR_ERR_ARG, "gru4rec is not a baseline (use sr_train_gru or "
                            "sr_train)");
    return sr_train(algo, train, NULL, params, NULL, out, err);
}
