/*
 * data_read_line.c - the reference side of the click-log readers: format
 * guessing, header parsing, the line-at-a-time reference parser that writes
 * every error message, and srr_read_ref, a whole reader built on it.
 *
 * This file favours obviously-correct code over speed: the fast parsers in
 * data_read.c fall back to srr_parse_line for every line they do not accept,
 * and the fuzz targets compare the two readers. It must never print, exit,
 * or read outside the (pointer, length) ranges it is given.
 */
#include "data/read.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers -------------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

void srr_escape(char *dst, size_t cap, const char *s, size_t n)
{
    sr_escape_text(dst, cap, s, n);
}

/* "<desc> '<escaped text>'" into what. */
static int bad(char *what, size_t wcap, const char *desc, const char *s, size_t n)
{
    char esc[SRR_TEXT_MAX + 8];
    srr_escape(esc, sizeof esc, s, n);
    snprintf(what, wcap, "%s '%s'", desc, esc);
    return -1;
}

static int bad2(char *what, size_t wcap, const char *desc, const char *name, const char *s,
                size_t n)
{
    char d[96];
    snprintf(d, sizeof d, desc, name);
    return bad(what, wcap, d, s, n);
}

size_t srr_eof_trim(const char *buf, size_t len, int *add_nl)
{
    *add_nl = 0;
    if (len == 0)
        return 0;
    if (buf[len - 1] == '\n') {
        size_t e = len - 1; /* the final '\n' */
        if (e == 0 || buf[e - 1] == '\n')
            return e;
        if (buf[e - 1] == '\r' && (e == 1 || buf[e - 2] == '\n'))
            return e - 1;
        return len;
    }
    if (buf[len - 1] == '\r' && (len == 1 || buf[len - 2] == '\n'))
        return len - 1;
    *add_nl = 1;
    return len;
}

/* ---- guessing and headers ------------------------------------------------------------ */

static size_t strip_cr(const char *s, size_t n)
{
    return n > 0 && s[n - 1] == '\r' ? n - 1 : n;
}

sr_format srr_guess(const char *line, size_t len, char *what, size_t wcap)
{
    if (memchr(line, '\t', len))
        return SR_FMT_TSV;
    if (memchr(line, ';', len))
        return SR_FMT_DIGINETICA;
    if (memchr(line, ',', len))
        return SR_FMT_YOOCHOOSE;
    bad(what, wcap, "cannot guess the format (no tab, ';' or ',' in the first line)", line,
        strip_cr(line, len));
    return SR_FMT_AUTO;
}

/* Lower-case letters and digits only ("session_id" -> "sessionid"). */
static void norm_name(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || is_digit(c))
            dst[o++] = c;
        else if (c != '_')
            dst[o++] = '?';
    }
    dst[o] = '\0';
}

static int first_field_is_number(const char *s, size_t n, char delim)
{
    const char *e = memchr(s, delim, n);
    return all_digits(s, e ? (size_t)(e - s) : n);
}

/* The options live here, with the code that interprets them (the layout), so
 * that the fast reader (read.c) sits above this file and not beside it. */
sr_read_opts sr_read_default_opts(void)
{
    sr_read_opts o;
    memset(&o, 0, sizeof o);
    o.format = SR_FMT_AUTO;
    return o;
}

sr_status srr_layout_make(sr_format fmt, const sr_read_opts *opts, const char *line,
                          size_t len, srr_layout *lay, char *what, size_t wcap)
{
    memset(lay, 0, sizeof *lay);
    lay->fmt = fmt;
    lay->col_session = lay->col_item = lay->col_time = -1;
    if (fmt == SR_FMT_YOOCHOOSE) {
        lay->delim = ',';
        lay->ncols = 4;
        lay->col_session = 0, lay->col_time = 1, lay->col_item = 2;
        return SR_OK;
    }
    len = strip_cr(line, len);
    if (fmt == SR_FMT_DIGINETICA) {
        static const char *want[5] = {"sessionid", "userid", "itemid", "timeframe", "eventdate"};
        lay->delim = ';';
        lay->ncols = 5;
        lay->col_session = 0, lay->col_item = 2, lay->col_time = 3;
        lay->has_header = 1;
        int nf = 0, ok = 1;
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && line[i] != ';')
                continue;
            char nm[32];
            norm_name(nm, sizeof nm, line + start, i - start);
            if (nf >= 5 || strcmp(nm, want[nf]) != 0)
                ok = 0;
            nf++;
            start = i + 1;
        }
        if (ok && nf == 5)
            return SR_OK;
        if (first_field_is_number(line, len, ';'))
            bad(what, wcap, "missing header (the first line is data, expected "
                            "'session_id;user_id;item_id;timeframe;eventdate')",
                line, len);
        else
            bad(what, wcap, "bad DIGINETICA header (expected "
                            "'session_id;user_id;item_id;timeframe;eventdate')",
                line, len);
        return SR_ERR_PARSE;
    }
    if (fmt != SR_FMT_TSV) {
        snprintf(what, wcap, "unknown format %d", (int)fmt);
        return SR_ERR_ARG;
    }
    const char *keys[3] = {"SessionId", "ItemId", "Time"};
    if (opts && opts->session_key)
        keys[0] = opts->session_key;
    if (opts && opts->item_key)
        keys[1] = opts->item_key;
    if (opts && opts->time_key)
        keys[2] = opts->time_key;
    for (int k = 0; k < 3; k++) {
        if (!keys[k][0] || strchr(keys[k], '\t') || strchr(keys[k], '\n')) {
            snprintf(what, wcap, "bad TSV column name '%.60s'", keys[k]);
            return SR_ERR_ARG;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(keys[j], keys[k]) == 0) {
                snprintf(what, wcap, "the session, item and time columns must differ ('%.60s')",
                         keys[k]);
                return SR_ERR_ARG;
            }
    }
    lay->delim = '\t';
    lay->has_header = 1;
    int cols[3] = {-1, -1, -1};
    int nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t')
            continue;
        for (int k = 0; k < 3; k++) {
            if (strlen(keys[k]) == i - start && memcmp(keys[k], line + start, i - start) == 0) {
                if (cols[k] >= 0) {
                    char d[128];
                    snprintf(d, sizeof d, "duplicate column '%.60s' in header", keys[k]);
                    bad(what, wcap, d, line, len);
                    return SR_ERR_PARSE;
                }
                cols[k] = nf;
            }
        }
        nf++;
        start = i + 1;
        if (nf > SRR_MAX_COLS) {
            bad(what, wcap, "too many columns in header (more than 4096)", line, len);
            return SR_ERR_PARSE;
        }
    }
    for (int k = 0; k < 3; k++) {
        if (cols[k] < 0) {
            char d[128];
            if (first_field_is_number(line, len, '\t'))
                snprintf(d, sizeof d, "missing header (the first line is data, expected "
                                      "column names like '%.40s')",
                         keys[k]);
            else
                snprintf(d, sizeof d, "missing column '%.60s' in header", keys[k]);
            bad(what, wcap, d, line, len);
            return SR_ERR_PARSE;
        }
    }
    lay->ncols = nf;
    lay->col_session = cols[0], lay->col_item = cols[1], lay->col_time = cols[2];
    return SR_OK;
}

/* ---- field parsers ----------------------------------------------------------------- */

/* Non-negative decimal integer that fits int64 (leading zeros allowed). */
static int parse_id(const char *s, size_t n, const char *name, const char *line, size_t ln,
                    int64_t *v, char *what, size_t wcap)
{
    if (n == 0)
        return bad2(what, wcap, "empty %s in line", name, line, ln);
    if (s[0] == '-' && all_digits(s + 1, n - 1))
        return bad2(what, wcap, "negative %s", name, s, n);
    if (!all_digits(s, n))
        return bad2(what, wcap, "bad %s", name, s, n);
    size_t i = 0;
    while (i + 1 < n && s[i] == '0')
        i++;
    size_t nd = n - i;
    if (nd > 19 || (nd == 19 && memcmp(s + i, "9223372036854775807", 19) > 0))
        return bad2(what, wcap, "%s out of int64 range", name, s, n);
    uint64_t x = 0;
    for (; i < n; i++)
        x = x * 10 + (uint64_t)(s[i] - '0');
    *v = (int64_t)x;
    return 0;
}

/* Fixed-width decimal of k digits at s (caller checked the length). */
static int fixed(const char *s, int k, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < k; i++) {
        if (!is_digit(s[i]))
            return 0;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return 1;
}

/* "YYYY-MM-DD" -> days since the epoch, with month and day checked. */
static int parse_date10(const char *s, int64_t *days)
{
    unsigned y, m, d;
    if (!fixed(s, 4, &y) || s[4] != '-' || !fixed(s + 5, 2, &m) || s[7] != '-' ||
        !fixed(s + 8, 2, &d))
        return 0;
    if (m < 1 || m > 12 || d < 1 || d > srr_days_in_month(y, m))
        return 0;
    *days = srr_days_from_civil(y, m, d);
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z" -> microseconds since the epoch. */
static int parse_iso(const char *s, size_t n, int64_t *us)
{
    int64_t days;
    unsigned hh, mm, ss, frac = 0;
    if (n < 20 || s[n - 1] != 'Z' || !parse_date10(s, &days) || s[10] != 'T' ||
        !fixed(s + 11, 2, &hh) || s[13] != ':' || !fixed(s + 14, 2, &mm) || s[16] != ':' ||
        !fixed(s + 17, 2, &ss))
        return 0;
    if (hh > 23 || mm > 59 || ss > 59)
        return 0;
    size_t nf = n - 20; /* characters between the seconds and 'Z' */
    if (nf > 0) {
        if (nf < 2 || nf > 7 || s[19] != '.' || !fixed(s + 20, (int)(nf - 1), &frac))
            return 0;
        for (size_t k = nf - 1; k < 6; k++)
            frac *= 10;
    }
    *us = days * SRR_US_PER_DAY + ((int64_t)hh * 3600 + mm * 60 + ss) * 1000000 + frac;
    return 1;
}

static int parse_category(const char *s, size_t n)
{
    if (n == 1 && s[0] == 'S')
        return 1;
    return n <= 19 && all_digits(s, n);
}

/* Epoch seconds "[-]D+[.D+]" -> microseconds, rounded half away from zero
 * on the 7th fraction digit; exact integer arithmetic. */
static int parse_tsv_time(const char *s, size_t n, int64_t *us, int *range)
{
    *range = 0;
    int neg = 0;
    size_t i = 0;
    if (n > 0 && s[0] == '-')
        neg = 1, i = 1;
    size_t a = i;
    while (i < n && is_digit(s[i]))
        i++;
    size_t ni = i - a;
    if (ni == 0)
        return 0;
    uint64_t frac = 0;
    int nfd = 0, round = 0;
    if (i < n) {
        if (s[i] != '.' || !all_digits(s + i + 1, n - i - 1))
            return 0;
        for (size_t j = i + 1; j < n; j++, nfd++) {
            if (nfd < 6)
                frac = frac * 10 + (uint64_t)(s[j] - '0');
            else if (nfd == 6)
                round = s[j] >= '5';
        }
        for (int k = nfd; k < 6; k++)
            frac *= 10;
    }
    while (a + 1 < i && s[a] == '0')
        a++;
    if (i - a > 13) {
        *range = 1;
        return 0;
    }
    uint64_t sec = 0;
    for (; a < i; a++)
        sec = sec * 10 + (uint64_t)(s[a] - '0');
    uint64_t mag = sec * 1000000u + frac + (uint64_t)round; /* < 1e19 < 2^64 */
    if (mag > (uint64_t)INT64_MAX) {
        *range = 1;
        return 0;
    }
    *us = neg ? -(int64_t)mag : (int64_t)mag;
    return 1;
}

/* ---- the reference line parser --------------------------------------------------------- */

int srr_parse_line(const srr_layout *lay, const char *line, size_t len, int64_t *session,
                   int64_t *item, int64_t *time_us, char *what, size_t wcap)
{
    if (len > SRR_MAX_LINE) {
        char d[64];
        snprintf(d, sizeof d, "line too long (more than %zu bytes)", (size_t)SRR_MAX_LINE);
        return bad(what, wcap, d, line, len);
    }
    len = strip_cr(line, len);
    if (len == 0)
        return bad(what, wcap, "blank line", line, 0);
    /* fields of interest: position by column (YOOCHOOSE and DIGINETICA keep all) */
    const char *f[5] = {0};
    size_t fl[5] = {0};
    int want[3] = {lay->col_session, lay->col_item, lay->col_time};
    const char *kf[3] = {0};
    size_t kl[3] = {0};
    int nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != lay->delim)
            continue;
        if (nf < 5)
            f[nf] = line + start, fl[nf] = i - start;
        for (int k = 0; k < 3; k++)
            if (want[k] == nf)
                kf[k] = line + start, kl[k] = i - start;
        nf++;
        start = i + 1;
    }
    if (nf != lay->ncols) {
        char d[64];
        snprintf(d, sizeof d, "wrong field count (%d, expected %d)", nf, lay->ncols);
        return bad(what, wcap, d, line, len);
    }
    if (lay->fmt == SR_FMT_YOOCHOOSE) {
        if (parse_id(f[0], fl[0], "session id", line, len, session, what, wcap))
            return -1;
        if (!parse_iso(f[1], fl[1], time_us))
            return bad(what, wcap, "bad timestamp", f[1], fl[1]);
        if (parse_id(f[2], fl[2], "item id", line, len, item, what, wcap))
            return -1;
        if (!parse_category(f[3], fl[3]))
            return bad(what, wcap, "bad category", f[3], fl[3]);
        return 0;
    }
    if (lay->fmt == SR_FMT_DIGINETICA) {
        int64_t tf, days;
        if (parse_id(f[0], fl[0], "session id", line, len, session, what, wcap))
            return -1;
        if (!(fl[1] == 0 || (fl[1] == 2 && memcmp(f[1], "NA", 2) == 0) ||
              all_digits(f[1], fl[1])))
            return bad(what, wcap, "bad user id", f[1], fl[1]);
        if (parse_id(f[2], fl[2], "item id", line, len, item, what, wcap))
            return -1;
        if (parse_id(f[3], fl[3], "timeframe", line, len, &tf, what, wcap))
            return -1;
        if (fl[4] != 10 || !parse_date10(f[4], &days))
            return bad(what, wcap, "bad eventdate", f[4], fl[4]);
        int64_t base = days * SRR_US_PER_DAY;
        if (tf > INT64_MAX / 1000 || (base > 0 && tf * 1000 > INT64_MAX - base))
            return bad(what, wcap, "time out of range (eventdate + timeframe)", line, len);
        *time_us = base + tf * 1000;
        return 0;
    }
    /* TSV: keys checked in column order so the leftmost bad one is reported */
    int order[3] = {0, 1, 2};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (want[order[b]] < want[order[a]]) {
                int t = order[a];
                order[a] = order[b], order[b] = t;
            }
    for (int j = 0; j < 3; j++) {
        int k = order[j];
        if (k == 0 && parse_id(kf[0], kl[0], "session id", line, len, session, what, wcap))
            return -1;
        if (k == 1 && parse_id(kf[1], kl[1], "item id", line, len, item, what, wcap))
            return -1;
        if (k == 2) {
            int range;
            if (kl[2] == 0)
                return bad(what, wcap, "empty time in line", line, len);
            if (!parse_tsv_time(kf[2], kl[2], time_us, &range))
                return bad(what, wcap, range ? "time out of range" : "bad time", kf[2], kl[2]);
        }
    }
    return 0;
}

/* ---- the reference reader ---------------------------------------------------------------- */

sr_status srr_read_ref(const char *buf, size_t len, const char *name, const sr_read_opts *opts,
                       sr_log *out, sr_read_report *rep, sr_error *err)
{
    sr_read_opts o = opts ? *opts : sr_read_default_opts();
    sr_read_report rr;
    memset(&rr, 0, sizeof rr);
    memset(out, 0, sizeof *out);
    rr.format = o.format;
    if (!name)
        name = "<memory>";
    if (len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b)
        return sr_error_set(err, SR_ERR_ARG, "%s: the reference reader does not read gzip", name);
    rr.bytes = (int64_t)len;
    int add_nl;
    size_t keep = srr_eof_trim(buf, len, &add_nl);
    if (rep)
        *rep = rr;
    if (keep == 0)
        return sr_error_set(err, SR_ERR_EMPTY, "%s: empty file", name);

    char what[SRR_WHAT];
    size_t pos = 0;
    int64_t line_no = 0;
    const char *nl = memchr(buf, '\n', keep);
    size_t l0 = nl ? (size_t)(nl - buf) : keep;
    sr_format fmt = o.format;
    if (fmt == SR_FMT_AUTO) {
        fmt = srr_guess(buf, l0, what, sizeof what);
        if (fmt == SR_FMT_AUTO) {
            if (rep)
                *rep = rr;
            return sr_error_set(err, SR_ERR_PARSE, "%s:1: %s", name, what);
        }
    }
    rr.format = fmt;
    srr_layout lay;
    sr_status st = srr_layout_make(fmt, &o, buf, l0, &lay, what, sizeof what);
    if (st != SR_OK && rep)
        *rep = rr;
    if (st == SR_ERR_ARG)
        return sr_error_set(err, st, "%s: %s", name, what);
    if (st != SR_OK)
        return sr_error_set(err, st, "%s:1: %s", name, what);
    if (lay.has_header) {
        pos = nl ? l0 + 1 : keep;
        line_no = 1;
    }
    while (pos < keep && !(o.nrows > 0 && rr.lines >= o.nrows)) {
        const char *e = memchr(buf + pos, '\n', keep - pos);
        size_t ll = e ? (size_t)(e - (buf + pos)) : keep - pos;
        int64_t s, it, t;
        line_no++;
        rr.lines++;
        if (srr_parse_line(&lay, buf + pos, ll, &s, &it, &t, what, sizeof what) == 0) {
            if (sr_log_push(out, s, it, t) != SR_OK) {
                sr_log_free(out);
                return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", name);
            }
        } else if (o.skip_bad_lines) {
            if (rr.bad_lines++ == 0)
                snprintf(rr.first_bad, sizeof rr.first_bad, "%s:%lld: %.200s", name,
                         (long long)line_no, what);
        } else {
            sr_log_free(out);
            if (rep)
                *rep = rr;
            return sr_error_set(err, SR_ERR_PARSE, "%s:%lld: %s", name, (long long)line_no, what);
        }
        pos += ll + 1;
    }
    if (rep)
        *rep = rr;
    if (out->n == 0) {
        sr_log_free(out);
        if (rr.bad_lines)
            return sr_error_set(err, SR_ERR_EMPTY, "%s: no valid data rows (%lld bad lines skipped)",
                                name, (long long)rr.bad_lines);
        return sr_error_set(err, SR_ERR_EMPTY, "%s: no data rows", name);
    }
    return SR_OK;
}
