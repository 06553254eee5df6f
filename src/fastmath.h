/*
 * fastmath.h - internal: branch-free float exp, sigmoid and tanh that GCC
 * vectorises (-O3 -march=native), for the hot loops of the GRU and the losses.
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
#include <string.h>

static inline float sr_fexpf(float x)
{
    /* exp(-87.3) is near the smallest normal float; below that the answer is 0. */
    float xc = x < -87.3f ? -87.3f : x;
    xc = xc > 88.3f ? 88.3f : xc;
    xc = xc == xc ? xc : 0.0f; /* NaN -> 0, result patched below */
    float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    float y = p * s;
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

#endif
