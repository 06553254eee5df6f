/*
 * fuzz_read.h - the body shared by the libFuzzer targets of the click-log
 * readers (fuzz_read_<format>.c). For each input it runs the fast reader with
 * both skip modes, 1 and 2 threads, the default buffer sizes and tiny ones
 * (zero-copy and buffered, so that small inputs cross chunk and piece
 * boundaries) and a row limit, checks the reader's invariants, and compares
 * everything (status, message, clicks, report) with the reference reader
 * srr_read_ref. Any difference aborts, which libFuzzer reports as a crash.
 */
#ifndef SR_FUZZ_READ_H
#define SR_FUZZ_READ_H

#include "data/read.h"
#include "sessrec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)                                                                  \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "fuzz_read: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #c);                                                               \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static int fuzz_same_log(const sr_log *a, const sr_log *b)
{
    if (a->n != b->n || a->item_text.n != b->item_text.n ||
        (a->item_text.text == NULL) != (b->item_text.text == NULL))
        return 0;
    for (int64_t i = 0; i < a->item_text.n; i++)
        if (strcmp(sr_idtext_get(&a->item_text, i), sr_idtext_get(&b->item_text, i)) != 0)
            return 0;
    size_t k = (size_t)a->n * sizeof(int64_t);
    return a->n == 0 || (memcmp(a->session, b->session, k) == 0 &&
                         memcmp(a->item, b->item, k) == 0 && memcmp(a->time, b->time, k) == 0);
}

static void fuzz_read_one(const uint8_t *data, size_t size, const sr_read_opts *base, int skip,
                          int64_t nrows)
{
    const char *buf = (const char *)data;
    sr_read_opts o = *base;
    const sr_format fmt = o.format;
    o.skip_bad_lines = skip;
    o.nrows = nrows;
    sr_log ref;
    sr_read_report rref;
    sr_error eref;
    memset(&eref, 0, sizeof eref);
    sr_status sref = srr_read_ref(buf, size, "fuzz", &o, &ref, &rref, &eref);
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    FUZZ_CHECK(!gz || sref == SR_ERR_ARG); /* bad option combinations are SR_ERR_ARG too */

    /* (tuning, threads) runs: defaults; tiny zero-copy chunks and pieces; tiny
     * buffered chunks (the file path); buffered with the producer thread */
    srr_tuning tu[5];
    int thr[5] = {1, 1, 2, 1, 2};
    tu[0] = srr_default_tuning();
    tu[1] = tu[0];
    tu[1].chunk_min = 1 + size % 13;
    tu[1].chunk_max = 64;
    tu[1].piece_min = 8;
    tu[2] = tu[1];
    tu[3] = tu[1];
    tu[3].chunk_max = 37;
    tu[3].buffered_mem = 1;
    tu[3].max_line = size + 1; /* no "line too long" here: the reference has no limit */
    tu[4] = tu[3];
    tu[4].chunk_min = 16;
    tu[4].chunk_max = 256;
    tu[4].piece_min = 16;
    int runs = nrows > 0 ? 2 : 5; /* the row limit: single-threaded runs suffice */
    for (int t = 0; t < runs; t++) {
        {
            int threads = thr[t];
            sr_log l;
            sr_read_report rep;
            sr_error e;
            memset(&e, 0, sizeof e);
            o.threads = threads;
            sr_status st = srr_read_mem_tuned(buf, size, "fuzz", &o, &tu[t], &l, &rep, &e);
            /* invariants */
            if (st != SR_OK) {
                FUZZ_CHECK(l.n == 0 && l.cap == 0 && !l.session && !l.item && !l.time);
                FUZZ_CHECK(e.status == st && e.msg[0] != '\0');
                FUZZ_CHECK(strncmp(e.msg, "fuzz:", 5) == 0);
            } else {
                FUZZ_CHECK(l.n > 0 && l.n <= l.cap);
                FUZZ_CHECK(o.user_key || rep.lines == l.n + rep.bad_lines + rep.filtered);
                for (int64_t i = 0; l.item_text.text && i < l.n; i++)
                    FUZZ_CHECK(l.item[i] < l.item_text.n);
                FUZZ_CHECK(skip || rep.bad_lines == 0);
                FUZZ_CHECK(nrows <= 0 || rep.lines <= nrows);
                FUZZ_CHECK(rep.format != SR_FMT_AUTO);
                FUZZ_CHECK(fmt == SR_FMT_AUTO || rep.format == fmt);
                FUZZ_CHECK((rep.bad_lines > 0) == (rep.first_bad[0] != '\0'));
                for (int64_t i = 0; i < l.n; i++)
                    FUZZ_CHECK(l.session[i] >= 0 && l.item[i] >= 0);
            }
            /* the reference reader agrees exactly */
            if (!gz) {
                FUZZ_CHECK(st == sref);
                if (strcmp(e.msg, eref.msg) != 0) {
                    fprintf(stderr, "fast: %s\nref:  %s\n", e.msg, eref.msg);
                    FUZZ_CHECK(!"same message");
                }
                FUZZ_CHECK(rep.lines == rref.lines);
                if (st == SR_OK) {
                    FUZZ_CHECK(fuzz_same_log(&l, &ref));
                    FUZZ_CHECK(rep.bad_lines == rref.bad_lines);
                    FUZZ_CHECK(strcmp(rep.first_bad, rref.first_bad) == 0);
                    FUZZ_CHECK(rep.format == rref.format);
                    FUZZ_CHECK(rep.filtered == rref.filtered);
                    FUZZ_CHECK(nrows > 0 || rep.bytes == (int64_t)size);
                }
            }
            sr_log_free(&l);
        }
    }
    sr_log_free(&ref);
}

static void fuzz_read_opts(const uint8_t *data, size_t size, const sr_read_opts *o)
{
    fuzz_read_one(data, size, o, 0, 0);
    fuzz_read_one(data, size, o, 1, 0);
    fuzz_read_one(data, size, o, 1, 1 + (int64_t)(size % 5));
}

static void fuzz_read(const uint8_t *data, size_t size, sr_format fmt)
{
    sr_read_opts o = sr_read_default_opts();
    o.format = fmt;
    fuzz_read_opts(data, size, &o);
}

#endif
