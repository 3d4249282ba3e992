/* fuzz_target.h - what every fuzz target in tests/fuzz/ shares.
 *
 * A target decodes its input with one decoder.  When the decoder accepts,
 * the target re-encodes and requires the very same bytes (STYLE.md rule 6:
 * encode(decode(x)) == x) plus whatever else must hold for an accepted
 * object (hashes computable, borrowed views inside the input).  When it
 * refuses, the output must be zeroed.  Any violation abort()s, which
 * libFuzzer and the replay driver (replay_main.c) both report as a crash.
 */
#ifndef VL_FUZZ_TARGET_H
#define VL_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_error.h"

/* The libFuzzer entry point, defined once per target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REQUIRE(cond)                                                     \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

typedef vl_err (*fuzz_encode_fn)(const void *obj, uint8_t *out, size_t cap, size_t *len);

/* obj was decoded from data[0..size): its encoding must be exactly data,
 * the size query must agree, and one byte less of room must be refused. */
static inline void fuzz_require_reencode(const void *obj, fuzz_encode_fn enc,
                                         const uint8_t *data, size_t size)
{
    size_t n = 0;
    FUZZ_REQUIRE(enc(obj, NULL, 0, &n) == VL_OK);
    FUZZ_REQUIRE(n == size);
    uint8_t *out = malloc(size > 0 ? size : 1);
    FUZZ_REQUIRE(out != NULL);
    size_t m = 0;
    FUZZ_REQUIRE(enc(obj, out, size, &m) == VL_OK);
    FUZZ_REQUIRE(m == size && memcmp(out, data, size) == 0);
    if (size > 0)
        FUZZ_REQUIRE(enc(obj, out, size - 1, &m) == VL_ERR_TOO_BIG);
    free(out);
}

/* A refused decode leaves its output all zero. */
static inline void fuzz_require_zero(const void *obj, size_t size)
{
    static const uint8_t zero[4096];
    const uint8_t *p = obj;
    for (size_t at = 0; at < size; at += sizeof zero) {
        size_t n = size - at < sizeof zero ? size - at : sizeof zero;
        FUZZ_REQUIRE(memcmp(p + at, zero, n) == 0);
    }
}

/* A borrowed view lies inside the input. */
static inline void fuzz_require_inside(const uint8_t *p, size_t n, const uint8_t *data,
                                       size_t size)
{
    FUZZ_REQUIRE(n <= size);
    if (n > 0)
        FUZZ_REQUIRE(p >= data && (size_t)(p - data) <= size - n);
}

#endif
