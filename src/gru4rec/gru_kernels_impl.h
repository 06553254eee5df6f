/*
 * gru_kernels_impl.h - numeric body of gru_kernels.c, included once per
 * element type with REAL, FN(name), EXP, SIGM, TANH and CBLAS_GEMM defined.
 * Not a header of its own (no include guard on purpose).
 */

/* Row-major C = alpha op(A) op(B) + beta C, tolerant of empty sizes (OpenBLAS
 * would print an error for a zero leading dimension). */
static void FN(gemm)(int ta, int tb, int64_t M, int64_t N, int64_t K, REAL alpha,
                     const REAL *A, int64_t lda, const REAL *Bm, int64_t ldb, REAL beta,
                     REAL *C, int64_t ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];
        return;
    }
    CBLAS_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
               (int)M, (int)N, (int)K, alpha, A, (int)lda, Bm, (int)ldb, beta, C, (int)ldc);
}

/* out[i] = v (n) for each of B rows of width n */
static void FN(bcast_rows)(REAL *out, const REAL *v, int B, int64_t n)
{
    for (int i = 0; i < B; i++)
        if (v)
            memcpy(out + (size_t)i * (size_t)n, v, (size_t)n * sizeof *out);
        else
            memset(out + (size_t)i * (size_t)n, 0, (size_t)n * sizeof *out);
}

/* out (n) = sum over the B rows of M (B, n; leading dimension ld) */
static void FN(colsum)(REAL *out, const REAL *M, int B, int64_t ld, int64_t n)
{
    memset(out, 0, (size_t)n * sizeof *out);
    for (int i = 0; i < B; i++) {
        const REAL *m = M + (size_t)i * (size_t)ld;
        for (int64_t j = 0; j < n; j++)
            out[j] += m[j];
    }
}

/* out[j] = x[idx[j]] (+ add[j]) for j < n */
static void FN(gather)(REAL *restrict out, const REAL *restrict x, const int32_t *restrict idx,
                       const REAL *restrict add, int64_t n)
{
    if (add)
        for (int64_t j = 0; j < n; j++)
            out[j] = x[idx[j]] + add[j];
    else
        for (int64_t j = 0; j < n; j++)
            out[j] = x[idx[j]];
}

/* X (B, n, ld ldx) *= keep * scale */
static void FN(dropout)(REAL *X, int64_t ldx, const uint8_t *keep, int B, int n, double scale)
{
    REAL s = (REAL)scale;
    for (int i = 0; i < B; i++) {
        REAL *x = X + (size_t)i * (size_t)ldx;
        const uint8_t *k = keep + (size_t)i * (size_t)n;
        for (int j = 0; j < n; j++)
            x[j] *= (REAL)k[j] * s;
    }
}

size_t FN(grk_ws_count)(const grk_shape *sh)
{
    size_t B = (size_t)sh->Bmax, Hm = 0, Hl = (size_t)sh->H[sh->L - 1];
    size_t n = 0;
    for (int l = 0; l < sh->L; l++) {
        Hm = (size_t)sh->H[l] > Hm ? (size_t)sh->H[l] : Hm;
        n += 2 * B * 3 * (size_t)sh->H[l];                  /* c, g */
    }
    size_t cu = sh->full ? 0 : B + (size_t)sh->nsmp;        /* unique columns */
    size_t cm = (size_t)grk_max_cols(sh);
    size_t wd = Hm > (size_t)sh->din ? Hm : (size_t)sh->din;
    n += B * (size_t)sh->din;                               /* x0 */
    n += 3 * B * 3 * Hm;                                    /* a, da, dc */
    n += cu * Hl + cu;                                      /* Ou, Bu */
    n += 2 * B * cu;                                        /* su, dRu */
    n += B * cm;                                            /* R */
    n += 2 * B * wd;                                        /* dh0, dh1 */
    n += 2 * cu + 4 * cm;                                   /* off, Bc, lt */
    n += (size_t)(sh->T - 1) * (B * Hl + 4 * cm);           /* dhp, ltp */
    return n;
}

void FN(grk_ws_carve)(FN(grk_ws) *ws, const grk_shape *sh, REAL *mem)
{
    size_t B = (size_t)sh->Bmax, Hm = 0, Hl = (size_t)sh->H[sh->L - 1];
    memset(ws, 0, sizeof *ws);
    for (int l = 0; l < sh->L; l++) {
        Hm = (size_t)sh->H[l] > Hm ? (size_t)sh->H[l] : Hm;
        ws->c[l] = mem, mem += B * 3 * (size_t)sh->H[l];
        ws->g[l] = mem, mem += B * 3 * (size_t)sh->H[l];
    }
    size_t cu = sh->full ? 0 : B + (size_t)sh->nsmp;
    size_t cm = (size_t)grk_max_cols(sh);
    size_t wd = Hm > (size_t)sh->din ? Hm : (size_t)sh->din;
    ws->x0 = mem, mem += B * (size_t)sh->din;
    ws->a = mem, mem += B * 3 * Hm;
    ws->da = mem, mem += B * 3 * Hm;
    ws->dc = mem, mem += B * 3 * Hm;
    ws->Ou = mem, mem += cu * Hl;
    ws->Bu = mem, mem += cu;
    ws->su = mem, mem += B * cu;
    ws->dRu = mem, mem += B * cu;
    ws->R = mem, mem += B * cm;
    ws->dh0 = mem, mem += B * wd;
    ws->dh1 = mem, mem += B * wd;
    ws->off = mem, mem += cu;
    ws->Bc = mem, mem += cu;
    ws->lt = mem, mem += 4 * cm;
    ws->dhp = mem, mem += (size_t)(sh->T - 1) * B * Hl;
    ws->ltp = mem;
}

size_t FN(grk_grads_count)(const grk_shape *sh)
{
    size_t B = (size_t)sh->Bmax, Hl = (size_t)sh->H[sh->L - 1];
    size_t n = (size_t)grk_max_wy_rows(sh) * Hl;
    n += sh->full ? (size_t)sh->N : B + (size_t)sh->nsmp;
    if (sh->mode == GRK_EMBED)
        n += B * (size_t)sh->din;
    for (int l = 0; l < sh->L; l++) {
        size_t H3 = 3 * (size_t)sh->H[l];
        int onehot0 = l == 0 && sh->mode == GRK_ONEHOT;
        n += (onehot0 ? B : (size_t)grk_in_dim(sh, l)) * H3;
        n += (size_t)sh->H[l] * H3 + H3 + (onehot0 ? 0 : H3);
    }
    return n;
}

void FN(grk_grads_carve)(FN(grk_grads) *g, const grk_shape *sh, REAL *mem)
{
    size_t B = (size_t)sh->Bmax, Hl = (size_t)sh->H[sh->L - 1];
    memset(g, 0, sizeof *g);
    g->Wy = mem, mem += (size_t)grk_max_wy_rows(sh) * Hl;
    g->By = mem, mem += sh->full ? (size_t)sh->N : B + (size_t)sh->nsmp;
    if (sh->mode == GRK_EMBED)
        g->E = mem, mem += B * (size_t)sh->din;
    for (int l = 0; l < sh->L; l++) {
        size_t H3 = 3 * (size_t)sh->H[l];
        int onehot0 = l == 0 && sh->mode == GRK_ONEHOT;
        g->Wx[l] = mem, mem += (onehot0 ? B : (size_t)grk_in_dim(sh, l)) * H3;
        g->Wh[l] = mem, mem += (size_t)sh->H[l] * H3;
        g->bx[l] = mem, mem += H3;
        if (!onehot0)
            g->bh[l] = mem, mem += H3;
    }
}

void FN(grk_grads_dense_carve)(FN(grk_grads) *g, const grk_shape *sh, REAL *mem)
{
    size_t N = (size_t)sh->N, Hl = (size_t)sh->H[sh->L - 1];
    memset(g, 0, sizeof *g);
    g->Wy = mem, mem += N * Hl;
    g->By = mem, mem += N;
    if (sh->mode == GRK_EMBED)
        g->E = mem, mem += N * (size_t)sh->din;
    for (int l = 0; l < sh->L; l++) {
        size_t H3 = 3 * (size_t)sh->H[l];
        g->Wx[l] = mem, mem += (size_t)grk_in_dim(sh, l) * H3;
        g->Wh[l] = mem, mem += (size_t)sh->H[l] * H3;
        g->bx[l] = mem, mem += H3;
        if (!(l == 0 && sh->mode == GRK_ONEHOT))
            g->bh[l] = mem, mem += H3;
    }
}

/* dst rows rows[k] (or k when rows is NULL) = src row k, for k < n; others zero */
static void FN(expand_rows)(REAL *dst, int64_t total, const REAL *src, const int32_t *rows,
                            int64_t n, int64_t cols)
{
    if (!rows) {
        memcpy(dst, src, (size_t)(n * cols) * sizeof *dst);
        return;
    }
    memset(dst, 0, (size_t)(total * cols) * sizeof *dst);
    for (int64_t k = 0; k < n; k++)
        memcpy(dst + (size_t)rows[k] * cols, src + (size_t)k * cols, (size_t)cols * sizeof *dst);
}

void FN(grk_grads_expand)(FN(grk_grads) *dense, const FN(grk_grads) *c, const grk_shape *sh,
                          const grk_plan *pl)
{
    int64_t N = sh->N, Hl = sh->H[sh->L - 1];
    const int32_t *urows = sh->full ? NULL : pl->urows;
    FN(expand_rows)(dense->Wy, N, c->Wy, urows, sh->full ? N : pl->nW, Hl);
    FN(expand_rows)(dense->By, N, c->By, urows, sh->full ? N : pl->nU, 1);
    if (sh->mode == GRK_EMBED)
        FN(expand_rows)(dense->E, N, c->E, pl->irows, pl->nI, sh->din);
    for (int l = 0; l < sh->L; l++) {
        int64_t H3 = 3 * (int64_t)sh->H[l];
        if (l == 0 && sh->mode == GRK_ONEHOT)
            FN(expand_rows)(dense->Wx[0], N, c->Wx[0], pl->irows, pl->nI, H3);
        else
            memcpy(dense->Wx[l], c->Wx[l], (size_t)(grk_in_dim(sh, l) * H3) * sizeof(REAL));
        memcpy(dense->Wh[l], c->Wh[l], (size_t)(sh->H[l] * H3) * sizeof(REAL));
        memcpy(dense->bx[l], c->bx[l], (size_t)H3 * sizeof(REAL));
        if (dense->bh[l])
            memcpy(dense->bh[l], c->bh[l], (size_t)H3 * sizeof(REAL));
    }
}

/* One row of the gate math. Separate restrict-qualified streams: the form in
 * which GCC vectorises it (with offsets into shared rows it does not). */
static void FN(gates_fwd_row)(REAL *restrict gr, REAL *restrict gz, REAL *restrict gn,
                              REAL *restrict o, const REAL *restrict ar,
                              const REAL *restrict az, const REAL *restrict an,
                              const REAL *restrict cr, const REAL *restrict cz,
                              const REAL *restrict cn, const REAL *restrict p, int H)
{
    for (int j = 0; j < H; j++) {
        REAL r = SIGM(ar[j] + cr[j]);
        REAL z = SIGM(az[j] + cz[j]);
        REAL n = TANH(an[j] + r * cn[j]);
        gr[j] = r;
        gz[j] = z;
        gn[j] = n;
        o[j] = (1 - z) * n + z * p[j];
    }
}

void FN(grk_gates_fwd)(REAL *g, REAL *h, int ldh, const REAL *a, const REAL *c,
                       const REAL *hp, int ldp, int B, int H)
{
    for (int i = 0; i < B; i++) {
        const REAL *ar = a + (size_t)i * 3 * H, *cr = c + (size_t)i * 3 * H;
        REAL *gr = g + (size_t)i * 3 * H;
        FN(gates_fwd_row)(gr, gr + H, gr + 2 * H, h + (size_t)i * ldh, ar, ar + H, ar + 2 * H, cr,
                          cr + H, cr + 2 * H, hp + (size_t)i * ldp, H);
    }
}

static void FN(gates_bwd_row)(REAL *restrict ar, REAL *restrict az, REAL *restrict an,
                              REAL *restrict cr, REAL *restrict cz, REAL *restrict cnn,
                              const REAL *restrict d, const REAL *restrict gr,
                              const REAL *restrict gz, const REAL *restrict gn,
                              const REAL *restrict cn, const REAL *restrict p, int H)
{
    for (int j = 0; j < H; j++) {
        REAL r = gr[j], z = gz[j], n = gn[j];
        REAL dnp = d[j] * (1 - z) * (1 - n * n); /* d tanh pre-activation */
        REAL drp = dnp * cn[j] * r * (1 - r);
        REAL dzp = d[j] * (p[j] - n) * z * (1 - z);
        ar[j] = drp;
        az[j] = dzp;
        an[j] = dnp;
        cr[j] = drp;
        cz[j] = dzp;
        cnn[j] = dnp * r;
    }
}

void FN(grk_gates_bwd)(REAL *da, REAL *dc, const REAL *dh, const REAL *g,
                       const REAL *c, const REAL *hp, int ldp, int B, int H)
{
    for (int i = 0; i < B; i++) {
        const REAL *gr = g + (size_t)i * 3 * H;
        REAL *ar = da + (size_t)i * 3 * H, *cr = dc + (size_t)i * 3 * H;
        FN(gates_bwd_row)(ar, ar + H, ar + 2 * H, cr, cr + H, cr + 2 * H, dh + (size_t)i * H, gr,
                          gr + H, gr + 2 * H, c + (size_t)i * 3 * H + 2 * H, hp + (size_t)i * ldp,
                          H);
    }
}

/* Layer l's forward pre-activations for B rows: a = x Wx + bx (one-hot layer 0:
 * rows of the Wx table), c = hp Wh + bh (not for the one-hot layer 0, whose
 * state side onehot_fwd computes). x: layer input (B, in) with ld ldx. */
static void FN(layer_pre)(const FN(grk_net) *net, int l, const int32_t *in, const REAL *x,
                          int64_t ldx, const REAL *hp, int B, REAL *a, REAL *c)
{
    const grk_shape *sh = &net->sh;
    int H = sh->H[l], H3 = 3 * H;
    if (l == 0 && sh->mode == GRK_ONEHOT) {
        const REAL *bx = net->bx[0];
        for (int i = 0; i < B; i++) {
            const REAL *restrict w = net->Wx[0] + (size_t)in[i] * H3;
            REAL *restrict o = a + (size_t)i * H3;
            for (int j = 0; j < H3; j++)
                o[j] = w[j] + bx[j];
        }
        if (GRK_OFFICIAL_ONEHOT(sh, l))
            return;
    } else {
        FN(bcast_rows)(a, net->bx[l], B, H3);
        FN(gemm)(0, 0, B, H3, grk_in_dim(sh, l), 1, x, ldx, net->Wx[l], H3, 1, a, H3);
    }
    FN(bcast_rows)(c, net->bh[l], B, H3);
    FN(gemm)(0, 0, B, H3, H, 1, hp, sh->S, net->Wh[l], H3, 1, c, H3);
}

/* The one-hot layer 0 in the official GRUEmbedding form (not the GRUCell one):
 * with a = Wx0[item] + bx0 (B, 3H: r|z|n) and Wh (H, 3H: r|z|n),
 *   r = s(a_r + hp Wh_r), z = s(a_z + hp Wh_z),
 *   n = tanh((r * hp) Wh_n + a_n)      the reset gate applies BEFORE the product,
 *   h = (1 - z) hp + z n               and z weights the candidate.
 * Writes g = r|z|n and c = hp Wh_r | hp Wh_z | r * hp (kept for the backward). */
static void FN(onehot_fwd)(REAL *g, REAL *h, int ldh, const REAL *a, REAL *c, const REAL *hp,
                           int ldp, const REAL *Wh, int B, int H)
{
    const int H3 = 3 * H;
    FN(gemm)(0, 0, B, 2 * H, H, 1, hp, ldp, Wh, H3, 0, c, H3);
    for (int i = 0; i < B; i++) {
        const REAL *ai = a + (size_t)i * H3, *p = hp + (size_t)i * ldp;
        REAL *gi = g + (size_t)i * H3, *ci = c + (size_t)i * H3;
        for (int j = 0; j < H; j++) {
            REAL r = SIGM(ai[j] + ci[j]);
            gi[j] = r;
            gi[H + j] = SIGM(ai[H + j] + ci[H + j]);
            ci[2 * H + j] = r * p[j];
        }
    }
    FN(gemm)(0, 0, B, H, H, 1, c + 2 * H, H3, Wh + 2 * H, H3, 0, g + 2 * H, H3);
    for (int i = 0; i < B; i++) {
        const REAL *ai = a + (size_t)i * H3, *p = hp + (size_t)i * ldp;
        REAL *gi = g + (size_t)i * H3, *o = h + (size_t)i * ldh;
        for (int j = 0; j < H; j++) {
            REAL z = gi[H + j], n = TANH(ai[2 * H + j] + gi[2 * H + j]);
            gi[2 * H + j] = n;
            o[j] = (1 - z) * p[j] + z * n;
        }
    }
}

/* Its backward from dh (B, H) (hp a constant): da (B, 3H), and the gradient of
 * Wh (H, 3H) into gWh. dc (B, 3H) is scratch. */
static void FN(onehot_bwd)(REAL *da, REAL *dc, REAL *gWh, const REAL *dh, const REAL *g,
                           const REAL *c, const REAL *hp, int ldp, const REAL *Wh, int B, int H)
{
    const int H3 = 3 * H;
    for (int i = 0; i < B; i++) {
        const REAL *gi = g + (size_t)i * H3, *p = hp + (size_t)i * ldp, *d = dh + (size_t)i * H;
        REAL *o = da + (size_t)i * H3;
        for (int j = 0; j < H; j++) {
            REAL z = gi[H + j], n = gi[2 * H + j];
            o[2 * H + j] = d[j] * z * (1 - n * n);      /* d tanh pre-activation */
            o[H + j] = d[j] * (n - p[j]) * z * (1 - z); /* d z pre-activation */
        }
    }
    /* d(r * hp) = dn_pre Wh_n^T, into dc's last block */
    FN(gemm)(0, 1, B, H, H, 1, da + 2 * H, H3, Wh + 2 * H, H3, 0, dc + 2 * H, H3);
    for (int i = 0; i < B; i++) {
        const REAL *gi = g + (size_t)i * H3, *p = hp + (size_t)i * ldp;
        REAL *o = da + (size_t)i * H3, *q = dc + (size_t)i * H3;
        for (int j = 0; j < H; j++) {
            REAL r = gi[j];
            o[j] = q[2 * H + j] * p[j] * r * (1 - r);
        }
    }
    /* Wh_r | Wh_z see hp, Wh_n sees r * hp */
    FN(gemm)(1, 0, H, 2 * H, B, 1, hp, ldp, da, H3, 0, gWh, H3);
    FN(gemm)(1, 0, H, H, B, 1, c + 2 * H, H3, da + 2 * H, H3, 0, gWh + 2 * H, H3);
}

/* x0 (B, din) = rows in[i] of the input table */
static void FN(gather_input)(const FN(grk_net) *net, const int32_t *in, int B, REAL *x0)
{
    const grk_shape *sh = &net->sh;
    const REAL *tab = sh->mode == GRK_EMBED ? net->E : net->Wy;
    for (int i = 0; i < B; i++)
        memcpy(x0 + (size_t)i * sh->din, tab + (size_t)in[i] * sh->din,
               (size_t)sh->din * sizeof *x0);
}

/* The work of one step, shared by the phases below. */
typedef struct FN(stepx) {
    const FN(grk_net) *net;
    const grk_plan *pl;
    const REAL *hp;
    REAL *hn;
    FN(grk_ws) *ws;
    FN(grk_grads) *gr;
    REAL scale;                  /* 1 / Bn */
    int64_t nU;                  /* distinct output rows (N when full) */
    const REAL *Ou;              /* (nU, Hl) their weights: gathered, or Wy itself (full) */
    REAL *su;                    /* scores over the distinct rows (B, ldsu); R when full */
    REAL *dRu;                   /* their gradients (B, ldsu); R when full */
    int64_t ldsu;
    int layer;                   /* the layer being back-propagated */
    REAL *dx;                    /* where its dL/dx goes (B, in) */
    double loss[GRK_MAX_THREADS];
} FN(stepx);

/* Forward through the GRU layers (dropout included): hn from hp. */
static void FN(gru_forward)(const FN(stepx) *x)
{
    const FN(grk_net) *net = x->net;
    const grk_plan *pl = x->pl;
    const grk_shape *sh = &net->sh;
    FN(grk_ws) *ws = x->ws;
    const int B = pl->B, S = sh->S, din = sh->din;
    if (sh->mode != GRK_ONEHOT) {
        FN(gather_input)(net, pl->in, B, ws->x0);
        if (pl->mask_x)
            FN(dropout)(ws->x0, din, pl->mask_x, B, din, pl->scale_x);
    }
    for (int l = 0; l < sh->L; l++) {
        const REAL *xin = l == 0 ? ws->x0 : x->hn + sh->off[l - 1];
        int64_t ldx = l == 0 ? din : S;
        FN(layer_pre)(net, l, pl->in, xin, ldx, x->hp + sh->off[l], B, ws->a, ws->c[l]);
        if (GRK_OFFICIAL_ONEHOT(sh, l))
            FN(onehot_fwd)(ws->g[0], x->hn, S, ws->a, ws->c[0], x->hp, S, net->Wh[0], B,
                           sh->H[0]);
        else
            FN(grk_gates_fwd)(ws->g[l], x->hn + sh->off[l], S, ws->a, ws->c[l],
                              x->hp + sh->off[l], S, B, sh->H[l]);
        if (pl->mask_h[l])
            FN(dropout)(x->hn + sh->off[l], S, pl->mask_h[l], B, sh->H[l], pl->scale_h[l]);
    }
}

/* The phases of a step run as items on the team (pool.h); item t works on
 * slice t of the distinct output rows, of the batch rows or of the columns,
 * whichever thread runs it.
 * Phase 1 (T + 1 items): item T runs the GRU forward; each other item gathers
 * its slice of the distinct output rows (they do not depend on the forward)
 * and computes the logq offsets of its slice of the columns. The first thread
 * done with its slice takes the forward. */
static void FN(ph_forward)(void *vx, int t, int n)
{
    FN(stepx) *x = vx;
    const FN(grk_net) *net = x->net;
    const grk_plan *pl = x->pl;
    FN(grk_ws) *ws = x->ws;
    const int Hl = net->sh.H[net->sh.L - 1];
    const int T = n - 1;
    if (t == T) {
        FN(gru_forward)(x);
        return;
    }
    if (net->sh.full)
        return;
    int64_t u0, u1, c0, c1;
    grk_slice(x->nU, t, T, &u0, &u1);
    for (int64_t k = u0; k < u1; k++) {
#if defined(__GNUC__)
        if (k + 4 < u1) /* rows scattered over a table larger than the caches */
            for (int j = 0; j < Hl; j += 64 / (int)sizeof(REAL))
                __builtin_prefetch(net->Wy + (size_t)pl->urows[k + 4] * Hl + j);
#endif
        memcpy(ws->Ou + (size_t)k * Hl, net->Wy + (size_t)pl->urows[k] * Hl,
               (size_t)Hl * sizeof *ws->Ou);
        ws->Bu[k] = net->By[pl->urows[k]];
    }
    if (net->loss == SR_LOSS_XE && net->logq > 0) {
        grk_slice(pl->C, t, T, &c0, &c1);
        for (int64_t c = c0; c < c1; c++)
            ws->off[c] = net->logq * (c < pl->n_tgt ? 1 : net->alpha) * net->logsup[pl->cols[c]];
    }
}

/* Phase 2: scores of slice t of the distinct rows (one product),
 * and the output bias of its slice of the columns. */
static void FN(ph_scores)(void *vx, int t, int T)
{
    FN(stepx) *x = vx;
    const FN(grk_net) *net = x->net;
    const grk_plan *pl = x->pl;
    const grk_shape *sh = &net->sh;
    FN(grk_ws) *ws = x->ws;
    const int B = pl->B, S = sh->S, Hl = sh->H[sh->L - 1];
    const REAL *hL = x->hn + sh->off[sh->L - 1];
    int64_t u0, u1;
    grk_slice(x->nU, t, T, &u0, &u1);
    if (sh->full) {
        for (int i = 0; i < B; i++)
            memcpy(x->su + (size_t)i * x->ldsu + u0, net->By + u0,
                   (size_t)(u1 - u0) * sizeof *x->su);
        FN(gemm)(0, 1, B, u1 - u0, Hl, 1, hL, S, x->Ou + (size_t)u0 * Hl, Hl, 1, x->su + u0,
                 x->ldsu);
        return;
    }
    FN(gemm)(0, 1, B, u1 - u0, Hl, 1, hL, S, x->Ou + (size_t)u0 * Hl, Hl, 0, x->su + u0, x->ldsu);
    int64_t c0, c1;
    grk_slice(pl->C, t, T, &c0, &c1);
    for (int64_t c = c0; c < c1; c++)
        ws->Bc[c] = ws->Bu[pl->col_u[c]];
}

/* Phase 3: softmax / loss of slice t of the batch rows, one row at
 * a time while it is in cache: scores of the columns, loss gradient, and its
 * sum per distinct item. */
static void FN(ph_loss)(void *vx, int t, int T)
{
    FN(stepx) *x = vx;
    const FN(grk_net) *net = x->net;
    const grk_plan *pl = x->pl;
    FN(grk_ws) *ws = x->ws;
    const int64_t C = pl->C;
    REAL *lt = t == 0 ? ws->lt : ws->ltp + (size_t)(t - 1) * 4 * (size_t)grk_max_cols(&net->sh);
    int64_t i0, i1;
    grk_slice(pl->B, t, T, &i0, &i1);
    double total = 0;
    if (net->sh.full) {
        if (i1 > i0)
            total = FN(sr_loss_xe_at)(ws->R + (size_t)i0 * C, (int)i0, (int)(i1 - i0), C,
                                      pl->out + i0, NULL, x->scale);
        x->loss[t] = total;
        return;
    }
    const REAL *off = net->loss == SR_LOSS_XE && net->logq > 0 ? ws->off : NULL;
    const int32_t *restrict cu = pl->col_u;
    const REAL *restrict bc = ws->Bc;
    for (int64_t i = i0; i < i1; i++) {
        REAL *restrict r = ws->R + (size_t)i * C;
        const REAL *restrict s = x->su + (size_t)i * x->ldsu;
        if (off)
            for (int64_t c = 0; c < C; c++)
                r[c] = (s[cu[c]] + bc[c]) - off[c];
        else
            for (int64_t c = 0; c < C; c++)
                r[c] = s[cu[c]] + bc[c];
        double l = NAN; /* stays for a value outside the enum (sr_gru_params_check rejects it) */
        switch (net->loss) {
        case SR_LOSS_BPR_MAX:
            l = FN(sr_loss_bprmax_at)(r, (int)i, 1, C, net->elu, net->bpreg, x->scale, lt);
            break;
        case SR_LOSS_XE:
            l = FN(sr_loss_xe_at)(r, (int)i, 1, C, NULL, NULL, x->scale);
            break;
        case SR_LOSS_FULL_XE: /* the shape is `full`: handled above */
            assert(!"sampled output with the full-softmax loss");
            break;
        }
        total += l;
        if (isnan(l))
            break;
        /* sum the columns of each distinct item: its first column, then repeats */
        REAL *d = x->dRu + (size_t)i * x->ldsu;
        FN(gather)(d, r, pl->ufirst, NULL, x->nU);
        for (int k = 0; k < pl->ndup; k++)
            d[cu[pl->dups[k]]] += r[pl->dups[k]];
    }
    x->loss[t] = total;
}

/* Phase 4: gradients of slice t of the distinct output rows (Wy
 * rows, By), and its part of dL/dh (summed over the slices by item 0 next). */
static void FN(ph_out_grad)(void *vx, int t, int T)
{
    FN(stepx) *x = vx;
    const grk_plan *pl = x->pl;
    const grk_shape *sh = &x->net->sh;
    FN(grk_ws) *ws = x->ws;
    FN(grk_grads) *gr = x->gr;
    const int B = pl->B, S = sh->S, Hl = sh->H[sh->L - 1];
    const REAL *hL = x->hn + sh->off[sh->L - 1];
    int64_t u0, u1;
    grk_slice(x->nU, t, T, &u0, &u1);
    REAL *dh = t == 0 ? ws->dh0 : ws->dhp + (size_t)(t - 1) * (size_t)sh->Bmax * Hl;
    if (u1 > u0) {
        FN(colsum)(gr->By + u0, x->dRu + u0, B, x->ldsu, u1 - u0);
        FN(gemm)(0, 0, B, Hl, u1 - u0, 1, x->dRu + u0, x->ldsu, x->Ou + (size_t)u0 * Hl, Hl, 0,
                 dh, Hl);
        FN(gemm)(1, 0, u1 - u0, Hl, B, 1, x->dRu + u0, x->ldsu, hL, S, 0,
                 gr->Wy + (size_t)u0 * Hl, Hl);
    } else {
        memset(dh, 0, (size_t)B * Hl * sizeof *dh);
    }
    if (t == 0 && !sh->full)
        memset(gr->Wy + (size_t)x->nU * Hl, 0, (size_t)(pl->nW - x->nU) * Hl * sizeof *gr->Wy);
    if (ws->rows_ready && u1 > u0)
        ws->rows_ready(ws->rows_ud, u0, u1);
}

/* Back through layer l's products, as 3 items (plus the side job when
 * x->side_item): dWh, dWx (or the one-hot rows of Wx0) with the bias
 * gradients, and dL/dx into x->dx. Each is a whole product on one thread:
 * no result depends on the team. */
static void FN(ph_layer_bwd)(void *vx, int t, int n)
{
    FN(stepx) *x = vx;
    const FN(grk_net) *net = x->net;
    const grk_plan *pl = x->pl;
    const grk_shape *sh = &net->sh;
    FN(grk_ws) *ws = x->ws;
    FN(grk_grads) *gr = x->gr;
    const int l = x->layer, B = pl->B, S = sh->S, H = sh->H[l], H3 = 3 * H;
    const int onehot0 = l == 0 && sh->mode == GRK_ONEHOT;
    const REAL *xin = l == 0 ? ws->x0 : x->hn + sh->off[l - 1];
    const int64_t ldx = l == 0 ? sh->din : S, nin = grk_in_dim(sh, l);
    (void)n;
    switch (t) {
    case 0:
        if (!GRK_OFFICIAL_ONEHOT(sh, l)) /* onehot_bwd made that one's dWh */
            FN(gemm)(1, 0, H, H3, B, 1, x->hp + sh->off[l], S, ws->dc, H3, 0, gr->Wh[l], H3);
        if (gr->bh[l] && net->bh[l])
            FN(colsum)(gr->bh[l], ws->dc, B, H3, H3);
        break;
    case 1:
        FN(colsum)(gr->bx[l], ws->da, B, H3, H3);
        if (onehot0) {
            memset(gr->Wx[0], 0, (size_t)pl->nI * H3 * sizeof *gr->Wx[0]);
            for (int i = 0; i < B; i++) {
                REAL *restrict o = gr->Wx[0] + (size_t)pl->in_u[i] * H3;
                const REAL *restrict d = ws->da + (size_t)i * H3;
                for (int j = 0; j < H3; j++)
                    o[j] += d[j];
            }
        } else {
            FN(gemm)(1, 0, nin, H3, B, 1, xin, ldx, ws->da, H3, 0, gr->Wx[l], H3);
        }
        break;
    case 2:
        if (!onehot0)
            FN(gemm)(0, 1, B, nin, H3, 1, ws->da, H3, net->Wx[l], H3, 0, x->dx, nin);
        break;
    default: /* 3: the owner's side job, once per step */
        if (ws->side)
            ws->side(ws->side_ud);
        break;
    }
}

/* Back through the GRU layers, top down (the previous state is a constant),
 * and into the input table rows; ws->dh0 holds dL/dh of the last layer. The
 * gate math runs on the caller, each layer's three products on the team. */
static void FN(gru_backward)(FN(stepx) *x)
{
    const grk_plan *pl = x->pl;
    const grk_shape *sh = &x->net->sh;
    FN(grk_ws) *ws = x->ws;
    FN(grk_grads) *gr = x->gr;
    const int B = pl->B, S = sh->S, L = sh->L, din = sh->din;
    REAL *dh = ws->dh0, *dx = ws->dh1;
    int with_side = ws->pool && ws->side;
    for (int l = L - 1; l >= 0; l--) {
        const int H = sh->H[l];
        if (pl->mask_h[l])
            FN(dropout)(dh, H, pl->mask_h[l], B, H, pl->scale_h[l]);
        if (GRK_OFFICIAL_ONEHOT(sh, l))
            FN(onehot_bwd)(ws->da, ws->dc, gr->Wh[0], dh, ws->g[0], ws->c[0], x->hp + sh->off[l],
                           S, x->net->Wh[0], B, H);
        else
            FN(grk_gates_bwd)(ws->da, ws->dc, dh, ws->g[l], ws->c[l], x->hp + sh->off[l], S, B,
                              H);
        x->layer = l;
        x->dx = dx;
        grk_pool_run_n(ws->pool, FN(ph_layer_bwd), x, with_side ? 4 : 3);
        with_side = 0;
        if (!(l == 0 && sh->mode == GRK_ONEHOT)) {
            REAL *tmp = dh;
            dh = dx;
            dx = tmp;
        }
    }
    /* dh now holds dLoss/dx0, (B, din) */
    if (sh->mode != GRK_ONEHOT) {
        if (pl->mask_x)
            FN(dropout)(dh, din, pl->mask_x, B, din, pl->scale_x);
        REAL *tab = gr->Wy;
        if (sh->mode == GRK_EMBED) {
            tab = gr->E;
            memset(tab, 0, (size_t)pl->nI * din * sizeof *tab);
        }
        for (int i = 0; i < B; i++) {
            REAL *restrict o = tab + (size_t)pl->in_u[i] * din;
            const REAL *restrict d = dh + (size_t)i * din;
            for (int j = 0; j < din; j++)
                o[j] += d[j];
        }
    }
}

/* Phase 5 (on the caller): sum the slices' dL/dh in slice order, then back
 * through the GRU layers (the side job runs with the top layer's products). */
static void FN(backward)(FN(stepx) *x, int T)
{
    FN(grk_ws) *ws = x->ws;
    const grk_shape *sh = &x->net->sh;
    const int Hl = sh->H[sh->L - 1];
    const size_t n = (size_t)x->pl->B * (size_t)Hl;
    for (int k = 1; k < T; k++) {
        const REAL *restrict p = ws->dhp + (size_t)(k - 1) * (size_t)sh->Bmax * Hl;
        REAL *restrict d = ws->dh0;
        for (size_t j = 0; j < n; j++)
            d[j] += p[j];
    }
    FN(gru_backward)(x);
}

double FN(grk_step)(const FN(grk_net) *net, const grk_plan *pl, const REAL *hp, REAL *hn,
                    FN(grk_ws) *ws, FN(grk_grads) *gr)
{
    const grk_shape *sh = &net->sh;
    struct grk_pool *pool = ws->pool;
    int T = grk_pool_threads(pool);
    assert(T <= sh->T);
    FN(stepx) x;
    x.net = net;
    x.pl = pl;
    x.hp = hp;
    x.hn = hn;
    x.ws = ws;
    x.gr = gr;
    x.scale = (REAL)1 / (REAL)pl->Bn;
    if (sh->full) {
        x.nU = sh->N;
        x.Ou = net->Wy;
        x.su = x.dRu = ws->R;
        x.ldsu = sh->N;
    } else {
        x.nU = pl->nU;
        x.Ou = ws->Ou;
        x.su = ws->su;
        x.dRu = ws->dRu;
        x.ldsu = pl->nU;
    }
    grk_pool_run_n(pool, FN(ph_forward), &x, T + 1);
    grk_pool_run(pool, FN(ph_scores), &x);
    grk_pool_run(pool, FN(ph_loss), &x);
    double loss = 0;
    for (int t = 0; t < T; t++)
        loss += x.loss[t];
    if (!gr || isnan(loss) || (ws->rows_ready && !isfinite(loss)))
        return loss / pl->Bn;
    grk_pool_run(pool, FN(ph_out_grad), &x);
    FN(backward)(&x, T);
    return loss / pl->Bn;
}

size_t FN(grk_infer_count)(const grk_shape *sh, int n)
{
    size_t Hm = 0;
    for (int l = 0; l < sh->L; l++)
        Hm = (size_t)sh->H[l] > Hm ? (size_t)sh->H[l] : Hm;
    return (size_t)n * ((size_t)sh->din + 10 * Hm);
}

void FN(grk_infer)(const FN(grk_net) *net, REAL *h, const int32_t *in, int n, REAL *scores,
                   REAL *work)
{
    const grk_shape *sh = &net->sh;
    size_t Hm = 0;
    for (int l = 0; l < sh->L; l++)
        Hm = (size_t)sh->H[l] > Hm ? (size_t)sh->H[l] : Hm;
    REAL *x0 = work, *a = x0 + (size_t)n * sh->din, *c = a + (size_t)n * 3 * Hm,
         *g = c + (size_t)n * 3 * Hm, *hn = g + (size_t)n * 3 * Hm; /* (n, H) */
    if (sh->mode != GRK_ONEHOT)
        FN(gather_input)(net, in, n, x0);
    for (int l = 0; l < sh->L; l++) {
        const REAL *x = l == 0 ? x0 : h + sh->off[l - 1];
        int64_t ldx = l == 0 ? sh->din : sh->S;
        FN(layer_pre)(net, l, in, x, ldx, h + sh->off[l], n, a, c);
        if (GRK_OFFICIAL_ONEHOT(sh, l))
            FN(onehot_fwd)(g, hn, sh->H[0], a, c, h, sh->S, net->Wh[0], n, sh->H[0]);
        else
            FN(grk_gates_fwd)(g, hn, sh->H[l], a, c, h + sh->off[l], sh->S, n, sh->H[l]);
        for (int i = 0; i < n; i++)
            memcpy(h + (size_t)i * sh->S + sh->off[l], hn + (size_t)i * sh->H[l],
                   (size_t)sh->H[l] * sizeof *h);
    }
    if (scores) {
        int Hl = sh->H[sh->L - 1];
        FN(bcast_rows)(scores, net->By, n, sh->N);
        FN(gemm)(0, 1, n, sh->N, Hl, 1, h + sh->off[sh->L - 1], sh->S, net->Wy, Hl, 1, scores,
                 sh->N);
    }
}
