/*
 * cmd_train.c - 'sessrec train TRAIN -o MODEL': trains GRU4Rec (or a baseline)
 * on a split and writes the model file atomically. Parses options, prints the
 * effective settings, a progress bar on stderr and one line per epoch; the
 * work itself is sr_train_gru / sr_train (the baselines). A diverged (NaN) training
 * writes nothing and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD "train"

static void usage(FILE *f)
{
    char defaults[1024], names[256];
    sr_gru_params d = sr_gru_default_params();
    sr_gru_params_format(&d, defaults, sizeof defaults);
    cli_algo_names(names, sizeof names);
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
        "  --algo NAME          one of %s (default gru4rec;\n"
        "                       baseline parameters are named as in session-rec)\n"
        "  --preset NAME        the algorithm's named settings to start from (listed below)\n"
        "  --params-file F      parameters, one name=value per line (# starts a comment)\n"
        "  -p, --params SPEC    parameters as name=value,name=value (repeatable)\n"
        "                       Order: defaults, then --preset, then --params-file, then -p.\n"
        "  --valid SPLIT        validation split (file or TSV like TRAIN): Recall@K and\n"
        "                       MRR@K (conservative ties) after each epoch (a baseline:\n"
        "                       once, after training)\n"
        "  --cutoffs LIST       cutoffs of the validation metrics (default 20)\n"
        "  --seed S             gru4rec's random seed (overrides seed= from the parameters);\n"
        "                       the same seed and thread count give a bit-identical model file\n",
        names);
    cli_opts_help(f, cli_threads_option, 23);
    cli_opts_help(f, cli_common_options, 23);
    fprintf(f, "                       (-q: also no settings, epoch lines or result line;\n"
               "                       --json: one line per epoch, then the result)\n\n");
    cli_read_help(f, 23);
    fprintf(f, "\nParameters of each algorithm (the official names; defaults in brackets) and its\n"
               "presets:\n");
    cli_print_algos(f, 1);
    fprintf(f, "  gru4rec's defaults as one string:\n    %s\n", defaults);
    cli_print_algos(f, 0);
    fputs(
        "\n"
        "Progress goes to stderr (a bar on a terminal, plain lines otherwise); settings\n"
        "(the effective parameters), one line per epoch and the result go to stdout;\n"
        "with --json, one JSON object per epoch and one for the result (docs/json.md).\n"
        "A NaN loss stops training with an error: no model file is written and the\n"
        "exit status is 1.\n"
        "\n"
        "examples:\n"
        "  sessrec train data/train_full -o model.srm --preset rsc15\n"
        "  sessrec train train.tsv -o model.srm -p layers=100/100,loss=bpr-max --valid valid.tsv\n"
        "  sessrec train data/train_full -o pop.srm --algo pop\n"
        "  sessrec train data/train_full -o stan.srm --algo stan --preset rsc15\n", f);
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
    int json;
    int tty;
    cli_progress bar;
    char label[64];
    sr_eval_result valid;   /* the last epoch's validation */
    int have_valid;
} train_ui;

static void start_bar(train_ui *u, int epoch, int n_epochs)
{
    snprintf(u->label, sizeof u->label, "epoch %d/%d", epoch, n_epochs);
    cli_progress_init(&u->bar, u->label);
}

/* The result of an evaluation as JSON (docs/json.md): counts and metrics. */
static json_t *eval_json(const sr_eval_result *r)
{
    json_t *v = json_object();
    cli_json_eval(CMD, v, r);
    return v;
}

static void on_progress(const sr_train_progress *p, void *ud)
{
    train_ui *u = ud;
    char rate[32];
    cli_grouped((int64_t)(p->events_per_sec + 0.5), rate, sizeof rate);
    if (!p->epoch_done) {
        if (u->quiet)
            return;
        char extra[128];
        snprintf(extra, sizeof extra, "loss %.4f, %s ev/s", p->loss, rate);
        double frac = p->events_total > 0 ? (double)p->events_done / (double)p->events_total : 0;
        cli_progress_update(&u->bar, frac, extra);
        return;
    }
    if (u->tty && !u->quiet)
        fprintf(stderr, "\r\033[K");
    double secs = p->events_per_sec > 0 ? (double)p->events_done / p->events_per_sec : 0;
    if (p->valid && p->valid->n_predictions > 0) {
        u->valid = *p->valid;
        u->have_valid = 1;
    }
    if (u->json) {
        json_t *j = json_object();
        json_object_set_new(j, "epoch", json_integer(p->epoch));
        json_object_set_new(j, "n_epochs", json_integer(p->n_epochs));
        json_object_set_new(j, "loss", cli_json_real(CMD, "the loss", p->loss));
        json_object_set_new(j, "events_per_sec", cli_json_real(CMD, "events/s", p->events_per_sec));
        json_object_set_new(j, "seconds", cli_json_real(CMD, "seconds", secs));
        if (p->valid && p->valid->n_predictions > 0)
            json_object_set_new(j, "valid", eval_json(p->valid));
        cli_json_print(CMD, j);
    } else if (!u->quiet) {
        printf("epoch %2d/%d  loss %.4f  %s ev/s  %.1f s", p->epoch, p->n_epochs, p->loss, rate,
               secs);
        if (p->valid) {
            if (p->valid->n_predictions > 0)
                for (int k = 0; k < p->valid->n_cutoffs; k++)
                    printf("  valid Recall@%d %.4f  MRR@%d %.4f", p->valid->cutoffs[k],
                           p->valid->recall[k], p->valid->cutoffs[k], p->valid->mrr[k]);
            else
                printf("  valid: no predictions (no validation item known to the model)");
        }
        printf("\n");
        fflush(stdout);
    }
    if (p->epoch < p->n_epochs && !u->quiet)
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
               sr_loss_name(p->loss), p->n_sample,
               (double)p->sample_alpha, p->loss == SR_LOSS_XE && p->logq > 0 ? ", logq" : "");
    printf("%-8s %s, learning_rate %g%s, batch %d, %d epochs\n", "optim",
           sr_optim_name(p->optim), (double)p->learning_rate,
           p->optim == SR_OPT_ADAGRAD && p->momentum > 0 ? " + momentum" : "", p->batch_size,
           p->n_epochs);
}

static const cli_opt train_options[] = {
    {"output", 'o', NULL, "MODEL", ""},
    {"algo", 0, NULL, "NAME", ""},
    {"preset", 0, NULL, "NAME", ""},
    {"params-file", 0, NULL, "F", ""},
    {"params", 'p', NULL, "SPEC", ""},
    {"valid", 0, NULL, "SPLIT", ""},
    {"cutoffs", 0, NULL, "LIST", ""},
    {"seed", 0, NULL, "S", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct train_args {
    const char *out_path, *algo, *preset, *params_file, *valid_path;
    const char *specs[64];
    int n_specs, have_seed;
    uint64_t seed;
    sr_eval_opts vo;
    sr_read_opts ro;
} train_args;

static int on_option(void *ud, const cli_opt *o, const char *v)
{
    train_args *t = ud;
    const char *n = o->name;
    if (cli_opt_in(o, cli_read_options))
        return cli_read_opt(CMD, o, v, &t->ro);
    if (!strcmp(n, "output"))
        t->out_path = v;
    else if (!strcmp(n, "algo"))
        t->algo = v;
    else if (!strcmp(n, "preset"))
        t->preset = v;
    else if (!strcmp(n, "params-file"))
        t->params_file = v;
    else if (!strcmp(n, "params")) {
        if (t->n_specs == (int)(sizeof t->specs / sizeof t->specs[0]))
            return cli_fail(CMD, "too many -p options");
        t->specs[t->n_specs++] = v;
    } else if (!strcmp(n, "valid"))
        t->valid_path = v;
    else if (!strcmp(n, "cutoffs"))
        return cli_cutoffs(CMD, v, &t->vo);
    else if (!strcmp(n, "seed")) {
        int64_t sd;
        if (cli_int64(CMD, "--seed", v, 0, INT64_MAX, &sd))
            return 1;
        t->seed = (uint64_t)sd;
        t->have_seed = 1;
    }
    return 0;
}

int cmd_train(int argc, char **argv)
{
    train_args ta;
    memset(&ta, 0, sizeof ta);
    ta.algo = "gru4rec";
    ta.vo = sr_eval_default_opts();
    ta.vo.n_cutoffs = 1;
    ta.vo.cutoffs[0] = 20;
    ta.ro = sr_read_default_opts();
    const cli_opt *const tables[] = {train_options, cli_read_options, cli_threads_option,
                                     cli_common_options, NULL};
    cli_cmd cc = {CMD, "TRAIN -o MODEL [options]", usage, tables, on_option, &ta};
    cli_common com = {0};
    char **pos;
    int npos;
    int prc = cli_parse(&cc, argc, argv, &com, &pos, &npos);
    if (prc >= 0)
        return prc;
    const char *train_path = npos ? pos[0] : NULL;
    if (npos > 1) {
        prc = cli_usage_error(&cc, "unexpected argument '%s' (one TRAIN split only)", pos[1]);
        free(pos);
        return prc;
    }
    free(pos);
    if (!train_path || !ta.out_path)
        return cli_usage_error(&cc, "%s", !train_path ? "missing TRAIN" : "missing -o MODEL");
    const char *out_path = ta.out_path, *algo = ta.algo, *preset = ta.preset;
    const char *params_file = ta.params_file, *valid_path = ta.valid_path;
    const char *const *specs = ta.specs;
    int n_specs = ta.n_specs, threads = com.threads, have_seed = ta.have_seed;
    int quiet = com.quiet || com.json;
    uint64_t seed = ta.seed;
    ta.ro.threads = threads;
    const sr_algo_info *ainfo = sr_algo_find(algo);
    if (!ainfo) {
        char names[256];
        cli_algo_names(names, sizeof names);
        return cli_fail(CMD, "--algo: unknown algorithm '%s' (known: %s)", algo, names);
    }
    if (preset && !sr_algo_preset(ainfo, preset)) {
        char names[256] = "";
        for (int k = 0; k < ainfo->n_presets; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                     ainfo->presets[k].name);
        return cli_fail(CMD, "--preset: unknown preset '%s' for %s (known: %s)", preset, algo,
                        ainfo->n_presets ? names : "none");
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
    sr_atomic_file *probe;
    if (sr_atomic_file_open(out_path, &probe, &err) != SR_OK) {
        free(bspec);
        return cli_fail_err(CMD, &err);
    }
    sr_atomic_file_abort(probe);

    sr_split train, valid;
    memset(&train, 0, sizeof train);
    memset(&valid, 0, sizeof valid);
    int rc = 1;
    sr_model *model = NULL;
    if (sr_split_open_opts(train_path, &ta.ro, &train, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }
    if (valid_path && sr_split_open_opts(valid_path, &ta.ro, &valid, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }

    /* the effective parameters, as the model is trained with them */
    char eff[2048];
    if (is_gru) {
        sr_gru_params_format(&p, eff, sizeof eff);
    } else {
        char *all = NULL;
        const sr_preset_info *pr = preset ? sr_algo_preset(ainfo, preset) : NULL;
        if ((pr && cli_append_spec(&all, pr->params)) ||
            (bspec && *bspec && cli_append_spec(&all, bspec))) {
            free(all);
            cli_fail(CMD, "out of memory");
            goto out;
        }
        cli_effective_params(ainfo, all, eff, sizeof eff);
        free(all);
    }
    int nthreads = sr_resolve_threads(threads);
    if (!quiet) {
        printf("%-8s %s\n", "algo", algo);
        describe_split("train", train_path, &train);
        if (valid_path)
            describe_split("valid", valid_path, &valid);
        if (is_gru) {
            describe_gru(&p);
        } else {
            if (preset)
                printf("%-8s %s (%s)\n", "preset", preset, sr_algo_preset(ainfo, preset)->params);
            printf("%-8s %s\n", "params", eff);
        }
        printf("%-8s %d\n", "threads", nthreads);
        fflush(stdout);
    }

    sr_eval_opts vo = ta.vo;
    vo.threads = threads;
    train_ui ui;
    memset(&ui, 0, sizeof ui);
    ui.quiet = com.quiet;
    ui.json = com.json;
    ui.tty = isatty(2);
    double t0 = cli_now();
    sr_status st;
    sr_eval_result bl_valid;
    int have_bl_valid = 0;
    if (is_gru) {
        sr_train_opts to = sr_train_default_opts();
        to.threads = threads;
        to.valid = valid_path ? &valid : NULL;
        to.valid_opts = vo;
        to.cb = on_progress;
        to.ud = &ui;
        if (!com.quiet && p.n_epochs > 0)
            start_bar(&ui, 1, p.n_epochs);
        st = sr_train_gru(&train, &p, &to, &model, &err);
        if (ui.have_valid) {
            bl_valid = ui.valid;
            have_bl_valid = 1;
        }
        if (!com.quiet && ui.tty && st != SR_OK)
            fprintf(stderr, "\r\033[K");
    } else {
        char gb[32];
        if (!com.quiet)
            fprintf(stderr, "train: training %s on %s clicks ...\n", algo,
                    cli_grouped(train.n_events, gb, sizeof gb));
        st = sr_train(algo, &train, preset, bspec, NULL, &model, &err);
        if (st == SR_OK && valid_path) {
            if (!com.quiet)
                fprintf(stderr, "train: evaluating %s on %s ...\n", algo, valid_path);
            sr_status vs = sr_evaluate(model, &valid, &vo, &bl_valid, &err);
            if (vs == SR_OK) {
                have_bl_valid = 1;
                if (!quiet)
                    for (int k = 0; k < bl_valid.n_cutoffs; k++)
                        printf("valid    Recall@%d %.4f  MRR@%d %.4f\n", bl_valid.cutoffs[k],
                               bl_valid.recall[k], bl_valid.cutoffs[k], bl_valid.mrr[k]);
            } else if (vs != SR_ERR_EMPTY) {
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
    double secs = cli_now() - t0;
    if (sr_model_save(model, out_path, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }
    if (com.json) {
        json_t *j = json_object();
        json_object_set_new(j, "model", cli_json_text(out_path));
        json_object_set_new(j, "algo", json_string(algo));
        json_object_set_new(j, "params", cli_json_text(eff));
        json_object_set_new(j, "train", cli_json_text(train_path));
        json_object_set_new(j, "n_items", json_integer(sr_model_n_items(model)));
        json_object_set_new(j, "threads", json_integer(nthreads));
        json_object_set_new(j, "seconds", cli_json_real(CMD, "seconds", secs));
        if (have_bl_valid)
            json_object_set_new(j, "valid", eval_json(&bl_valid));
        if (cli_json_print(CMD, j))
            goto out;
    } else if (!quiet) {
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
