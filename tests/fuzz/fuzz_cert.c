/* fuzz_cert.c - vl_cert_decode (see fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_cert_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vl_cert c; /* ~52 KiB */
    static vl_order o;
    if (vl_cert_decode(data, size, &c) != VL_OK) {
        fuzz_require_zero(&c, sizeof c);
        return 0;
    }
    fuzz_require_reencode(&c, enc, data, size);
    fuzz_require_inside(c.order_raw.ptr, c.order_raw.len, data, size);
    /* order_raw is the nested order, which decodes on its own */
    FUZZ_REQUIRE(vl_order_decode(c.order_raw.ptr, c.order_raw.len, &o) == VL_OK);
    FUZZ_REQUIRE(o.kind == c.order.kind && o.seq == c.order.seq);
    uint8_t hash[32];
    vl_order_hash(hash, &c.order);
    return 0;
}
