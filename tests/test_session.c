/*
 * test_session.c - live sessions (sr_session): for GRU4Rec and every baseline,
 * batched stepping of arbitrary sessions gives the scores of a scorer that
 * replays each session alone; scoring without a click repeats the last step;
 * top-k with exclude_seen; the click cap; bytes round-trip and every bad byte
 * string rejected; argument errors change nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "sessrec.h"
#include "util/util.h"
#include "eval_fixtures.h"

#include <pthread.h>
#include <unistd.h>

#define N_ITEMS 60
#define N_SESS 24

/* A small log with structure (item i tends to be followed by i+1 or i+7). */
static sr_split make_train(void)
{
    return make_chain_split(N_ITEMS, 400, 7, 7, 1000, 7);
}

static sr_model *train(const char *algo, const sr_split *sp)
{
    sr_model *m = NULL;
    sr_error err;
    if (!strcmp(algo, "gru4rec")) {
        sr_gru_params p = sr_gru_default_params();
        if (sr_gru_params_parse(&p, "layers=16/8,batch_size=16,n_epochs=1,n_sample=16", &err))
            fprintf(stderr, "params: %s\n", err.msg);
        p.sample_store = 10000;
        sr_train_opts o = sr_train_default_opts();
        o.threads = 1;
        if (sr_train_gru(sp, &p, &o, &m, &err) != SR_OK)
            fprintf(stderr, "train: %s\n", err.msg);
    } else if (sr_train_baseline(algo, NULL, sp, &m, &err) != SR_OK) {
        fprintf(stderr, "train %s: %s\n", algo, err.msg);
    }
    return m;
}

/* Trains a and b on sp into *x and *y; 0 when either fails (a check fails,
 * both models and sp are freed). */
static int train_pair(sr_split *sp, const char *a, const char *b, sr_model **x, sr_model **y)
{
    *x = train(a, sp);
    *y = train(b, sp);
    CHECK(*x && *y);
    if (*x && *y)
        return 1;
    sr_model_free(*x);
    sr_model_free(*y);
    sr_split_free(sp);
    return 0;
}

static const char *const algos[] = {"gru4rec", "pop", "spop", "iknn", "sr", "ar",
                                    "sknn",    "vsknn", "stan"};

/* Scores of a session replayed alone in a fresh scorer slot. */
static void replay(const sr_model *m, const int32_t *clicks, int n, float *scores)
{
    sr_scorer *sc = sr_scorer_new(m, 1);
    sr_scorer_reset(sc, 0);
    for (int i = 0; i < n; i++)
        sr_scorer_step(sc, &clicks[i], 1, i == n - 1 ? scores : NULL);
    sr_scorer_free(sc);
}

static double max_diff(const float *a, const float *b, int64_t n)
{
    double d = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = fabs((double)a[i] - (double)b[i]);
        if (!(x <= d))
            d = x;
    }
    return d;
}

static void test_batched_matches_replay(void)
{
    sr_split sp = make_train();
    for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
        sr_model *m = train(algos[a], &sp);
        CHECK_MSG(m != NULL, "%s", algos[a]);
        if (!m)
            continue;
        const int64_t ni = sr_model_n_items(m);
        /* exact for the baselines; GRU4Rec's products may round differently by batch size */
        const double tol = strcmp(algos[a], "gru4rec") ? 0 : 1e-5;
        sr_session *ss[N_SESS];
        int32_t hist[N_SESS][40];
        int len[N_SESS] = {0};
        for (int i = 0; i < N_SESS; i++)
            ss[i] = sr_session_new(m);
        sr_scorer *ws = sr_scorer_new(m, 8);
        float *sc = malloc(8 * (size_t)ni * sizeof *sc), *ref = malloc((size_t)ni * sizeof *ref);
        sr_rng r;
        sr_rng_seed(&r, 11 + a);
        sr_error err;
        double worst = 0;
        for (int round = 0; round < 30; round++) {
            /* a random set of distinct sessions, each clicking one item */
            sr_session *b[8];
            int which[8], nb = 1 + (int)(sr_rng_next(&r) % 8);
            int32_t items[8];
            int used[N_SESS] = {0}, k = 0;
            while (k < nb) {
                int w = (int)(sr_rng_next(&r) % N_SESS);
                if (used[w] || len[w] == 40)
                    continue;
                used[w] = 1;
                which[k] = w;
                b[k] = ss[w];
                items[k] = (int32_t)(sr_rng_next(&r) % (uint64_t)ni);
                k++;
            }
            CHECK(sr_session_step(ws, b, items, nb, sc, &err) == SR_OK);
            for (int i = 0; i < nb; i++) {
                int w = which[i];
                hist[w][len[w]++] = items[i];
                replay(m, hist[w], len[w], ref);
                double d = max_diff(sc + (size_t)i * (size_t)ni, ref, ni);
                worst = d > worst ? d : worst;
                CHECK_EQ_INT(sr_session_length(ss[w]), len[w]);
                CHECK(!memcmp(sr_session_items(ss[w]), hist[w], (size_t)len[w] * 4));
            }
            /* scoring without a click gives the same numbers again */
            float *again = malloc((size_t)nb * (size_t)ni * sizeof *again);
            CHECK(sr_session_scores(ws, (const sr_session *const *)b, nb, again, &err) == SR_OK);
            for (int i = 0; i < nb; i++) {
                double d = max_diff(again + (size_t)i * (size_t)ni, sc + (size_t)i * (size_t)ni, ni);
                worst = d > worst ? d : worst;
                /* and a session's scores do not depend on the batch it is in: bit for bit */
                const sr_session *one = b[i];
                CHECK(sr_session_scores(ws, &one, 1, ref, &err) == SR_OK);
                CHECK(!memcmp(ref, again + (size_t)i * (size_t)ni, (size_t)ni * sizeof *ref));
            }
            free(again);
        }
        CHECK_MSG(worst <= tol, "%s: largest score difference %g", algos[a], worst);

        /* save -> restore -> the same scores and clicks */
        for (int i = 0; i < N_SESS; i++) {
            size_t need = sr_session_save(ss[i], NULL, 0);
            uint8_t *buf = malloc(need);
            CHECK_EQ_INT(sr_session_save(ss[i], buf, need), need);
            sr_session *back = NULL;
            CHECK(sr_session_restore(m, buf, need, &back, &err) == SR_OK);
            if (back) {
                CHECK_EQ_INT(sr_session_length(back), len[i]);
                CHECK_EQ_INT(sr_session_clicks_total(back), len[i]);
                const sr_session *two[2] = {ss[i], back};
                CHECK(sr_session_scores(ws, two, 2, sc, &err) == SR_OK);
                CHECK(!memcmp(sc, sc + ni, (size_t)ni * sizeof *sc));
            }
            sr_session_free(back);
            free(buf);
        }
        free(sc);
        free(ref);
        sr_scorer_free(ws);
        for (int i = 0; i < N_SESS; i++)
            sr_session_free(ss[i]);
        sr_model_free(m);
    }
    sr_split_free(&sp);
}

static void test_topk_exclude_seen(void)
{
    sr_split sp = make_train();
    sr_model *m = train("gru4rec", &sp);
    CHECK(m != NULL);
    if (!m) {
        sr_split_free(&sp);
        return;
    }
    const int64_t ni = sr_model_n_items(m);
    sr_scorer *ws = sr_scorer_new(m, 1);
    sr_session *s = sr_session_new(m);
    sr_error err;
    int32_t clicks[] = {3, 4, 5, 12};
    for (int i = 0; i < 4; i++)
        CHECK(sr_session_click(ws, s, clicks[i], &err) == SR_OK);
    float *ref = malloc((size_t)ni * sizeof *ref);
    replay(m, clicks, 4, ref);
    int32_t idx[64], idx2[64];
    float val[64];
    int n = sr_session_recommend(ws, s, (int)ni, 0, idx, val);
    CHECK_EQ_INT(n, ni);
    CHECK_EQ_INT(sr_topk(ref, ni, (int)ni, idx2, NULL), ni);
    CHECK(!memcmp(idx, idx2, (size_t)n * sizeof *idx));
    n = sr_session_recommend(ws, s, (int)ni, 1, idx, val);
    CHECK_EQ_INT(n, ni - 4);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 4; j++)
            CHECK(idx[i] != clicks[j]);
    /* the order of the rest is unchanged */
    for (int i = 0, j = 0; i < ni; i++) {
        if (idx2[i] == 3 || idx2[i] == 4 || idx2[i] == 5 || idx2[i] == 12)
            continue;
        CHECK_EQ_INT(idx[j], idx2[i]);
        j++;
    }
    CHECK_EQ_INT(sr_session_recommend(ws, s, 5, 1, idx, NULL), 5);
    free(ref);
    sr_session_free(s);
    sr_scorer_free(ws);
    sr_model_free(m);
    sr_split_free(&sp);
}

static void test_errors_and_cap(void)
{
    sr_split sp = make_train();
    sr_model *m, *g;
    if (!train_pair(&sp, "sknn", "gru4rec", &m, &g))
        return;
    sr_scorer *ws = sr_scorer_new(m, 2);
    sr_session *s = sr_session_new(m), *t = sr_session_new(g);
    sr_error err;
    int32_t bad = (int32_t)sr_model_n_items(m), neg = -1;
    CHECK(sr_session_click(ws, s, bad, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "item index") != NULL);
    CHECK(sr_session_click(ws, s, neg, &err) == SR_ERR_ARG);
    CHECK_EQ_INT(sr_session_length(s), 0);
    CHECK(sr_session_click(ws, t, 1, &err) == SR_ERR_ARG); /* another model's session */
    CHECK_EQ_INT(sr_session_length(t), 0);
    sr_session *three[3] = {s, s, s};
    int32_t it3[3] = {1, 2, 3};
    CHECK(sr_session_step(ws, three, it3, 3, NULL, &err) == SR_ERR_ARG); /* > max_batch */
    /* the click cap keeps the most recent clicks */
    for (int i = 0; i < SR_SESSION_MAX_CLICKS + 100; i++)
        CHECK(sr_session_click(ws, s, (int32_t)(i % N_ITEMS), &err) == SR_OK);
    CHECK_EQ_INT(sr_session_length(s), SR_SESSION_MAX_CLICKS);
    CHECK_EQ_INT(sr_session_clicks_total(s), SR_SESSION_MAX_CLICKS + 100);
    CHECK_EQ_INT(sr_session_items(s)[0], 100 % N_ITEMS);
    CHECK(sr_session_bytes(s) >= SR_SESSION_MAX_CLICKS * 4);

    /* bytes: every truncation, a wrong magic, a wrong model, an item out of range */
    size_t need = sr_session_save(s, NULL, 0);
    uint8_t *buf = malloc(need);
    sr_session_save(s, buf, need);
    sr_session *back = NULL;
    for (size_t l = 0; l < need; l += 97)
        CHECK(sr_session_restore(m, buf, l, &back, &err) == SR_ERR_FORMAT && !back);
    CHECK(sr_session_restore(g, buf, need, &back, &err) == SR_ERR_FORMAT && !back);
    buf[0] ^= 1;
    CHECK(sr_session_restore(m, buf, need, &back, &err) == SR_ERR_FORMAT && !back);
    buf[0] ^= 1;
    buf[need - 1] = 0x7f; /* last click: item 0x7f...... */
    CHECK(sr_session_restore(m, buf, need, &back, &err) == SR_ERR_FORMAT && !back);
    free(buf);
    sr_session_free(s);
    sr_session_free(t);
    sr_scorer_free(ws);
    sr_model_free(m);
    sr_model_free(g);
    sr_split_free(&sp);
}

/* Scoring split by items: for a trained and a loaded model, the columns
 * written by sr_session_scores_cols over any split (into one array, into a
 * small buffer piece by piece with the batch loaded once, and by two threads
 * at once, each with its own scorer) are sr_session_scores's numbers, bit for
 * bit; bad ranges, strides and reuse without a loaded batch are refused, and
 * so are the baselines. */
typedef struct cols_job {
    const sr_model *m;
    sr_session *const *sess;
    int n;
    float *scores;
    int64_t i0, i1, ldo;
    sr_status st;
} cols_job;

static void *cols_thread(void *arg)
{
    cols_job *j = arg;
    sr_scorer *ws = sr_scorer_new(j->m, j->n);
    sr_error err;
    for (int rep = 0; rep < 20; rep++)
        j->st = sr_session_scores_cols(ws, (const sr_session *const *)j->sess, j->n, j->i0,
                                       j->i1, j->scores + j->i0, j->ldo, &err);
    sr_scorer_free(ws);
    return NULL;
}

static void test_scores_split_by_items(void)
{
    sr_split sp = make_train();
    sr_model *trained, *knn;
    if (!train_pair(&sp, "gru4rec", "sknn", &trained, &knn))
        return;
    char path[] = "/tmp/sessrec-test-cols-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    sr_error err;
    sr_model *loaded = NULL;
    CHECK(sr_model_save(trained, path, &err) == SR_OK);
    CHECK(sr_model_load(path, &loaded, &err) == SR_OK);
    unlink(path);
    const sr_model *ms[2] = {trained, loaded};
    for (int mi = 0; mi < 2 && loaded; mi++) {
        const sr_model *m = ms[mi];
        const int64_t ni = sr_model_n_items(m);
        const int a = sr_model_score_split(m);
        CHECK_EQ_INT(a, 16);
        enum { NS = 7 };
        sr_scorer *ws = sr_scorer_new(m, NS);
        sr_session *sess[NS];
        for (int i = 0; i < NS; i++) {
            sess[i] = sr_session_new(m);
            for (int c = 0; c < i; c++) /* session 0 stays empty */
                CHECK(sr_session_click(ws, sess[i], (int32_t)((5 * i + 3 * c) % ni), &err) ==
                      SR_OK);
        }
        float *ref = malloc((size_t)NS * (size_t)ni * sizeof *ref);
        float *got = malloc((size_t)NS * (size_t)ni * sizeof *got);
        CHECK(sr_session_scores(ws, (const sr_session *const *)sess, NS, ref, &err) == SR_OK);
        const int64_t cuts[][4] = {{0, ni, ni, ni}, {0, 16, 48, ni}, {0, 32, 32, ni}};
        for (int c = 0; c < 3; c++) {
            memset(got, 0xff, (size_t)NS * (size_t)ni * sizeof *got);
            for (int r = 0; r < 3; r++)
                CHECK(sr_session_scores_cols(ws, (const sr_session *const *)sess, NS, cuts[c][r],
                                             cuts[c][r + 1], got + cuts[c][r], ni,
                                             &err) == SR_OK);
            CHECK(!memcmp(ref, got, (size_t)NS * (size_t)ni * sizeof *got));
        }
        /* piece by piece through a buffer of 48 columns (row stride 50), the
         * batch loaded by the first call only */
        enum { PIECE = 48, LDO = 50 };
        float piece[NS * LDO];
        memset(got, 0xff, (size_t)NS * (size_t)ni * sizeof *got);
        for (int64_t c0 = 0; c0 < ni; c0 += PIECE) {
            int64_t c1 = c0 + PIECE < ni ? c0 + PIECE : ni;
            CHECK(sr_session_scores_cols(ws, c0 ? NULL : (const sr_session *const *)sess, NS, c0,
                                         c1, piece, LDO, &err) == SR_OK);
            for (int r = 0; r < NS; r++)
                memcpy(got + (size_t)r * (size_t)ni + c0, piece + r * LDO,
                       (size_t)(c1 - c0) * sizeof *got);
        }
        CHECK(!memcmp(ref, got, (size_t)NS * (size_t)ni * sizeof *got));
        /* reuse needs the same n, and no other call on the scorer in between */
        CHECK(sr_session_scores_cols(ws, NULL, NS - 1, 0, 16, piece, LDO, &err) == SR_ERR_ARG);
        CHECK(strstr(err.msg, "no batch") != NULL);
        CHECK(sr_session_scores_cols(ws, NULL, NS, 0, 16, piece, LDO, &err) == SR_OK);
        CHECK(sr_session_scores_cols(ws, NULL, 0, 0, 16, piece, LDO, &err) == SR_OK); /* none */
        CHECK(sr_session_scores_cols(NULL, NULL, 1, 0, 16, piece, LDO, &err) == SR_ERR_ARG);
        CHECK(sr_session_scores(ws, (const sr_session *const *)sess, 1, got, &err) == SR_OK);
        CHECK(sr_session_scores_cols(ws, NULL, NS, 0, 16, piece, LDO, &err) == SR_ERR_ARG);
        sr_scorer *fresh = sr_scorer_new(m, NS);
        CHECK(sr_session_scores_cols(fresh, NULL, NS, 0, 16, piece, LDO, &err) == SR_ERR_ARG);
        sr_scorer_free(fresh);
        /* an output row shorter than the range */
        CHECK(sr_session_scores_cols(ws, (const sr_session *const *)sess, NS, 0, 32, piece, 31,
                                     &err) == SR_ERR_ARG);
        CHECK(strstr(err.msg, "stride") != NULL);
        /* two threads, own scorers, one array */
        memset(got, 0xff, (size_t)NS * (size_t)ni * sizeof *got);
        cols_job jobs[2] = {{m, sess, NS, got, 0, 32, ni, SR_ERR_ARG},
                            {m, sess, NS, got, 32, ni, ni, SR_ERR_ARG}};
        pthread_t th[2];
        for (int t = 0; t < 2; t++)
            CHECK(pthread_create(&th[t], NULL, cols_thread, &jobs[t]) == 0);
        for (int t = 0; t < 2; t++)
            pthread_join(th[t], NULL);
        CHECK(jobs[0].st == SR_OK && jobs[1].st == SR_OK);
        CHECK(!memcmp(ref, got, (size_t)NS * (size_t)ni * sizeof *got));
        /* ranges off the grid, reversed or outside */
        const int64_t bad[][2] = {{1, 16}, {0, 17}, {16, 0}, {-16, 16}, {0, ni + 16}};
        for (int b = 0; b < 5; b++) {
            CHECK(sr_session_scores_cols(ws, (const sr_session *const *)sess, NS, bad[b][0],
                                         bad[b][1], got, ni, &err) == SR_ERR_ARG);
            CHECK(strstr(err.msg, "item range") != NULL);
        }
        free(ref);
        free(got);
        for (int i = 0; i < NS; i++)
            sr_session_free(sess[i]);
        sr_scorer_free(ws);
    }
    CHECK_EQ_INT(sr_model_score_split(knn), 0);
    sr_scorer *kws = sr_scorer_new(knn, 1);
    sr_session *ks = sr_session_new(knn);
    float row[N_ITEMS];
    CHECK(sr_session_scores_cols(kws, (const sr_session *const *)&ks, 1, 0, 16, row, 16, &err) ==
          SR_ERR_ARG);
    CHECK(strstr(err.msg, "does not split") != NULL);
    sr_session_free(ks);
    sr_scorer_free(kws);
    sr_model_free(loaded);
    sr_model_free(trained);
    sr_model_free(knn);
    sr_split_free(&sp);
}

/* How many listed scores (row stride ldo) differ, bit for bit, from the full rows' scores
 * of the same items. */
static int listed_differ(const float *got, int ldo, const float *all, int64_t ni,
                         const int32_t *items, int m, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            if (memcmp(&got[i * ldo + j], &all[(size_t)i * (size_t)ni + items[j]], sizeof(float)))
                bad++;
    return bad;
}

/* sr_session_scores_items: for every algorithm, the listed items' scores are
 * the very numbers sr_session_scores gives them (GRU4Rec computes them alone,
 * from gathered panels: bit for bit all the same), repeats and any order
 * included; bad lists are refused. */
static void test_scores_of_listed_items(void)
{
    sr_split sp = make_train();
    enum { NS = 7, M = 37 };
    for (size_t a = 0; a < sizeof algos / sizeof *algos; a++) {
        sr_model *m = train(algos[a], &sp);
        CHECK(m != NULL);
        if (!m)
            continue;
        const int64_t ni = sr_model_n_items(m);
        sr_scorer *ws = sr_scorer_new(m, NS);
        sr_session *sess[NS];
        sr_error err;
        sr_rng r;
        sr_rng_seed(&r, 17 + a);
        for (int i = 0; i < NS; i++) {
            sess[i] = sr_session_new(m);
            for (int c = 0; c < i; c++) /* session 0 stays empty */
                CHECK(sr_session_click(ws, sess[i], (int32_t)(sr_rng_next(&r) % (uint64_t)ni),
                                       &err) == SR_OK);
        }
        int32_t items[M];
        for (int j = 0; j < M; j++) /* descending, then random with repeats */
            items[j] = j < 5 ? (int32_t)(ni - 1 - j) : (int32_t)(sr_rng_next(&r) % (uint64_t)ni);
        items[M - 1] = items[3];
        float *all = malloc((size_t)NS * (size_t)ni * sizeof *all);
        float got[NS * (M + 3)];
        CHECK(sr_session_scores(ws, (const sr_session *const *)sess, NS, all, &err) == SR_OK);
        CHECK(sr_session_scores_items(ws, (const sr_session *const *)sess, NS, items, M, got,
                                      M + 3, &err) == SR_OK);
        int bad = listed_differ(got, M + 3, all, ni, items, M, NS);
        CHECK_MSG(bad == 0, "%s: %d listed scores differ", algos[a], bad);
        /* the same list again, then another of the same length (GRU4Rec keeps the
         * last list's panels: they must not be reused for another) */
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1)
                for (int j = 0; j < M; j++)
                    items[j] = (items[j] + 1 + j) % (int32_t)ni;
            CHECK(sr_session_scores_items(ws, (const sr_session *const *)sess, NS, items, M, got,
                                          M + 3, &err) == SR_OK);
            bad += listed_differ(got, M + 3, all, ni, items, M, NS);
        }
        CHECK_MSG(bad == 0, "%s: %d listed scores differ on a second list", algos[a], bad);
        /* one session alone, one item: the same number again */
        float one;
        CHECK(sr_session_scores_items(ws, (const sr_session *const *)&sess[NS - 1], 1,
                                      &items[6], 1, &one, 1, &err) == SR_OK);
        CHECK(!memcmp(&one, &all[(size_t)(NS - 1) * (size_t)ni + items[6]], sizeof one));
        /* refused: an index out of range, a short stride; nothing to do: fine */
        int32_t out_of_range[2] = {0, (int32_t)ni};
        CHECK(sr_session_scores_items(ws, (const sr_session *const *)sess, 1, out_of_range, 2,
                                      got, 2, &err) == SR_ERR_ARG);
        CHECK(sr_session_scores_items(ws, (const sr_session *const *)sess, 1, items, 4, got, 3,
                                      &err) == SR_ERR_ARG);
        CHECK(sr_session_scores_items(ws, (const sr_session *const *)sess, 1, items, 0, NULL, 0,
                                      &err) == SR_OK);
        free(all);
        for (int i = 0; i < NS; i++)
            sr_session_free(sess[i]);
        sr_scorer_free(ws);
        sr_model_free(m);
    }
    sr_split_free(&sp);
}

/* sr_session_score_bounds_cols through the public API: for GRU4Rec, every
 * session's score of every item (sr_session_scores's number) lies within
 * mid -+ rad w, w the model's weights (in [0, 1]), over a split into pieces
 * with the batch loaded once; a useful band (some items' bounds exclude them
 * from the top); refused without radii or for the baselines (no weights). */
static void test_score_bounds(void)
{
    sr_split sp = make_train();
    sr_model *m, *knn;
    if (!train_pair(&sp, "gru4rec", "sknn", &m, &knn))
        return;
    enum { NS = 7, PIECE = 32 };
    const int64_t ni = sr_model_n_items(m);
    CHECK(sr_model_score_bounds(m) == 1);
    const float *w = sr_model_score_bound_weights(m);
    CHECK(w != NULL);
    int wbad = 0, below1 = 0;
    for (int64_t i = 0; w && i < ni; i++) {
        wbad += !(w[i] >= 0 && w[i] <= 1);
        below1 += w[i] < 1;
    }
    CHECK_EQ_INT(wbad, 0);
    CHECK(below1 > 0);
    sr_scorer *ws = sr_scorer_new(m, NS);
    sr_session *sess[NS];
    sr_error err;
    for (int i = 0; i < NS; i++) {
        sess[i] = sr_session_new(m);
        for (int c = 0; c < i; c++) /* session 0 stays empty */
            CHECK(sr_session_click(ws, sess[i], (int32_t)((7 * i + 5 * c) % ni), &err) == SR_OK);
    }
    float *ref = malloc((size_t)NS * (size_t)ni * sizeof *ref);
    float mid[NS * PIECE], rad[NS];
    CHECK(sr_session_scores(ws, (const sr_session *const *)sess, NS, ref, &err) == SR_OK);
    int bad = 0, pruned = 0;
    for (int64_t c0 = 0; w && c0 < ni; c0 += PIECE) {
        int64_t c1 = c0 + PIECE < ni ? c0 + PIECE : ni;
        CHECK(sr_session_score_bounds_cols(ws, c0 ? NULL : (const sr_session *const *)sess, NS,
                                           c0, c1, mid, PIECE, rad, &err) == SR_OK);
        for (int r = 0; r < NS; r++) {
            float top5 = ref[(size_t)r * (size_t)ni]; /* a bar: the best of items 0-4 */
            for (int64_t i = 0; i < 5 && i < ni; i++)
                top5 = fmaxf(top5, ref[(size_t)r * (size_t)ni + (size_t)i]);
            for (int64_t i = c0; i < c1; i++) {
                float sc = ref[(size_t)r * (size_t)ni + (size_t)i], md = mid[r * PIECE + (i - c0)];
                float rw = rad[r] * w[i];
                bad += !(md - rw <= sc && sc <= md + rw);
                pruned += md + rw < top5;
            }
        }
    }
    CHECK_MSG(bad == 0, "%d scores outside their bounds", bad);
    CHECK_MSG(pruned > NS * ni / 4, "only %d of %lld bounds below a top score", pruned,
              (long long)(NS * ni));
    CHECK(sr_session_score_bounds_cols(ws, (const sr_session *const *)sess, NS, 0, 16, mid, 16,
                                       NULL, &err) == SR_ERR_ARG);
    CHECK(sr_model_score_bounds(knn) == 0 && sr_model_score_bound_weights(knn) == NULL);
    sr_scorer *kws = sr_scorer_new(knn, 1);
    sr_session *ks = sr_session_new(knn);
    CHECK(sr_session_score_bounds_cols(kws, (const sr_session *const *)&ks, 1, 0, 16, mid, 16,
                                       rad, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "no score bounds") != NULL);
    sr_session_free(ks);
    sr_scorer_free(kws);
    free(ref);
    for (int i = 0; i < NS; i++)
        sr_session_free(sess[i]);
    sr_scorer_free(ws);
    sr_model_free(m);
    sr_model_free(knn);
    sr_split_free(&sp);
}

int main(void)
{
    RUN(test_batched_matches_replay);
    RUN(test_topk_exclude_seen);
    RUN(test_errors_and_cap);
    RUN(test_scores_split_by_items);
    RUN(test_scores_of_listed_items);
    RUN(test_score_bounds);
    return test_summary();
}
