/* harness.c - see harness.h. */
#include "harness.h"

#include <assert.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H_PROGRAM "sh-2026-ai-compute"

static void h_die(const char *what, int err)
{
    fprintf(stderr, "harness: %s failed: %s\n", what, vl_err_name(err));
    exit(2);
}

static void *h_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "harness: out of memory\n");
        exit(2);
    }
    return p;
}

static void h_key(vl_keypair *kp, uint8_t tag, uint32_t i)
{
    uint8_t secret[32] = {0};
    secret[0] = tag;
    secret[30] = (uint8_t)(i >> 8);
    secret[31] = (uint8_t)(i + 1);
    vl_err e = vl_keypair_from_secret(kp, secret);
    if (e != VL_OK) {
        h_die("vl_keypair_from_secret", e);
    }
}

/* ---- setup ---------------------------------------------------------------- */

h_net *h_new(uint32_t voters, uint32_t observers, uint32_t max_faulty, uint64_t budget0_fen,
             uint64_t budget1_fen)
{
    assert(voters >= 1 && voters + observers <= 16);
    h_net *h = h_calloc(1, sizeof *h);
    h->g = h_calloc(1, sizeof *h->g);
    h->st = h_calloc(1, sizeof *h->st);
    vl_msg_init(&h->msg, h->st);
    vl_outbox_init(&h->out);
    h->next_req_id = 1000;
    h->now_ms = (H_T0_S + 3600) * 1000;

    vl_genesis *g = h->g;
    snprintf(g->network, sizeof g->network, "test-consensus-%u-%u", voters, observers);
    g->max_faulty = max_faulty;

    vl_keypair nk[16];
    uint32_t n = voters + observers;
    for (uint32_t i = 0; i < n; i++) {
        vl_gen_node *nd = &g->nodes[i];
        h_key(&nk[i], 0x01, i);
        if (i < voters) {
            snprintf(nd->id, sizeof nd->id, "node-%02u", i);
            nd->role = VL_ROLE_VOTER;
        } else {
            snprintf(nd->id, sizeof nd->id, "obs-%02u", i - voters);
            nd->role = VL_ROLE_OBSERVER;
        }
        nd->region = 310000 + 100 * i;
        memcpy(nd->pubkey, nk[i].pubkey, 32);
        memset(nd->curve_pubkey, 0xc0, 32);
        nd->curve_pubkey[31] = (uint8_t)i;
        snprintf(nd->peer_endpoint, sizeof nd->peer_endpoint, "tcp://127.0.0.1:%u", 27001 + i);
        snprintf(nd->client_endpoint, sizeof nd->client_endpoint, "tcp://127.0.0.1:%u",
                 27101 + i);
    }
    g->node_count = n;

    vl_keypair ik[2], pk[2];
    const char *iss_id[2] = {"issuer-a", "issuer-b"};
    const uint64_t budget[2] = {budget0_fen, budget1_fen};
    for (uint32_t i = 0; i < 2; i++) {
        h_key(&ik[i], 0x02, i);
        snprintf(g->issuers[i].id, sizeof g->issuers[i].id, "%s", iss_id[i]);
        g->issuers[i].region = i == 0 ? 310000 : 110000;
        memcpy(g->issuers[i].pubkey, ik[i].pubkey, 32);
        g->issuers[i].budget_fen = budget[i];
    }
    g->issuer_count = 2;
    const char *prov_id[2] = {"prov-guizhou", "prov-ningxia"};
    for (uint32_t i = 0; i < 2; i++) {
        h_key(&pk[i], 0x03, i);
        snprintf(g->providers[i].id, sizeof g->providers[i].id, "%s", prov_id[i]);
        g->providers[i].region = i == 0 ? 520000 : 640000;
        memcpy(g->providers[i].pubkey, pk[i].pubkey, 32);
    }
    g->provider_count = 2;

    char err[256] = "";
    vl_err e = vl_genesis_finish(g, err, sizeof err);
    if (e != VL_OK) {
        fprintf(stderr, "harness: genesis: %s\n", err);
        h_die("vl_genesis_finish", e);
    }

    /* Keys by canonical index (finish sorted the lists). */
    for (uint32_t i = 0; i < n; i++) {
        int idx = vl_genesis_node_by_pubkey(g, nk[i].pubkey);
        assert(idx >= 0);
        h->node_key[idx] = nk[i];
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        if (g->nodes[i].role == VL_ROLE_VOTER) {
            h->voter[h->voter_count++] = (uint16_t)i;
        } else {
            h->observer[h->observer_count++] = (uint16_t)i;
        }
    }
    assert(h->voter_count == voters && h->observer_count == observers);
    for (uint32_t i = 0; i < 2; i++) {
        int ii = vl_genesis_issuer_by_pubkey(g, ik[i].pubkey);
        int pi = vl_genesis_provider_by_pubkey(g, pk[i].pubkey);
        assert(ii >= 0 && pi >= 0);
        h->issuer_key[ii] = ik[i];
        h->provider_key[pi] = pk[i];
    }
    for (uint32_t i = 0; i < H_HOLDERS; i++) {
        h_key(&h->holder[i], 0x04, i);
    }
    h_key(&h->outsider, 0x05, 0);

    const char *tmp = getenv("TMPDIR");
    snprintf(h->dir, sizeof h->dir, "%s/vl-consensus-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(h->dir) == NULL) {
        perror("harness: mkdtemp");
        exit(2);
    }
    h_config(h, h->voter[0]);
    h->self = h->voter[0];
    return h;
}

h_net *h_new_std(void)
{
    h_net *h = h_new(4, 1, 1, 1000000, 5000);
    assert(h->g->quorum == 3);
    return h;
}

void h_free(h_net **hp)
{
    h_net *h = *hp;
    if (h == NULL) {
        return;
    }
    h_close(h);
    h_rmtree(h->dir);
    vl_outbox_free(&h->out);
    free(h->st);
    free(h->g);
    vl_wipe(h, sizeof *h);
    free(h);
    *hp = NULL;
}

void h_config(h_net *h, uint16_t node)
{
    vl_core_config_defaults(&h->cfg);
    h->cfg.dir = h->dir;
    h->cfg.genesis = h->g;
    h->cfg.node = node;
    h->cfg.key = &h->node_key[node];
    h->cfg.force_observer = false;
    h->cfg.durable = true;
    h->cfg.clock_skew_ms = H_SKEW_MS;
    /* Timers far away: a test sees only what its own inputs cause. */
    h->cfg.redrive_after_ms = 24ull * 3600 * 1000;
    h->cfg.sync_interval_ms = 24ull * 3600 * 1000;
    h->cfg.checkpoint_every_ms = 0;
    h->cfg.client_timeout_ms = 24ull * 3600 * 1000;
}

vl_err h_open(h_net *h, uint16_t node, bool force_observer)
{
    assert(h->core == NULL);
    h->cfg.dir = h->dir;
    h->cfg.node = node;
    h->cfg.key = &h->node_key[node];
    h->cfg.force_observer = force_observer;
    h->self = node;
    h->open_err[0] = '\0';
    vl_err e = vl_core_open(&h->core, &h->cfg, h->open_err, sizeof h->open_err);
    if (e != VL_OK) {
        h->core = NULL;
    }
    return e;
}

void h_close(h_net *h)
{
    if (h->core != NULL) {
        vl_core_close(&h->core);
    }
    vl_outbox_clear(&h->out);
}

/* ---- orders ---------------------------------------------------------------- */

static const vl_keypair *h_key_for(h_net *h, const uint8_t pub[32])
{
    for (uint32_t i = 0; i < h->g->issuer_count; i++) {
        if (memcmp(h->issuer_key[i].pubkey, pub, 32) == 0) {
            return &h->issuer_key[i];
        }
    }
    for (uint32_t i = 0; i < h->g->provider_count; i++) {
        if (memcmp(h->provider_key[i].pubkey, pub, 32) == 0) {
            return &h->provider_key[i];
        }
    }
    for (uint32_t i = 0; i < H_HOLDERS; i++) {
        if (memcmp(h->holder[i].pubkey, pub, 32) == 0) {
            return &h->holder[i];
        }
    }
    if (memcmp(h->outsider.pubkey, pub, 32) == 0) {
        return &h->outsider;
    }
    return NULL;
}

void h_resign(h_net *h, vl_order *o)
{
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
    const uint8_t *signer[2] = {o->issuer, NULL};
    if (o->kind == VL_ORDER_REDEEM) {
        signer[0] = o->holder;
        signer[1] = o->provider;
    }
    for (unsigned s = 0; s < o->sig_count; s++) {
        const vl_keypair *kp = h_key_for(h, signer[s]);
        assert(kp != NULL);
        vl_order_sign_slot(o, s, kp, NULL);
    }
}

vl_order *h_issue(h_net *h, unsigned iss, uint64_t seq, uint64_t first_serial, uint16_t count,
                  uint64_t value_fen, unsigned holder)
{
    assert(iss < h->g->issuer_count && holder < H_HOLDERS);
    assert(count >= 1 && count <= VL_MAX_ISSUE_BATCH);
    vl_order *o = h_calloc(1, sizeof *o);
    memcpy(o->network_id, h->g->network_id, 32);
    o->kind = VL_ORDER_ISSUE;
    o->seq = seq;
    memcpy(o->issuer, h->issuer_key[iss].pubkey, 32);
    o->voucher_count = count;
    for (uint16_t k = 0; k < count; k++) {
        vl_voucher_spec *v = &o->vouchers[k];
        v->serial = first_serial + k;
        memcpy(v->holder, h->holder[holder].pubkey, 32);
        v->value_fen = value_fen;
        v->valid_from_s = H_T0_S;
        v->valid_until_s = H_T0_S + H_VALID_S;
        v->subsidy_bp = 8000;
        v->program.ptr = (const uint8_t *)H_PROGRAM;
        v->program.len = (uint32_t)strlen(H_PROGRAM);
    }
    h_resign(h, o);
    return o;
}

vl_order *h_redeem(h_net *h, unsigned iss, uint64_t serial, uint64_t seq, unsigned holder,
                   uint64_t amount_fen, unsigned prov)
{
    assert(iss < h->g->issuer_count && holder < H_HOLDERS && prov < h->g->provider_count);
    vl_order *o = h_calloc(1, sizeof *o);
    memcpy(o->network_id, h->g->network_id, 32);
    o->kind = VL_ORDER_REDEEM;
    o->seq = seq;
    memcpy(o->issuer, h->issuer_key[iss].pubkey, 32);
    o->serial = serial;
    memcpy(o->holder, h->holder[holder].pubkey, 32);
    o->amount_fen = amount_fen;
    memcpy(o->provider, h->provider_key[prov].pubkey, 32);
    uint8_t inv[24];
    memcpy(inv, &serial, 8);
    memcpy(inv + 8, &seq, 8);
    memcpy(inv + 16, &amount_fen, 8);
    vl_tagged_hash(o->invoice_hash, "test/invoice", inv, sizeof inv);
    o->gpu_milli_hours = amount_fen * 10;
    h_resign(h, o);
    return o;
}

vl_order *h_revoke(h_net *h, unsigned iss, uint64_t serial, uint64_t seq)
{
    assert(iss < h->g->issuer_count);
    vl_order *o = h_calloc(1, sizeof *o);
    memcpy(o->network_id, h->g->network_id, 32);
    o->kind = VL_ORDER_REVOKE;
    o->seq = seq;
    memcpy(o->issuer, h->issuer_key[iss].pubkey, 32);
    o->serial = serial;
    static const char reason[] = "firm closed";
    o->reason.ptr = (const uint8_t *)reason;
    o->reason.len = (uint32_t)strlen(reason);
    h_resign(h, o);
    return o;
}

h_buf h_order_bytes(const vl_order *o)
{
    size_t len = 0;
    vl_err e = vl_order_encode(o, NULL, 0, &len);
    if (e != VL_OK) {
        h_die("vl_order_encode (size)", e);
    }
    h_buf b = {h_calloc(1, len ? len : 1), len};
    e = vl_order_encode(o, b.data, b.len, &len);
    if (e != VL_OK) {
        h_die("vl_order_encode", e);
    }
    return b;
}

void h_order_hash(const vl_order *o, uint8_t out[32])
{
    vl_order_hash(out, o);
}

void h_vote_leaf(const vl_order *o, uint8_t out[32])
{
    uint8_t hash[32];
    vl_order_hash(hash, o);
    vl_vote_leaf(out, hash, o);
}

void h_order_account(const vl_order *o, uint8_t out[32])
{
    vl_order_account(out, o);
}

void h_issuer_account(h_net *h, unsigned iss, uint8_t out[32])
{
    vl_issuer_account_id(out, h->issuer_key[iss].pubkey);
}

void h_voucher_account(h_net *h, unsigned iss, uint64_t serial, uint8_t out[32])
{
    vl_voucher_account_id(out, h->issuer_key[iss].pubkey, serial);
}

/* ---- certificates ------------------------------------------------------------ */

h_buf h_cert_bytes(const vl_cert *c)
{
    size_t len = 0;
    vl_err e = vl_cert_encode(c, NULL, 0, &len);
    if (e != VL_OK) {
        return (h_buf){NULL, 0};
    }
    h_buf b = {h_calloc(1, len ? len : 1), len};
    e = vl_cert_encode(c, b.data, b.len, &len);
    if (e != VL_OK) {
        h_buf_free(&b);
    }
    return b;
}

vl_cert *h_cert_make(h_net *h, const vl_order *o, const uint16_t *voters, uint32_t nv)
{
    assert(nv <= VL_MAX_NODES);
    uint8_t leaf[32], msg32[32];
    h_vote_leaf(o, leaf);
    vl_vote_message(msg32, leaf); /* a batch of one: root = the vote leaf */
    vl_cert *c = h_calloc(1, sizeof *c);
    c->order = *o;
    c->vote_count = (uint8_t)nv;
    for (uint32_t j = 0; j < nv; j++) {
        vl_cert_vote *v = &c->votes[j];
        v->voter = voters[j];
        v->leaf_index = 0;
        v->leaf_count = 1;
        v->path_len = 0;
        vl_sign(v->sig, &h->node_key[voters[j]], msg32, NULL);
    }
    return c;
}

vl_err h_certs(h_net *h, vl_order *const *orders, uint32_t n, const uint16_t *voters,
               uint32_t nv, h_buf *certs)
{
    assert(n >= 1 && n <= VL_MAX_BATCH_ORDERS && nv <= VL_MAX_NODES);
    uint8_t(*leaves)[32] = h_calloc(n, 32);
    for (uint32_t i = 0; i < n; i++) {
        h_vote_leaf(orders[i], leaves[i]);
    }
    uint8_t root[32], msg32[32];
    vl_merkle_root(root, (const uint8_t(*)[32])leaves, n);
    vl_vote_message(msg32, root);
    uint8_t(*sigs)[64] = h_calloc(nv ? nv : 1, 64);
    for (uint32_t j = 0; j < nv; j++) {
        vl_sign(sigs[j], &h->node_key[voters[j]], msg32, NULL);
    }
    vl_cert *c = h_calloc(1, sizeof *c);
    vl_err rc = VL_OK;
    for (uint32_t i = 0; i < n; i++) {
        memset(c, 0, sizeof *c);
        c->order = *orders[i];
        c->vote_count = (uint8_t)nv;
        for (uint32_t j = 0; j < nv; j++) {
            vl_cert_vote *v = &c->votes[j];
            v->voter = voters[j];
            v->leaf_index = i;
            v->leaf_count = n;
            v->path_len = (uint8_t)vl_merkle_path(v->path, (const uint8_t(*)[32])leaves, n, i);
            memcpy(v->sig, sigs[j], 64);
        }
        certs[i] = h_cert_bytes(c);
        if (certs[i].data == NULL) {
            rc = VL_ERR_RANGE;
        }
    }
    free(c);
    free(sigs);
    free(leaves);
    return rc;
}

h_buf h_cert1(h_net *h, const vl_order *o, const uint16_t *voters, uint32_t nv)
{
    h_buf b = {NULL, 0};
    vl_order *copy = h_calloc(1, sizeof *copy);
    *copy = *o;
    vl_err e = h_certs(h, &copy, 1, voters, nv, &b);
    free(copy);
    if (e != VL_OK) {
        h_die("h_cert1", e);
    }
    return b;
}

h_buf h_cert_q(h_net *h, const vl_order *o)
{
    uint16_t v[VL_MAX_NODES];
    uint32_t nv = 0;
    for (uint32_t i = 0; i < h->voter_count && nv < h->g->quorum; i++) {
        if (h->voter[i] != h->self) {
            v[nv++] = h->voter[i];
        }
    }
    assert(nv == h->g->quorum);
    return h_cert1(h, o, v, nv);
}

h_buf h_cert_with_reply(h_net *h, const vl_order *o, const vl_msg *reply, const uint16_t *voters,
                        uint32_t nv)
{
    uint8_t leaf[32];
    h_vote_leaf(o, leaf);
    uint32_t idx = UINT32_MAX;
    for (uint32_t i = 0; i < reply->leaf_count; i++) {
        if (memcmp(reply->leaves[i], leaf, 32) == 0) {
            idx = i;
            break;
        }
    }
    if (idx == UINT32_MAX) {
        return (h_buf){NULL, 0};
    }
    vl_cert *c = h_calloc(1, sizeof *c);
    c->order = *o;
    /* All votes, then sort by voter (insertion sort: nv is small). */
    vl_cert_vote *own = &c->votes[0];
    own->voter = reply->from;
    own->leaf_index = idx;
    own->leaf_count = reply->leaf_count;
    own->path_len = (uint8_t)vl_merkle_path(own->path, (const uint8_t(*)[32])reply->leaves,
                                            reply->leaf_count, idx);
    memcpy(own->sig, reply->vote_sig, 64);
    uint8_t msg32[32];
    vl_vote_message(msg32, leaf); /* a batch of one: root = the vote leaf */
    for (uint32_t j = 0; j < nv; j++) {
        vl_cert_vote *v = &c->votes[1 + j];
        v->voter = voters[j];
        v->leaf_index = 0;
        v->leaf_count = 1;
        v->path_len = 0;
        vl_sign(v->sig, &h->node_key[voters[j]], msg32, NULL);
    }
    c->vote_count = (uint8_t)(1 + nv);
    for (uint32_t i = 1; i < c->vote_count; i++) {
        vl_cert_vote tmp = c->votes[i];
        uint32_t k = i;
        while (k > 0 && c->votes[k - 1].voter > tmp.voter) {
            c->votes[k] = c->votes[k - 1];
            k--;
        }
        c->votes[k] = tmp;
    }
    h_buf b = h_cert_bytes(c);
    free(c);
    return b;
}

/* ---- stepping ----------------------------------------------------------------- */

vl_err h_step(h_net *h, const vl_input *in, size_t n)
{
    assert(h->core != NULL);
    vl_outbox_clear(&h->out);
    return vl_core_step(h->core, h->now_ms, in, n, &h->out);
}

vl_err h_feed_peer(h_net *h, uint16_t from, const uint8_t *data, size_t len)
{
    vl_input in = {.kind = VL_IN_PEER, .peer = from, .data = data, .len = len};
    return h_step(h, &in, 1);
}

vl_err h_feed_client(h_net *h, uint64_t client, const uint8_t *data, size_t len)
{
    vl_input in = {.kind = VL_IN_CLIENT, .client = client, .data = data, .len = len};
    return h_step(h, &in, 1);
}

vl_err h_tick(h_net *h)
{
    vl_input in = {.kind = VL_IN_TICK};
    return h_step(h, &in, 1);
}

h_buf h_msg_bytes(const vl_msg *m)
{
    size_t len = 0;
    vl_err e = vl_msg_encode(m, NULL, 0, &len);
    if (e != VL_OK) {
        h_die("vl_msg_encode (size)", e);
    }
    h_buf b = {h_calloc(1, len ? len : 1), len};
    e = vl_msg_encode(m, b.data, b.len, &len);
    if (e != VL_OK) {
        h_die("vl_msg_encode", e);
    }
    return b;
}

h_buf h_vote_request_bytes(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n)
{
    assert(n >= 1 && n <= VL_MAX_MSG_ITEMS);
    h_buf *ob = h_calloc(n, sizeof *ob);
    vl_bytes *items = h_calloc(n, sizeof *items);
    for (uint32_t i = 0; i < n; i++) {
        ob[i] = h_order_bytes(orders[i]);
        items[i].ptr = ob[i].data;
        items[i].len = (uint32_t)ob[i].len;
    }
    vl_msg m;
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_VOTE_REQUEST;
    m.req_id = h->next_req_id++;
    m.from = from;
    m.item_count = n;
    m.items = items;
    h_buf b = h_msg_bytes(&m);
    for (uint32_t i = 0; i < n; i++) {
        h_buf_free(&ob[i]);
    }
    free(ob);
    free(items);
    return b;
}

vl_err h_vote_request(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n)
{
    h_buf b = h_vote_request_bytes(h, from, orders, n);
    vl_err e = h_feed_peer(h, from, b.data, b.len);
    h_buf_free(&b);
    return e;
}

h_buf h_votes_bytes(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n)
{
    assert(n >= 1 && n <= VL_MAX_BATCH_ORDERS && from < h->g->node_count);
    uint8_t(*leaves)[32] = h_calloc(n, 32);
    for (uint32_t i = 0; i < n; i++) {
        h_vote_leaf(orders[i], leaves[i]);
    }
    vl_msg m;
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_VOTE_REPLY;
    m.req_id = h->next_req_id++;
    m.from = from;
    m.leaf_count = n;
    m.leaves = leaves;
    uint8_t root[32], msg32[32];
    vl_merkle_root(root, (const uint8_t(*)[32])leaves, n);
    vl_vote_message(msg32, root);
    vl_sign(m.vote_sig, &h->node_key[from], msg32, NULL);
    h_buf b = h_msg_bytes(&m);
    free(leaves);
    return b;
}

vl_err h_feed_votes(h_net *h, uint16_t from, vl_order *const *orders, uint32_t n)
{
    h_buf b = h_votes_bytes(h, from, orders, n);
    vl_err e = h_feed_peer(h, from, b.data, b.len);
    h_buf_free(&b);
    return e;
}

h_buf h_certs_bytes(h_net *h, uint16_t from, const h_buf *certs, uint32_t n)
{
    assert(n >= 1 && n <= VL_MAX_MSG_ITEMS);
    vl_bytes *items = h_calloc(n, sizeof *items);
    for (uint32_t i = 0; i < n; i++) {
        items[i].ptr = certs[i].data;
        items[i].len = (uint32_t)certs[i].len;
    }
    vl_msg m;
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_CERTS;
    m.req_id = h->next_req_id++;
    m.from = from;
    m.item_count = n;
    m.items = items;
    h_buf b = h_msg_bytes(&m);
    free(items);
    return b;
}

vl_err h_send_certs(h_net *h, uint16_t from, const h_buf *certs, uint32_t n)
{
    h_buf b = h_certs_bytes(h, from, certs, n);
    vl_err e = h_feed_peer(h, from, b.data, b.len);
    h_buf_free(&b);
    return e;
}

h_buf h_client_bytes(h_net *h, uint8_t req_kind, const vl_order *submit,
                     const uint8_t account_id[32], uint64_t from_index, uint32_t max_items)
{
    vl_msg m;
    vl_bytes item;
    h_buf ob = {NULL, 0};
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_CLIENT_REQUEST;
    m.req_id = h->next_req_id++;
    m.req_kind = req_kind;
    m.items = &item;
    if (req_kind == VL_REQ_SUBMIT) {
        assert(submit != NULL);
        ob = h_order_bytes(submit);
        item.ptr = ob.data;
        item.len = (uint32_t)ob.len;
        m.item_count = 1;
    }
    if (req_kind == VL_REQ_GET_ACCOUNT || req_kind == VL_REQ_GET_ACCOUNT_FROM) {
        assert(account_id != NULL);
        memcpy(m.account_id, account_id, 32);
    }
    if (req_kind == VL_REQ_GET_LOG || req_kind == VL_REQ_GET_ACCOUNT_FROM) {
        m.from_index = from_index;
        m.max_items = max_items;
    }
    h_buf b = h_msg_bytes(&m);
    h_buf_free(&ob);
    return b;
}

vl_err h_client(h_net *h, uint64_t client, uint8_t req_kind, const vl_order *submit,
                const uint8_t account_id[32], uint64_t from_index, uint32_t max_items)
{
    h_buf b = h_client_bytes(h, req_kind, submit, account_id, from_index, max_items);
    vl_err e = h_feed_client(h, client, b.data, b.len);
    h_buf_free(&b);
    for (int i = 0; i < 3 && e == VL_OK; i++) {
        if (h_count(h, VL_OUT_CLIENT, client, VL_MSG_CLIENT_REPLY) > 0) {
            break;
        }
        e = h_tick(h);
    }
    return e;
}

/* ---- outputs --------------------------------------------------------------------- */

size_t h_out_count(const h_net *h)
{
    return h->out.count;
}

static bool h_out_matches(const vl_output *o, uint8_t kind, uint64_t to)
{
    if (kind == 0) {
        return true;
    }
    if (o->kind != kind) {
        return false;
    }
    if (kind == VL_OUT_PEER) {
        return o->peer == to;
    }
    if (kind == VL_OUT_CLIENT) {
        return o->client == to;
    }
    return true;
}

vl_msg *h_find(h_net *h, uint8_t kind, uint64_t to, uint8_t type)
{
    for (size_t i = 0; i < h->out.count; i++) {
        const vl_output *o = &h->out.items[i];
        if (!h_out_matches(o, kind, to)) {
            continue;
        }
        uint8_t t = 0;
        if (vl_peek_type(o->data, o->len, &t) != VL_OK || t != type) {
            continue;
        }
        if (vl_msg_decode(o->data, o->len, &h->msg) == VL_OK) {
            return &h->msg;
        }
    }
    return NULL;
}

uint32_t h_asked(h_net *h, const vl_order *o)
{
    uint8_t want[32], got[32];
    uint32_t mask = 0;
    vl_order *item = calloc(1, sizeof *item);
    if (item == NULL) {
        fprintf(stderr, "h_asked: out of memory\n");
        exit(1);
    }
    h_order_hash(o, want);
    for (size_t i = 0; i < h->out.count; i++) {
        const vl_output *out = &h->out.items[i];
        uint8_t t = 0;
        if (out->kind != VL_OUT_PEER || vl_peek_type(out->data, out->len, &t) != VL_OK ||
            t != VL_MSG_VOTE_REQUEST || vl_msg_decode(out->data, out->len, &h->msg) != VL_OK)
            continue;
        for (uint32_t k = 0; k < h->msg.item_count; k++) {
            if (vl_order_decode(h->msg.items[k].ptr, h->msg.items[k].len, item) != VL_OK)
                continue;
            h_order_hash(item, got);
            if (memcmp(got, want, 32) == 0)
                mask |= 1u << out->peer;
        }
    }
    free(item);
    return mask;
}

uint32_t h_bits(uint32_t m)
{
    uint32_t n = 0;
    for (; m != 0; m &= m - 1u)
        n++;
    return n;
}

size_t h_count(h_net *h, uint8_t kind, uint64_t to, uint8_t type)
{
    return h_count_in(&h->out, kind, to, type);
}

size_t h_count_in(const vl_outbox *ob, uint8_t kind, uint64_t to, uint8_t type)
{
    size_t n = 0;
    for (size_t i = 0; i < ob->count; i++) {
        const vl_output *o = &ob->items[i];
        uint8_t t = 0;
        if (h_out_matches(o, kind, to) && vl_peek_type(o->data, o->len, &t) == VL_OK &&
            t == type) {
            n++;
        }
    }
    return n;
}

vl_msg *h_vote_reply(h_net *h, uint16_t peer)
{
    return h_find(h, VL_OUT_PEER, peer, VL_MSG_VOTE_REPLY);
}

bool h_reply_has_leaf(const vl_msg *m, const vl_order *o)
{
    uint8_t leaf[32];
    h_vote_leaf(o, leaf);
    for (uint32_t i = 0; i < m->leaf_count; i++) {
        if (memcmp(m->leaves[i], leaf, 32) == 0) {
            return true;
        }
    }
    return false;
}

const vl_answer *h_reply_answer(const vl_msg *m, const uint8_t hash[32])
{
    for (uint32_t i = 0; i < m->answer_count; i++) {
        if (memcmp(m->answers[i].order_hash, hash, 32) == 0) {
            return &m->answers[i];
        }
    }
    return NULL;
}

vl_err h_reply_vote_verify(h_net *h, const vl_msg *m, uint16_t voter)
{
    if (m->leaf_count == 0) {
        return VL_ERR_EMPTY;
    }
    vl_batch_vote v;
    memset(&v, 0, sizeof v);
    v.voter = voter;
    vl_merkle_root(v.root, (const uint8_t(*)[32])m->leaves, m->leaf_count);
    memcpy(v.sig, m->vote_sig, 64);
    return vl_batch_vote_verify(h->g, &v, NULL);
}

/* ---- state ------------------------------------------------------------------------- */

void h_snapshot(h_net *h, h_snap *s)
{
    memset(s, 0, sizeof *s);
    vl_core_get_stats(h->core, &s->stats);
    s->log_head = s->stats.status.log_head;
    memcpy(s->head_hash, s->stats.status.head_hash, 32);
    vl_core_get_digests(h->core, s->buckets, s->state_digest);
}

bool h_same_state(const h_snap *a, const h_snap *b)
{
    return a->log_head == b->log_head && memcmp(a->head_hash, b->head_hash, 32) == 0 &&
           memcmp(a->state_digest, b->state_digest, 32) == 0 &&
           memcmp(a->buckets, b->buckets, sizeof a->buckets) == 0;
}

vl_err h_account(h_net *h, const uint8_t id[32], vl_account *a)
{
    memset(a, 0, sizeof *a);
    return vl_core_get_account(h->core, id, a, h->acct_buf, sizeof h->acct_buf);
}

bool h_no_lock(h_net *h, const uint8_t account[32], uint64_t seq)
{
    uint8_t hash[32];
    return vl_core_get_lock(h->core, account, seq, hash) == VL_ERR_UNKNOWN_ACCOUNT;
}

bool h_locked_on(h_net *h, const uint8_t account[32], uint64_t seq, const uint8_t want[32])
{
    uint8_t hash[32];
    return vl_core_get_lock(h->core, account, seq, hash) == VL_OK &&
           memcmp(hash, want, 32) == 0;
}

/* ---- misc ---------------------------------------------------------------------------- */

h_buf h_buf_copy(const uint8_t *p, size_t len)
{
    h_buf b = {h_calloc(1, len ? len : 1), len};
    if (len > 0) {
        memcpy(b.data, p, len);
    }
    return b;
}

h_buf h_buf_zero(size_t len)
{
    return (h_buf){h_calloc(1, len ? len : 1), len};
}

void h_buf_free(h_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static int h_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void h_rmtree(const char *dir)
{
    if (dir[0] != '\0') {
        nftw(dir, h_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

uint64_t h_rand(uint64_t *state)
{
    /* splitmix64 */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
