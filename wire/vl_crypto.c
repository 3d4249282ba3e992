/* vl_crypto.c - hashing domains, BIP-340 keys and signatures, batch Merkle
 * trees, account ids and hex, all through libsecp256k1.
 *
 * Design notes
 *  1. One secp256k1 context for the process, created on first use under
 *     pthread_once and randomized (side-channel blinding of signing) with 32
 *     bytes from getrandom(2).  After that it is only read, which
 *     libsecp256k1 documents as thread safe.  If the kernel has no
 *     randomness to give at that moment the context stays unrandomized:
 *     blinding is a hardening, not a correctness requirement, and
 *     verification-only tools must still work in a sandbox without
 *     getrandom.  Key generation then fails with VL_ERR_RANDOM anyway.
 *  2. No hand-written cryptography: Schnorr and the key arithmetic are
 *     libsecp256k1's, the tagged SHA-256 is nettle's (note 7).  This file
 *     only arranges bytes.
 *  3. Every secret that passes through a local (the library's keypair
 *     struct) is wiped with vl_wipe before returning.
 *  4. Merkle tree (RFC 6962 shape, DESIGN.md 4): leaves are used as they
 *     are, a node over n >= 2 leaves is tagged_hash(merkle, left || right
 *     || n u32 LE), split at the largest power of two < n.  The tree is at
 *     most VL_MAX_MERKLE_DEPTH levels deep, which bounds every recursion
 *     and loop below.  The path length is checked exactly first, so a path
 *     with extra or missing hashes never verifies.
 *  5. Why every node carries its leaf count: RFC 6962's tree alone does
 *     not fix the tree size a path belongs to (a path is only a sequence
 *     of left/right steps, and several (index, n) pairs share one), which
 *     would let anyone change a certificate vote's leaf_count and still
 *     have it verify.  With the count in every node, the root fixes n, and
 *     n and the steps fix the index.  Putting it in every node rather than
 *     only on top keeps vl_merkle_root of a subtree's leaves equal to that
 *     subtree's node (which consensus/ uses to build all paths of a batch
 *     in O(n log n)), and costs nothing: 64 + 68 bytes hash in the same
 *     three SHA-256 blocks as 64 + 64.  n = 1 keeps root = the order hash.
 *  6. vl_merkle_root_from_path is RFC 9162 section 2.1.3.2's verification
 *     in its recursive form (as docs/protocol.md 3.3 gives it): a walk down
 *     from (index, n) records each level's direction and node size, then
 *     the path is folded up from the leaf.  RFC 9162's iterative fn/sn loop
 *     finds the same directions but not the sizes this tree hashes.
 *  7. Tag midstates (docs/performance.md, change 3).  tagged_hash(tag, m)
 *     = SHA256(SHA256(tag) || SHA256(tag) || m): the first 64 bytes depend
 *     on the tag alone, so the SHA-256 state after them is computed once
 *     per tag (pthread_once, the VL_TAG_* set below) and copied for every
 *     hash; only m is compressed per call (a 68-byte Merkle node: 2
 *     compressions instead of 4).  SHA-256 is nettle's (its context is a
 *     plain struct that can be copied), not ours; the result is the same
 *     bytes as secp256k1_tagged_sha256 (tests/wire crypto_test checks
 *     every tag against tests/vectors/crypto.txt, made with Python's
 *     hashlib).  A tag outside the set (none in this project) is hashed
 *     the long way.
 */
#include "vl_crypto.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nettle/sha2.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "vl_limits.h"

/* ---- the context ---------------------------------------------------------- */

static secp256k1_context *vl_ctx;
static pthread_once_t vl_ctx_once = PTHREAD_ONCE_INIT;

static void ctx_init(void)
{
    vl_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (vl_ctx == NULL) {
        fprintf(stderr, "vl_crypto: secp256k1_context_create failed\n");
        abort();
    }
    uint8_t seed[32];
    if (vl_random(seed, sizeof seed) == VL_OK) {
        int ok = secp256k1_context_randomize(vl_ctx, seed);
        assert(ok == 1);
        (void)ok;
    }
    vl_wipe(seed, sizeof seed);
}

static const secp256k1_context *ctx(void)
{
    int rc = pthread_once(&vl_ctx_once, ctx_init);
    assert(rc == 0);
    (void)rc;
    return vl_ctx;
}

/* ---- hashing ---------------------------------------------------------------- */

/* Note 7: the SHA-256 state after SHA256(tag) || SHA256(tag), one per tag. */
static const char *const vl_tags[] = {
    VL_TAG_GENESIS,     VL_TAG_ORDER,      VL_TAG_VOTE,      VL_TAG_MERKLE,
    VL_TAG_CERTIFICATE, VL_TAG_ENTRY,      VL_TAG_CHECKPOINT, VL_TAG_ISSUER_ID,
    VL_TAG_VOUCHER_ID,  VL_TAG_STATE_DIGEST, VL_TAG_VOTE_LEAF,
};
#define VL_NTAGS (sizeof vl_tags / sizeof vl_tags[0])
static struct sha256_ctx vl_tag_mid[VL_NTAGS];
static pthread_once_t vl_tag_once = PTHREAD_ONCE_INIT;

static void tag_midstate(struct sha256_ctx *mid, const char *tag)
{
    uint8_t tag_hash[SHA256_DIGEST_SIZE];
    sha256_init(mid);
    sha256_update(mid, strlen(tag), (const uint8_t *)tag);
    sha256_digest(mid, sizeof tag_hash, tag_hash); /* also re-initializes mid */
    sha256_update(mid, sizeof tag_hash, tag_hash);
    sha256_update(mid, sizeof tag_hash, tag_hash);
}

static void tags_init(void)
{
    for (size_t i = 0; i < VL_NTAGS; i++)
        tag_midstate(&vl_tag_mid[i], vl_tags[i]);
}

/* The midstate of `tag`, or NULL if it is not one of vl_tags.  The same
 * literal usually has one address across the program, so the pointer test
 * almost always decides; strcmp covers a copy of the string. */
static const struct sha256_ctx *tag_lookup(const char *tag)
{
    int rc = pthread_once(&vl_tag_once, tags_init);
    assert(rc == 0);
    (void)rc;
    for (size_t i = 0; i < VL_NTAGS; i++)
        if (tag == vl_tags[i])
            return &vl_tag_mid[i];
    for (size_t i = 0; i < VL_NTAGS; i++)
        if (strcmp(tag, vl_tags[i]) == 0)
            return &vl_tag_mid[i];
    return NULL;
}

void vl_tagged_hash(uint8_t out[32], const char *tag, const uint8_t *msg, size_t msg_len)
{
    assert(out != NULL && tag != NULL);
    assert(msg != NULL || msg_len == 0);
    struct sha256_ctx h;
    const struct sha256_ctx *mid = tag_lookup(tag);
    if (mid != NULL)
        h = *mid;
    else
        tag_midstate(&h, tag);
    if (msg_len > 0)
        sha256_update(&h, msg_len, msg);
    sha256_digest(&h, 32, out);
}

/* ---- randomness, wiping -------------------------------------------------- */

void vl_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        explicit_bzero(p, len);
}

vl_err vl_random(uint8_t *buf, size_t len)
{
    assert(buf != NULL || len == 0);
    size_t done = 0;
    /* getrandom returns at most 32 MiB per call and may be interrupted;
     * the bound keeps a misbehaving kernel from spinning us forever. */
    for (unsigned attempts = 0; done < len; attempts++) {
        if (attempts >= 1000)
            return VL_ERR_RANDOM;
        ssize_t n = getrandom(buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            vl_wipe(buf, len);
            return VL_ERR_RANDOM;
        }
        done += (size_t)n;
    }
    return VL_OK;
}

/* ---- keys and signatures ------------------------------------------------------ */

vl_err vl_keypair_from_secret(vl_keypair *kp, const uint8_t secret[32])
{
    assert(kp != NULL && secret != NULL);
    secp256k1_keypair pair;
    secp256k1_xonly_pubkey xpk;
    if (!secp256k1_keypair_create(ctx(), &pair, secret)) {
        vl_wipe(kp, sizeof *kp);
        return VL_ERR_BAD_KEY;
    }
    int ok = secp256k1_keypair_xonly_pub(ctx(), &xpk, NULL, &pair);
    assert(ok == 1);
    ok = secp256k1_xonly_pubkey_serialize(ctx(), kp->pubkey, &xpk);
    assert(ok == 1);
    (void)ok;
    if (kp->secret != secret)
        memcpy(kp->secret, secret, 32);
    vl_wipe(&pair, sizeof pair);
    return VL_OK;
}

vl_err vl_keypair_generate(vl_keypair *kp)
{
    assert(kp != NULL);
    uint8_t secret[32];
    /* A random 32-byte string is a valid secret with probability
     * 1 - 2^-128; the bound is for a broken random source. */
    for (int attempt = 0; attempt < 16; attempt++) {
        if (vl_random(secret, sizeof secret) != VL_OK)
            break;
        if (vl_keypair_from_secret(kp, secret) == VL_OK) {
            vl_wipe(secret, sizeof secret);
            return VL_OK;
        }
    }
    vl_wipe(secret, sizeof secret);
    vl_wipe(kp, sizeof *kp);
    return VL_ERR_RANDOM;
}

void vl_keypair_wipe(vl_keypair *kp)
{
    if (kp != NULL)
        vl_wipe(kp, sizeof *kp);
}

void vl_sign(uint8_t sig[64], const vl_keypair *kp, const uint8_t msg32[32],
             const uint8_t aux_rand[32])
{
    assert(sig != NULL && kp != NULL && msg32 != NULL);
    secp256k1_keypair pair;
    secp256k1_xonly_pubkey xpk;
    uint8_t pub[32];
    int ok = secp256k1_keypair_create(ctx(), &pair, kp->secret);
    assert(ok == 1 && "vl_sign: keypair not made by vl_keypair_*");
    ok = secp256k1_keypair_xonly_pub(ctx(), &xpk, NULL, &pair);
    assert(ok == 1);
    ok = secp256k1_xonly_pubkey_serialize(ctx(), pub, &xpk);
    assert(ok == 1);
    assert(memcmp(pub, kp->pubkey, 32) == 0 && "vl_sign: pubkey does not match secret");
    ok = secp256k1_schnorrsig_sign32(ctx(), sig, msg32, &pair, aux_rand);
    assert(ok == 1);
    (void)ok;
    vl_wipe(&pair, sizeof pair);
}

int vl_verify(const uint8_t sig[64], const uint8_t msg32[32], const uint8_t pubkey[32])
{
    assert(sig != NULL && msg32 != NULL && pubkey != NULL);
    secp256k1_xonly_pubkey xpk;
    if (!secp256k1_xonly_pubkey_parse(ctx(), &xpk, pubkey))
        return 0;
    return secp256k1_schnorrsig_verify(ctx(), sig, msg32, 32, &xpk) == 1;
}

_Static_assert(sizeof(secp256k1_xonly_pubkey) == sizeof(((vl_parsed_pubkey *)0)->parsed),
               "vl_parsed_pubkey.parsed holds a secp256k1_xonly_pubkey");

int vl_parsed_pubkey_set(vl_parsed_pubkey *pk, const uint8_t pubkey[32])
{
    assert(pk != NULL && pubkey != NULL);
    memset(pk, 0, sizeof *pk);
    memcpy(pk->raw, pubkey, 32);
    secp256k1_xonly_pubkey xpk;
    if (!secp256k1_xonly_pubkey_parse(ctx(), &xpk, pubkey))
        return 0;
    memcpy(pk->parsed, &xpk, sizeof pk->parsed);
    pk->valid = 1;
    return 1;
}

int vl_verify_parsed(const uint8_t sig[64], const uint8_t msg32[32], const uint8_t pubkey[32],
                     const vl_parsed_pubkey *pk)
{
    assert(sig != NULL && msg32 != NULL && pubkey != NULL);
    if (pk == NULL || pk->valid != 1 || memcmp(pk->raw, pubkey, 32) != 0)
        return vl_verify(sig, msg32, pubkey);
    secp256k1_xonly_pubkey xpk;
    memcpy(&xpk, pk->parsed, sizeof xpk);
    return secp256k1_schnorrsig_verify(ctx(), sig, msg32, 32, &xpk) == 1;
}

int vl_pubkey_valid(const uint8_t pubkey[32])
{
    assert(pubkey != NULL);
    secp256k1_xonly_pubkey xpk;
    return secp256k1_xonly_pubkey_parse(ctx(), &xpk, pubkey) == 1;
}

/* ---- account ids --------------------------------------------------------------- */

void vl_issuer_account_id(uint8_t out[32], const uint8_t issuer_pubkey[32])
{
    vl_tagged_hash(out, VL_TAG_ISSUER_ID, issuer_pubkey, 32);
}

void vl_voucher_account_id(uint8_t out[32], const uint8_t issuer_pubkey[32], uint64_t serial)
{
    uint8_t buf[40];
    memcpy(buf, issuer_pubkey, 32);
    for (int i = 0; i < 8; i++)
        buf[32 + i] = (uint8_t)(serial >> (8 * i));
    vl_tagged_hash(out, VL_TAG_VOUCHER_ID, buf, sizeof buf);
}

/* ---- Merkle tree ------------------------------------------------------------------ */

/* A node over n >= 2 leaves (note 5). */
static void merkle_node(uint8_t out[32], const uint8_t left[32], const uint8_t right[32],
                        uint32_t n)
{
    uint8_t buf[68];
    memcpy(buf, left, 32);
    memcpy(buf + 32, right, 32);
    for (int i = 0; i < 4; i++)
        buf[64 + i] = (uint8_t)(n >> (8 * i));
    vl_tagged_hash(out, VL_TAG_MERKLE, buf, sizeof buf);
}

/* Largest power of two strictly less than n (n >= 2). */
static uint32_t split_point(uint32_t n)
{
    assert(n >= 2);
    uint32_t k = 1;
    while (k < n - k) /* 2k < n, without overflowing for n > 2^31 */
        k *= 2;
    return k;
}

/* Recursion depth is at most VL_MAX_MERKLE_DEPTH (n <= VL_MAX_BATCH_ORDERS). */
static void merkle_root_rec(uint8_t root[32], const uint8_t (*leaves)[32], uint32_t n)
{
    if (n == 1) {
        memmove(root, leaves[0], 32);
        return;
    }
    uint32_t k = split_point(n);
    uint8_t left[32], right[32];
    merkle_root_rec(left, leaves, k);
    merkle_root_rec(right, leaves + k, n - k);
    merkle_node(root, left, right, n);
}

void vl_merkle_root(uint8_t root[32], const uint8_t (*leaves)[32], uint32_t n)
{
    assert(root != NULL && leaves != NULL);
    assert(n >= 1 && n <= VL_MAX_BATCH_ORDERS);
    merkle_root_rec(root, leaves, n);
}

uint32_t vl_merkle_path_len(uint32_t index, uint32_t n)
{
    assert(index < n);
    uint32_t len = 0;
    /* Each step halves (at least) the subtree size: bounded by 32 steps. */
    while (n > 1) {
        uint32_t k = split_point(n);
        if (index < k) {
            n = k;
        } else {
            index -= k;
            n -= k;
        }
        len++;
    }
    return len;
}

/* RFC 6962 PATH(m, D[n]): the deeper part first, then this level's sibling,
 * so the result is ordered nearest the leaf first. */
static uint32_t merkle_path_rec(uint8_t (*path)[32], const uint8_t (*leaves)[32], uint32_t n,
                                uint32_t index)
{
    if (n == 1)
        return 0;
    uint32_t k = split_point(n);
    uint32_t len;
    if (index < k) {
        len = merkle_path_rec(path, leaves, k, index);
        merkle_root_rec(path[len], leaves + k, n - k);
    } else {
        len = merkle_path_rec(path, leaves + k, n - k, index - k);
        merkle_root_rec(path[len], leaves, k);
    }
    return len + 1;
}

uint32_t vl_merkle_path(uint8_t (*path)[32], const uint8_t (*leaves)[32], uint32_t n,
                        uint32_t index)
{
    assert(leaves != NULL);
    assert(n >= 1 && n <= VL_MAX_BATCH_ORDERS && index < n);
    assert(path != NULL || n == 1);
    uint32_t len = merkle_path_rec(path, leaves, n, index);
    assert(len == vl_merkle_path_len(index, n));
    return len;
}

vl_err vl_merkle_root_from_path(uint8_t root[32], const uint8_t leaf[32], uint32_t index,
                                uint32_t n, const uint8_t (*path)[32], uint32_t path_len)
{
    assert(root != NULL && leaf != NULL);
    assert(path != NULL || path_len == 0);
    if (n == 0 || n > VL_MAX_BATCH_ORDERS || index >= n ||
        path_len != vl_merkle_path_len(index, n)) {
        memset(root, 0, 32);
        return VL_ERR_BAD_PATH;
    }
    /* Walk down (note 6): level d (0 = top) is the node over size[d]
     * leaves, and the leaf lies in its right part when right[d]. */
    uint32_t size[VL_MAX_MERKLE_DEPTH];
    uint8_t right[VL_MAX_MERKLE_DEPTH];
    uint32_t depth = 0, m = n, i = index;
    while (m > 1) {
        assert(depth < path_len && path_len <= VL_MAX_MERKLE_DEPTH);
        uint32_t k = split_point(m);
        size[depth] = m;
        right[depth] = i >= k;
        if (i < k) {
            m = k;
        } else {
            i -= k;
            m -= k;
        }
        depth++;
    }
    assert(depth == path_len);
    /* Fold up: path[0] is the sibling at the deepest level. */
    uint8_t r[32];
    memcpy(r, leaf, 32);
    for (uint32_t j = 0; j < path_len; j++) {
        uint32_t d = path_len - 1 - j;
        if (right[d])
            merkle_node(r, path[j], r, size[d]);
        else
            merkle_node(r, r, path[j], size[d]);
    }
    memcpy(root, r, 32);
    return VL_OK;
}

/* ---- hex ---------------------------------------------------------------------- */

void vl_hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    assert(out != NULL && (in != NULL || len == 0));
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

vl_err vl_hex_decode(uint8_t *out, size_t len, const char *hex)
{
    assert(out != NULL || len == 0);
    if (hex == NULL || strnlen(hex, 2 * len + 1) != 2 * len) {
        if (len > 0)
            memset(out, 0, len);
        return VL_ERR_RANGE;
    }
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            memset(out, 0, len);
            return VL_ERR_RANGE;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return VL_OK;
}
