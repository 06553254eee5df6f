/*
 * params.c - GRU4Rec hyperparameters: the official defaults, the official
 * "name=value,name=value" syntax (layers=100/100, constrained_embedding=True,
 * loss=bpr-max, embedding=layersize ...), the official Python parameter files
 * (gru4rec_params = OrderedDict([...])), named presets and a one-line,
 * re-parseable description. Names of the official code (PyTorch and Theano
 * versions) that sessrec does not implement are refused with an error that
 * says so, unless their value is what sessrec does anyway.
 * gru4rec's row of the algorithm table is in algo.c.
 * Never prints; every bad name or value is an SR_ERR_ARG naming it.
 */
#include "gru4rec/params.h"
#include "gru4rec/gru4rec.h"

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

/* ---- the table of names ------------------------------------------------------- */

/* embedding=layersize: resolved to layers[0] once the whole string (or file)
 * is read, as the official set_params does. */
#define LAYERSIZE (-1)

/* Names of the official GRU4Rec (PyTorch and the older Theano version) that
 * sessrec does not implement, the one value (if any) that means what sessrec
 * does anyway, and what to do instead. */
static const struct {
    const char *name, *ok, *instead;
} not_implemented[] = {
    {"hidden_act", "tanh", "sessrec's GRU uses tanh"},
    {"adapt_params", "[]", "set adam_beta1, adam_beta2, adam_eps"},
    {"grad_cap", "0", "sessrec does not clip gradients"},
    {"lmbd", "0", "sessrec has no L2 regularisation"},
    {"sigma", "0", "sessrec initialises uniform in +-sqrt(6/(fan_in+fan_out))"},
    {"init_as_normal", "False", "sessrec initialises uniform"},
    {"smoothing", "0", "sessrec has no label smoothing"},
    {"train_random_order", "False", "sessrec trains sessions in time order"},
    {"time_sort", "True", "sessrec trains sessions in time order"},
    {"reset_after_session", "True", "sessrec resets the hidden state of each new session"},
    {"decay", "0.9", "used by the rmsprop/adadelta optimizers, which sessrec does not have"},
    {"session_key", "SessionId", "give the column names to 'sessrec prepare --session-key'"},
    {"item_key", "ItemId", "give the column names to 'sessrec prepare --item-key'"},
    {"time_key", "Time", "give the column names to 'sessrec prepare --time-key'"},
    {"device", "cpu", "sessrec trains on the CPU"},
    {"loss_function", NULL, "set loss"},
};

/* Whether text v means the number/boolean/string `ok`. */
static int same_value(const char *v, const char *ok)
{
    if (!strcmp(v, ok))
        return 1;
    char *e1, *e2;
    double a = strtod(v, &e1), b = strtod(ok, &e2);
    if (*v && *ok && !*e1 && !*e2)
        return a == b;
    int x, y;
    return !parse_bool(v, &x) && !parse_bool(ok, &y) && x == y;
}

/* Sets one parameter; returns 0, or -1 for a bad value, -2 for an unknown name.
 * `expect` receives a description of the accepted values. */
static int set_one(sr_gru_params *p, const char *name, const char *v, const char **expect)
{
    int64_t i64;
#define IS(n) (!strcmp(name, n))
    if (IS("final_act")) { /* the Theano version's output activations that sessrec has */
        *expect = "linear, softmax (with cross-entropy) or elu-X (bpr-max's elu_param=X); "
                  "the others are not implemented by sessrec";
        if (!strcmp(v, "linear"))
            p->elu_param = 0;
        else if (!strncmp(v, "elu-", 4))
            return parse_float(v + 4, 0, 0, 1e6, 0, &p->elu_param);
        else if (strcmp(v, "softmax") || p->loss != SR_LOSS_XE)
            return -1;
        return 0;
    }
    if (IS("adapt")) { /* the Theano version's name of the optimizer */
        *expect = "adagrad or adam (rmsprop and adadelta are not implemented by sessrec)";
        if (!strcmp(v, "adagrad"))
            p->optim = SR_OPT_ADAGRAD;
        else if (!strcmp(v, "adam"))
            p->optim = SR_OPT_ADAM;
        else
            return -1;
        return 0;
    }
    if (IS("layers")) {
        *expect = "1 to 4 sizes in [1, 16384] separated by '/', e.g. 100 or 480/480";
        return parse_layers(v, p);
    }
    if (IS("loss")) {
        *expect = "cross-entropy (xe, ce), bpr-max or full-cross-entropy (the official "
                  "top1, bpr, top1-max and xe_logit are not implemented by sessrec)";
        return sr_loss_parse(v, &p->loss, NULL) == SR_OK ? 0 : -1;
    }
    if (IS("constrained_embedding")) {
        *expect = "True or False (1/0, true/false)";
        return parse_bool(v, &p->constrained_embedding);
    }
    if (IS("embedding")) {
        *expect = "an integer in [0, 16384] or layersize (the size of the first layer)";
        if (!strcmp(v, "layersize")) {
            p->embedding = LAYERSIZE;
            return 0;
        }
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
        return sr_optim_parse(v, &p->optim, NULL) == SR_OK ? 0 : -1;
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

/* Applies name=value to q; `where` ("" or "file:line: ") starts the error. */
static sr_status apply(sr_gru_params *q, const char *name, const char *val, const char *where,
                       sr_error *err)
{
    const char *expect = "";
    int r = set_one(q, name, val, &expect);
    if (r == 0)
        return SR_OK;
    if (r == -1)
        return sr_error_set(err, SR_ERR_ARG, "%sparameter %s: bad value '%s' (expected %s)",
                            where, name, val, expect);
    for (size_t i = 0; i < sizeof not_implemented / sizeof not_implemented[0]; i++) {
        if (strcmp(name, not_implemented[i].name))
            continue;
        if (not_implemented[i].ok && same_value(val, not_implemented[i].ok))
            return SR_OK; /* what sessrec does anyway */
        return sr_error_set(err, SR_ERR_ARG, "%sparameter %s=%s of the official GRU4Rec is not "
                            "implemented by sessrec (%s%s%s)", where, name, val,
                            not_implemented[i].instead,
                            not_implemented[i].ok ? "; accepted value: " : "",
                            not_implemented[i].ok ? not_implemented[i].ok : "");
    }
    return sr_error_set(err, SR_ERR_ARG, "%sunknown parameter '%s' (known: %s)", where, name,
                        known_names);
}

static void resolve_layersize(sr_gru_params *q)
{
    if (q->embedding == LAYERSIZE)
        q->embedding = q->layers[0];
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
        if ((st = apply(&q, trim(tok), trim(eq + 1), "", err)) != SR_OK)
            break;
    }
    free(copy);
    resolve_layersize(&q);
    if (st == SR_OK)
        *p = q;
    return st;
}

/* ---- parameter files ------------------------------------------------------------------ */

/* A reader of the Python subset of the official parameter files. */
typedef struct pyrd {
    const char *s;
    int line;
} pyrd;

/* Skips white space, line continuations and # comments. */
static void py_ws(pyrd *t)
{
    for (;;) {
        char c = *t->s;
        if (c == '\n')
            t->line++, t->s++;
        else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\\')
            t->s++;
        else if (c == '#')
            while (*t->s && *t->s != '\n')
                t->s++;
        else
            return;
    }
}

static int py_lit(pyrd *t, char c)
{
    py_ws(t);
    if (*t->s != c)
        return 0;
    t->s++;
    return 1;
}

static int py_word(pyrd *t, const char *w)
{
    py_ws(t);
    size_t n = strlen(w);
    if (strncmp(t->s, w, n) || isalnum((unsigned char)t->s[n]) || t->s[n] == '_')
        return 0;
    t->s += n;
    return 1;
}

/* One value as the text the name=value syntax takes: a quoted string, a
 * number, True/False, or a list/tuple of them joined by '/' ([100, 100] ->
 * 100/100; [] -> []). Returns 0 or -1. */
static int py_value(pyrd *t, char *out, size_t n, int in_list)
{
    py_ws(t);
    char c = *t->s;
    size_t o = 0;
    if (c == '\'' || c == '"') {
        t->s++;
        while (*t->s && *t->s != c && *t->s != '\n') {
            if (o + 1 >= n)
                return -1;
            out[o++] = *t->s++;
        }
        if (*t->s != c)
            return -1;
        t->s++;
    } else if ((c == '[' || c == '(') && !in_list) {
        char close = c == '[' ? ']' : ')';
        t->s++;
        if (py_lit(t, close)) {
            snprintf(out, n, "[]");
            return 0;
        }
        for (;;) {
            char item[64];
            if (py_value(t, item, sizeof item, 1))
                return -1;
            size_t k = strlen(item);
            if (o + k + 2 >= n)
                return -1;
            if (o)
                out[o++] = '/';
            memcpy(out + o, item, k);
            o += k;
            if (py_lit(t, close))
                break;
            if (!py_lit(t, ','))
                return -1;
            if (py_lit(t, close))
                break;
        }
    } else {
        while (isalnum((unsigned char)*t->s) || *t->s == '.' || *t->s == '_' ||
               *t->s == '-' || *t->s == '+') {
            if (o + 1 >= n)
                return -1;
            out[o++] = *t->s++;
        }
        if (!o)
            return -1;
    }
    out[o] = 0;
    return 0;
}

/* gru4rec_params = OrderedDict([('name', value), ...]) or = {'name': value, ...} */
static sr_status parse_python(sr_gru_params *q, const char *text, const char *name,
                              sr_error *err)
{
    pyrd t = {text, 1};
    char where[300];
    /* find the assignment at the start of a line */
    const char *at = text;
    for (;;) {
        at = strstr(at, "gru4rec_params");
        if (!at)
            return sr_error_set(err, SR_ERR_ARG, "%s: no 'gru4rec_params = OrderedDict([...])' "
                                "in this Python parameter file", name);
        if (at == text || at[-1] == '\n')
            break;
        at++;
    }
    for (const char *c = text; c < at; c++)
        t.line += *c == '\n';
    t.s = at + strlen("gru4rec_params");
#define PYFAIL(what)                                                                       \
    return sr_error_set(err, SR_ERR_ARG, "%s:%d: %s (the official form: gru4rec_params = " \
                        "OrderedDict([('loss', 'bpr-max'), ('layers', [100]), ...]))",     \
                        name, t.line, what)
    if (!py_lit(&t, '='))
        PYFAIL("expected '=' after gru4rec_params");
    int dict = 0;
    if (py_lit(&t, '{')) {
        dict = 1;
    } else {
        if (py_word(&t, "collections") && !py_lit(&t, '.'))
            PYFAIL("expected collections.OrderedDict");
        if (!py_word(&t, "OrderedDict") || !py_lit(&t, '(') || !py_lit(&t, '['))
            PYFAIL("expected OrderedDict([ or {");
    }
    char close = dict ? '}' : ']';
    while (!py_lit(&t, close)) {
        char key[64], val[256];
        if (!dict && !py_lit(&t, '('))
            PYFAIL("expected ('name', value)");
        int line = (py_ws(&t), t.line);
        py_ws(&t);
        if ((*t.s != '\'' && *t.s != '"') || py_value(&t, key, sizeof key, 1))
            PYFAIL("expected a quoted parameter name");
        if (!py_lit(&t, dict ? ':' : ','))
            PYFAIL(dict ? "expected ':' after the name" : "expected ',' after the name");
        if (py_value(&t, val, sizeof val, 0))
            PYFAIL("expected a value: a number, a quoted string, True/False or a list");
        if (!dict && !py_lit(&t, ')'))
            PYFAIL("expected ')' after the value");
        snprintf(where, sizeof where, "%s:%d: ", name, line);
        sr_status st = apply(q, key, val, where, err);
        if (st != SR_OK)
            return st;
        if (!py_lit(&t, ',')) {
            if (!py_lit(&t, close))
                PYFAIL("expected ',' between the parameters");
            break;
        }
    }
    if (!dict && !py_lit(&t, ')'))
        PYFAIL("expected ')' closing OrderedDict(");
    py_ws(&t);
    if (*t.s)
        PYFAIL("unexpected text after gru4rec_params (only that assignment is read)");
#undef PYFAIL
    return SR_OK;
}

sr_status sr_gru_params_parse_text(sr_gru_params *p, const char *text, const char *name,
                                   sr_error *err)
{
    if (!name)
        name = "(parameters)";
    sr_gru_params q = *p;
    sr_status st = SR_OK;
    if (strstr(text, "gru4rec_params")) {
        st = parse_python(&q, text, name, err);
    } else {
        int line = 0;
        for (const char *a = text; *a && st == SR_OK;) {
            const char *b = strchr(a, '\n');
            size_t n = b ? (size_t)(b - a) : strlen(a);
            line++;
            char buf[1024], where[300];
            if (n >= sizeof buf)
                return sr_error_set(err, SR_ERR_ARG, "%s:%d: line too long", name, line);
            memcpy(buf, a, n);
            buf[n] = 0;
            char *hash = strchr(buf, '#');
            if (hash)
                *hash = 0;
            /* name=value[,name=value...] */
            for (char *tok = buf, *next; tok && st == SR_OK; tok = next) {
                next = strchr(tok, ',');
                if (next)
                    *next++ = 0;
                tok = trim(tok);
                if (!*tok)
                    continue;
                snprintf(where, sizeof where, "%s:%d: ", name, line);
                char *eq = strchr(tok, '=');
                if (!eq)
                    return sr_error_set(err, SR_ERR_ARG, "%sparameter '%s': expected name=value",
                                        where, tok);
                *eq = 0;
                st = apply(&q, trim(tok), trim(eq + 1), where, err);
            }
            a = b ? b + 1 : a + n;
        }
    }
    resolve_layersize(&q);
    if (st == SR_OK)
        *p = q;
    return st;
}

/* ---- presets ------------------------------------------------------------------------ */

const sr_preset_info sr_gru_presets[SR_GRU_N_PRESETS] = {
    /* The official tuned RSC15 settings (GRU4REC.md). */
    {"rsc15", "loss=cross-entropy,constrained_embedding=True,embedding=0,layers=100,"
              "batch_size=32,dropout_p_embed=0.1,dropout_p_hidden=0,learning_rate=0.1,"
              "momentum=0,n_sample=2048,sample_alpha=0.75,logq=1,n_epochs=10",
     "the official tuned RSC15 settings: cross-entropy, constrained embedding, layers=100, "
     "batch 32, dropout_p_embed 0.1, lr 0.1, 2048 samples, sample_alpha 0.75, logq 1, "
     "10 epochs"},
    /* The tutorial notebook: one-hot input, GRU(50), Dropout(0.1) on its output,
     * Dense softmax over all items, Adam(lr=0.001), batch 1024, 3 epochs. With
     * one-hot input the GRU layer is the official GRUEmbedding layer 0, whose
     * output takes dropout_p_embed (dropout_p_hidden would reach no layer). */
    {"tutorial", "loss=full-cross-entropy,constrained_embedding=False,embedding=0,layers=50,"
                 "batch_size=1024,dropout_p_embed=0.1,dropout_p_hidden=0,optim=adam,"
                 "learning_rate=0.001,momentum=0,n_sample=0,logq=0,n_epochs=3",
     "the tutorial notebook: one-hot input, one GRU layer of 50, dropout 0.1 on its output "
     "(dropout_p_embed: with one-hot input the first layer's output takes it), full softmax "
     "cross-entropy, Adam lr 0.001, batch 1024, 3 epochs"},
};
_Static_assert(sizeof sr_gru_presets / sizeof sr_gru_presets[0] == SR_GRU_N_PRESETS,
               "SR_GRU_N_PRESETS counts the presets");

sr_status sr_gru_params_preset(sr_gru_params *p, const char *name, sr_error *err)
{
    for (int i = 0; i < SR_GRU_N_PRESETS; i++)
        if (name && !strcmp(name, sr_gru_presets[i].name)) {
            sr_gru_params q = sr_gru_default_params();
            sr_status st = sr_gru_params_parse(&q, sr_gru_presets[i].params, err);
            if (st == SR_OK)
                *p = q;
            return st;
        }
    char known[128] = "";
    size_t used = 0;
    for (int i = 0; i < SR_GRU_N_PRESETS && used < sizeof known; i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                         sr_gru_presets[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return sr_error_set(err, SR_ERR_ARG, "unknown preset '%s' (known: %s)",
                        name ? name : "(null)", known);
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
                     layers, sr_loss_name(p->loss), p->constrained_embedding ? "True" : "False",
                     p->embedding, p->batch_size, de, dh, lr, mo, p->n_sample, sa,
                     (long long)p->sample_store, lq, bp, el, p->n_epochs,
                     sr_optim_name(p->optim));
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
