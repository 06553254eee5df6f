/*
 * pool.c - the fork-join team of a training step (see pool.h). Threads 1..T-1
 * wait for a new generation number, run the task, and count themselves done.
 * Must never print, exit, or allocate outside grk_pool_new.
 */
#define _POSIX_C_SOURCE 200809L
#include "gru4rec/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Busy polls before yielding, and yields before sleeping. A step's phases are
 * tens of microseconds apart, so the spin covers them on a quiet machine; the
 * yields and the sleep keep a loaded one usable. */
#define SPIN_POLLS 4000
#define YIELD_POLLS 200

struct grk_pool {
    int T;
    pthread_t th[GRK_MAX_THREADS];
    int started;                      /* threads created */
    _Atomic unsigned gen;             /* bumped by the caller for each run */
    _Atomic int done;                 /* threads 1..T-1 finished this run */
    _Atomic int sleepers;             /* threads waiting on `wake` */
    _Atomic int quit;
    grk_task fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t wake, fin;
    _Atomic int caller_sleeps;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until the generation differs from old: spin, yield, then sleep on
 * `wake`. The sleeper count and the generation are both sequentially
 * consistent, so a publisher either sees the sleeper or the sleeper sees the
 * new generation (no lost wake-up); the same holds for `done`/`caller_sleeps`. */
static unsigned wait_gen(grk_pool *p, unsigned old)
{
    for (int i = 0; i < SPIN_POLLS; i++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != old)
            return g;
        cpu_relax();
    }
    for (int i = 0; i < YIELD_POLLS; i++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != old)
            return g;
        sched_yield();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&p->gen)) == old)
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

typedef struct start_arg {
    grk_pool *p;
    int t;
} start_arg;

static void *worker(void *a)
{
    start_arg *sa = a;
    grk_pool *p = sa->p;
    int t = sa->t;
    free(sa);
    unsigned seen = 0;
    for (;;) {
        seen = wait_gen(p, seen);
        if (atomic_load(&p->quit))
            return NULL;
        p->fn(p->ctx, t, p->T);
        if (atomic_fetch_add(&p->done, 1) + 1 == p->T - 1 &&
            atomic_load(&p->caller_sleeps)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->fin);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

int grk_pool_threads(const grk_pool *p) { return p ? p->T : 1; }

static void publish(grk_pool *p)
{
    atomic_fetch_add(&p->gen, 1);
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
    publish(p);
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
        start_arg *sa = malloc(sizeof *sa);
        if (!sa || (sa->p = p, sa->t = t, pthread_create(&p->th[t], NULL, worker, sa) != 0)) {
            free(sa);
            p->T = p->started; /* the threads that exist */
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
    if (!p || p->T == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    publish(p);
    fn(ctx, 0, p->T);
    int want = p->T - 1;
    for (int i = 0; i < SPIN_POLLS; i++) {
        if (atomic_load_explicit(&p->done, memory_order_acquire) == want)
            return;
        cpu_relax();
    }
    for (int i = 0; i < YIELD_POLLS; i++) {
        if (atomic_load_explicit(&p->done, memory_order_acquire) == want)
            return;
        sched_yield();
    }
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_sleeps, 1);
    while (atomic_load(&p->done) != want)
        pthread_cond_wait(&p->fin, &p->mu);
    atomic_store(&p->caller_sleeps, 0);
    pthread_mutex_unlock(&p->mu);
}
