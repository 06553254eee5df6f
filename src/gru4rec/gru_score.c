/*
 * gru_score.c - the output layer of GRU4Rec for a few sessions at a time:
 * scores (n, N) = h (n, H) Wy^T + By, from Wy laid out once per scorer in
 * panels of 16 items (each panel (H, 16), contiguous). Serving scores small batches (1 to 32 rows) against all items; for
 * those OpenBLAS spends most of its time packing Wy (7 MB at yoochoose1_64's
 * size) on every call, while this loop streams the panels once per call and keeps
 * the rows' accumulators in registers. Each score is By[i] + sum over k in
 * order of h[r][k] * Wy[i][k] (fused where the CPU can), the same number
 * whatever the batch. Built with -ffp-contract=fast (Makefile). Never
 * allocates, prints or exits.
 */
#include "gru4rec/gru_score.h"

#include <math.h>
#include <string.h>
#if defined(__FMA__)
#include <immintrin.h>
#endif

#define IB SR_GRU_PANEL /* items per panel: two 8-float vectors */

size_t sr_gru_panel_count(int64_t N, int H)
{
    return (size_t)((N + IB - 1) / IB) * (size_t)H * IB;
}

/* Panel b holds items [16b, 16b + 16) as (H, 16): one contiguous 6.4 KB read per
 * panel at H = 100; items past n are zero. Item i is row items[i] of wy, or
 * row i when items is NULL. */
static void panel_rows(float *wyp, const float *wy, const int32_t *items, int64_t n, int H)
{
    int64_t nb = (n + IB - 1) / IB;
    for (int64_t b = 0; b < nb; b++)
        for (int k = 0; k < H; k++)
            for (int j = 0; j < IB; j++) {
                int64_t i = b * IB + j;
                size_t row = (size_t)(items && i < n ? items[i] : i);
                wyp[((size_t)b * (size_t)H + (size_t)k) * IB + (size_t)j] =
                    i < n ? wy[row * (size_t)H + (size_t)k] : 0.0f;
            }
}

void sr_gru_panel_wy(float *wyp, const float *wy, int64_t N, int H)
{
    panel_rows(wyp, wy, NULL, N, H);
}

void sr_gru_panel_wy_items(float *wyp, const float *wy, const int32_t *items, int m, int H)
{
    panel_rows(wyp, wy, items, m, H);
}

#if defined(__GNUC__)
typedef float v8f __attribute__((vector_size(32)));

/* no function takes or returns a vector: that would be an ABI question on
 * targets without AVX (-Wpsabi) */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v))

/* Rows per block: 6 rows x 16 items is 12 accumulators, 2 panel vectors and
 * a broadcast: 15 of AVX2's 16 vector registers. Twelve independent FMA chains
 * hide the FMA latency that 4 x 16 (8 chains for 2 FMA units of latency 4)
 * could not: 1.25x at 37 rows, 1.5x at 20, measured alone. */
#define RM 6

/* R rows (R <= RM) of h against panel p (IB items, their biases by or NULL);
 * writes the first `ni` of the IB scores of row r at o + r * ldo. */
static inline __attribute__((always_inline)) void
block(float *o, int64_t ldo, const float *h, int ldh, const int R, const float *p,
      const float *by, int H, int ni)
{
    v8f acc[RM][2], b0, b1;
    if (by && ni == IB) {
        LOAD8(b0, by);
        LOAD8(b1, by + 8);
    } else {
        float bb[IB] = {0};
        if (by)
            memcpy(bb, by, (size_t)ni * sizeof *bb);
        LOAD8(b0, bb);
        LOAD8(b1, bb + 8);
    }
    for (int r = 0; r < R; r++) {
        acc[r][0] = b0;
        acc[r][1] = b1;
    }
    for (int k = 0; k < H; k++) {
        v8f w0, w1;
        LOAD8(w0, p + (size_t)k * IB);
        LOAD8(w1, p + (size_t)k * IB + 8);
#if defined(__x86_64__) && defined(__AVX__)
        /* keep the panel's two vectors in registers: otherwise the compiler
         * folds the loads into every row's FMA (2R loads instead of 2 per k,
         * load-bound; 1.3-1.5x slower measured at 16-64 rows) */
        __asm__("" : "+x"(w0), "+x"(w1));
#endif
        for (int r = 0; r < R; r++) {
            float x = h[(size_t)r * (size_t)ldh + (size_t)k];
            v8f xv = {x, x, x, x, x, x, x, x};
#if defined(__FMA__)
            /* fused, spelled out: contraction alone does not fuse at -O1 */
            acc[r][0] = (v8f)_mm256_fmadd_ps((__m256)xv, (__m256)w0, (__m256)acc[r][0]);
            acc[r][1] = (v8f)_mm256_fmadd_ps((__m256)xv, (__m256)w1, (__m256)acc[r][1]);
#else
            acc[r][0] += xv * w0;
            acc[r][1] += xv * w1;
#endif
        }
    }
    for (int r = 0; r < R; r++) {
        float *or = o + (size_t)r * (size_t)ldo;
        if (ni == IB) {
            memcpy(or, &acc[r][0], sizeof acc[r][0]);
            memcpy(or + 8, &acc[r][1], sizeof acc[r][1]);
        } else {
            float t[IB];
            memcpy(t, &acc[r][0], sizeof acc[r][0]);
            memcpy(t + 8, &acc[r][1], sizeof acc[r][1]);
            memcpy(or, t, (size_t)ni * sizeof *or);
        }
    }
}

/* Panels in blocks of PB (PB * 16 items * H floats: 100 KB at H = 100, in L2):
 * every row group reads a block from L2 rather than from memory, and a row
 * group's scores of a block (6 rows * 1 KB) stay in L1. */
#define PB 16

void sr_gru_score_cols(float *out, int64_t ldo, const float *h, int ldh, int n,
                       const float *wyp, const float *by, int64_t N, int H, int64_t i0,
                       int64_t i1)
{
    int64_t nb = (N + IB - 1) / IB;
    int64_t b0 = i0 / IB, b1 = i1 >= N ? nb : i1 / IB;
    for (int64_t c0 = b0; c0 < b1; c0 += PB) {
        int64_t c1 = c0 + PB < b1 ? c0 + PB : b1;
        for (int r0 = 0, R; r0 < n; r0 += R) {
            R = sr_gru_row_group(n - r0, RM);
            const float *hr = h + (size_t)r0 * (size_t)ldh;
            float *sr = out + (size_t)r0 * (size_t)ldo;
            for (int64_t b = c0; b < c1; b++) {
                const float *p = wyp + (size_t)b * (size_t)H * IB;
                int64_t j0 = b * IB;
                int ni = N - j0 < IB ? (int)(N - j0) : IB;
                float *o = sr + (j0 - i0);
                const float *bj = by ? by + j0 : NULL;
#define BLOCK(r) block(o, ldo, hr, ldh, r, p, bj, H, ni)
                SR_GRU_BY_ROWS(R, RM, BLOCK)
#undef BLOCK
            }
        }
    }
}
#else
void sr_gru_score_cols(float *out, int64_t ldo, const float *h, int ldh, int n,
                       const float *wyp, const float *by, int64_t N, int H, int64_t i0,
                       int64_t i1)
{
    if (i1 > N)
        i1 = N;
    for (int r = 0; r < n; r++)
        for (int64_t i = i0; i < i1; i++) {
            const float *p = wyp + (size_t)(i / IB) * (size_t)H * IB + (size_t)(i % IB);
            float acc = by ? by[i] : 0.0f;
            for (int k = 0; k < H; k++)
                acc += h[(size_t)r * (size_t)ldh + (size_t)k] * p[(size_t)k * IB];
            out[(size_t)r * (size_t)ldo + (size_t)(i - i0)] = acc;
        }
}
#endif

void sr_gru_score_list(float *out, const float *h, const float *wy, const float *by,
                       const int32_t *items, int m, int H)
{
    enum { L = 8 }; /* items at once: independent chains, as the kernel's lanes */
    for (int j0 = 0; j0 < m; j0 += L) {
        const int nl = m - j0 < L ? m - j0 : L;
        const float *w[L];
        float acc[L];
        for (int t = 0; t < L; t++) {
            int32_t i = items[j0 + (t < nl ? t : 0)];
            w[t] = wy + (size_t)i * (size_t)H;
            acc[t] = by ? by[i] : 0.0f;
        }
        for (int k = 0; k < H; k++)
            for (int t = 0; t < L; t++)
#if defined(__FMA__)
                /* fused, as the kernel's lanes; left to contraction, GCC
                 * vectorises this over k as products and an in-order sum of
                 * them (two roundings per step) */
                acc[t] = fmaf(h[k], w[t][k], acc[t]);
#else
                acc[t] += h[k] * w[t][k];
#endif
        memcpy(out + j0, acc, (size_t)nl * sizeof *acc);
    }
}

void sr_gru_score_rows(float *scores, const float *h, int ldh, int n, const float *wyp,
                       const float *by, int64_t N, int H)
{
    sr_gru_score_cols(scores, N, h, ldh, n, wyp, by, N, H, 0, N);
}
