/*
 * test_store.c - the binary split store (save / mmap load / verification),
 * TSV export and sr_split_open: round trips field by field, every corrupted
 * byte and every truncation rejected with SR_ERR_FORMAT, exact TSV text, and
 * TSV -> reader -> split identity on the shared data sets.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "data/store.h"
#include "util/util.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers -------------------------------------------------------------------- */

static char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int which;
    char *b = buf[which++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return b;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

/* Field-by-field equality (counts and every array element). */
static int split_equal(const sr_split *a, const sr_split *b)
{
    if (a->n_events != b->n_events || a->n_sessions != b->n_sessions || a->n_items != b->n_items)
        return 0;
    size_t E = (size_t)a->n_events, S = (size_t)a->n_sessions, I = (size_t)a->n_items;
    return (!S || !memcmp(a->session_ids, b->session_ids, S * 8)) &&
           !memcmp(a->offsets, b->offsets, (S + 1) * 8) &&
           (!E || !memcmp(a->items, b->items, E * 4)) &&
           (!E || !memcmp(a->times, b->times, E * 8)) &&
           (!I || !memcmp(a->item_ids, b->item_ids, I * 8));
}

/* A grouped split from a random log: n clicks over about n/4 sessions. */
static void random_split(sr_split *s, int64_t n, uint64_t seed)
{
    sr_rng r;
    sr_rng_seed(&r, seed);
    sr_log log;
    memset(&log, 0, sizeof log);
    log.n = log.cap = n;
    log.session = malloc((size_t)(n ? n : 1) * 8);
    log.item = malloc((size_t)(n ? n : 1) * 8);
    log.time = malloc((size_t)(n ? n : 1) * 8);
    for (int64_t k = 0; k < n; k++) {
        log.session[k] = 1 + k / 4 + (int64_t)(sr_rng_next(&r) % 3);
        log.item[k] = 214500000 + (int64_t)(sr_rng_next(&r) % 5000);
        /* ms, s and us resolutions mixed */
        int64_t t = 1396000000000000 + k * 7000000 + (int64_t)(sr_rng_next(&r) % 5000000);
        log.time[k] = k % 3 == 0 ? t - t % 1000 : k % 3 == 1 ? t - t % 1000000 : t;
    }
    sr_error err;
    sr_status st = sr_split_from_log(&log, s, &err);
    if (st != SR_OK)
        fprintf(stderr, "random_split: %s\n", err.msg);
    free(log.session);
    free(log.item);
    free(log.time);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_crc_is_sr_crc32(void)
{
    /* The store uses zlib's crc32; the format promises the CRC-32 of sr_crc32. */
    uint8_t buf[3000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t n = 0; n < sizeof buf; n += 97)
        CHECK_EQ_INT(sr_crc32(0, buf, n), (uint32_t)crc32_z(0, buf, n));
}

static void test_round_trip(void)
{
    sr_split s, l;
    sr_error err;
    random_split(&s, 5000, 1);
    CHECK(s.n_events == 5000 && s.n_sessions > 1000);
    const char *p = tmp_path("rt.split");
    CHECK(sr_split_save(&s, p, &err) == SR_OK);
    CHECK(sr_split_load(p, &l, &err) == SR_OK);
    CHECK(l.map_ != NULL);
    CHECK(split_equal(&s, &l));
    /* the tmp file is gone */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    CHECK(!file_exists(tmp));
    /* a loaded split saves to the same bytes */
    const char *p2 = tmp_path("rt2.split");
    CHECK(sr_split_save(&l, p2, &err) == SR_OK);
    size_t n1, n2;
    uint8_t *b1 = (uint8_t *)test_read_file(p, &n1), *b2 = (uint8_t *)test_read_file(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1));
    /* expected size: header 96 + S*8 + (S+1)*8 + pad8(E*4) + E*8 + I*8 */
    CHECK_EQ_INT(n1, 96 + l.n_sessions * 16 + 8 + 20000 + 40000 + l.n_items * 8);
    free(b1);
    free(b2);
    sr_split_free(&l);
    CHECK(l.map_ == NULL && l.items == NULL);
    sr_split_free(&s);

    /* An odd number of events (padding after items) and an empty split. */
    random_split(&s, 7, 2);
    CHECK(sr_split_save(&s, p, &err) == SR_OK);
    CHECK(sr_split_load(p, &l, &err) == SR_OK);
    CHECK(split_equal(&s, &l));
    sr_split_free(&l);
    sr_split_free(&s);
    memset(&s, 0, sizeof s); /* zeroed split: no arrays at all */
    CHECK(sr_split_save(&s, p, &err) == SR_OK);
    CHECK(sr_split_load(p, &l, &err) == SR_OK);
    CHECK_EQ_INT(l.n_events, 0);
    CHECK_EQ_INT(l.n_sessions, 0);
    CHECK_EQ_INT(l.offsets[0], 0);
    sr_split_free(&l);
}

/* Recomputes both checksums of a split file image (to forge structurally bad files). */
static void fix_crcs(uint8_t *b, size_t n)
{
    uint32_t pc = sr_crc32(0, b + 96, n - 96);
    memcpy(b + 88, &pc, 4);
    uint32_t hc = sr_crc32(0, b, 92);
    memcpy(b + 92, &hc, 4);
}

static void test_corruption_rejected(void)
{
    sr_split s, l;
    sr_error err;
    random_split(&s, 9, 3); /* small: every byte and every length is tried */
    const char *p = tmp_path("c.split"), *q = tmp_path("bad.split");
    CHECK(sr_split_save(&s, p, &err) == SR_OK);
    size_t n;
    uint8_t *orig = (uint8_t *)test_read_file(p, &n);
    uint8_t *b = malloc(n + 8);
    int all_flips = 1, all_truncs = 1;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(b, orig, n);
            b[i] ^= (uint8_t)(1u << bit);
            spit(q, b, n);
            sr_status st = sr_split_load(q, &l, &err);
            if (st != SR_ERR_FORMAT || !strstr(err.msg, q)) {
                all_flips = 0;
                fprintf(stderr, "  byte %zu bit %d: status %d (%s)\n", i, bit, st, err.msg);
            }
            if (st == SR_OK)
                sr_split_free(&l);
        }
    CHECK(all_flips);
    for (size_t len = 0; len < n; len++) {
        spit(q, orig, len);
        sr_status st = sr_split_load(q, &l, &err);
        if (st != SR_ERR_FORMAT) {
            all_truncs = 0;
            fprintf(stderr, "  length %zu: status %d\n", len, st);
        }
        if (st == SR_OK)
            sr_split_free(&l);
    }
    CHECK(all_truncs);
    spit(q, orig, 0);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    CHECK(strstr(err.msg, "truncated") != NULL);
    /* trailing garbage */
    memcpy(b, orig, n);
    memset(b + n, 0, 8);
    spit(q, b, n + 8);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    CHECK(strstr(err.msg, "unexpected bytes") != NULL);
    /* wrong magic, wrong version (named as such, before any checksum talk) */
    memcpy(b, orig, n);
    memcpy(b, "SRMODEL", 7);
    spit(q, b, n);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    CHECK(strstr(err.msg, "bad magic") != NULL);
    memcpy(b, orig, n);
    b[8] = 3;
    spit(q, b, n);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "version 3 is not supported") != NULL, "%s", err.msg);
    /* Structurally bad files with valid checksums: caught by the checks. */
    int64_t E = s.n_events, S = s.n_sessions;
    size_t off_items = 96 + (size_t)S * 16 + 8;
    memcpy(b, orig, n);
    int32_t bad_item = (int32_t)s.n_items;
    memcpy(b + off_items + 4, &bad_item, 4);
    fix_crcs(b, n);
    spit(q, b, n);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "item index") != NULL, "%s", err.msg);
    memcpy(b, orig, n);
    int64_t big = E + 1; /* offsets[1] beyond the end, then decreasing */
    memcpy(b + 96 + (size_t)S * 8 + 8, &big, 8);
    fix_crcs(b, n);
    spit(q, b, n);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "offset") != NULL, "%s", err.msg);
    memcpy(b, orig, n);
    uint64_t ev = (uint64_t)E + 1; /* a count that disagrees with the layout */
    memcpy(b + 16, &ev, 8);
    fix_crcs(b, n);
    spit(q, b, n);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    memcpy(b, orig, n);
    uint64_t huge = (uint64_t)1 << 62;
    memcpy(b + 24, &huge, 8);
    fix_crcs(b, n);
    spit(q, b, n);
    CHECK(sr_split_load(q, &l, &err) == SR_ERR_FORMAT);
    CHECK(strstr(err.msg, "implausible") != NULL);
    /* the in-memory view rejects the same things */
    memcpy(b, orig, n);
    b[n - 1] ^= 1;
    sr_split v;
    CHECK(sr_split_view(b, n, "mem", &v, &err) == SR_ERR_FORMAT);
    CHECK(strstr(err.msg, "checksum") != NULL);
    free(b);
    free(orig);
    sr_split_free(&s);
    /* missing file and folder */
    CHECK(sr_split_load(tmp_path("nope.split"), &l, &err) == SR_ERR_IO);
    CHECK(sr_split_load(test_tmpdir(), &l, &err) == SR_ERR_IO);
}

static void test_save_rejects_bad_split(void)
{
    sr_split s;
    sr_error err;
    random_split(&s, 20, 4);
    const char *p = tmp_path("never.split");
    s.items[3] = (int32_t)s.n_items;
    CHECK(sr_split_save(&s, p, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "item index") != NULL);
    s.items[3] = 0;
    s.offsets[1] = s.offsets[2] + 1;
    CHECK(sr_split_save(&s, p, &err) == SR_ERR_ARG);
    CHECK(!file_exists(p));
    s.offsets[1] = s.offsets[2];
    CHECK(sr_split_save(&s, tmp_path("no/such/dir/x.split"), &err) == SR_ERR_IO);
    CHECK(sr_split_save_tsv(&s, tmp_path("no/such/dir/x.tsv"), &err) == SR_ERR_IO);
    sr_split_free(&s);
}

static void test_tsv_export_text(void)
{
    int64_t sids[2] = {7, 3};
    int64_t offs[3] = {0, 3, 5};
    int32_t items[5] = {0, 1, 0, 2, 2};
    int64_t times[5] = {1000000, 1500000, 1000001, 1396839069277000, 0};
    int64_t ids[3] = {214536502, 1, 0};
    sr_split s = {5, 2, 3, sids, offs, items, times, ids, {0, NULL, NULL}, NULL, 0};
    sr_error err;
    const char *p = tmp_path("x.tsv");
    CHECK(sr_split_save_tsv(&s, p, &err) == SR_OK);
    size_t n;
    char *t = test_read_file(p, &n);
    CHECK_MSG(t && !strcmp(t, "SessionId\tItemId\tTime\n"
                              "7\t214536502\t1\n"
                              "7\t1\t1.5\n"
                              "7\t214536502\t1.000001\n"
                              "3\t0\t1396839069.277\n"
                              "3\t0\t0\n"), "%s", t);
    free(t);
}

static void test_load_speed(void)
{
    int64_t E = getenv("SR_SAN") ? 200000 : 1000000;
    sr_split s, l;
    sr_error err;
    random_split(&s, E, 5);
    const char *p = tmp_path("big.split");
    double t0 = sr_now();
    CHECK(sr_split_save(&s, p, &err) == SR_OK);
    double t1 = sr_now();
    CHECK(sr_split_load(p, &l, &err) == SR_OK);
    double t2 = sr_now();
    CHECK(split_equal(&s, &l));
    fprintf(stderr, "  %lld events, %.1f MB: save %.1f ms, load (map + checks + CRC) %.1f ms\n",
            (long long)E, (double)l.map_len_ / 1e6, 1e3 * (t1 - t0), 1e3 * (t2 - t1));
    CHECK(t2 - t1 < 1.0);
    sr_split_free(&l);
    sr_split_free(&s);
}

/* ---- sr_split_open and TSV round trips (need the readers) --------------------------- */

static void test_open(void)
{
    sr_split s, l;
    sr_error err;
    random_split(&s, 100, 6);
    CHECK(sr_split_save(&s, tmp_path("o.split"), &err) == SR_OK);
    CHECK(sr_split_open(tmp_path("o.split"), &l, &err) == SR_OK);
    CHECK(split_equal(&s, &l));
    sr_split_free(&l);
    CHECK(sr_split_open(tmp_path("o"), &l, &err) == SR_OK); /* o -> o.split */
    CHECK(l.map_ != NULL && split_equal(&s, &l));
    sr_split_free(&l);
    CHECK(sr_split_open(tmp_path("missing"), &l, &err) == SR_ERR_IO);
    CHECK(strstr(err.msg, "missing.split") != NULL);
    CHECK(sr_split_open(test_tmpdir(), &l, &err) == SR_ERR_ARG);
    /* any click log: here the TSV export of the same split */
    CHECK(sr_split_save_tsv(&s, tmp_path("o.tsv"), &err) == SR_OK);
    CHECK(sr_split_open(tmp_path("o.tsv"), &l, &err) == SR_OK);
    CHECK(l.map_ == NULL && split_equal(&s, &l));
    sr_split_free(&l);
    /* a file that is neither: the reader's error comes through */
    spit(tmp_path("junk"), "hello\n", 6);
    CHECK(sr_split_open(tmp_path("junk"), &l, &err) != SR_OK);
    sr_split_free(&s);
}

/* TSV export -> sr_read_log -> sr_split_from_log gives the split back. */
static int tsv_round_trip(const sr_split *s, const char *name)
{
    sr_error err;
    const char *p = tmp_path(name);
    if (sr_split_save_tsv(s, p, &err) != SR_OK) {
        fprintf(stderr, "  %s\n", err.msg);
        return 0;
    }
    sr_read_opts ro = sr_read_default_opts();
    ro.format = SR_FMT_TSV;
    sr_log log;
    if (sr_read_log(p, &ro, &log, NULL, &err) != SR_OK) {
        fprintf(stderr, "  %s\n", err.msg);
        return 0;
    }
    sr_split back;
    sr_status st = sr_split_from_log(&log, &back, &err);
    sr_log_free(&log);
    int eq = st == SR_OK && split_equal(s, &back);
    if (st == SR_OK)
        sr_split_free(&back);
    return eq;
}

static void test_tsv_round_trip_random(void)
{
    sr_split s;
    random_split(&s, 20000, 7);
    CHECK(tsv_round_trip(&s, "rr.tsv"));
    sr_split_free(&s);
}

static void check_shared(const char *rel, int64_t events, int64_t sessions, int64_t items)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", test_data_dir(), rel);
    if (!file_exists(path)) {
        fprintf(stderr, "  (%s missing)\n", path);
        return;
    }
    sr_split s, l;
    sr_error err;
    CHECK_MSG(sr_split_open(path, &s, &err) == SR_OK, "%s", err.msg);
    CHECK_EQ_INT(s.n_events, events);
    CHECK_EQ_INT(s.n_sessions, sessions);
    CHECK_EQ_INT(s.n_items, items);
    CHECK_MSG(tsv_round_trip(&s, "shared.tsv"), "%s", rel);
    CHECK(sr_split_save(&s, tmp_path("shared.split"), &err) == SR_OK);
    CHECK(sr_split_load(tmp_path("shared.split"), &l, &err) == SR_OK);
    CHECK(split_equal(&s, &l));
    sr_split_free(&l);
    sr_split_free(&s);
}

static void test_shared_data_round_trip(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/rsc15-100k/train_full.tsv", test_data_dir());
    if (!file_exists(path))
        SKIP("../shared/data missing");
    /* counts from ../shared/data/README.md */
    check_shared("rsc15-100k/train_full.tsv", 70278, 17794, 2933);
    check_shared("rsc15-100k/test.tsv", 13568, 3416, 1771);
    check_shared("yoochoose1_64/train.tsv", 486026, 116167, 17376);
    check_shared("yoochoose1_64/test.tsv", 71222, 15324, 6751);
}

int main(void)
{
    RUN(test_crc_is_sr_crc32);
    RUN(test_round_trip);
    RUN(test_corruption_rejected);
    RUN(test_save_rejects_bad_split);
    RUN(test_tsv_export_text);
    RUN(test_load_speed);
    RUN(test_open);
    RUN(test_tsv_round_trip_random);
    RUN(test_shared_data_round_trip);
    if (!t_failed) { /* keep the files of a failed run for a look */
        char rm[600];
        snprintf(rm, sizeof rm, "rm -rf '%s'", test_tmpdir());
        if (system(rm) != 0)
            fprintf(stderr, "could not remove %s\n", test_tmpdir());
    }
    return test_summary();
}
