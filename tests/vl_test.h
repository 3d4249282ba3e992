/* vl_test.h - the tiny test harness: CHECK records a failure with its
 * location and goes on; a test program ends with VL_TEST_END, which prints
 * "N passed, N failed" and returns non-zero on any failure. */
#ifndef VL_TEST_H
#define VL_TEST_H

#include <stdio.h>
#include <string.h>

static int vl_test_pass, vl_test_fail;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            vl_test_pass++;                                                    \
        } else {                                                               \
            vl_test_fail++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

/* Compare two vl_err values and print both names on mismatch. */
#define CHECK_ERR(got, want)                                                   \
    do {                                                                       \
        int g_ = (int)(got), w_ = (int)(want);                                 \
        if (g_ == w_) {                                                        \
            vl_test_pass++;                                                    \
        } else {                                                               \
            vl_test_fail++;                                                    \
            fprintf(stderr, "%s:%d: %s = %s, want %s\n", __FILE__, __LINE__,   \
                    #got, vl_err_name(g_), vl_err_name(w_));                   \
        }                                                                      \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define VL_TEST_END()                                                          \
    do {                                                                       \
        printf("%d passed, %d failed\n", vl_test_pass, vl_test_fail);          \
        return vl_test_fail == 0 ? 0 : 1;                                      \
    } while (0)

#endif
