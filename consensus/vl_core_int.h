/* vl_core_int.h - internals shared by the files of consensus/ (not an API).
 *
 *   vl_core.c   design notes, open/close, the step driver, outputs, queries
 *   vl_state.c  accounts, rules, applying certificates, log, digests, meta
 *   vl_vote.c   the voter: decisions, locks, the per-step batch vote
 *   vl_coord.c  the coordinator: submissions, votes, certificates, re-drive
 *   vl_serve.c  answers (log, accounts, status, checkpoints) and sync
 *   vl_store.c  LMDB
 *
 * Every function here runs inside a step (c->txn is the step's write
 * transaction) unless it says otherwise.  Functions return a storage error
 * (VL_ERR_STORAGE, _MAP_FULL, _DISK_FULL, _IO, _NOMEM, _CORRUPT) that fails
 * the whole step, or VL_OK; a bad input is counted (vl_bad_input) and is
 * not an error of the step.
 */
#ifndef VL_CORE_INT_H
#define VL_CORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_core.h"
#include "vl_store.h"
#include "vl_verify.h"

/* ---- limits (each with its reason) ------------------------------------------ */

/* Orders coordinated at once.  A full table answers VL_ERR_UNAVAILABLE. */
#define VL_COORD_MAX 65536u
/* Hash chains of the coordination table (2 per entry at most). */
#define VL_COORD_BUCKETS 131072u
/* Clients waiting on one order (a client retrying the same order through
 * one node should not need more). */
#define VL_COORD_MAX_WAITERS 16u
/* Times one coordination sends one voter what it misses after BEHIND,
 * until the next re-request resets it: stops a BEHIND ping-pong. */
#define VL_BEHIND_RETRIES 3u
/* Locks re-driven per tick, and lock records examined to find them. */
#define VL_REDRIVE_PER_TICK 64u
#define VL_REDRIVE_SCAN 1024u
/* A lock re-driven without a certificate waits twice as long each time,
 * up to 2^VL_REDRIVE_LEVEL_MAX redrive_after_ms; the level is kept in the
 * low VL_REDRIVE_LEVEL_BITS bits of the lock's time (vl_coord.c,
 * redrive_locks). */
#define VL_REDRIVE_LEVEL_MAX 5u
#define VL_REDRIVE_LEVEL_BITS 5u
/* Coordinations re-requested per tick. */
#define VL_REREQUEST_PER_TICK 256u
/* Pending certificates examined per tick. */
#define VL_PENDING_SWEEP 256u
/* Slots waiting to be checked for pending certificates after an apply; an
 * overflow is picked up by the sweep. */
#define VL_DRAIN_QUEUE 4096u
/* Certificates applied by one drain (bounds the work of one apply). */
#define VL_DRAIN_MAX 65536u
/* Answers to one peer in one step; more are dropped (it asks again). */
#define VL_PEER_ANSWERS_MAX 4096u
/* Orders requested from one peer in one step; more wait for a tick. */
#define VL_PEER_REQUESTS_MAX 8192u
/* ACCOUNT_REQUESTs sent in one step. */
#define VL_ACCOUNT_REQS_MAX 256u
/* Waiting clients remembered across a failed step. */
#define VL_ORPHANS_MAX 65536u
/* (voter, root) signatures cached. */
#define VL_SIGCACHE_CAP 65536u
/* Byte budget for the items of one list message: VL_MAX_MSG_BYTES less a
 * margin for headers and per-item framing. */
#define VL_LIST_BUDGET (VL_MAX_MSG_BYTES - 65536u)
/* A client's GET_LOG or GET_ACCOUNT(_FROM) reply: at most this many bytes
 * of entries or certificates (at least one).  Clients page through a log
 * or an account's certificates; a reply they never read stays queued in
 * the node's memory (node/vl_net.h VL_NET_CLIENT_SNDHWM), so small pages
 * bound what one connection can pin (docs/protocol.md). */
#define VL_CLIENT_PAGE_BUDGET (256u * 1024u)
/* Runs of one step: the first, then one per doubling of the map after
 * MDB_MAP_FULL; 1 MiB doubles to VL_STORE_MAX_MAP (1 TiB) in 20. */
#define VL_STEP_ATTEMPTS 24u
/* While a node refuses writes (disk or map full, vl_core.c note 20) it
 * tries a write step at most this often; the steps between are read-only
 * passes.  Bounds the work (and the log lines) of a full disk. */
#define VL_REFUSED_RETRY_MS 1000u
/* Framing counted per item when packing (u32 length, answer header). */
#define VL_ITEM_OVERHEAD 64u
/* Summaries kept in memory for the log's tail (vl_state.c log_append,
 * vl_serve.c gather_summaries): peers' sync asks mostly for the tail.
 * About 1 MiB. */
#define VL_SUMMARY_RING 8192u

/* ---- coordination ------------------------------------------------------------ */

typedef struct {
    uint64_t client;
    uint64_t req_id;
    uint64_t since_ms;
} vl_waiter;

/* One voter's vote on a coordinated order: where its vote leaf sits in
 * the voter's batch, the path to the batch root, and the batch signature. */
typedef struct {
    uint32_t leaf_index;
    uint32_t leaf_count;
    uint8_t path_len;
    uint8_t sig[64];
    uint8_t path[][32]; /* path_len hashes */
} vl_cvote;

typedef struct vl_coord {
    struct vl_coord *hnext;  /* hash chain */
    struct vl_coord *lnext;  /* leaf chain */
    struct vl_coord *older;  /* age list */
    struct vl_coord *newer;
    uint8_t hash[32];
    uint8_t leaf[32]; /* vl_vote_leaf of this copy of the order: what voters vote on */
    uint8_t account[32];
    uint64_t seq;
    uint8_t *order; /* encoded order (owned) */
    uint32_t order_len;
    uint64_t created_ms;
    uint64_t requested_ms;
    uint64_t voted;   /* voter bitmap: votes held */
    uint64_t refused; /* voter bitmap: REJECTED or CONFLICT */
    uint64_t observing; /* voter bitmap: of refused, those that answered NOT_VOTER (note 25) */
    uint64_t read_only; /* voter bitmap: of refused, those that answered DISK_FULL or
                         * MAP_FULL (note 26) */
    uint64_t foreign;   /* voter bitmap: of refused, those that answered WRONG_NETWORK:
                         * their genesis is not ours (note 27) */
    uint64_t unknown; /* voter bitmap: BEHIND at 0 for a seq-0 order (account unknown) */
    uint16_t reject_code;
    uint8_t *conflict; /* evidence order (owned), verified */
    uint32_t conflict_len;
    uint32_t waiter_count;
    vl_waiter waiters[VL_COORD_MAX_WAITERS];
    uint8_t behind[VL_MAX_NODES];
    uint64_t req_step; /* step of req_mask */
    uint64_t req_mask; /* voters asked in that step */
    uint64_t asked;    /* voters asked since the last round to all (vl_core.c note 21) */
    uint64_t first_asked; /* voters of the first request (request_quorum): timed (note 21) */
    vl_cvote *votes[VL_MAX_NODES];
} vl_coord;

/* ---- per-step state ----------------------------------------------------------- */

typedef struct {
    bool active; /* sent us a VOTE_REQUEST this step */
    bool voted;  /* at least one of its orders is in our batch */
    uint64_t req_id;
    uint32_t answer_count;
    vl_answer *answers; /* VL_PEER_ANSWERS_MAX; evidence heap-owned */
    uint32_t request_count;
    uint8_t (*requests)[32]; /* VL_PEER_REQUESTS_MAX order hashes to ask for */
} vl_peer_step;

typedef struct {
    uint64_t next; /* next log index to pull from the peer */
    uint8_t hash[32]; /* entry hash of next-1 (network id before the first) */
} vl_cursor;

/* State that a failed step must not change: copied at the start of a step
 * and restored when it fails. */
typedef struct {
    uint64_t head;
    uint8_t head_hash[32]; /* network id while head == 0 */
    uint8_t buckets[256][32];
    uint8_t digest[32];
    bool head_dirty;
    bool digest_dirty;
    vl_cursor cursors[VL_MAX_NODES];
    uint64_t next_sync_ms; /* send SUMMARY_REQUESTs at the first tick at or after */
    uint64_t next_cp_ms;   /* sign a checkpoint at the first tick at or after */
    bool has_checkpoint;
    uint64_t bad_inputs;
    uint64_t votes_sent;
    uint64_t certs_applied;
    uint64_t certs_formed;
    uint64_t sync_skipped; /* peers' entries passed by summary */
    uint64_t sync_pulled;  /* peers' entries pulled whole */
    uint64_t votes_widened; /* orders asked of the rest after the first pick (note 21) */
    /* per voter: since when a vote request to it has gone unanswered (0:
     * none), and when it was last asked while slow (vl_core.c note 21).
     * Here so that a failed step, whose requests never left, leaves no
     * wait behind (a voter never asked would look slow). */
    uint64_t vote_wait_ms[VL_MAX_NODES];
    uint64_t vote_probe_ms[VL_MAX_NODES];
    /* per voter: when an order asked of it last went slow_after_ms without
     * its answer (0: never), time + 1, and how many times in a row (a vote
     * for an order we track ends the row): slow for 4 slow_after_ms after,
     * doubled for each strike in a row up to 64 (note 21) */
    uint64_t vote_strike_ms[VL_MAX_NODES];
    uint8_t vote_strikes[VL_MAX_NODES];
    /* per peer: bad inputs counted against it, and when it last proved
     * itself faulty, time + 1 (0: never; vl_core.c note 28) */
    uint64_t peer_bad[VL_MAX_NODES];
    uint64_t peer_faulty_ms[VL_MAX_NODES];
    /* peers whose last answer to a vote request (about any order, tracked
     * here or not) was NOT_VOTER: they run as observers (vl_core.c note 25) */
    uint64_t observing;
    /* ... or DISK_FULL / MAP_FULL: they refuse writes, so they cannot vote
     * (note 26) */
    uint64_t read_only;
    /* ... or WRONG_NETWORK: they run another genesis (note 27) */
    uint64_t foreign;
    /* peers that asked this node's vote on orders of another network: this
     * node's genesis may be the odd one (note 27) */
    uint64_t asked_foreign;
} vl_core_mem;

typedef struct {
    uint8_t id[32];
    uint32_t index; /* in the genesis issuer list */
} vl_issuer_id;

struct vl_core {
    vl_core_config cfg;
    char *dir;
    const vl_genesis *g;
    const vl_genesis *vg; /* verifies certificates (g, or the weak copy) */
    vl_genesis *weak_g;   /* VL_PLANT_WEAK_QUORUM only */
    vl_keypair key;
    uint16_t self;
    bool voter;
    uint32_t quorum; /* votes needed to form a certificate */
    uint64_t voter_mask;
    vl_store st;
    uint64_t upgraded_slots; /* slot records the schema upgrade moved at the open (note 22) */
    MDB_txn *txn;
    vl_sigcache *cache;
    vl_msg_storage *mst;
    vl_msg msg;
    vl_order *vord;  /* voter scratch */
    vl_order *cord;  /* coordinator scratch */
    vl_cert *acert;  /* apply scratch */
    vl_cert *acert2; /* apply: a second certificate to compare */
    vl_cert *fcert;  /* forming */
    vl_bytes *items; /* VL_MAX_MSG_ITEMS + 1 list items being sent */
    uint8_t *sums;   /* VL_MAX_MSG_ITEMS encoded summaries being sent */
    vl_summary *ring; /* summaries of the last VL_SUMMARY_RING entries appended */
    uint8_t (*paths)[VL_MAX_MERKLE_DEPTH][32]; /* per batch leaf */
    uint8_t *want;                             /* per batch leaf */
    vl_issuer_id *issuers;                     /* sorted by id */
    /* Bytes of replies to page requests (log, summaries, an account's
     * certificates) each peer may still get: set by the caller before a
     * step (vl_core_set_reply_budget), consumed by vl_serve.c (note 16);
     * the requests skipped for want of it. */
    uint64_t reply_budget[VL_MAX_NODES];
    uint64_t reply_budget_saved[VL_MAX_NODES]; /* at the step's start: a retried step's */
    uint64_t replies_skipped[VL_MAX_NODES];
    /* How long each voter takes to vote: a moving average (1/8 of each
     * sample) of the time from the latest request a vote of it answers to
     * that vote, in ms x 8; 0 until measured (vl_coord.c, request_quorum;
     * note 21). */
    uint32_t vote_ms_x8[VL_MAX_NODES];
    bool vote_ms_known[VL_MAX_NODES];
    vl_core_mem mem;
    vl_core_mem saved;
    vl_outbox stage;
    vl_outbox early;  /* note 24: certificates' replies and broadcast, may leave before the commit */
    bool stage_early; /* vl_stage_msg appends to `early` */
    bool own_voting;  /* own_votes is adding this step's own votes (note 24) */
    /* coordination table */
    vl_coord **table;  /* by order hash */
    vl_coord **ltable; /* by vote leaf */
    vl_coord *oldest;
    vl_coord *newest;
    uint32_t coord_count;
    /* step */
    uint64_t step_no;
    uint64_t now_ms;
    uint64_t next_req_id;
    uint8_t (*batch)[32];
    uint32_t batch_count;
    uint16_t *batch_index; /* open addressing, 2 * VL_MAX_BATCH_ORDERS */
    vl_peer_step peers[VL_MAX_NODES];
    vl_bytes *formed; /* certificates formed this step (owned ptrs) */
    uint32_t formed_early; /* the first formed_early carry no own vote of this step (note 24) */
    uint32_t formed_count;
    uint32_t formed_cap;
    uint8_t acct_reqs[VL_ACCOUNT_REQS_MAX][32];
    uint32_t acct_req_count;
    uint8_t (*drain)[40];
    uint32_t drain_head;
    uint32_t drain_count;
    vl_waiter *orphans;
    uint32_t orphan_count;
    /* liveness and sync */
    uint64_t last_heard[VL_MAX_NODES];
    uint64_t peer_head[VL_MAX_NODES];
    /* summary sync (vl_serve.c): the first entry of a peer's log found
     * lacking, and when (0: none); whole entries are asked for once it is
     * still lacking a sync interval later */
    uint64_t lack_index[VL_MAX_NODES];
    uint64_t lack_since_ms[VL_MAX_NODES];
    /* STATUS's SYNCING (vl_serve.c, behind_mark): a log head the peer
     * reported that the cursor has not reached, and since when (0: the
     * cursor is at or past every head it reported since) */
    uint64_t behind_head[VL_MAX_NODES];
    uint64_t behind_since_ms[VL_MAX_NODES];
    bool caught_up[VL_MAX_NODES]; /* the cursor reached a head the peer reported, since open */
    bool head_known[VL_MAX_NODES]; /* the peer answered a sync request since open */
    uint64_t first_heard_ms[VL_MAX_NODES]; /* when first heard since open, time + 1 (0: never) */
    /* the last LOG_REPLY from the peer brought news and it is still a
     * batch or more ahead: this node pulls whole entries to catch up */
    bool pulling[VL_MAX_NODES];
    /* peers' clocks (vl_serve.c, clock_sample): offset, and when measured (0 never) */
    int64_t peer_clock_ms[VL_MAX_NODES];
    uint64_t peer_clock_at_ms[VL_MAX_NODES];
    uint8_t redrive_key[40];
    uint8_t sweep_key[40];
    vl_err last_err;
    /* resource faults (vl_core.c note 20) */
    vl_err refusing;          /* VL_OK, or VL_ERR_DISK_FULL / VL_ERR_MAP_FULL */
    uint64_t refuse_retry_ms; /* next write attempt while refusing */
    uint64_t steps_refused;   /* steps answered by a read-only pass */
    uint64_t reopens;         /* environment reopened after MDB_PANIC */
    uint64_t certs_early;     /* certificates handed to send_early (note 24); outside mem:
                               * they left, whatever became of their step's commit */
    /* growable encode buffer */
    uint8_t *buf;
    size_t buf_cap;
};

#define VL_TRY(expr)                                                           \
    do {                                                                       \
        vl_err try_err_ = (expr);                                              \
        if (try_err_ != VL_OK)                                                 \
            return try_err_;                                                   \
    } while (0)

#define VL_BIT(i) (UINT64_C(1) << (i))

/* Time arithmetic that neither wraps nor trusts time to only go forward. */
static inline uint64_t vl_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t vl_elapsed(uint64_t now, uint64_t since)
{
    return now > since ? now - since : 0u;
}

/* Whether peer's vote requests are dropped now (vl_core.c note 28). */
static inline bool vl_peer_penalized(const vl_core *c, uint16_t peer)
{
    return c->mem.peer_faulty_ms[peer] != 0 &&
           vl_elapsed(c->now_ms, c->mem.peer_faulty_ms[peer] - 1u) < VL_PEER_PENALTY_MS;
}

/* ---- vl_core.c ------------------------------------------------------------------ */

void vl_bad_input(vl_core *c);
vl_err vl_buf_reserve(vl_core *c, size_t n);
/* Genesis issuer whose account id is id, or -1. */
int vl_issuer_by_account(const vl_core *c, const uint8_t id[32]);
/* Encode m and stage it (released after the commit). */
vl_err vl_stage_msg(vl_core *c, uint8_t kind, uint16_t peer, uint64_t client, vl_msg *m);
/* Stage m once per chunk of items that fits VL_MAX_MSG_ITEMS and
 * VL_LIST_BUDGET (m->items and m->item_count are set per chunk). */
vl_err vl_stage_items(vl_core *c, uint8_t kind, uint16_t peer, uint64_t client, vl_msg *m,
                      const vl_bytes *items, uint32_t n);
/* Client ERROR reply; text NULL means vl_strerror(code); evidence may be
 * {NULL, 0} with VL_EVIDENCE_NONE. */
vl_err vl_stage_error(vl_core *c, uint64_t client, uint64_t req_id, vl_err code,
                      const char *text, uint8_t evidence_kind, vl_bytes evidence);
vl_err vl_stage_cert_reply(vl_core *c, uint64_t client, uint64_t req_id, vl_bytes cert);

/* ---- vl_state.c ------------------------------------------------------------------ */

/* Load an account.  Genesis issuers exist from the start (defaults until
 * their first certificate).  a->program points into prog. */
vl_err vl_acct_load(vl_core *c, MDB_txn *t, const uint8_t id[32], vl_account *a,
                    uint8_t prog[VL_MAX_LABEL_LEN], bool *known);
vl_err vl_acct_save(vl_core *c, const uint8_t id[32], const vl_account *a);
/* Ledger rules of DESIGN.md 5.2 for o against the state of its account a
 * (known, seq == next_seq).  *verdict = VL_OK or the rule's code. */
vl_err vl_rules(vl_core *c, const vl_order *o, const vl_account *a, vl_err *verdict);
/* Slot (account, seq): found, the order hash and log index of its cert. */
vl_err vl_slot_get(vl_core *c, MDB_txn *t, const uint8_t account[32], uint64_t seq,
                   bool *found, uint8_t hash[32], uint64_t *index);
/* The certificate bytes of log entry `index`, borrowed from the map. */
vl_err vl_entry_cert(vl_core *c, MDB_txn *t, uint64_t index, vl_bytes *entry,
                     vl_bytes *cert);
/* The certificate of a slot, borrowed from the map. */
vl_err vl_slot_cert(vl_core *c, MDB_txn *t, const uint8_t account[32], uint64_t seq,
                    bool *found, vl_bytes *cert);

typedef enum {
    VL_APPLY_INVALID = 0,   /* malformed or failed verification (counted) */
    VL_APPLY_DONE = 1,      /* applied now */
    VL_APPLY_DUPLICATE = 2, /* the slot holds this very order already */
    VL_APPLY_PENDING = 3,   /* stored until its gap is filled */
    VL_APPLY_FORK = 4,      /* the slot holds another order: evidence kept */
    VL_APPLY_EVIDENCE = 5,  /* breaks a rule: kept as evidence, not applied */
} vl_apply_res;

typedef struct {
    vl_apply_res res;
    uint8_t hash[32];
    uint8_t account[32];
    uint64_t seq;
    uint64_t index; /* VL_APPLY_DUPLICATE: the log index of our certificate */
} vl_apply_info;

#define VL_APPLY_VERIFIED 1u /* skip vl_cert_verify (formed from checked votes) */
#define VL_SRC_NONE (-1)     /* no ACCOUNT_REQUEST for a gap (sync, pending) */
#define VL_SRC_ALL (-2)      /* ask every other voter about a gap */

/* Apply one certificate (DESIGN.md 5.4), then the pending certificates it
 * unblocks.  `raw` must not point into the map. */
vl_err vl_apply_cert(vl_core *c, const uint8_t *raw, size_t len, unsigned flags, int source,
                     vl_apply_info *info);
/* Examine a few pending certificates (tick). */
vl_err vl_pending_sweep(vl_core *c);
/* Ask about a gap in `account` (deduplicated per step). */
vl_err vl_request_account(vl_core *c, const uint8_t account[32], uint64_t next_seq,
                          int source);
/* Recompute the state digest if buckets changed. */
void vl_digest_refresh(vl_core *c);
/* Meta: create or check at open; load the in-memory copy; write back. */
vl_err vl_meta_open(vl_core *c, char *err, size_t err_cap);
vl_err vl_meta_flush(vl_core *c);
vl_err vl_cursor_save(vl_core *c, uint16_t peer);

/* ---- vl_vote.c ------------------------------------------------------------------- */

typedef enum {
    VL_DECIDE_VOTE = 0, /* the order is in this step's batch */
    /* 1..4: a vl_answer_kind */
    VL_DECIDE_PASS = 5, /* CHECK mode: every check passed */
} vl_decide_kind;

typedef struct {
    uint8_t kind;
    uint16_t code;     /* REJECTED */
    uint64_t next_seq; /* BEHIND */
    uint8_t *evidence; /* CONFLICT order / CERTIFIED cert (heap, owned) */
    uint32_t evidence_len;
} vl_decision;

#define VL_MODE_VOTE 1u     /* may lock and vote */
#define VL_MODE_VERIFIED 2u /* vl_order_verify already passed */

vl_err vl_decide(vl_core *c, const uint8_t *raw, size_t raw_len, const vl_order *o,
                 const uint8_t hash[32], unsigned mode, vl_decision *d);
void vl_decision_free(vl_decision *d);
/* Write the lock of slot: (now, hash, order bytes). */
vl_err vl_lock_put_at(vl_core *c, const uint8_t slot[40], const uint8_t hash[32],
                     const uint8_t *raw, size_t len, uint64_t at_ms);
vl_err vl_lock_put(vl_core *c, const uint8_t slot[40], const uint8_t hash[32],
                   const uint8_t *raw, size_t len);
vl_err vl_on_vote_request(vl_core *c, uint16_t peer, const vl_msg *m);
/* The read-only pass (note 20): answer every order of a VOTE_REQUEST
 * REJECTED `code` (the space error), with no decision and no write, so the
 * coordinator knows this voter cannot vote now (note 26). */
vl_err vl_on_vote_request_refused(vl_core *c, uint16_t peer, const vl_msg *m, vl_err code);
/* Sign the batch, record our own votes, stage the VOTE_REPLYs. */
vl_err vl_batch_finish(vl_core *c);
/* Paths of the leaves marked in c->want into c->paths. */
void vl_batch_paths(vl_core *c, const uint8_t (*leaves)[32], uint32_t n);

/* ---- vl_coord.c ------------------------------------------------------------------- */

vl_err vl_coord_init(vl_core *c);
void vl_coord_free_all(vl_core *c);
/* After a failed step: forget every coordination, keep its waiters. */
void vl_coord_drop(vl_core *c);
bool vl_coord_tracks(vl_core *c, const uint8_t leaf[32], uint16_t voter);
vl_err vl_coord_submit(vl_core *c, uint64_t client, uint64_t req_id, vl_bytes order);
vl_err vl_coord_on_vote_reply(vl_core *c, uint16_t peer, const vl_msg *m);
vl_err vl_coord_add_vote(vl_core *c, const uint8_t leaf[32], uint16_t voter, uint32_t index,
                         uint32_t count, const uint8_t (*path)[32], uint32_t path_len,
                         const uint8_t sig[64]);
/* A valid certificate for `hash` is known: answer its waiters. */
vl_err vl_coord_resolved(vl_core *c, const uint8_t hash[32], vl_bytes cert);
vl_err vl_coord_tick(vl_core *c);
/* Stage the VOTE_REQUESTs and the CERTS broadcast of the step. */
vl_err vl_coord_finish(vl_core *c);
/* Stage UNAVAILABLE errors for the waiters of a dropped coordination table,
 * except those whose request is among this step's inputs `in` (answered anew). */
vl_err vl_stage_orphans(vl_core *c, const vl_input *in, size_t n);

/* ---- vl_serve.c -------------------------------------------------------------------- */

vl_err vl_on_log_request(vl_core *c, uint16_t peer, const vl_msg *m);
vl_err vl_on_log_reply(vl_core *c, uint16_t peer, const vl_msg *m);
vl_err vl_on_summary_request(vl_core *c, uint16_t peer, const vl_msg *m);
vl_err vl_on_summary_reply(vl_core *c, uint16_t peer, const vl_msg *m);
vl_err vl_on_account_request(vl_core *c, uint16_t peer, const vl_msg *m);
/* CERTS to `peer` with the certificates of account for seq in
 * [from_seq, to_seq) (origin ISSUE first for a voucher from 0); *sent is
 * how many. */
vl_err vl_send_account_certs(vl_core *c, uint16_t peer, const uint8_t account[32],
                             uint64_t from_seq, uint64_t to_seq, uint32_t *sent);
vl_err vl_client_request(vl_core *c, uint64_t client, const vl_msg *m);
vl_err vl_sync_tick(vl_core *c);
vl_err vl_checkpoint_tick(vl_core *c);
/* STATUS as served (t: the transaction to count records in). */
vl_err vl_status_fill(vl_core *c, MDB_txn *t, vl_status *st);
/* Voters heard from within 3 sync intervals, this node included if it
 * votes, less those known to run as observers (vl_core.c note 25):
 * the IN_QUORUM flag of STATUS is this >= quorum. */
uint32_t vl_voters_heard(const vl_core *c);
/* Genesis voters known to run as observers: this node if so, and peers
 * whose last answer to its vote requests was NOT_VOTER (note 25). */
uint32_t vl_voters_observing(const vl_core *c);

#endif
