/* vl_error.h - the one error enum of the project.
 *
 * Every fallible function in wire/, consensus/, node/ and tools/ returns a
 * vl_err.  LMDB, ZeroMQ, jansson and errno codes are translated into these at
 * the boundary where they occur and never leak upward raw.
 *
 * The numeric values travel on the wire (client ERROR replies, peer REJECTED
 * answers), so they are stable: append new codes, never renumber.
 */
#ifndef VL_ERROR_H
#define VL_ERROR_H

/* X(name, number, short text) */
#define VL_ERROR_LIST(X)                                                        \
    X(VL_OK, 0, "ok")                                                           \
    /* decoding */                                                              \
    X(VL_ERR_TRUNCATED, 1, "message truncated")                                 \
    X(VL_ERR_TRAILING, 2, "trailing bytes after message")                       \
    X(VL_ERR_VERSION, 3, "unsupported version")                                 \
    X(VL_ERR_TYPE, 4, "unknown or unexpected message type")                     \
    X(VL_ERR_LIMIT, 5, "a count or length is over its limit")                   \
    X(VL_ERR_NONCANONICAL, 6, "non-canonical encoding")                         \
    X(VL_ERR_DUP_SIGNER, 7, "duplicate signer")                                 \
    X(VL_ERR_UNSORTED, 8, "signers or items not in ascending order")            \
    X(VL_ERR_EMPTY, 9, "empty list where at least one item is required")        \
    X(VL_ERR_RANGE, 10, "value out of range")                                   \
    X(VL_ERR_TOO_BIG, 11, "output buffer too small")                            \
    /* crypto and identities */                                                 \
    X(VL_ERR_BAD_SIG, 20, "bad signature")                                      \
    X(VL_ERR_BAD_KEY, 21, "invalid key")                                        \
    X(VL_ERR_WRONG_NETWORK, 22, "order is for another network")                 \
    X(VL_ERR_UNKNOWN_KEY, 23, "key not listed in the genesis")                  \
    X(VL_ERR_BAD_PATH, 24, "Merkle path does not lead to a signed root")        \
    X(VL_ERR_KEYFILE_PERMS, 25, "key file readable by group or others")         \
    X(VL_ERR_RANDOM, 26, "no randomness available")                             \
    /* files, JSON, genesis */                                                  \
    X(VL_ERR_IO, 30, "I/O error")                                               \
    X(VL_ERR_NOMEM, 31, "out of memory")                                        \
    X(VL_ERR_JSON, 32, "malformed JSON")                                        \
    X(VL_ERR_GENESIS, 33, "invalid genesis")                                    \
    X(VL_ERR_USAGE, 34, "usage error")                                          \
    X(VL_ERR_EXISTS, 35, "file already exists")                                 \
    /* ledger rules (consensus) */                                              \
    X(VL_ERR_UNKNOWN_ISSUER, 40, "issuer not in the genesis")                   \
    X(VL_ERR_UNKNOWN_PROVIDER, 41, "provider not in the genesis")               \
    X(VL_ERR_UNKNOWN_ACCOUNT, 42, "unknown voucher or account")                 \
    X(VL_ERR_WRONG_SIGNER, 43, "signed by the wrong key")                       \
    X(VL_ERR_BUDGET, 44, "issuer budget exceeded")                              \
    X(VL_ERR_OVERSPEND, 45, "amount exceeds the voucher's remaining value")     \
    X(VL_ERR_EXPIRED, 46, "voucher expired")                                    \
    X(VL_ERR_NOT_YET_VALID, 47, "voucher not yet valid")                        \
    X(VL_ERR_REVOKED, 48, "voucher revoked")                                    \
    X(VL_ERR_SERIAL_USED, 49, "voucher serial already used")                    \
    X(VL_ERR_STALE_SEQ, 50, "sequence number already used")                     \
    X(VL_ERR_BEHIND, 51, "node is behind on this account")                      \
    X(VL_ERR_CONFLICT, 52, "another order holds this slot")                     \
    X(VL_ERR_ALREADY_CERTIFIED, 53, "slot already certified")                   \
    X(VL_ERR_QUORUM, 54, "not enough valid distinct votes")                     \
    X(VL_ERR_NOT_VOTER, 55, "node is not a voter")                              \
    X(VL_ERR_FORK, 56, "two certificates for one slot")                         \
    X(VL_ERR_TIMEOUT, 57, "timed out")                                          \
    X(VL_ERR_UNAVAILABLE, 58, "no node reachable")                              \
    /* storage */                                                               \
    X(VL_ERR_STORAGE, 60, "storage error")                                      \
    X(VL_ERR_MAP_FULL, 61, "storage map full")                                  \
    X(VL_ERR_DISK_FULL, 62, "disk full")                                        \
    X(VL_ERR_LOCKED, 63, "data directory in use by another process")           \
    X(VL_ERR_CORRUPT, 64, "stored data failed verification")                    \
    X(VL_ERR_READ_ONLY, 65, "node is not accepting writes")

typedef enum {
#define VL_ERROR_ENUM(name, num, text) name = num,
    VL_ERROR_LIST(VL_ERROR_ENUM)
#undef VL_ERROR_ENUM
} vl_err;

/* 1 if err is a code of the table above (VL_OK included), else 0.  Codes
 * that arrive from the network are checked with this before being passed on. */
int vl_err_known(int err);

/* Short English description; never NULL ("unknown error" for other values). */
const char *vl_strerror(int err);

/* The symbolic name, e.g. "VL_ERR_TRUNCATED"; never NULL ("VL_ERR_UNKNOWN"). */
const char *vl_err_name(int err);

/* The name without its "VL_ERR_" prefix, lower case, e.g. "truncated", "ok".
 * Used in JSON output and logs.  Never NULL. */
const char *vl_err_slug(int err);

#endif
