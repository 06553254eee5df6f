/*
 * bench_read.c - throughput of the click-log readers alone (no prepare), in MB/s
 * of uncompressed input, with 1 and 2 parser threads, printed as markdown rows:
 *   - raw YOOCHOOSE from a (page-cached) file and from memory, SR_BENCH_CLICKS
 *     clicks (default 33,003,944, the real file's size, ~1.4 GB);
 *   - the same text gzip-compressed (first 4 M clicks; inflate is serial);
 *   - GRU4Rec TSV from memory (8 M clicks).
 * Each figure is the median of 3 runs. The text is generated here (YOOCHOOSE
 * shape: millisecond timestamps, 214 M item ids, mixed categories); the files
 * go to $TMPDIR (default /tmp) and are removed. Run by `make bench`, never by
 * the tests.
 */
#define _DEFAULT_SOURCE
#include "sessrec.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define REPS 3

static char *put_u(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* YOOCHOOSE-like text (tsv = 0) or GRU4Rec TSV (tsv = 1) of n clicks; caller frees. */
static char *gen(int64_t n, int tsv, size_t *len)
{
    size_t cap = (size_t)n * 48 + 64;
    char *b = malloc(cap), *p = b;
    if (!b)
        return NULL;
    sr_rng r;
    sr_rng_seed(&r, 42);
    if (tsv)
        p += sprintf(p, "SessionId\tItemId\tTime\n");
    int64_t sess = 1, t = INT64_C(1396310400000); /* ms, 2014-04-01 */
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = sr_rng_next(&r);
        if (x % 7 < 2)
            sess += 1 + (int64_t)((x >> 8) % 3);
        t += (int64_t)((x >> 16) % 950); /* ~6 months over 33 M clicks */
        uint64_t item = 214500000 + (x >> 32) % 52000;
        p = put_u(p, (uint64_t)sess, 1);
        *p++ = tsv ? '\t' : ',';
        if (tsv) {
            p = put_u(p, item, 1);
            *p++ = '\t';
            p = put_u(p, (uint64_t)(t / 1000), 1);
            *p++ = '.';
            p = put_u(p, (uint64_t)(t % 1000), 3);
            *p++ = '\n';
            continue;
        }
        int64_t days = t / 86400000, ms = t % 86400000;
        /* civil from days (H. Hinnant) */
        int64_t z = days + 719468, era = z / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
        int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
        p = put_u(p, (uint64_t)y, 4);
        *p++ = '-';
        p = put_u(p, m, 2);
        *p++ = '-';
        p = put_u(p, d, 2);
        *p++ = 'T';
        p = put_u(p, (uint64_t)(ms / 3600000), 2);
        *p++ = ':';
        p = put_u(p, (uint64_t)(ms / 60000 % 60), 2);
        *p++ = ':';
        p = put_u(p, (uint64_t)(ms / 1000 % 60), 2);
        *p++ = '.';
        p = put_u(p, (uint64_t)(ms % 1000), 3);
        *p++ = 'Z';
        *p++ = ',';
        p = put_u(p, item, 1);
        *p++ = ',';
        unsigned c = (unsigned)((x >> 20) % 100);
        if (c < 70)
            *p++ = '0';
        else if (c < 80)
            *p++ = 'S';
        else if (c < 95)
            p = put_u(p, 1 + c % 12, 1);
        else
            p = put_u(p, 2089639422u + c, 1);
        *p++ = '\n';
    }
    *len = (size_t)(p - b);
    return b;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of REPS reads (path != NULL: file, else memory); -1 on error. */
static double time_read(const char *path, const char *buf, size_t len, int threads, int64_t want)
{
    double t[REPS];
    for (int k = 0; k < REPS; k++) {
        sr_read_opts o = sr_read_default_opts();
        o.threads = threads;
        sr_log l;
        sr_error e;
        double t0 = sr_now();
        sr_status st = path ? sr_read_log(path, &o, &l, NULL, &e)
                            : sr_read_log_mem(buf, len, "bench", &o, &l, NULL, &e);
        t[k] = sr_now() - t0;
        int64_t n = l.n;
        sr_log_free(&l);
        if (st != SR_OK || n != want) {
            fprintf(stderr, "bench_read: %s\n", st != SR_OK ? e.msg : "wrong click count");
            return -1;
        }
    }
    qsort(t, REPS, sizeof t[0], cmp_dbl);
    return t[REPS / 2];
}

static void row(const char *what, double mb, const char *path, const char *buf, size_t len,
                int64_t n)
{
    double a = time_read(path, buf, len, 1, n), b = time_read(path, buf, len, 2, n);
    if (a <= 0 || b <= 0) {
        printf("| %s | failed | failed |\n", what);
        return;
    }
    printf("| %s | %.0f MB/s | %.0f MB/s |\n", what, mb / a, mb / b);
    fflush(stdout);
}

static int write_all(const char *path, const char *buf, size_t len, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb1");
        size_t o = 0;
        while (g && o < len) {
            unsigned k = len - o > (1u << 30) ? 1u << 30 : (unsigned)(len - o);
            if (gzwrite(g, buf + o, k) != (int)k)
                break;
            o += k;
        }
        return g && gzclose(g) == Z_OK && o == len ? 0 : -1;
    }
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int main(void)
{
    const char *env = getenv("SR_BENCH_CLICKS");
    int64_t n = env && atoll(env) > 0 ? atoll(env) : INT64_C(33003944);
    const char *tmp = getenv("TMPDIR");
    char path[512], gzpath[520];
    snprintf(path, sizeof path, "%s/sessrec-bench-read-%ld.dat", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    snprintf(gzpath, sizeof gzpath, "%s.gz", path);

    size_t len;
    char *text = gen(n, 0, &len);
    if (!text) {
        fprintf(stderr, "bench_read: out of memory\n");
        return 1;
    }
    printf("\n| reader alone (%lld clicks, %.2f GB, median of %d) | 1 thread | 2 threads |\n",
           (long long)n, (double)len / 1e9, REPS);
    printf("|---|---|---|\n");
    if (write_all(path, text, len, 0) != 0) {
        printf("| yoochoose, file | cannot write %s | |\n", path);
    } else {
        row("yoochoose, file (page cache)", (double)len / 1e6, path, NULL, 0, n);
    }
    unlink(path);
    row("yoochoose, memory", (double)len / 1e6, NULL, text, len, n);

    /* gzip: the first 4 M clicks */
    int64_t ng = n < 4000000 ? n : 4000000;
    size_t glen = 0, lines = 0;
    while (lines < (size_t)ng)
        lines += text[glen++] == '\n';
    if (write_all(gzpath, text, glen, 1) != 0)
        printf("| yoochoose, gzip file | cannot write %s | |\n", gzpath);
    else
    {
        char what[96];
        snprintf(what, sizeof what, "yoochoose, gzip -1 file (%lld clicks)", (long long)ng);
        row(what, (double)glen / 1e6, gzpath, NULL, 0, ng);
    }
    unlink(gzpath);
    free(text);

    int64_t nt = n < 8000000 ? n : 8000000;
    text = gen(nt, 1, &len);
    if (text) {
        char what[96];
        snprintf(what, sizeof what, "GRU4Rec TSV, memory (%lld clicks)", (long long)nt);
        row(what, (double)len / 1e6, NULL, text, len, nt);
    }
    free(text);
    return 0;
}
