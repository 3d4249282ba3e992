/* vl_orderkit.c - build, sign and encode orders (the contract is
 * vl_orderkit.h).
 *
 * Design notes
 *  1. A builder checks what needs the genesis (issuer, provider), fills the
 *     order, and runs the encoder once with out == NULL: the encoder refuses
 *     exactly what a decoder would refuse, so an order a builder returns
 *     encodes, and vl_order_hash (which asserts that) is safe on it.  The
 *     wire rules are not repeated here, only the checks the encoder cannot
 *     make (membership in the genesis, a batch that fits the struct, serials
 *     that do not wrap).
 *  2. The signature count is set by the builder (vl_order_sig_count of the
 *     kind) with zero signatures, so an unsigned order encodes too: that is
 *     what voucherctl's split flow passes between signers.
 *  3. Every default is a pure function of its inputs (the seq, the time
 *     passed in, the order's own fields), so a retry rebuilds the same
 *     order.  These are voucherctl's conventions and changing one changes
 *     what a retry rebuilds: tests/tools/vl_orderkit_test.c pins them.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "vl_orderkit.h"
#include "vl_verify.h"

#define DAY_S 86400u

void vl_orderkit_spec_defaults(vl_voucher_spec *s, uint64_t seq, uint64_t now_s)
{
    assert(s != NULL && seq <= VL_ORDERKIT_MAX_DEFAULT_SEQ);
    assert(now_s <= UINT64_MAX - VL_ORDERKIT_VALIDITY_S);
    memset(s, 0, sizeof *s);
    s->serial = seq * VL_ORDERKIT_SERIALS_PER_SEQ + 1u;
    s->valid_from_s = now_s - now_s % DAY_S;
    s->valid_until_s = s->valid_from_s + VL_ORDERKIT_VALIDITY_S;
    s->subsidy_bp = VL_ORDERKIT_SUBSIDY_BP;
    s->program = (vl_bytes){(const uint8_t *)"", 0};
}

/* The fields every order has (note 2 for the signature count). */
static void order_head(vl_order *o, const vl_genesis *g, vl_order_kind kind,
                       const uint8_t issuer[32], uint64_t seq)
{
    memcpy(o->network_id, g->network_id, 32);
    o->kind = (uint8_t)kind;
    o->seq = seq;
    memcpy(o->issuer, issuer, 32);
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
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

/* What vl_orderkit_issue and _issue_alike check before filling o. */
static vl_err issue_start(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                          uint64_t seq, size_t count)
{
    memset(o, 0, sizeof *o);
    if (vl_genesis_issuer_by_pubkey(g, issuer) < 0)
        return VL_ERR_UNKNOWN_ISSUER;
    if (count == 0 || count > VL_MAX_ISSUE_BATCH)
        return VL_ERR_RANGE;
    order_head(o, g, VL_ORDER_ISSUE, issuer, seq);
    o->voucher_count = (uint16_t)count;
    return VL_OK;
}

vl_err vl_orderkit_issue(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                         uint64_t seq, const vl_voucher_spec *specs, size_t count)
{
    assert(o != NULL && g != NULL && issuer != NULL && (specs != NULL || count == 0));
    vl_err e = issue_start(o, g, issuer, seq, count);
    if (e != VL_OK)
        return e;
    memcpy(o->vouchers, specs, count * sizeof specs[0]);
    return check_encodes(o);
}

vl_err vl_orderkit_issue_alike(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                               uint64_t seq, const vl_voucher_spec *first, size_t count)
{
    assert(o != NULL && g != NULL && issuer != NULL && first != NULL);
    vl_err e = issue_start(o, g, issuer, seq, count);
    if (e == VL_OK && first->serial > UINT64_MAX - (count - 1u))
        e = VL_ERR_RANGE;
    if (e != VL_OK) {
        memset(o, 0, sizeof *o);
        return e;
    }
    for (size_t i = 0; i < count; i++) {
        o->vouchers[i] = *first;
        o->vouchers[i].serial = first->serial + i;
    }
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
    order_head(o, g, VL_ORDER_REDEEM, r->issuer, r->seq);
    o->serial = r->serial;
    memcpy(o->holder, r->holder, 32);
    o->amount_fen = r->amount_fen;
    memcpy(o->provider, r->provider, 32);
    memcpy(o->invoice_hash, r->invoice_hash, 32);
    o->gpu_milli_hours = r->gpu_milli_hours;
    return check_encodes(o);
}

static void put_u64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void vl_orderkit_derived_invoice(uint8_t out[32], const vl_orderkit_redeem *r)
{
    assert(out != NULL && r != NULL);
    uint8_t msg[32 + 8 + 8 + 32 + 8];
    vl_voucher_account_id(msg, r->issuer, r->serial);
    put_u64_le(msg + 32, r->seq);
    put_u64_le(msg + 40, r->amount_fen);
    memcpy(msg + 48, r->provider, 32);
    put_u64_le(msg + 80, r->gpu_milli_hours);
    vl_tagged_hash(out, VL_ORDERKIT_INVOICE_TAG, msg, sizeof msg); /* r is read: out may alias */
}

vl_err vl_orderkit_revoke(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                          uint64_t serial, uint64_t seq, const char *reason)
{
    assert(o != NULL && g != NULL && issuer != NULL);
    size_t len = reason != NULL ? strlen(reason) : 0;
    memset(o, 0, sizeof *o);
    if (vl_genesis_issuer_by_pubkey(g, issuer) < 0)
        return VL_ERR_UNKNOWN_ISSUER;
    if (len > VL_MAX_REASON_LEN)
        return VL_ERR_LIMIT; /* before the length is narrowed to the wire's */
    order_head(o, g, VL_ORDER_REVOKE, issuer, seq);
    o->serial = serial;
    o->reason = (vl_bytes){(const uint8_t *)(reason != NULL ? reason : ""), (uint32_t)len};
    return check_encodes(o);
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
