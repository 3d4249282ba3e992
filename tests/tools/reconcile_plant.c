/* reconcile_plant.c - plants faults in log export files (tools/vl_logfile.h)
 * for reconcile_tamper_test.sh, and checks an export on its own.
 *
 *   reconcile_plant check  GENESIS LOG
 *       verify LOG against GENESIS alone: the hash chain from the network
 *       id, every certificate (vl_client_check_entry: vl_cert_verify with a
 *       signature cache), sequence numbers per account 0, 1, 2, ... in log
 *       order, every checkpoint's signature, that the log extends it and,
 *       at the head, its state digest.  Prints a summary; exit 0 if all
 *       holds, 1 (naming the first fault) if not.
 *   reconcile_plant flip   IN OUT ENTRY [OFFSET]
 *       copy IN with one byte of entry ENTRY's record inverted: at OFFSET
 *       into the encoded entry, by default 10 bytes before its end (inside
 *       the last vote's signature).  Nothing else changes.
 *   reconcile_plant drop   GENESIS IN OUT NODEKEY ENTRY...
 *       copy IN without the given entries, the chain re-made from the
 *       network id and one checkpoint at the new head (its true state
 *       digest) signed with NODEKEY, so the export is self-consistent and
 *       only a comparison with other nodes finds the gap.  Prints one line
 *       a dropped certificate: "dropped ENTRY ORDER_HASH ACCOUNT SEQ".
 *   reconcile_plant forge  GENESIS IN OUT NODEKEY ENTRY
 *       entry ENTRY's certificate keeps q-1 of its votes (valid ones);
 *       chain and checkpoint re-made as for drop.
 *   reconcile_plant fork   GENESIS IN OUT KEYDIR NODEKEY ENTRY
 *       entry ENTRY (a REDEEM) is replaced by a certificate of a DIFFERENT
 *       order for the same voucher and seq (amount one fen less, signed by
 *       the same holder and provider) with q valid votes over a batch of
 *       one, signed with the voters' keys found in KEYDIR (*.key matched by
 *       public key); chain and checkpoint re-made.  Prints "fork ACCOUNT
 *       SEQ OLD_ORDER_HASH NEW_ORDER_HASH".
 *   reconcile_plant badcp  GENESIS IN OUT NODEKEY INDEX
 *       copy IN with its checkpoints replaced by one, validly signed with
 *       NODEKEY, for log index INDEX but an entry hash the log does not
 *       have there (what a node that rewrote its history would show).
 *
 * A test helper, not a tool: inputs are the test's own files, but bad ones
 * still get a message and exit 2, never a crash.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_client.h"
#include "vl_crypto.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_logfile.h"
#include "vl_verify.h"
#include "vl_wire.h"

#define MAX_RECORDS 20000000u /* entries + checkpoints + locks a file */
#define MAX_KEYS 512u         /* key files read from KEYDIR */
#define BUF_CAP (2u << 20)

typedef struct {
    uint8_t type;
    uint8_t *buf;
    size_t len;
} record;

typedef struct {
    char node_id[VL_MAX_ID_LEN + 1];
    uint16_t node_index;
    uint8_t network_id[32];
    record *recs;
    size_t count;
} logfile;

/* What a command allocates lives here and is freed by main, whichever way
 * the command ends. */
static logfile g_lf;
static vl_genesis *g_gen;
static vl_cert *g_ct;

__attribute__((format(printf, 1, 2))) static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "reconcile_plant: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static int read_log(const char *path, logfile *lf)
{
    char err[256] = "";
    vl_logfile_reader *r = NULL;
    vl_err e = vl_logfile_open(path, &r, err, sizeof err);
    if (e != VL_OK)
        return die("%s: %s", path, err[0] ? err : vl_strerror(e));
    snprintf(lf->node_id, sizeof lf->node_id, "%s", vl_logfile_node_id(r));
    lf->node_index = vl_logfile_node_index(r);
    memcpy(lf->network_id, vl_logfile_network_id(r), 32);
    size_t cap = 1024;
    lf->recs = malloc(cap * sizeof *lf->recs);
    for (;;) {
        uint8_t type;
        const uint8_t *buf;
        size_t len;
        e = vl_logfile_next(r, &type, &buf, &len, err, sizeof err);
        if (e != VL_OK || type == VL_LOGREC_END || lf->recs == NULL || lf->count >= MAX_RECORDS)
            break;
        if (lf->count == cap) {
            cap *= 2;
            record *n = realloc(lf->recs, cap * sizeof *n);
            if (n == NULL)
                break;
            lf->recs = n;
        }
        record *rc = &lf->recs[lf->count];
        rc->buf = malloc(len > 0 ? len : 1);
        if (rc->buf == NULL)
            break;
        memcpy(rc->buf, buf, len);
        rc->type = type;
        rc->len = len;
        lf->count++;
    }
    vl_logfile_close_reader(&r);
    if (e != VL_OK)
        return die("%s: %s", path, err[0] ? err : vl_strerror(e));
    if (lf->recs == NULL || lf->count >= MAX_RECORDS)
        return die("%s: %s", path, "out of memory or too many records");
    return 0;
}

static int write_log(const char *path, const logfile *lf)
{
    char err[256] = "";
    vl_logfile_writer *w = NULL;
    vl_err e = vl_logfile_create(path, lf->node_id, lf->node_index, lf->network_id, 0, &w, err,
                                 sizeof err);
    for (size_t i = 0; e == VL_OK && i < lf->count; i++)
        if (lf->recs[i].type != 0)
            e = vl_logfile_put(w, lf->recs[i].type, lf->recs[i].buf, lf->recs[i].len);
    vl_err e2 = w != NULL ? vl_logfile_close(&w, err, sizeof err) : VL_OK;
    if (e != VL_OK || e2 != VL_OK)
        return die("%s: %s", path, err[0] ? err : vl_strerror(e != VL_OK ? e : e2));
    return 0;
}

static int load_genesis(const char *path, vl_genesis **g)
{
    char err[256] = "";
    *g = g_gen = calloc(1, sizeof **g);
    if (*g == NULL)
        return die("%s: %s", path, "out of memory");
    vl_err e = vl_genesis_load_file(*g, path, err, sizeof err);
    if (e != VL_OK)
        return die("%s: %s", path, err[0] ? err : vl_strerror(e));
    return 0;
}

static int load_key(const char *path, vl_keypair *kp)
{
    vl_keyfile k;
    char err[256] = "";
    vl_err e = vl_keyfile_load(&k, path, err, sizeof err);
    if (e != VL_OK)
        return die("%s: %s", path, err[0] ? err : vl_strerror(e));
    *kp = k.sign;
    vl_keyfile_wipe(&k);
    return 0;
}

static bool parse_index(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || s[0] == '-' || v == 0)
        return false;
    *out = v;
    return true;
}

/* The record of entry `index` (1-based, in file order); NULL if none. */
static record *entry_rec(logfile *lf, uint64_t index)
{
    uint64_t k = 0;
    for (size_t i = 0; i < lf->count; i++)
        if (lf->recs[i].type == VL_LOGREC_ENTRY && ++k == index)
            return &lf->recs[i];
    return NULL;
}

/* ---- re-chaining -------------------------------------------------------------------- */

/* Decode entry record r's certificate into *ct (borrowing from r). */
static vl_err entry_cert(const record *r, vl_entry *en, vl_cert *ct)
{
    vl_err e = vl_entry_decode(r->buf, r->len, en);
    return e != VL_OK ? e : vl_cert_decode(en->cert.ptr, en->cert.len, ct);
}

/* Re-make every entry's index and prev_hash in file order (entries whose
 * type is 0 are gone), drop every checkpoint and add one at the head with
 * the recomputed state digest, signed with kp. */
static int rechain(logfile *lf, const vl_keypair *kp)
{
    uint8_t prev[32], buckets[256][32] = {{0}};
    uint64_t index = 0, last_time = 0;
    memcpy(prev, lf->network_id, 32);
    vl_cert *ct = malloc(sizeof *ct);
    uint8_t *out = malloc(BUF_CAP);
    if (ct == NULL || out == NULL)
        return free(ct), free(out), die("%s%s", "out of memory", "");
    for (size_t i = 0; i < lf->count; i++) {
        record *r = &lf->recs[i];
        if (r->type == VL_LOGREC_CHECKPOINT) {
            r->type = 0;
            continue;
        }
        if (r->type != VL_LOGREC_ENTRY)
            continue;
        vl_entry en;
        if (entry_cert(r, &en, ct) != VL_OK)
            return free(ct), free(out), die("%s%s", "an entry does not decode", "");
        uint8_t acct[32], oh[32], cert_hash[32];
        last_time = en.time_ms > last_time ? en.time_ms : last_time;
        vl_order_account(acct, &ct->order);
        vl_order_hash(oh, &ct->order);
        for (int b = 0; b < 32; b++)
            buckets[acct[0]][b] ^= oh[b];
        en.index = ++index;
        memcpy(en.prev_hash, prev, 32);
        size_t len;
        if (vl_entry_encode(&en, out, BUF_CAP, &len) != VL_OK)
            return free(ct), free(out), die("%s%s", "an entry does not encode", "");
        vl_cert_hash(cert_hash, en.cert.ptr, en.cert.len);
        vl_entry_hash(prev, en.index, prev, cert_hash);
        uint8_t *copy = malloc(len);
        if (copy == NULL)
            return free(ct), free(out), die("%s%s", "out of memory", "");
        memcpy(copy, out, len);
        free(r->buf); /* en borrowed from it: done with en now */
        r->buf = copy;
        r->len = len;
    }
    /* signed a second after the last entry, as a node would */
    vl_checkpoint cp = {.node = lf->node_index, .log_index = index, .time_ms = last_time + 1000u};
    memcpy(cp.network_id, lf->network_id, 32);
    memcpy(cp.entry_hash, prev, 32);
    vl_tagged_hash(cp.state_digest, VL_TAG_STATE_DIGEST, &buckets[0][0], sizeof buckets);
    vl_checkpoint_sign(&cp, kp, NULL);
    size_t len;
    vl_err e = vl_checkpoint_encode(&cp, out, BUF_CAP, &len);
    record *n = e == VL_OK ? realloc(lf->recs, (lf->count + 1) * sizeof *n) : NULL;
    uint8_t *copy = n != NULL ? malloc(len) : NULL;
    free(ct);
    if (copy == NULL) {
        free(out);
        return die("%s%s", "out of memory", "");
    }
    lf->recs = n;
    memcpy(copy, out, len);
    free(out);
    lf->recs[lf->count++] = (record){.type = VL_LOGREC_CHECKPOINT, .buf = copy, .len = len};
    return 0;
}

/* Replace entry record r's certificate by the encoding of *ct. */
static int replace_cert(record *r, const vl_cert *ct)
{
    vl_entry en;
    if (vl_entry_decode(r->buf, r->len, &en) != VL_OK)
        return die("%s%s", "an entry does not decode", "");
    uint8_t *cert = malloc(BUF_CAP), *out = malloc(BUF_CAP);
    size_t clen, len;
    vl_err e = cert != NULL && out != NULL ? vl_cert_encode(ct, cert, BUF_CAP, &clen)
                                           : VL_ERR_NOMEM;
    if (e == VL_OK) {
        en.cert = (vl_bytes){cert, (uint32_t)clen};
        e = vl_entry_encode(&en, out, BUF_CAP, &len);
    }
    free(cert);
    if (e != VL_OK) {
        free(out);
        return die("%s: %s", "re-encoding the certificate", vl_strerror(e));
    }
    free(r->buf);
    r->buf = out;
    r->len = len;
    return 0;
}

/* ---- commands ----------------------------------------------------------------------- */

static int cmd_flip(char **av, int ac)
{
    logfile *const lf = &g_lf;
    uint64_t index, off = UINT64_MAX;
    if (ac < 3 || ac > 4 || !parse_index(av[2], &index) || (ac == 4 && !parse_index(av[3], &off)))
        return die("%s%s", "usage: flip IN OUT ENTRY [OFFSET]", "");
    if (read_log(av[0], lf) != 0)
        return 2;
    record *r = entry_rec(lf, index);
    if (r == NULL || r->len < 11 || (off != UINT64_MAX && off >= r->len))
        return die("%s: no entry %s (or offset past it)", av[0], av[2]);
    size_t at = off == UINT64_MAX ? r->len - 10u : (size_t)off;
    r->buf[at] ^= 0xffu;
    printf("flipped byte %zu of entry %" PRIu64 " (%zu bytes)\n", at, index, r->len);
    return write_log(av[1], lf);
}

static int cmd_drop(char **av, int ac)
{
    logfile *const lf = &g_lf;
    vl_keypair kp;
    if (ac < 5)
        return die("%s%s", "usage: drop GENESIS IN OUT NODEKEY ENTRY...", "");
    if (read_log(av[1], lf) != 0 || load_key(av[3], &kp) != 0)
        return 2;
    vl_cert *ct = g_ct = malloc(sizeof *ct);
    if (ct == NULL)
        return die("%s%s", "out of memory", "");
    for (int i = 4; i < ac; i++) {
        uint64_t index;
        record *r = parse_index(av[i], &index) ? entry_rec(lf, index) : NULL;
        vl_entry en;
        if (r == NULL || entry_cert(r, &en, ct) != VL_OK)
            return die("%s: no entry %s", av[1], av[i]);
        uint8_t oh[32], acct[32];
        char h1[65], h2[65];
        vl_order_hash(oh, &ct->order);
        vl_order_account(acct, &ct->order);
        vl_hex_encode(h1, oh, 32);
        vl_hex_encode(h2, acct, 32);
        printf("dropped %" PRIu64 " %s %s %" PRIu64 "\n", index, h1, h2, ct->order.seq);
    }
    /* mark after listing: indexes refer to the original file */
    size_t marked = 0;
    record **del = calloc((size_t)ac, sizeof *del);
    for (int i = 4; del != NULL && i < ac; i++) {
        uint64_t index;
        parse_index(av[i], &index);
        del[marked++] = entry_rec(lf, index);
    }
    for (size_t i = 0; del != NULL && i < marked; i++)
        del[i]->type = 0;
    free(del);
    int rc = rechain(lf, &kp);
    vl_keypair_wipe(&kp);
    return rc != 0 ? rc : write_log(av[2], lf);
}

static int cmd_forge(char **av, int ac)
{
    logfile *const lf = &g_lf;
    vl_genesis *g = NULL;
    vl_keypair kp;
    uint64_t index;
    if (ac != 5 || !parse_index(av[4], &index))
        return die("%s%s", "usage: forge GENESIS IN OUT NODEKEY ENTRY", "");
    if (load_genesis(av[0], &g) != 0 || read_log(av[1], lf) != 0 || load_key(av[3], &kp) != 0)
        return 2;
    record *r = entry_rec(lf, index);
    vl_cert *ct = g_ct = malloc(sizeof *ct);
    vl_entry en;
    if (r == NULL || ct == NULL || entry_cert(r, &en, ct) != VL_OK)
        return die("%s: no entry %s", av[1], av[4]);
    ct->vote_count = (uint8_t)(g->quorum - 1u); /* the first q-1 valid votes */
    int rc = replace_cert(r, ct);
    if (rc == 0)
        rc = rechain(lf, &kp);
    printf("forged entry %" PRIu64 ": %u votes, quorum %u\n", index, g->quorum - 1u, g->quorum);
    vl_keypair_wipe(&kp);
    return rc != 0 ? rc : write_log(av[2], lf);
}

/* Every key file in dir whose public key is `pub`; 0 if found. */
static int key_for(const char *dir, const uint8_t pub[32], vl_keypair *kp)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    struct dirent *de;
    int found = -1;
    for (unsigned n = 0; found != 0 && n < MAX_KEYS && (de = readdir(d)) != NULL; n++) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".key") != 0)
            continue;
        char path[4096];
        vl_keyfile k;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (vl_keyfile_load(&k, path, NULL, 0) != VL_OK)
            continue;
        if (memcmp(k.sign.pubkey, pub, 32) == 0) {
            *kp = k.sign;
            found = 0;
        }
        vl_keyfile_wipe(&k);
    }
    closedir(d);
    return found;
}

static int cmd_fork(char **av, int ac)
{
    logfile *const lf = &g_lf;
    vl_genesis *g = NULL;
    vl_keypair node_kp, kp;
    uint64_t index;
    if (ac != 6 || !parse_index(av[5], &index))
        return die("%s%s", "usage: fork GENESIS IN OUT KEYDIR NODEKEY ENTRY", "");
    if (load_genesis(av[0], &g) != 0 || read_log(av[1], lf) != 0 ||
        load_key(av[4], &node_kp) != 0)
        return 2;
    record *r = entry_rec(lf, index);
    vl_cert *ct = g_ct = malloc(sizeof *ct);
    vl_entry en;
    if (r == NULL || ct == NULL || entry_cert(r, &en, ct) != VL_OK ||
        ct->order.kind != VL_ORDER_REDEEM || ct->order.amount_fen < 2)
        return die("%s: entry %s is not a REDEEM", av[1], av[5]);
    uint8_t old_hash[32], new_hash[32], acct[32];
    vl_order_hash(old_hash, &ct->order);
    vl_order *o = &ct->order;
    o->amount_fen -= 1u;
    o->invoice_hash[0] ^= 1u;
    if (key_for(av[3], o->holder, &kp) != 0)
        return die("%s: no key file of the holder of entry %s", av[3], av[5]);
    vl_order_sign_slot(o, 0, &kp, NULL);
    if (key_for(av[3], o->provider, &kp) != 0)
        return die("%s: no key file of the provider of entry %s", av[3], av[5]);
    vl_order_sign_slot(o, 1, &kp, NULL);
    vl_order_hash(new_hash, o);
    /* q votes over a batch of one: root = the order's vote leaf, empty path */
    uint8_t leaf[32], msg[32];
    vl_vote_leaf(leaf, new_hash, o);
    vl_vote_message(msg, leaf);
    ct->vote_count = 0;
    for (uint32_t v = 0; v < g->node_count && ct->vote_count < g->quorum; v++) {
        if (g->nodes[v].role != VL_ROLE_VOTER || key_for(av[3], g->nodes[v].pubkey, &kp) != 0)
            continue;
        vl_cert_vote *cv = &ct->votes[ct->vote_count++];
        memset(cv, 0, sizeof *cv);
        cv->voter = (uint16_t)v;
        cv->leaf_count = 1;
        vl_sign(cv->sig, &kp, msg, NULL);
    }
    vl_keypair_wipe(&kp);
    if (ct->vote_count < g->quorum)
        return die("%s: fewer than q voter key files (%s)", av[3], "need the voters' keys");
    if (vl_cert_verify(g, ct, NULL, NULL) != VL_OK)
        return die("%s%s", "internal error: the forked certificate does not verify", "");
    vl_order_account(acct, o);
    char a[65], h1[65], h2[65];
    vl_hex_encode(a, acct, 32);
    vl_hex_encode(h1, old_hash, 32);
    vl_hex_encode(h2, new_hash, 32);
    printf("fork %s %" PRIu64 " %s %s\n", a, o->seq, h1, h2);
    int rc = replace_cert(r, ct);
    if (rc == 0)
        rc = rechain(lf, &node_kp);
    vl_keypair_wipe(&node_kp);
    return rc != 0 ? rc : write_log(av[2], lf);
}

static int cmd_badcp(char **av, int ac)
{
    logfile *const lf = &g_lf;
    vl_keypair kp;
    uint64_t index;
    if (ac != 5 || !parse_index(av[4], &index))
        return die("%s%s", "usage: badcp GENESIS IN OUT NODEKEY INDEX", "");
    if (read_log(av[1], lf) != 0 || load_key(av[3], &kp) != 0)
        return 2;
    record *r = entry_rec(lf, index);
    vl_entry en;
    if (r == NULL || vl_entry_decode(r->buf, r->len, &en) != VL_OK)
        return die("%s: no entry %s", av[1], av[4]);
    vl_checkpoint cp = {.node = lf->node_index, .log_index = index, .time_ms = en.time_ms + 1000u};
    memcpy(cp.network_id, lf->network_id, 32);
    uint8_t ch[32];
    vl_cert_hash(ch, en.cert.ptr, en.cert.len);
    vl_entry_hash(cp.entry_hash, index, en.prev_hash, ch);
    cp.entry_hash[31] ^= 1u; /* a head this log does not have at INDEX */
    vl_checkpoint_sign(&cp, &kp, NULL);
    vl_keypair_wipe(&kp);
    uint8_t buf[512];
    size_t len;
    record *n = realloc(lf->recs, (lf->count + 1) * sizeof *n);
    uint8_t *copy = malloc(sizeof buf);
    if (n == NULL || copy == NULL || vl_checkpoint_encode(&cp, buf, sizeof buf, &len) != VL_OK)
        return die("%s%s", "out of memory", "");
    lf->recs = n;
    for (size_t i = 0; i < lf->count; i++) /* this is the node's only checkpoint now */
        if (lf->recs[i].type == VL_LOGREC_CHECKPOINT)
            lf->recs[i].type = 0;
    memcpy(copy, buf, len);
    lf->recs[lf->count++] = (record){.type = VL_LOGREC_CHECKPOINT, .buf = copy, .len = len};
    printf("checkpoint for index %" PRIu64 " with a wrong entry hash\n", index);
    return write_log(av[2], lf);
}

/* ---- check -------------------------------------------------------------------------- */

typedef struct {
    uint8_t id[32];
    uint64_t next_seq;
    bool used;
} slot;

static slot *find_slot(slot *t, size_t cap, const uint8_t id[32])
{
    uint64_t h;
    memcpy(&h, id, 8);
    for (size_t i = h % cap, n = 0; n < cap; i = (i + 1) % cap, n++)
        if (!t[i].used || memcmp(t[i].id, id, 32) == 0)
            return &t[i];
    return NULL;
}

static int cmd_check(char **av, int ac)
{
    vl_genesis *g = NULL;
    if (ac != 2)
        return die("%s%s", "usage: check GENESIS LOG", "");
    if (load_genesis(av[0], &g) != 0)
        return 2;
    char err[256] = "";
    vl_logfile_reader *rd = NULL;
    vl_err e = vl_logfile_open(av[1], &rd, err, sizeof err);
    if (e != VL_OK)
        return die("%s: %s", av[1], err[0] ? err : vl_strerror(e));
    size_t cap = 1u << 22; /* accounts: enough for 10M redemptions' vouchers */
    slot *t = calloc(cap, sizeof *t);
    vl_cert *ct = g_ct = malloc(sizeof *ct);
    vl_sigcache *cache = vl_sigcache_new(1u << 16);
    uint8_t prev[32], buckets[256][32] = {{0}}, digest[32];
    uint64_t index = 0, kinds[4] = {0}, cps = 0;
    memcpy(prev, g->network_id, 32);
    int rc = t == NULL || ct == NULL || cache == NULL ? die("%s%s", "out of memory", "") : 0;
    if (rc == 0 && memcmp(vl_logfile_network_id(rd), g->network_id, 32) != 0)
        rc = die("%s: %s", av[1], "another network's export");
    uint8_t (*heads)[32] = NULL; /* entry hash per index, for the checkpoints */
    size_t heads_cap = 0;
    while (rc == 0) {
        uint8_t type;
        const uint8_t *buf;
        size_t len;
        if ((e = vl_logfile_next(rd, &type, &buf, &len, err, sizeof err)) != VL_OK) {
            rc = die("%s: %s", av[1], err);
            break;
        }
        if (type == VL_LOGREC_END)
            break;
        if (type == VL_LOGREC_ENTRY) {
            uint8_t eh[32], acct[32], oh[32];
            vl_entry en;
            e = vl_client_check_entry(g, cache, buf, len, index + 1u, prev, eh);
            if (e == VL_OK)
                e = entry_cert(&(record){.buf = (uint8_t *)buf, .len = len}, &en, ct);
            if (e != VL_OK) {
                fprintf(stderr, "entry %" PRIu64 ": %s\n", index + 1u, vl_strerror(e));
                rc = 1;
                break;
            }
            index++;
            if (index > heads_cap) {
                heads_cap = heads_cap == 0 ? 4096 : heads_cap * 2;
                uint8_t (*n)[32] = realloc(heads, heads_cap * 32);
                if (n == NULL) {
                    rc = die("%s%s", "out of memory", "");
                    break;
                }
                heads = n;
            }
            memcpy(heads[index - 1], eh, 32);
            vl_order_account(acct, &ct->order);
            vl_order_hash(oh, &ct->order);
            for (int b = 0; b < 32; b++)
                buckets[acct[0]][b] ^= oh[b];
            slot *s = find_slot(t, cap, acct);
            if (s == NULL || (s->used ? s->next_seq : 0u) != ct->order.seq) {
                fprintf(stderr, "entry %" PRIu64 ": seq %" PRIu64 " out of order\n", index,
                        ct->order.seq);
                rc = 1;
                break;
            }
            s->used = true;
            memcpy(s->id, acct, 32);
            s->next_seq = ct->order.seq + 1u;
            kinds[ct->order.kind & 3u]++;
        } else if (type == VL_LOGREC_CHECKPOINT) {
            vl_checkpoint cp;
            e = vl_checkpoint_decode(buf, len, &cp);
            if (e == VL_OK)
                e = vl_checkpoint_verify(g, &cp);
            if (e == VL_OK && (cp.log_index == 0 || cp.log_index > index ||
                               memcmp(heads[cp.log_index - 1], cp.entry_hash, 32) != 0))
                e = VL_ERR_CORRUPT;
            vl_tagged_hash(digest, VL_TAG_STATE_DIGEST, &buckets[0][0], sizeof buckets);
            if (e == VL_OK && cp.log_index == index && memcmp(digest, cp.state_digest, 32) != 0)
                e = VL_ERR_CORRUPT;
            if (e != VL_OK) {
                fprintf(stderr, "checkpoint at %" PRIu64 ": not extended or bad: %s\n",
                        cp.log_index, vl_strerror(e));
                rc = 1;
                break;
            }
            cps++;
        }
    }
    if (rc == 0)
        printf("ok: %" PRIu64 " entries (%" PRIu64 " issue, %" PRIu64 " redeem, %" PRIu64
               " revoke), %" PRIu64 " checkpoints, vote signature cache %" PRIu64 " misses\n",
               index, kinds[1], kinds[2], kinds[3], cps, vl_sigcache_misses(cache));
    vl_logfile_close_reader(&rd);
    vl_sigcache_destroy(&cache);
    free(heads);
    free(t);
    return rc;
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    for (size_t i = 0; i < g_lf.count; i++)
        free(g_lf.recs[i].buf);
    free(g_lf.recs);
    free(g_gen);
    free(g_ct);
    return rc;
}

static int run(int argc, char **argv)
{
    if (argc < 2)
        return die("%s%s", "usage: reconcile_plant check|flip|drop|forge|fork|badcp ...", "");
    const char *cmd = argv[1];
    char **av = argv + 2;
    int ac = argc - 2;
    if (strcmp(cmd, "check") == 0)
        return cmd_check(av, ac);
    if (strcmp(cmd, "flip") == 0)
        return cmd_flip(av, ac);
    if (strcmp(cmd, "drop") == 0)
        return cmd_drop(av, ac);
    if (strcmp(cmd, "forge") == 0)
        return cmd_forge(av, ac);
    if (strcmp(cmd, "fork") == 0)
        return cmd_fork(av, ac);
    if (strcmp(cmd, "badcp") == 0)
        return cmd_badcp(av, ac);
    return die("unknown command \"%s\"%s", cmd, "");
}
