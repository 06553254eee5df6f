/*
 * test_baselines.c - the baseline algorithms (pop, spop, iknn, sr, ar, sknn,
 * vsknn, stan): hand-computed scores on a tiny data set, exact equivalences
 * (pop follows the counts, spop puts the session's items first, sknn equals a
 * brute force), model files and payload corruption, parameter errors,
 * `sessrec compare`, and end-to-end figures on ../shared/data/yoochoose1_64
 * (sr_evaluate) against the session-rec framework's (issue 4's table).
 */
#include <jansson.h>
#include "test.h"
#include "baselines/common.h"
#include "registry/checkpoint.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

/* Builds a split from parallel arrays of n clicks, grouped by consecutive
 * session ids (rows must already be grouped). Item table = distinct ids in
 * order of first appearance. Returns 0 on success; free with sr_split_free. */
static int split_from_rows(sr_split *s, const int64_t *sess, const int64_t *item,
                               const int64_t *time_us, int64_t n)
{
    memset(s, 0, sizeof *s);
    sr_map m;
    if (sr_map_init(&m, 1024) != SR_OK)
        return -1;
    s->items = malloc((size_t)(n ? n : 1) * sizeof *s->items);
    s->times = malloc((size_t)(n ? n : 1) * sizeof *s->times);
    s->item_ids = malloc((size_t)(n ? n : 1) * sizeof *s->item_ids);
    s->offsets = malloc((size_t)(n + 1) * sizeof *s->offsets);
    s->session_ids = malloc((size_t)(n ? n : 1) * sizeof *s->session_ids);
    if (!s->items || !s->times || !s->item_ids || !s->offsets || !s->session_ids) {
        sr_map_free(&m);
        return -1;
    }
    int64_t ns = 0, ni = 0;
    for (int64_t e = 0; e < n; e++) {
        if (e == 0 || sess[e] != sess[e - 1]) {
            s->offsets[ns] = e;
            s->session_ids[ns++] = sess[e];
        }
        int32_t v = sr_map_put(&m, item[e], (int32_t)ni);
        if (v == (int32_t)ni)
            s->item_ids[ni++] = item[e];
        s->items[e] = v;
        s->times[e] = time_us[e];
    }
    s->offsets[ns] = n;
    s->n_events = n;
    s->n_sessions = ns;
    s->n_items = ni;
    sr_map_free(&m);
    return 0;
}


/* ---- the tiny data set --------------------------------------------------------------
 *   S1 (day 1): A B C      S2 (day 2): B C      S3 (day 3): A C D
 *   S4 (day 4): D E        S5 (day 5): B B F
 * clicks: A 2, B 4, C 3, D 2, E 1, F 1. Item ids A=10 ... F=15; times in days. */
enum { A = 10, B, C, D, E, F };

static sr_split tiny;

static void tiny_init(void)
{
    static const int64_t sess[] = {1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5};
    static const int64_t item[] = {A, B, C, B, C, A, C, D, D, E, B, B, F};
    static const int64_t day[] = {1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5};
    int64_t t[13];
    for (int i = 0; i < 13; i++)
        t[i] = (day[i] * 86400 + i) * 1000000LL; /* microseconds, increasing */
    if (split_from_rows(&tiny, sess, item, t, 13))
        exit(2);
}

static sr_model *train(const char *algo, const char *params)
{
    sr_model *m = NULL;
    sr_error err = {0};
    sr_status st = sr_train_baseline(algo, params, &tiny, &m, &err);
    if (st != SR_OK) {
        fprintf(stderr, "train %s %s: %s\n", algo, params ? params : "", err.msg);
        return NULL;
    }
    return m;
}

/* Scores after feeding the clicks ids[0..n) (original ids) into slot 0. */
static float sc[64];
static const float *score_session(sr_model *m, const int64_t *ids, int n)
{
    sr_scorer *s = sr_scorer_new(m, 4);
    float *buf = malloc(4 * (size_t)sr_model_n_items(m) * sizeof *buf);
    sr_scorer_reset(s, 0);
    for (int i = 0; i < n; i++) {
        int32_t it = (int32_t)sr_model_item_index(m, ids[i]);
        sr_scorer_step(s, &it, 1, buf);
    }
    memcpy(sc, buf, (size_t)sr_model_n_items(m) * sizeof *sc);
    free(buf);
    sr_scorer_free(s);
    return sc;
}

static float S(sr_model *m, const float *row, int64_t id)
{
    return row[sr_model_item_index(m, id)];
}

/* ---- pop / spop ----------------------------------------------------------------------- */

static void test_pop_tiny(void)
{
    sr_model *m = train("pop", NULL);
    CHECK(m);
    if (!m)
        return;
    CHECK_EQ_INT(sr_model_n_items(m), 6);
    CHECK(!strcmp(sr_model_algo(m), "pop"));
    int64_t ids[] = {E};
    const float *r = score_session(m, ids, 1);
    /* order-equivalent to supp/(supp+1): the counts themselves */
    CHECK_NEAR(S(m, r, A), 2, 0);
    CHECK_NEAR(S(m, r, B), 4, 0);
    CHECK_NEAR(S(m, r, C), 3, 0);
    CHECK_NEAR(S(m, r, D), 2, 0);
    CHECK_NEAR(S(m, r, E), 1, 0);
    CHECK_NEAR(S(m, r, F), 1, 0);
    sr_model_free(m);
    m = train("pop", "top_n=2"); /* only B and C keep a score */
    r = score_session(m, ids, 1);
    CHECK_NEAR(S(m, r, B), 4, 0);
    CHECK_NEAR(S(m, r, C), 3, 0);
    CHECK_NEAR(S(m, r, A) + S(m, r, D) + S(m, r, E) + S(m, r, F), 0, 0);
    sr_model_free(m);
}

static void test_spop_tiny(void)
{
    sr_model *m = train("spop", NULL);
    CHECK(m);
    if (!m)
        return;
    /* distinct counts {1,2,3,4}: dense ranks 1..4, one session click weighs 5 */
    int64_t s1[] = {E, A};
    const float *r = score_session(m, s1, 2);
    CHECK_NEAR(S(m, r, A), 5 + 2, 0);
    CHECK_NEAR(S(m, r, E), 5 + 1, 0);
    CHECK_NEAR(S(m, r, B), 4, 0);
    CHECK_NEAR(S(m, r, C), 3, 0);
    CHECK_NEAR(S(m, r, D), 2, 0);
    CHECK_NEAR(S(m, r, F), 1, 0);
    int64_t s2[] = {F, F, A}; /* F clicked twice beats A once */
    r = score_session(m, s2, 3);
    CHECK_NEAR(S(m, r, F), 2 * 5 + 1, 0);
    CHECK_NEAR(S(m, r, A), 5 + 2, 0);
    CHECK(S(m, r, F) > S(m, r, A) && S(m, r, A) > S(m, r, B));
    sr_model_free(m);
}

/* ---- rules ----------------------------------------------------------------------------- */

static void test_ar_tiny(void)
{
    sr_model *m = train("ar", NULL);
    CHECK(m);
    if (!m)
        return;
    /* rule(i->j) = sum over sessions c_i c_j, c_i (c_i - 1) for i == j */
    int64_t s[] = {E, B};
    const float *r = score_session(m, s, 2);
    CHECK_NEAR(S(m, r, A), 1, 0);
    CHECK_NEAR(S(m, r, C), 2, 0);
    CHECK_NEAR(S(m, r, F), 2, 0);
    CHECK_NEAR(S(m, r, B), 2, 0);
    CHECK_NEAR(S(m, r, D) + S(m, r, E), 0, 0);
    int64_t s2[] = {C};
    r = score_session(m, s2, 1);
    CHECK_NEAR(S(m, r, A), 2, 0);
    CHECK_NEAR(S(m, r, B), 2, 0);
    CHECK_NEAR(S(m, r, D), 1, 0);
    CHECK_NEAR(S(m, r, C), 0, 0);
    sr_model_free(m);
    /* pruning=2 over B's rules {A:1, C:2, B:2, F:2}: ties keep the rules met
     * first while reading the data (C in S1, then B and F in S5) */
    for (int v = 0; v < 2; v++) { /* pruning=0.5 drops half of the 4: the same */
        m = train("ar", v ? "pruning=0.5" : "pruning=2");
        r = score_session(m, s, 2);
        CHECK_NEAR(S(m, r, C), 2, 0);
        CHECK_NEAR(S(m, r, B), 2, 0);
        CHECK_NEAR(S(m, r, F), 0, 0);
        CHECK_NEAR(S(m, r, A), 0, 0);
        sr_model_free(m);
    }
}

static void test_sr_tiny(void)
{
    sr_model *m = train("sr", NULL); /* steps=10, weighting=div */
    CHECK(m);
    if (!m)
        return;
    int64_t s[] = {B};
    const float *r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, C), 2, 0);        /* S1 and S2, distance 1 */
    CHECK_NEAR(S(m, r, B), 1, 0);        /* S5 */
    CHECK_NEAR(S(m, r, F), 1.5, 0);      /* S5: distances 1 and 2 */
    CHECK_NEAR(S(m, r, A) + S(m, r, D) + S(m, r, E), 0, 0);
    int64_t s2[] = {A};
    r = score_session(m, s2, 1);
    CHECK_NEAR(S(m, r, B), 1, 0);
    CHECK_NEAR(S(m, r, C), 1.5, 0);      /* 1/2 in S1, 1 in S3 */
    CHECK_NEAR(S(m, r, D), 0.5, 0);
    sr_model_free(m);
    m = train("sr", "steps=1,weighting=quadratic");
    r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, F), 1, 0);
    r = score_session(m, s2, 1);
    CHECK_NEAR(S(m, r, C), 1, 0);
    CHECK_NEAR(S(m, r, D), 0, 0);
    sr_model_free(m);
    m = train("sr", "weighting=linear");
    r = score_session(m, s2, 1);
    CHECK_NEAR(S(m, r, C), 0.8 + 0.9, 1e-6);
    sr_model_free(m);
    /* idf of A, min-max scaled over ln(5 / clicks): (ln 2.5 - ln 1.25) / (ln 5 - ln 1.25) = 1/2 */
    m = train("sr", "idf_weight=2");
    r = score_session(m, s2, 1);
    CHECK_NEAR(S(m, r, C), (0.5 + 0.5) + (1 + 0.5), 1e-6);
    CHECK_NEAR(S(m, r, B), 1 + 0.5, 1e-6);
    sr_model_free(m);
    m = train("sr", "idf_weight=1");
    r = score_session(m, s2, 1);
    CHECK_NEAR(S(m, r, C), 0.5 * 0.5 + 1 * 0.5, 1e-6);
    sr_model_free(m);
}

/* ---- iknn ---------------------------------------------------------------------------------- */

static void test_iknn_tiny(void)
{
    sr_model *m = train("iknn", "lambda=0,alpha=0.5");
    CHECK(m);
    if (!m)
        return;
    /* co(B, j) = sum over sessions holding j of c_B: A 1, C 2, F 2 */
    int64_t s[] = {B};
    const float *r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, A), 1 / sqrt(4.0 * 2), 1e-7);
    CHECK_NEAR(S(m, r, C), 2 / sqrt(4.0 * 3), 1e-7);
    CHECK_NEAR(S(m, r, F), 2 / sqrt(4.0 * 1), 1e-7);
    CHECK_NEAR(S(m, r, B) + S(m, r, D) + S(m, r, E), 0, 0);
    int64_t s2[] = {F}; /* not symmetric: co(F, B) = 1 */
    r = score_session(m, s2, 1);
    CHECK_NEAR(S(m, r, B), 1 / sqrt(1.0 * 4), 1e-7);
    sr_model_free(m);
    m = train("iknn", "n_sims=2"); /* lambda=20, alpha=0.5 */
    r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, F), 2 / sqrt(24.0 * 21), 1e-7);
    CHECK_NEAR(S(m, r, C), 2 / sqrt(24.0 * 23), 1e-7);
    CHECK_NEAR(S(m, r, A), 0, 0);
    sr_model_free(m);
    m = train("iknn", "lmbd=0,alpha=1"); /* the session-rec spelling; confidence */
    r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, C), 2 / 4.0, 1e-7);
    sr_model_free(m);
}

/* ---- sknn ---------------------------------------------------------------------------------- */

static void test_sknn_tiny(void)
{
    sr_model *m = train("sknn", "k=100,sample_size=100");
    CHECK(m);
    if (!m)
        return;
    /* [A]: S1 and S3, jaccard 1/3 each; normalised by the max 2/3 */
    int64_t s[] = {A};
    const float *r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, A), 1, 1e-7);
    CHECK_NEAR(S(m, r, C), 1, 1e-7);
    CHECK_NEAR(S(m, r, B), 0.5, 1e-7);
    CHECK_NEAR(S(m, r, D), 0.5, 1e-7);
    CHECK_NEAR(S(m, r, E) + S(m, r, F), 0, 0);
    sr_model_free(m);
    /* sample_size=1: only the most recent candidate, S3 */
    m = train("sknn", "k=100,sample_size=1,normalize=false");
    r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, D), 1 / 3.0, 1e-7);
    CHECK_NEAR(S(m, r, B), 0, 0);
    sr_model_free(m);
    /* k=1 with a tie: the more recent session wins */
    m = train("sknn", "k=1,normalize=false");
    r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, D), 1 / 3.0, 1e-7);
    CHECK_NEAR(S(m, r, B), 0, 0);
    sr_model_free(m);
    /* [A, B] cosine: S1 2/sqrt(6), S2 1/sqrt(4), S3 1/sqrt(6), S5 1/sqrt(4) */
    m = train("sknn", "similarity=cosine,normalize=false");
    int64_t s2[] = {A, B};
    r = score_session(m, s2, 2);
    CHECK_NEAR(S(m, r, C), 2 / sqrt(6.0) + 0.5 + 1 / sqrt(6.0), 1e-6);
    CHECK_NEAR(S(m, r, F), 0.5, 1e-6);
    sr_model_free(m);
    /* remind: the last clicks get (old + 5) * 5 + position/100 */
    m = train("sknn", "remind=true,normalize=false");
    r = score_session(m, s2, 2);
    double a = 2 / 3.0 + 1 / 4.0;                   /* jaccard S1 2/3, S3 1/4 */
    CHECK_NEAR(S(m, r, A), (a + 5) * 5 + 0.01, 1e-5);
    CHECK_NEAR(S(m, r, B), (1 / 3.0 + 1 / 3.0 + 2 / 3.0 + 5) * 5 + 0.02, 1e-5);
    sr_model_free(m);
    /* pop_boost=1 on [A]: neighbours S1, S3; item shares A 2/2, B 1/2, C 2/2, D 1/2 */
    m = train("sknn", "pop_boost=1,normalize=false");
    r = score_session(m, s, 1);
    CHECK_NEAR(S(m, r, A), 2 / 3.0 + 1, 1e-6);
    CHECK_NEAR(S(m, r, B), 1 / 3.0 + 0.5, 1e-6);
    CHECK_NEAR(S(m, r, D), 1 / 3.0 + 0.5, 1e-6);
    sr_model_free(m);
    /* random sampling of 1 of the 2 candidates: one of them, the same every time */
    m = train("sknn", "sampling=random,sample_size=1,normalize=false,seed=3");
    r = score_session(m, s, 1);
    float b1 = S(m, r, B), d1 = S(m, r, D);
    CHECK((fabs(b1 - 1 / 3.0) < 1e-6 && d1 == 0) || (fabs(d1 - 1 / 3.0) < 1e-6 && b1 == 0));
    r = score_session(m, s, 1);
    CHECK(S(m, r, B) == b1 && S(m, r, D) == d1);
    sr_model_free(m);
}

/* ---- vsknn ---------------------------------------------------------------------------------- */

static void test_vsknn_tiny(void)
{
    sr_model *m = train("vsknn", "normalize=false"); /* weighting=div, weighting_score=div */
    CHECK(m);
    if (!m)
        return;
    /* [A, B]: weights A 1/2, B 1; sims S1 .75, S2 .5, S3 .25, S5 .5;
     * decays: S3 shares only A (step 2) -> 1/2, the others 1 */
    int64_t s[] = {A, B};
    const float *r = score_session(m, s, 2);
    CHECK_NEAR(S(m, r, A), 0.75 + 0.125, 1e-6);
    CHECK_NEAR(S(m, r, B), 0.75 + 0.5 + 0.5, 1e-6);
    CHECK_NEAR(S(m, r, C), 0.75 + 0.5 + 0.125, 1e-6);
    CHECK_NEAR(S(m, r, D), 0.125, 1e-6);
    CHECK_NEAR(S(m, r, F), 0.5, 1e-6);
    CHECK_NEAR(S(m, r, E), 0, 0);
    sr_model_free(m);
    m = train("vsknn", NULL); /* normalised by the max (B) */
    r = score_session(m, s, 2);
    CHECK_NEAR(S(m, r, B), 1, 1e-6);
    CHECK_NEAR(S(m, r, C), 1.375 / 1.75, 1e-6);
    sr_model_free(m);
    /* idf_weighting=1: score * (1 + idf), idf = ln(5 sessions / clicks) */
    m = train("vsknn", "idf_weighting=1,normalize=false,remind=false");
    r = score_session(m, s, 2);
    CHECK_NEAR(S(m, r, C), 1.375 * (1 + log(5 / 3.0)), 1e-5);
    CHECK_NEAR(S(m, r, F), 0.5 * (1 + log(5.0)), 1e-5);
    CHECK_NEAR(S(m, r, A) + S(m, r, B), 0, 0); /* remind=false */
    sr_model_free(m);
    /* weighting=log: A 1/log10(1 + 1.7), B 1/log10(1.7); weighting_score=quadratic */
    m = train("vsknn", "weighting=log,weighting_score=quadratic,normalize=false");
    r = score_session(m, s, 2);
    double wa = 1 / log10(2.7), wb = 1 / log10(1.7);
    CHECK_NEAR(S(m, r, D), wa / 2 * 0.25, 1e-5);
    CHECK_NEAR(S(m, r, F), wb / 2, 1e-5);
    sr_model_free(m);
    /* last_n_clicks=1: only B weighs (1/1); S3 (no B) drops out */
    m = train("vsknn", "last_n_clicks=1,normalize=false");
    r = score_session(m, s, 2);
    CHECK_NEAR(S(m, r, A), 1, 1e-6);
    CHECK_NEAR(S(m, r, B), 3, 1e-6);
    CHECK_NEAR(S(m, r, C), 2, 1e-6);
    CHECK_NEAR(S(m, r, D), 0, 0);
    sr_model_free(m);
    /* push_reminders: the session's items times (their clicks + 1) */
    m = train("vsknn", "push_reminders=true,normalize=false");
    r = score_session(m, s, 2);
    CHECK_NEAR(S(m, r, A), 0.875 * 2, 1e-6);
    CHECK_NEAR(S(m, r, B), 1.75 * 2, 1e-6);
    CHECK_NEAR(S(m, r, C), 1.375, 1e-6);
    sr_model_free(m);
}

/* ---- stan ------------------------------------------------------------------------------------- */

static void test_stan_tiny(void)
{
    sr_model *m = train("stan", "lambda_spw=1,lambda_snh=0,lambda_inh=1");
    CHECK(m);
    if (!m)
        return;
    int64_t s[] = {A, B};
    const float *r = score_session(m, s, 2);
    double e1 = exp(-1.0), e2 = exp(-2.0), nq = sqrt(1 + e2);
    double s1 = (e1 + 1) / (nq * sqrt(3.0)), s2 = 1 / (nq * sqrt(2.0)),
           s3 = e1 / (nq * sqrt(3.0)), s5 = 1 / (nq * sqrt(2.0));
    CHECK_NEAR(S(m, r, A), s1 * e1 + s3 * 1, 1e-6);
    CHECK_NEAR(S(m, r, B), s1 + s2 + s5, 1e-6);
    CHECK_NEAR(S(m, r, C), s1 * e1 + s2 * e1 + s3 * e1, 1e-6);
    CHECK_NEAR(S(m, r, D), s3 * e2, 1e-6);
    CHECK_NEAR(S(m, r, F), s5 * e1, 1e-6);
    CHECK_NEAR(S(m, r, E), 0, 0);
    sr_model_free(m);
    m = train("stan", "lambda_spw=1,lambda_snh=0,lambda_inh=1,remind=false");
    r = score_session(m, s, 2);
    CHECK_NEAR(S(m, r, A) + S(m, r, B), 0, 0);
    CHECK_NEAR(S(m, r, C), s1 * e1 + s2 * e1 + s3 * e1, 1e-6);
    sr_model_free(m);
    /* lambda_snh=1 day: neighbours decay by exp(-(t_last - t_n) / 1 day), "now"
     * being the last training click (S5's, day 5 + 12 s) */
    m = train("stan", "lambda_spw=1,lambda_snh=1,lambda_inh=1");
    r = score_session(m, s, 2);
    double now = 5 * 86400 + 12;
    double d1 = exp(-(now - (86400 + 2)) / 86400.0), d2 = exp(-(now - (2 * 86400 + 4)) / 86400.0),
           d3 = exp(-(now - (3 * 86400 + 7)) / 86400.0);
    CHECK_NEAR(S(m, r, C), s1 * d1 * e1 + s2 * d2 * e1 + s3 * d3 * e1, 1e-6);
    CHECK_NEAR(S(m, r, F), s5 * e1, 1e-6);
    sr_model_free(m);
    /* k=1: only the most similar neighbour (S1, with lambda_snh off) */
    m = train("stan", "k=1,lambda_snh=0");
    r = score_session(m, s, 2);
    CHECK(S(m, r, C) > 0);
    CHECK_NEAR(S(m, r, F) + S(m, r, D), 0, 0);
    sr_model_free(m);
}

/* ---- sknn equals a brute force when k and the sample cover everything --------------------- */

/* The plain definition: every training session, jaccard on item sets, sum. */
static void brute_sknn(const sr_split *tr, const int32_t *sess, int n, double *out, int64_t ni)
{
    for (int64_t i = 0; i < ni; i++)
        out[i] = 0;
    for (int64_t s = 0; s < tr->n_sessions; s++) {
        int inter = 0, ns = 0;
        for (int64_t e = tr->offsets[s]; e < tr->offsets[s + 1]; e++) {
            int dup = 0;
            for (int64_t f = tr->offsets[s]; f < e; f++)
                dup |= tr->items[f] == tr->items[e];
            if (dup)
                continue;
            ns++;
            for (int j = 0; j < n; j++)
                if (sess[j] == tr->items[e]) {
                    inter++;
                    break;
                }
        }
        int nd = 0;
        for (int j = 0; j < n; j++) {
            int dup = 0;
            for (int k = 0; k < j; k++)
                dup |= sess[k] == sess[j];
            nd += !dup;
        }
        if (!inter)
            continue;
        double sim = (double)inter / (nd + ns - inter);
        for (int64_t e = tr->offsets[s]; e < tr->offsets[s + 1]; e++) {
            int dup = 0;
            for (int64_t f = tr->offsets[s]; f < e; f++)
                dup |= tr->items[f] == tr->items[e];
            if (!dup)
                out[tr->items[e]] += sim;
        }
    }
    double mx = 0;
    for (int64_t i = 0; i < ni; i++)
        mx = out[i] > mx ? out[i] : mx;
    for (int64_t i = 0; i < ni && mx > 0; i++)
        out[i] /= mx;
}

static void check_sknn_brute(const sr_split *tr, const sr_split *te, int64_t max_sessions)
{
    sr_model *m = NULL;
    sr_error err;
    CHECK(sr_train_baseline("sknn", "k=100000000,sample_size=0", tr, &m, &err) == SR_OK);
    if (!m)
        return;
    int64_t ni = sr_model_n_items(m);
    /* model items are the training items in table order: map split -> model */
    int32_t *sess = malloc(4096 * sizeof *sess), *msess = malloc(4096 * sizeof *msess);
    double *want = malloc((size_t)tr->n_items * sizeof *want);
    float *row = malloc((size_t)ni * sizeof *row);
    sr_scorer *sc2 = sr_scorer_new(m, 1);
    int64_t checked = 0, bad = 0;
    for (int64_t s = 0; s < te->n_sessions && s < max_sessions; s++) {
        int n = 0;
        sr_scorer_reset(sc2, 0);
        for (int64_t e = te->offsets[s]; e < te->offsets[s + 1] && n < 4096; e++) {
            int64_t id = te->item_ids[te->items[e]];
            int64_t mi = sr_model_item_index(m, id);
            if (mi < 0)
                continue;
            /* the training split's own index of this id */
            int32_t ti = -1;
            for (int64_t i = 0; i < tr->n_items; i++)
                if (tr->item_ids[i] == id) {
                    ti = (int32_t)i;
                    break;
                }
            sess[n] = ti;
            msess[n++] = (int32_t)mi;
            sr_scorer_step(sc2, &msess[n - 1], 1, row);
            brute_sknn(tr, sess, n, want, tr->n_items);
            for (int64_t i = 0; i < tr->n_items; i++) {
                int64_t j = sr_model_item_index(m, tr->item_ids[i]);
                double got = j >= 0 ? row[j] : 0;
                if (fabs(got - want[i]) > 1e-6 * (1 + fabs(want[i])))
                    bad++;
            }
            checked++;
        }
    }
    CHECK(checked > 0);
    CHECK_EQ_INT(bad, 0);
    sr_scorer_free(sc2);
    free(sess);
    free(msess);
    free(want);
    free(row);
    sr_model_free(m);
}

static void test_sknn_brute_random(void)
{
    /* 400 random sessions over 30 items, then 40 test sessions */
    sr_rng rng;
    sr_rng_seed(&rng, 7);
    int64_t se[4000], it[4000], tm[4000];
    int n = 0;
    for (int s = 0; s < 440 && n < 3990; s++) {
        int len = 1 + (int)(sr_rng_next(&rng) % 6);
        for (int j = 0; j < len && n < 4000; j++) {
            se[n] = s;
            it[n] = 100 + (int64_t)(sr_rng_next(&rng) % 30);
            tm[n] = n * 1000000LL;
            n++;
        }
    }
    int cut = 0;
    while (cut < n && se[cut] < 400)
        cut++;
    sr_split tr, te;
    CHECK(!split_from_rows(&tr, se, it, tm, cut));
    CHECK(!split_from_rows(&te, se + cut, it + cut, tm + cut, n - cut));
    check_sknn_brute(&tr, &te, 40);
    sr_split_free(&tr);
    sr_split_free(&te);
}

/* ---- scorer slots, model payloads, parameters ---------------------------------------------- */

static const char *const all_algos[] = {"pop", "spop", "iknn", "sr", "ar", "sknn", "vsknn", "stan"};

static void test_slots_move(void)
{
    for (int a = 0; a < 9; a++) {
        /* the ninth: sknn with random sampling (draws must not depend on the slot) */
        sr_model *m = a < 8 ? train(all_algos[a], NULL)
                            : train("sknn", "sampling=random,sample_size=2,seed=5");
        CHECK(m);
        if (!m)
            continue;
        int64_t ni = sr_model_n_items(m);
        sr_scorer *s = sr_scorer_new(m, 4);
        float *buf = malloc(4 * (size_t)ni * sizeof *buf), want[6], got[6];
        /* reference: A, B, D in slot 0 */
        int32_t a0 = (int32_t)sr_model_item_index(m, A), b0 = (int32_t)sr_model_item_index(m, B),
                d0 = (int32_t)sr_model_item_index(m, D), c0 = (int32_t)sr_model_item_index(m, C);
        sr_scorer_reset(s, 0);
        sr_scorer_step(s, &a0, 1, buf);
        sr_scorer_step(s, &b0, 1, buf);
        sr_scorer_step(s, &d0, 1, buf);
        memcpy(want, buf, (size_t)ni * sizeof *buf);
        /* same session in slot 2 next to another one, then moved to slot 0 */
        int32_t in[3];
        sr_scorer_reset(s, 0);
        sr_scorer_reset(s, 1);
        sr_scorer_reset(s, 2);
        in[0] = c0; in[1] = c0; in[2] = a0;
        sr_scorer_step(s, in, 3, buf);
        in[0] = c0; in[1] = c0; in[2] = b0;
        sr_scorer_step(s, in, 3, buf);
        sr_scorer_move(s, 0, 2);
        in[0] = d0;
        sr_scorer_step(s, in, 1, buf);
        memcpy(got, buf, (size_t)ni * sizeof *buf);
        CHECK_MSG(!memcmp(want, got, (size_t)ni * sizeof *buf), "%s", a < 8 ? all_algos[a] : "sknn");
        /* the first clicks fed without scores (NULL) give the same final scores */
        sr_scorer_reset(s, 0);
        sr_scorer_step(s, &a0, 1, NULL);
        sr_scorer_step(s, &b0, 1, NULL);
        sr_scorer_step(s, &d0, 1, buf);
        CHECK_MSG(!memcmp(want, buf, (size_t)ni * sizeof *buf), "NULL scores: %s",
                  a < 8 ? all_algos[a] : "sknn");
        free(buf);
        sr_scorer_free(s);
        sr_model_free(m);
    }
}

static void test_payload_roundtrip(void)
{
    for (int a = 0; a < 8; a++) {
        sr_model *m = train(all_algos[a], NULL);
        CHECK(m);
        if (!m)
            continue;
        sr_buf b = {0};
        CHECK(m->vt->serialize(m, &b) == SR_OK);
        const sr_model_vt *vt = sr_algo_find_in(&sr_algo_default, all_algos[a])->vt;
        CHECK(vt == m->vt);
        sr_model *m2 = sr_model_new_shell(vt, m->n_items, m->item_ids);
        sr_error err = {0};
        CHECK_MSG(vt->deserialize(m2, b.data, b.len, &err) == SR_OK, "%s: %s", all_algos[a],
                  err.msg);
        if (m2->impl) {
            int64_t ids[] = {A, B, B, D};
            float r1[6], r2[6];
            for (int n = 1; n <= 4; n++) {
                memcpy(r1, score_session(m, ids, n), sizeof r1);
                memcpy(r2, score_session(m2, ids, n), sizeof r2);
                CHECK_MSG(!memcmp(r1, r2, sizeof r1), "%s prefix %d", all_algos[a], n);
            }
        }
        /* every truncation and a few thousand byte flips: an error or a
         * consistent model, never a crash (ASan watches in SR_SAN builds) */
        for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 200) {
            sr_model *m3 = sr_model_new_shell(vt, m->n_items, m->item_ids);
            CHECK(vt->deserialize(m3, b.data, cut, &err) == SR_ERR_FORMAT);
            sr_model_free(m3);
        }
        sr_rng rng;
        sr_rng_seed(&rng, 99);
        for (int t = 0; t < 300; t++) {
            uint8_t *cp = malloc(b.len);
            memcpy(cp, b.data, b.len);
            size_t pos = sr_rng_next(&rng) % b.len;
            cp[pos] ^= (uint8_t)(1 + sr_rng_next(&rng) % 255);
            sr_model *m3 = sr_model_new_shell(vt, m->n_items, m->item_ids);
            if (vt->deserialize(m3, cp, b.len, &err) == SR_OK) {
                int64_t ids[] = {A, B, C, D, E, F};
                score_session(m3, ids, 6); /* must not crash */
            }
            sr_model_free(m3);
            free(cp);
        }
        sr_model_free(m2);
        sr_buf_free(&b);
        sr_model_free(m);
    }
}

/* The model's bytes (the training parameters ride along in the payload). */
static void model_bytes(sr_model *m, sr_buf *b)
{
    memset(b, 0, sizeof *b);
    if (m)
        CHECK(sr_model_to_bytes(m, b, NULL) == SR_OK);
}

/* Each baseline row of the table describes its parser truthfully: spelling
 * out every documented default (and every choice) is accepted, and the
 * defaults train the same model as no parameters; a preset trains the same
 * model as its text given with -p. */
static void test_table_rows(void)
{
    for (int i = 0; i < sr_algo_count(); i++) {
        const sr_algo_info *a = sr_algo_at(i);
        if (!strcmp(a->name, "gru4rec"))
            continue;
        char spec[2048] = "";
        for (int k = 0; k < a->n_params; k++)
            snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s%s=%s", k ? "," : "",
                     a->params[k].name, a->params[k].def);
        sr_model *m1 = NULL, *m2 = NULL;
        sr_error err = {0};
        CHECK_MSG(sr_train(a->name, &tiny, NULL, NULL, NULL, &m1, &err) == SR_OK, "%s", err.msg);
        CHECK_MSG(sr_train(a->name, &tiny, NULL, spec, NULL, &m2, &err) == SR_OK, "%s: %s",
                  spec, err.msg);
        sr_buf b1, b2;
        model_bytes(m1, &b1);
        model_bytes(m2, &b2);
        CHECK_MSG(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len),
                  "%s: the documented defaults are not the defaults", a->name);
        sr_buf_free(&b1);
        sr_buf_free(&b2);
        sr_model_free(m1);
        sr_model_free(m2);
        for (int k = 0; k < a->n_params; k++)
            for (int c = 0; a->params[k].type == SR_PARAM_CHOICE && a->params[k].choices[c]; c++) {
                snprintf(spec, sizeof spec, "%s=%s", a->params[k].name, a->params[k].choices[c]);
                m1 = NULL;
                CHECK_MSG(sr_train(a->name, &tiny, NULL, spec, NULL, &m1, &err) == SR_OK,
                          "%s %s: %s", a->name, spec, err.msg);
                sr_model_free(m1);
            }
        for (int k = 0; k < a->n_presets; k++) {
            m1 = m2 = NULL;
            CHECK(sr_train(a->name, &tiny, a->presets[k].name, NULL, NULL, &m1, &err) == SR_OK);
            CHECK(sr_train(a->name, &tiny, NULL, a->presets[k].params, NULL, &m2, &err) == SR_OK);
            model_bytes(m1, &b1);
            model_bytes(m2, &b2);
            CHECK(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len));
            sr_buf_free(&b1);
            sr_buf_free(&b2);
            sr_model_free(m1);
            sr_model_free(m2);
        }
    }
}

static void test_params(void)
{
    sr_model *m = NULL;
    sr_error err = {0};
    CHECK(sr_train_baseline("sknn", "k=10,bogus=1", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "bogus") != NULL);
    CHECK(sr_train_baseline("sknn", "k=ten", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "'ten'") != NULL);
    CHECK(sr_train_baseline("sknn", "similarity=euclid", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "jaccard") != NULL);
    CHECK(sr_train_baseline("sknn", "extend=True", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(sr_train_baseline("vsknn", "weighting_time=true", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(sr_train_baseline("sr", "steps=0", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(sr_train_baseline("iknn", "alpha=1.5", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(sr_train_baseline("sr", "steps", &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(sr_train_baseline("gru", NULL, &tiny, &m, &err) == SR_ERR_ARG);
    CHECK(m == NULL);
    /* spaces, case of booleans and choices, None, trailing comma */
    CHECK(sr_train_baseline("vsknn", " k = 5 , remind=FALSE, weighting=Log, last_n_clicks=None,"
                            "idf_weighting=False", &tiny, &m, &err) == SR_OK);
    sr_model_free(m);
    CHECK(sr_train_baseline("sr", "idf_weight=True,pruning=0.5", &tiny, &m, &err) == SR_OK);
    sr_model_free(m);
    m = NULL;
    sr_split empty;
    memset(&empty, 0, sizeof empty);
    CHECK(sr_train_baseline("pop", NULL, &empty, &m, &err) == SR_ERR_EMPTY);
    /* every name of all_algos is a baseline of the table, and there are no others */
    int n = 0;
    for (int i = 0; i < sr_algo_count(); i++)
        n += strcmp(sr_algo_at(i)->name, "gru4rec") != 0;
    CHECK_EQ_INT(n, 8);
    for (int a = 0; a < 8; a++)
        CHECK(sr_algo_find(all_algos[a]) != NULL);
}

/* ---- yoochoose1_64 -------------------------------------------------------------------------- */

static sr_split ytr, yte;
static int have_yoo;

static int load_yoo(void)
{
    if (have_yoo)
        return have_yoo > 0;
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/yoochoose1_64/train.tsv", test_data_dir());
    snprintf(p2, sizeof p2, "%s/yoochoose1_64/test.tsv", test_data_dir());
    have_yoo = sr_split_open(p1, &ytr, NULL) == SR_OK && sr_split_open(p2, &yte, NULL) == SR_OK ? 1 : -1;
    return have_yoo > 0;
}

static void test_pop_follows_counts_yoo(void)
{
    if (!load_yoo())
        SKIP("../shared/data/yoochoose1_64 missing");
    sr_model *m = NULL;
    sr_error err;
    CHECK(sr_train_baseline("pop", NULL, &ytr, &m, &err) == SR_OK);
    if (!m)
        return;
    int64_t *cnt = calloc((size_t)ytr.n_items, sizeof *cnt);
    for (int64_t e = 0; e < ytr.n_events; e++)
        cnt[ytr.items[e]]++;
    int64_t ni = sr_model_n_items(m), bad = 0;
    float *row = malloc((size_t)ni * sizeof *row);
    sr_scorer *s = sr_scorer_new(m, 1);
    int32_t in = 0;
    sr_scorer_reset(s, 0);
    sr_scorer_step(s, &in, 1, row);
    /* same order as the counts, pair by pair (checked against a shifted copy) */
    for (int64_t i = 0; i < ytr.n_items; i++) {
        int64_t a = sr_model_item_index(m, ytr.item_ids[i]);
        int64_t j = (i * 7919 + 13) % ytr.n_items;
        int64_t b = sr_model_item_index(m, ytr.item_ids[j]);
        if (a < 0 || b < 0) {
            bad++;
            continue;
        }
        if ((cnt[i] > cnt[j]) != (row[a] > row[b]) || (cnt[i] == cnt[j]) != (row[a] == row[b]))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    sr_scorer_free(s);
    free(row);
    free(cnt);
    sr_model_free(m);
}

static void test_spop_distinct_yoo(void)
{
    if (!load_yoo())
        SKIP("../shared/data/yoochoose1_64 missing");
    sr_model *m = NULL;
    sr_error err;
    CHECK(sr_train_baseline("spop", "top_n=None", &ytr, &m, &err) == SR_OK);
    if (!m)
        return;
    int64_t ni = sr_model_n_items(m);
    int64_t *cnt = calloc((size_t)ni, sizeof *cnt);
    for (int64_t e = 0; e < ytr.n_events; e++)
        cnt[sr_model_item_index(m, ytr.item_ids[ytr.items[e]])]++;
    float *row = malloc((size_t)ni * sizeof *row);
    char *in_s = calloc((size_t)ni, 1);
    sr_scorer *s = sr_scorer_new(m, 1);
    int64_t sessions = 0, bad = 0;
    for (int64_t t = 0; t < yte.n_sessions && sessions < 50; t++) {
        /* sessions whose known clicks are all distinct */
        int32_t cl[64];
        int n = 0, distinct = 1;
        for (int64_t e = yte.offsets[t]; e < yte.offsets[t + 1] && n < 64; e++) {
            int64_t mi = sr_model_item_index(m, yte.item_ids[yte.items[e]]);
            if (mi < 0)
                continue;
            for (int k = 0; k < n; k++)
                distinct &= cl[k] != mi;
            cl[n++] = (int32_t)mi;
        }
        if (n < 3 || !distinct)
            continue;
        sessions++;
        sr_scorer_reset(s, 0);
        for (int k = 0; k < n; k++) {
            sr_scorer_step(s, &cl[k], 1, row);
            in_s[cl[k]] = 1;
            /* (in session, count) lexicographic order == score order */
            for (int64_t i = 0; i < ni; i++) {
                int64_t j = (i * 7919 + 13) % ni;
                int gt = in_s[i] != in_s[j] ? in_s[i] > in_s[j] : cnt[i] > cnt[j];
                int eq = in_s[i] == in_s[j] && cnt[i] == cnt[j];
                if (gt != (row[i] > row[j]) || eq != (row[i] == row[j]))
                    bad++;
            }
        }
        for (int k = 0; k < n; k++)
            in_s[cl[k]] = 0;
    }
    CHECK(sessions == 50);
    CHECK_EQ_INT(bad, 0);
    sr_scorer_free(s);
    free(row);
    free(in_s);
    free(cnt);
    sr_model_free(m);
}

static void test_sknn_brute_yoo(void)
{
    if (getenv("SR_SAN"))
        SKIP("heavy; run in the normal build");
    if (!load_yoo())
        SKIP("../shared/data/yoochoose1_64 missing");
    check_sknn_brute(&ytr, &yte, 12);
}

/* Issue 4's table: session-rec's own figures, conservative (standard) ties. */
static const struct {
    const char *algo, *params;
    double r_cons, r_std, m_cons, m_std;
} table[] = {
    {"pop", "", 0.0740, 0.0740, 0.0171, 0.0171},
    {"iknn", "n_sims=100,lambda=20,alpha=0.5", 0.5194, 0.5488, 0.2177, 0.2241},
    {"ar", "pruning=20", 0.6610, 0.6847, 0.2824, 0.2942},
    {"sr", "steps=10,weighting=div,pruning=20", 0.6699, 0.7169, 0.3013, 0.3135},
    {"sknn", "k=500,sample_size=10000,similarity=jaccard,sampling=recent", 0.6381, 0.6486,
     0.2509, 0.2542},
    {"vsknn", "k=1000,sample_size=5000,weighting=log,weighting_score=quadratic,idf_weighting=2",
     0.6934, 0.7003, 0.2874, 0.2886},
    {"stan", "k=500,sample_size=5000,lambda_spw=1,lambda_snh=10,lambda_inh=1", 0.6970, 0.7037,
     0.2853, 0.2864},
};

static void test_e2e_yoochoose(void)
{
    if (getenv("SR_SAN"))
        SKIP("heavy; run in the normal build");
    if (!load_yoo())
        SKIP("../shared/data/yoochoose1_64 missing");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        sr_model *m = NULL;
        sr_error err = {0};
        double t0 = sr_now();
        CHECK_MSG(sr_train_baseline(table[i].algo, table[i].params, &ytr, &m, &err) == SR_OK,
                  "%s", err.msg);
        if (!m)
            continue;
        double t1 = sr_now();
        sr_eval_result r[2]; /* [0] standard, [1] conservative */
        for (int t = 0; t < 2; t++) {
            sr_eval_opts o = sr_eval_default_opts();
            o.n_cutoffs = 1;
            o.cutoffs[0] = 20;
            o.ties = t ? SR_TIES_CONSERVATIVE : SR_TIES_STANDARD;
            CHECK_MSG(sr_evaluate(m, &yte, &o, &r[t], &err) == SR_OK, "%s", err.msg);
        }
        fprintf(stderr, "  %-6s R@20 %.4f (%.4f) MRR@20 %.4f (%.4f)  [session-rec %.4f (%.4f) "
                "%.4f (%.4f)]  train %.2fs, %.0f pred/s (%d threads)\n", table[i].algo,
                r[1].recall[0], r[0].recall[0], r[1].mrr[0], r[0].mrr[0], table[i].r_cons,
                table[i].r_std, table[i].m_cons, table[i].m_std, t1 - t0,
                (double)r[1].n_predictions / r[1].seconds, r[1].threads);
        CHECK_EQ_INT(r[1].n_predictions, 55121);
        CHECK_NEAR(r[1].recall[0], table[i].r_cons, 0.01);
        CHECK_NEAR(r[0].recall[0], table[i].r_std, 0.01);
        CHECK_NEAR(r[1].mrr[0], table[i].m_cons, 0.01);
        CHECK_NEAR(r[0].mrr[0], table[i].m_std, 0.01);
        sr_model_free(m);
    }
}

/* ---- model files, and the sessrec compare command ---------------------------------- */

static void test_model_files(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/model.srm", test_tmpdir());
    for (int a = 0; a < 8; a++) {
        sr_model *m = train(all_algos[a], a == 7 ? "lambda_snh=1" : NULL), *m2 = NULL;
        sr_error err = {0};
        CHECK(m);
        if (!m)
            continue;
        CHECK_MSG(sr_model_save(m, path, &err) == SR_OK, "%s: %s", all_algos[a], err.msg);
        CHECK_MSG(sr_model_load(path, &m2, &err) == SR_OK, "%s: %s", all_algos[a], err.msg);
        if (m2) {
            CHECK(!strcmp(sr_model_algo(m2), all_algos[a]));
            CHECK_EQ_INT(sr_model_n_items(m2), 6);
            int64_t ids[] = {A, B, B, D, E};
            float r1[6], r2[6];
            for (int n = 1; n <= 5; n++) {
                memcpy(r1, score_session(m, ids, n), sizeof r1);
                memcpy(r2, score_session(m2, ids, n), sizeof r2);
                CHECK_MSG(!memcmp(r1, r2, sizeof r1), "%s prefix %d", all_algos[a], n);
            }
        }
        sr_model_free(m2);
        sr_model_free(m);
    }
    remove(path);
}

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

static void test_cli_compare(void)
{
    const char *bin = sr_bin();
    if (access(bin, X_OK) != 0)
        SKIP("sessrec binary not built (SR_BIN)");
    const char *tmp = test_tmpdir();
    char trp[512], tep[512], out[512], err[512], cmd[4096];
    snprintf(trp, sizeof trp, "%s/train.tsv", tmp);
    snprintf(tep, sizeof tep, "%s/test.tsv", tmp);
    snprintf(out, sizeof out, "%s/out.txt", tmp);
    snprintf(err, sizeof err, "%s/err.txt", tmp);
    /* the tiny training data; one test session A B C (and an unknown item 99) */
    FILE *f = fopen(trp, "w");
    fprintf(f, "SessionId\tItemId\tTime\n");
    for (int64_t e = 0; e < tiny.n_events; e++) {
        int64_t s = 0;
        while (tiny.offsets[s + 1] <= e)
            s++;
        fprintf(f, "%lld\t%lld\t%.0f\n", (long long)tiny.session_ids[s],
                (long long)tiny.item_ids[tiny.items[e]], (double)tiny.times[e] / 1e6);
    }
    fclose(f);
    f = fopen(tep, "w");
    fprintf(f, "SessionId\tItemId\tTime\n9\t10\t1000000\n9\t99\t1000001\n9\t11\t1000002\n"
               "9\t12\t1000003\n");
    fclose(f);
    /* pop: after A the target B ranks 1, after B the target C ranks 2 (B 4, C 3 clicks):
     * Recall@20 1, MRR@20 0.75; every item is in the top-20 (coverage 1); popularity
     * = mean of clicks / 4 over all six items = 13/24 */
    snprintf(cmd, sizeof cmd, "%s compare %s %s --algos pop,sr,sknn --json >%s 2>%s", bin, trp,
             tep, out, err);
    CHECK_EQ_INT(run(cmd), 0);
    char *o = test_read_text(out);
    CHECK(o != NULL);
    if (o) {
        /* the metrics in the form every command writes (docs/json.md) */
        json_error_t je;
        json_t *root = json_loads(o, 0, &je);
        CHECK(root != NULL);
        json_t *pop = json_array_get(json_object_get(root, "results"), 0);
        json_t *m20 = json_array_get(json_object_get(pop, "metrics"), 0);
        CHECK(json_is_string(json_object_get(pop, "algo")) &&
              !strcmp(json_string_value(json_object_get(pop, "algo")), "pop"));
        CHECK_EQ_INT((int)json_integer_value(json_object_get(m20, "cutoff")), 20);
        CHECK_NEAR(json_number_value(json_object_get(m20, "recall")), 1.0, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(m20, "mrr")), 0.75, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(pop, "coverage@20")), 1.0, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(pop, "popularity@20")), 13.0 / 24, 1e-12);
        CHECK_EQ_INT((int)json_integer_value(json_object_get(pop, "n_predictions")), 2);
        CHECK_EQ_INT((int)json_integer_value(json_object_get(pop, "n_skipped")), 1);
        CHECK(json_is_string(json_object_get(pop, "params")) &&
              !strcmp(json_string_value(json_object_get(pop, "params")), "top_n=None"));
        CHECK(strstr(o, "\"algo\": \"sr\"") && strstr(o, "\"algo\": \"sknn\""));
        json_decref(root);
        free(o);
    }
    /* the table, with parameters and two cutoffs */
    snprintf(cmd, sizeof cmd, "%s compare %s %s --algos pop,sknn -p sknn:k=1 --cutoffs 1,20 "
             ">%s 2>%s", bin, trp, tep, out, err);
    CHECK_EQ_INT(run(cmd), 0);
    o = test_read_text(out);
    if (o) {
        CHECK(strstr(o, "Recall@1") && strstr(o, "NDCG@20") && strstr(o, "Cov@20"));
        const char *line = strstr(o, "\npop ");
        double v[7] = {0};
        CHECK(line && sscanf(line, " pop %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3],
                             &v[4], &v[5], &v[6]) == 7);
        /* Recall@1 MRR@1 NDCG@1: the first target only; @20 as above; Cov@20 */
        CHECK_NEAR(v[0], 0.5, 0);
        CHECK_NEAR(v[1], 0.5, 0);
        CHECK_NEAR(v[3], 1.0, 0);
        CHECK_NEAR(v[4], 0.75, 0);
        CHECK_NEAR(v[5], (1 + 1 / log2(3.0)) / 2, 1e-4);
        CHECK_NEAR(v[6], 1.0, 0);
        CHECK(strstr(o, "sknn: k=1") != NULL);
        free(o);
    }
    /* user errors: exit 1 with a message naming the culprit */
    snprintf(cmd, sizeof cmd, "%s compare %s %s --algos pop,knn >%s 2>%s", bin, trp, tep, out,
             err);
    CHECK_EQ_INT(run(cmd), 1);
    o = test_read_text(err);
    CHECK(o && strstr(o, "'knn'"));
    free(o);
    snprintf(cmd, sizeof cmd, "%s compare %s %s --algos sknn -p sknn:k=zero >%s 2>%s", bin, trp,
             tep, out, err);
    CHECK_EQ_INT(run(cmd), 1);
    o = test_read_text(err);
    CHECK(o && strstr(o, "'zero'"));
    free(o);
    remove(trp);
    remove(tep);
    remove(out);
    remove(err);
}

int main(void)
{
    tiny_init();
    RUN(test_pop_tiny);
    RUN(test_spop_tiny);
    RUN(test_ar_tiny);
    RUN(test_sr_tiny);
    RUN(test_iknn_tiny);
    RUN(test_sknn_tiny);
    RUN(test_vsknn_tiny);
    RUN(test_stan_tiny);
    RUN(test_sknn_brute_random);
    RUN(test_slots_move);
    RUN(test_payload_roundtrip);
    RUN(test_params);
    RUN(test_table_rows);
    RUN(test_pop_follows_counts_yoo);
    RUN(test_spop_distinct_yoo);
    RUN(test_sknn_brute_yoo);
    RUN(test_model_files);
    RUN(test_cli_compare);
    RUN(test_e2e_yoochoose);
    sr_split_free(&tiny);
    if (have_yoo > 0) {
        sr_split_free(&ytr);
        sr_split_free(&yte);
    }
    return test_summary();
}
