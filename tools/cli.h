/*
 * cli.h - shared helpers of the command-line program. Only tools/ parses argv,
 * prints to the terminal or calls exit(). Each subcommand lives in its own
 * tools/cmd_<name>.c and is listed in tools/sessrec.c.
 */
#ifndef SR_CLI_H
#define SR_CLI_H

#include "sessrec.h"
#include "opts.h"
#include <jansson.h>
#include <stdio.h>

int cmd_synth(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Prints "sessrec <cmd>: <msg>" to stderr, control bytes escaped and cut at
 * 2000 bytes; returns 1 (the exit code for errors). */
int cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Flushes stdout and checks it: on a write error (full disk, closed pipe)
 * prints a message and returns non-zero even if rc was 0. main returns
 * cli_finish(command's exit code). */
int cli_finish(int rc);
/* Prints an sr_error and returns 1. */
int cli_fail_err(const char *cmd, const sr_error *err);

/* Strict number parsing for option values: whole string must be a number.
 * Return 0 on success, -1 (after printing a message naming the option) on error. */
int cli_int64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);
int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* --cutoffs LIST: "1,5,10,20" -> o->cutoffs (each 1..1000000, at most
 * SR_MAX_CUTOFFS). 0, or 1 after printing. */
int cli_cutoffs(const char *cmd, const char *s, sr_eval_opts *o);
/* Durations: "1", "0.5" (days) or "86400s" (seconds); result in days. */
int cli_days(const char *cmd, const char *opt, const char *s, double *out_days);

/* Monotonic seconds, for the timings the commands print. */
double cli_now(void);

/* 1234567 -> "1,234,567" into buf (n bytes); returns buf. */
const char *cli_grouped(int64_t v, char *buf, size_t n);
/* Microseconds since the epoch as ISO-8601 UTC into buf: with `fraction`,
 * only the fraction digits needed ("2014-04-07T10:51:09.277Z"); without,
 * whole seconds, rounded down ("2014-04-07T10:51:09Z"). Returns buf. */
const char *cli_iso_time(char *buf, size_t n, int64_t us, int fraction);
/* ---- JSON (jansson; the schema is docs/json.md) ---- */
/* A JSON number, or null when v is NaN or infinite (JSON has neither): then a
 * warning naming `what` goes to stderr. Never NULL (aborts on out of memory). */
json_t *cli_json_real(const char *cmd, const char *what, double v);
/* The metrics of an evaluation, the one form every command writes:
 * [{"cutoff": k, "recall": r, "mrr": m, "ndcg": n}, ...]. */
json_t *cli_json_metrics(const char *cmd, const sr_eval_result *r);
/* n_predictions, n_skipped, seconds, predictions_per_sec and metrics of an
 * evaluation, set on obj. */
void cli_json_eval(const char *cmd, json_t *obj, const sr_eval_result *r);
/* Prints obj as one line on stdout and releases it; 0, or 1 after an error. */
int cli_json_print(const char *cmd, json_t *obj);
/* A json_string of s, or of its bytes with invalid UTF-8 replaced. */
json_t *cli_json_text(const char *s);

/* The share of the `rows` test rows skipped as unknown to the model: a
 * warning above 5%, an error when nothing is left to predict (returns 1
 * then; 0 otherwise). */
int cli_check_skipped(const char *cmd, const char *what, int64_t rows, const sr_eval_result *r);

/* Appends "piece" to the heap string *acc with a ',' between parts
 * ("a=1" + "b=2" -> "a=1,b=2"); *acc may be NULL. -1 on out of memory. */
int cli_append_spec(char **acc, const char *piece);
/* An algorithm's summary, parameters (defaults in brackets) and presets, from
 * the library's algorithm table, for --help texts. */
void cli_print_algo(FILE *f, const sr_algo_info *a);
/* cli_print_algo of gru4rec (gru4rec=1) or of every other algorithm (0). */
void cli_print_algos(FILE *f, int gru4rec);
/* The effective parameters of a baseline as "name=value,..." (every
 * parameter of its table row: the default, or the last value `spec` gives it
 * by name or alias; spec is the preset's text and -p's, in order). */
void cli_effective_params(const sr_algo_info *a, const char *spec, char *buf, size_t n);
/* "gru4rec, pop, ..." : every algorithm of the table, for help and errors. */
void cli_algo_names(char *buf, size_t n);

/* Progress reporting on stderr: a bar redrawn in place on a terminal, plain
 * lines (at most every few seconds) otherwise. */
typedef struct cli_progress {
    const char *label;
    double start, last;
    int tty;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
/* frac in [0,1]; `extra` is appended (e.g. "loss 5.12, 21,034 ev/s"). */
void cli_progress_update(cli_progress *p, double frac, const char *extra);
void cli_progress_done(cli_progress *p, const char *extra);

#endif
