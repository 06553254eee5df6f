/*
 * open.c - sr_split_open: "a split or a log" for the commands and tests that
 * accept either. It sits above both the store (data/store.c: split files)
 * and preparation (data/prepare.c: sr_split_from_log) and the readers
 * (data/read.c), so that none of those needs the others.
 * Must never: print, exit, or guess a format the readers would not.
 */
#define _POSIX_C_SOURCE 200809L
#include "data/store.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

sr_status sr_split_open(const char *path, sr_split *out, sr_error *err)
{
    return sr_split_open_opts(path, NULL, out, err);
}

sr_status sr_split_open_opts(const char *path, const sr_read_opts *opts, sr_split *out,
                             sr_error *err)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int e = errno;
        if (e == ENOENT) {
            char alt[4096];
            if (snprintf(alt, sizeof alt, "%s.split", path) >= (int)sizeof alt)
                return sr_error_set(err, SR_ERR_ARG, "%s: path too long", path);
            if (stat(alt, &sb) == 0)
                return sr_split_load(alt, out, err);
            return sr_error_set(err, SR_ERR_IO, "%s: no such file (nor %s)", path, alt);
        }
        return sr_error_set(err, SR_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode))
        return sr_error_set(err, SR_ERR_ARG, "%s is a folder; name a split in it (e.g. %s/test)",
                            path, path);
    if (sr_split_is_file(path))
        return sr_split_load(path, out, err);
    sr_read_opts ro = opts ? *opts : sr_read_default_opts();
    sr_log log;
    memset(&log, 0, sizeof log);
    sr_status st = sr_read_log(path, &ro, &log, NULL, err);
    if (st != SR_OK)
        return st;
    st = sr_split_from_log(&log, out, err);
    sr_log_free(&log);
    return st;
}
