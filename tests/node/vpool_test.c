/* vpool_test.c - voucherd's verification pool (node/vl_vpool.h) in front of
 * a real consensus core (tests/consensus/harness.h): the pool checks a
 * batch's signatures on several threads through the core's cache, and the
 * core, which still decides everything, then finds them there.
 *
 *  - A lone voter given a batch of SUBMITs: the pool reports the good
 *    orders' signatures, the core hits its cache for them, certifies the
 *    good orders and still refuses, in the same batch, an order with a bad
 *    provider signature (BAD_SIG) and one for a provider the genesis does
 *    not list (UNKNOWN_PROVIDER).
 *  - A voter of four given a CERTS and a VOTE_REQUEST in one step: the
 *    certificate's order and vote signatures and the requested orders'
 *    signatures are pre-checked; the reply votes for the good orders and
 *    answers REJECTED for the two bad ones.
 *  - The outputs of each step are the same bytes, in the same order, as a
 *    second core's given the same batch without a pool.
 *  - Below VL_VPOOL_MIN_ORDERS the pool does nothing; inputs that do not
 *    decode, or come from another peer than they claim, are skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "vl_vpool.h"

#define FACE_FEN 5000u
#define BUDGET0_FEN 1000000u
#define GOOD 6u          /* good redemptions per batch */
#define BATCH (GOOD + 2) /* + a bad signature + an unknown provider */
#define MAX_INPUTS 64u

/* A redemption of voucher (0, serial) at seq 0 whose provider is a key the
 * genesis does not list, properly signed by that key. */
static vl_order *redeem_unknown_provider(h_net *h, uint64_t serial)
{
    vl_order *o = h_redeem(h, 0, serial, 0, 0, 100, 0);
    memcpy(o->provider, h->outsider.pubkey, 32);
    h_resign(h, o);
    return o;
}

/* A redemption whose provider signature has one flipped bit. */
static vl_order *redeem_bad_sig(h_net *h, uint64_t serial)
{
    vl_order *o = h_redeem(h, 0, serial, 0, 0, 100, 1);
    o->sigs[1][17] ^= 0x10;
    return o;
}

/* The redemptions of one batch: GOOD good ones (serials 1..GOOD), then
 * the bad signature (GOOD + 1), then the unknown provider (GOOD + 2). */
static void make_batch(h_net *h, vl_order *r[BATCH])
{
    for (unsigned i = 0; i < GOOD; i++)
        r[i] = h_redeem(h, 0, i + 1u, 0, 0, 100u * (i + 1u), i % 2u);
    r[GOOD] = redeem_bad_sig(h, GOOD + 1u);
    r[GOOD + 1] = redeem_unknown_provider(h, GOOD + 2u);
}

static void free_batch(vl_order *r[BATCH])
{
    for (unsigned i = 0; i < BATCH; i++)
        free(r[i]);
}

static vl_vpool *pool_new(h_net *h, unsigned threads)
{
    char err[256];
    vl_vpool *p = NULL;
    vl_err e = vl_vpool_start(&p, threads, MAX_INPUTS, h->g, vl_core_sigcache(h->core), err,
                              sizeof err);
    CHECK_ERR(e, VL_OK);
    if (e != VL_OK) {
        fprintf(stderr, "    %s\n", err);
        printf("%d passed, %d failed\n", vl_test_pass, vl_test_fail);
        exit(1);
    }
    CHECK(vl_vpool_threads(p) == threads);
    return p;
}

/* A copy of the last step's outputs, to compare two cores. */
typedef struct {
    size_t count;
    vl_output items[64];
} outs;

static void outs_take(const h_net *h, outs *o)
{
    o->count = h->out.count < 64 ? h->out.count : 64;
    for (size_t i = 0; i < o->count; i++) {
        o->items[i] = h->out.items[i];
        o->items[i].data = malloc(h->out.items[i].len);
        CHECK(o->items[i].data != NULL);
        if (o->items[i].data != NULL)
            memcpy(o->items[i].data, h->out.items[i].data, h->out.items[i].len);
    }
}

static bool outs_same(const outs *a, const outs *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        const vl_output *x = &a->items[i], *y = &b->items[i];
        if (x->kind != y->kind || x->peer != y->peer || x->client != y->client ||
            x->len != y->len || memcmp(x->data, y->data, x->len) != 0)
            return false;
    }
    return true;
}

static void outs_free(outs *o)
{
    for (size_t i = 0; i < o->count; i++)
        free(o->items[i].data);
    o->count = 0;
}

/* ---- a lone voter: SUBMITs ------------------------------------------------------------ */

typedef struct {
    uint64_t valid;           /* what vl_vpool_run reported */
    uint64_t hits, misses;    /* order-signature lookups during the step */
    vl_reply_kind reply[BATCH];
    uint16_t code[BATCH];
    outs out;
} submit_result;

/* Open a lone voter, certify an ISSUE of GOOD + 2 vouchers (one SUBMIT,
 * no pool), then step one batch of BATCH SUBMITs with a pool of `threads`
 * threads (0: none) in front. */
static void submit_batch(unsigned threads, submit_result *res)
{
    memset(res, 0, sizeof *res);
    h_net *h = h_new(1, 0, 0, BUDGET0_FEN, 5000);
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, BATCH, FACE_FEN, 0);
    CHECK_ERR(h_client(h, 1, VL_REQ_SUBMIT, iss, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 1, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_CERT);

    vl_order *r[BATCH];
    make_batch(h, r);
    h_buf b[BATCH];
    vl_input in[BATCH + 1];
    for (unsigned i = 0; i < BATCH; i++) {
        b[i] = h_client_bytes(h, VL_REQ_SUBMIT, r[i], NULL, 0, 0);
        in[i] = (vl_input){.kind = VL_IN_CLIENT, .client = 100u + i, .data = b[i].data,
                           .len = b[i].len};
    }
    in[BATCH] = (vl_input){.kind = VL_IN_TICK};
    vl_vpool *p = threads > 1 ? pool_new(h, threads) : NULL;
    if (p != NULL)
        res->valid = vl_vpool_run(p, in, BATCH);
    vl_sigcache *cache = vl_core_sigcache(h->core);
    uint64_t hits0 = vl_sigcache_order_hits(cache), misses0 = vl_sigcache_order_misses(cache);
    CHECK_ERR(h_step(h, in, BATCH + 1), VL_OK);
    res->hits = vl_sigcache_order_hits(cache) - hits0;
    res->misses = vl_sigcache_order_misses(cache) - misses0;
    outs_take(h, &res->out);
    for (unsigned i = 0; i < BATCH; i++) {
        m = h_find(h, VL_OUT_CLIENT, 100u + i, VL_MSG_CLIENT_REPLY);
        CHECK(m != NULL);
        if (m != NULL) {
            res->reply[i] = (vl_reply_kind)m->reply_kind;
            res->code[i] = m->code;
        }
    }
    vl_vpool_stop(&p);
    CHECK(p == NULL);
    for (unsigned i = 0; i < BATCH; i++)
        h_buf_free(&b[i]);
    free_batch(r);
    free(iss);
    h_free(&h);
}

static void check_submit_result(const submit_result *res)
{
    for (unsigned i = 0; i < GOOD; i++)
        CHECK(res->reply[i] == VL_REPLY_CERT);
    CHECK(res->reply[GOOD] == VL_REPLY_ERROR);
    CHECK_ERR(res->code[GOOD], VL_ERR_BAD_SIG);
    CHECK(res->reply[GOOD + 1] == VL_REPLY_ERROR);
    CHECK_ERR(res->code[GOOD + 1], VL_ERR_UNKNOWN_PROVIDER);
}

static void test_submits(void)
{
    TEST_BEGIN("lone voter: a batch of SUBMITs pre-checked on the pool");
    submit_result *base = calloc(1, sizeof *base), *with = calloc(1, sizeof *with);
    CHECK(base != NULL && with != NULL);
    if (base == NULL || with == NULL) {
        free(base);
        free(with);
        return;
    }
    submit_batch(0, base);
    check_submit_result(base);
    CHECK(base->valid == 0);
    for (unsigned threads = 2; threads <= 4; threads += 2) {
        submit_batch(threads, with);
        check_submit_result(with);
        /* Holder and provider signatures of the GOOD orders; none of the
         * two bad orders (BAD_SIG, UNKNOWN_PROVIDER). */
        CHECK(with->valid == 2u * GOOD);
        if (with->valid != 2u * GOOD)
            fprintf(stderr, "    pool (%u threads) reported %llu valid signatures\n", threads,
                    (unsigned long long)with->valid);
        /* The core found them all in its cache, and checked only the bad
         * order's provider signature itself (its holder signature is good
         * and was cached; the unknown provider fails before any lookup). */
        CHECK(with->hits >= base->hits + 2u * GOOD);
        CHECK(with->misses == 1);
        CHECK(base->misses >= 2u * GOOD + 1u);
        CHECK(outs_same(&base->out, &with->out));
        outs_free(&with->out);
    }
    outs_free(&base->out);
    free(base);
    free(with);
}

/* ---- a voter of four: CERTS and VOTE_REQUEST ---------------------------------------------- */

typedef struct {
    uint64_t valid;
    uint64_t vote_hits, order_hits;
    bool issue_applied;
    bool leaf[BATCH];
    uint16_t rejected[BATCH]; /* the REJECTED code, 0 if none */
    outs out;
} peer_result;

static void peer_batch(unsigned threads, peer_result *res)
{
    memset(res, 0, sizeof *res);
    h_net *h = h_new_std();
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, BATCH, FACE_FEN, 0);
    h_buf ic = h_cert_q(h, iss);
    h_buf m_certs = h_certs_bytes(h, h->voter[1], &ic, 1);
    vl_order *r[BATCH];
    make_batch(h, r);
    h_buf m_votes = h_vote_request_bytes(h, h->voter[2], r, BATCH);
    h_buf junk = h_buf_copy((const uint8_t *)"\x01\x20junk", 6);
    vl_input in[] = {
        {.kind = VL_IN_PEER, .peer = h->voter[1], .data = m_certs.data, .len = m_certs.len},
        {.kind = VL_IN_PEER, .peer = h->voter[2], .data = m_votes.data, .len = m_votes.len},
        /* the same request again, claiming another peer: skipped by the
         * pool, refused by the core */
        {.kind = VL_IN_PEER, .peer = h->voter[3], .data = m_votes.data, .len = m_votes.len},
        {.kind = VL_IN_PEER, .peer = h->voter[3], .data = junk.data, .len = junk.len},
        {.kind = VL_IN_TICK},
    };
    size_t n = sizeof in / sizeof in[0];
    vl_vpool *p = threads > 1 ? pool_new(h, threads) : NULL;
    if (p != NULL)
        res->valid = vl_vpool_run(p, in, n - 1u);
    vl_sigcache *cache = vl_core_sigcache(h->core);
    uint64_t vh0 = vl_sigcache_hits(cache), oh0 = vl_sigcache_order_hits(cache);
    CHECK_ERR(h_step(h, in, n), VL_OK);
    res->vote_hits = vl_sigcache_hits(cache) - vh0;
    res->order_hits = vl_sigcache_order_hits(cache) - oh0;
    outs_take(h, &res->out);
    uint8_t acct[32], buf[1 << 14];
    size_t len = 0;
    h_order_account(iss, acct);
    res->issue_applied = vl_core_get_slot_cert(h->core, acct, 0, buf, sizeof buf, &len) == VL_OK;
    const vl_msg *m = h_vote_reply(h, h->voter[2]);
    CHECK(m != NULL);
    for (unsigned i = 0; m != NULL && i < BATCH; i++) {
        uint8_t hash[32];
        h_order_hash(r[i], hash);
        res->leaf[i] = h_reply_has_leaf(m, hash);
        const vl_answer *a = h_reply_answer(m, hash);
        if (a != NULL && a->kind == VL_ANSWER_REJECTED)
            res->rejected[i] = a->code;
    }
    CHECK(h_vote_reply(h, h->voter[3]) == NULL);
    vl_vpool_stop(&p);
    h_buf_free(&junk);
    h_buf_free(&m_votes);
    h_buf_free(&m_certs);
    h_buf_free(&ic);
    free_batch(r);
    free(iss);
    h_free(&h);
}

static void check_peer_result(const peer_result *res)
{
    CHECK(res->issue_applied);
    for (unsigned i = 0; i < GOOD; i++)
        CHECK(res->leaf[i] && res->rejected[i] == 0);
    CHECK(!res->leaf[GOOD] && !res->leaf[GOOD + 1]);
    CHECK_ERR(res->rejected[GOOD], VL_ERR_BAD_SIG);
    CHECK_ERR(res->rejected[GOOD + 1], VL_ERR_UNKNOWN_PROVIDER);
}

static void test_peers(void)
{
    TEST_BEGIN("voter of four: a CERTS and a VOTE_REQUEST pre-checked on the pool");
    peer_result *base = calloc(1, sizeof *base), *with = calloc(1, sizeof *with);
    CHECK(base != NULL && with != NULL);
    if (base == NULL || with == NULL) {
        free(base);
        free(with);
        return;
    }
    peer_batch(0, base);
    check_peer_result(base);
    peer_batch(3, with);
    check_peer_result(with);
    /* The ISSUE certificate: 1 order and 3 vote signatures; the requested
     * orders: 2 each for the GOOD ones.  The copy claiming voter 3 and the
     * junk add nothing. */
    CHECK(with->valid == 4u + 2u * GOOD);
    if (with->valid != 4u + 2u * GOOD)
        fprintf(stderr, "    pool reported %llu valid signatures\n",
                (unsigned long long)with->valid);
    CHECK(with->vote_hits >= base->vote_hits + 3u);
    CHECK(with->order_hits >= base->order_hits + 1u + 2u * GOOD);
    CHECK(outs_same(&base->out, &with->out));
    outs_free(&base->out);
    outs_free(&with->out);
    free(base);
    free(with);
}

/* ---- below the threshold, and nothing to check ------------------------------------------ */

static void test_idle(void)
{
    TEST_BEGIN("one order, or nothing to check: the pool is not woken");
    h_net *h = h_new(1, 0, 0, BUDGET0_FEN, 5000);
    OPEN_OK(h, h->voter[0], false);
    vl_vpool *p = pool_new(h, 2);
    vl_sigcache *cache = vl_core_sigcache(h->core);
    vl_order *iss = h_issue(h, 0, 0, 1, 2, FACE_FEN, 0);
    h_buf one = h_client_bytes(h, VL_REQ_SUBMIT, iss, NULL, 0, 0);
    h_buf status = h_client_bytes(h, VL_REQ_STATUS, NULL, NULL, 0, 0);
    vl_input in[] = {
        {.kind = VL_IN_CLIENT, .client = 1, .data = one.data, .len = one.len},
        {.kind = VL_IN_CLIENT, .client = 2, .data = status.data, .len = status.len},
        {.kind = VL_IN_CLIENT, .client = 3, .data = status.data, .len = status.len},
        {.kind = VL_IN_TICK},
    };
    uint64_t lookups0 = vl_sigcache_order_hits(cache) + vl_sigcache_order_misses(cache);
    CHECK(vl_vpool_run(p, in, 1) == 0);
    CHECK(vl_vpool_run(p, in, 4) == 0); /* one SUBMIT, two STATUS, a TICK */
    CHECK(vl_vpool_run(p, in + 1, 3) == 0);
    CHECK(vl_vpool_run(p, NULL, 0) == 0);
    CHECK(vl_sigcache_order_hits(cache) + vl_sigcache_order_misses(cache) == lookups0);
    /* The same SUBMIT twice in a batch reaches the threshold. */
    vl_input two[2] = {in[0], in[0]};
    two[1].client = 4;
    CHECK(vl_vpool_run(p, two, 2) == 2);
    CHECK(vl_vpool_run(p, two, 2) == 2); /* cache hits count too */
    vl_vpool_stop(&p);
    vl_vpool_stop(&p); /* NULL-safe */
    h_buf_free(&one);
    h_buf_free(&status);
    free(iss);
    h_free(&h);
}

/* Many runs back to back on 4 threads (the ThreadSanitizer build drives the
 * fork-join here): every run reports the same count. */
static void test_many_runs(void)
{
    TEST_BEGIN("200 batches back to back on 4 threads");
    h_net *h = h_new(1, 0, 0, BUDGET0_FEN, 5000);
    OPEN_OK(h, h->voter[0], false);
    vl_vpool *p = pool_new(h, 4);
    vl_order *r[BATCH];
    make_batch(h, r);
    h_buf b[BATCH];
    vl_input in[BATCH];
    for (unsigned i = 0; i < BATCH; i++) {
        b[i] = h_client_bytes(h, VL_REQ_SUBMIT, r[i], NULL, 0, 0);
        in[i] = (vl_input){.kind = VL_IN_CLIENT, .client = i, .data = b[i].data,
                           .len = b[i].len};
    }
    unsigned wrong = 0;
    for (unsigned k = 0; k < 200; k++) {
        unsigned size = 2u + k % (BATCH - 1u); /* 2..BATCH inputs */
        unsigned good = size < GOOD ? size : GOOD;
        wrong += vl_vpool_run(p, in, size) != 2u * good;
    }
    CHECK(wrong == 0);
    vl_vpool_stop(&p);
    for (unsigned i = 0; i < BATCH; i++)
        h_buf_free(&b[i]);
    free_batch(r);
    h_free(&h);
}

int main(void)
{
    test_submits();
    test_peers();
    test_idle();
    test_many_runs();
    VL_TEST_END();
}
