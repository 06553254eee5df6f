/*
 * test_eval.c - sr_rank (all tie modes), and sr_evaluate on fake models defined
 * here: exact metrics of a hand-computed tiny evaluation (ties, an unknown item
 * dropped mid-session, a session left with one known click), and identical
 * results for every batch size and thread count, checked against a plain
 * per-session reference (which also exercises slot refill and compaction).
 */
#include "test.h"
#include "model/model.h"
#include "eval_fixtures.h"
#include "cli_run.h"

#include <stdatomic.h>
#include <unistd.h>

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

/* ---- end to end on real data: popularity on yoochoose1_64 ----------------------------
 * Reference figures computed independently (a Python script over the two TSV
 * files: drop test rows whose item is not in train, rank each next item by
 * its training clicks): 55,121 predictions, 821 skipped rows; no ties reach
 * the top 20, so all tie modes agree. */
static void test_pop_yoochoose(void)
{
    char tr_path[512], te_path[512];
    snprintf(tr_path, sizeof tr_path, "%s/yoochoose1_64/train.tsv", test_data_dir());
    snprintf(te_path, sizeof te_path, "%s/yoochoose1_64/test.tsv", test_data_dir());
    FILE *f = fopen(tr_path, "rb");
    if (!f)
        SKIP("../shared/data/yoochoose1_64 not present");
    fclose(f);
    sr_split tr, te;
    sr_error err = {0};
    sr_model *m = NULL;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    CHECK_MSG(sr_split_open(tr_path, &tr, &err) == SR_OK, "%s", err.msg);
    CHECK_MSG(sr_split_open(te_path, &te, &err) == SR_OK, "%s", err.msg);
    CHECK_MSG(sr_train_baseline("pop", NULL, &tr, &m, &err) == SR_OK, "%s", err.msg);
    if (m && te.n_events) {
        sr_eval_result r;
        sr_eval_opts o = sr_eval_default_opts();
        o.threads = 2;
        CHECK_MSG(sr_evaluate(m, &te, &o, &r, &err) == SR_OK, "%s", err.msg);
        CHECK_EQ_INT(r.n_predictions, 55121);
        CHECK_EQ_INT(r.n_skipped, 821);
        CHECK_NEAR(r.recall[0], 0.0011973658, 1e-9);
        CHECK_NEAR(r.recall[1], 0.0330182689, 1e-9);
        CHECK_NEAR(r.mrr[1], 0.0136399920, 1e-9);
        CHECK_NEAR(r.ndcg[2], 0.0225916300, 1e-9);
        CHECK_NEAR(r.recall[3], 0.0740371183, 1e-9);
        CHECK_NEAR(r.mrr[3], 0.0171255480, 1e-9);
        CHECK_NEAR(r.ndcg[3], 0.0295983271, 1e-9);
    }
    sr_model_free(m);
    sr_split_free(&tr);
    sr_split_free(&te);
}

/* ---- the command line: sessrec eval --------------------------------------------------
 * The popularity model of eval_fixtures.h (3 -> 4 clicks, 2 -> 3, 1 -> 1, 4 -> 1)
 * on a GRU4Rec TSV test file:
 *   session 1: 3 2 9 1   (9 unknown: dropped) -> 2 after 3, 1 after 2
 *   session 2: 4 3       -> 3 after 4
 *   session 3: 9 4       -> one known click: nothing
 * Conservative ranks: 2 (items 3, 2 score >= 3), 4 (all score >= 1), 1.
 * Standard ranks: 2, 3, 1. */

/* The number after `"key": ` in the first JSON object that follows `anchor`. */
static double json_num(const char *s, const char *anchor, const char *key)
{
    const char *a = strstr(s, anchor);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *k = a ? strstr(a, pat) : NULL;
    return k ? strtod(k + strlen(pat), NULL) : NAN;
}

static void cli_eval_files(char *model, char *test, size_t n)
{
    snprintf(model, n, "%s/pop.srm", test_tmpdir());
    snprintf(test, n, "%s/test.tsv", test_tmpdir());
    CHECK(write_pop_model(model) == 0);
    FILE *f = fopen(test, "w");
    if (f) {
        fputs("SessionId\tItemId\tTime\n1\t3\t1\n1\t2\t2\n1\t9\t3\n1\t1\t4\n2\t4\t5\n2\t3\t6\n"
              "3\t9\t7\n3\t4\t8\n", f);
        fclose(f);
    }
}

static void test_cli_eval(void)
{
    char model[512], test[512], args[2048];
    cli_eval_files(model, test, sizeof model);
    char *out, *err;

    snprintf(args, sizeof args, "eval %s %s --json --cutoffs 1,2,4 --batch 2 --threads 2", model, test);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    CHECK_MSG(strstr(out, "\"n_predictions\": 3,") && strstr(out, "\"n_skipped\": 2,"), "%s%s", out, err);
    CHECK(strstr(out, "\"ties\": \"conservative\"") != NULL);
    CHECK(strstr(out, "\"algo\": \"pop\"") != NULL);
    CHECK_NEAR(json_num(out, "\"cutoff\": 1", "recall"), 1.0 / 3, 1e-9);
    CHECK_NEAR(json_num(out, "\"cutoff\": 1", "mrr"), 1.0 / 3, 1e-9);
    CHECK_NEAR(json_num(out, "\"cutoff\": 2", "recall"), 2.0 / 3, 1e-9);
    CHECK_NEAR(json_num(out, "\"cutoff\": 2", "mrr"), 0.5, 1e-9);
    CHECK_NEAR(json_num(out, "\"cutoff\": 2", "ndcg"), (1 + 1 / log2(3.0)) / 3, 1e-9);
    CHECK_NEAR(json_num(out, "\"cutoff\": 4", "recall"), 1.0, 1e-9);
    CHECK_NEAR(json_num(out, "\"cutoff\": 4", "mrr"), 1.75 / 3, 1e-9);
    CHECK_NEAR(json_num(out, "\"cutoff\": 4", "ndcg"), (1 + 1 / log2(3.0) + 1 / log2(5.0)) / 3, 1e-9);
    free(out);
    free(err);

    /* standard ties, table output */
    snprintf(args, sizeof args, "eval %s %s --ties standard --cutoffs 2,3", model, test);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 0);
    CHECK_MSG(strstr(out, "  @2        0.6667    0.5000") != NULL, "%s", out);
    CHECK_MSG(strstr(out, "  @3        1.0000    0.6111") != NULL, "%s", out); /* (1+1/2+1/3)/3 */
    CHECK(strstr(out, "predictions: 3   skipped rows (item unknown to the model): 2") != NULL);
    CHECK(strstr(out, "ties:  standard") != NULL);
    free(out);
    free(err);

    /* errors: bad option values, a missing file; --help */
    snprintf(args, sizeof args, "eval %s %s --ties best", model, test);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 1);
    CHECK(strstr(err, "--ties") && strstr(err, "best"));
    free(out);
    free(err);
    snprintf(args, sizeof args, "eval %s %s --cutoffs 5,x", model, test);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 1);
    CHECK(strstr(err, "'x'") != NULL);
    free(out);
    free(err);
    snprintf(args, sizeof args, "eval %s/missing.srm %s", test_tmpdir(), test);
    CHECK_EQ_INT(cli_run(args, NULL, &out, &err), 1);
    CHECK(strstr(err, "missing.srm") != NULL);
    free(out);
    free(err);
    CHECK_EQ_INT(cli_run("eval --help", NULL, &out, &err), 0);
    CHECK(strstr(out, "usage: sessrec eval MODEL TEST") && strstr(out, "--ties MODE"));
    free(out);
    free(err);
    remove(model);
    remove(test);
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
    RUN(test_pop_yoochoose);
    RUN(test_cli_eval);
    rmdir(test_tmpdir());
    return test_summary();
}
