/*
 * log.c - the click-log container sr_log (sessrec.h section 2): growing and
 * freeing its three parallel arrays. It sits below both readers (data/read.c,
 * data/read_line.c), which fill logs, and knows nothing about formats.
 * Must never: print, exit, or leave the arrays with different capacities.
 */
#include "data/log.h"
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sr_log_free(sr_log *log)
{
    if (!log)
        return;
    free(log->session);
    free(log->item);
    free(log->time);
    sr_idtext_free(&log->item_text);
    memset(log, 0, sizeof *log);
}

sr_status srr_log_reserve(sr_log *log, int64_t need)
{
    if (need <= log->cap)
        return SR_OK;
    int64_t cap = log->cap ? log->cap : 1024;
    while (cap < need)
        cap = cap > INT64_MAX / 4 ? need : cap * 2;
    if ((uint64_t)cap > SIZE_MAX / sizeof(int64_t))
        return SR_ERR_NOMEM;
    size_t bytes = (size_t)cap * sizeof(int64_t);
    int64_t *s = realloc(log->session, bytes);
    if (!s)
        return SR_ERR_NOMEM;
    log->session = s;
    int64_t *i = realloc(log->item, bytes);
    if (!i)
        return SR_ERR_NOMEM;
    log->item = i;
    int64_t *t = realloc(log->time, bytes);
    if (!t)
        return SR_ERR_NOMEM;
    log->time = t;
    log->cap = cap; /* only once all three arrays have it */
    return SR_OK;
}

sr_status sr_log_push(sr_log *log, int64_t session, int64_t item, int64_t time_us)
{
    if (log->n == log->cap && srr_log_reserve(log, log->n + 1) != SR_OK)
        return SR_ERR_NOMEM;
    log->session[log->n] = session;
    log->item[log->n] = item;
    log->time[log->n] = time_us;
    log->n++;
    return SR_OK;
}
