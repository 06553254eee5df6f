/*
 * pool.h - internal: a fixed team of T threads for the phases of one GRU4Rec
 * training step (fork-join, one barrier per phase). The caller is one of the
 * team; the other T-1 threads are created once and kept. A phase is T items
 * (e.g. T slices of the output rows); the threads claim them from one atomic
 * ticket, the caller first, so on a quiet machine each item usually runs on
 * the same core phase after phase, and on a busy one a thread that is not
 * scheduled costs nothing (the others take its items).
 *
 * A phase costs a few atomic operations: waiting threads spin briefly, then
 * yield, then sleep on a condition variable (so an idle or overloaded machine
 * is not burnt by spinning). No allocation after grk_pool_new; never prints.
 */
#ifndef SR_GRU_POOL_H
#define SR_GRU_POOL_H

#include "sessrec.h"

#define GRK_MAX_THREADS 64

typedef struct grk_pool grk_pool;

/* fn(ctx, k, T) runs once for every item k in [0, T), on any thread of the
 * team: an item's work must depend on k only, never on the thread. */
typedef void (*grk_task)(void *ctx, int t, int T);

/* Creates a team of T threads (1 <= T <= GRK_MAX_THREADS; T = 1 creates no
 * thread). Caller frees with grk_pool_free. */
sr_status grk_pool_new(grk_pool **out, int T, sr_error *err);
void grk_pool_free(grk_pool *p);
/* Threads of the team; 1 for a NULL pool. */
int grk_pool_threads(const grk_pool *p);
/* Runs the T items of fn on the team (the caller takes part) and returns
 * when all are done: everything they wrote is then visible to the caller.
 * A NULL pool (or T = 1) runs fn(ctx, 0, 1). Not reentrant: one run at a time. */
void grk_pool_run(grk_pool *p, grk_task fn, void *ctx);
/* The same with n items (1 <= n <= 4095): fn(ctx, k, n) for every k in
 * [0, n); a NULL pool runs them in order. More items than threads balance
 * uneven work (a thread that is done claims the next item). */
void grk_pool_run_n(grk_pool *p, grk_task fn, void *ctx, int n);

/* [*a, *b) = the t-th of T near-equal slices of [0, n) (fixed for n, t, T). */
static inline void grk_slice(int64_t n, int t, int T, int64_t *a, int64_t *b)
{
    *a = n * t / T;
    *b = n * (t + 1) / T;
}

#endif
