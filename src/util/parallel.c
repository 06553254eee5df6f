/*
 * parallel.c - sr_parallel_for (see parallel.h): a fan-out over pthreads with
 * tasks handed out by one atomic counter. Threads are started per call: the
 * library's fan-outs are few and coarse (milliseconds to seconds a task), so
 * a pool would buy nothing and add shutdown rules.
 * Must never: print, exit, fail (a missing thread only means less
 * parallelism), or call fn twice for one task.
 */
#define _POSIX_C_SOURCE 200809L
#include "util/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Threads started without a heap allocation; more need a malloc (and when
 * that fails, this many are used). */
#define PAR_STACK_THREADS 64

typedef struct par_job {
    sr_task_fn fn;
    void *ud;
    int n_tasks;
    atomic_int next;
} par_job;

typedef struct par_worker {
    par_job *job;
    int thread;
} par_worker;

static void par_run(par_job *j, int thread)
{
    for (;;) {
        int task = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (task >= j->n_tasks)
            return;
        j->fn(task, thread, j->ud);
    }
}

static void *par_main(void *arg)
{
    par_worker *w = arg;
    par_run(w->job, w->thread);
    return NULL;
}

void sr_parallel_for(int n_tasks, int threads, sr_task_fn fn, void *ud)
{
    if (n_tasks <= 0)
        return;
    if (threads > n_tasks)
        threads = n_tasks;
    if (threads <= 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(t, 0, ud);
        return;
    }
    par_job job = {fn, ud, n_tasks, 0};
    atomic_init(&job.next, 0);
    pthread_t tid_stack[PAR_STACK_THREADS];
    par_worker wk_stack[PAR_STACK_THREADS];
    pthread_t *tid = tid_stack;
    par_worker *wk = wk_stack;
    void *heap = NULL;
    if (threads > PAR_STACK_THREADS) {
        heap = malloc((size_t)threads * (sizeof *tid + sizeof *wk));
        if (heap) {
            tid = heap;
            wk = (par_worker *)(tid + threads);
        } else {
            threads = PAR_STACK_THREADS;
        }
    }
    /* Started threads get the indices 1..started; a failed start leaves its
     * share to the others. pthread_create orders the caller's writes before
     * the thread; pthread_join orders the thread's writes before the return. */
    int started = 0;
    for (int t = 1; t < threads; t++) {
        wk[started + 1] = (par_worker){&job, started + 1};
        if (pthread_create(&tid[started], NULL, par_main, &wk[started + 1]) == 0)
            started++;
    }
    par_run(&job, 0);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    free(heap);
}
