/*
 * read_opts.c - the reading options: how a click log is read, one group for
 * every command that reads one (prepare, stats, train, eval, compare). A new
 * reading option is one row in cli_read_options and one branch in
 * cli_read_opt; every command and its help text get it from there.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "opts.h"

#include <string.h>

const cli_opt cli_read_options[] = {
    {"format", 0, NULL, "F", "auto (default: guessed from the content), yoochoose\n"
                             "(SessionId,Timestamp,ItemId,Category), tsv (GRU4Rec,\n"
                             "header naming the columns), diginetica\n"
                             "(train-item-views.csv)"},
    {"session-key", 0, "sk", "K", "column of the session ids (default SessionId)"},
    {"item-key", 0, "ik", "K", "column of the item ids (default ItemId)"},
    {"time-key", 0, "tk", "K", "column of the times (default Time); -sk/-ik/-tk\n"
                               "as in the official run.py"},
    {"nrows", 0, NULL, "N", "read only the first N data rows (as pandas' nrows)"},
    {"skip-bad-lines", 0, NULL, NULL, "skip malformed lines (counted and reported) instead\n"
                                      "of failing on the first one"},
    {NULL, 0, NULL, NULL, NULL},
};

int cli_read_opt(const char *cmd, const cli_opt *o, const char *v, sr_read_opts *ro)
{
    const char *n = o->name;
    if (!strcmp(n, "format")) {
        sr_error e;
        if (sr_format_parse(v, &ro->format, &e) != SR_OK)
            return cli_fail(cmd, "--format: %s", e.msg);
    } else if (!strcmp(n, "session-key")) {
        ro->session_key = v;
    } else if (!strcmp(n, "item-key")) {
        ro->item_key = v;
    } else if (!strcmp(n, "time-key")) {
        ro->time_key = v;
    } else if (!strcmp(n, "nrows")) {
        if (cli_int64(cmd, "--nrows", v, 1, INT64_MAX, &ro->nrows))
            return 1;
    } else if (!strcmp(n, "skip-bad-lines")) {
        ro->skip_bad_lines = 1;
    } else {
        return cli_fail(cmd, "--%s: not a reading option", n); /* a row without a branch */
    }
    return 0;
}

void cli_read_help(FILE *f, int col)
{
    fprintf(f, "reading a click log (TRAIN/TEST/INPUT given as a log, not a .split file):\n");
    cli_opts_help(f, cli_read_options, col);
}
