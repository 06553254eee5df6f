/*
 * test_params.c - GRU4Rec hyperparameters: official defaults, the official
 * name=value syntax, presets, rejection of unknown names and bad values
 * (naming them), and format -> parse round trips.
 */
#include "gru4rec/params.h"
#include "test.h"

/* Field-by-field equality (memcmp would also compare padding bytes). */
static int same_params(const sr_gru_params *a, const sr_gru_params *b)
{
    int same = a->n_layers == b->n_layers && a->embedding == b->embedding &&
               a->constrained_embedding == b->constrained_embedding && a->loss == b->loss &&
               a->optim == b->optim && a->batch_size == b->batch_size &&
               a->dropout_p_embed == b->dropout_p_embed &&
               a->dropout_p_hidden == b->dropout_p_hidden &&
               a->learning_rate == b->learning_rate && a->momentum == b->momentum &&
               a->adam_beta1 == b->adam_beta1 && a->adam_beta2 == b->adam_beta2 &&
               a->adam_eps == b->adam_eps && a->n_sample == b->n_sample &&
               a->sample_alpha == b->sample_alpha && a->sample_store == b->sample_store &&
               a->logq == b->logq && a->bpreg == b->bpreg && a->elu_param == b->elu_param &&
               a->n_epochs == b->n_epochs && a->seed == b->seed;
    for (int i = 0; i < SR_MAX_LAYERS; i++)
        same &= a->layers[i] == b->layers[i];
    return same;
}

static void test_defaults(void)
{
    sr_gru_params p = sr_gru_default_params();
    CHECK_EQ_INT(p.n_layers, 1);
    CHECK_EQ_INT(p.layers[0], 100);
    CHECK(p.loss == SR_LOSS_XE);
    CHECK_EQ_INT(p.batch_size, 64);
    CHECK(p.dropout_p_embed == 0.0f && p.dropout_p_hidden == 0.0f);
    CHECK(p.learning_rate == 0.05f);
    CHECK(p.momentum == 0.0f);
    CHECK_EQ_INT(p.n_sample, 2048);
    CHECK(p.sample_alpha == 0.5f);
    CHECK_EQ_INT(p.sample_store, 10000000);
    CHECK(p.logq == 0.0f && p.bpreg == 1.0f && p.elu_param == 0.5f);
    CHECK_EQ_INT(p.embedding, 0);
    CHECK_EQ_INT(p.constrained_embedding, 1);
    CHECK_EQ_INT(p.n_epochs, 10);
    CHECK(p.optim == SR_OPT_ADAGRAD);
    CHECK_EQ_INT(p.seed, 42);
    CHECK(sr_gru_params_check(&p, NULL) == SR_OK);
}

static void test_parse_official_syntax(void)
{
    sr_gru_params p = sr_gru_default_params();
    sr_error err = {0};
    CHECK(sr_gru_params_parse(&p,
                              "loss=bpr-max,layers=480/480, constrained_embedding=False,embedding=64,"
                              "batch_size=48,dropout_p_embed=0.25,dropout_p_hidden=0.5,"
                              "learning_rate=0.07,momentum=0.3,n_sample=1024,sample_alpha=0.2,"
                              "sample_store_size=0,logq=0.5,bpreg=1.95,elu_param=0,n_epochs=3,"
                              "optim=adam,seed=18446744073709551615",
                              &err) == SR_OK);
    CHECK(p.loss == SR_LOSS_BPR_MAX);
    CHECK_EQ_INT(p.n_layers, 2);
    CHECK_EQ_INT(p.layers[0], 480);
    CHECK_EQ_INT(p.layers[1], 480);
    CHECK_EQ_INT(p.layers[2], 0);
    CHECK_EQ_INT(p.constrained_embedding, 0);
    CHECK_EQ_INT(p.embedding, 64);
    CHECK_EQ_INT(p.batch_size, 48);
    CHECK(p.dropout_p_embed == 0.25f && p.dropout_p_hidden == 0.5f);
    CHECK(p.learning_rate == 0.07f && p.momentum == 0.3f);
    CHECK_EQ_INT(p.n_sample, 1024);
    CHECK(p.sample_alpha == 0.2f);
    CHECK_EQ_INT(p.sample_store, 0);
    CHECK(p.logq == 0.5f && p.bpreg == 1.95f && p.elu_param == 0.0f);
    CHECK_EQ_INT(p.n_epochs, 3);
    CHECK(p.optim == SR_OPT_ADAM);
    CHECK(p.seed == UINT64_MAX);
    /* aliases and booleans */
    CHECK(sr_gru_params_parse(&p, "loss=xe,constrained_embedding=1", &err) == SR_OK);
    CHECK(p.loss == SR_LOSS_XE && p.constrained_embedding == 1);
    CHECK(sr_gru_params_parse(&p, "loss=ce,constrained_embedding=false", &err) == SR_OK);
    CHECK(p.loss == SR_LOSS_XE && p.constrained_embedding == 0);
    CHECK(sr_gru_params_parse(&p, "loss=full-cross-entropy,constrained_embedding=True", &err) == SR_OK);
    CHECK(p.loss == SR_LOSS_FULL_XE && p.constrained_embedding == 1);
    CHECK(sr_gru_params_parse(&p, "layers=100", &err) == SR_OK);
    CHECK_EQ_INT(p.n_layers, 1);
    CHECK_EQ_INT(p.layers[1], 0);
    /* empty pieces, newlines and blanks are fine */
    CHECK(sr_gru_params_parse(&p, "", &err) == SR_OK);
    CHECK(sr_gru_params_parse(&p, " batch_size = 7 ,,\n n_epochs=2\n", &err) == SR_OK);
    CHECK_EQ_INT(p.batch_size, 7);
    CHECK_EQ_INT(p.n_epochs, 2);
}

/* A failing parse names the culprit and leaves the struct untouched. */
static void expect_bad(const char *spec, const char *needle)
{
    sr_gru_params p = sr_gru_default_params(), q = p;
    sr_error err = {0};
    CHECK_MSG(sr_gru_params_parse(&p, spec, &err) == SR_ERR_ARG, "'%s' accepted", spec);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "'%s': message '%s' lacks '%s'", spec, err.msg, needle);
    CHECK_MSG(same_params(&p, &q), "'%s' changed the params", spec);
}

static void test_parse_rejects(void)
{
    expect_bad("batch_size=32,hidden_size=100", "unknown parameter 'hidden_size'");
    expect_bad("batch_size=32,oops", "'oops': expected name=value");
    expect_bad("batch_size=0", "batch_size: bad value '0'");
    expect_bad("batch_size=32.0", "batch_size: bad value '32.0'");
    expect_bad("batch_size=", "batch_size: bad value ''");
    expect_bad("layers=100/", "layers: bad value '100/'");
    expect_bad("layers=1/2/3/4/5", "layers: bad value");
    expect_bad("layers=0", "layers: bad value '0'");
    expect_bad("layers=abc", "layers: bad value 'abc'");
    /* the network's limit (16384 units): the parser must not promise more */
    expect_bad("layers=100/16385", "layers: bad value '100/16385'");
    expect_bad("layers=100/16385", "[1, 16384]");
    expect_bad("embedding=16385", "embedding: bad value '16385'");
    expect_bad("loss=top1", "loss: bad value 'top1'");
    expect_bad("constrained_embedding=yes", "constrained_embedding: bad value 'yes'");
    expect_bad("dropout_p_hidden=1", "dropout_p_hidden: bad value '1'");
    expect_bad("dropout_p_embed=-0.1", "dropout_p_embed: bad value '-0.1'");
    expect_bad("learning_rate=0", "learning_rate: bad value '0'");
    expect_bad("learning_rate=nan", "learning_rate: bad value 'nan'");
    expect_bad("learning_rate=inf", "learning_rate: bad value 'inf'");
    expect_bad("learning_rate=1e39", "learning_rate: bad value '1e39'");
    expect_bad("momentum=1", "momentum: bad value '1'");
    expect_bad("n_sample=-1", "n_sample: bad value '-1'");
    expect_bad("optim=sgd", "optim: bad value 'sgd'");
    expect_bad("seed=-3", "seed: bad value '-3'");
    expect_bad("seed=99999999999999999999", "seed: bad value");
    expect_bad("n_epochs=1e3", "n_epochs: bad value '1e3'");
    /* the earlier good pieces of a bad string are not applied either */
    expect_bad("n_epochs=3,loss=nope", "loss: bad value 'nope'");
}

static void test_presets(void)
{
    sr_gru_params p = sr_gru_default_params();
    sr_error err = {0};
    CHECK(sr_gru_params_parse(&p, "bpreg=3,n_sample=5", &err) == SR_OK);
    CHECK(sr_gru_params_preset(&p, "rsc15", &err) == SR_OK);
    CHECK(p.loss == SR_LOSS_XE);
    CHECK_EQ_INT(p.constrained_embedding, 1);
    CHECK_EQ_INT(p.embedding, 0);
    CHECK_EQ_INT(p.n_layers, 1);
    CHECK_EQ_INT(p.layers[0], 100);
    CHECK_EQ_INT(p.batch_size, 32);
    CHECK(p.dropout_p_embed == 0.1f && p.dropout_p_hidden == 0.0f);
    CHECK(p.learning_rate == 0.1f && p.momentum == 0.0f);
    CHECK_EQ_INT(p.n_sample, 2048);
    CHECK(p.sample_alpha == 0.75f && p.logq == 1.0f);
    CHECK_EQ_INT(p.n_epochs, 10);
    CHECK(p.optim == SR_OPT_ADAGRAD);
    CHECK(p.bpreg == 1.0f); /* a preset starts from the defaults */
    CHECK_EQ_INT(p.seed, 42);

    CHECK(sr_gru_params_preset(&p, "tutorial", &err) == SR_OK);
    CHECK(p.loss == SR_LOSS_FULL_XE);
    CHECK_EQ_INT(p.constrained_embedding, 0);
    CHECK_EQ_INT(p.embedding, 0);
    CHECK_EQ_INT(p.n_layers, 1);
    CHECK_EQ_INT(p.layers[0], 50);
    CHECK_EQ_INT(p.batch_size, 1024);
    /* one-hot, one layer: the GRU layer's output dropout is dropout_p_embed */
    CHECK(p.dropout_p_embed == 0.1f && p.dropout_p_hidden == 0.0f);
    CHECK(p.optim == SR_OPT_ADAM && p.learning_rate == 0.001f);
    CHECK(p.adam_beta1 == 0.9f && p.adam_beta2 == 0.999f && p.adam_eps == 1e-8f);
    CHECK_EQ_INT(p.n_sample, 0);
    CHECK_EQ_INT(p.n_epochs, 3);

    sr_gru_params q = p;
    CHECK(sr_gru_params_preset(&p, "rsc16", &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "unknown preset 'rsc16'") != NULL);
    CHECK(same_params(&p, &q));
}

static void roundtrip(const sr_gru_params *p)
{
    char buf[1024];
    sr_gru_params_format(p, buf, sizeof buf);
    sr_gru_params q = sr_gru_default_params();
    sr_error err = {0};
    CHECK_MSG(sr_gru_params_parse(&q, buf, &err) == SR_OK, "'%s': %s", buf, err.msg);
    CHECK_MSG(same_params(p, &q), "'%s' does not read back", buf);
}

static void test_format_roundtrip(void)
{
    sr_gru_params p = sr_gru_default_params();
    char buf[1024];
    sr_gru_params_format(&p, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "layers=100,loss=cross-entropy,constrained_embedding=True,embedding=0,"
                           "batch_size=64,dropout_p_embed=0,dropout_p_hidden=0,learning_rate=0.05,"
                           "momentum=0,n_sample=2048,sample_alpha=0.5,sample_store_size=10000000,"
                           "logq=0,bpreg=1,elu_param=0.5,n_epochs=10,optim=adagrad,seed=42"),
              "got '%s'", buf);
    roundtrip(&p);
    sr_gru_params_preset(&p, "rsc15", NULL);
    roundtrip(&p);
    sr_gru_params_preset(&p, "tutorial", NULL);
    roundtrip(&p);
    sr_gru_params_format(&p, buf, sizeof buf);
    CHECK(strstr(buf, "optim=adam,adam_beta1=0.9,adam_beta2=0.999,adam_eps=1e-08,seed=42") != NULL);
    p = sr_gru_default_params();
    sr_gru_params_parse(&p, "layers=3/5/7/11,loss=bpr-max,learning_rate=0.0123456789,"
                            "sample_alpha=0.333333333,seed=123456789012345", NULL);
    roundtrip(&p);
    /* truncation is safe and terminated */
    char small[10];
    sr_gru_params_format(&p, small, sizeof small);
    CHECK_EQ_INT(strlen(small), 9);
}

static void test_check(void)
{
    sr_gru_params p = sr_gru_default_params();
    sr_error err = {0};
    p.n_layers = 0;
    CHECK(sr_gru_params_check(&p, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "layers") != NULL);
    p = sr_gru_default_params();
    p.learning_rate = NAN;
    CHECK(sr_gru_params_check(&p, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "learning_rate") != NULL);
    p = sr_gru_default_params();
    p.loss = SR_LOSS_BPR_MAX;
    p.batch_size = 1;
    p.n_sample = 0;
    CHECK(sr_gru_params_check(&p, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "bpr-max") != NULL);
    p.n_sample = 1;
    CHECK(sr_gru_params_check(&p, &err) == SR_OK);
    p = sr_gru_default_params();
    p.layers[0] = 16385; /* more than the network (gru4rec.c) takes */
    CHECK(sr_gru_params_check(&p, &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "16384") != NULL);
    sr_gru_params_preset(&p, "tutorial", NULL);
    CHECK(sr_gru_params_check(&p, &err) == SR_OK);
}

/* gru4rec's row of the algorithm table describes the parser truthfully:
 * each name and alias parses, each default reads back as the default, each
 * choice is accepted, every name of the formatted defaults is listed, and
 * each preset equals sr_gru_params_preset. */
static void test_table_row(void)
{
    const sr_algo_info *a = sr_algo_find("gru4rec");
    CHECK(a != NULL);
    if (!a)
        return;
    const sr_gru_params d = sr_gru_default_params();
    sr_error err = {0};
    for (int i = 0; i < a->n_params; i++) {
        const sr_param_info *pi = &a->params[i];
        char spec[256];
        const char *names[2] = {pi->name, pi->alias};
        for (int n = 0; n < 2 && names[n]; n++) {
            sr_gru_params p = d;
            snprintf(spec, sizeof spec, "%s=%s", names[n], pi->def);
            CHECK_MSG(sr_gru_params_parse(&p, spec, &err) == SR_OK, "%s: %s", spec, err.msg);
            CHECK_MSG(same_params(&p, &d), "%s is not the default", spec);
        }
        for (int c = 0; pi->type == SR_PARAM_CHOICE && pi->choices[c]; c++) {
            sr_gru_params p = d;
            snprintf(spec, sizeof spec, "%s=%s", pi->name, pi->choices[c]);
            CHECK_MSG(sr_gru_params_parse(&p, spec, &err) == SR_OK, "%s: %s", spec, err.msg);
        }
    }
    char buf[1024];
    sr_gru_params_format(&d, buf, sizeof buf);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = 0;
        int found = 0;
        for (int i = 0; i < a->n_params; i++)
            found |= !strcmp(a->params[i].name, tok);
        CHECK_MSG(found, "parameter %s is not in the table", tok);
    }
    CHECK_EQ_INT(a->n_presets, 2);
    for (int i = 0; i < a->n_presets; i++) {
        sr_gru_params p1 = d, p2 = d;
        CHECK(sr_gru_params_preset(&p1, a->presets[i].name, &err) == SR_OK);
        CHECK(sr_gru_params_parse(&p2, a->presets[i].params, &err) == SR_OK);
        CHECK(same_params(&p1, &p2));
    }
}

/* The official -ps value forms and names, and the official Python files. */
static void test_official_forms(void)
{
    sr_error err = {0};
    sr_gru_params p = sr_gru_default_params();
    /* embedding=layersize is resolved at the end, whatever the order */
    CHECK(sr_gru_params_parse(&p, "embedding=layersize,layers=48/32,constrained_embedding=0",
                              &err) == SR_OK);
    CHECK_EQ_INT(p.embedding, 48);
    CHECK_EQ_INT(p.constrained_embedding, 0);
    /* Theano-version names with the value sessrec implements are accepted */
    p = sr_gru_default_params();
    CHECK(sr_gru_params_parse(&p, "hidden_act=tanh,time_sort=True,train_random_order=0,"
                              "grad_cap=0.0,lmbd=0,adapt=adam,final_act=elu-0.5,device=cpu",
                              &err) == SR_OK);
    CHECK(p.optim == SR_OPT_ADAM && p.elu_param == 0.5f);
    /* ... and any other value is an error saying sessrec does not implement it */
    sr_gru_params q = p;
    CHECK(sr_gru_params_parse(&p, "layers=7,hidden_act=relu", &err) == SR_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "hidden_act=relu of the official GRU4Rec is not implemented by "
                     "sessrec") != NULL, "%s", err.msg);
    CHECK(same_params(&p, &q)); /* all or nothing */
    CHECK(sr_gru_params_parse(&p, "grad_cap=5", &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "grad_cap=5") && strstr(err.msg, "not implemented"));
    CHECK(sr_gru_params_parse(&p, "adapt=rmsprop", &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "not implemented by sessrec") != NULL);
    CHECK(sr_gru_params_parse(&p, "loss=top1-max", &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "top1-max") && strstr(err.msg, "not implemented by sessrec"));
    CHECK(sr_gru_params_parse(&p, "layerz=100", &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "unknown parameter 'layerz'") != NULL);

    /* the official paramfiles/rsc15_xe_shared_100_best.py, unchanged */
    const char *py =
        "from collections import OrderedDict\n"
        "gru4rec_params = OrderedDict([\n"
        "('loss', 'cross-entropy'),\n"
        "('constrained_embedding', True),\n"
        "('embedding', 0),\n"
        "('elu_param', 0),\n"
        "('layers', [100]),\n"
        "('n_epochs', 10),\n"
        "('batch_size', 32),\n"
        "('dropout_p_embed', 0.0),\n"
        "('dropout_p_hidden', 0.4),\n"
        "('learning_rate', 0.2),\n"
        "('momentum', 0.2),\n"
        "('n_sample', 2048),\n"
        "('sample_alpha', 0.5),\n"
        "('bpreg', 0.0),\n"
        "('logq', 1.0)\n"
        "])\n";
    p = sr_gru_default_params();
    CHECK_MSG(sr_gru_params_parse_text(&p, py, "rsc15.py", &err) == SR_OK, "%s", err.msg);
    CHECK(p.loss == SR_LOSS_XE && p.constrained_embedding == 1 && p.embedding == 0);
    CHECK(p.n_layers == 1 && p.layers[0] == 100 && p.n_epochs == 10 && p.batch_size == 32);
    CHECK(p.dropout_p_embed == 0.0f && p.dropout_p_hidden == 0.4f && p.learning_rate == 0.2f);
    CHECK(p.momentum == 0.2f && p.n_sample == 2048 && p.sample_alpha == 0.5f);
    CHECK(p.bpreg == 0.0f && p.logq == 1.0f && p.elu_param == 0.0f);

    /* other spellings Python allows: a dict, double quotes, tuples, comments */
    p = sr_gru_default_params();
    CHECK(sr_gru_params_parse_text(&p, "# tuned\nimport collections\ngru4rec_params = {\n"
                                   "  \"layers\": (64, 32),  # two layers\n"
                                   "  'loss': \"bpr-max\", 'embedding': 'layersize',\n"
                                   "  'constrained_embedding': False,\n}\n", "d.py", &err) == SR_OK);
    CHECK(p.n_layers == 2 && p.layers[0] == 64 && p.layers[1] == 32 && p.embedding == 64);
    CHECK(p.loss == SR_LOSS_BPR_MAX && p.constrained_embedding == 0);

    /* errors name the file and line; nothing changes */
    q = p;
    CHECK(sr_gru_params_parse_text(&p, "from collections import OrderedDict\n"
                                   "gru4rec_params = OrderedDict([\n('loss', 'bpr-max'),\n"
                                   "('n_epochs', 'ten'),\n])\n", "bad.py", &err) == SR_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "bad.py:4: parameter n_epochs: bad value 'ten'") != NULL, "%s",
              err.msg);
    CHECK(same_params(&p, &q));
    CHECK(sr_gru_params_parse_text(&p, "gru4rec_params = OrderedDict([\n('loss', 'bpr-max')\n"
                                   "('layers', [10])])\n", "comma.py", &err) == SR_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "comma.py:3:") != NULL, "%s", err.msg);
    CHECK(sr_gru_params_parse_text(&p, "gru4rec_params = OrderedDict([('smoothing', 0.1)])",
                                   "s.py", &err) == SR_ERR_ARG);
    CHECK(strstr(err.msg, "s.py:1: parameter smoothing=0.1") && strstr(err.msg, "not implemented"));
    /* the name=value form, with comments and line numbers */
    p = sr_gru_default_params();
    CHECK(sr_gru_params_parse_text(&p, "# comment\nlayers=20\n\nloss=bpr-max, n_sample=9 # x\n",
                                   "f.txt", &err) == SR_OK);
    CHECK(p.layers[0] == 20 && p.loss == SR_LOSS_BPR_MAX && p.n_sample == 9);
    CHECK(sr_gru_params_parse_text(&p, "layers=20\nbatch_size=0\n", "f.txt", &err) == SR_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "f.txt:2: parameter batch_size") != NULL, "%s", err.msg);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_parse_official_syntax);
    RUN(test_parse_rejects);
    RUN(test_presets);
    RUN(test_format_roundtrip);
    RUN(test_check);
    RUN(test_table_row);
    RUN(test_official_forms);
    return test_summary();
}
