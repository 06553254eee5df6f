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

const char *cli_grouped(int64_t v, char *buf, size_t n)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%llu", v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
    size_t len = strlen(raw), o = 0;
    if (v < 0 && o + 1 < n)
        buf[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = 0;
    return buf;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_print_baseline_params(FILE *f)
{
    fputs("Baseline parameters (session-rec's names; defaults in brackets; docs/baselines.md):\n"
          "  pop    top_n [None]\n"
          "  spop   top_n [100]\n"
          "  ar     pruning [20]\n"
          "  sr     steps [10], weighting linear|same|div|log|quadratic [div], pruning [20],\n"
          "         idf_weight 0|1|2 [0]\n"
          "  iknn   n_sims [100], lambda (lmbd) [20], alpha [0.5]\n"
          "  sknn   k [100], sample_size [1000], sampling recent|random [recent],\n"
          "         similarity jaccard|cosine|tanimoto|binary [jaccard], remind [False],\n"
          "         pop_boost [0], normalize [True], seed [0]\n"
          "  vsknn  k [100], sample_size [1000], sampling [recent], weighting [div],\n"
          "         weighting_score [div], idf_weighting [0], idf_weighting_session [False],\n"
          "         remind [True], push_reminders [False], last_n_clicks [None],\n"
          "         normalize [True], seed [0]\n"
          "  stan   k [100], sample_size [5000], sampling [recent], remind [True],\n"
          "         lambda_spw [1.02], lambda_snh [5] (days), lambda_inh [2.05], seed [0]\n",
          f);
}

int cli_append_spec(char **acc, const char *piece)
{
    size_t a = *acc ? strlen(*acc) : 0, b = strlen(piece);
    char *p = realloc(*acc, a + b + 2);
    if (!p)
        return -1;
    if (a)
        p[a++] = ',';
    memcpy(p + a, piece, b + 1);
    *acc = p;
    return 0;
}

const char *cli_iso_time(char *buf, size_t n, int64_t us, int fraction)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil_from_days (H. Hinnant) */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    int w = snprintf(buf, n, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld", (long long)y,
                     (long long)m, (long long)d, (long long)(rem / 3600),
                     (long long)(rem / 60 % 60), (long long)(rem % 60));
    if (w < 0 || (size_t)w >= n)
        return buf;
    if (!fraction)
        frac = 0;
    if (frac % 1000 == 0 && frac)
        snprintf(buf + w, n - (size_t)w, ".%03lldZ", (long long)(frac / 1000));
    else if (frac)
        snprintf(buf + w, n - (size_t)w, ".%06lldZ", (long long)frac);
    else
        snprintf(buf + w, n - (size_t)w, "Z");
    return buf;
}

int cli_cutoffs(const char *cmd, const char *s, sr_eval_opts *o)
{
    char buf[512];
    if (strlen(s) >= sizeof buf)
        return cli_fail(cmd, "--cutoffs: list too long");
    strcpy(buf, s);
    o->n_cutoffs = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_cutoffs == SR_MAX_CUTOFFS)
            return cli_fail(cmd, "--cutoffs: at most %d cutoffs", SR_MAX_CUTOFFS);
        if (cli_int(cmd, "--cutoffs", tok, 1, 1000000, &o->cutoffs[o->n_cutoffs]))
            return 1;
        o->n_cutoffs++;
    }
    if (o->n_cutoffs == 0)
        return cli_fail(cmd, "--cutoffs: expected a list like 1,5,10,20, got '%s'", s);
    return 0;
}
