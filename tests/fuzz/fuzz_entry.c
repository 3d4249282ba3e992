/* fuzz_entry.c - vl_entry_decode (see fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_entry_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vl_entry e;
    static vl_cert c;
    if (vl_entry_decode(data, size, &e) != VL_OK) {
        fuzz_require_zero(&e, sizeof e);
        return 0;
    }
    fuzz_require_reencode(&e, enc, data, size);
    fuzz_require_inside(e.cert.ptr, e.cert.len, data, size);
    FUZZ_REQUIRE(e.index > 0);
    FUZZ_REQUIRE(vl_cert_decode(e.cert.ptr, e.cert.len, &c) == VL_OK);
    uint8_t cert_hash[32], entry_hash[32];
    vl_cert_hash(cert_hash, e.cert.ptr, e.cert.len);
    vl_entry_hash(entry_hash, e.index, e.prev_hash, cert_hash);
    return 0;
}
