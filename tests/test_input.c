/*
 * test_input.c - a shop's own data in: delimited files with a header (guessed
 * delimiter, RFC 4180 quotes, BOM, extra columns), text ids (kept through
 * splits, model files, eval and recommend), every time form, --where filters,
 * sessions cut from user streams, the recipes of docs/input-formats.md on
 * hand-made files in the exact layouts of the public data sets, and every
 * error message. Every read is also compared with the reference reader and
 * with a tiny-chunk, two-thread fast read.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "cli_run.h"

#include "data/read.h"
#include "sessrec.h"

#include <stdint.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------ */

static int logs_same(const sr_log *a, const sr_log *b)
{
    if (a->n != b->n || a->item_text.n != b->item_text.n)
        return 0;
    size_t k = (size_t)a->n * sizeof(int64_t);
    if (a->n && (memcmp(a->session, b->session, k) || memcmp(a->item, b->item, k) ||
                 memcmp(a->time, b->time, k)))
        return 0;
    for (int64_t i = 0; i < a->item_text.n; i++)
        if (strcmp(sr_idtext_get(&a->item_text, i), sr_idtext_get(&b->item_text, i)))
            return 0;
    return 1;
}

/* Reads text with o three ways (fast 1 thread, fast 2 threads with tiny
 * chunks, reference) and checks that they agree; returns the first. */
static sr_status rd3(const char *text, sr_read_opts o, sr_log *l, sr_read_report *rep, sr_error *e)
{
    size_t n = strlen(text);
    memset(e, 0, sizeof *e);
    o.threads = 1;
    sr_status st = sr_read_log_mem(text, n, "in.csv", &o, l, rep, e);
    srr_tuning tu = srr_default_tuning();
    tu.chunk_min = 7;
    tu.chunk_max = 64;
    tu.piece_min = 8;
    o.threads = 2;
    sr_log l2, l3;
    sr_error e2, e3;
    memset(&e2, 0, sizeof e2);
    memset(&e3, 0, sizeof e3);
    sr_read_report r2, r3;
    sr_status st2 = srr_read_mem_tuned(text, n, "in.csv", &o, &tu, &l2, &r2, &e2);
    sr_status st3 = srr_read_ref(text, n, "in.csv", &o, &l3, &r3, &e3);
    CHECK_MSG(st2 == st && st3 == st, "status %d, tuned %d, reference %d", st, st2, st3);
    CHECK_MSG(strcmp(e->msg, e2.msg) == 0 && strcmp(e->msg, e3.msg) == 0, "'%s' / '%s' / '%s'",
              e->msg, e2.msg, e3.msg);
    if (st == SR_OK) {
        CHECK(logs_same(l, &l2));
        CHECK(logs_same(l, &l3));
        if (rep) {
            CHECK_EQ_INT(rep->lines, r3.lines);
            CHECK_EQ_INT(rep->filtered, r3.filtered);
            CHECK_EQ_INT(rep->filtered, r2.filtered);
            CHECK_EQ_INT(rep->format, r3.format);
        }
    }
    sr_log_free(&l2);
    sr_log_free(&l3);
    return st;
}

static const char *item_text(const sr_log *l, int64_t row)
{
    return l->item_text.text ? sr_idtext_get(&l->item_text, l->item[row]) : "(integer)";
}

/* ---- delimited files ---------------------------------------------------------------- */

static void test_csv_not_yoochoose(void)
{
    /* the header of a typical shop export: read as CSV (columns by common names) */
    const char *text = "session_id,item_id,timestamp\n"
                       "7,100,2014-04-07T10:51:09.277Z\n"
                       "7,101,2014-04-07T10:52:00Z\n";
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_status st = rd3(text, sr_read_default_opts(), &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(rep.format, SR_FMT_CSV);
    CHECK_EQ_INT(rep.delimiter, ',');
    CHECK_EQ_INT(rep.text_items, 0);
    CHECK_EQ_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_EQ_INT(l.session[0], 7);
        CHECK_EQ_INT(l.item[1], 101);
        CHECK_EQ_INT(l.time[0], INT64_C(1396867869277000));
        CHECK_EQ_INT(l.time[1], INT64_C(1396867920000000));
    }
    sr_log_free(&l);
    /* a YOOCHOOSE line is still YOOCHOOSE */
    st = rd3("1,2014-04-07T10:51:09.277Z,214536502,0\n", sr_read_default_opts(), &l, &rep, &e);
    CHECK_MSG(st == SR_OK && rep.format == SR_FMT_YOOCHOOSE, "%s", e.msg);
    sr_log_free(&l);
}

static void test_delimiters_quotes_bom(void)
{
    const char *forms[] = {
        "SessionId,ItemId,Time\n1,2,10\n1,3,11.5\n",
        "SessionId;ItemId;Time\n1;2;10\n1;3;11.5\n",
        "SessionId|ItemId|Time\n1|2|10\n1|3|11;5\n" /* ';' is text here: a bad time */,
        "SessionId\tItemId\tTime\n1\t2\t10\n1\t3\t11.5\n",
        "\xef\xbb\xbf\"SessionId\",\"ItemId\",\"Time\"\r\n\"1\",\"2\",\"10\"\r\n1,\"3\",11.5\r\n",
        "Note,SessionId,Extra,ItemId,Time,More\n\"a, \"\"quoted\"\" note\",1,x,2,10,\n,1,,3,11.5,z\n",
    };
    for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
        sr_log l;
        sr_error e;
        sr_status st = rd3(forms[k], sr_read_default_opts(), &l, NULL, &e);
        if (k == 2) {
            CHECK_MSG(st == SR_ERR_PARSE && strstr(e.msg, "in.csv:3: bad time '11;5'"),
                      "%s", e.msg);
            continue;
        }
        CHECK_MSG(st == SR_OK, "form %zu: %s", k, e.msg);
        CHECK_EQ_INT(l.n, 2);
        if (l.n == 2) {
            CHECK_EQ_INT(l.session[1], 1);
            CHECK_EQ_INT(l.item[0], 2);
            CHECK_EQ_INT(l.item[1], 3);
            CHECK_EQ_INT(l.time[0], 10000000);
            CHECK_EQ_INT(l.time[1], 11500000);
        }
        sr_log_free(&l);
    }
    /* --delimiter forces one: ',' in a ';' file leaves one column */
    sr_read_opts o = sr_read_default_opts();
    o.delimiter = ';';
    sr_log l;
    sr_error e;
    CHECK(rd3("a,b;SessionId;ItemId;Time\n1,2;5;6;7\n", o, &l, NULL, &e) == SR_OK);
    CHECK(l.n == 1 && l.session[0] == 5 && l.item[0] == 6 && l.time[0] == 7000000);
    sr_log_free(&l);
    /* a quoted field keeps its delimiter and doubled quotes */
    o = sr_read_default_opts();
    CHECK(rd3("SessionId,ItemId,Time\n1,\"a,\"\"b\"\"\",5\n", o, &l, NULL, &e) == SR_OK);
    CHECK(l.n == 1 && strcmp(item_text(&l, 0), "a,\"b\"") == 0);
    sr_log_free(&l);
}

/* ---- text ids ------------------------------------------------------------------------ */

static void test_text_ids(void)
{
    char big[1500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    big[0] = 'L';
    char text[4096];
    snprintf(text, sizeof text,
             "SessionId,ItemId,Time\n"
             "5b7f-uuid-1,007,1\n"        /* integers first: the read starts as integers */
             "5b7f-uuid-1,p-123,2\n"      /* then text: read again with the items as text */
             "9,007,3\n"
             "9,7,4\n"                    /* "7" and "007" differ as text */
             "5b7f-uuid-1,%s,5\n", big);  /* a 1.5 KB id */
    sr_log l;
    sr_read_report rep;
    sr_error e;
    sr_status st = rd3(text, sr_read_default_opts(), &l, &rep, &e);
    CHECK_MSG(st == SR_OK, "%s", e.msg);
    CHECK(rep.text_items && rep.text_sessions);
    CHECK_EQ_INT(l.n, 5);
    CHECK_EQ_INT(l.item_text.n, 4);
    if (l.n == 5 && l.item_text.n == 4) {
        int64_t s[5] = {0, 0, 1, 1, 0}, it[5] = {0, 1, 0, 2, 3};
        for (int i = 0; i < 5; i++) {
            CHECK_EQ_INT(l.session[i], s[i]);
            CHECK_EQ_INT(l.item[i], it[i]);
        }
        CHECK(strcmp(item_text(&l, 0), "007") == 0);
        CHECK(strcmp(item_text(&l, 1), "p-123") == 0);
        CHECK(strcmp(item_text(&l, 3), "7") == 0);
        CHECK(strcmp(item_text(&l, 4), big) == 0);
    }
    sr_log_free(&l);
    /* --ids int: the first text id is a bad line; --ids text: integers too */
    sr_read_opts o = sr_read_default_opts();
    o.ids = SR_IDS_INT;
    st = rd3(text, o, &l, NULL, &e);
    CHECK_MSG(st == SR_ERR_PARSE && strstr(e.msg, "in.csv:2: bad session id '5b7f-uuid-1'"),
              "%s", e.msg);
    o.ids = SR_IDS_TEXT;
    st = rd3("SessionId,ItemId,Time\n1,007,1\n1,7,2\n", o, &l, &rep, &e);
    CHECK(st == SR_OK && l.n == 2 && l.item[0] == 0 && l.item[1] == 1 && rep.text_items);
    sr_log_free(&l);
    /* integer ids stay integers (no text table) */
    st = rd3("SessionId,ItemId,Time\n1,214536502,1\n", sr_read_default_opts(), &l, &rep, &e);
    CHECK(st == SR_OK && !l.item_text.text && l.item[0] == 214536502 && !rep.text_items);
    sr_log_free(&l);
    /* a NUL byte is never part of an id */
    static const char nul[] = "SessionId,ItemId,Time\n1,a\0b,1\n";
    st = sr_read_log_mem(nul, sizeof nul - 1, "in.csv", NULL, &l, NULL, &e);
    CHECK_MSG(st == SR_ERR_PARSE && strstr(e.msg, "in.csv:2: NUL byte in item id 'a\\x00b'"),
              "%s", e.msg);
}

/* ---- times ------------------------------------------------------------------------- */

typedef struct time_case {
    const char *text;
    sr_time_format fmt;
    sr_time_unit unit;
    int64_t us;          /* expected; INT64_MIN: "bad time"; INT64_MAX: "time out of range" */
} time_case;

static void test_times(void)
{
    static const time_case c[] = {
        {"2014-04-07T10:51:09.277Z", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1396867869277000)},
        {"2014-04-07T10:51:09Z", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1396867869000000)},
        {"2014-04-07T10:51:09", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1396867869000000)},
        {"2014-04-07T10:51", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1396867860000000)},
        {"2014-04-07", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1396828800000000)},
        {"2019-10-01T00:00:00+02:00", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1569880800000000)},
        {"2019-10-01T00:00:00-0530", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1569907800000000)},
        {"2019-10-01T00:00:00+02", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1569880800000000)},
        {"2019-10-01 00:00:00 UTC", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1569888000000000)},
        {"2019-10-01 00:00:00.5 UTC", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1569888000500000)},
        {"2019-10-01 00:00:00.123456789", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1569888000123456)},
        {"2019-10-01T00:00:00.1234567890Z", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MIN},
        {"2019-13-01 00:00:00 UTC", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MIN},
        {"2019-10-01 24:00:00", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MIN},
        {"2019-10-01T00:00:00+24:00", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MIN},
        {"2019-10-01T00:00:00 CET", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MIN},
        {"1396867869", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1396867869000000)},
        {"1396867869.5", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1396867869500000)},
        {"1433221332117", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1433221332117000)}, /* ms */
        {"1433221332117.4", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1433221332117400)},
        {"1433221332117000", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(1433221332117000)}, /* us */
        {"99999999999", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(99999999999000000)}, /* still s */
        {"100000000000", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(100000000000000)},  /* ms */
        {"100000000000000", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_C(100000000000000)}, /* us */
        {"1433221332117", SR_TIME_AUTO, SR_UNIT_S, INT64_C(1433221332117000000)},
        {"1433221332", SR_TIME_AUTO, SR_UNIT_MS, INT64_C(1433221332000)},
        {"1433221332", SR_TIME_AUTO, SR_UNIT_US, INT64_C(1433221332)},
        {"3", SR_TIME_AUTO, SR_UNIT_AUTO, 3000000},
        {"-1.5", SR_TIME_AUTO, SR_UNIT_AUTO, -1500000},
        {"1396867869", SR_TIME_DATETIME, SR_UNIT_AUTO, INT64_MIN},
        {"2014-04-07T10:51:09Z", SR_TIME_EPOCH, SR_UNIT_AUTO, INT64_MIN},
        {"100000000000000000", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MAX},
        {"10000000000000", SR_TIME_AUTO, SR_UNIT_S, INT64_MAX},
        {"1e9", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MIN},
        {"yesterday", SR_TIME_AUTO, SR_UNIT_AUTO, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char text[256];
        snprintf(text, sizeof text, "SessionId,ItemId,Time\n1,2,%s\n", c[i].text);
        sr_read_opts o = sr_read_default_opts();
        o.time_format = c[i].fmt;
        o.time_unit = c[i].unit;
        sr_log l;
        sr_error e;
        sr_status st = rd3(text, o, &l, NULL, &e);
        if (c[i].us == INT64_MIN || c[i].us == INT64_MAX) {
            char want[200];
            snprintf(want, sizeof want, "in.csv:2: %s '%s'",
                     c[i].us == INT64_MIN ? "bad time" : "time out of range", c[i].text);
            CHECK_MSG(st == SR_ERR_PARSE && strcmp(e.msg, want) == 0, "case %zu: '%s'", i, e.msg);
        } else {
            CHECK_MSG(st == SR_OK && l.n == 1 && l.time[0] == c[i].us, "case %zu '%s': %s %lld",
                      i, c[i].text, e.msg, (long long)(l.n ? l.time[0] : 0));
            sr_log_free(&l);
        }
    }
}

/* ---- filters and sessions from users ------------------------------------------------------ */

static void test_where(void)
{
    const char *text = "timestamp,visitorid,event,itemid,transactionid\n"
                       "1433221332117,257597,view,355908,\n"
                       "1433224214164,992329,view,248676,\n"
                       "1433221999827,111016,addtocart,318965,\n"
                       "1433221955914,483717,transaction,253185,4000\n"
                       "1433221337106,951259,view,367447,\n";
    sr_read_opts o = sr_read_default_opts();
    o.session_key = "visitorid";
    o.item_key = "itemid";
    o.time_key = "timestamp";
    o.n_where = 1;
    o.where[0] = (sr_where){"event", "view"};
    sr_log l;
    sr_read_report rep;
    sr_error e;
    CHECK(rd3(text, o, &l, &rep, &e) == SR_OK);
    CHECK_EQ_INT(l.n, 3);
    CHECK_EQ_INT(rep.filtered, 2);
    CHECK_EQ_INT(rep.lines, 5);
    if (l.n == 3) {
        CHECK_EQ_INT(l.session[2], 951259);
        CHECK_EQ_INT(l.item[1], 248676);
        CHECK_EQ_INT(l.time[0], INT64_C(1433221332117000));
    }
    sr_log_free(&l);
    /* several values; and a second filter on another column (all must match) */
    o.where[0] = (sr_where){"event", "view,addtocart"};
    o.n_where = 2;
    o.where[1] = (sr_where){"transactionid", ""};
    CHECK(rd3(text, o, &l, &rep, &e) == SR_OK);
    CHECK(l.n == 4 && rep.filtered == 1 && l.item[2] == 318965);
    sr_log_free(&l);
    /* nothing passes */
    o.n_where = 1;
    o.where[0] = (sr_where){"event", "click"};
    CHECK(rd3(text, o, &l, &rep, &e) == SR_ERR_EMPTY);
    CHECK_MSG(strcmp(e.msg, "in.csv: no data rows pass the filters (5 rows filtered out)") == 0,
              "%s", e.msg);
    /* a filter on a column that is not there */
    o.where[0] = (sr_where){"type", "view"};
    CHECK(rd3(text, o, &l, &rep, &e) == SR_ERR_PARSE);
    CHECK_MSG(strstr(e.msg, "in.csv:1: missing column 'type' (of a filter) in header"), "%s",
              e.msg);
}

static void test_session_gap(void)
{
    /* user 7: 0, 1800 (gap exactly the limit: same session), 3601 (gap 1801: new),
     * user 3: one event, user 7 again at 10000 (out of file order: sorted by time) */
    const char *text = "user,item,ts\n"
                       "7,1,1000\n"
                       "7,2,2800\n"
                       "3,5,2000\n"
                       "7,4,12000\n"
                       "7,3,4601\n";
    sr_read_opts o = sr_read_default_opts();
    o.user_key = "user";
    o.item_key = "item";
    o.time_key = "ts";
    o.session_gap = 1800;
    sr_log l;
    sr_error e;
    CHECK_MSG(rd3(text, o, &l, NULL, &e) == SR_OK, "%s", e.msg);
    CHECK_EQ_INT(l.n, 5);
    if (l.n == 5) {
        /* sessions numbered by first click: {1000,2800} 0, user 3 {2000} 1, {4601} 2, {12000} 3 */
        int64_t s[5] = {0, 0, 1, 3, 2};
        for (int i = 0; i < 5; i++)
            CHECK_EQ_INT(l.session[i], s[i]);
        CHECK_EQ_INT(l.item[4], 3);
    }
    sr_log_free(&l);
    /* gap 0: every click alone unless at the same time */
    o.session_gap = 0;
    CHECK(rd3("user,item,ts\n1,1,5\n1,2,5\n1,3,6\n", o, &l, NULL, &e) == SR_OK);
    CHECK(l.n == 3 && l.session[0] == 0 && l.session[1] == 0 && l.session[2] == 1);
    sr_log_free(&l);
    /* errors */
    o.session_gap = -1;
    CHECK(rd3(text, o, &l, NULL, &e) == SR_ERR_ARG);
    CHECK_MSG(strcmp(e.msg, "in.csv: session gap must be in [0, 1e12] seconds, got -1") == 0, "%s",
              e.msg);
    o.session_gap = 60;
    o.format = SR_FMT_YOOCHOOSE;
    CHECK(rd3("1,2014-04-07T10:51:09Z,2,0\n", o, &l, NULL, &e) == SR_ERR_ARG);
    CHECK_MSG(strstr(e.msg, "a user column (--user-key) needs a delimited file with a header, "
                            "not yoochoose"), "%s", e.msg);
    o.format = SR_FMT_AUTO;
    o.user_key = "visitor";
    CHECK(rd3(text, o, &l, NULL, &e) == SR_ERR_PARSE);
    CHECK_MSG(strstr(e.msg, "missing column 'visitor' in header (name it with --user-key)"), "%s",
              e.msg);
}

static void test_bad_delimited(void)
{
    static const struct {
        const char *text, *msg;
    } c[] = {
        {"SessionId,ItemId,Time\n1,\"2,3\n", "in.csv:2: unterminated quoted field (line breaks "
                                             "inside quotes are not read) '\"2,3'"},
        {"SessionId,ItemId,Time\n1,\"2\"x,3\n", "in.csv:2: text after a closing quote '\"2\"x,3'"},
        {"session,product,when\n1,2,3\n", "in.csv:1: missing column 'ItemId' in header (name it "
                                          "with --item-key) 'session,product,when'"},
        {"session,item,when\n1,2,3\n", "in.csv:1: missing column 'Time' in header (name it "
                                       "with --time-key) 'session,item,when'"},
        {"SessionId,ItemId,Time\n1,2\n", "in.csv:2: wrong field count (2, expected 3) '1,2'"},
        {"SessionId,ItemId,Time\n,2,3\n", "in.csv:2: empty session id in line ',2,3'"},
        {"SessionId,ItemId,Time\n1,2,\n", "in.csv:2: empty time in line '1,2,'"},
        {"just one column\n", "in.csv:1: cannot guess the format (no tab, ',', ';' or '|' in the "
                              "first line) 'just one column'"},
        {"SessionId,SessionId,ItemId,Time\n", "in.csv:1: duplicate column 'SessionId' in header "
                                              "'SessionId,SessionId,ItemId,Time'"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        sr_log l;
        sr_error e;
        sr_status st = rd3(c[i].text, sr_read_default_opts(), &l, NULL, &e);
        CHECK_MSG(st == SR_ERR_PARSE && strcmp(e.msg, c[i].msg) == 0, "case %zu: %s", i, e.msg);
    }
    sr_read_opts o = sr_read_default_opts();
    o.format = SR_FMT_TSV;
    o.delimiter = ',';
    sr_log l;
    sr_error e;
    CHECK(rd3("SessionId,ItemId,Time\n1,2,3\n", o, &l, NULL, &e) == SR_ERR_ARG);
    CHECK_MSG(strstr(e.msg, "the tsv format is tab-delimited (delimiter ',' given: use csv)"),
              "%s", e.msg);
}

/* ---- recipes: the public data sets' exact layouts --------------------------------------- */

static void check_log(const char *what, const sr_log *l, int64_t n, const int64_t *s,
                      const char *const *items, const int64_t *t)
{
    CHECK_MSG(l->n == n, "%s: %lld clicks", what, (long long)l->n);
    for (int64_t i = 0; i < n && i < l->n; i++) {
        char b[32];
        const char *it = l->item_text.text ? item_text(l, i) : b;
        snprintf(b, sizeof b, "%lld", (long long)l->item[i]);
        CHECK_MSG(l->session[i] == s[i] && strcmp(it, items[i]) == 0 && l->time[i] == t[i],
                  "%s row %lld: %lld %s %lld", what, (long long)i, (long long)l->session[i], it,
                  (long long)l->time[i]);
    }
}

static void test_recipes(void)
{
    sr_log l;
    sr_error e;
    sr_read_report rep;
    /* RetailRocket events.csv: --user-key visitorid --item-key itemid --time-key timestamp
     * --where event=view --session-gap 1800 (times in ms) */
    {
        const char *text = "timestamp,visitorid,event,itemid,transactionid\n"
                           "1433221332117,257597,view,355908,\n"
                           "1433222276276,599528,view,356475,\n"
                           "1433221999827,257597,view,248676,\n"
                           "1433222000000,257597,addtocart,248676,\n"
                           "1433224000000,257597,view,1,\n" /* 2000 s later: new session */
                           "1433222547000,599528,transaction,356475,4000\n";
        sr_read_opts o = sr_read_default_opts();
        o.user_key = "visitorid";
        o.item_key = "itemid";
        o.time_key = "timestamp";
        o.n_where = 1;
        o.where[0] = (sr_where){"event", "view"};
        o.session_gap = 1800;
        CHECK_MSG(rd3(text, o, &l, &rep, &e) == SR_OK, "%s", e.msg);
        static const int64_t s[] = {0, 1, 0, 2};
        static const char *const it[] = {"355908", "356475", "248676", "1"};
        static const int64_t t[] = {INT64_C(1433221332117000), INT64_C(1433222276276000),
                                    INT64_C(1433221999827000), INT64_C(1433224000000000)};
        check_log("retailrocket", &l, 4, s, it, t);
        sr_log_free(&l);
    }
    /* Rees46: --session-key user_session --item-key product_id --time-key event_time
     * --where event_type=view */
    {
        const char *text =
            "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,"
            "user_session\n"
            "2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,"
            "72d76fde-8bb3-4e00-8c23-a032dfed738c\n"
            "2019-10-01 00:00:01 UTC,cart,3900821,2053013552326770905,appliances.environment."
            "water_heater,aqua,33.20,554748717,9333dfbd-b87a-4708-9857-6336556b0fcc\n"
            "2019-10-01 00:00:04 UTC,view,17200506,2053013559792632471,"
            "\"furniture,living_room\",,543.10,519107250,72d76fde-8bb3-4e00-8c23-a032dfed738c\n";
        sr_read_opts o = sr_read_default_opts();
        o.session_key = "user_session";
        o.item_key = "product_id";
        o.time_key = "event_time";
        o.n_where = 1;
        o.where[0] = (sr_where){"event_type", "view"};
        CHECK_MSG(rd3(text, o, &l, &rep, &e) == SR_OK, "%s", e.msg);
        static const int64_t s[] = {0, 0};
        static const char *const it[] = {"44600062", "17200506"};
        static const int64_t t[] = {INT64_C(1569888000000000), INT64_C(1569888004000000)};
        check_log("rees46", &l, 2, s, it, t);
        CHECK(rep.text_sessions && !rep.text_items && rep.filtered == 1);
        sr_log_free(&l);
    }
    /* DIGINETICA train-item-views.csv: --format diginetica (or guessed) */
    {
        const char *text = "sessionId;userId;itemId;timeframe;eventdate\n"
                           "1;NA;81766;526309;2016-05-09\n"
                           "1;NA;31331;1031018;2016-05-09\n";
        CHECK_MSG(rd3(text, sr_read_default_opts(), &l, &rep, &e) == SR_OK, "%s", e.msg);
        static const int64_t s[] = {1, 1};
        static const char *const it[] = {"81766", "31331"};
        static const int64_t t[] = {INT64_C(1462752000000000) + 526309000,
                                    INT64_C(1462752000000000) + 1031018000};
        check_log("diginetica", &l, 2, s, it, t);
        CHECK_EQ_INT(rep.format, SR_FMT_DIGINETICA);
        sr_log_free(&l);
    }
    /* YOOCHOOSE yoochoose-clicks.dat (no header) and GRU4Rec TSV */
    {
        CHECK(rd3("1,2014-04-07T10:51:09.277Z,214536502,0\n", sr_read_default_opts(), &l, &rep,
                  &e) == SR_OK);
        static const int64_t s[] = {1};
        static const char *const it[] = {"214536502"};
        static const int64_t t[] = {INT64_C(1396867869277000)};
        check_log("yoochoose", &l, 1, s, it, t);
        sr_log_free(&l);
        CHECK(rd3("SessionId\tItemId\tTime\n1\t214536502\t1396867869.277\n", sr_read_default_opts(),
                  &l, &rep, &e) == SR_OK);
        check_log("gru4rec tsv", &l, 1, s, it, t);
        CHECK_EQ_INT(rep.format, SR_FMT_TSV);
        sr_log_free(&l);
    }
}

/* ---- the same data in three layouts gives identical splits ------------------------------ */

typedef struct click {
    int64_t session, item, time_ms;
} click;

static void test_layouts_identical(void)
{
    /* 300 sessions of 2-6 clicks over 30 items, 2 days; sessions of one "visitor"
     * are hours apart, clicks within a session seconds apart */
    enum { MAXC = 2000 };
    static click c[MAXC];
    int n = 0;
    uint64_t r = 12345;
    for (int s = 0; s < 300 && n < MAXC - 6; s++) {
        int64_t t = INT64_C(1396000000000) + (int64_t)s * 571000;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int len = 2 + (int)((r >> 33) % 5), it = (int)((r >> 40) % 30);
        for (int k = 0; k < len; k++) {
            c[n++] = (click){1000 + s, 100 + it, t};
            it = (it + 1 + k % 3) % 30;
            t += 7000 + 1000 * k;
        }
    }
    char p1[512], p2[512], p3[512];
    snprintf(p1, sizeof p1, "%s/clicks.dat", test_tmpdir());
    snprintf(p2, sizeof p2, "%s/shop.csv", test_tmpdir());
    snprintf(p3, sizeof p3, "%s/events.csv", test_tmpdir());
    FILE *f1 = fopen(p1, "w"), *f2 = fopen(p2, "w"), *f3 = fopen(p3, "w");
    if (!f1 || !f2 || !f3)
        return;
    fputs("session_id,sku,time\n", f2);
    fputs("timestamp,visitorid,event,itemid,transactionid\n", f3);
    for (int i = 0; i < n; i++) {
        int64_t sec = c[i].time_ms / 1000, ms = c[i].time_ms % 1000;
        int64_t days = sec / 86400, rem = sec % 86400;
        /* civil date from days (2014 only: the data stays within April 2014) */
        int64_t doy = days - 16071; /* 2014-01-01 */
        static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int m = 0;
        while (doy >= mdays[m])
            doy -= mdays[m++];
        char iso[64];
        snprintf(iso, sizeof iso, "2014-%02d-%02lldT%02lld:%02lld:%02lld.%03lldZ", m + 1,
                 (long long)doy + 1, (long long)rem / 3600, (long long)rem / 60 % 60,
                 (long long)rem % 60, (long long)ms);
        fprintf(f1, "%lld,%s,%lld,0\n", (long long)c[i].session, iso, (long long)c[i].item);
        fprintf(f2, "sess-%llx-%lld,\"SKU %lld\",%s\n", (unsigned long long)(c[i].session * 7919),
                (long long)c[i].session, (long long)c[i].item, iso);
        fprintf(f3, "%lld,%lld,view,%lld,\n", (long long)c[i].time_ms,
                (long long)(c[i].session % 37), (long long)c[i].item);
        if (i % 5 == 0)
            fprintf(f3, "%lld,%lld,addtocart,%lld,\n", (long long)c[i].time_ms,
                    (long long)(c[i].session % 37), (long long)c[i].item);
    }
    fclose(f1);
    fclose(f2);
    fclose(f3);
    char dir[3][300], args[2048], *out, *err;
    for (int k = 0; k < 3; k++)
        snprintf(dir[k], sizeof dir[k], "%s/lay%d", test_tmpdir(), k);
    snprintf(args, sizeof args, "prepare %s -o %s -q", p1, dir[0]);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    free(out), free(err);
    snprintf(args, sizeof args, "prepare %s -o %s -q -ik sku -tk time", p2, dir[1]);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    free(out), free(err);
    snprintf(args, sizeof args, "prepare %s -o %s -q --user-key visitorid -ik itemid "
             "-tk timestamp --where event=view --session-gap 1800", p3, dir[2]);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    CHECK_MSG(strstr(out, "cut from users' clicks at gaps longer than 1800 s"), "%s", out);
    free(out), free(err);
    static const char *const names[] = {"train_full.split", "test.split"};
    for (int h = 0; h < 2; h++) {
        sr_split s[3];
        for (int k = 0; k < 3; k++) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir[k], names[h]);
            sr_error e;
            CHECK_MSG(sr_split_load(p, &s[k], &e) == SR_OK, "%s", e.msg);
        }
        CHECK(s[0].n_events > 100 && s[0].n_sessions > 10);
        for (int k = 1; k < 3; k++) {
            CHECK_EQ_INT(s[k].n_events, s[0].n_events);
            CHECK_EQ_INT(s[k].n_sessions, s[0].n_sessions);
            CHECK_EQ_INT(s[k].n_items, s[0].n_items);
            if (s[k].n_events != s[0].n_events || s[k].n_sessions != s[0].n_sessions ||
                s[k].n_items != s[0].n_items)
                continue;
            CHECK(memcmp(s[k].offsets, s[0].offsets, (size_t)(s[0].n_sessions + 1) * 8) == 0);
            CHECK(memcmp(s[k].items, s[0].items, (size_t)s[0].n_events * 4) == 0);
            CHECK(memcmp(s[k].times, s[0].times, (size_t)s[0].n_events * 8) == 0);
            for (int64_t i = 0; i < s[0].n_items; i++) {
                char want[32];
                snprintf(want, sizeof want, k == 1 ? "SKU %lld" : "%lld",
                         (long long)s[0].item_ids[i]);
                char got[32];
                snprintf(got, sizeof got, "%lld", (long long)s[k].item_ids[i]);
                const char *g = s[k].item_text.text ? sr_idtext_get(&s[k].item_text, i) : got;
                CHECK_MSG(strcmp(g, want) == 0, "layout %d item %lld: %s vs %s", k,
                          (long long)i, g, want);
            }
        }
        for (int k = 0; k < 3; k++)
            sr_split_free(&s[k]);
    }
}

/* synth --layout writes the same clicks in every layout: prepared with the
 * documented recipes they give the same splits (RetailRocket with a gap longer
 * than any session: its visitors are the sessions; Rees46 keeps whole seconds
 * only, so its times are compared to the second). */
static void test_synth_layouts(void)
{
    static const char *const lay[] = {"yoochoose", "tsv", "csv", "diginetica", "retailrocket",
                                      "rees46"};
    static const char *const recipe[] = {
        "", "", "", "",
        "--user-key visitorid -ik itemid -tk timestamp --where event=view --session-gap 1e9",
        "-sk user_session -ik product_id -tk event_time --where event_type=view"};
    sr_split ref;
    memset(&ref, 0, sizeof ref);
    for (int k = 0; k < 6; k++) {
        char f[512], d[512], args[2048], *out, *err;
        snprintf(f, sizeof f, "%s/syn.%s", test_tmpdir(), lay[k]);
        snprintf(d, sizeof d, "%s/synp.%s", test_tmpdir(), lay[k]);
        snprintf(args, sizeof args, "synth -o %s --clicks 30000 --seed 3 --layout %s -q", f,
                 lay[k]);
        CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
        free(out), free(err);
        snprintf(args, sizeof args, "prepare %s -o %s -q %s", f, d, recipe[k]);
        CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
        CHECK_MSG(k < 4 || strstr(out, "rows filtered out by --where") || k == 5, "%s", out);
        free(out), free(err);
        char p[1100];
        snprintf(p, sizeof p, "%s/train_full.split", d);
        sr_split s;
        sr_error e;
        if (sr_split_load(p, &s, &e) != SR_OK) {
            CHECK_MSG(0, "%s", e.msg);
            continue;
        }
        if (k == 0) {
            ref = s;
            continue;
        }
        CHECK_MSG(s.n_events == ref.n_events && s.n_sessions == ref.n_sessions &&
                      s.n_items == ref.n_items, "%s: %lld events", lay[k], (long long)s.n_events);
        if (s.n_events == ref.n_events && s.n_sessions == ref.n_sessions) {
            CHECK(memcmp(s.offsets, ref.offsets, (size_t)(s.n_sessions + 1) * 8) == 0);
            CHECK(memcmp(s.items, ref.items, (size_t)s.n_events * 4) == 0);
            int64_t bad = 0;
            for (int64_t j = 0; j < s.n_events; j++)
                bad += k == 5 ? s.times[j] != ref.times[j] / 1000000 * 1000000
                              : s.times[j] != ref.times[j];
            CHECK_MSG(bad == 0, "%s: %lld times differ", lay[k], (long long)bad);
            CHECK_EQ_INT(!!s.item_text.text, k == 2);
        }
        sr_split_free(&s);
    }
    sr_split_free(&ref);
}

/* ---- text ids through prepare -> train -> eval -> recommend -------------------------------- */

static void test_text_round_trip(void)
{
    char in[512], dir[512], model[512], args[2048], *out, *err;
    snprintf(in, sizeof in, "%s/sku.csv", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/sku", test_tmpdir());
    snprintf(model, sizeof model, "%s/sku.srm", test_tmpdir());
    FILE *f = fopen(in, "w");
    if (!f)
        return;
    /* every session walks sku-A, sku B, "sku,C": the model must learn A -> B -> C */
    fputs("session;item;time\n", f);
    for (int s = 0; s < 60; s++) {
        fprintf(f, "u-%d;sku-A;%d\n", s, 1000000 + s * 100);
        fprintf(f, "u-%d;sku B;%d\n", s, 1000000 + s * 100 + 1);
        fprintf(f, "u-%d;\"sku,C\";%d\n", s, 1000000 + s * 100 + 2);
    }
    fclose(f);
    snprintf(args, sizeof args, "prepare %s -o %s -q --test-days 0.0005 --tsv", in, dir);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    free(out), free(err);
    char p[600];
    snprintf(p, sizeof p, "%s/items.tsv", dir);
    char *items = test_read_text(p);
    CHECK_MSG(items && strcmp(items, "ItemIndex\tItemId\n0\tsku-A\n1\tsku B\n2\tsku,C\n") == 0,
              "%s", items ? items : "(none)");
    free(items);
    snprintf(p, sizeof p, "%s/test.tsv", dir);
    char *tsv = test_read_text(p);
    CHECK_MSG(tsv && strstr(tsv, "\tsku B\t") && strstr(tsv, "\tsku,C\t"), "%s",
              tsv ? tsv : "(none)");
    free(tsv);
    /* text split files: version 2, loaded back with the text */
    sr_split s;
    sr_error e;
    snprintf(p, sizeof p, "%s/train.split", dir);
    CHECK_MSG(sr_split_load(p, &s, &e) == SR_OK, "%s", e.msg);
    CHECK(s.item_text.n == 3 && strcmp(sr_idtext_get(&s.item_text, 2), "sku,C") == 0);
    sr_split_free(&s);
    for (int a = 0; a < 2; a++) {
        snprintf(args, sizeof args, "train %s/train -o %s %s", dir, model,
                 a == 0 ? "--algo sr" : "-p layers=16,n_epochs=3,loss=bpr-max");
        CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
        free(out), free(err);
        sr_model *m;
        CHECK_MSG(sr_model_load(model, &m, &e) == SR_OK, "%s", e.msg);
        if (m) {
            CHECK_EQ_INT(sr_model_item_find(m, "sku B", 5), 1);
            CHECK_EQ_INT(sr_model_item_find(m, "sku-Z", 5), -1);
            CHECK(strcmp(sr_model_item_text(m, 2), "sku,C") == 0);
            sr_model_free(m);
        }
        snprintf(args, sizeof args, "recommend %s sku-A 'sku B' nope -k 1", model);
        CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
        CHECK_MSG(out && strncmp(out, "1 sku,C ", 8) == 0, "%s", out ? out : "");
        CHECK_MSG(err && strstr(err, "skipped 1 unknown item: nope"), "%s", err ? err : "");
        free(out), free(err);
        snprintf(args, sizeof args, "recommend %s --json -k 1", model);
        CHECK_EQ_INT(cli_run(args, "sku-A\tsku B\n", &out, &err), 0);
        CHECK_MSG(out && strstr(out, "{\"clicks\": [\"sku-A\", \"sku B\"], \"unknown\": [], "
                                     "\"recommendations\": [{\"rank\": 1, \"item\": \"sku,C\""),
                  "%s", out ? out : "");
        free(out), free(err);
        /* eval on the split and on its TSV export: the same, nothing skipped */
        snprintf(args, sizeof args, "eval %s %s/test --cutoffs 1", model, dir);
        CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
        CHECK_MSG(out && strstr(out, "skipped rows (item unknown to the model): 0"), "%s", out);
        free(err);
        char *o2;
        snprintf(args, sizeof args, "eval %s %s/test.tsv --cutoffs 1", model, dir);
        CHECK_EQ_INT(cli_run(args, NULL, &o2, &err), 0);
        free(err);
        const char *r1 = out ? strstr(out, "@1") : NULL, *r2 = o2 ? strstr(o2, "@1") : NULL;
        CHECK(r1 && r2 && strncmp(r1, r2, 40) == 0);
        free(out), free(o2);
    }
}

/* ---- id tables ------------------------------------------------------------------------- */

static void test_model_text_corrupt(void)
{
    char dir[512], model[512], args[2048], *out, *err;
    snprintf(dir, sizeof dir, "%s/sku", test_tmpdir());
    snprintf(model, sizeof model, "%s/pop.srm", test_tmpdir());
    snprintf(args, sizeof args, "train %s/train -o %s --algo pop", dir, model);
    if (cli_run(args, NULL, &out, &err) != 0)
        SKIP("no text split (test_text_round_trip failed)");
    free(out), free(err);
    size_t n = 0;
    char *b = test_read_text(model);
    FILE *f = fopen(model, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        n = (size_t)ftell(f);
        fclose(f);
    }
    CHECK(b && n > 40 && (unsigned char)b[8] == 2);
    sr_model *m;
    sr_error e;
    if (b && n > 40) {
        char *z = memchr(b + 40, 'A', n - 40); /* "sku-A" -> "sku-B": the CRC catches it */
        if (z) {
            *z = 'B';
            FILE *g = fopen(model, "wb");
            fwrite(b, 1, n, g);
            fclose(g);
            CHECK(sr_model_load(model, &m, &e) == SR_ERR_FORMAT);
            CHECK_MSG(strstr(e.msg, "CRC-32"), "%s", e.msg);
        }
    }
    free(b);
}

/* The reading options of the command line: every message. */
static void test_cli_read_options(void)
{
    char in[512], dir[512], args[2048], *out, *err;
    snprintf(in, sizeof in, "%s/opts.csv", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/opts", test_tmpdir());
    FILE *f = fopen(in, "w");
    if (!f)
        return;
    fputs("user,item,ts,kind\n1,2,10,a\n", f);
    fclose(f);
    static const struct {
        const char *opts, *msg;
    } c[] = {
        {"--session-gap 60", "--session-gap needs --user-key (the column of user ids)"},
        {"--user-key user --session-key user", "--user-key and --session-key exclude each other"},
        {"--where kind", "--where: expected COLUMN=VALUE[,VALUE...], got 'kind'"},
        {"--where =a", "--where: expected COLUMN=VALUE[,VALUE...], got '=a'"},
        {"--delimiter :", "--delimiter: expected ',' (comma), tab, ';' (semicolon) or '|' (pipe), "
                          "got ':'"},
        {"--ids maybe", "--ids: expected auto, int or text, got 'maybe'"},
        {"--time-format unix", "--time-format: expected auto, epoch or iso, got 'unix'"},
        {"--time-unit ns", "--time-unit: expected auto, s, ms or us, got 'ns'"},
        {"--format xml", "--format: unknown input format 'xml' (known: auto, yoochoose, tsv, diginetica, csv)"},
        {"--user-key user --session-gap -5", "--session-gap"},
        {"--user-key user -ik item -tk ts --where kind=b", "no data rows pass the filters (1 rows "
                                                           "filtered out)"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        snprintf(args, sizeof args, "prepare %s -o %s %s", in, dir, c[i].opts);
        CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 1);
        CHECK_MSG(err && strstr(err, c[i].msg), "case %zu: %s", i, err ? err : "");
        free(out), free(err);
    }
    /* sr_split_open_opts reads a log with the options (train, eval, compare open logs so) */
    sr_read_opts o = sr_read_default_opts();
    o.user_key = "user";
    o.item_key = "item";
    o.time_key = "ts";
    o.n_where = 1;
    o.where[0] = (sr_where){"kind", "a"};
    o.session_gap = 10;
    sr_split sp;
    sr_error e;
    CHECK_MSG(sr_split_open_opts(in, &o, &sp, &e) == SR_OK, "%s", e.msg);
    CHECK(sp.n_events == 1 && sp.n_sessions == 1 && sp.item_ids[0] == 2);
    sr_split_free(&sp);
    CHECK(sr_split_open(in, &sp, &e) == SR_ERR_PARSE);
    CHECK_MSG(strstr(e.msg, "missing column 'SessionId' in header (name it with --session-key)"),
              "%s", e.msg);
}

int main(void)
{
    RUN(test_csv_not_yoochoose);
    RUN(test_delimiters_quotes_bom);
    RUN(test_text_ids);
    RUN(test_times);
    RUN(test_where);
    RUN(test_session_gap);
    RUN(test_bad_delimited);
    RUN(test_recipes);
    RUN(test_layouts_identical);
    RUN(test_synth_layouts);
    RUN(test_text_round_trip);
    RUN(test_model_text_corrupt);
    RUN(test_cli_read_options);
    return test_summary();
}
