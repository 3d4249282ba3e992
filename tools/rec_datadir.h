/* rec_datadir.h - a stopped node's data directory, read-only, as the
 * records of a log export (vl_logfile.h): its entries, its latest signed
 * checkpoint and its locks without a certificate.
 *
 * Shared by `voucherctl log --export --data-dir` (which writes them to a
 * file) and voucher-reconcile --data-dir (which verifies them in place).
 * The layout read is consensus/vl_store.h's (docs/consensus.md, "Storage"):
 *   meta "node"        u16 LE genesis node index
 *   meta "network"     the network id (32 bytes)
 *   meta "checkpoint"  the encoded latest signed CHECKPOINT (absent before
 *                      the first)
 *   log                big-endian u64 index -> encoded ENTRY
 *   locks              account id || seq (u64 BE) -> time (u64 BE) ||
 *                      order hash || encoded ORDER; a lock goes when its
 *                      slot's certificate is applied, so every lock here
 *                      is one without a certificate.
 * Nothing read is trusted: the records are handed over as stored, and the
 * caller decodes and verifies them.
 */
#ifndef REC_DATADIR_H
#define REC_DATADIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_error.h"

typedef struct rec_datadir rec_datadir;

/* Open DIR's LMDB environment read-only (MDB_RDONLY; MDB_NOLOCK too when
 * private_copy: a backup nobody writes) and begin one read transaction, a
 * consistent snapshot kept until rec_datadir_close.  Refuses a directory
 * without data.mdb before LMDB sees it (LMDB would leave a lock.mdb behind).
 * Returns VL_OK (*out set), VL_ERR_IO (no data.mdb, path too long),
 * VL_ERR_STORAGE (LMDB refused: the reason is in err), VL_ERR_CORRUPT (meta
 * lacks the node index or network id), VL_ERR_NOMEM.  err (may be NULL)
 * gets "DIR: reason". */
vl_err rec_datadir_open(const char *dir, bool private_copy, rec_datadir **out, char *err,
                        size_t cap);

/* What meta says (trusted by nobody: the checkpoint's signature is what
 * binds the node index). */
uint16_t rec_datadir_node_index(const rec_datadir *d);
const uint8_t *rec_datadir_network_id(const rec_datadir *d); /* 32 bytes */

/* Called once per record, with a vl_logfile.h record type (ENTRY in
 * ascending index order, then at most one CHECKPOINT, then LOCKs) and the
 * stored bytes, which stay valid until rec_datadir_close (they point into
 * the map).  A return other than VL_OK stops the walk, and
 * rec_datadir_walk returns it. */
typedef vl_err (*rec_visit)(void *arg, uint8_t type, const uint8_t *buf, size_t len);

/* Walk every record through fn.  A log key that is not the next index
 * (1, 2, ...) is VL_ERR_CORRUPT with err naming the index expected; a lock
 * value shorter than its 40-byte header is VL_ERR_CORRUPT.  Returns VL_OK,
 * fn's first error, or VL_ERR_STORAGE (LMDB's reason in err). */
vl_err rec_datadir_walk(rec_datadir *d, rec_visit fn, void *arg, char *err, size_t cap);

/* End the transaction, close the environment, free *d; *d = NULL.  NULL
 * and *d == NULL are allowed. */
void rec_datadir_close(rec_datadir **d);

#endif
