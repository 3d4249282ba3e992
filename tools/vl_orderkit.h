/* vl_orderkit.h - build, sign and encode the orders a client submits:
 * ISSUE, REDEEM and REVOKE.  Part of the client library (`vl_client`, with
 * vl_client.h); voucherctl, the devnet demo and voucher-bench build every
 * order with it.
 *
 *   builder -----> unsigned order --_sign--> signed order --_encode--> bytes
 *   (_issue, _issue_alike,         (each slot)                 (record them, then
 *    _redeem_build, _revoke)                                    vl_client_submit)
 *
 * Guarantees.  An order a builder returned VL_OK for encodes: the builder
 * ran the encoder on it, which refuses exactly what every decoder refuses,
 * so vl_order_hash, vl_orderkit_sign and vl_orderkit_encode are safe on it.
 * Its signature count is that of its kind (1 for ISSUE and REVOKE, 2 for
 * REDEEM: holder in slot 0, provider in slot 1) with every signature zero,
 * so the unsigned order encodes too and can travel between signers
 * (docs/clients.md 2).  On error a builder leaves the order zeroed.
 *
 * Determinism.  The same inputs (and the same now_s for the defaults) give
 * the same order, byte for byte, hence the same order hash; only the
 * signatures differ from one signing to the next.  A retry after a timeout
 * therefore rebuilds the order it lost, but it must still SEND THE BYTES IT
 * RECORDED, never a fresh signing of a different order: two different orders
 * signed for one (account, seq) can freeze the account for good.  Keeping
 * that record is the caller's duty and is not done here (docs/clients.md 3;
 * voucherctl keeps one file a slot beside each key file).
 *
 * Ownership.  Orders are the caller's; they are large (VL_MAX_ISSUE_BATCH
 * voucher specs, about 22 KiB): keep them on the heap.  Builders copy keys
 * and numbers; text (a voucher's program label, a revocation's reason) stays
 * BORROWED: it must outlive the order's last vl_order_hash or
 * vl_orderkit_encode.  Keys passed to vl_orderkit_sign are only read.
 *
 * Errors.  Misuse by the caller (NULL pointers, a slot out of range, a seq
 * over VL_ORDERKIT_MAX_DEFAULT_SEQ for the defaults) aborts; values that may
 * come from outside return a vl_err (vl_strerror says what it means).
 *
 * Threads: every function is reentrant; only vl_orderkit_sign has a side
 * effect (it reads OS randomness).
 */
#ifndef VL_ORDERKIT_H
#define VL_ORDERKIT_H

#include <stddef.h>
#include <stdint.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_wire.h"

/* ---- defaults (docs/clients.md 3) -------------------------------------------- */

/* Default serials: the ISSUE at issuer seq s uses s * SERIALS_PER_SEQ + 1,
 * + 2, ...: unique per issuer slot, since VL_MAX_ISSUE_BATCH is smaller. */
#define VL_ORDERKIT_SERIALS_PER_SEQ 1000000u
/* The largest issuer seq that has default serials (no overflow). */
#define VL_ORDERKIT_MAX_DEFAULT_SEQ (UINT64_MAX / VL_ORDERKIT_SERIALS_PER_SEQ - 1u)
/* Default validity: from 00:00 UTC of the day the ISSUE is built, this long. */
#define VL_ORDERKIT_VALIDITY_S (365u * 86400u)
/* Default subsidy ratio: 80% of the compute bill. */
#define VL_ORDERKIT_SUBSIDY_BP 8000u
/* The tag of the derived invoice hash (vl_orderkit_derived_invoice).  A
 * tool-local convention that voucherctl started, not a protocol domain. */
#define VL_ORDERKIT_INVOICE_TAG "voucherctl/v1/derived-invoice"

/* Fill *s with the defaults of the first voucher of the ISSUE at issuer seq
 * `seq`, built at unix time now_s: serial seq * VL_ORDERKIT_SERIALS_PER_SEQ
 * + 1; valid from 00:00 UTC of now_s's day for VL_ORDERKIT_VALIDITY_S;
 * subsidy VL_ORDERKIT_SUBSIDY_BP; program empty (a static "").  holder and
 * value_fen are zero: the caller sets them.  Asserts
 * seq <= VL_ORDERKIT_MAX_DEFAULT_SEQ (check a seq from a node first) and
 * now_s <= UINT64_MAX - VL_ORDERKIT_VALIDITY_S. */
void vl_orderkit_spec_defaults(vl_voucher_spec *s, uint64_t seq, uint64_t now_s);

/* ---- builders --------------------------------------------------------------- */

/* The unsigned ISSUE by `issuer` at its account's seq `seq` of the vouchers
 * specs[0..count) (copied; program labels borrowed).  Returns VL_OK;
 * VL_ERR_UNKNOWN_ISSUER (issuer not in g); VL_ERR_RANGE (count 0 or over
 * VL_MAX_ISSUE_BATCH); or the encoder's refusal of the specs: VL_ERR_RANGE
 * (value 0, an empty validity window, subsidy not 1..VL_MAX_SUBSIDY_BP),
 * VL_ERR_UNSORTED (serials descending), VL_ERR_NONCANONICAL (a serial
 * repeated, a program label not printable ASCII), VL_ERR_LIMIT (a label
 * over VL_MAX_LABEL_LEN). */
vl_err vl_orderkit_issue(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                         uint64_t seq, const vl_voucher_spec *specs, size_t count);

/* The same for `count` vouchers alike: each is *first but for its serial,
 * first->serial + i.  Returns as vl_orderkit_issue, and VL_ERR_RANGE when
 * the last serial would pass UINT64_MAX. */
vl_err vl_orderkit_issue_alike(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                               uint64_t seq, const vl_voucher_spec *first, size_t count);

/* What a REDEEM says. */
typedef struct {
    uint8_t issuer[32];       /* the voucher: its issuer ... */
    uint64_t serial;          /* ... and serial (vl_voucher_account_id) */
    uint64_t seq;             /* the voucher account's next_seq */
    uint8_t holder[32];       /* the voucher's holder: signs slot 0 */
    uint8_t provider[32];     /* a provider of the genesis: signs slot 1 */
    uint64_t amount_fen;      /* > 0 */
    uint64_t gpu_milli_hours; /* GPU-hours delivered, in thousandths */
    uint8_t invoice_hash[32]; /* the provider's invoice, or vl_orderkit_derived_invoice */
} vl_orderkit_redeem;

/* The unsigned REDEEM of *r.  Returns VL_OK; VL_ERR_UNKNOWN_ISSUER or
 * VL_ERR_UNKNOWN_PROVIDER (not in g); VL_ERR_RANGE (amount_fen 0).  Whether
 * the voucher exists, is active, is held by r->holder and covers the amount
 * is for the network to say (vl_client_get_account tells beforehand). */
vl_err vl_orderkit_redeem_build(vl_order *o, const vl_genesis *g, const vl_orderkit_redeem *r);

/* The derived invoice hash of r, for a redemption that has no invoice of
 * its own: tagged_hash(VL_ORDERKIT_INVOICE_TAG, voucher id || seq u64 LE ||
 * amount_fen u64 LE || provider || gpu_milli_hours u64 LE), the voucher id
 * being vl_voucher_account_id(r->issuer, r->serial).  Reads every field of
 * r but invoice_hash; out may be r->invoice_hash. */
void vl_orderkit_derived_invoice(uint8_t out[32], const vl_orderkit_redeem *r);

/* The unsigned REVOKE by `issuer` of its voucher `serial`, at the voucher
 * account's next_seq `seq`.  reason: printable ASCII, at most
 * VL_MAX_REASON_LEN bytes, borrowed; NULL means none.  Returns VL_OK;
 * VL_ERR_UNKNOWN_ISSUER (not in g); VL_ERR_LIMIT (reason too long);
 * VL_ERR_NONCANONICAL (reason not printable ASCII). */
vl_err vl_orderkit_revoke(vl_order *o, const vl_genesis *g, const uint8_t issuer[32],
                          uint64_t serial, uint64_t seq, const char *reason);

/* ---- signing and encoding ------------------------------------------------------ */

/* Sign slot `slot` of o with kp over o's order hash (BIP-340, fresh
 * auxiliary randomness, wiped after use).  Which key belongs in which slot
 * is checked by vl_order_verify, not here.  Asserts
 * slot < vl_order_sig_count(o->kind) and that o encodes.  Returns VL_OK, or
 * VL_ERR_RANDOM (no randomness; o unchanged). */
vl_err vl_orderkit_sign(vl_order *o, unsigned slot, const vl_keypair *kp);

/* Encode o into a new heap buffer: *buf (the caller frees it with free())
 * of *len bytes.  Returns VL_OK; VL_ERR_NOMEM; or the encoder's error for an
 * order that is not canonical (one no builder made).  On error *buf is NULL
 * and *len 0. */
vl_err vl_orderkit_encode(const vl_order *o, uint8_t **buf, size_t *len);

#endif
