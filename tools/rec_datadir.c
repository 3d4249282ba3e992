/* rec_datadir.c - a stopped node's data directory, read-only
 * (rec_datadir.h).
 *
 * Design notes
 *  1. One read transaction for the whole life of the handle: the records
 *     handed out point into LMDB's map and stay valid while it is open, so
 *     voucher-reconcile verifies a data directory without copying it.
 *  2. The environment is opened with MDB_RDONLY and the same number of
 *     named databases as any value >= consensus/vl_store.c's (READ_MAX_DBS),
 *     after checking that DIR/data.mdb exists (mdb_env_open would create a
 *     lock.mdb in any directory).  The node should be stopped; a read
 *     transaction is a consistent snapshot anyway.
 *  3. Loops are bounded by the databases' last keys.
 */
#include "rec_datadir.h"

#include <assert.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vl_logfile.h"

/* Any value at least the number of named databases opens the environment. */
#define READ_MAX_DBS 32
/* Longest DIR accepted (a path plus "/data.mdb"). */
#define DATADIR_MAX_PATH 4096

struct rec_datadir {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, log, locks;
    uint16_t node;
    uint8_t network_id[32];
    char dir[DATADIR_MAX_PATH];
};

static vl_err lmdb_fail(char *err, size_t cap, const char *dir, const char *what, int rc)
{
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s: %s: %s", dir, what, mdb_strerror(rc));
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ? VL_ERR_CORRUPT : VL_ERR_STORAGE;
}

static vl_err meta_read(rec_datadir *d, char *err, size_t cap)
{
    MDB_val k = {.mv_size = 4, .mv_data = "node"}, v;
    int rc = mdb_get(d->txn, d->meta, &k, &v);
    if (rc == 0 && v.mv_size == 2) {
        const uint8_t *p = v.mv_data;
        d->node = (uint16_t)(p[0] | p[1] << 8);
        k.mv_size = 7;
        k.mv_data = "network";
        rc = mdb_get(d->txn, d->meta, &k, &v);
    }
    if (rc == 0 && v.mv_size == 32) {
        memcpy(d->network_id, v.mv_data, 32);
        return VL_OK;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_fail(err, cap, d->dir, "reading meta", rc);
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s: meta has no node index or network id (not a node data directory?)",
                 d->dir);
    return VL_ERR_CORRUPT;
}

vl_err rec_datadir_open(const char *dir, bool private_copy, rec_datadir **out, char *err,
                        size_t cap)
{
    assert(dir != NULL && out != NULL);
    *out = NULL;
    char path[DATADIR_MAX_PATH + 16];
    struct stat sb;
    if (strlen(dir) >= DATADIR_MAX_PATH) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "data directory path too long (%zu bytes)", strlen(dir));
        return VL_ERR_IO;
    }
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "%s: not a node data directory (no data.mdb)", dir);
        return VL_ERR_IO;
    }
    rec_datadir *d = calloc(1, sizeof *d);
    if (d == NULL)
        return VL_ERR_NOMEM;
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    int rc = mdb_env_create(&d->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(d->env, READ_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_open(d->env, dir, MDB_RDONLY | (private_copy ? MDB_NOLOCK : 0u), 0600);
    if (rc == 0)
        rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &d->txn);
    if (rc == 0)
        rc = mdb_dbi_open(d->txn, "meta", 0, &d->meta);
    if (rc == 0)
        rc = mdb_dbi_open(d->txn, "log", 0, &d->log);
    if (rc == 0)
        rc = mdb_dbi_open(d->txn, "locks", 0, &d->locks);
    vl_err e = rc != 0 ? lmdb_fail(err, cap, dir, "cannot open the LMDB environment read-only", rc)
                       : meta_read(d, err, cap);
    if (e != VL_OK) {
        rec_datadir_close(&d);
        return e;
    }
    *out = d;
    return VL_OK;
}

uint16_t rec_datadir_node_index(const rec_datadir *d)
{
    assert(d != NULL);
    return d->node;
}

const uint8_t *rec_datadir_network_id(const rec_datadir *d)
{
    assert(d != NULL);
    return d->network_id;
}

static vl_err walk_log(rec_datadir *d, rec_visit fn, void *arg, char *err, size_t cap)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t next = 1;
    int rc = mdb_cursor_open(d->txn, d->log, &cur);
    if (rc != 0)
        return lmdb_fail(err, cap, d->dir, "reading the log", rc);
    vl_err e = VL_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && e == VL_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t idx = 0;
        for (size_t i = 0; k.mv_size == 8 && i < 8; i++)
            idx = idx << 8 | ((const uint8_t *)k.mv_data)[i];
        if (k.mv_size != 8 || idx != next) {
            if (err != NULL && cap > 0)
                snprintf(err, cap, "%s: log key after entry %llu is not entry %llu", d->dir,
                         (unsigned long long)(next - 1), (unsigned long long)next);
            e = VL_ERR_CORRUPT;
            break;
        }
        e = fn(arg, VL_LOGREC_ENTRY, v.mv_data, v.mv_size);
        next++;
    }
    mdb_cursor_close(cur);
    if (e == VL_OK && rc != 0 && rc != MDB_NOTFOUND)
        e = lmdb_fail(err, cap, d->dir, "reading the log", rc);
    return e;
}

static vl_err walk_locks(rec_datadir *d, rec_visit fn, void *arg, char *err, size_t cap)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(d->txn, d->locks, &cur);
    if (rc != 0)
        return lmdb_fail(err, cap, d->dir, "reading the locks", rc);
    vl_err e = VL_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && e == VL_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size <= 40) { /* time || order hash || order */
            if (err != NULL && cap > 0)
                snprintf(err, cap, "%s: a lock record of %zu bytes (no order)", d->dir,
                         v.mv_size);
            e = VL_ERR_CORRUPT;
            break;
        }
        e = fn(arg, VL_LOGREC_LOCK, (const uint8_t *)v.mv_data + 40, v.mv_size - 40);
    }
    mdb_cursor_close(cur);
    if (e == VL_OK && rc != 0 && rc != MDB_NOTFOUND)
        e = lmdb_fail(err, cap, d->dir, "reading the locks", rc);
    return e;
}

vl_err rec_datadir_walk(rec_datadir *d, rec_visit fn, void *arg, char *err, size_t cap)
{
    assert(d != NULL && fn != NULL);
    vl_err e = walk_log(d, fn, arg, err, cap);
    if (e != VL_OK)
        return e;
    MDB_val k = {.mv_size = 10, .mv_data = "checkpoint"}, v;
    int rc = mdb_get(d->txn, d->meta, &k, &v);
    if (rc == 0)
        e = fn(arg, VL_LOGREC_CHECKPOINT, v.mv_data, v.mv_size);
    else if (rc != MDB_NOTFOUND)
        return lmdb_fail(err, cap, d->dir, "reading the checkpoint", rc);
    return e != VL_OK ? e : walk_locks(d, fn, arg, err, cap);
}

void rec_datadir_close(rec_datadir **dp)
{
    assert(dp != NULL);
    rec_datadir *d = *dp;
    *dp = NULL;
    if (d == NULL)
        return;
    if (d->txn != NULL)
        mdb_txn_abort(d->txn);
    if (d->env != NULL)
        mdb_env_close(d->env);
    free(d);
}
