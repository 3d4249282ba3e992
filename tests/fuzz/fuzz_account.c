/* fuzz_account.c - vl_account_decode (see fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_account_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vl_account a;
    if (vl_account_decode(data, size, &a) != VL_OK) {
        fuzz_require_zero(&a, sizeof a);
        return 0;
    }
    fuzz_require_reencode(&a, enc, data, size);
    fuzz_require_inside(a.program.ptr, a.program.len, data, size);
    FUZZ_REQUIRE(a.kind != VL_ACCOUNT_VOUCHER || a.remaining_fen <= a.face_fen);
    return 0;
}
