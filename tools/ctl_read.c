/* ctl_read.c - voucherctl commands that read: query (an account and its
 * history), status (each node's health), log (entries of one node's log)
 * and verify-log (a whole log, over the network or from a stopped node's
 * data directory); log --export writes one node's log, its checkpoint and
 * (from a data directory) its locks to a file for voucher-reconcile.
 *
 * Design notes
 *  1. Nothing read is trusted: every certificate shown is verified against
 *     the genesis ("verified": true), and verify-log checks one node's hash
 *     chain from the network id (entry 1's prev_hash) to its head.
 *  2. verify-log --data-dir opens the node's LMDB environment read-only
 *     (MDB_RDONLY, the same maxdbs as consensus/vl_store.c; without a lock
 *     file of its own when the directory has no lock.mdb: a backup or a
 *     copy, never a node's directory, which may then be read-only to us),
 *     checks that its meta names the genesis' network and node, reads the `log`
 *     named database (keys: big-endian u64 index; values: encoded ENTRY) in
 *     key order and checks each key against its entry's index.  The node
 *     should be stopped; a read transaction is a consistent snapshot anyway.
 *     ctl_env_open refuses a directory without data.mdb before LMDB sees it
 *     (mdb_env_open would leave a lock.mdb behind in any directory).  A
 *     private copy (a backup: nobody writes it) is opened with MDB_NOLOCK,
 *     so checking it leaves no lock file in it.  The same functions check a
 *     backup (ctl_backup.c).
 *  3. Loops are bounded: the network pull asks for at most
 *     VL_MAX_MSG_ITEMS entries per request and stops when a reply makes no
 *     progress; the data-dir walk ends at the last key.
 *  4. The walk also recomputes the state digest (DESIGN.md 6): each
 *     certificate's order hash is XORed into the bucket of the first byte
 *     of its account id (vl_order_account), as consensus/vl_state.c does
 *     when it applies it; a backup's stored digest must equal it.
 *  5. Every table first.  The log is one table of nine; a data file
 *     damaged in `accounts` passed a walk of the log and then crashed the
 *     node or hid a voucher.  So a data directory (verify-log --data-dir,
 *     and a backup's copy, ctl_backup.c) is first walked whole by
 *     consensus/vl_check.c, in a child process, the same walk voucherd
 *     makes at start; the log's own walk, here, then reads a file that
 *     walk found sound ("records_checked").
 */
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "rec_datadir.h"
#include "vl_client.h"
#include "vl_logfile.h"
#include "vl_check.h"

/* consensus/vl_store.h's VL_STORE_MAX_DBS is 16 or fewer; any value at
 * least the number of named databases opens the environment. */
#define READ_MAX_DBS 32

/* ---- query ------------------------------------------------------------------------ */

static int query_print(const vl_ctx *c, ctl_net *n, const vl_client_account *a)
{
    vl_insp in = {.g = n->g, .first_fail = VL_OK};
    vl_err rc;
    json_t *res = jobj(), *certs = jarr();
    jset(res, "account", describe(&in, a->account_raw, a->account_len, &rc));
    for (uint32_t i = 0; i < a->cert_count; i++)
        jappend(certs, cert_summary(n->g, a->certs[i], a->cert_lens[i], a->cert_ok[i]));
    jset(res, "from_seq", ju64(a->first_seq));
    jset(res, "certificates", certs);
    jset(res, "endpoint", json_string(vl_client_endpoint(n->cl, (size_t)a->endpoint)));
    return emit(c, res, NULL);
}

int cmd_query(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {NET_OPTS, {.name = "voucher", .kind = OPT_VALUE},
                     {.name = "issuer", .kind = OPT_VALUE},
                     {.name = "from-seq", .kind = OPT_VALUE},
                     {.name = "count", .kind = OPT_VALUE}};
    vl_args a = {.opts = opts, .opt_count = O_NET_END + 4};
    ctl_net n = {0};
    uint8_t id[32];
    uint64_t from_seq = 0, count = UINT32_MAX;
    int st = parse_args(c, &a, argc, argv);
    const char *vo = opts[O_NET_END].value, *io = opts[O_NET_END + 1].value;
    const char *fo = opts[O_NET_END + 2].value, *co = opts[O_NET_END + 3].value;
    if (st == EXIT_OK && (vo == NULL) == (io == NULL))
        st = fail(c, EXIT_USAGE, "give exactly one of --voucher ID and --issuer ID_OR_PUBKEY");
    if (st == EXIT_OK && fo != NULL && !parse_uint(fo, UINT64_MAX, &from_seq))
        st = fail(c, EXIT_USAGE, "--from-seq \"%s\": not a seq", fo);
    if (st == EXIT_OK && co != NULL && !parse_uint(co, UINT32_MAX, &count))
        st = fail(c, EXIT_USAGE, "--count \"%s\": not a number of certificates (0 .. %u)", co,
                  (unsigned)UINT32_MAX);
    if (st == EXIT_OK)
        st = net_open(c, opts, &n);
    if (st == EXIT_OK && vo != NULL)
        st = parse_hex32(c, "voucher", vo, id);
    if (st == EXIT_OK && io != NULL) {
        uint8_t pub[32];
        int i = -1;
        for (uint32_t k = 0; k < n.g->issuer_count && i < 0; k++)
            if (strcmp(n.g->issuers[k].id, io) == 0)
                i = (int)k;
        if (i < 0 && strlen(io) == 64 && vl_hex_decode(pub, 32, io) == VL_OK)
            i = vl_genesis_issuer_by_pubkey(n.g, pub);
        if (i < 0)
            st = fail(c, EXIT_USAGE, "--issuer \"%s\": not an issuer id or key of the genesis", io);
        else
            vl_issuer_account_id(id, n.g->issuers[i].pubkey);
    }
    if (st == EXIT_OK) {
        vl_client_account acct;
        vl_err e = vl_client_get_account_from(n.cl, id, from_seq, (uint32_t)count, &acct);
        if (e == VL_OK)
            st = query_print(c, &n, &acct);
        else if (acct.account_raw != NULL && e != VL_ERR_NOMEM) { /* served, did not verify */
            query_print(c, &n, &acct);
            st = fail(c, EXIT_FAIL, "%s", acct.message);
        } else
            st = net_refused(c, n.g, e, e != VL_ERR_UNAVAILABLE, acct.message, NULL, 0);
        vl_client_account_free(&acct);
    }
    net_close(&n);
    free_args(&a);
    return st;
}

/* ---- status ------------------------------------------------------------------------ */

static json_t *node_status(ctl_net *n, size_t i, bool *answered)
{
    vl_status s;
    vl_checkpoint cp;
    json_t *j = jobj();
    jset(j, "endpoint", json_string(vl_client_endpoint(n->cl, i)));
    vl_err e = vl_client_status(n->cl, i, &s);
    *answered = e != VL_ERR_UNAVAILABLE;
    if (e != VL_OK) {
        jset(j, "reachable", json_boolean(*answered));
        jset(j, "error", json_string(vl_err_slug(e)));
        return j;
    }
    jset(j, "reachable", json_true());
    if (s.node < n->g->node_count)
        jset(j, "node_id", json_string(n->g->nodes[s.node].id));
    jset(j, "role", json_string((s.flags & VL_STATUS_VOTER) != 0 ? "voter" : "observer"));
    jset(j, "quorum_reachable", json_boolean((s.flags & VL_STATUS_IN_QUORUM) != 0));
    jset(j, "status", status_json(&s));
    e = vl_client_get_checkpoint(n->cl, i, &cp);
    if (e == VL_OK) {
        json_t *k = jobj();
        jset(k, "log_index", ju64(cp.log_index));
        jset(k, "entry_hash", jhex(cp.entry_hash, 32));
        jset(k, "state_digest", jhex(cp.state_digest, 32));
        jset(k, "time_ms", ju64(cp.time_ms));
        jset(k, "verified", json_true());
        jset(j, "checkpoint", k);
    } else {
        jset(j, "checkpoint", json_null());
        jset(j, "checkpoint_error", json_string(vl_err_slug(e)));
    }
    return j;
}

int cmd_status(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {NET_OPTS};
    vl_args a = {.opts = opts, .opt_count = O_NET_END};
    ctl_net n = {0};
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK)
        st = net_open(c, opts, &n);
    if (st == EXIT_OK) {
        size_t count = vl_client_endpoint_count(n.cl), up = 0;
        json_t *res = jobj(), *nodes = jarr();
        for (size_t i = 0; i < count; i++) {
            bool answered;
            jappend(nodes, node_status(&n, i, &answered));
            up += answered ? 1u : 0u;
        }
        jset(res, "nodes", nodes);
        jset(res, "reachable", json_integer((json_int_t)up));
        jset(res, "quorum", json_integer(n.g->quorum));
        st = emit(c, res, NULL);
        if (st == EXIT_OK && up < count)
            st = fail(c, up == 0 ? EXIT_UNREACHABLE : EXIT_FAIL, "%zu of %zu nodes did not answer",
                      count - up, count);
    }
    net_close(&n);
    free_args(&a);
    return st;
}

/* ---- log ------------------------------------------------------------------------------ */

static json_t *entry_json(const vl_genesis *g, vl_sigcache *cache, const uint8_t *buf, size_t len,
                          vl_err *rc)
{
    vl_entry e;
    json_t *j = jobj();
    if ((*rc = vl_entry_decode(buf, len, &e)) != VL_OK) {
        jset(j, "error", json_string(vl_err_slug(*rc)));
        return j;
    }
    uint8_t ch[32], eh[32];
    vl_cert_hash(ch, e.cert.ptr, e.cert.len);
    vl_entry_hash(eh, e.index, e.prev_hash, ch);
    *rc = vl_client_verify_cert(g, cache, e.cert.ptr, e.cert.len, NULL, NULL, NULL);
    jset(j, "index", ju64(e.index));
    jset(j, "entry_hash", jhex(eh, 32));
    jset(j, "prev_hash", jhex(e.prev_hash, 32));
    jset(j, "time_ms", ju64(e.time_ms));
    jset(j, "certificate", cert_summary(g, e.cert.ptr, e.cert.len, *rc));
    return j;
}

/* ---- log --export (docs/reconcile.md, "The export file") --------------------------------- */

typedef struct {
    const vl_ctx *c;
    vl_logfile_writer *w;
    const char *path;
    uint64_t entries, locks, checkpoints;
} export_ctx;

static vl_err export_put(void *arg, uint8_t type, const uint8_t *buf, size_t len)
{
    export_ctx *x = arg;
    vl_err e = vl_logfile_put(x->w, type, buf, len);
    if (e == VL_OK) {
        x->entries += type == VL_LOGREC_ENTRY ? 1u : 0u;
        x->locks += type == VL_LOGREC_LOCK ? 1u : 0u;
        x->checkpoints += type == VL_LOGREC_CHECKPOINT ? 1u : 0u;
    }
    return e;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The first endpoint's node: its checkpoint first (so the entries pulled
 * afterwards reach at least its log index), then every entry.  Bounded as
 * verify_net (note 3). */
static int export_net(const vl_ctx *c, ctl_net *n, export_ctx *x, const char *path)
{
    vl_status s;
    vl_checkpoint cp;
    char err[512];
    vl_err e = vl_client_status(n->cl, 0, &s);
    if (e != VL_OK)
        return net_refused(c, n->g, e, e != VL_ERR_UNAVAILABLE, "", NULL, 0);
    if (s.node >= n->g->node_count)
        return fail(c, EXIT_FAIL, "the node names itself %u, not a genesis node", s.node);
    vl_err ce = vl_client_get_checkpoint(n->cl, 0, &cp);
    if (ce != VL_OK && ce != VL_ERR_UNKNOWN_ACCOUNT)
        return net_refused(c, n->g, ce, ce != VL_ERR_UNAVAILABLE, "", NULL, 0);
    if ((e = vl_logfile_create(path, n->g->nodes[s.node].id, s.node, n->g->network_id, wall_ms(),
                               &x->w, err, sizeof err)) != VL_OK)
        return fail(c, EXIT_FAIL, "%s", err);
    /* up to the head the first reply states: a node that keeps applying
     * cannot keep the loop going */
    for (uint64_t next = 1, head = UINT64_MAX;;) { /* every round advances next or stops */
        vl_client_log lg;
        e = vl_client_get_log(n->cl, 0, next, VL_MAX_MSG_ITEMS, &lg);
        head = e == VL_OK && lg.log_head < head ? lg.log_head : head;
        for (uint32_t i = 0; e == VL_OK && i < lg.count && next <= head; i++, next++)
            e = export_put(x, VL_LOGREC_ENTRY, lg.entries[i], lg.entry_lens[i]);
        bool done = e != VL_OK || lg.count == 0 || next > head;
        vl_client_log_free(&lg);
        if (done)
            break;
    }
    if (e == VL_OK && ce == VL_OK) {
        uint8_t buf[256];
        size_t len;
        e = vl_checkpoint_encode(&cp, buf, sizeof buf, &len);
        if (e == VL_OK)
            e = export_put(x, VL_LOGREC_CHECKPOINT, buf, len);
    }
    if (e != VL_OK)
        return fail(c, EXIT_FAIL, "%s: exporting the log: %s", path, vl_strerror(e));
    return EXIT_OK;
}

/* A stopped node's data directory: entries, its checkpoint and its locks
 * without a certificate (rec_datadir.h), in one read transaction. */
static int export_dir(const vl_ctx *c, const vl_genesis *g, const char *dir, export_ctx *x,
                      const char *path)
{
    rec_datadir *d = NULL;
    char err[512] = "";
    vl_err e = rec_datadir_open(dir, false, &d, err, sizeof err);
    if (e != VL_OK)
        return fail(c, EXIT_FAIL, "%s", err);
    uint16_t node = rec_datadir_node_index(d);
    int st = EXIT_OK;
    if (memcmp(rec_datadir_network_id(d), g->network_id, 32) != 0 || node >= g->node_count)
        st = fail(c, EXIT_FAIL, "%s: a data directory of another network than this genesis", dir);
    else if ((e = vl_logfile_create(path, g->nodes[node].id, node, g->network_id, wall_ms(), &x->w,
                                    err, sizeof err)) != VL_OK)
        st = fail(c, EXIT_FAIL, "%s", err);
    else if ((e = rec_datadir_walk(d, export_put, x, err, sizeof err)) != VL_OK)
        st = fail(c, EXIT_FAIL, "%s", err[0] != '\0' ? err : vl_strerror(e));
    rec_datadir_close(&d);
    return st;
}

static int cmd_log_export(vl_ctx *c, const vl_opt *opts, const char *path, const char *dir)
{
    ctl_net n = {0};
    export_ctx x = {.c = c, .path = path};
    char err[512] = "", human[1024];
    int st = net_open(c, opts, &n);
    if (st == EXIT_OK)
        st = dir != NULL ? export_dir(c, n.g, dir, &x, path) : export_net(c, &n, &x, path);
    if (x.w != NULL) {
        vl_err e = vl_logfile_close(&x.w, err, sizeof err);
        if (st == EXIT_OK && e != VL_OK)
            st = fail(c, EXIT_FAIL, "%s", err);
        if (st != EXIT_OK)
            unlink(path); /* never leave half an export behind */
    }
    if (st == EXIT_OK) {
        json_t *res = jobj();
        jset(res, "file", json_string(path));
        jset(res, "source", json_string(dir != NULL ? dir : vl_client_endpoint(n.cl, 0)));
        jset(res, "entries", ju64(x.entries));
        jset(res, "checkpoints", ju64(x.checkpoints));
        jset(res, "locks", ju64(x.locks));
        snprintf(human, sizeof human,
                 "%s: %" PRIu64 " entries, %" PRIu64 " checkpoint(s), %" PRIu64
                 " lock(s) without a certificate",
                 path, x.entries, x.checkpoints, x.locks);
        st = emit(c, res, human);
    }
    net_close(&n);
    return st;
}

int cmd_log(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {NET_OPTS, {.name = "from", .kind = OPT_VALUE},
                     {.name = "max", .kind = OPT_VALUE}, {.name = "export", .kind = OPT_VALUE},
                     {.name = "data-dir", .kind = OPT_VALUE}};
    vl_args a = {.opts = opts, .opt_count = O_NET_END + 4};
    ctl_net n = {0};
    uint64_t from = 1, max = 100;
    int st = parse_args(c, &a, argc, argv);
    const char *export_path = opts[O_NET_END + 2].value, *dir = opts[O_NET_END + 3].value;
    if (st == EXIT_OK && export_path == NULL && dir != NULL)
        st = fail(c, EXIT_USAGE, "--data-dir DIR goes with --export FILE");
    if (st == EXIT_OK && export_path != NULL) {
        if (opts[O_NET_END].value != NULL || opts[O_NET_END + 1].value != NULL)
            st = fail(c, EXIT_USAGE, "--export writes the whole log: no --from or --max");
        else
            st = cmd_log_export(c, opts, export_path, dir);
        free_args(&a);
        return st;
    }
    if (st == EXIT_OK && ((opts[O_NET_END].value != NULL &&
                           !parse_uint(opts[O_NET_END].value, UINT64_MAX, &from)) ||
                          (opts[O_NET_END + 1].value != NULL &&
                           !parse_uint(opts[O_NET_END + 1].value, VL_MAX_MSG_ITEMS, &max)) ||
                          max == 0))
        st = fail(c, EXIT_USAGE, "--from N (1 is the first entry), --max 1..%d", VL_MAX_MSG_ITEMS);
    if (st == EXIT_OK)
        st = net_open(c, opts, &n);
    if (st == EXIT_OK) {
        vl_client_log lg;
        vl_sigcache *cache = vl_sigcache_new(INSPECT_CACHE_ENTRIES);
        vl_err e = vl_client_get_log(n.cl, 0, from, (uint32_t)max, &lg);
        if (e != VL_OK) {
            st = net_refused(c, n.g, e, e != VL_ERR_UNAVAILABLE, lg.message, NULL, 0);
        } else {
            json_t *res = jobj(), *entries = jarr();
            vl_err bad = VL_OK;
            for (uint32_t i = 0; i < lg.count; i++) {
                vl_err rc;
                jappend(entries, entry_json(n.g, cache, lg.entries[i], lg.entry_lens[i], &rc));
                bad = bad != VL_OK ? bad : rc;
            }
            jset(res, "endpoint", json_string(vl_client_endpoint(n.cl, 0)));
            jset(res, "log_head", ju64(lg.log_head));
            jset(res, "entries", entries);
            st = emit(c, res, NULL);
            if (st == EXIT_OK && bad != VL_OK)
                st = fail(c, EXIT_FAIL, "an entry does not verify: %s", vl_strerror(bad));
        }
        vl_client_log_free(&lg);
        vl_sigcache_destroy(&cache);
    }
    net_close(&n);
    free_args(&a);
    return st;
}

/* ---- verify-log ------------------------------------------------------------------------ */

void log_chain_init(log_chain *ch, const vl_genesis *g)
{
    memset(ch, 0, sizeof *ch);
    ch->g = g;
    ch->cache = vl_sigcache_new(INSPECT_CACHE_ENTRIES);
    ch->next = 1;
    memcpy(ch->prev, g->network_id, 32);
}

void log_chain_free(log_chain *ch)
{
    vl_sigcache_destroy(&ch->cache);
}

void log_chain_digest(const log_chain *ch, uint8_t out[32])
{
    vl_tagged_hash(out, VL_TAG_STATE_DIGEST, &ch->buckets[0][0], sizeof ch->buckets);
}

/* Check one entry; false (failure recorded) to stop. */
static bool chain_add(log_chain *ch, const uint8_t *buf, size_t len)
{
    vl_err e = vl_client_check_entry(ch->g, ch->cache, buf, len, ch->next, ch->prev, NULL);
    vl_entry en;
    vl_cert *ct = e == VL_OK ? malloc(sizeof *ct) : NULL;
    if (e == VL_OK && ct == NULL)
        e = VL_ERR_NOMEM;
    if (e == VL_OK && (e = vl_entry_decode(buf, len, &en)) == VL_OK)
        e = vl_cert_decode(en.cert.ptr, en.cert.len, ct);
    if (e != VL_OK) {
        free(ct);
        ch->bad = e;
        ch->bad_index = ch->next;
        return false;
    }
    uint8_t account[32], hash[32];
    vl_order_account(account, &ct->order); /* the state digest's bucket (note 4) */
    vl_order_hash(hash, &ct->order);
    for (size_t i = 0; i < 32; i++)
        ch->buckets[account[0]][i] ^= hash[i];
    if (ct->order.kind <= 3)
        ch->kinds[ct->order.kind]++;
    if (ct->order.kind == VL_ORDER_REDEEM)
        ch->redeemed_fen += ct->order.amount_fen;
    for (unsigned i = 0; ct->order.kind == VL_ORDER_ISSUE && i < ct->order.voucher_count; i++)
        ch->issued_fen += ct->order.vouchers[i].value_fen;
    free(ct);
    ch->next++;
    return true;
}

static int chain_report(const vl_ctx *c, log_chain *ch, const char *source)
{
    json_t *res = jobj();
    char hex[65], human[512];
    vl_hex_encode(hex, ch->prev, 32);
    jset(res, "source", json_string(source));
    jset(res, "ok", json_boolean(ch->bad_index == 0));
    jset(res, "entries", ju64(ch->next - 1));
    jset(res, "head_hash", json_string(hex));
    jset(res, "issues", ju64(ch->kinds[VL_ORDER_ISSUE]));
    jset(res, "redeems", ju64(ch->kinds[VL_ORDER_REDEEM]));
    jset(res, "revokes", ju64(ch->kinds[VL_ORDER_REVOKE]));
    jset(res, "issued_fen", ju64(ch->issued_fen));
    jset(res, "redeemed_fen", ju64(ch->redeemed_fen));
    if (ch->checked) /* note 5 */
        jset(res, "records_checked", ju64(ch->checked_records));
    if (ch->bad_index != 0) {
        jset(res, "failed_index", ju64(ch->bad_index));
        jset(res, "error", json_string(vl_err_slug(ch->bad)));
    }
    char walked[96] = "";
    if (ch->checked)
        snprintf(walked, sizeof walked, "; all %" PRIu64 " records of its tables read",
                 ch->checked_records);
    snprintf(human, sizeof human,
             "%s: %" PRIu64 " entries verified (%" PRIu64 " issue, %" PRIu64 " redeem, %" PRIu64
             " revoke), head %s%s",
             source, ch->next - 1, ch->kinds[1], ch->kinds[2], ch->kinds[3], hex, walked);
    int st = EXIT_OK;
    if (ch->bad_index == 0 || c->json) /* text: the failure alone, below */
        st = emit(c, res, ch->bad_index == 0 ? human : NULL);
    else
        json_decref(res);
    log_chain_free(ch);
    if (st == EXIT_OK && ch->bad_index != 0)
        st = fail(c, EXIT_FAIL, "entry %" PRIu64 " fails: %s (%s)", ch->bad_index,
                  vl_strerror(ch->bad), vl_err_slug(ch->bad));
    return st;
}

static int verify_net(const vl_ctx *c, ctl_net *n, log_chain *ch)
{
    for (;;) { /* ends: every round advances ch->next or returns (note 3) */
        vl_client_log lg;
        vl_err e = vl_client_get_log(n->cl, 0, ch->next, VL_MAX_MSG_ITEMS, &lg);
        if (e != VL_OK) {
            int st = net_refused(c, n->g, e, e != VL_ERR_UNAVAILABLE, lg.message, NULL, 0);
            vl_client_log_free(&lg);
            return st;
        }
        bool ok = true;
        for (uint32_t i = 0; i < lg.count && ok; i++)
            ok = chain_add(ch, lg.entries[i], lg.entry_lens[i]);
        bool done = !ok || lg.count == 0 || ch->next > lg.log_head;
        vl_client_log_free(&lg);
        if (done)
            return EXIT_OK;
    }
}

/* Neither lock.mdb nor core.lock: no node ever opened dir (voucherd
 * creates both, and so does restore), so it is a copy (a backup), read
 * without a lock file of ours (note 2). */
static bool lockless(const char *dir, bool private_copy)
{
    char a[DEVNET_MAX_PATH + 16], b[DEVNET_MAX_PATH + 16];
    struct stat sb;
    if (private_copy)
        return true;
    return snprintf(a, sizeof a, "%s/lock.mdb", dir) < (int)sizeof a &&
           snprintf(b, sizeof b, "%s/core.lock", dir) < (int)sizeof b &&
           stat(a, &sb) != 0 && errno == ENOENT && stat(b, &sb) != 0 && errno == ENOENT;
}

int ctl_env_open(const vl_ctx *c, const char *dir, bool private_copy, MDB_env **out)
{
    struct stat sb;
    char path[DEVNET_MAX_PATH + 16];
    *out = NULL;
    /* Look before opening: mdb_env_open would create lock.mdb in any
     * directory it is given, node data directory or not (note 2). */
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return fail(c, EXIT_USAGE, "%s: path too long", dir);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return fail(c, EXIT_FAIL, "%s: not a node data directory (no data.mdb)", dir);
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, READ_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | (lockless(dir, private_copy) ? MDB_NOLOCK : 0u),
                          0600);
    if (rc != 0) {
        if (env != NULL)
            mdb_env_close(env);
        return fail(c, EXIT_FAIL, "%s: cannot open the LMDB environment read-only: %s", dir,
                    mdb_strerror(rc));
    }
    *out = env;
    return EXIT_OK;
}

int log_chain_walk(const vl_ctx *c, MDB_env *env, const char *dir, log_chain *ch)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi dbi;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "log", 0, &dbi);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dbi, &cur);
    int st = EXIT_OK;
    if (rc != 0) {
        st = fail(c, EXIT_FAIL, "%s: cannot open the log read-only: %s", dir, mdb_strerror(rc));
    } else {
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            uint64_t idx = 0;
            for (size_t i = 0; k.mv_size == 8 && i < 8; i++)
                idx = idx << 8 | ((const uint8_t *)k.mv_data)[i];
            if (k.mv_size != 8 || idx != ch->next) {
                ch->bad = VL_ERR_CORRUPT;
                ch->bad_index = ch->next;
                break;
            }
            if (!chain_add(ch, v.mv_data, v.mv_size))
                break;
        }
        if (rc != 0 && rc != MDB_NOTFOUND)
            st = fail(c, EXIT_FAIL, "%s: reading the log: %s", dir, mdb_strerror(rc));
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        mdb_txn_abort(txn);
    return st;
}

int ctl_data_check(const vl_ctx *c, const char *dir, bool private_copy, log_chain *ch)
{
    /* ch may be NULL: backup checks its source this way (ctl_backup.c note 2). */
    vl_store_check_report r;
    vl_err e = vl_store_check(dir, lockless(dir, private_copy), &r);
    if (e == VL_ERR_CORRUPT)
        return fail(c, EXIT_FAIL, "%s: the data file is damaged: %s", dir, r.error);
    if (e != VL_OK)
        return fail(c, EXIT_FAIL, "%s: cannot check the data file: %s", dir, r.error);
    if (ch != NULL) {
        ch->checked = !r.absent;
        ch->checked_records = r.records;
    }
    return EXIT_OK;
}

int verify_log_dir(const vl_ctx *c, const char *dir, bool private_copy, log_chain *ch)
{
    MDB_env *env = NULL;
    int st = ctl_data_check(c, dir, private_copy, ch);
    if (st == EXIT_OK)
        st = ctl_env_open(c, dir, private_copy, &env);
    if (st == EXIT_OK) /* another network's directory: say so, not "entry 1 fails" */
        st = ctl_dir_belongs(c, env, dir, ch->g);
    if (st == EXIT_OK)
        st = log_chain_walk(c, env, dir, ch);
    if (env != NULL)
        mdb_env_close(env);
    return st;
}

int cmd_verify_log(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {NET_OPTS, {.name = "data-dir", .kind = OPT_VALUE}};
    vl_args a = {.opts = opts, .opt_count = O_NET_END + 1};
    ctl_net n = {0};
    log_chain ch;
    int st = parse_args(c, &a, argc, argv);
    const char *dir = opts[O_NET_END].value;
    if (st == EXIT_OK)
        st = net_open(c, opts, &n);
    if (st == EXIT_OK) {
        log_chain_init(&ch, n.g);
        st = dir != NULL ? verify_log_dir(c, dir, false, &ch) : verify_net(c, &n, &ch);
        if (st == EXIT_OK)
            st = chain_report(c, &ch, dir != NULL ? dir : vl_client_endpoint(n.cl, 0));
        else
            log_chain_free(&ch);
    }
    net_close(&n);
    free_args(&a);
    return st;
}
