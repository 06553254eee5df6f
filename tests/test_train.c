/*
 * test_train.c - the GRU4Rec training driver end to end on tiny synthetic
 * data: deterministic successor sequences (item i is always followed by
 * succ(i)) that a working GRU4Rec learns to Recall@1 near 1 in a few epochs,
 * for each loss and input mode; the item map (train items only, first
 * appearance order, original ids); progress reports; bit-identical model
 * bytes for the same seed; the NaN stop; and the 'sessrec train' command
 * (settings, parameter file errors, NaN -> exit 1 and no file).
 */
#define _POSIX_C_SOURCE 200809L
#include "gru4rec/batch.h"
#include "registry/checkpoint.h"
#include "test.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_ITEMS 40
static int succ(int i) { return (i * 7 + 3) % N_ITEMS; }
static int64_t item_id(int i) { return 1000 + 3 * (int64_t)i; }

/* A split owning its arrays (freed by split_drop). Its item table lists the
 * N_ITEMS ids in reverse order plus two ids no click uses. */
static void make_split(sr_split *s, int n_sessions, uint64_t seed)
{
    sr_rng rng;
    sr_rng_seed(&rng, seed);
    memset(s, 0, sizeof *s);
    s->n_items = N_ITEMS + 2;
    s->item_ids = malloc((size_t)s->n_items * sizeof *s->item_ids);
    for (int i = 0; i < N_ITEMS; i++)
        s->item_ids[N_ITEMS - 1 - i] = item_id(i); /* table index of item i: N_ITEMS-1-i */
    s->item_ids[N_ITEMS] = 5;
    s->item_ids[N_ITEMS + 1] = 6;
    s->n_sessions = n_sessions;
    s->offsets = malloc((size_t)(n_sessions + 1) * sizeof *s->offsets);
    s->session_ids = malloc((size_t)n_sessions * sizeof *s->session_ids);
    s->items = malloc((size_t)n_sessions * 12 * sizeof *s->items);
    s->times = malloc((size_t)n_sessions * 12 * sizeof *s->times);
    int64_t e = 0;
    for (int k = 0; k < n_sessions; k++) {
        s->offsets[k] = e;
        s->session_ids[k] = k + 1;
        int len = 3 + (int)(sr_rng_next(&rng) % 8); /* 3..10 clicks */
        if (k % 50 == 7)
            len = 1; /* a few single clicks: they train nothing */
        int it = (int)(sr_rng_next(&rng) % N_ITEMS);
        for (int t = 0; t < len; t++) {
            s->items[e] = N_ITEMS - 1 - it;
            s->times[e] = (e + 1) * 1000000;
            e++;
            it = succ(it);
        }
    }
    s->offsets[n_sessions] = e;
    s->n_events = e;
}

/* 0 in the sanitizer build (then the binary is build-san/sessrec). */
static int heavy_ok(void)
{
    const char *san = getenv("SR_SAN");
    return !(san && *san == '1');
}

typedef struct {
    int calls, epoch_ends, last_epoch, bad;
    double first_loss, last_loss;
    int64_t total;
    int saw_valid;
} progress_log;

static void on_progress(const sr_train_progress *p, void *ud)
{
    progress_log *l = ud;
    l->calls++;
    if (p->epoch < 1 || p->epoch > p->n_epochs || p->events_done > p->events_total ||
        !isfinite(p->loss) || p->events_per_sec <= 0)
        l->bad = 1;
    if (p->epoch < l->last_epoch)
        l->bad = 1;
    l->last_epoch = p->epoch;
    if (p->epoch_done) {
        if (p->epoch != l->epoch_ends + 1 || p->events_done != p->events_total)
            l->bad = 1;
        l->epoch_ends++;
        if (l->epoch_ends == 1)
            l->first_loss = p->loss;
        l->last_loss = p->loss;
        l->total = p->events_total;
        if (p->valid)
            l->saw_valid++;
    } else if (p->valid) {
        l->bad = 1;
    }
}

/* Trains with `spec` and returns Recall@1 on a fresh test split (or -1). */
static double train_and_recall(const char *spec, int epochs, sr_model **keep)
{
    sr_split tr, te;
    make_split(&tr, 1500, 1);
    make_split(&te, 200, 2);
    sr_gru_params p = sr_gru_default_params();
    sr_error err = {0};
    CHECK(sr_gru_params_parse(&p, spec, &err) == SR_OK);
    p.n_epochs = epochs;
    sr_train_opts o = sr_train_default_opts();
    o.threads = 1;
    o.valid = &te;
    o.valid_opts.n_cutoffs = 2;
    o.valid_opts.cutoffs[0] = 1;
    o.valid_opts.cutoffs[1] = 5;
    progress_log log;
    memset(&log, 0, sizeof log);
    o.cb = on_progress;
    o.ud = &log;
    sr_model *m = NULL;
    sr_status st = sr_train_gru(&tr, &p, &o, &m, &err);
    CHECK_MSG(st == SR_OK, "%s: %s", spec, err.msg);
    double r1 = -1;
    if (st == SR_OK) {
        CHECK(!log.bad);
        CHECK_EQ_INT(log.epoch_ends, epochs);
        CHECK_EQ_INT(log.saw_valid, epochs);
        CHECK_EQ_INT(log.total, sr_batch_count_pairs(tr.offsets, tr.n_sessions));
        CHECK_MSG(log.last_loss < log.first_loss, "%s: loss %g -> %g", spec, log.first_loss,
                  log.last_loss);
        sr_eval_result res;
        sr_eval_opts eo = o.valid_opts;
        CHECK(sr_evaluate(m, &te, &eo, &res, &err) == SR_OK);
        r1 = res.recall[0];
        fprintf(stderr, "  %s: loss %.4f -> %.4f, Recall@1 %.4f, Recall@5 %.4f\n", spec,
                log.first_loss, log.last_loss, res.recall[0], res.recall[1]);
    }
    if (keep)
        *keep = m;
    else
        sr_model_free(m);
    sr_split_free(&tr);
    sr_split_free(&te);
    return r1;
}

/* The official setup (sampled cross-entropy, constrained embedding, Adagrad). */
static void test_learns_cycles_xe(void)
{
    double r1 = train_and_recall("layers=32,batch_size=16,n_sample=32,sample_alpha=0.75,logq=1,"
                                 "learning_rate=0.1", 5, NULL);
    CHECK_MSG(r1 > 0.95, "Recall@1 %g", r1);
}

/* The tutorial's setup: one-hot input, full softmax, Adam. */
static void test_learns_cycles_full_xe_onehot_adam(void)
{
    double r1 = train_and_recall("layers=32,loss=full-cross-entropy,constrained_embedding=False,"
                                 "embedding=0,optim=adam,learning_rate=0.01,batch_size=32,"
                                 "n_sample=0", 5, NULL);
    CHECK_MSG(r1 > 0.95, "Recall@1 %g", r1);
}

/* bpr-max with a separate embedding, momentum, two layers. */
static void test_learns_cycles_bprmax_embedding(void)
{
    double r1 = train_and_recall("layers=32/32,loss=bpr-max,constrained_embedding=False,"
                                 "embedding=16,batch_size=16,n_sample=32,learning_rate=0.1,"
                                 "momentum=0.3", 6, NULL);
    CHECK_MSG(r1 > 0.9, "Recall@1 %g", r1);
}

/* Without extra samples the epoch ends once fewer than 2 rows remain (as the
 * official iterator): a 10-click and a 2-click session with batch 2 train one
 * step of 2 rows; with one extra sample, or the full softmax, all 10 pairs. */
static void epoch_events_cb(const sr_train_progress *pr, void *ud)
{
    if (pr->epoch_done)
        *(int64_t *)ud = pr->events_done;
}

static void test_lone_row_without_samples(void)
{
    int64_t off[3] = {0, 10, 12}, sid[2] = {1, 2}, times[12], ids[4] = {11, 12, 13, 14};
    int32_t items[12] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    for (int i = 0; i < 12; i++)
        times[i] = i;
    sr_split tr = {.n_events = 12, .n_sessions = 2, .n_items = 4, .session_ids = sid,
                   .offsets = off, .items = items, .times = times, .item_ids = ids};
    for (int ns = 0; ns <= 1; ns++) {
        sr_gru_params p = sr_gru_default_params();
        p.layers[0] = 4;
        p.batch_size = 2;
        p.n_sample = ns;
        p.n_epochs = 1;
        int64_t done = -1;
        sr_train_opts o = sr_train_default_opts();
        o.cb = epoch_events_cb;
        o.ud = &done;
        sr_model *m = NULL;
        sr_error err = {0};
        CHECK(sr_train_gru(&tr, &p, &o, &m, &err) == SR_OK);
        CHECK_EQ_INT(done, ns ? 10 : 2);
        sr_model_free(m);
        if (!ns) { /* the full softmax has negatives for a lone row: all 10 pairs */
            p.loss = SR_LOSS_FULL_XE;
            done = -1;
            CHECK(sr_train_gru(&tr, &p, &o, &m, &err) == SR_OK);
            CHECK_EQ_INT(done, 10);
            sr_model_free(m);
        }
    }
}

/* The item map: only items clicked in TRAIN, in order of first appearance,
 * with their original ids. */
static void test_item_map(void)
{
    sr_split tr;
    make_split(&tr, 30, 5);
    sr_gru_params p = sr_gru_default_params();
    p.n_epochs = 0;
    p.layers[0] = 8;
    sr_model *m = NULL;
    sr_error err = {0};
    CHECK(sr_train_gru(&tr, &p, NULL, &m, &err) == SR_OK);
    if (m) {
        int64_t want[N_ITEMS + 2];
        int n = 0;
        for (int64_t e = 0; e < tr.n_events; e++) {
            int64_t id = tr.item_ids[tr.items[e]];
            int seen = 0;
            for (int k = 0; k < n; k++)
                seen |= want[k] == id;
            if (!seen)
                want[n++] = id;
        }
        CHECK_EQ_INT(sr_model_n_items(m), n);
        for (int k = 0; k < n && k < sr_model_n_items(m); k++)
            CHECK_EQ_INT(sr_model_item_ids(m)[k], want[k]);
        CHECK_EQ_INT(sr_model_item_index(m, 5), -1); /* in the table, never clicked */
        CHECK(!strcmp(sr_model_algo(m), "gru4rec"));
        sr_model_free(m);
    }
    sr_split_free(&tr);
}

static int model_bytes(const char *spec, uint64_t seed, int threads, sr_buf *b)
{
    sr_split tr;
    make_split(&tr, 400, 3);
    sr_gru_params p = sr_gru_default_params();
    sr_gru_params_parse(&p, spec, NULL);
    p.seed = seed;
    sr_train_opts o = sr_train_default_opts();
    o.threads = threads;
    sr_model *m = NULL;
    sr_error err = {0};
    int ok = sr_train_gru(&tr, &p, &o, &m, &err) == SR_OK && sr_model_to_bytes(m, b, &err) == SR_OK;
    CHECK_MSG(ok, "%s", err.msg);
    sr_model_free(m);
    sr_split_free(&tr);
    return ok;
}

/* The same seed and thread count give the same bytes; another seed does not. */
static void test_deterministic(void)
{
    const char *specs[] = {
        "layers=16,batch_size=8,n_sample=16,dropout_p_embed=0.1,dropout_p_hidden=0.2,n_epochs=2",
        "layers=16,loss=bpr-max,constrained_embedding=False,embedding=8,batch_size=8,n_sample=16,"
        "momentum=0.5,n_epochs=2",
        "layers=16,loss=full-cross-entropy,constrained_embedding=False,optim=adam,batch_size=8,"
        "learning_rate=0.01,n_epochs=2",
    };
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        for (int threads = 1; threads <= 2; threads++) {
            sr_buf a = {0}, b = {0}, c = {0};
            if (model_bytes(specs[k], 7, threads, &a) && model_bytes(specs[k], 7, threads, &b) &&
                model_bytes(specs[k], 8, threads, &c)) {
                CHECK_MSG(a.len == b.len && !memcmp(a.data, b.data, a.len),
                          "spec %zu, %d threads: same seed, different model bytes", k, threads);
                CHECK_MSG(a.len != c.len || memcmp(a.data, c.data, a.len),
                          "spec %zu: seeds 7 and 8 give the same model", k);
            }
            sr_buf_free(&a);
            sr_buf_free(&b);
            sr_buf_free(&c);
        }
    }
}

static void test_nan_stop(void)
{
    sr_split tr;
    make_split(&tr, 400, 4);
    sr_gru_params p = sr_gru_default_params();
    sr_gru_params_parse(&p, "layers=16,batch_size=8,n_sample=16,learning_rate=1e30,n_epochs=3", NULL);
    sr_train_opts o = sr_train_default_opts();
    o.threads = 1;
    sr_model *m = (sr_model *)&p;
    sr_error err = {0};
    CHECK(sr_train_gru(&tr, &p, &o, &m, &err) == SR_ERR_NUMERIC);
    CHECK(m == NULL);
    CHECK_MSG(strstr(err.msg, "diverged") && strstr(err.msg, "learning_rate"), "%s", err.msg);
    sr_split_free(&tr);
}

static void test_errors(void)
{
    sr_split tr;
    make_split(&tr, 400, 4);
    sr_gru_params p = sr_gru_default_params();
    sr_model *m = NULL;
    sr_error err = {0};
    p.batch_size = 0;
    CHECK(sr_train_gru(&tr, &p, NULL, &m, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "batch_size") != NULL);
    p = sr_gru_default_params();
    /* only single clicks: nothing to train on */
    int64_t off[4] = {0, 1, 2, 3}, ids[2] = {10, 11}, sids[3] = {1, 2, 3}, times[3] = {1, 2, 3};
    int32_t items[3] = {0, 1, 0};
    sr_split ones;
    memset(&ones, 0, sizeof ones);
    ones.n_events = 3;
    ones.n_sessions = 3;
    ones.n_items = 2;
    ones.offsets = off;
    ones.items = items;
    ones.item_ids = ids;
    ones.session_ids = sids;
    ones.times = times;
    CHECK(sr_train_gru(&ones, &p, NULL, &m, &err) == SR_ERR_EMPTY);
    CHECK(m == NULL);
    /* an item index outside the table */
    off[1] = 2;
    items[1] = 2;
    CHECK(sr_train_gru(&ones, &p, NULL, &m, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "outside the item table") != NULL);
    sr_split_free(&tr);
}

/* ---- the command ----------------------------------------------------------------- */

static const char *bin(void)
{
    const char *b = getenv("SR_BIN");
    if (b && *b)
        return b;
    return heavy_ok() ? "build/sessrec" : "build-san/sessrec";
}

/* Runs a shell command, returns its exit status; output to files in tmp. */
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void write_tsv(const sr_split *s, const char *path)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "SessionId\tItemId\tTime\n");
    for (int64_t k = 0; k < s->n_sessions; k++)
        for (int64_t e = s->offsets[k]; e < s->offsets[k + 1]; e++)
            fprintf(f, "%lld\t%lld\t%lld\n", (long long)s->session_ids[k],
                    (long long)s->item_ids[s->items[e]], (long long)(s->times[e] / 1000000));
    fclose(f);
}

static void test_cli(void)
{
    if (access(bin(), X_OK) != 0)
        SKIP("sessrec binary not built");
    const char *d = test_tmpdir();
    char tr_path[512], te_path[512], model[512], pf[512], out[512], errp[512];
    snprintf(tr_path, sizeof tr_path, "%s/train.tsv", d);
    snprintf(te_path, sizeof te_path, "%s/test.tsv", d);
    snprintf(model, sizeof model, "%s/m.srm", d);
    snprintf(pf, sizeof pf, "%s/params.txt", d);
    snprintf(out, sizeof out, "%s/out.txt", d);
    snprintf(errp, sizeof errp, "%s/err.txt", d);
    sr_split tr, te;
    make_split(&tr, 600, 1);
    make_split(&te, 100, 2);
    write_tsv(&tr, tr_path);
    write_tsv(&te, te_path);
    sr_split_free(&tr);
    sr_split_free(&te);

    CHECK_EQ_INT(sh("%s train --help >%s 2>%s", bin(), out, errp), 0);
    char *o = test_read_text(out);
    CHECK(strstr(o, "usage: sessrec train TRAIN -o MODEL") && strstr(o, "--preset") &&
          strstr(o, "layers=100,loss=cross-entropy"));
    free(o);

    /* parameter file: comments, blank lines; -p applied after it */
    FILE *f = fopen(pf, "w");
    fprintf(f, "# a comment\n\nlayers=24   # trailing comment\nbatch_size=16,n_sample=16\n"
               "n_epochs=1\n");
    fclose(f);
    CHECK_EQ_INT(sh("%s train %s -o %s --preset rsc15 --params-file %s -p n_epochs=3,dropout_p_embed=0 "
                    "--valid %s --seed 5 --threads 1 >%s 2>%s", bin(), tr_path, model, pf, te_path,
                    out, errp), 0);
    o = test_read_text(out);
    CHECK_MSG(strstr(o, "layers=24,loss=cross-entropy,constrained_embedding=True") != NULL, "%s", o);
    CHECK_MSG(strstr(o, "batch_size=16,dropout_p_embed=0,dropout_p_hidden=0,learning_rate=0.1") != NULL, "%s", o);
    CHECK_MSG(strstr(o, "n_epochs=3,optim=adagrad,seed=5") != NULL, "%s", o);
    CHECK_MSG(strstr(o, "epoch  3/3") && strstr(o, "valid Recall@20"), "%s", o);
    free(o);
    sr_model *m = NULL;
    sr_error err = {0};
    CHECK(sr_model_load(model, &m, &err) == SR_OK);
    if (m)
        CHECK_EQ_INT(sr_model_n_items(m), N_ITEMS);
    sr_model_free(m);
    unlink(model);

    /* a bad line of the parameter file is named with its line number */
    f = fopen(pf, "w");
    fprintf(f, "layers=24\n# ok\nlayers=24,bogus=1\n");
    fclose(f);
    CHECK_EQ_INT(sh("%s train %s -o %s --params-file %s >%s 2>%s", bin(), tr_path, model, pf, out,
                    errp), 1);
    char *e = test_read_text(errp);
    CHECK_MSG(strstr(e, "params.txt:3: unknown parameter 'bogus'") != NULL, "%s", e);
    free(e);
    CHECK(access(model, F_OK) != 0);

    /* a NaN loss: clear error, exit 1, no model file (and no temp file) */
    CHECK_EQ_INT(sh("%s train %s -o %s -p layers=16,batch_size=8,n_sample=16,learning_rate=1e30 "
                    "--quiet >%s 2>%s", bin(), tr_path, model, out, errp), 1);
    e = test_read_text(errp);
    CHECK_MSG(strstr(e, "diverged") && strstr(e, "no model written"), "%s", e);
    free(e);
    CHECK(access(model, F_OK) != 0);
    CHECK_EQ_INT(sh("ls %s | grep -c '\\.tmp\\.' >/dev/null", d), 1);

    /* usage errors */
    CHECK_EQ_INT(sh("%s train %s >%s 2>%s", bin(), tr_path, out, errp), 2); /* missing -o: a usage error */
    CHECK_EQ_INT(sh("%s train %s -o %s --preset nope >%s 2>%s", bin(), tr_path, model, out, errp), 1);
    e = test_read_text(errp);
    CHECK_MSG(strstr(e, "unknown preset 'nope'") != NULL, "%s", e);
    free(e);
    CHECK_EQ_INT(sh("%s train %s -o %s/no/dir/m.srm >%s 2>%s", bin(), tr_path, d, out, errp), 1);
}

int main(void)
{
    RUN(test_learns_cycles_xe);
    RUN(test_learns_cycles_full_xe_onehot_adam);
    RUN(test_learns_cycles_bprmax_embedding);
    RUN(test_item_map);
    RUN(test_lone_row_without_samples);
    RUN(test_deterministic);
    RUN(test_nan_stop);
    RUN(test_errors);
    RUN(test_cli);
    int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", test_tmpdir());
    return rc;
}
