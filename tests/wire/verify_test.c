/* verify_test.c - wire/vl_verify.c: orders, certificates, batch votes and
 * checkpoints checked against a genesis built here (4 voters, f = 1, so
 * q = 3, plus 1 observer; 2 issuers; 2 providers; fixed keys).
 *
 * Voters vote in different batches over the same five orders, so the
 * certificates carry paths of different shapes: voters 0, 1 and the
 * observer sign batch A (the five orders in order), voter 2 batch B (the
 * five reversed), voter 3 batch C (nine leaves: the orders interleaved with
 * four other hashes).  A batch's leaves are the orders' vote leaves
 * (vl_vote_leaf: the order hash and signature bytes), as a voter builds them.
 * vl_cert_verify_vouched is checked against vl_cert_verify: the same answers
 * but for the order's signatures, which it leaves to the votes.
 *
 * Known answers: tests/vectors/orders.txt holds the encoding, order hash and
 * signatures of three fully specified orders (fixed keys, fixed fields,
 * deterministic signatures).  Set VL_PRINT_VECTORS=1 to print the current
 * values in that file's format (to regenerate it after a deliberate format
 * change, never to make a failing test pass).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_test.h"
#include "vl_verify.h"
#include "vl_wire.h"

#define NODES 5   /* node 4 is the observer */
#define VOTERS 4
#define NORD 5    /* orders in the small batches */
#define BIG 100   /* orders in the cache test's batch */

static vl_genesis *g;
static vl_keypair node_kp[NODES], issuer_kp[3], provider_kp[3], holder_kp[2];
/* issuer_kp[2] and provider_kp[2] are not in the genesis */

static void key_from(vl_keypair *kp, const char *role, int i)
{
    uint8_t msg[64], secret[32];
    int n = snprintf((char *)msg, sizeof msg, "%s-%d", role, i);
    vl_tagged_hash(secret, "voucher-ledger/test/key", msg, (size_t)n);
    CHECK_ERR(vl_keypair_from_secret(kp, secret), VL_OK);
}

static void fill_node(vl_gen_node *n, int i)
{
    snprintf(n->id, sizeof n->id, "node-%d", i);
    n->region = i % 2 ? 310000 : 520000;
    memcpy(n->pubkey, node_kp[i].pubkey, 32);
    vl_tagged_hash(n->curve_pubkey, "voucher-ledger/test/curve", (const uint8_t *)n->id,
                   strlen(n->id));
    snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://127.0.0.1:%d", 7001 + i);
    snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://127.0.0.1:%d", 7101 + i);
    n->role = i < VOTERS ? VL_ROLE_VOTER : VL_ROLE_OBSERVER;
}

static void make_genesis(void)
{
    static const char *issuer_ids[] = {"beijing", "shanghai"};
    static const char *provider_ids[] = {"guizhou-dc1", "ningxia-dc1"};
    g = calloc(1, sizeof *g);
    snprintf(g->network, sizeof g->network, "verify-test");
    g->max_faulty = 1;
    g->node_count = NODES;
    for (int i = 0; i < NODES; i++) {
        key_from(&node_kp[i], "node", i);
        fill_node(&g->nodes[i], i);
    }
    g->issuer_count = 2;
    g->provider_count = 2;
    for (int i = 0; i < 3; i++) {
        key_from(&issuer_kp[i], "issuer", i);
        key_from(&provider_kp[i], "provider", i);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(g->issuers[i].id, sizeof g->issuers[i].id, "%s", issuer_ids[i]);
        g->issuers[i].region = i ? 310000 : 110000;
        memcpy(g->issuers[i].pubkey, issuer_kp[i].pubkey, 32);
        g->issuers[i].budget_fen = 60000000000u;
        snprintf(g->providers[i].id, sizeof g->providers[i].id, "%s", provider_ids[i]);
        g->providers[i].region = i ? 640000 : 520000;
        memcpy(g->providers[i].pubkey, provider_kp[i].pubkey, 32);
        key_from(&holder_kp[i], "holder", i);
    }
    char err[256];
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_OK);
    CHECK(g->quorum == 3 && g->voter_count == VOTERS);
    for (int i = 0; i < NODES; i++) /* ids sort as created: index == i */
        CHECK(vl_genesis_node_by_pubkey(g, node_kp[i].pubkey) == i);
}

/* ---- orders ------------------------------------------------------------- */

static const vl_bytes program = {(const uint8_t *)"sh-2026-ai-compute", 18};
static const vl_bytes reason = {(const uint8_t *)"fraud", 5};

static void make_issue(vl_order *o, const uint8_t net[32], const vl_keypair *issuer,
                       uint64_t seq, uint16_t count)
{
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, net, 32);
    o->kind = VL_ORDER_ISSUE;
    o->seq = seq;
    memcpy(o->issuer, issuer->pubkey, 32);
    o->voucher_count = count;
    for (uint16_t k = 0; k < count; k++) {
        vl_voucher_spec *v = &o->vouchers[k];
        v->serial = 1000 + k;
        memcpy(v->holder, holder_kp[k % 2].pubkey, 32);
        v->value_fen = 5000000 + k;
        v->valid_from_s = 1767225600;  /* 2026-01-01 */
        v->valid_until_s = 1798761600; /* 2027-01-01 */
        v->subsidy_bp = 8000;
        v->program = program;
    }
    vl_order_sign_slot(o, 0, issuer, NULL);
}

static void make_redeem(vl_order *o, const uint8_t net[32], const vl_keypair *issuer,
                        uint64_t serial, const vl_keypair *holder, const vl_keypair *provider,
                        uint64_t amount)
{
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, net, 32);
    o->kind = VL_ORDER_REDEEM;
    o->seq = 1;
    memcpy(o->issuer, issuer->pubkey, 32);
    o->serial = serial;
    memcpy(o->holder, holder->pubkey, 32);
    o->amount_fen = amount;
    memcpy(o->provider, provider->pubkey, 32);
    vl_tagged_hash(o->invoice_hash, "voucher-ledger/test/invoice", (const uint8_t *)&amount,
                   sizeof amount);
    o->gpu_milli_hours = 12500;
    vl_order_sign_slot(o, 0, holder, NULL);
    vl_order_sign_slot(o, 1, provider, NULL);
}

static void make_revoke(vl_order *o, const uint8_t net[32], const vl_keypair *issuer,
                        uint64_t serial)
{
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, net, 32);
    o->kind = VL_ORDER_REVOKE;
    o->seq = 2;
    memcpy(o->issuer, issuer->pubkey, 32);
    o->serial = serial;
    o->reason = reason;
    vl_order_sign_slot(o, 0, issuer, NULL);
}

/* ---- batches and certificates -------------------------------------------- */

typedef struct {
    uint32_t n;
    int idx[16]; /* order index of each leaf, -1 for a filler leaf */
    uint8_t leaves[16][32];
    uint8_t root[32];
    uint8_t sig[NODES][64]; /* by each node that signs this batch */
} batch;

static vl_order *orders;       /* NORD orders */
static uint8_t ohash[NORD][32];
static uint8_t vleaf[NORD][32]; /* their vote leaves */
static batch batch_a, batch_b, batch_c;
static const batch *node_batch[NODES];

static void sign_batch(batch *b)
{
    uint8_t msg[32];
    vl_merkle_root(b->root, (const uint8_t(*)[32])b->leaves, b->n);
    vl_vote_message(msg, b->root);
    for (int v = 0; v < NODES; v++)
        vl_sign(b->sig[v], &node_kp[v], msg, NULL);
}

static void make_orders(void)
{
    orders = calloc(NORD, sizeof *orders);
    make_issue(&orders[0], g->network_id, &issuer_kp[0], 0, 2);
    make_redeem(&orders[1], g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0],
                150000);
    make_revoke(&orders[2], g->network_id, &issuer_kp[1], 1001);
    make_issue(&orders[3], g->network_id, &issuer_kp[1], 7, 1);
    make_redeem(&orders[4], g->network_id, &issuer_kp[1], 1000, &holder_kp[1], &provider_kp[1],
                99);
    for (int k = 0; k < NORD; k++) {
        vl_order_hash(ohash[k], &orders[k]);
        vl_vote_leaf(vleaf[k], ohash[k], &orders[k]);
    }
    batch_a.n = batch_b.n = NORD;
    for (int k = 0; k < NORD; k++) {
        batch_a.idx[k] = k;
        batch_b.idx[k] = NORD - 1 - k;
        memcpy(batch_a.leaves[k], vleaf[k], 32);
        memcpy(batch_b.leaves[k], vleaf[NORD - 1 - k], 32);
    }
    batch_c.n = 9;
    for (uint32_t i = 0; i < 9; i++) {
        batch_c.idx[i] = i % 2 == 0 ? (int)(i / 2) : -1;
        if (i % 2 == 0)
            memcpy(batch_c.leaves[i], vleaf[i / 2], 32);
        else
            vl_tagged_hash(batch_c.leaves[i], VL_TAG_ORDER, (const uint8_t *)&i, sizeof i);
    }
    sign_batch(&batch_a);
    sign_batch(&batch_b);
    sign_batch(&batch_c);
    node_batch[0] = node_batch[1] = node_batch[4] = &batch_a;
    node_batch[2] = &batch_b;
    node_batch[3] = &batch_c;
}

/* Append node v's vote on leaf `index` of batch b to c. */
static void add_vote(vl_cert *c, uint16_t v, const batch *b, uint32_t index)
{
    vl_cert_vote *cv = &c->votes[c->vote_count++];
    cv->voter = v;
    cv->leaf_index = index;
    cv->leaf_count = b->n;
    cv->path_len = (uint8_t)vl_merkle_path(cv->path, (const uint8_t(*)[32])b->leaves, b->n, index);
    memcpy(cv->sig, b->sig[v < NODES ? v : 0], 64);
}

/* Certificate of orders[k] with the votes of the listed nodes (ascending). */
static void make_cert(vl_cert *c, int k, const int *voters, int nv)
{
    memset(c, 0, sizeof *c);
    c->order = orders[k];
    for (int i = 0; i < nv; i++) {
        const batch *b = node_batch[voters[i]];
        uint32_t leaf = 0;
        while (b->idx[leaf] != k)
            leaf++;
        add_vote(c, (uint16_t)voters[i], b, leaf);
    }
}

/* Certificate of o, whatever its signature bytes, with the votes of voters
 * 0..3 on a batch of one leaf: o's vote leaf (so the votes cover exactly
 * the signature bytes o carries). */
static void make_cert_of(vl_cert *c, const vl_order *o)
{
    batch b = {.n = 1};
    uint8_t h[32];
    vl_order_hash(h, o);
    vl_vote_leaf(b.leaves[0], h, o);
    b.idx[0] = 0;
    sign_batch(&b);
    memset(c, 0, sizeof *c);
    c->order = *o;
    for (uint16_t v = 0; v < VOTERS; v++)
        add_vote(c, v, &b, 0);
    CHECK(c->votes[0].path_len == 0);
}

static uint8_t *encode_cert(const vl_cert *c, size_t *len)
{
    CHECK_ERR(vl_cert_encode(c, NULL, 0, len), VL_OK);
    uint8_t *buf = malloc(*len);
    CHECK_ERR(vl_cert_encode(c, buf, *len, len), VL_OK);
    return buf;
}

/* ---- certificates: accepted and refused ------------------------------------- */

static void test_valid(vl_cert *c, vl_cert *d)
{
    static const int all[] = {0, 1, 2, 3}, quorum[] = {0, 2, 3}, q2[] = {1, 2, 3};
    uint8_t h[32];
    for (int k = 0; k < NORD; k++) {
        CHECK_ERR(vl_order_verify(g, &orders[k], ohash[k]), VL_OK);
        make_cert(c, k, all, 4);
        memset(h, 0, sizeof h);
        CHECK_ERR(vl_cert_verify(g, c, NULL, h), VL_OK);
        CHECK_MEM(h, ohash[k], 32);
        /* Through the wire and back, as a peer receives it. */
        size_t len;
        uint8_t *buf = encode_cert(c, &len);
        CHECK_ERR(vl_cert_decode(buf, len, d), VL_OK);
        CHECK_ERR(vl_cert_verify(g, d, NULL, NULL), VL_OK);
        free(buf);
        make_cert(c, k, quorum, 3);
        CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_OK);
        make_cert(c, k, q2, 3);
        CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_OK);
    }
}

static void test_quorum_and_voters(vl_cert *c)
{
    static const int two[] = {0, 3}, one[] = {2}, with_obs[] = {0, 1, 2, 4};
    static const int obs_only[] = {1, 2, 4};
    make_cert(c, 1, two, 2);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_QUORUM);
    make_cert(c, 1, one, 1);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_QUORUM);
    /* An observer's vote: never counted, and the certificate is refused
     * even though voters 0, 1, 2 alone reach the quorum. */
    make_cert(c, 3, with_obs, 4);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_UNKNOWN_KEY);
    make_cert(c, 3, obs_only, 3);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_UNKNOWN_KEY);
    /* A voter index past the node list. */
    static const int base[] = {0, 1, 2};
    static const uint16_t past[] = {NODES, 63, 64, 65535};
    for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
        make_cert(c, 0, base, 3);
        add_vote(c, past[i], &batch_a, 0);
        CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_UNKNOWN_KEY);
    }
    /* Duplicate or unsorted voters in a hand-built struct. */
    make_cert(c, 0, base, 3);
    c->votes[2] = c->votes[1];
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_DUP_SIGNER);
    make_cert(c, 0, base, 3);
    vl_cert_vote tmp = c->votes[0];
    c->votes[0] = c->votes[1];
    c->votes[1] = tmp;
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_UNSORTED);
}

static void test_order_membership(vl_cert *c)
{
    vl_order *o = calloc(1, sizeof *o);
    uint8_t net[32], h[32];
    memcpy(net, g->network_id, 32);
    net[31] ^= 0x80;
    make_revoke(o, net, &issuer_kp[0], 5);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_WRONG_NETWORK);
    make_issue(o, g->network_id, &issuer_kp[2], 0, 1); /* not a genesis issuer */
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_UNKNOWN_ISSUER);
    make_redeem(o, g->network_id, &issuer_kp[2], 1, &holder_kp[0], &provider_kp[0], 5);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_UNKNOWN_ISSUER);
    make_redeem(o, g->network_id, &issuer_kp[0], 1, &holder_kp[0], &provider_kp[2], 5);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_UNKNOWN_PROVIDER);
    /* A genesis issuer's key is not a provider's. */
    make_redeem(o, g->network_id, &issuer_kp[0], 1, &holder_kp[0], &issuer_kp[1], 5);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_UNKNOWN_PROVIDER);
    /* The same refusals inside a certificate whose votes are all valid. */
    make_revoke(o, net, &issuer_kp[0], 5);
    make_cert_of(c, o);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_WRONG_NETWORK);
    make_revoke(o, g->network_id, &issuer_kp[0], 5); /* and with the right network: ok */
    make_cert_of(c, o);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_OK);
    free(o);
}

/* Every order signature must be by its signer, over this order. */
static void test_order_sigs(void)
{
    vl_order *o = calloc(1, sizeof *o);
    uint8_t h[32];
    /* Holder signature by the wrong key (another holder). */
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0], 7);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_OK);
    vl_order_sign_slot(o, 0, &holder_kp[1], NULL);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_BAD_SIG);
    /* Provider slot signed by the other genesis provider. */
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0], 7);
    vl_order_sign_slot(o, 1, &provider_kp[1], NULL);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_BAD_SIG);
    /* One slot at a time (a co-signer's check): the holder's is good, the
     * provider's bad, an empty one bad; membership first. */
    CHECK_ERR(vl_order_verify_slot(g, o, h, 0), VL_OK);
    CHECK_ERR(vl_order_verify_slot(g, o, h, 1), VL_ERR_BAD_SIG);
    memset(o->sigs[1], 0, 64);
    CHECK_ERR(vl_order_verify_slot(g, o, h, 1), VL_ERR_BAD_SIG);
    CHECK_ERR(vl_order_verify_slot(g, o, h, 0), VL_OK);
    o->network_id[0] ^= 1;
    CHECK_ERR(vl_order_verify_slot(g, o, h, 0), VL_ERR_WRONG_NETWORK);
    o->network_id[0] ^= 1;
    vl_order_sign_slot(o, 1, &provider_kp[0], NULL);
    CHECK_ERR(vl_order_verify_slot(g, o, h, 1), VL_OK);
    CHECK_ERR(vl_order_verify(g, o, h), VL_OK);
    vl_order_sign_slot(o, 0, &holder_kp[1], NULL);
    CHECK_ERR(vl_order_verify_slot(g, o, h, 0), VL_ERR_BAD_SIG);
    CHECK_ERR(vl_order_verify_slot(g, o, h, 1), VL_OK);
    /* Holder and provider signatures swapped. */
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0], 7);
    uint8_t tmp[64];
    memcpy(tmp, o->sigs[0], 64);
    memcpy(o->sigs[0], o->sigs[1], 64);
    memcpy(o->sigs[1], tmp, 64);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_BAD_SIG);
    /* A valid signature, but over another order's hash. */
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0], 8);
    memcpy(o->sigs[0], orders[1].sigs[0], 64);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_BAD_SIG);
    /* ISSUE by the other genesis issuer's key; REVOKE by the holder. */
    make_issue(o, g->network_id, &issuer_kp[0], 3, 1);
    vl_order_hash(h, o);
    vl_order_sign_slot(o, 0, &issuer_kp[1], NULL);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_BAD_SIG);
    make_revoke(o, g->network_id, &issuer_kp[1], 1001);
    vl_order_hash(h, o);
    vl_order_sign_slot(o, 0, &holder_kp[0], NULL);
    CHECK_ERR(vl_order_verify(g, o, h), VL_ERR_BAD_SIG);
    /* A signature made with aux_rand verifies like a deterministic one. */
    uint8_t aux[32] = {1, 2, 3};
    make_revoke(o, g->network_id, &issuer_kp[1], 1001);
    vl_order_sign_slot(o, 0, &issuer_kp[1], aux);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify(g, o, h), VL_OK);
    free(o);
}

/* Order signatures through the cache (vl_verify.c note 4): a second check
 * of the same order is a hit, and a warm cache never lets through what a
 * cold check refuses (a forged signature, a signature moved to the other
 * slot, a certificate carrying a tampered order). */
static void test_order_cache(vl_cert *c)
{
    vl_order *o = calloc(1, sizeof *o);
    vl_sigcache *cache = vl_sigcache_new(16);
    uint8_t h[32];
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0], 7);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_OK);
    CHECK(vl_sigcache_order_misses(cache) == 2 && vl_sigcache_order_hits(cache) == 0);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_OK);
    CHECK(vl_sigcache_order_misses(cache) == 2 && vl_sigcache_order_hits(cache) == 2);
    CHECK(vl_sigcache_hits(cache) == 0 && vl_sigcache_misses(cache) == 0); /* kept apart */
    /* Warm cache: another holder's signature in slot 0 is still refused. */
    vl_order_sign_slot(o, 0, &holder_kp[1], NULL);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_ERR_BAD_SIG);
    /* Warm cache: the two valid signatures swapped are refused. */
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0], 7);
    uint8_t tmp[64];
    memcpy(tmp, o->sigs[0], 64);
    memcpy(o->sigs[0], o->sigs[1], 64);
    memcpy(o->sigs[1], tmp, 64);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_ERR_BAD_SIG);
    /* Warm cache: one flipped bit in a signature is refused. */
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[0], 7);
    o->sigs[1][5] ^= 1u;
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_ERR_BAD_SIG);
    /* Membership is checked on every call, warm or not. */
    make_redeem(o, g->network_id, &issuer_kp[0], 1000, &holder_kp[0], &provider_kp[2], 7);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_ERR_UNKNOWN_PROVIDER);
    /* A certificate: verified cold, then warm (its order signatures hit),
     * then with one bit of its order's signature flipped: refused. */
    static const int three[] = {0, 1, 2};
    make_cert(c, 0, three, 3);
    uint64_t hits = vl_sigcache_order_hits(cache);
    CHECK_ERR(vl_cert_verify(g, c, cache, NULL), VL_OK);
    CHECK_ERR(vl_cert_verify(g, c, cache, NULL), VL_OK);
    CHECK(vl_sigcache_order_hits(cache) >= hits + vl_order_sig_count(c->order.kind));
    c->order.sigs[0][0] ^= 0x80u;
    CHECK_ERR(vl_cert_verify(g, c, cache, NULL), VL_ERR_BAD_SIG);
    vl_sigcache_destroy(&cache);
    free(o);
}

/* A certificate of one's own order (vl_verify.c note 6): accepted without
 * checking its order signatures again, only if it carries exactly the
 * submitted signature bytes; its votes are still checked. */
static void test_own_order(vl_cert *c)
{
    static const int three[] = {0, 1, 2}, two[] = {0, 1};
    vl_sigcache *cache = vl_sigcache_new(16);
    vl_own_order own;
    uint8_t h[32];
    for (int k = 0; k < NORD; k++) { /* ISSUE, REDEEM and REVOKE orders */
        vl_own_order_set(&own, &orders[k], ohash[k]);
        make_cert(c, k, three, 3);
        memset(h, 0, sizeof h);
        CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, h), VL_OK);
        CHECK_MEM(h, ohash[k], 32);
    }
    /* No order signature was looked up or verified. */
    CHECK(vl_sigcache_order_hits(cache) == 0 && vl_sigcache_order_misses(cache) == 0);
    /* REDEEM order 1: the node returns other signature bytes. */
    vl_own_order_set(&own, &orders[1], ohash[1]);
    make_cert(c, 1, three, 3);
    c->order.sigs[0][9] ^= 1u; /* garbage: refused, as vl_cert_verify refuses it */
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_CORRUPT);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
    make_cert(c, 1, three, 3);
    c->order.sigs[1][63] ^= 0x40u;
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_CORRUPT);
    /* A valid holder signature with other randomness, voted on as it is:
     * not the bytes we signed, so refused too (vl_cert_verify accepts it). */
    vl_order *o = calloc(1, sizeof *o);
    *o = orders[1];
    uint8_t aux[32];
    memset(aux, 0x5a, sizeof aux);
    vl_order_sign_slot(o, 0, &holder_kp[0], aux);
    CHECK(memcmp(o->sigs[0], orders[1].sigs[0], 64) != 0);
    make_cert_of(c, o);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_OK);
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_CORRUPT);
    free(o);
    /* The certificate of another order. */
    make_cert(c, 4, three, 3);
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_CORRUPT);
    /* Votes, quorum and membership are still checked. */
    make_cert(c, 1, three, 3);
    c->votes[1].sig[3] ^= 1u;
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_BAD_SIG);
    make_cert(c, 1, two, 2);
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_QUORUM);
    make_cert(c, 1, three, 3);
    c->votes[2].leaf_index = c->votes[2].leaf_count; /* past the batch */
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_BAD_PATH);
    make_cert(c, 1, three, 3);
    memcpy(c->order.provider, provider_kp[2].pubkey, 32); /* not in the genesis */
    vl_order_hash(h, &c->order);
    vl_own_order_set(&own, &c->order, h);
    CHECK_ERR(vl_cert_verify_own(g, c, cache, &own, NULL), VL_ERR_UNKNOWN_PROVIDER);
    vl_sigcache_destroy(&cache);
}

/* ---- certificates the quorum vouches for (vl_verify.c note 8) ------------------ */

/* Both verifiers give `want` for certificate c. */
#define CHECK_BOTH(c, want)                                                    \
    do {                                                                       \
        CHECK_ERR(vl_cert_verify_vouched(g, (c), NULL, NULL), (want));         \
        CHECK_ERR(vl_cert_verify(g, (c), NULL, NULL), (want));                 \
    } while (0)

/* Who signs slot s of orders[k] (make_orders). */
static const vl_keypair *order_signer(int k, unsigned s)
{
    switch (k) {
    case 0: return &issuer_kp[0];
    case 1: return s == 0 ? &holder_kp[0] : &provider_kp[0];
    case 2: return &issuer_kp[1];
    case 3: return &issuer_kp[1];
    default: return s == 0 ? &holder_kp[1] : &provider_kp[1];
    }
}

/* Valid certificates are accepted without an order signature being looked
 * up or verified. */
static void test_vouched_valid(vl_cert *c, vl_cert *d)
{
    static const int all[] = {0, 1, 2, 3}, quorum[] = {0, 2, 3};
    vl_sigcache *cache = vl_sigcache_new(64);
    uint8_t h[32];
    for (int k = 0; k < NORD; k++) {
        make_cert(c, k, quorum, 3);
        memset(h, 0, sizeof h);
        CHECK_ERR(vl_cert_verify_vouched(g, c, NULL, h), VL_OK);
        CHECK_MEM(h, ohash[k], 32);
        CHECK_ERR(vl_cert_verify_vouched(g, c, cache, NULL), VL_OK);
        CHECK_ERR(vl_cert_verify_vouched(g, c, cache, NULL), VL_OK); /* warm */
        make_cert(c, k, all, 4); /* through the wire and back */
        size_t len;
        uint8_t *buf = encode_cert(c, &len);
        CHECK_ERR(vl_cert_decode(buf, len, d), VL_OK);
        CHECK_ERR(vl_cert_verify_vouched(g, d, cache, NULL), VL_OK);
        free(buf);
    }
    CHECK(vl_sigcache_order_hits(cache) == 0 && vl_sigcache_order_misses(cache) == 0);
    CHECK(vl_sigcache_misses(cache) > 0 && vl_sigcache_hits(cache) > 0); /* votes, cached */
    vl_sigcache_destroy(&cache);
}

/* Garbage order signatures that the votes were made over are accepted.
 * That is by design, not a hole: vl_cert_verify_vouched never verifies
 * client signatures; it relies on at least one of the q voters being honest
 * and having checked exactly these bytes before voting, which no honest
 * voter does for garbage (here the test's voters sign whatever they are
 * given).  vl_cert_verify, which trusts no quorum, refuses them. */
static void test_vouched_garbage_voted(vl_cert *c)
{
    vl_order *o = calloc(1, sizeof *o);
    uint8_t h[32];
    for (int k = 0; k < NORD; k++) {
        *o = orders[k];
        for (unsigned s = 0; s < o->sig_count; s++)
            memset(o->sigs[s], 0xA5 + (int)s, 64);
        make_cert_of(c, o);
        memset(h, 0, sizeof h);
        CHECK_ERR(vl_cert_verify_vouched(g, c, NULL, h), VL_OK);
        CHECK_MEM(h, ohash[k], 32);
        CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
    }
    *o = orders[1]; /* one bit of the provider's signature, voted on */
    o->sigs[1][63] ^= 0x40u;
    make_cert_of(c, o);
    CHECK_ERR(vl_cert_verify_vouched(g, c, NULL, NULL), VL_OK);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
    free(o);
}

/* Signature bytes changed after the vote, to garbage or to another valid
 * signature of the same order by the same key: every vote's path now
 * starts from another leaf and leads to a root no voter signed, so both
 * verifiers refuse, warm cache or not.  The path itself recomputes fine,
 * so the refusal is the vote signatures' (VL_ERR_BAD_SIG, not
 * VL_ERR_BAD_PATH); vl_cert_verify stops at the order's own signature
 * first for garbage, with the same code. */
static void test_vouched_changed_after_vote(vl_cert *c)
{
    static const int quorum[] = {0, 2, 3};
    vl_sigcache *cache = vl_sigcache_new(64);
    uint8_t aux[32];
    memset(aux, 0x3c, sizeof aux);
    for (int k = 0; k < NORD; k++) {
        make_cert(c, k, quorum, 3);
        CHECK_ERR(vl_cert_verify_vouched(g, c, cache, NULL), VL_OK); /* warm the cache */
        for (unsigned s = 0; s < orders[k].sig_count; s++) {
            make_cert(c, k, quorum, 3);
            c->order.sigs[s][17] ^= 0x08u; /* garbage */
            CHECK_ERR(vl_cert_verify_vouched(g, c, cache, NULL), VL_ERR_BAD_SIG);
            CHECK_BOTH(c, VL_ERR_BAD_SIG);
            make_cert(c, k, quorum, 3);
            vl_order_sign_slot(&c->order, s, order_signer(k, s), aux);
            CHECK(memcmp(c->order.sigs[s], orders[k].sigs[s], 64) != 0);
            CHECK_ERR(vl_order_verify(g, &c->order, ohash[k]), VL_OK); /* a valid order */
            CHECK_ERR(vl_cert_verify_vouched(g, c, cache, NULL), VL_ERR_BAD_SIG);
            CHECK_ERR(vl_cert_verify(g, c, cache, NULL), VL_ERR_BAD_SIG);
            CHECK_BOTH(c, VL_ERR_BAD_SIG);
        }
    }
    vl_sigcache_destroy(&cache);
}

/* Membership, quorum, voters and paths apply under vouched exactly as
 * under vl_cert_verify (certificates whose votes are all valid). */
static void test_vouched_members_and_votes(vl_cert *c)
{
    static const int two[] = {0, 3}, with_obs[] = {0, 1, 2, 4}, quorum[] = {0, 2, 3};
    vl_order *o = calloc(1, sizeof *o);
    uint8_t net[32];
    memcpy(net, g->network_id, 32);
    net[0] ^= 1u;
    make_revoke(o, net, &issuer_kp[0], 5);
    make_cert_of(c, o);
    CHECK_BOTH(c, VL_ERR_WRONG_NETWORK);
    make_issue(o, g->network_id, &issuer_kp[2], 0, 1); /* not a genesis issuer */
    make_cert_of(c, o);
    CHECK_BOTH(c, VL_ERR_UNKNOWN_ISSUER);
    make_redeem(o, g->network_id, &issuer_kp[2], 1, &holder_kp[0], &provider_kp[0], 5);
    make_cert_of(c, o);
    CHECK_BOTH(c, VL_ERR_UNKNOWN_ISSUER);
    make_redeem(o, g->network_id, &issuer_kp[0], 1, &holder_kp[0], &provider_kp[2], 5);
    make_cert_of(c, o);
    CHECK_BOTH(c, VL_ERR_UNKNOWN_PROVIDER);
    make_redeem(o, g->network_id, &issuer_kp[0], 1, &holder_kp[0], &issuer_kp[1], 5);
    make_cert_of(c, o); /* an issuer's key as the provider */
    CHECK_BOTH(c, VL_ERR_UNKNOWN_PROVIDER);
    make_revoke(o, g->network_id, &issuer_kp[0], 5); /* the control: accepted */
    make_cert_of(c, o);
    CHECK_BOTH(c, VL_OK);
    make_cert(c, 1, quorum, 3); /* a REDEEM claiming one signature */
    c->order.sig_count = 1;
    CHECK_BOTH(c, VL_ERR_NONCANONICAL);
    make_cert(c, 1, two, 2);
    CHECK_BOTH(c, VL_ERR_QUORUM);
    make_cert(c, 3, with_obs, 4);
    CHECK_BOTH(c, VL_ERR_UNKNOWN_KEY);
    make_cert(c, 0, quorum, 3);
    c->votes[2] = c->votes[1];
    CHECK_BOTH(c, VL_ERR_DUP_SIGNER);
    make_cert(c, 0, quorum, 3);
    c->votes[1].leaf_index = c->votes[1].leaf_count;
    CHECK_BOTH(c, VL_ERR_BAD_PATH);
    make_cert(c, 0, quorum, 3);
    c->votes[1].sig[5] ^= 1u;
    CHECK_BOTH(c, VL_ERR_BAD_SIG);
    free(o);
}

/* Parsed holder keys in the cache (vl_verify.c note 7): a holder's second
 * order finds its key parsed, and with the table warm (and over-full) every
 * answer is what an uncached check gives. */
static void test_holder_keys(void)
{
    enum { HOLDERS = 200 }; /* more than the 64 slots of a small cache */
    vl_order *o = calloc(1, sizeof *o);
    vl_keypair *hk = calloc(HOLDERS, sizeof *hk);
    vl_sigcache *cache = vl_sigcache_new(16);
    uint8_t h[32];
    for (int i = 0; i < HOLDERS; i++)
        key_from(&hk[i], "holder-keycache", i);
    make_redeem(o, g->network_id, &issuer_kp[0], 1, &hk[0], &provider_kp[0], 10);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_OK);
    CHECK(vl_sigcache_key_misses(cache) == 1 && vl_sigcache_key_hits(cache) == 0);
    /* The same holder's next order: its signature is new, its key is not. */
    make_redeem(o, g->network_id, &issuer_kp[0], 2, &hk[0], &provider_kp[0], 11);
    vl_order_hash(h, o);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_OK);
    CHECK(vl_sigcache_key_misses(cache) == 1 && vl_sigcache_key_hits(cache) == 1);
    /* Every holder twice over, and wrong signatures among them: the cached
     * answer is always the uncached one. */
    int mismatches = 0, refused = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < HOLDERS; i++) {
            make_redeem(o, g->network_id, &issuer_kp[0], (uint64_t)(100 + i), &hk[i],
                        &provider_kp[0], (uint64_t)(round * 1000 + i + 1));
            if (i % 3 == 1) /* signed by the next holder, not this one */
                vl_order_sign_slot(o, 0, &hk[(i + 1) % HOLDERS], NULL);
            vl_order_hash(h, o);
            vl_err cold = vl_order_verify(g, o, h), warm = vl_order_verify_cached(g, o, h, cache);
            mismatches += cold != warm;
            refused += warm == VL_ERR_BAD_SIG;
        }
    CHECK(mismatches == 0);
    CHECK(refused == 2 * (HOLDERS / 3 + (HOLDERS % 3 > 1)));
    CHECK(vl_sigcache_key_hits(cache) > 2); /* some survived in 64 slots */
    /* A holder key that is not a curve point is refused, never stored. */
    make_redeem(o, g->network_id, &issuer_kp[0], 9, &hk[0], &provider_kp[0], 12);
    memset(o->holder, 0xff, 32);
    vl_order_hash(h, o);
    uint64_t misses = vl_sigcache_key_misses(cache);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_ERR_BAD_SIG);
    CHECK_ERR(vl_order_verify_cached(g, o, h, cache), VL_ERR_BAD_SIG);
    CHECK(vl_sigcache_key_misses(cache) == misses + 2);
    vl_sigcache_destroy(&cache);
    for (int i = 0; i < HOLDERS; i++)
        vl_keypair_wipe(&hk[i]);
    free(hk);
    free(o);
}

static void test_paths(vl_cert *c)
{
    static const int all[] = {0, 1, 2, 3};
    make_cert(c, 0, all, 4); /* order 0: leaf 0 of 5 (A), 4 of 5 (B), 0 of 9 (C) */
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_OK);
    c->votes[1].leaf_index = c->votes[1].leaf_count;
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_PATH);
    make_cert(c, 0, all, 4);
    c->votes[0].path_len++;
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_PATH);
    make_cert(c, 0, all, 4);
    c->votes[3].path_len = 13; /* past the path array */
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_PATH);
    make_cert(c, 0, all, 4);
    c->votes[3].leaf_count = VL_MAX_BATCH_ORDERS + 1;
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_PATH);
    /* A path that is well formed but leads elsewhere: the signature over the
     * root it leads to does not exist. */
    make_cert(c, 0, all, 4);
    CHECK(c->votes[3].path_len == 4);
    c->votes[3].path[1][5] ^= 0x10;
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
    /* The same steps under another leaf count (leaf 0 of 5 and of 7 both go
     * left three times): the root binds the count, so this fails. */
    make_cert(c, 0, all, 4);
    CHECK(c->votes[0].leaf_count == 5 && c->votes[0].path_len == 3);
    c->votes[0].leaf_count = 7;
    CHECK(vl_merkle_path_len(0, 7) == 3);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
    /* And leaf 4 of 5 (one step, from the right) as leaf 2 of 3. */
    make_cert(c, 0, all, 4);
    CHECK(c->votes[2].leaf_index == 4 && c->votes[2].path_len == 1);
    c->votes[2].leaf_index = 2;
    c->votes[2].leaf_count = 3;
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
    /* One bad vote signature among four, the other three a quorum. */
    make_cert(c, 0, all, 4);
    c->votes[3].sig[10] ^= 1;
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
    /* A vote signed by another voter's key. */
    make_cert(c, 0, all, 4);
    memcpy(c->votes[1].sig, batch_a.sig[0], 64);
    CHECK_ERR(vl_cert_verify(g, c, NULL, NULL), VL_ERR_BAD_SIG);
}

/* Flip every bit of the encoding of a small certificate: whatever still
 * decodes must not verify, with a cold cache and with a warm one, nor pass
 * vl_cert_verify_vouched (which does not check the order's signatures: a
 * flip there changes the vote leaf, so the votes fail). */
static void flip_all_bits(const vl_cert *c, vl_cert *d, vl_sigcache *cache)
{
    size_t len;
    uint8_t *buf = encode_cert(c, &len);
    int decoded = 0, accepted = 0, vouched = 0;
    for (size_t bit = 0; bit < len * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (vl_cert_decode(buf, len, d) == VL_OK) {
            decoded++;
            if (vl_cert_verify(g, d, cache, NULL) == VL_OK) {
                accepted++;
                fprintf(stderr, "bit %zu flipped: certificate still verifies\n", bit);
            }
            if (vl_cert_verify_vouched(g, d, cache, NULL) == VL_OK) {
                vouched++;
                fprintf(stderr, "bit %zu flipped: certificate still vouched for\n", bit);
            }
        }
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK(accepted == 0);
    CHECK(vouched == 0);
    CHECK(decoded > 0); /* the test reaches the verifier, not only the decoder */
    CHECK_ERR(vl_cert_decode(buf, len, d), VL_OK);
    CHECK_ERR(vl_cert_verify(g, d, cache, NULL), VL_OK);
    CHECK_ERR(vl_cert_verify_vouched(g, d, cache, NULL), VL_OK);
    free(buf);
}

static void test_bit_flips(vl_cert *c, vl_cert *d)
{
    static const int three[] = {1, 2, 3};
    make_cert(c, 2, three, 3); /* the REVOKE: the smallest order */
    vl_sigcache *cache = vl_sigcache_new(64);
    CHECK(cache != NULL);
    flip_all_bits(c, d, NULL);
    CHECK_ERR(vl_cert_verify(g, c, cache, NULL), VL_OK); /* warm it */
    uint64_t misses = vl_sigcache_misses(cache);
    flip_all_bits(c, d, cache);
    CHECK(vl_sigcache_misses(cache) > misses);
    vl_sigcache_destroy(&cache);
    CHECK(cache == NULL);
    vl_sigcache_destroy(&cache); /* NULL is fine */
}

/* ---- the signature cache ---------------------------------------------------- */

static vl_order *big;      /* BIG orders, voted in one batch */
static vl_cert *big_certs; /* one per order, all four voters */
static uint8_t big_root[32], big_sig[VOTERS][64];

static void make_big_batch(void)
{
    static uint8_t leaves[BIG][32];
    big = calloc(BIG, sizeof *big);
    big_certs = calloc(BIG, sizeof *big_certs);
    for (int k = 0; k < BIG; k++) {
        make_redeem(&big[k], g->network_id, &issuer_kp[k % 2], 2000 + (uint64_t)k,
                    &holder_kp[k % 2], &provider_kp[k % 2], 100 + (uint64_t)k);
        uint8_t h[32];
        vl_order_hash(h, &big[k]);
        vl_vote_leaf(leaves[k], h, &big[k]);
    }
    vl_merkle_root(big_root, (const uint8_t(*)[32])leaves, BIG);
    uint8_t msg[32];
    vl_vote_message(msg, big_root);
    for (int v = 0; v < VOTERS; v++)
        vl_sign(big_sig[v], &node_kp[v], msg, NULL);
    for (int k = 0; k < BIG; k++) {
        vl_cert *c = &big_certs[k];
        c->order = big[k];
        for (int v = 0; v < VOTERS; v++) {
            vl_cert_vote *cv = &c->votes[c->vote_count++];
            cv->voter = (uint16_t)v;
            cv->leaf_index = (uint32_t)k;
            cv->leaf_count = BIG;
            cv->path_len = (uint8_t)vl_merkle_path(cv->path, (const uint8_t(*)[32])leaves, BIG,
                                                   (uint32_t)k);
            memcpy(cv->sig, big_sig[v], 64);
        }
    }
}

static void test_cache_batch(void)
{
    vl_sigcache *cache = vl_sigcache_new(1024);
    CHECK(cache != NULL);
    int ok = 0;
    for (int k = 0; k < BIG; k++)
        ok += vl_cert_verify(g, &big_certs[k], cache, NULL) == VL_OK;
    CHECK(ok == BIG);
    /* One Schnorr verification per voter for the whole batch. */
    CHECK(vl_sigcache_misses(cache) == VOTERS);
    CHECK(vl_sigcache_hits(cache) == (uint64_t)BIG * VOTERS - VOTERS);
    /* The batch vote itself is now a hit. */
    vl_batch_vote bv = {.voter = 1};
    memcpy(bv.root, big_root, 32);
    memcpy(bv.sig, big_sig[1], 64);
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_OK);
    CHECK(vl_sigcache_hits(cache) == (uint64_t)BIG * VOTERS - VOTERS + 1);
    /* A warm cache does not excuse a bad signature: same voter and root,
     * other signature bytes. */
    vl_cert *c = calloc(1, sizeof *c);
    *c = big_certs[7];
    c->votes[2].sig[63] ^= 0x01;
    CHECK_ERR(vl_cert_verify(g, c, cache, NULL), VL_ERR_BAD_SIG);
    *c = big_certs[7];
    c->votes[0].path[0][0] ^= 0x01;
    CHECK_ERR(vl_cert_verify(g, c, cache, NULL), VL_ERR_BAD_SIG);
    CHECK_ERR(vl_cert_verify(g, &big_certs[7], cache, NULL), VL_OK);
    free(c);
    vl_sigcache_destroy(&cache);
}

static void test_batch_votes(void)
{
    vl_sigcache *cache = vl_sigcache_new(8);
    vl_batch_vote bv = {.voter = 3};
    memcpy(bv.root, batch_c.root, 32);
    memcpy(bv.sig, batch_c.sig[3], 64);
    CHECK_ERR(vl_batch_vote_verify(g, &bv, NULL), VL_OK);
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_OK);
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_OK);
    CHECK(vl_sigcache_misses(cache) == 1 && vl_sigcache_hits(cache) == 1);
    bv.sig[0] ^= 0x80;
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_ERR_BAD_SIG);
    bv.sig[0] ^= 0x80;
    bv.root[31] ^= 1;
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_ERR_BAD_SIG);
    bv.root[31] ^= 1;
    bv.voter = 2; /* another voter's key */
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_ERR_BAD_SIG);
    bv.voter = 4; /* the observer, with its own valid signature */
    memcpy(bv.sig, batch_c.sig[4], 64);
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_ERR_UNKNOWN_KEY);
    bv.voter = NODES;
    CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_ERR_UNKNOWN_KEY);
    vl_sigcache_destroy(&cache);
}

/* FIFO eviction against a model: CAP entries, lookups of NKEYS distinct
 * (voter, root) pairs in a pseudo-random order biased to recent ones. */
#define CAP 16
#define NKEYS 48
static void test_cache_eviction(void)
{
    static uint8_t roots[NKEYS][32], sigs[NKEYS][64];
    int model[CAP], head = 0, count = 0;
    for (int i = 0; i < NKEYS; i++) {
        uint8_t msg[32];
        vl_tagged_hash(roots[i], VL_TAG_MERKLE, (const uint8_t *)&i, sizeof i);
        vl_vote_message(msg, roots[i]);
        vl_sign(sigs[i], &node_kp[i % VOTERS], msg, NULL);
    }
    vl_sigcache *cache = vl_sigcache_new(CAP);
    uint64_t x = 0x243f6a8885a308d3u, hits = 0, misses = 0;
    int mismatches = 0;
    for (int step = 0; step < 2000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int key = (int)((x >> 8) % (step % 3 == 0 ? NKEYS : CAP + 4));
        vl_batch_vote bv = {.voter = (uint16_t)(key % VOTERS)};
        memcpy(bv.root, roots[key], 32);
        memcpy(bv.sig, sigs[key], 64);
        int in_model = 0;
        for (int i = 0; i < count; i++)
            in_model |= model[i] == key;
        if (in_model) {
            hits++;
        } else {
            misses++;
            model[head] = key;
            head = (head + 1) % CAP;
            count += count < CAP;
        }
        CHECK_ERR(vl_batch_vote_verify(g, &bv, cache), VL_OK);
        mismatches += vl_sigcache_hits(cache) != hits || vl_sigcache_misses(cache) != misses;
    }
    CHECK(mismatches == 0);
    CHECK(hits > 100 && misses > 100);
    vl_sigcache_destroy(&cache);
    cache = vl_sigcache_new(1); /* the smallest cache still works */
    CHECK_ERR(vl_cert_verify(g, &big_certs[0], cache, NULL), VL_OK);
    CHECK_ERR(vl_cert_verify(g, &big_certs[1], cache, NULL), VL_OK);
    CHECK(vl_sigcache_misses(cache) == 2 * VOTERS);
    vl_sigcache_destroy(&cache);
}

/* Several threads sharing one cache get the same answers. */
static vl_sigcache *shared;
static void *verify_all(void *arg)
{
    int *ok = arg;
    for (int k = 0; k < BIG; k++)
        *ok += vl_cert_verify(g, &big_certs[(k * 7) % BIG], shared, NULL) == VL_OK;
    return NULL;
}

static void test_cache_threads(void)
{
    pthread_t t[4];
    int ok[4] = {0};
    shared = vl_sigcache_new(256);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, verify_all, &ok[i]) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(ok[i] == BIG);
    }
    uint64_t misses = vl_sigcache_misses(shared), hits = vl_sigcache_hits(shared);
    CHECK(hits + misses == 4u * BIG * VOTERS);
    CHECK(misses >= VOTERS && misses <= 4 * VOTERS);
    vl_sigcache_destroy(&shared);
}

/* ---- checkpoints ------------------------------------------------------------- */

static void make_checkpoint(vl_checkpoint *cp, int node)
{
    memset(cp, 0, sizeof *cp);
    memcpy(cp->network_id, g->network_id, 32);
    cp->node = (uint16_t)node;
    cp->log_index = 42;
    memset(cp->entry_hash, 0xE1, 32);
    memset(cp->state_digest, 0x5D, 32);
    cp->time_ms = 1767225600123u;
    vl_checkpoint_sign(cp, &node_kp[node], NULL);
}

static void test_checkpoints(void)
{
    vl_checkpoint cp, d;
    make_checkpoint(&cp, 2);
    CHECK_ERR(vl_checkpoint_verify(g, &cp), VL_OK);
    make_checkpoint(&cp, 4); /* observers sign checkpoints too */
    CHECK_ERR(vl_checkpoint_verify(g, &cp), VL_OK);
    uint8_t buf[512];
    size_t len;
    CHECK_ERR(vl_checkpoint_encode(&cp, buf, sizeof buf, &len), VL_OK);
    int decoded = 0, accepted = 0;
    for (size_t bit = 0; bit < len * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (vl_checkpoint_decode(buf, len, &d) == VL_OK) {
            decoded++;
            accepted += vl_checkpoint_verify(g, &d) == VL_OK;
        }
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK(accepted == 0);
    CHECK(decoded > 0);
    make_checkpoint(&cp, 1);
    cp.network_id[0] ^= 1;
    CHECK_ERR(vl_checkpoint_verify(g, &cp), VL_ERR_WRONG_NETWORK);
    make_checkpoint(&cp, 1);
    cp.node = NODES;
    CHECK_ERR(vl_checkpoint_verify(g, &cp), VL_ERR_UNKNOWN_KEY);
    make_checkpoint(&cp, 1);
    cp.node = 0; /* node 1's signature, claimed as node 0's */
    CHECK_ERR(vl_checkpoint_verify(g, &cp), VL_ERR_BAD_SIG);
    make_checkpoint(&cp, 1);
    cp.log_index++;
    CHECK_ERR(vl_checkpoint_verify(g, &cp), VL_ERR_BAD_SIG);
}

/* ---- known-answer orders ------------------------------------------------------ */

#define KAT_MAX 64
static struct {
    char name[64];
    uint8_t value[2048];
    size_t len;
} kat[KAT_MAX];
static size_t kat_count;
static int print_vectors;

static void load_kat(void)
{
    char path[1024], line[8192], name[64], hex[4200];
    const char *dir = getenv("VL_TEST_VECTORS");
    if (dir != NULL && dir[0] != '\0') {
        snprintf(path, sizeof path, "%s/orders.txt", dir);
    } else {
        const char *slash = strrchr(__FILE__, '/');
        snprintf(path, sizeof path, "%.*s/../vectors/orders.txt",
                 slash != NULL ? (int)(slash - __FILE__) : 1, slash != NULL ? __FILE__ : ".");
    }
    FILE *f = fopen(path, "r");
    CHECK(f != NULL || print_vectors);
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL && kat_count < KAT_MAX) {
        if (line[0] == '#' || sscanf(line, "%63s %4199s", name, hex) != 2)
            continue;
        snprintf(kat[kat_count].name, sizeof kat[0].name, "%s", name);
        kat[kat_count].len = strlen(hex) / 2;
        CHECK(kat[kat_count].len <= sizeof kat[0].value);
        CHECK_ERR(vl_hex_decode(kat[kat_count].value, kat[kat_count].len, hex), VL_OK);
        kat_count++;
    }
    fclose(f);
}

/* Compare (or, when printing, print) the named known answer. */
static void check_kat(const char *name, const uint8_t *v, size_t len)
{
    if (print_vectors) {
        char hex[4200];
        CHECK(len * 2 < sizeof hex);
        vl_hex_encode(hex, v, len);
        printf("%s %s\n", name, hex);
        return;
    }
    for (size_t i = 0; i < kat_count; i++) {
        if (strcmp(kat[i].name, name) == 0) {
            if (kat[i].len != len || memcmp(kat[i].value, v, len) != 0)
                fprintf(stderr, "known answer %s differs\n", name);
            CHECK(kat[i].len == len && memcmp(kat[i].value, v, len) == 0);
            return;
        }
    }
    fprintf(stderr, "known answer %s missing\n", name);
    CHECK(0);
}

static void kat_keys(vl_keypair kp[3])
{
    static const char *names[] = {"kat.issuer.pubkey", "kat.holder.pubkey",
                                  "kat.provider.pubkey"};
    for (int i = 0; i < 3; i++) {
        uint8_t secret[32];
        memset(secret, 0x11 * (i + 1), sizeof secret); /* 0x11.., 0x22.., 0x33.. */
        CHECK_ERR(vl_keypair_from_secret(&kp[i], secret), VL_OK);
        check_kat(names[i], kp[i].pubkey, 32);
    }
}

static void kat_orders(vl_order *o, const vl_keypair kp[3])
{
    static const vl_bytes empty = {(const uint8_t *)"", 0};
    static const vl_bytes why = {(const uint8_t *)"duplicate application", 21};
    uint8_t net[32];
    for (int i = 0; i < 32; i++)
        net[i] = (uint8_t)i;
    memset(o, 0, 3 * sizeof *o);
    for (int k = 0; k < 3; k++) {
        memcpy(o[k].network_id, net, 32);
        memcpy(o[k].issuer, kp[0].pubkey, 32);
    }
    o[0].kind = VL_ORDER_ISSUE;
    o[0].seq = 3;
    o[0].voucher_count = 2;
    for (int i = 0; i < 2; i++) {
        vl_voucher_spec *v = &o[0].vouchers[i];
        v->serial = 1 + (uint64_t)i;
        memcpy(v->holder, kp[1].pubkey, 32);
        v->value_fen = i == 0 ? 10000000 : 2500000;
        v->valid_from_s = 1767225600;
        v->valid_until_s = 1798761600;
        v->subsidy_bp = i == 0 ? 8000 : 5000;
        v->program = i == 0 ? program : empty;
    }
    vl_order_sign_slot(&o[0], 0, &kp[0], NULL);
    o[1].kind = VL_ORDER_REDEEM;
    o[1].seq = 1;
    o[1].serial = 1;
    memcpy(o[1].holder, kp[1].pubkey, 32);
    o[1].amount_fen = 123456;
    memcpy(o[1].provider, kp[2].pubkey, 32);
    for (int i = 0; i < 32; i++)
        o[1].invoice_hash[i] = (uint8_t)(0xA0 + i);
    o[1].gpu_milli_hours = 48000;
    vl_order_sign_slot(&o[1], 0, &kp[1], NULL);
    vl_order_sign_slot(&o[1], 1, &kp[2], NULL);
    o[2].kind = VL_ORDER_REVOKE;
    o[2].seq = 2;
    o[2].serial = 2;
    o[2].reason = why;
    vl_order_sign_slot(&o[2], 0, &kp[0], NULL);
}

static void test_known_orders(void)
{
    static const char *kinds[] = {"issue", "redeem", "revoke"};
    vl_keypair kp[3];
    vl_order *o = calloc(4, sizeof *o);
    uint8_t enc[2048], enc2[2048], h[32], h2[32];
    char name[64];
    kat_keys(kp);
    kat_orders(o, kp);
    for (int k = 0; k < 3; k++) {
        size_t len, len2;
        CHECK_ERR(vl_order_encode(&o[k], enc, sizeof enc, &len), VL_OK);
        vl_order_hash(h, &o[k]);
        snprintf(name, sizeof name, "order.%s.encoding", kinds[k]);
        check_kat(name, enc, len);
        snprintf(name, sizeof name, "order.%s.hash", kinds[k]);
        check_kat(name, h, 32);
        /* order_hash covers the encoding up to, excluding, sig_count. */
        unsigned n = vl_order_sig_count(o[k].kind);
        CHECK(len > 1 + 64 * n && enc[len - 1 - 64 * n] == n);
        vl_tagged_hash(h2, VL_TAG_ORDER, enc, len - 1 - 64 * n);
        CHECK_MEM(h2, h, 32);
        /* The signatures verify, by the right keys. */
        CHECK(vl_verify(o[k].sigs[0], h, k == 1 ? kp[1].pubkey : kp[0].pubkey));
        CHECK(k != 1 || vl_verify(o[k].sigs[1], h, kp[2].pubkey));
        /* decode(encoding) re-encodes to the same bytes. */
        CHECK_ERR(vl_order_decode(enc, len, &o[3]), VL_OK);
        CHECK_ERR(vl_order_encode(&o[3], enc2, sizeof enc2, &len2), VL_OK);
        CHECK(len2 == len && memcmp(enc, enc2, len) == 0);
    }
    for (int i = 0; i < 3; i++)
        vl_keypair_wipe(&kp[i]);
    free(o);
}

int main(void)
{
    print_vectors = getenv("VL_PRINT_VECTORS") != NULL;
    load_kat();
    make_genesis();
    make_orders();
    test_known_orders();
    if (print_vectors)
        return 0;
    vl_cert *c = calloc(1, sizeof *c), *d = calloc(1, sizeof *d);
    test_valid(c, d);
    test_quorum_and_voters(c);
    test_order_membership(c);
    test_order_sigs();
    test_order_cache(c);
    test_own_order(c);
    test_vouched_valid(c, d);
    test_vouched_garbage_voted(c);
    test_vouched_changed_after_vote(c);
    test_vouched_members_and_votes(c);
    test_holder_keys();
    test_paths(c);
    test_bit_flips(c, d);
    make_big_batch();
    test_cache_batch();
    test_batch_votes();
    test_cache_eviction();
    test_cache_threads();
    test_checkpoints();
    free(c);
    free(d);
    free(orders);
    free(big);
    free(big_certs);
    free(g);
    VL_TEST_END();
}
