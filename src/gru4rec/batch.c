/*
 * batch.c - the session-parallel mini-batch iterator (see batch.h for the
 * contract). Mirrors the official GRU4Rec SessionDataIterator step by step:
 * finished slots take the next sessions in slot order; once the sessions run
 * out the finished slots are dropped and the batch shrinks. Allocates only in
 * sr_batch_init; never prints.
 */
#include "gru4rec/batch.h"

#include <stdlib.h>
#include <string.h>

sr_status sr_batch_init(sr_batch_iter *it, const int64_t *offsets, int64_t n_sessions,
                        const int32_t *items, int batch_size)
{
    memset(it, 0, sizeof *it);
    if (batch_size < 1 || n_sessions < 0)
        return SR_ERR_ARG;
    size_t b = (size_t)batch_size;
    it->offsets = offsets;
    it->items = items;
    it->n_sessions = n_sessions;
    it->batch_size = batch_size;
    it->pos = malloc(b * sizeof *it->pos);
    it->end = malloc(b * sizeof *it->end);
    it->in = malloc(b * sizeof *it->in);
    it->out = malloc(b * sizeof *it->out);
    it->reset = malloc(b * sizeof *it->reset);
    it->keep = malloc(b * sizeof *it->keep);
    if (!it->pos || !it->end || !it->in || !it->out || !it->reset || !it->keep) {
        sr_batch_free(it);
        return SR_ERR_NOMEM;
    }
    sr_batch_rewind(it);
    return SR_OK;
}

void sr_batch_free(sr_batch_iter *it)
{
    free(it->pos);
    free(it->end);
    free(it->in);
    free(it->out);
    free(it->reset);
    free(it->keep);
    memset(it, 0, sizeof *it);
}

/* Puts the next session with at least one pair into slot `row`; 0 if none left. */
static int take_session(sr_batch_iter *it, int row)
{
    while (it->next_session < it->n_sessions) {
        int64_t s = it->next_session++;
        int64_t a = it->offsets[s], b = it->offsets[s + 1];
        if (b - a >= 2) {
            it->pos[row] = a;
            it->end[row] = b;
            return 1;
        }
    }
    return 0;
}

void sr_batch_rewind(sr_batch_iter *it)
{
    it->next_session = 0;
    it->n = 0;
    while (it->n < it->batch_size && take_session(it, it->n))
        it->n++;
    it->n_prev = it->n;
    it->fresh = 1;
}

/* Moves every slot one event forward, refilling or dropping finished slots. */
static void advance(sr_batch_iter *it)
{
    int nk = 0;
    it->n_prev = it->n;
    it->n_reset = 0;
    it->shrunk = 0;
    for (int r = 0; r < it->n; r++) {
        it->pos[r]++;
        if (it->pos[r] + 1 < it->end[r]) {
            it->keep[nk++] = r;
        } else if (take_session(it, r)) {
            it->reset[it->n_reset++] = nk;
            it->keep[nk++] = r;
        } else {
            it->shrunk = 1;
        }
    }
    if (it->shrunk) {
        /* keep[i] >= i, so compacting in ascending order never overwrites a
         * slot that is still to be read. */
        for (int i = 0; i < nk; i++) {
            it->pos[i] = it->pos[it->keep[i]];
            it->end[i] = it->end[it->keep[i]];
        }
        it->n = nk;
    }
}

int sr_batch_next(sr_batch_iter *it, sr_batch_step *st)
{
    if (it->fresh) {
        it->fresh = 0;
        it->shrunk = 0;
        it->n_reset = it->n;
        for (int r = 0; r < it->n; r++)
            it->reset[r] = r;
    } else {
        advance(it);
    }
    if (it->n == 0)
        return 0;
    for (int r = 0; r < it->n; r++) {
        it->in[r] = it->items[it->pos[r]];
        it->out[r] = it->items[it->pos[r] + 1];
    }
    st->n = it->n;
    st->in = it->in;
    st->out = it->out;
    st->keep = it->shrunk ? it->keep : NULL;
    st->n_prev = it->n_prev;
    st->n_reset = it->n_reset;
    st->reset = it->reset;
    return 1;
}

int64_t sr_batch_count_pairs(const int64_t *offsets, int64_t n_sessions)
{
    int64_t n = 0;
    for (int64_t s = 0; s < n_sessions; s++)
        if (offsets[s + 1] - offsets[s] >= 2)
            n += offsets[s + 1] - offsets[s] - 1;
    return n;
}
