/* vl_limits.h - every input dimension has a named limit, with its reason.
 *
 * Decoders check each count and length against these before anything is
 * allocated or copied; a value one over its limit is VL_ERR_LIMIT.  Changing a
 * limit changes what peers accept: it is a protocol change (docs/protocol.md).
 */
#ifndef VL_LIMITS_H
#define VL_LIMITS_H

/* Wire version byte carried first in every top-level object. */
#define VL_WIRE_VERSION 1

/* Nodes (voters + observers) in one genesis.  Bounds the signatures in a
 * certificate; past ~20 voters DESIGN.md section 10 moves to a committee. */
#define VL_MAX_NODES 64

/* Issuers (city programs) and providers (data centers) in one genesis:
 * generous for China's ~330 prefecture-level cities and their data centers. */
#define VL_MAX_ISSUERS 512
#define VL_MAX_PROVIDERS 1024

/* Identifiers (node, issuer and provider ids): printable ASCII, short
 * enough to show in a log line. */
#define VL_MAX_ID_LEN 32
/* Network name in the genesis. */
#define VL_MAX_NETWORK_NAME_LEN 64
/* ZeroMQ endpoint strings such as "tcp://127.0.0.1:7001". */
#define VL_MAX_ENDPOINT_LEN 128
/* Program label on each issued voucher (e.g. "sh-2026-ai-compute"). */
#define VL_MAX_LABEL_LEN 32
/* Free-text reason of a REVOKE order. */
#define VL_MAX_REASON_LEN 256
/* Human-readable message in an ERROR reply. */
#define VL_MAX_ERROR_MSG_LEN 256

/* Vouchers in one ISSUE order.  One order is one issuer-account slot, so a
 * city issues in batches; 256 keeps an order under ~32 KiB. */
#define VL_MAX_ISSUE_BATCH 256

/* Orders a voter signs in one batch vote (one Merkle root).  4096 leaves
 * keep every Merkle path at most 12 hashes. */
#define VL_MAX_BATCH_ORDERS 4096
/* Maximum Merkle path length: ceil(log2(VL_MAX_BATCH_ORDERS)). */
#define VL_MAX_MERKLE_DEPTH 12

/* Orders in one VOTE_REQUEST, certificates in one CERTS message, entries
 * in one LOG reply, certificates in one ACCOUNT reply.  Each list is also
 * bounded in bytes by VL_MAX_MSG_BYTES. */
#define VL_MAX_MSG_ITEMS 1024

/* Largest message a node accepts (ZMQ_MAXMSGSIZE) and the largest nested
 * object.  A maximal certificate (256 vouchers, 64 votes) is 54,869 bytes; a
 * list message of many of them stays under this by construction of the
 * sender, and a larger one is refused before it is read. */
#define VL_MAX_MSG_BYTES (16u * 1024u * 1024u)

/* Subsidy ratio is in basis points of the compute bill (8000 = 80%). */
#define VL_MAX_SUBSIDY_BP 10000

#endif
