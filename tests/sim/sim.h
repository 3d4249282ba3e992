/* sim.h - the deterministic cluster simulator (docs/simulator.md).
 *
 * One process runs the vl_core of every node of a network, each on its own
 * LMDB environment, against a simulated network, simulated clients and
 * Byzantine voters.  Every random choice comes from one seeded PRNG and time
 * is a step counter, so a seed replays exactly.  After every step the
 * checker (sim_check.c) tests the invariants of DESIGN.md section 7.
 *
 * Modules (all internal to the simulator; names start with sim_):
 *   sim_rng.c    xoshiro256** seeded by splitmix64
 *   sim_map.c    a bounded open-addressing map keyed by (32 bytes, u64)
 *   sim_world.c  genesis, keys, temp directories, node open/crash/restart
 *   sim_net.c    messages in flight: delay, loss, duplication, partitions
 *   sim_client.c the workload: issuers, voucher wallets, double-signers
 *   sim_byz.c    Byzantine voters: vote-all, forger, withholder
 *   sim_check.c  the invariants and the oracle they need
 *   sim_run.c    one run: the step loop, healing, quiescence
 *   sim_main.c   command line, one forked child per run, the summary
 *
 * Every loop is bounded by a count (nodes, items, a named SIM_MAX_*), and
 * every table has a named capacity; hitting one is reported as a failure of
 * the simulator itself (invariant 0), never silently ignored.
 */
#ifndef VL_SIM_H
#define VL_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_core.h"
#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_verify.h"
#include "vl_wire.h"

/* ---- limits and timing --------------------------------------------------- */

#define SIM_MAX_NODES 32       /* voters + observers */
#define SIM_MAX_ISSUERS 3      /* issuers in the genesis (2 or 3) */
#define SIM_PROVIDERS 2        /* data centers in the genesis */
#define SIM_HONEST_HOLDERS 4   /* firms that never sign twice */
#define SIM_CHEATERS 2         /* firms that sign two REDEEMs for one slot */
#define SIM_HOLDERS (SIM_HONEST_HOLDERS + SIM_CHEATERS)
#define SIM_MAX_ACTORS 1024    /* accounts driven by clients */
#define SIM_MAX_ACCTS (SIM_MAX_ACTORS + 64) /* accounts the oracle tracks */
#define SIM_MAX_ORDERS 16384   /* orders signed or seen in one run */
#define SIM_MAX_SEQ 64         /* sequence numbers a client signs per account */
#define SIM_MAX_INFLIGHT 200000 /* messages in the network at once */
#define SIM_MAX_BATCH 8        /* vouchers per ISSUE */
#define SIM_MAX_INPUTS 4096    /* inputs delivered to one node in one step */
#define SIM_ENTRY_CAP (1u << 20) /* largest log entry / certificate read back */

#define SIM_STEP_MS 100ull                 /* simulated time per step */
#define SIM_T0_MS 1800000000000ull         /* 2027-01-15 08:00 UTC */
#define SIM_SKEW_MS 1000ull                /* cfg.clock_skew_ms */
#define SIM_MAX_HEAL_FACTOR 3              /* heal phase: at most 3*T steps */

/* Invariants (DESIGN.md 7); 0 is the simulator's own failure. */
enum {
    SIM_INV_SIM = 0,
    SIM_INV_AGREEMENT = 1,
    SIM_INV_OVERSPEND = 2,
    SIM_INV_OVERISSUE = 3,
    SIM_INV_VALIDITY = 4,
    SIM_INV_DURABILITY = 5,
    SIM_INV_CONVERGENCE = 6,
    SIM_INV_LIVENESS = 7,
};
const char *sim_inv_name(int inv);

/* ---- PRNG (sim_rng.c) ---------------------------------------------------- */

typedef struct {
    uint64_t s[4];
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/* Uniform in [lo, hi]; lo <= hi. */
uint64_t sim_rng_range(sim_rng *r, uint64_t lo, uint64_t hi);
/* True with probability permille / 1000. */
bool sim_rng_chance(sim_rng *r, uint32_t permille);
void sim_rng_bytes(sim_rng *r, uint8_t *out, size_t n);

/* ---- map (sim_map.c) ----------------------------------------------------- */

typedef struct {
    uint8_t id[32];
    uint64_t n;
} sim_key;

typedef struct {
    sim_key *keys;
    uint64_t *vals;
    uint8_t *used;
    uint32_t cap;   /* power of two, 0 before the first put */
    uint32_t count;
} sim_map;

#define SIM_MAP_MAX_CAP (1u << 22)

sim_key sim_key_of(const uint8_t id[32], uint64_t n);
/* Insert or overwrite.  false when the map is at SIM_MAP_MAX_CAP or out of
 * memory (the caller reports a simulator failure). */
bool sim_map_put(sim_map *m, const sim_key *k, uint64_t val);
bool sim_map_get(const sim_map *m, const sim_key *k, uint64_t *val);
void sim_map_free(sim_map *m);

/* ---- byte buffers ---------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len;
} sim_buf;

/* Copy (aborts on out-of-memory: nothing sensible to test then). */
sim_buf sim_buf_copy(const uint8_t *p, size_t len);
void sim_buf_free(sim_buf *b);
void *sim_xmalloc(size_t n);
void *sim_xcalloc(size_t n, size_t size);

/* ---- nodes ------------------------------------------------------------------ */

typedef enum {
    SIM_HONEST = 0,
    SIM_BYZ_VOTE_ALL = 1, /* signs every order it is asked about, no lock */
    SIM_BYZ_FORGER = 2,   /* garbage, truncations, forged certificates */
    SIM_BYZ_WITHHOLD = 3, /* a real core whose outputs are all dropped */
} sim_node_kind;

/* Forger memory: recent things it saw, to mutate and replay. */
#define SIM_BYZ_RING 16
#define SIM_BYZ_HARVEST 8

typedef struct {
    uint64_t req_id;
    sim_buf order; /* the order it asked honest voters to vote on */
    uint8_t leaf[32]; /* its vote leaf (vl_vote_leaf): what their votes sign */
    vl_cert *cert;  /* its own vote and the genuine ones collected */
} sim_harvest;

typedef struct {
    sim_buf orders[SIM_BYZ_RING];
    sim_buf msgs[SIM_BYZ_RING];
    uint32_t n_orders, n_msgs; /* total seen; ring index = n % RING */
    sim_harvest harvest[SIM_BYZ_HARVEST];
    uint32_t n_harvest;
} sim_byz;

typedef struct {
    sim_node_kind kind;
    bool voter;
    uint16_t index; /* genesis index */
    vl_keypair key;
    char dir[560];
    vl_core *core;  /* NULL while down, and for core-less Byzantine nodes */
    bool up;
    uint64_t up_at_step; /* restart when step reaches this */
    uint32_t restarts;
    bool crash_mid; /* crash after this step's commit, before its sends */
    struct sim_world *world; /* for the send_early hook (vl_core.c note 24) */
    int64_t clock_offset_ms; /* this node's clock error, within the skew allowance */
    uint8_t group;  /* partition side, 0 or 1 */
    sim_byz byz;
} sim_node;

/* ---- network (sim_net.c) ---------------------------------------------------- */

#define SIM_CLIENT 0xffffu /* from/to of a client message */

typedef struct {
    uint64_t at_step; /* deliver at this step */
    uint64_t order;   /* tie-break: enqueue order, then shuffled */
    uint16_t from;    /* node index or SIM_CLIENT */
    uint16_t to;      /* node index or SIM_CLIENT */
    uint64_t client;  /* client tag for client traffic */
    sim_buf data;
} sim_msg;

typedef struct {
    sim_msg *q;
    uint32_t count, cap;
    uint64_t next_order;
    /* fault model, drawn per run (sim_net_init); loss, long delays,
     * partitions and crashes stop at healing.  Rates are permille per
     * message, or per step (partition_pm) or per node and step (crash_pm). */
    uint32_t loss_pm, dup_pm, long_delay_pm, partition_pm, crash_pm;
    uint32_t max_delay; /* extra steps 0..max_delay */
    bool partitioned;
    uint64_t partition_until;
    uint64_t sent, delivered, dropped;
} sim_net;

/* ---- clients (sim_client.c) -------------------------------------------------- */

typedef enum {
    SIM_ACT_ISSUER = 1,
    SIM_ACT_VOUCHER = 2,
} sim_actor_kind;

typedef struct {
    uint8_t kind;
    uint8_t issuer;        /* genesis issuer index */
    uint8_t holder;        /* voucher: index into w->holder_key */
    bool cheater;          /* voucher held by a double-signing firm */
    uint8_t account[32];
    uint64_t serial;       /* voucher */
    uint64_t next_seq;     /* the slot after the last certificate it saw */
    uint64_t face_fen, remaining_fen;
    uint64_t next_serial;  /* issuer: next serial to issue */
    uint32_t ops, max_ops; /* orders made, and how many it plans */
    bool final_sent;       /* its last planned order is out: no new ones */
    bool revoked;
    int32_t pend[2];       /* registry indexes of the order(s) in flight */
    uint64_t retry_step;   /* resubmit the order(s) in flight at this step */
    uint64_t req_id;       /* last request, to match ERROR replies */
    uint16_t last_node;
    uint16_t last_err;
} sim_actor;

/* ---- the oracle's registry of orders (sim_check.c) ----------------------- */

enum {
    SIM_ORD_HONEST = 1, /* signed by an honest client: liveness applies */
    SIM_ORD_DOUBLE = 2, /* one of two orders signed for one slot */
};

typedef struct {
    uint8_t hash[32];
    uint8_t account[32];
    uint64_t seq;
    uint8_t kind;
    uint8_t issuer;
    uint8_t flags;
    int32_t actor; /* -1: not a client's (decoded from a certificate) */
    uint64_t serial;
    uint64_t amount_fen;  /* REDEEM amount; ISSUE batch total */
    uint64_t created_step;
    sim_buf bytes;        /* the encoded order */
} sim_order;

/* Per-account truth, built only from certificates that verify. */
typedef struct {
    uint8_t id[32];
    uint8_t kind;   /* vl_account_kind */
    uint8_t issuer; /* genesis issuer index */
    /* issuer */
    uint64_t budget_fen;
    /* voucher: known once the ISSUE that created it is certified */
    bool created;
    uint32_t creations; /* certified ISSUEs that created it (must be 1) */
    bool has_revoke;
    uint64_t serial, face_fen, valid_from_s, valid_until_s;
    int32_t slot[SIM_MAX_SEQ]; /* certified order per seq, -1 none */
} sim_acct;

typedef struct {
    uint64_t log_read;     /* entries read and checked */
    uint8_t last_hash[32]; /* entry hash of entry log_read */
    sim_map applied;       /* order hash -> index in list */
    int32_t *list;         /* orders applied, in log order */
    uint32_t n_list, cap_list;
    sim_map votes;         /* (account, seq) -> order index it voted */
    int32_t *replies;      /* orders it sent a CERT reply for, applied then */
    uint32_t n_replies, cap_replies;
    int32_t *owed;         /* ... not applied yet (pending a gap): by the end */
    uint32_t n_owed, cap_owed;
} sim_nodecheck;

typedef struct {
    sim_order *orders;
    uint32_t n_orders;
    sim_map by_hash;   /* order hash -> registry index */
    sim_map by_leaf;   /* vote leaf of each copy registered -> registry index */
    sim_map accts;     /* (account, 0) -> index into acct */
    sim_acct *acct;
    uint32_t n_acct;
    sim_map cert_seen; /* (cert hash, 0) -> 1 valid, 2 invalid */
    sim_nodecheck node[SIM_MAX_NODES];
    uint8_t *entry_buf; /* SIM_ENTRY_CAP */
    vl_cert *cert;      /* decode scratch */
    vl_order *order;    /* decode scratch */
    vl_msg_storage *st; /* decode scratch for observed messages */
    vl_msg msg;
    /* the first failure */
    bool failed;
    int inv;
    uint64_t fail_step;
    char detail[2048];
} sim_check;

/* ---- the world of one run -------------------------------------------------- */

typedef struct {
    uint64_t seed;
    uint32_t voters, observers, faulty, steps;
    bool quiet, verbose, keep;
} sim_params;

typedef struct {
    uint64_t steps, messages, certs, orders, crashes, forged;
    uint64_t early_outputs; /* sent before their step's commit (vl_core.c note 24) */
    uint64_t refusals[128]; /* by vl_err code < 128 */
    uint64_t heal_steps;
} sim_stats;

typedef struct sim_world {
    sim_params p;
    sim_rng rng;
    vl_genesis *g;
    char root[512];
    uint32_t n_nodes;
    sim_node node[SIM_MAX_NODES];
    vl_keypair issuer_key[SIM_MAX_ISSUERS]; /* by genesis index */
    vl_keypair provider_key[SIM_PROVIDERS];
    vl_keypair holder_key[SIM_HOLDERS];     /* >= SIM_HONEST_HOLDERS: cheaters */
    uint64_t budget_fen[SIM_MAX_ISSUERS];
    uint64_t step, now_ms;
    bool healed;
    sim_net net;
    sim_actor *actor;
    uint32_t n_actors;
    uint64_t next_req_id;
    sim_map reqs;       /* (0, req_id) -> registry index of the order submitted */
    sim_check ck;
    vl_outbox ob;
    vl_msg_storage *st; /* decode scratch for messages */
    vl_msg msg;
    vl_order *order;    /* build scratch */
    vl_cert *cert;      /* build scratch */
    sim_stats stats;
} sim_world;

/* ---- cross-module API --------------------------------------------------------- */

/* sim_world.c */
bool sim_world_init(sim_world *w, const sim_params *p);
void sim_world_free(sim_world *w);
void sim_node_config(const sim_world *w, uint16_t i, vl_core_config *cfg);
bool sim_node_open(sim_world *w, uint16_t i);
void sim_node_crash(sim_world *w, uint16_t i, const char *how);
bool sim_is_honest(const sim_world *w, uint16_t i);
/* Trace a line when --verbose ("[step N] ..."). */
void sim_trace(const sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record the first failure of the run (printed by sim_run). */
void sim_fail(sim_world *w, int inv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sim_hex8(char out[17], const uint8_t *p); /* first 8 bytes in hex */
const char *sim_msg_name(uint8_t type);

/* sim_net.c */
void sim_net_init(sim_net *n, sim_rng *r);
void sim_net_free(sim_net *n);
void sim_net_heal(sim_world *w);
void sim_net_faults(sim_world *w); /* partitions come and go */
/* Send bytes (copied) from `from` to `to` through the fault model. */
void sim_net_send(sim_world *w, uint16_t from, uint16_t to, uint64_t client, const uint8_t *p,
                  size_t len);
/* Take every message due for `to` (node or SIM_CLIENT) now, in random order.
 * The caller owns the returned array and the data (sim_net_release). */
uint32_t sim_net_take(sim_world *w, uint16_t to, sim_msg **out);
void sim_net_release(sim_msg *m, uint32_t n);
/* Route a core's outbox: observe every message, then send it. */
void sim_net_route(sim_world *w, uint16_t from, vl_outbox *ob);
uint32_t sim_net_in_flight(const sim_net *n);

/* sim_client.c */
void sim_clients_init(sim_world *w);
void sim_clients_free(sim_world *w);
void sim_clients_step(sim_world *w);
void sim_client_reply(sim_world *w, const sim_msg *m);
/* Encode a CLIENT_REQUEST SUBMIT of order bytes (for the forger too). */
bool sim_encode_submit(sim_world *w, uint64_t req_id, const sim_buf *order, sim_buf *out);

/* sim_byz.c */
void sim_byz_assign(sim_world *w);
void sim_byz_step(sim_world *w, uint16_t i);        /* spontaneous actions */
void sim_byz_deliver(sim_world *w, uint16_t i, const sim_msg *m);
void sim_byz_free(sim_byz *b);

/* sim_check.c */
bool sim_check_init(sim_world *w);
void sim_check_free(sim_world *w);
/* Register an order a client signed; returns its registry index (or -1
 * after a failure was recorded). */
int32_t sim_check_register(sim_world *w, const sim_buf *order, int32_t actor, uint8_t flags);
int32_t sim_check_find(const sim_world *w, const uint8_t hash[32]);
/* The registry index of the order whose vote leaf (vl_vote_leaf of a copy
 * registered: signature bytes included) is `leaf`, or -1. */
int32_t sim_check_find_leaf(const sim_world *w, const uint8_t leaf[32]);
/* A certificate seen anywhere: verify (fresh, no shared cache), record for
 * agreement and the oracle.  Returns the registry index of its order, or
 * -1 when it does not verify. */
int32_t sim_check_cert(sim_world *w, const uint8_t *p, size_t len, const char *where);
/* Every message a node sends (honest or not), before the network. */
void sim_check_output(sim_world *w, uint16_t from, const vl_output *o);
void sim_check_logs(sim_world *w);                 /* after every step */
/* After a node's vl_core_step on inputs in[0..n): votes it cast locally. */
void sim_check_after_step(sim_world *w, uint16_t i, const vl_input *in, size_t n);
void sim_check_restart(sim_world *w, uint16_t i);  /* after a reopen */
/* After healing: are convergence and liveness reached?  With `report`,
 * a miss is recorded as a failure with its details. */
bool sim_check_settled(sim_world *w, bool report);
/* An ISSUE over its issuer's budget even with every certified credit, its
 * earlier slots certified and its own not: no honest view can accept it. */
bool sim_check_over_budget(sim_world *w, int32_t idx);
/* The slot (account, seq) certificate's order index, or -1. */
int32_t sim_check_slot(const sim_world *w, const uint8_t account[32], uint64_t seq);

/* sim_run.c */
typedef struct {
    uint64_t seed;
    int32_t failed; /* 0 pass, 1 invariant violation */
    int32_t inv;
    uint64_t fail_step;
    sim_stats stats;
} sim_result;

void sim_run(const sim_params *p, sim_result *res, const char *argv0);

/* Set by SIGINT/SIGTERM (sim_main.c): a run stops at the next step and
 * removes its directories; no new run starts. */
extern volatile sig_atomic_t sim_interrupted;

#endif
