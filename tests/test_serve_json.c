/*
 * test_serve_json.c - the server's answers written as text (serve/answer.c):
 * every piece, and every whole answer to a click, a recommendations request
 * and a stateless request, is byte for byte what json_dumps (JSON_COMPACT |
 * JSON_REAL_PRECISION(7)) gives for the same jansson tree, the form the
 * server answered in before; strings that are not UTF-8 are refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "serve/serve.h"
#include "util/util.h"

#include <float.h>
#include <jansson.h>
#include <stdint.h>

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

/* json_dumps of v (taken), as a NUL-terminated string; the caller frees */
static char *dump(json_t *v)
{
    char *t = json_dumps(v, FLAGS | JSON_ENCODE_ANY);
    json_decref(v);
    return t;
}

static int same(const sr_buf *b, const char *want)
{
    return want && b->len == strlen(want) && !memcmp(b->data, want, b->len);
}

static void test_reals_as_jansson_writes_them(void)
{
    const double fixed[] = {0.0, -0.0, 1.0, -1.0, 100.0, 1e7, 1e-7, 12345678.0, 0.1, 1e20, 1e-20,
                            1e300, -1e-300, FLT_MAX, FLT_MIN, 1e-45, 5e-324, 123456.7, 0.5,
                            9999999.0, 99999995.0, 1e100, 3.0e-5, 2.5e+16,
                            /* floats whose 8th digit is an exact tie (half to even), the
                             * edges of the %f and %e styles, of the fast path's range */
                            1234567.5, 617283.75, 8388607.5, 1234568.5, -2.5, 0.0001,
                            0.0001f, 9.9999997e-5f, 1e-5f, 9999999.0f, 1e7f, 1e-10, 1e-10f,
                            1e10f, 9.999999e9f, 1.1754944e-38f, 3.4028235e38f, 16777215.0f,
                            0.30000001192092896, 1.0e-4f, 123456.75f, 4.8828125e-4};
    sr_rng r;
    sr_rng_seed(&r, 11);
    int bad = 0;
    for (int i = 0; i < 400000; i++) {
        double v;
        if (i < (int)(sizeof fixed / sizeof *fixed)) {
            v = fixed[i];
        } else if (i % 4 == 1) { /* a float of any size from 1e-11 to 1e11 */
            uint32_t u = (uint32_t)sr_rng_next(&r);
            u = (u & 0x807fffffu) | ((uint32_t)(90 + sr_rng_next(&r) % 74) << 23);
            float f;
            memcpy(&f, &u, sizeof f);
            v = f;
        } else if (i % 2) { /* any finite float: every exponent */
            uint32_t u = (uint32_t)sr_rng_next(&r);
            float f;
            memcpy(&f, &u, sizeof f);
            if (!isfinite(f))
                continue;
            v = f;
        } else { /* scores as they come: a few units either side of zero */
            v = (float)((sr_rng_uniform(&r) - 0.5) * 40.0);
        }
        sr_buf b = {0};
        srv_json_real(&b, v);
        char *want = dump(json_real(v));
        if (!same(&b, want) && bad++ < 5)
            fprintf(stderr, "  %.17g: got %.*s, jansson %s\n", v, (int)b.len, (char *)b.data,
                    want ? want : "(null)");
        free(want);
        sr_buf_free(&b);
    }
    CHECK_EQ_INT(bad, 0);
    const double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) { /* json_real refuses them; the answers said null */
        sr_buf b = {0};
        srv_json_real(&b, nonfinite[i]);
        CHECK(same(&b, "null"));
        sr_buf_free(&b);
    }
    sr_buf b = {0};
    srv_json_int(&b, -1234567890123LL);
    CHECK(same(&b, "-1234567890123"));
    sr_buf_free(&b);
}

static const char *const strings[] = {
    "",       "plain",     "214716935",       "with \"quotes\" and \\ backslash",
    "a/b",    "tab\there", "nl\nand\rcr\x01", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "\x7f",   "</script>",
};

static void test_strings_as_jansson_writes_them(void)
{
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        sr_buf b = {0};
        CHECK(srv_json_str(&b, strings[i], strlen(strings[i])) == 0);
        char *want = dump(json_string(strings[i]));
        CHECK_MSG(same(&b, want), "%s", strings[i]);
        free(want);
        sr_buf_free(&b);
    }
    /* longer than the encoder's stack buffer */
    char big[1000];
    for (int i = 0; i < 999; i++)
        big[i] = i % 7 ? 'x' : '"';
    big[999] = '\0';
    sr_buf b = {0};
    CHECK(srv_json_str(&b, big, strlen(big)) == 0);
    char *want = dump(json_string(big));
    CHECK(same(&b, want));
    free(want);
    sr_buf_free(&b);
    /* not UTF-8: refused, as json_string refuses it */
    const char *invalid[] = {"\xff", "ab\xc3", "\xed\xa0\x80"};
    for (int i = 0; i < 3; i++) {
        sr_buf c = {0};
        CHECK(srv_json_str(&c, invalid[i], strlen(invalid[i])) == -1);
        CHECK(json_string(invalid[i]) == NULL);
        sr_buf_free(&c);
    }
}

/* the item table of the test: strings[], then one id that is not UTF-8 */
static const char *item_text(void *ctx, int64_t i, char *tmp)
{
    (void)ctx;
    (void)tmp;
    return i < (int64_t)(sizeof strings / sizeof *strings) ? strings[i] : "bad \xff id";
}

/* The answer as the server built it with jansson before (answer.c's history). */
static char *jansson_answer(const srv_job *j, const int32_t *idx, const float *val, int n)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:o}", "item", strings[idx[i]], "score",
                                             isfinite(val[i]) ? json_real(val[i]) : json_null()));
    json_t *unk = json_array();
    for (int i = 0; i < j->n_unknown; i++)
        json_array_append_new(unk, json_string(j->items[j->unknown[i]]));
    json_t *root;
    if (j->kind == SRV_JOB_CLICK)
        root = json_pack("{s:s,s:I,s:o,s:o}", "session", j->id, "clicks",
                         (json_int_t)j->session_clicks, "items", arr, "unknown", unk);
    else if (j->kind == SRV_JOB_RECS)
        root = json_pack("{s:s,s:I,s:o}", "session", j->id, "clicks",
                         (json_int_t)j->session_clicks, "items", arr),
        json_decref(unk);
    else
        root = json_pack("{s:o,s:o}", "items", arr, "unknown", unk);
    char *t = json_dumps(root, FLAGS);
    json_decref(root);
    return t;
}

static void test_answers_as_jansson_writes_them(void)
{
    const int64_t ns = (int64_t)(sizeof strings / sizeof *strings);
    srv_strtab tab;
    CHECK(srv_strtab_build(&tab, ns + 1, item_text, NULL) == 0);
    CHECK(tab.n == ns + 1);
    char *req_items[3] = {"known", "unknown \"one\"", "caf\xc3\xa9"};
    int unknown[2] = {1, 2};
    const int32_t idx[] = {7, 0, 3, 2, 9, 5};
    const float val[] = {3.25f, 1.0f, -0.0f, NAN, 1e-8f, -17.123456f};
    for (int kind = SRV_JOB_CLICK; kind <= SRV_JOB_STATELESS; kind++)
        for (int n = 0; n <= 6; n += 3) {
            srv_job j;
            memset(&j, 0, sizeof j);
            j.kind = kind;
            snprintf(j.id, sizeof j.id, "%s", n ? "sess \"x\" \xc3\xa9" : "s1");
            j.session_clicks = 12 + n;
            j.items = req_items;
            j.n_items = 3;
            j.unknown = unknown;
            j.n_unknown = n ? 2 : 0;
            CHECK(srv_recs_json(&j.recs, &tab, idx, val, n) == 0);
            char *got = srv_answer_text(&j), *want = jansson_answer(&j, idx, val, n);
            CHECK_MSG(got && want && !strcmp(got, want), "kind %d n %d:\n    got  %s\n    want %s",
                      kind, n, got ? got : "(null)", want ? want : "(null)");
            free(got);
            free(want);
            sr_buf_free(&j.recs);
        }
    /* an item id that jansson cannot encode fails the answer (503), like before */
    sr_buf b = {0};
    const int32_t with_bad[] = {1, (int32_t)ns};
    const float v2[] = {1.0f, 0.5f};
    CHECK(srv_recs_json(&b, &tab, with_bad, v2, 2) == -1);
    const int32_t outside[] = {(int32_t)ns + 1};
    CHECK(srv_recs_json(&b, &tab, outside, v2, 1) == -1);
    sr_buf_free(&b);
    /* a session id that is not UTF-8 */
    srv_job j;
    memset(&j, 0, sizeof j);
    j.kind = SRV_JOB_RECS;
    snprintf(j.id, sizeof j.id, "%s", "\xff");
    CHECK(srv_answer_text(&j) == NULL);
    srv_strtab_free(&tab);
}

int main(void)
{
    RUN(test_reals_as_jansson_writes_them);
    RUN(test_strings_as_jansson_writes_them);
    RUN(test_answers_as_jansson_writes_them);
    return test_summary();
}
