/* crypto_test.c - wire/vl_crypto.c against known answers.
 *
 *  - BIP-340's official test vectors (tests/vectors/bip340-test-vectors.csv,
 *    verbatim): every signing vector reproduces its signature byte for byte
 *    (libsecp256k1 signs with the given aux_rand), every verification vector
 *    gives its expected result.
 *  - tests/vectors/crypto.txt, written by tests/vectors/gen_vectors.py from
 *    Python's hashlib alone: tagged hashes of fixed inputs in every VL_TAG_*
 *    domain, issuer and voucher account ids, vote leaves (vl_vote_leaf, of
 *    one and of two signatures), Merkle roots and every audit path for 1..9
 *    leaves (and a few paths of large trees).  Every line of the file must
 *    be checked by this test.
 *  - Merkle paths verify back to their root; a wrong index, size, length or
 *    hash does not.  Flipping any bit of a signature, message or public key
 *    makes verification fail.
 *
 * The vectors directory comes from $VL_TEST_VECTORS (ctest sets it), or
 * ../vectors next to this source file.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_crypto.h"
#include "vl_limits.h"
#include "vl_test.h"
#include "vl_wire.h" /* vl_vote_leaf */

/* ---- the vectors file ---------------------------------------------------- */

#define MAX_VECTORS 512
#define MAX_NAME 64
#define MAX_VALUE (VL_MAX_MERKLE_DEPTH * 32)

typedef struct {
    char name[MAX_NAME];
    uint8_t value[MAX_VALUE];
    size_t len;
    int used;
} vector;

static vector vectors[MAX_VECTORS];
static size_t vector_count;

static void vectors_path(char *out, size_t cap, const char *file)
{
    const char *dir = getenv("VL_TEST_VECTORS");
    if (dir != NULL && dir[0] != '\0') {
        snprintf(out, cap, "%s/%s", dir, file);
        return;
    }
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    int dlen = slash != NULL ? (int)(slash - src) : 1;
    snprintf(out, cap, "%.*s/../vectors/%s", dlen, slash != NULL ? src : ".", file);
}

static FILE *open_vectors(const char *file)
{
    char path[1024];
    vectors_path(path, sizeof path, file);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fprintf(stderr, "cannot open %s\n", path);
    return f;
}

static int load_vectors(void)
{
    FILE *f = open_vectors("crypto.txt");
    if (f == NULL)
        return -1;
    char line[2048], name[MAX_NAME], hex[1024];
    while (fgets(line, sizeof line, f) != NULL && vector_count < MAX_VECTORS) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%63s %1023s", name, hex) != 2)
            return fclose(f), -1;
        vector *v = &vectors[vector_count++];
        snprintf(v->name, sizeof v->name, "%s", name);
        v->len = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
        if (v->len > MAX_VALUE || (v->len > 0 && vl_hex_decode(v->value, v->len, hex) != VL_OK))
            return fclose(f), -1;
    }
    fclose(f);
    return 0;
}

/* The expected value named by the printf-style name; NULL (and a failed
 * check) when the file has no such line. */
static const vector *expect(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const vector *expect(const char *fmt, ...)
{
    char name[MAX_NAME];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < vector_count; i++) {
        if (strcmp(vectors[i].name, name) == 0) {
            vectors[i].used = 1;
            return &vectors[i];
        }
    }
    fprintf(stderr, "vector %s missing\n", name);
    CHECK(0);
    return NULL;
}

#define CHECK_VEC(v, buf, n)                                                   \
    do {                                                                       \
        const vector *v_ = (v);                                                \
        CHECK(v_ != NULL && v_->len == (n) && memcmp(v_->value, (buf), (n)) == 0); \
    } while (0)

/* ---- tagged hashes and ids ------------------------------------------------------ */

static void test_tagged_hashes(void)
{
    static const struct {
        const char *short_name, *tag;
    } tags[] = {
        {"genesis", VL_TAG_GENESIS},         {"order", VL_TAG_ORDER},
        {"vote", VL_TAG_VOTE},               {"vote-leaf", VL_TAG_VOTE_LEAF},
        {"merkle", VL_TAG_MERKLE},
        {"certificate", VL_TAG_CERTIFICATE}, {"entry", VL_TAG_ENTRY},
        {"checkpoint", VL_TAG_CHECKPOINT},   {"issuer-id", VL_TAG_ISSUER_ID},
        {"voucher-id", VL_TAG_VOUCHER_ID},   {"state-digest", VL_TAG_STATE_DIGEST},
    };
    uint8_t seq[200], out[32], other[32];
    for (size_t i = 0; i < sizeof seq; i++)
        seq[i] = (uint8_t)i;
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        vl_tagged_hash(out, tags[t].tag, NULL, 0);
        CHECK_VEC(expect("tag.%s.empty", tags[t].short_name), out, 32);
        vl_tagged_hash(out, tags[t].tag, (const uint8_t *)"abc", 3);
        CHECK_VEC(expect("tag.%s.abc", tags[t].short_name), out, 32);
        vl_tagged_hash(out, tags[t].tag, seq, 64);
        CHECK_VEC(expect("tag.%s.seq64", tags[t].short_name), out, 32);
        vl_tagged_hash(out, tags[t].tag, seq, 200);
        CHECK_VEC(expect("tag.%s.seq200", tags[t].short_name), out, 32);
        /* Domains differ: the same message never hashes alike in two. */
        for (size_t u = t + 1; u < sizeof tags / sizeof tags[0]; u++) {
            vl_tagged_hash(other, tags[u].tag, seq, 200);
            CHECK(memcmp(out, other, 32) != 0);
        }
    }
}

static void test_account_ids(void)
{
    static const uint64_t serials[] = {0, 1, 255, 256, (1ull << 32) + 5, UINT64_MAX};
    uint8_t out[32], other[32];
    for (int i = 0; i < 4; i++) {
        const vector *pk = expect("pubkey.%d", i);
        if (pk == NULL || pk->len != 32)
            continue;
        CHECK(vl_pubkey_valid(pk->value));
        vl_issuer_account_id(out, pk->value);
        CHECK_VEC(expect("issuer_id.%d", i), out, 32);
        for (size_t s = 0; s < sizeof serials / sizeof serials[0]; s++) {
            vl_voucher_account_id(other, pk->value, serials[s]);
            CHECK_VEC(expect("voucher_id.%d.%llu", i, (unsigned long long)serials[s]), other,
                      32);
            CHECK(memcmp(out, other, 32) != 0);
        }
    }
}

/* A vote leaf covers the order hash and exactly the order's sig_count
 * signatures: the inputs below are gen_vectors.py's (checked against the
 * file too), the leaves its plain-hashlib answers. */
static void test_vote_leaf(void)
{
    vl_order *o = calloc(1, sizeof *o);
    uint8_t order_hash[32], leaf[32], other[32];
    for (int i = 0; i < 32; i++)
        order_hash[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++) {
        o->sigs[0][i] = (uint8_t)(0x40 + i);
        o->sigs[1][i] = (uint8_t)(0xC0 ^ i);
    }
    CHECK_VEC(expect("vote_leaf.order_hash"), order_hash, 32);
    CHECK_VEC(expect("vote_leaf.sig.0"), o->sigs[0], 64);
    CHECK_VEC(expect("vote_leaf.sig.1"), o->sigs[1], 64);
    o->kind = VL_ORDER_REDEEM; /* two signatures */
    o->sig_count = 2;
    vl_vote_leaf(leaf, order_hash, o);
    CHECK_VEC(expect("vote_leaf.2"), leaf, 32);
    o->kind = VL_ORDER_ISSUE; /* one: whatever sits in the unused slot is not hashed */
    o->sig_count = 1;
    vl_vote_leaf(leaf, order_hash, o);
    CHECK_VEC(expect("vote_leaf.1"), leaf, 32);
    memset(o->sigs[1], 0xEE, 64);
    vl_vote_leaf(other, order_hash, o);
    CHECK_MEM(other, leaf, 32);
    /* Neither the order hash nor its bare tagged hash: a leaf is not an
     * order hash, and any other signature bit is another leaf. */
    CHECK(memcmp(leaf, order_hash, 32) != 0);
    vl_tagged_hash(other, VL_TAG_VOTE_LEAF, order_hash, 32);
    CHECK(memcmp(leaf, other, 32) != 0);
    int same = 0;
    for (int bit = 0; bit < 512; bit++) {
        o->sigs[0][bit / 8] ^= (uint8_t)(1u << (bit % 8));
        vl_vote_leaf(other, order_hash, o);
        same += memcmp(other, leaf, 32) == 0;
        o->sigs[0][bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK(same == 0);
    free(o);
}

/* ---- BIP-340 --------------------------------------------------------------------- */

/* Split a CSV line into at most n fields in place. */
static int split_csv(char *line, char **fields, int n)
{
    int k = 0;
    char *p = line;
    while (k < n) {
        fields[k++] = p;
        char *c = strchr(p, ',');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    return k;
}

static void bip340_row(char **f, int *signed_rows, int *verify_rows)
{
    uint8_t sk[32], pk[32], aux[32], msg[32], sig[64], out[64];
    int want = strcmp(f[6], "TRUE") == 0;
    CHECK(vl_hex_decode(pk, 32, f[2]) == VL_OK);
    CHECK(vl_hex_decode(msg, 32, f[4]) == VL_OK);
    CHECK(vl_hex_decode(sig, 64, f[5]) == VL_OK);
    if (f[1][0] != '\0') {
        vl_keypair kp;
        CHECK(vl_hex_decode(sk, 32, f[1]) == VL_OK);
        CHECK(vl_hex_decode(aux, 32, f[3]) == VL_OK);
        CHECK_ERR(vl_keypair_from_secret(&kp, sk), VL_OK);
        CHECK_MEM(kp.pubkey, pk, 32);
        vl_sign(out, &kp, msg, aux);
        if (memcmp(out, sig, 64) != 0)
            fprintf(stderr, "BIP-340 vector %s: signature differs\n", f[0]);
        CHECK_MEM(out, sig, 64);
        if (memcmp(aux, (uint8_t[32]){0}, 32) == 0) {
            /* The header's deterministic variant (aux_rand NULL) is
             * BIP-340 with 32 zero bytes of aux_rand. */
            vl_sign(out, &kp, msg, NULL);
            CHECK_MEM(out, sig, 64);
        }
        vl_keypair_wipe(&kp);
        (*signed_rows)++;
    }
    if (vl_verify(sig, msg, pk) != want)
        fprintf(stderr, "BIP-340 vector %s: verify != %s (%s)\n", f[0], f[6], f[7]);
    CHECK(vl_verify(sig, msg, pk) == want);
    (*verify_rows)++;
}

static void test_bip340(void)
{
    FILE *f = open_vectors("bip340-test-vectors.csv");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    char line[1024], *fields[8] = {0};
    int signed_rows = 0, verify_rows = 0, failing = 0;
    CHECK(fgets(line, sizeof line, f) != NULL); /* header */
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        CHECK(split_csv(line, fields, 8) == 8);
        failing += strcmp(fields[6], "FALSE") == 0;
        bip340_row(fields, &signed_rows, &verify_rows);
    }
    fclose(f);
    CHECK(signed_rows >= 4);
    CHECK(verify_rows >= 15);
    CHECK(failing >= 9);
    /* Vectors 5 and 14: public keys that are not valid x-only keys. */
    uint8_t pk[32];
    CHECK(vl_hex_decode(pk, 32, "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34") == VL_OK);
    CHECK(!vl_pubkey_valid(pk));
    CHECK(vl_hex_decode(pk, 32, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30") == VL_OK);
    CHECK(!vl_pubkey_valid(pk));
}

/* Every single-bit change of signature, message or key fails. */
static void test_bit_flips(void)
{
    vl_keypair kp;
    uint8_t secret[32], msg[32], sig[64], aux[32] = {7};
    for (int i = 0; i < 32; i++) {
        secret[i] = (uint8_t)(0x11 * (i + 1));
        msg[i] = (uint8_t)(0xA0 ^ i);
    }
    CHECK_ERR(vl_keypair_from_secret(&kp, secret), VL_OK);
    vl_sign(sig, &kp, msg, aux);
    CHECK(vl_verify(sig, msg, kp.pubkey));
    int sig_ok = 0, msg_ok = 0, key_ok = 0;
    for (int bit = 0; bit < 512; bit++) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        sig_ok += vl_verify(sig, msg, kp.pubkey);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (int bit = 0; bit < 256; bit++) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        msg_ok += vl_verify(sig, msg, kp.pubkey);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        kp.pubkey[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        key_ok += vl_verify(sig, msg, kp.pubkey);
        kp.pubkey[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK(sig_ok == 0);
    CHECK(msg_ok == 0);
    CHECK(key_ok == 0);
    CHECK(vl_verify(sig, msg, kp.pubkey)); /* restored */
    vl_keypair_wipe(&kp);
}

/* ---- keys, randomness, wiping ------------------------------------------------- */

static void test_keys(void)
{
    static const char *order_n = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";
    static const uint8_t zero[32];
    uint8_t secret[32], sig[64], msg[32] = {1}, sig2[64];
    vl_keypair kp, kp2;
    memset(secret, 0, sizeof secret);
    memset(&kp, 0xAA, sizeof kp);
    CHECK_ERR(vl_keypair_from_secret(&kp, secret), VL_ERR_BAD_KEY);
    CHECK_MEM(kp.secret, zero, 32);
    CHECK_MEM(kp.pubkey, zero, 32);
    CHECK(vl_hex_decode(secret, 32, order_n) == VL_OK);
    CHECK_ERR(vl_keypair_from_secret(&kp, secret), VL_ERR_BAD_KEY);
    secret[31] = 0x40; /* n - 1 */
    CHECK_ERR(vl_keypair_from_secret(&kp, secret), VL_OK);

    CHECK_ERR(vl_keypair_generate(&kp), VL_OK);
    CHECK_ERR(vl_keypair_generate(&kp2), VL_OK);
    CHECK(memcmp(kp.secret, kp2.secret, 32) != 0);
    CHECK(vl_pubkey_valid(kp.pubkey));
    vl_sign(sig, &kp, msg, NULL);
    vl_sign(sig2, &kp, msg, NULL);
    CHECK_MEM(sig, sig2, 64); /* NULL aux_rand: deterministic */
    CHECK(vl_verify(sig, msg, kp.pubkey));
    CHECK(!vl_verify(sig, msg, kp2.pubkey));
    vl_keypair_wipe(&kp);
    CHECK_MEM(kp.secret, zero, 32);
    vl_keypair_wipe(&kp2);

    uint8_t r1[64], r2[64];
    CHECK_ERR(vl_random(r1, sizeof r1), VL_OK);
    CHECK_ERR(vl_random(r2, sizeof r2), VL_OK);
    CHECK(memcmp(r1, r2, sizeof r1) != 0);
    vl_wipe(r1, sizeof r1);
    CHECK(memcmp(r1, (uint8_t[64]){0}, 64) == 0);
}

static void test_hex(void)
{
    uint8_t in[4] = {0x00, 0x9f, 0xA5, 0xff}, out[4];
    char hex[9];
    vl_hex_encode(hex, in, 4);
    CHECK(strcmp(hex, "009fa5ff") == 0);
    CHECK_ERR(vl_hex_decode(out, 4, "009FA5fF"), VL_OK);
    CHECK_MEM(out, in, 4);
    static const char *bad[] = {"009fa5f", "009fa5ff0", "009fa5fg", "", " 09fa5ff", "0x9fa5ff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 0xEE, sizeof out);
        CHECK_ERR(vl_hex_decode(out, 4, bad[i]), VL_ERR_RANGE);
        CHECK(memcmp(out, (uint8_t[4]){0}, 4) == 0);
    }
    CHECK_ERR(vl_hex_decode(out, 4, NULL), VL_ERR_RANGE);
    vl_hex_encode(hex, in, 0);
    CHECK(hex[0] == '\0');
}

/* ---- Merkle ------------------------------------------------------------------------- */

#define LEAVES_MAX VL_MAX_BATCH_ORDERS
static uint8_t leaves[LEAVES_MAX][32];

static void make_leaves(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint8_t le[8];
        for (int b = 0; b < 8; b++)
            le[b] = (uint8_t)((uint64_t)i >> (8 * b));
        vl_tagged_hash(leaves[i], VL_TAG_ORDER, le, 8);
    }
}

/* Every way to get one leaf's proof wrong is rejected. */
static void merkle_negative(const uint8_t root[32], uint32_t i, uint32_t n,
                            uint8_t (*path)[32], uint32_t len)
{
    uint8_t r[32];
    if (n > 1) {
        uint32_t j = (i + 1) % n;
        vl_err e = vl_merkle_root_from_path(r, leaves[i], j, n, (const uint8_t(*)[32])path, len);
        CHECK(e != VL_OK || memcmp(r, root, 32) != 0);
    }
    CHECK_ERR(vl_merkle_root_from_path(r, leaves[i], n, n, (const uint8_t(*)[32])path, len),
              VL_ERR_BAD_PATH);
    CHECK_ERR(vl_merkle_root_from_path(r, leaves[i], i, n, (const uint8_t(*)[32])path, len + 1),
              VL_ERR_BAD_PATH);
    CHECK(memcmp(r, (uint8_t[32]){0}, 32) == 0);
    if (len > 0)
        CHECK_ERR(vl_merkle_root_from_path(r, leaves[i], i, n, (const uint8_t(*)[32])path,
                                           len - 1), VL_ERR_BAD_PATH);
    /* Any other (index, size) pair: the steps may agree (leaf 0 of 5 and of
     * 7; leaf 4 of 5 and leaf 2 of 3), but the root binds the size. */
    for (uint32_t m = 1; m <= n + 4; m++) {
        for (uint32_t j = 0; j < m; j++) {
            if (m == n && j == i)
                continue;
            vl_err e = vl_merkle_root_from_path(r, leaves[i], j, m,
                                                (const uint8_t(*)[32])path, len);
            CHECK(e != VL_OK || memcmp(r, root, 32) != 0);
        }
    }
    for (uint32_t bit = 0; bit < len * 256; bit++) { /* any flipped path bit */
        path[bit / 256][(bit % 256) / 8] ^= (uint8_t)(1u << (bit % 8));
        vl_err e = vl_merkle_root_from_path(r, leaves[i], i, n, (const uint8_t(*)[32])path, len);
        CHECK(e == VL_OK && memcmp(r, root, 32) != 0);
        path[bit / 256][(bit % 256) / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    uint8_t other[32];
    memcpy(other, leaves[i], 32);
    other[0] ^= 1;
    vl_err e = vl_merkle_root_from_path(r, other, i, n, (const uint8_t(*)[32])path, len);
    CHECK(e == VL_OK && memcmp(r, root, 32) != 0);
}

static void merkle_check_leaf(const uint8_t root[32], uint32_t i, uint32_t n, int negative)
{
    uint8_t path[VL_MAX_MERKLE_DEPTH][32], r[32];
    uint32_t len = vl_merkle_path(path, (const uint8_t(*)[32])leaves, n, i);
    CHECK(len == vl_merkle_path_len(i, n));
    CHECK(len <= VL_MAX_MERKLE_DEPTH);
    CHECK_VEC(expect("merkle.%u.%u.path", n, i), path, len * 32);
    CHECK_ERR(vl_merkle_root_from_path(r, leaves[i], i, n, (const uint8_t(*)[32])path, len),
              VL_OK);
    CHECK_MEM(r, root, 32);
    if (negative)
        merkle_negative(root, i, n, path, len);
}

static void test_merkle(void)
{
    uint8_t root[32], r[32];
    make_leaves(LEAVES_MAX);
    for (uint32_t n = 1; n <= 9; n++) {
        vl_merkle_root(root, (const uint8_t(*)[32])leaves, n);
        CHECK_VEC(expect("merkle.%u.root", n), root, 32);
        for (uint32_t i = 0; i < n; i++)
            merkle_check_leaf(root, i, n, 1);
    }
    /* A batch of one: the root is its leaf (a vote leaf), the path is empty. */
    vl_merkle_root(root, (const uint8_t(*)[32])leaves, 1);
    CHECK_MEM(root, leaves[0], 32);
    CHECK(vl_merkle_path_len(0, 1) == 0);
    static const struct {
        uint32_t n, idx[4];
    } large[] = {{1000, {0, 511, 512, 999}}, {4096, {0, 1, 2048, 4095}}};
    for (size_t t = 0; t < 2; t++) {
        vl_merkle_root(root, (const uint8_t(*)[32])leaves, large[t].n);
        CHECK_VEC(expect("merkle.%u.root", large[t].n), root, 32);
        for (int k = 0; k < 4; k++)
            merkle_check_leaf(root, large[t].idx[k], large[t].n, 0);
    }
    CHECK(vl_merkle_path_len(0, VL_MAX_BATCH_ORDERS) == VL_MAX_MERKLE_DEPTH);
    /* Any u32 size terminates (a decoder may ask before checking limits). */
    CHECK(vl_merkle_path_len(0, UINT32_MAX) == 32);
    CHECK(vl_merkle_path_len(UINT32_MAX - 1, UINT32_MAX) == 31);
    CHECK(vl_merkle_path_len(0, (1u << 31) + 1) == 32);
    CHECK(vl_merkle_path_len((1u << 31), (1u << 31) + 1) == 1);
    CHECK(vl_merkle_path_len(VL_MAX_BATCH_ORDERS - 1, VL_MAX_BATCH_ORDERS) == VL_MAX_MERKLE_DEPTH);
    /* Sizes outside 1..VL_MAX_BATCH_ORDERS never verify. */
    CHECK_ERR(vl_merkle_root_from_path(r, leaves[0], 0, 0, NULL, 0), VL_ERR_BAD_PATH);
    CHECK_ERR(vl_merkle_root_from_path(r, leaves[0], 0, VL_MAX_BATCH_ORDERS + 1,
                                       (const uint8_t(*)[32])leaves, 13), VL_ERR_BAD_PATH);
    CHECK_ERR(vl_merkle_root_from_path(r, leaves[0], UINT32_MAX, UINT32_MAX, NULL, 0),
              VL_ERR_BAD_PATH);
}

/* vl_verify_parsed (docs/performance.md, change 4): a key parsed once is
 * used only for the very bytes it was parsed from; any other key (a genesis
 * edited after it was loaded) is parsed again, never trusted. */
static void test_parsed_keys(void)
{
    vl_keypair a, b;
    vl_parsed_pubkey pa, bad;
    uint8_t msg[32] = {9}, sa[64], sb[64], junk[32];
    CHECK_ERR(vl_keypair_generate(&a), VL_OK);
    CHECK_ERR(vl_keypair_generate(&b), VL_OK);
    vl_sign(sa, &a, msg, NULL);
    vl_sign(sb, &b, msg, NULL);
    CHECK(vl_parsed_pubkey_set(&pa, a.pubkey) == 1);
    CHECK(vl_verify_parsed(sa, msg, a.pubkey, &pa));
    CHECK(vl_verify_parsed(sa, msg, a.pubkey, NULL));
    CHECK(!vl_verify_parsed(sb, msg, a.pubkey, &pa));
    /* key b with a's parsed key beside it: b's bytes are what count */
    CHECK(vl_verify_parsed(sb, msg, b.pubkey, &pa));
    CHECK(!vl_verify_parsed(sa, msg, b.pubkey, &pa));
    /* a parsed key that is not a key verifies nothing */
    memset(junk, 0xFF, sizeof junk);
    CHECK(vl_parsed_pubkey_set(&bad, junk) == 0);
    CHECK(!bad.valid);
    CHECK(!vl_verify_parsed(sa, msg, junk, &bad));
    CHECK(vl_verify_parsed(sa, msg, a.pubkey, &bad)); /* other bytes: parsed afresh */
    msg[0] ^= 1;
    CHECK(!vl_verify_parsed(sa, msg, a.pubkey, &pa));
    vl_keypair_wipe(&a);
    vl_keypair_wipe(&b);
}

int main(void)
{
    CHECK(load_vectors() == 0);
    CHECK(vector_count > 100);
    test_tagged_hashes();
    test_account_ids();
    test_vote_leaf();
    test_bip340();
    test_bit_flips();
    test_keys();
    test_parsed_keys();
    test_hex();
    test_merkle();
    for (size_t i = 0; i < vector_count; i++) {
        if (!vectors[i].used)
            fprintf(stderr, "vector %s not checked\n", vectors[i].name);
        CHECK(vectors[i].used);
    }
    VL_TEST_END();
}
