/*
 * blas.h - internal: scoped changes of OpenBLAS's thread count.
 *
 * OpenBLAS 0.3.21 (the version we build against) has only a process-wide
 * thread count (openblas_set_num_threads); the per-thread setting
 * (openblas_set_num_threads_local) arrived in 0.3.27. So the library changes
 * the global setting only inside a scope and puts it back on the way out:
 * after the outermost scope of the process ends, the count is the one the
 * program had before. Overlapping scopes on several threads share one count
 * (the latest entered, or the last restored, wins): that changes speed, and
 * the last bits of products whose partition depends on the thread count.
 */
#ifndef SR_BLAS_H
#define SR_BLAS_H

/* Sets OpenBLAS's thread count to n (>= 1) and returns the value to give to
 * sr_blas_threads_leave. Every enter is matched by one leave. */
int sr_blas_threads_enter(int n);
/* Ends the scope: restores `prev` when scopes are nested on this thread, and
 * the count from before the outermost scope when it was the last one. */
void sr_blas_threads_leave(int prev);

#endif
