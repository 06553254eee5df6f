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
        "  ITEM...             the session's clicks; ids may also be comma-separated\n"
        "\n"
        "options:\n"
        "  -k N                number of items to print (default 20)\n"
        "  --stdin             read one session per line from stdin (ids separated by\n"
        "                      spaces, tabs or commas); also the default when no ITEM is\n"
        "                      given and stdin is not a terminal\n"
        "  --json              one JSON object per session, one per line:\n"
        "                      {\"clicks\": [ids fed], \"unknown\": [ids skipped],\n"
        "                       \"recommendations\": [{\"rank\": 1, \"item\": ID, \"score\": S}, ...]}\n"
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
        "an id that is not a non-negative integer).\n"
        "\n"
        "examples:\n"
        "  sessrec recommend model.srm 214536502 214536500 -k 5\n"
        "  printf '214536502,214536500\\n214577561\\n' | sessrec recommend model.srm --json\n");
}

/* A growable list of item ids. */
typedef struct idvec {
    int64_t *v;
    size_t n, cap;
} idvec;

static int idvec_push(idvec *a, int64_t id)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        int64_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return cli_fail("recommend", "out of memory");
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

/* Recommendation state shared by all sessions of one run. */
typedef struct rec_ctx {
    const sr_model *m;
    sr_scorer *sc;         /* one slot */
    float *scores;         /* (n_items) */
    int k;
    int32_t *top;          /* (k) */
    float *topv;           /* (k) */
    idvec known;           /* the session's clicks the model knows */
    idvec unknown;         /* and those it does not know */
    int json, stdin_mode;
} rec_ctx;

/* Parses one id token (non-negative integer). */
static int parse_id(const char *tok, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(tok, &end, 10);
    if (!*tok || *end || errno || v < 0 || tok[0] == '-' || tok[0] == '+')
        return -1;
    *out = v;
    return 0;
}

/* Splits `text` at spaces, tabs and commas and adds each id. `where` names the
 * input in messages ("" or "stdin line 3: "). */
static int add_tokens(rec_ctx *c, char *text, const char *where)
{
    char *save = NULL;
    for (char *tok = strtok_r(text, " \t,\r\n", &save); tok; tok = strtok_r(NULL, " \t,\r\n", &save)) {
        int64_t id;
        if (parse_id(tok, &id))
            return cli_fail("recommend", "%sbad item id '%s' (expected a non-negative integer)",
                            where, tok);
        if (idvec_push(sr_model_item_index(c->m, id) >= 0 ? &c->known : &c->unknown, id))
            return 1;
    }
    return 0;
}

static void print_ids(FILE *f, const int64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%lld", i ? (f == stderr ? " " : ", ") : "", (long long)ids[i]);
}

/* Scores the collected session, prints its answer, clears it. Returns 1 when
 * it produced recommendations. */
static int answer(rec_ctx *c, const char *where)
{
    if (c->unknown.n) {
        fprintf(stderr, "sessrec recommend: warning: %sskipped %zu unknown item%s: ", where,
                c->unknown.n, c->unknown.n == 1 ? "" : "s");
        print_ids(stderr, c->unknown.v, c->unknown.n < 20 ? c->unknown.n : 20);
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
            int32_t it = (int32_t)sr_model_item_index(c->m, c->known.v[i]);
            sr_scorer_step(c->sc, &it, 1, i + 1 == c->known.n ? c->scores : NULL);
        }
        got = sr_topk(c->scores, sr_model_n_items(c->m), c->k, c->top, c->topv);
    }
    const int64_t *ids = sr_model_item_ids(c->m);
    if (c->json) {
        json_t *j = json_object(), *clicks = json_array(), *unk = json_array(), *recs = json_array();
        for (size_t i = 0; i < c->known.n; i++)
            json_array_append_new(clicks, json_integer(c->known.v[i]));
        for (size_t i = 0; i < c->unknown.n; i++)
            json_array_append_new(unk, json_integer(c->unknown.v[i]));
        for (int i = 0; i < got; i++) {
            json_t *r = json_object();
            json_object_set_new(r, "rank", json_integer(i + 1));
            json_object_set_new(r, "item", json_integer(ids[c->top[i]]));
            json_object_set_new(r, "score", cli_json_real("recommend", "a score", c->topv[i]));
            json_array_append_new(recs, r);
        }
        json_object_set_new(j, "clicks", clicks);
        json_object_set_new(j, "unknown", unk);
        json_object_set_new(j, "recommendations", recs);
        cli_json_print("recommend", j);
    } else {
        for (int i = 0; i < got; i++)
            printf("%d %lld %.6g\n", i + 1, (long long)ids[c->top[i]], c->topv[i]);
        if (c->stdin_mode)
            putchar('\n');
    }
    fflush(stdout);
    c->known.n = c->unknown.n = 0;
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
            int bad = !tok || add_tokens(&c, tok, "");
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
            if (add_tokens(&c, line, where)) {
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
    free(c.known.v);
    free(c.unknown.v);
    free(c.scores);
    free(c.top);
    free(c.topv);
    sr_scorer_free(c.sc);
    sr_model_free(m);
    return rc;
}
