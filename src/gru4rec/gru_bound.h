/*
 * gru_bound.h - internal: cheap lower and upper bounds on GRU4Rec's output
 * scores, from an 8-bit sketch of Wy. See gru_bound.c.
 */
#ifndef SR_GRU_BOUND_H
#define SR_GRU_BOUND_H

#include <stddef.h>
#include <stdint.h>

/* Wy (N, H) and By (N, or NULL) sketched: each item's row as 8-bit integers
 * with a scale of its own, plus what the bounds need of the item. One block,
 * released with free(). */
typedef struct sr_gru_sketch sr_gru_sketch;

/* NULL when out of memory or when a weight or bias is not finite. */
sr_gru_sketch *sr_gru_sketch_new(const float *wy, const float *by, int64_t N, int H);

/* Bytes of one row's quantized state (hq) and floats of its constants (rc)
 * that sr_gru_sketch_rows writes for sr_gru_bound_cols. */
size_t sr_gru_sketch_row_bytes(int H);
#define SR_GRU_ROW_CONSTS 4

/* Quantizes the rows h (n, H; row stride ldh) to hq (n, row_bytes) and
 * rc (n, SR_GRU_ROW_CONSTS). */
void sr_gru_sketch_rows(const sr_gru_sketch *k, const float *h, int ldh, int n, uint8_t *hq,
                        float *rc);

/* For the items [i0, i1) (i0 a multiple of 16; i1 one too, or >= N) of the
 * rows quantized in hq/rc: mid[r * ldo + j] for item i0 + j, such that
 * mid - rad w <= score <= mid + rad w, rad = sr_gru_bound_radius(rc, r),
 * w = sr_gru_sketch_weights(k)[i0 + j] (in [0, 1]; w = 1 holds too) and
 * the products and sums in float (or fused), where score is the number
 * sr_gru_score_cols gives (the float sum By[i] + sum_k h[r][k] Wy[i][k] in
 * its order, fused or not). About half the time of the scores themselves.
 * A row that is not finite gets mid 0 and an infinite radius. */
void sr_gru_bound_cols(const sr_gru_sketch *k, const uint8_t *hq, const float *rc, int n,
                       int64_t i0, int64_t i1, float *mid, int64_t ldo);
float sr_gru_bound_radius(const float *rc, int r);
/* Each item's share w of a row's radius (N). */
const float *sr_gru_sketch_weights(const sr_gru_sketch *k);

#endif
