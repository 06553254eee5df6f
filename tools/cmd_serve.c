/*
 * cmd_serve.c - 'sessrec serve MODEL': the HTTP recommendation server. Parses
 * options, owns the sockets (libmicrohttpd, one thread per connection), hands
 * each request to the library's sr_server_handle, logs, and turns signals into
 * actions: SIGHUP reloads the model, SIGTERM/SIGINT stop gracefully (and write
 * the snapshot). Everything else (routing, JSON, sessions, batching, metrics)
 * is the library's (src/serve/).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
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
        "  --batch-max N        requests scored together at most (32)\n"
        "  --batch-wait-us US   microseconds a batch waits to fill up (0: no waiting; what\n"
        "                       arrives while a batch is scored forms the next one)\n"
        "  --workers N          batching threads (1)\n"
        "  --max-body BYTES     request body limit (65536)\n"
        "  --max-items N        items in one request (1000)\n"
        "  --max-k N            largest k (1000)\n"
        "  --max-connections N  open connections at most (1024)\n"
        "  --timeout SEC        an idle or slow connection is closed after SEC (10)\n"
        "  --admin-token TOKEN  admin endpoints need 'Authorization: Bearer TOKEN'\n"
        "  --log-level LEVEL    error (default; errors only), info (+ start, reload,\n"
        "                       stop), debug (+ one line per request)\n"
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

typedef struct conn_req {
    char *body;
    size_t len, cap;
    int too_big;
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
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    sr_http_response out = {0};
    if (cr->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "{\"error\":\"request body over %zu bytes\"}", ctx->max_body);
        out.status = 413;
        out.content_type = "application/json";
        out.body = strdup(msg);
        out.body_len = out.body ? strlen(out.body) : 0;
    } else {
        query_acc q = {.n = 0};
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_it, &q);
        sr_http_request rq = {.method = method, .path = url, .query = q.kv, .n_query = q.n,
                              .body = cr->body, .body_len = cr->len,
                              .authorization = MHD_lookup_connection_value(
                                  c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)};
        if (q.overflow) {
            out.status = 400;
            out.content_type = "application/json";
            out.body = strdup("{\"error\":\"too many query parameters\"}");
            out.body_len = out.body ? strlen(out.body) : 0;
        } else {
            sr_server_handle(ctx->srv, &rq, &out);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) * 1e-6;
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

int cmd_serve(int argc, char **argv)
{
    const char *cmd = "serve";
    sr_server_opts so = sr_server_default_opts();
    int port = 8080, max_conn = 1024, timeout = 10, log_level = LOG_ERROR;
    int64_t i64;
    double dv;
    const char *bind_addr = "127.0.0.1", *port_file = NULL;
    enum { O_PORT = 256, O_BIND, O_PORTFILE, O_MAXSESS, O_TTL, O_SNAP, O_BMAX, O_BWAIT,
           O_WORKERS, O_BODY, O_ITEMS, O_K, O_CONN, O_TIMEOUT, O_TOKEN, O_LOG };
    static const struct option lo[] = {
        {"port", required_argument, 0, O_PORT},
        {"bind", required_argument, 0, O_BIND},
        {"port-file", required_argument, 0, O_PORTFILE},
        {"max-sessions", required_argument, 0, O_MAXSESS},
        {"session-ttl", required_argument, 0, O_TTL},
        {"snapshot", required_argument, 0, O_SNAP},
        {"batch-max", required_argument, 0, O_BMAX},
        {"batch-wait-us", required_argument, 0, O_BWAIT},
        {"workers", required_argument, 0, O_WORKERS},
        {"max-body", required_argument, 0, O_BODY},
        {"max-items", required_argument, 0, O_ITEMS},
        {"max-k", required_argument, 0, O_K},
        {"max-connections", required_argument, 0, O_CONN},
        {"timeout", required_argument, 0, O_TIMEOUT},
        {"admin-token", required_argument, 0, O_TOKEN},
        {"log-level", required_argument, 0, O_LOG},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case O_PORT: bad = cli_int(cmd, "--port", optarg, 0, 65535, &port); break;
        case O_BIND: bind_addr = optarg; break;
        case O_PORTFILE: port_file = optarg; break;
        case O_MAXSESS:
            bad = cli_int64(cmd, "--max-sessions", optarg, 1, INT64_C(1) << 40, &so.max_sessions);
            break;
        case O_TTL: bad = cli_double(cmd, "--session-ttl", optarg, 0.001, 1e9, &so.session_ttl); break;
        case O_SNAP: so.snapshot_path = optarg; break;
        case O_BMAX: bad = cli_int(cmd, "--batch-max", optarg, 1, 4096, &so.batch_max); break;
        case O_BWAIT:
            bad = cli_double(cmd, "--batch-wait-us", optarg, 0, 1e6, &dv);
            so.batch_wait = dv * 1e-6;
            break;
        case O_WORKERS: bad = cli_int(cmd, "--workers", optarg, 1, 64, &so.workers); break;
        case O_BODY:
            bad = cli_int64(cmd, "--max-body", optarg, 16, INT64_C(1) << 30, &i64);
            so.max_body = (size_t)i64;
            break;
        case O_ITEMS: bad = cli_int(cmd, "--max-items", optarg, 1, 1000000, &so.max_items); break;
        case O_K: bad = cli_int(cmd, "--max-k", optarg, 1, 1000000, &so.max_k); break;
        case O_CONN: bad = cli_int(cmd, "--max-connections", optarg, 1, 65536, &max_conn); break;
        case O_TIMEOUT: bad = cli_int(cmd, "--timeout", optarg, 1, 86400, &timeout); break;
        case O_TOKEN: so.admin_token = optarg; break;
        case O_LOG:
            if (!strcmp(optarg, "error"))
                log_level = LOG_ERROR;
            else if (!strcmp(optarg, "info"))
                log_level = LOG_INFO;
            else if (!strcmp(optarg, "debug"))
                log_level = LOG_DEBUG;
            else
                return cli_fail(cmd, "--log-level: '%s' is not error, info or debug", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad)
            return 2;
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    so.model_path = argv[optind];

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
    serve_ctx ctx = {srv, so.max_body, log_level};
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, &ctx, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        &ctx, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_conn, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &ctx,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
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
