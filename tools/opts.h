/*
 * opts.h - the one option parser of every subcommand (getopt_long underneath).
 *
 * A command lists its options as rows (cli_opt) in one or more tables; the
 * parser accepts `--name value`, `--name=value`, `-x value`, `-xvalue`, a
 * row's single-dash alias (`-sk value`, as the official run.py spells it),
 * and `--` to end the options. Whole names only: an abbreviation is an
 * unknown option, so that adding an option never changes what an old command
 * line means. Errors are printed here, in one wording for all commands:
 *
 *   sessrec eval: unknown option '--x' (see sessrec eval --help)
 *   usage: sessrec eval MODEL TEST [options]
 *   sessrec eval: --cutoffs needs a value (see sessrec eval --help)
 *
 * To add an option: add a row to the command's table (or to a shared group
 * such as cli_read_options) and handle its name in the command's callback.
 */
#ifndef SR_CLI_OPTS_H
#define SR_CLI_OPTS_H

#include <stdio.h>

typedef struct cli_opt {
    const char *name;   /* long name without the dashes: "threads" */
    char short_name;    /* 'q' for -q, or 0 */
    const char *alias;  /* another single-dash spelling without the dash ("sk"), or NULL */
    const char *arg;    /* the value's placeholder in help ("N"), NULL for a flag */
    const char *help;   /* help text; "\n" continues on the next line */
} cli_opt;

/* The options every command has. */
typedef struct cli_common {
    int quiet;          /* -q, --quiet */
    int json;           /* --json */
    int threads;        /* --threads N (0 = all cores) */
} cli_common;

/* Rows of the common options: -h/--help, -q/--quiet, --json; and --threads,
 * in its own table for the commands where threads mean something. The parser
 * handles these rows itself (into cli_common). */
extern const cli_opt cli_common_options[];
extern const cli_opt cli_threads_option[];
/* Rows of the reading options (how a click log is read), shared by every
 * command that reads a log: prepare, stats, train, eval, compare. Applied
 * by cli_read_opt (tools/cli.c), described by cli_read_help. */
extern const cli_opt cli_read_options[];

/* Applies a row of cli_read_options to *ro; 0, or 1 after printing. */
struct sr_read_opts;
int cli_read_opt(const char *cmd, const cli_opt *o, const char *value, struct sr_read_opts *ro);
/* Checks the combination once all options are read (--session-gap needs
 * --user-key, which excludes --session-key; --user-key alone cuts at 30
 * minutes); 0, or 1 after printing. */
int cli_read_opts_done(const char *cmd, struct sr_read_opts *ro);
/* The group's help text: a heading and one entry per row (help at column col). */
void cli_read_help(FILE *f, int col);

/* Is `o` a row of `table` (terminated by a row with a NULL name)? */
int cli_opt_in(const cli_opt *o, const cli_opt *table);

/* A command's option callback: `o` is the row matched, `value` its value
 * (NULL for a flag). Returns 0, or non-zero after printing an error. */
typedef int (*cli_opt_fn)(void *ud, const cli_opt *o, const char *value);

typedef struct cli_cmd {
    const char *name;                 /* "eval" */
    const char *synopsis;             /* "MODEL TEST [options]" */
    void (*usage)(FILE *f);           /* the full --help text */
    const cli_opt *const *tables;     /* NULL-terminated list of option tables */
    cli_opt_fn fn;                    /* called for every option not in cli_common_options */
    void *ud;
} cli_cmd;

/* Parses argv[1..argc) (argv[0] is the command name). The common options go
 * to *common (may be NULL when a command has none of them in its tables),
 * the others to c->fn; the operands, in order, to (*pos)[0..*npos) (pointers
 * into argv; *pos is caller-freed with free()). Returns -1 to go on, else the
 * exit status the command must return: 0 after --help, 2 after a usage error
 * (printed), 1 when the callback failed. */
int cli_parse(const cli_cmd *c, int argc, char **argv, cli_common *common, char ***pos,
              int *npos);
/* cli_parse for a command that takes exactly one operand (`what` names it in
 * the usage error when it is missing): -1 to go on with *operand set (a
 * pointer into argv), else the exit status, as cli_parse. */
int cli_parse_one(const cli_cmd *c, int argc, char **argv, cli_common *common, const char *what,
                  const char **operand);

/* A usage error: "usage: sessrec CMD SYNOPSIS" and "sessrec CMD: <msg> (see
 * sessrec CMD --help)" on stderr. Returns 2, the exit status of usage errors. */
int cli_usage_error(const cli_cmd *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints the rows of a table as help lines ("  --name ARG   help"), the help
 * text starting at column `col` (the command's other help lines' column). */
void cli_opts_help(FILE *f, const cli_opt *table, int col);

#endif
