/*
 * sampler.c - popularity^alpha negative sampler with a pre-drawn store
 * (see sampler.h). Allocates only in sr_sampler_init; never prints.
 */
#include "gru4rec/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sr_status sr_sampler_init(sr_sampler *s, const int64_t *support, int64_t n, double alpha,
                          int k, int64_t store, uint64_t seed, sr_error *err)
{
    memset(s, 0, sizeof *s);
    if (n < 1 || n > INT32_MAX || k < 1)
        return sr_error_set(err, SR_ERR_ARG, "sampler: bad sizes (items %lld, samples %d)",
                            (long long)n, k);
    s->n = n;
    s->k = k;
    int64_t batches = store / k > 0 ? store / k : 1;
    s->len = batches * k;
    s->prob = malloc((size_t)n * sizeof *s->prob);
    s->alias = malloc((size_t)n * sizeof *s->alias);
    s->store = malloc((size_t)s->len * sizeof *s->store);
    double *q = malloc((size_t)n * sizeof *q);
    int32_t *small = malloc((size_t)n * sizeof *small), *large = malloc((size_t)n * sizeof *large);
    sr_status st = SR_OK;
    if (!s->prob || !s->alias || !s->store || !q || !small || !large) {
        st = sr_error_set(err, SR_ERR_NOMEM, "sampler: out of memory (%lld items, store %lld)",
                          (long long)n, (long long)s->len);
        goto done;
    }
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (support[i] < 0) {
            st = sr_error_set(err, SR_ERR_ARG, "sampler: negative support %lld of item %lld",
                              (long long)support[i], (long long)i);
            goto done;
        }
        q[i] = support[i] > 0 ? pow((double)support[i], alpha) : (alpha == 0 ? 1.0 : 0.0);
        total += q[i];
    }
    if (!(total > 0)) {
        st = sr_error_set(err, SR_ERR_ARG, "sampler: every item has zero support");
        goto done;
    }
    /* Vose: scale to mean 1, pair each under-full column with an over-full one */
    int64_t ns = 0, nl = 0;
    for (int64_t i = 0; i < n; i++) {
        q[i] *= (double)n / total;
        if (q[i] < 1)
            small[ns++] = (int32_t)i;
        else
            large[nl++] = (int32_t)i;
    }
    while (ns && nl) {
        int32_t a = small[--ns], b = large[--nl];
        s->prob[a] = (float)q[a];
        s->alias[a] = b;
        q[b] -= 1 - q[a];
        if (q[b] < 1)
            small[ns++] = b;
        else
            large[nl++] = b;
    }
    while (nl) {
        int32_t b = large[--nl];
        s->prob[b] = 1;
        s->alias[b] = b;
    }
    while (ns) { /* only rounding leftovers: keep them whole */
        int32_t a = small[--ns];
        s->prob[a] = 1;
        s->alias[a] = a;
    }
    /* zero-weight items must never be chosen, even through rounding */
    int32_t top = 0;
    for (int64_t i = 1; i < n; i++)
        top = support[i] > support[top] ? (int32_t)i : top;
    for (int64_t i = 0; i < n; i++)
        if (!(support[i] > 0) && alpha != 0) {
            s->prob[i] = 0;
            if (s->alias[i] == i)
                s->alias[i] = top;
        }
    sr_rng_seed(&s->rng, seed);
    s->from = s->rng;
    s->pos = s->len; /* drawn on first use */
done:
    free(q);
    free(small);
    free(large);
    return st;
}

int32_t sr_sampler_draw(sr_sampler *s)
{
    double u = sr_rng_uniform(&s->rng) * (double)s->n;
    int64_t i = (int64_t)u;
    if (i >= s->n)
        i = s->n - 1;
    float f = (float)(u - (double)i);
    return f < s->prob[i] ? (int32_t)i : s->alias[i];
}

static void refill(sr_sampler *s)
{
    s->from = s->rng;
    for (int64_t j = 0; j < s->len; j++)
        s->store[j] = sr_sampler_draw(s);
    s->pos = 0;
}

const int32_t *sr_sampler_next(sr_sampler *s)
{
    if (s->pos + s->k > s->len) {
        /* the new round's draws began with the first one drawn ahead */
        s->from = s->ahead ? s->ahead_from : s->rng;
        for (int64_t j = s->ahead; j < s->len; j++)
            s->store[j] = sr_sampler_draw(s);
        s->pos = 0;
        s->ahead = 0;
    }
    const int32_t *r = s->store + s->pos;
    s->pos += s->k;
    return r;
}

void sr_sampler_fill_ahead(sr_sampler *s, int64_t m)
{
    int64_t end = s->pos - s->k; /* [pos - k, pos) is the batch in use */
    if (end > s->len)
        end = s->len;
    if (s->ahead + m < end)
        end = s->ahead + m;
    if (s->ahead == 0 && end > 0)
        s->ahead_from = s->rng;
    for (int64_t j = s->ahead; j < end; j++)
        s->store[j] = sr_sampler_draw(s);
    if (end > s->ahead)
        s->ahead = end;
}

sr_status sr_sampler_restore(sr_sampler *s, const sr_rng *from, const sr_rng *now, int64_t pos)
{
    if (pos < 0 || pos > s->len || pos % s->k)
        return SR_ERR_FORMAT;
    /* Redraw the round from `from`, then the draws the original had made
     * ahead of time into the next round, until the generator stands where it
     * stood (`now`): at most a round of them. */
    s->rng = *from;
    refill(s);
    s->pos = pos;
    s->ahead = 0;
    if (!memcmp(&s->rng, now, sizeof *now))
        return SR_OK;
    s->ahead_from = s->rng;
    int64_t lim = pos - s->k < s->len ? pos - s->k : s->len;
    while (s->ahead < lim) {
        s->store[s->ahead++] = sr_sampler_draw(s);
        if (!memcmp(&s->rng, now, sizeof *now))
            return SR_OK;
    }
    return SR_ERR_FORMAT;
}

void sr_sampler_free(sr_sampler *s)
{
    free(s->prob);
    free(s->alias);
    free(s->store);
    memset(s, 0, sizeof *s);
}
