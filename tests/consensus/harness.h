/* harness.h - shared helpers for the consensus core tests.
 *
 * A test builds a genesis in code and holds EVERY key of it (nodes,
 * issuers, providers, voucher holders), so it can play the other voters
 * and the clients of the node under test: it encodes their messages with
 * vl_msg_encode, feeds them to vl_core_step, and decodes what the core
 * sends back.  The node under test runs on real LMDB in a mkdtemp
 * directory that h_free() removes.
 *
 * Keys are fixed (vl_keypair_from_secret of a small pattern), so every
 * run signs the same bytes.  Time is the harness' `now_ms`, passed to
 * every step; tests move it explicitly.
 *
 * Memory: orders and certificates are big structs (vl_wire.h), so the
 * builders return heap objects (free with free()).  A decoded output
 * (h_find) borrows from the outbox of the last step and is valid until
 * the next step.
 */
#ifndef VL_TEST_HARNESS_H
#define VL_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_core.h"
#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_verify.h"
#include "vl_wire.h"

/* Reference time: 2027-01-15 08:00:00 UTC.  Vouchers built by the harness
 * are valid from H_T0_S for H_VALID_S seconds unless a test says otherwise. */
#define H_T0_S 1800000000ull
#define H_VALID_S (30ull * 24 * 3600)
#define H_SKEW_MS 60000ull

#define H_MAX_ISSUERS 3
#define H_MAX_PROVIDERS 3
#define H_HOLDERS 4

typedef struct {
    uint8_t *data;
    size_t len;
} h_buf;

typedef struct {
    /* genesis and keys; indexes are genesis (canonical) indexes */
    vl_genesis *g;
    vl_keypair node_key[VL_MAX_NODES];
    uint32_t voter_count, observer_count;
    uint16_t voter[VL_MAX_NODES]; /* genesis indexes of the voters, "node-00" first */
    uint16_t observer[VL_MAX_NODES];
    vl_keypair issuer_key[H_MAX_ISSUERS]; /* by genesis index */
    vl_keypair provider_key[H_MAX_PROVIDERS];
    vl_keypair holder[H_HOLDERS]; /* firms: not in the genesis */
    vl_keypair outsider;          /* a key no genesis lists */

    /* the node under test */
    char dir[256];
    vl_core_config cfg;
    vl_core *core;
    char open_err[256]; /* the sentence of the last vl_core_open */
    uint16_t self;
    uint64_t now_ms;
    uint64_t next_req_id;
    vl_outbox out;

    uint8_t acct_buf[8192]; /* strings of h_account results */

    /* decoding outputs */
    vl_msg_storage *st;
    vl_msg msg;
} h_net;

/* ---- setup --------------------------------------------------------------- */

/* Build a genesis with `voters` voters (max_faulty f) and `observers`
 * observers, 2 issuers (issuer 0 budget_fen0, issuer 1 budget_fen1) and 2
 * providers, and a fresh temp directory.  The node under test is not open
 * yet.  Exits the program on a setup failure (nothing to test then). */
h_net *h_new(uint32_t voters, uint32_t observers, uint32_t max_faulty, uint64_t budget0_fen,
             uint64_t budget1_fen);
/* The standard network: 4 voters (f=1, q=3), 1 observer, budgets 1e6 and 5000 fen. */
h_net *h_new_std(void);
/* Close the core (if open), remove the directory, free everything. */
void h_free(h_net **h);

/* Config defaults for the node under test (durable, skew H_SKEW_MS, no
 * checkpoints, long timers).  Tests may edit h->cfg before h_open. */
void h_config(h_net *h, uint16_t node);
/* Open the core of node `node` in h->dir with h->cfg (as set by h_config
 * if the test did not call it).  Returns what vl_core_open returned. */
vl_err h_open(h_net *h, uint16_t node, bool force_observer);
void h_close(h_net *h);

/* ---- orders -------------------------------------------------------------- */

/* ISSUE by issuer `iss` at `seq` of `count` vouchers with serials
 * first_serial.., each of value_fen for holder `holder`, valid
 * [H_T0_S, H_T0_S + H_VALID_S).  Signed. */
vl_order *h_issue(h_net *h, unsigned iss, uint64_t seq, uint64_t first_serial, uint16_t count,
                  uint64_t value_fen, unsigned holder);
/* REDEEM of voucher (iss, serial) at seq, by holder `holder` at provider
 * `prov`.  Signed by both. */
vl_order *h_redeem(h_net *h, unsigned iss, uint64_t serial, uint64_t seq, unsigned holder,
                   uint64_t amount_fen, unsigned prov);
/* REVOKE of voucher (iss, serial) at seq.  Signed by the issuer. */
vl_order *h_revoke(h_net *h, unsigned iss, uint64_t serial, uint64_t seq);
/* Re-sign every signature slot of o with its proper signer (after a test
 * edited a field). */
void h_resign(h_net *h, vl_order *o);

h_buf h_order_bytes(const vl_order *o);
void h_order_hash(const vl_order *o, uint8_t out[32]);
/* What a voter puts in its batch for o: vl_vote_leaf (order hash and the
 * order's signature bytes). */
void h_vote_leaf(const vl_order *o, uint8_t out[32]);
void h_order_account(const vl_order *o, uint8_t out[32]);
/* Account ids. */
void h_issuer_account(h_net *h, unsigned iss, uint8_t out[32]);
void h_voucher_account(h_net *h, unsigned iss, uint64_t serial, uint8_t out[32]);

/* ---- certificates -------------------------------------------------------- */

/* Certificates for `n` orders voted in ONE batch by each of `nv` voters
 * (genesis indexes, ascending), each voter signing the Merkle root of the
 * n vote leaves (h_vote_leaf) with its own key.  certs[i] receives the
 * encoding of the certificate of orders[i].  Returns VL_OK or the
 * encoder's error. */
vl_err h_certs(h_net *h, vl_order *const *orders, uint32_t n, const uint16_t *voters,
               uint32_t nv, h_buf *certs);
/* A certificate struct (heap, free()) of one order voted alone (root =
 * its vote leaf, empty paths) by `nv` voters in the given order, each
 * signing with its genesis key.  Tests edit it to forge bad certificates. */
vl_cert *h_cert_make(h_net *h, const vl_order *o, const uint16_t *voters, uint32_t nv);
/* Encode a certificate struct ({NULL, 0} if the encoder refuses it). */
h_buf h_cert_bytes(const vl_cert *c);
/* One certificate of one order by the first q voters (or `nv` given). */
h_buf h_cert1(h_net *h, const vl_order *o, const uint16_t *voters, uint32_t nv);
/* A certificate by the quorum of voters NOT including the node under test. */
h_buf h_cert_q(h_net *h, const vl_order *o);

/* A certificate from a real VOTE_REPLY of the node under test (leaves and
 * vote_sig in *reply) plus test-signed single-order votes of `nv` other
 * voters.  The votes are sorted by voter. */
h_buf h_cert_with_reply(h_net *h, const vl_order *o, const vl_msg *reply, const uint16_t *voters,
                        uint32_t nv);

/* ---- stepping ------------------------------------------------------------ */

/* Step the core with the given inputs at h->now_ms (outbox cleared first).
 * Returns the step's result. */
vl_err h_step(h_net *h, const vl_input *in, size_t n);
/* Raw bytes from a peer / from a client tag. */
vl_err h_feed_peer(h_net *h, uint16_t from, const uint8_t *data, size_t len);
vl_err h_feed_client(h_net *h, uint64_t client, const uint8_t *data, size_t len);
vl_err h_tick(h_net *h);

/* Encode and feed a VOTE_REQUEST of `n` orders from peer `from`. */
vl_err h_vote_request(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n);
/* Encode and feed a VOTE_REPLY from voter `from` voting for `n` orders in
 * one batch: their vote leaves (h_vote_leaf), the Merkle root signed with
 * the voter's genesis key. */
vl_err h_feed_votes(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n);
/* The bytes of that VOTE_REPLY (for a step of several inputs). */
h_buf h_votes_bytes(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n);
/* Encode and feed a CERTS message of `n` certificates from peer `from`. */
vl_err h_send_certs(h_net *h, uint16_t from, const h_buf *certs, uint32_t n);
/* Encode a client request (req_kind, and the order for SUBMIT) and feed it
 * as client `client`; then, if the core did not answer that client yet,
 * up to 3 TICK steps at the same time.  Returns the last step's result. */
vl_err h_client(h_net *h, uint64_t client, uint8_t req_kind, const vl_order *submit,
                const uint8_t account_id[32], uint64_t from_index, uint32_t max_items);

/* Build the bytes of a message (for tests that tamper with them). */
h_buf h_msg_bytes(const vl_msg *m);
h_buf h_vote_request_bytes(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n);
h_buf h_certs_bytes(h_net *h, uint16_t from, const h_buf *certs, uint32_t n);
h_buf h_client_bytes(h_net *h, uint8_t req_kind, const vl_order *submit,
                     const uint8_t account_id[32], uint64_t from_index, uint32_t max_items);

/* ---- outputs ------------------------------------------------------------- */

/* Number of outputs of the last step. */
size_t h_out_count(const h_net *h);
/* Find the first output of the last step that decodes as message type
 * `type` and goes to (kind, to): to is the peer for VL_OUT_PEER, the client
 * tag for VL_OUT_CLIENT, ignored for VL_OUT_BROADCAST.  kind 0 matches any
 * destination.  On success decodes it into h->msg and returns it; else NULL. */
vl_msg *h_find(h_net *h, uint8_t kind, uint64_t to, uint8_t type);
/* How many outputs of the last step decode as `type` to (kind, to). */
size_t h_count(h_net *h, uint8_t kind, uint64_t to, uint8_t type);
/* The same in any outbox (the outputs a send_early hook kept, say). */
size_t h_count_in(const vl_outbox *ob, uint8_t kind, uint64_t to, uint8_t type);

/* The peers (bit 1 << genesis index) that the last step sent a
 * VOTE_REQUEST naming o. */
uint32_t h_asked(h_net *h, const vl_order *o);
/* The number of bits set in m. */
uint32_t h_bits(uint32_t m);

/* The VOTE_REPLY to peer `peer` (NULL if none). */
vl_msg *h_vote_reply(h_net *h, uint16_t peer);
/* In a decoded VOTE_REPLY: is o's vote leaf (h_vote_leaf) among the leaves? */
bool h_reply_has_leaf(const vl_msg *m, const vl_order *o);
/* In a decoded VOTE_REPLY: the answer for `hash`, or NULL. */
const vl_answer *h_reply_answer(const vl_msg *m, const uint8_t hash[32]);
/* Verify the vote signature of a decoded VOTE_REPLY by voter `voter`:
 * vl_batch_vote_verify of (voter, merkle root of the leaves, vote_sig). */
vl_err h_reply_vote_verify(h_net *h, const vl_msg *m, uint16_t voter);

/* ---- state --------------------------------------------------------------- */

typedef struct {
    uint64_t log_head;
    uint8_t head_hash[32];
    uint8_t state_digest[32];
    uint8_t buckets[256][32];
    vl_core_stats stats;
} h_snap;

void h_snapshot(h_net *h, h_snap *s);
/* True when log head, head hash, state digest and bucket digests are equal. */
bool h_same_state(const h_snap *a, const h_snap *b);

/* Account (VL_ERR_UNKNOWN_ACCOUNT if none); strings borrow h-internal
 * storage valid until the next call. */
vl_err h_account(h_net *h, const uint8_t id[32], vl_account *a);
/* True when the node holds no lock on (account, seq). */
bool h_no_lock(h_net *h, const uint8_t account[32], uint64_t seq);
/* True when the node holds a lock on (account, seq) for this order hash. */
bool h_locked_on(h_net *h, const uint8_t account[32], uint64_t seq, const uint8_t hash[32]);

/* ---- misc ---------------------------------------------------------------- */

h_buf h_buf_copy(const uint8_t *p, size_t len);
h_buf h_buf_zero(size_t len);
void h_buf_free(h_buf *b);
/* Remove a directory tree (best effort). */
void h_rmtree(const char *dir);
/* A deterministic PRNG for tests. */
uint64_t h_rand(uint64_t *state);

#endif
