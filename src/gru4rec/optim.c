/*
 * optim.c - Adagrad with momentum and Adam (dense and sparse-row), see
 * optim.h. Must never allocate or touch a row it was not given.
 * Built with -fno-math-errno (Makefile): otherwise sqrtf keeps a scalar libm
 * fallback for errno and none of these loops is vectorised.
 */
#include "gru4rec/optim.h"

#include <math.h>

static void adagrad_span(float *restrict w, float *restrict acc, float *restrict mom,
                         const float *restrict g, size_t n, float lr, float momentum, float eps)
{
    if (mom) {
        for (size_t j = 0; j < n; j++) {
            acc[j] += g[j] * g[j];
            mom[j] = momentum * mom[j] + lr * g[j] / sqrtf(acc[j] + eps);
            w[j] -= mom[j];
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            acc[j] += g[j] * g[j];
            w[j] -= lr * g[j] / sqrtf(acc[j] + eps);
        }
    }
}

void sr_adagrad_dense(float *w, float *acc, float *mom, const float *g, size_t n,
                      float lr, float momentum, float eps)
{
    adagrad_span(w, acc, momentum > 0 ? mom : NULL, g, n, lr, momentum, eps);
}

/* Rows are scattered over a table far larger than the caches: fetch the
 * next rows while updating this one. */
#define PREFETCH_AHEAD 4
static void prefetch_row(const float *p, size_t cols)
{
#if defined(__GNUC__)
    for (size_t j = 0; j < cols; j += 16)
        __builtin_prefetch(p + j, 1);
#else
    (void)p, (void)cols;
#endif
}

void sr_adagrad_rows(float *W, float *acc, float *mom, size_t cols, const int32_t *rows,
                     const float *g, size_t n, float lr, float momentum, float eps)
{
    for (size_t k = 0; k < n; k++) {
        if (rows && k + PREFETCH_AHEAD < n) {
            size_t q = (size_t)rows[k + PREFETCH_AHEAD] * cols;
            prefetch_row(W + q, cols);
            prefetch_row(acc + q, cols);
            if (momentum > 0)
                prefetch_row(mom + q, cols);
        }
        size_t r = (rows ? (size_t)rows[k] : k) * cols;
        adagrad_span(W + r, acc + r, momentum > 0 ? mom + r : NULL, g + k * cols, cols, lr,
                     momentum, eps);
    }
}

void sr_adam_dense(float *restrict w, float *restrict m, float *restrict v,
                   const float *restrict g, size_t n, float lr, float b1, float b2, float eps,
                   int64_t t)
{
    double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
    float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2);
    for (size_t j = 0; j < n; j++) {
        m[j] = b1 * m[j] + (1 - b1) * g[j];
        v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
        w[j] -= step * m[j] / (sqrtf(v[j]) / bc2s + eps);
    }
}

void sr_adam_rows(float *W, float *M, float *V, size_t cols, const int32_t *rows,
                  const float *g, size_t n, float lr, float b1, float b2, float eps, int64_t t)
{
    double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
    float step = (float)(lr * sqrt(bc2) / bc1);
    for (size_t k = 0; k < n; k++) {
        if (rows && k + PREFETCH_AHEAD < n) {
            size_t q = (size_t)rows[k + PREFETCH_AHEAD] * cols;
            prefetch_row(W + q, cols);
            prefetch_row(M + q, cols);
            prefetch_row(V + q, cols);
        }
        size_t r = (rows ? (size_t)rows[k] : k) * cols;
        float *restrict w = W + r, *restrict m = M + r, *restrict v = V + r;
        const float *restrict gk = g + k * cols;
        for (size_t j = 0; j < cols; j++) {
            m[j] += (gk[j] - m[j]) * (1 - b1);
            v[j] += (gk[j] * gk[j] - v[j]) * (1 - b2);
            w[j] -= step * m[j] / (sqrtf(v[j]) + eps);
        }
    }
}
