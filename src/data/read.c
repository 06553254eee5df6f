/*
 * data_read.c - click-log readers (public API of sessrec.h section 2): raw
 * YOOCHOOSE clicks, GRU4Rec TSV and DIGINETICA views, plain or gzip, from a
 * file or memory, parsed by several threads.
 *
 * Data flow: a source produces chunks of whole lines (file: read() into one of
 * two buffers, the next one filled by a producer thread while the current one
 * is parsed; gzip: inflate in streaming steps; plain memory: zero-copy slices).
 * A chunk is cut at newlines into one piece per thread; each thread parses its
 * piece with a fast fused parser that falls back to the reference parser
 * srr_parse_line (data_read_line.c) for any line it does not accept. Pieces
 * are then appended in order, so the result, the counts and the first error
 * (in file order) do not depend on the number of threads.
 *
 * Memory is bounded: two chunk buffers (~9 MB each: chunk_max + max_line) and per-thread piece
 * arrays besides the log itself. Must never print, exit, read outside its
 * buffers, or leave anything allocated in *out on failure.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise(MADV_POPULATE_WRITE) where Linux has it */
#include "data/read.h"
#include "util/parallel.h"
#include "util/util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#define IN_CAP ((size_t)1 << 20) /* compressed input buffer */
#define MAX_THREADS 64
#define PIECES_PER_THREAD 2      /* with 2+ threads; taken on demand: balance on a busy machine */

#if defined(__GNUC__)
#define SRR_INLINE static inline __attribute__((always_inline))
#define SRR_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SRR_INLINE static inline
#define SRR_UNLIKELY(x) (x)
#endif

/* ---- fast parsers ------------------------------------------------------------------------ */
/* Each takes p at a line start inside a piece (whole lines, SRR_PAD readable
 * bytes after its end), and returns the start of the next line with the click
 * filled in, or NULL when the line is not in the common shape (the caller then
 * asks srr_parse_line). They never step past the line's '\n': every byte they
 * move over was compared with something that is not '\n'. Reads of a few bytes
 * ahead stay within SRR_PAD and are used only after they are validated. */

typedef struct date_cache {
    uint64_t k8;    /* first 8 bytes of the last "YYYY-MM-DD" seen */
    uint16_t k2;    /* its last 2 bytes */
    int valid;
    int64_t day_us; /* its midnight in microseconds */
} date_cache;

static inline unsigned dig(char c) { return (unsigned)(unsigned char)c - '0'; }

/* 1-18 digits (no overflow possible); NULL otherwise. */
SRR_INLINE const char *fast_uint(const char *p, int64_t *v)
{
    unsigned d = dig(*p);
    if (d > 9)
        return NULL;
    const char *s = p;
    uint64_t x = d;
    p++;
    while ((d = dig(*p)) <= 9) {
        x = x * 10 + d;
        p++;
    }
    if (p - s > 18)
        return NULL;
    *v = (int64_t)x;
    return p;
}

/* "YYYY-MM-DD" at p -> midnight in microseconds; 0 when invalid. */
SRR_INLINE int fast_date(const char *p, date_cache *c, int64_t *day_us)
{
    uint64_t k8;
    uint16_t k2;
    memcpy(&k8, p, 8);
    memcpy(&k2, p + 8, 2);
    if (c->valid && k8 == c->k8 && k2 == c->k2) {
        *day_us = c->day_us;
        return 1;
    }
    unsigned y0 = dig(p[0]), y1 = dig(p[1]), y2 = dig(p[2]), y3 = dig(p[3]);
    unsigned m0 = dig(p[5]), m1 = dig(p[6]), d0 = dig(p[8]), d1 = dig(p[9]);
    if (!(y0 <= 9 && y1 <= 9 && y2 <= 9 && y3 <= 9 && p[4] == '-' && m0 <= 9 && m1 <= 9 &&
          p[7] == '-' && d0 <= 9 && d1 <= 9))
        return 0;
    unsigned y = y0 * 1000 + y1 * 100 + y2 * 10 + y3, m = m0 * 10 + m1, d = d0 * 10 + d1;
    if (m < 1 || m > 12 || d < 1 || d > srr_days_in_month(y, m))
        return 0;
    c->k8 = k8;
    c->k2 = k2;
    c->valid = 1;
    c->day_us = srr_days_from_civil(y, m, d) * SRR_US_PER_DAY;
    *day_us = c->day_us;
    return 1;
}

static const uint32_t pow10u[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};

/* Optional ".f{1,6}" at *pp -> microseconds in *frac (0 when absent); *pp moves
 * past it. 0 for a bare '.' or more than 6 digits. */
SRR_INLINE int fast_frac(const char **pp, uint32_t *frac)
{
    const char *p = *pp;
    uint32_t f = 0;
    if (*p == '.') {
        p++;
        int k = 0;
        unsigned d;
        while (k < 6 && (d = dig(*p)) <= 9) {
            f = f * 10 + d;
            p++;
            k++;
        }
        if (k == 0 || dig(*p) <= 9)
            return 0;
        f *= pow10u[k];
    }
    *pp = p;
    *frac = f;
    return 1;
}

/* SessionId,YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z,ItemId,Category */
SRR_INLINE const char *fast_yoochoose(const char *p, int64_t *s, int64_t *it, int64_t *t,
                                      date_cache *dc)
{
    int64_t day_us;
    if (!(p = fast_uint(p, s)) || *p != ',')
        return NULL;
    p++;
    if (!fast_date(p, dc, &day_us))
        return NULL;
    p += 10;
    if (p[0] != 'T' || p[3] != ':' || p[6] != ':')
        return NULL;
    unsigned h0 = dig(p[1]), h1 = dig(p[2]), i0 = dig(p[4]), i1 = dig(p[5]);
    unsigned s0 = dig(p[7]), s1 = dig(p[8]);
    if (!(h0 <= 9 && h1 <= 9 && i0 <= 9 && i1 <= 9 && s0 <= 9 && s1 <= 9))
        return NULL;
    unsigned hh = h0 * 10 + h1, mm = i0 * 10 + i1, ss = s0 * 10 + s1;
    if (hh > 23 || mm > 59 || ss > 59)
        return NULL;
    p += 9;
    uint32_t frac;
    if (!fast_frac(&p, &frac) || p[0] != 'Z' || p[1] != ',')
        return NULL;
    p += 2;
    *t = day_us + (int64_t)(hh * 3600 + mm * 60 + ss) * 1000000 + frac;
    if (!(p = fast_uint(p, it)) || *p != ',')
        return NULL;
    p++;
    if (*p == 'S') {
        p++;
    } else {
        const char *c = p;
        while (dig(*p) <= 9)
            p++;
        if (p == c || p - c > 19)
            return NULL;
    }
    if (*p == '\r')
        p++;
    return *p == '\n' ? p + 1 : NULL;
}

/* Epoch seconds: 1-12 digits, optional '.' and 1-6 digits. */
SRR_INLINE const char *fast_seconds(const char *p, int64_t *t)
{
    const char *s = p;
    uint64_t sec = 0;
    unsigned d;
    while ((d = dig(*p)) <= 9) {
        sec = sec * 10 + d;
        p++;
    }
    uint32_t frac;
    if (p == s || p - s > 12 || !fast_frac(&p, &frac))
        return NULL;
    *t = (int64_t)sec * 1000000 + frac;
    return p;
}

/* Epoch time of a delimited file in [p, e): 1-17 digits, optional '.' and
 * 1-6 digits (seconds only); the unit as srr_parse_time resolves it. */
SRR_INLINE int fast_epoch(const char *p, const char *e, sr_time_unit unit, int64_t *t)
{
    const char *s = p;
    uint64_t ip = 0;
    unsigned d;
    while (p < e && (d = dig(*p)) <= 9) {
        ip = ip * 10 + d;
        p++;
    }
    if (p == s || p - s > 17)
        return 0;
    if (unit == SR_UNIT_AUTO)
        unit = ip < UINT64_C(100000000000) ? SR_UNIT_S
               : ip < UINT64_C(100000000000000) ? SR_UNIT_MS : SR_UNIT_US;
    uint32_t frac = 0;
    if (p < e) {
        if (unit != SR_UNIT_S || !fast_frac(&p, &frac) || p != e)
            return 0;
    }
    uint64_t mult = unit == SR_UNIT_S ? 1000000u : unit == SR_UNIT_MS ? 1000u : 1u;
    if (ip > (uint64_t)INT64_MAX / mult - 1)
        return 0;
    *t = (int64_t)(ip * mult + frac);
    return 1;
}

/* "YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z| UTC]" exactly filling [p, e). */
SRR_INLINE int fast_datetime(const char *p, const char *e, date_cache *dc, int64_t *t)
{
    int64_t day_us;
    if (e - p < 19 || !fast_date(p, dc, &day_us))
        return 0;
    p += 10;
    if ((p[0] != 'T' && p[0] != ' ') || p[3] != ':' || p[6] != ':')
        return 0;
    unsigned h0 = dig(p[1]), h1 = dig(p[2]), i0 = dig(p[4]), i1 = dig(p[5]);
    unsigned s0 = dig(p[7]), s1 = dig(p[8]);
    if (!(h0 <= 9 && h1 <= 9 && i0 <= 9 && i1 <= 9 && s0 <= 9 && s1 <= 9))
        return 0;
    unsigned hh = h0 * 10 + h1, mm = i0 * 10 + i1, ss = s0 * 10 + s1;
    if (hh > 23 || mm > 59 || ss > 59)
        return 0;
    p += 9;
    uint32_t frac = 0;
    if (p < e && !fast_frac(&p, &frac))
        return 0;
    if (p < e && *p == 'Z')
        p++;
    else if (e - p >= 4 && memcmp(p, " UTC", 4) == 0)
        p += 4;
    if (p != e)
        return 0;
    *t = day_us + (int64_t)(hh * 3600 + mm * 60 + ss) * 1000000 + frac;
    return 1;
}

/* An integer id filling [p, e) exactly (1-18 digits). */
SRR_INLINE int fast_id(const char *p, const char *e, int64_t *v)
{
    const char *q = fast_uint(p, v);
    return q == e;
}

/* The code of a text item in a piece: -(g + 1) for an item the file's table
 * already has as g (most of them, once the catalogue has been seen: a lookup,
 * nothing to renumber), else its number in the piece's own table. Returns 0,
 * or -1 when out of memory. */
static inline int item_code(sr_intern *loc, const sr_intern *glob, const char *s, size_t n,
                            int64_t *code)
{
    uint64_t h = sr_hash_bytes(s, n);
    int64_t g = sr_intern_get_h(glob, s, n, h);
    if (g >= 0) {
        *code = -(g + 1);
        return 0;
    }
    *code = sr_intern_put_h(loc, s, n, h);
    return *code < 0 ? -1 : 0;
}

/* The last text session id seen in a piece and its number: a session's clicks
 * usually follow each other, so most lines skip the hash table. */
struct last_id {
    const char *s;
    size_t n;
    int64_t code;
};

/* What the fast delimited parser needs besides the layout (set up per piece). */
typedef struct delim_ctx {
    const srr_layout *lay;
    const unsigned char *roles;   /* (ncols) SRR_ROLE_* bits */
    const signed char *wslot;     /* (ncols) the filter on that column, or -1 */
    const int *wsrc;              /* (n_where) where filter w finds its field */
    sr_intern *sess, *items;      /* piece-local text ids */
    const sr_intern *gitems;      /* the file's text items so far (read only while
                                     pieces are parsed) */
    date_cache *dc;
    struct last_id *last;         /* the previous text session id (they come in runs) */
} delim_ctx;

/* One line of a delimited file without quotes at a field start. *filtered =
 * 1 when it fails a filter (then nothing else is set). */
SRR_INLINE const char *fast_delim(const char *p, const delim_ctx *x, int64_t *s, int64_t *it,
                                  int64_t *t, int *filtered)
{
    const srr_layout *lay = x->lay;
    const char delim = lay->delim;
    const int ncols = lay->ncols;
    const char *ks = NULL, *ke = NULL, *is = NULL, *ie = NULL, *ts = NULL, *te = NULL;
    const char *wf[SR_MAX_WHERE], *we[SR_MAX_WHERE];
    for (int c = 0; c < ncols; c++) {
        const char *f = p;
        if (*p == '"')
            return NULL;
        while (*p != delim && *p != '\n')
            p++;
        const char *e = p;
        if (c + 1 < ncols) {
            if (*p != delim)
                return NULL;
            p++;
        } else {
            if (*p != '\n')
                return NULL;
            if (e > f && e[-1] == '\r')
                e--;
        }
        unsigned r = x->roles[c];
        if (r) {
            if (r & SRR_ROLE_SESSION)
                ks = f, ke = e;
            if (r & SRR_ROLE_ITEM)
                is = f, ie = e;
            if (r & SRR_ROLE_TIME)
                ts = f, te = e;
            if (r & SRR_ROLE_WHERE)
                wf[x->wslot[c]] = f, we[x->wslot[c]] = e;
        }
    }
    for (int w = 0; w < lay->n_where; w++) {
        const int sw = x->wsrc[w];
        size_t l = (size_t)(we[sw] - wf[sw]);
        int ok = 0;
        for (int k = 0; k < lay->where_nv[w] && !ok; k++)
            ok = lay->where_vl[w][k] == l && memcmp(lay->where_v[w][k], wf[sw], l) == 0;
        if (!ok) {
            *filtered = 1;
            return p + 1;
        }
    }
    if (ke == ks || ie == is || te == ts) /* empty fields: the reference says so */
        return NULL;
    const int text = lay->text;
    if (!(text & SRR_TEXT_SESSION) && !fast_id(ks, ke, s))
        return NULL;
    if (!(text & SRR_TEXT_ITEM) && !fast_id(is, ie, it))
        return NULL;
    if (dig(*ts) <= 9 && !(te - ts >= 10 && ts[4] == '-')) {
        if (lay->tfmt == SR_TIME_DATETIME || !fast_epoch(ts, te, lay->tunit, t))
            return NULL;
    } else if (lay->tfmt == SR_TIME_EPOCH || !fast_datetime(ts, te, x->dc, t)) {
        return NULL;
    }
    /* text ids last: a line that turns out bad must not number its ids */
    if ((text & SRR_TEXT_SESSION) && memchr(ks, 0, (size_t)(ke - ks)))
        return NULL;
    if ((text & SRR_TEXT_ITEM) && memchr(is, 0, (size_t)(ie - is)))
        return NULL;
    if (text & SRR_TEXT_SESSION) {
        size_t sl = (size_t)(ke - ks);
        struct last_id *L = x->last;
        if (L->s && L->n == sl && memcmp(L->s, ks, sl) == 0) {
            *s = L->code;
        } else {
            if ((*s = sr_intern_put(x->sess, ks, sl)) < 0)
                return NULL;
            L->s = ks, L->n = sl, L->code = *s;
        }
    }
    if ((text & SRR_TEXT_ITEM) && item_code(x->items, x->gitems, is, (size_t)(ie - is), it) != 0)
        return NULL;
    return p + 1;
}

/* session_id;user_id;item_id;timeframe;eventdate, user_id NA, empty or digits. */
SRR_INLINE const char *fast_diginetica(const char *p, int64_t *s, int64_t *it, int64_t *t,
                                       date_cache *dc)
{
    int64_t tf, day_us;
    if (!(p = fast_uint(p, s)) || *p != ';')
        return NULL;
    p++;
    if (p[0] == 'N' && p[1] == 'A')
        p += 2;
    else
        while (dig(*p) <= 9)
            p++;
    if (*p != ';')
        return NULL;
    p++;
    if (!(p = fast_uint(p, it)) || *p != ';')
        return NULL;
    const char *q = ++p;
    if (!(p = fast_uint(p, &tf)) || *p != ';' || p - q > 12)
        return NULL;
    p++;
    if (!fast_date(p, dc, &day_us))
        return NULL;
    p += 10;
    *t = day_us + tf * 1000;
    if (*p == '\r')
        p++;
    return *p == '\n' ? p + 1 : NULL;
}

/* ---- pieces -------------------------------------------------------------------------------- */

typedef struct piece {
    /* in */
    const srr_layout *lay;
    const unsigned char *roles; /* (ncols) delimited: SRR_ROLE_* bits of each column */
    const signed char *wslot;   /* (ncols) delimited: filter of each column, or -1 */
    const int *wsrc;            /* (n_where) see reader.wsrc */
    const sr_intern *gitems;    /* the reader's text items (see item_code) */
    int skip;
    const char *p, *end;        /* the piece: whole lines */
    int64_t limit;              /* consume at most this many lines */
    sr_log *dst;                /* appended to (the output log for piece 0) */
    /* out */
    int64_t n0;                 /* dst->n before this piece */
    int64_t lines;              /* lines consumed (good + skipped + filtered) */
    int64_t bad, first_bad_idx; /* skipped lines; index of the first within the piece */
    int64_t filtered;           /* lines dropped by the filters */
    int stopped;                /* stopped at a bad line (index `lines`), not skipping */
    int need_text;              /* stopped there because an AUTO id column must be text */
    sr_status st;               /* SR_ERR_NOMEM only */
    char what[SRR_WHAT];        /* the first skipped line, or the error */
    /* state */
    sr_log own;
    date_cache dc;
    sr_intern sess, items;      /* text ids of this piece, numbered from 0 */
    char *scratch;              /* (scap) for srr_parse_line */
    size_t scap;
} piece;

SRR_INLINE void parse_loop(piece *w, const sr_format fmt)
{
    const char *p = w->p, *end = w->end;
    sr_log *d = w->dst;
    int64_t n = d->n, lines = 0;
    struct last_id last = {NULL, 0, 0};
    const delim_ctx x = {w->lay, w->roles,  w->wslot, w->wsrc, &w->sess,
                         &w->items, w->gitems, &w->dc,   &last};
    const int delimited = fmt == SR_FMT_TSV || fmt == SR_FMT_CSV;
    while (p < end && lines < w->limit) {
        int64_t s = 0, it = 0, t = 0;
        int filtered = 0;
        const char *q;
        if (fmt == SR_FMT_YOOCHOOSE)
            q = fast_yoochoose(p, &s, &it, &t, &w->dc);
        else if (delimited)
            q = fast_delim(p, &x, &s, &it, &t, &filtered);
        else
            q = fast_diginetica(p, &s, &it, &t, &w->dc);
        if (delimited && q && SRR_UNLIKELY((size_t)(q - p) > SRR_MAX_LINE + 1)) {
            q = NULL; /* ignored columns made it too long: the reference says so */
            filtered = 0;
        }
        if (SRR_UNLIKELY(!q)) {
            char what[SRR_WHAT];
            const char *e = memchr(p, '\n', (size_t)(end - p));
            size_t ll = (size_t)(e - p);
            if (ll + 1 > w->scap) {
                char *sc = realloc(w->scratch, ll + 1);
                if (!sc) {
                    w->st = SR_ERR_NOMEM;
                    break;
                }
                w->scratch = sc;
                w->scap = ll + 1;
            }
            srr_row row;
            int r = srr_parse_line(w->lay, p, ll, w->scratch, &row, what, sizeof what);
            if (r == -2) {
                w->stopped = 1;
                w->need_text = row.need_text;
                break;
            }
            if (r != 0) {
                if (!w->skip || w->bad == 0)
                    memcpy(w->what, what, sizeof what);
                if (!w->skip) {
                    w->stopped = 1;
                    break;
                }
                if (w->bad++ == 0)
                    w->first_bad_idx = lines;
                lines++;
                p = e + 1;
                continue;
            }
            q = e + 1;
            filtered = row.filtered;
            s = row.session, it = row.item, t = row.time;
            if (!filtered && (w->lay->text & SRR_TEXT_SESSION) &&
                (s = sr_intern_put(&w->sess, row.stext, row.slen)) < 0) {
                w->st = SR_ERR_NOMEM;
                break;
            }
            if (!filtered && (w->lay->text & SRR_TEXT_ITEM) &&
                item_code(&w->items, w->gitems, row.itext, row.ilen, &it) != 0) {
                w->st = SR_ERR_NOMEM;
                break;
            }
        }
        if (filtered) {
            w->filtered++;
            lines++;
            p = q;
            continue;
        }
        if (SRR_UNLIKELY(n == d->cap)) {
            d->n = n;
            if (srr_log_reserve(d, n + 1 + (end - q) / 32) != SR_OK) {
                w->st = SR_ERR_NOMEM;
                break;
            }
        }
        d->session[n] = s;
        d->item[n] = it;
        d->time[n] = t;
        n++;
        lines++;
        p = q;
    }
    d->n = n;
    w->lines = lines;
}

static void parse_piece(piece *w)
{
    w->n0 = w->dst->n;
    w->lines = w->bad = w->filtered = 0;
    w->first_bad_idx = -1;
    w->stopped = w->need_text = 0;
    w->st = SR_OK;
    sr_intern_clear(&w->sess);
    sr_intern_clear(&w->items);
    if (srr_log_reserve(w->dst, w->dst->n + (w->end - w->p) / 40 + 16) != SR_OK) {
        w->st = SR_ERR_NOMEM;
        return;
    }
    switch (w->lay->fmt) {
    case SR_FMT_YOOCHOOSE: parse_loop(w, SR_FMT_YOOCHOOSE); break;
    case SR_FMT_TSV: parse_loop(w, SR_FMT_TSV); break;
    case SR_FMT_CSV: parse_loop(w, SR_FMT_CSV); break;
    case SR_FMT_DIGINETICA: parse_loop(w, SR_FMT_DIGINETICA); break;
    case SR_FMT_AUTO: /* a layout always names the format it found (read.h) */
        assert(!"parse_piece: layout without a format");
        w->st = SR_ERR_ARG;
        break;
    }
}

/* ---- sources: chunks of whole lines ---------------------------------------------------------- */

typedef struct chunk {
    const char *p;   /* whole lines, each ending in '\n', SRR_PAD readable bytes after */
    size_t len;
    int overlong;    /* instead: a line with no '\n' in max_line bytes; p/len = its start */
} chunk;

typedef struct source {
    const char *name;
    srr_tuning tu;
    size_t cap;                      /* buffered: data capacity of each buffer */
    int fd;                          /* file, or -1 for memory */
    const unsigned char *mem;        /* memory input (plain or gzip) */
    size_t mem_len, mem_pos;
    /* buffered reading (files, gzip) */
    int gz;
    z_stream z;
    int z_live, z_member_end;
    unsigned char *in;               /* (IN_CAP) compressed input, or first bytes of a plain file */
    size_t pre_len, pre_pos;         /* plain file: bytes of `in` not yet delivered */
    char *buf[2];                    /* (cap + 1 + SRR_PAD) each: room for a final '\n' */
    size_t len[2], cut[2];           /* chunk = buf[i][0..cut[i]); carry = [cut[i], len[i]) */
    int cur, have;                   /* buffer of the current chunk; have: a chunk exists */
    int raw_eof, skipping, finished;
    /* plain memory, zero-copy */
    int zero_copy;
    size_t body_end;                 /* slices come from mem[0..body_end) */
    char *tail;                      /* (tail_len + 1 + SRR_PAD) the rest, padded */
    size_t tail_len;
    int tail_done;
    size_t want;                     /* size of the next chunk (ramps up) */
    int64_t bytes;                   /* uncompressed bytes produced */
    sr_status st;                    /* I/O or gzip failure */
    char msg[300];
    chunk next;                      /* produced by src_fill */
    int next_ok;                     /* 1: `next` is a chunk; 0: end of input or error */
} source;

static void src_fail(source *s, sr_status st, const char *what, const char *detail)
{
    if (s->st != SR_OK)
        return;
    s->st = st;
    snprintf(s->msg, sizeof s->msg, "%s: %s%s%s", s->name, what, detail ? ": " : "",
             detail ? detail : "");
}

/* One read() of at most n bytes; 0 at end of file, -1 on error. */
static ssize_t fd_read(source *s, void *dst, size_t n)
{
    for (;;) {
        ssize_t r = read(s->fd, dst, n);
        if (r >= 0)
            return r;
        if (errno != EINTR) {
            src_fail(s, SR_ERR_IO, "read failed", strerror(errno));
            return -1;
        }
    }
}

/* Makes at least `need` (1 or 2) compressed bytes available at z.next_in if
 * the input has them; returns how many are there (0: end), or -1 on error.
 * Memory input is fed in slices of at most 1 GiB (avail_in is 32-bit); the
 * slices are contiguous, so the bytes after a slice are at next_in too. */
static long gz_input(source *s, size_t need)
{
    if (s->fd < 0) {
        if (s->z.avail_in == 0 && s->mem_pos < s->mem_len) {
            size_t k = s->mem_len - s->mem_pos;
            if (k > ((size_t)1 << 30))
                k = (size_t)1 << 30;
            s->z.next_in = (unsigned char *)(uintptr_t)(s->mem + s->mem_pos);
            s->z.avail_in = (uInt)k;
            s->mem_pos += k;
        }
        size_t total = s->z.avail_in + (s->mem_len - s->mem_pos);
        return total > need ? (long)need : (long)total;
    }
    while (s->z.avail_in < need) {
        size_t have = s->z.avail_in;
        if (have)
            memmove(s->in, s->z.next_in, have);
        ssize_t r = fd_read(s, s->in + have, IN_CAP - have);
        if (r < 0)
            return -1;
        s->z.next_in = s->in;
        s->z.avail_in = (uInt)(have + (size_t)r);
        if (r == 0)
            break;
    }
    return (long)s->z.avail_in;
}

/* Inflates up to n bytes into dst; 0 at the end of the data, -1 on error. */
static ssize_t gz_read(source *s, char *dst, size_t n)
{
    s->z.next_out = (unsigned char *)dst;
    s->z.avail_out = (uInt)n;
    while (s->z.avail_out > 0) {
        if (s->z_member_end) { /* another member may follow (concatenated gzip) */
            long a = gz_input(s, 2);
            if (a < 0)
                return -1;
            if (a == 0) {
                s->raw_eof = 1;
                break;
            }
            if (a < 2 || s->z.next_in[0] != 0x1f || s->z.next_in[1] != 0x8b) {
                src_fail(s, SR_ERR_FORMAT, "trailing garbage after the gzip data", NULL);
                return -1;
            }
            if (inflateReset(&s->z) != Z_OK) {
                src_fail(s, SR_ERR_FORMAT, "corrupt gzip data", NULL);
                return -1;
            }
            s->z_member_end = 0;
        }
        long a = gz_input(s, 1);
        if (a < 0)
            return -1;
        if (a == 0) {
            src_fail(s, SR_ERR_FORMAT, "truncated gzip data", NULL);
            return -1;
        }
        uInt before_in = s->z.avail_in, before_out = s->z.avail_out;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            s->z_member_end = 1;
            continue;
        }
        if (rc == Z_BUF_ERROR && (s->z.avail_in != before_in || s->z.avail_out != before_out))
            continue;
        if (rc != Z_OK) {
            src_fail(s, SR_ERR_FORMAT, "corrupt gzip data",
                     s->z.msg ? s->z.msg : zError(rc));
            return -1;
        }
    }
    return (ssize_t)(n - s->z.avail_out);
}

/* Up to n uncompressed bytes into dst; 0 at the end, -1 on error. */
static ssize_t raw_read(source *s, char *dst, size_t n)
{
    if (s->gz)
        return gz_read(s, dst, n);
    if (s->fd < 0) { /* plain memory read like a file (tests) */
        size_t k = s->mem_len - s->mem_pos;
        if (k > n)
            k = n;
        memcpy(dst, s->mem + s->mem_pos, k);
        s->mem_pos += k;
        return (ssize_t)k;
    }
    if (s->pre_pos < s->pre_len) {
        size_t k = s->pre_len - s->pre_pos;
        if (k > n)
            k = n;
        memcpy(dst, s->in + s->pre_pos, k);
        s->pre_pos += k;
        return (ssize_t)k;
    }
    return fd_read(s, dst, n);
}

static size_t last_nl(const char *b, size_t len, int *found)
{
    size_t i = len;
    while (i > 0 && b[i - 1] != '\n')
        i--;
    *found = i > 0;
    return i; /* position after the last '\n' */
}

/* Buffered sources: produces s->next in buf[nxt] from the carry of the current
 * buffer plus new input. Runs in the producer thread while the current chunk
 * is parsed: it only reads buf[cur] past cut[cur] and writes buf[nxt]. */
static void fill_buffered(source *s)
{
    int nxt = s->have ? s->cur ^ 1 : 0;
    char *b = s->buf[nxt];
    size_t len = 0;
    s->next_ok = 0;
    memset(&s->next, 0, sizeof s->next);
    if (s->finished || s->st != SR_OK)
        return;
    if (s->have) {
        len = s->len[s->cur] - s->cut[s->cur];
        memmove(b, s->buf[s->cur] + s->cut[s->cur], len);
    }
    size_t target = len + s->want;
    if (target > s->cap)
        target = s->cap;
    s->want = s->want * 4 < s->tu.chunk_max ? s->want * 4 : s->tu.chunk_max;
    for (;;) {
        while (!s->raw_eof && (len < target || (s->skipping && len == 0))) {
            ssize_t r = raw_read(s, b + len, target > len ? target - len : s->cap - len);
            if (r < 0)
                return;
            if (r == 0)
                s->raw_eof = 1;
            len += (size_t)r;
            s->bytes += r;
        }
        memset(b + len, 0, SRR_PAD); /* the fast parsers may look a little past a line */
        if (s->skipping) { /* drop the rest of an overlong line */
            const char *e = memchr(b, '\n', len);
            if (!e) {
                len = 0;
                if (s->raw_eof) {
                    s->finished = 1;
                    return;
                }
                continue;
            }
            size_t k = (size_t)(e - b) + 1;
            memmove(b, b + k, len - k);
            len -= k;
            s->skipping = 0;
            continue;
        }
        if (s->raw_eof) {
            int add_nl;
            size_t keep = srr_eof_trim(b, len, &add_nl);
            s->finished = 1;
            if (keep == 0)
                return;
            if (add_nl)
                b[keep++] = '\n';
            memset(b + keep, 0, SRR_PAD); /* keep <= cap + 1: the buffers have room */
            s->len[nxt] = s->cut[nxt] = keep;
            s->next.p = b;
            s->next.len = keep;
            s->next_ok = 1;
            return;
        }
        int found;
        size_t cut = last_nl(b, len, &found);
        if (found && cut == len) {
            /* hold back a final blank line: it is fine only if nothing follows */
            size_t e = cut - 1;
            if (e == 0 || b[e - 1] == '\n')
                cut = e;
            else if (b[e - 1] == '\r' && (e == 1 || b[e - 2] == '\n'))
                cut = e - 1;
        }
        if (!found && len > s->tu.max_line) {
            s->skipping = 1;
            s->len[nxt] = s->cut[nxt] = 0;
            s->next.p = b;
            s->next.len = len < SRR_TEXT_MAX + 1 ? len : SRR_TEXT_MAX + 1;
            s->next.overlong = 1;
            s->next_ok = 1;
            return;
        }
        if (cut == 0) { /* no complete line yet: read more */
            target = len + s->want;
            if (target > s->cap)
                target = s->cap;
            continue;
        }
        s->len[nxt] = len;
        s->cut[nxt] = cut;
        s->next.p = b;
        s->next.len = cut;
        s->next_ok = 1;
        return;
    }
}

/* Plain memory: zero-copy slices of whole lines, then the padded tail. */
static void fill_mem(source *s)
{
    s->next_ok = 0;
    memset(&s->next, 0, sizeof s->next);
    if (s->mem_pos < s->body_end) {
        size_t end = s->mem_pos + s->want;
        s->want = s->want * 4 < s->tu.chunk_max ? s->want * 4 : s->tu.chunk_max;
        if (end >= s->body_end) {
            end = s->body_end;
        } else {
            const char *e = memchr(s->mem + end - 1, '\n', s->body_end - (end - 1));
            end = (size_t)(e - (const char *)s->mem) + 1; /* body_end - 1 is a '\n' */
        }
        s->next.p = (const char *)s->mem + s->mem_pos;
        s->next.len = end - s->mem_pos;
        s->mem_pos = end;
        s->next_ok = 1;
        return;
    }
    if (!s->tail_done && s->tail_len > 0) {
        s->tail_done = 1;
        s->next.p = s->tail;
        s->next.len = s->tail_len;
        s->next_ok = 1;
    }
}

static void src_fill(source *s)
{
    if (s->zero_copy)
        fill_mem(s);
    else
        fill_buffered(s);
}


/* Makes s->next the current chunk. */
static void src_advance(source *s)
{
    if (!s->zero_copy && s->next_ok) {
        s->cur = s->have ? s->cur ^ 1 : 0;
        s->have = 1;
    }
}

static void src_close(source *s)
{
    if (s->z_live)
        inflateEnd(&s->z);
    if (s->fd >= 0)
        close(s->fd);
    free(s->in);
    free(s->buf[0]);
    free(s->buf[1]);
    free(s->tail);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

static sr_status src_start_buffered(source *s, int gz)
{
    s->cap = s->tu.chunk_max + s->tu.max_line + 16;
    s->buf[0] = malloc(s->cap + 1 + SRR_PAD);
    s->buf[1] = malloc(s->cap + 1 + SRR_PAD);
    if (!s->buf[0] || !s->buf[1]) {
        src_fail(s, SR_ERR_NOMEM, "out of memory", NULL);
        return SR_ERR_NOMEM;
    }
    if (gz) {
        s->gz = 1;
        if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
            src_fail(s, SR_ERR_NOMEM, "cannot start zlib", NULL);
            return SR_ERR_NOMEM;
        }
        s->z_live = 1;
    }
    return SR_OK;
}

static sr_status src_open_file(source *s, const char *path, const srr_tuning *tu)
{
    memset(s, 0, sizeof *s);
    s->name = path;
    s->tu = *tu;
    s->want = tu->chunk_min;
    s->fd = open(path, O_RDONLY);
    if (s->fd < 0) {
        src_fail(s, SR_ERR_IO, "cannot open", strerror(errno));
        return s->st;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    s->in = malloc(IN_CAP);
    if (!s->in) {
        src_fail(s, SR_ERR_NOMEM, "out of memory", NULL);
        return s->st;
    }
    /* sniff the magic from the first bytes (works on pipes too) */
    size_t got = 0;
    while (got < 2) {
        ssize_t r = fd_read(s, s->in + got, IN_CAP - got);
        if (r < 0)
            return s->st;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    int gz = got >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (src_start_buffered(s, gz) != SR_OK)
        return s->st;
    if (gz) {
        s->z.next_in = s->in;
        s->z.avail_in = (uInt)got;
    } else {
        s->pre_len = got;
    }
    return SR_OK;
}

static sr_status src_open_mem(source *s, const char *buf, size_t len, const char *name,
                              const srr_tuning *tu)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->name = name;
    s->tu = *tu;
    s->want = tu->chunk_min;
    s->mem = (const unsigned char *)buf;
    s->mem_len = len;
    if (len >= 2 && s->mem[0] == 0x1f && s->mem[1] == 0x8b)
        return src_start_buffered(s, 1);
    if (tu->buffered_mem)
        return src_start_buffered(s, 0);
    s->zero_copy = 1;
    s->bytes = (int64_t)len;
    int add_nl;
    size_t keep = srr_eof_trim(buf, len, &add_nl);
    /* body: whole lines with at least SRR_PAD bytes of the buffer after them */
    size_t lim = len > SRR_PAD ? len - SRR_PAD : 0;
    if (lim > keep)
        lim = keep;
    int found;
    s->body_end = last_nl(buf, lim, &found);
    s->tail_len = keep - s->body_end + (size_t)add_nl;
    if (s->tail_len > 0) {
        s->tail = malloc(s->tail_len + SRR_PAD);
        if (!s->tail) {
            src_fail(s, SR_ERR_NOMEM, "out of memory", NULL);
            return s->st;
        }
        memcpy(s->tail, buf + s->body_end, keep - s->body_end);
        if (add_nl)
            s->tail[s->tail_len - 1] = '\n';
        memset(s->tail + s->tail_len, 0, SRR_PAD);
    }
    return SR_OK;
}

/* ---- the reader: chunks -> pieces -> the log ------------------------------------------------ */

typedef struct reader {
    const char *name;
    const srr_tuning *tu;
    sr_read_opts o;
    int nthreads;
    int max_pieces;          /* PIECES_PER_THREAD * nthreads (1 for one thread) */
    piece *pc;               /* (max_pieces) the pieces of the current chunk */
    int npieces;
    srr_layout lay;
    int text_cols;           /* SRR_TEXT_* bits: id columns to read as text */
    unsigned char *roles;    /* (lay.ncols) delimited: SRR_ROLE_* bits of each column */
    signed char *wslot;      /* (lay.ncols) delimited: filter of each column, or -1 */
    int wsrc[SR_MAX_WHERE];  /* filter w reads the extent recorded for filter wsrc[w] */
    int ready;               /* format and header known */
    int started;             /* the first chunk was seen (BOM skipped) */
    int need_text;           /* stopped: these AUTO id columns must be read as text */
    sr_intern sess, items;   /* text ids of the whole file, in order of appearance */
    int64_t filtered;
    sr_log *out;
    int64_t populated;       /* out's arrays are prefaulted up to this many clicks */
    int64_t line_no;         /* lines consumed, header included */
    int64_t data_lines, bad;
    char first_bad[sizeof(((sr_read_report *)0)->first_bad)];
    int got_chunk, done;
    sr_status st;
    sr_error *err;
} reader;

/* Task `task` of sr_parallel_for: parse piece `task`. Threads take the next
 * piece as they become free, so a thread that the (shared, busy) machine slows
 * down simply parses fewer pieces. */
static void piece_task(int task, int thread, void *ud)
{
    (void)thread;
    parse_piece(&((reader *)ud)->pc[task]);
}

static void rd_error(reader *r, sr_status st, int64_t line, const char *what)
{
    r->st = st;
    if (line > 0)
        sr_error_set(r->err, st, "%s:%lld: %.200s", r->name, (long long)line, what);
    else
        sr_error_set(r->err, st, "%s: %s", r->name, what);
}

static int rd_layout(reader *r, sr_format fmt, const char *line, size_t len)
{
    char what[SRR_WHAT];
    sr_status st = srr_layout_make(fmt, &r->o, r->text_cols, line, len, &r->lay, what,
                                   sizeof what);
    if (st == SR_OK && r->o.user_key && r->lay.fmt != SR_FMT_TSV && r->lay.fmt != SR_FMT_CSV) {
        snprintf(what, sizeof what, "a user column (--user-key) needs a delimited file with a "
                                    "header, not %s", sr_format_name(r->lay.fmt));
        st = SR_ERR_ARG;
    }
    if (st != SR_OK) {
        rd_error(r, st, st == SR_ERR_PARSE ? 1 : 0, what);
        return -1;
    }
    if (r->lay.fmt == SR_FMT_TSV || r->lay.fmt == SR_FMT_CSV) {
        const srr_layout *L = &r->lay;
        r->roles = calloc((size_t)L->ncols, 1);
        r->wslot = malloc((size_t)L->ncols);
        if (!r->roles || !r->wslot) {
            rd_error(r, SR_ERR_NOMEM, 0, "out of memory");
            return -1;
        }
        memset(r->wslot, -1, (size_t)L->ncols);
        r->roles[L->col_session] |= SRR_ROLE_SESSION;
        r->roles[L->col_item] |= SRR_ROLE_ITEM;
        r->roles[L->col_time] |= SRR_ROLE_TIME;
        for (int w = 0; w < L->n_where; w++) {
            int c = L->where_col[w];
            r->roles[c] |= SRR_ROLE_WHERE;
            if (r->wslot[c] < 0)
                r->wslot[c] = (signed char)w;
            r->wsrc[w] = r->wslot[c]; /* two filters on one column share its extent */
        }
    }
    r->ready = 1;
    return 0;
}

/* First line of the input: guess the format, read the header. */
static int rd_setup(reader *r, const char **pp, const char *end)
{
    const char *p = *pp;
    const char *e = memchr(p, '\n', (size_t)(end - p));
    size_t l0 = (size_t)(e - p);
    sr_format fmt = r->o.format;
    if (fmt == SR_FMT_AUTO) {
        char what[SRR_WHAT];
        fmt = srr_guess(p, l0, what, sizeof what);
        if (fmt == SR_FMT_AUTO) {
            rd_error(r, SR_ERR_PARSE, 1, what);
            return -1;
        }
        fmt = srr_guess_delimited(fmt, &r->o);
    }
    if (rd_layout(r, fmt, p, l0) != 0)
        return -1;
    if (r->lay.has_header) {
        *pp = e + 1;
        r->line_no = 1;
    }
    return 0;
}

static int rd_append(sr_log *out, const sr_log *src)
{
    if (src->n == 0)
        return 0;
    if (srr_log_reserve(out, out->n + src->n) != SR_OK)
        return -1;
    size_t b = (size_t)src->n * sizeof(int64_t);
    memcpy(out->session + out->n, src->session, b);
    memcpy(out->item + out->n, src->item, b);
    memcpy(out->time + out->n, src->time, b);
    out->n += src->n;
    return 0;
}

/* The piece's text ids, numbered from 0 within the piece, get their numbers
 * in the whole file (pieces are merged in file order, so a number is the
 * position of the id's first appearance, as in the reference reader). */
static int renumber(reader *r, piece *w)
{
    sr_log *d = w->dst;
    int64_t from = d == r->out ? w->n0 : 0;
    for (int k = 0; k < 2; k++) {
        int bit = k == 0 ? SRR_TEXT_SESSION : SRR_TEXT_ITEM;
        if (!(r->lay.text & bit))
            continue;
        sr_intern *loc = k == 0 ? &w->sess : &w->items, *glob = k == 0 ? &r->sess : &r->items;
        int64_t nl = loc->t.n;
        if (nl == 0)
            continue; /* (items: all of them may be codes of the file's table) */
        int64_t *map = malloc((size_t)nl * sizeof *map);
        if (!map)
            return -1;
        for (int64_t j = 0; j < nl; j++) {
            const char *t = loc->t.text + loc->t.off[j];
            map[j] = sr_intern_put_h(glob, t, (size_t)(loc->t.off[j + 1] - loc->t.off[j] - 1),
                                     loc->hash[j]);
            if (map[j] < 0) {
                free(map);
                return -1;
            }
        }
        int64_t *col = k == 0 ? d->session : d->item;
        for (int64_t i = from; i < d->n; i++)
            if (col[i] >= 0)
                col[i] = map[col[i]];
        free(map);
    }
    if (r->lay.text & SRR_TEXT_ITEM) /* items the file's table had when parsed */
        for (int64_t i = from; i < d->n; i++)
            if (d->item[i] < 0)
                d->item[i] = -d->item[i] - 1;
    return 0;
}

/* Counts n skipped lines, the first of them at `line` (what: its message). */
static void rd_bad_lines(reader *r, int64_t n, int64_t line, const char *what)
{
    if (r->bad == 0)
        snprintf(r->first_bad, sizeof r->first_bad, "%s:%lld: %.200s", r->name, (long long)line, what);
    r->bad += n;
}

static void populate(void *base, size_t from, size_t to)
{
#if defined(MADV_POPULATE_WRITE)
    const uintptr_t pg = 4096;
    uintptr_t a = ((uintptr_t)base + from + pg - 1) & ~(pg - 1);
    uintptr_t b = ((uintptr_t)base + to) & ~(pg - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_POPULATE_WRITE); /* advice: failure is harmless */
#else
    (void)base, (void)from, (void)to;
#endif
}

static int prefault_out(reader *r, int64_t need)
{
    sr_log *o = r->out;
    if (need <= r->populated)
        return 1;
    if (need > o->cap && srr_log_reserve(o, need) != SR_OK) {
        rd_error(r, SR_ERR_NOMEM, 0, "out of memory");
        return 0;
    }
    int64_t from = r->populated > o->n ? r->populated : o->n;
    size_t f = (size_t)from * sizeof(int64_t), t = (size_t)need * sizeof(int64_t);
    if (t - f >= ((size_t)1 << 20)) { /* small logs: not worth a system call */
        populate(o->session, f, t);
        populate(o->item, f, t);
        populate(o->time, f, t);
        r->populated = need;
    }
    return 1;
}

static void rd_chunk(reader *r, const chunk *c)
{
    if (c->overlong) {
        char esc[SRR_TEXT_MAX + 8], what[SRR_WHAT];
        srr_escape(esc, sizeof esc, c->p, c->len);
        snprintf(what, sizeof what, "line too long (more than %zu bytes) '%s'", r->tu->max_line,
                 esc);
        r->line_no++;
        if (!r->ready || !r->o.skip_bad_lines) {
            r->data_lines += r->ready;
            rd_error(r, SR_ERR_PARSE, r->line_no, what);
            return;
        }
        r->data_lines++;
        rd_bad_lines(r, 1, r->line_no, what);
        if (r->o.nrows > 0 && r->data_lines >= r->o.nrows)
            r->done = 1;
        return;
    }
    const char *p = c->p, *end = c->p + c->len;
    if (!r->started) {
        r->started = 1;
        p += srr_bom(p, c->len);
    }
    if (!r->ready && rd_setup(r, &p, end) != 0)
        return;
    if (p == end)
        return;

    /* Prefault the output for this chunk in one call per array: page faults
     * taken one by one cost about as much as the parsing itself. */
    if (!prefault_out(r, r->out->n + (int64_t)((size_t)(end - p) / 24) + 64))
        return;

    /* cut the chunk at newlines into pieces (a few per thread) */
    const int64_t budget = r->o.nrows > 0 ? r->o.nrows - r->data_lines : INT64_MAX;
    size_t n = (size_t)(end - p);
    int k = r->max_pieces;
    if ((size_t)k > n / r->tu->piece_min)
        k = (int)(n / r->tu->piece_min);
    if (k < 1)
        k = 1;
    const char *b = p;
    for (int i = 0; i < k; i++) {
        piece *w = &r->pc[i];
        w->lay = &r->lay;
        w->roles = r->roles;
        w->wslot = r->wslot;
        w->wsrc = r->wsrc;
        w->gitems = &r->items;
        w->skip = r->o.skip_bad_lines;
        w->limit = budget;
        w->p = b;
        if (i == k - 1) {
            w->end = end;
        } else {
            const char *m = p + n / (size_t)k * (size_t)(i + 1) - 1;
            if (m < b)
                m = b;
            /* end[-1] is a '\n'; earlier pieces may have taken everything (long lines) */
            const char *e = m < end ? memchr(m, '\n', (size_t)(end - m)) : NULL;
            w->end = e ? e + 1 : end;
        }
        b = w->end;
        w->own.n = 0;
        w->dst = i == 0 ? r->out : &w->own;
    }
    r->npieces = k;
    sr_parallel_for(k, r->nthreads, piece_task, r);

    /* merge in file order */
    for (int i = 0; i < k; i++) {
        piece *w = &r->pc[i];
        int64_t left = r->o.nrows > 0 ? r->o.nrows - r->data_lines : INT64_MAX;
        if (w->st == SR_OK && w->lines + w->stopped > left) {
            /* the row limit falls inside this piece: parse it again, only that far */
            w->dst->n = w->n0;
            w->limit = left;
            parse_piece(w);
        }
        if (w->st != SR_OK || (r->lay.text && renumber(r, w) != 0) ||
            (i > 0 && rd_append(r->out, &w->own) != 0)) {
            rd_error(r, SR_ERR_NOMEM, 0, "out of memory");
            return;
        }
        if (w->bad)
            rd_bad_lines(r, w->bad, r->line_no + w->first_bad_idx + 1, w->what);
        r->line_no += w->lines;
        r->data_lines += w->lines;
        r->filtered += w->filtered;
        if (w->need_text) {
            r->need_text = w->need_text;
            r->done = 1;
            return;
        }
        if (w->stopped) {
            r->data_lines++;
            rd_error(r, SR_ERR_PARSE, r->line_no + 1, w->what);
            return;
        }
        if (r->o.nrows > 0 && r->data_lines >= r->o.nrows) {
            r->done = 1;
            return;
        }
    }
}

/* A round of read_run: task 0 parses the current chunk, task 1 fills the
 * next. When they do not overlap (one thread, or memory input) the fill runs
 * after the parse and only when the parse wants more. */
typedef struct read_round {
    reader *r;
    source *src;
    const chunk *c;
    int overlap;
} read_round;

static void round_task(int task, int thread, void *ud)
{
    (void)thread;
    read_round *w = ud;
    if (task == 0)
        rd_chunk(w->r, w->c);
    else if (w->overlap || (w->r->st == SR_OK && !w->r->done))
        src_fill(w->src);
}

/* One pass over the source with the given text columns. Returns with *need
 * != 0 (and nothing in *out) when an AUTO id column met a non-integer: the
 * caller then reads again with those columns as text. */
static sr_status read_run(source *src, const sr_read_opts *opts, int text_cols, int *need,
                          sr_log *out, sr_read_report *rep, sr_error *err)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.text_cols = text_cols;
    *need = 0;
    r.name = src->name;
    r.tu = &src->tu;
    r.o = opts ? *opts : sr_read_default_opts();
    r.out = out;
    r.err = err;
    r.nthreads = sr_resolve_threads(r.o.threads);
    if (r.nthreads > MAX_THREADS)
        r.nthreads = MAX_THREADS;
    r.max_pieces = r.nthreads > 1 ? PIECES_PER_THREAD * r.nthreads : 1;
    if (src->st != SR_OK) {
        sr_error_set(err, src->st, "%s", src->msg);
        r.st = src->st;
    } else if (r.o.user_key && !(r.o.session_gap >= 0 && r.o.session_gap <= 1e12)) {
        sr_error_set(err, SR_ERR_ARG, "%s: session gap must be in [0, 1e12] seconds, got %g",
                     r.name, r.o.session_gap);
        r.st = SR_ERR_ARG;
    } else if ((unsigned)r.o.format > SR_FMT_CSV) {
        char what[64];
        snprintf(what, sizeof what, "unknown input format %d", (int)r.o.format);
        rd_error(&r, SR_ERR_ARG, 0, what);
    } else if (!(r.pc = calloc((size_t)r.max_pieces, sizeof *r.pc))) {
        rd_error(&r, SR_ERR_NOMEM, 0, "out of memory");
    } else if (r.o.format == SR_FMT_YOOCHOOSE) {
        rd_layout(&r, SR_FMT_YOOCHOOSE, "", 0);
    }
    if (r.st == SR_OK)
        src_fill(src); /* the first chunk */
    const int producer = r.nthreads > 1 && !src->zero_copy;
    while (r.st == SR_OK && src->st == SR_OK && src->next_ok && !r.done) {
        src_advance(src);
        chunk c = src->next;
        r.got_chunk = 1;
        /* One round, two tasks side by side: parse this chunk (fanning out
         * itself) while the next one is read into the other buffer. */
        read_round w = {&r, src, &c, producer && !src->finished};
        sr_parallel_for(2, w.overlap ? 2 : 1, round_task, &w);
    }
    if (r.st == SR_OK && src->st != SR_OK) {
        r.st = src->st;
        sr_error_set(err, src->st, "%s", src->msg);
    }
    sr_read_report rr;
    memset(&rr, 0, sizeof rr);
    rr.format = r.ready ? r.lay.fmt : r.o.format;
    rr.lines = r.data_lines;
    rr.bad_lines = r.bad;
    memcpy(rr.first_bad, r.first_bad, sizeof rr.first_bad);
    rr.bytes = src->bytes;
    rr.filtered = r.filtered;
    if (r.ready && r.lay.has_header && r.lay.fmt != SR_FMT_DIGINETICA)
        rr.delimiter = r.lay.delim;
    rr.text_sessions = r.ready && (r.lay.text & SRR_TEXT_SESSION) != 0;
    rr.text_items = r.ready && (r.lay.text & SRR_TEXT_ITEM) != 0;
    if (r.st == SR_OK && r.need_text) {
        *need = r.need_text;
        sr_log_free(out);
    } else if (r.st == SR_OK && !r.got_chunk) {
        r.st = sr_error_set(err, SR_ERR_EMPTY, "%s: empty file", r.name);
    } else if (r.st == SR_OK) {
        if (out->n > 0 && (r.lay.text & SRR_TEXT_ITEM) &&
            sr_intern_take(&r.items, &out->item_text) != SR_OK)
            r.st = sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", r.name);
        else
            r.st = srr_finish(out, &r.o, &rr, r.name, err);
    }
    if (rep)
        *rep = rr;
    for (int i = 0; r.pc && i < r.max_pieces; i++) {
        sr_log_free(&r.pc[i].own);
        sr_intern_free(&r.pc[i].sess);
        sr_intern_free(&r.pc[i].items);
        free(r.pc[i].scratch);
    }
    sr_intern_free(&r.sess);
    sr_intern_free(&r.items);
    free(r.pc);
    free(r.roles);
    free(r.wslot);
    if (r.st != SR_OK)
        sr_log_free(out);
    return r.st;
}

sr_status sr_read_log(const char *path, const sr_read_opts *opts, sr_log *out,
                      sr_read_report *rep, sr_error *err)
{
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!out)
        return sr_error_set(err, SR_ERR_ARG, "sr_read_log: no output log");
    memset(out, 0, sizeof *out);
    if (!path)
        return sr_error_set(err, SR_ERR_ARG, "sr_read_log: no path");
    srr_tuning tu = srr_default_tuning();
    int text_cols = 0, need;
    for (;;) { /* at most three passes: each new one reads one more column as text */
        source src;
        src_open_file(&src, path, &tu);
        sr_status st = read_run(&src, opts, text_cols, &need, out, rep, err);
        src_close(&src);
        if (!need)
            return st;
        text_cols |= need;
    }
}

srr_tuning srr_default_tuning(void)
{
    srr_tuning t;
    memset(&t, 0, sizeof t);
    t.chunk_min = (size_t)64 << 10; /* first chunk small: nrows and headers are cheap */
    t.chunk_max = (size_t)8 << 20;  /* chunks grow x4 up to this */
    t.piece_min = (size_t)128 << 10;
    t.max_line = SRR_MAX_LINE;
    return t;
}

sr_status srr_read_mem_tuned(const char *buf, size_t len, const char *name,
                             const sr_read_opts *opts, const srr_tuning *tu, sr_log *out,
                             sr_read_report *rep, sr_error *err)
{
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!out)
        return sr_error_set(err, SR_ERR_ARG, "sr_read_log_mem: no output log");
    memset(out, 0, sizeof *out);
    if (!buf && len)
        return sr_error_set(err, SR_ERR_ARG, "sr_read_log_mem: no buffer");
    srr_tuning t = tu ? *tu : srr_default_tuning();
    if (t.chunk_min < 1)
        t.chunk_min = 1;
    if (t.chunk_max < t.chunk_min)
        t.chunk_max = t.chunk_min;
    if (t.piece_min < 1)
        t.piece_min = 1;
    if (t.max_line < 1)
        t.max_line = 1;
    int text_cols = 0, need;
    for (;;) {
        source src;
        src_open_mem(&src, buf ? buf : "", len, name ? name : "<memory>", &t);
        sr_status st = read_run(&src, opts, text_cols, &need, out, rep, err);
        src_close(&src);
        if (!need)
            return st;
        text_cols |= need;
    }
}

sr_status sr_read_log_mem(const char *buf, size_t len, const char *name,
                          const sr_read_opts *opts, sr_log *out, sr_read_report *rep,
                          sr_error *err)
{
    return srr_read_mem_tuned(buf, len, name, opts, NULL, out, rep, err);
}
