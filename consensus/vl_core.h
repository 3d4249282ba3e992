/* vl_core.h - the replicated state machine of one node (DESIGN.md 4-8).
 *
 * No sockets, no clock, no randomness: time and incoming messages are
 * arguments, outgoing messages and client replies are results.  That is
 * what lets tests/sim run many nodes in one process, deterministically.
 *
 * Group commit.  vl_core_step() processes a batch of inputs in ONE LMDB
 * write transaction and commits it (fsync unless cfg.durable is false)
 * before it returns any output: every lock (vote) and every applied
 * certificate of the batch is durable before any vote, certificate or
 * reply leaves the node.  A failed commit (MDB_MAP_FULL, an I/O error)
 * releases no output, leaves the durable state as it was, and drops the
 * in-memory coordination state (clients then time out and resubmit; the
 * re-drive of locks finishes what was durably locked).
 *
 * Inputs are raw encoded messages (the core decodes and checks them; a
 * malformed one is counted and, for a client, answered with an ERROR reply;
 * it never changes state).  Outputs are encoded messages addressed to one
 * peer, to every other node, or to a client (by an opaque client tag that
 * the caller chose when it passed the request in).
 *
 * Thread safety: one vl_core is used by one thread at a time.  Read-only
 * queries (vl_core_get_*) may be called between steps.
 */
#ifndef VL_CORE_H
#define VL_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_verify.h"
#include "vl_wire.h"

typedef struct vl_core vl_core;

struct vl_output; /* below */

typedef struct {
    const char *dir;           /* data directory (created if missing) */
    const vl_genesis *genesis; /* must outlive the core */
    uint16_t node;             /* this node's genesis index */
    const vl_keypair *key;     /* this node's signing key (copied) */
    /* A node restored from a backup or that lost its data must not vote
     * again under the same key (DESIGN.md 5, "Lost data"): force_observer
     * makes a voter of the genesis act as an observer. The flag is also
     * stored, so it survives restarts until cleared by a new key. */
    bool force_observer;
    bool durable;                 /* fsync every commit (false only in the simulator) */
    bool prefill; /* durable only: keep the data file's page cache in single pages (vl_store.c note 2c) */
    bool check_data; /* walk the whole data file in a child before use (vl_check.c); off by default */
    uint64_t map_size_bytes;      /* initial LMDB map size; grows as needed */
    uint32_t upgrade_chunk;       /* slot records a schema upgrade moves per transaction (0: 4096) */
    uint64_t clock_skew_ms;       /* allowance on voucher validity windows */
    uint64_t redrive_after_ms;    /* re-drive a lock with no certificate after this */
    uint64_t sync_interval_ms;    /* pull peers' logs this often */
    uint32_t sync_batch;          /* entries per LOG_REQUEST (1..VL_MAX_MSG_ITEMS) */
    uint64_t checkpoint_every_ms; /* sign a checkpoint this often (0: never) */
    uint64_t client_timeout_ms;   /* answer a waiting client TIMEOUT after this */
    /* Free bytes on the filesystem of `dir`, for the full-disk rules
     * (vl_core.c note 20), or NULL: never low (the simulator and the
     * tests: a step then never depends on the host's disk, DESIGN.md 2).
     * voucherd passes vl_core_fs_free_bytes. */
    uint64_t (*free_bytes)(const char *dir);
    /* Called by vl_core_step on its thread when the step's writes are
     * staged and its commit (with the fsync) is about to start, or NULL.
     * It must not call into the core, and nothing it does can change the
     * step: voucherd uses it to receive the next batch and start checking
     * its signatures on other threads while the fsync runs (voucherd.c
     * note 9).  Not called when a step fails before its commit. */
    void (*before_commit)(void *ctx);
    void *before_commit_ctx;
    /* Called by vl_core_step on its thread just before its commit (before
     * before_commit), with outputs that may leave before it: the client
     * replies and the CERTS broadcast of certificates this step formed
     * from votes that were all durable before the step (vl_core.c note
     * 24).  The callee sends them (ctx is before_commit_ctx) and must not
     * call into the core; the core frees them after the call.  NULL: they
     * are released with the step's other outputs, after the commit. */
    void (*send_early)(void *ctx, const struct vl_output *items, size_t n);
} vl_core_config;

/* statvfs(dir): the bytes an unprivileged writer may still use, or
 * UINT64_MAX when it cannot be read. */
uint64_t vl_core_fs_free_bytes(const char *dir);

/* Sensible defaults for every field but dir, genesis, node and key. */
void vl_core_config_defaults(vl_core_config *cfg);

/* Open (or create) the node's LMDB environment in cfg->dir and check that it
 * belongs to this network and this node (meta: network id, node index).
 * Clears stale readers.  Returns VL_OK, VL_ERR_WRONG_NETWORK (the directory
 * holds another network's data), VL_ERR_LOCKED (another process holds it),
 * VL_ERR_STORAGE / VL_ERR_IO / VL_ERR_NOMEM; err (may be NULL) gets a
 * sentence for the operator. */
vl_err vl_core_open(vl_core **out, const vl_core_config *cfg, char *err, size_t err_cap);

/* Close cleanly (NULL allowed; nulls *c). */
void vl_core_close(vl_core **c);

/* ---- one step ---------------------------------------------------------- */

typedef enum {
    VL_IN_PEER = 1,   /* a message from peer `peer` (authenticated by CURVE) */
    VL_IN_CLIENT = 2, /* a client request; replies carry `client` back */
    VL_IN_TICK = 3,   /* time passed: timers (re-drive, sync, checkpoints) */
} vl_input_kind;

typedef struct {
    uint8_t kind;    /* vl_input_kind */
    uint16_t peer;   /* VL_IN_PEER */
    uint64_t client; /* VL_IN_CLIENT: opaque tag */
    const uint8_t *data;
    size_t len;
} vl_input;

typedef enum {
    VL_OUT_PEER = 1,      /* send to peer `peer` */
    VL_OUT_BROADCAST = 2, /* send to every other node */
    VL_OUT_CLIENT = 3,    /* reply to client `client` */
} vl_output_kind;

typedef struct vl_output {
    uint8_t kind; /* vl_output_kind */
    uint16_t peer;
    uint64_t client;
    uint8_t *data; /* owned by the outbox */
    size_t len;
} vl_output;

/* Outputs of a step.  Owned by the caller, reused across steps. */
typedef struct {
    vl_output *items;
    size_t count;
    size_t cap;
} vl_outbox;

void vl_outbox_init(vl_outbox *ob);
void vl_outbox_clear(vl_outbox *ob); /* frees the messages, keeps capacity */
void vl_outbox_free(vl_outbox *ob);

/* Process `n` inputs at time now_ms in one write transaction and commit.
 * On VL_OK, `out` holds the outputs (appended).  Bad inputs are not step
 * failures.  On failure the durable state is unchanged and:
 *  - VL_ERR_DISK_FULL, VL_ERR_MAP_FULL (the map could not grow): the node
 *    refuses writes (vl_core.c note 20).  `out` holds the answers of a
 *    read-only pass over the same inputs: GET_ACCOUNT, STATUS (flag
 *    READ_ONLY), GET_LOG, GET_CHECKPOINT and peers' LOG_REQUEST and
 *    ACCOUNT_REQUEST are answered; SUBMIT gets ERROR with that code; votes
 *    are never cast; certificates are left to sync.  These are safe to
 *    send: none depends on a write.  Write steps are tried again at most
 *    every VL_REFUSED_RETRY_MS; the state ends with a write that commits.
 *  - VL_ERR_IO (a write or fsync of the data file failed: the page cache
 *    can no longer be trusted), VL_ERR_STORAGE, VL_ERR_CORRUPT,
 *    VL_ERR_NOMEM: out is left as it was on entry. */
vl_err vl_core_step(vl_core *c, uint64_t now_ms, const vl_input *in, size_t n, vl_outbox *out);

/* Storage figures that cost no transaction (callable after every step). */
typedef struct {
    vl_err refusing;                /* VL_OK or VL_ERR_DISK_FULL / VL_ERR_MAP_FULL */
    uint64_t steps_refused;         /* steps answered read-only since the open */
    uint64_t map_size_bytes;        /* LMDB map size now */
    uint64_t map_used_bytes;        /* the data file's high-water mark */
    uint64_t map_grows;             /* map doublings since the open */
    uint64_t reopens;               /* environment reopened after MDB_PANIC */
    uint32_t stale_readers_cleared; /* by the open (or the last reopen) */
    uint64_t prefilled_bytes;       /* zero bytes written ahead of LMDB (vl_store.c note 2c) */
    uint64_t upgraded_slots;        /* slot records the open moved from schema 1 (vl_core.c note 22) */
    bool checked;                   /* the open walked the data file (check_data, a file there) */
    uint64_t checked_records;       /* records it read, all tables */
    uint64_t checked_bytes;         /* key and value bytes it read */
    uint64_t check_ms;              /* how long the walk took */
} vl_core_storage;

void vl_core_get_storage(vl_core *c, vl_core_storage *st);

/* Clear reader slots left by dead processes (vl_store_reader_check);
 * between steps.  *cleared gets the count. */
vl_err vl_core_check_readers(vl_core *c, uint32_t *cleared);

/* ---- queries (read transactions) ------------------------------------------ */

/* Account state; VL_ERR_UNKNOWN_ACCOUNT if none.  Strings in *a point into
 * `buf` (cap bytes), which the caller provides. */
vl_err vl_core_get_account(vl_core *c, const uint8_t id[32], vl_account *a, uint8_t *buf,
                           size_t cap);

/* The encoded certificate of slot (account, seq) into buf; *len its size.
 * VL_ERR_UNKNOWN_ACCOUNT when the slot has no certificate, VL_ERR_TOO_BIG. */
vl_err vl_core_get_slot_cert(vl_core *c, const uint8_t account[32], uint64_t seq, uint8_t *buf,
                             size_t cap, size_t *len);

/* The order hash this node is locked on for (account, seq) (a vote it cast
 * that is not yet certified).  VL_ERR_UNKNOWN_ACCOUNT when no lock. */
vl_err vl_core_get_lock(vl_core *c, const uint8_t account[32], uint64_t seq,
                        uint8_t order_hash[32]);

/* Encoded log entry `index` (1..head). */
vl_err vl_core_get_entry(vl_core *c, uint64_t index, uint8_t *buf, size_t cap, size_t *len);

typedef struct {
    vl_status status;        /* as a STATUS reply carries it */
    uint64_t pending_certs;  /* certificates waiting for a gap */
    uint64_t forks;          /* fork evidence records */
    uint64_t bad_inputs;     /* malformed or invalid inputs seen */
    uint64_t votes_sent;     /* orders voted on (leaves signed) */
    uint64_t certs_applied;  /* certificates applied */
    uint64_t certs_formed;   /* certificates this node coordinated */
    uint64_t certs_early;    /* of those, the ones handed to send_early before their step's
                              * commit (vl_core.c note 24); counts also a certificate whose
                              * step then failed to commit, so it may exceed certs_formed */
    uint64_t sync_skipped;   /* peers' log entries passed by summary (held already) */
    uint64_t sync_pulled;    /* peers' log entries pulled whole (and applied or held) */
    uint64_t votes_widened;  /* new orders this node asked of voters beyond its first q - 1 */
    uint64_t map_used_bytes; /* LMDB pages in use */
    uint64_t map_size_bytes;
    uint32_t voters_heard;     /* voters that vote, heard within 3 sync intervals, this
                                * node included if it votes (vl_core.c note 25) */
    uint32_t voters_observing; /* genesis voters known to run as observers (note 25) */
    uint64_t voters_foreign;   /* bitmap of genesis voters that answer vote requests
                                * WRONG_NETWORK: another genesis (vl_core.c note 27) */
    uint64_t peers_asking_foreign; /* bitmap of peers whose vote requests were for another
                                    * network: this node's genesis may be wrong (note 27) */
} vl_core_stats;

void vl_core_get_stats(vl_core *c, vl_core_stats *st);

/* voters_foreign and peers_asking_foreign of vl_core_stats, without the
 * transaction vl_core_get_stats opens (callable after every step). */
void vl_core_get_foreign(const vl_core *c, uint64_t *voters_foreign,
                         uint64_t *peers_asking_foreign);

/* How long a peer's vote requests are dropped unread after it proved
 * itself faulty (vl_core.c note 28). */
#define VL_PEER_PENALTY_MS 10000u

/* vl_core.c note 28: the bad inputs counted against peer (badly signed or
 * undecodable orders in its vote requests, requests dropped while it is
 * penalized), and whether its vote requests are dropped now. */
uint64_t vl_core_peer_faults(const vl_core *c, uint16_t peer, bool *penalized);
/* Bitmap of the peers whose vote requests are dropped now (note 28). */
uint64_t vl_core_penalized_peers(const vl_core *c);

/* vl_core.c note 16: a reply to a peer's request for a page of the log, of
 * summaries or of an account's certificates is at most `bytes` in all from
 * now on (each reply takes its size off), and a request is skipped when
 * less than VL_CORE_REPLY_MIN remains.  voucherd sets it before each step
 * to the room in its send queue to that peer (node/vl_net.c); unlimited
 * by default. */
#define VL_CORE_REPLY_MIN (64u * 1024u)
void vl_core_set_reply_budget(vl_core *c, uint16_t peer, uint64_t bytes);
/* Page requests of peer skipped for want of reply budget, since open. */
uint64_t vl_core_replies_skipped(const vl_core *c, uint16_t peer);

/* Note 21: a voter is near when its vote latency is within half (at
 * least VL_NEAR_SLACK_MS) of the q - 1-th fastest; one new order in
 * VL_FAR_PROBE_EVERY is asked of voters near or not, so that a far voter's
 * latency is measured again.  A vote later than redrive_after_ms / 4 (the
 * voter turned slow) or VL_VOTE_MS_MAX is not a sample. */
#define VL_NEAR_SLACK_MS 5u
#define VL_FAR_PROBE_EVERY 16u
#define VL_VOTE_MS_MAX 60000u
/* Voter peer's vote latency as this node measured it as a coordinator
 * (moving average, ms); false if never measured. */
bool vl_core_peer_vote_ms(const vl_core *c, uint16_t peer, uint32_t *ms);

/* How far peer's clock is ahead of this node's (negative: behind), in ms,
 * as last measured from its log (consensus/vl_serve.c, "peer clocks"), and
 * when (this node's clock).  false, outputs zeroed, if never measured or
 * peer is this node or not in the genesis.  No transaction. */
bool vl_core_peer_clock(const vl_core *c, uint16_t peer, int64_t *offset_ms,
                        uint64_t *measured_at_ms);

/* The core's signature cache (vl_verify.h), for a caller that checks the
 * signatures of a batch's inputs on other threads before vl_core_step
 * (voucherd's verification pool, node/vl_vpool.h): the cache is internally
 * locked and holds only signatures that verified, so warming it never
 * changes what the core decides, only what a check costs.  Owned by the
 * core: valid until vl_core_close, and may be used from any thread while
 * the core lives (this is the one exception to "one thread at a time"). */
vl_sigcache *vl_core_sigcache(vl_core *c);

/* Bucket digests (256 x 32) and the state digest. */
void vl_core_get_digests(vl_core *c, uint8_t buckets[256][32], uint8_t state_digest[32]);

#endif
