/*
 * util.c - shared internal helpers (see util.h). Must never print or exit.
 */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#define _POSIX_C_SOURCE 200809L
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- errors ---------------------------------------------------------------- */

sr_status sr_error_set(sr_error *err, sr_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

const char *sr_status_name(sr_status st)
{
    switch (st) {
    case SR_OK: return "ok";
    case SR_ERR_IO: return "i/o error";
    case SR_ERR_PARSE: return "parse error";
    case SR_ERR_FORMAT: return "bad file format";
    case SR_ERR_ARG: return "bad argument";
    case SR_ERR_NOMEM: return "out of memory";
    case SR_ERR_EMPTY: return "empty input";
    case SR_ERR_NUMERIC: return "numeric error";
    }
    return "unknown status";
}

/* ---- byte buffer ------------------------------------------------------------- */

void sr_buf_reserve(sr_buf *b, size_t extra)
{
    if (b->oom || b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->data = p;
    b->cap = cap;
}

void sr_buf_append(sr_buf *b, const void *p, size_t n)
{
    sr_buf_reserve(b, n);
    if (b->oom)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void sr_buf_u32(sr_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    sr_buf_append(b, x, 4);
}

void sr_buf_u64(sr_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    sr_buf_append(b, x, 8);
}

void sr_buf_f32(sr_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    sr_buf_u32(b, u);
}

void sr_buf_free(sr_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

const void *sr_rd_bytes(sr_rd *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = 1;
        return NULL;
    }
    const void *p = r->p + r->off;
    r->off += n;
    return p;
}

uint32_t sr_rd_u32(sr_rd *r)
{
    const uint8_t *x = sr_rd_bytes(r, 4);
    if (!x)
        return 0;
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

uint64_t sr_rd_u64(sr_rd *r)
{
    uint64_t lo = sr_rd_u32(r);
    uint64_t hi = sr_rd_u32(r);
    return lo | hi << 32;
}

float sr_rd_f32(sr_rd *r)
{
    uint32_t u = sr_rd_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- CRC-32 (IEEE): zlib's, which is table-sliced and several times faster
 * than a byte-at-a-time loop; the test checks the standard check value. ---- */

uint32_t sr_crc32(uint32_t crc, const void *data, size_t n)
{
    return (uint32_t)crc32_z(crc, data, (z_size_t)n);
}

/* ---- hash map ------------------------------------------------------------------ */

static inline size_t hash64(int64_t k)
{
    uint64_t x = (uint64_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x;
}

sr_status sr_map_init(sr_map *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    memset(m, 0, sizeof *m);
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->used = calloc(cap, 1);
    if (!m->keys || !m->vals || !m->used) {
        sr_map_free(m);
        return SR_ERR_NOMEM;
    }
    m->cap = cap;
    return SR_OK;
}

void sr_map_free(sr_map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}

int32_t sr_map_get(const sr_map *m, int64_t key)
{
    if (!m->cap)
        return -1;
    size_t mask = m->cap - 1, i = hash64(key) & mask;
    while (m->used[i]) {
        if (m->keys[i] == key)
            return m->vals[i];
        i = (i + 1) & mask;
    }
    return -1;
}

static int map_grow(sr_map *m)
{
    sr_map bigger;
    if (sr_map_init(&bigger, m->cap) != SR_OK)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i])
            sr_map_put(&bigger, m->keys[i], m->vals[i]);
    sr_map_free(m);
    *m = bigger;
    return 0;
}

int32_t sr_map_put(sr_map *m, int64_t key, int32_t v)
{
    if (!m->cap && sr_map_init(m, 16) != SR_OK)
        return -2;
    if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
        return -2;
    size_t mask = m->cap - 1, i = hash64(key) & mask;
    while (m->used[i]) {
        if (m->keys[i] == key)
            return m->vals[i];
        i = (i + 1) & mask;
    }
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = v;
    m->n++;
    return v;
}

/* ---- RNG --------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sr_rng_seed(sr_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sr_rng_next(sr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sr_rng_uniform(sr_rng *r) { return (double)(sr_rng_next(r) >> 11) * 0x1.0p-53; }
float sr_rng_uniformf(sr_rng *r) { return (float)(sr_rng_next(r) >> 40) * 0x1.0p-24f; }

/* ---- misc ------------------------------------------------------------------------------ */

double sr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void *sr_alloc_big(size_t n, size_t size, int zero)
{
    const size_t huge = (size_t)2 << 20;
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    if (bytes == 0)
        bytes = 1;
    if (bytes < huge)
        return zero ? calloc(1, bytes) : malloc(bytes);
    if (bytes > SIZE_MAX - huge)
        return NULL;
    size_t rounded = (bytes + huge - 1) & ~(huge - 1);
    void *p = aligned_alloc(huge, rounded);
    if (!p)
        return NULL;
#if defined(MADV_HUGEPAGE)
    if (!getenv("SR_NO_HUGE")) /* for measuring without them */
        madvise(p, rounded, MADV_HUGEPAGE); /* advice: failure is harmless */
#endif
    if (zero)
        memset(p, 0, bytes);
    return p;
}

int sr_ncores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int sr_resolve_threads(int requested)
{
    return requested > 0 ? requested : sr_ncores();
}

/* ---- text ------------------------------------------------------------------ */

/* Characters of offending text that messages quote (data/read.h: SRR_TEXT_MAX). */
#define SR_TEXT_MAX 60

void sr_escape_text(char *dst, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, shown = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        char tmp[5];
        size_t k = 0;
        unsigned char c = (unsigned char)s[i];
        if (c == '\t')
            tmp[k++] = '\\', tmp[k++] = 't';
        else if (c == '\r')
            tmp[k++] = '\\', tmp[k++] = 'r';
        else if (c == '\n')
            tmp[k++] = '\\', tmp[k++] = 'n';
        else if (c == '\\')
            tmp[k++] = '\\', tmp[k++] = '\\';
        else if (c >= 0x20 && c < 0x7f)
            tmp[k++] = (char)c;
        else {
            tmp[k++] = '\\';
            tmp[k++] = 'x';
            tmp[k++] = hex[c >> 4];
            tmp[k++] = hex[c & 15];
        }
        if (shown + k > SR_TEXT_MAX || o + k + 4 > cap) {
            const char *dots = "...";
            for (size_t j = 0; dots[j] && o + 1 < cap; j++)
                dst[o++] = dots[j];
            break;
        }
        memcpy(dst + o, tmp, k);
        o += k;
        shown += k;
    }
    dst[o] = '\0';
}

/* ---- text intern table ---------------------------------------------------------- */

uint64_t sr_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, s, 8);
        h = (h ^ x) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)s[i] << (8 * i);
    h = (h ^ x) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static int intern_eq(const sr_intern *in, int64_t id, const char *s, size_t n)
{
    const int64_t *off = in->t.off;
    return (size_t)(off[id + 1] - off[id] - 1) == n && memcmp(in->t.text + off[id], s, n) == 0;
}

#define TAG(h) ((h) & ~(uint64_t)0xffffffffu)

int64_t sr_intern_get(const sr_intern *in, const char *s, size_t n)
{
    return sr_intern_get_h(in, s, n, sr_hash_bytes(s, n));
}

int64_t sr_intern_get_h(const sr_intern *in, const char *s, size_t n, uint64_t h)
{
    if (!in->nslot)
        return -1;
    size_t mask = in->nslot - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint64_t v = in->slot[i];
        if (v == 0)
            return -1;
        if ((v & ~(uint64_t)0xffffffffu) == TAG(h) && intern_eq(in, (int64_t)(uint32_t)v - 1, s, n))
            return (int64_t)(uint32_t)v - 1;
    }
}

static int intern_rehash(sr_intern *in, size_t nslot)
{
    uint64_t *slot = calloc(nslot, sizeof *slot);
    if (!slot)
        return -1;
    size_t mask = nslot - 1;
    for (int64_t id = 0; id < in->t.n; id++) {
        uint64_t h = in->hash[id];
        size_t i = (size_t)h & mask;
        while (slot[i])
            i = (i + 1) & mask;
        slot[i] = TAG(h) | (uint64_t)(id + 1);
    }
    free(in->slot);
    in->slot = slot;
    in->nslot = nslot;
    return 0;
}

int64_t sr_intern_put(sr_intern *in, const char *s, size_t n)
{
    return sr_intern_put_h(in, s, n, sr_hash_bytes(s, n));
}

int64_t sr_intern_put_h(sr_intern *in, const char *s, size_t n, uint64_t h)
{
    size_t mask = in->nslot - 1, i = 0;
    if (in->nslot) {
        for (i = (size_t)h & mask;; i = (i + 1) & mask) {
            uint64_t v = in->slot[i];
            if (v == 0)
                break;
            if ((v & ~(uint64_t)0xffffffffu) == TAG(h) &&
                intern_eq(in, (int64_t)(uint32_t)v - 1, s, n))
                return (int64_t)(uint32_t)v - 1;
        }
    }
    int64_t id = in->t.n;
    if (id >= INT32_MAX - 1)
        return -1;
    if (id + 1 >= in->id_cap) {
        int64_t c = in->id_cap ? in->id_cap * 2 : 256;
        int64_t *off = realloc(in->t.off, (size_t)(c + 1) * sizeof *off);
        if (!off)
            return -1;
        in->t.off = off;
        uint64_t *hh = realloc(in->hash, (size_t)c * sizeof *hh);
        if (!hh)
            return -1;
        in->hash = hh;
        in->id_cap = c;
        if (id == 0)
            in->t.off[0] = 0;
    }
    size_t used = (size_t)in->t.off[id];
    if (used + n + 1 > in->cap) {
        size_t c = in->cap ? in->cap : 4096;
        while (c < used + n + 1)
            c *= 2;
        char *t = realloc(in->t.text, c);
        if (!t)
            return -1;
        in->t.text = t;
        in->cap = c;
    }
    memcpy(in->t.text + used, s, n);
    in->t.text[used + n] = '\0';
    in->t.off[id + 1] = (int64_t)(used + n + 1);
    in->hash[id] = h;
    in->t.n = id + 1;
    if ((size_t)(id + 1) * 2 > in->nslot) { /* load factor <= 1/2 */
        if (intern_rehash(in, in->nslot ? in->nslot * 2 : 1024) != 0) {
            in->t.n = id; /* not inserted */
            return -1;
        }
    } else {
        in->slot[i] = TAG(h) | (uint64_t)(id + 1);
    }
    return id;
}

void sr_intern_clear(sr_intern *in)
{
    if (in->slot)
        memset(in->slot, 0, in->nslot * sizeof *in->slot);
    in->t.n = 0;
}

void sr_intern_free(sr_intern *in)
{
    free(in->t.text);
    free(in->t.off);
    free(in->hash);
    free(in->slot);
    memset(in, 0, sizeof *in);
}

void sr_idtext_free(sr_idtext *t)
{
    free(t->text);
    free(t->off);
    memset(t, 0, sizeof *t);
}

sr_status sr_intern_take(sr_intern *in, sr_idtext *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = in->t.n;
    size_t bytes = n ? (size_t)in->t.off[n] : 0;
    out->text = malloc(bytes ? bytes : 1);
    out->off = malloc((size_t)(n + 1) * sizeof *out->off);
    if (!out->text || !out->off) {
        sr_idtext_free(out);
        return SR_ERR_NOMEM;
    }
    if (bytes)
        memcpy(out->text, in->t.text, bytes);
    if (n)
        memcpy(out->off, in->t.off, (size_t)(n + 1) * sizeof *out->off);
    else
        out->off[0] = 0;
    out->n = n;
    sr_intern_free(in);
    return SR_OK;
}

sr_status sr_idtext_select(const sr_idtext *t, const int64_t *idx, int64_t n, sr_idtext *out)
{
    memset(out, 0, sizeof *out);
    size_t bytes = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t j = idx ? idx[k] : k;
        bytes += (size_t)(t->off[j + 1] - t->off[j]);
    }
    out->text = malloc(bytes ? bytes : 1);
    out->off = malloc((size_t)(n + 1) * sizeof *out->off);
    if (!out->text || !out->off) {
        sr_idtext_free(out);
        return SR_ERR_NOMEM;
    }
    size_t w = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t j = idx ? idx[k] : k;
        size_t l = (size_t)(t->off[j + 1] - t->off[j]);
        out->off[k] = (int64_t)w;
        memcpy(out->text + w, t->text + t->off[j], l);
        w += l;
    }
    out->off[n] = (int64_t)w;
    out->n = n;
    return SR_OK;
}
