/*
 * test_trainctl.c - the training controls of sr_train_gru on tiny synthetic
 * data: resume (4 epochs == 2 + resume 2, bit for bit, from a --save-optimizer
 * model and from a checkpoint of a run stopped by the per-epoch callback),
 * the refusals of resume, model files with and without a training state (the
 * old payload version is still written and read), early stopping and the
 * best epoch (on a validation split that training makes worse), warm start
 * (known rows kept, absent items untouched, new items appended), atomic
 * checkpoints, and the one-hot dropout parameter that reaches no layer.
 */
#define _POSIX_C_SOURCE 200809L
#include "gru4rec/gru4rec.h"
#include "registry/checkpoint.h"
#include "test.h"
#include "cli_run.h"
#include "util/util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#define N_ITEMS 40

/* Sessions that walk item i -> step(i); items (lo..hi) only. The item table
 * holds ids 1000 + 3i of items lo..hi-1 in order. */
static int succ_a(int i) { return (i * 7 + 3) % N_ITEMS; }
static int succ_b(int i) { return (i * 11 + 5) % N_ITEMS; }

static void make_split(sr_split *s, int n_sessions, uint64_t seed, int (*step)(int), int lo,
                       int hi)
{
    sr_rng rng;
    sr_rng_seed(&rng, seed);
    memset(s, 0, sizeof *s);
    s->n_items = hi - lo;
    s->item_ids = malloc((size_t)s->n_items * sizeof *s->item_ids);
    for (int i = lo; i < hi; i++)
        s->item_ids[i - lo] = 1000 + 3 * (int64_t)i;
    s->n_sessions = n_sessions;
    s->offsets = malloc((size_t)(n_sessions + 1) * sizeof *s->offsets);
    s->session_ids = malloc((size_t)n_sessions * sizeof *s->session_ids);
    s->items = malloc((size_t)n_sessions * 12 * sizeof *s->items);
    s->times = malloc((size_t)n_sessions * 12 * sizeof *s->times);
    int64_t e = 0;
    for (int k = 0; k < n_sessions; k++) {
        s->offsets[k] = e;
        s->session_ids[k] = k + 1;
        int len = 3 + (int)(sr_rng_next(&rng) % 8);
        int it = lo + (int)(sr_rng_next(&rng) % (uint64_t)(hi - lo));
        for (int t = 0; t < len; t++) {
            s->items[e] = it - lo;
            s->times[e] = (e + 1) * 1000000;
            e++;
            it = step(it);
            if (it < lo || it >= hi) /* keep inside the range: restart somewhere in it */
                it = lo + (int)(sr_rng_next(&rng) % (uint64_t)(hi - lo));
        }
    }
    s->offsets[n_sessions] = e;
    s->n_events = e;
}

static sr_gru_params params(const char *spec)
{
    sr_gru_params p = sr_gru_default_params();
    sr_error err = {0};
    CHECK_MSG(sr_gru_params_parse(&p, spec, &err) == SR_OK, "%s", err.msg);
    return p;
}

static int to_bytes(const sr_model *m, sr_buf *b)
{
    sr_error err = {0};
    b->len = 0;
    int ok = m && sr_model_to_bytes(m, b, &err) == SR_OK;
    CHECK_MSG(ok, "%s", err.msg);
    return ok;
}

static int same_bytes(const sr_buf *a, const sr_buf *b)
{
    return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* The payload version of a model file's bytes (the u32 after "GRU4"). */
static uint32_t payload_version(const sr_buf *b)
{
    for (size_t i = 0; i + 8 <= b->len; i++)
        if (!memcmp(b->data + i, "GRU4", 4))
            return (uint32_t)b->data[i + 4] | (uint32_t)b->data[i + 5] << 8;
    return 0;
}

typedef struct ep_log {
    int n, stop_after;           /* stop_after > 0: the callback stops after that epoch */
    double metric[64];
    int best[64], improved[64], stopping[64];
    int checkpoints;
} ep_log;

static int on_epoch(const sr_train_epoch *e, void *ud)
{
    ep_log *l = ud;
    if (l->n < 64) {
        l->metric[l->n] = e->metric;
        l->best[l->n] = e->best_epoch;
        l->improved[l->n] = e->improved;
        l->stopping[l->n] = e->stopping;
    }
    l->n++;
    l->checkpoints += e->checkpoint != NULL;
    return l->stop_after > 0 && e->epoch >= l->stop_after;
}

static sr_status train(const sr_split *tr, const sr_gru_params *p, sr_train_opts *o,
                       sr_model **m, sr_error *err)
{
    o->threads = 1;
    return sr_train_gru(tr, p, o, m, err);
}

/* ---- resume ----------------------------------------------------------------- */

static void check_resume(const char *spec)
{
    sr_split tr;
    make_split(&tr, 300, 1, succ_a, 0, N_ITEMS);
    sr_gru_params p4 = params(spec), p2 = p4;
    p4.n_epochs = 4;
    p2.n_epochs = 2;
    sr_error err = {0};
    sr_buf full = {0}, plain = {0}, b = {0};
    sr_model *m = NULL, *m2 = NULL, *ck = NULL;

    /* the uninterrupted run, with and without its training state */
    sr_train_opts o = sr_train_default_opts();
    o.save_optimizer = 1;
    CHECK_MSG(train(&tr, &p4, &o, &m, &err) == SR_OK, "%s: %s", spec, err.msg);
    to_bytes(m, &full);
    CHECK_EQ_INT(payload_version(&full), 2);
    sr_model_free(m);
    o = sr_train_default_opts();
    CHECK(train(&tr, &p4, &o, &m, &err) == SR_OK);
    to_bytes(m, &plain);
    /* version 1 unless a flag is needed: the one-hot layer's official cell */
    int onehot = !p4.constrained_embedding && p4.embedding == 0;
    CHECK_EQ_INT(payload_version(&plain), onehot ? 2 : 1);
    CHECK(plain.len < full.len);
    sr_model_free(m);

    /* 2 epochs with --save-optimizer, then resume to 4 */
    o = sr_train_default_opts();
    o.save_optimizer = 1;
    CHECK(train(&tr, &p2, &o, &m2, &err) == SR_OK);
    int done = 0;
    CHECK(sr_model_gru_params(m2, NULL, &done) == SR_OK);
    CHECK_EQ_INT(done, 2);
    o = sr_train_default_opts();
    o.save_optimizer = 1;
    o.resume = m2;
    CHECK_MSG(train(&tr, &p4, &o, &m, &err) == SR_OK, "%s: %s", spec, err.msg);
    to_bytes(m, &b);
    CHECK_MSG(same_bytes(&b, &full), "%s: 2 + resume 2 differs from 4 epochs (%zu vs %zu bytes)",
              spec, b.len, full.len);
    sr_model_free(m);
    o.save_optimizer = 0;
    CHECK(train(&tr, &p4, &o, &m, &err) == SR_OK);
    to_bytes(m, &b);
    CHECK_MSG(same_bytes(&b, &plain), "%s: resumed model without state differs", spec);
    sr_model_free(m);

    /* a run of 4 stopped by the callback after epoch 2, resumed from its checkpoint */
    char path[64];
    snprintf(path, sizeof path, "/tmp/sr_trainctl_%d.ckpt", (int)getpid());
    ep_log log;
    memset(&log, 0, sizeof log);
    log.stop_after = 2;
    o = sr_train_default_opts();
    o.checkpoint_every = 1;
    o.checkpoint_path = path;
    o.on_epoch = on_epoch;
    o.ud = &log;
    CHECK(train(&tr, &p4, &o, &m, &err) == SR_OK);
    CHECK_EQ_INT(log.n, 2);
    CHECK_EQ_INT(log.checkpoints, 2);
    sr_model_free(m);
    CHECK_MSG(sr_model_load(path, &ck, &err) == SR_OK, "%s", err.msg);
    CHECK(sr_model_gru_params(ck, NULL, &done) == SR_OK);
    CHECK_EQ_INT(done, 2);
    o = sr_train_default_opts();
    o.resume = ck;
    o.save_optimizer = 1;
    CHECK_MSG(train(&tr, &p4, &o, &m, &err) == SR_OK, "%s", err.msg);
    to_bytes(m, &b);
    CHECK_MSG(same_bytes(&b, &full), "%s: checkpoint + resume differs from 4 epochs", spec);
    sr_model_free(m);
    unlink(path);

    /* a model file with a state loads and saves back to the same bytes */
    sr_model *rt = NULL;
    CHECK(sr_model_load_mem(full.data, full.len, "full", &rt, &err) == SR_OK);
    to_bytes(rt, &b);
    CHECK(same_bytes(&b, &full));
    sr_model_free(rt);

    sr_model_free(ck);
    sr_model_free(m2);
    sr_buf_free(&full);
    sr_buf_free(&plain);
    sr_buf_free(&b);
    sr_split_free(&tr);
}

static void test_resume_bit_identical(void)
{
    /* sampled xe with a store that runs out mid-epoch, momentum and both dropouts */
    check_resume("layers=12/8,batch_size=16,n_sample=20,sample_store_size=300,momentum=0.3,"
                 "dropout_p_embed=0.1,dropout_p_hidden=0.2,logq=1,sample_alpha=0.75");
    /* one-hot input, full softmax, Adam */
    check_resume("layers=12,loss=full-cross-entropy,constrained_embedding=False,optim=adam,"
                 "learning_rate=0.01,batch_size=16,dropout_p_embed=0.2");
    /* separate embedding, bpr-max */
    check_resume("layers=12,loss=bpr-max,constrained_embedding=False,embedding=6,batch_size=16,"
                 "n_sample=10,momentum=0.5");
}

static void test_resume_refusals(void)
{
    sr_split tr, other;
    make_split(&tr, 200, 1, succ_a, 0, N_ITEMS);
    make_split(&other, 200, 9, succ_a, 0, 30);
    sr_gru_params p = params("layers=8,batch_size=16,n_sample=10,n_epochs=1");
    sr_error err = {0};
    sr_model *plain = NULL, *st = NULL, *m = NULL;
    sr_train_opts o = sr_train_default_opts();
    CHECK(train(&tr, &p, &o, &plain, &err) == SR_OK);
    o.save_optimizer = 1;
    CHECK(train(&tr, &p, &o, &st, &err) == SR_OK);
    sr_gru_params p3 = p;
    p3.n_epochs = 3;

    o = sr_train_default_opts();
    o.resume = plain;
    CHECK(train(&tr, &p3, &o, &m, &err) == SR_ERR_ARG && !m);
    CHECK_MSG(strstr(err.msg, "no optimizer state") != NULL, "%s", err.msg);
    o.resume = st;
    CHECK(train(&tr, &p, &o, &m, &err) == SR_ERR_ARG && !m); /* n_epochs 1: nothing left */
    CHECK_MSG(strstr(err.msg, "trained 1 epochs already") != NULL, "%s", err.msg);
    sr_gru_params q = p3;
    q.learning_rate = 0.01f;
    CHECK(train(&tr, &q, &o, &m, &err) == SR_ERR_ARG && !m);
    CHECK_MSG(strstr(err.msg, "only n_epochs may change") != NULL, "%s", err.msg);
    CHECK(train(&other, &p3, &o, &m, &err) == SR_ERR_ARG && !m);
    CHECK_MSG(strstr(err.msg, "not the model's") != NULL, "%s", err.msg);
    o.init = plain;
    CHECK(train(&tr, &p3, &o, &m, &err) == SR_ERR_ARG && !m);
    o = sr_train_default_opts();
    o.patience = 2; /* without a validation split */
    CHECK(train(&tr, &p, &o, &m, &err) == SR_ERR_ARG && !m);
    CHECK_MSG(strstr(err.msg, "validation") != NULL, "%s", err.msg);
    o = sr_train_default_opts();
    o.checkpoint_every = 1;
    CHECK(train(&tr, &p, &o, &m, &err) == SR_ERR_ARG && !m);
    sr_model_free(plain);
    sr_model_free(st);
    sr_split_free(&tr);
    sr_split_free(&other);
}

/* ---- early stopping and the best epoch ------------------------------------------ */

static double valid_metric(const sr_model *m, const sr_split *va, const sr_eval_opts *eo)
{
    sr_eval_result r;
    sr_error err = {0};
    CHECK(sr_evaluate(m, va, eo, &r, &err) == SR_OK);
    return r.recall[0];
}

static void test_early_stopping(void)
{
    /* training learns succ_a; the validation sessions follow succ_b, so the
     * better the model fits the training data, the worse the validation */
    sr_split tr, va;
    make_split(&tr, 600, 1, succ_a, 0, N_ITEMS);
    make_split(&va, 150, 2, succ_b, 0, N_ITEMS);
    sr_gru_params p = params("layers=16,batch_size=16,n_sample=20,learning_rate=0.2,n_epochs=12");
    sr_eval_opts eo = sr_eval_default_opts();
    eo.n_cutoffs = 1;
    eo.cutoffs[0] = 10;
    eo.threads = 1;
    sr_error err = {0};

    /* all epochs, the last one kept: the reference curve */
    ep_log all;
    memset(&all, 0, sizeof all);
    sr_train_opts o = sr_train_default_opts();
    o.valid = &va;
    o.valid_opts = eo;
    o.on_epoch = on_epoch;
    o.ud = &all;
    sr_model *last = NULL, *best = NULL, *early = NULL;
    CHECK(train(&tr, &p, &o, &last, &err) == SR_OK);
    CHECK_EQ_INT(all.n, 12);
    int b = 0;
    for (int i = 0; i < all.n; i++)
        if (all.metric[i] > all.metric[b])
            b = i;
    CHECK_MSG(b + 1 < all.n, "the validation metric should peak before the last epoch "
              "(best epoch %d)", b + 1);
    CHECK_EQ_INT(all.best[all.n - 1], b + 1);
    CHECK(all.improved[0] && all.best[0] == 1);
    CHECK_NEAR(valid_metric(last, &va, &eo), all.metric[all.n - 1], 1e-12);

    /* keep_best: every epoch trained, the best one's weights kept */
    ep_log kb;
    memset(&kb, 0, sizeof kb);
    o.ud = &kb;
    o.keep_best = 1;
    CHECK(train(&tr, &p, &o, &best, &err) == SR_OK);
    CHECK_EQ_INT(kb.n, 12);
    CHECK_NEAR(valid_metric(best, &va, &eo), all.metric[b], 1e-12);

    /* patience 2: stops 2 epochs after the best, with the best weights */
    ep_log es;
    memset(&es, 0, sizeof es);
    o.ud = &es;
    o.keep_best = 0;
    o.patience = 2;
    CHECK(train(&tr, &p, &o, &early, &err) == SR_OK);
    int first_stop = 0; /* the first epoch with 2 epochs since the best */
    for (int i = 0, best_i = 0; i < all.n; i++) {
        if (all.metric[i] > all.metric[best_i] || i == 0)
            best_i = i;
        if (i - best_i >= 2) {
            first_stop = i + 1;
            break;
        }
    }
    CHECK(first_stop > 0);
    CHECK_EQ_INT(es.n, first_stop);
    CHECK(es.stopping[es.n - 1] && !es.stopping[0]);
    double bm = -1;
    for (int i = 0; i < es.n; i++)
        bm = es.metric[i] > bm ? es.metric[i] : bm;
    CHECK_NEAR(valid_metric(early, &va, &eo), bm, 1e-12);
    sr_model_free(last);
    sr_model_free(best);
    sr_model_free(early);
    sr_split_free(&tr);
    sr_split_free(&va);
}

/* ---- warm start ---------------------------------------------------------------- */

static const float *tensor_of(const sr_model *m, const char *name, int64_t *rows, int64_t *cols)
{
    sr_tensor t[16];
    int n = sr_gru_tensors(m->impl, t, 16);
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) {
            *rows = t[i].rows;
            *cols = t[i].cols;
            return t[i].data;
        }
    return NULL;
}

static void test_warm_start(void)
{
    /* day 1: items 0..29; day 2: items 10..39 (10 new, 10 absent) */
    sr_split d1, d2;
    make_split(&d1, 400, 1, succ_a, 0, 30);
    make_split(&d2, 400, 2, succ_a, 10, N_ITEMS);
    sr_gru_params p = params("layers=12,batch_size=16,n_sample=20,momentum=0.2,n_epochs=2");
    sr_error err = {0};
    sr_model *a = NULL, *w0 = NULL, *w1 = NULL;
    sr_train_opts o = sr_train_default_opts();
    o.save_optimizer = 1;
    CHECK(train(&d1, &p, &o, &a, &err) == SR_OK);
    int64_t na = a ? sr_model_n_items(a) : 0;
    CHECK_EQ_INT(na, 30);

    /* 0 epochs: the known rows are the old model's, the new items appended */
    sr_gru_params p0 = p;
    p0.n_epochs = 0;
    o = sr_train_default_opts();
    o.init = a;
    o.save_optimizer = 1;
    CHECK_MSG(train(&d2, &p0, &o, &w0, &err) == SR_OK, "%s", err.msg);
    CHECK_EQ_INT(sr_model_n_items(w0), 40);
    const int64_t *ia = sr_model_item_ids(a), *iw = sr_model_item_ids(w0);
    int same_ids = 1;
    for (int64_t i = 0; i < na; i++)
        same_ids &= ia[i] == iw[i];
    CHECK(same_ids);
    for (int64_t i = na; i < 40; i++)
        CHECK(sr_model_item_index(a, iw[i]) < 0 && iw[i] >= 1000 + 3 * 30);
    int64_t r1, c1, r2, c2;
    const float *wa = tensor_of(a, "Wy", &r1, &c1), *ww = tensor_of(w0, "Wy", &r2, &c2);
    CHECK(wa && ww && r1 == 30 && r2 == 40 && c1 == c2);
    if (wa && ww)
        CHECK(!memcmp(wa, ww, (size_t)(r1 * c1) * sizeof *wa));
    int64_t hr, hc, hr2, hc2;
    const float *ha = tensor_of(a, "Wh0", &hr, &hc), *hw = tensor_of(w0, "Wh0", &hr2, &hc2);
    CHECK(ha && hw && hr == hr2 && hc == hc2 && !memcmp(ha, hw, (size_t)(hr * hc) * sizeof *ha));

    /* 1 epoch: items absent from day 2 (0..9) keep their rows exactly (never an
     * input, a target or a sample); the others move */
    sr_gru_params p1 = p;
    p1.n_epochs = 1;
    o.save_optimizer = 0;
    CHECK(train(&d2, &p1, &o, &w1, &err) == SR_OK);
    ww = tensor_of(w1, "Wy", &r2, &c2);
    int absent_same = 1, known_moved = 0;
    for (int i = 0; i < 30; i++) {
        int64_t ra = sr_model_item_index(a, 1000 + 3 * i), rw = sr_model_item_index(w1, 1000 + 3 * i);
        int same = ra == rw && !memcmp(wa + ra * c1, ww + rw * c2, (size_t)c1 * sizeof *wa);
        if (i < 10)
            absent_same &= same;
        else
            known_moved += !same;
    }
    CHECK(absent_same);
    CHECK_MSG(known_moved >= 15, "%d of 20 known items moved", known_moved);

    /* a different network is refused */
    sr_gru_params q = p;
    q.layers[0] = 16;
    sr_model *bad = NULL;
    CHECK(train(&d2, &q, &o, &bad, &err) == SR_ERR_ARG && !bad);
    CHECK_MSG(strstr(err.msg, "differs") != NULL, "%s", err.msg);
    sr_model_free(a);
    sr_model_free(w0);
    sr_model_free(w1);
    sr_split_free(&d1);
    sr_split_free(&d2);
}

/* ---- model files of earlier versions: the GRUCell one-hot layer ---------------------- */

/* A version 1 payload of a one-hot model (as earlier sessrec wrote them) from
 * the version 2 bytes of b: drops the flags, fixes the lengths and the CRC. */
static void to_version1(const sr_buf *b, sr_buf *out)
{
    size_t pos = 0;
    while (pos + 4 <= b->len && memcmp(b->data + pos, "GRU4", 4))
        pos++;
    out->len = 0;
    sr_buf_append(out, b->data, pos);
    uint64_t plen = 0;
    for (int i = 0; i < 8; i++)
        plen |= (uint64_t)b->data[pos - 8 + (size_t)i] << (8 * i);
    plen -= 4;
    for (int i = 0; i < 8; i++)
        out->data[pos - 8 + (size_t)i] = (uint8_t)(plen >> (8 * i));
    sr_buf_append(out, "GRU4", 4);
    sr_buf_u32(out, 1);
    sr_buf_append(out, b->data + pos + 12, b->len - 4 - (pos + 12));
    sr_buf_u32(out, sr_crc32(0, out->data, out->len));
}

static void test_old_onehot_files(void)
{
    sr_split tr;
    make_split(&tr, 200, 1, succ_a, 0, N_ITEMS);
    sr_gru_params p = params("layers=8,constrained_embedding=False,batch_size=16,n_sample=10,"
                             "n_epochs=1");
    sr_error err = {0};
    sr_model *m = NULL, *old = NULL, *w = NULL;
    sr_train_opts o = sr_train_default_opts();
    CHECK(train(&tr, &p, &o, &m, &err) == SR_OK);
    sr_buf b = {0}, v1 = {0}, again = {0};
    to_bytes(m, &b);
    CHECK_EQ_INT(payload_version(&b), 2);
    to_version1(&b, &v1);
    CHECK_MSG(sr_model_load_mem(v1.data, v1.len, "v1", &old, &err) == SR_OK, "%s", err.msg);
    if (old) {
        /* the same weights scored with the earlier cell: other scores */
        sr_scorer *sa = sr_scorer_new(m, 1), *sb = sr_scorer_new(old, 1);
        float fa[N_ITEMS], fb[N_ITEMS];
        int32_t items[3] = {0, 5, 9};
        sr_scorer_reset(sa, 0);
        sr_scorer_reset(sb, 0);
        for (int k = 0; k < 3; k++) {
            sr_scorer_step(sa, &items[k], 1, fa);
            sr_scorer_step(sb, &items[k], 1, fb);
        }
        CHECK(memcmp(fa, fb, sizeof fa) != 0);
        sr_scorer_free(sa);
        sr_scorer_free(sb);
        /* saved again as it was read; no warm start from it */
        to_bytes(old, &again);
        CHECK(again.len == v1.len && !memcmp(again.data, v1.data, v1.len));
        o.init = old;
        CHECK(train(&tr, &p, &o, &w, &err) == SR_ERR_ARG && !w);
        CHECK_MSG(strstr(err.msg, "GRUCell form") != NULL, "%s", err.msg);
    }
    sr_model_free(m);
    sr_model_free(old);
    sr_buf_free(&b);
    sr_buf_free(&v1);
    sr_buf_free(&again);
    sr_split_free(&tr);
}

/* Every truncation of a payload with a training state is rejected, never a crash
 * (the container's CRC keeps corruptions away; the payload parser must hold
 * on its own: fuzz/fuzz_gru_payload.c). */
static void test_state_payload_truncations(void)
{
    sr_split tr;
    make_split(&tr, 100, 1, succ_a, 0, N_ITEMS);
    sr_gru_params p = params("layers=6,constrained_embedding=False,batch_size=8,n_sample=5,"
                             "momentum=0.4,sample_store_size=50,n_epochs=1");
    sr_error err = {0};
    sr_model *m = NULL;
    sr_train_opts o = sr_train_default_opts();
    o.save_optimizer = 1;
    CHECK(train(&tr, &p, &o, &m, &err) == SR_OK);
    sr_buf b = {0};
    if (m && m->vt->serialize(m, &b) == SR_OK) {
        int rejected = 1;
        for (size_t n = 0; n < b.len; n++) {
            int64_t none = 0;
            sr_model *x = sr_model_new_shell(&sr_gru4rec_vt, 0, &none);
            sr_status st = sr_gru4rec_vt.deserialize(x, b.data, n, &err);
            rejected &= st == SR_ERR_FORMAT;
            sr_model_free(x);
        }
        CHECK(rejected);
        int64_t none = 0;
        sr_model *x = sr_model_new_shell(&sr_gru4rec_vt, 0, &none);
        CHECK(sr_gru4rec_vt.deserialize(x, b.data, b.len, &err) == SR_OK);
        sr_model_free(x);
    }
    sr_buf_free(&b);
    sr_model_free(m);
    sr_split_free(&tr);
}

/* ---- checkpoints, dropout that reaches no layer ------------------------------------ */

static void test_checkpoint_files(void)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/sr_trainctl_ck_%d", (int)getpid());
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    sr_split tr;
    make_split(&tr, 200, 1, succ_a, 0, N_ITEMS);
    sr_gru_params p = params("layers=8,batch_size=16,n_sample=10,n_epochs=3");
    sr_error err = {0};
    sr_model *m = NULL, *ck = NULL;
    ep_log log;
    memset(&log, 0, sizeof log);
    sr_train_opts o = sr_train_default_opts();
    o.checkpoint_every = 2;
    o.checkpoint_path = path;
    o.on_epoch = on_epoch;
    o.ud = &log;
    CHECK(train(&tr, &p, &o, &m, &err) == SR_OK);
    CHECK_EQ_INT(log.checkpoints, 1); /* after epoch 2 of 3 */
    int done = -1;
    CHECK(sr_model_load(path, &ck, &err) == SR_OK);
    CHECK(sr_model_gru_params(ck, NULL, &done) == SR_OK);
    CHECK_EQ_INT(done, 2);
    int files = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        files += e->d_name[0] != '.';
    if (d)
        closedir(d);
    CHECK_EQ_INT(files, 1); /* no temporary file left */
    unlink(path);
    rmdir(dir);
    sr_model_free(m);
    sr_model_free(ck);
    sr_split_free(&tr);
}

static void test_dropout_reaching_no_layer(void)
{
    sr_split tr;
    make_split(&tr, 100, 1, succ_a, 0, N_ITEMS);
    sr_error err = {0};
    sr_model *m = NULL;
    sr_train_opts o = sr_train_default_opts();
    sr_gru_params p = params("layers=8,constrained_embedding=False,embedding=0,"
                             "dropout_p_hidden=0.1,n_epochs=1,batch_size=16,n_sample=10");
    CHECK(train(&tr, &p, &o, &m, &err) == SR_ERR_ARG && !m);
    CHECK_MSG(strstr(err.msg, "dropout_p_hidden=0.1 reaches no layer") != NULL, "%s", err.msg);
    /* with a second layer it reaches that one */
    p.n_layers = 2;
    p.layers[1] = 6;
    CHECK(train(&tr, &p, &o, &m, &err) == SR_OK);
    sr_model_free(m);
    m = NULL;
    /* the tutorial preset's dropout now changes the weights */
    sr_gru_params t = sr_gru_default_params();
    CHECK(sr_gru_params_preset(&t, "tutorial", &err) == SR_OK);
    t.n_epochs = 1;
    t.batch_size = 16;
    t.layers[0] = 8;
    sr_buf a = {0}, b = {0};
    CHECK(train(&tr, &t, &o, &m, &err) == SR_OK);
    to_bytes(m, &a);
    sr_model_free(m);
    t.dropout_p_embed = 0;
    CHECK(train(&tr, &t, &o, &m, &err) == SR_OK);
    to_bytes(m, &b);
    sr_model_free(m);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) != 0);
    sr_buf_free(&a);
    sr_buf_free(&b);
    sr_split_free(&tr);
}

/* ---- the command line ------------------------------------------------------------- */

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

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static void test_cli(void)
{
    const char *d = test_tmpdir();
    char tr[512], va[512], m3[512], m1[512], mr[512], mw[512], pf[512], args[4096];
    snprintf(tr, sizeof tr, "%s/tc_train.tsv", d);
    snprintf(va, sizeof va, "%s/tc_valid.tsv", d);
    snprintf(m3, sizeof m3, "%s/tc_m3.srm", d);
    snprintf(m1, sizeof m1, "%s/tc_m1.srm", d);
    snprintf(mr, sizeof mr, "%s/tc_mr.srm", d);
    snprintf(mw, sizeof mw, "%s/tc_mw.srm", d);
    snprintf(pf, sizeof pf, "%s/tc_params.py", d);
    sr_split a, b;
    make_split(&a, 400, 1, succ_a, 0, N_ITEMS);
    make_split(&b, 150, 2, succ_b, 0, N_ITEMS);
    write_tsv(&a, tr);
    write_tsv(&b, va);
    sr_split_free(&a);
    sr_split_free(&b);
    FILE *f = fopen(pf, "w");
    fprintf(f, "from collections import OrderedDict\ngru4rec_params = OrderedDict([\n"
               "('loss', 'cross-entropy'), ('layers', [16]), ('batch_size', 16),\n"
               "('n_sample', 20), ('learning_rate', 0.2), ('n_epochs', 12)\n])\n");
    fclose(f);
    char *o = NULL, *e = NULL;

    /* early stopping, reported by --json */
    snprintf(args, sizeof args, "train %s -o %s --params-file %s --valid %s --cutoffs 10,20 "
             "--patience 2 --json --threads 1", tr, m3, pf, va);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 0);
    CHECK_MSG(o && strstr(o, "\"stopped_early\": true") && strstr(o, "\"best_epoch\": ") &&
              strstr(o, "\"cutoff\": 10") && strstr(o, "\"model_epoch\": "), "%s%s", o, e);
    free(o);
    free(e);
    snprintf(args, sizeof args, "train %s -o %s --params-file %s --valid %s --patience 2 "
             "--threads 1", tr, m3, pf, va);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 0);
    CHECK_MSG(o && strstr(o, "early stop: no better validation recall for 2 epochs") &&
              strstr(o, "(the best)") && strstr(o, "*best"), "%s%s", o, e);
    free(o);
    free(e);

    /* 3 epochs == 1 + resume 2, and the checkpoint file */
    snprintf(args, sizeof args, "train %s -o %s -p layers=12,batch_size=16,n_sample=10,"
             "n_epochs=3,dropout_p_embed=0.1 --save-optimizer -q --threads 1", tr, m3);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 0);
    free(o);
    free(e);
    snprintf(args, sizeof args, "train %s -o %s -p layers=12,batch_size=16,n_sample=10,"
             "n_epochs=1,dropout_p_embed=0.1 --checkpoint-every 1 -q --threads 1", tr, m1);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 0);
    free(o);
    free(e);
    snprintf(args, sizeof args, "train %s -o %s --resume %s.ckpt -p n_epochs=3 "
             "--save-optimizer --threads 1", tr, mr, m1);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 0);
    CHECK_MSG(o && strstr(o, "resuming after epoch 1 of 3") && strstr(o, "epoch  3/3") &&
              !strstr(o, "epoch  1/3"), "%s%s", o, e);
    free(o);
    free(e);
    CHECK(same_file(m3, mr));
    snprintf(args, sizeof args, "train %s -o %s --resume %s -p n_epochs=3 --threads 1", tr, mr,
             m1);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 1); /* m1 itself has no optimizer state */
    CHECK_MSG(e && strstr(e, "no optimizer state"), "%s", e);
    free(o);
    free(e);

    /* warm start from a file */
    snprintf(args, sizeof args, "train %s -o %s --init %s -p n_epochs=1 --threads 1", va, mw, m3);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 0);
    CHECK_MSG(o && strstr(o, "warm start from its 40 items and optimizer state"), "%s%s", o, e);
    free(o);
    free(e);
    snprintf(args, sizeof args, "train %s -o %s --init %s -p layers=13 --threads 1", va, mw, m3);
    CHECK_EQ_INT(cli_run(args, NULL, &o, &e), 1);
    CHECK_MSG(e && strstr(e, "differs"), "%s", e);
    free(o);
    free(e);
    char ck[600];
    snprintf(ck, sizeof ck, "%s.ckpt", m1);
    unlink(ck);
    unlink(m1);
    unlink(m3);
    unlink(mr);
    unlink(mw);
    unlink(tr);
    unlink(va);
    unlink(pf);
}

int main(void)
{
    RUN(test_resume_bit_identical);
    RUN(test_resume_refusals);
    RUN(test_early_stopping);
    RUN(test_warm_start);
    RUN(test_old_onehot_files);
    RUN(test_state_payload_truncations);
    RUN(test_checkpoint_files);
    RUN(test_dropout_reaching_no_layer);
    RUN(test_cli);
    return test_summary();
}
