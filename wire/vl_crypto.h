/* vl_crypto.h - hashing domains, BIP-340 Schnorr keys and signatures, the
 * Merkle tree of batch votes and account ids.  Everything goes through
 * libsecp256k1 (and nettle's SHA-256 for the tagged hashes); nothing here
 * is hand-written cryptography.
 *
 * Domains: every hash is a BIP-340 tagged SHA-256 with one tag per domain
 * (VL_TAG_*), so a signature over one kind of object can never be replayed
 * as another.
 *
 * Thread safety: all functions are safe to call from several threads; the
 * library context and the tag midstates are made once (pthread_once) and
 * only read afterwards.
 */
#ifndef VL_CRYPTO_H
#define VL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "vl_error.h"

#define VL_TAG_GENESIS "voucher-ledger/v1/genesis"
#define VL_TAG_ORDER "voucher-ledger/v1/order"
#define VL_TAG_VOTE "voucher-ledger/v1/vote"
#define VL_TAG_VOTE_LEAF "voucher-ledger/v1/vote-leaf"
#define VL_TAG_MERKLE "voucher-ledger/v1/merkle"
#define VL_TAG_CERTIFICATE "voucher-ledger/v1/certificate"
#define VL_TAG_ENTRY "voucher-ledger/v1/entry"
#define VL_TAG_CHECKPOINT "voucher-ledger/v1/checkpoint"
#define VL_TAG_ISSUER_ID "voucher-ledger/v1/issuer-id"
#define VL_TAG_VOUCHER_ID "voucher-ledger/v1/voucher-id"
#define VL_TAG_STATE_DIGEST "voucher-ledger/v1/state-digest"

/* tagged_hash(tag, msg) = SHA256(SHA256(tag) || SHA256(tag) || msg), as
 * BIP-340.  `tag` is a NUL-terminated VL_TAG_* string. */
void vl_tagged_hash(uint8_t out[32], const char *tag, const uint8_t *msg, size_t msg_len);

/* ---- keys and signatures ------------------------------------------------ */

/* A secret key and its x-only public key.  Wipe with vl_keypair_wipe. */
typedef struct {
    uint8_t secret[32];
    uint8_t pubkey[32]; /* x-only, BIP-340 */
} vl_keypair;

/* Derive the keypair of `secret`.
 * Returns VL_OK, or VL_ERR_BAD_KEY if secret is zero or >= the curve order
 * (kp is then zeroed). */
vl_err vl_keypair_from_secret(vl_keypair *kp, const uint8_t secret[32]);

/* Fresh keypair from the OS (getrandom).  VL_OK, VL_ERR_RANDOM. */
vl_err vl_keypair_generate(vl_keypair *kp);

/* Overwrite the secret in a way the compiler cannot drop. */
void vl_keypair_wipe(vl_keypair *kp);
void vl_wipe(void *p, size_t len);

/* BIP-340 sign of a 32-byte message hash.  `aux_rand` is 32 bytes of fresh
 * randomness (BIP-340 auxiliary data), or NULL for the deterministic
 * variant (used by the known-answer tests).  Always succeeds for a keypair
 * made by vl_keypair_*; asserts otherwise. */
void vl_sign(uint8_t sig[64], const vl_keypair *kp, const uint8_t msg32[32],
             const uint8_t aux_rand[32]);

/* 1 if sig is a valid BIP-340 signature of msg32 by pubkey, else 0
 * (including when pubkey is not a valid x-only key). */
int vl_verify(const uint8_t sig[64], const uint8_t msg32[32], const uint8_t pubkey[32]);

/* 1 if pubkey parses as an x-only secp256k1 public key. */
int vl_pubkey_valid(const uint8_t pubkey[32]);

/* A public key parsed once (parsing takes a square root, a sizeable part
 * of a verification): the genesis keeps one per node, issuer and provider.
 * Plain bytes with no padding, so a struct holding them compares with
 * memcmp; the all-zero value is "not parsed". */
typedef struct {
    uint8_t raw[32];     /* the serialized x-only key it was made from */
    uint8_t parsed[64];  /* libsecp256k1's secp256k1_xonly_pubkey */
    uint8_t valid;       /* 1 if raw parsed; parsed is all zero otherwise */
} vl_parsed_pubkey;

/* Parse pubkey into *pk.  Returns 1, or 0 if it is not a valid x-only key
 * (pk->valid is then 0, pk->parsed zeroed, pk->raw still set). */
int vl_parsed_pubkey_set(vl_parsed_pubkey *pk, const uint8_t pubkey[32]);

/* vl_verify(sig, msg32, pubkey) with the key already parsed: same result.
 * pk is used only when it is valid and was made from these 32 bytes (a
 * cheap comparison); otherwise, or when pk is NULL, pubkey is parsed as
 * vl_verify does.  So a stale or zeroed pk costs time, never a wrong
 * answer. */
int vl_verify_parsed(const uint8_t sig[64], const uint8_t msg32[32], const uint8_t pubkey[32],
                     const vl_parsed_pubkey *pk);

/* Fill buf with OS randomness.  VL_OK or VL_ERR_RANDOM. */
vl_err vl_random(uint8_t *buf, size_t len);

/* ---- account ids --------------------------------------------------------- */

/* Issuer account id = tagged_hash(issuer-id, issuer pubkey). */
void vl_issuer_account_id(uint8_t out[32], const uint8_t issuer_pubkey[32]);

/* Voucher account id = tagged_hash(voucher-id, issuer pubkey || serial u64 LE). */
void vl_voucher_account_id(uint8_t out[32], const uint8_t issuer_pubkey[32], uint64_t serial);

/* ---- Merkle tree of a batch vote (RFC 6962 shape) -----------------------
 *
 * Leaves are vote leaves (vl_vote_leaf in vl_wire.h), used as they are (so
 * a batch of one has root = that leaf and an empty path).  For n > 1 leaves
 * the tree splits at k = the largest power of two < n: left = leaves[0..k),
 * right = leaves[k..n), and the node is
 *   tagged_hash(merkle, left || right || n as u32 LE)   (68 bytes hashed)
 * Every node commits to the number of leaves under it.  Without that, a
 * path verifies under several (index, n) pairs with the same left/right
 * steps (leaf 0 of 5 and of 7, say), so anyone could re-encode a valid
 * certificate with another leaf_count and it would still verify.  And the
 * node of any subtree is vl_merkle_root of its leaves alone.
 */

/* Root of `n` leaves (1 <= n <= VL_MAX_BATCH_ORDERS; asserts otherwise). */
void vl_merkle_root(uint8_t root[32], const uint8_t (*leaves)[32], uint32_t n);

/* Number of hashes in the audit path of leaf `index` in a tree of `n`
 * leaves (0 when n == 1).  Requires index < n. */
uint32_t vl_merkle_path_len(uint32_t index, uint32_t n);

/* Audit path of leaf `index` (RFC 6962 section 2.1.1 order: nearest the leaf
 * first).  Writes vl_merkle_path_len(index, n) hashes to path and returns
 * that count.  Requires index < n <= VL_MAX_BATCH_ORDERS. */
uint32_t vl_merkle_path(uint8_t (*path)[32], const uint8_t (*leaves)[32], uint32_t n,
                        uint32_t index);

/* Recompute the root from a leaf and its path.  Returns VL_OK, or
 * VL_ERR_BAD_PATH when path_len is not vl_merkle_path_len(index, n) or
 * index >= n (root is then zeroed). */
vl_err vl_merkle_root_from_path(uint8_t root[32], const uint8_t leaf[32], uint32_t index,
                                uint32_t n, const uint8_t (*path)[32], uint32_t path_len);

/* ---- hex helpers (JSON output, key files) -------------------------------- */

/* Lower-case hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void vl_hex_encode(char *out, const uint8_t *in, size_t len);

/* Parse exactly 2*len hex digits (either case) from a NUL-terminated string.
 * VL_OK, or VL_ERR_RANGE if the string is not exactly that (out zeroed). */
vl_err vl_hex_decode(uint8_t *out, size_t len, const char *hex);

#endif
