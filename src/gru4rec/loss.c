/*
 * loss.c - cross-entropy (sampled, with logq; or full softmax) and bpr-max
 * (with ELU and bpreg) over score matrices; see loss.h. The bodies live in
 * loss_impl.h, compiled once for float (fast vectorisable exp) and once for
 * double (libm, for the finite-difference gradient checks).
 * Must never allocate, print or touch anything but its arguments.
 */
#include "gru4rec/loss.h"
#include "gru4rec/fastmath.h"

#include <math.h>
#include <stddef.h>

static double sum_d(const double *x, int64_t n)
{
    double s = 0;
    for (int64_t j = 0; j < n; j++)
        s += x[j];
    return s;
}

static double max_d(const double *x, int64_t n)
{
    double m = x[0];
    for (int64_t j = 1; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

#define REAL float
#define FN(name) name##_f
#define EXP(x) sr_fexpf(x)
#define SIGM(x) sr_fsigmoidf(x)
#define VSUM(x, n) sr_fsumf(x, n)
#define VMAX(x, n) sr_fmaxf(x, n)
#include "gru4rec/loss_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef SIGM
#undef VSUM
#undef VMAX

#define REAL double
#define FN(name) name##_d
#define EXP(x) exp(x)
#define SIGM(x) (1.0 / (1.0 + exp(-(x))))
#define VSUM(x, n) sum_d(x, n)
#define VMAX(x, n) max_d(x, n)
#include "gru4rec/loss_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef SIGM
#undef VSUM
#undef VMAX
