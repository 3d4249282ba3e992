/* vl_logfile.h - a node's log exported to one file, for auditors.
 *
 * Written by `voucherctl log --export FILE` and by voucher-synthlog; read by
 * voucher-reconcile --log FILE.  Nothing in it is trusted by the reader:
 * every entry and checkpoint is verified against the genesis.
 *
 * Format (docs/reconcile.md): the 8 bytes "VLLOG\0\1\n", then records, each
 *   u8 type, u32 big-endian payload length (<= VL_LOGFILE_MAX_RECORD), payload
 *   type 1 HEADER      first record, exactly once: UTF-8 JSON
 *                      {"format":1,"network_id":hex,"node_id":str,
 *                       "node_index":n,"exported_at_ms":n}
 *   type 2 ENTRY       a log entry's wire encoding (as stored by the node),
 *                      in ascending index order
 *   type 3 CHECKPOINT  a signed checkpoint's wire encoding (zero or more)
 *   type 4 LOCK        the wire encoding of an order the node holds a lock
 *                      (its vote) on without a certificate (zero or more)
 */
#ifndef VL_LOGFILE_H
#define VL_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "vl_error.h"

#define VL_LOGFILE_MAGIC "VLLOG\0\1\n"
#define VL_LOGFILE_MAGIC_LEN 8
#define VL_LOGFILE_MAX_RECORD (1u << 20)

enum {
    VL_LOGREC_END = 0, /* returned by vl_logfile_next at end of file */
    VL_LOGREC_HEADER = 1,
    VL_LOGREC_ENTRY = 2,
    VL_LOGREC_CHECKPOINT = 3,
    VL_LOGREC_LOCK = 4,
};

typedef struct vl_logfile_writer vl_logfile_writer;
typedef struct vl_logfile_reader vl_logfile_reader;

/* Creates `path` (must not exist) and writes the magic and the header. */
vl_err vl_logfile_create(const char *path, const char *node_id, uint16_t node_index,
                         const uint8_t network_id[32], uint64_t exported_at_ms,
                         vl_logfile_writer **w, char *err, size_t cap);
/* Appends one record (type ENTRY, CHECKPOINT or LOCK). */
vl_err vl_logfile_put(vl_logfile_writer *w, uint8_t type, const uint8_t *buf, size_t len);
/* Flushes, fsyncs and closes; *w becomes NULL.  VL_OK only if every byte is
 * on disk. */
vl_err vl_logfile_close(vl_logfile_writer **w, char *err, size_t cap);

/* Opens `path`, checks the magic and reads the header. */
vl_err vl_logfile_open(const char *path, vl_logfile_reader **r, char *err, size_t cap);
const char *vl_logfile_node_id(const vl_logfile_reader *r);
uint16_t vl_logfile_node_index(const vl_logfile_reader *r);
const uint8_t *vl_logfile_network_id(const vl_logfile_reader *r); /* 32 bytes */
/* The next record: *type (VL_LOGREC_END at a clean end of file), its payload
 * (valid until the next call; vl_logfile.c maps the file, so in fact until
 * vl_logfile_close_reader, which voucher-reconcile relies on) and length.  A truncated or oversized record
 * is VL_ERR_TRUNCATED or VL_ERR_LIMIT, a bad header VL_ERR_TYPE, with `err`
 * naming the byte offset. */
vl_err vl_logfile_next(vl_logfile_reader *r, uint8_t *type, const uint8_t **buf, size_t *len,
                       char *err, size_t cap);
void vl_logfile_close_reader(vl_logfile_reader **r);

#endif
