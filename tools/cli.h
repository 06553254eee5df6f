/*
 * cli.h - shared helpers of the command-line program. Only tools/ parses argv,
 * prints to the terminal or calls exit(). Each subcommand lives in its own
 * tools/cmd_<name>.c and is listed in tools/sessrec.c.
 */
#ifndef SR_CLI_H
#define SR_CLI_H

#include "sessrec.h"
#include <stdio.h>

int cmd_synth(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Prints "sessrec <cmd>: <msg>" to stderr; returns 1 (the exit code for errors). */
int cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints an sr_error and returns 1. */
int cli_fail_err(const char *cmd, const sr_error *err);

/* Strict number parsing for option values: whole string must be a number.
 * Return 0 on success, -1 (after printing a message naming the option) on error. */
int cli_int64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);
int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
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
/* Writes s as a JSON string literal (quoted, escaped). */
void cli_json_str(FILE *f, const char *s);
/* Appends "piece" to the heap string *acc with a ',' between parts
 * ("a=1" + "b=2" -> "a=1,b=2"); *acc may be NULL. -1 on out of memory. */
int cli_append_spec(char **acc, const char *piece);
/* An algorithm's summary, parameters (defaults in brackets) and presets, from
 * the library's algorithm table, for --help texts. */
void cli_print_algo(FILE *f, const sr_algo_info *a);
/* cli_print_algo of gru4rec (gru4rec=1) or of every other algorithm (0). */
void cli_print_algos(FILE *f, int gru4rec);
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
