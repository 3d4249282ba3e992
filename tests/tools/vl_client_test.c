/* vl_client_test.c - the client library against scripted fake nodes (ROUTER
 * sockets on 127.0.0.1 in a thread), and `voucherctl verify-log
 * --data-dir` against a real consensus core's data directory.
 *
 * What a billing system would notice:
 *  - a node that answers "unavailable" makes the client resubmit the SAME
 *    bytes to the next node; replies with another req_id are discarded;
 *  - a certificate is returned only when it verifies and certifies the
 *    submitted order; a node serving a certificate of another order is
 *    not believed;
 *  - a refusal comes back with its code, message and evidence;
 *  - no node at all: VL_ERR_UNAVAILABLE, after each endpoint's timeout;
 *  - GET_ACCOUNT certificates are verified.
 *
 * usage: vl_client_test [PATH_TO_VOUCHERCTL]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "consensus/harness.h"
#include "vl_client.h"
#include "vl_test.h"

/* What fake node B answers to SUBMIT. */
enum { B_CERT, B_CONFLICT, B_OTHER_CERT, B_SILENT };

typedef struct {
    void *ctx;
    void *a, *b; /* ROUTERs: A always says UNAVAILABLE (after a stale reply) */
    char ep_a[64], ep_b[64];
    _Atomic int mode_b;
    _Atomic int stop;
    h_buf cert, other_cert, conflict_order, account;
    /* the SUBMIT bytes each node received last */
    uint8_t got_a[1024], got_b[1024];
    size_t got_a_len, got_b_len;
    int submits_a, submits_b;
} fake;

static void send_reply(void *s, zmq_msg_t *id, vl_msg *m)
{
    uint8_t buf[65536];
    size_t len;
    if (vl_msg_encode(m, buf, sizeof buf, &len) != VL_OK)
        abort();
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, id);
    zmq_msg_send(&copy, s, ZMQ_SNDMORE);
    zmq_send(s, buf, len, 0);
}

static void reply_kind(fake *f, void *s, zmq_msg_t *id, uint64_t req_id, uint8_t kind,
                       uint16_t code, uint8_t ev_kind, h_buf item)
{
    vl_msg r;
    vl_bytes it = {item.data, (uint32_t)item.len};
    vl_bytes cert = {f->cert.data, (uint32_t)f->cert.len};
    vl_msg_init(&r, NULL);
    r.type = VL_MSG_CLIENT_REPLY;
    r.req_id = req_id;
    r.reply_kind = kind;
    r.code = code;
    r.evidence_kind = ev_kind;
    if (item.len > 0) {
        r.items = &it;
        r.item_count = 1;
    }
    if (kind == VL_REPLY_ACCOUNT) {
        r.account = (vl_bytes){f->account.data, (uint32_t)f->account.len};
        r.items = &cert;
        r.item_count = 1;
    }
    send_reply(s, id, &r);
}

static void serve_one(fake *f, void *s, bool is_a)
{
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    if (zmq_msg_recv(&id, s, 0) < 0 || zmq_msg_recv(&body, s, 0) < 0)
        goto out;
    static vl_msg_storage st;
    vl_msg m;
    vl_msg_init(&m, &st);
    if (vl_msg_decode(zmq_msg_data(&body), zmq_msg_size(&body), &m) != VL_OK)
        goto out;
    h_buf none = {NULL, 0};
    if (m.req_kind == VL_REQ_GET_ACCOUNT) {
        reply_kind(f, s, &id, m.req_id, VL_REPLY_ACCOUNT, 0, 0, none);
        goto out;
    }
    if (m.req_kind != VL_REQ_SUBMIT || m.items[0].len > sizeof f->got_a)
        goto out;
    if (is_a) {
        memcpy(f->got_a, m.items[0].ptr, m.items[0].len);
        f->got_a_len = m.items[0].len;
        f->submits_a++;
        /* a stale reply (an earlier req_id) carrying a valid certificate */
        reply_kind(f, s, &id, m.req_id - 1, VL_REPLY_CERT, 0, 0, f->cert);
        reply_kind(f, s, &id, m.req_id, VL_REPLY_ERROR, VL_ERR_UNAVAILABLE, 0, none);
        goto out;
    }
    memcpy(f->got_b, m.items[0].ptr, m.items[0].len);
    f->got_b_len = m.items[0].len;
    f->submits_b++;
    switch (atomic_load(&f->mode_b)) {
    case B_CERT:
        reply_kind(f, s, &id, m.req_id, VL_REPLY_CERT, 0, 0, f->cert);
        break;
    case B_CONFLICT:
        reply_kind(f, s, &id, m.req_id, VL_REPLY_ERROR, VL_ERR_CONFLICT, VL_EVIDENCE_ORDER,
                   f->conflict_order);
        break;
    case B_OTHER_CERT:
        reply_kind(f, s, &id, m.req_id, VL_REPLY_CERT, 0, 0, f->other_cert);
        break;
    default:
        break;
    }
out:
    zmq_msg_close(&id);
    zmq_msg_close(&body);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    while (!atomic_load(&f->stop)) {
        zmq_pollitem_t it[2] = {{.socket = f->a, .events = ZMQ_POLLIN},
                                {.socket = f->b, .events = ZMQ_POLLIN}};
        if (zmq_poll(it, 2, 20) <= 0)
            continue;
        if (it[0].revents & ZMQ_POLLIN)
            serve_one(f, f->a, true);
        if (it[1].revents & ZMQ_POLLIN)
            serve_one(f, f->b, false);
    }
    return NULL;
}

static void *bind_router(void *ctx, char *ep, size_t cap)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(s, "tcp://127.0.0.1:*") != 0)
        abort();
    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &cap);
    return s;
}

static void test_submit(h_net *h, fake *f, const h_buf *order)
{
    const char *eps[] = {f->ep_a, f->ep_b};
    vl_client *c = NULL;
    vl_client_result r;
    CHECK_ERR(vl_client_new(&c, h->g, eps, 2, 2000), VL_OK);

    /* A: stale reply then UNAVAILABLE; B: the certificate */
    atomic_store(&f->mode_b, B_CERT);
    CHECK_ERR(vl_client_submit(c, order->data, order->len, &r), VL_OK);
    CHECK(r.endpoint == 1 && r.tried == 2 && r.answered == 2);
    CHECK(r.cert_len == f->cert.len && memcmp(r.cert, f->cert.data, f->cert.len) == 0);
    CHECK(f->got_a_len == order->len && memcmp(f->got_a, order->data, order->len) == 0);
    CHECK(f->got_b_len == order->len && memcmp(f->got_b, order->data, order->len) == 0);
    vl_client_result_free(&r);
    CHECK(r.cert == NULL && r.endpoint == -1);

    /* a refusal with evidence */
    atomic_store(&f->mode_b, B_CONFLICT);
    CHECK_ERR(vl_client_submit(c, order->data, order->len, &r), VL_ERR_CONFLICT);
    CHECK(r.endpoint == 1 && r.evidence_kind == VL_EVIDENCE_ORDER && r.evidence_verified);
    CHECK(r.evidence_len == f->conflict_order.len && r.cert == NULL);
    vl_client_result_free(&r);

    /* a certificate of another order is not believed */
    atomic_store(&f->mode_b, B_OTHER_CERT);
    CHECK_ERR(vl_client_submit(c, order->data, order->len, &r), VL_ERR_CORRUPT);
    CHECK(r.cert == NULL && strstr(r.message, "does not verify") != NULL);
    vl_client_result_free(&r);

    /* bytes that are not an order are never sent */
    int before = f->submits_a;
    CHECK_ERR(vl_client_submit(c, f->cert.data, f->cert.len, &r), VL_ERR_TYPE);
    CHECK(r.tried == 0 && f->submits_a == before);
    vl_client_result_free(&r);

    /* GET_ACCOUNT: A is skipped (it answers SUBMIT only... and GET_ACCOUNT) */
    vl_client_account acct;
    uint8_t id[32];
    h_voucher_account(h, 0, 1, id);
    CHECK_ERR(vl_client_get_account(c, id, &acct), VL_OK);
    CHECK(acct.cert_count == 1 && acct.cert_ok[0] == VL_OK && acct.account.next_seq == 1);
    vl_client_account_free(&acct);
    uint8_t other[32];
    h_voucher_account(h, 0, 2, other); /* the fake serves voucher 1's certificate */
    CHECK_ERR(vl_client_get_account(c, other, &acct), VL_ERR_CORRUPT);
    CHECK(acct.cert_count == 1 && acct.cert_ok[0] == VL_ERR_CORRUPT);
    vl_client_account_free(&acct);
    vl_client_destroy(&c);
    CHECK(c == NULL);
    vl_client_destroy(&c); /* NULL is fine */
}

static void test_unreachable(h_net *h, fake *f, const h_buf *order)
{
    const char *eps[] = {"tcp://127.0.0.1:1", f->ep_b};
    vl_client *c = NULL;
    vl_client_result r;
    /* nobody at all */
    CHECK_ERR(vl_client_new(&c, h->g, eps, 1, 50), VL_OK);
    CHECK_ERR(vl_client_submit(c, order->data, order->len, &r), VL_ERR_UNAVAILABLE);
    CHECK(r.tried == 1 && r.answered == 0 && r.endpoint == -1);
    vl_client_result_free(&r);
    vl_status s;
    CHECK_ERR(vl_client_status(c, 0, &s), VL_ERR_UNAVAILABLE);
    CHECK_ERR(vl_client_status(c, 5, &s), VL_ERR_USAGE);
    vl_client_destroy(&c);
    /* a silent node, then one that answers: failover by timeout */
    atomic_store(&f->mode_b, B_SILENT);
    const char *eps2[] = {f->ep_b, f->ep_b};
    CHECK_ERR(vl_client_new(&c, h->g, eps2, 2, 100), VL_OK);
    CHECK_ERR(vl_client_submit(c, order->data, order->len, &r), VL_ERR_UNAVAILABLE);
    CHECK(r.tried == 2 && r.answered == 0);
    vl_client_result_free(&r);
    vl_client_destroy(&c);
    /* misuse of the constructor that input can cause */
    const char *bad[] = {""};
    CHECK_ERR(vl_client_new(&c, h->g, bad, 1, 100), VL_ERR_USAGE);
    CHECK_ERR(vl_client_new(&c, h->g, eps, 1, 1), VL_ERR_USAGE);
    CHECK(c == NULL);
    /* n == 0: the genesis' endpoints */
    CHECK_ERR(vl_client_new(&c, h->g, NULL, 0, 100), VL_OK);
    CHECK(vl_client_endpoint_count(c) == h->g->node_count);
    CHECK(strcmp(vl_client_endpoint(c, 0), h->g->nodes[0].client_endpoint) == 0);
    vl_client_destroy(&c);
}

/* A real core's data directory through `voucherctl verify-log --data-dir`. */
static void test_verify_dir(h_net *h, const char *vctl, const h_buf *certs, uint32_t n)
{
    char gpath[512], cmd[2048];
    CHECK_ERR(h_open(h, h->voter[0], false), VL_OK);
    CHECK_ERR(h_send_certs(h, h->voter[1], certs, n), VL_OK);
    h_close(h);
    snprintf(gpath, sizeof gpath, "%s.genesis.json", h->dir);
    CHECK_ERR(vl_genesis_save_file(h->g, gpath), VL_OK);
    snprintf(cmd, sizeof cmd, "%s verify-log --genesis %s --data-dir %s --json > %s.out", vctl,
             gpath, h->dir, h->dir);
    CHECK(system(cmd) == 0);
    char out[4096] = "";
    snprintf(cmd, sizeof cmd, "%s.out", h->dir);
    FILE *fp = fopen(cmd, "r");
    if (fp != NULL) {
        size_t k = fread(out, 1, sizeof out - 1, fp);
        out[k] = '\0';
        fclose(fp);
    }
    CHECK(strstr(out, "\"ok\":true") != NULL);
    CHECK(strstr(out, "\"entries\":2") != NULL);
    CHECK(strstr(out, "\"issues\":1") != NULL && strstr(out, "\"redeems\":1") != NULL);
    remove(cmd);
    remove(gpath);
}

/* A certificate by the first three voters (q = 3), ascending. */
static h_buf cert3(h_net *h, const vl_order *o)
{
    uint16_t v[3] = {h->voter[0], h->voter[1], h->voter[2]};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (v[j] < v[i]) {
                uint16_t t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
    return h_cert1(h, o, v, 3);
}

int main(int argc, char **argv)
{
    h_net *h = h_new_std();
    vl_order *issue = h_issue(h, 0, 0, 1, 2, 100000, 0);
    vl_order *redeem = h_redeem(h, 0, 1, 0, 0, 5000, 0);
    vl_order *redeem2 = h_redeem(h, 0, 1, 0, 0, 6000, 0); /* same slot, another order */
    h_buf order = h_order_bytes(redeem);
    fake *f = calloc(1, sizeof *f);
    f->cert = cert3(h, redeem);
    f->other_cert = cert3(h, redeem2);
    f->conflict_order = h_order_bytes(redeem2);
    /* the account voucher 1 would have after the redemption */
    vl_account a = {.kind = VL_ACCOUNT_VOUCHER, .next_seq = 1, .serial = 1, .face_fen = 100000,
                    .remaining_fen = 95000, .valid_from_s = H_T0_S,
                    .valid_until_s = H_T0_S + H_VALID_S, .subsidy_bp = 8000,
                    .status = VL_VOUCHER_ACTIVE};
    memcpy(a.issuer, redeem->issuer, 32);
    memcpy(a.holder, redeem->holder, 32);
    f->account = h_buf_zero(512);
    CHECK_ERR(vl_account_encode(&a, f->account.data, f->account.len, &f->account.len), VL_OK);

    f->ctx = zmq_ctx_new();
    f->a = bind_router(f->ctx, f->ep_a, sizeof f->ep_a);
    f->b = bind_router(f->ctx, f->ep_b, sizeof f->ep_b);
    pthread_t t;
    pthread_create(&t, NULL, fake_main, f);
    test_submit(h, f, &order);
    test_unreachable(h, f, &order);
    atomic_store(&f->stop, 1);
    pthread_join(t, NULL);
    zmq_close(f->a);
    zmq_close(f->b);
    zmq_ctx_term(f->ctx);

    if (argc > 1) {
        h_buf certs[2] = {cert3(h, issue), h_buf_copy(f->cert.data, f->cert.len)};
        test_verify_dir(h, argv[1], certs, 2);
        h_buf_free(&certs[0]);
        h_buf_free(&certs[1]);
    }
    h_buf_free(&f->cert);
    h_buf_free(&f->other_cert);
    h_buf_free(&f->conflict_order);
    h_buf_free(&f->account);
    h_buf_free(&order);
    free(f);
    free(issue);
    free(redeem);
    free(redeem2);
    h_free(&h);
    VL_TEST_END();
}
