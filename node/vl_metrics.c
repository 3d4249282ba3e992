/* vl_metrics.c - see vl_metrics.h.
 *
 * DESIGN NOTES
 *
 *  1. Two threads share one thing: `published`, under `lock`.  The loop
 *     writes it (vl_metrics_publish: one struct copy); the HTTP thread
 *     copies it out and formats outside the lock.  Nothing else is shared:
 *     the HTTP thread never sees the core, LMDB, ZeroMQ or the log.
 *
 *  2. We bind the listening socket ourselves and hand it to libmicrohttpd
 *     (MHD_OPTION_LISTEN_SOCKET), so that a port in use is reported with
 *     its errno ("cannot bind the metrics endpoint 127.0.0.1:9100: Address
 *     already in use") and the daemon refuses to start: an operator who
 *     configured metrics_bind wants it, so running without is wrong.
 *     MHD_stop_daemon closes that socket.
 *
 *  3. Bounds: VL_METRICS_MAX_CONNS connections, VL_METRICS_TIMEOUT_S idle
 *     seconds each, libmicrohttpd's default per-connection memory limit
 *     for the request, and a VL_METRICS_MAX_BODY response built in a stack
 *     buffer.  Only GET and HEAD of /metrics and /healthz are answered;
 *     anything else is 404 (a request body is never read).
 *
 *  4. The exposition (text format 0.0.4): every metric has # HELP and
 *     # TYPE; names start with voucher_; counters end in _total; the step
 *     histogram is in seconds (Prometheus base units) from microsecond
 *     observations, printed with 6 decimals so no precision is lost.
 */
#include "vl_metrics.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vl_wire.h"

struct vl_metrics {
    struct MHD_Daemon *mhd;
    pthread_mutex_t lock;
    vl_metrics_snapshot published; /* under lock */
};

/* Upper bounds of the buckets (note 4). */
static const uint64_t step_bounds_us[VL_METRICS_STEP_BUCKETS] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
    2500000, 10000000};
static const uint64_t batch_bounds[VL_METRICS_BATCH_BUCKETS] = {1,    4,    16,    64,   256,
                                                                1024, 4096, 16384, 65536};

/* ---- bind address ---------------------------------------------------------------------- */

int vl_metrics_parse_bind(const char *s, struct sockaddr_storage *addr, socklen_t *addr_len,
                          const char **why)
{
    assert(s != NULL && addr != NULL && addr_len != NULL && why != NULL);
    char host[VL_METRICS_BIND_MAX + 1];
    size_t len = strlen(s);
    const char *colon = strrchr(s, ':');
    *why = "must be \"host:port\": an IPv4 address or a [bracketed] IPv6 address, and a port "
           "1..65535";
    if (len == 0 || len > VL_METRICS_BIND_MAX || colon == NULL || colon == s)
        return -1;
    const char *p = colon + 1;
    unsigned long port = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        port = port * 10u + (unsigned long)(*p - '0');
    if (*p != '\0' || digits == 0 || port == 0 || port > 65535)
        return -1;
    size_t host_len = (size_t)(colon - s);
    memset(addr, 0, sizeof *addr);
    if (s[0] == '[') {
        if (host_len < 3 || s[host_len - 1] != ']')
            return -1;
        memcpy(host, s + 1, host_len - 2);
        host[host_len - 2] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return -1;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *addr_len = sizeof *a6;
        return 0;
    }
    memcpy(host, s, host_len);
    host[host_len] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return -1;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *addr_len = sizeof *a4;
    return 0;
}

/* ---- histograms ------------------------------------------------------------------------ */

static void observe(vl_metrics_histogram *h, const uint64_t *bounds, size_t n, uint64_t v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    h->bucket[i]++; /* i == n: +Inf */
    h->count++;
    h->sum += v;
}

void vl_metrics_observe_step(vl_metrics_snapshot *s, uint64_t step_us, size_t inputs)
{
    assert(s != NULL);
    if (inputs == 0)
        return;
    observe(&s->step_us, step_bounds_us, VL_METRICS_STEP_BUCKETS, step_us);
    observe(&s->batch, batch_bounds, VL_METRICS_BATCH_BUCKETS, (uint64_t)inputs);
}

/* ---- formatting ------------------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t cap, len;
    bool overflow;
} writer;

__attribute__((format(printf, 2, 3))) static void put(writer *w, const char *fmt, ...)
{
    if (w->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) {
        w->overflow = true;
        return;
    }
    w->len += (size_t)n;
}

static void head(writer *w, const char *name, const char *type, const char *help)
{
    put(w, "# HELP voucher_%s %s\n# TYPE voucher_%s %s\n", name, help, name, type);
}

/* One unlabelled sample with its HELP and TYPE. */
static void metric(writer *w, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    head(w, name, type, help);
    put(w, "voucher_%s %llu\n", name, (unsigned long long)v);
}

/* A counter by socket: {socket="peer"} and {socket="client"}. */
static void by_socket(writer *w, const char *name, const char *help, uint64_t peer,
                      uint64_t client)
{
    head(w, name, "counter", help);
    put(w, "voucher_%s{socket=\"peer\"} %llu\nvoucher_%s{socket=\"client\"} %llu\n", name,
        (unsigned long long)peer, name, (unsigned long long)client);
}

/* One sample per peer (this node left out): {peer="ID"}. */
static void peer_counts(writer *w, const vl_metrics_snapshot *s, const char *name,
                        const char *type, const char *help, const uint64_t *v)
{
    head(w, name, type, help);
    for (uint32_t i = 0; i < s->peer_count && i < VL_MAX_NODES; i++)
        if (i != s->self_index && s->peer_id[i] != NULL)
            put(w, "voucher_%s{peer=\"%s\"} %llu\n", name, s->peer_id[i],
                (unsigned long long)v[i]);
}

/* Bounds and sum are printed as value / scale with 6 decimals (scale 1e6
 * turns microseconds into seconds) or as integers (scale 1). */
static void put_scaled(writer *w, uint64_t v, uint64_t scale)
{
    if (scale == 1)
        put(w, "%llu", (unsigned long long)v);
    else
        put(w, "%llu.%06llu", (unsigned long long)(v / scale),
            (unsigned long long)(v % scale * 1000000u / scale));
}

static void histogram(writer *w, const char *name, const char *help,
                      const vl_metrics_histogram *h, const uint64_t *bounds, size_t n,
                      uint64_t scale)
{
    uint64_t cum = 0;
    head(w, name, "histogram", help);
    for (size_t i = 0; i < n; i++) {
        cum += h->bucket[i];
        put(w, "voucher_%s_bucket{le=\"", name);
        put_scaled(w, bounds[i], scale);
        put(w, "\"} %llu\n", (unsigned long long)cum);
    }
    put(w, "voucher_%s_bucket{le=\"+Inf\"} %llu\nvoucher_%s_sum ", name,
        (unsigned long long)h->count, name);
    put_scaled(w, h->sum, scale);
    put(w, "\nvoucher_%s_count %llu\n", name, (unsigned long long)h->count);
}

static void format_counters(writer *w, const vl_metrics_snapshot *s)
{
    metric(w, "orders_submitted_total", "counter",
           "Client SUBMIT requests received (before validation).", s->orders_submitted);
    metric(w, "client_requests_total", "counter", "Client requests passed to the core.",
           s->client_requests);
    metric(w, "peer_messages_total", "counter", "Peer messages passed to the core.",
           s->peer_messages);
    metric(w, "certificates_formed_total", "counter",
           "Certificates this node formed as coordinator.", s->certs_formed);
    metric(w, "certificates_sent_before_commit_total", "counter",
           "Formed certificates whose replies left before their step's commit (all votes "
           "durable already).",
           s->certs_early);
    metric(w, "certificates_applied_total", "counter", "Certificates applied to the state.",
           s->certs_applied);
    metric(w, "votes_sent_total", "counter", "Orders this node voted on.", s->votes_sent);
    metric(w, "bad_inputs_total", "counter", "Malformed or invalid inputs the core refused.",
           s->bad_inputs);
    metric(w, "sync_entries_skipped_total", "counter",
           "Peers' log entries passed by their summaries (certificate held already).",
           s->sync_skipped);
    metric(w, "sync_entries_pulled_total", "counter",
           "Peers' log entries pulled whole by log sync (news, or held and re-checked).",
           s->sync_pulled);
    metric(w, "vote_requests_widened_total", "counter",
           "New orders this node coordinated that it asked of more voters than its first "
           "q - 1 (one refused, was behind, or did not answer in time).",
           s->votes_widened);
    by_socket(w, "messages_malformed_total", "Messages of more than one payload frame, dropped.",
              s->peer_malformed, s->client_malformed);
    metric(w, "peer_messages_unauthenticated_total", "counter",
           "Peer messages without a valid ZAP user id, dropped.", s->peer_unauth);
    by_socket(w, "messages_dropped_total",
              "Sends that could not be queued (full or unconnected pipe), dropped.",
              s->peer_drops, s->client_drops);
    metric(w, "client_replies_unroutable_total", "counter",
           "Replies whose client was no longer remembered.", s->client_gone);
    metric(w, "zap_admitted_total", "counter", "Peer connections the ZAP handler admitted.",
           s->zap_admitted);
    metric(w, "zap_refused_total", "counter", "Peer connections the ZAP handler refused.",
           s->zap_refused);
    metric(w, "steps_failed_total", "counter",
           "Steps (LMDB transactions) that failed, other than for lack of space.",
           s->steps_failed);
    metric(w, "steps_refused_total", "counter",
           "Steps answered read-only because the disk or the LMDB map was full.",
           s->steps_refused);
    metric(w, "lmdb_map_grown_total", "counter", "Times the LMDB map doubled.", s->map_grows);
    metric(w, "lmdb_reopened_total", "counter",
           "Times the LMDB environment was reopened after LMDB marked it fatal.",
           s->storage_reopens);
    metric(w, "lmdb_prefilled_bytes_total", "counter",
           "Zero bytes written past LMDB's pages, ahead of it, so that the data file's page "
           "cache stays in single pages (prefill_data_file).",
           s->prefilled_bytes);
    metric(w, "data_checks_total", "counter",
           "Walks of the whole data file (at start and every check_data_every_s) that found it "
           "sound; one that finds damage stops the node.",
           s->data_checks);
    metric(w, "data_checked_timestamp_seconds", "gauge",
           "When the last walk that found the data file sound ended (unix seconds; 0: none).",
           s->data_checked_unix);
    metric(w, "data_check_records", "gauge", "Records of all tables the last sound walk read.",
           s->data_check_records);
    metric(w, "prevalidated_signatures_total", "counter",
           "Client and certificate signatures the verification pool (verify_threads) found "
           "valid before the step, so that the core's own checks hit its cache.",
           s->prevalidated_sigs);
    metric(w, "batches_received_during_commit_total", "counter",
           "Batches received while the previous step's commit ran, their signatures checked "
           "by the verification pool meanwhile (verify_threads > 1).",
           s->early_batches);
}

static void format_gauges(writer *w, const vl_metrics_snapshot *s)
{
    uint8_t f = s->status_flags;
    metric(w, "log_head", "gauge", "Index of the last entry of this node's log.", s->log_head);
    metric(w, "accounts", "gauge", "Accounts (vouchers) in the state.", s->accounts);
    metric(w, "pending_locks", "gauge", "Votes cast and not yet certified.", s->pending_locks);
    metric(w, "pending_certificates", "gauge", "Certificates waiting for a gap to fill.",
           s->pending_certs);
    metric(w, "fork_evidence", "gauge", "Fork evidence records held.", s->forks);
    metric(w, "peers_connected", "gauge", "Peers heard from within 3 sync intervals.",
           s->peers_connected);
    metric(w, "quorum", "gauge", "Voters a certificate needs (genesis).", s->quorum);
    metric(w, "voter", "gauge", "1 if this node votes.", (f & VL_STATUS_VOTER) != 0);
    metric(w, "genesis_voter", "gauge",
           "1 if the genesis lists this node as a voter (with voucher_voter 0: it runs as an "
           "observer, and the network tolerates one crash less).",
           s->genesis_voter);
    metric(w, "voters_heard", "gauge",
           "Voters that vote heard from within 3 sync intervals, this node included if it "
           "votes; those counted by voucher_voters_observing are left out.",
           s->voters_heard);
    metric(w, "voters_observing", "gauge",
           "Genesis voters known to run as observers: this node if so, and peers whose last "
           "answer to a vote request was NOT_VOTER (only observers answer so).",
           s->voters_observing);
    metric(w, "voters_foreign", "gauge",
           "Genesis voters whose last answer to a vote request was WRONG_NETWORK: they run "
           "another genesis, and voucher_voters_heard leaves them out.",
           s->voters_foreign);
    metric(w, "peers_asking_other_network", "gauge",
           "Peers whose last vote request was for orders of another network: this node's "
           "genesis likely differs from theirs.",
           s->peers_asking_foreign);
    metric(w, "quorum_reachable", "gauge",
           "1 if voucher_voters_heard reaches voucher_quorum: a certificate can form.",
           (f & VL_STATUS_IN_QUORUM) != 0);
    metric(w, "read_only", "gauge", "1 while the node refuses writes for lack of space.",
           (f & VL_STATUS_READ_ONLY) != 0);
    head(w, "writes_refused", "gauge",
         "1 while the node refuses writes, by reason: disk_full or map_full.");
    put(w, "voucher_writes_refused{reason=\"disk_full\"} %d\n"
           "voucher_writes_refused{reason=\"map_full\"} %d\n",
        s->write_refused == VL_ERR_DISK_FULL, s->write_refused == VL_ERR_MAP_FULL);
    metric(w, "syncing", "gauge", "1 while this node is catching up with a peer's log.",
           (f & VL_STATUS_SYNCING) != 0);
    peer_counts(w, s, "peer_bad_inputs_total", "counter",
                "Inputs from a peer that prove it faulty or were dropped for it: badly signed "
                "or undecodable orders in its vote requests, and its vote requests dropped "
                "unread while it is penalized (vl_core.c note 28).",
                s->peer_bad_inputs);
    peer_counts(w, s, "peer_send_queue_bytes", "gauge",
                "Bytes queued to a peer that it has not taken yet; at "
                "voucher_peer_send_queue_limit_bytes sends to it drop (event=peer_backlog).",
                s->peer_queued);
    metric(w, "peer_send_queue_limit_bytes", "gauge",
           "Bytes queued to one peer before sends to it drop (peer_queue_mb).",
           s->peer_queue_max);
    peer_counts(w, s, "peer_sends_dropped_queue_full_total", "counter",
                "Sends to a peer dropped because its queue had no room for them (it resyncs).",
                s->peer_queue_full);
    peer_counts(w, s, "peer_page_requests_dropped_total", "counter",
                "A peer's requests for pages of the log, of summaries or of an account not "
                "answered because its queue had no room for the reply.",
                s->peer_requests_unread);
    metric(w, "peers_penalized", "gauge",
           "Peers whose vote requests are dropped unread now: they sent badly signed orders in "
           "the last 10 s (event=peer_faulty).",
           s->peers_penalized);
    head(w, "peer_clock_offset_seconds", "gauge",
         "How far a peer's clock is ahead of this node's (negative: behind), measured from "
         "the times in its log; peers not measured yet are absent.");
    for (uint32_t i = 0; i < s->clock_peer_count && i < VL_MAX_NODES; i++) {
        int64_t v = s->clock_offset_ms[i];
        uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        put(w, "voucher_peer_clock_offset_seconds{peer=\"%s\"} %s%llu.%03llu\n",
            s->clock_peer_id[i], v < 0 ? "-" : "", (unsigned long long)(a / 1000u),
            (unsigned long long)(a % 1000u));
    }
    head(w, "peer_vote_latency_seconds", "gauge",
         "How long a voter takes to vote on the orders this node coordinates (a moving "
         "average); a far voter is asked less (consensus/vl_core.c note 21). Voters not "
         "measured yet are absent.");
    for (uint32_t i = 0; i < s->peer_count && i < VL_MAX_NODES; i++)
        if (i != s->self_index && s->peer_id[i] != NULL && s->vote_ms_known[i])
            put(w, "voucher_peer_vote_latency_seconds{peer=\"%s\"} %u.%03u\n", s->peer_id[i],
                s->vote_ms[i] / 1000u, s->vote_ms[i] % 1000u);
    metric(w, "lmdb_map_size_bytes", "gauge", "LMDB map size.", s->map_size_bytes);
    metric(w, "lmdb_map_used_bytes", "gauge", "LMDB pages in use, in bytes.",
           s->map_used_bytes);
}

size_t vl_metrics_format(const vl_metrics_snapshot *s, char *buf, size_t cap)
{
    assert(s != NULL && buf != NULL && cap > 0);
    writer w = {.buf = buf, .cap = cap};
    buf[0] = '\0';
    format_counters(&w, s);
    format_gauges(&w, s);
    histogram(&w, "step_duration_seconds",
              "Duration of steps with at least one message (one LMDB commit and fsync).",
              &s->step_us, step_bounds_us, VL_METRICS_STEP_BUCKETS, 1000000u);
    histogram(&w, "step_inputs", "Messages per step (steps with at least one).", &s->batch,
              batch_bounds, VL_METRICS_BATCH_BUCKETS, 1);
    if (w.overflow) {
        buf[0] = '\0';
        return 0;
    }
    return w.len;
}

bool vl_metrics_health(const vl_metrics_snapshot *s, char *reason, size_t cap)
{
    assert(s != NULL && reason != NULL && cap > 0);
    uint8_t f = s->status_flags;
    if (!s->started)
        snprintf(reason, cap, "starting");
    else if (s->write_refused == VL_ERR_DISK_FULL)
        snprintf(reason, cap, "read-only: disk full; not accepting writes, serving reads");
    else if (s->write_refused == VL_ERR_MAP_FULL)
        snprintf(reason, cap,
                 "read-only: the LMDB map cannot grow; not accepting writes, serving reads");
    else if ((f & VL_STATUS_READ_ONLY) != 0)
        snprintf(reason, cap, "read-only: disk full (or the LMDB map cannot grow)");
    else if (s->last_step_error != 0) /* before quorum: its peers hear nothing of it either */
        snprintf(reason, cap,
                 "steps failing: the latest failed with error=%s, so this node answers "
                 "nothing of its inputs (event=step_failed in the log; error=corrupt: the data "
                 "file is damaged, docs/operations.md 7)",
                 vl_err_slug((vl_err)s->last_step_error));
    else if (s->peers_asking_foreign > s->max_faulty) /* vl_core.c note 27: one peer may lie */
        snprintf(reason, cap,
                 "genesis differs from its peers': %u peer(s) ask votes on orders of another "
                 "network (event=network_differs in the log; compare the genesis files)",
                 (unsigned)s->peers_asking_foreign);
    else if ((f & VL_STATUS_IN_QUORUM) == 0)
        snprintf(reason, cap,
                 "up but not in quorum: %u voter(s) that vote heard from recently (this node "
                 "included if it votes; %u run as observers, %u another genesis; %llu peer(s) "
                 "heard in all); a certificate needs %u voters",
                 (unsigned)s->voters_heard, (unsigned)s->voters_observing,
                 (unsigned)s->voters_foreign, (unsigned long long)s->peers_connected,
                 (unsigned)s->quorum);
    else if ((f & VL_STATUS_SYNCING) != 0)
        snprintf(reason, cap, "catching up (log_head %llu)", (unsigned long long)s->log_head);
    else {
        snprintf(reason, cap, "healthy");
        return true;
    }
    return false;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code,
                             const char *content_type, const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    enum MHD_Result ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (ok == MHD_YES)
        ok = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    vl_metrics *m = cls;
    static const char text[] = "text/plain; charset=utf-8";
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
               strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    bool is_metrics = get && strcmp(url, "/metrics") == 0;
    bool is_health = get && strcmp(url, "/healthz") == 0;
    if (!is_metrics && !is_health)
        return reply(conn, MHD_HTTP_NOT_FOUND, text, "not found\n", 10);
    vl_metrics_snapshot s;
    pthread_mutex_lock(&m->lock);
    s = m->published;
    pthread_mutex_unlock(&m->lock);
    if (is_health) {
        char reason[256];
        bool ok = vl_metrics_health(&s, reason, sizeof reason - 1);
        size_t n = strlen(reason);
        reason[n++] = '\n';
        return reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, text, reason, n);
    }
    char body[VL_METRICS_MAX_BODY];
    size_t n = vl_metrics_format(&s, body, sizeof body);
    if (n == 0)
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text, "metrics too large\n", 18);
    return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, n);
}

/* ---- start and stop -------------------------------------------------------------------- */

/* Note 2: a non-blocking listening socket at bind_addr, or -1 with err. */
static int listen_at(const char *bind_addr, char *err, size_t cap, vl_err *e)
{
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    const char *why;
    if (vl_metrics_parse_bind(bind_addr, &addr, &addr_len, &why) != 0) {
        snprintf(err, cap, "metrics_bind \"%.64s\": %s", bind_addr, why);
        *e = VL_ERR_USAGE;
        return -1;
    }
    *e = VL_ERR_IO;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, cap, "cannot bind the metrics endpoint %s: socket: %s", bind_addr,
                 strerror(errno));
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0 ||
        listen(fd, (int)VL_METRICS_MAX_CONNS) != 0) {
        snprintf(err, cap, "cannot bind the metrics endpoint %s: %s", bind_addr,
                 strerror(errno));
        *e = VL_ERR_USAGE; /* the configuration's fault, as vl_net.c bind_fail */
        close(fd);
        return -1;
    }
    return fd;
}

vl_err vl_metrics_start(vl_metrics **out, const char *bind_addr, char *err, size_t err_cap)
{
    assert(out != NULL && bind_addr != NULL && err != NULL && err_cap > 0);
    *out = NULL;
    vl_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, err_cap, "out of memory");
        return VL_ERR_NOMEM;
    }
    vl_err e;
    int fd = listen_at(bind_addr, err, err_cap, &e);
    if (fd < 0) {
        free(m);
        return e;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, on_request, m,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)VL_METRICS_MAX_CONNS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)VL_METRICS_TIMEOUT_S, MHD_OPTION_END);
    if (m->mhd == NULL) {
        snprintf(err, err_cap, "cannot start the metrics HTTP server at %s (libmicrohttpd)",
                 bind_addr);
        close(fd);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return VL_ERR_IO;
    }
    *out = m;
    return VL_OK;
}

void vl_metrics_stop(vl_metrics **mp)
{
    if (mp == NULL || *mp == NULL)
        return;
    vl_metrics *m = *mp;
    MHD_stop_daemon(m->mhd); /* joins the thread, closes the listening socket */
    pthread_mutex_destroy(&m->lock);
    free(m);
    *mp = NULL;
}

void vl_metrics_publish(vl_metrics *m, const vl_metrics_snapshot *s)
{
    assert(s != NULL);
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->published = *s;
    pthread_mutex_unlock(&m->lock);
}
