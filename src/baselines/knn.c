/*
 * knn.c - session-based nearest neighbours, as session-rec's ContextKNN
 * (sknn), VMContextKNN (vsknn) and STAN (Garg et al., SIGIR 2019).
 *
 * Common frame, for the current session (its clicks so far, D = its items):
 *   1. candidates: the training sessions that share an item with D; when more
 *      than sample_size, the sample_size most recent ones (latest last click;
 *      sampling=random draws them instead);
 *   2. similarity of each candidate n (items N, |N| distinct):
 *        sknn   jaccard |D∩N|/|D∪N|, cosine |D∩N|/sqrt(|D||N|),
 *               tanimoto (= jaccard on sets), binary 2|D∩N|/(2|D∩N|+|D|+|N|)
 *        vsknn  sum_{i in D∩N} pos_w(i) / |D|, pos_w by `weighting` of the
 *               position of i's last click (or idf with idf_weighting_session)
 *        stan   sum_{i in D∩N} w(i) / (sqrt(sum_{i in D} w(i)^2) sqrt(|N|)),
 *               w(i) = exp((pos(i) - len) / lambda_spw), times the recency
 *               decay exp(-(now - last click of n) / (lambda_snh days))
 *   3. the k most similar candidates (ties: the more recent session first);
 *   4. item scores: sum over neighbours of
 *        sknn   sim                          (+ remind, pop_boost)
 *        vsknn  sim * (1 + idf_weighting * idf(i)) * decay(step), step = how
 *               far back the session's most recent item shared with n lies
 *        stan   sim * exp(-|pos_n(i) - pos_n(i*)| / lambda_inh), pos_n = last
 *               position in n, i* = the last item of n in D
 *      vsknn and stan: remind=false drops the session's own items (vsknn: the
 *      clicks used for similarity); sknn keeps them and remind=true boosts
 *      its last 3 clicks, as session-rec.
 *
 * STAN's "now" is the test click's time in session-rec; the scorer API has
 * no time, and none is needed: exp(-(now - t)/L) = exp(-(now - t_ref)/L) *
 * exp(-(t_ref - t)/L) scales every neighbour of one prediction by the same
 * factor, so taking now = t_ref (the last training click) gives the same
 * neighbours and the same ranking for every `now`.
 *
 * Speed: item -> sessions lists sorted by recency; a k-way merge of the lists
 * of D yields candidates newest first with |D∩N| (or the weighted sum)
 * accumulated on the way, and stops after sample_size sessions. No
 * per-prediction pass over all sessions; per-item scratch is reset through
 * generation stamps and touched lists. Scoring allocates nothing.
 *
 * Must never print or exit.
 */
#include "baselines/common.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { KNN_SKNN, KNN_VSKNN, KNN_STAN };
enum { SAMPLING_RECENT, SAMPLING_RANDOM };
enum { SIM_JACCARD, SIM_COSINE, SIM_TANIMOTO, SIM_BINARY };

static const char *const sampling_names[] = {"recent", "random", NULL};
static const char *const sim_names[] = {"jaccard", "cosine", "tanimoto", "binary", NULL};

typedef struct knn_params {
    int k;
    int sample_size;          /* 0 = every session sharing an item */
    int sampling;
    int similarity;           /* sknn (vsknn accepts it and ignores it, as session-rec) */
    int remind;
    double pop_boost;         /* sknn */
    int extend;               /* must stay false: models are immutable */
    int normalize;            /* sknn, vsknn: divide by the maximum (order unchanged) */
    int weighting;            /* vsknn */
    int weighting_score;      /* vsknn */
    double idf_weighting;     /* vsknn */
    int idf_weighting_session;
    int push_reminders;       /* vsknn */
    int last_n_clicks;        /* vsknn, 0 = all */
    int weighting_time;       /* vsknn: must stay false (needs test time) */
    int dwelling_time;        /* vsknn: must stay false (needs test time) */
    double lambda_spw;        /* stan, 0 = None */
    double lambda_snh;        /* stan, days, 0 = None */
    double lambda_inh;        /* stan, 0 = None */
    int seed;                 /* sampling=random */
} knn_params;

#define P(f) offsetof(knn_params, f)
#define IMAX 2147483647.0
/* Help lines shared by the three kinds. */
#define H_K "neighbour sessions that score the items"
#define H_SAMPLE "candidate sessions considered (0: every session sharing an item)"
#define H_SAMPLING "which candidates when there are more: the most recent or random ones"
#define H_EXTEND "must stay false: a trained model never changes"
#define H_NORMALIZE "divide the scores by their maximum (the order is unchanged)"
#define H_SEED "random seed of sampling=random"
static const sr_param_info sknn_defs[] = {
    {"k", NULL, SR_PARAM_INT, P(k), 1, IMAX, NULL, "100", H_K},
    {"sample_size", NULL, SR_PARAM_INT, P(sample_size), 0, IMAX, NULL, "1000", H_SAMPLE},
    {"sampling", NULL, SR_PARAM_CHOICE, P(sampling), 0, 0, sampling_names, "recent", H_SAMPLING},
    {"similarity", NULL, SR_PARAM_CHOICE, P(similarity), 0, 0, sim_names, "jaccard",
     "similarity of the session to a neighbour"},
    {"remind", NULL, SR_PARAM_BOOL, P(remind), 0, 1, NULL, "False",
     "boost the session's last 3 clicks"},
    {"pop_boost", NULL, SR_PARAM_NUMBER, P(pop_boost), 0, 1e12, NULL, "0",
     "weight of the items' popularity added to their scores"},
    {"extend", NULL, SR_PARAM_BOOL, P(extend), 0, 1, NULL, "False", H_EXTEND},
    {"normalize", NULL, SR_PARAM_BOOL, P(normalize), 0, 1, NULL, "True", H_NORMALIZE},
    {"seed", NULL, SR_PARAM_INT, P(seed), 0, IMAX, NULL, "0", H_SEED},
};
static const sr_param_info vsknn_defs[] = {
    {"k", NULL, SR_PARAM_INT, P(k), 1, IMAX, NULL, "100", H_K},
    {"sample_size", NULL, SR_PARAM_INT, P(sample_size), 0, IMAX, NULL, "1000", H_SAMPLE},
    {"sampling", NULL, SR_PARAM_CHOICE, P(sampling), 0, 0, sampling_names, "recent", H_SAMPLING},
    {"similarity", NULL, SR_PARAM_CHOICE, P(similarity), 0, 0, sim_names, "cosine",
     "accepted and ignored, as session-rec"},
    {"weighting", NULL, SR_PARAM_CHOICE, P(weighting), 0, 0, sr_bl_weighting_names, "div",
     "weight of a shared item by its position in the session"},
    {"weighting_score", NULL, SR_PARAM_CHOICE, P(weighting_score), 0, 0, sr_bl_weighting_names,
     "div", "decay of a neighbour's score by how far back the shared item lies"},
    {"idf_weighting", NULL, SR_PARAM_NUMBER, P(idf_weighting), 0, 1e12, NULL, "0",
     "weight of the item's idf in its score (0: off)"},
    {"idf_weighting_session", NULL, SR_PARAM_BOOL, P(idf_weighting_session), 0, 1, NULL,
     "False", "weigh shared items by idf instead of position in the similarity"},
    {"remind", NULL, SR_PARAM_BOOL, P(remind), 0, 1, NULL, "True",
     "keep the session's own items (False drops them)"},
    {"push_reminders", NULL, SR_PARAM_BOOL, P(push_reminders), 0, 1, NULL, "False",
     "boost the session's own items"},
    {"last_n_clicks", NULL, SR_PARAM_INT, P(last_n_clicks), 0, IMAX, NULL, "None",
     "use only the session's last n clicks (None: all)"},
    {"extend", NULL, SR_PARAM_BOOL, P(extend), 0, 1, NULL, "False", H_EXTEND},
    {"normalize", NULL, SR_PARAM_BOOL, P(normalize), 0, 1, NULL, "True", H_NORMALIZE},
    {"weighting_time", NULL, SR_PARAM_BOOL, P(weighting_time), 0, 1, NULL, "False",
     "must stay false: needs the test clicks' times"},
    {"dwelling_time", NULL, SR_PARAM_BOOL, P(dwelling_time), 0, 1, NULL, "False",
     "must stay false: needs the test clicks' times"},
    {"seed", NULL, SR_PARAM_INT, P(seed), 0, IMAX, NULL, "0", H_SEED},
};
static const sr_param_info stan_defs[] = {
    {"k", NULL, SR_PARAM_INT, P(k), 1, IMAX, NULL, "100", H_K},
    {"sample_size", NULL, SR_PARAM_INT, P(sample_size), 0, IMAX, NULL, "5000", H_SAMPLE},
    {"sampling", NULL, SR_PARAM_CHOICE, P(sampling), 0, 0, sampling_names, "recent", H_SAMPLING},
    {"remind", NULL, SR_PARAM_BOOL, P(remind), 0, 1, NULL, "True",
     "keep the session's own items (False drops them)"},
    {"extend", NULL, SR_PARAM_BOOL, P(extend), 0, 1, NULL, "False", H_EXTEND},
    {"lambda_spw", NULL, SR_PARAM_NUMBER, P(lambda_spw), 0, 1e12, NULL, "1.02",
     "decay of an item's weight by its position in the session (None: off)"},
    {"lambda_snh", NULL, SR_PARAM_NUMBER, P(lambda_snh), 0, 1e12, NULL, "5",
     "decay of a neighbour by its age, in days (None: off)"},
    {"lambda_inh", NULL, SR_PARAM_NUMBER, P(lambda_inh), 0, 1e12, NULL, "2.05",
     "decay of an item by its distance to the shared item in the neighbour (None: off)"},
    {"seed", NULL, SR_PARAM_INT, P(seed), 0, IMAX, NULL, "0", H_SEED},
};
#undef P

static const char *const kind_names[] = {"sknn", "vsknn", "stan"};

static void kind_defs(int kind, const sr_param_info **defs, int *n)
{
    switch (kind) {
    case KNN_SKNN:
        *defs = sknn_defs;
        *n = BL_COUNT(sknn_defs);
        return;
    case KNN_VSKNN:
        *defs = vsknn_defs;
        *n = BL_COUNT(vsknn_defs);
        return;
    case KNN_STAN:
        *defs = stan_defs;
        *n = BL_COUNT(stan_defs);
        return;
    }
    assert(!"unknown knn kind");
}

/* session-rec's defaults (k: the documented 100). */
static knn_params kind_defaults(int kind)
{
    knn_params p;
    memset(&p, 0, sizeof p);
    p.k = 100;
    p.sample_size = kind == KNN_STAN ? 5000 : 1000;
    p.sampling = SAMPLING_RECENT;
    p.similarity = kind == KNN_SKNN ? SIM_JACCARD : SIM_COSINE;
    p.remind = kind != KNN_SKNN;
    p.normalize = 1;
    p.weighting = BL_W_DIV;
    p.weighting_score = BL_W_DIV;
    p.lambda_spw = 1.02;
    p.lambda_snh = 5;
    p.lambda_inh = 2.05;
    return p;
}

static sr_status parse_params(int kind, const char *spec, knn_params *p, sr_error *err)
{
    const sr_param_info *defs;
    int n;
    kind_defs(kind, &defs, &n);
    *p = kind_defaults(kind);
    const char *algo = kind_names[kind];
    sr_status st = sr_bl_params_apply(algo, defs, n, p, spec, err);
    if (st != SR_OK)
        return st;
    if (p->extend)
        return sr_error_set(err, SR_ERR_ARG, "%s: extend=true is not supported (a trained model "
                            "never changes while it is evaluated)", algo);
    if (p->weighting_time || p->dwelling_time)
        return sr_error_set(err, SR_ERR_ARG, "%s: %s=true is not supported (needs the test "
                            "clicks' times, which scorers do not see)", algo,
                            p->weighting_time ? "weighting_time" : "dwelling_time");
    return SR_OK;
}

/* ---- the model ------------------------------------------------------------------- */

#define INH_TAB 256

typedef struct knn_model {
    int kind;
    knn_params p;
    char params[768];         /* canonical parameter text */
    int64_t n_items, n_sessions, n_events;
    /* sessions are numbered by recency: 0 = the latest last click */
    int32_t *c_off;           /* (n_sessions + 1) */
    int32_t *clicks;          /* (n_events) every click, in order */
    int64_t *last_us;         /* (n_sessions) last click time, microseconds */
    int32_t *d_off;           /* (n_sessions + 1) */
    int32_t *ditems;          /* distinct items of each session, first-click order */
    int64_t *i_off;           /* (n_items + 1) */
    int32_t *i_sess;          /* sessions holding each item, most recent first */
    double *idf;              /* (n_items) log(sessions / clicks of the item) */
    double *tdecay;           /* (n_sessions) stan: exp(-(t_ref - t) / lambda_snh) */
    double inh[INH_TAB];      /* stan: exp(-d / lambda_inh) for d < INH_TAB */
} knn_model;

static void knn_free(void *impl)
{
    knn_model *m = impl;
    if (!m)
        return;
    free(m->c_off);
    free(m->clicks);
    free(m->last_us);
    free(m->d_off);
    free(m->ditems);
    free(m->i_off);
    free(m->i_sess);
    free(m->idf);
    free(m->tdecay);
    free(m);
}

typedef struct srec {
    int64_t t;
    int64_t idx;
} srec;

static int srec_cmp(const void *a, const void *b)
{
    const srec *x = a, *y = b;
    if (x->t != y->t)
        return x->t > y->t ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx); /* stable: model files keep the order */
}

/* Builds every derived structure from sessions given in any order:
 * off (ns + 1), items (off[ns]), last_us (ns). Copies them in recency order. */
static sr_status knn_build(knn_model *m, int64_t ni, int64_t ns, const int64_t *off,
                           const int32_t *items, const int64_t *last_us)
{
    const int64_t ne = off[ns];
    m->n_items = ni;
    m->n_sessions = ns;
    m->n_events = ne;
    srec *o = malloc((size_t)ns * sizeof *o);
    m->c_off = malloc((size_t)(ns + 1) * sizeof *m->c_off);
    m->clicks = malloc((size_t)(ne ? ne : 1) * sizeof *m->clicks);
    m->last_us = malloc((size_t)ns * sizeof *m->last_us);
    m->d_off = malloc((size_t)(ns + 1) * sizeof *m->d_off);
    m->ditems = malloc((size_t)(ne ? ne : 1) * sizeof *m->ditems);
    m->i_off = calloc((size_t)ni + 1, sizeof *m->i_off);
    m->idf = malloc((size_t)(ni ? ni : 1) * sizeof *m->idf);
    m->tdecay = malloc((size_t)ns * sizeof *m->tdecay);
    int64_t *seen = malloc((size_t)(ni ? ni : 1) * sizeof *seen);
    int64_t *cnt = calloc((size_t)(ni ? ni : 1), sizeof *cnt);
    if (!o || !m->c_off || !m->clicks || !m->last_us || !m->d_off || !m->ditems || !m->i_off ||
        !m->idf || !m->tdecay || !seen || !cnt) {
        free(o);
        free(seen);
        free(cnt);
        return SR_ERR_NOMEM;
    }
    for (int64_t s = 0; s < ns; s++)
        o[s] = (srec){last_us[s], s};
    qsort(o, (size_t)ns, sizeof *o, srec_cmp);
    for (int64_t i = 0; i < ni; i++)
        seen[i] = -1;
    int64_t c = 0, dn = 0;
    m->c_off[0] = m->d_off[0] = 0;
    for (int64_t r = 0; r < ns; r++) {
        int64_t s = o[r].idx;
        m->last_us[r] = o[r].t;
        for (int64_t e = off[s]; e < off[s + 1]; e++) {
            int32_t it = items[e];
            m->clicks[c++] = it;
            cnt[it]++;
            if (seen[it] != r) {
                seen[it] = r;
                m->ditems[dn++] = it;
                m->i_off[it + 1]++;
            }
        }
        m->c_off[r + 1] = (int32_t)c;
        m->d_off[r + 1] = (int32_t)dn;
    }
    free(o);
    for (int64_t i = 0; i < ni; i++)
        m->i_off[i + 1] += m->i_off[i];
    m->i_sess = malloc((size_t)(dn ? dn : 1) * sizeof *m->i_sess);
    if (!m->i_sess) {
        free(seen);
        free(cnt);
        return SR_ERR_NOMEM;
    }
    int64_t *fill = seen; /* reuse: next free slot of each item's list */
    memcpy(fill, m->i_off, (size_t)ni * sizeof *fill);
    for (int64_t r = 0; r < ns; r++)
        for (int64_t j = m->d_off[r]; j < m->d_off[r + 1]; j++)
            m->i_sess[fill[m->ditems[j]]++] = (int32_t)r;
    for (int64_t i = 0; i < ni; i++)
        m->idf[i] = cnt[i] > 0 ? log((double)ns / (double)cnt[i]) : 0.0;
    free(seen);
    free(cnt);
    /* stan's neighbour recency decay, "now" = the last training click (see top) */
    double tref = ns ? (double)m->last_us[0] / 1e6 : 0;
    double L = m->p.lambda_snh * 86400.0;
    for (int64_t r = 0; r < ns; r++)
        m->tdecay[r] = L > 0 ? exp(-(tref - (double)m->last_us[r] / 1e6) / L) : 1.0;
    for (int i = 0; i < INH_TAB; i++)
        m->inh[i] = m->p.lambda_inh > 0 ? exp(-(double)i / m->p.lambda_inh) : 1.0;
    return SR_OK;
}

/* ---- the scorer ----------------------------------------------------------------------- */

typedef struct cand {
    double v;        /* accumulated weight, then similarity */
    int32_t s;       /* session (recency rank) */
    int32_t pos;     /* latest position (1-based) of a shared used click, 0 = none */
} cand;

typedef struct cursor {
    const int32_t *p, *end;
    double w;        /* weight of the cursor's item */
    int32_t pos;     /* its last position among the used clicks, 0 = unused */
} cursor;

/* Min-heap of merge cursors keyed by the session each one points at. */
typedef struct hent {
    int32_t key;     /* *cur[c].p */
    int32_t c;       /* cursor index */
} hent;

typedef struct knn_scorer {
    sr_scorer hdr;
    bl_hist h;
    uint32_t gen;
    /* per item (n_items) */
    uint32_t *cur_stamp;     /* == gen: item is in the current session */
    uint32_t *use_stamp;     /* == gen: item is among the clicks used for similarity */
    int32_t *use_last;       /* 1-based position of its last used click */
    double *w;               /* its weight in the similarity */
    int32_t *nb_last;        /* stan: its last position in the neighbour being scored,
                              * written for that neighbour's clicks before it is read */
    int32_t *nb_cnt;         /* pop_boost: neighbours holding the item, zero between uses */
    uint32_t *acc_stamp;     /* == gen: item is listed in `touched` */
    double *acc;             /* item scores, zero outside `touched` */
    int32_t *touched;
    int64_t n_touched;
    int32_t *dl;             /* (BL_HIST) distinct items of the session */
    cursor *cur;             /* (BL_HIST) merge cursors */
    hent *heap;              /* (BL_HIST) min-heap over the cursors */
    cand *cands;             /* (cap) candidate neighbours */
    double *decay;           /* (BL_HIST + 2) vsknn: weighting_score of each step */
    int64_t cap;
    sr_rng rng;
} knn_scorer;

static void knn_scorer_free(sr_scorer *s)
{
    knn_scorer *x = (knn_scorer *)s;
    if (!x)
        return;
    sr_bl_hist_free(&x->h);
    free(x->cur_stamp);
    free(x->use_stamp);
    free(x->use_last);
    free(x->w);
    free(x->nb_last);
    free(x->nb_cnt);
    free(x->acc_stamp);
    free(x->acc);
    free(x->touched);
    free(x->dl);
    free(x->cur);
    free(x->heap);
    free(x->cands);
    free(x->decay);
    free(x);
}

static sr_scorer *knn_scorer_new(const sr_model *mm, int max_batch)
{
    const knn_model *m = mm->impl;
    knn_scorer *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    size_t ni = (size_t)(m->n_items ? m->n_items : 1);
    x->cap = m->p.sample_size > 0 && m->p.sample_size < m->n_sessions ? m->p.sample_size
                                                                       : m->n_sessions;
    x->cur_stamp = calloc(ni, sizeof *x->cur_stamp);
    x->use_stamp = calloc(ni, sizeof *x->use_stamp);
    x->use_last = calloc(ni, sizeof *x->use_last);
    x->w = calloc(ni, sizeof *x->w);
    x->nb_last = calloc(ni, sizeof *x->nb_last);
    x->nb_cnt = calloc(ni, sizeof *x->nb_cnt);
    x->acc_stamp = calloc(ni, sizeof *x->acc_stamp);
    x->acc = calloc(ni, sizeof *x->acc);
    x->touched = malloc(ni * sizeof *x->touched);
    x->dl = malloc(BL_HIST * sizeof *x->dl);
    x->cur = malloc(BL_HIST * sizeof *x->cur);
    x->heap = malloc(BL_HIST * sizeof *x->heap);
    x->cands = malloc((size_t)(x->cap ? x->cap : 1) * sizeof *x->cands);
    x->decay = malloc((BL_HIST + 2) * sizeof *x->decay);
    if (!x->cur_stamp || !x->use_stamp || !x->use_last || !x->w ||
        !x->nb_last || !x->nb_cnt || !x->acc_stamp || !x->acc || !x->touched || !x->dl || !x->cur || !x->heap ||
        !x->cands || !x->decay || sr_bl_hist_init(&x->h, max_batch) != SR_OK) {
        knn_scorer_free(&x->hdr);
        return NULL;
    }
    /* decay[step], step = 1..BL_HIST (+1: a neighbour sharing no used click, which
     * only last_n_clicks allows, and then its similarity is 0 and it is dropped) */
    x->decay[0] = 0;
    for (int i = 1; i < BL_HIST + 2; i++)
        x->decay[i] = sr_bl_decay(m->p.weighting_score, i, 100);
    return &x->hdr;
}

static void knn_reset(sr_scorer *s, int slot) { sr_bl_hist_reset(&((knn_scorer *)s)->h, slot); }

static void knn_move(sr_scorer *s, int dst, int src)
{
    sr_bl_hist_move(&((knn_scorer *)s)->h, dst, src);
}

/* Next generation of per-item stamps: arrays a, b, c are cleared when the
 * counter wraps around. */
static uint32_t next_gen(uint32_t *gen, uint32_t *a, uint32_t *b, uint32_t *c, size_t n)
{
    if (++*gen == 0) {
        memset(a, 0, n * sizeof *a);
        memset(b, 0, n * sizeof *b);
        memset(c, 0, n * sizeof *c);
        *gen = 1;
    }
    return *gen;
}

static void heap_down(hent *heap, int n, int i)
{
    hent v = heap[i];
    for (;;) {
        int l = 2 * i + 1, b;
        if (l >= n)
            break;
        b = l + 1 < n && heap[l + 1].key < heap[l].key ? l + 1 : l;
        if (heap[b].key >= v.key)
            break;
        heap[i] = heap[b];
        i = b;
    }
    heap[i] = v;
}

/* Adds one distinct candidate session to the candidate set: the first `cap`
 * (newest first); with random sampling, a uniform reservoir sample. */
static inline void offer(knn_scorer *x, int random, int64_t *nc, int64_t *seen, int32_t s,
                         double v, int32_t pos)
{
    if (*nc < x->cap) {
        x->cands[(*nc)++] = (cand){v, s, pos};
    } else if (random) {
        uint64_t j = sr_rng_next(&x->rng) % (uint64_t)(*seen + 1);
        if (j < (uint64_t)x->cap)
            x->cands[j] = (cand){v, s, pos};
    }
    (*seen)++;
}

/* Candidates: the sessions holding any of the nd items dl[], each with the
 * sum of w[] over the items it shares. Returns how many are in x->cands. */
static int64_t gather(knn_scorer *x, const knn_model *m, int nd)
{
    const int random = m->p.sampling == SAMPLING_RANDOM && m->p.sample_size > 0;
    int64_t nc = 0, seen = 0;
    int nh = 0;
    for (int j = 0; j < nd; j++) {
        int32_t it = x->dl[j];
        int used = x->use_stamp[it] == x->gen;
        cursor c = {m->i_sess + m->i_off[it], m->i_sess + m->i_off[it + 1],
                    used ? x->w[it] : 0.0, used ? x->use_last[it] : 0};
        if (c.p < c.end)
            x->cur[nh++] = c;
    }
    if (nh == 1) { /* one list: no merge needed */
        const cursor *c = &x->cur[0];
        for (const int32_t *p = c->p; p < c->end && (random || nc < x->cap); p++)
            offer(x, random, &nc, &seen, *p, c->w, c->pos);
        return nc;
    }
    if (nh == 2) { /* two lists: a plain merge */
        const int32_t *p = x->cur[0].p, *pe = x->cur[0].end, *q = x->cur[1].p,
                      *qe = x->cur[1].end;
        const double wp = x->cur[0].w, wq = x->cur[1].w;
        const int32_t pp = x->cur[0].pos, pq = x->cur[1].pos;
        while ((p < pe || q < qe) && (random || nc < x->cap)) {
            if (q == qe || (p < pe && *p < *q))
                offer(x, random, &nc, &seen, *p++, wp, pp);
            else if (p == pe || *q < *p)
                offer(x, random, &nc, &seen, *q++, wq, pq);
            else {
                offer(x, random, &nc, &seen, *p, wp + wq, pp > pq ? pp : pq);
                p++;
                q++;
            }
        }
        return nc;
    }
    for (int i = 0; i < nh; i++)
        x->heap[i] = (hent){*x->cur[i].p, i};
    for (int i = nh / 2 - 1; i >= 0; i--)
        heap_down(x->heap, nh, i);
    while (nh > 0 && (random || nc < x->cap)) {
        int32_t s = x->heap[0].key;
        double v = 0;
        int32_t pos = 0;
        while (nh > 0 && x->heap[0].key == s) {
            cursor *c = &x->cur[x->heap[0].c];
            v += c->w;
            pos = c->pos > pos ? c->pos : pos;
            if (++c->p == c->end)
                x->heap[0] = x->heap[--nh];
            else
                x->heap[0].key = *c->p;
            heap_down(x->heap, nh, 0);
        }
        offer(x, random, &nc, &seen, s, v, pos);
    }
    return nc;
}

/* a before b: higher similarity, then the more recent session */
static inline int cand_better(const cand *a, const cand *b)
{
    return a->v > b->v || (a->v == b->v && a->s < b->s);
}

/* Moves the k best of c[0..n) to the front (any order). */
static void select_top(cand *c, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        /* median of three as pivot, moved to hi */
        if (cand_better(&c[mid], &c[lo])) { cand t = c[mid]; c[mid] = c[lo]; c[lo] = t; }
        if (cand_better(&c[hi], &c[lo])) { cand t = c[hi]; c[hi] = c[lo]; c[lo] = t; }
        if (cand_better(&c[mid], &c[hi])) { cand t = c[mid]; c[mid] = c[hi]; c[hi] = t; }
        cand piv = c[hi];
        int64_t st = lo;
        for (int64_t i = lo; i < hi; i++) { /* branchless Lomuto: always swap */
            cand t = c[i];
            int b = cand_better(&t, &piv);
            c[i] = c[st];
            c[st] = t;
            st += b;
        }
        cand t = c[st]; c[st] = c[hi]; c[hi] = t;
        if (st == k - 1 || st == k)
            return;
        if (st < k)
            lo = st + 1;
        else
            hi = st - 1;
    }
}

static inline void add_score(knn_scorer *x, int32_t it, double v)
{
    if (x->acc_stamp[it] != x->gen) {
        x->acc_stamp[it] = x->gen;
        x->touched[x->n_touched++] = it;
    }
    x->acc[it] += v;
}

static void score_one(knn_scorer *x, const knn_model *m, int slot, float *row)
{
    const knn_params *p = &m->p;
    const int32_t *h = sr_bl_hist_items(&x->h, slot);
    const int len = x->h.len[slot];
    const size_t ni = (size_t)m->n_items;
    uint32_t g = next_gen(&x->gen, x->cur_stamp, x->use_stamp, x->acc_stamp, ni);

    /* the session's distinct items, and the clicks used for similarity */
    int nd = 0;
    for (int i = 0; i < len; i++)
        if (x->cur_stamp[h[i]] != g) {
            x->cur_stamp[h[i]] = g;
            x->dl[nd++] = h[i];
        }
    int u0 = m->kind == KNN_VSKNN && p->last_n_clicks > 0 && p->last_n_clicks < len
                 ? len - p->last_n_clicks : 0;
    int lu = len - u0, nu = 0;
    double wsq = 0;
    for (int i = u0; i < len; i++) {
        int32_t it = h[i];
        int pos = i - u0 + 1;
        if (x->use_stamp[it] != g) {
            x->use_stamp[it] = g;
            nu++;
        }
        x->use_last[it] = pos;
        if (m->kind == KNN_SKNN)
            x->w[it] = 1.0;
        else if (m->kind == KNN_VSKNN)
            x->w[it] = p->idf_weighting_session ? m->idf[it]
                                                : sr_bl_pos_weight(p->weighting, pos, lu);
        else
            x->w[it] = p->lambda_spw > 0 ? exp((pos - lu) / p->lambda_spw) : 1.0;
    }
    if (m->kind == KNN_STAN)
        for (int j = 0; j < nd; j++)
            wsq += x->w[x->dl[j]] * x->w[x->dl[j]];

    /* candidates and their similarity */
    int64_t nc = gather(x, m, nd);
    int64_t kept = 0;
    for (int64_t c = 0; c < nc; c++) {
        int32_t s = x->cands[c].s;
        double inter = x->cands[c].v, sim;
        double nn = (double)(m->d_off[s + 1] - m->d_off[s]);
        if (m->kind == KNN_SKNN) {
            double dd = nd;
            switch (p->similarity) {
            case SIM_COSINE: sim = inter / sqrt(dd * nn); break;
            case SIM_BINARY: sim = 2 * inter / (2 * inter + dd + nn); break;
            default: sim = inter / (dd + nn - inter); break; /* jaccard, tanimoto */
            }
        } else if (m->kind == KNN_VSKNN) {
            sim = inter / nu;
        } else {
            sim = inter / (sqrt(wsq) * sqrt(nn));
            if (p->lambda_snh > 0)
                sim *= m->tdecay[s];
        }
        if (sim > 0)
            x->cands[kept++] = (cand){sim, s, x->cands[c].pos};
    }
    int64_t k = kept < p->k ? kept : p->k;
    if (kept > k) /* the k best, in no particular order: the sums below do not care */
        select_top(x->cands, kept, k);

    /* item scores */
    x->n_touched = 0;
    for (int64_t c = 0; c < k; c++) {
        int32_t s = x->cands[c].s;
        double sim = x->cands[c].v;
#if defined(__GNUC__)
        /* neighbours are scattered over the session arrays: fetch ahead */
        if (c + 16 < k)
            __builtin_prefetch(&m->d_off[x->cands[c + 16].s]);
        if (c + 8 < k) {
            int32_t s8 = x->cands[c + 8].s;
            __builtin_prefetch(m->ditems + m->d_off[s8]);
            if (m->kind == KNN_STAN)
                __builtin_prefetch(m->clicks + m->c_off[s8]);
        }
#endif
        const int32_t *di = m->ditems + m->d_off[s];
        int64_t dn = m->d_off[s + 1] - m->d_off[s];
        if (m->kind == KNN_SKNN) {
            for (int64_t j = 0; j < dn; j++) {
                add_score(x, di[j], sim);
                x->nb_cnt[di[j]]++;
            }
        } else if (m->kind == KNN_VSKNN) {
            /* step back to the latest used click the neighbour shares (found while merging) */
            double decay = x->decay[lu - x->cands[c].pos + 1];
            for (int64_t j = 0; j < dn; j++) {
                int32_t it = di[j];
                if (!p->remind && x->use_stamp[it] == g)
                    continue;
                double v = sim;
                if (p->idf_weighting > 0)
                    v += v * m->idf[it] * p->idf_weighting;
                add_score(x, it, v * decay);
            }
        } else {
            const int32_t *ci = m->clicks + m->c_off[s];
            int64_t cn = m->c_off[s + 1] - m->c_off[s];
            int64_t star = 0;
            for (int64_t j = 0; j < cn; j++) {
                if (x->cur_stamp[ci[j]] == g)
                    star = j + 1;
                x->nb_last[ci[j]] = (int32_t)(j + 1);
            }
            for (int64_t j = 0; j < dn; j++) {
                int32_t it = di[j];
                if (!p->remind && x->cur_stamp[it] == g)
                    continue;
                double v = sim;
                if (p->lambda_inh > 0) {
                    int64_t dist = x->nb_last[it] > star ? x->nb_last[it] - star
                                                         : star - x->nb_last[it];
                    v *= dist < INH_TAB ? m->inh[dist] : exp(-(double)dist / p->lambda_inh);
                }
                add_score(x, it, v);
            }
        }
    }
    /* sknn's reminders and popularity boost */
    if (m->kind == KNN_SKNN && p->remind) {
        int from = len > 3 ? len - 3 : 0;
        for (int i = from, cnt = 1; i < len; i++, cnt++) {
            int32_t it = h[i];
            double old = x->acc[it];
            add_score(x, it, 0); /* make sure it is listed */
            x->acc[it] = (old + 5.0) * 5.0 + cnt / 100.0;
        }
    }
    if (m->kind == KNN_SKNN && p->pop_boost > 0) {
        int32_t maxc = 0;
        for (int64_t t = 0; t < x->n_touched; t++)
            if (x->nb_cnt[x->touched[t]] > maxc)
                maxc = x->nb_cnt[x->touched[t]];
        for (int64_t t = 0; t < x->n_touched && maxc > 0; t++) {
            int32_t it = x->touched[t];
            x->acc[it] += p->pop_boost * (double)x->nb_cnt[it] / maxc;
        }
    }
    if (m->kind == KNN_VSKNN && p->push_reminders)
        for (int j = 0; j < nd; j++) {
            int32_t it = x->dl[j], c = 0;
            for (int i = 0; i < len; i++)
                c += h[i] == it;
            x->acc[it] *= c + 1;
        }
    double mx = 0;
    if (m->kind != KNN_STAN && p->normalize)
        for (int64_t t = 0; t < x->n_touched; t++)
            if (x->acc[x->touched[t]] > mx)
                mx = x->acc[x->touched[t]];
    memset(row, 0, ni * sizeof *row);
    for (int64_t t = 0; t < x->n_touched; t++) {
        int32_t it = x->touched[t];
        row[it] = (float)(mx > 0 ? x->acc[it] / mx : x->acc[it]);
        x->acc[it] = 0;
        x->nb_cnt[it] = 0;
    }
}

static void knn_step(sr_scorer *s, const int32_t *items, int n, float *scores)
{
    knn_scorer *x = (knn_scorer *)s;
    const knn_model *m = s->m->impl;
    const size_t ni = (size_t)s->m->n_items;
    for (int r = 0; r < n; r++) {
        float *row = scores ? scores + (size_t)r * ni : NULL; /* (n_items) */
        if (items[r] < 0 || (int64_t)items[r] >= m->n_items) {
            if (row)
                memset(row, 0, ni * sizeof *row);
            continue;
        }
        sr_bl_hist_push(&x->h, r, items[r]);
        if (!row)
            continue;
        if (m->p.sampling == SAMPLING_RANDOM) { /* a draw that depends on the session only */
            uint64_t hsh = 0x9e3779b97f4a7c15ull ^ (uint64_t)m->p.seed;
            const int32_t *h = sr_bl_hist_items(&x->h, r);
            for (int i = 0; i < x->h.len[r]; i++)
                hsh = (hsh ^ (uint64_t)(uint32_t)h[i]) * 0x100000001b3ull;
            sr_rng_seed(&x->rng, hsh);
        }
        score_one(x, m, r, row);
    }
}

/* ---- model files ----------------------------------------------------------------------- */

#define KNN_MAGIC 0x314e4e4bu /* "KNN1" */
#define KNN_VERSION 1u

static sr_status knn_serialize(const sr_model *mm, sr_buf *out)
{
    const knn_model *m = mm->impl;
    uint32_t plen = (uint32_t)strlen(m->params);
    sr_buf_u32(out, KNN_MAGIC);
    sr_buf_u32(out, KNN_VERSION);
    sr_buf_u32(out, (uint32_t)m->kind);
    sr_buf_u32(out, plen);
    sr_buf_append(out, m->params, plen);
    sr_buf_u64(out, (uint64_t)m->n_items);
    sr_buf_u64(out, (uint64_t)m->n_sessions);
    sr_buf_u64(out, (uint64_t)m->n_events);
    for (int64_t s = 0; s < m->n_sessions; s++) {
        sr_buf_u64(out, (uint64_t)m->last_us[s]);
        sr_buf_u32(out, (uint32_t)(m->c_off[s + 1] - m->c_off[s]));
    }
    for (int64_t e = 0; e < m->n_events; e++)
        sr_buf_u32(out, (uint32_t)m->clicks[e]);
    return out->oom ? SR_ERR_NOMEM : SR_OK;
}

static sr_status knn_deserialize(sr_model *mm, const uint8_t *buf, size_t len, sr_error *err)
{
    const char *algo = mm->vt->algo;
    sr_rd r = {buf, len, 0, 0};
    uint32_t magic = sr_rd_u32(&r), ver = sr_rd_u32(&r), kind = sr_rd_u32(&r);
    uint32_t plen = sr_rd_u32(&r);
    if (r.bad || magic != KNN_MAGIC)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: bad payload magic", algo);
    if (ver != KNN_VERSION)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: unsupported payload version %u", algo,
                            ver);
    if (kind > KNN_STAN || strcmp(kind_names[kind], algo))
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: payload is of another kind (%u)", algo,
                            kind);
    const char *ptxt = plen < 768 ? sr_rd_bytes(&r, plen) : NULL;
    char spec[768];
    if (!ptxt || memchr(ptxt, 0, plen))
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: bad parameter text", algo);
    memcpy(spec, ptxt, plen);
    spec[plen] = 0;
    knn_params p;
    sr_error perr;
    if (parse_params((int)kind, spec, &p, &perr) != SR_OK)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: bad parameters: %s", algo, perr.msg);
    uint64_t ni = sr_rd_u64(&r), ns = sr_rd_u64(&r), ne = sr_rd_u64(&r);
    if (r.bad || ni != (uint64_t)mm->n_items || ns > (len - r.off) / 12 ||
        ne > (len - r.off) / 4 || ns * 12 + ne * 4 != len - r.off || ns == 0)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: corrupted payload (counts or length)",
                            algo);
    if (ne > INT32_MAX)
        return sr_error_set(err, SR_ERR_FORMAT, "%s model: too many clicks (%llu)", algo,
                            (unsigned long long)ne);
    int64_t *off = malloc((size_t)(ns + 1) * sizeof *off);
    int64_t *last = malloc((size_t)ns * sizeof *last);
    int32_t *items = malloc((size_t)(ne ? ne : 1) * sizeof *items);
    knn_model *m = calloc(1, sizeof *m);
    sr_status st = SR_OK;
    const char *bad = NULL;
    if (!off || !last || !items || !m) {
        st = sr_error_set(err, SR_ERR_NOMEM, "%s model: out of memory", algo);
        goto fail;
    }
    off[0] = 0;
    for (uint64_t s = 0; s < ns; s++) {
        last[s] = (int64_t)sr_rd_u64(&r);
        uint32_t n = sr_rd_u32(&r);
        off[s + 1] = off[s] + n;
        if ((uint64_t)off[s + 1] > ne)
            bad = "session lengths";
    }
    if (!bad && (uint64_t)off[ns] != ne)
        bad = "session lengths";
    for (uint64_t e = 0; e < ne && !bad; e++) {
        uint32_t it = sr_rd_u32(&r);
        items[e] = (int32_t)it;
        if (it >= ni)
            bad = "item index";
    }
    if (bad || r.bad) {
        st = sr_error_set(err, SR_ERR_FORMAT, "%s model: corrupted payload (%s)", algo,
                          bad ? bad : "length");
        goto fail;
    }
    m->kind = (int)kind;
    m->p = p;
    memcpy(m->params, spec, plen + 1);
    if (knn_build(m, (int64_t)ni, (int64_t)ns, off, items, last) != SR_OK) {
        st = sr_error_set(err, SR_ERR_NOMEM, "%s model: out of memory", algo);
        goto fail;
    }
    free(off);
    free(last);
    free(items);
    mm->impl = m;
    return SR_OK;
fail:
    free(off);
    free(last);
    free(items);
    knn_free(m);
    return st;
}

static const sr_model_vt vt_sknn = {"sknn", knn_scorer_new, knn_scorer_free, knn_reset, knn_step,
                                knn_move, knn_serialize, knn_deserialize, knn_free, NULL};
static const sr_model_vt vt_vsknn = {"vsknn", knn_scorer_new, knn_scorer_free, knn_reset, knn_step,
                                 knn_move, knn_serialize, knn_deserialize, knn_free, NULL};
static const sr_model_vt vt_stan = {"stan", knn_scorer_new, knn_scorer_free, knn_reset, knn_step,
                                knn_move, knn_serialize, knn_deserialize, knn_free, NULL};

static sr_status train_knn_data(const bl_data *d, int kind, const sr_model_vt *vt,
                                const char *params, sr_model **out, sr_error *err)
{
    const char *algo = vt->algo;
    knn_params p;
    sr_status st = parse_params(kind, params, &p, err);
    if (st != SR_OK)
        return st;
    if (d->n_events > INT32_MAX || d->n_sessions > INT32_MAX)
        return sr_error_set(err, SR_ERR_ARG, "%s: more than 2^31 sessions or clicks is not "
                            "supported", algo);
    knn_model *m = calloc(1, sizeof *m);
    int64_t *last = malloc((size_t)d->n_sessions * sizeof *last);
    if (!m || !last) {
        free(m);
        free(last);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
    }
    for (int64_t s = 0; s < d->n_sessions; s++) {
        int64_t t = INT64_MIN;
        for (int64_t e = d->offsets[s]; e < d->offsets[s + 1]; e++)
            if (d->times[e] > t)
                t = d->times[e];
        last[s] = t;
    }
    m->kind = kind;
    m->p = p;
    const sr_param_info *defs;
    int n;
    kind_defs(kind, &defs, &n);
    sr_bl_params_format(defs, n, &p, m->params, sizeof m->params);
    st = knn_build(m, d->n_items, d->n_sessions, d->offsets, d->items, last);
    free(last);
    sr_model *mm = NULL;
    if (st != SR_OK ||
        !(mm = sr_model_new_shell(vt, d->n_items, d->item_ids))) {
        knn_free(m);
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", algo);
    }
    mm->impl = m;
    *out = mm;
    return SR_OK;
}

static sr_status train_kind(const sr_split *train, int kind, const sr_model_vt *vt,
                            const char *params, sr_model **out, sr_error *err)
{
    bl_data d;
    sr_status st = sr_bl_data_init(&d, train, vt->algo, err);
    if (st != SR_OK)
        return st;
    st = train_knn_data(&d, kind, vt, params, out, err);
    sr_bl_data_free(&d);
    return st;
}

static sr_status train_sknn(const sr_split *train, const char *params, const sr_train_opts *opts,
                            sr_model **out, sr_error *err)
{
    (void)opts;
    return train_kind(train, KNN_SKNN, &vt_sknn, params, out, err);
}

static sr_status train_vsknn(const sr_split *train, const char *params, const sr_train_opts *opts,
                             sr_model **out, sr_error *err)
{
    (void)opts;
    return train_kind(train, KNN_VSKNN, &vt_vsknn, params, out, err);
}

static sr_status train_stan(const sr_split *train, const char *params, const sr_train_opts *opts,
                            sr_model **out, sr_error *err)
{
    (void)opts;
    return train_kind(train, KNN_STAN, &vt_stan, params, out, err);
}

/* rsc15: the session-rec studies' tuned values for yoochoose (issue 4). */
#define RSC15_HELP "the tuned yoochoose settings of the session-rec studies"
static const sr_preset_info sknn_presets[] = {
    {"rsc15", "k=500,sample_size=10000,similarity=jaccard,sampling=recent", RSC15_HELP},
};
static const sr_preset_info vsknn_presets[] = {
    {"rsc15", "k=1000,sample_size=5000,weighting=log,weighting_score=quadratic,idf_weighting=2",
     RSC15_HELP},
};
static const sr_preset_info stan_presets[] = {
    {"rsc15", "k=500,sample_size=5000,lambda_spw=1,lambda_snh=10,lambda_inh=1", RSC15_HELP},
};

const sr_algo sr_algo_sknn = {
    {"sknn", "session kNN: items of the most similar recent training sessions", sknn_defs,
     BL_COUNT(sknn_defs), sknn_presets, BL_COUNT(sknn_presets)},
    &vt_sknn, train_sknn};

const sr_algo sr_algo_vsknn = {
    {"vsknn", "vector session kNN: sknn with position weights, score decay and idf",
     vsknn_defs, BL_COUNT(vsknn_defs), vsknn_presets, BL_COUNT(vsknn_presets)},
    &vt_vsknn, train_vsknn};

const sr_algo sr_algo_stan = {
    {"stan", "STAN: session kNN with position, recency and neighbour-position decays",
     stan_defs, BL_COUNT(stan_defs), stan_presets, BL_COUNT(stan_presets)},
    &vt_stan, train_stan};
