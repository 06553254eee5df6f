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
#include "util/util.h" /* sr_now, sr_resolve_threads */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CMD "compare"
#define MAX_ALGOS 16
#define TOPN 20

/* issue 4's settings for yoochoose (the session-rec studies' tuned values) */
static const struct {
    const char *algo, *params;
} preset_rsc15[] = {
    {"iknn", "n_sims=100,lambda=20,alpha=0.5"},
    {"ar", "pruning=20"},
    {"sr", "steps=10,weighting=div,pruning=20"},
    {"sknn", "k=500,sample_size=10000,similarity=jaccard,sampling=recent"},
    {"vsknn", "k=1000,sample_size=5000,weighting=log,weighting_score=quadratic,idf_weighting=2"},
    {"stan", "k=500,sample_size=5000,lambda_spw=1,lambda_snh=10,lambda_inh=1"},
};

static void usage(FILE *f)
{
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
        "  --algos LIST         comma-separated: pop, spop, iknn, sr, ar, sknn, vsknn, stan,\n"
        "                       gru4rec (default: all baselines, no gru4rec)\n"
        "  -p, --params A:SPEC  parameters of algorithm A, name=value,... (repeatable;\n"
        "                       later ones add to earlier ones), e.g. -p sknn:k=500\n"
        "  --preset NAME        rsc15: issue 4's tuned settings (iknn n_sims=100,lambda=20;\n"
        "                       sr steps=10; sknn k=500,sample_size=10000; vsknn k=1000,\n"
        "                       weighting=log,weighting_score=quadratic,idf_weighting=2;\n"
        "                       stan k=500,lambda_spw=1,lambda_snh=10,lambda_inh=1;\n"
        "                       gru4rec: its rsc15 preset); -p comes on top\n"
        "  --cutoffs LIST       cutoffs k of the metrics (default 20)\n"
        "  --ties MODE          conservative (default), standard or median\n"
        "  --threads N          threads of the evaluation (default 0 = all cores)\n"
        "  --json               print one JSON object instead of the table\n"
        "  -h, --help           this text\n"
        "\n");
    cli_print_baseline_params(f);
    fputs(
        "\n"
        "Top-20 lists take tied items (also unscored ones filling a short list) in item\n"
        "order, like 'sessrec recommend'.\n"
        "\n"
        "example:\n"
        "  sessrec compare data/train_full data/test --preset rsc15 --algos pop,sr,stan\n", f);
}

static const char *ties_name(sr_ties t)
{
    return t == SR_TIES_STANDARD ? "standard" : t == SR_TIES_MEDIAN ? "median" : "conservative";
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
    sr_eval_result ev;
    double coverage, popularity, train_s;
    int ok;
    char error[512];
} row;

static int known_algo(const char *a)
{
    if (!strcmp(a, "gru4rec"))
        return 1;
    for (const char *const *n = sr_baseline_names(); *n; n++)
        if (!strcmp(a, *n))
            return 1;
    return 0;
}

static int parse_cutoffs(const char *s, sr_eval_opts *o)
{
    char buf[512];
    if (strlen(s) >= sizeof buf)
        return cli_fail(CMD, "--cutoffs: list too long");
    strcpy(buf, s);
    o->n_cutoffs = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_cutoffs == SR_MAX_CUTOFFS)
            return cli_fail(CMD, "--cutoffs: at most %d cutoffs", SR_MAX_CUTOFFS);
        if (cli_int(CMD, "--cutoffs", tok, 1, 1000000, &o->cutoffs[o->n_cutoffs]))
            return 1;
        o->n_cutoffs++;
    }
    if (o->n_cutoffs == 0)
        return cli_fail(CMD, "--cutoffs: expected a list like 10,20, got '%s'", s);
    return 0;
}

static sr_status train_one(const char *algo, const char *params, const char *preset,
                           const sr_split *train, int threads, sr_model **m, sr_error *err)
{
    if (strcmp(algo, "gru4rec"))
        return sr_train_baseline(algo, params, train, m, err);
    sr_gru_params p = sr_gru_default_params();
    sr_status st;
    if (preset && (st = sr_gru_params_preset(&p, preset, err)) != SR_OK)
        return st;
    if (params && (st = sr_gru_params_parse(&p, params, err)) != SR_OK)
        return st;
    sr_train_opts to = sr_train_default_opts();
    to.threads = threads;
    return sr_train_gru(train, &p, &to, m, err);
}

int cmd_compare(int argc, char **argv)
{
    const char *train_path = NULL, *test_path = NULL, *preset = NULL;
    const char *algos_arg = "pop,spop,iknn,ar,sr,sknn,vsknn,stan";
    const char *pspecs[64];
    int n_pspecs = 0, json = 0, threads = 0;
    sr_eval_opts o;
    memset(&o, 0, sizeof o);
    o.n_cutoffs = 1;
    o.cutoffs[0] = 20;
    o.ties = SR_TIES_CONSERVATIVE;
    o.batch_size = 512;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--algos") || !strcmp(a, "-p") || !strcmp(a, "--params") ||
                   !strcmp(a, "--cutoffs") || !strcmp(a, "--ties") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--preset")) {
            if (!v)
                return cli_fail(CMD, "%s needs a value (see sessrec compare --help)", a);
            i++;
            if (!strcmp(a, "--algos")) {
                algos_arg = v;
            } else if (!strcmp(a, "--preset")) {
                if (strcmp(v, "rsc15"))
                    return cli_fail(CMD, "--preset: unknown preset '%s' (known: rsc15)", v);
                preset = v;
            } else if (!strcmp(a, "--cutoffs")) {
                if (parse_cutoffs(v, &o))
                    return 1;
            } else if (!strcmp(a, "--ties")) {
                if (!strcmp(v, "conservative"))
                    o.ties = SR_TIES_CONSERVATIVE;
                else if (!strcmp(v, "standard"))
                    o.ties = SR_TIES_STANDARD;
                else if (!strcmp(v, "median"))
                    o.ties = SR_TIES_MEDIAN;
                else
                    return cli_fail(CMD, "--ties: expected conservative, standard or median, "
                                    "got '%s'", v);
            } else if (!strcmp(a, "--threads")) {
                if (cli_int(CMD, "--threads", v, 0, 4096, &threads))
                    return 1;
            } else {
                if (n_pspecs == 64)
                    return cli_fail(CMD, "too many -p options (64 at most)");
                if (!strchr(v, ':'))
                    return cli_fail(CMD, "-p: expected ALGO:name=value,..., got '%s'", v);
                pspecs[n_pspecs++] = v;
            }
        } else if (a[0] == '-' && a[1]) {
            return cli_fail(CMD, "unknown option '%s' (see sessrec compare --help)", a);
        } else if (!train_path) {
            train_path = a;
        } else if (!test_path) {
            test_path = a;
        } else {
            return cli_fail(CMD, "unexpected argument '%s'", a);
        }
    }
    if (!train_path || !test_path) {
        usage(stderr);
        return 2;
    }
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
            if (!known_algo(tok))
                return cli_fail(CMD, "--algos: unknown algorithm '%s' (known: pop, spop, iknn, "
                                "sr, ar, sknn, vsknn, stan, gru4rec)", tok);
            if (n_rows == MAX_ALGOS)
                return cli_fail(CMD, "--algos: at most %d algorithms", MAX_ALGOS);
            snprintf(rows[n_rows++].algo, sizeof rows[0].algo, "%s", tok);
        }
        if (!n_rows)
            return cli_fail(CMD, "--algos: no algorithm given");
    }
    int rc = 0;
    for (int r = 0; r < n_rows && !rc; r++) {
        if (preset)
            for (size_t k = 0; k < sizeof preset_rsc15 / sizeof preset_rsc15[0]; k++)
                if (!strcmp(preset_rsc15[k].algo, rows[r].algo) &&
                    cli_append_spec(&rows[r].params, preset_rsc15[k].params))
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
    if (sr_split_open(train_path, &train, &err) != SR_OK) {
        rc = cli_fail_err(CMD, &err);
        goto out;
    }
    if (sr_split_open(test_path, &test, &err) != SR_OK) {
        rc = cli_fail_err(CMD, &err);
        goto out;
    }
    for (int r = 0; r < n_rows; r++) {
        row *w = &rows[r];
        sr_model *m = NULL;
        fprintf(stderr, "compare: training %s%s%s ...\n", w->algo, w->params ? " " : "",
                w->params ? w->params : "");
        double t0 = sr_now();
        sr_status st = train_one(w->algo, w->params, preset, &train, threads, &m, &err);
        w->train_s = sr_now() - t0;
        if (st != SR_OK) {
            snprintf(w->error, sizeof w->error, "%s", err.msg);
            fprintf(stderr, "compare: %s: %s\n", w->algo, err.msg);
            rc = 1;
            continue;
        }
        fprintf(stderr, "compare: evaluating %s ...\n", w->algo);
        st = sr_evaluate(m, &test, &o, &w->ev, &err);
        if (st == SR_OK && top20_stats(m, &train, &test, threads, &w->coverage, &w->popularity))
            st = sr_error_set(&err, SR_ERR_NOMEM, "out of memory while collecting top-20 lists");
        if (st != SR_OK) {
            snprintf(w->error, sizeof w->error, "%s", err.msg);
            fprintf(stderr, "compare: %s: %s\n", w->algo, err.msg);
            rc = 1;
        } else {
            w->ok = 1;
        }
        sr_model_free(m);
    }

    if (json) {
        printf("{\"train\": ");
        cli_json_str(stdout, train_path);
        printf(", \"test\": ");
        cli_json_str(stdout, test_path);
        printf(", \"preset\": ");
        cli_json_str(stdout, preset ? preset : "");
        printf(", \"ties\": \"%s\", \"cutoffs\": [", ties_name(o.ties));
        for (int c = 0; c < o.n_cutoffs; c++)
            printf("%s%d", c ? ", " : "", o.cutoffs[c]);
        printf("], \"results\": [");
        for (int r = 0; r < n_rows; r++) {
            row *w = &rows[r];
            printf("%s\n  {\"algo\": \"%s\", \"params\": ", r ? "," : "", w->algo);
            cli_json_str(stdout, w->params ? w->params : "");
            if (!w->ok) {
                printf(", \"error\": ");
                cli_json_str(stdout, w->error);
                printf("}");
                continue;
            }
            const char *names[3] = {"recall", "mrr", "ndcg"};
            for (int q = 0; q < 3; q++) {
                printf(", \"%s\": {", names[q]);
                for (int c = 0; c < w->ev.n_cutoffs; c++) {
                    double v = q == 0 ? w->ev.recall[c] : q == 1 ? w->ev.mrr[c] : w->ev.ndcg[c];
                    printf("%s\"%d\": %.6f", c ? ", " : "", w->ev.cutoffs[c], v);
                }
                printf("}");
            }
            printf(", \"coverage@20\": %.6f, \"popularity@20\": %.6f, \"train_seconds\": %.3f, "
                   "\"eval_seconds\": %.3f, \"predictions\": %lld, \"skipped_rows\": %lld, "
                   "\"predictions_per_second\": %.1f}",
                   w->coverage, w->popularity, w->train_s, w->ev.seconds,
                   (long long)w->ev.n_predictions, (long long)w->ev.n_skipped,
                   w->ev.seconds > 0 ? (double)w->ev.n_predictions / w->ev.seconds : 0);
        }
        printf("\n]}\n");
    } else {
        printf("%s -> %s, %s ties%s%s\n", train_path, test_path, ties_name(o.ties),
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
        int64_t np = 0;
        for (int r = 0; r < n_rows; r++)
            if (rows[r].ok) {
                np = rows[r].ev.n_predictions;
                printf("%lld predictions (%lld test rows with items unknown to the models "
                       "dropped), %d threads\n", (long long)np,
                       (long long)rows[r].ev.n_skipped, sr_resolve_threads(threads));
                break;
            }
        for (int r = 0; r < n_rows; r++)
            if (rows[r].params)
                printf("  %s: %s\n", rows[r].algo, rows[r].params);
    }
out:
    sr_split_free(&train);
    sr_split_free(&test);
    for (int r = 0; r < n_rows; r++)
        free(rows[r].params);
    return rc;
}
