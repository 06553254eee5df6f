/*
 * test_read.c - the click-log readers: exact values for every format, gzip,
 * nrows, every bad-input case (status, file, line and offending text), skipping,
 * thread-count independence, agreement with the reference reader, chunk
 * boundaries of the file reader, and the real data in ../shared/data.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "data/read.h"
#include "sessrec.h"

#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ------------------------------------------------------------------------ */

static sr_read_opts opts_fmt(sr_format f)
{
    sr_read_opts o = sr_read_default_opts();
    o.format = f;
    o.threads = 1;
    return o;
}

static sr_status rd(const char *text, sr_read_opts o, sr_log *l, sr_read_report *rep,
                    sr_error *e)
{
    memset(e, 0, sizeof *e);
    return sr_read_log_mem(text, strlen(text), "mem.txt", &o, l, rep, e);
}

static int log_empty(const sr_log *l)
{
    return l->n == 0 && l->cap == 0 && !l->session && !l->item && !l->time;
}

static int logs_equal(const sr_log *a, const sr_log *b)
{
    if (a->n != b->n)
        return 0;
    size_t k = (size_t)a->n * sizeof(int64_t);
    return a->n == 0 || (memcmp(a->session, b->session, k) == 0 &&
                         memcmp(a->item, b->item, k) == 0 && memcmp(a->time, b->time, k) == 0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t n_distinct(const int64_t *v, int64_t n)
{
    int64_t *c = malloc((size_t)(n ? n : 1) * sizeof *c);
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_i64);
    int64_t d = 0;
    for (int64_t i = 0; i < n; i++)
        d += i == 0 || c[i] != c[i - 1];
    free(c);
    return d;
}

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* Paths in the test's temporary folder; all removed at the end by cleanup(). */
static char tmp_names[32][512];
static int n_tmp_names;

static char *tmp_path(const char *name)
{
    for (int i = 0; i < n_tmp_names; i++)
        if (strcmp(strrchr(tmp_names[i], '/') + 1, name) == 0)
            return tmp_names[i];
    if (n_tmp_names == 32) {
        fprintf(stderr, "test_read: too many temporary files\n");
        exit(2);
    }
    char *s = tmp_names[n_tmp_names++];
    snprintf(s, 512, "%s/%s", test_tmpdir(), name);
    return s;
}

static void cleanup(void)
{
    for (int i = 0; i < n_tmp_names; i++)
        unlink(tmp_names[i]);
    rmdir(test_tmpdir());
}

/* Expected error: status, "mem.txt:<line>: " prefix, and substrings. */
#define CHECK_ERR(st_, e_, want_st, line, sub1, sub2)                                         \
    do {                                                                                      \
        char pre_[64];                                                                        \
        snprintf(pre_, sizeof pre_, "mem.txt:%d: ", (int)(line));                             \
        CHECK_MSG((st_) == (want_st), "status %s, msg %s", sr_status_name(st_), (e_).msg);    \
        CHECK_MSG(strncmp((e_).msg, pre_, strlen(pre_)) == 0, "msg '%s' lacks '%s'",          \
                  (e_).msg, pre_);                                                            \
        CHECK_MSG(strstr((e_).msg, (sub1)) != NULL, "msg '%s' lacks '%s'", (e_).msg, (sub1)); \
        CHECK_MSG(strstr((e_).msg, (sub2)) != NULL, "msg '%s' lacks '%s'", (e_).msg, (sub2)); \
    } while (0)

/* ---- YOOCHOOSE ---------------------------------------------------------------------------- */

static void test_yoochoose_values(void)
{
    const char *text = "1,2014-04-07T10:51:09.277Z,214536502,0\n"
                       "1,2014-04-07T10:51:09Z,214536500,S\r\n"
                       "2,2014-04-01T00:00:00.5Z,7,12\n"
                       "9223372036854775807,2012-02-29T23:59:59.123456Z,0,2089639422\n"
                       "0003,1970-01-01T00:00:00.000000Z,00042,1\n"
                       "5,1969-12-31T00:00:00.1Z,5,0"; /* no final newline */
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_status st = rd(text, opts_fmt(SR_FMT_YOOCHOOSE), &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(l.n, 6);
    CHECK_EQ_INT(rep.lines, 6);
    CHECK_EQ_INT(rep.bad_lines, 0);
    CHECK_EQ_INT(rep.format, SR_FMT_YOOCHOOSE);
    CHECK_EQ_INT(rep.bytes, (int64_t)strlen(text));
    if (l.n == 6) {
        int64_t s[6] = {1, 1, 2, INT64_MAX, 3, 5};
        int64_t it[6] = {214536502, 214536500, 7, 0, 42, 5};
        int64_t t[6] = {INT64_C(1396867869277000), INT64_C(1396867869000000),
                        INT64_C(1396310400500000), INT64_C(1330559999123456), 0,
                        INT64_C(-86400000000) + 100000};
        for (int i = 0; i < 6; i++) {
            CHECK_EQ_INT(l.session[i], s[i]);
            CHECK_EQ_INT(l.item[i], it[i]);
            CHECK_EQ_INT(l.time[i], t[i]);
        }
    }
    sr_log_free(&l);
    CHECK(log_empty(&l));
}

static void test_yoochoose_calendar(void)
{
    /* extreme but valid dates; each line checked against Python's datetime */
    struct {
        const char *ts;
        int64_t sec;
    } c[] = {{"2000-03-01T12:00:00Z", 951912000},        {"9999-12-31T23:59:59Z", INT64_C(253402300799)},
             {"0001-01-01T00:00:00Z", INT64_C(-62135596800)}, {"2014-09-30T23:59:59Z", 1412121599}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "1,%s,2,0\n", c[i].ts);
        sr_log l;
        sr_error e;
        sr_status st = rd(line, opts_fmt(SR_FMT_YOOCHOOSE), &l, NULL, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        if (st == SR_OK)
            CHECK_EQ_INT(l.time[0], c[i].sec * 1000000);
        sr_log_free(&l);
    }
}

/* ---- TSV -------------------------------------------------------------------------------------- */

static void test_tsv_values(void)
{
    const char *text = "SessionId\tItemId\tTime\n"
                       "1\t214536502\t1396860669.277\n"
                       "1\t214536506\t1396860886.998001\r\n"
                       "2\t5\t486027\n"
                       "3\t6\t0.5\n"
                       "3\t7\t1.2345675\n"  /* 7th digit rounds half up */
                       "3\t8\t1.99999949\n" /* rounds down */
                       "3\t9\t-1.5\n"
                       "4\t10\t9223372036854.775807"; /* largest time, no final newline */
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_read_opts o = opts_fmt(SR_FMT_TSV);
    o.time_unit = SR_UNIT_S; /* the last time is in seconds, not (as auto says) ms */
    sr_status st = rd(text, o, &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(l.n, 8);
    CHECK_EQ_INT(rep.lines, 8);
    if (l.n == 8) {
        int64_t t[8] = {INT64_C(1396860669277000), INT64_C(1396860886998001),
                        INT64_C(486027000000),     500000,
                        1234568,                   1999999,
                        -1500000,                  INT64_MAX};
        int64_t s[8] = {1, 1, 2, 3, 3, 3, 3, 4}, it[8] = {214536502, 214536506, 5, 6, 7, 8, 9, 10};
        for (int i = 0; i < 8; i++) {
            CHECK_EQ_INT(l.time[i], t[i]);
            CHECK_EQ_INT(l.session[i], s[i]);
            CHECK_EQ_INT(l.item[i], it[i]);
        }
    }
    sr_log_free(&l);
}

static void test_tsv_columns(void)
{
    /* columns found by name, in any order, other columns ignored */
    const char *text = "Extra\tTime\tItemId\tFoo\tSessionId\r\n"
                       "x y\t10.25\t7\t\t3\r\n"
                       "\t11\t8\tbar\t3\r\n";
    sr_log l;
    sr_error e;
    sr_status st = rd(text, opts_fmt(SR_FMT_AUTO), &l, NULL, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_EQ_INT(l.session[0], 3);
        CHECK_EQ_INT(l.item[0], 7);
        CHECK_EQ_INT(l.time[0], 10250000);
        CHECK_EQ_INT(l.item[1], 8);
        CHECK_EQ_INT(l.time[1], 11000000);
    }
    sr_log_free(&l);

    /* custom keys */
    sr_read_opts o = opts_fmt(SR_FMT_TSV);
    o.session_key = "sid";
    o.item_key = "iid";
    o.time_key = "ts";
    st = rd("ts\tsid\tiid\n5\t1\t2\n", o, &l, NULL, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK(l.n == 1 && l.session[0] == 1 && l.item[0] == 2 && l.time[0] == 5000000);
    sr_log_free(&l);

    /* the default names are then missing */
    st = rd("SessionId\tItemId\tTime\n1\t2\t3\n", o, &l, NULL, &e);
    CHECK_ERR(st, e, SR_ERR_PARSE, 1, "missing column 'sid' in header", "'SessionId\\tItemId\\tTime'");
    CHECK(log_empty(&l));

    /* keys must differ and be non-empty */
    o.item_key = "sid";
    st = rd("sid\tts\n1\t2\n", o, &l, NULL, &e);
    CHECK(st == SR_ERR_ARG);
    CHECK(strstr(e.msg, "must differ") != NULL);
    o.item_key = "";
    st = rd("sid\tts\n1\t2\n", o, &l, NULL, &e);
    CHECK(st == SR_ERR_ARG);
}

/* ---- DIGINETICA ---------------------------------------------------------------------------- */

static void test_diginetica_values(void)
{
    const char *text = "session_id;user_id;item_id;timeframe;eventdate\n"
                       "1;NA;81766;526309;2016-05-09\n"
                       "1;NA;31331;1031018;2016-05-09\r\n"
                       "2;4711;9654;0;2016-05-10\n"
                       "3;;7;86399999;2016-02-29";
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_status st = rd(text, opts_fmt(SR_FMT_AUTO), &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(rep.format, SR_FMT_DIGINETICA);
    CHECK_EQ_INT(l.n, 4);
    CHECK_EQ_INT(rep.lines, 4);
    if (l.n == 4) {
        int64_t day = INT64_C(1462752000000000); /* 2016-05-09 */
        CHECK_EQ_INT(l.time[0], day + 526309000);
        CHECK_EQ_INT(l.time[1], day + 1031018000);
        CHECK_EQ_INT(l.time[2], day + INT64_C(86400000000));
        CHECK_EQ_INT(l.time[3], day - 70 * INT64_C(86400000000) + INT64_C(86399999000));
        CHECK_EQ_INT(l.session[2], 2);
        CHECK_EQ_INT(l.item[2], 9654);
        CHECK_EQ_INT(l.item[3], 7);
        /* eventdate then timeframe order is the time order */
        CHECK(l.time[3] < l.time[0] && l.time[0] < l.time[1] && l.time[1] < l.time[2]);
    }
    sr_log_free(&l);
    /* before 1970 the largest timeframe still fits (found by fuzzing: overflow check) */
    st = rd("session_id;user_id;item_id;timeframe;eventdate\n1;NA;2;9223372036854775;1206-05-09\n",
            opts_fmt(SR_FMT_DIGINETICA), &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    if (st == SR_OK) /* 1206-05-09 is day -278917 (proleptic Gregorian) */
        CHECK_EQ_INT(l.time[0], INT64_C(-278917) * INT64_C(86400000000) + INT64_C(9223372036854775000));
    sr_log_free(&l);
}

/* ---- format detection, gzip, nrows ------------------------------------------------------------- */

static void test_auto_detect(void)
{
    struct {
        const char *text;
        sr_format f;
    } c[] = {{"1,2014-04-07T10:51:09.277Z,214536502,0\n", SR_FMT_YOOCHOOSE},
             {"SessionId\tItemId\tTime\n1\t2\t3\n", SR_FMT_TSV},
             {"session_id;user_id;item_id;timeframe;eventdate\n1;NA;2;3;2016-01-01\n",
              SR_FMT_DIGINETICA}};
    for (int i = 0; i < 3; i++) {
        sr_log l;
        sr_read_report rep;
        sr_error e;
        sr_status st = rd(c[i].text, opts_fmt(SR_FMT_AUTO), &l, &rep, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        CHECK_EQ_INT(rep.format, c[i].f);
        CHECK_EQ_INT(l.n, 1);
        sr_log_free(&l);
    }
    sr_log l;
    sr_error e;
    sr_status st = rd("hello world\n1 2 3\n", opts_fmt(SR_FMT_AUTO), &l, NULL, &e);
    CHECK_ERR(st, e, SR_ERR_PARSE, 1, "cannot guess the format", "'hello world'");
    CHECK(strcmp(sr_format_name(SR_FMT_TSV), "tsv") == 0);
    CHECK(strcmp(sr_format_name(SR_FMT_YOOCHOOSE), "yoochoose") == 0);
    CHECK(strcmp(sr_format_name(SR_FMT_DIGINETICA), "diginetica") == 0);
    CHECK(strcmp(sr_format_name(SR_FMT_AUTO), "auto") == 0);
}

static void write_gz(const char *path, const char *data, size_t n, int members)
{
    gzFile g = gzopen(path, "wb");
    CHECK(g != NULL);
    if (!g)
        return;
    size_t half = members > 1 ? n / 2 : n;
    CHECK(gzwrite(g, data, (unsigned)half) == (int)half);
    gzclose(g);
    if (members > 1) { /* a second gzip member appended: still one stream of text */
        g = gzopen(path, "ab");
        CHECK(gzwrite(g, data + half, (unsigned)(n - half)) == (int)(n - half));
        gzclose(g);
    }
}

static void test_gzip(void)
{
    const char *text = "SessionId\tItemId\tTime\n1\t2\t3.5\n1\t4\t5\n2\t6\t7.25\n";
    sr_read_opts o = opts_fmt(SR_FMT_AUTO);
    sr_log plain, gz;
    sr_read_report rep;
    sr_error e;
    CHECK(rd(text, o, &plain, NULL, &e) == SR_OK);
    for (int members = 1; members <= 2; members++) {
        for (int threads = 1; threads <= 2; threads++) {
            const char *p = tmp_path(members == 1 ? "small.tsv.gz" : "two.tsv.gz");
            write_gz(p, text, strlen(text), members);
            o.threads = threads;
            sr_status st = sr_read_log(p, &o, &gz, &rep, &e);
            CHECK_MSG(st == SR_OK, "%s", e.msg);
            CHECK(logs_equal(&plain, &gz));
            CHECK_EQ_INT(rep.bytes, (int64_t)strlen(text));
            CHECK_EQ_INT(rep.format, SR_FMT_TSV);
            sr_log_free(&gz);
            /* the same bytes from memory */
            size_t n = 0;
            char *raw = test_read_file(p, &n);
            CHECK(raw && (unsigned char)raw[0] == 0x1f);
            st = sr_read_log_mem(raw, n, "mem.gz", &o, &gz, NULL, &e);
            CHECK_MSG(st == SR_OK, "%s", e.msg);
            CHECK(logs_equal(&plain, &gz));
            sr_log_free(&gz);
            /* truncated, then corrupted, then trailing garbage */
            st = sr_read_log_mem(raw, n - 5, "mem.gz", &o, &gz, NULL, &e);
            CHECK(st == SR_ERR_FORMAT && strstr(e.msg, "mem.gz: truncated gzip") != NULL);
            CHECK(log_empty(&gz));
            raw[n / 2] ^= 0x55;
            raw[n / 2 + 1] ^= 0x55;
            st = sr_read_log_mem(raw, n, "mem.gz", &o, &gz, NULL, &e);
            CHECK_MSG(st == SR_ERR_FORMAT || st == SR_ERR_PARSE, "%s", e.msg);
            CHECK(log_empty(&gz));
            raw[n / 2] ^= 0x55;
            raw[n / 2 + 1] ^= 0x55;
            raw = realloc(raw, n + 3);
            memcpy(raw + n, "xyz", 3);
            st = sr_read_log_mem(raw, n + 3, "mem.gz", &o, &gz, NULL, &e);
            CHECK_MSG(st == SR_ERR_FORMAT && strstr(e.msg, "trailing garbage"), "%s", e.msg);
            free(raw);
        }
    }
    /* a gzip of nothing is an empty file */
    const char *p = tmp_path("empty.gz");
    write_gz(p, "", 0, 1);
    CHECK(sr_read_log(p, &o, &gz, NULL, &e) == SR_ERR_EMPTY);
    sr_log_free(&plain);
}

static void test_nrows(void)
{
    const char *text = "1,2014-04-07T10:51:09.277Z,1,0\n"
                       "1,2014-04-07T10:51:10.277Z,2,0\n"
                       "2,bad,3,0\n"
                       "2,2014-04-07T10:51:12.277Z,4,0\n"
                       "garbage\n";
    sr_read_opts o = opts_fmt(SR_FMT_YOOCHOOSE);
    sr_log l;
    sr_read_report rep;
    sr_error e;
    o.nrows = 2; /* stops before the bad line */
    sr_status st = rd(text, o, &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK(l.n == 2 && l.item[1] == 2);
    CHECK_EQ_INT(rep.lines, 2);
    sr_log_free(&l);
    o.nrows = 3; /* includes it */
    st = rd(text, o, &l, &rep, &e);
    CHECK_ERR(st, e, SR_ERR_PARSE, 3, "bad timestamp", "'bad'");
    o.skip_bad_lines = 1; /* the bad line counts as a row */
    o.nrows = 4;
    st = rd(text, o, &l, &rep, &e);
    CHECK(st == SR_OK && l.n == 3 && l.item[2] == 4);
    CHECK_EQ_INT(rep.lines, 4);
    CHECK_EQ_INT(rep.bad_lines, 1);
    sr_log_free(&l);
    /* TSV: the header is not a row */
    o = opts_fmt(SR_FMT_TSV);
    o.nrows = 1;
    st = rd("SessionId\tItemId\tTime\n1\t2\t3\n4\t5\t6\n", o, &l, &rep, &e);
    CHECK(st == SR_OK && l.n == 1 && l.session[0] == 1);
    sr_log_free(&l);
    /* nrows larger than the file */
    o.nrows = 100;
    st = rd("SessionId\tItemId\tTime\n1\t2\t3\n4\t5\t6\n", o, &l, &rep, &e);
    CHECK(st == SR_OK && l.n == 2);
    sr_log_free(&l);
}

/* ---- bad input ------------------------------------------------------------------------------------ */

typedef struct bad_case {
    sr_format fmt;
    const char *text;
    int line;
    const char *what, *offending;
} bad_case;

/* A bad case read with non-default id and time-unit options. */
typedef struct bad_case_opt {
    bad_case c;
    sr_id_type ids;
    sr_time_unit unit;
} bad_case_opt;

static void check_bad(const bad_case *c, size_t i, size_t n, sr_id_type ids, sr_time_unit unit)
{
    for (int threads = 1; threads <= 2; threads++) {
        sr_read_opts o = opts_fmt(c->fmt);
        o.threads = threads;
        o.ids = ids;
        o.time_unit = unit;
        sr_log l;
        sr_error e;
        memset(&e, 0, sizeof e);
        memset(&l, 0x5a, sizeof l);
        sr_status st = sr_read_log_mem(c->text, n, "mem.txt", &o, &l, NULL, &e);
        CHECK_ERR(st, e, SR_ERR_PARSE, c->line, c->what, c->offending);
        CHECK_MSG(log_empty(&l), "case %zu", i);
        /* the reference reader says exactly the same */
        sr_error e2;
        sr_log l2;
        CHECK(srr_read_ref(c->text, n, "mem.txt", &o, &l2, NULL, &e2) == st);
        CHECK_MSG(strcmp(e.msg, e2.msg) == 0, "'%s' vs '%s'", e.msg, e2.msg);
    }
}

static void test_bad_lines(void)
{
    static const bad_case c[] = {
        /* YOOCHOOSE */
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09.277Z,2\n", 1, "wrong field count (3, expected 4)",
         "'1,2014-04-07T10:51:09.277Z,2'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,2,0\n1,2014-04-07T10:51:09Z,2,0,5\n", 2,
         "wrong field count (5, expected 4)", "'1,2014-04-07T10:51:09Z,2,0,5'"},
        {SR_FMT_YOOCHOOSE, "abc,2014-04-07T10:51:09Z,2,0\n", 1, "bad session id", "'abc'"},
        {SR_FMT_YOOCHOOSE, "12a,2014-04-07T10:51:09Z,2,0\n", 1, "bad session id", "'12a'"},
        {SR_FMT_YOOCHOOSE, "-5,2014-04-07T10:51:09Z,2,0\n", 1, "negative session id", "'-5'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,-2,0\n", 1, "negative item id", "'-2'"},
        {SR_FMT_YOOCHOOSE, "9223372036854775808,2014-04-07T10:51:09Z,2,0\n", 1,
         "session id out of int64 range", "'9223372036854775808'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,123456789012345678901234567890,0\n", 1,
         "item id out of int64 range", "'123456789012345678901234567890'"},
        {SR_FMT_YOOCHOOSE, ",2014-04-07T10:51:09Z,2,0\n", 1, "empty session id", "',2014-04"},
        {SR_FMT_YOOCHOOSE, "1,2014-13-07T10:51:09Z,2,0\n", 1, "bad timestamp", "'2014-13-07T10:51:09Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-00-07T10:51:09Z,2,0\n", 1, "bad timestamp", "'2014-00-07"},
        {SR_FMT_YOOCHOOSE, "1,2014-02-30T10:51:09Z,2,0\n", 1, "bad timestamp", "'2014-02-30"},
        {SR_FMT_YOOCHOOSE, "1,2013-02-29T10:51:09Z,2,0\n", 1, "bad timestamp", "'2013-02-29"},
        {SR_FMT_YOOCHOOSE, "1,1900-02-29T10:51:09Z,2,0\n", 1, "bad timestamp", "'1900-02-29"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-31T10:51:09Z,2,0\n", 1, "bad timestamp", "'2014-04-31"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-00T10:51:09Z,2,0\n", 1, "bad timestamp", "'2014-04-00"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T25:51:09Z,2,0\n", 1, "bad timestamp", "T25:51:09Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T24:00:00Z,2,0\n", 1, "bad timestamp", "T24:00:00Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:60:09Z,2,0\n", 1, "bad timestamp", "T10:60:09Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:60Z,2,0\n", 1, "bad timestamp", "T10:51:60Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09.1234567Z,2,0\n", 1, "bad timestamp", ".1234567Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09.Z,2,0\n", 1, "bad timestamp", ":09.Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09.277,2,0\n", 1, "bad timestamp", ":09.277'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07 10:51:09.277Z,2,0\n", 1, "bad timestamp", "07 10:51"},
        {SR_FMT_YOOCHOOSE, "1,14-04-07T10:51:09Z,2,0\n", 1, "bad timestamp", "'14-04-07T10:51:09Z'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,2,X\n", 1, "bad category", "'X'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,2,-1\n", 1, "bad category", "'-1'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,2,\n", 1, "bad category", "''"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,2,0\n\n1,2014-04-07T10:51:09Z,2,0\n", 2,
         "blank line", "''"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,2,0\n\n\n", 2, "blank line", "''"},
        {SR_FMT_YOOCHOOSE, "\r\n1,2014-04-07T10:51:09Z,2,0\n", 1, "blank line", "''"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z,2,0\r\r\n", 1, "bad category", "'0\\r'"},
        {SR_FMT_YOOCHOOSE, "1,2014-04-07T10:51:09Z\r,2,0\n", 1, "bad timestamp", "09Z\\r'"},
        {SR_FMT_YOOCHOOSE, "1 ,2014-04-07T10:51:09Z,2,0\n", 1, "bad session id", "'1 '"},
        {SR_FMT_YOOCHOOSE, "+1,2014-04-07T10:51:09Z,2,0\n", 1, "bad session id", "'+1'"},
        {SR_FMT_YOOCHOOSE, "\x7f" "ELF\x01\x02,\xff\xfe\n", 1, "wrong field count (2, expected 4)",
         "'\\x7fELF\\x01\\x02,\\xff\\xfe'"},
        /* TSV */
        {SR_FMT_TSV, "1\t2\t3\n", 1, "missing header (the first line is data", "'1\\t2\\t3'"},
        {SR_FMT_TSV, "SessionId\tThing\tTime\n1\t2\t3\n", 1, "missing column 'ItemId' in header",
         "'SessionId\\tThing\\tTime'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\tItemId\n", 1, "duplicate column 'ItemId'", "'SessionId"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\n", 2, "wrong field count (2, expected 3)", "'1\\t2'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t3\t4\n", 2, "wrong field count (4, expected 3)",
         "'1\\t2\\t3\\t4'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t1e9\n", 2, "bad time", "'1e9'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t1.2.3\n", 2, "bad time", "'1.2.3'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t1.\n", 2, "bad time", "'1.'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t.5\n", 2, "bad time", "'.5'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t\n", 2, "empty time", "'1\\t2\\t'"},
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t100000000000000000\n", 2, "time out of range",
         "'100000000000000000'"}, /* auto: 1e17 and more is no unit */
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t\t3\n", 2, "empty item id", "'1\\t\\t3'"},
        {SR_FMT_TSV, "Time\tItemId\tSessionId\nx\t-2\ty\n", 2, "bad time", "'x'"}, /* leftmost first */
        {SR_FMT_TSV, "SessionId\tItemId\tTime\n1,2,3\n", 2, "wrong field count (1, expected 3)", "'1,2,3'"},
        {SR_FMT_TSV, "\n1\t2\t3\n", 1, "missing column 'SessionId'", "''"},
        /* DIGINETICA */
        {SR_FMT_DIGINETICA, "1;NA;2;3;2016-05-09\n", 1, "missing header (the first line is data",
         "'1;NA;2;3;2016-05-09'"},
        {SR_FMT_DIGINETICA, "session;user;item;time;date\n", 1, "bad DIGINETICA header",
         "'session;user;item;time;date'"},
        {SR_FMT_DIGINETICA, "session_id;user_id;item_id;timeframe;eventdate\n1;NA;2;3;2016-02-30\n", 2,
         "bad eventdate", "'2016-02-30'"},
        {SR_FMT_DIGINETICA, "session_id;user_id;item_id;timeframe;eventdate\n1;NA;2;3;2016-5-9\n", 2,
         "bad eventdate", "'2016-5-9'"},
        {SR_FMT_DIGINETICA, "session_id;user_id;item_id;timeframe;eventdate\n1;NA;2;-3;2016-05-09\n", 2,
         "negative timeframe", "'-3'"},
        {SR_FMT_DIGINETICA, "session_id;user_id;item_id;timeframe;eventdate\n1;N/A;2;3;2016-05-09\n", 2,
         "bad user id", "'N/A'"},
        {SR_FMT_DIGINETICA, "session_id;user_id;item_id;timeframe;eventdate\n1;NA;2;3\n", 2,
         "wrong field count (4, expected 5)", "'1;NA;2;3'"},
        {SR_FMT_DIGINETICA,
         "session_id;user_id;item_id;timeframe;eventdate\n1;NA;2;9223372036854775807;2016-05-09\n", 2,
         "time out of range", "'1;NA;2;9223372036854775807;2016-05-09'"},
        /* binary garbage with NUL bytes, auto-detected as YOOCHOOSE by its comma */
        {SR_FMT_AUTO, "1,2014-04-07T10:51:09Z,2,0\n1,2014-04-07\0T10:51:09Z,2,0\n", 2, "bad timestamp",
         "'2014-04-07\\x00T10:51:09Z'"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        /* the length covers embedded NULs: up to the last '\n' */
        size_t n = strlen(c[i].text);
        if (c[i].fmt == SR_FMT_AUTO)
            n = sizeof "1,2014-04-07T10:51:09Z,2,0\n1,2014-04-07\0T10:51:09Z,2,0\n" - 1;
        check_bad(&c[i], i, n, SR_IDS_AUTO, SR_UNIT_AUTO);
    }
    static const bad_case_opt co[] = {
        {{SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t99999999999999\n", 2, "time out of range",
          "'99999999999999'"}, SR_IDS_AUTO, SR_UNIT_S},
        {{SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t9223372036854.775808\n", 2,
          "time out of range", "'9223372036854.775808'"}, SR_IDS_AUTO, SR_UNIT_S},
        {{SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2\t9223372036854775.808\n", 2,
          "time out of range", "'9223372036854775.808'"}, SR_IDS_AUTO, SR_UNIT_MS},
        {{SR_FMT_TSV, "SessionId\tItemId\tTime\n1\t2.0\t3\n", 2, "bad item id", "'2.0'"},
         SR_IDS_INT, SR_UNIT_AUTO},
        {{SR_FMT_TSV, "SessionId\tItemId\tTime\n-1\t2\t3\n", 2, "negative session id", "'-1'"},
         SR_IDS_INT, SR_UNIT_AUTO},
        {{SR_FMT_CSV, "SessionId,ItemId,Time\n1,p-2,3\n", 2, "bad item id", "'p-2'"}, SR_IDS_INT,
         SR_UNIT_AUTO},
    };
    for (size_t i = 0; i < sizeof co / sizeof co[0]; i++)
        check_bad(&co[i].c, i, strlen(co[i].c.text), co[i].ids, co[i].unit);
}

static void test_empty_inputs(void)
{
    const char *empties[] = {"", "\n", "\r\n", "\r"};
    for (int f = SR_FMT_AUTO; f <= SR_FMT_DIGINETICA; f++)
        for (int i = 0; i < 4; i++) {
            sr_log l;
            sr_error e;
            sr_status st = rd(empties[i], opts_fmt((sr_format)f), &l, NULL, &e);
            CHECK_MSG(st == SR_ERR_EMPTY, "fmt %d text %d: %s", f, i, e.msg);
            CHECK(strcmp(e.msg, "mem.txt: empty file") == 0);
            CHECK(log_empty(&l));
        }
    sr_log l;
    sr_error e;
    sr_status st = rd("SessionId\tItemId\tTime\n", opts_fmt(SR_FMT_AUTO), &l, NULL, &e);
    CHECK(st == SR_ERR_EMPTY && strstr(e.msg, "mem.txt: no data rows"));
    /* a final blank line is fine */
    st = rd("SessionId\tItemId\tTime\n1\t2\t3\n\n", opts_fmt(SR_FMT_AUTO), &l, NULL, &e);
    CHECK(st == SR_OK && l.n == 1);
    sr_log_free(&l);
    st = rd("SessionId\tItemId\tTime\r\n1\t2\t3\r\n\r\n", opts_fmt(SR_FMT_AUTO), &l, NULL, &e);
    CHECK(st == SR_OK && l.n == 1);
    sr_log_free(&l);
    /* an empty file on disk, and a missing one */
    const char *p = tmp_path("empty.dat");
    write_file(p, "", 0);
    st = sr_read_log(p, NULL, &l, NULL, &e);
    CHECK(st == SR_ERR_EMPTY && strstr(e.msg, "empty.dat: empty file"));
    st = sr_read_log(tmp_path("does-not-exist.dat"), NULL, &l, NULL, &e);
    CHECK(st == SR_ERR_IO && strstr(e.msg, "does-not-exist.dat: cannot open: No such file"));
    CHECK(log_empty(&l));
    st = sr_read_log(test_tmpdir(), NULL, &l, NULL, &e);
    CHECK(st == SR_ERR_IO && strstr(e.msg, "read failed"));
}

static void test_skip_bad_lines(void)
{
    const char *text = "1,2014-04-07T10:51:09Z,1,0\n"
                       "1,2014-04-07T10:51:09Z,2\n"
                       "\n"
                       "1,2014-04-07T10:51:09Z,3,0\n"
                       "x,2014-04-07T10:51:09Z,4,0\n"
                       "1,2014-04-07T10:51:09Z,5,0\n";
    sr_read_opts o = opts_fmt(SR_FMT_YOOCHOOSE);
    o.skip_bad_lines = 1;
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_status st = rd(text, o, &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(l.n, 3);
    CHECK(l.n == 3 && l.item[0] == 1 && l.item[1] == 3 && l.item[2] == 5);
    CHECK_EQ_INT(rep.bad_lines, 3);
    CHECK_EQ_INT(rep.lines, 6);
    CHECK_MSG(strcmp(rep.first_bad, "mem.txt:2: wrong field count (3, expected 4) "
                                    "'1,2014-04-07T10:51:09Z,2'") == 0,
              "%s", rep.first_bad);
    sr_log_free(&l);
    /* all bad -> empty */
    st = rd("a,b,c,d\n\nx\n\n", o, &l, &rep, &e); /* the last blank line is not a line */
    CHECK_MSG(st == SR_ERR_EMPTY && strstr(e.msg, "mem.txt: no valid data rows (3 bad lines skipped)"),
              "%s", e.msg);
    CHECK(log_empty(&l));
    /* header errors are not skippable */
    o.format = SR_FMT_TSV;
    st = rd("a\tb\n1\t2\n", o, &l, &rep, &e);
    CHECK(st == SR_ERR_PARSE && strstr(e.msg, "mem.txt:1: missing column"));
}

static void test_escape(void)
{
    char out[128];
    srr_escape(out, sizeof out, "a\tb\x01\xff\\", 6);
    CHECK(strcmp(out, "a\\tb\\x01\\xff\\\\") == 0);
    char lng[200];
    memset(lng, 'x', sizeof lng);
    srr_escape(out, sizeof out, lng, sizeof lng);
    CHECK(strlen(out) == SRR_TEXT_MAX + 3 && strcmp(out + SRR_TEXT_MAX, "...") == 0);
    srr_escape(out, 8, lng, sizeof lng); /* tiny buffer: still terminated */
    CHECK(strlen(out) < 8);
}

/* ---- big buffers: threads, reference, files ----------------------------------------------------- */

static uint64_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

/* ~n lines of YOOCHOOSE-ish text; with `noise`, some malformed lines. */
static char *gen_yoochoose(int n, int noise, size_t *len)
{
    size_t cap = (size_t)n * 64 + 64;
    char *b = malloc(cap);
    size_t o = 0;
    int64_t sess = 1;
    for (int i = 0; i < n; i++) {
        if (rnd() % 3 == 0)
            sess++;
        unsigned r = rnd() % 1000;
        int day = 1 + (int)(rnd() % 28), h = (int)(rnd() % 24), m = (int)(rnd() % 60);
        int s = (int)(rnd() % 60), frac = (int)(rnd() % 1000);
        const char *cat = r < 600 ? "0" : r < 800 ? "S" : r < 900 ? "11" : "2089639422";
        if (noise && r < 8) {
            const char *junk[] = {"1,2,3", "", "x,2014-04-01T00:00:00Z,1,0", "1,2014-02-30T00:00:00Z,1,0",
                                  "1,2014-04-01T00:00:00Z,1,0,0", "\r", "1,2014-04-01T00:00:00Z,-1,0",
                                  "99999999999999999999,2014-04-01T00:00:00Z,1,0"};
            o += (size_t)snprintf(b + o, cap - o, "%s\n", junk[r]);
            continue;
        }
        o += (size_t)snprintf(b + o, cap - o, "%lld,2014-%02d-%02dT%02d:%02d:%02d.%03dZ,%u,%s%s\n",
                              (long long)sess, 4 + (int)(rnd() % 6), day, h, m, s, frac,
                              214500000u + rnd() % 50000, cat, r % 7 == 0 ? "\r" : "");
    }
    *len = o;
    return b;
}

/* ~n lines of TSV (extra column, CRLF now and then) or DIGINETICA, with noise. */
static char *gen_other(sr_format f, int n, size_t *len)
{
    size_t cap = (size_t)n * 128 + 128;
    char *b = malloc(cap);
    static char longnote[3001];
    memset(longnote, 'n', 3000); /* long lines: several pieces end at the same newline */
    size_t o = (size_t)snprintf(b, cap, "%s\n",
                                f == SR_FMT_TSV ? "SessionId\tNote\tTime\tItemId"
                                                : "session_id;user_id;item_id;timeframe;eventdate");
    for (int i = 0; i < n; i++) {
        unsigned r = rnd() % 1000;
        if (r < 10) {
            const char *junk[] = {"", "\r", "1;2", "1\t2", "x\ty\tz\tw", "1;NA;2;3;2016-13-01",
                                  "-1\t\t1\t2", "1;NA;-2;3;2016-01-01", "1\tn\t1e9\t2",
                                  "1;NA;2;3;2016-02-29;"};
            o += (size_t)snprintf(b + o, cap - o, "%s\n", junk[r]);
            continue;
        }
        unsigned s = rnd() % 100000, it = rnd() % 70000;
        if (f == SR_FMT_TSV)
            o += (size_t)snprintf(b + o, cap - o, "%u\t%s\t%u.%0*u\t%u%s\n", s,
                                  r % 41 == 0 ? longnote : r % 3 ? "" : "note",
                                  1396310400u + rnd() % 9000000, 1 + (int)(r % 7), rnd() % 1000000,
                                  it, r % 5 == 0 ? "\r" : "");
        else
            o += (size_t)snprintf(b + o, cap - o, "%u;%s;%u;%u;2016-%02u-%02u\n", s,
                                  r % 2 ? "NA" : "17", it, rnd() % 2000000, 1 + rnd() % 12,
                                  1 + rnd() % 28);
    }
    *len = o;
    return b;
}

/* Tiny chunks and pieces (zero-copy and buffered) against the reference reader. */
static void test_tuned_vs_reference(void)
{
    for (int f = SR_FMT_YOOCHOOSE; f <= SR_FMT_DIGINETICA; f++) {
        size_t n;
        char *text = f == SR_FMT_YOOCHOOSE ? gen_yoochoose(3000, 1, &n) : gen_other((sr_format)f, 3000, &n);
        for (int skip = 0; skip <= 1; skip++)
            for (int64_t nrows = 0; nrows <= 2000; nrows += 1000) {
                sr_read_opts o = opts_fmt(SR_FMT_AUTO);
                o.skip_bad_lines = skip;
                o.nrows = nrows;
                sr_log ref, l;
                sr_read_report rr, rep;
                sr_error er, e;
                memset(&er, 0, sizeof er);
                sr_status sref = srr_read_ref(text, n, "m", &o, &ref, &rr, &er);
                CHECK(skip ? sref == SR_OK : sref == SR_ERR_PARSE);
                for (int k = 0; k < 6; k++) {
                    srr_tuning tu = srr_default_tuning();
                    tu.chunk_min = (size_t)1 + (size_t)k * 97;
                    tu.chunk_max = (size_t)4096 << (k % 3);
                    tu.piece_min = (size_t)64 << k;
                    tu.buffered_mem = k & 1;
                    o.threads = 1 + k % 3;
                    memset(&e, 0, sizeof e);
                    sr_status st = srr_read_mem_tuned(text, n, "m", &o, &tu, &l, &rep, &e);
                    CHECK_MSG(st == sref && strcmp(e.msg, er.msg) == 0, "fmt %d k %d: '%s' vs '%s'",
                              f, k, e.msg, er.msg);
                    CHECK(logs_equal(&l, &ref));
                    CHECK_EQ_INT(rep.lines, rr.lines);
                    CHECK_EQ_INT(rep.bad_lines, rr.bad_lines);
                    CHECK(strcmp(rep.first_bad, rr.first_bad) == 0);
                    sr_log_free(&l);
                }
                if (skip)
                    CHECK(rr.bad_lines > 3 && ref.n + rr.bad_lines == rr.lines &&
                          (nrows ? rr.lines == nrows : rr.lines >= 2999)); /* a last blank line is not one */
                sr_log_free(&ref);
            }
        free(text);
    }
}

static void test_threads_identical(void)
{
    size_t n;
    char *text = gen_yoochoose(150000, 1, &n); /* ~6 MB: several chunks and pieces */
    sr_read_opts o = opts_fmt(SR_FMT_AUTO);
    o.skip_bad_lines = 1;
    sr_log ref, l;
    sr_read_report rref, rep;
    sr_error e;
    CHECK(srr_read_ref(text, n, "mem.txt", &o, &ref, &rref, &e) == SR_OK);
    CHECK(rref.bad_lines > 500);
    for (int threads = 1; threads <= 4; threads++) {
        o.threads = threads;
        sr_status st = sr_read_log_mem(text, n, "mem.txt", &o, &l, &rep, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        CHECK(logs_equal(&ref, &l));
        CHECK_EQ_INT(rep.lines, rref.lines);
        CHECK_EQ_INT(rep.bad_lines, rref.bad_lines);
        CHECK(strcmp(rep.first_bad, rref.first_bad) == 0);
        sr_log_free(&l);
        /* nrows falling inside the second piece of a chunk */
        o.nrows = 100000 + threads;
        sr_log r2;
        sr_read_report rr2;
        CHECK(srr_read_ref(text, n, "mem.txt", &o, &r2, &rr2, &e) == SR_OK);
        st = sr_read_log_mem(text, n, "mem.txt", &o, &l, &rep, &e);
        CHECK(st == SR_OK && logs_equal(&r2, &l));
        CHECK_EQ_INT(rep.lines, o.nrows);
        CHECK_EQ_INT(rep.bad_lines, rr2.bad_lines);
        CHECK(rr2.bad_lines < rref.bad_lines);
        sr_log_free(&l);
        sr_log_free(&r2);
        o.nrows = 0;
    }
    /* without skipping, the FIRST bad line in file order is reported, whatever the threads */
    o.skip_bad_lines = 0;
    char want[512] = "";
    for (int threads = 1; threads <= 3; threads++) {
        o.threads = threads;
        sr_status st = sr_read_log_mem(text, n, "mem.txt", &o, &l, &rep, &e);
        CHECK(st == SR_ERR_PARSE && log_empty(&l));
        if (threads == 1)
            snprintf(want, sizeof want, "%s", e.msg);
        CHECK_MSG(strcmp(want, e.msg) == 0, "'%s' vs '%s'", want, e.msg);
    }
    sr_error e2;
    sr_log_free(&ref);
    CHECK(srr_read_ref(text, n, "mem.txt", &o, &ref, NULL, &e2) == SR_ERR_PARSE);
    CHECK(log_empty(&ref));
    CHECK(strcmp(e2.msg, want) == 0);
    /* a clean buffer with a single bad line far in (second piece of a late chunk) */
    free(text);
    text = gen_yoochoose(150000, 0, &n);
    size_t at = n - n / 5;
    while (text[at - 1] != '\n')
        at++;
    int64_t line = 1;
    for (size_t i = 0; i < at; i++)
        line += text[i] == '\n';
    memcpy(text + at, "oops", 4);
    for (int threads = 1; threads <= 3; threads++) {
        o.threads = threads;
        sr_status st = sr_read_log_mem(text, n, "mem.txt", &o, &l, &rep, &e);
        char pre[64];
        snprintf(pre, sizeof pre, "mem.txt:%lld: bad session id 'oops", (long long)line);
        CHECK_MSG(st == SR_ERR_PARSE && strncmp(e.msg, pre, strlen(pre)) == 0, "%s", e.msg);
        /* and through a file (buffered reader, producer thread) */
        const char *p = tmp_path("oops.dat");
        write_file(p, text, n);
        st = sr_read_log(p, &o, &l, &rep, &e);
        snprintf(pre, sizeof pre, "%s:%lld: bad session id 'oops", p, (long long)line);
        CHECK_MSG(st == SR_ERR_PARSE && strncmp(e.msg, pre, strlen(pre)) == 0, "%s", e.msg);
    }
    free(text);
}

static void test_file_equals_mem(void)
{
    size_t n;
    char *text = gen_yoochoose(120000, 1, &n);
    const char *p = tmp_path("big.dat");
    write_file(p, text, n);
    sr_read_opts o = opts_fmt(SR_FMT_AUTO);
    o.skip_bad_lines = 1;
    sr_log a, b;
    sr_read_report ra, rb;
    sr_error e;
    for (int threads = 1; threads <= 2; threads++) {
        o.threads = threads;
        CHECK(sr_read_log_mem(text, n, p, &o, &a, &ra, &e) == SR_OK);
        sr_status st = sr_read_log(p, &o, &b, &rb, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        CHECK(logs_equal(&a, &b));
        CHECK_EQ_INT(ra.lines, rb.lines);
        CHECK_EQ_INT(ra.bad_lines, rb.bad_lines);
        CHECK(strcmp(ra.first_bad, rb.first_bad) == 0);
        CHECK_EQ_INT(rb.bytes, (int64_t)n);
        sr_log_free(&a);
        sr_log_free(&b);
        /* gzip of the same */
        const char *g = tmp_path("big.dat.gz");
        write_gz(g, text, n, 1);
        CHECK(sr_read_log_mem(text, n, g, &o, &a, &ra, &e) == SR_OK);
        st = sr_read_log(g, &o, &b, &rb, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        CHECK(logs_equal(&a, &b));
        CHECK(strcmp(ra.first_bad, rb.first_bad) == 0);
        sr_log_free(&a);
        sr_log_free(&b);
    }
    free(text);
}

/* The file reader's first chunk is 64 KiB: put a blank line exactly at its end. */
static void test_chunk_boundaries(void)
{
    const size_t K = (size_t)64 << 10;
    char *t = malloc(K + 4096);
    const char *ln = "1,2014-04-07T10:51:09.277Z,214536502,0\n"; /* 39 bytes */
    size_t o = 0;
    while (o + 39 + 39 < K - 1) {
        memcpy(t + o, ln, 39);
        o += 39;
    }
    /* one line that ends at byte K-2 (session id padded with zeros), then "\n" */
    size_t rest = K - 1 - o, tail = strlen("2,2014-04-07T10:51:09Z,7,0\n");
    CHECK(rest >= tail);
    memset(t + o, '0', rest - tail);
    o += rest - tail;
    memcpy(t + o, "2,2014-04-07T10:51:09Z,7,0\n", tail);
    o += tail;
    t[o++] = '\n'; /* the blank line, its '\n' at byte K-1 */
    CHECK_EQ_INT(o, K);
    const char *p = tmp_path("boundary.dat");
    sr_read_opts op = opts_fmt(SR_FMT_YOOCHOOSE);
    sr_log l;
    sr_read_report rep;
    sr_error e;
    for (int threads = 1; threads <= 2; threads++) {
        op.threads = threads;
        /* blank line at the very end: fine */
        write_file(p, t, o);
        sr_status st = sr_read_log(p, &op, &l, &rep, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        int64_t nl = 0;
        for (size_t i = 0; i < o; i++)
            nl += t[i] == '\n';
        CHECK_EQ_INT(l.n, nl - 1);
        CHECK(l.n > 0 && l.item[l.n - 1] == 7);
        sr_log_free(&l);
        /* something after it: the blank line is an error at its own line */
        memcpy(t + o, ln, 39);
        write_file(p, t, o + 39);
        st = sr_read_log(p, &op, &l, &rep, &e);
        char want[600];
        snprintf(want, sizeof want, "%s:%lld: blank line ''", p, (long long)nl);
        CHECK_MSG(st == SR_ERR_PARSE && strcmp(e.msg, want) == 0, "%s vs %s", e.msg, want);
        /* same from memory */
        sr_error e2;
        st = sr_read_log_mem(t, o + 39, p, &op, &l, &rep, &e2);
        CHECK(st == SR_ERR_PARSE && strcmp(e2.msg, want) == 0);
    }
    free(t);
}

static void test_overlong_line(void)
{
    size_t big = (size_t)3 << 20;
    char *t = malloc(big + 256);
    size_t o = 0;
    o += (size_t)sprintf(t + o, "1,2014-04-07T10:51:09Z,1,0\n");
    memset(t + o, 'x', big - 200);
    o += big - 200;
    t[o++] = '\n';
    o += (size_t)sprintf(t + o, "2,2014-04-07T10:51:09Z,2,0\n");
    const char *p = tmp_path("overlong.dat");
    write_file(p, t, o);
    sr_read_opts op = opts_fmt(SR_FMT_YOOCHOOSE);
    sr_log l;
    sr_read_report rep;
    sr_error e;
    for (int threads = 1; threads <= 2; threads++) {
        op.threads = threads;
        op.skip_bad_lines = 0;
        sr_status st = sr_read_log(p, &op, &l, &rep, &e);
        CHECK_MSG(st == SR_ERR_PARSE && strstr(e.msg, ":2: line too long") &&
                      strstr(e.msg, "'xxxxxxxx"),
                  "%s", e.msg);
        op.skip_bad_lines = 1;
        st = sr_read_log(p, &op, &l, &rep, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        CHECK(l.n == 2 && l.session[1] == 2);
        CHECK_EQ_INT(rep.bad_lines, 1);
        CHECK_EQ_INT(rep.lines, 3);
        CHECK(strstr(rep.first_bad, ":2: line too long") != NULL);
        sr_log_free(&l);
        /* from memory: the same verdict and message */
        char first[256];
        snprintf(first, sizeof first, "%s", rep.first_bad);
        st = sr_read_log_mem(t, o, p, &op, &l, &rep, &e);
        CHECK(st == SR_OK && l.n == 2 && rep.bad_lines == 1);
        CHECK_MSG(strcmp(first, rep.first_bad) == 0, "'%s' vs '%s'", first, rep.first_bad);
        sr_log_free(&l);
        op.skip_bad_lines = 0;
        sr_error e2;
        st = sr_read_log_mem(t, o, p, &op, &l, &rep, &e2);
        CHECK(st == SR_ERR_PARSE);
        CHECK(srr_read_ref(t, o, p, &op, &l, &rep, &e) == SR_ERR_PARSE);
        CHECK_MSG(strcmp(e.msg, e2.msg) == 0, "'%s' vs '%s'", e.msg, e2.msg);
        CHECK(strstr(e.msg, ":2: line too long (more than 1048576 bytes) 'xxxxxxx") != NULL);
    }
    free(t);
}

/* A TSV line made long by an ignored column: too long everywhere, same message. */
static void test_long_tsv_line(void)
{
    size_t big = SRR_MAX_LINE + 100;
    char *t = malloc(big + 256);
    size_t o = (size_t)sprintf(t, "SessionId\tItemId\tTime\tNote\n1\t2\t3\t");
    memset(t + o, 'n', big);
    o += big;
    o += (size_t)sprintf(t + o, "\n4\t5\t6\tok\n");
    sr_read_opts op = opts_fmt(SR_FMT_TSV);
    sr_log l;
    sr_error e1, e2, e3;
    const char *p = tmp_path("long.tsv");
    write_file(p, t, o);
    CHECK(sr_read_log(p, &op, &l, NULL, &e1) == SR_ERR_PARSE);
    CHECK(sr_read_log_mem(t, o, p, &op, &l, NULL, &e2) == SR_ERR_PARSE);
    CHECK(srr_read_ref(t, o, p, &op, &l, NULL, &e3) == SR_ERR_PARSE);
    CHECK(strstr(e1.msg, ":2: line too long (more than 1048576 bytes) '1\\t2\\t3\\tnnn") != NULL);
    CHECK_MSG(strcmp(e1.msg, e2.msg) == 0 && strcmp(e2.msg, e3.msg) == 0, "%s | %s | %s", e1.msg,
              e2.msg, e3.msg);
    op.skip_bad_lines = 1;
    CHECK(sr_read_log_mem(t, o, p, &op, &l, NULL, &e2) == SR_OK);
    CHECK(l.n == 1 && l.session[0] == 4);
    sr_log_free(&l);
    free(t);
}

static void test_log_push(void)
{
    sr_log l;
    memset(&l, 0, sizeof l);
    for (int i = 0; i < 5000; i++)
        CHECK(sr_log_push(&l, i, 2 * i, 3 * i) == SR_OK);
    CHECK(l.n == 5000 && l.cap >= 5000);
    CHECK(l.session[4999] == 4999 && l.item[4999] == 9998 && l.time[4999] == 14997);
    sr_log_free(&l);
    CHECK(log_empty(&l));
    sr_log_free(NULL);
    sr_read_opts o = sr_read_default_opts();
    CHECK(o.format == SR_FMT_AUTO && o.nrows == 0 && o.skip_bad_lines == 0 && o.threads == 0 &&
          !o.session_key && !o.item_key && !o.time_key);
}

/* ---- real data ------------------------------------------------------------------------------------- */

static const char *data_path(const char *rel)
{
    static char p[4][512];
    static int k;
    char *s = p[k++ & 3];
    snprintf(s, 512, "%s/%s", test_data_dir(), rel);
    return s;
}

static int have(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static void test_real_yoochoose_head(void)
{
    const char *p = data_path("raw/yoochoose-clicks-head1000.dat");
    if (!have(p))
        SKIP("../shared/data missing");
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_status st = sr_read_log(p, NULL, &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(l.n, 1000);
    CHECK_EQ_INT(rep.format, SR_FMT_YOOCHOOSE);
    if (st != SR_OK)
        return;
    /* first: 1,2014-04-07T10:51:09.277Z,214536502,0 ; last: 324,2014-04-04T17:00:27.960Z,214833802,0 */
    CHECK_EQ_INT(l.session[0], 1);
    CHECK_EQ_INT(l.item[0], 214536502);
    CHECK_EQ_INT(l.time[0], INT64_C(1396867869277000));
    CHECK_EQ_INT(l.session[999], 324);
    CHECK_EQ_INT(l.item[999], 214833802);
    CHECK_EQ_INT(l.time[999], INT64_C(1396630827960000));
    /* distinct sessions, counted independently from the text */
    FILE *f = fopen(p, "r");
    char line[256];
    int64_t ids[1100];
    int64_t n = 0;
    while (n < 1100 && fgets(line, sizeof line, f))
        ids[n++] = strtoll(line, NULL, 10);
    fclose(f);
    CHECK_EQ_INT(n, 1000);
    CHECK_EQ_INT(n_distinct(l.session, l.n), n_distinct(ids, n));
    CHECK_EQ_INT(n_distinct(l.session, l.n), 272);
    sr_log_free(&l);
}

static void test_real_diginetica(void)
{
    const char *p = data_path("raw/diginetica-train-item-views-sample.csv");
    if (!have(p))
        SKIP("../shared/data missing");
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_status st = sr_read_log(p, NULL, &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    if (st != SR_OK)
        return;
    CHECK_EQ_INT(rep.format, SR_FMT_DIGINETICA);
    /* The README says "12,391 lines" (wc -l); the last line has no newline,
     * so the file holds the header and 12,391 data rows. */
    CHECK_EQ_INT(l.n, 12391);
    /* independent count: fields split by hand */
    FILE *f = fopen(p, "r");
    char line[256];
    int64_t *s = malloc(20000 * sizeof *s), *it = malloc(20000 * sizeof *it);
    int64_t n = 0, na = 0;
    CHECK(fgets(line, sizeof line, f) != NULL); /* header */
    while (n < 20000 && fgets(line, sizeof line, f)) {
        char *u = strchr(line, ';'), *i = u ? strchr(u + 1, ';') : NULL;
        s[n] = strtoll(line, NULL, 10);
        it[n] = i ? strtoll(i + 1, NULL, 10) : -1;
        na += u && strncmp(u + 1, "NA;", 3) == 0;
        n++;
    }
    fclose(f);
    CHECK_EQ_INT(n, 12391);
    CHECK(na > 1000);
    CHECK_EQ_INT(n_distinct(l.session, l.n), n_distinct(s, n));
    CHECK_EQ_INT(n_distinct(l.item, l.n), n_distinct(it, n));
    CHECK_EQ_INT(n_distinct(l.session, l.n), 2986);
    CHECK_EQ_INT(n_distinct(l.item, l.n), 7139);
    int same = 1;
    for (int64_t k = 0; k < n && k < l.n; k++)
        same &= s[k] == l.session[k] && it[k] == l.item[k];
    CHECK(same);
    /* first row: 1;NA;81766;526309;2016-05-09 */
    CHECK_EQ_INT(l.time[0], INT64_C(1462752000000000) + INT64_C(526309000));
    free(s);
    free(it);
    sr_log_free(&l);
}

static void check_tsv_counts(const char *rel, int64_t clicks, int64_t sessions, int64_t items)
{
    const char *p = data_path(rel);
    sr_log l;
    sr_read_report rep;
    sr_error e;
    for (int threads = 1; threads <= 2; threads++) {
        sr_read_opts o = sr_read_default_opts();
        o.threads = threads;
        sr_status st = sr_read_log(p, &o, &l, &rep, &e);
        CHECK_MSG(st == SR_OK, "%s", e.msg);
        CHECK_EQ_INT(rep.format, SR_FMT_TSV);
        CHECK_EQ_INT(l.n, clicks);
        CHECK_EQ_INT(n_distinct(l.session, l.n), sessions);
        CHECK_EQ_INT(n_distinct(l.item, l.n), items);
        sr_log_free(&l);
    }
}

static void test_real_rsc15_100k(void)
{
    if (!have(data_path("rsc15-100k/train_full.tsv")))
        SKIP("../shared/data missing");
    check_tsv_counts("rsc15-100k/train_full.tsv", 70278, 17794, 2933);
    check_tsv_counts("rsc15-100k/test.tsv", 13568, 3416, 1771);
    /* Time keeps its fraction exactly: 1396860669.277 in test.tsv's first row */
    sr_log l;
    sr_error e;
    CHECK(sr_read_log(data_path("rsc15-100k/test.tsv"), NULL, &l, NULL, &e) == SR_OK);
    CHECK(l.n > 0 && l.time[0] == INT64_C(1396860669277000) && l.item[0] == 214536502);
    sr_log_free(&l);
}

static void test_real_yoochoose1_64(void)
{
    if (!have(data_path("yoochoose1_64/train.tsv")))
        SKIP("../shared/data missing");
    check_tsv_counts("yoochoose1_64/train.tsv", 486026, 116167, 17376);
    /* test: 15,324 sessions; 55,898 predictions = clicks - sessions */
    const char *p = data_path("yoochoose1_64/test.tsv");
    sr_log l;
    sr_error e;
    CHECK(sr_read_log(p, NULL, &l, NULL, &e) == SR_OK);
    CHECK_EQ_INT(n_distinct(l.session, l.n), 15324);
    CHECK_EQ_INT(l.n, 55898 + 15324);
    /* ordinal times are seconds: Time 486027 -> 486027e6 us */
    CHECK(l.n > 0 && l.time[0] == INT64_C(486027000000));
    sr_log_free(&l);
    /* the reference reader agrees on the whole train file */
    size_t n = 0;
    char *text = test_read_file(data_path("yoochoose1_64/train.tsv"), &n);
    sr_log a, b;
    CHECK(text && srr_read_ref(text, n, "t", NULL, &a, NULL, &e) == SR_OK);
    CHECK(sr_read_log_mem(text, n, "t", NULL, &b, NULL, &e) == SR_OK);
    CHECK(logs_equal(&a, &b));
    sr_log_free(&a);
    sr_log_free(&b);
    free(text);
}

int main(void)
{
    RUN(test_yoochoose_values);
    RUN(test_yoochoose_calendar);
    RUN(test_tsv_values);
    RUN(test_tsv_columns);
    RUN(test_diginetica_values);
    RUN(test_auto_detect);
    RUN(test_gzip);
    RUN(test_nrows);
    RUN(test_bad_lines);
    RUN(test_empty_inputs);
    RUN(test_skip_bad_lines);
    RUN(test_escape);
    RUN(test_tuned_vs_reference);
    RUN(test_threads_identical);
    RUN(test_file_equals_mem);
    RUN(test_chunk_boundaries);
    RUN(test_overlong_line);
    RUN(test_long_tsv_line);
    RUN(test_log_push);
    RUN(test_real_yoochoose_head);
    RUN(test_real_diginetica);
    RUN(test_real_rsc15_100k);
    RUN(test_real_yoochoose1_64);
    cleanup();
    return test_summary();
}
