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
        else if (c != '_' && c != ' ' && c != '"')
            dst[o++] = '?';
    }
    dst[o] = '\0';
}

static int is_diginetica_header(const char *line, size_t len)
{
    static const char *want[5] = {"sessionid", "userid", "itemid", "timeframe", "eventdate"};
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
    return ok && nf == 5;
}

/* A YOOCHOOSE data line: 4 comma fields, an integer session id, a field
 * starting "DDDD-". */
static int looks_yoochoose(const char *line, size_t len)
{
    const char *c1 = memchr(line, ',', len);
    if (!c1 || !all_digits(line, (size_t)(c1 - line)))
        return 0;
    size_t r = len - (size_t)(c1 + 1 - line);
    const char *t = c1 + 1;
    if (r < 5 || !is_digit(t[0]) || !is_digit(t[1]) || !is_digit(t[2]) || !is_digit(t[3]) ||
        t[4] != '-')
        return 0;
    int commas = 0;
    for (size_t i = 0; i < len; i++)
        commas += line[i] == ',';
    return commas == 3;
}

/* The most frequent of tab , ; | outside quotes (ties in that order); 0 if none. */
static char guess_delim(const char *line, size_t len)
{
    static const char cand[4] = {'\t', ',', ';', '|'};
    size_t cnt[4] = {0, 0, 0, 0};
    int inq = 0;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '"')
            inq = !inq;
        else if (!inq)
            for (int k = 0; k < 4; k++)
                cnt[k] += line[i] == cand[k];
    }
    int best = -1;
    for (int k = 0; k < 4; k++)
        if (cnt[k] && (best < 0 || cnt[k] > cnt[best]))
            best = k;
    return best < 0 ? 0 : cand[best];
}

sr_format srr_guess(const char *line, size_t len, char *what, size_t wcap)
{
    len = strip_cr(line, len);
    if (looks_yoochoose(line, len))
        return SR_FMT_YOOCHOOSE;
    if (is_diginetica_header(line, len))
        return SR_FMT_DIGINETICA;
    char d = guess_delim(line, len);
    if (d == '\t')
        return SR_FMT_TSV;
    if (d)
        return SR_FMT_CSV;
    bad(what, wcap, "cannot guess the format (no tab, ',', ';' or '|' in the first line)", line,
        len);
    return SR_FMT_AUTO;
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

/* ---- fields of a delimited line ---------------------------------------------------------- */

/* The next field of line[*pos..len) with RFC 4180 quotes: a field that starts
 * with '"' ends at the matching '"' ("" inside is one quote), which must be
 * followed by the delimiter or the end; other fields end at the delimiter and
 * keep any quote as text. Sets *f, *fl to the field's raw bytes (quotes
 * included), *quoted, and moves *pos past the delimiter (*more = 0 at the
 * end). Returns 0, or -1 for a bad quoted field (what set). */
static int next_field(const char *line, size_t len, char delim, size_t *pos, const char **f,
                      size_t *fl, int *quoted, int *more, char *what, size_t wcap)
{
    size_t i = *pos;
    *f = line + i;
    *quoted = i < len && line[i] == '"';
    if (*quoted) {
        size_t j = i + 1;
        for (;;) {
            if (j >= len)
                return bad(what, wcap, "unterminated quoted field (line breaks inside quotes "
                                       "are not read)", line + i, len - i);
            if (line[j] == '"') {
                if (j + 1 < len && line[j + 1] == '"') {
                    j += 2;
                    continue;
                }
                break;
            }
            j++;
        }
        j++; /* past the closing quote */
        if (j < len && line[j] != delim)
            return bad(what, wcap, "text after a closing quote", line + i, len - i);
        *fl = j - i;
        *more = j < len;
        *pos = j + 1;
        return 0;
    }
    size_t j = i;
    while (j < len && line[j] != delim)
        j++;
    *fl = j - i;
    *more = j < len;
    *pos = j + 1;
    return 0;
}

/* The value of a raw field: quotes removed, "" -> " (into scratch when needed). */
static void unquote(const char *f, size_t fl, int quoted, char *scratch, const char **v,
                    size_t *vl)
{
    if (!quoted) {
        *v = f, *vl = fl;
        return;
    }
    f++, fl -= 2;
    if (!memchr(f, '"', fl)) {
        *v = f, *vl = fl;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < fl; i++) {
        scratch[o++] = f[i];
        if (f[i] == '"')
            i++; /* the second quote of a pair */
    }
    *v = scratch, *vl = o;
}

/* Default column names: the GRU4Rec names, then common spellings (compared
 * lower-case without '_' and spaces), used only when no key is given. */
static const char *const alias_session[] = {"sessionid", "session", NULL};
static const char *const alias_item[] = {"itemid", "item", "productid", NULL};
static const char *const alias_time[] = {"time", "timestamp", "ts", "eventtime", NULL};

sr_status srr_layout_make(sr_format fmt, const sr_read_opts *opts, int text_cols,
                          const char *line, size_t len, srr_layout *lay, char *what,
                          size_t wcap)
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
        lay->delim = ';';
        lay->ncols = 5;
        lay->col_session = 0, lay->col_item = 2, lay->col_time = 3;
        lay->has_header = 1;
        if (is_diginetica_header(line, len))
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
    if (fmt != SR_FMT_TSV && fmt != SR_FMT_CSV) {
        snprintf(what, wcap, "unknown format %d", (int)fmt);
        return SR_ERR_ARG;
    }
    sr_read_opts o = opts ? *opts : sr_read_default_opts();
    if ((unsigned)o.ids > SR_IDS_TEXT || (unsigned)o.time_format > SR_TIME_DATETIME ||
        (unsigned)o.time_unit > SR_UNIT_US) {
        snprintf(what, wcap, "bad reading option (ids %d, time format %d, time unit %d)",
                 (int)o.ids, (int)o.time_format, (int)o.time_unit);
        return SR_ERR_ARG;
    }
    if (o.n_where < 0 || o.n_where > SR_MAX_WHERE) {
        snprintf(what, wcap, "at most %d event filters (got %d)", SR_MAX_WHERE, o.n_where);
        return SR_ERR_ARG;
    }
    char delim = fmt == SR_FMT_TSV ? '\t' : o.delimiter ? o.delimiter : guess_delim(line, len);
    if (fmt == SR_FMT_TSV && o.delimiter && o.delimiter != '\t') {
        snprintf(what, wcap, "the tsv format is tab-delimited (delimiter '%c' given: use csv)",
                 o.delimiter);
        return SR_ERR_ARG;
    }
    if (delim && !(delim == '\t' || delim == ',' || delim == ';' || delim == '|')) {
        char esc[8];
        srr_escape(esc, sizeof esc, &delim, 1);
        snprintf(what, wcap, "bad delimiter '%s' (tab, ',', ';' or '|')", esc);
        return SR_ERR_ARG;
    }
    if (!delim) {
        bad(what, wcap, "no delimiter (tab, ',', ';' or '|') in the header", line, len);
        return SR_ERR_PARSE;
    }
    lay->fmt = fmt; /* a guess says TSV for a tab header; forced CSV stays CSV */
    lay->delim = delim;
    lay->has_header = 1;
    lay->strict_ids = o.ids == SR_IDS_INT;
    lay->text = o.ids == SR_IDS_TEXT ? SRR_TEXT_SESSION | SRR_TEXT_ITEM
                : o.ids == SR_IDS_INT ? 0 : text_cols & (SRR_TEXT_SESSION | SRR_TEXT_ITEM);
    lay->tfmt = o.time_format;
    lay->tunit = o.time_unit;
    lay->user = o.user_key != NULL;

    const char *keys[3] = {"SessionId", "ItemId", "Time"};
    const char *const *alias[3] = {alias_session, alias_item, alias_time};
    const char *given[3] = {o.user_key ? o.user_key : o.session_key, o.item_key, o.time_key};
    for (int k = 0; k < 3; k++)
        if (given[k]) {
            keys[k] = given[k];
            alias[k] = NULL;
        }
    int nkeys = 3 + o.n_where;
    const char *names[3 + SR_MAX_WHERE];
    for (int k = 0; k < 3; k++)
        names[k] = keys[k];
    for (int w = 0; w < o.n_where; w++)
        names[3 + w] = o.where[w].key;
    for (int k = 0; k < nkeys; k++) {
        if (!names[k] || !names[k][0] || strchr(names[k], '\n') || strchr(names[k], '\r')) {
            snprintf(what, wcap, "bad column name '%.60s'", names[k] ? names[k] : "(null)");
            return SR_ERR_ARG;
        }
        for (int j = 0; j < k && k < 3; j++)
            if (strcmp(names[j], names[k]) == 0) {
                snprintf(what, wcap, "the session, item and time columns must differ ('%.60s')",
                         names[k]);
                return SR_ERR_ARG;
            }
    }
    /* where values: "v1,v2,..." */
    lay->n_where = o.n_where;
    for (int w = 0; w < o.n_where; w++) {
        const char *v = o.where[w].values ? o.where[w].values : "";
        int nv = 0;
        for (const char *s0 = v;;) {
            const char *c = strchr(s0, ',');
            size_t l = c ? (size_t)(c - s0) : strlen(s0);
            if (nv == SRR_MAX_VALUES) {
                snprintf(what, wcap, "filter on '%.60s': more than %d values", o.where[w].key,
                         SRR_MAX_VALUES);
                return SR_ERR_ARG;
            }
            lay->where_v[w][nv] = s0;
            lay->where_vl[w][nv++] = l;
            if (!c)
                break;
            s0 = c + 1;
        }
        lay->where_nv[w] = nv;
    }

    int cols[3 + SR_MAX_WHERE];
    int acol[3] = {-1, -1, -1}; /* columns matched by an alias */
    for (int k = 0; k < nkeys; k++)
        cols[k] = -1;
    int nf = 0, more = 1;
    size_t pos = 0;
    char nm[64];
    while (more) {
        const char *f, *v;
        size_t fl, vl;
        int quoted;
        if (next_field(line, len, delim, &pos, &f, &fl, &quoted, &more, what, wcap) != 0)
            return SR_ERR_PARSE;
        char hb[512];
        if (quoted && fl - 2 <= sizeof hb)
            unquote(f, fl, quoted, hb, &v, &vl);
        else
            v = f, vl = fl;
        for (int k = 0; k < nkeys; k++) {
            if (strlen(names[k]) == vl && memcmp(names[k], v, vl) == 0) {
                if (cols[k] >= 0 && (k < 3 || cols[k] != nf)) {
                    char d[128];
                    snprintf(d, sizeof d, "duplicate column '%.60s' in header", names[k]);
                    bad(what, wcap, d, line, len);
                    return SR_ERR_PARSE;
                }
                cols[k] = nf;
            }
        }
        norm_name(nm, sizeof nm, v, vl);
        for (int k = 0; k < 3; k++)
            for (int j = 0; alias[k] && alias[k][j] && acol[k] < 0; j++)
                if (strcmp(nm, alias[k][j]) == 0)
                    acol[k] = nf;
        nf++;
        if (nf > SRR_MAX_COLS) {
            bad(what, wcap, "too many columns in header (more than 4096)", line, len);
            return SR_ERR_PARSE;
        }
    }
    for (int k = 0; k < 3; k++)
        if (cols[k] < 0 && alias[k])
            cols[k] = acol[k];
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < k; j++)
            if (cols[k] >= 0 && cols[k] == cols[j]) {
                char d[160];
                snprintf(d, sizeof d, "one column for two keys ('%.60s')", keys[k]);
                bad(what, wcap, d, line, len);
                return SR_ERR_PARSE;
            }
    static const char *const flag[3] = {"--session-key", "--item-key", "--time-key"};
    for (int k = 0; k < nkeys; k++) {
        if (cols[k] < 0) {
            char d[192];
            if (k < 3 && first_field_is_number(line, len, delim))
                snprintf(d, sizeof d, "missing header (the first line is data, expected "
                                      "column names like '%.40s')",
                         keys[k]);
            else if (k < 3)
                snprintf(d, sizeof d, "missing column '%.60s' in header (name it with %s)",
                         keys[k], k == 0 && o.user_key ? "--user-key" : flag[k]);
            else
                snprintf(d, sizeof d, "missing column '%.60s' (of a filter) in header",
                         names[k]);
            bad(what, wcap, d, line, len);
            return SR_ERR_PARSE;
        }
    }
    lay->ncols = nf;
    lay->col_session = cols[0], lay->col_item = cols[1], lay->col_time = cols[2];
    for (int w = 0; w < o.n_where; w++)
        lay->where_col[w] = cols[3 + w];
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

/* Epoch time "[-]D+[.D+]" in the layout's unit (auto: by the magnitude of the
 * integer part: < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds) ->
 * microseconds, rounded half away from zero on the first digit below a
 * microsecond; exact integer arithmetic. 0, -1 bad, -2 out of range. */
static int parse_epoch(const char *s, size_t n, sr_time_unit unit, int64_t *us)
{
    int neg = 0;
    size_t i = 0;
    if (n > 0 && s[0] == '-')
        neg = 1, i = 1;
    size_t a = i;
    while (i < n && is_digit(s[i]))
        i++;
    if (i == a)
        return -1;
    size_t fa = i, fb = i;
    if (i < n) {
        if (s[i] != '.' || i + 1 >= n || !all_digits(s + i + 1, n - i - 1))
            return -1;
        fa = i + 1, fb = n;
    }
    while (a + 1 < i && s[a] == '0')
        a++;
    if (i - a > 18)
        return -2;
    uint64_t ip = 0;
    for (size_t k = a; k < i; k++)
        ip = ip * 10 + (uint64_t)(s[k] - '0');
    if (unit == SR_UNIT_AUTO)
        unit = ip < UINT64_C(100000000000) ? SR_UNIT_S
               : ip < UINT64_C(100000000000000) ? SR_UNIT_MS
               : ip < UINT64_C(100000000000000000) ? SR_UNIT_US : SR_UNIT_AUTO;
    if (unit == SR_UNIT_AUTO)
        return -2;
    int fd = unit == SR_UNIT_S ? 6 : unit == SR_UNIT_MS ? 3 : 0; /* fraction digits kept */
    uint64_t mult = unit == SR_UNIT_S ? 1000000u : unit == SR_UNIT_MS ? 1000u : 1u;
    uint64_t frac = 0;
    int round = 0;
    for (int k = 0; k < fd; k++)
        frac = frac * 10 + (fa + (size_t)k < fb ? (uint64_t)(s[fa + (size_t)k] - '0') : 0);
    if (fa + (size_t)fd < fb)
        round = s[fa + (size_t)fd] >= '5';
    if (ip > ((uint64_t)INT64_MAX - frac - (uint64_t)round) / mult)
        return -2;
    uint64_t mag = ip * mult + frac + (uint64_t)round;
    *us = neg ? -(int64_t)mag : (int64_t)mag;
    return 0;
}

/* Date-time: "YYYY-MM-DD", then optionally 'T' or ' ' and "HH:MM[:SS[.f]]"
 * (f: 1-9 digits, those past microseconds dropped), then optionally a zone:
 * "Z", "UTC" or " UTC", "+HH:MM", "+HHMM", "+HH" (or '-'); no zone = UTC.
 * -> microseconds since the epoch (UTC). 0 or -1. */
static int parse_datetime(const char *s, size_t n, int64_t *us)
{
    int64_t days;
    if (n < 10 || !parse_date10(s, &days))
        return -1;
    int64_t sec = 0, frac = 0;
    size_t i = 10;
    if (i < n && (s[i] == 'T' || s[i] == ' ') && i + 6 <= n && is_digit(s[i + 1])) {
        unsigned hh, mm, ss = 0;
        if (!fixed(s + i + 1, 2, &hh) || s[i + 3] != ':' || !fixed(s + i + 4, 2, &mm))
            return -1;
        i += 6;
        if (i < n && s[i] == ':') {
            if (i + 3 > n || !fixed(s + i + 1, 2, &ss))
                return -1;
            i += 3;
            if (i < n && s[i] == '.') {
                size_t k = i + 1;
                while (k < n && is_digit(s[k]))
                    k++;
                if (k == i + 1 || k - i - 1 > 9)
                    return -1;
                for (size_t j = 0; j < 6; j++)
                    frac = frac * 10 + (i + 1 + j < k ? s[i + 1 + j] - '0' : 0);
                i = k;
            }
        }
        if (hh > 23 || mm > 59 || ss > 59)
            return -1;
        sec = (int64_t)hh * 3600 + mm * 60 + ss;
    }
    int64_t zone = 0;
    if (i < n) {
        size_t r = n - i;
        const char *z = s + i;
        if ((r == 1 && z[0] == 'Z') || (r == 3 && memcmp(z, "UTC", 3) == 0) ||
            (r == 4 && memcmp(z, " UTC", 4) == 0)) {
            /* UTC */
        } else if (z[0] == '+' || z[0] == '-') {
            unsigned zh, zm = 0;
            if (r == 3 && fixed(z + 1, 2, &zh)) {
            } else if (r == 5 && fixed(z + 1, 2, &zh) && fixed(z + 3, 2, &zm)) {
            } else if (r == 6 && fixed(z + 1, 2, &zh) && z[3] == ':' && fixed(z + 4, 2, &zm)) {
            } else {
                return -1;
            }
            if (zh > 23 || zm > 59)
                return -1;
            zone = ((int64_t)zh * 3600 + zm * 60) * (z[0] == '+' ? 1 : -1);
        } else {
            return -1;
        }
    }
    *us = days * SRR_US_PER_DAY + (sec - zone) * 1000000 + frac;
    return 0;
}

int srr_parse_time(const srr_layout *lay, const char *s, size_t n, int64_t *us)
{
    size_t d = n > 0 && s[0] == '-' ? 1 : 0;
    int numeric = n > d && is_digit(s[d]) && !(n >= 10 && s[4] == '-' && d == 0);
    if (numeric && lay->tfmt != SR_TIME_DATETIME)
        return parse_epoch(s, n, lay->tunit, us);
    if (!numeric && lay->tfmt != SR_TIME_EPOCH)
        return parse_datetime(s, n, us);
    return -1;
}

/* ---- the reference line parser --------------------------------------------------------- */

/* An id of a delimited file: integer (fast path, *num) unless the column is
 * text; AUTO columns that meet a non-integer ask for text (-2). */
static int delim_id(const srr_layout *lay, int bit, const char *v, size_t vl, const char *name,
                    const char *line, size_t len, int64_t *num, const char **txt, size_t *tl,
                    int *need, char *what, size_t wcap)
{
    if (vl == 0)
        return bad2(what, wcap, "empty %s in line", name, line, len);
    if (lay->text & bit) {
        if (memchr(v, '\0', vl))
            return bad2(what, wcap, "NUL byte in %s", name, v, vl);
        *txt = v, *tl = vl;
        return 0;
    }
    if (parse_id(v, vl, name, line, len, num, what, wcap) == 0)
        return 0;
    if (lay->strict_ids)
        return -1;
    if (memchr(v, '\0', vl))
        return bad2(what, wcap, "NUL byte in %s", name, v, vl);
    *need |= bit;
    return -2;
}

static int where_match(const srr_layout *lay, int w, const char *v, size_t vl)
{
    for (int k = 0; k < lay->where_nv[w]; k++)
        if (lay->where_vl[w][k] == vl && memcmp(lay->where_v[w][k], v, vl) == 0)
            return 1;
    return 0;
}

static int parse_delimited(const srr_layout *lay, const char *line, size_t len, char *scratch,
                           srr_row *row, char *what, size_t wcap)
{
    /* raw extents of the fields of interest: the keys, then the filters */
    enum { NK = 3 + SR_MAX_WHERE };
    int want[NK];
    const char *kf[NK] = {0};
    size_t kl[NK] = {0};
    int kq[NK] = {0};
    int nk = 3 + lay->n_where;
    want[0] = lay->col_session, want[1] = lay->col_item, want[2] = lay->col_time;
    for (int w = 0; w < lay->n_where; w++)
        want[3 + w] = lay->where_col[w];
    int nf = 0, more = 1;
    size_t pos = 0;
    while (more) {
        const char *f;
        size_t fl;
        int q;
        if (next_field(line, len, lay->delim, &pos, &f, &fl, &q, &more, what, wcap) != 0)
            return -1;
        for (int k = 0; k < nk; k++)
            if (want[k] == nf)
                kf[k] = f, kl[k] = fl, kq[k] = q;
        nf++;
    }
    if (nf != lay->ncols) {
        char d[64];
        snprintf(d, sizeof d, "wrong field count (%d, expected %d)", nf, lay->ncols);
        return bad(what, wcap, d, line, len);
    }
    const char *v[NK];
    size_t vl[NK];
    size_t used = 0; /* unquoted values share the scratch buffer (each <= its raw field) */
    for (int k = 0; k < nk; k++) {
        unquote(kf[k], kl[k], kq[k], scratch + used, &v[k], &vl[k]);
        if (v[k] == scratch + used)
            used += vl[k];
    }
    for (int w = 0; w < lay->n_where; w++)
        if (!where_match(lay, w, v[3 + w], vl[3 + w])) {
            row->filtered = 1;
            return 0;
        }
    /* keys checked in column order so the leftmost bad one is reported */
    int order[3] = {0, 1, 2};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (want[order[b]] < want[order[a]]) {
                int t = order[a];
                order[a] = order[b], order[b] = t;
            }
    const char *sname = lay->user ? "user id" : "session id";
    int need = 0, have_need = 0;
    char need_what[SRR_WHAT];
    for (int j = 0; j < 3; j++) {
        int k = order[j], r = 0;
        if (k == 0)
            r = delim_id(lay, SRR_TEXT_SESSION, v[0], vl[0], sname, line, len, &row->session,
                         &row->stext, &row->slen, &need, what, wcap);
        else if (k == 1)
            r = delim_id(lay, SRR_TEXT_ITEM, v[1], vl[1], "item id", line, len, &row->item,
                         &row->itext, &row->ilen, &need, what, wcap);
        else if (vl[2] == 0)
            r = bad(what, wcap, "empty time in line", line, len);
        else {
            int t = srr_parse_time(lay, v[2], vl[2], &row->time);
            if (t != 0)
                r = bad(what, wcap, t == -2 ? "time out of range" : "bad time", v[2], vl[2]);
        }
        if (r == -1)
            return -1;
        if (r == -2 && !have_need) {
            have_need = 1;
            snprintf(need_what, sizeof need_what, "%s", what);
        }
    }
    if (need) {
        row->need_text = need;
        snprintf(what, wcap, "%s", need_what);
        return -2;
    }
    return 0;
}

int srr_parse_line(const srr_layout *lay, const char *line, size_t len, char *scratch,
                   srr_row *row, char *what, size_t wcap)
{
    memset(row, 0, sizeof *row);
    if (len > SRR_MAX_LINE) {
        char d[64];
        snprintf(d, sizeof d, "line too long (more than %zu bytes)", (size_t)SRR_MAX_LINE);
        return bad(what, wcap, d, line, len);
    }
    len = strip_cr(line, len);
    if (len == 0)
        return bad(what, wcap, "blank line", line, 0);
    if (lay->fmt == SR_FMT_TSV || lay->fmt == SR_FMT_CSV)
        return parse_delimited(lay, line, len, scratch, row, what, wcap);
    /* fixed formats: every field by position */
    const char *f[5] = {0};
    size_t fl[5] = {0};
    int nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != lay->delim)
            continue;
        if (nf < 5)
            f[nf] = line + start, fl[nf] = i - start;
        nf++;
        start = i + 1;
    }
    if (nf != lay->ncols) {
        char d[64];
        snprintf(d, sizeof d, "wrong field count (%d, expected %d)", nf, lay->ncols);
        return bad(what, wcap, d, line, len);
    }
    if (lay->fmt == SR_FMT_YOOCHOOSE) {
        if (parse_id(f[0], fl[0], "session id", line, len, &row->session, what, wcap))
            return -1;
        if (!parse_iso(f[1], fl[1], &row->time))
            return bad(what, wcap, "bad timestamp", f[1], fl[1]);
        if (parse_id(f[2], fl[2], "item id", line, len, &row->item, what, wcap))
            return -1;
        if (!parse_category(f[3], fl[3]))
            return bad(what, wcap, "bad category", f[3], fl[3]);
        return 0;
    }
    /* DIGINETICA */
    int64_t tf, days;
    if (parse_id(f[0], fl[0], "session id", line, len, &row->session, what, wcap))
        return -1;
    if (!(fl[1] == 0 || (fl[1] == 2 && memcmp(f[1], "NA", 2) == 0) || all_digits(f[1], fl[1])))
        return bad(what, wcap, "bad user id", f[1], fl[1]);
    if (parse_id(f[2], fl[2], "item id", line, len, &row->item, what, wcap))
        return -1;
    if (parse_id(f[3], fl[3], "timeframe", line, len, &tf, what, wcap))
        return -1;
    if (fl[4] != 10 || !parse_date10(f[4], &days))
        return bad(what, wcap, "bad eventdate", f[4], fl[4]);
    int64_t base = days * SRR_US_PER_DAY;
    if (tf > INT64_MAX / 1000 || (base > 0 && tf * 1000 > INT64_MAX - base))
        return bad(what, wcap, "time out of range (eventdate + timeframe)", line, len);
    row->time = base + tf * 1000;
    return 0;
}

/* ---- the reference reader ---------------------------------------------------------------- */

/* One pass of the reference reader with the given text columns. Returns with
 * *need != 0 (and nothing in *out) when an AUTO id column met a non-integer. */
static sr_status ref_once(const char *buf, size_t len, const char *name, const sr_read_opts *op,
                          int text_cols, sr_log *out, sr_read_report *rep, sr_error *err,
                          int *need)
{
    sr_read_opts o = *op;
    sr_read_report rr;
    memset(&rr, 0, sizeof rr);
    memset(out, 0, sizeof *out);
    rr.format = o.format;
    rr.bytes = (int64_t)len;
    int add_nl;
    size_t keep = srr_eof_trim(buf, len, &add_nl);
    if (rep)
        *rep = rr;
    if (keep == 0)
        return sr_error_set(err, SR_ERR_EMPTY, "%s: empty file", name);

    char what[SRR_WHAT];
    size_t pos = srr_bom(buf, keep);
    int64_t line_no = 0;
    const char *nl = memchr(buf + pos, '\n', keep - pos);
    size_t l0 = nl ? (size_t)(nl - (buf + pos)) : keep - pos;
    sr_format fmt = o.format;
    if (fmt == SR_FMT_AUTO) {
        fmt = srr_guess(buf + pos, l0, what, sizeof what);
        if (fmt == SR_FMT_AUTO) {
            if (rep)
                *rep = rr;
            return sr_error_set(err, SR_ERR_PARSE, "%s:1: %s", name, what);
        }
        fmt = srr_guess_delimited(fmt, &o);
    }
    rr.format = fmt;
    srr_layout lay;
    sr_status st = srr_layout_make(fmt, &o, text_cols, buf + pos, l0, &lay, what, sizeof what);
    if (st == SR_OK && o.user_key && lay.fmt != SR_FMT_TSV && lay.fmt != SR_FMT_CSV) {
        snprintf(what, sizeof what, "a user column (--user-key) needs a delimited file with a "
                                    "header, not %s", sr_format_name(lay.fmt));
        st = SR_ERR_ARG;
    }
    if (st != SR_OK && rep)
        *rep = rr;
    if (st == SR_ERR_ARG)
        return sr_error_set(err, st, "%s: %s", name, what);
    if (st != SR_OK)
        return sr_error_set(err, st, "%s:1: %s", name, what);
    rr.format = lay.fmt;
    rr.delimiter = lay.has_header && lay.fmt != SR_FMT_DIGINETICA ? lay.delim : 0;
    rr.text_sessions = (lay.text & SRR_TEXT_SESSION) != 0;
    rr.text_items = (lay.text & SRR_TEXT_ITEM) != 0;
    if (lay.has_header) {
        pos = nl ? pos + l0 + 1 : keep;
        line_no = 1;
    }
    sr_intern sess, items;
    memset(&sess, 0, sizeof sess);
    memset(&items, 0, sizeof items);
    char *scratch = malloc(keep + 1);
    if (!scratch)
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", name);
    st = SR_OK;
    while (pos < keep && !(o.nrows > 0 && rr.lines >= o.nrows)) {
        const char *e = memchr(buf + pos, '\n', keep - pos);
        size_t ll = e ? (size_t)(e - (buf + pos)) : keep - pos;
        srr_row row;
        line_no++;
        rr.lines++;
        int r = srr_parse_line(&lay, buf + pos, ll, scratch, &row, what, sizeof what);
        if (r == -2) {
            *need = row.need_text;
            break;
        }
        if (r == 0 && row.filtered) {
            rr.filtered++;
        } else if (r == 0) {
            int64_t s = row.session, it = row.item;
            if (lay.text & SRR_TEXT_SESSION)
                s = sr_intern_put(&sess, row.stext, row.slen);
            if (lay.text & SRR_TEXT_ITEM)
                it = sr_intern_put(&items, row.itext, row.ilen);
            if (s < 0 || it < 0 || sr_log_push(out, s, it, row.time) != SR_OK) {
                st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", name);
                break;
            }
        } else if (o.skip_bad_lines) {
            if (rr.bad_lines++ == 0)
                snprintf(rr.first_bad, sizeof rr.first_bad, "%s:%lld: %.200s", name,
                         (long long)line_no, what);
        } else {
            st = sr_error_set(err, SR_ERR_PARSE, "%s:%lld: %s", name, (long long)line_no, what);
            break;
        }
        pos += ll + 1;
    }
    free(scratch);
    sr_intern_free(&sess);
    if (rep)
        *rep = rr;
    if (st != SR_OK || *need) {
        sr_intern_free(&items);
        sr_log_free(out);
        return st;
    }
    if (lay.text & SRR_TEXT_ITEM) {
        if (sr_intern_take(&items, &out->item_text) != SR_OK) {
            sr_log_free(out);
            return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", name);
        }
    }
    return srr_finish(out, &o, &rr, name, err);
}

sr_status srr_finish(sr_log *out, const sr_read_opts *o, const sr_read_report *rr,
                     const char *name, sr_error *err)
{
    if (out->n == 0) {
        sr_log_free(out);
        if (rr->bad_lines)
            return sr_error_set(err, SR_ERR_EMPTY, "%s: no valid data rows (%lld bad lines skipped)",
                                name, (long long)rr->bad_lines);
        if (rr->filtered)
            return sr_error_set(err, SR_ERR_EMPTY, "%s: no data rows pass the filters (%lld "
                                "rows filtered out)", name, (long long)rr->filtered);
        return sr_error_set(err, SR_ERR_EMPTY, "%s: no data rows", name);
    }
    if (o->user_key) {
        sr_error e2;
        sr_status st = sr_log_sessionize(out, o->session_gap, &e2);
        if (st != SR_OK) {
            sr_log_free(out);
            return sr_error_set(err, st, "%s: %s", name, e2.msg);
        }
    }
    return SR_OK;
}

sr_status srr_read_ref(const char *buf, size_t len, const char *name, const sr_read_opts *opts,
                       sr_log *out, sr_read_report *rep, sr_error *err)
{
    sr_read_opts o = opts ? *opts : sr_read_default_opts();
    memset(out, 0, sizeof *out);
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!name)
        name = "<memory>";
    if (len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b)
        return sr_error_set(err, SR_ERR_ARG, "%s: the reference reader does not read gzip", name);
    if (o.user_key && !(o.session_gap >= 0 && o.session_gap <= 1e12))
        return sr_error_set(err, SR_ERR_ARG, "%s: session gap must be in [0, 1e12] seconds, got %g",
                            name, o.session_gap);
    int text_cols = 0;
    for (;;) {
        int need = 0;
        sr_status st = ref_once(buf, len, name, &o, text_cols, out, rep, err, &need);
        if (!need)
            return st;
        text_cols |= need;
    }
}
