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

/* Writes a message to stderr with control bytes escaped (an ESC from a file
 * name or a token must not reach the terminal raw), cut at CLI_MSG_MAX bytes. */
#define CLI_MSG_MAX 2000
static void put_safe(const char *s)
{
    size_t n = strlen(s), shown = 0;
    for (size_t i = 0; i < n; i++, shown++) {
        unsigned char c = (unsigned char)s[i];
        if (shown >= CLI_MSG_MAX) {
            fputs("...", stderr);
            break;
        }
        if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f))
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    char msg[CLI_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "sessrec %s: ", cmd);
    put_safe(msg);
    fputc('\n', stderr);
    return 1;
}

int cli_finish(int rc)
{
    /* Output that did not reach its file is a failure, not a success:
     * `sessrec eval ... > /dev/full` must not exit 0. */
    int bad = ferror(stdout) != 0;
    errno = 0;
    if (fflush(stdout) != 0)
        bad = 1;
    if (bad) {
        int e = errno;
        fprintf(stderr, "sessrec: error writing standard output: %s\n",
                e ? strerror(e) : "write error");
        return rc ? rc : 1;
    }
    return rc;
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

int cli_cutoffs(const char *cmd, const char *s, sr_eval_opts *o)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char tok[32];
        if (n == SR_MAX_CUTOFFS)
            return cli_fail(cmd, "--cutoffs: at most %d cutoffs", SR_MAX_CUTOFFS);
        if (l == 0 || l >= sizeof tok)
            return cli_fail(cmd, "--cutoffs: expected a list like 1,5,10,20, got '%s'", s);
        memcpy(tok, p, l);
        tok[l] = 0;
        if (cli_int(cmd, "--cutoffs", tok, 1, 1000000, &o->cutoffs[n]))
            return 1;
        n++;
        p = e ? e + 1 : p + l;
        if (e && !*p)
            return cli_fail(cmd, "--cutoffs: expected a list like 1,5,10,20, got '%s'", s);
    }
    if (n == 0)
        return cli_fail(cmd, "--cutoffs: expected a list like 1,5,10,20, got '%s'", s);
    o->n_cutoffs = n;
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

double cli_now(void)
{
    return now_s();
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

/* "a|b|c" of a CHOICE parameter, "true|false" of a BOOL, "" otherwise. */
static void param_values(const sr_param_info *p, char *buf, size_t n)
{
    buf[0] = 0;
    switch (p->type) {
    case SR_PARAM_BOOL:
        snprintf(buf, n, "true|false");
        return;
    case SR_PARAM_CHOICE: {
        size_t used = 0;
        for (int i = 0; p->choices[i] && used < n; i++) {
            int w = snprintf(buf + used, n - used, "%s%s", i ? "|" : "", p->choices[i]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        return;
    }
    case SR_PARAM_INT:
    case SR_PARAM_NUMBER:
    case SR_PARAM_TEXT:
        return;
    }
}

void cli_print_algo(FILE *f, const sr_algo_info *a)
{
    fprintf(f, "%s: %s\n", a->name, a->summary);
    for (int i = 0; i < a->n_params; i++) {
        const sr_param_info *p = &a->params[i];
        char name[64], vals[128];
        if (p->alias)
            snprintf(name, sizeof name, "%s (%s)", p->name, p->alias);
        else
            snprintf(name, sizeof name, "%s", p->name);
        param_values(p, vals, sizeof vals);
        fprintf(f, "  %-22s %s%s%s [%s]\n", name, vals, *vals ? "; " : "", p->help, p->def);
    }
    for (int i = 0; i < a->n_presets; i++)
        fprintf(f, "  --preset %-13s %s\n  %22s (%s)\n", a->presets[i].name, a->presets[i].help,
                "", a->presets[i].params);
}

void cli_print_algos(FILE *f, int gru4rec)
{
    for (int i = 0; i < sr_algo_count(); i++) {
        const sr_algo_info *a = sr_algo_at(i);
        if (!strcmp(a->name, "gru4rec") == !!gru4rec) {
            fputc('\n', f);
            cli_print_algo(f, a);
        }
    }
}

/* The value `spec` gives to parameter p last (trimmed into out), or 0. */
static int spec_value(const sr_param_info *p, const char *spec, char *out, size_t n)
{
    int found = 0;
    for (const char *s = spec; s && *s;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        if (eq) {
            const char *a = s, *z = eq;
            while (a < z && (*a == ' ' || *a == '\t'))
                a++;
            while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
                z--;
            size_t kl = (size_t)(z - a);
            if ((strlen(p->name) == kl && !strncmp(a, p->name, kl)) ||
                (p->alias && strlen(p->alias) == kl && !strncmp(a, p->alias, kl))) {
                const char *v = eq + 1, *ve = s + len;
                while (v < ve && (*v == ' ' || *v == '\t'))
                    v++;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                snprintf(out, n, "%.*s", (int)(ve - v), v);
                found = 1;
            }
        }
        s += len + (end ? 1 : 0);
    }
    return found;
}

void cli_effective_params(const sr_algo_info *a, const char *spec, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < a->n_params && used < n; i++) {
        char v[256];
        if (!spec_value(&a->params[i], spec, v, sizeof v))
            snprintf(v, sizeof v, "%s", a->params[i].def);
        int w = snprintf(buf + used, n - used, "%s%s=%s", i ? "," : "", a->params[i].name, v);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

void cli_algo_names(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < sr_algo_count() && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", sr_algo_at(i)->name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
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

/* ---- JSON ----------------------------------------------------------------------------- */

static json_t *must(json_t *j)
{
    if (!j) {
        fputs("sessrec: out of memory\n", stderr);
        abort();
    }
    return j;
}

json_t *cli_json_real(const char *cmd, const char *what, double v)
{
    if (isfinite(v))
        return must(json_real(v));
    fprintf(stderr, "sessrec %s: warning: %s is %s; written as null\n", cmd, what,
            isnan(v) ? "not a number" : "infinite");
    return must(json_null());
}

json_t *cli_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    /* not UTF-8: bytes >= 0x80 become '?' */
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (!t)
        return must(NULL);
    for (size_t i = 0; i <= n; i++)
        t[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
    j = must(json_string(t));
    free(t);
    return j;
}

json_t *cli_json_metrics(const char *cmd, const sr_eval_result *r)
{
    json_t *a = must(json_array());
    for (int c = 0; c < r->n_cutoffs; c++) {
        char w[3][48];
        snprintf(w[0], sizeof w[0], "Recall@%d", r->cutoffs[c]);
        snprintf(w[1], sizeof w[1], "MRR@%d", r->cutoffs[c]);
        snprintf(w[2], sizeof w[2], "NDCG@%d", r->cutoffs[c]);
        json_t *o = must(json_object());
        json_object_set_new(o, "cutoff", must(json_integer(r->cutoffs[c])));
        json_object_set_new(o, "recall", cli_json_real(cmd, w[0], r->recall[c]));
        json_object_set_new(o, "mrr", cli_json_real(cmd, w[1], r->mrr[c]));
        json_object_set_new(o, "ndcg", cli_json_real(cmd, w[2], r->ndcg[c]));
        json_array_append_new(a, o);
    }
    return a;
}

void cli_json_eval(const char *cmd, json_t *obj, const sr_eval_result *r)
{
    double per_s = r->seconds > 0 ? (double)r->n_predictions / r->seconds : 0;
    json_object_set_new(obj, "n_predictions", must(json_integer(r->n_predictions)));
    json_object_set_new(obj, "n_skipped", must(json_integer(r->n_skipped)));
    json_object_set_new(obj, "seconds", cli_json_real(cmd, "seconds", r->seconds));
    json_object_set_new(obj, "predictions_per_sec", cli_json_real(cmd, "predictions/s", per_s));
    json_object_set_new(obj, "metrics", cli_json_metrics(cmd, r));
}

int cli_json_print(const char *cmd, json_t *obj)
{
    int rc = json_dumpf(obj, stdout, JSON_PRESERVE_ORDER) != 0 || fputc('\n', stdout) == EOF;
    json_decref(obj);
    fflush(stdout);
    return rc ? cli_fail(cmd, "cannot write the JSON output") : 0;
}

int cli_check_skipped(const char *cmd, const char *what, int64_t rows, const sr_eval_result *r)
{
    if (r->n_skipped > 0 && r->n_predictions == 0)
        return cli_fail(cmd, "%s: all %lld test rows with an item skipped as unknown to the "
                        "model: no prediction left (is the model trained on this data?)", what,
                        (long long)r->n_skipped);
    if (rows > 0 && (double)r->n_skipped > 0.05 * (double)rows)
        fprintf(stderr, "sessrec %s: warning: %s: %lld of %lld test rows (%.1f%%) skipped as "
                "unknown to the model (is the model trained on this data?)\n", cmd, what,
                (long long)r->n_skipped, (long long)rows,
                100.0 * (double)r->n_skipped / (double)rows);
    return 0;
}
