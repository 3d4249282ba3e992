/* vl_genesis.h - the genesis: who the nodes, issuers and providers of a
 * network are, loaded from JSON, validated, and encoded canonically.
 *
 * network_id = tagged_hash(genesis, canonical binary encoding).  Canonical
 * order is by id (bytewise ascending) within each list; a node's index in
 * that order is how votes, checkpoints and messages name it.
 *
 * JSON form (what `voucherctl genesis` writes; docs/protocol.md has it all):
 *   { "network": "cn-compute-vouchers-2026", "max_faulty": 1,
 *     "nodes": [ { "id": "sh-node", "region": 310000,
 *                  "pubkey": "<64 hex>", "curve_pubkey": "<40 Z85>",
 *                  "peer_endpoint": "tcp://127.0.0.1:7001",
 *                  "client_endpoint": "tcp://127.0.0.1:7101",
 *                  "role": "voter" | "observer" }, ... ],
 *     "issuers": [ { "id": "shanghai", "region": 310000, "pubkey": "<hex>",
 *                    "budget_fen": 60000000000 }, ... ],
 *     "providers": [ { "id": "guizhou-dc1", "region": 520000,
 *                      "pubkey": "<hex>" }, ... ] }
 * Unknown fields are rejected (a typo must not silently drop a setting).
 */
#ifndef VL_GENESIS_H
#define VL_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_limits.h"

typedef enum {
    VL_ROLE_VOTER = 1,
    VL_ROLE_OBSERVER = 2,
} vl_role;

typedef struct {
    char id[VL_MAX_ID_LEN + 1];
    uint32_t region; /* 6-digit administrative division code */
    uint8_t pubkey[32];
    uint8_t curve_pubkey[32];
    char peer_endpoint[VL_MAX_ENDPOINT_LEN + 1];
    char client_endpoint[VL_MAX_ENDPOINT_LEN + 1];
    uint8_t role; /* vl_role */
} vl_gen_node;

typedef struct {
    char id[VL_MAX_ID_LEN + 1];
    uint32_t region;
    uint8_t pubkey[32];
    uint64_t budget_fen;
} vl_gen_issuer;

typedef struct {
    char id[VL_MAX_ID_LEN + 1];
    uint32_t region;
    uint8_t pubkey[32];
} vl_gen_provider;

typedef struct {
    char network[VL_MAX_NETWORK_NAME_LEN + 1];
    uint32_t max_faulty;
    uint32_t node_count;
    uint32_t issuer_count;
    uint32_t provider_count;
    vl_gen_node nodes[VL_MAX_NODES];             /* sorted by id */
    vl_gen_issuer issuers[VL_MAX_ISSUERS];       /* sorted by id */
    vl_gen_provider providers[VL_MAX_PROVIDERS]; /* sorted by id */
    /* derived by vl_genesis_finish (called by every loader) */
    uint32_t voter_count;
    uint32_t quorum; /* floor((voters + f) / 2) + 1 */
    uint8_t network_id[32];
    /* Each Schnorr key above, parsed once (vl_verify.c verifies with them);
     * index i belongs to nodes[i], issuers[i], providers[i].  A key changed
     * after vl_genesis_finish is parsed again on every use, not trusted. */
    vl_parsed_pubkey node_keys[VL_MAX_NODES];
    vl_parsed_pubkey issuer_keys[VL_MAX_ISSUERS];
    vl_parsed_pubkey provider_keys[VL_MAX_PROVIDERS];
} vl_genesis;

/* Validate g, sort its lists into canonical order and compute the derived
 * fields.  Checks: ids non-empty printable ASCII [A-Za-z0-9._-] and unique
 * per list; regions are 6-digit codes (100000..999999); every Schnorr key
 * valid and unique across all nodes, issuers and providers; CURVE keys
 * unique; endpoints non-empty and unique; at least one voter;
 * voters >= 3f+1; budgets > 0.  On error writes a message naming the field
 * (e.g. "nodes[2].pubkey: not a valid x-only public key") to err (may be
 * NULL) and returns VL_ERR_GENESIS (VL_ERR_NOMEM if the buffer that the
 * network id is hashed from cannot be allocated). */
vl_err vl_genesis_finish(vl_genesis *g, char *err, size_t err_cap);

/* Load and validate a JSON genesis from a file or a string.  g is
 * caller-allocated (about 290 KiB: use the heap).  Returns VL_OK,
 * VL_ERR_IO (file), VL_ERR_JSON (syntax, with line and column in err),
 * VL_ERR_GENESIS (a field is wrong, named in err), VL_ERR_NOMEM. */
vl_err vl_genesis_load_file(vl_genesis *g, const char *path, char *err, size_t err_cap);
vl_err vl_genesis_load_json(vl_genesis *g, const char *json, size_t len, char *err,
                            size_t err_cap);

/* Write g as JSON (canonical order, 2-space indent) to path, mode 0644,
 * replacing it atomically.  VL_OK, VL_ERR_IO or VL_ERR_NOMEM.  g must have
 * passed vl_genesis_finish. */
vl_err vl_genesis_save_file(const vl_genesis *g, const char *path);

/* Canonical binary encoding (VL_MSG_GENESIS), see docs/protocol.md.
 * vl_genesis_decode validates like vl_genesis_finish and also requires the
 * lists to be already in canonical order (else VL_ERR_UNSORTED).
 * Decode errors: structural ones front to back (VL_ERR_TRUNCATED,
 * VL_ERR_VERSION, VL_ERR_TYPE, VL_ERR_LIMIT, VL_ERR_EMPTY for no nodes,
 * VL_ERR_NONCANONICAL for a non-printable text byte, VL_ERR_RANGE for a
 * role byte, VL_ERR_UNSORTED), then VL_ERR_TRAILING, then VL_ERR_GENESIS
 * for the rules of vl_genesis_finish; g is zeroed on failure.  Encode
 * follows vl_wire.h's conventions (out == NULL counts; VL_ERR_TOO_BIG) and
 * refuses the structural errors above; the semantic rules are
 * vl_genesis_finish's. */
vl_err vl_genesis_encode(const vl_genesis *g, uint8_t *out, size_t cap, size_t *len);
vl_err vl_genesis_decode(const uint8_t *buf, size_t len, vl_genesis *g);

/* Lookups; each returns the index or -1. */
int vl_genesis_node_by_pubkey(const vl_genesis *g, const uint8_t pubkey[32]);
int vl_genesis_node_by_id(const vl_genesis *g, const char *id);
int vl_genesis_issuer_by_pubkey(const vl_genesis *g, const uint8_t pubkey[32]);
int vl_genesis_provider_by_pubkey(const vl_genesis *g, const uint8_t pubkey[32]);

/* Quorum for n voters and f faulty: floor((n + f) / 2) + 1. */
uint32_t vl_quorum(uint32_t voters, uint32_t max_faulty);

#endif
