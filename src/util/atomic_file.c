/*
 * atomic_file.c - the public face of the atomic file writer (sr_atomic_file in
 * sessrec.h) for programs built on the library: a heap handle around the
 * internal sr_atomic of util.c, with the same semantics. Only the handle lives
 * here; how a file is made safe (temporary name, fsync, rename) is util.c's
 * business, so it can change behind this interface.
 */
#include "util/util.h"

#include <stdlib.h>

struct sr_atomic_file {
    sr_atomic a;
};

sr_status sr_atomic_file_open(const char *path, sr_atomic_file **out, sr_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return sr_error_set(err, SR_ERR_ARG, "atomic file: empty path");
    sr_atomic_file *h = malloc(sizeof *h);
    if (!h)
        return sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
    sr_status st = sr_atomic_open(&h->a, path, err);
    if (st != SR_OK) {
        free(h);
        return st;
    }
    *out = h;
    return SR_OK;
}

FILE *sr_atomic_file_stream(sr_atomic_file *h)
{
    return h->a.f;
}

sr_status sr_atomic_file_commit(sr_atomic_file *h, sr_error *err)
{
    sr_status st = sr_atomic_commit(&h->a, err);
    free(h);
    return st;
}

void sr_atomic_file_abort(sr_atomic_file *h)
{
    if (!h)
        return;
    sr_atomic_abort(&h->a);
    free(h);
}
