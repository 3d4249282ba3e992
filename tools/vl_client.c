/* vl_client.c - the client library (vl_client.h).
 *
 * Design notes
 *  1. One DEALER per endpoint, made on first use ("connect lazily").  A
 *     DEALER queues what it cannot deliver yet, so a request to a node that
 *     is down would sit in the queue and reach the node whenever it comes
 *     back, possibly long after we gave up.  So an endpoint that times out
 *     has its socket CLOSED (linger 0 drops the queue) and a fresh one is
 *     made next time: after a call returns, nothing of it is left queued
 *     (the "lazy pirate" pattern).  A late reply to a request that did
 *     reach a node goes to the old socket's identity and is dropped by the
 *     node's ROUTER.
 *  2. Request ids increase per client from 1.  A reply is accepted only
 *     for the request just sent on that socket; any other req_id is an
 *     answer to an earlier request on a socket that was kept (stale) and is
 *     discarded, at most VL_CLIENT_MAX_STALE times per call (a bound, not
 *     an expected number).  A frame that does not decode as a CLIENT_REPLY
 *     is discarded the same way: a broken node must not make a client fail
 *     in a way a timeout would not.
 *  3. Nothing a node says is trusted: certificates are verified with the
 *     genesis (vl_client_verify_cert) before a call reports success, with
 *     one signature cache per client, so a billing system checking the
 *     certificates of one batch pays one Schnorr verification per voter.
 *  4. The decoded reply (c->msg) borrows from c->reply, the last received
 *     ZeroMQ frame; everything a result keeps is copied to the heap before
 *     the next receive.
 *  5. A program with many clients (one per thread: a client is not
 *     thread-safe) can give them one shared cache (vl_client_use_cache;
 *     the cache is internally locked).  The certificates of one voter batch
 *     then cost one check of each vote signature for the whole program, not
 *     one per client (docs/performance.md, change 2).
 *  6. A client that signed the orders it submits (vl_client_vouch_for_orders)
 *     checks a certificate with vl_cert_verify_own: the certificate must
 *     carry its order with the very signature bytes it submitted, and those
 *     are not verified again; votes, paths and quorum are checked as always
 *     (docs/performance.md, change 5).  Off by default: bytes handed to
 *     vl_client_submit may come from someone else.
 *  7. Pipelined SUBMIT (vl_client_send / vl_client_next): up to
 *     VL_CLIENT_MAX_INFLIGHT orders in flight on the same DEALERs.  Each
 *     has a slot holding what its answer is checked against (the order's
 *     hash and signature bytes, vl_own_order) and its deadline; the slot
 *     index is the low VL_CLIENT_INFLIGHT_BITS of its req_id, so a reply
 *     finds its order in O(1), and a reply whose whole req_id (or
 *     endpoint) is not the slot's is stale and dropped.  The blocking calls
 *     would drop the pipelined replies as stale, so they refuse to run
 *     while anything is in flight.  The sockets' high-water marks are twice
 *     VL_CLIENT_MAX_INFLIGHT, so a full pipeline is never refused or
 *     dropped by ZeroMQ on this side.  docs/performance.md, change 8.
 *  8. Where a call starts.  SUBMIT and GET_ACCOUNT try the endpoints in
 *     order from the one that last answered (c->start), not from the first:
 *     with the first node down, every call paid a whole timeout before it
 *     reached the second (an operator's walk saw a bench fall from 150 to
 *     2 orders a second with one voter killed).  An endpoint that does not
 *     answer moves the start past it; one that answers (anything) becomes
 *     the start.  And a SUBMIT that no node finishes reports the most
 *     telling answer, not the last: a node's own refusal to write
 *     ("DISK_FULL: submit to another node") only when no other node said
 *     more (QUORUM with its count of voters, TIMEOUT).
 *  9. A pipelined SUBMIT avoids an endpoint given up.  vl_client_send
 *     used to send each order where the caller said: an operator's walk
 *     sent order k to node k mod 4 with node4 down, and every fourth order
 *     waited the whole timeout, which took a pipelined bench from 300 to
 *     20 orders a second while every live node said healthy.  An endpoint
 *     whose orders went unanswered (inflight_expire) is now avoided for
 *     twice the timeout: its orders go to the next endpoint not avoided
 *     (result.endpoint says which).  After that one order probes it; the
 *     others keep going elsewhere until that one is answered (the endpoint
 *     is up again) or expires (avoided once more).  With every endpoint
 *     avoided, an order goes where the caller said.
 */
#include "vl_client.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "vl_crypto.h"

_Static_assert(VL_CLIENT_MAX_INFLIGHT == (1u << VL_CLIENT_INFLIGHT_BITS),
               "slot index in the low bits of a req_id");

/* Signature cache entries per client: one per (voter, batch root). */
#define CLIENT_CACHE_ENTRIES 4096u

struct vl_client {
    void *zctx;
    vl_genesis *g;
    size_t n;
    char endpoints[VL_CLIENT_MAX_ENDPOINTS][VL_MAX_ENDPOINT_LEN + 1];
    void *socks[VL_CLIENT_MAX_ENDPOINTS]; /* NULL until used (note 1) */
    uint32_t timeout_ms;
    size_t start; /* the endpoint calls start at (note 8) */
    uint64_t next_req_id;
    vl_sigcache *cache; /* in use: own_cache or a shared one (note 5); NULL works too */
    vl_sigcache *own_cache; /* NULL if it could not be made */
    vl_msg msg;         /* the last reply, borrowing from `reply` (note 4) */
    vl_msg_storage *st;
    zmq_msg_t reply;
    bool have_reply;
    vl_cert *cert; /* scratch for verification */
    bool vouch;    /* note 6 */
    /* pipelined SUBMITs (note 7): a slot per order in flight, made on first use */
    struct inflight *fl;
    uint32_t *fl_free; /* stack of free slot indexes */
    uint32_t fl_free_count;
    uint32_t fl_count; /* in flight */
    uint32_t fl_on[VL_CLIENT_MAX_ENDPOINTS]; /* in flight per endpoint */
    size_t fl_next_ep; /* where vl_client_next looks first (fairness) */
    /* endpoints given up (note 9): avoided until then (0: up), and whether
     * the one order that probes it again is in flight */
    uint64_t fl_down_until[VL_CLIENT_MAX_ENDPOINTS];
    bool fl_probing[VL_CLIENT_MAX_ENDPOINTS];
};

/* One pipelined SUBMIT in flight (note 7). */
struct inflight {
    uint64_t req_id;      /* 0: the slot is free */
    uint64_t tag;         /* the caller's */
    uint64_t deadline_ms; /* 0: its endpoint was given up; finish it as unanswered */
    uint32_t endpoint;
    vl_own_order own;
};

/* ---- lifecycle ------------------------------------------------------------ */

void vl_client_use_cache(vl_client *c, vl_sigcache *cache)
{
    assert(c != NULL);
    c->cache = cache != NULL ? cache : c->own_cache;
}

void vl_client_vouch_for_orders(vl_client *c, bool vouch)
{
    assert(c != NULL);
    c->vouch = vouch;
}

static void reply_release(vl_client *c)
{
    if (c->have_reply)
        zmq_msg_close(&c->reply);
    c->have_reply = false;
}

vl_err vl_client_new(vl_client **out, const vl_genesis *genesis, const char *const *endpoints,
                     size_t n, uint32_t timeout_ms)
{
    assert(out != NULL && genesis != NULL && (n == 0 || endpoints != NULL));
    *out = NULL;
    if (n > VL_CLIENT_MAX_ENDPOINTS || timeout_ms < VL_CLIENT_MIN_TIMEOUT_MS ||
        timeout_ms > VL_CLIENT_MAX_TIMEOUT_MS)
        return VL_ERR_USAGE;
    for (size_t i = 0; i < n; i++) {
        size_t len = endpoints[i] != NULL ? strlen(endpoints[i]) : 0;
        if (len == 0 || len > VL_MAX_ENDPOINT_LEN)
            return VL_ERR_USAGE;
    }
    vl_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return VL_ERR_NOMEM;
    c->g = malloc(sizeof *c->g);
    c->st = malloc(sizeof *c->st);
    c->cert = malloc(sizeof *c->cert);
    if (c->g == NULL || c->st == NULL || c->cert == NULL) {
        vl_client_destroy(&c);
        return VL_ERR_NOMEM;
    }
    memcpy(c->g, genesis, sizeof *c->g);
    if (n == 0) {
        n = genesis->node_count;
        for (size_t i = 0; i < n; i++)
            strcpy(c->endpoints[i], genesis->nodes[i].client_endpoint);
    } else {
        for (size_t i = 0; i < n; i++)
            strcpy(c->endpoints[i], endpoints[i]);
    }
    c->n = n;
    c->timeout_ms = timeout_ms;
    c->next_req_id = 1;
    c->own_cache = vl_sigcache_new(CLIENT_CACHE_ENTRIES);
    c->cache = c->own_cache;
    vl_msg_init(&c->msg, c->st);
    c->zctx = zmq_ctx_new();
    if (c->zctx == NULL) {
        vl_client_destroy(&c);
        return VL_ERR_UNAVAILABLE;
    }
    *out = c;
    return VL_OK;
}

static void sock_close(vl_client *c, size_t i)
{
    if (c->socks[i] != NULL)
        zmq_close(c->socks[i]);
    c->socks[i] = NULL;
}

void vl_client_destroy(vl_client **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    vl_client *c = *cp;
    reply_release(c);
    for (size_t i = 0; i < VL_CLIENT_MAX_ENDPOINTS; i++)
        sock_close(c, i);
    if (c->zctx != NULL)
        zmq_ctx_term(c->zctx);
    vl_sigcache_destroy(&c->own_cache);
    free(c->fl);
    free(c->fl_free);
    free(c->cert);
    free(c->st);
    free(c->g);
    free(c);
    *cp = NULL;
}

size_t vl_client_endpoint_count(const vl_client *c)
{
    assert(c != NULL);
    return c->n;
}

const char *vl_client_endpoint(const vl_client *c, size_t index)
{
    assert(c != NULL);
    return index < c->n ? c->endpoints[index] : NULL;
}

const vl_genesis *vl_client_genesis(const vl_client *c)
{
    assert(c != NULL);
    return c->g;
}

/* ---- one request, one reply ------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *sock_get(vl_client *c, size_t i)
{
    if (c->socks[i] != NULL)
        return c->socks[i];
    void *s = zmq_socket(c->zctx, ZMQ_DEALER);
    if (s == NULL)
        return NULL;
    int linger = 0;
    int hwm = (int)(2 * VL_CLIENT_MAX_INFLIGHT); /* a full pipeline never meets it (note 7) */
    int64_t max_msg = VL_MAX_MSG_BYTES;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg) != 0 ||
        zmq_connect(s, c->endpoints[i]) != 0) {
        zmq_close(s);
        return NULL;
    }
    c->socks[i] = s;
    return s;
}

/* Encode req (its req_id is assigned here) into a new heap buffer. */
static vl_err encode_request(vl_client *c, vl_msg *req, uint8_t **buf, size_t *len)
{
    req->type = VL_MSG_CLIENT_REQUEST;
    req->req_id = c->next_req_id++;
    vl_err e = vl_msg_encode(req, NULL, 0, len);
    if (e != VL_OK)
        return e;
    *buf = malloc(*len);
    if (*buf == NULL)
        return VL_ERR_NOMEM;
    e = vl_msg_encode(req, *buf, *len, len);
    if (e != VL_OK) {
        free(*buf);
        *buf = NULL;
    }
    return e;
}

/* Receive until the reply to req_id arrives or the deadline passes. */
static vl_err await_reply(vl_client *c, void *s, uint64_t req_id, uint64_t deadline)
{
    for (uint32_t stale = 0; stale <= VL_CLIENT_MAX_STALE;) {
        uint64_t t = now_ms();
        if (t >= deadline)
            return VL_ERR_UNAVAILABLE;
        zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, (long)(deadline - t));
        if (rc < 0 && zmq_errno() == EINTR)
            continue;
        if (rc < 0)
            return VL_ERR_UNAVAILABLE;
        if (rc == 0 || (item.revents & ZMQ_POLLIN) == 0)
            continue;
        reply_release(c);
        zmq_msg_init(&c->reply);
        c->have_reply = true;
        if (zmq_msg_recv(&c->reply, s, ZMQ_DONTWAIT) < 0)
            continue;
        vl_err e = vl_msg_decode(zmq_msg_data(&c->reply), zmq_msg_size(&c->reply), &c->msg);
        if (e == VL_OK && c->msg.type == VL_MSG_CLIENT_REPLY && c->msg.req_id == req_id)
            return VL_OK;
        stale++; /* note 2 */
    }
    return VL_ERR_UNAVAILABLE;
}

/* Send req to endpoint i and wait for its reply, decoded into c->msg.
 * VL_OK; VL_ERR_UNAVAILABLE (no answer in time: the socket is closed,
 * note 1); an encoding error or VL_ERR_NOMEM. */
static vl_err exchange(vl_client *c, size_t i, vl_msg *req)
{
    if (c->fl_count > 0)
        return VL_ERR_USAGE; /* its replies would be taken for stale ones (note 7) */
    uint8_t *buf = NULL;
    size_t len = 0;
    vl_err e = encode_request(c, req, &buf, &len);
    if (e != VL_OK)
        return e;
    uint64_t deadline = now_ms() + c->timeout_ms;
    void *s = sock_get(c, i);
    e = VL_ERR_UNAVAILABLE;
    if (s != NULL && zmq_send(s, buf, len, ZMQ_DONTWAIT) == (int)len)
        e = await_reply(c, s, req->req_id, deadline);
    free(buf);
    if (e != VL_OK)
        sock_close(c, i);
    return e;
}

static void copy_text(char *dst, size_t cap, vl_bytes text)
{
    size_t n = text.len < cap - 1 ? text.len : cap - 1;
    if (n > 0)
        memcpy(dst, text.ptr, n);
    dst[n] = '\0';
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len > 0 ? len : 1);
    if (d != NULL && len > 0)
        memcpy(d, p, len);
    return d;
}

/* ---- verification helpers ---------------------------------------------------- */

vl_err vl_client_verify_cert(const vl_genesis *g, vl_sigcache *cache, const uint8_t *buf,
                             size_t len, const uint8_t *expect_order_hash, vl_cert *cert_out,
                             uint8_t order_hash_out[32])
{
    assert(g != NULL && (buf != NULL || len == 0));
    vl_cert *ct = cert_out != NULL ? cert_out : malloc(sizeof *ct);
    if (ct == NULL)
        return VL_ERR_NOMEM;
    uint8_t hash[32];
    vl_err e = vl_cert_decode(buf, len, ct);
    if (e == VL_OK)
        e = vl_cert_verify(g, ct, cache, hash);
    if (e == VL_OK && expect_order_hash != NULL && memcmp(hash, expect_order_hash, 32) != 0)
        e = VL_ERR_CORRUPT;
    if (e == VL_OK && order_hash_out != NULL)
        memcpy(order_hash_out, hash, 32);
    if (cert_out == NULL)
        free(ct);
    return e;
}

vl_err vl_client_check_entry(const vl_genesis *g, vl_sigcache *cache, const uint8_t *buf,
                             size_t len, uint64_t expect_index, uint8_t prev_hash[32],
                             uint8_t entry_hash_out[32])
{
    assert(g != NULL && prev_hash != NULL);
    vl_entry en;
    vl_err e = vl_entry_decode(buf, len, &en);
    if (e != VL_OK)
        return e;
    if (en.index != expect_index)
        return VL_ERR_RANGE;
    if (memcmp(en.prev_hash, prev_hash, 32) != 0)
        return VL_ERR_CORRUPT;
    e = vl_client_verify_cert(g, cache, en.cert.ptr, en.cert.len, NULL, NULL, NULL);
    if (e != VL_OK)
        return e;
    uint8_t cert_hash[32];
    vl_cert_hash(cert_hash, en.cert.ptr, en.cert.len);
    vl_entry_hash(prev_hash, en.index, en.prev_hash, cert_hash);
    if (entry_hash_out != NULL)
        memcpy(entry_hash_out, prev_hash, 32);
    return VL_OK;
}

/* ---- SUBMIT ------------------------------------------------------------------ */

bool vl_client_should_failover(int code)
{
    switch (code) {
    case VL_ERR_UNAVAILABLE:
    case VL_ERR_TIMEOUT:
    case VL_ERR_BEHIND:
    case VL_ERR_READ_ONLY:
    case VL_ERR_STORAGE:
    case VL_ERR_MAP_FULL:
    case VL_ERR_DISK_FULL:
    case VL_ERR_CORRUPT:
    case VL_ERR_NOMEM:
        return true;
    default:
        return false;
    }
}

void vl_client_result_free(vl_client_result *r)
{
    if (r == NULL)
        return;
    free(r->cert);
    free(r->evidence);
    memset(r, 0, sizeof *r);
    r->endpoint = -1;
}

/* Keep the ERROR reply in c->msg as the result's refusal. */
static vl_err take_refusal(vl_client *c, size_t i, vl_client_result *r)
{
    const vl_msg *m = &c->msg;
    r->code = (vl_err)m->code;
    r->endpoint = (int)i;
    copy_text(r->message, sizeof r->message, m->text);
    r->evidence_kind = m->evidence_kind;
    if (m->evidence_kind == VL_EVIDENCE_NONE || m->item_count == 0)
        return r->code;
    vl_bytes ev = m->items[0];
    if ((r->evidence = dup_bytes(ev.ptr, ev.len)) == NULL)
        return r->code = VL_ERR_NOMEM;
    r->evidence_len = ev.len;
    if (m->evidence_kind == VL_EVIDENCE_CERT) {
        r->evidence_verified = vl_client_verify_cert(c->g, c->cache, ev.ptr, ev.len, NULL,
                                                     c->cert, NULL) == VL_OK;
    } else if (m->evidence_kind == VL_EVIDENCE_ORDER) {
        uint8_t h[32];
        vl_order *o = &c->cert->order; /* scratch: a vl_cert holds a vl_order */
        if (vl_order_decode(ev.ptr, ev.len, o) == VL_OK) {
            vl_order_hash(h, o);
            r->evidence_verified = vl_order_verify(c->g, o, h) == VL_OK;
        }
    }
    return r->code;
}

/* The SUBMIT reply in c->msg, from endpoint i, for the order `own`: a
 * certificate that verifies (VL_OK), a refusal, or a failover code.
 * *final: the result is the answer (no other node need be asked). */
static vl_err judge_submit_reply(vl_client *c, size_t i, const vl_own_order *own,
                                 vl_client_result *r, bool *final)
{
    *final = false;
    const vl_msg *m = &c->msg;
    vl_err e;
    if (m->reply_kind == VL_REPLY_CERT && m->item_count == 1) {
        vl_bytes ct = m->items[0];
        if (c->vouch) { /* note 6 */
            e = vl_cert_decode(ct.ptr, ct.len, c->cert);
            e = e == VL_OK ? vl_cert_verify_own(c->g, c->cert, c->cache, own, NULL) : e;
        } else {
            e = vl_client_verify_cert(c->g, c->cache, ct.ptr, ct.len, own->hash, c->cert, NULL);
        }
        if (e == VL_OK) {
            if ((r->cert = dup_bytes(ct.ptr, ct.len)) == NULL)
                return VL_ERR_NOMEM;
            r->cert_len = ct.len;
            r->endpoint = (int)i;
            r->message[0] = '\0'; /* earlier attempts' complaints are moot */
            *final = true;
            return VL_OK;
        }
        snprintf(r->message, sizeof r->message,
                 "%s served a certificate that does not verify: %s", c->endpoints[i],
                 vl_err_slug(e));
        r->endpoint = (int)i;
        return e;
    }
    if (m->reply_kind != VL_REPLY_ERROR) {
        snprintf(r->message, sizeof r->message, "%s answered SUBMIT with reply kind %u",
                 c->endpoints[i], m->reply_kind);
        return VL_ERR_TYPE;
    }
    if (vl_client_should_failover(m->code)) {
        copy_text(r->message, sizeof r->message, m->text);
        r->endpoint = (int)i;
        return (vl_err)m->code;
    }
    *final = true;
    return take_refusal(c, i, r);
}

/* One SUBMIT attempt at endpoint i.  *final: the result is the answer. */
static vl_err submit_at(vl_client *c, size_t i, const uint8_t *order, size_t order_len,
                        const vl_own_order *own, vl_client_result *r, bool *final)
{
    vl_msg req;
    vl_bytes item = {order, (uint32_t)order_len};
    vl_msg_init(&req, NULL);
    req.req_kind = VL_REQ_SUBMIT;
    req.items = &item;
    req.item_count = 1;
    *final = false;
    r->tried++;
    vl_err e = exchange(c, i, &req);
    if (e != VL_OK) {
        *final = e != VL_ERR_UNAVAILABLE;
        return e;
    }
    r->answered++;
    return judge_submit_reply(c, i, own, r, final);
}

vl_err vl_client_submit(vl_client *c, const uint8_t *order, size_t order_len,
                        vl_client_result *r)
{
    assert(c != NULL && r != NULL && (order != NULL || order_len == 0));
    memset(r, 0, sizeof *r);
    r->endpoint = -1;
    if (c->fl_count > 0)
        return r->code = VL_ERR_USAGE; /* note 7: nothing tried */
    vl_order *o = &c->cert->order;
    vl_err e = order_len > VL_MAX_MSG_BYTES ? VL_ERR_LIMIT : vl_order_decode(order, order_len, o);
    if (e != VL_OK)
        return r->code = e;
    vl_order_hash(r->order_hash, o);
    vl_own_order own;
    vl_own_order_set(&own, o, r->order_hash);
    vl_err last = VL_ERR_UNAVAILABLE;
    int last_rank = 0; /* note 8: 0 none, 1 the node cannot write, 2 any other answer */
    char last_msg[sizeof r->message] = "";
    int last_ep = -1;
    size_t from = c->start;
    for (size_t k = 0; k < c->n; k++) {
        size_t i = (from + k) % c->n;
        bool final;
        e = submit_at(c, i, order, order_len, &own, r, &final);
        c->start = e == VL_ERR_UNAVAILABLE ? (i + 1) % c->n : i;
        if (final)
            return r->code = e;
        int rank = e == VL_ERR_UNAVAILABLE ? 0
                   : e == VL_ERR_DISK_FULL || e == VL_ERR_MAP_FULL || e == VL_ERR_READ_ONLY ? 1
                                                                                            : 2;
        if (rank > 0 && rank >= last_rank) { /* an answer that was not final */
            last = e;
            last_rank = rank;
            memcpy(last_msg, r->message, sizeof last_msg);
            last_ep = r->endpoint;
        }
    }
    if (last_rank > 0) { /* the answer reported, and who gave it */
        memcpy(r->message, last_msg, sizeof r->message);
        r->endpoint = last_ep;
    }
    if (r->answered == 0) {
        snprintf(r->message, sizeof r->message, "no node answered within %u ms (%u tried)",
                 c->timeout_ms, r->tried);
        last = VL_ERR_UNAVAILABLE;
    }
    return r->code = last;
}

/* ---- pipelined SUBMIT (note 7) ------------------------------------------------------ */

size_t vl_client_inflight(const vl_client *c)
{
    assert(c != NULL);
    return c->fl_count;
}

static vl_err inflight_init(vl_client *c)
{
    if (c->fl != NULL)
        return VL_OK;
    c->fl = calloc(VL_CLIENT_MAX_INFLIGHT, sizeof *c->fl);
    c->fl_free = malloc(VL_CLIENT_MAX_INFLIGHT * sizeof *c->fl_free);
    if (c->fl == NULL || c->fl_free == NULL) {
        free(c->fl);
        free(c->fl_free);
        c->fl = NULL;
        c->fl_free = NULL;
        return VL_ERR_NOMEM;
    }
    for (uint32_t k = 0; k < VL_CLIENT_MAX_INFLIGHT; k++)
        c->fl_free[k] = VL_CLIENT_MAX_INFLIGHT - 1 - k; /* slot 0 on top */
    c->fl_free_count = VL_CLIENT_MAX_INFLIGHT;
    return VL_OK;
}

/* Whether a pipelined order should not go to ep now (note 9). */
static bool ep_avoided(const vl_client *c, size_t ep, uint64_t now)
{
    return c->fl_down_until[ep] != 0 && (now < c->fl_down_until[ep] || c->fl_probing[ep]);
}

/* Where an order the caller sends to `endpoint` goes (note 9). */
static size_t ep_choose(vl_client *c, size_t endpoint)
{
    uint64_t now = now_ms();
    size_t use = endpoint;
    for (size_t k = 0; k < c->n && ep_avoided(c, use, now); k++)
        use = (endpoint + k + 1) % c->n;
    if (ep_avoided(c, use, now))
        return endpoint; /* every one avoided: as the caller said */
    if (c->fl_down_until[use] != 0)
        c->fl_probing[use] = true; /* past its time: this order probes it */
    return use;
}

vl_err vl_client_send(vl_client *c, size_t endpoint, const uint8_t *order, size_t order_len,
                      uint64_t tag)
{
    assert(c != NULL && (order != NULL || order_len == 0));
    if (endpoint >= c->n)
        return VL_ERR_USAGE;
    if (order_len > VL_MAX_MSG_BYTES)
        return VL_ERR_LIMIT;
    vl_err e = inflight_init(c);
    if (e != VL_OK)
        return e;
    if (c->fl_free_count == 0)
        return VL_ERR_LIMIT;
    vl_order *o = &c->cert->order; /* scratch */
    if ((e = vl_order_decode(order, order_len, o)) != VL_OK)
        return e;
    uint32_t slot = c->fl_free[c->fl_free_count - 1];
    struct inflight *f = &c->fl[slot];
    uint8_t hash[32];
    vl_order_hash(hash, o);
    vl_own_order_set(&f->own, o, hash);
    /* The slot rides in the req_id's low bits; the counter above them makes
     * every id unique, so a reply to an earlier use of the slot is stale. */
    vl_msg req;
    vl_bytes item = {order, (uint32_t)order_len};
    vl_msg_init(&req, NULL);
    req.type = VL_MSG_CLIENT_REQUEST;
    req.req_kind = VL_REQ_SUBMIT;
    req.req_id = (c->next_req_id++ << VL_CLIENT_INFLIGHT_BITS) | slot;
    req.items = &item;
    req.item_count = 1;
    size_t len = 0;
    if ((e = vl_msg_encode(&req, NULL, 0, &len)) != VL_OK)
        return e;
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, len) != 0)
        return VL_ERR_NOMEM;
    if ((e = vl_msg_encode(&req, zmq_msg_data(&m), len, &len)) != VL_OK) {
        zmq_msg_close(&m);
        return e;
    }
    endpoint = ep_choose(c, endpoint);
    void *s = sock_get(c, endpoint);
    if (s == NULL || zmq_msg_send(&m, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        c->fl_probing[endpoint] = false;
        return VL_ERR_UNAVAILABLE; /* not queued: nothing is in flight */
    }
    c->fl_free_count--;
    f->req_id = req.req_id;
    f->tag = tag;
    f->deadline_ms = now_ms() + c->timeout_ms;
    f->endpoint = (uint32_t)endpoint;
    c->fl_count++;
    c->fl_on[endpoint]++;
    return VL_OK;
}

/* Free slot k; its tag goes to *tag and its order hash into r. */
static void inflight_end(vl_client *c, uint32_t k, uint64_t *tag, vl_client_result *r)
{
    struct inflight *f = &c->fl[k];
    *tag = f->tag;
    memcpy(r->order_hash, f->own.hash, 32);
    r->tried = 1;
    c->fl_on[f->endpoint]--;
    c->fl_count--;
    f->req_id = 0;
    c->fl_free[c->fl_free_count++] = k;
}

/* Slot k's endpoint did not answer in time: it ends unanswered, and so
 * does every other order in flight there, one per call (note 1: the
 * socket is closed, its queue dropped).  An order already marked so
 * (deadline 0) belongs to a socket given up before: the endpoint may have
 * a fresh socket by now, with orders of its own, which it leaves alone. */
static void inflight_expire(vl_client *c, uint32_t k, uint64_t *tag, vl_client_result *r)
{
    uint32_t ep = c->fl[k].endpoint;
    if (c->fl[k].deadline_ms != 0 && c->socks[ep] != NULL) {
        sock_close(c, ep);
        c->fl_down_until[ep] = now_ms() + 2u * (uint64_t)c->timeout_ms; /* note 9 */
        c->fl_probing[ep] = false;
        for (uint32_t j = 0; j < VL_CLIENT_MAX_INFLIGHT; j++)
            if (c->fl[j].req_id != 0 && c->fl[j].endpoint == ep)
                c->fl[j].deadline_ms = 0;
    }
    r->code = VL_ERR_UNAVAILABLE;
    snprintf(r->message, sizeof r->message, "no answer from %s within %u ms",
             c->endpoints[ep], c->timeout_ms);
    inflight_end(c, k, tag, r);
}

/* Receive one frame from endpoint ep if one is waiting.  1: it answered
 * an order in flight (*tag, r filled); 0: nothing waiting; -1: a frame
 * that answers nothing in flight (stale or junk, discarded). */
static int inflight_take(vl_client *c, size_t ep, uint64_t *tag, vl_client_result *r)
{
    reply_release(c);
    zmq_msg_init(&c->reply);
    c->have_reply = true;
    if (zmq_msg_recv(&c->reply, c->socks[ep], ZMQ_DONTWAIT) < 0)
        return 0;
    if (vl_msg_decode(zmq_msg_data(&c->reply), zmq_msg_size(&c->reply), &c->msg) != VL_OK ||
        c->msg.type != VL_MSG_CLIENT_REPLY)
        return -1;
    uint32_t k = (uint32_t)(c->msg.req_id & (VL_CLIENT_MAX_INFLIGHT - 1));
    struct inflight *f = &c->fl[k];
    if (f->req_id == 0 || f->req_id != c->msg.req_id || f->endpoint != ep)
        return -1;
    bool final;
    r->answered = 1;
    c->fl_down_until[ep] = 0; /* it answers: up (note 9) */
    c->fl_probing[ep] = false;
    r->code = judge_submit_reply(c, ep, &f->own, r, &final);
    inflight_end(c, k, tag, r);
    return 1;
}

vl_err vl_client_next(vl_client *c, uint32_t wait_ms, uint64_t *tag, vl_client_result *r)
{
    assert(c != NULL && tag != NULL && r != NULL);
    memset(r, 0, sizeof *r);
    r->endpoint = -1;
    if (c->fl_count == 0)
        return VL_ERR_EMPTY;
    uint64_t until = now_ms() + wait_ms;
    for (uint32_t stale = 0; stale <= VL_CLIENT_MAX_STALE;) {
        /* a frame already waiting, starting where the last call stopped */
        for (size_t n = 0; n < c->n; n++) {
            size_t ep = (c->fl_next_ep + n) % c->n;
            if (c->fl_on[ep] == 0 || c->socks[ep] == NULL)
                continue;
            int got;
            while ((got = inflight_take(c, ep, tag, r)) < 0 && stale < VL_CLIENT_MAX_STALE)
                stale++;
            if (got > 0) {
                c->fl_next_ep = (ep + 1) % c->n;
                return VL_OK;
            }
        }
        /* the order closest to its deadline, and whether it is past it */
        uint64_t t = now_ms(), first = UINT64_MAX;
        uint32_t first_k = 0;
        for (uint32_t k = 0; k < VL_CLIENT_MAX_INFLIGHT; k++)
            if (c->fl[k].req_id != 0 && c->fl[k].deadline_ms < first) {
                first = c->fl[k].deadline_ms;
                first_k = k;
            }
        if (first <= t) {
            inflight_expire(c, first_k, tag, r);
            return VL_OK;
        }
        if (t >= until || stale >= VL_CLIENT_MAX_STALE)
            return VL_ERR_TIMEOUT;
        zmq_pollitem_t items[VL_CLIENT_MAX_ENDPOINTS];
        int n_items = 0;
        for (size_t ep = 0; ep < c->n; ep++)
            if (c->fl_on[ep] > 0 && c->socks[ep] != NULL)
                items[n_items++] = (zmq_pollitem_t){.socket = c->socks[ep], .events = ZMQ_POLLIN};
        uint64_t stop = first < until ? first : until;
        if (zmq_poll(items, n_items, (long)(stop - t)) < 0 && zmq_errno() != EINTR)
            return VL_ERR_UNAVAILABLE;
        stale++; /* bounds the loop: a wake-up with nothing for us counts too */
    }
    return VL_ERR_TIMEOUT;
}

/* ---- GET_ACCOUNT ------------------------------------------------------------------ */

void vl_client_account_free(vl_client_account *r)
{
    if (r == NULL)
        return;
    for (uint32_t i = 0; i < r->cert_count && r->certs != NULL; i++)
        free(r->certs[i]);
    free(r->certs);
    free(r->cert_lens);
    free(r->cert_ok);
    free(r->account_raw);
    memset(r, 0, sizeof *r);
    r->endpoint = -1;
}

/* Append the certificates of the ACCOUNT reply in c->msg to r, verifying
 * each: certificate k of r must act on account id at seq r->first_seq + k.
 * VL_OK, the first verification failure (r->cert_ok says which), or
 * VL_ERR_NOMEM. */
static vl_err add_certs(vl_client *c, const uint8_t id[32], vl_client_account *r)
{
    const vl_msg *m = &c->msg;
    uint32_t n = m->item_count, have = r->cert_count;
    if (n == 0)
        return VL_OK;
    uint8_t **certs = realloc(r->certs, (size_t)(have + n) * sizeof *certs);
    if (certs != NULL)
        r->certs = certs;
    size_t *lens = realloc(r->cert_lens, (size_t)(have + n) * sizeof *lens);
    if (lens != NULL)
        r->cert_lens = lens;
    vl_err *oks = realloc(r->cert_ok, (size_t)(have + n) * sizeof *oks);
    if (oks != NULL)
        r->cert_ok = oks;
    if (certs == NULL || lens == NULL || oks == NULL)
        return VL_ERR_NOMEM;
    vl_err first = VL_OK;
    for (uint32_t k = 0; k < n; k++) {
        vl_bytes b = m->items[k];
        if ((r->certs[have + k] = dup_bytes(b.ptr, b.len)) == NULL)
            return VL_ERR_NOMEM;
        r->cert_lens[have + k] = b.len;
        r->cert_count = have + k + 1;
        uint8_t acct[32];
        vl_err e = vl_client_verify_cert(c->g, c->cache, b.ptr, b.len, NULL, c->cert, NULL);
        if (e == VL_OK) {
            vl_order_account(acct, &c->cert->order);
            if (memcmp(acct, id, 32) != 0 || c->cert->order.seq != r->first_seq + have + k)
                e = VL_ERR_CORRUPT; /* not this account's certificate at that seq */
        }
        r->cert_ok[have + k] = e;
        if (first == VL_OK)
            first = e;
    }
    return first;
}

/* Ask endpoint i for account id's state and certificates from r->first_seq
 * on, page by page (GET_ACCOUNT for the first page from seq 0, else
 * GET_ACCOUNT_FROM; docs/protocol.md 6), until max_certs, the account's
 * next_seq or a page with none.  VL_OK; an error of exchange
 * (VL_ERR_UNAVAILABLE: no answer); VL_ERR_TYPE with the reply in c->msg
 * (not an ACCOUNT: the caller reads it); VL_ERR_NOMEM; or *bad set and a
 * verification code (r filled, r->message says so). */
static vl_err account_pages(vl_client *c, size_t i, const uint8_t id[32], uint32_t max_certs,
                            vl_client_account *r, bool *bad)
{
    r->endpoint = (int)i;
    *bad = false;
    for (;;) { /* bounded: each page brings a certificate or ends the loop */
        uint64_t at = r->first_seq + r->cert_count;
        uint32_t want = max_certs - r->cert_count;
        vl_msg req;
        vl_msg_init(&req, NULL);
        req.req_kind = at == 0 ? VL_REQ_GET_ACCOUNT : VL_REQ_GET_ACCOUNT_FROM;
        memcpy(req.account_id, id, 32);
        req.from_index = at;
        req.max_items = want < VL_MAX_MSG_ITEMS ? (want > 0 ? want : 1) : VL_MAX_MSG_ITEMS;
        vl_err e = exchange(c, i, &req);
        if (e != VL_OK)
            return e;
        if (c->msg.reply_kind != VL_REPLY_ACCOUNT)
            return VL_ERR_TYPE;
        if (r->account_raw == NULL) { /* the state: the first page's */
            if ((r->account_raw = dup_bytes(c->msg.account.ptr, c->msg.account.len)) == NULL)
                return VL_ERR_NOMEM;
            r->account_len = c->msg.account.len;
            e = vl_account_decode(r->account_raw, r->account_len, &r->account);
        }
        uint32_t before = r->cert_count;
        if (c->msg.item_count > want) /* more than asked (GET_ACCOUNT): keep what was */
            c->msg.item_count = want;
        if (e == VL_OK)
            e = add_certs(c, id, r);
        if (e == VL_ERR_NOMEM)
            return e;
        if (e != VL_OK) {
            snprintf(r->message, sizeof r->message,
                     "%s served an account that does not verify: %s", c->endpoints[i],
                     vl_err_slug(e));
            *bad = true;
            return e;
        }
        if (r->cert_count == before || r->cert_count >= max_certs ||
            r->first_seq + r->cert_count >= r->account.next_seq)
            return VL_OK;
    }
}

vl_err vl_client_get_account_from(vl_client *c, const uint8_t account_id[32], uint64_t from_seq,
                                  uint32_t max_certs, vl_client_account *r)
{
    assert(c != NULL && account_id != NULL && r != NULL);
    memset(r, 0, sizeof *r);
    r->endpoint = -1;
    r->first_seq = from_seq;
    vl_err best = VL_ERR_UNAVAILABLE;
    int best_rank = 0; /* 0 none, 1 an error reply, 2 unknown account, 3 bad answer */
    size_t from = c->start;
    for (size_t k = 0; k < c->n; k++) {
        size_t i = (from + k) % c->n; /* note 8 */
        vl_client_account t;
        memset(&t, 0, sizeof t);
        t.first_seq = from_seq;
        bool bad;
        vl_err e = account_pages(c, i, account_id, max_certs, &t, &bad);
        c->start = e == VL_ERR_UNAVAILABLE ? (i + 1) % c->n : i;
        if (e == VL_OK || e == VL_ERR_NOMEM || bad) {
            /* r: this answer (a bad one is kept, as the last one seen) */
            vl_client_account_free(r);
            *r = t;
            if (e == VL_OK || e == VL_ERR_NOMEM)
                return r->code = e;
            best = e;
            best_rank = 3;
            continue;
        }
        vl_client_account_free(&t);
        if (e == VL_ERR_UNAVAILABLE)
            continue;
        if (e != VL_ERR_TYPE) /* the call itself failed (VL_ERR_USAGE: orders in flight) */
            return r->code = e;
        const vl_msg *m = &c->msg;
        int rank = m->reply_kind == VL_REPLY_ERROR && m->code == VL_ERR_UNKNOWN_ACCOUNT ? 2 : 1;
        if (rank > best_rank) {
            best_rank = rank;
            best = m->reply_kind == VL_REPLY_ERROR ? (vl_err)m->code : VL_ERR_TYPE;
            copy_text(r->message, sizeof r->message, m->text);
        }
    }
    return r->code = best;
}

vl_err vl_client_get_account(vl_client *c, const uint8_t account_id[32], vl_client_account *r)
{
    return vl_client_get_account_from(c, account_id, 0, UINT32_MAX, r);
}

/* ---- STATUS, GET_LOG, GET_CHECKPOINT -------------------------------------------------- */

/* Send req to endpoint i; VL_OK when it answered with reply kind `want`;
 * the node's error code (message copied to msg) or VL_ERR_TYPE otherwise. */
static vl_err ask(vl_client *c, size_t i, vl_msg *req, uint8_t want, char *msg, size_t cap)
{
    if (i >= c->n)
        return VL_ERR_USAGE;
    vl_err e = exchange(c, i, req);
    if (e != VL_OK)
        return e;
    if (c->msg.reply_kind == want)
        return VL_OK;
    if (c->msg.reply_kind != VL_REPLY_ERROR)
        return VL_ERR_TYPE;
    if (msg != NULL)
        copy_text(msg, cap, c->msg.text);
    return c->msg.code != VL_OK ? (vl_err)c->msg.code : VL_ERR_TYPE;
}

vl_err vl_client_status(vl_client *c, size_t index, vl_status *status)
{
    assert(c != NULL && status != NULL);
    memset(status, 0, sizeof *status);
    vl_msg req;
    vl_msg_init(&req, NULL);
    req.req_kind = VL_REQ_STATUS;
    vl_err e = ask(c, index, &req, VL_REPLY_STATUS, NULL, 0);
    if (e == VL_OK)
        *status = c->msg.status;
    return e;
}

void vl_client_log_free(vl_client_log *r)
{
    if (r == NULL)
        return;
    for (uint32_t i = 0; i < r->count && r->entries != NULL; i++)
        free(r->entries[i]);
    free(r->entries);
    free(r->entry_lens);
    memset(r, 0, sizeof *r);
}

vl_err vl_client_get_log(vl_client *c, size_t index, uint64_t from_index, uint32_t max_items,
                         vl_client_log *r)
{
    assert(c != NULL && r != NULL);
    memset(r, 0, sizeof *r);
    if (max_items == 0 || max_items > VL_MAX_MSG_ITEMS)
        return r->code = VL_ERR_RANGE;
    vl_msg req;
    vl_msg_init(&req, NULL);
    req.req_kind = VL_REQ_GET_LOG;
    req.from_index = from_index;
    req.max_items = max_items;
    vl_err e = ask(c, index, &req, VL_REPLY_LOG, r->message, sizeof r->message);
    if (e != VL_OK)
        return r->code = e;
    const vl_msg *m = &c->msg;
    uint32_t n = m->item_count;
    r->log_head = m->log_head;
    r->entries = calloc(n > 0 ? n : 1, sizeof *r->entries);
    r->entry_lens = calloc(n > 0 ? n : 1, sizeof *r->entry_lens);
    if (r->entries == NULL || r->entry_lens == NULL)
        return r->code = VL_ERR_NOMEM;
    for (uint32_t k = 0; k < n; k++) {
        if ((r->entries[k] = dup_bytes(m->items[k].ptr, m->items[k].len)) == NULL)
            return r->code = VL_ERR_NOMEM;
        r->entry_lens[k] = m->items[k].len;
        r->count = k + 1;
    }
    return r->code = VL_OK;
}

vl_err vl_client_get_checkpoint(vl_client *c, size_t index, vl_checkpoint *cp)
{
    assert(c != NULL && cp != NULL);
    memset(cp, 0, sizeof *cp);
    vl_msg req;
    vl_msg_init(&req, NULL);
    req.req_kind = VL_REQ_GET_CHECKPOINT;
    vl_err e = ask(c, index, &req, VL_REPLY_CHECKPOINT, NULL, 0);
    if (e != VL_OK)
        return e;
    if (c->msg.item_count != 1)
        return VL_ERR_TYPE;
    e = vl_checkpoint_decode(c->msg.items[0].ptr, c->msg.items[0].len, cp);
    if (e == VL_OK)
        e = vl_checkpoint_verify(c->g, cp);
    if (e != VL_OK)
        memset(cp, 0, sizeof *cp);
    return e;
}
