/* client_test.c - the client path (DESIGN.md 5.1-5.3, 9) on a single-voter
 * network (n=1, f=0, q=1, plus one observer), where the node under test
 * certifies alone: SUBMIT answers with a certificate anyone can verify,
 * a rival order for a certified slot gets an ERROR with evidence, and the
 * query replies (GET_ACCOUNT, STATUS, GET_LOG, GET_CHECKPOINT) decode and
 * agree with each other and with the node's own state. */
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 5000u
#define BUDGET0_FEN 1000000u

static h_net *setup(void)
{
    h_net *h = h_new(1, 1, 0, BUDGET0_FEN, 5000);
    CHECK(h->g->quorum == 1 && h->g->voter_count == 1);
    h->cfg.checkpoint_every_ms = 1000;
    OPEN_OK(h, h->voter[0], false);
    return h;
}

/* Decode a certificate, verify it against the genesis and check it
 * certifies `o`.  Returns a copy of its bytes ({NULL,0} on failure). */
static h_buf check_cert_bytes(h_net *h, vl_bytes raw, const vl_order *o, int line)
{
    H_WHERE_BEGIN;
    h_buf out = {NULL, 0};
    uint8_t want[32], got[32] = {0};
    h_order_hash(o, want);
    vl_cert *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    if (c != NULL) {
        vl_err e = vl_cert_decode(raw.ptr, raw.len, c);
        CHECK_ERR(e, VL_OK);
        if (e == VL_OK) {
            CHECK_ERR(vl_cert_verify(h->g, c, NULL, got), VL_OK);
            CHECK_MEM(got, want, 32);
            out = h_buf_copy(raw.ptr, raw.len);
        }
    }
    free(c);
    H_WHERE_END(line);
    return out;
}

/* SUBMIT `o` as client `tag`; expect a CERT reply echoing the request id
 * with a certificate of `o` that verifies.  Returns its bytes. */
static h_buf submit_expect_cert(h_net *h, uint64_t tag, const vl_order *o, int line)
{
    H_WHERE_BEGIN;
    h_buf out = {NULL, 0};
    CHECK_ERR(h_client(h, tag, VL_REQ_SUBMIT, o, NULL, 0, 0), VL_OK);
    uint64_t req_id = h->next_req_id - 1;
    vl_msg *m = h_find(h, VL_OUT_CLIENT, tag, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->req_id == req_id);
        CHECK(m->reply_kind == VL_REPLY_CERT);
        if (m->reply_kind == VL_REPLY_ERROR) {
            fprintf(stderr, "    ERROR reply: %s %.*s\n", vl_err_name(m->code), (int)m->text.len,
                    (const char *)m->text.ptr);
        }
        CHECK(m->item_count == 1);
        if (m->reply_kind == VL_REPLY_CERT && m->item_count == 1) {
            out = check_cert_bytes(h, m->items[0], o, line);
        }
    }
    H_WHERE_END(line);
    return out;
}
#define SUBMIT_CERT(h, tag, o) submit_expect_cert((h), (tag), (o), __LINE__)

static void test_submit_issue(void)
{
    TEST_BEGIN("SUBMIT ISSUE: a certificate that verifies");
    h_net *h = setup();
    vl_order *o = h_issue(h, 0, 0, 1, 2, FACE_FEN, 0);
    h_buf c = SUBMIT_CERT(h, 11, o);
    CHECK(c.data != NULL);
    /* It went out to the other nodes too (the observer must learn it). */
    size_t certs_out = h_count(h, 0, 0, VL_MSG_CERTS);
    CHECK(certs_out >= 1);
    /* Applied durably, with the same certificate. */
    uint8_t iid[32], buf[1 << 16];
    size_t len = 0;
    h_issuer_account(h, 0, iid);
    CHECK_ERR(vl_core_get_slot_cert(h->core, iid, 0, buf, sizeof buf, &len), VL_OK);
    CHECK(c.data != NULL && len == c.len && memcmp(buf, c.data, len) == 0);
    vl_account a = ACCT(h, iid);
    CHECK(a.next_seq == 1 && a.issued_fen == 2 * FACE_FEN);
    vl_core_stats st;
    vl_core_get_stats(h->core, &st);
    CHECK(st.status.log_head == 1);
    CHECK(st.certs_formed == 1);
    h_buf_free(&c);
    free(o);
    h_free(&h);
}

/* Issue two vouchers and redeem 1200 of voucher 1; returns the REDEEM. */
static vl_order *issue_and_redeem(h_net *h, h_buf *issue_cert, h_buf *redeem_cert)
{
    vl_order *o = h_issue(h, 0, 0, 1, 2, FACE_FEN, 0);
    *issue_cert = SUBMIT_CERT(h, 11, o);
    free(o);
    vl_order *r = h_redeem(h, 0, 1, 0, 0, 1200, 0);
    *redeem_cert = SUBMIT_CERT(h, 12, r);
    return r;
}

static void test_submit_redeem(void)
{
    TEST_BEGIN("SUBMIT REDEEM: a certificate, and the voucher is spent");
    h_net *h = setup();
    h_buf ci, cr;
    vl_order *r = issue_and_redeem(h, &ci, &cr);
    CHECK(cr.data != NULL);
    uint8_t vid[32];
    h_voucher_account(h, 0, 1, vid);
    vl_account v = ACCT(h, vid);
    CHECK(v.remaining_fen == FACE_FEN - 1200);
    CHECK(v.next_seq == 1);
    h_buf_free(&ci);
    h_buf_free(&cr);
    free(r);
    h_free(&h);
}

static void test_second_redeem_same_slot(void)
{
    TEST_BEGIN("a different REDEEM for a certified slot: ERROR with evidence");
    h_net *h = setup();
    h_buf ci, cr;
    vl_order *r = issue_and_redeem(h, &ci, &cr);
    uint8_t rh[32];
    h_order_hash(r, rh);
    h_snap s0, s1;
    h_snapshot(h, &s0);

    vl_order *r2 = h_redeem(h, 0, 1, 0, 0, 3000, 1); /* same voucher, same seq */
    CHECK_ERR(h_client(h, 13, VL_REQ_SUBMIT, r2, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 13, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->reply_kind == VL_REPLY_ERROR);
        CHECK(m->code == VL_ERR_ALREADY_CERTIFIED || m->code == VL_ERR_CONFLICT);
        if (m->code != VL_ERR_ALREADY_CERTIFIED && m->code != VL_ERR_CONFLICT) {
            fprintf(stderr, "    code %s\n", vl_err_name(m->code));
        }
        CHECK(m->text.len > 0); /* a sentence for the user */
        CHECK(m->evidence_kind == VL_EVIDENCE_CERT || m->evidence_kind == VL_EVIDENCE_ORDER);
        CHECK(m->item_count == 1);
        if (m->item_count == 1 && m->evidence_kind == VL_EVIDENCE_CERT) {
            /* The certificate of the first redemption: proof of finality. */
            h_buf ev = check_cert_bytes(h, m->items[0], r, __LINE__);
            CHECK(ev.len == cr.len && cr.data != NULL && memcmp(ev.data, cr.data, cr.len) == 0);
            h_buf_free(&ev);
        } else if (m->item_count == 1 && m->evidence_kind == VL_EVIDENCE_ORDER) {
            vl_order *eo = calloc(1, sizeof *eo);
            CHECK(eo != NULL);
            if (eo != NULL) {
                CHECK_ERR(vl_order_decode(m->items[0].ptr, m->items[0].len, eo), VL_OK);
                uint8_t eh[32];
                vl_order_hash(eh, eo);
                CHECK_MEM(eh, rh, 32);
                CHECK_ERR(vl_order_verify(h->g, eo, eh), VL_OK);
            }
            free(eo);
        }
    }
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    uint8_t vid[32];
    h_voucher_account(h, 0, 1, vid);
    vl_account v = ACCT(h, vid);
    CHECK(v.remaining_fen == FACE_FEN - 1200);

    /* A client that timed out resubmits the very same order: it gets the
     * certificate again, and nothing is spent twice. */
    h_buf again = SUBMIT_CERT(h, 14, r);
    CHECK(again.data != NULL && cr.data != NULL && again.len == cr.len &&
          memcmp(again.data, cr.data, cr.len) == 0);
    v = ACCT(h, vid);
    CHECK(v.remaining_fen == FACE_FEN - 1200);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    h_buf_free(&again);
    h_buf_free(&ci);
    h_buf_free(&cr);
    free(r);
    free(r2);
    h_free(&h);
}

/* Check a chain of decoded LOG entries: consecutive indexes from `first`,
 * each prev_hash the hash of the one before (the network id before entry
 * 1), every certificate verifies.  Returns the last entry hash. */
static void check_entries(h_net *h, const vl_msg *m, uint64_t first, uint8_t last_hash[32],
                          int line)
{
    H_WHERE_BEGIN;
    uint8_t prev[32];
    memcpy(prev, h->g->network_id, 32);
    for (uint32_t i = 0; i < m->item_count; i++) {
        vl_entry e;
        memset(&e, 0, sizeof e);
        CHECK_ERR(vl_entry_decode(m->items[i].ptr, m->items[i].len, &e), VL_OK);
        CHECK(e.index == first + i);
        if (e.index > 1 && i == 0) {
            memcpy(prev, e.prev_hash, 32); /* not checkable from here */
        }
        CHECK_MEM(e.prev_hash, prev, 32);
        uint8_t ch[32];
        vl_cert_hash(ch, e.cert.ptr, e.cert.len);
        vl_entry_hash(prev, e.index, e.prev_hash, ch);
        vl_cert *c = calloc(1, sizeof *c);
        CHECK(c != NULL && vl_cert_decode(e.cert.ptr, e.cert.len, c) == VL_OK);
        if (c != NULL) {
            CHECK_ERR(vl_cert_verify(h->g, c, NULL, NULL), VL_OK);
        }
        free(c);
    }
    memcpy(last_hash, prev, 32);
    H_WHERE_END(line);
}

/* The queries run against a node that issued two vouchers and redeemed
 * 1200 fen of voucher 1: two log entries, three accounts. */
typedef struct {
    h_net *h;
    vl_order *redeem;
    h_buf issue_cert, redeem_cert;
    h_snap snap;
} q_fixture;

static void q_setup(q_fixture *f)
{
    f->h = setup();
    f->redeem = issue_and_redeem(f->h, &f->issue_cert, &f->redeem_cert);
    h_snapshot(f->h, &f->snap);
    CHECK(f->snap.log_head == 2);
}

static void q_teardown(q_fixture *f)
{
    h_buf_free(&f->issue_cert);
    h_buf_free(&f->redeem_cert);
    free(f->redeem);
    h_free(&f->h);
}

static void test_get_account(void)
{
    TEST_BEGIN("GET_ACCOUNT: the state and its certificates");
    q_fixture f;
    q_setup(&f);
    h_net *h = f.h;
    const h_buf *cr = &f.redeem_cert;
    /* The voucher: its state and its certificates. */
    uint8_t vid[32], iid[32];
    h_voucher_account(h, 0, 1, vid);
    h_issuer_account(h, 0, iid);
    CHECK_ERR(h_client(h, 21, VL_REQ_GET_ACCOUNT, NULL, vid, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 21, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ACCOUNT);
    if (m != NULL && m->reply_kind == VL_REPLY_ACCOUNT) {
        vl_account a;
        memset(&a, 0, sizeof a);
        CHECK_ERR(vl_account_decode(m->account.ptr, m->account.len, &a), VL_OK);
        CHECK(a.kind == VL_ACCOUNT_VOUCHER && a.serial == 1);
        CHECK(a.remaining_fen == FACE_FEN - 1200 && a.face_fen == FACE_FEN);
        CHECK(a.next_seq == 1);
        CHECK_MEM(a.holder, h->holder[0].pubkey, 32);
        int found_redeem = 0;
        for (uint32_t i = 0; i < m->item_count; i++) {
            vl_cert *c = calloc(1, sizeof *c);
            CHECK(c != NULL && vl_cert_decode(m->items[i].ptr, m->items[i].len, c) == VL_OK);
            if (c != NULL) {
                CHECK_ERR(vl_cert_verify(h->g, c, NULL, NULL), VL_OK);
            }
            free(c);
            if (cr->data != NULL && m->items[i].len == cr->len &&
                memcmp(m->items[i].ptr, cr->data, cr->len) == 0) {
                found_redeem++;
            }
        }
        CHECK(found_redeem == 1);
    }
    /* The issuer. */
    CHECK_ERR(h_client(h, 22, VL_REQ_GET_ACCOUNT, NULL, iid, 0, 0), VL_OK);
    m = h_find(h, VL_OUT_CLIENT, 22, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ACCOUNT);
    if (m != NULL && m->reply_kind == VL_REPLY_ACCOUNT) {
        vl_account a;
        memset(&a, 0, sizeof a);
        CHECK_ERR(vl_account_decode(m->account.ptr, m->account.len, &a), VL_OK);
        CHECK(a.kind == VL_ACCOUNT_ISSUER && a.next_seq == 1);
        CHECK(a.issued_fen == 2 * FACE_FEN && a.balance_fen == BUDGET0_FEN - 2 * FACE_FEN);
    }
    /* An account nobody created. */
    uint8_t nid[32];
    h_voucher_account(h, 0, 77, nid);
    CHECK_ERR(h_client(h, 23, VL_REQ_GET_ACCOUNT, NULL, nid, 0, 0), VL_OK);
    m = h_find(h, VL_OUT_CLIENT, 23, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ERROR);
    if (m != NULL) {
        CHECK_ERR(m->code, VL_ERR_UNKNOWN_ACCOUNT);
    }
    q_teardown(&f);
}

/* The certificates of an ACCOUNT reply to `client`: each must be the
 * issuer's at seq *next, *next + 1, ... (advanced); their bytes into
 * *bytes.  Returns the reply's count, or -1 without an ACCOUNT reply. */
static int account_page(h_net *h, uint64_t client, const uint8_t id[32], uint64_t *next,
                        size_t *bytes)
{
    vl_msg *m = h_find(h, VL_OUT_CLIENT, client, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ACCOUNT);
    if (m == NULL || m->reply_kind != VL_REPLY_ACCOUNT)
        return -1;
    *bytes = 0;
    for (uint32_t i = 0; i < m->item_count; i++) {
        vl_cert *c = calloc(1, sizeof *c);
        uint8_t acct[32];
        CHECK(c != NULL && vl_cert_decode(m->items[i].ptr, m->items[i].len, c) == VL_OK);
        if (c != NULL) {
            vl_order_account(acct, &c->order);
            CHECK(memcmp(acct, id, 32) == 0 && c->order.seq == *next);
        }
        free(c);
        (*next)++;
        *bytes += m->items[i].len;
    }
    return (int)m->item_count;
}

static void test_get_account_pages(void)
{
    TEST_BEGIN("GET_ACCOUNT pages of about 256 KiB; GET_ACCOUNT_FROM the next ones");
    h_net *h = setup();
    enum { ISSUES = 16, PER = 256 };
    for (uint64_t k = 0; k < ISSUES; k++) {
        vl_order *o = h_issue(h, 0, k, 1 + k * PER, PER, 10, 0);
        h_buf c = SUBMIT_CERT(h, 100 + k, o);
        CHECK(c.data != NULL);
        h_buf_free(&c);
        free(o);
    }
    uint8_t iid[32];
    h_issuer_account(h, 0, iid);
    /* The first page: from seq 0, within the page budget (one certificate
     * may pass it), fewer than all 16 (each ISSUE of 256 is large). */
    uint64_t next = 0;
    size_t bytes = 0;
    CHECK_ERR(h_client(h, 31, VL_REQ_GET_ACCOUNT, NULL, iid, 0, 0), VL_OK);
    int n = account_page(h, 31, iid, &next, &bytes);
    CHECK(n > 1 && n < ISSUES);
    CHECK(bytes <= 256u * 1024u);
    /* The next pages, until the account's 16. */
    for (int page = 0; page < ISSUES && next < ISSUES && n > 0; page++) {
        CHECK_ERR(h_client(h, 32 + (uint64_t)page, VL_REQ_GET_ACCOUNT_FROM, NULL, iid, next,
                           VL_MAX_MSG_ITEMS),
                  VL_OK);
        n = account_page(h, 32 + (uint64_t)page, iid, &next, &bytes);
        CHECK(n > 0 && bytes <= 256u * 1024u);
    }
    CHECK(next == ISSUES);
    /* max_items, a seq past the last (the state alone), an unknown account. */
    next = 3;
    CHECK_ERR(h_client(h, 60, VL_REQ_GET_ACCOUNT_FROM, NULL, iid, 3, 2), VL_OK);
    CHECK(account_page(h, 60, iid, &next, &bytes) == 2);
    CHECK_ERR(h_client(h, 61, VL_REQ_GET_ACCOUNT_FROM, NULL, iid, ISSUES, 5), VL_OK);
    CHECK(account_page(h, 61, iid, &next, &bytes) == 0);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 61, VL_MSG_CLIENT_REPLY);
    vl_account a;
    memset(&a, 0, sizeof a);
    CHECK(m != NULL && vl_account_decode(m->account.ptr, m->account.len, &a) == VL_OK);
    CHECK(a.kind == VL_ACCOUNT_ISSUER && a.next_seq == ISSUES);
    uint8_t nid[32];
    h_voucher_account(h, 0, 999999, nid);
    CHECK_ERR(h_client(h, 62, VL_REQ_GET_ACCOUNT_FROM, NULL, nid, 0, 5), VL_OK);
    m = h_find(h, VL_OUT_CLIENT, 62, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ERROR && m->code == VL_ERR_UNKNOWN_ACCOUNT);
    h_free(&h);
}

static void test_status(void)
{
    TEST_BEGIN("STATUS agrees with the node's state");
    q_fixture f;
    q_setup(&f);
    h_net *h = f.h;
    CHECK_ERR(h_client(h, 24, VL_REQ_STATUS, NULL, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 24, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_STATUS);
    if (m != NULL && m->reply_kind == VL_REPLY_STATUS) {
        CHECK(m->status.node == h->self);
        CHECK((m->status.flags & VL_STATUS_VOTER) != 0);
        CHECK((m->status.flags & VL_STATUS_IN_QUORUM) != 0); /* it is the quorum */
        CHECK((m->status.flags & (VL_STATUS_FORK | VL_STATUS_READ_ONLY)) == 0);
        CHECK(m->status.log_head == 2);
        CHECK_MEM(m->status.head_hash, f.snap.head_hash, 32);
        CHECK_MEM(m->status.state_digest, f.snap.state_digest, 32);
        CHECK(m->status.accounts == 3); /* the issuer and two vouchers */
        CHECK(m->status.pending_locks == 0); /* every vote it cast is certified */
    }
    q_teardown(&f);
}

static void test_get_log(void)
{
    TEST_BEGIN("GET_LOG: a hash chain of verifying certificates");
    q_fixture f;
    q_setup(&f);
    h_net *h = f.h;
    const h_buf *cr = &f.redeem_cert;
    /* The whole log, then windows. */
    CHECK_ERR(h_client(h, 25, VL_REQ_GET_LOG, NULL, NULL, 1, 10), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 25, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_LOG);
    if (m != NULL && m->reply_kind == VL_REPLY_LOG) {
        CHECK(m->log_head == 2);
        CHECK(m->item_count == 2);
        uint8_t last[32];
        check_entries(h, m, 1, last, __LINE__);
        CHECK(m->item_count != 2 || memcmp(last, f.snap.head_hash, 32) == 0);
    }
    CHECK_ERR(h_client(h, 26, VL_REQ_GET_LOG, NULL, NULL, 1, 1), VL_OK);
    m = h_find(h, VL_OUT_CLIENT, 26, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_LOG && m->item_count == 1);
    CHECK_ERR(h_client(h, 27, VL_REQ_GET_LOG, NULL, NULL, 2, 5), VL_OK);
    m = h_find(h, VL_OUT_CLIENT, 27, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_LOG && m->item_count == 1);
    if (m != NULL && m->reply_kind == VL_REPLY_LOG && m->item_count == 1) {
        vl_entry e;
        memset(&e, 0, sizeof e);
        CHECK_ERR(vl_entry_decode(m->items[0].ptr, m->items[0].len, &e), VL_OK);
        CHECK(e.index == 2);
        CHECK(cr->data != NULL && e.cert.len == cr->len &&
              memcmp(e.cert.ptr, cr->data, cr->len) == 0);
    }
    q_teardown(&f);
}

static void test_get_checkpoint(void)
{
    TEST_BEGIN("GET_CHECKPOINT after the interval: signed, and it matches the head");
    q_fixture f;
    q_setup(&f);
    h_net *h = f.h;
    for (int i = 0; i < 3; i++) {
        h->now_ms += 1500; /* checkpoint_every_ms is 1000 */
        CHECK_ERR(h_tick(h), VL_OK);
    }
    CHECK_ERR(h_client(h, 28, VL_REQ_GET_CHECKPOINT, NULL, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 28, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_CHECKPOINT && m->item_count == 1);
    if (m != NULL && m->reply_kind == VL_REPLY_CHECKPOINT && m->item_count == 1) {
        vl_checkpoint cp;
        memset(&cp, 0, sizeof cp);
        CHECK_ERR(vl_checkpoint_decode(m->items[0].ptr, m->items[0].len, &cp), VL_OK);
        CHECK_ERR(vl_checkpoint_verify(h->g, &cp), VL_OK);
        CHECK(cp.node == h->self);
        CHECK_MEM(cp.network_id, h->g->network_id, 32);
        CHECK(cp.log_index == 2);
        CHECK_MEM(cp.entry_hash, f.snap.head_hash, 32);
        CHECK_MEM(cp.state_digest, f.snap.state_digest, 32);
        CHECK(cp.time_ms <= h->now_ms && cp.time_ms > h->now_ms - 10000);
    }
    q_teardown(&f);
}

int main(void)
{
    test_submit_issue();
    test_submit_redeem();
    test_second_redeem_same_slot();
    test_get_account();
    test_get_account_pages();
    test_status();
    test_get_log();
    test_get_checkpoint();
    VL_TEST_END();
}
