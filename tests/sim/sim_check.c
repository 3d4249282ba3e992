/* sim_check.c - the invariants of DESIGN.md section 7, checked after every
 * step, and the oracle they need.
 *
 * What the checker trusts: only the genesis and certificates that verify
 * with vl_cert_verify(g, cert, NULL, ...) - no signature cache, so a bug in
 * the core's cache cannot hide a bad certificate.  A certificate's bytes are
 * verified once (the result is a function of the bytes; cert_seen remembers
 * it by vl_cert_hash).
 *
 * Sources of certificates: every honest node's log, read incrementally
 * (vl_core_get_entry, hash chain re-checked); every CERTS message, CERT
 * client reply, CERTIFIED answer, ALREADY_CERTIFIED evidence and LOG_REPLY
 * entry that any node sends.  Each one that verifies is recorded in its
 * account's slot table (agreement) and updates the truth the other checks
 * read: per voucher the certified redemptions and revocation, per issuer
 * the certified issuance and the revoked remainders credited back.
 *
 * Sources of votes: every VOTE_REPLY an honest node sends.  Each leaf (a
 * vote leaf: order hash and signature bytes, vl_vote_leaf) is found by the
 * copy of a registered order it stands for and filed under (account, seq)
 * for that voter; a vote for a second, different order for one slot is a
 * double vote, and after every restart each recorded vote must still be
 * there (the lock, or the slot's certificate).
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MARGIN_MS (SIM_SKEW_MS + 2000)

bool sim_check_init(sim_world *w)
{
    sim_check *ck = &w->ck;
    ck->orders = sim_xcalloc(SIM_MAX_ORDERS, sizeof *ck->orders);
    ck->acct = sim_xcalloc(SIM_MAX_ACCTS, sizeof *ck->acct);
    ck->entry_buf = sim_xmalloc(SIM_ENTRY_CAP);
    ck->cert = sim_xcalloc(1, sizeof *ck->cert);
    ck->order = sim_xcalloc(1, sizeof *ck->order);
    ck->st = sim_xmalloc(sizeof *ck->st);
    vl_msg_init(&ck->msg, ck->st);
    for (uint32_t i = 0; i < w->g->issuer_count; i++) {
        uint8_t id[32];
        vl_issuer_account_id(id, w->g->issuers[i].pubkey);
        sim_acct *a = &ck->acct[ck->n_acct];
        memcpy(a->id, id, 32);
        a->kind = VL_ACCOUNT_ISSUER;
        a->issuer = (uint8_t)i;
        a->budget_fen = w->g->issuers[i].budget_fen;
        for (uint32_t s = 0; s < SIM_MAX_SEQ; s++)
            a->slot[s] = -1;
        sim_key k = sim_key_of(id, 0);
        if (!sim_map_put(&ck->accts, &k, ck->n_acct++))
            return false;
    }
    return true;
}

void sim_check_free(sim_world *w)
{
    sim_check *ck = &w->ck;
    for (uint32_t i = 0; ck->orders != NULL && i < ck->n_orders; i++)
        sim_buf_free(&ck->orders[i].bytes);
    for (uint32_t i = 0; i < SIM_MAX_NODES; i++) {
        sim_map_free(&ck->node[i].applied);
        sim_map_free(&ck->node[i].votes);
        free(ck->node[i].list);
        free(ck->node[i].replies);
        free(ck->node[i].owed);
    }
    sim_map_free(&ck->by_hash);
    sim_map_free(&ck->by_leaf);
    sim_map_free(&ck->accts);
    sim_map_free(&ck->cert_seen);
    free(ck->orders);
    free(ck->acct);
    free(ck->entry_buf);
    free(ck->cert);
    free(ck->order);
    free(ck->st);
    memset(ck, 0, sizeof *ck);
}

static bool push_i32(int32_t **v, uint32_t *n, uint32_t *cap, int32_t x)
{
    if (*n == *cap) {
        uint32_t ncap = *cap == 0 ? 64 : *cap * 2;
        if (ncap > SIM_MAX_ORDERS * 4)
            return false;
        int32_t *nv = realloc(*v, ncap * sizeof *nv);
        if (nv == NULL)
            return false;
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = x;
    return true;
}

/* ---- accounts -------------------------------------------------------------- */

static sim_acct *acct_get(sim_world *w, const uint8_t id[32], bool create)
{
    sim_check *ck = &w->ck;
    sim_key k = sim_key_of(id, 0);
    uint64_t at;
    if (sim_map_get(&ck->accts, &k, &at))
        return &ck->acct[at];
    if (!create)
        return NULL;
    if (ck->n_acct == SIM_MAX_ACCTS || !sim_map_put(&ck->accts, &k, ck->n_acct)) {
        sim_fail(w, SIM_INV_SIM, "more than %u accounts", SIM_MAX_ACCTS);
        return NULL;
    }
    sim_acct *a = &ck->acct[ck->n_acct++];
    memset(a, 0, sizeof *a);
    memcpy(a->id, id, 32);
    a->kind = VL_ACCOUNT_VOUCHER;
    for (uint32_t s = 0; s < SIM_MAX_SEQ; s++)
        a->slot[s] = -1;
    return a;
}

int32_t sim_check_slot(const sim_world *w, const uint8_t account[32], uint64_t seq)
{
    sim_key k = sim_key_of(account, 0);
    uint64_t at;
    if (seq >= SIM_MAX_SEQ || !sim_map_get(&w->ck.accts, &k, &at))
        return -1;
    return w->ck.acct[at].slot[seq];
}

/* Certified totals of a voucher up to (excluding) slot `upto`. */
typedef struct {
    uint64_t redeemed_fen;        /* all certified redemptions */
    uint64_t before_revoke_fen;   /* redemptions ordered before the revoke */
    uint32_t revokes, after_revoke; /* revokes; redemptions ordered after one */
} sim_vsum;

static void voucher_sum(const sim_world *w, const sim_acct *a, uint64_t upto, sim_vsum *s)
{
    memset(s, 0, sizeof *s);
    for (uint64_t q = 0; q < upto && q < SIM_MAX_SEQ; q++) {
        if (a->slot[q] < 0)
            continue;
        const sim_order *o = &w->ck.orders[a->slot[q]];
        if (o->kind == VL_ORDER_REDEEM) {
            s->redeemed_fen += o->amount_fen;
            if (s->revokes == 0)
                s->before_revoke_fen += o->amount_fen;
            else
                s->after_revoke++;
        } else if (o->kind == VL_ORDER_REVOKE) {
            s->revokes++;
        }
    }
}

/* Remainders of this issuer's revoked vouchers, credited back.  A redemption
 * certificate not seen yet can only make this larger than the truth, so a
 * violation computed with it is real. */
static uint64_t issuer_credited(const sim_world *w, uint8_t issuer)
{
    uint64_t credited = 0;
    for (uint32_t i = 0; i < w->ck.n_acct; i++) {
        const sim_acct *a = &w->ck.acct[i];
        if (a->kind != VL_ACCOUNT_VOUCHER || !a->has_revoke || !a->created ||
            a->issuer != issuer)
            continue;
        sim_vsum s;
        voucher_sum(w, a, SIM_MAX_SEQ, &s);
        if (s.revokes > 0 && s.before_revoke_fen <= a->face_fen)
            credited += a->face_fen - s.before_revoke_fen;
    }
    return credited;
}

static uint64_t issuer_issued(const sim_world *w, const sim_acct *a, uint64_t upto)
{
    uint64_t issued = 0;
    for (uint64_t q = 0; q < upto && q < SIM_MAX_SEQ; q++)
        if (a->slot[q] >= 0)
            issued += w->ck.orders[a->slot[q]].amount_fen;
    return issued;
}

/* True when the voucher's window is certainly closed during the whole run
 * (skew and a margin included): no honest voter may accept it then. */
static bool window_closed_all_run(const sim_world *w, const sim_acct *a)
{
    uint64_t end_ms = SIM_T0_MS + (uint64_t)w->p.steps * (1 + SIM_MAX_HEAL_FACTOR) *
                                      SIM_STEP_MS + 10 * SIM_STEP_MS;
    return a->valid_until_s * 1000 + MARGIN_MS <= SIM_T0_MS ||
           a->valid_from_s * 1000 >= end_ms + MARGIN_MS;
}

static void check_issuer(sim_world *w, uint8_t issuer)
{
    uint8_t id[32];
    vl_issuer_account_id(id, w->g->issuers[issuer].pubkey);
    sim_acct *a = acct_get(w, id, false);
    if (a == NULL)
        return;
    uint64_t issued = issuer_issued(w, a, SIM_MAX_SEQ);
    uint64_t credited = issuer_credited(w, issuer);
    if (issued > a->budget_fen + credited)
        sim_fail(w, SIM_INV_OVERISSUE,
                 "issuer %s: certified issuance %llu fen > budget %llu + credited back %llu",
                 w->g->issuers[issuer].id, (unsigned long long)issued,
                 (unsigned long long)a->budget_fen, (unsigned long long)credited);
}

static void check_voucher(sim_world *w, sim_acct *a)
{
    char id[17];
    sim_hex8(id, a->id);
    if (!a->created)
        return; /* its face value is not known yet: checked when it is */
    sim_vsum s;
    voucher_sum(w, a, SIM_MAX_SEQ, &s);
    if (s.redeemed_fen > a->face_fen)
        sim_fail(w, SIM_INV_OVERSPEND, "voucher %s (serial %llu): certified redemptions %llu "
                 "fen > face value %llu", id, (unsigned long long)a->serial,
                 (unsigned long long)s.redeemed_fen, (unsigned long long)a->face_fen);
    if (s.after_revoke > 0)
        sim_fail(w, SIM_INV_OVERSPEND, "voucher %s: %u redemption(s) certified after its "
                 "REVOKE", id, s.after_revoke);
    if (s.revokes > 1)
        sim_fail(w, SIM_INV_OVERISSUE, "voucher %s: revoked %u times (credited back twice)",
                 id, s.revokes);
    for (uint32_t q = 0; q < SIM_MAX_SEQ; q++) {
        if (a->slot[q] >= 0 && w->ck.orders[a->slot[q]].kind == VL_ORDER_REDEEM &&
            window_closed_all_run(w, a))
            sim_fail(w, SIM_INV_VALIDITY, "voucher %s: REDEEM at seq %u certified although "
                     "its validity window [%llu, %llu) s is closed for the whole run", id, q,
                     (unsigned long long)a->valid_from_s, (unsigned long long)a->valid_until_s);
    }
    check_issuer(w, a->issuer);
}

/* A certified ISSUE creates its vouchers in the truth. */
static void apply_issue(sim_world *w, const vl_order *o, uint8_t issuer)
{
    for (uint32_t v = 0; v < o->voucher_count; v++) {
        const vl_voucher_spec *vs = &o->vouchers[v];
        uint8_t id[32];
        vl_voucher_account_id(id, o->issuer, vs->serial);
        sim_acct *a = acct_get(w, id, true);
        if (a == NULL)
            return;
        a->creations++;
        if (a->creations > 1) {
            sim_fail(w, SIM_INV_OVERISSUE, "voucher serial %llu of issuer %s created by two "
                     "certified ISSUE orders", (unsigned long long)vs->serial,
                     w->g->issuers[issuer].id);
            return;
        }
        a->created = true;
        a->issuer = issuer;
        a->serial = vs->serial;
        a->face_fen = vs->value_fen;
        a->valid_from_s = vs->valid_from_s;
        a->valid_until_s = vs->valid_until_s;
        check_voucher(w, a);
    }
    check_issuer(w, issuer);
}

bool sim_check_over_budget(sim_world *w, int32_t idx)
{
    const sim_order *o = &w->ck.orders[idx];
    if (o->kind != VL_ORDER_ISSUE || o->seq >= SIM_MAX_SEQ)
        return false;
    sim_acct *a = acct_get(w, o->account, false);
    if (a == NULL || a->slot[o->seq] >= 0)
        return false;
    for (uint64_t q = 0; q < o->seq; q++)
        if (a->slot[q] < 0)
            return false;
    uint64_t issued = issuer_issued(w, a, o->seq);
    return issued + o->amount_fen > a->budget_fen + issuer_credited(w, o->issuer);
}

/* ---- the registry of orders -------------------------------------------------- */

int32_t sim_check_find(const sim_world *w, const uint8_t hash[32])
{
    sim_key k = sim_key_of(hash, 0);
    uint64_t at;
    return sim_map_get(&w->ck.by_hash, &k, &at) ? (int32_t)at : -1;
}

int32_t sim_check_find_leaf(const sim_world *w, const uint8_t leaf[32])
{
    sim_key k = sim_key_of(leaf, 0);
    uint64_t at;
    return sim_map_get(&w->ck.by_leaf, &k, &at) ? (int32_t)at : -1;
}

/* Index the vote leaf of this copy of order `at` (another copy, with other
 * signature bytes, has another leaf). */
static bool register_leaf(sim_world *w, const vl_order *o, const uint8_t hash[32], int32_t at)
{
    uint8_t leaf[32];
    vl_vote_leaf(leaf, hash, o);
    sim_key k = sim_key_of(leaf, 0);
    if (sim_map_get(&w->ck.by_leaf, &k, NULL) || sim_map_put(&w->ck.by_leaf, &k, (uint64_t)at))
        return true;
    sim_fail(w, SIM_INV_SIM, "vote leaf table full");
    return false;
}

int32_t sim_check_register(sim_world *w, const sim_buf *order, int32_t actor, uint8_t flags)
{
    sim_check *ck = &w->ck;
    vl_order *o = ck->order;
    vl_err e = vl_order_decode(order->p, order->len, o);
    if (e != VL_OK) {
        sim_fail(w, SIM_INV_SIM, "registering an order that does not decode: %s",
                 vl_err_name(e));
        return -1;
    }
    uint8_t hash[32];
    vl_order_hash(hash, o);
    int32_t at = sim_check_find(w, hash);
    if (at >= 0) {
        ck->orders[at].flags |= flags;
        if (actor >= 0)
            ck->orders[at].actor = actor;
        return register_leaf(w, o, hash, at) ? at : -1;
    }
    sim_key k = sim_key_of(hash, 0);
    if (ck->n_orders == SIM_MAX_ORDERS || !sim_map_put(&ck->by_hash, &k, ck->n_orders)) {
        sim_fail(w, SIM_INV_SIM, "more than %u orders", SIM_MAX_ORDERS);
        return -1;
    }
    if (!register_leaf(w, o, hash, (int32_t)ck->n_orders))
        return -1;
    sim_order *r = &ck->orders[ck->n_orders];
    memset(r, 0, sizeof *r);
    memcpy(r->hash, hash, 32);
    vl_order_account(r->account, o);
    r->seq = o->seq;
    r->kind = o->kind;
    int iss = vl_genesis_issuer_by_pubkey(w->g, o->issuer);
    r->issuer = (uint8_t)(iss < 0 ? 0 : iss);
    r->flags = flags;
    r->actor = actor;
    r->serial = o->serial;
    r->amount_fen = o->amount_fen;
    if (o->kind == VL_ORDER_ISSUE) {
        r->amount_fen = 0;
        for (uint32_t v = 0; v < o->voucher_count; v++)
            r->amount_fen += o->vouchers[v].value_fen;
    }
    r->created_step = w->step;
    r->bytes = sim_buf_copy(order->p, order->len);
    return (int32_t)ck->n_orders++;
}

/* File vote `idx` of an honest voter under its slot; a second, different
 * order for one slot is a double vote, restarts or not. */
static void record_vote(sim_world *w, uint16_t node, int32_t idx, const char *how)
{
    const sim_order *o = &w->ck.orders[idx];
    sim_nodecheck *nc = &w->ck.node[node];
    sim_key k = sim_key_of(o->account, o->seq);
    uint64_t had;
    if (sim_map_get(&nc->votes, &k, &had) && (int32_t)had != idx) {
        char h0[17], h1[17], acc[17];
        sim_hex8(h0, w->ck.orders[had].hash);
        sim_hex8(h1, o->hash);
        sim_hex8(acc, o->account);
        sim_fail(w, SIM_INV_DURABILITY, "honest voter %u voted for two orders for slot "
                 "(account %s, seq %llu): %s and now %s (seen in %s; restarts so far: %u)",
                 node, acc, (unsigned long long)o->seq, h0, h1, how, w->node[node].restarts);
        return;
    }
    if (!sim_map_put(&nc->votes, &k, (uint64_t)idx))
        sim_fail(w, SIM_INV_SIM, "vote table full");
}

/* ---- certificates -------------------------------------------------------------- */

/* File a verified certificate's order under its slot: agreement, then the
 * truth and the checks that read it. */
static void record_slot(sim_world *w, int32_t idx, const char *where)
{
    sim_check *ck = &w->ck;
    sim_order *o = &ck->orders[idx];
    char acc[17], h1[17], h2[17];
    sim_hex8(acc, o->account);
    if (o->seq >= SIM_MAX_SEQ) {
        sim_fail(w, SIM_INV_SIM, "certified seq %llu >= SIM_MAX_SEQ (account %s)",
                 (unsigned long long)o->seq, acc);
        return;
    }
    sim_acct *a = acct_get(w, o->account, true);
    if (a == NULL)
        return;
    int32_t had = a->slot[o->seq];
    if (had == idx)
        return;
    if (had >= 0) {
        sim_hex8(h1, ck->orders[had].hash);
        sim_hex8(h2, o->hash);
        sim_fail(w, SIM_INV_AGREEMENT, "two certified orders for slot (account %s, seq %llu): "
                 "%s (kind %u, %llu fen) and %s (kind %u, %llu fen), the second seen in %s",
                 acc, (unsigned long long)o->seq, h1, ck->orders[had].kind,
                 (unsigned long long)ck->orders[had].amount_fen, h2, o->kind,
                 (unsigned long long)o->amount_fen, where);
        return;
    }
    a->slot[o->seq] = idx;
    w->stats.certs++;
    if (o->kind == VL_ORDER_ISSUE) {
        if (vl_order_decode(o->bytes.p, o->bytes.len, ck->order) == VL_OK)
            apply_issue(w, ck->order, o->issuer);
        return;
    }
    if (o->kind == VL_ORDER_REVOKE)
        a->has_revoke = true;
    check_voucher(w, a);
}

/* Verify a certificate from scratch (or recall the verdict on these exact
 * bytes).  Returns VL_OK with *idx its order's registry index. */
static vl_err verify_cert(sim_world *w, const uint8_t *p, size_t len, int32_t *idx,
                          const char *where)
{
    sim_check *ck = &w->ck;
    uint8_t ch[32];
    vl_cert_hash(ch, p, len);
    sim_key k = sim_key_of(ch, 0);
    uint64_t seen;
    if (sim_map_get(&ck->cert_seen, &k, &seen)) {
        *idx = (int32_t)(seen >> 8) - 1;
        return (vl_err)(seen & 0xff);
    }
    vl_err e = vl_cert_decode(p, len, ck->cert);
    if (e == VL_OK)
        e = vl_cert_verify(w->g, ck->cert, NULL, NULL);
    *idx = -1;
    if (e == VL_OK) {
        sim_buf ob = {(uint8_t *)ck->cert->order_raw.ptr, ck->cert->order_raw.len};
        *idx = sim_check_register(w, &ob, -1, 0);
        for (uint32_t v = 0; *idx >= 0 && v < ck->cert->vote_count; v++)
            if (sim_is_honest(w, ck->cert->votes[v].voter))
                record_vote(w, ck->cert->votes[v].voter, *idx, "a certificate");
        if (*idx >= 0)
            record_slot(w, *idx, where);
    }
    if (!sim_map_put(&ck->cert_seen, &k, ((uint64_t)(*idx + 1) << 8) | (uint64_t)e))
        sim_fail(w, SIM_INV_SIM, "certificate table full");
    return e;
}

int32_t sim_check_cert(sim_world *w, const uint8_t *p, size_t len, const char *where)
{
    int32_t idx;
    return verify_cert(w, p, len, &idx, where) == VL_OK ? idx : -1;
}

/* ---- what nodes send ------------------------------------------------------------- */

static bool slot_cert_hash(sim_world *w, uint16_t i, const uint8_t account[32], uint64_t seq,
                           uint8_t hash[32]);

/* A CERT reply of an honest node: if the node has applied that slot, the
 * certificate must survive every restart; if it only holds it pending (it
 * formed it while behind on the account), it must be in its log by the end. */
static void record_reply(sim_world *w, uint16_t node, int32_t idx)
{
    sim_nodecheck *nc = &w->ck.node[node];
    const sim_order *o = &w->ck.orders[idx];
    uint8_t h[32];
    bool ok;
    if (slot_cert_hash(w, node, o->account, o->seq, h) && memcmp(h, o->hash, 32) == 0)
        ok = push_i32(&nc->replies, &nc->n_replies, &nc->cap_replies, idx);
    else
        ok = push_i32(&nc->owed, &nc->n_owed, &nc->cap_owed, idx);
    if (!ok)
        sim_fail(w, SIM_INV_SIM, "reply table full");
}

static void record_leaf(sim_world *w, uint16_t node, const uint8_t leaf[32])
{
    char h[17];
    sim_hex8(h, leaf);
    if (!w->node[node].voter) {
        sim_fail(w, SIM_INV_VALIDITY, "observer node %u sent a vote (order %s)", node, h);
        return;
    }
    int32_t idx = sim_check_find_leaf(w, leaf);
    if (idx < 0) {
        sim_fail(w, SIM_INV_VALIDITY, "honest node %u voted for leaf %s: no order a client "
                 "signed, with these signature bytes", node, h);
        return;
    }
    record_vote(w, node, idx, "a VOTE_REPLY");
}

static void observe_vote_reply(sim_world *w, uint16_t from, bool honest, const vl_msg *m)
{
    for (uint32_t i = 0; i < m->answer_count; i++)
        if (m->answers[i].kind == VL_ANSWER_CERTIFIED)
            sim_check_cert(w, m->answers[i].evidence.ptr, m->answers[i].evidence.len,
                           "a CERTIFIED answer");
    for (uint32_t i = 0; honest && i < m->leaf_count; i++)
        record_leaf(w, from, m->leaves[i]);
    if (honest && m->from != from)
        sim_fail(w, SIM_INV_VALIDITY, "honest node %u signs VOTE_REPLY as node %u", from,
                 m->from);
}

static void observe_client_reply(sim_world *w, uint16_t from, bool honest, const vl_msg *m)
{
    if (m->reply_kind == VL_REPLY_CERT && m->item_count == 1) {
        int32_t idx = sim_check_cert(w, m->items[0].ptr, m->items[0].len, "a CERT reply");
        if (honest && idx < 0)
            sim_fail(w, SIM_INV_VALIDITY, "honest node %u replied to a client with a "
                     "certificate that does not verify", from);
        else if (honest && w->node[from].core != NULL)
            record_reply(w, from, idx);
    } else if (m->reply_kind == VL_REPLY_ERROR && m->evidence_kind == VL_EVIDENCE_CERT &&
               m->item_count == 1) {
        sim_check_cert(w, m->items[0].ptr, m->items[0].len, "ERROR evidence");
    }
}

static void observe_log_reply(sim_world *w, const vl_msg *m)
{
    for (uint32_t i = 0; i < m->item_count; i++) {
        vl_entry e;
        if (vl_entry_decode(m->items[i].ptr, m->items[i].len, &e) == VL_OK)
            sim_check_cert(w, e.cert.ptr, e.cert.len, "a LOG_REPLY");
    }
}

void sim_check_output(sim_world *w, uint16_t from, const vl_output *o)
{
    uint8_t type;
    if (vl_peek_type(o->data, o->len, &type) != VL_OK)
        return;
    if (type != VL_MSG_CERTS && type != VL_MSG_CLIENT_REPLY && type != VL_MSG_VOTE_REPLY &&
        type != VL_MSG_LOG_REPLY)
        return;
    bool honest = sim_is_honest(w, from);
    vl_msg *m = &w->ck.msg;
    vl_err e = vl_msg_decode(o->data, o->len, m);
    if (e != VL_OK) {
        if (honest)
            sim_fail(w, SIM_INV_VALIDITY, "honest node %u sent a %s that does not decode: %s",
                     from, sim_msg_name(type), vl_err_name(e));
        return;
    }
    if (type == VL_MSG_CERTS) {
        for (uint32_t i = 0; i < m->item_count; i++)
            if (sim_check_cert(w, m->items[i].ptr, m->items[i].len, "a CERTS message") < 0 &&
                honest)
                sim_fail(w, SIM_INV_VALIDITY, "honest node %u broadcast a certificate that "
                         "does not verify", from);
    } else if (type == VL_MSG_VOTE_REPLY) {
        observe_vote_reply(w, from, honest, m);
    } else if (type == VL_MSG_CLIENT_REPLY) {
        observe_client_reply(w, from, honest, m);
    } else {
        observe_log_reply(w, m);
    }
}

/* ---- honest nodes' logs ------------------------------------------------------------- */

static void check_entry(sim_world *w, uint16_t i, uint64_t index, const uint8_t *buf,
                        size_t len)
{
    sim_nodecheck *nc = &w->ck.node[i];
    vl_entry e;
    vl_err err = vl_entry_decode(buf, len, &e);
    if (err != VL_OK || e.index != index) {
        sim_fail(w, SIM_INV_VALIDITY, "node %u: log entry %llu does not decode (%s) or has "
                 "index %llu", i, (unsigned long long)index, vl_err_name(err),
                 (unsigned long long)e.index);
        return;
    }
    const uint8_t *prev = index == 1 ? w->g->network_id : nc->last_hash;
    if (memcmp(e.prev_hash, prev, 32) != 0) {
        sim_fail(w, SIM_INV_DURABILITY, "node %u: log entry %llu does not extend entry %llu "
                 "(hash chain broken)", i, (unsigned long long)index,
                 (unsigned long long)index - 1);
        return;
    }
    uint8_t ch[32];
    vl_cert_hash(ch, e.cert.ptr, e.cert.len);
    vl_entry_hash(nc->last_hash, index, e.prev_hash, ch);
    nc->log_read = index;
    int32_t idx;
    err = verify_cert(w, e.cert.ptr, e.cert.len, &idx, "a node's log");
    if (err != VL_OK) {
        sim_fail(w, SIM_INV_VALIDITY, "node %u applied a certificate that does not verify "
                 "(log entry %llu): %s", i, (unsigned long long)index, vl_err_name(err));
        return;
    }
    sim_key k = sim_key_of(w->ck.orders[idx].hash, 0);
    uint64_t at;
    if (sim_map_get(&nc->applied, &k, &at)) {
        sim_fail(w, SIM_INV_AGREEMENT, "node %u applied one order twice (log entries %llu "
                 "and %llu)", i, (unsigned long long)at + 1, (unsigned long long)index);
        return;
    }
    if (!sim_map_put(&nc->applied, &k, index - 1) ||
        !push_i32(&nc->list, &nc->n_list, &nc->cap_list, idx))
        sim_fail(w, SIM_INV_SIM, "applied table full");
}

static void read_log(sim_world *w, uint16_t i)
{
    sim_nodecheck *nc = &w->ck.node[i];
    vl_core_stats st;
    vl_core_get_stats(w->node[i].core, &st);
    uint64_t head = st.status.log_head;
    if (head < nc->log_read) {
        sim_fail(w, SIM_INV_DURABILITY, "node %u: log head went back from %llu to %llu", i,
                 (unsigned long long)nc->log_read, (unsigned long long)head);
        return;
    }
    for (uint64_t idx = nc->log_read + 1; idx <= head && !w->ck.failed; idx++) {
        size_t len = 0;
        vl_err e = vl_core_get_entry(w->node[i].core, idx, w->ck.entry_buf, SIM_ENTRY_CAP,
                                     &len);
        if (e != VL_OK) {
            sim_fail(w, SIM_INV_DURABILITY, "node %u: log entry %llu of %llu unreadable: %s", i,
                     (unsigned long long)idx, (unsigned long long)head, vl_err_name(e));
            return;
        }
        check_entry(w, i, idx, w->ck.entry_buf, len);
    }
}

void sim_check_logs(sim_world *w)
{
    for (uint16_t i = 0; i < w->n_nodes && !w->ck.failed; i++)
        if (sim_is_honest(w, i) && w->node[i].up)
            read_log(w, i);
}

/* ---- after a restart ----------------------------------------------------------------- */

/* The order hash of slot (account, seq)'s certificate at node i, if any. */
static bool slot_cert_hash(sim_world *w, uint16_t i, const uint8_t account[32], uint64_t seq,
                           uint8_t hash[32])
{
    size_t len = 0;
    if (vl_core_get_slot_cert(w->node[i].core, account, seq, w->ck.entry_buf, SIM_ENTRY_CAP,
                              &len) != VL_OK ||
        vl_cert_decode(w->ck.entry_buf, len, w->ck.cert) != VL_OK)
        return false;
    vl_order_hash(hash, &w->ck.cert->order);
    return true;
}

/* Every vote the node ever sent is still recorded: the lock on that order,
 * or a certificate for the slot (then no other vote can follow either). */
static void check_votes_kept(sim_world *w, uint16_t i)
{
    sim_map *v = &w->ck.node[i].votes;
    for (uint32_t k = 0; k < v->cap && !w->ck.failed; k++) {
        if (!v->used[k])
            continue;
        const sim_order *o = &w->ck.orders[v->vals[k]];
        uint8_t h[32];
        vl_err e = vl_core_get_lock(w->node[i].core, o->account, o->seq, h);
        if (e == VL_OK && memcmp(h, o->hash, 32) == 0)
            continue;
        bool locked_other = e == VL_OK;
        if (slot_cert_hash(w, i, o->account, o->seq, h))
            continue;
        char acc[17], oh[17];
        sim_hex8(acc, o->account);
        sim_hex8(oh, o->hash);
        sim_fail(w, SIM_INV_DURABILITY, "node %u after restart %u forgot its vote for order %s "
                 "at slot (account %s, seq %llu): %s, and no certificate for the slot", i,
                 w->node[i].restarts, oh, acc, (unsigned long long)o->seq,
                 locked_other ? "locked on a DIFFERENT order" : "no lock");
    }
}

/* Every certificate the node sent a client is in its store. */
static void check_replies_kept(sim_world *w, uint16_t i)
{
    sim_nodecheck *nc = &w->ck.node[i];
    for (uint32_t r = 0; r < nc->n_replies && !w->ck.failed; r++) {
        const sim_order *o = &w->ck.orders[nc->replies[r]];
        uint8_t h[32];
        if (slot_cert_hash(w, i, o->account, o->seq, h) && memcmp(h, o->hash, 32) == 0)
            continue;
        char acc[17], oh[17];
        sim_hex8(acc, o->account);
        sim_hex8(oh, o->hash);
        sim_fail(w, SIM_INV_DURABILITY, "node %u after restart %u has no certificate for order "
                 "%s at slot (account %s, seq %llu), which it sent to a client", i,
                 w->node[i].restarts, oh, acc, (unsigned long long)o->seq);
    }
}

void sim_check_restart(sim_world *w, uint16_t i)
{
    sim_nodecheck *nc = &w->ck.node[i];
    if (!sim_is_honest(w, i))
        return;
    if (nc->log_read > 0) {
        size_t len = 0;
        vl_entry e;
        uint8_t ch[32], eh[32];
        if (vl_core_get_entry(w->node[i].core, nc->log_read, w->ck.entry_buf, SIM_ENTRY_CAP,
                              &len) != VL_OK ||
            vl_entry_decode(w->ck.entry_buf, len, &e) != VL_OK) {
            sim_fail(w, SIM_INV_DURABILITY, "node %u after restart %u lost log entry %llu", i,
                     w->node[i].restarts, (unsigned long long)nc->log_read);
            return;
        }
        vl_cert_hash(ch, e.cert.ptr, e.cert.len);
        vl_entry_hash(eh, e.index, e.prev_hash, ch);
        if (memcmp(eh, nc->last_hash, 32) != 0) {
            sim_fail(w, SIM_INV_DURABILITY, "node %u after restart %u: log entry %llu changed",
                     i, w->node[i].restarts, (unsigned long long)nc->log_read);
            return;
        }
    }
    check_votes_kept(w, i);
    check_replies_kept(w, i);
}

/* ---- after healing: convergence and liveness -------------------------------------------- */

/* Inside its validity window, with margin, from the order's creation to now:
 * every honest voter accepts it on time whenever asked. */
static bool window_open_all_along(const sim_world *w, const sim_acct *a, const sim_order *o)
{
    uint64_t created_ms = SIM_T0_MS + o->created_step * SIM_STEP_MS;
    return a->valid_from_s * 1000 + MARGIN_MS <= created_ms &&
           w->now_ms + MARGIN_MS <= a->valid_until_s * 1000;
}

/* Must this honest client's order have completed?  Yes unless it is one of a
 * double-signed pair, its slot went to another order, or the rules refuse it
 * in the certified state (or may, near a validity-window edge). */
static bool order_required(sim_world *w, int32_t idx)
{
    const sim_order *o = &w->ck.orders[idx];
    if (!(o->flags & SIM_ORD_HONEST) || (o->flags & SIM_ORD_DOUBLE) || o->seq >= SIM_MAX_SEQ)
        return false;
    sim_acct *a = acct_get(w, o->account, false);
    if (a == NULL)
        return false;
    if (a->slot[o->seq] >= 0)
        return a->slot[o->seq] == idx;
    for (uint64_t q = 0; q < o->seq; q++)
        if (a->slot[q] < 0)
            return false; /* clients sign seq s only after seeing s-1 certified */
    if (o->kind == VL_ORDER_ISSUE) {
        uint64_t issued = issuer_issued(w, a, o->seq);
        return issued + o->amount_fen <= a->budget_fen + issuer_credited(w, o->issuer);
    }
    if (!a->created)
        return false;
    sim_vsum s;
    voucher_sum(w, a, o->seq, &s);
    if (s.revokes > 0)
        return false;
    if (o->kind == VL_ORDER_REVOKE)
        return true; /* the core revokes at any time, inside the window or not */
    if (!window_open_all_along(w, a, o))
        return false;
    return s.redeemed_fen <= a->face_fen && o->amount_fen <= a->face_fen - s.redeemed_fen;
}

static bool same_digests(sim_world *w, uint16_t a, uint16_t b, bool report)
{
    static uint8_t ba[256][32], bb[256][32];
    uint8_t da[32], db[32];
    vl_core_get_digests(w->node[a].core, ba, da);
    vl_core_get_digests(w->node[b].core, bb, db);
    if (memcmp(da, db, 32) == 0 && memcmp(ba, bb, sizeof ba) == 0)
        return true;
    if (report)
        sim_fail(w, SIM_INV_CONVERGENCE, "nodes %u and %u differ after healing: state digests "
                 "%s, logs of %u and %u certificates", a, b,
                 memcmp(da, db, 32) == 0 ? "equal (buckets differ)" : "differ",
                 w->ck.node[a].n_list, w->ck.node[b].n_list);
    return false;
}

static bool same_sets(sim_world *w, uint16_t a, uint16_t b, bool report)
{
    const sim_nodecheck *na = &w->ck.node[a], *nb = &w->ck.node[b];
    for (uint32_t k = 0; k < na->n_list; k++) {
        sim_key key = sim_key_of(w->ck.orders[na->list[k]].hash, 0);
        if (!sim_map_get(&nb->applied, &key, NULL)) {
            if (report) {
                char h[17];
                sim_hex8(h, key.id);
                sim_fail(w, SIM_INV_CONVERGENCE, "after healing node %u applied order %s, node "
                         "%u did not (%u vs %u certificates)", a, h, b, na->n_list, nb->n_list);
            }
            return false;
        }
    }
    return true; /* called both ways: mutual inclusion, and no log holds an order twice */
}

/* The node's bucket digests are the XOR of the order hashes of its log. */
static void check_buckets(sim_world *w, uint16_t i)
{
    static uint8_t mine[256][32], core[256][32];
    uint8_t digest[32];
    memset(mine, 0, sizeof mine);
    const sim_nodecheck *nc = &w->ck.node[i];
    for (uint32_t k = 0; k < nc->n_list; k++) {
        const sim_order *o = &w->ck.orders[nc->list[k]];
        for (int b = 0; b < 32; b++)
            mine[o->account[0]][b] ^= o->hash[b];
    }
    vl_core_get_digests(w->node[i].core, core, digest);
    for (int b = 0; b < 256; b++)
        if (memcmp(mine[b], core[b], 32) != 0) {
            sim_fail(w, SIM_INV_CONVERGENCE, "node %u: bucket digest %02x is not the XOR of "
                     "the order hashes in its log", i, b);
            return;
        }
}

/* A certificate a node sent a client before it could apply it is in its
 * log once everything healed. */
static void check_owed(sim_world *w, uint16_t i)
{
    const sim_nodecheck *nc = &w->ck.node[i];
    for (uint32_t r = 0; r < nc->n_owed && !w->ck.failed; r++) {
        const sim_order *o = &w->ck.orders[nc->owed[r]];
        sim_key key = sim_key_of(o->hash, 0);
        if (sim_map_get(&nc->applied, &key, NULL))
            continue;
        char h[17];
        sim_hex8(h, o->hash);
        sim_fail(w, SIM_INV_DURABILITY, "node %u sent a client the certificate of order %s "
                 "but never applied it", i, h);
    }
}

static bool live(sim_world *w, uint16_t ref, bool report)
{
    const sim_nodecheck *nc = &w->ck.node[ref];
    for (uint32_t k = 0; k < w->ck.n_orders; k++) {
        if (!order_required(w, (int32_t)k))
            continue;
        const sim_order *o = &w->ck.orders[k];
        sim_key key = sim_key_of(o->hash, 0);
        if (sim_map_get(&nc->applied, &key, NULL))
            continue;
        if (report) {
            char h[17], acc[17];
            sim_hex8(h, o->hash);
            sim_hex8(acc, o->account);
            const sim_actor *ac = o->actor >= 0 ? &w->actor[o->actor] : NULL;
            sim_fail(w, SIM_INV_LIVENESS, "honest order %s (kind %u, account %s, seq %llu, "
                     "%llu fen, signed at step %llu) valid but not certified after healing; "
                     "client's last error: %s", h, o->kind, acc, (unsigned long long)o->seq,
                     (unsigned long long)o->amount_fen, (unsigned long long)o->created_step,
                     ac != NULL ? vl_err_name(ac->last_err) : "-");
        }
        return false;
    }
    return true;
}

bool sim_check_settled(sim_world *w, bool report)
{
    int ref = -1;
    for (uint16_t i = 0; i < w->n_nodes; i++) {
        if (!sim_is_honest(w, i))
            continue;
        if (!w->node[i].up) {
            if (report)
                sim_fail(w, SIM_INV_SIM, "node %u is down after healing", i);
            return false;
        }
        if (ref < 0) {
            ref = i;
            continue;
        }
        if (!same_digests(w, (uint16_t)ref, i, report) ||
            !same_sets(w, (uint16_t)ref, i, report) || !same_sets(w, i, (uint16_t)ref, report))
            return false;
    }
    if (ref < 0)
        return true;
    if (report)
        for (uint16_t i = 0; i < w->n_nodes && !w->ck.failed; i++)
            if (sim_is_honest(w, i)) {
                check_buckets(w, i);
                check_owed(w, i);
            }
    return live(w, (uint16_t)ref, report) && !w->ck.failed;
}

/* ---- votes cast without a VOTE_REPLY ------------------------------------------------- */

/* A voter coordinating a client's order votes for it locally: no message
 * shows that vote until a certificate does.  Its lock does: after a step,
 * each slot a client SUBMIT named is looked up, and the lock found is a vote
 * the node cast. */
void sim_check_after_step(sim_world *w, uint16_t i, const vl_input *in, size_t n)
{
    if (!sim_is_honest(w, i) || !w->node[i].voter || w->node[i].core == NULL)
        return;
    vl_msg *m = &w->ck.msg;
    for (size_t k = 0; k < n && !w->ck.failed; k++) {
        if (in[k].kind != VL_IN_CLIENT || vl_msg_decode(in[k].data, in[k].len, m) != VL_OK ||
            m->type != VL_MSG_CLIENT_REQUEST || m->req_kind != VL_REQ_SUBMIT ||
            vl_order_decode(m->items[0].ptr, m->items[0].len, w->ck.order) != VL_OK)
            continue;
        uint8_t account[32], h[32];
        vl_order_account(account, w->ck.order);
        if (vl_core_get_lock(w->node[i].core, account, w->ck.order->seq, h) != VL_OK)
            continue;
        int32_t idx = sim_check_find(w, h);
        if (idx < 0) {
            char hh[17];
            sim_hex8(hh, h);
            sim_fail(w, SIM_INV_VALIDITY, "honest node %u holds a lock on order %s that no "
                     "client signed", i, hh);
            return;
        }
        record_vote(w, i, idx, "its lock after a client SUBMIT");
    }
}
