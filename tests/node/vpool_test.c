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
 *    certificate's vote signatures (not its order's: the quorum vouches for
 *    them) and the requested orders' signatures are pre-checked; the reply
 *    votes for the good orders and answers REJECTED for the two bad ones.
 *  - The outputs of each step are the same bytes, in the same order, as a
 *    second core's given the same batch without a pool.
 *  - Below VL_VPOOL_MIN_ORDERS the pool does nothing; inputs that do not
 *    decode, or come from another peer than they claim, are skipped.
 *  - vl_vpool_begin / vl_vpool_finish (voucherd note 9): the workers get
 *    through a begun batch on their own; finish reports what one
 *    vl_vpool_run reports, and the core's outputs are the pool-less core's.
 *    Between the two the caller steps the same core on another batch, and
 *    begins from the core's before_commit hook, as voucherd does; begin
 *    below the threshold starts nothing; 100 rounds of begin / finish
 *    mixed with vl_vpool_run all count right.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks.h"
#include "vl_vpool.h"

#define FACE_FEN 5000u
#define BUDGET0_FEN 1000000u
#define GOOD 6u          /* good redemptions per batch */
#define BATCH (GOOD + 2) /* + a bad signature + an unknown provider */
#define MAX_INPUTS 64u
/* Order-signature lookups in checking one batch once: two for each good
 * order, two for the bad signature (good holder, bad provider), none for
 * the unknown provider (refused before any lookup). */
#define BATCH_LOOKUPS (2u * GOOD + 2u)
/* Bound of wait_order_lookups: a liveness bound, not a speed
 * expectation (healthy workers need milliseconds). */
#define WAIT_MAX_MS 30000u

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

/* The redemptions of one batch: GOOD good ones (serials base + 1 ..
 * base + GOOD), then the bad signature (base + GOOD + 1), then the unknown
 * provider (base + GOOD + 2). */
static void make_batch(h_net *h, uint64_t base, vl_order *r[BATCH])
{
    for (unsigned i = 0; i < GOOD; i++)
        r[i] = h_redeem(h, 0, base + i + 1u, 0, 0, 100u * (i + 1u), i % 2u);
    r[GOOD] = redeem_bad_sig(h, base + GOOD + 1u);
    r[GOOD + 1] = redeem_unknown_provider(h, base + GOOD + 2u);
}

/* The SUBMITs of batch r from clients client0 + i into b (free with
 * h_buf_free) and in, then a TICK in in[BATCH]. */
static void submit_inputs(h_net *h, vl_order *r[BATCH], uint64_t client0, h_buf b[BATCH],
                          vl_input in[BATCH + 1])
{
    for (unsigned i = 0; i < BATCH; i++) {
        b[i] = h_client_bytes(h, VL_REQ_SUBMIT, r[i], NULL, 0, 0);
        in[i] = (vl_input){.kind = VL_IN_CLIENT, .client = client0 + i, .data = b[i].data,
                           .len = b[i].len};
    }
    in[BATCH] = (vl_input){.kind = VL_IN_TICK};
}

static void free_inputs(h_buf b[BATCH])
{
    for (unsigned i = 0; i < BATCH; i++)
        h_buf_free(&b[i]);
}

static uint64_t order_lookups(const vl_sigcache *c)
{
    return vl_sigcache_order_hits(c) + vl_sigcache_order_misses(c);
}

/* Every lookup the cache counts: vote and order signatures, holder keys. */
static uint64_t all_lookups(const vl_sigcache *c)
{
    return order_lookups(c) + vl_sigcache_hits(c) + vl_sigcache_misses(c) +
           vl_sigcache_key_hits(c) + vl_sigcache_key_misses(c);
}

/* Wait until the cache has counted `target` order-signature lookups, at
 * most about WAIT_MAX_MS; true when it has.  This asserts that work gets
 * done, not how fast: workers that were never woken never get there. */
static bool wait_order_lookups(const vl_sigcache *c, uint64_t target)
{
    const struct timespec one_ms = {0, 1000000};
    for (unsigned i = 0; i < WAIT_MAX_MS && order_lookups(c) < target; i++)
        nanosleep(&one_ms, NULL);
    return order_lookups(c) >= target;
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
    uint64_t valid;           /* what the pool reported */
    uint64_t pool_lookups;    /* order-signature lookups by the pool */
    bool workers_alone;       /* VIA_BEGIN_FINISH: the workers did them all before finish */
    uint64_t hits, misses;    /* order-signature lookups during the step */
    vl_reply_kind reply[BATCH];
    uint16_t code[BATCH];
    outs out;
} submit_result;

/* How submit_batch hands the batch to the pool. */
typedef enum { VIA_RUN, VIA_BEGIN_FINISH } pool_call;

/* Step in[0..BATCH] (SUBMITs from clients client0 + i, then a TICK) and
 * keep the step's outputs and the SUBMITs' replies in res. */
static void step_submits(h_net *h, const vl_input in[BATCH + 1], uint64_t client0,
                         submit_result *res)
{
    CHECK_ERR(h_step(h, in, BATCH + 1), VL_OK);
    outs_take(h, &res->out);
    for (unsigned i = 0; i < BATCH; i++) {
        const vl_msg *m = h_find(h, VL_OUT_CLIENT, client0 + i, VL_MSG_CLIENT_REPLY);
        CHECK(m != NULL);
        if (m != NULL) {
            res->reply[i] = (vl_reply_kind)m->reply_kind;
            res->code[i] = m->code;
        }
    }
}

/* Open a lone voter, certify an ISSUE of GOOD + 2 vouchers (one SUBMIT,
 * no pool), then step one batch of BATCH SUBMITs with a pool of `threads`
 * threads (0: none) in front, called as `how` says.  VIA_BEGIN_FINISH
 * lets the workers alone get through the batch before finish. */
static void submit_batch(unsigned threads, pool_call how, submit_result *res)
{
    memset(res, 0, sizeof *res);
    h_net *h = h_new(1, 0, 0, BUDGET0_FEN, 5000);
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, BATCH, FACE_FEN, 0);
    CHECK_ERR(h_client(h, 1, VL_REQ_SUBMIT, iss, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 1, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_CERT);

    vl_order *r[BATCH];
    make_batch(h, 0, r);
    h_buf b[BATCH];
    vl_input in[BATCH + 1];
    submit_inputs(h, r, 100, b, in);
    vl_sigcache *cache = vl_core_sigcache(h->core);
    vl_vpool *p = threads > 1 ? pool_new(h, threads) : NULL;
    uint64_t lookups0 = order_lookups(cache);
    if (p != NULL && how == VIA_RUN) {
        res->valid = vl_vpool_run(p, in, BATCH);
    } else if (p != NULL) {
        CHECK(vl_vpool_begin(p, in, BATCH));
        res->workers_alone = wait_order_lookups(cache, lookups0 + BATCH_LOOKUPS);
        res->valid = vl_vpool_finish(p);
    }
    res->pool_lookups = order_lookups(cache) - lookups0;
    uint64_t hits0 = vl_sigcache_order_hits(cache), misses0 = vl_sigcache_order_misses(cache);
    step_submits(h, in, 100, res);
    res->hits = vl_sigcache_order_hits(cache) - hits0;
    res->misses = vl_sigcache_order_misses(cache) - misses0;
    vl_vpool_stop(&p);
    CHECK(p == NULL);
    free_inputs(b);
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
    submit_batch(0, VIA_RUN, base);
    check_submit_result(base);
    CHECK(base->valid == 0);
    for (unsigned threads = 2; threads <= 4; threads += 2) {
        submit_batch(threads, VIA_RUN, with);
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
    make_batch(h, 0, r);
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
        res->leaf[i] = h_reply_has_leaf(m, r[i]);
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
    /* not read: the badly signed order before it proved the peer faulty
     * (consensus/vl_core.c note 28) */
    CHECK_ERR(res->rejected[GOOD + 1], VL_OK);
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
    /* The ISSUE certificate: its 3 vote signatures (its order's signature
     * is left to the quorum, by the pool as by the core:
     * vl_cert_verify_vouched); the requested orders: 2 each for the GOOD
     * ones.  The copy claiming voter 3 and the junk add nothing. */
    CHECK(with->valid == 3u + 2u * GOOD);
    if (with->valid != 3u + 2u * GOOD)
        fprintf(stderr, "    pool reported %llu valid signatures\n",
                (unsigned long long)with->valid);
    CHECK(with->vote_hits >= base->vote_hits + 3u);
    /* Both signatures of each GOOD order and the bad order's (good) holder
     * signature; none of the certificate's order. */
    CHECK(with->order_hits == base->order_hits + 2u * GOOD + 1u);
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
    make_batch(h, 0, r);
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

/* ---- vl_vpool_begin / vl_vpool_finish (voucherd note 9) --------------------------------- */

static void test_begin_finish(void)
{
    TEST_BEGIN("begin, then finish: what one run finds, and the same outputs");
    submit_result *base = calloc(1, sizeof *base), *run = calloc(1, sizeof *run),
                  *split = calloc(1, sizeof *split);
    CHECK(base != NULL && run != NULL && split != NULL);
    if (base == NULL || run == NULL || split == NULL) {
        free(base);
        free(run);
        free(split);
        return;
    }
    submit_batch(0, VIA_RUN, base);
    submit_batch(3, VIA_RUN, run);
    submit_batch(3, VIA_BEGIN_FINISH, split);
    CHECK(run->pool_lookups == BATCH_LOOKUPS); /* what the workers are waited for */
    /* begin alone set the workers going: they looked up every signature
     * of the batch before the caller joined in at finish. */
    CHECK(split->workers_alone);
    CHECK(split->valid == run->valid && split->valid == 2u * GOOD);
    if (split->valid != run->valid)
        fprintf(stderr, "    begin/finish found %llu valid signatures, run %llu\n",
                (unsigned long long)split->valid, (unsigned long long)run->valid);
    CHECK(split->pool_lookups == BATCH_LOOKUPS); /* each signature once */
    check_submit_result(split);                  /* still BAD_SIG, UNKNOWN_PROVIDER */
    /* The core found the good signatures in its cache, and checked only the
     * bad provider signature itself. */
    CHECK(split->misses == 1 && split->hits == run->hits);
    CHECK(outs_same(&base->out, &split->out));
    outs_free(&base->out);
    outs_free(&run->out);
    outs_free(&split->out);
    free(base);
    free(run);
    free(split);
}

/* The core's before_commit hook as voucherd uses it: when armed, begin the
 * pool on the next batch while the step commits. */
typedef struct {
    vl_vpool *pool;
    const vl_input *in; /* armed: begin on in[0..n) at the next commit */
    size_t n;
    unsigned calls; /* armed calls */
    bool begun;
} early_begin;

static void begin_before_commit(void *ctx)
{
    early_begin *e = ctx;
    if (e->in == NULL)
        return;
    e->calls++;
    e->begun = vl_vpool_begin(e->pool, e->in, e->n);
    e->in = NULL;
}

#define PIPE_BATCHES 3u

typedef struct {
    submit_result step[PIPE_BATCHES];
    uint64_t valid[PIPE_BATCHES]; /* what finish reported for batch k (0: none) */
    unsigned hook_calls;
    uint64_t order_hits; /* over the steps of the batches */
} pipe_result;

/* A lone voter steps batches 0, 1, 2 (distinct vouchers) one after the
 * other.  With a pool (pool true, 3 threads): batch 1 is begun before the
 * step of batch 0 and finished after it (the same core, and so the same
 * cache, in use by both); batch 2 is begun by the before_commit hook
 * during the step of batch 1 and finished after it, as voucherd does. */
static void pipe_batches(bool pool, pipe_result *res)
{
    memset(res, 0, sizeof *res);
    early_begin early = {0};
    h_net *h = h_new(1, 0, 0, BUDGET0_FEN, 5000);
    if (pool) {
        h->cfg.before_commit = begin_before_commit;
        h->cfg.before_commit_ctx = &early;
    }
    OPEN_OK(h, h->voter[0], false);
    vl_order *iss = h_issue(h, 0, 0, 1, PIPE_BATCHES * BATCH, FACE_FEN, 0);
    CHECK_ERR(h_client(h, 1, VL_REQ_SUBMIT, iss, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 1, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_CERT);

    vl_order *r[PIPE_BATCHES][BATCH];
    h_buf b[PIPE_BATCHES][BATCH];
    vl_input in[PIPE_BATCHES][BATCH + 1];
    for (unsigned k = 0; k < PIPE_BATCHES; k++) {
        make_batch(h, k * BATCH, r[k]);
        submit_inputs(h, r[k], 100u * (k + 1u), b[k], in[k]);
    }
    vl_vpool *p = pool ? pool_new(h, 3) : NULL;
    early.pool = p;
    vl_sigcache *cache = vl_core_sigcache(h->core);
    uint64_t hits0 = vl_sigcache_order_hits(cache);

    if (p != NULL)
        CHECK(vl_vpool_begin(p, in[1], BATCH));
    step_submits(h, in[0], 100, &res->step[0]); /* while the workers check batch 1 */
    if (p != NULL) {
        res->valid[1] = vl_vpool_finish(p);
        early.in = in[2];
        early.n = BATCH;
    }
    step_submits(h, in[1], 200, &res->step[1]); /* begins batch 2 before its commit */
    if (p != NULL) {
        CHECK(early.begun);
        if (early.begun)
            res->valid[2] = vl_vpool_finish(p);
    }
    step_submits(h, in[2], 300, &res->step[2]);
    res->hook_calls = early.calls; /* armed once, so 1 with a pool */
    res->order_hits = vl_sigcache_order_hits(cache) - hits0;

    vl_vpool_stop(&p);
    for (unsigned k = 0; k < PIPE_BATCHES; k++) {
        free_inputs(b[k]);
        free_batch(r[k]);
    }
    free(iss);
    h_free(&h);
}

static void test_pipeline(void)
{
    TEST_BEGIN("begin, a step on another batch, finish: as voucherd pipelines them");
    pipe_result *base = calloc(1, sizeof *base), *with = calloc(1, sizeof *with);
    CHECK(base != NULL && with != NULL);
    if (base == NULL || with == NULL) {
        free(base);
        free(with);
        return;
    }
    pipe_batches(false, base);
    pipe_batches(true, with);
    CHECK(base->hook_calls == 0);
    CHECK(with->hook_calls == 1);
    CHECK(with->valid[1] == 2u * GOOD);
    CHECK(with->valid[2] == 2u * GOOD);
    if (with->valid[1] != 2u * GOOD || with->valid[2] != 2u * GOOD)
        fprintf(stderr, "    finish reported %llu and %llu valid signatures\n",
                (unsigned long long)with->valid[1], (unsigned long long)with->valid[2]);
    /* The core found batches 1 and 2's good signatures in its cache. */
    CHECK(with->order_hits >= base->order_hits + 2u * 2u * GOOD);
    for (unsigned k = 0; k < PIPE_BATCHES; k++) {
        check_submit_result(&with->step[k]);
        CHECK(outs_same(&base->step[k].out, &with->step[k].out));
        outs_free(&base->step[k].out);
        outs_free(&with->step[k].out);
    }
    free(base);
    free(with);
}

static void test_begin_below(void)
{
    TEST_BEGIN("begin below the threshold: false, the cache untouched, the pool still works");
    h_net *h = h_new(1, 0, 0, BUDGET0_FEN, 5000);
    OPEN_OK(h, h->voter[0], false);
    vl_vpool *p = pool_new(h, 3);
    vl_sigcache *cache = vl_core_sigcache(h->core);
    vl_order *r[BATCH];
    make_batch(h, 0, r);
    h_buf b[BATCH];
    vl_input in[BATCH + 1];
    submit_inputs(h, r, 100, b, in);
    h_buf status = h_client_bytes(h, VL_REQ_STATUS, NULL, NULL, 0, 0);
    vl_input small[] = {
        in[0],
        {.kind = VL_IN_CLIENT, .client = 2, .data = status.data, .len = status.len},
        {.kind = VL_IN_TICK},
    };
    uint64_t lookups0 = all_lookups(cache);
    CHECK(!vl_vpool_begin(p, small, 3)); /* one SUBMIT, a STATUS, a TICK */
    CHECK(!vl_vpool_begin(p, small, 1));
    CHECK(!vl_vpool_begin(p, small + 1, 2));
    CHECK(!vl_vpool_begin(p, NULL, 0));
    CHECK(all_lookups(cache) == lookups0);
    /* No finish: the pool takes the next batch at once. */
    CHECK(vl_vpool_run(p, in, BATCH) == 2u * GOOD);
    CHECK(order_lookups(cache) == lookups0 + BATCH_LOOKUPS);
    CHECK(!vl_vpool_begin(p, small, 3));
    CHECK(vl_vpool_begin(p, in, BATCH));
    CHECK(vl_vpool_finish(p) == 2u * GOOD); /* cache hits count too */
    vl_vpool_stop(&p);
    CHECK(p == NULL);
    h_buf_free(&status);
    free_inputs(b);
    free_batch(r);
    h_free(&h);
}

/* Rounds of begin / finish alternating with vl_vpool_run, each on a fresh
 * batch (signatures the cache has not seen, so the workers verify for
 * real), of 2..BATCH inputs; every fourth begin has a core step between
 * it and its finish.  Every count is right: no unit lost or counted twice,
 * no worker left behind in a batch (the next begin asserts that). */
static void test_begin_rounds(void)
{
    enum { ROUNDS = 100 };
    TEST_BEGIN("100 rounds of begin/finish and run on 3 threads");
    h_net *h = h_new(1, 0, 0, BUDGET0_FEN, 5000);
    OPEN_OK(h, h->voter[0], false);
    vl_vpool *p = pool_new(h, 3);
    unsigned wrong = 0, not_begun = 0, step_errs = 0;
    for (unsigned k = 0; k < ROUNDS; k++) {
        vl_order *r[BATCH];
        h_buf b[BATCH];
        vl_input in[BATCH + 1];
        make_batch(h, (uint64_t)k * BATCH, r);
        submit_inputs(h, r, 100, b, in);
        unsigned size = 2u + k % (BATCH - 1u); /* 2..BATCH inputs */
        unsigned good = size < GOOD ? size : GOOD;
        uint64_t valid = 0;
        if (k % 2u == 1u) {
            valid = vl_vpool_run(p, in, size);
        } else if (!vl_vpool_begin(p, in, size)) {
            not_begun++;
        } else {
            if (k % 8u == 0u)
                step_errs += h_tick(h) != VL_OK;
            valid = vl_vpool_finish(p);
        }
        wrong += valid != 2u * good;
        if (valid != 2u * good && wrong <= 5u) { /* the first few */
            fprintf(stderr, "    round %u (%s, %u inputs): %llu valid, want %u\n", k,
                    k % 2u == 1u ? "run" : "begin/finish", size, (unsigned long long)valid,
                    2u * good);
        }
        free_inputs(b);
        free_batch(r);
    }
    CHECK(not_begun == 0);
    CHECK(step_errs == 0);
    CHECK(wrong == 0);
    vl_vpool_stop(&p);
    h_free(&h);
}

int main(void)
{
    test_submits();
    test_peers();
    test_idle();
    test_many_runs();
    test_begin_finish();
    test_pipeline();
    test_begin_below();
    test_begin_rounds();
    VL_TEST_END();
}
