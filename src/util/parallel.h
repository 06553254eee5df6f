/*
 * parallel.h - the library's one parallel-for. Every fan-out of the library
 * (prepare's passes, evaluation shares, reader pieces, synth's block counts,
 * the split writer's CRC, the reader's chunk read-ahead) runs through
 * sr_parallel_for; nothing else starts threads except synth's ordered writer,
 * a pipeline whose comment (data/synth.c, phase 2) says why.
 * Nothing here prints, exits or allocates per task.
 */
#ifndef SR_PARALLEL_H
#define SR_PARALLEL_H

/* One task: `task` in [0, n_tasks) says what to do; `thread` in [0, threads)
 * names the thread running it (0 = the caller), for per-thread scratch: no
 * two tasks run at the same time with the same `thread`. */
typedef void (*sr_task_fn)(int task, int thread, void *ud);

/* Runs fn(task, thread, ud) once for every task in [0, n_tasks), on at most
 * `threads` threads (the calling thread is one of them; threads < 1 counts as
 * 1, more than n_tasks as n_tasks), and returns when all are done. Threads
 * take the next task in index order as they become free, so a thread that a
 * busy machine slows down simply runs fewer tasks; WHICH thread runs a task is
 * unspecified, so results must depend on the task index only (then they are
 * the same for any thread count).
 * Fallback: a thread that cannot be started (pthread_create fails) is simply
 * not there; its tasks run on the threads that are, in the worst case all
 * inline on the calling thread, one after another in index order. So fn must
 * never wait for another task (use a pipeline for that, not this).
 * Memory: everything the caller wrote before the call is visible to every
 * task, and everything the tasks wrote is visible to the caller afterwards. */
void sr_parallel_for(int n_tasks, int threads, sr_task_fn fn, void *ud);

#endif
