/*
 * loss_impl.h - body of the loss kernels (see loss.h). Included by loss.c once
 * per element type with REAL, FN(name), EXP(x) and SIGM(x) defined; not a
 * header of its own (no include guard on purpose).
 */

double FN(sr_loss_xe)(REAL *R, int B, int64_t C, const int32_t *tgt, const REAL *off, REAL scale)
{
    double total = 0;
    for (int i = 0; i < B; i++) {
        REAL *r = R + (size_t)i * (size_t)C;
        int64_t t = tgt ? tgt[i] : i;
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

double FN(sr_loss_bprmax)(REAL *R, int B, int64_t C, REAL elu, REAL bpreg, REAL scale, REAL *tmp)
{
    REAL *de = tmp;          /* (C) dELU/ds */
    REAL *w = tmp + C;       /* (C) softmax over the negatives */
    REAL *sg = tmp + 2 * C;  /* (C) sigmoid(o_pos - o_j) */
    double total = 0;
    for (int i = 0; i < B; i++) {
        REAL *r = R + (size_t)i * (size_t)C;
        REAL chk = 0;
        for (int64_t j = 0; j < C; j++)
            chk += r[j];
        if (!isfinite(chk))
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
        REAL op = r[i];
        REAL mx = i == 0 ? r[1] : r[0];
        for (int64_t j = 0; j < C; j++)
            mx = j != i && r[j] > mx ? r[j] : mx;
        REAL s = 0;
        for (int64_t j = 0; j < C; j++) {
            w[j] = j == i ? 0 : EXP(r[j] - mx);
            s += w[j];
        }
        REAL inv = (REAL)1 / s, A = 0, Q = 0;
        for (int64_t j = 0; j < C; j++) {
            w[j] *= inv;
            sg[j] = SIGM(op - r[j]);
            A += w[j] * sg[j];
            Q += w[j] * r[j] * r[j];
        }
        REAL ia = (REAL)1 / (A + (REAL)1e-24);
        total += -log((double)(A + (REAL)1e-24)) + (double)(bpreg * Q);
        /* u_j = dL/dw_j; the softmax passes w_j (u_j - sum_k w_k u_k) to o_j */
        REAL ubar = 0;
        for (int64_t j = 0; j < C; j++)
            ubar += w[j] * (-sg[j] * ia + bpreg * r[j] * r[j]);
        REAL gpos = 0;
        for (int64_t j = 0; j < C; j++) {
            REAL u = -sg[j] * ia + bpreg * r[j] * r[j];
            REAL d = w[j] * sg[j] * (1 - sg[j]) * ia;
            gpos -= d;
            r[j] = w[j] * (u - ubar) + d + 2 * bpreg * w[j] * r[j];
        }
        r[i] = gpos; /* w_i = 0, so only the sigmoid terms reach the positive */
        for (int64_t j = 0; j < C; j++)
            r[j] *= elu > 0 ? de[j] * scale : scale;
    }
    return total;
}
