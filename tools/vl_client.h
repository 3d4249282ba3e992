/* vl_client.h - the client library: submit orders to a voucher-ledger
 * network and read its state, verifying every certificate locally.
 *
 * A billing system (or a wallet, or voucherctl) links the static library
 * `vl_client` (with vl_wire and libzmq).  It speaks the client protocol of
 * docs/protocol.md section 6 to the nodes' client endpoints: one ZeroMQ
 * DEALER per endpoint, one encoded CLIENT_REQUEST per frame, replies
 * matched by req_id.
 *
 * Trust: the library trusts no node.  A certificate is returned only after
 * vl_cert_decode + vl_cert_verify against the genesis the client was made
 * with, and (for SUBMIT) after checking that it certifies the very order that
 * was submitted.  A node that answers with a certificate that does not verify
 * is treated like a node that did not answer: the next node is asked.
 *
 * Failover (DESIGN.md 5.5): SUBMIT goes to the first endpoint (later calls:
 * to the one that last answered, so a node that is down costs one timeout,
 * not one per call); when it does not answer within timeout_ms, or answers with an error that says "this
 * node cannot finish it now" (vl_client_should_failover), the SAME order
 * bytes go to the next endpoint.  Resubmitting the same bytes is always
 * safe: a voter votes at most once per (account, seq), and an order that
 * was certified meanwhile comes back as its certificate.  Never build and
 * sign a DIFFERENT order for a slot after a timeout (see docs/clients.md,
 * "the slot guard").
 *
 * Threads: a vl_client is not thread-safe (ZeroMQ sockets are not); use one
 * per thread.  Calls block for at most timeout_ms per endpoint tried.
 *
 * Ownership, for every function below: results are caller-allocated structs
 * the library zeroes first and fills with heap memory it owns until the
 * matching *_free, which accepts a zeroed or already-freed result.  Inputs
 * (order bytes, endpoints, the genesis) are copied; nothing is kept.
 */
#ifndef VL_CLIENT_H
#define VL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_verify.h"
#include "vl_wire.h"

/* Endpoints one client talks to (a genesis has at most VL_MAX_NODES). */
#define VL_CLIENT_MAX_ENDPOINTS VL_MAX_NODES
/* Bounds of the per-endpoint reply timeout. */
#define VL_CLIENT_MIN_TIMEOUT_MS 10u
#define VL_CLIENT_MAX_TIMEOUT_MS 600000u
/* The timeout voucherctl and voucher-bench use unless told otherwise, and
 * the one to start from.  A node answers a SUBMIT it cannot finish (TIMEOUT,
 * QUORUM, UNKNOWN_ACCOUNT) at its client_timeout_ms, 5000 by default, after
 * the order reached it: a client that waits no longer than that gives up a
 * moment before the answer and reports "no node answered" instead.  Keep the
 * client's timeout above the nodes' client_timeout_ms. */
#define VL_CLIENT_DEFAULT_TIMEOUT_MS 6000u
/* Replies with another req_id (late answers to earlier requests) that one
 * call discards before it gives up on that endpoint: bounds the loop. */
#define VL_CLIENT_MAX_STALE 4096u

typedef struct vl_client vl_client;

/* Create a client for the network of `genesis` (copied).  endpoints[0..n)
 * are ZeroMQ endpoints such as "tcp://127.0.0.1:7101" (copied); with
 * n == 0 (endpoints may then be NULL) every node's client_endpoint of the
 * genesis, in genesis order.  timeout_ms: how long to wait for one
 * endpoint's reply (VL_CLIENT_MIN_TIMEOUT_MS..VL_CLIENT_MAX_TIMEOUT_MS).
 * Sockets are created lazily, on first use of an endpoint.
 * Returns VL_OK (*c set), VL_ERR_USAGE (n over VL_CLIENT_MAX_ENDPOINTS, an
 * empty or over-long endpoint, a timeout out of range), VL_ERR_NOMEM,
 * VL_ERR_UNAVAILABLE (no ZeroMQ context).  *c is NULL on failure. */
vl_err vl_client_new(vl_client **c, const vl_genesis *genesis, const char *const *endpoints,
                     size_t n, uint32_t timeout_ms);

/* Close every socket (linger 0: unsent requests are dropped), free *c and
 * set *c = NULL.  NULL or *c == NULL is allowed. */
void vl_client_destroy(vl_client **c);

/* Verify certificates through `cache` (borrowed: it must outlive c; it is
 * internally locked, so the clients of several threads may share one)
 * instead of the client's own; NULL goes back to the client's own.  A
 * cache must serve one genesis only. */
void vl_client_use_cache(vl_client *c, vl_sigcache *cache);

/* Whether the caller signed (or verified) every order it submits through
 * c (default false).  When true, vl_client_submit checks a certificate with
 * vl_cert_verify_own: it must carry the submitted order with the very
 * signature bytes submitted (else it does not verify, VL_ERR_CORRUPT), and
 * those signatures are not verified again; votes, paths and quorum are.
 * Set it only for orders of one's own making: a certificate of someone
 * else's bytes would then be accepted with signatures nobody checked. */
void vl_client_vouch_for_orders(vl_client *c, bool vouch);

/* The endpoints in use (n == 0 at creation: the genesis'), and the genesis. */
size_t vl_client_endpoint_count(const vl_client *c);
const char *vl_client_endpoint(const vl_client *c, size_t index); /* NULL if out of range */
const vl_genesis *vl_client_genesis(const vl_client *c);

/* ---- SUBMIT -------------------------------------------------------------- */

typedef struct {
    vl_err code;             /* what the call returned */
    int endpoint;            /* index of the endpoint that gave the answer; -1: none */
    /* VL_OK: the certificate, verified; the order hash it certifies */
    uint8_t *cert;
    size_t cert_len;
    uint8_t order_hash[32];
    /* a refusal: the node's message (NUL-terminated, printable ASCII, may be
     * empty) and evidence (evidence_kind VL_EVIDENCE_ORDER: the order that
     * holds the slot, for VL_ERR_CONFLICT; VL_EVIDENCE_CERT: the slot's
     * certificate, for VL_ERR_ALREADY_CERTIFIED).  Evidence is as the node
     * sent it; evidence_verified says whether it passed vl_order_verify /
     * vl_cert_verify against the genesis. */
    char message[VL_MAX_ERROR_MSG_LEN + 1];
    uint8_t evidence_kind; /* vl_evidence_kind */
    uint8_t *evidence;
    size_t evidence_len;
    bool evidence_verified;
    /* endpoints tried, and how many of them answered at all */
    uint32_t tried;
    uint32_t answered;
} vl_client_result;

/* Submit an encoded ORDER and wait for its certificate.
 * Returns (also in result->code):
 *   VL_OK              result->cert holds a certificate of exactly this
 *                      order that verified against the genesis.
 *   a node's refusal   the code of the first node that refused the order
 *                      for a reason that is not node-local: VL_ERR_CONFLICT
 *                      (evidence: the other order), VL_ERR_OVERSPEND,
 *                      VL_ERR_BUDGET, VL_ERR_EXPIRED, VL_ERR_REVOKED,
 *                      VL_ERR_STALE_SEQ, VL_ERR_ALREADY_CERTIFIED (evidence:
 *                      the certificate of the other order), VL_ERR_QUORUM
 *                      (quorum became impossible), VL_ERR_BAD_SIG, ... with
 *                      message and evidence.
 *   VL_ERR_TIMEOUT or another failover code (vl_client_should_failover)
 *                      every endpoint was tried; at least one answered, and
 *                      this was the last answer (a node's VL_ERR_DISK_FULL
 *                      or VL_ERR_MAP_FULL only when no other node answered:
 *                      its "submit to another node" says least).
 *   a verification code (VL_ERR_BAD_SIG, VL_ERR_QUORUM, VL_ERR_CORRUPT when
 *                      the certificate is of another order, ...) every node
 *                      that answered served a certificate that does not
 *                      verify; message says which.
 *   VL_ERR_UNAVAILABLE no endpoint answered at all.
 *   local errors       the bytes do not decode as an ORDER (that decode
 *                      error, nothing sent), VL_ERR_NOMEM.
 * Each attempt uses a new req_id; replies carrying another req_id are
 * discarded.  On return nothing is left queued: an endpoint that timed
 * out has its socket closed (a fresh one is made when it is next used). */
vl_err vl_client_submit(vl_client *c, const uint8_t *order, size_t order_len,
                        vl_client_result *result);

/* Free what result holds and zero it. */
void vl_client_result_free(vl_client_result *result);

/* Whether a node's error code means "this node cannot finish it now; ask
 * another with the same bytes": VL_ERR_UNAVAILABLE, VL_ERR_TIMEOUT,
 * VL_ERR_BEHIND, VL_ERR_READ_ONLY, VL_ERR_STORAGE, VL_ERR_MAP_FULL,
 * VL_ERR_DISK_FULL, VL_ERR_CORRUPT, VL_ERR_NOMEM. */
bool vl_client_should_failover(int code);

/* ---- pipelined SUBMIT ------------------------------------------------------
 *
 * Many orders in flight on one client, from one thread: a billing system
 * that submits a stream of redemptions needs no thread per order waiting
 * for its certificate.  vl_client_send queues one SUBMIT to one endpoint and
 * returns at once; vl_client_next waits until any one of the orders in
 * flight is finished and reports it.  Answers are checked exactly as
 * vl_client_submit checks them (a certificate only if it verifies and
 * certifies that order; vl_client_vouch_for_orders applies).
 *
 * One attempt each, no failover: an order that ends with a failover code
 * (vl_client_should_failover; VL_ERR_UNAVAILABLE when its endpoint did not
 * answer within timeout_ms of the send) is the caller's to send again with
 * the SAME bytes, normally to another endpoint.  An endpoint that does not
 * answer in time is given up as in vl_client_submit: its socket is closed,
 * and every other order in flight there ends VL_ERR_UNAVAILABLE too (its
 * request may still have reached the node: resending the same bytes is
 * safe).  It is then avoided for twice timeout_ms: orders sent to it go
 * to the next endpoint instead (result.endpoint says which answered); then
 * one order probes it, and the others keep going elsewhere until that one
 * is answered (it is up) or expires (avoided again).  While any order is in flight the blocking calls of the same
 * client (vl_client_submit, reads) return VL_ERR_USAGE: their replies
 * share the sockets. */

#define VL_CLIENT_INFLIGHT_BITS 10u
/* Orders one client can have in flight. */
#define VL_CLIENT_MAX_INFLIGHT (1u << VL_CLIENT_INFLIGHT_BITS)

/* Queue a SUBMIT of the encoded ORDER to endpoint `endpoint` (an index
 * below vl_client_endpoint_count); `tag` is the caller's, given back by
 * vl_client_next.  The bytes are copied.  Returns VL_OK (in flight),
 * VL_ERR_LIMIT (VL_CLIENT_MAX_INFLIGHT already in flight, or an order over
 * VL_MAX_MSG_BYTES), a decode error (not an ORDER: nothing sent),
 * VL_ERR_USAGE (no such endpoint), VL_ERR_UNAVAILABLE (the socket would
 * not take it: nothing in flight), VL_ERR_NOMEM. */
vl_err vl_client_send(vl_client *c, size_t endpoint, const uint8_t *order, size_t order_len,
                      uint64_t tag);

/* Wait up to wait_ms for one order in flight to finish.  Returns VL_OK:
 * *tag is its tag and result is filled as vl_client_submit fills it
 * (result->code the order's outcome: VL_OK with the verified certificate,
 * a refusal with message and evidence, a failover code, or a verification
 * code when the node served a certificate that does not verify; tried = 1);
 * free it with vl_client_result_free.  VL_ERR_TIMEOUT: none finished
 * within wait_ms (0: only what is already there).  VL_ERR_EMPTY: nothing is
 * in flight.  VL_ERR_UNAVAILABLE: polling failed. */
vl_err vl_client_next(vl_client *c, uint32_t wait_ms, uint64_t *tag, vl_client_result *result);

/* Orders in flight. */
size_t vl_client_inflight(const vl_client *c);

/* ---- reads ---------------------------------------------------------------- */

typedef struct {
    vl_err code;
    int endpoint; /* which endpoint answered; -1: none */
    /* the state as served (raw ACCOUNT) and decoded (its program borrows
     * from account_raw) */
    uint8_t *account_raw;
    size_t account_len;
    vl_account account;
    /* the account's certificates, seq first_seq upwards (0 for
     * vl_client_get_account), each verified against the genesis and
     * checked to act on this account at its seq (cert_ok[i] == VL_OK) */
    uint64_t first_seq;
    uint32_t cert_count;
    uint8_t **certs;
    size_t *cert_lens;
    vl_err *cert_ok;
    char message[VL_MAX_ERROR_MSG_LEN + 1];
} vl_client_account;

/* GET_ACCOUNT: the state of account_id and all its certificates (asked
 * for in pages of about 256 KiB: docs/protocol.md 6), from the first
 * endpoint that answers with a state whose certificates all verify.
 * Returns VL_OK; VL_ERR_UNKNOWN_ACCOUNT when every endpoint that answered
 * said so (a lagging node may not know a new account: the others are
 * asked); a verification code when an answer had a certificate that does
 * not verify or is not of this account (result filled from that answer,
 * cert_ok saying which) and no other endpoint gave a good one; another node
 * error code; VL_ERR_UNAVAILABLE when none answered; VL_ERR_NOMEM.  On
 * error result may hold the last answer (free it either way). */
vl_err vl_client_get_account(vl_client *c, const uint8_t account_id[32],
                             vl_client_account *result);
/* The same, but only the certificates of seqs from_seq, from_seq + 1, ...,
 * at most max_certs of them (0: the state alone; result->first_seq is
 * from_seq).  For an account with many certificates (an issuer's ISSUEs)
 * when only some are wanted. */
vl_err vl_client_get_account_from(vl_client *c, const uint8_t account_id[32], uint64_t from_seq,
                                  uint32_t max_certs, vl_client_account *result);
void vl_client_account_free(vl_client_account *result);

/* STATUS of the node at endpoint `index`.  VL_OK (*status filled),
 * VL_ERR_USAGE (index out of range), VL_ERR_UNAVAILABLE (no answer within
 * the timeout), the node's error code, VL_ERR_TYPE (it answered with
 * another reply kind). */
vl_err vl_client_status(vl_client *c, size_t index, vl_status *status);

typedef struct {
    vl_err code;
    uint64_t log_head;  /* the node's last log index when it answered */
    uint32_t count;     /* entries returned, from the requested index on */
    uint8_t **entries;  /* encoded ENTRY objects (decoded by the node's
                         * reply decoder: each is a well-formed ENTRY) */
    size_t *entry_lens;
    char message[VL_MAX_ERROR_MSG_LEN + 1];
} vl_client_log;

/* GET_LOG from the node at endpoint `index`: at most max_items
 * (1..VL_MAX_MSG_ITEMS) entries from from_index (1 is the first entry).
 * Entries are NOT verified here: a log is one node's own hash chain; check
 * it with vl_client_check_entry.  Returns as vl_client_status, and
 * VL_ERR_RANGE for max_items out of range. */
vl_err vl_client_get_log(vl_client *c, size_t index, uint64_t from_index, uint32_t max_items,
                         vl_client_log *result);
void vl_client_log_free(vl_client_log *result);

/* GET_CHECKPOINT from the node at endpoint `index`: its latest signed
 * checkpoint, verified (vl_checkpoint_verify) before it is returned.
 * Returns as vl_client_status, VL_ERR_UNKNOWN_ACCOUNT when the node has
 * not signed one yet, or the verification error. */
vl_err vl_client_get_checkpoint(vl_client *c, size_t index, vl_checkpoint *checkpoint);

/* ---- verification helpers (offline; wrap vl_verify.h) ----------------------- */

/* Decode and verify a certificate against g (cache may be NULL).  When
 * expect_order_hash is not NULL the certificate must certify that order
 * (else VL_ERR_CORRUPT).  cert_out (may be NULL; large: heap) receives the
 * decoded certificate, borrowing from buf; order_hash_out (may be NULL) its
 * order hash.  Returns VL_OK, a decode error, or vl_cert_verify's error. */
vl_err vl_client_verify_cert(const vl_genesis *g, vl_sigcache *cache, const uint8_t *buf,
                             size_t len, const uint8_t *expect_order_hash, vl_cert *cert_out,
                             uint8_t order_hash_out[32]);

/* Check log entry `expect_index` of a node's hash chain: it decodes, its
 * index is expect_index, its prev_hash is *prev_hash (the network id for
 * entry 1), and its certificate verifies.  On VL_OK *prev_hash becomes
 * this entry's hash (the next entry's prev_hash) and entry_hash_out (may
 * be NULL) gets it too.  Returns VL_OK, a decode error, VL_ERR_RANGE (wrong
 * index), VL_ERR_CORRUPT (broken chain), or the certificate's error. */
vl_err vl_client_check_entry(const vl_genesis *g, vl_sigcache *cache, const uint8_t *buf,
                             size_t len, uint64_t expect_index, uint8_t prev_hash[32],
                             uint8_t entry_hash_out[32]);

#endif
