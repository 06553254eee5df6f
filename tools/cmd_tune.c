/*
 * cmd_tune.c - 'sessrec tune TRAIN [options]': hyperparameter search with
 * Optuna. The C core does not need Python: this command only finds a python3
 * and the sessrec package (python/ of the source tree, or PREFIX/lib/sessrec/python
 * after make install) and execs `python3 -c BOOT` that runs sessrec.tune with the
 * arguments as given. The options are read here first, by the one option
 * parser of every command (the same --help layout, the same usage errors, and
 * --help without Python); the search itself is python/sessrec/tune.py, whose
 * argparse takes the same options (python/tests/test_tune.py checks that the
 * two lists agree). A missing python3, numpy or Optuna is a clear error.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "opts.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "tune"

#ifndef SR_PYTHON
#define SR_PYTHON "python3"
#endif

/* Runs sessrec.tune once the imports it needs are known to be there, so that a
 * missing package is one line naming the Debian package, not a traceback. */
static const char BOOT[] =
    "import sys\n"
    "try:\n"
    "    import numpy, optuna\n"
    "except ImportError as e:\n"
    "    sys.exit('sessrec tune: needs the Python packages numpy and optuna (%s); on Debian: '\n"
    "             'apt-get install python3-numpy python3-optuna' % e)\n"
    "import sessrec.tune\n"
    "sys.exit(sessrec.tune.main(sys.argv[1:]))\n";

static void usage(FILE *f)
{
    fputs("usage: sessrec tune TRAIN [options]\n"
          "\n"
          "Searches the hyperparameters of an algorithm with Optuna (TPE, pruning after each\n"
          "epoch) on a validation part carved from TRAIN by time, and writes the best\n"
          "parameters as a file `sessrec train --params-file` reads. TRAIN: a split file, a\n"
          "prepared directory's train_full, or a click log. Needs python3 with numpy and\n"
          "Optuna (Debian: python3-numpy python3-optuna); the rest of sessrec does not.\n"
          "\n"
          "options:\n"
          "  --algo NAME          algorithm to tune (default gru4rec)\n"
          "  --space FILE|NAME    parameter space: JSON lines in the official GRU4Rec format,\n"
          "                       or a shipped space (default: gru4rec_xe for gru4rec, else\n"
          "                       the algorithm's name)\n"
          "  --preset NAME        the algorithm's preset to start from (trial 0 is its point)\n"
          "  -p, --params SPEC    fixed parameters name=value,... (repeatable)\n"
          "  --trials N           finished trials wanted in the study (50; a resumed study\n"
          "                       counts its own)\n"
          "  --time-budget T      start no trial after T seconds (s, m or h suffix: 90m, 2h)\n"
          "  --metric M           recall or mrr (recall)\n"
          "  --cutoff N           the metric's cutoff (20)\n"
          "  --valid-days D       validation: the sessions ending in the last D days\n"
          "  --valid-share F      validation: this share of the sessions that end last (0.1)\n"
          "  --storage URL        Optuna storage, e.g. sqlite:///study.db (resumable)\n"
          "  --study-name NAME    study name (sessrec-ALGO)\n"
          "  -o, --output FILE    best parameters file (ALGO-best.params)\n"
          "  --seed S             seed of the sampler and of gru4rec (0)\n"
          "  -j, --jobs N         trials run at once, each in its own process (needs\n"
          "                       --storage); on 2 cores --jobs 2 --threads 1 keeps both busy\n"
          "  --patience N         GRU4Rec: stop a trial after N epochs without a better\n"
          "                       validation value (2; 0: never); the best trial's best epoch\n"
          "                       becomes n_epochs in the parameter file\n"
          "  --startup-trials N   random trials before TPE models the space (5)\n"
          "  --top N              rows of the final table (5)\n"
          "  --threads N          threads of each trial's training (default: all cores)\n"
          "  -q, --quiet          no per-trial lines\n"
          "  --json               no per-trial lines; the result as one JSON object (the best\n"
          "                       trial, its values and parameters, the file written)\n"
          "  -h, --help           this text\n"
          "\n"
          "examples:\n"
          "  sessrec tune data/train_full --preset rsc15 --time-budget 90m --jobs 2 --threads 1 \\\n"
          "      --storage sqlite:///study.db -o best.params\n"
          "  sessrec train data/train_full -o tuned.srm --params-file best.params\n"
          "  sessrec tune data/train_full --algo vsknn --trials 50 --valid-share 0.1\n",
          f);
}

static const cli_opt tune_options[] = {
    {"algo", 0, NULL, "NAME", ""},
    {"space", 0, NULL, "FILE", ""},
    {"preset", 0, NULL, "NAME", ""},
    {"params", 'p', NULL, "SPEC", ""},
    {"trials", 0, NULL, "N", ""},
    {"time-budget", 0, NULL, "T", ""},
    {"metric", 0, NULL, "M", ""},
    {"cutoff", 0, NULL, "N", ""},
    {"valid-days", 0, NULL, "D", ""},
    {"valid-share", 0, NULL, "F", ""},
    {"storage", 0, NULL, "URL", ""},
    {"study-name", 0, NULL, "NAME", ""},
    {"output", 'o', NULL, "FILE", ""},
    {"seed", 0, NULL, "S", ""},
    {"jobs", 'j', NULL, "N", ""},
    {"patience", 0, NULL, "N", ""},
    {"startup-trials", 0, NULL, "N", ""},
    {"top", 0, NULL, "N", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct tune_args {
    int have_days, have_share;
} tune_args;

/* The values are checked here so that a bad one reads as in every command;
 * the Python side applies them. */
static int on_option(void *ud, const cli_opt *o, const char *v)
{
    tune_args *a = ud;
    const char *n = o->name;
    int iv;
    double dv;
    int64_t lv;
    if (!strcmp(n, "trials") || !strcmp(n, "cutoff") || !strcmp(n, "top"))
        return cli_int(CMD, !strcmp(n, "trials") ? "--trials" : !strcmp(n, "cutoff") ? "--cutoff"
                                                                                     : "--top",
                       v, 1, 1000000, &iv);
    if (!strcmp(n, "jobs"))
        return cli_int(CMD, "--jobs", v, 1, 64, &iv);
    if (!strcmp(n, "patience"))
        return cli_int(CMD, "--patience", v, 0, 1000000, &iv);
    if (!strcmp(n, "startup-trials"))
        return cli_int(CMD, "--startup-trials", v, 0, 1000000, &iv);
    if (!strcmp(n, "seed"))
        return cli_int64(CMD, "--seed", v, 0, INT64_MAX, &lv);
    if (!strcmp(n, "valid-days")) {
        a->have_days = 1;
        return cli_double(CMD, "--valid-days", v, 1e-9, 1e6, &dv);
    }
    if (!strcmp(n, "valid-share")) {
        a->have_share = 1;
        if (cli_double(CMD, "--valid-share", v, 0, 1, &dv))
            return 1;
        if (dv <= 0 || dv >= 1)
            return cli_fail(CMD, "--valid-share %s: must be above 0 and below 1", v);
        return 0;
    }
    if (!strcmp(n, "metric")) {
        if (strcmp(v, "recall") && strcmp(v, "mrr"))
            return cli_fail(CMD, "--metric %s: expected recall or mrr", v);
        return 0;
    }
    if (!strcmp(n, "time-budget")) {
        char *end;
        errno = 0;
        double t = strtod(v, &end);
        if (end != v && (*end == 's' || *end == 'm' || *end == 'h'))
            end++;
        if (end == v || *end || errno || !(t > 0) || t > 1e9)
            return cli_fail(CMD, "--time-budget %s: expected a duration above 0 (seconds, or "
                                 "with s, m or h: 900, 15m, 2h)", v);
        return 0;
    }
    return 0; /* names, files, specs: the tuner checks them */
}

/* out = dir/rel; 0 when it does not fit */
static int join(char *out, size_t cap, const char *dir, const char *rel)
{
    size_t a = strlen(dir), b = strlen(rel);
    if (a + 1 + b + 1 > cap)
        return 0;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, rel, b + 1);
    return 1;
}

static int is_file(const char *dir, const char *rel)
{
    char p[PATH_MAX];
    return join(p, sizeof p, dir, rel) && access(p, R_OK) == 0;
}

int cmd_tune(int argc, char **argv)
{
    tune_args ta = {0, 0};
    const cli_opt *const tables[] = {tune_options, cli_threads_option, cli_common_options, NULL};
    cli_cmd cc = {CMD, "TRAIN [options]", usage, tables, on_option, &ta};
    cli_common com = {0};
    const char *train;
    int prc = cli_parse_one(&cc, argc, argv, &com, "TRAIN", &train);
    if (prc >= 0)
        return prc;
    (void)train; /* checked only: the tuner takes the arguments as given */
    if (ta.have_days && ta.have_share)
        return cli_usage_error(&cc, "--valid-days and --valid-share exclude each other");

    /* where this program lives: build/ of the source tree, or PREFIX/bin */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return cli_fail(CMD, "cannot find the program's own path: %s", strerror(errno));
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    const char *dir = exe;

    char pkg[PATH_MAX] = "";
    const char *cands[] = {"../python", "../lib/sessrec/python"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !pkg[0]; i++) {
        char c[PATH_MAX];
        if (join(c, sizeof c, dir, cands[i]) && is_file(c, "sessrec/tune.py"))
            memcpy(pkg, c, sizeof pkg);
    }
    if (!pkg[0])
        return cli_fail(CMD, "the sessrec Python package is not next to this program (looked in "
                             "%s/../python and %s/../lib/sessrec/python)", dir, dir);

    /* the package finds the library through SESSREC_LIB (unless the user set it) */
    if (!getenv("SESSREC_LIB")) {
        char lib[PATH_MAX];
        if ((join(lib, sizeof lib, dir, "libsessrec.so") && access(lib, R_OK) == 0) ||
            (join(lib, sizeof lib, dir, "../lib/libsessrec.so.0") && access(lib, R_OK) == 0))
            setenv("SESSREC_LIB", lib, 1);
    }
    const char *old = getenv("PYTHONPATH");
    size_t len = strlen(pkg) + (old ? strlen(old) : 0) + 2;
    char *pp = malloc(len);
    if (!pp)
        return cli_fail(CMD, "out of memory");
    snprintf(pp, len, "%s%s%s", pkg, old && *old ? ":" : "", old && *old ? old : "");
    setenv("PYTHONPATH", pp, 1);
    free(pp);

    const char *py = getenv("SESSREC_PYTHON");
    if (!py || !*py)
        py = SR_PYTHON;
    char **av = calloc((size_t)argc + 3, sizeof *av);
    if (!av)
        return cli_fail(CMD, "out of memory");
    av[0] = (char *)py;
    av[1] = "-c";
    av[2] = (char *)BOOT;             /* its sys.argv: ["-c", the arguments...] */
    for (int i = 1; i < argc; i++)
        av[2 + i] = argv[i];
    fflush(stdout);
    execvp(py, av);
    int e = errno;
    free(av);
    return cli_fail(CMD, "cannot run the Python interpreter '%s': %s. sessrec tune needs Python 3 "
                         "with numpy and Optuna (Debian: apt-get install python3 python3-numpy "
                         "python3-optuna); SESSREC_PYTHON names another interpreter",
                    py, strerror(e));
}
