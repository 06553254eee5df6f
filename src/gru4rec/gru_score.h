/*
 * gru_score.h - internal: GRU4Rec's output layer for small batches of
 * sessions (serving), from Wy laid out in panels. See gru_score.c.
 */
#ifndef SR_GRU_SCORE_H
#define SR_GRU_SCORE_H

#include <stddef.h>
#include <stdint.h>

/* Floats of the panel layout of an (N, H) Wy, and the layout itself:
 * ceil(N / 16) panels of (H, 16), items past N zero. */
size_t sr_gru_panel_count(int64_t N, int H);
void sr_gru_panel_wy(float *wyp, const float *wy, int64_t N, int H);
/* The panels of the m listed rows of wy (item j of the panels = row items[j]):
 * sr_gru_score_cols over them gives each listed item the same score, bit for
 * bit, as over the whole of Wy. */
void sr_gru_panel_wy_items(float *wyp, const float *wy, const int32_t *items, int m, int H);
/* One row h's scores of the m listed items, from Wy as it is (N, H), without
 * panels: the same numbers, bit for bit, as the kernel below gives them (the
 * same sum in the same order, compiled with the same flags). For a few items,
 * e.g. a top k's candidates. */
void sr_gru_score_list(float *out, const float *h, const float *wy, const float *by,
                       const int32_t *items, int m, int H);
/* scores (n, N) = h (n, H; row stride ldh) Wy^T + by (N; NULL = zeros), Wy
 * given in the panel layout. */
void sr_gru_score_rows(float *scores, const float *h, int ldh, int n, const float *wyp,
                       const float *by, int64_t N, int H);
/* The same for the items [i0, i1) only: row r's score of item i0 + j at
 * out[r * ldo + j] (ldo >= i1 - i0): i0 a multiple of SR_GRU_PANEL, i1 one
 * too or >= N. Every score is the same number as sr_gru_score_rows gives,
 * whatever the range and n, so threads may split the items between them. */
#define SR_GRU_PANEL 16
void sr_gru_score_cols(float *out, int64_t ldo, const float *h, int ldh, int n,
                       const float *wyp, const float *by, int64_t N, int H, int64_t i0,
                       int64_t i1);

/* For the kernels here and in gru_bound.c, blocks of up to RM rows: the
 * rows of the next group when `left` are left (RM at a time, the last RM+1 ..
 * 2RM-1 as two near-equal groups, not RM and a short one: a 1-row group runs
 * few independent chains), and a call of BLOCK(r) with r the group's row
 * count as a constant (the accumulators stay in registers only then). */
static inline int sr_gru_row_group(int left, int rm)
{
    return left <= rm ? left : left < 2 * rm ? (left + 1) / 2 : rm;
}
#define SR_GRU_BY_ROWS(R, RM, BLOCK)                                                             \
    switch (R) {                                                                                 \
    case 1: BLOCK(1); break;                                                                     \
    case 2: BLOCK(2); break;                                                                     \
    case 3: BLOCK(3); break;                                                                     \
    case 4: BLOCK(4); break;                                                                     \
    case 5: BLOCK(5); break;                                                                     \
    default: BLOCK(RM); break;                                                                   \
    }

#endif
