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
 *  - GET_ACCOUNT certificates are verified;
 *  - pipelined SUBMIT (vl_client_send / vl_client_next): each order comes
 *    back once, with its own tag and certificate, whatever the order of the
 *    answers; a silent node's orders all come back unanswered.
 *
 * usage: vl_client_test [PATH_TO_VOUCHERCTL]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "consensus/harness.h"
#include "vl_client.h"
#include "vl_test.h"

/* What fake node A answers to SUBMIT: UNAVAILABLE (after a stale reply),
 * nothing, or the table's answer at once. */
enum { A_UNAVAILABLE, A_SILENT, A_TABLE };
/* What fake node B answers to SUBMIT.  B_TABLE: the table's answer at
 * once.  B_REVERSE: it holds SUBMITs until batch_b are held, then answers
 * them last first, each after noise (two stale replies for its slot, a
 * request echoed back, a junk frame). */
enum { B_CERT, B_CONFLICT, B_OTHER_CERT, B_SILENT, B_TABLE, B_REVERSE };

#define FAKE_TABLE 16 /* orders a table-driven node knows */
#define FAKE_HELD 16  /* SUBMITs B_REVERSE holds at most */

/* What a table-driven node answers to one order (bytes borrowed from the
 * test that fills the table). */
typedef struct {
    h_buf order;
    uint8_t kind; /* VL_REPLY_CERT or VL_REPLY_ERROR */
    uint16_t code;
    uint8_t ev_kind;
    h_buf item; /* the certificate, or the evidence */
} fake_answer;

typedef struct {
    void *ctx;
    void *a, *b; /* ROUTERs */
    char ep_a[64], ep_b[64];
    _Atomic int mode_a, mode_b;
    _Atomic int stop;
    h_buf cert, other_cert, conflict_order, account;
    /* the SUBMIT bytes each node received last */
    uint8_t got_a[1024], got_b[1024];
    size_t got_a_len, got_b_len;
    _Atomic int submits_a, submits_b;
    /* table-driven answers: rows [0, table_n) are set before table_n */
    fake_answer table[FAKE_TABLE];
    _Atomic size_t table_n;
    /* B_REVERSE: how many to hold (set by the test), and those held (fake
     * thread only) */
    _Atomic int batch_b;
    zmq_msg_t held_id[FAKE_HELD];
    uint64_t held_req[FAKE_HELD];
    int held_row[FAKE_HELD];
    int held_n;
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

/* The table row of an order, or -1. */
static int table_row(const fake *f, vl_bytes order)
{
    size_t n = atomic_load(&f->table_n);
    for (size_t i = 0; i < n; i++)
        if (f->table[i].order.len == order.len &&
            memcmp(f->table[i].order.data, order.ptr, order.len) == 0)
            return (int)i;
    return -1;
}

/* The table's answer; an order the table does not know gets none. */
static void answer_row(fake *f, void *s, zmq_msg_t *id, uint64_t req_id, int row)
{
    if (row < 0)
        return;
    const fake_answer *a = &f->table[row];
    reply_kind(f, s, id, req_id, a->kind, a->code, a->ev_kind, a->item);
}

/* What a client must discard before the answer to req_id: replies for
 * its slot with another counter (a later one refusing the order, an
 * earlier one carrying a valid certificate of another order), a request
 * instead of a reply with the very req_id, and bytes that decode as
 * nothing. */
static void send_noise(fake *f, void *s, zmq_msg_t *id, uint64_t req_id)
{
    h_buf none = {NULL, 0};
    reply_kind(f, s, id, req_id + VL_CLIENT_MAX_INFLIGHT, VL_REPLY_ERROR, VL_ERR_OVERSPEND, 0,
               none);
    reply_kind(f, s, id, req_id - VL_CLIENT_MAX_INFLIGHT, VL_REPLY_CERT, 0, 0, f->cert);
    vl_msg echo;
    vl_msg_init(&echo, NULL);
    echo.type = VL_MSG_CLIENT_REQUEST;
    echo.req_id = req_id;
    echo.req_kind = VL_REQ_STATUS;
    send_reply(s, id, &echo);
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, id);
    zmq_msg_send(&copy, s, ZMQ_SNDMORE);
    zmq_send(s, "not a reply", 11, 0);
}

/* B_REVERSE: hold one SUBMIT; with batch_b held, answer them last first. */
static void hold(fake *f, void *s, zmq_msg_t *id, uint64_t req_id, int row)
{
    if (f->held_n == FAKE_HELD)
        return;
    int n = f->held_n++;
    zmq_msg_init(&f->held_id[n]);
    zmq_msg_copy(&f->held_id[n], id);
    f->held_req[n] = req_id;
    f->held_row[n] = row;
    if (f->held_n < atomic_load(&f->batch_b))
        return;
    for (int k = f->held_n - 1; k >= 0; k--) {
        send_noise(f, s, &f->held_id[k], f->held_req[k]);
        answer_row(f, s, &f->held_id[k], f->held_req[k], f->held_row[k]);
        zmq_msg_close(&f->held_id[k]);
    }
    f->held_n = 0;
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
        if (atomic_load(&f->mode_a) == A_TABLE) {
            answer_row(f, s, &id, m.req_id, table_row(f, m.items[0]));
        } else if (atomic_load(&f->mode_a) == A_UNAVAILABLE) {
            /* a stale reply (an earlier req_id) carrying a valid certificate */
            reply_kind(f, s, &id, m.req_id - 1, VL_REPLY_CERT, 0, 0, f->cert);
            reply_kind(f, s, &id, m.req_id, VL_REPLY_ERROR, VL_ERR_UNAVAILABLE, 0, none);
        }
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
    case B_TABLE:
        answer_row(f, s, &id, m.req_id, table_row(f, m.items[0]));
        break;
    case B_REVERSE:
        hold(f, s, &id, m.req_id, table_row(f, m.items[0]));
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

    /* a refusal with evidence; the call starts at B, which answered last
     * (vl_client.c note 8): A, which did not, is not asked first again */
    int a_before = f->submits_a;
    atomic_store(&f->mode_b, B_CONFLICT);
    CHECK_ERR(vl_client_submit(c, order->data, order->len, &r), VL_ERR_CONFLICT);
    CHECK(r.tried == 1 && f->submits_a == a_before);
    CHECK(r.endpoint == 1 && r.evidence_kind == VL_EVIDENCE_ORDER && r.evidence_verified);
    CHECK(r.evidence_len == f->conflict_order.len && r.cert == NULL);
    vl_client_result_free(&r);

    /* a certificate of another order is not believed */
    atomic_store(&f->mode_b, B_OTHER_CERT);
    CHECK_ERR(vl_client_submit(c, order->data, order->len, &r), VL_ERR_CORRUPT);
    CHECK(r.cert == NULL && strstr(r.message, "does not verify") != NULL);
    CHECK(r.endpoint == 1); /* the node that served it */
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

/* ---- pipelined SUBMIT --------------------------------------------------------
 *
 * What a billing system that streams redemptions through vl_client_send /
 * vl_client_next would notice: an answer credited to the wrong order (by
 * tag, certificate or hash), an order reported twice or never, a late or
 * junk frame taken for an answer, a forged certificate believed, a node
 * that went silent holding its orders beyond its timeout, a call that
 * blocks when told not to wait, and memory kept after destroy. */

#define PL_OK 8                      /* orders with a certificate */
#define PL_TAG 0x5eed000000000000ull /* tags use the high bits too */
#define PL_SILENT_MS 2000u           /* timeout of the silent-node client */
#define PL_WAIT_MS 20000u            /* bound of every wait for an answer */

/* Order indexes: PL_OK certified ones, then one answered with another
 * order's certificate, one refused for a conflict, three sent to a node
 * that stays silent. */
enum { PL_CORRUPT = PL_OK, PL_CONFLICT, PL_SILENT0, PL_ALL = PL_SILENT0 + 3 };

typedef struct {
    vl_order *o[PL_ALL];
    h_buf bytes[PL_ALL];
    uint8_t hash[PL_ALL][32];
    h_buf cert[PL_OK];
    vl_order *rival_o; /* holds PL_CONFLICT's slot */
    h_buf rival;
} pl_orders;

static int pl_index(uint64_t tag)
{
    return tag >= PL_TAG && tag < PL_TAG + PL_ALL ? (int)(tag - PL_TAG) : -1;
}

/* r holds order i's certificate, served by endpoint ep. */
static bool pl_certified(const pl_orders *p, const vl_client_result *r, int i, int ep)
{
    return i >= 0 && i < PL_OK && r->code == VL_OK && r->endpoint == ep && r->tried == 1 &&
           r->answered == 1 && r->cert != NULL && r->cert_len == p->cert[i].len &&
           memcmp(r->cert, p->cert[i].data, r->cert_len) == 0 &&
           memcmp(r->order_hash, p->hash[i], 32) == 0;
}

static uint64_t pl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static vl_err pl_send(vl_client *c, size_t ep, const pl_orders *p, int i)
{
    return vl_client_send(c, ep, p->bytes[i].data, p->bytes[i].len, PL_TAG + (uint64_t)i);
}

/* Eight orders to B, answered last first, each after noise (send_noise):
 * each comes back exactly once with its own tag, certificate and hash. */
static void pl_out_of_order(vl_client *c, fake *f, const pl_orders *p)
{
    vl_client_result r;
    uint64_t tag = 0;
    int seen[PL_OK] = {0};
    atomic_store(&f->batch_b, PL_OK);
    atomic_store(&f->mode_b, B_REVERSE);
    CHECK_ERR(vl_client_next(c, 0, &tag, &r), VL_ERR_EMPTY);
    for (int i = 0; i < PL_OK; i++)
        CHECK_ERR(pl_send(c, 1, p, i), VL_OK);
    CHECK(vl_client_inflight(c) == PL_OK);
    for (int k = 0; k < PL_OK; k++) {
        vl_err e = vl_client_next(c, PL_WAIT_MS, &tag, &r);
        CHECK_ERR(e, VL_OK);
        if (e != VL_OK)
            break;
        int i = pl_index(tag);
        CHECK(i >= 0 && i < PL_OK && seen[i]++ == 0);
        if (k == 0)
            CHECK(i == PL_OK - 1); /* B answered the last one first */
        CHECK_ERR(r.code, VL_OK);
        CHECK(pl_certified(p, &r, i, 1));
        CHECK(vl_client_inflight(c) == (size_t)(PL_OK - 1 - k));
        vl_client_result_free(&r);
    }
    CHECK_ERR(vl_client_next(c, 0, &tag, &r), VL_ERR_EMPTY);
    CHECK(vl_client_inflight(c) == 0);
}

/* A certificate of another order is not believed; a refusal comes back
 * with its evidence, verified; then, nothing in flight, the blocking
 * SUBMIT works again. */
static void pl_bad_answers(vl_client *c, fake *f, const pl_orders *p)
{
    vl_client_result r;
    uint64_t tag = 0;
    int seen[PL_ALL] = {0};
    atomic_store(&f->batch_b, 2);
    atomic_store(&f->mode_b, B_REVERSE);
    CHECK_ERR(pl_send(c, 1, p, PL_CORRUPT), VL_OK);
    CHECK_ERR(pl_send(c, 1, p, PL_CONFLICT), VL_OK);
    for (int k = 0; k < 2; k++) {
        vl_err e = vl_client_next(c, PL_WAIT_MS, &tag, &r);
        CHECK_ERR(e, VL_OK);
        if (e != VL_OK)
            break;
        int i = pl_index(tag);
        CHECK((i == PL_CORRUPT || i == PL_CONFLICT) && seen[i]++ == 0);
        CHECK(i >= 0 && memcmp(r.order_hash, p->hash[i], 32) == 0);
        CHECK(r.cert == NULL && r.cert_len == 0 && r.tried == 1 && r.answered == 1);
        if (i == PL_CORRUPT) {
            CHECK_ERR(r.code, VL_ERR_CORRUPT);
            CHECK(strstr(r.message, "does not verify") != NULL && r.endpoint == 1);
        } else {
            CHECK_ERR(r.code, VL_ERR_CONFLICT);
            CHECK(r.endpoint == 1 && r.evidence_kind == VL_EVIDENCE_ORDER && r.evidence_verified);
            CHECK(r.evidence_len == p->rival.len &&
                  memcmp(r.evidence, p->rival.data, p->rival.len) == 0);
        }
        vl_client_result_free(&r);
    }
    CHECK(vl_client_inflight(c) == 0);
    atomic_store(&f->mode_b, B_TABLE); /* A: UNAVAILABLE; B: the certificate */
    CHECK_ERR(vl_client_submit(c, p->bytes[4].data, p->bytes[4].len, &r), VL_OK);
    CHECK(r.endpoint == 1 && r.cert_len == p->cert[4].len &&
          memcmp(r.cert, p->cert[4].data, p->cert[4].len) == 0);
    vl_client_result_free(&r);
}

/* One order of the silent-node run, checked as it comes back. */
static void pl_silent_one(fake *f, const pl_orders *p, const vl_client_result *r, int i,
                          int done_a)
{
    if (i == 0 || i == 1) {
        CHECK_ERR(r->code, VL_OK);
        CHECK(pl_certified(p, r, i, 1));
        return;
    }
    CHECK(i >= PL_SILENT0 && i < PL_ALL);
    CHECK(done_a > 0 || i == PL_SILENT0); /* the oldest deadline first */
    CHECK_ERR(r->code, VL_ERR_UNAVAILABLE);
    CHECK(r->answered == 0 && r->tried == 1 && r->endpoint == -1 && r->cert == NULL);
    CHECK(strstr(r->message, f->ep_a) != NULL);
    CHECK(i >= 0 && memcmp(r->order_hash, p->hash[i], 32) == 0);
}

/* A silent beyond timeout_ms while B answers: B's orders are certified;
 * A's three come back VL_ERR_UNAVAILABLE, unanswered, and the two sent
 * later are finished at once with the first (A's socket is closed: their
 * answers can never come, waiting for their own deadlines would only delay
 * the resend).  An order then sent to A goes to B: A is avoided. */
static void pl_silent(h_net *h, fake *f, const pl_orders *p)
{
    const char *eps[] = {f->ep_a, f->ep_b};
    vl_client *c = NULL;
    vl_client_result r;
    uint64_t tag = 0;
    int seen[PL_ALL] = {0}, done_a = 0;
    CHECK_ERR(vl_client_new(&c, h->g, eps, 2, PL_SILENT_MS), VL_OK);
    atomic_store(&f->mode_a, A_SILENT);
    atomic_store(&f->mode_b, B_TABLE);
    CHECK_ERR(pl_send(c, 0, p, PL_SILENT0), VL_OK);
    struct timespec gap = {0, 300 * 1000000L}; /* later deadlines for the other two */
    nanosleep(&gap, NULL);
    for (int i = PL_SILENT0 + 1; i < PL_ALL; i++)
        CHECK_ERR(pl_send(c, 0, p, i), VL_OK);
    CHECK_ERR(pl_send(c, 1, p, 0), VL_OK);
    CHECK_ERR(pl_send(c, 1, p, 1), VL_OK);
    CHECK(vl_client_inflight(c) == 5);
    for (int k = 0; k < 5; k++) {
        /* once A is given up, its other orders are already finished */
        uint32_t wait_ms = done_a > 0 && done_a < 3 ? 0 : PL_WAIT_MS;
        vl_err e = vl_client_next(c, wait_ms, &tag, &r);
        CHECK_ERR(e, VL_OK);
        if (e != VL_OK)
            break;
        int i = pl_index(tag);
        if (i >= 0)
            seen[i]++;
        pl_silent_one(f, p, &r, i, done_a);
        done_a += i >= PL_SILENT0;
        vl_client_result_free(&r);
    }
    CHECK(seen[0] == 1 && seen[1] == 1);
    CHECK(seen[PL_SILENT0] == 1 && seen[PL_SILENT0 + 1] == 1 && seen[PL_SILENT0 + 2] == 1);
    CHECK_ERR(vl_client_next(c, 0, &tag, &r), VL_ERR_EMPTY);
    atomic_store(&f->mode_a, A_TABLE);
    CHECK_ERR(pl_send(c, 0, p, 2), VL_OK); /* A is avoided now: B takes it */
    CHECK_ERR(vl_client_next(c, PL_WAIT_MS, &tag, &r), VL_OK);
    CHECK(tag == PL_TAG + 2 && pl_certified(p, &r, 2, 1));
    vl_client_result_free(&r);
    atomic_store(&f->mode_a, A_UNAVAILABLE);
    vl_client_destroy(&c);
}

/* A billing system that resends to a node as soon as it was given up:
 * the order goes to the other node (vl_client.c note 9) while the
 * given-up socket's other orders are still to be reported, which end
 * VL_ERR_UNAVAILABLE.  Twice the timeout later one order probes the node
 * on a fresh socket, the next one still goes elsewhere; once the probe is
 * answered, orders go to the node again. */
static void pl_resend_early(h_net *h, fake *f, const pl_orders *p)
{
    const char *eps[] = {f->ep_a, f->ep_b};
    vl_client *c = NULL;
    vl_client_result r;
    uint64_t tag = 0;
    int certified = 0, unanswered = 0;
    CHECK_ERR(vl_client_new(&c, h->g, eps, 2, 200), VL_OK);
    atomic_store(&f->mode_a, A_SILENT);
    for (int i = PL_SILENT0; i < PL_ALL; i++)
        CHECK_ERR(pl_send(c, 0, p, i), VL_OK);
    CHECK_ERR(vl_client_next(c, PL_WAIT_MS, &tag, &r), VL_OK);
    CHECK_ERR(r.code, VL_ERR_UNAVAILABLE);
    vl_client_result_free(&r);
    atomic_store(&f->mode_a, A_TABLE);
    CHECK_ERR(pl_send(c, 0, p, 3), VL_OK); /* A is avoided: B takes it */
    for (int k = 0; k < 3; k++) {
        vl_err e = vl_client_next(c, PL_WAIT_MS, &tag, &r);
        CHECK_ERR(e, VL_OK);
        if (e != VL_OK)
            break;
        if (pl_index(tag) == 3) {
            CHECK_ERR(r.code, VL_OK);
            certified += pl_certified(p, &r, 3, 1);
        } else {
            CHECK(pl_index(tag) >= PL_SILENT0 && r.code == VL_ERR_UNAVAILABLE);
            unanswered++;
        }
        vl_client_result_free(&r);
    }
    CHECK(certified == 1 && unanswered == 2);
    CHECK_ERR(vl_client_next(c, 0, &tag, &r), VL_ERR_EMPTY);
    /* Twice the timeout on, one order probes A (on a fresh socket) while
     * the next one sent to A still goes to B; A answers: up again. */
    struct timespec avoided = {0, 450 * 1000000L};
    nanosleep(&avoided, NULL);
    CHECK_ERR(pl_send(c, 0, p, 4), VL_OK);
    CHECK_ERR(pl_send(c, 0, p, 5), VL_OK);
    for (int k = 0; k < 2; k++) {
        CHECK_ERR(vl_client_next(c, PL_WAIT_MS, &tag, &r), VL_OK);
        CHECK(pl_index(tag) == 4 ? pl_certified(p, &r, 4, 0) : pl_certified(p, &r, 5, 1));
        vl_client_result_free(&r);
    }
    CHECK_ERR(pl_send(c, 0, p, 6), VL_OK);
    CHECK_ERR(vl_client_next(c, PL_WAIT_MS, &tag, &r), VL_OK);
    CHECK(tag == PL_TAG + 6 && pl_certified(p, &r, 6, 0));
    vl_client_result_free(&r);
    atomic_store(&f->mode_a, A_UNAVAILABLE);
    vl_client_destroy(&c);
}

/* Misuse and limits: nothing goes out and nothing stays in flight; the
 * blocking calls refuse to run beside the pipeline; a full pipeline
 * refuses one more; wait_ms 0 does not wait; destroy frees it all (ASan). */
static void pl_limits(h_net *h, fake *f, const pl_orders *p)
{
    const char *eps[] = {f->ep_b, "tcp://127.0.0.1:1"};
    vl_client *c = NULL;
    vl_client_result r;
    uint64_t tag = 0;
    CHECK_ERR(vl_client_new(&c, h->g, eps, 2, 60000), VL_OK);
    CHECK_ERR(vl_client_next(c, 0, &tag, &r), VL_ERR_EMPTY);
    CHECK_ERR(pl_send(c, 2, p, 0), VL_ERR_USAGE);
    CHECK_ERR(pl_send(c, SIZE_MAX, p, 0), VL_ERR_USAGE);
    CHECK_ERR(vl_client_send(c, 0, f->cert.data, f->cert.len, 1), VL_ERR_TYPE);
    h_buf big = h_buf_zero(VL_MAX_MSG_BYTES + 1u);
    CHECK_ERR(vl_client_send(c, 0, big.data, big.len, 1), VL_ERR_LIMIT);
    h_buf_free(&big);
    CHECK(vl_client_inflight(c) == 0);

    /* one order in flight at B: the blocking calls refuse (and send nothing) */
    atomic_store(&f->mode_b, B_TABLE);
    int before = atomic_load(&f->submits_b);
    CHECK_ERR(pl_send(c, 0, p, 3), VL_OK);
    CHECK_ERR(vl_client_submit(c, p->bytes[5].data, p->bytes[5].len, &r), VL_ERR_USAGE);
    CHECK(r.tried == 0 && r.answered == 0); /* refused before anything was tried */
    vl_client_result_free(&r);
    vl_status st;
    CHECK_ERR(vl_client_status(c, 0, &st), VL_ERR_USAGE);
    vl_client_account acct;
    uint8_t id[32];
    h_voucher_account(h, 0, 1, id);
    CHECK_ERR(vl_client_get_account(c, id, &acct), VL_ERR_USAGE);
    vl_client_account_free(&acct);
    CHECK_ERR(vl_client_next(c, PL_WAIT_MS, &tag, &r), VL_OK);
    CHECK(tag == PL_TAG + 3 && pl_certified(p, &r, 3, 0));
    vl_client_result_free(&r);
    /* B got that order and nothing else: not the refused bytes, not the submit */
    CHECK(atomic_load(&f->submits_b) == before + 1);

    /* a full pipeline to an endpoint nobody listens on */
    uint32_t sent = 0;
    for (uint32_t k = 0; k < VL_CLIENT_MAX_INFLIGHT; k++)
        sent += pl_send(c, 1, p, (int)(k % PL_OK)) == VL_OK;
    CHECK(sent == VL_CLIENT_MAX_INFLIGHT && vl_client_inflight(c) == VL_CLIENT_MAX_INFLIGHT);
    CHECK_ERR(pl_send(c, 0, p, 0), VL_ERR_LIMIT);
    CHECK(vl_client_inflight(c) == VL_CLIENT_MAX_INFLIGHT);
    CHECK_ERR(vl_client_submit(c, p->bytes[0].data, p->bytes[0].len, &r), VL_ERR_USAGE);
    vl_client_result_free(&r);
    uint64_t t0 = pl_now_ms();
    CHECK_ERR(vl_client_next(c, 0, &tag, &r), VL_ERR_TIMEOUT);
    CHECK(pl_now_ms() - t0 < 10000); /* far below the 60 s it could wait */
    vl_client_destroy(&c);
    CHECK(c == NULL);
}

static void test_pipeline(h_net *h, fake *f)
{
    pl_orders *p = calloc(1, sizeof *p);
    for (int i = 0; i < PL_ALL; i++) {
        p->o[i] = h_redeem(h, 0, 10 + (uint64_t)i, 0, 0, 1000 + (uint64_t)i, 0);
        p->bytes[i] = h_order_bytes(p->o[i]);
        h_order_hash(p->o[i], p->hash[i]);
    }
    p->rival_o = h_redeem(h, 0, 10 + PL_CONFLICT, 0, 0, 7000, 0); /* same slot */
    p->rival = h_order_bytes(p->rival_o);
    for (int i = 0; i < PL_OK; i++) {
        p->cert[i] = cert3(h, p->o[i]);
        f->table[i] = (fake_answer){p->bytes[i], VL_REPLY_CERT, 0, 0, p->cert[i]};
    }
    f->table[PL_CORRUPT] = (fake_answer){p->bytes[PL_CORRUPT], VL_REPLY_CERT, 0, 0, p->cert[0]};
    f->table[PL_CONFLICT] = (fake_answer){p->bytes[PL_CONFLICT], VL_REPLY_ERROR,
                                          VL_ERR_CONFLICT, VL_EVIDENCE_ORDER, p->rival};
    atomic_store(&f->table_n, PL_CONFLICT + 1); /* the silent ones get no answer */

    const char *eps[] = {f->ep_a, f->ep_b};
    vl_client *c = NULL;
    CHECK_ERR(vl_client_new(&c, h->g, eps, 2, 5000), VL_OK);
    pl_out_of_order(c, f, p);
    pl_bad_answers(c, f, p);
    vl_client_destroy(&c);
    pl_silent(h, f, p);
    pl_resend_early(h, f, p);
    pl_limits(h, f, p);

    atomic_store(&f->table_n, 0);
    for (int i = 0; i < PL_ALL; i++) {
        free(p->o[i]);
        h_buf_free(&p->bytes[i]);
    }
    for (int i = 0; i < PL_OK; i++)
        h_buf_free(&p->cert[i]);
    free(p->rival_o);
    h_buf_free(&p->rival);
    free(p);
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
    test_pipeline(h, f);
    atomic_store(&f->stop, 1);
    pthread_join(t, NULL);
    for (int k = 0; k < f->held_n; k++)
        zmq_msg_close(&f->held_id[k]);
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
