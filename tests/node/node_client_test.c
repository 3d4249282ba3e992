/* node_client_test.c - a small client that exercises a running voucherd
 * over real ZeroMQ sockets (driven by voucherd_test.sh).
 *
 *   node_client_test submit  GENESIS CLIENT_EP ISSUER_KEY HOLDER_KEY PROVIDER_KEY
 *       ISSUE one voucher and REDEEM part of it; each reply must be a CERT
 *       that verifies against the genesis and certifies the order sent.
 *   node_client_test bad-orders GENESIS CLIENT_EP ISSUER_KEY HOLDER_KEY PROVIDER_KEY
 *       after `submit` (voucher serial 1 exists): REDEEM orders with a bad
 *       signature (BAD_SIG), signed by a key that is not the voucher's
 *       holder (WRONG_SIGNER), for another network (WRONG_NETWORK) and for
 *       a voucher that was never issued (UNKNOWN_ACCOUNT) are refused with
 *       those codes; nothing is certified (the voucher still has next_seq
 *       1) and STATUS is still answered.
 *   node_client_test malformed CLIENT_EP
 *       garbage, truncated, wrong-version and multi-frame requests get an
 *       ERROR reply (multi-frame: dropped, no reply); a message over
 *       VL_MAX_MSG_BYTES is refused by the socket (the connection drops);
 *       a STATUS afterwards is still answered.
 *   node_client_test peer-auth GENESIS PEER_EP GOOD_NODE_KEY
 *       a CURVE key not in the genesis is refused at the handshake; a
 *       genesis node key completes it.
 *   node_client_test peer-refused GENESIS PEER_EP GOOD_NODE_KEY
 *       even a genesis key does not complete a handshake (ZAP handler down).
 *   node_client_test zap-enforce
 *       in-process: with ZMQ_ZAP_ENFORCE_DOMAIN and no ZAP handler, libzmq
 *       fails CURVE handshakes (the assumption voucherd relies on).
 *
 * Prints "N passed, N failed"; exits 1 on a failure, 2 on bad usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_verify.h"
#include "vl_wire.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define REPLY_WAIT_MS 15000
#define HANDSHAKE_WAIT_MS 5000

static int passed, failed;
static vl_msg_storage msg_storage;
static uint8_t reply_buf[VL_MAX_MSG_BYTES];

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            passed++;                                                                      \
        } else {                                                                           \
            failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *dealer_new(void *ctx, const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, ep) != 0) {
        fprintf(stderr, "connect %s: %s\n", ep, zmq_strerror(errno));
        exit(2);
    }
    return s;
}

/* Receive one reply frame within wait_ms into reply_buf.  Its length, or
 * -1 on a timeout. */
static long recv_reply(void *s, int wait_ms)
{
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    uint64_t end = mono_ms() + (uint64_t)wait_ms;
    for (uint64_t now = mono_ms(); now < end; now = mono_ms()) {
        if (zmq_poll(&it, 1, (long)(end - now)) <= 0)
            continue;
        int n = zmq_recv(s, reply_buf, sizeof reply_buf, 0);
        if (n >= 0)
            return n > (int)sizeof reply_buf ? -1 : n;
    }
    return -1;
}

/* Wait for a decoded CLIENT_REPLY with this req_id. */
static bool wait_reply(void *s, uint64_t req_id, vl_msg *m, int wait_ms)
{
    uint64_t end = mono_ms() + (uint64_t)wait_ms;
    while (mono_ms() < end) {
        long n = recv_reply(s, (int)(end - mono_ms()));
        if (n < 0)
            return false;
        vl_msg_init(m, &msg_storage);
        if (vl_msg_decode(reply_buf, (size_t)n, m) == VL_OK &&
            m->type == VL_MSG_CLIENT_REPLY && m->req_id == req_id)
            return true;
    }
    return false;
}

static void send_request(void *s, const vl_msg *m)
{
    static uint8_t buf[1u << 20];
    size_t len = 0;
    if (vl_msg_encode(m, buf, sizeof buf, &len) != VL_OK || zmq_send(s, buf, len, 0) < 0) {
        fprintf(stderr, "cannot encode or send a request\n");
        exit(2);
    }
}

static vl_err request_status(void *s, uint64_t req_id, int wait_ms)
{
    vl_msg m;
    vl_msg_init(&m, &msg_storage);
    m.type = VL_MSG_CLIENT_REQUEST;
    m.req_id = req_id;
    m.req_kind = VL_REQ_STATUS;
    send_request(s, &m);
    if (!wait_reply(s, req_id, &m, wait_ms))
        return VL_ERR_TIMEOUT;
    return m.reply_kind == VL_REPLY_STATUS ? VL_OK : VL_ERR_TYPE;
}

static int summary(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

/* ---- submit ---------------------------------------------------------------------------- */

static void load_key(vl_keyfile *k, const char *path)
{
    char err[256];
    if (vl_keyfile_load(k, path, err, sizeof err) != VL_OK) {
        fprintf(stderr, "%s: %s\n", path, err);
        exit(2);
    }
}

static vl_genesis *load_genesis(const char *path)
{
    char err[256];
    vl_genesis *g = calloc(1, sizeof *g);
    if (g == NULL || vl_genesis_load_file(g, path, err, sizeof err) != VL_OK) {
        fprintf(stderr, "%s: %s\n", path, g != NULL ? err : "out of memory");
        exit(2);
    }
    return g;
}

/* Submit o (the same bytes again on a TIMEOUT/UNAVAILABLE answer) and check
 * the reply is a certificate of exactly o that verifies against g. */
static void submit_and_verify(void *s, const vl_genesis *g, const vl_order *o, uint64_t req_id,
                              const char *what)
{
    static uint8_t order_buf[65536];
    static vl_cert cert;
    size_t len = 0;
    uint8_t want[32], got[32];
    CHECK(vl_order_encode(o, order_buf, sizeof order_buf, &len) == VL_OK, "%s encodes", what);
    vl_order_hash(want, o);
    vl_msg m;
    bool have = false;
    for (int attempt = 0; attempt < 3 && !have; attempt++) {
        vl_msg_init(&m, &msg_storage);
        m.type = VL_MSG_CLIENT_REQUEST;
        m.req_id = req_id;
        m.req_kind = VL_REQ_SUBMIT;
        m.item_count = 1;
        m.items[0] = (vl_bytes){order_buf, (uint32_t)len};
        send_request(s, &m);
        have = wait_reply(s, req_id, &m, REPLY_WAIT_MS) &&
               !(m.reply_kind == VL_REPLY_ERROR &&
                 (m.code == VL_ERR_TIMEOUT || m.code == VL_ERR_UNAVAILABLE));
    }
    CHECK(have, "%s: a reply", what);
    if (!have)
        return;
    CHECK(m.reply_kind == VL_REPLY_CERT, "%s: reply kind %u (code %u: %.*s)", what,
          m.reply_kind, m.code, (int)m.text.len, m.text.ptr ? (const char *)m.text.ptr : "");
    if (m.reply_kind != VL_REPLY_CERT)
        return;
    vl_err e = vl_cert_decode(m.items[0].ptr, m.items[0].len, &cert);
    CHECK(e == VL_OK, "%s: certificate decodes: %s", what, vl_strerror(e));
    e = vl_cert_verify(g, &cert, NULL, got);
    CHECK(e == VL_OK, "%s: certificate verifies against the genesis: %s", what,
          vl_strerror(e));
    CHECK(memcmp(got, want, 32) == 0, "%s: certificate is for the order sent", what);
    CHECK(cert.vote_count >= g->quorum, "%s: %u votes, quorum %u", what, cert.vote_count,
          g->quorum);
}

static int cmd_submit(char **argv)
{
    static vl_order order;
    vl_genesis *g = load_genesis(argv[0]);
    vl_keyfile issuer, holder, provider;
    load_key(&issuer, argv[2]);
    load_key(&holder, argv[3]);
    load_key(&provider, argv[4]);
    void *ctx = zmq_ctx_new();
    void *s = dealer_new(ctx, argv[1]);
    uint64_t now_s = (uint64_t)time(NULL);

    memset(&order, 0, sizeof order);
    memcpy(order.network_id, g->network_id, 32);
    order.kind = VL_ORDER_ISSUE;
    order.seq = 0;
    memcpy(order.issuer, issuer.sign.pubkey, 32);
    order.voucher_count = 1;
    order.vouchers[0] = (vl_voucher_spec){.serial = 1, .value_fen = 100000,
                                          .valid_from_s = now_s - 86400,
                                          .valid_until_s = now_s + 365u * 86400u,
                                          .subsidy_bp = 8000,
                                          .program = {(const uint8_t *)"node-test", 9}};
    memcpy(order.vouchers[0].holder, holder.sign.pubkey, 32);
    order.sig_count = (uint8_t)vl_order_sig_count(order.kind);
    vl_order_sign_slot(&order, 0, &issuer.sign, NULL);
    submit_and_verify(s, g, &order, 101, "ISSUE");

    memset(&order, 0, sizeof order);
    memcpy(order.network_id, g->network_id, 32);
    order.kind = VL_ORDER_REDEEM;
    order.seq = 0;
    memcpy(order.issuer, issuer.sign.pubkey, 32);
    order.serial = 1;
    memcpy(order.holder, holder.sign.pubkey, 32);
    order.amount_fen = 25000;
    memcpy(order.provider, provider.sign.pubkey, 32);
    memset(order.invoice_hash, 0x5a, 32);
    order.gpu_milli_hours = 1500;
    order.sig_count = (uint8_t)vl_order_sig_count(order.kind);
    vl_order_sign_slot(&order, 0, &holder.sign, NULL);
    vl_order_sign_slot(&order, 1, &provider.sign, NULL);
    submit_and_verify(s, g, &order, 102, "REDEEM");

    zmq_close(s);
    zmq_ctx_term(ctx);
    vl_keyfile_wipe(&issuer);
    vl_keyfile_wipe(&holder);
    vl_keyfile_wipe(&provider);
    free(g);
    return summary();
}

/* ---- refused orders ------------------------------------------------------------------- */

/* A REDEEM of voucher (issuer, serial) at seq, signed by holder_key (in
 * the holder slot; `holder` is the key the order names) and provider. */
static void redeem_order(vl_order *o, const vl_genesis *g, const vl_keyfile *issuer,
                         const uint8_t holder[32], const vl_keyfile *holder_key,
                         const vl_keyfile *provider, uint64_t serial, uint64_t seq)
{
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, g->network_id, 32);
    o->kind = VL_ORDER_REDEEM;
    o->seq = seq;
    memcpy(o->issuer, issuer->sign.pubkey, 32);
    o->serial = serial;
    memcpy(o->holder, holder, 32);
    o->amount_fen = 100;
    memcpy(o->provider, provider->sign.pubkey, 32);
    memset(o->invoice_hash, 0x6b, 32);
    o->gpu_milli_hours = 10;
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
    vl_order_sign_slot(o, 0, &holder_key->sign, NULL);
    vl_order_sign_slot(o, 1, &provider->sign, NULL);
}

/* Submit o once and expect an ERROR reply with `code`. */
static void submit_expect(void *s, const vl_order *o, uint64_t req_id, vl_err code,
                          const char *what)
{
    static uint8_t order_buf[65536];
    size_t len = 0;
    vl_msg m;
    CHECK(vl_order_encode(o, order_buf, sizeof order_buf, &len) == VL_OK, "%s encodes", what);
    vl_msg_init(&m, &msg_storage);
    m.type = VL_MSG_CLIENT_REQUEST;
    m.req_id = req_id;
    m.req_kind = VL_REQ_SUBMIT;
    m.item_count = 1;
    m.items[0] = (vl_bytes){order_buf, (uint32_t)len};
    send_request(s, &m);
    bool got = wait_reply(s, req_id, &m, REPLY_WAIT_MS);
    CHECK(got, "%s: a reply", what);
    if (got)
        CHECK(m.reply_kind == VL_REPLY_ERROR && m.code == code,
              "%s: reply kind %u code %u (%.*s), want ERROR %s", what, m.reply_kind, m.code,
              (int)m.text.len, m.text.ptr ? (const char *)m.text.ptr : "", vl_err_name(code));
}

/* next_seq of voucher (issuer, serial) as the node serves it; UINT64_MAX
 * if it did not answer with an account. */
static uint64_t voucher_next_seq(void *s, const uint8_t issuer[32], uint64_t serial,
                                 uint64_t req_id)
{
    vl_msg m;
    vl_account a;
    vl_msg_init(&m, &msg_storage);
    m.type = VL_MSG_CLIENT_REQUEST;
    m.req_id = req_id;
    m.req_kind = VL_REQ_GET_ACCOUNT;
    vl_voucher_account_id(m.account_id, issuer, serial);
    send_request(s, &m);
    if (!wait_reply(s, req_id, &m, REPLY_WAIT_MS) || m.reply_kind != VL_REPLY_ACCOUNT ||
        vl_account_decode(m.account.ptr, m.account.len, &a) != VL_OK)
        return UINT64_MAX;
    return a.next_seq;
}

static int cmd_bad_orders(char **argv)
{
    static vl_order order;
    vl_genesis *g = load_genesis(argv[0]);
    vl_keyfile issuer, holder, provider;
    load_key(&issuer, argv[2]);
    load_key(&holder, argv[3]);
    load_key(&provider, argv[4]);
    void *ctx = zmq_ctx_new();
    void *s = dealer_new(ctx, argv[1]);
    uint64_t seq = voucher_next_seq(s, issuer.sign.pubkey, 1, 200);
    CHECK(seq == 1, "voucher 1 has next_seq 1 after `submit` (got %llu)",
          (unsigned long long)seq);

    redeem_order(&order, g, &issuer, holder.sign.pubkey, &holder, &provider, 1, 1);
    order.sigs[0][17] ^= 0x01; /* the holder's signature no longer verifies */
    submit_expect(s, &order, 201, VL_ERR_BAD_SIG, "a REDEEM with a corrupted signature");

    /* a valid signature, but by the provider's key named as holder: the
     * voucher's holder did not sign */
    redeem_order(&order, g, &issuer, provider.sign.pubkey, &provider, &provider, 1, 1);
    submit_expect(s, &order, 202, VL_ERR_WRONG_SIGNER, "a REDEEM not signed by the holder");

    redeem_order(&order, g, &issuer, holder.sign.pubkey, &holder, &provider, 1, 1);
    order.network_id[0] ^= 0x80; /* another network; then signed for it */
    vl_order_sign_slot(&order, 0, &holder.sign, NULL);
    vl_order_sign_slot(&order, 1, &provider.sign, NULL);
    submit_expect(s, &order, 203, VL_ERR_WRONG_NETWORK, "a REDEEM for another network");

    redeem_order(&order, g, &issuer, holder.sign.pubkey, &holder, &provider, 987654321, 0);
    submit_expect(s, &order, 204, VL_ERR_UNKNOWN_ACCOUNT, "a REDEEM of a voucher never issued");

    seq = voucher_next_seq(s, issuer.sign.pubkey, 1, 205);
    CHECK(seq == 1, "nothing was certified: voucher 1 still has next_seq 1 (got %llu)",
          (unsigned long long)seq);
    CHECK(request_status(s, 206, 5000) == VL_OK, "STATUS after the refused orders");
    zmq_close(s);
    zmq_ctx_term(ctx);
    vl_keyfile_wipe(&issuer);
    vl_keyfile_wipe(&holder);
    vl_keyfile_wipe(&provider);
    free(g);
    return summary();
}

/* ---- socket monitors --------------------------------------------------------------------- */

static void *monitor_new(void *ctx, void *s, const char *name)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://%s", name);
    void *pair = zmq_socket(ctx, ZMQ_PAIR);
    int linger = 0;
    zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_socket_monitor(s, ep, ZMQ_EVENT_ALL) != 0 || zmq_connect(pair, ep) != 0) {
        fprintf(stderr, "monitor: %s\n", zmq_strerror(errno));
        exit(2);
    }
    return pair;
}

/* Wait until an event in `mask` arrives; returns it, or 0 on a timeout.
 * Events seen on the way are OR-ed into *seen (may be NULL). */
static unsigned wait_event(void *pair, unsigned mask, int wait_ms, unsigned *seen)
{
    uint64_t end = mono_ms() + (uint64_t)wait_ms;
    zmq_pollitem_t it = {.socket = pair, .events = ZMQ_POLLIN};
    for (uint64_t now = mono_ms(); now < end; now = mono_ms()) {
        if (zmq_poll(&it, 1, (long)(end - now)) <= 0)
            continue;
        uint8_t head[6];
        char ep[256];
        if (zmq_recv(pair, head, sizeof head, 0) != 6 || zmq_recv(pair, ep, sizeof ep, 0) < 0)
            continue;
        uint16_t ev;
        memcpy(&ev, head, 2);
        if (seen != NULL)
            *seen |= ev;
        if ((ev & mask) != 0)
            return ev;
    }
    return 0;
}

/* ---- malformed input ------------------------------------------------------------------- */

/* Send raw bytes; expect an ERROR reply with this code and req_id. */
static void expect_error(void *s, const void *data, size_t len, uint64_t req_id, vl_err code,
                         const char *what)
{
    vl_msg m;
    zmq_send(s, data, len, 0);
    bool got = wait_reply(s, req_id, &m, 5000);
    CHECK(got, "%s: a reply", what);
    if (got)
        CHECK(m.reply_kind == VL_REPLY_ERROR && m.code == code,
              "%s: reply kind %u code %u (want ERROR %d)", what, m.reply_kind, m.code,
              (int)code);
}

static void malformed_small(void *s)
{
    uint8_t status[11] = {1, VL_MSG_CLIENT_REQUEST, 7, 0, 0, 0, 0, 0, 0, 0, VL_REQ_STATUS};
    uint8_t trailing[12];
    memcpy(trailing, status, 11);
    trailing[11] = 0xee;
    uint8_t version[11];
    memcpy(version, status, 11);
    version[0] = 2;
    expect_error(s, "", 0, 0, VL_ERR_TRUNCATED, "empty frame");
    expect_error(s, "\x01", 1, 0, VL_ERR_TRUNCATED, "one byte");
    expect_error(s, version, sizeof version, 0, VL_ERR_VERSION, "wrong version");
    expect_error(s, status, 6, 0, VL_ERR_TRUNCATED, "truncated request");
    /* its 10-byte header is whole: the ERROR carries its req_id (protocol.md 7) */
    expect_error(s, trailing, sizeof trailing, 7, VL_ERR_TRAILING, "trailing byte");
    uint8_t garbage[300];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)(i * 37u + 11u);
    garbage[0] = 1;
    garbage[1] = 0x77;
    expect_error(s, garbage, sizeof garbage, 0, VL_ERR_TYPE, "unknown type");
    /* two payload frames: dropped without a reply */
    status[2] = 50;
    zmq_send(s, status, sizeof status, ZMQ_SNDMORE);
    zmq_send(s, status, sizeof status, 0);
    vl_msg m;
    CHECK(!wait_reply(s, 50, &m, 1000), "a two-frame request gets no reply");
    CHECK(request_status(s, 51, 5000) == VL_OK, "STATUS after malformed input");
}

static void malformed_oversize(void *ctx, void *s, const char *ep)
{
    void *mon = monitor_new(ctx, s, "client-mon");
    size_t big = (size_t)VL_MAX_MSG_BYTES + 1u;
    uint8_t *buf = calloc(1, big);
    if (buf == NULL)
        exit(2);
    buf[0] = 1;
    buf[1] = VL_MSG_CLIENT_REQUEST;
    buf[2] = 60; /* req_id 60 */
    buf[10] = VL_REQ_STATUS;
    CHECK(zmq_send(s, buf, big, 0) == (int)big, "oversized message queued");
    free(buf);
    CHECK(wait_event(mon, ZMQ_EVENT_DISCONNECTED, 5000, NULL) != 0,
          "the node drops a connection that sends more than VL_MAX_MSG_BYTES");
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    vl_msg m;
    CHECK(!wait_reply(s, 60, &m, 500), "no reply to the oversized message");
    void *fresh = dealer_new(ctx, ep);
    CHECK(request_status(fresh, 61, 5000) == VL_OK, "STATUS on a new connection afterwards");
    zmq_close(fresh);
    /* the old socket reconnects by itself; its first request may die with
     * the old connection, so ask a few times */
    bool ok = false;
    for (uint64_t id = 70; id < 80 && !ok; id++)
        ok = request_status(s, id, 1000) == VL_OK;
    CHECK(ok, "STATUS on the reconnected socket");
}

static int cmd_malformed(char **argv)
{
    void *ctx = zmq_ctx_new();
    void *s = dealer_new(ctx, argv[0]);
    CHECK(request_status(s, 1, 5000) == VL_OK, "STATUS answered");
    malformed_small(s);
    malformed_oversize(ctx, s, argv[0]);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return summary();
}

/* ---- peer authentication ----------------------------------------------------------------- */

/* A CURVE client DEALER to ep for server key `server` with our pair
 * (binary keys), monitored.  *mon gets the monitor's PAIR socket. */
static void *curve_dealer(void *ctx, const char *ep, const uint8_t server[32],
                          const uint8_t pub[32], const uint8_t sec[32], const char *name,
                          void **mon)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 32);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 32);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 32);
    *mon = monitor_new(ctx, s, name);
    if (zmq_connect(s, ep) != 0) {
        fprintf(stderr, "connect %s: %s\n", ep, zmq_strerror(errno));
        exit(2);
    }
    return s;
}

static void fresh_curve_pair(uint8_t pub[32], uint8_t sec[32])
{
    char pz[41], sz[41];
    if (zmq_curve_keypair(pz, sz) != 0 || vl_z85_decode(pub, pz) != VL_OK ||
        vl_z85_decode(sec, sz) != VL_OK) {
        fprintf(stderr, "zmq_curve_keypair failed\n");
        exit(2);
    }
}

static const uint8_t *server_key_of(const vl_genesis *g, const char *ep)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        if (strcmp(g->nodes[i].peer_endpoint, ep) == 0)
            return g->nodes[i].curve_pubkey;
    }
    fprintf(stderr, "%s is not a peer endpoint of the genesis\n", ep);
    exit(2);
}

static void peer_rogue(void *ctx, const vl_genesis *g, const char *ep)
{
    uint8_t pub[32], sec[32];
    unsigned seen = 0;
    void *mon;
    fresh_curve_pair(pub, sec);
    void *s = curve_dealer(ctx, ep, server_key_of(g, ep), pub, sec, "rogue-mon", &mon);
    /* a LOG_REQUEST claiming to be node 0: it must never be delivered */
    uint8_t req[24] = {1, VL_MSG_LOG_REQUEST, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       1, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0};
    zmq_send(s, req, sizeof req, ZMQ_DONTWAIT);
    unsigned ev = wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                      ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
                             HANDSHAKE_WAIT_MS, &seen);
    CHECK(ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
          "a CURVE key not in the genesis is refused (event 0x%x)", ev);
    /* and it stays refused over its reconnects */
    wait_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 1500, &seen);
    CHECK((seen & ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0, "the rogue handshake never succeeds");
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    zmq_close(s);
}

/* A DEALER with a genesis node key: want_ok says whether its handshake
 * must succeed (ZAP handler up) or must not (handler down). */
static void peer_good(void *ctx, const vl_genesis *g, const char *ep, const char *key_path,
                      bool want_ok)
{
    vl_keyfile k;
    void *mon;
    unsigned seen = 0;
    load_key(&k, key_path);
    void *s = curve_dealer(ctx, ep, server_key_of(g, ep), k.curve_pubkey, k.curve_secret,
                           "good-mon", &mon);
    unsigned ev = wait_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
                             want_ok ? HANDSHAKE_WAIT_MS : 3000, &seen);
    if (want_ok)
        CHECK(ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "a genesis node key completes the handshake");
    else
        CHECK(ev == 0, "no handshake completes while the ZAP handler is down (seen 0x%x)", seen);
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    zmq_close(s);
    vl_keyfile_wipe(&k);
}

static int cmd_peer(char **argv, bool want_ok)
{
    vl_genesis *g = load_genesis(argv[0]);
    void *ctx = zmq_ctx_new();
    if (want_ok)
        peer_rogue(ctx, g, argv[1]);
    peer_good(ctx, g, argv[1], argv[2], want_ok);
    zmq_ctx_term(ctx);
    free(g);
    return summary();
}

/* In-process: a CURVE server with a ZAP domain and no handler. */
static unsigned handshake_without_handler(void *ctx, int enforce, const char *name)
{
    uint8_t spub[32], ssec[32], cpub[32], csec[32];
    char ep[128];
    size_t ep_len = sizeof ep;
    int one = 1, linger = 0;
    void *mon;
    unsigned seen = 0;
    fresh_curve_pair(spub, ssec);
    fresh_curve_pair(cpub, csec);
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, ssec, 32);
    zmq_setsockopt(r, ZMQ_ZAP_DOMAIN, "voucher-peer", 12);
    int rc = zmq_setsockopt(r, ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce);
    CHECK(rc == 0, "ZMQ_ZAP_ENFORCE_DOMAIN is accepted: %s", zmq_strerror(errno));
    zmq_bind(r, "tcp://127.0.0.1:*");
    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &ep_len);
    void *s = curve_dealer(ctx, ep, spub, cpub, csec, name, &mon);
    zmq_send(s, "x", 1, 0);
    wait_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 1500, &seen);
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    zmq_close(s);
    zmq_close(r);
    return seen;
}

static int cmd_zap_enforce(void)
{
    void *ctx = zmq_ctx_new();
    unsigned seen = handshake_without_handler(ctx, 1, "enforce-mon");
    CHECK((seen & ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0,
          "with ZMQ_ZAP_ENFORCE_DOMAIN and no ZAP handler, CURVE handshakes fail (0x%x)", seen);
    seen = handshake_without_handler(ctx, 0, "legacy-mon");
    printf("info: without ZMQ_ZAP_ENFORCE_DOMAIN and no handler, handshake %s\n",
           (seen & ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0 ? "SUCCEEDS (unauthenticated)"
                                                       : "fails");
    zmq_ctx_term(ctx);
    return summary();
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "submit") == 0)
        return cmd_submit(argv + 2);
    if (argc == 7 && strcmp(argv[1], "bad-orders") == 0)
        return cmd_bad_orders(argv + 2);
    if (argc == 3 && strcmp(argv[1], "malformed") == 0)
        return cmd_malformed(argv + 2);
    if (argc == 5 && strcmp(argv[1], "peer-auth") == 0)
        return cmd_peer(argv + 2, true);
    if (argc == 5 && strcmp(argv[1], "peer-refused") == 0)
        return cmd_peer(argv + 2, false);
    if (argc == 2 && strcmp(argv[1], "zap-enforce") == 0)
        return cmd_zap_enforce();
    fprintf(stderr, "usage: see the top of node_client_test.c\n");
    return 2;
}
