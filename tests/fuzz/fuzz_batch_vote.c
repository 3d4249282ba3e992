/* fuzz_batch_vote.c - vl_batch_vote_decode (see fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_batch_vote_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vl_batch_vote v;
    if (vl_batch_vote_decode(data, size, &v) != VL_OK) {
        fuzz_require_zero(&v, sizeof v);
        return 0;
    }
    fuzz_require_reencode(&v, enc, data, size);
    uint8_t msg[32];
    vl_vote_message(msg, v.root);
    return 0;
}
