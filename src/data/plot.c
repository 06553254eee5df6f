/*
 * plot.c - SVG chart of the session-length distribution of one or more splits
 * (see plot.h). The SVG is built in memory, then written atomically.
 *
 * Must never print, exit, or read anything but the splits given; every piece
 * of caller text (split names) is XML-escaped before it reaches the file.
 *
 * Layout (pixels, y downwards):
 *   title, subtitle
 *   one marker row per split: median triangle and mean label
 *   plot area: grouped bars, y = share of sessions (%), x = length bins 1..29, 30+
 *   x tick labels, x axis label
 */
#include "data/plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NB SR_PLOT_LEN_BINS

/* Tableau 10: distinguishable, colour-blind-tolerant, prints well. */
static const char *const palette[SR_PLOT_MAX_SPLITS] = {
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
};

static const char *const font = "DejaVu Sans, Helvetica, Arial, sans-serif";

/* ---- text helpers --------------------------------------------------------- */

static void bprintf(sr_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void bprintf(sr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sr_buf_reserve(b, (size_t)n + 1);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends s with XML special characters escaped; control characters (invalid
 * in XML 1.0) become '?'. */
static void besc(sr_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': sr_buf_append(b, "&amp;", 5); break;
        case '<': sr_buf_append(b, "&lt;", 4); break;
        case '>': sr_buf_append(b, "&gt;", 4); break;
        case '"': sr_buf_append(b, "&quot;", 6); break;
        case '\'': sr_buf_append(b, "&#39;", 5); break;
        default:
            if (c < 0x20 && c != '\t')
                c = '?';
            sr_buf_append(b, &c, 1);
        }
    }
}

/* 1234567 -> "1,234,567". buf has >= 32 bytes. */
static const char *fmt_int(char *buf, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    int j = 0;
    if (v < 0)
        buf[j++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = 0;
    return buf;
}

/* Rough text width for layout: DejaVu Sans averages ~0.6 em per character. */
static double text_w(const char *s, double size) { return 0.6 * size * (double)strlen(s); }

/* A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about 6 ticks
 * up to vmax. */
static double nice_step(double vmax)
{
    double raw = vmax / 6.0;
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    double s = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
    return s * p;
}

/* ---- the chart --------------------------------------------------------------- */

typedef struct split_sum {
    int64_t counts[NB];   /* sessions per bin: bin b holds length b+1; last bin: >= NB */
    double share[NB];     /* percent of the split's sessions */
    sr_stats st;
} split_sum;

/* Where things go. Main panel: bars; tail panel: log-log survival curves. */
typedef struct geom {
    double W, H;
    double x0, x1;        /* main panel, left and right */
    double tx0, tx1;      /* tail panel */
    double rows_top, row_h;
    double pt, ph, pb;    /* plot top, height, bottom (both panels) */
} geom;

#define TAIL_K 48         /* points per survival curve */

/* Share of sessions with at least L clicks, for L on a log grid from 1 to the
 * longest session, on log-log axes: the tail that the bars squash to nothing. */
static void draw_tail(sr_buf *out, const geom *g, const sr_split *const *splits,
                      const split_sum *sum, int n, int64_t longest)
{
    int xd = 1, yd = 2;                       /* decades on each axis */
    while (xd < 9 && pow(10.0, xd) < (double)longest)
        xd++;
    for (int k = 0; k < n; k++)
        while (yd < 9 && sum[k].st.sessions > 0 && pow(10.0, -yd) > 1.0 / (double)sum[k].st.sessions)
            yd++;
    const double tw = g->tx1 - g->tx0;
#define TXP(L) (g->tx0 + log10((double)(L)) / xd * tw)
#define TYP(f) (g->pt - log10(f) / yd * g->ph)

    bprintf(out, "<g font-size=\"11\" fill=\"#555\">\n");
    for (int d = 0; d <= yd; d++) {
        double y = g->pt + g->ph * d / yd;
        bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                g->tx0, y, g->tx1, y, d == yd ? "#888" : "#e6e6e6");
        bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f%%</text>\n",
                g->tx0 - 6, y + 4, d > 2 ? d - 2 : 0, pow(10.0, 2 - d));
    }
    for (int d = 0; d <= xd; d++) {
        double x = g->tx0 + tw * d / xd;
        bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                x, g->pt, x, g->pb + 4, d == 0 ? "#888" : "#e6e6e6");
        bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x,
                g->pb + 17, pow(10.0, d));
        for (int m = 2; d < xd && m <= 9; m++) {   /* minor ticks 2..9 x 10^d */
            double xm = g->tx0 + tw * (d + log10((double)m)) / xd;
            bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
                    xm, g->pb, xm, g->pb + 3);
        }
    }
    bprintf(out, "</g>\n");
    bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\" fill=\"#333\">"
                 "Tail: sessions with \xe2\x89\xa5 L clicks</text>\n", g->tx0 - 40, g->pt - 10);
    bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#333\" text-anchor=\"middle\">"
                 "L (clicks, log scale)</text>\n", (g->tx0 + g->tx1) / 2, g->pb + 42);

    /* Log-spaced integer thresholds t[0] = 1 < ... < t[nt-1] = longest. */
    int64_t t[TAIL_K];
    int nt = 0;
    for (int i = 0; i < TAIL_K; i++) {
        int64_t v = (int64_t)floor(pow((double)longest, (double)i / (TAIL_K - 1)) + 0.5);
        if (i == TAIL_K - 1)
            v = longest;
        if (v >= 1 && (nt == 0 || v > t[nt - 1]))
            t[nt++] = v;
    }
    for (int k = 0; k < n; k++) {
        const sr_split *s = splits[k];
        if (s->n_sessions == 0 || nt == 0)
            continue;
        int64_t cnt[TAIL_K] = {0};   /* sessions with t[j] <= length < t[j+1] */
        for (int64_t i = 0; i < s->n_sessions; i++) {
            int64_t len = s->offsets[i + 1] - s->offsets[i];
            if (len < 1)
                continue;
            int lo = 0, hi = nt - 1;  /* largest j with t[j] <= len */
            while (lo < hi) {
                int mid = (lo + hi + 1) / 2;
                if (t[mid] <= len) lo = mid; else hi = mid - 1;
            }
            cnt[lo]++;
        }
        bprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                     "stroke-linejoin=\"round\" points=\"", palette[k]);
        int64_t ge = 0;
        double px[TAIL_K], py[TAIL_K];
        for (int j = nt - 1; j >= 0; j--) {
            ge += cnt[j];
            px[j] = fmin(TXP(t[j]), g->tx1);   /* beyond 10^9 clicks or sessions: */
            py[j] = ge ? fmin(TYP((double)ge / (double)s->n_sessions), g->pb) : -1;   /* clamp */
        }
        for (int j = 0; j < nt; j++)
            if (py[j] >= 0)
                bprintf(out, "%.1f,%.1f ", px[j], py[j]);
        bprintf(out, "\"/>\n");
    }
#undef TXP
#undef TYP
}

sr_status sr_plot_lengths_svg_buf(sr_buf *out, const sr_split *const *splits,
                                  const char *const *names, int n, sr_error *err)
{
    if (!out || !splits || !names || n < 1)
        return sr_error_set(err, SR_ERR_ARG, "plot: need at least one split (got %d)", n);
    if (n > SR_PLOT_MAX_SPLITS)
        return sr_error_set(err, SR_ERR_ARG, "plot: at most %d splits in one chart, got %d",
                            SR_PLOT_MAX_SPLITS, n);
    split_sum sum[SR_PLOT_MAX_SPLITS];
    memset(sum, 0, sizeof sum);
    double ymax_data = 0;
    int64_t longest = 1;
    for (int k = 0; k < n; k++) {
        sr_error e2;
        if (!splits[k] || !names[k])
            return sr_error_set(err, SR_ERR_ARG, "plot: split %d is NULL", k);
        if (sr_split_stats(splits[k], &sum[k].st, &e2) != SR_OK)
            return sr_error_set(err, e2.status, "plot: %s: %s", names[k], e2.msg);
        const sr_split *s = splits[k];
        for (int64_t i = 0; i < s->n_sessions; i++) {
            int64_t len = s->offsets[i + 1] - s->offsets[i];
            if (len >= 1)
                sum[k].counts[len >= NB ? NB - 1 : len - 1]++;
        }
        for (int b = 0; b < NB; b++) {
            sum[k].share[b] = s->n_sessions ? 100.0 * (double)sum[k].counts[b] / (double)s->n_sessions : 0;
            if (sum[k].share[b] > ymax_data)
                ymax_data = sum[k].share[b];
        }
        if (sum[k].st.len_q[4] > longest)
            longest = sum[k].st.len_q[4];
    }

    geom g;
    g.W = 1200;
    g.x0 = 76;
    g.x1 = 884;
    g.tx0 = 952;
    g.tx1 = g.W - 28;
    g.rows_top = 70;
    g.row_h = 18;
    g.pt = g.rows_top + g.row_h * n + 14;
    g.ph = 360;
    g.pb = g.pt + g.ph;
    g.H = g.pb + 62;
    const double x0 = g.x0, x1 = g.x1, pt = g.pt, ph = g.ph, pb = g.pb;
    const double gw = (x1 - x0) / NB;                /* group width */
    const double inner = gw * 0.82;
    const double bw = inner / n;                     /* bar slot width */
    const double gap = bw > 5 ? 1 : 0;
    if (ymax_data <= 0)
        ymax_data = 1;
    const double step = nice_step(ymax_data * 1.05);
    const double ymax = ceil(ymax_data * 1.05 / step) * step;
#define YPIX(v) (pb - (v) / ymax * ph)
#define BINX(b) (x0 + gw * ((b) + 0.5))   /* centre of bin b */

    char nb1[32], nb2[32];
    bprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"%s\">\n",
            g.W, g.H, g.W, g.H, font);
    bprintf(out, "<title>Session length distribution</title>\n");
    bprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", g.W, g.H);

    /* Title and subtitle. */
    bprintf(out, "<text x=\"%.1f\" y=\"32\" font-size=\"20\" font-weight=\"bold\" fill=\"#222\">"
                 "Session length distribution</text>\n", x0);
    bprintf(out, "<text x=\"%.1f\" y=\"54\" font-size=\"13\" fill=\"#666\">Share of each split&#8217;s "
                 "sessions by number of clicks; the last bar gathers sessions of %d or more clicks "
                 "(longest: %s).</text>\n", x0, NB, fmt_int(nb1, longest));

    /* Grid lines and y ticks. */
    bprintf(out, "<g font-size=\"11\" fill=\"#555\" text-anchor=\"end\">\n");
    for (int i = 0;; i++) {
        double v = step * i;
        if (v > ymax + step * 1e-9)
            break;
        double y = YPIX(v);
        bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                x0, y, x1, y, i == 0 ? "#888" : "#e6e6e6");
        /* Whole percents print as such; 2.5% steps keep their decimal. */
        if (fabs(v - floor(v + 0.5)) < 1e-9)
            bprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%.0f%%</text>\n", x0 - 8, y + 4, v);
        else
            bprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%.*f%%</text>\n", x0 - 8, y + 4,
                    step < 0.1 ? 2 : 1, v);
    }
    bprintf(out, "</g>\n");
    bprintf(out, "<text transform=\"translate(18 %.1f) rotate(-90)\" font-size=\"13\" fill=\"#333\" "
                 "text-anchor=\"middle\">share of sessions</text>\n", pt + ph / 2);
    /* The "30+" bin is not one length: set it apart. */
    bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#bbbbbb\" "
                 "stroke-dasharray=\"2 3\"/>\n", x0 + gw * (NB - 1), pt, x0 + gw * (NB - 1), pb);

    /* Mean (dashed line from the split's marker row down to the axis, behind
     * the bars) and median (triangle in the marker row over its bin). */
    double mean_x[SR_PLOT_MAX_SPLITS], med_x[SR_PLOT_MAX_SPLITS];
    for (int k = 0; k < n; k++) {
        double xm = x0 + gw * (sum[k].st.len_mean - 0.5);
        if (xm < BINX(0)) xm = BINX(0);
        if (xm > BINX(NB - 1)) xm = BINX(NB - 1);
        int64_t med = sum[k].st.len_q[2];
        mean_x[k] = xm;
        med_x[k] = BINX(med < 1 ? 0 : med >= NB ? NB - 1 : med - 1);
        if (sum[k].st.sessions == 0)
            continue;
        double ry = g.rows_top + g.row_h * k + g.row_h / 2;
        bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                     "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n",
                xm, ry - 5, xm, pb, palette[k]);
    }

    /* Bars: one group per bin, one bar per split inside it. With a single
     * split the taller bars carry their value. */
    for (int k = 0; k < n; k++) {
        bprintf(out, "<g fill=\"%s\">\n", palette[k]);
        for (int b = 0; b < NB; b++) {
            if (!sum[k].counts[b])
                continue;
            double x = x0 + gw * b + (gw - inner) / 2 + bw * k;
            double y = YPIX(sum[k].share[b]);
            double h = pb - y;
            if (h < 0.5)
                h = 0.5, y = pb - 0.5;   /* a present but tiny share stays visible */
            bprintf(out, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\">"
                         "<title>", x, y, bw - gap, h);
            besc(out, names[k]);
            if (b == NB - 1)
                bprintf(out, ": %d+ clicks", NB);
            else
                bprintf(out, ": %d click%s", b + 1, b ? "s" : "");
            bprintf(out, ": %s sessions (%.2f%%)</title></rect>\n", fmt_int(nb1, sum[k].counts[b]),
                    sum[k].share[b]);
        }
        bprintf(out, "</g>\n");
    }
    if (n == 1) {
        bprintf(out, "<g font-size=\"10\" fill=\"#444\" text-anchor=\"middle\" stroke=\"#ffffff\" "
                     "stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\">\n");
        for (int b = 0; b < NB; b++) {
            double v = sum[0].share[b];
            if (v < 1.0)
                continue;
            bprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%.*f%%</text>\n", BINX(b), YPIX(v) - 4,
                    v >= 9.95 ? 0 : 1, v);
        }
        bprintf(out, "</g>\n");
    }

    /* X ticks and labels. */
    bprintf(out, "<g font-size=\"11\" fill=\"#555\" text-anchor=\"middle\">\n");
    for (int b = 0; b < NB; b++) {
        double cx = BINX(b);
        bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
                cx, pb, cx, pb + 4);
        if (b == NB - 1)
            bprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%d+</text>\n", cx, pb + 17, NB);
        else
            bprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%d</text>\n", cx, pb + 17, b + 1);
    }
    bprintf(out, "</g>\n");
    bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#333\" text-anchor=\"middle\">"
                 "session length (clicks)</text>\n", (x0 + x1) / 2, pb + 42);

    /* Marker rows. Median label to the left, mean label to the right: lengths
     * are right-skewed, mean >= median. Labels get a white halo so the other
     * splits' mean lines do not cross them. */
    for (int k = 0; k < n; k++) {
        const sr_stats *st = &sum[k].st;
        if (st->sessions == 0)
            continue;
        double ry = g.rows_top + g.row_h * k + g.row_h / 2;
        double xm = mean_x[k], xd = med_x[k];
        bprintf(out, "<path d=\"M%.1f %.1f l-5 -8 h10 z\" fill=\"%s\"/>\n", xd, ry + 4, palette[k]);
        bprintf(out, "<g fill=\"%s\" font-size=\"11\" stroke=\"#ffffff\" stroke-width=\"3\" "
                     "stroke-linejoin=\"round\" paint-order=\"stroke\">\n", palette[k]);
        bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">median %lld</text>\n",
                (xd < xm ? xd : xm) - 8, ry + 4, (long long)st->len_q[2]);
        bprintf(out, "<text x=\"%.1f\" y=\"%.1f\">mean %.2f</text>\n",
                (xd > xm ? xd : xm) + 8, ry + 4, st->len_mean);
        bprintf(out, "</g>\n");
    }

    draw_tail(out, &g, splits, sum, n, longest);

    /* Legend, top right of the bar panel (the tail is low there). */
    char lines[SR_PLOT_MAX_SPLITS][192];
    double lw = text_w("- - - mean    v median", 11);
    for (int k = 0; k < n; k++) {
        const sr_stats *st = &sum[k].st;
        snprintf(lines[k], sizeof lines[k], "%s sessions, mean %.2f, median %lld, p99 %lld, max %s",
                 fmt_int(nb1, st->sessions), st->len_mean, (long long)st->len_q[2],
                 (long long)st->len_p99, fmt_int(nb2, st->len_q[4]));
        double w = text_w(names[k], 12) + 10 + text_w(lines[k], 11);
        if (w > lw)
            lw = w;
    }
    double lbw = lw + 44, lbh = 20.0 * (n + 1) + 12;
    double lx = x1 - lbw - 6, ly = pt + 6;
    bprintf(out, "<g>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\" "
                 "fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#cccccc\"/>\n", lx, ly, lbw, lbh);
    for (int k = 0; k < n; k++) {
        double y = ly + 10 + 20.0 * k;
        bprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" rx=\"2\" fill=\"%s\"/>\n",
                lx + 10, y + 1, palette[k]);
        bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#222\">"
                     "<tspan font-weight=\"bold\">", lx + 32, y + 13);
        besc(out, names[k]);
        bprintf(out, "</tspan><tspan fill=\"#555\" font-size=\"11\" dx=\"8\">");
        besc(out, lines[k]);
        bprintf(out, "</tspan></text>\n");
    }
    {
        double y = ly + 10 + 20.0 * n;
        bprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" "
                     "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n", lx + 10, y + 8, lx + 32, y + 8);
        bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#555\">mean</text>\n",
                lx + 38, y + 12);
        bprintf(out, "<path d=\"M%.1f %.1f l-5 -8 h10 z\" fill=\"#555\"/>\n", lx + 88, y + 12);
        bprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#555\">median</text>\n",
                lx + 98, y + 12);
    }
    bprintf(out, "</g>\n</svg>\n");
#undef YPIX
#undef BINX
    if (out->oom)
        return sr_error_set(err, SR_ERR_NOMEM, "plot: out of memory building the SVG");
    return SR_OK;
}

sr_status sr_plot_lengths_svg(const char *path, const sr_split *const *splits,
                              const char *const *names, int n, sr_error *err)
{
    sr_buf b = {0};
    sr_status st = sr_plot_lengths_svg_buf(&b, splits, names, n, err);
    if (st == SR_OK)
        st = sr_write_file_atomic(path, b.data, b.len, err);
    sr_buf_free(&b);
    return st;
}
