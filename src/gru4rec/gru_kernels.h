/*
 * gru_kernels.h - internal: the math of one GRU4Rec training step over a
 * session-parallel mini-batch, as pure functions over caller-owned arrays
 * (no I/O, no allocation, no randomness): input lookup, GRU layers forward and
 * backward (no BPTT), output scoring over the needed columns, loss, and the
 * gradients of every parameter tensor.
 *
 * Everything numeric exists twice: *_f (float, BLAS sgemm, fast exp; used by
 * training and inference) and *_d (double, dgemm, libm; used by the
 * finite-difference gradient checks, which thus test this very code).
 *
 * Layouts (row-major):
 *   state     (B, S)        all layers' hidden states side by side; layer l at
 *                           columns [off[l], off[l] + H[l])
 *   Wx[l]     (in_l, 3H)    gate blocks r | z | n (PyTorch GRUCell order);
 *                           one-hot layer 0: (N, 3H), a row lookup table
 *   Wh[l]     (H, 3H)
 *   bx[l]     (3H)          PyTorch bias_ih
 *   bh[l]     (3H)          PyTorch bias_hh (absent for the one-hot layer 0,
 *                           which, as in the official GRUEmbedding, has one bias)
 * The one-hot layer 0 is the official GRUEmbedding cell, not a GRUCell: its
 * Wx[0] and Wh[0] are the official Wx0 and [Wrz0 | Wh0] with the gate blocks
 * in sessrec's r | z | n order, and it computes
 *   r = s(a_r + h Wh_r), z = s(a_z + h Wh_z), n = tanh((r * h) Wh_n + a_n),
 *   h' = (1 - z) h + z n.
 *   E         (N, din)      separate embedding
 *   Wy        (N, H_last)   output weights (and the input table when constrained)
 *   By        (N)
 */
#ifndef SR_GRU_KERNELS_H
#define SR_GRU_KERNELS_H

#include "sessrec.h"
#include <stddef.h>
#include <stdint.h>

enum { GRK_ONEHOT = 0, GRK_EMBED = 1, GRK_CONSTRAINED = 2 };

/* The shape of a network: type independent. */
typedef struct grk_shape {
    int mode;                    /* GRK_ONEHOT / GRK_EMBED / GRK_CONSTRAINED */
    int L;                       /* layers */
    int H[SR_MAX_LAYERS];        /* hidden sizes */
    int off[SR_MAX_LAYERS];      /* column of layer l in a state row */
    int S;                       /* state size: sum of H */
    int din;                     /* width of layer 0's input vector (0 for one-hot) */
    int64_t N;                   /* items */
    int full;                    /* 1: full softmax (scores over all N items) */
    int Bmax;                    /* most rows per step */
    int nsmp;                    /* extra negatives per step (sampled losses) */
    int T;                       /* threads of a step (1 after grk_shape_init); sizes the
                                    per-thread scratch of grk_ws */
    int onehot_legacy;           /* one-hot layer 0 in the GRUCell form of model files
                                    written before the official cell (inference only) */
} grk_shape;

/* Whether layer l is the one-hot layer 0 in the official GRUEmbedding form:
 * n = tanh((r * h) Wh_n + a_n), h' = (1 - z) h + z n (see gru_kernels_impl.h). */
#define GRK_OFFICIAL_ONEHOT(sh, l) ((l) == 0 && (sh)->mode == GRK_ONEHOT && !(sh)->onehot_legacy)

/* Fills the derived fields (off, S, din) from mode, L, H, embedding size. */
void grk_shape_init(grk_shape *sh, int mode, int L, const int *H, int embedding,
                    int64_t N, int full, int Bmax, int nsmp);
/* Input width of layer l (N for the one-hot layer 0). */
int64_t grk_in_dim(const grk_shape *sh, int l);
/* Number of parameters (= elements of full-size gradients). */
size_t grk_grads_dense_count(const grk_shape *sh);
/* Most score columns / unique output rows / Wy gradient rows of one step. */
int64_t grk_max_cols(const grk_shape *sh);
int64_t grk_max_wy_rows(const grk_shape *sh);

/* What one step works on: the rows' items, the score columns and their
 * unique rows (so each distinct output item is scored and updated once), and
 * the dropout masks. Type independent; built by grk_plan_build into buffers
 * of grk_plan_ints(sh) int32 given by the caller. */
typedef struct grk_plan {
    int B;                       /* rows of this step (<= Bmax) */
    int Bn;                      /* nominal batch size: the loss is divided by it */
    const int32_t *in, *out;     /* (B) input and target items */
    int64_t C;                   /* score columns: B targets + nsmp samples, or N (full) */
    int n_tgt;                   /* the first n_tgt columns are targets (logq uses q = support) */
    int32_t *cols;               /* (C) item of each column (sampled only) */
    int nU;                      /* distinct output items (sampled) */
    int nW;                      /* rows of the compact Wy gradient: nU + input-only items (constrained) */
    int32_t *urows;              /* (nW) their items */
    int32_t *col_u;              /* (C) column -> index in urows */
    int32_t *ufirst;             /* (nU) first column of each distinct output item */
    int32_t *dups;               /* (ndup) the other columns (repeats) */
    int ndup;
    int nI;                      /* distinct input items (E / one-hot Wx0 tables) */
    int32_t *irows;              /* (nI) their items */
    int32_t *in_u;               /* (B) row of in[i] in the compact gradient of its table:
                                    index into irows, or into urows (constrained; = in[i] when full) */
    /* Dropout (inverted): keep flags, NULL = no dropout. mask_x on the input
     * vector (B, din); mask_h[l] on layer l's output (B, H[l]). */
    const uint8_t *mask_x;
    double scale_x;              /* 1 / (1 - p) */
    const uint8_t *mask_h[SR_MAX_LAYERS];
    double scale_h[SR_MAX_LAYERS];
    int32_t *buf_;               /* the caller's buffer */
} grk_plan;

size_t grk_plan_ints(const grk_shape *sh);
/* Builds the plan for B rows. samples: (sh->nsmp) items (sampled losses).
 * marker: (N) int32, all -1 on entry, restored on exit. Masks are left NULL. */
void grk_plan_build(grk_plan *pl, const grk_shape *sh, int32_t *buf, const int32_t *in,
                    const int32_t *out, int B, int Bn, const int32_t *samples, int32_t *marker);

/* ---- per-type declarations ------------------------------------------------ */
#define GRK_DECLARE(REAL, SFX)                                                          \
    typedef struct grk_net##SFX {                                                       \
        grk_shape sh;                                                                   \
        REAL *Wy, *By, *E;                                                              \
        REAL *Wx[SR_MAX_LAYERS], *Wh[SR_MAX_LAYERS];                                    \
        REAL *bx[SR_MAX_LAYERS], *bh[SR_MAX_LAYERS];                                    \
        sr_loss loss;                                                                   \
        REAL logq, alpha, bpreg, elu;                                                   \
        const REAL *logsup;      /* (N) log(support), needed when logq > 0 */           \
    } grk_net##SFX;                                                                     \
    /* Gradients of one step. Tables are compact (rows of the plan's lists):          \
     * Wy (nW, Hl) [full: (N, Hl)], By (nU) [full: (N)], E (nI, din),                 \
     * one-hot Wx[0] (nI, 3H0); the GRU weights are dense. */                          \
    typedef struct grk_grads##SFX {                                                     \
        REAL *Wy, *By, *E;                                                              \
        REAL *Wx[SR_MAX_LAYERS], *Wh[SR_MAX_LAYERS];                                    \
        REAL *bx[SR_MAX_LAYERS], *bh[SR_MAX_LAYERS];                                    \
    } grk_grads##SFX;                                                                   \
    /* Activations and scratch of one step. */                                         \
    typedef struct grk_ws##SFX {                                                        \
        REAL *x0;                /* (Bmax, din) */                                      \
        REAL *a, *da, *dc;       /* (Bmax, 3Hmax) */                                    \
        REAL *c[SR_MAX_LAYERS];  /* (Bmax, 3H) h-side pre-activations h Wh + bh */       \
        REAL *g[SR_MAX_LAYERS];  /* (Bmax, 3H) r | z | n */                             \
        REAL *Ou;                /* (Cmax, Hl) gathered output rows */                  \
        REAL *Bu;                /* (Cmax) gathered output biases */                    \
        REAL *su, *dRu;          /* (Bmax, Cmax) scores over unique columns */           \
        REAL *R;                 /* (Bmax, Cmax) scores -> dL/dscores */                \
        REAL *dh0, *dh1;         /* (Bmax, max(Hmax, din)) */                           \
        REAL *off;               /* (Cmax) logq offsets */                              \
        REAL *Bc;                /* (Cmax) output bias of each column */                \
        REAL *lt;                /* (4 Cmax) loss scratch */                            \
        REAL *dhp;               /* (T-1, Bmax, Hl) dL/dh partial sums of slices 1.. */  \
        REAL *ltp;               /* (T-1, 4 Cmax) loss scratch of slices 1.. */          \
        /* Set by the owner after carving (carve leaves them NULL): the team     \
         * that runs the step's phases (NULL: the caller alone), and a job that  \
         * runs (with a team) while the GRU layers are back-propagated, e.g.     \
         * drawing the next negatives. */                                        \
        struct grk_pool *pool;                                                          \
        void (*side)(void *ud);                                                         \
        void *side_ud;                                                                  \
        /* Optional: called (on the team) as soon as the gradients of the       \
         * distinct output rows u0..u1-1 (Wy, By) are complete, so that the      \
         * owner updates them while they are in cache; only after a finite loss. \
         * Rows that also receive an input gradient (constrained embedding) are  \
         * complete only at the end of the step: the owner must skip them. */    \
        void (*rows_ready)(void *ud, int64_t u0, int64_t u1);                           \
        void *rows_ud;                                                                  \
    } grk_ws##SFX;                                                                      \
    size_t grk_ws_count##SFX(const grk_shape *sh);                                      \
    void grk_ws_carve##SFX(grk_ws##SFX *ws, const grk_shape *sh, REAL *mem);            \
    size_t grk_grads_count##SFX(const grk_shape *sh);                                   \
    void grk_grads_carve##SFX(grk_grads##SFX *g, const grk_shape *sh, REAL *mem);       \
    /* Full-size gradients (every table (N, ...)), for tests: carve from             \
     * grk_grads_dense_count(sh) elements; expand writes the compact gradients      \
     * of a step into them (untouched rows zero). */                                 \
    void grk_grads_dense_carve##SFX(grk_grads##SFX *g, const grk_shape *sh, REAL *mem); \
    void grk_grads_expand##SFX(grk_grads##SFX *dense, const grk_grads##SFX *compact,    \
                               const grk_shape *sh, const grk_plan *pl);               \
    /* One GRU layer's gate math for B rows, given the pre-activations           \
     * a = x Wx + bx and c = hp Wh + bh (B, 3H): g = r|z|n, h = (1-z) n + z hp. */   \
    void grk_gates_fwd##SFX(REAL *g, REAL *h, int ldh, const REAL *a, const REAL *c,    \
                            const REAL *hp, int ldp, int B, int H);                    \
    /* Its backward: from dh (B, H) to da, dc (B, 3H); hp is a constant. */           \
    void grk_gates_bwd##SFX(REAL *da, REAL *dc, const REAL *dh, const REAL *g,          \
                            const REAL *c, const REAL *hp, int ldp, int B, int H);     \
    /* One training step's forward (and backward when gr != NULL): reads the     \
     * previous state hp (B, S), writes the new state hn (B, S) (after dropout)   \
     * and returns the loss summed over rows / Bn (NaN if not finite). With a     \
     * team in ws->pool (ws carved for sh->T = its size) the output layer is      \
     * split in T slices of the distinct output rows (gather, scores, their     \
     * gradients) and of the batch rows (softmax and loss); the                 \
     * result is deterministic for a given T (dL/dh is summed over the slices in  \
     * order; with T = 1 the arithmetic is that of a single thread). */          \
    double grk_step##SFX(const grk_net##SFX *net, const grk_plan *pl, const REAL *hp,   \
                         REAL *hn, grk_ws##SFX *ws, grk_grads##SFX *gr);               \
    /* Inference: feeds in[i] to n sessions with states h (n, S) in place and    \
     * writes all-item scores (n, N) when scores != NULL. work: grk_infer_count. */ \
    size_t grk_infer_count##SFX(const grk_shape *sh, int n);                            \
    void grk_infer##SFX(const grk_net##SFX *net, REAL *h, const int32_t *in, int n,     \
                        REAL *scores, REAL *work);

GRK_DECLARE(float, _f)
GRK_DECLARE(double, _d)
#undef GRK_DECLARE

#endif
