/* sim_world.c - the fixed parts of a run: the genesis built in code, keys
 * derived from the seed, one temporary LMDB directory per node, and the
 * node lifecycle (open, crash, restart).
 *
 * Keys: secret = tagged_hash("voucher-ledger/sim/key", seed || role || i ||
 * attempt), so a seed names the whole network; the attempt counter only
 * moves in the (astronomically unlikely) case of an invalid secret.
 *
 * Crash model: a crash is vl_core_close and a later vl_core_open of the same
 * directory inside this process.  cfg.durable is false (no fsync): what a
 * committed LMDB transaction wrote survives a close/reopen with or without
 * fsync, so the model covers every crash except losing the OS page cache.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

enum { ROLE_NODE = 1, ROLE_ISSUER = 2, ROLE_PROVIDER = 3, ROLE_HOLDER = 4, ROLE_CURVE = 5 };

static const uint32_t regions[] = {310000, 110000, 410000, 370000, 510100,
                                   440300, 330200, 520000, 640000};
#define N_REGIONS (sizeof regions / sizeof regions[0])

const char *sim_inv_name(int inv)
{
    static const char *names[] = {"simulator",   "agreement",   "no overspend",
                                  "no over-issue", "validity",  "durability",
                                  "convergence", "liveness"};
    return inv >= 0 && inv <= 7 ? names[inv] : "unknown";
}

void sim_hex8(char out[17], const uint8_t *p)
{
    vl_hex_encode(out, p, 8);
}

const char *sim_msg_name(uint8_t type)
{
    switch (type) {
    case VL_MSG_VOTE_REQUEST: return "VOTE_REQUEST";
    case VL_MSG_VOTE_REPLY: return "VOTE_REPLY";
    case VL_MSG_CERTS: return "CERTS";
    case VL_MSG_LOG_REQUEST: return "LOG_REQUEST";
    case VL_MSG_LOG_REPLY: return "LOG_REPLY";
    case VL_MSG_ACCOUNT_REQUEST: return "ACCOUNT_REQUEST";
    case VL_MSG_SUMMARY_REQUEST: return "SUMMARY_REQUEST";
    case VL_MSG_SUMMARY_REPLY: return "SUMMARY_REPLY";
    case VL_MSG_CLIENT_REQUEST: return "CLIENT_REQUEST";
    case VL_MSG_CLIENT_REPLY: return "CLIENT_REPLY";
    default: return "?";
    }
}

void sim_trace(const sim_world *w, const char *fmt, ...)
{
    if (!w->p.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("[step %llu] ", (unsigned long long)w->step);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

void sim_fail(sim_world *w, int inv, const char *fmt, ...)
{
    if (w->ck.failed)
        return;
    w->ck.failed = true;
    w->ck.inv = inv;
    w->ck.fail_step = w->step;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->ck.detail, sizeof w->ck.detail, fmt, ap);
    va_end(ap);
    sim_trace(w, "FAIL invariant %d (%s): %s", inv, sim_inv_name(inv), w->ck.detail);
}

static void derive_key(vl_keypair *kp, uint64_t seed, uint8_t role, uint32_t i)
{
    uint8_t msg[17], secret[32];
    for (uint32_t attempt = 0; attempt < 16; attempt++) {
        for (int b = 0; b < 8; b++)
            msg[b] = (uint8_t)(seed >> (8 * b));
        msg[8] = role;
        for (int b = 0; b < 4; b++) {
            msg[9 + b] = (uint8_t)(i >> (8 * b));
            msg[13 + b] = (uint8_t)(attempt >> (8 * b));
        }
        vl_tagged_hash(secret, "voucher-ledger/sim/key", msg, sizeof msg);
        if (vl_keypair_from_secret(kp, secret) == VL_OK) {
            vl_wipe(secret, sizeof secret);
            return;
        }
    }
    fprintf(stderr, "vl_sim: no valid key for role %u index %u\n", role, i);
    abort();
}

static void fill_nodes(sim_world *w, vl_genesis *g, vl_keypair *keys)
{
    const sim_params *p = &w->p;
    g->node_count = p->voters + p->observers;
    for (uint32_t i = 0; i < g->node_count; i++) {
        vl_gen_node *n = &g->nodes[i];
        bool voter = i < p->voters;
        /* "node-" sorts before "obs-": voters come first in canonical order */
        snprintf(n->id, sizeof n->id, voter ? "node-%02u" : "obs-%02u",
                 voter ? i : i - p->voters);
        n->region = regions[i % N_REGIONS];
        derive_key(&keys[i], p->seed, ROLE_NODE, i);
        memcpy(n->pubkey, keys[i].pubkey, 32);
        uint8_t tag[12] = {ROLE_CURVE, (uint8_t)i};
        for (int b = 0; b < 8; b++)
            tag[2 + b] = (uint8_t)(p->seed >> (8 * b));
        vl_tagged_hash(n->curve_pubkey, "voucher-ledger/sim/curve", tag, sizeof tag);
        snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://127.0.0.1:%u", 20000 + i);
        snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://127.0.0.1:%u",
                 21000 + i);
        n->role = voter ? VL_ROLE_VOTER : VL_ROLE_OBSERVER;
    }
}

/* Issuers get small budgets (a few ISSUE batches) so exhaustion happens. */
static void fill_parties(sim_world *w, vl_genesis *g, vl_keypair *iss, vl_keypair *prov)
{
    g->issuer_count = 2 + (uint32_t)sim_rng_below(&w->rng, SIM_MAX_ISSUERS - 1);
    for (uint32_t i = 0; i < g->issuer_count; i++) {
        vl_gen_issuer *is = &g->issuers[i];
        snprintf(is->id, sizeof is->id, "issuer-%u", i);
        is->region = regions[(i + 3) % N_REGIONS];
        derive_key(&iss[i], w->p.seed, ROLE_ISSUER, i);
        memcpy(is->pubkey, iss[i].pubkey, 32);
        is->budget_fen = sim_rng_range(&w->rng, 20000, 60000);
    }
    g->provider_count = SIM_PROVIDERS;
    for (uint32_t i = 0; i < SIM_PROVIDERS; i++) {
        vl_gen_provider *pr = &g->providers[i];
        snprintf(pr->id, sizeof pr->id, "dc-%u", i);
        pr->region = regions[(i + 7) % N_REGIONS];
        derive_key(&prov[i], w->p.seed, ROLE_PROVIDER, i);
        memcpy(pr->pubkey, prov[i].pubkey, 32);
    }
    for (uint32_t i = 0; i < SIM_HOLDERS; i++)
        derive_key(&w->holder_key[i], w->p.seed, ROLE_HOLDER, i);
}

/* Build and finish the genesis, then file each key under the canonical
 * index vl_genesis_finish gave its owner. */
static bool build_genesis(sim_world *w)
{
    vl_genesis *g = sim_xcalloc(1, sizeof *g);
    vl_keypair nodes[SIM_MAX_NODES], iss[SIM_MAX_ISSUERS], prov[SIM_PROVIDERS];
    snprintf(g->network, sizeof g->network, "sim-%llu", (unsigned long long)w->p.seed);
    g->max_faulty = (w->p.voters - 1) / 3;
    fill_nodes(w, g, nodes);
    fill_parties(w, g, iss, prov);
    char err[256];
    if (vl_genesis_finish(g, err, sizeof err) != VL_OK) {
        sim_fail(w, SIM_INV_SIM, "genesis rejected: %s", err);
        free(g);
        return false;
    }
    w->g = g;
    w->n_nodes = g->node_count;
    for (uint32_t i = 0; i < g->node_count; i++) {
        int at = vl_genesis_node_by_pubkey(g, nodes[i].pubkey);
        if (at < 0)
            return false;
        sim_node *n = &w->node[at];
        n->key = nodes[i];
        n->index = (uint16_t)at;
        n->voter = g->nodes[at].role == VL_ROLE_VOTER;
        snprintf(n->dir, sizeof n->dir, "%s/%s", w->root, g->nodes[at].id);
    }
    for (uint32_t i = 0; i < g->issuer_count; i++) {
        int at = vl_genesis_issuer_by_pubkey(g, iss[i].pubkey);
        w->issuer_key[at] = iss[i];
        w->budget_fen[at] = g->issuers[at].budget_fen;
    }
    for (uint32_t i = 0; i < SIM_PROVIDERS; i++)
        w->provider_key[vl_genesis_provider_by_pubkey(g, prov[i].pubkey)] = prov[i];
    vl_wipe(nodes, sizeof nodes);
    return true;
}

bool sim_is_honest(const sim_world *w, uint16_t i)
{
    return w->node[i].kind == SIM_HONEST;
}

void sim_node_config(const sim_world *w, uint16_t i, vl_core_config *cfg)
{
    vl_core_config_defaults(cfg);
    cfg->dir = w->node[i].dir;
    cfg->genesis = w->g;
    cfg->node = i;
    cfg->key = &w->node[i].key;
    cfg->force_observer = false;
    cfg->durable = false;
    cfg->map_size_bytes = 16u << 20;
    cfg->clock_skew_ms = SIM_SKEW_MS;
    cfg->redrive_after_ms = 15 * SIM_STEP_MS;
    cfg->sync_interval_ms = 10 * SIM_STEP_MS;
    cfg->sync_batch = 64;
    cfg->checkpoint_every_ms = 50 * SIM_STEP_MS;
    cfg->client_timeout_ms = 30 * SIM_STEP_MS;
}

/* vl_core.c note 24: certificates whose votes were all durable before the
 * step leave before its commit, as voucherd sends them; a withholding node
 * sends nothing, and a node that crashes after this commit (crash_mid) has
 * sent these already. */
static void sim_send_early(void *ctx, const vl_output *items, size_t n)
{
    sim_node *sn = ctx;
    sim_world *w = sn->world;
    uint16_t i = (uint16_t)(sn - w->node);
    if (sn->kind == SIM_BYZ_WITHHOLD)
        return;
    vl_outbox view = {(vl_output *)(uintptr_t)items, n, n};
    sim_trace(w, "node %u sends %zu outputs before its commit", i, n);
    w->stats.early_outputs += n;
    sim_net_route(w, i, &view);
}

bool sim_node_open(sim_world *w, uint16_t i)
{
    sim_node *n = &w->node[i];
    vl_core_config cfg;
    char err[256] = "";
    sim_node_config(w, i, &cfg);
    n->world = w;
    cfg.send_early = sim_send_early;
    cfg.before_commit_ctx = n;
    vl_err e = vl_core_open(&n->core, &cfg, err, sizeof err);
    if (e != VL_OK) {
        sim_fail(w, n->restarts > 0 ? SIM_INV_DURABILITY : SIM_INV_SIM,
                 "node %u: vl_core_open failed after %u restarts: %s (%s)", i, n->restarts,
                 vl_err_name(e), err);
        n->core = NULL;
        return false;
    }
    n->up = true;
    return true;
}

void sim_node_crash(sim_world *w, uint16_t i, const char *how)
{
    sim_node *n = &w->node[i];
    vl_core_close(&n->core);
    n->up = false;
    n->up_at_step = w->step + sim_rng_range(&w->rng, 1, 40);
    w->stats.crashes++;
    sim_trace(w, "node %u CRASH (%s), back at step %llu", i, how,
              (unsigned long long)n->up_at_step);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static bool make_root(sim_world *w)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if (strlen(tmp) > sizeof w->root - 32) {
        sim_fail(w, SIM_INV_SIM, "TMPDIR is too long: %s", tmp);
        return false;
    }
    snprintf(w->root, sizeof w->root, "%s/vl_sim.XXXXXX", tmp);
    if (mkdtemp(w->root) == NULL) {
        sim_fail(w, SIM_INV_SIM, "mkdtemp %s: %s", w->root, strerror(errno));
        w->root[0] = '\0';
        return false;
    }
    return true;
}

bool sim_world_init(sim_world *w, const sim_params *p)
{
    memset(w, 0, sizeof *w);
    w->p = *p;
    sim_rng_seed(&w->rng, p->seed);
    w->now_ms = SIM_T0_MS;
    w->st = sim_xmalloc(sizeof *w->st);
    vl_msg_init(&w->msg, w->st);
    w->order = sim_xcalloc(1, sizeof *w->order);
    w->cert = sim_xcalloc(1, sizeof *w->cert);
    vl_outbox_init(&w->ob);
    sim_net_init(&w->net, &w->rng);
    if (!make_root(w) || !build_genesis(w) || !sim_check_init(w))
        return false;
    sim_trace(w, "faults: loss %u, dup %u, late %u permille; delay 0..%u; partitions %u, "
              "crashes %u permille", w->net.loss_pm, w->net.dup_pm, w->net.long_delay_pm,
              w->net.max_delay, w->net.partition_pm, w->net.crash_pm);
    sim_byz_assign(w);
    for (uint16_t i = 0; i < w->n_nodes; i++) {
        uint64_t half = SIM_SKEW_MS / 2;
        w->node[i].clock_offset_ms = (int64_t)sim_rng_range(&w->rng, 0, 2 * half) - (int64_t)half;
        sim_node_kind k = w->node[i].kind;
        if ((k == SIM_HONEST || k == SIM_BYZ_WITHHOLD) && !sim_node_open(w, i))
            return false;
        if (k == SIM_BYZ_VOTE_ALL || k == SIM_BYZ_FORGER)
            w->node[i].up = true;
    }
    sim_clients_init(w);
    return true;
}

void sim_world_free(sim_world *w)
{
    for (uint16_t i = 0; i < w->n_nodes; i++) {
        vl_core_close(&w->node[i].core);
        sim_byz_free(&w->node[i].byz);
        vl_keypair_wipe(&w->node[i].key);
    }
    sim_clients_free(w);
    sim_check_free(w);
    sim_net_free(&w->net);
    vl_outbox_free(&w->ob);
    if (w->root[0] != '\0') {
        if (w->p.keep)
            printf("kept data directories in %s\n", w->root);
        else
            nftw(w->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(w->g);
    free(w->st);
    free(w->order);
    free(w->cert);
    w->g = NULL;
}
