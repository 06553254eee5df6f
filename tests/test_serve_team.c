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

/* The best item for session s other than those it has seen (score *v). */
static int32_t best_unseen(sr_scorer *ws, const sr_session *s, float *row, float *v)
{
    sr_error err;
    int32_t top;
    CHECK(sr_session_scores(ws, &s, 1, row, &err) == SR_OK);
    CHECK(sr_session_topk(s, row, 1, 1, &top, v) == 1);
    return top;
}

/* Row s alone (k, excl) through the team: the answer of sr_session_topk. */
static int team_answer_ok(srv_team *t, sr_scorer *ws, sr_session *s, int k, int excl, float *row)
{
    int32_t idx[8], ridx[8];
    float val[8], rval[8];
    int cnt;
    sr_error err;
    const sr_session *one = s;
    if (srv_team_topk(t, ws, &s, 1, &k, &excl, idx, val, &cnt, &err) != SR_OK ||
        sr_session_scores(ws, &one, 1, row, &err) != SR_OK)
        return 0;
    int n = sr_session_topk(s, row, k, excl, ridx, rval);
    return cnt == n && !memcmp(idx, ridx, (size_t)n * sizeof *idx) &&
           !memcmp(val, rval, (size_t)n * sizeof *val);
}

/* Hints (team.c): planted hints that would lift a row's seed above its k-th
 * best score if taken as they are - an item repeated, a probe item (counted
 * already), an item the session has seen (exclude_seen), numbers that are no
 * item - leave the answers those of sr_session_topk. */
static void test_team_hints(void)
{
    sr_model *m = model();
    if (!m)
        return;
    const int64_t ni = sr_model_n_items(m);
    sr_error err;
    sr_scorer *ws = sr_scorer_new(m, 1);
    float *row = malloc((size_t)ni * sizeof *row), v;
    /* the probe, as the team finds it: the 64 best items for an empty session */
    int32_t probe[64];
    sr_session *e = sr_session_new(m);
    CHECK(sr_session_scores(ws, (const sr_session *const *)&e, 1, row, &err) == SR_OK);
    int np = sr_topk(row, ni, 64, probe, NULL);
    sr_session_free(e);
    /* sessions of one click x whose best item z is (a) not a probe item, (b)
     * one; (c) sessions y, x that rank y, seen, above every unseen item */
    sr_session *a = NULL, *b = NULL, *c = NULL;
    int32_t za = -1, zb = -1, yc = -1;
    for (int32_t x = 0; x < ni && !(a && b && c); x++) {
        sr_session *s = sr_session_new(m);
        CHECK(sr_session_click(ws, s, x, &err) == SR_OK);
        int32_t z = best_unseen(ws, s, row, &v);
        int in_probe = 0;
        for (int j = 0; j < np; j++)
            in_probe |= probe[j] == z;
        if (in_probe && !b) {
            b = s, zb = z;
            continue;
        }
        if (!in_probe && !a) {
            a = s, za = z;
            continue;
        }
        if (!in_probe && !c) {
            sr_session *s2 = sr_session_new(m);
            CHECK(sr_session_click(ws, s2, z, &err) == SR_OK);
            CHECK(sr_session_click(ws, s2, x, &err) == SR_OK);
            const sr_session *one = s2;
            CHECK(sr_session_scores(ws, &one, 1, row, &err) == SR_OK);
            float sz = row[z];
            best_unseen(ws, s2, row, &v);
            if (sz > v)
                c = s2, yc = z;
            else
                sr_session_free(s2);
        }
        sr_session_free(s);
    }
    CHECK_MSG(a && b && c, "sessions for the hint cases: %p %p %p", (void *)a, (void *)b,
              (void *)c);
    for (int T = 1; T <= 2 && a && b && c; T++) {
        srv_team *t = srv_team_new(T, 1, 8);
        CHECK(t != NULL && srv_team_use_model(t, m) == 0);
        int32_t h[32];
        for (int j = 0; j < 32; j++) /* a's best, repeated: k 2 */
            h[j] = za;
        srv_team_hint(t, a, h, 32);
        CHECK_MSG(team_answer_ok(t, ws, a, 2, 0, row), "repeated hint, T %d", T);
        srv_team_hint(t, b, &zb, 1); /* b's best, a probe item: k 2 */
        CHECK_MSG(team_answer_ok(t, ws, b, 2, 0, row), "probe item as hint, T %d", T);
        srv_team_hint(t, c, &yc, 1); /* c's seen y, best of all: k 1, exclude_seen */
        CHECK_MSG(team_answer_ok(t, ws, c, 1, 1, row), "seen item as hint, T %d", T);
        int32_t junk[5] = {-1, (int32_t)ni, (int32_t)ni + 7, INT32_MAX, INT32_MIN};
        srv_team_hint(t, a, junk, 5); /* no items at all */
        CHECK_MSG(team_answer_ok(t, ws, a, 3, 0, row), "junk hints, T %d", T);
        /* and a real answer as hints: the same answer again */
        CHECK_MSG(team_answer_ok(t, ws, c, 5, 1, row), "c's own hints, T %d", T);
        CHECK_MSG(team_answer_ok(t, ws, c, 5, 1, row), "c's own hints again, T %d", T);
        srv_team_free(t);
    }
    sr_session_free(a);
    sr_session_free(b);
    sr_session_free(c);
    free(row);
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
    RUN(test_team_hints);
    RUN(test_team_step_is_one_step);
    RUN(test_team_each_visits_every_index_once);
    sr_model_free(the_model);
    return test_summary();
}
