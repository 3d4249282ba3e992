/* vl_orderkit_test.c - the order builders of the client library
 * (tools/vl_orderkit.h): what they build is what the wire format says
 * (the known-answer orders of tests/vectors/orders.txt, rebuilt with the
 * kit), what they sign verifies with the right keys and only with them,
 * what they refuse they refuse with the documented code and a zeroed
 * order, and the defaults a retry depends on stay what docs/clients.md 3
 * says they are.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_orderkit.h"
#include "vl_test.h"
#include "vl_verify.h"
#include "vl_wire.h"

#define NODES 4
#define DAY_S 86400u

/* The keys of the known-answer orders: secrets 0x11.., 0x22.., 0x33..
 * (issuer, holder, provider), and 0x44.. for a key the genesis lacks. */
enum { K_ISSUER, K_HOLDER, K_PROVIDER, K_STRANGER, K_COUNT };
static vl_keypair kp[K_COUNT];
static vl_genesis *g;

static void make_genesis(void)
{
    vl_keypair node;
    uint8_t secret[32];
    for (int i = 0; i < K_COUNT; i++) {
        memset(secret, 0x11 * (i + 1), sizeof secret);
        CHECK_ERR(vl_keypair_from_secret(&kp[i], secret), VL_OK);
    }
    g = calloc(1, sizeof *g);
    snprintf(g->network, sizeof g->network, "orderkit-test");
    g->max_faulty = 1;
    g->node_count = NODES;
    for (int i = 0; i < NODES; i++) {
        vl_gen_node *n = &g->nodes[i];
        memset(secret, 0xA0 + i, sizeof secret);
        CHECK_ERR(vl_keypair_from_secret(&node, secret), VL_OK);
        snprintf(n->id, sizeof n->id, "node-%d", i);
        n->region = 310000;
        memcpy(n->pubkey, node.pubkey, 32);
        memset(n->curve_pubkey, 0xC0 + i, 32);
        snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://127.0.0.1:%d", 7001 + i);
        snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://127.0.0.1:%d", 7101 + i);
        n->role = VL_ROLE_VOTER;
    }
    g->issuer_count = 1;
    snprintf(g->issuers[0].id, sizeof g->issuers[0].id, "shanghai");
    g->issuers[0].region = 310000;
    memcpy(g->issuers[0].pubkey, kp[K_ISSUER].pubkey, 32);
    g->issuers[0].budget_fen = 60000000000u;
    g->provider_count = 1;
    snprintf(g->providers[0].id, sizeof g->providers[0].id, "guizhou-dc1");
    g->providers[0].region = 520000;
    memcpy(g->providers[0].pubkey, kp[K_PROVIDER].pubkey, 32);
    char err[256];
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_OK);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* ---- the known-answer orders, built with the kit -------------------------------------- */

/* tests/vectors/orders.txt entry `name` into out (at most cap bytes). */
static size_t vector(const char *name, uint8_t *out, size_t cap)
{
    char path[1024], line[8192], key[64], hex[4200];
    const char *dir = getenv("VL_TEST_VECTORS");
    size_t len = 0;
    snprintf(path, sizeof path, "%s/orders.txt", dir != NULL ? dir : "tests/vectors");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    while (f != NULL && len == 0 && fgets(line, sizeof line, f) != NULL)
        if (line[0] != '#' && sscanf(line, "%63s %4199s", key, hex) == 2 &&
            strcmp(key, name) == 0 && strlen(hex) / 2 <= cap &&
            vl_hex_decode(out, strlen(hex) / 2, hex) == VL_OK)
            len = strlen(hex) / 2;
    if (f != NULL)
        fclose(f);
    if (len == 0)
        fprintf(stderr, "known answer %s missing\n", name);
    return len;
}

/* The vectors were made with network id 00 01 .. 1f and deterministic
 * signatures (aux NULL); a genesis' network id is its hash, so the kit's
 * order gets the vectors' id after it was built. */
static void check_known(const char *kind, vl_order *o, unsigned signer0, unsigned signer1)
{
    char name[64];
    uint8_t want[2048], hash[32], *buf = NULL;
    size_t want_len, len = 0;
    for (int i = 0; i < 32; i++)
        o->network_id[i] = (uint8_t)i;
    vl_order_sign_slot(o, 0, &kp[signer0], NULL);
    if (o->sig_count == 2)
        vl_order_sign_slot(o, 1, &kp[signer1], NULL);
    CHECK_ERR(vl_orderkit_encode(o, &buf, &len), VL_OK);
    snprintf(name, sizeof name, "order.%s.encoding", kind);
    want_len = vector(name, want, sizeof want);
    CHECK(buf != NULL && len == want_len && memcmp(buf, want, len) == 0);
    vl_order_hash(hash, o);
    snprintf(name, sizeof name, "order.%s.hash", kind);
    CHECK(vector(name, want, sizeof want) == 32 && memcmp(hash, want, 32) == 0);
    free(buf);
}

static void test_known_answers(vl_order *o)
{
    vl_voucher_spec specs[2];
    memset(specs, 0, sizeof specs);
    for (int i = 0; i < 2; i++) {
        specs[i].serial = 1 + (uint64_t)i;
        memcpy(specs[i].holder, kp[K_HOLDER].pubkey, 32);
        specs[i].valid_from_s = 1767225600;
        specs[i].valid_until_s = 1798761600;
    }
    specs[0].value_fen = 10000000;
    specs[0].subsidy_bp = 8000;
    specs[0].program = (vl_bytes){(const uint8_t *)"sh-2026-ai-compute", 18};
    specs[1].value_fen = 2500000;
    specs[1].subsidy_bp = 5000;
    specs[1].program = (vl_bytes){(const uint8_t *)"", 0};
    CHECK_ERR(vl_orderkit_issue(o, g, kp[K_ISSUER].pubkey, 3, specs, 2), VL_OK);
    check_known("issue", o, K_ISSUER, 0);

    vl_orderkit_redeem r = {.serial = 1, .seq = 1, .amount_fen = 123456, .gpu_milli_hours = 48000};
    memcpy(r.issuer, kp[K_ISSUER].pubkey, 32);
    memcpy(r.holder, kp[K_HOLDER].pubkey, 32);
    memcpy(r.provider, kp[K_PROVIDER].pubkey, 32);
    for (int i = 0; i < 32; i++)
        r.invoice_hash[i] = (uint8_t)(0xA0 + i);
    CHECK_ERR(vl_orderkit_redeem_build(o, g, &r), VL_OK);
    check_known("redeem", o, K_HOLDER, K_PROVIDER);

    CHECK_ERR(vl_orderkit_revoke(o, g, kp[K_ISSUER].pubkey, 2, 2, "duplicate application"),
              VL_OK);
    check_known("revoke", o, K_ISSUER, 0);
}

/* ---- signing: the right keys verify, others do not ------------------------------------ */

static void redeem_of(vl_orderkit_redeem *r, uint64_t amount_fen)
{
    memset(r, 0, sizeof *r);
    memcpy(r->issuer, kp[K_ISSUER].pubkey, 32);
    r->serial = 3000001;
    r->seq = 2;
    memcpy(r->holder, kp[K_HOLDER].pubkey, 32);
    memcpy(r->provider, kp[K_PROVIDER].pubkey, 32);
    r->amount_fen = amount_fen;
    r->gpu_milli_hours = 2500;
    vl_orderkit_derived_invoice(r->invoice_hash, r);
}

/* o signed (by the given keys), encoded, decoded and checked. */
static vl_err sign_and_verify(vl_order *o, unsigned k0, unsigned k1)
{
    uint8_t hash[32], *buf = NULL;
    size_t len = 0;
    CHECK_ERR(vl_orderkit_sign(o, 0, &kp[k0]), VL_OK);
    if (o->sig_count == 2)
        CHECK_ERR(vl_orderkit_sign(o, 1, &kp[k1]), VL_OK);
    CHECK_ERR(vl_orderkit_encode(o, &buf, &len), VL_OK);
    vl_order *d = calloc(1, sizeof *d);
    CHECK(d != NULL && buf != NULL);
    if (d == NULL || buf == NULL) {
        free(d);
        free(buf);
        return VL_ERR_NOMEM;
    }
    CHECK_ERR(vl_order_decode(buf, len, d), VL_OK);
    vl_order_hash(hash, d);
    vl_err e = vl_order_verify(g, d, hash);
    free(d);
    free(buf);
    return e;
}

static void test_signing(vl_order *o)
{
    vl_orderkit_redeem r;
    vl_voucher_spec s;
    uint8_t *buf = NULL, hash[32];
    size_t len = 0;

    redeem_of(&r, 5000);
    CHECK_ERR(vl_orderkit_redeem_build(o, g, &r), VL_OK);
    /* unsigned: the right count of zero signatures, it encodes, it does not verify */
    CHECK(o->sig_count == 2 && all_zero(o->sigs, sizeof o->sigs));
    CHECK_ERR(vl_orderkit_encode(o, &buf, &len), VL_OK);
    CHECK(buf != NULL && len > 129 && buf[len - 129] == 2 && all_zero(buf + len - 128, 128));
    free(buf);
    vl_order_hash(hash, o);
    CHECK_ERR(vl_order_verify(g, o, hash), VL_ERR_BAD_SIG);
    CHECK_ERR(sign_and_verify(o, K_HOLDER, K_PROVIDER), VL_OK);
    /* a signature by another key than the order names, in either slot */
    CHECK_ERR(vl_orderkit_redeem_build(o, g, &r), VL_OK);
    CHECK_ERR(sign_and_verify(o, K_STRANGER, K_PROVIDER), VL_ERR_BAD_SIG);
    CHECK_ERR(vl_orderkit_redeem_build(o, g, &r), VL_OK);
    CHECK_ERR(sign_and_verify(o, K_HOLDER, K_ISSUER), VL_ERR_BAD_SIG);
    /* slots swapped */
    CHECK_ERR(vl_orderkit_redeem_build(o, g, &r), VL_OK);
    CHECK_ERR(sign_and_verify(o, K_PROVIDER, K_HOLDER), VL_ERR_BAD_SIG);

    vl_orderkit_spec_defaults(&s, 4, 1767225600u + 3600u);
    memcpy(s.holder, kp[K_HOLDER].pubkey, 32);
    s.value_fen = 100000;
    CHECK_ERR(vl_orderkit_issue_alike(o, g, kp[K_ISSUER].pubkey, 4, &s, VL_MAX_ISSUE_BATCH), VL_OK);
    CHECK(o->voucher_count == VL_MAX_ISSUE_BATCH && o->sig_count == 1);
    CHECK(o->vouchers[0].serial == 4000001 &&
          o->vouchers[VL_MAX_ISSUE_BATCH - 1].serial == 4000000u + VL_MAX_ISSUE_BATCH);
    CHECK_ERR(sign_and_verify(o, K_ISSUER, 0), VL_OK);
    CHECK_ERR(vl_orderkit_issue_alike(o, g, kp[K_ISSUER].pubkey, 4, &s, 1), VL_OK);
    CHECK_ERR(sign_and_verify(o, K_HOLDER, 0), VL_ERR_BAD_SIG);

    CHECK_ERR(vl_orderkit_revoke(o, g, kp[K_ISSUER].pubkey, 3000001, 3, NULL), VL_OK);
    CHECK(o->reason.len == 0 && o->sig_count == 1);
    CHECK_ERR(sign_and_verify(o, K_ISSUER, 0), VL_OK);
    CHECK_ERR(vl_orderkit_revoke(o, g, kp[K_ISSUER].pubkey, 3000001, 3, ""), VL_OK);
    CHECK_ERR(sign_and_verify(o, K_PROVIDER, 0), VL_ERR_BAD_SIG);
}

/* ---- refusals: the documented code, and a zeroed order ------------------------------- */

static void check_refused(vl_err got, vl_err want, const vl_order *o)
{
    CHECK_ERR(got, want);
    CHECK(all_zero(o, sizeof *o));
}

static void test_refusals(vl_order *o)
{
    vl_orderkit_redeem r;
    vl_voucher_spec s[3];
    char reason[VL_MAX_REASON_LEN + 2];

    redeem_of(&r, 0);
    check_refused(vl_orderkit_redeem_build(o, g, &r), VL_ERR_RANGE, o);
    redeem_of(&r, 1);
    memcpy(r.provider, kp[K_STRANGER].pubkey, 32);
    check_refused(vl_orderkit_redeem_build(o, g, &r), VL_ERR_UNKNOWN_PROVIDER, o);
    memcpy(r.provider, kp[K_ISSUER].pubkey, 32); /* an issuer is not a provider */
    check_refused(vl_orderkit_redeem_build(o, g, &r), VL_ERR_UNKNOWN_PROVIDER, o);
    redeem_of(&r, 1);
    memcpy(r.issuer, kp[K_STRANGER].pubkey, 32);
    check_refused(vl_orderkit_redeem_build(o, g, &r), VL_ERR_UNKNOWN_ISSUER, o);

    for (int i = 0; i < 3; i++) {
        vl_orderkit_spec_defaults(&s[i], 0, 1767225600u);
        s[i].serial += (uint64_t)i;
        s[i].value_fen = 1;
    }
    const uint8_t *issuer = kp[K_ISSUER].pubkey;
    check_refused(vl_orderkit_issue(o, g, kp[K_STRANGER].pubkey, 0, s, 3), VL_ERR_UNKNOWN_ISSUER,
                  o);
    check_refused(vl_orderkit_issue(o, g, issuer, 0, s, 0), VL_ERR_RANGE, o);
    check_refused(vl_orderkit_issue_alike(o, g, issuer, 0, s, VL_MAX_ISSUE_BATCH + 1), VL_ERR_RANGE,
                  o);
    s[2].serial = s[1].serial;
    check_refused(vl_orderkit_issue(o, g, issuer, 0, s, 3), VL_ERR_NONCANONICAL, o);
    s[2].serial = s[0].serial - 1;
    check_refused(vl_orderkit_issue(o, g, issuer, 0, s, 3), VL_ERR_UNSORTED, o);
    s[2].serial = s[1].serial + 1;
    s[1].subsidy_bp = VL_MAX_SUBSIDY_BP + 1;
    check_refused(vl_orderkit_issue(o, g, issuer, 0, s, 3), VL_ERR_RANGE, o);
    s[1].subsidy_bp = VL_ORDERKIT_SUBSIDY_BP;
    s[1].valid_until_s = s[1].valid_from_s;
    check_refused(vl_orderkit_issue(o, g, issuer, 0, s, 3), VL_ERR_RANGE, o);
    s[0].program = (vl_bytes){(const uint8_t *)"tab\there", 8};
    check_refused(vl_orderkit_issue_alike(o, g, issuer, 0, &s[0], 2), VL_ERR_NONCANONICAL, o);
    s[0].program = (vl_bytes){(const uint8_t *)"", 0};
    s[0].serial = UINT64_MAX - 1; /* two fit, three would wrap */
    CHECK_ERR(vl_orderkit_issue_alike(o, g, issuer, 0, &s[0], 2), VL_OK);
    check_refused(vl_orderkit_issue_alike(o, g, issuer, 0, &s[0], 3), VL_ERR_RANGE, o);

    memset(reason, 'x', sizeof reason);
    reason[VL_MAX_REASON_LEN] = '\0';
    CHECK_ERR(vl_orderkit_revoke(o, g, issuer, 1, 0, reason), VL_OK);
    reason[VL_MAX_REASON_LEN] = 'x';
    reason[VL_MAX_REASON_LEN + 1] = '\0';
    check_refused(vl_orderkit_revoke(o, g, issuer, 1, 0, reason), VL_ERR_LIMIT, o);
    check_refused(vl_orderkit_revoke(o, g, issuer, 1, 0, "new\nline"), VL_ERR_NONCANONICAL, o);
    check_refused(vl_orderkit_revoke(o, g, kp[K_PROVIDER].pubkey, 1, 0, NULL),
                  VL_ERR_UNKNOWN_ISSUER, o);

    /* an order no builder made: the encoder's error, nothing allocated */
    uint8_t other, *buf = &other;
    size_t len = 99;
    memset(o, 0, sizeof *o);
    CHECK(vl_orderkit_encode(o, &buf, &len) != VL_OK && buf == NULL && len == 0);
}

/* ---- the defaults a retry depends on (docs/clients.md 3) ------------------------------- */

static void test_defaults(vl_order *o)
{
    vl_voucher_spec s;
    vl_orderkit_spec_defaults(&s, 3, 1767225600u + 12345u);
    CHECK(s.serial == 3000001 && s.valid_from_s == 1767225600u &&
          s.valid_until_s == 1767225600u + 365u * DAY_S && s.subsidy_bp == 8000 &&
          s.program.len == 0 && s.value_fen == 0 && all_zero(s.holder, 32));
    vl_orderkit_spec_defaults(&s, 0, 1767225600u - 1u); /* the last second of a day */
    CHECK(s.serial == 1 && s.valid_from_s == 1767225600u - DAY_S);
    vl_orderkit_spec_defaults(&s, VL_ORDERKIT_MAX_DEFAULT_SEQ, 0);
    CHECK(s.serial == VL_ORDERKIT_MAX_DEFAULT_SEQ * 1000000u + 1u && s.valid_from_s == 0);
    CHECK(UINT64_MAX - s.serial >= VL_MAX_ISSUE_BATCH); /* a full batch still fits */

    /* the derived invoice hash, pinned: computed independently (Python, the
     * formula of vl_orderkit.h) for the known-answer redemption's fields */
    static const char want_hex[] =
        "ad94c454fa843048b7409000e83115e5c6de48b9f89ce8dd58e82a6aeb76116c";
    uint8_t want[32], out[32];
    vl_orderkit_redeem r = {.serial = 1, .seq = 1, .amount_fen = 123456, .gpu_milli_hours = 48000};
    memcpy(r.issuer, kp[K_ISSUER].pubkey, 32);
    memcpy(r.holder, kp[K_HOLDER].pubkey, 32);
    memcpy(r.provider, kp[K_PROVIDER].pubkey, 32);
    CHECK_ERR(vl_hex_decode(want, 32, want_hex), VL_OK);
    vl_orderkit_derived_invoice(out, &r);
    CHECK_MEM(out, want, 32);
    memset(r.invoice_hash, 0xEE, 32); /* not an input; out may be r's own field */
    vl_orderkit_derived_invoice(r.invoice_hash, &r);
    CHECK_MEM(r.invoice_hash, want, 32);
    r.amount_fen++; /* every field counts */
    vl_orderkit_derived_invoice(out, &r);
    CHECK(memcmp(out, want, 32) != 0);
    r.amount_fen--;
    r.gpu_milli_hours++;
    vl_orderkit_derived_invoice(out, &r);
    CHECK(memcmp(out, want, 32) != 0);

    /* the same inputs build the same bytes */
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    redeem_of(&r, 777);
    CHECK_ERR(vl_orderkit_redeem_build(o, g, &r), VL_OK);
    CHECK_ERR(vl_orderkit_encode(o, &a, &alen), VL_OK);
    redeem_of(&r, 777);
    CHECK_ERR(vl_orderkit_redeem_build(o, g, &r), VL_OK);
    CHECK_ERR(vl_orderkit_encode(o, &b, &blen), VL_OK);
    CHECK(a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0);
    free(a);
    free(b);
}

int main(void)
{
    vl_order *o = calloc(1, sizeof *o);
    CHECK(o != NULL);
    if (o == NULL)
        VL_TEST_END();
    make_genesis();
    test_known_answers(o);
    test_signing(o);
    test_refusals(o);
    test_defaults(o);
    for (int i = 0; i < K_COUNT; i++)
        vl_keypair_wipe(&kp[i]);
    free(o);
    free(g);
    VL_TEST_END();
}
