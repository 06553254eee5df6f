/*
 * test_names.c - the names of the public enums (sr_*_name / sr_*_parse): every
 * value round-trips, the official aliases parse, unknown names are SR_ERR_ARG
 * naming the value and listing the known ones; and every API entry point that
 * takes one of these enums rejects a value outside it with SR_ERR_ARG instead
 * of picking one.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "sessrec.h"

#include <math.h>

static void test_round_trip(void)
{
    sr_error e;
    for (int v = 0; v <= SR_LOSS_FULL_XE; v++) {
        sr_loss x = (sr_loss)99;
        CHECK(sr_loss_parse(sr_loss_name((sr_loss)v), &x, &e) == SR_OK && (int)x == v);
    }
    for (int v = 0; v <= SR_OPT_ADAM; v++) {
        sr_optim x = (sr_optim)99;
        CHECK(sr_optim_parse(sr_optim_name((sr_optim)v), &x, &e) == SR_OK && (int)x == v);
    }
    for (int v = 0; v <= SR_FMT_DIGINETICA; v++) {
        sr_format x = (sr_format)99;
        CHECK(sr_format_parse(sr_format_name((sr_format)v), &x, &e) == SR_OK && (int)x == v);
    }
    for (int v = 0; v <= SR_TIES_MEDIAN; v++) {
        sr_ties x = (sr_ties)99;
        CHECK(sr_ties_parse(sr_ties_name((sr_ties)v), &x, &e) == SR_OK && (int)x == v);
    }
    for (int v = 0; v <= SR_FILTER_RSC15; v++) {
        sr_filter_mode x = (sr_filter_mode)99;
        CHECK(sr_filter_parse(sr_filter_name((sr_filter_mode)v), &x, &e) == SR_OK && (int)x == v);
    }
    /* exact spellings */
    CHECK(!strcmp(sr_loss_name(SR_LOSS_BPR_MAX), "bpr-max"));
    CHECK(!strcmp(sr_loss_name(SR_LOSS_FULL_XE), "full-cross-entropy"));
    CHECK(!strcmp(sr_format_name(SR_FMT_YOOCHOOSE), "yoochoose"));
    CHECK(!strcmp(sr_ties_name(SR_TIES_CONSERVATIVE), "conservative"));
    CHECK(!strcmp(sr_filter_name(SR_FILTER_RSC15), "rsc15"));
    CHECK(!strcmp(sr_optim_name(SR_OPT_ADAGRAD), "adagrad"));
    /* values outside the enums */
    CHECK(!strcmp(sr_loss_name((sr_loss)7), "unknown"));
    CHECK(!strcmp(sr_format_name((sr_format)-1), "unknown"));
    CHECK(!strcmp(sr_ties_name((sr_ties)3), "unknown"));
}

static void test_aliases_and_errors(void)
{
    sr_error e;
    sr_loss l = SR_LOSS_BPR_MAX;
    CHECK(sr_loss_parse("xe", &l, &e) == SR_OK && l == SR_LOSS_XE);
    CHECK(sr_loss_parse("full-ce", &l, &e) == SR_OK && l == SR_LOSS_FULL_XE);
    CHECK(sr_loss_parse("ce", &l, &e) == SR_OK && l == SR_LOSS_XE);
    l = SR_LOSS_BPR_MAX;
    CHECK(sr_loss_parse("top1", &l, &e) == SR_ERR_ARG);
    CHECK(l == SR_LOSS_BPR_MAX); /* untouched on error */
    CHECK_MSG(strstr(e.msg, "'top1'") && strstr(e.msg, "cross-entropy, bpr-max, full-cross-entropy"),
              "%s", e.msg);
    CHECK(!strstr(e.msg, "xe,")); /* each value listed once, by its name */
    sr_format f;
    CHECK(sr_format_parse("xml", &f, &e) == SR_ERR_ARG);
    CHECK_MSG(strstr(e.msg, "'xml'") && strstr(e.msg, "auto, yoochoose, tsv, diginetica, csv"),
              "%s", e.msg);
    CHECK(sr_format_parse("csv", &f, &e) == SR_OK && f == SR_FMT_CSV);
    CHECK(sr_format_parse("TSV", &f, NULL) == SR_ERR_ARG); /* names are case-sensitive */
    CHECK(sr_format_parse(NULL, &f, &e) == SR_ERR_ARG);
    sr_ties t;
    CHECK(sr_ties_parse("best", &t, &e) == SR_ERR_ARG && strstr(e.msg, "median"));
    sr_filter_mode m;
    CHECK(sr_filter_parse("", &m, &e) == SR_ERR_ARG && strstr(e.msg, "recursive, rsc15"));
    sr_optim o;
    CHECK(sr_optim_parse("sgd", &o, &e) == SR_ERR_ARG && strstr(e.msg, "adagrad, adam"));
}

/* Every entry point that takes one of the enums rejects a value outside it. */
static void test_boundaries_reject(void)
{
    sr_error e;
    /* reader: an unknown format does not parse as some other format */
    const char *csv = "1,2014-04-01T10:00:00.000Z,214536502,0\n";
    sr_read_opts ro = sr_read_default_opts();
    ro.format = (sr_format)9;
    sr_log log;
    memset(&log, 0, sizeof log);
    CHECK(sr_read_log_mem(csv, strlen(csv), "mem", &ro, &log, NULL, &e) == SR_ERR_ARG);
    sr_log_free(&log);
    ro.format = SR_FMT_YOOCHOOSE;
    CHECK(sr_read_log_mem(csv, strlen(csv), "mem", &ro, &log, NULL, &e) == SR_OK && log.n == 1);

    /* preparation */
    sr_prepare_opts po = sr_prepare_default_opts();
    po.filter = (sr_filter_mode)5;
    sr_prepared pr;
    memset(&pr, 0, sizeof pr);
    CHECK(sr_prepare(&log, &po, &pr, &e) == SR_ERR_ARG);
    sr_log_free(&log);

    /* GRU4Rec parameters */
    sr_gru_params p = sr_gru_default_params();
    char desc[512];
    p.loss = SR_LOSS_FULL_XE;
    sr_gru_params_format(&p, desc, sizeof desc);
    CHECK_MSG(strstr(desc, "loss=full-cross-entropy") != NULL, "%s", desc);
    p.loss = (sr_loss)3;
    int64_t off[3] = {0, 2, 4};
    int32_t items[4] = {0, 1, 1, 0};
    int64_t times[4] = {1, 2, 3, 4}, sids[2] = {1, 2}, ids[2] = {10, 11};
    sr_split s = {4, 2, 2, sids, off, items, times, ids, {0}, NULL, 0};
    sr_model *m = NULL;
    CHECK(sr_train_gru(&s, &p, NULL, &m, &e) == SR_ERR_ARG && m == NULL);
    CHECK_MSG(strstr(e.msg, "loss"), "%s", e.msg);
    p = sr_gru_default_params();
    p.optim = (sr_optim)2;
    CHECK(sr_train_gru(&s, &p, NULL, &m, &e) == SR_ERR_ARG && m == NULL);

    /* evaluation and ranking */
    CHECK(sr_train_baseline("pop", NULL, &s, &m, &e) == SR_OK);
    sr_eval_opts eo = sr_eval_default_opts();
    eo.ties = (sr_ties)3;
    sr_eval_result r;
    CHECK(sr_evaluate(m, &s, &eo, &r, &e) == SR_ERR_ARG);
    sr_model_free(m);
    float sc[3] = {1, 2, 2};
    CHECK(sr_rank(sc, 3, 2, SR_TIES_STANDARD) == 1.0);
    CHECK(sr_rank(sc, 3, 2, SR_TIES_CONSERVATIVE) == 2.0);
    CHECK(sr_rank(sc, 3, 2, SR_TIES_MEDIAN) == 1.5);
    CHECK(isnan(sr_rank(sc, 3, 2, (sr_ties)3)));
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_aliases_and_errors);
    RUN(test_boundaries_reject);
    return test_summary();
}
