/*
 * loss.h - internal: the GRU4Rec losses over a score matrix, forward and
 * gradient with respect to the scores, in float (training) and double
 * (gradient checks). Pure functions: no I/O, no allocation.
 *
 * All take R (B, C) row-major scores and overwrite it IN PLACE with
 * scale * dLoss/dR; they return the summed loss of the B rows (double), or NaN
 * when a score is not finite (a diverged network). Row i's positive is column
 * tgt[i], or column i (the diagonal of in-batch scoring) when tgt is NULL.
 */
#ifndef SR_LOSS_H
#define SR_LOSS_H

#include <stdint.h>

/* cross-entropy: p = softmax(R[i] - off) (off (C) subtracted from every row,
 * the logq correction, or NULL); loss = -log(p[tgt] + 1e-24). With C = n_items
 * and tgt = the targets this is the full-softmax cross-entropy. */
double sr_loss_xe_f(float *R, int B, int64_t C, const int32_t *tgt, const float *off, float scale);
double sr_loss_xe_d(double *R, int B, int64_t C, const int32_t *tgt, const double *off, double scale);

/* bpr-max with the positive on the diagonal: o = ELU_elu(R) (identity when
 * elu <= 0), w = softmax of o over the row's negatives (diagonal excluded),
 * loss = -log(sum_j w_j sigmoid(o_i - o_j) + 1e-24) + bpreg sum_j w_j o_j^2.
 * tmp: (4C) scratch. A row with no negative (C == 1) has loss 0, gradient 0. */
double sr_loss_bprmax_f(float *R, int B, int64_t C, float elu, float bpreg, float scale, float *tmp);
double sr_loss_bprmax_d(double *R, int B, int64_t C, double elu, double bpreg, double scale, double *tmp);

/* The same over rows i0 .. i0+B-1 of a larger batch, R pointing at row i0:
 * the in-batch positive of local row i is column i0 + i (used when the rows of
 * a step are split between threads). */
double sr_loss_xe_at_f(float *R, int i0, int B, int64_t C, const int32_t *tgt, const float *off,
                       float scale);
double sr_loss_xe_at_d(double *R, int i0, int B, int64_t C, const int32_t *tgt, const double *off,
                       double scale);
double sr_loss_bprmax_at_f(float *R, int i0, int B, int64_t C, float elu, float bpreg, float scale,
                           float *tmp);
double sr_loss_bprmax_at_d(double *R, int i0, int B, int64_t C, double elu, double bpreg,
                           double scale, double *tmp);

#endif
