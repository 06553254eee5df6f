/*
 * names.c - the names of the public enums (loss, optimizer, input format, tie
 * mode, filter mode), printed and parsed in this one place so that the
 * commands, the parameter parser, model descriptions and error messages all
 * agree. Each table has one row per enum value; -Wswitch in the *_name
 * functions catches a value added to sessrec.h without a name here.
 * Never prints.
 */
#include "sessrec.h"

#include <stdio.h>
#include <string.h>

/* One accepted spelling; the first row of each value is its canonical name. */
typedef struct { const char *name; int value; } name_row;

static sr_status parse_in(const name_row *t, size_t n, const char *what, const char *s,
                          int *out, sr_error *err)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, t[i].name)) {
            *out = t[i].value;
            return SR_OK;
        }
    char known[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && len + 1 < sizeof known; i++) {
        int dup = 0; /* list each value once, by its canonical name */
        for (size_t j = 0; j < i; j++)
            dup |= t[j].value == t[i].value;
        if (!dup)
            len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "",
                                    t[i].name);
    }
    return sr_error_set(err, SR_ERR_ARG, "unknown %s '%s' (known: %s)", what, s ? s : "(null)",
                        known);
}

#define N_ROWS(t) (sizeof t / sizeof *t)

/* ---- loss ---------------------------------------------------------------------- */

static const name_row loss_rows[] = {
    {"cross-entropy", SR_LOSS_XE},       {"xe", SR_LOSS_XE},           {"ce", SR_LOSS_XE},
    {"bpr-max", SR_LOSS_BPR_MAX},        {"full-cross-entropy", SR_LOSS_FULL_XE},
    {"full-xe", SR_LOSS_FULL_XE},        {"full-ce", SR_LOSS_FULL_XE},
};

const char *sr_loss_name(sr_loss l)
{
    switch (l) {
    case SR_LOSS_XE: return "cross-entropy";
    case SR_LOSS_BPR_MAX: return "bpr-max";
    case SR_LOSS_FULL_XE: return "full-cross-entropy";
    }
    return "unknown";
}

sr_status sr_loss_parse(const char *s, sr_loss *out, sr_error *err)
{
    int v = 0;
    sr_status st = parse_in(loss_rows, N_ROWS(loss_rows), "loss", s, &v, err);
    if (st == SR_OK)
        *out = (sr_loss)v;
    return st;
}

/* ---- optimizer ----------------------------------------------------------------- */

static const name_row optim_rows[] = {{"adagrad", SR_OPT_ADAGRAD}, {"adam", SR_OPT_ADAM}};

const char *sr_optim_name(sr_optim o)
{
    switch (o) {
    case SR_OPT_ADAGRAD: return "adagrad";
    case SR_OPT_ADAM: return "adam";
    }
    return "unknown";
}

sr_status sr_optim_parse(const char *s, sr_optim *out, sr_error *err)
{
    int v = 0;
    sr_status st = parse_in(optim_rows, N_ROWS(optim_rows), "optimizer", s, &v, err);
    if (st == SR_OK)
        *out = (sr_optim)v;
    return st;
}

/* ---- input format -------------------------------------------------------------- */

static const name_row format_rows[] = {
    {"auto", SR_FMT_AUTO}, {"yoochoose", SR_FMT_YOOCHOOSE}, {"tsv", SR_FMT_TSV},
    {"diginetica", SR_FMT_DIGINETICA}, {"csv", SR_FMT_CSV}};

const char *sr_format_name(sr_format f)
{
    switch (f) {
    case SR_FMT_AUTO: return "auto";
    case SR_FMT_YOOCHOOSE: return "yoochoose";
    case SR_FMT_TSV: return "tsv";
    case SR_FMT_DIGINETICA: return "diginetica";
    case SR_FMT_CSV: return "csv";
    }
    return "unknown";
}

sr_status sr_format_parse(const char *s, sr_format *out, sr_error *err)
{
    int v = 0;
    sr_status st = parse_in(format_rows, N_ROWS(format_rows), "input format", s, &v, err);
    if (st == SR_OK)
        *out = (sr_format)v;
    return st;
}

/* ---- tie mode ------------------------------------------------------------------ */

static const name_row ties_rows[] = {
    {"standard", SR_TIES_STANDARD}, {"conservative", SR_TIES_CONSERVATIVE},
    {"median", SR_TIES_MEDIAN}};

const char *sr_ties_name(sr_ties t)
{
    switch (t) {
    case SR_TIES_STANDARD: return "standard";
    case SR_TIES_CONSERVATIVE: return "conservative";
    case SR_TIES_MEDIAN: return "median";
    }
    return "unknown";
}

sr_status sr_ties_parse(const char *s, sr_ties *out, sr_error *err)
{
    int v = 0;
    sr_status st = parse_in(ties_rows, N_ROWS(ties_rows), "tie mode", s, &v, err);
    if (st == SR_OK)
        *out = (sr_ties)v;
    return st;
}

/* ---- filter mode --------------------------------------------------------------- */

static const name_row filter_rows[] = {
    {"recursive", SR_FILTER_RECURSIVE}, {"rsc15", SR_FILTER_RSC15}};

const char *sr_filter_name(sr_filter_mode m)
{
    switch (m) {
    case SR_FILTER_RECURSIVE: return "recursive";
    case SR_FILTER_RSC15: return "rsc15";
    }
    return "unknown";
}

sr_status sr_filter_parse(const char *s, sr_filter_mode *out, sr_error *err)
{
    int v = 0;
    sr_status st = parse_in(filter_rows, N_ROWS(filter_rows), "filter mode", s, &v, err);
    if (st == SR_OK)
        *out = (sr_filter_mode)v;
    return st;
}
