/* fuzz_checkpoint.c - vl_checkpoint_decode (see fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_checkpoint_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vl_checkpoint cp;
    if (vl_checkpoint_decode(data, size, &cp) != VL_OK) {
        fuzz_require_zero(&cp, sizeof cp);
        return 0;
    }
    fuzz_require_reencode(&cp, enc, data, size);
    uint8_t msg[32];
    vl_checkpoint_message(msg, &cp);
    return 0;
}
