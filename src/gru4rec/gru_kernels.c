/*
 * gru_kernels.c - the math of a GRU4Rec step (see gru_kernels.h): shapes and
 * step plans here, the numeric bodies in gru_kernels_impl.h, compiled once for
 * float (training, inference) and once for double (gradient checks).
 * Must never allocate, print, or draw random numbers.
 */
#include "gru4rec/gru_kernels.h"
#include "gru4rec/fastmath.h"
#include "gru4rec/loss.h"
#include "gru4rec/pool.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <string.h>

void grk_shape_init(grk_shape *sh, int mode, int L, const int *H, int embedding,
                    int64_t N, int full, int Bmax, int nsmp)
{
    memset(sh, 0, sizeof *sh);
    sh->mode = mode;
    sh->L = L;
    int s = 0;
    for (int l = 0; l < L; l++) {
        sh->H[l] = H[l];
        sh->off[l] = s;
        s += H[l];
    }
    sh->S = s;
    sh->din = mode == GRK_EMBED ? embedding : mode == GRK_CONSTRAINED ? H[L - 1] : 0;
    sh->N = N;
    sh->full = full;
    sh->Bmax = Bmax;
    sh->nsmp = full ? 0 : nsmp;
    sh->T = 1;
}

int64_t grk_in_dim(const grk_shape *sh, int l)
{
    if (l > 0)
        return sh->H[l - 1];
    return sh->mode == GRK_ONEHOT ? sh->N : sh->din;
}

int64_t grk_max_cols(const grk_shape *sh)
{
    return sh->full ? sh->N : (int64_t)sh->Bmax + sh->nsmp;
}

int64_t grk_max_wy_rows(const grk_shape *sh)
{
    if (sh->full)
        return sh->N;
    return (int64_t)sh->Bmax + sh->nsmp + (sh->mode == GRK_CONSTRAINED ? sh->Bmax : 0);
}

size_t grk_grads_dense_count(const grk_shape *sh)
{
    size_t n = (size_t)sh->N * (size_t)sh->H[sh->L - 1] + (size_t)sh->N;
    if (sh->mode == GRK_EMBED)
        n += (size_t)sh->N * (size_t)sh->din;
    for (int l = 0; l < sh->L; l++) {
        size_t H3 = 3 * (size_t)sh->H[l];
        n += (size_t)grk_in_dim(sh, l) * H3 + (size_t)sh->H[l] * H3 + H3;
        if (!(l == 0 && sh->mode == GRK_ONEHOT))
            n += H3;
    }
    return n;
}

size_t grk_plan_ints(const grk_shape *sh)
{
    size_t cm = (size_t)sh->Bmax + (size_t)sh->nsmp;
    return 5 * cm + 3 * (size_t)sh->Bmax;
}

/* The index of item `it` in rows (n so far), appending it when marker says it
 * is not there yet; marker[it] keeps that index until the caller clears it. */
static int32_t unique_row(int32_t *marker, int32_t *rows, int *n, int32_t it)
{
    if (marker[it] < 0) {
        marker[it] = *n;
        rows[(*n)++] = it;
    }
    return marker[it];
}

void grk_plan_build(grk_plan *pl, const grk_shape *sh, int32_t *buf, const int32_t *in,
                    const int32_t *out, int B, int Bn, const int32_t *samples, int32_t *marker)
{
    size_t cm = (size_t)sh->Bmax + (size_t)sh->nsmp;
    memset(pl, 0, sizeof *pl);
    pl->buf_ = buf;
    pl->cols = buf;                      /* (cm) */
    pl->urows = buf + cm;                /* (cm + Bmax) */
    pl->col_u = pl->urows + cm + sh->Bmax; /* (cm) */
    pl->irows = pl->col_u + cm;          /* (Bmax) */
    pl->in_u = pl->irows + sh->Bmax;     /* (Bmax) */
    pl->ufirst = pl->in_u + sh->Bmax;    /* (cm) */
    pl->dups = pl->ufirst + cm;          /* (cm) */
    pl->B = B;
    pl->Bn = Bn;
    pl->in = in;
    pl->out = out;
    if (sh->full) {
        pl->C = sh->N;
        pl->n_tgt = 0;
        pl->nU = pl->nW = (int)sh->N;
        if (sh->mode == GRK_CONSTRAINED)
            for (int i = 0; i < B; i++)
                pl->in_u[i] = in[i];
    } else {
        pl->C = (int64_t)B + sh->nsmp;
        pl->n_tgt = B;
        memcpy(pl->cols, out, (size_t)B * sizeof *out);
        if (sh->nsmp)
            memcpy(pl->cols + B, samples, (size_t)sh->nsmp * sizeof *samples);
        int nu = 0;
        for (int64_t c = 0; c < pl->C; c++) {
            int seen = nu;
            pl->col_u[c] = unique_row(marker, pl->urows, &nu, pl->cols[c]);
            if (nu > seen)
                pl->ufirst[seen] = (int32_t)c;
            else
                pl->dups[pl->ndup++] = (int32_t)c;
        }
        pl->nU = nu;
        if (sh->mode == GRK_CONSTRAINED)
            for (int i = 0; i < B; i++)
                pl->in_u[i] = unique_row(marker, pl->urows, &nu, in[i]);
        pl->nW = nu;
        for (int k = 0; k < nu; k++)
            marker[pl->urows[k]] = -1;
    }
    if (sh->mode != GRK_CONSTRAINED) {
        int ni = 0;
        for (int i = 0; i < B; i++)
            pl->in_u[i] = unique_row(marker, pl->irows, &ni, in[i]);
        pl->nI = ni;
        for (int k = 0; k < ni; k++)
            marker[pl->irows[k]] = -1;
    }
}

#define REAL float
#define FN(name) name##_f
#define EXP(x) sr_fexpf(x)
#define SIGM(x) sr_fsigmoidf(x)
#define TANH(x) sr_ftanhf(x)
#define CBLAS_GEMM cblas_sgemm
#include "gru4rec/gru_kernels_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef SIGM
#undef TANH
#undef CBLAS_GEMM

#define REAL double
#define FN(name) name##_d
#define EXP(x) exp(x)
#define SIGM(x) (1.0 / (1.0 + exp(-(x))))
#define TANH(x) tanh(x)
#define CBLAS_GEMM cblas_dgemm
#include "gru4rec/gru_kernels_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef SIGM
#undef TANH
#undef CBLAS_GEMM
