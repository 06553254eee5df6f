/*
 * registry.c - the list of algorithms that model files can name. Add each new
 * algorithm's sr_model_vt here (and only here).
 */
#include "model/model.h"
#include "gru4rec/gru4rec.h"
#include "baselines/baselines.h" /* sr_vt_pop ... sr_vt_stan */

#include <string.h>

static const sr_model_vt *const registry[] = {
    &sr_gru4rec_vt,
    &sr_vt_pop,
    &sr_vt_spop,
    &sr_vt_iknn,
    &sr_vt_sr,
    &sr_vt_ar,
    &sr_vt_sknn,
    &sr_vt_vsknn,
    &sr_vt_stan,
    NULL, /* keeps the array non-empty; algorithms are added above this line */
};

/* One extra algorithm registered by a test (sr_model_vt_register_test). */
static const sr_model_vt *test_vt;

void sr_model_vt_register_test(const sr_model_vt *vt) { test_vt = vt; }

const sr_model_vt *sr_model_vt_find(const char *algo)
{
    if (test_vt && !strcmp(test_vt->algo, algo))
        return test_vt;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (registry[i] && !strcmp(registry[i]->algo, algo))
            return registry[i];
    return NULL;
}
