/* vl_metrics.h - voucherd's HTTP endpoint for monitoring (docs/voucherd.md,
 * "Metrics and health"): GET /metrics (Prometheus text format 0.0.4) and
 * GET /healthz, served by libmicrohttpd on its own thread.
 *
 * The HTTP thread never touches the core or LMDB: the event loop fills a
 * vl_metrics_snapshot (plain numbers, a few hundred bytes) after each step
 * and publishes a copy with vl_metrics_publish; a request formats from a
 * copy taken under the same mutex.  So a scrape costs the loop one memcpy
 * under an uncontended lock, and a slow or hostile HTTP client costs it
 * nothing (connections and their time are bounded: VL_METRICS_MAX_CONNS,
 * VL_METRICS_TIMEOUT_S).
 */
#ifndef VL_METRICS_H
#define VL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vl_error.h"
#include "vl_limits.h"

/* Longest "host:port" accepted for metrics_bind ("[v6 address]:65535"). */
#define VL_METRICS_BIND_MAX 64
/* Simultaneous HTTP connections: scrapers are few; more are refused. */
#define VL_METRICS_MAX_CONNS 16u
/* An idle HTTP connection is closed after this many seconds. */
#define VL_METRICS_TIMEOUT_S 10u
/* Largest response body: /metrics is about 5 KiB; this leaves room and
 * bounds what one request can make the HTTP thread allocate. */
#define VL_METRICS_MAX_BODY 16384u

/* Histogram upper bounds (the +Inf bucket is implicit).  Step durations in
 * microseconds (exposed in seconds): one step is one LMDB commit and fsync,
 * from well under a millisecond (tmpfs) to seconds (a stalled disk). */
#define VL_METRICS_STEP_BUCKETS 14
/* Inputs per step: 1 up to VL_NODE_MAX_BATCH (65536) in powers of 4. */
#define VL_METRICS_BATCH_BUCKETS 9

typedef struct {
    uint64_t count;     /* observations */
    uint64_t sum;       /* of the observed values (step: microseconds) */
    /* per bucket, NOT cumulative (formatting sums); the last is +Inf.  Sized
     * for the larger of the two histograms. */
    uint64_t bucket[VL_METRICS_STEP_BUCKETS + 1];
} vl_metrics_histogram;

/* What the loop publishes.  Counters only grow (since the process started);
 * gauges are the state after the last step. */
typedef struct {
    /* counters */
    uint64_t orders_submitted;  /* client SUBMIT requests received */
    uint64_t client_requests;   /* client requests passed to the core */
    uint64_t peer_messages;     /* peer messages passed to the core */
    uint64_t certs_formed;      /* certificates this node coordinated */
    uint64_t certs_early;       /* of those, sent before their step's commit */
    uint64_t certs_applied;
    uint64_t votes_sent;
    uint64_t bad_inputs;        /* malformed or invalid inputs (core) */
    uint64_t sync_skipped;      /* peers' log entries passed by summary */
    uint64_t sync_pulled;       /* peers' log entries pulled whole */
    uint64_t votes_widened;     /* orders asked of voters beyond the first q - 1 */
    uint64_t peer_unauth;       /* peer messages without a ZAP user id */
    uint64_t peer_malformed;    /* multi-frame peer messages */
    uint64_t client_malformed;  /* multi-frame client messages */
    uint64_t peer_drops;        /* peer sends dropped */
    uint64_t client_drops;      /* replies that could not be sent */
    uint64_t client_gone;       /* replies whose client was forgotten */
    uint64_t zap_admitted;
    uint64_t zap_refused;
    uint64_t steps_failed;      /* steps that returned an error */
    int last_step_error;        /* the latest step's error (vl_err; a space error or
                                 * VL_OK: 0): /healthz says so while it lasts */
    uint64_t steps_refused;     /* steps answered read-only: disk or map full */
    uint64_t map_grows;         /* LMDB map doublings */
    uint64_t storage_reopens;   /* LMDB environment reopened after MDB_PANIC */
    uint64_t prefilled_bytes;   /* zero bytes written ahead of LMDB (vl_store.c note 2c) */
    uint64_t prevalidated_sigs; /* signatures the verification pool found valid */
    uint64_t early_batches;     /* batches received during a commit (voucherd note 9) */
    uint64_t data_checks;       /* walks of the data file that found it sound (voucherd note 10) */
    /* gauges */
    uint64_t data_checked_unix; /* when the last sound walk ended (unix seconds; 0: none) */
    uint64_t data_check_records; /* records it read */
    uint64_t log_head;
    uint64_t accounts;
    uint64_t pending_locks;
    uint64_t pending_certs;
    uint64_t forks;             /* fork evidence records */
    uint64_t peers_connected;
    uint64_t map_size_bytes;    /* LMDB map size */
    uint64_t map_used_bytes;    /* LMDB pages in use */
    uint32_t quorum;            /* voters a certificate needs (genesis) */
    uint32_t voters_heard;      /* voters that vote heard lately (vl_core_stats) */
    uint32_t voters_observing;  /* genesis voters running as observers (vl_core_stats) */
    uint32_t voters_foreign;    /* genesis voters that run another genesis (vl_core.c note 27) */
    uint32_t peers_asking_foreign; /* peers that ask votes on another network's orders */
    uint32_t max_faulty;        /* genesis: /healthz blames this node's genesis only when
                                 * more peers than this disagree with it */
    bool genesis_voter;         /* the genesis lists this node as a voter */
    uint8_t status_flags;       /* VL_STATUS_* (vl_wire.h) */
    uint16_t write_refused;     /* 0, VL_ERR_DISK_FULL or VL_ERR_MAP_FULL */
    bool started;               /* a step has run: the flags mean something */
    /* bad inputs counted against each peer, and the peers whose vote
     * requests are dropped now (vl_core.c note 28) */
    uint32_t peer_count;
    uint16_t self_index;
    const char *peer_id[VL_MAX_NODES]; /* into the genesis */
    uint64_t peer_bad_inputs[VL_MAX_NODES];
    uint64_t peer_queued[VL_MAX_NODES];     /* bytes queued to each peer now */
    uint64_t peer_queue_full[VL_MAX_NODES]; /* sends dropped: its queue was full */
    uint64_t peer_requests_unread[VL_MAX_NODES]; /* its page requests not answered */
    uint64_t peer_queue_max;                /* bytes (peer_queue_mb) */
    uint32_t vote_ms[VL_MAX_NODES];         /* voters' vote latency, ms (vl_core_peer_vote_ms) */
    bool vote_ms_known[VL_MAX_NODES];
    uint32_t peers_penalized;
    /* peers' clock offsets (vl_core_peer_clock), measured peers only */
    uint32_t clock_peer_count;
    const char *clock_peer_id[VL_MAX_NODES]; /* into the genesis (outlives the server) */
    int64_t clock_offset_ms[VL_MAX_NODES];
    /* histograms (only steps with at least one received message) */
    vl_metrics_histogram step_us;
    vl_metrics_histogram batch;
} vl_metrics_snapshot;

typedef struct vl_metrics vl_metrics;

/* Parse "host:port" (host: an IPv4 address, or an IPv6 address in
 * brackets; port 1..65535) into *addr / *addr_len.  0 on success; -1 with
 * why (a static phrase) set on a malformed value. */
int vl_metrics_parse_bind(const char *s, struct sockaddr_storage *addr, socklen_t *addr_len,
                          const char **why);

/* Bind bind_addr ("host:port", already validated by the configuration) and
 * start the HTTP thread.  Call with SIGTERM/SIGINT blocked (the thread
 * inherits the mask).  VL_OK and *out set; VL_ERR_USAGE (malformed),
 * VL_ERR_IO ("cannot bind the metrics endpoint ...": err says why),
 * VL_ERR_NOMEM.  On error *out is NULL and nothing is left running. */
vl_err vl_metrics_start(vl_metrics **out, const char *bind_addr, char *err, size_t err_cap);

/* Stop the HTTP thread (waits for it), close its socket, free; NULL-safe,
 * nulls *m. */
void vl_metrics_stop(vl_metrics **m);

/* Publish a copy of *s (the loop's thread; m may be NULL: nothing). */
void vl_metrics_publish(vl_metrics *m, const vl_metrics_snapshot *s);

/* Record one step that took step_us microseconds over `inputs` received
 * messages (0: not recorded, an idle TICK). */
void vl_metrics_observe_step(vl_metrics_snapshot *s, uint64_t step_us, size_t inputs);

/* The /metrics body for *s into buf (cap bytes, NUL-terminated).  Returns
 * its length, or 0 if it did not fit (buf then holds no valid body). */
size_t vl_metrics_format(const vl_metrics_snapshot *s, char *buf, size_t cap);

/* /healthz: true when healthy (in quorum, not syncing, not read-only);
 * reason (cap bytes) gets "healthy" or a one-line reason. */
bool vl_metrics_health(const vl_metrics_snapshot *s, char *reason, size_t cap);

#endif
