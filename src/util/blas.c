/*
 * blas.c - scoped OpenBLAS thread counts (see blas.h): the library leaves the
 * process-wide setting as it found it. Never prints.
 */
#include "util/blas.h"

#include <cblas.h>
#include <pthread.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_depth;    /* open scopes in the process */
static int g_outer;    /* the count before the outermost scope */

int sr_blas_threads_enter(int n)
{
    pthread_mutex_lock(&g_lock);
    int prev = openblas_get_num_threads();
    if (g_depth++ == 0)
        g_outer = prev;
    openblas_set_num_threads(n < 1 ? 1 : n);
    pthread_mutex_unlock(&g_lock);
    return prev;
}

void sr_blas_threads_leave(int prev)
{
    pthread_mutex_lock(&g_lock);
    openblas_set_num_threads(--g_depth == 0 ? g_outer : prev);
    pthread_mutex_unlock(&g_lock);
}
