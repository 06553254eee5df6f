/*
 * checkpoint.c - model files read with the library's algorithm table: the
 * container is model/file.c, which takes the table as an argument.
 */
#include "registry/checkpoint.h"

sr_status sr_model_load_mem(const uint8_t *data, size_t len, const char *name, sr_model **out,
                            sr_error *err)
{
    return sr_model_load_mem_from(&sr_algo_default, data, len, name, out, err);
}

sr_status sr_model_load(const char *path, sr_model **out, sr_error *err)
{
    return sr_model_load_from(&sr_algo_default, path, out, err);
}
