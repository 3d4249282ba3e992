/* certs_test.c - certificates arriving from peers (DESIGN.md 5.4, 6):
 * applied when valid and next, ignored when short of a quorum or signed by
 * someone who may not vote, refused by the decoder when a voter appears
 * twice, idempotent, buffered across a gap, and a second certificate for
 * an applied slot kept as fork evidence without ever overwriting the first.
 *
 * The node under test is voter 0 of a 4-voter network (f=1, q=3); the test
 * holds every key, so it can forge what > f lying voters could sign. */
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 1000u
#define BUDGET0_FEN 1000000u

static h_net *setup(void)
{
    h_net *h = h_new_std();
    OPEN_OK(h, h->voter[0], false);
    return h;
}

/* Issue 4 vouchers of FACE_FEN (issuer 0, serials 1..4, seq 0). */
static vl_order *issue4(h_net *h)
{
    return h_issue(h, 0, 0, 1, 4, FACE_FEN, 0);
}

/* Feed raw bytes from a peer and check they changed nothing and were
 * counted as one bad input. */
static void expect_ignored(h_net *h, uint16_t from, const h_buf *msg, int line)
{
    H_WHERE_BEGIN;
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK_ERR(h_feed_peer(h, from, msg->data, msg->len), VL_OK);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.certs_applied == s0.stats.certs_applied);
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    CHECK(s1.stats.forks == s0.stats.forks);
    /* Nothing issued: the genesis issuer (known from the start, or not
     * yet) has issued nothing, and no voucher exists. */
    uint8_t iid[32], vid[32];
    h_issuer_account(h, 0, iid);
    vl_account a;
    vl_err e = h_account(h, iid, &a);
    CHECK(e == VL_OK || e == VL_ERR_UNKNOWN_ACCOUNT);
    CHECK(a.next_seq == 0 && a.issued_fen == 0);
    h_voucher_account(h, 0, 1, vid);
    CHECK_ERR(h_account(h, vid, &a), VL_ERR_UNKNOWN_ACCOUNT);
    H_WHERE_END(line);
}

static void test_valid_cert_applied(void)
{
    TEST_BEGIN("valid certificate applied");
    h_net *h = setup();
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK(s0.log_head == 0);
    vl_order *o = issue4(h);
    uint8_t oh[32], iid[32];
    h_order_hash(o, oh);
    h_issuer_account(h, 0, iid);
    h_buf c = h_cert_q(h, o);
    CHECK_ERR(h_send_certs(h, h->voter[1], &c, 1), VL_OK);
    h_snapshot(h, &s1);

    /* Account state. */
    vl_account a = ACCT(h, iid);
    CHECK(a.kind == VL_ACCOUNT_ISSUER);
    CHECK(a.next_seq == 1);
    CHECK(a.budget_fen == BUDGET0_FEN);
    CHECK(a.issued_fen == 4 * FACE_FEN);
    CHECK(a.balance_fen == BUDGET0_FEN - 4 * FACE_FEN);
    for (uint64_t serial = 1; serial <= 4; serial++) {
        uint8_t vid[32];
        h_voucher_account(h, 0, serial, vid);
        vl_account v = ACCT(h, vid);
        CHECK(v.kind == VL_ACCOUNT_VOUCHER);
        CHECK(v.serial == serial);
        CHECK(v.face_fen == FACE_FEN && v.remaining_fen == FACE_FEN);
        CHECK(v.status == VL_VOUCHER_ACTIVE);
        CHECK(v.next_seq == 0);
        CHECK_MEM(v.holder, h->holder[0].pubkey, 32);
        CHECK(v.valid_from_s == H_T0_S && v.valid_until_s == H_T0_S + H_VALID_S);
    }
    uint8_t vid5[32];
    h_voucher_account(h, 0, 5, vid5);
    vl_account none;
    CHECK_ERR(h_account(h, vid5, &none), VL_ERR_UNKNOWN_ACCOUNT);

    /* The log grew by one entry that holds this certificate and chains to
     * the network id, and the status head is that entry's hash. */
    CHECK(s1.log_head == s0.log_head + 1);
    CHECK(s1.stats.certs_applied == s0.stats.certs_applied + 1);
    uint8_t eb[1 << 16];
    size_t elen = 0;
    CHECK_ERR(vl_core_get_entry(h->core, 1, eb, sizeof eb, &elen), VL_OK);
    vl_entry e;
    memset(&e, 0, sizeof e);
    CHECK_ERR(vl_entry_decode(eb, elen, &e), VL_OK);
    CHECK(e.index == 1);
    CHECK_MEM(e.prev_hash, h->g->network_id, 32);
    CHECK(e.cert.len == c.len && memcmp(e.cert.ptr, c.data, c.len) == 0);
    uint8_t ch[32], ehash[32];
    vl_cert_hash(ch, e.cert.ptr, e.cert.len);
    vl_entry_hash(ehash, e.index, e.prev_hash, ch);
    CHECK_MEM(ehash, s1.head_hash, 32);
    size_t l2 = 0;
    CHECK(vl_core_get_entry(h->core, 2, eb, sizeof eb, &l2) != VL_OK); /* past the head */

    /* State digest (DESIGN.md 6): the issuer account's bucket is the XOR of
     * the order hashes applied in it (here just this one), the others are
     * untouched, and the digest is the hash of the 256 buckets. */
    CHECK_MEM(s1.buckets[iid[0]], oh, 32);
    int other_changed = 0;
    for (int b = 0; b < 256; b++) {
        if (b != iid[0] && memcmp(s1.buckets[b], s0.buckets[b], 32) != 0) {
            other_changed++;
        }
    }
    CHECK(other_changed == 0);
    uint8_t sd[32];
    vl_tagged_hash(sd, VL_TAG_STATE_DIGEST, &s1.buckets[0][0], sizeof s1.buckets);
    CHECK_MEM(sd, s1.state_digest, 32);
    CHECK(memcmp(s0.state_digest, s1.state_digest, 32) != 0);
    CHECK_MEM(s1.state_digest, s1.stats.status.state_digest, 32);

    h_buf_free(&c);
    free(o);
    h_free(&h);
}

static void test_short_of_quorum(void)
{
    TEST_BEGIN("q-1 votes: ignored");
    h_net *h = setup();
    vl_order *o = issue4(h);
    uint16_t two[2] = {h->voter[1], h->voter[2]};
    h_buf c = h_cert1(h, o, two, 2);
    h_buf m = h_certs_bytes(h, h->voter[1], &c, 1);
    expect_ignored(h, h->voter[1], &m, __LINE__);
    h_buf_free(&m);
    h_buf_free(&c);
    free(o);
    h_free(&h);
}

static void test_duplicate_voter(void)
{
    TEST_BEGIN("duplicate voter: the decoder refuses it");
    h_net *h = setup();
    vl_order *o = issue4(h);
    uint16_t vs[3] = {h->voter[1], h->voter[2], h->voter[3]};
    vl_cert *c = h_cert_make(h, o, vs, 3);
    h_buf good = h_cert_bytes(c);
    /* Find the bytes of the third vote's voter index: encode again with only
     * that field changed (3 -> 4) and diff. */
    c->votes[2].voter = 4;
    h_buf moved = h_cert_bytes(c);
    CHECK(good.data != NULL && moved.data != NULL && good.len == moved.len);
    size_t pos = SIZE_MAX, ndiff = 0;
    for (size_t i = 0; good.data != NULL && moved.data != NULL && i < good.len; i++) {
        if (good.data[i] != moved.data[i]) {
            ndiff++;
            pos = i;
        }
    }
    CHECK(ndiff == 1 && good.data[pos] == 3 && moved.data[pos] == 4);
    if (ndiff == 1) {
        /* Votes by voters 1, 2, 2: build the bytes by hand. */
        h_buf dup = h_buf_copy(good.data, good.len);
        dup.data[pos] = 2;
        vl_cert *dc = calloc(1, sizeof *dc);
        CHECK(dc != NULL);
        CHECK_ERR(vl_cert_decode(dup.data, dup.len, dc), VL_ERR_DUP_SIGNER);
        free(dc);
        /* Inside a CERTS message from a peer. */
        h_buf msg = h_certs_bytes(h, h->voter[1], &good, 1);
        uint8_t *at = memmem(msg.data, msg.len, good.data, good.len);
        CHECK(at != NULL);
        if (at != NULL) {
            at[pos] = 2;
            vl_msg_storage *st = calloc(1, sizeof *st);
            vl_msg dm;
            vl_msg_init(&dm, st);
            CHECK(vl_msg_decode(msg.data, msg.len, &dm) != VL_OK);
            free(st);
            expect_ignored(h, h->voter[1], &msg, __LINE__);
        }
        h_buf_free(&msg);
        h_buf_free(&dup);
        /* The honest certificate still applies afterwards. */
        CHECK_ERR(h_send_certs(h, h->voter[1], &good, 1), VL_OK);
        uint8_t iid[32];
        h_issuer_account(h, 0, iid);
        vl_account a = ACCT(h, iid);
        CHECK(a.next_seq == 1);
    }
    h_buf_free(&good);
    h_buf_free(&moved);
    free(c);
    free(o);
    h_free(&h);
}

/* Replace the last vote of a q-vote certificate by a vote of `voter`
 * signed with `key` (a batch of one: root = the order's vote leaf). */
static h_buf forge_last_vote(h_net *h, const vl_order *o, uint16_t voter, const vl_keypair *key)
{
    uint16_t vs[3] = {h->voter[1], h->voter[2], h->voter[3]};
    vl_cert *c = h_cert_make(h, o, vs, 3);
    uint8_t leaf[32], msg32[32];
    h_vote_leaf(o, leaf);
    vl_vote_message(msg32, leaf);
    c->votes[2].voter = voter;
    vl_sign(c->votes[2].sig, key, msg32, NULL);
    h_buf b = h_cert_bytes(c);
    free(c);
    return b;
}

static void test_non_member_signature(void)
{
    TEST_BEGIN("a vote by a key outside the genesis: ignored");
    h_net *h = setup();
    vl_order *o = issue4(h);
    /* Index past the node list, signed by an unlisted key. */
    h_buf c = forge_last_vote(h, o, (uint16_t)h->g->node_count + 2, &h->outsider);
    CHECK(c.data != NULL);
    if (c.data != NULL) {
        h_buf m = h_certs_bytes(h, h->voter[1], &c, 1);
        expect_ignored(h, h->voter[1], &m, __LINE__);
        h_buf_free(&m);
    }
    h_buf_free(&c);
    /* Voter 3's index with the outsider's signature. */
    c = forge_last_vote(h, o, h->voter[3], &h->outsider);
    h_buf m = h_certs_bytes(h, h->voter[1], &c, 1);
    expect_ignored(h, h->voter[1], &m, __LINE__);
    h_buf_free(&m);
    h_buf_free(&c);
    free(o);
    h_free(&h);
}

static void test_observer_signature(void)
{
    TEST_BEGIN("a vote by an observer: ignored");
    h_net *h = setup();
    vl_order *o = issue4(h);
    uint16_t obs = h->observer[0];
    h_buf c = forge_last_vote(h, o, obs, &h->node_key[obs]);
    h_buf m = h_certs_bytes(h, h->voter[1], &c, 1);
    expect_ignored(h, h->voter[1], &m, __LINE__);
    h_buf_free(&m);
    h_buf_free(&c);
    free(o);
    h_free(&h);
}

static void test_applied_twice(void)
{
    TEST_BEGIN("the same certificate twice: the second is a no-op");
    h_net *h = setup();
    vl_order *o = issue4(h);
    h_buf c = h_cert_q(h, o);
    CHECK_ERR(h_send_certs(h, h->voter[1], &c, 1), VL_OK);
    h_snap s1, s2;
    h_snapshot(h, &s1);
    CHECK(s1.log_head == 1);
    CHECK_ERR(h_send_certs(h, h->voter[2], &c, 1), VL_OK); /* broadcast by another peer */
    h_snapshot(h, &s2);
    CHECK(h_same_state(&s1, &s2));
    CHECK(s2.log_head == 1);
    CHECK(s2.stats.certs_applied == s1.stats.certs_applied);
    CHECK(s2.stats.forks == 0);
    uint8_t iid[32];
    h_issuer_account(h, 0, iid);
    vl_account a = ACCT(h, iid);
    CHECK(a.issued_fen == 4 * FACE_FEN && a.next_seq == 1);
    h_buf_free(&c);
    free(o);
    h_free(&h);
}

static void test_out_of_order(void)
{
    TEST_BEGIN("seq 1 before seq 0: buffered, then both apply in order");
    h_net *h = setup();
    vl_order *o = issue4(h);
    APPLY(h, o);
    uint8_t vid[32];
    h_voucher_account(h, 0, 2, vid);
    vl_order *r0 = h_redeem(h, 0, 2, 0, 0, 100, 0);
    vl_order *r1 = h_redeem(h, 0, 2, 1, 0, 250, 1);
    h_buf c0 = h_cert_q(h, r0), c1 = h_cert_q(h, r1);

    h_snap s0, s1, s2;
    h_snapshot(h, &s0);
    CHECK_ERR(h_send_certs(h, h->voter[1], &c1, 1), VL_OK);
    h_snapshot(h, &s1);
    CHECK(s1.stats.pending_certs == 1);
    CHECK(h_same_state(&s0, &s1));
    vl_account v = ACCT(h, vid);
    CHECK(v.next_seq == 0 && v.remaining_fen == FACE_FEN);
    uint8_t buf[1 << 16];
    size_t len = 0;
    CHECK_ERR(vl_core_get_slot_cert(h->core, vid, 1, buf, sizeof buf, &len),
              VL_ERR_UNKNOWN_ACCOUNT);

    CHECK_ERR(h_send_certs(h, h->voter[2], &c0, 1), VL_OK);
    h_snapshot(h, &s2);
    CHECK(s2.stats.pending_certs == 0);
    CHECK(s2.log_head == s0.log_head + 2);
    v = ACCT(h, vid);
    CHECK(v.next_seq == 2);
    CHECK(v.remaining_fen == FACE_FEN - 100 - 250);
    /* In order: seq 0's certificate is the earlier log entry. */
    const h_buf *want[2] = {&c0, &c1};
    for (uint64_t i = 0; i < 2; i++) {
        size_t elen = 0;
        vl_entry e;
        memset(&e, 0, sizeof e);
        CHECK_ERR(vl_core_get_entry(h->core, s0.log_head + 1 + i, buf, sizeof buf, &elen), VL_OK);
        CHECK_ERR(vl_entry_decode(buf, elen, &e), VL_OK);
        CHECK(e.cert.len == want[i]->len && memcmp(e.cert.ptr, want[i]->data, e.cert.len) == 0);
    }
    h_buf_free(&c0);
    h_buf_free(&c1);
    free(r0);
    free(r1);
    free(o);
    h_free(&h);
}

static void test_fork_evidence(void)
{
    TEST_BEGIN("a second certificate for an applied slot: fork evidence, never applied");
    h_net *h = setup();
    vl_order *a = issue4(h);
    h_buf ca = h_cert_q(h, a);
    CHECK_ERR(h_send_certs(h, h->voter[1], &ca, 1), VL_OK);
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK(s0.stats.forks == 0 && (s0.stats.status.flags & VL_STATUS_FORK) == 0);

    /* More than f voters lied: all four sign a different ISSUE for the same
     * issuer slot (two vouchers of 50000 fen, one serial the same). */
    vl_order *b = h_issue(h, 0, 0, 4, 2, 50000, 1);
    uint16_t all[4] = {h->voter[0], h->voter[1], h->voter[2], h->voter[3]};
    h_buf cb = h_cert1(h, b, all, 4);
    for (int round = 0; round < 2; round++) { /* the same evidence twice: one record */
        CHECK_ERR(h_send_certs(h, h->voter[3], &cb, 1), VL_OK);
        h_snapshot(h, &s1);
        CHECK(s1.stats.forks == 1);
        CHECK((s1.stats.status.flags & VL_STATUS_FORK) != 0);
        CHECK(h_same_state(&s0, &s1));
    }
    /* A STATUS request shows the alarm to an operator. */
    CHECK_ERR(h_client(h, 9, VL_REQ_STATUS, NULL, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 9, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_STATUS);
    if (m != NULL) {
        CHECK((m->status.flags & VL_STATUS_FORK) != 0);
    }
    /* The first certificate stands. */
    uint8_t iid[32], v4[32], v5[32];
    h_issuer_account(h, 0, iid);
    h_voucher_account(h, 0, 4, v4);
    h_voucher_account(h, 0, 5, v5);
    vl_account ia = ACCT(h, iid);
    CHECK(ia.issued_fen == 4 * FACE_FEN);
    CHECK(ia.balance_fen == BUDGET0_FEN - 4 * FACE_FEN);
    vl_account va = ACCT(h, v4);
    CHECK(va.face_fen == FACE_FEN);
    CHECK_MEM(va.holder, h->holder[0].pubkey, 32);
    vl_account none;
    CHECK_ERR(h_account(h, v5, &none), VL_ERR_UNKNOWN_ACCOUNT);
    uint8_t buf[1 << 16];
    size_t len = 0;
    CHECK_ERR(vl_core_get_slot_cert(h->core, iid, 0, buf, sizeof buf, &len), VL_OK);
    CHECK(len == ca.len && memcmp(buf, ca.data, len) == 0);
    /* And it survives a restart. */
    h_close(h);
    OPEN_OK(h, h->voter[0], false);
    h_snapshot(h, &s1);
    CHECK(s1.stats.forks == 1 && (s1.stats.status.flags & VL_STATUS_FORK) != 0);
    CHECK(h_same_state(&s0, &s1));
    h_buf_free(&ca);
    h_buf_free(&cb);
    free(a);
    free(b);
    h_free(&h);
}

/* docs/consensus.md: a certificate that breaks a rule on apply (here an
 * overspend signed by all voters) proves > f voters lied: it is kept as
 * evidence like a fork and not applied. */
static void test_rule_breaking_cert(void)
{
    TEST_BEGIN("a certified overspend: kept as evidence, not applied");
    h_net *h = setup();
    vl_order *o = issue4(h);
    APPLY(h, o);
    h_snap s0, s1;
    h_snapshot(h, &s0);
    vl_order *r = h_redeem(h, 0, 3, 0, 0, FACE_FEN + 500, 0);
    uint16_t all[4] = {h->voter[0], h->voter[1], h->voter[2], h->voter[3]};
    h_buf c = h_cert1(h, r, all, 4);
    CHECK_ERR(h_send_certs(h, h->voter[2], &c, 1), VL_OK);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.forks == s0.stats.forks + 1);
    CHECK((s1.stats.status.flags & VL_STATUS_FORK) != 0);
    uint8_t vid[32];
    h_voucher_account(h, 0, 3, vid);
    vl_account v = ACCT(h, vid);
    CHECK(v.remaining_fen == FACE_FEN && v.next_seq == 0);
    h_buf_free(&c);
    free(r);
    free(o);
    h_free(&h);
}

int main(void)
{
    test_valid_cert_applied();
    test_short_of_quorum();
    test_duplicate_voter();
    test_non_member_signature();
    test_observer_signature();
    test_applied_twice();
    test_out_of_order();
    test_fork_evidence();
    test_rule_breaking_cert();
    VL_TEST_END();
}
