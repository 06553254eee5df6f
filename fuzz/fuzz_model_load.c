/*
 * fuzz_model_load.c - libFuzzer target for model files (sr_model_load_mem):
 * any byte string must be rejected cleanly or yield a model that is usable.
 * A loaded model is re-serialized, reloaded, and scored one step (so an
 * algorithm's deserialize that accepts inconsistent shapes shows up as a
 * crash here). Models load through fake_table (tests/fake_model.h): the
 * library's algorithms plus "testfake", so that the container is reachable
 * past the algorithm lookup. Each input is also tried with its CRC
 * fixed, to reach the payload checks. Seeds: fuzz/corpus/fuzz_model_load/
 * (a testfake model, a bare header, and small gru4rec models of each loss).
 */
#include "registry/checkpoint.h"
#include "../tests/fake_model.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_one(data, size);
    /* Random mutations almost never keep the CRC right, which would hide the
     * algorithms' payload checks behind it: load a copy with the CRC fixed too. */
    if (size >= 4) {
        uint8_t *c = malloc(size);
        if (!c)
            return 0;
        memcpy(c, data, size);
        uint32_t crc = sr_crc32(0, c, size - 4);
        for (int i = 0; i < 4; i++)
            c[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
        load_one(c, size);
        free(c);
    }
    return 0;
}

static void load_one(const uint8_t *data, size_t size)
{
    sr_model *m = NULL;
    sr_error err = {0};
    if (sr_model_load_mem_from(&fake_table, data, size, "fuzz.srm", &m, &err) != SR_OK) {
        if (m || err.msg[0] == 0)
            abort(); /* failures return no model and always say why */
        return;
    }
    sr_buf b = {0};
    if (sr_model_to_bytes(m, &b, &err) != SR_OK)
        abort();
    sr_model *m2 = NULL;
    if (sr_model_load_mem_from(&fake_table, b.data, b.len, "again.srm", &m2, &err) != SR_OK)
        abort(); /* what we write, we read */
    sr_model_free(m2);
    sr_buf_free(&b);
    int64_t n = sr_model_n_items(m);
    if (n <= 100000) {
        sr_scorer *s = sr_scorer_new(m, 2);
        float *scores = malloc((size_t)n * 2 * sizeof *scores);
        if (s && scores) {
            int32_t in[2] = {0, (int32_t)(n - 1)};
            sr_scorer_reset(s, 0);
            sr_scorer_reset(s, 1);
            sr_scorer_step(s, in, 2, scores);
            sr_scorer_move(s, 0, 1);
            sr_scorer_step(s, in, 1, scores);
        }
        free(scores);
        sr_scorer_free(s);
    }
    sr_model_free(m);
}
