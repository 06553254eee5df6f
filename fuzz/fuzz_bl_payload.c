/*
 * fuzz_bl_payload.c - libFuzzer target for the baseline model payload parsers
 * (the deserialize of pop, spop, iknn, sr, ar, sknn, vsknn, stan). The first
 * input byte picks the algorithm, the rest is its payload, read against a
 * six-item table (the size of the seeds' training data). Any input must be
 * rejected with SR_ERR_FORMAT (or NOMEM) or give a model that scores
 * sessions without a fault.
 * Seeds: fuzz/corpus/fuzz_bl_payload/ (payloads of models trained on the tiny
 * data set of tests/test_baselines.c, one per algorithm).
 */
#include "registry/registry.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sr_algo *const rows[] = {&sr_algo_pop, &sr_algo_spop, &sr_algo_iknn,
                                          &sr_algo_sr,  &sr_algo_ar,   &sr_algo_sknn,
                                          &sr_algo_vsknn, &sr_algo_stan};
    if (size < 1)
        return 0;
    const sr_model_vt *vt = rows[data[0] % 8]->vt;
    const int64_t ids[6] = {10, 11, 12, 13, 14, 15};
    sr_model *m = sr_model_new_shell(vt, 6, ids);
    sr_error err;
    if (!m)
        return 0;
    sr_status st = vt->deserialize(m, data + 1, size - 1, &err);
    if (st != SR_OK && st != SR_ERR_FORMAT && st != SR_ERR_NOMEM)
        abort();
    if (st == SR_OK) {
        sr_scorer *s = sr_scorer_new(m, 2);
        float *sc = malloc(2 * 6 * sizeof *sc);
        if (s && sc) {
            int32_t items[2] = {0, 5};
            sr_scorer_step(s, items, 2, sc);
            sr_scorer_move(s, 0, 1);
            sr_scorer_reset(s, 1);
            items[0] = 3;
            sr_scorer_step(s, items, 2, sc);
            sr_buf b = {0};
            vt->serialize(m, &b); /* what was accepted can be written back */
            sr_buf_free(&b);
        }
        free(sc);
        sr_scorer_free(s);
    }
    sr_model_free(m);
    return 0;
}
