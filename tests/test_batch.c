/*
 * test_batch.c - the session-parallel mini-batch iterator against hand-worked
 * examples (slot refill, per-row resets, shrinking end, B larger than the
 * number of sessions), against a transcription of the official GRU4Rec
 * iterator (numpy, minlen chunks), and on random data (every pair exactly
 * once, hidden-state continuity per row).
 */
#include "gru4rec/batch.h"
#include "test.h"
#include "util/util.h"

#include <stdint.h>

/* Builds offsets from session lengths; items[e] = 100*s + t (session s, click t). */
static int64_t build(const int *len, int ns, int64_t *off, int32_t *items)
{
    int64_t e = 0;
    for (int s = 0; s < ns; s++) {
        off[s] = e;
        for (int t = 0; t < len[s]; t++)
            items[e++] = 100 * s + t;
    }
    off[ns] = e;
    return e;
}

/* Expected step: n rows, inputs, targets, keep (or n_keep -1), resets. */
typedef struct {
    int n;
    int32_t in[4], out[4];
    int n_keep, keep[4];
    int n_reset, reset[4];
} want_step;

static void expect_steps(sr_batch_iter *it, const want_step *w, int nw)
{
    sr_batch_step st;
    for (int k = 0; k < nw; k++) {
        int got = sr_batch_next(it, &st);
        CHECK_MSG(got == 1, "step %d missing", k);
        if (!got)
            return;
        CHECK_EQ_INT(st.n, w[k].n);
        for (int r = 0; r < w[k].n && r < st.n; r++) {
            CHECK_MSG(st.in[r] == w[k].in[r], "step %d row %d in %d want %d", k, r, st.in[r], w[k].in[r]);
            CHECK_MSG(st.out[r] == w[k].out[r], "step %d row %d out %d want %d", k, r, st.out[r], w[k].out[r]);
        }
        if (w[k].n_keep < 0) {
            CHECK_MSG(st.keep == NULL, "step %d: unexpected shrink", k);
        } else {
            CHECK_MSG(st.keep != NULL, "step %d: expected a shrink", k);
            if (st.keep)
                for (int i = 0; i < w[k].n_keep; i++)
                    CHECK_EQ_INT(st.keep[i], w[k].keep[i]);
        }
        CHECK_EQ_INT(st.n_reset, w[k].n_reset);
        for (int i = 0; i < w[k].n_reset && i < st.n_reset; i++)
            CHECK_EQ_INT(st.reset[i], w[k].reset[i]);
    }
    CHECK_MSG(sr_batch_next(it, &st) == 0, "more steps than expected");
    CHECK(sr_batch_next(it, &st) == 0); /* stays finished */
}

/* Sessions A(3) B(2) C(4) D(1, skipped) E(2), B = 2:
 *   step 1: rows A,B  (a0->a1, b0->b1)  reset both (epoch start)
 *   step 2: B ended, row 1 takes C      (a1->a2, c0->c1)  reset {1}
 *   step 3: A ended, row 0 skips D, takes E (e0->e1, c1->c2) reset {0}
 *   step 4: E ended, nothing left: row 0 dropped, keep {1} (c2->c3)
 *   then C ends: done. 7 pairs = 2 + 1 + 3 + 0 + 1. */
static void test_hand_example(void)
{
    int len[] = {3, 2, 4, 1, 2};
    int64_t off[6];
    int32_t items[12];
    build(len, 5, off, items);
    CHECK_EQ_INT(sr_batch_count_pairs(off, 5), 7);
    sr_batch_iter it;
    CHECK(sr_batch_init(&it, off, 5, items, 2) == SR_OK);
    want_step w[] = {
        {2, {0, 100}, {1, 101}, -1, {0}, 2, {0, 1}},
        {2, {1, 200}, {2, 201}, -1, {0}, 1, {1}},
        {2, {400, 201}, {401, 202}, -1, {0}, 1, {0}},
        {1, {202}, {203}, 1, {1}, 0, {0}},
    };
    expect_steps(&it, w, 4);
    /* a second epoch is identical */
    sr_batch_rewind(&it);
    expect_steps(&it, w, 4);
    sr_batch_free(&it);
}

/* Several slots finish at once; the first ones (in slot order) get the last
 * sessions, the rest are dropped in the same step: keep and reset together.
 * Sessions s0..s2 of length 2, s3 of length 3, s4 of length 2, B = 3. */
static void test_refill_and_shrink_same_step(void)
{
    int len[] = {2, 2, 2, 3, 2};
    int64_t off[6];
    int32_t items[12];
    build(len, 5, off, items);
    sr_batch_iter it;
    CHECK(sr_batch_init(&it, off, 5, items, 3) == SR_OK);
    want_step w[] = {
        {3, {0, 100, 200}, {1, 101, 201}, -1, {0}, 3, {0, 1, 2}},
        /* all three end; rows 0,1 take s3,s4; row 2 is dropped */
        {2, {300, 400}, {301, 401}, 2, {0, 1}, 2, {0, 1}},
        /* s4 ends, row 1 dropped; s3 goes on in row 0 */
        {1, {301}, {302}, 1, {0}, 0, {0}},
    };
    expect_steps(&it, w, 3);
    sr_batch_free(&it);
}

/* A middle row drops out: the rows after it move up, order kept. */
static void test_shrink_middle_row(void)
{
    int len[] = {4, 2, 3};
    int64_t off[4];
    int32_t items[9];
    build(len, 3, off, items);
    sr_batch_iter it;
    CHECK(sr_batch_init(&it, off, 3, items, 3) == SR_OK);
    want_step w[] = {
        {3, {0, 100, 200}, {1, 101, 201}, -1, {0}, 3, {0, 1, 2}},
        {2, {1, 201}, {2, 202}, 2, {0, 2}, 0, {0}},
        {1, {2}, {3}, 1, {0}, 0, {0}},
    };
    expect_steps(&it, w, 3);
    sr_batch_free(&it);
}

/* More slots than sessions: the batch starts with as many rows as sessions. */
static void test_batch_larger_than_sessions(void)
{
    int len[] = {2, 1, 3};
    int64_t off[4];
    int32_t items[6];
    build(len, 3, off, items);
    sr_batch_iter it;
    CHECK(sr_batch_init(&it, off, 3, items, 64) == SR_OK);
    want_step w[] = {
        {2, {0, 200}, {1, 201}, -1, {0}, 2, {0, 1}},
        {1, {201}, {202}, 1, {1}, 0, {0}},
    };
    expect_steps(&it, w, 2);
    sr_batch_free(&it);
}

static void test_empty_and_bad(void)
{
    sr_batch_iter it;
    sr_batch_step st;
    int64_t off0[1] = {0};
    CHECK(sr_batch_init(&it, off0, 0, NULL, 4) == SR_OK);
    CHECK(sr_batch_next(&it, &st) == 0);
    sr_batch_free(&it);
    int len[] = {1, 1, 1};
    int64_t off[4];
    int32_t items[3];
    build(len, 3, off, items);
    CHECK_EQ_INT(sr_batch_count_pairs(off, 3), 0);
    CHECK(sr_batch_init(&it, off, 3, items, 2) == SR_OK);
    CHECK(sr_batch_next(&it, &st) == 0);
    sr_batch_free(&it);
    CHECK(sr_batch_init(&it, off, 3, items, 0) == SR_ERR_ARG);
}

/* ---- the official iterator, transcribed (gru4rec_pytorch.py, SessionDataIterator):
 * sessions must all have length >= 2 and number at least B. Emits the same
 * (n, in, out) sequence as a flat log for comparison. */
static int64_t official_log(const int64_t *off, int64_t ns, const int32_t *items, int B,
                            int32_t *log)
{
    int64_t iters[64], start[64], end[64], L = 0;
    int n = B;
    int64_t maxiter = B - 1;
    for (int i = 0; i < B; i++) {
        iters[i] = i;
        start[i] = off[i];
        end[i] = off[i + 1];
    }
    for (;;) {
        int64_t minlen = INT64_MAX;
        for (int i = 0; i < n; i++)
            if (end[i] - start[i] < minlen)
                minlen = end[i] - start[i];
        for (int64_t k = 0; k < minlen - 1; k++) {
            log[L++] = n;
            for (int i = 0; i < n; i++) {
                log[L++] = items[start[i] + k];
                log[L++] = items[start[i] + k + 1];
            }
        }
        int finished[64], valid[64], nv = 0;
        for (int i = 0; i < n; i++) {
            start[i] += minlen - 1;
            finished[i] = end[i] - start[i] <= 1;
            if (finished[i])
                iters[i] = ++maxiter;
            valid[i] = iters[i] < ns;
            nv += valid[i];
        }
        if (nv == 0)
            break;
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (finished[i] && valid[i]) {
                start[i] = off[iters[i]];
                end[i] = off[iters[i] + 1];
            }
            if (valid[i]) {
                iters[m] = iters[i];
                start[m] = start[i];
                end[m] = end[i];
                m++;
            }
        }
        n = m;
    }
    return L;
}

static void test_matches_official_iterator(void)
{
    enum { NS = 300, MAXLEN = 9 };
    static int64_t off[NS + 1];
    static int32_t items[NS * MAXLEN];
    static int32_t ref[200000], mine[200000];
    sr_rng rng;
    sr_rng_seed(&rng, 7);
    for (int trial = 0; trial < 20; trial++) {
        int len[NS];
        for (int s = 0; s < NS; s++)
            len[s] = 2 + (int)(sr_rng_next(&rng) % (MAXLEN - 1));
        build(len, NS, off, items);
        int B = 1 + (int)(sr_rng_next(&rng) % 40);
        int64_t nr = official_log(off, NS, items, B, ref);
        sr_batch_iter it;
        CHECK(sr_batch_init(&it, off, NS, items, B) == SR_OK);
        sr_batch_step st;
        int64_t nm = 0;
        while (sr_batch_next(&it, &st)) {
            mine[nm++] = st.n;
            for (int i = 0; i < st.n; i++) {
                mine[nm++] = st.in[i];
                mine[nm++] = st.out[i];
            }
        }
        sr_batch_free(&it);
        CHECK_EQ_INT(nm, nr);
        int same = nm == nr && !memcmp(mine, ref, (size_t)nm * sizeof *ref);
        CHECK_MSG(same, "trial %d (B=%d) differs from the official iterator", trial, B);
    }
}

/* Random data with length-1 sessions: every pair exactly once; a row that is
 * not reset continues its session (input = its previous target), a reset row
 * starts a session (input = the session's first click). */
static void test_random_invariants(void)
{
    enum { NS = 500, MAXLEN = 12 };
    static int64_t off[NS + 1];
    static int32_t items[NS * MAXLEN];
    static int seen[NS * MAXLEN];
    sr_rng rng;
    sr_rng_seed(&rng, 11);
    for (int trial = 0; trial < 30; trial++) {
        int len[NS];
        int ns = 1 + (int)(sr_rng_next(&rng) % NS);
        for (int s = 0; s < ns; s++)
            len[s] = 1 + (int)(sr_rng_next(&rng) % MAXLEN);
        build(len, ns, off, items);
        int B = 1 + (int)(sr_rng_next(&rng) % 70);
        memset(seen, 0, sizeof seen);
        sr_batch_iter it;
        CHECK(sr_batch_init(&it, off, ns, items, B) == SR_OK);
        sr_batch_step st;
        int32_t prev_out[128];
        int prev_n = 0, ok = 1;
        int64_t pairs = 0;
        while (sr_batch_next(&it, &st)) {
            int32_t carried[128];
            if (st.keep) {
                ok &= st.n_prev == prev_n && st.n < prev_n;
                for (int i = 0; i < st.n; i++) {
                    ok &= st.keep[i] >= i && st.keep[i] < prev_n && (i == 0 || st.keep[i] > st.keep[i - 1]);
                    carried[i] = prev_out[st.keep[i]];
                }
            } else {
                ok &= prev_n == 0 || st.n == prev_n;
                for (int i = 0; i < st.n; i++)
                    carried[i] = prev_out[i];
            }
            ok &= st.n >= 1 && st.n <= B;
            int isreset[128] = {0};
            for (int k = 0; k < st.n_reset; k++) {
                ok &= st.reset[k] >= 0 && st.reset[k] < st.n;
                isreset[st.reset[k]] = 1;
            }
            for (int i = 0; i < st.n; i++) {
                int s = st.in[i] / 100, t = st.in[i] % 100;
                ok &= st.out[i] == st.in[i] + 1 && t + 1 < len[s];
                if (isreset[i])
                    ok &= t == 0;
                else
                    ok &= st.in[i] == carried[i];
                int64_t e = off[s] + t;
                seen[e]++;
                pairs++;
                prev_out[i] = st.out[i];
            }
            prev_n = st.n;
        }
        sr_batch_free(&it);
        CHECK_MSG(ok, "trial %d: invariant broken", trial);
        CHECK_EQ_INT(pairs, sr_batch_count_pairs(off, ns));
        for (int s = 0; s < ns; s++)
            for (int t = 0; t < len[s]; t++)
                if (seen[off[s] + t] != (t + 1 < len[s] ? 1 : 0)) {
                    CHECK_MSG(0, "trial %d: event %d of session %d produced %d times", trial, t, s,
                              seen[off[s] + t]);
                    t = len[s], s = ns;
                }
    }
}

int main(void)
{
    RUN(test_hand_example);
    RUN(test_refill_and_shrink_same_step);
    RUN(test_shrink_middle_row);
    RUN(test_batch_larger_than_sessions);
    RUN(test_empty_and_bad);
    RUN(test_matches_official_iterator);
    RUN(test_random_invariants);
    return test_summary();
}
