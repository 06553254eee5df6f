/*
 * checkpoint.h - internal: model files with the library's algorithm table
 * (sr_model_load is public; the container itself is model/file.h).
 */
#ifndef SR_CHECKPOINT_H
#define SR_CHECKPOINT_H

#include "model/file.h"
#include "registry/registry.h"

sr_status sr_model_load_mem(const uint8_t *data, size_t len, const char *name, sr_model **out,
                            sr_error *err);

#endif
