/*
 * serve_http.c - sr_server_start and sr_server_handle: routing, validation,
 * JSON parsing (jansson), admin authorisation, and the Prometheus metrics
 * text. Turns every request into a job for the batching workers (serve.c) or
 * answers it here (answers are written by answer.c).
 * Must never print, exit or trust its input: every path, query and body ends
 * as a 2xx answer or a 4xx/5xx with {"error": "..."}.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve/serve.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ep_names[SRV_N_EP] = {"clicks", "recommendations", "delete", "recommend",
                                               "healthz", "metrics", "reload", "other"};
/* ---- request pieces ----------------------------------------------------------------- */

typedef struct req_args {
    int k, exclude_seen;
    int n_items;
    char **items;             /* (n_items) owned texts */
} req_args;

static void args_free(req_args *a)
{
    for (int i = 0; i < a->n_items; i++)
        free(a->items[i]);
    free(a->items);
}

static int valid_id(const char *id, size_t n)
{
    if (n == 0 || n > SRV_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f || id[i] == '/')
            return 0;
    return 1;
}

/* An item value of a request: a string (the item's text) or an integer. */
static char *item_text(json_t *v)
{
    char buf[32];
    if (json_is_string(v)) {
        const char *t = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || n > 64 || strlen(t) != n)
            return NULL;
        return strdup(t);
    }
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    return NULL;
}

/* Parses the query: k and exclude_seen. 0 or an error response. */
static int parse_query(sr_server *s, const sr_http_request *rq, req_args *a, sr_http_response *out)
{
    for (int i = 0; i < rq->n_query; i++) {
        const char *name = rq->query[2 * i], *val = rq->query[2 * i + 1];
        if (!name)
            continue;
        if (!strcmp(name, "k")) {
            char *end;
            long v = val ? strtol(val, &end, 10) : 0;
            if (!val || !*val || *end || v < 1 || v > s->opts.max_k) {
                srv_reply_error(out, 400, "k must be an integer from 1 to %d, not '%.40s'",
                            s->opts.max_k, val ? val : "");
                return -1;
            }
            a->k = (int)v;
        } else if (!strcmp(name, "exclude_seen")) {
            if (val && (!strcmp(val, "true") || !strcmp(val, "1")))
                a->exclude_seen = 1;
            else if (val && (!strcmp(val, "false") || !strcmp(val, "0")))
                a->exclude_seen = 0;
            else {
                srv_reply_error(out, 400, "exclude_seen must be true or false, not '%.40s'",
                            val ? val : "");
                return -1;
            }
        } else {
            srv_reply_error(out, 400, "unknown query parameter '%.40s' (known: k, exclude_seen)",
                        name);
            return -1;
        }
    }
    return 0;
}

/* Parses a JSON body {"item": x} | {"items": [...]}, "k", "exclude_seen".
 * need_items: 1 = one of item/items required, 0 = items optional. */
static int parse_body(sr_server *s, const sr_http_request *rq, int need_items, req_args *a,
                      sr_http_response *out)
{
    if (rq->body_len > s->opts.max_body) {
        srv_reply_error(out, 413, "request body of %zu bytes (at most %zu)", rq->body_len,
                    s->opts.max_body);
        return -1;
    }
    json_error_t je;
    json_t *root = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        srv_reply_error(out, 400, "malformed JSON at line %d column %d: %s", je.line, je.column,
                    je.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        srv_reply_error(out, 400, "the body must be a JSON object");
        goto done;
    }
    const char *key;
    json_t *v, *item = NULL, *items = NULL;
    json_object_foreach(root, key, v)
    {
        if (!strcmp(key, "item"))
            item = v;
        else if (!strcmp(key, "items"))
            items = v;
        else if (!strcmp(key, "k")) { /* clicks may say k = 0: record them, score nothing */
            if (!json_is_integer(v) || json_integer_value(v) < (need_items ? 0 : 1) ||
                json_integer_value(v) > s->opts.max_k) {
                srv_reply_error(out, 400, "\"k\" must be an integer from %d to %d",
                            need_items ? 0 : 1, s->opts.max_k);
                goto done;
            }
            a->k = (int)json_integer_value(v);
        } else if (!strcmp(key, "exclude_seen")) {
            if (!json_is_boolean(v)) {
                srv_reply_error(out, 400, "\"exclude_seen\" must be true or false");
                goto done;
            }
            a->exclude_seen = json_is_true(v);
        } else {
            srv_reply_error(out, 400, "unknown field \"%.40s\" (known: item, items, k, exclude_seen)",
                        key);
            goto done;
        }
    }
    if (item && items) {
        srv_reply_error(out, 400, "give \"item\" or \"items\", not both");
        goto done;
    }
    if (need_items && !item && !items) {
        srv_reply_error(out, 400, "missing \"item\" or \"items\"");
        goto done;
    }
    if (items && !json_is_array(items)) {
        srv_reply_error(out, 400, "\"items\" must be an array of item ids");
        goto done;
    }
    size_t n = item ? 1 : items ? json_array_size(items) : 0;
    if (n > (size_t)s->opts.max_items) {
        srv_reply_error(out, 413, "%zu items in one request (at most %d)", n, s->opts.max_items);
        goto done;
    }
    if (need_items && n == 0) {
        srv_reply_error(out, 400, "\"items\" is empty");
        goto done;
    }
    a->items = calloc(n ? n : 1, sizeof *a->items);
    if (!a->items) {
        srv_reply_error(out, 503, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *x = item ? item : json_array_get(items, i);
        a->items[i] = item_text(x);
        if (!a->items[i]) {
            srv_reply_error(out, 400, "item %zu: an item id is a non-empty string (at most 64 "
                                  "bytes) or an integer", i);
            goto done;
        }
        a->n_items++;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* ---- the batched endpoints ----------------------------------------------------------------- */

/* A job for a batched endpoint, taking over a's items; NULL (and a 503
 * response) when out of memory. */
static srv_job *new_job(int kind, const char *id, req_args *a, sr_http_response *out)
{
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        srv_reply_error(out, 503, "out of memory");
        return NULL;
    }
    j->kind = kind;
    j->status = 200;
    if (id)
        snprintf(j->id, sizeof j->id, "%s", id);
    j->items = a->items;
    j->n_items = a->n_items;
    a->items = NULL;
    a->n_items = 0;
    j->k = a->k;
    j->exclude_seen = a->exclude_seen;
    j->unknown = malloc((size_t)(j->n_items ? j->n_items : 1) * sizeof *j->unknown);
    if (!j->unknown) {
        srv_job_free(j);
        srv_reply_error(out, 503, "out of memory");
        return NULL;
    }
    return j;
}

/* ---- the others ------------------------------------------------------------------------ */

static void do_health(sr_server *s, sr_http_response *out)
{
    srv_model *mh = srv_current_model(s);
    size_t bytes;
    int64_t n = sr_server_sessions(s, &bytes);
    srv_reply_json(out, 200, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "status", "ok", "model",
                                   s->opts.model_path, "algo", sr_model_algo(mh->m), "items",
                                   (json_int_t)sr_model_n_items(mh->m), "sessions",
                                   (json_int_t)n, "session_bytes", (json_int_t)bytes));
    srv_model_unref(mh);
}

static int admin_ok(sr_server *s, const sr_http_request *rq, sr_http_response *out)
{
    const char *tok = s->opts.admin_token;
    if (!tok || !*tok)
        return 1;
    const char *h = rq->authorization;
    char want[512];
    snprintf(want, sizeof want, "Bearer %s", tok);
    size_t n = strlen(want);
    unsigned diff = h && strlen(h) == n ? 0 : 1;
    for (size_t i = 0; !diff && i < n; i++) /* no early exit: constant time */
        diff |= (unsigned)(h[i] ^ want[i]);
    if (diff) {
        srv_reply_error(out, 401, "admin endpoints need \"Authorization: Bearer <admin token>\"");
        return 0;
    }
    return 1;
}

static void do_reload(sr_server *s, sr_http_response *out)
{
    sr_error err;
    if (sr_server_reload(s, &err) != SR_OK) {
        srv_reply_error(out, 500, "reload failed, the old model stays: %s", err.msg);
        return;
    }
    srv_model *mh = srv_current_model(s);
    srv_reply_json(out, 200, json_pack("{s:b,s:s,s:s,s:I}", "reloaded", 1, "model",
                                   s->opts.model_path, "algo", sr_model_algo(mh->m), "items",
                                   (json_int_t)sr_model_n_items(mh->m)));
    srv_model_unref(mh);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void bprintf(sr_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        sr_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void do_metrics(sr_server *s, sr_http_response *out)
{
    sr_buf b = {0};
    bprintf(&b, "# HELP sessrec_http_requests_total Requests answered, by endpoint.\n"
                "# TYPE sessrec_http_requests_total counter\n");
    for (int i = 0; i < SRV_N_EP; i++)
        bprintf(&b, "sessrec_http_requests_total{endpoint=\"%s\"} %llu\n", ep_names[i],
                (unsigned long long)atomic_load(&s->requests[i]));
    bprintf(&b, "# HELP sessrec_http_errors_total Requests answered with a 4xx or 5xx status.\n"
                "# TYPE sessrec_http_errors_total counter\n");
    for (int i = 0; i < SRV_N_EP; i++)
        bprintf(&b, "sessrec_http_errors_total{endpoint=\"%s\"} %llu\n", ep_names[i],
                (unsigned long long)atomic_load(&s->errors[i]));
    bprintf(&b, "# HELP sessrec_http_request_seconds Time to answer a request in the handler.\n"
                "# TYPE sessrec_http_request_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < SRV_N_BUCKETS; i++) {
        cum += atomic_load(&s->lat_bucket[i]);
        bprintf(&b, "sessrec_http_request_seconds_bucket{le=\"%g\"} %llu\n", srv_buckets[i],
                (unsigned long long)cum);
    }
    cum += atomic_load(&s->lat_bucket[SRV_N_BUCKETS]);
    bprintf(&b, "sessrec_http_request_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)cum);
    bprintf(&b, "sessrec_http_request_seconds_sum %.6f\n",
            (double)atomic_load(&s->lat_sum_us) * 1e-6);
    bprintf(&b, "sessrec_http_request_seconds_count %llu\n", (unsigned long long)cum);
    size_t bytes;
    int64_t n = sr_server_sessions(s, &bytes);
    bprintf(&b, "# HELP sessrec_sessions Sessions held.\n# TYPE sessrec_sessions gauge\n"
                "sessrec_sessions %lld\n", (long long)n);
    bprintf(&b, "# HELP sessrec_sessions_max Sessions held at most (--max-sessions).\n"
                "# TYPE sessrec_sessions_max gauge\nsessrec_sessions_max %lld\n",
            (long long)s->opts.max_sessions);
    bprintf(&b, "# HELP sessrec_session_bytes Heap bytes of the session store.\n"
                "# TYPE sessrec_session_bytes gauge\nsessrec_session_bytes %zu\n", bytes);
    bprintf(&b, "# HELP sessrec_session_evictions_total Sessions evicted (least recently used).\n"
                "# TYPE sessrec_session_evictions_total counter\n"
                "sessrec_session_evictions_total %llu\n",
            (unsigned long long)atomic_load(&s->evictions));
    bprintf(&b, "# HELP sessrec_session_expired_total Sessions expired (idle too long).\n"
                "# TYPE sessrec_session_expired_total counter\n"
                "sessrec_session_expired_total %llu\n",
            (unsigned long long)atomic_load(&s->expired));
    bprintf(&b, "# HELP sessrec_batches_total Batches scored.\n# TYPE sessrec_batches_total "
                "counter\nsessrec_batches_total %llu\n",
            (unsigned long long)atomic_load(&s->batches));
    bprintf(&b, "# HELP sessrec_batch_requests_total Requests scored in batches.\n"
                "# TYPE sessrec_batch_requests_total counter\nsessrec_batch_requests_total %llu\n",
            (unsigned long long)atomic_load(&s->batch_rows));
    /* full first: the worker adds rows first, so rows - full never wraps */
    uint64_t full = atomic_load(&s->topk_full), rows = atomic_load(&s->topk_rows);
    bprintf(&b, "# HELP sessrec_topk_bounded_total Top-k answers taken from score bounds "
                "(the model's 8-bit sketch), by how: \"candidates\" scored only the items "
                "whose bounds reach the k-th best, \"full\" scored all items.\n"
                "# TYPE sessrec_topk_bounded_total counter\n"
                "sessrec_topk_bounded_total{how=\"candidates\"} %llu\n"
                "sessrec_topk_bounded_total{how=\"full\"} %llu\n",
            (unsigned long long)(rows - full), (unsigned long long)full);
    bprintf(&b, "# HELP sessrec_topk_candidates_total Items scored exactly for the "
                "\"candidates\" answers.\n# TYPE sessrec_topk_candidates_total counter\n"
                "sessrec_topk_candidates_total %llu\n",
            (unsigned long long)atomic_load(&s->topk_scored));
    srv_model *mh = srv_current_model(s);
    bprintf(&b, "# HELP sessrec_model_info The model served.\n# TYPE sessrec_model_info gauge\n"
                "sessrec_model_info{file=\"");
    for (const char *p = s->opts.model_path; *p; p++) { /* label value escaping */
        if (*p == '"' || *p == '\\')
            sr_buf_append(&b, "\\", 1);
        if (*p == '\n')
            sr_buf_append(&b, "\\n", 2);
        else
            sr_buf_append(&b, p, 1);
    }
    bprintf(&b, "\",algo=\"%s\",items=\"%lld\"} 1\n", sr_model_algo(mh->m),
            (long long)sr_model_n_items(mh->m));
    bprintf(&b, "# HELP sessrec_model_loaded_timestamp_seconds When the model was loaded.\n"
                "# TYPE sessrec_model_loaded_timestamp_seconds gauge\n"
                "sessrec_model_loaded_timestamp_seconds %.0f\n", mh->loaded_at);
    srv_model_unref(mh);
    bprintf(&b, "# HELP sessrec_reloads_total Model reloads.\n# TYPE sessrec_reloads_total "
                "counter\nsessrec_reloads_total %llu\n",
            (unsigned long long)atomic_load(&s->reloads));
    bprintf(&b, "# HELP sessrec_reload_failures_total Failed model reloads.\n"
                "# TYPE sessrec_reload_failures_total counter\n"
                "sessrec_reload_failures_total %llu\n",
            (unsigned long long)atomic_load(&s->reload_failures));
    sr_buf_append(&b, "", 1);
    if (b.oom) {
        sr_buf_free(&b);
        srv_set_body(out, 503, JSON_TYPE, NULL);
        return;
    }
    srv_set_body(out, 200, "text/plain; version=0.0.4", (char *)b.data);
}

/* ---- routing ----------------------------------------------------------------------------- */

static int method_is(const sr_http_request *rq, const char *m)
{
    return rq->method && !strcmp(rq->method, m);
}

/* Routes a request: answers it in *out, or returns in *job the job to start. */
static int route(sr_server *s, const sr_http_request *rq, sr_http_response *out, srv_job **job)
{
    const char *p = rq->path ? rq->path : "";
    req_args a = {.k = 20};
    int ep = SRV_EP_OTHER;
    if (!strcmp(p, "/healthz") || !strcmp(p, "/metrics")) {
        ep = p[1] == 'h' ? SRV_EP_HEALTH : SRV_EP_METRICS;
        if (!method_is(rq, "GET") && !method_is(rq, "HEAD"))
            srv_reply_error(out, 405, "%s takes GET", p);
        else if (ep == SRV_EP_HEALTH)
            do_health(s, out);
        else
            do_metrics(s, out);
        return ep;
    }
    if (!strcmp(p, "/v1/recommend")) {
        ep = SRV_EP_RECOMMEND;
        if (!method_is(rq, "POST"))
            srv_reply_error(out, 405, "%s takes POST", p);
        else if (parse_query(s, rq, &a, out) == 0 && parse_body(s, rq, 0, &a, out) == 0)
            *job = new_job(SRV_JOB_STATELESS, NULL, &a, out);
        args_free(&a);
        return ep;
    }
    if (!strcmp(p, "/v1/admin/reload")) {
        ep = SRV_EP_RELOAD;
        if (!method_is(rq, "POST"))
            srv_reply_error(out, 405, "%s takes POST", p);
        else if (admin_ok(s, rq, out))
            do_reload(s, out);
        return ep;
    }
    static const char pre[] = "/v1/sessions/";
    if (strncmp(p, pre, sizeof pre - 1)) {
        srv_reply_error(out, 404, "no endpoint %.100s (see docs/serve.md)", p);
        return ep;
    }
    const char *id = p + sizeof pre - 1, *slash = strchr(id, '/');
    size_t idn = slash ? (size_t)(slash - id) : strlen(id);
    const char *rest = slash ? slash : "";
    char idz[SRV_MAX_ID + 1];
    if (!strcmp(rest, "/clicks"))
        ep = SRV_EP_CLICKS;
    else if (!strcmp(rest, "/recommendations"))
        ep = SRV_EP_RECS;
    else if (!*rest)
        ep = SRV_EP_DELETE;
    else {
        srv_reply_error(out, 404, "no endpoint %.100s (see docs/serve.md)", p);
        return ep;
    }
    if (!valid_id(id, idn)) {
        srv_reply_error(out, 400, "a session id is 1 to %d printable ASCII characters without '/'",
                    SRV_MAX_ID);
        return ep;
    }
    memcpy(idz, id, idn);
    idz[idn] = 0;
    const char *want = ep == SRV_EP_CLICKS ? "POST" : ep == SRV_EP_RECS ? "GET" : "DELETE";
    if (!method_is(rq, want)) {
        srv_reply_error(out, 405, "%s takes %s", p, want);
        return ep;
    }
    if (ep == SRV_EP_DELETE) {
        *job = new_job(SRV_JOB_DELETE, idz, &a, out);
        return ep;
    }
    if (parse_query(s, rq, &a, out) == 0 &&
        (ep == SRV_EP_RECS || parse_body(s, rq, 1, &a, out) == 0))
        *job = new_job(ep == SRV_EP_CLICKS ? SRV_JOB_CLICK : SRV_JOB_RECS, idz, &a, out);
    args_free(&a);
    return ep;
}

int sr_server_start(sr_server *s, const sr_http_request *rq, sr_http_response *out,
                    sr_server_done_fn done, void *arg)
{
    double t0 = sr_now();
    memset(out, 0, sizeof *out);
    srv_job *j = NULL;
    int ep = route(s, rq, out, &j);
    if (j) {
        j->ep = ep;
        j->t0 = t0;
        j->out = out;
        j->done = done;
        j->arg = arg;
        if (srv_start_job(s, j))
            return 1; /* a worker answers it */
        j->done = NULL;
        srv_answer_job(s, j);
        return 0;
    }
    if (!out->body && out->status != 503)
        srv_set_body(out, 503, JSON_TYPE, NULL);
    srv_count(s, ep, t0, out);
    return 0;
}

typedef struct handle_wait {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
} handle_wait;

static void handle_done(void *arg)
{
    handle_wait *w = arg;
    pthread_mutex_lock(&w->m);
    w->done = 1;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

void sr_server_handle(sr_server *s, const sr_http_request *rq, sr_http_response *out)
{
    handle_wait w = {.done = 0};
    pthread_mutex_init(&w.m, NULL);
    pthread_cond_init(&w.c, NULL);
    if (sr_server_start(s, rq, out, handle_done, &w)) {
        pthread_mutex_lock(&w.m);
        while (!w.done)
            pthread_cond_wait(&w.c, &w.m);
        pthread_mutex_unlock(&w.m);
    }
    pthread_cond_destroy(&w.c);
    pthread_mutex_destroy(&w.m);
}
