/*
 * algo.h - internal: the row every algorithm defines for the algorithm table
 * (registry/registry.h lists the rows): its public description, the
 * sr_model_vt that loads and scores its models, and its train function. It
 * sits in the model layer, below the algorithms, so that an algorithm file
 * can define its row without reaching up into the registry.
 */
#ifndef SR_ALGO_H
#define SR_ALGO_H

#include "model/model.h"

/* Trains on `train` with "name=value,..." parameters applied over the
 * algorithm's defaults (NULL or "" = defaults). opts is never NULL here. */
typedef sr_status (*sr_algo_train_fn)(const sr_split *train, const char *params,
                                      const sr_train_opts *opts, sr_model **out, sr_error *err);

typedef struct sr_algo {
    sr_algo_info info;          /* what sr_algo_at / sr_algo_find return (first member) */
    const sr_model_vt *vt;      /* vt->algo equals info.name */
    sr_algo_train_fn train;
} sr_algo;

/* A table of rows: the library's (registry.c) or a caller's own (a test's). */
typedef struct sr_algo_table {
    const sr_algo *const *rows; /* (n) */
    int n;
} sr_algo_table;

/* The row named `name` in t, or NULL. */
static inline const sr_algo *sr_algo_find_in(const sr_algo_table *t, const char *name)
{
    for (int i = 0; name && i < t->n; i++) {
        const char *a = t->rows[i]->info.name, *b = name;
        while (*a && *a == *b)
            a++, b++;
        if (*a == *b)
            return t->rows[i];
    }
    return NULL;
}

#endif
