/*
 * bench_prepare.c - speed and memory of the in-memory half of `prepare`
 * (grouping, filter, time split: sr_split_from_log and sr_prepare) and of the
 * split store (sr_split_save with fsync, sr_split_load with full checks), on a
 * YOOCHOOSE-sized click log built in memory (no reader involved; end-to-end
 * figures with the reader are in bench_data). Printed as markdown table rows.
 *
 * The log: sessions with ids 1, 2, ... (small random gaps), YOOCHOOSE-like
 * lengths (mean ~3.6, a tail to 200), start times over 183 days in roughly but
 * not exactly id order, clicks 10-300 s apart at millisecond resolution,
 * log-uniform (Zipf s=1) item popularity over 52 K items in the 214 M range,
 * 10% consecutive repeats. Rows are in session order, as in the real file.
 * Env: SR_BENCH_CLICKS (default 33003944). Files go to $TMPDIR (default /tmp)
 * and are removed. Run by `make bench`, never by the tests.
 */
#define _DEFAULT_SOURCE
#include "sessrec.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Peak resident set (VmHWM) in MiB; reset_peak() restarts it (Linux). */
static double peak_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atof(line + 6);
    if (f)
        fclose(f);
    return kb / 1024;
}

static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int build_log(sr_log *lg, int64_t n)
{
    memset(lg, 0, sizeof *lg);
    lg->session = malloc((size_t)n * 8);
    lg->item = malloc((size_t)n * 8);
    lg->time = malloc((size_t)n * 8);
    if (!lg->session || !lg->item || !lg->time)
        return -1;
    lg->cap = n;
    sr_rng r;
    sr_rng_seed(&r, 42);
    const double n_items = 52000, days = 183;
    double mean_len = 3.6;
    double sessions = (double)n / mean_len, gap_us = days * 86400e6 / sessions;
    int64_t sid = 0, k = 0, t0 = 1396310400000000; /* 2014-04-01 */
    double start = 0;
    while (k < n) {
        sid += 1 + (sr_rng_next(&r) % 8 == 0);
        start += gap_us * -log1p(-sr_rng_uniform(&r));
        int64_t len = 1;
        if (sr_rng_uniform(&r) < 0.005)
            len = 10 + (int64_t)(sr_rng_next(&r) % 190);
        else
            while (sr_rng_uniform(&r) < 0.69 && len < 40)
                len++;
        int64_t t = t0 + (int64_t)start + (int64_t)(sr_rng_next(&r) % 3600000000ULL);
        t -= t % 1000;
        int64_t prev = -1;
        for (int64_t j = 0; j < len && k < n; j++, k++) {
            int64_t it = prev >= 0 && sr_rng_uniform(&r) < 0.1
                             ? prev
                             : 214000000 + 7 * ((int64_t)exp(sr_rng_uniform(&r) * log(n_items)) - 1);
            lg->session[k] = sid;
            lg->item[k] = it;
            lg->time[k] = t;
            prev = it;
            t += 1000 * (10000 + (int64_t)(sr_rng_next(&r) % 290000));
        }
    }
    lg->n = n;
    return 0;
}

int main(void)
{
    const char *e = getenv("SR_BENCH_CLICKS");
    int64_t n = e && *e ? atoll(e) : 33003944;
    sr_log log;
    if (n < 1000 || build_log(&log, n) != 0) {
        fprintf(stderr, "bench_prepare: cannot build a log of %lld clicks\n", (long long)n);
        return 1;
    }
    double log_mib = (double)n * 24 / (1 << 20);
    sr_error err;
    printf("| prepare, in memory (%lld clicks, log %.0f MiB) | wall | CPU | rate (wall) | peak RSS |\n",
           (long long)n, log_mib);
    printf("|---|---|---|---|---|\n");

    reset_peak();
    double t = sr_now(), c = cpu_s();
    sr_split all;
    if (sr_split_from_log(&log, &all, &err) != SR_OK) {
        fprintf(stderr, "bench_prepare: %s\n", err.msg);
        return 1;
    }
    double dt = sr_now() - t, dc = cpu_s() - c;
    printf("| group + order only (sr_split_from_log): %lld sessions | %.2f s | %.2f s | %.1f M clicks/s | %.0f MiB |\n",
           (long long)all.n_sessions, dt, dc, (double)n / dt / 1e6, peak_mib());
    sr_split_free(&all);

    static const struct { const char *what; int dedup; double valid; } runs[] = {
        {"sr_prepare, --valid-days 1", 0, 1},
        {"sr_prepare, --dedup", 1, 0},
        {"sr_prepare, defaults (recursive, 2, 5, test 1 day)", 0, 0}, /* kept for the store */
    };
    sr_prepared keep;
    memset(&keep, 0, sizeof keep);
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        sr_prepare_opts o = sr_prepare_default_opts();
        o.dedup = runs[k].dedup;
        o.valid_days = runs[k].valid;
        sr_prepared p;
        reset_peak();
        t = sr_now();
        c = cpu_s();
        if (sr_prepare(&log, &o, &p, &err) != SR_OK) {
            fprintf(stderr, "bench_prepare: %s\n", err.msg);
            return 1;
        }
        dt = sr_now() - t;
        dc = cpu_s() - c;
        printf("| %s: %lld rounds, train_full %lld clicks | %.2f s | %.2f s | %.1f M clicks/s | %.0f MiB |\n",
               runs[k].what, (long long)p.filter_rounds, (long long)p.train_full.n_events, dt, dc,
               (double)n / dt / 1e6, peak_mib());
        if (k == sizeof runs / sizeof *runs - 1)
            keep = p;
        else
            sr_prepared_free(&p);
    }
    sr_log_free(&log);

    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/bench_prepare.%ld.split", dir && *dir ? dir : "/tmp",
             (long)getpid());
    t = sr_now();
    if (sr_split_save(&keep.train_full, path, &err) != SR_OK) {
        fprintf(stderr, "bench_prepare: %s\n", err.msg);
        return 1;
    }
    double ts = sr_now() - t;
    sr_split l;
    t = sr_now();
    sr_status st = sr_split_load(path, &l, &err);
    double tl = sr_now() - t;
    unlink(path);
    if (st != SR_OK) {
        fprintf(stderr, "bench_prepare: %s\n", err.msg);
        return 1;
    }
    double mb = (double)l.map_len_ / 1e6;
    printf("| sr_split_save train_full (%.0f MB, fsync) | %.2f s | | %.0f MB/s | |\n", mb, ts, mb / ts);
    printf("| sr_split_load train_full (map, CRC, checks) | %.3f s | | %.0f MB/s | |\n", tl, mb / tl);
    sr_split_free(&l);
    sr_prepared_free(&keep);
    return 0;
}
