/* vl_serve.c - answers (log, accounts, status, checkpoints), the sync of
 * peers' logs, and checkpoints (DESIGN.md 6).  Design notes: vl_core.c
 * (notes 15-18).
 *
 * Lists are gathered as vl_bytes borrowed from the map and staged (encoded,
 * copied) before any write: LMDB values stay valid until the next write.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vl_core_int.h"

static const vl_bytes no_evidence = {NULL, 0};

/* Add an item of len bytes to a list of *bytes if it stays within budget;
 * under a budget smaller than VL_LIST_BUDGET (a client's page) the first
 * item always goes, so a client paging a log always moves on. */
static bool fits_in(size_t *bytes, uint32_t len, size_t budget)
{
    if (*bytes + len + VL_ITEM_OVERHEAD > budget && (*bytes != 0 || budget >= VL_LIST_BUDGET))
        return false;
    *bytes += len + VL_ITEM_OVERHEAD;
    return true;
}

/* ---- gathering ----------------------------------------------------------------- */

/* The origin ISSUE certificate of a voucher, if this node has it. */
static vl_err origin_cert(vl_core *c, MDB_txn *t, const uint8_t voucher[32], bool *found,
                          vl_bytes *cert)
{
    MDB_val v;
    uint8_t slot[40];
    VL_TRY(vl_db_get(t, c->st.origin, voucher, 32, &v, found));
    if (!*found)
        return VL_OK;
    if (v.mv_size != 40)
        return VL_ERR_CORRUPT;
    memcpy(slot, v.mv_data, 40);
    return vl_slot_cert(c, t, slot, vl_be64_get(slot + 32), found, cert);
}

/* Certificates of account, seq in [from_seq, to_seq), into c->items:
 * at most max of them and about budget bytes (at least one). */
static vl_err gather_account(vl_core *c, MDB_txn *t, const uint8_t account[32],
                             uint64_t from_seq, uint64_t to_seq, bool with_origin, uint32_t max,
                             size_t budget, uint32_t *n)
{
    size_t bytes = 0;
    bool found;
    vl_bytes cert;
    *n = 0;
    if (with_origin && from_seq == 0 && vl_issuer_by_account(c, account) < 0) {
        VL_TRY(origin_cert(c, t, account, &found, &cert));
        if (found && fits_in(&bytes, cert.len, budget))
            c->items[(*n)++] = cert;
    }
    for (uint64_t s = from_seq; s < to_seq && *n < max; s++) {
        VL_TRY(vl_slot_cert(c, t, account, s, &found, &cert));
        if (!found || !fits_in(&bytes, cert.len, budget))
            break;
        c->items[(*n)++] = cert;
    }
    return VL_OK;
}

/* Log entries from `from` (1 if 0), at most max and about budget bytes,
 * into c->items. */
static vl_err gather_log(vl_core *c, MDB_txn *t, uint64_t from, uint32_t max, size_t budget,
                         uint32_t *n)
{
    size_t bytes = 0;
    *n = 0;
    if (from == 0)
        from = 1;
    if (max > VL_MAX_MSG_ITEMS)
        max = VL_MAX_MSG_ITEMS;
    for (uint64_t i = from; i <= c->mem.head && *n < max; i++) {
        uint8_t key[8];
        MDB_val v;
        bool found;
        vl_be64_put(key, i);
        VL_TRY(vl_db_get(t, c->st.log, key, sizeof key, &v, &found));
        if (!found || v.mv_size > VL_MAX_MSG_BYTES)
            return VL_ERR_CORRUPT;
        if (!fits_in(&bytes, (uint32_t)v.mv_size, budget))
            break;
        c->items[(*n)++] = (vl_bytes){v.mv_data, (uint32_t)v.mv_size};
    }
    return VL_OK;
}

/* ---- peer requests ---------------------------------------------------------------- */

/* Note 16: the bytes a page for peer may take (false, and the request
 * counted as skipped, when less than VL_CORE_REPLY_MIN remains). */
static bool reply_room(vl_core *c, uint16_t peer, size_t *budget)
{
    uint64_t room = c->reply_budget[peer];
    if (room < VL_CORE_REPLY_MIN) {
        c->replies_skipped[peer]++;
        return false;
    }
    *budget = room < VL_LIST_BUDGET ? (size_t)room : VL_LIST_BUDGET;
    return true;
}

/* ... and take the n items in c->items off it. */
static void reply_spent(vl_core *c, uint16_t peer, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += c->items[i].len + VL_ITEM_OVERHEAD;
    uint64_t *room = &c->reply_budget[peer];
    *room = bytes >= *room ? 0 : *room - bytes;
}

vl_err vl_send_account_certs(vl_core *c, uint16_t peer, const uint8_t account[32],
                             uint64_t from_seq, uint64_t to_seq, uint32_t *sent)
{
    uint32_t n;
    size_t budget;
    *sent = 0;
    if (!reply_room(c, peer, &budget))
        return VL_OK;
    VL_TRY(gather_account(c, c->txn, account, from_seq, to_seq, true, VL_MAX_MSG_ITEMS,
                          budget, &n));
    reply_spent(c, peer, n);
    *sent = n;
    if (n == 0)
        return VL_OK;
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_CERTS;
    m.req_id = c->next_req_id++;
    m.from = c->self;
    m.items = c->items;
    m.item_count = n;
    return vl_stage_msg(c, VL_OUT_PEER, peer, 0, &m);
}

vl_err vl_on_account_request(vl_core *c, uint16_t peer, const vl_msg *m)
{
    uint32_t sent;
    return vl_send_account_certs(c, peer, m->account_id, m->from_seq, UINT64_MAX, &sent);
}

/* A LOG_REPLY or SUMMARY_REPLY to request m with the n items in c->items. */
static vl_err send_log_list(vl_core *c, uint16_t peer, const vl_msg *m, uint8_t type, uint32_t n)
{
    vl_msg r;
    vl_msg_init(&r, NULL);
    r.type = type;
    r.req_id = m->req_id;
    r.from = c->self;
    r.log_head = c->mem.head;
    r.items = c->items;
    r.item_count = n;
    return vl_stage_msg(c, VL_OUT_PEER, peer, 0, &r);
}

vl_err vl_on_log_request(vl_core *c, uint16_t peer, const vl_msg *m)
{
    uint32_t n;
    size_t budget;
    if (!reply_room(c, peer, &budget))
        return VL_OK;
    VL_TRY(gather_log(c, c->txn, m->from_index, m->max_items, budget, &n));
    reply_spent(c, peer, n);
    return send_log_list(c, peer, m, VL_MSG_LOG_REPLY, n);
}

/* LOG_REQUEST (full entries) or SUMMARY_REQUEST from the cursor into
 * peer's log (note 15). */
static vl_err send_sync_request(vl_core *c, uint16_t peer, uint8_t type)
{
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = type;
    m.req_id = c->next_req_id++;
    m.from = c->self;
    m.from_index = c->mem.cursors[peer].next;
    m.max_items = c->cfg.sync_batch;
    return vl_stage_msg(c, VL_OUT_PEER, peer, 0, &m);
}

/* Entry `index` of this node's log, decoded (borrowing from the map). */
static vl_err entry_get(vl_core *c, MDB_txn *t, uint64_t index, vl_entry *e)
{
    uint8_t key[8];
    MDB_val v;
    bool found;
    vl_be64_put(key, index);
    VL_TRY(vl_db_get(t, c->st.log, key, sizeof key, &v, &found));
    if (!found || v.mv_size > VL_MAX_MSG_BYTES ||
        vl_entry_decode(v.mv_data, v.mv_size, e) != VL_OK || e->index != index)
        return VL_ERR_CORRUPT;
    return VL_OK;
}

/* The summary of entry `index`: from the ring (vl_state.c log_append) for
 * the log's tail, else read and decoded, and its certificate hashed. */
static vl_err summarize(vl_core *c, MDB_txn *t, uint64_t index, vl_summary *sum)
{
    const vl_summary *r = &c->ring[index % VL_SUMMARY_RING];
    vl_entry e;
    uint8_t cert_hash[32];
    if (r->index == index) {
        *sum = *r;
        return VL_OK;
    }
    VL_TRY(entry_get(c, t, index, &e));
    if (vl_cert_decode(e.cert.ptr, e.cert.len, c->acert) != VL_OK)
        return VL_ERR_CORRUPT;
    memset(sum, 0, sizeof *sum);
    sum->index = index;
    sum->time_ms = e.time_ms;
    vl_cert_hash(cert_hash, e.cert.ptr, e.cert.len);
    vl_entry_hash(sum->entry_hash, index, e.prev_hash, cert_hash);
    vl_order_account(sum->account, &c->acert->order);
    sum->seq = c->acert->order.seq;
    vl_order_hash(sum->order_hash, &c->acert->order);
    return VL_OK;
}

/* Summaries of the log from `from` (1 if 0), at most max, encoded into
 * c->sums and listed in c->items. */
static vl_err gather_summaries(vl_core *c, MDB_txn *t, uint64_t from, uint32_t max, uint32_t *n)
{
    *n = 0;
    if (from == 0)
        from = 1;
    if (max > VL_MAX_MSG_ITEMS)
        max = VL_MAX_MSG_ITEMS;
    for (uint64_t i = from; i <= c->mem.head && *n < max; i++) {
        vl_summary sum;
        size_t len;
        uint8_t *out = c->sums + (size_t)*n * VL_SUMMARY_BYTES;
        VL_TRY(summarize(c, t, i, &sum));
        vl_err err = vl_summary_encode(&sum, out, VL_SUMMARY_BYTES, &len);
        assert(err == VL_OK && len == VL_SUMMARY_BYTES && "a summary encodes");
        (void)err;
        c->items[(*n)++] = (vl_bytes){out, VL_SUMMARY_BYTES};
    }
    return VL_OK;
}

vl_err vl_on_summary_request(vl_core *c, uint16_t peer, const vl_msg *m)
{
    uint32_t n;
    size_t budget; /* a page of summaries is at most 1,024 x (122 + 64) bytes */
    if (!reply_room(c, peer, &budget))
        return VL_OK;
    size_t fit = budget / (VL_SUMMARY_BYTES + VL_ITEM_OVERHEAD);
    uint32_t max = fit < m->max_items ? (uint32_t)fit : m->max_items;
    VL_TRY(gather_summaries(c, c->txn, m->from_index, max, &n));
    reply_spent(c, peer, n);
    return send_log_list(c, peer, m, VL_MSG_SUMMARY_REPLY, n);
}

/* Peer clocks.  An entry of a peer's log for a certificate this node
 * already holds gives two times of one event: when the peer applied it (by
 * its clock) and when this node did (by ours).  Both apply a freshly formed
 * certificate within moments of each other (it is broadcast), so the
 * difference is the offset of the two clocks plus how late either applied
 * it.  Only entries among the last CLOCK_SAMPLE_TAIL of the peer's log that
 * this node applied at most CLOCK_SAMPLE_RECENT_MS ago are sampled (an old
 * backlog says nothing about clocks), and a reply's measure is its sample
 * smallest in magnitude: lateness only ever adds to it.  Times come in as
 * data (entries, now_ms): no clock is read here.  The node compares the
 * result with clock_skew_ms (node/voucherd.c, event=clock_skew). */
#define CLOCK_SAMPLE_TAIL 64u
#define CLOCK_SAMPLE_RECENT_MS 60000u

typedef struct {
    bool have;
    int64_t best_ms;
    uint32_t taken; /* samples taken from this reply */
} clock_pick;

/* At most this many samples per reply: each reads and decodes one of our
 * entries, and a full reply is mostly the tail. */
#define CLOCK_SAMPLES_PER_REPLY 8u

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

/* A sample from entry peer_index of the peer's log (peer_time_ms by its
 * clock) whose certificate is our entry my_index. */
static vl_err clock_sample(vl_core *c, uint64_t peer_index, uint64_t peer_time_ms,
                           uint64_t my_index, uint64_t peer_head, clock_pick *pick)
{
    vl_entry mine;
    if (pick->taken >= CLOCK_SAMPLES_PER_REPLY || peer_index + CLOCK_SAMPLE_TAIL <= peer_head ||
        peer_time_ms > (uint64_t)INT64_MAX)
        return VL_OK;
    pick->taken++;
    VL_TRY(entry_get(c, c->txn, my_index, &mine));
    if (mine.time_ms > (uint64_t)INT64_MAX ||
        vl_elapsed(c->now_ms, mine.time_ms) > CLOCK_SAMPLE_RECENT_MS)
        return VL_OK;
    int64_t d = (int64_t)peer_time_ms - (int64_t)mine.time_ms;
    if (!pick->have || abs64(d) < abs64(pick->best_ms)) {
        pick->best_ms = d;
        pick->have = true;
    }
    return VL_OK;
}

static void clock_keep(vl_core *c, uint16_t peer, const clock_pick *pick)
{
    if (pick->have) {
        c->peer_clock_ms[peer] = pick->best_ms;
        c->peer_clock_at_ms[peer] = c->now_ms > 0 ? c->now_ms : 1u;
    }
}

/* What pull_entry did with one entry. */
typedef enum {
    PULL_SKIPPED,  /* below the cursor: a duplicate reply */
    PULL_STOP,     /* read no further: malformed, a gap, a broken chain, invalid */
    PULL_HELD,     /* we held its certificate already */
    PULL_NEW,      /* applied, pending, fork or evidence: it was news */
} pull_res;

/* One entry of a peer's log at the cursor: chain check, apply, advance. */
static vl_err pull_entry(vl_core *c, uint16_t peer, vl_bytes raw, uint64_t peer_head,
                         clock_pick *pick, pull_res *res)
{
    vl_cursor *cur = &c->mem.cursors[peer];
    vl_entry e;
    vl_apply_info info;
    uint8_t cert_hash[32];
    *res = PULL_STOP;
    if (vl_entry_decode(raw.ptr, raw.len, &e) != VL_OK) {
        vl_bad_input(c);
        return VL_OK;
    }
    if (e.index < cur->next) {
        *res = PULL_SKIPPED;
        return VL_OK;
    }
    if (e.index != cur->next || memcmp(e.prev_hash, cur->hash, 32) != 0) {
        vl_bad_input(c); /* a gap or a broken chain */
        return VL_OK;
    }
    VL_TRY(vl_apply_cert(c, e.cert.ptr, e.cert.len, 0, VL_SRC_NONE, &info));
    if (info.res == VL_APPLY_INVALID)
        return VL_OK; /* counted by the apply; the cursor stays */
    *res = PULL_NEW;
    if (info.res == VL_APPLY_DUPLICATE) {
        *res = PULL_HELD;
        VL_TRY(clock_sample(c, e.index, e.time_ms, info.index, peer_head, pick));
    }
    vl_cert_hash(cert_hash, e.cert.ptr, e.cert.len);
    vl_entry_hash(cur->hash, e.index, e.prev_hash, cert_hash);
    cur->next = e.index + 1u;
    c->mem.sync_pulled++;
    return VL_OK;
}

/* After a reply from peer moved (or not) the cursor into its log: the
 * cursor passing the head the peer reported when it was first seen
 * behind ends that wait; a head at or past the cursor with no wait under
 * way starts one (vl_status_fill counts the waits older than 3 sync
 * intervals, and any wait before the first catch-up since open). */
static void behind_mark(vl_core *c, uint16_t peer)
{
    uint64_t next = c->mem.cursors[peer].next;
    if (c->behind_since_ms[peer] != 0 && next > c->behind_head[peer]) {
        c->behind_since_ms[peer] = 0;
        c->caught_up[peer] = true;
    }
    if (c->peer_head[peer] < next)
        c->caught_up[peer] = true;
    if (c->behind_since_ms[peer] == 0 && c->peer_head[peer] >= next) {
        c->behind_head[peer] = c->peer_head[peer];
        c->behind_since_ms[peer] = c->now_ms > 0 ? c->now_ms : 1u;
    }
}

vl_err vl_on_log_reply(vl_core *c, uint16_t peer, const vl_msg *m)
{
    bool advanced = false;
    pull_res res = PULL_SKIPPED;
    clock_pick pick = {false, 0, 0};
    c->peer_head[peer] = m->log_head;
    c->head_known[peer] = true;
    for (uint32_t i = 0; i < m->item_count && res != PULL_STOP; i++) {
        VL_TRY(pull_entry(c, peer, m->items[i], m->log_head, &pick, &res));
        advanced |= res == PULL_HELD || res == PULL_NEW;
    }
    clock_keep(c, peer, &pick);
    behind_mark(c, peer);
    c->pulling[peer] = false;
    if (!advanced)
        return VL_OK;
    VL_TRY(vl_cursor_save(c, peer));
    uint64_t next = c->mem.cursors[peer].next;
    if (res == PULL_STOP || m->log_head < next)
        return VL_OK;
    /* Catching up: ask for more now.  Whole entries while the last one was
     * news and the peer is more than a batch ahead (a node back from a
     * crash or a partition); else summaries, which skip what the
     * broadcasts brought meanwhile. */
    bool far = m->log_head - next >= c->cfg.sync_batch;
    c->pulling[peer] = res == PULL_NEW && far;
    return send_sync_request(c, peer,
                             c->pulling[peer] ? VL_MSG_LOG_REQUEST : VL_MSG_SUMMARY_REQUEST);
}

/* The entry at the cursor into peer's log holds an order this node lacks.
 * Under load that is mostly a certificate whose broadcast is still on its
 * way (the peer applied it a moment ago), so the cursor waits there: whole
 * entries are asked for only when the same entry is still lacking a sync
 * interval after it was first found lacking.  Until then the next sync
 * tick asks for summaries from the cursor again. */
static vl_err lacking_entry(vl_core *c, uint16_t peer)
{
    uint64_t at = c->mem.cursors[peer].next;
    uint64_t now = c->now_ms > 0 ? c->now_ms : 1u;
    if (c->lack_since_ms[peer] == 0 || c->lack_index[peer] != at) {
        c->lack_index[peer] = at;
        c->lack_since_ms[peer] = now;
        return VL_OK;
    }
    if (vl_elapsed(now, c->lack_since_ms[peer]) < c->cfg.sync_interval_ms)
        return VL_OK;
    c->lack_since_ms[peer] = 0;
    return send_sync_request(c, peer, VL_MSG_LOG_REQUEST);
}

/* Summaries of a peer's log at the cursor (note 15): each one whose order
 * this node holds in its slot moves the cursor on, taking the summary's
 * entry hash as the chain's; at the first one it does not hold (or a slot
 * holding another order: a fork to record) it asks for whole entries from
 * there, which are checked and applied as ever. */
vl_err vl_on_summary_reply(vl_core *c, uint16_t peer, const vl_msg *m)
{
    vl_cursor *cur = &c->mem.cursors[peer];
    bool advanced = false, lacking = false;
    clock_pick pick = {false, 0, 0};
    c->peer_head[peer] = m->log_head;
    c->head_known[peer] = true;
    for (uint32_t i = 0; i < m->item_count; i++) {
        vl_summary sum;
        bool found;
        uint8_t have[32];
        uint64_t mine;
        if (vl_summary_decode(m->items[i].ptr, m->items[i].len, &sum) != VL_OK) {
            vl_bad_input(c); /* the message decoder checked it: not reached */
            break;
        }
        if (sum.index < cur->next)
            continue; /* a duplicate reply */
        if (sum.index != cur->next) {
            vl_bad_input(c); /* a gap */
            break;
        }
        VL_TRY(vl_slot_get(c, c->txn, sum.account, sum.seq, &found, have, &mine));
        if (!found || memcmp(have, sum.order_hash, 32) != 0) {
            lacking = true;
            break;
        }
        VL_TRY(clock_sample(c, sum.index, sum.time_ms, mine, m->log_head, &pick));
        memcpy(cur->hash, sum.entry_hash, 32);
        cur->next = sum.index + 1u;
        c->mem.sync_skipped++;
        advanced = true;
    }
    clock_keep(c, peer, &pick);
    behind_mark(c, peer);
    c->pulling[peer] = false;
    if (advanced)
        VL_TRY(vl_cursor_save(c, peer));
    if (lacking)
        return lacking_entry(c, peer); /* a new index there starts a new wait */
    if (advanced && m->log_head >= cur->next)
        return send_sync_request(c, peer, VL_MSG_SUMMARY_REQUEST);
    return VL_OK;
}

vl_err vl_sync_tick(vl_core *c)
{
    if (c->now_ms < c->mem.next_sync_ms)
        return VL_OK;
    c->mem.next_sync_ms = vl_sat_add(c->now_ms, c->cfg.sync_interval_ms);
    for (uint32_t p = 0; p < c->g->node_count; p++)
        if (p != c->self)
            VL_TRY(send_sync_request(c, (uint16_t)p, VL_MSG_SUMMARY_REQUEST));
    return VL_OK;
}

/* ---- checkpoints --------------------------------------------------------------------- */

vl_err vl_checkpoint_tick(vl_core *c)
{
    if (c->cfg.checkpoint_every_ms == 0 || c->now_ms < c->mem.next_cp_ms)
        return VL_OK;
    c->mem.next_cp_ms = vl_sat_add(c->now_ms, c->cfg.checkpoint_every_ms);
    vl_digest_refresh(c);
    vl_checkpoint cp = {.node = c->self, .log_index = c->mem.head, .time_ms = c->now_ms};
    memcpy(cp.network_id, c->g->network_id, 32);
    memcpy(cp.entry_hash, c->mem.head_hash, 32);
    memcpy(cp.state_digest, c->mem.digest, 32);
    vl_checkpoint_sign(&cp, &c->key, NULL); /* deterministic BIP-340 (note 4) */
    uint8_t buf[256];
    size_t len;
    vl_err e = vl_checkpoint_encode(&cp, buf, sizeof buf, &len);
    assert(e == VL_OK && "checkpoint encodes");
    (void)e;
    VL_TRY(vl_db_put(c->txn, c->st.meta, "checkpoint", 10, buf, len, 0, NULL));
    c->mem.has_checkpoint = true;
    return VL_OK;
}

/* ---- status ---------------------------------------------------------------------------- */

static bool heard_recently(const vl_core *c, uint32_t p)
{
    uint64_t window = vl_sat_add(vl_sat_add(c->cfg.sync_interval_ms, c->cfg.sync_interval_ms),
                                 c->cfg.sync_interval_ms);
    /* last_heard holds time + 1, so 0 means never */
    return c->last_heard[p] != 0 && vl_elapsed(c->now_ms, c->last_heard[p] - 1u) <= window;
}

uint32_t vl_voters_heard(const vl_core *c)
{
    uint32_t n = c->voter && c->refusing == VL_OK ? 1u : 0u; /* note 26 */
    for (uint32_t p = 0; p < c->g->node_count; p++)
        if (p != c->self &&
            (c->voter_mask & ~c->mem.observing & ~c->mem.read_only & ~c->mem.foreign &
             VL_BIT(p)) != 0 &&
            heard_recently(c, p)) /* notes 25, 26 and 27 */
            n++;
    return n;
}

uint32_t vl_voters_observing(const vl_core *c)
{
    uint32_t n = (c->voter_mask & VL_BIT(c->self)) != 0 && !c->voter ? 1u : 0u;
    for (uint32_t p = 0; p < c->g->node_count; p++)
        if (p != c->self && (c->voter_mask & c->mem.observing & VL_BIT(p)) != 0)
            n++;
    return n;
}

vl_err vl_status_fill(vl_core *c, MDB_txn *t, vl_status *st)
{
    uint64_t forks, records, entries, locks;
    uint32_t peers = 0;
    memset(st, 0, sizeof *st);
    VL_TRY(vl_db_count(t, c->st.forks, &forks));
    /* Note 22: `accounts` holds the accounts and one slot record per log
     * entry (both are written by the same apply). */
    VL_TRY(vl_db_count(t, c->st.accounts, &records));
    VL_TRY(vl_db_count(t, c->st.log, &entries));
    if (records < entries)
        return VL_ERR_CORRUPT;
    VL_TRY(vl_db_count(t, c->st.locks, &locks));
    uint32_t ahead = 0;
    uint64_t window = vl_sat_add(vl_sat_add(c->cfg.sync_interval_ms, c->cfg.sync_interval_ms),
                                 c->cfg.sync_interval_ms);
    for (uint32_t p = 0; p < c->g->node_count; p++) {
        if (p == c->self || !heard_recently(c, p))
            continue;
        peers++;
        bool unknown = !c->head_known[p] && c->first_heard_ms[p] != 0 &&
                       vl_elapsed(c->now_ms, c->first_heard_ms[p] - 1u) < window;
        if (unknown ||
            (c->peer_head[p] > c->mem.head &&
             (c->pulling[p] ||
              (c->behind_since_ms[p] != 0 &&
               (!c->caught_up[p] || vl_elapsed(c->now_ms, c->behind_since_ms[p]) >= window)))))
            ahead++;
    }
    /* Note 18.  A head a peer claims is unsigned: one lying peer (an
     * adversarial walk: a log head of 2^64 - 1) made an honest node
     * "syncing" and its /healthz flap, so more than max_faulty peers must
     * be ahead, which includes an honest one.  And under load every
     * honest peer is a moment ahead between sync rounds (a 4-voter devnet
     * at 2,700 redemptions a second answered /healthz "catching up" in a
     * fifth of its polls), so a peer counts only while the cursor has not
     * reached a head it reported 3 sync intervals ago or more; at once
     * while the cursor has not yet reached any head the peer reported
     * since this node started (a node new or back from a backup), and
     * while this node pulls whole entries from it (its last LOG_REPLY
     * brought news and it is still a batch ahead).  A node that really
     * lags has every honest peer ahead of it.  Two more rules came from a
     * walk with WAN delays: a peer heard from but that has not yet
     * answered a sync request since this node started counts as ahead,
     * for 3 sync intervals after it was first heard (a peer that never
     * answers, a one-way link, must not hold the flag for good) (a
     * node restarted 6,400 entries behind said "healthy" for the 0.3 s
     * before its first replies: it heard its peers, so it was in quorum,
     * and knew none of their heads), and a peer whose reported head is
     * not past this node's own log_head never does (a rough test: logs
     * hold the same certificates in different orders, so a node as long
     * as a peer may still lack some of its entries, which sync fetches
     * all the same; at 2,600
     * redemptions a second and 30 ms between nodes every node answered
     * "catching up" in a fifth of its polls while it held as many
     * entries as its peers: the walk through a peer's log moves a batch
     * per round trip). */
    if (ahead > c->g->max_faulty)
        st->flags |= VL_STATUS_SYNCING;
    st->node = c->self;
    st->flags |= c->voter ? VL_STATUS_VOTER : 0u;
    st->flags |= vl_voters_heard(c) >= c->g->quorum ? VL_STATUS_IN_QUORUM : 0u;
    st->flags |= forks > 0 ? VL_STATUS_FORK : 0u;
    if (c->refusing != VL_OK) /* vl_core.c note 20 */
        st->flags |= VL_STATUS_READ_ONLY;
    st->log_head = c->mem.head;
    memcpy(st->head_hash, c->mem.head_hash, 32);
    vl_digest_refresh(c);
    memcpy(st->state_digest, c->mem.digest, 32);
    st->accounts = records - entries;
    st->pending_locks = locks > UINT32_MAX ? UINT32_MAX : (uint32_t)locks;
    st->peers_connected = peers;
    return VL_OK;
}

/* ---- client requests -------------------------------------------------------------------- */

static vl_err client_reply(vl_core *c, uint64_t client, vl_msg *r)
{
    return vl_stage_msg(c, VL_OUT_CLIENT, 0, client, r);
}

static vl_err client_account(vl_core *c, uint64_t client, const vl_msg *m)
{
    vl_account a;
    uint8_t prog[VL_MAX_LABEL_LEN], buf[512];
    bool known;
    size_t len;
    uint32_t n;
    VL_TRY(vl_acct_load(c, c->txn, m->account_id, &a, prog, &known));
    if (!known)
        return vl_stage_error(c, client, m->req_id, VL_ERR_UNKNOWN_ACCOUNT, NULL,
                              VL_EVIDENCE_NONE, no_evidence);
    vl_err e = vl_account_encode(&a, buf, sizeof buf, &len);
    assert(e == VL_OK);
    (void)e;
    /* A page (VL_CLIENT_PAGE_BUDGET): GET_ACCOUNT the first, from seq 0;
     * GET_ACCOUNT_FROM the next ones (docs/protocol.md 6). */
    bool from = m->req_kind == VL_REQ_GET_ACCOUNT_FROM;
    VL_TRY(gather_account(c, c->txn, m->account_id, from ? m->from_index : 0, UINT64_MAX, false,
                          from ? m->max_items : VL_MAX_MSG_ITEMS, VL_CLIENT_PAGE_BUDGET, &n));
    vl_msg r;
    vl_msg_init(&r, NULL);
    r.type = VL_MSG_CLIENT_REPLY;
    r.req_id = m->req_id;
    r.reply_kind = VL_REPLY_ACCOUNT;
    r.account = (vl_bytes){buf, (uint32_t)len};
    r.items = c->items;
    r.item_count = n;
    return client_reply(c, client, &r);
}

static vl_err client_log(vl_core *c, uint64_t client, const vl_msg *m)
{
    uint32_t n;
    VL_TRY(gather_log(c, c->txn, m->from_index, m->max_items, VL_CLIENT_PAGE_BUDGET, &n));
    vl_msg r;
    vl_msg_init(&r, NULL);
    r.type = VL_MSG_CLIENT_REPLY;
    r.req_id = m->req_id;
    r.reply_kind = VL_REPLY_LOG;
    r.log_head = c->mem.head;
    r.items = c->items;
    r.item_count = n;
    return client_reply(c, client, &r);
}

static vl_err client_checkpoint(vl_core *c, uint64_t client, const vl_msg *m)
{
    MDB_val v;
    bool found;
    VL_TRY(vl_db_get(c->txn, c->st.meta, "checkpoint", 10, &v, &found));
    if (!found)
        return vl_stage_error(c, client, m->req_id, VL_ERR_UNKNOWN_ACCOUNT,
                              "no checkpoint signed yet", VL_EVIDENCE_NONE, no_evidence);
    vl_msg r;
    vl_msg_init(&r, NULL);
    r.type = VL_MSG_CLIENT_REPLY;
    r.req_id = m->req_id;
    r.reply_kind = VL_REPLY_CHECKPOINT;
    c->items[0] = (vl_bytes){v.mv_data, (uint32_t)v.mv_size};
    r.items = c->items;
    r.item_count = 1;
    return client_reply(c, client, &r);
}

static vl_err client_status(vl_core *c, uint64_t client, const vl_msg *m)
{
    vl_msg r;
    vl_msg_init(&r, NULL);
    r.type = VL_MSG_CLIENT_REPLY;
    r.req_id = m->req_id;
    r.reply_kind = VL_REPLY_STATUS;
    VL_TRY(vl_status_fill(c, c->txn, &r.status));
    return client_reply(c, client, &r);
}

vl_err vl_client_request(vl_core *c, uint64_t client, const vl_msg *m)
{
    switch (m->req_kind) {
    case VL_REQ_SUBMIT:
        return vl_coord_submit(c, client, m->req_id, m->items[0]);
    case VL_REQ_GET_ACCOUNT:
    case VL_REQ_GET_ACCOUNT_FROM:
        return client_account(c, client, m);
    case VL_REQ_STATUS:
        return client_status(c, client, m);
    case VL_REQ_GET_LOG:
        return client_log(c, client, m);
    case VL_REQ_GET_CHECKPOINT:
        return client_checkpoint(c, client, m);
    default: /* the decoder admits only the kinds above */
        vl_bad_input(c);
        return vl_stage_error(c, client, m->req_id, VL_ERR_TYPE, NULL, VL_EVIDENCE_NONE,
                              no_evidence);
    }
}
