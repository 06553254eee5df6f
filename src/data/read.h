/*
 * data_read.h - internals of the click-log readers (src/data_read*.c), shared
 * with tests/test_read.c and the fuzz targets.
 *
 * Two parsers exist for every format and must always agree:
 *   - the reference line parser srr_parse_line (data_read_line.c): one line at
 *     a time, split into fields, each field checked by a small obviously-correct
 *     function. It produces every error message, and srr_read_ref builds a
 *     whole reader on it (single thread, no gzip) for differential testing;
 *   - the fast fused parsers in data_read.c, which only ACCEPT common shapes
 *     and hand anything else (errors, rare shapes) to srr_parse_line.
 * Nothing here prints or exits.
 */
#ifndef SR_DATA_READ_H
#define SR_DATA_READ_H

#include "data/log.h"
#include "sessrec.h"
#include <stddef.h>
#include <stdint.h>

#define SRR_MAX_LINE ((size_t)1 << 20) /* a longer line (bytes before '\n') is bad */
#define SRR_PAD 64             /* bytes readable past the end of any piece parsed fast */
#define SRR_TEXT_MAX 60        /* characters of offending text quoted in messages */
#define SRR_MAX_COLS 4096      /* TSV columns */
#define SRR_WHAT 256           /* size of a "what" buffer (message without file:line) */

#define SRR_MAX_VALUES 64         /* values of one --where filter */

/* Column roles of a delimited layout (bit flags; one column may have several). */
enum { SRR_ROLE_SESSION = 1, SRR_ROLE_ITEM = 2, SRR_ROLE_TIME = 4, SRR_ROLE_WHERE = 8 };

/* Bits of srr_row.need_text / the text_cols argument: id columns read as text. */
enum { SRR_TEXT_SESSION = 1, SRR_TEXT_ITEM = 2 };

/* How the data lines of a file are laid out; made from the header (delimited,
 * DIGINETICA) or fixed (YOOCHOOSE). Points into the opts and header it was
 * made from (where values), owns nothing. */
typedef struct srr_layout {
    sr_format fmt;            /* YOOCHOOSE, DIGINETICA, or TSV / CSV (delimited; TSV = tab) */
    char delim;               /* ',' '\t' ';' '|' */
    int ncols;                /* fields per data line */
    int col_session, col_item, col_time; /* columns of the three keys */
    int has_header;
    /* delimited files only: */
    int text;                 /* SRR_TEXT_* bits: id columns read as text */
    int strict_ids;           /* SR_IDS_INT: a non-integer id is a bad line */
    int user;                 /* the session column is a user column (--user-key) */
    sr_time_format tfmt;
    sr_time_unit tunit;
    int n_where;
    int where_col[SR_MAX_WHERE];
    int where_nv[SR_MAX_WHERE];
    const char *where_v[SR_MAX_WHERE][SRR_MAX_VALUES];
    size_t where_vl[SR_MAX_WHERE][SRR_MAX_VALUES];
} srr_layout;

/* Guesses the format from the first line (without '\n'): a line in the
 * YOOCHOOSE shape (4 comma fields, integer session, date-time) -> YOOCHOOSE;
 * the DIGINETICA header -> DIGINETICA; a tab -> TSV; ',' ';' '|' -> CSV;
 * SR_FMT_AUTO (and "<what> '<text>'" in what) when none. */
sr_format srr_guess(const char *line, size_t len, char *what, size_t wcap);

/* A guessed delimited format follows a given delimiter (a tab header read
 * with --delimiter ',' is CSV, not an error). */
static inline sr_format srr_guess_delimited(sr_format guessed, const sr_read_opts *o)
{
    if ((guessed == SR_FMT_TSV || guessed == SR_FMT_CSV) && o->delimiter)
        return o->delimiter == '\t' ? SR_FMT_TSV : SR_FMT_CSV;
    return guessed;
}

/* Builds the layout of `fmt` (not AUTO). For formats with a header, `line`
 * (len bytes, no '\n', no BOM) is the first line of the file; the keys and
 * reading options come from opts (NULL = defaults); text_cols forces id
 * columns to text (SRR_TEXT_* bits, after an AUTO column met a non-integer).
 * On a bad header returns SR_ERR_PARSE and writes "<what> '<text>'" into
 * what; on bad opts returns SR_ERR_ARG. */
sr_status srr_layout_make(sr_format fmt, const sr_read_opts *opts, int text_cols,
                          const char *line, size_t len, srr_layout *lay, char *what,
                          size_t wcap);

/* One parsed data line. Text ids point into the line or into the scratch
 * buffer given to srr_parse_line. */
typedef struct srr_row {
    int64_t session, item, time;  /* integer ids (columns not read as text) and time */
    const char *stext, *itext;    /* text ids (columns read as text), unquoted */
    size_t slen, ilen;
    int filtered;                 /* 1: the row fails a where filter (nothing else set) */
    int need_text;                /* SRR_TEXT_* bits: an AUTO id column holds a non-integer */
} srr_row;

/* Reference parser of one data line (len bytes, without its '\n'; one trailing
 * '\r' is stripped). scratch has room for len bytes (unquoting). Returns 0 and
 * the row; -1 and "<what> '<text>'" for a bad line; -2 when row->need_text
 * says an AUTO id column must be read as text (what is then also set, as the
 * message a strict reader would give). */
int srr_parse_line(const srr_layout *lay, const char *line, size_t len, char *scratch,
                   srr_row *row, char *what, size_t wcap);

/* Parses a time field the way the layout says (epoch or date-time); 0 and the
 * microseconds, -1 bad, -2 out of range. Exposed for the tests. */
int srr_parse_time(const srr_layout *lay, const char *s, size_t n, int64_t *us);

/* Writes a quoted-ready copy of s[0..n) into dst: printable ASCII as is, \t \r
 * \n as escapes, other bytes as \xHH, cut after SRR_TEXT_MAX characters with
 * "..." appended. Always NUL-terminates (cap > 0). */
void srr_escape(char *dst, size_t cap, const char *s, size_t n);

/* The end-of-input rule shared by all readers: a last line that is blank
 * ("" or "\r" before the final '\n', or a lone "\r" after it) is dropped.
 * Returns the number of bytes of buf[0..len) to keep; *add_nl = 1 when the kept
 * bytes do not end in '\n' (the reader then supplies one). */
size_t srr_eof_trim(const char *buf, size_t len, int *add_nl);

/* A UTF-8 byte order mark at the start of a file is skipped. */
static inline size_t srr_bom(const char *buf, size_t len)
{
    return len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
                   (unsigned char)buf[2] == 0xbf
               ? 3
               : 0;
}

/* Reference reader: same contract, results, report and messages as
 * sr_read_log_mem, but simple (line by line with srr_parse_line, one thread)
 * and without gzip (returns SR_ERR_ARG for gzip data). For tests and fuzzing. */
sr_status srr_read_ref(const char *buf, size_t len, const char *name, const sr_read_opts *opts,
                       sr_log *out, sr_read_report *rep, sr_error *err);

/* What every reader does once all lines are read: the empty-result errors,
 * then the sessions cut from user streams (o->user_key). Frees *out on error. */
sr_status srr_finish(sr_log *out, const sr_read_opts *o, const sr_read_report *rr,
                     const char *name, sr_error *err);

/* Buffer sizes of the fast reader. The defaults suit big files; tests and fuzz
 * targets shrink them so that small inputs cross chunk and piece boundaries. */
typedef struct srr_tuning {
    size_t chunk_min;     /* first chunk (bytes); each next one is 4x, up to chunk_max */
    size_t chunk_max;
    size_t piece_min;     /* a chunk is split among threads only in pieces this big */
    size_t max_line;      /* buffered reading: a line without '\n' this long is bad */
    int buffered_mem;     /* read plain memory through the file path (copying) */
} srr_tuning;

srr_tuning srr_default_tuning(void);

/* sr_read_log_mem with explicit tuning (NULL = defaults). */
sr_status srr_read_mem_tuned(const char *buf, size_t len, const char *name,
                             const sr_read_opts *opts, const srr_tuning *tu, sr_log *out,
                             sr_read_report *rep, sr_error *err);


/* ---- calendar -------------------------------------------------------------------- */

static inline int srr_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline unsigned srr_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 ? 28u + (unsigned)srr_is_leap(y) : dim[m];
}

/* Days since 1970-01-01 of a valid proleptic Gregorian date (H. Hinnant). */
static inline int64_t srr_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

#define SRR_US_PER_DAY INT64_C(86400000000)

#endif
