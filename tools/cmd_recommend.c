/*
 * cmd_recommend.c - 'sessrec recommend MODEL [ITEM...]': the top-k next items
 * for a session given as its clicks so far, or for one session per stdin line.
 * Only parses input and prints; scoring goes through the public inference API
 * (sr_scorer over one slot, sr_topk).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
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
        "                      comma-separated; a model with text ids takes each argument\n"
        "                      as one id\n"
        "\n"
        "options:\n"
        "  -k N                number of items to print (default 20)\n"
        "  --stdin             read one session per line from stdin (integer ids separated\n"
        "                      by spaces, tabs or commas; text ids by tabs if the line has\n"
        "                      one, else by commas if it has one, else by spaces); also\n"
        "                      the default when no ITEM is given and stdin is not a terminal\n"
        "  --json              one JSON object per session, one per line:\n"
        "                      {\"clicks\": [ids fed], \"unknown\": [ids skipped],\n"
        "                       \"recommendations\": [{\"rank\": 1, \"item\": ID, \"score\": S}, ...]}\n"
        "                      (text ids as JSON strings)\n"
        "  -q, --quiet         accepted as by every command (recommend has no progress)\n"
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
        "an integer-id model given an id that is not a non-negative integer). With --stdin, a line holding\n"
        "anything but ids (a bad token, a NUL byte) is an error for that line: a message\n"
        "on stderr, an empty block or {\"error\": \"...\"}, and exit status 1 at the end.\n"
        "Scores that are not finite are printed as null in JSON, with a warning.\n"
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
            return -1;
        a->cap = cap;
    }
    a->t[a->n] = NULL;
    if (text && !(a->t[a->n] = strdup(text)))
        return -1;
    a->v[a->n++] = id;
    return 0;
}

static void idvec_clear(idvec *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->t[i]);
    a->n = 0;
}

static void idvec_free(idvec *a)
{
    idvec_clear(a);
    free(a->v);
    free(a->t);
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

/* Splits `text` (n bytes) into ids and adds each. `where` names the input in
 * messages ("" or "stdin line 3: "). Integer-id models take only integers,
 * separated by spaces, tabs or commas. Text-id models take any text: a
 * command-line argument is one id (whole = 1); a stdin line is split at tabs
 * if it has one, else at commas if it has one, else at spaces. A NUL byte, or
 * a token an integer-id model cannot read, makes the whole text an error
 * (never a shorter session): -1 with the message (escaped, cut) in msg. */
static int add_tokens(rec_ctx *c, char *text, size_t n, const char *where, int whole,
                      char *msg, size_t mcap)
{
    const char *nul = memchr(text, 0, n);
    if (nul) {
        char esc[128];
        sr_escape_text(esc, sizeof esc, text, n);
        snprintf(msg, mcap, "%sa NUL byte at column %zu: '%s'", where,
                 (size_t)(nul - text) + 1, esc);
        return -1;
    }
    const char *seps = " \t,\r\n";
    if (c->text) {
        text[strcspn(text, "\r\n")] = '\0';
        seps = whole ? "" : strchr(text, '\t') ? "\t" : strchr(text, ',') ? "," : " ";
    }
    char *save = NULL;
    for (char *tok = strtok_r(text, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
        if (!c->text && !is_int_id(tok)) {
            char esc[128];
            sr_escape_text(esc, sizeof esc, tok, strlen(tok));
            snprintf(msg, mcap, "%sbad item id '%s' (expected a non-negative integer)", where,
                     esc);
            return -1;
        }
        int64_t j = sr_model_item_find(c->m, tok, strlen(tok));
        if (j >= 0 ? idvec_push(&c->known, j, NULL) : idvec_push(&c->unknown, -1, tok)) {
            snprintf(msg, mcap, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Item idx of the model (idx >= 0) or an id as given (text): as JSON, a
 * string for text-id models, a number for integer-id ones. */
static json_t *json_id(const rec_ctx *c, int64_t idx, const char *text)
{
    if (!text && !c->text)
        return json_integer(sr_model_item_ids(c->m)[idx]);
    char b[32];
    const char *t = text ? text : sr_model_item_name(c->m, idx, b, sizeof b);
    return c->text ? cli_json_text(t) : json_integer(strtoll(t, NULL, 10));
}

/* The ids of a list on stderr, space-separated, escaped. */
static void print_ids(FILE *f, const rec_ctx *c, const idvec *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char b[32], esc[128];
        const char *t = a->t[i] ? a->t[i] : sr_model_item_name(c->m, a->v[i], b, sizeof b);
        sr_escape_text(esc, sizeof esc, t, strlen(t));
        fprintf(f, "%s%s", i ? " " : "", esc);
    }
}

/* Scores the collected session, prints its answer, clears it. Returns 1 when
 * it produced recommendations. */
static int answer(rec_ctx *c, const char *where)
{
    if (c->unknown.n) {
        fprintf(stderr, "sessrec recommend: warning: %sskipped %zu unknown item%s: ", where,
                c->unknown.n, c->unknown.n == 1 ? "" : "s");
        print_ids(stderr, c, &c->unknown, c->unknown.n < 20 ? c->unknown.n : 20);
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
        if (got == 0)
            fprintf(stderr, "sessrec recommend: warning: %sthe model gave no usable score (all "
                            "NaN): no recommendation; is the model file damaged?\n", where);
    }
    if (c->json) {
        json_t *j = json_object(), *clicks = json_array(), *unk = json_array(), *recs = json_array();
        for (size_t i = 0; i < c->known.n; i++)
            json_array_append_new(clicks, json_id(c, c->known.v[i], NULL));
        for (size_t i = 0; i < c->unknown.n; i++)
            json_array_append_new(unk, json_id(c, -1, c->unknown.t[i]));
        for (int i = 0; i < got; i++) {
            json_t *r = json_object();
            json_object_set_new(r, "rank", json_integer(i + 1));
            json_object_set_new(r, "item", json_id(c, c->top[i], NULL));
            json_object_set_new(r, "score", cli_json_real("recommend", "a score", c->topv[i]));
            json_array_append_new(recs, r);
        }
        json_object_set_new(j, "clicks", clicks);
        json_object_set_new(j, "unknown", unk);
        json_object_set_new(j, "recommendations", recs);
        cli_json_print("recommend", j);
    } else {
        for (int i = 0; i < got; i++) {
            char b[32];
            printf("%d %s %.6g\n", i + 1, sr_model_item_name(c->m, c->top[i], b, sizeof b),
                   c->topv[i]);
        }
        if (c->stdin_mode)
            putchar('\n');
    }
    fflush(stdout);
    idvec_clear(&c->known);
    idvec_clear(&c->unknown);
    return got > 0;
}

static const cli_opt recommend_options[] = {
    {"k", 'k', NULL, "N", ""},
    {"stdin", 0, NULL, NULL, ""},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct rec_args {
    int k, use_stdin;
} rec_args;

static int on_option(void *ud, const cli_opt *o, const char *v)
{
    rec_args *r = ud;
    if (!strcmp(o->name, "stdin")) {
        r->use_stdin = 1;
        return 0;
    }
    return cli_int("recommend", "-k", v, 1, 1000000, &r->k);
}

int cmd_recommend(int argc, char **argv)
{
    rec_args ra = {20, 0};
    const char *model_path = NULL;
    int k = 20, json = 0, use_stdin = 0, n_items_args = 0, rc = 1, answered = 0;
    const char **item_args = calloc((size_t)argc, sizeof *item_args); /* (argc) */
    sr_model *m = NULL;
    rec_ctx c;
    memset(&c, 0, sizeof c);
    if (!item_args)
        return cli_fail("recommend", "out of memory");
    const cli_opt *const tables[] = {recommend_options, cli_common_options, NULL};
    cli_cmd cc = {"recommend", "MODEL [ITEM...] [options]", usage, tables, on_option, &ra};
    cli_common com = {0};
    char **pos;
    int npos;
    int prc = cli_parse(&cc, argc, argv, &com, &pos, &npos);
    if (prc >= 0) {
        free(item_args);
        return prc;
    }
    json = com.json;
    k = ra.k;
    use_stdin = ra.use_stdin;
    for (int i = 0; i < npos; i++) {
        if (!model_path)
            model_path = pos[i];
        else
            item_args[n_items_args++] = pos[i];
    }
    free(pos);
    if (!model_path) {
        free(item_args);
        return cli_usage_error(&cc, "missing MODEL");
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

    int line_errors = 0;
    if (!use_stdin) {
        for (int i = 0; i < n_items_args; i++) {
            char msg[256];
            char *tok = strdup(item_args[i]);
            if (!tok)
                snprintf(msg, sizeof msg, "out of memory");
            int bad = !tok || add_tokens(&c, tok, strlen(tok), "", 1, msg, sizeof msg);
            free(tok);
            if (bad) {
                cli_fail("recommend", "%s", msg);
                goto done;
            }
        }
        answered += answer(&c, "");
    } else {
        /* A bad line is an error for that line only: reported (on stderr, and
         * as {"error": ...} with --json), then the next line is read. */
        char *line = NULL;
        size_t cap = 0;
        int64_t lineno = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, stdin)) != -1) {
            char where[64], msg[256];
            snprintf(where, sizeof where, "stdin line %lld: ", (long long)++lineno);
            if (add_tokens(&c, line, (size_t)len, where, 0, msg, sizeof msg)) {
                cli_fail("recommend", "%s", msg);
                if (json) {
                    json_t *e = json_object();
                    json_object_set_new(e, "error", cli_json_text(msg));
                    cli_json_print("recommend", e);
                } else {
                    putchar('\n');
                }
                idvec_clear(&c.known);
                idvec_clear(&c.unknown);
                line_errors++;
                continue;
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
    rc = answered > 0 && !line_errors ? 0 : 1;
done:
    free(item_args);
    idvec_free(&c.known);
    idvec_free(&c.unknown);
    free(c.scores);
    free(c.top);
    free(c.topv);
    sr_scorer_free(c.sc);
    sr_model_free(m);
    return rc;
}
