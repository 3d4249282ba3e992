/* make_fixtures.c - writes one of every wire object, signed for a real
 * genesis, so that voucherctl_test.sh can check `voucherctl inspect` on all
 * of them (and on tampered copies):
 *
 *   make_fixtures GENESIS OUTDIR ISSUER_KEY HOLDER_KEY PROVIDER_KEY VOTER_KEY...
 *
 * The three orders (ISSUE of vouchers 1 and 2, REDEEM of 1, REVOKE of 2)
 * form one batch (its leaves are their vote leaves, vl_vote_leaf); every
 * voter key signs its root.  cert.bin is the REDEEM with all the voters'
 * votes, cert_short.bin the same with one vote (below any quorum > 1).  Then an entry, its summary, a checkpoint, two
 * accounts, a batch vote, every peer and client message type, and the
 * genesis in binary.
 * Exits 2 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_verify.h"
#include "vl_wire.h"

#define TIME_MS 1767225600000ull /* 2026-01-01 */
#define FROM_S 1767225600ull
#define UNTIL_S 1798761600ull

enum { ISSUE, REDEEM, REVOKE, ORDER_COUNT };

typedef struct {
    uint8_t *buf;
    size_t len;
} blob;

static struct {
    const char *dir;
    vl_genesis g;
    vl_keyfile issuer, holder, provider;
    unsigned voter_count;
    vl_keyfile voters[VL_MAX_NODES];
    uint16_t voter_index[VL_MAX_NODES]; /* ascending */
    vl_order orders[ORDER_COUNT];
    blob order_raw[ORDER_COUNT];
    uint8_t hashes[ORDER_COUNT][32]; /* order hashes */
    uint8_t leaves[ORDER_COUNT][32]; /* their vote leaves */
    uint8_t root[32];
    uint8_t vote_sig[VL_MAX_NODES][64];
    blob cert, cert_short, entry, summary, checkpoint, account;
} fx;

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "make_fixtures: %s\n", what);
    exit(2);
}

static void write_blob(const char *name, blob b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fx.dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b.buf, 1, b.len, f) != b.len || fclose(f) != 0)
        die(path);
}

/* Encode with any vl_X_encode into a new blob. */
#define ENCODE(fn, obj, out)                                                   \
    do {                                                                       \
        size_t n_ = 0;                                                         \
        if (fn((obj), NULL, 0, &n_) != VL_OK || ((out).buf = malloc(n_)) == NULL || \
            fn((obj), (out).buf, n_, &(out).len) != VL_OK)                     \
            die("encoding " #obj);                                             \
    } while (0)

static void load_key(vl_keyfile *k, const char *path)
{
    char err[256];
    if (vl_keyfile_load(k, path, err, sizeof err) != VL_OK)
        die(err);
}

static void load_inputs(int argc, char **argv)
{
    char err[512];
    if (argc < 7)
        die("usage: make_fixtures GENESIS OUTDIR ISSUER HOLDER PROVIDER VOTER...");
    if (vl_genesis_load_file(&fx.g, argv[1], err, sizeof err) != VL_OK)
        die(err);
    fx.dir = argv[2];
    load_key(&fx.issuer, argv[3]);
    load_key(&fx.holder, argv[4]);
    load_key(&fx.provider, argv[5]);
    for (int i = 6; i < argc && fx.voter_count < VL_MAX_NODES; i++) {
        vl_keyfile k;
        load_key(&k, argv[i]);
        int index = vl_genesis_node_by_pubkey(&fx.g, k.sign.pubkey);
        if (index < 0)
            die("a voter key is not in the genesis");
        unsigned j = fx.voter_count++; /* insertion sort by node index */
        for (; j > 0 && fx.voter_index[j - 1] > index; j--) {
            fx.voter_index[j] = fx.voter_index[j - 1];
            fx.voters[j] = fx.voters[j - 1];
        }
        fx.voter_index[j] = (uint16_t)index;
        fx.voters[j] = k;
    }
}

static void make_orders(void)
{
    static const char program[] = "sh-2026-ai-compute", reason[] = "demo revocation";
    for (int i = 0; i < ORDER_COUNT; i++) {
        vl_order *o = &fx.orders[i];
        memcpy(o->network_id, fx.g.network_id, 32);
        memcpy(o->issuer, fx.issuer.sign.pubkey, 32);
        o->kind = i == ISSUE ? VL_ORDER_ISSUE : i == REDEEM ? VL_ORDER_REDEEM : VL_ORDER_REVOKE;
        o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
    }
    vl_order *is = &fx.orders[ISSUE];
    is->voucher_count = 2;
    for (int v = 0; v < 2; v++) {
        vl_voucher_spec *s = &is->vouchers[v];
        s->serial = (uint64_t)v + 1;
        memcpy(s->holder, fx.holder.sign.pubkey, 32);
        s->value_fen = 500000;
        s->valid_from_s = FROM_S;
        s->valid_until_s = UNTIL_S;
        s->subsidy_bp = 8000;
        s->program = (vl_bytes){(const uint8_t *)program, sizeof program - 1};
    }
    vl_order *rd = &fx.orders[REDEEM];
    rd->serial = 1;
    memcpy(rd->holder, fx.holder.sign.pubkey, 32);
    rd->amount_fen = 100000;
    memcpy(rd->provider, fx.provider.sign.pubkey, 32);
    memset(rd->invoice_hash, 0x5a, 32);
    rd->gpu_milli_hours = 12000;
    fx.orders[REVOKE].serial = 2;
    fx.orders[REVOKE].reason = (vl_bytes){(const uint8_t *)reason, sizeof reason - 1};

    vl_order_sign_slot(is, 0, &fx.issuer.sign, NULL);
    vl_order_sign_slot(rd, 0, &fx.holder.sign, NULL);
    vl_order_sign_slot(rd, 1, &fx.provider.sign, NULL);
    vl_order_sign_slot(&fx.orders[REVOKE], 0, &fx.issuer.sign, NULL);
    for (int i = 0; i < ORDER_COUNT; i++) {
        ENCODE(vl_order_encode, &fx.orders[i], fx.order_raw[i]);
        vl_order_hash(fx.hashes[i], &fx.orders[i]);
        vl_vote_leaf(fx.leaves[i], fx.hashes[i], &fx.orders[i]);
    }
    write_blob("issue.bin", fx.order_raw[ISSUE]);
    write_blob("redeem.bin", fx.order_raw[REDEEM]);
    write_blob("revoke.bin", fx.order_raw[REVOKE]);
}

/* Every voter signs the batch root; the REDEEM gets certificates. */
static void make_votes_and_certs(void)
{
    uint8_t msg[32];
    vl_merkle_root(fx.root, (const uint8_t(*)[32])fx.leaves, ORDER_COUNT);
    vl_vote_message(msg, fx.root);
    for (unsigned i = 0; i < fx.voter_count; i++)
        vl_sign(fx.vote_sig[i], &fx.voters[i].sign, msg, NULL);

    vl_batch_vote bv = {.voter = fx.voter_index[0]};
    memcpy(bv.root, fx.root, 32);
    memcpy(bv.sig, fx.vote_sig[0], 64);
    blob b;
    ENCODE(vl_batch_vote_encode, &bv, b);
    write_blob("batch_vote.bin", b);
    free(b.buf);

    vl_cert *c = calloc(1, sizeof *c);
    if (c == NULL)
        die("out of memory");
    c->order = fx.orders[REDEEM];
    c->vote_count = (uint8_t)fx.voter_count;
    for (unsigned i = 0; i < fx.voter_count; i++) {
        vl_cert_vote *v = &c->votes[i];
        v->voter = fx.voter_index[i];
        v->leaf_index = REDEEM;
        v->leaf_count = ORDER_COUNT;
        v->path_len = (uint8_t)vl_merkle_path(v->path, (const uint8_t(*)[32])fx.leaves,
                                              ORDER_COUNT, REDEEM);
        memcpy(v->sig, fx.vote_sig[i], 64);
    }
    ENCODE(vl_cert_encode, c, fx.cert);
    c->vote_count = 1;
    ENCODE(vl_cert_encode, c, fx.cert_short);
    free(c);
    write_blob("cert.bin", fx.cert);
    write_blob("cert_short.bin", fx.cert_short);
}

static void make_log_objects(void)
{
    vl_entry e = {.index = 1, .time_ms = TIME_MS};
    memcpy(e.prev_hash, fx.g.network_id, 32);
    e.cert = (vl_bytes){fx.cert.buf, (uint32_t)fx.cert.len};
    ENCODE(vl_entry_encode, &e, fx.entry);
    write_blob("entry.bin", fx.entry);

    uint8_t cert_hash[32];
    vl_checkpoint cp = {.node = fx.voter_index[0], .log_index = 1, .time_ms = TIME_MS};
    memcpy(cp.network_id, fx.g.network_id, 32);
    vl_cert_hash(cert_hash, fx.cert.buf, fx.cert.len);
    vl_entry_hash(cp.entry_hash, 1, fx.g.network_id, cert_hash);
    memset(cp.state_digest, 0x33, 32);
    vl_checkpoint_sign(&cp, &fx.voters[0].sign, NULL);
    ENCODE(vl_checkpoint_encode, &cp, fx.checkpoint);
    write_blob("checkpoint.bin", fx.checkpoint);

    /* the entry's summary: its hash, the REDEEM's slot and order hash */
    vl_summary s = {.index = 1, .time_ms = TIME_MS, .seq = fx.orders[REDEEM].seq};
    memcpy(s.entry_hash, cp.entry_hash, 32);
    vl_order_account(s.account, &fx.orders[REDEEM]);
    memcpy(s.order_hash, fx.hashes[REDEEM], 32);
    ENCODE(vl_summary_encode, &s, fx.summary);
    write_blob("summary.bin", fx.summary);
}

static void make_accounts(void)
{
    static const char program[] = "sh-2026-ai-compute";
    vl_account a = {.kind = VL_ACCOUNT_ISSUER, .next_seq = 1};
    memcpy(a.issuer, fx.issuer.sign.pubkey, 32);
    a.budget_fen = fx.g.issuers[0].budget_fen;
    a.issued_fen = 1000000;
    a.balance_fen = a.budget_fen - a.issued_fen;
    blob b;
    ENCODE(vl_account_encode, &a, b);
    write_blob("account_issuer.bin", b);
    free(b.buf);

    memset(&a, 0, sizeof a);
    a.kind = VL_ACCOUNT_VOUCHER;
    memcpy(a.issuer, fx.issuer.sign.pubkey, 32);
    a.next_seq = 1;
    a.serial = 1;
    memcpy(a.holder, fx.holder.sign.pubkey, 32);
    a.face_fen = 500000;
    a.remaining_fen = 400000;
    a.valid_from_s = FROM_S;
    a.valid_until_s = UNTIL_S;
    a.subsidy_bp = 8000;
    a.status = VL_VOUCHER_ACTIVE;
    a.program = (vl_bytes){(const uint8_t *)program, sizeof program - 1};
    ENCODE(vl_account_encode, &a, fx.account);
    write_blob("account_voucher.bin", fx.account);
}

static vl_bytes view(blob b)
{
    return (vl_bytes){b.buf, (uint32_t)b.len};
}

static void write_msg(const char *name, const vl_msg *m)
{
    blob b;
    ENCODE(vl_msg_encode, m, b);
    write_blob(name, b);
    free(b.buf);
}

static void make_peer_messages(vl_msg *m, vl_msg_storage *st)
{
    vl_msg_init(m, st);
    m->type = VL_MSG_VOTE_REQUEST;
    m->req_id = 7;
    m->from = fx.voter_index[0];
    for (int i = 0; i < ORDER_COUNT; i++)
        m->items[i] = view(fx.order_raw[i]);
    m->item_count = ORDER_COUNT;
    write_msg("msg_vote_request.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_VOTE_REPLY;
    m->req_id = 7;
    m->from = fx.voter_index[0];
    memcpy(m->leaves, fx.leaves, sizeof fx.leaves);
    m->leaf_count = ORDER_COUNT;
    memcpy(m->vote_sig, fx.vote_sig[0], 64);
    m->answers[0] = (vl_answer){.kind = VL_ANSWER_BEHIND, .next_seq = 5};
    m->answers[1] = (vl_answer){.kind = VL_ANSWER_REJECTED, .code = VL_ERR_BUDGET};
    m->answers[2] = (vl_answer){.kind = VL_ANSWER_CONFLICT, .evidence = view(fx.order_raw[0])};
    m->answers[3] = (vl_answer){.kind = VL_ANSWER_CERTIFIED, .evidence = view(fx.cert)};
    m->answer_count = 4;
    write_msg("msg_vote_reply.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_CERTS;
    m->from = 1;
    m->items[0] = view(fx.cert);
    m->item_count = 1;
    write_msg("msg_certs.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_LOG_REQUEST;
    m->from_index = 1;
    m->max_items = 100;
    write_msg("msg_log_request.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_LOG_REPLY;
    m->log_head = 1;
    m->items[0] = view(fx.entry);
    m->item_count = 1;
    write_msg("msg_log_reply.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_ACCOUNT_REQUEST;
    memset(m->account_id, 0x42, 32);
    m->from_seq = 3;
    write_msg("msg_account_request.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_SUMMARY_REQUEST;
    m->from_index = 1;
    m->max_items = 100;
    write_msg("msg_summary_request.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_SUMMARY_REPLY;
    m->log_head = 1;
    m->items[0] = view(fx.summary);
    m->item_count = 1;
    write_msg("msg_summary_reply.bin", m);
}

static void make_client_messages(vl_msg *m, vl_msg_storage *st)
{
    static const char text[] = "another order holds this slot";
    vl_msg_init(m, st);
    m->type = VL_MSG_CLIENT_REQUEST;
    m->req_id = 99;
    m->req_kind = VL_REQ_SUBMIT;
    m->items[0] = view(fx.order_raw[REDEEM]);
    m->item_count = 1;
    write_msg("msg_client_submit.bin", m);

    /* the same order before the provider signed (docs/clients.md section 2) */
    vl_order half = fx.orders[REDEEM];
    blob half_raw;
    memset(half.sigs[1], 0, 64);
    ENCODE(vl_order_encode, &half, half_raw);
    m->items[0] = view(half_raw);
    write_msg("msg_client_submit_half.bin", m);
    free(half_raw.buf);

    vl_msg_init(m, st);
    m->type = VL_MSG_CLIENT_REPLY;
    m->req_id = 99;
    m->reply_kind = VL_REPLY_ACCOUNT;
    m->account = view(fx.account);
    m->items[0] = view(fx.cert);
    m->item_count = 1;
    write_msg("msg_client_account.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_CLIENT_REPLY;
    m->reply_kind = VL_REPLY_STATUS;
    m->status = (vl_status){.node = 2, .flags = VL_STATUS_VOTER | VL_STATUS_IN_QUORUM,
                            .log_head = 1, .accounts = 3, .peers_connected = 3};
    write_msg("msg_client_status.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_CLIENT_REPLY;
    m->reply_kind = VL_REPLY_CHECKPOINT;
    m->items[0] = view(fx.checkpoint);
    m->item_count = 1;
    write_msg("msg_client_checkpoint.bin", m);

    vl_msg_init(m, st);
    m->type = VL_MSG_CLIENT_REPLY;
    m->reply_kind = VL_REPLY_ERROR;
    m->code = VL_ERR_CONFLICT;
    m->text = (vl_bytes){(const uint8_t *)text, sizeof text - 1};
    m->evidence_kind = VL_EVIDENCE_ORDER;
    m->items[0] = view(fx.order_raw[REVOKE]);
    m->item_count = 1;
    write_msg("msg_client_error.bin", m);
}

int main(int argc, char **argv)
{
    load_inputs(argc, argv);
    blob gen;
    ENCODE(vl_genesis_encode, &fx.g, gen);
    write_blob("genesis.bin", gen);
    free(gen.buf);
    make_orders();
    make_votes_and_certs();
    make_log_objects();
    make_accounts();
    vl_msg *m = malloc(sizeof *m);
    vl_msg_storage *st = malloc(sizeof *st);
    if (m == NULL || st == NULL)
        die("out of memory");
    make_peer_messages(m, st);
    make_client_messages(m, st);
    free(m);
    free(st);
    for (int i = 0; i < ORDER_COUNT; i++)
        free(fx.order_raw[i].buf);
    free(fx.cert.buf);
    free(fx.cert_short.buf);
    free(fx.entry.buf);
    free(fx.summary.buf);
    free(fx.checkpoint.buf);
    free(fx.account.buf);
    vl_keyfile_wipe(&fx.issuer);
    vl_keyfile_wipe(&fx.holder);
    vl_keyfile_wipe(&fx.provider);
    for (unsigned i = 0; i < fx.voter_count; i++)
        vl_keyfile_wipe(&fx.voters[i]);
    return 0;
}
