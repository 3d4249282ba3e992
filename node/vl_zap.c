/* vl_zap.c - see vl_zap.h.
 *
 * The thread owns the REP socket after vl_zap_start hands it over (the
 * socket is created and bound in the caller's thread so that a bind
 * failure is known before the peer ROUTER exists; pthread_create is the
 * memory barrier ZeroMQ asks for when a socket changes threads).  The
 * thread polls with a short timeout so that vl_zap_stop is noticed.
 *
 * A request is at most ZAP_MAX_FRAMES frames of at most ZAP_FRAME_MAX
 * bytes (libzmq sends 7 for CURVE: version, request id, domain, address,
 * routing id, mechanism, client key); anything else is answered "400".
 */
#include "vl_zap.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "vl_keyfile.h"
#include "vl_log.h"

#define ZAP_MAX_FRAMES 8u
#define ZAP_FRAME_MAX 256u
/* Frames drained from one request at most (libzmq sends 7). */
#define ZAP_DRAIN_MAX 64u
#define ZAP_POLL_MS 100
/* Refusals are logged at most once per this interval (a rogue client
 * reconnects every few hundred milliseconds). */
#define ZAP_LOG_EVERY_MS 1000u

struct vl_zap {
    void *sock;
    pthread_t thread;
    bool started;
    const vl_genesis *g;
    uint16_t self;
    bool fault; /* test hook: fail at the first request (docs/voucherd.md) */
    atomic_bool stop;
    atomic_bool failed;
    atomic_uint_fast64_t admitted;
    atomic_uint_fast64_t refused;
    uint64_t last_log_ms; /* thread only */
    uint64_t suppressed;  /* thread only */
};

typedef struct {
    uint8_t data[ZAP_MAX_FRAMES][ZAP_FRAME_MAX];
    size_t len[ZAP_MAX_FRAMES];
    unsigned count;
    bool malformed;
} zap_request;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Receive every frame of one request.  1, 0 when there was none after
 * all (EAGAIN or EINTR before the first frame), or -1 on a socket error. */
static int recv_request(void *sock, zap_request *rq)
{
    memset(rq, 0, sizeof *rq);
    for (unsigned i = 0; i < ZAP_DRAIN_MAX; i++) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&f);
            return i == 0 && (e == EAGAIN || e == EINTR) ? 0 : -1;
        }
        size_t n = zmq_msg_size(&f);
        if (rq->count < ZAP_MAX_FRAMES && n <= ZAP_FRAME_MAX) {
            memcpy(rq->data[rq->count], zmq_msg_data(&f), n);
            rq->len[rq->count] = n;
        } else {
            rq->malformed = true;
        }
        rq->count++;
        int more = zmq_msg_more(&f);
        zmq_msg_close(&f);
        if (!more)
            return 1;
    }
    return -1; /* libzmq never sends this many frames: treat as broken */
}

static bool frame_is(const zap_request *rq, unsigned i, const char *text)
{
    size_t n = strlen(text);
    return rq->len[i] == n && memcmp(rq->data[i], text, n) == 0;
}

/* The genesis index admitted for this request, or -1 with *why set. */
static int decide(const vl_zap *z, const zap_request *rq, const char **why)
{
    *why = "malformed request";
    if (rq->malformed || rq->count != 7 || !frame_is(rq, 0, "1.0"))
        return -1;
    *why = "wrong domain";
    if (!frame_is(rq, 2, VL_ZAP_DOMAIN))
        return -1;
    *why = "not CURVE";
    if (!frame_is(rq, 5, "CURVE") || rq->len[6] != 32)
        return -1;
    *why = "key not in the genesis";
    for (uint32_t i = 0; i < z->g->node_count; i++) {
        if (memcmp(z->g->nodes[i].curve_pubkey, rq->data[6], 32) == 0) {
            if (i == z->self) {
                *why = "this node's own key";
                return -1;
            }
            return (int)i;
        }
    }
    return -1;
}

static void log_refusal(vl_zap *z, const zap_request *rq, const char *why)
{
    uint64_t now = mono_ms();
    if (z->last_log_ms != 0 && now - z->last_log_ms < ZAP_LOG_EVERY_MS) {
        z->suppressed++;
        return;
    }
    char key[41] = "-", addr[64] = "-", q[80];
    if (rq->count == 7 && rq->len[6] == 32)
        vl_z85_encode(key, rq->data[6]);
    if (rq->count > 3 && !rq->malformed) {
        size_t n = rq->len[3] < sizeof addr - 1 ? rq->len[3] : sizeof addr - 1;
        memcpy(addr, rq->data[3], n);
        addr[n] = '\0';
    }
    vl_log(VL_LOG_WARN, "peer_refused", "address=%s curve_key=%s reason=%s suppressed=%llu",
           addr, key, vl_log_quote(q, sizeof q, why), (unsigned long long)z->suppressed);
    z->last_log_ms = now;
    z->suppressed = 0;
}

static int send_frame(void *sock, const void *data, size_t len, bool more)
{
    return zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

/* Answer one request.  0, or -1 on a socket error. */
static int handle_one(vl_zap *z)
{
    zap_request rq;
    const char *why = "";
    char user[16] = "";
    int got = recv_request(z->sock, &rq);
    if (got == 0)
        return 0;
    if (got < 0 || z->fault)
        return -1;
    int peer = decide(z, &rq, &why);
    if (peer >= 0) {
        snprintf(user, sizeof user, "%d", peer);
        atomic_fetch_add(&z->admitted, 1);
        vl_log(VL_LOG_DEBUG, "peer_admitted", "peer=%s", z->g->nodes[peer].id);
    } else {
        atomic_fetch_add(&z->refused, 1);
        log_refusal(z, &rq, why);
    }
    /* The request id is echoed; a malformed request still gets an answer
     * so that the REP socket stays in step. */
    size_t id_len = rq.count > 1 && !rq.malformed ? rq.len[1] : 0;
    const char *status = peer >= 0 ? "200" : "400";
    const char *text = peer >= 0 ? "OK" : why;
    if (send_frame(z->sock, "1.0", 3, true) != 0 ||
        send_frame(z->sock, rq.data[1], id_len, true) != 0 ||
        send_frame(z->sock, status, 3, true) != 0 ||
        send_frame(z->sock, text, strlen(text), true) != 0 ||
        send_frame(z->sock, user, strlen(user), true) != 0 || send_frame(z->sock, "", 0, false))
        return -1;
    return 0;
}

static void *zap_main(void *arg)
{
    vl_zap *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = {.socket = z->sock, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&it, 1, ZAP_POLL_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || (rc > 0 && handle_one(z) != 0)) {
            /* Fail closed: keep the socket bound (handshakes then wait
             * rather than pass) and let the main loop stop the node. */
            vl_log(VL_LOG_ERROR, "zap_failed", "reason=\"%s\"",
                   z->fault ? "fault injected" : zmq_strerror(errno));
            atomic_store(&z->failed, true);
            break;
        }
    }
    return NULL;
}

vl_err vl_zap_start(vl_zap **out, void *ctx, const vl_genesis *g, uint16_t self, char *err,
                    size_t err_cap)
{
    assert(out != NULL && ctx != NULL && g != NULL && err != NULL);
    *out = NULL;
    vl_zap *z = calloc(1, sizeof *z);
    if (z == NULL) {
        snprintf(err, err_cap, "out of memory");
        return VL_ERR_NOMEM;
    }
    z->g = g;
    z->self = self;
    const char *fault = getenv("VOUCHERD_TEST_ZAP_FAIL");
    z->fault = fault != NULL && strcmp(fault, "1") == 0;
    int linger = 0;
    z->sock = zmq_socket(ctx, ZMQ_REP);
    if (z->sock == NULL || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, VL_ZAP_ENDPOINT) != 0) {
        snprintf(err, err_cap, "cannot bind the ZAP handler at %s: %s", VL_ZAP_ENDPOINT,
                 zmq_strerror(errno));
        goto err;
    }
    if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
        snprintf(err, err_cap, "cannot start the ZAP handler thread");
        goto err;
    }
    z->started = true;
    *out = z;
    return VL_OK;
err:
    vl_zap_stop(&z);
    return VL_ERR_IO;
}

bool vl_zap_failed(const vl_zap *z)
{
    return atomic_load(&((vl_zap *)z)->failed);
}

uint64_t vl_zap_admitted(const vl_zap *z)
{
    return atomic_load(&((vl_zap *)z)->admitted);
}

uint64_t vl_zap_refused(const vl_zap *z)
{
    return atomic_load(&((vl_zap *)z)->refused);
}

void vl_zap_stop(vl_zap **pz)
{
    if (pz == NULL || *pz == NULL)
        return;
    vl_zap *z = *pz;
    if (z->started) {
        atomic_store(&z->stop, true);
        pthread_join(z->thread, NULL);
    }
    if (z->sock != NULL)
        zmq_close(z->sock);
    free(z);
    *pz = NULL;
}

int vl_zap_user_peer(const char *user_id, uint32_t node_count, uint16_t self)
{
    if (user_id == NULL || user_id[0] == '\0' || strlen(user_id) > 3)
        return -1;
    if (user_id[0] == '0' && user_id[1] != '\0')
        return -1; /* one spelling per index */
    unsigned v = 0;
    for (const char *p = user_id; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10u + (unsigned)(*p - '0');
    }
    if (v >= node_count || v == self)
        return -1;
    return (int)v;
}
