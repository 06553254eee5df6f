/*
 * test_stats.c - sr_split_stats (exact nearest-rank quantiles on hand-made
 * splits), the session-length SVG chart (structure, escaping, rendered to PNG
 * by rsvg-convert when installed) and, once `sessrec prepare` exists, the
 * `sessrec stats` command on a prepared folder.
 *
 * Set SR_PLOT_KEEP=DIR to keep the rendered example charts (lengths*.svg and .png in DIR)
 * for looking at them.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "data/plot.h"
#include "util/util.h"

#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- building splits in memory ------------------------------------------- */

/* A heap split with sessions of the given lengths. Event e gets item
 * items[e] (or 0 when items is NULL) and time times[e] (or 1000*e). */
static sr_split make_split(const int64_t *lens, int64_t n_sessions, const int32_t *items,
                           const int64_t *times, int64_t n_items)
{
    sr_split s;
    memset(&s, 0, sizeof s);
    int64_t n_ev = 0;
    for (int64_t i = 0; i < n_sessions; i++)
        n_ev += lens[i];
    s.n_events = n_ev;
    s.n_sessions = n_sessions;
    s.n_items = n_items;
    s.session_ids = malloc((size_t)(n_sessions + 1) * sizeof *s.session_ids);
    s.offsets = malloc((size_t)(n_sessions + 1) * sizeof *s.offsets);
    s.items = malloc((size_t)(n_ev + 1) * sizeof *s.items);
    s.times = malloc((size_t)(n_ev + 1) * sizeof *s.times);
    s.item_ids = malloc((size_t)(n_items + 1) * sizeof *s.item_ids);
    s.offsets[0] = 0;
    for (int64_t i = 0; i < n_sessions; i++) {
        s.session_ids[i] = 100 + i;
        s.offsets[i + 1] = s.offsets[i] + lens[i];
    }
    for (int64_t e = 0; e < n_ev; e++) {
        s.items[e] = items ? items[e] : 0;
        s.times[e] = times ? times[e] : 1000 * e;
    }
    for (int64_t i = 0; i < n_items; i++)
        s.item_ids[i] = 214000000 + i;
    return s;
}

static void free_split(sr_split *s)
{
    free(s->session_ids);
    free(s->offsets);
    free(s->items);
    free(s->times);
    free(s->item_ids);
    memset(s, 0, sizeof *s);
}

/* Items for n events so that item i is clicked support[i] times (in blocks). */
static int32_t *items_with_support(const int64_t *support, int n_items, int64_t n_ev)
{
    int32_t *it = malloc((size_t)n_ev * sizeof *it);
    int64_t e = 0;
    for (int i = 0; i < n_items; i++)
        for (int64_t k = 0; k < support[i]; k++)
            it[e++] = i;
    CHECK_EQ_INT(e, n_ev);
    return it;
}

/* ---- sr_split_stats --------------------------------------------------------- */

static void test_stats_exact_small(void)
{
    /* Lengths sorted: 1 1 2 3 4 5 6 9 (n=8). Nearest rank, index ceil(q*n)-1:
     * 25% -> idx 1 = 1, 50% -> idx 3 = 3, 75% -> idx 5 = 5, 90% -> idx 7 = 9,
     * 99% -> idx 7 = 9. (numpy's linear default would say 2.5, 3.5, 5.25, ...) */
    const int64_t lens[] = {3, 1, 4, 1, 5, 9, 2, 6};
    /* Supports: item 3 absent, sorted present 1 2 3 10 15 (n=5): 25% -> idx 1
     * = 2, 50% -> idx 2 = 3, 75% -> idx 3 = 10, 90% -> idx 4 = 15. */
    const int64_t sup[] = {10, 1, 3, 0, 2, 15};
    int32_t *items = items_with_support(sup, 6, 31);
    int64_t times[31];
    for (int e = 0; e < 31; e++)
        times[e] = 5000000 + 7 * e;
    times[12] = 1000;          /* earliest click in the middle of the split */
    times[3] = 999999999;      /* latest one near the start */
    sr_split s = make_split(lens, 8, items, times, 6);
    sr_stats st;
    sr_error err;
    CHECK(sr_split_stats(&s, &st, &err) == SR_OK);
    CHECK_EQ_INT(st.events, 31);
    CHECK_EQ_INT(st.sessions, 8);
    CHECK_EQ_INT(st.items, 5);
    CHECK_EQ_INT(st.first_time, 1000);
    CHECK_EQ_INT(st.last_time, 999999999);
    CHECK_NEAR(st.len_mean, 31.0 / 8.0, 1e-12);
    const int64_t lq[5] = {1, 1, 3, 5, 9}, sq[5] = {1, 2, 3, 10, 15};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(st.len_q[i], lq[i]);
        CHECK_EQ_INT(st.sup_q[i], sq[i]);
    }
    CHECK_EQ_INT(st.len_p90, 9);
    CHECK_EQ_INT(st.len_p99, 9);
    CHECK_EQ_INT(st.sup_p90, 15);
    CHECK_EQ_INT(st.sup_p99, 15);
    free_split(&s);
    free(items);
}

static void test_stats_p99_nearest_rank(void)
{
    /* 200 sessions: 197 of length 2, then 3, 50, 100. p99 = sorted[ceil(198)-1]
     * = sorted[197] = 3 (linear interpolation would give 3.47); p90 = 2. */
    int64_t lens[200];
    for (int i = 0; i < 200; i++)
        lens[i] = 2;
    lens[17] = 100;
    lens[80] = 3;
    lens[150] = 50;
    sr_split s = make_split(lens, 200, NULL, NULL, 1);
    sr_stats st;
    CHECK(sr_split_stats(&s, &st, NULL) == SR_OK);
    CHECK_EQ_INT(st.len_q[0], 2);
    CHECK_EQ_INT(st.len_q[2], 2);
    CHECK_EQ_INT(st.len_q[3], 2);
    CHECK_EQ_INT(st.len_q[4], 100);
    CHECK_EQ_INT(st.len_p90, 2);
    CHECK_EQ_INT(st.len_p99, 3);
    CHECK_EQ_INT(st.items, 1);
    CHECK_EQ_INT(st.sup_q[0], 547);   /* 197*2 + 3 + 50 + 100 */
    CHECK_EQ_INT(st.sup_p99, 547);
    free_split(&s);

    /* Quartiles where n is a multiple of 4: {1,2,3,4}: 25% -> idx 0, 50% -> idx 1,
     * 75% -> idx 2: the lower of the two middle values, never an average. */
    const int64_t l4[] = {4, 2, 1, 3};
    s = make_split(l4, 4, NULL, NULL, 1);
    CHECK(sr_split_stats(&s, &st, NULL) == SR_OK);
    CHECK_EQ_INT(st.len_q[1], 1);
    CHECK_EQ_INT(st.len_q[2], 2);
    CHECK_EQ_INT(st.len_q[3], 3);
    CHECK_EQ_INT(st.len_p90, 4);
    free_split(&s);
}

static void test_stats_large_values(void)
{
    /* Lengths and supports beyond the counting histogram (4096) take the
     * sorted path; 4095 and 4096 sit on either side of the boundary. */
    const int64_t lens[] = {2, 5000, 4097, 3, 6000};   /* 15102 events */
    const int64_t sup[] = {4095, 4096, 1, 6910};
    int32_t *items = items_with_support(sup, 4, 15102);
    sr_split s = make_split(lens, 5, items, NULL, 4);
    sr_stats st;
    sr_error err;
    CHECK(sr_split_stats(&s, &st, &err) == SR_OK);
    const int64_t lq[5] = {2, 3, 4097, 5000, 6000}, sq[5] = {1, 1, 4095, 4096, 6910};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(st.len_q[i], lq[i]);
        CHECK_EQ_INT(st.sup_q[i], sq[i]);
    }
    CHECK_EQ_INT(st.len_p90, 6000);
    CHECK_EQ_INT(st.sup_p90, 6910);
    CHECK_EQ_INT(st.items, 4);
    CHECK_EQ_INT(st.first_time, 0);
    CHECK_EQ_INT(st.last_time, 1000 * 15101);
    free_split(&s);
    free(items);
}

static void test_stats_empty_and_malformed(void)
{
    sr_split s;
    memset(&s, 0, sizeof s);
    sr_stats st;
    sr_error err;
    memset(&st, 0x55, sizeof st);
    CHECK(sr_split_stats(&s, &st, &err) == SR_OK);
    CHECK_EQ_INT(st.events, 0);
    CHECK_EQ_INT(st.sessions, 0);
    CHECK_EQ_INT(st.len_q[4], 0);
    CHECK_EQ_INT(st.sup_p99, 0);
    CHECK(st.len_mean == 0);

    const int64_t lens[] = {2, 3, 2};
    s = make_split(lens, 3, NULL, NULL, 2);
    s.offsets[2] = 1;   /* offsets 0 2 1 7: decreasing */
    CHECK(sr_split_stats(&s, &st, &err) == SR_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "session 1") != NULL, "%s", err.msg);
    s.offsets[2] = 5;
    s.items[4] = 7;     /* outside the table of 2 items */
    CHECK(sr_split_stats(&s, &st, &err) == SR_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "event 4") && strstr(err.msg, "7"), "%s", err.msg);
    s.items[4] = 1;
    s.offsets[3] = 6;   /* does not end at n_events = 7 */
    CHECK(sr_split_stats(&s, &st, &err) == SR_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "6") && strstr(err.msg, "7"), "%s", err.msg);
    s.offsets[3] = 7;
    CHECK(sr_split_stats(&s, &st, &err) == SR_OK);
    CHECK_EQ_INT(st.items, 2);
    CHECK(sr_split_stats(NULL, &st, &err) == SR_ERR_ARG);
    free_split(&s);
}

/* ---- the chart ------------------------------------------------------------------ */

static int count_substr(const char *hay, const char *needle)
{
    int n = 0;
    size_t k = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + k, needle))
        n++;
    return n;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    b[n] = 0;
    fclose(f);
    return b;
}

/* Width and height from a PNG's IHDR chunk; 0 if not a PNG. */
static int png_size(const char *path, uint32_t *w, uint32_t *h)
{
    unsigned char hd[24];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(hd, 1, sizeof hd, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got != sizeof hd || memcmp(hd, sig, 8) || memcmp(hd + 12, "IHDR", 4))
        return 0;
    *w = (uint32_t)hd[16] << 24 | (uint32_t)hd[17] << 16 | (uint32_t)hd[18] << 8 | hd[19];
    *h = (uint32_t)hd[20] << 24 | (uint32_t)hd[21] << 16 | (uint32_t)hd[22] << 8 | hd[23];
    return 1;
}

static int have_rsvg(void)
{
    return system("command -v rsvg-convert >/dev/null 2>&1") == 0;
}

/* Renders svg to png with rsvg-convert; returns its exit status. */
static int render_png(const char *svg, const char *png)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rsvg-convert -o '%s' '%s' 2>&1", png, svg);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void keep_copy(const char *src, const char *name)
{
    const char *keep = getenv("SR_PLOT_KEEP");
    if (!keep || !*keep)
        return;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", src, keep, name);
    if (system(cmd) != 0)
        fprintf(stderr, "  (could not keep %s)\n", name);
}

/* Session lengths shaped like YOOCHOOSE's: many 1-2 click sessions, a mean
 * near 3.5-4, a long tail. min_len 2 mimics a prepared (filtered) split. */
static sr_split realistic_split(uint64_t seed, int64_t n_sessions, int min_len, double tail)
{
    sr_rng r;
    sr_rng_seed(&r, seed);
    int64_t *lens = malloc((size_t)n_sessions * sizeof *lens);
    for (int64_t i = 0; i < n_sessions; i++) {
        int64_t len;
        do {
            /* A geometric body plus a heavy (Pareto) tail for some sessions. */
            double u = sr_rng_uniform(&r);
            if (sr_rng_uniform(&r) < tail)
                len = (int64_t)(4.0 / pow(1.0 - u, 1.0 / 1.6));
            else
                len = 1 + (int64_t)(log(1.0 - u) / log(0.62));
        } while (len < min_len);
        if (len > 400)
            len = 400;
        lens[i] = len;
    }
    sr_split s = make_split(lens, n_sessions, NULL, NULL, 1);
    free(lens);
    return s;
}

static void test_plot_structure_and_escaping(void)
{
    /* Split A: lengths 1, 2, 2, 45 (bins 1, 2, 30+); split B: lengths 3, 3
     * (bin 3). 4 bars in all; B's name needs escaping. */
    const int64_t la[] = {1, 2, 2, 45}, lb[] = {3, 3};
    sr_split a = make_split(la, 4, NULL, NULL, 1), b = make_split(lb, 2, NULL, NULL, 1);
    const sr_split *sp[2] = {&a, &b};
    const char *names[2] = {"train", "t<e>st & \"q\""};
    sr_buf buf = {0};
    sr_error err;
    CHECK(sr_plot_lengths_svg_buf(&buf, sp, names, 2, &err) == SR_OK);
    sr_buf_append(&buf, "", 1);
    const char *svg = (const char *)buf.data;
    CHECK(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(svg, "viewBox=\"0 0 1200 ") != NULL);
    CHECK_EQ_INT(count_substr(svg, "<rect class=\"bar\""), 4);
    CHECK(strstr(svg, "t&lt;e&gt;st &amp; &quot;q&quot;") != NULL);
    CHECK(strstr(svg, "t<e>st") == NULL);
    CHECK(strstr(svg, "Session length distribution") != NULL);
    CHECK(strstr(svg, "session length (clicks)") != NULL);
    CHECK(strstr(svg, "share of sessions") != NULL);
    CHECK(strstr(svg, ">30+</text>") != NULL);
    CHECK(strstr(svg, ">29</text>") != NULL);
    /* Tooltips carry exact counts and shares; legend carries mean/median. */
    CHECK(strstr(svg, "train: 2 clicks: 2 sessions (50.00%)") != NULL);
    CHECK(strstr(svg, "train: 30+ clicks: 1 sessions (25.00%)") != NULL);
    CHECK(strstr(svg, "4 sessions, mean 12.50, median 2, p99 45, max 45") != NULL);
    CHECK(strstr(svg, "2 sessions, mean 3.00, median 3, p99 3, max 3") != NULL);
    CHECK(strstr(svg, "median 2</text>") != NULL);
    CHECK(strstr(svg, "mean 12.50</text>") != NULL);
    /* Tallest share 50% -> axis to 60% in 10% steps. */
    CHECK(strstr(svg, ">60%</text>") != NULL);
    CHECK(strstr(svg, ">70%</text>") == NULL);
    CHECK(strstr(svg, "</svg>") != NULL);
    sr_buf_free(&buf);

    /* Degenerate input: an empty split beside one 500-click session. No NaN or
     * infinity may reach the file; the lone session lands in the 30+ bin. */
    sr_split empty;
    memset(&empty, 0, sizeof empty);
    const int64_t l500[] = {500};
    sr_split one = make_split(l500, 1, NULL, NULL, 1);
    const sr_split *dg[2] = {&empty, &one};
    const char *dn[2] = {"empty", "one"};
    CHECK(sr_plot_lengths_svg_buf(&buf, dg, dn, 2, &err) == SR_OK);
    sr_buf_append(&buf, "", 1);
    svg = (const char *)buf.data;
    CHECK(strstr(svg, "nan") == NULL && strstr(svg, "inf") == NULL);
    CHECK_EQ_INT(count_substr(svg, "<rect class=\"bar\""), 1);
    CHECK(strstr(svg, "one: 30+ clicks: 1 sessions (100.00%)") != NULL);
    CHECK(strstr(svg, "0 sessions, mean 0.00") != NULL);
    sr_buf_free(&buf);
    free_split(&one);

    /* Errors: no splits, too many, a malformed one named in the message. */
    CHECK(sr_plot_lengths_svg_buf(&buf, sp, names, 0, &err) == SR_ERR_ARG);
    CHECK(sr_plot_lengths_svg_buf(&buf, sp, names, SR_PLOT_MAX_SPLITS + 1, &err) == SR_ERR_ARG);
    b.offsets[1] = 7;   /* offsets 0 7 6: decreasing */
    CHECK(sr_plot_lengths_svg_buf(&buf, sp, names, 2, &err) == SR_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "t<e>st") != NULL, "%s", err.msg);
    sr_buf_free(&buf);
    CHECK(sr_plot_lengths_svg("/nonexistent-dir/x.svg", sp, names, 1, &err) == SR_ERR_IO);
    free_split(&a);
    free_split(&b);
}

static void test_plot_renders(void)
{
    if (!have_rsvg())
        SKIP("rsvg-convert not installed (Debian: librsvg2-bin)");
    sr_split full = realistic_split(1, 40000, 2, 0.08);
    sr_split test = realistic_split(2, 3000, 2, 0.08);
    sr_split raw = realistic_split(3, 50000, 1, 0.08);
    const sr_split *sp[3] = {&full, &test, &raw};
    const char *names[3] = {"train_full", "test", "raw clicks"};
    char svg[512], png[512];
    sr_error err;

    /* One split and three splits. */
    for (int n = 1; n <= 3; n += 2) {
        snprintf(svg, sizeof svg, "%s/lengths%d.svg", test_tmpdir(), n);
        snprintf(png, sizeof png, "%s/lengths%d.png", test_tmpdir(), n);
        CHECK(sr_plot_lengths_svg(svg, sp, names, n, &err) == SR_OK);
        char *text = read_text(svg);
        CHECK(text != NULL);
        if (!text)
            continue;
        int expect = 0;
        for (int k = 0; k < n; k++) {
            int seen[SR_PLOT_LEN_BINS] = {0};
            for (int64_t i = 0; i < sp[k]->n_sessions; i++) {
                int64_t len = sp[k]->offsets[i + 1] - sp[k]->offsets[i];
                seen[len >= SR_PLOT_LEN_BINS ? SR_PLOT_LEN_BINS - 1 : len - 1] = 1;
            }
            for (int b = 0; b < SR_PLOT_LEN_BINS; b++)
                expect += seen[b];
        }
        CHECK(expect > 25 * n);
        CHECK_EQ_INT(count_substr(text, "<rect class=\"bar\""), expect);
        for (int k = 0; k < n; k++)
            CHECK(strstr(text, names[k]) != NULL);
        CHECK_EQ_INT(count_substr(text, "stroke-dasharray"), n + 2);   /* mean lines, key, 30+ divider */
        free(text);
        if (system("command -v xmllint >/dev/null 2>&1") == 0) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", svg);
            CHECK_EQ_INT(system(cmd), 0);   /* well-formed XML */
        }
        CHECK_EQ_INT(render_png(svg, png), 0);
        uint32_t w = 0, h = 0;
        CHECK(png_size(png, &w, &h));
        CHECK_EQ_INT(w, 1200);
        CHECK(h >= 400 && h <= 900);
        struct stat stt;
        CHECK(stat(png, &stt) == 0 && stt.st_size > 10000);   /* drawn, not a blank page */
        keep_copy(svg, n == 1 ? "lengths1.svg" : "lengths3.svg");
        keep_copy(png, n == 1 ? "lengths1.png" : "lengths3.png");
        unlink(svg);
        unlink(png);
    }
    free_split(&full);
    free_split(&test);
    free_split(&raw);
}

/* ---- the command: sessrec prepare -> sessrec stats ------------------------------ */

static const char *sr_bin(void)
{
    const char *b = getenv("SR_BIN");
    return b && *b ? b : "build/sessrec";
}

/* Runs a shell command; returns its exit status (-1 if it could not run). */
static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

/* The line of `text` that starts with `name` followed by a space, with runs of
 * spaces squeezed to one, into out. Returns 1 if found. */
static int table_row(const char *text, const char *name, char *out, size_t n)
{
    size_t k = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, k) || p[k] != ' ')
            continue;
        size_t j = 0;
        for (; *p && *p != '\n' && j + 1 < n; p++)
            if (*p != ' ' || (j && out[j - 1] != ' '))
                out[j++] = *p;
        while (j && out[j - 1] == ' ')
            j--;
        out[j] = 0;
        return 1;
    }
    return 0;
}

static void test_cli_stats_on_prepared_folder(void)
{
    const char *bin = sr_bin();
    if (access(bin, X_OK) != 0)
        SKIP("sessrec binary not built (SR_BIN)");
    const char *tmp = test_tmpdir();
    char log[512], dir[512], out[512], err[512], svg[512], cmd[4096];
    snprintf(log, sizeof log, "%s/clicks.dat", tmp);
    snprintf(dir, sizeof dir, "%s/prep", tmp);
    snprintf(out, sizeof out, "%s/out.txt", tmp);
    snprintf(err, sizeof err, "%s/err.txt", tmp);
    snprintf(svg, sizeof svg, "%s/len.svg", tmp);

    /* Ten sessions A B C, five on March 30th (train), five on April 1st
     * (valid with --valid-days 1), two on April 3rd (test): A B and C A B C.
     * Nothing is filtered; every test item is in train. */
    FILE *f = fopen(log, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int s = 0; s < 10; s++)
        for (int c = 0; c < 3; c++)
            fprintf(f, "%d,2014-%sT%02d:00:%02d.000Z,21400000%d,0\n", 1 + s,
                    s < 5 ? "03-30" : "04-01", 10 + s, 10 * c, 1 + c);
    fprintf(f, "11,2014-04-03T09:00:00.000Z,214000001,0\n11,2014-04-03T09:00:30.000Z,214000002,0\n");
    fprintf(f, "12,2014-04-03T12:00:00.000Z,214000003,0\n12,2014-04-03T12:00:10.000Z,214000001,0\n"
               "12,2014-04-03T12:00:20.000Z,214000002,0\n12,2014-04-03T12:00:30.000Z,214000003,0\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' prepare '%s' -o '%s' >'%s' 2>&1", bin, log, dir, err);
    int rc = run(cmd);
    CHECK_EQ_INT(rc, 0);
    if (rc != 0) {
        char *e = read_text(err);
        fprintf(stderr, "  prepare said: %s\n", e ? e : "?");
        free(e);
        return;
    }

    /* Table. */
    snprintf(cmd, sizeof cmd, "'%s' stats '%s' >'%s' 2>'%s'", bin, dir, out, err);
    CHECK_EQ_INT(run(cmd), 0);
    char *t = read_text(out);
    CHECK(t != NULL);
    char r[256];
    if (t) {
        CHECK(strstr(t, "train_full") && strstr(t, "test"));
        CHECK(strstr(t, "train_full") < strstr(t, " test"));
        CHECK(table_row(t, "Events", r, sizeof r) && !strcmp(r, "Events 30 6"));
        CHECK(table_row(t, "Sessions", r, sizeof r) && !strcmp(r, "Sessions 10 2"));
        CHECK(table_row(t, "Items", r, sizeof r) && !strcmp(r, "Items 3 3"));
        CHECK_MSG(table_row(t, "First time", r, sizeof r) &&
                  !strcmp(r, "First time 2014-03-30T10:00:00Z 2014-04-03T09:00:00Z"), "%s", r);
        CHECK_MSG(table_row(t, "Last time", r, sizeof r) &&
                  !strcmp(r, "Last time 2014-04-01T19:00:20Z 2014-04-03T12:00:30Z"), "%s", r);
        /* test lengths {2, 4}: 25% -> 2, median -> 2, 75% -> 4. */
        CHECK(table_row(t, "  median", r, sizeof r) && !strcmp(r, "median 3 2"));
        CHECK(table_row(t, "  75%", r, sizeof r) && !strcmp(r, "75% 3 4"));
        CHECK(table_row(t, "  mean", r, sizeof r) && !strcmp(r, "mean 3.00 3.00"));
        free(t);
    }

    /* JSON, one split file given directly. */
    snprintf(cmd, sizeof cmd, "'%s' stats --json '%s/test.split' >'%s' 2>'%s'", bin, dir, out, err);
    CHECK_EQ_INT(run(cmd), 0);
    t = read_text(out);
    if (t) {
        CHECK(t[0] == '{');
        CHECK(strstr(t, "\"test\": {") != NULL);
        CHECK(strstr(t, "\"train_full\"") == NULL);
        CHECK(strstr(t, "\"events\": 6,") != NULL);
        CHECK(strstr(t, "\"sessions\": 2,") != NULL);
        CHECK(strstr(t, "\"first_time\": \"2014-04-03T09:00:00Z\"") != NULL);
        CHECK(strstr(t, "\"session_length\": {\"mean\": 3.0, \"min\": 2, \"p25\": 2, \"median\": 2, "
                        "\"p75\": 4, \"p90\": 4, \"p99\": 4, \"max\": 4}") != NULL);
        CHECK(strstr(t, "\"item_support\": {\"mean\": 2.0, \"min\": 2,") != NULL);
        free(t);
    }

    /* Chart: train_full has one bar (length 3), test two (2 and 4). */
    snprintf(cmd, sizeof cmd, "'%s' stats '%s' --plot '%s' >'%s' 2>'%s'", bin, dir, svg, out, err);
    CHECK_EQ_INT(run(cmd), 0);
    t = read_text(svg);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(count_substr(t, "<rect class=\"bar\""), 3);
        CHECK(strstr(t, "train_full") && strstr(t, ">test<"));
        free(t);
    }
    unlink(svg);

    /* With a validation split: four columns in the order train_full, train,
     * valid, test. */
    snprintf(cmd, sizeof cmd, "'%s' prepare '%s' -o '%s' --valid-days 1 >'%s' 2>&1", bin, log, dir, err);
    CHECK_EQ_INT(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' stats '%s' >'%s' 2>'%s'", bin, dir, out, err);
    CHECK_EQ_INT(run(cmd), 0);
    t = read_text(out);
    if (t) {
        CHECK_MSG(table_row(t, "Events", r, sizeof r) && !strcmp(r, "Events 30 15 15 6"), "%s", r);
        CHECK_MSG(table_row(t, "Sessions", r, sizeof r) && !strcmp(r, "Sessions 10 5 5 2"), "%s", r);
        CHECK_MSG(table_row(t, "Last time", r, sizeof r) &&
                  !strcmp(r, "Last time 2014-04-01T19:00:20Z 2014-03-30T14:00:20Z "
                             "2014-04-01T19:00:20Z 2014-04-03T12:00:30Z"), "%s", r);
        const char *a = strstr(t, "train_full"), *b = strstr(t, " train "), *c = strstr(t, " valid "),
                   *d = strstr(t, " test");
        CHECK(a && b && c && d && a < b && b < c && c < d);
        free(t);
    }

    /* Errors and help. */
    snprintf(cmd, sizeof cmd, "'%s' stats '%s/nope' >'%s' 2>'%s'", bin, tmp, out, err);
    CHECK(run(cmd) != 0);
    t = read_text(err);
    CHECK(t && strstr(t, "nope"));
    free(t);
    snprintf(cmd, sizeof cmd, "'%s' stats '%s' >'%s' 2>'%s'", bin, tmp, out, err);
    CHECK(run(cmd) != 0);   /* a folder without splits */
    snprintf(cmd, sizeof cmd, "'%s' stats '%s' --bogus >'%s' 2>'%s'", bin, dir, out, err);
    CHECK(run(cmd) != 0);
    snprintf(cmd, sizeof cmd, "'%s' stats --help >'%s' 2>'%s'", bin, out, err);
    CHECK_EQ_INT(run(cmd), 0);
    t = read_text(out);
    CHECK(t && strstr(t, "--json") && strstr(t, "--plot") && strstr(t, "nearest-rank"));
    free(t);

    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s' '%s'", dir, log, out, err);
    CHECK_EQ_INT(run(cmd), 0);
}

int main(void)
{
    RUN(test_stats_exact_small);
    RUN(test_stats_p99_nearest_rank);
    RUN(test_stats_large_values);
    RUN(test_stats_empty_and_malformed);
    RUN(test_plot_structure_and_escaping);
    RUN(test_plot_renders);
    RUN(test_cli_stats_on_prepared_folder);
    rmdir(test_tmpdir());
    return test_summary();
}
