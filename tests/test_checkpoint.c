/*
 * test_checkpoint.c - the model file container: exact byte layout, round
 * trip, deterministic bytes, atomic save, and rejection (SR_ERR_FORMAT, file
 * named, no crash) of every truncation, every corrupted byte, foreign files,
 * unknown algorithms, other versions, repeated ids, trailing bytes and
 * payloads the algorithm refuses. Uses the "testfake" algorithm of fake_model.h.
 * Also the algorithm table: a test's own table (the library's rows plus
 * testfake) trains, saves, loads and scores testfake through the same
 * machinery as the real algorithms, while the library's table refuses it.
 */
#define _POSIX_C_SOURCE 200809L
#include "registry/checkpoint.h"
#include "fake_model.h"
#include "test.h"

#include <dirent.h>
#include <stdio.h>

static const int64_t ids[5] = {500, 7, -3, 123456789012345LL, 42};
static const float w[3] = {0.5f, -1.25f, 3.0f};

static void path_in_tmp(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", test_tmpdir(), name);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)le64((const uint8_t[8]){p[0], p[1], p[2], p[3]}); }

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_crc(uint8_t *d, size_t len) { put32(d + len - 4, sr_crc32(0, d, len - 4)); }

/* The byte layout of docs/model-format.md, field by field. */
static void test_layout(void)
{
    sr_model *m = fake_model_new(5, ids, 3, w);
    sr_buf b = {0};
    CHECK(sr_model_to_bytes(m, &b, NULL) == SR_OK);
    size_t plen = 8 + 3 * 4, want = 8 + 4 + 4 + 8 + 8 + 5 * 8 + 8 + plen + 4;
    CHECK_EQ_INT(b.len, want);
    if (b.len == want) {
        const uint8_t *d = b.data;
        CHECK(!memcmp(d, "SRMODEL\0", 8));
        CHECK_EQ_INT(le32(d + 8), 1);
        CHECK_EQ_INT(le32(d + 12), 8);
        CHECK(!memcmp(d + 16, "testfake", 8));
        CHECK_EQ_INT(le64(d + 24), 5);
        for (int i = 0; i < 5; i++)
            CHECK_EQ_INT((int64_t)le64(d + 32 + 8 * i), ids[i]);
        CHECK_EQ_INT(le64(d + 72), plen);
        CHECK_EQ_INT(le32(d + 80), 0x454b4146u);
        CHECK_EQ_INT(le32(d + 84), 3);
        CHECK_EQ_INT(le32(d + 100), sr_crc32(0, d, 100));
    }
    sr_buf_free(&b);
    sr_model_free(m);
}

static void test_roundtrip_and_atomic_save(void)
{
    char path[512], path2[512];
    path_in_tmp(path, sizeof path, "a.srm");
    path_in_tmp(path2, sizeof path2, "b.srm");
    sr_model *m = fake_model_new(5, ids, 3, w);
    sr_error err = {0};
    CHECK(sr_model_save(m, path, &err) == SR_OK);
    CHECK(sr_model_save(m, path2, &err) == SR_OK);
    size_t n1 = 0, n2 = 0;
    uint8_t *d1 = (uint8_t *)test_read_file(path, &n1), *d2 = (uint8_t *)test_read_file(path2, &n2);
    CHECK(d1 && d2 && n1 == n2 && !memcmp(d1, d2, n1)); /* same model, same bytes */
    free(d1);
    free(d2);
    /* overwriting an existing file replaces it; no temp files are left */
    CHECK(sr_model_save(m, path, &err) == SR_OK);
    DIR *dir = opendir(test_tmpdir());
    int others = 0;
    struct dirent *de;
    while (dir && (de = readdir(dir)))
        if (strstr(de->d_name, ".tmp."))
            others++;
    if (dir)
        closedir(dir);
    CHECK_EQ_INT(others, 0);

    sr_model *l = NULL;
    CHECK(sr_model_load_from(&fake_table, path, &l, &err) == SR_OK);
    CHECK(l != NULL);
    if (l) {
        CHECK(!strcmp(sr_model_algo(l), "testfake"));
        CHECK_EQ_INT(sr_model_n_items(l), 5);
        for (int i = 0; i < 5; i++) {
            CHECK_EQ_INT(sr_model_item_ids(l)[i], ids[i]);
            CHECK_EQ_INT(sr_model_item_index(l, ids[i]), i);
        }
        CHECK_EQ_INT(sr_model_item_index(l, 8), -1);
        const fake_impl *im = l->impl;
        CHECK(im->k == 3 && im->w[0] == 0.5f && im->w[1] == -1.25f && im->w[2] == 3.0f);
        sr_scorer *s = sr_scorer_new(l, 2);
        float sc[10];
        int32_t in[2] = {1, 4};
        sr_scorer_reset(s, 0);
        sr_scorer_step(s, in, 2, sc);
        CHECK_NEAR(sc[4], -1.25 + 0.001, 1e-6);
        CHECK_NEAR(sc[5 + 2], 3.0 + 0.004, 1e-6);
        sr_scorer_free(s);
        sr_model_free(l);
    }
    /* write errors: nothing is created */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.srm", test_tmpdir());
    CHECK(sr_model_save(m, bad, &err) == SR_ERR_IO);
    sr_model_free(m);
    /* read errors */
    char missing[512];
    path_in_tmp(missing, sizeof missing, "missing.srm");
    CHECK(sr_model_load(missing, &l, &err) == SR_ERR_IO);
    CHECK(l == NULL && strstr(err.msg, "missing.srm") != NULL);
    CHECK(sr_model_load(test_tmpdir(), &l, &err) == SR_ERR_IO);
}

/* Loads bytes through a file and expects SR_ERR_FORMAT with `needle` (and the name). */
static void expect_format(const uint8_t *d, size_t len, const char *needle, const char *what)
{
    sr_model *m = (sr_model *)1;
    sr_error err = {0};
    sr_status st = sr_model_load_mem_from(&fake_table, d, len, "x/model.srm", &m, &err);
    CHECK_MSG(st == SR_ERR_FORMAT, "%s: status %d", what, (int)st);
    CHECK_MSG(m == NULL, "%s: model returned", what);
    CHECK_MSG(strstr(err.msg, "x/model.srm: ") == err.msg, "%s: message '%s' does not start with the file", what, err.msg);
    if (needle)
        CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
    if (st == SR_OK)
        sr_model_free(m);
}

static void test_rejects_truncation_and_corruption(void)
{
    sr_model *m = fake_model_new(5, ids, 3, w);
    sr_buf b = {0};
    CHECK(sr_model_to_bytes(m, &b, NULL) == SR_OK);
    sr_model_free(m);
    /* every truncation */
    for (size_t n = 0; n < b.len; n++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu", n);
        uint8_t *c = malloc(n ? n : 1); /* exact-size copy: ASan sees any overread */
        memcpy(c, b.data, n);
        expect_format(c, n, n < 8 ? "not a sessrec model file" : "truncated", what);
        free(c);
    }
    /* every byte changed */
    uint8_t *c = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(c, b.data, b.len);
            c[i] ^= (uint8_t)(1u << bit);
            char what[64];
            snprintf(what, sizeof what, "byte %zu bit %d flipped", i, bit);
            expect_format(c, b.len, NULL, what);
        }
    }
    /* a CRC flip alone says "corrupted" */
    memcpy(c, b.data, b.len);
    c[b.len - 1] ^= 0x40;
    expect_format(c, b.len, "corrupted model file (CRC-32", "crc");
    free(c);
    /* trailing bytes */
    uint8_t *t = malloc(b.len + 3);
    memcpy(t, b.data, b.len);
    memset(t + b.len, 0, 3);
    expect_format(t, b.len + 3, "3 bytes after the end", "trailing");
    free(t);
    sr_buf_free(&b);
}

static void test_rejects_foreign_and_inconsistent(void)
{
    const char *text = "SessionId\tItemId\tTime\n1\t2\t3\n";
    expect_format((const uint8_t *)text, strlen(text), "not a sessrec model file", "tsv");
    expect_format((const uint8_t *)"SRSPLIT\0\1\0\0\0", 12, "not a sessrec model file", "split");

    sr_model *m = fake_model_new(5, ids, 3, w);
    sr_buf b = {0};
    CHECK(sr_model_to_bytes(m, &b, NULL) == SR_OK);
    sr_model_free(m);
    uint8_t *c = malloc(b.len);

    memcpy(c, b.data, b.len); /* version 3, valid CRC */
    put32(c + 8, 3);
    fix_crc(c, b.len);
    expect_format(c, b.len, "version 3 is not supported", "version");

    memcpy(c, b.data, b.len); /* version 2 needs text ids after the item ids: none here */
    put32(c + 8, 2);
    fix_crc(c, b.len);
    expect_format(c, b.len, "", "version 2 without text ids");

    memcpy(c, b.data, b.len); /* unknown algorithm, valid CRC */
    memcpy(c + 16, "testfaky", 8);
    fix_crc(c, b.len);
    expect_format(c, b.len, "unknown algorithm 'testfaky'", "algo");

    memcpy(c, b.data, b.len); /* non-printable algorithm name */
    c[18] = '\n';
    fix_crc(c, b.len);
    expect_format(c, b.len, "bad algorithm name", "algo name");

    memcpy(c, b.data, b.len); /* name length 0 */
    put32(c + 12, 0);
    fix_crc(c, b.len);
    expect_format(c, b.len, "algorithm name length 0", "algo len");

    memcpy(c, b.data, b.len); /* item count 0 */
    memset(c + 24, 0, 8);
    fix_crc(c, b.len);
    expect_format(c, b.len, "item count 0", "n_items 0");

    memcpy(c, b.data, b.len); /* item count huge */
    memset(c + 24, 0xff, 8);
    fix_crc(c, b.len);
    expect_format(c, b.len, "item count", "n_items huge");

    memcpy(c, b.data, b.len); /* repeated id: ids[1] = ids[0] */
    memcpy(c + 40, c + 32, 8);
    fix_crc(c, b.len);
    expect_format(c, b.len, "repeated item ids", "dup ids");

    memcpy(c, b.data, b.len); /* payload length too large */
    c[72] = 0xff;
    c[79] = 0x7f;
    fix_crc(c, b.len);
    expect_format(c, b.len, "truncated", "plen huge");

    memcpy(c, b.data, b.len); /* the algorithm refuses its payload (k = 4 with 3 floats) */
    put32(c + 84, 4);
    fix_crc(c, b.len);
    expect_format(c, b.len, "bad testfake payload", "payload");

    free(c);
    sr_buf_free(&b);
}

static void test_save_refuses(void)
{
    static const sr_model_vt novt = {"nosave", 0, 0, 0, 0, 0, 0, 0, 0, 0};
    sr_model *m = sr_model_new_shell(&novt, 5, ids);
    sr_error err = {0};
    char path[512];
    path_in_tmp(path, sizeof path, "nosave.srm");
    CHECK(sr_model_save(m, path, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "cannot be saved") != NULL);
    FILE *f = fopen(path, "rb");
    CHECK(f == NULL);
    if (f)
        fclose(f);
    sr_model_free(m);
}

/* ---- the algorithm table --------------------------------------------------------------- */

static void test_table_public(void)
{
    /* every row has a vt of its own name, a train function, and parameter
     * and preset descriptions that are complete */
    CHECK_EQ_INT(sr_algo_count(), sr_algo_default.n);
    CHECK_EQ_INT(sr_algo_count(), 9);
    for (int i = 0; i < sr_algo_count(); i++) {
        const sr_algo *row = sr_algo_default.rows[i];
        const sr_algo_info *a = sr_algo_at(i);
        CHECK(a == &row->info);
        CHECK(sr_algo_find(a->name) == a);
        CHECK_MSG(row->vt && !strcmp(row->vt->algo, a->name), "%s", a->name);
        CHECK(row->train != NULL);
        CHECK_MSG(a->summary && *a->summary, "%s", a->name);
        for (int j = i + 1; j < sr_algo_count(); j++)
            CHECK(strcmp(a->name, sr_algo_at(j)->name));
        for (int k = 0; k < a->n_params; k++) {
            const sr_param_info *p = &a->params[k];
            CHECK_MSG(p->name && p->def && p->help && *p->help, "%s param %d", a->name, k);
            CHECK_MSG(p->type != SR_PARAM_CHOICE || p->choices, "%s.%s", a->name, p->name);
        }
        for (int k = 0; k < a->n_presets; k++)
            CHECK(sr_algo_preset(a, a->presets[k].name) == &a->presets[k]);
    }
    CHECK(sr_algo_at(-1) == NULL);
    CHECK(sr_algo_at(sr_algo_count()) == NULL);
    CHECK(sr_algo_find("testfake") == NULL);
    CHECK(sr_algo_find("knn") == NULL);
    CHECK(sr_algo_find(NULL) == NULL);
    CHECK(sr_algo_preset(sr_algo_find("pop"), "rsc15") == NULL);
    CHECK(sr_algo_preset(sr_algo_find("stan"), "rsc15") != NULL);
    CHECK(sr_algo_preset(sr_algo_find("gru4rec"), "tutorial") != NULL);
    /* the test's table holds every row of the library's, plus testfake */
    for (int i = 0; i < sr_algo_default.n; i++)
        CHECK(sr_algo_find_in(&fake_table, sr_algo_default.rows[i]->info.name) ==
              sr_algo_default.rows[i]);
    CHECK(sr_algo_find_in(&fake_table, "testfake") == &fake_algo);
}

static void test_table_new_algorithm(void)
{
    /* a split of 4 items, clicks 0 0 1 | 2 3 0 */
    int64_t offs[] = {0, 3, 6}, times[] = {1, 2, 3, 4, 5, 6}, sids[] = {1, 2};
    int64_t items_ids[] = {70, 71, 72, 73};
    int32_t clicks[] = {0, 0, 1, 2, 3, 0};
    sr_split sp;
    memset(&sp, 0, sizeof sp);
    sp.n_events = 6;
    sp.n_sessions = 2;
    sp.n_items = 4;
    sp.session_ids = sids;
    sp.offsets = offs;
    sp.items = clicks;
    sp.times = times;
    sp.item_ids = items_ids;

    sr_model *m = NULL;
    sr_error err = {0};
    /* the library's table knows no testfake: training and loading refuse it */
    CHECK(sr_train("testfake", &sp, NULL, NULL, NULL, &m, &err) == SR_ERR_ARG);
    CHECK(m == NULL);
    CHECK(strstr(err.msg, "unknown algorithm 'testfake'") != NULL);
    CHECK(strstr(err.msg, "gru4rec") != NULL && strstr(err.msg, "stan") != NULL);
    /* through the test's table: preset, then parameters on top */
    CHECK(sr_train_in(&fake_table, "testfake", &sp, "nine", NULL, NULL, &m, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "unknown preset 'nine' (known: five)") != NULL);
    CHECK(sr_train_in(&fake_table, "testfake", &sp, "five", "k=x", NULL, &m, &err) == SR_ERR_ARG);
    CHECK(m == NULL);
    CHECK(sr_train_in(&fake_table, "testfake", &sp, "five", NULL, NULL, &m, &err) == SR_OK);
    CHECK(m && ((const fake_impl *)m->impl)->k == 5);
    sr_model_free(m);
    m = NULL;
    CHECK_MSG(sr_train_in(&fake_table, "testfake", &sp, "five", "k=2", NULL, &m, &err) == SR_OK,
              "%s", err.msg);
    if (!m)
        return;
    const fake_impl *im = m->impl;
    CHECK(im->k == 2 && im->w[0] == 3.0f && im->w[1] == 1.0f);
    CHECK(!strcmp(sr_model_algo(m), "testfake"));
    /* save -> load through the test's table -> the same scores */
    char path[512];
    path_in_tmp(path, sizeof path, "tiny.srm");
    CHECK(sr_model_save(m, path, &err) == SR_OK);
    sr_model *l = NULL;
    CHECK(sr_model_load(path, &l, &err) == SR_ERR_FORMAT);
    CHECK(l == NULL);
    CHECK(strstr(err.msg, "unknown algorithm 'testfake'") != NULL);
    CHECK_MSG(sr_model_load_from(&fake_table, path, &l, &err) == SR_OK, "%s", err.msg);
    if (l) {
        sr_scorer *s1 = sr_scorer_new(m, 1), *s2 = sr_scorer_new(l, 1);
        float a[4], b[4];
        int32_t it = 1;
        sr_scorer_reset(s1, 0);
        sr_scorer_reset(s2, 0);
        sr_scorer_step(s1, &it, 1, a);
        sr_scorer_step(s2, &it, 1, b);
        CHECK(!memcmp(a, b, sizeof a));
        CHECK(a[0] == 3.001f && a[1] == 1.001f && a[2] == 3.001f);
        sr_scorer_free(s1);
        sr_scorer_free(s2);
        sr_model_free(l);
    }
    sr_model_free(m);
    /* a library row through the test's table trains the same model as through
     * the library's own */
    sr_model *p1 = NULL, *p2 = NULL;
    CHECK(sr_train_in(&fake_table, "pop", &sp, NULL, "top_n=2", NULL, &p1, &err) == SR_OK);
    CHECK(sr_train("pop", &sp, NULL, "top_n=2", NULL, &p2, &err) == SR_OK);
    if (p1 && p2) {
        sr_buf b1 = {0}, b2 = {0};
        CHECK(sr_model_to_bytes(p1, &b1, NULL) == SR_OK && sr_model_to_bytes(p2, &b2, NULL) == SR_OK);
        CHECK(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len));
        sr_buf_free(&b1);
        sr_buf_free(&b2);
    }
    sr_model_free(p1);
    sr_model_free(p2);
    /* the baselines' entry point refuses gru4rec and unknown names */
    CHECK(sr_train_baseline("gru4rec", NULL, &sp, &m, &err) == SR_ERR_ARG);
    CHECK(sr_train_baseline("knn", NULL, &sp, &m, &err) == SR_ERR_ARG);
    CHECK(sr_train("stan", &sp, "tutorial", NULL, NULL, &m, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "stan: unknown preset 'tutorial' (known: rsc15)") != NULL);
}

int main(void)
{
    RUN(test_layout);
    RUN(test_roundtrip_and_atomic_save);
    RUN(test_rejects_truncation_and_corruption);
    RUN(test_rejects_foreign_and_inconsistent);
    RUN(test_save_refuses);
    RUN(test_table_public);
    RUN(test_table_new_algorithm);
    int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", test_tmpdir());
    return rc;
}
