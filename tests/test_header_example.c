/*
 * test_header_example.c - the worked example at the top of include/sessrec.h
 * must compile, run and say what it claims. print_top5 below is a copy of it;
 * the first test checks, line by line, that the copy and the header's text
 * are the same, so a change to either one without the other fails here.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "sessrec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int print_top5(const char *model_path, const int64_t *clicks, int n_clicks,
                      FILE *out)
{
    sr_error err;
    sr_model *m;
    if (sr_model_load(model_path, &m, &err) != SR_OK) {
        fprintf(stderr, "%s\n", err.msg);  // names the file and what is wrong
        return 1;
    }
    int64_t n = sr_model_n_items(m);
    float *scores = malloc((size_t)n * sizeof *scores);
    sr_scorer *s = sr_scorer_new(m, 1);     // one session at a time: slot 0
    int fed = 0;
    if (scores && s) {
        sr_scorer_reset(s, 0);              // slot 0 starts a new session
        for (int i = 0; i < n_clicks; i++) {
            int32_t item = (int32_t)sr_model_item_index(m, clicks[i]);
            if (item < 0)
                continue;                   // an item the model never saw
            sr_scorer_step(s, &item, 1, scores);  // feed it, score every item
            fed = 1;
        }
    }
    if (fed) {
        int32_t top[5];
        int k = sr_topk(scores, n, 5, top, NULL);  // best first
        for (int i = 0; i < k; i++)
            fprintf(out, "%lld\n", (long long)sr_model_item_ids(m)[top[i]]);
    }
    sr_scorer_free(s);                      // before the model it belongs to
    sr_model_free(m);
    free(scores);
    return fed ? 0 : 1;
}

/* Lines of `path` from the one containing `first` to the first line equal to
 * `last` (both included), each with `prefix` removed (lines without it end the
 * block). Returns the count; lines in out[] are heap strings. */
static int block(const char *path, const char *prefix, const char *first, const char *last,
                 char **out, int max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0, in = 0;
    size_t pl = strlen(prefix);
    while (n < max && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!in && strstr(line, first))
            in = 1;
        if (!in)
            continue;
        if (strncmp(line, prefix, pl) != 0)
            break;
        out[n++] = strdup(line + pl);
        if (!strcmp(line + pl, last))
            break;
    }
    fclose(f);
    return n;
}

static void test_copy_matches_header(void)
{
    char *h[128], *c[128];
    int nh = block("include/sessrec.h", " *   ", "static int print_top5", "}", h, 128);
    int nc = block(__FILE__, "", "static int print_top5", "}", c, 128);
    CHECK_MSG(nh > 30, "header example: %d lines", nh);
    CHECK_MSG(nh == nc, "header %d lines, test copy %d lines", nh, nc);
    for (int i = 0; i < nh && i < nc; i++)
        CHECK_MSG(!strcmp(h[i], c[i]), "line %d differs:\n    header: %s\n    test:   %s", i + 1,
                  h[i], c[i]);
    for (int i = 0; i < nh; i++)
        free(h[i]);
    for (int i = 0; i < nc; i++)
        free(c[i]);
}

/* Items 100..111 clicked 12, 11, ..., 1 times: "pop" ranks them in that order. */
static void make_split(sr_split *s, int64_t *sids, int64_t *off, int32_t *items, int64_t *times,
                       int64_t *ids)
{
    int64_t e = 0, k = 0;
    for (int i = 0; i < 12; i++)
        ids[i] = 100 + i;
    for (int i = 0; i < 12; i++)
        for (int r = 0; r < 12 - i; r++) {
            if (e % 3 == 0) {
                off[k] = e;
                sids[k] = k + 1;
                k++;
            }
            items[e] = i;
            times[e] = (e + 1) * 1000000;
            e++;
        }
    off[k] = e;
    sr_split z = {e, k, 12, sids, off, items, times, ids, {0}, NULL, 0};
    *s = z;
}

static void test_example_runs(void)
{
    int64_t sids[40], off[41], times[80], ids[12];
    int32_t items[80];
    sr_split s;
    make_split(&s, sids, off, items, times, ids);
    sr_model *m = NULL;
    sr_error err;
    CHECK(sr_train_baseline("pop", NULL, &s, &m, &err) == SR_OK);
    char path[64];
    snprintf(path, sizeof path, "/tmp/sr_header_example_%ld.srm", (long)getpid());
    CHECK_MSG(sr_model_save(m, path, &err) == SR_OK, "%s", err.msg);
    sr_model_free(m);

    const int64_t clicks[] = {111, 999999, 105}; /* 999999: unknown, skipped */
    FILE *out = tmpfile();
    CHECK(out != NULL);
    if (!out)
        return;
    CHECK(print_top5(path, clicks, 3, out) == 0);
    char got[256] = "";
    rewind(out);
    size_t n = fread(got, 1, sizeof got - 1, out);
    got[n] = 0;
    CHECK_MSG(!strcmp(got, "100\n101\n102\n103\n104\n"), "got:\n%s", got);

    /* only unknown clicks: nothing to rank, nothing printed */
    rewind(out);
    CHECK(ftruncate(fileno(out), 0) == 0);
    const int64_t unknown[] = {7, 8};
    CHECK(print_top5(path, unknown, 2, out) == 1);
    CHECK(ftell(out) == 0);
    fclose(out);
    unlink(path);

    /* a missing model file: an error naming it, exit status 1 */
    CHECK(print_top5("/nonexistent/model.srm", clicks, 3, stdout) == 1);
}

int main(void)
{
    RUN(test_copy_matches_header);
    RUN(test_example_runs);
    return test_summary();
}
