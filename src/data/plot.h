/*
 * plot.h - internal side of the SVG charts of prepared splits (used by `sessrec stats --plot`).
 * Writes standalone SVG 1.1 (xmlns, viewBox, white background, no scripts, no
 * external fonts or links). Never prints; the only I/O is the atomic write of
 * the finished file.
 */
#ifndef SR_PLOT_H
#define SR_PLOT_H

#include "sessrec.h"
#include "util/util.h"

/* Session lengths 1..SR_PLOT_LEN_BINS-1 get one bin each; the last bin holds
 * every session of SR_PLOT_LEN_BINS clicks or more (labelled "30+"). */
#define SR_PLOT_LEN_BINS 30
/* At most SR_PLOT_MAX_SPLITS (sessrec.h) splits in one chart, one colour each. */

/* Grouped bar chart of the session-length distribution: for each bin, one bar
 * per split with the share of that split's sessions (percent). The mean (dashed
 * line) and median (triangle) of each split are marked; the legend names each
 * split with its session count, mean, median, p99 and longest session. A side
 * panel draws, on log-log axes, the share of sessions with at least L clicks
 * (the tail the bars squash). 1200 px wide, 506 + 18n px high. Each bar is a
 * <rect class="bar"> with a <title> tooltip; bins with no sessions get no bar.
 * splits: (n) splits; names: (n) labels shown in the legend (escaped).
 * Appends the SVG text to *out (caller frees with sr_buf_free). */
sr_status sr_plot_lengths_svg_buf(sr_buf *out, const sr_split *const *splits,
                                  const char *const *names, int n, sr_error *err);
/* Same, written atomically to `path`: sr_plot_lengths_svg, public in sessrec.h. */

#endif
