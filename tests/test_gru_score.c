/*
 * test_gru_score.c - GRU4Rec's serving kernel (gru4rec/gru_score.c): scores
 * against a double-precision reference, and each row's scores the same
 * numbers, bit for bit, whatever the batch size, the row's place in the batch
 * (every row-group shape of the kernel), the item range and the output stride;
 * and sr_gru_score_list's scores of listed items the kernel's numbers too.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "gru4rec/gru_score.h"
#include "util/util.h"

#include <stdint.h>

enum { N = 531, H = 37, MAXN = 25 }; /* N: not a multiple of the panel width */

static float wy[N * H], by[N], h[MAXN * H];

static void fill(void)
{
    sr_rng r;
    sr_rng_seed(&r, 3);
    for (int i = 0; i < N * H; i++)
        wy[i] = sr_rng_uniformf(&r) - 0.5f;
    for (int i = 0; i < N; i++)
        by[i] = 0.1f * (sr_rng_uniformf(&r) - 0.5f);
    for (int i = 0; i < MAXN * H; i++)
        h[i] = 2.0f * sr_rng_uniformf(&r) - 1.0f;
}

static void test_scores_match_a_reference(void)
{
    fill();
    float *wyp = malloc(sr_gru_panel_count(N, H) * sizeof *wyp);
    float *s = malloc((size_t)MAXN * N * sizeof *s);
    sr_gru_panel_wy(wyp, wy, N, H);
    sr_gru_score_rows(s, h, H, MAXN, wyp, by, N, H);
    double worst = 0;
    for (int r = 0; r < MAXN; r++)
        for (int i = 0; i < N; i++) {
            double ref = by[i];
            for (int k = 0; k < H; k++)
                ref += (double)h[r * H + k] * wy[i * H + k];
            double e = fabs(ref - s[(size_t)r * N + i]);
            worst = e > worst ? e : worst;
        }
    CHECK_MSG(worst < 1e-5, "worst error %g", worst);
    /* without biases */
    sr_gru_score_rows(s, h, H, 1, wyp, NULL, N, H);
    double ref = 0;
    for (int k = 0; k < H; k++)
        ref += (double)h[k] * wy[(N - 1) * H + k];
    CHECK(fabs(ref - s[N - 1]) < 1e-5);
    free(wyp);
    free(s);
}

static void test_a_row_scores_the_same_in_any_batch(void)
{
    fill();
    float *wyp = malloc(sr_gru_panel_count(N, H) * sizeof *wyp);
    float *one = malloc((size_t)MAXN * N * sizeof *one);
    float *got = malloc((size_t)MAXN * N * sizeof *got);
    sr_gru_panel_wy(wyp, wy, N, H);
    for (int r = 0; r < MAXN; r++) /* each row alone */
        sr_gru_score_rows(one + (size_t)r * N, h + r * H, H, 1, wyp, by, N, H);
    int bad = 0;
    for (int n = 1; n <= MAXN; n++) { /* every remainder of every row grouping */
        sr_gru_score_rows(got, h, H, n, wyp, by, N, H);
        if (memcmp(got, one, (size_t)n * N * sizeof *got) != 0 && bad++ < 3)
            fprintf(stderr, "  batch of %d differs from its rows alone\n", n);
    }
    CHECK_EQ_INT(bad, 0);
    /* item ranges into a narrow buffer (stride 70 for 64 items, the last range ragged) */
    enum { W = 64, LDO = 70 };
    float buf[MAXN * LDO];
    for (int64_t i0 = 0; i0 < N; i0 += W) {
        int64_t i1 = i0 + W < N ? i0 + W : N;
        sr_gru_score_cols(buf, LDO, h, H, MAXN, wyp, by, N, H, i0, i1);
        for (int r = 0; r < MAXN; r++)
            if (memcmp(buf + r * LDO, one + (size_t)r * N + i0, (size_t)(i1 - i0) * sizeof *buf))
                bad++;
    }
    CHECK_EQ_INT(bad, 0);
    free(wyp);
    free(one);
    free(got);
}

/* Listed items (every item, out of order, repeated, lists of 1..9 so that
 * every tail of its 8 chains runs), with and without biases: the kernel's
 * numbers, bit for bit. */
static void test_listed_items_score_as_the_kernel(void)
{
    fill();
    float *wyp = malloc(sr_gru_panel_count(N, H) * sizeof *wyp);
    float *all = malloc((size_t)N * sizeof *all), *got = malloc((size_t)N * sizeof *got);
    int32_t *items = malloc((size_t)N * sizeof *items);
    sr_gru_panel_wy(wyp, wy, N, H);
    int bad = 0;
    for (int r = 0; r < 3; r++)
        for (int b = 0; b < 2; b++) {
            const float *bias = b ? by : NULL;
            sr_gru_score_rows(all, h + r * H, H, 1, wyp, bias, N, H);
            for (int j = 0; j < N; j++)
                items[j] = (int32_t)((j * 7 + r) % N); /* 7 and N coprime: every item */
            items[N - 1] = items[0];                   /* and a repeat */
            sr_gru_score_list(got, h + r * H, wy, bias, items, N, H);
            for (int j = 0; j < N; j++)
                bad += memcmp(&got[j], &all[items[j]], sizeof *got) != 0;
            for (int m = 1; m <= 9; m++) {
                sr_gru_score_list(got, h + r * H, wy, bias, items + 100, m, H);
                for (int j = 0; j < m; j++)
                    bad += memcmp(&got[j], &all[items[100 + j]], sizeof *got) != 0;
            }
        }
    CHECK_EQ_INT(bad, 0);
    free(wyp);
    free(all);
    free(got);
    free(items);
}

int main(void)
{
    RUN(test_scores_match_a_reference);
    RUN(test_a_row_scores_the_same_in_any_batch);
    RUN(test_listed_items_score_as_the_kernel);
    return test_summary();
}
