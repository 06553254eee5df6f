/* test_util.c - internal helpers: CRC-32, hash map, RNG, atomic writes. */
#include "test.h"
#include "util/util.h"

#include <unistd.h>

static void test_crc32_known_value(void)
{
    /* The standard check value of CRC-32/IEEE. */
    CHECK_EQ_INT(sr_crc32(0, "123456789", 9), 0xCBF43926u);
    /* Incremental = one shot. */
    CHECK_EQ_INT(sr_crc32(sr_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void test_map_put_get_grow(void)
{
    sr_map m = {0};
    for (int i = 0; i < 10000; i++)
        CHECK_EQ_INT(sr_map_put(&m, (int64_t)i * 7919 + 214000000, i), i);
    CHECK_EQ_INT(m.n, 10000);
    CHECK_EQ_INT(sr_map_put(&m, 214000000, 99), 0); /* existing key keeps its value */
    CHECK_EQ_INT(sr_map_get(&m, 5 * 7919 + 214000000), 5);
    CHECK_EQ_INT(sr_map_get(&m, 3), -1);
    sr_map_free(&m);
}

static void test_rng_deterministic_and_uniform(void)
{
    sr_rng a, b;
    sr_rng_seed(&a, 42);
    sr_rng_seed(&b, 42);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = sr_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        sum += u;
        CHECK(sr_rng_next(&b) >> 11 == (uint64_t)(u * 0x1.0p53));
    }
    CHECK_NEAR(sum / 100000, 0.5, 0.01);
}

static void test_atomic_write_and_abort(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/a.bin", test_tmpdir());
    sr_error err;
    CHECK(sr_write_file_atomic(path, "hello", 5, &err) == SR_OK);
    FILE *f = fopen(path, "rb");
    char buf[8] = {0};
    CHECK(f && fread(buf, 1, 8, f) == 5 && !memcmp(buf, "hello", 5));
    if (f) fclose(f);
    sr_atomic a;
    CHECK(sr_atomic_open(&a, path, &err) == SR_OK);
    fputs("partial", a.f);
    sr_atomic_abort(&a);
    f = fopen(path, "rb");
    CHECK(f && fread(buf, 1, 8, f) == 5 && !memcmp(buf, "hello", 5)); /* old content intact */
    if (f) fclose(f);
    CHECK(access(a.tmp, F_OK) != 0);                                  /* temp file gone */
    CHECK(sr_write_file_atomic("/nonexistent-dir/x", "a", 1, &err) == SR_ERR_IO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x") != NULL);
    unlink(path);
    rmdir(test_tmpdir());
}

static void test_put_u64(void)
{
    char b[32];
    *sr_put_u64(b, 0) = 0;
    CHECK(!strcmp(b, "0"));
    *sr_put_u64(b, 214536502) = 0;
    CHECK(!strcmp(b, "214536502"));
    char *e = sr_put_u64(b, UINT64_MAX);
    *e = 0;
    CHECK(!strcmp(b, "18446744073709551615") && e - b == 20);
}

int main(void)
{
    RUN(test_put_u64);
    RUN(test_crc32_known_value);
    RUN(test_map_put_get_grow);
    RUN(test_rng_deterministic_and_uniform);
    RUN(test_atomic_write_and_abort);
    return test_summary();
}
