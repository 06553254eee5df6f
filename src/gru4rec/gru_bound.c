/*
 * gru_bound.c - bounds on GRU4Rec's output scores from an 8-bit sketch, so
 * that a server's top k needs the exact scores (gru_score.c) of only the few
 * items whose bounds reach the k-th best.
 *
 * The sketch: item i's row of Wy as q[i][k] = round(Wy[i][k] / s_i) in
 * -127..127, s_i = max_k |Wy[i][k]| / 127. A row of h as
 * u[k] = round((h[k] - m) / t) in 0..127, m = min h, t = (max h - m) / 127
 * (to nearest, ties either way).
 * With the integer D = sum_k u[k] q[i][k] (exact),
 *
 *     approx = By[i] + s_i (m Q_i + t D),   Q_i = sum_k q[i][k],
 *
 * is the score of the rounded row against the rounded weights. Writing
 * h = h~ + e (|e| <= t/2) and Wy = s q + f (|f| <= s_i/2):
 *
 *     score - approx = sum e[k] Wy[i][k] + sum h~[k] f[i][k]
 *     |score - approx| <= t/2 L1(Wy[i]) + s_i/2 L1(h~),
 *
 * plus the rounding of the float computations on both sides: the exact
 * score's (at most 2H roundings of partial sums bounded by
 * |By[i]| + max|h| L1(Wy[i])) and approx's and the bound's own (a few, of
 * numbers below |By[i]| + s_i 127 H (|m| + 127 t)). All of that is
 * A L1(Wy[i]) + B s_i + C_i for per-row constants A, B and a per-item C; the
 * radius of a row is that with each item's L1, s and C at their maximum over
 * all items, so one number per row bounds every item:
 *
 *     |score - approx| <= rad = A max L1 + B max s + max C,
 *
 * approx being the float written out (mid), and mid - rad, mid + rad in
 * float (rounded to nearest) bounds too: that rounding is in the allowance,
 * which has slack to spare (1.0001 on the halves, 1 + 2^-20 on rad; c =
 * 1.01 (2H + 16) 2^-24 per unit of magnitude).
 *
 * Per item, the same radius scaled: each of the three terms is at most its
 * maximum over items times
 *
 *     w_i = max(L1(Wy[i]) / max L1, s_i / max s, C_i / max C)   (<= 1)
 *
 * (a ratio 0 where its maximum is 0), so |score - approx| <= rad w_i, and
 * mid +- rad w_i in float (product and sum rounded, or fused) bound too:
 * w_i is stored rounded up by 1 + 2^-19, which covers the division's and
 * the product's roundings, and the sum's is the allowance's as above;
 * fl(rad w_i) <= rad, since w_i <= 1. The kernel still writes one mid per
 * score and a radius per row (the per-item radius written out spent a
 * third of the kernel's time on its epilogue and two stores); the caller
 * scales by w_i only the few items that matter (the band around the k-th
 * best: yoochoose1_64's L1 spans 7.7-29; 41 -> 32 items scored exactly per
 * row, measured in the server). The products: AVX2's VPMADDUBSW (unsigned 7-bit u x
 * signed 8-bit q, pairs summed in 16 bits: 2 * 127 * 127 < 32767, no
 * saturation) and VPMADDWD to 32 bits: one item's 4 dimensions per 32-bit
 * lane, 8 items per vector; 2x the multiply-adds per instruction of float FMAs and a quarter of
 * the bytes. Never allocates (but for the sketch), prints or exits.
 */
#include "gru4rec/gru_bound.h"
#include "gru4rec/gru_score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SR_BOUND_AVX2 1
#endif

#define IB 16 /* items per panel */

struct sr_gru_sketch {
    int64_t N, nb;   /* items, panels */
    int H, G;        /* dimensions; groups of 4 of them (H rounded up) */
    float c;         /* rounding allowance per unit of magnitude */
    int8_t *q;       /* (nb, G, 64): panel b, group g: items 0-7 x 4 dims, 8-15 x 4 */
    float *s;        /* (nb * 16) per item: scale s_i */
    float *qsum;     /* Q_i */
    float *l1;       /* L1(Wy[i]), rounded up */
    float *by;       /* By[i] (0 without biases) */
    float *w;        /* w_i, the item's share of a row's radius */
    float l1max, smax, cbmax; /* max L1(Wy[i]), max s_i, c max |By[i]| */
};

size_t sr_gru_sketch_row_bytes(int H)
{
    return (size_t)(H + 3) / 4 * 4;
}

static size_t round64(size_t n)
{
    return (n + 63) / 64 * 64;
}

sr_gru_sketch *sr_gru_sketch_new(const float *wy, const float *by, int64_t N, int H)
{
    const int G = (H + 3) / 4;
    const int64_t nb = (N + IB - 1) / IB;
    const size_t nq = round64((size_t)nb * (size_t)G * 64);
    const size_t nf = round64((size_t)nb * IB * sizeof(float));
    const size_t head = round64(sizeof(sr_gru_sketch));
    char *blk = aligned_alloc(64, head + nq + 5 * nf);
    if (!blk)
        return NULL;
    memset(blk, 0, head + nq + 5 * nf);
    sr_gru_sketch *k = (sr_gru_sketch *)blk;
    k->N = N;
    k->nb = nb;
    k->H = H;
    k->G = G;
    k->c = 1.01f * (float)(2 * H + 16) * 0x1p-24f;
    k->q = (int8_t *)(blk + head);
    float *f = (float *)(blk + head + nq);
    k->s = f;
    k->qsum = (float *)((char *)f + nf);
    k->l1 = (float *)((char *)f + 2 * nf);
    k->by = (float *)((char *)f + 3 * nf);
    k->w = (float *)((char *)f + 4 * nf);
    for (int64_t i = 0; i < N; i++) {
        const float *w = wy + (size_t)i * (size_t)H;
        float mx = 0;
        double l1 = 0;
        for (int d = 0; d < H; d++) {
            if (!isfinite(w[d])) {
                free(blk);
                return NULL;
            }
            mx = fmaxf(mx, fabsf(w[d]));
            l1 += fabsf(w[d]);
        }
        float b = by ? by[i] : 0.0f;
        if (!isfinite(b)) {
            free(blk);
            return NULL;
        }
        float s = mx / 127.0f, inv = s > 0 ? 1.0f / s : 0.0f;
        int qs = 0;
        int8_t *p = k->q + (size_t)(i / IB) * (size_t)G * 64 + (size_t)(i % IB / 8) * 32 +
                    (size_t)(i % 8) * 4;
        for (int d = 0; d < H; d++) {
            long v = lrintf(w[d] * inv);
            v = v > 127 ? 127 : v < -127 ? -127 : v;
            p[(size_t)(d / 4) * 64 + (size_t)(d % 4)] = (int8_t)v;
            qs += (int)v;
        }
        k->s[i] = s;
        k->qsum[i] = (float)qs;
        k->l1[i] = (float)(l1 * 1.0001);
        k->by[i] = b;
        k->l1max = fmaxf(k->l1max, k->l1[i]);
        k->smax = fmaxf(k->smax, s);
        k->cbmax = fmaxf(k->cbmax, k->c * fabsf(b));
    }
    for (int64_t i = 0; i < N; i++) {
        float w = k->l1max > 0 ? k->l1[i] / k->l1max : 0.0f;
        if (k->smax > 0)
            w = fmaxf(w, k->s[i] / k->smax);
        if (k->cbmax > 0)
            w = fmaxf(w, k->c * fabsf(k->by[i]) / k->cbmax);
        k->w[i] = fminf(1.0f, w * (1.0f + 0x1p-19f));
    }
    return k;
}

const float *sr_gru_sketch_weights(const sr_gru_sketch *k)
{
    return k->w;
}

void sr_gru_sketch_rows(const sr_gru_sketch *k, const float *h, int ldh, int n, uint8_t *hq,
                        float *rc)
{
    const int H = k->H;
    const size_t rb = sr_gru_sketch_row_bytes(H);
    for (int r = 0; r < n; r++) {
        const float *x = h + (size_t)r * (size_t)ldh;
        uint8_t *u = hq + (size_t)r * rb;
        float *c = rc + (size_t)r * SR_GRU_ROW_CONSTS;
        float m = x[0], M = x[0];
        double l1 = 0;
        int finite = 1;
        for (int d = 0; d < H; d++) { /* no fminf/fmaxf: library calls here */
            finite &= isfinite(x[d]) != 0;
            m = x[d] < m ? x[d] : m;
            M = x[d] > M ? x[d] : M;
            l1 += fabsf(x[d]);
        }
        float t = (M - m) / 127.0f;
        memset(u, 0, rb);
        if (!finite || !isfinite(t)) { /* no bounds: mid 0, radius infinite */
            c[0] = c[1] = c[3] = 0;
            c[2] = INFINITY;
            continue;
        }
        float inv = t > 0 ? 1.0f / t : 0.0f;
        for (int d = 0; d < H; d++) { /* to nearest (ties up): error <= t/2 */
            int v = (int)((x[d] - m) * inv + 0.5f);
            u[d] = (uint8_t)(v > 127 ? 127 : v < 0 ? 0 : v);
        }
        float maxh = fmaxf(fabsf(m), fabsf(M));
        float A = 0.5001f * t + k->c * maxh;
        float B = 0.5001f * ((float)(l1 * 1.0001) + 0.5001f * (float)H * t) +
                  k->c * 127.001f * (float)H * (fabsf(m) + 127.0f * t);
        c[0] = m;
        c[1] = t;
        c[2] = (A * k->l1max + B * k->smax + k->cbmax) * (1.0f + 0x1p-20f);
        c[3] = 0;
    }
}

#if defined(SR_BOUND_AVX2)
#define RM 6 /* rows per block: 12 accumulators, a broadcast, ones, a product */

/* One row's 4 dimensions against the panel's 16 items, into a0/a1. */
#define DOT_ROW(addr, a0, a1)                                                                     \
    "vpbroadcastd " addr ", %%ymm13\n\t"                                                          \
    "vpmaddubsw (%[p]), %%ymm13, %%ymm14\n\t"                                                     \
    "vpmaddubsw 32(%[p]), %%ymm13, %%ymm15\n\t"                                                   \
    "vpmaddwd %[one], %%ymm14, %%ymm14\n\t"                                                       \
    "vpmaddwd %[one], %%ymm15, %%ymm15\n\t"                                                       \
    "vpaddd %%ymm14, %[" a0 "], %[" a0 "]\n\t"                                                    \
    "vpaddd %%ymm15, %[" a1 "], %[" a1 "]\n\t"

/* Six rows' integer products with panel p: twelve accumulators, the
 * broadcast, two products and the ones in the 16 vector registers. Written
 * out because GCC hoists all six broadcasts and their products ahead and
 * spills the accumulators (1.3x slower measured). */
static inline __attribute__((always_inline)) void dot6(__m256i acc[RM][2], const int8_t *p,
                                                       const uint8_t *hq, size_t rb, int G,
                                                       __m256i ones)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256i a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const uint8_t *ha = hq, *hb = hq + 3 * rb; /* rows 0-2, 3-5 */
    for (int g = 0; g < G; g++, p += 64, ha += 4, hb += 4)
        __asm__(DOT_ROW("(%[ha])", "a0", "a1") DOT_ROW("(%[ha],%[rb],1)", "a2", "a3")
                DOT_ROW("(%[ha],%[rb],2)", "a4", "a5") DOT_ROW("(%[hb])", "a6", "a7")
                DOT_ROW("(%[hb],%[rb],1)", "a8", "a9") DOT_ROW("(%[hb],%[rb],2)", "a10", "a11")
                : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3), [a4] "+x"(a4),
                  [a5] "+x"(a5), [a6] "+x"(a6), [a7] "+x"(a7), [a8] "+x"(a8), [a9] "+x"(a9),
                  [a10] "+x"(a10), [a11] "+x"(a11)
                : [p] "r"(p), [ha] "r"(ha), [hb] "r"(hb), [rb] "r"(rb), [one] "x"(ones)
                : "xmm13", "xmm14", "xmm15", "memory");
    acc[0][0] = a0, acc[0][1] = a1, acc[1][0] = a2, acc[1][1] = a3, acc[2][0] = a4;
    acc[2][1] = a5, acc[3][0] = a6, acc[3][1] = a7, acc[4][0] = a8, acc[4][1] = a9;
    acc[5][0] = a10, acc[5][1] = a11;
}

/* R rows against panel b: the first ni of its 16 items' mid of row r at
 * mid + r * ldo. */
static inline __attribute__((always_inline)) void
block(const sr_gru_sketch *k, const uint8_t *hq, size_t rb, const float *rc, const int R,
      int64_t b, float *mid, int64_t ldo, int ni)
{
    const int8_t *p = k->q + (size_t)b * (size_t)k->G * 64;
    __m256i acc[RM][2];
    const __m256i ones = _mm256_set1_epi16(1);
    if (R == RM) {
        dot6(acc, p, hq, rb, k->G, ones);
    } else {
        for (int r = 0; r < R; r++)
            acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        for (int g = 0; g < k->G; g++) {
            __m256i w0 = _mm256_load_si256((const __m256i *)(p + (size_t)g * 64));
            __m256i w1 = _mm256_load_si256((const __m256i *)(p + (size_t)g * 64 + 32));
            for (int r = 0; r < R; r++) {
                int32_t x;
                memcpy(&x, hq + (size_t)r * rb + (size_t)g * 4, 4);
                __m256i hb = _mm256_set1_epi32(x);
                acc[r][0] = _mm256_add_epi32(
                    acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(hb, w0), ones));
                acc[r][1] = _mm256_add_epi32(
                    acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(hb, w1), ones));
            }
        }
    }
    const int64_t i = b * IB;
    for (int v = 0; v < 2; v++) {
        const __m256 s = _mm256_load_ps(k->s + i + 8 * v), qs = _mm256_load_ps(k->qsum + i + 8 * v);
        const __m256 by = _mm256_load_ps(k->by + i + 8 * v);
        for (int r = 0; r < R; r++) {
            const float *c = rc + (size_t)r * SR_GRU_ROW_CONSTS;
            __m256 a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][v]), _mm256_set1_ps(c[1]),
                                       _mm256_mul_ps(_mm256_set1_ps(c[0]), qs));
            __m256 ap = _mm256_fmadd_ps(a, s, by);
            float *o = mid + (size_t)r * (size_t)ldo + 8 * v;
            if (ni == IB) {
                _mm256_storeu_ps(o, ap);
            } else { /* the last panel: ni - 8 v of these 8 items exist */
                float t[8];
                _mm256_storeu_ps(t, ap);
                for (int j = 0; j < ni - 8 * v && j < 8; j++)
                    o[j] = t[j];
            }
        }
    }
}

#define PB 16 /* panels per block of columns: 16 * 1.6 KB at H = 100, in L1 */

static void bound_rows(const sr_gru_sketch *k, const uint8_t *hq, const float *rc, int n,
                       int64_t b0, int64_t b1, int64_t i0, float *mid, int64_t ldo)
{
    const size_t rb = sr_gru_sketch_row_bytes(k->H);
    for (int64_t c0 = b0; c0 < b1; c0 += PB) {
        int64_t c1 = c0 + PB < b1 ? c0 + PB : b1;
        for (int r0 = 0, R; r0 < n; r0 += R) {
            R = sr_gru_row_group(n - r0, RM);
            const uint8_t *h = hq + (size_t)r0 * rb;
            const float *c = rc + (size_t)r0 * SR_GRU_ROW_CONSTS;
            for (int64_t b = c0; b < c1; b++) {
                int64_t j = b * IB;
                int ni = k->N - j < IB ? (int)(k->N - j) : IB;
                float *o = mid + (size_t)r0 * (size_t)ldo + (size_t)(j - i0);
#define BLOCK(r) block(k, h, rb, c, r, b, o, ldo, ni)
                SR_GRU_BY_ROWS(R, RM, BLOCK)
#undef BLOCK
            }
        }
    }
}
#else
/* Row r's mid of item i from its integer product D. */
static inline float mid_one(const sr_gru_sketch *k, const float *c, int64_t i, int32_t D)
{
    return fmaf(fmaf((float)D, c[1], c[0] * k->qsum[i]), k->s[i], k->by[i]);
}

static void bound_rows(const sr_gru_sketch *k, const uint8_t *hq, const float *rc, int n,
                       int64_t b0, int64_t b1, int64_t i0, float *mid, int64_t ldo)
{
    const size_t rb = sr_gru_sketch_row_bytes(k->H);
    const int64_t i1 = b1 * IB < k->N ? b1 * IB : k->N;
    for (int r = 0; r < n; r++)
        for (int64_t i = b0 * IB; i < i1; i++) {
            const int8_t *p = k->q + (size_t)(i / IB) * (size_t)k->G * 64 +
                              (size_t)(i % IB / 8) * 32 + (size_t)(i % 8) * 4;
            int32_t D = 0;
            for (int d = 0; d < k->H; d++)
                D += (int32_t)hq[(size_t)r * rb + (size_t)d] * p[(size_t)(d / 4) * 64 + (size_t)(d % 4)];
            mid[(size_t)r * (size_t)ldo + (size_t)(i - i0)] =
                mid_one(k, rc + (size_t)r * SR_GRU_ROW_CONSTS, i, D);
        }
}
#endif

void sr_gru_bound_cols(const sr_gru_sketch *k, const uint8_t *hq, const float *rc, int n,
                       int64_t i0, int64_t i1, float *mid, int64_t ldo)
{
    if (i1 > k->N)
        i1 = k->N;
    if (n <= 0 || i0 >= i1)
        return;
    bound_rows(k, hq, rc, n, i0 / IB, (i1 + IB - 1) / IB, i0, mid, ldo);
    for (int r = 0; r < n; r++)
        if (rc[(size_t)r * SR_GRU_ROW_CONSTS + 2] == INFINITY) /* a row without bounds */
            memset(mid + (size_t)r * (size_t)ldo, 0, (size_t)(i1 - i0) * sizeof *mid);
}

float sr_gru_bound_radius(const float *rc, int r)
{
    return rc[(size_t)r * SR_GRU_ROW_CONSTS + 2];
}
