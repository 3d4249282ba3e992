/* core_smoke_test.c - four voters on real LMDB, outputs routed by hand.
 *
 * Issue a voucher through node 0 and redeem part of it through node 2;
 * every node must apply both certificates and reach the same state digest.
 * The entry node asks q - 1 = 2 other voters, picked in turn from the order
 * hash (vl_coord.c, request_quorum); when one of them is node 3, the
 * certificate waits for the re-request to every voter at redrive_after_ms.
 * Node 3 is partitioned away meanwhile and must catch up by log sync:
 * summaries first, whole entries for what it lacks; once every node holds
 * every certificate, sync rounds carry summaries only.
 * Then the answers a client sees for a repeated order, a conflicting order
 * and an overspend; a restart keeps the state; the directory is refused to
 * a second opener and to another node index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vl_core.h"
#include "vl_test.h"
#include "vl_verify.h"

#define NODES 4
#define T0_MS 1800000000000ull /* 2027-01-15 */
#define MAX_QUEUE 4096
#define MAX_ROUNDS 50

typedef struct {
    uint16_t to;
    uint16_t from;
    uint8_t *data;
    size_t len;
} pkt;

typedef struct {
    uint64_t client;
    uint8_t *data;
    size_t len;
} reply;

static vl_genesis *g;
static vl_keypair node_key[NODES], issuer_key, provider_key, holder_key;
static char dirs[NODES][64];
static vl_core *core[NODES];
static pkt queue[MAX_QUEUE];
static size_t queued;
static reply replies[64];
static size_t reply_count;
static uint64_t now_ms = T0_MS;
static int isolated = -1; /* a node whose traffic is dropped, or -1 */
static uint64_t round_ms = 10;
static vl_msg_storage mst;
static size_t sent_of_type[256]; /* peer messages routed, by type byte */
static size_t summaries_sent;     /* summary items in SUMMARY_REPLYs routed */
static uint64_t redrive_ms;       /* the cores' redrive_after_ms */
static unsigned last_asked;       /* peers the last submit's step sent VOTE_REQUEST to */
static bool last_rerequested;     /* the last submit's reply came after a re-request */

static void key_of(vl_keypair *kp, uint8_t pattern)
{
    uint8_t secret[32];
    memset(secret, pattern, sizeof secret);
    if (vl_keypair_from_secret(kp, secret) != VL_OK)
        abort();
}

static void make_genesis(void)
{
    char err[256];
    g = calloc(1, sizeof *g);
    snprintf(g->network, sizeof g->network, "smoke-test");
    g->max_faulty = 1;
    g->node_count = NODES;
    for (unsigned i = 0; i < NODES; i++) {
        vl_gen_node *n = &g->nodes[i];
        key_of(&node_key[i], (uint8_t)(0x11 + i));
        snprintf(n->id, sizeof n->id, "node-%u", i);
        n->region = 310000;
        memcpy(n->pubkey, node_key[i].pubkey, 32);
        memset(n->curve_pubkey, 0x40 + (int)i, 32);
        snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://127.0.0.1:%u", 7001 + i);
        snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://127.0.0.1:%u", 7101 + i);
        n->role = VL_ROLE_VOTER;
    }
    key_of(&issuer_key, 0x21);
    key_of(&provider_key, 0x22);
    key_of(&holder_key, 0x23);
    g->issuer_count = 1;
    snprintf(g->issuers[0].id, sizeof g->issuers[0].id, "shanghai");
    g->issuers[0].region = 310000;
    memcpy(g->issuers[0].pubkey, issuer_key.pubkey, 32);
    g->issuers[0].budget_fen = 1000000;
    g->provider_count = 1;
    snprintf(g->providers[0].id, sizeof g->providers[0].id, "guizhou-dc1");
    g->providers[0].region = 520000;
    memcpy(g->providers[0].pubkey, provider_key.pubkey, 32);
    if (vl_genesis_finish(g, err, sizeof err) != VL_OK) {
        fprintf(stderr, "genesis: %s\n", err);
        abort();
    }
    for (unsigned i = 0; i < NODES; i++) /* ids sort as built: index i is node-i */
        if (vl_genesis_node_by_pubkey(g, node_key[i].pubkey) != (int)i)
            abort();
}

static vl_err open_node(unsigned i, uint16_t as_node, vl_core **out)
{
    vl_core_config cfg;
    char err[256];
    vl_core_config_defaults(&cfg);
    cfg.dir = dirs[i];
    cfg.genesis = g;
    cfg.node = as_node;
    cfg.key = &node_key[as_node];
    cfg.durable = false;
    cfg.checkpoint_every_ms = 0;
    redrive_ms = cfg.redrive_after_ms;
    vl_err e = vl_core_open(out, &cfg, err, sizeof err);
    if (e != VL_OK && e != VL_ERR_LOCKED && i == as_node)
        fprintf(stderr, "open node %u: %s\n", i, err);
    return e;
}

/* ---- orders ------------------------------------------------------------------- */

static vl_order *issue_order(uint64_t seq, uint64_t serial, uint64_t value_fen)
{
    vl_order *o = calloc(1, sizeof *o);
    memcpy(o->network_id, g->network_id, 32);
    o->kind = VL_ORDER_ISSUE;
    o->seq = seq;
    memcpy(o->issuer, issuer_key.pubkey, 32);
    o->voucher_count = 1;
    vl_voucher_spec *v = &o->vouchers[0];
    v->serial = serial;
    memcpy(v->holder, holder_key.pubkey, 32);
    v->value_fen = value_fen;
    v->valid_from_s = T0_MS / 1000 - 3600;
    v->valid_until_s = T0_MS / 1000 + 30 * 86400;
    v->subsidy_bp = 8000;
    v->program = (vl_bytes){(const uint8_t *)"sh-2027-ai", 10};
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
    vl_order_sign_slot(o, 0, &issuer_key, NULL);
    return o;
}

static vl_order *redeem_order(uint64_t serial, uint64_t seq, uint64_t amount_fen)
{
    vl_order *o = calloc(1, sizeof *o);
    memcpy(o->network_id, g->network_id, 32);
    o->kind = VL_ORDER_REDEEM;
    o->seq = seq;
    memcpy(o->issuer, issuer_key.pubkey, 32);
    o->serial = serial;
    memcpy(o->holder, holder_key.pubkey, 32);
    o->amount_fen = amount_fen;
    memcpy(o->provider, provider_key.pubkey, 32);
    memset(o->invoice_hash, (int)(amount_fen & 0xff), 32);
    o->gpu_milli_hours = amount_fen * 10;
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
    vl_order_sign_slot(o, 0, &holder_key, NULL);
    vl_order_sign_slot(o, 1, &provider_key, NULL);
    return o;
}

/* ---- routing -------------------------------------------------------------------- */

static void enqueue(uint16_t from, const vl_output *o)
{
    for (uint16_t to = 0; to < NODES; to++) {
        if (to == from || (o->kind == VL_OUT_PEER && o->peer != to))
            continue;
        if (to == isolated || from == isolated)
            continue; /* partitioned */
        if (o->len >= 2)
            sent_of_type[o->data[1]]++;
        if (o->len >= 2 && o->data[1] == VL_MSG_SUMMARY_REPLY) {
            vl_msg sm;
            vl_msg_init(&sm, &mst);
            CHECK_ERR(vl_msg_decode(o->data, o->len, &sm), VL_OK);
            summaries_sent += sm.item_count;
        }
        if (queued >= MAX_QUEUE)
            abort();
        queue[queued].to = to;
        queue[queued].from = from;
        queue[queued].len = o->len;
        queue[queued].data = malloc(o->len);
        memcpy(queue[queued].data, o->data, o->len);
        queued++;
    }
}

static void collect(uint16_t from, vl_outbox *ob)
{
    for (size_t i = 0; i < ob->count; i++) {
        const vl_output *o = &ob->items[i];
        if (o->kind != VL_OUT_CLIENT) {
            enqueue(from, o);
        } else if (reply_count < sizeof replies / sizeof replies[0]) {
            replies[reply_count].client = o->client;
            replies[reply_count].len = o->len;
            replies[reply_count].data = malloc(o->len);
            memcpy(replies[reply_count].data, o->data, o->len);
            reply_count++;
        }
    }
    vl_outbox_clear(ob);
}

/* One round: every node steps once over what is queued for it (plus a tick). */
static void round_once(void)
{
    static vl_input in[MAX_QUEUE + 1];
    static pkt taken[MAX_QUEUE];
    size_t n_taken = queued;
    memcpy(taken, queue, queued * sizeof *queue);
    queued = 0;
    vl_outbox ob;
    vl_outbox_init(&ob);
    for (uint16_t node = 0; node < NODES; node++) {
        size_t n = 0;
        for (size_t i = 0; i < n_taken; i++)
            if (taken[i].to == node)
                in[n++] = (vl_input){VL_IN_PEER, taken[i].from, 0, taken[i].data, taken[i].len};
        in[n++] = (vl_input){.kind = VL_IN_TICK};
        CHECK_ERR(vl_core_step(core[node], now_ms, in, n, &ob), VL_OK);
        collect(node, &ob);
    }
    vl_outbox_free(&ob);
    for (size_t i = 0; i < n_taken; i++)
        free(taken[i].data);
    now_ms += round_ms;
}

static void run_until_quiet(void)
{
    for (int r = 0; r < MAX_ROUNDS; r++) {
        round_once();
        if (queued == 0)
            return;
    }
}

static void clear_replies(void)
{
    for (size_t i = 0; i < reply_count; i++)
        free(replies[i].data);
    reply_count = 0;
}

/* Bit per peer that a step's outputs send a VOTE_REQUEST to. */
static unsigned requested_mask(const vl_outbox *ob)
{
    unsigned mask = 0;
    for (size_t i = 0; i < ob->count; i++) {
        const vl_output *o = &ob->items[i];
        if (o->kind == VL_OUT_PEER && o->len >= 2 && o->data[1] == VL_MSG_VOTE_REQUEST)
            mask |= 1u << o->peer;
    }
    return mask;
}

/* Whom voter `node`, knowing no voter slow, asks for a new order o it
 * votes on itself (vl_coord.c, request_quorum): q - 1 others, in turn from
 * (hash[1] << 8 | hash[2]) mod the node count. */
static unsigned rotation_pick(unsigned node, const vl_order *o)
{
    uint8_t hash[32];
    vl_order_hash(hash, o);
    /* Every node is a voter here: the rotation runs over the other NODES - 1. */
    unsigned start = ((unsigned)hash[1] << 8 | hash[2]) % (NODES - 1u), mask = 0;
    for (unsigned i = 0; i < g->quorum - 1u; i++) {
        unsigned k = (start + i) % (NODES - 1u);
        mask |= 1u << (k < node ? k : k + 1u); /* the k-th voter other than node */
    }
    return mask;
}

static bool find_reply(uint64_t client, vl_msg *m)
{
    for (size_t i = 0; i < reply_count; i++) {
        if (replies[i].client != client)
            continue;
        vl_msg_init(m, &mst);
        if (vl_msg_decode(replies[i].data, replies[i].len, m) == VL_OK &&
            m->type == VL_MSG_CLIENT_REPLY && m->req_id == client * 100)
            return true;
    }
    return false;
}

/* Submit o to `node` as client `client`, route until quiet, and decode the
 * client's reply into *m (false if none).  No reply yet (a voter asked is
 * cut off): move time to the re-request, which asks every voter, and route
 * until quiet again (last_rerequested).  last_asked: the peers the entry
 * node's own step asked to vote. */
static bool submit(unsigned node, uint64_t client, const vl_order *o, vl_msg *m)
{
    size_t olen, len;
    vl_order_encode(o, NULL, 0, &olen);
    uint8_t *ob = malloc(olen);
    vl_order_encode(o, ob, olen, &olen);
    vl_bytes item = {ob, (uint32_t)olen};
    vl_msg req;
    vl_msg_init(&req, NULL);
    req.type = VL_MSG_CLIENT_REQUEST;
    req.req_id = client * 100;
    req.req_kind = VL_REQ_SUBMIT;
    req.items = &item;
    req.item_count = 1;
    CHECK_ERR(vl_msg_encode(&req, NULL, 0, &len), VL_OK);
    uint8_t *rb = malloc(len);
    CHECK_ERR(vl_msg_encode(&req, rb, len, &len), VL_OK);
    vl_input in = {VL_IN_CLIENT, 0, client, rb, len};
    vl_outbox out;
    vl_outbox_init(&out);
    clear_replies();
    CHECK_ERR(vl_core_step(core[node], now_ms, &in, 1, &out), VL_OK);
    last_asked = requested_mask(&out);
    collect((uint16_t)node, &out);
    vl_outbox_free(&out);
    free(rb);
    free(ob);
    run_until_quiet();
    last_rerequested = false;
    if (find_reply(client, m))
        return true;
    last_rerequested = true;
    now_ms += redrive_ms;
    run_until_quiet();
    return find_reply(client, m);
}

static void check_cert_reply(const vl_msg *m, const vl_order *o)
{
    static vl_cert cert;
    uint8_t want[32], got[32];
    CHECK(m->reply_kind == VL_REPLY_CERT);
    if (m->reply_kind != VL_REPLY_CERT)
        return;
    CHECK_ERR(vl_cert_decode(m->items[0].ptr, m->items[0].len, &cert), VL_OK);
    CHECK_ERR(vl_cert_verify(g, &cert, NULL, got), VL_OK);
    vl_order_hash(want, o);
    CHECK_MEM(got, want, 32);
    CHECK(cert.vote_count >= g->quorum);
}

/* ---- checks ----------------------------------------------------------------------- */

/* applied: certificates each core applied since it was opened (-1: skip). */
static void check_all_nodes(uint64_t serial, int applied)
{
    uint8_t vid[32], iid[32], buf[1024], digest0[32];
    static uint8_t buckets[256][32];
    vl_voucher_account_id(vid, issuer_key.pubkey, serial);
    vl_issuer_account_id(iid, issuer_key.pubkey);
    for (unsigned i = 0; i < NODES; i++) {
        vl_account a;
        vl_core_stats st;
        uint8_t digest[32];
        CHECK_ERR(vl_core_get_account(core[i], vid, &a, buf, sizeof buf), VL_OK);
        CHECK(a.kind == VL_ACCOUNT_VOUCHER && a.face_fen == 10000);
        CHECK(a.remaining_fen == 7500 && a.next_seq == 1);
        CHECK_ERR(vl_core_get_account(core[i], iid, &a, buf, sizeof buf), VL_OK);
        CHECK(a.issued_fen == 10000 && a.balance_fen == 990000 && a.next_seq == 1);
        vl_core_get_stats(core[i], &st);
        CHECK(st.status.log_head == 2);
        CHECK(applied < 0 || st.certs_applied == (uint64_t)applied);
        CHECK(st.forks == 0 && st.pending_certs == 0);
        CHECK(st.status.pending_locks == 0);
        vl_core_get_digests(core[i], buckets, digest);
        if (i == 0)
            memcpy(digest0, digest, 32);
        CHECK_MEM(digest, digest0, 32);
        CHECK_MEM(digest, st.status.state_digest, 32);
    }
}

static void test_reopen(void)
{
    vl_core *other = NULL;
    /* a second opener of a held directory */
    CHECK_ERR(open_node(1, 1, &other), VL_ERR_LOCKED);
    vl_core_close(&core[1]);
    CHECK(core[1] == NULL);
    /* the directory belongs to node 1, not node 3 */
    CHECK_ERR(open_node(1, 3, &other), VL_ERR_WRONG_NETWORK);
    CHECK(other == NULL);
    CHECK_ERR(open_node(1, 1, &core[1]), VL_OK);
    vl_core_stats st;
    vl_core_get_stats(core[1], &st);
    CHECK(st.status.log_head == 2);
}

int main(void)
{
    static vl_msg m;
    make_genesis();
    for (unsigned i = 0; i < NODES; i++) {
        snprintf(dirs[i], sizeof dirs[i], "/tmp/vl-smoke-XXXXXX");
        if (mkdtemp(dirs[i]) == NULL)
            abort();
        CHECK_ERR(open_node(i, (uint16_t)i, &core[i]), VL_OK);
    }
    vl_order *iss = issue_order(0, 1, 10000);
    vl_order *red = redeem_order(1, 0, 2500);
    isolated = 3; /* q = 3 of the other three still certify */
    CHECK(submit(0, 1, iss, &m));
    check_cert_reply(&m, iss);
    /* Two peers asked, by the rotation; if node 3 is one, only the
     * re-request to all voters brings the third vote. */
    CHECK(last_asked == rotation_pick(0, iss));
    CHECK(last_rerequested == ((last_asked & 1u << 3) != 0));
    CHECK(submit(2, 2, red, &m)); /* another entry node */
    check_cert_reply(&m, red);
    CHECK(last_asked == rotation_pick(2, red));
    CHECK(last_rerequested == ((last_asked & 1u << 3) != 0));
    vl_core_stats st;
    vl_core_get_stats(core[3], &st);
    CHECK(st.status.log_head == 0);
    /* The partition heals: node 3 pulls the others' logs (sync interval
     * 1 s; a round is 1 s now). */
    isolated = -1;
    round_ms = 1000;
    memset(sent_of_type, 0, sizeof sent_of_type);
    for (int r = 0; r < 5; r++)
        round_once();
    run_until_quiet();
    vl_core_get_stats(core[3], &st);
    CHECK(st.bad_inputs == 0);
    check_all_nodes(1, 2);
    /* node 3 lacked both certificates: it asked for summaries, then whole entries */
    CHECK(sent_of_type[VL_MSG_SUMMARY_REQUEST] > 0);
    CHECK(sent_of_type[VL_MSG_LOG_REQUEST] > 0 && sent_of_type[VL_MSG_LOG_REPLY] > 0);
    round_ms = 10;

    /* the same order again, at a third node: the certificate at once */
    CHECK(submit(3, 3, red, &m));
    check_cert_reply(&m, red);
    CHECK(last_asked == 0 && !last_rerequested);
    /* a different order for the certified slot */
    vl_order *other = redeem_order(1, 0, 1000);
    CHECK(submit(1, 4, other, &m));
    CHECK(m.reply_kind == VL_REPLY_ERROR && m.code == VL_ERR_ALREADY_CERTIFIED);
    CHECK(m.evidence_kind == VL_EVIDENCE_CERT);
    CHECK(last_asked == 0 && !last_rerequested);
    /* more than remains */
    vl_order *over = redeem_order(1, 1, 7501);
    CHECK(submit(0, 5, over, &m));
    CHECK(m.reply_kind == VL_REPLY_ERROR && m.code == VL_ERR_OVERSPEND);
    CHECK(last_asked == 0 && !last_rerequested);
    run_until_quiet();
    check_all_nodes(1, 2);

    test_reopen();
    check_all_nodes(1, -1);

    /* A redemption every node applies from the broadcast.  The sync rounds
     * after it find its entry in each peer's log by summary and skip it:
     * no certificate moves a second time. */
    vl_order *more = redeem_order(1, 1, 1000);
    CHECK(submit(1, 6, more, &m));
    check_cert_reply(&m, more);
    CHECK(last_asked == rotation_pick(1, more) && !last_rerequested);
    run_until_quiet();
    memset(sent_of_type, 0, sizeof sent_of_type);
    summaries_sent = 0;
    round_ms = 1000;
    for (int r = 0; r < 4; r++)
        round_once();
    run_until_quiet();
    round_ms = 10;
    CHECK(sent_of_type[VL_MSG_SUMMARY_REQUEST] >= 4u * NODES * (NODES - 1));
    CHECK(summaries_sent >= NODES * (NODES - 1)); /* each node's new entry, to each peer */
    CHECK(sent_of_type[VL_MSG_LOG_REQUEST] == 0 && sent_of_type[VL_MSG_LOG_REPLY] == 0);
    CHECK(sent_of_type[VL_MSG_CERTS] == 0);
    for (unsigned i = 0; i < NODES; i++) {
        vl_core_stats ns;
        vl_core_get_stats(core[i], &ns);
        CHECK(ns.bad_inputs == 0);
        CHECK(ns.status.log_head == 3);
    }

    clear_replies();
    for (unsigned i = 0; i < NODES; i++) {
        vl_core_close(&core[i]);
        char cmd[320];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dirs[i]);
        CHECK(system(cmd) == 0);
    }
    free(iss);
    free(red);
    free(other);
    free(over);
    free(more);
    free(g);
    VL_TEST_END();
}
