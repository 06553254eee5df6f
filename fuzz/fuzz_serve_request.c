/*
 * fuzz_serve_request.c - libFuzzer target for the server's request handler
 * (sr_server_handle, no sockets): any method, path, query and body must be
 * answered with a status and a body, never a crash or a leak. Input: first
 * byte = method, then the path up to '\n', the query ("a=1&b") up to the next
 * '\n', the rest is the body. The server holds a tiny GRU4Rec model trained at
 * start-up, at most 64 sessions (so eviction runs), and the responses of
 * /v1 endpoints must be JSON. Seeds: fuzz/corpus/fuzz_serve_request/.
 */
#include "sessrec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sr_server *srv;
static char path[64];

static void remove_model(void) { unlink(path); }

static sr_server *server(void)
{
    if (srv)
        return srv;
    sr_log log = {0};
    for (int s = 0; s < 60; s++)
        for (int j = 0; j < 4; j++)
            sr_log_push(&log, s, 100 + (s * 3 + j * 5) % 17, (int64_t)(s * 10 + j) * 1000000);
    sr_split sp = {0};
    sr_error err;
    sr_model *m = NULL;
    sr_gru_params p = sr_gru_default_params();
    sr_gru_params_parse(&p, "layers=8,batch_size=8,n_epochs=1,n_sample=4", &err);
    p.sample_store = 1000;
    sr_train_opts o = sr_train_default_opts();
    o.threads = 1;
    snprintf(path, sizeof path, "/tmp/fuzz_serve.%d.srm", (int)getpid());
    if (sr_split_from_log(&log, &sp, &err) != SR_OK || sr_train_gru(&sp, &p, &o, &m, &err) != SR_OK ||
        sr_model_save(m, path, &err) != SR_OK) {
        fprintf(stderr, "fuzz_serve_request: set-up failed: %s\n", err.msg);
        abort();
    }
    atexit(remove_model);
    sr_model_free(m);
    sr_split_free(&sp);
    sr_log_free(&log);
    sr_server_opts so = sr_server_default_opts();
    so.model_path = path;
    so.max_sessions = 64;
    so.max_body = 4096;
    so.max_items = 50;
    so.admin_token = "t";
    if (sr_server_new(&so, &srv, &err) != SR_OK) {
        fprintf(stderr, "fuzz_serve_request: %s\n", err.msg);
        abort();
    }
    return srv;
}

/* The next piece up to '\n' as a NUL-terminated copy. */
static char *piece(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *stop = nl ? nl : end;
    char *s = malloc((size_t)(stop - *p) + 1);
    memcpy(s, *p, (size_t)(stop - *p));
    s[stop - *p] = 0;
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "DELETE", "PUT", "HEAD", ""};
    sr_server *s = server();
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1, *end = data + size;
    char *path = piece(&p, end);
    char *query = piece(&p, end);
    /* name=value pairs as libmicrohttpd would hand them over (no decoding here) */
    const char *kv[64];
    int nq = 0;
    for (char *tok = query, *next; tok && *tok && nq < 32; tok = next) {
        next = strchr(tok, '&');
        if (next)
            *next++ = 0;
        char *eq = strchr(tok, '=');
        if (eq)
            *eq++ = 0;
        kv[2 * nq] = tok;
        kv[2 * nq + 1] = eq;
        nq++;
    }
    sr_http_request rq = {.method = methods[data[0] % 6], .path = path, .query = kv,
                          .n_query = nq, .body = (const char *)p, .body_len = (size_t)(end - p),
                          .authorization = (data[0] & 0x80) ? "Bearer t" : NULL};
    sr_http_response out;
    sr_server_handle(s, &rq, &out);
    if (out.status < 200 || out.status > 599 || !out.body)
        abort();
    if (strncmp(path, "/metrics", 8) && (out.body_len < 2 || out.body[0] != '{'))
        abort();
    free(out.body);
    free(path);
    free(query);
    return 0;
}
