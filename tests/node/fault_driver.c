/* fault_driver.c - the client side of fault_test.sh: submits orders to a
 * network of real voucherd processes through the client library
 * (tools/vl_client.h) and checks what every node holds afterwards.  The
 * script starts, stops, kills and freezes the nodes between the steps.
 *
 * DIR holds genesis.json and the key files shanghai.key (the issuer),
 * firm.key (the holder of every voucher), dc1.key and dc2.key (providers).
 * Vouchers are serials 1..COUNT of the issuer (setup); each scenario uses
 * serials nobody used before, so every REDEEM it builds is at seq 0 or at
 * the seq it counted itself.  An acknowledgment ("ack") is a certificate a
 * client received and verified: one line "ACCOUNT SEQ ORDER_HASH NODE" (hex,
 * decimal, hex, the genesis index of the node that answered) appended to an
 * ack file with one write(2).
 *
 *   setup DIR COUNT [FIRST]
 *       ISSUE vouchers FIRST..FIRST+COUNT-1 (FIRST 1 if not given) to the
 *       holder, in one order (ack in DIR/acks.setup).
 *   stream DIR ACKS FIRST COUNT FIRST_NODE TIMEOUT_MS MAX_S
 *       redeem 100 fen at a time from vouchers FIRST..FIRST+COUNT-1 in turn
 *       (one new order per STREAM_PACE_MS at most), through a client whose
 *       endpoints start at FIRST_NODE (TIMEOUT_MS each), until the file
 *       ACKS.stop exists or MAX_S seconds passed; an order that gets no
 *       certificate is resubmitted with the same bytes (never a new order for
 *       its slot) until it completes, also after the stop.  Exit 1 on a
 *       refusal or an order still open 60 s after the stop.
 *   check DIR WAIT_S ACKS...
 *       within WAIT_S every node answers STATUS with the same state digest
 *       and log length and no fork; then every ack is certified on every
 *       node (same order hash at that slot), the acked accounts are
 *       byte-identical on every node, and no node's log holds a slot twice.
 *   check-own DIR NODE ACKS...
 *       node NODE alone (the others may be stopped) holds every ack that it
 *       answered itself (at least one), but for its last ones, at most one
 *       step's early certificates (cmd_check_own).
 *   double DIR ACKS FIRST COUNT PAIRS
 *       scenario 1: for each voucher two different REDEEMs of slot 0 signed
 *       by the holder, sent at the same moment (a barrier per pair of
 *       threads) to two different nodes.  Asserts the contract of
 *       docs/clients.md (below, at cmd_double) and, after convergence, what
 *       every node holds.  The certified orders are appended to ACKS.
 *   noquorum DIR ORDER_FILE SERIAL HOLD_MS NODE...
 *       scenario 4, with only NODE... running: a REDEEM of SERIAL (saved to
 *       ORDER_FILE) gets VL_ERR_TIMEOUT or VL_ERR_QUORUM, and the running
 *       nodes' logs do not grow, also HOLD_MS later.
 *   resubmit DIR ORDER_FILE ACKS
 *       the same bytes again: a certificate.
 *   kill-coord DIR ACKS SERIAL NODE
 *       scenario 5: NODE runs with VOUCHERD_TEST_KILL_AFTER_VOTE_REQUESTS=1;
 *       a REDEEM sent to it first is certified through another node.
 *   snapshot DIR OUT ACKS...
 *       per node: log length, head hash, state digest and a hash of every
 *       acked account's state and certificates, to OUT.
 *   status DIR
 *       every node's STATUS, one line each.
 *   submit-one DIR ACKS SERIAL NODE EXPECT
 *       resource_test.sh: a REDEEM of SERIAL at seq 0 sent to NODE alone (no
 *       failover).  EXPECT is OK (a certificate, appended to ACKS) or the
 *       vl_err name the node must answer with (e.g. VL_ERR_DISK_FULL); any
 *       other outcome, a timeout included, fails.
 *
 * Prints what it checked; "FAIL ..." lines and exit 1 on a failed check,
 * exit 2 on bad usage or a broken environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vl_client.h"
#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_verify.h"
#include "vl_wire.h"

/* Client timeouts: the nodes' client_timeout_ms (fault_test.sh) is below
 * REPLY_MS, so a node answers TIMEOUT before the client gives up on it. */
#define REPLY_MS 5000u
#define QUERY_MS 3000u
/* Bounds. */
#define MAX_ACKS 100000u
#define MAX_STREAM_VOUCHERS 256u
#define MAX_PAIRS 64u
#define FINISH_AFTER_STOP_S 60u
#define LOG_PAGE 1024u
#define VOUCHER_VALUE_FEN 10000000u /* 100,000 CNY */
/* A stream starts at most one order per STREAM_PACE_MS: a steady load that
 * keeps the number of certificates (and the checks' work) moderate. */
#define STREAM_PACE_MS 20u
/* Signatures remembered across the log scans of all nodes (they hold the
 * same certificates, so each is checked once). */
#define SCAN_CACHE_ENTRIES 65536u

static vl_genesis *G;
static vl_keyfile issuer_key, holder_key, provider_key[2];
static uint32_t n_nodes;
static int failures;
static vl_sigcache *scan_cache; /* log_scan */

/* ---- small helpers ------------------------------------------------------------------ */

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fault_driver: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
    failures++;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        die("%s: not a number: %s", what, s);
    return (uint64_t)v;
}

static uint32_t parse_node(const char *s)
{
    uint64_t v = parse_u64(s, "node index");
    if (v >= n_nodes)
        die("node index %s: the genesis has %u nodes", s, n_nodes);
    return (uint32_t)v;
}

static const char *hex32(char out[65], const uint8_t in[32])
{
    vl_hex_encode(out, in, 32);
    return out;
}

static void load_key(vl_keyfile *k, const char *dir, const char *name)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (vl_keyfile_load(k, path, err, sizeof err) != VL_OK)
        die("%s: %s", path, err);
}

static void load_env(const char *dir)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    G = calloc(1, sizeof *G);
    if (G == NULL || vl_genesis_load_file(G, path, err, sizeof err) != VL_OK)
        die("%s: %s", path, G != NULL ? err : "out of memory");
    n_nodes = G->node_count;
    load_key(&issuer_key, dir, "shanghai.key");
    load_key(&holder_key, dir, "firm.key");
    load_key(&provider_key[0], dir, "dc1.key");
    load_key(&provider_key[1], dir, "dc2.key");
}

static void voucher_id(uint8_t out[32], uint64_t serial)
{
    vl_voucher_account_id(out, issuer_key.sign.pubkey, serial);
}

/* ---- clients ---------------------------------------------------------------------------- */

/* A client of the nodes first, first+1, ... (count of them, wrapping). */
static vl_client *client_from(uint32_t first, uint32_t count, uint32_t timeout_ms)
{
    const char *eps[VL_MAX_NODES];
    vl_client *c = NULL;
    for (uint32_t i = 0; i < count; i++)
        eps[i] = G->nodes[(first + i) % n_nodes].client_endpoint;
    if (vl_client_new(&c, G, eps, count, timeout_ms) != VL_OK)
        die("cannot make a client");
    return c;
}

static vl_client *client_node(uint32_t node, uint32_t timeout_ms)
{
    return client_from(node, 1, timeout_ms);
}

/* ---- acknowledgments ------------------------------------------------------------------------ */

typedef struct {
    uint8_t account[32];
    uint64_t seq;
    uint8_t hash[32];
    uint32_t node;
} ack;

static void ack_write(const char *path, const ack *a)
{
    char line[256], h1[65], h2[65];
    int n = snprintf(line, sizeof line, "%s %" PRIu64 " %s %u\n", hex32(h1, a->account), a->seq,
                     hex32(h2, a->hash), a->node);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, line, (size_t)n) != n)
        die("%s: cannot append: %s", path, strerror(errno));
    close(fd);
}

/* The ack of a certificate received through client endpoint r->endpoint
 * of a client whose endpoints start at node `first`. */
static void ack_result(const char *path, const vl_client_result *r, uint32_t first)
{
    ack a = {.node = (first + (uint32_t)r->endpoint) % n_nodes};
    vl_cert *ct = malloc(sizeof *ct);
    if (ct == NULL || vl_cert_decode(r->cert, r->cert_len, ct) != VL_OK)
        die("a verified certificate does not decode");
    vl_order_account(a.account, &ct->order);
    a.seq = ct->order.seq;
    memcpy(a.hash, r->order_hash, 32);
    free(ct);
    ack_write(path, &a);
}

/* Append the acks of the files paths[0..n) to *out (count in *len). */
static void acks_read(char **paths, int n, ack **out, size_t *len)
{
    *out = calloc(MAX_ACKS, sizeof **out);
    *len = 0;
    if (*out == NULL)
        die("out of memory");
    for (int f = 0; f < n; f++) {
        FILE *fp = fopen(paths[f], "r");
        if (fp == NULL) {
            if (errno == ENOENT)
                continue; /* no ack in that file */
            die("%s: %s", paths[f], strerror(errno));
        }
        char acc[80], hash[80];
        unsigned long long seq;
        unsigned node;
        while (fscanf(fp, "%79s %llu %79s %u", acc, &seq, hash, &node) == 4) {
            ack *a = &(*out)[*len];
            if (*len >= MAX_ACKS || vl_hex_decode(a->account, 32, acc) != VL_OK ||
                vl_hex_decode(a->hash, 32, hash) != VL_OK || node >= n_nodes)
                die("%s: a bad line or too many acks", paths[f]);
            a->seq = seq;
            a->node = node;
            (*len)++;
        }
        fclose(fp);
    }
}

static int ack_cmp(const void *x, const void *y)
{
    const ack *a = x, *b = y;
    int c = memcmp(a->account, b->account, 32);
    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- orders ------------------------------------------------------------------------------------ */

static void sign_slot(vl_order *o, unsigned slot, const vl_keyfile *k)
{
    uint8_t aux[32];
    if (vl_random(aux, sizeof aux) != VL_OK)
        die("no randomness");
    vl_order_sign_slot(o, slot, &k->sign, aux);
}

/* A REDEEM of `amount_fen` from voucher `serial` at `seq`, delivered by
 * provider prov, with a fresh random invoice hash. */
static void redeem_build(vl_order *o, uint64_t serial, uint64_t seq, uint64_t amount_fen,
                         unsigned prov)
{
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, G->network_id, 32);
    o->kind = VL_ORDER_REDEEM;
    o->seq = seq;
    memcpy(o->issuer, issuer_key.sign.pubkey, 32);
    o->serial = serial;
    memcpy(o->holder, holder_key.sign.pubkey, 32);
    o->amount_fen = amount_fen;
    memcpy(o->provider, provider_key[prov].sign.pubkey, 32);
    if (vl_random(o->invoice_hash, 32) != VL_OK)
        die("no randomness");
    o->gpu_milli_hours = 1000;
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
    sign_slot(o, 0, &holder_key);
    sign_slot(o, 1, &provider_key[prov]);
}

typedef struct {
    uint8_t *buf;
    size_t len;
    uint8_t hash[32];
} order_bytes;

static void order_encode(const vl_order *o, order_bytes *ob)
{
    size_t len = 0;
    if (vl_order_encode(o, NULL, 0, &len) != VL_OK || (ob->buf = malloc(len)) == NULL ||
        vl_order_encode(o, ob->buf, len, &ob->len) != VL_OK)
        die("cannot encode an order");
    vl_order_hash(ob->hash, o);
}

static void order_save(const char *path, const order_bytes *ob)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(ob->buf, 1, ob->len, fp) != ob->len || fclose(fp) != 0)
        die("%s: cannot write", path);
}

static void order_load(const char *path, order_bytes *ob)
{
    static vl_order o;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        die("%s: %s", path, strerror(errno));
    ob->buf = malloc(65536);
    if (ob->buf == NULL)
        die("out of memory");
    ob->len = fread(ob->buf, 1, 65536, fp);
    fclose(fp);
    if (vl_order_decode(ob->buf, ob->len, &o) != VL_OK)
        die("%s: not an order", path);
    vl_order_hash(ob->hash, &o);
}

/* Codes after which the same bytes are simply sent again. */
static bool retryable(vl_err e)
{
    return e == VL_ERR_TIMEOUT || e == VL_ERR_QUORUM || e == VL_ERR_UNAVAILABLE ||
           vl_client_should_failover(e);
}

/* ---- reading the nodes ---------------------------------------------------------------------- */

/* STATUS of every node into st[]; false if one did not answer. */
static bool status_all(vl_status *st, uint32_t timeout_ms)
{
    bool all = true;
    for (uint32_t i = 0; i < n_nodes; i++) {
        vl_client *c = client_node(i, timeout_ms);
        if (vl_client_status(c, 0, &st[i]) != VL_OK)
            all = false;
        vl_client_destroy(&c);
    }
    return all;
}

static void status_print(const vl_status *st, uint32_t i)
{
    char d[65];
    printf("  node%u log_head=%" PRIu64 " digest=%.16s... flags=0x%02x pending_locks=%u "
           "peers=%u accounts=%" PRIu64 "\n",
           i + 1, st->log_head, hex32(d, st->state_digest), st->flags, st->pending_locks,
           st->peers_connected, st->accounts);
}

/* Within wait_s every node answers with the same digest and log length
 * and no FORK flag.  st[] holds the last answers. */
static bool converge(unsigned wait_s, vl_status *st)
{
    uint64_t end = mono_ms() + 1000u * (uint64_t)wait_s;
    for (;;) {
        bool same = status_all(st, 1000);
        for (uint32_t i = 1; same && i < n_nodes; i++)
            same = st[i].log_head == st[0].log_head &&
                   memcmp(st[i].state_digest, st[0].state_digest, 32) == 0;
        for (uint32_t i = 0; same && i < n_nodes; i++)
            same = (st[i].flags & VL_STATUS_FORK) == 0;
        if (same)
            return true;
        if (mono_ms() >= end)
            break;
        sleep_ms(200);
    }
    fail("the nodes did not converge within %u s (same digest, same log length, no fork):",
         wait_s);
    for (uint32_t i = 0; i < n_nodes; i++)
        status_print(&st[i], i);
    return false;
}

typedef struct {
    uint8_t account[32];
    uint64_t seq;
    uint8_t hash[32];
} slot_hash;

static int slot_cmp(const void *x, const void *y)
{
    const slot_hash *a = x, *b = y;
    int c = memcmp(a->account, b->account, 32);
    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Node `node`'s whole log, page by page, every entry's hash chain and
 * certificate checked: every slot at most once.  Returns the entries
 * read (UINT64_MAX on a failure, reported). */
static uint64_t log_scan(uint32_t node)
{
    vl_client *c = client_node(node, QUERY_MS);
    if (scan_cache == NULL)
        scan_cache = vl_sigcache_new(SCAN_CACHE_ENTRIES);
    vl_sigcache *cache = scan_cache; /* may be NULL: verification still works */
    vl_cert *ct = malloc(sizeof *ct);
    uint8_t prev[32];
    memcpy(prev, G->network_id, 32);
    size_t cap = 1024, n = 0;
    slot_hash *slots = malloc(cap * sizeof *slots);
    if (ct == NULL || slots == NULL)
        die("out of memory");
    uint64_t next = 1, head = 0, result = UINT64_MAX;
    bool ok = true;
    do {
        vl_client_log lg;
        vl_err e = vl_client_get_log(c, 0, next, LOG_PAGE, &lg);
        if (e != VL_OK) {
            fail("node%u: GET_LOG from %" PRIu64 ": %s", node + 1, next, vl_err_name(e));
            vl_client_log_free(&lg);
            ok = false;
            break;
        }
        head = lg.log_head;
        for (uint32_t k = 0; k < lg.count && ok; k++, next++) {
            vl_entry en;
            e = vl_client_check_entry(G, cache, lg.entries[k], lg.entry_lens[k], next, prev,
                                      NULL);
            if (e == VL_OK && vl_entry_decode(lg.entries[k], lg.entry_lens[k], &en) == VL_OK &&
                vl_cert_decode(en.cert.ptr, en.cert.len, ct) == VL_OK) {
                if (n == cap && (slots = realloc(slots, (cap *= 2) * sizeof *slots)) == NULL)
                    die("out of memory");
                vl_order_account(slots[n].account, &ct->order);
                slots[n].seq = ct->order.seq;
                vl_order_hash(slots[n].hash, &ct->order);
                n++;
            } else {
                fail("node%u: log entry %" PRIu64 " does not check: %s", node + 1, next,
                     vl_err_name(e));
                ok = false;
            }
        }
        bool progress = lg.count > 0;
        vl_client_log_free(&lg);
        if (!progress)
            break;
    } while (ok && next <= head);
    if (ok && next != head + 1) {
        fail("node%u: read %" PRIu64 " log entries, head is %" PRIu64, node + 1, next - 1, head);
        ok = false;
    }
    qsort(slots, n, sizeof *slots, slot_cmp);
    for (size_t i = 1; ok && i < n; i++) {
        if (slot_cmp(&slots[i - 1], &slots[i]) == 0) {
            char h[65];
            fail("node%u: slot (%.16s..., %" PRIu64 ") is in its log twice (%s)", node + 1,
                 hex32(h, slots[i].account), slots[i].seq,
                 memcmp(slots[i - 1].hash, slots[i].hash, 32) != 0 ? "two different orders"
                                                                    : "the same order");
            ok = false;
        }
    }
    if (ok)
        result = n;
    free(slots);
    free(ct);
    vl_client_destroy(&c);
    return result;
}

/* Check every ack of one account (acks[0..n), sorted by seq) against what
 * node `node` serves.  raw/raw_len (may be NULL) receive a copy of the
 * account state.  False (reported) on a mismatch. */
static bool acks_on_node(vl_client *c, uint32_t node, const ack *acks, size_t n,
                         uint8_t **raw, size_t *raw_len)
{
    vl_client_account acct;
    char h[65];
    vl_err e = vl_client_get_account(c, acks[0].account, &acct);
    bool ok = e == VL_OK;
    if (!ok)
        fail("node%u: account %.16s...: %s", node + 1, hex32(h, acks[0].account),
             vl_err_name(e));
    for (size_t i = 0; ok && i < n; i++) {
        uint64_t s = acks[i].seq;
        ok = s < acct.cert_count &&
             vl_client_verify_cert(G, NULL, acct.certs[s], acct.cert_lens[s], acks[i].hash, NULL,
                                   NULL) == VL_OK;
        if (!ok)
            fail("node%u: the acknowledged certificate of (%.16s..., %" PRIu64
                 ") is missing or another order's (the node has %u certificates)",
                 node + 1, hex32(h, acks[i].account), s, acct.cert_count);
    }
    if (ok && raw != NULL) {
        *raw = malloc(acct.account_len);
        if (*raw == NULL)
            die("out of memory");
        memcpy(*raw, acct.account_raw, acct.account_len);
        *raw_len = acct.account_len;
    }
    vl_client_account_free(&acct);
    return ok;
}

/* ---- setup ---------------------------------------------------------------------------------------- */

static int cmd_setup(int n, char **argv)
{
    static vl_order o;
    uint64_t count = parse_u64(argv[1], "COUNT");
    uint64_t first = n > 2 ? parse_u64(argv[2], "FIRST") : 1;
    if (first == 0 || first > UINT64_MAX / 2)
        die("FIRST: 1..2^63");
    char path[4096];
    if (count == 0 || count > VL_MAX_ISSUE_BATCH)
        die("COUNT: 1..%d", VL_MAX_ISSUE_BATCH);
    vl_client *c = client_from(0, n_nodes, REPLY_MS);
    vl_client_account acct;
    uint8_t id[32];
    vl_issuer_account_id(id, issuer_key.sign.pubkey);
    vl_err e = vl_client_get_account(c, id, &acct);
    uint64_t seq = e == VL_OK ? acct.account.next_seq : 0;
    vl_client_account_free(&acct);
    if (e != VL_OK && e != VL_ERR_UNKNOWN_ACCOUNT)
        die("issuer account: %s", vl_err_name(e));

    uint64_t now_s = (uint64_t)time(NULL);
    memset(&o, 0, sizeof o);
    memcpy(o.network_id, G->network_id, 32);
    o.kind = VL_ORDER_ISSUE;
    o.seq = seq;
    memcpy(o.issuer, issuer_key.sign.pubkey, 32);
    o.voucher_count = (uint16_t)count;
    for (uint64_t i = 0; i < count; i++) {
        vl_voucher_spec *v = &o.vouchers[i];
        *v = (vl_voucher_spec){.serial = first + i, .value_fen = VOUCHER_VALUE_FEN,
                               .valid_from_s = now_s - 86400u,
                               .valid_until_s = now_s + 365u * 86400u, .subsidy_bp = 8000,
                               .program = {(const uint8_t *)"fault-test", 10}};
        memcpy(v->holder, holder_key.sign.pubkey, 32);
    }
    o.sig_count = (uint8_t)vl_order_sig_count(o.kind);
    sign_slot(&o, 0, &issuer_key);
    order_bytes ob;
    order_encode(&o, &ob);
    vl_client_result r;
    e = vl_client_submit(c, ob.buf, ob.len, &r);
    if (e == VL_OK) {
        snprintf(path, sizeof path, "%s/acks.setup", argv[0]);
        ack_result(path, &r, 0);
        printf("setup: issued vouchers %" PRIu64 "..%" PRIu64 " at issuer seq %" PRIu64 "\n",
               first, first + count - 1, seq);
    } else {
        fail("setup: ISSUE refused: %s: %s", vl_err_name(e), r.message);
    }
    vl_client_result_free(&r);
    vl_client_destroy(&c);
    free(ob.buf);
    return failures == 0 ? 0 : 1;
}

/* ---- stream ---------------------------------------------------------------------------------------- */

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int cmd_stream(char **argv)
{
    static vl_order o;
    const char *acks_path = argv[1];
    uint64_t first = parse_u64(argv[2], "FIRST"), count = parse_u64(argv[3], "COUNT");
    uint32_t node = parse_node(argv[4]);
    uint64_t timeout = parse_u64(argv[5], "TIMEOUT_MS"), max_s = parse_u64(argv[6], "MAX_S");
    if (count == 0 || count > MAX_STREAM_VOUCHERS || timeout < VL_CLIENT_MIN_TIMEOUT_MS ||
        timeout > REPLY_MS)
        die("stream: COUNT 1..%u, TIMEOUT_MS %u..%u", MAX_STREAM_VOUCHERS,
            VL_CLIENT_MIN_TIMEOUT_MS, REPLY_MS);
    char stop_path[4096];
    snprintf(stop_path, sizeof stop_path, "%s.stop", acks_path);
    vl_client *c = client_from(node, n_nodes, (uint32_t)timeout);
    uint64_t seq[MAX_STREAM_VOUCHERS] = {0};
    order_bytes pending[MAX_STREAM_VOUCHERS];
    memset(pending, 0, sizeof pending);
    uint64_t acked = 0, retries = 0, failovers = 0, open = 0;
    uint64_t start = mono_ms(), stop_at = 0, last_start = 0;
    for (;;) {
        bool stopping = stop_at != 0;
        if (!stopping && (file_exists(stop_path) || mono_ms() - start >= 1000u * max_s))
            stop_at = mono_ms();
        if (stopping && open == 0)
            break;
        if (stopping && mono_ms() - stop_at >= 1000u * FINISH_AFTER_STOP_S) {
            fail("stream: %" PRIu64 " orders still without a certificate %u s after the stop",
                 open, FINISH_AFTER_STOP_S);
            break;
        }
        for (uint64_t v = 0; v < count && failures == 0; v++) {
            if (pending[v].buf == NULL) {
                if (stop_at != 0)
                    continue;
                uint64_t since = mono_ms() - last_start;
                if (since < STREAM_PACE_MS)
                    sleep_ms((unsigned)(STREAM_PACE_MS - since));
                last_start = mono_ms();
                redeem_build(&o, first + v, seq[v], 100, (unsigned)(v % 2u));
                order_encode(&o, &pending[v]);
                open++;
            }
            vl_client_result r;
            vl_err e = vl_client_submit(c, pending[v].buf, pending[v].len, &r);
            if (e == VL_OK) {
                ack_result(acks_path, &r, node);
                acked++;
                failovers += r.endpoint != 0;
                seq[v]++;
                free(pending[v].buf);
                pending[v].buf = NULL;
                open--;
            } else if (retryable(e)) {
                retries++; /* the same bytes next time round */
            } else {
                fail("stream: voucher %" PRIu64 " seq %" PRIu64 " refused: %s: %s",
                     first + v, seq[v], vl_err_name(e), r.message);
            }
            vl_client_result_free(&r);
        }
        if (failures != 0)
            break;
    }
    printf("stream %s: %" PRIu64 " certificates, %" PRIu64 " through a node other than the "
           "first, %" PRIu64 " resubmissions\n",
           acks_path, acked, failovers, retries);
    for (uint64_t v = 0; v < count; v++)
        free(pending[v].buf);
    vl_client_destroy(&c);
    return failures == 0 ? 0 : 1;
}

/* At most this many of a node's acknowledged certificates may be missing
 * after it is killed: one step's early certificates (cmd_check_own).  The
 * streams keep one order per voucher in flight, 8 vouchers each. */
#define CHECK_OWN_EARLY_MAX 16u

/* ---- check, check-own, snapshot ---------------------------------------------------------------------- */

/* Every ack (sorted) on every node listed; accounts identical across them. */
static void acks_everywhere(const ack *acks, size_t n, const uint32_t *nodes, uint32_t count)
{
    vl_client *cs[VL_MAX_NODES];
    for (uint32_t k = 0; k < count; k++)
        cs[k] = client_node(nodes[k], QUERY_MS);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && memcmp(acks[j].account, acks[i].account, 32) == 0)
            j++;
        uint8_t *raw0 = NULL;
        size_t len0 = 0;
        for (uint32_t k = 0; k < count; k++) {
            uint8_t *raw = NULL;
            size_t len = 0;
            if (!acks_on_node(cs[k], nodes[k], acks + i, j - i, &raw, &len))
                continue;
            if (raw0 == NULL) {
                raw0 = raw;
                len0 = len;
                continue;
            }
            char h[65];
            if (len != len0 || memcmp(raw, raw0, len) != 0)
                fail("account %.16s... differs between node%u and node%u",
                     hex32(h, acks[i].account), nodes[0] + 1, nodes[k] + 1);
            free(raw);
        }
        free(raw0);
        i = j;
    }
    for (uint32_t k = 0; k < count; k++)
        vl_client_destroy(&cs[k]);
}

static int cmd_check(int argc, char **argv)
{
    uint64_t wait_s = parse_u64(argv[1], "WAIT_S");
    vl_status st[VL_MAX_NODES];
    ack *acks;
    size_t n;
    acks_read(argv + 2, argc - 2, &acks, &n);
    qsort(acks, n, sizeof *acks, ack_cmp);
    uint32_t nodes[VL_MAX_NODES];
    for (uint32_t k = 0; k < n_nodes; k++)
        nodes[k] = k;
    if (converge((unsigned)wait_s, st)) {
        acks_everywhere(acks, n, nodes, n_nodes);
        for (uint32_t k = 0; k < n_nodes; k++) {
            uint64_t got = log_scan(k);
            if (got != UINT64_MAX && got != st[k].log_head)
                fail("node%u: %" PRIu64 " log entries read, STATUS said %" PRIu64, k + 1, got,
                     st[k].log_head);
        }
        char d[65];
        printf("check: %zu acknowledged certificates on all %u nodes; log length %" PRIu64
               ", digest %.16s...\n",
               n, n_nodes, st[0].log_head, hex32(d, st[0].state_digest));
    }
    free(acks);
    return failures == 0 ? 0 : 1;
}

/* Whether node (through c) holds the certificate of ack a. */
static bool ack_held(vl_client *c, const ack *a)
{
    vl_client_account acct;
    bool held = vl_client_get_account_from(c, a->account, a->seq, 1, &acct) == VL_OK &&
                acct.cert_count == 1 &&
                vl_client_verify_cert(G, NULL, acct.certs[0], acct.cert_lens[0], a->hash, NULL,
                                      NULL) == VL_OK;
    vl_client_account_free(&acct);
    return held;
}

/* Every certificate node acknowledged is in its log, but for those of the
 * last step before it was killed: a certificate formed from votes that
 * were all durable leaves before the commit of the step that formed it
 * (consensus/vl_core.c note 24; docs/performance.md, change 15), so a
 * kill in that commit loses the node's copy, not the certificate (q
 * voters hold their votes; it certifies again once they are back, which
 * check_all then sees).  So the ones missing must be the last the node
 * acknowledged, in the order the client received them, and few. */
static int cmd_check_own(int argc, char **argv)
{
    uint32_t node = parse_node(argv[1]);
    ack *acks;
    size_t n, mine = 0, missing = 0, first_missing = 0;
    acks_read(argv + 2, argc - 2, &acks, &n);
    for (size_t i = 0; i < n; i++) /* file order: the order the client got them */
        if (acks[i].node == node)
            acks[mine++] = acks[i];
    vl_status st;
    vl_client *c = client_node(node, QUERY_MS);
    vl_err e = vl_client_status(c, 0, &st);
    if (mine == 0)
        fail("check-own: node%u answered no acknowledged order: nothing to check", node + 1);
    else if (e != VL_OK)
        fail("check-own: node%u does not answer STATUS: %s", node + 1, vl_err_name(e));
    for (size_t i = 0; e == VL_OK && i < mine; i++) {
        char h[65];
        bool held = ack_held(c, &acks[i]);
        if (!held && missing++ == 0)
            first_missing = i;
        if (held && missing > 0)
            fail("check-own: node%u lacks the certificate of (%.16s..., %" PRIu64
                 ") although it holds a later one it acknowledged: a step it acknowledged "
                 "was lost whole",
                 node + 1, hex32(h, acks[first_missing].account), acks[first_missing].seq);
    }
    if (missing > CHECK_OWN_EARLY_MAX)
        fail("check-own: node%u lacks its last %zu acknowledged certificates: more than one "
             "step's early certificates (%u)",
             node + 1, missing, CHECK_OWN_EARLY_MAX);
    vl_client_destroy(&c);
    if (failures == 0)
        printf("check-own: node%u holds %zu of the %zu certificates it acknowledged itself; "
               "the %zu others were its last, sent early (vl_core.c note 24)\n",
               node + 1, mine - missing, mine, missing);
    free(acks);
    return failures == 0 ? 0 : 1;
}

static int cmd_snapshot(int argc, char **argv)
{
    ack *acks;
    size_t n;
    acks_read(argv + 2, argc - 2, &acks, &n);
    qsort(acks, n, sizeof *acks, ack_cmp);
    FILE *out = fopen(argv[1], "w");
    if (out == NULL)
        die("%s: %s", argv[1], strerror(errno));
    for (uint32_t k = 0; k < n_nodes; k++) {
        vl_client *c = client_node(k, QUERY_MS);
        vl_status st;
        vl_err e = vl_client_status(c, 0, &st);
        if (e != VL_OK)
            fail("snapshot: node%u STATUS: %s", k + 1, vl_err_name(e));
        /* the states and certificates of the acked accounts, hashed */
        size_t cap = 1u << 16, len = 0;
        uint8_t *buf = malloc(cap), digest[32];
        for (size_t i = 0; buf != NULL && i < n; i++) {
            if (i > 0 && memcmp(acks[i].account, acks[i - 1].account, 32) == 0)
                continue;
            vl_client_account acct;
            uint32_t code = (uint32_t)vl_client_get_account(c, acks[i].account, &acct);
            size_t need = sizeof code + acct.account_len;
            for (uint32_t j = 0; j < acct.cert_count; j++)
                need += acct.cert_lens[j];
            while (len + need > cap && buf != NULL)
                buf = realloc(buf, cap *= 2);
            if (buf == NULL)
                break;
            memcpy(buf + len, &code, sizeof code);
            len += sizeof code;
            memcpy(buf + len, acct.account_raw, acct.account_len);
            len += acct.account_len;
            for (uint32_t j = 0; j < acct.cert_count; j++) {
                memcpy(buf + len, acct.certs[j], acct.cert_lens[j]);
                len += acct.cert_lens[j];
            }
            vl_client_account_free(&acct);
        }
        if (buf == NULL)
            die("out of memory");
        vl_tagged_hash(digest, "fault-driver/snapshot", buf, len);
        free(buf);
        char h1[65], h2[65], h3[65];
        fprintf(out, "node%u log_head=%" PRIu64 " head_hash=%s digest=%s accounts=%s\n", k + 1,
                st.log_head, hex32(h1, st.head_hash), hex32(h2, st.state_digest),
                hex32(h3, digest));
        vl_client_destroy(&c);
    }
    if (fclose(out) != 0)
        die("%s: cannot write", argv[1]);
    free(acks);
    printf("snapshot: %u nodes, %zu acknowledged certificates, to %s\n", n_nodes, n, argv[1]);
    return failures == 0 ? 0 : 1;
}

static int cmd_status(void)
{
    vl_status st[VL_MAX_NODES];
    for (uint32_t i = 0; i < n_nodes; i++) {
        vl_client *c = client_node(i, 1000);
        if (vl_client_status(c, 0, &st[i]) == VL_OK)
            status_print(&st[i], i);
        else
            printf("  node%u does not answer\n", i + 1);
        vl_client_destroy(&c);
    }
    return 0;
}

/* ---- double: two orders for one slot at the same moment ------------------------------------------- */

/*
 * The contract (docs/clients.md, section 1, and vl_client.h): of two
 * different orders for one slot, at most one is ever certified, on any
 * node.  Each submission ends in exactly one of
 *   VL_OK                     a certificate of this very order;
 *   VL_ERR_CONFLICT           evidence kind ORDER, verified, and it is the
 *                             other order (the pair proves the holder
 *                             signed twice); this order is then never
 *                             certified (two voters are locked on the
 *                             other: it can reach at most n - 2 < q votes);
 *   VL_ERR_ALREADY_CERTIFIED  evidence kind CERT, verified, a certificate
 *                             of the other order.
 * Anything else (a timeout included: every voter is up) fails the test.
 * When neither order got a certificate, the slot is frozen: both sides
 * got CONFLICT.
 */
typedef struct {
    vl_err code;
    uint32_t node;        /* which node gave the answer */
    uint8_t ev_kind;
    bool ev_verified;
    uint8_t ev_hash[32];  /* order hash of the evidence */
    bool ev_decoded;
} outcome;

typedef struct {
    uint32_t pair, side, pairs, first_node;
    uint64_t count;
    order_bytes *orders; /* [voucher][2] */
    outcome *out;        /* [voucher][2] */
    pthread_barrier_t *barrier;
} side_arg;

static void outcome_take(outcome *oc, const vl_client_result *r, uint32_t first)
{
    vl_cert *ct = malloc(sizeof *ct); /* large: not on a thread's stack */
    if (ct == NULL)
        die("out of memory");
    memset(oc, 0, sizeof *oc);
    oc->code = r->code;
    oc->node = r->endpoint >= 0 ? (first + (uint32_t)r->endpoint) % n_nodes : UINT32_MAX;
    oc->ev_kind = r->evidence_kind;
    oc->ev_verified = r->evidence_verified;
    if (r->evidence_kind == VL_EVIDENCE_ORDER &&
        vl_order_decode(r->evidence, r->evidence_len, &ct->order) == VL_OK) {
        vl_order_hash(oc->ev_hash, &ct->order);
        oc->ev_decoded = true;
    } else if (r->evidence_kind == VL_EVIDENCE_CERT &&
               vl_cert_decode(r->evidence, r->evidence_len, ct) == VL_OK) {
        vl_order_hash(oc->ev_hash, &ct->order);
        oc->ev_decoded = true;
    }
    free(ct);
}

static void *side_main(void *p)
{
    side_arg *a = p;
    vl_client *c = client_from(a->first_node, n_nodes, REPLY_MS);
    vl_status st;
    (void)vl_client_status(c, 0, &st); /* connect before the first barrier */
    for (uint64_t v = a->pair; v < a->count; v += a->pairs) {
        vl_client_result r;
        const order_bytes *ob = &a->orders[2u * v + a->side];
        pthread_barrier_wait(a->barrier);
        (void)vl_client_submit(c, ob->buf, ob->len, &r);
        outcome_take(&a->out[2u * v + a->side], &r, a->first_node);
        vl_client_result_free(&r);
    }
    vl_client_destroy(&c);
    return NULL;
}

/* Check one side's outcome against the contract; returns 1 if it holds a
 * certificate. */
static int judge_side(uint64_t serial, const outcome *me, const order_bytes *other,
                      unsigned side)
{
    if (me->code == VL_OK)
        return 1;
    bool ev_other = me->ev_decoded && me->ev_verified && memcmp(me->ev_hash, other->hash, 32) == 0;
    if (me->code == VL_ERR_CONFLICT && me->ev_kind == VL_EVIDENCE_ORDER && ev_other)
        return 0;
    if (me->code == VL_ERR_ALREADY_CERTIFIED && me->ev_kind == VL_EVIDENCE_CERT && ev_other)
        return 0;
    fail("voucher %" PRIu64 " order %c (answered by node%u): %s, evidence kind %u %s%s", serial,
         side == 0 ? 'X' : 'Y', me->node + 1, vl_err_name(me->code), me->ev_kind,
         me->ev_verified ? "verified" : "not verified",
         ev_other ? " (the other order)" : " (NOT the other order)");
    return 0;
}

/* What node `node` holds at slot 0 of each voucher: 0 none, 1 X, 2 Y, 3 other. */
static void slot_holdings(uint32_t node, uint64_t first, uint64_t count,
                          const order_bytes *orders, uint8_t *held)
{
    vl_client *c = client_node(node, QUERY_MS);
    for (uint64_t v = 0; v < count; v++) {
        uint8_t id[32], hash[32];
        vl_client_account acct;
        voucher_id(id, first + v);
        vl_err e = vl_client_get_account(c, id, &acct);
        held[v] = 3;
        if (e != VL_OK)
            fail("node%u: voucher %" PRIu64 ": %s", node + 1, first + v, vl_err_name(e));
        else if (acct.cert_count > 1 || acct.account.next_seq != acct.cert_count)
            fail("node%u: voucher %" PRIu64 " has %u certificates, next_seq %" PRIu64,
                 node + 1, first + v, acct.cert_count, acct.account.next_seq);
        else if (acct.cert_count == 0)
            held[v] = 0;
        else if (acct.cert_ok[0] == VL_OK &&
                 vl_client_verify_cert(G, NULL, acct.certs[0], acct.cert_lens[0], NULL, NULL,
                                       hash) == VL_OK)
            held[v] = memcmp(hash, orders[2u * v].hash, 32) == 0       ? 1
                      : memcmp(hash, orders[2u * v + 1].hash, 32) == 0 ? 2
                                                                       : 3;
        vl_client_account_free(&acct);
    }
    vl_client_destroy(&c);
}

static void double_run(uint64_t count, uint32_t pairs, order_bytes *orders, outcome *out)
{
    pthread_barrier_t barriers[MAX_PAIRS];
    side_arg args[2 * MAX_PAIRS];
    pthread_t th[2 * MAX_PAIRS];
    for (uint32_t j = 0; j < pairs; j++) {
        pthread_barrier_init(&barriers[j], NULL, 2);
        for (uint32_t s = 0; s < 2; s++) {
            /* X starts at node j mod n, Y at another node */
            uint32_t first = s == 0 ? j % n_nodes : (j + 1u + j % (n_nodes - 1u)) % n_nodes;
            args[2 * j + s] = (side_arg){.pair = j, .side = s, .pairs = pairs, .count = count,
                                         .first_node = first, .orders = orders, .out = out,
                                         .barrier = &barriers[j]};
            if (pthread_create(&th[2 * j + s], NULL, side_main, &args[2 * j + s]) != 0)
                die("pthread_create");
        }
    }
    for (uint32_t t = 0; t < 2 * pairs; t++)
        pthread_join(th[t], NULL);
    for (uint32_t j = 0; j < pairs; j++)
        pthread_barrier_destroy(&barriers[j]);
}

static int cmd_double(char **argv)
{
    static vl_order o;
    const char *acks_path = argv[1];
    uint64_t first = parse_u64(argv[2], "FIRST"), count = parse_u64(argv[3], "COUNT");
    uint64_t pairs = parse_u64(argv[4], "PAIRS");
    if (count == 0 || count > 4096 || pairs == 0 || pairs > MAX_PAIRS || n_nodes < 2)
        die("double: COUNT 1..4096, PAIRS 1..%u", MAX_PAIRS);
    order_bytes *orders = calloc(2 * count, sizeof *orders);
    outcome *out = calloc(2 * count, sizeof *out);
    uint8_t *held = calloc(count, 1), *agreed = calloc(count, 1);
    if (orders == NULL || out == NULL || held == NULL || agreed == NULL)
        die("out of memory");
    /* X and Y: both signed by the holder for slot 0; they differ in the
     * amount or in the provider */
    for (uint64_t v = 0; v < count; v++) {
        redeem_build(&o, first + v, 0, 1000, 0);
        order_encode(&o, &orders[2 * v]);
        redeem_build(&o, first + v, 0, v % 2u == 0 ? 2000u : 1000u, v % 2u == 0 ? 0u : 1u);
        order_encode(&o, &orders[2 * v + 1]);
    }
    double_run(count, (uint32_t)pairs, orders, out);

    unsigned certified = 0, frozen = 0, conflicts = 0, already = 0;
    for (uint64_t v = 0; v < count; v++) {
        int x = judge_side(first + v, &out[2 * v], &orders[2 * v + 1], 0);
        int y = judge_side(first + v, &out[2 * v + 1], &orders[2 * v], 1);
        if (x + y == 2)
            fail("voucher %" PRIu64 ": BOTH orders got a certificate", first + v);
        certified += (unsigned)(x + y);
        frozen += x + y == 0 && out[2 * v].code == VL_ERR_CONFLICT &&
                  out[2 * v + 1].code == VL_ERR_CONFLICT;
        for (unsigned s = 0; s < 2; s++) {
            conflicts += out[2 * v + s].code == VL_ERR_CONFLICT;
            already += out[2 * v + s].code == VL_ERR_ALREADY_CERTIFIED;
        }
    }
    printf("double: %" PRIu64 " slots, two orders each: %u certified, %u frozen (both "
           "CONFLICT); answers: %u CONFLICT, %u ALREADY_CERTIFIED\n",
           count, certified, frozen, conflicts, already);

    /* What every node holds, once they agree. */
    vl_status st[VL_MAX_NODES];
    if (converge(30, st)) {
        for (uint32_t k = 0; k < n_nodes; k++) {
            slot_holdings(k, first, count, orders, k == 0 ? agreed : held);
            for (uint64_t v = 0; k > 0 && v < count; v++)
                if (held[v] != agreed[v])
                    fail("voucher %" PRIu64 ": node1 holds %u, node%u holds %u", first + v,
                         agreed[v], k + 1, held[v]);
            if (log_scan(k) == UINT64_MAX)
                fail("node%u: its log breaks the one-certificate-per-slot rule", k + 1);
        }
        for (uint64_t v = 0; v < count; v++) {
            for (unsigned s = 0; s < 2; s++) {
                const outcome *oc = &out[2 * v + s];
                unsigned mine = s + 1u, other = 2u - s;
                bool ok = oc->code == VL_OK                      ? agreed[v] == mine
                          : oc->code == VL_ERR_ALREADY_CERTIFIED ? agreed[v] == other
                          : oc->code == VL_ERR_CONFLICT          ? agreed[v] != mine
                                                                 : true;
                if (!ok)
                    fail("voucher %" PRIu64 " order %c got %s but the nodes hold %u (0 none, "
                         "1 X, 2 Y)",
                         first + v, s == 0 ? 'X' : 'Y', vl_err_name(oc->code), agreed[v]);
                if (oc->code == VL_OK) {
                    ack a = {.seq = 0, .node = oc->node};
                    voucher_id(a.account, first + v);
                    memcpy(a.hash, orders[2 * v + s].hash, 32);
                    ack_write(acks_path, &a);
                }
            }
        }
    }
    for (uint64_t i = 0; i < 2 * count; i++)
        free(orders[i].buf);
    free(orders);
    free(out);
    free(held);
    free(agreed);
    if (failures == 0)
        printf("double: at most one certificate per slot on every node, and every answer "
               "kept the contract\n");
    return failures == 0 ? 0 : 1;
}

/* ---- noquorum, resubmit, kill-coord ------------------------------------------------------------------ */

static int cmd_noquorum(int argc, char **argv)
{
    static vl_order o;
    uint64_t serial = parse_u64(argv[2], "SERIAL"), hold_ms = parse_u64(argv[3], "HOLD_MS");
    uint32_t live[VL_MAX_NODES], nlive = 0;
    for (int i = 4; i < argc && nlive < VL_MAX_NODES; i++)
        live[nlive++] = parse_node(argv[i]);
    if (nlive == 0 || hold_ms > 60000)
        die("noquorum: at least one NODE, HOLD_MS at most 60000");
    redeem_build(&o, serial, 0, 100, 0);
    order_bytes ob;
    order_encode(&o, &ob);
    order_save(argv[1], &ob);
    uint64_t heads[VL_MAX_NODES];
    vl_client *cs[VL_MAX_NODES];
    for (uint32_t k = 0; k < nlive; k++) {
        vl_status st;
        cs[k] = client_node(live[k], QUERY_MS);
        if (vl_client_status(cs[k], 0, &st) != VL_OK)
            die("node%u does not answer STATUS", live[k] + 1);
        heads[k] = st.log_head;
    }
    /* a client of the running nodes only, in the order given */
    const char *eps[VL_MAX_NODES];
    for (uint32_t k = 0; k < nlive; k++)
        eps[k] = G->nodes[live[k]].client_endpoint;
    vl_client *c = NULL;
    if (vl_client_new(&c, G, eps, nlive, REPLY_MS) != VL_OK)
        die("cannot make a client");
    vl_client_result r;
    vl_err e = vl_client_submit(c, ob.buf, ob.len, &r);
    printf("noquorum: the submission ended with %s after %u nodes tried (%u answered): %s\n",
           vl_err_name(e), r.tried, r.answered, r.message);
    if (e != VL_ERR_TIMEOUT && e != VL_ERR_QUORUM)
        fail("noquorum: want VL_ERR_TIMEOUT or VL_ERR_QUORUM (NO_QUORUM), got %s",
             vl_err_name(e));
    if (r.answered == 0)
        fail("noquorum: no running node answered");
    vl_client_result_free(&r);
    vl_client_destroy(&c);
    /* nothing certified, now and after the locks were re-driven */
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            sleep_ms((unsigned)hold_ms);
        for (uint32_t k = 0; k < nlive; k++) {
            vl_status st;
            vl_client_account acct;
            uint8_t id[32];
            voucher_id(id, serial);
            e = vl_client_status(cs[k], 0, &st);
            if (e != VL_OK || st.log_head != heads[k])
                fail("noquorum: node%u's log went from %" PRIu64 " to %" PRIu64 " entries (%s)",
                     live[k] + 1, heads[k], st.log_head, vl_err_name(e));
            e = vl_client_get_account(cs[k], id, &acct);
            if (e != VL_OK || acct.cert_count != 0 || acct.account.next_seq != 0)
                fail("noquorum: node%u: voucher %" PRIu64 " has %u certificates (%s)",
                     live[k] + 1, serial, acct.cert_count, vl_err_name(e));
            vl_client_account_free(&acct);
        }
    }
    for (uint32_t k = 0; k < nlive; k++)
        vl_client_destroy(&cs[k]);
    free(ob.buf);
    if (failures == 0)
        printf("noquorum: nothing certified on the %u running nodes, also %" PRIu64
               " ms later\n",
               nlive, hold_ms);
    return failures == 0 ? 0 : 1;
}

static int cmd_resubmit(char **argv)
{
    order_bytes ob;
    order_load(argv[1], &ob);
    vl_client *c = client_from(0, n_nodes, REPLY_MS);
    vl_client_result r;
    vl_err e = VL_ERR_UNAVAILABLE;
    for (int attempt = 0; attempt < 5; attempt++) {
        e = vl_client_submit(c, ob.buf, ob.len, &r);
        if (!retryable(e) || e == VL_OK)
            break;
        vl_client_result_free(&r);
    }
    if (e == VL_OK) {
        ack_result(argv[2], &r, 0);
        printf("resubmit: the same bytes got their certificate from node%d\n", r.endpoint + 1);
    } else {
        fail("resubmit: %s: %s", vl_err_name(e), r.message);
    }
    vl_client_result_free(&r);
    vl_client_destroy(&c);
    free(ob.buf);
    return failures == 0 ? 0 : 1;
}

static int cmd_kill_coord(char **argv)
{
    static vl_order o;
    uint64_t serial = parse_u64(argv[2], "SERIAL");
    uint32_t node = parse_node(argv[3]);
    vl_status st;
    vl_client *c = client_node(node, QUERY_MS);
    vl_err e = vl_client_status(c, 0, &st);
    vl_client_destroy(&c);
    /* With a lock to re-drive, the node would send a VOTE_REQUEST (and die)
     * before our order reached it. */
    if (e != VL_OK || st.pending_locks != 0)
        die("kill-coord: node%u must answer STATUS with no pending lock (%s, %u locks)",
            node + 1, vl_err_name(e), st.pending_locks);
    redeem_build(&o, serial, 0, 100, 1);
    order_bytes ob;
    order_encode(&o, &ob);
    c = client_from(node, n_nodes, QUERY_MS);
    vl_client_result r;
    e = vl_client_submit(c, ob.buf, ob.len, &r);
    uint32_t answered = r.endpoint >= 0 ? (node + (uint32_t)r.endpoint) % n_nodes : UINT32_MAX;
    if (e != VL_OK)
        fail("kill-coord: %s: %s", vl_err_name(e), r.message);
    else if (answered == node || r.tried < 2)
        fail("kill-coord: the certificate came from node%u after %u attempts: the coordinator "
             "was not killed",
             answered + 1, r.tried);
    else
        ack_result(argv[1], &r, node);
    if (failures == 0)
        printf("kill-coord: node%u died coordinating; the same bytes got their certificate "
               "from node%u\n",
               node + 1, answered + 1);
    vl_client_result_free(&r);
    vl_client_destroy(&c);
    free(ob.buf);
    return failures == 0 ? 0 : 1;
}

static int cmd_submit_one(char **argv)
{
    static vl_order o;
    uint64_t serial = parse_u64(argv[2], "SERIAL");
    uint32_t node = parse_node(argv[3]);
    const char *expect = argv[4];
    redeem_build(&o, serial, 0, 100, 0);
    order_bytes ob;
    order_encode(&o, &ob);
    vl_client *c = client_node(node, REPLY_MS);
    vl_client_result r;
    vl_err e = vl_client_submit(c, ob.buf, ob.len, &r);
    printf("submit-one: node%u answered %s (%u answered): %s\n", node + 1, vl_err_name(e),
           r.answered, r.message);
    if (strcmp(expect, "OK") == 0 ? e != VL_OK : strcmp(expect, vl_err_name(e)) != 0)
        fail("submit-one: want %s from node%u, got %s", expect, node + 1, vl_err_name(e));
    else if (e == VL_OK)
        ack_result(argv[1], &r, node);
    vl_client_result_free(&r);
    vl_client_destroy(&c);
    free(ob.buf);
    return failures == 0 ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3) {
        fprintf(stderr, "usage: see the top of fault_driver.c\n");
        return 2;
    }
    const char *cmd = argv[1];
    load_env(argv[2]);
    char **a = argv + 2;
    int n = argc - 2;
    int rc;
    if (strcmp(cmd, "setup") == 0 && (n == 2 || n == 3))
        rc = cmd_setup(n, a);
    else if (strcmp(cmd, "stream") == 0 && n == 7)
        rc = cmd_stream(a);
    else if (strcmp(cmd, "check") == 0 && n >= 3)
        rc = cmd_check(n, a);
    else if (strcmp(cmd, "check-own") == 0 && n >= 3)
        rc = cmd_check_own(n, a);
    else if (strcmp(cmd, "double") == 0 && n == 5)
        rc = cmd_double(a);
    else if (strcmp(cmd, "noquorum") == 0 && n >= 5)
        rc = cmd_noquorum(n, a);
    else if (strcmp(cmd, "resubmit") == 0 && n == 3)
        rc = cmd_resubmit(a);
    else if (strcmp(cmd, "kill-coord") == 0 && n == 4)
        rc = cmd_kill_coord(a);
    else if (strcmp(cmd, "snapshot") == 0 && n >= 2)
        rc = cmd_snapshot(n, a);
    else if (strcmp(cmd, "status") == 0 && n == 1)
        rc = cmd_status();
    else if (strcmp(cmd, "submit-one") == 0 && n == 5)
        rc = cmd_submit_one(a);
    else {
        fprintf(stderr, "usage: see the top of fault_driver.c\n");
        rc = 2;
    }
    vl_keyfile_wipe(&issuer_key);
    vl_keyfile_wipe(&holder_key);
    vl_keyfile_wipe(&provider_key[0]);
    vl_keyfile_wipe(&provider_key[1]);
    vl_sigcache_destroy(&scan_cache);
    free(G);
    return rc;
}
