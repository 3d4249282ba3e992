/* vl_vote.c - the voter (DESIGN.md 5.2): decisions, durable locks, and the
 * one batch vote of a step.  Design notes: vl_core.c (notes 1-4, 9).
 *
 * Performance notes (docs/performance.md, "Changes and their effect"):
 *  P1. vl_decide checks the order's signatures through the node's
 *      signature cache (vl_verify.c note 4), so the certificate of an order
 *      this voter voted on costs no order-signature check when it is
 *      applied.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "vl_core_int.h"

#define BATCH_SLOTS (2u * VL_MAX_BATCH_ORDERS)
#define LOCK_HEADER 40u /* time locked or last re-driven (u64 BE) || order hash */

/* ---- the step's batch ----------------------------------------------------------- */

static uint32_t batch_slot(const uint8_t hash[32])
{
    uint32_t h = (uint32_t)hash[0] | (uint32_t)hash[1] << 8 | (uint32_t)hash[2] << 16;
    return h % BATCH_SLOTS;
}

/* Index+1 of hash in the batch, or 0; *slot is where it is or would go. */
static uint32_t batch_find(const vl_core *c, const uint8_t hash[32], uint32_t *slot)
{
    uint32_t s = batch_slot(hash);
    /* The table is at most half full: a probe ends within BATCH_SLOTS. */
    for (uint32_t i = 0; i < BATCH_SLOTS; i++, s = (s + 1u) % BATCH_SLOTS) {
        uint16_t v = c->batch_index[s];
        if (v == 0 || memcmp(c->batch[v - 1u], hash, 32) == 0) {
            *slot = s;
            return v;
        }
    }
    assert(0 && "batch index full");
    return 0;
}

static bool batch_room(const vl_core *c, const uint8_t hash[32])
{
    uint32_t slot;
    return batch_find(c, hash, &slot) != 0 || c->batch_count < VL_MAX_BATCH_ORDERS;
}

/* Put hash in the batch (once).  Callers checked batch_room. */
static void batch_add(vl_core *c, const uint8_t hash[32])
{
    uint32_t slot;
    if (batch_find(c, hash, &slot) != 0)
        return;
    assert(c->batch_count < VL_MAX_BATCH_ORDERS);
    memcpy(c->batch[c->batch_count], hash, 32);
    c->batch_count++;
    c->batch_index[slot] = (uint16_t)c->batch_count;
}

/* ---- decisions ---------------------------------------------------------------------- */

void vl_decision_free(vl_decision *d)
{
    if (d == NULL)
        return;
    free(d->evidence);
    d->evidence = NULL;
    d->evidence_len = 0;
}

static vl_err decide_reject(vl_decision *d, vl_err code)
{
    d->kind = VL_ANSWER_REJECTED;
    d->code = (uint16_t)code;
    return VL_OK;
}

static vl_err decide_evidence(vl_decision *d, uint8_t kind, vl_bytes ev)
{
    d->kind = kind;
    d->evidence = malloc(ev.len > 0 ? ev.len : 1u);
    if (d->evidence == NULL)
        return VL_ERR_NOMEM;
    memcpy(d->evidence, ev.ptr, ev.len);
    d->evidence_len = ev.len;
    return VL_OK;
}

/* Put the order's vote leaf (vl_vote_leaf: its hash and the signature
 * bytes just checked) in the batch. */
static vl_err decide_vote(vl_core *c, vl_decision *d, const uint8_t leaf[32])
{
    if (!batch_room(c, leaf))
        return decide_reject(d, VL_ERR_UNAVAILABLE); /* ask again next step */
    batch_add(c, leaf);
    d->kind = VL_DECIDE_VOTE;
    return VL_OK;
}

static vl_err lock_get(vl_core *c, const uint8_t slot[40], bool *found, uint8_t hash[32],
                       vl_bytes *order)
{
    MDB_val v;
    VL_TRY(vl_db_get(c->txn, c->st.locks, slot, 40, &v, found));
    if (!*found)
        return VL_OK;
    if (v.mv_size <= LOCK_HEADER || v.mv_size > VL_MAX_MSG_BYTES)
        return VL_ERR_CORRUPT;
    memcpy(hash, (const uint8_t *)v.mv_data + 8, 32);
    *order = (vl_bytes){(const uint8_t *)v.mv_data + LOCK_HEADER,
                        (uint32_t)(v.mv_size - LOCK_HEADER)};
    return VL_OK;
}

vl_err vl_lock_put(vl_core *c, const uint8_t slot[40], const uint8_t hash[32],
                  const uint8_t *raw, size_t len)
{
    /* re-drive level 0 in the time's low bits (vl_coord.c, redrive_locks) */
    uint64_t level_mask = (1u << VL_REDRIVE_LEVEL_BITS) - 1u;
    return vl_lock_put_at(c, slot, hash, raw, len, c->now_ms & ~level_mask);
}

/* The lock with its time field set to at_ms (the re-drive backoff sets a
 * time ahead of now: vl_coord.c, redrive_locks). */
vl_err vl_lock_put_at(vl_core *c, const uint8_t slot[40], const uint8_t hash[32],
                     const uint8_t *raw, size_t len, uint64_t at_ms)
{
    VL_TRY(vl_buf_reserve(c, LOCK_HEADER + len));
    vl_be64_put(c->buf, at_ms);
    memcpy(c->buf + 8, hash, 32);
    memcpy(c->buf + LOCK_HEADER, raw, len);
    return vl_db_put(c->txn, c->st.locks, slot, 40, c->buf, LOCK_HEADER + len, 0, NULL);
}

/* Sequence and rules against the account (locks aside).  *done when d
 * holds an answer. */
static vl_err decide_state(vl_core *c, const vl_order *o, const uint8_t account[32],
                           vl_decision *d, bool *done)
{
    vl_account a;
    uint8_t prog[VL_MAX_LABEL_LEN];
    bool known;
    vl_err verdict;
    *done = true;
    VL_TRY(vl_acct_load(c, c->txn, account, &a, prog, &known));
    if (!known) {
        d->kind = VL_ANSWER_BEHIND; /* the voucher's ISSUE is not here yet */
        d->next_seq = 0;
        return VL_OK;
    }
    if (o->seq < a.next_seq)
        return decide_reject(d, VL_ERR_STALE_SEQ);
    if (o->seq > a.next_seq) {
        d->kind = VL_ANSWER_BEHIND;
        d->next_seq = a.next_seq;
        return VL_OK;
    }
    VL_TRY(vl_rules(c, o, &a, &verdict));
    if (verdict != VL_OK)
        return decide_reject(d, verdict);
    *done = false;
    return VL_OK;
}

/*
 * The voter's decision on one order (note 3 of vl_core.c).  In
 * VL_MODE_VOTE it may write the lock and put the order in the batch; in
 * check mode (an observer coordinating) it stops at PASS.
 */
vl_err vl_decide(vl_core *c, const uint8_t *raw, size_t raw_len, const vl_order *o,
                 const uint8_t hash[32], unsigned mode, vl_decision *d)
{
    assert(c->txn != NULL && raw != NULL && o != NULL && d != NULL);
    memset(d, 0, sizeof *d);
    if ((mode & VL_MODE_VERIFIED) == 0) {
        vl_err v = vl_order_verify_cached(c->g, o, hash, c->cache); /* change 1 */
        if (v != VL_OK)
            return decide_reject(d, v);
    }
    uint8_t account[32], slot[40], locked_hash[32];
    vl_bytes cert, locked_order = {NULL, 0};
    bool found, locked = false, done;
    vl_order_account(account, o);
    vl_slot_key(slot, account, o->seq);
    VL_TRY(vl_slot_cert(c, c->txn, account, o->seq, &found, &cert));
    if (found)
        return decide_evidence(d, VL_ANSWER_CERTIFIED, cert);
    uint8_t leaf[32];
    if ((mode & VL_MODE_VOTE) != 0) {
        vl_vote_leaf(leaf, hash, o); /* once: every vote below uses it */
        VL_TRY(lock_get(c, slot, &locked, locked_hash, &locked_order));
        if (locked && memcmp(locked_hash, hash, 32) == 0)
            return decide_vote(c, d, leaf); /* the same vote again: no write */
    }
    VL_TRY(decide_state(c, o, account, d, &done));
    if (done)
        return VL_OK;
    if ((mode & VL_MODE_VOTE) == 0) {
        d->kind = VL_DECIDE_PASS;
        return VL_OK;
    }
    if (locked) {
#ifdef VL_PLANT_DOUBLE_VOTE
        return decide_vote(c, d, leaf); /* planted: votes for a second order */
#else
        /* No write since lock_get: locked_order still points into the map. */
        return decide_evidence(d, VL_ANSWER_CONFLICT, locked_order);
#endif
    }
    if (!batch_room(c, leaf))
        return decide_reject(d, VL_ERR_UNAVAILABLE);
#ifndef VL_PLANT_UNPERSISTED_LOCK
    VL_TRY(vl_lock_put(c, slot, hash, raw, raw_len)); /* committed before the vote leaves */
#else
    (void)raw_len; /* planted: the vote leaves with nothing durable behind it */
#endif
    return decide_vote(c, d, leaf);
}

/* ---- VOTE_REQUEST ----------------------------------------------------------------- */

static vl_err answer_push(vl_peer_step *ps, const uint8_t hash[32], vl_decision *d)
{
    if (ps->answers == NULL) {
        ps->answers = calloc(VL_PEER_ANSWERS_MAX, sizeof *ps->answers);
        if (ps->answers == NULL) {
            vl_decision_free(d);
            return VL_ERR_NOMEM;
        }
    }
    if (ps->answer_count >= VL_PEER_ANSWERS_MAX) {
        vl_decision_free(d); /* the coordinator asks again */
        return VL_OK;
    }
    vl_answer *a = &ps->answers[ps->answer_count++];
    memset(a, 0, sizeof *a);
    memcpy(a->order_hash, hash, 32);
    a->kind = d->kind;
    a->code = d->code;
    a->next_seq = d->next_seq;
    a->evidence = (vl_bytes){d->evidence, d->evidence_len}; /* ownership moves */
    d->evidence = NULL;
    return VL_OK;
}

/* A bad input of peer's (vl_core.c note 28); proof: it is faulty. */
static void peer_fault(vl_core *c, uint16_t peer, bool proof)
{
    vl_bad_input(c);
    c->mem.peer_bad[peer]++;
    if (proof)
        c->mem.peer_faulty_ms[peer] = vl_sat_add(c->now_ms, 1u);
}

vl_err vl_on_vote_request(vl_core *c, uint16_t peer, const vl_msg *m)
{
    if (vl_peer_penalized(c, peer)) { /* note 28: dropped unread, no answer */
        peer_fault(c, peer, false);
        return VL_OK;
    }
    vl_peer_step *ps = &c->peers[peer];
    ps->active = true;
    ps->req_id = m->req_id;
    for (uint32_t i = 0; i < m->item_count; i++) {
        vl_bytes it = m->items[i];
        uint8_t hash[32];
        vl_decision d = {0};
        if (vl_order_decode(it.ptr, it.len, c->vord) != VL_OK) {
            peer_fault(c, peer, false);
            continue;
        }
        vl_order_hash(hash, c->vord);
        if (!c->voter)
            decide_reject(&d, VL_ERR_NOT_VOTER);
        else
            VL_TRY(vl_decide(c, it.ptr, it.len, c->vord, hash, VL_MODE_VOTE, &d));
        if (memcmp(c->vord->network_id, c->g->network_id, 32) != 0) /* vl_core.c note 27 */
            c->mem.asked_foreign |= VL_BIT(peer);
        else
            c->mem.asked_foreign &= ~VL_BIT(peer);
        if (d.kind == VL_DECIDE_VOTE)
            ps->voted = true;
        else
            VL_TRY(answer_push(ps, hash, &d));
        if (d.kind == VL_ANSWER_REJECTED && d.code == VL_ERR_BAD_SIG) {
            peer_fault(c, peer, true); /* note 28: the rest is not read */
            break;
        }
    }
    return VL_OK;
}

vl_err vl_on_vote_request_refused(vl_core *c, uint16_t peer, const vl_msg *m, vl_err code)
{
    vl_peer_step *ps = &c->peers[peer];
    ps->active = true;
    ps->req_id = m->req_id;
    for (uint32_t i = 0; i < m->item_count; i++) {
        uint8_t hash[32];
        vl_decision d = {0};
        if (vl_order_decode(m->items[i].ptr, m->items[i].len, c->vord) != VL_OK) {
            vl_bad_input(c);
            continue;
        }
        vl_order_hash(hash, c->vord);
        if (memcmp(c->vord->network_id, c->g->network_id, 32) != 0) /* vl_core.c note 27 */
            c->mem.asked_foreign |= VL_BIT(peer);
        else
            c->mem.asked_foreign &= ~VL_BIT(peer);
        decide_reject(&d, c->voter ? code : VL_ERR_NOT_VOTER);
        VL_TRY(answer_push(ps, hash, &d));
    }
    return VL_OK;
}

/* ---- Merkle paths ------------------------------------------------------------------- */

static uint32_t split_point(uint32_t n)
{
    uint32_t k = 1;
    while (k * 2u < n)
        k *= 2u;
    return k;
}

/* Fill, for every wanted leaf of leaves[lo, lo+n), the path element of
 * this level (index path_len-1-depth: paths are nearest-the-leaf first).
 * Each level hashes its range once, so all paths cost O(n log n) hashes
 * where vl_merkle_path per leaf would cost O(n) each.  The shape (split at
 * the largest power of two below n) is RFC 6962's, as vl_crypto.h says;
 * every path is checked against vl_merkle_root_from_path by its user. */
static void paths_rec(vl_core *c, const uint8_t (*leaves)[32], uint32_t total, uint32_t lo,
                      uint32_t n, uint32_t depth)
{
    if (n <= 1)
        return;
    assert(depth < VL_MAX_MERKLE_DEPTH);
    bool any = false;
    for (uint32_t i = lo; i < lo + n && !any; i++)
        any = c->want[i] != 0;
    if (!any)
        return;
    uint32_t k = split_point(n);
    uint8_t left[32], right[32];
    vl_merkle_root(left, leaves + lo, k);
    vl_merkle_root(right, leaves + lo + k, n - k);
    for (uint32_t i = lo; i < lo + n; i++) {
        if (c->want[i] == 0)
            continue;
        uint32_t len = vl_merkle_path_len(i, total);
        assert(len > depth);
        memcpy(c->paths[i][len - 1u - depth], i < lo + k ? right : left, 32);
    }
    paths_rec(c, leaves, total, lo, k, depth + 1u);
    paths_rec(c, leaves, total, lo + k, n - k, depth + 1u);
}

void vl_batch_paths(vl_core *c, const uint8_t (*leaves)[32], uint32_t n)
{
    assert(n >= 1 && n <= VL_MAX_BATCH_ORDERS);
    paths_rec(c, leaves, n, 0, n, 0);
}

/* ---- finishing the batch ------------------------------------------------------------ */

/* Our own votes on orders we coordinate: the same batch, the same root. */
static vl_err own_votes(vl_core *c, const uint8_t root[32], const uint8_t sig[64])
{
    uint32_t n = c->batch_count, wanted = 0;
    for (uint32_t i = 0; i < n; i++) {
        c->want[i] = vl_coord_tracks(c, c->batch[i], c->self) ? 1u : 0u;
        wanted += c->want[i];
    }
    if (wanted == 0)
        return VL_OK;
    vl_batch_paths(c, (const uint8_t(*)[32])c->batch, n);
    for (uint32_t i = 0; i < n; i++) {
        if (c->want[i] == 0)
            continue;
        uint32_t len = vl_merkle_path_len(i, n);
        uint8_t check[32];
        vl_err e = vl_merkle_root_from_path(check, c->batch[i], i, n,
                                            (const uint8_t(*)[32])c->paths[i], len);
        assert(e == VL_OK && memcmp(check, root, 32) == 0);
        (void)e;
        VL_TRY(vl_coord_add_vote(c, c->batch[i], c->self, i, n,
                                 (const uint8_t(*)[32])c->paths[i], len, sig));
    }
    return VL_OK;
}

static size_t answer_size(const vl_answer *a)
{
    return VL_ITEM_OVERHEAD + a->evidence.len;
}

/* VOTE_REPLY(s) to one requester: the whole batch and its signature (when
 * any of its orders is in it), then its answers, split to fit. */
static vl_err reply_peer(vl_core *c, uint16_t p, const uint8_t sig[64])
{
    vl_peer_step *ps = &c->peers[p];
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_VOTE_REPLY;
    m.req_id = ps->req_id;
    m.from = c->self;
    if (ps->voted && c->batch_count > 0) {
        m.leaves = c->batch;
        m.leaf_count = c->batch_count;
        memcpy(m.vote_sig, sig, 64);
    }
    uint32_t i = 0;
    /* Each round sends at least one answer or the leaves: ends within
     * answer_count + 1 rounds. */
    for (uint32_t round = 0; round <= ps->answer_count; round++) {
        size_t bytes = 32u * (size_t)m.leaf_count;
        uint32_t n = 0;
        while (i + n < ps->answer_count && n < VL_MAX_MSG_ITEMS &&
               (n == 0 || bytes + answer_size(&ps->answers[i + n]) <= VL_LIST_BUDGET))
            bytes += answer_size(&ps->answers[i + n++]);
        if (n == 0 && m.leaf_count == 0)
            break;
        m.answers = ps->answers + i;
        m.answer_count = n;
        VL_TRY(vl_stage_msg(c, VL_OUT_PEER, p, 0, &m));
        i += n;
        m.leaves = NULL;
        m.leaf_count = 0;
        if (i >= ps->answer_count)
            break;
    }
    return VL_OK;
}

vl_err vl_batch_finish(vl_core *c)
{
    uint8_t sig[64] = {0};
    if (c->batch_count > 0) {
        uint8_t root[32], msg[32];
        vl_merkle_root(root, (const uint8_t(*)[32])c->batch, c->batch_count);
        vl_vote_message(msg, root);
        /* aux_rand NULL: the deterministic BIP-340 variant (note 4). */
        vl_sign(sig, &c->key, msg, NULL);
        c->mem.votes_sent += c->batch_count;
        c->own_voting = true; /* note 24: what forms here carries a vote of this step */
        vl_err e = own_votes(c, root, sig);
        c->own_voting = false;
        VL_TRY(e);
    }
    for (uint32_t p = 0; p < c->g->node_count; p++)
        if (c->peers[p].active)
            VL_TRY(reply_peer(c, (uint16_t)p, sig));
    return VL_OK;
}
