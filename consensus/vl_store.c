/* vl_store.c - the node's LMDB environment (see vl_store.h).
 *
 * Notes
 *  1. The directory lock is flock() on "core.lock", held while open.
 *     flock locks belong to the open file description, so a second
 *     vl_store_open of the same directory in the same process is refused
 *     too (fcntl locks would not see it), which is what the simulator's
 *     crash-restart tests need.  LMDB's own lock.mdb does not protect
 *     against two writers in two processes each believing it is the only
 *     node with this identity; this lock does.
 *  2. Map growth happens only between transactions (LMDB requires no open
 *     transaction in the process for mdb_env_set_mapsize); the core calls
 *     vl_store_maybe_grow before each step and vl_store_grow after a step
 *     failed with MDB_MAP_FULL.
 *  2a. Growth "before it is full": vl_store_maybe_grow doubles the map
 *     when more than VL_STORE_GROW_AT_QUARTERS/4 of it holds pages.  Used
 *     is the file's high-water mark (last page + 1), the space the map
 *     must cover; free pages inside it are reused by LMDB.  The map is
 *     address space, not disk: growing it costs no disk.  The data file
 *     grows by pwrite as pages are written, and ahead of them by the
 *     prefill (note 2c) (no MDB_WRITEMAP: with a
 *     writable map a full disk is a SIGBUS on a page fault, here it is
 *     ENOSPC from the commit, VL_ERR_DISK_FULL).
 *  2b. MDB_PANIC.  LMDB marks the environment fatal when the write of a
 *     meta page fails (mdb_env_write_meta); every later transaction gets
 *     MDB_PANIC.  Page writes of a commit (mdb_page_flush) and the fsync
 *     of the data file fail the commit without that mark.  A meta write
 *     can fail with ENOSPC on a filesystem that allocates on overwrite
 *     (copy on write), or with EIO.  vl_store_begin records the panic and
 *     the core reopens the environment (vl_store_reopen): the file holds
 *     the last meta page that was written whole.
 *  2c. Single-page folios (docs/performance.md, change 12).  Linux 6.x
 *     keeps a file's page cache in folios as large as the write or the
 *     readahead that made them (ext4 and XFS: up to 2 MiB).  LMDB extends
 *     its file with runs of pages and later rewrites single pages inside
 *     them; a 4 KiB write into a large folio dirties it whole, and the
 *     commit's fdatasync writes it whole: a voter of four under load wrote
 *     9 to 12 times the bytes LMDB handed the kernel (about 240 MB/s of
 *     disk writes per node), and that cost about 8% of its CPU.  So a
 *     durable store keeps its data file's page cache in single pages:
 *     - at the open, before LMDB reads the file: its clean cached pages
 *       are dropped (POSIX_FADV_DONTNEED) and read back (up to
 *       VL_STORE_WARM_MAX) through our own descriptor with
 *       POSIX_FADV_RANDOM, which reads exactly what is asked, one page per
 *       folio, where readahead would allocate large folios;
 *     - ahead of LMDB (prefill, from vl_store_maybe_grow, between
 *       transactions): the file is extended past its end with zero pages
 *       written one per pwrite, each of which makes a single-page folio,
 *       so LMDB's runs land in small folios that are already there.  The
 *       extension is fdatasync'ed at once: a commit never pays for it.
 *     The prefill writes only past the file's end as fstat gives it now,
 *     never where LMDB may have written (LMDB may have outrun it), and
 *     only while the filesystem keeps VL_STORE_PREFILL_RESERVE free besides
 *     (so it never brings on the full-disk rules of vl_core.c note 20).
 *     LMDB ignores bytes past its last page (its copy stops there too).
 *     Any failure here (ENOSPC, EIO, a short write) is not an error: the
 *     store only loses the gain, and LMDB's own writes meet the same disk
 *     and report it.  A store that is not durable (the simulator) has no
 *     fsync to amplify and does neither.
 *  3. Default LMDB flags (no MDB_NOTLS): the core opens a transaction and
 *     ends it within one call, on one thread, so thread-local reader slots
 *     are never shared.  MDB_NOSYNC only when the caller asked for a
 *     non-durable store (the simulator).
 */
#include "vl_store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define VL_STORE_MAX_DBS 16

vl_err vl_store_xlate(int rc)
{
    switch (rc) {
    case 0:
        return VL_OK;
    case MDB_MAP_FULL:
        return VL_ERR_MAP_FULL;
    case ENOSPC:
        return VL_ERR_DISK_FULL;
    case ENOMEM:
        return VL_ERR_NOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return VL_ERR_CORRUPT;
    default:
        if (rc > 0)
            return VL_ERR_IO; /* an errno value: EIO, EACCES, EROFS, ... */
        return VL_ERR_STORAGE;
    }
}

/* err = a b c (err may be NULL). */
static void say(char *err, size_t cap, const char *a, const char *b, const char *c)
{
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s%s%s", a, b, c);
}

static vl_err lock_dir(vl_store *s, const char *dir, char *err, size_t cap)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/core.lock", dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        say(err, cap, "data directory path too long: ", dir, "");
        return VL_ERR_USAGE;
    }
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        int e = errno;
        say(err, cap, path, ": cannot open: ", strerror(e));
        return e == ENOSPC ? VL_ERR_DISK_FULL : VL_ERR_IO;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        say(err, cap, "data directory ", dir, " is in use by another process");
        return e == EWOULDBLOCK ? VL_ERR_LOCKED : VL_ERR_IO;
    }
    return VL_OK;
}

const char *const vl_store_tables[VL_STORE_TABLES] = {
    "log", "accounts", "meta", "slots", "locks", "pending", "origin", "peers", "forks"};

static vl_err open_dbis(vl_store *s)
{
    MDB_dbi *dbis[VL_STORE_TABLES] = {&s->log,   &s->accounts, &s->meta,
                                      &s->slots, &s->locks,    &s->pending,
                                      &s->origin, &s->peers,   &s->forks};
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < VL_STORE_TABLES; i++)
        rc = mdb_dbi_open(txn, vl_store_tables[i], MDB_CREATE, dbis[i]);
    if (rc == 0)
        return vl_store_xlate(mdb_txn_commit(txn));
    if (txn != NULL)
        mdb_txn_abort(txn);
    return vl_store_xlate(rc);
}

static uint64_t page_bytes(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (uint64_t)p : 4096u;
}

/* Note 2c: drop the clean cached pages of the data file and read it back
 * one page per folio.  Before mdb_env_open (no map holds them yet). */
static void warm(vl_store *s, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* a new environment: LMDB creates it */
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        uint64_t n = (uint64_t)st.st_size;
        if (n > VL_STORE_WARM_MAX)
            n = VL_STORE_WARM_MAX;
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
        enum { BUF = 256 * 1024 };
        char *buf = malloc(BUF);
        for (uint64_t off = 0; buf != NULL && off < n;) {
            size_t want = n - off < BUF ? (size_t)(n - off) : (size_t)BUF;
            ssize_t got = pread(fd, buf, want, (off_t)off);
            if (got <= 0)
                break;
            off += (uint64_t)got;
            s->warmed = off;
        }
        free(buf);
    }
    close(fd);
}

/* Note 2c: when the data file is less than half the margin (a quarter of
 * `used`, within PREFILL_MIN..MAX) past LMDB's pages, extend it past its
 * end with zero pages, one per pwrite, up to the whole margin or CHUNK
 * more; then fdatasync. */
static void prefill(vl_store *s, uint64_t used)
{
    uint64_t margin = used / 4u;
    if (margin < VL_STORE_PREFILL_MIN)
        margin = VL_STORE_PREFILL_MIN;
    if (margin > VL_STORE_PREFILL_MAX)
        margin = VL_STORE_PREFILL_MAX;
    struct stat st;
    if (fstat(s->data_fd, &st) != 0 || st.st_size < 0)
        return;
    uint64_t psize = page_bytes();
    uint64_t end = ((uint64_t)st.st_size + psize - 1u) / psize * psize;
    if (end < used)
        end = used; /* cannot be (the file holds LMDB's pages); never below them */
#ifdef VL_PLANT_PREFILL_STALE_END
    if (s->prefill_end != 0)
        end = s->prefill_end; /* planted: where we stopped, though LMDB went on */
#endif
    if (end >= used + margin / 2u)
        return;
    uint64_t stop = used + margin;
    if (stop - end > VL_STORE_PREFILL_CHUNK)
        stop = end + VL_STORE_PREFILL_CHUNK;
    struct statvfs v;
    if (fstatvfs(s->data_fd, &v) != 0 ||
        (uint64_t)v.f_bavail * (uint64_t)v.f_frsize < (stop - end) + VL_STORE_PREFILL_RESERVE)
        return;
    static const char zeros[65536];
    assert(psize <= sizeof zeros);
    uint64_t step = psize;
#ifdef VL_PLANT_PREFILL_BIG_WRITES
    step = sizeof zeros; /* planted: 64 KiB a pwrite, which makes large folios */
#endif
    uint64_t off = end;
    while (off < stop) {
        ssize_t n = pwrite(s->data_fd, zeros, (size_t)step, (off_t)off);
        if (n != (ssize_t)step)
            break;
        off += step;
    }
    if (off > end) {
        s->prefilled += off - end;
        s->prefill_end = off;
        (void)fdatasync(s->data_fd);
    }
}

vl_err vl_store_open(vl_store *s, const char *dir, bool durable, bool prefill_on, bool check,
                     uint64_t map_size_bytes, char *err, size_t err_cap)
{
    assert(s != NULL && dir != NULL);
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->data_fd = -1;
    s->prefill = durable && prefill_on;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int en = errno;
        say(err, err_cap, dir, ": cannot create data directory: ", strerror(en));
        return en == ENOSPC ? VL_ERR_DISK_FULL : VL_ERR_IO;
    }
    vl_err e = lock_dir(s, dir, err, err_cap);
    if (e != VL_OK)
        goto fail;
    if (map_size_bytes < VL_STORE_MIN_MAP)
        map_size_bytes = VL_STORE_MIN_MAP;
    char data[4096 + 16];
    snprintf(data, sizeof data, "%s/data.mdb", dir); /* dir fit core.lock's 4096 */
    if (s->prefill)
        warm(s, data);
    /* After warm: the check's reads then find single-page folios cached
     * (note 2c); before our own map, so that a fault is the child's. */
    if (check && (e = vl_store_check(dir, true, &s->check)) != VL_OK) {
        say(err, err_cap, dir,
            e == VL_ERR_CORRUPT ? ": the data file is damaged: " : ": cannot check the data file: ",
            s->check.error);
        goto fail;
    }
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, VL_STORE_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)map_size_bytes);
    if (rc == 0)
        rc = mdb_env_open(s->env, dir, durable ? 0u : (unsigned)MDB_NOSYNC, 0600);
    int dead = 0;
    if (rc == 0)
        rc = mdb_reader_check(s->env, &dead);
    s->stale_readers = dead > 0 ? (uint32_t)dead : 0u;
    s->durable = durable;
    e = vl_store_xlate(rc);
    if (e == VL_OK)
        e = open_dbis(s);
    if (e != VL_OK) {
        say(err, err_cap, dir, ": cannot open the LMDB environment: ",
            rc != 0 ? mdb_strerror(rc) : vl_strerror(e));
        goto fail;
    }
    if (s->prefill) {
        s->data_fd = open(data, O_WRONLY | O_CLOEXEC);
        if (s->data_fd >= 0) {
            uint64_t used, map;
            vl_store_usage(s, &used, &map);
            prefill(s, used);
        }
    }
    return VL_OK;
fail:
    vl_store_close(s);
    return e;
}

void vl_store_close(vl_store *s)
{
    if (s == NULL)
        return;
    if (s->env != NULL)
        mdb_env_close(s->env);
    s->env = NULL;
    if (s->data_fd >= 0)
        close(s->data_fd);
    s->data_fd = -1;
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    s->lock_fd = -1;
}

void vl_store_usage(vl_store *s, uint64_t *used_bytes, uint64_t *map_bytes)
{
    assert(s != NULL && s->env != NULL);
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(s->env, &info);
    assert(rc == 0);
    rc = mdb_env_stat(s->env, &st);
    assert(rc == 0);
    (void)rc;
    *used_bytes = ((uint64_t)info.me_last_pgno + 1u) * st.ms_psize;
    *map_bytes = info.me_mapsize;
}

vl_err vl_store_grow(vl_store *s)
{
    uint64_t used, size;
    vl_store_usage(s, &used, &size);
    if (size >= VL_STORE_MAX_MAP)
        return VL_ERR_MAP_FULL;
    uint64_t next = size * 2u;
    if (next > VL_STORE_MAX_MAP)
        next = VL_STORE_MAX_MAP;
    if (mdb_env_set_mapsize(s->env, (size_t)next) != 0)
        return VL_ERR_MAP_FULL;
    s->grows++;
    return VL_OK;
}

vl_err vl_store_maybe_grow(vl_store *s)
{
    uint64_t used, size;
    vl_store_usage(s, &used, &size);
    if (s->data_fd >= 0)
        prefill(s, used);
    if (used > size / 4u * VL_STORE_GROW_AT_QUARTERS)
        return vl_store_grow(s);
    return VL_OK;
}

vl_err vl_store_reopen(vl_store *s, const char *dir, char *err, size_t err_cap)
{
    assert(s != NULL && s->env != NULL && dir != NULL);
    MDB_envinfo info;
    uint64_t map = mdb_env_info(s->env, &info) == 0 ? info.me_mapsize : VL_STORE_MIN_MAP;
    bool durable = s->durable;
    bool prefill_on = s->prefill;
    uint64_t grows = s->grows, prefilled = s->prefilled;
    vl_store_close(s);
    vl_err e = vl_store_open(s, dir, durable, prefill_on, false, map, err, err_cap);
    s->grows = grows;
    s->prefilled += prefilled;
    return e;
}

vl_err vl_store_reader_check(vl_store *s, uint32_t *cleared)
{
    assert(s != NULL && s->env != NULL);
    int dead = 0;
    int rc = mdb_reader_check(s->env, &dead);
    if (cleared != NULL)
        *cleared = rc == 0 && dead > 0 ? (uint32_t)dead : 0u;
    return vl_store_xlate(rc);
}

uint64_t vl_store_free_bytes(const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        return UINT64_MAX;
    return (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
}

vl_err vl_store_begin(vl_store *s, bool read_only, MDB_txn **txn)
{
    assert(s != NULL && s->env != NULL && txn != NULL);
    *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, read_only ? MDB_RDONLY : 0u, txn);
    if (rc == MDB_PANIC)
        s->panicked = true; /* note 2b */
    return vl_store_xlate(rc);
}

vl_err vl_db_get(MDB_txn *t, MDB_dbi d, const void *key, size_t klen, MDB_val *val,
                 bool *found)
{
    assert(t != NULL && key != NULL && val != NULL && found != NULL);
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(t, d, &k, val);
    *found = rc == 0;
    if (rc == MDB_NOTFOUND) {
        memset(val, 0, sizeof *val);
        return VL_OK;
    }
    return vl_store_xlate(rc);
}

vl_err vl_db_put(MDB_txn *t, MDB_dbi d, const void *key, size_t klen, const void *val,
                 size_t vlen, unsigned flags, bool *existed)
{
    assert(t != NULL && key != NULL && (val != NULL || vlen == 0));
    MDB_val k = {klen, (void *)key};
    MDB_val v = {vlen, (void *)val};
    int rc = mdb_put(t, d, &k, &v, flags);
    if (existed != NULL)
        *existed = rc == MDB_KEYEXIST;
    if (rc == MDB_KEYEXIST && (flags & MDB_NOOVERWRITE) != 0)
        return VL_OK;
    return vl_store_xlate(rc);
}

vl_err vl_db_del(MDB_txn *t, MDB_dbi d, const void *key, size_t klen)
{
    assert(t != NULL && key != NULL);
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(t, d, &k, NULL);
    if (rc == MDB_NOTFOUND)
        return VL_OK;
    return vl_store_xlate(rc);
}

vl_err vl_db_count(MDB_txn *t, MDB_dbi d, uint64_t *n)
{
    assert(t != NULL && n != NULL);
    MDB_stat st;
    int rc = mdb_stat(t, d, &st);
    *n = rc == 0 ? (uint64_t)st.ms_entries : 0u;
    return vl_store_xlate(rc);
}

void vl_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t vl_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

void vl_slot_key(uint8_t out[40], const uint8_t account[32], uint64_t seq)
{
    memcpy(out, account, 32);
    vl_be64_put(out + 32, seq);
}
