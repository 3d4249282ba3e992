/* ctl_net.c - what voucherctl's network commands share: opening a client
 * from the common options (--genesis, --node, --timeout-ms), the names of
 * error codes in JSON, the report of a refusal, certificate summaries.
 *
 * --devnet DIR (docs/devnet.md) stands for --genesis DIR/genesis.json and one
 * --node per node of DIR/devnet.json, node1 first; explicit ones win.
 *
 * Error names (docs/clients.md): "code" is vl_err_slug upper-cased
 * (CONFLICT, EXPIRED, ...), except that OVERSPEND and BUDGET are both
 * INSUFFICIENT_BALANCE, and QUORUM and TIMEOUT (when no certificate came
 * back) are NO_QUORUM; "detail" always carries the precise name and
 * "number" the code's number, so a script can tell them apart and a code
 * this tool does not know still shows.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "vl_client.h"

_Static_assert(NET_DEFAULT_TIMEOUT_MS == VL_CLIENT_DEFAULT_TIMEOUT_MS,
               "voucherctl waits as long as the client library's default");

int parse_hex32(const vl_ctx *c, const char *opt, const char *s, uint8_t out[32])
{
    if (strlen(s) != 64 || vl_hex_decode(out, 32, s) != VL_OK)
        return fail(c, EXIT_USAGE, "--%s: want 64 hex digits, got \"%s\"", opt, s);
    return EXIT_OK;
}

/* --devnet DIR: the genesis path and the client endpoints, node1 first. */
static int devnet_net(const vl_ctx *c, const char *dir, char *genesis, size_t cap,
                      char (*eps)[VL_MAX_ENDPOINT_LEN + 1], size_t *count)
{
    devnet *d = NULL;
    int st = devnet_load(c, dir, &d);
    if (st != EXIT_OK)
        return st;
    snprintf(genesis, cap, "%s", d->genesis); /* both DEVNET_MAX_PATH */
    for (uint32_t i = 0; i < d->node_count; i++)
        memcpy(eps[i], d->nodes[i].client_endpoint, sizeof eps[i]);
    *count = d->node_count;
    free(d);
    return EXIT_OK;
}

int net_open(const vl_ctx *c, const vl_opt *opts, ctl_net *n)
{
    uint64_t timeout = NET_DEFAULT_TIMEOUT_MS;
    memset(n, 0, sizeof *n);
    if (opts[O_TIMEOUT].value != NULL &&
        (!parse_uint(opts[O_TIMEOUT].value, VL_CLIENT_MAX_TIMEOUT_MS, &timeout) ||
         timeout < VL_CLIENT_MIN_TIMEOUT_MS))
        return fail(c, EXIT_USAGE, "--timeout-ms: want %u..%u", VL_CLIENT_MIN_TIMEOUT_MS,
                    VL_CLIENT_MAX_TIMEOUT_MS);
    if (opts[O_NODE].count > VL_CLIENT_MAX_ENDPOINTS)
        return fail(c, EXIT_USAGE, "at most %d --node", VL_CLIENT_MAX_ENDPOINTS);
    for (unsigned i = 0; i < opts[O_NODE].count; i++)
        if (strlen(opts[O_NODE].list[i]) > VL_MAX_ENDPOINT_LEN)
            return fail(c, EXIT_USAGE, "--node: an endpoint is at most %d characters",
                        VL_MAX_ENDPOINT_LEN);
    assert(opts[O_GENESIS].value != NULL || opts[O_DEVNET].value != NULL); /* parse_args */
    /* --devnet fills what was not given explicitly */
    const char *genesis = opts[O_GENESIS].value;
    const char *const *eps = opts[O_NODE].list;
    size_t ep_count = opts[O_NODE].count;
    char dev_genesis[DEVNET_MAX_PATH];
    char (*dev_eps)[VL_MAX_ENDPOINT_LEN + 1] = NULL;
    const char *dev_list[VL_CLIENT_MAX_ENDPOINTS];
    int st = EXIT_OK;
    if (opts[O_DEVNET].value != NULL) {
        dev_eps = calloc(VL_CLIENT_MAX_ENDPOINTS, sizeof *dev_eps);
        size_t dev_count = 0;
        st = dev_eps == NULL ? fail(c, EXIT_FAIL, "out of memory")
                             : devnet_net(c, opts[O_DEVNET].value, dev_genesis,
                                          sizeof dev_genesis, dev_eps, &dev_count);
        if (st == EXIT_OK && genesis == NULL)
            genesis = dev_genesis;
        if (st == EXIT_OK && ep_count == 0) {
            for (size_t i = 0; i < dev_count; i++)
                dev_list[i] = dev_eps[i];
            eps = dev_list;
            ep_count = dev_count;
        }
    }
    if (st == EXIT_OK)
        st = load_genesis(c, genesis, &n->g);
    vl_client *cl = NULL;
    vl_err e = VL_OK;
    if (st == EXIT_OK && (e = vl_client_new(&cl, n->g, eps, ep_count, (uint32_t)timeout)) != VL_OK)
        st = fail(c, EXIT_FAIL, "cannot make a client: %s", vl_strerror(e));
    free(dev_eps); /* vl_client_new copied the endpoints */
    if (st != EXIT_OK) {
        net_close(n);
        return st;
    }
    n->cl = cl;
    return EXIT_OK;
}

void net_close(ctl_net *n)
{
    vl_client *cl = n->cl;
    vl_client_destroy(&cl);
    n->cl = NULL;
    free(n->g);
    n->g = NULL;
}

/* ---- error names ------------------------------------------------------------- */

const char *net_detail_name(int code)
{
    static _Thread_local char buf[64];
    const char *slug = vl_err_slug(code);
    if (strcmp(slug, "unknown") == 0) {
        snprintf(buf, sizeof buf, "E%d", code);
        return buf;
    }
    size_t i = 0;
    for (; slug[i] != '\0' && i + 1 < sizeof buf; i++)
        buf[i] = (char)toupper((unsigned char)slug[i]);
    buf[i] = '\0';
    return buf;
}

const char *net_code_name(int code, bool has_cert)
{
    if (code == VL_ERR_OVERSPEND || code == VL_ERR_BUDGET)
        return "INSUFFICIENT_BALANCE";
    if (!has_cert && (code == VL_ERR_QUORUM || code == VL_ERR_TIMEOUT))
        return "NO_QUORUM";
    return net_detail_name(code);
}

int report_error(const vl_ctx *c, const vl_genesis *g, int status, const char *name,
                 const char *detail, int number, const char *text, const uint8_t *evidence,
                 size_t evidence_len)
{
    if (c->json) {
        json_t *err = jobj(), *res = jobj();
        jset(err, "code", json_string(name));
        jset(err, "detail", json_string(detail));
        if (number != 0)
            jset(err, "number", json_integer(number));
        jset(err, "message", json_string(text));
        if (evidence != NULL && evidence_len > 0) {
            vl_insp in = {.g = g, .first_fail = VL_OK};
            vl_err rc;
            json_t *ev = describe(&in, evidence, evidence_len, &rc);
            jset(err, "evidence", ev != NULL ? ev : json_null());
        }
        jset(res, "error", err);
        if (emit(c, res, NULL) != EXIT_OK)
            return EXIT_FAIL;
    }
    fail(c, status, "%s (%s): %s%s", name, detail, text,
         evidence != NULL && evidence_len > 0 && !c->json ? " (--json shows the evidence)"
                                                          : "");
    return status;
}

int net_refused(const vl_ctx *c, const vl_genesis *g, int code, bool answered,
                const char *message, const uint8_t *evidence, size_t evidence_len)
{
    int status = answered ? EXIT_FAIL : EXIT_UNREACHABLE;
    if (!answered)
        code = VL_ERR_UNAVAILABLE;
    char name[64], detail[64];
    snprintf(name, sizeof name, "%s", net_code_name(code, false));
    snprintf(detail, sizeof detail, "%s", net_detail_name(code));
    const char *text = message != NULL && message[0] != '\0' ? message : vl_strerror(code);
    return report_error(c, g, status, name, detail, code, text, evidence, evidence_len);
}

/* ---- certificate summaries ------------------------------------------------------ */

static void put_order_fields(const vl_genesis *g, json_t *j, const vl_order *o)
{
    int p;
    if (o->kind == VL_ORDER_ISSUE) {
        json_t *ids = jarr();
        uint64_t total = 0;
        for (unsigned i = 0; i < o->voucher_count; i++) {
            uint8_t id[32];
            vl_voucher_account_id(id, o->issuer, o->vouchers[i].serial);
            jappend(ids, jhex(id, 32));
            total += o->vouchers[i].value_fen;
        }
        jset(j, "vouchers", ids);
        jset(j, "total_fen", ju64(total));
        return;
    }
    jset(j, "serial", ju64(o->serial));
    if (o->kind == VL_ORDER_REVOKE) {
        jset(j, "reason", jtext(o->reason));
        return;
    }
    jset(j, "amount_fen", ju64(o->amount_fen));
    jset(j, "provider", jhex(o->provider, 32));
    if ((p = vl_genesis_provider_by_pubkey(g, o->provider)) >= 0)
        jset(j, "provider_id", json_string(g->providers[p].id));
    jset(j, "invoice_hash", jhex(o->invoice_hash, 32));
    jset(j, "gpu_milli_hours", ju64(o->gpu_milli_hours));
}

json_t *cert_summary(const vl_genesis *g, const uint8_t *raw, size_t len, vl_err verified)
{
    static const char *kinds[] = {"?", "issue", "redeem", "revoke"};
    vl_cert *ct = malloc(sizeof *ct);
    json_t *j = jobj();
    if (ct == NULL || vl_cert_decode(raw, len, ct) != VL_OK) {
        free(ct);
        jset(j, "verified", json_false());
        jset(j, "error", json_string(vl_err_slug(verified != VL_OK ? verified : VL_ERR_TYPE)));
        return j;
    }
    uint8_t hash[32], cert_hash[32], account[32];
    vl_order_hash(hash, &ct->order);
    vl_order_account(account, &ct->order);
    vl_cert_hash(cert_hash, raw, len);
    int is = vl_genesis_issuer_by_pubkey(g, ct->order.issuer);
    jset(j, "kind", json_string(kinds[ct->order.kind <= 3 ? ct->order.kind : 0]));
    jset(j, "account_id", jhex(account, 32));
    jset(j, "seq", ju64(ct->order.seq));
    if (is >= 0)
        jset(j, "issuer_id", json_string(g->issuers[is].id));
    put_order_fields(g, j, &ct->order);
    jset(j, "order_hash", jhex(hash, 32));
    jset(j, "cert_hash", jhex(cert_hash, 32));
    json_t *voters = jarr();
    for (unsigned i = 0; i < ct->vote_count; i++)
        jappend(voters, ct->votes[i].voter < g->node_count
                            ? json_string(g->nodes[ct->votes[i].voter].id)
                            : json_integer(ct->votes[i].voter));
    jset(j, "voters", voters);
    jset(j, "verified", json_boolean(verified == VL_OK));
    if (verified != VL_OK)
        jset(j, "error", json_string(vl_err_slug(verified)));
    free(ct);
    return j;
}
