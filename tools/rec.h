/* rec.h - voucher-reconcile's internals (tools/voucher-reconcile.c is the
 * command line; docs/reconcile.md the user's view).
 *
 *   rec_verify.c  the thread pool; each node's hash chain and checkpoints;
 *                 the distinct certificates (by certificate hash) verified
 *                 once each on every core
 *   rec_ledger.c  the union of verified certificates (by order hash, by
 *                 account || seq), forks, conflicts, per-node comparison
 *                 and the ledger recomputed from the union; the JSON report
 *
 * Memory: certificate bytes are never copied.  They point into the export
 * file's mapping, the data directory's LMDB map (one read transaction per
 * source, open until the end) or the GET_LOG replies (kept until the end).
 */
#ifndef REC_H
#define REC_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_genesis.h"
#include "vl_verify.h"
#include "vl_wire.h"

/* Errors listed per node in the report; more are counted, not listed
 * (a log of a million bad entries must not make a gigabyte report). */
#define REC_MAX_ERRORS_LISTED 100
/* Missing certificates listed per node; the count is always exact. */
#define REC_MAX_MISSING_LISTED 1000
/* Checkpoints and locks kept per source. */
#define REC_MAX_CHECKPOINTS 64
#define REC_MAX_LOCKS (1u << 20)
/* Sources (--node, --data-dir, --log) on one command line. */
#define REC_MAX_SOURCES 256

typedef enum { REC_SRC_NODE, REC_SRC_DATADIR, REC_SRC_LOG } rec_src_kind;

/* One error of a node, for the report's nodes[].errors. */
typedef struct {
    uint64_t entry; /* 0: not about one entry */
    vl_err code;
    char message[200];
} rec_error;

typedef struct {
    const uint8_t *buf;
    size_t len;
} rec_blob;

/* One source: one node's log as read (rec_verify.c fills the chain part). */
typedef struct {
    rec_src_kind kind;
    const char *arg;       /* the command-line value */
    char source[300];      /* "node tcp://...", "data-dir D", "log F" */
    int node;              /* genesis node index; -1 unknown */
    bool loaded;           /* the records could be read at all */
    /* records (pointers stay valid until the end, see above); after pass A
     * (rec_verify.c) entries[i] is the certificate inside entry i+1, or
     * {NULL, 0} when the entry does not decode */
    rec_blob *entries;
    uint64_t entry_count, entry_cap;
    rec_blob checkpoints[REC_MAX_CHECKPOINTS];
    uint32_t checkpoint_count;
    rec_blob *locks;
    uint32_t lock_count, lock_cap;
    /* results of the chain walk */
    uint32_t *cert_of;     /* per entry: index into rec_run.certs, UINT32_MAX if undecodable */
    uint64_t *time_of;     /* per entry: time_ms the node applied it */
    uint8_t (*cert_hashes)[32]; /* per entry: its certificate hash (passes A-B only) */
    uint8_t head_hash[32];
    uint64_t chain_ok_to;  /* entries 1..chain_ok_to chain correctly */
    int cp_best;           /* index of the checkpoint reported (highest log index), -1 none */
    bool cp_verified, cp_extended;
    uint64_t cp_log_index; /* of cp_best */
    uint8_t cp_entry_hash[32], cp_state_digest[32];
    uint8_t digest[32];
    uint8_t buckets[256][32];
    bool verified;         /* chain, every certificate and checkpoint verified */
    rec_error errors[REC_MAX_ERRORS_LISTED];
    uint32_t error_count;  /* listed */
    uint64_t errors_total; /* all, listed or not */
    /* cleanup */
    void *owner;           /* vl_logfile_reader, rec_datadir or GET_LOG replies */
    void (*release)(void *owner);
} rec_source;

/* Entry times (rec_verify.c note 4): how far a node's clock may step back
 * between two readings, and the last second a "YYYY-MM" month can show
 * (9999-12-31T23:59:59Z). */
#define REC_TIME_SLACK_MS 300000u
#define REC_MAX_TIME_S 253402300799u

/* One distinct certificate (by certificate hash). */
typedef struct {
    const uint8_t *raw;
    uint32_t len;
    uint8_t cert_hash[32];
    /* filled by the verification pass */
    vl_err status;          /* VL_OK: verified against the genesis */
    uint8_t kind;
    uint8_t order_hash[32];
    uint8_t account[32];
    uint64_t seq;
    int32_t issuer;         /* genesis index */
    int32_t provider;       /* REDEEM: genesis index */
    uint64_t serial, amount_fen, gpu_milli_hours;
    uint8_t holder[32];     /* REDEEM */
    uint64_t time_ms;       /* when the nodes applied it: the lower median of
                             * its sources' checked times (rec_verify.c note 4) */
    uint32_t order_id;      /* index into rec_run.orders (UINT32_MAX: none) */
} rec_cert;

/* An open-addressing table of uint32 ids keyed by 32-byte hashes (the
 * first 8 bytes, already uniform, pick the bucket). */
typedef struct {
    uint32_t *slots; /* id + 1, 0 empty */
    uint64_t mask;
    uint64_t count;
    size_t key_len;  /* 32 (hashes) or 40 (account id || seq u64 LE) */
} rec_table;

typedef struct {
    const vl_genesis *g;
    unsigned threads;
    bool progress;
    bool progress_tty;       /* rewrite one line; else a line every PROGRESS_LINE_S */
    uint64_t as_of_s;
    rec_source *src;
    uint32_t src_count;
    rec_cert *certs;
    uint32_t cert_count, cert_cap;
    rec_table by_cert_hash;
    /* the union: one representative certificate per order hash */
    uint32_t *orders; /* cert ids */
    uint32_t order_count;
    _Atomic uint64_t verified_done;
    _Atomic uint64_t signatures;
    double seconds;
} rec_run;

/* ---- rec_verify.c ---- */

/* Table of `expect` entries at most (half full) with keys of key_len
 * bytes.  false: out of memory. */
bool rec_table_init(rec_table *t, uint64_t expect, size_t key_len);
void rec_table_free(rec_table *t);
/* The id stored under key, or UINT32_MAX; key_of(id) gives an id's key
 * (written to buf, which has key_len bytes, or returned from elsewhere). */
typedef const uint8_t *(*rec_key_fn)(const void *ctx, uint32_t id, uint8_t *buf);
uint32_t rec_table_find(const rec_table *t, const uint8_t *key, rec_key_fn key_of,
                        const void *ctx);
/* Insert id under key (the caller checked it is absent). */
void rec_table_put(rec_table *t, const uint8_t *key, uint32_t id);

/* Record an error of source s (counted always, listed up to the limit). */
void rec_error_add(rec_source *s, uint64_t entry, vl_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Walk every source's chain (a pool job per source), build the distinct
 * certificate table, verify every distinct certificate on every core.
 * false: out of memory (reported on stderr). */
bool rec_verify_all(rec_run *r);

/* ---- rec_ledger.c ---- */

/* The union, the comparison and the ledger, as the report of
 * reconcile_report.h; *ok says whether everything verified and every node
 * agrees.  NULL: out of memory. */
json_t *rec_report(rec_run *r, bool *ok);

#endif
