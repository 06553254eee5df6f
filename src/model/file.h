/*
 * checkpoint.h - internal: model files in memory (the format is in
 * docs/model-format.md). sr_model_save / sr_model_load (sessrec.h) are thin
 * wrappers that add the atomic write and the file read. Never prints.
 */
#ifndef SR_MODEL_FILE_H
#define SR_MODEL_FILE_H

#include "model/model.h"
#include "model/algo.h"

#define SR_MODEL_MAGIC "SRMODEL"   /* 8 bytes on disk, the NUL included */
#define SR_MODEL_VERSION 2u       /* written only with text item ids; else 1 */
#define SR_MODEL_MAX_ALGO 64

/* Appends the complete model file (header, item ids, payload, CRC) to out. */
sr_status sr_model_to_bytes(const sr_model *m, sr_buf *out, sr_error *err);
/* Parses a complete model file held in memory; `name` (the file name) starts
 * every error message. Rejects anything truncated, corrupted or foreign with
 * SR_ERR_FORMAT; never reads outside [data, data + len). On success *out is a
 * new model (caller frees with sr_model_free). */
/* Loads with a one-row table of vt alone: what a model's own algorithm reads
 * back (the save check, training snapshots). */
sr_status sr_model_load_mem_vt(const sr_model_vt *vt, const uint8_t *data, size_t len,
                               const char *name, sr_model **out, sr_error *err);
/* The same, looking the file's algorithm up in `table` instead of the
 * library's sr_algo_default (tests load models of their own algorithms). */
sr_status sr_model_load_mem_from(const sr_algo_table *table, const uint8_t *data, size_t len,
                                 const char *name, sr_model **out, sr_error *err);
/* sr_model_load with the algorithms of `table`. */
sr_status sr_model_load_from(const sr_algo_table *table, const char *path, sr_model **out,
                             sr_error *err);

#endif
