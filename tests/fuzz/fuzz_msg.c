/* fuzz_msg.c - vl_msg_decode, every peer and client message (see
 * fuzz_target.h). */
#include "fuzz_target.h"
#include "vl_wire.h"

static vl_err enc(const void *obj, uint8_t *out, size_t cap, size_t *len)
{
    return vl_msg_encode(obj, out, cap, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vl_msg_storage st; /* ~210 KiB */
    static vl_msg m;
    vl_msg_init(&m, &st);
    if (vl_msg_decode(data, size, &m) != VL_OK) {
        FUZZ_REQUIRE(m.type == 0 && m.item_count == 0 && m.leaf_count == 0 &&
                     m.answer_count == 0 && m.items == st.items);
        return 0;
    }
    fuzz_require_reencode(&m, enc, data, size);
    for (uint32_t i = 0; i < m.item_count; i++)
        fuzz_require_inside(m.items[i].ptr, m.items[i].len, data, size);
    for (uint32_t i = 0; i < m.answer_count; i++)
        fuzz_require_inside(m.answers[i].evidence.ptr, m.answers[i].evidence.len, data, size);
    fuzz_require_inside(m.account.ptr, m.account.len, data, size);
    fuzz_require_inside(m.text.ptr, m.text.len, data, size);
    return 0;
}
