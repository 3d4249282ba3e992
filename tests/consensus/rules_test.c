/* rules_test.c - the ledger rules a voter checks before it votes
 * (DESIGN.md 5.2): every refusal carries the right code and writes no lock;
 * the matching legal order is accepted, so each refusal is about the rule
 * under test and nothing else.
 *
 * The node under test is voter 0 of a 4-voter network (f=1, q=3); the test
 * plays voter 1 (who asks for votes) and applies the ISSUE certificates it
 * needs with the keys of voters 1..3. */
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 1000u

/* A network whose node under test holds four vouchers of issuer 0 (serials
 * 1..4, FACE_FEN each, holder 0), applied at `now_ms`. */
static h_net *setup_at(uint64_t now_ms)
{
    h_net *h = h_new_std();
    h->now_ms = now_ms;
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, 4, FACE_FEN, 0);
    APPLY(h, iss);
    free(iss);
    return h;
}

static h_net *setup(void)
{
    return setup_at((H_T0_S + 3600) * 1000);
}

static void test_overspend(void)
{
    TEST_BEGIN("overspend");
    h_net *h = setup();
    vl_order *r = h_redeem(h, 0, 1, 0, 0, FACE_FEN + 1, 0);
    EXPECT_REFUSED(h, r, VL_ERR_OVERSPEND);
    free(r);
    r = h_redeem(h, 0, 1, 0, 0, FACE_FEN, 0); /* the whole face value is fine */
    EXPECT_VOTED(h, r);
    free(r);
    h_free(&h);
}

static void test_expired(void)
{
    TEST_BEGIN("expired");
    h_net *h = setup();
    /* valid_until is exclusive; past it by more than the skew allowance. */
    h->now_ms = (H_T0_S + H_VALID_S) * 1000 + H_SKEW_MS + 10000;
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    EXPECT_REFUSED(h, r, VL_ERR_EXPIRED);
    free(r);
    h_free(&h);
}

static void test_not_yet_valid(void)
{
    TEST_BEGIN("not yet valid");
    h_net *h = setup_at((H_T0_S - 86400) * 1000);
    h->now_ms = H_T0_S * 1000 - H_SKEW_MS - 10000;
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    EXPECT_REFUSED(h, r, VL_ERR_NOT_YET_VALID);
    free(r);
    h_free(&h);
}

/* Clocks of the nodes and of the firm differ a little: inside the
 * configured allowance both ends of the window are honoured. */
static void test_skew_allowance(void)
{
    TEST_BEGIN("inside the clock-skew allowance");
    h_net *h = setup_at((H_T0_S - 86400) * 1000);
    h->now_ms = H_T0_S * 1000 - H_SKEW_MS / 2; /* early, inside the skew */
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    EXPECT_VOTED(h, r);
    free(r);
    h->now_ms = (H_T0_S + H_VALID_S) * 1000 + H_SKEW_MS / 2; /* late, inside */
    r = h_redeem(h, 0, 2, 0, 0, 100, 0);
    EXPECT_VOTED(h, r);
    free(r);
    h_free(&h);
}

static void test_bad_holder_signature(void)
{
    TEST_BEGIN("holder signature by another key");
    h_net *h = setup();
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order_sign_slot(r, 0, &h->holder[1], NULL); /* holder field stays holder 0 */
    EXPECT_REFUSED(h, r, VL_ERR_BAD_SIG);
    free(r);
    /* The provider's slot signed by the other provider: also a bad signature. */
    r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order_sign_slot(r, 1, &h->provider_key[1], NULL);
    EXPECT_REFUSED(h, r, VL_ERR_BAD_SIG);
    free(r);
    h_free(&h);
}

static void test_wrong_holder(void)
{
    TEST_BEGIN("order.holder is not the voucher's holder");
    h_net *h = setup();
    /* Holder 1 signs a redemption of holder 0's voucher with its own,
     * valid signature: the order is well signed but not authorized. */
    vl_order *r = h_redeem(h, 0, 1, 0, 1, 100, 0);
    EXPECT_REFUSED(h, r, VL_ERR_WRONG_SIGNER);
    free(r);
    h_free(&h);
}

static void test_unknown_provider(void)
{
    TEST_BEGIN("unknown provider");
    h_net *h = setup();
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    memcpy(r->provider, h->outsider.pubkey, 32);
    h_resign(h, r); /* signed by that (unlisted) provider */
    EXPECT_REFUSED(h, r, VL_ERR_UNKNOWN_PROVIDER);
    free(r);
    h_free(&h);
}

static void test_unknown_issuer(void)
{
    TEST_BEGIN("unknown issuer");
    h_net *h = setup();
    vl_order *o = h_issue(h, 0, 0, 100, 2, 500, 0);
    memcpy(o->issuer, h->outsider.pubkey, 32);
    h_resign(h, o);
    EXPECT_REFUSED(h, o, VL_ERR_UNKNOWN_ISSUER);
    free(o);
    h_free(&h);
}

static void test_wrong_network(void)
{
    TEST_BEGIN("wrong network");
    h_net *h = setup();
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    r->network_id[0] ^= 0x01;
    h_resign(h, r);
    EXPECT_REFUSED(h, r, VL_ERR_WRONG_NETWORK);
    free(r);
    vl_order *o = h_issue(h, 0, 1, 100, 1, 500, 0);
    o->network_id[31] ^= 0x80;
    h_resign(h, o);
    EXPECT_REFUSED(h, o, VL_ERR_WRONG_NETWORK);
    free(o);
    h_free(&h);
}

static void test_budget(void)
{
    TEST_BEGIN("budget exceeded");
    h_net *h = setup();
    /* Issuer 1 has 5000 fen. */
    vl_order *o = h_issue(h, 1, 0, 1, 2, 3000, 0);
    EXPECT_REFUSED(h, o, VL_ERR_BUDGET);
    free(o);
    o = h_issue(h, 1, 0, 1, 2, 2500, 0); /* exactly the budget */
    EXPECT_VOTED(h, o);
    APPLY(h, o);
    free(o);
    uint8_t id[32];
    h_issuer_account(h, 1, id);
    vl_account a = ACCT(h, id);
    CHECK(a.balance_fen == 0);
    CHECK(a.issued_fen == 5000);
    o = h_issue(h, 1, 1, 3, 1, 1, 0); /* one fen more */
    EXPECT_REFUSED(h, o, VL_ERR_BUDGET);
    free(o);
    h_free(&h);
}

static void test_serial_reused(void)
{
    TEST_BEGIN("serial reused");
    h_net *h = setup(); /* serials 1..4 of issuer 0 are issued */
    vl_order *o = h_issue(h, 0, 1, 4, 2, 100, 1);
    EXPECT_REFUSED(h, o, VL_ERR_SERIAL_USED);
    free(o);
    o = h_issue(h, 0, 1, 5, 2, 100, 1);
    EXPECT_VOTED(h, o);
    free(o);
    h_free(&h);
}

static void test_revoked(void)
{
    TEST_BEGIN("revoked voucher");
    h_net *h = setup();
    uint8_t iid[32], vid[32];
    h_issuer_account(h, 0, iid);
    h_voucher_account(h, 0, 1, vid);
    vl_account before = ACCT(h, iid);
    vl_order *rv = h_revoke(h, 0, 1, 0);
    EXPECT_VOTED(h, rv);
    APPLY(h, rv);
    free(rv);
    vl_account v = ACCT(h, vid);
    CHECK(v.status == VL_VOUCHER_REVOKED);
    CHECK(v.next_seq == 1);
    vl_account after = ACCT(h, iid);
    CHECK(after.credited_fen == before.credited_fen + FACE_FEN);
    CHECK(after.balance_fen == before.balance_fen + FACE_FEN);
    vl_order *r = h_redeem(h, 0, 1, 1, 0, 100, 0);
    EXPECT_REFUSED(h, r, VL_ERR_REVOKED);
    free(r);
    h_free(&h);
}

static void test_partial_redemptions(void)
{
    TEST_BEGIN("partial redemptions up to the face value");
    h_net *h = setup();
    uint8_t vid[32];
    h_voucher_account(h, 0, 1, vid);
    const uint64_t parts[3] = {300, 300, 400};
    uint64_t left = FACE_FEN;
    for (uint64_t s = 0; s < 3; s++) {
        vl_order *r = h_redeem(h, 0, 1, s, 0, parts[s], (unsigned)(s % 2));
        EXPECT_VOTED(h, r);
        /* Certify with the node's own vote plus voters 2 and 3. */
        vl_msg *m = h_vote_reply(h, h->voter[1]);
        CHECK(m != NULL);
        if (m != NULL) {
            uint16_t others[2] = {h->voter[2], h->voter[3]};
            h_buf c = h_cert_with_reply(h, r, m, others, 2);
            CHECK(c.data != NULL);
            if (c.data != NULL) {
                CHECK_ERR(h_send_certs(h, h->voter[2], &c, 1), VL_OK);
            }
            h_buf_free(&c);
        }
        left -= parts[s];
        CHECK(h_no_lock(h, vid, s)); /* certified: no longer a pending vote */
        vl_account a = ACCT(h, vid);
        CHECK(a.remaining_fen == left);
        CHECK(a.next_seq == s + 1);
        free(r);
    }
    CHECK(left == 0);
    vl_order *r = h_redeem(h, 0, 1, 3, 0, 1, 0);
    EXPECT_REFUSED(h, r, VL_ERR_OVERSPEND);
    free(r);
    h_free(&h);
}

int main(void)
{
    test_overspend();
    test_expired();
    test_not_yet_valid();
    test_skew_allowance();
    test_bad_holder_signature();
    test_wrong_holder();
    test_unknown_provider();
    test_unknown_issuer();
    test_wrong_network();
    test_budget();
    test_serial_reused();
    test_revoked();
    test_partial_redemptions();
    VL_TEST_END();
}
