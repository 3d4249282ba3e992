/* ctl.h - what the source files of voucherctl share: the command context,
 * the option parser, JSON output helpers, file and key loading (ctl_common.c),
 * the describers of wire objects (ctl_describe.c), the signing under the slot
 * guard shared by the commands and the devnet demo (ctl_orders.c; orders are
 * built by vl_orderkit.h of the client library), devnet.json
 * (ctl_devnet.c), and the commands of each group (voucherctl.c: keys,
 * genesis, inspect, sign-demo; ctl_orders.c: issue, redeem, build-redeem,
 * sign, submit, revoke; ctl_read.c: query, status, log, verify-log;
 * ctl_devnet.c: devnet up, down, status, demo; ctl_backup.c: backup,
 * restore).  Internal to the tool: not
 * an installed API.
 */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_limits.h"
#include "vl_orderkit.h"
#include "vl_verify.h"
#include "vl_wire.h"

/* Exit status (voucherctl.c note 2). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* Largest key file or public-key JSON read (a key file is ~300 bytes). */
#define MAX_KEY_JSON_BYTES (64u * 1024u)
/* Largest genesis read (a maximal JSON genesis is ~400 KiB, binary less). */
#define MAX_GENESIS_BYTES (4u << 20)
/* Longest --node/--issuer/--provider specification. */
#define MAX_SPEC_LEN 1024
/* Entries remembered by a signature cache (one per voter and root). */
#define INSPECT_CACHE_ENTRIES 4096

typedef struct {
    const char *cmd; /* the subcommand, for messages */
    bool json;       /* --json: compact machine output */
} vl_ctx;

/* ---- ctl_common.c ---------------------------------------------------------- */

typedef enum { OPT_FLAG, OPT_VALUE, OPT_LIST } vl_opt_kind;

typedef struct {
    const char *name; /* without the leading "--" */
    vl_opt_kind kind;
    bool required;
    const char *unless; /* required, unless this other option is given (may be NULL) */
    /* results */
    bool set;           /* OPT_FLAG */
    const char *value;  /* OPT_VALUE; NULL when absent */
    const char **list;  /* OPT_LIST, in command-line order (heap) */
    unsigned count;
} vl_opt;

typedef struct {
    vl_opt *opts;
    size_t opt_count;
    size_t max_pos; /* positional arguments required (and allowed) */
    const char *pos_name; /* their name in messages, e.g. "FILE" */
    size_t pos_count;
    const char *pos[2];
} vl_args;

/* Print "voucherctl CMD: message" to stderr and return status. */
__attribute__((format(printf, 3, 4))) int fail(const vl_ctx *c, int status, const char *fmt,
                                               ...);
/* errno's text after a failed VL_ERR_IO call, else the error's own text. */
const char *err_detail(vl_err rc, int saved_errno);
/* "--name value", "--name=value", flags, --json and positionals; EXIT_*. */
int parse_args(vl_ctx *c, vl_args *a, int argc, char **argv);
void free_args(vl_args *a);
/* A decimal number 0..max, digits only. */
bool parse_uint(const char *s, uint64_t max, uint64_t *out);

/* A JSON value could not be built: the command fails instead of printing
 * half a result (voucherctl.c note 3). */
extern bool ctl_oom;
void jset(json_t *obj, const char *key, json_t *v);
void jappend(json_t *arr, json_t *v);
json_t *jobj(void);
json_t *jarr(void);
json_t *jhex(const uint8_t *bytes, size_t len);
json_t *ju64(uint64_t v);
json_t *jtext(vl_bytes b);
/* Print result (taken) and return EXIT_OK, or fail.  human, when not NULL,
 * replaces the indented JSON for people. */
int emit(const vl_ctx *c, json_t *result, const char *human);

/* Read a whole regular file of at most max bytes (NUL-terminated copy). */
int read_file(const vl_ctx *c, const char *path, size_t max, char **out, size_t *len);
/* Write a new file (replacing path atomically: temp file, fsync, rename). */
int write_file(const vl_ctx *c, const char *path, const uint8_t *data, size_t len);
bool looks_like_json(const char *buf, size_t len);
/* A genesis in either form: JSON (as written by `genesis`) or binary. */
int load_genesis(const vl_ctx *c, const char *path, vl_genesis **out);
/* src is 64 hex digits (when no CURVE key is needed), a key file or the
 * JSON keygen printed; only the public part is kept. */
int read_public_key(const vl_ctx *c, const char *src, uint8_t pub[32], uint8_t *curve);
/* Load a key file with its secret (mode checked by vl_keyfile_load). */
int load_keyfile(const vl_ctx *c, const char *path, vl_keyfile *k);

/* ---- ctl_describe.c ---------------------------------------------------------- */

typedef struct {
    unsigned value;
    const char *name;
} vl_name;

const char *name_of(const vl_name *t, size_t n, unsigned value);
#define NAME_OF(table, v) name_of((table), sizeof(table) / sizeof((table)[0]), (v))

typedef struct {
    const vl_genesis *g; /* NULL: describe only, verify nothing */
    vl_sigcache *cache;  /* may be NULL */
    bool verified_any;   /* some object was verified */
    vl_err first_fail;   /* first verification failure, VL_OK if none */
    /* the empty signature slots ("holder, provider") of the first order
     * whose filled slots verify but that is not signed yet: it does not
     * verify either (exit 1), but is no failure (first_fail) */
    char unsigned_slots[64];
    /* the first failure's own words when they say more than its code's
     * (which signature of a half-signed order fails); "" otherwise */
    char first_message[160];
} vl_insp;

/* Any wire object as JSON: dispatch on its type byte.  NULL with *rc set
 * when it (or something nested in it) does not decode. */
json_t *describe(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc);
/* Record a verification result in obj as {"ok", "error", "message"}, and
 * in in->first_fail if it is the first failure. */
void put_verified(vl_insp *in, json_t *obj, vl_err rc);
/* Record in obj the verdict "unsigned", naming the empty slots. */
void put_unsigned(vl_insp *in, json_t *obj, const char *slots);
json_t *order_json(vl_insp *in, const vl_order *o, bool verify);
/* Who signs slot `slot` of o: "issuer", "holder" or "provider". */
const char *order_slot_name(const vl_order *o, unsigned slot);
json_t *cert_json(vl_insp *in, const vl_cert *c, const uint8_t *raw, size_t len);
json_t *status_json(const vl_status *s);
json_t *genesis_json(const vl_genesis *g, const char *form);

/* ---- ctl_net.c: what the network commands share --------------------------------- */

struct vl_client;

/* The options every network command starts its table with, at these indexes.
 * --genesis is required unless --devnet DIR gives it. */
#define NET_OPTS                                                                         \
    {.name = "genesis", .kind = OPT_VALUE, .required = true, .unless = "devnet"},       \
        {.name = "node", .kind = OPT_LIST}, {.name = "timeout-ms", .kind = OPT_VALUE},  \
        {.name = "devnet", .kind = OPT_VALUE}
enum { O_GENESIS, O_NODE, O_TIMEOUT, O_DEVNET, O_NET_END };
/* Default wait for one node's reply; a SUBMIT waits for a quorum, and a
 * node's own answer comes at its client_timeout_ms (vl_client.h). */
#define NET_DEFAULT_TIMEOUT_MS 6000u /* VL_CLIENT_DEFAULT_TIMEOUT_MS, checked in ctl_net.c */

typedef struct {
    vl_genesis *g;
    struct vl_client *cl;
} ctl_net;

/* Load the genesis and make a client for --node (default: every node).
 * --devnet DIR fills --genesis and the --node list (every client endpoint,
 * node1 first) from DIR/devnet.json; an explicit --genesis or --node wins.
 * EXIT_USAGE without --genesis and --devnet. */
int net_open(const vl_ctx *c, const vl_opt *opts, ctl_net *n);
void net_close(ctl_net *n);
/* The JSON name of an error code (CONFLICT, INSUFFICIENT_BALANCE, ...) and
 * the precise one (OVERSPEND). */
const char *net_code_name(int code, bool has_cert);
const char *net_detail_name(int code);
/* Report a refusal or failure of the network: {"error": {...}} on stdout
 * with --json, one line on stderr always.  Returns EXIT_UNREACHABLE when
 * nobody answered (answered == 0), else EXIT_FAIL.  evidence may be NULL. */
int net_refused(const vl_ctx *c, const vl_genesis *g, int code, bool answered,
                const char *message, const uint8_t *evidence, size_t evidence_len);
/* The same for any error: name, detail and number (0: none) as above. */
int report_error(const vl_ctx *c, const vl_genesis *g, int status, const char *name,
                 const char *detail, int number, const char *text, const uint8_t *evidence,
                 size_t evidence_len);
/* A short summary of a (verified) certificate: kind, account, seq, hashes,
 * voters, the order's main fields, "verified": ok. */
json_t *cert_summary(const vl_genesis *g, const uint8_t *raw, size_t len, vl_err verified);
/* Parse 64 hex digits into out; EXIT_USAGE naming the option otherwise. */
int parse_hex32(const vl_ctx *c, const char *opt, const char *s, uint8_t out[32]);

/* ---- ctl_orders.c: orders for the commands and the devnet demo ----------------------------
 * Orders are built, signed and encoded by vl_orderkit.h (the client
 * library's); what is here is the tool's part: the state a command acts on,
 * the slot guard, and the reporting of errors. */

/* A voucher and the slot (its next seq) to act on.  id is always
 * vl_voucher_account_id(issuer, serial). */
typedef struct {
    uint8_t id[32];
    uint8_t issuer[32];
    uint64_t serial;
    uint64_t seq;
    uint8_t holder[32];
    bool have_holder;
    /* the state as a node served it (voucher_fetch), for the checks made
     * before anything is signed; have_state false offline (--seq) */
    bool have_state;
    uint8_t status; /* vl_voucher_status */
    uint64_t remaining_fen;
    int endpoint; /* the node that served it */
} voucher_ref;

/* EXIT_OK when a vl_orderkit call returned VL_OK; else reported as
 * voucherctl always has ("the order cannot be encoded"): EXIT_FAIL for
 * VL_ERR_NOMEM and VL_ERR_RANDOM, EXIT_USAGE for an order the options made
 * invalid. */
int order_built(const vl_ctx *c, vl_err e);
/* The voucher id's state from the network: issuer, serial, holder, next seq.
 * EXIT_OK or the reported failure (v is then zeroed but for the id). */
int voucher_fetch(const vl_ctx *c, ctl_net *n, const uint8_t id[32], voucher_ref *v);
/* The issuer account's next seq (0 before its first ISSUE); a seq over
 * VL_ORDERKIT_MAX_DEFAULT_SEQ is reported (no default serials). */
int issuer_next_seq(const vl_ctx *c, ctl_net *n, const uint8_t issuer[32], uint64_t *seq);
/* The REDEEM of v at v->seq for vl_orderkit_redeem_build, with the derived
 * invoice hash (vl_orderkit_derived_invoice: a retry rebuilds the same
 * order); a caller with the provider's invoice overwrites invoice_hash. */
void redeem_params(vl_orderkit_redeem *r, const voucher_ref *v, const uint8_t holder[32],
                   const uint8_t provider[32], uint64_t amount_fen, uint64_t gpu_milli_hours);
/* The bytes to submit for REDEEM o (as a vl_orderkit builder or
 * vl_order_decode made it): signed by holder and provider, under the slot
 * guard of guard_key_path (the holder's key file; NULL: no guard, for a
 * cheating holder).  When the guard holds the same order for the slot its
 * recorded bytes come back (*reused) and o becomes that order.  *raw is the
 * caller's to free.  EXIT_OK or the reported failure (SLOT_GUARD). */
int redeem_sign(const vl_ctx *c, const vl_genesis *g, const char *guard_key_path, vl_order *o,
                const vl_keyfile *holder, const vl_keyfile *provider, uint8_t **raw,
                size_t *len, bool *reused);
/* The same for an ISSUE or REVOKE signed by the issuer key k (its file at
 * key_path), guarded when guard. */
int issuer_sign(const vl_ctx *c, const vl_genesis *g, const char *key_path, const vl_keyfile *k,
                vl_order *o, bool guard, uint8_t **raw, size_t *len, bool *reused);

/* ---- ctl_devnet.c: devnet.json (docs/devnet.md) --------------------------------------- */

#define DEVNET_FILE "devnet.json"
/* Longest path written to or read from devnet.json (they are absolute). */
#define DEVNET_MAX_PATH 1024
/* Largest devnet.json read (a maximal one is under 200 KiB). */
#define DEVNET_MAX_JSON_BYTES (1u << 20)
#define DEVNET_MAX_HOLDERS 16
#define DEVNET_MAX_MEMBERS 16 /* issuers, providers */

typedef struct {
    char id[VL_MAX_ID_LEN + 1];
    bool voter;
    uint32_t region;
    char peer_endpoint[VL_MAX_ENDPOINT_LEN + 1];
    char client_endpoint[VL_MAX_ENDPOINT_LEN + 1];
    long long pid; /* 0: not started by `devnet up` (or stopped by down) */
    char config[DEVNET_MAX_PATH];
    char log[DEVNET_MAX_PATH];
    char data_dir[DEVNET_MAX_PATH];
    char key_file[DEVNET_MAX_PATH];
} devnet_node;

/* An issuer, a provider or a holder (no name, region or budget). */
typedef struct {
    char id[VL_MAX_ID_LEN + 1];
    char name[VL_MAX_ID_LEN + 1];
    uint32_t region;
    uint64_t budget_fen;
    uint8_t pubkey[32];
    char key_file[DEVNET_MAX_PATH];
} devnet_member;

typedef struct {
    char dir[DEVNET_MAX_PATH]; /* absolute */
    char genesis[DEVNET_MAX_PATH];
    uint32_t base_port, voters, observers, node_count;
    /* up --verify-threads for new nodes' config.json; a zeroed devnet (one
     * loaded from devnet.json) writes none */
    bool verify_threads_set;
    uint32_t verify_threads;
    devnet_node nodes[VL_MAX_NODES]; /* node1.. in order: voters, then observers */
    uint32_t issuer_count, provider_count, holder_count;
    devnet_member issuers[DEVNET_MAX_MEMBERS];
    devnet_member providers[DEVNET_MAX_MEMBERS];
    devnet_member holders[DEVNET_MAX_HOLDERS];
} devnet;

/* Read and check DIR/devnet.json into *out (heap, about 400 KiB; the
 * caller frees it).  EXIT_OK, or EXIT_FAIL reported (no such file, not the
 * documented shape: the message names the member). */
int devnet_load(const vl_ctx *c, const char *dir, devnet **out);
/* Whether n's pid is alive and is its voucherd (ctl_devnet.c note 4). */
bool devnet_node_running(const devnet_node *n);
/* The name of a devnet region ("Shanghai", "Inner Mongolia"; "?" if none). */
const char *devnet_region_name(uint32_t region);
/* CLOCK_MONOTONIC in milliseconds, and a sleep that resumes after signals. */
uint64_t devnet_now_ms(void);
void devnet_sleep_ms(unsigned ms);
/* `devnet demo` (ctl_demo.c). */
int devnet_demo(vl_ctx *c, int argc, char **argv);

/* ---- ctl_read.c: one node's log from its LMDB data directory (verify-log, backup) ---- */

struct MDB_env;

/* The hash chain of one node's log, checked entry by entry from the
 * network id, every certificate verified against g. */
typedef struct {
    const vl_genesis *g;
    vl_sigcache *cache;       /* owned; may be NULL (no cache) */
    uint64_t next;            /* index expected next: entries checked + 1 */
    uint8_t prev[32];         /* hash of the last entry checked (network id at first) */
    uint8_t buckets[256][32]; /* state digest buckets recomputed (ctl_read.c note 4) */
    uint64_t kinds[4];        /* certificates by order kind */
    uint64_t issued_fen, redeemed_fen;
    uint64_t bad_index;       /* 0: no failure; else the entry that failed */
    vl_err bad;               /* why it failed */
    bool checked;             /* every table was walked first (ctl_data_check) */
    uint64_t checked_records; /* records of all tables it read */
} log_chain;

void log_chain_init(log_chain *ch, const vl_genesis *g);
void log_chain_free(log_chain *ch);
/* The state digest of the entries checked so far. */
void log_chain_digest(const log_chain *ch, uint8_t out[32]);
/* Open DIR's LMDB environment read-only (*env: the caller closes it with
 * mdb_env_close).  private_copy: MDB_NOLOCK, for a copy nobody writes (a
 * backup); otherwise it shares DIR's lock file with a node that may run.
 * EXIT_OK, or EXIT_FAIL reported (no data.mdb: "not a node data
 * directory"; LMDB's reason) with *env NULL. */
int ctl_env_open(const vl_ctx *c, const char *dir, bool private_copy, struct MDB_env **env);
/* Walk env's `log` in one read transaction (a consistent snapshot) through
 * ch.  EXIT_OK when the log could be read, even if an entry failed (then
 * ch->bad_index != 0); EXIT_FAIL reported when LMDB fails.  dir names the
 * directory in messages. */
int log_chain_walk(const vl_ctx *c, struct MDB_env *env, const char *dir, log_chain *ch);
/* DIR's meta (env open on it) names g's network and one of its nodes with
 * that node's key (ctl_backup.c).  EXIT_OK, or EXIT_FAIL reported ("DIR
 * belongs to network X..., not to this genesis"). */
int ctl_dir_belongs(const vl_ctx *c, struct MDB_env *env, const char *dir, const vl_genesis *g);
/* Walk every record of every table of DIR's data file in a child process
 * (consensus/vl_check.c; private_copy as for ctl_env_open).  EXIT_OK (ch,
 * unless NULL, gets the count; no data.mdb is left for ctl_env_open to
 * report), or
 * EXIT_FAIL reported: "the data file is damaged: ..." with where and how. */
int ctl_data_check(const vl_ctx *c, const char *dir, bool private_copy, log_chain *ch);
/* ctl_data_check + ctl_env_open + log_chain_walk + close: what verify-log
 * --data-dir does. */
int verify_log_dir(const vl_ctx *c, const char *dir, bool private_copy, log_chain *ch);

/* ---- command groups ------------------------------------------------------------ */

int cmd_issue(vl_ctx *c, int argc, char **argv);
int cmd_redeem(vl_ctx *c, int argc, char **argv);
int cmd_build_redeem(vl_ctx *c, int argc, char **argv);
int cmd_sign(vl_ctx *c, int argc, char **argv);
int cmd_submit(vl_ctx *c, int argc, char **argv);
int cmd_revoke(vl_ctx *c, int argc, char **argv);
int cmd_query(vl_ctx *c, int argc, char **argv);
int cmd_status(vl_ctx *c, int argc, char **argv);
int cmd_log(vl_ctx *c, int argc, char **argv);
int cmd_verify_log(vl_ctx *c, int argc, char **argv);
int cmd_devnet(vl_ctx *c, int argc, char **argv);
int cmd_backup(vl_ctx *c, int argc, char **argv);
int cmd_restore(vl_ctx *c, int argc, char **argv);

#endif
