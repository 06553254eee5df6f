/*
 * baselines.c - the entry point of the baseline algorithms (sr_train_baseline,
 * sr_baseline_names) and what they share: the training data in model item
 * indices, the "name=value,..." parameter parser, session-rec's decay
 * functions, the per-slot click history, and the item-to-item list model that
 * iknn, ar and sr score with.
 *
 * Must never print or exit; scoring (sr_bl_i2i_step) allocates nothing.
 */
#include "baselines/baselines.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- entry point --------------------------------------------------------------- */

static const char *const names[] = {"pop", "spop", "iknn", "sr", "sknn", "vsknn", "ar", "stan", NULL};

const char *const *sr_baseline_names(void) { return names; }

sr_status sr_train_baseline(const char *algo, const char *params, const sr_split *train,
                            sr_model **out, sr_error *err)
{
    *out = NULL;
    if (!algo)
        return sr_error_set(err, SR_ERR_ARG, "baseline: no algorithm name given");
    int known = 0;
    for (int i = 0; names[i]; i++)
        known |= !strcmp(algo, names[i]);
    if (!known)
        return sr_error_set(err, SR_ERR_ARG,
                            "unknown baseline '%s' (expected pop, spop, iknn, sr, sknn, vsknn, "
                            "ar or stan)", algo);
    bl_data d;
    sr_status st = sr_bl_data_init(&d, train, algo, err);
    if (st != SR_OK)
        return st;
    if (!strcmp(algo, "pop") || !strcmp(algo, "spop"))
        st = sr_bl_train_pop(&d, params, algo[0] == 's', out, err);
    else if (!strcmp(algo, "ar") || !strcmp(algo, "sr"))
        st = sr_bl_train_rules(&d, params, algo[0] == 's', out, err);
    else if (!strcmp(algo, "iknn"))
        st = sr_bl_train_iknn(&d, params, out, err);
    else
        st = sr_bl_train_knn(&d, algo, params, out, err);
    sr_bl_data_free(&d);
    if (st == SR_OK && (st = sr_model_set_text(*out, &train->item_text, 1)) != SR_OK) {
        sr_model_free(*out);
        *out = NULL;
        return sr_error_set(err, st, "%s: %s while copying the text item ids", algo,
                            sr_status_name(st));
    }
    return st;
}

/* ---- training data -------------------------------------------------------------- */

void sr_bl_data_free(bl_data *d)
{
    free(d->item_ids);
    free(d->items);
    free(d->count);
    memset(d, 0, sizeof *d);
}

sr_status sr_bl_data_init(bl_data *d, const sr_split *train, const char *algo, sr_error *err)
{
    memset(d, 0, sizeof *d);
    if (!train || train->n_events <= 0 || train->n_sessions <= 0 || train->n_items <= 0)
        return sr_error_set(err, SR_ERR_EMPTY, "%s: the training split has no clicks", algo);
    if (train->n_items > INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "%s: %lld items is more than supported", algo,
                            (long long)train->n_items);
    int64_t *cnt = calloc((size_t)train->n_items, sizeof *cnt);
    if (!cnt)
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
    for (int64_t e = 0; e < train->n_events; e++) {
        int32_t it = train->items[e];
        if (it < 0 || it >= train->n_items) {
            free(cnt);
            return sr_error_set(err, SR_ERR_ARG, "%s: click %lld has item index %d outside the "
                                "item table (%lld items)", algo, (long long)e, (int)it,
                                (long long)train->n_items);
        }
        cnt[it]++;
    }
    /* model index of each split item, -1 if it never occurs in training */
    int32_t *map = malloc((size_t)train->n_items * sizeof *map);
    int64_t n = 0;
    if (map)
        for (int64_t i = 0; i < train->n_items; i++)
            map[i] = cnt[i] > 0 ? (int32_t)n++ : -1;
    d->n_items = n;
    d->item_ids = malloc((size_t)(n ? n : 1) * sizeof *d->item_ids);
    d->count = malloc((size_t)(n ? n : 1) * sizeof *d->count);
    d->items = malloc((size_t)train->n_events * sizeof *d->items);
    if (!map || !d->item_ids || !d->count || !d->items) {
        free(map);
        free(cnt);
        sr_bl_data_free(d);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
    }
    for (int64_t i = 0; i < train->n_items; i++)
        if (map[i] >= 0) {
            d->item_ids[map[i]] = train->item_ids[i];
            d->count[map[i]] = cnt[i];
        }
    for (int64_t e = 0; e < train->n_events; e++)
        d->items[e] = map[train->items[e]];
    free(map);
    free(cnt);
    d->n_sessions = train->n_sessions;
    d->n_events = train->n_events;
    d->offsets = train->offsets;
    d->times = train->times;
    return SR_OK;
}

sr_status sr_bl_item_events(const bl_data *d, int64_t **ioff_out, int64_t **iev_out,
                            int64_t **evs_out)
{
    const int64_t ni = d->n_items, ne = d->n_events;
    int64_t *ioff = calloc((size_t)ni + 1, sizeof *ioff);
    int64_t *iev = malloc((size_t)ne * sizeof *iev);
    int64_t *evs = malloc((size_t)ne * sizeof *evs);
    int64_t *fill = malloc((size_t)ni * sizeof *fill);
    if (!ioff || !iev || !evs || !fill) {
        free(ioff);
        free(iev);
        free(evs);
        free(fill);
        return SR_ERR_NOMEM;
    }
    for (int64_t s = 0; s < d->n_sessions; s++)
        for (int64_t e = d->offsets[s]; e < d->offsets[s + 1]; e++)
            evs[e] = s;
    for (int64_t e = 0; e < ne; e++)
        ioff[d->items[e] + 1]++;
    for (int64_t i = 0; i < ni; i++)
        ioff[i + 1] += ioff[i];
    memcpy(fill, ioff, (size_t)ni * sizeof *fill);
    for (int64_t e = 0; e < ne; e++)
        iev[fill[d->items[e]]++] = e;
    free(fill);
    *ioff_out = ioff;
    *iev_out = iev;
    *evs_out = evs;
    return SR_OK;
}

/* ---- parameters ----------------------------------------------------------------- */

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static sr_status apply_one(const char *algo, const bl_pdef *def, void *p, const char *v,
                           sr_error *err)
{
    char *base = p;
    if (def->type == BL_P_BOOL) {
        int b;
        if (ieq(v, "true") || !strcmp(v, "1"))
            b = 1;
        else if (ieq(v, "false") || !strcmp(v, "0"))
            b = 0;
        else
            return sr_error_set(err, SR_ERR_ARG, "%s: %s expects true or false, got '%s'", algo,
                                def->name, v);
        memcpy(base + def->offset, &b, sizeof b);
        return SR_OK;
    }
    if (def->type == BL_P_CHOICE) {
        char list[256] = "";
        for (int i = 0; def->choices[i]; i++) {
            if (ieq(v, def->choices[i])) {
                memcpy(base + def->offset, &i, sizeof i);
                return SR_OK;
            }
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", def->choices[i]);
        }
        return sr_error_set(err, SR_ERR_ARG, "%s: %s expects one of %s, got '%s'", algo,
                            def->name, list, v);
    }
    double x;
    if ((ieq(v, "none") || ieq(v, "false")) && def->lo <= 0 && def->hi >= 0) {
        x = 0; /* session-rec's None / False for "off" */
    } else if (ieq(v, "true") && def->lo <= 1 && def->hi >= 1) {
        x = 1;
    } else {
        char *end;
        errno = 0;
        x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || x < def->lo || x > def->hi ||
            (def->type == BL_P_INT && x != floor(x)))
            return sr_error_set(err, SR_ERR_ARG, "%s: %s expects %s in [%g, %g], got '%s'", algo,
                                def->name, def->type == BL_P_INT ? "an integer" : "a number",
                                def->lo, def->hi, v);
    }
    if (def->type == BL_P_INT) {
        int i = (int)x;
        memcpy(base + def->offset, &i, sizeof i);
    } else {
        memcpy(base + def->offset, &x, sizeof x);
    }
    return SR_OK;
}

sr_status sr_bl_params_apply(const char *algo, const bl_pdef *defs, int n_defs, void *p,
                             const char *spec, sr_error *err)
{
    if (!spec)
        return SR_OK;
    const char *s = spec;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char tok[256];
        if (len >= sizeof tok)
            return sr_error_set(err, SR_ERR_ARG, "%s: parameter text too long: '%.40s...'", algo, s);
        memcpy(tok, s, len);
        tok[len] = 0;
        s += len + (end ? 1 : 0);
        /* trim */
        char *a = tok;
        while (isspace((unsigned char)*a))
            a++;
        char *z = a + strlen(a);
        while (z > a && isspace((unsigned char)z[-1]))
            *--z = 0;
        if (!*a)
            continue; /* tolerate "a=1,,b=2" and a trailing comma */
        char *eq = strchr(a, '=');
        if (!eq)
            return sr_error_set(err, SR_ERR_ARG, "%s: expected name=value, got '%s'", algo, a);
        *eq = 0;
        char *name = a, *val = eq + 1;
        z = eq;
        while (z > name && isspace((unsigned char)z[-1]))
            *--z = 0;
        while (isspace((unsigned char)*val))
            val++;
        int found = 0;
        for (int i = 0; i < n_defs && !found; i++) {
            if (strcmp(name, defs[i].name) && !(defs[i].alias && !strcmp(name, defs[i].alias)))
                continue;
            found = 1;
            sr_status st = apply_one(algo, &defs[i], p, val, err);
            if (st != SR_OK)
                return st;
        }
        if (!found) {
            char list[512] = "";
            for (int i = 0; i < n_defs; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", defs[i].name);
            }
            return sr_error_set(err, SR_ERR_ARG, "%s: unknown parameter '%s' (known: %s)", algo,
                                name, list);
        }
    }
    return SR_OK;
}

void sr_bl_params_format(const bl_pdef *defs, int n_defs, const void *p, char *buf, size_t len)
{
    const char *base = p;
    size_t used = 0;
    if (len)
        buf[0] = 0;
    for (int i = 0; i < n_defs && used < len; i++) {
        char v[64];
        int iv;
        double dv;
        switch (defs[i].type) {
        case BL_P_INT:
            memcpy(&iv, base + defs[i].offset, sizeof iv);
            snprintf(v, sizeof v, "%d", iv);
            break;
        case BL_P_BOOL:
            memcpy(&iv, base + defs[i].offset, sizeof iv);
            snprintf(v, sizeof v, "%s", iv ? "true" : "false");
            break;
        case BL_P_CHOICE:
            memcpy(&iv, base + defs[i].offset, sizeof iv);
            snprintf(v, sizeof v, "%s", defs[i].choices[iv]);
            break;
        default:
            memcpy(&dv, base + defs[i].offset, sizeof dv);
            snprintf(v, sizeof v, "%g", dv);
            break;
        }
        int w = snprintf(buf + used, len - used, "%s%s=%s", i ? "," : "", defs[i].name, v);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* ---- decay functions --------------------------------------------------------------- */

const char *const sr_bl_weighting_names[] = {"linear", "same", "div", "log", "quadratic", NULL};

double sr_bl_decay(int fn, int i, int linear_cut)
{
    switch (fn) {
    case BL_W_LINEAR: return i <= linear_cut ? 1.0 - 0.1 * i : 0.0;
    case BL_W_SAME: return 1.0;
    case BL_W_DIV: return 1.0 / i;
    case BL_W_LOG: return 1.0 / log10(i + 1.7);
    default: return 1.0 / ((double)i * i);
    }
}

double sr_bl_pos_weight(int fn, int i, int length)
{
    switch (fn) {
    case BL_W_LINEAR: return i <= 10 ? 1.0 - 0.1 * (length - i) : 0.0; /* sic, as session-rec */
    case BL_W_SAME: return 1.0;
    case BL_W_DIV: return (double)i / length;
    case BL_W_LOG: return 1.0 / log10((length - i) + 1.7);
    default: return ((double)i / length) * ((double)i / length);
    }
}

/* ---- click history ------------------------------------------------------------------- */

sr_status sr_bl_hist_init(bl_hist *h, int max_batch)
{
    h->items = malloc((size_t)max_batch * BL_HIST * sizeof *h->items);
    h->len = calloc((size_t)max_batch, sizeof *h->len);
    if (!h->items || !h->len) {
        sr_bl_hist_free(h);
        return SR_ERR_NOMEM;
    }
    return SR_OK;
}

void sr_bl_hist_free(bl_hist *h)
{
    free(h->items);
    free(h->len);
    h->items = NULL;
    h->len = NULL;
}

void sr_bl_hist_reset(bl_hist *h, int slot) { h->len[slot] = 0; }

void sr_bl_hist_push(bl_hist *h, int slot, int32_t item)
{
    int32_t *b = h->items + (size_t)slot * BL_HIST;
    if (h->len[slot] == BL_HIST) { /* drop the oldest click */
        memmove(b, b + 1, (BL_HIST - 1) * sizeof *b);
        h->len[slot]--;
    }
    b[h->len[slot]++] = item;
}

void sr_bl_hist_move(bl_hist *h, int dst, int src)
{
    h->len[dst] = h->len[src];
    memcpy(h->items + (size_t)dst * BL_HIST, h->items + (size_t)src * BL_HIST,
           (size_t)h->len[src] * sizeof *h->items);
}

/* ---- top entries of a list ----------------------------------------------------------- */

typedef struct entry {
    double val;
    int64_t order;
    int32_t to;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->val != y->val)
        return x->val > y->val ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

int64_t sr_bl_top_entries(int32_t *to, double *val, int64_t *order, int64_t n, int64_t keep)
{
    if (n <= 0)
        return 0;
    entry *e = malloc((size_t)n * sizeof *e);
    if (!e)
        return -1;
    for (int64_t i = 0; i < n; i++)
        e[i] = (entry){val[i], order[i], to[i]};
    qsort(e, (size_t)n, sizeof *e, entry_cmp);
    if (keep > n)
        keep = n;
    for (int64_t i = 0; i < keep; i++) {
        to[i] = e[i].to;
        val[i] = e[i].val;
        order[i] = e[i].order;
    }
    free(e);
    return keep;
}

/* ---- item-to-item list model ------------------------------------------------------------ */

/* Scoring reads only the clicked item, so a scorer keeps no session state. */

void sr_bl_i2i_free(void *impl)
{
    bl_i2i *t = impl;
    if (!t)
        return;
    free(t->off);
    free(t->to);
    free(t->val);
    free(t->params);
    free(t);
}

bl_i2i *sr_bl_i2i_new(int64_t n_items, const char *params)
{
    bl_i2i *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t plen = strlen(params) + 1;
    t->n_items = n_items;
    t->off = calloc((size_t)n_items + 1, sizeof *t->off);
    t->params = malloc(plen);
    if (!t->off || !t->params) {
        sr_bl_i2i_free(t);
        return NULL;
    }
    memcpy(t->params, params, plen);
    return t;
}

sr_scorer *sr_bl_i2i_scorer_new(const sr_model *m, int max_batch)
{
    (void)m;
    (void)max_batch;
    return calloc(1, sizeof(sr_scorer));
}

void sr_bl_i2i_scorer_free(sr_scorer *s) { free(s); }

void sr_bl_i2i_reset(sr_scorer *s, int slot)
{
    (void)s;
    (void)slot;
}

void sr_bl_i2i_move(sr_scorer *s, int dst, int src)
{
    (void)s;
    (void)dst;
    (void)src;
}

void sr_bl_i2i_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    const bl_i2i *t = s->m->impl;
    const int64_t ni = t->n_items;
    if (!scores)
        return; /* item-to-item scores depend on the current click alone */
    for (int r = 0; r < n; r++) {
        float *row = scores + (size_t)r * (size_t)ni; /* (n_items) */
        memset(row, 0, (size_t)ni * sizeof *row);
        int32_t it = items[r];
        if (it < 0 || it >= ni)
            continue;
        for (int64_t j = t->off[it]; j < t->off[it + 1]; j++)
            row[t->to[j]] = t->val[j];
    }
}

#define I2I_MAGIC 0x49324931u /* "1I2I" */
#define I2I_VERSION 1u

sr_status sr_bl_i2i_serialize(const sr_model *m, sr_buf *out)
{
    const bl_i2i *t = m->impl;
    uint32_t plen = (uint32_t)strlen(t->params);
    sr_buf_u32(out, I2I_MAGIC);
    sr_buf_u32(out, I2I_VERSION);
    sr_buf_u32(out, plen);
    sr_buf_append(out, t->params, plen);
    sr_buf_u64(out, (uint64_t)t->n_items);
    sr_buf_u64(out, (uint64_t)t->off[t->n_items]);
    for (int64_t i = 0; i <= t->n_items; i++)
        sr_buf_u64(out, (uint64_t)t->off[i]);
    for (int64_t j = 0; j < t->off[t->n_items]; j++) {
        sr_buf_u32(out, (uint32_t)t->to[j]);
        sr_buf_f32(out, t->val[j]);
    }
    return out->oom ? SR_ERR_NOMEM : SR_OK;
}

sr_status sr_bl_i2i_deserialize(sr_model *m, const uint8_t *p, size_t len, sr_error *err)
{
    const char *algo = m->vt->algo;
    sr_rd r = {p, len, 0, 0};
    if (sr_rd_u32(&r) != I2I_MAGIC || r.bad)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: bad payload magic", algo);
    uint32_t ver = sr_rd_u32(&r);
    if (ver != I2I_VERSION)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: unsupported payload version %u", algo,
                            ver);
    uint32_t plen = sr_rd_u32(&r);
    const char *ptxt = plen < 4096 ? sr_rd_bytes(&r, plen) : NULL;
    if (!ptxt || memchr(ptxt, 0, plen))
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: bad parameter text", algo);
    uint64_t n = sr_rd_u64(&r), nnz = sr_rd_u64(&r);
    if (r.bad || n != (uint64_t)m->n_items)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: payload has %llu items, the item "
                            "table %lld", algo, (unsigned long long)n, (long long)m->n_items);
    /* each item needs 8 bytes of offsets, each entry 8 bytes: bound before allocating */
    if (nnz > (len - r.off) / 8 || (n + 1) > (len - r.off) / 8)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: payload truncated", algo);
    bl_i2i *t = calloc(1, sizeof *t);
    if (!t)
        return sr_error_set(err, SR_ERR_NOMEM, "%s model: out of memory", algo);
    t->n_items = (int64_t)n;
    t->params = malloc(plen + 1);
    t->off = malloc((n + 1) * sizeof *t->off);
    t->to = malloc((nnz ? nnz : 1) * sizeof *t->to);
    t->val = malloc((nnz ? nnz : 1) * sizeof *t->val);
    if (!t->params || !t->off || !t->to || !t->val) {
        sr_bl_i2i_free(t);
        return sr_error_set(err, SR_ERR_NOMEM, "%s model: out of memory", algo);
    }
    memcpy(t->params, ptxt, plen);
    t->params[plen] = 0;
    const char *bad = NULL;
    for (uint64_t i = 0; i <= n; i++) {
        uint64_t o = sr_rd_u64(&r);
        t->off[i] = (int64_t)o;
        if (o > nnz || (i == 0 && o != 0) || (i > 0 && t->off[i] < t->off[i - 1]) ||
            (i == n && o != nnz))
            bad = "offsets";
    }
    for (uint64_t j = 0; j < nnz && !bad; j++) {
        uint32_t to = sr_rd_u32(&r);
        float v = sr_rd_f32(&r);
        t->to[j] = (int32_t)to;
        t->val[j] = v;
        if (to >= n || !isfinite(v))
            bad = "entries";
    }
    if (!bad && r.bad)
        bad = "length";
    if (!bad && r.off != len)
        bad = "trailing bytes";
    if (bad) {
        sr_bl_i2i_free(t);
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: corrupted payload (%s)", algo, bad);
    }
    m->impl = t;
    return SR_OK;
}

sr_status sr_bl_i2i_append(bl_i2i *t, int64_t *cap, int64_t src, const int32_t *to,
                           const double *val, int64_t n)
{
    int64_t nnz = t->off[src];
    if (nnz + n > *cap || !t->to) {
        int64_t nc = *cap ? *cap : 1024;
        while (nc < nnz + n)
            nc *= 2;
        int32_t *nto = realloc(t->to, (size_t)nc * sizeof *nto);
        if (nto)
            t->to = nto;
        float *nval = realloc(t->val, (size_t)nc * sizeof *nval);
        if (nval)
            t->val = nval;
        if (!nto || !nval)
            return SR_ERR_NOMEM;
        *cap = nc;
    }
    for (int64_t x = 0; x < n; x++) {
        if (!(val[x] > 0))
            continue;
        t->to[nnz] = to[x];
        t->val[nnz++] = (float)val[x];
    }
    t->off[src + 1] = nnz;
    return SR_OK;
}

sr_status sr_bl_i2i_finish(const sr_model_vt *vt, const bl_data *d, bl_i2i *i2i,
                           sr_model **out, sr_error *err)
{
    sr_model *m = sr_model_new_shell(vt, d->n_items, d->item_ids);
    if (!m)
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", vt->algo);
    m->impl = i2i;
    *out = m;
    return SR_OK;
}
