/*
 * cmd_synth.c - `sessrec synth`: writes a synthetic YOOCHOOSE-like click log
 * (the library's sr_synth_run) with a progress bar and a closing summary.
 * The data goes to the file (or stdout with -o -); everything else to stderr,
 * except the summary, which goes to stdout when the data does not.
 */
#include "cli.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sessrec synth -o FILE [options]\n"
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
            "  -q, --quiet         no progress bar and no summary\n"
            "  --json              the summary as one JSON object (docs/json.md)\n"
            "  -h, --help          this text\n");
}

static const cli_opt synth_options[] = {
    {"output", 'o', NULL, "FILE", ""},
    {"clicks", 0, NULL, "N", ""},
    {"items", 0, NULL, "N", ""},
    {"seed", 0, NULL, "S", ""},
    {"layout", 0, NULL, "L", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct synth_args {
    const char *out;
    sr_synth_opts o;
} synth_args;

static int on_option(void *ud, const cli_opt *opt, const char *v)
{
    synth_args *a = ud;
    int64_t n;
    if (!strcmp(opt->name, "output")) {
        a->out = v;
    } else if (!strcmp(opt->name, "clicks")) {
        return cli_int64("synth", "--clicks", v, 1, 100000000000LL, &a->o.clicks);
    } else if (!strcmp(opt->name, "items")) {
        return cli_int64("synth", "--items", v, 1, 10000000, &a->o.items);
    } else if (!strcmp(opt->name, "layout")) {
        static const char *const names[] = {"yoochoose", "tsv", "csv", "retailrocket",
                                             "rees46", "diginetica"};
        int k = -1;
        for (int j = 0; j < 6; j++)
            if (!strcmp(v, names[j]))
                k = j;
        if (k < 0)
            return cli_fail("synth", "--layout: expected yoochoose, tsv, csv, retailrocket, "
                            "rees46 or diginetica, got '%s'", v);
        a->o.layout = (sr_synth_layout)k;
    } else {
        if (cli_int64("synth", "--seed", v, 0, INT64_MAX, &n))
            return 1;
        a->o.seed = (uint64_t)n;
    }
    return 0;
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
    synth_args sa;
    sa.out = NULL;
    sa.o = sr_synth_default_opts();
    const cli_opt *const tables[] = {synth_options, cli_threads_option, cli_common_options, NULL};
    cli_cmd cc = {"synth", "-o FILE [options]", usage, tables, on_option, &sa};
    cli_common com = {0};
    char **pos;
    int npos;
    int prc = cli_parse(&cc, argc, argv, &com, &pos, &npos);
    if (prc >= 0)
        return prc;
    if (npos) {
        prc = cli_usage_error(&cc, "unexpected argument '%s'", pos[0]);
        free(pos);
        return prc;
    }
    free(pos);
    const char *out = sa.out;
    sr_synth_opts o = sa.o;
    o.threads = com.threads;
    int quiet = com.quiet || com.json;
    if (!out)
        return cli_usage_error(&cc, "missing -o FILE");
    if (com.json && !strcmp(out, "-"))
        return cli_usage_error(&cc, "--json with -o -: the clicks go to stdout");

    prog p;
    cli_progress_init(&p.bar, "synth");
    sr_synth_report rep;
    sr_error err = {0};
    sr_status st = sr_synth_run(out, &o, quiet ? NULL : on_progress, &p, &rep, &err);
    if (st != SR_OK)
        return cli_fail_err("synth", &err);
    if (com.json) {
        json_t *j = json_object();
        json_object_set_new(j, "output", cli_json_text(out));
        json_object_set_new(j, "clicks", json_integer(rep.clicks));
        json_object_set_new(j, "sessions", json_integer(rep.sessions));
        json_object_set_new(j, "items_seen", json_integer(rep.items_seen));
        json_object_set_new(j, "items", json_integer(rep.items));
        json_object_set_new(j, "bytes", json_integer(rep.bytes));
        json_object_set_new(j, "seconds", cli_json_real("synth", "seconds", rep.seconds));
        return cli_json_print("synth", j);
    }
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
