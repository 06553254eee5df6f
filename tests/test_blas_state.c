/*
 * test_blas_state.c - the library leaves OpenBLAS's process-wide thread count
 * as it found it: sr_train_gru (with and without validation) and sr_evaluate
 * (single and several threads, two calls at once) restore the count the
 * program had set, while training really runs at its `threads` setting; and
 * the scope helpers of util/blas.h nest.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "util/blas.h"
#include "util/util.h"

#include <cblas.h>
#include <pthread.h>

#define N_ITEMS 30

static void make_split(sr_split *s, int n_sessions, uint64_t seed)
{
    sr_rng rng;
    sr_rng_seed(&rng, seed);
    memset(s, 0, sizeof *s);
    s->n_items = N_ITEMS;
    s->item_ids = malloc((size_t)N_ITEMS * sizeof *s->item_ids);
    for (int i = 0; i < N_ITEMS; i++)
        s->item_ids[i] = 100 + i;
    s->n_sessions = n_sessions;
    s->offsets = malloc((size_t)(n_sessions + 1) * sizeof *s->offsets);
    s->session_ids = malloc((size_t)n_sessions * sizeof *s->session_ids);
    s->items = malloc((size_t)n_sessions * 8 * sizeof *s->items);
    s->times = malloc((size_t)n_sessions * 8 * sizeof *s->times);
    int64_t e = 0;
    for (int k = 0; k < n_sessions; k++) {
        s->offsets[k] = e;
        s->session_ids[k] = k + 1;
        int len = 2 + (int)(sr_rng_next(&rng) % 7);
        int it = (int)(sr_rng_next(&rng) % N_ITEMS);
        for (int t = 0; t < len; t++) {
            s->items[e] = it;
            s->times[e] = (e + 1) * 1000000;
            e++;
            it = (it * 7 + 3) % N_ITEMS;
        }
    }
    s->offsets[n_sessions] = e;
    s->n_events = e;
}

/* The count seen by each progress report. */
typedef struct { int min, max, n; } seen;
static void on_progress(const sr_train_progress *p, void *ud)
{
    (void)p;
    seen *s = ud;
    int c = openblas_get_num_threads();
    if (!s->n || c < s->min)
        s->min = c;
    if (!s->n || c > s->max)
        s->max = c;
    s->n++;
}

static sr_model *train(const sr_split *tr, const sr_split *valid, int threads, seen *sn)
{
    sr_gru_params p = sr_gru_default_params();
    sr_error err;
    CHECK(sr_gru_params_parse(&p, "layers=16,batch_size=8,n_sample=0,n_epochs=2", &err) == SR_OK);
    sr_train_opts o = sr_train_default_opts();
    o.threads = threads;
    o.cb = on_progress;
    o.ud = sn;
    if (valid) {
        o.valid = valid;
        o.valid_opts = sr_eval_default_opts();
        o.valid_opts.threads = 2;
    }
    sr_model *m = NULL;
    sr_status st = sr_train_gru(tr, &p, &o, &m, &err);
    CHECK_MSG(st == SR_OK, "%s", err.msg);
    return m;
}

static void test_train_restores(void)
{
    sr_split tr, va;
    make_split(&tr, 300, 1);
    make_split(&va, 60, 2);
    for (int v = 0; v < 2; v++) {
        openblas_set_num_threads(1);
        seen sn = {0, 0, 0};
        sr_model *m = train(&tr, v ? &va : NULL, 2, &sn);
        CHECK(m != NULL);
        /* training ran with its own setting (also after validation) ... */
        CHECK(sn.n >= 2);
        CHECK_MSG(sn.min == 2 && sn.max == 2, "during training: %d..%d", sn.min, sn.max);
        /* ... and gave the program's back */
        CHECK_MSG(openblas_get_num_threads() == 1, "after: %d", openblas_get_num_threads());
        sr_model_free(m);
    }
    /* a call that fails inside the scope (training diverges to NaN) restores too */
    openblas_set_num_threads(1);
    {
        sr_gru_params p = sr_gru_default_params();
        sr_error err;
        CHECK(sr_gru_params_parse(&p, "layers=16,batch_size=8,n_sample=16,learning_rate=1e30,n_epochs=3",
                                  &err) == SR_OK);
        sr_train_opts o = sr_train_default_opts();
        o.threads = 2;
        sr_model *m = NULL;
        CHECK(sr_train_gru(&tr, &p, &o, &m, &err) == SR_ERR_NUMERIC);
        CHECK(m == NULL);
        CHECK_MSG(openblas_get_num_threads() == 1, "after NaN: %d", openblas_get_num_threads());
    }
    sr_split_free(&tr);
    sr_split_free(&va);
}

typedef struct { const sr_model *m; const sr_split *test; int threads; sr_status st; } eval_job;
static void *eval_thread(void *arg)
{
    eval_job *j = arg;
    sr_eval_opts o = sr_eval_default_opts();
    o.threads = j->threads;
    o.batch_size = 7;
    sr_eval_result r;
    sr_error err;
    j->st = sr_evaluate(j->m, j->test, &o, &r, &err);
    return NULL;
}

static void test_eval_restores(void)
{
    sr_split tr, te;
    make_split(&tr, 300, 3);
    make_split(&te, 200, 4);
    seen sn = {0, 0, 0};
    sr_model *m = train(&tr, NULL, 1, &sn);
    if (!m) {
        sr_split_free(&tr);
        sr_split_free(&te);
        return;
    }
    for (int th = 1; th <= 2; th++) {
        openblas_set_num_threads(2);
        eval_job j = {m, &te, th, SR_ERR_ARG};
        eval_thread(&j);
        CHECK(j.st == SR_OK);
        CHECK_MSG(openblas_get_num_threads() == 2, "threads %d: after %d", th,
                  openblas_get_num_threads());
    }
    /* two evaluations at once, as a server would run them */
    for (int rep = 0; rep < 5; rep++) {
        openblas_set_num_threads(2);
        eval_job j[2] = {{m, &te, 2, SR_ERR_ARG}, {m, &te, 2, SR_ERR_ARG}};
        pthread_t t;
        int started = pthread_create(&t, NULL, eval_thread, &j[1]) == 0;
        eval_thread(&j[0]);
        if (started)
            pthread_join(t, NULL);
        CHECK(j[0].st == SR_OK && (!started || j[1].st == SR_OK));
        CHECK_MSG(openblas_get_num_threads() == 2, "after concurrent: %d",
                  openblas_get_num_threads());
    }
    sr_model_free(m);
    sr_split_free(&tr);
    sr_split_free(&te);
}

static void test_scopes_nest(void)
{
    openblas_set_num_threads(2);
    int a = sr_blas_threads_enter(3);
    CHECK(a == 2);
    CHECK(openblas_get_num_threads() == 3);
    int b = sr_blas_threads_enter(1);
    CHECK(b == 3);
    CHECK(openblas_get_num_threads() == 1);
    sr_blas_threads_leave(b);
    CHECK(openblas_get_num_threads() == 3);
    sr_blas_threads_leave(a);
    CHECK(openblas_get_num_threads() == 2);
    /* overlapping (not nested) scopes: the outermost count comes back */
    int x = sr_blas_threads_enter(1);
    int y = sr_blas_threads_enter(3);
    sr_blas_threads_leave(x);
    sr_blas_threads_leave(y);
    CHECK(openblas_get_num_threads() == 2);
}

int main(void)
{
    RUN(test_scopes_nest);
    RUN(test_train_restores);
    RUN(test_eval_restores);
    return test_summary();
}
