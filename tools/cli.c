/*
 * cli.c - option-value parsing, error printing and progress bars shared by the
 * subcommands.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sessrec %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_fail_err(const char *cmd, const sr_error *err)
{
    return cli_fail(cmd, "%s", err->msg[0] ? err->msg : sr_status_name(err->status));
}

int cli_int64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        cli_fail(cmd, "%s: expected an integer in [%lld, %lld], got '%s'", opt,
                 (long long)lo, (long long)hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (cli_int64(cmd, opt, s, lo, hi, &v))
        return -1;
    *out = (int)v;
    return 0;
}

int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        cli_fail(cmd, "%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_days(const char *cmd, const char *opt, const char *s, double *out_days)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == 's') {
        char tmp[64];
        if (n >= sizeof tmp) {
            cli_fail(cmd, "%s: bad duration '%s'", opt, s);
            return -1;
        }
        memcpy(tmp, s, n - 1);
        tmp[n - 1] = 0;
        double secs;
        if (cli_double(cmd, opt, tmp, 0, 1e12, &secs))
            return -1;
        *out_days = secs / 86400.0;
        return 0;
    }
    return cli_double(cmd, opt, s, 0, 1e7, out_days);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, const char *label)
{
    p->label = label;
    p->start = p->last = now_s();
    p->tty = isatty(2);
}

static void fmt_eta(char *buf, size_t n, double secs)
{
    if (!isfinite(secs) || secs < 0)
        snprintf(buf, n, "--:--");
    else if (secs >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)secs / 3600, ((int)secs / 60) % 60, (int)secs % 60);
    else
        snprintf(buf, n, "%02d:%02d", (int)secs / 60, (int)secs % 60);
}

void cli_progress_update(cli_progress *p, double frac, const char *extra)
{
    double t = now_s();
    if (t - p->last < (p->tty ? 0.2 : 5.0))
        return;
    p->last = t;
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    double el = t - p->start;
    char eta[32];
    fmt_eta(eta, sizeof eta, frac > 0 ? el * (1 - frac) / frac : -1);
    if (p->tty) {
        char bar[31];
        int w = (int)(frac * 30 + 0.5);
        for (int i = 0; i < 30; i++)
            bar[i] = i < w ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r%s [%s] %5.1f%% ETA %s %s\033[K", p->label, bar, 100 * frac, eta,
                extra ? extra : "");
    } else {
        fprintf(stderr, "%s: %5.1f%% ETA %s %s\n", p->label, 100 * frac, eta, extra ? extra : "");
    }
    fflush(stderr);
}

void cli_progress_done(cli_progress *p, const char *extra)
{
    double el = now_s() - p->start;
    if (p->tty)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "%s: done in %.1fs %s\n", p->label, el, extra ? extra : "");
}
