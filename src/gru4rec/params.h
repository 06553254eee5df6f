/*
 * params.h - internal: checks of GRU4Rec hyperparameters shared by the
 * parser (params.c) and the training driver (train.c). Never prints.
 */
#ifndef SR_PARAMS_H
#define SR_PARAMS_H

#include "sessrec.h"

/* Checks every field of p against the ranges the parser accepts (so that a
 * struct filled by hand gets the same checks). SR_ERR_ARG naming the field. */
sr_status sr_gru_params_check(const sr_gru_params *p, sr_error *err);

/* The named presets (rsc15, tutorial): name, parameter text, help. */
#define SR_GRU_N_PRESETS 2
extern const sr_preset_info sr_gru_presets[SR_GRU_N_PRESETS];
/* The checks of a training run on top of sr_gru_params_check: a parameter
 * that no layer of this network can use is an error (a model file that holds
 * one still loads: only training refuses it). */
sr_status sr_gru_params_check_used(const sr_gru_params *p, sr_error *err);

#endif
