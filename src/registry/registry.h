/*
 * registry.h - internal: the algorithm table. One row per algorithm: its
 * public description (name, summary, parameters, presets), the sr_model_vt
 * that loads and scores its models, and its train function. Each algorithm
 * file defines its own row; registry.c lists the rows in the library's one
 * const table (sr_algo_default). Training and model loading take the table
 * explicitly, so a test can pass its own (the default rows plus a tiny
 * algorithm of its own) without any global registration.
 */
#ifndef SR_REGISTRY_H
#define SR_REGISTRY_H

#include "model/algo.h"


/* The library's table: gru4rec and the eight baselines. */
extern const sr_algo_table sr_algo_default;

/* The rows, defined next to each algorithm. */
extern const sr_algo sr_algo_gru4rec, sr_algo_pop, sr_algo_spop, sr_algo_iknn, sr_algo_ar,
    sr_algo_sr, sr_algo_sknn, sr_algo_vsknn, sr_algo_stan;

/* sr_train on the table t. */
sr_status sr_train_in(const sr_algo_table *t, const char *algo, const sr_split *train,
                      const char *preset, const char *params, const sr_train_opts *opts,
                      sr_model **out, sr_error *err);

#endif
