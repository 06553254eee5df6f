/*
 * train.c - the GRU4Rec training driver: builds the item map and supports
 * from the training split, runs the session-parallel mini-batches (batch.c)
 * through the network (gru4rec.c) for n_epochs, reports progress and
 * validation metrics through the caller's callback, and stops on a NaN loss.
 * The per-step loop allocates nothing. Never prints (only the callback does
 * whatever the caller wants).
 */
#include "gru4rec/batch.h"
#include "gru4rec/gru4rec.h"
#include "gru4rec/params.h"
#include "util/blas.h"
#include "gru4rec/pool.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Seconds between two progress reports. */
#define REPORT_EVERY 0.2

sr_train_opts sr_train_default_opts(void)
{
    sr_train_opts o;
    memset(&o, 0, sizeof o);
    o.threads = 0;
    o.valid = NULL;
    o.valid_opts = sr_eval_default_opts();
    o.cb = NULL;
    o.ud = NULL;
    return o;
}

/* The training view of a split: items renumbered densely 0..n_items-1 in order
 * of first appearance, with their original ids and support counts. */
typedef struct train_data {
    int64_t n_items;
    int32_t *items;     /* (n_events) dense item of each click */
    int64_t *item_ids;  /* (n_items) original id of each dense item */
    int64_t *support;   /* (n_items) clicks on each item */
} train_data;

static void train_data_free(train_data *d)
{
    free(d->items);
    free(d->item_ids);
    free(d->support);
    memset(d, 0, sizeof *d);
}

static sr_status train_data_build(train_data *d, const sr_split *s, sr_error *err)
{
    memset(d, 0, sizeof *d);
    if (s->n_events < 0 || s->n_sessions < 0 || s->n_items < 0 || !s->offsets ||
        s->offsets[0] != 0 || s->offsets[s->n_sessions] != s->n_events)
        return sr_error_set(err, SR_ERR_ARG, "training split: inconsistent session offsets");
    if (s->n_items > INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "training split: %lld items is too many",
                            (long long)s->n_items);
    int32_t *dense = malloc((size_t)(s->n_items > 0 ? s->n_items : 1) * sizeof *dense);
    d->items = malloc((size_t)(s->n_events > 0 ? s->n_events : 1) * sizeof *d->items);
    d->item_ids = malloc((size_t)(s->n_items > 0 ? s->n_items : 1) * sizeof *d->item_ids);
    d->support = calloc((size_t)(s->n_items > 0 ? s->n_items : 1), sizeof *d->support);
    if (!dense || !d->items || !d->item_ids || !d->support) {
        free(dense);
        train_data_free(d);
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the item map (%lld clicks)",
                            (long long)s->n_events);
    }
    for (int64_t i = 0; i < s->n_items; i++)
        dense[i] = -1;
    int64_t n = 0;
    for (int64_t e = 0; e < s->n_events; e++) {
        int32_t x = s->items[e];
        if (x < 0 || x >= s->n_items) {
            free(dense);
            train_data_free(d);
            return sr_error_set(err, SR_ERR_ARG, "training split: click %lld has item index %d "
                                "outside the item table (%lld items)", (long long)e, x,
                                (long long)s->n_items);
        }
        if (dense[x] < 0) {
            dense[x] = (int32_t)n;
            d->item_ids[n++] = s->item_ids[x];
        }
        d->items[e] = dense[x];
        d->support[dense[x]]++;
    }
    free(dense);
    d->n_items = n;
    return SR_OK;
}

/* Validation of the network as it is now, through a model view of g. */
static sr_status validate(sr_gru *g, const int64_t *item_ids, const sr_idtext *text,
                          const sr_train_opts *o, sr_eval_result *res, sr_error *err)
{
    sr_model *view = sr_gru_model_view(g, item_ids);
    if (!view || sr_model_set_text(view, text, 1) != SR_OK) {
        sr_model_free(view);
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the validation model");
    }
    sr_status st = sr_evaluate(view, o->valid, &o->valid_opts, res, err);
    sr_model_free(view);
    if (st == SR_ERR_EMPTY)
        st = SR_OK; /* no known item in the validation split: 0 predictions, not a failure */
    return st;
}

sr_status sr_train_gru(const sr_split *train, const sr_gru_params *p,
                       const sr_train_opts *opts_in, sr_model **out, sr_error *err)
{
    *out = NULL;
    if (!train || !p)
        return sr_error_set(err, SR_ERR_ARG, "sr_train_gru: no training split or parameters");
    sr_status st = sr_gru_params_check(p, err);
    if (st != SR_OK)
        return st;
    sr_train_opts o = opts_in ? *opts_in : sr_train_default_opts();
    int threads = sr_resolve_threads(o.threads);
    if (o.valid && o.valid_opts.threads <= 0)
        o.valid_opts.threads = threads;
    if (o.valid && (o.valid_opts.n_cutoffs < 1 || o.valid_opts.n_cutoffs > SR_MAX_CUTOFFS))
        return sr_error_set(err, SR_ERR_ARG, "validation: %d cutoffs (expected 1 to %d)",
                            o.valid_opts.n_cutoffs, SR_MAX_CUTOFFS);

    int64_t total = sr_batch_count_pairs(train->offsets, train->n_sessions);
    if (train->n_events <= 0 || total <= 0)
        return sr_error_set(err, SR_ERR_EMPTY,
                            "training split has no session with 2 or more clicks (%lld clicks, "
                            "%lld sessions)", (long long)train->n_events,
                            (long long)train->n_sessions);

    train_data d;
    st = train_data_build(&d, train, err);
    if (st != SR_OK)
        return st;

    int blas_prev = sr_blas_threads_enter(threads); /* restored at done: */
    sr_gru *g = NULL;
    sr_batch_iter it;
    memset(&it, 0, sizeof it);
    st = sr_gru_new(&g, p, d.n_items, d.support, err);
    if (st != SR_OK)
        goto done;
    /* the step is split between the threads (gru4rec.h); OpenBLAS stays on one
     * thread inside a step whatever is set above */
    st = sr_gru_set_threads(g, threads < GRK_MAX_THREADS ? threads : GRK_MAX_THREADS, err);
    if (st != SR_OK)
        goto done;
    st = sr_batch_init(&it, train->offsets, train->n_sessions, d.items, p->batch_size);
    if (st != SR_OK) {
        sr_error_set(err, st, "cannot create the mini-batch iterator (batch_size %d)", p->batch_size);
        goto done;
    }

    double B = (double)p->batch_size;
    for (int ep = 1; ep <= p->n_epochs; ep++) {
        sr_train_progress pr;
        memset(&pr, 0, sizeof pr);
        pr.epoch = ep;
        pr.n_epochs = p->n_epochs;
        pr.events_total = total;
        double t0 = sr_now(), last = t0, loss_sum = 0;
        int64_t done = 0;
        sr_batch_step bs;
        sr_batch_rewind(&it);
        while (sr_batch_next(&it, &bs)) {
            /* As the official iterator: without extra samples a lone row has no
             * negative at all, so the epoch ends once fewer than 2 rows remain
             * (the full softmax always has negatives: it trains to the end). */
            if (p->n_sample == 0 && p->loss != SR_LOSS_FULL_XE && bs.n < 2)
                break;
            if (bs.keep)
                sr_gru_keep_rows(g, bs.keep, bs.n);
            for (int k = 0; k < bs.n_reset; k++)
                sr_gru_reset_row(g, bs.reset[k]);
            double loss = sr_gru_train_step(g, bs.in, bs.out, bs.n);
            if (!isfinite(loss)) {
                st = sr_error_set(err, SR_ERR_NUMERIC,
                                  "training diverged: the loss became %s in epoch %d after "
                                  "%lld of %lld events (learning_rate=%g); no model was "
                                  "produced - try a smaller learning_rate",
                                  isnan(loss) ? "NaN" : "infinite", ep, (long long)done,
                                  (long long)total, (double)p->learning_rate);
                goto done;
            }
            loss_sum += loss * B; /* the step's loss is its sum over rows / B */
            done += bs.n;
            if (o.cb) {
                double now = sr_now();
                if (now - last >= REPORT_EVERY) {
                    last = now;
                    pr.events_done = done;
                    pr.loss = loss_sum / (double)done;
                    pr.events_per_sec = (double)done / (now - t0 > 1e-9 ? now - t0 : 1e-9);
                    o.cb(&pr, o.ud);
                }
            }
        }
        double el = sr_now() - t0;
        pr.events_done = done;
        pr.loss = done ? loss_sum / (double)done : 0.0;
        pr.events_per_sec = (double)done / (el > 1e-9 ? el : 1e-9);
        pr.epoch_done = 1;
        sr_eval_result res;
        if (o.valid) {
            st = validate(g, d.item_ids, &train->item_text, &o, &res, err);
            if (st != SR_OK)
                goto done;
            pr.valid = &res;
        }
        if (o.cb)
            o.cb(&pr, o.ud);
    }

    *out = sr_gru_to_model(g, d.item_ids);
    g = NULL; /* owned by the model now (or freed by sr_gru_to_model on failure) */
    if (!*out)
        st = sr_error_set(err, SR_ERR_NOMEM, "out of memory building the model");
    else if (sr_model_set_text(*out, &train->item_text, 1) != SR_OK) {
        sr_model_free(*out);
        *out = NULL;
        st = sr_error_set(err, SR_ERR_NOMEM, "out of memory copying the text item ids");
    }
done:
    sr_blas_threads_leave(blas_prev);
    sr_batch_free(&it);
    if (g)
        sr_gru_free(g);
    train_data_free(&d);
    return st;
}
