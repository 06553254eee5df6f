/*
 * gru4rec.h - internal: the GRU4Rec network (parameters, optimizer state,
 * training workspace) as the training driver (train.c), the model files
 * (checkpoint.c via the "gru4rec" sr_model_vt) and the tests see it.
 *
 * Behaviour follows ../shared/GRU4REC.md exactly. The training step allocates
 * nothing: every buffer is sized in sr_gru_new for params->batch_size rows.
 */
#ifndef SR_GRU4REC_H
#define SR_GRU4REC_H

#include "sessrec.h"
#include "model/model.h"
#include "gru4rec/gru_kernels.h"

typedef struct sr_gru sr_gru;

/* A named parameter tensor, row-major (rows, cols). Used by model files,
 * gradient checks and the PyTorch comparison. `grad` is the dense gradient
 * buffer when the net was created with dense_grads (tests), else NULL.
 * Names: "E" (embedding), per layer l "Wx<l>" (in, 3H: gate blocks r|z|n),
 * "Wh<l>" (H, 3H), "bx<l>" and "bh<l>" (1, 3H: PyTorch's bias_ih and bias_hh;
 * the one-hot layer 0 has "bx0" only), then "Wy" (N, H_last), "By" (N, 1). */
typedef struct sr_tensor {
    const char *name;      /* e.g. "Wy", "By", "E", "Wx0", "Wh0", "bx0", "bh0" */
    float *data;
    float *grad;
    int64_t rows, cols;
} sr_tensor;

/* Creates a network for n_items items. `support` (n_items) is each item's number
 * of training events: it drives negative sampling (support^sample_alpha) and logq.
 * Weights are initialised from params->seed. Caller frees with sr_gru_free. */
sr_status sr_gru_new(sr_gru **out, const sr_gru_params *p, int64_t n_items,
                     const int64_t *support, sr_error *err);
void sr_gru_free(sr_gru *g);
const sr_gru_params *sr_gru_params_of(const sr_gru *g);
int64_t sr_gru_n_items(const sr_gru *g);

/* The parameter tensors (fixed order). Returns their count; fills up to max. */
int sr_gru_tensors(sr_gru *g, sr_tensor *out, int max);

/* ---- training (session-parallel mini-batches, driven by train.c) ---------- */
/* Splits each training step between `threads` threads (1 to GRK_MAX_THREADS;
 * the default is 1): a team kept until sr_gru_free. While a step runs with a
 * team, OpenBLAS is held at one thread (each thread makes its own calls).
 * The model is bit-identical run to run for the same seed and thread count. */
sr_status sr_gru_set_threads(sr_gru *g, int threads, sr_error *err);
int sr_gru_threads(const sr_gru *g);
/* Zeroes every layer's hidden state of batch row `row` (a new session starts there). */
void sr_gru_reset_row(sr_gru *g, int row);
/* Shrinks the batch: new row i takes the hidden state of old row keep[i]
 * (keep is increasing), for i < n_keep. */
void sr_gru_keep_rows(sr_gru *g, const int *keep, int n_keep);
/* One training step over n rows (n <= batch_size): input item in[i], target
 * out[i]. Draws the negatives, runs forward + loss + backward (no BPTT) and the
 * optimizer update. Returns the loss of the step (sum over rows / batch_size);
 * NaN if it diverged (parameters are then unreliable: stop training). */
double sr_gru_train_step(sr_gru *g, const int32_t *in, const int32_t *out, int n);

/* ---- inference ------------------------------------------------------------------ */
/* Size of one session's hidden state (sum of the layer sizes). */
int sr_gru_state_size(const sr_gru *g);
/* Feeds in[i] to n sessions whose hidden states are the rows of h
 * (n, state_size), updating them in place (no dropout), and writes the scores
 * of all items (n, n_items) into scores if non-NULL. `work` must hold
 * sr_gru_infer_work_size(g, n) floats. Thread-safe for distinct h/work. */
size_t sr_gru_infer_work_size(const sr_gru *g, int n);
void sr_gru_infer_step(const sr_gru *g, float *h, const int32_t *in, int n,
                       float *scores, float *work);

/* The sr_model_vt of GRU4Rec ("gru4rec"); the model's impl is an sr_gru*. */
extern const sr_model_vt sr_gru4rec_vt;
/* Wraps a trained network into a model (takes ownership of g, also on failure,
 * and frees its training state: optimizer, sampler, workspace). NULL on OOM. */
sr_model *sr_gru_to_model(sr_gru *g, const int64_t *item_ids);

/* A model that scores with g as it is now, without owning it (validation
 * during training): free it with sr_model_free before training on or freeing
 * g. Scoring is read-only on g. NULL on OOM. */
sr_model *sr_gru_model_view(sr_gru *g, const int64_t *item_ids);

/* ---- training state in model files: resume and warm start ----------------------- */
/* Progress counters stored with a training state. */
typedef struct sr_gru_progress {
    int epochs_done;             /* epochs trained so far */
    int best_epoch, since_best;  /* early stopping: best epoch so far, epochs since */
    double best_metric;
} sr_gru_progress;
/* on: model files written from the training network g (through a view) carry
 * its training state (optimizer state, RNG and sampler positions) and *pr. */
void sr_gru_keep_state(sr_gru *g, int on, const sr_gru_progress *pr);
/* 1 if files written from g carry a training state (a training net after
 * sr_gru_keep_state, or a net loaded from a file with one); fills *pr. */
int sr_gru_has_state(const sr_gru *g, sr_gru_progress *pr);
/* Starts the training network dst from src (same layers and input mode):
 * every parameter, and the optimizer state when src has one for the same
 * optimizer. src's items must be dst's first items, in the same order (rows
 * of dst's item tables beyond them keep their initial values). resume: the
 * same items; also the Adam step, the dropout RNG, the sampler position and
 * the progress, so that training continues bit-identically (src must carry a
 * training state). */
sr_status sr_gru_copy_from(sr_gru *dst, const sr_gru *src, int resume, sr_error *err);

/* ---- test hooks (gradient checks, PyTorch comparison; not for the driver) -------- */
/* From now on keep a full-size copy of every tensor's gradient of the last step
 * in sr_tensor.grad (tables included: untouched rows are zero). Allocates. */
sr_status sr_gru_dense_grads(sr_gru *g);
/* A training step without the optimizer update: samples, dropout, forward,
 * backward; the hidden state of rows 0..n-1 advances as in train_step.
 * Returns the loss (sum over rows / batch_size). */
double sr_gru_grad_step(sr_gru *g, const int32_t *in, const int32_t *out, int n);
/* Use these n_sample items (copied) as the extra negatives of every following
 * step instead of the sampler; NULL returns to the sampler. */
sr_status sr_gru_fix_samples(sr_gru *g, const int32_t *samples);
/* The training hidden states, (batch_size, state_size); NULL if not training. */
float *sr_gru_train_state(sr_gru *g);
/* The kernel view of the network and the plan of the last step (its samples,
 * unique rows and dropout masks; valid until the next step). */
const grk_net_f *sr_gru_net(const sr_gru *g);
const grk_plan *sr_gru_last_plan(const sr_gru *g);
/* Optimizer state of tensor i (sr_gru_tensors order): Adagrad (acc, momentum
 * or NULL), Adam (m, v). Returns 0 if there is none. */
int sr_gru_opt_state(sr_gru *g, int i, float **s1, float **s2);

#endif
