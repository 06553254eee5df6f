/*
 * loss_impl.h - body of the loss kernels (see loss.h). Included by loss.c once
 * per element type with REAL, FN(name), EXP(x) and SIGM(x) defined; not a
 * header of its own (no include guard on purpose).
 */

double FN(sr_loss_xe_at)(REAL *R, int i0, int B, int64_t C, const int32_t *tgt, const REAL *off,
                         REAL scale)
{
    double total = 0;
    for (int i = 0; i < B; i++) {
        REAL *r = R + (size_t)i * (size_t)C;
        int64_t t = tgt ? tgt[i] : i0 + i;
        if (off)
            for (int64_t j = 0; j < C; j++)
                r[j] -= off[j];
        REAL mx = VMAX(r, C), chk = VSUM(r, C);
        if (!isfinite(chk) || !isfinite(mx))
            return NAN;
        for (int64_t j = 0; j < C; j++)
            r[j] = EXP(r[j] - mx);
        REAL s = VSUM(r, C);
        REAL inv = (REAL)1 / s;
        REAL pt = r[t] * inv;
        /* d/dR_ij of -log(p_t + 1e-24) = k (p_j - [j == t]), k = p_t / (p_t + 1e-24) */
        REAL k = pt / (pt + (REAL)1e-24);
        total += -log((double)(pt + (REAL)1e-24));
        REAL f = inv * k * scale;
        for (int64_t j = 0; j < C; j++)
            r[j] *= f;
        r[t] -= k * scale;
    }
    return total;
}

double FN(sr_loss_bprmax_at)(REAL *R, int i0, int B, int64_t C, REAL elu, REAL bpreg, REAL scale,
                             REAL *tmp)
{
    REAL *de = tmp;          /* (C) dELU/ds */
    REAL *w = tmp + C;       /* (C) softmax over the negatives */
    REAL *sg = tmp + 2 * C;  /* (C) sigmoid(o_pos - o_j) */
    REAL *t = tmp + 3 * C;   /* (C) terms of the sums */
    double total = 0;
    /* every pass is a plain loop or a VSUM so that the float build vectorises */
    for (int i = 0; i < B; i++) {
        REAL *r = R + (size_t)i * (size_t)C;
        if (!isfinite(VSUM(r, C)))
            return NAN;
        if (C < 2) {
            r[0] = 0;
            continue;
        }
        if (elu > 0) {
            for (int64_t j = 0; j < C; j++) {
                REAL e = elu * (EXP(r[j]) - 1);
                de[j] = r[j] > 0 ? 1 : e + elu;
                r[j] = r[j] > 0 ? r[j] : e;
            }
        }
        const int64_t d = (int64_t)i0 + i; /* the positive's column */
        REAL op = r[d];
        r[d] = r[d == 0 ? 1 : 0]; /* the max over the negatives only */
        REAL mx = VMAX(r, C);
        r[d] = op;
        for (int64_t j = 0; j < C; j++)
            w[j] = EXP(r[j] - mx);
        w[d] = 0;
        REAL inv = (REAL)1 / VSUM(w, C);
        for (int64_t j = 0; j < C; j++) {
            w[j] *= inv;
            sg[j] = SIGM(op - r[j]);
            t[j] = w[j] * sg[j];
        }
        REAL A = VSUM(t, C);
        for (int64_t j = 0; j < C; j++)
            t[j] = w[j] * r[j] * r[j];
        REAL Q = VSUM(t, C);
        REAL ia = (REAL)1 / (A + (REAL)1e-24);
        total += -log((double)(A + (REAL)1e-24)) + (double)(bpreg * Q);
        /* u_j = dL/dw_j; the softmax passes w_j (u_j - sum_k w_k u_k) to o_j */
        for (int64_t j = 0; j < C; j++)
            t[j] = w[j] * (-sg[j] * ia + bpreg * r[j] * r[j]);
        REAL ubar = VSUM(t, C);
        for (int64_t j = 0; j < C; j++)
            t[j] = w[j] * sg[j] * (1 - sg[j]) * ia;
        REAL gpos = -VSUM(t, C);
        for (int64_t j = 0; j < C; j++) {
            REAL u = -sg[j] * ia + bpreg * r[j] * r[j];
            r[j] = w[j] * (u - ubar) + t[j] + 2 * bpreg * w[j] * r[j];
        }
        r[d] = gpos; /* w_d = 0, so only the sigmoid terms reach the positive */
        if (elu > 0)
            for (int64_t j = 0; j < C; j++)
                r[j] *= de[j] * scale;
        else
            for (int64_t j = 0; j < C; j++)
                r[j] *= scale;
    }
    return total;
}

double FN(sr_loss_xe)(REAL *R, int B, int64_t C, const int32_t *tgt, const REAL *off, REAL scale)
{
    return FN(sr_loss_xe_at)(R, 0, B, C, tgt, off, scale);
}

double FN(sr_loss_bprmax)(REAL *R, int B, int64_t C, REAL elu, REAL bpreg, REAL scale, REAL *tmp)
{
    return FN(sr_loss_bprmax_at)(R, 0, B, C, elu, bpreg, scale, tmp);
}
