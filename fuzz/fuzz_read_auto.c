/* fuzz_read_auto.c - libFuzzer target: the click-log reader with format SR_FMT_AUTO
 * against the reference reader (see fuzz_read.h). Seeds: fuzz/corpus/fuzz_read_auto/. */
#include "fuzz_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read(data, size, SR_FMT_AUTO);
    return 0;
}
