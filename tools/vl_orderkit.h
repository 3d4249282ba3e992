/* vl_orderkit.h - build, sign and encode ISSUE and REDEEM orders from keys
 * and parameters, with the wire/ API.  A small toolkit for programs that
 * make orders in bulk (voucher-bench today).
 *
 * It holds what voucherctl's ctl_orders.c does in static functions
 * (encode_order, sign_slot, the REDEEM fields of build_redeem_order, its
 * derived invoice hash, the ISSUE defaults of issue_specs) without the
 * command-line and slot-guard parts, so that the two can be merged: see
 * the report that came with this file.  It does NOT record what it signed:
 * a program that may retry an order after a timeout must keep the bytes it
 * signed for each (account, seq) and resend those (docs/clients.md 3).
 *
 * Every function is pure apart from vl_orderkit_sign (OS randomness).
 * Orders are large structs (vl_wire.h): keep them on the heap.
 */
#ifndef VL_ORDERKIT_H
#define VL_ORDERKIT_H

#include <stddef.h>
#include <stdint.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_wire.h"

/* Serials an ISSUE at issuer seq s uses by default: s * SERIALS_PER_SEQ + 1,
 * + 2, ...: unique per issuer slot since VL_MAX_ISSUE_BATCH is smaller
 * (voucherctl's convention, docs/clients.md 3). */
#define VL_ORDERKIT_SERIALS_PER_SEQ 1000000u
/* Default validity of an issued voucher. */
#define VL_ORDERKIT_VALIDITY_S (365u * 86400u)
/* Default subsidy ratio (80% of the compute bill). */
#define VL_ORDERKIT_SUBSIDY_BP 8000u
/* The tool-local tag of the derived invoice hash (not a protocol domain). */
#define VL_ORDERKIT_INVOICE_TAG "voucherctl/v1/derived-invoice"

/* The first default serial of the ISSUE at issuer seq `seq`.  Asserts
 * seq < UINT64_MAX / VL_ORDERKIT_SERIALS_PER_SEQ - 1 (the caller checks a
 * seq that comes from outside). */
uint64_t vl_orderkit_first_serial(uint64_t seq);

/* The default validity window of a voucher issued at unix time now_s:
 * from 00:00 UTC of that day, for VL_ORDERKIT_VALIDITY_S. */
void vl_orderkit_default_validity(uint64_t now_s, uint64_t *from_s, uint64_t *until_s);

/* The unsigned ISSUE at issuer `issuer` seq `seq` of specs[0..count)
 * (copied; program bytes stay borrowed from the caller).  o is zeroed
 * first.  Returns VL_OK; VL_ERR_UNKNOWN_ISSUER (issuer not in g);
 * VL_ERR_RANGE (count 0 or over VL_MAX_ISSUE_BATCH); or the encoder's error
 * for specs that are not canonical (serials not ascending, value 0,
 * validity empty, subsidy out of range, ...).  On error o is zeroed. */
vl_err vl_orderkit_issue(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                         uint64_t seq, const vl_voucher_spec *specs, size_t count);

/* What a REDEEM says. */
typedef struct {
    uint8_t issuer[32];    /* the voucher's issuer */
    uint64_t serial;       /* the voucher's serial */
    uint64_t seq;          /* the voucher account's next_seq */
    uint8_t holder[32];    /* signs slot 0 */
    uint8_t provider[32];  /* signs slot 1 */
    uint64_t amount_fen;   /* > 0 */
    uint64_t gpu_milli_hours;
    uint8_t invoice_hash[32]; /* see vl_orderkit_derived_invoice */
} vl_orderkit_redeem;

/* The unsigned REDEEM of r.  o is zeroed first.  Returns VL_OK;
 * VL_ERR_UNKNOWN_ISSUER, VL_ERR_UNKNOWN_PROVIDER (not in g); or the
 * encoder's error (amount 0, ...).  On error o is zeroed. */
vl_err vl_orderkit_redeem_build(vl_order *o, const vl_genesis *g, const vl_orderkit_redeem *r);

/* voucherctl's default invoice hash of a redemption (docs/clients.md 3):
 * tagged_hash(VL_ORDERKIT_INVOICE_TAG, voucher id || seq u64 LE ||
 * amount u64 LE || provider || gpu_milli_hours u64 LE).  Deterministic, so
 * a retry rebuilds the same order. */
void vl_orderkit_derived_invoice(uint8_t out[32], const uint8_t voucher_id[32], uint64_t seq,
                                 uint64_t amount_fen, const uint8_t provider[32],
                                 uint64_t gpu_milli_hours);

/* Sign slot `slot` of o with kp, with fresh BIP-340 auxiliary randomness.
 * Asserts slot < vl_order_sig_count(o->kind).  Returns VL_OK or
 * VL_ERR_RANDOM (o unchanged). */
vl_err vl_orderkit_sign(vl_order *o, unsigned slot, const vl_keypair *kp);

/* Encode o into a new heap buffer (*buf, the caller frees it; *len its
 * size).  Returns VL_OK, VL_ERR_NOMEM, or the encoder's error for an order
 * that is not canonical; *buf is NULL and *len 0 on error. */
vl_err vl_orderkit_encode(const vl_order *o, uint8_t **buf, size_t *len);

#endif
