/* sim_byz.c - Byzantine voters (up to --faulty of them, behaviours rotating
 * with the seed so every kind meets every workload):
 *
 *  vote-all   no core: answers every VOTE_REQUEST with a VOTE_REPLY that
 *             signs every order in it (its own key, Merkle root of their
 *             vote leaves, signatures unchecked), holding no lock: it
 *             votes for both orders of a double-signed slot, for
 *             overspends, for anything.
 *  forger     no core: sends random bytes, truncated or bit-flipped copies of
 *             what it received, and certificates with forged votes (random
 *             signatures, its own key signing as other voters, votes of
 *             observers and of nodes past the list, a wrong Merkle path, an
 *             order nobody signed); it also coordinates: asks honest voters
 *             to vote on orders it saw, and sends certificates of q-1
 *             genuine votes (plus, once it has q, the real one); and it
 *             answers clients with forged certificates.
 *  withholder a real core whose outputs are all dropped (sim_run.c).
 *
 * Honest nodes must stay safe and live whatever these do; what they send is
 * observed by the checker (a certificate that verifies counts wherever it
 * comes from) but their votes and logs are not held to the invariants.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_byz_assign(sim_world *w)
{
    uint16_t voters[SIM_MAX_NODES];
    uint32_t nv = 0;
    for (uint16_t i = 0; i < w->n_nodes; i++)
        if (w->node[i].voter)
            voters[nv++] = i;
    for (uint32_t i = nv; i > 1; i--) {
        uint32_t j = (uint32_t)sim_rng_below(&w->rng, i);
        uint16_t t = voters[i - 1];
        voters[i - 1] = voters[j];
        voters[j] = t;
    }
    for (uint32_t j = 0; j < w->p.faulty && j < nv; j++) {
        sim_node *n = &w->node[voters[j]];
        n->kind = (sim_node_kind)(1 + (w->p.seed + j) % 3);
        sim_trace(w, "node %u is Byzantine: %s", voters[j],
                  n->kind == SIM_BYZ_VOTE_ALL ? "vote-all"
                  : n->kind == SIM_BYZ_FORGER ? "forger" : "withholder");
    }
}

void sim_byz_free(sim_byz *b)
{
    for (int i = 0; i < SIM_BYZ_RING; i++) {
        sim_buf_free(&b->orders[i]);
        sim_buf_free(&b->msgs[i]);
    }
    for (int i = 0; i < SIM_BYZ_HARVEST; i++) {
        sim_buf_free(&b->harvest[i].order);
        free(b->harvest[i].cert);
    }
    memset(b, 0, sizeof *b);
}

static void remember(sim_buf *ring, uint32_t *n, const uint8_t *p, size_t len)
{
    sim_buf *slot = &ring[*n % SIM_BYZ_RING];
    sim_buf_free(slot);
    *slot = sim_buf_copy(p, len);
    (*n)++;
}

/* Encode m and send it from node i to `to` (a node, or a client tag). */
static void send_msg(sim_world *w, uint16_t i, uint16_t to, uint64_t client, const vl_msg *m)
{
    size_t len = 0;
    if (vl_msg_encode(m, NULL, 0, &len) != VL_OK)
        return;
    uint8_t *buf = sim_xmalloc(len);
    if (vl_msg_encode(m, buf, len, &len) == VL_OK) {
        sim_trace(w, "byz n%u -> %s%u %s %zu B", i, to == SIM_CLIENT ? "client " : "n",
                  to == SIM_CLIENT ? (unsigned)client : to, sim_msg_name(m->type), len);
        sim_net_send(w, i, to, client, buf, len);
    }
    free(buf);
}

static void sign_root(const sim_node *n, const uint8_t root[32], uint8_t sig[64])
{
    uint8_t msg[32];
    vl_vote_message(msg, root);
    vl_sign(sig, &n->key, msg, NULL);
}

/* The vote leaf an honest voter would put in its batch for o. */
static void vote_leaf(uint8_t leaf[32], const vl_order *o)
{
    uint8_t h[32];
    vl_order_hash(h, o);
    vl_vote_leaf(leaf, h, o);
}

/* vote-all: one batch vote over every order of the request. */
static void vote_all(sim_world *w, uint16_t i, uint16_t peer, const vl_msg *req)
{
    static uint8_t leaves[VL_MAX_MSG_ITEMS][32];
    static vl_order o;
    uint32_t n = 0;
    for (uint32_t k = 0; k < req->item_count && k < VL_MAX_MSG_ITEMS; k++)
        if (vl_order_decode(req->items[k].ptr, req->items[k].len, &o) == VL_OK)
            vote_leaf(leaves[n++], &o);
    if (n == 0)
        return;
    vl_msg m;
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_VOTE_REPLY;
    m.req_id = req->req_id;
    m.from = i;
    m.leaf_count = n;
    m.leaves = leaves;
    uint8_t root[32];
    vl_merkle_root(root, (const uint8_t(*)[32])leaves, n);
    sign_root(&w->node[i], root, m.vote_sig);
    send_msg(w, i, peer, 0, &m);
}

/* ---- certificates, forged and weak ------------------------------------------ */

/* Insert a vote keeping voters strictly ascending (replaces a same voter). */
static void put_vote(vl_cert *c, const vl_cert_vote *v)
{
    uint32_t at = 0;
    while (at < c->vote_count && c->votes[at].voter < v->voter)
        at++;
    if (at < c->vote_count && c->votes[at].voter == v->voter) {
        c->votes[at] = *v;
        return;
    }
    if (c->vote_count == VL_MAX_NODES)
        return;
    memmove(&c->votes[at + 1], &c->votes[at], (c->vote_count - at) * sizeof *v);
    c->votes[at] = *v;
    c->vote_count++;
}

static void single_vote(vl_cert_vote *v, uint16_t voter)
{
    memset(v, 0, sizeof *v);
    v->voter = voter;
    v->leaf_count = 1;
}

static void send_cert(sim_world *w, uint16_t i, const vl_cert *c, bool to_all)
{
    size_t len = 0;
    if (vl_cert_encode(c, NULL, 0, &len) != VL_OK)
        return;
    uint8_t *buf = sim_xmalloc(len);
    if (vl_cert_encode(c, buf, len, &len) == VL_OK) {
        vl_bytes item = {buf, (uint32_t)len};
        vl_msg m;
        memset(&m, 0, sizeof m);
        m.type = VL_MSG_CERTS;
        m.req_id = sim_rng_next(&w->rng);
        m.from = sim_rng_chance(&w->rng, 300) ? (uint16_t)sim_rng_below(&w->rng, w->n_nodes) : i;
        m.item_count = 1;
        m.items = &item;
        uint16_t one = (uint16_t)sim_rng_below(&w->rng, w->n_nodes);
        for (uint16_t to = 0; to < w->n_nodes; to++)
            if (to != i && (to_all || to == one))
                send_msg(w, i, to, 0, &m);
        w->stats.forged++;
    }
    free(buf);
}

/* Candidates to sign as: other voters, or (variant 2) observers and
 * indexes past the node list. */
static uint32_t forge_signers(const sim_world *w, uint16_t i, uint32_t variant, uint16_t *out)
{
    uint32_t n = 0;
    for (uint16_t j = 0; j < w->n_nodes; j++)
        if (j != i && (variant == 2 ? !w->node[j].voter : w->node[j].voter))
            out[n++] = j;
    for (uint16_t j = 0; variant == 2 && j < 4; j++)
        out[n++] = (uint16_t)(w->n_nodes + j);
    return n;
}

/* Build a certificate for `order` that must never verify, into w->cert. */
static bool forge_cert(sim_world *w, uint16_t i, const sim_buf *order, uint32_t variant)
{
    vl_cert *c = w->cert;
    memset(c, 0, sizeof *c);
    if (vl_order_decode(order->p, order->len, &c->order) != VL_OK)
        return false;
    if (variant == 4) /* an order nobody signed: its client signatures no longer match */
        c->order.seq += 1 + sim_rng_below(&w->rng, 3);
    uint8_t h[32]; /* the vote leaf: a batch of one has it for root */
    vote_leaf(h, &c->order);
    vl_cert_vote v;
    single_vote(&v, i);
    if (variant == 3) { /* own vote, but its path leads to no root it signed */
        uint8_t leaves[2][32];
        memcpy(leaves[0], h, 32);
        sim_rng_bytes(&w->rng, leaves[1], 32);
        uint8_t root[32];
        vl_merkle_root(root, (const uint8_t(*)[32])leaves, 2);
        v.leaf_count = 2;
        v.path_len = 1;
        sim_rng_bytes(&w->rng, v.path[0], 32);
        sign_root(&w->node[i], root, v.sig);
    } else {
        sign_root(&w->node[i], h, v.sig);
    }
    put_vote(c, &v);
    uint16_t who[SIM_MAX_NODES + 4];
    uint32_t n = forge_signers(w, i, variant, who);
    for (uint32_t k = 0; k < n && c->vote_count < w->g->quorum; k++) {
        single_vote(&v, who[k]);
        if (variant == 1 || variant == 4)
            sign_root(&w->node[i], h, v.sig); /* a real signature, by the wrong key */
        else
            sim_rng_bytes(&w->rng, v.sig, 64);
        put_vote(c, &v);
    }
    return true;
}

/* ---- harvesting genuine votes for weak certificates ---------------------------- */

static void harvest_progress(sim_world *w, uint16_t i, sim_harvest *h)
{
    uint32_t q = w->g->quorum;
    if (h->cert->vote_count == q - 1 && q > 1) {
        sim_trace(w, "byz n%u: certificate with q-1 = %u genuine votes to all", i, q - 1);
        send_cert(w, i, h->cert, true);
    } else if (h->cert->vote_count >= q) {
        send_cert(w, i, h->cert, false);
        h->req_id = 0;
    }
}

static void harvest_start(sim_world *w, uint16_t i)
{
    sim_byz *b = &w->node[i].byz;
    if (b->n_orders == 0)
        return;
    uint32_t pick = (uint32_t)sim_rng_below(&w->rng, b->n_orders < SIM_BYZ_RING ? b->n_orders
                                                                             : SIM_BYZ_RING);
    sim_harvest *h = &b->harvest[b->n_harvest++ % SIM_BYZ_HARVEST];
    sim_buf_free(&h->order);
    h->order = sim_buf_copy(b->orders[pick].p, b->orders[pick].len);
    if (h->cert == NULL)
        h->cert = sim_xmalloc(sizeof *h->cert);
    memset(h->cert, 0, sizeof *h->cert);
    h->req_id = 0;
    if (vl_order_decode(h->order.p, h->order.len, &h->cert->order) != VL_OK)
        return;
    vote_leaf(h->leaf, &h->cert->order);
    vl_cert_vote v;
    single_vote(&v, i);
    sign_root(&w->node[i], h->leaf, v.sig);
    put_vote(h->cert, &v);
    h->req_id = sim_rng_next(&w->rng) | 1;
    vl_bytes item = {h->order.p, (uint32_t)h->order.len};
    vl_msg m;
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_VOTE_REQUEST;
    m.req_id = h->req_id;
    m.from = i;
    m.item_count = 1;
    m.items = &item;
    for (uint16_t to = 0; to < w->n_nodes; to++)
        if (to != i && w->node[to].voter)
            send_msg(w, i, to, 0, &m);
    harvest_progress(w, i, h);
}

static void harvest_reply(sim_world *w, uint16_t i, uint16_t peer, const vl_msg *m)
{
    sim_byz *b = &w->node[i].byz;
    if (peer >= w->n_nodes || !w->node[peer].voter || m->leaf_count == 0)
        return;
    for (uint32_t k = 0; k < SIM_BYZ_HARVEST; k++) {
        sim_harvest *h = &b->harvest[k];
        if (h->req_id == 0 || h->req_id != m->req_id || h->cert == NULL)
            continue;
        for (uint32_t l = 0; l < m->leaf_count; l++) {
            if (memcmp(m->leaves[l], h->leaf, 32) != 0)
                continue;
            vl_cert_vote v;
            memset(&v, 0, sizeof v);
            v.voter = peer;
            v.leaf_index = l;
            v.leaf_count = m->leaf_count;
            v.path_len = (uint8_t)vl_merkle_path(v.path, (const uint8_t(*)[32])m->leaves,
                                                 m->leaf_count, l);
            memcpy(v.sig, m->vote_sig, 64);
            put_vote(h->cert, &v);
            harvest_progress(w, i, h);
            return;
        }
    }
}

/* ---- the forger's spontaneous noise ---------------------------------------------- */

static void send_garbage(sim_world *w, uint16_t i, uint16_t to, uint64_t client)
{
    static const uint8_t types[] = {VL_MSG_VOTE_REQUEST,    VL_MSG_VOTE_REPLY,
                                    VL_MSG_CERTS,           VL_MSG_LOG_REQUEST,
                                    VL_MSG_LOG_REPLY,       VL_MSG_CLIENT_REPLY,
                                    VL_MSG_ACCOUNT_REQUEST, VL_MSG_CLIENT_REQUEST,
                                    VL_MSG_SUMMARY_REQUEST, VL_MSG_SUMMARY_REPLY};
    uint8_t buf[320];
    size_t len = (size_t)sim_rng_below(&w->rng, sizeof buf);
    sim_rng_bytes(&w->rng, buf, len);
    if (len >= 2 && sim_rng_chance(&w->rng, 700)) {
        buf[0] = VL_WIRE_VERSION;
        buf[1] = types[sim_rng_below(&w->rng, sizeof types)];
    }
    sim_net_send(w, i, to, client, buf, len);
}

static void send_mutant(sim_world *w, uint16_t i, uint16_t to)
{
    sim_byz *b = &w->node[i].byz;
    if (b->n_msgs == 0)
        return;
    const sim_buf *src = &b->msgs[sim_rng_below(&w->rng, b->n_msgs < SIM_BYZ_RING ? b->n_msgs
                                                                              : SIM_BYZ_RING)];
    if (src->len == 0)
        return;
    sim_buf c = sim_buf_copy(src->p, src->len);
    if (sim_rng_chance(&w->rng, 500)) {
        c.len = (size_t)sim_rng_below(&w->rng, c.len);
    } else {
        for (uint32_t k = 0, n = 1 + (uint32_t)sim_rng_below(&w->rng, 3); k < n; k++)
            c.p[sim_rng_below(&w->rng, c.len)] ^= (uint8_t)(1u << sim_rng_below(&w->rng, 8));
    }
    sim_net_send(w, i, to, 0, c.p, c.len);
    sim_buf_free(&c);
}

/* An unsolicited VOTE_REPLY: its own signature over recent orders' vote
 * leaves (maybe filed as another voter's), with false answers: CONFLICT
 * naming another order (any slot), BEHIND with a far-off seq. */
static void fake_vote_reply(sim_world *w, uint16_t i, uint16_t to)
{
    static uint8_t leaves[4][32];
    static vl_order o;
    sim_byz *b = &w->node[i].byz;
    uint32_t ring = b->n_orders < SIM_BYZ_RING ? b->n_orders : SIM_BYZ_RING;
    if (ring == 0)
        return;
    const sim_buf *pick = &b->orders[sim_rng_below(&w->rng, ring)];
    if (vl_order_decode(pick->p, pick->len, &o) != VL_OK)
        return;
    vl_msg m;
    vl_answer ans;
    memset(&m, 0, sizeof m);
    memset(&ans, 0, sizeof ans);
    m.type = VL_MSG_VOTE_REPLY;
    m.req_id = sim_rng_next(&w->rng);
    m.from = sim_rng_chance(&w->rng, 300) ? (uint16_t)sim_rng_below(&w->rng, w->n_nodes) : i;
    vote_leaf(leaves[0], &o);
    m.leaf_count = 1 + (uint32_t)sim_rng_below(&w->rng, 3);
    for (uint32_t k = 1; k < m.leaf_count; k++)
        sim_rng_bytes(&w->rng, leaves[k], 32);
    m.leaves = leaves;
    uint8_t root[32];
    vl_merkle_root(root, (const uint8_t(*)[32])leaves, m.leaf_count);
    sign_root(&w->node[i], root, m.vote_sig);
    const sim_buf *other = &b->orders[sim_rng_below(&w->rng, ring)];
    vl_order_hash(ans.order_hash, &o);
    uint64_t r = sim_rng_below(&w->rng, 4);
    if (r == 1 && other != pick) {
        ans.kind = VL_ANSWER_CONFLICT;
        ans.evidence = (vl_bytes){other->p, (uint32_t)other->len};
    } else if (r == 2) {
        ans.kind = VL_ANSWER_BEHIND;
        ans.next_seq = sim_rng_range(&w->rng, 0, 1u << 20);
    }
    if (ans.kind != 0) {
        m.leaf_count = 0; /* an answer instead of a vote */
        m.answer_count = 1;
        m.answers = &ans;
    }
    send_msg(w, i, to, 0, &m);
}

void sim_byz_step(sim_world *w, uint16_t i)
{
    sim_byz *b = &w->node[i].byz;
    if (w->node[i].kind != SIM_BYZ_FORGER)
        return;
    uint16_t to = (uint16_t)sim_rng_below(&w->rng, w->n_nodes);
    if (to == i)
        return;
    uint64_t r = sim_rng_below(&w->rng, 1000);
    if (r < 60) {
        send_garbage(w, i, to, 0);
    } else if (r < 120) {
        send_mutant(w, i, to);
    } else if (r < 170) {
        harvest_start(w, i);
    } else if (r < 200) {
        fake_vote_reply(w, i, to);
    } else if (r < 260 && b->n_orders > 0) {
        uint32_t pick = (uint32_t)sim_rng_below(&w->rng, b->n_orders < SIM_BYZ_RING
                                                             ? b->n_orders : SIM_BYZ_RING);
        if (forge_cert(w, i, &b->orders[pick], (uint32_t)sim_rng_below(&w->rng, 5)))
            send_cert(w, i, w->cert, sim_rng_chance(&w->rng, 500));
    }
}

/* A client asked the forger: answer with a forged certificate or noise. */
static void answer_client(sim_world *w, uint16_t i, const sim_msg *sm, const vl_msg *req)
{
    if (req->req_kind != VL_REQ_SUBMIT || req->item_count != 1)
        return;
    sim_byz *b = &w->node[i].byz;
    remember(b->orders, &b->n_orders, req->items[0].ptr, req->items[0].len);
    sim_buf order = b->orders[(b->n_orders - 1) % SIM_BYZ_RING];
    if (sim_rng_chance(&w->rng, 300)) {
        send_garbage(w, i, SIM_CLIENT, sm->client);
        return;
    }
    if (!forge_cert(w, i, &order, sim_rng_chance(&w->rng, 500) ? 1 : 0))
        return;
    size_t len = 0;
    static uint8_t buf[1u << 17];
    if (vl_cert_encode(w->cert, buf, sizeof buf, &len) != VL_OK)
        return;
    vl_bytes item = {buf, (uint32_t)len};
    vl_msg m;
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_CLIENT_REPLY;
    m.req_id = req->req_id;
    m.reply_kind = VL_REPLY_CERT;
    m.item_count = 1;
    m.items = &item;
    send_msg(w, i, SIM_CLIENT, sm->client, &m);
}

void sim_byz_deliver(sim_world *w, uint16_t i, const sim_msg *sm)
{
    sim_node *n = &w->node[i];
    vl_msg *m = &w->msg;
    if (n->kind == SIM_BYZ_FORGER)
        remember(n->byz.msgs, &n->byz.n_msgs, sm->data.p, sm->data.len);
    if (vl_msg_decode(sm->data.p, sm->data.len, m) != VL_OK)
        return;
    if (n->kind == SIM_BYZ_VOTE_ALL) {
        if (m->type == VL_MSG_VOTE_REQUEST && sm->from != SIM_CLIENT)
            vote_all(w, i, sm->from, m);
        return;
    }
    if (m->type == VL_MSG_VOTE_REQUEST) {
        for (uint32_t k = 0; k < m->item_count && k < 4; k++)
            remember(n->byz.orders, &n->byz.n_orders, m->items[k].ptr, m->items[k].len);
    } else if (m->type == VL_MSG_VOTE_REPLY && sm->from != SIM_CLIENT) {
        harvest_reply(w, i, sm->from, m);
    } else if (m->type == VL_MSG_CLIENT_REQUEST && sm->from == SIM_CLIENT) {
        answer_client(w, i, sm, m);
    }
}
