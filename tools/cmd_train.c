/*
 * cmd_train.c - 'sessrec train TRAIN -o MODEL': trains GRU4Rec (or a baseline)
 * on a split and writes the model file atomically. Parses options, prints the
 * effective settings, a progress bar on stderr and one line per epoch; the
 * work itself is sr_train_gru / sr_train_baseline. A diverged (NaN) training
 * writes nothing and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "util/util.h" /* sr_now, sr_atomic_*, sr_resolve_threads */

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
        "                                   sample_alpha 0.75, logq 1, 10 epochs (the\n"
        "                                   official README's table; its paramfile\n"
        "                                   rsc15_xe_shared_100_best.py differs: dropout\n"
        "                                   0.0/0.4, lr 0.2, momentum 0.2, alpha 0.5;\n"
        "                                   see docs/gru4rec.md)\n"
        "                         tutorial  one-hot input, one GRU layer of 50, dropout 0.1\n"
        "                                   on its output (dropout_p_embed: with one-hot\n"
        "                                   input the GRU layer is the input layer), full\n"
        "                                   softmax cross-entropy, Adam lr 0.001, batch\n"
        "                                   1024, 3 epochs\n"
        "  --params-file F      parameters, one name=value per line (# starts a comment),\n"
        "                       or an official GRU4Rec parameter file read unchanged\n"
        "                       (gru4rec_params = OrderedDict([('loss', 'bpr-max'), ...]))\n"
        "  -p, --params SPEC    parameters as name=value,name=value (repeatable)\n"
        "                       Order: defaults, then --preset, then --params-file, then -p.\n"
        "  --valid SPLIT        validation split (file or TSV like TRAIN): Recall@K and\n"
        "                       MRR@K (conservative ties) after each epoch (a baseline:\n"
        "                       once, after training)\n"
        "  --cutoffs K[,K...]   cutoffs of the validation metrics (default 20); the first\n"
        "                       is the one early stopping follows (--cutoff K: the same)\n",
        "\n                       (their parameters: below)");
    fputs(
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
        "  --json               print one JSON object at the end (per epoch: loss, speed,\n"
        "                       validation; the best epoch, the epoch the model holds)\n", f);
    fprintf(f,
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
        "  embedding            size of a separate input embedding, 0 = one-hot input,\n"
        "                       layersize = the size of the first layer [0]\n"
        "                       (used only when constrained_embedding=False)\n"
        "  batch_size           parallel sessions per mini-batch [64]\n"
        "  dropout_p_embed      dropout on the input embedding [0] (one-hot input: on the\n"
        "                       first GRU layer's output, as the official code)\n"
        "  dropout_p_hidden     dropout on each GRU layer's output [0] (one-hot input: on\n"
        "                       the layers above the first; with one layer it would\n"
        "                       reach none, which is an error)\n"
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
        defaults);
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

/* Reads a parameter file. GRU4Rec: the whole file through
 * sr_gru_params_parse_text (name=value lines or an official Python parameter
 * file; errors name file:line). Baselines: name=value lines, '#' comments,
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

/* One finished epoch, kept for --json. */
typedef struct epoch_rec {
    int epoch, improved;
    double loss, events_per_sec, seconds;
    int have_valid;
    sr_eval_result valid;
} epoch_rec;

typedef struct train_ui {
    int quiet;                  /* no progress, no epoch lines (-q or --json) */
    int tty;
    cli_progress bar;
    char label[64];
    epoch_rec *epochs;          /* (n_epochs_seen) */
    int n_seen, cap;
    int best_epoch, last_epoch, stopped;
    const char *metric;
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
    /* the epoch's line: on_epoch */
}

static int on_epoch(const sr_train_epoch *e, void *ud)
{
    train_ui *u = ud;
    if (u->n_seen == u->cap) {
        int cap = u->cap ? 2 * u->cap : 16;
        epoch_rec *n = realloc(u->epochs, (size_t)cap * sizeof *n);
        if (!n)
            return 0; /* the --json record is incomplete; training goes on */
        u->epochs = n;
        u->cap = cap;
    }
    epoch_rec *r = &u->epochs[u->n_seen++];
    memset(r, 0, sizeof *r);
    r->epoch = e->epoch;
    r->improved = e->improved;
    r->loss = e->loss;
    r->events_per_sec = e->events_per_sec;
    r->seconds = e->seconds;
    if (e->valid && e->valid->n_predictions > 0) {
        r->have_valid = 1;
        r->valid = *e->valid;
    }
    u->best_epoch = e->best_epoch;
    u->last_epoch = e->epoch;
    u->stopped = e->stopping && e->epoch < e->n_epochs;
    if (u->quiet)
        return 0;
    char rate[32];
    cli_grouped((int64_t)(e->events_per_sec + 0.5), rate, sizeof rate);
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
    if (e->stopping && e->epoch < e->n_epochs)
        printf("early stop: no better validation %s for %d epochs; best epoch %d (%s %.4f)\n",
               u->metric, e->since_best, e->best_epoch, u->metric, e->best_metric);
    fflush(stdout);
    if (e->epoch < e->n_epochs && !e->stopping)
        start_bar(u, e->epoch + 1, e->n_epochs);
    return 0;
}

static void print_json(const train_ui *u, const char *out_path, const char *algo,
                       const sr_model *m, int keep_best, double secs)
{
    printf("{\"model\": ");
    cli_json_str(stdout, out_path);
    printf(", \"algo\": ");
    cli_json_str(stdout, algo);
    printf(", \"items\": %lld, \"seconds\": %.3f", (long long)sr_model_n_items(m), secs);
    if (!strcmp(algo, "gru4rec")) {
        int model_epoch = keep_best && u->best_epoch ? u->best_epoch : u->last_epoch;
        printf(", \"metric\": \"%s\", \"best_epoch\": %d, \"model_epoch\": %d, "
               "\"stopped_early\": %s, \"epochs\": [", u->metric, u->best_epoch, model_epoch,
               u->stopped ? "true" : "false");
        for (int i = 0; i < u->n_seen; i++) {
            const epoch_rec *r = &u->epochs[i];
            printf("%s{\"epoch\": %d, \"loss\": %.6f, \"events_per_sec\": %.1f, "
                   "\"seconds\": %.3f", i ? ", " : "", r->epoch, r->loss, r->events_per_sec,
                   r->seconds);
            if (r->have_valid) {
                printf(", \"valid\": {");
                for (int k = 0; k < r->valid.n_cutoffs; k++)
                    printf("%s\"recall@%d\": %.6f, \"mrr@%d\": %.6f, \"ndcg@%d\": %.6f",
                           k ? ", " : "", r->valid.cutoffs[k], r->valid.recall[k],
                           r->valid.cutoffs[k], r->valid.mrr[k], r->valid.cutoffs[k],
                           r->valid.ndcg[k]);
                printf("}, \"best\": %s", r->improved ? "true" : "false");
            }
            printf("}");
        }
        printf("]");
    }
    printf("}\n");
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
    const char *params_file = NULL, *valid_path = NULL, *cutoffs = "20", *metric = "recall";
    const char *resume_path = NULL, *init_path = NULL, *ckpt_path = NULL;
    const char *specs[64];
    int n_specs = 0, threads = 0, quiet = 0, have_seed = 0, json = 0;
    int patience = 0, keep_best = 0, save_opt = 0, ckpt_every = 0;
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
        if (!strcmp(a, "--json") || !strcmp(a, "--keep-best") || !strcmp(a, "--save-optimizer")) {
            *(a[2] == 'j' ? &json : a[2] == 'k' ? &keep_best : &save_opt) = 1;
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
        else if (!strcmp(a, "--cutoff") || !strcmp(a, "--cutoffs"))
            cutoffs = argv[++i];
        else if (!strcmp(a, "--metric"))
            metric = argv[++i];
        else if (!strcmp(a, "--patience")) {
            if (cli_int(CMD, "--patience", argv[++i], 1, 1000000, &patience))
                return 1;
        } else if (!strcmp(a, "--checkpoint-every")) {
            if (cli_int(CMD, "--checkpoint-every", argv[++i], 1, 1000000, &ckpt_every))
                return 1;
        } else if (!strcmp(a, "--checkpoint"))
            ckpt_path = argv[++i];
        else if (!strcmp(a, "--resume"))
            resume_path = argv[++i];
        else if (!strcmp(a, "--init"))
            init_path = argv[++i];
        else if (!strcmp(a, "--seed")) {
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
    sr_eval_opts vo = sr_eval_default_opts();
    if (cli_cutoffs(CMD, cutoffs, &vo))
        return 1;
    sr_metric met = !strcmp(metric, "recall") ? SR_METRIC_RECALL
                    : !strcmp(metric, "mrr")  ? SR_METRIC_MRR
                    : !strcmp(metric, "ndcg") ? SR_METRIC_NDCG
                                              : (sr_metric)-1;
    if ((int)met < 0)
        return cli_fail(CMD, "--metric %s: expected recall, mrr or ndcg", metric);
    if (!is_gru && (patience || keep_best || save_opt || ckpt_every || ckpt_path ||
                    resume_path || init_path))
        return cli_fail(CMD, "--patience, --keep-best, --save-optimizer, --checkpoint*, "
                        "--resume and --init are for gru4rec");
    if ((patience || keep_best) && !valid_path)
        return cli_fail(CMD, "--%s needs --valid SPLIT", patience ? "patience" : "keep-best");
    if (resume_path && init_path)
        return cli_fail(CMD, "--resume continues the same training, --init starts one on new "
                        "data: give one of them");
    if (ckpt_path && !ckpt_every)
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
    sr_split train, valid;
    memset(&train, 0, sizeof train);
    memset(&valid, 0, sizeof valid);
    train_ui ui;
    memset(&ui, 0, sizeof ui);
    int rc = 1;
    sr_model *model = NULL;
    char ckpt_buf[4096];
    if (ckpt_every && !ckpt_path) {
        if (snprintf(ckpt_buf, sizeof ckpt_buf, "%s.ckpt", out_path) >= (int)sizeof ckpt_buf) {
            cli_fail(CMD, "-o %s: name too long", out_path);
            goto out;
        }
        ckpt_path = ckpt_buf;
    }
    for (int k = 0; k < (ckpt_path ? 2 : 1); k++) {
        const char *path = k ? ckpt_path : out_path;
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            cli_fail(CMD, "%s %s: is a directory (give a file name)", k ? "--checkpoint" : "-o",
                     path);
            goto out;
        }
        sr_atomic probe;
        if (sr_atomic_open(&probe, path, &err) != SR_OK) {
            cli_fail_err(CMD, &err);
            goto out;
        }
        sr_atomic_abort(&probe);
    }
    if (sr_split_open(train_path, &train, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }
    if (valid_path && sr_split_open(valid_path, &valid, &err) != SR_OK) {
        cli_fail_err(CMD, &err);
        goto out;
    }

    int nthreads = sr_resolve_threads(threads);
    if (json)
        quiet = 1;
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
        if (resume_path)
            printf("%-8s %s: resuming after epoch %d of %d\n", "resume", resume_path,
                   from_epochs, p.n_epochs);
        if (init_path)
            printf("%-8s %s: warm start from its %lld items%s\n", "init", init_path,
                   (long long)sr_model_n_items(from),
                   from_epochs >= 0 ? " and optimizer state" : "");
        if (patience)
            printf("%-8s stop after %d epochs without a better validation %s@%d; keep the best\n",
                   "early", patience, metric, vo.cutoffs[0]);
        else if (keep_best)
            printf("%-8s keep the epoch with the best validation %s@%d\n", "best", metric,
                   vo.cutoffs[0]);
        fflush(stdout);
    }

    vo.threads = threads;
    ui.quiet = quiet;
    ui.metric = metric;
    ui.tty = isatty(2);
    double t0 = sr_now();
    sr_status st;
    if (is_gru) {
        sr_train_opts to = sr_train_default_opts();
        to.threads = threads;
        to.valid = valid_path ? &valid : NULL;
        to.valid_opts = vo;
        to.cb = on_progress;
        to.on_epoch = on_epoch;
        to.ud = &ui;
        to.metric = met;
        to.patience = patience;
        to.keep_best = keep_best;
        to.save_optimizer = save_opt;
        to.checkpoint_every = ckpt_every;
        to.checkpoint_path = ckpt_path;
        to.resume = resume_path ? from : NULL;
        to.init = init_path ? from : NULL;
        int first = resume_path && from_epochs >= 0 ? from_epochs + 1 : 1;
        if (!quiet && p.n_epochs >= first)
            start_bar(&ui, first, p.n_epochs);
        st = sr_train_gru(&train, &p, &to, &model, &err);
        if (!quiet && ui.tty && st != SR_OK)
            fprintf(stderr, "\r\033[K");
    } else {
        st = sr_train_baseline(algo, bspec, &train, &model, &err);
        if (st == SR_OK && valid_path && !quiet) {
            sr_eval_result res;
            sr_status vs = sr_evaluate(model, &valid, &vo, &res, &err);
            if (vs == SR_OK)
                for (int k = 0; k < res.n_cutoffs; k++)
                    printf("valid    Recall@%d %.4f  MRR@%d %.4f\n", res.cutoffs[k],
                           res.recall[k], res.cutoffs[k], res.mrr[k]);
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
    int kept_best = (patience || keep_best) && ui.best_epoch;
    if (json) {
        print_json(&ui, out_path, algo, model, kept_best, secs);
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
    free(ui.epochs);
    sr_model_free(from);
    sr_model_free(model);
    sr_split_free(&train);
    sr_split_free(&valid);
    free(bspec);
    return rc;
}
