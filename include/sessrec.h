/*
 * sessrec.h - the only public header of libsessrec, a session-based recommender.
 *
 * Read it top to bottom as a tutorial:
 *   1. status codes and error reports          (sr_status, sr_error)
 *   2. click logs: reading raw files           (sr_log, sr_read_log)
 *   3. cleaning and splitting                  (sr_filter_*, sr_split_by_time)
 *   4. prepared splits on disk                 (sr_split, sr_split_save/load)
 *   5. statistics                              (sr_stats)
 *   6. synthetic data                          (sr_synth)
 *   7. models: GRU4Rec                         (sr_gru_params, sr_model)
 *   8. scoring sessions, the predictor vtable  (sr_predictor)
 *   9. evaluation                              (sr_eval_*)
 *  10. training: GRU4Rec and the baselines     (sr_train_gru, sr_train_baseline)
 *
 * Conventions: every public symbol starts with sr_ / SR_. Functions that can fail
 * because of the user (bad file, bad parameter) return an sr_status and fill an
 * sr_error with a message naming the file, line and offending text. The library
 * never prints (except through callbacks you give it) and never calls exit().
 * Each function says who owns what it returns; "caller frees with X" is the rule.
 */
#ifndef SESSREC_H
#define SESSREC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SR_VERSION_STRING "0.1.0"

/* Every exported function carries SR_API. The library is compiled with
 * -fvisibility=hidden, so a shared build exports these and nothing else. */
#if defined(_WIN32)
#define SR_API __declspec(dllexport)
#elif defined(__GNUC__)
#define SR_API __attribute__((visibility("default")))
#else
#define SR_API
#endif

/* ------------------------------------------------------------------------ */
/* 1. Status codes and errors                                               */
/* ------------------------------------------------------------------------ */

typedef enum sr_status {
    SR_OK = 0,
    SR_ERR_IO,        /* open/read/write/rename failed (errno text in message) */
    SR_ERR_PARSE,     /* malformed input line */
    SR_ERR_FORMAT,    /* a binary file is truncated, corrupted or foreign */
    SR_ERR_ARG,       /* bad parameter value */
    SR_ERR_NOMEM,     /* allocation failed */
    SR_ERR_EMPTY,     /* input or result is empty where data is needed */
    SR_ERR_NUMERIC    /* NaN/inf appeared (e.g. training diverged) */
    /* only grows at the end */
} sr_status;

/* A filled-in error report. `msg` is a complete sentence fit for a user,
 * e.g. "clicks.dat:17: bad timestamp '2014-13-01T00:00:00Z'". */
typedef struct sr_error {
    sr_status status;
    char msg[512];
} sr_error;

/* Sets err (if non-NULL) and returns `st`. printf-style. */
SR_API sr_status sr_error_set(sr_error *err, sr_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
SR_API const char *sr_status_name(sr_status st);

/* ------------------------------------------------------------------------ */
/* 2. Click logs                                                            */
/* ------------------------------------------------------------------------ */

/* A raw click log in memory, one entry per click, in file order.
 * Times are microseconds since the Unix epoch (UTC) for real timestamps; for
 * formats whose Time column is an ordinal (e.g. yoochoose1_64) the value read
 * is scaled the same way (Time 3 -> 3,000,000 us) so that it round-trips. */
typedef struct sr_log {
    int64_t n;            /* number of clicks */
    int64_t cap;          /* allocated capacity */
    int64_t *session;     /* (n) session id as in the file, >= 0 */
    int64_t *item;        /* (n) item id as in the file, >= 0 */
    int64_t *time;        /* (n) microseconds */
} sr_log;

typedef enum sr_format {
    SR_FMT_AUTO = 0,      /* guess from content */
    SR_FMT_YOOCHOOSE,     /* SessionId,Timestamp,ItemId,Category (no header) */
    SR_FMT_TSV,           /* GRU4Rec TSV with a header naming the columns */
    SR_FMT_DIGINETICA     /* session_id;user_id;item_id;timeframe;eventdate */
} sr_format;

typedef struct sr_read_opts {
    sr_format format;
    int64_t nrows;              /* read at most this many data rows (header not counted,
                                   bad lines counted); <= 0 = all */
    int skip_bad_lines;         /* 1 = count and skip malformed lines */
    const char *session_key;    /* TSV column names; NULL = defaults */
    const char *item_key;       /*   SessionId, ItemId, Time */
    const char *time_key;
    int threads;                /* parser threads; <= 0 = all cores */
} sr_read_opts;

SR_API sr_read_opts sr_read_default_opts(void);

/* Statistics of a read, filled by sr_read_log. */
typedef struct sr_read_report {
    sr_format format;           /* the format actually used */
    int64_t lines;              /* data lines seen */
    int64_t bad_lines;          /* lines skipped (only with skip_bad_lines) */
    char first_bad[256];        /* description of the first skipped line */
    int64_t bytes;              /* uncompressed bytes read */
} sr_read_report;

/* Reads a click log (plain or gzip, detected by magic). On success fills *out
 * (caller frees with sr_log_free) and *rep (may be NULL). On failure *out is
 * left empty and err names file:line and the offending text. *out is
 * overwritten, not freed. Formats, detection and every error case:
 * docs/input-formats.md. */
SR_API sr_status sr_read_log(const char *path, const sr_read_opts *opts, sr_log *out,
                      sr_read_report *rep, sr_error *err);
/* Same over a memory buffer; `name` is used in error messages. */
SR_API sr_status sr_read_log_mem(const char *buf, size_t len, const char *name,
                          const sr_read_opts *opts, sr_log *out,
                          sr_read_report *rep, sr_error *err);
SR_API const char *sr_format_name(sr_format f);
SR_API void sr_log_free(sr_log *log);
/* Appends one click, growing the arrays. */
SR_API sr_status sr_log_push(sr_log *log, int64_t session, int64_t item, int64_t time_us);

/* ------------------------------------------------------------------------ */
/* 3-4. Prepared splits                                                     */
/* ------------------------------------------------------------------------ */

/* A cleaned, session-grouped set of clicks. Sessions are ordered by the time of
 * their first click (ties: by session id); clicks inside a session by time (ties:
 * file order). Items are dense indices into item_ids, a table shared by all
 * splits written by one `prepare` run (so indices agree across them).
 * A split is either owned (heap arrays) or mapped read-only from a file. */
typedef struct sr_split {
    int64_t n_events;
    int64_t n_sessions;
    int64_t n_items;          /* size of the item table */
    int64_t *session_ids;     /* (n_sessions) original session ids */
    int64_t *offsets;         /* (n_sessions + 1) first click of each session */
    int32_t *items;           /* (n_events) index into item_ids */
    int64_t *times;           /* (n_events) microseconds */
    int64_t *item_ids;        /* (n_items) original item ids */
    void *map_;               /* internal: mmap base when loaded from a file */
    size_t map_len_;
} sr_split;

SR_API void sr_split_free(sr_split *s);

typedef enum sr_filter_mode {
    SR_FILTER_RECURSIVE = 0,  /* repeat short-session + rare-item drops to a fixed point */
    SR_FILTER_RSC15           /* official one pass: len<2, support<5, len<2 */
} sr_filter_mode;

typedef struct sr_prepare_opts {
    sr_filter_mode filter;
    int min_session_length;   /* 2 */
    int min_item_support;     /* 5 */
    double test_days;         /* 1.0; in days (seconds / 86400 accepted by the CLI) */
    double valid_days;        /* 0 = no validation split */
    int dedup;                /* drop consecutive repeated clicks within a session */
    int threads;              /* worker threads; <= 0 = all cores (at most 4 are used);
                                 the result does not depend on it */
} sr_prepare_opts;

SR_API sr_prepare_opts sr_prepare_default_opts(void);

/* The outcome of sr_prepare: train_full and test always; train and valid
 * (train_tr / valid) only when valid_days > 0. Each split owns its arrays. */
typedef struct sr_prepared {
    sr_split train_full, test;
    sr_split train, valid;     /* n_events == 0 when no validation split */
    int has_valid;
    int64_t filter_rounds;     /* iterations the recursive filter needed */
    int64_t filtered_events;   /* clicks left by dedup + filter, before the time split */
} sr_prepared;

/* Groups, cleans and splits a log. Does not modify `log`. */
SR_API sr_status sr_prepare(const sr_log *log, const sr_prepare_opts *opts,
                     sr_prepared *out, sr_error *err);
SR_API void sr_prepared_free(sr_prepared *p);

/* Binary split files (docs/formats.md): magic "SRSPLIT\0", version, counts,
 * CRC-32 of the payload. Saving is atomic (temp file + rename). Loading maps the
 * file read-only and verifies everything; the split then points into the map. */
SR_API sr_status sr_split_save(const sr_split *s, const char *path, sr_error *err);
SR_API sr_status sr_split_load(const char *path, sr_split *out, sr_error *err);
/* GRU4Rec TSV export: header SessionId<TAB>ItemId<TAB>Time, Time in seconds. */
SR_API sr_status sr_split_save_tsv(const sr_split *s, const char *path, sr_error *err);
/* Opens a split for reading: a binary split file (by magic), or `path`.split
 * when `path` itself does not exist, or else any click log sr_read_log accepts
 * (auto format), grouped with sr_split_from_log. */
SR_API sr_status sr_split_open(const char *path, sr_split *out, sr_error *err);
/* Builds a split from a log without filtering (e.g. a TSV test file read for
 * eval): groups and orders sessions, item table = distinct items of the log. */
SR_API sr_status sr_split_from_log(const sr_log *log, sr_split *out, sr_error *err);

/* ------------------------------------------------------------------------ */
/* 5. Statistics                                                            */
/* ------------------------------------------------------------------------ */

typedef struct sr_stats {
    int64_t events, sessions, items;   /* items = distinct items present */
    int64_t first_time, last_time;     /* microseconds */
    double len_mean;
    int64_t len_q[5];                  /* session length min, 25%, 50%, 75%, max */
    int64_t len_p90, len_p99;
    int64_t sup_q[5];                  /* item support min, 25%, 50%, 75%, max */
    int64_t sup_p90, sup_p99;
} sr_stats;

/* Statistics of one split. Quantiles are nearest-rank: of the n values sorted
 * ascending v[0..n-1], the q-quantile is v[ceil(q*n) - 1] (q = 0: v[0]), always
 * one of the values, never interpolated. Session lengths are clicks per session;
 * item supports are clicks per item, over the items present in this split. An
 * empty split gives all zeros and SR_OK. A malformed split (offsets not
 * increasing, item index outside the table) gives SR_ERR_FORMAT. */
SR_API sr_status sr_split_stats(const sr_split *s, sr_stats *out, sr_error *err);

/* ------------------------------------------------------------------------ */
/* 6. Synthetic YOOCHOOSE-like data                                         */
/* ------------------------------------------------------------------------ */

typedef struct sr_synth_opts {
    int64_t clicks;           /* number of clicks (lines) to write, exactly */
    int64_t items;            /* catalogue size (0 = scale with clicks, 57.5K at 33M) */
    uint64_t seed;
    int threads;              /* <= 0 = all cores */
} sr_synth_opts;

SR_API sr_synth_opts sr_synth_default_opts(void);
/* Writes raw YOOCHOOSE clicks to path ("-" = stdout), atomically for files.
 * Reports progress through `progress(done_clicks, total, ud)` if non-NULL. */
SR_API sr_status sr_synth_write(const char *path, const sr_synth_opts *opts,
                         void (*progress)(int64_t done, int64_t total, void *ud),
                         void *ud, sr_error *err);
/* What sr_synth_run reports about the file it wrote. */
typedef struct sr_synth_report {
    int64_t clicks;           /* lines written (exactly opts->clicks) */
    int64_t sessions;
    int64_t items;            /* catalogue size used */
    int64_t items_seen;       /* distinct items that occur in the file */
    int64_t bytes;            /* bytes written */
    double seconds;           /* wall time of the whole call, fsync included */
} sr_synth_report;
/* sr_synth_write that also fills *rep (may be NULL). The file depends only on
 * clicks, items and seed, never on threads. See docs/synth.md. */
SR_API sr_status sr_synth_run(const char *path, const sr_synth_opts *opts,
                       void (*progress)(int64_t done, int64_t total, void *ud), void *ud,
                       sr_synth_report *rep, sr_error *err);
/* Catalogue size used when opts->items == 0 (57,500 at 33M clicks). */
SR_API int64_t sr_synth_default_items(int64_t clicks);

/* ------------------------------------------------------------------------ */
/* 7. GRU4Rec                                                               */
/* ------------------------------------------------------------------------ */

#define SR_MAX_LAYERS 4

typedef enum sr_loss {
    SR_LOSS_XE = 0,        /* "cross-entropy": sampled softmax with in-batch negatives */
    SR_LOSS_BPR_MAX,       /* "bpr-max" */
    SR_LOSS_FULL_XE        /* "full-cross-entropy": softmax over all items */
} sr_loss;

typedef enum sr_optim {
    SR_OPT_ADAGRAD = 0,    /* Adagrad + Nesterov-style momentum, sparse rows */
    SR_OPT_ADAM
} sr_optim;

/* Hyperparameters, named as in the official GRU4Rec. */
typedef struct sr_gru_params {
    int n_layers;
    int layers[SR_MAX_LAYERS];   /* hidden sizes */
    int embedding;               /* E > 0: separate embedding; 0: one-hot (unless constrained) */
    int constrained_embedding;   /* 1: input = row of Wy */
    sr_loss loss;
    sr_optim optim;
    int batch_size;
    float dropout_p_embed;
    float dropout_p_hidden;
    float learning_rate;
    float momentum;
    float adam_beta1, adam_beta2, adam_eps;
    int n_sample;
    float sample_alpha;
    int64_t sample_store;        /* pre-drawn negative samples (10M) */
    float logq;
    float bpreg;
    float elu_param;
    int n_epochs;
    uint64_t seed;
} sr_gru_params;

/* Official defaults of GRU4Rec (layers=100, batch 64, xe, adagrad lr 0.05 ...). */
SR_API sr_gru_params sr_gru_default_params(void);
/* Applies "name=value,name=value" in the official syntax (layers=100/100,
 * constrained_embedding=True, loss=bpr-max, embedding=layersize ...). A name
 * of the official code that sessrec does not implement is an error saying so
 * (unless its value is what sessrec does: hidden_act=tanh ...). */
SR_API sr_status sr_gru_params_parse(sr_gru_params *p, const char *spec, sr_error *err);
/* Applies the contents of a parameter file (`name` starts error messages,
 * with the line): either name=value lines ('#' starts a comment), or an
 * official GRU4Rec Python parameter file, read unchanged:
 *   gru4rec_params = OrderedDict([('loss', 'bpr-max'), ('layers', [100]), ...])
 * All or nothing: p changes only on success. */
SR_API sr_status sr_gru_params_parse_text(sr_gru_params *p, const char *text, const char *name,
                                          sr_error *err);
/* Named presets: "rsc15", "tutorial". */
SR_API sr_status sr_gru_params_preset(sr_gru_params *p, const char *name, sr_error *err);
/* Writes a one-line description "loss=... layers=... " into buf. */
SR_API void sr_gru_params_format(const sr_gru_params *p, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* 8. Predictors: anything that scores all items for a session prefix        */
/* ------------------------------------------------------------------------ */

/* A trained model of any algorithm (GRU4Rec or a baseline), opaque. */
typedef struct sr_model sr_model;

/* Per-thread scoring state for up to `max_batch` parallel sessions (slots). */
typedef struct sr_scorer sr_scorer;

/* Number of items the model knows (dense indices 0..n-1) and their ids. */
SR_API int64_t sr_model_n_items(const sr_model *m);
SR_API const int64_t *sr_model_item_ids(const sr_model *m);
/* Dense index of an original item id, or -1 if unknown. */
SR_API int64_t sr_model_item_index(const sr_model *m, int64_t item_id);
SR_API const char *sr_model_algo(const sr_model *m);

/* Scoring state: caller frees with sr_scorer_free. */
SR_API sr_scorer *sr_scorer_new(const sr_model *m, int max_batch);
SR_API void sr_scorer_free(sr_scorer *s);
/* Slot `slot` starts a new session (hidden state zero / history empty). */
SR_API void sr_scorer_reset(sr_scorer *s, int slot);
/* Feeds items[i] (dense index) as the next click of slot i for i < n, then
 * writes the scores of ALL items for each of the n slots into scores, a
 * (n, n_items) row-major array. scores may be NULL: the clicks are only fed
 * (e.g. every click of a session but the last, when only the final ranking
 * is wanted). */
SR_API void sr_scorer_step(sr_scorer *s, const int32_t *items, int n, float *scores);
/* Copies the session state of slot src into slot dst (used to compact slots). */
SR_API void sr_scorer_move(sr_scorer *s, int dst, int src);

/* Top-k selection for recommendation: writes the indices of the min(k, n)
 * highest of the n scores, best first, into idx and their scores into val
 * (both (k) arrays; val may be NULL). Equal scores: lower index first. NaN
 * scores are never selected. Returns the number written. O(n log k), no
 * allocation. The inference API is then: sr_model_load, sr_scorer_new(m, 1),
 * per session sr_scorer_reset(s, 0) and sr_scorer_step(s, &item, 1, scores)
 * for each click (item = sr_model_item_index(m, id); skip -1), sr_topk on the
 * last scores, and sr_model_item_ids(m)[idx[i]] for the original ids. */
SR_API int sr_topk(const float *scores, int64_t n, int k, int32_t *idx, float *val);

/* The hyperparameters of a GRU4Rec model, and the epochs it was trained for
 * when the file carries a training state (--save-optimizer or a checkpoint;
 * else -1). SR_ERR_ARG if m is not a GRU4Rec model. Either output may be NULL. */
SR_API sr_status sr_model_gru_params(const sr_model *m, sr_gru_params *p, int *epochs_done);

SR_API sr_status sr_model_save(const sr_model *m, const char *path, sr_error *err);
SR_API sr_status sr_model_load(const char *path, sr_model **out, sr_error *err);
SR_API void sr_model_free(sr_model *m);

/* ------------------------------------------------------------------------ */
/* 9. Evaluation                                                            */
/* ------------------------------------------------------------------------ */

typedef enum sr_ties {
    SR_TIES_STANDARD = 0,      /* rank = 1 + #higher */
    SR_TIES_CONSERVATIVE,      /* rank = #higher-or-equal (target included) */
    SR_TIES_MEDIAN             /* rank = 1 + #higher + (#equal-1)/2 */
} sr_ties;

#define SR_MAX_CUTOFFS 16

typedef struct sr_eval_opts {
    int n_cutoffs;
    int cutoffs[SR_MAX_CUTOFFS];   /* default 1,5,10,20 */
    sr_ties ties;
    int batch_size;                /* parallel sessions per thread (default 512) */
    int threads;                   /* <= 0 = all cores */
} sr_eval_opts;

typedef struct sr_eval_result {
    int64_t n_predictions;         /* targets ranked */
    int64_t n_skipped;             /* rows dropped: item unknown to the model */
    int n_cutoffs;
    int cutoffs[SR_MAX_CUTOFFS];
    double recall[SR_MAX_CUTOFFS];
    double mrr[SR_MAX_CUTOFFS];
    double ndcg[SR_MAX_CUTOFFS];
    double seconds;
    int threads;                   /* threads actually used */
} sr_eval_result;

/* Cutoffs 1,5,10,20; conservative ties (as the official GRU4Rec evaluator);
 * batch_size 512; threads 0 (all cores). */
SR_API sr_eval_opts sr_eval_default_opts(void);

/* Rank of a target score among n scores (target included), per tie mode.
 * The target counts as one equal score even if absent from `scores`; a NaN
 * target ranks last (n); NaN scores never count as higher or equal. */
SR_API double sr_rank(const float *scores, int64_t n, float target, sr_ties ties);

/* Next-item evaluation of `m` on `test` (a split whose item table may differ
 * from the model's: items are matched by original id, unknown rows dropped).
 * Each session starts from an empty state; after each of its clicks but the
 * last, all items are scored and the next click is ranked. Rows whose item
 * the model does not know are removed from their session first (counted in
 * n_skipped); sessions left with fewer than 2 clicks yield no prediction.
 * opts NULL = defaults; batch_size <= 0 = 512; cutoffs in 1..1000000.
 * Results are identical for every batch_size and thread count (given a model
 * whose scores do not depend on the batch). Returns SR_ERR_EMPTY (with *out
 * filled) when no prediction could be made. */
SR_API sr_status sr_evaluate(const sr_model *m, const sr_split *test,
                      const sr_eval_opts *opts, sr_eval_result *out, sr_error *err);

/* ------------------------------------------------------------------------ */
/* 10. Training                                                             */
/* ------------------------------------------------------------------------ */

/* What the training loop reports through its callback. */
typedef struct sr_train_progress {
    int epoch, n_epochs;                /* epoch is 1-based */
    int64_t events_done, events_total;  /* training events (steps x rows) within the epoch */
    double loss;                        /* mean loss per event so far in this epoch */
    double events_per_sec;
    int epoch_done;                     /* 1 on the report that closes an epoch */
    const sr_eval_result *valid;        /* validation metrics at an epoch's end, or NULL */
} sr_train_progress;

typedef void (*sr_train_callback)(const sr_train_progress *p, void *ud);

/* The validation metric that early stopping and the best epoch follow (at
 * valid_opts.cutoffs[0]). */
typedef enum sr_metric { SR_METRIC_RECALL = 0, SR_METRIC_MRR, SR_METRIC_NDCG } sr_metric;

/* What the per-epoch callback receives when an epoch is over. */
typedef struct sr_train_epoch {
    int epoch, n_epochs;         /* 1-based; n_epochs: the planned last epoch */
    double loss;                 /* mean loss per training event of the epoch */
    double events_per_sec, seconds;
    const sr_eval_result *valid; /* validation metrics, or NULL (no validation split) */
    double metric;               /* the followed metric of this epoch (NaN without valid) */
    int best_epoch;              /* epoch with the best metric so far (0: none yet) */
    double best_metric;
    int improved;                /* 1: this epoch is the new best */
    int since_best;              /* epochs since the best one */
    int stopping;                /* 1: training stops after this epoch (patience used up) */
    const char *checkpoint;      /* the file written after this epoch, or NULL */
} sr_train_epoch;

/* Called after every epoch; a nonzero return stops training there (the model
 * is then the last epoch's, or the best one's with keep_best / patience). */
typedef int (*sr_train_epoch_callback)(const sr_train_epoch *e, void *ud);

typedef struct sr_train_opts {
    int threads;                 /* <= 0 = all cores */
    const sr_split *valid;       /* optional validation split, evaluated after each epoch */
    sr_eval_opts valid_opts;
    sr_train_callback cb;        /* optional progress callback (called often) */
    void *ud;                    /* passed to cb and on_epoch */
    sr_train_epoch_callback on_epoch;  /* optional, after each epoch; may stop training */
    /* Early stopping and the best epoch (both need `valid`): */
    sr_metric metric;            /* followed metric (default recall) */
    int patience;                /* > 0: stop after this many epochs without improvement;
                                    the model is the best epoch's */
    int keep_best;               /* 1: the model is the best epoch's (without patience:
                                    after all epochs) */
    /* Model files that can be resumed: */
    int save_optimizer;          /* 1: the model carries its training state */
    const char *checkpoint_path; /* with checkpoint_every N > 0: after every N-th epoch the */
    int checkpoint_every;        /* model so far, with its training state, written atomically */
    /* Where training starts (at most one of the two): */
    const sr_model *resume;      /* continue this model's training (it must carry a training
                                    state; same training data, same parameters but n_epochs,
                                    which is the total): bit-identical to an uninterrupted run
                                    with the same seed and thread count */
    const sr_model *init;        /* warm start on new data: items it knows keep their rows
                                    (and optimizer state, if it has one); new items get fresh
                                    rows; items absent from the new data stay in the model */
} sr_train_opts;

SR_API sr_train_opts sr_train_default_opts(void);

/* Trains GRU4Rec on `train` (item map built from train only; with opts->init,
 * the init model's items followed by the new ones). On a NaN loss returns
 * SR_ERR_NUMERIC and no model. Caller frees *out with sr_model_free. */
SR_API sr_status sr_train_gru(const sr_split *train, const sr_gru_params *p,
                       const sr_train_opts *opts, sr_model **out, sr_error *err);

/* Baselines: "pop", "spop", "iknn", "sr", "sknn", "vsknn", "ar", "stan", with
 * "name=value,..." parameters named as in the session-rec framework (NULL or
 * "" = defaults). Caller frees *out with sr_model_free. */
SR_API sr_status sr_train_baseline(const char *algo, const char *params, const sr_split *train,
                            sr_model **out, sr_error *err);
/* NULL-terminated list of the baseline names. */
SR_API const char *const *sr_baseline_names(void);

#ifdef __cplusplus
}
#endif
#endif /* SESSREC_H */
