/*
 * cmd_train.c - 'sessrec train TRAIN -o MODEL': trains GRU4Rec (or a baseline)
 * on a split and writes the model file atomically. Parses options, prints the
 * effective settings, a progress bar on stderr and one line per epoch; the
 * work itself is sr_train_gru / sr_train_baseline. A diverged (NaN) training
 * writes nothing and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "util/util.h" /* sr_now, sr_resolve_threads */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD "train"

static void usage(FILE *f)
{
    char defaults[1024];
    sr_gru_params d = sr_gru_default_params();
    sr_gru_params_format(&d, defaults, sizeof defaults);
    fprintf(f,
        "usage: sessrec train TRAIN -o MODEL [options]\n"
        "\n"
        "Trains a model on a training split and writes it to MODEL (atomically: a\n"
        "temporary file renamed into place). The item map is built from TRAIN only.\n"
        "\n"
        "  TRAIN                a prepared split file (from 'sessrec prepare'; the .split\n"
        "                       suffix may be left out) or a click log such as a GRU4Rec\n"
        "                       TSV (SessionId, ItemId, Time columns), read directly\n"
        "  -o, --output MODEL   the model file to write\n"
        "\n"
        "options:\n"
        "  --algo NAME          gru4rec (default), or a baseline: pop, spop, iknn, sr, sknn,\n"
        "                       vsknn, ar, stan (parameters named as in session-rec)%s\n"
        "  --preset NAME        GRU4Rec settings to start from:\n"
        "                         rsc15     the official tuned RSC15 settings: cross-entropy,\n"
        "                                   constrained embedding, layers=100, batch 32,\n"
        "                                   dropout_p_embed 0.1, lr 0.1, 2048 samples,\n"
        "                                   sample_alpha 0.75, logq 1, 10 epochs\n"
        "                         tutorial  one-hot input, one GRU layer of 50, dropout 0.1\n"
        "                                   on its output, full softmax cross-entropy, Adam\n"
        "                                   lr 0.001, batch 1024, 3 epochs\n"
        "  --params-file F      parameters, one name=value per line (# starts a comment)\n"
        "  -p, --params SPEC    parameters as name=value,name=value (repeatable)\n"
        "                       Order: defaults, then --preset, then --params-file, then -p.\n"
        "  --valid SPLIT        validation split (file or TSV like TRAIN): Recall@K and\n"
        "                       MRR@K (conservative ties) after each epoch (a baseline:\n"
        "                       once, after training)\n"
        "  --cutoff K           K of the validation metrics (default 20)\n"
        "  --seed S             random seed (overrides seed= from the parameters); the same\n"
        "                       seed and thread count give a bit-identical model file\n"
        "  --threads N          threads (default 0 = all cores)\n"
        "  -q, --quiet          print only errors\n"
        "  -h, --help           this text\n"
        "\n"
        "GRU4Rec parameters (the official names; defaults in brackets):\n"
        "  layers               GRU layer sizes, '/' between layers: 100, 480/480 [100]\n"
        "  loss                 cross-entropy (xe), bpr-max, full-cross-entropy [cross-entropy]\n"
        "  constrained_embedding True: the input is the item's row of the output weights [True]\n"
        "  embedding            size of a separate input embedding, 0 = one-hot input [0]\n"
        "                       (used only when constrained_embedding=False)\n"
        "  batch_size           parallel sessions per mini-batch [64]\n"
        "  dropout_p_embed      dropout on the input embedding [0] (one-hot input: on the\n"
        "                       first GRU layer's output, as the official code)\n"
        "  dropout_p_hidden     dropout on each GRU layer's output [0] (one-hot input: on\n"
        "                       the layers above the first)\n"
        "  learning_rate        [0.05]\n"
        "  momentum             Nesterov-style momentum of Adagrad [0]\n"
        "  optim                adagrad or adam [adagrad]; adam_beta1, adam_beta2, adam_eps\n"
        "  n_sample             extra negative samples shared by a mini-batch [2048]\n"
        "  sample_alpha         samples drawn with probability ~ support^sample_alpha [0.5]\n"
        "  sample_store_size    negative samples pre-drawn at once [10000000]\n"
        "  logq                 logQ correction of cross-entropy [0]\n"
        "  bpreg                score regularisation of bpr-max [1]\n"
        "  elu_param            ELU on bpr-max scores, 0 = none [0.5]\n"
        "  n_epochs             [10]\n"
        "  seed                 [42]\n"
        "Defaults as one string:\n  %s\n",
        "\n                       (their parameters: below)", defaults);
    fprintf(f,
        "\n");
    cli_print_baseline_params(f);
    fputs(
        "\n"
        "Progress goes to stderr (a bar on a terminal, plain lines otherwise); settings,\n"
        "one line per epoch and the result go to stdout. A NaN loss stops training with\n"
        "an error: no model file is written and the exit status is 1.\n"
        "\n"
        "examples:\n"
        "  sessrec train data/train_full -o model.srm --preset rsc15\n"
        "  sessrec train train.tsv -o model.srm -p layers=100/100,loss=bpr-max --valid valid.tsv\n"
        "  sessrec train data/train_full -o pop.srm --algo pop\n", f);
}

/* Reads a parameter file: name=value lines, '#' comments, blank lines.
 * GRU4Rec: applied to *p line by line (errors name file:line). Baselines:
 * appended to *spec. Returns 0 or 1 (error printed). */
static int read_params_file(const char *path, sr_gru_params *p, char **spec)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail(CMD, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, 0, (size_t)n)) { /* would silently cut the line */
            rc = cli_fail(CMD, "%s:%d: a NUL byte in the line (not a text file?)", path, lineno);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        size_t len = strlen(s);
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
            s[--len] = 0;
        if (!*s)
            continue;
        if (p) {
            sr_error err = {0};
            if (sr_gru_params_parse(p, s, &err) != SR_OK) {
                rc = cli_fail(CMD, "%s:%d: %s", path, lineno, err.msg);
                break;
            }
        } else if (cli_append_spec(spec, s)) {
            rc = cli_fail(CMD, "out of memory");
            break;
        }
    }
    if (!rc && ferror(f))
        rc = cli_fail(CMD, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

/* ---- progress -------------------------------------------------------------------- */

typedef struct train_ui {
    int quiet;
    int cutoff;
    int tty;
    cli_progress bar;
    char label[64];
} train_ui;

static void start_bar(train_ui *u, int epoch, int n_epochs)
{
    snprintf(u->label, sizeof u->label, "epoch %d/%d", epoch, n_epochs);
    cli_progress_init(&u->bar, u->label);
}

static void on_progress(const sr_train_progress *p, void *ud)
{
    train_ui *u = ud;
    if (u->quiet)
        return;
    char rate[32];
    cli_grouped((int64_t)(p->events_per_sec + 0.5), rate, sizeof rate);
    if (!p->epoch_done) {
        char extra[128];
        snprintf(extra, sizeof extra, "loss %.4f, %s ev/s", p->loss, rate);
        double frac = p->events_total > 0 ? (double)p->events_done / (double)p->events_total : 0;
        cli_progress_update(&u->bar, frac, extra);
        return;
    }
    if (u->tty)
        fprintf(stderr, "\r\033[K");
    double secs = p->events_per_sec > 0 ? (double)p->events_done / p->events_per_sec : 0;
    printf("epoch %2d/%d  loss %.4f  %s ev/s  %.1f s", p->epoch, p->n_epochs, p->loss, rate, secs);
    if (p->valid) {
        if (p->valid->n_predictions > 0)
            printf("  valid Recall@%d %.4f  MRR@%d %.4f", u->cutoff, p->valid->recall[0],
                   u->cutoff, p->valid->mrr[0]);
        else
            printf("  valid: no predictions (no validation item known to the model)");
    }
    printf("\n");
    fflush(stdout);
    if (p->epoch < p->n_epochs)
        start_bar(u, p->epoch + 1, p->n_epochs);
}

static void describe_split(const char *what, const char *path, const sr_split *s)
{
    char a[32], b[32], c[32];
    printf("%-8s %s (%s clicks, %s sessions, %s items)\n", what, path,
           cli_grouped(s->n_events, a, sizeof a), cli_grouped(s->n_sessions, b, sizeof b),
           cli_grouped(s->n_items, c, sizeof c));
}

static void describe_gru(const sr_gru_params *p)
{
    char buf[1024];
    sr_gru_params_format(p, buf, sizeof buf);
    printf("%-8s %s\n", "params", buf);
    int h_last = p->layers[p->n_layers - 1];
    if (p->constrained_embedding)
        printf("%-8s constrained embedding (the item's row of the output weights, %d wide)\n",
               "input", h_last);
    else if (p->embedding > 0)
        printf("%-8s separate embedding of size %d\n", "input", p->embedding);
    else
        printf("%-8s one-hot\n", "input");
    if (p->loss == SR_LOSS_FULL_XE)
        printf("%-8s full-cross-entropy: softmax over all items\n", "loss");
    else
        printf("%-8s %s over the mini-batch's targets + %d samples (support^%g)%s\n", "loss",
               p->loss == SR_LOSS_XE ? "cross-entropy" : "bpr-max", p->n_sample,
               (double)p->sample_alpha, p->loss == SR_LOSS_XE && p->logq > 0 ? ", logq" : "");
    printf("%-8s %s, learning_rate %g%s, batch %d, %d epochs\n", "optim",
           p->optim == SR_OPT_ADAM ? "adam" : "adagrad", (double)p->learning_rate,
           p->optim == SR_OPT_ADAGRAD && p->momentum > 0 ? " + momentum" : "", p->batch_size,
           p->n_epochs);
}

int cmd_train(int argc, char **argv)
{
    const char *train_path = NULL, *out_path = NULL, *algo = "gru4rec", *preset = NULL;
    const char *params_file = NULL, *valid_path = NULL;
    const char *specs[64];
    int n_specs = 0, cutoff = 20, threads = 0, quiet = 0, have_seed = 0;
    uint64_t seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
            continue;
        }
        if (a[0] == '-' && a[1] && !more)
            return cli_fail(CMD, "option %s needs a value (see sessrec train --help)", a);
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out_path = argv[++i];
        else if (!strcmp(a, "--algo"))
            algo = argv[++i];
        else if (!strcmp(a, "--preset"))
            preset = argv[++i];
        else if (!strcmp(a, "--params-file"))
            params_file = argv[++i];
        else if (!strcmp(a, "-p") || !strcmp(a, "--params")) {
            if (n_specs == (int)(sizeof specs / sizeof specs[0]))
                return cli_fail(CMD, "too many -p options");
            specs[n_specs++] = argv[++i];
        } else if (!strcmp(a, "--valid"))
            valid_path = argv[++i];
        else if (!strcmp(a, "--cutoff")) {
            if (cli_int(CMD, "--cutoff", argv[++i], 1, 1000000, &cutoff))
                return 1;
        } else if (!strcmp(a, "--seed")) {
            int64_t s;
            if (cli_int64(CMD, "--seed", argv[++i], 0, INT64_MAX, &s))
                return 1;
            seed = (uint64_t)s;
            have_seed = 1;
        } else if (!strcmp(a, "--threads")) {
            if (cli_int(CMD, "--threads", argv[++i], 0, 4096, &threads))
                return 1;
        } else if (a[0] == '-' && a[1])
            return cli_fail(CMD, "unknown option '%s' (see sessrec train --help)", a);
        else if (!train_path)
            train_path = a;
        else
            return cli_fail(CMD, "unexpected argument '%s' (one TRAIN split only)", a);
    }
    if (!train_path || !out_path) {
        usage(stderr);
        return cli_fail(CMD, "%s", !train_path ? "missing TRAIN" : "missing -o MODEL");
    }
    int is_gru = !strcmp(algo, "gru4rec");

    /* Parameters: defaults < preset < file < -p < --seed. */
    sr_gru_params p = sr_gru_default_params();
    char *bspec = NULL;
    sr_error err = {0};
    if (is_gru) {
        if (preset && sr_gru_params_preset(&p, preset, &err) != SR_OK)
            return cli_fail(CMD, "--preset: %s", err.msg);
        if (params_file && read_params_file(params_file, &p, NULL))
            return 1;
        for (int k = 0; k < n_specs; k++)
            if (sr_gru_params_parse(&p, specs[k], &err) != SR_OK)
                return cli_fail(CMD, "-p: %s", err.msg);
        if (have_seed)
            p.seed = seed;
    } else {
        if (preset)
            return cli_fail(CMD, "--preset is for gru4rec; %s takes -p name=value", algo);
        if (have_seed)
            return cli_fail(CMD, "--seed is for gru4rec; %s takes its parameters with -p", algo);
        if (params_file && read_params_file(params_file, NULL, &bspec)) {
            free(bspec); /* the lines read before the error */
            return 1;
        }
        for (int k = 0; k < n_specs; k++)
            if (cli_append_spec(&bspec, specs[k])) {
                free(bspec);
                return cli_fail(CMD, "out of memory");
            }
    }

    /* Fail before training, not after it, when MODEL cannot be written. */
    struct stat sb;
    if (stat(out_path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        free(bspec);
        return cli_fail(CMD, "-o %s: is a directory (give a file name)", out_path);
    }
    if (sr_output_check(out_path, &err) != SR_OK) {
        free(bspec);
        return cli_fail_err(CMD, &err);
    }
    /* The model must not replace an input (train X.split -o X.split). */
    const char *inputs[] = {train_path, valid_path, params_file};
    for (size_t k = 0; k < sizeof inputs / sizeof *inputs; k++) {
        char alt[4200];
        if (!inputs[k])
            continue;
        snprintf(alt, sizeof alt, "%s.split", inputs[k]);
        if (sr_same_file(out_path, inputs[k]) || sr_same_file(out_path, alt)) {
            free(bspec);
            return cli_fail(CMD, "-o %s: is an input of this run (%s); refusing to overwrite it",
                            out_path, inputs[k]);
        }
    }

    sr_split train, valid;
    memset(&train, 0, sizeof train);
    memset(&valid, 0, sizeof valid);
    int rc = 1;
    sr_model *model = NULL;
    if (sr_split_open(train_path, &train, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }
    if (valid_path && sr_split_open(valid_path, &valid, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }

    int nthreads = sr_resolve_threads(threads);
    if (!quiet) {
        printf("%-8s %s\n", "algo", algo);
        describe_split("train", train_path, &train);
        if (valid_path)
            describe_split("valid", valid_path, &valid);
        if (is_gru)
            describe_gru(&p);
        else
            printf("%-8s %s\n", "params", bspec && *bspec ? bspec : "(defaults)");
        printf("%-8s %d\n", "threads", nthreads);
        fflush(stdout);
    }

    sr_eval_opts vo = sr_eval_default_opts();
    vo.n_cutoffs = 1;
    vo.cutoffs[0] = cutoff;
    vo.threads = threads;
    train_ui ui;
    memset(&ui, 0, sizeof ui);
    ui.quiet = quiet;
    ui.cutoff = cutoff;
    ui.tty = isatty(2);
    double t0 = sr_now();
    sr_status st;
    if (is_gru) {
        sr_train_opts to = sr_train_default_opts();
        to.threads = threads;
        to.valid = valid_path ? &valid : NULL;
        to.valid_opts = vo;
        to.cb = on_progress;
        to.ud = &ui;
        if (!quiet && p.n_epochs > 0)
            start_bar(&ui, 1, p.n_epochs);
        st = sr_train_gru(&train, &p, &to, &model, &err);
        if (!quiet && ui.tty && st != SR_OK)
            fprintf(stderr, "\r\033[K");
    } else {
        st = sr_train_baseline(algo, bspec, &train, &model, &err);
        if (st == SR_OK && valid_path && !quiet) {
            sr_eval_result res;
            sr_status vs = sr_evaluate(model, &valid, &vo, &res, &err);
            if (vs == SR_OK)
                printf("valid    Recall@%d %.4f  MRR@%d %.4f\n", cutoff, res.recall[0], cutoff,
                       res.mrr[0]);
            else if (vs != SR_ERR_EMPTY) {
                cli_fail_err(CMD, &err);
                goto out;
            }
        }
    }
    if (st == SR_ERR_NUMERIC) {
        cli_fail(CMD, "%s", err.msg);
        cli_fail(CMD, "no model written to %s", out_path);
        goto out;
    }
    if (st != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }
    double secs = sr_now() - t0;
    if (sr_model_save(model, out_path, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }
    if (!quiet) {
        char a[32];
        printf("model    %s (%s, %s items), trained in %.1f s\n", out_path, algo,
               cli_grouped(sr_model_n_items(model), a, sizeof a), secs);
    }
    rc = 0;
out:
    sr_model_free(model);
    sr_split_free(&train);
    sr_split_free(&valid);
    free(bspec);
    return rc;
}
