/* vl_net.h - voucherd's ZeroMQ sockets (docs/voucherd.md, docs/protocol.md 7).
 *
 *   peer ROUTER    bound at this node's peer endpoint; CURVE server; ZAP
 *                  domain VL_ZAP_DOMAIN with ZMQ_ZAP_ENFORCE_DOMAIN; each
 *                  message's sender is the ZAP user id (vl_zap.h), never
 *                  the body.  Receive only.
 *   DEALER x peer  one per other node, CURVE client of that node's
 *                  curve_pubkey, ZMQ_IMMEDIATE (no queueing to a peer that
 *                  is not connected: it resyncs), bounded ZMQ_SNDHWM.
 *                  Send only.  A socket monitor reports handshakes.
 *   client ROUTER  bound at this node's client endpoint, no CURVE (clients
 *                  sign their orders).  Each request's routing id is
 *                  remembered under a fresh u64 client tag (a ring of the
 *                  VL_NET_CLIENT_TAGS most recent requests) that the core
 *                  echoes on its replies.
 * Both ROUTERs refuse messages over VL_MAX_MSG_BYTES (ZMQ_MAXMSGSIZE: the
 * connection is dropped) and have bounded HWMs.  Every send is
 * ZMQ_DONTWAIT: a full or absent pipe drops the message and counts it.
 * A peer's pipe is also full, for this node, when the bytes queued to it
 * would pass the peer queue bound (vl_net.c "Peer send queues"): sends to
 * it drop, and its requests for pages of the log or of an account are not
 * read (there is no room for the reply), until it takes what is queued.
 *
 * Used by one thread (the event loop).
 */
#ifndef VL_NET_H
#define VL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "vl_core.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"

/* Client routing ids remembered: a reply finds its client if fewer than
 * this many requests arrived since (at 5 s client timeouts, over 13,000
 * requests a second). */
#define VL_NET_CLIENT_TAGS 65536u
/* Messages queued per pipe before sends drop (peers resync). */
#define VL_NET_SNDHWM 10000
#define VL_NET_RCVHWM 10000
/* Replies queued per client connection before sends to it drop (silently:
 * ZMQ_ROUTER_MANDATORY is off, so libzmq discards them and client_drops
 * does not see them; the client times out and resubmits).  A client that
 * never reads pins at most this many replies in the node's memory, each at
 * most VL_CLIENT_PAGE_BUDGET of log entries or of an account's
 * certificates (consensus/vl_core_int.h), about 512 MiB in all: an
 * adversarial walk pinned 2 GiB with 1,500 unread
 * GET_LOG replies of 1 MB when the bound was VL_NET_SNDHWM.  Above the
 * default max_batch (1024), so that one step's replies to a pipelined
 * client all fit. */
#define VL_NET_CLIENT_SNDHWM 2048

typedef struct vl_net_meter vl_net_meter; /* vl_net.c "Peer send queues" */

typedef struct {
    uint64_t peer_in;          /* peer messages passed to the core */
    uint64_t peer_unauth;      /* peer messages without a valid ZAP user id */
    uint64_t peer_malformed;   /* peer messages of more than one payload frame */
    uint64_t peer_drops;       /* sends to a peer that failed (full, unconnected) */
    uint64_t peer_full[VL_MAX_NODES];  /* of those: its queue had no room for it */
    uint64_t peer_shed[VL_MAX_NODES];  /* its page requests not read (no room for a reply) */
    uint64_t client_in;        /* client requests passed to the core */
    uint64_t client_malformed; /* client messages of more than one payload frame */
    uint64_t client_drops;     /* replies that could not be sent */
    uint64_t client_gone;      /* replies whose client tag was evicted */
} vl_net_stats;

typedef struct {
    uint8_t len;
    uint8_t id[255]; /* ZeroMQ routing ids are 1..255 bytes */
    uint64_t tag;    /* 0: empty */
} vl_net_client;

typedef struct {
    void *ctx; /* not owned */
    const vl_genesis *g;
    uint16_t self;
    void *peer_router;
    void *client_router;
    void *dealers[VL_MAX_NODES];  /* NULL for self */
    void *monitors[VL_MAX_NODES]; /* PAIR sockets reading the DEALER monitors */
    uint8_t peer_state[VL_MAX_NODES];
    bool skip_peer, skip_client; /* discarding the rest of a multi-frame message */
    vl_net_meter *meter;         /* bytes queued per peer (shared with libzmq's threads) */
    uint64_t peer_queue_max;     /* bytes */
    bool backlogged[VL_MAX_NODES];     /* a send or request refused, not yet cleared */
    bool backlog_logged[VL_MAX_NODES]; /* event=peer_backlog logged for it */
    vl_net_client *clients;      /* VL_NET_CLIENT_TAGS entries */
    uint64_t next_tag;
    vl_net_stats stats;
} vl_net;

/* Create the sockets: bind the peer ROUTER at peer_bind (the genesis peer
 * endpoint if NULL or "") and the client ROUTER at client_bind (likewise),
 * and connect a DEALER to every other node's peer endpoint; at most
 * peer_queue_max bytes (> 0) are queued to one peer.  The ZAP handler
 * must already be bound.  VL_OK; VL_ERR_IO (a socket option or a bind
 * failed: err names the endpoint and the reason), VL_ERR_NOMEM.  On error
 * everything created is closed. */
vl_err vl_net_open(vl_net *n, void *ctx, const vl_genesis *g, uint16_t self,
                   const vl_keyfile *key, const char *peer_bind, const char *client_bind,
                   uint64_t peer_queue_max, char *err, size_t err_cap);

/* Close every socket with linger 0 (safe on a zeroed or closed vl_net). */
void vl_net_close(vl_net *n);

/* Test hook only (voucherd's VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS): close
 * the DEALERs with a linger of linger_ms, so that zmq_ctx_term then waits
 * until what they queued has been sent (or linger_ms passed), and close the
 * rest as vl_net_close does. */
void vl_net_close_flushing(vl_net *n, int linger_ms);

/* Fill items (at least 2 + node_count) for zmq_poll: both ROUTERs, then
 * the monitors.  Returns the count. */
int vl_net_poll_items(vl_net *n, zmq_pollitem_t *items, int cap);

/* Receive one message without blocking.  On 1, *msg holds the payload
 * (the caller closes it) and *in is filled (kind, peer or client tag,
 * data/len pointing into *msg).  0: nothing more to read on that socket.
 * Malformed or unauthenticated messages are dropped and counted, and the
 * next one is tried (bounded). */
int vl_net_recv_peer(vl_net *n, zmq_msg_t *msg, vl_input *in);
int vl_net_recv_client(vl_net *n, zmq_msg_t *msg, vl_input *in);

/* Send one core output (never blocks; failures are counted). */
void vl_net_send(vl_net *n, const vl_output *o);

/* Read the DEALER monitors and log peer connections (info) and handshake
 * failures (warn, once per change of state). */
void vl_net_monitor_events(vl_net *n);

/* Bytes queued to peer p now (sent by this node, not yet taken by
 * libzmq's I/O thread for the wire). */
uint64_t vl_net_peer_queued(const vl_net *n, uint16_t p);

/* Bytes that may still be queued to peer p (peer_queue_max less what is
 * queued): the core's reply budget for p (vl_core_set_reply_budget). */
uint64_t vl_net_reply_room(const vl_net *n, uint16_t p);

/* For each peer a send or page request was refused for (its queue was
 * full): call its socket, so that the pipe of a link that went down is
 * torn down and its queue freed, and log event=peer_backlog (warn, once)
 * and, once the queue fell below a quarter of the bound, that it cleared
 * (info).  Must run every loop iteration. */
void vl_net_backlog_events(vl_net *n);

#endif
