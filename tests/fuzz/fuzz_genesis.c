/* fuzz_genesis.c - vl_genesis_decode, the binary genesis (see
 * fuzz_target.h).  Also checks network_id = tagged_hash(genesis, input):
 * an accepted input is the canonical encoding. */
#include "fuzz_target.h"
#include "vl_crypto.h"
#include "vl_genesis.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_genesis_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vl_genesis g; /* ~200 KiB */
    if (vl_genesis_decode(data, size, &g) != VL_OK)
        return 0;
    fuzz_require_reencode(&g, enc, data, size);
    uint8_t id[32];
    vl_tagged_hash(id, VL_TAG_GENESIS, data, size);
    FUZZ_REQUIRE(memcmp(id, g.network_id, 32) == 0);
    FUZZ_REQUIRE(g.quorum == vl_quorum(g.voter_count, g.max_faulty));
    return 0;
}
