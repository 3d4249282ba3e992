/* ctl_demo.c - `voucherctl devnet demo`: the sample scenario, run against a
 * running devnet (ctl_devnet.c) through the client library (vl_client.h,
 * vl_orderkit.h) and the slot-guarded signing of ctl_orders.c.  It doubles
 * as a smoke check: exit 0 only if everything happened as the protocol says
 * it must.
 *
 * Design notes
 *  1. The story, one numbered step each: the network answers; Shanghai
 *     issues vouchers to firm1 (certificate verified here, offline); firm1
 *     redeems part of one at a Guizhou data center through node1 and part
 *     at a Ningxia one through node3; it asks for more than is left and is
 *     refused (INSUFFICIENT_BALANCE); it cheats (note 2); the voucher is
 *     read back with its history verified; every node shows the same state
 *     digest.  Honest orders go through the slot guard of the key file in
 *     DIR/keys (ctl_orders.c note 1), as `voucherctl redeem` would; the
 *     cheat bypasses it, as a cheating wallet would.
 *  2. The double spend: two DIFFERENT redemptions signed by the holder for
 *     one (voucher, seq), sent at the same moment to two nodes by two
 *     threads, each with its own vl_client (a client is not thread-safe),
 *     released together by a barrier.  Three outcomes are correct, and
 *     which one happens depends on timing:
 *       a. one certified, the other refused CONFLICT (voters locked on the
 *          first answered with it: the evidence);
 *       b. one certified, the other refused ALREADY_CERTIFIED (the
 *          certificate reached its entry node before enough conflicts);
 *       c. neither certified: the voters split so that neither can reach
 *          the quorum, both refused CONFLICT, and the slot is frozen for
 *          good (DESIGN.md 5, point 6).
 *     In every case the refusal must carry the other order, signed by the
 *     same holder for the same slot: that pair is checked here.  Two
 *     certificates would be a double spend, and the demo fails.
 *  3. Waits are bounded: the network check waits DEMO_NETWORK_MS for every
 *     node to answer with all its peer links; the last two steps wait
 *     DEMO_CONVERGE_MS for the certificates to reach every node.
 *  4. A step that acts on voucher 1 reads its state from the first node
 *     that answers, which may not have applied the certificate the
 *     previous step got from another node yet.  Its older next_seq would
 *     name a slot already signed for, and the holder's slot guard would
 *     (rightly) refuse the new order (ctl_orders.c note 3).  So the step
 *     waits, at most DEMO_CONVERGE_MS, until the state shows the seq the
 *     demo saw certified (voucher_now).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "vl_client.h"

/* Per node: above voucherd's client_timeout_ms (5 s), so a node's own
 * TIMEOUT answer arrives before ours. */
#define DEMO_TIMEOUT_MS 10000u
#define DEMO_NETWORK_MS 20000u
#define DEMO_STATUS_TIMEOUT_MS 1000u
#define DEMO_CONVERGE_MS 10000u
/* What Shanghai issues to firm1: three vouchers of CNY 50,000.00. */
#define DEMO_VOUCHERS 3u
#define DEMO_VALUE_FEN 5000000u
#define DEMO_PROGRAM "shanghai-compute-2026"

typedef struct {
    vl_ctx *c;   /* for failures: never --json (one line on stderr each) */
    bool json;   /* --json: only the summary, on stdout at the end */
    devnet *d;
    ctl_net net; /* every node, node1 first */
    unsigned step;
    json_t *sum; /* the --json summary */
    const devnet_member *issuer, *holder;
    const devnet_member *dc[4]; /* guizhou, ningxia, inner-mongolia, gansu */
    uint8_t vouchers[DEMO_VOUCHERS][32];
    uint64_t spent_fen; /* certified from vouchers[0] */
    uint64_t next_seq;  /* vouchers[0]'s next seq, as it must be */
    bool frozen;        /* outcome c of note 2 */
} demo;

/* ---- output ------------------------------------------------------------------------ */

/* A new numbered step (printed unless --json). */
__attribute__((format(printf, 2, 3))) static void say(demo *m, const char *fmt, ...)
{
    va_list ap;
    m->step++;
    if (m->json)
        return;
    printf("\n%u. ", m->step);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* A line under the current step. */
__attribute__((format(printf, 2, 3))) static void more(const demo *m, const char *fmt, ...)
{
    va_list ap;
    if (m->json)
        return;
    fputs("   ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* "CNY 12,000.00" */
static const char *cny(char buf[40], uint64_t fen)
{
    char digits[24], grouped[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, fen / 100u), k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    grouped[k] = '\0';
    snprintf(buf, 40, "CNY %s.%02u", grouped, (unsigned)(fen % 100u));
    return buf;
}

static const char *hex32(char buf[65], const uint8_t b[32])
{
    vl_hex_encode(buf, b, 32);
    return buf;
}

static const char *node_where(char buf[64], const devnet *d, uint32_t i)
{
    snprintf(buf, 64, "%s (%s)", d->nodes[i].id, devnet_region_name(d->nodes[i].region));
    return buf;
}

/* ---- helpers ----------------------------------------------------------------------- */

static const devnet_member *member(const demo *m, const devnet_member *list, uint32_t n,
                                   const char *id, int *st)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(list[i].id, id) == 0)
            return &list[i];
    if (*st == EXIT_OK)
        *st = fail(m->c, EXIT_FAIL, "%s/%s has no member \"%s\"", m->d->dir, DEVNET_FILE, id);
    return NULL;
}

/* SUBMIT raw to node i alone (r is always initialised). */
static vl_err submit_at(const demo *m, uint32_t i, const uint8_t *raw, size_t len,
                        vl_client_result *r)
{
    vl_client *cl = NULL;
    const char *ep = m->d->nodes[i].client_endpoint;
    memset(r, 0, sizeof *r);
    r->endpoint = -1;
    vl_err e = vl_client_new(&cl, m->net.g, &ep, 1, DEMO_TIMEOUT_MS);
    if (e == VL_OK)
        e = vl_client_submit(cl, raw, len, r);
    else
        r->code = e;
    vl_client_destroy(&cl);
    return e;
}

/* Verify a certificate here, offline, against the genesis; its voters as
 * "node1, node2, node3" in names.  Returns the verification result. */
static vl_err check_cert(const demo *m, const uint8_t *cert, size_t len, const uint8_t hash[32],
                         unsigned *votes, char *names, size_t cap)
{
    vl_cert *ct = malloc(sizeof *ct);
    vl_err e = ct == NULL ? VL_ERR_NOMEM
                          : vl_client_verify_cert(m->net.g, NULL, cert, len, hash, ct, NULL);
    *votes = 0;
    names[0] = '\0';
    for (unsigned i = 0; e == VL_OK && i < ct->vote_count; i++) {
        size_t used = strlen(names);
        uint16_t v = ct->votes[i].voter;
        snprintf(names + used, cap - used, "%s%s", i > 0 ? ", " : "",
                 v < m->net.g->node_count ? m->net.g->nodes[v].id : "?");
        (*votes)++;
    }
    free(ct);
    return e;
}

/* A refusal by the network: one line on stderr, as voucherctl reports one,
 * and "error" in the summary. */
static int refused(const demo *m, const char *what, const vl_client_result *r)
{
    bool answered = r->answered > 0;
    json_t *e = jobj();
    jset(e, "step", json_integer(m->step + 1));
    jset(e, "what", json_string(what));
    jset(e, "code", json_string(answered ? net_code_name(r->code, false) : "UNAVAILABLE"));
    jset(e, "detail", json_string(answered ? net_detail_name(r->code) : "UNAVAILABLE"));
    jset(e, "message", json_string(r->message));
    jset(m->sum, "error", e);
    fprintf(stderr, "voucherctl devnet demo: %s failed:\n", what);
    return net_refused(m->c, m->net.g, r->code, answered, r->message, r->evidence,
                       r->evidence_len);
}

static int load_member_key(const demo *m, const devnet_member *who, vl_keyfile *k)
{
    return load_keyfile(m->c, who->key_file, k);
}

/* ---- 1. the network ------------------------------------------------------------------ */

/* Wait (note 3) until every node answers, reaches a quorum and has every
 * peer link.  The first node that does not answer, else the first without
 * all its links, in *bad (-1 when all are fine). */
static int network_ready(demo *m, vl_status *s, int *bad, bool *bad_answered)
{
    uint64_t deadline = devnet_now_ms() + DEMO_NETWORK_MS;
    uint32_t n = m->d->node_count, answered;
    const char *eps[VL_MAX_NODES];
    vl_client *cl = NULL;
    for (uint32_t i = 0; i < n; i++)
        eps[i] = m->d->nodes[i].client_endpoint;
    if (vl_client_new(&cl, m->net.g, eps, n, DEMO_STATUS_TIMEOUT_MS) != VL_OK)
        return fail(m->c, EXIT_FAIL, "cannot make a client");
    for (;;) {
        int silent = -1, unlinked = -1;
        answered = 0;
        for (uint32_t i = 0; i < n; i++) {
            vl_err e = vl_client_status(cl, i, &s[i]);
            answered += e == VL_OK ? 1u : 0u;
            if (silent < 0 && e != VL_OK)
                silent = (int)i;
            if (unlinked < 0 && e == VL_OK &&
                (s[i].peers_connected + 1 < n || (s[i].flags & VL_STATUS_IN_QUORUM) == 0))
                unlinked = (int)i;
        }
        *bad = silent >= 0 ? silent : unlinked; /* a silent node explains the others' links */
        *bad_answered = silent < 0;
        if (*bad < 0 || devnet_now_ms() >= deadline) {
            vl_client_destroy(&cl);
            return answered == 0 ? EXIT_UNREACHABLE : EXIT_OK;
        }
        devnet_sleep_ms(200);
    }
}

static int step_network(demo *m)
{
    vl_status s[VL_MAX_NODES];
    int bad = -1;
    char hex[65], where[64];
    uint32_t running = 0;
    int down = -1;
    bool bad_answered = false;
    for (uint32_t i = 0; i < m->d->node_count; i++) {
        bool run = devnet_node_running(&m->d->nodes[i]);
        running += run ? 1u : 0u;
        down = down < 0 && !run ? (int)i : down;
    }
    if (running == 0)
        return fail(m->c, EXIT_UNREACHABLE, "the devnet in %s is stopped: start it with "
                    "`voucherctl devnet up --dir %s`", m->d->dir, m->d->dir);
    if (down >= 0)
        return fail(m->c, EXIT_FAIL, "%s is not running (see its log %s); `voucherctl devnet "
                    "down --dir %s` then `up` restarts the devnet",
                    node_where(where, m->d, (uint32_t)down), m->d->nodes[down].log, m->d->dir);
    int st = network_ready(m, s, &bad, &bad_answered);
    if (st == EXIT_UNREACHABLE)
        return fail(m->c, st, "no node of the devnet in %s answers: is it up? (`voucherctl "
                    "devnet status --dir %s`)", m->d->dir, m->d->dir);
    if (st != EXIT_OK)
        return st;
    if (bad >= 0)
        return fail(m->c, EXIT_FAIL, "%s %s after %u s (`voucherctl devnet status --dir %s`)",
                    node_where(where, m->d, (uint32_t)bad),
                    bad_answered ? "still lacks some peer links, or a quorum"
                                 : "does not answer",
                    DEMO_NETWORK_MS / 1000u, m->d->dir);
    say(m, "The devnet in %s answers: %u nodes (%u voters), each linked to its %u peers. A "
        "certificate needs the signatures of %u voters (the quorum). Network id %s.",
        m->d->dir, (unsigned)m->d->node_count, (unsigned)m->net.g->voter_count,
        (unsigned)(m->d->node_count - 1), (unsigned)m->net.g->quorum,
        hex32(hex, m->net.g->network_id));
    jset(m->sum, "network_id", json_string(hex));
    jset(m->sum, "voters", json_integer(m->net.g->voter_count));
    jset(m->sum, "quorum", json_integer(m->net.g->quorum));
    return EXIT_OK;
}

/* ---- 2. issue ------------------------------------------------------------------------- */

static int step_issue(demo *m)
{
    vl_order *o = malloc(sizeof *o);
    vl_keyfile k;
    vl_voucher_spec spec;
    uint64_t seq = 0;
    uint8_t *raw = NULL, hash[32];
    size_t len = 0;
    bool reused = false;
    vl_client_result r;
    memset(&r, 0, sizeof r);
    memset(&k, 0, sizeof k);
    int st = o == NULL ? fail(m->c, EXIT_FAIL, "out of memory")
                       : issuer_next_seq(m->c, &m->net, m->issuer->pubkey, &seq);
    if (st == EXIT_OK) {
        vl_orderkit_spec_defaults(&spec, seq, (uint64_t)time(NULL));
        memcpy(spec.holder, m->holder->pubkey, 32);
        spec.value_fen = DEMO_VALUE_FEN;
        spec.program = (vl_bytes){(const uint8_t *)DEMO_PROGRAM, sizeof DEMO_PROGRAM - 1};
        st = order_built(m->c, vl_orderkit_issue_alike(o, m->net.g, m->issuer->pubkey, seq, &spec,
                                                       DEMO_VOUCHERS));
    }
    if (st == EXIT_OK)
        st = load_member_key(m, m->issuer, &k);
    if (st == EXIT_OK)
        st = issuer_sign(m->c, m->net.g, m->issuer->key_file, &k, o, true, &raw, &len, &reused);
    vl_keyfile_wipe(&k);
    if (st == EXIT_OK && vl_client_submit(m->net.cl, raw, len, &r) != VL_OK)
        st = refused(m, "the issuance", &r);
    char money[40], hex[65], names[256] = "";
    unsigned votes = 0;
    if (st == EXIT_OK) {
        vl_order_hash(hash, o);
        vl_err e = check_cert(m, r.cert, r.cert_len, hash, &votes, names, sizeof names);
        if (e != VL_OK)
            st = fail(m->c, EXIT_FAIL, "the issuance certificate does not verify: %s",
                      vl_strerror(e));
    }
    if (st == EXIT_OK) {
        json_t *j = jobj(), *ids = jarr();
        say(m, "%s (issuer, region %u) issues %u vouchers of %s each to %s, program \"%s\", "
            "subsidy %u%%: one ISSUE order at the issuer's seq %" PRIu64 ", signed with %s.",
            m->issuer->name, (unsigned)m->issuer->region, DEMO_VOUCHERS,
            cny(money, DEMO_VALUE_FEN), m->holder->id, DEMO_PROGRAM,
            (unsigned)(spec.subsidy_bp / 100u), seq, m->issuer->key_file);
        for (unsigned i = 0; i < DEMO_VOUCHERS; i++) {
            vl_voucher_account_id(m->vouchers[i], m->issuer->pubkey, spec.serial + i);
            more(m, "voucher %u: %s (serial %" PRIu64 ")", i + 1, hex32(hex, m->vouchers[i]),
                 spec.serial + i);
            jappend(ids, jhex(m->vouchers[i], 32));
        }
        more(m, "Certified. The certificate was verified here, offline, against the genesis: "
             "%u of %u voter signatures (%s), quorum %u.", votes,
             (unsigned)m->net.g->voter_count, names, (unsigned)m->net.g->quorum);
        jset(j, "issuer", json_string(m->issuer->id));
        jset(j, "holder", json_string(m->holder->id));
        jset(j, "seq", ju64(seq));
        jset(j, "vouchers", ids);
        jset(j, "value_fen", ju64(DEMO_VALUE_FEN));
        jset(j, "order_hash", jhex(hash, 32));
        jset(j, "votes", json_integer(votes));
        jset(j, "verified", json_true());
        jset(m->sum, "issue", j);
    }
    vl_client_result_free(&r);
    free(raw);
    free(o);
    return st;
}

/* ---- 3, 4. honest redemptions, and one too large ------------------------------------- */

/* vouchers[0]'s state, once it shows m->next_seq (note 4). */
static int voucher_now(demo *m, voucher_ref *v)
{
    uint64_t deadline = devnet_now_ms() + DEMO_CONVERGE_MS;
    int st;
    while ((st = voucher_fetch(m->c, &m->net, m->vouchers[0], v)) == EXIT_OK &&
           v->seq < m->next_seq && devnet_now_ms() < deadline)
        devnet_sleep_ms(50);
    return st;
}

/* REDEEM amount of vouchers[0] at provider p through node i, holder-signed
 * under the slot guard.  *r holds the answer (the caller frees it). */
static int redeem_at(demo *m, const devnet_member *p, uint32_t i, uint64_t amount,
                     uint64_t gpu_milli, vl_order *o, vl_client_result *r)
{
    voucher_ref v;
    vl_keyfile holder, provider;
    uint8_t *raw = NULL;
    size_t len = 0;
    bool reused = false;
    memset(&holder, 0, sizeof holder);
    memset(&provider, 0, sizeof provider);
    memset(r, 0, sizeof *r);
    int st = voucher_now(m, &v);
    if (st == EXIT_OK && (st = load_member_key(m, m->holder, &holder)) == EXIT_OK)
        st = load_member_key(m, p, &provider);
    if (st == EXIT_OK) {
        vl_orderkit_redeem rp;
        redeem_params(&rp, &v, m->holder->pubkey, p->pubkey, amount, gpu_milli);
        st = order_built(m->c, vl_orderkit_redeem_build(o, m->net.g, &rp));
    }
    if (st == EXIT_OK)
        st = redeem_sign(m->c, m->net.g, m->holder->key_file, o, &holder, &provider, &raw, &len,
                         &reused);
    vl_keyfile_wipe(&holder);
    vl_keyfile_wipe(&provider);
    if (st == EXIT_OK)
        submit_at(m, i, raw, len, r);
    free(raw);
    return st;
}

static int step_redeem(demo *m, const devnet_member *p, uint32_t i, uint64_t amount,
                       uint64_t gpu_milli, json_t *list)
{
    vl_order *o = malloc(sizeof *o);
    vl_client_result r;
    char money[40], where[64], names[256] = "", hex[65];
    unsigned votes = 0;
    uint8_t hash[32];
    memset(&r, 0, sizeof r);
    int st = o == NULL ? fail(m->c, EXIT_FAIL, "out of memory")
                       : redeem_at(m, p, i, amount, gpu_milli, o, &r);
    if (st == EXIT_OK && r.code != VL_OK)
        st = refused(m, "a redemption", &r);
    if (st == EXIT_OK) {
        vl_order_hash(hash, o);
        vl_err e = check_cert(m, r.cert, r.cert_len, hash, &votes, names, sizeof names);
        if (e != VL_OK)
            st = fail(m->c, EXIT_FAIL, "the redemption certificate does not verify: %s",
                      vl_strerror(e));
    }
    if (st == EXIT_OK) {
        say(m, "%s redeems %s of voucher 1 for %" PRIu64 ".%03" PRIu64 " GPU-hours at the %s "
            "data center (region %u), through %s.", m->holder->id, cny(money, amount),
            gpu_milli / 1000u, gpu_milli % 1000u, p->name, (unsigned)p->region,
            node_where(where, m->d, i));
        more(m, "Signed by %s and by the data center. Certified at seq %" PRIu64 " of the "
             "voucher, order %s;", m->holder->id, o->seq, hex32(hex, hash));
        more(m, "verified here: %u of %u voter signatures (%s).", votes,
             (unsigned)m->net.g->voter_count, names);
        m->spent_fen += amount;
        m->next_seq = o->seq + 1;
        json_t *j = jobj();
        jset(j, "voucher", jhex(m->vouchers[0], 32));
        jset(j, "seq", ju64(o->seq));
        jset(j, "provider", json_string(p->id));
        jset(j, "node", json_string(m->d->nodes[i].id));
        jset(j, "amount_fen", ju64(amount));
        jset(j, "order_hash", jhex(hash, 32));
        jset(j, "votes", json_integer(votes));
        jappend(list, j);
    }
    vl_client_result_free(&r);
    free(o);
    return st;
}

static int step_overspend(demo *m, uint32_t i)
{
    vl_order *o = malloc(sizeof *o);
    vl_client_result r;
    char money[40], left[40], where[64];
    uint64_t remaining = DEMO_VALUE_FEN - m->spent_fen, amount = remaining + 1000000u;
    memset(&r, 0, sizeof r);
    int st = o == NULL ? fail(m->c, EXIT_FAIL, "out of memory")
                       : redeem_at(m, m->dc[0], i, amount, 80000, o, &r);
    if (st == EXIT_OK && r.code == VL_OK)
        st = fail(m->c, EXIT_FAIL, "a redemption above the remaining value was CERTIFIED");
    else if (st == EXIT_OK && r.code != VL_ERR_OVERSPEND)
        st = refused(m, "the over-large redemption (expected INSUFFICIENT_BALANCE)", &r);
    if (st == EXIT_OK) {
        say(m, "%s asks for %s from voucher 1, which has %s left, at %s through %s.",
            m->holder->id, cny(money, amount), cny(left, remaining), m->dc[0]->name,
            node_where(where, m->d, i));
        more(m, "Refused: %s (%s): %s. Nothing was spent and the slot (seq %" PRIu64
             ") is still free: the voters do not lock an order they refuse.",
             net_code_name(r.code, false), net_detail_name(r.code), r.message, o->seq);
        json_t *j = jobj();
        jset(j, "code", json_string(net_code_name(r.code, false)));
        jset(j, "detail", json_string(net_detail_name(r.code)));
        jset(j, "amount_fen", ju64(amount));
        jset(j, "remaining_fen", ju64(remaining));
        jset(j, "node", json_string(m->d->nodes[i].id));
        jset(m->sum, "insufficient_balance", j);
    }
    vl_client_result_free(&r);
    free(o);
    return st;
}

/* ---- 5. the double spend (note 2) --------------------------------------------------------- */

typedef struct {
    const vl_genesis *g;
    const char *endpoint;
    const uint8_t *raw;
    size_t len;
    pthread_barrier_t *start;
    vl_client_result r;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    vl_client *cl = NULL;
    memset(&x->r, 0, sizeof x->r);
    x->r.endpoint = -1;
    vl_status st;
    vl_err e = vl_client_new(&cl, x->g, &x->endpoint, 1, DEMO_TIMEOUT_MS);
    if (e == VL_OK) /* connect first (sockets are made on first use), so that ... */
        vl_client_status(cl, 0, &st);
    pthread_barrier_wait(x->start); /* ... the two orders leave together */
    if (e == VL_OK)
        vl_client_submit(cl, x->raw, x->len, &x->r);
    else
        x->r.code = e;
    vl_client_destroy(&cl);
    return NULL;
}

/* Whether the refusal r of order `mine` carries the other order of the
 * same slot, signed by the same holder (its hash in other). */
static bool proves_double_sign(const demo *m, const vl_client_result *r, const vl_order *mine,
                               uint8_t other[32])
{
    vl_order *o = malloc(sizeof *o);
    vl_cert *ct = malloc(sizeof *ct);
    bool ok = o != NULL && ct != NULL && r->evidence != NULL;
    if (ok && r->evidence_kind == VL_EVIDENCE_ORDER)
        ok = vl_order_decode(r->evidence, r->evidence_len, o) == VL_OK;
    else if (ok && r->evidence_kind == VL_EVIDENCE_CERT) {
        ok = vl_cert_decode(r->evidence, r->evidence_len, ct) == VL_OK;
        if (ok)
            memcpy(o, &ct->order, sizeof *o);
    } else {
        ok = false;
    }
    uint8_t a1[32], a2[32], h1[32];
    if (ok) {
        vl_order_account(a1, mine);
        vl_order_account(a2, o);
        vl_order_hash(h1, mine);
        vl_order_hash(other, o);
        ok = o->kind == VL_ORDER_REDEEM && memcmp(a1, a2, 32) == 0 && o->seq == mine->seq &&
             memcmp(h1, other, 32) != 0 && memcmp(o->holder, mine->holder, 32) == 0 &&
             vl_order_verify(m->net.g, o, other) == VL_OK &&
             vl_order_verify(m->net.g, mine, h1) == VL_OK;
    }
    free(ct);
    free(o);
    return ok;
}

typedef struct {
    const devnet_member *dc;
    uint32_t node;
    uint64_t amount;
    vl_order *o;
    uint8_t *raw;
    size_t len;
    uint8_t hash[32];
    racer x;
    bool proof;
    uint8_t other[32];
} cheat;

/* Both orders for seq, signed by the holder WITHOUT the slot guard. */
static int sign_cheats(demo *m, const voucher_ref *v, cheat *ch)
{
    vl_keyfile holder, provider;
    bool reused;
    memset(&holder, 0, sizeof holder);
    memset(&provider, 0, sizeof provider);
    int st = load_member_key(m, m->holder, &holder);
    for (int i = 0; st == EXIT_OK && i < 2; i++) {
        if ((ch[i].o = malloc(sizeof *ch[i].o)) == NULL) {
            st = fail(m->c, EXIT_FAIL, "out of memory");
            break;
        }
        if ((st = load_member_key(m, ch[i].dc, &provider)) != EXIT_OK)
            break;
        vl_orderkit_redeem rp;
        redeem_params(&rp, v, m->holder->pubkey, ch[i].dc->pubkey, ch[i].amount,
                      ch[i].amount / 12500u); /* CNY 125 a GPU-hour */
        st = order_built(m->c, vl_orderkit_redeem_build(ch[i].o, m->net.g, &rp));
        if (st == EXIT_OK)
            st = redeem_sign(m->c, m->net.g, NULL, ch[i].o, &holder, &provider, &ch[i].raw,
                             &ch[i].len, &reused);
        vl_keyfile_wipe(&provider);
        if (st == EXIT_OK)
            vl_order_hash(ch[i].hash, ch[i].o);
    }
    vl_keyfile_wipe(&holder);
    return st;
}

/* Send both at the same moment; answers in ch[i].x.r. */
static int race_cheats(demo *m, cheat *ch)
{
    pthread_barrier_t start;
    pthread_t t[2];
    if (pthread_barrier_init(&start, NULL, 2) != 0)
        return fail(m->c, EXIT_FAIL, "pthread_barrier_init failed");
    int made = 0;
    for (; made < 2; made++) {
        ch[made].x = (racer){.g = m->net.g, .endpoint = m->d->nodes[ch[made].node].client_endpoint,
                             .raw = ch[made].raw, .len = ch[made].len, .start = &start};
        if (pthread_create(&t[made], NULL, race, &ch[made].x) != 0)
            break;
    }
    if (made == 1) /* the first thread waits at the barrier: run the second here */
        race(&ch[1].x);
    for (int i = 0; i < made; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    return made == 0 ? fail(m->c, EXIT_FAIL, "cannot start a thread") : EXIT_OK;
}

/* Explain the evidence of refusal ch[i] in words (note 2). */
static void explain_proof(const demo *m, const cheat *ch, int i)
{
    char hex[65], a[65], b[65];
    more(m, "The refusal carries evidence: %s, signed for the same slot.",
         ch[i].x.r.evidence_kind == VL_EVIDENCE_CERT ? "the certificate of the other order"
                                                     : "the other order");
    char ma[40], mb[40];
    more(m, "  A = order %s: %s at %s", hex32(a, ch[0].hash), cny(ma, ch[0].amount),
         ch[0].dc->name);
    more(m, "  B = order %s: %s at %s", hex32(b, ch[1].hash), cny(mb, ch[1].amount),
         ch[1].dc->name);
    more(m, "Both name voucher 1, seq %" PRIu64 ", and both carry a valid signature of the "
         "holder key %s (%s), checked here against the genesis.", ch[0].o->seq,
         hex32(hex, m->holder->pubkey), m->holder->id);
    more(m, "A holder signs ONE order per slot; two different signed orders for one slot are "
         "a proof, which anyone with the genesis can check, that %s tried to spend the same "
         "voucher money twice.", m->holder->id);
}

static json_t *cheat_json(const demo *m, const cheat *ch)
{
    json_t *j = jobj();
    vl_err e = ch->x.r.code;
    jset(j, "provider", json_string(ch->dc->id));
    jset(j, "node", json_string(m->d->nodes[ch->node].id));
    jset(j, "amount_fen", ju64(ch->amount));
    jset(j, "order_hash", jhex(ch->hash, 32));
    jset(j, "result", json_string(e == VL_OK ? "certified" : net_code_name(e, false)));
    if (e != VL_OK) {
        jset(j, "detail", json_string(net_detail_name(e)));
        jset(j, "message", json_string(ch->x.r.message));
        jset(j, "evidence_proves_double_signing", json_boolean(ch->proof));
    }
    return j;
}

/* Judge the outcome (note 2) and say it. */
static int judge_cheats(demo *m, cheat *ch, uint64_t seq)
{
    char money[40], where[64], names[256];
    bool ok[2] = {ch[0].x.r.code == VL_OK, ch[1].x.r.code == VL_OK};
    unsigned votes = 0;
    if (ok[0] && ok[1])
        return fail(m->c, EXIT_FAIL, "BOTH orders for seq %" PRIu64 " were certified: a "
                    "double spend. This is a bug", seq);
    for (int i = 0; i < 2; i++) {
        vl_err e = ch[i].x.r.code;
        if (ok[i] && check_cert(m, ch[i].x.r.cert, ch[i].x.r.cert_len, ch[i].hash, &votes, names,
                                sizeof names) != VL_OK)
            return fail(m->c, EXIT_FAIL, "the certificate of order %c does not verify", 'A' + i);
        ch[i].proof = !ok[i] && proves_double_sign(m, &ch[i].x.r, ch[i].o, ch[i].other);
        bool expected = ok[i] || ((e == VL_ERR_CONFLICT || e == VL_ERR_ALREADY_CERTIFIED ||
                                   (e == VL_ERR_QUORUM && !ok[1 - i])) &&
                                  (ch[i].proof || e == VL_ERR_QUORUM));
        if (!expected) {
            char what[64];
            snprintf(what, sizeof what, "order %c of the double spend", 'A' + i);
            return e == VL_OK ? EXIT_FAIL : refused(m, what, &ch[i].x.r);
        }
    }
    int proof = ch[0].proof ? 0 : ch[1].proof ? 1 : -1;
    if (proof < 0)
        return fail(m->c, EXIT_FAIL, "no refusal carried the other order as evidence");
    for (int i = 0; i < 2; i++) {
        if (ok[i]) {
            more(m, "order %c (%s at %s) through %s: CERTIFIED, %u of %u voter signatures (%s).",
                 'A' + i, cny(money, ch[i].amount), ch[i].dc->name,
                 node_where(where, m->d, ch[i].node), votes, (unsigned)m->net.g->voter_count,
                 names);
            m->spent_fen += ch[i].amount;
            m->next_seq = seq + 1;
        } else {
            more(m, "order %c (%s at %s) through %s: refused, %s (%s): %s.", 'A' + i,
                 cny(money, ch[i].amount), ch[i].dc->name, node_where(where, m->d, ch[i].node),
                 net_code_name(ch[i].x.r.code, false), net_detail_name(ch[i].x.r.code),
                 ch[i].x.r.message);
        }
    }
    explain_proof(m, ch, proof);
    m->frozen = !ok[0] && !ok[1];
    if (m->frozen)
        more(m, "Neither order got a quorum: the voters split between them, and a voter votes "
             "once per slot, ever. So seq %" PRIu64 " of voucher 1 is frozen for good: its "
             "money cannot be spent twice, nor at all; the issuer can issue a replacement.", seq);
    else
        more(m, "Only order %c was paid. No voter signs two orders for one slot, so a second "
             "certificate can never exist.", ok[0] ? 'A' : 'B');
    return EXIT_OK;
}

static int step_double_spend(demo *m, uint32_t na, uint32_t nb)
{
    voucher_ref v;
    cheat ch[2];
    char where[2][64], hex[65];
    memset(ch, 0, sizeof ch);
    ch[0] = (cheat){.dc = m->dc[2], .node = na, .amount = 2000000u};
    ch[1] = (cheat){.dc = m->dc[3], .node = nb, .amount = 2500000u};
    int st = voucher_now(m, &v);
    if (st == EXIT_OK)
        st = sign_cheats(m, &v, ch);
    if (st == EXIT_OK) {
        char a[40], b[40];
        say(m, "Now %s cheats. Bypassing its wallet's slot guard, it signs two DIFFERENT "
            "redemptions for the same slot (voucher 1, seq %" PRIu64 "): A, %s at %s, and B, %s "
            "at %s, and sends A to %s and B to %s at the same moment%s.",
            m->holder->id, v.seq, cny(a, ch[0].amount), ch[0].dc->name, cny(b, ch[1].amount),
            ch[1].dc->name, node_where(where[0], m->d, na), node_where(where[1], m->d, nb),
            na == nb ? " (a one-node devnet has no other node)" : "");
        st = race_cheats(m, ch);
    }
    if (st == EXIT_OK)
        st = judge_cheats(m, ch, v.seq);
    if (st == EXIT_OK) {
        json_t *j = jobj(), *orders = jarr(), *proof = jobj(), *hashes = jarr();
        jset(j, "seq", ju64(v.seq));
        jset(j, "outcome", json_string(m->frozen ? "frozen" : "one_certified"));
        jappend(orders, cheat_json(m, &ch[0]));
        jappend(orders, cheat_json(m, &ch[1]));
        jset(j, "orders", orders);
        jappend(hashes, jhex(ch[0].hash, 32));
        jappend(hashes, jhex(ch[1].hash, 32));
        jset(proof, "order_hashes", hashes);
        jset(proof, "signer", json_string(hex32(hex, m->holder->pubkey)));
        jset(proof, "holder", json_string(m->holder->id));
        jset(proof, "verified", json_true());
        jset(j, "proof", proof);
        jset(m->sum, "double_spend", j);
    }
    for (int i = 0; i < 2; i++) {
        vl_client_result_free(&ch[i].x.r);
        free(ch[i].raw);
        free(ch[i].o);
    }
    return st;
}

/* ---- 6, 7. the voucher, and every node ----------------------------------------------------- */

/* GET_ACCOUNT of vouchers[0] until it shows what it must (note 3). */
static int fetch_settled(demo *m, vl_client_account *a)
{
    uint64_t deadline = devnet_now_ms() + DEMO_CONVERGE_MS;
    for (;;) {
        vl_err e = vl_client_get_account(m->net.cl, m->vouchers[0], a);
        bool all_ok = e == VL_OK;
        for (uint32_t i = 0; all_ok && i < a->cert_count; i++)
            all_ok = a->cert_ok[i] == VL_OK;
        if (all_ok && a->account.next_seq == m->next_seq &&
            a->account.remaining_fen == DEMO_VALUE_FEN - m->spent_fen)
            return EXIT_OK;
        if (devnet_now_ms() >= deadline) {
            char want[40], got[40];
            if (e != VL_OK)
                return net_refused(m->c, m->net.g, e, e != VL_ERR_UNAVAILABLE, a->message, NULL,
                                   0);
            return fail(m->c, EXIT_FAIL,
                        "voucher 1 shows next seq %" PRIu64 " and %s left (history %s); "
                        "expected next seq %" PRIu64 " and %s",
                        a->account.next_seq, cny(got, a->account.remaining_fen),
                        all_ok ? "verified" : "NOT verified", m->next_seq,
                        cny(want, DEMO_VALUE_FEN - m->spent_fen));
        }
        vl_client_account_free(a);
        devnet_sleep_ms(200);
    }
}

static int step_query(demo *m)
{
    vl_client_account a;
    char money[40], left[40], hex[65];
    int st = fetch_settled(m, &a);
    if (st == EXIT_OK) {
        const vl_account *ac = &a.account;
        say(m, "Voucher 1 as the network holds it: %s, face value %s, %s left, next seq %" PRIu64
            ". Its history, every certificate verified here against the genesis:",
            ac->status == VL_VOUCHER_ACTIVE ? "active" : "revoked", cny(money, ac->face_fen),
            cny(left, ac->remaining_fen), ac->next_seq);
        for (uint32_t i = 0; i < a.cert_count; i++) {
            vl_cert *ct = malloc(sizeof *ct);
            if (ct != NULL && vl_cert_decode(a.certs[i], a.cert_lens[i], ct) == VL_OK) {
                int p = vl_genesis_provider_by_pubkey(m->net.g, ct->order.provider);
                more(m, "seq %" PRIu64 ": redeem %s at %s, signed by %u voter(s), verified",
                     ct->order.seq, cny(money, ct->order.amount_fen),
                     p >= 0 ? m->net.g->providers[p].id : "?", (unsigned)ct->vote_count);
            }
            free(ct);
        }
        if (m->frozen)
            more(m, "(seq %" PRIu64 " stays frozen: the two cheating orders hold its votes.)",
                 m->next_seq);
        json_t *j = jobj();
        jset(j, "id", json_string(hex32(hex, m->vouchers[0])));
        jset(j, "status", json_string(ac->status == VL_VOUCHER_ACTIVE ? "active" : "revoked"));
        jset(j, "face_fen", ju64(ac->face_fen));
        jset(j, "remaining_fen", ju64(ac->remaining_fen));
        jset(j, "next_seq", ju64(ac->next_seq));
        jset(j, "certificates", json_integer(a.cert_count));
        jset(j, "verified", json_true());
        jset(m->sum, "voucher", j);
    }
    vl_client_account_free(&a);
    return st;
}

/* Every node's STATUS until all state digests are equal (note 3). */
static int step_digests(demo *m)
{
    vl_status s[VL_MAX_NODES];
    uint32_t n = m->d->node_count;
    uint64_t deadline = devnet_now_ms() + DEMO_CONVERGE_MS;
    bool same = false;
    char hex[65], where[64];
    while (!same) {
        same = true;
        for (uint32_t i = 0; i < n; i++) {
            vl_err e = vl_client_status(m->net.cl, i, &s[i]);
            if (e != VL_OK)
                return fail(m->c, EXIT_FAIL, "%s does not answer STATUS: %s",
                            node_where(where, m->d, i), vl_strerror(e));
            same = same && memcmp(s[i].state_digest, s[0].state_digest, 32) == 0 &&
                   s[i].log_head == s[0].log_head;
        }
        if (!same && devnet_now_ms() >= deadline)
            return fail(m->c, EXIT_FAIL, "the nodes' state digests still differ after %u s "
                        "(`voucherctl status --devnet %s`)", DEMO_CONVERGE_MS / 1000u,
                        m->d->dir);
        if (!same)
            devnet_sleep_ms(200);
    }
    say(m, "Every node, asked in turn:");
    json_t *nodes = jarr();
    for (uint32_t i = 0; i < n; i++) {
        more(m, "%-24s %-8s log %" PRIu64 " entries, state digest %s",
             node_where(where, m->d, i), m->d->nodes[i].voter ? "voter" : "observer",
             s[i].log_head, hex32(hex, s[i].state_digest));
        json_t *j = jobj();
        jset(j, "id", json_string(m->d->nodes[i].id));
        jset(j, "log_head", ju64(s[i].log_head));
        jset(j, "state_digest", json_string(hex));
        jappend(nodes, j);
    }
    more(m, "The same digest everywhere: every node holds the same certificates, whichever "
         "node each order went through.");
    jset(m->sum, "nodes", nodes);
    jset(m->sum, "same_state", json_true());
    return EXIT_OK;
}

/* ---- the command -------------------------------------------------------------------------- */

static int demo_members(demo *m)
{
    int st = EXIT_OK;
    const devnet *d = m->d;
    static const char *dcs[4] = {"guizhou", "ningxia", "inner-mongolia", "gansu"};
    m->issuer = member(m, d->issuers, d->issuer_count, "shanghai", &st);
    m->holder = member(m, d->holders, d->holder_count, "firm1", &st);
    for (int i = 0; i < 4; i++)
        m->dc[i] = member(m, d->providers, d->provider_count, dcs[i], &st);
    return st;
}

static int run_story(demo *m)
{
    uint32_t n = m->d->node_count;
    uint32_t na = 1 % n, nb = 3 % n; /* the cheat's two entry nodes: node2, node4 */
    if (na == nb && n > 1)
        nb = (na + 1) % n;
    json_t *redemptions = jarr();
    jset(m->sum, "redemptions", redemptions); /* borrowed below: the summary owns it */
    int st = step_network(m);
    if (st == EXIT_OK)
        st = step_issue(m);
    if (st == EXIT_OK)
        st = step_redeem(m, m->dc[0], 0, 1200000u, 96000u, redemptions);
    if (st == EXIT_OK)
        st = step_redeem(m, m->dc[1], 2 % n, 800000u, 64000u, redemptions);
    if (st == EXIT_OK)
        st = step_overspend(m, 1 % n);
    if (st == EXIT_OK)
        st = step_double_spend(m, na, nb);
    if (st == EXIT_OK)
        st = step_query(m);
    if (st == EXIT_OK)
        st = step_digests(m);
    return st;
}

int devnet_demo(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "dir", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = 1};
    vl_ctx quiet = *c;
    demo m = {.c = &quiet};
    int st = parse_args(c, &a, argc, argv);
    m.json = c->json;
    quiet.json = false;
    if (st == EXIT_OK)
        st = devnet_load(m.c, opts[0].value, &m.d);
    if (st == EXIT_OK)
        st = demo_members(&m);
    if (st == EXIT_OK) {
        /* the network options of every command, filled from the devnet */
        vl_opt net[] = {NET_OPTS};
        net[O_DEVNET].value = m.d->dir;
        st = net_open(m.c, net, &m.net);
    }
    if (st == EXIT_OK) {
        m.sum = jobj();
        jset(m.sum, "dir", json_string(m.d->dir));
        st = run_story(&m);
        jset(m.sum, "ok", json_boolean(st == EXIT_OK));
        if (st != EXIT_OK)
            jset(m.sum, "failed_step", json_integer(m.step + 1));
        if (c->json) {
            int e = emit(c, m.sum, NULL);
            st = st != EXIT_OK ? st : e;
        } else {
            json_decref(m.sum);
            if (st == EXIT_OK)
                printf("\nThe demo ran as expected: issued, redeemed in two provinces, an "
                       "overspend refused, a double spend caught with its proof, and every "
                       "node agrees.\n");
        }
    }
    net_close(&m.net);
    free(m.d);
    free_args(&a);
    return st;
}
