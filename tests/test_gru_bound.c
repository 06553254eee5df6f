/*
 * test_gru_bound.c - the 8-bit sketch's score bounds (gru4rec/gru_bound.c):
 * for every row and item, mid - rad w <= the serving kernel's score <= mid +
 * rad w (w the item's weight; in float), including rows and items built so
 * that every quantization error points the same way (the bound's worst case,
 * tight to within its slack, for items of weight 1 and less),
 * rows at the integer products' extremes (no 16-bit saturation), constant and
 * zero rows, large biases, and an item count and width off the kernel's
 * blocks; the radius small enough to be of use; the same mids whatever the
 * item range; no bounds from weights or rows that are not finite.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "gru4rec/gru_bound.h"
#include "gru4rec/gru_score.h"
#include "util/util.h"

#include <math.h>
#include <stdint.h>

enum { N = 1003, H = 37, R = 14 }; /* N, H: off the 16-item panels, 4-dim groups */

static float wy[N * H], by[N], h[R * H];

static void fill(float bias_scale)
{
    sr_rng g;
    sr_rng_seed(&g, 11);
    for (int i = 0; i < N * H; i++)
        wy[i] = 0.3f * (sr_rng_uniformf(&g) - 0.5f);
    for (int d = 0; d < H; d++) { /* item 0: all at +max, item 1: all at -max */
        wy[d] = 0.15f;
        wy[H + d] = -0.15f;
        wy[2 * H + d] = 0.0f; /* item 2: zeros */
    }
    for (int i = 0; i < N; i++)
        by[i] = bias_scale * (sr_rng_uniformf(&g) - 0.5f);
    for (int i = 0; i < R * H; i++)
        h[i] = 2.0f * sr_rng_uniformf(&g) - 1.0f;
    float *x;
    x = h + 1 * H; /* all at the top of the range but one at the bottom */
    for (int d = 0; d < H; d++)
        x[d] = d == 0 ? -1.0f : 1.0f;
    x = h + 2 * H; /* constant */
    for (int d = 0; d < H; d++)
        x[d] = 0.375f;
    x = h + 3 * H; /* zeros */
    for (int d = 0; d < H; d++)
        x[d] = 0.0f;
    /* rows 4 and 5: every value but two a hair from a half step of the row's
     * 7-bit grid, near 0 (so the rounding errors, about t/2 each, all point
     * one way and the row's L1 is small); item 0 has all weights at +max.
     * The error of row 4 or 5 with item 0 then nearly fills the radius. */
    for (int r = 4; r <= 5; r++) {
        x = h + r * H;
        for (int d = 0; d < H; d++)
            x[d] = d == 0 ? -1.0f : d == 1 ? 1.0f : -1.0f + (2.0f / 127.0f) * (r == 4 ? 63.4999f : 63.5001f);
    }
    /* rows 7 and 8 and items 3 and 4: the weights' half steps instead. Items
     * 3, 4: one weight at +max (the grid 0.15 / 127), the others a hair from a
     * half step of it; rows 7, 8: all near 1 (their own grid fine), so the
     * weight rounding, s/2 each, all one way, fills the radius */
    for (int d = 0; d < H; d++) {
        float st = 0.15f / 127.0f;
        wy[3 * H + d] = d == 0 ? 0.15f : st * (float)(d % 50) + st * 0.4999f;
        wy[4 * H + d] = d == 0 ? 0.15f : st * (float)(d % 50) + st * 0.5001f;
        h[7 * H + d] = 1.0f - 1e-4f * (float)(d % 2);
        h[8 * H + d] = 1.0f - 1e-4f * (float)(d % 2);
    }
    /* items 5 and 6: items 3 and 0 at half the size (the same integers, every
     * error halved), no bias: half the weight, and still filling their radius */
    for (int d = 0; d < H; d++) {
        wy[5 * H + d] = 0.5f * wy[3 * H + d];
        wy[6 * H + d] = 0.5f * wy[d];
    }
    by[3] = by[4] = by[5] = by[6] = 0; /* their weights not the bias ratio */
    /* item 7: the largest weight of all, so that item 0's weight is its L1's
     * ratio (1) rather than its scale's (1/2) */
    for (int d = 0; d < H; d++)
        wy[7 * H + d] = d == 0 ? 0.3f : 0.0f;
    /* item 8: a bias of 100 and weights so small that against rows 7 and 8
     * (all near 1) the kernel's running sum never leaves 100 while approx
     * lands an ulp above it: only the bias term of its radius covers that */
    for (int d = 0; d < H; d++)
        wy[8 * H + d] = 2e-7f;
    by[8] = bias_scale > 0 ? 100.0f : 0.0f;
    x = h + 6 * H; /* large and narrow: a range far from zero */
    for (int d = 0; d < H; d++)
        x[d] = 1000.0f + 0.001f * (float)d;
}

/* Checks every row's bounds against the kernel's scores; returns the worst
 * ratio rad / (the row's score range), for the usefulness check. */
static double check_rows(const sr_gru_sketch *k, int *bad)
{
    float *wyp = malloc(sr_gru_panel_count(N, H) * sizeof *wyp);
    float *s = malloc((size_t)R * N * sizeof *s), *mid = malloc((size_t)R * N * sizeof *mid);
    uint8_t *hq = malloc((size_t)R * sr_gru_sketch_row_bytes(H));
    float rc[R * SR_GRU_ROW_CONSTS];
    sr_gru_panel_wy(wyp, wy, N, H);
    sr_gru_score_rows(s, h, H, R, wyp, by, N, H);
    sr_gru_sketch_rows(k, h, H, R, hq, rc);
    sr_gru_bound_cols(k, hq, rc, R, 0, N, mid, N);
    const float *w = sr_gru_sketch_weights(k);
    for (int i = 0; i < N; i++)
        if (!(w[i] >= 0 && w[i] <= 1))
            (*bad)++;
    double worst = 0;
    for (int r = 0; r < R; r++) {
        const float rad = sr_gru_bound_radius(rc, r);
        float lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < N; i++) {
            float sc = s[(size_t)r * N + i], m = mid[(size_t)r * N + i];
            float rw = rad * w[i];
            if (!(m - rw <= sc && sc <= m + rw && m - rad <= sc && sc <= m + rad) &&
                (*bad)++ < 5)
                fprintf(stderr, "  row %d item %d: score %.9g outside %.9g +- %.9g\n", r, i, sc,
                        m, rw);
            lo = fminf(lo, sc);
            hi = fmaxf(hi, sc);
        }
        if (hi > lo && rad / (hi - lo) > worst)
            worst = rad / (hi - lo);
    }
    /* the same mids for any item range (rows of 48: 3 panels, the last ragged) */
    float part[R * 48];
    for (int64_t i0 = 0; i0 < N; i0 += 48) {
        int64_t i1 = i0 + 48 < N ? i0 + 48 : N;
        sr_gru_bound_cols(k, hq, rc, R, i0, i1, part, 48);
        for (int r = 0; r < R; r++)
            if (memcmp(part + r * 48, mid + (size_t)r * N + i0, (size_t)(i1 - i0) * sizeof *part))
                (*bad)++;
    }
    free(wyp);
    free(s);
    free(mid);
    free(hq);
    return worst;
}

static void test_bounds_hold(void)
{
    const float scales[] = {0.1f, 1000.0f}; /* small and large biases */
    for (int b = 0; b < 2; b++) {
        fill(scales[b]);
        sr_gru_sketch *k = sr_gru_sketch_new(wy, by, N, H);
        CHECK(k != NULL);
        if (!k)
            return;
        int bad = 0;
        double worst = check_rows(k, &bad);
        CHECK_EQ_INT(bad, 0);
        /* of use: the band is a small part of a row's spread of scores (the
         * constant row 2 aside: its spread is the biases') */
        if (b == 0)
            CHECK_MSG(worst < 0.25, "radius %.3g of a row's score range", worst);
        free(k);
    }
    /* no biases */
    fill(0);
    sr_gru_sketch *k = sr_gru_sketch_new(wy, NULL, N, H);
    CHECK(k != NULL);
    int bad = 0;
    if (k)
        check_rows(k, &bad);
    CHECK_EQ_INT(bad, 0);
    free(k);
}

/* The worst cases are tight: rows 4 and 5 with item 0 (the row's rounding)
 * and rows 7 and 8 with items 3 and 4 (the weights' rounding) use most of
 * the radius (item 0 of weight 1, by its L1; 3 and 4 of weight 1/2, by
 * their scale), and the same with items 6 and 5 of half their weight, so a
 * radius built on a smaller half step (or without either term), or a weight
 * short of either ratio, fails test_bounds_hold. */
static void test_worst_cases_are_tight(void)
{
    fill(0.1f);
    sr_gru_sketch *k = sr_gru_sketch_new(wy, by, N, H);
    float *wyp = malloc(sr_gru_panel_count(N, H) * sizeof *wyp);
    float *s = malloc((size_t)R * N * sizeof *s), *mid = malloc((size_t)R * N * sizeof *mid);
    float rc[R * SR_GRU_ROW_CONSTS];
    uint8_t hq[R * 40];
    CHECK(sr_gru_sketch_row_bytes(H) <= 40);
    sr_gru_panel_wy(wyp, wy, N, H);
    sr_gru_score_rows(s, h, H, R, wyp, by, N, H);
    sr_gru_sketch_rows(k, h, H, R, hq, rc);
    sr_gru_bound_cols(k, hq, rc, R, 0, N, mid, N);
    const float *w = sr_gru_sketch_weights(k);
    /* item 0 by its L1 (the largest), 3 and 4 by their scale (half item 7's) */
    CHECK(w[0] == 1 && w[3] > 0.5f && w[3] < 0.5001f && w[4] == w[3]);
    CHECK(w[5] > 0.25f && w[5] < 0.25001f && w[6] > 0.5f && w[6] < 0.5001f);
    const int pairs[][2] = {{4, 0}, {5, 0}, {7, 3}, {8, 4}, {4, 6}, {5, 6}, {7, 5}};
    for (int p = 0; p < 7; p++) {
        int r = pairs[p][0], i = pairs[p][1];
        double e = fabs((double)s[r * N + i] - mid[r * N + i]);
        double used = e / ((double)sr_gru_bound_radius(rc, r) * w[i]);
        CHECK_MSG(used > 0.85 && used <= 1, "row %d item %d uses %.3f of the radius", r, i, used);
    }
    free(wyp);
    free(s);
    free(mid);
    free(k);
}

static void test_not_finite(void)
{
    fill(0.1f);
    float keep = wy[5 * H + 3];
    wy[5 * H + 3] = NAN;
    CHECK(sr_gru_sketch_new(wy, by, N, H) == NULL);
    wy[5 * H + 3] = keep;
    by[7] = INFINITY;
    CHECK(sr_gru_sketch_new(wy, by, N, H) == NULL);
    by[7] = 0;
    sr_gru_sketch *k = sr_gru_sketch_new(wy, by, N, H);
    h[3] = NAN;
    h[H + 5] = INFINITY;
    uint8_t hq[R * 40];
    float rc[R * SR_GRU_ROW_CONSTS], mid[R * 16];
    sr_gru_sketch_rows(k, h, H, R, hq, rc);
    sr_gru_bound_cols(k, hq, rc, R, 0, 16, mid, 16);
    CHECK(isinf(sr_gru_bound_radius(rc, 0)) && isinf(sr_gru_bound_radius(rc, 1)));
    CHECK(isfinite(sr_gru_bound_radius(rc, 2)));
    CHECK(mid[0] == 0 && mid[16] == 0);
    free(k);
}

int main(void)
{
    RUN(test_bounds_hold);
    RUN(test_worst_cases_are_tight);
    RUN(test_not_finite);
    return test_summary();
}
