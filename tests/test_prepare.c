/*
 * test_prepare.c - cleaning and splitting (sr_prepare, sr_split_from_log) on
 * small hand-made logs with exact expected outputs, a randomized comparison
 * against a naive reference implementation, and the `sessrec prepare` command
 * run end to end through system().
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------- */

/* A click of a hand-made log: session, item, time in seconds. */
typedef struct row { int64_t s, i; double t; } row;

/* Private log builder (independent of the readers' sr_log_push). */
static void log_build(sr_log *log, const row *r, int n)
{
    memset(log, 0, sizeof *log);
    log->n = log->cap = n;
    log->session = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    log->item = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    log->time = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    for (int k = 0; k < n; k++) {
        log->session[k] = r[k].s;
        log->item[k] = r[k].i;
        log->time[k] = (int64_t)llround(r[k].t * 1e6);
    }
}

static void log_drop(sr_log *log)
{
    free(log->session);
    free(log->item);
    free(log->time);
    memset(log, 0, sizeof *log);
}

/* A split as text: "sid:item@t item@t|sid:..." with original ids and times in
 * seconds (%g), so expectations read like the logs above. */
static const char *dump(const sr_split *s)
{
    static char buf[8][4096];
    static int which;
    char *b = buf[which++ % 8];
    size_t w = 0;
    b[0] = 0;
    for (int64_t k = 0; k < s->n_sessions; k++) {
        w += (size_t)snprintf(b + w, 4096 - w, "%s%lld:", k ? "|" : "", (long long)s->session_ids[k]);
        for (int64_t j = s->offsets[k]; j < s->offsets[k + 1]; j++)
            w += (size_t)snprintf(b + w, 4096 - w, "%s%lld@%g", j > s->offsets[k] ? " " : "",
                                  (long long)s->item_ids[s->items[j]], (double)s->times[j] / 1e6);
    }
    return b;
}

/* The item table as text: "id id id". */
static const char *dump_items(const sr_split *s)
{
    static char buf[4][1024];
    static int which;
    char *b = buf[which++ % 4];
    size_t w = 0;
    b[0] = 0;
    for (int64_t i = 0; i < s->n_items; i++)
        w += (size_t)snprintf(b + w, 1024 - w, "%s%lld", i ? " " : "", (long long)s->item_ids[i]);
    return b;
}

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        CHECK_MSG(strcmp(a_, b_) == 0, "\n    got      %s\n    expected %s", a_, b_);     \
    } while (0)

static sr_prepare_opts opts(int L, int K, double test_days)
{
    sr_prepare_opts o = sr_prepare_default_opts();
    o.min_session_length = L;
    o.min_item_support = K;
    o.test_days = test_days;
    return o;
}

#define SECONDS(x) ((x) / 86400.0)

/* ---- hand-made cases ----------------------------------------------------------------- */

/* Items A=1 B=2 C=3 D=4 X=9, min length 2, min support 2. Dropping X shortens
 * session 3, dropping it makes C rare, which shortens 4, whose drop makes D
 * rare, which shortens 5: the recursive filter needs 5 rounds (4 that drop). */
static const row chain[] = {
    {1, 1, 1},   {1, 2, 2},   {2, 1, 3},   {2, 2, 4},  {3, 3, 5},  {3, 9, 6},
    {4, 3, 7},   {4, 4, 8},   {5, 4, 9},   {5, 1, 10}, {6, 1, 100}, {6, 2, 101},
};

static void test_recursive_fixed_point(void)
{
    sr_log log;
    log_build(&log, chain, (int)(sizeof chain / sizeof *chain));
    sr_prepare_opts o = opts(2, 2, SECONDS(10));
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_EQ_INT(p.filter_rounds, 5);
    CHECK_EQ_INT(p.filtered_events, 6);
    CHECK_STR(dump(&p.train_full), "1:1@1 2@2|2:1@3 2@4");
    CHECK_STR(dump(&p.test), "6:1@100 2@101");
    CHECK_STR(dump_items(&p.train_full), "1 2");
    CHECK_EQ_INT(p.has_valid, 0);
    CHECK_EQ_INT(p.train.n_events, 0);
    CHECK_EQ_INT(p.valid.n_events, 0);
    sr_prepared_free(&p);
    log_drop(&log);
}

static void test_rsc15_differs(void)
{
    sr_log log;
    log_build(&log, chain, (int)(sizeof chain / sizeof *chain));
    sr_prepare_opts o = opts(2, 2, SECONDS(10));
    o.filter = SR_FILTER_RSC15;
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_EQ_INT(p.filter_rounds, 1);
    CHECK_EQ_INT(p.filtered_events, 10);
    /* One pass: X goes, session 3 becomes length 1 and goes; C, D are not revisited. */
    CHECK_STR(dump(&p.train_full), "1:1@1 2@2|2:1@3 2@4|4:3@7 4@8|5:4@9 1@10");
    CHECK_STR(dump(&p.test), "6:1@100 2@101");
    CHECK_STR(dump_items(&p.train_full), "1 2 3 4");
    sr_prepared_free(&p);

    log_drop(&log);
}

/* T = 200000; cut = T - 86400 = 113600: session 11 ends exactly at the cut and
 * goes to test, session 12 ends one second before and stays in train. */
static void test_split_boundary(void)
{
    static const row r[] = {
        {10, 1, 0},      {10, 2, 100},   {11, 1, 50000}, {11, 2, 113600}, {12, 2, 40000},
        {12, 3, 113599}, {13, 3, 150000}, {13, 1, 200000},
    };
    sr_log log;
    log_build(&log, r, (int)(sizeof r / sizeof *r));
    sr_prepare_opts o = opts(2, 1, 1.0);
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.train_full), "10:1@0 2@100|12:2@40000 3@113599");
    CHECK_STR(dump(&p.test), "11:1@50000 2@113600|13:3@150000 1@200000");
    sr_prepared_free(&p);
    /* The same cut given in seconds (as the CLI's "86400s" would). */
    o.test_days = 86400.0 / 86400.0;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.test), "11:1@50000 2@113600|13:3@150000 1@200000");
    sr_prepared_free(&p);
    /* One microsecond less of test window: session 11 ends before the cut. */
    o.test_days = (86400.0 - 1e-6) / 86400.0;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.test), "13:3@150000 1@200000");
    CHECK_STR(dump(&p.train_full), "10:1@0 2@100|12:2@40000 3@113599|11:1@50000 2@113600");
    sr_prepared_free(&p);
    log_drop(&log);
}

static void test_unseen_test_items_dropped(void)
{
    static const row r[] = {
        {1, 1, 0},    {1, 2, 1},    {1, 3, 2},    {2, 1, 3},    {2, 2, 4},
        {3, 1, 1000}, {3, 9, 1001}, {3, 2, 1002}, /* 9 unseen: 1 2 remain */
        {4, 9, 1003}, {4, 1, 1004},               /* -> [1]: shorter than 2, dropped */
        {5, 8, 1005}, {5, 9, 1006},               /* -> []: dropped */
    };
    sr_log log;
    log_build(&log, r, (int)(sizeof r / sizeof *r));
    sr_prepare_opts o = opts(2, 1, SECONDS(100));
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.train_full), "1:1@0 2@1 3@2|2:1@3 2@4");
    CHECK_STR(dump(&p.test), "3:1@1000 2@1002");
    CHECK_STR(dump_items(&p.train_full), "1 2 3");
    CHECK_STR(dump_items(&p.test), "1 2 3");
    CHECK_EQ_INT(p.test.n_events, 2);
    CHECK_EQ_INT(p.test.n_sessions, 1);
    sr_prepared_free(&p);
    /* With min session length 1, session 4 survives as one click. */
    o.min_session_length = 1;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.test), "3:1@1000 2@1002|4:1@1004");
    sr_prepared_free(&p);
    log_drop(&log);
}

static void test_dedup(void)
{
    static const row r[] = {
        {1, 5, 1}, {1, 5, 2}, {1, 6, 3}, {1, 6, 4}, {1, 6, 5}, {1, 5, 6},
        {2, 7, 7}, {2, 7, 8}, {3, 5, 100}, {3, 6, 101},
    };
    sr_log log;
    log_build(&log, r, (int)(sizeof r / sizeof *r));
    sr_prepare_opts o = opts(2, 1, SECONDS(10));
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.train_full), "1:5@1 5@2 6@3 6@4 6@5 5@6|2:7@7 7@8");
    sr_prepared_free(&p);
    o.dedup = 1; /* before filtering: session 2 becomes [7] and is dropped */
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.train_full), "1:5@1 6@3 5@6");
    CHECK_STR(dump(&p.test), "3:5@100 6@101");
    CHECK_STR(dump_items(&p.train_full), "5 6");
    sr_prepared_free(&p);
    log_drop(&log);
}

/* Grouping: non-contiguous sessions, clicks out of time order, equal times. */
static void test_session_order(void)
{
    static const row r[] = {
        {30, 1, 50}, {20, 2, 10}, {30, 3, 40}, {10, 4, 10}, {20, 5, 20}, {10, 6, 10}, {30, 7, 50},
    };
    sr_log log;
    log_build(&log, r, (int)(sizeof r / sizeof *r));
    sr_split s;
    sr_error err;
    CHECK(sr_split_from_log(&log, &s, &err) == SR_OK);
    /* First times: 10 (ids 10 and 20: id order), 40. Inside: time, then file order. */
    CHECK_STR(dump(&s), "10:4@10 6@10|20:2@10 5@20|30:3@40 1@50 7@50");
    CHECK_STR(dump_items(&s), "4 6 2 5 3 1 7");
    CHECK_EQ_INT(s.n_events, 7);
    CHECK_EQ_INT(s.n_sessions, 3);
    CHECK_EQ_INT(s.offsets[3], 7);
    sr_split_free(&s);
    log_drop(&log);

    /* Sparse, huge and negative session ids take the hash-map path. */
    static const row r2[] = {
        {INT64_MAX, 1, 3}, {-5, 2, 2}, {4000000000000LL, 3, 1}, {-5, 1, 4}, {INT64_MAX, 2, 5},
    };
    log_build(&log, r2, 5);
    CHECK(sr_split_from_log(&log, &s, &err) == SR_OK);
    CHECK_STR(dump(&s), "4000000000000:3@1|-5:2@2 1@4|9223372036854775807:1@3 2@5");
    sr_split_free(&s);
    log_drop(&log);
}

/* Dropping a session's first click moves it later in the order. */
static void test_order_after_filter(void)
{
    static const row r[] = {
        {40, 99, 1}, {40, 1, 100}, {40, 2, 101}, {41, 1, 50}, {41, 2, 60},
        {42, 1, 1000}, {42, 2, 1001},
    };
    sr_log log;
    log_build(&log, r, (int)(sizeof r / sizeof *r));
    sr_prepare_opts o = opts(2, 2, SECONDS(10));
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.train_full), "41:1@50 2@60|40:1@100 2@101");
    sr_prepared_free(&p);
    log_drop(&log);
}

/* Item table: items of train_full by first appearance in its session order;
 * test indexes the same table even where its sessions start earlier. */
static void test_item_table(void)
{
    static const row r[] = {
        {0, 2, 0},  {0, 3, 1000},               /* starts first, ends in the test window */
        {1, 3, 10}, {1, 1, 11}, {2, 2, 20}, {2, 1, 21},
        {3, 2, 1000}, {3, 3, 1001},
    };
    sr_log log;
    log_build(&log, r, (int)(sizeof r / sizeof *r));
    sr_prepare_opts o = opts(2, 1, SECONDS(10));
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump_items(&p.train_full), "3 1 2");
    CHECK_STR(dump_items(&p.test), "3 1 2");
    CHECK_STR(dump(&p.train_full), "1:3@10 1@11|2:2@20 1@21");
    CHECK_STR(dump(&p.test), "0:2@0 3@1000|3:2@1000 3@1001");
    CHECK_EQ_INT(p.train_full.items[0], 0);
    CHECK_EQ_INT(p.train_full.items[2], 2);
    CHECK_EQ_INT(p.test.items[0], 2);
    CHECK_EQ_INT(p.test.items[1], 0);
    sr_prepared_free(&p);
    log_drop(&log);
}

static void test_validation_split(void)
{
    static const row r[] = {
        {1, 1, 0},    {1, 2, 1},    {2, 1, 100},  {2, 3, 101}, {3, 2, 200},
        {3, 3, 201},  {4, 3, 202},  {4, 4, 203},  {5, 1, 1000}, {5, 2, 1001},
    };
    sr_log log;
    log_build(&log, r, (int)(sizeof r / sizeof *r));
    sr_prepare_opts o = opts(2, 1, SECONDS(10));
    o.valid_days = SECONDS(50); /* T' = 203, cut 153: sessions 3 and 4 */
    sr_prepared p;
    sr_error err;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_EQ_INT(p.has_valid, 1);
    CHECK_STR(dump(&p.train_full), "1:1@0 2@1|2:1@100 3@101|3:2@200 3@201|4:3@202 4@203");
    CHECK_STR(dump(&p.test), "5:1@1000 2@1001");
    CHECK_STR(dump(&p.train), "1:1@0 2@1|2:1@100 3@101");
    /* Item 4 is unknown to train_tr: session 4 shrinks to one click and goes. */
    CHECK_STR(dump(&p.valid), "3:2@200 3@201");
    CHECK_STR(dump_items(&p.train), "1 2 3 4");
    CHECK_STR(dump_items(&p.valid), "1 2 3 4");
    CHECK_EQ_INT(p.valid.items[0], 1);
    sr_prepared_free(&p);
    log_drop(&log);
}

static void test_errors(void)
{
    sr_log log;
    sr_prepared p;
    sr_error err;
    sr_prepare_opts o = opts(2, 1, 1.0);
    log_build(&log, NULL, 0);
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_ERR_EMPTY);
    log_drop(&log);

    static const row one[] = {{1, 1, 0}, {2, 2, 5}};
    log_build(&log, one, 2);
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_ERR_EMPTY); /* all sessions too short */
    CHECK(strstr(err.msg, "filter") != NULL);
    log_drop(&log);

    static const row two[] = {{1, 1, 0}, {1, 2, 5}, {2, 1, 6}, {2, 2, 7}};
    log_build(&log, two, 4);
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_ERR_EMPTY); /* 1 day takes everything */
    CHECK(strstr(err.msg, "test") != NULL);
    CHECK_EQ_INT(p.train_full.n_events, 0);
    o.test_days = -1;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_ERR_ARG);
    o.test_days = NAN;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_ERR_ARG);
    o = opts(2, 1, SECONDS(1));
    o.valid_days = 1; /* validation window takes all of train_full */
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_ERR_EMPTY);
    CHECK(strstr(err.msg, "validation") != NULL);
    o.valid_days = 0;
    o.filter = (sr_filter_mode)7;
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_ERR_ARG);
    /* An empty test split is allowed (test_days 0 keeps sessions ending at T). */
    o = opts(2, 1, 0);
    CHECK(sr_prepare(&log, &o, &p, &err) == SR_OK);
    CHECK_STR(dump(&p.test), "2:1@6 2@7");
    sr_prepared_free(&p);
    log_drop(&log);

    sr_split s;
    log_build(&log, NULL, 0);
    CHECK(sr_split_from_log(&log, &s, &err) == SR_OK); /* empty log, empty split */
    CHECK_EQ_INT(s.n_sessions, 0);
    CHECK_EQ_INT(s.offsets[0], 0);
    sr_split_free(&s);
    log_drop(&log);
}

/* ---- randomized comparison with a naive reference ------------------------------------- */

typedef struct ref_sess { int64_t sid; int n; int64_t item[64], t[64]; int alive; } ref_sess;

static int ref_cmp_sess(const void *a, const void *b)
{
    const ref_sess *x = a, *y = b;
    if (x->t[0] != y->t[0])
        return x->t[0] < y->t[0] ? -1 : 1;
    return (x->sid > y->sid) - (x->sid < y->sid);
}

/* The tutorial's pandas pipeline, literally: O(n^2) and obviously right. */
typedef struct ref_out { ref_sess *s; int n; } ref_out;

static int ref_count_item(const ref_sess *s, int n, int64_t item)
{
    int c = 0;
    for (int a = 0; a < n; a++)
        if (s[a].alive)
            for (int j = 0; j < s[a].n; j++)
                c += s[a].item[j] == item;
    return c;
}

static void ref_drop_short(ref_sess *s, int n, int L)
{
    for (int a = 0; a < n; a++)
        if (s[a].alive && s[a].n < L)
            s[a].alive = 0;
}

static void ref_drop_rare(ref_sess *s, int n, int K)
{
    /* supports first, then drop (the pandas filter is one vectorised step) */
    static int64_t rare[4096];
    int nr = 0;
    for (int a = 0; a < n; a++)
        if (s[a].alive)
            for (int j = 0; j < s[a].n; j++)
                if (ref_count_item(s, n, s[a].item[j]) < K)
                    rare[nr++] = s[a].item[j];
    for (int a = 0; a < n; a++)
        if (s[a].alive) {
            int w = 0;
            for (int j = 0; j < s[a].n; j++) {
                int isr = 0;
                for (int q = 0; q < nr; q++)
                    isr |= rare[q] == s[a].item[j];
                if (!isr) {
                    s[a].item[w] = s[a].item[j];
                    s[a].t[w++] = s[a].t[j];
                }
            }
            s[a].n = w;
            if (!w)
                s[a].alive = 0;
        }
}

static int ref_total(const ref_sess *s, int n)
{
    int c = 0;
    for (int a = 0; a < n; a++)
        c += s[a].alive ? s[a].n : 0;
    return c;
}

static void ref_sort_alive(ref_sess *s, int *n)
{
    int w = 0;
    for (int a = 0; a < *n; a++)
        if (s[a].alive && s[a].n > 0)
            s[w++] = s[a];
    *n = w;
    qsort(s, (size_t)w, sizeof *s, ref_cmp_sess);
}

/* split s (n, sorted) at T - span: before/after get copies */
static void ref_split(const ref_sess *s, int n, int64_t span, int L, ref_sess *bef, int *nb,
                      ref_sess *aft, int *na)
{
    int64_t T = INT64_MIN;
    for (int a = 0; a < n; a++)
        T = s[a].t[s[a].n - 1] > T ? s[a].t[s[a].n - 1] : T;
    *nb = *na = 0;
    for (int a = 0; a < n; a++)
        if (s[a].t[s[a].n - 1] < T - span)
            bef[(*nb)++] = s[a];
    for (int a = 0; a < n; a++)
        if (s[a].t[s[a].n - 1] >= T - span) {
            ref_sess x = s[a];
            int w = 0;
            for (int j = 0; j < x.n; j++) {
                int seen = 0;
                for (int b = 0; b < *nb && !seen; b++)
                    for (int q = 0; q < bef[b].n && !seen; q++)
                        seen = bef[b].item[q] == x.item[j];
                if (seen) {
                    x.item[w] = x.item[j];
                    x.t[w++] = x.t[j];
                }
            }
            x.n = w;
            if (w >= (L > 1 ? L : 1))
                aft[(*na)++] = x;
        }
}

static const char *ref_dump(const ref_sess *s, int n)
{
    static char buf[4][1 << 16];
    static int which;
    char *b = buf[which++ % 4];
    size_t w = 0;
    b[0] = 0;
    for (int a = 0; a < n; a++) {
        w += (size_t)snprintf(b + w, sizeof buf[0] - w, "%s%lld:", a ? "|" : "", (long long)s[a].sid);
        for (int j = 0; j < s[a].n; j++)
            w += (size_t)snprintf(b + w, sizeof buf[0] - w, "%s%lld@%lld", j ? " " : "",
                                  (long long)s[a].item[j], (long long)s[a].t[j]);
    }
    return b;
}

/* Every count and array equal (the result does not depend on the threads). */
static int splits_equal(const sr_split *a, const sr_split *b)
{
    if (a->n_events != b->n_events || a->n_sessions != b->n_sessions || a->n_items != b->n_items)
        return 0;
    size_t E = (size_t)a->n_events, S = (size_t)a->n_sessions, I = (size_t)a->n_items;
    return (!S || !memcmp(a->session_ids, b->session_ids, S * sizeof *a->session_ids)) &&
           (!a->offsets == !b->offsets) &&
           (!a->offsets || !memcmp(a->offsets, b->offsets, (S + 1) * sizeof *a->offsets)) &&
           (!E || !memcmp(a->items, b->items, E * sizeof *a->items)) &&
           (!E || !memcmp(a->times, b->times, E * sizeof *a->times)) &&
           (!I || !memcmp(a->item_ids, b->item_ids, I * sizeof *a->item_ids));
}

static const char *dump_us(const sr_split *s)
{
    static char buf[4][1 << 16];
    static int which;
    char *b = buf[which++ % 4];
    size_t w = 0;
    b[0] = 0;
    for (int64_t k = 0; k < s->n_sessions; k++) {
        w += (size_t)snprintf(b + w, sizeof buf[0] - w, "%s%lld:", k ? "|" : "",
                              (long long)s->session_ids[k]);
        for (int64_t j = s->offsets[k]; j < s->offsets[k + 1]; j++)
            w += (size_t)snprintf(b + w, sizeof buf[0] - w, "%s%lld@%lld", j > s->offsets[k] ? " " : "",
                                  (long long)s->item_ids[s->items[j]], (long long)s->times[j]);
    }
    return b;
}

/* item table of `s` must be its items in first-appearance order */
static int table_is_first_appearance(const sr_split *s, const sr_split *owner)
{
    int64_t next = 0;
    for (int64_t j = 0; j < owner->n_events; j++) {
        if (owner->items[j] > next)
            return 0;
        if (owner->items[j] == next)
            next++;
    }
    return next == owner->n_items && s->n_items == owner->n_items &&
           !memcmp(s->item_ids, owner->item_ids, (size_t)s->n_items * 8);
}

static void test_random_vs_reference(void)
{
    sr_rng rng;
    sr_rng_seed(&rng, 7);
    static ref_sess S[300], B[300], A[300], B2[300], A2[300];
    int fails = 0, n_ok = 0, n_test = 0, n_valid = 0, n_rounds3 = 0, n_empty = 0, n_threaded = 0;
    for (int iter = 0; iter < 300 && fails < 3; iter++) {
        int nsess = 1 + (int)(sr_rng_next(&rng) % 60);
        int nrows = 1 + (int)(sr_rng_next(&rng) % (uint64_t)(nsess * 7));
        int nitems = 1 + (int)(sr_rng_next(&rng) % 25);
        int tspan = 1 + (int)(sr_rng_next(&rng) % 50); /* small: many equal times */
        row *r = malloc(sizeof *r * (size_t)nrows);
        int cnt[300] = {0};
        for (int k = 0; k < nrows; k++) {
            int s;
            do
                s = (int)(sr_rng_next(&rng) % (uint64_t)nsess);
            while (cnt[s] >= 60);
            cnt[s]++;
            double u = sr_rng_uniform(&rng);
            r[k].s = iter % 3 == 0 ? (int64_t)s * 1000003 + 17 : s; /* sparse ids: hash path */
            r[k].i = 214000000 + (int64_t)(u * u * nitems) * (iter % 4 == 1 ? 1000003 : 1); /* sparse: hash path */
            r[k].t = (double)(s * 3 + (int)(sr_rng_next(&rng) % (uint64_t)tspan));
        }
        sr_prepare_opts o = opts(1 + (int)(sr_rng_next(&rng) % 3), 1 + (int)(sr_rng_next(&rng) % 4),
                                 SECONDS((double)(sr_rng_next(&rng) % 40)));
        o.filter = sr_rng_next(&rng) % 3 == 0 ? SR_FILTER_RSC15 : SR_FILTER_RECURSIVE;
        o.dedup = (int)(sr_rng_next(&rng) % 2);
        o.valid_days = sr_rng_next(&rng) % 2 ? SECONDS((double)(sr_rng_next(&rng) % 30)) : 0;

        /* reference: group (stable time sort inside), dedup, filter, order, split */
        int ns = 0;
        for (int k = 0; k < nrows; k++) {
            int a = 0;
            while (a < ns && S[a].sid != r[k].s)
                a++;
            if (a == ns) {
                memset(&S[ns], 0, sizeof S[ns]);
                S[ns].sid = r[k].s;
                S[ns++].alive = 1;
            }
            int j = S[a].n++;
            int64_t t = (int64_t)llround(r[k].t * 1e6);
            while (j > 0 && S[a].t[j - 1] > t) { /* insertion keeps file order on ties */
                S[a].t[j] = S[a].t[j - 1];
                S[a].item[j] = S[a].item[j - 1];
                j--;
            }
            S[a].t[j] = t;
            S[a].item[j] = r[k].i;
        }
        if (o.dedup)
            for (int a = 0; a < ns; a++) {
                int w = 1;
                for (int j = 1; j < S[a].n; j++)
                    if (S[a].item[j] != S[a].item[w - 1]) {
                        S[a].item[w] = S[a].item[j];
                        S[a].t[w++] = S[a].t[j];
                    }
                S[a].n = w;
            }
        int L = o.min_session_length, K = o.min_item_support, rounds = 0;
        if (o.filter == SR_FILTER_RSC15) {
            ref_drop_short(S, ns, 2);
            ref_drop_rare(S, ns, K);
            ref_drop_short(S, ns, L);
            rounds = 1;
        } else {
            for (;;) {
                int before = ref_total(S, ns);
                ref_drop_short(S, ns, L);
                ref_drop_rare(S, ns, K);
                rounds++;
                if (ref_total(S, ns) == before)
                    break;
            }
        }
        ref_sort_alive(S, &ns);
        int ref_total_alive = ref_total(S, ns);
        int nb = 0, na = 0, nb2 = 0, na2 = 0;
        sr_status want = SR_OK;
        if (ns == 0) {
            want = SR_ERR_EMPTY;
        } else {
            ref_split(S, ns, llround(o.test_days * 86400e6), L, B, &nb, A, &na);
            if (nb == 0)
                want = SR_ERR_EMPTY;
            else if (o.valid_days > 0) {
                ref_split(B, nb, llround(o.valid_days * 86400e6), L, B2, &nb2, A2, &na2);
                if (nb2 == 0)
                    want = SR_ERR_EMPTY;
            }
        }

        sr_log log;
        log_build(&log, r, nrows);
        sr_prepared p;
        sr_error err;
        o.threads = 1 + iter % 4; /* parts of a few rows each: the threaded passes */
        sr_status got = sr_prepare(&log, &o, &p, &err);
        int bad = got != want;
        if (o.threads > 1) { /* identical to one thread, array for array */
            sr_prepared p1;
            sr_error err1;
            sr_prepare_opts o1 = o;
            o1.threads = 1;
            sr_status got1 = sr_prepare(&log, &o1, &p1, &err1);
            bad |= got1 != got;
            if (got1 == SR_OK && got == SR_OK) {
                bad |= !splits_equal(&p1.train_full, &p.train_full) ||
                       !splits_equal(&p1.test, &p.test) || !splits_equal(&p1.train, &p.train) ||
                       !splits_equal(&p1.valid, &p.valid) ||
                       p1.filter_rounds != p.filter_rounds ||
                       p1.filtered_events != p.filtered_events;
                n_threaded++;
            }
            if (got1 == SR_OK)
                sr_prepared_free(&p1);
        }
        if (got == SR_OK && !bad) {
            bad |= strcmp(dump_us(&p.train_full), ref_dump(B, nb)) != 0;
            bad |= strcmp(dump_us(&p.test), ref_dump(A, na)) != 0;
            bad |= p.filter_rounds != rounds || p.filtered_events != ref_total_alive;
            bad |= !table_is_first_appearance(&p.test, &p.train_full);
            if (o.valid_days > 0) {
                bad |= strcmp(dump_us(&p.train), ref_dump(B2, nb2)) != 0;
                bad |= strcmp(dump_us(&p.valid), ref_dump(A2, na2)) != 0;
                bad |= !p.has_valid || p.train.n_items != p.train_full.n_items;
            }
        }
        if (bad) {
            fails++;
            CHECK_MSG(0, "iter %d (rows %d, L %d, K %d, %s, dedup %d, test %g d, valid %g d): "
                      "status %d vs %d, rounds %lld vs %d\n  got  %s\n  want %s",
                      iter, nrows, L, K, o.filter ? "rsc15" : "recursive", o.dedup, o.test_days,
                      o.valid_days, got, want, got == SR_OK ? (long long)p.filter_rounds : -1LL,
                      rounds, got == SR_OK ? dump_us(&p.train_full) : err.msg, ref_dump(B, nb));
        }
        if (got == SR_OK) {
            n_ok++;
            n_test += p.test.n_sessions > 0;
            n_valid += p.valid.n_sessions > 0;
            n_rounds3 += p.filter_rounds >= 3;
            sr_prepared_free(&p);
        } else {
            n_empty += got == SR_ERR_EMPTY;
        }
        log_drop(&log);
        free(r);
    }
    /* The random cases must cover what they claim to (else the test proves little). */
    fprintf(stderr, "  random: %d ok (%d with test, %d with valid, %d with >= 3 rounds, %d "
            "threaded), %d empty\n", n_ok, n_test, n_valid, n_rounds3, n_threaded, n_empty);
    CHECK(n_ok >= 150 && n_test >= 100 && n_valid >= 30 && n_rounds3 >= 10 && n_empty >= 5);
    CHECK(n_threaded >= 100);
}


/* ---- the command line ------------------------------------------------------------------ */

static const char *bin(void)
{
    const char *b = getenv("SR_BIN");
    return b && *b ? b : "build/sessrec";
}

/* Runs a shell command line; returns its exit status (-1 if it did not exit). */
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int exists(const char *dir, const char *name)
{
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0;
}

static sr_status load_in(const char *dir, const char *name, sr_split *s)
{
    char p[1024];
    sr_error err;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return sr_split_load(p, s, &err);
}

/* Sorted listing of a folder with sizes and a checksum of each file. */
static void listing(const char *dir, char *out, size_t cap)
{
    char p[1024];
    snprintf(p, sizeof p, "cd '%s' && for f in $(ls -A | sort); do printf '%%s %%s ' \"$f\" "
             "\"$(cksum < \"$f\")\"; done", dir);
    FILE *f = popen(p, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f)
        pclose(f);
}

static int file_lines(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strstr(buf, needle) != NULL;
}

static void test_cli_yoochoose_head(void)
{
    char raw[512];
    snprintf(raw, sizeof raw, "%s/raw/yoochoose-clicks-head1000.dat", test_data_dir());
    struct stat sb;
    if (stat(raw, &sb) != 0)
        SKIP("../shared/data missing");
    char dir[512], out[600];
    snprintf(dir, sizeof dir, "%s/head/deeper", test_tmpdir()); /* created, parents too */
    snprintf(out, sizeof out, "%s/head.out", test_tmpdir());
    /* Expected counts from the tutorial's pandas code run on the same 600 rows. */
    CHECK_EQ_INT(sh("%s prepare %s --nrows 600 -o %s --valid-days 1 > %s 2>&1", bin(), raw, dir,
                    out), 0);
    CHECK(file_contains(out, "3 rounds, 49 clicks kept"));
    CHECK(file_contains(out, "2014-04-0"));
    sr_split s;
    static const struct { const char *name; int64_t events, sessions; } want[] = {
        {"train_full.split", 36, 9}, {"test.split", 8, 1}, {"train.split", 16, 4},
        {"valid.split", 5, 2}};
    for (int k = 0; k < 4; k++) {
        CHECK_MSG(load_in(dir, want[k].name, &s) == SR_OK, "%s", want[k].name);
        CHECK_EQ_INT(s.n_events, want[k].events);
        CHECK_EQ_INT(s.n_sessions, want[k].sessions);
        CHECK_EQ_INT(s.n_items, 6);
        sr_split_free(&s);
    }
    CHECK_EQ_INT(file_lines(dir, "items.tsv"), 7);
    CHECK(!exists(dir, "train.tsv"));

    /* All 1000 rows, no validation, TSV too: train is train_full; the stale
     * valid.split of the previous run is removed. */
    CHECK_EQ_INT(sh("%s prepare %s -o %s --tsv --quiet > %s 2>&1", bin(), raw, dir, out), 0);
    CHECK(file_contains(out, "4 rounds, 111 clicks kept"));
    CHECK(!exists(dir, "valid.split"));
    sr_split a, b, t;
    sr_error err;
    CHECK(load_in(dir, "train_full.split", &a) == SR_OK);
    CHECK(load_in(dir, "train.split", &b) == SR_OK);
    CHECK_EQ_INT(a.n_events, 88);
    CHECK_EQ_INT(a.n_sessions, 27);
    CHECK_STR(dump(&a), dump(&b));
    char p[1024];
    snprintf(p, sizeof p, "%s/train_full.tsv", dir);
    CHECK(sr_split_open(p, &t, &err) == SR_OK); /* TSV read back: the same split */
    CHECK_STR(dump(&a), dump(&t));
    CHECK_STR(dump_items(&a), dump_items(&t));
    sr_split_free(&t);
    snprintf(p, sizeof p, "%s/test", dir);
    CHECK(sr_split_open(p, &t, &err) == SR_OK); /* DIR/test -> DIR/test.split */
    CHECK_EQ_INT(t.n_events, 23);
    CHECK_EQ_INT(t.n_sessions, 6);
    sr_split_free(&t);
    sr_split_free(&a);
    sr_split_free(&b);
    /* No --tsv now: the TSV files of the previous run go. */
    CHECK_EQ_INT(sh("%s prepare %s -o %s > %s 2>&1", bin(), raw, dir, out), 0);
    CHECK(!exists(dir, "train_full.tsv") && !exists(dir, "test.tsv"));
    CHECK(exists(dir, "train.split") && exists(dir, "items.tsv"));
}

/* Other input formats through the same command (the readers' formats, end to
 * end): the head file gzipped, and the DIGINETICA sample. Expected counts
 * from the tutorial's pandas code, re-run in plain Python on the same rows. */
static void test_cli_gzip_and_diginetica(void)
{
    char raw[512], dg[512], gz[600], dir[600], out[600];
    snprintf(raw, sizeof raw, "%s/raw/yoochoose-clicks-head1000.dat", test_data_dir());
    snprintf(dg, sizeof dg, "%s/raw/diginetica-train-item-views-sample.csv", test_data_dir());
    struct stat sb;
    if (stat(raw, &sb) != 0 || stat(dg, &sb) != 0)
        SKIP("../shared/data missing");
    snprintf(gz, sizeof gz, "%s/head.dat.gz", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/other", test_tmpdir());
    snprintf(out, sizeof out, "%s/other.out", test_tmpdir());
    CHECK_EQ_INT(sh("gzip -c %s > %s", raw, gz), 0);
    CHECK_EQ_INT(sh("%s prepare %s --nrows 600 -o %s --valid-days 1 > %s 2>&1", bin(), gz, dir,
                    out), 0);
    CHECK(file_contains(out, "3 rounds, 49 clicks kept"));
    sr_split s;
    CHECK(load_in(dir, "train_full.split", &s) == SR_OK);
    CHECK_EQ_INT(s.n_events, 36);
    CHECK_EQ_INT(s.n_sessions, 9);
    sr_split_free(&s);
    CHECK_EQ_INT(sh("%s prepare %s -o %s --min-item-support 1 --test-days 7 > %s 2>&1", bin(), dg,
                    dir, out), 0);
    CHECK(file_contains(out, "(diginetica)") && file_contains(out, "2 rounds, 11458 clicks kept"));
    CHECK(load_in(dir, "train_full.split", &s) == SR_OK);
    CHECK_EQ_INT(s.n_events, 10292);
    CHECK_EQ_INT(s.n_sessions, 1856);
    CHECK_EQ_INT(s.n_items, 6218);
    sr_split_free(&s);
    CHECK(load_in(dir, "test.split", &s) == SR_OK);
    CHECK_EQ_INT(s.n_events, 411);
    CHECK_EQ_INT(s.n_sessions, 113);
    sr_split_free(&s);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_cli_made_up(void)
{
    char in[512], dir[512], out[600];
    snprintf(in, sizeof in, "%s/made.tsv", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/made", test_tmpdir());
    snprintf(out, sizeof out, "%s/made.out", test_tmpdir());
    /* Own column names and an extra column. */
    write_text(in, "ts\tsid\tcat\titem\n"
                   "0\t1\tx\t100\n60\t1\tx\t101\n"
                   "100\t2\tx\t100\n200\t2\tx\t102\n160\t2\tx\t101\n"
                   "90000\t3\tx\t101\n90060.5\t3\tx\t102\n90061\t3\tx\t555\n");
    CHECK_EQ_INT(sh("%s prepare %s -o %s --session-key sid --item-key item --time-key ts "
                    "--min-item-support 1 --test-days 43200s > %s 2>&1",
                    bin(), in, dir, out), 0);
    sr_split s;
    CHECK(load_in(dir, "train_full.split", &s) == SR_OK);
    CHECK_STR(dump(&s), "1:100@0 101@60|2:100@100 101@160 102@200");
    CHECK_STR(dump_items(&s), "100 101 102");
    sr_split_free(&s);
    CHECK(load_in(dir, "test.split", &s) == SR_OK);
    CHECK_STR(dump(&s), "3:101@90000 102@90060.5");
    sr_split_free(&s);
    CHECK(file_contains(out, "43200 s"));

    /* Bad options and values. */
    CHECK_EQ_INT(sh("%s prepare %s -o %s --bogus > %s 2>&1", bin(), in, dir, out), 2);
    CHECK_EQ_INT(sh("%s prepare %s -o %s --test-days x > %s 2>&1", bin(), in, dir, out), 1);
    CHECK_EQ_INT(sh("%s prepare %s > %s 2>&1", bin(), in, out), 2); /* a usage error */
    /* An empty -o once sent mkdir_p past the end of "" (uninitialised reads). */
    CHECK_EQ_INT(sh("%s prepare %s -o '' > %s 2>&1", bin(), in, out), 1);
    CHECK(file_contains(out, "-o: empty folder name"));
    CHECK_EQ_INT(sh("%s prepare --help > %s 2>&1", bin(), out), 0);
    static const char *const opts_listed[] = {
        "--format", "--nrows", "--session-key", "--item-key", "--time-key", "--filter", "rsc15",
        "--min-session-length", "--min-item-support", "--test-days", "--valid-days", "86400s",
        "--dedup", "--tsv", "--skip-bad-lines", "--threads", "--quiet", "items.tsv"};
    for (size_t k = 0; k < sizeof opts_listed / sizeof *opts_listed; k++)
        CHECK_MSG(file_contains(out, opts_listed[k]), "--help lacks %s", opts_listed[k]);
}

/* A failed run leaves DIR exactly as it was: no new, changed or temporary file. */
static void test_cli_atomic(void)
{
    char in[512], bad[512], dir[512], out[600], fresh[512];
    snprintf(in, sizeof in, "%s/big.tsv", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.tsv", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/atomic", test_tmpdir());
    snprintf(fresh, sizeof fresh, "%s/fresh", test_tmpdir());
    snprintf(out, sizeof out, "%s/atomic.out", test_tmpdir());
    FILE *f = fopen(in, "w"), *g = fopen(bad, "w");
    if (!f || !g)
        SKIP("cannot write test files");
    fputs("SessionId\tItemId\tTime\n", f);
    fputs("SessionId\tItemId\tTime\n", g);
    for (int k = 0; k < 6000; k++) { /* 2000 sessions of 3 clicks over ~4 days */
        fprintf(f, "%d\t%d\t%d.123457\n", k / 3, 214000000 + (k * 7) % 40, 1396000000 + k * 60);
        fprintf(g, "%d\t%d\t%d.123457\n", k / 3, 214000000 + (k * 7) % 40, 1396000000 + k * 60);
        if (k == 5000)
            fputs("12\t77\tnot-a-time\n", g);
    }
    fclose(f);
    fclose(g);
    /* A good run first, to have files that must survive the failures. */
    CHECK_EQ_INT(sh("%s prepare %s -o %s --valid-days 1 --tsv > %s 2>&1", bin(), in, dir, out), 0);
    char before[8192], after[8192];
    listing(dir, before, sizeof before);
    CHECK(strstr(before, "valid.tsv") != NULL);

    /* 1: input error (a bad line near the end of the file). */
    CHECK_EQ_INT(sh("%s prepare %s -o %s > %s 2>&1", bin(), bad, dir, out), 1);
    CHECK(file_contains(out, "not-a-time"));
    listing(dir, after, sizeof after);
    CHECK_STR(after, before);

    /* 2: a write fails after some files are complete: a file-size limit of
     * 200 blocks of 512 bytes (POSIX sh) lets every binary split through but
     * stops train_full.tsv, written after them. */
    struct stat sb;
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/train_full.split", dir);
    snprintf(p2, sizeof p2, "%s/train_full.tsv", dir);
    CHECK(stat(p1, &sb) == 0 && sb.st_size < 90000);
    CHECK(stat(p2, &sb) == 0 && sb.st_size > 120000);
    CHECK_EQ_INT(sh("ulimit -f 200; %s prepare %s -o %s --tsv --valid-days 0.5 > %s 2>&1", bin(),
                    in, dir, out), 1);
    CHECK(file_contains(out, "train_full.tsv") && file_contains(out, "too large"));
    listing(dir, after, sizeof after);
    CHECK_STR(after, before);

    /* 3: the same into a folder that did not exist: it is not left behind. */
    CHECK_EQ_INT(sh("ulimit -f 200; %s prepare %s -o %s --tsv > %s 2>&1", bin(), in, fresh, out), 1);
    CHECK(file_contains(out, "train_full.tsv") && file_contains(out, "too large"));
    CHECK(stat(fresh, &sb) != 0);
    /* 4: an output name taken by a folder: refused before anything is replaced. */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/test.tsv", dir);
    CHECK_EQ_INT(sh("rm -f %s && mkdir %s", sub, sub), 0);
    listing(dir, before, sizeof before);
    CHECK_EQ_INT(sh("%s prepare %s -o %s --tsv --valid-days 0.5 > %s 2>&1", bin(), in, dir, out), 1);
    CHECK(file_contains(out, "is a folder"));
    listing(dir, after, sizeof after);
    CHECK_STR(after, before);
}

int main(void)
{
    RUN(test_recursive_fixed_point);
    RUN(test_rsc15_differs);
    RUN(test_split_boundary);
    RUN(test_unseen_test_items_dropped);
    RUN(test_dedup);
    RUN(test_session_order);
    RUN(test_order_after_filter);
    RUN(test_item_table);
    RUN(test_validation_split);
    RUN(test_errors);
    RUN(test_random_vs_reference);
    RUN(test_cli_yoochoose_head);
    RUN(test_cli_gzip_and_diginetica);
    RUN(test_cli_made_up);
    RUN(test_cli_atomic);
    if (!t_failed) { /* keep the files of a failed run for a look */
        char rm[600];
        snprintf(rm, sizeof rm, "rm -rf '%s'", test_tmpdir());
        if (system(rm) != 0)
            fprintf(stderr, "could not remove %s\n", test_tmpdir());
    }
    return test_summary();
}
