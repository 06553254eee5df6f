/*
 * test_recommend.c - inference: sr_topk (ties, NaN, k > n, against a full
 * sort), and the public inference path (scorer over one slot, clicks fed one
 * by one, top-k of the last scores) on a fake model defined here.
 */
#include "test.h"
#include "model/model.h"
#include "eval_fixtures.h"
#include "cli_run.h"

#include <unistd.h>

/* ---- sr_topk ------------------------------------------------------------------------ */

static void test_topk_small(void)
{
    const float s[6] = {1, 5, 3, 5, NAN, 2};
    int32_t idx[10];
    float val[10];
    CHECK_EQ_INT(sr_topk(s, 6, 3, idx, val), 3);
    CHECK(idx[0] == 1 && idx[1] == 3 && idx[2] == 2); /* tie 5 = 5: lower index first */
    CHECK(val[0] == 5 && val[1] == 5 && val[2] == 3);
    /* k > n: every non-NaN score, sorted */
    CHECK_EQ_INT(sr_topk(s, 6, 10, idx, val), 5);
    CHECK(idx[0] == 1 && idx[1] == 3 && idx[2] == 2 && idx[3] == 5 && idx[4] == 0);
    CHECK(val[4] == 1);
    /* val may be NULL */
    CHECK_EQ_INT(sr_topk(s, 6, 1, idx, NULL), 1);
    CHECK_EQ_INT(idx[0], 1);
    CHECK_EQ_INT(sr_topk(s, 6, 0, idx, val), 0);
    CHECK_EQ_INT(sr_topk(s, 0, 3, idx, val), 0);
    const float nan3[3] = {NAN, NAN, NAN};
    CHECK_EQ_INT(sr_topk(nan3, 3, 2, idx, val), 0);
    /* -inf is a score like any other */
    const float inf[3] = {-INFINITY, 0, INFINITY};
    CHECK_EQ_INT(sr_topk(inf, 3, 3, idx, val), 3);
    CHECK(idx[0] == 2 && idx[1] == 1 && idx[2] == 0);
}

typedef struct pair {
    float v;
    int32_t i;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static void test_topk_matches_full_sort(void)
{
    enum { N = 20000 };
    float *s = malloc(N * sizeof *s);
    pair *p = malloc(N * sizeof *p);
    int32_t idx[300];
    float val[300];
    sr_rng rng;
    sr_rng_seed(&rng, 3);
    for (int round = 0; round < 4; round++) {
        int levels = round == 0 ? 50 : round == 1 ? 5000 : 1 << 24; /* many ties .. few */
        for (int j = 0; j < N; j++) {
            s[j] = (float)(sr_rng_next(&rng) % (uint64_t)levels);
            if (round == 3 && j % 3 == 0)
                s[j] = -s[j];
            p[j].v = s[j];
            p[j].i = j;
        }
        qsort(p, N, sizeof *p, pair_cmp);
        static const int ks[4] = {1, 20, 100, 300};
        for (int t = 0; t < 4; t++) {
            int k = ks[t];
            CHECK_EQ_INT(sr_topk(s, N, k, idx, val), k);
            int bad = 0;
            for (int i = 0; i < k; i++)
                bad += idx[i] != p[i].i || val[i] != p[i].v;
            CHECK_EQ_INT(bad, 0);
        }
    }
    free(s);
    free(p);
}

/* ---- the inference path on a fake model ---------------------------------------------
 * "Co-click" fake: after the clicks so far, item j scores
 *   10 * [j follows the last click in a ring] + (number of times j was clicked)
 * so the answer depends on the whole session, through the scorer state. */

enum { FN = 6 };

typedef struct cc_scorer {
    sr_scorer hdr;
    int (*count)[FN];      /* (max_batch, FN) clicks per item so far */
} cc_scorer;

static sr_scorer *cc_new(const sr_model *m, int max_batch)
{
    (void)m;
    cc_scorer *s = calloc(1, sizeof *s);
    s->count = malloc((size_t)max_batch * sizeof *s->count);
    memset(s->count, 0x11, (size_t)max_batch * sizeof *s->count); /* garbage until reset */
    return &s->hdr;
}
static void cc_free(sr_scorer *s)
{
    free(((cc_scorer *)s)->count);
    free(s);
}
static void cc_reset(sr_scorer *s, int slot) { memset(((cc_scorer *)s)->count[slot], 0, sizeof(int[FN])); }
static void cc_move(sr_scorer *s, int dst, int src)
{
    cc_scorer *c = (cc_scorer *)s;
    memcpy(c->count[dst], c->count[src], sizeof(int[FN]));
}
static void cc_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    cc_scorer *c = (cc_scorer *)s;
    for (int i = 0; i < n; i++) {
        c->count[i][items[i]]++;
        for (int j = 0; j < FN; j++)
            scores[i * FN + j] = (float)(10 * (j == (items[i] + 1) % FN) + c->count[i][j]);
    }
}
static const sr_model_vt cc_vt = {
    .algo = "fake-coclick", .scorer_new = cc_new, .scorer_free = cc_free,
    .reset = cc_reset, .step = cc_step, .move = cc_move,
};

/* What a server does: map ids, skip unknown ones, feed clicks, take the top k. */
static int recommend(const sr_model *m, sr_scorer *sc, const int64_t *clicks, int n, int k,
                     int64_t *out_ids, float *out_scores)
{
    float scores[FN];
    int32_t idx[FN];
    int fed = 0;
    sr_scorer_reset(sc, 0);
    for (int i = 0; i < n; i++) {
        int64_t it = sr_model_item_index(m, clicks[i]);
        if (it < 0)
            continue;
        int32_t item = (int32_t)it;
        sr_scorer_step(sc, &item, 1, scores);
        fed++;
    }
    if (!fed)
        return 0;
    int got = sr_topk(scores, sr_model_n_items(m), k, idx, out_scores);
    for (int i = 0; i < got; i++)
        out_ids[i] = sr_model_item_ids(m)[idx[i]];
    return got;
}

static void test_inference_path(void)
{
    static const int64_t ids[FN] = {500, 100, 400, 200, 600, 300}; /* dense 0..5 */
    sr_model *m = sr_model_new_shell(&cc_vt, FN, ids);
    CHECK_EQ_INT(sr_model_item_index(m, 400), 2);
    CHECK_EQ_INT(sr_model_item_index(m, 401), -1);
    sr_scorer *sc = sr_scorer_new(m, 1);
    int64_t top[FN];
    float val[FN];

    /* clicks 100, 100, 200 (dense 1, 1, 3): counts {0,2,0,1,0,0}; the ring
     * follower of 3 is 4 (id 600): 600 -> 10, 100 -> 2, 200 -> 1, then the
     * zeros in dense order 500, 400, 300 */
    const int64_t s1[3] = {100, 100, 200};
    CHECK_EQ_INT(recommend(m, sc, s1, 3, 4, top, val), 4);
    CHECK(top[0] == 600 && top[1] == 100 && top[2] == 200 && top[3] == 500);
    CHECK(val[0] == 10 && val[1] == 2 && val[2] == 1 && val[3] == 0);

    /* the next session starts from scratch; unknown 999 and 7 are skipped:
     * click 300 (dense 5), follower 0 (id 500) */
    const int64_t s2[3] = {999, 300, 7};
    CHECK_EQ_INT(recommend(m, sc, s2, 3, 2, top, val), 2);
    CHECK(top[0] == 500 && top[1] == 300);
    CHECK(val[0] == 10 && val[1] == 1);

    /* nothing known: nothing recommended */
    const int64_t s3[2] = {999, 7};
    CHECK_EQ_INT(recommend(m, sc, s3, 2, 2, top, val), 0);

    /* k larger than the catalogue */
    CHECK_EQ_INT(recommend(m, sc, s1, 3, FN + 5, top, val), FN); /* idx (FN) suffices */
    sr_scorer_free(sc);
    sr_model_free(m);
}

/* ---- the command line: sessrec recommend ----------------------------------------------
 * The popularity model of eval_fixtures.h: 3 -> 4 clicks, 2 -> 3, then 1 and 4
 * with 1 each, whatever the session. */
static void test_cli_recommend(void)
{
    char model[512], args[1024];
    snprintf(model, sizeof model, "%s/pop.srm", test_tmpdir());
    CHECK(write_pop_model(model) == 0);
    char *out, *err;

    /* items on the command line, comma or space separated; unknown 9 warned */
    snprintf(args, sizeof args, "recommend %s 1 9,2 -k 2", model);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    CHECK_MSG(!strcmp(out, "1 3 4\n2 2 3\n"), "got '%s'", out);
    CHECK_MSG(strstr(err, "warning") && strstr(err, "unknown item: 9"), "%s", err);
    free(out);
    free(err);

    /* one session per stdin line; each answer ends with an empty line, an
     * empty answer for a session with no known item */
    snprintf(args, sizeof args, "recommend %s -k 1", model);
    CHECK_EQ_INT(cli_run(args, "3\n9 10\n2,1\n", &out, &err), 0);
    CHECK_MSG(!strcmp(out, "1 3 4\n\n\n1 3 4\n\n"), "got '%s'", out);
    CHECK_MSG(strstr(err, "stdin line 2: skipped 2 unknown items: 9 10") != NULL, "%s", err);
    CHECK(strstr(err, "stdin line 2: no click on an item the model knows") != NULL);
    CHECK(strstr(err, "line 1") == NULL && strstr(err, "line 3") == NULL);
    free(out);
    free(err);

    /* --json, one object per session */
    snprintf(args, sizeof args, "recommend %s --stdin --json -k 2", model);
    CHECK_EQ_INT(cli_run(args, "4 77\n\n", &out, &err), 0);
    CHECK_MSG(!strcmp(out, "{\"clicks\": [4], \"unknown\": [77], \"recommendations\": ["
                           "{\"rank\": 1, \"item\": 3, \"score\": 4.0}, "
                           "{\"rank\": 2, \"item\": 2, \"score\": 3.0}]}\n"
                           "{\"clicks\": [], \"unknown\": [], \"recommendations\": []}\n"),
              "got '%s'", out);
    free(out);
    free(err);

    /* k above the catalogue: all 4 items */
    snprintf(args, sizeof args, "recommend %s 3 -k 50", model);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    CHECK_MSG(!strncmp(out, "1 3 4\n2 2 3\n3 ", 14) && strstr(out, "4 ") && strlen(out) > 20, "%s", out);
    free(out);
    free(err);

    /* nothing known anywhere: exit 1; a bad id: exit 1 naming it */
    snprintf(args, sizeof args, "recommend %s 9 10", model);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 1);
    CHECK(!strcmp(out, ""));
    CHECK(strstr(err, "9 10") != NULL);
    free(out);
    free(err);
    snprintf(args, sizeof args, "recommend %s 3 x12", model);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 1);
    CHECK(strstr(err, "'x12'") != NULL);
    free(out);
    free(err);
    snprintf(args, sizeof args, "recommend %s --stdin", model);
    CHECK_EQ_INT(cli_run(args, "3\n-4\n", &out, &err), 1);
    CHECK(strstr(err, "stdin line 2") && strstr(err, "'-4'"));
    free(out);
    free(err);
    snprintf(args, sizeof args, "recommend %s -k 0 3", model);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 1);
    free(out);
    free(err);
    CHECK_EQ_INT(cli_run("recommend --help", NULL, &out, &err), 0);
    CHECK(strstr(out, "usage: sessrec recommend MODEL") && strstr(out, "--stdin"));
    free(out);
    free(err);
    remove(model);
}

int main(void)
{
    RUN(test_topk_small);
    RUN(test_topk_matches_full_sort);
    RUN(test_inference_path);
    RUN(test_cli_recommend);
    rmdir(test_tmpdir());
    return test_summary();
}
