/*
 * eval.c - next-item evaluation (Recall, MRR, NDCG at several cutoffs) and the
 * ranking helper sr_rank (sr_topk, which scoring needs too, is in model/topk.c).
 *
 * The evaluator walks test sessions session-parallel through any model's
 * sr_scorer (it must never know an algorithm), ranks each true next item
 * against ALL items, and counts ranks in a histogram. Metrics are computed from
 * the histogram in a fixed order at the end, so results are bit-identical for
 * every batch size and thread count. Must never print; the ranking loop (next
 * to the model's matrix product, the hot spot) allocates nothing.
 */
#include "model/model.h"
#include "util/blas.h"
#include "util/parallel.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SR_EVAL_MAX_CUTOFF 1000000
#define SR_EVAL_DEFAULT_BATCH 512

sr_eval_opts sr_eval_default_opts(void)
{
    sr_eval_opts o;
    memset(&o, 0, sizeof o);
    o.n_cutoffs = 4;
    o.cutoffs[0] = 1;
    o.cutoffs[1] = 5;
    o.cutoffs[2] = 10;
    o.cutoffs[3] = 20;
    o.ties = SR_TIES_CONSERVATIVE;
    o.batch_size = SR_EVAL_DEFAULT_BATCH;
    o.threads = 0;
    return o;
}

/* ---- ranking ----------------------------------------------------------------- */

/* Counts the scores above t (*gt) and equal to t (*eq) in s (n). The loop is
 * branch-free with 32-bit counters so that the compiler vectorises it; blocks
 * keep the counters from overflowing. */
static void count_row(const float *restrict s, int64_t n, float t, int64_t *gt, int64_t *eq)
{
    int64_t g = 0, e = 0;
    for (int64_t b = 0; b < n; b += (int64_t)1 << 30) {
        int64_t len = n - b < ((int64_t)1 << 30) ? n - b : ((int64_t)1 << 30);
        const float *p = s + b;
        int32_t g32 = 0, e32 = 0;
        for (int64_t j = 0; j < len; j++) {
            g32 += p[j] > t;
            e32 += p[j] == t;
        }
        g += g32;
        e += e32;
    }
    *gt = g;
    *eq = e;
}

/* Twice the rank (an integer for every tie mode: median ranks are halves).
 * A NaN target ranks last. */
static int64_t rank2_of(const float *s, int64_t n, float t, sr_ties ties)
{
    if (isnan(t))
        return 2 * n;
    int64_t gt, eq;
    count_row(s, n, t, &gt, &eq);
    if (eq < 1)
        eq = 1; /* the target is one of the equal scores, even if absent */
    switch (ties) {
    case SR_TIES_CONSERVATIVE: return 2 * (gt + eq);
    case SR_TIES_MEDIAN: return 2 * (1 + gt) + (eq - 1);
    case SR_TIES_STANDARD: return 2 * (1 + gt);
    }
    return -1; /* not a tie mode: sr_evaluate and sr_rank check it first */
}

double sr_rank(const float *scores, int64_t n, float target, sr_ties ties)
{
    if ((unsigned)ties > SR_TIES_MEDIAN) /* not a tie mode */
        return NAN;
    return 0.5 * (double)rank2_of(scores, n, target, ties);
}


/* ---- the evaluation loop ------------------------------------------------------------ */

/* Test sessions restricted to the items the model knows, in model indices. */
typedef struct known_sessions {
    int64_t n_sessions;
    int64_t *offsets;      /* (n_sessions + 1) */
    int32_t *items;        /* (offsets[n_sessions]) model item indices */
} known_sessions;

/* One thread's share: sessions [s0, s1) and what it counted. */
typedef struct eval_job {
    const sr_model *m;
    const known_sessions *ks;
    int64_t s0, s1;
    int batch;
    sr_ties ties;
    int64_t max_rank2;     /* ranks2 above this are not counted */
    int64_t *hist;         /* (max_rank2 + 1) targets per doubled rank */
    int64_t n_predictions;
    sr_status st;
} eval_job;

/* Task `task` of sr_parallel_for: share `task` of the jobs array `ud`. */
static void eval_task(int task, int thread, void *ud)
{
    (void)thread;
    eval_job *J = (eval_job *)ud + task;
    const known_sessions *ks = J->ks;
    const int64_t N = sr_model_n_items(J->m);
    int64_t share = J->s1 - J->s0;
    int B = share < J->batch ? (int)share : J->batch;
    if (B < 1)
        return;

    sr_scorer *sc = sr_scorer_new(J->m, B);
    float *scores = malloc((size_t)B * (size_t)N * sizeof *scores);   /* (B, N) */
    int64_t *sess = malloc((size_t)B * sizeof *sess);   /* (B) session of each slot */
    int64_t *pos = malloc((size_t)B * sizeof *pos);     /* (B) click fed next, in ks->items */
    int32_t *in = malloc((size_t)B * sizeof *in);       /* (B) */
    if (!sc || !scores || !sess || !pos || !in) {
        J->st = SR_ERR_NOMEM;
        goto done;
    }

    int64_t next = J->s0;
    int n = 0;
    while (n < B && next < J->s1) {
        sr_scorer_reset(sc, n);
        sess[n] = next;
        pos[n] = ks->offsets[next++];
        n++;
    }
    while (n > 0) {
        for (int i = 0; i < n; i++)
            in[i] = ks->items[pos[i]];
        sr_scorer_step(sc, in, n, scores);
        for (int i = 0; i < n; i++) {
            int32_t target = ks->items[pos[i] + 1];
            const float *row = scores + (size_t)i * (size_t)N;
            int64_t r2 = rank2_of(row, N, row[target], J->ties);
            if (r2 <= J->max_rank2)
                J->hist[r2]++;
        }
        J->n_predictions += n;
        /* Advance; a slot whose session is used up takes the next one, or,
         * when none is left, is dropped and the slots above it move down. */
        int kept = 0;
        for (int i = 0; i < n; i++) {
            pos[i]++;
            if (pos[i] + 1 >= ks->offsets[sess[i] + 1]) {
                if (next >= J->s1)
                    continue;
                sr_scorer_reset(sc, i);
                sess[i] = next;
                pos[i] = ks->offsets[next++];
            }
            if (kept != i) {
                sr_scorer_move(sc, kept, i);
                sess[kept] = sess[i];
                pos[kept] = pos[i];
            }
            kept++;
        }
        n = kept;
    }
done:
    sr_scorer_free(sc);
    free(scores);
    free(sess);
    free(pos);
    free(in);
}

/* Maps the test split to model indices, dropping unknown rows and sessions
 * left with fewer than 2 clicks. */
static sr_status known_build(const sr_model *m, const sr_split *test, known_sessions *ks,
                             int64_t *n_skipped, sr_error *err)
{
    memset(ks, 0, sizeof *ks);
    *n_skipped = 0;
    int32_t *map = malloc((size_t)(test->n_items > 0 ? test->n_items : 1) * sizeof *map);
    ks->offsets = malloc((size_t)(test->n_sessions + 1) * sizeof *ks->offsets);
    ks->items = malloc((size_t)(test->n_events > 0 ? test->n_events : 1) * sizeof *ks->items);
    if (!map || !ks->offsets || !ks->items) {
        free(map);
        return sr_error_set(err, SR_ERR_NOMEM, "evaluation: out of memory for %lld test events",
                            (long long)test->n_events);
    }
    for (int64_t t = 0; t < test->n_items; t++)
        map[t] = (int32_t)sr_model_item_of_split(m, test, t);

    int64_t w = 0, ns = 0;
    ks->offsets[0] = 0;
    for (int64_t s = 0; s < test->n_sessions; s++) {
        int64_t a = test->offsets[s], b = test->offsets[s + 1];
        if ((s == 0 && a != 0) || b < a || b > test->n_events) {
            free(map);
            return sr_error_set(err, SR_ERR_ARG,
                                "evaluation: test split session %lld has bad offsets [%lld, %lld)",
                                (long long)s, (long long)a, (long long)b);
        }
        int64_t start = w;
        for (int64_t e = a; e < b; e++) {
            int32_t it = test->items[e];
            if (it < 0 || it >= test->n_items) {
                free(map);
                return sr_error_set(err, SR_ERR_ARG,
                                    "evaluation: test split event %lld has item index %d outside "
                                    "its item table of %lld",
                                    (long long)e, (int)it, (long long)test->n_items);
            }
            if (map[it] < 0)
                (*n_skipped)++;
            else
                ks->items[w++] = map[it];
        }
        if (w - start >= 2)
            ks->offsets[++ns] = w;
        else
            w = start;
    }
    ks->n_sessions = ns;
    free(map);
    return SR_OK;
}

sr_status sr_evaluate(const sr_model *m, const sr_split *test, const sr_eval_opts *opts_in,
                      sr_eval_result *out, sr_error *err)
{
    double t0 = sr_now();
    sr_eval_opts opts = opts_in ? *opts_in : sr_eval_default_opts();
    memset(out, 0, sizeof *out);
    if (opts.n_cutoffs < 1 || opts.n_cutoffs > SR_MAX_CUTOFFS)
        return sr_error_set(err, SR_ERR_ARG, "evaluation: %d cutoffs (expected 1 to %d)",
                            opts.n_cutoffs, SR_MAX_CUTOFFS);
    int max_cut = 0;
    for (int c = 0; c < opts.n_cutoffs; c++) {
        if (opts.cutoffs[c] < 1 || opts.cutoffs[c] > SR_EVAL_MAX_CUTOFF)
            return sr_error_set(err, SR_ERR_ARG, "evaluation: cutoff %d out of range 1..%d",
                                opts.cutoffs[c], SR_EVAL_MAX_CUTOFF);
        if (opts.cutoffs[c] > max_cut)
            max_cut = opts.cutoffs[c];
    }
    if (opts.ties != SR_TIES_STANDARD && opts.ties != SR_TIES_CONSERVATIVE &&
        opts.ties != SR_TIES_MEDIAN)
        return sr_error_set(err, SR_ERR_ARG, "evaluation: unknown tie mode %d", (int)opts.ties);
    if (opts.batch_size <= 0)
        opts.batch_size = SR_EVAL_DEFAULT_BATCH;
    out->n_cutoffs = opts.n_cutoffs;
    memcpy(out->cutoffs, opts.cutoffs, sizeof out->cutoffs);
    if (sr_model_n_items(m) < 1)
        return sr_error_set(err, SR_ERR_EMPTY, "evaluation: the model knows no items");

    known_sessions ks;
    sr_status st = known_build(m, test, &ks, &out->n_skipped, err);
    if (st != SR_OK) {
        free(ks.offsets);
        free(ks.items);
        return st;
    }

    /* Contiguous shares of the sessions with about equal numbers of
     * predictions; the predictions of sessions [0, s) are offsets[s] - s. */
    int T = sr_resolve_threads(opts.threads);
    if ((int64_t)T > ks.n_sessions)
        T = ks.n_sessions > 0 ? (int)ks.n_sessions : 1;
    out->threads = T;
    /* A rank is at most the item count: larger cutoffs need no more counters
     * (a cutoff of 10^6 on a 2,456-item model asked for a huge histogram). */
    if ((int64_t)max_cut > sr_model_n_items(m))
        max_cut = (int)sr_model_n_items(m);
    int64_t max_rank2 = 2 * (int64_t)max_cut;
    eval_job *jobs = calloc((size_t)T, sizeof *jobs);
    int64_t *hist = calloc((size_t)T * (size_t)(max_rank2 + 1), sizeof *hist); /* (T, max_rank2+1) */
    if (!jobs || !hist) {
        st = sr_error_set(err, SR_ERR_NOMEM, "evaluation: out of memory");
        goto done;
    }
    int64_t total_pred = ks.offsets[ks.n_sessions] - ks.n_sessions;
    int64_t s = 0;
    for (int t = 0; t < T; t++) {
        eval_job *J = &jobs[t];
        J->m = m;
        J->ks = &ks;
        J->batch = opts.batch_size;
        J->ties = opts.ties;
        J->max_rank2 = max_rank2;
        J->hist = hist + (size_t)t * (size_t)(max_rank2 + 1);
        J->s0 = s;
        int64_t goal = total_pred * (t + 1) / T;
        while (s < ks.n_sessions && (t == T - 1 || ks.offsets[s + 1] - (s + 1) <= goal))
            s++;
        J->s1 = s;
    }
    /* One task a share (sr_parallel_for: a thread that cannot start leaves
     * its share to the others). With several workers, each one's
     * matrix products run single-threaded: OpenBLAS's own threads would only
     * contend with the workers (measured: 1.7x the CPU time on 2 cores). The
     * setting is process-wide and restored afterwards (util/blas.h). */
    int blas_prev = T > 1 ? sr_blas_threads_enter(1) : 0;
    sr_parallel_for(T, T, eval_task, jobs);
    if (T > 1)
        sr_blas_threads_leave(blas_prev);

    /* Merge in fixed order; metrics from the summed histogram. */
    for (int t = 0; t < T; t++) {
        if (jobs[t].st != SR_OK) {
            st = sr_error_set(err, jobs[t].st, "evaluation: out of memory for a batch of %d x %lld scores",
                              opts.batch_size, (long long)sr_model_n_items(m));
            goto done;
        }
        out->n_predictions += jobs[t].n_predictions;
        if (t > 0)
            for (int64_t r = 0; r <= max_rank2; r++)
                hist[r] += jobs[t].hist[r];
    }
    if (out->n_predictions == 0) {
        st = sr_error_set(err, SR_ERR_EMPTY,
                          "evaluation: no test session has 2 clicks on items the model knows "
                          "(%lld sessions, %lld rows skipped as unknown)",
                          (long long)test->n_sessions, (long long)out->n_skipped);
        goto done;
    }
    double P = (double)out->n_predictions;
    for (int c = 0; c < opts.n_cutoffs; c++) {
        int64_t lim = 2 * (int64_t)opts.cutoffs[c];
        if (lim > max_rank2)
            lim = max_rank2;
        double hits = 0, rr = 0, dcg = 0;
        for (int64_t r2 = 2; r2 <= lim; r2++) {
            if (!hist[r2])
                continue;
            double cnt = (double)hist[r2], rank = 0.5 * (double)r2;
            hits += cnt;
            rr += cnt / rank;
            dcg += cnt / log2(rank + 1.0);
        }
        out->recall[c] = hits / P;
        out->mrr[c] = rr / P;
        out->ndcg[c] = dcg / P;
    }
done:
    free(jobs);
    free(hist);
    free(ks.offsets);
    free(ks.items);
    out->seconds = sr_now() - t0;
    return st;
}
