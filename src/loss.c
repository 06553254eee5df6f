/*
 * loss.c - cross-entropy (sampled, with logq; or full softmax) and bpr-max
 * (with ELU and bpreg) over score matrices; see loss.h. The bodies live in
 * loss_impl.h, compiled once for float (fast vectorisable exp) and once for
 * double (libm, for the finite-difference gradient checks).
 * Must never allocate, print or touch anything but its arguments.
 */
#include "loss.h"
#include "fastmath.h"

#include <math.h>

#define REAL float
#define FN(name) name##_f
#define EXP(x) sr_fexpf(x)
#define SIGM(x) sr_fsigmoidf(x)
#include "loss_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef SIGM

#define REAL double
#define FN(name) name##_d
#define EXP(x) exp(x)
#define SIGM(x) (1.0 / (1.0 + exp(-(x))))
#include "loss_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef SIGM
