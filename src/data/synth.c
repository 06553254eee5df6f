/*
 * synth.c - the synthetic YOOCHOOSE click generator behind `sessrec synth`.
 * docs/synth.md tells the generative story; the constants below are its
 * parameters.
 *
 * How it runs. A catalogue ("world": items, intents, a sparse transition graph,
 * sampling tables) is built once from the seed. The clicks are then cut into
 * fixed blocks of SY_BLOCK clicks; block b draws everything from RNG streams
 * seeded by (seed, b), so the file depends on the seed, the click count and the
 * catalogue size only, never on the thread count:
 *   phase 1 (parallel): each block replays its session-length stream to count
 *            its sessions and session-id span; a prefix sum gives every block
 *            its first session id and its global session index;
 *   phase 2 (parallel): workers generate and format whole blocks into a ring
 *            of output slots; the calling thread writes the slots in block
 *            order (so formatting overlaps with writing).
 *
 * It must never: print, exit, allocate inside the per-click loop, or let the
 * output depend on the number of threads or on timing.
 */
#define _GNU_SOURCE /* sync_file_range */
#include "util/parallel.h"
#include "util/util.h"

#include <fcntl.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters of the generative story (docs/synth.md) ------------------- */

#define SY_BLOCK 16384              /* clicks per block (part of the output's definition) */
#define SY_MAX_LEN 200              /* longest session */
#define SY_DAYS 183                 /* 2014-04-01 .. 2014-09-30 */
#define SY_DAY_MS 86400000LL
#define SY_FULL_CLICKS 33003944.0   /* the real file */
#define SY_FULL_ITEMS 57500.0       /* catalogue at full size: ~52.5K of them occur (real: 52,739) */
#define SY_ITEMS_EXP 0.35           /* catalogue ~ clicks^0.35 below full size */
#define SY_MIN_ITEMS 50
#define SY_MAX_ITEMS 10000000
#define SY_MAX_CLICKS 100000000000LL

/* session length: P(1), then P(l) ~ l^-LEN_ALPHA * exp(-l / LEN_CUT) for l >= 2 */
#define SY_P_LEN1 0.13
#define SY_LEN_ALPHA 2.4
#define SY_LEN_CUT 60.0
/* session-id increments: 1, or a gap of 1-2 missing ids (as in the real file) */
#define SY_P_ID_GAP1 0.15
#define SY_P_ID_GAP2 0.05

/* popularity: weight of the item of rank r (0 = most popular) out of N is
 * exp(POP_SIGMA * z) with z the (1 - (r + 0.5) / N) quantile of N(0, 1): a
 * log-normal, Zipf-like in the head, with a long tail of rare items. */
#define SY_POP_SIGMA 2.4
#define SY_POP_ZMAX 3.1             /* caps z: flattens the very top of the head */
#define SY_ITEMS_PER_INTENT 600     /* intents: groups of related items */
#define SY_N_RELATED 2              /* related intents per intent */
#define SY_SEASON_AMP 0.9           /* intent popularity varies by up to +-90%, */
#define SY_SEASON_MIN_DAYS 30.0     /*   with a period of 30..183 days */
/* item lifecycles: a share of items is "in season" only during a window of
 * WIN_MIN..WIN_MAX days; outside it a draw of the item is kept with P_OFF */
#define SY_P_WINDOWED 0.5
#define SY_WIN_MIN 20
#define SY_WIN_MAX 150
#define SY_P_OFF 0.1

/* transition graph: each item has NB_MIN..NB_MAX "typical next items", drawn by
 * popularity from its intent (or, with P_NB_RELATED, a related intent), with
 * weights (rank + 1)^-NB_DECAY */
#define SY_NB_MIN 5
#define SY_NB_MAX 20
#define SY_P_NB_RELATED 0.2
#define SY_NB_DECAY 1.0

/* the walk: probabilities of each kind of next click */
#define SY_P_REPEAT 0.17            /* the same item again */
#define SY_P_FOLLOW 0.30            /* a typical next item of the last one */
#define SY_P_BACK 0.05              /* back to an earlier item of the session */
#define SY_P_SWITCH 0.05            /* a new intent (related one half the time) */
/* rest (0.43): a popular item of the session's intent */

/* gaps inside sessions: log-normal, median GAP_MEDIAN_S seconds; repeats half */
#define SY_GAP_MEDIAN_S 40.0
#define SY_GAP_SIGMA 1.2
#define SY_GAP_TABLE 1024
/* session start days follow the session id with +-JITTER days of noise */
#define SY_DAY_JITTER 3.0

/* share of items by category: "0", the intent's category 1-12, "S", a brand */
#define SY_P_CAT0 0.66
#define SY_P_CATN 0.20
#define SY_P_CATS 0.06
/* rest: brand number */

#define SY_ID_BASE 214500000LL
#define SY_PI 3.14159265358979323846

/* sessions started per hour of the day (UTC), relative */
static const double sy_hour_w[24] = {1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.0, 1.8, 2.5, 3.0, 3.3, 3.4,
                                     3.5, 3.5, 3.5, 3.6, 3.8, 4.2, 4.8, 5.2, 4.8, 3.8, 2.8, 1.9};

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* RNG stream `stream` of block `block` (block -1: the world). */
static void stream_seed(sr_rng *r, uint64_t seed, uint64_t stream, int64_t block)
{
    sr_rng_seed(r, mix64(seed ^ mix64(stream * 0x100000001b3ULL + (uint64_t)(block + 1))));
}

/* xoshiro256**, the same generator as sr_rng_next, inlined for the hot loop. */
static inline uint64_t rng_next(sr_rng *r)
{
    uint64_t *q = r->s;
    uint64_t x = q[1] * 5, res = ((x << 7) | (x >> 57)) * 9, t = q[1] << 17;
    q[2] ^= q[0];
    q[3] ^= q[1];
    q[1] ^= q[2];
    q[0] ^= q[3];
    q[2] ^= t;
    q[3] = (q[3] << 45) | (q[3] >> 19);
    return res;
}

/* Uniform integer in [0, n), n < 2^32, from the high half of a draw. */
static inline uint32_t bounded(uint64_t r, uint32_t n)
{
    return (uint32_t)(((r >> 32) * (uint64_t)n) >> 32);
}

static uint64_t prob64(double p)
{
    if (p <= 0)
        return 0;
    if (p >= 1)
        return UINT64_MAX;
    return (uint64_t)(p * 18446744073709551616.0);
}

/* Inverse standard normal CDF (Acklam's rational approximation, rel. error 1e-9). */
static double inv_norm(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    if (p < 0.02425 || p > 1 - 0.02425) {
        double q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
        double x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                   ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        return p < 0.5 ? x : -x;
    }
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* Alias table (Vose) over n weights: sample i with probability w[i] / sum. */
/* Builds into caller-provided arrays prob/al (n each); work is (2n) ints.
 * All-zero weights degrade to uniform. */
static void alias_build(uint32_t *prob, int32_t *al, const double *w, uint32_t n, int32_t *work,
                        double *scaled)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += w[i];
    int32_t *small = work, *large = work + n;
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; i < n; i++) {
        scaled[i] = sum > 0 ? w[i] * n / sum : 1.0;
        if (scaled[i] < 1.0)
            small[ns++] = (int32_t)i;
        else
            large[nl++] = (int32_t)i;
    }
    while (ns && nl) {
        int32_t s = small[--ns], l = large[nl - 1];
        prob[s] = (uint32_t)(scaled[s] * 4294967296.0);
        al[s] = l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl) {
        int32_t l = large[--nl];
        prob[l] = UINT32_MAX;
        al[l] = l;
    }
    while (ns) { /* rounding leftovers */
        int32_t s = small[--ns];
        prob[s] = UINT32_MAX;
        al[s] = s;
    }
}

static inline uint32_t alias_draw(const uint32_t *prob, const int32_t *al, uint32_t n, uint64_t r)
{
    uint32_t i = bounded(r, n);
    return (uint32_t)r < prob[i] ? i : (uint32_t)al[i];
}

/* ---- the world: catalogue, intents, transition graph, tables --------------- */

#define SFX_SLOT 32   /* per item: ",<item id>,<category>\n" then its length in byte 31 */

typedef struct world {
    int64_t n_items;            /* N, items are indices 0..N-1 in popularity order */
    uint32_t n_intents;         /* M */
    int32_t *item_intent;       /* (N) */
    int32_t *intent_off;        /* (M + 1) into intent_items */
    int32_t *intent_items;      /* (N) items grouped by intent */
    uint32_t *intent_prob;      /* (N) per-intent alias tables by popularity, */
    int32_t *intent_alias;      /* (N)   indices local to the intent */
    uint32_t *ia_prob;          /* (M) alias over intents by total popularity */
    int32_t *ia_alias;          /* (M) */
    int32_t *related;           /* (M, N_RELATED) */
    uint32_t *season;           /* (SY_DAYS, M) acceptance thresholds */
    int16_t *win;               /* (N, 2) first and last day an item is in season */
    uint32_t off_thr;           /* acceptance of an item out of season */
    int32_t *nb_off;            /* (N + 1) into nb_item */
    int32_t *nb_item;           /* transition targets, strongest first */
    uint32_t rank_prob[SY_NB_MAX + 1][SY_NB_MAX]; /* alias over ranks 0..k-1 with */
    int32_t rank_alias[SY_NB_MAX + 1][SY_NB_MAX]; /*   weights (rank+1)^-NB_DECAY, per k */
    char *sfx;                  /* (N, SFX_SLOT) */
    int sfx_max;                /* longest suffix */
    uint32_t len_prob[SY_MAX_LEN + 1];
    int32_t len_alias[SY_MAX_LEN + 1];
    uint32_t hour_prob[24];
    int32_t hour_alias[24];
    uint32_t gap_ms[SY_GAP_TABLE + 1];
    char day_prefix[SY_DAYS][12]; /* "2014-04-01T" */
    sr_synth_layout layout;     /* how lines are written */
    uint64_t t_repeat, t_follow, t_back, t_switch, t_gap1, t_gap2;
} world;

static void world_free(world *W)
{
    free(W->item_intent);
    free(W->intent_off);
    free(W->intent_items);
    free(W->intent_prob);
    free(W->intent_alias);
    free(W->ia_prob);
    free(W->ia_alias);
    free(W->related);
    free(W->season);
    free(W->win);
    free(W->nb_off);
    free(W->nb_item);
    free(W->sfx);
    memset(W, 0, sizeof *W);
}

static inline int32_t intent_draw(const world *W, uint32_t c, uint64_t r)
{
    int32_t off = W->intent_off[c];
    uint32_t n = (uint32_t)(W->intent_off[c + 1] - off);
    return W->intent_items[off + alias_draw(W->intent_prob + off, W->intent_alias + off, n, r)];
}

/* A popular item of intent c that is in season on `day` (rejection). */
static inline int32_t intent_draw_day(const world *W, uint32_t c, int day, sr_rng *r)
{
    int32_t it = 0;
    for (int tries = 0; tries < 16; tries++) {
        uint64_t v = rng_next(r);
        it = intent_draw(W, c, v);
        const int16_t *w = W->win + 2 * (size_t)it;
        if ((day >= w[0] && day <= w[1]) || (uint32_t)rng_next(r) < W->off_thr)
            break;
    }
    return it;
}

static int64_t default_items(int64_t clicks)
{
    double n = SY_FULL_ITEMS * pow((double)clicks / SY_FULL_CLICKS, SY_ITEMS_EXP);
    if (n < SY_MIN_ITEMS)
        n = SY_MIN_ITEMS;
    if (n > SY_MAX_ITEMS)
        n = SY_MAX_ITEMS;
    return (int64_t)(n + 0.5);
}

int64_t sr_synth_default_items(int64_t clicks)
{
    return clicks <= 0 ? SY_MIN_ITEMS : default_items(clicks);
}

/* Fisher-Yates shuffle of a (n), drawing j = bounded(next, i) for i = n..2. */
static void shuffle_i32(int32_t *a, uint32_t n, sr_rng *rng)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = bounded(sr_rng_next(rng), i);
        int32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Decimal digits of v at out; returns their count. */
static int fmt_u64(char *out, uint64_t v)
{
    return (int)(sr_put_u64(out, v) - out);
}

static sr_status world_build(world *W, int64_t n_items, uint64_t seed, sr_error *err)
{
    memset(W, 0, sizeof *W);
    const uint32_t N = (uint32_t)n_items;
    uint32_t M = (uint32_t)((N + SY_ITEMS_PER_INTENT / 2) / SY_ITEMS_PER_INTENT);
    if (M < 1)
        M = 1;
    W->n_items = N;
    W->n_intents = M;
    sr_rng rng;
    stream_seed(&rng, seed, 7, -1);

    double *w = malloc((size_t)N * sizeof *w);
    double *scaled = malloc(((size_t)N + SY_MAX_LEN + 1) * sizeof *scaled);
    double *tmpw = malloc(((size_t)N + SY_MAX_LEN + 1) * sizeof *tmpw);
    int32_t *work = malloc(2 * ((size_t)N + SY_MAX_LEN + 1) * sizeof *work);
    int32_t *perm = malloc((size_t)N * sizeof *perm);
    W->item_intent = malloc((size_t)N * sizeof *W->item_intent);
    W->intent_off = malloc(((size_t)M + 1) * sizeof *W->intent_off);
    W->intent_items = malloc((size_t)N * sizeof *W->intent_items);
    W->intent_prob = malloc((size_t)N * sizeof *W->intent_prob);
    W->intent_alias = malloc((size_t)N * sizeof *W->intent_alias);
    W->ia_prob = malloc((size_t)M * sizeof *W->ia_prob);
    W->ia_alias = malloc((size_t)M * sizeof *W->ia_alias);
    W->related = malloc((size_t)M * SY_N_RELATED * sizeof *W->related);
    W->season = malloc((size_t)M * SY_DAYS * sizeof *W->season);
    W->win = malloc((size_t)N * 2 * sizeof *W->win);
    W->nb_off = malloc(((size_t)N + 1) * sizeof *W->nb_off);
    W->nb_item = malloc((size_t)N * SY_NB_MAX * sizeof *W->nb_item);
    W->sfx = malloc((size_t)N * SFX_SLOT);
    double *intent_w = malloc((size_t)M * sizeof *intent_w);
    int32_t *cat = malloc((size_t)M * sizeof *cat);
    int64_t *brand = malloc((size_t)M * 2 * sizeof *brand);
    int32_t *iperm = malloc((size_t)M * sizeof *iperm);
    sr_status st = SR_OK;
    if (!w || !scaled || !tmpw || !work || !perm || !W->item_intent || !W->intent_off ||
        !W->intent_items || !W->intent_prob || !W->intent_alias || !W->ia_prob || !W->ia_alias ||
        !W->related || !W->season || !W->win || !W->nb_off || !W->nb_item || !W->sfx ||
        !intent_w || !cat || !brand || !iperm) {
        st = sr_error_set(err, SR_ERR_NOMEM, "synth: out of memory for a catalogue of %lld items",
                          (long long)n_items);
        goto done;
    }

    /* popularity by rank: log-normal quantiles, item 0 the most popular */
    for (uint32_t i = 0; i < N; i++)
        w[i] = exp(SY_POP_SIGMA * fmin(SY_POP_ZMAX, inv_norm(1.0 - (i + 0.5) / N)));

    /* intents: a random partition of the items into M groups of equal size */
    for (uint32_t i = 0; i < N; i++)
        perm[i] = (int32_t)i;
    shuffle_i32(perm, N, &rng);
    for (uint32_t c = 0; c <= M; c++)
        W->intent_off[c] = (int32_t)((uint64_t)c * N / M);
    for (uint32_t c = 0; c < M; c++) {
        int32_t a = W->intent_off[c], b = W->intent_off[c + 1];
        /* keep each intent's items in popularity order (nicer to debug) */
        for (int32_t k = a + 1; k < b; k++) {
            int32_t v = perm[k], q = k;
            while (q > a && perm[q - 1] > v) {
                perm[q] = perm[q - 1];
                q--;
            }
            perm[q] = v;
        }
        intent_w[c] = 0;
        for (int32_t k = a; k < b; k++) {
            W->intent_items[k] = perm[k];
            W->item_intent[perm[k]] = (int32_t)c;
            tmpw[k - a] = w[perm[k]];
            intent_w[c] += w[perm[k]];
        }
        alias_build(W->intent_prob + a, W->intent_alias + a, tmpw, (uint32_t)(b - a), work, scaled);
    }
    alias_build(W->ia_prob, W->ia_alias, intent_w, M, work, scaled);

    /* related intents, seasonal phases, categories and brands of each intent */
    for (uint32_t c = 0; c < M; c++) {
        for (int k = 0; k < SY_N_RELATED; k++) {
            uint32_t r = M > 1 ? bounded(sr_rng_next(&rng), M - 1) : 0;
            W->related[c * SY_N_RELATED + k] = (int32_t)(M > 1 ? (r >= c ? r + 1 : r) : c);
        }
        double amp = SY_SEASON_AMP * sr_rng_uniform(&rng);
        double period = SY_SEASON_MIN_DAYS + (SY_DAYS - SY_SEASON_MIN_DAYS) * sr_rng_uniform(&rng);
        double phase = 2 * SY_PI * sr_rng_uniform(&rng);
        for (int d = 0; d < SY_DAYS; d++) {
            double f = (1 + amp * sin(2 * SY_PI * d / period + phase)) / (1 + SY_SEASON_AMP);
            W->season[(size_t)d * M + c] = (uint32_t)(f * 4294967295.0);
        }
        cat[c] = 1 + (int32_t)bounded(sr_rng_next(&rng), 12);
        brand[2 * c] = 2080000000LL + bounded(sr_rng_next(&rng), 20000000);
        brand[2 * c + 1] = 2080000000LL + bounded(sr_rng_next(&rng), 20000000);
    }

    /* item lifecycles */
    for (uint32_t i = 0; i < N; i++) {
        int16_t *wi = W->win + 2 * (size_t)i;
        if (sr_rng_uniform(&rng) < SY_P_WINDOWED) {
            int len = SY_WIN_MIN + (int)bounded(sr_rng_next(&rng), SY_WIN_MAX - SY_WIN_MIN + 1);
            int lo = -len / 2 + (int)bounded(sr_rng_next(&rng), SY_DAYS);
            wi[0] = (int16_t)lo;
            wi[1] = (int16_t)(lo + len - 1);
        } else {
            wi[0] = 0;
            wi[1] = SY_DAYS;
        }
    }
    W->off_thr = (uint32_t)(SY_P_OFF * 4294967295.0);

    /* transition graph */
    int32_t off = 0;
    for (uint32_t i = 0; i < N; i++) {
        W->nb_off[i] = off;
        uint32_t k = SY_NB_MIN + bounded(sr_rng_next(&rng), SY_NB_MAX - SY_NB_MIN + 1);
        uint32_t got = 0;
        for (uint32_t r = 0; r < k; r++) {
            for (int tries = 0; tries < 16; tries++) {
                uint32_t c = (uint32_t)W->item_intent[i];
                if (sr_rng_uniform(&rng) < SY_P_NB_RELATED)
                    c = (uint32_t)W->related[c * SY_N_RELATED +
                                             bounded(sr_rng_next(&rng), SY_N_RELATED)];
                int32_t y = intent_draw(W, c, sr_rng_next(&rng));
                int dup = y == (int32_t)i;
                for (uint32_t q = 0; q < got && !dup; q++)
                    dup = W->nb_item[off + q] == y;
                if (!dup) {
                    W->nb_item[off + got] = y;
                    got++;
                    break;
                }
            }
        }
        if (!got) { /* a catalogue of one item */
            W->nb_item[off] = (int32_t)i;
            got = 1;
        }
        off += (int32_t)got;
    }
    W->nb_off[N] = off;
    for (int k = 1; k <= SY_NB_MAX; k++) {
        for (int q = 0; q < k; q++)
            tmpw[q] = pow(q + 1.0, -SY_NB_DECAY);
        alias_build(W->rank_prob[k], W->rank_alias[k], tmpw, (uint32_t)k, work, scaled);
    }

    /* item ids: intents laid out in random order over the id range, items of an
     * intent close together (as related items are in the real file), in random
     * order, with small gaps. Categories fixed per item. */
    for (uint32_t c = 0; c < M; c++)
        iperm[c] = (int32_t)c;
    shuffle_i32(iperm, M, &rng);
    int64_t cursor = SY_ID_BASE + bounded(sr_rng_next(&rng), 40000);
    W->sfx_max = 0;
    for (uint32_t ci = 0; ci < M; ci++) {
        uint32_t c = (uint32_t)iperm[ci];
        int32_t a = W->intent_off[c], b = W->intent_off[c + 1];
        for (int32_t k = a; k < b; k++) /* random order inside the intent */
            perm[k] = W->intent_items[k];
        shuffle_i32(perm + a, (uint32_t)(b - a), &rng);
        cursor += 100 + bounded(sr_rng_next(&rng), 900);
        for (int32_t k = a; k < b; k++) {
            int32_t it = perm[k];
            cursor += 1 + bounded(sr_rng_next(&rng), 8);
            char *s = W->sfx + (size_t)it * SFX_SLOT;
            int n = 0;
            s[n++] = ',';
            n += fmt_u64(s + n, (uint64_t)cursor);
            s[n++] = ',';
            double u = sr_rng_uniform(&rng);
            if (u < SY_P_CAT0) {
                s[n++] = '0';
            } else if (u < SY_P_CAT0 + SY_P_CATN) {
                int32_t cc = sr_rng_uniform(&rng) < 0.8 ? cat[c]
                                                        : 1 + (int32_t)bounded(sr_rng_next(&rng), 12);
                n += fmt_u64(s + n, (uint64_t)cc);
            } else if (u < SY_P_CAT0 + SY_P_CATN + SY_P_CATS) {
                s[n++] = 'S';
            } else {
                n += fmt_u64(s + n, (uint64_t)brand[2 * c + bounded(sr_rng_next(&rng), 2)]);
            }
            s[n++] = '\n';
            s[SFX_SLOT - 1] = (char)n;
            if (n > W->sfx_max)
                W->sfx_max = n;
        }
    }

    /* session lengths */
    tmpw[0] = 0;
    tmpw[1] = SY_P_LEN1;
    double lsum = 0;
    for (int l = 2; l <= SY_MAX_LEN; l++)
        lsum += pow(l, -SY_LEN_ALPHA) * exp(-l / SY_LEN_CUT);
    for (int l = 2; l <= SY_MAX_LEN; l++)
        tmpw[l] = (1 - SY_P_LEN1) * pow(l, -SY_LEN_ALPHA) * exp(-l / SY_LEN_CUT) / lsum;
    alias_build(W->len_prob, W->len_alias, tmpw, SY_MAX_LEN + 1, work, scaled);
    alias_build(W->hour_prob, W->hour_alias, sy_hour_w, 24, work, scaled);
    for (int k = 0; k < SY_GAP_TABLE; k++)
        W->gap_ms[k] = (uint32_t)(1000.0 * SY_GAP_MEDIAN_S *
                                      exp(SY_GAP_SIGMA * inv_norm((k + 0.5) / SY_GAP_TABLE)) +
                                  0.5);
    W->gap_ms[SY_GAP_TABLE] = W->gap_ms[SY_GAP_TABLE - 1];

    static const int mdays[6] = {30, 31, 30, 31, 31, 30};
    for (int m = 0, d = 0; m < 6; m++)
        for (int dd = 1; dd <= mdays[m]; dd++, d++) {
            char *p = W->day_prefix[d];
            memcpy(p, "2014-0", 6);
            p[6] = (char)('4' + m);
            p[7] = '-';
            p[8] = (char)('0' + dd / 10);
            p[9] = (char)('0' + dd % 10);
            p[10] = 'T';
            p[11] = 0;
        }

    W->t_repeat = prob64(SY_P_REPEAT);
    W->t_follow = prob64(SY_P_REPEAT + SY_P_FOLLOW);
    W->t_back = prob64(SY_P_REPEAT + SY_P_FOLLOW + SY_P_BACK);
    W->t_switch = prob64(SY_P_REPEAT + SY_P_FOLLOW + SY_P_BACK + SY_P_SWITCH);
    W->t_gap1 = prob64(SY_P_ID_GAP1);
    W->t_gap2 = prob64(SY_P_ID_GAP1 + SY_P_ID_GAP2);

done:
    free(w);
    free(scaled);
    free(tmpw);
    free(work);
    free(perm);
    free(intent_w);
    free(cat);
    free(brand);
    free(iperm);
    if (st != SR_OK)
        world_free(W);
    return st;
}

/* ---- blocks ---------------------------------------------------------------------- */

static int64_t block_budget(int64_t b, int64_t clicks)
{
    int64_t left = clicks - b * SY_BLOCK;
    return left < SY_BLOCK ? left : SY_BLOCK;
}

/* The length stream of a block: next session's length (cut to what the block
 * has left) and session-id increment. Phase 1 and 2 replay it identically. */
static inline int next_session(const world *W, sr_rng *lr, int64_t *left, int *inc)
{
    uint64_t r = rng_next(lr);
    int len = (int)alias_draw(W->len_prob, W->len_alias, SY_MAX_LEN + 1, r);
    uint64_t g = rng_next(lr);
    *inc = g < W->t_gap1 ? 2 : g < W->t_gap2 ? 3 : 1;
    if (len < 1) /* P(0) is 0; never trust rounding with an array index */
        len = 1;
    if (len > *left)
        len = (int)*left;
    *left -= len;
    return len;
}

static void block_count(const world *W, uint64_t seed, int64_t b, int64_t clicks,
                        int64_t *n_sess, int64_t *id_span)
{
    sr_rng lr;
    stream_seed(&lr, seed, 1, b);
    int64_t left = block_budget(b, clicks), ns = 0, span = 0;
    while (left > 0) {
        int inc;
        next_session(W, &lr, &left, &inc);
        ns++;
        span += inc;
    }
    *n_sess = ns;
    *id_span = span;
}

static const char dig2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";

#define SY_EPOCH_MS INT64_C(1396310400000) /* 2014-04-01T00:00:00Z */
#define SY_LAYOUT_LINE 320                 /* bound on the bytes per click of other layouts */

static const char *const layout_header[] = {
    "", "SessionId\tItemId\tTime\n", "session_id,item_id,timestamp\n",
    "timestamp,visitorid,event,itemid,transactionid\n",
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,"
    "user_session\n",
    "sessionId;userId;itemId;timeframe;eventdate\n"};

/* "HH:MM:SS" of ms within a day at p (8 bytes). */
static char *put_hms(char *p, int32_t rem)
{
    int32_t hh = rem / 3600000, mm = rem / 60000 % 60, ss = rem / 1000 % 60;
    memcpy(p, dig2 + 2 * hh, 2);
    p[2] = ':';
    memcpy(p + 3, dig2 + 2 * mm, 2);
    p[5] = ':';
    memcpy(p + 6, dig2 + 2 * ss, 2);
    return p + 8;
}

/* A UUID-like session id made from the YOOCHOOSE one (36 characters). */
static char *put_uuid(char *p, int64_t id)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = mix64((uint64_t)id * 2 + 1), b = mix64((uint64_t)id * 2 + 2);
    for (int k = 0; k < 32; k++) {
        if (k == 8 || k == 12 || k == 16 || k == 20)
            *p++ = '-';
        uint64_t w = k < 16 ? a : b;
        *p++ = hex[(w >> (4 * (k & 15))) & 15];
    }
    return p;
}

/* One session in a layout other than YOOCHOOSE. The item id and category come
 * from the item's YOOCHOOSE suffix ",<item>,<category>\n". */
static uint8_t *format_layout(const world *W, uint8_t *out, int64_t id, int len, int64_t start,
                              const int64_t *ts, const int32_t *hist)
{
    char *p = (char *)out;
    for (int j = 0; j < len; j++) {
        int64_t t = start + ts[j];
        int d = (int)(t / SY_DAY_MS);
        int32_t rem = (int32_t)(t - d * SY_DAY_MS);
        const char *s = W->sfx + (size_t)hist[j] * SFX_SLOT;
        const char *ie = strchr(s + 1, ',');
        size_t il = (size_t)(ie - (s + 1));
        const char *cat = ie + 1;
        size_t cl = strcspn(cat, "\n");
        int64_t abs_ms = SY_EPOCH_MS + t;
        switch (W->layout) {
        case SR_LAYOUT_YOOCHOOSE: break; /* written by the caller */
        case SR_LAYOUT_TSV:
            p = (char *)sr_put_u64(p, (uint64_t)id);
            *p++ = '\t';
            memcpy(p, s + 1, il);
            p += il;
            *p++ = '\t';
            p = sr_put_u64(p, (uint64_t)(abs_ms / 1000));
            *p++ = '.';
            *p++ = (char)('0' + abs_ms % 1000 / 100);
            memcpy(p, dig2 + 2 * (abs_ms % 100), 2);
            p += 2;
            *p++ = '\n';
            break;
        case SR_LAYOUT_CSV:
            p = put_uuid(p, id);
            memcpy(p, ",sku-", 5);
            p += 5;
            memcpy(p, s + 1, il);
            p += il;
            *p++ = ',';
            memcpy(p, W->day_prefix[d], 11);
            p = put_hms(p + 11, rem);
            *p++ = '.';
            *p++ = (char)('0' + rem % 1000 / 100);
            memcpy(p, dig2 + 2 * (rem % 100), 2);
            p += 2;
            memcpy(p, "Z\n", 2);
            p += 2;
            break;
        case SR_LAYOUT_RETAILROCKET:
            for (int e = 0; e < 1 + (mix64((uint64_t)id * 977 + (uint64_t)j) % 8 == 0); e++) {
                p = sr_put_u64(p, (uint64_t)abs_ms);
                *p++ = ',';
                p = sr_put_u64(p, (uint64_t)id);
                memcpy(p, e ? ",addtocart," : ",view,", e ? 11 : 6);
                p += e ? 11 : 6;
                memcpy(p, s + 1, il);
                p += il;
                memcpy(p, ",\n", 2);
                p += 2;
            }
            break;
        case SR_LAYOUT_REES46:
            memcpy(p, W->day_prefix[d], 10);
            p[10] = ' ';
            p = put_hms(p + 11, rem);
            memcpy(p, " UTC,view,", 10);
            p += 10;
            memcpy(p, s + 1, il);
            p += il;
            *p++ = ',';
            if (cat[0] == 'S')
                *p++ = '0';
            else
                memcpy(p, cat, cl), p += cl;
            memcpy(p, ",,,", 3);
            p += 3;
            p = sr_put_u64(p, (uint64_t)(hist[j] % 97 + 1));
            memcpy(p, ".99,", 4);
            p += 4;
            p = sr_put_u64(p, (uint64_t)id);
            *p++ = ',';
            p = put_uuid(p, id);
            *p++ = '\n';
            break;
        case SR_LAYOUT_DIGINETICA:
            p = sr_put_u64(p, (uint64_t)id);
            memcpy(p, ";NA;", 4);
            p += 4;
            memcpy(p, s + 1, il);
            p += il;
            *p++ = ';';
            p = sr_put_u64(p, (uint64_t)rem);
            *p++ = ';';
            memcpy(p, W->day_prefix[d], 10);
            p += 10;
            *p++ = '\n';
            break;
        }
    }
    return (uint8_t *)p;
}

/* Generates block b into out (capacity checked by the caller's bound); returns
 * the number of bytes. `seen` (N bits) marks the items used. */
static size_t block_generate(const world *W, uint64_t seed, int64_t b, int64_t clicks,
                             int64_t sess_base, int64_t total_sess, int64_t id_base, uint8_t *out,
                             uint64_t *seen)
{
    sr_rng lr, r;
    stream_seed(&lr, seed, 1, b);
    stream_seed(&r, seed, 2, b);
    int64_t left = block_budget(b, clicks), g = sess_base, id = id_base;
    int32_t hist[SY_MAX_LEN];   /* (len) items of the session */
    int64_t ts[SY_MAX_LEN];     /* (len) ms since 2014-04-01T00:00:00Z */
    const int64_t end_ms = SY_DAYS * SY_DAY_MS;
    const uint32_t M = W->n_intents;
    uint8_t *p = out;
    while (left > 0) {
        int inc;
        int len = next_session(W, &lr, &left, &inc);
        id += inc;

        /* day: follows the session's position in the file, +-jitter, reflected */
        double x = ((double)g + 0.5) / (double)total_sess * SY_DAYS +
                   SY_DAY_JITTER * (2 * sr_rng_uniform(&r) - 1);
        if (x < 0)
            x = -x;
        if (x >= SY_DAYS)
            x = 2 * SY_DAYS - x;
        int day = (int)x;
        if (day < 0)
            day = 0;
        if (day >= SY_DAYS)
            day = SY_DAYS - 1;
        g++;

        /* intent, with its seasonal popularity by rejection */
        const uint32_t *season = W->season + (size_t)day * M;
        uint32_t c = 0;
        for (int tries = 0; tries < 32; tries++) {
            c = alias_draw(W->ia_prob, W->ia_alias, M, rng_next(&r));
            if ((uint32_t)rng_next(&r) <= season[c])
                break;
        }

        /* the walk */
        int32_t it = intent_draw_day(W, c, day, &r);
        hist[0] = it;
        for (int j = 1; j < len; j++) {
            uint64_t u = rng_next(&r);
            if (u < W->t_repeat) {
                /* same item */
            } else if (u < W->t_follow || (u < W->t_back && j < 2)) {
                int32_t k = W->nb_off[it];
                uint32_t n = (uint32_t)(W->nb_off[it + 1] - k);
                it = W->nb_item[k + alias_draw(W->rank_prob[n], W->rank_alias[n], n, rng_next(&r))];
            } else if (u < W->t_back) {
                it = hist[bounded(rng_next(&r), (uint32_t)(j - 1))];
            } else if (u < W->t_switch) {
                uint64_t s = rng_next(&r);
                c = (s & 1) ? (uint32_t)W->related[c * SY_N_RELATED +
                                                   bounded(s, SY_N_RELATED)]
                            : alias_draw(W->ia_prob, W->ia_alias, M, rng_next(&r));
                it = intent_draw_day(W, c, day, &r);
            } else {
                it = intent_draw_day(W, c, day, &r);
            }
            hist[j] = it;
        }

        /* times: start in the day's rhythm, log-normal gaps, kept inside the range */
        uint32_t hour = alias_draw(W->hour_prob, W->hour_alias, 24, rng_next(&r));
        int64_t start = day * SY_DAY_MS + hour * 3600000LL + bounded(rng_next(&r), 3600000);
        ts[0] = 0;
        for (int j = 1; j < len; j++) {
            uint64_t v = rng_next(&r);
            uint32_t k = (uint32_t)(v >> 54), f = (uint32_t)(v >> 38) & 0xffff;
            int64_t gap = W->gap_ms[k] + (((int64_t)(W->gap_ms[k + 1] - W->gap_ms[k]) * f) >> 16);
            if (hist[j] == hist[j - 1])
                gap = (gap >> 1) + 1;
            ts[j] = ts[j - 1] + gap;
        }
        if (start + ts[len - 1] >= end_ms) /* would spill into October: end earlier */
            start = end_ms - 1 - ts[len - 1] - bounded(rng_next(&r), 3600000);

        if (W->layout != SR_LAYOUT_YOOCHOOSE) {
            p = format_layout(W, p, id, len, start, ts, hist);
            for (int j = 0; j < len; j++)
                seen[hist[j] >> 6] |= 1ULL << (hist[j] & 63);
            continue;
        }
        /* format: "<id>,<timestamp>,<item>,<category>\n" */
        char sid[32];
        int sl = fmt_u64(sid, (uint64_t)id);
        sid[sl++] = ',';
        for (int j = 0; j < len; j++) {
            int64_t t = start + ts[j];
            int d = (int)(t / SY_DAY_MS);
            int32_t rem = (int32_t)(t - d * SY_DAY_MS);
            int32_t hh = rem / 3600000, mm = rem / 60000 % 60, ss = rem / 1000 % 60,
                    ms = rem % 1000;
            memcpy(p, sid, 24);
            p += sl;
            memcpy(p, W->day_prefix[d], 12);
            memcpy(p + 11, dig2 + 2 * hh, 2);
            p[13] = ':';
            memcpy(p + 14, dig2 + 2 * mm, 2);
            p[16] = ':';
            memcpy(p + 17, dig2 + 2 * ss, 2);
            p[19] = '.';
            p[20] = (char)('0' + ms / 100);
            memcpy(p + 21, dig2 + 2 * (ms % 100), 2);
            p[23] = 'Z';
            p += 24;
            const char *s = W->sfx + (size_t)hist[j] * SFX_SLOT;
            memcpy(p, s, SFX_SLOT);
            p += (unsigned char)s[SFX_SLOT - 1];
            seen[hist[j] >> 6] |= 1ULL << (hist[j] & 63);
        }
    }
    return (size_t)(p - out);
}

/* ---- threads ---------------------------------------------------------------------------- */

typedef struct job {
    const world *W;
    uint64_t seed;
    int64_t clicks, n_blocks, total_sess;
    int64_t *blk_sess;     /* (n_blocks + 1) sessions per block, then first global index */
    int64_t *blk_id;       /* (n_blocks + 1) id span per block, then id before the block */
    int threads;
    /* phase 2 */
    int n_slots;
    size_t slot_cap;
    uint8_t **slot;        /* (n_slots) buffers of slot_cap bytes */
    size_t *slot_len;      /* (n_slots) */
    int64_t *slot_blk;     /* (n_slots) block held, -1 none */
    uint64_t **seen;       /* (threads) bitmaps of N bits, one per worker */
    pthread_mutex_t mu;
    pthread_cond_t cv_free, cv_ready;
    int64_t next_block, written;
    int abort;
} job;

typedef struct worker {
    job *J;
    int t;
    pthread_t tid;
    int started;
} worker;

/* Phase 1, a fan-out (sr_parallel_for): task t counts blocks t, t + T,
 * t + 2T, ...; each block's counts depend on the block alone. */
static void phase1_task(int task, int thread, void *ud)
{
    (void)thread;
    job *J = ud;
    for (int64_t b = task; b < J->n_blocks; b += J->threads)
        block_count(J->W, J->seed, b, J->clicks, &J->blk_sess[b], &J->blk_id[b]);
}

/* Phase 2 is a pipeline, not a fan-out, so it keeps its own threads: workers
 * generate blocks into a ring of slots while the calling thread writes them
 * out in order, and a worker WAITS for the writer to free a slot. Run inline
 * one after another (sr_parallel_for's fallback) that would deadlock, so all
 * workers must really start (else synth fails with "cannot start").
 * Phase 2: take the next block, wait for its slot to be written out, fill it. */
static void *phase2_main(void *arg)
{
    worker *wk = arg;
    job *J = wk->J;
    for (;;) {
        pthread_mutex_lock(&J->mu);
        int64_t b = J->next_block;
        if (J->abort || b >= J->n_blocks) {
            pthread_mutex_unlock(&J->mu);
            break;
        }
        J->next_block++;
        while (!J->abort && b >= J->written + J->n_slots)
            pthread_cond_wait(&J->cv_free, &J->mu);
        int stop = J->abort;
        pthread_mutex_unlock(&J->mu);
        if (stop)
            break;
        int s = (int)(b % J->n_slots);
        size_t n = block_generate(J->W, J->seed, b, J->clicks, J->blk_sess[b], J->total_sess,
                                  J->blk_id[b], J->slot[s], J->seen[wk->t]);
        pthread_mutex_lock(&J->mu);
        J->slot_len[s] = n;
        J->slot_blk[s] = b;
        pthread_cond_broadcast(&J->cv_ready);
        pthread_mutex_unlock(&J->mu);
    }
    return NULL;
}

/* Starts wk[0..n) on fn; returns how many started. */
static int start_workers(worker *wk, int n, void *(*fn)(void *))
{
    int k = 0;
    for (int t = 0; t < n; t++) {
        wk[t].started = pthread_create(&wk[t].tid, NULL, fn, &wk[t]) == 0;
        k += wk[t].started;
    }
    return k;
}

static void join_workers(worker *wk, int n)
{
    for (int t = 0; t < n; t++)
        if (wk[t].started) {
            pthread_join(wk[t].tid, NULL);
            wk[t].started = 0;
        }
}

/* ---- public API ----------------------------------------------------------------------- */

sr_synth_opts sr_synth_default_opts(void)
{
    sr_synth_opts o;
    o.clicks = 1000000;
    o.items = 0;
    o.seed = 1;
    o.threads = 0;
    o.layout = SR_LAYOUT_YOOCHOOSE;
    return o;
}

sr_status sr_synth_write(const char *path, const sr_synth_opts *opts,
                         void (*progress)(int64_t done, int64_t total, void *ud), void *ud,
                         sr_error *err)
{
    return sr_synth_run(path, opts, progress, ud, NULL, err);
}

static sr_status write_all(FILE *f, const char *name, const uint8_t *p, size_t n, sr_error *err)
{
    if (n && fwrite(p, 1, n, f) != n)
        return sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", name, strerror(errno));
    return SR_OK;
}

/* Streams a big file to disk while it is written, instead of leaving
 * gigabytes of dirty pages to the final fsync: every SY_FLUSH bytes, start
 * writing back the newest range and wait for the one before it. Only a hint
 * (Linux); errors surface at the final fsync. */
#define SY_FLUSH (256LL << 20)
static void flush_behind(FILE *f, int64_t bytes, int64_t *flushed)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    if (bytes - *flushed < SY_FLUSH)
        return;
    if (fflush(f) != 0)
        return;
    int fd = fileno(f);
    sync_file_range(fd, *flushed, bytes - *flushed, SYNC_FILE_RANGE_WRITE);
    *flushed = bytes;
#else
    (void)f;
    (void)bytes;
    (void)flushed;
#endif
}

sr_status sr_synth_run(const char *path, const sr_synth_opts *opts,
                       void (*progress)(int64_t done, int64_t total, void *ud), void *ud,
                       sr_synth_report *rep, sr_error *err)
{
    double t0 = sr_now();
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!path || !*path)
        return sr_error_set(err, SR_ERR_ARG, "synth: no output path");
    sr_synth_opts o = opts ? *opts : sr_synth_default_opts();
    if (o.clicks < 1 || o.clicks > SY_MAX_CLICKS)
        return sr_error_set(err, SR_ERR_ARG, "synth: clicks must be in [1, %lld], got %lld",
                            (long long)SY_MAX_CLICKS, (long long)o.clicks);
    if (o.items < 0 || o.items > SY_MAX_ITEMS)
        return sr_error_set(err, SR_ERR_ARG,
                            "synth: items must be 0 (automatic) or in [1, %d], got %lld",
                            SY_MAX_ITEMS, (long long)o.items);
    int64_t n_items = o.items ? o.items : default_items(o.clicks);
    int threads = sr_resolve_threads(o.threads);
    if (threads > 64)
        threads = 64;

    if ((unsigned)o.layout > SR_LAYOUT_DIGINETICA)
        return sr_error_set(err, SR_ERR_ARG, "synth: unknown layout %d", (int)o.layout);
    world W;
    sr_status st = world_build(&W, n_items, o.seed, err);
    if (st != SR_OK)
        return st;
    W.layout = o.layout;

    job J;
    memset(&J, 0, sizeof J);
    J.W = &W;
    J.seed = o.seed;
    J.clicks = o.clicks;
    J.n_blocks = (o.clicks + SY_BLOCK - 1) / SY_BLOCK;
    J.threads = threads;
    J.n_slots = 2 * threads + 2; /* enough to keep every worker busy while one is written */
    if (J.n_slots > J.n_blocks)
        J.n_slots = (int)J.n_blocks;
    J.blk_sess = malloc(((size_t)J.n_blocks + 1) * sizeof *J.blk_sess);
    J.blk_id = malloc(((size_t)J.n_blocks + 1) * sizeof *J.blk_id);
    J.slot = calloc((size_t)J.n_slots, sizeof *J.slot);
    J.slot_len = calloc((size_t)J.n_slots, sizeof *J.slot_len);
    J.slot_blk = malloc((size_t)J.n_slots * sizeof *J.slot_blk);
    J.seen = calloc((size_t)threads, sizeof *J.seen);
    worker *wk = calloc((size_t)threads, sizeof *wk);
    FILE *f = NULL;
    sr_atomic at;
    int atomic_open = 0, mu_init = 0;
    int to_stdout = !strcmp(path, "-");
    const char *name = to_stdout ? "<stdout>" : path;
    int64_t bytes = 0;
    if (!J.blk_sess || !J.blk_id || !J.slot || !J.slot_len || !J.slot_blk || !J.seen || !wk) {
        st = sr_error_set(err, SR_ERR_NOMEM, "synth: out of memory");
        goto done;
    }
    size_t words = ((size_t)n_items + 63) / 64;
    for (int t = 0; t < threads; t++)
        if (!(J.seen[t] = calloc(words, sizeof **J.seen))) {
            st = sr_error_set(err, SR_ERR_NOMEM, "synth: out of memory");
            goto done;
        }

    /* phase 1: sessions and id spans per block */
    sr_parallel_for(threads, threads, phase1_task, &J);
    for (int t = 0; t < threads; t++) {
        wk[t].J = &J;
        wk[t].t = t;
    }
    int64_t sess = 0, idc = 0;
    for (int64_t b = 0; b < J.n_blocks; b++) {
        int64_t ns = J.blk_sess[b], sp = J.blk_id[b];
        J.blk_sess[b] = sess;
        J.blk_id[b] = idc;
        sess += ns;
        idc += sp;
    }
    J.blk_sess[J.n_blocks] = J.total_sess = sess;
    /* ids count from 1: shift everything by the file's first increment */
    {
        sr_rng lr;
        int64_t left = block_budget(0, o.clicks);
        int first_inc;
        stream_seed(&lr, o.seed, 1, 0);
        next_session(&W, &lr, &left, &first_inc);
        for (int64_t b = 0; b < J.n_blocks; b++)
            J.blk_id[b] -= first_inc - 1;
        idc -= first_inc - 1;
        J.blk_id[J.n_blocks] = idc;
    }

    /* output slots: a block's lines are at most (id digits + 1 + 24 + suffix) bytes */
    int id_digits = 1;
    for (int64_t v = idc; v >= 10; v /= 10)
        id_digits++;
    J.slot_cap = (size_t)SY_BLOCK * (size_t)(id_digits + 1 + 24 + W.sfx_max) + 64;
    if (W.layout != SR_LAYOUT_YOOCHOOSE)
        J.slot_cap = (size_t)SY_BLOCK * SY_LAYOUT_LINE + 64;
    for (int s = 0; s < J.n_slots; s++) {
        J.slot_blk[s] = -1;
        if (!(J.slot[s] = malloc(J.slot_cap))) {
            st = sr_error_set(err, SR_ERR_NOMEM, "synth: out of memory for output buffers");
            goto done;
        }
    }

    if (to_stdout) {
        f = stdout;
    } else {
        if ((st = sr_atomic_open(&at, path, err)) != SR_OK)
            goto done;
        atomic_open = 1;
        f = at.f;
    }

    /* phase 2: `threads` workers fill slots, this thread writes them in order */
    pthread_mutex_init(&J.mu, NULL);
    pthread_cond_init(&J.cv_free, NULL);
    pthread_cond_init(&J.cv_ready, NULL);
    mu_init = 1;
    if (start_workers(wk, threads, phase2_main) != threads) {
        pthread_mutex_lock(&J.mu);
        J.abort = 1;
        pthread_cond_broadcast(&J.cv_free);
        pthread_mutex_unlock(&J.mu);
        st = sr_error_set(err, SR_ERR_NOMEM, "synth: cannot start %d threads", threads);
    }
    int64_t done_clicks = 0, flushed = 0;
    if (st == SR_OK && W.layout != SR_LAYOUT_YOOCHOOSE) {
        const char *h = layout_header[W.layout];
        st = write_all(f, name, (const uint8_t *)h, strlen(h), err);
        bytes += (int64_t)strlen(h);
    }
    for (int64_t b = 0; st == SR_OK && b < J.n_blocks; b++) {
        int s = (int)(b % J.n_slots);
        pthread_mutex_lock(&J.mu);
        while (J.slot_blk[s] != b)
            pthread_cond_wait(&J.cv_ready, &J.mu);
        pthread_mutex_unlock(&J.mu);
        st = write_all(f, name, J.slot[s], J.slot_len[s], err);
        bytes += (int64_t)J.slot_len[s];
        if (!to_stdout && st == SR_OK)
            flush_behind(f, bytes, &flushed);
        pthread_mutex_lock(&J.mu);
        J.written = b + 1;
        if (st != SR_OK)
            J.abort = 1;
        pthread_cond_broadcast(&J.cv_free);
        pthread_mutex_unlock(&J.mu);
        done_clicks += block_budget(b, o.clicks);
        if (progress && st == SR_OK)
            progress(done_clicks, o.clicks, ud);
    }
    join_workers(wk, threads);

    if (st == SR_OK) {
        if (to_stdout) {
            if (fflush(stdout) != 0 || ferror(stdout))
                st = sr_error_set(err, SR_ERR_IO, "%s: write failed: %s", name, strerror(errno));
        } else {
            atomic_open = 0;
            st = sr_atomic_commit(&at, err);
        }
    }
    if (st == SR_OK && rep) {
        int64_t seen = 0;
        for (size_t i = 0; i < words; i++) {
            uint64_t v = 0;
            for (int t = 0; t < threads; t++)
                v |= J.seen[t][i];
            seen += __builtin_popcountll(v);
        }
        rep->clicks = o.clicks;
        rep->sessions = J.total_sess;
        rep->items = n_items;
        rep->items_seen = seen;
        rep->bytes = bytes;
        rep->seconds = sr_now() - t0;
    }

done:
    if (atomic_open)
        sr_atomic_abort(&at);
    if (mu_init) {
        pthread_mutex_destroy(&J.mu);
        pthread_cond_destroy(&J.cv_free);
        pthread_cond_destroy(&J.cv_ready);
    }
    if (J.slot)
        for (int s = 0; s < J.n_slots; s++)
            free(J.slot[s]);
    if (J.seen)
        for (int t = 0; t < threads; t++)
            free(J.seen[t]);
    free(J.slot);
    free(J.slot_len);
    free(J.slot_blk);
    free(J.seen);
    free(J.blk_sess);
    free(J.blk_id);
    free(wk);
    world_free(&W);
    return st;
}
