/* vl_state.c - accounts, ledger rules, applying certificates, the log, the
 * state digest and the meta records.  Design notes: vl_core.c (notes 5-8).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_core_int.h"

/* vl_core.c note 22: schema 2 keeps a slot's record in `accounts`, under
 * account id || seq, right after its account's own record; schema 1 kept
 * slots in their own database, and an open moves them (schema_upgrade). */
#define META_SCHEMA_VERSION 2u
#define META_SCHEMA_SLOTS_APART 1u
#define UPGRADE_CHUNK_DEFAULT 4096u
#define UPGRADE_GROWTHS 8u /* map growths an upgrade may need, at most */
#define ACCOUNT_MAX_BYTES 512u /* an encoded vl_account is < 200 bytes */

/* ---- small helpers ----------------------------------------------------------- */

static bool add_u64(uint64_t a, uint64_t b, uint64_t *sum)
{
    if (a > UINT64_MAX - b)
        return false;
    *sum = a + b;
    return true;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0u;
}

static void fork_key(uint8_t out[72], const uint8_t account[32], uint64_t seq,
                     const uint8_t hash[32])
{
    vl_slot_key(out, account, seq);
    memcpy(out + 40, hash, 32);
}

/* ---- accounts ------------------------------------------------------------------- */

vl_err vl_acct_load(vl_core *c, MDB_txn *t, const uint8_t id[32], vl_account *a,
                    uint8_t prog[VL_MAX_LABEL_LEN], bool *known)
{
    MDB_val v;
    bool found;
    VL_TRY(vl_db_get(t, c->st.accounts, id, 32, &v, &found));
    memset(a, 0, sizeof *a);
    *known = found;
    if (!found) {
        int i = vl_issuer_by_account(c, id);
        if (i < 0)
            return VL_OK;
        const vl_gen_issuer *gi = &c->g->issuers[i];
        a->kind = VL_ACCOUNT_ISSUER;
        memcpy(a->issuer, gi->pubkey, 32);
        a->budget_fen = gi->budget_fen;
        a->balance_fen = gi->budget_fen;
        *known = true;
        return VL_OK;
    }
    if (vl_account_decode(v.mv_data, v.mv_size, a) != VL_OK)
        return VL_ERR_CORRUPT;
    assert(a->program.len <= VL_MAX_LABEL_LEN);
    if (a->program.len > 0)
        memcpy(prog, a->program.ptr, a->program.len);
    a->program.ptr = prog;
    return VL_OK;
}

vl_err vl_acct_save(vl_core *c, const uint8_t id[32], const vl_account *a)
{
    uint8_t buf[ACCOUNT_MAX_BYTES];
    size_t len;
    vl_err e = vl_account_encode(a, buf, sizeof buf, &len);
    assert(e == VL_OK && "vl_acct_save: account not canonical");
    (void)e;
    return vl_db_put(c->txn, c->st.accounts, id, 32, buf, len, 0, NULL);
}

/* Issuer account state after issuance or credit: balance follows. */
static void issuer_rebalance(vl_account *a)
{
    a->balance_fen = sat_sub(sat_add(a->budget_fen, a->credited_fen), a->issued_fen);
}

/* ---- rules (DESIGN.md 5.2) ------------------------------------------------------------ */

static vl_err rules_issue(vl_core *c, const vl_order *o, const vl_account *a,
                          vl_err *verdict)
{
    if (vl_genesis_issuer_by_pubkey(c->g, o->issuer) < 0) {
        *verdict = VL_ERR_UNKNOWN_ISSUER;
        return VL_OK;
    }
    uint64_t sum = 0, total;
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        if (!add_u64(sum, o->vouchers[i].value_fen, &sum)) {
            *verdict = VL_ERR_BUDGET;
            return VL_OK;
        }
    }
    uint64_t limit = sat_add(a->budget_fen, a->credited_fen);
    if (!add_u64(a->issued_fen, sum, &total) || total > limit) {
        *verdict = VL_ERR_BUDGET;
        return VL_OK;
    }
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        uint8_t vid[32];
        MDB_val v;
        bool found;
        vl_voucher_account_id(vid, o->issuer, o->vouchers[i].serial);
        VL_TRY(vl_db_get(c->txn, c->st.accounts, vid, 32, &v, &found));
        if (found) {
            *verdict = VL_ERR_SERIAL_USED;
            return VL_OK;
        }
    }
    return VL_OK;
}

static vl_err rules_redeem(vl_core *c, const vl_order *o, const vl_account *a)
{
    uint64_t now_s = c->now_ms / 1000u, skew_s = c->cfg.clock_skew_ms / 1000u;
    if (a->status != VL_VOUCHER_ACTIVE)
        return VL_ERR_REVOKED;
    if (memcmp(o->holder, a->holder, 32) != 0)
        return VL_ERR_WRONG_SIGNER;
#ifndef VL_PLANT_NO_REMAINING_CHECK
    if (o->amount_fen > a->remaining_fen)
        return VL_ERR_OVERSPEND;
#endif
    if (sat_add(now_s, skew_s) < a->valid_from_s)
        return VL_ERR_NOT_YET_VALID;
    if (sat_sub(now_s, skew_s) >= a->valid_until_s)
        return VL_ERR_EXPIRED;
    if (vl_genesis_provider_by_pubkey(c->g, o->provider) < 0)
        return VL_ERR_UNKNOWN_PROVIDER;
    return VL_OK;
}

vl_err vl_rules(vl_core *c, const vl_order *o, const vl_account *a, vl_err *verdict)
{
    *verdict = VL_OK;
    switch (o->kind) {
    case VL_ORDER_ISSUE: /* account ids are domain-separated: another kind is bad data */
        return a->kind == VL_ACCOUNT_ISSUER ? rules_issue(c, o, a, verdict) : VL_ERR_CORRUPT;
    case VL_ORDER_REDEEM:
        *verdict = a->kind == VL_ACCOUNT_VOUCHER ? rules_redeem(c, o, a) : VL_ERR_UNKNOWN_ACCOUNT;
        return VL_OK;
    case VL_ORDER_REVOKE:
        if (a->kind != VL_ACCOUNT_VOUCHER)
            *verdict = VL_ERR_UNKNOWN_ACCOUNT;
        else if (a->status != VL_VOUCHER_ACTIVE)
            *verdict = VL_ERR_REVOKED;
        return VL_OK;
    default:
        *verdict = VL_ERR_RANGE;
        return VL_OK;
    }
}

/* ---- slots and the log ------------------------------------------------------------------ */

vl_err vl_slot_get(vl_core *c, MDB_txn *t, const uint8_t account[32], uint64_t seq,
                   bool *found, uint8_t hash[32], uint64_t *index)
{
    uint8_t key[40];
    MDB_val v;
    vl_slot_key(key, account, seq);
    VL_TRY(vl_db_get(t, c->st.accounts, key, sizeof key, &v, found)); /* note 22 */
    if (!*found)
        return VL_OK;
    if (v.mv_size != 40)
        return VL_ERR_CORRUPT;
    if (index != NULL)
        *index = vl_be64_get(v.mv_data);
    if (hash != NULL)
        memcpy(hash, (const uint8_t *)v.mv_data + 8, 32);
    return VL_OK;
}

vl_err vl_entry_cert(vl_core *c, MDB_txn *t, uint64_t index, vl_bytes *entry, vl_bytes *cert)
{
    uint8_t key[8];
    MDB_val v;
    bool found;
    vl_entry e;
    vl_be64_put(key, index);
    VL_TRY(vl_db_get(t, c->st.log, key, sizeof key, &v, &found));
    if (!found || v.mv_size > VL_MAX_MSG_BYTES)
        return VL_ERR_CORRUPT;
    if (vl_entry_decode(v.mv_data, v.mv_size, &e) != VL_OK || e.index != index)
        return VL_ERR_CORRUPT;
    if (entry != NULL)
        *entry = (vl_bytes){v.mv_data, (uint32_t)v.mv_size};
    if (cert != NULL)
        *cert = e.cert;
    return VL_OK;
}

vl_err vl_slot_cert(vl_core *c, MDB_txn *t, const uint8_t account[32], uint64_t seq,
                    bool *found, vl_bytes *cert)
{
    uint64_t index;
    VL_TRY(vl_slot_get(c, t, account, seq, found, NULL, &index));
    if (!*found)
        return VL_OK;
    return vl_entry_cert(c, t, index, NULL, cert);
}

/* Append certificate raw (of the order in info) to the log.  Its summary
 * goes to the ring as well: a slot is read only for an index at or below
 * the head and only if it holds that index, and every index at or below
 * the head was written by its latest append (a failed step's appends are
 * above the restored head until appended again), so a slot never serves
 * an entry the log does not hold. */
static vl_err log_append(vl_core *c, const uint8_t *raw, size_t len, const vl_apply_info *info)
{
    vl_core_mem *m = &c->mem;
    uint8_t cert_hash[32], key[8];
    vl_entry e = {.index = m->head + 1u, .time_ms = c->now_ms};
    memcpy(e.prev_hash, m->head_hash, 32);
    e.cert = (vl_bytes){raw, (uint32_t)len};
    size_t need;
    vl_err err = vl_entry_encode(&e, NULL, 0, &need);
    assert(err == VL_OK && "log_append: entry not encodable");
    VL_TRY(vl_buf_reserve(c, need));
    err = vl_entry_encode(&e, c->buf, c->buf_cap, &need);
    assert(err == VL_OK);
    vl_be64_put(key, e.index);
    VL_TRY(vl_db_put(c->txn, c->st.log, key, sizeof key, c->buf, need, MDB_APPEND, NULL));
    vl_cert_hash(cert_hash, raw, len);
    vl_entry_hash(m->head_hash, e.index, e.prev_hash, cert_hash);
    m->head = e.index;
    m->head_dirty = true;
    vl_summary *r = &c->ring[e.index % VL_SUMMARY_RING];
    r->index = e.index;
    r->time_ms = e.time_ms;
    memcpy(r->entry_hash, m->head_hash, 32);
    memcpy(r->account, info->account, 32);
    r->seq = info->seq;
    memcpy(r->order_hash, info->hash, 32);
    return VL_OK;
}

void vl_digest_refresh(vl_core *c)
{
    if (!c->mem.digest_dirty)
        return;
    vl_tagged_hash(c->mem.digest, VL_TAG_STATE_DIGEST, &c->mem.buckets[0][0],
                   sizeof c->mem.buckets);
    c->mem.digest_dirty = false;
    c->mem.head_dirty = true;
}

static void digest_add(vl_core *c, const uint8_t account[32], const uint8_t hash[32])
{
    uint8_t *b = c->mem.buckets[account[0]];
    for (int i = 0; i < 32; i++)
        b[i] ^= hash[i];
    c->mem.digest_dirty = true;
}

/* ---- evidence and pending ------------------------------------------------------------------ */

static vl_err evidence_store(vl_core *c, const vl_apply_info *in, const uint8_t *raw,
                             size_t len)
{
    uint8_t key[72];
    fork_key(key, in->account, in->seq, in->hash);
    return vl_db_put(c->txn, c->st.forks, key, sizeof key, raw, len, MDB_NOOVERWRITE, NULL);
}

/* Order hash of a stored certificate (c->acert2). */
static vl_err stored_cert_hash(vl_core *c, const void *p, size_t len, uint8_t hash[32])
{
    if (vl_cert_decode(p, len, c->acert2) != VL_OK)
        return VL_ERR_CORRUPT;
    vl_order_hash(hash, &c->acert2->order);
    return VL_OK;
}

/* Keep a verified certificate until its gap is filled.  A second valid
 * certificate for a pending slot with another order is fork evidence. */
static vl_err pending_store(vl_core *c, const vl_apply_info *in, const uint8_t *raw,
                            size_t len)
{
    uint8_t key[40], other[32];
    MDB_val v;
    bool found;
    vl_slot_key(key, in->account, in->seq);
    VL_TRY(vl_db_get(c->txn, c->st.pending, key, sizeof key, &v, &found));
    if (!found)
        return vl_db_put(c->txn, c->st.pending, key, sizeof key, raw, len, 0, NULL);
    VL_TRY(stored_cert_hash(c, v.mv_data, v.mv_size, other));
    if (memcmp(other, in->hash, 32) == 0)
        return VL_OK;
    return evidence_store(c, in, raw, len);
}

/* After (account, seq) got a certificate: a different pending one for the
 * same slot is fork evidence; either way the pending record goes. */
static vl_err pending_clear(vl_core *c, const vl_apply_info *in)
{
    uint8_t key[40], other[32];
    MDB_val v;
    bool found;
    vl_slot_key(key, in->account, in->seq);
    VL_TRY(vl_db_get(c->txn, c->st.pending, key, sizeof key, &v, &found));
    if (!found)
        return VL_OK;
    VL_TRY(stored_cert_hash(c, v.mv_data, v.mv_size, other));
    if (memcmp(other, in->hash, 32) != 0) {
        vl_apply_info ev = *in;
        uint8_t *copy = malloc(v.mv_size);
        if (copy == NULL)
            return VL_ERR_NOMEM;
        size_t n = v.mv_size;
        memcpy(copy, v.mv_data, n);
        memcpy(ev.hash, other, 32);
        vl_err e = evidence_store(c, &ev, copy, n);
        free(copy);
        VL_TRY(e);
    }
    return vl_db_del(c->txn, c->st.pending, key, sizeof key);
}

static void drain_push(vl_core *c, const uint8_t account[32], uint64_t seq)
{
    if (c->drain_count >= VL_DRAIN_QUEUE)
        return; /* the pending sweep finds it later */
    uint32_t at = (c->drain_head + c->drain_count) % VL_DRAIN_QUEUE;
    vl_slot_key(c->drain[at], account, seq);
    c->drain_count++;
}

vl_err vl_request_account(vl_core *c, const uint8_t account[32], uint64_t next_seq,
                          int source)
{
    if (source == VL_SRC_NONE || source == (int)c->self)
        return VL_OK;
    for (uint32_t i = 0; i < c->acct_req_count; i++)
        if (memcmp(c->acct_reqs[i], account, 32) == 0)
            return VL_OK;
    if (c->acct_req_count >= VL_ACCOUNT_REQS_MAX)
        return VL_OK; /* sync delivers it anyway */
    memcpy(c->acct_reqs[c->acct_req_count++], account, 32);
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_ACCOUNT_REQUEST;
    m.req_id = c->next_req_id++;
    m.from = c->self;
    memcpy(m.account_id, account, 32);
    m.from_seq = next_seq;
    if (source >= 0)
        return vl_stage_msg(c, VL_OUT_PEER, (uint16_t)source, 0, &m);
    for (uint32_t p = 0; p < c->g->node_count; p++)
        if (p != c->self && (c->voter_mask & VL_BIT(p)) != 0)
            VL_TRY(vl_stage_msg(c, VL_OUT_PEER, (uint16_t)p, 0, &m));
    return VL_OK;
}

/* ---- applying, by kind ---------------------------------------------------------------- */

static vl_err apply_issue(vl_core *c, const vl_order *o, const uint8_t slot[40],
                          vl_account *iss, bool *evidence)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < o->voucher_count; i++)
        if (!add_u64(sum, o->vouchers[i].value_fen, &sum))
            return *evidence = true, VL_OK;
    if (!add_u64(iss->issued_fen, sum, &iss->issued_fen))
        return *evidence = true, VL_OK;
    uint8_t vid[32];
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        MDB_val v;
        bool found;
        vl_voucher_account_id(vid, o->issuer, o->vouchers[i].serial);
        VL_TRY(vl_db_get(c->txn, c->st.accounts, vid, 32, &v, &found));
        if (found) /* a certified reuse of a serial: more than f lied */
            return *evidence = true, VL_OK;
    }
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        const vl_voucher_spec *s = &o->vouchers[i];
        vl_account va = {.kind = VL_ACCOUNT_VOUCHER, .serial = s->serial,
                         .face_fen = s->value_fen, .remaining_fen = s->value_fen,
                         .valid_from_s = s->valid_from_s, .valid_until_s = s->valid_until_s,
                         .subsidy_bp = s->subsidy_bp, .status = VL_VOUCHER_ACTIVE,
                         .program = s->program};
        memcpy(va.issuer, o->issuer, 32);
        memcpy(va.holder, s->holder, 32);
        vl_voucher_account_id(vid, o->issuer, s->serial);
        VL_TRY(vl_acct_save(c, vid, &va));
        VL_TRY(vl_db_put(c->txn, c->st.origin, vid, 32, slot, 40, 0, NULL));
        drain_push(c, vid, 0);
    }
    issuer_rebalance(iss);
    iss->next_seq++;
    return VL_OK;
}

static vl_err apply_redeem(vl_core *c, const vl_order *o, vl_account *va, bool *evidence)
{
    (void)c;
    if (va->status != VL_VOUCHER_ACTIVE || memcmp(o->holder, va->holder, 32) != 0)
        return *evidence = true, VL_OK;
    if (o->amount_fen > va->remaining_fen) {
#ifdef VL_PLANT_NO_REMAINING_CHECK
        va->remaining_fen = 0; /* planted: the overspend is applied */
#else
        return *evidence = true, VL_OK;
#endif
    } else {
        va->remaining_fen -= o->amount_fen;
    }
    va->next_seq++;
    return VL_OK;
}

static vl_err apply_revoke(vl_core *c, const vl_order *o, vl_account *va, bool *evidence)
{
    if (va->status != VL_VOUCHER_ACTIVE)
        return *evidence = true, VL_OK;
    uint8_t iid[32], prog[VL_MAX_LABEL_LEN];
    vl_account iss;
    bool known;
    vl_issuer_account_id(iid, o->issuer);
    VL_TRY(vl_acct_load(c, c->txn, iid, &iss, prog, &known));
    if (!known || iss.kind != VL_ACCOUNT_ISSUER)
        return *evidence = true, VL_OK;
    if (!add_u64(iss.credited_fen, va->remaining_fen, &iss.credited_fen))
        return *evidence = true, VL_OK;
    issuer_rebalance(&iss);
    VL_TRY(vl_acct_save(c, iid, &iss));
    va->status = VL_VOUCHER_REVOKED;
    va->remaining_fen = 0; /* closed: its value went back to the issuer */
    va->next_seq++;
    return VL_OK;
}

/* seq == next_seq: apply, or keep as evidence when it breaks a rule. */

/* Delete the pending record of `slot` only if it is this very certificate:
 * another, valid certificate waiting there must not be lost with the
 * evidence (review finding). */
static vl_err pending_del_if_same(vl_core *c, const uint8_t *slot, size_t slot_len,
                                  const uint8_t *raw, size_t len)
{
    MDB_val v;
    bool found = false;
    VL_TRY(vl_db_get(c->txn, c->st.pending, slot, slot_len, &v, &found));
    if (!found || v.mv_size != len || memcmp(v.mv_data, raw, len) != 0)
        return VL_OK;
    return vl_db_del(c->txn, c->st.pending, slot, slot_len);
}

static vl_err apply_next(vl_core *c, const uint8_t *raw, size_t len, vl_apply_info *info,
                         vl_account *a)
{
    const vl_order *o = &c->acert->order;
    uint8_t slot[40];
    bool evidence = false;
    vl_slot_key(slot, info->account, info->seq);
    if (a->kind != (o->kind == VL_ORDER_ISSUE ? VL_ACCOUNT_ISSUER : VL_ACCOUNT_VOUCHER))
        return VL_ERR_CORRUPT; /* account ids are domain-separated hashes */
    if (o->kind == VL_ORDER_ISSUE)
        VL_TRY(apply_issue(c, o, slot, a, &evidence));
    else if (o->kind == VL_ORDER_REDEEM)
        VL_TRY(apply_redeem(c, o, a, &evidence));
    else
        VL_TRY(apply_revoke(c, o, a, &evidence));
    if (evidence) {
        info->res = VL_APPLY_EVIDENCE;
        VL_TRY(evidence_store(c, info, raw, len));
        return pending_del_if_same(c, slot, sizeof slot, raw, len);
    }
    VL_TRY(vl_acct_save(c, info->account, a));
    VL_TRY(log_append(c, raw, len, info));
    uint8_t val[40];
    vl_be64_put(val, c->mem.head);
    memcpy(val + 8, info->hash, 32);
    VL_TRY(vl_db_put(c->txn, c->st.accounts, slot, sizeof slot, val, sizeof val, 0, NULL));
    VL_TRY(vl_db_del(c->txn, c->st.locks, slot, sizeof slot));
    VL_TRY(pending_clear(c, info));
    digest_add(c, info->account, info->hash);
    c->mem.certs_applied++;
    drain_push(c, info->account, info->seq + 1u);
    info->res = VL_APPLY_DONE;
    return VL_OK;
}

static vl_err verify_cert(vl_core *c, vl_apply_info *info)
{
    /* c->vg is the genesis itself, or under VL_PLANT_WEAK_QUORUM a copy
     * whose quorum is one less: the core-local weak verification.  The
     * quorum vouches for the order's signatures (wire/vl_verify.c note 8). */
    vl_err e = vl_cert_verify_vouched(c->vg, c->acert, c->cache, NULL);
    if (e != VL_OK) {
        vl_bad_input(c);
        info->res = VL_APPLY_INVALID;
    }
    return VL_OK;
}

/* One certificate, no draining.  raw must not point into the map. */
static vl_err apply_one(vl_core *c, const uint8_t *raw, size_t len, unsigned flags, int source,
                        vl_apply_info *info)
{
    memset(info, 0, sizeof *info);
    if (vl_cert_decode(raw, len, c->acert) != VL_OK) {
        vl_bad_input(c);
        return VL_OK;
    }
    const vl_order *o = &c->acert->order;
    vl_order_hash(info->hash, o);
    vl_order_account(info->account, o);
    info->seq = o->seq;
    info->res = VL_APPLY_DONE; /* until a check below says otherwise */
    uint8_t have[32];
    bool found;
    VL_TRY(vl_slot_get(c, c->txn, info->account, info->seq, &found, have, &info->index));
    if (found && memcmp(have, info->hash, 32) == 0) {
        info->res = VL_APPLY_DUPLICATE; /* nothing to learn: no need to verify */
        return VL_OK;
    }
    if ((flags & VL_APPLY_VERIFIED) == 0)
        VL_TRY(verify_cert(c, info));
    if (info->res == VL_APPLY_INVALID)
        return VL_OK;
    if (found) {
        info->res = VL_APPLY_FORK;
        return evidence_store(c, info, raw, len);
    }
    vl_account a;
    uint8_t prog[VL_MAX_LABEL_LEN];
    bool known;
    VL_TRY(vl_acct_load(c, c->txn, info->account, &a, prog, &known));
    if (!known || info->seq > a.next_seq) {
        info->res = VL_APPLY_PENDING;
        VL_TRY(pending_store(c, info, raw, len));
        return vl_request_account(c, info->account, known ? a.next_seq : 0u, source);
    }
    if (info->seq < a.next_seq)
        return VL_ERR_CORRUPT; /* invariant 5: every seq below next_seq has a slot */
    return apply_next(c, raw, len, info, &a);
}

/* Apply the pending certificates that became next (bounded). */
static vl_err drain(vl_core *c)
{
    for (uint32_t done = 0; c->drain_count > 0 && done < VL_DRAIN_MAX; done++) {
        uint8_t key[40];
        memcpy(key, c->drain[c->drain_head], 40);
        c->drain_head = (c->drain_head + 1u) % VL_DRAIN_QUEUE;
        c->drain_count--;
        MDB_val v;
        bool found;
        VL_TRY(vl_db_get(c->txn, c->st.pending, key, sizeof key, &v, &found));
        if (!found)
            continue;
        uint8_t *copy = malloc(v.mv_size);
        if (copy == NULL)
            return VL_ERR_NOMEM;
        size_t n = v.mv_size;
        memcpy(copy, v.mv_data, n);
        vl_apply_info info;
        /* Verified before it was stored (pending_store callers). */
        vl_err e = apply_one(c, copy, n, VL_APPLY_VERIFIED, VL_SRC_NONE, &info);
        if (e == VL_OK && info.res == VL_APPLY_DONE)
            e = vl_coord_resolved(c, info.hash, (vl_bytes){copy, (uint32_t)n});
        free(copy);
        VL_TRY(e);
    }
    return VL_OK;
}

vl_err vl_apply_cert(vl_core *c, const uint8_t *raw, size_t len, unsigned flags, int source,
                     vl_apply_info *info)
{
    assert(c->txn != NULL && raw != NULL);
    vl_apply_info tmp;
    if (info == NULL)
        info = &tmp;
    c->drain_head = 0;
    c->drain_count = 0;
    VL_TRY(apply_one(c, raw, len, flags, source, info));
    if (info->res == VL_APPLY_DONE || info->res == VL_APPLY_PENDING)
        VL_TRY(vl_coord_resolved(c, info->hash, (vl_bytes){raw, (uint32_t)len}));
    return drain(c);
}

/* ---- the pending sweep (tick) ------------------------------------------------------- */

/* Up to VL_PENDING_SWEEP pending keys after the last one examined
 * (c->sweep_key), wrapping around to the first. */
static vl_err sweep_collect(vl_core *c, uint8_t (*keys)[40], uint32_t *n)
{
    MDB_cursor *cur;
    MDB_val k = {sizeof c->sweep_key, c->sweep_key}, v;
    *n = 0;
    VL_TRY(vl_store_xlate(mdb_cursor_open(c->txn, c->st.pending, &cur)));
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && k.mv_size == 40 && memcmp(k.mv_data, c->sweep_key, 40) == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && *n < VL_PENDING_SWEEP) {
        if (k.mv_size == 40)
            memcpy(keys[(*n)++], k.mv_data, 40);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return vl_store_xlate(rc);
    if (*n > 0)
        memcpy(c->sweep_key, keys[*n - 1], 40);
    return VL_OK;
}

vl_err vl_pending_sweep(vl_core *c)
{
    uint8_t(*keys)[40] = malloc(VL_PENDING_SWEEP * sizeof *keys);
    if (keys == NULL)
        return VL_ERR_NOMEM;
    uint32_t n;
    vl_err e = sweep_collect(c, keys, &n);
    for (uint32_t i = 0; e == VL_OK && i < n; i++) {
        vl_account a;
        uint8_t prog[VL_MAX_LABEL_LEN];
        bool known;
        uint64_t seq = vl_be64_get(keys[i] + 32);
        e = vl_acct_load(c, c->txn, keys[i], &a, prog, &known);
        if (e != VL_OK || !known || seq > a.next_seq)
            continue;
        if (seq == a.next_seq) {
            c->drain_head = 0;
            c->drain_count = 0;
            drain_push(c, keys[i], seq);
            e = drain(c);
            continue;
        }
        /* Already certified another way: pending_clear files a different
         * certificate as fork evidence and drops the record. */
        vl_apply_info in = {.seq = seq};
        memcpy(in.account, keys[i], 32);
        e = vl_slot_get(c, c->txn, keys[i], seq, &known, in.hash, NULL);
        if (e == VL_OK && known)
            e = pending_clear(c, &in);
    }
    free(keys);
    return e;
}

/* ---- meta ---------------------------------------------------------------------------- */

static vl_err meta_get(vl_core *c, MDB_txn *t, const char *name, void *out, size_t len,
                       bool *found)
{
    MDB_val v;
    VL_TRY(vl_db_get(t, c->st.meta, name, strlen(name), &v, found));
    if (!*found)
        return VL_OK;
    if (v.mv_size != len)
        return VL_ERR_CORRUPT;
    memcpy(out, v.mv_data, len);
    return VL_OK;
}

static vl_err meta_put(vl_core *c, const char *name, const void *val, size_t len)
{
    return vl_db_put(c->txn, c->st.meta, name, strlen(name), val, len, 0, NULL);
}

vl_err vl_meta_flush(vl_core *c)
{
    vl_digest_refresh(c);
    if (!c->mem.head_dirty)
        return VL_OK;
    uint8_t head[40];
    vl_be64_put(head, c->mem.head);
    memcpy(head + 8, c->mem.head_hash, 32);
    VL_TRY(meta_put(c, "head", head, sizeof head));
    VL_TRY(meta_put(c, "buckets", c->mem.buckets, sizeof c->mem.buckets));
    VL_TRY(meta_put(c, "digest", c->mem.digest, 32));
    c->mem.head_dirty = false;
    return VL_OK;
}

vl_err vl_cursor_save(vl_core *c, uint16_t peer)
{
    uint8_t key[2] = {(uint8_t)(peer >> 8), (uint8_t)peer}, val[40];
    vl_be64_put(val, c->mem.cursors[peer].next);
    memcpy(val + 8, c->mem.cursors[peer].hash, 32);
    return vl_db_put(c->txn, c->st.peers, key, sizeof key, val, sizeof val, 0, NULL);
}

static vl_err meta_create(vl_core *c)
{
    uint8_t schema[4] = {META_SCHEMA_VERSION, 0, 0, 0};
    uint8_t node[2] = {(uint8_t)c->self, (uint8_t)(c->self >> 8)};
    VL_TRY(meta_put(c, "schema", schema, sizeof schema));
    VL_TRY(meta_put(c, "network", c->g->network_id, 32));
    VL_TRY(meta_put(c, "node", node, sizeof node));
    VL_TRY(meta_put(c, "pubkey", c->key.pubkey, 32));
    memset(&c->mem, 0, sizeof c->mem);
    memcpy(c->mem.head_hash, c->g->network_id, 32);
    c->mem.head_dirty = true;
    c->mem.digest_dirty = true;
    return vl_meta_flush(c);
}

/* The store is of schema `version` and of this network and node. */
static vl_err meta_check(vl_core *c, uint8_t version, char *err, size_t cap)
{
    uint8_t net[32], node[2], schema[4];
    bool found;
    char have[17], want[17];
    VL_TRY(meta_get(c, c->txn, "schema", schema, sizeof schema, &found));
    if (!found || schema[0] != version || schema[1] != 0 || schema[2] != 0 || schema[3] != 0) {
        snprintf(err, cap, "data directory %s has an unknown schema version", c->dir);
        return VL_ERR_STORAGE;
    }
    VL_TRY(meta_get(c, c->txn, "network", net, sizeof net, &found));
    if (!found || memcmp(net, c->g->network_id, 32) != 0) {
        vl_hex_encode(have, net, 8);
        vl_hex_encode(want, c->g->network_id, 8);
        snprintf(err, cap, "data directory %s belongs to network %s..., not to this genesis (%s...)",
                 c->dir, have, want);
        return VL_ERR_WRONG_NETWORK;
    }
    VL_TRY(meta_get(c, c->txn, "node", node, sizeof node, &found));
    unsigned stored = (unsigned)node[0] | (unsigned)node[1] << 8;
    if (!found || stored != c->self) {
        snprintf(err, cap, "data directory %s belongs to node %u (%s), not to node %u (%s)", c->dir,
                 stored, stored < c->g->node_count ? c->g->nodes[stored].id : "?",
                 (unsigned)c->self, c->g->nodes[c->self].id);
        return VL_ERR_WRONG_NETWORK;
    }
    return VL_OK;
}

static vl_err meta_load(vl_core *c)
{
    uint8_t head[40];
    bool found;
    memset(&c->mem, 0, sizeof c->mem);
    VL_TRY(meta_get(c, c->txn, "head", head, sizeof head, &found));
    if (!found)
        return VL_ERR_CORRUPT;
    c->mem.head = vl_be64_get(head);
    memcpy(c->mem.head_hash, head + 8, 32);
    VL_TRY(meta_get(c, c->txn, "buckets", c->mem.buckets, sizeof c->mem.buckets, &found));
    if (!found)
        return VL_ERR_CORRUPT;
    VL_TRY(meta_get(c, c->txn, "digest", c->mem.digest, 32, &found));
    MDB_val v;
    VL_TRY(vl_db_get(c->txn, c->st.meta, "checkpoint", 10, &v, &c->mem.has_checkpoint));
    for (uint32_t p = 0; p < c->g->node_count; p++) {
        uint8_t key[2] = {(uint8_t)(p >> 8), (uint8_t)p};
        c->mem.cursors[p].next = 1;
        memcpy(c->mem.cursors[p].hash, c->g->network_id, 32);
        VL_TRY(vl_db_get(c->txn, c->st.peers, key, sizeof key, &v, &found));
        if (found && v.mv_size == 40) {
            c->mem.cursors[p].next = vl_be64_get(v.mv_data);
            memcpy(c->mem.cursors[p].hash, (const uint8_t *)v.mv_data + 8, 32);
        }
    }
    return VL_OK;
}

/* The observer flag is sticky (vl_core.h, force_observer). */
static vl_err meta_observer(vl_core *c)
{
    uint8_t flag[1] = {0};
    bool found;
    VL_TRY(meta_get(c, c->txn, "observer", flag, sizeof flag, &found));
    if (c->cfg.force_observer && flag[0] == 0) {
        flag[0] = 1;
        VL_TRY(meta_put(c, "observer", flag, sizeof flag));
    }
    if (flag[0] != 0)
        c->voter = false;
    return VL_OK;
}

/* ---- schema upgrade (vl_core.c note 22) ------------------------------------------------ */

typedef enum { UPGRADE_NONE, UPGRADE_MORE, UPGRADE_DONE } upgrade_state;

/* One transaction of the upgrade: move up to `chunk` slot records from
 * `slots` to `accounts`; when `slots` is empty, set the schema to 2.
 * UPGRADE_NONE: not a schema 1 store (new, upgraded, or unknown: then
 * meta_check says so), nothing written.  A schema 1 store of another
 * network or node is refused by meta_check here, before anything moves. */
static vl_err upgrade_chunk(vl_core *c, uint32_t chunk, upgrade_state *state, char *err,
                            size_t cap)
{
    uint8_t schema[4];
    bool found;
    MDB_cursor *cur = NULL;
    *state = UPGRADE_NONE;
    VL_TRY(meta_get(c, c->txn, "schema", schema, sizeof schema, &found));
    if (!found || schema[0] != META_SCHEMA_SLOTS_APART)
        return VL_OK;
    VL_TRY(meta_check(c, META_SCHEMA_SLOTS_APART, err, cap));
    int rc = mdb_cursor_open(c->txn, c->st.slots, &cur);
    MDB_val k, v;
    uint32_t n = 0;
    while (rc == 0 && n < chunk) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc != 0)
            break;
        uint8_t key[40], val[40];
        if (k.mv_size != sizeof key || v.mv_size != sizeof val) {
            mdb_cursor_close(cur);
            return VL_ERR_CORRUPT;
        }
        memcpy(key, k.mv_data, sizeof key);
        memcpy(val, v.mv_data, sizeof val);
#ifndef VL_PLANT_UPGRADE_LOSES_SLOTS
        rc = mdb_put(c->txn, c->st.accounts, &(MDB_val){sizeof key, key},
                     &(MDB_val){sizeof val, val}, 0);
#endif
        if (rc == 0)
            rc = mdb_cursor_del(cur, 0);
        n += rc == 0;
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return vl_store_xlate(rc);
    c->upgraded_slots += n;
    *state = rc == MDB_NOTFOUND ? UPGRADE_DONE : UPGRADE_MORE;
    if (*state == UPGRADE_DONE) {
        schema[0] = META_SCHEMA_VERSION;
        VL_TRY(meta_put(c, "schema", schema, sizeof schema));
    }
    return VL_OK;
}

/* Schema 1 to 2, before anything else reads the store.  Each chunk is one
 * transaction, committed and fsynced before the next; a record is put and
 * deleted in the same one, so a crash between chunks leaves a schema 1
 * store whose next open moves the rest.  The schema becomes 2 with the
 * last record.  Every round moves a whole chunk or ends, so the rounds
 * are bounded by the records there were (plus a few map growths). */
static vl_err schema_upgrade(vl_core *c, char *err, size_t cap)
{
    uint32_t chunk = c->cfg.upgrade_chunk > 0 ? c->cfg.upgrade_chunk : UPGRADE_CHUNK_DEFAULT;
    uint64_t total = 0, rounds = 1;
    vl_err e = VL_OK;
    err[0] = '\0';
    for (uint64_t r = 0; r < rounds + UPGRADE_GROWTHS; r++) {
        upgrade_state state = UPGRADE_NONE;
        e = vl_store_begin(&c->st, false, &c->txn);
        if (e != VL_OK)
            break;
        if (r == 0 && (e = vl_db_count(c->txn, c->st.slots, &total)) == VL_OK)
            rounds = total / chunk + 1;
        if (e == VL_OK)
            e = upgrade_chunk(c, chunk, &state, err, cap);
        if (e == VL_OK && state != UPGRADE_NONE)
            e = vl_store_xlate(mdb_txn_commit(c->txn));
        else
            mdb_txn_abort(c->txn);
        c->txn = NULL;
        if (e == VL_OK && state != UPGRADE_MORE)
            return VL_OK;
        if (e == VL_ERR_MAP_FULL)
            e = vl_store_grow(&c->st); /* and try the chunk again */
        else if (e == VL_OK)
            e = vl_store_maybe_grow(&c->st);
        if (e != VL_OK)
            break;
    }
    if (e == VL_OK)
        e = VL_ERR_CORRUPT; /* more records than counted: not a store of ours */
    if (err[0] != '\0')
        return e; /* meta_check's sentence: another network's or node's store */
    snprintf(err, cap,
             "data directory %s: cannot upgrade its schema from 1 to 2 (%llu of %llu slot records "
             "moved; the next start goes on from there): %s",
             c->dir, (unsigned long long)c->upgraded_slots, (unsigned long long)total,
             vl_strerror(e));
    return e;
}

vl_err vl_meta_open(vl_core *c, char *err, size_t cap)
{
    uint8_t net[32];
    bool found;
    char dummy[1];
    if (err == NULL || cap == 0)
        err = dummy, cap = sizeof dummy;
    vl_err e = schema_upgrade(c, err, cap);
    if (e != VL_OK)
        return e;
    e = vl_store_begin(&c->st, false, &c->txn);
    if (e != VL_OK)
        return e;
    e = meta_get(c, c->txn, "network", net, sizeof net, &found);
    if (e == VL_OK)
        e = found ? meta_check(c, META_SCHEMA_VERSION, err, cap) : meta_create(c);
    if (e == VL_OK)
        e = meta_observer(c);
    if (e == VL_OK)
        e = meta_load(c);
    if (e == VL_OK)
        e = vl_store_xlate(mdb_txn_commit(c->txn));
    else
        mdb_txn_abort(c->txn);
    c->txn = NULL;
    return e;
}
