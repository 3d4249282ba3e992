/* checks.h - assertions shared by the consensus test programs, built on
 * vl_test.h's CHECK counters (static per program, hence static inline
 * here).  Each takes the caller's line so a failure names the test line. */
#ifndef VL_TEST_CONSENSUS_CHECKS_H
#define VL_TEST_CONSENSUS_CHECKS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "vl_test.h"

/* Print the calling test line when checks inside a helper failed. */
#define H_WHERE_BEGIN int fails_before_ = vl_test_fail
#define H_WHERE_END(line)                                                        \
    do {                                                                        \
        if (vl_test_fail != fails_before_) {                                    \
            fprintf(stderr, "    ^ from %s line %d\n", __FILE__, (line));      \
        }                                                                       \
    } while (0)

/* Print a section header, so a failure can be placed. */
#define TEST_BEGIN(name) fprintf(stderr, "-- %s\n", (name))

/* Open the node under test or end the program: nothing else can be tested
 * without it. */
static inline void h_open_ok(h_net *h, uint16_t node, bool force_observer, int line)
{
    vl_err e = h_open(h, node, force_observer);
    CHECK_ERR(e, VL_OK);
    if (e != VL_OK) {
        fprintf(stderr, "%s:%d: cannot open the core: %s (%s)\n", __FILE__, line,
                vl_err_name(e), h->open_err);
        printf("%d passed, %d failed\n", vl_test_pass, vl_test_fail);
        exit(1);
    }
}
#define OPEN_OK(h, node, fo) h_open_ok((h), (node), (fo), __LINE__)

/* Apply one certificate of `o` by a quorum of the other voters (fed as CERTS
 * from the first other voter) and check that the slot is then certified. */
static inline void h_apply(h_net *h, const vl_order *o, int line)
{
    H_WHERE_BEGIN;
    uint16_t from = h->voter[0] == h->self ? h->voter[1] : h->voter[0];
    h_buf c = h_cert_q(h, o);
    CHECK_ERR(h_send_certs(h, from, &c, 1), VL_OK);
    uint8_t acct[32];
    h_order_account(o, acct);
    uint8_t buf[1 << 16];
    size_t len = 0;
    CHECK_ERR(vl_core_get_slot_cert(h->core, acct, o->seq, buf, sizeof buf, &len), VL_OK);
    CHECK(len == c.len && memcmp(buf, c.data, c.len) == 0);
    h_buf_free(&c);
    H_WHERE_END(line);
}
#define APPLY(h, o) h_apply((h), (o), __LINE__)

/* Ask the node under test (from the first other voter) to vote on `o` and
 * check it refuses with `code`: no leaf for it, a REJECTED answer with the
 * code, and no lock on its slot. */
static inline void h_expect_refused(h_net *h, const vl_order *o, vl_err code, int line)
{
    H_WHERE_BEGIN;
    uint16_t from = h->voter[0] == h->self ? h->voter[1] : h->voter[0];
    uint8_t hash[32], acct[32];
    h_order_hash(o, hash);
    h_order_account(o, acct);
    vl_order *arr[1] = {(vl_order *)o};
    CHECK_ERR(h_vote_request(h, from, arr, 1), VL_OK);
    vl_msg *m = h_vote_reply(h, from);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(!h_reply_has_leaf(m, o));
        const vl_answer *a = h_reply_answer(m, hash);
        CHECK(a != NULL);
        if (a != NULL) {
            CHECK(a->kind == VL_ANSWER_REJECTED);
            CHECK_ERR(a->code, code);
        }
    }
    CHECK(h_no_lock(h, acct, o->seq));
    if (code == VL_ERR_BAD_SIG) /* the asking peer is penalized (vl_core.c note 28): wait it out */
        h->now_ms += VL_PEER_PENALTY_MS;
    H_WHERE_END(line);
}
#define EXPECT_REFUSED(h, o, code) h_expect_refused((h), (o), (code), __LINE__)

/* Ask the node under test to vote on `o` and check it votes: o's vote
 * leaf is a leaf of its reply, the batch signature verifies against the
 * genesis, and the node is locked on that order. */
static inline void h_expect_voted(h_net *h, const vl_order *o, int line)
{
    H_WHERE_BEGIN;
    uint16_t from = h->voter[0] == h->self ? h->voter[1] : h->voter[0];
    uint8_t hash[32], acct[32];
    h_order_hash(o, hash);
    h_order_account(o, acct);
    vl_order *arr[1] = {(vl_order *)o};
    CHECK_ERR(h_vote_request(h, from, arr, 1), VL_OK);
    vl_msg *m = h_vote_reply(h, from);
    CHECK(m != NULL);
    if (m != NULL) {
        const vl_answer *a = h_reply_answer(m, hash);
        if (a != NULL) {
            fprintf(stderr, "    unexpected answer: kind %u code %s\n", a->kind,
                    vl_err_name(a->code));
        }
        CHECK(a == NULL);
        CHECK(h_reply_has_leaf(m, o));
        CHECK_ERR(h_reply_vote_verify(h, m, h->self), VL_OK);
    }
    CHECK(h_locked_on(h, acct, o->seq, hash));
    H_WHERE_END(line);
}
#define EXPECT_VOTED(h, o) h_expect_voted((h), (o), __LINE__)

/* The node's view of an account; zeroed and failing the check if unknown. */
static inline vl_account h_acct(h_net *h, const uint8_t id[32], int line)
{
    H_WHERE_BEGIN;
    vl_account a;
    CHECK_ERR(h_account(h, id, &a), VL_OK);
    H_WHERE_END(line);
    return a;
}
#define ACCT(h, id) h_acct((h), (id), __LINE__)

#endif
