/*
 * cmd_synth.c - `sessrec synth`: writes a synthetic YOOCHOOSE-like click log
 * (the library's sr_synth_run) with a progress bar and a closing summary.
 * The data goes to the file (or stdout with -o -); everything else to stderr,
 * except the summary, which goes to stdout when the data does not.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sessrec synth -o FILE [--clicks N] [--items N] [--seed S] [--threads N] [--quiet]\n"
            "\n"
            "Writes a synthetic click log in the raw YOOCHOOSE format\n"
            "(SessionId,Timestamp,ItemId,Category; e.g. 1,2014-04-07T10:51:09.277Z,214536502,0):\n"
            "sessions that follow shopping intents through a sparse graph of typical next\n"
            "items, Zipf-like item popularity, YOOCHOOSE-like session lengths, six months of\n"
            "timestamps (2014-04-01 .. 2014-09-30) with a daily rhythm. See docs/synth.md.\n"
            "\n"
            "options:\n"
            "  -o, --output FILE   output file, written atomically; '-' = stdout\n"
            "  --clicks N          number of clicks (lines) to write, exactly (default 1000000;\n"
            "                      the real file has 33003944)\n"
            "  --items N           catalogue size (default: scaled with clicks, 57500 at\n"
            "                      33M clicks of which ~52K occur, 16900 at 1M)\n"
            "  --seed S            random seed (default 1); the same seed, clicks and items\n"
            "                      give the same bytes whatever the thread count\n"
            "  --threads N         generator threads (default 0 = all cores)\n"
            "  --layout L          the same clicks in another file layout (a recipe for each\n"
            "                      in docs/input-formats.md): yoochoose (default), tsv\n"
            "                      (GRU4Rec), csv (UUID sessions, sku-N items, ISO times),\n"
            "                      retailrocket (events.csv: visitors, ms times, views plus an\n"
            "                      addtocart row for every 8th click), rees46, diginetica\n"
            "  --quiet             no progress bar and no summary\n"
            "  -h, --help          this text\n");
}

typedef struct prog {
    cli_progress bar;
} prog;

static void on_progress(int64_t done, int64_t total, void *ud)
{
    prog *p = ud;
    char extra[64];
    snprintf(extra, sizeof extra, "%lld / %lld clicks", (long long)done, (long long)total);
    cli_progress_update(&p->bar, total > 0 ? (double)done / (double)total : 1.0, extra);
}

int cmd_synth(int argc, char **argv)
{
    const char *out = NULL;
    int quiet = 0;
    sr_synth_opts o = sr_synth_default_opts();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
            continue;
        }
        int known = !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--clicks") ||
                    !strcmp(a, "--items") || !strcmp(a, "--seed") || !strcmp(a, "--threads") ||
                    !strcmp(a, "--layout");
        if (!known) {
            cli_fail("synth", "unknown argument '%s' (see sessrec synth --help)", a);
            return 2;
        }
        if (!v)
            return cli_fail("synth", "%s needs a value", a);
        i++;
        int64_t n;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out = v;
        } else if (!strcmp(a, "--clicks")) {
            if (cli_int64("synth", a, v, 1, 100000000000LL, &o.clicks))
                return 1;
        } else if (!strcmp(a, "--items")) {
            if (cli_int64("synth", a, v, 1, 10000000, &o.items))
                return 1;
        } else if (!strcmp(a, "--seed")) {
            if (cli_int64("synth", a, v, 0, INT64_MAX, &n))
                return 1;
            o.seed = (uint64_t)n;
        } else if (!strcmp(a, "--threads")) {
            if (cli_int("synth", a, v, 0, 1024, &o.threads))
                return 1;
        } else if (!strcmp(a, "--layout")) {
            static const char *const names[] = {"yoochoose", "tsv", "csv", "retailrocket",
                                                "rees46", "diginetica"};
            int k = -1;
            for (int j = 0; j < 6; j++)
                if (!strcmp(v, names[j]))
                    k = j;
            if (k < 0)
                return cli_fail("synth", "--layout: expected yoochoose, tsv, csv, retailrocket, "
                                "rees46 or diginetica, got '%s'", v);
            o.layout = (sr_synth_layout)k;
        }
    }
    if (!out) {
        usage(stderr);
        return cli_fail("synth", "missing -o FILE");
    }

    prog p;
    cli_progress_init(&p.bar, "synth");
    sr_synth_report rep;
    sr_error err = {0};
    sr_status st = sr_synth_run(out, &o, quiet ? NULL : on_progress, &p, &rep, &err);
    if (st != SR_OK)
        return cli_fail_err("synth", &err);
    if (!quiet) {
        if (p.bar.tty)
            fprintf(stderr, "\r\033[K"); /* the summary replaces the bar */
        FILE *sf = strcmp(out, "-") ? stdout : stderr;
        double mb = (double)rep.bytes / 1e6;
        fprintf(sf,
                "wrote %s: %lld clicks, %lld sessions (%.2f clicks/session), %lld distinct items "
                "(catalogue %lld), %.1f MB in %.2f s (%.0f MB/s)\n",
                strcmp(out, "-") ? out : "<stdout>", (long long)rep.clicks,
                (long long)rep.sessions, (double)rep.clicks / (double)rep.sessions,
                (long long)rep.items_seen, (long long)rep.items, mb,
                rep.seconds, rep.seconds > 0 ? mb / rep.seconds : 0.0);
    }
    return 0;
}
