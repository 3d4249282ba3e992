/* ctl_orders.c - voucherctl commands that build, sign and submit orders:
 * issue, redeem, revoke, and the split flow build-redeem / sign / submit.
 * Orders are built, signed and encoded by vl_orderkit.h, the client
 * library's; what is here is the tool's part: options, the state the order
 * acts on, and the slot guard.  The building blocks (redeem_params,
 * issuer_sign, redeem_sign with the slot guard, voucher_fetch,
 * issuer_next_seq) are shared through ctl.h with `devnet demo`
 * (ctl_demo.c), so the demo signs exactly as the commands do.
 *
 * Design notes
 *  1. The slot guard (DESIGN.md 5, point 6).  Two different orders signed
 *     for one (account, seq) can split the voters so that neither reaches
 *     the quorum, and the account is frozen for good.  So a signer records
 *     what it signed for each slot and never signs a different order for
 *     it: beside the key file K, the directory K.slots/ holds one file
 *     <account hex>-<seq>.order per slot, the encoded order as signed,
 *     created with O_EXCL, fsynced (file and directory) BEFORE the order
 *     leaves the machine.  When a record exists for the slot: if its order
 *     hash (everything but the signatures) equals the requested order's,
 *     the recorded bytes are submitted again, byte for byte (an idempotent
 *     retry); otherwise the command refuses (exit 1, code SLOT_GUARD) and
 *     names the record.  The holder guards redemptions; the issuer guards
 *     its issuances and revocations the same way (an issuer account frozen
 *     by two issuances would stop a city issuing).  --no-slot-guard skips
 *     it, for tests that play a cheating holder.
 *  2. A retry must rebuild the SAME order, so every default is
 *     deterministic (vl_orderkit.h has them): the invoice hash of a
 *     redemption, when not given, is tagged_hash("voucherctl/v1/derived-
 *     invoice", voucher id || seq || amount || provider || gpu milli-hours)
 *     (a tool-local tag, not a protocol domain); an issuance is valid from
 *     00:00 UTC of the day it is first built, for 365 days; serials default
 *     to seq * 1000000 + 1, + 2, ... (unique per issuer slot,
 *     VL_MAX_ISSUE_BATCH < 1000000); the subsidy to 8000 bp.
 *  3. The sequence number comes from the account state served by the
 *     first node that answers (vl_client_get_account, certificates
 *     verified).  A lagging node may give an old next_seq: the order is
 *     then refused (ALREADY_CERTIFIED or STALE_SEQ), nothing is lost, and
 *     the record of that slot stays, so a retry resubmits it and gets the
 *     same answer.  --seq overrides the query (offline use and tests).
 *  4. Checked before signing.  A redemption the served state already
 *     refuses (more than the voucher's remaining value, a revoked voucher;
 *     a holder key that is not the voucher's) is refused here, with the
 *     code a node would give, before anything is signed: once signed, the
 *     slot guard holds that order for the slot, and an order refused for
 *     good would block the slot (section 3 of docs/clients.md says what to
 *     do then).  The state may come from a lagging node; the voters still
 *     decide, and --seq (no query) skips these checks.
 *  5. Retrying after NO_QUORUM or TIMEOUT (an operator's walk: the order
 *     completed later, when a voter came back and re-drove it, and running
 *     `redeem` again signed a second order at the next seq: a second
 *     charge).  The slot guard makes a second run the same retry only
 *     while the slot is open.  So a failure that may still end in a
 *     certificate names the record and says to resubmit it (`submit
 *     --in`), and a redemption given --invoice-hash is never signed twice
 *     for one voucher: when the guard holds a redemption of the voucher
 *     with that invoice hash at any seq, its bytes are submitted again (a
 *     certified one answers with its certificate).  Without --invoice-hash
 *     the derived hash covers the seq, so two runs are two charges by
 *     design (docs/clients.md, section 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "vl_file.h"
#include "vl_client.h"

#define MAX_PATH_LEN 4096

/* ---- small helpers ------------------------------------------------------------ */

int order_built(const vl_ctx *c, vl_err e)
{
    if (e == VL_OK)
        return EXIT_OK;
    if (e == VL_ERR_RANDOM)
        return fail(c, EXIT_FAIL, "%s", vl_strerror(e));
    return fail(c, e == VL_ERR_NOMEM ? EXIT_FAIL : EXIT_USAGE,
                "the order cannot be encoded: %s (%s)", vl_strerror(e), vl_err_slug(e));
}

/* An issuer: its genesis id or its public key in hex. */
static int resolve_issuer(const vl_ctx *c, const vl_genesis *g, const char *s, uint8_t pub[32])
{
    for (uint32_t i = 0; i < g->issuer_count; i++)
        if (strcmp(g->issuers[i].id, s) == 0) {
            memcpy(pub, g->issuers[i].pubkey, 32);
            return EXIT_OK;
        }
    if (strlen(s) == 64 && vl_hex_decode(pub, 32, s) == VL_OK &&
        vl_genesis_issuer_by_pubkey(g, pub) >= 0)
        return EXIT_OK;
    return fail(c, EXIT_USAGE, "--issuer \"%s\": not an issuer id or key of network \"%s\"", s,
                g->network);
}

/* Decimal GPU-hours with up to 3 decimals, as milli-hours. */
static bool parse_milli(const char *s, uint64_t *out)
{
    char whole[32];
    const char *dot = strchr(s, '.');
    size_t wl = dot != NULL ? (size_t)(dot - s) : strlen(s);
    uint64_t w, f = 0;
    if (wl == 0 || wl >= sizeof whole)
        return false;
    memcpy(whole, s, wl);
    whole[wl] = '\0';
    if (!parse_uint(whole, UINT64_MAX / 1000u, &w))
        return false;
    if (dot != NULL) {
        size_t fl = strlen(dot + 1);
        if (fl == 0 || fl > 3 || !parse_uint(dot + 1, 999, &f))
            return false;
        for (; fl < 3; fl++)
            f *= 10;
    }
    *out = w * 1000u + f;
    return true;
}

static int opt_u64(const vl_ctx *c, const vl_opt *o, uint64_t max, uint64_t *v)
{
    if (o->value != NULL && !parse_uint(o->value, max, v))
        return fail(c, EXIT_USAGE, "--%s: \"%s\" is not a number 0..%" PRIu64, o->name,
                    o->value, max);
    return EXIT_OK;
}

/* ---- the slot guard (note 1) ---------------------------------------------------- */

typedef struct {
    char dir[MAX_PATH_LEN];
    char path[MAX_PATH_LEN];
    uint8_t *rec; /* the matching record, heap; NULL when none */
    size_t rec_len;
} slot_rec;

static int slot_refuse(const vl_ctx *c, const vl_genesis *g, const slot_rec *s,
                       const uint8_t *rec, size_t rec_len, const char *why)
{
    static const uint8_t zero[64];
    char text[4 * MAX_PATH_LEN], empty[32] = "";
    vl_order *o = rec != NULL ? malloc(sizeof *o) : NULL;
    if (o != NULL && vl_order_decode(rec, rec_len, o) == VL_OK)
        for (unsigned i = 0; i < o->sig_count && i < 2 && empty[0] == '\0'; i++)
            if (memcmp(o->sigs[i], zero, 64) == 0)
                snprintf(empty, sizeof empty, "%s", order_slot_name(o, i));
    free(o);
    int n = snprintf(text, sizeof text,
                     "%s: %s; a signer never signs two different orders for one slot (they "
                     "could freeze the account). ",
                     s->path, why);
    if (n < 0 || (size_t)n >= sizeof text)
        n = (int)sizeof text - 1; /* cut short: the advice below is dropped, never overrun */
    if (empty[0] != '\0') /* a half-signed record: resubmitted, it gets BAD_SIG */
        snprintf(text + n, sizeof text - (size_t)n,
                 "The record is half-signed (its %s slot is empty): have it co-signed with "
                 "`voucherctl sign --slot %s --in %s --out FILE` and submit FILE, or wait until "
                 "the slot is certified and act at the next seq",
                 empty, empty, s->path);
    else
        snprintf(text + n, sizeof text - (size_t)n,
                 "Resubmit the recorded order with `voucherctl submit --in %s`, or wait until "
                 "the slot is certified and act at the next seq. If more than max_faulty nodes "
                 "refuse the recorded order for good (INSUFFICIENT_BALANCE, REVOKED, "
                 "WRONG_SIGNER, BAD_SIG, WRONG_NETWORK), docs/clients.md section 3 says how to "
                 "free the slot",
                 s->path);
    return report_error(c, g, EXIT_FAIL, "SLOT_GUARD", "SLOT_GUARD", 0, text, rec, rec_len);
}

/* The slot guard's directory beside key_path and the record of (account,
 * seq) in it (note 1).  false when a path is too long. */
static bool slot_paths(const char *key_path, const uint8_t account[32], uint64_t seq,
                       char dir[MAX_PATH_LEN], char path[MAX_PATH_LEN])
{
    char hex[65];
    vl_hex_encode(hex, account, 32);
    return snprintf(dir, MAX_PATH_LEN, "%s.slots", key_path) < MAX_PATH_LEN &&
           snprintf(path, MAX_PATH_LEN, "%s/%s-%" PRIu64 ".order", dir, hex, seq) < MAX_PATH_LEN;
}

/* Find the record of o's slot beside key_path.  EXIT_OK with s->rec NULL
 * (none: sign, then slot_record) or set (the same order: reuse it);
 * otherwise the SLOT_GUARD refusal. */
static int slot_check(const vl_ctx *c, const vl_genesis *g, const char *key_path,
                      const vl_order *o, slot_rec *s)
{
    uint8_t account[32], want[32];
    memset(s, 0, sizeof *s);
    vl_order_account(account, o);
    if (!slot_paths(key_path, account, o->seq, s->dir, s->path))
        return fail(c, EXIT_FAIL, "%s: path too long", key_path);
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST)
        return fail(c, EXIT_FAIL, "%s: %s", s->dir, strerror(errno));
    if (access(s->path, F_OK) != 0)
        return errno == ENOENT ? EXIT_OK : fail(c, EXIT_FAIL, "%s: %s", s->path, strerror(errno));
    char *buf;
    size_t len;
    int st = read_file(c, s->path, VL_MAX_MSG_BYTES, &buf, &len);
    if (st != EXIT_OK)
        return st;
    vl_order *rec = malloc(sizeof *rec);
    vl_err e = rec == NULL ? VL_ERR_NOMEM : vl_order_decode((uint8_t *)buf, len, rec);
    if (e != VL_OK) {
        free(rec);
        free(buf);
        return slot_refuse(c, g, s, NULL, 0, "the record of this slot does not decode");
    }
    uint8_t have[32];
    vl_order_hash(have, rec);
    vl_order_hash(want, o);
    free(rec);
    if (memcmp(have, want, 32) != 0) {
        st = slot_refuse(c, g, s, (uint8_t *)buf, len,
                         "a DIFFERENT order is already signed for this slot");
        free(buf);
        return st;
    }
    s->rec = (uint8_t *)buf;
    s->rec_len = len;
    return EXIT_OK;
}

/* Record the signed order for the slot: O_EXCL, fsync file and directory. */
static int slot_record(const vl_ctx *c, const vl_genesis *g, const slot_rec *s,
                       const uint8_t *buf, size_t len)
{
    int fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return slot_refuse(c, g, s, NULL, 0,
                           "a record for this slot appeared while signing (another voucherctl "
                           "at work?); run the command again");
    if (fd < 0)
        return fail(c, EXIT_FAIL, "%s: %s", s->path, strerror(errno));
    int ok = vl_write_all(fd, buf, len) == 0 && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    ok = ok && vl_fsync_parent(s->path) == 0;
    if (!ok) {
        unlink(s->path); /* never leave a torn record: nothing was sent */
        return fail(c, EXIT_FAIL, "%s: cannot record the signed order: %s", s->path,
                    strerror(e != 0 ? e : errno));
    }
    return EXIT_OK;
}

/* ---- submitting ------------------------------------------------------------------ */

/* raw is a REDEEM order (for the retry hint). */
static bool o_kind_redeem(const uint8_t *raw, size_t len)
{
    vl_order *o = malloc(sizeof *o);
    bool r = o != NULL && vl_order_decode(raw, len, o) == VL_OK && o->kind == VL_ORDER_REDEEM;
    free(o);
    return r;
}

/* Note 5: after a failure that may still end in a certificate, where the
 * signed order is and why running the command again is not a retry. */
static void retry_hint(const vl_ctx *c, vl_err e, const char *record, bool redemption)
{
    (void)c; /* on stderr in --json mode too: stdout holds the JSON */
    if (record == NULL || (e != VL_ERR_QUORUM && e != VL_ERR_TIMEOUT && e != VL_ERR_UNAVAILABLE))
        return;
    fprintf(stderr,
            "voucherctl: the signed order is recorded in %s. To retry, resubmit exactly it: "
            "`voucherctl submit --in %s` (same NET options). Running this command again is the "
            "same retry only while that slot is open: once the order completes (its voters "
            "re-drive it), a new run signs a NEW order at the next seq%s.\n",
            record, record,
            redemption ? ", a second charge, unless both runs give the same --invoice-hash"
                       : ", a second one");
}

/* Submit raw and print the certificate (extra: more result fields, taken;
 * record: the slot guard's file of this order, NULL when none). */
static int submit_report(const vl_ctx *c, ctl_net *n, const uint8_t *raw, size_t len,
                         const char *cert_out, json_t *extra, const char *record)
{
    vl_client_result r;
    vl_err e = vl_client_submit(n->cl, raw, len, &r);
    int st;
    if (e != VL_OK && r.tried == 0) {
        st = fail(c, EXIT_FAIL, "the order does not decode: %s", vl_strerror(e));
    } else if (e != VL_OK) {
        st = net_refused(c, n->g, e, r.answered > 0, r.message, r.evidence, r.evidence_len);
        retry_hint(c, e, record, o_kind_redeem(raw, len));
    } else {
        st = cert_out != NULL ? write_file(c, cert_out, r.cert, r.cert_len) : EXIT_OK;
        json_t *res = extra != NULL ? extra : jobj();
        extra = NULL;
        json_t *sum = cert_summary(n->g, r.cert, r.cert_len, VL_OK);
        char hex[65], human[512];
        vl_hex_encode(hex, r.order_hash, 32);
        json_t *kind = json_object_get(sum, "kind");
        snprintf(human, sizeof human,
                 "certified: %s of account %s seq %" PRIu64 ", order hash %s (verified against "
                 "the genesis; answered by %s)",
                 json_string_value(kind) != NULL ? json_string_value(kind) : "?",
                 json_string_value(json_object_get(sum, "account_id")),
                 (uint64_t)json_integer_value(json_object_get(sum, "seq")), hex,
                 vl_client_endpoint(n->cl, (size_t)r.endpoint));
        jset(res, "certificate", sum);
        jset(res, "endpoint", json_string(vl_client_endpoint(n->cl, (size_t)r.endpoint)));
        if (cert_out != NULL)
            jset(res, "cert_file", json_string(cert_out));
        if (st == EXIT_OK)
            st = emit(c, res, human);
        else
            json_decref(res);
    }
    json_decref(extra);
    vl_client_result_free(&r);
    return st;
}

/* GET_ACCOUNT of the state alone (no certificate: an issuer's can be
 * many), reporting failures.  EXIT_OK with *known false for an account no
 * node knows when unknown_ok. */
static int get_account(const vl_ctx *c, ctl_net *n, const uint8_t id[32], bool unknown_ok,
                       vl_client_account *a, bool *known)
{
    vl_err e = vl_client_get_account_from(n->cl, id, UINT64_MAX, 0, a);
    *known = e == VL_OK;
    if (e == VL_OK || (e == VL_ERR_UNKNOWN_ACCOUNT && unknown_ok))
        return EXIT_OK;
    if (e == VL_ERR_UNAVAILABLE)
        return net_refused(c, n->g, e, false, a->message, NULL, 0);
    return net_refused(c, n->g, e, true, a->message, NULL, 0);
}

/* ---- vouchers: --voucher ID, or --issuer and --serial; --seq -------------------------- */

int voucher_fetch(const vl_ctx *c, ctl_net *n, const uint8_t id[32], voucher_ref *v)
{
    vl_client_account a;
    bool known;
    memset(v, 0, sizeof *v);
    memcpy(v->id, id, 32);
    uint8_t served[32] = {0};
    int st = get_account(c, n, id, false, &a, &known);
    if (st == EXIT_OK && a.account.kind == VL_ACCOUNT_VOUCHER)
        vl_voucher_account_id(served, a.account.issuer, a.account.serial);
    if (st == EXIT_OK && a.account.kind != VL_ACCOUNT_VOUCHER) {
        char hex[65];
        vl_hex_encode(hex, id, 32);
        st = fail(c, EXIT_FAIL, "%s is not a voucher account", hex);
    } else if (st == EXIT_OK && memcmp(served, id, 32) != 0) {
        /* the order would act on the served (issuer, serial): never sign it */
        st = fail(c, EXIT_FAIL, "%s served the state of another voucher",
                  vl_client_endpoint(n->cl, (size_t)a.endpoint));
    } else if (st == EXIT_OK) {
        memcpy(v->issuer, a.account.issuer, 32);
        v->serial = a.account.serial;
        v->seq = a.account.next_seq;
        memcpy(v->holder, a.account.holder, 32);
        v->have_holder = true;
        v->have_state = true;
        v->status = a.account.status;
        v->remaining_fen = a.account.remaining_fen;
        v->endpoint = a.endpoint;
    }
    vl_client_account_free(&a);
    return st;
}

/* opts: voucher, issuer, serial, seq (any may be absent). */
static int resolve_voucher(const vl_ctx *c, ctl_net *n, const vl_opt *vo, const vl_opt *io,
                           const vl_opt *so, const vl_opt *qo, voucher_ref *v)
{
    memset(v, 0, sizeof *v);
    bool have_is = io->value != NULL && so->value != NULL;
    int st = EXIT_OK;
    if ((io->value != NULL) != (so->value != NULL))
        return fail(c, EXIT_USAGE, "--issuer and --serial go together");
    if (vo->value == NULL && !have_is)
        return fail(c, EXIT_USAGE, "missing --voucher (or --issuer and --serial)");
    if (vo->value != NULL && (st = parse_hex32(c, "voucher", vo->value, v->id)) != EXIT_OK)
        return st;
    if (have_is) {
        uint8_t id[32];
        if ((st = resolve_issuer(c, n->g, io->value, v->issuer)) != EXIT_OK ||
            (st = opt_u64(c, so, UINT64_MAX, &v->serial)) != EXIT_OK)
            return st;
        vl_voucher_account_id(id, v->issuer, v->serial);
        if (vo->value != NULL && memcmp(id, v->id, 32) != 0)
            return fail(c, EXIT_USAGE, "--voucher is not the voucher of --issuer and --serial");
        memcpy(v->id, id, 32);
    }
    if (qo->value != NULL && have_is)
        return opt_u64(c, qo, UINT64_MAX, &v->seq); /* offline (note 3) */
    uint8_t id[32];
    memcpy(id, v->id, 32);
    if ((st = voucher_fetch(c, n, id, v)) == EXIT_OK)
        st = opt_u64(c, qo, UINT64_MAX, &v->seq);
    return st;
}

/* ---- redeem and build-redeem ---------------------------------------------------------- */

enum {
    R_VOUCHER = O_NET_END, R_ISSUER, R_SERIAL, R_SEQ, R_AMOUNT, R_INVOICE, R_GPU, R_CERT_OUT,
    R_NO_GUARD, R_HOLDER_KEY, R_PROVIDER_KEY, R_OPT_COUNT
};
#define REDEEM_OPTS                                                                        \
    NET_OPTS, {.name = "voucher", .kind = OPT_VALUE}, {.name = "issuer", .kind = OPT_VALUE}, \
        {.name = "serial", .kind = OPT_VALUE}, {.name = "seq", .kind = OPT_VALUE},          \
        {.name = "amount-fen", .kind = OPT_VALUE, .required = true},                        \
        {.name = "invoice-hash", .kind = OPT_VALUE}, {.name = "gpu-hours", .kind = OPT_VALUE}, \
        {.name = "cert-out", .kind = OPT_VALUE}, {.name = "no-slot-guard", .kind = OPT_FLAG}

void redeem_params(vl_orderkit_redeem *r, const voucher_ref *v, const uint8_t holder[32],
                   const uint8_t provider[32], uint64_t amount_fen, uint64_t gpu_milli_hours)
{
    memset(r, 0, sizeof *r);
    memcpy(r->issuer, v->issuer, 32);
    r->serial = v->serial;
    r->seq = v->seq;
    memcpy(r->holder, holder, 32);
    memcpy(r->provider, provider, 32);
    r->amount_fen = amount_fen;
    r->gpu_milli_hours = gpu_milli_hours;
    vl_orderkit_derived_invoice(r->invoice_hash, r);
}

/* The unsigned REDEEM of v for the options (note 2 for the invoice hash). */
static int build_redeem_order(const vl_ctx *c, const ctl_net *n, const vl_opt *opts,
                              const voucher_ref *v, const uint8_t holder[32],
                              const uint8_t provider[32], vl_order *o)
{
    uint64_t amount = 0, gpu = 0;
    vl_orderkit_redeem r;
    int st = opt_u64(c, &opts[R_AMOUNT], UINT64_MAX, &amount);
    if (st == EXIT_OK && opts[R_GPU].value != NULL && !parse_milli(opts[R_GPU].value, &gpu))
        st = fail(c, EXIT_USAGE, "--gpu-hours: want a number with at most 3 decimals");
    if (st == EXIT_OK)
        redeem_params(&r, v, holder, provider, amount, gpu);
    if (st == EXIT_OK && opts[R_INVOICE].value != NULL)
        st = parse_hex32(c, "invoice-hash", opts[R_INVOICE].value, r.invoice_hash);
    if (st == EXIT_OK)
        st = order_built(c, vl_orderkit_redeem_build(o, n->g, &r));
    return st;
}

int redeem_sign(const vl_ctx *c, const vl_genesis *g, const char *guard_key_path, vl_order *o,
                const vl_keyfile *holder, const vl_keyfile *provider, uint8_t **raw,
                size_t *len, bool *reused)
{
    slot_rec s;
    bool guard = guard_key_path != NULL;
    *reused = false;
    *raw = NULL;
    int st = guard ? slot_check(c, g, guard_key_path, o, &s) : EXIT_OK;
    if (st != EXIT_OK)
        return st;
    *reused = guard && s.rec != NULL;
    if (*reused) { /* byte for byte, unless the record lacks the provider's signature */
        uint8_t h[32];
        vl_err e = vl_order_decode(s.rec, s.rec_len, o);
        vl_order_hash(h, o);
        if (e == VL_OK && vl_order_verify(g, o, h) == VL_OK) {
            *raw = s.rec;
            *len = s.rec_len;
            return EXIT_OK;
        }
        free(s.rec);
        st = order_built(c, vl_orderkit_sign(o, 1, &provider->sign));
        return st == EXIT_OK ? order_built(c, vl_orderkit_encode(o, raw, len)) : st;
    }
    if ((st = order_built(c, vl_orderkit_sign(o, 0, &holder->sign))) == EXIT_OK &&
        (st = order_built(c, vl_orderkit_sign(o, 1, &provider->sign))) == EXIT_OK)
        st = order_built(c, vl_orderkit_encode(o, raw, len));
    if (st == EXIT_OK && guard && (st = slot_record(c, g, &s, *raw, *len)) != EXIT_OK) {
        free(*raw);
        *raw = NULL;
    }
    return st;
}

/* Note 5: the redemption of voucher `account` with this invoice hash that
 * the slot guard beside key_path recorded, at any seq.  EXIT_OK with *raw
 * NULL when there is none; else *raw (heap) and *seq. */
static int invoice_record(const vl_ctx *c, const char *key_path, const uint8_t account[32],
                          const uint8_t invoice[32], uint8_t **raw, size_t *len, uint64_t *seq)
{
    char dir[MAX_PATH_LEN], path[MAX_PATH_LEN], hex[65];
    *raw = NULL;
    if (!slot_paths(key_path, account, 0, dir, path))
        return fail(c, EXIT_FAIL, "%s: path too long", key_path);
    vl_hex_encode(hex, account, 32);
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? EXIT_OK : fail(c, EXIT_FAIL, "%s: %s", dir, strerror(errno));
    vl_order *o = malloc(sizeof *o);
    int st = o == NULL ? fail(c, EXIT_FAIL, "out of memory") : EXIT_OK;
    struct dirent *ent;
    while (st == EXIT_OK && *raw == NULL && (ent = readdir(d)) != NULL) { /* ends: the directory */
        if (strncmp(ent->d_name, hex, 64) != 0 || ent->d_name[64] != '-' ||
            snprintf(path, sizeof path, "%s/%s", dir, ent->d_name) >= (int)sizeof path)
            continue;
        char *buf;
        size_t n;
        if (read_file(c, path, VL_MAX_MSG_BYTES, &buf, &n) != EXIT_OK)
            continue; /* said on stderr; the others may still match */
        if (vl_order_decode((uint8_t *)buf, n, o) == VL_OK && o->kind == VL_ORDER_REDEEM &&
            memcmp(o->invoice_hash, invoice, 32) == 0) {
            *raw = (uint8_t *)buf;
            *len = n;
            *seq = o->seq;
        } else {
            free(buf);
        }
    }
    closedir(d);
    free(o);
    return st;
}

/* Note 5: slot (account, seq) is certified, for another order than the
 * recorded one (rec): as served by the first node that answers.  false
 * when it is open, certified for rec, or nothing could be learnt (the
 * record is then resubmitted, and the network answers). */
static bool slot_taken(ctl_net *n, const uint8_t account[32], uint64_t seq, const uint8_t *rec,
                       size_t rec_len)
{
    vl_client_account a;
    vl_order *o = malloc(sizeof *o);
    vl_cert *ct = malloc(sizeof *ct);
    bool taken = false;
    uint8_t want[32], have[32];
    if (o != NULL && ct != NULL && vl_order_decode(rec, rec_len, o) == VL_OK &&
        vl_client_get_account_from(n->cl, account, seq, 1, &a) == VL_OK) {
        vl_order_hash(want, o);
        for (uint32_t i = 0; i < a.cert_count && !taken; i++) {
            if (a.cert_ok[i] != VL_OK || vl_cert_decode(a.certs[i], a.cert_lens[i], ct) != VL_OK ||
                ct->order.seq != seq)
                continue;
            vl_order_hash(have, &ct->order);
            taken = memcmp(have, want, 32) != 0;
        }
        vl_client_account_free(&a);
    }
    free(o);
    free(ct);
    return taken;
}

/* Note 4: refuse before signing a redemption that the served state already
 * refuses, so that a mistyped amount leaves no record in the slot guard. */
static int redeem_precheck(const vl_ctx *c, const ctl_net *n, const vl_opt *opts,
                           const voucher_ref *v)
{
    uint64_t amount = 0;
    char text[512];
    int st = opt_u64(c, &opts[R_AMOUNT], UINT64_MAX, &amount);
    /* with --seq the served state need not be that slot's */
    if (st != EXIT_OK || !v->have_state || opts[R_SEQ].value != NULL)
        return st;
    const char *ep = vl_client_endpoint(n->cl, (size_t)v->endpoint);
    if (v->status == VL_VOUCHER_REVOKED) {
        snprintf(text, sizeof text,
                 "the voucher is revoked (as %s serves it): nothing signed, no slot recorded", ep);
        return report_error(c, n->g, EXIT_FAIL, "REVOKED", "REVOKED", VL_ERR_REVOKED, text,
                            NULL, 0);
    }
    if (amount > v->remaining_fen) {
        snprintf(text, sizeof text,
                 "%" PRIu64 " fen is more than the voucher's remaining %" PRIu64
                 " fen (as %s serves it, seq %" PRIu64 "): nothing signed, no slot recorded",
                 amount, v->remaining_fen, ep, v->seq);
        return report_error(c, n->g, EXIT_FAIL, "INSUFFICIENT_BALANCE", "OVERSPEND",
                            VL_ERR_OVERSPEND, text, NULL, 0);
    }
    return EXIT_OK;
}

int cmd_redeem(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {REDEEM_OPTS, {.name = "holder-key", .kind = OPT_VALUE, .required = true},
                     {.name = "provider-key", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = R_OPT_COUNT};
    ctl_net n = {0};
    vl_keyfile holder, provider;
    vl_order *o = malloc(sizeof *o);
    voucher_ref v;
    uint8_t *raw = NULL;
    size_t len = 0;
    bool reused = false, same_invoice = false;
    uint64_t invoice_seq = 0;
    char dir[MAX_PATH_LEN], record[MAX_PATH_LEN];
    memset(&holder, 0, sizeof holder);
    memset(&provider, 0, sizeof provider);
    record[0] = '\0';
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK && o == NULL)
        st = fail(c, EXIT_FAIL, "out of memory");
    if (st == EXIT_OK && (st = load_keyfile(c, opts[R_HOLDER_KEY].value, &holder)) == EXIT_OK &&
        (st = load_keyfile(c, opts[R_PROVIDER_KEY].value, &provider)) == EXIT_OK)
        st = net_open(c, opts, &n);
    if (st == EXIT_OK)
        st = resolve_voucher(c, &n, &opts[R_VOUCHER], &opts[R_ISSUER], &opts[R_SERIAL],
                             &opts[R_SEQ], &v);
    if (st == EXIT_OK && v.have_holder && memcmp(v.holder, holder.sign.pubkey, 32) != 0)
        st = fail(c, EXIT_FAIL, "%s is not the holder key of this voucher",
                  opts[R_HOLDER_KEY].value);
    if (st == EXIT_OK && vl_genesis_provider_by_pubkey(n.g, provider.sign.pubkey) < 0)
        st = fail(c, EXIT_FAIL, "%s: not a provider of network \"%s\"",
                  opts[R_PROVIDER_KEY].value, n.g->network);
    bool guard = !opts[R_NO_GUARD].set;
    if (st == EXIT_OK)
        st = build_redeem_order(c, &n, opts, &v, holder.sign.pubkey, provider.sign.pubkey, o);
    if (st == EXIT_OK && guard && opts[R_INVOICE].value != NULL && !opts[R_SEQ].set) { /* note 5 */
        uint8_t *rec = NULL;
        size_t rec_len = 0;
        st = invoice_record(c, opts[R_HOLDER_KEY].value, v.id, o->invoice_hash, &rec, &rec_len,
                            &invoice_seq);
        /* The same order at the recorded seq: slot_check (redeem_sign) then
         * finds it and resubmits it, co-signing a half-signed record; any
         * other field that differs is refused there, naming the record.  A
         * record whose slot another order took can never be certified: the
         * invoice was not charged, so a new order is signed. */
        same_invoice =
            st == EXIT_OK && rec != NULL && !slot_taken(&n, v.id, invoice_seq, rec, rec_len);
        free(rec);
        if (same_invoice)
            o->seq = invoice_seq;
    }
    if (st == EXIT_OK && !same_invoice)
        st = redeem_precheck(c, &n, opts, &v);
    if (st == EXIT_OK)
        st = redeem_sign(c, n.g, guard ? opts[R_HOLDER_KEY].value : NULL, o, &holder, &provider,
                         &raw, &len, &reused);
    vl_keyfile_wipe(&holder);
    vl_keyfile_wipe(&provider);
    if (st == EXIT_OK && guard &&
        !slot_paths(opts[R_HOLDER_KEY].value, v.id, o->seq, dir, record))
        record[0] = '\0';
    if (st == EXIT_OK) {
        json_t *extra = jobj();
        jset(extra, "resubmitted_recorded_order", json_boolean(reused));
        if (same_invoice)
            jset(extra, "same_invoice_seq", ju64(invoice_seq));
        if (same_invoice && !c->json)
            fprintf(stderr,
                    "voucherctl redeem: this --invoice-hash was signed for this voucher at seq "
                    "%" PRIu64 ": resubmitting that order (a retry, never a second charge)\n",
                    invoice_seq);
        if (same_invoice)
            reused = true;
        else if (reused && !c->json)
            fprintf(stderr, "voucherctl redeem: resubmitting the order recorded for this slot\n");
        st = submit_report(c, &n, raw, len, opts[R_CERT_OUT].value, extra,
                           record[0] != '\0' ? record : NULL);
    }
    free(raw);
    free(o);
    net_close(&n);
    free_args(&a);
    return st;
}

int cmd_build_redeem(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {REDEEM_OPTS, {.name = "holder", .kind = OPT_VALUE},
                     {.name = "provider", .kind = OPT_VALUE, .required = true},
                     {.name = "out", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = R_OPT_COUNT + 1};
    ctl_net n = {0};
    vl_order *o = malloc(sizeof *o);
    voucher_ref v;
    uint8_t provider[32], *raw = NULL;
    size_t len = 0;
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK && o == NULL)
        st = fail(c, EXIT_FAIL, "out of memory");
    if (st == EXIT_OK)
        st = net_open(c, opts, &n);
    if (st == EXIT_OK)
        st = resolve_voucher(c, &n, &opts[R_VOUCHER], &opts[R_ISSUER], &opts[R_SERIAL],
                             &opts[R_SEQ], &v);
    if (st == EXIT_OK && opts[R_HOLDER_KEY].value != NULL) {
        uint8_t h[32];
        st = read_public_key(c, opts[R_HOLDER_KEY].value, h, NULL);
        if (st == EXIT_OK && v.have_holder && memcmp(h, v.holder, 32) != 0)
            st = fail(c, EXIT_FAIL, "--holder is not the holder of this voucher");
        memcpy(v.holder, h, 32);
        v.have_holder = true;
    }
    if (st == EXIT_OK && !v.have_holder)
        st = fail(c, EXIT_USAGE, "missing --holder (needed with --seq: the state is not queried)");
    if (st == EXIT_OK && (st = read_public_key(c, opts[R_PROVIDER_KEY].value, provider, NULL)) == EXIT_OK &&
        vl_genesis_provider_by_pubkey(n.g, provider) < 0)
        st = fail(c, EXIT_FAIL, "--provider: not a provider of network \"%s\"", n.g->network);
    if (st == EXIT_OK)
        st = redeem_precheck(c, &n, opts, &v);
    if (st == EXIT_OK)
        st = build_redeem_order(c, &n, opts, &v, v.holder, provider, o);
    if (st == EXIT_OK && (st = order_built(c, vl_orderkit_encode(o, &raw, &len))) == EXIT_OK)
        st = write_file(c, opts[R_OPT_COUNT].value, raw, len);
    if (st == EXIT_OK) {
        uint8_t h[32];
        char hex[65], human[256];
        vl_order_hash(h, o);
        vl_hex_encode(hex, h, 32);
        snprintf(human, sizeof human, "wrote %s: unsigned REDEEM, seq %" PRIu64 ", order hash %s",
                 opts[R_OPT_COUNT].value, o->seq, hex);
        vl_insp in = {.g = n.g, .first_fail = VL_OK};
        json_t *res = jobj();
        jset(res, "out", json_string(opts[R_OPT_COUNT].value));
        jset(res, "order", order_json(&in, o, false));
        st = emit(c, res, human);
    }
    free(raw);
    free(o);
    net_close(&n);
    free_args(&a);
    return st;
}

/* ---- sign ------------------------------------------------------------------------ */

/* Sign slot `slot` of o with k; the holder and issuer slots are guarded. */
static int sign_guarded(const vl_ctx *c, const vl_genesis *g, const char *key_path,
                        const vl_keyfile *k, vl_order *o, unsigned slot, bool guard,
                        bool *reused)
{
    slot_rec s;
    uint8_t *raw;
    size_t len;
    *reused = false;
    int st = guard ? slot_check(c, g, key_path, o, &s) : EXIT_OK;
    if (st != EXIT_OK)
        return st;
    if (guard && s.rec != NULL) {
        vl_order *rec = malloc(sizeof *rec);
        if (rec != NULL && vl_order_decode(s.rec, s.rec_len, rec) == VL_OK)
            memcpy(o->sigs[slot], rec->sigs[slot], 64);
        free(rec);
        free(s.rec);
        *reused = true;
        return EXIT_OK;
    }
    if ((st = order_built(c, vl_orderkit_sign(o, slot, &k->sign))) != EXIT_OK || !guard)
        return st;
    if ((st = order_built(c, vl_orderkit_encode(o, &raw, &len))) == EXIT_OK)
        st = slot_record(c, g, &s, raw, len);
    free(raw);
    return st;
}

/* Before adding a signature to o at `slot`: o belongs to this network, its
 * members are known, and its other filled slots verify; else a co-signer
 * would commit its key (and its slot guard) to an order no node accepts. */
static int check_cosign(const vl_ctx *c, const vl_genesis *g, const vl_order *o, unsigned slot,
                        const char *path)
{
    static const uint8_t zero[64];
    uint8_t h[32];
    vl_order_hash(h, o);
    for (unsigned i = 0; i < o->sig_count && i < 2; i++) {
        vl_err e = vl_order_verify_slot(g, o, h, i);
        if (e == VL_ERR_BAD_SIG && (i == slot || memcmp(o->sigs[i], zero, 64) == 0))
            continue; /* ours, or empty */
        if (e == VL_ERR_BAD_SIG)
            return fail(c, EXIT_FAIL,
                        "%s: its %s signature does not verify: not signing (ask that signer to "
                        "sign this order again)",
                        path, order_slot_name(o, i));
        if (e != VL_OK)
            return fail(c, EXIT_FAIL, "%s: %s: %s: not signing", path, vl_err_name(e),
                        vl_strerror(e));
    }
    return EXIT_OK;
}

int cmd_sign(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "genesis", .kind = OPT_VALUE, .required = true},
                     {.name = "key", .kind = OPT_VALUE, .required = true},
                     {.name = "slot", .kind = OPT_VALUE, .required = true},
                     {.name = "in", .kind = OPT_VALUE, .required = true},
                     {.name = "out", .kind = OPT_VALUE, .required = true},
                     {.name = "no-slot-guard", .kind = OPT_FLAG}};
    vl_args a = {.opts = opts, .opt_count = 6};
    vl_genesis *g = NULL;
    vl_keyfile k;
    vl_order *o = malloc(sizeof *o);
    char *in = NULL;
    uint8_t *raw = NULL;
    size_t in_len = 0, len = 0;
    bool reused = false;
    unsigned slot = 0;
    memset(&k, 0, sizeof k);
    int st = parse_args(c, &a, argc, argv);
    const char *sname = opts[2].value;
    if (st == EXIT_OK && strcmp(sname, "holder") != 0 && strcmp(sname, "provider") != 0 &&
        strcmp(sname, "issuer") != 0)
        st = fail(c, EXIT_USAGE, "--slot: holder, provider or issuer");
    if (st == EXIT_OK && (st = load_genesis(c, opts[0].value, &g)) == EXIT_OK &&
        (st = read_file(c, opts[3].value, VL_MAX_MSG_BYTES, &in, &in_len)) == EXIT_OK) {
        vl_err e = o == NULL ? VL_ERR_NOMEM : vl_order_decode((uint8_t *)in, in_len, o);
        if (e != VL_OK)
            st = fail(c, EXIT_FAIL, "%s: not an order: %s", opts[3].value, vl_strerror(e));
    }
    if (st == EXIT_OK) {
        bool is_redeem = o->kind == VL_ORDER_REDEEM;
        const uint8_t *want = strcmp(sname, "provider") == 0 ? o->provider
                              : strcmp(sname, "holder") == 0 ? o->holder : o->issuer;
        slot = strcmp(sname, "provider") == 0 ? 1u : 0u;
        if (is_redeem == (strcmp(sname, "issuer") == 0))
            st = fail(c, EXIT_USAGE, "--slot %s does not fit this order's kind", sname);
        else if ((st = load_keyfile(c, opts[1].value, &k)) == EXIT_OK &&
                 memcmp(k.sign.pubkey, want, 32) != 0)
            st = fail(c, EXIT_FAIL, "%s is not the %s key of this order", opts[1].value, sname);
    }
    if (st == EXIT_OK)
        st = check_cosign(c, g, o, slot, opts[3].value);
    if (st == EXIT_OK)
        st = sign_guarded(c, g, opts[1].value, &k, o, slot,
                          slot == 0 && !opts[5].set, &reused);
    vl_keyfile_wipe(&k);
    if (st == EXIT_OK && (st = order_built(c, vl_orderkit_encode(o, &raw, &len))) == EXIT_OK)
        st = write_file(c, opts[4].value, raw, len);
    if (st == EXIT_OK) {
        uint8_t h[32];
        vl_order_hash(h, o);
        bool complete = vl_order_verify(g, o, h) == VL_OK;
        char human[512];
        snprintf(human, sizeof human, "wrote %s: signed the %s slot%s; %s", opts[4].value, sname,
                 reused ? " (the signature recorded for this slot)" : "",
                 complete ? "all signatures present and valid: ready to submit"
                          : "more signatures needed");
        json_t *res = jobj();
        vl_insp ins = {.g = g, .first_fail = VL_OK};
        jset(res, "out", json_string(opts[4].value));
        jset(res, "slot", json_string(sname));
        jset(res, "reused_recorded_signature", json_boolean(reused));
        jset(res, "complete", json_boolean(complete));
        jset(res, "order", order_json(&ins, o, false));
        st = emit(c, res, human);
    }
    free(raw);
    free(in);
    free(o);
    free(g);
    free_args(&a);
    return st;
}

/* ---- submit ------------------------------------------------------------------------ */

int cmd_submit(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {NET_OPTS, {.name = "in", .kind = OPT_VALUE, .required = true},
                     {.name = "cert-out", .kind = OPT_VALUE}};
    vl_args a = {.opts = opts, .opt_count = O_NET_END + 2};
    ctl_net n = {0};
    char *in = NULL;
    size_t len = 0;
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK && (st = net_open(c, opts, &n)) == EXIT_OK)
        st = read_file(c, opts[O_NET_END].value, VL_MAX_MSG_BYTES, &in, &len);
    if (st == EXIT_OK)
        st = submit_report(c, &n, (uint8_t *)in, len, opts[O_NET_END + 1].value, NULL, NULL);
    free(in);
    net_close(&n);
    free_args(&a);
    return st;
}

/* ---- issue and revoke (issuer-signed, guarded beside the issuer key) -------------------- */

int issuer_sign(const vl_ctx *c, const vl_genesis *g, const char *key_path, const vl_keyfile *k,
                vl_order *o, bool guard, uint8_t **raw, size_t *len, bool *reused)
{
    *raw = NULL;
    int st = sign_guarded(c, g, key_path, k, o, 0, guard, reused);
    return st == EXIT_OK ? order_built(c, vl_orderkit_encode(o, raw, len)) : st;
}

/* Sign o with the issuer key (guarded unless no_guard) and submit it. */
static int issuer_submit(const vl_ctx *c, ctl_net *n, const char *key_path, const vl_keyfile *k,
                         vl_order *o, bool no_guard, const char *cert_out, json_t *extra)
{
    uint8_t *raw = NULL;
    size_t len;
    bool reused = false;
    int st = issuer_sign(c, n->g, key_path, k, o, !no_guard, &raw, &len, &reused);
    if (st != EXIT_OK) {
        json_decref(extra);
        return st;
    }
    jset(extra, "resubmitted_recorded_order", json_boolean(reused));
    uint8_t account[32];
    char dir[MAX_PATH_LEN], record[MAX_PATH_LEN];
    vl_order_account(account, o);
    bool have = !no_guard && slot_paths(key_path, account, o->seq, dir, record);
    st = submit_report(c, n, raw, len, cert_out, extra, have ? record : NULL);
    free(raw);
    return st;
}

int issuer_next_seq(const vl_ctx *c, ctl_net *n, const uint8_t issuer[32], uint64_t *seq)
{
    uint8_t id[32];
    vl_client_account acct;
    bool known;
    vl_issuer_account_id(id, issuer);
    int st = get_account(c, n, id, true, &acct, &known);
    *seq = st == EXIT_OK && known ? acct.account.next_seq : 0; /* no ISSUE yet: seq 0 */
    vl_client_account_free(&acct);
    if (st == EXIT_OK && *seq > VL_ORDERKIT_MAX_DEFAULT_SEQ)
        st = fail(c, EXIT_FAIL, "the issuer's next seq %" PRIu64 " is beyond %" PRIu64
                  ", the last with default serials", *seq, (uint64_t)VL_ORDERKIT_MAX_DEFAULT_SEQ);
    return st;
}

enum {
    I_KEY = O_NET_END, I_HOLDER, I_VALUE, I_COUNT, I_SERIAL, I_FROM, I_UNTIL, I_BP, I_PROGRAM,
    I_SEQ, I_CERT_OUT, I_NO_GUARD, I_OPT_COUNT
};

/* The ISSUE at seq of --count vouchers alike (note 2 for the defaults). */
static int issue_build(const vl_ctx *c, const vl_opt *opts, const vl_genesis *g,
                       const uint8_t issuer[32], uint64_t seq, vl_order *o)
{
    vl_voucher_spec s;
    uint64_t bp, count = 1;
    vl_orderkit_spec_defaults(&s, seq, (uint64_t)time(NULL));
    bp = s.subsidy_bp;
    int st = read_public_key(c, opts[I_HOLDER].value, s.holder, NULL);
    if (st == EXIT_OK && (st = opt_u64(c, &opts[I_VALUE], UINT64_MAX, &s.value_fen)) == EXIT_OK &&
        (st = opt_u64(c, &opts[I_COUNT], VL_MAX_ISSUE_BATCH, &count)) == EXIT_OK &&
        (st = opt_u64(c, &opts[I_SERIAL], UINT64_MAX - VL_MAX_ISSUE_BATCH, &s.serial)) == EXIT_OK &&
        (st = opt_u64(c, &opts[I_FROM], UINT64_MAX - VL_ORDERKIT_VALIDITY_S, &s.valid_from_s)) == EXIT_OK &&
        (st = opt_u64(c, &opts[I_BP], VL_MAX_SUBSIDY_BP, &bp)) == EXIT_OK) {
        s.valid_until_s = s.valid_from_s + VL_ORDERKIT_VALIDITY_S;
        st = opt_u64(c, &opts[I_UNTIL], UINT64_MAX, &s.valid_until_s);
    }
    if (st != EXIT_OK)
        return st;
    s.subsidy_bp = (uint16_t)bp;
    const char *program = opts[I_PROGRAM].value != NULL ? opts[I_PROGRAM].value : "";
    if (count == 0 || strlen(program) > VL_MAX_LABEL_LEN)
        return fail(c, EXIT_USAGE, "--count 1..%d, --program at most %d characters",
                    VL_MAX_ISSUE_BATCH, VL_MAX_LABEL_LEN);
    s.program = (vl_bytes){(const uint8_t *)program, (uint32_t)strlen(program)};
    return order_built(c, vl_orderkit_issue_alike(o, g, issuer, seq, &s, (size_t)count));
}

int cmd_issue(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {NET_OPTS,
                     {.name = "issuer-key", .kind = OPT_VALUE, .required = true},
                     {.name = "holder", .kind = OPT_VALUE, .required = true},
                     {.name = "value-fen", .kind = OPT_VALUE, .required = true},
                     {.name = "count", .kind = OPT_VALUE},
                     {.name = "serial", .kind = OPT_VALUE},
                     {.name = "valid-from", .kind = OPT_VALUE},
                     {.name = "valid-until", .kind = OPT_VALUE},
                     {.name = "subsidy-bp", .kind = OPT_VALUE},
                     {.name = "program", .kind = OPT_VALUE},
                     {.name = "seq", .kind = OPT_VALUE},
                     {.name = "cert-out", .kind = OPT_VALUE},
                     {.name = "no-slot-guard", .kind = OPT_FLAG}};
    vl_args a = {.opts = opts, .opt_count = I_OPT_COUNT};
    ctl_net n = {0};
    vl_keyfile k;
    vl_order *o = calloc(1, sizeof *o);
    memset(&k, 0, sizeof k);
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK && o == NULL)
        st = fail(c, EXIT_FAIL, "out of memory");
    if (st == EXIT_OK && (st = load_keyfile(c, opts[I_KEY].value, &k)) == EXIT_OK &&
        (st = net_open(c, opts, &n)) == EXIT_OK && vl_genesis_issuer_by_pubkey(n.g, k.sign.pubkey) < 0)
        st = fail(c, EXIT_FAIL, "%s: not an issuer of network \"%s\"", opts[I_KEY].value,
                  n.g->network);
    uint64_t seq = 0;
    if (st == EXIT_OK && opts[I_SEQ].value != NULL)
        st = opt_u64(c, &opts[I_SEQ], VL_ORDERKIT_MAX_DEFAULT_SEQ, &seq);
    else if (st == EXIT_OK)
        st = issuer_next_seq(c, &n, k.sign.pubkey, &seq);
    if (st == EXIT_OK)
        st = issue_build(c, opts, n.g, k.sign.pubkey, seq, o);
    if (st == EXIT_OK) {
        json_t *extra = jobj(), *ids = jarr();
        for (unsigned i = 0; i < o->voucher_count; i++) {
            uint8_t id[32];
            vl_voucher_account_id(id, o->issuer, o->vouchers[i].serial);
            jappend(ids, jhex(id, 32));
        }
        jset(extra, "vouchers", ids);
        st = issuer_submit(c, &n, opts[I_KEY].value, &k, o, opts[I_NO_GUARD].set,
                           opts[I_CERT_OUT].value, extra);
    }
    vl_keyfile_wipe(&k);
    free(o);
    net_close(&n);
    free_args(&a);
    return st;
}

int cmd_revoke(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {NET_OPTS,
                     {.name = "voucher", .kind = OPT_VALUE},
                     {.name = "issuer", .kind = OPT_VALUE},
                     {.name = "serial", .kind = OPT_VALUE},
                     {.name = "seq", .kind = OPT_VALUE},
                     {.name = "issuer-key", .kind = OPT_VALUE, .required = true},
                     {.name = "reason", .kind = OPT_VALUE},
                     {.name = "cert-out", .kind = OPT_VALUE},
                     {.name = "no-slot-guard", .kind = OPT_FLAG}};
    vl_args a = {.opts = opts, .opt_count = O_NET_END + 8};
    const vl_opt *o0 = &opts[O_NET_END];
    ctl_net n = {0};
    vl_keyfile k;
    voucher_ref v;
    vl_order *o = calloc(1, sizeof *o);
    memset(&k, 0, sizeof k);
    int st = parse_args(c, &a, argc, argv);
    const char *reason = o0[5].value != NULL ? o0[5].value : "";
    if (st == EXIT_OK && (o == NULL || strlen(reason) > VL_MAX_REASON_LEN))
        st = fail(c, o == NULL ? EXIT_FAIL : EXIT_USAGE, "--reason: at most %d characters",
                  VL_MAX_REASON_LEN);
    if (st == EXIT_OK && (st = load_keyfile(c, o0[4].value, &k)) == EXIT_OK)
        st = net_open(c, opts, &n);
    if (st == EXIT_OK)
        st = resolve_voucher(c, &n, &o0[0], &o0[1], &o0[2], &o0[3], &v);
    if (st == EXIT_OK && memcmp(v.issuer, k.sign.pubkey, 32) != 0)
        st = fail(c, EXIT_FAIL, "%s is not the issuer key of this voucher", o0[4].value);
    if (st == EXIT_OK)
        st = order_built(c, vl_orderkit_revoke(o, n.g, v.issuer, v.serial, v.seq, reason));
    if (st == EXIT_OK)
        st = issuer_submit(c, &n, o0[4].value, &k, o, o0[7].set, o0[6].value, jobj());
    vl_keyfile_wipe(&k);
    free(o);
    net_close(&n);
    free_args(&a);
    return st;
}
