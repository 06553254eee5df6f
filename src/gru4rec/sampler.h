/*
 * sampler.h - internal: negative sampling for GRU4Rec. Item j is drawn with
 * probability proportional to support[j]^alpha (Walker/Vose alias table: O(1)
 * a draw). As in the official code, samples are pre-drawn into a store of
 * max(1, store / k) batches of k samples and handed out batch by batch; the
 * store is redrawn when used up. Deterministic from the seed.
 */
#ifndef SR_SAMPLER_H
#define SR_SAMPLER_H

#include "sessrec.h"
#include "util/util.h"

typedef struct sr_sampler {
    int64_t n;            /* items */
    float *prob;          /* (n) alias acceptance probabilities */
    int32_t *alias;       /* (n) */
    int k;                /* samples per batch */
    int32_t *store;       /* (len) pre-drawn samples */
    int64_t len, pos;
    int64_t ahead;        /* store[0, ahead) already holds the next round's first draws */
    sr_rng rng;
    sr_rng from;          /* rng state the current store was drawn from (resume) */
    sr_rng ahead_from;    /* rng state before the first draw ahead (the next round's from) */
} sr_sampler;

/* support: (n) non-negative counts, not all zero (with alpha == 0 every item
 * counts, as support^0 = 1). k > 0. Frees nothing on failure (call
 * sr_sampler_free, which accepts a zeroed struct). */
sr_status sr_sampler_init(sr_sampler *s, const int64_t *support, int64_t n, double alpha,
                          int k, int64_t store, uint64_t seed, sr_error *err);
/* The next k samples (valid until the next call). Allocates nothing. */
const int32_t *sr_sampler_next(sr_sampler *s);
/* Draws up to m samples of the store's next round ahead of time, into slots
 * the current round has used up (never the batch last returned). The samples
 * handed out are the same as without it: the store's draws keep their order.
 * Lets a helper thread refill the store a little every step instead of all at
 * once when it runs out. Allocates nothing. */
void sr_sampler_fill_ahead(sr_sampler *s, int64_t m);
/* One draw straight from the distribution (tests). */
int32_t sr_sampler_draw(sr_sampler *s);
void sr_sampler_free(sr_sampler *s);
/* Puts an initialised sampler (same items, alpha, k and store) where another
 * one stood: `from` and `now` are that one's `from` and `rng`, pos its `pos`.
 * The store is redrawn from `from`, so the samples that follow are the same.
 * SR_ERR_FORMAT if the three do not fit together. */
sr_status sr_sampler_restore(sr_sampler *s, const sr_rng *from, const sr_rng *now, int64_t pos);

#endif
