/* malformed_test.c - malformed input (DESIGN.md 9, STYLE.md 6): random
 * bytes, a truncated message, a message of the wrong type, an oversized
 * count.  None may change state (digests and log head), each is counted in
 * stats.bad_inputs, and a client gets an ERROR reply with the decoder's
 * specific code.
 *
 * The node under test is voter 0 of a 4-voter network holding a few
 * vouchers; the valid messages that get mangled would, intact, lock or
 * spend one of them. */
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 1000u

static h_net *setup(void)
{
    h_net *h = h_new_std();
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, 4, FACE_FEN, 0);
    APPLY(h, iss);
    free(iss);
    return h;
}

static vl_err decode_code(const h_buf *b)
{
    vl_msg_storage *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return VL_ERR_NOMEM;
    }
    vl_msg m;
    vl_msg_init(&m, st);
    vl_err e = vl_msg_decode(b->data, b->len, &m);
    free(st);
    return e;
}

/* Feed `b` from a client (tag) and check: nothing changed, one bad input
 * counted, exactly one ERROR reply to that client with code `want`, and no
 * lock on the slot of `o` (when given). */
static void client_bad(h_net *h, uint64_t tag, const h_buf *b, vl_err want, const vl_order *o,
                       int line)
{
    H_WHERE_BEGIN;
    CHECK_ERR(decode_code(b), want); /* the input is what the test means it to be */
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK_ERR(h_feed_client(h, tag, b->data, b->len), VL_OK);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    CHECK(h_count(h, VL_OUT_CLIENT, tag, VL_MSG_CLIENT_REPLY) == 1);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, tag, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->reply_kind == VL_REPLY_ERROR);
        CHECK_ERR(m->code, want);
        CHECK(m->text.len > 0);
        /* the request's own req_id when its 10-byte header is whole, so
         * that a client with requests in flight knows which one failed */
        uint64_t rid = 0;
        if (b->len >= 10 && b->data[0] == VL_WIRE_VERSION && b->data[1] == VL_MSG_CLIENT_REQUEST)
            for (int k = 7; k >= 0; k--)
                rid = rid << 8 | b->data[2 + k];
        CHECK(m->req_id == rid);
    }
    CHECK(h_count(h, 0, 0, VL_MSG_VOTE_REQUEST) == 0);
    if (o != NULL) {
        uint8_t acct[32];
        h_order_account(o, acct);
        CHECK(h_no_lock(h, acct, o->seq));
    }
    H_WHERE_END(line);
}

/* The same from a peer: nothing changed, one bad input counted, no vote. */
static void peer_bad(h_net *h, uint16_t from, const h_buf *b, const vl_order *o, int line)
{
    H_WHERE_BEGIN;
    CHECK(decode_code(b) != VL_OK);
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK_ERR(h_feed_peer(h, from, b->data, b->len), VL_OK);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    CHECK(s1.stats.votes_sent == s0.stats.votes_sent);
    vl_msg *m = h_vote_reply(h, from);
    CHECK(m == NULL || m->leaf_count == 0);
    if (o != NULL) {
        uint8_t acct[32];
        h_order_account(o, acct);
        CHECK(h_no_lock(h, acct, o->seq));
    }
    H_WHERE_END(line);
}

static void test_random_bytes(void)
{
    TEST_BEGIN("random bytes");
    h_net *h = setup();
    uint64_t seed = 20260101;
    for (int i = 0; i < 20; i++) {
        size_t len = (size_t)(h_rand(&seed) % 300);
        h_buf b = h_buf_zero(len);
        for (size_t k = 0; k < len; k++) {
            b.data[k] = (uint8_t)h_rand(&seed);
        }
        if (i % 2 == 0 && len >= 2) {
            b.data[0] = VL_WIRE_VERSION; /* past the version check */
            b.data[1] = VL_MSG_CLIENT_REQUEST;
        }
        vl_err code = decode_code(&b);
        CHECK(code != VL_OK);
        client_bad(h, 100 + (uint64_t)i, &b, code, NULL, __LINE__);
        peer_bad(h, h->voter[1 + i % 3], &b, NULL, __LINE__);
        h_buf_free(&b);
    }
    h_free(&h);
}

static void test_truncated(void)
{
    TEST_BEGIN("a truncated valid message");
    h_net *h = setup();
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    h_buf sub = h_client_bytes(h, VL_REQ_SUBMIT, r, NULL, 0, 0);
    size_t cuts[3] = {sub.len - 1, sub.len / 2, 2};
    for (int i = 0; i < 3; i++) {
        h_buf t = h_buf_copy(sub.data, cuts[i]);
        client_bad(h, 200 + (uint64_t)i, &t, VL_ERR_TRUNCATED, r, __LINE__);
        h_buf_free(&t);
    }
    vl_order *arr[1] = {r};
    h_buf vr = h_vote_request_bytes(h, h->voter[1], arr, 1);
    h_buf t = h_buf_copy(vr.data, vr.len - 1);
    peer_bad(h, h->voter[1], &t, r, __LINE__);
    h_buf_free(&t);
    /* One byte too many is refused as well. */
    h_buf longer = h_buf_zero(sub.len + 1);
    memcpy(longer.data, sub.data, sub.len);
    client_bad(h, 210, &longer, VL_ERR_TRAILING, r, __LINE__);
    h_buf_free(&longer);
    /* The intact message still works: the node votes on it. */
    EXPECT_VOTED(h, r);
    h_buf_free(&vr);
    h_buf_free(&sub);
    free(r);
    h_free(&h);
}

static void test_wrong_type(void)
{
    TEST_BEGIN("a message of the wrong type");
    h_net *h = setup();
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *arr[1] = {r};
    /* A peer message on the client socket. */
    h_buf vr = h_vote_request_bytes(h, h->voter[1], arr, 1);
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK_ERR(h_feed_client(h, 300, vr.data, vr.len), VL_OK);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    CHECK(s1.stats.votes_sent == s0.stats.votes_sent);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 300, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ERROR);
    if (m != NULL) {
        CHECK_ERR(m->code, VL_ERR_TYPE);
    }
    uint8_t vid[32];
    h_voucher_account(h, 0, 1, vid);
    CHECK(h_no_lock(h, vid, 0));
    /* A bare order (not wrapped in a request) on the client socket. */
    h_buf ob = h_order_bytes(r);
    h_snapshot(h, &s0);
    CHECK_ERR(h_feed_client(h, 301, ob.data, ob.len), VL_OK);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    m = h_find(h, VL_OUT_CLIENT, 301, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ERROR);
    if (m != NULL) {
        CHECK_ERR(m->code, VL_ERR_TYPE);
    }
    CHECK(h_no_lock(h, vid, 0));
    /* A client message on the peer socket: a SUBMIT from a "peer". */
    h_buf sub = h_client_bytes(h, VL_REQ_SUBMIT, r, NULL, 0, 0);
    h_snapshot(h, &s0);
    CHECK_ERR(h_feed_peer(h, h->voter[2], sub.data, sub.len), VL_OK);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    CHECK(s1.stats.votes_sent == s0.stats.votes_sent);
    CHECK(h_no_lock(h, vid, 0));
    h_buf_free(&sub);
    h_buf_free(&ob);
    h_buf_free(&vr);
    free(r);
    h_free(&h);
}

/* Find the one byte where a and b differ first; SIZE_MAX if none. */
static size_t first_diff(const h_buf *a, const h_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        if (a->data[i] != b->data[i]) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Set the little-endian count at `pos` (u16 or wider, currently small) to v. */
static void patch_count(h_buf *b, size_t pos, uint16_t v)
{
    b->data[pos] = (uint8_t)(v & 0xff);
    b->data[pos + 1] = (uint8_t)(v >> 8);
}

static void test_oversized_count(void)
{
    TEST_BEGIN("an oversized count");
    h_net *h = setup();
    /* VOTE_REQUEST with VL_MAX_MSG_ITEMS + 1 orders claimed: find the count
     * field by encoding one and two orders and diffing. */
    vl_order *r1 = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *r2 = h_redeem(h, 0, 2, 0, 0, 100, 0);
    vl_order *one[1] = {r1}, *two[2] = {r1, r2};
    uint64_t rid = h->next_req_id;
    h_buf a = h_vote_request_bytes(h, h->voter[1], one, 1);
    h->next_req_id = rid; /* same request id: the count is the first difference */
    h_buf b = h_vote_request_bytes(h, h->voter[1], two, 2);
    size_t pos = first_diff(&a, &b);
    CHECK(pos != SIZE_MAX && pos + 1 < a.len && a.data[pos] == 1 && b.data[pos] == 2);
    if (pos != SIZE_MAX && pos + 1 < a.len) {
        patch_count(&a, pos, VL_MAX_MSG_ITEMS + 1);
        CHECK_ERR(decode_code(&a), VL_ERR_LIMIT);
        peer_bad(h, h->voter[1], &a, r1, __LINE__);
    }
    h_buf_free(&a);
    h_buf_free(&b);

    /* SUBMIT of an ISSUE claiming VL_MAX_ISSUE_BATCH + 1 vouchers. */
    vl_order *i1 = h_issue(h, 0, 1, 10, 1, 100, 0);
    vl_order *i2 = h_issue(h, 0, 1, 10, 2, 100, 0);
    rid = h->next_req_id;
    h_buf s1 = h_client_bytes(h, VL_REQ_SUBMIT, i1, NULL, 0, 0);
    h->next_req_id = rid;
    h_buf s2 = h_client_bytes(h, VL_REQ_SUBMIT, i2, NULL, 0, 0);
    /* The first difference is the object length; find the voucher count
     * inside the order instead. */
    h_buf o1 = h_order_bytes(i1), o2 = h_order_bytes(i2);
    size_t opos = first_diff(&o1, &o2);
    uint8_t *at = memmem(s1.data, s1.len, o1.data, o1.len);
    CHECK(opos != SIZE_MAX && o1.data[opos] == 1 && o2.data[opos] == 2 && at != NULL);
    if (opos != SIZE_MAX && at != NULL) {
        size_t p = (size_t)(at - s1.data) + opos;
        patch_count(&s1, p, VL_MAX_ISSUE_BATCH + 1);
        client_bad(h, 400, &s1, VL_ERR_LIMIT, i1, __LINE__);
    }
    /* GET_LOG asking for more than VL_MAX_MSG_ITEMS entries at once. */
    rid = h->next_req_id;
    h_buf g1 = h_client_bytes(h, VL_REQ_GET_LOG, NULL, NULL, 1, 1);
    h->next_req_id = rid;
    h_buf g2 = h_client_bytes(h, VL_REQ_GET_LOG, NULL, NULL, 1, 2);
    size_t gpos = first_diff(&g1, &g2);
    CHECK(gpos != SIZE_MAX && gpos + 1 < g1.len);
    if (gpos != SIZE_MAX && gpos + 1 < g1.len) {
        patch_count(&g1, gpos, VL_MAX_MSG_ITEMS + 1);
        client_bad(h, 401, &g1, VL_ERR_LIMIT, NULL, __LINE__);
    }
    h_buf_free(&g1);
    h_buf_free(&g2);
    h_buf_free(&o1);
    h_buf_free(&o2);
    h_buf_free(&s1);
    h_buf_free(&s2);
    free(i1);
    free(i2);
    free(r1);
    free(r2);
    h_free(&h);
}

int main(void)
{
    test_random_bytes();
    test_truncated();
    test_wrong_type();
    test_oversized_count();
    VL_TEST_END();
}
