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

/* How the data lines of a file are laid out; made from the header (TSV,
 * DIGINETICA) or fixed (YOOCHOOSE). Owns nothing. */
typedef struct srr_layout {
    sr_format fmt;            /* never SR_FMT_AUTO */
    char delim;               /* ',' '\t' ';' */
    int ncols;                /* fields per data line */
    int col_session, col_item, col_time; /* TSV columns of the three keys */
    int has_header;
} srr_layout;

/* Guesses the format from the first line (without '\n'): a tab -> TSV, else
 * ';' -> DIGINETICA, else ',' -> YOOCHOOSE; SR_FMT_AUTO (and "<what> '<text>'"
 * in what) when none. */
sr_format srr_guess(const char *line, size_t len, char *what, size_t wcap);

/* Builds the layout of `fmt` (not AUTO). For formats with a header, `line`
 * (len bytes, no '\n') is the first line of the file; the keys come from opts
 * (NULL = defaults). On a bad header returns SR_ERR_PARSE and writes
 * "<what> '<text>'" into what; on bad opts returns SR_ERR_ARG. */
sr_status srr_layout_make(sr_format fmt, const sr_read_opts *opts, const char *line,
                          size_t len, srr_layout *lay, char *what, size_t wcap);

/* Reference parser of one data line (len bytes, without its '\n'; one trailing
 * '\r' is stripped). Returns 0 and the click, or -1 and "<what> '<text>'". */
int srr_parse_line(const srr_layout *lay, const char *line, size_t len, int64_t *session,
                   int64_t *item, int64_t *time_us, char *what, size_t wcap);

/* Writes a quoted-ready copy of s[0..n) into dst: printable ASCII as is, \t \r
 * \n as escapes, other bytes as \xHH, cut after SRR_TEXT_MAX characters with
 * "..." appended. Always NUL-terminates (cap > 0). */
void srr_escape(char *dst, size_t cap, const char *s, size_t n);

/* The end-of-input rule shared by all readers: a last line that is blank
 * ("" or "\r" before the final '\n', or a lone "\r" after it) is dropped.
 * Returns the number of bytes of buf[0..len) to keep; *add_nl = 1 when the kept
 * bytes do not end in '\n' (the reader then supplies one). */
size_t srr_eof_trim(const char *buf, size_t len, int *add_nl);

/* Reference reader: same contract, results, report and messages as
 * sr_read_log_mem, but simple (line by line with srr_parse_line, one thread)
 * and without gzip (returns SR_ERR_ARG for gzip data). For tests and fuzzing. */
sr_status srr_read_ref(const char *buf, size_t len, const char *name, const sr_read_opts *opts,
                       sr_log *out, sr_read_report *rep, sr_error *err);

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
