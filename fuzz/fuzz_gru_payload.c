/*
 * fuzz_gru_payload.c - libFuzzer target for the GRU4Rec model payload parser
 * (sr_gru4rec_vt.deserialize). Model files reach it only after their CRC
 * check, so it gets a target of its own: any input must be rejected with
 * SR_ERR_FORMAT or give a network that scores without a fault.
 * Seeds: fuzz/corpus/fuzz_gru_payload/ (payloads of tiny trained networks;
 * seed3 and seed4 carry a training state, seed3 the official one-hot cell flag).
 */
#include "gru4rec/gru4rec.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t none = 0;
    sr_model *m = sr_model_new_shell(&sr_gru4rec_vt, 0, &none);
    sr_error err;
    if (!m)
        return 0;
    sr_status st = sr_gru4rec_vt.deserialize(m, data, size, &err);
    if (st != SR_OK && st != SR_ERR_FORMAT && st != SR_ERR_NOMEM)
        abort();
    if (st == SR_OK) {
        int64_t n = sr_gru_n_items(m->impl);
        sr_scorer *s = sr_scorer_new(m, 2);
        float *sc = malloc((size_t)(2 * n) * sizeof *sc);
        if (s && sc) {
            int32_t items[2] = {0, (int32_t)(n - 1)};
            sr_scorer_step(s, items, 2, sc);
            sr_scorer_move(s, 0, 1);
            sr_scorer_reset(s, 1);
            sr_scorer_step(s, items, 2, sc);
        }
        free(sc);
        sr_scorer_free(s);
    }
    sr_model_free(m);
    return 0;
}
