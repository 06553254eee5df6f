/*
 * util.h - internal helpers shared by every part of the library: growable byte
 * buffers, CRC-32, an int64 -> int32 hash map, a seeded RNG, clocks and core counts. Nothing here prints or exits.
 */
#ifndef SR_UTIL_H
#define SR_UTIL_H

#include "sessrec.h"
#include <stdint.h>
#include <stdio.h>

/* ---- byte buffer ---------------------------------------------------------- */
typedef struct sr_buf {
    uint8_t *data;
    size_t len, cap;
    int oom;               /* set when a growth failed; later appends are no-ops */
} sr_buf;

void sr_buf_reserve(sr_buf *b, size_t extra);
void sr_buf_append(sr_buf *b, const void *p, size_t n);
void sr_buf_u32(sr_buf *b, uint32_t v);
void sr_buf_u64(sr_buf *b, uint64_t v);
void sr_buf_f32(sr_buf *b, float v);
void sr_buf_free(sr_buf *b);

/* Bounds-checked little-endian reader over a byte range. Any read past the end
 * sets `bad` and returns zeros, so parsers check `bad` once at the end. */
typedef struct sr_rd {
    const uint8_t *p;
    size_t len, off;
    int bad;
} sr_rd;
uint32_t sr_rd_u32(sr_rd *r);
uint64_t sr_rd_u64(sr_rd *r);
float sr_rd_f32(sr_rd *r);
/* Returns a pointer to n bytes in place (NULL and bad=1 if not available). */
const void *sr_rd_bytes(sr_rd *r, size_t n);

/* ---- checksums -------------------------------------------------------------- */
uint32_t sr_crc32(uint32_t crc, const void *data, size_t n);

/* ---- hash map int64 -> int32 (open addressing, linear probing) ------------ */
typedef struct sr_map {
    int64_t *keys;
    int32_t *vals;
    uint8_t *used;
    size_t cap, n;         /* cap is a power of two */
} sr_map;

sr_status sr_map_init(sr_map *m, size_t expected);
void sr_map_free(sr_map *m);
/* Returns the value for key, or -1. */
int32_t sr_map_get(const sr_map *m, int64_t key);
/* Inserts key with value v if absent; returns the value now stored, or -2 on OOM. */
int32_t sr_map_put(sr_map *m, int64_t key, int32_t v);

/* ---- text intern table: string -> dense index ----------------------------- */
/* Strings get indices 0, 1, ... in order of first insertion; the table keeps
 * their text as an sr_idtext (NUL-terminated, so ids must not contain NUL). */
typedef struct sr_intern {
    sr_idtext t;           /* owned; t.off has id_cap + 1 entries, t.off[t.n] = used bytes */
    size_t cap;            /* bytes allocated in t.text */
    int64_t id_cap;
    uint64_t *hash;        /* (id_cap) hash of each id (for growing the slots) */
    uint64_t *slot;        /* (nslot) (hash >> 32) << 32 | (id + 1); 0 = empty: a probe
                              compares the hash bits first and touches one array */
    size_t nslot;          /* a power of two */
} sr_intern;

uint64_t sr_hash_bytes(const void *p, size_t n);
/* Index of s[0..n), inserted if absent; -1 when out of memory (or more than
 * INT32_MAX - 1 strings). */
int64_t sr_intern_put(sr_intern *in, const char *s, size_t n);
/* The same with h = sr_hash_bytes(s, n) already known. */
int64_t sr_intern_put_h(sr_intern *in, const char *s, size_t n, uint64_t h);
/* Index of s[0..n), or -1 when absent. */
int64_t sr_intern_get(const sr_intern *in, const char *s, size_t n);
int64_t sr_intern_get_h(const sr_intern *in, const char *s, size_t n, uint64_t h);
/* Forgets every string, keeps the memory. */
void sr_intern_clear(sr_intern *in);
void sr_intern_free(sr_intern *in);
/* Moves the text table to *out (caller frees with sr_idtext_free) and empties in. */
sr_status sr_intern_take(sr_intern *in, sr_idtext *out);
void sr_idtext_free(sr_idtext *t);
/* A copy of the ids of t selected by idx (n of them; idx NULL = all n). */
sr_status sr_idtext_select(const sr_idtext *t, const int64_t *idx, int64_t n, sr_idtext *out);

/* ---- random numbers (xoshiro256**, seeded by splitmix64) ------------------- */
typedef struct sr_rng { uint64_t s[4]; } sr_rng;
void sr_rng_seed(sr_rng *r, uint64_t seed);
uint64_t sr_rng_next(sr_rng *r);
double sr_rng_uniform(sr_rng *r);        /* [0, 1) */
float sr_rng_uniformf(sr_rng *r);        /* [0, 1) */

/* ---- files ----------------------------------------------------------------- */
/* Atomic output files and folders: public, in sessrec.h (sr_atomic_*,
 * sr_outdir_*), implemented in fileio.c over the wrappers of fileio.h. */

/* ---- text ------------------------------------------------------------------ */
/* Writes v in decimal at w (no NUL) and returns the end: the fast path of the
 * writers of large text files (synth, TSV export). */
static inline char *sr_put_u64(char *w, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *w++ = tmp[--n];
    return w;
}

/* ---- misc ------------------------------------------------------------------ */
double sr_now(void);                     /* monotonic seconds */
int sr_ncores(void);
/* Memory for a large array (weights, their optimizer state, panels): n * size
 * bytes, zeroed when `zero`, freed with free(). From 2 MiB up it is aligned to
 * 2 MiB and advised to be backed by huge pages where Linux offers them
 * (transparent huge pages in "madvise" mode): the training step and the
 * server read rows of such arrays all over, and with 4 KiB pages most of
 * those reads also miss the TLB. NULL when out of memory or on overflow. */
void *sr_alloc_big(size_t n, size_t size, int zero);
/* sr_resolve_threads (<= 0 -> all cores) is public: sessrec.h */

#endif
