/*
 * sessrec.h - the only public header of libsessrec, a session-based recommender
 * (GRU4Rec and eight baselines: pop, spop, iknn, sr, ar, sknn, vsknn, stan).
 *
 * A worked example: the top 5 items after the clicks of one session, from a
 * model file that `sessrec train` (or sr_model_save) wrote. Item ids are the
 * ones of the click log. tests/test_header_example.c holds the same code,
 * checks that the two copies agree, compiles it and runs it.
 *
 *   static int print_top5(const char *model_path, const int64_t *clicks, int n_clicks,
 *                         FILE *out)
 *   {
 *       sr_error err;
 *       sr_model *m;
 *       if (sr_model_load(model_path, &m, &err) != SR_OK) {
 *           fprintf(stderr, "%s\n", err.msg);  // names the file and what is wrong
 *           return 1;
 *       }
 *       int64_t n = sr_model_n_items(m);
 *       float *scores = malloc((size_t)n * sizeof *scores);
 *       sr_scorer *s = sr_scorer_new(m, 1);     // one session at a time: slot 0
 *       int fed = 0;
 *       if (scores && s) {
 *           sr_scorer_reset(s, 0);              // slot 0 starts a new session
 *           for (int i = 0; i < n_clicks; i++) {
 *               int32_t item = (int32_t)sr_model_item_index(m, clicks[i]);
 *               if (item < 0)
 *                   continue;                   // an item the model never saw
 *               sr_scorer_step(s, &item, 1, scores);  // feed it, score every item
 *               fed = 1;
 *           }
 *       }
 *       if (fed) {
 *           int32_t top[5];
 *           int k = sr_topk(scores, n, 5, top, NULL);  // best first
 *           for (int i = 0; i < k; i++)
 *               fprintf(out, "%lld\n", (long long)sr_model_item_ids(m)[top[i]]);
 *       }
 *       sr_scorer_free(s);                      // before the model it belongs to
 *       sr_model_free(m);
 *       free(scores);
 *       return fed ? 0 : 1;
 *   }
 *
 * Read the rest top to bottom as a tutorial:
 *   1. status codes and error reports          (sr_status, sr_error)
 *  1b. writing files safely                    (sr_atomic_*, sr_outdir_*, sr_output_check)
 *   2. click logs: reading raw files           (sr_log, sr_read_log, sr_format_*)
 *   3. cleaning and splitting                  (sr_prepare, sr_prepare_opts, sr_filter_*)
 *   4. prepared splits on disk                 (sr_split, sr_split_save/load/open)
 *   5. statistics and charts                   (sr_split_stats, sr_plot_lengths_svg)
 *   6. synthetic data                          (sr_synth_run)
 *   7. GRU4Rec hyperparameters                 (sr_gru_params, sr_loss_*, sr_optim_*)
 *   8. models, scoring and live sessions       (sr_model, sr_scorer, sr_session, sr_topk)
 *   9. evaluation                              (sr_evaluate, sr_rank, sr_ties_*)
 *  10. training: GRU4Rec and the baselines     (sr_train, sr_train_gru, sr_train_baseline)
 *  11. the algorithm table                     (sr_algo_info, sr_algo_count/at/find)
 *  12. helpers for programs                    (sr_resolve_threads)
 *  13. serving live sessions over HTTP         (sr_server, sr_http_request)
 *
 * Conventions: every public symbol starts with sr_ / SR_. Functions that can fail
 * because of the user (bad file, bad parameter) return an sr_status and fill an
 * sr_error with a message naming the file, line and offending text; a value
 * outside one of the enums below is SR_ERR_ARG, never silently another value.
 * Every enum has sr_<enum>_name (its canonical name) and sr_<enum>_parse.
 * The library never prints (except through callbacks you give it) and never
 * calls exit(). Each function says who owns what it returns; "caller frees
 * with X" is the rule.
 *
 * Threads (what a server may rely on):
 *  - A model (sr_model_load, sr_train_*) is immutable once returned: any number
 *    of threads may use one model at once through the functions that take a
 *    `const sr_model *` (sr_scorer_new, sr_model_item_index, sr_evaluate,
 *    sr_model_save, ...). sr_model_free it only after the last user is done.
 *  - A scorer belongs to one thread at a time (it holds the session state and
 *    its scratch space, without locks): give each thread its own. It must not
 *    outlive its model: sr_scorer_free first.
 *  - Loaded splits are read-only too and may be shared the same way; a split
 *    or log being built or freed must not be used by another thread.
 *  - Everything else works only on its arguments (and the files it names), so
 *    calls on different objects may run in parallel. There is no global state
 *    with one exception: OpenBLAS's thread count is process-wide in the
 *    OpenBLAS we build against (0.3.21), so sr_train_gru and sr_evaluate set it
 *    for the duration of the call and restore it before returning. Calls that
 *    overlap share one count, and the program's own value is back once the
 *    last of them returns. A training run that overlaps other calls may see
 *    their count, which changes its results in the last bits (OpenBLAS
 *    partitions products by thread count, docs/gru4rec.md): train alone for
 *    bit-identical models.
 *  - Progress callbacks run on the thread that called the function.
 */
#ifndef SESSREC_H
#define SESSREC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
/* 1b. Writing files safely                                                 */
/* ------------------------------------------------------------------------ */

/* Writes a printable copy of s[0..n) into dst for a message: printable ASCII
 * as is, \t \r \n \\ as escapes, other bytes (NUL, ESC, ...) as \xHH, cut
 * after 60 characters with "..." appended. Always NUL-terminates (cap > 0).
 * Every echo of input text in a message goes through it. */
SR_API void sr_escape_text(char *dst, size_t cap, const char *s, size_t n);

/* Atomic output file. sr_atomic_open creates a fresh temporary file in the
 * target's folder (".NAME.sr-tmp-XXXXXXXX", O_CREAT|O_EXCL|O_NOFOLLOW, so a
 * planted file or symlink is never opened); write through `f`; commit fsyncs
 * the file, renames it over the target and fsyncs the folder, so a crash at
 * any moment leaves either the old file or the complete new one. Rules:
 *   - "-" means standard output (commit flushes and checks it);
 *   - a target that exists and is not a regular file (folder, FIFO, device,
 *     socket) is refused with SR_ERR_IO, before anything is created;
 *   - a target that is a symlink is written through: the file it points to is
 *     replaced (atomically, next to it) and the link stays; a dangling link is
 *     refused;
 *   - temporaries of killed runs (same target, no live writer: each writer
 *     holds an flock on its temporary) are removed by the next open;
 *   - a path longer than PATH_MAX is refused, not cut.
 * Either sr_atomic_commit or sr_atomic_abort must follow a successful open;
 * both release everything. Not thread-safe per object. */
typedef struct sr_atomic {
    FILE *f;                 /* write here */
    int fd_, dirfd_;         /* internal */
    int to_stdout_;
    char tmp[4096];          /* temporary path ("" for stdout) */
    char path[4096];         /* final path (a symlink's target when written through) */
} sr_atomic;
SR_API sr_status sr_atomic_open(sr_atomic *a, const char *path, sr_error *err);
SR_API sr_status sr_atomic_commit(sr_atomic *a, sr_error *err);
SR_API void sr_atomic_abort(sr_atomic *a);
/* Async-signal-safe part of sr_atomic_abort for a signal handler: removes the
 * temporary file (only unlink; leaks the rest, the process is dying). */
SR_API void sr_atomic_abort_signal(const sr_atomic *a);
/* Writes a whole buffer atomically to `path` (the rules above). */
SR_API sr_status sr_write_file_atomic(const char *path, const void *data, size_t n,
                                      sr_error *err);
/* Checks that `path` could be written by sr_atomic_open, creating and
 * changing nothing: its folder exists, the target is absent or a regular file
 * (or a symlink to one). Used to fail before hours of training. */
SR_API sr_status sr_output_check(const char *path, sr_error *err);
/* 1 if a and b name the same existing file (same device and inode, symlinks
 * followed), else 0. For "an output must not overwrite an input". */
SR_API int sr_same_file(const char *a, const char *b);

/* Atomic output folder: a whole set of files that appears at once.
 * sr_outdir_open checks the path (length, not "", not a file), creates missing
 * parent folders, takes an exclusive lock (flock on the parent folder; a
 * second writer into the same parent waits), removes what killed runs left
 * (".DIR.sr-dir-*", ".DIR.sr-old-*" siblings) and creates a private sibling
 * temp folder. Write each file NAME at sr_outdir_file(d, NAME). Commit fsyncs
 * the temp folder and swaps it in with one rename (renameat2 RENAME_EXCHANGE
 * where DIR exists), fsyncs the parent, then deletes the old folder: a crash at
 * any moment leaves DIR either old or new, never mixed.
 * An existing DIR is replaced as a whole, so it may hold only files named in
 * `ours` (a NULL-terminated list of file names) and temporaries of earlier
 * versions of this tool (NAME.part.N, NAME.tmp.N, .NAME.sr-tmp-*): anything
 * else makes open fail with SR_ERR_IO naming it, before anything is written.
 * A symlink DIR is followed (the folder it points to is replaced).
 * Abort (or a failed commit) removes the temp folder and the parents this run
 * created; sr_outdir_abort_signal does the same with async-signal-safe calls
 * only. Caller owns *out until commit/abort (both free it). */
typedef struct sr_outdir sr_outdir;
SR_API sr_status sr_outdir_open(sr_outdir **out, const char *dir, const char *const *ours,
                                sr_error *err);
/* Path of NAME inside the temp folder (valid until commit/abort). NAME must be
 * in `ours`; returns NULL otherwise. */
SR_API const char *sr_outdir_file(sr_outdir *d, const char *name);
/* Makes NAME a hard link to the already written SAME (both in `ours`). */
SR_API sr_status sr_outdir_link(sr_outdir *d, const char *name, const char *same,
                                sr_error *err);
SR_API sr_status sr_outdir_commit(sr_outdir *d, sr_error *err);
SR_API void sr_outdir_abort(sr_outdir *d);
SR_API void sr_outdir_abort_signal(sr_outdir *d);
/* The folder's final path (resolved through a symlink). */
SR_API const char *sr_outdir_path(const sr_outdir *d);

/* ------------------------------------------------------------------------ */
/* 2. Click logs                                                            */
/* ------------------------------------------------------------------------ */

/* Original ids kept as text, for logs whose ids are not all integers (SKUs,
 * UUIDs, "p-123"). Id k is the NUL-terminated string text + off[k], of length
 * off[k + 1] - off[k] - 1 (ids never contain NUL). A zeroed table (text ==
 * NULL, n == 0) means: the ids are integers and stored as such. */
typedef struct sr_idtext {
    int64_t n;            /* ids in the table */
    char *text;           /* all ids, each followed by '\0'; NULL = integer ids */
    int64_t *off;         /* (n + 1) start of each id in text */
} sr_idtext;

/* The text of id k (k in [0, t->n)). */
static inline const char *sr_idtext_get(const sr_idtext *t, int64_t k)
{
    return t->text + t->off[k];
}

/* A raw click log in memory, one entry per click, in file order.
 * Times are microseconds since the Unix epoch (UTC) for real timestamps; for
 * formats whose Time column is an ordinal (e.g. yoochoose1_64) the value read
 * is scaled the same way (Time 3 -> 3,000,000 us) so that it round-trips.
 * Integer ids are stored as they are. Text ids (a delimited file whose id
 * column holds something other than integers) are numbered 0, 1, ... in order
 * of first appearance in the file: items index item_text, which keeps their
 * text; sessions keep only the number. */
typedef struct sr_log {
    int64_t n;            /* number of clicks */
    int64_t cap;          /* allocated capacity */
    int64_t *session;     /* (n) session id as in the file (or its number), >= 0 */
    int64_t *item;        /* (n) item id as in the file (or index into item_text), >= 0 */
    int64_t *time;        /* (n) microseconds */
    sr_idtext item_text;  /* item ids as text; zeroed when they are integers */
} sr_log;

typedef enum sr_format {
    SR_FMT_AUTO = 0,      /* guess from content */
    SR_FMT_YOOCHOOSE,     /* SessionId,Timestamp,ItemId,Category (no header) */
    SR_FMT_TSV,           /* GRU4Rec TSV with a header naming the columns */
    SR_FMT_DIGINETICA,    /* session_id;user_id;item_id;timeframe;eventdate */
    SR_FMT_CSV            /* any delimited text with a header: ',' '\t' ';' '|',
                             RFC 4180 quotes (TSV is this with a tab) */
    /* only grows at the end */
} sr_format;

/* How the id columns of a delimited file are read. */
typedef enum sr_id_type {
    SR_IDS_AUTO = 0,      /* integers while every value is one, else text */
    SR_IDS_INT,           /* integers only: anything else is a bad line */
    SR_IDS_TEXT           /* always text ("007" and "7" differ) */
} sr_id_type;

/* How the time column of a delimited file is read. */
typedef enum sr_time_format {
    SR_TIME_AUTO = 0,     /* a number: epoch (unit below); else a date-time */
    SR_TIME_EPOCH,        /* numbers only */
    SR_TIME_DATETIME      /* ISO-8601 / "YYYY-MM-DD HH:MM:SS[.f] [UTC]" only */
} sr_time_format;

typedef enum sr_time_unit {
    SR_UNIT_AUTO = 0,     /* by magnitude: |t| < 1e11 s, < 1e14 ms, < 1e17 us */
    SR_UNIT_S,
    SR_UNIT_MS,
    SR_UNIT_US
} sr_time_unit;

#define SR_MAX_WHERE 8

/* One event filter: keep rows whose column `key` equals one of `values`
 * (a comma-separated list, e.g. "view,addtocart"). */
typedef struct sr_where {
    const char *key;
    const char *values;
} sr_where;

typedef struct sr_read_opts {
    sr_format format;
    int64_t nrows;              /* read at most this many data rows (header not counted,
                                   bad lines counted); <= 0 = all */
    int skip_bad_lines;         /* 1 = count and skip malformed lines */
    const char *session_key;    /* column names of delimited files; NULL = defaults */
    const char *item_key;       /*   SessionId, ItemId, Time */
    const char *time_key;
    int threads;                /* parser threads; <= 0 = all cores */
    /* delimited files (SR_FMT_TSV, SR_FMT_CSV): */
    char delimiter;             /* 0 = guess from the header (tab , ; |) */
    sr_id_type ids;
    sr_time_format time_format;
    sr_time_unit time_unit;
    int n_where;                /* event filters, all must match */
    sr_where where[SR_MAX_WHERE];
    const char *user_key;       /* non-NULL: read this column instead of the session
                                   column and cut each user's events into sessions */
    double session_gap;         /* seconds: a gap longer than this starts a new
                                   session (a gap of exactly this does not) */
} sr_read_opts;

SR_API sr_read_opts sr_read_default_opts(void);

/* Statistics of a read, filled by sr_read_log. */
typedef struct sr_read_report {
    sr_format format;           /* the format actually used */
    int64_t lines;              /* data lines seen */
    int64_t bad_lines;          /* lines skipped (only with skip_bad_lines) */
    char first_bad[256];        /* description of the first skipped line */
    int64_t bytes;              /* uncompressed bytes read */
    int64_t filtered;           /* rows dropped by the event filters (where) */
    char delimiter;             /* delimiter of a delimited file, else 0 */
    int text_items, text_sessions; /* 1: that column was read as text */
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
/* Names of the formats: "auto", "yoochoose", "tsv", "diginetica" ("unknown"
 * for a value outside the enum). sr_format_parse is the inverse; an unknown
 * name is SR_ERR_ARG with a message listing the known ones. The same pair
 * exists for every enum of this header (sr_loss_name/parse, ...). */
SR_API const char *sr_format_name(sr_format f);
SR_API sr_status sr_format_parse(const char *name, sr_format *out, sr_error *err);
/* Cuts each user's clicks into sessions: log->session holds user ids on
 * entry; the clicks of one user, ordered by time (ties: file order), start a
 * new session where the gap to the previous click exceeds gap_seconds. On
 * return log->session holds session numbers 0, 1, ... ordered by the first
 * click's time (ties: the user's first appearance in the log). Rows keep their
 * file order. */
SR_API sr_status sr_log_sessionize(sr_log *log, double gap_seconds, sr_error *err);
SR_API void sr_log_free(sr_log *log);
/* Appends one click, growing the arrays. */
SR_API sr_status sr_log_push(sr_log *log, int64_t session, int64_t item, int64_t time_us);

/* ------------------------------------------------------------------------ */
/* 3-4. Cleaning, splitting and prepared splits                              */
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
    int64_t *item_ids;        /* (n_items) original item ids (text ids: item_ids[i] == i) */
    sr_idtext item_text;      /* (n_items) the items' text ids; zeroed for integer ids */
    void *map_;               /* internal: the file image (heap) when loaded from a file */
    size_t map_len_;
} sr_split;

SR_API void sr_split_free(sr_split *s);

typedef enum sr_filter_mode {
    SR_FILTER_RECURSIVE = 0,  /* repeat short-session + rare-item drops to a fixed point */
    SR_FILTER_RSC15           /* official one pass: len<2, support<5, len<2 */
} sr_filter_mode;

/* "recursive", "rsc15". */
SR_API const char *sr_filter_name(sr_filter_mode m);
SR_API sr_status sr_filter_parse(const char *name, sr_filter_mode *out, sr_error *err);

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
 * CRC-32 of the payload. Saving is atomic (sr_atomic_open). Loading reads the
 * file into memory and verifies everything; the split then points into that
 * copy, so a file changed or truncated afterwards cannot disturb it. Saving
 * and loading run the same check (sr_split_check in data/store.h: offsets,
 * item indices, distinct item ids), so nothing is written that cannot be read. */
SR_API sr_status sr_split_save(const sr_split *s, const char *path, sr_error *err);
SR_API sr_status sr_split_load(const char *path, sr_split *out, sr_error *err);
/* GRU4Rec TSV export: header SessionId<TAB>ItemId<TAB>Time, Time in seconds. */
SR_API sr_status sr_split_save_tsv(const sr_split *s, const char *path, sr_error *err);
/* Opens a split for reading: a binary split file (by magic), or `path`.split
 * when `path` itself does not exist, or else any click log sr_read_log accepts
 * (auto format), grouped with sr_split_from_log. */
SR_API sr_status sr_split_open(const char *path, sr_split *out, sr_error *err);
/* sr_split_open reading a click log with the given options (column names,
 * delimiter, filters, sessions from users ...; NULL = defaults). */
SR_API sr_status sr_split_open_opts(const char *path, const sr_read_opts *ro, sr_split *out,
                                    sr_error *err);
/* Builds a split from a log without filtering (e.g. a TSV test file read for
 * eval): groups and orders sessions, item table = distinct items of the log. */
SR_API sr_status sr_split_from_log(const sr_log *log, sr_split *out, sr_error *err);

/* ------------------------------------------------------------------------ */
/* 5. Statistics and charts                                                 */
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

/* At most this many splits in one chart. */
#define SR_PLOT_MAX_SPLITS 10
/* Writes, atomically to `path`, a standalone SVG chart of the session-length
 * distribution of n splits (1..SR_PLOT_MAX_SPLITS): bars per length 1..29 and
 * 30+, mean and median marks, and a log-log tail panel. names: (n) legend
 * labels. Details: src/data/plot.h. */
SR_API sr_status sr_plot_lengths_svg(const char *path, const sr_split *const *splits,
                                     const char *const *names, int n, sr_error *err);

/* ------------------------------------------------------------------------ */
/* 6. Synthetic YOOCHOOSE-like data                                         */
/* ------------------------------------------------------------------------ */

/* The file layouts synth writes the same clicks in (docs/input-formats.md). */
typedef enum sr_synth_layout {
    SR_LAYOUT_YOOCHOOSE = 0,  /* SessionId,Timestamp,ItemId,Category (no header) */
    SR_LAYOUT_TSV,            /* GRU4Rec: SessionId<TAB>ItemId<TAB>Time (seconds) */
    SR_LAYOUT_CSV,            /* session_id,item_id,timestamp: UUID sessions, "sku-N"
                                 items, ISO-8601 times */
    SR_LAYOUT_RETAILROCKET,   /* events.csv: timestamp(ms),visitorid,event,itemid,
                                 transactionid; every 8th click also an addtocart row */
    SR_LAYOUT_REES46,         /* event_time (whole seconds, UTC),event_type,product_id,
                                 ...,user_id,user_session */
    SR_LAYOUT_DIGINETICA      /* sessionId;userId;itemId;timeframe;eventdate */
} sr_synth_layout;

typedef struct sr_synth_opts {
    int64_t clicks;           /* number of clicks (view events) to write, exactly */
    int64_t items;            /* catalogue size (0 = scale with clicks, 57.5K at 33M) */
    uint64_t seed;
    int threads;              /* <= 0 = all cores */
    sr_synth_layout layout;   /* default YOOCHOOSE; the clicks do not depend on it */
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
/* 7. GRU4Rec hyperparameters                                               */
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

/* "cross-entropy", "bpr-max", "full-cross-entropy"; parsing also accepts the
 * official short forms xe, ce, full-xe, full-ce. */
SR_API const char *sr_loss_name(sr_loss l);
SR_API sr_status sr_loss_parse(const char *name, sr_loss *out, sr_error *err);
/* "adagrad", "adam". */
SR_API const char *sr_optim_name(sr_optim o);
SR_API sr_status sr_optim_parse(const char *name, sr_optim *out, sr_error *err);

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
/* 8. Models and scoring: anything that scores all items for a session    */
/* ------------------------------------------------------------------------ */

/* A trained model of any algorithm (GRU4Rec or a baseline), opaque. */
typedef struct sr_model sr_model;

/* Per-thread scoring state for up to `max_batch` parallel sessions (slots). */
typedef struct sr_scorer sr_scorer;

/* Number of items the model knows (dense indices 0..n-1) and their ids (for a
 * model with text ids these are distinct numbers without meaning outside the
 * model: use sr_model_item_text / sr_model_item_name). */
SR_API int64_t sr_model_n_items(const sr_model *m);
SR_API const int64_t *sr_model_item_ids(const sr_model *m);
/* Dense index of an original item id, or -1 if unknown (integer-id models;
 * for text ids use sr_model_item_find). */
SR_API int64_t sr_model_item_index(const sr_model *m, int64_t item_id);
/* Text ids: the id of item idx as text, or NULL for an integer-id model. */
SR_API const char *sr_model_item_text(const sr_model *m, int64_t idx);
/* The id of item idx as text into buf (cap bytes, the text of long ids is
 * cut); returns buf. Works for every model. */
SR_API const char *sr_model_item_name(const sr_model *m, int64_t idx, char *buf, size_t cap);
/* Dense index of an item written as text (n bytes: "214536502", "p-123"), or
 * -1 if unknown. Integer-id models parse it as an integer. */
SR_API int64_t sr_model_item_find(const sr_model *m, const char *s, size_t n);
/* Dense index in m of item i of split s (matched by id: integer, or text),
 * or -1 if the model does not know it. */
SR_API int64_t sr_model_item_of_split(const sr_model *m, const sr_split *s, int64_t i);
SR_API const char *sr_model_algo(const sr_model *m);

/* Scoring state for one thread at a time; NULL on out of memory. Caller frees
 * with sr_scorer_free, before the model (see "Threads" at the top). */
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

/* ---- Live sessions ------------------------------------------------------
 * What a server needs: one sr_session per open visitor session, holding the
 * model's state of that session (GRU4Rec: the hidden state of every layer;
 * the baselines: the clicks themselves) and its clicks. A session does not
 * hold a scorer slot: a scorer (sr_scorer_new) is only scratch space that the
 * calls below load sessions into and take them back from, so a thread with
 * one scorer can serve any number of sessions, and one call can advance and
 * score sessions that arrived from different requests together (one GRU step
 * and one matrix product for all of them).
 *
 * Contracts: a model is immutable and may be shared by all threads; a scorer
 * and a session each belong to one thread at a time; every session passed to
 * one call is distinct and was created for the scorer's model.
 * Example: s = sr_session_new(m); sr_session_click(ws, s, sr_model_item_index(m, id));
 * n = sr_session_recommend(ws, s, 20, 1, idx, NULL). */
typedef struct sr_session sr_session;

/* Clicks a session remembers (the most recent ones): what exclude_seen and
 * the baselines see. Older clicks still moved a GRU4Rec session's state. */
#define SR_SESSION_MAX_CLICKS 1024

/* A new, empty session of model m. Caller frees with sr_session_free. NULL on OOM. */
SR_API sr_session *sr_session_new(const sr_model *m);
SR_API void sr_session_free(sr_session *s);
SR_API const sr_model *sr_session_model(const sr_session *s);
/* The clicks remembered, oldest first (dense item indices), and their count. */
SR_API int sr_session_length(const sr_session *s);
SR_API const int32_t *sr_session_items(const sr_session *s);
/* Clicks fed since the session was created (not capped). */
SR_API int64_t sr_session_clicks_total(const sr_session *s);
/* Heap bytes the session holds (struct, state, click array). */
SR_API size_t sr_session_bytes(const sr_session *s);

/* Batched step: feeds items[i] (dense index 0..n_items-1) as the next click
 * of sess[i] for i < n, and writes the scores of ALL items after that click
 * into scores (n, n_items) row-major, unless scores is NULL. ws is a scorer of
 * the same model with max_batch >= n. SR_ERR_ARG (nothing changed) for a
 * wrong model, n, or item; SR_ERR_NOMEM (nothing changed). */
SR_API sr_status sr_session_step(sr_scorer *ws, sr_session *const *sess, const int32_t *items,
                                 int n, float *scores, sr_error *err);
/* Batched scoring without a click: the scores of ALL items for each session
 * as it is now (the same numbers its last sr_session_step wrote). A session
 * without clicks gets the model's answer for an empty session (GRU4Rec: the
 * zero state; the baselines: all zeros, or the popularity for pop/spop). */
SR_API sr_status sr_session_scores(sr_scorer *ws, const sr_session *const *sess, int n,
                                   float *scores, sr_error *err);
/* One batch scored by several threads (a server's batching thread and its
 * helpers), each taking ranges of the items: sr_session_scores_cols writes
 * the scores of the items [i0, i1) only, session r's score of item i0 + j at
 * out[r * ldo + j] (ldo >= i1 - i0): the same numbers sr_session_scores gives
 * those items. So a thread can walk its range in pieces small enough to stay
 * in its cache (out then holds one piece), or fill its columns of one
 * (n, n_items) array (out = scores + i0, ldo = n_items). Threads that each
 * use their own scorer may fill disjoint parts of one array at once.
 * sess == NULL scores the n sessions of this scorer's previous
 * sr_session_scores_cols call again, without loading their states anew
 * (SR_ERR_ARG if another call has used the scorer since, or n differs);
 * the sessions must not have changed in between.
 * sr_model_score_split gives the granularity: i0 and i1 must be multiples of
 * it (i1 may also be n_items); 0 means the algorithm's scoring does not split
 * (the baselines), and sr_session_scores_cols then fails with SR_ERR_ARG. */
SR_API int sr_model_score_split(const sr_model *m);
SR_API sr_status sr_session_scores_cols(sr_scorer *ws, const sr_session *const *sess, int n,
                                        int64_t i0, int64_t i1, float *out, int64_t ldo,
                                        sr_error *err);
/* Cheap bounds on those scores, for a top k that needs the exact scores of
 * only the items near the k-th best: a number mid per item, a radius per
 * session and a weight per item (in [0, 1], the model's) such that
 *     mid[r * ldo + j] - rad[r] w[i] <= session r's score of item i
 *                                    <= mid[r * ldo + j] + rad[r] w[i]
 * for item i = i0 + j, w = sr_model_score_bound_weights(m) (NULL: all 1;
 * w[i] = 1 always holds too), with the products and sums in float (each
 * rounded, or fused), the score being the number sr_session_scores gives
 * (not an estimate: a guarantee, rounding included). Same calling rules as
 * sr_session_scores_cols (sess == NULL: its sessions, or this call's,
 * loaded before), plus rad (n). GRU4Rec computes them from an 8-bit sketch
 * of its output layer in about half the time of the scores; a session whose
 * state is not finite gets an infinite radius. A model without bounds
 * (sr_model_score_bounds 0: the baselines) fails with SR_ERR_ARG. The
 * weights are built with the bounds on first use (thread-safe). */
SR_API int sr_model_score_bounds(const sr_model *m);
SR_API const float *sr_model_score_bound_weights(const sr_model *m);
SR_API sr_status sr_session_score_bounds_cols(sr_scorer *ws, const sr_session *const *sess,
                                              int n, int64_t i0, int64_t i1, float *mid,
                                              int64_t ldo, float *rad, sr_error *err);
/* Scores of a list of items only (re-ranking candidates, or a quick bound on
 * a row's k-th best score): session r's score of items[j] at out[r * ldo + j]
 * (ldo >= m), the same numbers sr_session_scores gives those items. Items
 * may repeat; each must be an index 0..n_items-1 (SR_ERR_ARG otherwise).
 * GRU4Rec scores only the listed items; the baselines score all items and
 * pick (no faster than sr_session_scores). */
SR_API sr_status sr_session_scores_items(sr_scorer *ws, const sr_session *const *sess, int n,
                                         const int32_t *items, int m, float *out, int64_t ldo,
                                         sr_error *err);
/* Top-k of one row of scores (n_items) for session s: like sr_topk, except
 * that with exclude_seen the session's remembered clicks are never selected
 * (their entries in `scores` are overwritten with NaN). Returns the count. */
SR_API int sr_session_topk(const sr_session *s, float *scores, int k, int exclude_seen,
                           int32_t *idx, float *val);
/* One session, one click (no scores). */
SR_API sr_status sr_session_click(sr_scorer *ws, sr_session *s, int32_t item, sr_error *err);
/* The top-k items for s now: sr_session_scores + sr_session_topk, using a
 * scores row the scorer allocates on first use. idx/val (k); val may be NULL.
 * Returns the count written, or -1 when out of memory. */
SR_API int sr_session_recommend(sr_scorer *ws, const sr_session *s, int k, int exclude_seen,
                                int32_t *idx, float *val);

/* Sessions as bytes (to survive a restart): sr_session_save writes the
 * session into buf if cap is large enough and returns the size it needs
 * either way. The bytes hold the state and the clicks as dense indices, so
 * restore them only into a model with the same algorithm and item table
 * (sr_session_restore checks the sizes and item range, not the table). */
SR_API size_t sr_session_save(const sr_session *s, void *buf, size_t cap);
/* Rebuilds a session of m from sr_session_save's bytes; SR_ERR_FORMAT for
 * anything else (never crashes on bad input). Caller frees *out. */
SR_API sr_status sr_session_restore(const sr_model *m, const void *buf, size_t len,
                                    sr_session **out, sr_error *err);
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

/* "standard", "conservative", "median". */
SR_API const char *sr_ties_name(sr_ties t);
SR_API sr_status sr_ties_parse(const char *name, sr_ties *out, sr_error *err);

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
 * target ranks last (n); NaN scores never count as higher or equal. A tie
 * mode outside the enum gives NaN. */
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
 * "" = defaults). The same as sr_train(algo, train, NULL, params, NULL, ...)
 * for any algorithm but gru4rec. Caller frees *out with sr_model_free. */
SR_API sr_status sr_train_baseline(const char *algo, const char *params, const sr_split *train,
                            sr_model **out, sr_error *err);

/* ------------------------------------------------------------------------ */
/* 11. The algorithm table                                                   */
/* ------------------------------------------------------------------------ */

/* Every algorithm (gru4rec and the baselines) is one row of one read-only
 * table: its name, a one-line summary, its parameters and its named presets.
 * Training (sr_train), model loading (sr_model_load), the CLI's --help,
 * --algo and --preset all read it; an unknown name is an error everywhere.
 * Everything it returns is static and read-only: never free it. */

typedef enum sr_param_type {
    SR_PARAM_INT = 0,          /* an integer in [lo, hi] */
    SR_PARAM_NUMBER,           /* a number in [lo, hi] */
    SR_PARAM_BOOL,             /* true/false (True/False, 1/0) */
    SR_PARAM_CHOICE,           /* one of `choices` */
    SR_PARAM_TEXT              /* free text described by `help` (e.g. layers=100/100) */
} sr_param_type;

typedef struct sr_param_info {
    const char *name;
    const char *alias;                 /* a second accepted name, or NULL */
    sr_param_type type;
    size_t offset;                     /* internal: where the library's parser stores it */
    double lo, hi;                     /* INT, NUMBER: the accepted range */
    const char *const *choices;        /* CHOICE: NULL-terminated accepted values */
    const char *def;                   /* the default, as text ("None" = off) */
    const char *help;                  /* one line */
} sr_param_info;

typedef struct sr_preset_info {
    const char *name;                  /* "rsc15", ... */
    const char *params;                /* "name=value,..." applied on top of the defaults */
    const char *help;                  /* one line */
} sr_preset_info;

typedef struct sr_algo_info {
    const char *name;                  /* "gru4rec", "pop", ... (stored in model files) */
    const char *summary;               /* one line */
    const sr_param_info *params;       /* (n_params) */
    int n_params;
    const sr_preset_info *presets;     /* (n_presets) */
    int n_presets;
} sr_algo_info;

/* The rows of the table: i in [0, sr_algo_count()); NULL outside. */
SR_API int sr_algo_count(void);
SR_API const sr_algo_info *sr_algo_at(int i);
/* The row named `name`, or NULL. */
SR_API const sr_algo_info *sr_algo_find(const char *name);
/* A preset of an algorithm by name, or NULL. */
SR_API const sr_preset_info *sr_algo_preset(const sr_algo_info *a, const char *name);

/* Trains any algorithm of the table: its defaults, then the preset (NULL =
 * none), then `params` ("name=value,..."; NULL or "" = none) on top. opts
 * (NULL = sr_train_default_opts()) matters to gru4rec; the baselines are
 * single-threaded and report no progress. SR_ERR_ARG for an unknown
 * algorithm, preset or parameter, naming it. Caller frees *out with
 * sr_model_free. */
SR_API sr_status sr_train(const char *algo, const sr_split *train, const char *preset,
                          const char *params, const sr_train_opts *opts, sr_model **out,
                          sr_error *err);

/* ------------------------------------------------------------------------ */
/* 12. Helpers for programs built on the library                             */
/* ------------------------------------------------------------------------ */

/* The thread count every `threads` option means: `requested` if > 0, else the
 * number of online cores. Thread-safe. */
SR_API int sr_resolve_threads(int requested);

/* ------------------------------------------------------------------------ */
/* 13. Serving: the request handler under `sessrec serve`                    */
/* ------------------------------------------------------------------------ */

/* An sr_server is everything of the recommendation server but the sockets:
 * routing, JSON in and out, the session store (hash map, LRU eviction, idle
 * expiry, memory accounting), the micro-batching queue and its worker threads,
 * metrics, model reload and snapshots. The program that owns the sockets
 * (tools/cmd_serve.c, on libmicrohttpd) turns each HTTP request into an
 * sr_http_request and sends back the sr_http_response; a fuzzer or a test can
 * call sr_server_handle directly. The API and its errors: docs/serve.md.
 * sr_server_handle is thread-safe (call it from any number of threads); it
 * blocks until the request's batch has been scored (sr_server_start does not). */
typedef struct sr_server sr_server;

typedef struct sr_server_opts {
    const char *model_path;     /* model file (reloaded from the same path) */
    int64_t max_sessions;       /* 1,000,000; the least recently used is evicted */
    double session_ttl;         /* seconds of idleness before a session expires (1800) */
    int batch_max;              /* requests scored together at most (128) */
    double batch_wait;          /* seconds a batch waits to fill up (0: scores what has
                                   arrived while the previous batch ran) */
    int workers;                /* batching threads, each with its own scorer (1) */
    size_t max_body;            /* bytes of a request body (65536) */
    int max_items;              /* items in one request (1000) */
    int max_k;                  /* largest k (1000); default k is 20 */
    const char *admin_token;    /* when set, admin endpoints need "Authorization: Bearer <token>" */
    const char *snapshot_path;  /* sessions restored from it at start (if it exists) and
                                   written by sr_server_snapshot; NULL = none */
    int score_threads;          /* threads scoring one batch, sharing its items: each worker
                                   and score_threads - 1 helpers (1; GRU4Rec only) */
    int batch_split;            /* past this many waiting requests a batch takes a third
                                   of them (at least this many; 16): batches in flight, so
                                   a request that just missed one waits for a batch of a
                                   third of the load rather than one of all of it; 0: all */
} sr_server_opts;

SR_API sr_server_opts sr_server_default_opts(void);
/* Loads the model, restores the snapshot (if any) and starts the workers.
 * Sets OpenBLAS to one thread for the process (the workers are the
 * parallelism). Caller frees with sr_server_free (which stops the workers). */
SR_API sr_status sr_server_new(const sr_server_opts *opts, sr_server **out, sr_error *err);
SR_API void sr_server_free(sr_server *s);

typedef struct sr_http_request {
    const char *method;         /* "GET", "POST", ... */
    const char *path;           /* decoded path, e.g. "/v1/sessions/abc/clicks" */
    const char *const *query;   /* 2 * n_query strings: name, value (value may be NULL) */
    int n_query;
    const char *body;           /* may be NULL when body_len is 0; need not end in NUL */
    size_t body_len;
    const char *authorization;  /* the Authorization header, or NULL */
} sr_http_request;

typedef struct sr_http_response {
    int status;                 /* HTTP status code */
    const char *content_type;   /* static string */
    char *body;                 /* caller frees with free() */
    size_t body_len;
} sr_http_response;

/* Answers one request (never fails: errors are 4xx/5xx responses with a JSON
 * body {"error": "..."}). *out's body is malloc'ed (NULL only when out of memory,
 * then status is 503). */
SR_API void sr_server_handle(sr_server *s, const sr_http_request *req, sr_http_response *out);
/* The same without waiting for the batch, for an event loop that must not
 * block (tools/cmd_serve.c suspends the connection meanwhile). Returns 0 when
 * *out is the answer already (done is not called); 1 when the request waits
 * for a batch: a batching thread writes the answer to *out later and then
 * calls done(arg), once, possibly before sr_server_start has returned. The
 * request's strings may be freed when it returns; *out must stay valid until
 * done. Requests on one session are answered in the order they started. */
typedef void (*sr_server_done_fn)(void *arg);
SR_API int sr_server_start(sr_server *s, const sr_http_request *req, sr_http_response *out,
                           sr_server_done_fn done, void *arg);
/* Loads the model file again and swaps it in; requests keep being answered
 * throughout. Each session moves to the new model the next time it is used
 * (its remembered clicks are replayed; clicks of items the new model does not
 * know are dropped). On failure the old model stays. */
SR_API sr_status sr_server_reload(sr_server *s, sr_error *err);
/* Writes every session to opts->snapshot_path atomically. Call it when no
 * request is in flight (e.g. after the HTTP daemon stopped). */
SR_API sr_status sr_server_snapshot(sr_server *s, sr_error *err);
/* Sessions held and their memory, for logs. */
SR_API int64_t sr_server_sessions(const sr_server *s, size_t *bytes);

#ifdef __cplusplus
}
#endif
#endif /* SESSREC_H */
