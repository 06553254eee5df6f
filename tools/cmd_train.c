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
        "  --cutoffs LIST       cutoffs of the validation metrics (default 20); the first\n"
        "                       is the one early stopping and the best epoch follow\n"
        "  --metric M           recall, mrr or ndcg: what the best epoch is [recall]\n"
        "  --patience N         early stopping: stop after N epochs without a better\n"
        "                       validation metric; the model is the best epoch's\n"
        "  --keep-best          without --patience: train every epoch, keep the best one\n"
        "  --save-optimizer     the model file also holds the optimizer state, RNG and\n"
        "                       sampler positions (about 2-3x larger), so that --resume\n"
        "                       can continue it\n"
        "  --resume MODEL       continue MODEL's training (a --save-optimizer model or a\n"
        "                       checkpoint) on the same TRAIN with the same parameters; give\n"
        "                       the total: -p n_epochs=N. Bit-identical to an uninterrupted\n"
        "                       run with the same seed and --threads\n"
        "  --init MODEL         warm start on new data: start from MODEL's weights (and\n"
        "                       optimizer state, if it has one); items MODEL knows keep their\n"
        "                       rows, new items get fresh ones, items absent from TRAIN stay.\n"
        "                       Parameters start from MODEL's (set e.g. -p n_epochs=1)\n"
        "  --checkpoint-every N after every N-th epoch, write the model so far with its\n"
        "                       optimizer state (atomically) to the --checkpoint file\n"
        "  --checkpoint FILE    checkpoint file [MODEL.ckpt]; resume it with --resume\n"
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
    if (p) {
        char *text = NULL;
        size_t len = 0, cap = 0, n;
        int rc = 0;
        do {
            if (len + 4096 + 1 > cap) {
                char *t = realloc(text, cap = 2 * cap + 4096 + 1);
                if (!t) {
                    rc = cli_fail(CMD, "out of memory");
                    break;
                }
                text = t;
            }
            n = fread(text + len, 1, 4096, f);
            len += n;
        } while (n > 0);
        if (!rc && ferror(f))
            rc = cli_fail(CMD, "%s: read error", path);
        fclose(f);
        if (!rc) {
            sr_error err = {0};
            text[len] = 0;
            if (strlen(text) != len)
                rc = cli_fail(CMD, "%s: not a text file (holds a NUL byte)", path);
            else if (sr_gru_params_parse_text(p, text, path, &err) != SR_OK)
                rc = cli_fail(CMD, "%s", err.msg);
        }
        free(text);
        return rc;
    }
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
        if (cli_append_spec(spec, s)) {
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
    const char *metric;     /* the name of the followed metric */
    int best_epoch, last_epoch, stopped;
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
    /* the epoch's line: on_epoch */
}

static int on_epoch(const sr_train_epoch *e, void *ud)
{
    train_ui *u = ud;
    if (e->valid && e->valid->n_predictions > 0) {
        u->valid = *e->valid;
        u->have_valid = 1;
    }
    u->best_epoch = e->best_epoch;
    u->last_epoch = e->epoch;
    u->stopped = e->stopping && e->epoch < e->n_epochs;
    char rate[32];
    cli_grouped((int64_t)(e->events_per_sec + 0.5), rate, sizeof rate);
    if (u->json) {
        json_t *j = json_object();
        json_object_set_new(j, "epoch", json_integer(e->epoch));
        json_object_set_new(j, "n_epochs", json_integer(e->n_epochs));
        json_object_set_new(j, "loss", cli_json_real(CMD, "the loss", e->loss));
        json_object_set_new(j, "events_per_sec", cli_json_real(CMD, "events/s", e->events_per_sec));
        json_object_set_new(j, "seconds", cli_json_real(CMD, "seconds", e->seconds));
        if (e->valid && e->valid->n_predictions > 0) {
            json_object_set_new(j, "valid", eval_json(e->valid));
            json_object_set_new(j, "best", json_boolean(e->improved));
            json_object_set_new(j, "best_epoch", json_integer(e->best_epoch));
        }
        if (e->checkpoint)
            json_object_set_new(j, "checkpoint", cli_json_text(e->checkpoint));
        cli_json_print(CMD, j);
    } else if (!u->quiet) {
        printf("epoch %2d/%d  loss %.4f  %s ev/s  %.1f s", e->epoch, e->n_epochs, e->loss, rate,
               e->seconds);
        if (e->valid) {
            if (e->valid->n_predictions > 0)
                for (int k = 0; k < e->valid->n_cutoffs; k++)
                    printf("  valid Recall@%d %.4f  MRR@%d %.4f", e->valid->cutoffs[k],
                           e->valid->recall[k], e->valid->cutoffs[k], e->valid->mrr[k]);
            else
                printf("  valid: no predictions (no validation item known to the model)");
            if (e->improved)
                printf("  *best");
        }
        if (e->checkpoint)
            printf("  checkpoint %s", e->checkpoint);
        printf("\n");
        if (u->stopped)
            printf("early stop: no better validation %s for %d epochs; best epoch %d (%s %.4f)\n",
                   u->metric, e->since_best, e->best_epoch, u->metric, e->best_metric);
        fflush(stdout);
    }
    if (e->epoch < e->n_epochs && !e->stopping && !u->quiet)
        start_bar(u, e->epoch + 1, e->n_epochs);
    return 0;
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
    {"metric", 0, NULL, "M", ""},
    {"patience", 0, NULL, "N", ""},
    {"keep-best", 0, NULL, NULL, ""},
    {"save-optimizer", 0, NULL, NULL, ""},
    {"resume", 0, NULL, "MODEL", ""},
    {"init", 0, NULL, "MODEL", ""},
    {"checkpoint-every", 0, NULL, "N", ""},
    {"checkpoint", 0, NULL, "FILE", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct train_args {
    const char *out_path, *algo, *preset, *params_file, *valid_path;
    const char *specs[64];
    int n_specs, have_seed;
    uint64_t seed;
    sr_metric metric;
    int patience, keep_best, save_opt, ckpt_every;
    const char *resume_path, *init_path, *ckpt_path;
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
    else if (!strcmp(n, "metric")) {
        if (!strcmp(v, "recall"))
            t->metric = SR_METRIC_RECALL;
        else if (!strcmp(v, "mrr"))
            t->metric = SR_METRIC_MRR;
        else if (!strcmp(v, "ndcg"))
            t->metric = SR_METRIC_NDCG;
        else
            return cli_fail(CMD, "--metric %s: expected recall, mrr or ndcg", v);
    } else if (!strcmp(n, "patience"))
        return cli_int(CMD, "--patience", v, 1, 1000000, &t->patience);
    else if (!strcmp(n, "keep-best"))
        t->keep_best = 1;
    else if (!strcmp(n, "save-optimizer"))
        t->save_opt = 1;
    else if (!strcmp(n, "resume"))
        t->resume_path = v;
    else if (!strcmp(n, "init"))
        t->init_path = v;
    else if (!strcmp(n, "checkpoint-every"))
        return cli_int(CMD, "--checkpoint-every", v, 1, 1000000, &t->ckpt_every);
    else if (!strcmp(n, "checkpoint"))
        t->ckpt_path = v;
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
    if (cli_read_opts_done(CMD, &ta.ro))
        return 1;
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
    static const char *const metric_names[] = {"recall", "mrr", "ndcg"};
    const char *metric = metric_names[ta.metric];
    const char *resume_path = ta.resume_path, *init_path = ta.init_path;
    const char *ckpt_path = ta.ckpt_path;
    if (!is_gru && (ta.patience || ta.keep_best || ta.save_opt || ta.ckpt_every || ckpt_path ||
                    resume_path || init_path))
        return cli_fail(CMD, "--patience, --keep-best, --save-optimizer, --checkpoint*, "
                        "--resume and --init are for gru4rec");
    if ((ta.patience || ta.keep_best) && !valid_path)
        return cli_fail(CMD, "--%s needs --valid SPLIT", ta.patience ? "patience" : "keep-best");
    if (resume_path && init_path)
        return cli_fail(CMD, "--resume continues the same training, --init starts one on new "
                        "data: give one of them");
    if (ckpt_path && !ta.ckpt_every)
        return cli_fail(CMD, "--checkpoint %s needs --checkpoint-every N", ckpt_path);

    /* Parameters: defaults (or the --resume / --init model's) < preset < file
     * < -p < --seed. */
    sr_gru_params p = sr_gru_default_params();
    char *bspec = NULL;
    sr_error err = {0};
    sr_model *from = NULL;
    const char *from_path = resume_path ? resume_path : init_path;
    int from_epochs = -1;
    if (from_path) {
        if (sr_model_load(from_path, &from, &err) != SR_OK)
            return cli_fail_err(CMD, &err);
        if (sr_model_gru_params(from, &p, &from_epochs) != SR_OK) {
            cli_fail(CMD, "%s: a %s model; --resume and --init take a gru4rec model",
                     from_path, sr_model_algo(from));
            sr_model_free(from);
            return 1;
        }
    }
    if (is_gru) {
        int bad = 0;
        if (preset && sr_gru_params_preset(&p, preset, &err) != SR_OK)
            bad = cli_fail(CMD, "--preset: %s", err.msg);
        if (!bad && params_file && read_params_file(params_file, &p, NULL))
            bad = 1;
        for (int k = 0; !bad && k < n_specs; k++)
            if (sr_gru_params_parse(&p, specs[k], &err) != SR_OK)
                bad = cli_fail(CMD, "-p: %s", err.msg);
        if (bad) {
            sr_model_free(from);
            return 1;
        }
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

    sr_split train, valid;
    memset(&train, 0, sizeof train);
    memset(&valid, 0, sizeof valid);
    int rc = 1;
    sr_model *model = NULL;
    train_ui ui;
    memset(&ui, 0, sizeof ui);

    /* Fail before training, not after it, when MODEL (or the checkpoint)
     * cannot be written or is one of the inputs (train X.split -o X.split). */
    char ckpt_buf[4096];
    if (ta.ckpt_every && !ckpt_path) {
        if (snprintf(ckpt_buf, sizeof ckpt_buf, "%s.ckpt", out_path) >= (int)sizeof ckpt_buf) {
            cli_fail(CMD, "-o %s: name too long", out_path);
            goto out;
        }
        ckpt_path = ckpt_buf;
    }
    for (int k = 0; k < (ckpt_path ? 2 : 1); k++) {
        const char *path = k ? ckpt_path : out_path, *opt = k ? "--checkpoint" : "-o";
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            cli_fail(CMD, "%s %s: is a directory (give a file name)", opt, path);
            goto out;
        }
        if (sr_output_check(path, &err) != SR_OK) {
            cli_fail_err(CMD, &err);
            goto out;
        }
        const char *inputs[] = {train_path, valid_path, params_file, resume_path, init_path};
        for (size_t q = 0; q < sizeof inputs / sizeof *inputs; q++) {
            char alt[4200];
            if (!inputs[q])
                continue;
            snprintf(alt, sizeof alt, "%s.split", inputs[q]);
            if (sr_same_file(path, inputs[q]) || sr_same_file(path, alt)) {
                /* a checkpoint resumed into itself is the one exception */
                if (k == 1 && inputs[q] == resume_path)
                    continue;
                cli_fail(CMD, "%s %s: is an input of this run (%s); refusing to overwrite it",
                         opt, path, inputs[q]);
                goto out;
            }
        }
    }
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
        if (resume_path)
            printf("%-8s %s: resuming after epoch %d of %d\n", "resume", resume_path,
                   from_epochs, p.n_epochs);
        if (init_path)
            printf("%-8s %s: warm start from its %lld items%s\n", "init", init_path,
                   (long long)sr_model_n_items(from),
                   from_epochs >= 0 ? " and optimizer state" : "");
        if (ta.patience)
            printf("%-8s stop after %d epochs without a better validation %s@%d; keep the best\n",
                   "early", ta.patience, metric, ta.vo.cutoffs[0]);
        else if (ta.keep_best)
            printf("%-8s keep the epoch with the best validation %s@%d\n", "best", metric,
                   ta.vo.cutoffs[0]);
        fflush(stdout);
    }

    sr_eval_opts vo = ta.vo;
    vo.threads = threads;
    ui.quiet = com.quiet;
    ui.metric = metric;
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
        to.on_epoch = on_epoch;
        to.ud = &ui;
        to.metric = ta.metric;
        to.patience = ta.patience;
        to.keep_best = ta.keep_best;
        to.save_optimizer = ta.save_opt;
        to.checkpoint_every = ta.ckpt_every;
        to.checkpoint_path = ckpt_path;
        to.resume = resume_path ? from : NULL;
        to.init = init_path ? from : NULL;
        int first = resume_path && from_epochs >= 0 ? from_epochs + 1 : 1;
        if (!com.quiet && p.n_epochs >= first)
            start_bar(&ui, first, p.n_epochs);
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
    int kept_best = (ta.patience || ta.keep_best) && ui.best_epoch;
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
        if (is_gru) {
            json_object_set_new(j, "metric", json_string(metric));
            json_object_set_new(j, "best_epoch", json_integer(ui.best_epoch));
            json_object_set_new(j, "model_epoch",
                                json_integer(kept_best ? ui.best_epoch : ui.last_epoch));
            json_object_set_new(j, "stopped_early", json_boolean(ui.stopped));
        }
        if (cli_json_print(CMD, j))
            goto out;
    } else if (!quiet) {
        char a[32];
        printf("model    %s (%s, %s items), trained in %.1f s", out_path, algo,
               cli_grouped(sr_model_n_items(model), a, sizeof a), secs);
        if (is_gru && ui.last_epoch)
            printf("; weights of epoch %d%s", kept_best ? ui.best_epoch : ui.last_epoch,
                   kept_best ? " (the best)" : "");
        printf("\n");
    }
    rc = 0;
out:
    sr_model_free(from);
    sr_model_free(model);
    sr_split_free(&train);
    sr_split_free(&valid);
    free(bspec);
    return rc;
}
