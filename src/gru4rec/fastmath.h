/*
 * fastmath.h - internal: branch-free float exp, sigmoid and tanh that GCC
 * vectorises (-O3 -march=native), for the hot loops of the GRU and the losses.
 *
 * Also lane-parallel sum and max reductions: without -ffast-math the compiler
 * must keep a float sum's order and will not vectorise it, so they sum 16
 * interleaved partials (a fixed order: results stay deterministic).
 *
 * Accuracy: sr_fexpf is the Cephes expf polynomial (about 2 ulp); sigmoid is
 * 1/(1+exp(-x)); tanh uses an odd Taylor polynomial for |x| < 0.3 (relative
 * error < 1e-7) and 1 - 2/(exp(2x)+1) above. All three propagate NaN (so a
 * diverged network shows up as a NaN loss, as in the official code) and never
 * convert a NaN or out-of-range float to an integer (no UB).
 * Only used by the float instantiations; the double ones (gradient checks)
 * call libm.
 */
#ifndef SR_FASTMATH_H
#define SR_FASTMATH_H

#include <stdint.h>

static inline float sr_fexpf(float x)
{
    /* exp(-87.3) is near the smallest normal float; below that the answer is 0. */
    float xc = x < -87.3f ? -87.3f : x;
    xc = xc > 88.3f ? 88.3f : xc;
    xc = xc == xc ? xc : 0.0f; /* NaN -> 0, result patched below */
    /* round to nearest without a libm call: adding 1.5 * 2^23 pushes the
     * fraction out of the mantissa (|x log2 e| < 2^22; no -ffast-math here,
     * so the compiler keeps the two additions) */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } s = {.i = ((int32_t)n + 127) * (1 << 23)};   /* 2^n (C11 type punning) */
    float y = p * s.f;
    y = x < -87.3f ? 0.0f : y;
    return x == x ? y : x;
}

static inline float sr_fsigmoidf(float x)
{
    return 1.0f / (1.0f + sr_fexpf(-x));
}

static inline float sr_ftanhf(float x)
{
    float ax = x < 0 ? -x : x;
    /* large |x|: 1 - 2/(exp(2|x|)+1), exact to float rounding away from 0 */
    float big = 1.0f - 2.0f / (sr_fexpf(2.0f * ax) + 1.0f);
    big = x < 0 ? -big : big;
    /* small |x|: x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 */
    float x2 = x * x;
    float small = x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f +
                      x2 * (-0.0539682540f + x2 * 0.0218694885f))));
    float y = ax < 0.3f ? small : big;
    return x == x ? y : x;
}

#define SR_LANES 16

/* sum of x[0..n) over SR_LANES interleaved partial sums */
static inline float sr_fsumf(const float *x, int64_t n)
{
    float part[SR_LANES] = {0};
    int64_t j = 0;
    for (; j + SR_LANES <= n; j += SR_LANES)
        for (int k = 0; k < SR_LANES; k++)
            part[k] += x[j + k];
    for (int k = 0; j + k < n; k++)
        part[k] += x[j + k];
    float s = 0;
    for (int k = 0; k < SR_LANES; k++)
        s += part[k];
    return s;
}

/* max of x[0..n), n >= 1; NaN-blind (callers check finiteness by a sum) */
static inline float sr_fmaxf(const float *x, int64_t n)
{
    float part[SR_LANES];
    for (int k = 0; k < SR_LANES; k++)
        part[k] = x[0];
    int64_t j = 0;
    for (; j + SR_LANES <= n; j += SR_LANES)
        for (int k = 0; k < SR_LANES; k++)
            part[k] = x[j + k] > part[k] ? x[j + k] : part[k];
    for (int k = 0; j + k < n; k++)
        part[k] = x[j + k] > part[k] ? x[j + k] : part[k];
    float m = part[0];
    for (int k = 1; k < SR_LANES; k++)
        m = part[k] > m ? part[k] : m;
    return m;
}

#endif
