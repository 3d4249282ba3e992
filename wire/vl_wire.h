/* vl_wire.h - canonical binary encoding of everything the protocol sends or
 * stores.  docs/protocol.md gives the byte layout; this header is the C API.
 *
 * Conventions
 *  - Every top-level object starts with a version byte (VL_WIRE_VERSION) and
 *    a type byte (vl_msg_type).  Integers are little-endian fixed width.
 *    Keys are 32-byte x-only public keys, signatures 64 bytes, hashes 32.
 *  - Variable-length fields carry an explicit length, checked against its
 *    limit in vl_limits.h before anything is read.  Nested objects are
 *    carried as u32 length + the object's own full encoding (with its own
 *    version and type bytes), and are decoded and checked strictly too.
 *  - The decoders are strict: truncation (VL_ERR_TRUNCATED), trailing bytes
 *    (VL_ERR_TRAILING), a wrong version (VL_ERR_VERSION) or type
 *    (VL_ERR_TYPE), counts over their limits (VL_ERR_LIMIT), duplicate or
 *    unsorted signers (VL_ERR_DUP_SIGNER / VL_ERR_UNSORTED), empty lists
 *    (VL_ERR_EMPTY), out-of-range values (VL_ERR_RANGE) and any other
 *    non-canonical form (VL_ERR_NONCANONICAL) are rejected.  For every
 *    accepted input, encode(decode(x)) == x byte for byte.
 *  - Decoders do not check signatures (that needs the genesis: see
 *    consensus/), only structure.
 *
 * Memory
 *  - Decoded structs BORROW from the input buffer: every vl_bytes (labels,
 *    reasons, messages, nested raw objects) points into it and is valid only
 *    while that buffer is.  Decoders never allocate, except the list
 *    decoders (vl_msg_decode of list messages), which check each nested
 *    object with a temporary heap decode and free it before returning.
 *  - Structs are large (vl_order holds VL_MAX_ISSUE_BATCH voucher specs,
 *    vl_cert a vl_order and VL_MAX_NODES votes): allocate them on the heap
 *    or as statics in hot loops.
 *  - On failure a decoder leaves its output zeroed.
 *
 * Encoders: vl_X_encode(x, out, cap, &len) writes the encoding to out and its
 * length to *len.  With out == NULL it only computes *len.  Returns VL_OK, or
 * VL_ERR_TOO_BIG if cap is smaller than the encoding (nothing useful written),
 * or the error the decoder would give for a struct that is not canonical
 * (e.g. a count over its limit), so encoders never emit what decoders refuse.
 */
#ifndef VL_WIRE_H
#define VL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_error.h"
#include "vl_limits.h"

/* A borrowed byte range. */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} vl_bytes;

typedef enum {
    VL_MSG_GENESIS = 0x01, /* vl_genesis.h encodes it */
    VL_MSG_ORDER = 0x10,
    VL_MSG_CERT = 0x11,
    VL_MSG_ENTRY = 0x12,
    VL_MSG_CHECKPOINT = 0x13,
    VL_MSG_ACCOUNT = 0x14,
    VL_MSG_BATCH_VOTE = 0x15,
    VL_MSG_SUMMARY = 0x16, /* a log entry's summary (SUMMARY_REPLY items) */
    /* peer messages (node <-> node) */
    VL_MSG_VOTE_REQUEST = 0x20,
    VL_MSG_VOTE_REPLY = 0x21,
    VL_MSG_CERTS = 0x22,
    VL_MSG_LOG_REQUEST = 0x23,
    VL_MSG_LOG_REPLY = 0x24,
    VL_MSG_ACCOUNT_REQUEST = 0x25,
    VL_MSG_SUMMARY_REQUEST = 0x26,
    VL_MSG_SUMMARY_REPLY = 0x27,
    /* client messages (client <-> node) */
    VL_MSG_CLIENT_REQUEST = 0x30,
    VL_MSG_CLIENT_REPLY = 0x31,
} vl_msg_type;

/* Peek at the type byte of an encoded object after checking its version.
 * VL_OK, VL_ERR_TRUNCATED (fewer than 2 bytes), VL_ERR_VERSION. */
vl_err vl_peek_type(const uint8_t *buf, size_t len, uint8_t *type);

/* ---- orders --------------------------------------------------------------- */

typedef enum {
    VL_ORDER_ISSUE = 1,
    VL_ORDER_REDEEM = 2,
    VL_ORDER_REVOKE = 3,
} vl_order_kind;

/* One voucher of an ISSUE batch. */
typedef struct {
    uint64_t serial;        /* strictly ascending within the batch */
    uint8_t holder[32];     /* the firm's key: signs redemptions */
    uint64_t value_fen;     /* face value, > 0 */
    uint64_t valid_from_s;  /* unix seconds, inclusive */
    uint64_t valid_until_s; /* unix seconds, exclusive; > valid_from_s */
    uint16_t subsidy_bp;    /* 1..VL_MAX_SUBSIDY_BP basis points */
    vl_bytes program;       /* 0..VL_MAX_LABEL_LEN printable ASCII */
} vl_voucher_spec;

/*
 * An order acts on one account at one sequence number.  The account is not
 * encoded: it is derived (vl_order_account), so it cannot disagree.
 *   ISSUE:  account = issuer account of `issuer`; signed by the issuer.
 *   REDEEM: account = voucher (issuer, serial); signed by holder, then
 *           provider (sigs[0], sigs[1]).
 *   REVOKE: account = voucher (issuer, serial); signed by the issuer.
 */
typedef struct {
    uint8_t network_id[32];
    uint8_t kind; /* vl_order_kind */
    uint64_t seq;
    uint8_t issuer[32];
    /* ISSUE */
    uint16_t voucher_count; /* 1..VL_MAX_ISSUE_BATCH */
    vl_voucher_spec vouchers[VL_MAX_ISSUE_BATCH];
    /* REDEEM and REVOKE */
    uint64_t serial;
    /* REDEEM */
    uint8_t holder[32];
    uint64_t amount_fen; /* > 0 */
    uint8_t provider[32];
    uint8_t invoice_hash[32];
    uint64_t gpu_milli_hours; /* GPU-hours delivered, in thousandths */
    /* REVOKE */
    vl_bytes reason; /* 0..VL_MAX_REASON_LEN printable ASCII */
    /* signatures over the order hash; count fixed by kind (1, 2, 1) */
    uint8_t sig_count;
    uint8_t sigs[2][64];
} vl_order;

/* Number of signatures an order of this kind carries (0 for a bad kind). */
unsigned vl_order_sig_count(uint8_t kind);

vl_err vl_order_encode(const vl_order *o, uint8_t *out, size_t cap, size_t *len);
vl_err vl_order_decode(const uint8_t *buf, size_t len, vl_order *o);

/* order_hash = tagged_hash(order, encoding of o up to and excluding the
 * signature count byte).  The struct must be canonical (asserts the
 * encoder succeeds). */
void vl_order_hash(uint8_t out[32], const vl_order *o);

/* The account the order acts on (see above). */
void vl_order_account(uint8_t out[32], const vl_order *o);

/* ---- votes and certificates ------------------------------------------------ */

/* A voter's signature over one batch: sig = Schnorr(tagged_hash(vote, root)). */
typedef struct {
    uint16_t voter; /* index of the node in the genesis' canonical node list */
    uint8_t root[32];
    uint8_t sig[64];
} vl_batch_vote;

/* The message a voter signs for a batch root. */
void vl_vote_message(uint8_t out[32], const uint8_t root[32]);

/* The leaf a voter puts in its batch for order o (whose hash is
 * order_hash): tagged_hash(vote-leaf, order_hash || the order's sig_count
 * signatures, 64 bytes each).  A vote therefore covers the very signature
 * bytes the voter checked, not only the order they sign: a certificate's
 * quorum vouches for its order's signatures (vl_cert_verify_vouched;
 * docs/protocol.md 3). */
void vl_vote_leaf(uint8_t out[32], const uint8_t order_hash[32], const vl_order *o);

vl_err vl_batch_vote_encode(const vl_batch_vote *v, uint8_t *out, size_t cap, size_t *len);
vl_err vl_batch_vote_decode(const uint8_t *buf, size_t len, vl_batch_vote *v);

/* A vote inside a certificate: the Merkle path from the order's vote leaf
 * (vl_vote_leaf) to the signed root (the root itself is recomputed, never carried). */
typedef struct {
    uint16_t voter;
    uint32_t leaf_index; /* < leaf_count */
    uint32_t leaf_count; /* 1..VL_MAX_BATCH_ORDERS */
    uint8_t path_len;    /* == vl_merkle_path_len(leaf_index, leaf_count) */
    uint8_t path[VL_MAX_MERKLE_DEPTH][32];
    uint8_t sig[64];
} vl_cert_vote;

/* An order plus votes of distinct voters, strictly ascending by voter. */
typedef struct {
    vl_bytes order_raw; /* the order's encoding inside the certificate */
    vl_order order;
    uint8_t vote_count; /* 1..VL_MAX_NODES */
    vl_cert_vote votes[VL_MAX_NODES];
} vl_cert;

/* Encodes c->order (order_raw is ignored by the encoder and set by the
 * decoder). */
vl_err vl_cert_encode(const vl_cert *c, uint8_t *out, size_t cap, size_t *len);
vl_err vl_cert_decode(const uint8_t *buf, size_t len, vl_cert *c);

/* ---- log entries, checkpoints, account state --------------------------------- */

/* Entry `index` (first is 1) of a node's log.  prev_hash of entry 1 is the
 * network id.  entry_hash = tagged_hash(entry, index u64 LE || prev_hash ||
 * tagged_hash(certificate, cert bytes)). */
typedef struct {
    uint64_t index;
    uint8_t prev_hash[32];
    uint64_t time_ms; /* when the node applied it, unix milliseconds */
    vl_bytes cert;    /* a valid certificate encoding (checked by decode) */
} vl_entry;

vl_err vl_entry_encode(const vl_entry *e, uint8_t *out, size_t cap, size_t *len);
vl_err vl_entry_decode(const uint8_t *buf, size_t len, vl_entry *e);
void vl_cert_hash(uint8_t out[32], const uint8_t *cert, size_t cert_len);
void vl_entry_hash(uint8_t out[32], uint64_t index, const uint8_t prev_hash[32],
                   const uint8_t cert_hash[32]);

/* The summary of entry `index` of a node's log: enough for a peer's sync
 * to tell whether it already holds the entry's certificate (a certificate
 * for this order in slot (account, seq)) without the certificate's bytes,
 * and the entry's hash to continue the chain from (docs/protocol.md 4.8).
 * A summary proves nothing by itself: it is the serving node's claim. */
typedef struct {
    uint64_t index;          /* >= 1 */
    uint64_t time_ms;        /* the entry's time_ms */
    uint8_t entry_hash[32];  /* vl_entry_hash of this entry */
    uint8_t account[32];     /* vl_order_account of the certificate's order */
    uint64_t seq;            /* the order's seq */
    uint8_t order_hash[32];  /* vl_order_hash of the certificate's order */
} vl_summary;

/* The encoding's length: version, type and the six fields. */
#define VL_SUMMARY_BYTES (2u + 8u + 8u + 32u + 32u + 8u + 32u)

vl_err vl_summary_encode(const vl_summary *s, uint8_t *out, size_t cap, size_t *len);
vl_err vl_summary_decode(const uint8_t *buf, size_t len, vl_summary *s);

/* A node's signed statement of its log head and state digest. */
typedef struct {
    uint8_t network_id[32];
    uint16_t node; /* genesis node index */
    uint64_t log_index;
    uint8_t entry_hash[32];
    uint8_t state_digest[32];
    uint64_t time_ms;
    uint8_t sig[64]; /* over tagged_hash(checkpoint, encoding before sig) */
} vl_checkpoint;

vl_err vl_checkpoint_encode(const vl_checkpoint *cp, uint8_t *out, size_t cap, size_t *len);
vl_err vl_checkpoint_decode(const uint8_t *buf, size_t len, vl_checkpoint *cp);
void vl_checkpoint_message(uint8_t out[32], const vl_checkpoint *cp);

typedef enum {
    VL_ACCOUNT_ISSUER = 1,
    VL_ACCOUNT_VOUCHER = 2,
} vl_account_kind;

typedef enum {
    VL_VOUCHER_ACTIVE = 1,
    VL_VOUCHER_REVOKED = 2,
} vl_voucher_status;

/* The state of one account, as stored and as served by GET_ACCOUNT. */
typedef struct {
    uint8_t kind;     /* vl_account_kind */
    uint8_t issuer[32];
    uint64_t next_seq;
    /* issuer */
    uint64_t budget_fen;
    uint64_t balance_fen;  /* remaining budget */
    uint64_t issued_fen;   /* sum of certified issuance */
    uint64_t credited_fen; /* sum of revoked remainders credited back */
    /* voucher */
    uint64_t serial;
    uint8_t holder[32];
    uint64_t face_fen;
    uint64_t remaining_fen;
    uint64_t valid_from_s;
    uint64_t valid_until_s;
    uint16_t subsidy_bp;
    uint8_t status; /* vl_voucher_status */
    vl_bytes program;
} vl_account;

vl_err vl_account_encode(const vl_account *a, uint8_t *out, size_t cap, size_t *len);
vl_err vl_account_decode(const uint8_t *buf, size_t len, vl_account *a);

/* ---- peer and client messages ----------------------------------------------- */

/* What a voter answers for an order it did not vote for. */
typedef enum {
    VL_ANSWER_REJECTED = 1,  /* code: why (a vl_err) */
    VL_ANSWER_CONFLICT = 2,  /* evidence: the locked order */
    VL_ANSWER_BEHIND = 3,    /* next_seq: the next sequence the voter knows */
    VL_ANSWER_CERTIFIED = 4, /* evidence: the certificate of the slot */
} vl_answer_kind;

typedef struct {
    uint8_t order_hash[32];
    uint8_t kind;      /* vl_answer_kind */
    uint16_t code;     /* REJECTED */
    uint64_t next_seq; /* BEHIND */
    vl_bytes evidence; /* CONFLICT: an order; CERTIFIED: a certificate */
} vl_answer;

typedef enum {
    VL_REQ_SUBMIT = 1,
    VL_REQ_GET_ACCOUNT = 2,
    VL_REQ_STATUS = 3,
    VL_REQ_GET_LOG = 4,
    VL_REQ_GET_CHECKPOINT = 5,
    VL_REQ_GET_ACCOUNT_FROM = 6, /* GET_ACCOUNT's certificates from a seq on: its next pages */
} vl_request_kind;

typedef enum {
    VL_REPLY_CERT = 1,
    VL_REPLY_ACCOUNT = 2,
    VL_REPLY_STATUS = 3,
    VL_REPLY_LOG = 4,
    VL_REPLY_CHECKPOINT = 5,
    VL_REPLY_ERROR = 6,
} vl_reply_kind;

typedef enum {
    VL_EVIDENCE_NONE = 0,
    VL_EVIDENCE_ORDER = 1,
    VL_EVIDENCE_CERT = 2,
} vl_evidence_kind;

/* Node status flags in a STATUS reply. */
#define VL_STATUS_VOTER 0x01u     /* this node votes */
#define VL_STATUS_IN_QUORUM 0x02u /* it reaches q voters */
#define VL_STATUS_READ_ONLY 0x04u /* it refuses writes (e.g. disk full) */
#define VL_STATUS_SYNCING 0x08u   /* it is catching up */
#define VL_STATUS_FORK 0x10u      /* it holds fork evidence */
#define VL_STATUS_FLAGS_ALL 0x1fu

typedef struct {
    uint16_t node;
    uint8_t flags; /* VL_STATUS_*; unknown bits are non-canonical */
    uint64_t log_head;
    uint8_t head_hash[32];
    uint8_t state_digest[32];
    uint64_t accounts;
    uint32_t pending_locks;
    uint32_t peers_connected;
} vl_status;

/*
 * One decoded message of any peer or client type.  `type` says which of
 * the fields are meaningful:
 *
 *   VOTE_REQUEST   req_id, from, items = orders (1..VL_MAX_MSG_ITEMS)
 *   VOTE_REPLY     req_id, from (the voter), leaves (0..VL_MAX_BATCH_ORDERS
 *                  vote leaves voted on, vl_vote_leaf, in tree order), vote_sig (present
 *                  iff leaf_count > 0, over the root of the leaves),
 *                  answers (0..VL_MAX_MSG_ITEMS) for the other orders
 *   CERTS          req_id, from, items = certificates (1..VL_MAX_MSG_ITEMS)
 *   LOG_REQUEST    req_id, from, from_index, max_items (1..VL_MAX_MSG_ITEMS)
 *   LOG_REPLY      req_id, from, log_head, items = entries (0..)
 *   SUMMARY_REQUEST req_id, from, from_index, max_items (1..VL_MAX_MSG_ITEMS)
 *   SUMMARY_REPLY  req_id, from, log_head, items = summaries (0..)
 *   ACCOUNT_REQUEST req_id, from, account_id, from_seq
 *   CLIENT_REQUEST req_id, req_kind and
 *                    SUBMIT: item = order (items[0])
 *                    GET_ACCOUNT: account_id
 *                    GET_ACCOUNT_FROM: account_id, from_index (the first
 *                                      seq), max_items
 *                    STATUS, GET_CHECKPOINT: nothing
 *                    GET_LOG: from_index, max_items
 *   CLIENT_REPLY   req_id, reply_kind and
 *                    CERT: items[0] = certificate
 *                    ACCOUNT: account (raw vl_account), items = its
 *                             certificates (0..VL_MAX_MSG_ITEMS)
 *                    STATUS: status
 *                    LOG: log_head, items = entries
 *                    CHECKPOINT: items[0] = checkpoint
 *                    ERROR: code, text, evidence_kind, items[0] = evidence
 *
 * `items`, `leaves` and `answers` point to arrays the CALLER provides
 * (vl_msg_init_storage), so that a decoder never allocates them.
 */
typedef struct {
    uint8_t type; /* vl_msg_type */
    uint64_t req_id;
    uint16_t from;
    /* lists (caller-provided storage, see vl_msg_storage) */
    uint32_t item_count;
    vl_bytes *items;
    uint32_t leaf_count;
    uint8_t (*leaves)[32];
    uint8_t vote_sig[64];
    uint32_t answer_count;
    vl_answer *answers;
    /* scalars */
    uint64_t from_index;
    uint32_t max_items;
    uint64_t log_head;
    uint8_t account_id[32];
    uint64_t from_seq;
    uint8_t req_kind;   /* vl_request_kind */
    uint8_t reply_kind; /* vl_reply_kind */
    vl_bytes account;
    vl_status status;
    uint16_t code;
    vl_bytes text;
    uint8_t evidence_kind; /* vl_evidence_kind */
} vl_msg;

/* Storage for the lists of one vl_msg: big (about 200 KiB), allocate once
 * and reuse. */
typedef struct {
    vl_bytes items[VL_MAX_MSG_ITEMS];
    uint8_t leaves[VL_MAX_BATCH_ORDERS][32];
    vl_answer answers[VL_MAX_MSG_ITEMS];
} vl_msg_storage;

/* Zero m and point its lists at st. */
void vl_msg_init(vl_msg *m, vl_msg_storage *st);

/* Encode/decode any peer or client message.  The decoder keeps m's list
 * pointers (set by vl_msg_init) and zeroes everything else first.  Nested
 * objects (orders, certificates, entries, checkpoints, accounts, evidence)
 * are fully checked with their own decoders. */
vl_err vl_msg_encode(const vl_msg *m, uint8_t *out, size_t cap, size_t *len);
vl_err vl_msg_decode(const uint8_t *buf, size_t len, vl_msg *m);
/* The req_id of a CLIENT_REQUEST that may not decode as a whole: true when
 * buf starts with a version-1 CLIENT_REQUEST header (version, type, req_id),
 * so that the ERROR answering a malformed request names the request. */
bool vl_msg_peek_req_id(const uint8_t *buf, size_t len, uint64_t *req_id);

#endif
