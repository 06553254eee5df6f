/*
 * test.h - a tiny test harness. Each tests/test_*.c is one program:
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(test_something); return test_summary(); }
 *
 * CHECK failures print file:line and the expression and mark the current test
 * failed, but the test goes on. test_summary prints "N passed, N failed" and
 * returns non-zero if anything failed. SR_DATA points at ../shared/data.
 */
#ifndef SR_TEST_H
#define SR_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_skipped, t_cur_failed;
static const char *t_cur_name;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, t_cur_name, \
                    #cond);                                                           \
            t_cur_failed = 1;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "  FAIL %s:%d [%s]: %s: ", __FILE__, __LINE__, t_cur_name, \
                    #cond);                                                           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            t_cur_failed = 1;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                            \
    do {                                                                              \
        long long a_ = (long long)(a), b_ = (long long)(b);                           \
        if (a_ != b_) {                                                               \
            fprintf(stderr, "  FAIL %s:%d [%s]: %s == %s (%lld vs %lld)\n", __FILE__,  \
                    __LINE__, t_cur_name, #a, #b, a_, b_);                            \
            t_cur_failed = 1;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                         \
    do {                                                                              \
        double a_ = (double)(a), b_ = (double)(b);                                    \
        if (!(fabs(a_ - b_) <= (tol))) {                                              \
            fprintf(stderr, "  FAIL %s:%d [%s]: %s ~ %s (%.9g vs %.9g, tol %g)\n",     \
                    __FILE__, __LINE__, t_cur_name, #a, #b, a_, b_, (double)(tol));   \
            t_cur_failed = 1;                                                         \
        }                                                                             \
    } while (0)

#define RUN(fn)                                                                       \
    do {                                                                              \
        t_cur_name = #fn;                                                             \
        t_cur_failed = 0;                                                             \
        fn();                                                                         \
        if (t_cur_failed == 2) {                                                      \
            t_skipped++;                                                              \
            fprintf(stderr, "skip %s\n", #fn);                                        \
        } else if (t_cur_failed) {                                                    \
            t_failed++;                                                               \
            fprintf(stderr, "FAIL %s\n", #fn);                                        \
        } else {                                                                      \
            t_passed++;                                                               \
            fprintf(stderr, "ok   %s\n", #fn);                                        \
        }                                                                             \
    } while (0)

/* Marks the current test skipped (e.g. ../shared/data missing) and returns. */
#define SKIP(why)                                                                     \
    do {                                                                              \
        fprintf(stderr, "  skipping %s: %s\n", t_cur_name, why);                      \
        t_cur_failed = 2;                                                             \
        return;                                                                       \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped);
    return t_failed ? 1 : 0;
}

/* Path of the shared data folder (override with SR_DATA). */
static inline const char *test_data_dir(void)
{
    const char *d = getenv("SR_DATA");
    return d && *d ? d : "../shared/data";
}

/* A fresh temporary directory for a test program (removed by the Makefile). */
static inline const char *test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("SR_TMP");
        snprintf(dir, sizeof dir, "%s/srtest.XXXXXX", base && *base ? base : "/tmp");
        extern char *mkdtemp(char *);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return dir;
}

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (caller frees);
 * *len, if non-NULL, gets its size. NULL if the file cannot be opened. */
static inline char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, r;
    char *b = malloc(cap);
    while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    if (!b) {
        fprintf(stderr, "test_read_file: out of memory reading %s\n", path);
        exit(2);
    }
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

/* The same as text: "" (still malloc'ed) when the file is missing. */
static inline char *test_read_text(const char *path)
{
    char *s = test_read_file(path, NULL);
    return s ? s : calloc(1, 1);
}

#endif
