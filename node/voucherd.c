/* voucherd.c - the node daemon: configuration, sockets and the event loop
 * around the consensus core (docs/voucherd.md is the operator reference).
 *
 * DESIGN NOTES
 *
 *  1. One thread runs the loop (plus the ZAP thread, vl_zap.h, and
 *     ZeroMQ's I/O threads).  Each iteration: zmq_poll both ROUTERs and
 *     the peer-link monitors for at most VL_NODE_POLL_MS; drain up to
 *     max_batch messages (alternating peer and client so neither starves,
 *     and at most VL_NODE_BATCH_BYTES of payload); add one TICK; call
 *     vl_core_step once.  The core commits the whole batch in one LMDB
 *     transaction with one fsync (group commit) before it returns.
 *
 *  2. Outputs leave only after vl_core_step returned VL_OK: every vote and
 *     certificate they carry is durable first (DESIGN.md 5 and 8).  The
 *     one exception is the core's: a certificate formed from votes that
 *     were all durable before the step (its client replies and CERTS
 *     broadcast) is handed to send_early() just before the step's commit
 *     (vl_core.c note 24), and sent at once.  Sends
 *     never block (ZMQ_DONTWAIT); a message that cannot be queued is
 *     dropped and counted: peers resync, clients time out and resubmit.
 *
 *  3. A failed step released nothing and changed nothing durable.  The
 *     loop logs it (rate-limited) and carries on: the core answers the
 *     batch's clients UNAVAILABLE once a step commits again, and re-drives
 *     its durable locks.  VL_ERR_IO is the exception: a failed fsync leaves
 *     the page cache untrusted (the kernel may have dropped dirty pages,
 *     and a second fsync may then "succeed" over lost data), so the node
 *     stops (exit 1) and a restart recovers from what is durable.
 *     VL_ERR_DISK_FULL and VL_ERR_MAP_FULL put the core in its refusing
 *     state (vl_core.c note 20): the step's outputs are the answers of a
 *     read-only pass, sent as usual.  Entering the state is logged once
 *     (event=write_refused, with the data directory and its free space),
 *     then at most every VL_NODE_REFUSED_LOG_EVERY_MS; leaving it is
 *     event=writes_resumed.  A map growth is event=map_grown.  Reader
 *     slots of dead processes are cleared at open and every
 *     VL_NODE_READER_CHECK_EVERY_MS (event=stale_readers_cleared).
 *
 *  4. Received payloads stay in their zmq_msg_t (no copy) until the step
 *     has returned; vl_input points into them.
 *
 *  5. Signals.  SIGTERM and SIGINT are blocked while the sockets and
 *     threads are created (so only the loop's thread takes them), then set
 *     a flag that the loop checks between steps: a step is never cut.
 *     SIGPIPE is ignored.
 *
 *  6. Test hook (tests/node/fault_test.sh, docs/voucherd.md): with
 *     VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS=N the node counts the
 *     VOTE_REQUEST messages it sends to peers; after the step whose outputs
 *     reach the N-th, it lets the DEALERs flush what they queued (closing
 *     them with a linger and terminating the ZeroMQ context, so the peers
 *     really get the requests), then raise(SIGKILL): a coordinator that
 *     dies after its vote and its requests left, at a point a test can
 *     choose, without closing the core (as a crash would).
 *
 *  7. Metrics (vl_metrics.h), when metrics_bind is set: the HTTP server
 *     starts last in daemon_start (a port in use fails the start, exit 1)
 *     and stops first in daemon_stop.  Every step feeds the histograms in
 *     d->snap; at most every VL_NODE_METRICS_EVERY_MS, after a step that did
 *     not stop the node, the loop reads the core's stats (one read
 *     transaction: a few mdb_stat calls) and the socket counters into
 *     d->snap and publishes a copy; the HTTP thread only sees such copies.
 *
 *  8. Verification on all cores (DESIGN.md 10; vl_vpool.h).  With
 *     verify_threads > 1, after gather() and before vl_core_step, the
 *     client and certificate signatures the batch carries are checked on
 *     the verification pool (verify_threads - 1 workers and the loop's
 *     thread) through the core's signature cache (vl_core_sigcache); the
 *     core then checks them again as always and finds them there.  The
 *     core stays the only decider (vl_vpool.c note 1): the pool changes no
 *     input, output or order, and a signature that fails in it is simply
 *     not cached.  A batch estimated to carry fewer than
 *     VL_VPOOL_MIN_ORDERS orders, or a step while writes are refused
 *     (SUBMIT is answered without a check), does not wake the pool, so an
 *     idle node pays nothing.  The pool starts after the core and stops
 *     before it (it uses the core's cache); its workers are created with
 *     SIGTERM and SIGINT blocked (note 5).  The signatures it found valid
 *     are counted (voucher_prevalidated_signatures_total).  The default is
 *     verify_threads 1 (no pool): measured on 2 shared cores the pool only
 *     added CPU (docs/performance.md, change 6); it pays on idle cores.
 *
 *  9. Checking the next batch while this one commits.  With a pool, the
 *     core calls before_commit() when a step's writes are staged and its
 *     commit is about to start.  It receives whatever has arrived since
 *     (into the second pair of buffers, next_msgs/next_in) and starts the
 *     pool's workers on its signatures (vl_vpool_begin), then returns; the
 *     loop's thread commits and fsyncs meanwhile, sends the step's
 *     outputs, and steps on that batch next without polling, joining the
 *     workers first (vl_vpool_finish, in step_once).  Nothing else
 *     changes: the batch is the one the next gather() would have taken a
 *     moment later, the core still checks every signature (cache hits),
 *     and no output leaves before its own step's commit returned (note 2).
 *     The workers read only next_in's bytes, which stay open until that
 *     batch's step ends, and the cache, which is locked; daemon_stop joins
 *     them before it releases anything.  Without a pool the hook does
 *     nothing.  On a lone voter on 2 cores it raised throughput by 14 to
 *     28% over the pool of note 8 alone (docs/performance.md, change 9).
 *     Counted: voucher_batches_received_during_commit_total.
 *
 * 10. The data file walked while the node runs (consensus/vl_check.c).
 *     The open walks it before the node serves (check_data_at_start); a
 *     node that runs for months would otherwise learn of a page damaged
 *     since only when a step reads it, perhaps a year later (an old
 *     voucher's account).  So every check_data_every_s the loop starts the
 *     same walk in a child process, on a snapshot under the child's own
 *     reader slot, and polls its pipe between steps (never waiting for it:
 *     the walk costs the loop a fork and a read a step).  A sound file is
 *     event=data_checked when=running and the metrics; damage stops the
 *     node (exit 1, as a failed fsync does, note 3): its votes and answers
 *     would rest on data it can no longer trust, and the restart's walk
 *     refuses the file, so the node stays down until a person rebuilds it
 *     (docs/operations.md).  A walk that could not be made (no fork, a
 *     reader killed by a signal other than a fault) is a warning and
 *     waits for the next interval, and so is a walk that has not ended
 *     after 20 times the last one's duration (at least 10 s): it is
 *     killed.  A fork of a process with threads may leave the child stuck
 *     on a lock another thread held (seen once under AddressSanitizer,
 *     whose allocator is not fork-safe here, during a voucher-bench load;
 *     glibc's malloc is); that must never stop the checks for good.
 *     daemon_stop kills a walk under way.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "vl_check.h"
#include "vl_core.h"
#include "vl_crypto.h"
#include "vl_metrics.h"
#include "vl_net.h"
#include "vl_node_config.h"
#include "vl_vpool.h"
#include "vl_zap.h"

#define VOUCHERD_VERSION "0.1.0"
/* Longest wait in zmq_poll: the core's timers (re-drive, sync, timeouts,
 * checkpoints) run on the TICK of every step, so they fire within this. */
#define VL_NODE_POLL_MS 10
/* Payload bytes gathered into one step at most (plus one message). */
#define VL_NODE_BATCH_BYTES (64u * 1024u * 1024u)
/* A repeated step error is logged at most this often. */
#define VL_NODE_ERR_LOG_EVERY_MS 10000u
/* While writes are refused (note 3), a reminder this often. */
#define VL_NODE_REFUSED_LOG_EVERY_MS 60000u
/* Reader slots of dead processes are cleared this often (note 3): a killed
 * reader pins its snapshot, and under load the data file grows by tens of
 * MiB a minute until the slot is cleared. */
#define VL_NODE_READER_CHECK_EVERY_MS 5000u
/* Counters are logged this often (event=stats). */
#define VL_NODE_STATS_EVERY_MS 60000u
/* event=clock_skew at most this often per peer. */
#define VL_NODE_CLOCK_LOG_MS 60000u
/* The metrics snapshot is refreshed at most this often (note 7): reading
 * the core's stats is a read transaction, kept off most steps. */
#define VL_NODE_METRICS_EVERY_MS 100u
/* /healthz reports a failed step (not a space error) this long after the
 * last one, so a probe every few seconds sees a fault that a single input
 * causes now and then (a damaged record read on demand). */
#define VL_NODE_STEP_FAILED_SHOWN_MS 60000u
/* Note 10: a walk while running that has not ended after this many times
 * the last sound walk's duration, and at least MIN_MS, is killed. */
#define VL_NODE_CHECK_TIMEOUT_FACTOR 20u
#define VL_NODE_CHECK_TIMEOUT_MIN_MS 10000u
/* Test hook (note 6): how long the DEALERs may take to flush. */
#define VL_NODE_TEST_FLUSH_MS 2000

_Static_assert(VL_NODE_MAX_VERIFY_THREADS <= VL_VPOOL_MAX_THREADS,
               "verify_threads must fit the pool");

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static volatile sig_atomic_t stop_signal = 0;

typedef struct {
    vl_node_config cfg;
    vl_genesis *g;
    vl_keyfile key;
    uint16_t self;
    void *ctx;
    vl_zap *zap;
    vl_net net;
    vl_core *core;
    vl_outbox out;
    zmq_msg_t *msgs; /* max_batch received payloads of the current step */
    vl_input *in;    /* max_batch + 1 (the TICK) */
    /* note 9: the next step's batch, received during this step's commit */
    zmq_msg_t *next_msgs;
    vl_input *next_in;
    size_t next_n;
    bool next_begun; /* the pool is checking next_in (vl_vpool_begin) */
    bool cur_begun;  /* ... or, after the swap, this step's in */
    vl_err last_err;
    uint64_t err_repeats;
    uint64_t err_logged_ms;
    uint64_t stats_logged_ms;
    uint64_t certs_formed;
    uint64_t test_kill_after; /* note 6; 0: off */
    uint64_t vote_requests_sent;
    vl_metrics *metrics;      /* note 7; NULL: off */
    vl_vpool *pool;           /* note 8; NULL: verify in the loop */
    vl_metrics_snapshot snap; /* the loop's copy (note 7) */
    uint64_t last_step_failed_ms; /* monotonic; snap.last_step_error while recent */
    uint64_t metrics_published_ms;
    vl_core_storage storage;  /* note 3: after the last step */
    uint64_t refused_since_ms; /* note 3: when writes were first refused */
    uint64_t refused_logged_ms;
    uint64_t readers_checked_ms; /* note 3 */
    vl_store_check_job check;    /* note 10: the walk under way, when checking */
    bool checking;
    uint64_t check_due_ms;       /* note 10: monotonic */
    uint64_t check_started_ms;   /* note 10: when the walk under way began (monotonic) */
    uint64_t check_last_ms;      /* note 10: how long the last sound walk took */
    uint64_t voters_foreign;     /* vl_core.c note 27: as last logged */
    uint64_t peers_asking_foreign;
    uint64_t foreign_logged_ms[VL_MAX_NODES]; /* ... when (monotonic), per peer */
    uint64_t asking_logged_ms[VL_MAX_NODES];
    uint64_t faulty_seen[VL_MAX_NODES]; /* peer bad inputs last logged (vl_core.c note 28) */
    uint64_t faulty_logged_ms[VL_MAX_NODES];
    uint64_t clock_logged_ms[VL_MAX_NODES]; /* event=clock_skew per peer (monotonic) */
} vl_daemon;

static uint64_t now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Block (or unblock) SIGTERM and SIGINT in this thread and the threads it
 * creates; install their handler and ignore SIGPIPE. */
static void signals_setup(bool block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (block) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns EINTR */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* mkdir -p of path (mode 0700 for what it creates).  0 or -1 (errno). */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    return 0;
}

/* ---- start and stop ----------------------------------------------------------------------- */

static void log_started(const vl_daemon *d)
{
    char id_hex[65], q[96];
    vl_hex_encode(id_hex, d->g->network_id, 32);
    const vl_gen_node *me = &d->g->nodes[d->self];
    const char *role = me->role != VL_ROLE_VOTER ? "observer"
                       : d->cfg.observer        ? "observer(forced)"
                                                : "voter";
    vl_log(VL_LOG_INFO, "started",
           "version=%s pid=%ld index=%u role=%s network=%s network_id=%s quorum=%u "
           "data_dir=%s",
           VOUCHERD_VERSION, (long)getpid(), (unsigned)d->self, role, d->g->network,
           id_hex, (unsigned)d->g->quorum, vl_log_quote(q, sizeof q, d->cfg.data_dir));
}

static void before_commit(void *ctx);
static void send_early(void *ctx, const vl_output *items, size_t n);

static vl_err open_core(vl_daemon *d, char *err, size_t cap)
{
    vl_core_config cc;
    vl_core_config_defaults(&cc);
    cc.dir = d->cfg.data_dir;
    cc.genesis = d->g;
    cc.node = d->self;
    cc.key = &d->key.sign;
    cc.force_observer = d->cfg.observer;
    cc.durable = true;
    cc.prefill = d->cfg.prefill_data_file;
    cc.check_data = d->cfg.check_data_at_start;
    cc.clock_skew_ms = d->cfg.clock_skew_ms;
    cc.redrive_after_ms = d->cfg.redrive_after_ms;
    cc.sync_interval_ms = d->cfg.sync_interval_ms;
    cc.sync_batch = d->cfg.sync_batch;
    cc.checkpoint_every_ms = d->cfg.checkpoint_every_ms;
    cc.client_timeout_ms = d->cfg.client_timeout_ms;
    cc.map_size_bytes = d->cfg.initial_map_mb << 20;
    cc.free_bytes = vl_core_fs_free_bytes; /* the full-disk rules (vl_core.c note 20) */
    cc.before_commit = before_commit; /* note 9 */
    cc.before_commit_ctx = d;
    cc.send_early = send_early; /* note 2 */
    if (make_dirs(d->cfg.data_dir) != 0) {
        snprintf(err, cap, "cannot create the data directory %.300s: %s", d->cfg.data_dir,
                 strerror(errno));
        return VL_ERR_IO;
    }
    return vl_core_open(&d->core, &cc, err, cap);
}

/* verify_threads as configured: 0 is one more than the online CPUs, at
 * most VL_NODE_DEFAULT_VERIFY_THREADS_MAX (1 when they cannot be
 * counted).  One more: the loop's thread is one of them, and it waits for
 * the commit's fsync while the workers check the next batch (note 9), so
 * with one thread a CPU a core would sit idle for every commit
 * (docs/performance.md, change 14). */
static unsigned verify_threads(const vl_daemon *d)
{
    if (d->cfg.verify_threads != 0)
        return d->cfg.verify_threads;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        return 1;
    return cpus + 1 > (long)VL_NODE_DEFAULT_VERIFY_THREADS_MAX
               ? VL_NODE_DEFAULT_VERIFY_THREADS_MAX
               : (unsigned)cpus + 1u;
}

/* Note 8: the verification pool, when more than one thread verifies. */
static vl_err pool_start(vl_daemon *d, char *err, size_t cap)
{
    unsigned threads = verify_threads(d);
    vl_log(VL_LOG_INFO, "verify_pool", "threads=%u configured=%u%s", threads,
           (unsigned)d->cfg.verify_threads, threads > 1 ? "" : " reason=\"verifying in the loop\"");
    if (threads <= 1)
        return VL_OK;
    return vl_vpool_start(&d->pool, threads, d->cfg.max_batch, d->g, vl_core_sigcache(d->core),
                          err, cap);
}

/* Everything between the configuration and the loop, in this order: the
 * core (a data directory in use fails before any socket exists), the ZAP
 * handler, then the sockets (the peer ROUTER only after the handler). */
static vl_err daemon_start(vl_daemon *d, char *err, size_t cap)
{
    vl_outbox_init(&d->out);
    d->msgs = calloc(d->cfg.max_batch, sizeof *d->msgs);
    d->in = calloc((size_t)d->cfg.max_batch + 1u, sizeof *d->in);
    d->next_msgs = calloc(d->cfg.max_batch, sizeof *d->next_msgs);
    d->next_in = calloc((size_t)d->cfg.max_batch + 1u, sizeof *d->next_in);
    if (d->msgs == NULL || d->in == NULL || d->next_msgs == NULL || d->next_in == NULL) {
        snprintf(err, cap, "out of memory");
        return VL_ERR_NOMEM;
    }
    vl_err e = open_core(d, err, cap);
    if (e == VL_OK)
        e = pool_start(d, err, cap);
    if (e != VL_OK)
        return e;
    d->ctx = zmq_ctx_new();
    if (d->ctx == NULL) {
        snprintf(err, cap, "cannot create the ZeroMQ context: %s", zmq_strerror(errno));
        return VL_ERR_IO;
    }
    e = vl_zap_start(&d->zap, d->ctx, d->g, d->self, err, cap);
    if (e != VL_OK)
        return e;
    e = vl_net_open(&d->net, d->ctx, d->g, d->self, &d->key, d->cfg.peer_bind,
                    d->cfg.client_bind, d->cfg.peer_queue_mb << 20, err, cap);
    if (e != VL_OK || d->cfg.metrics_bind[0] == '\0')
        return e;
    e = vl_metrics_start(&d->metrics, d->cfg.metrics_bind, err, cap); /* note 7 */
    if (e == VL_OK)
        vl_log(VL_LOG_INFO, "listening", "socket=metrics endpoint=http://%s/metrics",
               d->cfg.metrics_bind);
    return e;
}

/* Release everything daemon_start made (any prefix of it). */
static void daemon_stop(vl_daemon *d)
{
    vl_metrics_stop(&d->metrics); /* note 7: first */
    if (d->checking) /* note 10 */
        vl_store_check_cancel(&d->check);
    d->checking = false;
    if (d->next_begun) /* note 9: the workers may still read next_in */
        vl_vpool_finish(d->pool);
    d->next_begun = false;
    for (size_t i = 0; i < d->next_n; i++)
        zmq_msg_close(&d->next_msgs[i]);
    d->next_n = 0;
    vl_net_close(&d->net); /* the peer ROUTER first, then the ZAP handler */
    vl_zap_stop(&d->zap);
    vl_vpool_stop(&d->pool); /* note 8: before the core, whose cache it uses */
    vl_core_close(&d->core);
    if (d->ctx != NULL)
        zmq_ctx_term(d->ctx);
    d->ctx = NULL;
    vl_outbox_free(&d->out);
    free(d->msgs);
    free(d->in);
    free(d->next_msgs);
    free(d->next_in);
    d->msgs = NULL;
    d->in = NULL;
    d->next_msgs = NULL;
    d->next_in = NULL;
    vl_keyfile_wipe(&d->key);
}

/* ---- the loop ------------------------------------------------------------------------------- */

/* Receive up to max_batch messages into msgs/in, alternating peer and
 * client. */
static size_t gather(vl_daemon *d, zmq_msg_t *msgs, vl_input *in)
{
    size_t n = 0, bytes = 0;
    bool peer_more = true, client_more = true;
    while (n < d->cfg.max_batch && bytes < VL_NODE_BATCH_BYTES && (peer_more || client_more)) {
        if (peer_more && (peer_more = vl_net_recv_peer(&d->net, &msgs[n], &in[n]) == 1))
            bytes += in[n++].len;
        if (n == d->cfg.max_batch || bytes >= VL_NODE_BATCH_BYTES)
            break;
        if (client_more && (client_more = vl_net_recv_client(&d->net, &msgs[n], &in[n]) == 1))
            bytes += in[n++].len;
    }
    return n;
}

/* Note 9: the core is about to commit (and fsync) a step; receive what
 * has arrived since it began and let the pool's workers start on its
 * signatures meanwhile.  Only with a pool, and once per step. */
static void before_commit(void *ctx)
{
    vl_daemon *d = ctx;
    if (d->pool == NULL || d->next_n > 0 || d->storage.refusing != VL_OK)
        return;
    d->next_n = gather(d, d->next_msgs, d->next_in);
    vl_vpool_skip_peers(d->pool, vl_core_penalized_peers(d->core)); /* vl_core.c note 28 */
    d->next_begun = d->next_n > 0 && vl_vpool_begin(d->pool, d->next_in, d->next_n);
    d->snap.early_batches += d->next_begun;
}

/* Note 2: certificates whose votes were durable before this step leave
 * before its commit (vl_core.c note 24). */
static void send_early(void *ctx, const vl_output *items, size_t n)
{
    vl_daemon *d = ctx;
    for (size_t i = 0; i < n; i++)
        vl_net_send(&d->net, &items[i]);
}

/* Note 9: the batch received during the last commit becomes this step's.
 * Returns its size. */
static size_t take_next(vl_daemon *d)
{
    zmq_msg_t *m = d->msgs;
    vl_input *in = d->in;
    size_t n = d->next_n;
    d->msgs = d->next_msgs;
    d->in = d->next_in;
    d->next_msgs = m;
    d->next_in = in;
    d->cur_begun = d->next_begun;
    d->next_n = 0;
    d->next_begun = false;
    return n;
}

static void log_stats(vl_daemon *d, vl_log_level level)
{
    vl_core_stats st;
    const vl_net_stats *ns = &d->net.stats;
    vl_core_get_stats(d->core, &st);
    vl_log(level, "stats",
           "log_head=%llu certs_applied=%llu certs_formed=%llu votes_sent=%llu "
           "bad_inputs=%llu pending_locks=%u peers_connected=%u forks=%llu peer_in=%llu "
           "peer_unauth=%llu peer_malformed=%llu peer_drops=%llu client_in=%llu "
           "client_malformed=%llu client_drops=%llu client_gone=%llu zap_admitted=%llu "
           "zap_refused=%llu",
           (unsigned long long)st.status.log_head, (unsigned long long)st.certs_applied,
           (unsigned long long)st.certs_formed, (unsigned long long)st.votes_sent,
           (unsigned long long)st.bad_inputs, (unsigned)st.status.pending_locks,
           (unsigned)st.status.peers_connected, (unsigned long long)st.forks,
           (unsigned long long)ns->peer_in, (unsigned long long)ns->peer_unauth,
           (unsigned long long)ns->peer_malformed, (unsigned long long)ns->peer_drops,
           (unsigned long long)ns->client_in, (unsigned long long)ns->client_malformed,
           (unsigned long long)ns->client_drops, (unsigned long long)ns->client_gone,
           (unsigned long long)vl_zap_admitted(d->zap),
           (unsigned long long)vl_zap_refused(d->zap));
}

/* Debug: certificates this node formed in the last step. */
static void log_formed(vl_daemon *d)
{
    vl_core_stats st;
    vl_core_get_stats(d->core, &st);
    if (st.certs_formed > d->certs_formed)
        vl_log(VL_LOG_DEBUG, "certificate_formed", "count=%llu total=%llu log_head=%llu",
               (unsigned long long)(st.certs_formed - d->certs_formed),
               (unsigned long long)st.certs_formed, (unsigned long long)st.status.log_head);
    d->certs_formed = st.certs_formed;
}

/* A failed step: logged when the error changes, else every
 * VL_NODE_ERR_LOG_EVERY_MS with the number of repeats. */
static void log_step_error(vl_daemon *d, vl_err e, size_t inputs)
{
    uint64_t now = now_ms(CLOCK_MONOTONIC);
    if (e == d->last_err && now - d->err_logged_ms < VL_NODE_ERR_LOG_EVERY_MS) {
        d->err_repeats++;
        return;
    }
    vl_log(VL_LOG_ERROR, "step_failed", "error=%s code=%d msg=\"%s\" inputs=%zu repeats=%llu",
           vl_err_slug(e), (int)e, vl_strerror(e), inputs, (unsigned long long)d->err_repeats);
    d->last_err = e;
    d->err_logged_ms = now;
    d->err_repeats = 0;
}

/* Free bytes for unprivileged writers on the data directory's
 * filesystem, or -1 if statvfs fails. */
static long long data_dir_free(const vl_daemon *d)
{
    struct statvfs v;
    if (statvfs(d->cfg.data_dir, &v) != 0)
        return -1;
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

/* Note 3: log what the storage did in the last step (no transaction). */
static void storage_events(vl_daemon *d)
{
    vl_core_storage was = d->storage, *now = &d->storage;
    char q[600];
    vl_core_get_storage(d->core, now);
    uint64_t t = now_ms(CLOCK_MONOTONIC);
    if (now->map_size_bytes != was.map_size_bytes)
        vl_log(VL_LOG_INFO, "map_grown", "from_bytes=%llu to_bytes=%llu used_bytes=%llu",
               (unsigned long long)was.map_size_bytes, (unsigned long long)now->map_size_bytes,
               (unsigned long long)now->map_used_bytes);
    if (now->reopens != was.reopens)
        vl_log(VL_LOG_WARN, "storage_reopened",
               "data_dir=%s reason=\"LMDB marked the environment fatal (a meta page write "
               "failed); reopened on what is durable\"",
               vl_log_quote(q, sizeof q, d->cfg.data_dir));
    if (now->refusing != VL_OK &&
        (was.refusing != now->refusing ||
         t - d->refused_logged_ms >= VL_NODE_REFUSED_LOG_EVERY_MS)) {
        if (was.refusing == VL_OK)
            d->refused_since_ms = t;
        vl_log(VL_LOG_ERROR, "write_refused",
               "error=%s code=%d data_dir=%s free_bytes=%lld map_size_bytes=%llu "
               "refused_steps=%llu msg=\"%s: not accepting writes (SUBMIT is answered %s); "
               "serving reads; resumes by itself when space is back\"",
               vl_err_slug(now->refusing), (int)now->refusing,
               vl_log_quote(q, sizeof q, d->cfg.data_dir), data_dir_free(d),
               (unsigned long long)now->map_size_bytes,
               (unsigned long long)now->steps_refused,
               now->refusing == VL_ERR_DISK_FULL ? "disk full" : "LMDB map cannot grow",
               vl_err_name(now->refusing));
        d->refused_logged_ms = t;
    }
    if (now->refusing == VL_OK && was.refusing != VL_OK)
        vl_log(VL_LOG_INFO, "writes_resumed",
               "after=%s refused_ms=%llu refused_steps=%llu free_bytes=%lld",
               vl_err_slug(was.refusing), (unsigned long long)(t - d->refused_since_ms),
               (unsigned long long)now->steps_refused, data_dir_free(d));
}

/* Note 6: count the VOTE_REQUESTs just sent; at the N-th, flush and die. */
static void test_kill_hook(vl_daemon *d)
{
    for (size_t i = 0; i < d->out.count; i++) {
        const vl_output *o = &d->out.items[i];
        if (o->kind == VL_OUT_PEER && o->len >= 2 && o->data[1] == VL_MSG_VOTE_REQUEST)
            d->vote_requests_sent++;
    }
    if (d->vote_requests_sent < d->test_kill_after)
        return;
    vl_log(VL_LOG_WARN, "test_kill",
           "vote_requests=%llu reason=\"VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS: flushing the "
           "peer links, then SIGKILL\"",
           (unsigned long long)d->vote_requests_sent);
    vl_net_close_flushing(&d->net, VL_NODE_TEST_FLUSH_MS);
    vl_zap_stop(&d->zap);
    zmq_ctx_term(d->ctx); /* returns once the DEALERs sent their queues */
    raise(SIGKILL);
}

/* Note 7: count the client SUBMIT requests among the n inputs (a peek at
 * the type and request kind: version, type, u64 req_id, req_kind). */
static void metrics_count_submits(vl_daemon *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const vl_input *in = &d->in[i];
        if (in->kind == VL_IN_CLIENT && in->len > 10 && in->data[1] == VL_MSG_CLIENT_REQUEST &&
            in->data[10] == VL_REQ_SUBMIT)
            d->snap.orders_submitted++;
    }
}

/* Note 7: refresh d->snap after a step and publish it. */
static void metrics_publish(vl_daemon *d)
{
    vl_core_stats st;
    const vl_net_stats *ns = &d->net.stats;
    vl_metrics_snapshot *s = &d->snap;
    vl_core_get_stats(d->core, &st);
    s->client_requests = ns->client_in;
    s->peer_messages = ns->peer_in;
    s->certs_formed = st.certs_formed;
    s->certs_early = st.certs_early;
    s->certs_applied = st.certs_applied;
    s->votes_sent = st.votes_sent;
    s->bad_inputs = st.bad_inputs;
    s->sync_skipped = st.sync_skipped;
    s->sync_pulled = st.sync_pulled;
    s->votes_widened = st.votes_widened;
    s->peer_unauth = ns->peer_unauth;
    s->peer_malformed = ns->peer_malformed;
    s->client_malformed = ns->client_malformed;
    s->peer_drops = ns->peer_drops;
    s->peer_queue_max = d->net.peer_queue_max;
    s->client_drops = ns->client_drops;
    s->client_gone = ns->client_gone;
    s->zap_admitted = vl_zap_admitted(d->zap);
    s->zap_refused = vl_zap_refused(d->zap);
    s->log_head = st.status.log_head;
    s->accounts = st.status.accounts;
    s->pending_locks = st.status.pending_locks;
    s->pending_certs = st.pending_certs;
    s->forks = st.forks;
    s->peers_connected = st.status.peers_connected;
    s->map_size_bytes = st.map_size_bytes;
    s->map_used_bytes = st.map_used_bytes;
    s->quorum = d->g->quorum;
    s->voters_heard = st.voters_heard;
    s->voters_observing = st.voters_observing;
    s->max_faulty = d->g->max_faulty;
    s->voters_foreign = (uint32_t)__builtin_popcountll(st.voters_foreign);
    s->peers_asking_foreign = (uint32_t)__builtin_popcountll(st.peers_asking_foreign);
    s->genesis_voter = d->g->nodes[d->self].role == VL_ROLE_VOTER;
    s->status_flags = st.status.flags;
    s->write_refused = (uint16_t)d->storage.refusing;
    s->steps_refused = d->storage.steps_refused;
    s->map_grows = d->storage.map_grows;
    s->storage_reopens = d->storage.reopens;
    s->prefilled_bytes = d->storage.prefilled_bytes;
    s->clock_peer_count = 0;
    s->peers_penalized = 0;
    for (uint16_t p = 0; p < d->g->node_count && p < VL_MAX_NODES; p++) {
        bool penalized;
        s->peer_id[p] = d->g->nodes[p].id;
        s->peer_bad_inputs[p] = vl_core_peer_faults(d->core, p, &penalized);
        s->peers_penalized += penalized;
        s->peer_queued[p] = vl_net_peer_queued(&d->net, p);
        s->peer_queue_full[p] = ns->peer_full[p];
        s->peer_requests_unread[p] = ns->peer_shed[p] + vl_core_replies_skipped(d->core, p);
        s->vote_ms_known[p] = vl_core_peer_vote_ms(d->core, p, &s->vote_ms[p]);
    }
    s->peer_count = d->g->node_count < VL_MAX_NODES ? d->g->node_count : VL_MAX_NODES;
    s->self_index = d->self;
    for (uint16_t p = 0; p < d->g->node_count && p < VL_MAX_NODES; p++) {
        int64_t off;
        uint64_t at;
        if (vl_core_peer_clock(d->core, p, &off, &at)) {
            s->clock_peer_id[s->clock_peer_count] = d->g->nodes[p].id;
            s->clock_offset_ms[s->clock_peer_count++] = off;
        }
    }
    s->started = true;
    vl_metrics_publish(d->metrics, s);
}

/* One step over n received inputs (+ the TICK).  0, or -1 to stop (a
 * failed fsync, note 3). */
static int step_once(vl_daemon *d, size_t n)
{
    d->in[n] = (vl_input){.kind = VL_IN_TICK};
    if (d->metrics != NULL)
        metrics_count_submits(d, n);
    if (d->cur_begun) /* note 9: the workers started on it during the last commit */
        d->snap.prevalidated_sigs += vl_vpool_finish(d->pool);
    else if (d->pool != NULL && n > 0 && d->storage.refusing == VL_OK) { /* note 8 */
        vl_vpool_skip_peers(d->pool, vl_core_penalized_peers(d->core)); /* vl_core.c note 28 */
        d->snap.prevalidated_sigs += vl_vpool_run(d->pool, d->in, n);
    }
    d->cur_begun = false;
    uint64_t t0_us = d->metrics != NULL ? now_us() : 0;
    for (uint16_t p = 0; p < d->g->node_count; p++) /* vl_core.c note 16 */
        if (p != d->self)
            vl_core_set_reply_budget(d->core, p, vl_net_reply_room(&d->net, p));
    vl_err e = vl_core_step(d->core, now_ms(CLOCK_REALTIME), d->in, n + 1u, &d->out);
    if (d->metrics != NULL) {
        vl_metrics_observe_step(&d->snap, now_us() - t0_us, n);
        bool failed = e != VL_OK && e != VL_ERR_DISK_FULL && e != VL_ERR_MAP_FULL;
        uint64_t mono = now_ms(CLOCK_MONOTONIC);
        d->snap.steps_failed += failed;
        if (failed) { /* /healthz says so for a minute (VL_NODE_STEP_FAILED_SHOWN_MS) */
            d->snap.last_step_error = (int)e;
            d->last_step_failed_ms = mono;
        } else if (d->snap.last_step_error != 0 &&
                   mono - d->last_step_failed_ms >= VL_NODE_STEP_FAILED_SHOWN_MS) {
            d->snap.last_step_error = 0;
        }
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&d->msgs[i]);
    if (e != VL_ERR_IO)
        storage_events(d);
    if (e == VL_ERR_DISK_FULL || e == VL_ERR_MAP_FULL) {
        /* Note 3: the read-only pass's answers; nothing depends on a write. */
        for (size_t i = 0; i < d->out.count; i++)
            vl_net_send(&d->net, &d->out.items[i]);
        vl_outbox_clear(&d->out);
        return 0;
    }
    if (e == VL_OK) {
        for (size_t i = 0; i < d->out.count; i++)
            vl_net_send(&d->net, &d->out.items[i]);
        if (d->test_kill_after != 0)
            test_kill_hook(d);
        if (vl_log_enabled(VL_LOG_DEBUG)) /* the certificates may have left early (note 2) */
            log_formed(d);
        vl_outbox_clear(&d->out);
        if (d->last_err != VL_OK)
            vl_log(VL_LOG_INFO, "step_recovered", "after=%s",
                   vl_err_slug(d->last_err));
        d->last_err = VL_OK;
        return 0;
    }
    if (e == VL_ERR_IO) {
        char q[600];
        vl_log(VL_LOG_ERROR, "step_failed",
               "error=io code=%d data_dir=%s msg=\"fsync failed (or a write of the data file): "
               "the page cache can no longer be trusted; stopping without sending this "
               "step's votes or replies; restart recovers from what is durable\"",
               (int)e, vl_log_quote(q, sizeof q, d->cfg.data_dir));
        return -1;
    }
    /* VL_ERR_STORAGE, VL_ERR_CORRUPT, VL_ERR_NOMEM: retry on the next loop. */
    log_step_error(d, e, n);
    return 0;
}

/* step_once, then (note 7) publish the metrics.  0, or -1 to stop. */
static int run_step(vl_daemon *d, size_t n)
{
    int rc = step_once(d, n);
    if (d->metrics != NULL && rc == 0) {
        uint64_t now = now_ms(CLOCK_MONOTONIC);
        if (now - d->metrics_published_ms >= VL_NODE_METRICS_EVERY_MS) {
            metrics_publish(d);
            d->metrics_published_ms = now;
        }
    }
    return rc;
}

/* A peer whose clock differs from ours by more than clock_skew_ms, as the
 * core last measured it (vl_core_peer_clock): a warning, at most once a
 * minute per peer.  Every peer off by about the same amount means that it
 * is this node's clock that is off. */
static void clock_events(vl_daemon *d)
{
    uint64_t now = now_ms(CLOCK_MONOTONIC);
    for (uint16_t p = 0; p < d->g->node_count && p < VL_MAX_NODES; p++) {
        int64_t off;
        uint64_t at;
        if (!vl_core_peer_clock(d->core, p, &off, &at))
            continue;
        uint64_t mag = off < 0 ? (uint64_t)0 - (uint64_t)off : (uint64_t)off;
        if (mag <= d->cfg.clock_skew_ms ||
            (d->clock_logged_ms[p] != 0 && now - d->clock_logged_ms[p] < VL_NODE_CLOCK_LOG_MS))
            continue;
        d->clock_logged_ms[p] = now;
        vl_log(VL_LOG_WARN, "clock_skew",
               "peer=%s offset_ms=%lld allowance_ms=%llu reason=\"the clock of %s is %s this "
               "node's by more than clock_skew_ms: one of the two clocks is wrong (check NTP); "
               "validity windows are judged by each node's own clock\"",
               d->g->nodes[p].id, (long long)off, (unsigned long long)d->cfg.clock_skew_ms,
               d->g->nodes[p].id, off > 0 ? "ahead of" : "behind");
    }
}

/* Note 10: a walk of the data file found it sound (at start or running). */
static void data_checked(vl_daemon *d, uint64_t records, uint64_t ms)
{
    d->check_last_ms = ms;
    d->snap.data_checks++;
    d->snap.data_checked_unix = now_ms(CLOCK_REALTIME) / 1000u;
    d->snap.data_check_records = records;
}

/* Note 10: start a walk when one is due, or take the result of the one
 * under way.  0, or -1 to stop (the file is damaged). */
static int data_check_tick(vl_daemon *d, uint64_t now)
{
    char q[300];
    vl_err e;
    if (d->cfg.check_data_every_s == 0)
        return 0;
    if (!d->checking) {
        if (now < d->check_due_ms)
            return 0;
        e = vl_store_check_start(d->cfg.data_dir, false, &d->check);
        d->checking = e == VL_OK;
        d->check_started_ms = now;
        if (!d->checking) {
            d->check_due_ms = now + d->cfg.check_data_every_s * 1000u;
            vl_log(VL_LOG_WARN, "data_check_failed", "error=%s msg=%s", vl_err_slug(e),
                   vl_log_quote(q, sizeof q, d->check.r.error));
        }
        return 0;
    }
    if (!vl_store_check_poll(&d->check, false, &e)) {
        /* Note 10: a walk that does not end is killed and tried again. */
        uint64_t limit = d->check_last_ms * VL_NODE_CHECK_TIMEOUT_FACTOR;
        if (limit < VL_NODE_CHECK_TIMEOUT_MIN_MS)
            limit = VL_NODE_CHECK_TIMEOUT_MIN_MS;
        if (now - d->check_started_ms < limit)
            return 0;
        vl_store_check_cancel(&d->check);
        d->checking = false;
        d->check_due_ms = now + d->cfg.check_data_every_s * 1000u;
        vl_log(VL_LOG_WARN, "data_check_failed",
               "error=timeout msg=\"the walk did not end within %llu ms: killed, not a finding; "
               "the next one is due after check_data_every_s\"",
               (unsigned long long)limit);
        return 0;
    }
    d->checking = false;
    d->check_due_ms = now + d->cfg.check_data_every_s * 1000u;
    const vl_store_check_report *r = &d->check.r;
    if (e == VL_OK) {
        data_checked(d, r->records, r->ms);
        vl_log(VL_LOG_INFO, "data_checked", "records=%llu bytes=%llu ms=%llu when=running",
               (unsigned long long)r->records, (unsigned long long)r->bytes,
               (unsigned long long)r->ms);
        return 0;
    }
    if (e != VL_ERR_CORRUPT) {
        vl_log(VL_LOG_WARN, "data_check_failed", "error=%s msg=%s", vl_err_slug(e),
               vl_log_quote(q, sizeof q, r->error));
        return 0;
    }
    vl_log(VL_LOG_ERROR, "data_damaged",
           "when=running msg=%s hint=\"stopping: the data is lost; keep the file as evidence and "
           "rebuild the node from its backup or empty, as an observer (docs/operations.md, A "
           "data file damaged on disk)\"",
           vl_log_quote(q, sizeof q, r->error));
    return -1;
}

/* vl_core.c note 27: a voter that runs another genesis, seen from either
 * side, logged when it changes, at most once a minute per peer and side
 * (a peer that alternates would otherwise log on every step). */
static void network_events(vl_daemon *d)
{
    uint64_t foreign, asking, now = now_ms(CLOCK_MONOTONIC);
    char id_hex[17];
    vl_core_get_foreign(d->core, &foreign, &asking);
    vl_hex_encode(id_hex, d->g->network_id, 8);
    for (uint16_t p = 0; p < d->g->node_count && p < VL_MAX_NODES; p++) {
        uint64_t bit = (uint64_t)1 << p;
        bool may_f = d->foreign_logged_ms[p] == 0 ||
                     now - d->foreign_logged_ms[p] >= VL_NODE_CLOCK_LOG_MS;
        bool may_a = d->asking_logged_ms[p] == 0 ||
                     now - d->asking_logged_ms[p] >= VL_NODE_CLOCK_LOG_MS;
        if ((foreign & bit) != 0 && (d->voters_foreign & bit) == 0 && may_f) {
            vl_log(VL_LOG_WARN, "peer_network_differs",
                   "peer=%s reason=\"it answers vote requests WRONG_NETWORK: it runs another "
                   "genesis; left out of the quorum count until it votes\"",
                   d->g->nodes[p].id);
            d->foreign_logged_ms[p] = now;
            d->voters_foreign |= bit;
        } else if ((foreign & bit) == 0 && (d->voters_foreign & bit) != 0) {
            vl_log(VL_LOG_INFO, "peer_network_agrees", "peer=%s", d->g->nodes[p].id);
            d->voters_foreign &= ~bit;
        }
        if ((asking & bit) != 0 && (d->peers_asking_foreign & bit) == 0 && may_a) {
            vl_log(VL_LOG_ERROR, "network_differs",
                   "peer=%s network_id=%s... reason=\"%s asks this node's vote on orders of "
                   "another network: one of the two genesis files differs (more than max_faulty "
                   "peers saying so: this node's; compare the genesis files)\"",
                   d->g->nodes[p].id, id_hex, d->g->nodes[p].id);
            d->asking_logged_ms[p] = now;
            d->peers_asking_foreign |= bit;
        } else if ((asking & bit) == 0 && (d->peers_asking_foreign & bit) != 0) {
            vl_log(VL_LOG_INFO, "network_agrees", "peer=%s", d->g->nodes[p].id);
            d->peers_asking_foreign &= ~bit;
        }
    }
}

/* vl_core.c note 28: a peer that proved itself faulty, logged when its
 * bad inputs grow, at most once a minute per peer. */
static void faulty_events(vl_daemon *d)
{
    uint64_t now = now_ms(CLOCK_MONOTONIC);
    for (uint16_t p = 0; p < d->g->node_count && p < VL_MAX_NODES; p++) {
        bool penalized;
        uint64_t bad = vl_core_peer_faults(d->core, p, &penalized);
        if (bad == d->faulty_seen[p] ||
            (d->faulty_logged_ms[p] != 0 && now - d->faulty_logged_ms[p] < VL_NODE_CLOCK_LOG_MS))
            continue;
        vl_log(VL_LOG_ERROR, "peer_faulty",
               "peer=%s bad_inputs=%llu new=%llu ignoring=%s reason=\"its vote requests carry "
               "orders whose signatures do not verify (or that do not decode), which an honest "
               "coordinator never sends; its vote requests are dropped unread for %u s after "
               "each badly signed one\"",
               d->g->nodes[p].id, (unsigned long long)bad,
               (unsigned long long)(bad - d->faulty_seen[p]), penalized ? "yes" : "no",
               (unsigned)(VL_PEER_PENALTY_MS / 1000u));
        d->faulty_seen[p] = bad;
        d->faulty_logged_ms[p] = now;
    }
}

/* The event loop, until a signal (0) or a fatal error (-1). */
static int run_loop(vl_daemon *d)
{
    zmq_pollitem_t items[2 + VL_MAX_NODES];
    int k = vl_net_poll_items(&d->net, items, (int)(sizeof items / sizeof items[0]));
    d->stats_logged_ms = now_ms(CLOCK_MONOTONIC);
    while (stop_signal == 0) {
        if (vl_zap_failed(d->zap)) {
            vl_log(VL_LOG_ERROR, "fatal",
                   "reason=\"the ZAP handler failed: refusing peer connections and stopping\"");
            return -1;
        }
        size_t n;
        if (d->next_n > 0) { /* note 9: received during the last commit */
            n = take_next(d);
        } else {
            if (zmq_poll(items, k, VL_NODE_POLL_MS) < 0 && errno != EINTR) {
                vl_log(VL_LOG_ERROR, "fatal", "reason=\"zmq_poll: %s\"", zmq_strerror(errno));
                return -1;
            }
            n = gather(d, d->msgs, d->in);
        }
        vl_net_monitor_events(&d->net);
        vl_net_backlog_events(&d->net);
        if (run_step(d, n) != 0)
            return -1;
        clock_events(d);
        network_events(d);
        faulty_events(d);
        uint64_t now = now_ms(CLOCK_MONOTONIC);
        if (now - d->stats_logged_ms >= VL_NODE_STATS_EVERY_MS) {
            log_stats(d, VL_LOG_INFO);
            d->stats_logged_ms = now;
        }
        if (now - d->readers_checked_ms >= VL_NODE_READER_CHECK_EVERY_MS) {
            uint32_t cleared = 0; /* a reader killed while we run (note 3) */
            if (vl_core_check_readers(d->core, &cleared) == VL_OK && cleared > 0)
                vl_log(VL_LOG_WARN, "stale_readers_cleared", "count=%u when=running",
                       (unsigned)cleared);
            d->readers_checked_ms = now;
        }
        if (data_check_tick(d, now) != 0)
            return -1;
    }
    return 0;
}

/* Note 6: VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS, a positive decimal. */
static void test_hooks_read(vl_daemon *d)
{
    const char *s = getenv("VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS");
    if (s == NULL)
        return;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n == 0) {
        vl_log(VL_LOG_WARN, "test_hook_ignored",
               "name=VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS reason=\"not a positive number\"");
        return;
    }
    d->test_kill_after = n;
    vl_log(VL_LOG_WARN, "test_hook", "name=VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS value=%llu", n);
}

static int run_daemon(vl_daemon *d)
{
    char err[512], q[600];
    vl_log_init(d->cfg.node_id, d->cfg.log_level);
    signals_setup(true);
    log_started(d);
    test_hooks_read(d);
    vl_err e = daemon_start(d, err, sizeof err);
    if (e != VL_OK) {
        vl_log(VL_LOG_ERROR, "fatal", "error=%s code=%d msg=%s", vl_err_slug(e), (int)e,
               vl_log_quote(q, sizeof q, err));
        if (e == VL_ERR_CORRUPT) /* consensus/vl_check.c note 1 */
            vl_log(VL_LOG_ERROR, "data_damaged",
                   "hint=\"the data is lost: keep the file as evidence and rebuild the node "
                   "from its backup or empty, as an observer (docs/operations.md, A data file "
                   "damaged on disk)\"");
        daemon_stop(d);
        return EXIT_FAIL;
    }
    /* The role the core acts in: a data directory restored from a backup
     * (voucherctl restore) keeps a stored observer flag that neither the
     * genesis nor the configuration shows, so `started` cannot know it. */
    vl_core_get_storage(d->core, &d->storage); /* note 3 */
    vl_log(VL_LOG_INFO, "storage",
           "map_size_bytes=%llu map_used_bytes=%llu free_bytes=%lld stale_readers_cleared=%u",
           (unsigned long long)d->storage.map_size_bytes,
           (unsigned long long)d->storage.map_used_bytes, data_dir_free(d),
           (unsigned)d->storage.stale_readers_cleared);
    if (d->storage.stale_readers_cleared > 0)
        vl_log(VL_LOG_WARN, "stale_readers_cleared", "count=%u when=start",
               (unsigned)d->storage.stale_readers_cleared);
    if (d->storage.checked || d->cfg.check_data_at_start) { /* a new directory: nothing to read */
        data_checked(d, d->storage.checked_records, d->storage.check_ms);
        vl_log(VL_LOG_INFO, "data_checked", "records=%llu bytes=%llu ms=%llu when=start%s",
               (unsigned long long)d->storage.checked_records,
               (unsigned long long)d->storage.checked_bytes,
               (unsigned long long)d->storage.check_ms,
               d->storage.checked ? "" : " new=true");
    }
    d->check_due_ms = now_ms(CLOCK_MONOTONIC) + d->cfg.check_data_every_s * 1000u; /* note 10 */
    if (d->storage.upgraded_slots > 0)
        vl_log(VL_LOG_INFO, "schema_upgraded", "from=1 to=2 slots_moved=%llu",
               (unsigned long long)d->storage.upgraded_slots);
    vl_core_stats st;
    vl_core_get_stats(d->core, &st);
    vl_log(VL_LOG_INFO, "ready", "peer_endpoint=%s client_endpoint=%s role=%s",
           d->g->nodes[d->self].peer_endpoint, d->g->nodes[d->self].client_endpoint,
           (st.status.flags & VL_STATUS_VOTER) != 0 ? "voter" : "observer");
    signals_setup(false);
    int rc = run_loop(d);
    vl_log(VL_LOG_INFO, "stopping", "signal=%s", stop_signal == SIGTERM  ? "SIGTERM"
                                                 : stop_signal == SIGINT ? "SIGINT"
                                                                         : "none");
    log_stats(d, VL_LOG_INFO);
    daemon_stop(d);
    vl_log(VL_LOG_INFO, "stopped", "exit=%d", rc == 0 ? EXIT_OK : EXIT_FAIL);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ---- command line -------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: voucherd --config FILE [--check]\n"
               "       voucherd --version\n"
               "Run a voucher-ledger node (docs/voucherd.md). --check validates the\n"
               "configuration, the genesis and the key file, and exits 0 (valid) or 1.\n");
}

/* --check: what was validated, on stdout. */
static int report_check(const vl_daemon *d)
{
    char id_hex[65];
    vl_hex_encode(id_hex, d->g->network_id, 32);
    const vl_gen_node *me = &d->g->nodes[d->self];
    printf("ok: node %s (index %u, %s%s) of network \"%s\" (id %s, %u voters, quorum %u)\n",
           me->id, (unsigned)d->self, me->role == VL_ROLE_VOTER ? "voter" : "observer",
           d->cfg.observer ? ", forced observer" : "", d->g->network, id_hex,
           (unsigned)d->g->voter_count, (unsigned)d->g->quorum);
    printf("peer %s, client %s, data %s\n",
           d->cfg.peer_bind[0] != '\0' ? d->cfg.peer_bind : me->peer_endpoint,
           d->cfg.client_bind[0] != '\0' ? d->cfg.client_bind : me->client_endpoint,
           d->cfg.data_dir);
    if (d->cfg.metrics_bind[0] != '\0')
        printf("metrics http://%s/metrics\n", d->cfg.metrics_bind);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    /* A walk of the data file, started by this program (vl_check.c note 5). */
    if (argc > 1 && strcmp(argv[1], VL_CHECK_CHILD_ARG) == 0)
        return vl_store_check_child_main(argc, argv);
    vl_store_check_exec("/proc/self/exe", "voucherd");
    const char *config = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("voucherd %s (wire protocol %d, libzmq %d.%d.%d)\n", VOUCHERD_VERSION,
                   VL_WIRE_VERSION, ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && config == NULL) {
            config = argv[++i];
        } else {
            fprintf(stderr, "voucherd: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (config == NULL) {
        usage(stderr);
        return EXIT_USAGE;
    }
    static vl_daemon d; /* the genesis inside is large: not on the stack */
    char err[600];
    d.g = calloc(1, sizeof *d.g);
    if (d.g == NULL) {
        fprintf(stderr, "voucherd: out of memory\n");
        return EXIT_FAIL;
    }
    vl_err e = vl_node_config_load(&d.cfg, config, err, sizeof err);
    if (e == VL_OK)
        e = vl_node_identity_load(&d.cfg, d.g, &d.key, &d.self, err, sizeof err);
    int rc;
    if (e != VL_OK) {
        fprintf(stderr, "voucherd: %s (%s)\n", err, vl_err_slug(e));
        rc = EXIT_FAIL;
    } else {
        rc = check ? report_check(&d) : run_daemon(&d);
    }
    vl_keyfile_wipe(&d.key);
    free(d.g);
    return rc;
}
