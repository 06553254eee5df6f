/*
 * cmd_serve.c - 'sessrec serve MODEL': the HTTP recommendation server. Parses
 * options, owns the sockets (libmicrohttpd: one poll thread, or a few, for all
 * connections), hands each request to the library's sr_server_start (a request
 * waiting for its batch suspends its connection and holds no thread; the
 * batching thread resumes it), logs, and turns signals into
 * actions: SIGHUP reloads the model, SIGTERM/SIGINT stop gracefully (and write
 * the snapshot). Everything else (routing, JSON, sessions, batching, metrics)
 * is the library's (src/serve/).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "opts.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: sessrec serve MODEL [options]\n"
        "\n"
        "Serves recommendations for live sessions over HTTP (JSON). Endpoints:\n"
        "  POST   /v1/sessions/{id}/clicks           {\"item\": \"ID\"} or {\"items\": [...]}, \"k\"\n"
        "  GET    /v1/sessions/{id}/recommendations  ?k=20&exclude_seen=true\n"
        "  DELETE /v1/sessions/{id}\n"
        "  POST   /v1/recommend                      {\"items\": [...], \"k\": 20} (no session)\n"
        "  GET    /healthz, GET /metrics (Prometheus), POST /v1/admin/reload\n"
        "Details: docs/serve.md.\n"
        "\n"
        "options:\n"
        "  --port N             TCP port (default 8080; 0 = any free port)\n"
        "  --bind ADDR          IPv4 or IPv6 address to listen on (default 127.0.0.1);\n"
        "                       anything but loopback needs --admin-token\n"
        "  --port-file FILE     write the port listened on to FILE once ready\n"
        "  --max-sessions N     sessions held; the least recently used is evicted (1000000)\n"
        "  --session-ttl SEC    idle seconds before a session expires (1800)\n"
        "  --snapshot FILE      restore sessions from FILE at start, write them on stop\n"
        "  --batch-max N        requests scored together at most (128)\n"
        "  --batch-wait-us US   microseconds a batch waits to fill up (0: no waiting; what\n"
        "                       arrives while a batch is scored forms the next one)\n"
        "  --batch-split N      past N waiting requests a batch takes a third of them, at\n"
        "                       least N (16; 0: all of them, up to --batch-max)\n"
        "  --workers N          batching threads (1)\n"
        "  --score-threads N    threads scoring one batch together, sharing its items: each\n"
        "                       batching thread and N-1 helpers (GRU4Rec; default: the\n"
        "                       number of CPUs, at most 4)\n"
        "  --http-threads N     threads running the HTTP event loop (1)\n"
        "  --max-body BYTES     request body limit (65536)\n"
        "  --max-items N        items in one request (1000)\n"
        "  --max-k N            largest k (1000)\n"
        "  --max-connections N  open connections at most (1024)\n"
        "  --timeout SEC        an idle or slow connection is closed after SEC (10)\n"
        "  --admin-token TOKEN  admin endpoints need 'Authorization: Bearer TOKEN'\n"
        "  --log-level LEVEL    error (default; errors only), info (+ start, reload,\n"
        "                       stop), debug (+ one line per request)\n"
        "  -q, --quiet, --json  accepted as by every command (--log-level sets the log)\n"
        "  -h, --help           this text\n"
        "\n"
        "Signals: SIGHUP reloads MODEL (sessions carry over); SIGTERM or SIGINT stop:\n"
        "no new connections, requests in flight finish, the snapshot is written.\n"
        "\n"
        "example:\n"
        "  sessrec serve model.srm --port 8080 &\n"
        "  curl -s -d '{\"item\": \"214536502\"}' localhost:8080/v1/sessions/u1/clicks\n");
}

enum { LOG_ERROR, LOG_INFO, LOG_DEBUG };

typedef struct serve_ctx {
    sr_server *srv;
    size_t max_body;
    int log_level;
    atomic_int pending;       /* requests started and not yet done: the batching
                                 thread may still resume their connection */
    atomic_int stopping;      /* set at shutdown: no request starts any more */
} serve_ctx;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void logf_(const char *fmt, ...)
{
    char ts[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    cli_iso_time(ts, sizeof ts, (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, 0);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s sessrec serve: ", ts);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}

/* ---- libmicrohttpd glue ---------------------------------------------------------- */

/* One request of a connection. A request waiting for its batch goes
 * PENDING -> (SUSPENDED and DONE in either order): whichever of the access
 * handler (after suspending) and the batching thread (after writing `out`)
 * comes second resumes the connection, and the handler, called again, sends
 * `out`. */
enum { REQ_NEW, REQ_PENDING, REQ_SUSPENDED, REQ_DONE };

typedef struct conn_req {
    char *body;
    size_t len, cap;
    int too_big;
    serve_ctx *ctx;
    struct MHD_Connection *c;
    atomic_int state;
    struct timespec t0;
    sr_http_response out;
} conn_req;

#define MAX_QUERY 32

typedef struct query_acc {
    const char *kv[2 * MAX_QUERY];
    int n, overflow;
} query_acc;

static enum MHD_Result query_it(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    query_acc *q = cls;
    if (q->n == MAX_QUERY) {
        q->overflow = 1;
        return MHD_NO;
    }
    q->kv[2 * q->n] = key;
    q->kv[2 * q->n + 1] = value;
    q->n++;
    return MHD_YES;
}

static enum MHD_Result send_body(struct MHD_Connection *c, int status, const char *type,
                                 char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Called by the batching thread once cr->out holds the answer. */
static void on_done(void *arg)
{
    conn_req *cr = arg;
    serve_ctx *ctx = cr->ctx;
    if (atomic_exchange(&cr->state, REQ_DONE) == REQ_SUSPENDED)
        MHD_resume_connection(cr->c);
    atomic_fetch_sub(&ctx->pending, 1); /* cr and c are not touched after this */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    serve_ctx *ctx = cls;
    conn_req *cr = *con_cls;
    if (!cr) { /* first call: headers only */
        cr = calloc(1, sizeof *cr);
        if (!cr)
            return MHD_NO;
        cr->ctx = ctx;
        atomic_init(&cr->state, REQ_NEW);
        *con_cls = cr;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        size_t n = *upload_size;
        *upload_size = 0;
        if (cr->too_big || cr->len + n > ctx->max_body) {
            cr->too_big = 1; /* read and dropped; answered 413 at the end */
            return MHD_YES;
        }
        if (cr->len + n > cr->cap) {
            size_t cap = cr->cap ? cr->cap : 1024;
            while (cap < cr->len + n)
                cap *= 2;
            char *b = realloc(cr->body, cap);
            if (!b)
                return MHD_NO;
            cr->body = b;
            cr->cap = cap;
        }
        memcpy(cr->body + cr->len, upload_data, n);
        cr->len += n;
        return MHD_YES;
    }
    if (atomic_load(&cr->state) == REQ_NEW) {
        clock_gettime(CLOCK_MONOTONIC, &cr->t0);
        sr_http_response *out = &cr->out;
        if (cr->too_big) {
            char msg[128];
            snprintf(msg, sizeof msg, "{\"error\":\"request body over %zu bytes\"}", ctx->max_body);
            out->status = 413;
            out->content_type = "application/json";
            out->body = strdup(msg);
            out->body_len = out->body ? strlen(out->body) : 0;
        } else {
            query_acc q = {.n = 0};
            MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_it, &q);
            sr_http_request rq = {.method = method, .path = url, .query = q.kv, .n_query = q.n,
                                  .body = cr->body, .body_len = cr->len,
                                  .authorization = MHD_lookup_connection_value(
                                      c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)};
            if (q.overflow) {
                out->status = 400;
                out->content_type = "application/json";
                out->body = strdup("{\"error\":\"too many query parameters\"}");
                out->body_len = out->body ? strlen(out->body) : 0;
            } else {
                cr->c = c;
                atomic_store(&cr->state, REQ_PENDING);
                /* counted before `stopping` is read (both sequentially
                 * consistent): shutdown sets stopping, then waits for pending */
                atomic_fetch_add(&ctx->pending, 1);
                if (atomic_load(&ctx->stopping)) {
                    atomic_fetch_sub(&ctx->pending, 1);
                    return MHD_NO; /* shutting down: close the connection */
                }
                if (sr_server_start(ctx->srv, &rq, out, on_done, cr)) {
                    /* waits for its batch: the connection holds no thread meanwhile */
                    MHD_suspend_connection(c);
                    if (atomic_exchange(&cr->state, REQ_SUSPENDED) == REQ_DONE)
                        MHD_resume_connection(c); /* the batch was quicker */
                    return MHD_YES;
                }
                atomic_fetch_sub(&ctx->pending, 1);
            }
        }
    }
    /* answered: now, or by the batching thread (then we were resumed) */
    atomic_store(&cr->state, REQ_NEW);
    sr_http_response out = cr->out;
    memset(&cr->out, 0, sizeof cr->out);
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - cr->t0.tv_sec) * 1e3 + (double)(b.tv_nsec - cr->t0.tv_nsec) * 1e-6;
    if (ctx->log_level >= LOG_DEBUG || out.status >= 500)
        logf_("%s %s %d %.3f ms%s%.*s", method, url, out.status, ms,
              out.status >= 500 ? " " : "", out.status >= 500 ? (int)out.body_len : 0,
              out.body ? out.body : "");
    if (!out.body)
        return MHD_NO;
    return send_body(c, out.status, out.content_type, out.body, out.body_len);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    conn_req *cr = *con_cls;
    if (cr) {
        free(cr->body);
        free(cr->out.body); /* an answer never sent (connection closed) */
        free(cr);
        *con_cls = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    serve_ctx *ctx = cls;
    if (ctx->log_level < LOG_INFO)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    logf_("http: %s", msg);
}

/* ---- the command -------------------------------------------------------------------- */

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
    static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return !memcmp(&v6->sin6_addr, lo, 16);
}

static const cli_opt serve_options[] = {
    {"port", 0, NULL, "N", ""},
    {"bind", 0, NULL, "ADDR", ""},
    {"port-file", 0, NULL, "FILE", ""},
    {"max-sessions", 0, NULL, "N", ""},
    {"session-ttl", 0, NULL, "SECONDS", ""},
    {"snapshot", 0, NULL, "FILE", ""},
    {"batch-max", 0, NULL, "N", ""},
    {"batch-wait-us", 0, NULL, "US", ""},
    {"batch-split", 0, NULL, "N", ""},
    {"workers", 0, NULL, "N", ""},
    {"score-threads", 0, NULL, "N", ""},
    {"http-threads", 0, NULL, "N", ""},
    {"max-body", 0, NULL, "BYTES", ""},
    {"max-items", 0, NULL, "N", ""},
    {"max-k", 0, NULL, "N", ""},
    {"max-connections", 0, NULL, "N", ""},
    {"timeout", 0, NULL, "SECONDS", ""},
    {"admin-token", 0, NULL, "TOKEN", ""},
    {"log-level", 0, NULL, "L", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct serve_args {
    sr_server_opts so;
    int port, max_conn, timeout, log_level, http_threads;
    const char *bind_addr, *port_file;
} serve_args;

static int on_option(void *ud, const cli_opt *o, const char *v)
{
    serve_args *a = ud;
    const char *n = o->name, *cmd = "serve";
    int64_t i64;
    double dv;
    if (!strcmp(n, "port"))
        return cli_int(cmd, "--port", v, 0, 65535, &a->port);
    if (!strcmp(n, "bind"))
        a->bind_addr = v;
    else if (!strcmp(n, "port-file"))
        a->port_file = v;
    else if (!strcmp(n, "max-sessions"))
        return cli_int64(cmd, "--max-sessions", v, 1, INT64_C(1) << 40, &a->so.max_sessions);
    else if (!strcmp(n, "session-ttl"))
        return cli_double(cmd, "--session-ttl", v, 0.001, 1e9, &a->so.session_ttl);
    else if (!strcmp(n, "snapshot"))
        a->so.snapshot_path = v;
    else if (!strcmp(n, "batch-max"))
        return cli_int(cmd, "--batch-max", v, 1, 4096, &a->so.batch_max);
    else if (!strcmp(n, "batch-split"))
        return cli_int(cmd, "--batch-split", v, 0, 4096, &a->so.batch_split);
    else if (!strcmp(n, "batch-wait-us")) {
        if (cli_double(cmd, "--batch-wait-us", v, 0, 1e6, &dv))
            return 1;
        a->so.batch_wait = dv * 1e-6;
    } else if (!strcmp(n, "workers"))
        return cli_int(cmd, "--workers", v, 1, 64, &a->so.workers);
    else if (!strcmp(n, "score-threads"))
        return cli_int(cmd, "--score-threads", v, 1, 64, &a->so.score_threads);
    else if (!strcmp(n, "http-threads"))
        return cli_int(cmd, "--http-threads", v, 1, 64, &a->http_threads);
    else if (!strcmp(n, "max-body")) {
        if (cli_int64(cmd, "--max-body", v, 16, INT64_C(1) << 30, &i64))
            return 1;
        a->so.max_body = (size_t)i64;
    } else if (!strcmp(n, "max-items"))
        return cli_int(cmd, "--max-items", v, 1, 1000000, &a->so.max_items);
    else if (!strcmp(n, "max-k"))
        return cli_int(cmd, "--max-k", v, 1, 1000000, &a->so.max_k);
    else if (!strcmp(n, "max-connections"))
        return cli_int(cmd, "--max-connections", v, 1, 65536, &a->max_conn);
    else if (!strcmp(n, "timeout"))
        return cli_int(cmd, "--timeout", v, 1, 86400, &a->timeout);
    else if (!strcmp(n, "admin-token"))
        a->so.admin_token = v;
    else if (!strcmp(n, "log-level")) {
        if (!strcmp(v, "error"))
            a->log_level = LOG_ERROR;
        else if (!strcmp(v, "info"))
            a->log_level = LOG_INFO;
        else if (!strcmp(v, "debug"))
            a->log_level = LOG_DEBUG;
        else
            return cli_fail(cmd, "--log-level: '%s' is not error, info or debug", v);
    }
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    const char *cmd = "serve";
    serve_args sa;
    memset(&sa, 0, sizeof sa);
    sa.so = sr_server_default_opts();
    sa.port = 8080;
    sa.max_conn = 1024;
    sa.timeout = 10;
    sa.log_level = LOG_ERROR;
    sa.http_threads = 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    sa.so.score_threads = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (int)ncpu;
    sa.bind_addr = "127.0.0.1";
    const cli_opt *const tables[] = {serve_options, cli_common_options, NULL};
    cli_cmd cc = {"serve", "MODEL [options]", usage, tables, on_option, &sa};
    cli_common com = {0};
    const char *model;
    int prc = cli_parse_one(&cc, argc, argv, &com, "MODEL", &model);
    if (prc >= 0)
        return prc;
    sr_server_opts so = sa.so;
    so.model_path = model;
    int port = sa.port, max_conn = sa.max_conn, timeout = sa.timeout;
    int log_level = sa.log_level, http_threads = sa.http_threads;
    const char *bind_addr = sa.bind_addr, *port_file = sa.port_file;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    int ipv6 = 0;
    if (inet_pton(AF_INET, bind_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, bind_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        ipv6 = 1;
    } else {
        return cli_fail(cmd, "--bind: '%s' is not an IPv4 or IPv6 address", bind_addr);
    }
    if (!is_loopback(&ss) && (!so.admin_token || !*so.admin_token))
        return cli_fail(cmd, "--bind %s is not a loopback address: give --admin-token too",
                        bind_addr);

    /* every thread started from here on inherits the blocked signals; main waits for them */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    sr_error err;
    sr_server *srv;
    if (sr_server_new(&so, &srv, &err) != SR_OK)
        return cli_fail_err(cmd, &err);
    serve_ctx ctx = {srv, so.max_body, log_level, 0, 0};
    /* an event loop for all connections; a request waiting for its batch
     * suspends its connection instead of holding a thread. poll(), not epoll:
     * libmicrohttpd takes a suspended connection out of its epoll set and puts
     * it back on resume (two epoll_ctl calls per click) and reads an
     * edge-triggered socket until EAGAIN (a second recv per click): 5.8
     * syscalls per click against 2.3, 10-16% more requests/s at 16-1,024
     * connections (docs/serve.md). poll() looks at every connection on each
     * wake-up, so past 4,096 connections per thread it is epoll again. */
    unsigned poller = max_conn / http_threads > 4096 ? MHD_USE_AUTO : MHD_USE_POLL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | poller | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, &ctx, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        &ctx, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)http_threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_conn, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &ctx,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
        /* per-connection pool for headers and buffers, cleared for every
         * request: 32 KiB by default, a measurable memset per click */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
        MHD_OPTION_END);
    if (!d) {
        sr_server_free(srv);
        return cli_fail(cmd, "cannot listen on %s port %d (in use, or not allowed?)", bind_addr,
                        port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : port;
    size_t bytes;
    int64_t nsess = sr_server_sessions(srv, &bytes);
    if (log_level >= LOG_INFO)
        logf_("listening on %s port %d, model %s, %lld sessions restored", bind_addr, bound,
              so.model_path, (long long)nsess);
    if (port_file) {
        char txt[16];
        snprintf(txt, sizeof txt, "%d\n", bound);
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fputs(txt, f) == EOF || fclose(f) != 0 || rename(tmp, port_file) != 0)
            logf_("cannot write --port-file %s", port_file);
    }

    int rc = 0;
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (sr_server_reload(srv, &err) != SR_OK)
                logf_("reload failed, the old model stays: %s", err.msg);
            else if (log_level >= LOG_INFO)
                logf_("reloaded %s", so.model_path);
            continue;
        }
        break;
    }
    if (log_level >= LOG_INFO)
        logf_("stopping: no new connections, finishing requests in flight");
    MHD_quiesce_daemon(d);
    for (int i = 0; i < 100; i++) { /* at most 5 s for requests in flight */
        const union MHD_DaemonInfo *ci = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!ci || ci->num_connections == 0)
            break;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    /* a request still in a batch resumes its connection when done: the daemon
     * must outlive that (the batching thread answers every request it holds) */
    atomic_store(&ctx.stopping, 1);
    while (atomic_load(&ctx.pending) > 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    if (so.snapshot_path) {
        nsess = sr_server_sessions(srv, &bytes);
        if (sr_server_snapshot(srv, &err) != SR_OK) {
            logf_("snapshot failed: %s", err.msg);
            rc = 1;
        } else if (log_level >= LOG_INFO) {
            logf_("wrote %lld sessions to %s", (long long)nsess, so.snapshot_path);
        }
    }
    sr_server_free(srv);
    return rc;
}
