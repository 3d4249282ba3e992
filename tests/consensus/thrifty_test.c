/* thrifty_test.c - whom a coordinator asks to vote, and who checks client
 * signatures (consensus/vl_core.c note 21; wire/vl_verify.c note 8):
 *
 *  a. a fresh order submitted to a voter: its step asks exactly q - 1 = 2
 *     other voters, the ones the rotation from the order hash names
 *     (vl_coord.c, request_quorum), and the certificate is the coordinator's
 *     vote and theirs;
 *  b. one of them refuses (REJECTED, or CONFLICT with a rival order): the
 *     same step asks the remaining voter, and its vote completes the quorum;
 *  c. a voter whose vote requests went unanswered for more than
 *     redrive_after_ms / 4 is passed over for new orders, probed (asked in
 *     addition) at most once per that interval, and picked again as soon as
 *     it answers;
 *  d. a voter that was not asked applies the certificate without looking
 *     up its order's client signatures (the signature cache's counters);
 *  e. a certificate whose order signature bytes were replaced after the
 *     votes (garbage, or other valid signatures) is refused: bad input, no
 *     state change.  The vote leaf binds the bytes.
 *  g. a voter that votes for one order but lets another asked of it go
 *     unanswered for that interval is passed over for 4 intervals all the
 *     same (a byzantine walk: signed votes for random leaves kept a voter
 *     that never voted "not slow", and every order that picked it waited);
 *  f. two voters run as observers (a restored backup) and answer NOT_VOTER:
 *     the client gets QUORUM with a text that counts them, never NOT_VOTER
 *     (vl_core.c note 25); STATUS stops claiming IN_QUORUM although both are
 *     heard, and claims it again once one of them votes.
 *
 * The node under test is voter 0 of a 4-voter network (f=1, q=3, one
 * observer); the test plays the other voters and the clients. */
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 1000u
#define VOUCHERS 64u /* vouchers issued at setup: serials 1..VOUCHERS */

static h_net *setup(uint64_t redrive_after_ms)
{
    h_net *h = h_new_std();
    if (redrive_after_ms != 0) {
        h->cfg.redrive_after_ms = redrive_after_ms;
    }
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, VOUCHERS, FACE_FEN, 0);
    APPLY(h, iss);
    free(iss);
    return h;
}

static uint32_t bit(uint16_t v)
{
    return 1u << v;
}

/* The voters other than the node under test. */
static uint32_t others(const h_net *h)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < h->voter_count; i++) {
        if (h->voter[i] != h->self) {
            m |= bit(h->voter[i]);
        }
    }
    return m;
}

/* Whom the node under test asks first for a new order o it votes on itself
 * (vl_coord.c, request_quorum), with the voters in `slow` passed over: q - 1
 * other voters, in turn from (hash[1] << 8 | hash[2]) mod the node count.
 * 0 when fewer than q - 1 are left (then it asks every voter). */
static uint32_t rotation(const h_net *h, const vl_order *o, uint32_t slow)
{
    uint8_t hash[32];
    h_order_hash(o, hash);
    /* The other voters in index order; the rotation starts among them. */
    uint16_t other[VL_MAX_NODES];
    uint32_t n = 0;
    for (uint32_t v = 0; v < h->g->node_count; v++) {
        if (v != h->self && (others(h) & bit((uint16_t)v)) != 0) {
            other[n++] = (uint16_t)v;
        }
    }
    uint32_t start = ((uint32_t)hash[1] << 8 | hash[2]) % n, pick = 0;
    for (uint32_t i = 0; i < n && h_bits(pick) < h->g->quorum - 1u; i++) {
        uint16_t v = other[(start + i) % n];
        if ((slow & bit(v)) == 0) {
            pick |= bit(v);
        }
    }
    return h_bits(pick) == h->g->quorum - 1u ? pick : 0;
}

static void submit(h_net *h, uint64_t client, const vl_order *o)
{
    h_buf b = h_client_bytes(h, VL_REQ_SUBMIT, o, NULL, 0, 0);
    CHECK_ERR(h_feed_client(h, client, b.data, b.len), VL_OK);
    h_buf_free(&b);
}

static void vote(h_net *h, uint16_t voter, const vl_order *o)
{
    vl_order *arr[1] = {(vl_order *)o};
    CHECK_ERR(h_feed_votes(h, voter, arr, 1), VL_OK);
}

/* A VOTE_REPLY from `from` with one answer for o: `kind`, `code`, and the
 * encoding of `evidence` (NULL: none). */
static void answer(h_net *h, uint16_t from, const vl_order *o, uint8_t kind, vl_err code,
                   const vl_order *evidence)
{
    vl_answer a;
    memset(&a, 0, sizeof a);
    h_order_hash(o, a.order_hash);
    a.kind = kind;
    a.code = (uint16_t)code;
    h_buf ev = {NULL, 0};
    if (evidence != NULL) {
        ev = h_order_bytes(evidence);
        a.evidence = (vl_bytes){ev.data, (uint32_t)ev.len};
    }
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_VOTE_REPLY;
    m.req_id = h->next_req_id++;
    m.from = from;
    m.answers = &a;
    m.answer_count = 1;
    h_buf b = h_msg_bytes(&m);
    CHECK_ERR(h_feed_peer(h, from, b.data, b.len), VL_OK);
    h_buf_free(&b);
    h_buf_free(&ev);
}

/* The last step answered `client` with a certificate of o that verifies
 * and carries the votes of exactly the voters in `voters`. */
static void expect_cert(h_net *h, uint64_t client, const vl_order *o, uint32_t voters,
                        int line)
{
    H_WHERE_BEGIN;
    vl_msg *m = h_find(h, VL_OUT_CLIENT, client, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_CERT && m->item_count == 1);
    vl_cert *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    if (m != NULL && m->reply_kind == VL_REPLY_CERT && m->item_count == 1 && c != NULL) {
        CHECK_ERR(vl_cert_decode(m->items[0].ptr, m->items[0].len, c), VL_OK);
        uint8_t got[32] = {0}, want[32];
        h_order_hash(o, want);
        CHECK_ERR(vl_cert_verify(h->g, c, NULL, got), VL_OK);
        CHECK_MEM(got, want, 32);
        uint32_t in_cert = 0;
        for (uint32_t i = 0; i < c->vote_count; i++) {
            in_cert |= bit(c->votes[i].voter);
        }
        CHECK(in_cert == voters);
        if (in_cert != voters) {
            fprintf(stderr, "    voters %#x, want %#x\n", in_cert, voters);
        }
        CHECK(h_count(h, VL_OUT_BROADCAST, 0, VL_MSG_CERTS) == 1);
    }
    free(c);
    H_WHERE_END(line);
}
#define EXPECT_CERT(h, client, o, voters) expect_cert((h), (client), (o), (voters), __LINE__)

static void expect_no_reply(h_net *h, uint64_t client, int line)
{
    H_WHERE_BEGIN;
    CHECK(h_find(h, VL_OUT_CLIENT, client, VL_MSG_CLIENT_REPLY) == NULL);
    H_WHERE_END(line);
}
#define EXPECT_NO_REPLY(h, client) expect_no_reply((h), (client), __LINE__)

/* The step just taken asked exactly the voters in `want` about o. */
static void check_asked(h_net *h, const vl_order *o, uint32_t want)
{
    uint32_t got = h_asked(h, o);
    CHECK(got == want);
    CHECK(h_count(h, 0, 0, VL_MSG_VOTE_REQUEST) == h_bits(want));
    if (got != want) {
        fprintf(stderr, "    asked %#x, want %#x\n", got, want);
    }
}

static void expect_asked(h_net *h, const vl_order *o, uint32_t want, int line)
{
    H_WHERE_BEGIN;
    check_asked(h, o, want);
    H_WHERE_END(line);
}
#define EXPECT_ASKED(h, o, want) expect_asked((h), (o), (want), __LINE__)

/* ---- a. q - 1 peers, by the rotation ------------------------------------------------- */

static void test_asks_quorum(void)
{
    TEST_BEGIN("a fresh order: exactly q - 1 peers asked, by the rotation; their votes certify");
    h_net *h = setup(0);
    uint32_t seen[8], n_seen = 0;
    for (uint64_t serial = 1; serial <= 8; serial++) {
        vl_order *r = h_redeem(h, 0, serial, 0, 0, 100, (unsigned)serial % 2u);
        uint64_t client = 100 + serial;
        uint32_t want = rotation(h, r, 0);
        CHECK(h_bits(want) == 2 && (want & bit(h->self)) == 0 && (want & ~others(h)) == 0);
        submit(h, client, r);
        EXPECT_ASKED(h, r, want);
        EXPECT_NO_REPLY(h, client);
        bool new_set = true;
        for (uint32_t k = 0; k < n_seen; k++) {
            new_set = new_set && seen[k] != want;
        }
        if (new_set) {
            seen[n_seen++] = want;
        }
        /* The first asked voter's vote: two of three. */
        uint16_t p[2], np = 0;
        for (uint16_t v = 0; v < 32 && np < 2; v++) {
            if ((want & bit(v)) != 0) {
                p[np++] = v;
            }
        }
        vote(h, p[0], r);
        EXPECT_NO_REPLY(h, client);
        CHECK(h_count(h, 0, 0, VL_MSG_VOTE_REQUEST) == 0);
        vote(h, p[1], r);
        EXPECT_CERT(h, client, r, bit(h->self) | want);
        free(r);
    }
    /* The rotation spreads the load: not always the same two. */
    CHECK(n_seen >= 2);
    h_snap s;
    h_snapshot(h, &s);
    CHECK(s.stats.votes_widened == 0); /* nobody refused or lagged: no order widened */
    h_free(&h);
}

/* The two voters of `want` in index order into p, the one of `rest` into *third. */
static void split_voters(uint32_t want, uint32_t rest, uint16_t p[2], uint16_t *third)
{
    uint32_t np = 0;
    p[0] = p[1] = *third = 0;
    for (uint16_t v = 0; v < 32; v++) {
        if ((want & bit(v)) != 0 && np < 2) {
            p[np++] = v;
        }
        if ((rest & bit(v)) != 0) {
            *third = v;
        }
    }
}

/* ---- b. a refusal: the rest are asked ------------------------------------------------- */

static void test_refusal_asks_rest(void)
{
    TEST_BEGIN("an asked voter refuses (REJECTED, CONFLICT): the remaining voter is asked "
               "in the same step; a certificate still forms");
    for (int kind = 0; kind < 2; kind++) {
        h_net *h = setup(0);
        vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
        vl_order *rival = h_redeem(h, 0, 1, 0, 0, 300, 1); /* the same slot */
        uint32_t want = rotation(h, r, 0);
        uint32_t rest = others(h) & ~want;
        CHECK(h_bits(rest) == 1);
        uint16_t p[2], third;
        split_voters(want, rest, p, &third);
        submit(h, 7, r);
        EXPECT_ASKED(h, r, want);
        if (kind == 0) {
            answer(h, p[0], r, VL_ANSWER_REJECTED, VL_ERR_OVERSPEND, NULL);
        } else {
            answer(h, p[0], r, VL_ANSWER_CONFLICT, VL_OK, rival);
        }
        EXPECT_ASKED(h, r, bit(third));
        EXPECT_NO_REPLY(h, 7);
        vote(h, p[1], r);
        EXPECT_NO_REPLY(h, 7);
        vote(h, third, r);
        EXPECT_CERT(h, 7, r, bit(h->self) | bit(p[1]) | bit(third));
        h_snap s;
        h_snapshot(h, &s);
        CHECK(s.stats.bad_inputs == 0); /* the CONFLICT evidence was good */
        CHECK(s.stats.votes_widened == 1); /* the metric an operator watches */
        free(rival);
        free(r);
        h_free(&h);
    }
}

/* ---- c. a slow voter: passed over, probed, picked again ------------------------------- */

/* The first order, from serial *next on, whose rotation (no voter slow)
 * does (with = true) or does not name voter v. */
static vl_order *order_naming(h_net *h, uint16_t v, bool with, uint64_t *next)
{
    for (; *next <= VOUCHERS; (*next)++) {
        vl_order *r = h_redeem(h, 0, *next, 0, 0, 100, 0);
        if (((rotation(h, r, 0) & bit(v)) != 0) == with) {
            (*next)++;
            return r;
        }
        free(r);
    }
    fprintf(stderr, "thrifty_test: no voucher left whose rotation fits\n");
    exit(2);
}

/* Submit o as `client` at now_ms, check whom the step asked, and let every
 * asked voter but `silent` vote at once (so none of them turns slow). */
static void round_of(h_net *h, const vl_order *o, uint64_t client, uint32_t want, uint16_t silent,
                     int line)
{
    H_WHERE_BEGIN;
    submit(h, client, o);
    check_asked(h, o, want);
    for (uint16_t v = 0; v < 32; v++) {
        if ((want & bit(v)) != 0 && v != silent) {
            vote(h, v, o);
        }
    }
    H_WHERE_END(line);
}
#define ROUND(h, o, client, want, silent) round_of((h), (o), (client), (want), (silent), __LINE__)

static void test_slow_voter(void)
{
    TEST_BEGIN("a voter unanswering for > redrive_after_ms / 4: passed over, probed once per "
               "interval, picked again once it answers");
    const uint64_t redrive_ms = 4000;
    /* Slow once a request is unanswered for slow_ms: the quarter and 1 ms. */
    const uint64_t slow_ms = redrive_ms / 4 + 1;
    h_net *h = setup(redrive_ms);
    uint64_t t0 = h->now_ms, next = 1;
    vl_order *o[8];
    o[0] = h_redeem(h, 0, next++, 0, 0, 100, 0);
    /* s: an asked voter that does not answer. */
    uint32_t first = rotation(h, o[0], 0);
    uint16_t s = 0;
    while ((first & bit(s)) == 0) {
        s++;
    }
    uint32_t rest = others(h) & ~bit(s); /* the two others */
    ROUND(h, o[0], 1, first, s);
    EXPECT_NO_REPLY(h, 1); /* our vote and one other */

    /* Unanswered for the quarter exactly: not slow yet, still picked. */
    h->now_ms = t0 + slow_ms - 1;
    o[1] = order_naming(h, s, true, &next);
    ROUND(h, o[1], 2, rotation(h, o[1], 0), s);
    EXPECT_NO_REPLY(h, 2);

    /* Slow: the two others are picked, s is probed once in the interval. */
    h->now_ms = t0 + slow_ms;
    o[2] = order_naming(h, s, true, &next);
    CHECK(rotation(h, o[2], bit(s)) == rest);
    ROUND(h, o[2], 3, rest | bit(s), s);
    EXPECT_CERT(h, 3, o[2], bit(h->self) | rest);
    h->now_ms = t0 + slow_ms + 1;
    o[3] = order_naming(h, s, true, &next);
    ROUND(h, o[3], 4, rest, s);
    EXPECT_CERT(h, 4, o[3], bit(h->self) | rest);
    h->now_ms = t0 + 2 * slow_ms - 1; /* the probe's interval is not over */
    o[4] = order_naming(h, s, true, &next);
    ROUND(h, o[4], 5, rest, s);
    h->now_ms = t0 + 2 * slow_ms; /* it is: one more probe */
    o[5] = order_naming(h, s, true, &next);
    ROUND(h, o[5], 6, rest | bit(s), s);
    h->now_ms = t0 + 2 * slow_ms + 1;
    o[6] = order_naming(h, s, true, &next);
    ROUND(h, o[6], 7, rest, s);
    CHECK(h->now_ms < t0 + redrive_ms); /* no re-request to all has run */

    /* s answers (its vote for the first order, which completes it). */
    vote(h, s, o[0]);
    EXPECT_CERT(h, 1, o[0], bit(h->self) | first);
    h->now_ms += 1;
    o[7] = order_naming(h, s, true, &next);
    ROUND(h, o[7], 8, rotation(h, o[7], 0), 0xffff);
    CHECK((rotation(h, o[7], 0) & bit(s)) != 0);
    for (int i = 0; i < 8; i++) {
        free(o[i]);
    }
    h_free(&h);
}

/* ---- f. a silent asked voter: the tick asks the rest after the quarter ---------------- */

/* A faulty voter's junk reply from `from`: a VOTE_REPLY that votes for o
 * under a signature that is not its own, or (signed) a validly signed
 * vote for a leaf that is no order's. */
static void junk_vote(h_net *h, uint16_t from, const vl_order *o, bool signed_other)
{
    uint8_t leaf[32];
    h_vote_leaf(o, leaf);
    if (signed_other)
        leaf[0] ^= 0x5a;
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_VOTE_REPLY;
    m.req_id = h->next_req_id++;
    m.from = from;
    m.leaf_count = 1;
    m.leaves = &leaf;
    uint8_t msg32[32];
    vl_vote_message(msg32, leaf);
    vl_sign(m.vote_sig, &h->node_key[signed_other ? from : (from + 1u) % h->g->node_count], msg32,
            NULL);
    h_buf b = h_msg_bytes(&m);
    CHECK_ERR(h_feed_peer(h, from, b.data, b.len), VL_OK);
    h_buf_free(&b);
}

static void test_silent_asked_voter(void)
{
    TEST_BEGIN("an asked voter stays silent (or answers junk, or signs a vote for no order): "
               "the tick asks the rest after redrive_after_ms / 4, long before the re-request");
    const uint64_t redrive_ms = 4000, slow_ms = redrive_ms / 4 + 1;
    for (int junk = 0; junk < 3; junk++) {
        h_net *h = setup(redrive_ms);
        uint64_t t0 = h->now_ms;
        vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
        uint32_t want = rotation(h, r, 0), rest = others(h) & ~want;
        uint16_t p[2], third;
        split_voters(want, rest, p, &third);
        submit(h, 9, r);
        EXPECT_ASKED(h, r, want);
        vote(h, p[0], r); /* p[1] is silent, or answers with a bad signature */
        if (junk) {
            junk_vote(h, p[1], r, junk == 2);
            h_snap sn;
            h_snapshot(h, &sn);
            CHECK(sn.stats.bad_inputs == (junk == 1 ? 1u : 0u));
        }
        EXPECT_NO_REPLY(h, 9);
        h->now_ms = t0 + slow_ms - 1;
        CHECK_ERR(h_tick(h), VL_OK);
        CHECK(h_count(h, 0, 0, VL_MSG_VOTE_REQUEST) == 0); /* not yet */
        h->now_ms = t0 + slow_ms;
        CHECK_ERR(h_tick(h), VL_OK);
        EXPECT_ASKED(h, r, bit(third)); /* the rest, and only the rest */
        h_snap sw;
        h_snapshot(h, &sw);
        CHECK(sw.stats.votes_widened == 1);
        CHECK_ERR(h_tick(h), VL_OK);
        CHECK(h_count(h, 0, 0, VL_MSG_VOTE_REQUEST) == 0); /* once */
        vote(h, third, r);
        EXPECT_CERT(h, 9, r, bit(h->self) | bit(p[0]) | bit(third));
        CHECK(h->now_ms < t0 + redrive_ms);
        /* Neither silence nor a junk reply cleared the wait: p[1] is slow,
         * so orders whose rotation names it ask the others, p[1] only as
         * the interval's one probe. */
        uint64_t next = 2;
        vl_order *r2 = order_naming(h, p[1], true, &next);
        vl_order *r3 = order_naming(h, p[1], true, &next);
        submit(h, 10, r2);
        EXPECT_ASKED(h, r2, rotation(h, r2, bit(p[1])) | bit(p[1]));
        submit(h, 11, r3);
        EXPECT_ASKED(h, r3, rotation(h, r3, bit(p[1])));
        free(r3);
        free(r2);
        free(r);
        h_free(&h);
    }
}

/* ---- g. a voter that votes for some orders and withholds others ----------------------- */

static void test_partial_voter(void)
{
    TEST_BEGIN("a voter that lets an order asked of it go redrive_after_ms / 4 unanswered is "
               "passed over for 4 such intervals, though it voted for another since; 8 after a "
               "second time in a row");
    const uint64_t redrive_ms = 4000, slow_ms = redrive_ms / 4 + 1;
    h_net *h = setup(redrive_ms);
    uint64_t t0 = h->now_ms, next = 1;
    vl_order *a = h_redeem(h, 0, next++, 0, 0, 100, 0);
    uint32_t want = rotation(h, a, 0), rest = others(h) & ~want;
    uint16_t p[2], third;
    split_voters(want, rest, p, &third);
    uint16_t s = p[1]; /* votes for b, withholds a */
    submit(h, 1, a);
    EXPECT_ASKED(h, a, want);
    vote(h, p[0], a);
    h->now_ms = t0 + 1;
    vl_order *b = order_naming(h, s, true, &next);
    ROUND(h, b, 2, rotation(h, b, 0), 0xffff); /* s votes for b: its wait cleared */
    EXPECT_CERT(h, 2, b, bit(h->self) | rotation(h, b, 0));
    h->now_ms = t0 + slow_ms;
    CHECK_ERR(h_tick(h), VL_OK);
    EXPECT_ASKED(h, a, bit(third)); /* a: the rest asked, s struck */
    vote(h, third, a);
    EXPECT_CERT(h, 1, a, bit(h->self) | bit(p[0]) | bit(third));
    /* Slow although it answered since: passed over, probed once. */
    h->now_ms = t0 + slow_ms + 1;
    vl_order *c1 = order_naming(h, s, true, &next);
    vl_order *c2 = order_naming(h, s, true, &next);
    ROUND(h, c1, 3, rotation(h, c1, bit(s)) | bit(s), s); /* the others certify it */
    vote(h, s, c1); /* late: its wait clears, its row of strikes goes on */
    ROUND(h, c2, 4, rotation(h, c2, bit(s)), 0xffff);
    /* 4 intervals on, and every vote asked of it given: picked again. */
    h->now_ms = t0 + slow_ms + 4 * slow_ms;
    vl_order *d = order_naming(h, s, true, &next);
    uint64_t t1 = h->now_ms;
    submit(h, 5, d);
    EXPECT_ASKED(h, d, rotation(h, d, 0));
    /* It withholds d too: a second strike in a row, 8 intervals. */
    uint32_t dw = rotation(h, d, 0) & ~bit(s);
    for (uint16_t v = 0; v < 32; v++)
        if ((dw & bit(v)) != 0)
            vote(h, v, d);
    h->now_ms = t1 + slow_ms;
    CHECK_ERR(h_tick(h), VL_OK);
    EXPECT_ASKED(h, d, others(h) & ~rotation(h, d, 0));
    for (uint16_t v = 0; v < 32; v++) /* the rest certify it */
        if (((others(h) & ~rotation(h, d, 0)) & bit(v)) != 0)
            vote(h, v, d);
    EXPECT_CERT(h, 5, d, bit(h->self) | (others(h) & ~bit(s)));
    h->now_ms = t1 + slow_ms + 4 * slow_ms; /* the first window's length: still slow */
    vl_order *e2 = order_naming(h, s, true, &next);
    ROUND(h, e2, 6, rotation(h, e2, bit(s)) | bit(s), 0xffff);
    h->now_ms = t1 + slow_ms + 8 * slow_ms; /* twice it: over */
    vl_order *e3 = order_naming(h, s, true, &next);
    submit(h, 7, e3);
    EXPECT_ASKED(h, e3, rotation(h, e3, 0));
    vote(h, s, e3); /* first: a vote still wanted ends the row */
    for (uint16_t v = 0; v < 32; v++)
        if (((rotation(h, e3, 0) & ~bit(s)) & bit(v)) != 0)
            vote(h, v, e3);
    /* So withholding the next order is a first strike again: 4 intervals. */
    uint64_t t2 = h->now_ms;
    vl_order *f3 = order_naming(h, s, true, &next);
    submit(h, 8, f3);
    EXPECT_ASKED(h, f3, rotation(h, f3, 0));
    for (uint16_t v = 0; v < 32; v++)
        if (((rotation(h, f3, 0) & ~bit(s)) & bit(v)) != 0)
            vote(h, v, f3);
    h->now_ms = t2 + slow_ms;
    CHECK_ERR(h_tick(h), VL_OK);
    EXPECT_ASKED(h, f3, others(h) & ~rotation(h, f3, 0));
    for (uint16_t v = 0; v < 32; v++)
        if (((others(h) & ~rotation(h, f3, 0)) & bit(v)) != 0)
            vote(h, v, f3);
    EXPECT_CERT(h, 8, f3, bit(h->self) | (others(h) & ~bit(s)));
    vote(h, s, f3); /* late, after the others certified it */
    h->now_ms = t2 + slow_ms + 4 * slow_ms;
    vl_order *g3 = order_naming(h, s, true, &next);
    ROUND(h, g3, 9, rotation(h, g3, 0), 0xffff);
    free(g3);
    free(f3);
    free(e3);
    free(e2);
    free(d);
    free(c2);
    free(c1);
    free(b);
    free(a);
    h_free(&h);
}

/* ---- d. a voter not asked: no client signature checked -------------------------------- */

typedef struct {
    uint64_t order_lookups, vote_lookups;
} lookups;

static lookups count_lookups(h_net *h)
{
    vl_sigcache *c = vl_core_sigcache(h->core);
    return (lookups){vl_sigcache_order_hits(c) + vl_sigcache_order_misses(c),
                     vl_sigcache_hits(c) + vl_sigcache_misses(c)};
}

static void test_unasked_applies_vouched(void)
{
    TEST_BEGIN("a voter not asked applies the certificate without checking the order's "
               "client signatures");
    h_net *h = setup(0);
    uint8_t acct[32], buf[1 << 14];
    size_t len = 0;
    /* Asked: the node checks the order's two signatures (the counters
     * move). */
    vl_order *asked = h_redeem(h, 0, 1, 0, 0, 100, 0);
    lookups l0 = count_lookups(h);
    EXPECT_VOTED(h, asked);
    lookups l1 = count_lookups(h);
    CHECK(l1.order_lookups == l0.order_lookups + 2);
    /* Not asked: a certificate by the three other voters, for an order this
     * node never saw.  Its three votes are checked, no order signature. */
    vl_order *r = h_redeem(h, 0, 2, 0, 0, 200, 1);
    h_buf c = h_cert_q(h, r);
    CHECK_ERR(h_send_certs(h, h->voter[1], &c, 1), VL_OK);
    lookups l2 = count_lookups(h);
    CHECK(l2.order_lookups == l1.order_lookups);
    CHECK(l2.vote_lookups == l1.vote_lookups + 3);
    h_order_account(r, acct);
    CHECK_ERR(vl_core_get_slot_cert(h->core, acct, 0, buf, sizeof buf, &len), VL_OK);
    CHECK(len == c.len && memcmp(buf, c.data, c.len) == 0);
    h_buf_free(&c);
    free(r);
    free(asked);
    h_free(&h);
}

/* ---- e. the vote leaf binds the signature bytes ---------------------------------------- */

static void test_swapped_signatures_refused(void)
{
    TEST_BEGIN("a certificate whose order signatures were replaced after the votes: refused");
    h_net *h = setup(0);
    uint16_t vs[3] = {h->voter[1], h->voter[2], h->voter[3]};
    vl_cert *dc = calloc(1, sizeof *dc);
    CHECK(dc != NULL);
    /* Variant 0 on voucher 1, variant 1 on voucher 2. */
    for (unsigned variant = 0; variant < 2 && dc != NULL; variant++) {
        vl_order *r = h_redeem(h, 0, variant + 1u, 0, 0, 100, 0);
        uint8_t acct[32], hash[32], buf[1 << 14];
        h_order_account(r, acct);
        h_order_hash(r, hash);
        vl_cert *c = h_cert_make(h, r, vs, 3); /* votes over the signatures as signed */
        if (variant == 0) {
            memset(c->order.sigs[1], 0x5a, 64); /* the provider's: garbage */
        } else {
            /* The holder signs again with other aux randomness: another
             * valid signature of the same order. */
            uint8_t aux[32];
            memset(aux, 0x33, sizeof aux);
            vl_order_sign_slot(&c->order, 0, &h->holder[0], aux);
            CHECK(memcmp(c->order.sigs[0], r->sigs[0], 64) != 0);
            CHECK_ERR(vl_order_verify(h->g, &c->order, hash), VL_OK);
        }
        /* Each vote's path now starts from another leaf, so leads to
         * another root than the one its signature is over. */
        h_buf b = h_cert_bytes(c);
        CHECK(b.data != NULL);
        CHECK_ERR(vl_cert_decode(b.data, b.len, dc), VL_OK);
        CHECK_ERR(vl_cert_verify_vouched(h->g, dc, NULL, NULL), VL_ERR_BAD_SIG);
        if (variant == 1) { /* the order's own signatures are good */
            CHECK_ERR(vl_cert_verify(h->g, dc, NULL, NULL), VL_ERR_BAD_SIG);
        }
        h_snap s0, s1;
        h_snapshot(h, &s0);
        CHECK_ERR(h_send_certs(h, h->voter[1], &b, 1), VL_OK);
        h_snapshot(h, &s1);
        CHECK(h_same_state(&s0, &s1));
        CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
        CHECK(s1.stats.certs_applied == s0.stats.certs_applied);
        size_t len = 0;
        CHECK_ERR(vl_core_get_slot_cert(h->core, acct, 0, buf, sizeof buf, &len),
                  VL_ERR_UNKNOWN_ACCOUNT);
        /* The certificate as voted applies. */
        APPLY(h, r);
        h_buf_free(&b);
        free(c);
        free(r);
    }
    free(dc);
    h_free(&h);
}

/* ---- f. voters that run as observers ----------------------------------------------- */

static bool in_quorum(h_net *h)
{
    h_snap s;
    h_snapshot(h, &s);
    return (s.stats.status.flags & VL_STATUS_IN_QUORUM) != 0;
}

/* Client `client` got VL_ERR_QUORUM with a text that holds `want`. */
static void expect_quorum_text(h_net *h, uint64_t client, const char *want)
{
    vl_msg *m = h_find(h, VL_OUT_CLIENT, client, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ERROR);
    if (m == NULL || m->reply_kind != VL_REPLY_ERROR) {
        return;
    }
    CHECK_ERR(m->code, VL_ERR_QUORUM);
    bool says = m->text.len > 0 && memmem(m->text.ptr, m->text.len, want, strlen(want)) != NULL;
    CHECK(says);
    if (!says) {
        fprintf(stderr, "    text: %.*s\n", (int)m->text.len, (const char *)m->text.ptr);
    }
}

static void test_observers_refuse(void)
{
    TEST_BEGIN("two voters run as observers: the client gets QUORUM, counted, not NOT_VOTER; "
               "IN_QUORUM falls, and comes back when one votes again");
    h_net *h = setup(0);
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *idle = h_redeem(h, 0, 2, 0, 0, 100, 0); /* never submitted */
    uint32_t want = rotation(h, r, 0);
    uint16_t p[2], third;
    split_voters(want, others(h) & ~want, p, &third);
    /* Every voter heard from (an answer about an order nobody tracks). */
    answer(h, p[0], idle, VL_ANSWER_REJECTED, VL_ERR_OVERSPEND, NULL);
    answer(h, p[1], idle, VL_ANSWER_REJECTED, VL_ERR_OVERSPEND, NULL);
    answer(h, third, idle, VL_ANSWER_REJECTED, VL_ERR_OVERSPEND, NULL);
    CHECK(in_quorum(h));
    submit(h, 7, r);
    EXPECT_ASKED(h, r, want);
    answer(h, p[0], r, VL_ANSWER_REJECTED, VL_ERR_NOT_VOTER, NULL);
    EXPECT_ASKED(h, r, bit(third)); /* the remaining voter, as for any refusal */
    EXPECT_NO_REPLY(h, 7);
    answer(h, p[1], r, VL_ANSWER_REJECTED, VL_ERR_NOT_VOTER, NULL);
    /* Two of four voters left: quorum 3 is out of reach. */
    expect_quorum_text(h, 7, "2 of the 4 voters run as observers");
    /* Heard, but they do not vote: no quorum to claim; the counts. */
    CHECK(!in_quorum(h));
    h_snap s;
    h_snapshot(h, &s);
    CHECK(s.stats.voters_observing == 2 && s.stats.voters_heard == 2);
    /* Any answer but NOT_VOTER comes from a voter: p[1] counts again. */
    answer(h, p[1], idle, VL_ANSWER_REJECTED, VL_ERR_OVERSPEND, NULL);
    h_snapshot(h, &s);
    CHECK(s.stats.voters_observing == 1 && s.stats.voters_heard == 3);
    CHECK(in_quorum(h));
    answer(h, p[1], idle, VL_ANSWER_REJECTED, VL_ERR_NOT_VOTER, NULL);
    CHECK(!in_quorum(h));
    /* p[0] votes again (moved back with a cold backup, say). */
    vl_order *r2 = h_redeem(h, 0, 3, 0, 0, 100, 0);
    submit(h, 8, r2);
    vote(h, p[0], r2);
    vote(h, third, r2);
    CHECK(in_quorum(h));
    free(r2);
    free(idle);
    free(r);
    h_free(&h);
}

/* The node under test is a genesis observer: its own NOT_VOTER (it never
 * votes) is not counted among the voters running as observers. */
static void test_observer_coordinator_counts_voters(void)
{
    TEST_BEGIN("an observer coordinator: two voters refuse NOT_VOTER, the text counts 2 of the "
               "4 voters, not itself");
    h_net *h = h_new_std();
    OPEN_OK(h, h->observer[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, VOUCHERS, FACE_FEN, 0);
    APPLY(h, iss);
    free(iss);
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    submit(h, 7, r);
    answer(h, h->voter[0], r, VL_ANSWER_REJECTED, VL_ERR_NOT_VOTER, NULL);
    EXPECT_NO_REPLY(h, 7);
    answer(h, h->voter[1], r, VL_ANSWER_REJECTED, VL_ERR_NOT_VOTER, NULL);
    expect_quorum_text(h, 7, "no quorum: 2 of the 4 voters run as observers");
    h_snap s;
    h_snapshot(h, &s);
    CHECK(s.stats.voters_observing == 2);
    free(r);
    h_free(&h);
}

/* ---- h. a far voter: passed over but for one order in VL_FAR_PROBE_EVERY -------------- */

static void test_far_voter(void)
{
    TEST_BEGIN("a voter that takes 60 ms to vote where the others take 2: passed over but for "
               "one order in VL_FAR_PROBE_EVERY, which still asks by the rotation");
    h_net *h = setup(0);
    uint16_t far = 0;
    while ((others(h) & bit(far)) == 0) {
        far++;
    }
    uint32_t near = others(h) & ~bit(far);
    uint64_t serial = 1;
    uint32_t far_asked = 0, probes = 0, passed_over = 0;
    for (uint32_t round = 0; round < 40 && serial <= VOUCHERS; round++, serial++) {
        vl_order *r = h_redeem(h, 0, serial, 0, 0, 100, 0);
        uint8_t hash[32];
        h_order_hash(r, hash);
        uint64_t client = 900 + serial;
        submit(h, client, r);
        uint32_t asked = h_asked(h, r);
        /* Once the far voter's latency is known (it has voted), it is
         * asked only by the probe orders, which follow the rotation. */
        if (far_asked > 0) {
            bool probe = hash[3] % VL_FAR_PROBE_EVERY == 0;
            CHECK(asked == (probe ? rotation(h, r, 0) : near));
            probes += probe;
            passed_over += !probe && (rotation(h, r, 0) & bit(far)) != 0;
        }
        uint64_t t = h->now_ms;
        h->now_ms = t + 2; /* the near voters vote */
        for (uint16_t v = 0; v < 32; v++) {
            if ((asked & near & bit(v)) != 0) {
                vote(h, v, r);
            }
        }
        h->now_ms = t + 60;
        if ((asked & bit(far)) != 0) {
            vote(h, far, r);
            far_asked++;
        }
        h->now_ms = t + 100;
        free(r);
    }
    CHECK(far_asked > 0);
    /* The rotation would have asked it for some of these: it was passed over. */
    CHECK(passed_over > 0);
    /* A probe order (hash[3] a multiple of VL_FAR_PROBE_EVERY; found by
     * the amount): asked by the rotation, far voter or not. */
    vl_order *probe = NULL;
    for (uint64_t amount = 1; amount <= 1024 && probe == NULL; amount++) {
        vl_order *r = h_redeem(h, 0, serial, 0, 0, amount, 0);
        uint8_t hash[32];
        h_order_hash(r, hash);
        if (hash[3] % VL_FAR_PROBE_EVERY == 0 && (rotation(h, r, 0) & bit(far)) != 0)
            probe = r;
        else
            free(r);
    }
    CHECK(probe != NULL);
    if (probe != NULL) {
        submit(h, 990, probe);
        EXPECT_ASKED(h, probe, rotation(h, probe, 0));
        probes++;
        free(probe);
    }
    uint32_t ms = 0;
    CHECK(vl_core_peer_vote_ms(h->core, far, &ms) && ms >= 50);
    uint16_t n1 = 0;
    while ((near & bit(n1)) == 0) {
        n1++;
    }
    CHECK(vl_core_peer_vote_ms(h->core, n1, &ms) && ms <= 3);
    fprintf(stderr, "    far voter asked %u times (%u probes), passed over %u times\n", far_asked,
            probes, passed_over);
    h_free(&h);
}

/* An observer among the voters: never slow (it answers NOT_VOTER at once)
 * and never measured, it must not count as near and be asked first. */
static void test_observer_not_near(void)
{
    TEST_BEGIN("a voter that answers NOT_VOTER is not taken for a near one: once the others "
               "are measured, new orders ask them, not it");
    h_net *h = setup(0);
    uint16_t obs = 0;
    while ((others(h) & bit(obs)) == 0) {
        obs++;
    }
    uint32_t voting = others(h) & ~bit(obs);
    uint32_t first_obs = 0, checked = 0;
    for (uint64_t serial = 1; serial <= 40; serial++) {
        vl_order *r = h_redeem(h, 0, serial, 0, 0, 100, 0);
        uint8_t hash[32];
        h_order_hash(r, hash);
        submit(h, 800 + serial, r);
        uint32_t asked = h_asked(h, r);
        if (serial > 8 && hash[3] % VL_FAR_PROBE_EVERY != 0) {
            checked++;
            first_obs += (asked & bit(obs)) != 0;
        }
        uint64_t t = h->now_ms;
        if ((asked & bit(obs)) != 0) {
            answer(h, obs, r, VL_ANSWER_REJECTED, VL_ERR_NOT_VOTER, NULL);
        }
        h->now_ms = t + 3;
        for (uint16_t v = 0; v < 32; v++) {
            if ((voting & bit(v)) != 0) {
                vote(h, v, r);
            }
        }
        h->now_ms = t + 50;
        free(r);
    }
    CHECK(checked > 20);
    CHECK(first_obs == 0);
    if (first_obs != 0) {
        fprintf(stderr, "    the observer was asked first for %u of %u orders\n", first_obs,
                checked);
    }
    h_free(&h);
}

int main(void)
{
    test_asks_quorum();
    test_refusal_asks_rest();
    test_slow_voter();
    test_silent_asked_voter();
    test_partial_voter();
    test_unasked_applies_vouched();
    test_swapped_signatures_refused();
    test_observers_refuse();
    test_observer_coordinator_counts_voters();
    test_far_voter();
    test_observer_not_near();
    VL_TEST_END();
}
