/*
 * test_eval.c - sr_rank (all tie modes), and sr_evaluate on fake models defined
 * here: exact metrics of a hand-computed tiny evaluation (ties, an unknown item
 * dropped mid-session, a session left with one known click), and identical
 * results for every batch size and thread count, checked against a plain
 * per-session reference (which also exercises slot refill and compaction).
 */
#include "test.h"
#include "model.h"

#include <stdatomic.h>

/* ---- fake model 1: scores are a fixed row of a table chosen by the last click */

typedef struct table_impl {
    int64_t n;
    const float *rows;     /* (n, n): rows[last * n + j] = score of item j */
} table_impl;

typedef struct table_scorer {
    sr_scorer hdr;
} table_scorer;

static sr_scorer *table_new(const sr_model *m, int max_batch)
{
    (void)m;
    (void)max_batch;
    return calloc(1, sizeof(table_scorer));
}
static void table_free(sr_scorer *s) { free(s); }
static void table_reset(sr_scorer *s, int slot) { (void)s; (void)slot; }
static void table_move(sr_scorer *s, int dst, int src) { (void)s; (void)dst; (void)src; }
static void table_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    const table_impl *t = s->m->impl;
    for (int i = 0; i < n; i++)
        memcpy(scores + (size_t)i * (size_t)t->n, t->rows + (size_t)items[i] * (size_t)t->n,
               (size_t)t->n * sizeof *scores);
}
static const sr_model_vt table_vt = {
    .algo = "fake-table", .scorer_new = table_new, .scorer_free = table_free,
    .reset = table_reset, .step = table_step, .move = table_move,
};

/* ---- fake model 2: scores depend on the whole session so far ----------------------
 * Slot state: a hash of the clicks fed since the last reset. A scorer starts
 * with garbage states, so a missing reset, a wrong move or a wrong row shows. */

typedef struct hash_scorer {
    sr_scorer hdr;
    uint64_t *h;           /* (max_batch) */
} hash_scorer;

static atomic_long hash_moves, hash_bad_calls;

static sr_scorer *hash_new(const sr_model *m, int max_batch)
{
    (void)m;
    hash_scorer *s = calloc(1, sizeof *s);
    s->h = malloc((size_t)max_batch * sizeof *s->h);
    for (int i = 0; i < max_batch; i++)
        s->h[i] = 0xdeadbeef00ull + (uint64_t)i;
    return &s->hdr;
}
static void hash_free(sr_scorer *s)
{
    free(((hash_scorer *)s)->h);
    free(s);
}
static void hash_reset(sr_scorer *s, int slot)
{
    if (slot < 0 || slot >= s->max_batch)
        atomic_fetch_add(&hash_bad_calls, 1);
    else
        ((hash_scorer *)s)->h[slot] = 1469598103934665603ull;
}
static void hash_move(sr_scorer *s, int dst, int src)
{
    atomic_fetch_add(&hash_moves, 1);
    if (dst < 0 || src < 0 || dst >= s->max_batch || src >= s->max_batch)
        atomic_fetch_add(&hash_bad_calls, 1);
    else
        ((hash_scorer *)s)->h[dst] = ((hash_scorer *)s)->h[src];
}
static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    return x ^ (x >> 33);
}
/* The score of item j after state h: few distinct values, so many ties. */
static float hash_score(uint64_t h, int64_t j) { return (float)(mix(h + (uint64_t)j) % 7); }
static uint64_t hash_feed(uint64_t h, int32_t item) { return (h ^ (uint64_t)(item + 1)) * 1099511628211ull; }

static void hash_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    hash_scorer *hs = (hash_scorer *)s;
    int64_t N = s->m->n_items;
    if (n < 1 || n > s->max_batch)
        atomic_fetch_add(&hash_bad_calls, 1);
    for (int i = 0; i < n; i++) {
        if (items[i] < 0 || items[i] >= N)
            atomic_fetch_add(&hash_bad_calls, 1);
        hs->h[i] = hash_feed(hs->h[i], items[i]);
        for (int64_t j = 0; j < N; j++)
            scores[(size_t)i * (size_t)N + (size_t)j] = hash_score(hs->h[i], j);
    }
}
static const sr_model_vt hash_vt = {
    .algo = "fake-hash", .scorer_new = hash_new, .scorer_free = hash_free,
    .reset = hash_reset, .step = hash_step, .move = hash_move,
};

/* ---- building test splits by hand -------------------------------------------------- */

/* A split over sessions given as original item ids; item table = ids in order
 * of first appearance. Owned arrays; free with split_free_test. */
static sr_split make_split(int n_sessions, const int *lens, const int64_t *ids)
{
    sr_split s;
    memset(&s, 0, sizeof s);
    int64_t ne = 0;
    for (int i = 0; i < n_sessions; i++)
        ne += lens[i];
    s.n_sessions = n_sessions;
    s.n_events = ne;
    s.session_ids = malloc((size_t)(n_sessions + 1) * sizeof(int64_t));
    s.offsets = malloc((size_t)(n_sessions + 1) * sizeof(int64_t));
    s.items = malloc((size_t)(ne + 1) * sizeof(int32_t));
    s.times = malloc((size_t)(ne + 1) * sizeof(int64_t));
    s.item_ids = malloc((size_t)(ne + 1) * sizeof(int64_t));
    s.offsets[0] = 0;
    for (int i = 0; i < n_sessions; i++) {
        s.session_ids[i] = 1000 + i;
        s.offsets[i + 1] = s.offsets[i] + lens[i];
    }
    for (int64_t e = 0; e < ne; e++) {
        int64_t k = 0;
        while (k < s.n_items && s.item_ids[k] != ids[e])
            k++;
        if (k == s.n_items)
            s.item_ids[s.n_items++] = ids[e];
        s.items[e] = (int32_t)k;
        s.times[e] = e;
    }
    return s;
}

static void split_free_test(sr_split *s)
{
    free(s->session_ids);
    free(s->offsets);
    free(s->items);
    free(s->times);
    free(s->item_ids);
}

/* ---- sr_rank ----------------------------------------------------------------------- */

static void test_rank_tie_modes(void)
{
    const float s[6] = {0.9f, 0.5f, 0.5f, 0.1f, 0.5f, 0.7f};
    /* target 0.5: 2 higher (0.9, 0.7), 3 equal (itself included) */
    CHECK_NEAR(sr_rank(s, 6, 0.5f, SR_TIES_STANDARD), 3.0, 0);
    CHECK_NEAR(sr_rank(s, 6, 0.5f, SR_TIES_CONSERVATIVE), 5.0, 0);
    CHECK_NEAR(sr_rank(s, 6, 0.5f, SR_TIES_MEDIAN), 4.0, 0);
    /* target 0.9: unique best */
    CHECK_NEAR(sr_rank(s, 6, 0.9f, SR_TIES_STANDARD), 1.0, 0);
    CHECK_NEAR(sr_rank(s, 6, 0.9f, SR_TIES_CONSERVATIVE), 1.0, 0);
    CHECK_NEAR(sr_rank(s, 6, 0.9f, SR_TIES_MEDIAN), 1.0, 0);
    /* target 0.1: unique last */
    CHECK_NEAR(sr_rank(s, 6, 0.1f, SR_TIES_STANDARD), 6.0, 0);
    CHECK_NEAR(sr_rank(s, 6, 0.1f, SR_TIES_CONSERVATIVE), 6.0, 0);
    /* two equal scores: median is a half rank */
    const float p[4] = {3, 1, 1, 0};
    CHECK_NEAR(sr_rank(p, 4, 1.0f, SR_TIES_STANDARD), 2.0, 0);
    CHECK_NEAR(sr_rank(p, 4, 1.0f, SR_TIES_CONSERVATIVE), 3.0, 0);
    CHECK_NEAR(sr_rank(p, 4, 1.0f, SR_TIES_MEDIAN), 2.5, 0);
    /* all equal */
    const float q[5] = {2, 2, 2, 2, 2};
    CHECK_NEAR(sr_rank(q, 5, 2.0f, SR_TIES_STANDARD), 1.0, 0);
    CHECK_NEAR(sr_rank(q, 5, 2.0f, SR_TIES_CONSERVATIVE), 5.0, 0);
    CHECK_NEAR(sr_rank(q, 5, 2.0f, SR_TIES_MEDIAN), 3.0, 0);
    /* NaN: a NaN target ranks last, NaN scores never count */
    const float r[4] = {NAN, 1, 2, NAN};
    CHECK_NEAR(sr_rank(r, 4, NAN, SR_TIES_STANDARD), 4.0, 0);
    CHECK_NEAR(sr_rank(r, 4, 1.0f, SR_TIES_CONSERVATIVE), 2.0, 0);
    CHECK_NEAR(sr_rank(r, 4, 2.0f, SR_TIES_STANDARD), 1.0, 0);
    /* -0.0 == +0.0 is a tie */
    const float z[3] = {-0.0f, 0.0f, -1};
    CHECK_NEAR(sr_rank(z, 3, 0.0f, SR_TIES_CONSERVATIVE), 2.0, 0);
}

static void test_rank_long_row(void)
{
    /* Longer than any vector width, with a tail: checks the vectorised loop. */
    enum { N = 1037 };
    float *s = malloc(N * sizeof *s);
    for (int j = 0; j < N; j++)
        s[j] = (float)(j % 10);           /* 0..9; 7, 8, 9 occur 103 times (up to 1027..1029) */
    /* target 7: 206 higher (the 8s and 9s), 103 equal */
    int hi = 0, eq = 0;
    for (int j = 0; j < N; j++) {
        hi += s[j] > 7;
        eq += s[j] == 7;
    }
    CHECK_EQ_INT(hi, 206);
    CHECK_EQ_INT(eq, 103);
    CHECK_NEAR(sr_rank(s, N, 7, SR_TIES_STANDARD), 207.0, 0);
    CHECK_NEAR(sr_rank(s, N, 7, SR_TIES_CONSERVATIVE), 309.0, 0);
    CHECK_NEAR(sr_rank(s, N, 7, SR_TIES_MEDIAN), 207 + 51.0, 0);
    free(s);
}

static void test_default_opts(void)
{
    sr_eval_opts o = sr_eval_default_opts();
    CHECK_EQ_INT(o.n_cutoffs, 4);
    CHECK(o.cutoffs[0] == 1 && o.cutoffs[1] == 5 && o.cutoffs[2] == 10 && o.cutoffs[3] == 20);
    CHECK(o.ties == SR_TIES_CONSERVATIVE);
    CHECK_EQ_INT(o.batch_size, 512);
}

/* ---- the hand-computed evaluation ----------------------------------------------------
 * Model items (original ids) 10 20 30 40 50 = dense 0..4. Score rows by last click:
 *   after 10: .9 .5 .5 .1 .5     after 20: .2 .8 .3 .3 .1
 *   after 40: .7 .7 .7 .7 .7     after 50: .1 .2 .3 .4 .5     (after 30: unused)
 * Test sessions (original ids; 99 is unknown to the model):
 *   A: 10 20 30        -> 20 after 10, 30 after 20
 *   B: 20 99 40 10     -> 99 dropped: 40 after 20, 10 after 40
 *   C: 99 30           -> one known click left: nothing
 *   D: 50 50           -> 50 after 50
 *   E: 40              -> nothing
 * Ranks (standard / conservative / median):
 *   20|10: 1 higher, 3 equal -> 2 / 4 / 3
 *   30|20: 1 higher, 2 equal -> 2 / 3 / 2.5      40|20: the same
 *   10|40: 0 higher, 5 equal -> 1 / 5 / 3
 *   50|50: best              -> 1 / 1 / 1
 * 5 predictions, 2 skipped rows. */
static const float tiny_rows[25] = {
    .9f, .5f, .5f, .1f, .5f,
    .2f, .8f, .3f, .3f, .1f,
    0, 0, 0, 0, 0,
    .7f, .7f, .7f, .7f, .7f,
    .1f, .2f, .3f, .4f, .5f,
};

static sr_model *tiny_model(void)
{
    static const int64_t ids[5] = {10, 20, 30, 40, 50};
    static table_impl impl = {5, tiny_rows};
    sr_model *m = sr_model_new_shell(&table_vt, 5, ids);
    m->impl = &impl; /* static: no free_impl */
    return m;
}

static sr_split tiny_split(void)
{
    static const int lens[5] = {3, 4, 2, 2, 1};
    static const int64_t ids[12] = {10, 20, 30, 20, 99, 40, 10, 99, 30, 50, 50, 40};
    return make_split(5, lens, ids);
}

static sr_eval_result tiny_eval(sr_ties ties, int batch, int threads)
{
    sr_model *m = tiny_model();
    sr_split t = tiny_split();
    sr_eval_opts o = sr_eval_default_opts();
    o.n_cutoffs = 4;
    o.cutoffs[0] = 1;
    o.cutoffs[1] = 2;
    o.cutoffs[2] = 3;
    o.cutoffs[3] = 5;
    o.ties = ties;
    o.batch_size = batch;
    o.threads = threads;
    sr_eval_result r;
    sr_error err = {0};
    sr_status st = sr_evaluate(m, &t, &o, &r, &err);
    CHECK_MSG(st == SR_OK, "%s", err.msg);
    split_free_test(&t);
    sr_model_free(m);
    return r;
}

static void check_tiny(sr_ties ties, const double rank[5])
{
    static const int cut[4] = {1, 2, 3, 5};
    static const int batches[3] = {1, 3, 512};
    for (int b = 0; b < 3; b++)
        for (int th = 1; th <= 2; th++) {
            sr_eval_result r = tiny_eval(ties, batches[b], th);
            CHECK_EQ_INT(r.n_predictions, 5);
            CHECK_EQ_INT(r.n_skipped, 2);
            CHECK_EQ_INT(r.n_cutoffs, 4);
            for (int c = 0; c < 4; c++) {
                CHECK_EQ_INT(r.cutoffs[c], cut[c]);
                double hit = 0, rr = 0, dcg = 0;
                for (int i = 0; i < 5; i++)
                    if (rank[i] <= cut[c]) {
                        hit += 1;
                        rr += 1 / rank[i];
                        dcg += 1 / log2(rank[i] + 1);
                    }
                CHECK_NEAR(r.recall[c], hit / 5, 1e-12);
                CHECK_NEAR(r.mrr[c], rr / 5, 1e-12);
                CHECK_NEAR(r.ndcg[c], dcg / 5, 1e-12);
            }
        }
}

static void test_tiny_standard(void)
{
    const double rank[5] = {2, 2, 2, 1, 1};
    check_tiny(SR_TIES_STANDARD, rank);
    /* the same, written out for two cutoffs */
    sr_eval_result r = tiny_eval(SR_TIES_STANDARD, 512, 1);
    CHECK_NEAR(r.recall[0], 0.4, 1e-12);              /* @1: ranks 1, 1 */
    CHECK_NEAR(r.mrr[0], 0.4, 1e-12);
    CHECK_NEAR(r.ndcg[0], 0.4, 1e-12);
    CHECK_NEAR(r.recall[1], 1.0, 1e-12);              /* @2: all */
    CHECK_NEAR(r.mrr[1], (3 * 0.5 + 2) / 5, 1e-12);
    CHECK_NEAR(r.ndcg[1], (3 / log2(3.0) + 2) / 5, 1e-12);
}

static void test_tiny_conservative(void)
{
    const double rank[5] = {4, 3, 3, 5, 1};
    check_tiny(SR_TIES_CONSERVATIVE, rank);
    sr_eval_result r = tiny_eval(SR_TIES_CONSERVATIVE, 3, 2);
    CHECK_NEAR(r.recall[0], 0.2, 1e-12);
    CHECK_NEAR(r.recall[1], 0.2, 1e-12);
    CHECK_NEAR(r.recall[2], 0.6, 1e-12);              /* @3: 3, 3, 1 */
    CHECK_NEAR(r.mrr[2], (1.0 / 3 + 1.0 / 3 + 1) / 5, 1e-12);
    CHECK_NEAR(r.ndcg[2], (2 / 2.0 + 1) / 5, 1e-12);
    CHECK_NEAR(r.recall[3], 1.0, 1e-12);
    CHECK_NEAR(r.mrr[3], (0.25 + 2.0 / 3 + 0.2 + 1) / 5, 1e-12);
    CHECK_NEAR(r.ndcg[3], (1 / log2(5.0) + 1 + 1 / log2(6.0) + 1) / 5, 1e-12);
}

static void test_tiny_median(void)
{
    const double rank[5] = {3, 2.5, 2.5, 3, 1};
    check_tiny(SR_TIES_MEDIAN, rank);
    sr_eval_result r = tiny_eval(SR_TIES_MEDIAN, 1, 1);
    CHECK_NEAR(r.recall[1], 0.2, 1e-12);              /* 2.5 > 2 */
    CHECK_NEAR(r.recall[2], 1.0, 1e-12);
    CHECK_NEAR(r.mrr[2], (2.0 / 3 + 2 * 0.4 + 1) / 5, 1e-12);
    CHECK_NEAR(r.ndcg[2], (2 / 2.0 + 2 / log2(3.5) + 1) / 5, 1e-12);
}

static void test_errors(void)
{
    sr_model *m = tiny_model();
    sr_split t = tiny_split();
    sr_eval_result r;
    sr_error err = {0};
    sr_eval_opts o = sr_eval_default_opts();
    o.cutoffs[1] = 0;
    CHECK(sr_evaluate(m, &t, &o, &r, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "cutoff 0") != NULL);
    o = sr_eval_default_opts();
    o.n_cutoffs = 0;
    CHECK(sr_evaluate(m, &t, &o, &r, &err) == SR_ERR_ARG);
    o = sr_eval_default_opts();
    o.ties = (sr_ties)7;
    CHECK(sr_evaluate(m, &t, &o, &r, &err) == SR_ERR_ARG);
    /* NULL opts = defaults; batch_size <= 0 = default */
    CHECK(sr_evaluate(m, &t, NULL, &r, &err) == SR_OK);
    CHECK_EQ_INT(r.n_cutoffs, 4);
    CHECK_EQ_INT(r.cutoffs[3], 20);
    CHECK_NEAR(r.recall[0], 0.2, 1e-12);              /* conservative: only 50|50 is rank 1 */
    CHECK(r.seconds >= 0);
    o = sr_eval_default_opts();
    o.batch_size = 0;
    CHECK(sr_evaluate(m, &t, &o, &r, &err) == SR_OK);
    CHECK_EQ_INT(r.n_predictions, 5);
    /* a split with a bad item index is refused, not read out of bounds */
    t.items[4] = 77;
    CHECK(sr_evaluate(m, &t, NULL, &r, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "77") != NULL);
    split_free_test(&t);
    /* nothing known: SR_ERR_EMPTY with the counts filled in */
    static const int lens[2] = {2, 3};
    static const int64_t ids[5] = {7, 8, 9, 10, 11};
    t = make_split(2, lens, ids);
    CHECK(sr_evaluate(m, &t, NULL, &r, &err) == SR_ERR_EMPTY);
    CHECK_EQ_INT(r.n_predictions, 0);
    CHECK_EQ_INT(r.n_skipped, 4);
    split_free_test(&t);
    sr_model_free(m);
}

/* ---- batch / thread independence against a plain reference ------------------------- */

enum { HN_MODEL = 50 };

/* A random test split: 300 sessions of 1..14 clicks over ids 0..59 (50..59 are
 * unknown to the model, about 1 click in 6). */
static sr_split random_split(uint64_t seed)
{
    sr_rng rng;
    sr_rng_seed(&rng, seed);
    int lens[300];
    int64_t *ids = malloc(300 * 14 * sizeof *ids);
    int64_t ne = 0;
    for (int s = 0; s < 300; s++) {
        lens[s] = 1 + (int)(sr_rng_next(&rng) % 14);
        for (int i = 0; i < lens[s]; i++)
            ids[ne++] = 1000 + (int64_t)(sr_rng_next(&rng) % 60);
    }
    sr_split t = make_split(300, lens, ids);
    free(ids);
    return t;
}

static sr_model *hash_model(void)
{
    int64_t ids[HN_MODEL];
    for (int i = 0; i < HN_MODEL; i++)
        ids[i] = 1000 + (i * 7) % HN_MODEL; /* a different order than the test's table */
    return sr_model_new_shell(&hash_vt, HN_MODEL, ids);
}

/* The evaluation written plainly: one session at a time, no scorer. */
static void reference_eval(const sr_model *m, const sr_split *t, const sr_eval_opts *o,
                           sr_eval_result *r)
{
    memset(r, 0, sizeof *r);
    float sc[HN_MODEL];
    for (int64_t s = 0; s < t->n_sessions; s++) {
        int32_t known[64];
        int n = 0;
        for (int64_t e = t->offsets[s]; e < t->offsets[s + 1]; e++) {
            int64_t k = sr_model_item_index(m, t->item_ids[t->items[e]]);
            if (k < 0)
                r->n_skipped++;
            else
                known[n++] = (int32_t)k;
        }
        uint64_t h = 1469598103934665603ull;
        for (int i = 0; i + 1 < n; i++) {
            h = hash_feed(h, known[i]);
            for (int j = 0; j < HN_MODEL; j++)
                sc[j] = hash_score(h, j);
            double rank = sr_rank(sc, HN_MODEL, sc[known[i + 1]], o->ties);
            r->n_predictions++;
            for (int c = 0; c < o->n_cutoffs; c++)
                if (rank <= o->cutoffs[c]) {
                    r->recall[c] += 1;
                    r->mrr[c] += 1 / rank;
                    r->ndcg[c] += 1 / log2(rank + 1);
                }
        }
    }
    for (int c = 0; c < o->n_cutoffs; c++) {
        r->recall[c] /= (double)r->n_predictions;
        r->mrr[c] /= (double)r->n_predictions;
        r->ndcg[c] /= (double)r->n_predictions;
    }
}

static void test_batches_threads_identical(void)
{
    sr_model *m = hash_model();
    sr_split t = random_split(7);
    double recall5[3];
    for (int ties = 0; ties < 3; ties++) {
        sr_eval_opts o = sr_eval_default_opts();
        o.n_cutoffs = 5;
        o.cutoffs[0] = 1;
        o.cutoffs[1] = 3;
        o.cutoffs[2] = 5;
        o.cutoffs[3] = 10;
        o.cutoffs[4] = 50;
        o.ties = (sr_ties)ties;
        sr_eval_result ref;
        reference_eval(m, &t, &o, &ref);
        CHECK(ref.n_predictions > 500);
        CHECK(ref.n_skipped > 100);
        recall5[ties] = ref.recall[2];
        CHECK_NEAR(ref.recall[4], 1.0, 1e-12);

        static const int batches[5] = {1, 3, 7, 64, 512};
        sr_eval_result first;
        for (int b = 0; b < 5; b++)
            for (int th = 1; th <= 3; th++) {
                o.batch_size = batches[b];
                o.threads = th;
                sr_eval_result r;
                sr_error err = {0};
                atomic_store(&hash_moves, 0);
                CHECK_MSG(sr_evaluate(m, &t, &o, &r, &err) == SR_OK, "%s", err.msg);
                CHECK_EQ_INT(r.n_predictions, ref.n_predictions);
                CHECK_EQ_INT(r.n_skipped, ref.n_skipped);
                for (int c = 0; c < o.n_cutoffs; c++) {
                    CHECK_NEAR(r.recall[c], ref.recall[c], 1e-12);
                    CHECK_NEAR(r.mrr[c], ref.mrr[c], 1e-12);
                    CHECK_NEAR(r.ndcg[c], ref.ndcg[c], 1e-12);
                }
                if (b == 0 && th == 1)
                    first = r;
                else /* bit-identical, not merely close */
                    CHECK(!memcmp(r.recall, first.recall, sizeof r.recall) &&
                          !memcmp(r.mrr, first.mrr, sizeof r.mrr) &&
                          !memcmp(r.ndcg, first.ndcg, sizeof r.ndcg));
                /* batch 1 never moves; a small batch compacts at the end */
                if (batches[b] == 1)
                    CHECK_EQ_INT(atomic_load(&hash_moves), 0);
                if (batches[b] == 3 || batches[b] == 7)
                    CHECK(atomic_load(&hash_moves) > 0);
            }
    }
    /* ties are frequent here, so the modes differ */
    CHECK(recall5[SR_TIES_STANDARD] > recall5[SR_TIES_MEDIAN] + 0.05);
    CHECK(recall5[SR_TIES_MEDIAN] > recall5[SR_TIES_CONSERVATIVE] + 0.05);
    CHECK_EQ_INT(atomic_load(&hash_bad_calls), 0);
    split_free_test(&t);
    sr_model_free(m);
}

int main(void)
{
    RUN(test_rank_tie_modes);
    RUN(test_rank_long_row);
    RUN(test_default_opts);
    RUN(test_tiny_standard);
    RUN(test_tiny_conservative);
    RUN(test_tiny_median);
    RUN(test_errors);
    RUN(test_batches_threads_identical);
    return test_summary();
}
