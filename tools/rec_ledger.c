/* rec_ledger.c - the union of verified certificates, the comparison of the
 * nodes, and the ledger recomputed from the union (rec.h); the result is
 * the JSON report of reconcile_report.h.
 *
 * Design notes
 *  1. The union is keyed by order hash (two certificates of one order, with
 *     different vote sets, are one event) and by slot, account id || seq.
 *     A second order hash in one slot is a fork (DESIGN.md 7.1): both
 *     certificates go to forks[] with the nodes that hold each, and neither
 *     is applied.
 *  2. Per node, a bitmap over the union says which orders it holds.  Its
 *     state digest is recomputed from its own log (DESIGN.md 6: the XOR of
 *     order hashes per bucket of the account id's first byte); where it
 *     differs from the union's, the differing buckets are searched (the
 *     union's orders are grouped by bucket) for the orders the node lacks.
 *  3. The ledger mirrors consensus/vl_state.c: every account's certificates
 *     in seq order from 0; ISSUE creates the vouchers (a serial used twice
 *     is a violation); REDEEM needs an active voucher, the voucher's holder
 *     and amount <= remaining; REVOKE needs an active voucher and credits
 *     its remaining value back to the issuer.  A certificate that breaks a
 *     rule, follows a gap, a fork or a broken certificate of its account is
 *     not applied and is listed in violations[] (a node keeps such a
 *     certificate as evidence and never applies it either).  Validity
 *     windows are checked by the voters at vote time against their clock;
 *     a certificate carries no time, so they are not re-checked here.
 *     Issuance is checked against the budget at the end (DESIGN.md 7.3:
 *     issued - credited back <= budget).
 *  4. Expiry is judged at as_of (now, or --as-of): an active voucher whose
 *     valid_until_s <= as_of with value left is expired-unspent, else its
 *     remaining value is outstanding.  So for every issuer
 *       issued = redeemed + credited back + outstanding + expired-unspent.
 *  5. Everything is linear or a sort: no per-entry search.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rec.h"
#include "vl_crypto.h"

/* Violations listed (all are counted). */
#define MAX_VIOLATIONS_LISTED 1000
/* Conflicts listed (all are counted). */
#define MAX_CONFLICTS_LISTED 1000

typedef struct {
    uint64_t budget, issued, redeemed, revoked, credited, outstanding, expired, vouchers;
} issuer_sum;

typedef struct {
    uint8_t account[32];
    int32_t issuer;
    uint64_t serial, face, remaining, valid_until_s, next_seq;
    uint8_t holder[32];
    bool revoked, stopped;
} voucher;

typedef struct {
    int32_t provider;
    uint32_t month; /* year * 12 + month - 1 */
    uint64_t amount, gpu_milli;
} util_row;

typedef struct {
    int32_t provider;
    uint8_t holder[32];
} firm_row;

typedef struct {
    rec_run *r;
    json_t *violations;
    uint64_t violation_count;
    rec_table slots;      /* slot -> order id (the first order seen there) */
    uint32_t *fork_ids;   /* order ids in a forked slot */
    uint32_t fork_count;
    bool *in_fork;        /* per order */
    voucher *vouchers;
    uint32_t voucher_count, voucher_cap;
    rec_table by_voucher; /* voucher account -> index */
    issuer_sum *iss;
    uint64_t *prov_amount, *prov_gpu, *prov_redemptions, *prov_firms;
    uint64_t *matrix; /* issuer x provider amounts */
    util_row *util;
    firm_row *firms;
    uint64_t util_count, firm_count;
    uint64_t n_issue, n_redeem, n_revoke;
    /* The network's totals: every other sum (redeemed, revoked, per
     * provider, per region pair, per month) is at most issued_all, and
     * the GPU sums at most gpu_all, so bounding these two by INT64_MAX
     * keeps every figure exact and every JSON integer positive. */
    uint64_t issued_all, gpu_all;
} ledger;

static rec_cert *ord(const rec_run *r, uint32_t oid)
{
    return &r->certs[r->orders[oid]];
}

static const uint8_t *order_key(const void *ctx, uint32_t oid, uint8_t *buf)
{
    (void)buf;
    return ord(ctx, oid)->order_hash;
}

static const uint8_t *slot_key_of(const void *ctx, uint32_t oid, uint8_t *buf)
{
    const rec_cert *c = ord(ctx, oid);
    memcpy(buf, c->account, 32);
    memcpy(buf + 32, &c->seq, 8);
    return buf;
}

static const uint8_t *voucher_key(const void *ctx, uint32_t id, uint8_t *buf)
{
    (void)buf;
    return ((const ledger *)ctx)->vouchers[id].account;
}

static json_t *hexj(const uint8_t *b, size_t n)
{
    char buf[2 * 64 + 1];
    assert(n <= 64);
    vl_hex_encode(buf, b, n);
    return json_string(buf);
}

static json_t *hex_long(const uint8_t *b, size_t n)
{
    char *buf = malloc(2 * n + 1);
    if (buf == NULL)
        return NULL;
    vl_hex_encode(buf, b, n);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

static const char *kind_name(uint8_t k)
{
    return k == VL_ORDER_ISSUE ? "issue" : k == VL_ORDER_REDEEM ? "redeem" : "revoke";
}

static void violation(ledger *L, const rec_cert *c, vl_err code, const char *what)
{
    L->violation_count++;
    if (L->violation_count > MAX_VIOLATIONS_LISTED)
        return;
    json_array_append_new(L->violations,
                          json_pack("{s:o, s:I, s:s, s:o, s:s, s:s}", "account",
                                    hexj(c->account, 32), "seq", (json_int_t)c->seq, "kind",
                                    kind_name(c->kind), "order_hash", hexj(c->order_hash, 32),
                                    "code", vl_err_slug(code), "message", what));
}

/* ---- the union (note 1) ---------------------------------------------------------------- */

static bool build_union(rec_run *r)
{
    rec_table by_order;
    if (!rec_table_init(&by_order, r->cert_count, 32))
        return false;
    r->orders = malloc(((size_t)r->cert_count + 1) * sizeof *r->orders);
    if (r->orders == NULL) {
        rec_table_free(&by_order);
        return false;
    }
    r->order_count = 0;
    for (uint32_t i = 0; i < r->cert_count; i++) {
        rec_cert *c = &r->certs[i];
        if (c->status != VL_OK)
            continue;
        uint32_t oid = rec_table_find(&by_order, c->order_hash, order_key, r);
        if (oid == UINT32_MAX) {
            oid = r->order_count++;
            r->orders[oid] = i;
            rec_table_put(&by_order, c->order_hash, oid);
        } else if (c->time_ms < ord(r, oid)->time_ms) {
            ord(r, oid)->time_ms = c->time_ms;
        }
        c->order_id = oid;
    }
    rec_table_free(&by_order);
    return true;
}

static bool find_forks(ledger *L)
{
    rec_run *r = L->r;
    uint8_t key[40];
    L->in_fork = calloc((size_t)r->order_count + 1, sizeof *L->in_fork);
    L->fork_ids = malloc(((size_t)r->order_count + 1) * sizeof *L->fork_ids);
    if (L->in_fork == NULL || L->fork_ids == NULL || !rec_table_init(&L->slots, r->order_count, 40))
        return false;
    for (uint32_t oid = 0; oid < r->order_count; oid++) {
        slot_key_of(r, oid, key);
        uint32_t first = rec_table_find(&L->slots, key, slot_key_of, r);
        if (first == UINT32_MAX) {
            rec_table_put(&L->slots, key, oid);
            continue;
        }
        if (!L->in_fork[first]) {
            L->in_fork[first] = true;
            L->fork_ids[L->fork_count++] = first;
        }
        L->in_fork[oid] = true;
        L->fork_ids[L->fork_count++] = oid;
    }
    return true;
}

/* ---- the ledger (note 3) ------------------------------------------------------------ */

static void violation_at(ledger *L, const uint8_t account[32], const char *kind, vl_err code,
                         const char *what)
{
    L->violation_count++;
    if (L->violation_count > MAX_VIOLATIONS_LISTED)
        return;
    json_array_append_new(L->violations,
                          json_pack("{s:o, s:n, s:s, s:n, s:s, s:s}", "account",
                                    hexj(account, 32), "seq", "kind", kind, "order_hash", "code",
                                    vl_err_slug(code), "message", what));
}

static int cmp_slot(const void *a, const void *b, void *ctx)
{
    const rec_cert *x = ord(ctx, *(const uint32_t *)a), *y = ord(ctx, *(const uint32_t *)b);
    int c = memcmp(x->account, y->account, 32);
    if (c != 0)
        return c;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return memcmp(x->order_hash, y->order_hash, 32);
}

static bool voucher_add(ledger *L, const voucher *v)
{
    if (L->voucher_count == L->voucher_cap) {
        uint32_t cap = L->voucher_cap == 0 ? 1024u : L->voucher_cap * 2u;
        voucher *n = realloc(L->vouchers, (size_t)cap * sizeof *n);
        if (n == NULL)
            return false;
        L->vouchers = n;
        L->voucher_cap = cap;
    }
    if ((L->by_voucher.count + 1) * 2 > L->by_voucher.mask + 1) { /* grow: rehash */
        rec_table t;
        if (!rec_table_init(&t, (L->by_voucher.mask + 1) * 2, 32))
            return false;
        for (uint32_t i = 0; i < L->voucher_count; i++)
            rec_table_put(&t, L->vouchers[i].account, i);
        rec_table_free(&L->by_voucher);
        L->by_voucher = t;
    }
    L->vouchers[L->voucher_count] = *v;
    rec_table_put(&L->by_voucher, v->account, L->voucher_count);
    L->voucher_count++;
    return true;
}

/* false: out of memory.  *applied: the rules held. */
static bool apply_issue(ledger *L, const rec_cert *c, vl_cert *scratch, bool *applied)
{
    *applied = false;
    if (vl_cert_decode(c->raw, c->len, scratch) != VL_OK || c->issuer < 0)
        return violation(L, c, VL_ERR_CORRUPT, "the certificate no longer decodes"), true;
    const vl_order *o = &scratch->order;
    uint64_t sum = 0;
    uint8_t vid[32];
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        vl_voucher_account_id(vid, o->issuer, o->vouchers[i].serial);
        if (rec_table_find(&L->by_voucher, vid, voucher_key, L) != UINT32_MAX)
            return violation(L, c, VL_ERR_SERIAL_USED, "issues a serial already issued"), true;
        if (sum + o->vouchers[i].value_fen < sum)
            return violation(L, c, VL_ERR_RANGE, "the batch's total overflows"), true;
        sum += o->vouchers[i].value_fen;
    }
    issuer_sum *is = &L->iss[c->issuer];
    if (is->issued + sum < is->issued)
        return violation(L, c, VL_ERR_BUDGET, "the issuer's total overflows"), true;
    if (sum > (uint64_t)INT64_MAX - L->issued_all)
        return violation(L, c, VL_ERR_RANGE,
                         "the network's total issuance would pass 2^63-1 fen, more than this "
                         "report adds up (a genesis holds the budgets' sum below it; only "
                         "revocations and new issues over and over could get there)"),
               true;
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        const vl_voucher_spec *s = &o->vouchers[i];
        voucher v = {.issuer = c->issuer, .serial = s->serial, .face = s->value_fen,
                     .remaining = s->value_fen, .valid_until_s = s->valid_until_s};
        vl_voucher_account_id(v.account, o->issuer, s->serial);
        memcpy(v.holder, s->holder, 32);
        if (!voucher_add(L, &v))
            return false;
    }
    is->issued += sum;
    L->issued_all += sum;
    is->vouchers += o->voucher_count;
    L->n_issue++;
    *applied = true;
    return true;
}

static uint32_t month_of(uint64_t time_ms)
{
    time_t t = (time_t)(time_ms / 1000u);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return 0;
    return (uint32_t)(tm.tm_year + 1900) * 12u + (uint32_t)tm.tm_mon;
}

static bool apply_redeem(ledger *L, const rec_cert *c, voucher *v, bool *applied)
{
    *applied = false;
    if (v->revoked)
        return violation(L, c, VL_ERR_REVOKED, "redeems a revoked voucher"), true;
    if (memcmp(v->holder, c->holder, 32) != 0)
        return violation(L, c, VL_ERR_WRONG_SIGNER, "signed by another holder"), true;
    if (c->amount_fen > v->remaining)
        return violation(L, c, VL_ERR_OVERSPEND, "redeems more than the voucher has left"), true;
    if (c->gpu_milli_hours > (uint64_t)INT64_MAX - L->gpu_all)
        return violation(L, c, VL_ERR_RANGE, "the network's GPU-hours overflow"), true;
    L->gpu_all += c->gpu_milli_hours;
    uint32_t pc = L->r->g->provider_count;
    v->remaining -= c->amount_fen;
    L->iss[v->issuer].redeemed += c->amount_fen;
    L->prov_amount[c->provider] += c->amount_fen;
    L->prov_gpu[c->provider] += c->gpu_milli_hours;
    L->prov_redemptions[c->provider]++;
    L->matrix[(size_t)v->issuer * pc + (size_t)c->provider] += c->amount_fen;
    L->util[L->util_count++] = (util_row){.provider = c->provider,
                                          .month = month_of(c->time_ms),
                                          .amount = c->amount_fen,
                                          .gpu_milli = c->gpu_milli_hours};
    firm_row *f = &L->firms[L->firm_count++];
    f->provider = c->provider;
    memcpy(f->holder, c->holder, 32);
    L->n_redeem++;
    *applied = true;
    return true;
}

static void apply_revoke(ledger *L, const rec_cert *c, voucher *v, bool *applied)
{
    *applied = false;
    if (v->revoked) {
        violation(L, c, VL_ERR_REVOKED, "revokes a revoked voucher");
        return;
    }
    issuer_sum *is = &L->iss[v->issuer];
    is->credited += v->remaining;
    is->revoked += v->face;
    v->remaining = 0;
    v->revoked = true;
    L->n_revoke++;
    *applied = true;
}

/* One account's certificates idx[from..to), sorted by seq (note 3). */
static bool apply_account(ledger *L, const uint32_t *idx, size_t from, size_t to, vl_cert *scratch)
{
    rec_run *r = L->r;
    uint64_t expect = 0;
    bool stopped = false;
    voucher *v = NULL;
    if (ord(r, idx[from])->kind != VL_ORDER_ISSUE) {
        uint32_t vi = rec_table_find(&L->by_voucher, ord(r, idx[from])->account, voucher_key, L);
        if (vi == UINT32_MAX) {
            violation(L, ord(r, idx[from]), VL_ERR_UNKNOWN_ACCOUNT,
                      "acts on a voucher no certified ISSUE created");
            stopped = true;
            from++; /* reported: not again as "behind" */
        } else {
            v = &L->vouchers[vi];
        }
    }
    for (size_t k = from; k < to; k++) {
        const rec_cert *c = ord(r, idx[k]);
        bool applied = false;
        if (L->in_fork[idx[k]]) {
            stopped = true; /* reported in forks[] */
            continue;
        }
        if (stopped) {
            violation(L, c, VL_ERR_BEHIND, "not applied: an earlier slot of its account is "
                                           "missing, forked or breaks a rule");
            continue;
        }
        if (c->seq != expect) {
            violation(L, c, VL_ERR_BEHIND, "follows a gap: no certificate for an earlier seq");
            stopped = true;
            continue;
        }
        if (c->kind == VL_ORDER_ISSUE) {
            if (!apply_issue(L, c, scratch, &applied))
                return false;
        } else if (c->kind == VL_ORDER_REDEEM) {
            if (!apply_redeem(L, c, v, &applied))
                return false;
        } else {
            apply_revoke(L, c, v, &applied);
        }
        stopped = !applied;
        expect++;
    }
    return true;
}

static bool apply_all(ledger *L)
{
    rec_run *r = L->r;
    uint32_t *idx = malloc(((size_t)r->order_count + 1) * sizeof *idx);
    vl_cert *scratch = malloc(sizeof *scratch);
    bool ok = idx != NULL && scratch != NULL && rec_table_init(&L->by_voucher, 1024, 32);
    for (uint32_t i = 0; ok && i < r->order_count; i++)
        idx[i] = i;
    if (ok)
        qsort_r(idx, r->order_count, sizeof *idx, cmp_slot, r);
    /* issuer accounts first: their ISSUEs create the vouchers */
    for (int pass = 0; ok && pass < 2; pass++) {
        for (size_t from = 0, to; ok && from < r->order_count; from = to) {
            for (to = from + 1; to < r->order_count &&
                                memcmp(ord(r, idx[to])->account, ord(r, idx[from])->account, 32) == 0;
                 to++)
                ;
            if ((ord(r, idx[from])->kind == VL_ORDER_ISSUE) == (pass == 0))
                ok = apply_account(L, idx, from, to, scratch);
        }
    }
    free(scratch);
    free(idx);
    return ok;
}

static void close_issuers(ledger *L)
{
    const vl_genesis *g = L->r->g;
    for (uint32_t i = 0; i < L->voucher_count; i++) {
        const voucher *v = &L->vouchers[i];
        if (v->revoked)
            continue;
        if (v->valid_until_s <= L->r->as_of_s)
            L->iss[v->issuer].expired += v->remaining;
        else
            L->iss[v->issuer].outstanding += v->remaining;
    }
    for (uint32_t i = 0; i < g->issuer_count; i++) {
        issuer_sum *is = &L->iss[i];
        is->budget = g->issuers[i].budget_fen;
        if (is->issued - is->credited > is->budget) { /* credited <= issued */
            uint8_t id[32];
            vl_issuer_account_id(id, g->issuers[i].pubkey);
            violation_at(L, id, "issue", VL_ERR_BUDGET,
                         "certified issuance less credits back exceeds the issuer's budget");
        }
    }
}

/* ---- the nodes (note 2) --------------------------------------------------------------- */

typedef struct {
    uint8_t buckets[256][32];
    uint8_t digest[32];
    uint32_t *by_bucket;   /* order ids grouped by bucket */
    uint32_t start[257];   /* bucket b: by_bucket[start[b]..start[b+1]) */
} union_digest;

static void xor32(uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 32; i++)
        a[i] ^= b[i];
}

static bool union_digest_build(const rec_run *r, union_digest *u)
{
    memset(u->buckets, 0, sizeof u->buckets);
    memset(u->start, 0, sizeof u->start);
    u->by_bucket = malloc(((size_t)r->order_count + 1) * sizeof *u->by_bucket);
    if (u->by_bucket == NULL)
        return false;
    for (uint32_t o = 0; o < r->order_count; o++) {
        const rec_cert *c = ord(r, o);
        xor32(u->buckets[c->account[0]], c->order_hash);
        u->start[c->account[0] + 1]++;
    }
    for (int b = 0; b < 256; b++)
        u->start[b + 1] += u->start[b];
    uint32_t fill[256];
    memcpy(fill, u->start, sizeof fill);
    for (uint32_t o = 0; o < r->order_count; o++)
        u->by_bucket[fill[ord(r, o)->account[0]]++] = o;
    vl_tagged_hash(u->digest, VL_TAG_STATE_DIGEST, &u->buckets[0][0], sizeof u->buckets);
    return true;
}

/* The node's own digest from its log; the set it holds; errors for
 * entries whose certificate failed and for repeats. */
/* The state digest of s's buckets against its checkpoint at entry `at`. */
static void cp_digest_check(rec_source *s, uint64_t at)
{
    uint8_t d[32];
    vl_tagged_hash(d, VL_TAG_STATE_DIGEST, &s->buckets[0][0], sizeof s->buckets);
    if (memcmp(d, s->cp_state_digest, 32) != 0) {
        s->cp_extended = false;
        rec_error_add(s, at, VL_ERR_CORRUPT,
                      "the state digest after entry %" PRIu64
                      " is not the one the node signed in its checkpoint",
                      at);
    }
}

static bool node_walk(rec_run *r, rec_source *s, uint8_t *held)
{
    memset(s->buckets, 0, sizeof s->buckets);
    if (s->cp_best >= 0 && s->cp_log_index == 0)
        cp_digest_check(s, 0);
    for (uint64_t i = 0; i < s->entry_count; i++) {
        uint32_t id = s->cert_of[i];
        if (id != UINT32_MAX && r->certs[id].status != VL_OK) {
            rec_error_add(s, i + 1, r->certs[id].status,
                          "entry %" PRIu64 ": the certificate does not verify against the "
                          "genesis: %s",
                          i + 1, vl_strerror(r->certs[id].status));
        } else if (id != UINT32_MAX) {
            const rec_cert *c = &r->certs[id];
            uint32_t o = c->order_id;
            if (held[o >> 3] & (1u << (o & 7)))
                rec_error_add(s, i + 1, VL_ERR_CORRUPT,
                              "entry %" PRIu64 " repeats a certificate already in the log", i + 1);
            held[o >> 3] |= (uint8_t)(1u << (o & 7));
            xor32(s->buckets[c->account[0]], c->order_hash);
        }
        if (s->cp_best >= 0 && s->cp_log_index == i + 1)
            cp_digest_check(s, i + 1);
    }
    vl_tagged_hash(s->digest, VL_TAG_STATE_DIGEST, &s->buckets[0][0], sizeof s->buckets);
    return true;
}

static json_t *missing_json(const rec_run *r, const rec_source *s, const union_digest *u,
                            const uint8_t *held, uint64_t *missing)
{
    json_t *arr = json_array();
    *missing = 0;
    for (int b = 0; b < 256; b++) {
        if (memcmp(s->buckets[b], u->buckets[b], 32) == 0)
            continue; /* equal buckets hold the same certificates */
        for (uint32_t k = u->start[b]; k < u->start[b + 1]; k++) {
            uint32_t o = u->by_bucket[k];
            if (held[o >> 3] & (1u << (o & 7)))
                continue;
            const rec_cert *c = ord(r, o);
            if (++*missing <= REC_MAX_MISSING_LISTED)
                json_array_append_new(arr, json_pack("{s:o, s:I, s:o, s:s}", "account",
                                                     hexj(c->account, 32), "seq",
                                                     (json_int_t)c->seq, "order_hash",
                                                     hexj(c->order_hash, 32), "kind",
                                                     kind_name(c->kind)));
        }
    }
    return arr;
}

static json_t *node_json(const rec_run *r, const rec_source *s, json_t *missing,
                         uint64_t missing_count)
{
    const vl_genesis *g = r->g;
    json_t *errs = json_array();
    for (uint32_t k = 0; k < s->error_count; k++) {
        const rec_error *e = &s->errors[k];
        json_array_append_new(errs, json_pack("{s:o, s:s, s:s}", "entry",
                                               e->entry != 0 ? json_integer((json_int_t)e->entry)
                                                             : json_null(),
                                               "code", vl_err_slug(e->code), "message",
                                               e->message));
    }
    json_t *cp = json_null();
    if (s->cp_best >= 0)
        cp = json_pack("{s:I, s:o, s:b, s:b}", "log_index", (json_int_t)s->cp_log_index,
                       "entry_hash", hexj(s->cp_entry_hash, 32), "verified", s->cp_verified,
                       "extended", s->cp_extended);
    return json_pack("{s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:I}", "id",
                     s->node >= 0 ? g->nodes[s->node].id : "?", "source", s->source, "verified",
                     s->verified, "entries", (json_int_t)s->entry_count, "head_hash",
                     hexj(s->head_hash, 32), "state_digest", hexj(s->digest, 32), "checkpoint",
                     cp, "missing_certificates", missing, "missing_count",
                     (json_int_t)missing_count, "errors", errs, "errors_total",
                     (json_int_t)s->errors_total);
}

/* ---- forks and conflicts ------------------------------------------------------------- */

static const char *src_name(const rec_run *r, uint32_t k)
{
    return r->src[k].node >= 0 ? r->g->nodes[r->src[k].node].id : r->src[k].source;
}

static json_t *forks_json(ledger *L, uint8_t **held)
{
    rec_run *r = L->r;
    json_t *arr = json_array();
    qsort_r(L->fork_ids, L->fork_count, sizeof *L->fork_ids, cmp_slot, r);
    for (uint32_t from = 0, to; from < L->fork_count; from = to) {
        const rec_cert *f = ord(r, L->fork_ids[from]);
        json_t *certs = json_array();
        for (to = from; to < L->fork_count; to++) {
            const rec_cert *c = ord(r, L->fork_ids[to]);
            if (memcmp(c->account, f->account, 32) != 0 || c->seq != f->seq)
                break;
            json_t *nodes = json_array();
            uint32_t o = L->fork_ids[to];
            for (uint32_t k = 0; k < r->src_count; k++)
                if (held[k] != NULL && (held[k][o >> 3] & (1u << (o & 7))))
                    json_array_append_new(nodes, json_string(src_name(r, k)));
            json_array_append_new(certs, json_pack("{s:o, s:o, s:o}", "order_hash",
                                                   hexj(c->order_hash, 32), "certificate",
                                                   hex_long(c->raw, c->len), "nodes", nodes));
        }
        json_array_append_new(arr, json_pack("{s:o, s:I, s:o}", "account", hexj(f->account, 32),
                                             "seq", (json_int_t)f->seq, "certificates", certs));
    }
    return arr;
}

typedef struct {
    uint8_t slot[40]; /* account || seq (LE) */
    uint8_t order_hash[32];
    uint32_t src;
    const uint8_t *raw;
    uint32_t len;
    int32_t issuer;
    uint64_t serial;
    uint8_t kind;
} lock_row;

static int cmp_lock(const void *a, const void *b)
{
    const lock_row *x = a, *y = b;
    int c = memcmp(x->slot, y->slot, 40);
    if (c == 0)
        c = memcmp(x->order_hash, y->order_hash, 32);
    if (c == 0)
        c = x->src < y->src ? -1 : x->src > y->src;
    return c;
}

static bool lock_rows(ledger *L, lock_row **out, size_t *n)
{
    rec_run *r = L->r;
    size_t total = 0, k = 0;
    for (uint32_t s = 0; s < r->src_count; s++)
        total += r->src[s].lock_count;
    lock_row *rows = malloc((total + 1) * sizeof *rows);
    vl_order *o = malloc(sizeof *o);
    if (rows == NULL || o == NULL) {
        free(rows);
        free(o);
        return false;
    }
    for (uint32_t s = 0; s < r->src_count; s++) {
        for (uint32_t i = 0; i < r->src[s].lock_count; i++) {
            lock_row *w = &rows[k];
            vl_err e = vl_order_decode(r->src[s].locks[i].buf, r->src[s].locks[i].len, o);
            if (e == VL_OK) {
                vl_order_hash(w->order_hash, o);
                e = vl_order_verify(r->g, o, w->order_hash);
                atomic_fetch_add(&r->signatures, vl_order_sig_count(o->kind));
            }
            if (e != VL_OK) {
                rec_error_add(&r->src[s], 0, e, "lock %u: the locked order does not verify: %s",
                              i + 1, vl_strerror(e));
                continue;
            }
            vl_order_account(w->slot, o);
            memcpy(w->slot + 32, &o->seq, 8);
            if (rec_table_find(&L->slots, w->slot, slot_key_of, r) != UINT32_MAX)
                continue; /* the slot is certified: this node lags, it is in missing[] */
            w->src = s;
            w->raw = r->src[s].locks[i].buf;
            w->len = (uint32_t)r->src[s].locks[i].len;
            w->issuer = vl_genesis_issuer_by_pubkey(r->g, o->issuer);
            w->serial = o->serial;
            w->kind = o->kind;
            k++;
        }
    }
    free(o);
    qsort(rows, k, sizeof *rows, cmp_lock);
    *out = rows;
    *n = k;
    return true;
}

static json_t *conflict_json(const rec_run *r, const lock_row *rows, size_t from, size_t to)
{
    const lock_row *f = &rows[from];
    uint64_t seq;
    memcpy(&seq, f->slot + 32, 8);
    json_t *orders = json_array();
    for (size_t a = from, b; a < to; a = b) {
        json_t *by = json_array();
        for (b = a; b < to && memcmp(rows[b].order_hash, rows[a].order_hash, 32) == 0; b++)
            json_array_append_new(by, json_string(src_name(r, rows[b].src)));
        json_array_append_new(orders, json_pack("{s:o, s:o, s:o}", "order_hash",
                                                hexj(rows[a].order_hash, 32), "order",
                                                hex_long(rows[a].raw, rows[a].len), "locked_by",
                                                by));
    }
    return json_pack("{s:o, s:s, s:o, s:I, s:o}", "account", hexj(f->slot, 32), "issuer",
                     f->issuer >= 0 ? r->g->issuers[f->issuer].id : "?", "serial",
                     f->kind == VL_ORDER_ISSUE ? json_null() : json_integer((json_int_t)f->serial),
                     "seq", (json_int_t)seq, "orders", orders);
}

/* Two different orders locked for one uncertified slot (DESIGN.md 5.6). */
static json_t *conflicts_json(ledger *L, uint64_t *count)
{
    lock_row *rows;
    size_t n;
    json_t *arr = json_array();
    *count = 0;
    if (!lock_rows(L, &rows, &n))
        return NULL;
    for (size_t from = 0, to; from < n; from = to) {
        bool two = false;
        for (to = from + 1; to < n && memcmp(rows[to].slot, rows[from].slot, 40) == 0; to++)
            two = two || memcmp(rows[to].order_hash, rows[from].order_hash, 32) != 0;
        if (two && ++*count <= MAX_CONFLICTS_LISTED)
            json_array_append_new(arr, conflict_json(L->r, rows, from, to));
    }
    free(rows);
    return arr;
}

/* ---- figures ------------------------------------------------------------------------- */

static int cmp_util(const void *a, const void *b)
{
    const util_row *x = a, *y = b;
    if (x->provider != y->provider)
        return x->provider < y->provider ? -1 : 1;
    return x->month < y->month ? -1 : x->month > y->month;
}

static int cmp_firm(const void *a, const void *b)
{
    const firm_row *x = a, *y = b;
    if (x->provider != y->provider)
        return x->provider < y->provider ? -1 : 1;
    return memcmp(x->holder, y->holder, 32);
}

/* A region code as the report carries it: a string of its 6 digits (a code,
 * not a quantity; what the renderers key their tables on). */
static json_t *region_json(uint32_t region)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%06" PRIu32, region);
    return json_string(buf);
}

static json_t *issuers_json(const ledger *L)
{
    const vl_genesis *g = L->r->g;
    json_t *arr = json_array();
    for (uint32_t i = 0; i < g->issuer_count; i++) {
        const issuer_sum *s = &L->iss[i];
        uint64_t net = s->issued - s->credited; /* credited <= issued */
        uint64_t left = s->budget >= net ? s->budget - net : 0;
        json_t *o = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                              g->issuers[i].id, "region", region_json(g->issuers[i].region),
                              "budget_fen", (json_int_t)s->budget, "issued_fen",
                              (json_int_t)s->issued, "redeemed_fen", (json_int_t)s->redeemed,
                              "revoked_fen", (json_int_t)s->revoked, "credited_back_fen",
                              (json_int_t)s->credited, "outstanding_fen",
                              (json_int_t)s->outstanding, "expired_unspent_fen",
                              (json_int_t)s->expired, "remaining_budget_fen", (json_int_t)left,
                              "vouchers", (json_int_t)s->vouchers);
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *providers_json(ledger *L)
{
    const vl_genesis *g = L->r->g;
    qsort(L->firms, L->firm_count, sizeof *L->firms, cmp_firm);
    for (uint64_t k = 0; k < L->firm_count; k++)
        if (k == 0 || cmp_firm(&L->firms[k - 1], &L->firms[k]) != 0)
            L->prov_firms[L->firms[k].provider]++;
    json_t *arr = json_array();
    for (uint32_t p = 0; p < g->provider_count; p++)
        json_array_append_new(
            arr, json_pack("{s:s, s:o, s:I, s:f, s:I, s:I}", "id", g->providers[p].id, "region",
                           region_json(g->providers[p].region), "redeemed_fen",
                           (json_int_t)L->prov_amount[p], "gpu_hours",
                           (double)L->prov_gpu[p] / 1000.0, "firms_served",
                           (json_int_t)L->prov_firms[p], "redemptions",
                           (json_int_t)L->prov_redemptions[p]));
    return arr;
}

typedef struct {
    uint32_t ir, pr;
    uint64_t amount;
} cell;

static int cmp_cell(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    if (x->ir != y->ir)
        return x->ir < y->ir ? -1 : 1;
    return x->pr < y->pr ? -1 : x->pr > y->pr;
}

static json_t *settlement_json(const ledger *L)
{
    const vl_genesis *g = L->r->g;
    size_t n = 0, cap = (size_t)g->issuer_count * g->provider_count + 1;
    cell *cells = malloc(cap * sizeof *cells);
    if (cells == NULL)
        return NULL;
    for (uint32_t i = 0; i < g->issuer_count; i++)
        for (uint32_t p = 0; p < g->provider_count; p++)
            if (L->matrix[(size_t)i * g->provider_count + p] != 0)
                cells[n++] = (cell){g->issuers[i].region, g->providers[p].region,
                                    L->matrix[(size_t)i * g->provider_count + p]};
    qsort(cells, n, sizeof *cells, cmp_cell);
    json_t *arr = json_array();
    for (size_t from = 0, to; from < n; from = to) {
        uint64_t sum = 0;
        for (to = from; to < n && cmp_cell(&cells[to], &cells[from]) == 0; to++)
            sum += cells[to].amount;
        json_array_append_new(arr, json_pack("{s:o, s:o, s:I}", "issuer_region",
                                             region_json(cells[from].ir), "provider_region",
                                             region_json(cells[from].pr), "amount_fen",
                                             (json_int_t)sum));
    }
    free(cells);
    return arr;
}

static json_t *utilization_json(ledger *L)
{
    const vl_genesis *g = L->r->g;
    qsort(L->util, L->util_count, sizeof *L->util, cmp_util);
    json_t *arr = json_array();
    for (uint64_t from = 0, to; from < L->util_count; from = to) {
        uint64_t amount = 0, gpu = 0, n = 0;
        for (to = from; to < L->util_count && cmp_util(&L->util[to], &L->util[from]) == 0; to++)
            amount += L->util[to].amount, gpu += L->util[to].gpu_milli, n++;
        char month[16];
        snprintf(month, sizeof month, "%04u-%02u", L->util[from].month / 12u,
                 L->util[from].month % 12u + 1u);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:f, s:I}", "provider",
                                             g->providers[L->util[from].provider].id, "month",
                                             month, "redeemed_fen", (json_int_t)amount,
                                             "gpu_hours", (double)gpu / 1000.0, "redemptions",
                                             (json_int_t)n));
    }
    return arr;
}

/* ---- the report ----------------------------------------------------------------------- */

static bool ledger_init(ledger *L, rec_run *r)
{
    const vl_genesis *g = r->g;
    size_t pc = g->provider_count + 1u, n = (size_t)r->order_count + 1u;
    memset(L, 0, sizeof *L);
    L->r = r;
    L->violations = json_array();
    L->iss = calloc(g->issuer_count + 1u, sizeof *L->iss);
    L->prov_amount = calloc(pc, sizeof *L->prov_amount);
    L->prov_gpu = calloc(pc, sizeof *L->prov_gpu);
    L->prov_redemptions = calloc(pc, sizeof *L->prov_redemptions);
    L->prov_firms = calloc(pc, sizeof *L->prov_firms);
    L->matrix = calloc((size_t)(g->issuer_count + 1u) * pc, sizeof *L->matrix);
    L->util = malloc(n * sizeof *L->util);
    L->firms = malloc(n * sizeof *L->firms);
    return L->violations != NULL && L->iss != NULL && L->prov_amount != NULL &&
           L->prov_gpu != NULL && L->prov_redemptions != NULL && L->prov_firms != NULL &&
           L->matrix != NULL && L->util != NULL && L->firms != NULL;
}

static void ledger_free(ledger *L)
{
    json_decref(L->violations);
    rec_table_free(&L->slots);
    rec_table_free(&L->by_voucher);
    free(L->fork_ids);
    free(L->in_fork);
    free(L->vouchers);
    free(L->iss);
    free(L->prov_amount);
    free(L->prov_gpu);
    free(L->prov_redemptions);
    free(L->prov_firms);
    free(L->matrix);
    free(L->util);
    free(L->firms);
}

static json_t *summary_json(const ledger *L, uint32_t verified, bool agreeing)
{
    const rec_run *r = L->r;
    uint64_t t[5] = {0};
    for (uint32_t i = 0; i < r->g->issuer_count; i++) {
        t[0] += L->iss[i].issued;
        t[1] += L->iss[i].redeemed;
        t[2] += L->iss[i].revoked;
        t[3] += L->iss[i].outstanding;
        t[4] += L->iss[i].expired;
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:f}",
                     "certificates", (json_int_t)r->order_count, "issuances",
                     (json_int_t)L->n_issue, "redemptions", (json_int_t)L->n_redeem,
                     "revocations", (json_int_t)L->n_revoke, "issued_fen", (json_int_t)t[0],
                     "redeemed_fen", (json_int_t)t[1], "revoked_fen", (json_int_t)t[2],
                     "outstanding_fen", (json_int_t)t[3], "expired_unspent_fen", (json_int_t)t[4],
                     "nodes", (json_int_t)r->src_count, "nodes_verified", (json_int_t)verified,
                     "nodes_agreeing", agreeing, "signatures_checked",
                     (json_int_t)atomic_load(&r->signatures), "seconds", r->seconds);
}

static json_t *network_json(const rec_run *r)
{
    char as_of[32];
    time_t t = (time_t)r->as_of_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(as_of, sizeof as_of, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *net = json_pack("{s:s, s:o, s:I, s:I, s:I}", "name", r->g->network, "network_id",
                            hexj(r->g->network_id, 32), "voters", (json_int_t)r->g->voter_count,
                            "quorum", (json_int_t)r->g->quorum, "max_faulty",
                            (json_int_t)r->g->max_faulty);
    return json_pack("{s:s, s:o}", "as_of", as_of, "network", net);
}

/* Walk the nodes and build nodes[]; *verified, *agreeing as in summary. */
static json_t *nodes_json(rec_run *r, const union_digest *u, uint8_t **held, uint32_t *verified,
                          bool *agreeing)
{
    json_t *arr = json_array();
    *verified = 0;
    *agreeing = r->src_count > 0;
    for (uint32_t k = 0; k < r->src_count; k++) {
        rec_source *s = &r->src[k];
        uint64_t missing = 0;
        json_t *miss = s->loaded ? missing_json(r, s, u, held[k], &missing) : json_array();
        if (!s->loaded || memcmp(s->digest, u->digest, 32) != 0 || missing != 0)
            *agreeing = false;
        *verified += s->verified ? 1u : 0u;
        json_array_append_new(arr, node_json(r, s, miss, missing));
    }
    return arr;
}

json_t *rec_report(rec_run *r, bool *ok)
{
    ledger L;
    union_digest u = {.by_bucket = NULL};
    memset(&L, 0, sizeof L);
    uint8_t **held = calloc(r->src_count + 1u, sizeof *held);
    json_t *rep = NULL;
    uint64_t conflicts = 0;
    bool good = held != NULL && build_union(r) && ledger_init(&L, r) && find_forks(&L) &&
                union_digest_build(r, &u);
    size_t bits = (size_t)r->order_count / 8u + 1u; /* after build_union */
    for (uint32_t k = 0; good && k < r->src_count; k++)
        if (r->src[k].loaded)
            good = (held[k] = calloc(bits, 1)) != NULL && node_walk(r, &r->src[k], held[k]);
    good = good && apply_all(&L);
    if (good) {
        close_issuers(&L);
        json_t *conf = conflicts_json(&L, &conflicts);
        uint32_t verified;
        bool agreeing;
        json_t *nodes = nodes_json(r, &u, held, &verified, &agreeing);
        *ok = verified == r->src_count && agreeing && L.fork_count == 0 &&
              L.violation_count == 0;
        rep = network_json(r);
        json_object_set_new(rep, "ok", json_boolean(*ok));
        json_object_set_new(rep, "summary", summary_json(&L, verified, agreeing));
        json_object_set_new(rep, "issuers", issuers_json(&L));
        json_object_set_new(rep, "providers", providers_json(&L));
        json_object_set_new(rep, "settlement", settlement_json(&L));
        json_object_set_new(rep, "utilization", utilization_json(&L));
        json_object_set_new(rep, "nodes", nodes);
        json_object_set_new(rep, "conflicts", conf);
        json_object_set_new(rep, "conflicts_total", json_integer((json_int_t)conflicts));
        json_object_set_new(rep, "forks", forks_json(&L, held));
        json_object_set_new(rep, "violations", json_incref(L.violations));
        json_object_set_new(rep, "violations_total", json_integer((json_int_t)L.violation_count));
    }
    for (uint32_t k = 0; held != NULL && k < r->src_count; k++)
        free(held[k]);
    free(held);
    free(u.by_bucket);
    if (L.r == r)
        ledger_free(&L);
    return rep;
}
