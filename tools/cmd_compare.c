/*
 * cmd_compare.c - 'sessrec compare TRAIN TEST': trains several algorithms (the
 * baselines, and GRU4Rec when listed) on one training split and prints one
 * table (or JSON) of Recall/MRR/NDCG@k from sr_evaluate, coverage@20 and
 * popularity@20 of the top-20 lists, training time and prediction throughput.
 *
 * Only parses options and prints. Metrics come from sr_evaluate (the same
 * evaluator as 'sessrec eval'); coverage and popularity need the top-20 lists,
 * which sr_evaluate does not expose, so a second scoring pass here collects
 * them (same protocol: unknown test items dropped row by row).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CMD "compare"
#define MAX_ALGOS 16
#define TOPN 20

static void usage(FILE *f)
{
    char names[256];
    cli_algo_names(names, sizeof names);
    fprintf(f,
        "usage: sessrec compare TRAIN TEST [options]\n"
        "\n"
        "Trains each algorithm on TRAIN, evaluates it on TEST (next-item protocol, as\n"
        "'sessrec eval': all items ranked, unknown test items dropped row by row) and\n"
        "prints one table: Recall@k, MRR@k, NDCG@k, coverage@20 (share of the training\n"
        "items that appear in at least one top-20 list), popularity@20 (mean over the\n"
        "predictions of the mean training popularity of the top-20 items, each item's\n"
        "clicks divided by the most clicked item's, as session-rec), training seconds\n"
        "and predictions per second of the evaluation.\n"
        "\n"
        "  TRAIN, TEST          prepared split files (the .split suffix may be left out)\n"
        "                       or click logs such as GRU4Rec TSVs\n"
        "\n"
        "options:\n"
        "  --algos LIST         comma-separated, from: %s\n"
        "                       (default: all baselines, no gru4rec)\n"
        "  -p, --params A:SPEC  parameters of algorithm A, name=value,... (repeatable;\n"
        "                       later ones add to earlier ones), e.g. -p sknn:k=500\n"
        "  --preset NAME        each listed algorithm that has a preset of this name starts\n"
        "                       from it (rsc15: the tuned yoochoose settings; listed below);\n"
        "                       the others from their defaults; -p comes on top\n"
        "  --cutoffs LIST       cutoffs k of the metrics (default 20)\n"
        "  --ties MODE          conservative (default), standard or median\n",
        names);
    cli_opts_help(f, cli_threads_option, 23);
    cli_opts_help(f, cli_common_options, 23);
    fputc('\n', f);
    cli_read_help(f, 23);
    fprintf(f, "\nParameters of each algorithm (defaults in brackets) and its presets:\n");
    cli_print_algos(f, 0);
    cli_print_algos(f, 1);
    fputs(
        "\n"
        "Top-20 lists take tied items (also unscored ones filling a short list) in item\n"
        "order, like 'sessrec recommend'. Progress (training, evaluation) goes to\n"
        "stderr; the table ends with every algorithm's effective parameters. A warning\n"
        "says when more than 5% of the test rows are skipped as unknown items.\n"
        "\n"
        "example:\n"
        "  sessrec compare data/train_full data/test --preset rsc15 --algos pop,sr,stan\n", f);
}

/* ---- coverage and popularity of the top-20 lists ---------------------------------- */

typedef struct toplists {
    const sr_model *m;
    const int64_t *off;      /* (ns + 1) into items: test sessions in model indices */
    const int32_t *items;
    int64_t ns;
    const double *popn;      /* (n_items) training clicks / max clicks */
    int nthreads;
    /* per thread results */
    uint8_t *seen;           /* (nthreads, n_items) */
    double *popsum;          /* (nthreads) */
    int64_t *npred;          /* (nthreads) */
    int failed;
} toplists;

typedef struct tl_arg {
    toplists *t;
    int id;
} tl_arg;

static void *toplists_thread(void *p)
{
    tl_arg *a = p;
    toplists *t = a->t;
    const int64_t ni = sr_model_n_items(t->m);
    const int B = 64;
    sr_scorer *sc = sr_scorer_new(t->m, B);
    float *scores = malloc((size_t)B * (size_t)ni * sizeof *scores);
    int64_t pos[64], end[64];
    int32_t in[64], idx[TOPN];
    uint8_t *seen = t->seen + (size_t)a->id * (size_t)ni;
    if (!sc || !scores) {
        t->failed = 1;
        free(scores);
        sr_scorer_free(sc);
        return NULL;
    }
    /* this thread's sessions: a contiguous block */
    int64_t lo = t->ns * a->id / t->nthreads, hi = t->ns * (a->id + 1) / t->nthreads;
    int64_t next = lo;
    int nact = 0;
    for (;;) {
        while (nact < B && next < hi) {
            sr_scorer_reset(sc, nact);
            pos[nact] = t->off[next];
            end[nact] = t->off[next + 1];
            nact++;
            next++;
        }
        if (!nact)
            break;
        for (int i = 0; i < nact; i++)
            in[i] = t->items[pos[i]];
        sr_scorer_step(sc, in, nact, scores);
        for (int i = 0; i < nact; i++) {
            int k = sr_topk(scores + (size_t)i * (size_t)ni, ni, TOPN, idx, NULL);
            double s = 0;
            for (int j = 0; j < k; j++) {
                seen[idx[j]] = 1;
                s += t->popn[idx[j]];
            }
            t->popsum[a->id] += k ? s / k : 0;
            t->npred[a->id]++;
            pos[i]++;
        }
        for (int i = 0; i < nact;) {
            if (pos[i] + 1 >= end[i]) {
                nact--;
                if (i != nact) {
                    sr_scorer_move(sc, i, nact);
                    pos[i] = pos[nact];
                    end[i] = end[nact];
                }
            } else {
                i++;
            }
        }
    }
    free(scores);
    sr_scorer_free(sc);
    return NULL;
}

/* Coverage@20 and popularity@20 of m on test; popularity from the train split. */
static int top20_stats(const sr_model *m, const sr_split *train, const sr_split *test,
                       int threads, double *coverage, double *popularity)
{
    const int64_t ni = sr_model_n_items(m);
    double *popn = calloc((size_t)ni, sizeof *popn);
    int64_t *off = malloc((size_t)(test->n_sessions + 1) * sizeof *off);
    int32_t *items = malloc((size_t)(test->n_events ? test->n_events : 1) * sizeof *items);
    int nt = sr_resolve_threads(threads);
    toplists t = {0};
    t.seen = calloc((size_t)nt * (size_t)ni, 1);
    t.popsum = calloc((size_t)nt, sizeof *t.popsum);
    t.npred = calloc((size_t)nt, sizeof *t.npred);
    pthread_t *th = malloc((size_t)nt * sizeof *th);
    tl_arg *args = malloc((size_t)nt * sizeof *args);
    int rc = -1;
    if (!popn || !off || !items || !t.seen || !t.popsum || !t.npred || !th || !args)
        goto done;
    for (int64_t e = 0; e < train->n_events; e++) {
        int64_t j = sr_model_item_of_split(m, train, train->items[e]);
        if (j >= 0)
            popn[j] += 1;
    }
    double mx = 0;
    for (int64_t i = 0; i < ni; i++)
        mx = popn[i] > mx ? popn[i] : mx;
    for (int64_t i = 0; i < ni && mx > 0; i++)
        popn[i] /= mx;
    int64_t k = 0, ns = 0;
    for (int64_t s = 0; s < test->n_sessions; s++) {
        int64_t b = k;
        for (int64_t e = test->offsets[s]; e < test->offsets[s + 1]; e++) {
            int64_t j = sr_model_item_of_split(m, test, test->items[e]);
            if (j >= 0)
                items[k++] = (int32_t)j;
        }
        if (k - b >= 2)
            off[ns++] = b;
        else
            k = b;
    }
    off[ns] = k;
    t.m = m;
    t.off = off;
    t.items = items;
    t.ns = ns;
    t.popn = popn;
    t.nthreads = nt;
    int started = 0;
    for (int i = 0; i < nt; i++) {
        args[i] = (tl_arg){&t, i};
        if (pthread_create(&th[i], NULL, toplists_thread, &args[i]) != 0) {
            t.failed = 1;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (t.failed)
        goto done;
    int64_t covered = 0, np = 0;
    double ps = 0;
    for (int64_t i = 0; i < ni; i++) {
        int any = 0;
        for (int j = 0; j < nt; j++)
            any |= t.seen[(size_t)j * (size_t)ni + (size_t)i];
        covered += any;
    }
    for (int j = 0; j < nt; j++) {
        ps += t.popsum[j];
        np += t.npred[j];
    }
    *coverage = ni ? (double)covered / (double)ni : 0;
    *popularity = np ? ps / (double)np : 0;
    rc = 0;
done:
    free(popn);
    free(off);
    free(items);
    free(t.seen);
    free(t.popsum);
    free(t.npred);
    free(th);
    free(args);
    return rc;
}

/* ---- the command -------------------------------------------------------------------- */

typedef struct row {
    char algo[16];
    char *params;           /* the -p text given (NULL = defaults) */
    char eff[2048];         /* every parameter's effective value */
    sr_eval_result ev;
    double coverage, popularity, train_s;
    int ok;
    char error[512];
} row;

/* Is `name` a preset of at least one algorithm? */
static int known_preset(const char *name)
{
    for (int i = 0; i < sr_algo_count(); i++)
        if (sr_algo_preset(sr_algo_at(i), name))
            return 1;
    return 0;
}

/* The baselines' preset text is already in `params` (so that the table shows
 * it); gru4rec's preset is passed by name. */
typedef struct progress_ui {
    cli_progress bar;
    char label[64];
    int quiet;
} progress_ui;

static void on_progress(const sr_train_progress *p, void *ud)
{
    progress_ui *u = ud;
    if (u->quiet)
        return;
    char extra[128], rate[32];
    cli_grouped((int64_t)(p->events_per_sec + 0.5), rate, sizeof rate);
    snprintf(extra, sizeof extra, "loss %.4f, %s ev/s", p->loss, rate);
    if (p->epoch_done) {
        cli_progress_done(&u->bar, extra);
        if (p->epoch < p->n_epochs) {
            snprintf(u->label, sizeof u->label, "compare: gru4rec epoch %d/%d", p->epoch + 1,
                     p->n_epochs);
            cli_progress_init(&u->bar, u->label);
        }
        return;
    }
    cli_progress_update(&u->bar, p->events_total > 0 ? (double)p->events_done /
                                                           (double)p->events_total : 0, extra);
}

static sr_status train_one(const char *algo, const char *params, const char *preset,
                           const sr_split *train, int threads, int quiet, sr_model **m,
                           sr_error *err)
{
    const sr_algo_info *a = sr_algo_find(algo);
    int gru = !strcmp(algo, "gru4rec");
    sr_train_opts to = sr_train_default_opts();
    progress_ui ui;
    memset(&ui, 0, sizeof ui);
    ui.quiet = quiet;
    snprintf(ui.label, sizeof ui.label, "compare: gru4rec epoch 1");
    cli_progress_init(&ui.bar, ui.label);
    to.threads = threads;
    to.cb = on_progress;
    to.ud = &ui;
    return sr_train(algo, train, gru && sr_algo_preset(a, preset) ? preset : NULL, params, &to, m,
                    err);
}

static const cli_opt compare_options[] = {
    {"algos", 0, NULL, "LIST", ""},
    {"params", 'p', NULL, "A:SPEC", ""},
    {"preset", 0, NULL, "NAME", ""},
    {"cutoffs", 0, NULL, "LIST", ""},
    {"ties", 0, NULL, "MODE", ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct compare_args {
    const char *preset, *algos_arg;
    const char *pspecs[64];
    int n_pspecs;
    sr_eval_opts o;
    sr_read_opts ro;
} compare_args;

static int on_option(void *ud, const cli_opt *opt, const char *v)
{
    compare_args *c = ud;
    const char *n = opt->name;
    if (cli_opt_in(opt, cli_read_options))
        return cli_read_opt(CMD, opt, v, &c->ro);
    if (!strcmp(n, "algos")) {
        c->algos_arg = v;
    } else if (!strcmp(n, "preset")) {
        if (!known_preset(v))
            return cli_fail(CMD, "--preset: no algorithm has a preset '%s' (see "
                            "sessrec compare --help)", v);
        c->preset = v;
    } else if (!strcmp(n, "cutoffs")) {
        return cli_cutoffs(CMD, v, &c->o);
    } else if (!strcmp(n, "ties")) {
        sr_error e;
        if (sr_ties_parse(v, &c->o.ties, &e) != SR_OK)
            return cli_fail(CMD, "--ties: %s", e.msg);
    } else { /* params */
        if (c->n_pspecs == 64)
            return cli_fail(CMD, "too many -p options (64 at most)");
        if (!strchr(v, ':'))
            return cli_fail(CMD, "-p: expected ALGO:name=value,..., got '%s'", v);
        c->pspecs[c->n_pspecs++] = v;
    }
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    compare_args ca;
    memset(&ca, 0, sizeof ca);
    ca.algos_arg = "pop,spop,iknn,ar,sr,sknn,vsknn,stan";
    ca.o.n_cutoffs = 1;
    ca.o.cutoffs[0] = 20;
    ca.o.ties = SR_TIES_CONSERVATIVE;
    ca.o.batch_size = 512;
    ca.ro = sr_read_default_opts();
    const cli_opt *const tables[] = {compare_options, cli_read_options, cli_threads_option,
                                     cli_common_options, NULL};
    cli_cmd cc = {CMD, "TRAIN TEST [options]", usage, tables, on_option, &ca};
    cli_common com = {0};
    char **pos;
    int npos;
    int prc = cli_parse(&cc, argc, argv, &com, &pos, &npos);
    if (prc >= 0)
        return prc;
    if (npos != 2) {
        prc = npos < 2 ? cli_usage_error(&cc, "missing %s", npos ? "TEST" : "TRAIN and TEST")
                       : cli_usage_error(&cc, "unexpected argument '%s'", pos[2]);
        free(pos);
        return prc;
    }
    const char *train_path = pos[0], *test_path = pos[1], *preset = ca.preset;
    const char *algos_arg = ca.algos_arg;
    const char *const *pspecs = ca.pspecs;
    int n_pspecs = ca.n_pspecs, json = com.json, threads = com.threads;
    free(pos);
    sr_eval_opts o = ca.o;
    ca.ro.threads = threads;
    if (cli_read_opts_done("compare", &ca.ro))
        return 1;
    o.threads = threads;

    /* the algorithm list and each one's parameters */
    row rows[MAX_ALGOS];
    int n_rows = 0;
    memset(rows, 0, sizeof rows);
    {
        char buf[512];
        if (strlen(algos_arg) >= sizeof buf)
            return cli_fail(CMD, "--algos: list too long");
        strcpy(buf, algos_arg);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (!sr_algo_find(tok)) {
                char names[256];
                cli_algo_names(names, sizeof names);
                return cli_fail(CMD, "--algos: unknown algorithm '%s' (known: %s)", tok, names);
            }
            if (n_rows == MAX_ALGOS)
                return cli_fail(CMD, "--algos: at most %d algorithms", MAX_ALGOS);
            snprintf(rows[n_rows++].algo, sizeof rows[0].algo, "%s", tok);
        }
        if (!n_rows)
            return cli_fail(CMD, "--algos: no algorithm given");
    }
    int rc = 0;
    for (int r = 0; r < n_rows && !rc; r++) {
        const sr_preset_info *pr = preset ? sr_algo_preset(sr_algo_find(rows[r].algo), preset)
                                          : NULL;
        if (pr && strcmp(rows[r].algo, "gru4rec") && cli_append_spec(&rows[r].params, pr->params))
            rc = cli_fail(CMD, "out of memory");
        for (int k = 0; k < n_pspecs && !rc; k++) {
            size_t l = strlen(rows[r].algo);
            if (!strncmp(pspecs[k], rows[r].algo, l) && pspecs[k][l] == ':' &&
                cli_append_spec(&rows[r].params, pspecs[k] + l + 1))
                rc = cli_fail(CMD, "out of memory");
        }
    }
    for (int k = 0; k < n_pspecs && !rc; k++) {
        char name[32];
        size_t l = (size_t)(strchr(pspecs[k], ':') - pspecs[k]);
        snprintf(name, sizeof name, "%.*s", (int)(l < 31 ? l : 31), pspecs[k]);
        int listed = 0;
        for (int r = 0; r < n_rows; r++)
            listed |= !strcmp(rows[r].algo, name);
        if (!listed)
            rc = cli_fail(CMD, "-p %s: '%s' is not among --algos", pspecs[k], name);
    }
    if (rc) {
        for (int r = 0; r < n_rows; r++)
            free(rows[r].params);
        return rc;
    }
    sr_split train, test;
    sr_error err = {0};
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    if (sr_split_open_opts(train_path, &ca.ro, &train, &err) != SR_OK) {
        rc = cli_fail_err(CMD, &err);
        goto out;
    }
    if (sr_split_open_opts(test_path, &ca.ro, &test, &err) != SR_OK) {
        rc = cli_fail_err(CMD, &err);
        goto out;
    }
    for (int r = 0; r < n_rows; r++) { /* the effective parameters, for the footer */
        row *w = &rows[r];
        const sr_algo_info *ai = sr_algo_find(w->algo);
        if (strcmp(w->algo, "gru4rec")) {
            cli_effective_params(ai, w->params, w->eff, sizeof w->eff);
            continue;
        }
        sr_gru_params gp = sr_gru_default_params();
        if ((preset && sr_algo_preset(ai, preset) && sr_gru_params_preset(&gp, preset, &err)) ||
            (w->params && sr_gru_params_parse(&gp, w->params, &err) != SR_OK)) {
            rc = cli_fail(CMD, "-p gru4rec: %s", err.msg);
            goto out;
        }
        sr_gru_params_format(&gp, w->eff, sizeof w->eff);
    }
    int warned = 0;
    char gb[32];
    for (int r = 0; r < n_rows; r++) {
        row *w = &rows[r];
        sr_model *m = NULL;
        if (!com.quiet)
            fprintf(stderr, "compare: training %s (%d/%d) on %s clicks ...\n", w->algo, r + 1,
                    n_rows, cli_grouped(train.n_events, gb, sizeof gb));
        double t0 = cli_now();
        sr_status st = train_one(w->algo, w->params, preset, &train, threads, com.quiet, &m,
                                 &err);
        w->train_s = cli_now() - t0;
        if (st != SR_OK) {
            snprintf(w->error, sizeof w->error, "%s", err.msg);
            fprintf(stderr, "sessrec compare: %s: %s\n", w->algo, err.msg);
            rc = 1;
            continue;
        }
        if (!com.quiet)
            fprintf(stderr, "compare: evaluating %s (trained in %.1f s) ...\n", w->algo,
                    w->train_s);
        st = sr_evaluate(m, &test, &o, &w->ev, &err);
        if (st == SR_OK && top20_stats(m, &train, &test, threads, &w->coverage, &w->popularity))
            st = sr_error_set(&err, SR_ERR_NOMEM, "out of memory while collecting top-20 lists");
        if (st != SR_OK) {
            snprintf(w->error, sizeof w->error, "%s", err.msg);
            fprintf(stderr, "sessrec compare: %s: %s\n", w->algo, err.msg);
            rc = 1;
        } else {
            w->ok = 1;
            if (!warned)
                cli_check_skipped(CMD, test_path, test.n_events, &w->ev);
            warned = 1;
        }
        sr_model_free(m);
    }

    if (json) {
        json_t *j = json_object(), *cuts = json_array(), *res = json_array();
        json_object_set_new(j, "train", cli_json_text(train_path));
        json_object_set_new(j, "test", cli_json_text(test_path));
        json_object_set_new(j, "preset", preset ? cli_json_text(preset) : json_null());
        json_object_set_new(j, "ties", json_string(sr_ties_name(o.ties)));
        for (int c = 0; c < o.n_cutoffs; c++)
            json_array_append_new(cuts, json_integer(o.cutoffs[c]));
        json_object_set_new(j, "cutoffs", cuts);
        json_object_set_new(j, "threads", json_integer(sr_resolve_threads(threads)));
        for (int r = 0; r < n_rows; r++) {
            row *w = &rows[r];
            json_t *x = json_object();
            json_object_set_new(x, "algo", json_string(w->algo));
            json_object_set_new(x, "params", cli_json_text(w->eff));
            if (!w->ok) {
                json_object_set_new(x, "error", cli_json_text(w->error));
                json_array_append_new(res, x);
                continue;
            }
            json_object_set_new(x, "train_seconds", cli_json_real(CMD, "train seconds",
                                                                  w->train_s));
            cli_json_eval(CMD, x, &w->ev);
            json_object_set_new(x, "coverage@20", cli_json_real(CMD, "coverage@20",
                                                                w->coverage));
            json_object_set_new(x, "popularity@20", cli_json_real(CMD, "popularity@20",
                                                                  w->popularity));
            json_array_append_new(res, x);
        }
        json_object_set_new(j, "results", res);
        if (cli_json_print(CMD, j))
            rc = 1;
    } else {
        printf("%s -> %s, %s ties%s%s\n", train_path, test_path, sr_ties_name(o.ties),
               preset ? ", preset " : "", preset ? preset : "");
        printf("%-8s", "algo");
        for (int c = 0; c < o.n_cutoffs; c++) {
            char h[3][24];
            snprintf(h[0], sizeof h[0], "Recall@%d", o.cutoffs[c]);
            snprintf(h[1], sizeof h[1], "MRR@%d", o.cutoffs[c]);
            snprintf(h[2], sizeof h[2], "NDCG@%d", o.cutoffs[c]);
            printf(" %10s %10s %10s", h[0], h[1], h[2]);
        }
        printf(" %8s %8s %9s %10s\n", "Cov@20", "Pop@20", "train s", "pred/s");
        for (int r = 0; r < n_rows; r++) {
            row *w = &rows[r];
            printf("%-8s", w->algo);
            if (!w->ok) {
                printf(" failed: %s\n", w->error);
                continue;
            }
            for (int c = 0; c < w->ev.n_cutoffs; c++)
                printf(" %10.4f %10.4f %10.4f", w->ev.recall[c], w->ev.mrr[c], w->ev.ndcg[c]);
            char g[32];
            printf(" %8.4f %8.4f %9.2f %10s\n", w->coverage, w->popularity, w->train_s,
                   cli_grouped((int64_t)(w->ev.seconds > 0 ? (double)w->ev.n_predictions /
                                                         w->ev.seconds : 0), g, sizeof g));
        }
        for (int r = 0; r < n_rows; r++)
            if (rows[r].ok) {
                printf("%lld predictions (%lld test rows with items unknown to the models "
                       "dropped), %d threads\n", (long long)rows[r].ev.n_predictions,
                       (long long)rows[r].ev.n_skipped, sr_resolve_threads(threads));
                break;
            }
        printf("parameters:\n");
        for (int r = 0; r < n_rows; r++)
            printf("  %s: %s\n", rows[r].algo, rows[r].eff);
    }
out:
    sr_split_free(&train);
    sr_split_free(&test);
    for (int r = 0; r < n_rows; r++)
        free(rows[r].params);
    return rc;
}
