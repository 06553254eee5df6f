/*
 * answer.c - the answers of the server: JSON responses (jansson), a batched
 * request's answer once its batch is scored (srv_answer_job, called by the
 * batching thread in serve.c, or by serve_http.c for a request answered at
 * once), and the request metrics. Below serve.c and serve_http.c, which both
 * use it. Never prints or exits.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve/serve.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double srv_buckets[SRV_N_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

void srv_set_body(sr_http_response *out, int status, const char *type, char *body)
{
    out->status = body ? status : 503;
    out->content_type = type;
    out->body = body;
    out->body_len = body ? strlen(body) : 0;
}

void srv_reply_json(sr_http_response *out, int status, json_t *obj)
{
    char *txt = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    json_decref(obj);
    srv_set_body(out, status, JSON_TYPE, txt);
}

void srv_reply_error(sr_http_response *out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++) /* request text quoted in a message: printable ASCII only */
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    srv_reply_json(out, status, json_pack("{s:s}", "error", msg));
}

/* ---- the answers to clicks and recommendation requests, as text ----
 *
 * jansson builds a tree, and dumping it checks every container for cycles (a
 * formatted pointer and a hash table entry each): a click's answer with 20
 * items took 36 us to build and dump, measured, more than a request's JSON
 * parsing, routing and session work together. These answers are written as
 * text from pieces jansson encodes instead: every item id once per model
 * (srv_strtab), the request's own strings (session id, unknown items) per
 * answer, and numbers in the form json_dumps gives them.
 * tests/test_serve_json.c checks the text byte for byte against json_dumps
 * of the same tree. Every other answer is built with jansson as before. */

#define PUT(b, lit) sr_buf_append((b), lit, sizeof lit - 1)

int srv_json_str(sr_buf *b, const char *s, size_t n)
{
    json_t *js = json_stringn(s, n); /* NULL when not UTF-8 */
    if (!js)
        return -1;
    char tmp[256];
    size_t len = json_dumpb(js, tmp, sizeof tmp, JSON_ENCODE_ANY);
    if (len > 0 && len <= sizeof tmp) {
        sr_buf_append(b, tmp, len);
    } else if (len > 0) {
        char *big = json_dumps(js, JSON_ENCODE_ANY);
        if (big)
            sr_buf_append(b, big, strlen(big));
        else
            len = 0;
        free(big);
    }
    json_decref(js);
    return len > 0 && !b->oom ? 0 : -1;
}

/* "%.7g" of v into t, as glibc's snprintf writes it, for v a float with
 * 1e-10 <= |v| < 1e10 (every score in practice); -1 otherwise. snprintf
 * took about 1 us a score (20 per answer). The float's exact value m * 2^e
 * is scaled by 10^q in 128-bit integers and rounded half to even, as
 * printf rounds an exact binary value; tests/test_serve_json.c checks it
 * against snprintf. */
__extension__ typedef unsigned __int128 u128;

static int fmt_g7(char *t, double v)
{
    float f = (float)v;
    double a = fabs(v);
    if ((double)f != v || !(a >= 1e-10 && a < 1e10))
        return -1;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    int be = (int)((u >> 23) & 0xff);
    uint64_t m = u & 0x7fffff;
    if (be == 0)
        return -1; /* subnormal: not in the range anyway */
    m |= 0x800000;
    int e = be - 150; /* |v| = m * 2^e */
    static const uint64_t p10[20] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
                                     1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
                                     10000000000ULL, 100000000000ULL, 1000000000000ULL,
                                     10000000000000ULL, 100000000000000ULL,
                                     1000000000000000ULL, 10000000000000000ULL,
                                     100000000000000000ULL, 1000000000000000000ULL,
                                     10000000000000000000ULL};
    int x = (int)floor(log10(a)); /* the decimal exponent, checked below */
    uint64_t d = 0;
    for (int tries = 0; tries < 4; tries++) {
        int q = 6 - x; /* d = round(|v| * 10^q): 7 digits */
        if (q < -19 || q > 19)
            return -1;
        u128 num = m, den = 1;
        if (e >= 0)
            num <<= e;
        else
            den <<= -e;
        if (q >= 0)
            num *= p10[q];
        else
            den *= p10[-q];
        u128 dq = num / den, r = num % den;
        if (2 * r > den || (2 * r == den && (dq & 1)))
            dq++;
        d = (uint64_t)dq;
        if (d < 1000000ULL) {
            x--;
        } else if (d > 10000000ULL) {
            x++;
        } else {
            if (d == 10000000ULL) { /* rounded up to the next power of ten */
                d = 1000000ULL;
                x++;
            }
            break;
        }
    }
    if (d < 1000000ULL || d >= 10000000ULL)
        return -1;
    char dig[8];
    for (int i = 6; i >= 0; i--, d /= 10)
        dig[i] = (char)('0' + d % 10);
    int nd = 7;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--; /* %g drops trailing zeros */
    int n = 0;
    if (v < 0)
        t[n++] = '-';
    if (x >= -4 && x < 7) { /* %f style */
        if (x >= 0) {
            for (int i = 0; i <= x; i++)
                t[n++] = i < nd ? dig[i] : '0';
            if (nd > x + 1) {
                t[n++] = '.';
                for (int i = x + 1; i < nd; i++)
                    t[n++] = dig[i];
            }
        } else {
            t[n++] = '0';
            t[n++] = '.';
            for (int i = 0; i < -x - 1; i++)
                t[n++] = '0';
            for (int i = 0; i < nd; i++)
                t[n++] = dig[i];
        }
    } else { /* %e style: d.dddddde+XX */
        t[n++] = dig[0];
        if (nd > 1) {
            t[n++] = '.';
            for (int i = 1; i < nd; i++)
                t[n++] = dig[i];
        }
        t[n++] = 'e';
        t[n++] = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        t[n++] = (char)('0' + ax / 10);
        t[n++] = (char)('0' + ax % 10);
    }
    t[n] = '\0';
    return n;
}

/* jansson's real: %.7g, a ".0" when that reads as an integer, no '+' and no
 * leading zeros in the exponent. */
void srv_json_real(sr_buf *b, double v)
{
    if (!isfinite(v)) {
        PUT(b, "null");
        return;
    }
    char t[48];
    int n = fmt_g7(t, v);
    if (n < 0)
        n = snprintf(t, sizeof t - 3, "%.7g", v);
    if (n < 0 || n >= (int)sizeof t - 3)
        return; /* cannot happen for a finite double at 7 digits */
    if (!strchr(t, '.') && !strchr(t, 'e')) {
        t[n++] = '.';
        t[n++] = '0';
        t[n] = '\0';
    }
    char *e = strchr(t, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)(t + n + 1 - end)); /* the NUL too */
            n -= (int)(end - start);
        }
    }
    sr_buf_append(b, t, (size_t)n);
}

void srv_json_int(sr_buf *b, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    sr_buf_append(b, t, (size_t)n);
}

int srv_strtab_build(srv_strtab *t, int64_t n,
                     const char *(*text)(void *ctx, int64_t i, char *tmp), void *ctx)
{
    sr_buf blob = {0};
    memset(t, 0, sizeof *t);
    size_t *off = malloc(((size_t)(n > 0 ? n : 0) + 1) * sizeof *off);
    if (!off)
        return -1;
    off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        char tmp[SRV_ITEM_TEXT];
        const char *s = text(ctx, i, tmp);
        size_t before = blob.len;
        if (!s || srv_json_str(&blob, s, strlen(s)) != 0)
            blob.len = before; /* empty: not UTF-8 (or out of memory: caught below) */
        off[i + 1] = blob.len;
    }
    if (blob.oom) {
        free(off);
        sr_buf_free(&blob);
        return -1;
    }
    t->blob = (char *)blob.data; /* NULL when every string is empty */
    t->off = off;
    t->n = n;
    return 0;
}

void srv_strtab_free(srv_strtab *t)
{
    free(t->blob);
    free(t->off);
    memset(t, 0, sizeof *t);
}

int srv_recs_json(sr_buf *b, const srv_strtab *items, const int32_t *idx, const float *val,
                  int n)
{
    b->len = 0;
    PUT(b, "[");
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= items->n)
            return -1;
        size_t o0 = items->off[idx[i]], o1 = items->off[idx[i] + 1];
        if (o1 == o0)
            return -1; /* an id that is not UTF-8: jansson could not encode it */
        if (i)
            PUT(b, ",");
        PUT(b, "{\"item\":");
        sr_buf_append(b, items->blob + o0, o1 - o0);
        PUT(b, ",\"score\":");
        srv_json_real(b, val[i]);
        PUT(b, "}");
    }
    PUT(b, "]");
    return b->oom ? -1 : 0;
}

char *srv_answer_text(const srv_job *j)
{
    sr_buf b = {0};
    PUT(&b, "{");
    if (j->kind != SRV_JOB_STATELESS) {
        PUT(&b, "\"session\":");
        if (srv_json_str(&b, j->id, strlen(j->id)) != 0)
            goto fail;
        PUT(&b, ",\"clicks\":");
        srv_json_int(&b, j->session_clicks);
        PUT(&b, ",");
    }
    PUT(&b, "\"items\":");
    if (j->recs.len)
        sr_buf_append(&b, j->recs.data, j->recs.len);
    else
        PUT(&b, "[]");
    if (j->kind != SRV_JOB_RECS) {
        PUT(&b, ",\"unknown\":[");
        for (int i = 0; i < j->n_unknown; i++) {
            const char *u = j->items[j->unknown[i]];
            if (i)
                PUT(&b, ",");
            if (srv_json_str(&b, u, strlen(u)) != 0)
                goto fail;
        }
        PUT(&b, "]");
    }
    PUT(&b, "}");
    sr_buf_append(&b, "", 1); /* the NUL */
    if (b.oom)
        goto fail;
    return (char *)b.data;
fail:
    sr_buf_free(&b);
    return NULL;
}

void srv_job_free(srv_job *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->n_items; i++)
        free(j->items[i]);
    free(j->items);
    free(j->unknown);
    sr_buf_free(&j->recs);
    free(j);
}

void srv_answer_job(sr_server *s, srv_job *j)
{
    sr_http_response *out = j->out;
    if (j->status != 200) {
        if (j->status == 404 && !j->error[0])
            srv_reply_error(out, 404, j->kind == SRV_JOB_DELETE
                                      ? "no session '%s'"
                                      : "no session '%s' (never clicked, deleted, evicted or "
                                        "expired)", j->id);
        else
            srv_reply_error(out, j->status, "%s", j->error);
    } else if (j->kind != SRV_JOB_DELETE) {
        srv_set_body(out, 200, JSON_TYPE, srv_answer_text(j));
    } else {
        srv_reply_json(out, 200, json_pack("{s:s,s:b}", "session", j->id, "deleted", 1));
    }
    srv_count(s, j->ep, j->t0, out);
    sr_server_done_fn done = j->done;
    void *arg = j->arg;
    srv_job_free(j);
    if (done)
        done(arg);
}

void srv_count(sr_server *s, int ep, double t0, const sr_http_response *out)
{
    double dt = sr_now() - t0;
    atomic_fetch_add(&s->requests[ep], 1);
    if (out->status >= 400)
        atomic_fetch_add(&s->errors[ep], 1);
    int bi = 0;
    while (bi < SRV_N_BUCKETS && dt > srv_buckets[bi])
        bi++;
    atomic_fetch_add(&s->lat_bucket[bi], 1);
    atomic_fetch_add(&s->lat_sum_us, (uint64_t)(dt * 1e6));
}
