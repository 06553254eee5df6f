/*
 * cmd_recommend.c - 'sessrec recommend MODEL [ITEM...]': the top-k next items
 * for a session given as its clicks so far, or for one session per stdin line.
 * Only parses input and prints; scoring goes through the public inference API
 * (sr_scorer over one slot, sr_topk).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: sessrec recommend MODEL [ITEM...] [options]\n"
        "\n"
        "Feeds a session's clicks so far (original item ids, oldest first) to the model\n"
        "from an empty state and prints the k items it scores highest as next click.\n"
        "\n"
        "  MODEL               a model file written by 'sessrec train'\n"
        "  ITEM...             the session's clicks; integer ids may also be\n"
        "                      comma-separated; text ids (SKUs, UUIDs): one per argument,\n"
        "                      as they were in the log\n"
        "\n"
        "options:\n"
        "  -k N                number of items to print (default 20)\n"
        "  --stdin             read one session per line from stdin (ids separated by\n"
        "                      spaces, tabs or commas; text ids: by tabs if the line has\n"
        "                      one, else commas, else spaces); also the default when no ITEM is\n"
        "                      given and stdin is not a terminal\n"
        "  --json              one JSON object per session, one per line:\n"
        "                      {\"clicks\": [ids fed], \"unknown\": [ids skipped],\n"
        "                       \"recommendations\": [{\"rank\": 1, \"item\": ID, \"score\": S}, ...]}\n"
        "                      (text ids as JSON strings)\n"
        "  -h, --help          this text\n"
        "\n"
        "Output: one line per item, \"rank item score\", best first (equal scores: the\n"
        "item the model lists first wins). With --stdin, the answer to each input line\n"
        "is ended by an empty line, so the N-th block answers the N-th line.\n"
        "\n"
        "Items the model does not know are skipped with a warning on stderr naming them.\n"
        "A session with no known item gets no recommendation (an empty block, or an\n"
        "empty \"recommendations\" list) and a warning. Exit status: 0 when at least one\n"
        "session got recommendations, 1 when none did or on an error (unreadable model,\n"
        "an integer-id model given an id that is not a non-negative integer).\n"
        "\n"
        "examples:\n"
        "  sessrec recommend model.srm 214536502 214536500 -k 5\n"
        "  printf '214536502,214536500\\n214577561\\n' | sessrec recommend model.srm --json\n");
}

/* A growable list of item ids: dense indices (known) or the text given (unknown). */
typedef struct idvec {
    int64_t *v;
    char **t;
    size_t n, cap;
} idvec;

static int idvec_push(idvec *a, int64_t id, const char *text)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        int64_t *v = realloc(a->v, cap * sizeof *v);
        if (v)
            a->v = v;
        char **t = realloc(a->t, cap * sizeof *t);
        if (t)
            a->t = t;
        if (!v || !t)
            return cli_fail("recommend", "out of memory");
        a->cap = cap;
    }
    a->t[a->n] = NULL;
    if (text && !(a->t[a->n] = strdup(text)))
        return cli_fail("recommend", "out of memory");
    a->v[a->n++] = id;
    return 0;
}

static void idvec_clear(idvec *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->t[i]);
    a->n = 0;
}

/* Recommendation state shared by all sessions of one run. */
typedef struct rec_ctx {
    const sr_model *m;
    int text;              /* the model has text item ids */
    sr_scorer *sc;         /* one slot */
    float *scores;         /* (n_items) */
    int k;
    int32_t *top;          /* (k) */
    float *topv;           /* (k) */
    idvec known;           /* the session's clicks the model knows (dense indices) */
    idvec unknown;         /* and those it does not know (as given) */
    int json, stdin_mode;
} rec_ctx;

/* A non-negative integer token. */
static int is_int_id(const char *tok)
{
    char *end;
    errno = 0;
    long long v = strtoll(tok, &end, 10);
    return *tok && !*end && !errno && v >= 0 && tok[0] != '-' && tok[0] != '+';
}

/* Splits `text` into ids and adds each. `where` names the input in messages
 * ("" or "stdin line 3: "). Integer-id models take only integers, separated
 * by spaces, tabs or commas. Text-id models take any text: a command-line
 * argument is one id (whole = 1); a stdin line is split at tabs if it has
 * one, else at commas if it has one, else at spaces. */
static int add_tokens(rec_ctx *c, char *text, const char *where, int whole)
{
    const char *seps = " \t,\r\n";
    if (c->text) {
        text[strcspn(text, "\r\n")] = '\0';
        seps = whole ? "" : strchr(text, '\t') ? "\t" : strchr(text, ',') ? "," : " ";
    }
    char *save = NULL;
    for (char *tok = strtok_r(text, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
        if (!c->text && !is_int_id(tok))
            return cli_fail("recommend", "%sbad item id '%s' (expected a non-negative integer)",
                            where, tok);
        int64_t j = sr_model_item_find(c->m, tok, strlen(tok));
        if (j >= 0 ? idvec_push(&c->known, j, NULL) : idvec_push(&c->unknown, -1, tok))
            return 1;
    }
    return 0;
}

/* One item id: a number as before for integer-id models, a JSON string (with
 * --json) or the text for text-id models. */
static void print_id(FILE *f, const rec_ctx *c, int64_t idx, const char *text, int json)
{
    char b[32];
    const char *t = text ? text : sr_model_item_name(c->m, idx, b, sizeof b);
    if (json && c->text)
        cli_json_str(f, t);
    else
        fputs(t, f);
}

static void print_ids(FILE *f, const rec_ctx *c, const idvec *a, size_t n, int json)
{
    for (size_t i = 0; i < n; i++) {
        fputs(i ? (f == stderr ? " " : ", ") : "", f);
        print_id(f, c, a->v[i], a->t[i], json);
    }
}

/* Scores the collected session, prints its answer, clears it. Returns 1 when
 * it produced recommendations. */
static int answer(rec_ctx *c, const char *where)
{
    if (c->unknown.n) {
        fprintf(stderr, "sessrec recommend: warning: %sskipped %zu unknown item%s: ", where,
                c->unknown.n, c->unknown.n == 1 ? "" : "s");
        print_ids(stderr, c, &c->unknown, c->unknown.n < 20 ? c->unknown.n : 20, 0);
        if (c->unknown.n > 20)
            fprintf(stderr, " ... (%zu more)", c->unknown.n - 20);
        fputc('\n', stderr);
    }
    int got = 0;
    if (c->known.n == 0) {
        fprintf(stderr, "sessrec recommend: warning: %sno click on an item the model knows: "
                        "no recommendation\n", where);
    } else {
        sr_scorer_reset(c->sc, 0);
        for (size_t i = 0; i < c->known.n; i++) { /* only the last click's scores are used */
            int32_t it = (int32_t)c->known.v[i];
            sr_scorer_step(c->sc, &it, 1, i + 1 == c->known.n ? c->scores : NULL);
        }
        got = sr_topk(c->scores, sr_model_n_items(c->m), c->k, c->top, c->topv);
    }
    if (c->json) {
        printf("{\"clicks\": [");
        print_ids(stdout, c, &c->known, c->known.n, 1);
        printf("], \"unknown\": [");
        print_ids(stdout, c, &c->unknown, c->unknown.n, 1);
        printf("], \"recommendations\": [");
        for (int i = 0; i < got; i++) {
            printf("%s{\"rank\": %d, \"item\": ", i ? ", " : "", i + 1);
            print_id(stdout, c, c->top[i], NULL, 1);
            printf(", \"score\": %.9g}", c->topv[i]);
        }
        printf("]}\n");
    } else {
        for (int i = 0; i < got; i++) {
            printf("%d ", i + 1);
            print_id(stdout, c, c->top[i], NULL, 0);
            printf(" %.6g\n", c->topv[i]);
        }
        if (c->stdin_mode)
            putchar('\n');
    }
    fflush(stdout);
    idvec_clear(&c->known);
    idvec_clear(&c->unknown);
    return got > 0;
}

int cmd_recommend(int argc, char **argv)
{
    const char *model_path = NULL;
    int k = 20, json = 0, use_stdin = 0, n_items_args = 0, rc = 1, answered = 0;
    const char **item_args = calloc((size_t)argc, sizeof *item_args); /* (argc) */
    sr_model *m = NULL;
    rec_ctx c;
    memset(&c, 0, sizeof c);
    if (!item_args)
        return cli_fail("recommend", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--stdin")) {
            use_stdin = 1;
        } else if (!strcmp(a, "-k")) {
            if (i + 1 >= argc) {
                cli_fail("recommend", "-k needs a value");
                goto done;
            }
            if (cli_int("recommend", "-k", argv[++i], 1, 1000000, &k))
                goto done;
        } else if (a[0] == '-' && a[1]) {
            cli_fail("recommend", "unknown option '%s' (see sessrec recommend --help)", a);
            goto done;
        } else if (!model_path) {
            model_path = a;
        } else {
            item_args[n_items_args++] = a;
        }
    }
    if (!model_path) {
        usage(stderr);
        goto done;
    }
    if (n_items_args && use_stdin) {
        cli_fail("recommend", "give item ids either as arguments or with --stdin, not both");
        goto done;
    }
    if (!n_items_args && !use_stdin) {
        if (isatty(0)) {
            cli_fail("recommend", "no items given: pass the session's item ids, or sessions "
                                  "on stdin (see sessrec recommend --help)");
            goto done;
        }
        use_stdin = 1;
    }

    sr_error err = {0};
    if (sr_model_load(model_path, &m, &err) != SR_OK) {
        cli_fail_err("recommend", &err);
        goto done;
    }
    c.m = m;
    c.text = sr_model_item_text(m, 0) != NULL;
    c.k = k;
    c.json = json;
    c.stdin_mode = use_stdin;
    c.sc = sr_scorer_new(m, 1);
    c.scores = malloc((size_t)sr_model_n_items(m) * sizeof *c.scores);
    c.top = malloc((size_t)k * sizeof *c.top);
    c.topv = malloc((size_t)k * sizeof *c.topv);
    if (!c.sc || !c.scores || !c.top || !c.topv) {
        cli_fail("recommend", "out of memory for a model of %lld items", (long long)sr_model_n_items(m));
        goto done;
    }

    if (!use_stdin) {
        for (int i = 0; i < n_items_args; i++) {
            char *tok = strdup(item_args[i]);
            int bad = !tok || add_tokens(&c, tok, "", 1);
            free(tok);
            if (bad)
                goto done;
        }
        answered += answer(&c, "");
    } else {
        char *line = NULL;
        size_t cap = 0;
        int64_t lineno = 0;
        while (getline(&line, &cap, stdin) != -1) {
            char where[64];
            snprintf(where, sizeof where, "stdin line %lld: ", (long long)++lineno);
            if (add_tokens(&c, line, where, 0)) {
                free(line);
                goto done;
            }
            answered += answer(&c, where);
        }
        free(line);
        if (ferror(stdin)) {
            cli_fail("recommend", "reading stdin: %s", strerror(errno));
            goto done;
        }
        if (lineno == 0)
            fprintf(stderr, "sessrec recommend: warning: no session on stdin\n");
    }
    rc = answered > 0 ? 0 : 1;
done:
    free(item_args);
    idvec_clear(&c.known);
    idvec_clear(&c.unknown);
    free(c.known.v);
    free(c.known.t);
    free(c.unknown.v);
    free(c.unknown.t);
    free(c.scores);
    free(c.top);
    free(c.topv);
    sr_scorer_free(c.sc);
    sr_model_free(m);
    return rc;
}
