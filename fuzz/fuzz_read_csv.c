/* fuzz_read_csv.c - libFuzzer target: the generic delimited reader (SR_FMT_CSV
 * and guessing) against the reference reader (see fuzz_read.h). The first
 * byte of the input picks the reading options (id mode, time form and unit, a
 * --where filter, users cut into sessions, the delimiter); the rest is the
 * file. Seeds: fuzz/corpus/fuzz_read_csv/. */
#include "fuzz_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned k = data[0];
    sr_read_opts o = sr_read_default_opts();
    o.format = (k & 1) ? SR_FMT_CSV : SR_FMT_AUTO;
    o.ids = (sr_id_type)((k >> 1) % 3);
    o.time_format = (sr_time_format)((k >> 3) % 3);
    o.time_unit = (sr_time_unit)((k >> 5) & 3);
    if (k % 7 == 3) {
        o.n_where = 1;
        o.where[0].key = "e";
        o.where[0].values = "v,w";
    }
    if (k % 11 == 5) {
        o.user_key = "u";
        o.session_gap = (double)(k % 5) * 0.5;
    }
    if (k % 13 == 7)
        o.delimiter = "|;,\t"[k % 4];
    fuzz_read_opts(data + 1, size - 1, &o);
    return 0;
}
