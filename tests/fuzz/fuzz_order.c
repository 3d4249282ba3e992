/* fuzz_order.c - vl_order_decode (see fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_order_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vl_order o; /* ~22 KiB: not on the stack */
    if (vl_order_decode(data, size, &o) != VL_OK) {
        fuzz_require_zero(&o, sizeof o);
        return 0;
    }
    fuzz_require_reencode(&o, enc, data, size);
    for (unsigned i = 0; i < o.voucher_count; i++)
        fuzz_require_inside(o.vouchers[i].program.ptr, o.vouchers[i].program.len, data, size);
    fuzz_require_inside(o.reason.ptr, o.reason.len, data, size);
    uint8_t hash[32], account[32];
    vl_order_hash(hash, &o); /* asserts the order is canonical */
    vl_order_account(account, &o);
    return 0;
}
