/* test_util.c - internal helpers: CRC-32, hash map, RNG, atomic writes,
 * the parallel-for. */
#include "test.h"
#include "util/parallel.h"
#include "util/util.h"

#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

static void test_crc32_known_value(void)
{
    /* The standard check value of CRC-32/IEEE. */
    CHECK_EQ_INT(sr_crc32(0, "123456789", 9), 0xCBF43926u);
    /* Incremental = one shot. */
    CHECK_EQ_INT(sr_crc32(sr_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void test_map_put_get_grow(void)
{
    sr_map m = {0};
    for (int i = 0; i < 10000; i++)
        CHECK_EQ_INT(sr_map_put(&m, (int64_t)i * 7919 + 214000000, i), i);
    CHECK_EQ_INT(m.n, 10000);
    CHECK_EQ_INT(sr_map_put(&m, 214000000, 99), 0); /* existing key keeps its value */
    CHECK_EQ_INT(sr_map_get(&m, 5 * 7919 + 214000000), 5);
    CHECK_EQ_INT(sr_map_get(&m, 3), -1);
    sr_map_free(&m);
}

static void test_rng_deterministic_and_uniform(void)
{
    sr_rng a, b;
    sr_rng_seed(&a, 42);
    sr_rng_seed(&b, 42);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = sr_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        sum += u;
        CHECK(sr_rng_next(&b) >> 11 == (uint64_t)(u * 0x1.0p53));
    }
    CHECK_NEAR(sum / 100000, 0.5, 0.01);
}

static void test_atomic_write_and_abort(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/a.bin", test_tmpdir());
    sr_error err;
    CHECK(sr_write_file_atomic(path, "hello", 5, &err) == SR_OK);
    FILE *f = fopen(path, "rb");
    char buf[8] = {0};
    CHECK(f && fread(buf, 1, 8, f) == 5 && !memcmp(buf, "hello", 5));
    if (f) fclose(f);
    sr_atomic a;
    CHECK(sr_atomic_open(&a, path, &err) == SR_OK);
    fputs("partial", a.f);
    sr_atomic_abort(&a);
    f = fopen(path, "rb");
    CHECK(f && fread(buf, 1, 8, f) == 5 && !memcmp(buf, "hello", 5)); /* old content intact */
    if (f) fclose(f);
    CHECK(access(a.tmp, F_OK) != 0);                                  /* temp file gone */
    CHECK(sr_write_file_atomic("/nonexistent-dir/x", "a", 1, &err) == SR_ERR_IO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x") != NULL);
    unlink(path);
    rmdir(test_tmpdir());
}

static void test_put_u64(void)
{
    char b[32];
    *sr_put_u64(b, 0) = 0;
    CHECK(!strcmp(b, "0"));
    *sr_put_u64(b, 214536502) = 0;
    CHECK(!strcmp(b, "214536502"));
    char *e = sr_put_u64(b, UINT64_MAX);
    *e = 0;
    CHECK(!strcmp(b, "18446744073709551615") && e - b == 20);
}

/* ---- sr_parallel_for ---- */

#define PF_MAX_TASKS 1000
#define PF_MAX_THREADS 128

typedef struct pf_rec {
    int threads;                          /* as passed (the bound on `thread`) */
    atomic_int runs[PF_MAX_TASKS];        /* times each task ran */
    int thread_of[PF_MAX_TASKS];
    atomic_int busy[PF_MAX_THREADS];      /* 1 while a task runs with that `thread` */
    atomic_int overlap;                   /* a `thread` index used by two tasks at once */
    atomic_int bad_thread;                /* a `thread` outside [0, threads) */
    atomic_int order_pos;
    int order[PF_MAX_TASKS];              /* task indices in the order they started */
} pf_rec;

static void pf_task(int task, int thread, void *ud)
{
    pf_rec *r = ud;
    if (thread < 0 || thread >= (r->threads > 1 ? r->threads : 1) || thread >= PF_MAX_THREADS) {
        atomic_store(&r->bad_thread, 1);
        return;
    }
    if (atomic_exchange(&r->busy[thread], 1) != 0)
        atomic_store(&r->overlap, 1);
    r->order[atomic_fetch_add(&r->order_pos, 1)] = task;
    r->thread_of[task] = thread;
    atomic_fetch_add(&r->runs[task], 1);
    volatile unsigned x = 0; /* a little work, so that tasks overlap */
    for (int i = 0; i < 2000 + (task % 7) * 500; i++)
        x += (unsigned)i;
    atomic_store(&r->busy[thread], 0);
}

static pf_rec *pf_run(int n_tasks, int threads)
{
    pf_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->threads = threads;
    sr_parallel_for(n_tasks, threads, pf_task, r);
    return r;
}

static void test_parallel_for_runs_every_task_once(void)
{
    const int cases[][2] = {{1, 1}, {7, 2}, {2, 7}, {1000, 4}, {1000, 100}, {300, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n = cases[c][0], th = cases[c][1];
        pf_rec *r = pf_run(n, th);
        CHECK(r != NULL);
        if (!r)
            return;
        int once = 1;
        for (int t = 0; t < n; t++)
            once &= atomic_load(&r->runs[t]) == 1;
        CHECK_MSG(once, "n_tasks %d threads %d: a task ran twice or never", n, th);
        CHECK_MSG(!atomic_load(&r->bad_thread), "n_tasks %d threads %d: thread index out of range",
                  n, th);
        CHECK_MSG(!atomic_load(&r->overlap), "n_tasks %d threads %d: two tasks shared a thread index",
                  n, th);
        CHECK_EQ_INT(atomic_load(&r->order_pos), n);
        free(r);
    }
}

static void test_parallel_for_one_thread_is_inline_in_order(void)
{
    for (int th = -1; th <= 1; th++) {
        pf_rec *r = pf_run(50, th);
        CHECK(r != NULL);
        if (!r)
            return;
        int in_order = 1, on_caller = 1;
        for (int t = 0; t < 50; t++) {
            in_order &= r->order[t] == t;
            on_caller &= r->thread_of[t] == 0;
        }
        CHECK_MSG(in_order && on_caller, "threads %d: not inline in index order", th);
        free(r);
    }
    pf_rec *r = pf_run(0, 4); /* no tasks: fn never called */
    CHECK(r && atomic_load(&r->order_pos) == 0);
    free(r);
}

/* Two tasks that each wait (up to 10 s) until both have started: they can only
 * both see the other when they really run at the same time. */
typedef struct pf_meet {
    atomic_int arrived;
    int saw_other[2];
} pf_meet;

static void pf_meet_task(int task, int thread, void *ud)
{
    (void)thread;
    pf_meet *m = ud;
    atomic_fetch_add(&m->arrived, 1);
    double t0 = sr_now();
    while (atomic_load(&m->arrived) < 2 && sr_now() - t0 < 10.0)
        sched_yield();
    m->saw_other[task] = atomic_load(&m->arrived) == 2;
}

static void test_parallel_for_runs_concurrently(void)
{
    pf_meet m = {0, {0, 0}};
    sr_parallel_for(2, 2, pf_meet_task, &m);
    CHECK(m.saw_other[0] && m.saw_other[1]);
}

int main(void)
{
    RUN(test_parallel_for_runs_every_task_once);
    RUN(test_parallel_for_one_thread_is_inline_in_order);
    RUN(test_parallel_for_runs_concurrently);
    RUN(test_put_u64);
    RUN(test_crc32_known_value);
    RUN(test_map_put_get_grow);
    RUN(test_rng_deterministic_and_uniform);
    RUN(test_atomic_write_and_abort);
    return test_summary();
}
