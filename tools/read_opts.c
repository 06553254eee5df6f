/*
 * read_opts.c - the reading options: how a click log is read, one group for
 * every command that reads one (prepare, stats, train, eval, compare). A new
 * reading option is one row in cli_read_options and one branch in
 * cli_read_opt; every command and its help text get it from there.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "opts.h"

#include <stdlib.h>
#include <string.h>

/* v among names[] (NULL-terminated): its index, or -1. */
static int pick(const char *v, const char *const *names)
{
    for (int k = 0; names[k]; k++)
        if (!strcmp(v, names[k]))
            return k;
    return -1;
}

const cli_opt cli_read_options[] = {
    {"format", 0, NULL, "F", "auto (default: guessed from the first line),\n"
                             "yoochoose (SessionId,Timestamp,ItemId,Category, no\n"
                             "header), csv (any delimited text with a header),\n"
                             "tsv (csv with tabs: GRU4Rec), diginetica\n"
                             "(train-item-views.csv)"},
    {"delimiter", 0, NULL, "C", "csv: ',' ';' '|' or tab (default: guessed from the\n"
                                "header); RFC 4180 quotes, extra columns ignored"},
    {"session-key", 0, "sk", "K", "column of the session ids (default SessionId; when\n"
                                  "not given also session_id/session)"},
    {"item-key", 0, "ik", "K", "column of the item ids (default ItemId; also\n"
                               "item_id/item/product_id)"},
    {"time-key", 0, "tk", "K", "column of the times (default Time; also\n"
                               "timestamp/ts/event_time); -sk/-ik/-tk as in the\n"
                               "official run.py"},
    {"ids", 0, NULL, "auto|int|text", "id columns: auto (default) reads integers while\n"
                                      "all values are integers, else text (SKUs, UUIDs)"},
    {"time-format", 0, NULL, "auto|epoch|iso", "auto (default): numbers are epoch times, the\n"
                                               "rest ISO-8601 ('2014-04-07T10:51:09.277Z',\n"
                                               "'2019-10-01 00:00:00 UTC', '...+02:00')"},
    {"time-unit", 0, NULL, "auto|s|ms|us", "epoch unit; auto (default) by magnitude: below\n"
                                           "1e11 seconds, below 1e14 ms, else microseconds"},
    {"where", 0, NULL, "COL=V1[,V2...]", "keep only rows whose COL is one of the values\n"
                                         "(repeatable: all must match), e.g. event=view"},
    {"user-key", 0, NULL, "K", "read users from column K and cut each user's\n"
                               "time-ordered clicks into sessions"},
    {"session-gap", 0, NULL, "SECONDS", "with --user-key: a gap longer than this starts a\n"
                                        "new session (exactly this does not); default 1800"},
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
    } else if (!strcmp(n, "delimiter")) {
        static const char *const nm[] = {",", "comma", "\t", "tab", "\\t", ";", "semicolon",
                                         "|", "pipe", NULL};
        static const char d[] = {',', ',', '\t', '\t', '\t', ';', ';', '|', '|'};
        int k = pick(v, nm);
        if (k < 0)
            return cli_fail(cmd, "--delimiter: expected ',' (comma), tab, ';' (semicolon) or "
                            "'|' (pipe), got '%s'", v);
        ro->delimiter = d[k];
    } else if (!strcmp(n, "ids")) {
        static const char *const nm[] = {"auto", "int", "text", NULL};
        int k = pick(v, nm);
        if (k < 0)
            return cli_fail(cmd, "--ids: expected auto, int or text, got '%s'", v);
        ro->ids = (sr_id_type)k;
    } else if (!strcmp(n, "time-format")) {
        static const char *const nm[] = {"auto", "epoch", "iso", NULL};
        int k = pick(v, nm);
        if (k < 0)
            return cli_fail(cmd, "--time-format: expected auto, epoch or iso, got '%s'", v);
        ro->time_format = (sr_time_format)k;
    } else if (!strcmp(n, "time-unit")) {
        static const char *const nm[] = {"auto", "s", "ms", "us", NULL};
        int k = pick(v, nm);
        if (k < 0)
            return cli_fail(cmd, "--time-unit: expected auto, s, ms or us, got '%s'", v);
        ro->time_unit = (sr_time_unit)k;
    } else if (!strcmp(n, "where")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v)
            return cli_fail(cmd, "--where: expected COLUMN=VALUE[,VALUE...], got '%s'", v);
        if (ro->n_where >= SR_MAX_WHERE)
            return cli_fail(cmd, "--where: at most %d filters", SR_MAX_WHERE);
        /* the column names live as long as the program: options are read once */
        static char keys[SR_MAX_WHERE][256];
        size_t kl = (size_t)(eq - v);
        if (kl >= sizeof keys[0])
            return cli_fail(cmd, "--where: column name longer than %zu bytes", sizeof keys[0] - 1);
        char *key = keys[ro->n_where];
        memcpy(key, v, kl);
        key[kl] = '\0';
        ro->where[ro->n_where].key = key;
        ro->where[ro->n_where].values = eq + 1;
        ro->n_where++;
    } else if (!strcmp(n, "user-key")) {
        ro->user_key = v;
    } else if (!strcmp(n, "session-gap")) {
        if (cli_double(cmd, "--session-gap", v, 1e-6, 1e12, &ro->session_gap))
            return 1;
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

int cli_read_opts_done(const char *cmd, sr_read_opts *ro)
{
    int gap_given = ro->session_gap > 0;
    if (gap_given && !ro->user_key)
        return cli_fail(cmd, "--session-gap needs --user-key (the column of user ids)");
    if (ro->user_key && ro->session_key)
        return cli_fail(cmd, "--user-key and --session-key exclude each other (sessions are "
                        "either read or cut from user streams)");
    if (ro->user_key && !gap_given)
        ro->session_gap = 1800;
    return 0;
}

void cli_read_help(FILE *f, int col)
{
    fprintf(f, "reading a click log (TRAIN/TEST/INPUT given as a log, not a .split file;\n"
               "docs/input-formats.md has a recipe for each public data set):\n");
    cli_opts_help(f, cli_read_options, col);
}
