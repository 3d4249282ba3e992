/* slow_peer.c - for tests/node/peer_queue_test.sh: a faulty peer that asks
 * an honest node for pages of its log and reads the replies slowly.
 *
 *   slow_peer GENESIS NODE_KEY NODE_ID TARGET_ID COUNT RATE READ_MS SECONDS
 *
 * Speaks for NODE_ID (a genesis node, with its Schnorr and CURVE keys in
 * NODE_KEY; the real NODE_ID must be stopped): binds NODE_ID's peer
 * endpoint, where TARGET_ID's DEALER delivers its replies, with a receive
 * queue of one message and a small kernel buffer, and connects to
 * TARGET_ID's peer endpoint.  Sends COUNT LOG_REQUESTs from index 0 (as
 * many entries as a message holds), RATE a second (RATE 100000: all at
 * once), and takes one message every READ_MS, so that the replies pile up
 * on the target's side (node/vl_net.c "Peer send queues") for as long as
 * the target keeps the link (its heartbeat may drop it after a few
 * seconds, its queue with it), for SECONDS in all.
 * Prints "sent N requests (B bytes), read M messages (R bytes)".  Exit 0,
 * 2 on bad usage or a broken environment.  Every loop is bounded by COUNT
 * or SECONDS.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_wire.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static _Noreturn void die(const char *what, const char *detail)
{
    fprintf(stderr, "slow_peer: %s: %s\n", what, detail);
    exit(2);
}

static long arg_long(const char *s, const char *name, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        die(name, "out of range");
    return v;
}

static int set_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

/* Take one message off the ROUTER if there is one: 1 and its size in
 * *bytes, else 0. */
static int take_one(void *router, uint64_t *bytes)
{
    zmq_msg_t f;
    int got = 0;
    for (int frame = 0; frame < 16; frame++) { /* [routing id][payload] */
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f);
            return got;
        }
        bool more = zmq_msg_more(&f);
        if (frame > 0)
            *bytes += zmq_msg_size(&f);
        got = 1;
        zmq_msg_close(&f);
        if (!more)
            break;
    }
    return got;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: slow_peer GENESIS NODE_KEY NODE_ID TARGET_ID COUNT RATE "
                        "READ_MS SECONDS\n");
        return 2;
    }
    static vl_genesis g;
    vl_keyfile key;
    char err[512];
    if (vl_genesis_load_file(&g, argv[1], err, sizeof err) != VL_OK)
        die(argv[1], err);
    if (vl_keyfile_load(&key, argv[2], err, sizeof err) != VL_OK)
        die(argv[2], err);
    int self = vl_genesis_node_by_id(&g, argv[3]);
    int target = vl_genesis_node_by_id(&g, argv[4]);
    if (self < 0 || target < 0 || self == target || !key.has_curve)
        die("NODE_ID, TARGET_ID", "two different genesis nodes, and a node key");
    long count = arg_long(argv[5], "COUNT", 1, 1000000);
    long rate = arg_long(argv[6], "RATE", 1, 100000);
    long read_ms = arg_long(argv[7], "READ_MS", 1, 60000);
    long seconds = arg_long(argv[8], "SECONDS", 1, 3600);

    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int64_t no_limit = -1;
    if (router == NULL || dealer == NULL || set_int(router, ZMQ_LINGER, 0) != 0 ||
        set_int(router, ZMQ_RCVHWM, 1) != 0 || set_int(router, ZMQ_RCVBUF, 4096) != 0 ||
        zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &no_limit, sizeof no_limit) != 0 ||
        set_int(router, ZMQ_CURVE_SERVER, 1) != 0 ||
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, key.curve_secret, 32) != 0 ||
        set_int(dealer, ZMQ_LINGER, 0) != 0 ||
        zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, g.nodes[target].curve_pubkey, 32) != 0 ||
        zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, key.curve_pubkey, 32) != 0 ||
        zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, key.curve_secret, 32) != 0)
        die("sockets", zmq_strerror(errno));
    if (zmq_bind(router, g.nodes[self].peer_endpoint) != 0)
        die(g.nodes[self].peer_endpoint, zmq_strerror(errno));
    if (zmq_connect(dealer, g.nodes[target].peer_endpoint) != 0)
        die(g.nodes[target].peer_endpoint, zmq_strerror(errno));

    static vl_msg_storage st;
    static uint8_t buf[4096];
    uint64_t start = mono_ms(), end = start + (uint64_t)seconds * 1000u;
    uint64_t next_send = start, next_read = start, read_bytes = 0, sent_bytes = 0;
    long sent = 0, taken = 0;
    while (mono_ms() < end) {
        uint64_t now = mono_ms();
        for (long burst = 0; sent < count && now >= next_send && burst < count; burst++) {
            vl_msg m;
            vl_msg_init(&m, &st);
            m.type = VL_MSG_LOG_REQUEST;
            m.req_id = (uint64_t)sent + 1u;
            m.from = (uint16_t)self;
            m.from_index = 0;
            m.max_items = VL_MAX_MSG_ITEMS;
            size_t len;
            if (vl_msg_encode(&m, buf, sizeof buf, &len) != VL_OK)
                die("LOG_REQUEST", "does not encode");
            if (zmq_send(dealer, buf, len, ZMQ_DONTWAIT) != (int)len)
                break; /* not connected yet, or the pipe is full: later */
            sent++;
            sent_bytes += len;
            next_send = start + (uint64_t)sent * 1000u / (uint64_t)rate;
        }
        if (now >= next_read) {
            taken += take_one(router, &read_bytes);
            next_read = now + (uint64_t)read_ms;
        }
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
    printf("sent %ld requests (%llu bytes), read %ld messages (%llu bytes)\n", sent,
           (unsigned long long)sent_bytes, taken, (unsigned long long)read_bytes);
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
    vl_keyfile_wipe(&key);
    return 0;
}
