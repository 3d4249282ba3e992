/* gen_corpus.c - writes the seed corpus of the fuzz targets.
 *
 *   vl_fuzz_corpus OUT_DIR        (writes OUT_DIR/<target>/<name>.bin)
 *
 * The checked-in corpus (tests/fuzz/corpus/) is this program's output:
 * regenerate it after a wire format change with
 *   build/tests/fuzz/vl_fuzz_corpus tests/fuzz/corpus
 * Everything is deterministic (fixed secrets, BIP-340 signing without aux
 * randomness), and coherent: orders are bound to the genesis' network id
 * and signed by its issuer, holder and provider keys; certificates carry
 * real Merkle paths and vote signatures of the genesis voters, so the
 * corpus is also a valid seed for verifying fuzzers.  Only the maximal
 * certificate (every node index up to VL_MAX_NODES) is structurally valid
 * without verifying against this genesis.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_wire.h"

#define N_VOTERS 4
#define BATCH_LEAVES 5 /* every certified order sits in a batch of this many */

static const char *out_dir;
static vl_keypair node_kp[N_VOTERS + 1], issuer_kp[2], provider_kp[2], holder_kp[2];
static vl_genesis genesis;
/* exactly VL_MAX_LABEL_LEN characters */
static const char label_text[VL_MAX_LABEL_LEN + 1] = "sh-2026-ai-compute-subsidy-pilot";
#define LABEL(n) ((vl_bytes){(const uint8_t *)label_text, (uint32_t)(n)})
static const char reason_text[] = "voucher issued in error: duplicate application";

static void die(const char *what)
{
    fprintf(stderr, "vl_fuzz_corpus: %s\n", what);
    exit(1);
}

static void write_file(const char *target, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die(path);
    snprintf(path, sizeof path, "%s/%s/%s.bin", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die(path);
}

typedef vl_err (*encode_fn)(const void *obj, uint8_t *out, size_t cap, size_t *len);

/* Encode obj into a new buffer (caller frees); the encoder must accept. */
static uint8_t *encode(encode_fn fn, const void *obj, size_t *len)
{
    if (fn(obj, NULL, 0, len) != VL_OK)
        die("a fixture does not encode");
    uint8_t *buf = malloc(*len);
    if (buf == NULL || fn(obj, buf, *len, len) != VL_OK)
        die("encode failed");
    return buf;
}

static void emit(const char *target, const char *name, encode_fn fn, const void *obj)
{
    size_t len;
    uint8_t *buf = encode(fn, obj, &len);
    write_file(target, name, buf, len);
    free(buf);
}

#define ENCODER(name, type)                                                    \
    static vl_err enc_##name(const void *x, uint8_t *out, size_t cap, size_t *len) \
    {                                                                          \
        return vl_##name##_encode((const type *)x, out, cap, len);             \
    }
ENCODER(order, vl_order)
ENCODER(cert, vl_cert)
ENCODER(entry, vl_entry)
ENCODER(summary, vl_summary)
ENCODER(checkpoint, vl_checkpoint)
ENCODER(account, vl_account)
ENCODER(batch_vote, vl_batch_vote)
ENCODER(msg, vl_msg)
ENCODER(genesis, vl_genesis)

static void keypair(vl_keypair *kp, uint8_t tag, uint8_t i)
{
    uint8_t secret[32] = {0};
    secret[0] = tag;
    secret[31] = (uint8_t)(i + 1);
    if (vl_keypair_from_secret(kp, secret) != VL_OK)
        die("bad fixture secret");
}

static void fill(void *p, size_t n, unsigned seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 131u + i * 17u + 1u);
}

/* ---- genesis --------------------------------------------------------------- */

static void add_node(vl_genesis *g, const char *id, uint32_t region, const vl_keypair *kp,
                     uint8_t role)
{
    vl_gen_node *n = &g->nodes[g->node_count];
    snprintf(n->id, sizeof n->id, "%s", id);
    n->region = region;
    memcpy(n->pubkey, kp->pubkey, 32);
    fill(n->curve_pubkey, 32, 200 + g->node_count);
    snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://127.0.0.1:%u",
             7001 + g->node_count);
    snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://127.0.0.1:%u",
             7101 + g->node_count);
    n->role = role;
    g->node_count++;
}

static void make_genesis(void)
{
    static const char *ids[N_VOTERS] = {"beijing-node", "chengdu-node", "guizhou-dc1-node",
                                        "shanghai-node"};
    static const uint32_t regions[N_VOTERS] = {110000, 510100, 520000, 310000};
    vl_genesis *g = &genesis;
    memset(g, 0, sizeof *g);
    snprintf(g->network, sizeof g->network, "cn-compute-vouchers-2026");
    g->max_faulty = 1;
    for (uint8_t i = 0; i <= N_VOTERS; i++)
        keypair(&node_kp[i], 0x11, i);
    for (unsigned i = 0; i < N_VOTERS; i++)
        add_node(g, ids[i], regions[i], &node_kp[i], VL_ROLE_VOTER);
    /* sorts last, so genesis index == node_kp index for every node */
    add_node(g, "xinjiang-observer", 650000, &node_kp[N_VOTERS], VL_ROLE_OBSERVER);
    keypair(&issuer_kp[0], 0x22, 0);
    keypair(&issuer_kp[1], 0x22, 1);
    keypair(&provider_kp[0], 0x33, 0);
    keypair(&provider_kp[1], 0x33, 1);
    keypair(&holder_kp[0], 0x44, 0);
    keypair(&holder_kp[1], 0x44, 1);
    g->issuer_count = 2;
    snprintf(g->issuers[0].id, sizeof g->issuers[0].id, "shanghai");
    g->issuers[0].region = 310000;
    memcpy(g->issuers[0].pubkey, issuer_kp[0].pubkey, 32);
    g->issuers[0].budget_fen = 60000000000u;
    snprintf(g->issuers[1].id, sizeof g->issuers[1].id, "shenzhen");
    g->issuers[1].region = 440300;
    memcpy(g->issuers[1].pubkey, issuer_kp[1].pubkey, 32);
    g->issuers[1].budget_fen = 20000000000u;
    g->provider_count = 2;
    snprintf(g->providers[0].id, sizeof g->providers[0].id, "guizhou-dc1");
    g->providers[0].region = 520000;
    memcpy(g->providers[0].pubkey, provider_kp[0].pubkey, 32);
    snprintf(g->providers[1].id, sizeof g->providers[1].id, "ningxia-dc2");
    g->providers[1].region = 640000;
    memcpy(g->providers[1].pubkey, provider_kp[1].pubkey, 32);
    char err[256];
    if (vl_genesis_finish(g, err, sizeof err) != VL_OK)
        die(err);
    emit("genesis", "four_voters_one_observer", enc_genesis, g);

    /* The smallest: one voter, one issuer, one provider, f = 0. */
    vl_genesis *one = malloc(sizeof *one);
    if (one == NULL)
        die("out of memory");
    *one = *g;
    one->node_count = 1;
    one->max_faulty = 0;
    one->issuer_count = 1;
    one->provider_count = 1;
    if (vl_genesis_finish(one, err, sizeof err) != VL_OK)
        die(err);
    emit("genesis", "one_voter", enc_genesis, one);
    free(one);
}

/* ---- orders ------------------------------------------------------------------ */

static void sign_order(vl_order *o)
{
    uint8_t h[32];
    vl_order_hash(h, o);
    if (o->kind == VL_ORDER_REDEEM) {
        vl_sign(o->sigs[0], &holder_kp[0], h, NULL);
        vl_sign(o->sigs[1], &provider_kp[0], h, NULL);
    } else {
        vl_sign(o->sigs[0], &issuer_kp[0], h, NULL);
    }
}

static void order_head(vl_order *o, uint8_t kind, uint64_t seq)
{
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, genesis.network_id, 32);
    o->kind = kind;
    o->seq = seq;
    memcpy(o->issuer, issuer_kp[0].pubkey, 32);
    o->sig_count = (uint8_t)vl_order_sig_count(kind);
}

static void make_issue(vl_order *o, unsigned n, size_t label_len)
{
    order_head(o, VL_ORDER_ISSUE, 1);
    o->voucher_count = (uint16_t)n;
    for (unsigned i = 0; i < n; i++) {
        vl_voucher_spec *v = &o->vouchers[i];
        v->serial = 1 + i;
        memcpy(v->holder, holder_kp[i % 2].pubkey, 32);
        v->value_fen = 5000000 + 1000u * i;
        v->valid_from_s = 1767225600;
        v->valid_until_s = 1798761600;
        v->subsidy_bp = (uint16_t)(i % 2 ? 5000 : 8000);
        v->program = LABEL(label_len);
    }
    sign_order(o);
}

static void make_redeem(vl_order *o)
{
    order_head(o, VL_ORDER_REDEEM, 1);
    o->serial = 1;
    memcpy(o->holder, holder_kp[0].pubkey, 32);
    o->amount_fen = 1200000;
    memcpy(o->provider, provider_kp[0].pubkey, 32);
    fill(o->invoice_hash, 32, 77);
    o->gpu_milli_hours = 96000;
    sign_order(o);
}

static void make_revoke(vl_order *o, int with_reason)
{
    order_head(o, VL_ORDER_REVOKE, 2);
    o->serial = 2;
    if (with_reason)
        o->reason = (vl_bytes){(const uint8_t *)reason_text, (uint32_t)strlen(reason_text)};
    sign_order(o);
}

/* ---- certificates -------------------------------------------------------------- */

/* Voters 0..N_VOTERS-1 each voted on a batch of BATCH_LEAVES orders with o's
 * vote leaf (vl_vote_leaf) at leaf `at`: real paths, real vote signatures. */
static void make_cert(vl_cert *c, const vl_order *o, uint32_t at)
{
    static uint8_t leaves[BATCH_LEAVES][32];
    uint8_t order_hash[32];
    memset(c, 0, sizeof *c);
    c->order = *o;
    for (uint32_t i = 0; i < BATCH_LEAVES; i++)
        fill(leaves[i], 32, 90 + i);
    vl_order_hash(order_hash, o);
    vl_vote_leaf(leaves[at], order_hash, o);
    uint8_t root[32], msg[32];
    vl_merkle_root(root, (const uint8_t(*)[32])leaves, BATCH_LEAVES);
    vl_vote_message(msg, root);
    c->vote_count = N_VOTERS;
    for (uint16_t v = 0; v < N_VOTERS; v++) {
        vl_cert_vote *cv = &c->votes[v];
        cv->voter = v;
        cv->leaf_index = at;
        cv->leaf_count = BATCH_LEAVES;
        cv->path_len = (uint8_t)vl_merkle_path(cv->path, (const uint8_t(*)[32])leaves,
                                                BATCH_LEAVES, at);
        vl_sign(cv->sig, &node_kp[v], msg, NULL);
    }
}

/* Every node index, deepest paths: the largest certificate. */
static void make_max_cert(vl_cert *c, const vl_order *o)
{
    memset(c, 0, sizeof *c);
    c->order = *o;
    c->vote_count = VL_MAX_NODES;
    for (uint16_t v = 0; v < VL_MAX_NODES; v++) {
        vl_cert_vote *cv = &c->votes[v];
        cv->voter = v;
        cv->leaf_count = VL_MAX_BATCH_ORDERS;
        cv->leaf_index = 61u * v;
        cv->path_len = (uint8_t)vl_merkle_path_len(cv->leaf_index, cv->leaf_count);
        fill(cv->path, 32u * cv->path_len, v);
        fill(cv->sig, 64, 300u + v);
    }
}

/* Encoded fixtures shared by the entry and message corpora. */
typedef struct {
    uint8_t *order, *order_issue, *cert, *cert_issue, *entry1, *entry2, *checkpoint,
        *account, *summary1, *summary2;
    size_t order_len, order_issue_len, cert_len, cert_issue_len, entry1_len, entry2_len,
        checkpoint_len, account_len, summary1_len, summary2_len;
} fixtures;

static vl_bytes B(uint8_t *p, size_t n)
{
    return (vl_bytes){p, (uint32_t)n};
}

static void objects_corpus(fixtures *fx, vl_order *o, vl_cert *c)
{
    make_issue(o, 1, 0);
    emit("order", "issue_one", enc_order, o);
    make_issue(o, 8, 18);
    emit("order", "issue_eight", enc_order, o);
    fx->order_issue = encode(enc_order, o, &fx->order_issue_len);
    make_cert(c, o, 0);
    emit("cert", "issue_eight", enc_cert, c);
    fx->cert_issue = encode(enc_cert, c, &fx->cert_issue_len);
    make_issue(o, VL_MAX_ISSUE_BATCH, VL_MAX_LABEL_LEN);
    emit("order", "issue_max", enc_order, o);
    make_max_cert(c, o);
    emit("cert", "max", enc_cert, c);
    make_revoke(o, 0);
    emit("order", "revoke_no_reason", enc_order, o);
    make_revoke(o, 1);
    emit("order", "revoke", enc_order, o);
    make_cert(c, o, BATCH_LEAVES - 1);
    emit("cert", "revoke", enc_cert, c);
    make_redeem(o);
    emit("order", "redeem", enc_order, o);
    fx->order = encode(enc_order, o, &fx->order_len);
    make_cert(c, o, 2);
    emit("cert", "redeem", enc_cert, c);
    fx->cert = encode(enc_cert, c, &fx->cert_len);
}

/* The summary of entry e (whose hash is entry_hash), as its node serves it. */
static uint8_t *summarize(const vl_entry *e, const uint8_t entry_hash[32], size_t *len)
{
    vl_cert *c = malloc(sizeof *c);
    if (c == NULL || vl_cert_decode(e->cert.ptr, e->cert.len, c) != VL_OK)
        die("an entry's certificate does not decode");
    vl_summary s;
    memset(&s, 0, sizeof s);
    s.index = e->index;
    s.time_ms = e->time_ms;
    memcpy(s.entry_hash, entry_hash, 32);
    vl_order_account(s.account, &c->order);
    s.seq = c->order.seq;
    vl_order_hash(s.order_hash, &c->order);
    free(c);
    return encode(enc_summary, &s, len);
}

static void log_corpus(fixtures *fx)
{
    vl_entry e;
    memset(&e, 0, sizeof e);
    e.index = 1;
    memcpy(e.prev_hash, genesis.network_id, 32);
    e.time_ms = 1767225600000u;
    e.cert = B(fx->cert_issue, fx->cert_issue_len);
    emit("entry", "first", enc_entry, &e);
    fx->entry1 = encode(enc_entry, &e, &fx->entry1_len);
    uint8_t ch[32], head[32];
    vl_cert_hash(ch, fx->cert_issue, fx->cert_issue_len);
    vl_entry_hash(head, 1, e.prev_hash, ch);
    fx->summary1 = summarize(&e, head, &fx->summary1_len);
    write_file("summary", "first", fx->summary1, fx->summary1_len);
    e.index = 2;
    memcpy(e.prev_hash, head, 32);
    e.time_ms += 1500;
    e.cert = B(fx->cert, fx->cert_len);
    emit("entry", "second", enc_entry, &e);
    fx->entry2 = encode(enc_entry, &e, &fx->entry2_len);

    vl_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    memcpy(cp.network_id, genesis.network_id, 32);
    cp.node = 1;
    cp.log_index = 2;
    vl_cert_hash(ch, fx->cert, fx->cert_len);
    vl_entry_hash(cp.entry_hash, 2, head, ch);
    fx->summary2 = summarize(&e, cp.entry_hash, &fx->summary2_len);
    write_file("summary", "second", fx->summary2, fx->summary2_len);
    fill(cp.state_digest, 32, 5);
    cp.time_ms = 1767225602000u;
    uint8_t msg[32];
    vl_checkpoint_message(msg, &cp);
    vl_sign(cp.sig, &node_kp[1], msg, NULL);
    emit("checkpoint", "node1", enc_checkpoint, &cp);
    fx->checkpoint = encode(enc_checkpoint, &cp, &fx->checkpoint_len);
    cp.node = 0;
    cp.log_index = 0;
    memset(cp.entry_hash, 0, 32);
    vl_checkpoint_message(msg, &cp);
    vl_sign(cp.sig, &node_kp[0], msg, NULL);
    emit("checkpoint", "empty_log", enc_checkpoint, &cp);
}

static void account_corpus(fixtures *fx)
{
    vl_account a;
    memset(&a, 0, sizeof a);
    a.kind = VL_ACCOUNT_ISSUER;
    memcpy(a.issuer, issuer_kp[0].pubkey, 32);
    a.next_seq = 2;
    a.budget_fen = 60000000000u;
    a.issued_fen = 40028000u;
    a.balance_fen = a.budget_fen - a.issued_fen;
    emit("account", "issuer", enc_account, &a);
    memset(&a, 0, sizeof a);
    a.kind = VL_ACCOUNT_VOUCHER;
    memcpy(a.issuer, issuer_kp[0].pubkey, 32);
    a.next_seq = 2;
    a.serial = 1;
    memcpy(a.holder, holder_kp[0].pubkey, 32);
    a.face_fen = 5000000;
    a.remaining_fen = 3800000;
    a.valid_from_s = 1767225600;
    a.valid_until_s = 1798761600;
    a.subsidy_bp = 8000;
    a.status = VL_VOUCHER_ACTIVE;
    a.program = LABEL(18);
    emit("account", "voucher_active", enc_account, &a);
    fx->account = encode(enc_account, &a, &fx->account_len);
    a.status = VL_VOUCHER_REVOKED;
    a.remaining_fen = 0;
    a.program = LABEL(0);
    emit("account", "voucher_revoked", enc_account, &a);
}

static void vote_corpus(void)
{
    vl_batch_vote v;
    memset(&v, 0, sizeof v);
    fill(v.root, 32, 8);
    uint8_t msg[32];
    vl_vote_message(msg, v.root);
    vl_sign(v.sig, &node_kp[0], msg, NULL);
    emit("batch_vote", "voter0", enc_batch_vote, &v);
    v.voter = 3;
    vl_sign(v.sig, &node_kp[3], msg, NULL);
    emit("batch_vote", "voter3", enc_batch_vote, &v);
}

/* ---- messages ------------------------------------------------------------------- */

static vl_msg_storage st;
static vl_msg m;

static vl_msg *msg(uint8_t type)
{
    vl_msg_init(&m, &st);
    m.type = type;
    m.req_id = 42;
    if (type < VL_MSG_CLIENT_REQUEST)
        m.from = 2;
    return &m;
}

static void peer_corpus(const fixtures *fx)
{
    msg(VL_MSG_VOTE_REQUEST)->item_count = 2;
    m.items[0] = B(fx->order, fx->order_len);
    m.items[1] = B(fx->order_issue, fx->order_issue_len);
    emit("msg", "vote_request", enc_msg, &m);
    msg(VL_MSG_VOTE_REPLY)->leaf_count = 3;
    fill(m.leaves, 3 * 32, 6);
    fill(m.vote_sig, 64, 7);
    emit("msg", "vote_reply_leaves", enc_msg, &m);
    m.answer_count = 4;
    for (uint8_t i = 0; i < 4; i++) {
        fill(m.answers[i].order_hash, 32, 60u + i);
        m.answers[i].kind = (uint8_t)(i + 1);
    }
    m.answers[0].code = VL_ERR_OVERSPEND;
    m.answers[1].evidence = B(fx->order, fx->order_len);
    m.answers[2].next_seq = 9;
    m.answers[3].evidence = B(fx->cert, fx->cert_len);
    emit("msg", "vote_reply_both", enc_msg, &m);
    m.leaf_count = 0;
    emit("msg", "vote_reply_answers", enc_msg, &m);
    msg(VL_MSG_CERTS)->item_count = 2;
    m.items[0] = B(fx->cert, fx->cert_len);
    m.items[1] = B(fx->cert_issue, fx->cert_issue_len);
    emit("msg", "certs", enc_msg, &m);
    msg(VL_MSG_LOG_REQUEST)->from_index = 1;
    m.max_items = 256;
    emit("msg", "log_request", enc_msg, &m);
    msg(VL_MSG_LOG_REPLY)->log_head = 2;
    emit("msg", "log_reply_empty", enc_msg, &m);
    m.item_count = 2;
    m.items[0] = B(fx->entry1, fx->entry1_len);
    m.items[1] = B(fx->entry2, fx->entry2_len);
    emit("msg", "log_reply", enc_msg, &m);
    msg(VL_MSG_SUMMARY_REQUEST)->from_index = 1;
    m.max_items = VL_MAX_MSG_ITEMS;
    emit("msg", "summary_request", enc_msg, &m);
    msg(VL_MSG_SUMMARY_REPLY)->log_head = 2;
    emit("msg", "summary_reply_empty", enc_msg, &m);
    m.item_count = 2;
    m.items[0] = B(fx->summary1, fx->summary1_len);
    m.items[1] = B(fx->summary2, fx->summary2_len);
    emit("msg", "summary_reply", enc_msg, &m);
    msg(VL_MSG_ACCOUNT_REQUEST)->from_seq = 1;
    fill(m.account_id, 32, 3);
    emit("msg", "account_request", enc_msg, &m);
}

static void client_request_corpus(const fixtures *fx)
{
    msg(VL_MSG_CLIENT_REQUEST)->req_kind = VL_REQ_SUBMIT;
    m.item_count = 1;
    m.items[0] = B(fx->order, fx->order_len);
    emit("msg", "submit", enc_msg, &m);
    msg(VL_MSG_CLIENT_REQUEST)->req_kind = VL_REQ_GET_ACCOUNT;
    vl_voucher_account_id(m.account_id, issuer_kp[0].pubkey, 1);
    emit("msg", "get_account", enc_msg, &m);
    msg(VL_MSG_CLIENT_REQUEST)->req_kind = VL_REQ_GET_ACCOUNT_FROM;
    vl_voucher_account_id(m.account_id, issuer_kp[0].pubkey, 1);
    m.from_index = 2;
    m.max_items = 16;
    emit("msg", "get_account_from", enc_msg, &m);
    msg(VL_MSG_CLIENT_REQUEST)->req_kind = VL_REQ_STATUS;
    emit("msg", "status", enc_msg, &m);
    msg(VL_MSG_CLIENT_REQUEST)->req_kind = VL_REQ_GET_LOG;
    m.from_index = 1;
    m.max_items = VL_MAX_MSG_ITEMS;
    emit("msg", "get_log", enc_msg, &m);
    msg(VL_MSG_CLIENT_REQUEST)->req_kind = VL_REQ_GET_CHECKPOINT;
    emit("msg", "get_checkpoint", enc_msg, &m);
}

static void client_reply_corpus(const fixtures *fx)
{
    static const char text_conflict[] = "another order holds this slot";
    msg(VL_MSG_CLIENT_REPLY)->reply_kind = VL_REPLY_CERT;
    m.item_count = 1;
    m.items[0] = B(fx->cert, fx->cert_len);
    emit("msg", "reply_cert", enc_msg, &m);
    msg(VL_MSG_CLIENT_REPLY)->reply_kind = VL_REPLY_ACCOUNT;
    m.account = B(fx->account, fx->account_len);
    m.item_count = 1;
    m.items[0] = B(fx->cert, fx->cert_len);
    emit("msg", "reply_account", enc_msg, &m);
    msg(VL_MSG_CLIENT_REPLY)->reply_kind = VL_REPLY_STATUS;
    m.status.node = 1;
    m.status.flags = VL_STATUS_VOTER | VL_STATUS_IN_QUORUM;
    m.status.log_head = 2;
    fill(m.status.head_hash, 32, 1);
    fill(m.status.state_digest, 32, 5);
    m.status.accounts = 9;
    m.status.pending_locks = 1;
    m.status.peers_connected = 3;
    emit("msg", "reply_status", enc_msg, &m);
    msg(VL_MSG_CLIENT_REPLY)->reply_kind = VL_REPLY_LOG;
    m.log_head = 2;
    m.item_count = 1;
    m.items[0] = B(fx->entry2, fx->entry2_len);
    emit("msg", "reply_log", enc_msg, &m);
    msg(VL_MSG_CLIENT_REPLY)->reply_kind = VL_REPLY_CHECKPOINT;
    m.item_count = 1;
    m.items[0] = B(fx->checkpoint, fx->checkpoint_len);
    emit("msg", "reply_checkpoint", enc_msg, &m);
    msg(VL_MSG_CLIENT_REPLY)->reply_kind = VL_REPLY_ERROR;
    m.code = VL_ERR_CONFLICT;
    m.text = (vl_bytes){(const uint8_t *)text_conflict, (uint32_t)strlen(text_conflict)};
    emit("msg", "reply_error", enc_msg, &m);
    m.evidence_kind = VL_EVIDENCE_ORDER;
    m.item_count = 1;
    m.items[0] = B(fx->order, fx->order_len);
    emit("msg", "reply_error_order", enc_msg, &m);
    m.evidence_kind = VL_EVIDENCE_CERT;
    m.items[0] = B(fx->cert, fx->cert_len);
    emit("msg", "reply_error_cert", enc_msg, &m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        die(out_dir);
    vl_order *o = malloc(sizeof *o);
    vl_cert *c = malloc(sizeof *c);
    fixtures *fx = calloc(1, sizeof *fx);
    if (o == NULL || c == NULL || fx == NULL)
        die("out of memory");
    make_genesis();
    objects_corpus(fx, o, c);
    log_corpus(fx);
    account_corpus(fx);
    vote_corpus();
    peer_corpus(fx);
    client_request_corpus(fx);
    client_reply_corpus(fx);
    uint8_t *bufs[] = {fx->order, fx->order_issue, fx->cert,       fx->cert_issue,
                       fx->entry1, fx->entry2,     fx->checkpoint, fx->account,
                       fx->summary1, fx->summary2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(fx);
    free(c);
    free(o);
    for (int i = 0; i <= N_VOTERS; i++)
        vl_keypair_wipe(&node_kp[i]);
    printf("corpus written to %s\n", out_dir);
    return 0;
}
