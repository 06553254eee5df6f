/*
 * store.h - internal entry points of the binary split store (data/store.c),
 * for the fuzzer and for other parts of the library. The file format is in
 * docs/formats.md.
 */
#ifndef SR_DATA_STORE_H
#define SR_DATA_STORE_H

#include "sessrec.h"

#include <stddef.h>

/* Verifies a whole split file image (`len` bytes at `buf`, 8-byte aligned)
 * and points out's arrays into it. `out` does not own anything: do NOT pass
 * it to sr_split_free; it is valid while `buf` is. `name` is used in messages.
 * Any inconsistency -> SR_ERR_FORMAT, out zeroed. */
sr_status sr_split_view(const void *buf, size_t len, const char *name, sr_split *out,
                        sr_error *err);

/* Checks the invariants of a split in memory: counts >= 0, n_items <= INT32_MAX,
 * offsets[0] = 0, non-decreasing, offsets[n_sessions] = n_events, every item
 * index in [0, n_items). Failure -> `st` with a message naming `name`. */
sr_status sr_split_check(const sr_split *s, const char *name, sr_status st, sr_error *err);

/* 1 when `path` can be opened and starts with the split file magic, else 0
 * (the file is not verified: sr_split_load does that). */
int sr_split_is_file(const char *path);

#endif
