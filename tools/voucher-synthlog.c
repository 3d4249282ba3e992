/* voucher-synthlog.c - writes a large, VALID synthetic network for
 * reconciliation benchmarks and tests: a genesis, key files, and the log
 * export (vl_logfile.h) of one or two nodes, with real keys and real
 * signatures, so voucher-reconcile must do all the work it would do on a
 * real network's logs (docs/reconcile-bench.md).
 *
 *   voucher-synthlog --out DIR --redemptions N [--seed S] [--issuers K]
 *                    [--providers P] [--revocations R] [--nodes 1|2]
 *                    [--threads T] [--json]
 *
 * Design notes
 *  1. Deterministic: every key is derived from --seed (tagged_hash of a
 *     tool-local tag, the seed and the key's role and number), every
 *     signature is BIP-340 without auxiliary randomness, every number comes
 *     from a splitmix64 stream seeded by --seed.  The same arguments give
 *     the same files byte for byte, with any --threads.  THE KEYS ARE
 *     PUBLIC (anyone with the seed has them): for benchmarks and tests only.
 *  2. The network: 4 voters node1..node4 (f = 1, q = 3), K issuers with
 *     regions and budgets, P providers (data centers), 32 firms (holder
 *     keys).  Key files go to DIR/keys/ID.key (voters with a CURVE pair
 *     from zmq_curve_public, so the genesis is one a devnet could run).
 *  3. The certificates come in rounds, and a vote batch never spans two
 *     rounds, so every batch is one a real voter could have signed:
 *       round 0  ISSUE orders, up to VL_MAX_ISSUE_BATCH vouchers each,
 *                issuer seqs 0, 1, ... round-robin over the issuers;
 *       round r  (1..MAX_REDEEMS) the r-th REDEEM of every voucher that
 *                has r or more (voucher seq r-1), signed by holder and
 *                provider; each voucher gets 1..MAX_REDEEMS redemptions,
 *                together never more than its face value, and the total
 *                is exactly --redemptions;
 *       last     --revocations REVOKE orders of vouchers spread over the
 *                list, at the seq after their last redemption.
 *     Each round is cut into batches of up to VL_MAX_BATCH_ORDERS orders;
 *     q voters (a different one left out each batch) each sign the Merkle
 *     root of the batch once (its leaves are the orders' vote leaves,
 *     vl_vote_leaf), and every certificate carries its Merkle path, so
 *     vote signatures are amortized as in a real network.  Some of the
 *     certificates of every batch go through vl_cert_verify before writing.
 *  4. node1's log holds the certificates in generation order.  node2's
 *     (--nodes 2) holds the same set in another order: within each batch,
 *     issuances sorted by issuer (stable, so each issuer's seqs stay in
 *     order) and redemptions and revocations reversed (one voucher at
 *     most once per batch).  Both chains start from the network id; each
 *     log ends with a checkpoint signed by its node over its head and the
 *     state digest (256 XOR buckets, as tools/ctl_read.c recomputes it).
 *  5. Signing, hashing and encoding of a batch run on --threads threads
 *     (default: online CPUs), each on its own slice of the batch; writing
 *     is in order on the main thread.  Memory is per batch plus about 32
 *     bytes per voucher, whatever N.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_logfile.h"
#include "vl_orderkit.h"
#include "vl_verify.h"
#include "vl_wire.h"
#include "vl_time.h"

#define KEY_TAG "voucher-synthlog/v1/key" /* tool-local, not a protocol domain */
#define VOTERS 4u
#define FIRMS 32u
#define MAX_REDEEMS 7u                 /* redemptions of one voucher: 1..7 */
#define MAX_REDEMPTIONS 10000000ull    /* --redemptions (memory ~32 B/voucher) */
#define MAX_ISSUERS_OPT 64u            /* --issuers (<= VL_MAX_ISSUERS) */
#define MAX_PROVIDERS_OPT 64u          /* --providers (<= VL_MAX_PROVIDERS) */
#define MAX_THREADS 256u
#define MAX_NODES_OUT 2u
#define ROUNDS (MAX_REDEEMS + 2u)      /* issue, redeem 1..7, revoke */
#define BATCH VL_MAX_BATCH_ORDERS
#define VALID_FROM_S 1767225600ull     /* 2026-01-01T00:00:00Z */
#define VALID_S (365ull * 86400ull)
#define LOG_START_MS 1769904000000ull  /* 2026-02-01T00:00:00Z */
#define LOG_SPAN_MS (300ull * 86400000ull) /* entries spread over 300 days */
#define PROGRAM "synthetic-ai-compute"
#define CERT_CAP (1u << 20)

typedef struct {
    uint64_t serial;
    uint64_t face_fen;
    uint32_t issuer;   /* genesis issuer index */
    uint16_t firm;     /* holder */
    uint8_t redeems;   /* 1..MAX_REDEEMS */
    uint8_t revoked;   /* revoked after its redemptions */
} voucher;

/* One order of a round: what to build. */
typedef struct {
    uint8_t kind;
    uint32_t issuer; /* ISSUE: issuer index */
    uint64_t seq;
    uint32_t v;      /* REDEEM/REVOKE: voucher index */
} item;

typedef struct {
    /* options */
    const char *out;
    uint64_t redemptions, seed;
    uint32_t issuers, providers, revocations, nodes, threads;
    bool json;
    /* network */
    vl_genesis *g;
    vl_keypair voter[VOTERS], firm[FIRMS];
    vl_keypair issuer_key[MAX_ISSUERS_OPT], provider_key[MAX_PROVIDERS_OPT];
    voucher *vs;
    uint32_t vcount;
    uint32_t *issuer_first; /* per issuer: its vouchers are a contiguous run */
    uint32_t *issuer_count;
    /* the batch being made */
    item *items;
    uint32_t n;
    uint8_t (*hash)[32]; /* order hashes (the state digest) */
    uint8_t (*leaf)[32]; /* their vote leaves (vl_vote_leaf): the batch's leaves */
    uint8_t (*paths)[VL_MAX_MERKLE_DEPTH][32];
    uint8_t *order_buf[BATCH];
    size_t order_len[BATCH];
    uint8_t *cert_buf[BATCH];
    size_t cert_len[BATCH];
    uint8_t root[32];
    uint8_t vote_sig[VOTERS][64];
    bool voting[VOTERS];
    vl_err fail;
    /* output */
    vl_logfile_writer *w[MAX_NODES_OUT];
    uint64_t index[MAX_NODES_OUT];
    uint8_t head[MAX_NODES_OUT][32];
    uint64_t time_ms;
    uint64_t entries_total;
    uint8_t buckets[256][32];
    uint64_t kinds[4], batches, order_sigs, vote_sigs;
    uint64_t issued_fen, redeemed_fen;
    uint8_t *entry_buf;
} synth;

/* ---- determinism ---------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The key of (role, number), from the seed. */
static void derive_key(vl_keypair *kp, uint64_t seed, uint8_t role, uint32_t number)
{
    uint8_t msg[8 + 1 + 4 + 1], secret[32];
    put_u64le(msg, seed);
    msg[8] = role;
    for (int i = 0; i < 4; i++)
        msg[9 + i] = (uint8_t)(number >> (8 * i));
    bool ok = false;
    for (unsigned ctr = 0; ctr < 256 && !ok; ctr++) { /* a bad secret: p ~ 2^-128 */
        msg[13] = (uint8_t)ctr;
        vl_tagged_hash(secret, KEY_TAG, msg, sizeof msg);
        ok = vl_keypair_from_secret(kp, secret) == VL_OK;
    }
    assert(ok);
    vl_wipe(secret, sizeof secret);
}

/* ---- the genesis and the key files ------------------------------------------------------ */

static const struct {
    const char *id;
    uint32_t region;
} ISSUER_NAMES[] = {{"shanghai", 310000}, {"beijing", 110000}, {"henan", 410000},
                    {"shandong", 370000}, {"chengdu", 510100}, {"shenzhen", 440300},
                    {"ningbo", 330200}},
  PROVIDER_NAMES[] = {{"guizhou-dc", 520000}, {"ningxia-dc", 640000}, {"gansu-dc", 620000},
                      {"inner-mongolia-dc", 150000}, {"chengdu-dc", 510100}};
#define N_ISSUER_NAMES (sizeof ISSUER_NAMES / sizeof ISSUER_NAMES[0])
#define N_PROVIDER_NAMES (sizeof PROVIDER_NAMES / sizeof PROVIDER_NAMES[0])

/* DIR/keys/ID.key; with curve_pub, a CURVE pair too (its public key out). */
static int save_key(const synth *s, const char *id, const vl_keypair *kp, uint8_t *curve_pub)
{
    bool curve = curve_pub != NULL;
    vl_keyfile k = {.sign = *kp};
    if (curve) {
        uint8_t cs[32];
        char z_sec[41], z_pub[41];
        vl_tagged_hash(cs, KEY_TAG, kp->secret, 32); /* the CURVE secret, from the seed too */
        vl_z85_encode(z_sec, cs);
        if (zmq_curve_public(z_pub, z_sec) != 0 || vl_z85_decode(k.curve_pubkey, z_pub) != VL_OK) {
            fprintf(stderr, "voucher-synthlog: zmq_curve_public failed (libzmq without CURVE?)\n");
            return -1;
        }
        memcpy(k.curve_secret, cs, 32);
        k.has_curve = true;
        vl_wipe(cs, sizeof cs);
        vl_wipe(z_sec, sizeof z_sec);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/keys/%s.key", s->out, id);
    vl_err e = vl_keyfile_save(&k, path);
    if (curve)
        memcpy(curve_pub, k.curve_pubkey, 32);
    vl_keyfile_wipe(&k);
    if (e != VL_OK) {
        fprintf(stderr, "voucher-synthlog: %s: %s\n", path, vl_strerror(e));
        return -1;
    }
    return 0;
}

/* Issuers: shanghai, ..., ningbo, shanghai-2, ...; providers: guizhou-dc1,
 * ..., guizhou-dc2, ... */
static void name_of(char *out, size_t cap, const char *base, uint32_t i, size_t n_names,
                    bool always_number)
{
    uint32_t round = i / (uint32_t)n_names + 1u;
    if (always_number)
        snprintf(out, cap, "%s%" PRIu32, base, round);
    else if (round == 1)
        snprintf(out, cap, "%s", base);
    else
        snprintf(out, cap, "%s-%" PRIu32, base, round);
}

/* vl_genesis_finish sorts each list by id: put each key array in the
 * genesis order (found by public key). */
static void follow_genesis_order(vl_keypair *keys, uint32_t n, bool issuers, const vl_genesis *g)
{
    vl_keypair tmp[MAX_ISSUERS_OPT > MAX_PROVIDERS_OPT ? MAX_ISSUERS_OPT : MAX_PROVIDERS_OPT];
    for (uint32_t i = 0; i < n; i++) {
        int j = issuers ? vl_genesis_issuer_by_pubkey(g, keys[i].pubkey)
                        : vl_genesis_provider_by_pubkey(g, keys[i].pubkey);
        assert(j >= 0 && (uint32_t)j < n);
        tmp[j] = keys[i];
    }
    memcpy(keys, tmp, sizeof(vl_keypair) * n);
    vl_wipe(tmp, sizeof tmp);
}

static int make_network(synth *s)
{
    vl_genesis *g = s->g;
    snprintf(g->network, sizeof g->network, "synthetic-%" PRIu64, s->seed);
    g->max_faulty = 1;
    g->node_count = VOTERS;
    for (uint32_t i = 0; i < VOTERS; i++) {
        static const uint32_t regions[VOTERS] = {310000, 110000, 520000, 640000};
        vl_gen_node *n = &g->nodes[i];
        derive_key(&s->voter[i], s->seed, 'n', i);
        snprintf(n->id, sizeof n->id, "node%" PRIu32, i + 1u);
        n->region = regions[i];
        memcpy(n->pubkey, s->voter[i].pubkey, 32);
        snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://127.0.0.1:%" PRIu32,
                 27001u + i);
        snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://127.0.0.1:%" PRIu32,
                 27101u + i);
        n->role = VL_ROLE_VOTER;
        if (save_key(s, n->id, &s->voter[i], n->curve_pubkey) != 0)
            return -1;
    }
    g->issuer_count = s->issuers;
    for (uint32_t i = 0; i < s->issuers; i++) {
        vl_gen_issuer *is = &g->issuers[i];
        derive_key(&s->issuer_key[i], s->seed, 'i', i);
        name_of(is->id, sizeof is->id, ISSUER_NAMES[i % N_ISSUER_NAMES].id, i, N_ISSUER_NAMES,
                false);
        is->region = ISSUER_NAMES[i % N_ISSUER_NAMES].region;
        memcpy(is->pubkey, s->issuer_key[i].pubkey, 32);
        is->budget_fen = 1; /* set from the vouchers (make_vouchers) */
        if (save_key(s, is->id, &s->issuer_key[i], NULL) != 0)
            return -1;
    }
    g->provider_count = s->providers;
    for (uint32_t i = 0; i < s->providers; i++) {
        vl_gen_provider *p = &g->providers[i];
        derive_key(&s->provider_key[i], s->seed, 'p', i);
        name_of(p->id, sizeof p->id, PROVIDER_NAMES[i % N_PROVIDER_NAMES].id, i,
                N_PROVIDER_NAMES, true);
        p->region = PROVIDER_NAMES[i % N_PROVIDER_NAMES].region;
        memcpy(p->pubkey, s->provider_key[i].pubkey, 32);
        if (save_key(s, p->id, &s->provider_key[i], NULL) != 0)
            return -1;
    }
    for (uint32_t i = 0; i < FIRMS; i++) {
        char id[32];
        derive_key(&s->firm[i], s->seed, 'f', i);
        snprintf(id, sizeof id, "firm-%02" PRIu32, i);
        if (save_key(s, id, &s->firm[i], NULL) != 0)
            return -1;
    }
    char err[512] = "";
    vl_err e = vl_genesis_finish(g, err, sizeof err); /* sorts: keys follow */
    if (e != VL_OK) {
        fprintf(stderr, "voucher-synthlog: genesis: %s %s\n", vl_strerror(e), err);
        return -1;
    }
    follow_genesis_order(s->issuer_key, s->issuers, true, g);
    follow_genesis_order(s->provider_key, s->providers, false, g);
    return 0;
}

/* The vouchers: counts of redemptions summing to exactly N, face values,
 * holders, issuers (each issuer's vouchers contiguous, so its ISSUE orders
 * are runs of that list), serials by the orderkit's default convention. */
static int make_vouchers(synth *s)
{
    uint64_t rng = s->seed ^ 0x5eed5eed5eedull;
    uint64_t cap = s->redemptions; /* at most one voucher per redemption */
    voucher *vs = calloc(cap, sizeof *vs);
    s->issuer_first = calloc(s->issuers, sizeof *s->issuer_first);
    s->issuer_count = calloc(s->issuers, sizeof *s->issuer_count);
    if (vs == NULL || s->issuer_first == NULL || s->issuer_count == NULL) {
        free(vs);
        fprintf(stderr, "voucher-synthlog: out of memory for %" PRIu64 " vouchers\n", cap);
        return -1;
    }
    uint64_t left = s->redemptions;
    uint32_t n = 0;
    while (left > 0) {
        uint64_t r = 1u + splitmix(&rng) % MAX_REDEEMS;
        if (r > left)
            r = left;
        vs[n].redeems = (uint8_t)r;
        vs[n].face_fen = 100000u + splitmix(&rng) % 9900000u; /* CNY 1,000 .. 100,000 */
        vs[n].firm = (uint16_t)(splitmix(&rng) % FIRMS);
        left -= r;
        n++;
    }
    s->vcount = n;
    /* issuers: contiguous runs, sizes as even as possible */
    uint64_t issued[MAX_ISSUERS_OPT] = {0};
    for (uint32_t k = 0, at = 0; k < s->issuers; k++) {
        uint32_t cnt = n / s->issuers + (k < n % s->issuers ? 1u : 0u);
        s->issuer_first[k] = at;
        s->issuer_count[k] = cnt;
        for (uint32_t j = 0; j < cnt; j++) {
            voucher *v = &vs[at + j];
            v->issuer = k;
            v->serial = (uint64_t)(j / VL_MAX_ISSUE_BATCH) * VL_ORDERKIT_SERIALS_PER_SEQ +
                        j % VL_MAX_ISSUE_BATCH + 1u;
            issued[k] += v->face_fen;
        }
        at += cnt;
        /* budget: issuance uses 80% of it (at least 1 fen of budget) */
        s->g->issuers[k].budget_fen = issued[k] / 4u * 5u + 1000000u;
    }
    /* revocations: spread evenly */
    uint32_t rv = s->revocations < n ? s->revocations : n;
    for (uint32_t i = 0; i < rv; i++)
        vs[(uint64_t)i * n / rv + (uint64_t)n / (2u * rv)].revoked = 1;
    s->revocations = rv;
    s->vs = vs;
    return 0;
}

/* ---- one batch: build, sign, hash (threads) ---------------------------------------------- */

typedef struct {
    synth *s;
    uint32_t t, stride;
    int phase; /* 0: orders; 1: certificates */
} job;

static vl_err build_order(synth *s, const item *it, vl_order *o)
{
    const vl_gen_issuer *is = &s->g->issuers[it->kind == VL_ORDER_ISSUE ? it->issuer
                                                                        : s->vs[it->v].issuer];
    uint32_t ii = (uint32_t)(is - s->g->issuers);
    if (it->kind == VL_ORDER_ISSUE) {
        vl_voucher_spec sp[VL_MAX_ISSUE_BATCH];
        uint32_t first = s->issuer_first[ii] + (uint32_t)it->seq * VL_MAX_ISSUE_BATCH;
        uint32_t end = s->issuer_first[ii] + s->issuer_count[ii];
        uint32_t cnt = end - first < VL_MAX_ISSUE_BATCH ? end - first : VL_MAX_ISSUE_BATCH;
        for (uint32_t j = 0; j < cnt; j++) {
            const voucher *v = &s->vs[first + j];
            sp[j] = (vl_voucher_spec){.serial = v->serial, .value_fen = v->face_fen,
                                      .valid_from_s = VALID_FROM_S,
                                      .valid_until_s = VALID_FROM_S + VALID_S,
                                      .subsidy_bp = 8000,
                                      .program = {(const uint8_t *)PROGRAM,
                                                  (uint32_t)strlen(PROGRAM)}};
            memcpy(sp[j].holder, s->firm[v->firm].pubkey, 32);
        }
        vl_err e = vl_orderkit_issue(o, s->g, is->pubkey, it->seq, sp, cnt);
        if (e == VL_OK)
            vl_order_sign_slot(o, 0, &s->issuer_key[ii], NULL);
        return e;
    }
    const voucher *v = &s->vs[it->v];
    if (it->kind == VL_ORDER_REVOKE) {
        vl_err e = vl_orderkit_revoke(o, s->g, is->pubkey, v->serial, it->seq,
                                      "synthetic: programme closed");
        if (e == VL_OK)
            vl_order_sign_slot(o, 0, &s->issuer_key[ii], NULL);
        return e;
    }
    /* REDEEM number seq of v: equal parts of face/(redeems+1); the rest stays */
    uint64_t seed = s->seed ^ ((uint64_t)it->v << 8) ^ it->seq;
    uint32_t prov = (uint32_t)(splitmix(&seed) % s->providers);
    vl_orderkit_redeem r = {.serial = v->serial, .seq = it->seq,
                            .amount_fen = v->face_fen / (v->redeems + 1u)};
    r.gpu_milli_hours = r.amount_fen / 4u; /* CNY 40 a GPU-hour */
    memcpy(r.issuer, is->pubkey, 32);
    memcpy(r.holder, s->firm[v->firm].pubkey, 32);
    memcpy(r.provider, s->provider_key[prov].pubkey, 32);
    vl_orderkit_derived_invoice(r.invoice_hash, &r);
    vl_err e = vl_orderkit_redeem_build(o, s->g, &r);
    if (e == VL_OK) {
        vl_order_sign_slot(o, 0, &s->firm[v->firm], NULL);
        vl_order_sign_slot(o, 1, &s->provider_key[prov], NULL);
    }
    return e;
}

static void *worker_main(void *arg)
{
    job *j = arg;
    synth *s = j->s;
    vl_cert *ct = malloc(sizeof *ct);
    vl_order *o = malloc(sizeof *o);
    vl_err e = ct == NULL || o == NULL ? VL_ERR_NOMEM : VL_OK;
    for (uint32_t i = j->t; e == VL_OK && i < s->n; i += j->stride) {
        if (j->phase == 0) {
            if ((e = build_order(s, &s->items[i], o)) != VL_OK)
                break;
            vl_order_hash(s->hash[i], o);
            vl_vote_leaf(s->leaf[i], s->hash[i], o);
            e = vl_orderkit_encode(o, &s->order_buf[i], &s->order_len[i]);
            continue;
        }
        memset(ct, 0, sizeof *ct);
        if ((e = vl_order_decode(s->order_buf[i], s->order_len[i], &ct->order)) != VL_OK)
            break;
        uint32_t plen = vl_merkle_path_len(i, s->n);
        for (uint32_t v = 0; v < VOTERS; v++) {
            if (!s->voting[v])
                continue;
            vl_cert_vote *cv = &ct->votes[ct->vote_count++];
            cv->voter = (uint16_t)v;
            cv->leaf_index = i;
            cv->leaf_count = s->n;
            cv->path_len = (uint8_t)plen;
            memcpy(cv->path, s->paths[i], 32u * plen);
            memcpy(cv->sig, s->vote_sig[v], 64);
        }
        size_t len = 0;
        if ((e = vl_cert_encode(ct, NULL, 0, &len)) != VL_OK)
            break;
        s->cert_buf[i] = malloc(len);
        if (s->cert_buf[i] == NULL) {
            e = VL_ERR_NOMEM;
            break;
        }
        e = vl_cert_encode(ct, s->cert_buf[i], len, &s->cert_len[i]);
    }
    free(ct);
    free(o);
    if (e != VL_OK)
        s->fail = e; /* any one failure fails the run; which one does not matter */
    return NULL;
}

static vl_err run_phase(synth *s, int phase)
{
    pthread_t tid[MAX_THREADS];
    job jobs[MAX_THREADS];
    uint32_t t = s->threads < s->n ? s->threads : s->n, started = 0;
    for (; started < t; started++) {
        jobs[started] = (job){.s = s, .t = started, .stride = t, .phase = phase};
        if (pthread_create(&tid[started], NULL, worker_main, &jobs[started]) != 0)
            break;
    }
    if (started == 0) { /* no thread at all: do it here */
        jobs[0] = (job){.s = s, .t = 0, .stride = 1, .phase = phase};
        worker_main(&jobs[0]);
    } else if (started < t) { /* the slices of threads that did not start */
        for (uint32_t k = started; k < t; k++) {
            jobs[k] = (job){.s = s, .t = k, .stride = t, .phase = phase};
            worker_main(&jobs[k]);
        }
    }
    for (uint32_t k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    return s->fail;
}

/* Every leaf's Merkle path in O(n log n) hashes (the shape of vl_crypto.h:
 * split at the largest power of two below n; nearest-the-leaf first), as
 * consensus/vl_vote.c builds a voter's batch; checked below against
 * vl_merkle_root_from_path. */
static void paths_rec(synth *s, uint32_t lo, uint32_t n, uint32_t depth)
{
    if (n <= 1)
        return;
    uint32_t k = 1;
    while (k * 2u < n)
        k *= 2u;
    uint8_t left[32], right[32];
    vl_merkle_root(left, (const uint8_t(*)[32])s->leaf + lo, k);
    vl_merkle_root(right, (const uint8_t(*)[32])s->leaf + lo + k, n - k);
    for (uint32_t i = lo; i < lo + n; i++) {
        uint32_t len = vl_merkle_path_len(i, s->n);
        memcpy(s->paths[i][len - 1u - depth], i < lo + k ? right : left, 32);
    }
    paths_rec(s, lo, k, depth + 1u);
    paths_rec(s, lo + k, n - k, depth + 1u);
}

/* ---- writing ----------------------------------------------------------------------------- */

static int put_entry(synth *s, uint32_t node, uint32_t i)
{
    vl_entry en = {.index = ++s->index[node], .time_ms = s->time_ms + node * 137u,
                   .cert = {s->cert_buf[i], (uint32_t)s->cert_len[i]}};
    memcpy(en.prev_hash, s->head[node], 32);
    size_t len;
    vl_err e = vl_entry_encode(&en, s->entry_buf, CERT_CAP + 256u, &len);
    if (e == VL_OK)
        e = vl_logfile_put(s->w[node], VL_LOGREC_ENTRY, s->entry_buf, len);
    if (e != VL_OK) {
        fprintf(stderr, "voucher-synthlog: node%" PRIu32 " entry %" PRIu64 ": %s\n", node + 1u,
                en.index, vl_strerror(e));
        return -1;
    }
    uint8_t ch[32];
    vl_cert_hash(ch, s->cert_buf[i], s->cert_len[i]);
    vl_entry_hash(s->head[node], en.index, en.prev_hash, ch);
    return 0;
}

/* The full check an auditor makes (vl_cert_verify: order signatures, paths
 * from the vote leaves, vote signatures) on certificate i of the batch: a
 * mistake in the leaves or paths fails the run here, not in whoever reads
 * the logs. */
static int check_cert(synth *s, vl_cert *ct, uint32_t i)
{
    vl_err e = vl_cert_decode(s->cert_buf[i], s->cert_len[i], ct);
    if (e == VL_OK)
        e = vl_cert_verify(s->g, ct, NULL, NULL);
    if (e != VL_OK) {
        fprintf(stderr, "voucher-synthlog: internal error: certificate %" PRIu32 ": %s\n", i,
                vl_strerror(e));
        return -1;
    }
    return 0;
}

/* check_cert of every 997th certificate of the batch and of its last. */
static int spot_check_certs(synth *s)
{
    vl_cert *ct = malloc(sizeof *ct);
    if (ct == NULL) {
        fprintf(stderr, "voucher-synthlog: out of memory\n");
        return -1;
    }
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < s->n; i += 997u)
        rc = check_cert(s, ct, i);
    if (rc == 0 && s->n > 0)
        rc = check_cert(s, ct, s->n - 1u);
    free(ct);
    return rc;
}

/* Make, vote, certify and write the batch s->items[0..n) of round `round`. */
static int do_batch(synth *s, unsigned round)
{
    if (run_phase(s, 0) != VL_OK) {
        fprintf(stderr, "voucher-synthlog: building orders: %s\n", vl_strerror(s->fail));
        return -1;
    }
    vl_merkle_root(s->root, (const uint8_t(*)[32])s->leaf, s->n);
    paths_rec(s, 0, s->n, 0);
    for (uint32_t i = 0; i < s->n; i += 997u) { /* spot checks of the path builder */
        uint8_t check[32];
        vl_err e = vl_merkle_root_from_path(check, s->leaf[i], i, s->n,
                                            (const uint8_t(*)[32])s->paths[i],
                                            vl_merkle_path_len(i, s->n));
        if (e != VL_OK || memcmp(check, s->root, 32) != 0) {
            fprintf(stderr, "voucher-synthlog: internal error: Merkle path %" PRIu32 "\n", i);
            return -1;
        }
    }
    uint8_t msg[32];
    vl_vote_message(msg, s->root);
    for (uint32_t v = 0; v < VOTERS; v++) {
        s->voting[v] = v != s->batches % VOTERS; /* q = 3 of 4, one left out in turn */
        if (s->voting[v]) {
            vl_sign(s->vote_sig[v], &s->voter[v], msg, NULL);
            s->vote_sigs++;
        }
    }
    s->batches++;
    if (run_phase(s, 1) != VL_OK) {
        fprintf(stderr, "voucher-synthlog: encoding certificates: %s\n", vl_strerror(s->fail));
        return -1;
    }
    if (spot_check_certs(s) != 0)
        return -1;
    /* digest, counters */
    for (uint32_t i = 0; i < s->n; i++) {
        const item *it = &s->items[i];
        uint8_t acct[32];
        if (it->kind == VL_ORDER_ISSUE) {
            vl_issuer_account_id(acct, s->g->issuers[it->issuer].pubkey);
            s->order_sigs += 1;
        } else {
            vl_voucher_account_id(acct, s->g->issuers[s->vs[it->v].issuer].pubkey,
                                  s->vs[it->v].serial);
            s->order_sigs += it->kind == VL_ORDER_REDEEM ? 2u : 1u;
        }
        for (int b = 0; b < 32; b++)
            s->buckets[acct[0]][b] ^= s->hash[i][b];
        s->kinds[it->kind]++;
    }
    /* node1: generation order; node2: issuances by issuer, the rest reversed */
    for (uint32_t i = 0; i < s->n; i++) {
        if (put_entry(s, 0, i) != 0)
            return -1;
        if (s->nodes > 1 && round != 0 && put_entry(s, 1, s->n - 1u - i) != 0)
            return -1;
        s->time_ms += LOG_SPAN_MS / (s->entries_total + 1u);
    }
    for (uint32_t k = 0; s->nodes > 1 && round == 0 && k < s->issuers; k++)
        for (uint32_t i = 0; i < s->n; i++)
            if (s->items[i].issuer == k && put_entry(s, 1, i) != 0)
                return -1;
    for (uint32_t i = 0; i < s->n; i++) {
        free(s->order_buf[i]);
        free(s->cert_buf[i]);
        s->order_buf[i] = s->cert_buf[i] = NULL;
    }
    s->n = 0;
    return 0;
}

static int add_item(synth *s, unsigned round, item it)
{
    s->items[s->n++] = it;
    return s->n == BATCH ? do_batch(s, round) : 0;
}

static int make_log(synth *s)
{
    /* round 0: ISSUE orders, round-robin over the issuers */
    uint32_t max_orders = 0;
    for (uint32_t k = 0; k < s->issuers; k++) {
        uint32_t c = (s->issuer_count[k] + VL_MAX_ISSUE_BATCH - 1u) / VL_MAX_ISSUE_BATCH;
        max_orders = c > max_orders ? c : max_orders;
    }
    for (uint32_t q = 0; q < max_orders; q++)
        for (uint32_t k = 0; k < s->issuers; k++)
            if ((uint64_t)q * VL_MAX_ISSUE_BATCH < s->issuer_count[k] &&
                add_item(s, 0, (item){.kind = VL_ORDER_ISSUE, .issuer = k, .seq = q}) != 0)
                return -1;
    if (s->n > 0 && do_batch(s, 0) != 0)
        return -1;
    /* rounds 1..MAX_REDEEMS: the r-th redemption of each voucher */
    for (unsigned r = 1; r <= MAX_REDEEMS; r++) {
        for (uint32_t v = 0; v < s->vcount; v++)
            if (s->vs[v].redeems >= r &&
                add_item(s, r, (item){.kind = VL_ORDER_REDEEM, .v = v, .seq = r - 1u}) != 0)
                return -1;
        if (s->n > 0 && do_batch(s, r) != 0)
            return -1;
    }
    for (uint32_t v = 0; v < s->vcount; v++)
        if (s->vs[v].revoked &&
            add_item(s, ROUNDS - 1u,
                     (item){.kind = VL_ORDER_REVOKE, .v = v, .seq = s->vs[v].redeems}) != 0)
            return -1;
    if (s->n > 0 && do_batch(s, ROUNDS - 1u) != 0)
        return -1;
    return 0;
}

static int finish_node(synth *s, uint32_t node, uint64_t *bytes)
{
    vl_checkpoint cp = {.node = (uint16_t)node, .log_index = s->index[node],
                        .time_ms = s->time_ms + 1000u};
    memcpy(cp.network_id, s->g->network_id, 32);
    memcpy(cp.entry_hash, s->head[node], 32);
    vl_tagged_hash(cp.state_digest, VL_TAG_STATE_DIGEST, &s->buckets[0][0], sizeof s->buckets);
    vl_checkpoint_sign(&cp, &s->voter[node], NULL);
    uint8_t buf[512];
    size_t len;
    char err[256] = "";
    vl_err e = vl_checkpoint_encode(&cp, buf, sizeof buf, &len);
    if (e == VL_OK)
        e = vl_logfile_put(s->w[node], VL_LOGREC_CHECKPOINT, buf, len);
    vl_err e2 = vl_logfile_close(&s->w[node], err, sizeof err);
    if (e != VL_OK || e2 != VL_OK) {
        fprintf(stderr, "voucher-synthlog: node%" PRIu32 ".vllog: %s%s%s\n", node + 1u,
                vl_strerror(e != VL_OK ? e : e2), err[0] ? ": " : "", err);
        return -1;
    }
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/node%" PRIu32 ".vllog", s->out, node + 1u);
    *bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0u;
    return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static bool parse_u64(const char *str, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(str, &end, 10);
    if (errno != 0 || end == str || *end != '\0' || str[0] == '-' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static void usage(FILE *f)
{
    fputs("usage: voucher-synthlog --out DIR --redemptions N [--seed S] [--issuers K]\n"
          "                        [--providers P] [--revocations R] [--nodes 1|2]\n"
          "                        [--threads T] [--json]\n"
          "Writes DIR/genesis.json, DIR/keys/*.key and DIR/node1.vllog (and node2.vllog):\n"
          "a valid synthetic network with real signatures.  DIR must not exist or be empty.\n"
          "The keys are derived from the seed: for benchmarks and tests only.\n",
          f);
}

static int parse_opts(synth *s, int argc, char **argv)
{
    static const struct option lo[] = {
        {"out", required_argument, NULL, 'o'},       {"redemptions", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},      {"issuers", required_argument, NULL, 'i'},
        {"providers", required_argument, NULL, 'p'}, {"revocations", required_argument, NULL, 'v'},
        {"nodes", required_argument, NULL, 'n'},     {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},            {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    uint64_t v;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        const char *name = NULL;
        uint64_t min = 1, max = 0;
        switch (ch) {
        case 'o': s->out = optarg; continue;
        case 'j': s->json = true; continue;
        case 'h': usage(stdout); exit(0);
        case 'r': name = "redemptions", max = MAX_REDEMPTIONS; break;
        case 's': name = "seed", min = 0, max = UINT64_MAX; break;
        case 'i': name = "issuers", max = MAX_ISSUERS_OPT; break;
        case 'p': name = "providers", max = MAX_PROVIDERS_OPT; break;
        case 'v': name = "revocations", min = 0, max = UINT32_MAX; break;
        case 'n': name = "nodes", max = MAX_NODES_OUT; break;
        case 't': name = "threads", max = MAX_THREADS; break;
        default: usage(stderr); return -1;
        }
        if (!parse_u64(optarg, min, max, &v)) {
            fprintf(stderr,
                    "voucher-synthlog: --%s \"%s\": want a whole number from %" PRIu64
                    " to %" PRIu64 "\n",
                    name, optarg, min, max);
            return -1;
        }
        switch (ch) {
        case 'r': s->redemptions = v; break;
        case 's': s->seed = v; break;
        case 'i': s->issuers = (uint32_t)v; break;
        case 'p': s->providers = (uint32_t)v; break;
        case 'v': s->revocations = (uint32_t)v; break;
        case 'n': s->nodes = (uint32_t)v; break;
        default: s->threads = (uint32_t)v; break;
        }
    }
    if (optind != argc || s->out == NULL || s->redemptions == 0) {
        if (optind != argc)
            fprintf(stderr, "voucher-synthlog: unexpected argument \"%s\"\n", argv[optind]);
        else
            fprintf(stderr, "voucher-synthlog: --out and --redemptions are required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* DIR: created, or an existing empty directory; then DIR/keys. */
static int make_dirs(const char *out)
{
    char path[4096];
    if (strlen(out) > 3000) {
        fprintf(stderr, "voucher-synthlog: --out is too long\n");
        return -1;
    }
    if (mkdir(out, 0755) != 0) {
        int err = errno;
        DIR *d = err == EEXIST ? opendir(out) : NULL;
        bool empty = d != NULL;
        for (struct dirent *de; empty && (de = readdir(d)) != NULL;)
            empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
        if (d != NULL)
            closedir(d);
        if (!empty) {
            fprintf(stderr, "voucher-synthlog: %s: %s\n", out,
                    err == EEXIST ? "exists and is not an empty directory" : strerror(err));
            return -1;
        }
    }
    snprintf(path, sizeof path, "%s/keys", out);
    if (mkdir(path, 0700) != 0) {
        fprintf(stderr, "voucher-synthlog: mkdir %s: %s (--out must be a new or empty directory)\n",
                path, strerror(errno));
        return -1;
    }
    return 0;
}

static int run(synth *s)
{
    char path[4096], err[512] = "";
    if (make_dirs(s->out) != 0 || make_network(s) != 0 || make_vouchers(s) != 0)
        return -1;
    vl_err e = vl_genesis_finish(s->g, err, sizeof err); /* the budgets: a new network id */
    snprintf(path, sizeof path, "%s/genesis.json", s->out);
    if (e == VL_OK)
        e = vl_genesis_save_file(s->g, path);
    if (e != VL_OK) {
        fprintf(stderr, "voucher-synthlog: %s: %s %s\n", path, vl_strerror(e), err);
        return -1;
    }
    uint64_t issues = 0;
    for (uint32_t k = 0; k < s->issuers; k++)
        issues += (s->issuer_count[k] + VL_MAX_ISSUE_BATCH - 1u) / VL_MAX_ISSUE_BATCH;
    s->entries_total = issues + s->redemptions + s->revocations;
    s->time_ms = LOG_START_MS;
    for (uint32_t node = 0; node < s->nodes; node++) {
        snprintf(path, sizeof path, "%s/node%" PRIu32 ".vllog", s->out, node + 1u);
        memcpy(s->head[node], s->g->network_id, 32);
        char id[16];
        snprintf(id, sizeof id, "node%" PRIu32, node + 1u);
        e = vl_logfile_create(path, id, (uint16_t)node, s->g->network_id,
                              LOG_START_MS + LOG_SPAN_MS + 86400000ull, &s->w[node], err,
                              sizeof err);
        if (e != VL_OK) {
            fprintf(stderr, "voucher-synthlog: %s: %s\n", path, err[0] ? err : vl_strerror(e));
            return -1;
        }
    }
    return make_log(s);
}

int main(int argc, char **argv)
{
    static synth s0;
    synth *s = &s0;
    s->seed = 1;
    s->issuers = 4;
    s->providers = 4;
    s->revocations = 5;
    s->nodes = 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    s->threads = ncpu < 1 ? 1u : ncpu > (long)MAX_THREADS ? MAX_THREADS : (uint32_t)ncpu;
    if (parse_opts(s, argc, argv) != 0)
        return 2;
    double t0 = vl_seconds(CLOCK_MONOTONIC);
    s->g = calloc(1, sizeof *s->g);
    s->items = calloc(BATCH, sizeof *s->items);
    s->hash = calloc(BATCH, sizeof *s->hash);
    s->leaf = calloc(BATCH, sizeof *s->leaf);
    s->paths = calloc(BATCH, sizeof *s->paths);
    s->entry_buf = malloc(CERT_CAP + 256u);
    int rc = s->g == NULL || s->items == NULL || s->hash == NULL || s->leaf == NULL ||
                     s->paths == NULL || s->entry_buf == NULL
                 ? (fprintf(stderr, "voucher-synthlog: out of memory\n"), -1)
                 : run(s);
    uint64_t bytes[MAX_NODES_OUT] = {0};
    for (uint32_t node = 0; rc == 0 && node < s->nodes; node++)
        rc = finish_node(s, node, &bytes[node]);
    for (uint32_t node = 0; node < s->nodes; node++)
        if (s->w[node] != NULL)
            vl_logfile_close(&s->w[node], NULL, 0);
    double dt = vl_seconds(CLOCK_MONOTONIC) - t0;
    if (rc == 0) {
        uint64_t sigs = s->order_sigs + s->vote_sigs + s->nodes;
        char hex[65];
        vl_hex_encode(hex, s->g->network_id, 32);
        if (s->json)
            printf("{\"out\": \"%s\", \"network_id\": \"%s\", \"nodes\": %" PRIu32
                   ", \"entries\": %" PRIu64 ", \"vouchers\": %" PRIu32
                   ", \"issuances\": %" PRIu64 ", \"redemptions\": %" PRIu64
                   ", \"revocations\": %" PRIu64 ", \"batches\": %" PRIu64
                   ", \"order_signatures\": %" PRIu64 ", \"vote_signatures\": %" PRIu64
                   ", \"signatures\": %" PRIu64 ", \"bytes_per_node\": %" PRIu64
                   ", \"seconds\": %.1f, \"threads\": %" PRIu32 "}\n",
                   s->out, hex, s->nodes, s->index[0], s->vcount, s->kinds[VL_ORDER_ISSUE],
                   s->kinds[VL_ORDER_REDEEM], s->kinds[VL_ORDER_REVOKE], s->batches,
                   s->order_sigs, s->vote_sigs, sigs, bytes[0], dt, s->threads);
        else
            printf("wrote %s/genesis.json (network \"%s\", id %s), %s/keys/ (%" PRIu32
                   " key files)\n"
                   "wrote %" PRIu32 " log export(s) %s/node1.vllog%s: %" PRIu64
                   " entries each (%" PRIu64 " issuances of %" PRIu32 " vouchers, %" PRIu64
                   " redemptions, %" PRIu64 " revocations), %" PRIu64 " bytes each\n"
                   "signatures: %" PRIu64 " (%" PRIu64 " in orders, %" PRIu64
                   " votes over %" PRIu64 " batches, %" PRIu32 " checkpoint(s))\n"
                   "took %.1f s on %" PRIu32 " thread(s)\n",
                   s->out, s->g->network, hex, s->out,
                   VOTERS + s->issuers + s->providers + FIRMS, s->nodes, s->out,
                   s->nodes > 1 ? " and node2.vllog" : "", s->index[0], s->kinds[VL_ORDER_ISSUE],
                   s->vcount, s->kinds[VL_ORDER_REDEEM], s->kinds[VL_ORDER_REVOKE], bytes[0],
                   sigs, s->order_sigs, s->vote_sigs, s->batches, s->nodes, dt, s->threads);
    }
    for (uint32_t i = 0; i < VOTERS; i++)
        vl_keypair_wipe(&s->voter[i]);
    for (uint32_t i = 0; i < FIRMS; i++)
        vl_keypair_wipe(&s->firm[i]);
    vl_wipe(s->issuer_key, sizeof s->issuer_key);
    vl_wipe(s->provider_key, sizeof s->provider_key);
    free(s->g);
    free(s->items);
    free(s->hash);
    free(s->leaf);
    free(s->paths);
    free(s->entry_buf);
    free(s->vs);
    free(s->issuer_first);
    free(s->issuer_count);
    return rc == 0 ? 0 : 1;
}
