/* vl_orderkit.c - build, sign and encode orders (the contract is
 * vl_orderkit.h).
 *
 * Design notes
 *  1. A builder checks what needs the genesis (issuer, provider) and then
 *     runs the encoder once with out == NULL: the encoder refuses exactly
 *     what a decoder would refuse, so an order a builder returns encodes,
 *     and vl_order_hash (which asserts that) is safe on it.
 *  2. The signature count is set by the builder (vl_order_sig_count of the
 *     kind) with zero signatures, so an unsigned order encodes too: that is
 *     what voucherctl's split flow passes between signers.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "vl_orderkit.h"
#include "vl_verify.h"

uint64_t vl_orderkit_first_serial(uint64_t seq)
{
    assert(seq < UINT64_MAX / VL_ORDERKIT_SERIALS_PER_SEQ - 1u);
    return seq * VL_ORDERKIT_SERIALS_PER_SEQ + 1u;
}

void vl_orderkit_default_validity(uint64_t now_s, uint64_t *from_s, uint64_t *until_s)
{
    assert(from_s != NULL && until_s != NULL);
    *from_s = now_s - now_s % 86400u;
    *until_s = *from_s + VL_ORDERKIT_VALIDITY_S;
}

/* Note 1: refuse what the encoder refuses, zeroing o. */
static vl_err check_encodes(vl_order *o)
{
    size_t len;
    vl_err e = vl_order_encode(o, NULL, 0, &len);
    if (e != VL_OK)
        memset(o, 0, sizeof *o);
    return e;
}

vl_err vl_orderkit_issue(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                         uint64_t seq, const vl_voucher_spec *specs, size_t count)
{
    assert(o != NULL && g != NULL && issuer != NULL && (specs != NULL || count == 0));
    memset(o, 0, sizeof *o);
    if (vl_genesis_issuer_by_pubkey(g, issuer) < 0)
        return VL_ERR_UNKNOWN_ISSUER;
    if (count == 0 || count > VL_MAX_ISSUE_BATCH)
        return VL_ERR_RANGE;
    memcpy(o->network_id, g->network_id, 32);
    o->kind = VL_ORDER_ISSUE;
    o->seq = seq;
    memcpy(o->issuer, issuer, 32);
    o->voucher_count = (uint16_t)count;
    memcpy(o->vouchers, specs, count * sizeof specs[0]);
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind); /* note 2 */
    return check_encodes(o);
}

vl_err vl_orderkit_redeem_build(vl_order *o, const vl_genesis *g, const vl_orderkit_redeem *r)
{
    assert(o != NULL && g != NULL && r != NULL);
    memset(o, 0, sizeof *o);
    if (vl_genesis_issuer_by_pubkey(g, r->issuer) < 0)
        return VL_ERR_UNKNOWN_ISSUER;
    if (vl_genesis_provider_by_pubkey(g, r->provider) < 0)
        return VL_ERR_UNKNOWN_PROVIDER;
    memcpy(o->network_id, g->network_id, 32);
    o->kind = VL_ORDER_REDEEM;
    o->seq = r->seq;
    memcpy(o->issuer, r->issuer, 32);
    o->serial = r->serial;
    memcpy(o->holder, r->holder, 32);
    o->amount_fen = r->amount_fen;
    memcpy(o->provider, r->provider, 32);
    memcpy(o->invoice_hash, r->invoice_hash, 32);
    o->gpu_milli_hours = r->gpu_milli_hours;
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind); /* note 2 */
    return check_encodes(o);
}

static void put_u64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void vl_orderkit_derived_invoice(uint8_t out[32], const uint8_t voucher_id[32], uint64_t seq,
                                 uint64_t amount_fen, const uint8_t provider[32],
                                 uint64_t gpu_milli_hours)
{
    uint8_t msg[32 + 8 + 8 + 32 + 8];
    memcpy(msg, voucher_id, 32);
    put_u64_le(msg + 32, seq);
    put_u64_le(msg + 40, amount_fen);
    memcpy(msg + 48, provider, 32);
    put_u64_le(msg + 80, gpu_milli_hours);
    vl_tagged_hash(out, VL_ORDERKIT_INVOICE_TAG, msg, sizeof msg);
}

vl_err vl_orderkit_sign(vl_order *o, unsigned slot, const vl_keypair *kp)
{
    assert(o != NULL && kp != NULL && slot < vl_order_sig_count(o->kind));
    uint8_t aux[32];
    if (vl_random(aux, sizeof aux) != VL_OK)
        return VL_ERR_RANDOM;
    vl_order_sign_slot(o, slot, kp, aux);
    vl_wipe(aux, sizeof aux);
    return VL_OK;
}

vl_err vl_orderkit_encode(const vl_order *o, uint8_t **buf, size_t *len)
{
    assert(o != NULL && buf != NULL && len != NULL);
    *buf = NULL;
    vl_err e = vl_order_encode(o, NULL, 0, len);
    if (e == VL_OK && (*buf = malloc(*len)) == NULL)
        e = VL_ERR_NOMEM;
    if (e == VL_OK)
        e = vl_order_encode(o, *buf, *len, len);
    if (e != VL_OK) {
        free(*buf);
        *buf = NULL;
        *len = 0;
    }
    return e;
}
