/* sync_test.c - log sync by summaries (vl_serve.c, vl_core.c note 15,
 * docs/protocol.md 4.8, 5.7, 5.8).
 *
 * The node under test is voter 0 of the standard network (4 voters, f=1,
 * q=3, one observer), a real core on real LMDB.  The test plays its peers:
 * it builds each peer's log itself (that peer's own certificates for the
 * orders, chained from the network id), encodes SUMMARY_REPLY and
 * LOG_REPLY messages from it, and reads the node's answers from the
 * outbox.  The node's sync cursor into a peer's log is not visible from
 * outside, so the tests show where it stands by what the node does next:
 * the from_index of the request it sends, and whether an entry at a given
 * index (chained to a given hash) is applied or refused as bad input.
 *
 * The peers' certificates are signed by all four voters, the node's own
 * (applied from CERTS) by voters 1..3: the bytes differ, so a peer's entry
 * hashes differ from the node's own for the same orders, and a cursor that
 * took the node's own hash instead of the summary's would be caught.
 *
 * Time is the harness' now_ms; the tests move it by exact amounts around
 * sync_interval_ms (SYNC_MS here), so nothing depends on a clock. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 1000u
#define SYNC_MS 5000u /* sync_interval_ms of the node under test */
#define PEER_LOG_MAX 8u

/* ---- a peer's log, as the test plays it ---------------------------------------- */

typedef struct {
    uint32_t n;
    h_buf cert[PEER_LOG_MAX];
    uint8_t prev[PEER_LOG_MAX][32];
    vl_summary sum[PEER_LOG_MAX]; /* sum[i] is entry i + 1 */
} peer_log;

/* Append order o to the peer's log as entry n + 1 applied at time_ms, with
 * a certificate by all four voters (valid: more than a quorum). */
static void plog_add(h_net *h, peer_log *pl, const vl_order *o, uint64_t time_ms)
{
    assert(pl->n < PEER_LOG_MAX);
    uint16_t all[4] = {h->voter[0], h->voter[1], h->voter[2], h->voter[3]};
    uint32_t i = pl->n++;
    uint8_t ch[32];
    pl->cert[i] = h_cert1(h, o, all, 4);
    memcpy(pl->prev[i], i == 0 ? h->g->network_id : pl->sum[i - 1].entry_hash, 32);
    vl_summary *s = &pl->sum[i];
    memset(s, 0, sizeof *s);
    s->index = i + 1u;
    s->time_ms = time_ms;
    vl_cert_hash(ch, pl->cert[i].data, pl->cert[i].len);
    vl_entry_hash(s->entry_hash, s->index, pl->prev[i], ch);
    h_order_account(o, s->account);
    s->seq = o->seq;
    h_order_hash(o, s->order_hash);
}

static void plog_free(peer_log *pl)
{
    for (uint32_t i = 0; i < pl->n; i++) {
        h_buf_free(&pl->cert[i]);
    }
    pl->n = 0;
}

/* Entry `index` of the peer's log with prev_hash `prev` (the log's own
 * when NULL), encoded. */
static h_buf plog_entry(const peer_log *pl, uint64_t index, const uint8_t *prev)
{
    assert(index >= 1 && index <= pl->n);
    const vl_summary *s = &pl->sum[index - 1];
    vl_entry e;
    memset(&e, 0, sizeof e);
    e.index = index;
    e.time_ms = s->time_ms;
    memcpy(e.prev_hash, prev != NULL ? prev : pl->prev[index - 1], 32);
    e.cert = (vl_bytes){pl->cert[index - 1].data, (uint32_t)pl->cert[index - 1].len};
    size_t len = 0;
    vl_err err = vl_entry_encode(&e, NULL, 0, &len);
    CHECK_ERR(err, VL_OK);
    h_buf b = h_buf_zero(len);
    CHECK_ERR(vl_entry_encode(&e, b.data, b.len, &len), VL_OK);
    return b;
}

/* ---- messages from a peer -------------------------------------------------------- */

/* A LOG_REPLY or SUMMARY_REPLY from `from` with log_head and the n items. */
static vl_err feed_list(h_net *h, uint16_t from, uint8_t type, uint64_t log_head,
                        vl_bytes *items, uint32_t n)
{
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = type;
    m.req_id = h->next_req_id++;
    m.from = from;
    m.log_head = log_head;
    m.items = items;
    m.item_count = n;
    h_buf b = h_msg_bytes(&m);
    vl_err e = h_feed_peer(h, from, b.data, b.len);
    h_buf_free(&b);
    return e;
}

/* SUMMARY_REPLY from `from` with log_head and the n summaries s. */
static vl_err feed_summaries(h_net *h, uint16_t from, uint64_t log_head, const vl_summary *s,
                             uint32_t n)
{
    static uint8_t enc[PEER_LOG_MAX][VL_SUMMARY_BYTES];
    vl_bytes items[PEER_LOG_MAX];
    assert(n <= PEER_LOG_MAX);
    for (uint32_t i = 0; i < n; i++) {
        size_t len = 0;
        CHECK_ERR(vl_summary_encode(&s[i], enc[i], sizeof enc[i], &len), VL_OK);
        CHECK(len == VL_SUMMARY_BYTES);
        items[i] = (vl_bytes){enc[i], VL_SUMMARY_BYTES};
    }
    return feed_list(h, from, VL_MSG_SUMMARY_REPLY, log_head, items, n);
}

/* LOG_REPLY from `from` with log_head and the n encoded entries. */
static vl_err feed_entries(h_net *h, uint16_t from, uint64_t log_head, const h_buf *entries,
                           uint32_t n)
{
    vl_bytes items[PEER_LOG_MAX];
    assert(n <= PEER_LOG_MAX);
    for (uint32_t i = 0; i < n; i++) {
        items[i] = (vl_bytes){entries[i].data, (uint32_t)entries[i].len};
    }
    return feed_list(h, from, VL_MSG_LOG_REPLY, log_head, items, n);
}

/* One entry of the peer's log in a LOG_REPLY (prev as in plog_entry). */
static vl_err feed_entry(h_net *h, uint16_t from, uint64_t log_head, const peer_log *pl,
                         uint64_t index, const uint8_t *prev)
{
    h_buf e = plog_entry(pl, index, prev);
    vl_err err = feed_entries(h, from, log_head, &e, 1);
    h_buf_free(&e);
    return err;
}

/* SUMMARY_REQUEST from `from`; *req_id gets its req_id. */
static vl_err feed_summary_request(h_net *h, uint16_t from, uint64_t from_index,
                                   uint32_t max_items, uint64_t *req_id)
{
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_SUMMARY_REQUEST;
    m.req_id = h->next_req_id++;
    m.from = from;
    m.from_index = from_index;
    m.max_items = max_items;
    *req_id = m.req_id;
    h_buf b = h_msg_bytes(&m);
    vl_err e = h_feed_peer(h, from, b.data, b.len);
    h_buf_free(&b);
    return e;
}

/* ---- what the node sent ------------------------------------------------------------ */

/* The last step sent exactly one `type` request to `peer`, from from_index
 * for sync_batch entries, and no request of the other sync type. */
static void expect_request(h_net *h, uint16_t peer, uint8_t type, uint64_t from_index, int line)
{
    H_WHERE_BEGIN;
    uint8_t other = type == VL_MSG_LOG_REQUEST ? VL_MSG_SUMMARY_REQUEST : VL_MSG_LOG_REQUEST;
    CHECK(h_count(h, VL_OUT_PEER, peer, type) == 1);
    CHECK(h_count(h, VL_OUT_PEER, peer, other) == 0);
    vl_msg *m = h_find(h, VL_OUT_PEER, peer, type);
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->from == h->self);
        CHECK(m->from_index == from_index);
        if (m->from_index != from_index) {
            fprintf(stderr, "    from_index %llu, want %llu\n",
                    (unsigned long long)m->from_index, (unsigned long long)from_index);
        }
        CHECK(m->max_items == h->cfg.sync_batch);
    }
    H_WHERE_END(line);
}
#define EXPECT_REQUEST(h, peer, type, from) expect_request((h), (peer), (type), (from), __LINE__)

/* The last step sent no sync request (of either kind) to `peer`. */
static void expect_no_request(h_net *h, uint16_t peer, int line)
{
    H_WHERE_BEGIN;
    CHECK(h_count(h, VL_OUT_PEER, peer, VL_MSG_LOG_REQUEST) == 0);
    CHECK(h_count(h, VL_OUT_PEER, peer, VL_MSG_SUMMARY_REQUEST) == 0);
    H_WHERE_END(line);
}
#define EXPECT_NO_REQUEST(h, peer) expect_no_request((h), (peer), __LINE__)

static uint64_t bad_inputs(h_net *h)
{
    h_snap s;
    h_snapshot(h, &s);
    return s.stats.bad_inputs;
}

static uint64_t log_head(h_net *h)
{
    h_snap s;
    h_snapshot(h, &s);
    return s.log_head;
}

/* The node under test, voter 0, with sync_batch (0: the default). */
static h_net *setup_batch(uint32_t sync_batch)
{
    h_net *h = h_new_std();
    h->cfg.sync_interval_ms = SYNC_MS;
    if (sync_batch != 0) {
        h->cfg.sync_batch = sync_batch;
    }
    OPEN_OK(h, h->voter[0], false);
    return h;
}

static h_net *setup(void)
{
    return setup_batch(0);
}

/* A peer's log of n entries into l: an ISSUE of n - 1 vouchers, then the
 * first REDEEM of each (10 fen times its serial); the orders into o. */
static void issue_redeem_log(h_net *h, vl_order **o, uint32_t n, peer_log *l)
{
    o[0] = h_issue(h, 0, 0, 1, (uint16_t)(n - 1), FACE_FEN, 0);
    for (uint32_t i = 1; i < n; i++) {
        o[i] = h_redeem(h, 0, i, 0, 0, 10u * i, 0);
    }
    for (uint32_t i = 0; i < n; i++) {
        plog_add(h, l, o[i], h->now_ms - 10 + i);
    }
}

/* ---- 1. serving ------------------------------------------------------------------------ */

#define SERVE_N 6u

/* The summaries of a SUMMARY_REPLY to `peer` in the last step, checked
 * against the node's own log: req_id echoed, log_head, `count` items from
 * `from`, each the summary of the node's entry at its index (recomputed
 * here from the entry) for orders[index - 1] applied at times[index - 1].
 * The raw items are copied into raw (count * VL_SUMMARY_BYTES) if given. */
static void check_summaries(h_net *h, uint16_t peer, uint64_t req_id, uint64_t head,
                            uint64_t from, uint32_t count, vl_order *const *orders,
                            const uint64_t *times, uint8_t *raw, int line)
{
    H_WHERE_BEGIN;
    CHECK(h_count(h, VL_OUT_PEER, peer, VL_MSG_SUMMARY_REPLY) == 1);
    vl_msg *m = h_find(h, VL_OUT_PEER, peer, VL_MSG_SUMMARY_REPLY);
    CHECK(m != NULL);
    if (m == NULL) {
        H_WHERE_END(line);
        return;
    }
    CHECK(m->req_id == req_id);
    CHECK(m->from == h->self);
    CHECK(m->log_head == head);
    CHECK(m->item_count == count);
    vl_cert *cert = calloc(1, sizeof *cert);
    CHECK(cert != NULL);
    static uint8_t eb[1 << 16];
    for (uint32_t i = 0; cert != NULL && i < m->item_count && i < count; i++) {
        uint64_t index = from + i;
        vl_summary s;
        memset(&s, 0, sizeof s);
        CHECK(m->items[i].len == VL_SUMMARY_BYTES);
        CHECK_ERR(vl_summary_decode(m->items[i].ptr, m->items[i].len, &s), VL_OK);
        if (raw != NULL && m->items[i].len == VL_SUMMARY_BYTES) {
            memcpy(raw + (size_t)i * VL_SUMMARY_BYTES, m->items[i].ptr, VL_SUMMARY_BYTES);
        }
        /* The node's own entry at that index, and its chain. */
        size_t elen = 0;
        vl_entry e;
        memset(&e, 0, sizeof e);
        CHECK_ERR(vl_core_get_entry(h->core, index, eb, sizeof eb, &elen), VL_OK);
        CHECK_ERR(vl_entry_decode(eb, elen, &e), VL_OK);
        CHECK_ERR(vl_cert_decode(e.cert.ptr, e.cert.len, cert), VL_OK);
        uint8_t ch[32], eh[32], acct[32], oh[32];
        vl_cert_hash(ch, e.cert.ptr, e.cert.len);
        vl_entry_hash(eh, index, e.prev_hash, ch);
        CHECK(s.index == index);
        CHECK(s.time_ms == e.time_ms);
        CHECK(s.time_ms == times[index - 1]);
        CHECK_MEM(s.entry_hash, eh, 32);
        /* The order named is the certificate's, and the one the test
         * applied at that index. */
        vl_order_account(acct, &cert->order);
        vl_order_hash(oh, &cert->order);
        CHECK_MEM(s.account, acct, 32);
        CHECK(s.seq == cert->order.seq);
        CHECK_MEM(s.order_hash, oh, 32);
        h_order_account(orders[index - 1], acct);
        h_order_hash(orders[index - 1], oh);
        CHECK_MEM(s.account, acct, 32);
        CHECK(s.seq == orders[index - 1]->seq);
        CHECK_MEM(s.order_hash, oh, 32);
    }
    free(cert);
    H_WHERE_END(line);
}
#define CHECK_SUMMARIES(h, peer, req, head, from, count, orders, times, raw)                 \
    check_summaries((h), (peer), (req), (head), (from), (count), (orders), (times), (raw),  \
                    __LINE__)

static void test_serving(void)
{
    TEST_BEGIN("1. SUMMARY_REQUEST: the summaries of the node's own log, ring or LMDB alike");
    h_net *h = setup();
    uint16_t peer = h->voter[2];
    vl_order *o[SERVE_N + 1] = {
        h_issue(h, 0, 0, 1, 4, FACE_FEN, 0), /* issuer 0, seq 0 */
        h_redeem(h, 0, 1, 0, 0, 100, 0),     /* voucher 1, seq 0 */
        h_redeem(h, 0, 2, 0, 0, 200, 1),     /* voucher 2, seq 0 */
        h_issue(h, 1, 0, 10, 2, 500, 1),     /* issuer 1, seq 0 */
        h_redeem(h, 0, 1, 1, 0, 50, 1),      /* voucher 1, seq 1 */
        h_revoke(h, 0, 3, 0),                /* voucher 3, seq 0 */
        h_redeem(h, 0, 4, 0, 0, 10, 0),      /* applied after the reopen */
    };
    uint64_t times[SERVE_N + 1];
    /* Applied at distinct times, two of them in one CERTS message. */
    uint32_t next = 0;
    while (next < SERVE_N) {
        uint32_t k = next == 1 ? 2u : 1u;
        h_buf c[2];
        for (uint32_t j = 0; j < k; j++) {
            c[j] = h_cert_q(h, o[next + j]);
            times[next + j] = h->now_ms;
        }
        CHECK_ERR(h_send_certs(h, h->voter[1], c, k), VL_OK);
        for (uint32_t j = 0; j < k; j++) {
            h_buf_free(&c[j]);
        }
        next += k;
        h->now_ms += 1000 + next;
    }
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK(s0.log_head == SERVE_N);

    /* The whole log: every summary is its entry's, the last one's hash is
     * the head hash the node reports, and serving changed nothing. */
    uint64_t req;
    static uint8_t warm[SERVE_N * VL_SUMMARY_BYTES], cold[SERVE_N * VL_SUMMARY_BYTES];
    static uint8_t part_warm[2 * VL_SUMMARY_BYTES], part_cold[2 * VL_SUMMARY_BYTES];
    CHECK_ERR(feed_summary_request(h, peer, 1, VL_MAX_MSG_ITEMS, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N, 1, SERVE_N, o, times, warm);
    vl_summary last;
    CHECK_ERR(vl_summary_decode(warm + (SERVE_N - 1) * VL_SUMMARY_BYTES, VL_SUMMARY_BYTES, &last),
              VL_OK);
    CHECK_MEM(last.entry_hash, s0.head_hash, 32);
    h_snapshot(h, &s1);
    CHECK(h_same_state(&s0, &s1));
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs);

    /* max_items limits the count; a window in the middle. */
    CHECK_ERR(feed_summary_request(h, peer, 4, 2, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N, 4, 2, o, times, part_warm);
    /* From the head: one; from beyond the head: none, with the head. */
    CHECK_ERR(feed_summary_request(h, peer, SERVE_N, VL_MAX_MSG_ITEMS, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N, SERVE_N, 1, o, times, NULL);
    CHECK_ERR(feed_summary_request(h, peer, SERVE_N + 1, VL_MAX_MSG_ITEMS, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N, SERVE_N + 1, 0, o, times, NULL);
    CHECK_ERR(feed_summary_request(h, peer, 1000000, 1, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N, 1000000, 0, o, times, NULL);

    /* Reopened, the ring is cold: the summaries are computed from LMDB and
     * must be the same bytes. */
    h_close(h);
    OPEN_OK(h, h->voter[0], false);
    CHECK_ERR(feed_summary_request(h, peer, 1, VL_MAX_MSG_ITEMS, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N, 1, SERVE_N, o, times, cold);
    CHECK_MEM(warm, cold, sizeof warm);
    CHECK_ERR(feed_summary_request(h, peer, 4, 2, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N, 4, 2, o, times, part_cold);
    CHECK_MEM(part_warm, part_cold, sizeof part_warm);

    /* One more entry after the reopen: a reply mixing LMDB (1..6) and the
     * ring (7). */
    times[SERVE_N] = h->now_ms;
    APPLY(h, o[SERVE_N]);
    static uint8_t mixed[(SERVE_N + 1) * VL_SUMMARY_BYTES];
    CHECK_ERR(feed_summary_request(h, peer, 1, VL_MAX_MSG_ITEMS, &req), VL_OK);
    CHECK_SUMMARIES(h, peer, req, SERVE_N + 1, 1, SERVE_N + 1, o, times, mixed);
    CHECK_MEM(mixed, warm, sizeof warm);

    for (uint32_t i = 0; i <= SERVE_N; i++) {
        free(o[i]);
    }
    h_free(&h);
}

/* ---- 2. skipping ------------------------------------------------------------------------ */

static void test_skipping(void)
{
    TEST_BEGIN("2. summaries of held orders move the cursor; no certificate is fetched");
    h_net *h = setup();
    uint16_t p1 = h->voter[1], p2 = h->voter[2];
    vl_order *a = h_issue(h, 0, 0, 1, 4, FACE_FEN, 0);
    vl_order *b = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *c = h_redeem(h, 0, 2, 0, 0, 300, 0); /* held by peers only */
    vl_order *d = h_redeem(h, 0, 3, 0, 0, 400, 1); /* held by peer 2 only */
    APPLY(h, a);
    APPLY(h, b);
    CHECK(log_head(h) == 2);

    /* Peer 1's log: A, B, C. */
    peer_log l1 = {0};
    plog_add(h, &l1, a, h->now_ms - 20);
    plog_add(h, &l1, b, h->now_ms - 10);
    plog_add(h, &l1, c, h->now_ms - 5);
    uint64_t bad0 = bad_inputs(h);
    CHECK_ERR(feed_summaries(h, p1, 3, l1.sum, 2), VL_OK);
    /* Held: no whole entries asked for; the peer has more, so the node
     * asks for summaries from past the two it skipped. */
    EXPECT_REQUEST(h, p1, VL_MSG_SUMMARY_REQUEST, 3);
    CHECK(bad_inputs(h) == bad0);
    CHECK(log_head(h) == 2);
    /* The same reply again: below the cursor, a duplicate; nothing. */
    CHECK_ERR(feed_summaries(h, p1, 3, l1.sum, 2), VL_OK);
    EXPECT_NO_REQUEST(h, p1);
    CHECK(bad_inputs(h) == bad0);

    /* Entry 3 of peer 1's log chains to the entry hash the summary gave for
     * 2 (peer 1's, not the node's own) and carries a new certificate: it is
     * applied. */
    uint8_t vid2[32];
    h_voucher_account(h, 0, 2, vid2);
    CHECK_ERR(feed_entry(h, p1, 3, &l1, 3, NULL), VL_OK);
    CHECK(bad_inputs(h) == bad0);
    CHECK(log_head(h) == 3);
    vl_account v = ACCT(h, vid2);
    CHECK(v.next_seq == 1 && v.remaining_fen == FACE_FEN - 300);
    static uint8_t buf[1 << 16];
    size_t len = 0;
    vl_entry e;
    memset(&e, 0, sizeof e);
    CHECK_ERR(vl_core_get_entry(h->core, 3, buf, sizeof buf, &len), VL_OK);
    CHECK_ERR(vl_entry_decode(buf, len, &e), VL_OK);
    CHECK(e.cert.len == l1.cert[2].len && memcmp(e.cert.ptr, l1.cert[2].data, e.cert.len) == 0);

    /* Peer 2's log: A, B, C, D.  The node holds A, B, C (C came by sync):
     * three summaries skip them, and the cursor survives a restart (an
     * entry 4 chained to peer 2's hash of 3 applies after the reopen). */
    peer_log l2 = {0};
    plog_add(h, &l2, a, h->now_ms - 30);
    plog_add(h, &l2, b, h->now_ms - 20);
    plog_add(h, &l2, c, h->now_ms - 10);
    plog_add(h, &l2, d, h->now_ms - 5);
    CHECK_ERR(feed_summaries(h, p2, 4, l2.sum, 3), VL_OK);
    EXPECT_REQUEST(h, p2, VL_MSG_SUMMARY_REQUEST, 4);
    CHECK(bad_inputs(h) == bad0);
    h_close(h);
    OPEN_OK(h, h->voter[0], false);
    bad0 = bad_inputs(h);
    CHECK_ERR(feed_entry(h, p2, 4, &l2, 4, NULL), VL_OK);
    CHECK(bad_inputs(h) == bad0);
    CHECK(log_head(h) == 4);
    uint8_t vid3[32];
    h_voucher_account(h, 0, 3, vid3);
    v = ACCT(h, vid3);
    CHECK(v.next_seq == 1 && v.remaining_fen == FACE_FEN - 400);

    plog_free(&l1);
    plog_free(&l2);
    free(a);
    free(b);
    free(c);
    free(d);
    h_free(&h);
}

/* ---- 3. lacking, and the wait ----------------------------------------------------------- */

static void test_lacking_waits(void)
{
    TEST_BEGIN("3. a lacking order: whole entries only a sync interval later");
    h_net *h = setup();
    uint16_t p1 = h->voter[1], p2 = h->voter[2], p3 = h->voter[3];
    vl_order *a = h_issue(h, 0, 0, 1, 4, FACE_FEN, 0);
    vl_order *x = h_redeem(h, 0, 2, 0, 0, 250, 0);
    APPLY(h, a);
    uint64_t bad0 = bad_inputs(h);

    /* Peer 1's log: A (held), X (not held: no certificate in its slot). */
    peer_log l1 = {0};
    plog_add(h, &l1, a, h->now_ms - 10);
    plog_add(h, &l1, x, h->now_ms - 5);
    uint64_t t0 = h->now_ms;
    CHECK_ERR(feed_summaries(h, p1, 2, l1.sum, 2), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p1, VL_MSG_LOG_REQUEST) == 0);
    h->now_ms = t0 + SYNC_MS - 1;
    CHECK_ERR(feed_summaries(h, p1, 2, l1.sum, 2), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p1, VL_MSG_LOG_REQUEST) == 0);
    /* A sync interval after X was first found lacking: whole entries from
     * X's index (A was skipped by the first reply). */
    h->now_ms = t0 + SYNC_MS;
    CHECK_ERR(feed_summaries(h, p1, 2, l1.sum, 2), VL_OK);
    EXPECT_REQUEST(h, p1, VL_MSG_LOG_REQUEST, 2);
    /* Once asked, the wait starts over: one LOG_REQUEST per interval for a
     * peer whose entries keep lacking, not one per reply. */
    CHECK_ERR(feed_summaries(h, p1, 2, l1.sum, 2), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p1, VL_MSG_LOG_REQUEST) == 0);
    CHECK(bad_inputs(h) == bad0);
    /* The LOG_REPLY brings X, chained to peer 1's hash of A. */
    CHECK_ERR(feed_entry(h, p1, 2, &l1, 2, NULL), VL_OK);
    CHECK(log_head(h) == 2);
    CHECK(bad_inputs(h) == bad0);

    /* Peer 2's log: Y, Z, both lacking.  Y's certificate arrives by
     * broadcast during the wait: the next reply skips it without a
     * LOG_REQUEST, and Z, lacking at a new index, starts its own wait. */
    vl_order *y = h_redeem(h, 0, 3, 0, 0, 100, 0);
    vl_order *z = h_redeem(h, 0, 4, 0, 0, 100, 1);
    peer_log l2 = {0};
    plog_add(h, &l2, y, h->now_ms - 10);
    plog_add(h, &l2, z, h->now_ms - 5);
    uint64_t t1 = h->now_ms + 7;
    h->now_ms = t1;
    CHECK_ERR(feed_summaries(h, p2, 2, l2.sum, 2), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p2, VL_MSG_LOG_REQUEST) == 0);
    h->now_ms = t1 + 1;
    APPLY(h, y);
    h->now_ms = t1 + SYNC_MS;
    CHECK_ERR(feed_summaries(h, p2, 2, l2.sum, 2), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p2, VL_MSG_LOG_REQUEST) == 0);
    h->now_ms = t1 + 2 * SYNC_MS - 1;
    CHECK_ERR(feed_summaries(h, p2, 2, l2.sum, 2), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p2, VL_MSG_LOG_REQUEST) == 0);
    h->now_ms = t1 + 2 * SYNC_MS;
    CHECK_ERR(feed_summaries(h, p2, 2, l2.sum, 2), VL_OK);
    EXPECT_REQUEST(h, p2, VL_MSG_LOG_REQUEST, 2);
    CHECK(bad_inputs(h) == bad0);

    /* Peer 3's log: A2, another order for A's slot (issuer 0, seq 0), which
     * more than f voters signed.  The slot is held, but by another order:
     * lacking too, with the same wait; the entry then fetched is fork
     * evidence, and the node's own certificate stands. */
    vl_order *a2 = h_issue(h, 0, 0, 9, 2, 50000, 1);
    uint8_t ah[32], a2h[32], iid[32];
    h_order_hash(a, ah);
    h_order_hash(a2, a2h);
    CHECK(memcmp(ah, a2h, 32) != 0);
    peer_log l3 = {0};
    plog_add(h, &l3, a2, h->now_ms - 5);
    CHECK_MEM(l3.sum[0].account, l1.sum[0].account, 32);
    CHECK(l3.sum[0].seq == l1.sum[0].seq);
    h_issuer_account(h, 0, iid);
    vl_account before = ACCT(h, iid);
    uint64_t t2 = h->now_ms + 11;
    h->now_ms = t2;
    CHECK_ERR(feed_summaries(h, p3, 1, l3.sum, 1), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p3, VL_MSG_LOG_REQUEST) == 0);
    h->now_ms = t2 + SYNC_MS - 1;
    CHECK_ERR(feed_summaries(h, p3, 1, l3.sum, 1), VL_OK);
    CHECK(h_count(h, VL_OUT_PEER, p3, VL_MSG_LOG_REQUEST) == 0);
    h->now_ms = t2 + SYNC_MS;
    CHECK_ERR(feed_summaries(h, p3, 1, l3.sum, 1), VL_OK);
    EXPECT_REQUEST(h, p3, VL_MSG_LOG_REQUEST, 1);
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK_ERR(feed_entry(h, p3, 1, &l3, 1, NULL), VL_OK);
    h_snapshot(h, &s1);
    CHECK(s1.stats.forks == s0.stats.forks + 1);
    CHECK((s1.stats.status.flags & VL_STATUS_FORK) != 0);
    CHECK(h_same_state(&s0, &s1));
    vl_account after = ACCT(h, iid);
    CHECK(after.issued_fen == before.issued_fen && after.next_seq == before.next_seq);

    plog_free(&l1);
    plog_free(&l2);
    plog_free(&l3);
    free(a);
    free(x);
    free(y);
    free(z);
    free(a2);
    h_free(&h);
}

/* ---- 4. lies ------------------------------------------------------------------------------ */

static void test_lies(void)
{
    TEST_BEGIN("4. a gap in the summaries is bad input; a held order moves the cursor on trust");
    h_net *h = setup();
    uint16_t p1 = h->voter[1], p2 = h->voter[2], p3 = h->voter[3];
    vl_order *a = h_issue(h, 0, 0, 1, 4, FACE_FEN, 0);
    vl_order *b = h_redeem(h, 0, 1, 0, 0, 100, 0);
    vl_order *c = h_redeem(h, 0, 2, 0, 0, 300, 0);
    vl_order *d = h_redeem(h, 0, 3, 0, 0, 400, 0);
    APPLY(h, a);
    APPLY(h, b);
    peer_log l = {0}; /* A, B, C: served (or lied about) by each peer below */
    plog_add(h, &l, a, h->now_ms - 20);
    plog_add(h, &l, b, h->now_ms - 10);
    plog_add(h, &l, c, h->now_ms - 5);

    /* A reply starting past the cursor (1): its summary names a held order,
     * but entry 1 was skipped.  One bad input; the cursor stays at 1. */
    h_snap s0, s1;
    h_snapshot(h, &s0);
    CHECK_ERR(feed_summaries(h, p1, 3, &l.sum[1], 1), VL_OK);
    h_snapshot(h, &s1);
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    CHECK(h_same_state(&s0, &s1));
    EXPECT_NO_REQUEST(h, p1);
    /* The honest reply from 1 is read from the old cursor: it moves it to
     * 3 (asking for summaries from 3), and entry 3 then applies. */
    CHECK_ERR(feed_summaries(h, p1, 3, l.sum, 2), VL_OK);
    EXPECT_REQUEST(h, p1, VL_MSG_SUMMARY_REQUEST, 3);
    CHECK_ERR(feed_entry(h, p1, 3, &l, 3, NULL), VL_OK);
    CHECK(log_head(h) == 3);
    h_snapshot(h, &s0);
    CHECK(s0.stats.bad_inputs == s1.stats.bad_inputs);

    /* A gap inside a reply: A at 1, then B claimed at 3.  A moves the
     * cursor to 2, the gap is bad input and reading stops there. */
    vl_summary gap[2] = {l.sum[0], l.sum[1]};
    gap[1].index = 3;
    CHECK_ERR(feed_summaries(h, p2, 3, gap, 2), VL_OK);
    h_snapshot(h, &s1);
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs + 1);
    EXPECT_REQUEST(h, p2, VL_MSG_SUMMARY_REQUEST, 2);
    /* The reply from the cursor (2) is read: B and C are held, no bad
     * input, and the peer has nothing past 3, so no further request. */
    CHECK_ERR(feed_summaries(h, p2, 3, &l.sum[1], 2), VL_OK);
    EXPECT_NO_REQUEST(h, p2);
    h_snapshot(h, &s0);
    CHECK(s0.stats.bad_inputs == s1.stats.bad_inputs);

    /* A summary naming a held order moves the cursor although nothing in
     * it is checked: here its entry hash is made up.  By design (vl_serve.c
     * vl_on_summary_reply, docs/protocol.md 4.8): the node holds that
     * order's certificate already, so nothing it applies rests on the
     * peer's word, and the next entry it pulls is still chained to that
     * hash and fully verified.  Whether the peer's log chains as it claims
     * is for auditors (GET_LOG, checkpoints), not for sync. */
    peer_log l3 = {0}; /* A, D */
    plog_add(h, &l3, a, h->now_ms - 10);
    plog_add(h, &l3, d, h->now_ms - 5);
    vl_summary lie = l3.sum[0];
    memset(lie.entry_hash, 0x5a, 32);
    CHECK_ERR(feed_summaries(h, p3, 2, &lie, 1), VL_OK);
    EXPECT_REQUEST(h, p3, VL_MSG_SUMMARY_REQUEST, 2);
    h_snapshot(h, &s1);
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs);
    /* Entry 2 chained to the peer's true entry 1 breaks the chain the
     * node now follows: bad input, not applied ... */
    CHECK_ERR(feed_entry(h, p3, 2, &l3, 2, NULL), VL_OK);
    h_snapshot(h, &s0);
    CHECK(s0.stats.bad_inputs == s1.stats.bad_inputs + 1);
    CHECK(s0.log_head == 3);
    /* ... and chained to the claimed hash, it applies. */
    CHECK_ERR(feed_entry(h, p3, 2, &l3, 2, lie.entry_hash), VL_OK);
    h_snapshot(h, &s1);
    CHECK(s1.stats.bad_inputs == s0.stats.bad_inputs);
    CHECK(s1.log_head == 4);
    uint8_t vid3[32];
    h_voucher_account(h, 0, 3, vid3);
    vl_account v = ACCT(h, vid3);
    CHECK(v.remaining_fen == FACE_FEN - 400);

    plog_free(&l);
    plog_free(&l3);
    free(a);
    free(b);
    free(c);
    free(d);
    h_free(&h);
}

/* ---- 5. the sync tick ------------------------------------------------------------------- */

static void test_tick(void)
{
    TEST_BEGIN("5. each sync interval: SUMMARY_REQUEST from the cursor to every other node");
    h_net *h = setup();
    uint32_t nodes = h->g->node_count;
    CHECK(nodes == 5); /* 4 voters and the observer */
    uint64_t t0 = h->now_ms;
    CHECK_ERR(h_tick(h), VL_OK);
    CHECK(h_count(h, 0, 0, VL_MSG_LOG_REQUEST) == 0);
    CHECK(h_count(h, 0, 0, VL_MSG_SUMMARY_REQUEST) == nodes - 1);
    CHECK(h_out_count(h) == nodes - 1);
    CHECK(h_count(h, VL_OUT_PEER, h->self, VL_MSG_SUMMARY_REQUEST) == 0);
    for (uint16_t p = 0; p < nodes; p++) {
        if (p != h->self) {
            EXPECT_REQUEST(h, p, VL_MSG_SUMMARY_REQUEST, 1);
        }
    }
    /* Not again within the interval. */
    h->now_ms = t0 + SYNC_MS - 1;
    CHECK_ERR(h_tick(h), VL_OK);
    CHECK(h_count(h, 0, 0, VL_MSG_SUMMARY_REQUEST) == 0);
    CHECK(h_count(h, 0, 0, VL_MSG_LOG_REQUEST) == 0);

    /* Peer 1's cursor moves by summaries; the next round asks it from
     * there and the others from 1, still summaries only. */
    vl_order *a = h_issue(h, 0, 0, 1, 4, FACE_FEN, 0);
    vl_order *b = h_redeem(h, 0, 1, 0, 0, 100, 0);
    APPLY(h, a);
    APPLY(h, b);
    peer_log l = {0};
    plog_add(h, &l, a, h->now_ms - 10);
    plog_add(h, &l, b, h->now_ms - 5);
    CHECK_ERR(feed_summaries(h, h->voter[1], 2, l.sum, 2), VL_OK);
    EXPECT_NO_REQUEST(h, h->voter[1]); /* the peer has nothing past 2 */
    h->now_ms = t0 + SYNC_MS;
    CHECK_ERR(h_tick(h), VL_OK);
    CHECK(h_count(h, 0, 0, VL_MSG_LOG_REQUEST) == 0);
    CHECK(h_count(h, 0, 0, VL_MSG_SUMMARY_REQUEST) == nodes - 1);
    for (uint16_t p = 0; p < nodes; p++) {
        if (p != h->self) {
            EXPECT_REQUEST(h, p, VL_MSG_SUMMARY_REQUEST, p == h->voter[1] ? 3u : 1u);
        }
    }
    plog_free(&l);
    free(a);
    free(b);
    h_free(&h);
}

/* ---- 6. after a LOG_REPLY ------------------------------------------------------------- */

static void test_after_log_reply(void)
{
    TEST_BEGIN("6. after a LOG_REPLY: whole entries while news and a batch behind, else summaries");
    h_net *h = setup_batch(2);
    uint16_t p1 = h->voter[1], p2 = h->voter[2];
    vl_order *o[5];
    peer_log l = {0};
    issue_redeem_log(h, o, 5, &l);
    /* News, and the peer 3 (>= sync_batch) past the cursor: more whole
     * entries at once. */
    CHECK_ERR(feed_entry(h, p1, 5, &l, 1, NULL), VL_OK);
    CHECK(log_head(h) == 1);
    EXPECT_REQUEST(h, p1, VL_MSG_LOG_REQUEST, 2);
    /* News, but only 1 (< sync_batch) left: summaries. */
    h_buf e[2] = {plog_entry(&l, 2, NULL), plog_entry(&l, 3, NULL)};
    CHECK_ERR(feed_entries(h, p1, 5, e, 2), VL_OK);
    CHECK(log_head(h) == 3);
    EXPECT_REQUEST(h, p1, VL_MSG_SUMMARY_REQUEST, 4);
    /* Held (no news), though a batch behind: summaries. */
    CHECK_ERR(feed_entry(h, p2, 5, &l, 1, NULL), VL_OK);
    CHECK(log_head(h) == 3);
    EXPECT_REQUEST(h, p2, VL_MSG_SUMMARY_REQUEST, 2);
    h_buf_free(&e[0]);
    h_buf_free(&e[1]);
    plog_free(&l);
    for (uint32_t i = 0; i < 5; i++) {
        free(o[i]);
    }
    h_free(&h);
}

/* STATUS's SYNCING flag. */
static bool syncing(h_net *h, uint64_t client)
{
    CHECK_ERR(h_client(h, client, VL_REQ_STATUS, NULL, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, client, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_STATUS);
    return m != NULL && (m->status.flags & VL_STATUS_SYNCING) != 0;
}

static void test_syncing_needs_more_than_f(void)
{
    TEST_BEGIN("7. SYNCING: more than max_faulty peers ahead, a moment behind under load is not");
    h_net *h = setup_batch(2);
    uint16_t liar = h->voter[1], p2 = h->voter[2];
    vl_order *o[8];
    peer_log l = {0};
    issue_redeem_log(h, o, 8, &l);
    h_buf e[2];
    CHECK(!syncing(h, 31));
    /* One peer claims a head of 2^64 - 1 and sends nothing: never enough. */
    CHECK_ERR(feed_summaries(h, liar, UINT64_MAX, NULL, 0), VL_OK);
    CHECK(!syncing(h, 32));
    /* Since the start the cursor into the honest peer's log has reached no
     * head it reported: syncing at once, until it does. */
    CHECK_ERR(feed_entry(h, p2, 2, &l, 1, NULL), VL_OK); /* news, 1 left: summaries */
    CHECK(log_head(h) == 1);
    CHECK(syncing(h, 33));
    e[0] = plog_entry(&l, 2, NULL);
    CHECK_ERR(feed_entries(h, p2, 2, e, 1), VL_OK);
    h_buf_free(&e[0]);
    CHECK(log_head(h) == 2);
    CHECK(!syncing(h, 34));
    /* The peer's log grows by 2 (head 4): a moment behind, as under load
     * between sync rounds, is not syncing ... */
    CHECK_ERR(feed_summaries(h, p2, 4, NULL, 0), VL_OK);
    CHECK(!syncing(h, 35));
    h->now_ms += 2 * SYNC_MS;
    CHECK_ERR(feed_summaries(h, liar, UINT64_MAX, NULL, 0), VL_OK);
    CHECK_ERR(feed_summaries(h, p2, 4, NULL, 0), VL_OK);
    CHECK(!syncing(h, 36));
    /* ... but 3 sync intervals without reaching that head is: the liar and
     * the honest peer are more than max_faulty. */
    h->now_ms += SYNC_MS;
    CHECK_ERR(feed_summaries(h, liar, UINT64_MAX, NULL, 0), VL_OK);
    CHECK_ERR(feed_summaries(h, p2, 4, NULL, 0), VL_OK);
    CHECK(syncing(h, 37));
    /* The cursor reaches it: no longer. */
    e[0] = plog_entry(&l, 3, NULL);
    e[1] = plog_entry(&l, 4, NULL);
    CHECK_ERR(feed_entries(h, p2, 4, e, 2), VL_OK);
    h_buf_free(&e[0]);
    h_buf_free(&e[1]);
    CHECK(log_head(h) == 4);
    CHECK(!syncing(h, 38));
    /* Pulling whole entries (news, the peer still a batch ahead) counts at
     * once: a node back from a partition says so from its first pulls. */
    CHECK_ERR(feed_entry(h, p2, 8, &l, 5, NULL), VL_OK); /* news; 3 left >= 2 */
    EXPECT_REQUEST(h, p2, VL_MSG_LOG_REQUEST, 6);
    CHECK(syncing(h, 39));
    e[0] = plog_entry(&l, 6, NULL);
    e[1] = plog_entry(&l, 7, NULL);
    CHECK_ERR(feed_entries(h, p2, 8, e, 2), VL_OK); /* news; 1 left: summaries */
    h_buf_free(&e[0]);
    h_buf_free(&e[1]);
    EXPECT_REQUEST(h, p2, VL_MSG_SUMMARY_REQUEST, 8);
    CHECK(!syncing(h, 40));
    /* A peer not heard for 3 sync intervals does not count. */
    h->now_ms += 4 * SYNC_MS;
    CHECK_ERR(feed_summaries(h, p2, 8, NULL, 0), VL_OK);
    CHECK(!syncing(h, 41));
    plog_free(&l);
    for (uint32_t i = 0; i < 8; i++) {
        free(o[i]);
    }
    h_free(&h);
}

static void test_syncing_heads(void)
{
    TEST_BEGIN("8. SYNCING: peers heard that have not answered count for a while; a log not longer never does");
    h_net *h = setup_batch(2);
    uint16_t p1 = h->voter[1], p2 = h->voter[2];
    vl_order *o[4];
    peer_log l = {0};
    issue_redeem_log(h, o, 4, &l);
    /* Heard (they ask for our summaries), not yet answered since open: a
     * node restarted far behind must not say "healthy" before its first
     * replies (it hears its peers, so it is in quorum). */
    uint64_t req;
    CHECK_ERR(feed_summary_request(h, p1, 1, 4, &req), VL_OK);
    CHECK_ERR(feed_summary_request(h, p2, 1, 4, &req), VL_OK);
    CHECK(syncing(h, 51));
    /* ... but not for good: 3 sync intervals after they were first heard,
     * peers that never answer (a one-way link) no longer count. */
    h->now_ms += 3 * SYNC_MS;
    CHECK_ERR(feed_summary_request(h, p1, 1, 4, &req), VL_OK);
    CHECK_ERR(feed_summary_request(h, p2, 1, 4, &req), VL_OK);
    CHECK(!syncing(h, 55));
    CHECK_ERR(feed_summaries(h, p1, 0, NULL, 0), VL_OK); /* p1 answers: an empty log */
    CHECK(!syncing(h, 52));                              /* p2 alone: not more than f */
    /* Every entry applied here by certificates (head 4), while the cursors
     * into both peers' logs stay at 1 (their summaries bring nothing):
     * after 3 sync intervals the peers' heads of 4 are not past ours. */
    for (uint32_t i = 0; i < 4; i++) {
        APPLY(h, o[i]);
    }
    CHECK(log_head(h) == 4);
    CHECK_ERR(feed_summaries(h, p1, 4, NULL, 0), VL_OK);
    CHECK_ERR(feed_summaries(h, p2, 4, NULL, 0), VL_OK);
    h->now_ms += 3 * SYNC_MS;
    CHECK_ERR(feed_summaries(h, p1, 4, NULL, 0), VL_OK);
    CHECK_ERR(feed_summaries(h, p2, 4, NULL, 0), VL_OK);
    CHECK(!syncing(h, 53));
    /* Both logs one longer than ours, the cursors still short of the heads
     * reported 3 intervals ago: syncing. */
    CHECK_ERR(feed_summaries(h, p1, 5, NULL, 0), VL_OK);
    CHECK_ERR(feed_summaries(h, p2, 5, NULL, 0), VL_OK);
    CHECK(syncing(h, 54));
    plog_free(&l);
    for (uint32_t i = 0; i < 4; i++) {
        free(o[i]);
    }
    h_free(&h);
}

int main(void)
{
    test_serving();
    test_skipping();
    test_lacking_waits();
    test_lies();
    test_tick();
    test_after_log_reply();
    test_syncing_needs_more_than_f();
    test_syncing_heads();
    VL_TEST_END();
}
