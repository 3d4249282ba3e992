/* voucherctl.c - the command-line tool of members, operators and client
 * systems: keys, the genesis, a look inside any wire object, and (through
 * the client library, vl_client.h) orders submitted to the network, queries,
 * node status and log verification.
 *
 * Source files: this one holds the dispatch table and the offline commands
 * (keygen, genesis, inspect, sign-demo); ctl_orders.c the commands that
 * build, sign and submit orders; ctl_read.c the commands that read the
 * network or a data directory; ctl_devnet.c the local network of real
 * voucherd processes (devnet up, down, status) and ctl_demo.c its sample
 * scenario (devnet demo); ctl_backup.c backup and restore of a node's data
 * directory; ctl_common.c, ctl_describe.c and ctl_net.c what
 * they share (ctl.h).
 *
 * Design notes
 *  1. One static function per subcommand, found through a dispatch table
 *     (`commands`).  All of them parse their options with one shared parser
 *     (parse_args) driven by a per-command table of vl_opt, so every command
 *     accepts --json and --help the same way and reports the same usage
 *     errors.
 *  2. Exit status: 0 success; 1 the operation failed (a file, a key, a
 *     genesis rule, a decode or a verification; for network commands: the
 *     network refused the order, or what it served does not verify);
 *     2 usage (unknown option, missing or malformed argument); 3 no node
 *     could be reached.  Every failure prints one line, "voucherctl CMD:
 *     what went wrong", to stderr; stdout carries only results, so scripts
 *     can parse it.  A refusal by the network is also a result: with
 *     --json it is printed on stdout as {"error": {...}} (ctl_orders.c).
 *  3. Output: each command builds its result as one jansson object.  With
 *     --json it is printed compact on one line; without, commands print a
 *     sentence, or indented JSON where the JSON is the content (keygen's
 *     public keys, inspect's dump).  A jansson allocation failure anywhere
 *     sets `ctl_oom`, and the command fails instead of printing half a
 *     result.
 *  4. Integers: jansson integers are signed 64-bit, so a u64 above
 *     INT64_MAX (possible in a decoded object, never in a sane one) is
 *     printed as a decimal string; everything else is a JSON integer.
 *     Amounts are integers of fen, hashes and keys lower-case hex.
 *  5. Secrets: commands hold secret keys in vl_keyfile structs and wipe
 *     them before returning.  `genesis` and sign-demo's issuer read only
 *     PUBLIC keys: given a key file they wipe the secret strings in the
 *     parsed JSON (and the file text) before freeing them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "vl_check.h"

/* The REDEEM order sign-demo makes: a voucher's first redemption (seq 0,
 * docs/consensus.md), 1000.00 CNY for 12 GPU-hours. */
#define DEMO_SERIAL 1
#define DEMO_SEQ 0
#define DEMO_AMOUNT_FEN 100000
#define DEMO_GPU_MILLI_HOURS 12000

/* ---- keygen ----------------------------------------------------------------------- */

static int cmd_keygen(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "out", .kind = OPT_VALUE, .required = true},
                     {.name = "node", .kind = OPT_FLAG}};
    vl_args a = {.opts = opts, .opt_count = 2};
    int st = parse_args(c, &a, argc, argv);
    free_args(&a);
    if (st != EXIT_OK)
        return st;
    const char *out = opts[0].value;
    vl_keyfile k;
    vl_err rc = vl_keyfile_generate(&k, opts[1].set);
    errno = 0;
    if (rc == VL_OK)
        rc = vl_keyfile_save(&k, out);
    int saved_errno = errno;
    json_t *res = jobj();
    if (rc == VL_OK) {
        char z85[41];
        jset(res, "pubkey", jhex(k.sign.pubkey, 32));
        if (k.has_curve) {
            vl_z85_encode(z85, k.curve_pubkey);
            jset(res, "curve_pubkey", json_string(z85));
        }
        jset(res, "key_file", json_string(out));
    }
    vl_keyfile_wipe(&k);
    if (rc != VL_OK) {
        json_decref(res);
        return fail(c, EXIT_FAIL, "%s: %s: %s%s", out, vl_err_name(rc),
                    err_detail(rc, saved_errno),
                    rc == VL_ERR_EXISTS ? " (key files are never overwritten)" : "");
    }
    if (!c->json)
        fprintf(stderr, "wrote %s (mode 600, keep it secret); the public part above is what "
                        "the genesis operator needs\n", out);
    return emit(c, res, NULL);
}

/* ---- genesis ---------------------------------------------------------------------- */

/* Split a copy of spec at commas into exactly `want` fields. */
static int split_spec(const vl_ctx *c, const char *opt, const char *spec, char *buf,
                      char **fields, int want, const char *format)
{
    if (strlen(spec) >= MAX_SPEC_LEN)
        return fail(c, EXIT_USAGE, "--%s: longer than %d characters", opt, MAX_SPEC_LEN);
    strcpy(buf, spec);
    int n = 0;
    for (char *p = buf; n <= want; n++) {
        if (n < want)
            fields[n] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL) {
            n++;
            break;
        }
        *comma = '\0';
        p = comma + 1;
    }
    if (n != want)
        return fail(c, EXIT_USAGE, "--%s \"%s\": want %s", opt, spec, format);
    return EXIT_OK;
}

/* Copy text into a fixed field, refusing (not truncating) a long one. */
static int copy_text(const vl_ctx *c, const char *opt, const char *what, char *dst,
                     size_t cap, const char *src)
{
    if (strlen(src) >= cap)
        return fail(c, EXIT_FAIL, "--%s: %s \"%s\" is longer than %zu characters", opt, what,
                    src, cap - 1);
    strcpy(dst, src);
    return EXIT_OK;
}

static int parse_region(const vl_ctx *c, const char *opt, const char *s, uint32_t *region)
{
    uint64_t v;
    if (!parse_uint(s, UINT32_MAX, &v))
        return fail(c, EXIT_USAGE, "--%s: region \"%s\" is not a number", opt, s);
    *region = (uint32_t)v; /* the range is vl_genesis_finish's to check */
    return EXIT_OK;
}

static int add_node(const vl_ctx *c, vl_gen_node *n, const char *spec)
{
    char buf[MAX_SPEC_LEN], *f[6];
    int st = split_spec(c, "node", spec, buf, f, 6,
                        "ID,REGION,KEYFILE_OR_PUBJSON,PEER_EP,CLIENT_EP,voter|observer");
    if (st == EXIT_OK && (st = copy_text(c, "node", "id", n->id, sizeof n->id, f[0])) == 0 &&
        (st = parse_region(c, "node", f[1], &n->region)) == 0 &&
        (st = read_public_key(c, f[2], n->pubkey, n->curve_pubkey)) == 0 &&
        (st = copy_text(c, "node", "peer endpoint", n->peer_endpoint,
                        sizeof n->peer_endpoint, f[3])) == 0 &&
        (st = copy_text(c, "node", "client endpoint", n->client_endpoint,
                        sizeof n->client_endpoint, f[4])) == 0) {
        if (strcmp(f[5], "voter") == 0)
            n->role = VL_ROLE_VOTER;
        else if (strcmp(f[5], "observer") == 0)
            n->role = VL_ROLE_OBSERVER;
        else
            st = fail(c, EXIT_USAGE, "--node \"%s\": role must be voter or observer", spec);
    }
    return st;
}

static int add_issuer(const vl_ctx *c, vl_gen_issuer *is, const char *spec)
{
    char buf[MAX_SPEC_LEN], *f[4];
    int st = split_spec(c, "issuer", spec, buf, f, 4, "ID,REGION,KEYFILE_OR_PUBHEX,BUDGET_FEN");
    if (st == EXIT_OK && (st = copy_text(c, "issuer", "id", is->id, sizeof is->id, f[0])) == 0 &&
        (st = parse_region(c, "issuer", f[1], &is->region)) == 0 &&
        (st = read_public_key(c, f[2], is->pubkey, NULL)) == 0 &&
        !parse_uint(f[3], UINT64_MAX, &is->budget_fen))
        st = fail(c, EXIT_USAGE, "--issuer \"%s\": budget \"%s\" is not a number of fen", spec,
                  f[3]);
    return st;
}

static int add_provider(const vl_ctx *c, vl_gen_provider *p, const char *spec)
{
    char buf[MAX_SPEC_LEN], *f[3];
    int st = split_spec(c, "provider", spec, buf, f, 3, "ID,REGION,KEYFILE_OR_PUBHEX");
    if (st == EXIT_OK && (st = copy_text(c, "provider", "id", p->id, sizeof p->id, f[0])) == 0 &&
        (st = parse_region(c, "provider", f[1], &p->region)) == 0)
        st = read_public_key(c, f[2], p->pubkey, NULL);
    return st;
}

/* Fill g from the options (opts: network, max-faulty, node, issuer,
 * provider) and validate it. */
static int build_genesis(const vl_ctx *c, const vl_opt *opts, vl_genesis *g)
{
    uint64_t f;
    int st = copy_text(c, "network", "name", g->network, sizeof g->network, opts[0].value);
    if (st != EXIT_OK)
        return st;
    if (!parse_uint(opts[1].value, UINT32_MAX, &f))
        return fail(c, EXIT_USAGE, "--max-faulty \"%s\" is not a number", opts[1].value);
    g->max_faulty = (uint32_t)f;
    if (opts[2].count > VL_MAX_NODES || opts[3].count > VL_MAX_ISSUERS ||
        opts[4].count > VL_MAX_PROVIDERS)
        return fail(c, EXIT_FAIL, "at most %d --node, %d --issuer and %d --provider",
                    VL_MAX_NODES, VL_MAX_ISSUERS, VL_MAX_PROVIDERS);
    g->node_count = opts[2].count;
    g->issuer_count = opts[3].count;
    g->provider_count = opts[4].count;
    for (unsigned i = 0; st == EXIT_OK && i < g->node_count; i++)
        st = add_node(c, &g->nodes[i], opts[2].list[i]);
    for (unsigned i = 0; st == EXIT_OK && i < g->issuer_count; i++)
        st = add_issuer(c, &g->issuers[i], opts[3].list[i]);
    for (unsigned i = 0; st == EXIT_OK && i < g->provider_count; i++)
        st = add_provider(c, &g->providers[i], opts[4].list[i]);
    if (st != EXIT_OK)
        return st;
    char err[512] = "";
    vl_err rc = vl_genesis_finish(g, err, sizeof err);
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "%s%s", err[0] != '\0' ? err : vl_strerror(rc),
                    strchr(err, '[') != NULL
                        ? " (list indexes count the --node, --issuer and --provider options "
                          "from 0)"
                        : "");
    return EXIT_OK;
}

static int cmd_genesis(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "network", .kind = OPT_VALUE, .required = true},
                     {.name = "max-faulty", .kind = OPT_VALUE, .required = true},
                     {.name = "node", .kind = OPT_LIST},
                     {.name = "issuer", .kind = OPT_LIST},
                     {.name = "provider", .kind = OPT_LIST},
                     {.name = "out", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = 6};
    int st = parse_args(c, &a, argc, argv);
    vl_genesis *g = st == EXIT_OK ? calloc(1, sizeof *g) : NULL;
    if (st == EXIT_OK && g == NULL)
        st = fail(c, EXIT_FAIL, "out of memory");
    if (st == EXIT_OK)
        st = build_genesis(c, opts, g);
    const char *out = opts[5].value;
    errno = 0;
    vl_err rc = st == EXIT_OK ? vl_genesis_save_file(g, out) : VL_OK;
    if (rc != VL_OK)
        st = fail(c, EXIT_FAIL, "%s: %s: %s", out, vl_err_name(rc), err_detail(rc, errno));
    if (st == EXIT_OK) {
        char hex[65], human[256];
        vl_hex_encode(hex, g->network_id, 32);
        snprintf(human, sizeof human,
                 "wrote %s: network \"%s\", %" PRIu32 " voters, quorum %" PRIu32
                 ", network id %s",
                 out, g->network, g->voter_count, g->quorum, hex);
        json_t *res = jobj();
        jset(res, "network_id", json_string(hex));
        jset(res, "voters", json_integer(g->voter_count));
        jset(res, "quorum", json_integer(g->quorum));
        jset(res, "out", json_string(out));
        st = emit(c, res, human);
    }
    free(g);
    free_args(&a);
    return st;
}

/* ---- inspect ---------------------------------------------------------------------------- */

/* Describe the file's content: a JSON genesis or any wire object. */
static int inspect_content(const vl_ctx *c, vl_insp *in, const char *path, const char *buf,
                           size_t len, json_t **out)
{
    vl_err rc;
    char err[512] = "";
    *out = NULL;
    if (looks_like_json(buf, len)) {
        vl_genesis *g = malloc(sizeof *g);
        rc = g == NULL ? VL_ERR_NOMEM : vl_genesis_load_json(g, buf, len, err, sizeof err);
        if (rc == VL_OK)
            *out = genesis_json(g, "json");
        free(g);
    } else {
        *out = describe(in, (const uint8_t *)buf, len, &rc);
    }
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "%s: %s: %s", path, vl_err_name(rc),
                    err[0] != '\0' ? err : vl_strerror(rc));
    return EXIT_OK;
}

static int cmd_inspect(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "genesis", .kind = OPT_VALUE}};
    vl_args a = {.opts = opts, .opt_count = 1, .max_pos = 1, .pos_name = "FILE"};
    int st = parse_args(c, &a, argc, argv);
    free_args(&a);
    if (st != EXIT_OK)
        return st;
    vl_genesis *g = NULL;
    char *buf = NULL;
    size_t len = 0;
    json_t *res = NULL;
    vl_insp in = {.first_fail = VL_OK};
    if (opts[0].value != NULL && (st = load_genesis(c, opts[0].value, &g)) == EXIT_OK) {
        in.g = g;
        in.cache = vl_sigcache_new(INSPECT_CACHE_ENTRIES); /* NULL is allowed */
    }
    if (st == EXIT_OK)
        st = read_file(c, a.pos[0], VL_MAX_MSG_BYTES, &buf, &len);
    if (st == EXIT_OK)
        st = inspect_content(c, &in, a.pos[0], buf, len, &res);
    if (st == EXIT_OK) {
        /* containers (entries, messages) get a summary of what they hold */
        bool unsigned_only = in.first_fail == VL_OK && in.unsigned_slots[0] != '\0';
        if (in.verified_any && json_object_get(res, "verified") == NULL) {
            if (unsigned_only)
                put_unsigned(&in, res, in.unsigned_slots);
            else
                put_verified(&in, res, in.first_fail);
        }
        st = emit(c, res, NULL);
        if (st == EXIT_OK && in.first_fail != VL_OK)
            st = fail(c, EXIT_FAIL, "%s: verification failed: %s: %s", a.pos[0],
                      vl_err_name(in.first_fail),
                      in.first_message[0] != '\0' ? in.first_message
                                                   : vl_strerror(in.first_fail));
        else if (st == EXIT_OK && unsigned_only)
            st = fail(c, EXIT_FAIL, "%s: not signed yet: empty signature slot(s): %s",
                      a.pos[0], in.unsigned_slots);
    }
    vl_sigcache_destroy(&in.cache);
    free(buf);
    free(g);
    return st;
}

/* ---- sign-demo ---------------------------------------------------------------------------- */

/* The demo REDEEM order, signed by holder then provider. */
static int build_demo_order(const vl_ctx *c, const vl_genesis *g, const uint8_t issuer[32],
                            const vl_keyfile *holder, const vl_keyfile *provider, vl_order *o)
{
    vl_orderkit_redeem r = {.serial = DEMO_SERIAL, .seq = DEMO_SEQ,
                            .amount_fen = DEMO_AMOUNT_FEN,
                            .gpu_milli_hours = DEMO_GPU_MILLI_HOURS};
    memcpy(r.issuer, issuer, 32);
    memcpy(r.holder, holder->sign.pubkey, 32);
    memcpy(r.provider, provider->sign.pubkey, 32);
    /* a real invoice hash is the hash of the provider's invoice: any 32 bytes */
    if (vl_random(r.invoice_hash, 32) != VL_OK)
        return fail(c, EXIT_FAIL, "%s", vl_strerror(VL_ERR_RANDOM));
    int st = order_built(c, vl_orderkit_redeem_build(o, g, &r));
    if (st == EXIT_OK && (st = order_built(c, vl_orderkit_sign(o, 0, &holder->sign))) == EXIT_OK)
        st = order_built(c, vl_orderkit_sign(o, 1, &provider->sign));
    if (st != EXIT_OK)
        return st;
    uint8_t hash[32];
    vl_order_hash(hash, o);
    vl_err rc = vl_order_verify(g, o, hash);
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "the signed order does not verify: %s: %s", vl_err_name(rc),
                    vl_strerror(rc));
    return EXIT_OK;
}

/* Encode o, write it to path and print what was written. */
static int write_demo_order(vl_ctx *c, const vl_order *o, const char *path)
{
    size_t len = 0;
    uint8_t *buf = NULL;
    vl_err rc = vl_orderkit_encode(o, &buf, &len);
    int st = rc != VL_OK ? fail(c, EXIT_FAIL, "encoding the order: %s", vl_err_name(rc))
                         : write_file(c, path, buf, len);
    free(buf);
    if (st != EXIT_OK)
        return st;
    uint8_t hash[32], account[32];
    char hex[65], human[256];
    vl_order_hash(hash, o);
    vl_order_account(account, o);
    vl_hex_encode(hex, hash, 32);
    snprintf(human, sizeof human,
             "wrote %s: REDEEM of %d fen from voucher %d, signed by holder and provider; "
             "order hash %s", path, DEMO_AMOUNT_FEN, DEMO_SERIAL, hex);
    json_t *res = jobj();
    jset(res, "out", json_string(path));
    jset(res, "kind", json_string("redeem"));
    jset(res, "network_id", jhex(o->network_id, 32));
    jset(res, "account_id", jhex(account, 32));
    jset(res, "seq", ju64(o->seq));
    jset(res, "serial", ju64(o->serial));
    jset(res, "amount_fen", ju64(o->amount_fen));
    jset(res, "order_hash", json_string(hex));
    return emit(c, res, human);
}

/* Keys and membership: the issuer and provider must be in the genesis. */
static int load_demo_keys(const vl_ctx *c, const vl_opt *opts, const vl_genesis *g,
                          uint8_t issuer[32], vl_keyfile *holder, vl_keyfile *provider)
{
    int st = read_public_key(c, opts[1].value, issuer, NULL);
    if (st == EXIT_OK && vl_genesis_issuer_by_pubkey(g, issuer) < 0)
        st = fail(c, EXIT_FAIL, "%s: not an issuer of network \"%s\"", opts[1].value,
                  g->network);
    if (st == EXIT_OK)
        st = load_keyfile(c, opts[2].value, holder);
    if (st == EXIT_OK)
        st = load_keyfile(c, opts[3].value, provider);
    if (st == EXIT_OK && vl_genesis_provider_by_pubkey(g, provider->sign.pubkey) < 0)
        st = fail(c, EXIT_FAIL, "%s: not a provider of network \"%s\"", opts[3].value,
                  g->network);
    return st;
}

static int cmd_sign_demo(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "genesis", .kind = OPT_VALUE, .required = true},
                     {.name = "issuer-key", .kind = OPT_VALUE, .required = true},
                     {.name = "holder-key", .kind = OPT_VALUE, .required = true},
                     {.name = "provider-key", .kind = OPT_VALUE, .required = true},
                     {.name = "out", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = 5};
    int st = parse_args(c, &a, argc, argv);
    free_args(&a);
    if (st != EXIT_OK)
        return st;
    vl_genesis *g = NULL;
    vl_order *o = malloc(sizeof *o);
    vl_keyfile holder, provider;
    uint8_t issuer[32];
    memset(&holder, 0, sizeof holder);
    memset(&provider, 0, sizeof provider);
    st = o == NULL ? fail(c, EXIT_FAIL, "out of memory") : load_genesis(c, opts[0].value, &g);
    if (st == EXIT_OK)
        st = load_demo_keys(c, opts, g, issuer, &holder, &provider);
    if (st == EXIT_OK)
        st = build_demo_order(c, g, issuer, &holder, &provider, o);
    vl_keyfile_wipe(&holder);
    vl_keyfile_wipe(&provider);
    if (st == EXIT_OK)
        st = write_demo_order(c, o, opts[4].value);
    free(o);
    free(g);
    return st;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *synopsis;
    const char *help; /* what it does, and the meaning of its arguments */
    int (*run)(vl_ctx *c, int argc, char **argv);
} vl_command;

static const vl_command commands[] = {
    {"keygen", "--out FILE [--node]",
     "Make a new key file (mode 600, never overwritten) and print its public keys as\n"
     "JSON. --node adds the CURVE pair a node needs for its peer links. Give the printed\n"
     "JSON (not the key file) to the genesis operator.",
     cmd_keygen},
    {"genesis",
     "--network NAME --max-faulty F\n"
     "        [--node ID,REGION,KEYFILE_OR_PUBJSON,PEER_EP,CLIENT_EP,voter|observer]...\n"
     "        [--issuer ID,REGION,KEYFILE_OR_PUBHEX,BUDGET_FEN]...\n"
     "        [--provider ID,REGION,KEYFILE_OR_PUBHEX]... --out FILE",
     "Assemble, validate and write a genesis from the members' PUBLIC keys. A key is a\n"
     "key file (only its public part is read), the JSON `keygen` printed, or (issuers\n"
     "and providers) 64 hex digits. REGION is a 6-digit division code (310000\n"
     "Shanghai); BUDGET_FEN is in fen (0.01 CNY). Prints the network id and quorum.",
     cmd_genesis},
    {"inspect", "FILE [--genesis GENESIS]",
     "Print a wire object (order, cert, entry, checkpoint, account, batch vote, any\n"
     "message, binary genesis) or a JSON genesis as JSON, with derived hashes. With\n"
     "--genesis, also verify signatures and membership (\"verified\"); exits 1 if the\n"
     "file does not decode or does not verify.",
     cmd_inspect},
    {"sign-demo", "--genesis G --issuer-key K --holder-key H --provider-key P --out FILE",
     "Write a sample REDEEM order (voucher serial 1 of the issuer, seq 0, 100000 fen),\n"
     "signed by the holder and the provider key files, for the network of G. The\n"
     "issuer key may be public (key file, keygen JSON or hex).",
     cmd_sign_demo},
    {"issue",
     "(--genesis G | --devnet DIR) --issuer-key K --holder PUBKEY --value-fen V [--count N] [--serial S]\n"
     "        [--valid-from UNIX] [--valid-until UNIX] [--subsidy-bp BP] [--program LABEL]\n"
     "        [--seq N] [--cert-out FILE] [--no-slot-guard] [NET]",
     "Issue N vouchers (one ISSUE order at the issuer account's next seq), signed with the\n"
     "issuer key file, and wait for the certificate. Defaults: serials seq*1000000+1..,\n"
     "valid from 00:00 UTC today for 365 days, subsidy 8000 bp. Prints the certificate\n"
     "and the new voucher ids. The issuer's slot guard (K.slots/) applies.",
     cmd_issue},
    {"redeem",
     "(--genesis G | --devnet DIR) --voucher ID --amount-fen A --holder-key K --provider-key K\n"
     "        [--invoice-hash HEX] [--gpu-hours H] [--no-slot-guard] [--cert-out FILE]\n"
     "        [--issuer ISSUER --serial S --seq N] [NET]",
     "Redeem A fen of voucher ID (its account id in hex) at its next seq, signed by the\n"
     "holder and the provider. SLOT GUARD: the signed order is recorded in\n"
     "<holder-key>.slots/ before it is sent; a retry of the same redemption resubmits\n"
     "the recorded bytes, a different one for the same slot is refused (SLOT_GUARD).\n"
     "Without --invoice-hash a deterministic one is derived. --issuer/--serial/--seq\n"
     "skip the state query.",
     cmd_redeem},
    {"build-redeem",
     "(--genesis G | --devnet DIR) --voucher ID --amount-fen A --provider PUBKEY --out FILE [--holder PUBKEY]\n"
     "        [--invoice-hash HEX] [--gpu-hours H] [--issuer ISSUER --serial S --seq N] [NET]",
     "Write an UNSIGNED redemption order (for `sign` by the holder and the provider on\n"
     "their own machines, then `submit`).",
     cmd_build_redeem},
    {"sign", "--genesis G --key K --slot holder|provider|issuer --in FILE --out FILE [--no-slot-guard]",
     "Add one signature to an order file. The holder and issuer slots use the slot guard\n"
     "(K.slots/): a key never signs two different orders for one (account, seq).",
     cmd_sign},
    {"submit", "(--genesis G | --devnet DIR) --in FILE [--cert-out FILE] [NET]",
     "Submit a signed order (the same bytes to the next node on a timeout) and print the\n"
     "certificate after verifying it against the genesis.",
     cmd_submit},
    {"revoke", "(--genesis G | --devnet DIR) --voucher ID --issuer-key K [--reason TEXT] [--cert-out FILE] [NET]",
     "Revoke a voucher; its remaining value returns to the issuer's budget.",
     cmd_revoke},
    {"query", "(--genesis G | --devnet DIR) (--voucher ID | --issuer ID_OR_PUBKEY)\n"
              "        [--from-seq S] [--count N] [NET]",
     "Print an account's state and its certificates, each verified against the genesis:\n"
     "all of them, or N from seq S (an issuer's ISSUEs can be many).",
     cmd_query},
    {"status", "(--genesis G | --devnet DIR) [NET]",
     "Each node's id, role, log length, state digest, last checkpoint (verified), peers,\n"
     "pending locks and whether it reaches a quorum. Exit 1 if some node did not answer,\n"
     "3 if none did.",
     cmd_status},
    {"log", "(--genesis G | --devnet DIR) [--from N] [--max M] [NET]\n"
            "        | --export FILE [--data-dir DIR] (--genesis G | --devnet DIR) [NET]",
     "Entries of the first node's log (1 is the first), each with its hash and its\n"
     "certificate, verified. --export FILE writes the whole log and the node's latest\n"
     "checkpoint (from --data-dir DIR, a stopped node's: also its locks without a\n"
     "certificate) to a new FILE for voucher-reconcile --log (docs/reconcile.md).",
     cmd_log},
    {"devnet", "up|down|status|demo --dir DIR [--voters N] [--observers N] [--base-port P]\n"
               "        [--voucherd PATH] [--verify-threads N]",
     "A local network of real voucherd processes on 127.0.0.1 (docs/devnet.md).\n"
     "  up --dir DIR [--voters 4] [--observers 0] [--base-port 7700] [--voucherd PATH]\n"
     "     [--verify-threads N]\n"
     "     Make keys (nodes; the issuers Beijing, Shanghai, Henan, Shandong, Chengdu,\n"
     "     Shenzhen, Ningbo; the data centers Guizhou, Ningxia, Inner Mongolia, Gansu;\n"
     "     holders firm1..3) and a genesis in DIR (new or empty), start one detached\n"
     "     voucherd per node (node i: peer port P+2i-2, client port P+2i-1) and return\n"
     "     once every node is ready. On a stopped devnet, restart the same nodes on\n"
     "     their data. Refused while it runs. Writes DIR/devnet.json. --verify-threads N\n"
     "     puts verify_threads N in every new node's config.json (docs/voucherd.md).\n"
     "  down --dir DIR     SIGTERM every node (SIGKILL after 20 s); again: no-op.\n"
     "  status --dir DIR   each node's pid, log length, peers and state digest.\n"
     "  demo --dir DIR     the sample scenario (issue, redeem in two provinces, an\n"
     "     overspend refused, a double spend caught with its proof, the same state\n"
     "     everywhere); exit 0 only if everything happened as expected.\n"
     "voucherd: --voucherd, else $VOUCHERD, else beside voucherctl (or ../node/ in a\n"
     "build tree), else $PATH. Other network commands take --devnet DIR.",
     cmd_devnet},
    {"verify-log", "(--genesis G | --devnet DIR) [--data-dir DIR] [NET]",
     "Pull the first node's whole log (or read a stopped node's LMDB data directory,\n"
     "read-only) and check the hash chain from the network id and every certificate.\n"
     "Exit 1 naming the first entry that fails.",
     cmd_verify_log},
    {"backup", "--data-dir DIR --out BACKUP_DIR --genesis G [--cold]",
     "A consistent copy of a node's LMDB data directory while the node runs (compacted,\n"
     "fsynced, into a new or empty directory), then verified: the network and node of\n"
     "the genesis, the log's hash chain and every certificate, the stored head and state\n"
     "digest. Prints the head. A copy made holding the stopped node's lock is recorded\n"
     "as COLD (--cold: refuse unless the node is stopped). Exit 1 when anything fails\n"
     "(docs/operations.md 7).",
     cmd_backup},
    {"restore", "--backup BACKUP_DIR --data-dir DIR --genesis G --key NODE_KEY [--move]",
     "Verify a backup, copy it into a new (absent or empty) data directory of the same\n"
     "node (--key: that node's key file) and mark it so the node comes back as an\n"
     "OBSERVER: it may have forgotten votes cast after the backup, so it never votes\n"
     "again under this key (a new key needs a new genesis; docs/operations.md 7).\n"
     "--move: only a COLD backup; the node continues as the same voter (operations.md 7).",
     cmd_restore},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fprintf(f, "usage: voucherctl COMMAND [options] [--json]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %s %s\n", commands[i].name, commands[i].synopsis);
    fprintf(f, "\nNET: [--node ENDPOINT]... (default: every client_endpoint of the genesis, in"
               "\norder) [--timeout-ms MS] (per node, default %u) [--devnet DIR] (fills --genesis"
               "\nand the --node list from DIR/devnet.json; explicit ones win).\n",
            NET_DEFAULT_TIMEOUT_MS);
    fprintf(f, "\n--json prints machine-readable JSON on one line. Exit status: 0 ok, 1 failed"
               "\nor refused by the network, 2 usage error, 3 no node could be reached."
               "\n`voucherctl COMMAND --help` explains a command.\n");
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    /* A walk of the data file, started by this program (vl_check.c note 5). */
    if (argc > 1 && strcmp(argv[1], VL_CHECK_CHILD_ARG) == 0)
        return vl_store_check_child_main(argc, argv);
    vl_store_check_exec("/proc/self/exe", "voucherctl");
    vl_ctx c = {.cmd = "", .json = false};
    int first = 1;
    for (; first < argc && strcmp(argv[first], "--json") == 0; first++)
        c.json = true;
    if (first >= argc || wants_help(1, argv + first)) {
        print_usage(first >= argc ? stderr : stdout);
        return first >= argc ? EXIT_USAGE : EXIT_OK;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(argv[first], commands[i].name) != 0)
            continue;
        c.cmd = commands[i].name;
        if (wants_help(argc - first - 1, argv + first + 1)) {
            printf("usage: voucherctl %s %s\n\n%s\n", commands[i].name, commands[i].synopsis,
                   commands[i].help);
            return EXIT_OK;
        }
        return commands[i].run(&c, argc - first - 1, argv + first + 1);
    }
    fprintf(stderr, "voucherctl: unknown command \"%s\"\n", argv[first]);
    print_usage(stderr);
    return EXIT_USAGE;
}
