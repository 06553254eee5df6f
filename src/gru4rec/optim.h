/*
 * optim.h - internal: the GRU4Rec optimizers over float arrays. Pure
 * functions: no allocation, no I/O.
 *
 * Adagrad with momentum (the official IndexedAdagradM):
 *   acc += g^2;  step = lr g / sqrt(acc + eps);  v = m v + step;  w -= v
 * (no momentum buffer when m == 0: w -= step).
 * Adam (torch.optim.Adam, t = 1-based step count):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * Lazy row-wise Adam for tables (torch.optim.SparseAdam):
 *   same moments on the touched rows only;
 *   w -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
 *
 * The *_rows variants update only the rows rows[k] of a (n_rows_total, cols)
 * table from a compact gradient g (n, cols), row k of g going to rows[k]; rows
 * must be distinct (the caller coalesces duplicates). rows == NULL means row k
 * is row k (every row touched). Untouched rows, and their optimizer state,
 * are not read or written.
 */
#ifndef SR_OPTIM_H
#define SR_OPTIM_H

#include <stddef.h>
#include <stdint.h>

void sr_adagrad_dense(float *w, float *acc, float *mom, const float *g, size_t n,
                      float lr, float momentum, float eps);
void sr_adagrad_rows(float *W, float *acc, float *mom, size_t cols, const int32_t *rows,
                     const float *g, size_t n, float lr, float momentum, float eps);

void sr_adam_dense(float *w, float *m, float *v, const float *g, size_t n, float lr,
                   float b1, float b2, float eps, int64_t t);
void sr_adam_rows(float *W, float *m, float *v, size_t cols, const int32_t *rows,
                  const float *g, size_t n, float lr, float b1, float b2, float eps, int64_t t);

#endif
