/*
 * store.c - prepared splits on disk: the binary split file (save, load into
 * memory with full verification) and GRU4Rec TSV export (opening "a split or
 * a click log" is data/open.c, above this file). The byte layout is documented in
 * docs/formats.md; keep the two in step (and bump the version on any change).
 *
 * Must never: trust a byte of a file before checking it (a corrupted or
 * hostile file gives SR_ERR_FORMAT, never a crash or an out-of-range index),
 * write a final file name other than by atomic rename, print, or exit.
 * The checksum is sr_crc32 (CRC-32/IEEE, computed by zlib).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "data/store.h"
#include "util/parallel.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "split files are little-endian and written/mapped as such: byte-swap on a big-endian port"
#endif

#define SPLIT_MAGIC "SRSPLIT\0"
#define SPLIT_VERSION 2u    /* written only for text item ids; integer ids keep version 1 */
#define SPLIT_HEADER_V1 96u
#define SPLIT_HEADER_V2 128u
#define SPLIT_HEADER SPLIT_HEADER_V1 /* where the loader's fused CRC starts */
#define SPLIT_MAX_COUNT ((uint64_t)1 << 40) /* keeps every size computation far from overflow */

void sr_split_free(sr_split *s)
{
    if (!s)
        return;
    if (s->map_) {
        munmap(s->map_, s->map_len_);
    } else {
        free(s->session_ids);
        free(s->offsets);
        free(s->items);
        free(s->times);
        free(s->item_ids);
        sr_idtext_free(&s->item_text);
    }
    memset(s, 0, sizeof *s);
}

/* ---- layout ----------------------------------------------------------------- */

/* Version 1 has the first five sections; version 2 adds the text ids. */
enum { SEC_SESSION_IDS, SEC_OFFSETS, SEC_ITEMS, SEC_TIMES, SEC_ITEM_IDS, SEC_TEXT_OFF,
       SEC_TEXT, N_SEC };

typedef struct layout {
    uint32_t version, header;
    int nsec;
    uint64_t off[N_SEC], size[N_SEC]; /* bytes; sections start 8-byte aligned */
    uint64_t file_size;
} layout;

static uint64_t al8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }

/* Counts must be <= SPLIT_MAX_COUNT (checked by callers); T: bytes of text
 * ids (version 2 only). */
static void compute_layout(uint32_t version, uint64_t E, uint64_t S, uint64_t I, uint64_t T,
                           layout *L)
{
    memset(L, 0, sizeof *L);
    L->version = version;
    L->header = version == 1 ? SPLIT_HEADER_V1 : SPLIT_HEADER_V2;
    L->nsec = version == 1 ? 5 : N_SEC;
    L->size[SEC_SESSION_IDS] = S * 8;
    L->size[SEC_OFFSETS] = (S + 1) * 8;
    L->size[SEC_ITEMS] = E * 4;
    L->size[SEC_TIMES] = E * 8;
    L->size[SEC_ITEM_IDS] = I * 8;
    if (version >= 2) {
        L->size[SEC_TEXT_OFF] = (I + 1) * 8;
        L->size[SEC_TEXT] = T;
    }
    uint64_t o = L->header;
    for (int k = 0; k < L->nsec; k++) {
        L->off[k] = o;
        o += al8(L->size[k]);
    }
    L->file_size = o;
}

sr_status sr_split_check(const sr_split *s, const char *name, sr_status st, sr_error *err)
{
    int64_t E = s->n_events, S = s->n_sessions, I = s->n_items;
    if (E < 0 || S < 0 || I < 0 || I > INT32_MAX || (uint64_t)E > SPLIT_MAX_COUNT ||
        (uint64_t)S > SPLIT_MAX_COUNT)
        return sr_error_set(err, st, "%s: bad counts (%lld events, %lld sessions, %lld items)",
                            name, (long long)E, (long long)S, (long long)I);
    if ((E && (!s->items || !s->times)) || (S && (!s->offsets || !s->session_ids)) ||
        (I && !s->item_ids))
        return sr_error_set(err, st, "%s: split has counts but no arrays", name);
    if (!s->offsets) /* S == 0: a zeroed split */
        return E == 0 ? SR_OK
                      : sr_error_set(err, st, "%s: %lld events but no sessions", name,
                                     (long long)E);
    if (s->item_text.text) {
        const sr_idtext *t = &s->item_text;
        if (t->n != I || !t->off || t->off[0] != 0)
            return sr_error_set(err, st, "%s: the text id table has %lld ids for %lld items",
                                name, (long long)t->n, (long long)I);
        for (int64_t k = 0; k < I; k++) {
            int64_t a = t->off[k], b = t->off[k + 1];
            if (b <= a || b > t->off[I] || t->text[b - 1] != '\0' ||
                memchr(t->text + a, 0, (size_t)(b - a - 1)))
                return sr_error_set(err, st, "%s: text id %lld is malformed", name, (long long)k);
            if (s->item_ids[k] != k)
                return sr_error_set(err, st, "%s: item %lld of a text id table has number "
                                    "%lld", name, (long long)k, (long long)s->item_ids[k]);
        }
    }
    const int64_t *off = s->offsets;
    if (off[0] != 0)
        return sr_error_set(err, st, "%s: first session offset is %lld, not 0", name,
                            (long long)off[0]);
    for (int64_t k = 0; k < S; k++)
        if (off[k + 1] < off[k])
            return sr_error_set(err, st, "%s: session %lld: offset %lld after %lld (offsets "
                                "must not decrease)", name, (long long)k + 1,
                                (long long)off[k + 1], (long long)off[k]);
    if (off[S] != E)
        return sr_error_set(err, st, "%s: last session offset is %lld, but there are %lld events",
                            name, (long long)off[S], (long long)E);
    /* Item indices: one branch-free pass, then find the culprit if any. */
    uint32_t bad = 0;
    const int32_t *it = s->items;
    for (int64_t j = 0; j < E; j++)
        bad |= (uint32_t)((uint32_t)it[j] >= (uint64_t)I);
    if (bad)
        for (int64_t j = 0; j < E; j++)
            if (it[j] < 0 || it[j] >= I)
                return sr_error_set(err, st, "%s: event %lld: item index %d is outside the "
                                    "item table [0, %lld)", name, (long long)j, it[j],
                                    (long long)I);
    /* Item ids must be distinct: a model built from a table with repeats
     * cannot map ids back to items (and its loader rejects it). */
    if (I > 1) {
        sr_map m;
        if (sr_map_init(&m, (size_t)I) != SR_OK)
            return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory checking %lld item ids",
                                name, (long long)I);
        for (int64_t i = 0; i < I; i++) {
            int32_t at = sr_map_put(&m, s->item_ids[i], (int32_t)i);
            if (at == -2 || at != (int32_t)i) {
                sr_map_free(&m);
                if (at == -2)
                    return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory checking item ids",
                                        name);
                return sr_error_set(err, st, "%s: item id %lld appears twice in the item table "
                                    "(entries %d and %lld)", name, (long long)s->item_ids[i], at,
                                    (long long)i);
            }
        }
        sr_map_free(&m);
    }
    return SR_OK;
}

/* ---- save ------------------------------------------------------------------- */

static const uint8_t zeros[8];
static const int64_t zero_offset[1];

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* Writing a split is two tasks run side by side by sr_parallel_for (they take
 * about as long): task 0 computes the payload CRC, task 1 writes the zeroed
 * header placeholder and the sections. */
typedef struct save_job {
    const void *sec[N_SEC];
    const layout *L;
    FILE *f;
    uint32_t crc;    /* task 0 */
    int ok, errnum;  /* task 1: all written; errno after the writes */
} save_job;

static void save_task(int task, int thread, void *ud)
{
    (void)thread;
    save_job *j = ud;
    if (task == 0) {
        uint32_t pc = 0;
        for (int k = 0; k < j->L->nsec; k++) {
            if (j->L->size[k])
                pc = sr_crc32(pc, j->sec[k], j->L->size[k]);
            pc = sr_crc32(pc, zeros, al8(j->L->size[k]) - j->L->size[k]);
        }
        j->crc = pc;
        return;
    }
    uint8_t h[SPLIT_HEADER_V2];
    memset(h, 0, sizeof h);
    int ok = fwrite(h, 1, j->L->header, j->f) == j->L->header;
    for (int k = 0; k < j->L->nsec && ok; k++) {
        size_t n = (size_t)j->L->size[k], pad = (size_t)(al8(j->L->size[k]) - j->L->size[k]);
        ok = (!n || fwrite(j->sec[k], 1, n, j->f) == n) &&
             (!pad || fwrite(zeros, 1, pad, j->f) == pad);
    }
    j->ok = ok;
    j->errnum = errno;
}

/* Header fields after the section offsets (docs/formats.md). */
static size_t hdr_end(const layout *L) { return 40 + 8 * (size_t)L->nsec; }

static void make_header(uint8_t *h, const sr_split *s, const layout *L, uint32_t payload_crc)
{
    memset(h, 0, L->header);
    memcpy(h, SPLIT_MAGIC, 8);
    put32(h + 8, L->version);
    put32(h + 12, L->header);
    put64(h + 16, (uint64_t)s->n_events);
    put64(h + 24, (uint64_t)s->n_sessions);
    put64(h + 32, (uint64_t)s->n_items);
    for (int k = 0; k < L->nsec; k++)
        put64(h + 40 + 8 * k, L->off[k]);
    size_t e = hdr_end(L);
    put64(h + e, L->file_size);
    if (L->version >= 2) {
        put64(h + e + 8, L->size[SEC_TEXT]);
        e += 8;
    }
    put32(h + e + 8, payload_crc);
    put32(h + e + 12, sr_crc32(0, h, e + 12));
}

sr_status sr_split_save(const sr_split *s, const char *path, sr_error *err)
{
    sr_status st = sr_split_check(s, path, SR_ERR_ARG, err);
    if (st != SR_OK)
        return st;
    layout L;
    int text = s->item_text.text != NULL;
    compute_layout(text ? 2u : 1u, (uint64_t)s->n_events, (uint64_t)s->n_sessions,
                   (uint64_t)s->n_items, text ? (uint64_t)s->item_text.off[s->n_items] : 0, &L);
    save_job job = {{s->session_ids, s->offsets ? (const void *)s->offsets : zero_offset,
                     s->items, s->times, s->item_ids, text ? s->item_text.off : NULL,
                     text ? s->item_text.text : NULL}, &L, NULL, 0, 0, 0};
    sr_atomic a;
    if ((st = sr_atomic_open(&a, path, err)) != SR_OK)
        return st;
    job.f = a.f;
    /* The header goes last (it holds the CRC); small files in one thread. */
    sr_parallel_for(2, L.file_size >= ((uint64_t)8 << 20) ? 2 : 1, save_task, &job);
    int ok = job.ok, e = job.errnum;
    if (ok) {
        uint8_t h[SPLIT_HEADER_V2];
        make_header(h, s, &L, job.crc);
        ok = fseek(a.f, 0, SEEK_SET) == 0 && fwrite(h, 1, L.header, a.f) == L.header;
        e = errno;
    }
    if (!ok) {
        sr_atomic_abort(&a);
        return sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return sr_atomic_commit(&a, err);
}

/* ---- load ------------------------------------------------------------------- */

/* sr_split_view; payload_crc, when given, is the CRC of the bytes after the
 * header, computed while they were read. */
static sr_status view(const void *buf, size_t len, const char *name, sr_split *out,
                      const uint32_t *payload_crc, sr_error *err)
{
    memset(out, 0, sizeof *out);
    const uint8_t *p = buf;
    if (memcmp(p, SPLIT_MAGIC, len < 8 ? len : 8) != 0)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: not a sessrec split file (bad magic)", name);
    if (len < 12)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: truncated split file (%zu bytes)", name, len);
    uint32_t version = get32(p + 8);
    if (version != 1 && version != SPLIT_VERSION)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: split format version %u is not supported "
                            "(this build reads versions 1 to %u)", name, version, SPLIT_VERSION);
    uint32_t H = version == 1 ? SPLIT_HEADER_V1 : SPLIT_HEADER_V2;
    if (len < H)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: truncated split file (%zu bytes, the header "
                            "alone has %u)", name, len, H);
    size_t e = 40 + 8 * (size_t)(version == 1 ? 5 : N_SEC) + (version == 1 ? 0 : 8);
    if (get32(p + e + 12) != sr_crc32(0, p, e + 12))
        return sr_error_set(err, SR_ERR_FORMAT, "%s: header checksum mismatch (corrupted file)",
                            name);
    if (get32(p + 12) != H)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: header size %u, expected %u", name,
                            get32(p + 12), H);
    uint64_t E = get64(p + 16), S = get64(p + 24), I = get64(p + 32);
    uint64_t T = version == 1 ? 0 : get64(p + e);
    if (E > SPLIT_MAX_COUNT || S > SPLIT_MAX_COUNT || I > INT32_MAX || T > SPLIT_MAX_COUNT)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: implausible counts (%llu events, %llu "
                            "sessions, %llu items, %llu bytes of text ids)", name,
                            (unsigned long long)E, (unsigned long long)S,
                            (unsigned long long)I, (unsigned long long)T);
    layout L;
    compute_layout(version, E, S, I, T, &L);
    static const char *const sec_name[N_SEC] = {"session ids", "offsets", "items", "times",
                                                "item ids", "text id offsets", "text ids"};
    for (int k = 0; k < L.nsec; k++)
        if (get64(p + 40 + 8 * k) != L.off[k])
            return sr_error_set(err, SR_ERR_FORMAT, "%s: %s section at byte %llu, expected %llu",
                                name, sec_name[k], (unsigned long long)get64(p + 40 + 8 * k),
                                (unsigned long long)L.off[k]);
    if (get64(p + hdr_end(&L)) != L.file_size)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: header says %llu bytes, the counts need "
                            "%llu", name, (unsigned long long)get64(p + hdr_end(&L)),
                            (unsigned long long)L.file_size);
    if ((uint64_t)len < L.file_size)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: truncated split file (%zu bytes of %llu)",
                            name, len, (unsigned long long)L.file_size);
    if ((uint64_t)len > L.file_size)
        return sr_error_set(err, SR_ERR_FORMAT, "%s: %llu unexpected bytes after the end of the "
                            "split", name, (unsigned long long)((uint64_t)len - L.file_size));
    /* The loader's CRC, fused with the read, starts after a version-1 header
     * (SPLIT_HEADER); a version-2 file's longer header is checked here. */
    uint32_t pc = payload_crc && H == SPLIT_HEADER ? *payload_crc
                                                   : sr_crc32(0, p + H, L.file_size - H);
    if (pc != get32(p + e + 8))
        return sr_error_set(err, SR_ERR_FORMAT, "%s: payload checksum mismatch (corrupted file)",
                            name);
    if ((uintptr_t)buf % 8)
        return sr_error_set(err, SR_ERR_ARG, "%s: split image not 8-byte aligned in memory", name);
    sr_split v;
    memset(&v, 0, sizeof v);
    v.n_events = (int64_t)E;
    v.n_sessions = (int64_t)S;
    v.n_items = (int64_t)I;
    /* Casts drop const: a mapped split is read-only by contract (PROT_READ). */
    v.session_ids = (int64_t *)(uintptr_t)(p + L.off[SEC_SESSION_IDS]);
    v.offsets = (int64_t *)(uintptr_t)(p + L.off[SEC_OFFSETS]);
    v.items = (int32_t *)(uintptr_t)(p + L.off[SEC_ITEMS]);
    v.times = (int64_t *)(uintptr_t)(p + L.off[SEC_TIMES]);
    v.item_ids = (int64_t *)(uintptr_t)(p + L.off[SEC_ITEM_IDS]);
    if (version >= 2) {
        v.item_text.n = (int64_t)I;
        v.item_text.off = (int64_t *)(uintptr_t)(p + L.off[SEC_TEXT_OFF]);
        v.item_text.text = (char *)(uintptr_t)(p + L.off[SEC_TEXT]);
        if (v.item_text.off[I] != (int64_t)T)
            return sr_error_set(err, SR_ERR_FORMAT, "%s: text ids end at byte %lld of %llu", name,
                                (long long)v.item_text.off[I], (unsigned long long)T);
    }
    sr_status st = sr_split_check(&v, name, SR_ERR_FORMAT, err);
    if (st != SR_OK)
        return st;
    *out = v;
    return SR_OK;
}

sr_status sr_split_view(const void *buf, size_t len, const char *name, sr_split *out,
                        sr_error *err)
{
    return view(buf, len, name, out, NULL, err);
}

/* Loading reads the file into memory instead of mapping it: a mapped file
 * that is truncated or rewritten under a running command (cp over a split
 * shared by hard links) kills it with SIGBUS. To keep the copy cheap, two
 * threads read halves with pread into anonymous memory, and each CRCs every
 * chunk right after reading it, while it is still in cache; the halves' CRCs
 * are combined (zlib's crc32_combine). Measured (460 MB split, loaded 2-core
 * machine): huge pages cost more system time than small ones (zeroing 2 MB
 * pages goes through memory, a 4 KB page is zeroed and filled in cache), and
 * a memfd filled by sendfile was no cheaper than this. */
#define LOAD_CHUNK ((size_t)1 << 20)
#define LOAD_THREADED ((size_t)32 << 20)

typedef struct load_job {
    int fd;
    uint8_t *m;
    size_t lo, hi;   /* bytes [lo, hi) of the file */
    uint32_t crc;    /* of the payload bytes in [lo, hi) */
    int err;         /* errno, or -1 for a short read */
} load_job;

static void load_part(int task, int thread, void *arg)
{
    (void)thread;
    load_job *j = (load_job *)arg + task;
    uint32_t pc = 0;
    for (size_t at = j->lo; at < j->hi;) {
        size_t want = j->hi - at < LOAD_CHUNK ? j->hi - at : LOAD_CHUNK;
        ssize_t r = pread(j->fd, j->m + at, want, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            j->err = r < 0 ? errno : -1;
            return;
        }
        size_t from = at < SPLIT_HEADER ? SPLIT_HEADER : at, to = at + (size_t)r;
        if (to > from)
            pc = sr_crc32(pc, j->m + from, to - from);
        at = to;
    }
    j->crc = pc;
}

sr_status sr_split_load(const char *path, sr_split *out, sr_error *err)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sr_error_set(err, SR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return sr_error_set(err, SR_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return sr_error_set(err, SR_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < (off_t)SPLIT_HEADER_V1 || (uint64_t)sb.st_size > (uint64_t)SIZE_MAX / 2) {
        /* too short to be a split: read what is there for the message */
        uint8_t h[SPLIT_HEADER_V1];
        ssize_t got = read(fd, h, sizeof h);
        close(fd);
        sr_split v;
        sr_status st = sr_split_view(h, got > 0 ? (size_t)got : 0, path, &v, err);
        return st != SR_OK ? st : sr_error_set(err, SR_ERR_FORMAT, "%s: bad size", path);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        close(fd);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    load_job J[2] = {{fd, m, 0, len, 0, 0}, {fd, m, len, len, 0, 0}};
    int threads = 1;
    if (len >= LOAD_THREADED) { /* two halves read side by side */
        size_t half = (len / 2) & ~(LOAD_CHUNK - 1);
        J[0].hi = J[1].lo = half;
        threads = 2;
    }
    sr_parallel_for(2, threads, load_part, J);
    close(fd);
    for (int k = 0; k < 2; k++)
        if (J[k].err) {
            munmap(m, len);
            if (J[k].err > 0)
                return sr_error_set(err, SR_ERR_IO, "%s: read failed: %s", path,
                                    strerror(J[k].err));
            return sr_error_set(err, SR_ERR_IO, "%s: the file shrank while it was read (it had "
                                "%zu bytes): it is being changed; try again", path, len);
        }
    uint32_t pc = J[0].crc;
    if (J[1].hi > J[1].lo) /* J[1].lo >= SPLIT_HEADER: all of it is payload */
        pc = (uint32_t)crc32_combine64(pc, J[1].crc, (z_off64_t)(J[1].hi - J[1].lo));
    sr_status st = view(m, len, path, out, &pc, err);
    if (st != SR_OK) {
        munmap(m, len);
        return st;
    }
    out->map_ = m;
    out->map_len_ = len;
    return SR_OK;
}

/* ---- recognising a split file ---------------------------------------------------- */

int sr_split_is_file(const char *path)
{
    char magic[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int yes = fread(magic, 1, 8, f) == 8 && memcmp(magic, SPLIT_MAGIC, 8) == 0;
    fclose(f);
    return yes;
}

/* ---- TSV export ------------------------------------------------------------------ */

static char *put_i64(char *w, int64_t v)
{
    if (v < 0) {
        *w++ = '-';
        return sr_put_u64(w, (uint64_t)0 - (uint64_t)v);
    }
    return sr_put_u64(w, (uint64_t)v);
}

/* Microseconds as seconds with only the fraction digits needed: 1 -> "0.000001",
 * 1500000 -> "1.5", 3000000 -> "3". */
static char *put_time(char *w, int64_t us)
{
    uint64_t u = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    if (us < 0)
        *w++ = '-';
    w = sr_put_u64(w, u / 1000000);
    uint32_t f = (uint32_t)(u % 1000000);
    if (f) {
        char d[6];
        for (int i = 5; i >= 0; i--) {
            d[i] = (char)('0' + f % 10);
            f /= 10;
        }
        int n = 6;
        while (d[n - 1] == '0')
            n--;
        *w++ = '.';
        memcpy(w, d, (size_t)n);
        w += n;
    }
    return w;
}

/* An id that a TSV reader would split or unquote: written RFC 4180-quoted. */
static int needs_quotes(const char *s, size_t n)
{
    return n > 0 && (s[0] == '"' || memchr(s, '\t', n) || memchr(s, '\r', n));
}

static int put_field(FILE *f, const char *s, size_t n)
{
    if (!needs_quotes(s, n))
        return fwrite(s, 1, n, f) == n;
    if (fputc('"', f) == EOF)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] == '"' && fputc('"', f) == EOF) || fputc(s[i], f) == EOF)
            return 0;
    return fputc('"', f) != EOF;
}

sr_status sr_split_save_tsv(const sr_split *s, const char *path, sr_error *err)
{
    sr_status st = sr_split_check(s, path, SR_ERR_ARG, err);
    if (st != SR_OK)
        return st;
    sr_atomic a;
    if ((st = sr_atomic_open(&a, path, err)) != SR_OK)
        return st;
    enum { CAP = 1 << 20, LINE = 96 };
    char *buf = malloc(CAP);
    if (!buf) {
        sr_atomic_abort(&a);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
    }
    static const char head[] = "SessionId\tItemId\tTime\n";
    memcpy(buf, head, sizeof head - 1);
    char *w = buf + sizeof head - 1;
    int ok = 1;
    for (int64_t k = 0; k < s->n_sessions && ok; k++) {
        char sid[24];
        size_t sl = (size_t)(put_i64(sid, s->session_ids[k]) - sid);
        for (int64_t j = s->offsets[k]; j < s->offsets[k + 1]; j++) {
            if (w - buf > CAP - LINE) {
                ok = fwrite(buf, 1, (size_t)(w - buf), a.f) == (size_t)(w - buf);
                w = buf;
                if (!ok)
                    break;
            }
            if (s->item_text.text) { /* long ids: flush first, then they may exceed LINE */
                const sr_idtext *t = &s->item_text;
                size_t il = (size_t)(t->off[s->items[j] + 1] - t->off[s->items[j]] - 1);
                if ((size_t)(w - buf) + il + LINE > CAP) {
                    ok = fwrite(buf, 1, (size_t)(w - buf), a.f) == (size_t)(w - buf);
                    w = buf;
                    if (!ok)
                        break;
                }
                const char *id = sr_idtext_get(t, s->items[j]);
                if (il + LINE > CAP || needs_quotes(id, il)) {
                    ok = fwrite(sid, 1, sl, a.f) == sl && fputc('\t', a.f) != EOF &&
                         put_field(a.f, id, il) && fputc('\t', a.f) != EOF;
                    if (!ok)
                        break;
                } else {
                    memcpy(w, sid, sl);
                    w += sl;
                    *w++ = '\t';
                    memcpy(w, sr_idtext_get(t, s->items[j]), il);
                    w += il;
                    *w++ = '\t';
                }
                w = put_time(w, s->times[j]);
                *w++ = '\n';
                continue;
            }
            memcpy(w, sid, sl);
            w += sl;
            *w++ = '\t';
            w = put_i64(w, s->item_ids[s->items[j]]);
            *w++ = '\t';
            w = put_time(w, s->times[j]);
            *w++ = '\n';
        }
    }
    if (ok && w > buf)
        ok = fwrite(buf, 1, (size_t)(w - buf), a.f) == (size_t)(w - buf);
    int e = errno;
    free(buf);
    if (!ok) {
        sr_atomic_abort(&a);
        return sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return sr_atomic_commit(&a, err);
}
