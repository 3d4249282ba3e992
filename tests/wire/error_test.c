/* error_test.c - the error table: every code has a distinct number, a
 * name, a text and a slug; unknown codes are handled. */
#include <string.h>

#include "vl_error.h"
#include "vl_test.h"

#define NUM(name, num, text) num,
static const int nums[] = {VL_ERROR_LIST(NUM)};
#undef NUM

int main(void)
{
    size_t n = sizeof nums / sizeof nums[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            CHECK(nums[i] != nums[j]);
        CHECK(strncmp(vl_err_name(nums[i]), "VL_", 3) == 0);
        CHECK(strcmp(vl_strerror(nums[i]), "unknown error") != 0);
    }
    CHECK(strcmp(vl_err_slug(VL_OK), "ok") == 0);
    CHECK(strcmp(vl_err_slug(VL_ERR_TRUNCATED), "truncated") == 0);
    CHECK(strcmp(vl_err_slug(VL_ERR_DUP_SIGNER), "dup_signer") == 0);
    CHECK(strcmp(vl_err_name(VL_ERR_OVERSPEND), "VL_ERR_OVERSPEND") == 0);
    CHECK(strcmp(vl_strerror(12345), "unknown error") == 0);
    CHECK(strcmp(vl_err_name(-7), "VL_ERR_UNKNOWN") == 0);
    CHECK(strcmp(vl_err_slug(999), "unknown") == 0);
    CHECK(vl_err_known(VL_OK) && vl_err_known(VL_ERR_CONFLICT));
    CHECK(!vl_err_known(999) && !vl_err_known(-1) && !vl_err_known(19));
    VL_TEST_END();
}
