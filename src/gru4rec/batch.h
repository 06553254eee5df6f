/*
 * batch.h - internal: the session-parallel mini-batch iterator of GRU4Rec
 * (../shared/GRU4REC.md, "Session-parallel mini-batches").
 *
 * B slots each walk one session, event by event (input = item t, target =
 * item t+1). When a slot's session is used up, that slot takes the next unused
 * session (sessions in the order given, i.e. first-click time order) and only
 * that slot's hidden state is reset. When no unused session remains, finished
 * slots are dropped and the batch shrinks (surviving rows keep their order), so
 * every pair of every session is produced exactly once. Sessions of length 1
 * yield nothing and are skipped.
 *
 * The caller applies each step in this order:
 *     if (st.keep)  sr_gru_keep_rows(g, st.keep, st.n);      rows compacted first
 *     for r in st.reset[0..n_reset): sr_gru_reset_row(g, r); indices after compaction
 *     sr_gru_train_step(g, st.in, st.out, st.n);
 *
 * All buffers are allocated in sr_batch_init; sr_batch_next allocates nothing.
 * Never prints; the iterator only reads the offsets/items arrays it is given.
 */
#ifndef SR_BATCH_H
#define SR_BATCH_H

#include <stdint.h>
#include "sessrec.h"

/* One step of the iterator. Pointers are valid until the next sr_batch_next. */
typedef struct sr_batch_step {
    int n;                  /* rows in this step (1..batch_size) */
    const int32_t *in;      /* (n) input items */
    const int32_t *out;     /* (n) target items */
    const int *keep;        /* NULL, or (n): the batch shrank, new row i = old row keep[i]
                               (increasing); apply before the resets */
    int n_prev;             /* rows of the previous step (keep indexes into those) */
    int n_reset;            /* rows whose hidden state must be zeroed before this step */
    const int *reset;       /* (n_reset) increasing row indices (after compaction) */
} sr_batch_step;

typedef struct sr_batch_iter {
    const int64_t *offsets; /* (n_sessions + 1) borrowed */
    const int32_t *items;   /* (offsets[n_sessions]) borrowed */
    int64_t n_sessions;
    int batch_size;         /* B: number of slots */
    int n;                  /* active rows */
    int n_prev;
    int fresh;              /* 1 right after rewind: the first step resets every row */
    int64_t next_session;   /* next session to hand out */
    int64_t *pos;           /* (B) index of the slot's current input event */
    int64_t *end;           /* (B) end (exclusive) of the slot's session */
    int32_t *in, *out;      /* (B) */
    int *reset;             /* (B) */
    int *keep;              /* (B) */
    int n_reset, shrunk;
} sr_batch_iter;

/* Prepares an iterator over sessions [offsets[s], offsets[s+1]) of `items`
 * with batch_size slots and rewinds it. Arrays are borrowed (must outlive it).
 * Returns SR_ERR_ARG for batch_size < 1, SR_ERR_NOMEM on allocation failure. */
sr_status sr_batch_init(sr_batch_iter *it, const int64_t *offsets, int64_t n_sessions,
                        const int32_t *items, int batch_size);
/* Restarts from the first session (a new epoch). */
void sr_batch_rewind(sr_batch_iter *it);
/* Fills *st with the next step; returns 1, or 0 when the epoch is over. */
int sr_batch_next(sr_batch_iter *it, sr_batch_step *st);
void sr_batch_free(sr_batch_iter *it);
/* Number of (input, target) pairs one epoch yields: sum over sessions of L-1. */
int64_t sr_batch_count_pairs(const int64_t *offsets, int64_t n_sessions);

#endif
