/*
 * bench_serve.c - memory of live sessions in the server: creates N sessions
 * (default 1,000,000) through the request handler (sr_server_handle, no
 * sockets), each with the clicks of a test session (replayed cyclically, k=0:
 * recorded, not scored), then prints the sessions held, the store's own
 * accounting, and the growth of the process's resident memory, per session.
 * Usage: bench_serve MODEL CLICKS [N]   CLICKS: "session item" lines, in order.
 * Run by scripts/bench-serve.sh (part of `make bench`); without arguments it
 * says so and exits.
 */
#define _POSIX_C_SOURCE 200809L
#include "sessrec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct sess_list {
    char **body;      /* (n) request bodies {"items": [...], "k": 0} */
    int n;
} sess_list;

typedef struct job {
    sr_server *srv;
    const sess_list *sl;
    long from, to;
    long failed;
} job;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double rss_mib(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static void *run(void *arg)
{
    job *j = arg;
    char path[64];
    for (long i = j->from; i < j->to; i++) {
        snprintf(path, sizeof path, "/v1/sessions/m%ld/clicks", i);
        const char *body = j->sl->body[i % j->sl->n];
        sr_http_request rq = {.method = "POST", .path = path, .body = body,
                              .body_len = strlen(body)};
        sr_http_response out;
        sr_server_handle(j->srv, &rq, &out);
        if (out.status != 200)
            j->failed++;
        free(out.body);
    }
    return NULL;
}

static int load_sessions(const char *path, sess_list *sl)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256], last[64] = "", sid[64], item[64];
    size_t cap = 0, len = 0;
    char *cur = NULL;
    int cap_s = 0;
    sl->n = 0;
    sl->body = NULL;
    for (;;) {
        int got = fgets(line, sizeof line, f) && sscanf(line, "%63s %63s", sid, item) == 2;
        if (!got || strcmp(sid, last)) { /* close the session before */
            if (cur) {
                if (len + 16 > cap)
                    cur = realloc(cur, cap = len + 16);
                strcpy(cur + len, "], \"k\": 0}");
                if (sl->n == cap_s)
                    sl->body = realloc(sl->body, (size_t)(cap_s = cap_s ? 2 * cap_s : 1024) *
                                                     sizeof *sl->body);
                sl->body[sl->n++] = cur;
                cur = NULL;
            }
            if (!got)
                break;
            snprintf(last, sizeof last, "%s", sid);
            cap = 256;
            cur = malloc(cap);
            len = (size_t)sprintf(cur, "{\"items\": [");
        }
        if (len + strlen(item) + 8 > cap)
            cur = realloc(cur, cap = 2 * cap + strlen(item) + 8);
        len += (size_t)sprintf(cur + len, "%s\"%s\"", cur[len - 1] == '[' ? "" : ",", item);
    }
    fclose(f);
    return sl->n ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        printf("bench_serve: run by scripts/bench-serve.sh (needs a model and a clicks file)\n");
        return 0;
    }
    long n = argc > 3 ? atol(argv[3]) : 1000000;
    sess_list sl;
    if (load_sessions(argv[2], &sl) != 0) {
        fprintf(stderr, "bench_serve: cannot read %s\n", argv[2]);
        return 1;
    }
    sr_server_opts o = sr_server_default_opts();
    o.model_path = argv[1];
    o.max_sessions = n;
    o.workers = 2;
    sr_server *srv;
    sr_error err;
    if (sr_server_new(&o, &srv, &err) != SR_OK) {
        fprintf(stderr, "bench_serve: %s\n", err.msg);
        return 1;
    }
    double rss0 = rss_mib(), t0 = now();
    enum { T = 8 }; /* request threads: enough to fill batches */
    job jobs[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (job){srv, &sl, n * t / T, n * (t + 1) / T, 0};
        pthread_create(&th[t], NULL, run, &jobs[t]);
    }
    long failed = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        failed += jobs[t].failed;
    }
    double dt = now() - t0, rss1 = rss_mib();
    size_t bytes;
    int64_t held = sr_server_sessions(srv, &bytes);
    long clicks = 0;
    for (long i = 0; i < n; i++) {
        const char *b = sl.body[i % sl.n];
        for (; *b; b++) /* one comma per item: between them, and before "k" */
            clicks += *b == ',';
    }
    printf("| sessions | clicks | failed | store accounting | RSS growth | per session | time |\n"
           "|---:|---:|---:|---:|---:|---:|---:|\n"
           "| %lld | %ld | %ld | %.1f MiB | %.1f MiB | %.0f B | %.1f s |\n",
           (long long)held, clicks, failed,
           (double)bytes / 1048576.0, rss1 - rss0, (rss1 - rss0) * 1048576.0 / (double)(held ? held : 1),
           dt);
    sr_server_free(srv);
    for (int i = 0; i < sl.n; i++)
        free(sl.body[i]);
    free(sl.body);
    return failed ? 1 : 0;
}
