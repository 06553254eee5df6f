/*
 * fuzz_split_load.c - libFuzzer target for the binary split reader: any byte
 * string given to the verifier (sr_split_view, the whole of sr_split_load but
 * the mmap) must give SR_OK or SR_ERR_FORMAT, never a crash, and an accepted
 * split must be safe to walk (every offset and item index in range).
 * Half of the inputs also go through a real file and sr_split_load.
 * Inputs whose checksums are wrong stop at the CRC check; to reach the
 * structural checks, the target also tries each input with its checksums
 * recomputed (first byte odd) so that mutations of counts and offsets get in.
 */
#define _POSIX_C_SOURCE 200809L
#include "data/store.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void walk(const sr_split *s)
{
    volatile uint64_t sink = 0; /* unsigned: sums may wrap */
    for (int64_t k = 0; k < s->n_sessions; k++) {
        if (s->offsets[k] < 0 || s->offsets[k + 1] > s->n_events || s->offsets[k] > s->offsets[k + 1])
            abort();
        sink += (uint64_t)s->session_ids[k];
        for (int64_t j = s->offsets[k]; j < s->offsets[k + 1]; j++) {
            if (s->items[j] < 0 || s->items[j] >= s->n_items)
                abort();
            sink += (uint64_t)s->item_ids[s->items[j]] + (uint64_t)s->times[j];
        }
    }
    (void)sink;
}

static void check(const uint8_t *data, size_t size)
{
    /* 8-byte aligned copy, as a mapping would be */
    uint64_t *buf = malloc((size / 8 + 1) * 8);
    if (!buf)
        return;
    memcpy(buf, data, size);
    sr_split s;
    sr_error err;
    sr_status st = sr_split_view(buf, size, "fuzz", &s, &err);
    if (st == SR_OK)
        walk(&s);
    else if (st != SR_ERR_FORMAT)
        abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    if (size >= 96) { /* with repaired checksums */
        uint8_t *b = malloc(size);
        if (!b)
            return 0;
        memcpy(b, data, size);
        uint32_t pc = sr_crc32(0, b + 96, size - 96);
        memcpy(b + 88, &pc, 4);
        uint32_t hc = sr_crc32(0, b, 92);
        memcpy(b + 92, &hc, 4);
        check(b, size);
        free(b);
    }
    if (size && (data[0] & 1)) { /* the mmap path */
        char path[64];
        snprintf(path, sizeof path, "/tmp/fuzz_split_load.%ld", (long)getpid());
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(data, 1, size, f);
            fclose(f);
            sr_split s;
            sr_error err;
            sr_status st = sr_split_load(path, &s, &err);
            if (st == SR_OK) {
                walk(&s);
                sr_split_free(&s);
            } else if (st != SR_ERR_FORMAT) {
                abort();
            }
            unlink(path);
        }
    }
    return 0;
}
