/*
 * test_e2e_gru.c - end to end on real data: GRU4Rec with --preset rsc15 trained
 * on ../shared/data/yoochoose1_64/train.tsv, evaluated on test.tsv with full
 * ranking and conservative ties. Two epochs instead of ten keep it under a
 * minute; the thresholds are far above what popularity (Recall@20 0.074,
 * MRR@20 0.017) or a broken GRU4Rec reaches, and a little below what two epochs
 * of a faithful one give (about 0.699 / 0.305 measured). The full 10-epoch
 * accuracy against the official figures is in `make bench`.
 */
#include "test.h"
#include "sessrec.h"

static void open_split(const char *name, sr_split *s, int *ok)
{
    char path[1024];
    sr_error err = {0};
    snprintf(path, sizeof path, "%s/yoochoose1_64/%s", test_data_dir(), name);
    *ok = sr_split_open(path, s, &err) == SR_OK;
    if (!*ok)
        fprintf(stderr, "  %s\n", err.msg);
}

static void test_rsc15_two_epochs_on_yoochoose1_64(void)
{
    if (getenv("SR_SAN"))
        SKIP("heavy; run in the normal build");
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/yoochoose1_64/train.tsv", test_data_dir());
    FILE *f = fopen(probe, "r");
    if (!f)
        SKIP("../shared/data/yoochoose1_64 not found");
    fclose(f);

    sr_split train = {0}, test = {0};
    int ok1, ok2;
    open_split("train.tsv", &train, &ok1);
    open_split("test.tsv", &test, &ok2);
    CHECK(ok1 && ok2);
    if (!ok1 || !ok2)
        return;

    sr_gru_params p = sr_gru_default_params();
    sr_error err = {0};
    CHECK(sr_gru_params_preset(&p, "rsc15", &err) == SR_OK);
    p.n_epochs = 2;
    sr_model *m = NULL;
    CHECK(sr_train_gru(&train, &p, NULL, &m, &err) == SR_OK);
    if (!m) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(sr_model_n_items(m), 17376);

    sr_eval_opts eo = sr_eval_default_opts();
    eo.ties = SR_TIES_CONSERVATIVE;
    sr_eval_result r;
    CHECK(sr_evaluate(m, &test, &eo, &r, &err) == SR_OK);
    /* 55,898 targets minus the rows whose item is not in train */
    CHECK_EQ_INT(r.n_predictions, 55121);
    int k20 = -1, k1 = -1;
    for (int i = 0; i < r.n_cutoffs; i++) {
        if (r.cutoffs[i] == 20) k20 = i;
        if (r.cutoffs[i] == 1) k1 = i;
    }
    CHECK(k20 >= 0 && k1 >= 0);
    if (k20 >= 0 && k1 >= 0) {
        fprintf(stderr, "  Recall@20 %.4f MRR@20 %.4f Recall@1 %.4f\n", r.recall[k20],
                r.mrr[k20], r.recall[k1]);
        CHECK(r.recall[k20] >= 0.68);
        CHECK(r.mrr[k20] >= 0.29);
        CHECK(r.recall[k1] >= 0.16);
    }
    sr_model_free(m);
    sr_split_free(&train);
    sr_split_free(&test);
}

int main(void)
{
    RUN(test_rsc15_two_epochs_on_yoochoose1_64);
    return test_summary();
}
