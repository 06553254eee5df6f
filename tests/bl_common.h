/*
 * bl_common.h - helpers shared by tests/test_baselines.c and
 * bench/bench_baselines.c: an owned sr_split built from rows (hand-made data;
 * free it with sr_split_free), and a
 * private next-item evaluation that follows ../shared/GRU4REC.md (unknown
 * items dropped row by row; all items ranked; standard and conservative ties).
 * Test/bench code only: prints nothing, exits nowhere.
 */
#ifndef SR_BL_COMMON_H
#define SR_BL_COMMON_H

#include "sessrec.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Builds a split from parallel arrays of n clicks, grouped by consecutive
 * session ids (rows must already be grouped). Item table = distinct ids in
 * order of first appearance. Returns 0 on success; free with sr_split_free. */
static inline int blt_split_from_rows(sr_split *s, const int64_t *sess, const int64_t *item,
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

typedef struct blt_result {
    int64_t n;                 /* predictions */
    double recall20[2], mrr20[2]; /* [0] standard, [1] conservative */
    double seconds;            /* wall clock */
    double cpu_seconds;        /* process CPU time (clock()): robust on a shared machine */
} blt_result;

/* Next-item evaluation of m on test with `batch` parallel slots. */
static inline int blt_evaluate(const sr_model *m, const sr_split *test, int batch, blt_result *r)
{
    memset(r, 0, sizeof *r);
    const int64_t ni = sr_model_n_items(m);
    /* sessions mapped to model items, unknown clicks dropped */
    int64_t *off = malloc((size_t)(test->n_sessions + 1) * sizeof *off);
    int32_t *its = malloc((size_t)(test->n_events ? test->n_events : 1) * sizeof *its);
    float *scores = malloc((size_t)batch * (size_t)ni * sizeof *scores);
    int64_t *pos = malloc((size_t)batch * sizeof *pos), *end = malloc((size_t)batch * sizeof *end);
    int32_t *in = malloc((size_t)batch * sizeof *in);
    sr_scorer *sc = sr_scorer_new(m, batch);
    if (!off || !its || !scores || !pos || !end || !in || !sc)
        return -1;
    int64_t k = 0, ns = 0;
    for (int64_t s = 0; s < test->n_sessions; s++) {
        int64_t b = k;
        for (int64_t e = test->offsets[s]; e < test->offsets[s + 1]; e++) {
            int64_t ix = sr_model_item_index(m, test->item_ids[test->items[e]]);
            if (ix >= 0)
                its[k++] = (int32_t)ix;
        }
        if (k - b >= 2)
            off[ns++] = b;
        else
            k = b;
    }
    off[ns] = k;
    double t0 = sr_now();
    clock_t c0 = clock();
    int nact = 0;
    int64_t next = 0;
    double hits[2] = {0, 0}, rr[2] = {0, 0};
    for (;;) {
        /* fill free slots */
        while (nact < batch && next < ns) {
            sr_scorer_reset(sc, nact);
            pos[nact] = off[next];
            end[nact] = off[next + 1];
            nact++;
            next++;
        }
        if (nact == 0)
            break;
        for (int i = 0; i < nact; i++)
            in[i] = its[pos[i]];
        sr_scorer_step(sc, in, nact, scores);
        for (int i = 0; i < nact; i++) {
            const float *row = scores + (size_t)i * (size_t)ni;
            float t = row[its[pos[i] + 1]];
            int64_t higher = 0, equal = 0;
            for (int64_t j = 0; j < ni; j++) {
                higher += row[j] > t;
                equal += row[j] == t;
            }
            double rank[2] = {(double)(1 + higher), (double)(higher + equal)};
            for (int c = 0; c < 2; c++)
                if (rank[c] <= 20) {
                    hits[c] += 1;
                    rr[c] += 1.0 / rank[c];
                }
            r->n++;
            pos[i]++;
        }
        /* compact: drop finished slots by moving the last active one in */
        for (int i = 0; i < nact;) {
            if (pos[i] + 1 >= end[i]) {
                nact--;
                if (i != nact) {
                    sr_scorer_move(sc, i, nact);
                    pos[i] = pos[nact];
                    end[i] = end[nact];
                }
            } else {
                i++;
            }
        }
    }
    r->seconds = sr_now() - t0;
    r->cpu_seconds = (double)(clock() - c0) / CLOCKS_PER_SEC;
    for (int c = 0; c < 2; c++) {
        r->recall20[c] = r->n ? hits[c] / (double)r->n : 0;
        r->mrr20[c] = r->n ? rr[c] / (double)r->n : 0;
    }
    sr_scorer_free(sc);
    free(off);
    free(its);
    free(scores);
    free(pos);
    free(end);
    free(in);
    return 0;
}

#endif
