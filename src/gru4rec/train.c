/*
 * train.c - the GRU4Rec training driver: builds the item map and supports
 * from the training split, runs the session-parallel mini-batches (batch.c)
 * through the network (gru4rec.c) for n_epochs, reports progress and
 * validation metrics through the caller's callbacks, and stops on a NaN loss.
 * Around the epoch loop: warm start and resume (start), and after each epoch
 * the best epoch, early stopping and checkpoints (end_epoch).
 * The per-step loop allocates nothing. Never prints (only the callback does
 * whatever the caller wants).
 */
#include "gru4rec/batch.h"
#include "gru4rec/gru4rec.h"
#include "gru4rec/params.h"
#include "util/blas.h"
#include "gru4rec/pool.h"
#include "model/file.h"
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
    o.metric = SR_METRIC_RECALL;
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

/* base (warm start) or NULL: its items come first, in its order, followed by
 * the split's items it does not know; its items absent from the split have
 * support 0. */
static sr_status train_data_build(train_data *d, const sr_split *s, const sr_model *base,
                                  sr_error *err)
{
    memset(d, 0, sizeof *d);
    if (s->n_events < 0 || s->n_sessions < 0 || s->n_items < 0 || !s->offsets ||
        s->offsets[0] != 0 || s->offsets[s->n_sessions] != s->n_events)
        return sr_error_set(err, SR_ERR_ARG, "training split: inconsistent session offsets");
    if (s->n_items > INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "training split: %lld items is too many",
                            (long long)s->n_items);
    int64_t nb = base ? sr_model_n_items(base) : 0, cap = nb + s->n_items;
    if (cap > INT32_MAX - 1)
        return sr_error_set(err, SR_ERR_ARG, "warm start: %lld items in all is too many",
                            (long long)cap);
    int32_t *dense = malloc((size_t)(s->n_items > 0 ? s->n_items : 1) * sizeof *dense);
    d->items = malloc((size_t)(s->n_events > 0 ? s->n_events : 1) * sizeof *d->items);
    d->item_ids = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *d->item_ids);
    d->support = calloc((size_t)(cap > 0 ? cap : 1), sizeof *d->support);
    if (!dense || !d->items || !d->item_ids || !d->support) {
        free(dense);
        train_data_free(d);
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory for the item map (%lld clicks)",
                            (long long)s->n_events);
    }
    for (int64_t i = 0; i < s->n_items; i++)
        dense[i] = -1;
    if (nb > 0)
        memcpy(d->item_ids, sr_model_item_ids(base), (size_t)nb * sizeof *d->item_ids);
    int64_t n = nb;
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
            int64_t known = base ? sr_model_item_index(base, s->item_ids[x]) : -1;
            if (known >= 0) {
                dense[x] = (int32_t)known;
            } else {
                dense[x] = (int32_t)n;
                d->item_ids[n++] = s->item_ids[x];
            }
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

/* ---- where training starts: fresh, warm start (opts.init) or resume -------------- */

static sr_status check_opts(const sr_train_opts *o, sr_error *err)
{
    if ((o->patience > 0 || o->keep_best) && !o->valid)
        return sr_error_set(err, SR_ERR_ARG, "%s needs a validation split",
                            o->patience > 0 ? "early stopping (patience)" : "keep_best");
    if (o->patience < 0 || o->checkpoint_every < 0)
        return sr_error_set(err, SR_ERR_ARG, "patience %d / checkpoint_every %d: must be >= 0",
                            o->patience, o->checkpoint_every);
    if (o->checkpoint_every > 0 && (!o->checkpoint_path || !*o->checkpoint_path))
        return sr_error_set(err, SR_ERR_ARG, "checkpoint_every %d needs a checkpoint path",
                            o->checkpoint_every);
    if (o->metric != SR_METRIC_RECALL && o->metric != SR_METRIC_MRR && o->metric != SR_METRIC_NDCG)
        return sr_error_set(err, SR_ERR_ARG, "unknown validation metric %d", (int)o->metric);
    if (o->resume && o->init)
        return sr_error_set(err, SR_ERR_ARG, "resume and init (warm start) exclude each other");
    const sr_model *m = o->resume ? o->resume : o->init;
    if (m && sr_model_gru_params(m, NULL, NULL) != SR_OK)
        return sr_error_set(err, SR_ERR_ARG, "%s: the model is a %s model, not gru4rec",
                            o->resume ? "resume" : "warm start", sr_model_algo(m));
    return SR_OK;
}

/* Resume: the same items and the same hyperparameters but n_epochs. */
static sr_status check_resume(const sr_model *m, const sr_gru_params *p, const train_data *d,
                              int *first_epoch, sr_error *err)
{
    sr_gru_params q;
    int done = -1;
    sr_model_gru_params(m, &q, &done);
    if (done < 0)
        return sr_error_set(err, SR_ERR_ARG, "resume: the model holds no optimizer state "
                            "(train it with --save-optimizer, or resume from a checkpoint)");
    char a[1024], b[1024];
    q.n_epochs = p->n_epochs;
    sr_gru_params_format(&q, a, sizeof a);
    sr_gru_params_format(p, b, sizeof b);
    if (strcmp(a, b)) {
        /* name the first parameter that differs: "name=value" items, ',' between */
        for (char *x = a, *y = b; x && y;) {
            char *xe = strchr(x, ','), *ye = strchr(y, ',');
            if (xe)
                *xe = 0;
            if (ye)
                *ye = 0;
            if (strcmp(x, y))
                return sr_error_set(err, SR_ERR_ARG, "resume: the model was trained with %s, "
                                    "not %s; only n_epochs may change", x, y);
            x = xe ? xe + 1 : NULL;
            y = ye ? ye + 1 : NULL;
        }
        return sr_error_set(err, SR_ERR_ARG, "resume: the parameters differ from the model's; "
                            "only n_epochs may change");
    }
    if (done >= p->n_epochs)
        return sr_error_set(err, SR_ERR_ARG, "resume: the model has trained %d epochs already; "
                            "set n_epochs above %d (the total, not the epochs to add)",
                            done, done);
    int64_t n = sr_model_n_items(m);
    const int64_t *ids = sr_model_item_ids(m);
    int same = n == d->n_items;
    for (int64_t i = 0; same && i < n; i++)
        same = ids[i] == d->item_ids[i];
    if (!same)
        return sr_error_set(err, SR_ERR_ARG, "resume: the training data is not the model's "
                            "(%lld items in the model, %lld in the data, or in another order); "
                            "to continue on new data use a warm start (init)",
                            (long long)n, (long long)d->n_items);
    *first_epoch = done + 1;
    return SR_OK;
}

/* ---- after each epoch: best epoch, early stopping, checkpoints -------------------- */

typedef struct tracker {
    int keep_best;
    int best_epoch, since_best;
    double best;
    sr_buf snap;                 /* model file bytes of the best epoch */
    int have_snap;
} tracker;

static double metric_of(const sr_eval_result *r, sr_metric m)
{
    if (!r || r->n_predictions <= 0)
        return NAN;
    return m == SR_METRIC_MRR ? r->mrr[0] : m == SR_METRIC_NDCG ? r->ndcg[0] : r->recall[0];
}

/* The network as a model file: into `to` (bytes) or to `path` (atomically). */
static sr_status write_model(sr_gru *g, const int64_t *item_ids, int with_state,
                             const sr_gru_progress *pr, sr_buf *to, const char *path,
                             sr_error *err)
{
    sr_model *view = sr_gru_model_view(g, item_ids);
    if (!view)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory for a model view");
    sr_gru_keep_state(g, with_state, pr);
    sr_status st = to ? sr_model_to_bytes(view, to, err) : sr_model_save(view, path, err);
    sr_gru_keep_state(g, 0, NULL);
    sr_model_free(view);
    return st;
}

static sr_status end_epoch(sr_gru *g, const int64_t *item_ids, const sr_train_opts *o,
                           tracker *tr, sr_train_epoch *e, sr_error *err)
{
    e->metric = metric_of(e->valid, o->metric);
    e->improved = !isnan(e->metric) && (tr->best_epoch == 0 || e->metric > tr->best);
    if (e->improved) {
        tr->best = e->metric;
        tr->best_epoch = e->epoch;
        tr->since_best = 0;
    } else if (o->valid) {
        tr->since_best++;
    }
    e->best_epoch = tr->best_epoch;
    e->best_metric = tr->best_epoch ? tr->best : NAN;
    e->since_best = tr->since_best;
    sr_gru_progress pr = {e->epoch, tr->best_epoch, tr->since_best, tr->best};
    sr_status st = SR_OK;
    if (e->improved && tr->keep_best) {
        tr->snap.len = 0;
        st = write_model(g, item_ids, o->save_optimizer, &pr, &tr->snap, NULL, err);
        tr->have_snap = st == SR_OK;
    }
    if (st == SR_OK && o->checkpoint_every > 0 && e->epoch % o->checkpoint_every == 0) {
        st = write_model(g, item_ids, 1, &pr, NULL, o->checkpoint_path, err);
        e->checkpoint = o->checkpoint_path;
    }
    e->stopping = o->patience > 0 && tr->since_best >= o->patience;
    if (st == SR_OK && o->on_epoch && o->on_epoch(e, o->ud))
        e->stopping = 1;
    return st;
}

/* The trained model: the best epoch's snapshot, or the network as it is now
 * (with its training state when asked: through the same bytes as a file). */
static sr_status final_model(sr_gru **g, const train_data *d, const sr_train_opts *o,
                             tracker *tr, int last_epoch, sr_model **out, sr_error *err)
{
    if (tr->have_snap)
        return sr_model_load_mem_vt(&sr_gru4rec_vt, tr->snap.data, tr->snap.len, "(best epoch)", out,
                                    err);
    if (o->save_optimizer) {
        sr_gru_progress pr = {last_epoch, tr->best_epoch, tr->since_best, tr->best};
        sr_buf b = {0};
        sr_status st = write_model(*g, d->item_ids, 1, &pr, &b, NULL, err);
        if (st == SR_OK)
            st = sr_model_load_mem_vt(&sr_gru4rec_vt, b.data, b.len, "(trained model)", out, err);
        sr_buf_free(&b);
        return st;
    }
    *out = sr_gru_to_model(*g, d->item_ids);
    *g = NULL; /* owned by the model now (or freed by sr_gru_to_model on failure) */
    if (!*out)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory building the model");
    return SR_OK;
}

sr_status sr_train_gru(const sr_split *train, const sr_gru_params *p,
                       const sr_train_opts *opts_in, sr_model **out, sr_error *err)
{
    *out = NULL;
    if (!train || !p)
        return sr_error_set(err, SR_ERR_ARG, "sr_train_gru: no training split or parameters");
    sr_status st = sr_gru_params_check(p, err);
    if (st == SR_OK)
        st = sr_gru_params_check_used(p, err);
    if (st != SR_OK)
        return st;
    sr_train_opts o = opts_in ? *opts_in : sr_train_default_opts();
    if ((st = check_opts(&o, err)) != SR_OK)
        return st;
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
    st = train_data_build(&d, train, o.init, err);
    if (st != SR_OK)
        return st;
    int first_epoch = 1;
    tracker tr;
    memset(&tr, 0, sizeof tr);
    tr.keep_best = o.keep_best || o.patience > 0;
    if (o.resume && (st = check_resume(o.resume, p, &d, &first_epoch, err)) != SR_OK) {
        train_data_free(&d);
        return st;
    }

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
    if (o.resume || o.init) {
        const sr_model *from = o.resume ? o.resume : o.init;
        st = sr_gru_copy_from(g, from->impl, o.resume != NULL, err);
        if (st != SR_OK)
            goto done;
        sr_gru_progress pr;
        if (o.resume && sr_gru_has_state(from->impl, &pr)) {
            tr.best_epoch = pr.best_epoch;
            tr.since_best = pr.since_best;
            tr.best = pr.best_metric;
        }
    }
    st = sr_batch_init(&it, train->offsets, train->n_sessions, d.items, p->batch_size);
    if (st != SR_OK) {
        sr_error_set(err, st, "cannot create the mini-batch iterator (batch_size %d)", p->batch_size);
        goto done;
    }

    double B = (double)p->batch_size;
    int last_epoch = first_epoch - 1;
    for (int ep = first_epoch; ep <= p->n_epochs; ep++) {
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
        sr_train_epoch e;
        memset(&e, 0, sizeof e);
        e.epoch = ep;
        e.n_epochs = p->n_epochs;
        e.loss = pr.loss;
        e.events_per_sec = pr.events_per_sec;
        e.seconds = el;
        e.valid = pr.valid;
        last_epoch = ep;
        if ((st = end_epoch(g, d.item_ids, &o, &tr, &e, err)) != SR_OK)
            goto done;
        if (e.stopping)
            break;
    }
    st = final_model(&g, &d, &o, &tr, last_epoch, out, err);
    if (st == SR_OK && sr_model_set_text(*out, &train->item_text, 1) != SR_OK) {
        sr_model_free(*out);
        *out = NULL;
        st = sr_error_set(err, SR_ERR_NOMEM, "out of memory copying the text item ids");
    }
done:
    sr_buf_free(&tr.snap);
    sr_blas_threads_leave(blas_prev);
    sr_batch_free(&it);
    if (g)
        sr_gru_free(g);
    train_data_free(&d);
    return st;
}
