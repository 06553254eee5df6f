/*
 * pool.c - the fork-join team of a training step (see pool.h).
 *
 * A run publishes a ticket (generation, item count, next item) in one atomic
 * word; every thread of the team, the caller included, claims items from it
 * with compare-and-swap until none is left, and counts the items it finished.
 * The caller returns once all items are finished. So a thread that the
 * operating system has not scheduled yet costs nothing: the others take its
 * items (on an overloaded machine the step degrades to the speed of one
 * thread, not below). Which thread runs an item never changes a result: an
 * item always does the same work into the same buffers.
 *
 * Must never print, exit, or allocate outside grk_pool_new.
 */
#define _POSIX_C_SOURCE 200809L
#include "gru4rec/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* Busy polls before yielding, and yields before sleeping. A step's phases are
 * tens of microseconds apart, so the spin covers them on a quiet machine; the
 * yields and the sleep keep a loaded one usable. */
#define SPIN_POLLS 4000
#define YIELD_POLLS 50

/* ticket: generation (bits 24..63), item count (12..23), next item (0..11) */
#define T_GEN(x) ((x) >> 24)
#define T_N(x) (((x) >> 12) & 0xfff)
#define T_NEXT(x) ((x) & 0xfff)

struct grk_pool {
    int T;
    int started;                      /* threads created (the caller counts as one) */
    pthread_t th[GRK_MAX_THREADS];
    _Atomic uint64_t ticket;
    _Atomic(grk_task) fn;
    _Atomic(void *) ctx;
    _Atomic int finished;             /* items finished in this run */
    _Atomic int sleepers;             /* threads waiting on `wake` */
    _Atomic int caller_sleeps;
    _Atomic int quit;
    pthread_mutex_t mu;
    pthread_cond_t wake, fin;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs items of the ticket's run until none is left (or the run
 * is over). */
static void work(grk_pool *p)
{
    uint64_t t = atomic_load(&p->ticket);
    for (;;) {
        if (T_NEXT(t) >= T_N(t))
            return;
        grk_task fn = atomic_load(&p->fn);
        void *ctx = atomic_load(&p->ctx);
        /* fn and ctx were read after the ticket: if they belong to a later run,
         * this ticket is stale and the exchange fails */
        if (!atomic_compare_exchange_weak(&p->ticket, &t, t + 1))
            continue;
        int k = (int)T_NEXT(t), n = (int)T_N(t);
        fn(ctx, k, n);
        if (atomic_fetch_add(&p->finished, 1) + 1 == n && atomic_load(&p->caller_sleeps)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->fin);
            pthread_mutex_unlock(&p->mu);
        }
        t = atomic_load(&p->ticket);
    }
}

/* Waits for a generation other than `seen`: spin, yield, then sleep. The
 * sleeper count and the ticket are sequentially consistent, so a publisher
 * either sees the sleeper or the sleeper sees the new ticket (no lost
 * wake-up); the same holds for `finished` and `caller_sleeps`. */
static uint64_t wait_gen(grk_pool *p, uint64_t seen)
{
    uint64_t t;
    for (int i = 0; i < SPIN_POLLS; i++) {
        if (T_GEN(t = atomic_load(&p->ticket)) != seen)
            return T_GEN(t);
        cpu_relax();
    }
    for (int i = 0; i < YIELD_POLLS; i++) {
        if (T_GEN(t = atomic_load(&p->ticket)) != seen)
            return T_GEN(t);
        sched_yield();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (T_GEN(t = atomic_load(&p->ticket)) == seen)
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return T_GEN(t);
}

static void *worker(void *a)
{
    grk_pool *p = a;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_gen(p, seen);
        if (atomic_load(&p->quit))
            return NULL;
        work(p);
    }
}

int grk_pool_threads(const grk_pool *p) { return p ? p->T : 1; }

/* A new ticket for n items (0: wake everyone for nothing, e.g. to quit). */
static void publish(grk_pool *p, int n)
{
    uint64_t t = atomic_load(&p->ticket);
    atomic_store(&p->ticket, ((T_GEN(t) + 1) << 24) | ((uint64_t)n << 12));
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
}

void grk_pool_free(grk_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->quit, 1);
    publish(p, 0);
    for (int t = 1; t < p->started; t++)
        pthread_join(p->th[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->fin);
    free(p);
}

sr_status grk_pool_new(grk_pool **out, int T, sr_error *err)
{
    *out = NULL;
    if (T < 1 || T > GRK_MAX_THREADS)
        return sr_error_set(err, SR_ERR_ARG, "gru4rec: %d training threads (1 to %d supported)",
                            T, GRK_MAX_THREADS);
    grk_pool *p = calloc(1, sizeof *p);
    if (!p)
        return sr_error_set(err, SR_ERR_NOMEM, "gru4rec: out of memory for the thread team");
    p->T = T;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->fin, NULL);
    p->started = 1;
    for (int t = 1; t < T; t++) {
        if (pthread_create(&p->th[t], NULL, worker, p) != 0) {
            grk_pool_free(p);
            return sr_error_set(err, SR_ERR_NOMEM, "gru4rec: cannot start training thread %d of %d",
                                t + 1, T);
        }
        p->started++;
    }
    *out = p;
    return SR_OK;
}

void grk_pool_run(grk_pool *p, grk_task fn, void *ctx)
{
    grk_pool_run_n(p, fn, ctx, grk_pool_threads(p));
}

void grk_pool_run_n(grk_pool *p, grk_task fn, void *ctx, int n)
{
    if (!p || p->T == 1) {
        for (int k = 0; k < n; k++)
            fn(ctx, k, n);
        return;
    }
    atomic_store(&p->fn, fn);
    atomic_store(&p->ctx, ctx);
    atomic_store(&p->finished, 0);
    publish(p, n);
    work(p);
    for (int i = 0; i < SPIN_POLLS; i++) {
        if (atomic_load(&p->finished) == n)
            return;
        cpu_relax();
    }
    for (int i = 0; i < YIELD_POLLS; i++) {
        if (atomic_load(&p->finished) == n)
            return;
        sched_yield();
    }
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_sleeps, 1);
    while (atomic_load(&p->finished) != n)
        pthread_cond_wait(&p->fin, &p->mu);
    atomic_store(&p->caller_sleeps, 0);
    pthread_mutex_unlock(&p->mu);
}
