/*
 * algo.c - gru4rec's row of the algorithm table: its parameters with defaults
 * and help (what --help and sr_algo_find("gru4rec") show), its presets, the
 * model vtable and the train function. The top of the gru4rec folder: it uses
 * the parser (params.c), the network (gru4rec.c) and the driver (train.c),
 * and nothing below uses it.
 */
#include "gru4rec/gru4rec.h"
#include "gru4rec/params.h"
#include "model/algo.h"

/* ---- the algorithm table's row ------------------------------------------------------- */

/* What --help and sr_algo_find("gru4rec") show. The parser above (set_one)
 * does the parsing; test_params checks that every name here parses and that
 * each default reads back as sr_gru_default_params(). */
static const char *const loss_choices[] = {"cross-entropy", "bpr-max", "full-cross-entropy", NULL};
static const char *const optim_choices[] = {"adagrad", "adam", NULL};
static const sr_param_info gru_params[] = {
    {"layers", NULL, SR_PARAM_TEXT, 0, 0, 0, NULL, "100",
     "GRU layer sizes, '/' between layers: 100, 480/480 (1 to 4 layers)"},
    {"loss", NULL, SR_PARAM_CHOICE, 0, 0, 0, loss_choices, "cross-entropy",
     "cross-entropy (also xe, ce): sampled softmax; bpr-max; full-cross-entropy"},
    {"constrained_embedding", NULL, SR_PARAM_BOOL, 0, 0, 1, NULL, "True",
     "True: the input is the item's row of the output weights"},
    {"embedding", NULL, SR_PARAM_INT, 0, 0, 16384, NULL, "0",
     "size of a separate input embedding, 0 = one-hot input (constrained_embedding=False)"},
    {"batch_size", NULL, SR_PARAM_INT, 0, 1, 1048576, NULL, "64",
     "parallel sessions per mini-batch"},
    {"dropout_p_embed", NULL, SR_PARAM_NUMBER, 0, 0, 1, NULL, "0",
     "dropout on the input embedding, < 1 (one-hot input: on the first GRU layer's output)"},
    {"dropout_p_hidden", NULL, SR_PARAM_NUMBER, 0, 0, 1, NULL, "0",
     "dropout on each GRU layer's output, < 1 (one-hot input: on the layers above the first)"},
    {"learning_rate", "lr", SR_PARAM_NUMBER, 0, 0, 3.4e38, NULL, "0.05", "> 0"},
    {"momentum", NULL, SR_PARAM_NUMBER, 0, 0, 1, NULL, "0",
     "Nesterov-style momentum of Adagrad, < 1"},
    {"optim", "optimizer", SR_PARAM_CHOICE, 0, 0, 0, optim_choices, "adagrad", "the optimizer"},
    {"adam_beta1", NULL, SR_PARAM_NUMBER, 0, 0, 1, NULL, "0.9", "Adam's beta1, < 1"},
    {"adam_beta2", NULL, SR_PARAM_NUMBER, 0, 0, 1, NULL, "0.999", "Adam's beta2, < 1"},
    {"adam_eps", NULL, SR_PARAM_NUMBER, 0, 0, 1, NULL, "1e-08", "Adam's epsilon, > 0"},
    {"n_sample", NULL, SR_PARAM_INT, 0, 0, 16777216, NULL, "2048",
     "extra negative samples shared by a mini-batch"},
    {"sample_alpha", NULL, SR_PARAM_NUMBER, 0, 0, 10, NULL, "0.5",
     "samples drawn with probability ~ support^sample_alpha"},
    {"sample_store_size", "sample_store", SR_PARAM_INT, 0, 0, 1e9, NULL, "10000000",
     "negative samples pre-drawn at once (also sample_cache_max_size)"},
    {"logq", NULL, SR_PARAM_NUMBER, 0, 0, 100, NULL, "0", "logQ correction of cross-entropy"},
    {"bpreg", NULL, SR_PARAM_NUMBER, 0, 0, 1e6, NULL, "1", "score regularisation of bpr-max"},
    {"elu_param", NULL, SR_PARAM_NUMBER, 0, 0, 1e6, NULL, "0.5",
     "ELU on bpr-max scores, 0 = none"},
    {"n_epochs", NULL, SR_PARAM_INT, 0, 0, 100000, NULL, "10", "passes over the training data"},
    {"seed", NULL, SR_PARAM_TEXT, 0, 0, 0, NULL, "42", "random seed, an unsigned 64-bit integer"},
};

static sr_status train_gru_spec(const sr_split *train, const char *params,
                                const sr_train_opts *opts, sr_model **out, sr_error *err)
{
    sr_gru_params p = sr_gru_default_params();
    sr_status st = sr_gru_params_parse(&p, params, err);
    if (st != SR_OK)
        return st;
    return sr_train_gru(train, &p, opts, out, err);
}

const sr_algo sr_algo_gru4rec = {
    {"gru4rec", "GRU4Rec: a recurrent network trained on session-parallel mini-batches",
     gru_params, (int)(sizeof gru_params / sizeof gru_params[0]), sr_gru_presets, SR_GRU_N_PRESETS},
    &sr_gru4rec_vt, train_gru_spec};
