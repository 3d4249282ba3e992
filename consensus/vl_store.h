/* vl_store.h - the node's LMDB environment (internal to consensus/).
 *
 * One environment per node, one write transaction per vl_core_step.  This
 * is the only place that sees LMDB return codes: vl_store_xlate turns them
 * (and errno values) into vl_err, so nothing above leaks them.
 *
 * Layout (docs/consensus.md has the table): named databases meta, log,
 * accounts (and, since schema 2, the slots: vl_core.c note 22), slots
 * (schema 1 only; empty after the upgrade), locks, pending, origin,
 * peers, forks.  Sequence numbers
 * and log indexes in keys are big-endian u64, so LMDB's byte order is
 * numeric order and the log can use MDB_APPEND.
 *
 * Values returned by vl_db_get point into the map: valid until the next
 * write in the same transaction or its end.  Callers copy what they keep.
 */
#ifndef VL_STORE_H
#define VL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "vl_check.h"
#include "vl_error.h"

/* Largest map the store grows to (address space, not disk). */
#define VL_STORE_MAX_MAP (1ull << 40)
/* Smallest initial map: anything smaller only wastes early growth steps. */
#define VL_STORE_MIN_MAP (1ull << 20)

/* Grow the map before a step when more than this share of it is used
 * (numerator over 4): a step then almost never meets MDB_MAP_FULL. */
#define VL_STORE_GROW_AT_QUARTERS 3u

/* Prefill (vl_store.c note 2c): keep the data file this far past LMDB's
 * high-water mark, a quarter of it, at least MIN and at most MAX; extend
 * it when less than half of that is left, by at most CHUNK per call; only
 * while the filesystem keeps RESERVE free besides; at open, read back at
 * most WARM_MAX of the file into single-page folios. */
#define VL_STORE_PREFILL_MIN (256ull << 10)
#define VL_STORE_PREFILL_MAX (64ull << 20)
#define VL_STORE_PREFILL_CHUNK (1ull << 20)
#define VL_STORE_PREFILL_RESERVE (64ull << 20)
#define VL_STORE_WARM_MAX (4ull << 30)

/* The named databases, in the order vl_store_check walks them (`log`
 * first: vl_check.c note 3). */
#define VL_STORE_TABLES 9u
extern const char *const vl_store_tables[VL_STORE_TABLES];

typedef struct {
    MDB_env *env;
    MDB_dbi meta, log, accounts, slots, locks, pending, origin, peers, forks;
    int lock_fd; /* flock()ed "core.lock" in the directory, -1 when closed */
    bool durable;
    uint32_t stale_readers; /* reader slots of dead processes cleared by the last open */
    uint64_t grows;         /* map growths since the open (vl_store_grow) */
    bool panicked;          /* LMDB answered MDB_PANIC: the environment must be reopened */
    bool prefill;           /* note 2c of vl_store.c: durable and asked for */
    int data_fd;            /* our own descriptor of data.mdb for the prefill, -1 when none */
    uint64_t prefilled;     /* zero bytes written past LMDB's pages since the open */
    uint64_t prefill_end;   /* where the last prefill stopped (0: none yet) */
    uint64_t warmed;        /* bytes of the file read back into the page cache at the open */
    vl_store_check_report check; /* the open's check (vl_store_open with check) */
} vl_store;

/* Translate an LMDB or errno code: MDB_MAP_FULL -> VL_ERR_MAP_FULL,
 * ENOSPC -> VL_ERR_DISK_FULL, ENOMEM -> VL_ERR_NOMEM, MDB_CORRUPTED and
 * MDB_PAGE_NOTFOUND -> VL_ERR_CORRUPT, other errno -> VL_ERR_IO, other
 * LMDB codes -> VL_ERR_STORAGE.  0 -> VL_OK. */
vl_err vl_store_xlate(int rc);

/* Create dir if missing, take its lock file (VL_ERR_LOCKED if another
 * process or another open vl_store holds it), open the environment
 * (MDB_NOSYNC unless durable), clear stale readers and open or create every
 * named database.  With check, the data file is first walked whole
 * (vl_store_check, exclusive: the lock is held; s->check has the report)
 * and a damaged one is refused (VL_ERR_CORRUPT, err says where), before
 * LMDB maps it in this process.  With durable and prefill, the data file's page cache is
 * kept in single pages (vl_store.c note 2c): read back at the open, and
 * extended ahead of LMDB by vl_store_maybe_grow.  On failure s is closed
 * and err (may be NULL) says why. */
vl_err vl_store_open(vl_store *s, const char *dir, bool durable, bool prefill, bool check,
                     uint64_t map_size_bytes, char *err, size_t err_cap);

/* Close (no transaction may be open).  Safe on a closed store (after
 * vl_store_close or a failed vl_store_open); a store that was never opened
 * must have lock_fd and data_fd -1 (a zeroed one would close descriptor 0). */
void vl_store_close(vl_store *s);

/* Pages in use and map size, in bytes. */
void vl_store_usage(vl_store *s, uint64_t *used_bytes, uint64_t *map_bytes);

/* Double the map when more than VL_STORE_GROW_AT_QUARTERS/4 of it is
 * used, and extend the data file ahead of LMDB (note 2c of vl_store.c; a
 * failure there is not an error).  No transaction of this process may be
 * open.  VL_OK or VL_ERR_MAP_FULL (cannot grow). */
vl_err vl_store_maybe_grow(vl_store *s);

/* Double the map now (up to VL_STORE_MAX_MAP).  VL_OK or VL_ERR_MAP_FULL. */
vl_err vl_store_grow(vl_store *s);

/* Close and open again the environment of dir at its current map size
 * (after MDB_PANIC: LMDB refuses every transaction of an environment whose
 * meta page write failed, until it is reopened).  Stale readers are
 * cleared again.  No transaction may be open.  VL_OK or vl_store_open's
 * errors; on failure s is closed. */
vl_err vl_store_reopen(vl_store *s, const char *dir, char *err, size_t err_cap);

/* Clear the reader slots of dead processes (mdb_reader_check): a killed
 * reader (a backup tool, voucherctl verify-log --data-dir) would pin old
 * pages and make the file grow.  *cleared (may be NULL) gets the count.
 * VL_OK or VL_ERR_STORAGE. */
vl_err vl_store_reader_check(vl_store *s, uint32_t *cleared);

/* Free bytes for unprivileged writers on the filesystem of dir (statvfs
 * f_bavail * f_frsize); UINT64_MAX when statvfs fails (unknown: callers
 * then assume there is room). */
uint64_t vl_store_free_bytes(const char *dir);
/* Below this, a commit that failed with EIO is taken for a full disk: LMDB
 * reports a page write cut short by ENOSPC as EIO (mdb_page_flush). */
#define VL_STORE_LOW_SPACE_BYTES (1ull << 20)
/* A node that refused writes for a full disk resumes only with this much
 * free (and a write that committed): a commit that fits in LMDB's free
 * pages proves little, and resuming at the edge would flap. */
#define VL_STORE_RESUME_SPACE_BYTES (4ull << 20)

/* Transactions.  MDB_PANIC sets s->panicked (and is VL_ERR_STORAGE). */
vl_err vl_store_begin(vl_store *s, bool read_only, MDB_txn **txn);

/* Get: VL_OK with *found set (val filled only when found), or an error. */
vl_err vl_db_get(MDB_txn *t, MDB_dbi d, const void *key, size_t klen, MDB_val *val,
                 bool *found);
/* Put with LMDB flags (0, MDB_APPEND, MDB_NOOVERWRITE: then VL_OK and
 * *existed = true when the key was there; existed may be NULL otherwise). */
vl_err vl_db_put(MDB_txn *t, MDB_dbi d, const void *key, size_t klen, const void *val,
                 size_t vlen, unsigned flags, bool *existed);
/* Delete; a missing key is VL_OK. */
vl_err vl_db_del(MDB_txn *t, MDB_dbi d, const void *key, size_t klen);
/* Number of records. */
vl_err vl_db_count(MDB_txn *t, MDB_dbi d, uint64_t *n);

/* Big-endian u64 and the 40-byte slot key account || seq. */
void vl_be64_put(uint8_t out[8], uint64_t v);
uint64_t vl_be64_get(const uint8_t in[8]);
void vl_slot_key(uint8_t out[40], const uint8_t account[32], uint64_t seq);

#endif
