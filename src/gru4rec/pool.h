/*
 * pool.h - internal: a fixed team of T threads for the phases of one GRU4Rec
 * training step (fork-join, one barrier per phase). The caller is thread 0;
 * threads 1..T-1 are created once and kept, so that each phase's slice of
 * the work (e.g. a range of output rows) always lands on the same core and
 * stays in that core's cache from phase to phase and from step to step.
 *
 * A phase costs two atomic handshakes: waiting threads spin briefly, then
 * yield, then sleep on a condition variable (so an idle or overloaded machine
 * is not burnt by spinning). No allocation after grk_pool_new; never prints.
 */
#ifndef SR_GRU_POOL_H
#define SR_GRU_POOL_H

#include "sessrec.h"

#define GRK_MAX_THREADS 64

typedef struct grk_pool grk_pool;

/* fn(ctx, t, T) runs once for every t in [0, T). */
typedef void (*grk_task)(void *ctx, int t, int T);

/* Creates a team of T threads (1 <= T <= GRK_MAX_THREADS; T = 1 creates no
 * thread). Caller frees with grk_pool_free. */
sr_status grk_pool_new(grk_pool **out, int T, sr_error *err);
void grk_pool_free(grk_pool *p);
/* Threads of the team; 1 for a NULL pool. */
int grk_pool_threads(const grk_pool *p);
/* Runs fn on every thread of the team (thread 0 is the caller) and returns
 * when all are done: everything they wrote is then visible to the caller.
 * A NULL pool runs fn(ctx, 0, 1). Not reentrant: one run at a time. */
void grk_pool_run(grk_pool *p, grk_task fn, void *ctx);

/* [*a, *b) = the t-th of T near-equal slices of [0, n) (fixed for n, t, T). */
static inline void grk_slice(int64_t n, int t, int T, int64_t *a, int64_t *b)
{
    *a = n * t / T;
    *b = n * (t + 1) / T;
}

#endif
