/* vl_verify.h - checking signed objects against a genesis, offline.
 *
 * These are what make a certificate self-verifying: anyone holding the
 * genesis can run them without trusting the node that served the object.
 * They check signatures and membership only; ledger rules that need state
 * (balances, the voucher's holder key, sequence numbers) are consensus/'s.
 *
 * The signature cache remembers (voter, root) pairs whose vote signature
 * already verified, so a batch of certificates voted in one batch costs one
 * Schnorr verification per voter, not one per certificate (DESIGN.md 4),
 * and the order signatures it already verified, so a voter that checked an
 * order to vote on it does not check it again in its certificate.
 */
#ifndef VL_VERIFY_H
#define VL_VERIFY_H

#include <stdint.h>

#include "vl_crypto.h" /* vl_keypair */
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_wire.h"

typedef struct vl_sigcache vl_sigcache;

/* A cache of `capacity` (voter, root) entries (1..1<<24), evicting the
 * oldest, as many order signature entries (kept apart), and capacity / 16
 * parsed holder keys (64 to 65,536).  Internally locked: one cache may
 * serve several threads.
 * Returns NULL when out of memory. */
vl_sigcache *vl_sigcache_new(uint32_t capacity);
/* Frees *c (NULL allowed) and sets *c = NULL. */
void vl_sigcache_destroy(vl_sigcache **c);
/* Counters for metrics and benchmarks: vote signatures (hits, misses)
 * and order signatures (order_hits, order_misses). */
uint64_t vl_sigcache_hits(const vl_sigcache *c);
uint64_t vl_sigcache_misses(const vl_sigcache *c);
uint64_t vl_sigcache_order_hits(const vl_sigcache *c);
uint64_t vl_sigcache_order_misses(const vl_sigcache *c);
/* Holder keys found parsed in the cache, and parsed anew (vl_verify.c note 7). */
uint64_t vl_sigcache_key_hits(const vl_sigcache *c);
uint64_t vl_sigcache_key_misses(const vl_sigcache *c);

/* Check an order's structure against the genesis and its signatures:
 *   network_id == g->network_id                      else VL_ERR_WRONG_NETWORK
 *   issuer is a genesis issuer                       else VL_ERR_UNKNOWN_ISSUER
 *   REDEEM: provider is a genesis provider           else VL_ERR_UNKNOWN_PROVIDER
 *   each signature verifies over order_hash by its signer (issuer for
 *   ISSUE/REVOKE; holder then provider for REDEEM)   else VL_ERR_BAD_SIG
 * `order_hash` is vl_order_hash(o), passed in so callers hash once. */
vl_err vl_order_verify(const vl_genesis *g, const vl_order *o, const uint8_t order_hash[32]);
/* The same, with the signatures checked through `cache` (NULL allowed):
 * a signature already verified for this order hash and slot is not
 * checked again, and each one that verifies goes into the cache.  The
 * membership checks run every time.  Same results as vl_order_verify. */
vl_err vl_order_verify_cached(const vl_genesis *g, const vl_order *o,
                              const uint8_t order_hash[32], vl_sigcache *cache);
/* The checks of vl_order_verify that involve no signature (its codes, and
 * VL_ERR_TYPE or VL_ERR_NONCANONICAL for a kind or signature count the
 * wire does not have), then the signature of slot `slot` alone, which
 * must be below vl_order_sig_count(o->kind) (asserted): VL_ERR_BAD_SIG if
 * it does not verify (an empty slot does not).  For an order whose
 * signers sign in turn (docs/clients.md section 2): a co-signer checks the
 * slots already filled before adding its own. */
vl_err vl_order_verify_slot(const vl_genesis *g, const vl_order *o, const uint8_t order_hash[32],
                            unsigned slot);

/* Check a certificate: vl_order_verify_cached of its order, then at least
 * g->quorum votes (VL_ERR_QUORUM), each from a distinct (the decoder
 * already enforces ascending voters) genesis VOTER (an observer or an
 * index past the node list: VL_ERR_UNKNOWN_KEY), each path leading from
 * the order's vote leaf (vl_vote_leaf) to a root (VL_ERR_BAD_PATH) whose vote signature verifies
 * (VL_ERR_BAD_SIG).  cache may be NULL.  On success writes the order hash
 * to order_hash_out (may be NULL). */
vl_err vl_cert_verify(const vl_genesis *g, const vl_cert *c, vl_sigcache *cache,
                      uint8_t order_hash_out[32]);

/* vl_cert_verify without verifying the order's signatures (vl_verify.c note
 * 8): the certificate's quorum vouches for them, since each vote's leaf
 * covers the signature bytes and at least one of q voters is honest.  For a
 * node applying a certificate; whoever trusts no quorum (an auditor, a
 * client) uses vl_cert_verify. */
vl_err vl_cert_verify_vouched(const vl_genesis *g, const vl_cert *c, vl_sigcache *cache,
                              uint8_t order_hash_out[32]);

/* An order the caller signed itself, or whose signatures it verified before
 * submitting it: its hash and signatures (vl_own_order_set), for vl_cert_verify_own. */
typedef struct {
    uint8_t hash[32];
    uint8_t sig_count;
    uint8_t sigs[2][64];
} vl_own_order;
void vl_own_order_set(vl_own_order *own, const vl_order *o, const uint8_t order_hash[32]);

/* vl_cert_verify of a certificate of `own` (vl_verify.c note 6): the
 * certificate's order must have own's hash and exactly own's signature
 * bytes, else VL_ERR_CORRUPT; those signatures are then not verified again
 * (the caller vouches for them).  Membership, voters, paths, quorum and
 * vote signatures are checked as vl_cert_verify does.  Use it only for an
 * order whose signatures the caller made or checked; an order received
 * from anyone else needs vl_cert_verify. */
vl_err vl_cert_verify_own(const vl_genesis *g, const vl_cert *c, vl_sigcache *cache,
                          const vl_own_order *own, uint8_t order_hash_out[32]);

/* Check a batch vote signature of a genesis voter (VL_ERR_UNKNOWN_KEY,
 * VL_ERR_BAD_SIG); successes go into the cache when it is not NULL. */
vl_err vl_batch_vote_verify(const vl_genesis *g, const vl_batch_vote *v, vl_sigcache *cache);

/* Check a checkpoint: right network, node index in range, signature by
 * that node's key. */
vl_err vl_checkpoint_verify(const vl_genesis *g, const vl_checkpoint *cp);

/* Sign helpers for clients and nodes: fill the signature(s) of o over its
 * order hash.  vl_order_sign_slot signs slot `slot` (0 or 1) with kp;
 * aux_rand as vl_sign.  Asserts slot < vl_order_sig_count(o->kind). */
void vl_order_sign_slot(vl_order *o, unsigned slot, const vl_keypair *kp,
                        const uint8_t aux_rand[32]);
void vl_checkpoint_sign(vl_checkpoint *cp, const vl_keypair *kp, const uint8_t aux_rand[32]);

#endif
