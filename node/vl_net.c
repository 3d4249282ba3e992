/* vl_net.c - see vl_net.h.
 *
 * Receiving.  A ROUTER delivers [routing id][payload].  Protocol messages
 * are one frame each (docs/protocol.md 7), so a message with more frames
 * is malformed: it is dropped and counted (no reply: which frame would be
 * the request?).  ZeroMQ delivers the frames of a message atomically, so
 * the rest of a malformed message is already queued; it is discarded at
 * most VL_NET_DISCARD_MAX frames per call, and `skip_*` remembers that a
 * message is being discarded across calls.
 *
 * Peer authentication.  The sender of a peer message is the ZAP user id
 * the handler gave its connection ("User-Id" property).  A message without
 * one (a handshake that somehow bypassed ZAP) is dropped: the core checks
 * the body's `from` against it and never sees an unauthenticated message.
 *
 * Peer send queues.  libzmq bounds a pipe in messages (ZMQ_SNDHWM), and a
 * peer message may be 16 MiB: a peer holding a genesis key that asks for
 * pages of the log or of a busy account and reads slowly enough to keep
 * its link up (a byzantine walk did) makes this node queue up to
 * VL_NET_SNDHWM replies of up to VL_LIST_BUDGET, 15.5 GB in that walk.
 * So each peer message is handed to libzmq in a buffer of ours
 * (zmq_msg_init_data), and a meter counts the bytes each peer has queued:
 * up when the message is sent, down in the free function that libzmq
 * calls once its I/O thread has taken the message off the pipe (for the
 * wire: CURVE encrypts it into a message of its own; or when the pipe is
 * dropped with its connection, or the send failed).  A socket runs the
 * teardown of a dropped pipe only when it is called, and a peer whose
 * queue is full gets no more sends, so vl_net_backlog_events calls its
 * socket for it: it must run every loop iteration.
 *
 * A message is queued only if the peer's queue is empty or the message
 * fits under the bound: peer_queue_max for messages to that peer alone
 * (votes, replies), half of it for broadcasts (certificates), so that a
 * stream of broadcasts to a slow peer leaves room for the pages it asks
 * for.  What does not fit is dropped (as at the HWM: the peer resyncs).
 * Pages are bounded before they are built: before each step voucherd gives
 * the core each peer's room (vl_net_reply_room; consensus/vl_core.c note
 * 16), and a page request that arrives when the room is below
 * VL_CORE_REPLY_MIN is discarded unread here, so that a peer that does not
 * read costs neither memory nor the work of gathering its pages, even when
 * it sends a thousand requests at once.  What a slow peer can pin is then
 * peer_queue_max (or one larger message), plus the message libzmq is
 * encrypting and sending (up to 16 MiB) and the kernel's socket buffer.
 * The free function runs on any thread (libzmq's I/O thread, the reaper
 * after vl_net_close, or ours when a send fails or the socket tears down a
 * dropped pipe): the meter is atomic and counted by reference, one for the
 * vl_net and one per message libzmq holds, and freed by the last.
 */
#include "vl_net.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_log.h"
#include "vl_wire.h"
#include "vl_zap.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
/* A draft option in libzmq 4.3's header, implemented by the library
 * (docs/voucherd.md, "Peer authentication"). */
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* Frames discarded per call from a malformed message. */
#define VL_NET_DISCARD_MAX 4096u
/* Malformed messages skipped per receive call before yielding. */
#define VL_NET_SKIP_MAX 64u
/* Monitor events read per peer per loop iteration. */
#define VL_NET_EVENTS_MAX 64u
#define VL_NET_RECONNECT_IVL_MS 100
#define VL_NET_RECONNECT_MAX_MS 2000
#define VL_NET_HEARTBEAT_IVL_MS 1000
#define VL_NET_HEARTBEAT_TIMEOUT_MS 5000

enum { PEER_UNKNOWN = 0, PEER_UP = 1, PEER_FAILED = 2, PEER_DOWN = 3 };

struct vl_net_meter {
    _Atomic uint64_t queued[VL_MAX_NODES]; /* bytes, per peer */
    atomic_uint refs;                      /* the vl_net's + one per message queued */
};

/* A peer message in libzmq's hands. */
typedef struct {
    vl_net_meter *meter;
    uint32_t peer;
    size_t len;
    uint8_t data[];
} queued_msg;

static void meter_release(vl_net_meter *m)
{
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        free(m);
}

/* libzmq's free function (any thread): the message left the pipe. */
static void queued_done(void *data, void *hint)
{
    (void)data;
    queued_msg *q = hint;
    atomic_fetch_sub_explicit(&q->meter->queued[q->peer], q->len, memory_order_relaxed);
    meter_release(q->meter);
    free(q);
}

static int set_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

static int common_opts(void *s)
{
    int64_t max = VL_MAX_MSG_BYTES;
    return set_int(s, ZMQ_LINGER, 0) | set_int(s, ZMQ_SNDHWM, VL_NET_SNDHWM) |
           set_int(s, ZMQ_RCVHWM, VL_NET_RCVHWM) |
           zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
}

static vl_err sock_fail(char *err, size_t cap, const char *what, const char *ep)
{
    snprintf(err, cap, "%s %s: %s", what, ep, zmq_strerror(errno));
    return VL_ERR_IO;
}

/* A socket that cannot be bound (a port in use, an address this machine
 * does not have) is the configuration's fault, not the disk's: "usage",
 * never the "io" an operator is told means a failed write. */
static vl_err bind_fail(char *err, size_t cap, const char *what, const char *ep)
{
    (void)sock_fail(err, cap, what, ep);
    return VL_ERR_USAGE;
}

static void log_listening(void *s, const char *which)
{
    char ep[256] = "";
    size_t len = sizeof ep;
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        snprintf(ep, sizeof ep, "?");
    vl_log(VL_LOG_INFO, "listening", "socket=%s endpoint=%s", which, ep);
}

static vl_err open_peer_router(vl_net *n, const vl_keyfile *key, const char *ep, char *err,
                               size_t cap)
{
    void *s = zmq_socket(n->ctx, ZMQ_ROUTER);
    n->peer_router = s;
    if (s == NULL || common_opts(s) != 0 || set_int(s, ZMQ_ROUTER_MANDATORY, 0) != 0 ||
        set_int(s, ZMQ_CURVE_SERVER, 1) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, key->curve_secret, 32) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, VL_ZAP_DOMAIN, strlen(VL_ZAP_DOMAIN)) != 0 ||
        set_int(s, ZMQ_HEARTBEAT_IVL, VL_NET_HEARTBEAT_IVL_MS) != 0 ||
        set_int(s, ZMQ_HEARTBEAT_TIMEOUT, VL_NET_HEARTBEAT_TIMEOUT_MS) != 0)
        return sock_fail(err, cap, "cannot set up the peer socket for", ep);
    /* Without a ZAP handler, libzmq would let CURVE clients in unchecked
     * ("Stonehouse") unless the domain is enforced.  The handler is bound
     * before this socket and messages need a valid User-Id anyway, so a
     * library without the option is still closed: say so and go on. */
    if (set_int(s, ZMQ_ZAP_ENFORCE_DOMAIN, 1) != 0)
        vl_log(VL_LOG_WARN, "zap_enforce_unavailable", "reason=\"%s\"", zmq_strerror(errno));
    if (zmq_bind(s, ep) != 0)
        return bind_fail(err, cap, "cannot bind the peer endpoint", ep);
    log_listening(s, "peer");
    return VL_OK;
}

static vl_err open_client_router(vl_net *n, const char *ep, char *err, size_t cap)
{
    void *s = zmq_socket(n->ctx, ZMQ_ROUTER);
    n->client_router = s;
    if (s == NULL || common_opts(s) != 0 || set_int(s, ZMQ_ROUTER_MANDATORY, 0) != 0 ||
        set_int(s, ZMQ_SNDHWM, VL_NET_CLIENT_SNDHWM) != 0)
        return sock_fail(err, cap, "cannot set up the client socket for", ep);
    if (zmq_bind(s, ep) != 0)
        return bind_fail(err, cap, "cannot bind the client endpoint", ep);
    log_listening(s, "client");
    return VL_OK;
}

static vl_err open_dealer(vl_net *n, const vl_keyfile *key, uint16_t p, char *err, size_t cap)
{
    const vl_gen_node *node = &n->g->nodes[p];
    char mon[64];
    void *s = zmq_socket(n->ctx, ZMQ_DEALER);
    n->dealers[p] = s;
    if (s == NULL || common_opts(s) != 0 || set_int(s, ZMQ_IMMEDIATE, 1) != 0 ||
        set_int(s, ZMQ_RECONNECT_IVL, VL_NET_RECONNECT_IVL_MS) != 0 ||
        set_int(s, ZMQ_RECONNECT_IVL_MAX, VL_NET_RECONNECT_MAX_MS) != 0 ||
        set_int(s, ZMQ_HEARTBEAT_IVL, VL_NET_HEARTBEAT_IVL_MS) != 0 ||
        set_int(s, ZMQ_HEARTBEAT_TIMEOUT, VL_NET_HEARTBEAT_TIMEOUT_MS) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, node->curve_pubkey, 32) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, key->curve_pubkey, 32) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, key->curve_secret, 32) != 0)
        return sock_fail(err, cap, "cannot set up the DEALER to", node->peer_endpoint);
    snprintf(mon, sizeof mon, "inproc://voucherd-monitor-%u", (unsigned)p);
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_DISCONNECTED;
    if (zmq_socket_monitor(s, mon, events) != 0)
        return sock_fail(err, cap, "cannot monitor the DEALER to", node->peer_endpoint);
    n->monitors[p] = zmq_socket(n->ctx, ZMQ_PAIR);
    if (n->monitors[p] == NULL || set_int(n->monitors[p], ZMQ_LINGER, 0) != 0 ||
        zmq_connect(n->monitors[p], mon) != 0)
        return sock_fail(err, cap, "cannot read the monitor of the DEALER to",
                         node->peer_endpoint);
    if (zmq_connect(s, node->peer_endpoint) != 0)
        return sock_fail(err, cap, "cannot connect to peer endpoint", node->peer_endpoint);
    return VL_OK;
}

vl_err vl_net_open(vl_net *n, void *ctx, const vl_genesis *g, uint16_t self,
                   const vl_keyfile *key, const char *peer_bind, const char *client_bind,
                   uint64_t peer_queue_max, char *err, size_t err_cap)
{
    assert(n != NULL && ctx != NULL && g != NULL && self < g->node_count && key != NULL);
    assert(key->has_curve && peer_queue_max > 0);
    memset(n, 0, sizeof *n);
    n->ctx = ctx;
    n->g = g;
    n->self = self;
    n->peer_queue_max = peer_queue_max;
    n->clients = calloc(VL_NET_CLIENT_TAGS, sizeof *n->clients);
    n->meter = malloc(sizeof *n->meter);
    if (n->meter != NULL) {
        for (uint32_t p = 0; p < VL_MAX_NODES; p++)
            atomic_init(&n->meter->queued[p], 0);
        atomic_init(&n->meter->refs, 1);
    }
    if (n->clients == NULL || n->meter == NULL) {
        free(n->clients);
        free(n->meter);
        n->clients = NULL;
        n->meter = NULL;
        snprintf(err, err_cap, "out of memory");
        return VL_ERR_NOMEM;
    }
    const vl_gen_node *me = &g->nodes[self];
    const char *pb = peer_bind != NULL && peer_bind[0] != '\0' ? peer_bind : me->peer_endpoint;
    const char *cb =
        client_bind != NULL && client_bind[0] != '\0' ? client_bind : me->client_endpoint;
    vl_err e = open_peer_router(n, key, pb, err, err_cap);
    if (e == VL_OK)
        e = open_client_router(n, cb, err, err_cap);
    for (uint16_t p = 0; e == VL_OK && p < g->node_count; p++) {
        if (p != self)
            e = open_dealer(n, key, p, err, err_cap);
    }
    if (e != VL_OK)
        vl_net_close(n);
    return e;
}

static void close_sock(void **s)
{
    if (*s != NULL) {
        set_int(*s, ZMQ_LINGER, 0);
        zmq_close(*s);
        *s = NULL;
    }
}

void vl_net_close(vl_net *n)
{
    /* The peer ROUTER first: nothing gets in once we are going down. */
    close_sock(&n->peer_router);
    close_sock(&n->client_router);
    for (uint32_t p = 0; p < VL_MAX_NODES; p++) {
        if (n->dealers[p] != NULL)
            (void)zmq_socket_monitor(n->dealers[p], NULL, 0);
        close_sock(&n->dealers[p]);
        close_sock(&n->monitors[p]);
    }
    free(n->clients);
    n->clients = NULL;
    if (n->meter != NULL) /* messages still queued hold it (see the top) */
        meter_release(n->meter);
    n->meter = NULL;
}

void vl_net_close_flushing(vl_net *n, int linger_ms)
{
    for (uint32_t p = 0; p < VL_MAX_NODES; p++) {
        if (n->dealers[p] == NULL)
            continue;
        (void)zmq_socket_monitor(n->dealers[p], NULL, 0);
        set_int(n->dealers[p], ZMQ_LINGER, linger_ms);
        zmq_close(n->dealers[p]);
        n->dealers[p] = NULL;
    }
    vl_net_close(n);
}

int vl_net_poll_items(vl_net *n, zmq_pollitem_t *items, int cap)
{
    assert(cap >= 2 + (int)n->g->node_count);
    int k = 0;
    items[k++] = (zmq_pollitem_t){.socket = n->peer_router, .events = ZMQ_POLLIN};
    items[k++] = (zmq_pollitem_t){.socket = n->client_router, .events = ZMQ_POLLIN};
    for (uint32_t p = 0; p < n->g->node_count; p++) {
        if (n->monitors[p] != NULL)
            items[k++] = (zmq_pollitem_t){.socket = n->monitors[p], .events = ZMQ_POLLIN};
    }
    return k;
}

/* ---- receiving ------------------------------------------------------------------------ */

/* Discard the rest of a multi-frame message.  0 when done, -1 when more
 * remains for a later call. */
static int discard_rest(void *s, bool *skip)
{
    for (unsigned i = 0; i < VL_NET_DISCARD_MAX; i++) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        int rc = zmq_msg_recv(&f, s, ZMQ_DONTWAIT);
        int more = rc >= 0 && zmq_msg_more(&f);
        zmq_msg_close(&f);
        if (rc < 0)
            return -1; /* cannot happen mid-message (atomic delivery); retry later */
        if (!more) {
            *skip = false;
            return 0;
        }
    }
    return -1;
}

/* One [routing id][payload] message.  1: got it (caller closes both);
 * 0: nothing to read; -1: a malformed message was dropped. */
static int recv_routed(void *s, bool *skip, zmq_msg_t *id, zmq_msg_t *payload)
{
    if (*skip && discard_rest(s, skip) != 0)
        return 0;
    zmq_msg_init(id);
    if (zmq_msg_recv(id, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(id);
        return 0;
    }
    int more = zmq_msg_more(id);
    zmq_msg_init(payload);
    if (!more || zmq_msg_recv(payload, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(payload);
        zmq_msg_close(id);
        return -1;
    }
    if (zmq_msg_more(payload)) {
        zmq_msg_close(payload);
        zmq_msg_close(id);
        *skip = true;
        (void)discard_rest(s, skip);
        return -1;
    }
    return 1;
}

uint64_t vl_net_reply_room(const vl_net *n, uint16_t p)
{
    uint64_t q = vl_net_peer_queued(n, p);
    return q < n->peer_queue_max ? n->peer_queue_max - q : 0;
}

/* A request answered with a page of the log or of an account (see the
 * top): what a peer that does not read must not get. */
static bool is_page_request(zmq_msg_t *msg)
{
    uint8_t type;
    if (vl_peek_type(zmq_msg_data(msg), zmq_msg_size(msg), &type) != VL_OK)
        return false; /* the core counts it as bad input */
    return type == VL_MSG_LOG_REQUEST || type == VL_MSG_SUMMARY_REQUEST ||
           type == VL_MSG_ACCOUNT_REQUEST;
}

int vl_net_recv_peer(vl_net *n, zmq_msg_t *msg, vl_input *in)
{
    for (unsigned i = 0; i < VL_NET_SKIP_MAX; i++) {
        zmq_msg_t id;
        int r = recv_routed(n->peer_router, &n->skip_peer, &id, msg);
        if (r == 0)
            return 0;
        if (r < 0) {
            n->stats.peer_malformed++;
            continue;
        }
        zmq_msg_close(&id);
        int p = vl_zap_user_peer(zmq_msg_gets(msg, "User-Id"), n->g->node_count, n->self);
        if (p < 0) {
            zmq_msg_close(msg);
            n->stats.peer_unauth++;
            continue;
        }
        if (vl_net_reply_room(n, (uint16_t)p) < VL_CORE_REPLY_MIN && is_page_request(msg)) {
            zmq_msg_close(msg);
            n->stats.peer_shed[p]++;
            n->backlogged[p] = true;
            continue;
        }
        *in = (vl_input){.kind = VL_IN_PEER, .peer = (uint16_t)p, .data = zmq_msg_data(msg),
                         .len = zmq_msg_size(msg)};
        n->stats.peer_in++;
        return 1;
    }
    return 0;
}

int vl_net_recv_client(vl_net *n, zmq_msg_t *msg, vl_input *in)
{
    for (unsigned i = 0; i < VL_NET_SKIP_MAX; i++) {
        zmq_msg_t id;
        int r = recv_routed(n->client_router, &n->skip_client, &id, msg);
        if (r == 0)
            return 0;
        size_t id_len = r > 0 ? zmq_msg_size(&id) : 0;
        if (r < 0 || id_len == 0 || id_len > sizeof n->clients[0].id) {
            if (r > 0) {
                zmq_msg_close(&id);
                zmq_msg_close(msg);
            }
            n->stats.client_malformed++;
            continue;
        }
        uint64_t tag = ++n->next_tag; /* 0 is never a tag */
        vl_net_client *c = &n->clients[tag % VL_NET_CLIENT_TAGS];
        c->tag = tag;
        c->len = (uint8_t)id_len;
        memcpy(c->id, zmq_msg_data(&id), id_len);
        zmq_msg_close(&id);
        *in = (vl_input){.kind = VL_IN_CLIENT, .client = tag, .data = zmq_msg_data(msg),
                         .len = zmq_msg_size(msg)};
        n->stats.client_in++;
        return 1;
    }
    return 0;
}

/* ---- sending --------------------------------------------------------------------------- */

/* Queue data for peer p in a metered buffer if the queue is empty or it
 * fits under limit (see the top). */
static void send_peer(vl_net *n, uint32_t p, const uint8_t *data, size_t len, uint64_t limit)
{
    if (p >= n->g->node_count || n->dealers[p] == NULL) {
        n->stats.peer_drops++;
        return;
    }
    uint64_t held = vl_net_peer_queued(n, (uint16_t)p);
    if (held != 0 && (held > limit || len > limit - held)) {
        n->stats.peer_full[p]++;
        n->stats.peer_drops++;
        n->backlogged[p] = true;
        return;
    }
    queued_msg *q = malloc(sizeof *q + len);
    if (q == NULL) {
        n->stats.peer_drops++;
        return;
    }
    q->meter = n->meter;
    q->peer = p;
    q->len = len;
    memcpy(q->data, data, len);
    atomic_fetch_add_explicit(&n->meter->refs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n->meter->queued[p], len, memory_order_relaxed);
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, q->data, len, queued_done, q) != 0) {
        queued_done(q->data, q);
        n->stats.peer_drops++;
        return;
    }
    if (zmq_msg_send(&m, n->dealers[p], ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m); /* calls queued_done */
        n->stats.peer_drops++;
    }
}

static void send_client(vl_net *n, uint64_t tag, const uint8_t *data, size_t len)
{
    const vl_net_client *c = &n->clients[tag % VL_NET_CLIENT_TAGS];
    if (tag == 0 || c->tag != tag) {
        n->stats.client_gone++;
        return;
    }
    /* With ZMQ_ROUTER_MANDATORY off, a client that is gone or whose pipe
     * is full makes the ROUTER drop the message silently. */
    if (zmq_send(n->client_router, c->id, c->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(n->client_router, data, len, ZMQ_DONTWAIT) < 0)
        n->stats.client_drops++;
}

void vl_net_send(vl_net *n, const vl_output *o)
{
    switch (o->kind) {
    case VL_OUT_PEER:
        send_peer(n, o->peer, o->data, o->len, n->peer_queue_max);
        break;
    case VL_OUT_BROADCAST:
        for (uint32_t p = 0; p < n->g->node_count; p++) {
            if (p != n->self)
                send_peer(n, p, o->data, o->len, n->peer_queue_max / 2);
        }
        break;
    case VL_OUT_CLIENT:
        send_client(n, o->client, o->data, o->len);
        break;
    default:
        assert(0 && "vl_net_send: unknown output kind");
    }
}

/* ---- peer link events -------------------------------------------------------------------- */

static void peer_event(vl_net *n, uint32_t p, uint16_t event, uint32_t value)
{
    const char *id = n->g->nodes[p].id;
    uint8_t *st = &n->peer_state[p];
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && *st != PEER_UP) {
        vl_log(VL_LOG_INFO, "peer_connected", "peer=%s endpoint=%s", id,
               n->g->nodes[p].peer_endpoint);
        *st = PEER_UP;
    } else if (event == ZMQ_EVENT_DISCONNECTED && *st == PEER_UP) {
        vl_log(VL_LOG_INFO, "peer_disconnected", "peer=%s", id);
        *st = PEER_DOWN;
    } else if ((event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) != 0 &&
               *st != PEER_FAILED) {
        const char *why = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "refused by the peer"
                          : event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error"
                                                                          : "no detail";
        vl_log(VL_LOG_WARN, "peer_handshake_failed", "peer=%s reason=\"%s\" code=%u", id, why,
               (unsigned)value);
        *st = PEER_FAILED;
    }
}

void vl_net_monitor_events(vl_net *n)
{
    for (uint32_t p = 0; p < n->g->node_count; p++) {
        for (unsigned i = 0; n->monitors[p] != NULL && i < VL_NET_EVENTS_MAX; i++) {
            zmq_msg_t f;
            zmq_msg_init(&f);
            if (zmq_msg_recv(&f, n->monitors[p], ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&f);
                break;
            }
            uint16_t event = 0;
            uint32_t value = 0;
            if (zmq_msg_size(&f) == 6) {
                memcpy(&event, zmq_msg_data(&f), 2);
                memcpy(&value, (uint8_t *)zmq_msg_data(&f) + 2, 4);
            }
            /* the second frame (the endpoint) is not needed */
            bool more = zmq_msg_more(&f);
            zmq_msg_close(&f);
            if (more) {
                bool skip = true;
                (void)discard_rest(n->monitors[p], &skip);
            }
            peer_event(n, p, event, value);
        }
    }
}

/* ---- peer send queues ------------------------------------------------------------------- */

uint64_t vl_net_peer_queued(const vl_net *n, uint16_t p)
{
    if (n->meter == NULL || p >= VL_MAX_NODES)
        return 0;
    return atomic_load_explicit(&n->meter->queued[p], memory_order_relaxed);
}

void vl_net_backlog_events(vl_net *n)
{
    for (uint16_t p = 0; p < n->g->node_count && p < VL_MAX_NODES; p++) {
        if (p == n->self || n->dealers[p] == NULL || !n->backlogged[p])
            continue;
        /* Sends to it may have stopped reaching the socket, and a socket
         * runs its commands only when called: without this, the pipe of a
         * link that went down is never torn down and its messages stay
         * queued. */
        int events;
        size_t size = sizeof events;
        (void)zmq_getsockopt(n->dealers[p], ZMQ_EVENTS, &events, &size);
        uint64_t q = vl_net_peer_queued(n, p);
        if (!n->backlog_logged[p]) {
            vl_log(VL_LOG_WARN, "peer_backlog",
                   "peer=%s queued_bytes=%llu limit_bytes=%llu reason=\"the peer takes what "
                   "this node sends more slowly than it comes: what does not fit is dropped and "
                   "its log and account requests are not answered until it takes what is "
                   "queued (a slow link or machine, or a faulty peer that asks and does not "
                   "read)\"",
                   n->g->nodes[p].id, (unsigned long long)q,
                   (unsigned long long)n->peer_queue_max);
            n->backlog_logged[p] = true;
        } else if (q < n->peer_queue_max / 4) {
            vl_log(VL_LOG_INFO, "peer_backlog_cleared",
                   "peer=%s queued_bytes=%llu dropped_total=%llu requests_unread_total=%llu",
                   n->g->nodes[p].id, (unsigned long long)q,
                   (unsigned long long)n->stats.peer_full[p],
                   (unsigned long long)n->stats.peer_shed[p]);
            n->backlogged[p] = false;
            n->backlog_logged[p] = false;
        }
    }
}
