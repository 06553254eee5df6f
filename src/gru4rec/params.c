/*
 * params.c - GRU4Rec hyperparameters: the official defaults, the official
 * "name=value,name=value" syntax (layers=100/100, constrained_embedding=True,
 * loss=bpr-max ...), named presets and a one-line, re-parseable description.
 * Never prints; every bad name or value is an SR_ERR_ARG naming it.
 */
#include "gru4rec/params.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sr_gru_params sr_gru_default_params(void)
{
    /* gru4rec_pytorch.py GRU4Rec.__init__ and fit() defaults. */
    sr_gru_params p;
    memset(&p, 0, sizeof p);
    p.n_layers = 1;
    p.layers[0] = 100;
    p.embedding = 0;
    p.constrained_embedding = 1;
    p.loss = SR_LOSS_XE;
    p.optim = SR_OPT_ADAGRAD;
    p.batch_size = 64;
    p.dropout_p_embed = 0.0f;
    p.dropout_p_hidden = 0.0f;
    p.learning_rate = 0.05f;
    p.momentum = 0.0f;
    p.adam_beta1 = 0.9f;   /* torch.optim.Adam defaults */
    p.adam_beta2 = 0.999f;
    p.adam_eps = 1e-8f;
    p.n_sample = 2048;
    p.sample_alpha = 0.5f;
    p.sample_store = 10000000;
    p.logq = 0.0f;
    p.bpreg = 1.0f;
    p.elu_param = 0.5f;
    p.n_epochs = 10;
    p.seed = 42;
    return p;
}

/* ---- value parsers: whole string, range-checked ----------------------------- */

/* The most units of a layer or embedding: what the network accepts (gru4rec.c). */
#define MAX_UNITS 16384

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (parse_i64(s, lo, hi, &v))
        return -1;
    *out = (int)v;
    return 0;
}

/* lo_open: the value must be > lo (else >= lo); hi_open likewise. */
static int parse_float(const char *s, double lo, int lo_open, double hi, int hi_open, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi || (lo_open && v == lo) ||
        (hi_open && v == hi))
        return -1;
    *out = (float)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "True") || !strcmp(s, "true") || !strcmp(s, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "False") || !strcmp(s, "false") || !strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_layers(const char *s, sr_gru_params *p)
{
    int n = 0, v[SR_MAX_LAYERS];
    const char *a = s;
    for (;;) {
        const char *b = strchr(a, '/');
        size_t len = b ? (size_t)(b - a) : strlen(a);
        char tmp[32];
        if (n == SR_MAX_LAYERS || len == 0 || len >= sizeof tmp)
            return -1;
        memcpy(tmp, a, len);
        tmp[len] = 0;
        if (parse_int(tmp, 1, MAX_UNITS, &v[n]))
            return -1;
        n++;
        if (!b)
            break;
        a = b + 1;
    }
    p->n_layers = n;
    for (int i = 0; i < SR_MAX_LAYERS; i++)
        p->layers[i] = i < n ? v[i] : 0;
    return 0;
}

static int parse_loss(const char *s, sr_loss *out)
{
    if (!strcmp(s, "cross-entropy") || !strcmp(s, "xe") || !strcmp(s, "ce"))
        *out = SR_LOSS_XE;
    else if (!strcmp(s, "bpr-max"))
        *out = SR_LOSS_BPR_MAX;
    else if (!strcmp(s, "full-cross-entropy") || !strcmp(s, "full-xe") || !strcmp(s, "full-ce"))
        *out = SR_LOSS_FULL_XE;
    else
        return -1;
    return 0;
}

static const char *loss_name(sr_loss l)
{
    switch (l) {
    case SR_LOSS_XE: return "cross-entropy";
    case SR_LOSS_BPR_MAX: return "bpr-max";
    case SR_LOSS_FULL_XE: return "full-cross-entropy";
    }
    return "?";
}

/* ---- the table of names ------------------------------------------------------- */

/* Sets one parameter; returns 0, or -1 for a bad value, -2 for an unknown name.
 * `expect` receives a description of the accepted values. */
static int set_one(sr_gru_params *p, const char *name, const char *v, const char **expect)
{
    int64_t i64;
#define IS(n) (!strcmp(name, n))
    if (IS("layers")) {
        *expect = "1 to 4 sizes in [1, 16384] separated by '/', e.g. 100 or 480/480";
        return parse_layers(v, p);
    }
    if (IS("loss")) {
        *expect = "cross-entropy (xe, ce), bpr-max or full-cross-entropy";
        return parse_loss(v, &p->loss);
    }
    if (IS("constrained_embedding")) {
        *expect = "True or False (1/0, true/false)";
        return parse_bool(v, &p->constrained_embedding);
    }
    if (IS("embedding")) {
        *expect = "an integer in [0, 16384]";
        return parse_int(v, 0, MAX_UNITS, &p->embedding);
    }
    if (IS("batch_size")) {
        *expect = "an integer in [1, 1048576]";
        return parse_int(v, 1, 1 << 20, &p->batch_size);
    }
    if (IS("dropout_p_embed")) {
        *expect = "a number in [0, 1)";
        return parse_float(v, 0, 0, 1, 1, &p->dropout_p_embed);
    }
    if (IS("dropout_p_hidden")) {
        *expect = "a number in [0, 1)";
        return parse_float(v, 0, 0, 1, 1, &p->dropout_p_hidden);
    }
    if (IS("learning_rate") || IS("lr")) {
        *expect = "a number > 0";
        return parse_float(v, 0, 1, FLT_MAX, 0, &p->learning_rate);
    }
    if (IS("momentum")) {
        *expect = "a number in [0, 1)";
        return parse_float(v, 0, 0, 1, 1, &p->momentum);
    }
    if (IS("n_sample")) {
        *expect = "an integer in [0, 16777216]";
        return parse_int(v, 0, 1 << 24, &p->n_sample);
    }
    if (IS("sample_alpha")) {
        *expect = "a number in [0, 10]";
        return parse_float(v, 0, 0, 10, 0, &p->sample_alpha);
    }
    if (IS("sample_store_size") || IS("sample_store") || IS("sample_cache_max_size")) {
        *expect = "an integer in [0, 1000000000]";
        if (parse_i64(v, 0, 1000000000, &i64))
            return -1;
        p->sample_store = i64;
        return 0;
    }
    if (IS("logq")) {
        *expect = "a number in [0, 100]";
        return parse_float(v, 0, 0, 100, 0, &p->logq);
    }
    if (IS("bpreg")) {
        *expect = "a number in [0, 1e6]";
        return parse_float(v, 0, 0, 1e6, 0, &p->bpreg);
    }
    if (IS("elu_param")) {
        *expect = "a number in [0, 1e6] (0 = no ELU)";
        return parse_float(v, 0, 0, 1e6, 0, &p->elu_param);
    }
    if (IS("n_epochs")) {
        *expect = "an integer in [0, 100000]";
        return parse_int(v, 0, 100000, &p->n_epochs);
    }
    if (IS("optim") || IS("optimizer")) {
        *expect = "adagrad or adam";
        if (!strcmp(v, "adagrad"))
            p->optim = SR_OPT_ADAGRAD;
        else if (!strcmp(v, "adam"))
            p->optim = SR_OPT_ADAM;
        else
            return -1;
        return 0;
    }
    if (IS("adam_beta1")) {
        *expect = "a number in [0, 1)";
        return parse_float(v, 0, 0, 1, 1, &p->adam_beta1);
    }
    if (IS("adam_beta2")) {
        *expect = "a number in [0, 1)";
        return parse_float(v, 0, 0, 1, 1, &p->adam_beta2);
    }
    if (IS("adam_eps")) {
        *expect = "a number in (0, 1]";
        return parse_float(v, 0, 1, 1, 0, &p->adam_eps);
    }
    if (IS("seed")) {
        char *end;
        *expect = "an unsigned 64-bit integer";
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (!*v || *end || errno || !isdigit((unsigned char)v[0]))
            return -1;
        p->seed = u;
        return 0;
    }
#undef IS
    return -2;
}

static const char known_names[] =
    "layers, loss, constrained_embedding, embedding, batch_size, dropout_p_embed, "
    "dropout_p_hidden, learning_rate, momentum, n_sample, sample_alpha, sample_store_size, "
    "logq, bpreg, elu_param, n_epochs, optim, adam_beta1, adam_beta2, adam_eps, seed";

/* Trims ASCII white space in place; returns the start. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

sr_status sr_gru_params_parse(sr_gru_params *p, const char *spec, sr_error *err)
{
    if (!spec)
        return SR_OK;
    size_t len = strlen(spec);
    char *copy = malloc(len + 1);
    if (!copy)
        return sr_error_set(err, SR_ERR_NOMEM, "out of memory parsing parameters");
    memcpy(copy, spec, len + 1);
    sr_gru_params q = *p; /* all or nothing: p is only changed on success */
    sr_status st = SR_OK;
    char *save = copy;
    while (save) {
        char *tok = save;
        char *sep = strpbrk(save, ",\n");
        if (sep) {
            *sep = 0;
            save = sep + 1;
        } else {
            save = NULL;
        }
        tok = trim(tok);
        if (!*tok)
            continue;
        char *eq = strchr(tok, '=');
        if (!eq) {
            st = sr_error_set(err, SR_ERR_ARG, "parameter '%s': expected name=value", tok);
            break;
        }
        *eq = 0;
        char *name = trim(tok), *val = trim(eq + 1);
        const char *expect = "";
        int r = set_one(&q, name, val, &expect);
        if (r == -2) {
            st = sr_error_set(err, SR_ERR_ARG, "unknown parameter '%s' (known: %s)", name,
                              known_names);
            break;
        }
        if (r == -1) {
            st = sr_error_set(err, SR_ERR_ARG, "parameter %s: bad value '%s' (expected %s)",
                              name, val, expect);
            break;
        }
    }
    free(copy);
    if (st == SR_OK)
        *p = q;
    return st;
}

/* ---- presets ------------------------------------------------------------------------ */

static const struct {
    const char *name, *spec;
} presets[] = {
    /* The official tuned RSC15 settings (GRU4REC.md). */
    {"rsc15", "loss=cross-entropy,constrained_embedding=True,embedding=0,layers=100,"
              "batch_size=32,dropout_p_embed=0.1,dropout_p_hidden=0,learning_rate=0.1,"
              "momentum=0,n_sample=2048,sample_alpha=0.75,logq=1,n_epochs=10"},
    /* The tutorial notebook: one-hot input, GRU(50), Dropout(0.1) on its output,
     * Dense softmax over all items, Adam(lr=0.001), batch 1024, 3 epochs. With
     * one-hot input the GRU layer is the official GRUEmbedding layer 0, whose
     * output takes dropout_p_embed (dropout_p_hidden would reach no layer). */
    {"tutorial", "loss=full-cross-entropy,constrained_embedding=False,embedding=0,layers=50,"
                 "batch_size=1024,dropout_p_embed=0.1,dropout_p_hidden=0,optim=adam,"
                 "learning_rate=0.001,momentum=0,n_sample=0,logq=0,n_epochs=3"},
};

sr_status sr_gru_params_preset(sr_gru_params *p, const char *name, sr_error *err)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (name && !strcmp(name, presets[i].name)) {
            sr_gru_params q = sr_gru_default_params();
            sr_status st = sr_gru_params_parse(&q, presets[i].spec, err);
            if (st == SR_OK)
                *p = q;
            return st;
        }
    return sr_error_set(err, SR_ERR_ARG, "unknown preset '%s' (known: rsc15, tutorial)",
                        name ? name : "(null)");
}

/* ---- formatting ------------------------------------------------------------------------ */

/* Shortest %g text that reads back as the same float. */
static void fmt_float(char *buf, size_t n, float v)
{
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            return;
    }
}

void sr_gru_params_format(const sr_gru_params *p, char *buf, size_t len)
{
    if (!len)
        return;
    char layers[SR_MAX_LAYERS * 12] = "";
    for (int i = 0; i < p->n_layers && i < SR_MAX_LAYERS; i++) {
        size_t o = strlen(layers);
        snprintf(layers + o, sizeof layers - o, "%s%d", i ? "/" : "", p->layers[i]);
    }
    char de[32], dh[32], lr[32], mo[32], sa[32], lq[32], bp[32], el[32];
    fmt_float(de, sizeof de, p->dropout_p_embed);
    fmt_float(dh, sizeof dh, p->dropout_p_hidden);
    fmt_float(lr, sizeof lr, p->learning_rate);
    fmt_float(mo, sizeof mo, p->momentum);
    fmt_float(sa, sizeof sa, p->sample_alpha);
    fmt_float(lq, sizeof lq, p->logq);
    fmt_float(bp, sizeof bp, p->bpreg);
    fmt_float(el, sizeof el, p->elu_param);
    int o = snprintf(buf, len,
                     "layers=%s,loss=%s,constrained_embedding=%s,embedding=%d,batch_size=%d,"
                     "dropout_p_embed=%s,dropout_p_hidden=%s,learning_rate=%s,momentum=%s,"
                     "n_sample=%d,sample_alpha=%s,sample_store_size=%lld,logq=%s,bpreg=%s,"
                     "elu_param=%s,n_epochs=%d,optim=%s",
                     layers, loss_name(p->loss), p->constrained_embedding ? "True" : "False",
                     p->embedding, p->batch_size, de, dh, lr, mo, p->n_sample, sa,
                     (long long)p->sample_store, lq, bp, el, p->n_epochs,
                     p->optim == SR_OPT_ADAM ? "adam" : "adagrad");
    if (o > 0 && (size_t)o < len && p->optim == SR_OPT_ADAM) {
        char b1[32], b2[32], ep[32];
        fmt_float(b1, sizeof b1, p->adam_beta1);
        fmt_float(b2, sizeof b2, p->adam_beta2);
        fmt_float(ep, sizeof ep, p->adam_eps);
        o += snprintf(buf + o, len - (size_t)o, ",adam_beta1=%s,adam_beta2=%s,adam_eps=%s", b1,
                      b2, ep);
    }
    if (o > 0 && (size_t)o < len)
        snprintf(buf + o, len - (size_t)o, ",seed=%llu", (unsigned long long)p->seed);
}

/* ---- checks of a filled struct ------------------------------------------------------------ */

static int frange(float v, double lo, int lo_open, double hi, int hi_open)
{
    return isfinite(v) && v >= lo && v <= hi && !(lo_open && v == lo) && !(hi_open && v == hi);
}

sr_status sr_gru_params_check(const sr_gru_params *p, sr_error *err)
{
    if (p->n_layers < 1 || p->n_layers > SR_MAX_LAYERS)
        return sr_error_set(err, SR_ERR_ARG, "parameter layers: %d layers (expected 1 to %d)",
                            p->n_layers, SR_MAX_LAYERS);
    for (int i = 0; i < p->n_layers; i++)
        if (p->layers[i] < 1 || p->layers[i] > MAX_UNITS)
            return sr_error_set(err, SR_ERR_ARG, "parameter layers: size %d of layer %d (expected 1 to %d)",
                                p->layers[i], i + 1, MAX_UNITS);
#define BAD(name, fmt, v) sr_error_set(err, SR_ERR_ARG, "parameter " name ": bad value " fmt, v)
    if (p->embedding < 0 || p->embedding > MAX_UNITS)
        return BAD("embedding", "%d", p->embedding);
    if (p->constrained_embedding != 0 && p->constrained_embedding != 1)
        return BAD("constrained_embedding", "%d", p->constrained_embedding);
    if (p->loss != SR_LOSS_XE && p->loss != SR_LOSS_BPR_MAX && p->loss != SR_LOSS_FULL_XE)
        return BAD("loss", "%d", (int)p->loss);
    if (p->optim != SR_OPT_ADAGRAD && p->optim != SR_OPT_ADAM)
        return BAD("optim", "%d", (int)p->optim);
    if (p->batch_size < 1 || p->batch_size > (1 << 20))
        return BAD("batch_size", "%d", p->batch_size);
    if (!frange(p->dropout_p_embed, 0, 0, 1, 1))
        return BAD("dropout_p_embed", "%g", (double)p->dropout_p_embed);
    if (!frange(p->dropout_p_hidden, 0, 0, 1, 1))
        return BAD("dropout_p_hidden", "%g", (double)p->dropout_p_hidden);
    if (!frange(p->learning_rate, 0, 1, FLT_MAX, 0))
        return BAD("learning_rate", "%g", (double)p->learning_rate);
    if (!frange(p->momentum, 0, 0, 1, 1))
        return BAD("momentum", "%g", (double)p->momentum);
    if (!frange(p->adam_beta1, 0, 0, 1, 1))
        return BAD("adam_beta1", "%g", (double)p->adam_beta1);
    if (!frange(p->adam_beta2, 0, 0, 1, 1))
        return BAD("adam_beta2", "%g", (double)p->adam_beta2);
    if (!frange(p->adam_eps, 0, 1, 1, 0))
        return BAD("adam_eps", "%g", (double)p->adam_eps);
    if (p->n_sample < 0 || p->n_sample > (1 << 24))
        return BAD("n_sample", "%d", p->n_sample);
    if (!frange(p->sample_alpha, 0, 0, 10, 0))
        return BAD("sample_alpha", "%g", (double)p->sample_alpha);
    if (p->sample_store < 0 || p->sample_store > 1000000000)
        return BAD("sample_store_size", "%lld", (long long)p->sample_store);
    if (!frange(p->logq, 0, 0, 100, 0))
        return BAD("logq", "%g", (double)p->logq);
    if (!frange(p->bpreg, 0, 0, 1e6, 0))
        return BAD("bpreg", "%g", (double)p->bpreg);
    if (!frange(p->elu_param, 0, 0, 1e6, 0))
        return BAD("elu_param", "%g", (double)p->elu_param);
    if (p->n_epochs < 0 || p->n_epochs > 100000)
        return BAD("n_epochs", "%d", p->n_epochs);
#undef BAD
    if (p->loss == SR_LOSS_BPR_MAX && p->batch_size + p->n_sample < 2)
        return sr_error_set(err, SR_ERR_ARG,
                            "loss bpr-max needs at least one negative: batch_size + n_sample "
                            "must be >= 2 (got %d + %d)", p->batch_size, p->n_sample);
    return SR_OK;
}

sr_status sr_gru_params_check_used(const sr_gru_params *p, sr_error *err)
{
    int onehot = !p->constrained_embedding && p->embedding == 0;
    if (onehot && p->n_layers == 1 && p->dropout_p_hidden > 0)
        return sr_error_set(err, SR_ERR_ARG,
                            "parameter dropout_p_hidden=%g reaches no layer: with one-hot input "
                            "(constrained_embedding=False, embedding=0) the only GRU layer is "
                            "the input layer, whose output takes dropout_p_embed (as in the "
                            "official code); set dropout_p_embed instead",
                            (double)p->dropout_p_hidden);
    return SR_OK;
}
