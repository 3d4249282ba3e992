/* votes_test.c - what a voter answers (DESIGN.md 5.2): the same vote again
 * for the same order, CONFLICT with evidence for a different one, BEHIND,
 * CERTIFIED, observers that never vote, and one signature per batch; and
 * what a client of the node as coordinator hears at its timeout when the
 * voters answer BEHIND (UNKNOWN_ACCOUNT or TIMEOUT); and that a vote
 * request with a badly signed order proves its sender faulty (vl_core.c
 * note 28).
 *
 * The node under test is voter 0 of a 4-voter network (f=1, q=3); the test
 * plays the other voters. */
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 1000u

/* The node under test: voter 0, or the observer. */
static h_net *setup_node(bool observer, bool force_observer)
{
    h_net *h = h_new_std();
    OPEN_OK(h, observer ? h->observer[0] : h->voter[0], force_observer);
    vl_order *iss = h_issue(h, 0, 0, 1, 8, FACE_FEN, 0);
    APPLY(h, iss);
    free(iss);
    return h;
}

static h_net *setup(void)
{
    return setup_node(false, false);
}

static void test_same_order_twice(void)
{
    TEST_BEGIN("same order twice: the same vote again");
    h_net *h = setup();
    uint8_t vid[32], hash[32], lock1[32], lock2[32];
    h_voucher_account(h, 0, 1, vid);
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    h_order_hash(r, hash);
    EXPECT_VOTED(h, r);
    CHECK_ERR(vl_core_get_lock(h->core, vid, 0, lock1), VL_OK);
    /* Voter 2 (say, re-driving the order) asks again. */
    vl_order *arr[1] = {r};
    CHECK_ERR(h_vote_request(h, h->voter[2], arr, 1), VL_OK);
    vl_msg *m = h_vote_reply(h, h->voter[2]);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(h_reply_has_leaf(m, r));
        CHECK(h_reply_answer(m, hash) == NULL);
        CHECK_ERR(h_reply_vote_verify(h, m, h->self), VL_OK);
        /* ... and that vote is usable: it certifies the order with two others. */
        uint16_t others[2] = {h->voter[1], h->voter[3]};
        h_buf c = h_cert_with_reply(h, r, m, others, 2);
        CHECK(c.data != NULL);
        if (c.data != NULL) {
            vl_cert *dc = calloc(1, sizeof *dc);
            CHECK(dc != NULL && vl_cert_decode(c.data, c.len, dc) == VL_OK);
            if (dc != NULL) {
                CHECK_ERR(vl_cert_verify(h->g, dc, NULL, NULL), VL_OK);
            }
            free(dc);
        }
        h_buf_free(&c);
    }
    CHECK_ERR(vl_core_get_lock(h->core, vid, 0, lock2), VL_OK);
    CHECK_MEM(lock1, lock2, 32);
    CHECK_MEM(lock2, hash, 32);
    free(r);
    h_free(&h);
}

static void test_conflict(void)
{
    TEST_BEGIN("different order for a locked slot: CONFLICT with evidence");
    h_net *h = setup();
    uint8_t vid[32], h1[32], h2[32];
    h_voucher_account(h, 0, 1, vid);
    vl_order *r1 = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *r2 = h_redeem(h, 0, 1, 0, 0, 200, 1); /* same slot, another order */
    h_order_hash(r1, h1);
    h_order_hash(r2, h2);
    EXPECT_VOTED(h, r1);
    h_buf b1 = h_order_bytes(r1);

    vl_order *arr[1] = {r2};
    CHECK_ERR(h_vote_request(h, h->voter[3], arr, 1), VL_OK);
    vl_msg *m = h_vote_reply(h, h->voter[3]);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(!h_reply_has_leaf(m, r2));
        const vl_answer *a = h_reply_answer(m, h2);
        CHECK(a != NULL);
        if (a != NULL) {
            CHECK(a->kind == VL_ANSWER_CONFLICT);
            /* The evidence is the first order, signatures intact: anyone
             * can check the holder signed two orders for one slot. */
            vl_order *ev = calloc(1, sizeof *ev);
            CHECK(ev != NULL);
            if (ev != NULL) {
                CHECK_ERR(vl_order_decode(a->evidence.ptr, a->evidence.len, ev), VL_OK);
                uint8_t eh[32];
                vl_order_hash(eh, ev);
                CHECK_MEM(eh, h1, 32);
                CHECK_ERR(vl_order_verify(h->g, ev, eh), VL_OK);
                CHECK(ev->amount_fen == 100);
                CHECK(a->evidence.len == b1.len &&
                      memcmp(a->evidence.ptr, b1.data, b1.len) == 0);
            }
            free(ev);
        }
    }
    CHECK(h_locked_on(h, vid, 0, h1));
    h_buf_free(&b1);
    free(r1);
    free(r2);
    h_free(&h);
}

static void test_behind(void)
{
    TEST_BEGIN("sequence ahead: BEHIND with the next sequence");
    h_net *h = setup();
    uint8_t vid[32];
    h_voucher_account(h, 0, 1, vid);

    struct {
        uint64_t serial, seq, want_next;
    } cases[3] = {{1, 3, 0}, {99, 0, 0}, {1, 5, 1}};
    /* {99, 0}: a voucher the node has not seen: BEHIND 0 (docs/consensus.md). */
    for (int i = 0; i < 3; i++) {
        if (i == 2) {
            vl_order *r0 = h_redeem(h, 0, 1, 0, 0, 100, 0);
            APPLY(h, r0);
            free(r0);
        }
        vl_order *r = h_redeem(h, 0, cases[i].serial, cases[i].seq, 0, 100, 0);
        uint8_t hash[32], acct[32];
        h_order_hash(r, hash);
        h_order_account(r, acct);
        vl_order *arr[1] = {r};
        CHECK_ERR(h_vote_request(h, h->voter[1], arr, 1), VL_OK);
        vl_msg *m = h_vote_reply(h, h->voter[1]);
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK(!h_reply_has_leaf(m, r));
            const vl_answer *a = h_reply_answer(m, hash);
            CHECK(a != NULL);
            if (a != NULL) {
                CHECK(a->kind == VL_ANSWER_BEHIND);
                CHECK(a->next_seq == cases[i].want_next);
                if (a->kind != VL_ANSWER_BEHIND || a->next_seq != cases[i].want_next) {
                    fprintf(stderr, "    case %d: kind %u next_seq %llu code %s\n", i, a->kind,
                            (unsigned long long)a->next_seq, vl_err_name(a->code));
                }
            }
        }
        CHECK(h_no_lock(h, acct, cases[i].seq));
        free(r);
    }
    h_free(&h);
}

static void test_certified(void)
{
    TEST_BEGIN("certified slot: CERTIFIED with the certificate");
    h_net *h = setup();
    vl_order *r1 = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *r2 = h_redeem(h, 0, 1, 0, 0, 250, 1);
    uint8_t h1[32], h2[32];
    h_order_hash(r1, h1);
    h_order_hash(r2, h2);
    h_buf cert = h_cert_q(h, r1);
    CHECK_ERR(h_send_certs(h, h->voter[1], &cert, 1), VL_OK);

    vl_order *asks[2] = {r1, r2}; /* the certified order itself, and a rival */
    for (int i = 0; i < 2; i++) {
        const uint8_t *hash = i == 0 ? h1 : h2;
        CHECK_ERR(h_vote_request(h, h->voter[2], &asks[i], 1), VL_OK);
        vl_msg *m = h_vote_reply(h, h->voter[2]);
        CHECK(m != NULL);
        if (m == NULL) {
            continue;
        }
        CHECK(!h_reply_has_leaf(m, asks[i]));
        const vl_answer *a = h_reply_answer(m, hash);
        CHECK(a != NULL);
        if (a == NULL) {
            continue;
        }
        CHECK(a->kind == VL_ANSWER_CERTIFIED);
        vl_cert *c = calloc(1, sizeof *c);
        CHECK(c != NULL);
        if (c != NULL) {
            CHECK_ERR(vl_cert_decode(a->evidence.ptr, a->evidence.len, c), VL_OK);
            uint8_t ch[32] = {0};
            CHECK_ERR(vl_cert_verify(h->g, c, NULL, ch), VL_OK);
            CHECK_MEM(ch, h1, 32);
            CHECK(a->evidence.len == cert.len &&
                  memcmp(a->evidence.ptr, cert.data, cert.len) == 0);
        }
        free(c);
    }
    h_buf_free(&cert);
    free(r1);
    free(r2);
    h_free(&h);
}

static void expect_not_voter(h_net *h, int line)
{
    H_WHERE_BEGIN;
    vl_core_stats st;
    vl_core_get_stats(h->core, &st);
    CHECK((st.status.flags & VL_STATUS_VOTER) == 0);
    uint64_t votes_before = st.votes_sent;
    vl_order *r = h_redeem(h, 0, 2, 0, 0, 100, 0);
    vl_order *o = h_issue(h, 0, 1, 50, 1, 100, 0);
    vl_order *arr[2] = {r, o};
    uint8_t hashes[2][32], accts[2][32];
    for (int i = 0; i < 2; i++) {
        h_order_hash(arr[i], hashes[i]);
        h_order_account(arr[i], accts[i]);
    }
    uint16_t from = h->voter[1];
    CHECK_ERR(h_vote_request(h, from, arr, 2), VL_OK);
    vl_msg *m = h_vote_reply(h, from);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->leaf_count == 0);
        for (int i = 0; i < 2; i++) {
            const vl_answer *a = h_reply_answer(m, hashes[i]);
            CHECK(a != NULL);
            if (a != NULL) {
                CHECK(a->kind == VL_ANSWER_REJECTED);
                CHECK_ERR(a->code, VL_ERR_NOT_VOTER);
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        CHECK(h_no_lock(h, accts[i], arr[i]->seq));
    }
    vl_core_get_stats(h->core, &st);
    CHECK(st.votes_sent == votes_before);
    free(r);
    free(o);
    H_WHERE_END(line);
}

static void test_observer_never_votes(void)
{
    TEST_BEGIN("observer never votes");
    h_net *h = setup_node(true, false);
    /* It still replicates: the ISSUE certificate was applied by setup. */
    expect_not_voter(h, __LINE__);
    h_free(&h);
}

static void test_force_observer(void)
{
    TEST_BEGIN("voter forced to observe (lost data) never votes, across restarts");
    h_net *h = setup_node(false, true);
    expect_not_voter(h, __LINE__);
    /* The flag is stored: reopening without it must not make it vote again
     * under the same key (DESIGN.md 5, "Lost data"). */
    h_close(h);
    CHECK_ERR(h_open(h, h->voter[0], false), VL_OK);
    if (h->core != NULL) {
        expect_not_voter(h, __LINE__);
    }
    h_free(&h);
}

static void test_batch_one_signature(void)
{
    TEST_BEGIN("a batch of orders: one signature over the root of all voted leaves");
    h_net *h = setup();
    vl_core_stats st0, st1;
    vl_core_get_stats(h->core, &st0);
    /* Three redemptions of three vouchers, a second ISSUE, and one
     * overspend that must get an answer instead of a leaf. */
    vl_order *orders[5] = {
        h_redeem(h, 0, 1, 0, 0, 100, 0), h_redeem(h, 0, 2, 0, 0, 200, 1),
        h_redeem(h, 0, 3, 0, 0, 300, 0), h_issue(h, 0, 1, 100, 3, 700, 2),
        h_redeem(h, 0, 4, 0, 0, FACE_FEN + 1, 0),
    };
    uint8_t hashes[5][32];
    for (int i = 0; i < 5; i++) {
        h_order_hash(orders[i], hashes[i]);
    }
    CHECK_ERR(h_vote_request(h, h->voter[1], orders, 5), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, h->voter[1], VL_MSG_VOTE_REPLY) == 1);
    vl_msg *m = h_vote_reply(h, h->voter[1]);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->leaf_count == 4);
        for (int i = 0; i < 4; i++) {
            CHECK(h_reply_has_leaf(m, orders[i]));
        }
        CHECK(!h_reply_has_leaf(m, orders[4]));
        CHECK(m->answer_count == 1);
        const vl_answer *a = h_reply_answer(m, hashes[4]);
        CHECK(a != NULL && a->kind == VL_ANSWER_REJECTED && a->code == VL_ERR_OVERSPEND);
        /* One signature, over the Merkle root of the voted leaves. */
        CHECK_ERR(h_reply_vote_verify(h, m, h->self), VL_OK);
        vl_batch_vote v;
        memset(&v, 0, sizeof v);
        v.voter = h->self;
        vl_merkle_root(v.root, (const uint8_t(*)[32])m->leaves, m->leaf_count);
        memcpy(v.sig, m->vote_sig, 64);
        CHECK_ERR(vl_batch_vote_verify(h->g, &v, NULL), VL_OK);
        v.voter = h->voter[1]; /* the same signature is not voter 1's */
        CHECK_ERR(vl_batch_vote_verify(h->g, &v, NULL), VL_ERR_BAD_SIG);
        /* Each leaf's path from that reply makes a certificate that verifies
         * and that the node then applies. */
        uint16_t others[2] = {h->voter[2], h->voter[3]};
        h_buf c = h_cert_with_reply(h, orders[2], m, others, 2);
        CHECK(c.data != NULL);
        if (c.data != NULL) {
            CHECK_ERR(h_send_certs(h, h->voter[2], &c, 1), VL_OK);
            uint8_t vid[32];
            h_voucher_account(h, 0, 3, vid);
            vl_account acc = ACCT(h, vid);
            CHECK(acc.remaining_fen == FACE_FEN - 300);
        }
        h_buf_free(&c);
    }
    for (int i = 0; i < 4; i++) {
        uint8_t acct[32];
        h_order_account(orders[i], acct);
        if (i != 2) {
            CHECK(h_locked_on(h, acct, orders[i]->seq, hashes[i]));
        }
    }
    vl_core_get_stats(h->core, &st1);
    CHECK(st1.votes_sent == st0.votes_sent + 4);
    for (int i = 0; i < 5; i++) {
        free(orders[i]);
    }
    h_free(&h);
}

/* A VOTE_REPLY from peer `from` with one answer: BEHIND at next_seq. */
static void feed_behind(h_net *h, uint16_t from, const uint8_t hash[32], uint64_t next_seq)
{
    vl_msg m;
    vl_answer ans;
    memset(&ans, 0, sizeof ans);
    memcpy(ans.order_hash, hash, 32);
    ans.kind = VL_ANSWER_BEHIND;
    ans.next_seq = next_seq;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_VOTE_REPLY;
    m.req_id = 900 + from;
    m.from = from;
    m.answers = &ans;
    m.answer_count = 1;
    h_buf b = h_msg_bytes(&m);
    CHECK_ERR(h_feed_peer(h, from, b.data, b.len), VL_OK);
    h_buf_free(&b);
}

static void test_client_timeout_answers(void)
{
    TEST_BEGIN("coordinator: at the client timeout, UNKNOWN_ACCOUNT when no quorum knows "
               "the voucher, else TIMEOUT");
    struct {
        uint64_t serial, seq;
        int behind_peers; /* voters 1.. that answer BEHIND at 0 */
        vl_err want;
        const char *text; /* a part of the reply's message */
    } cases[4] = {
        /* never issued, seq 0: two voters + this one = q say unknown */
        {99, 0, 2, VL_ERR_UNKNOWN_ACCOUNT, "nor 2 voters know it"},
        /* one voter + this one: not a quorum; voter 3 never heard from */
        {99, 0, 1, VL_ERR_TIMEOUT, "heard from 2 voter(s) that vote in the last"},
        /* a known voucher, an order from the future: BEHIND 0 means "later",
         * and the text names the gap (vl_coord.c timeout_answer) */
        {1, 3, 2, VL_ERR_TIMEOUT, "for seq 3, the account's next is 0 here"},
        /* never issued but seq 1: BEHIND 0 is not proof of "unknown" */
        {99, 1, 3, VL_ERR_TIMEOUT, "may still complete"},
    };
    for (int i = 0; i < 4; i++) {
        h_net *h = h_new_std();
        h->cfg.client_timeout_ms = 1000;
        OPEN_OK(h, h->voter[0], false);
        vl_order *iss = h_issue(h, 0, 0, 1, 8, FACE_FEN, 0);
        APPLY(h, iss);
        free(iss);
        vl_order *r = h_redeem(h, 0, cases[i].serial, cases[i].seq, 0, 100, 0);
        uint8_t hash[32], acct[32];
        h_order_hash(r, hash);
        h_order_account(r, acct);
        CHECK_ERR(h_client(h, 7, VL_REQ_SUBMIT, r, NULL, 0, 0), VL_OK);
        CHECK(h_find(h, VL_OUT_CLIENT, 7, VL_MSG_CLIENT_REPLY) == NULL);
        for (int p = 1; p <= cases[i].behind_peers; p++)
            feed_behind(h, h->voter[p], hash, 0);
        CHECK(h_find(h, VL_OUT_CLIENT, 7, VL_MSG_CLIENT_REPLY) == NULL);
        h->now_ms += 1000;
        CHECK_ERR(h_tick(h), VL_OK);
        vl_msg *m = h_find(h, VL_OUT_CLIENT, 7, VL_MSG_CLIENT_REPLY);
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK(m->reply_kind == VL_REPLY_ERROR);
            CHECK_ERR((vl_err)m->code, cases[i].want);
            char text[VL_MAX_ERROR_MSG_LEN + 1];
            snprintf(text, sizeof text, "%.*s", (int)m->text.len, (const char *)m->text.ptr);
            CHECK(strstr(text, cases[i].text) != NULL);
            if (strstr(text, cases[i].text) == NULL)
                fprintf(stderr, "    case %d: \"%s\"\n", i, text);
        }
        CHECK(h_no_lock(h, acct, cases[i].seq));
        free(r);
        h_free(&h);
    }
}

/* A lock with no certificate (here: no peer ever answers, as for a frozen
 * slot) is re-driven by its voter, each time twice as long after the last
 * (vl_coord.c, redrive_locks), up to 32 x redrive_after_ms: it keeps being
 * re-driven (an order whose coordinator died still completes), but not
 * once a second for ever. */
static void test_redrive_backoff(void)
{
    TEST_BEGIN("a lock that never completes: re-driven at R, 2R, 4R, ..., not every R");
    h_net *h = h_new_std();
    h->cfg.redrive_after_ms = 1000;
    h->cfg.client_timeout_ms = 1000;
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, 8, FACE_FEN, 0);
    APPLY(h, iss);
    free(iss);
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *arr[1] = {r};
    CHECK_ERR(h_vote_request(h, h->voter[1], arr, 1), VL_OK); /* voted: the lock */
    uint32_t early = 0, late = 0; /* rounds in the first 10 s, in 60..120 s */
    for (int t = 1; t <= 1200; t++) {
        h->now_ms += 100;
        CHECK_ERR(h_tick(h), VL_OK);
        if (h_count(h, VL_OUT_PEER, h->voter[2], VL_MSG_VOTE_REQUEST) == 0)
            continue;
        if (t <= 100)
            early++;
        else if (t > 600)
            late++;
    }
    /* Without the backoff: about one round a second (re-drive, re-request),
     * so about 60 in the last minute. */
    CHECK(early >= 3);
    CHECK(late >= 1 && late <= 4);
    if (late < 1 || late > 4)
        fprintf(stderr, "    rounds: %u in the first 10 s, %u in the last 60 s\n", early, late);
    free(r);
    h_free(&h);
}

static void test_faulty_coordinator(void)
{
    TEST_BEGIN("a vote request with a badly signed order: the rest is not read, the peer's "
               "vote requests are dropped unread for VL_PEER_PENALTY_MS, counted against it");
    h_net *h = setup();
    uint16_t bad = h->voter[3];
    vl_order *good1 = h_redeem(h, 0, 1, 0, 0, 100, 0), *good2 = h_redeem(h, 0, 2, 0, 0, 100, 0);
    vl_order *forged = h_redeem(h, 0, 3, 0, 0, 100, 0), *later = h_redeem(h, 0, 4, 0, 0, 100, 0);
    forged->sigs[0][5] ^= 0x40; /* the holder's signature no longer verifies */
    uint8_t h1[32], hf[32], h2[32];
    h_order_hash(good1, h1);
    h_order_hash(forged, hf);
    h_order_hash(good2, h2);
    bool penalized = true;
    CHECK(vl_core_peer_faults(h->core, bad, &penalized) == 0 && !penalized);
    vl_order *req[3] = {good1, forged, good2};
    CHECK_ERR(h_vote_request(h, bad, req, 3), VL_OK);
    vl_msg *m = h_vote_reply(h, bad);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(h_reply_has_leaf(m, good1)); /* read before the proof */
        const vl_answer *a = h_reply_answer(m, hf);
        CHECK(a != NULL && a->kind == VL_ANSWER_REJECTED && a->code == VL_ERR_BAD_SIG);
        CHECK(!h_reply_has_leaf(m, good2) && h_reply_answer(m, h2) == NULL); /* not read */
    }
    CHECK(vl_core_peer_faults(h->core, bad, &penalized) == 1 && penalized);
    CHECK(vl_core_peer_faults(h->core, h->voter[2], &penalized) == 0 && !penalized);
    h_snap sn;
    h_snapshot(h, &sn);
    CHECK(sn.stats.bad_inputs == 1);
    /* Its next request, a good order: dropped unread, no reply, counted. */
    h->now_ms += VL_PEER_PENALTY_MS - 1;
    vl_order *one[1] = {later};
    CHECK_ERR(h_vote_request(h, bad, one, 1), VL_OK);
    CHECK(h_vote_reply(h, bad) == NULL);
    CHECK(vl_core_peer_faults(h->core, bad, &penalized) == 2 && penalized);
    uint8_t vid[32], lock[32];
    h_voucher_account(h, 0, 4, vid);
    CHECK_ERR(vl_core_get_lock(h->core, vid, 0, lock), VL_ERR_UNKNOWN_ACCOUNT);
    /* Another peer's request is read as ever. */
    CHECK_ERR(h_vote_request(h, h->voter[2], one, 1), VL_OK);
    m = h_vote_reply(h, h->voter[2]);
    CHECK(m != NULL && h_reply_has_leaf(m, later));
    /* The penalty over: its requests are read again. */
    h->now_ms += 1;
    vl_order *two[1] = {good2};
    CHECK_ERR(h_vote_request(h, bad, two, 1), VL_OK);
    m = h_vote_reply(h, bad);
    CHECK(m != NULL && h_reply_has_leaf(m, good2));
    CHECK(vl_core_peer_faults(h->core, bad, &penalized) == 2 && !penalized);
    free(good1);
    free(good2);
    free(forged);
    free(later);
    h_free(&h);
}

int main(void)
{
    test_same_order_twice();
    test_conflict();
    test_behind();
    test_certified();
    test_observer_never_votes();
    test_force_observer();
    test_batch_one_signature();
    test_client_timeout_answers();
    test_redrive_backoff();
    test_faulty_coordinator();
    VL_TEST_END();
}
