/*
 * bench_warmstart.c - the daily-retrain case (issue 11) on yoochoose1_64 split
 * by time: yesterday's model (--preset rsc15, 3 epochs on every session that
 * starts before the newest "day" of train.tsv) warm-started for 1 epoch on the
 * newest day (train --init), against training from scratch on all of
 * train.tsv; accuracy on the next day (test.tsv: full ranking, conservative
 * ties) and the training time of each. The data carries click ordinals, not
 * times, so a "day" is as many clicks as test.tsv (the benchmark's last day).
 * 3 epochs: where the rsc15 validation curve peaks (README). One BLAS thread.
 * Usage: bench_warmstart [epochs]   (default 3; SR_DATA overrides ../shared/data)
 */
#define _POSIX_C_SOURCE 200809L
#include "sessrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The sessions of s whose first click is (new_day ? at or after : before) cut,
 * as a split of their own over the same item table (owned arrays). */
static int sub_split(const sr_split *s, int64_t cut, int new_day, sr_split *out)
{
    memset(out, 0, sizeof *out);
    out->n_items = s->n_items;
    out->item_ids = malloc((size_t)s->n_items * sizeof *out->item_ids);
    out->offsets = malloc((size_t)(s->n_sessions + 1) * sizeof *out->offsets);
    out->session_ids = malloc((size_t)s->n_sessions * sizeof *out->session_ids);
    out->items = malloc((size_t)(s->n_events + 1) * sizeof *out->items);
    out->times = malloc((size_t)(s->n_events + 1) * sizeof *out->times);
    if (!out->item_ids || !out->offsets || !out->session_ids || !out->items || !out->times)
        return -1;
    memcpy(out->item_ids, s->item_ids, (size_t)s->n_items * sizeof *out->item_ids);
    int64_t e = 0, k = 0;
    for (int64_t i = 0; i < s->n_sessions; i++) {
        int64_t a = s->offsets[i], b = s->offsets[i + 1];
        if ((s->times[a] >= cut) != new_day)
            continue;
        out->offsets[k] = e;
        out->session_ids[k++] = s->session_ids[i];
        memcpy(out->items + e, s->items + a, (size_t)(b - a) * sizeof *out->items);
        memcpy(out->times + e, s->times + a, (size_t)(b - a) * sizeof *out->times);
        e += b - a;
    }
    out->offsets[k] = e;
    out->n_sessions = k;
    out->n_events = e;
    return 0;
}

typedef struct run {
    const char *what, *data;
    int epochs;
    double secs;
    sr_eval_result res;
    int64_t clicks, items;
} run;

static int train_eval(run *r, const sr_split *tr, const sr_split *te, const sr_gru_params *p,
                      const sr_train_opts *o, sr_model **keep)
{
    sr_error err = {0};
    sr_model *m = NULL;
    double t0 = now();
    if (sr_train_gru(tr, p, o, &m, &err) != SR_OK) {
        fprintf(stderr, "bench_warmstart: %s: %s\n", r->what, err.msg);
        return -1;
    }
    r->secs = now() - t0;
    r->epochs = p->n_epochs;
    r->clicks = tr->n_events;
    r->items = sr_model_n_items(m);
    sr_eval_opts eo = sr_eval_default_opts();
    eo.n_cutoffs = 1;
    eo.cutoffs[0] = 20;
    if (sr_evaluate(m, te, &eo, &r->res, &err) != SR_OK) {
        fprintf(stderr, "bench_warmstart: eval %s: %s\n", r->what, err.msg);
        sr_model_free(m);
        return -1;
    }
    fprintf(stderr, "bench_warmstart: %s: %.1f s, Recall@20 %.4f, MRR@20 %.4f\n", r->what,
            r->secs, r->res.recall[0], r->res.mrr[0]);
    if (keep)
        *keep = m;
    else
        sr_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 3;
    const char *dir = getenv("SR_DATA");
    if (!dir || !*dir)
        dir = "../shared/data";
    char ptr[1024], pte[1024];
    snprintf(ptr, sizeof ptr, "%s/yoochoose1_64/train.tsv", dir);
    snprintf(pte, sizeof pte, "%s/yoochoose1_64/test.tsv", dir);
    sr_split tr, te, old, day;
    sr_error err = {0};
    if (sr_split_open(ptr, &tr, &err) != SR_OK || sr_split_open(pte, &te, &err) != SR_OK) {
        printf("bench_warmstart: skipped (%s)\n", err.msg);
        return 0;
    }
    int64_t tmin = te.times[0], tmax = te.times[0], last = 0;
    for (int64_t i = 0; i < te.n_events; i++) {
        tmin = te.times[i] < tmin ? te.times[i] : tmin;
        tmax = te.times[i] > tmax ? te.times[i] : tmax;
    }
    for (int64_t i = 0; i < tr.n_events; i++)
        last = tr.times[i] > last ? tr.times[i] : last;
    int64_t cut = last - (tmax - tmin);
    if (sub_split(&tr, cut, 0, &old) || sub_split(&tr, cut, 1, &day)) {
        fprintf(stderr, "bench_warmstart: out of memory\n");
        return 1;
    }
    sr_gru_params p = sr_gru_default_params();
    sr_gru_params_preset(&p, "rsc15", &err);
    p.n_epochs = epochs;
    sr_train_opts o = sr_train_default_opts();
    o.threads = 1; /* batch-32 steps: a second BLAS thread does not pay (docs/gru4rec.md) */
    run scratch = {"from scratch on all days", "train.tsv", 0, 0, {0}, 0, 0};
    run base = {"yesterday's model, not updated", "all but the newest day", 0, 0, {0}, 0, 0};
    run warm = {"yesterday's model + 1 warm-started epoch", "the newest day", 0, 0, {0}, 0, 0};
    run cold = {"the newest day alone, from scratch", "the newest day", 0, 0, {0}, 0, 0};
    sr_model *yesterday = NULL;
    int bad = train_eval(&scratch, &tr, &te, &p, &o, NULL);
    o.save_optimizer = 1;
    bad = bad || train_eval(&base, &old, &te, &p, &o, &yesterday);
    sr_gru_params p1 = p;
    p1.n_epochs = 1;
    o.save_optimizer = 0;
    o.init = yesterday;
    bad = bad || train_eval(&warm, &day, &te, &p1, &o, NULL);
    o.init = NULL;
    bad = bad || train_eval(&cold, &day, &te, &p, &o, NULL);
    if (!bad) {
        printf("\nDaily retrain on yoochoose1_64 (--preset rsc15; newest day = the last %lld "
               "click ordinals of train.tsv, %lld clicks; next day = test.tsv; full ranking, "
               "conservative ties)\n\n",
               (long long)(tmax - tmin) / 1000000 + 1, (long long)day.n_events);
        printf("| model | trained on | epochs | clicks | training time | Recall@20 | MRR@20 |\n");
        printf("|---|---|---|---|---|---|---|\n");
        const run *runs[] = {&scratch, &base, &warm, &cold};
        for (int i = 0; i < 4; i++)
            printf("| %s | %s | %d | %lld | %.1f s | %.4f | %.4f |\n", runs[i]->what,
                   runs[i]->data, runs[i]->epochs, (long long)runs[i]->clicks, runs[i]->secs,
                   runs[i]->res.recall[0], runs[i]->res.mrr[0]);
        printf("\n(yesterday's model itself took %.1f s; the warm start adds %lld new items)\n",
               base.secs, (long long)(warm.items - base.items));
    }
    sr_model_free(yesterday);
    sr_split_free(&old);
    sr_split_free(&day);
    sr_split_free(&tr);
    sr_split_free(&te);
    return bad;
}
