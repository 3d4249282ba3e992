/* vl_coord.c - the coordinator (DESIGN.md 5.1, 5.3, 5.5): client
 * submissions, collecting votes, forming certificates, conflicts, re-drive.
 * Design notes: vl_core.c (notes 10-14).
 *
 * Pointer discipline: an entry may be freed by settle(), by forming, or by
 * vl_coord_resolved() (called from any apply).  So no function keeps an
 * entry pointer across a call that may apply a certificate or settle; they
 * look the entry up again by order hash.  Votes name the entry by its vote
 * leaf (vl_vote_leaf), a second index.
 */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_core_int.h"

/* ---- the table -------------------------------------------------------------- */

static uint32_t bucket_of(const uint8_t h[32])
{
    uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                 (uint32_t)h[3] << 24;
    return v % VL_COORD_BUCKETS;
}

static vl_coord *coord_find(const vl_core *c, const uint8_t hash[32])
{
    /* Chains are bounded by the table size (VL_COORD_MAX). */
    for (vl_coord *e = c->table[bucket_of(hash)]; e != NULL; e = e->hnext)
        if (memcmp(e->hash, hash, 32) == 0)
            return e;
    return NULL;
}

static vl_coord *coord_find_leaf(const vl_core *c, const uint8_t leaf[32])
{
    for (vl_coord *e = c->ltable[bucket_of(leaf)]; e != NULL; e = e->lnext)
        if (memcmp(e->leaf, leaf, 32) == 0)
            return e;
    return NULL;
}

static void coord_link(vl_core *c, vl_coord *e)
{
    uint32_t b = bucket_of(e->hash);
    e->hnext = c->table[b];
    c->table[b] = e;
    b = bucket_of(e->leaf);
    e->lnext = c->ltable[b];
    c->ltable[b] = e;
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest != NULL)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->coord_count++;
    assert(c->coord_count <= VL_COORD_MAX);
}

static void coord_unlink(vl_core *c, vl_coord *e)
{
    vl_coord **pp = &c->table[bucket_of(e->hash)];
    while (*pp != e) {
        assert(*pp != NULL && "coord_unlink: entry not in its chain");
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    pp = &c->ltable[bucket_of(e->leaf)];
    while (*pp != e) {
        assert(*pp != NULL && "coord_unlink: entry not in its leaf chain");
        pp = &(*pp)->lnext;
    }
    *pp = e->lnext;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    assert(c->coord_count > 0);
    c->coord_count--;
}

static void coord_free(vl_coord *e)
{
    if (e == NULL)
        return;
    for (uint32_t v = 0; v < VL_MAX_NODES; v++)
        free(e->votes[v]);
    free(e->order);
    free(e->conflict);
    free(e);
}

vl_err vl_coord_init(vl_core *c)
{
    c->table = calloc(VL_COORD_BUCKETS, sizeof *c->table);
    c->ltable = calloc(VL_COORD_BUCKETS, sizeof *c->ltable);
    return c->table != NULL && c->ltable != NULL ? VL_OK : VL_ERR_NOMEM;
}

void vl_coord_free_all(vl_core *c)
{
    vl_coord *e = c->oldest;
    for (uint32_t i = 0; e != NULL && i <= VL_COORD_MAX; i++) {
        vl_coord *next = e->newer;
        coord_free(e);
        e = next;
    }
    if (c->table != NULL)
        memset(c->table, 0, VL_COORD_BUCKETS * sizeof *c->table);
    if (c->ltable != NULL)
        memset(c->ltable, 0, VL_COORD_BUCKETS * sizeof *c->ltable);
    c->oldest = c->newest = NULL;
    c->coord_count = 0;
}

void vl_coord_drop(vl_core *c)
{
    for (vl_coord *e = c->oldest; e != NULL; e = e->newer)
        for (uint32_t w = 0; w < e->waiter_count && c->orphans != NULL; w++)
            if (c->orphan_count < VL_ORPHANS_MAX)
                c->orphans[c->orphan_count++] = e->waiters[w];
    vl_coord_free_all(c);
}

/* True when (client, req_id) is a client request among this step's inputs.
 * Reads the req_id straight from the encoding (version, type, u64 LE). */
static bool orphan_resubmitted(const vl_waiter *w, const vl_input *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const vl_input *x = &in[i];
        if (x->kind != VL_IN_CLIENT || x->client != w->client || x->len < 10 ||
            x->data[0] != VL_WIRE_VERSION || x->data[1] != VL_MSG_CLIENT_REQUEST)
            continue;
        uint64_t id = 0;
        for (unsigned b = 0; b < 8; b++)
            id |= (uint64_t)x->data[2 + b] << (8 * b);
        if (id == w->req_id)
            return true;
    }
    return false;
}

vl_err vl_stage_orphans(vl_core *c, const vl_input *in, size_t n)
{
    /* A step retried on a grown map dropped the table, including waiters
     * whose request is in this very step: that request is processed again
     * now and answered on its own, so it gets no second, contradictory
     * "resubmit" error (review finding: error then certificate). */
    for (uint32_t i = 0; i < c->orphan_count; i++) {
        if (orphan_resubmitted(&c->orphans[i], in, n))
            continue;
        VL_TRY(vl_stage_error(c, c->orphans[i].client, c->orphans[i].req_id,
                              VL_ERR_UNAVAILABLE,
                              "node storage failed; resubmit the same order",
                              VL_EVIDENCE_NONE, (vl_bytes){NULL, 0}));
    }
    return VL_OK;
}

bool vl_coord_tracks(vl_core *c, const uint8_t leaf[32], uint16_t voter)
{
    const vl_coord *e = coord_find_leaf(c, leaf);
    return e != NULL && (e->voted & VL_BIT(voter)) == 0;
}

static vl_err coord_new(vl_core *c, vl_bytes raw, const vl_order *o, const uint8_t hash[32],
                        vl_coord **out)
{
    vl_coord *e = calloc(1, sizeof *e);
    if (e == NULL)
        return VL_ERR_NOMEM;
    e->order = malloc(raw.len);
    if (e->order == NULL) {
        free(e);
        return VL_ERR_NOMEM;
    }
    memcpy(e->order, raw.ptr, raw.len);
    e->order_len = raw.len;
    memcpy(e->hash, hash, 32);
    vl_vote_leaf(e->leaf, hash, o);
    vl_order_account(e->account, o);
    e->seq = o->seq;
    e->created_ms = e->requested_ms = c->now_ms;
    coord_link(c, e);
    *out = e;
    return VL_OK;
}

static vl_err add_waiter(vl_core *c, vl_coord *e, uint64_t client, uint64_t req_id)
{
    if (e->waiter_count >= VL_COORD_MAX_WAITERS)
        return vl_stage_error(c, client, req_id, VL_ERR_UNAVAILABLE,
                              "too many clients waiting on this order", VL_EVIDENCE_NONE,
                              (vl_bytes){NULL, 0});
    e->waiters[e->waiter_count++] = (vl_waiter){client, req_id, c->now_ms};
    return VL_OK;
}

static uint32_t popcount64(uint64_t v)
{
    uint32_t n = 0;
    for (; v != 0; v &= v - 1u)
        n++;
    return n;
}

/* ---- endings: certified, failed -------------------------------------------------- */

/* Answer every waiter and free e (unlinked by the caller or here). */
static vl_err finish_entry(vl_core *c, vl_coord *e, vl_err code, const char *text,
                           uint8_t ev_kind, vl_bytes ev)
{
    vl_err err = VL_OK;
    for (uint32_t w = 0; w < e->waiter_count && err == VL_OK; w++) {
        if (code == VL_OK)
            err = vl_stage_cert_reply(c, e->waiters[w].client, e->waiters[w].req_id, ev);
        else
            err = vl_stage_error(c, e->waiters[w].client, e->waiters[w].req_id, code, text,
                                 ev_kind, ev);
    }
    coord_free(e);
    return err;
}

vl_err vl_coord_resolved(vl_core *c, const uint8_t hash[32], vl_bytes cert)
{
    vl_coord *e = coord_find(c, hash);
    if (e == NULL)
        return VL_OK;
    coord_unlink(c, e);
    return finish_entry(c, e, VL_OK, NULL, VL_EVIDENCE_CERT, cert);
}

/* The slot was certified for another order. */
static vl_err resolve_other(vl_core *c, vl_coord *e, vl_bytes cert)
{
    coord_unlink(c, e);
    return finish_entry(c, e, VL_ERR_ALREADY_CERTIFIED,
                        "another order was certified for this slot", VL_EVIDENCE_CERT, cert);
}

/* Keep a formed certificate for the step's CERTS broadcast (takes raw). */
static vl_err formed_push(vl_core *c, uint8_t *raw, size_t len)
{
    if (c->formed_count == c->formed_cap) {
        uint32_t cap = c->formed_cap != 0 ? 2u * c->formed_cap : 64u;
        vl_bytes *p = realloc(c->formed, cap * sizeof *p);
        if (p == NULL) {
            free(raw);
            return VL_ERR_NOMEM;
        }
        c->formed = p;
        c->formed_cap = cap;
    }
    /* Note 24: own votes are added by own_votes, at the end of the step,
     * so the certificates formed before it are a prefix of the list. */
    if (!c->own_voting && c->formed_early == c->formed_count)
        c->formed_early++;
    c->formed[c->formed_count++] = (vl_bytes){raw, (uint32_t)len};
    return VL_OK;
}

static vl_err form(vl_core *c, vl_coord *e)
{
    vl_cert *ct = c->fcert;
    coord_unlink(c, e);
    vl_err err = vl_order_decode(e->order, e->order_len, &ct->order);
    assert(err == VL_OK && "form: a tracked order decodes");
    ct->vote_count = 0;
    /* Ascending voter order, the first `quorum` voters. */
    for (uint32_t v = 0; v < c->g->node_count && ct->vote_count < c->quorum; v++) {
        const vl_cvote *cv = e->votes[v];
        if (cv == NULL)
            continue;
        vl_cert_vote *out = &ct->votes[ct->vote_count++];
        out->voter = (uint16_t)v;
        out->leaf_index = cv->leaf_index;
        out->leaf_count = cv->leaf_count;
        out->path_len = cv->path_len;
        memcpy(out->path, cv->path, 32u * cv->path_len);
        memcpy(out->sig, cv->sig, 64);
    }
    size_t len;
    err = vl_cert_encode(ct, NULL, 0, &len);
    assert(err == VL_OK && "form: certificate encodes");
    uint8_t *raw = malloc(len);
    if (raw == NULL) {
        coord_free(e);
        return VL_ERR_NOMEM;
    }
    err = vl_cert_encode(ct, raw, len, &len);
    assert(err == VL_OK);
    err = formed_push(c, raw, len); /* the list owns raw from here */
    if (err == VL_OK) {
        c->mem.certs_formed++;
        err = vl_apply_cert(c, raw, len, VL_APPLY_VERIFIED, VL_SRC_ALL, NULL);
    }
    if (err != VL_OK) {
        coord_free(e);
        return err;
    }
    c->stage_early = !c->own_voting; /* note 24 */
    err = finish_entry(c, e, VL_OK, NULL, VL_EVIDENCE_CERT, (vl_bytes){raw, (uint32_t)len});
    c->stage_early = false;
    return err;
}

static vl_err fail(vl_core *c, vl_coord *e)
{
    coord_unlink(c, e);
    if (e->conflict != NULL)
        return finish_entry(c, e, VL_ERR_CONFLICT,
                            "another order signed for this slot holds votes; the pair is the proof",
                            VL_EVIDENCE_ORDER, (vl_bytes){e->conflict, e->conflict_len});
    vl_err code = e->reject_code != 0 ? (vl_err)e->reject_code : VL_ERR_QUORUM;
    /* A non-voter coordinator refuses itself NOT_VOTER too (own_vote):
     * only genesis voters count (note 25). */
    uint32_t observers = popcount64(e->observing & c->voter_mask);
    uint32_t full = popcount64(e->read_only & c->voter_mask);
    uint32_t foreign = popcount64(e->foreign & c->voter_mask);
    char text[VL_MAX_ERROR_MSG_LEN + 1];
    const char *why = NULL; /* the code's own text */
    if (e->reject_code == 0 && foreign != 0) { /* note 27 */
        snprintf(text, sizeof text,
                 "no quorum: %u of the %u voters answer WRONG_NETWORK (their genesis differs "
                 "from this node's), %u refuse writes, %u observe; a certificate needs %u. The "
                 "same order may succeed once the genesis files agree",
                 foreign, popcount64(c->voter_mask), full, observers, c->quorum);
        why = text;
    } else if (e->reject_code == 0 && full != 0) { /* note 26 */
        snprintf(text, sizeof text,
                 "no quorum: %u of the %u voters refuse writes (disk full or LMDB map full) "
                 "and %u run as observers; a certificate needs %u votes. The same order may "
                 "succeed once their operators free space",
                 full, popcount64(c->voter_mask), observers, c->quorum);
        why = text;
    } else if (e->reject_code == 0 && observers != 0) { /* note 25 */
        snprintf(text, sizeof text,
                 "no quorum: %u of the %u voters run as observers and refuse to vote (a voter "
                 "restored from a backup, or started as an observer); a certificate needs %u "
                 "votes. The same order may succeed once an operator brings a voter back",
                 observers, popcount64(c->voter_mask), c->quorum);
        why = text;
    }
    return finish_entry(c, e, code, why, VL_EVIDENCE_NONE, (vl_bytes){NULL, 0});
}

static vl_err request_vote(vl_core *c, vl_coord *e, uint16_t v);

/* Ask every voter not asked yet (never frees e). */
static vl_err ask_rest(vl_core *c, vl_coord *e)
{
    uint64_t rest = c->voter_mask & ~e->asked & ~e->voted & ~e->refused & ~VL_BIT(c->self);
    if (rest != 0)
        c->mem.votes_widened++;
    for (uint32_t v = 0; v < c->g->node_count; v++)
        if ((rest & VL_BIT(v)) != 0 && v != c->self)
            VL_TRY(request_vote(c, e, (uint16_t)v));
    return VL_OK;
}

/* Form at quorum, fail when quorum became impossible; may free e.  Else,
 * when the voters asked so far can no longer make up a quorum (one
 * refused, say), ask the others too (vl_core.c note 21). */
static vl_err settle(vl_core *c, vl_coord *e)
{
    uint32_t votes = popcount64(e->voted);
    if (votes >= c->quorum)
        return form(c, e);
    uint32_t open = popcount64(c->voter_mask & ~e->voted & ~e->refused);
    if (votes + open < c->quorum)
        return fail(c, e);
    uint64_t asked_open = c->voter_mask & e->asked & ~e->voted & ~e->refused;
    if (votes + popcount64(asked_open) >= c->quorum)
        return VL_OK;
    return ask_rest(c, e);
}

/* ---- asking for votes ------------------------------------------------------------------ */

static void refuse(vl_coord *e, uint16_t voter, uint16_t code)
{
    if ((e->voted & VL_BIT(voter)) != 0)
        return; /* a vote is never taken back */
    e->refused |= VL_BIT(voter);
    if (code == VL_ERR_NOT_VOTER) /* about the voter, not the order (note 25) */
        e->observing |= VL_BIT(voter);
    else if (code == VL_ERR_DISK_FULL || code == VL_ERR_MAP_FULL) /* the same (note 26) */
        e->read_only |= VL_BIT(voter);
    else if (code == VL_ERR_WRONG_NETWORK) /* the same: we checked the order's network (note 27) */
        e->foreign |= VL_BIT(voter);
    else if (code != 0)
        e->reject_code = code;
}

static vl_err keep_conflict(vl_coord *e, const uint8_t *order, uint32_t len)
{
    if (e->conflict != NULL)
        return VL_OK;
    e->conflict = malloc(len);
    if (e->conflict == NULL)
        return VL_ERR_NOMEM;
    memcpy(e->conflict, order, len);
    e->conflict_len = len;
    return VL_OK;
}

/* Our own decision on e's order (never frees e). */
static vl_err local_answer(vl_core *c, vl_coord *e, const vl_decision *d)
{
    switch (d->kind) {
    case VL_DECIDE_VOTE: /* recorded by vl_batch_finish with the batch signature */
        return VL_OK;
    case VL_DECIDE_PASS: /* an observer: its "vote" will never come */
        refuse(e, c->self, VL_ERR_NOT_VOTER);
        return VL_OK;
    case VL_ANSWER_CONFLICT:
        refuse(e, c->self, 0);
        return keep_conflict(e, d->evidence, d->evidence_len); /* our own lock: verified */
    case VL_ANSWER_BEHIND:
        return vl_request_account(c, e->account, d->next_seq, VL_SRC_ALL);
    case VL_ANSWER_CERTIFIED: /* for another order: the tick resolves it */
        refuse(e, c->self, VL_ERR_ALREADY_CERTIFIED);
        return VL_OK;
    default:
        refuse(e, c->self, d->code);
        return VL_OK;
    }
}

static vl_err own_vote(vl_core *c, vl_coord *e)
{
    if (!c->voter) {
        refuse(e, c->self, VL_ERR_NOT_VOTER);
        return VL_OK;
    }
    vl_decision d;
    vl_err err = vl_order_decode(e->order, e->order_len, c->vord);
    assert(err == VL_OK && "own_vote: a tracked order decodes");
    err = vl_decide(c, e->order, e->order_len, c->vord, e->hash,
                    VL_MODE_VOTE | VL_MODE_VERIFIED, &d);
    if (err == VL_OK)
        err = local_answer(c, e, &d);
    vl_decision_free(&d);
    return err;
}

/* Ask voter v (ourselves included) for its vote on e, once per step. */
static vl_err request_vote(vl_core *c, vl_coord *e, uint16_t v)
{
    e->asked |= VL_BIT(v);
    if (((e->voted | e->refused) & VL_BIT(v)) != 0)
        return VL_OK;
    if (e->req_step != c->step_no) {
        e->req_step = c->step_no;
        e->req_mask = 0;
    }
    if ((e->req_mask & VL_BIT(v)) != 0)
        return VL_OK;
    e->req_mask |= VL_BIT(v);
    if (v == c->self)
        return own_vote(c, e);
    if (c->mem.vote_wait_ms[v] == 0)
        c->mem.vote_wait_ms[v] = vl_sat_add(c->now_ms, 1u); /* time + 1: 0 means none */
    vl_peer_step *ps = &c->peers[v];
    if (ps->requests == NULL) {
        ps->requests = malloc(VL_PEER_REQUESTS_MAX * sizeof *ps->requests);
        if (ps->requests == NULL)
            return VL_ERR_NOMEM;
    }
    if (ps->request_count >= VL_PEER_REQUESTS_MAX)
        return VL_OK; /* the next re-request asks */
    memcpy(ps->requests[ps->request_count++], e->hash, 32);
    return VL_OK;
}

static vl_err request_all(vl_core *c, vl_coord *e)
{
    for (uint32_t v = 0; v < c->g->node_count; v++)
        if ((c->voter_mask & VL_BIT(v)) != 0)
            VL_TRY(request_vote(c, e, (uint16_t)v));
    return VL_OK;
}

/* A voter is slow while a vote request to it has gone unanswered for a
 * quarter of redrive_after_ms (vl_core.c note 21). */
static uint64_t slow_after_ms(const vl_core *c)
{
    return c->cfg.redrive_after_ms / 4u + 1u;
}

/* A voter is slow as well for a while after an order asked of it went
 * slow_after_ms without its answer, whatever it answered since: 4
 * slow_after_ms, doubled for each such strike in a row, up to 64 (a vote
 * for an order we track ends the row).  A faulty voter that signs votes
 * for no order, or votes for some orders and withholds the rest, would
 * otherwise never turn slow (vl_core.c note 21). */
static bool voter_slow(const vl_core *c, uint32_t v)
{
    uint64_t after = slow_after_ms(c);
    uint32_t row = c->mem.vote_strikes[v];
    uint64_t window = (4u * after) << (row > 1u ? (row < 5u ? row - 1u : 4u) : 0u);
    return (c->mem.vote_wait_ms[v] != 0 &&
            vl_elapsed(c->now_ms, c->mem.vote_wait_ms[v] - 1u) >= after) ||
           (c->mem.vote_strike_ms[v] != 0 &&
            vl_elapsed(c->now_ms, c->mem.vote_strike_ms[v] - 1u) < window);
}

/* A voter's vote latency, whole ms (0: not measured yet). */
static uint32_t vote_ms(const vl_core *c, uint32_t v)
{
    return c->vote_ms_known[v] ? (c->vote_ms_x8[v] + 7u) / 8u : 0u;
}

/* A voter's vote answered a request made `ms` ago (the latest request among
 * the orders its vote covers that asked it first and were not re-requested
 * since, so that the time is its own; UINT64_MAX: none): a sample of its
 * latency, unless the voter turned slow meanwhile (slowness has its own
 * rules, voter_slow; a voter back from a stall is not far).  Timing from
 * the request each vote answers, not from the voter's oldest wait: under
 * load requests go out while earlier ones are answered, and a wait since
 * the last answer read 5 to 20 ms on links of 30 to 60 ms (a WAN walk). */
static void vote_ms_sample(vl_core *c, uint16_t v, uint64_t ms)
{
    if (ms >= slow_after_ms(c) || ms >= VL_VOTE_MS_MAX)
        return;
    uint32_t x8 = (uint32_t)ms * 8u;
    if (!c->vote_ms_known[v])
        c->vote_ms_x8[v] = x8;
    else if (x8 >= c->vote_ms_x8[v])
        c->vote_ms_x8[v] += (x8 - c->vote_ms_x8[v]) / 8u;
    else
        c->vote_ms_x8[v] -= (c->vote_ms_x8[v] - x8) / 8u;
    c->vote_ms_known[v] = true;
}

/* Whether voter v may count as near: not slow, and not known to refuse
 * votes (an observer, read-only, another genesis: notes 25-27).  Such a
 * voter answers every request without voting, so it is never slow and
 * never measured: counted as near, it was asked first for every order (a
 * review reproduced it).  An unmeasured voter counts as 0 ms, so that it
 * is asked and measured. */
static bool near_candidate(const vl_core *c, uint32_t v)
{
    uint64_t refusing = c->mem.observing | c->mem.read_only | c->mem.foreign;
    return (refusing & VL_BIT(v)) == 0 && !voter_slow(c, v);
}

/* The latency under which a voter counts as near (note 21): the need-th
 * smallest latency among the candidates, plus half of it and at least
 * VL_NEAR_SLACK_MS; UINT32_MAX (every voter near) while fewer than need
 * are candidates. */
static uint32_t near_ms(const vl_core *c, const uint16_t *other, uint32_t others, uint32_t need)
{
    uint32_t ms[VL_MAX_NODES], k = 0;
    for (uint32_t i = 0; i < others; i++)
        if (near_candidate(c, other[i]))
            ms[k++] = vote_ms(c, other[i]);
    if (k < need || need == 0)
        return UINT32_MAX;
    for (uint32_t i = 0; i < need; i++) /* partial selection: ms[need - 1] is the need-th */
        for (uint32_t j = i + 1; j < k; j++)
            if (ms[j] < ms[i]) {
                uint32_t t = ms[i];
                ms[i] = ms[j];
                ms[j] = t;
            }
    uint32_t r = ms[need - 1u], slack = r / 2u > VL_NEAR_SLACK_MS ? r / 2u : VL_NEAR_SLACK_MS;
    return r + slack;
}

/* The first request for a new order whose own vote is coming (vl_core.c note 21):
 * ask just enough other voters for a quorum, picked in turn from the order
 * hash among those not slow and near (but for one order in
 * VL_FAR_PROBE_EVERY, which keeps the far voters measured), and probe each
 * slow voter at most once per slow_after_ms.  Too few near voters: the
 * far ones too; too few voters not slow: ask every voter. */
static vl_err request_quorum(vl_core *c, vl_coord *e)
{
    uint32_t n = c->g->node_count, need = c->quorum - 1u, picked = 0, others = 0;
    uint16_t other[VL_MAX_NODES];
    for (uint32_t v = 0; v < n; v++)
        if (v != c->self && (c->voter_mask & VL_BIT(v)) != 0)
            other[others++] = (uint16_t)v;
    uint64_t pick = 0;
    uint32_t start = others > 0 ? ((uint32_t)e->hash[1] << 8 | e->hash[2]) % others : 0;
    uint32_t near = e->hash[3] % VL_FAR_PROBE_EVERY == 0 ? UINT32_MAX
                                                         : near_ms(c, other, others, need);
    for (int pass = 0; pass < 2; pass++) { /* the near voters, then any */
        for (uint32_t i = 0; i < others && picked < need; i++) {
            uint32_t v = other[(start + i) % others];
            if ((pick & VL_BIT(v)) != 0 || voter_slow(c, v) ||
                (pass == 0 && near != UINT32_MAX &&
                 (!near_candidate(c, v) || vote_ms(c, v) > near)))
                continue;
            pick |= VL_BIT(v);
            picked++;
        }
    }
    if (picked < need)
        return request_all(c, e);
    for (uint32_t v = 0; v < n; v++) {
        if (v == c->self || (c->voter_mask & VL_BIT(v)) == 0)
            continue;
        bool probe = (pick & VL_BIT(v)) == 0 && voter_slow(c, v) &&
                     (c->mem.vote_probe_ms[v] == 0 ||
                      vl_elapsed(c->now_ms, c->mem.vote_probe_ms[v] - 1u) >= slow_after_ms(c));
        if (probe)
            c->mem.vote_probe_ms[v] = vl_sat_add(c->now_ms, 1u);
        if ((pick & VL_BIT(v)) != 0 || probe) {
            e->first_asked |= VL_BIT(v);
            VL_TRY(request_vote(c, e, (uint16_t)v));
        }
    }
    return VL_OK;
}

/* ---- SUBMIT ---------------------------------------------------------------------------- */

static vl_err resolve_from_slot(vl_core *c, vl_coord *e, bool *done);

/* The slot is certified already: the certificate, or ALREADY_CERTIFIED. */
static vl_err submit_certified(vl_core *c, uint64_t client, uint64_t req_id,
                               const uint8_t hash[32], const uint8_t account[32], uint64_t seq,
                               bool *done)
{
    uint8_t have[32];
    vl_bytes cert;
    VL_TRY(vl_slot_get(c, c->txn, account, seq, done, have, NULL));
    if (!*done)
        return VL_OK;
    VL_TRY(vl_slot_cert(c, c->txn, account, seq, done, &cert));
    if (memcmp(have, hash, 32) == 0)
        return vl_stage_cert_reply(c, client, req_id, cert);
    return vl_stage_error(c, client, req_id, VL_ERR_ALREADY_CERTIFIED,
                          "another order was certified for this slot", VL_EVIDENCE_CERT, cert);
}

static vl_err submit_start(vl_core *c, uint64_t client, uint64_t req_id, vl_bytes raw,
                           const uint8_t hash[32])
{
    vl_decision d;
    vl_coord *e;
    unsigned mode = VL_MODE_VERIFIED | (c->voter ? VL_MODE_VOTE : 0u);
    VL_TRY(vl_decide(c, raw.ptr, raw.len, c->cord, hash, mode, &d));
    if (d.kind == VL_ANSWER_REJECTED) { /* our own rules say no: no need to ask */
        /* A validity window is judged by this node's clock: say so, since a
         * node whose clock is off refuses what the others accept. */
        char text[VL_MAX_ERROR_MSG_LEN + 1];
        const char *why = NULL;
        if (d.code == VL_ERR_EXPIRED || d.code == VL_ERR_NOT_YET_VALID) {
            snprintf(text, sizeof text,
                     "%s by this node's clock (now %" PRIu64 " s unix, allowance %" PRIu64
                     " s); if its clock is wrong, other nodes may accept the order",
                     vl_strerror((vl_err)d.code), c->now_ms / 1000u,
                     c->cfg.clock_skew_ms / 1000u);
            why = text;
        }
        return vl_stage_error(c, client, req_id, (vl_err)d.code, why, VL_EVIDENCE_NONE,
                              (vl_bytes){NULL, 0});
    }
    vl_err err = coord_new(c, raw, c->cord, hash, &e);
    if (err == VL_OK)
        err = add_waiter(c, e, client, req_id);
    bool own_vote_coming = d.kind == VL_DECIDE_VOTE;
    if (err == VL_OK) {
        e->req_step = c->step_no;
        e->req_mask = VL_BIT(c->self); /* decided just now */
        e->asked = VL_BIT(c->self);
        err = local_answer(c, e, &d);
    }
    vl_decision_free(&d);
    VL_TRY(err);
    VL_TRY(own_vote_coming ? request_quorum(c, e) : request_all(c, e));
    return settle(c, e);
}

/* The text of a BAD_SIG refusal of a client's order: an all-zero slot is
 * a half-signed order of the split flow (docs/clients.md section 2), sent
 * before its co-signature; say so rather than "bad signature".  NULL: the
 * error's own text. */
static const char *bad_sig_text(const vl_order *o, char *text, size_t size)
{
    static const uint8_t zero[64];
    for (unsigned i = 0; i < o->sig_count; i++)
        if (memcmp(o->sigs[i], zero, 64) == 0) {
            const char *who = o->kind != VL_ORDER_REDEEM ? "issuer" : i == 0 ? "holder" : "provider";
            snprintf(text, size,
                     "bad signature: the %s signature slot is empty (a half-signed order: "
                     "have it co-signed before it is submitted)",
                     who);
            return text;
        }
    return NULL;
}

vl_err vl_coord_submit(vl_core *c, uint64_t client, uint64_t req_id, vl_bytes raw)
{
    uint8_t hash[32], account[32];
    bool done;
    if (vl_order_decode(raw.ptr, raw.len, c->cord) != VL_OK) {
        vl_bad_input(c); /* vl_msg_decode checked it: not expected */
        return vl_stage_error(c, client, req_id, VL_ERR_NONCANONICAL, "malformed order",
                              VL_EVIDENCE_NONE, (vl_bytes){NULL, 0});
    }
    vl_order_hash(hash, c->cord);
    vl_coord *e = coord_find(c, hash);
    if (e != NULL) { /* being coordinated: wait with the others */
        VL_TRY(add_waiter(c, e, client, req_id));
        return resolve_from_slot(c, e, &done);
    }
    /* Through the cache (vl_verify.c note 4): a resubmitted order, or
     * one this node already voted on for another coordinator, is free. */
    vl_err v = vl_order_verify_cached(c->g, c->cord, hash, c->cache);
    if (v != VL_OK) {
        char text[VL_MAX_ERROR_MSG_LEN + 1];
        const char *why = v == VL_ERR_BAD_SIG ? bad_sig_text(c->cord, text, sizeof text) : NULL;
        return vl_stage_error(c, client, req_id, v, why, VL_EVIDENCE_NONE, (vl_bytes){NULL, 0});
    }
    vl_order_account(account, c->cord);
    VL_TRY(submit_certified(c, client, req_id, hash, account, c->cord->seq, &done));
    if (done)
        return VL_OK;
    if (c->coord_count >= VL_COORD_MAX)
        return vl_stage_error(c, client, req_id, VL_ERR_UNAVAILABLE,
                              "too many orders in flight at this node; retry later",
                              VL_EVIDENCE_NONE, (vl_bytes){NULL, 0});
    return submit_start(c, client, req_id, raw, hash);
}

/* ---- VOTE_REPLY ------------------------------------------------------------------------ */

vl_err vl_coord_add_vote(vl_core *c, const uint8_t leaf[32], uint16_t voter, uint32_t index,
                         uint32_t count, const uint8_t (*path)[32], uint32_t path_len,
                         const uint8_t sig[64])
{
    vl_coord *e = coord_find_leaf(c, leaf);
    if (e == NULL || (e->voted & VL_BIT(voter)) != 0)
        return VL_OK;
    assert(voter < VL_MAX_NODES && path_len <= VL_MAX_MERKLE_DEPTH);
    vl_cvote *v = malloc(offsetof(vl_cvote, path) + 32u * (size_t)path_len);
    if (v == NULL)
        return VL_ERR_NOMEM;
    v->leaf_index = index;
    v->leaf_count = count;
    v->path_len = (uint8_t)path_len;
    memcpy(v->sig, sig, 64);
    if (path_len > 0)
        memcpy(v->path, path, 32u * (size_t)path_len);
    e->votes[voter] = v;
    e->voted |= VL_BIT(voter);
    e->refused &= ~VL_BIT(voter);
    e->observing &= ~VL_BIT(voter);
    e->read_only &= ~VL_BIT(voter);
    e->foreign &= ~VL_BIT(voter);
    return settle(c, e);
}

static vl_err reply_votes(vl_core *c, uint16_t peer, const vl_msg *m)
{
    vl_batch_vote bv = {.voter = peer};
    uint32_t n = m->leaf_count, wanted = 0;
    vl_merkle_root(bv.root, (const uint8_t(*)[32])m->leaves, n);
    memcpy(bv.sig, m->vote_sig, 64);
    if (vl_batch_vote_verify(c->g, &bv, c->cache) != VL_OK) {
        vl_bad_input(c);
        return VL_OK;
    }
    c->mem.vote_wait_ms[peer] = 0; /* a signed vote: not waiting (vl_core.c note 21) */
    c->mem.observing &= ~VL_BIT(peer); /* it votes again (note 25) */
    c->mem.read_only &= ~VL_BIT(peer); /* it writes again (note 26) */
    c->mem.foreign &= ~VL_BIT(peer);   /* a vote that verified: our network (note 27) */
    uint64_t quickest = UINT64_MAX; /* ms since the request, the latest one answered here */
    for (uint32_t i = 0; i < n; i++) {
        const vl_coord *e = coord_find_leaf(c, m->leaves[i]);
        c->want[i] = e != NULL && (e->voted & VL_BIT(peer)) == 0 ? 1u : 0u;
        wanted += c->want[i];
        if (c->want[i] != 0 && (e->first_asked & VL_BIT(peer)) != 0 &&
            e->requested_ms == e->created_ms) { /* asked first, no re-request since */
            uint64_t ms = vl_elapsed(c->now_ms, e->requested_ms);
            quickest = ms < quickest ? ms : quickest;
        }
    }
    if (wanted == 0)
        return VL_OK;
    c->mem.vote_strikes[peer] = 0; /* a vote we still wanted: the row of strikes ends */
    vote_ms_sample(c, peer, quickest);
    vl_batch_paths(c, (const uint8_t(*)[32])m->leaves, n);
    for (uint32_t i = 0; i < n; i++) {
        if (c->want[i] == 0)
            continue;
        uint32_t len = vl_merkle_path_len(i, n);
        uint8_t check[32];
        vl_err e = vl_merkle_root_from_path(check, m->leaves[i], i, n,
                                            (const uint8_t(*)[32])c->paths[i], len);
        assert(e == VL_OK && memcmp(check, bv.root, 32) == 0);
        (void)e;
        VL_TRY(vl_coord_add_vote(c, m->leaves[i], peer, i, n,
                                 (const uint8_t(*)[32])c->paths[i], len, bv.sig));
    }
    return VL_OK;
}

static vl_err answer_certified(vl_core *c, uint16_t peer, const vl_answer *a)
{
    vl_apply_info info;
    VL_TRY(vl_apply_cert(c, a->evidence.ptr, a->evidence.len, 0, peer, &info));
    vl_coord *e = coord_find(c, a->order_hash); /* after the apply: it may have resolved e */
    if (e == NULL)
        return VL_OK;
    if (info.res != VL_APPLY_INVALID && memcmp(info.hash, e->hash, 32) == 0) {
        coord_unlink(c, e);
        return finish_entry(c, e, VL_OK, NULL, VL_EVIDENCE_CERT, a->evidence);
    }
    if (info.res != VL_APPLY_INVALID && memcmp(info.account, e->account, 32) == 0 &&
        info.seq == e->seq)
        return resolve_other(c, e, a->evidence);
    vl_bad_input(c); /* not a certificate of this slot */
    refuse(e, peer, 0);
    return settle(c, e);
}

static vl_err answer_conflict(vl_core *c, uint16_t peer, const vl_answer *a, vl_coord *e)
{
    uint8_t hash[32], account[32];
    bool ok = vl_order_decode(a->evidence.ptr, a->evidence.len, c->cord) == VL_OK;
    if (ok) {
        vl_order_hash(hash, c->cord);
        vl_order_account(account, c->cord);
        ok = memcmp(account, e->account, 32) == 0 && c->cord->seq == e->seq &&
             memcmp(hash, e->hash, 32) != 0 && vl_order_verify(c->g, c->cord, hash) == VL_OK;
    }
    if (ok)
        VL_TRY(keep_conflict(e, a->evidence.ptr, a->evidence.len));
    else
        vl_bad_input(c); /* the evidence does not prove a double signature */
    refuse(e, peer, 0);
    return settle(c, e);
}

static vl_err answer_behind(vl_core *c, uint16_t peer, const vl_answer *a, vl_coord *e)
{
    uint32_t sent = 0;
    /* For seq 0, BEHIND at 0 can only mean "I do not know this account"
     * (a voter that knows it votes, or rejects, or says STALE_SEQ). */
    if (a->next_seq == 0 && e->seq == 0)
        e->unknown |= VL_BIT(peer);
    /* A voter we cannot bring up to date will not vote soon: ask the
     * others now rather than at the re-request (vl_core.c note 21). */
    if (e->behind[peer] >= VL_BEHIND_RETRIES || a->next_seq > e->seq)
        return ask_rest(c, e);
    e->behind[peer]++;
    VL_TRY(vl_send_account_certs(c, peer, e->account, a->next_seq, e->seq, &sent));
    if (sent == 0)
        /* we lack them too, or its queue has no room (note 16); the
         * re-request asks it again */
        return ask_rest(c, e);
    /* Requests are staged at the end of the step, after these CERTS. */
    return request_vote(c, e, peer);
}

static vl_err on_answer(vl_core *c, uint16_t peer, const vl_answer *a)
{
    /* An observer answers every vote request NOT_VOTER and nothing else
     * (vl_on_vote_request); any other answer comes from a voter (note 25). */
    if (a->code == VL_ERR_NOT_VOTER)
        c->mem.observing |= VL_BIT(peer);
    else
        c->mem.observing &= ~VL_BIT(peer);
    if (a->code == VL_ERR_DISK_FULL || a->code == VL_ERR_MAP_FULL) /* note 26 */
        c->mem.read_only |= VL_BIT(peer);
    else
        c->mem.read_only &= ~VL_BIT(peer);
    if (a->code == VL_ERR_WRONG_NETWORK) /* note 27 */
        c->mem.foreign |= VL_BIT(peer);
    else
        c->mem.foreign &= ~VL_BIT(peer);
    if (a->kind == VL_ANSWER_CERTIFIED)
        return answer_certified(c, peer, a);
    vl_coord *e = coord_find(c, a->order_hash);
    if (e == NULL)
        return VL_OK;
    c->mem.vote_wait_ms[peer] = 0; /* an answer about an order we asked of it: not slow */
    switch (a->kind) {
    case VL_ANSWER_CONFLICT:
        return answer_conflict(c, peer, a, e);
    case VL_ANSWER_BEHIND:
        return answer_behind(c, peer, a, e);
    default:
        /* A peer's code reaches clients: only codes of our table, never
         * VL_OK, pass through; anything else reads as "no quorum". */
        refuse(e, peer, a->code != VL_OK && vl_err_known(a->code) ? a->code
                                                                 : (uint16_t)VL_ERR_QUORUM);
        return settle(c, e);
    }
}

vl_err vl_coord_on_vote_reply(vl_core *c, uint16_t peer, const vl_msg *m)
{
    if ((c->voter_mask & VL_BIT(peer)) == 0) {
        vl_bad_input(c); /* only voters vote */
        return VL_OK;
    }
    if (m->leaf_count > 0)
        VL_TRY(reply_votes(c, peer, m));
    for (uint32_t i = 0; i < m->answer_count; i++)
        VL_TRY(on_answer(c, peer, &m->answers[i]));
    return VL_OK;
}

/* ---- ticks: timeouts, re-requests, re-drive ---------------------------------------------- */

/* What a waiter of e hears at its client timeout (vl_core.c, note 12):
 * UNKNOWN_ACCOUNT when the order is for seq 0 of an account that neither
 * this node nor, by their answers, a quorum of voters (this one included)
 * knows, and nobody voted: no voter can vote on it, so "it may still
 * complete" would mislead.  Otherwise TIMEOUT, saying when this node does
 * not hear from a quorum of voters. */
static vl_err timeout_answer(vl_core *c, const vl_coord *e, vl_err *code, char *text,
                             size_t cap)
{
    uint32_t unknown = popcount64(e->unknown & c->voter_mask & ~VL_BIT(c->self)) +
                       (c->voter ? 1u : 0u);
    if (e->voted == 0 && e->seq == 0 && unknown >= c->quorum) {
        vl_account a;
        uint8_t prog[VL_MAX_LABEL_LEN];
        bool known;
        VL_TRY(vl_acct_load(c, c->txn, e->account, &a, prog, &known));
        if (!known) {
            *code = VL_ERR_UNKNOWN_ACCOUNT;
            snprintf(text, cap, "unknown voucher or account: neither this node nor %u voters "
                                "know it (resubmitting the same order is safe)",
                     unknown - (c->voter ? 1u : 0u));
            return VL_OK;
        }
    }
    *code = VL_ERR_TIMEOUT;
    uint32_t heard = vl_voters_heard(c);
    /* An order for a seq past the account's next one waits for the orders
     * before it (an adversarial walk: seq 5 of an account at 0 was told
     * only to resubmit); say so, from this node's state. */
    if (heard >= c->quorum && e->voted == 0 && e->seq > 0) {
        vl_account a;
        uint8_t prog[VL_MAX_LABEL_LEN];
        bool known;
        VL_TRY(vl_acct_load(c, c->txn, e->account, &a, prog, &known));
        if (known && a.next_seq < e->seq) {
            snprintf(text, cap,
                     "no certificate yet: the order is for seq %llu, the account's next is "
                     "%llu here (unless this node lags): the seqs between first; resubmitting "
                     "is safe",
                     (unsigned long long)e->seq, (unsigned long long)a.next_seq);
            return VL_OK;
        }
    }
    if (heard >= c->quorum)
        snprintf(text, cap, "no certificate yet; the order may still complete: resubmit the "
                            "same order");
    else
        snprintf(text, cap, "no certificate yet: this node heard from %u voter(s) that vote in "
                            "the last %llu ms (%u run as observers, %u another genesis); a "
                            "certificate needs %u. "
                            "The order may still complete: resubmit the same order",
                 heard,
                 (unsigned long long)vl_sat_add(vl_sat_add(c->cfg.sync_interval_ms,
                                                           c->cfg.sync_interval_ms),
                                                c->cfg.sync_interval_ms),
                 vl_voters_observing(c), popcount64(c->mem.foreign & c->voter_mask),
                 c->quorum);
    return VL_OK;
}

static vl_err expire_waiters(vl_core *c, vl_coord *e)
{
    uint32_t kept = 0;
    char text[VL_MAX_ERROR_MSG_LEN + 1];
    vl_err code = VL_OK;
    for (uint32_t w = 0; w < e->waiter_count; w++) {
        const vl_waiter *wt = &e->waiters[w];
        if (vl_elapsed(c->now_ms, wt->since_ms) < c->cfg.client_timeout_ms) {
            e->waiters[kept++] = *wt;
            continue;
        }
        if (code == VL_OK)
            VL_TRY(timeout_answer(c, e, &code, text, sizeof text));
        VL_TRY(vl_stage_error(c, wt->client, wt->req_id, code, text, VL_EVIDENCE_NONE,
                              (vl_bytes){NULL, 0}));
    }
    e->waiter_count = kept;
    return VL_OK;
}

/* If e's slot got certified here meanwhile, answer its waiters and free
 * it (*done). */
static vl_err resolve_from_slot(vl_core *c, vl_coord *e, bool *done)
{
    uint8_t have[32];
    vl_bytes cert;
    VL_TRY(vl_slot_get(c, c->txn, e->account, e->seq, done, have, NULL));
    if (!*done)
        return VL_OK;
    VL_TRY(vl_slot_cert(c, c->txn, e->account, e->seq, done, &cert));
    assert(*done);
    if (memcmp(have, e->hash, 32) != 0)
        return resolve_other(c, e, cert);
    coord_unlink(c, e);
    return finish_entry(c, e, VL_OK, NULL, VL_EVIDENCE_CERT, cert);
}

static vl_err rerequest(vl_core *c, vl_coord *e)
{
    bool done;
    VL_TRY(resolve_from_slot(c, e, &done));
    if (done)
        return VL_OK;
    e->requested_ms = c->now_ms;
    e->refused &= ~VL_BIT(c->self); /* our own state may have moved on */
    e->observing &= ~VL_BIT(c->self);
    memset(e->behind, 0, sizeof e->behind);
    VL_TRY(request_all(c, e));
    return settle(c, e);
}

typedef struct {
    uint8_t slot[40];
    uint8_t hash[32];
    uint64_t since_ms; /* the lock's time: its vote, or its last re-drive */
    uint8_t *order;
    uint32_t len;
} redrive_item;

/* Locks older than redrive_after_ms that nobody here coordinates. */
static vl_err redrive_collect(vl_core *c, redrive_item *items, uint32_t *n)
{
    MDB_cursor *cur;
    MDB_val k = {sizeof c->redrive_key, c->redrive_key}, v;
    *n = 0;
    VL_TRY(vl_store_xlate(mdb_cursor_open(c->txn, c->st.locks, &cur)));
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && k.mv_size == 40 && memcmp(k.mv_data, c->redrive_key, 40) == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    vl_err err = VL_OK;
    for (uint32_t scanned = 0; rc == 0 && scanned < VL_REDRIVE_SCAN && *n < VL_REDRIVE_PER_TICK;
         scanned++) {
        const uint8_t *p = v.mv_data;
        if (k.mv_size == 40)
            memcpy(c->redrive_key, k.mv_data, 40);
        if (k.mv_size == 40 && v.mv_size > 40 && v.mv_size <= VL_MAX_MSG_BYTES &&
            vl_elapsed(c->now_ms, vl_be64_get(p)) >= c->cfg.redrive_after_ms &&
            coord_find(c, p + 8) == NULL) {
            redrive_item *it = &items[*n];
            it->len = (uint32_t)(v.mv_size - 40u);
            it->order = malloc(it->len);
            if (it->order == NULL) {
                err = VL_ERR_NOMEM;
                break;
            }
            memcpy(it->slot, k.mv_data, 40);
            memcpy(it->hash, p + 8, 32);
            it->since_ms = vl_be64_get(p);
            memcpy(it->order, p + 40, it->len);
            (*n)++;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (err == VL_OK && rc != 0 && rc != MDB_NOTFOUND)
        err = vl_store_xlate(rc);
    return err;
}

/* Coordinate each stale lock as if submitted, with no waiting client. */
static vl_err redrive_locks(vl_core *c)
{
    redrive_item items[VL_REDRIVE_PER_TICK];
    uint32_t n = 0;
    vl_err err = redrive_collect(c, items, &n);
    for (uint32_t i = 0; err == VL_OK && i < n; i++) {
        uint8_t hash[32];
        vl_coord *e;
        if (c->coord_count >= VL_COORD_MAX)
            break;
        if (vl_order_decode(items[i].order, items[i].len, c->cord) != VL_OK) {
            err = VL_ERR_CORRUPT;
            break;
        }
        vl_order_hash(hash, c->cord);
        if (memcmp(hash, items[i].hash, 32) != 0) {
            err = VL_ERR_CORRUPT;
            break;
        }
        err = coord_new(c, (vl_bytes){items[i].order, items[i].len}, c->cord, hash, &e);
        /* Backoff: a lock that does not complete (a frozen slot: two
         * orders signed for it split the votes, DESIGN.md 5.6) would cost
         * a round to every voter and a durable write every
         * redrive_after_ms R for ever.  Each re-drive waits twice as long
         * as the one before (R, 2R, 4R, ... up to 2^VL_REDRIVE_LEVEL_MAX R;
         * a restart keeps the level, it is in LMDB).  A client that
         * resubmits is coordinated at once, whatever the lock's time says. */
        /* The level k (0 for a vote's lock) is kept in the low bits of
         * the lock's time (a few ms of precision lost); the time is set
         * ahead so that the next re-drive comes R * 2^(k+1) after now. */
        uint64_t mask = (1u << VL_REDRIVE_LEVEL_BITS) - 1u;
        uint64_t level = items[i].since_ms & mask;
        level = level < VL_REDRIVE_LEVEL_MAX ? level + 1u : VL_REDRIVE_LEVEL_MAX;
        uint64_t r = c->cfg.redrive_after_ms;
        uint64_t wait = r <= (UINT64_MAX >> level) ? r << level : UINT64_MAX;
        uint64_t at = (vl_sat_add(c->now_ms, wait - r) & ~mask) | level;
        if (err == VL_OK)
            err = vl_lock_put_at(c, items[i].slot, hash, items[i].order, items[i].len, at);
        if (err == VL_OK)
            err = request_all(c, e); /* our own lock answers with the same vote */
        if (err == VL_OK)
            err = settle(c, e);
    }
    for (uint32_t i = 0; i < n; i++)
        free(items[i].order);
    return err;
}

vl_err vl_coord_tick(vl_core *c)
{
    uint8_t due[VL_REREQUEST_PER_TICK][32];
    uint32_t n = 0;
    uint64_t linger = vl_sat_add(c->cfg.client_timeout_ms, c->cfg.redrive_after_ms);
    vl_coord *e = c->oldest;
    for (uint32_t i = 0; e != NULL && i <= VL_COORD_MAX; i++) {
        vl_coord *next = e->newer;
        VL_TRY(expire_waiters(c, e));
        if (e->waiter_count == 0 && vl_elapsed(c->now_ms, e->created_ms) >= linger) {
            coord_unlink(c, e); /* a lock left behind is re-driven */
            coord_free(e);
        } else if (vl_elapsed(c->now_ms, e->requested_ms) >= c->cfg.redrive_after_ms &&
                   n < VL_REREQUEST_PER_TICK) {
            memcpy(due[n++], e->hash, 32);
        } else if ((c->voter_mask & ~e->asked) != 0 &&
                   vl_elapsed(c->now_ms, e->requested_ms) >= slow_after_ms(c)) {
            /* The voters picked have not made a quorum in slow_after_ms
             * (one is silent, or answers uselessly): ask the rest now, not
             * at the re-request (vl_core.c note 21), and count each picked
             * voter that has not answered slow for a while.  Stages
             * requests only: e stays. */
            uint64_t late = e->asked & ~(e->voted | e->refused) & ~VL_BIT(c->self);
            for (uint32_t v = 0; v < c->g->node_count; v++) {
                if ((late & VL_BIT(v)) == 0)
                    continue;
                c->mem.vote_strike_ms[v] = vl_sat_add(c->now_ms, 1u);
                if (c->mem.vote_strikes[v] < UINT8_MAX)
                    c->mem.vote_strikes[v]++;
            }
            VL_TRY(ask_rest(c, e));
        }
        e = next;
    }
    /* Second pass by hash: a re-request may apply certificates, which may
     * resolve (free) other entries. */
    for (uint32_t i = 0; i < n; i++) {
        e = coord_find(c, due[i]);
        if (e != NULL)
            VL_TRY(rerequest(c, e));
    }
    return redrive_locks(c);
}

/* ---- end of step ---------------------------------------------------------------------- */

static vl_err send_requests(vl_core *c, uint16_t p)
{
    vl_peer_step *ps = &c->peers[p];
    vl_msg m;
    vl_msg_init(&m, NULL);
    m.type = VL_MSG_VOTE_REQUEST;
    m.req_id = c->next_req_id++;
    m.from = c->self;
    uint32_t i = 0;
    /* Chunks of VL_MAX_MSG_ITEMS orders; vl_stage_items splits by bytes. */
    while (i < ps->request_count) {
        uint32_t n = 0;
        for (; i < ps->request_count && n < VL_MAX_MSG_ITEMS; i++) {
            const vl_coord *e = coord_find(c, ps->requests[i]);
            if (e != NULL)
                c->items[n++] = (vl_bytes){e->order, e->order_len};
        }
        if (n > 0)
            VL_TRY(vl_stage_items(c, VL_OUT_PEER, p, 0, &m, c->items, n));
    }
    return VL_OK;
}

vl_err vl_coord_finish(vl_core *c)
{
    for (uint32_t p = 0; p < c->g->node_count; p++)
        if (c->peers[p].request_count > 0)
            VL_TRY(send_requests(c, (uint16_t)p));
    if (c->formed_count == 0)
        return VL_OK;
    /* Note 24: the certificates that may leave before the commit (the
     * prefix formed_early), as one broadcast, then the others. */
    uint32_t k = c->formed_early;
    vl_msg m;
    for (uint32_t part = 0; part < 2; part++) {
        uint32_t from = part == 0 ? 0 : k, n = part == 0 ? k : c->formed_count - k;
        if (n == 0)
            continue;
        vl_msg_init(&m, NULL);
        m.type = VL_MSG_CERTS;
        m.req_id = c->next_req_id++;
        m.from = c->self;
        c->stage_early = part == 0;
        vl_err e = vl_stage_items(c, VL_OUT_BROADCAST, 0, 0, &m, c->formed + from, n);
        c->stage_early = false;
        VL_TRY(e);
    }
    return VL_OK;
}
