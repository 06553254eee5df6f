/*
 * opts.c - the option parser of every subcommand: option tables turned into
 * getopt_long's arrays, one wording for every option error. Never exits:
 * returns the status the command must return.
 */
#define _POSIX_C_SOURCE 200809L
#include "opts.h"
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const cli_opt cli_common_options[] = {
    {"help", 'h', NULL, NULL, "this text"},
    {"quiet", 'q', NULL, NULL, "no progress messages (errors and warnings stay)"},
    {"json", 0, NULL, NULL, "print one JSON object (docs/json.md) instead of text"},
    {NULL, 0, NULL, NULL, NULL},
};

const cli_opt cli_threads_option[] = {
    {"threads", 0, NULL, "N", "threads (default 0 = all cores)"},
    {NULL, 0, NULL, NULL, NULL},
};

int cli_opt_in(const cli_opt *o, const cli_opt *table)
{
    for (const cli_opt *t = table; t->name; t++)
        if (t == o)
            return 1;
    return 0;
}

int cli_usage_error(const cli_cmd *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "usage: sessrec %s %s\nsessrec %s: ", c->name, c->synopsis, c->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see sessrec %s --help)\n", c->name);
    return 2;
}

static int unknown(const cli_cmd *c, const char *tok)
{
    const char *eq = strncmp(tok, "--", 2) ? NULL : strchr(tok, '=');
    int n = eq ? (int)(eq - tok) : (int)strlen(tok);
    fprintf(stderr, "sessrec %s: unknown option '%.*s' (see sessrec %s --help)\n", c->name, n, tok,
            c->name);
    return 2;
}

void cli_opts_help(FILE *f, const cli_opt *t, int col)
{
    for (; t->name; t++) {
        char head[96];
        int w = 0;
        if (t->short_name)
            w = snprintf(head, sizeof head, "-%c, --%s", t->short_name, t->name);
        else
            w = snprintf(head, sizeof head, "--%s", t->name);
        if (t->arg && w >= 0 && (size_t)w < sizeof head)
            w += snprintf(head + w, sizeof head - (size_t)w, " %s", t->arg);
        if (t->alias && w >= 0 && (size_t)w < sizeof head)
            snprintf(head + w, sizeof head - (size_t)w, ", -%s%s%s", t->alias, t->arg ? " " : "",
                     t->arg ? t->arg : "");
        if (!*t->help) {
            fprintf(f, "  %s\n", head);
            continue;
        }
        int pad = col - 2;
        fprintf(f, "  %-*s", pad, head);
        if ((int)strlen(head) >= pad)
            fprintf(f, "\n  %-*s", pad, "");
        for (const char *h = t->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n')
                fprintf(f, "  %-*s", pad, "");
        }
        fputc('\n', f);
    }
}

int cli_parse(const cli_cmd *c, int argc, char **argv, cli_common *common, char ***pos,
              int *npos)
{
    /* the rows, flattened; their index + 256 is getopt's val */
    int n = 0;
    for (int t = 0; c->tables[t]; t++)
        for (const cli_opt *o = c->tables[t]; o->name; o++)
            n++;
    const cli_opt **rows = malloc((size_t)(n ? n : 1) * sizeof *rows);
    struct option *lo = calloc((size_t)n + 1, sizeof *lo);
    char *shorts = malloc(3 * (size_t)n + 2);
    char **av = malloc(((size_t)argc + 1) * sizeof *av);
    char **aliased = calloc((size_t)argc + 1, sizeof *aliased);
    *pos = malloc(((size_t)argc + 1) * sizeof **pos);
    *npos = 0;
    int rc = -1;
    if (!rows || !lo || !shorts || !av || !aliased || !*pos) {
        fprintf(stderr, "sessrec %s: out of memory\n", c->name);
        rc = 1;
        goto out;
    }
    size_t ns = 0;
    shorts[ns++] = ':'; /* a missing value is ':', not '?' */
    int k = 0;
    for (int t = 0; c->tables[t]; t++)
        for (const cli_opt *o = c->tables[t]; o->name; o++, k++) {
            rows[k] = o;
            lo[k].name = o->name;
            lo[k].has_arg = o->arg ? required_argument : no_argument;
            lo[k].val = 256 + k;
            if (o->short_name) {
                shorts[ns++] = o->short_name;
                if (o->arg)
                    shorts[ns++] = ':';
            }
        }
    shorts[ns] = 0;

    /* single-dash aliases ("-sk") become their long name; "--" ends options */
    int ended = 0;
    av[0] = argv[0];
    for (int i = 1; i < argc; i++) {
        av[i] = argv[i];
        if (ended || argv[i][0] != '-' || argv[i][1] == '-')
            ended |= !strcmp(argv[i], "--");
        else
            for (int j = 0; j < n; j++)
                if (rows[j]->alias && !strcmp(argv[i] + 1, rows[j]->alias)) {
                    aliased[i] = malloc(strlen(rows[j]->name) + 3);
                    if (!aliased[i]) {
                        rc = 1;
                        goto out;
                    }
                    sprintf(aliased[i], "--%s", rows[j]->name);
                    av[i] = aliased[i];
                }
    }
    av[argc] = NULL;

    opterr = 0;
    optind = 0; /* 0: glibc's full re-initialisation (a second parse in one process) */
    for (;;) {
        int li = -1;
        int ch = getopt_long(argc, av, shorts, lo, &li);
        if (ch == -1)
            break;
        const char *tok = av[optind - 1];
        if (ch == '?') {
            if (optopt >= 256) { /* a flag given a value: --json=1 */
                rc = cli_usage_error(c, "--%s takes no value", rows[optopt - 256]->name);
            } else if (optopt) {
                char s[3] = {'-', (char)optopt, 0};
                rc = unknown(c, s);
            } else {
                rc = unknown(c, tok);
            }
            goto out;
        }
        if (ch == ':') {
            if (optopt >= 256)
                rc = cli_usage_error(c, "--%s needs a value", rows[optopt - 256]->name);
            else
                rc = cli_usage_error(c, "-%c needs a value", optopt);
            goto out;
        }
        const cli_opt *o = NULL;
        if (ch >= 256) {
            o = rows[ch - 256];
            /* the token holding the name: before a separate value */
            if (optarg && optarg == av[optind - 1] && optind >= 2)
                tok = av[optind - 2];
            size_t l = strlen(o->name);
            if (strncmp(tok, "--", 2) || strncmp(tok + 2, o->name, l) ||
                (tok[2 + l] && tok[2 + l] != '=')) {
                rc = unknown(c, tok); /* an abbreviation */
                goto out;
            }
        } else {
            for (int j = 0; j < n && !o; j++)
                if (rows[j]->short_name == ch)
                    o = rows[j];
        }
        if (!o) {
            char s[3] = {'-', (char)ch, 0};
            rc = unknown(c, s);
            goto out;
        }
        if (cli_opt_in(o, cli_common_options)) {
            if (!strcmp(o->name, "help")) {
                c->usage(stdout);
                rc = 0;
                goto out;
            }
            if (common && !strcmp(o->name, "quiet"))
                common->quiet = 1;
            else if (common && !strcmp(o->name, "json"))
                common->json = 1;
            continue;
        }
        if (cli_opt_in(o, cli_threads_option)) {
            if (cli_int(c->name, "--threads", optarg, 0, 4096, common ? &common->threads : &k)) {
                rc = 1;
                goto out;
            }
            continue;
        }
        if (c->fn(c->ud, o, o->arg ? optarg : NULL)) {
            rc = 1;
            goto out;
        }
    }
    for (int i = optind; i < argc; i++) {
        /* operands are argv's own strings (getopt permuted av, not argv) */
        (*pos)[(*npos)++] = av[i];
    }
out:
    for (int i = 0; i < argc; i++)
        free(aliased[i]);
    if (rc != -1) {
        free(*pos);
        *pos = NULL;
        *npos = 0;
    }
    free(rows);
    free(lo);
    free(shorts);
    free(av);
    free(aliased);
    return rc;
}

int cli_parse_one(const cli_cmd *c, int argc, char **argv, cli_common *common, const char *what,
                  const char **operand)
{
    char **pos;
    int npos;
    int prc = cli_parse(c, argc, argv, common, &pos, &npos);
    if (prc >= 0)
        return prc;
    if (npos != 1)
        prc = npos ? cli_usage_error(c, "unexpected argument '%s'", pos[1])
                   : cli_usage_error(c, "missing %s", what);
    else
        *operand = pos[0];
    free(pos);
    return prc;
}
