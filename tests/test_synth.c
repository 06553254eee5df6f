/*
 * test_synth.c - the synthetic click generator (src/data/synth.c, `sessrec synth`):
 * exact format of every line (parsed back by a strict checker written here,
 * independent of the library's readers, and by sr_read_log), determinism across seeds and thread
 * counts, the realism statistics promised in docs/synth.md on ~1M clicks, and
 * the sequential structure: a last-item predictor must beat popularity by far.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "util/util.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------- */

static const char *tmp_path(const char *name)
{
    static char path[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(path[k], sizeof path[k], "%s/%s", test_tmpdir(), name);
    return path[k];
}

static sr_status synth_file(const char *path, int64_t clicks, int64_t items, uint64_t seed,
                            int threads, sr_synth_report *rep)
{
    sr_synth_opts o = sr_synth_default_opts();
    o.clicks = clicks;
    o.items = items;
    o.seed = seed;
    o.threads = threads;
    sr_error err = {0};
    sr_status st = sr_synth_run(path, &o, NULL, NULL, rep, &err);
    if (st != SR_OK)
        fprintf(stderr, "  synth failed: %s\n", err.msg);
    return st;
}

/* One parsed line. Category: 0..12, -1 for "S", else the brand number. */
typedef struct click {
    int64_t session, item, cat;
    int64_t ms;  /* since 2014-04-01T00:00:00.000Z */
} click;

static int digit(char c) { return c >= '0' && c <= '9'; }

/* Strictly parses one line "<id>,YYYY-MM-DDTHH:MM:SS.mmmZ,<item>,<cat>\n" starting
 * at p; returns the position after '\n', or NULL (with *why set) if anything is off. */
static const char *parse_line(const char *p, const char *end, click *c, const char **why)
{
    static const int mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    static const int moff[13] = {0, 0, 0, 0, 0, 30, 61, 91, 122, 153, 183, 0, 0};
    /* session id: no leading zero, 1..18 digits */
    int64_t v = 0;
    int n = 0;
    if (p >= end || !digit(*p) || *p == '0')
        return *why = "session id", NULL;
    while (p < end && digit(*p) && n < 18)
        v = v * 10 + (*p++ - '0'), n++;
    if (p >= end || *p++ != ',')
        return *why = "comma after session id", NULL;
    c->session = v;
    /* timestamp: exactly 24 characters */
    if (end - p < 25)
        return *why = "short timestamp", NULL;
    const char *t = p;
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++)
        if (shape[i] == 'd' ? !digit(t[i]) : t[i] != shape[i])
            return *why = "timestamp shape", NULL;
    int year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
    int mon = (t[5] - '0') * 10 + (t[6] - '0'), day = (t[8] - '0') * 10 + (t[9] - '0');
    int hh = (t[11] - '0') * 10 + (t[12] - '0'), mm = (t[14] - '0') * 10 + (t[15] - '0');
    int ss = (t[17] - '0') * 10 + (t[18] - '0');
    int ms = (t[20] - '0') * 100 + (t[21] - '0') * 10 + (t[22] - '0');
    if (year != 2014 || mon < 4 || mon > 9 || day < 1 || day > mdays[mon] || hh > 23 ||
        mm > 59 || ss > 59)
        return *why = "timestamp out of range", NULL;
    c->ms = ((int64_t)(moff[mon] + day - 1) * 86400 + hh * 3600 + mm * 60 + ss) * 1000 + ms;
    p += 24;
    if (*p++ != ',')
        return *why = "comma after timestamp", NULL;
    /* item id: 9 digits starting 214 or more */
    v = 0, n = 0;
    if (p >= end || !digit(*p) || *p == '0')
        return *why = "item id", NULL;
    while (p < end && digit(*p) && n < 18)
        v = v * 10 + (*p++ - '0'), n++;
    if (v < 214000000 || v > 299999999)
        return *why = "item id range", NULL;
    c->item = v;
    if (p >= end || *p++ != ',')
        return *why = "comma after item", NULL;
    /* category: 0, 1-12, S, or a 10-digit brand number */
    if (p < end && *p == 'S') {
        c->cat = -1;
        p++;
    } else {
        v = 0, n = 0;
        if (p >= end || !digit(*p))
            return *why = "category", NULL;
        if (*p == '0' && p + 1 < end && p[1] != '\n')
            return *why = "category leading zero", NULL;
        while (p < end && digit(*p) && n < 11)
            v = v * 10 + (*p++ - '0'), n++;
        if (!(v <= 12 || (n == 10 && v >= 1000000000LL)))
            return *why = "category value", NULL;
        c->cat = v;
    }
    if (p >= end || *p++ != '\n')
        return *why = "end of line", NULL;
    return p;
}

/* A parsed file with dense item indices. */
typedef struct parsed {
    int64_t n;
    click *c;         /* (n) */
    int32_t *dense;   /* (n) item index */
    int64_t n_items;
    int64_t n_sessions;
    int64_t *sess_off; /* (n_sessions + 1) */
} parsed;

static void parsed_free(parsed *P)
{
    free(P->c);
    free(P->dense);
    free(P->sess_off);
    memset(P, 0, sizeof *P);
}

/* Parses a whole buffer; returns 0 or the 1-based number of the first bad line. */
static int64_t parse_all(const char *buf, size_t len, parsed *P)
{
    memset(P, 0, sizeof *P);
    int64_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    P->c = malloc((size_t)(lines + 1) * sizeof *P->c);
    P->dense = malloc((size_t)(lines + 1) * sizeof *P->dense);
    P->sess_off = malloc((size_t)(lines + 2) * sizeof *P->sess_off);
    sr_map m = {0};
    const char *p = buf, *end = buf + len;
    int64_t k = 0;
    while (p < end) {
        const char *why = "";
        const char *q = parse_line(p, end, &P->c[k], &why);
        if (!q) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            fprintf(stderr, "  line %lld: %s: '%.*s'\n", (long long)k + 1, why,
                    (int)((nl ? nl : end) - p), p);
            sr_map_free(&m);
            return k + 1;
        }
        int32_t d = sr_map_put(&m, P->c[k].item, (int32_t)m.n);
        P->dense[k] = d;
        if (k == 0 || P->c[k].session != P->c[k - 1].session)
            P->sess_off[P->n_sessions++] = k;
        k++;
        p = q;
    }
    P->n = k;
    P->sess_off[P->n_sessions] = k;
    P->n_items = (int64_t)m.n;
    sr_map_free(&m);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_defaults(void)
{
    sr_synth_opts o = sr_synth_default_opts();
    CHECK_EQ_INT(o.clicks, 1000000);
    CHECK_EQ_INT(o.items, 0);
    CHECK_EQ_INT(o.seed, 1);
    CHECK_EQ_INT(o.threads, 0);
    CHECK_EQ_INT(sr_synth_default_items(33003944), 57500);
    int64_t m = sr_synth_default_items(1000000);
    CHECK_MSG(m > 15000 && m < 18000, "%lld", (long long)m);
    CHECK(sr_synth_default_items(100) >= 50);
    CHECK(sr_synth_default_items(10000000) > m);
}

static void test_bad_arguments(void)
{
    sr_synth_opts o = sr_synth_default_opts();
    sr_error err = {0};
    const char *path = tmp_path("bad.dat");
    o.clicks = 0;
    CHECK(sr_synth_write(path, &o, NULL, NULL, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "clicks") != NULL);
    o.clicks = 100;
    o.items = -1;
    CHECK(sr_synth_write(path, &o, NULL, NULL, &err) == SR_ERR_ARG);
    o.items = 100000000;
    CHECK(sr_synth_write(path, &o, NULL, NULL, &err) == SR_ERR_ARG);
    o.items = 0;
    CHECK(sr_synth_write("", &o, NULL, NULL, &err) == SR_ERR_ARG);
    CHECK(access(path, F_OK) != 0);
    CHECK(sr_synth_write("/nonexistent-dir/x.dat", &o, NULL, NULL, &err) == SR_ERR_IO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.dat") != NULL);
}

static void test_small_exact_format(void)
{
    /* 1 click, a few clicks, a block boundary and a bit: every line well-formed,
     * exactly `clicks` lines, ids from 1 upwards, each item with one category */
    static const int64_t sizes[] = {1, 7, 16384, 16385, 50000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const char *path = tmp_path("small.dat");
        sr_synth_report rep;
        CHECK(synth_file(path, sizes[s], 0, 3, 2, &rep) == SR_OK);
        size_t len;
        char *buf = test_read_file(path, &len);
        CHECK(buf != NULL);
        if (!buf)
            continue;
        parsed P;
        CHECK_EQ_INT(parse_all(buf, len, &P), 0);
        CHECK_EQ_INT(P.n, sizes[s]);
        CHECK_EQ_INT(rep.clicks, sizes[s]);
        CHECK_EQ_INT(rep.bytes, (int64_t)len);
        CHECK_EQ_INT(rep.sessions, P.n_sessions);
        CHECK_EQ_INT(rep.items_seen, P.n_items);
        CHECK(P.n > 0 && P.c[0].session == 1);
        for (int64_t i = 1; i < P.n_sessions; i++)
            CHECK(P.c[P.sess_off[i]].session > P.c[P.sess_off[i - 1]].session);
        /* item -> category is a function */
        int64_t *cat = malloc((size_t)P.n_items * sizeof *cat);
        for (int64_t i = 0; i < P.n_items; i++)
            cat[i] = INT64_MIN;
        int64_t bad = 0;
        for (int64_t i = 0; i < P.n; i++) {
            int32_t d = P.dense[i];
            if (cat[d] == INT64_MIN)
                cat[d] = P.c[i].cat;
            bad += cat[d] != P.c[i].cat;
        }
        CHECK_EQ_INT(bad, 0);
        free(cat);
        parsed_free(&P);
        free(buf);
        unlink(path);
    }
}

static void test_deterministic_across_threads_and_seeds(void)
{
    const int64_t clicks = 120000;
    const char *a = tmp_path("det_a.dat"), *b = tmp_path("det_b.dat"), *c = tmp_path("det_c.dat"),
               *d = tmp_path("det_d.dat");
    CHECK(synth_file(a, clicks, 0, 7, 1, NULL) == SR_OK);
    CHECK(synth_file(b, clicks, 0, 7, 2, NULL) == SR_OK);
    CHECK(synth_file(c, clicks, 0, 7, 5, NULL) == SR_OK);
    CHECK(synth_file(d, clicks, 0, 8, 2, NULL) == SR_OK);
    size_t la, lb, lc, ld;
    char *ba = test_read_file(a, &la), *bb = test_read_file(b, &lb), *bc = test_read_file(c, &lc), *bd = test_read_file(d, &ld);
    CHECK(ba && bb && bc && bd);
    if (ba && bb && bc && bd) {
        CHECK(la == lb && !memcmp(ba, bb, la));
        CHECK(la == lc && !memcmp(ba, bc, la));
        CHECK(la != ld || memcmp(ba, bd, la) != 0);
        /* a different seed differs already in the first lines */
        CHECK(memcmp(ba, bd, 200) != 0);
    }
    /* same seed again, same bytes (no hidden state between calls) */
    CHECK(synth_file(d, clicks, 0, 7, 2, NULL) == SR_OK);
    free(bd);
    bd = test_read_file(d, &ld);
    CHECK(bd && ld == la && !memcmp(ba, bd, la));
    free(ba);
    free(bb);
    free(bc);
    free(bd);
    unlink(a);
    unlink(b);
    unlink(c);
    unlink(d);
}

/* The output is part of the project's definition (demo numbers, docs): a change
 * of the generator must be deliberate. These are the first lines of seed 1. */
static void test_golden_first_lines(void)
{
    const char *path = tmp_path("golden.dat");
    CHECK(synth_file(path, 1000, 0, 1, 2, NULL) == SR_OK);
    size_t len;
    char *buf = test_read_file(path, &len);
    const char *want = "1,2014-04-02T14:19:08.527Z,214546290,0\n"
                       "1,2014-04-02T14:19:30.862Z,214546108,0\n"
                       "1,2014-04-02T14:20:12.361Z,214546308,6\n"
                       "4,2014-04-04T21:40:15.893Z,214541653,0\n";
    CHECK_MSG(buf && len > strlen(want) && !memcmp(buf, want, strlen(want)), "got '%.160s'",
              buf ? buf : "");
    free(buf);
    unlink(path);
}

static void test_items_override(void)
{
    const char *path = tmp_path("items.dat");
    sr_synth_report rep;
    CHECK(synth_file(path, 200000, 3000, 1, 2, &rep) == SR_OK);
    CHECK_EQ_INT(rep.items, 3000);
    CHECK(rep.items_seen <= 3000 && rep.items_seen > 2000);
    /* a one-item catalogue still works: every click is that item */
    CHECK(synth_file(path, 1000, 1, 1, 2, &rep) == SR_OK);
    CHECK_EQ_INT(rep.items_seen, 1);
    unlink(path);
}

/* The library's reader (sr_read_log) reads the file back: same clicks. */
static void test_read_back_with_sr_read_log(void)
{
    const char *path = tmp_path("readback.dat");
    sr_synth_report rep;
    CHECK(synth_file(path, 200000, 0, 11, 2, &rep) == SR_OK);
    size_t len;
    char *buf = test_read_file(path, &len);
    parsed P;
    CHECK(buf && parse_all(buf, len, &P) == 0);
    free(buf);
    sr_read_opts ro = sr_read_default_opts();
    sr_log log = {0};
    sr_read_report rr;
    sr_error err = {0};
    sr_status st = sr_read_log(path, &ro, &log, &rr, &err);
    CHECK_MSG(st == SR_OK, "%s", err.msg);
    if (st == SR_OK) {
        CHECK(rr.format == SR_FMT_YOOCHOOSE);
        CHECK_EQ_INT(rr.lines, 200000);
        CHECK_EQ_INT(rr.bad_lines, 0);
        CHECK_EQ_INT(rr.bytes, rep.bytes);
        CHECK_EQ_INT(log.n, P.n);
        int64_t diff = 0;
        const int64_t t0_us = 1396310400LL * 1000000; /* 2014-04-01T00:00:00Z */
        for (int64_t i = 0; i < log.n && i < P.n; i++)
            diff += log.session[i] != P.c[i].session || log.item[i] != P.c[i].item ||
                    log.time[i] != t0_us + P.c[i].ms * 1000;
        CHECK_EQ_INT(diff, 0);
    }
    sr_log_free(&log);
    parsed_free(&P);
    unlink(path);
}

typedef struct prog_log {
    int64_t calls, last, total;
    int monotonic;
} prog_log;

static void on_progress(int64_t done, int64_t total, void *ud)
{
    prog_log *p = ud;
    if (done < p->last)
        p->monotonic = 0;
    p->last = done;
    p->total = total;
    p->calls++;
}

static void test_progress_and_atomic_replace(void)
{
    const char *path = tmp_path("prog.dat");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("old content\n", f);
        fclose(f);
    }
    prog_log pl = {0, 0, 0, 1};
    sr_synth_opts o = sr_synth_default_opts();
    o.clicks = 100000;
    o.threads = 2;
    sr_error err;
    CHECK(sr_synth_write(path, &o, on_progress, &pl, &err) == SR_OK);
    CHECK(pl.calls >= 2);
    CHECK(pl.monotonic);
    CHECK_EQ_INT(pl.last, 100000);
    CHECK_EQ_INT(pl.total, 100000);
    size_t len;
    char *buf = test_read_file(path, &len);
    CHECK(buf && !strncmp(buf, "1,2014-", 7));
    free(buf);
    /* nothing but our file is left in the folder (no temp files) */
    DIR *dir = opendir(test_tmpdir());
    int others = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        if (strstr(e->d_name, ".tmp."))
            others++;
    if (dir)
        closedir(dir);
    CHECK_EQ_INT(others, 0);
    unlink(path);
}

static void test_cli_stdout_matches_file(void)
{
    const char *bin = getenv("SR_BIN");
    if (!bin || !*bin)
        bin = "build/sessrec";
    if (access(bin, X_OK) != 0)
        SKIP("sessrec binary not built");
    const char *a = tmp_path("cli_a.dat"), *b = tmp_path("cli_b.dat");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s synth -o - --clicks 30000 --seed 5 --threads 2 --quiet > %s", bin,
             a);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s synth -o %s --clicks 30000 --seed 5 --threads 1 >/dev/null 2>&1",
             bin, b);
    CHECK(system(cmd) == 0);
    size_t la, lb;
    char *ba = test_read_file(a, &la), *bb = test_read_file(b, &lb);
    CHECK(ba && bb && la == lb && la > 30000 * 30 && !memcmp(ba, bb, la));
    free(ba);
    free(bb);
    /* bad flags fail with a non-zero exit */
    snprintf(cmd, sizeof cmd, "%s synth -o %s --clicks 0 2>/dev/null", bin, b);
    CHECK(system(cmd) != 0);
    snprintf(cmd, sizeof cmd, "%s synth --nonsense 2>/dev/null", bin);
    CHECK(system(cmd) != 0);
    snprintf(cmd, sizeof cmd, "%s synth --help >/dev/null", bin);
    CHECK(system(cmd) == 0);
    unlink(a);
    unlink(b);
}

/* ---- statistics on ~1M clicks ------------------------------------------------------- */

static parsed big;
static int big_ok;

static void load_big(void)
{
    const char *path = tmp_path("big.dat");
    sr_synth_report rep;
    if (synth_file(path, 1000000, 0, 1, 2, &rep) != SR_OK)
        return;
    size_t len;
    char *buf = test_read_file(path, &len);
    unlink(path);
    if (!buf)
        return;
    big_ok = parse_all(buf, len, &big) == 0 && big.n == 1000000 &&
             big.n_sessions == rep.sessions && big.n_items == rep.items_seen;
    free(buf);
}

static int cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void test_stats_realistic(void)
{
    if (!big_ok)
        SKIP("generating or parsing the 1M-click file failed (see test_big_parses)");
    const parsed *P = &big;
    /* session lengths */
    int64_t len1 = 0, len2 = 0, maxlen = 0;
    for (int64_t s = 0; s < P->n_sessions; s++) {
        int64_t l = P->sess_off[s + 1] - P->sess_off[s];
        len1 += l == 1;
        len2 += l == 2;
        if (l > maxlen)
            maxlen = l;
    }
    double mean = (double)P->n / (double)P->n_sessions;
    double p1 = (double)len1 / (double)P->n_sessions, p2 = (double)len2 / (double)P->n_sessions;
    fprintf(stderr, "  sessions %lld, mean length %.3f, P(1) %.3f, P(2) %.3f, max %lld\n",
            (long long)P->n_sessions, mean, p1, p2, (long long)maxlen);
    CHECK(mean >= 3.3 && mean <= 4.2);
    CHECK(p1 >= 0.08 && p1 <= 0.20);
    CHECK(p2 >= 0.30 && p2 <= 0.55);
    CHECK(maxlen >= 60 && maxlen <= 200);

    /* popularity: Zipf-ish head, long tail */
    int64_t *cnt = calloc((size_t)P->n_items, sizeof *cnt);
    for (int64_t i = 0; i < P->n; i++)
        cnt[P->dense[i]]++;
    qsort(cnt, (size_t)P->n_items, sizeof *cnt, cmp_desc_i64);
    int64_t top = P->n_items / 100, head = 0, rare = 0;
    for (int64_t i = 0; i < top; i++)
        head += cnt[i];
    for (int64_t i = 0; i < P->n_items; i++)
        rare += cnt[i] < 5;
    double head_share = (double)head / (double)P->n, rare_share = (double)rare / (double)P->n_items,
           top_item = (double)cnt[0] / (double)P->n;
    fprintf(stderr, "  items %lld, top 1%% share %.3f, top item %.4f, items with <5 clicks %.3f\n",
            (long long)P->n_items, head_share, top_item, rare_share);
    CHECK(P->n_items > 8000 && P->n_items <= sr_synth_default_items(1000000));
    CHECK(head_share >= 0.25 && head_share <= 0.6);
    CHECK(top_item >= 0.002 && top_item <= 0.03);
    CHECK(rare_share >= 0.15 && rare_share <= 0.6);
    free(cnt);

    /* repeats, times increasing within sessions and inside the six months */
    int64_t reps = 0, trans = 0, nonincr = 0, outside = 0;
    const int64_t end = 183LL * 86400000;
    int64_t by_hour[24] = {0}, by_day[183] = {0};
    for (int64_t s = 0; s < P->n_sessions; s++) {
        int64_t a = P->sess_off[s], b = P->sess_off[s + 1];
        by_hour[P->c[a].ms / 3600000 % 24]++;
        by_day[P->c[a].ms / 86400000]++;
        for (int64_t i = a; i < b; i++) {
            outside += P->c[i].ms < 0 || P->c[i].ms >= end;
            if (i > a) {
                trans++;
                reps += P->dense[i] == P->dense[i - 1];
                nonincr += P->c[i].ms <= P->c[i - 1].ms;
            }
        }
    }
    double rep_share = (double)reps / (double)trans;
    fprintf(stderr, "  consecutive repeats %.3f of transitions\n", rep_share);
    CHECK(rep_share >= 0.10 && rep_share <= 0.30);
    CHECK_EQ_INT(nonincr, 0);
    CHECK_EQ_INT(outside, 0);
    /* every day has sessions; the evening is busier than the night */
    int64_t min_day = by_day[0];
    for (int d = 0; d < 183; d++)
        if (by_day[d] < min_day)
            min_day = by_day[d];
    CHECK(min_day > 0.5 * (double)P->n_sessions / 183);
    CHECK(by_hour[18] + by_hour[19] + by_hour[20] > 4 * (by_hour[2] + by_hour[3] + by_hour[4]));
    /* categories: mostly 0, all kinds present */
    int64_t c0 = 0, cn = 0, cs = 0, cb = 0;
    for (int64_t i = 0; i < P->n; i++) {
        int64_t c = P->c[i].cat;
        c0 += c == 0;
        cn += c >= 1 && c <= 12;
        cs += c == -1;
        cb += c > 12;
    }
    fprintf(stderr, "  categories: 0 %.3f, 1-12 %.3f, S %.3f, brand %.3f\n", (double)c0 / P->n,
            (double)cn / P->n, (double)cs / P->n, (double)cb / P->n);
    CHECK(c0 > 0.5 * P->n && c0 < 0.85 * P->n);
    CHECK(cn > 0.05 * P->n && cs > 0.01 * P->n && cb > 0.01 * P->n);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Top-20 next items after each item, learned from the first 80% of sessions,
 * against the top-20 popular items, in Recall@20 on the last 20%. */
static void test_sequential_structure(void)
{
    if (!big_ok)
        SKIP("generating or parsing the 1M-click file failed");
    const parsed *P = &big;
    const int K = 20;
    int64_t cut = P->n_sessions * 8 / 10, train_end = P->sess_off[cut];
    int64_t n_items = P->n_items;
    /* popularity */
    int64_t *pop = calloc((size_t)n_items, sizeof *pop);
    for (int64_t i = 0; i < train_end; i++)
        pop[P->dense[i]]++;
    uint64_t *keyed = malloc((size_t)n_items * sizeof *keyed);
    for (int64_t i = 0; i < n_items; i++)
        keyed[i] = ((uint64_t)(INT32_MAX - pop[i]) << 32) | (uint64_t)i;
    qsort(keyed, (size_t)n_items, sizeof *keyed, cmp_u64);
    char *in_pop = calloc((size_t)n_items, 1);
    for (int k = 0; k < K && k < n_items; k++)
        in_pop[keyed[k] & 0xffffffff] = 1;
    /* transition counts: sort (prev, next) pairs, then per prev keep the top K */
    uint64_t *pairs = malloc((size_t)train_end * sizeof *pairs);
    int64_t np = 0;
    for (int64_t s = 0; s < cut; s++)
        for (int64_t i = P->sess_off[s] + 1; i < P->sess_off[s + 1]; i++)
            pairs[np++] = ((uint64_t)P->dense[i - 1] << 32) | (uint32_t)P->dense[i];
    qsort(pairs, (size_t)np, sizeof *pairs, cmp_u64);
    /* (count, prev, next) runs -> sort by prev asc, count desc */
    uint64_t *runs = malloc((size_t)(np + 1) * 2 * sizeof *runs);
    int64_t nr = 0;
    for (int64_t i = 0; i < np;) {
        int64_t j = i;
        while (j < np && pairs[j] == pairs[i])
            j++;
        uint64_t prev = pairs[i] >> 32;
        runs[2 * nr] = (prev << 32) | (uint64_t)(INT32_MAX - (j - i));
        runs[2 * nr + 1] = pairs[i] & 0xffffffff;
        nr++;
        i = j;
    }
    /* sort runs by their first word: qsort on 16-byte records */
    typedef struct { uint64_t key, next; } run;
    qsort(runs, (size_t)nr, sizeof(run), cmp_u64);
    int32_t *succ = malloc((size_t)n_items * K * sizeof *succ);
    int32_t *n_succ = calloc((size_t)n_items, sizeof *n_succ);
    for (int64_t r = 0; r < nr; r++) {
        int64_t prev = (int64_t)(runs[2 * r] >> 32);
        if (n_succ[prev] < K)
            succ[prev * K + n_succ[prev]++] = (int32_t)runs[2 * r + 1];
    }
    /* evaluate on the rest */
    int64_t n = 0, hit_pop = 0, hit_seq = 0;
    for (int64_t s = cut; s < P->n_sessions; s++)
        for (int64_t i = P->sess_off[s] + 1; i < P->sess_off[s + 1]; i++) {
            int32_t prev = P->dense[i - 1], next = P->dense[i];
            n++;
            hit_pop += in_pop[next];
            int h = 0;
            for (int k = 0; k < n_succ[prev]; k++)
                h |= succ[prev * K + k] == next;
            if (!n_succ[prev])
                h = in_pop[next];
            hit_seq += h;
        }
    double r_pop = (double)hit_pop / (double)n, r_seq = (double)hit_seq / (double)n;
    fprintf(stderr, "  Recall@20 on %lld next clicks: popularity %.3f, last-item %.3f\n",
            (long long)n, r_pop, r_seq);
    CHECK(n > 100000);
    CHECK(r_seq >= 3 * r_pop);
    CHECK(r_seq >= 0.5 && r_seq <= 0.9);
    CHECK(r_pop >= 0.01 && r_pop <= 0.2);
    free(pop);
    free(keyed);
    free(in_pop);
    free(pairs);
    free(runs);
    free(succ);
    free(n_succ);
}

static void test_big_parses(void)
{
    load_big();
    CHECK(big_ok);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_bad_arguments);
    RUN(test_small_exact_format);
    RUN(test_deterministic_across_threads_and_seeds);
    RUN(test_golden_first_lines);
    RUN(test_items_override);
    RUN(test_read_back_with_sr_read_log);
    RUN(test_progress_and_atomic_replace);
    RUN(test_cli_stdout_matches_file);
    RUN(test_big_parses);
    RUN(test_stats_realistic);
    RUN(test_sequential_structure);
    parsed_free(&big);
    rmdir(test_tmpdir());
    return test_summary();
}
