/*
 * sessrec.c - the command-line program: dispatches to tools/cmd_<name>.c.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} commands[] = {
    {"synth", cmd_synth, "write a synthetic YOOCHOOSE-like click log"},
    {"prepare", cmd_prepare, "read a raw log, clean it, split it by time, save splits"},
    {"stats", cmd_stats, "statistics and session-length chart of prepared splits"},
    {"train", cmd_train, "train a model (GRU4Rec or a baseline) on a split"},
    {"eval", cmd_eval, "next-item Recall/MRR/NDCG of a model on a test split"},
    {"recommend", cmd_recommend, "top-k next items for sessions"},
    {"compare", cmd_compare, "train and evaluate several algorithms, one table"},
    {"serve", cmd_serve, "HTTP server: recommendations for live sessions"},
    {"tune", cmd_tune, "search hyperparameters with Optuna (needs python3 + optuna)"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "sessrec %s - session-based recommendation\n\n"
               "usage: sessrec <command> [options]     (sessrec <command> --help for details)\n"
               "Every command takes -q/--quiet and --json; those that read click logs take\n"
               "the same reading options (--format, --session-key ...).\n\n"
               "commands:\n", SR_VERSION_STRING);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "  %-10s %s\n  %-10s %s\n", "help", "this text (help <command>: that command's help)",
            "version", "print the version");
    fprintf(f, "\nA typical run:\n"
               "  sessrec synth -o clicks.dat --clicks 2000000\n"
               "  sessrec prepare clicks.dat -o data/ --valid-days 1\n"
               "  sessrec stats data/ --plot lengths.svg\n"
               "  sessrec train data/train_full -o model.srm --preset rsc15\n"
               "  sessrec eval model.srm data/test\n"
               "  sessrec recommend model.srm 214604583 214602482\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "help") || !strcmp(c, "--help") || !strcmp(c, "-h")) {
        if (argc >= 3) {
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (!strcmp(argv[2], commands[i].name)) {
                    char *hv[] = {argv[2], "--help", NULL};
                    return cli_finish(commands[i].fn(2, hv));
                }
            fprintf(stderr, "sessrec: unknown command '%s'\n", argv[2]);
            return 2;
        }
        usage(stdout);
        return cli_finish(0);
    }
    if (!strcmp(c, "version") || !strcmp(c, "--version")) {
        printf("sessrec %s\n", SR_VERSION_STRING);
        return cli_finish(0);
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(c, commands[i].name))
            return cli_finish(commands[i].fn(argc - 1, argv + 1));
    fprintf(stderr, "sessrec: unknown command '%s' (try 'sessrec help')\n", c);
    return 2;
}
