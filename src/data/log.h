/*
 * log.h - internals of the click-log container (data/log.c), for the readers.
 * sr_log itself and sr_log_push / sr_log_free are public (sessrec.h).
 */
#ifndef SR_DATA_LOG_H
#define SR_DATA_LOG_H

#include "sessrec.h"
#include <stdint.h>

/* Grows log to hold at least `need` clicks (amortized doubling); on failure
 * returns SR_ERR_NOMEM and leaves the log as it was (still valid). */
sr_status srr_log_reserve(sr_log *log, int64_t need);

#endif
