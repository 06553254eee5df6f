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

/* The recommendations as [{"item": ..., "score": ...}, ...]. Keys are
 * literals (set unchecked); no json_pack format parsing: this runs for every
 * answered click. */
static json_t *rec_array(const srv_job *j)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < j->n_rec; i++) {
        double sc = j->rec_score[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o) != 0 ||
            json_object_set_new_nocheck(o, "item", json_string(j->rec_txt && j->rec_txt[i] ? j->rec_txt[i] : j->rec_ids[i])) != 0 ||
            json_object_set_new_nocheck(o, "score", isfinite(sc) ? json_real(sc) : json_null()) != 0) {
            json_decref(arr);
            return NULL; /* json_pack of the answer fails on NULL: 503 */
        }
    }
    return arr;
}

static json_t *unknown_array(const srv_job *j)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < j->n_unknown; i++)
        json_array_append_new(arr, json_string(j->items[j->unknown[i]]));
    return arr;
}

void srv_job_free(srv_job *j)
{
    if (!j)
        return;
    for (int i = 0; i < j->n_items; i++)
        free(j->items[i]);
    free(j->items);
    free(j->unknown);
    free(j->rec_ids);
    for (int i = 0; j->rec_txt && i < j->k; i++)
        free(j->rec_txt[i]);
    free(j->rec_txt);
    free(j->rec_score);
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
    } else if (j->kind == SRV_JOB_CLICK) {
        srv_reply_json(out, 200, json_pack("{s:s,s:I,s:o,s:o}", "session", j->id, "clicks",
                                       (json_int_t)j->session_clicks, "items", rec_array(j),
                                       "unknown", unknown_array(j)));
    } else if (j->kind == SRV_JOB_RECS) {
        srv_reply_json(out, 200, json_pack("{s:s,s:I,s:o}", "session", j->id, "clicks",
                                       (json_int_t)j->session_clicks, "items", rec_array(j)));
    } else if (j->kind == SRV_JOB_STATELESS) {
        srv_reply_json(out, 200, json_pack("{s:o,s:o}", "items", rec_array(j), "unknown",
                                       unknown_array(j)));
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
