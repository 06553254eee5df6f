/*
 * test_serve_team.c - the server's batch scoring (serve/team.c): one batch
 * scored by 1, 2 and 3 threads taking chunks of the items, with a running top k
 * per row, merged across the threads, gives for every row exactly the items
 * and scores of sr_session_scores + sr_session_topk (with and without
 * exclude_seen, k from 1 to all items), whether a row's top k comes from the
 * score bounds' few candidates or, after they overflow, from all its scores;
 * srv_team_each visits every index once.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "sessrec.h"
#include "serve/serve.h"
#include "util/util.h"
#include "eval_fixtures.h"

#define N_ITEMS 5000 /* several chunks of 1024 each: threads take chunks in turns */

static sr_model *train_gru(void)
{
    sr_split sp = make_chain_split(N_ITEMS, 3000, 6, 13, 5000, 11);
    sr_error err;
    sr_model *m = NULL;
    sr_gru_params p = sr_gru_default_params();
    sr_gru_params_parse(&p, "layers=24,batch_size=32,n_epochs=1,n_sample=64", &err);
    sr_train_opts o = sr_train_default_opts();
    o.threads = 1;
    if (sr_train_gru(&sp, &p, &o, &m, &err) != SR_OK)
        fprintf(stderr, "train: %s\n", err.msg);
    sr_split_free(&sp);
    return m;
}

/* the model of the tests, trained once (freed by main) */
static sr_model *the_model;

static sr_model *model(void)
{
    if (!the_model)
        the_model = train_gru();
    CHECK(the_model != NULL);
    return the_model;
}

static void test_team_topk_is_sr_topk(void)
{
    sr_model *m = model();
    if (!m)
        return;
    const int64_t ni = sr_model_n_items(m);
    CHECK(ni > 4096);
    enum { NS = 9, MAXK = 6000 };
    sr_error err;
    sr_scorer *ws = sr_scorer_new(m, NS);
    sr_session *sess[NS];
    sr_rng r;
    sr_rng_seed(&r, 5);
    for (int i = 0; i < NS; i++) {
        sess[i] = sr_session_new(m);
        for (int c = 0; c < 3 * i; c++) /* session 0 stays empty */
            CHECK(sr_session_click(ws, sess[i], (int32_t)(sr_rng_next(&r) % (uint64_t)ni), &err) ==
                  SR_OK);
    }
    /* Session 6 (exclude_seen, k 1) is made so that a seed that did not leave
     * out the seen items would be too high: the team seeds each row's top k
     * with the k-th best score among the 64 items best for an empty session
     * (the probe). Its clicks are y, x, where y is a probe item and the best
     * item after x; checked below: y's score is above every unseen item's.
     * (Session 0, empty at k 1, is seeded by its own best item.) */
    {
        float *e = malloc((size_t)ni * sizeof *e);
        int32_t probe[64], top[1];
        float tv[1];
        CHECK(sr_session_scores(ws, (const sr_session *const *)&sess[0], 1, e, &err) == SR_OK);
        int np = sr_topk(e, ni, 64, probe, NULL);
        int found = 0;
        for (int32_t x = 0; x < ni && !found; x++) {
            sr_session *t6 = sr_session_new(m);
            CHECK(sr_session_click(ws, t6, x, &err) == SR_OK);
            CHECK(sr_session_scores(ws, (const sr_session *const *)&t6, 1, e, &err) == SR_OK);
            sr_session_free(t6);
            CHECK(sr_topk(e, ni, 1, top, NULL) == 1);
            int32_t y = top[0];
            int in_probe = 0;
            for (int b = 0; b < np; b++)
                in_probe |= probe[b] == y;
            if (!in_probe || y == x)
                continue;
            t6 = sr_session_new(m);
            CHECK(sr_session_click(ws, t6, y, &err) == SR_OK);
            CHECK(sr_session_click(ws, t6, x, &err) == SR_OK);
            CHECK(sr_session_scores(ws, (const sr_session *const *)&t6, 1, e, &err) == SR_OK);
            float best_probe = -INFINITY;
            for (int b = 0; b < np; b++)
                best_probe = e[probe[b]] > best_probe ? e[probe[b]] : best_probe;
            CHECK(sr_session_topk(t6, e, 1, 1, top, tv) == 1);
            if (best_probe > tv[0]) { /* the test this row is for */
                sr_session_free(sess[6]);
                sess[6] = t6;
                found = 1;
            } else {
                sr_session_free(t6);
            }
        }
        CHECK_MSG(found, "no session makes row 6 a test of the seed's exclusions");
        free(e);
    }
    int k[NS] = {1, 20, 20, 100, (int)ni, 7, 1, MAXK, 50};
    int excl[NS] = {0, 1, 0, 1, 1, 0, 1, 0, 1};
    float *row = malloc((size_t)ni * sizeof *row);
    int32_t *idx = malloc((size_t)NS * MAXK * sizeof *idx), *ridx = malloc(MAXK * sizeof *ridx);
    float *val = malloc((size_t)NS * MAXK * sizeof *val), *rval = malloc(MAXK * sizeof *rval);
    int cnt[NS];
    for (int T = 1; T <= 3; T++) {
        srv_team *t = srv_team_new(T, NS, MAXK);
        CHECK(t != NULL);
        if (!t)
            continue;
        CHECK(srv_team_splits(t, m));
        CHECK(srv_team_use_model(t, m) == 0);
        /* the same batch twice, then its rows reversed: nothing of one batch
         * may leak into the next */
        for (int rep = 0; rep < 8; rep++) {
            sr_session *b[NS];
            int bk[NS], bx[NS];
            for (int i = 0; i < NS; i++) {
                int src = rep % 4 < 2 ? i : NS - 1 - i;
                b[i] = sess[src];
                bk[i] = k[src];
                bx[i] = excl[src];
            }
            if (rep == 2) /* then: floors raised as often as can be */
                srv_team_set_limits(t, -1, 0);
            if (rep == 4) /* then: the bounds at their worst too */
                CHECK(srv_team_set_skew(t) == 0);
            if (rep == 6) /* the last two: rows scored in full after an overflow */
                srv_team_set_limits(t, 8, -1);
            CHECK(srv_team_topk(t, ws, b, NS, bk, bx, idx, val, cnt, &err) == SR_OK);
            /* from the score bounds: the rows with small k scored only a few
             * items (rows 4 and 7 ask for all; the skewed bounds are wider),
             * none in full; with room for 8 candidates, the rows with k >= 5
             * overflow */
            srv_team_stats st = srv_team_get_stats(t);
            CHECK_EQ_INT((int)st.rows, NS);
            if (rep < 6)
                CHECK_EQ_INT((int)st.full, 0);
            if (rep < 4) {
                CHECK_MSG(st.scored < 2 * (uint64_t)ni + 1000, "%llu items scored",
                          (unsigned long long)st.scored);
            } else if (rep >= 6) {
                CHECK_MSG(st.full >= 5, "%llu rows in full", (unsigned long long)st.full);
            }
            for (int i = 0; i < NS; i++) {
                const sr_session *one = b[i];
                CHECK(sr_session_scores(ws, &one, 1, row, &err) == SR_OK);
                int n = sr_session_topk(b[i], row, bk[i], bx[i], ridx, rval);
                CHECK_EQ_INT(cnt[i], n);
                CHECK(!memcmp(idx + (size_t)i * MAXK, ridx, (size_t)n * sizeof *ridx));
                CHECK(!memcmp(val + (size_t)i * MAXK, rval, (size_t)n * sizeof *rval));
            }
        }
        srv_team_free(t);
    }
    free(row);
    free(idx);
    free(ridx);
    free(val);
    free(rval);
    for (int i = 0; i < NS; i++)
        sr_session_free(sess[i]);
    sr_scorer_free(ws);
}

static void count_one(void *ctx, int i)
{
    int *hits = ctx;
    __atomic_fetch_add(&hits[i], 1, __ATOMIC_RELAXED);
}

/* srv_team_step: the rows split over 1-3 threads step the sessions to the
 * states, byte for byte, that sr_session_step gives each part's rows as a
 * batch of their own (a GRU step's last bits depend on its batch, as with any
 * batching: tests/test_session.c bounds that by 1e-5); below 2T rows, one
 * call. */
static void test_team_step_is_one_step(void)
{
    sr_model *m = model();
    if (!m)
        return;
    const int64_t ni = sr_model_n_items(m);
    enum { NS = 11 };
    sr_error err;
    sr_scorer *ws = sr_scorer_new(m, NS);
    sr_rng r;
    sr_rng_seed(&r, 9);
    for (int T = 1; T <= 3; T++) {
        srv_team *t = srv_team_new(T, NS, 20);
        CHECK(t != NULL && srv_team_use_model(t, m) == 0);
        sr_session *a[NS], *b[NS];
        int32_t items[NS];
        for (int i = 0; i < NS; i++) {
            a[i] = sr_session_new(m);
            b[i] = sr_session_new(m);
            for (int c = 0; c < i % 4; c++) {
                int32_t x = (int32_t)(sr_rng_next(&r) % (uint64_t)ni);
                CHECK(sr_session_click(ws, a[i], x, &err) == SR_OK);
                CHECK(sr_session_click(ws, b[i], x, &err) == SR_OK);
            }
            items[i] = (int32_t)(sr_rng_next(&r) % (uint64_t)ni);
        }
        for (int n = 1; n <= NS; n += 5) { /* 1: no hand-off; 6, 11: split */
            CHECK(srv_team_step(t, ws, a, items, n, &err) == SR_OK);
            int parts = n < 2 * T ? 1 : T;
            for (int p = 0; p < parts; p++) {
                int r0 = n * p / parts, r1 = n * (p + 1) / parts;
                CHECK(sr_session_step(ws, b + r0, items + r0, r1 - r0, NULL, &err) == SR_OK);
            }
            for (int i = 0; i < NS; i++) {
                unsigned char ba[4096], bb[4096];
                size_t la = sr_session_save(a[i], ba, sizeof ba),
                       lb = sr_session_save(b[i], bb, sizeof bb);
                CHECK_MSG(la == lb && la <= sizeof ba && !memcmp(ba, bb, la), "T %d n %d i %d la %zu lb %zu", T, n, i, la, lb);
            }
        }
        for (int i = 0; i < NS; i++) {
            sr_session_free(a[i]);
            sr_session_free(b[i]);
        }
        srv_team_free(t);
    }
    sr_scorer_free(ws);
}

static void test_team_each_visits_every_index_once(void)
{
    for (int T = 1; T <= 4; T++) {
        srv_team *t = srv_team_new(T, 4, 4);
        CHECK(t != NULL);
        for (int n = 0; t && n <= 9; n++) {
            int hits[9] = {0};
            for (int rep = 0; rep < 50; rep++)
                srv_team_each(t, count_one, hits, n);
            for (int i = 0; i < 9; i++)
                CHECK_EQ_INT(hits[i], i < n ? 50 : 0);
        }
        srv_team_free(t);
    }
}

int main(void)
{
    RUN(test_team_topk_is_sr_topk);
    RUN(test_team_step_is_one_step);
    RUN(test_team_each_visits_every_index_once);
    sr_model_free(the_model);
    return test_summary();
}
