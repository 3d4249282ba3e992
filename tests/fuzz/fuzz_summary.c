/* fuzz_summary.c - vl_summary_decode (see fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_summary_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vl_summary s;
    if (vl_summary_decode(data, size, &s) != VL_OK) {
        fuzz_require_zero(&s, sizeof s);
        return 0;
    }
    fuzz_require_reencode(&s, enc, data, size);
    FUZZ_REQUIRE(s.index > 0);
    FUZZ_REQUIRE(size == VL_SUMMARY_BYTES);
    return 0;
}
