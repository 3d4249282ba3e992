/* ctl_backup.c - voucherctl backup (a consistent hot copy of a node's LMDB
 * data directory, verified) and restore (a backup into a new data directory
 * of the same node, which then comes back as an observer).
 *
 * Design notes
 *  1. Hot copy.  backup opens the node's environment read-only while the
 *     node may run (MDB_RDONLY, sharing its lock.mdb: the copy's read
 *     transaction holds a reader slot, so the writer does not reuse the
 *     pages of that snapshot) and writes a compacted copy with
 *     mdb_env_copyfd2(MDB_CP_COMPACT) into a file this tool created
 *     (O_EXCL, mode 0600), then fsyncs the file and the directory: the
 *     copy is durable before it is called a backup.  The node's core.lock
 *     is not taken; it guards writers (consensus/vl_store.c note 1).  A
 *     running node may grow its map between our open and the copy
 *     (MDB_MAP_RESIZED): the copy adopts the new size and starts again, at
 *     most COPY_ATTEMPTS times.
 *  2. Verified.  The copy, never the source, is checked: opened read-only
 *     without a lock file (MDB_NOLOCK: nobody writes a backup), its meta
 *     must name the genesis' network and a node of it, its log must chain
 *     from the network id with every certificate valid (ctl_read.c, the
 *     code verify-log --data-dir runs), and its stored head and state
 *     digest must equal the ones recomputed from the log; before all of
 *     that, every record of every table is read in a child process
 *     (ctl_read.c note 5), so a copy of a damaged file is refused, not
 *     restored into a node that would crash on it.  The source is walked
 *     the same way before the copy (mdb_env_copyfd2 follows its pages in
 *     this process: a damaged one would crash the tool instead of naming
 *     the damage).  A copy that does
 *     not verify is kept (it may be evidence) but the command exits 1 and
 *     restore refuses it.
 *  3. Restore makes an observer (DESIGN.md 5, "Lost data").  A restored
 *     voter may have forgotten votes it cast after the backup, so it must
 *     never vote again under that key.  restore checks the backup as in 2,
 *     copies it into a new data directory (absent or empty: it never
 *     overwrites one) the same way as in 1, then opens that directory once
 *     with the core (vl_core_open, force_observer, durable), which stores
 *     the sticky observer flag in meta (consensus/vl_state.c,
 *     meta_observer), and reads the flag back.  Only a new key under a new
 *     genesis makes the node a voter again (docs/operations.md 7).
 *  4. The backup holds the node index: restore takes that index from the
 *     backup and refuses a --key that is not that node's key in the
 *     genesis, so one node's backup never becomes another node's data.
 *  5. Cold backups and moving a node.  A copy taken while the node cannot
 *     run holds every vote it ever cast, so it may come back as the same
 *     voter on another machine.  backup proves the node is stopped by
 *     taking the node's own directory lock (flock on DIR/core.lock, the
 *     lock vl_store.c note 1 takes; opened read-only, never created, so
 *     the tool run as another user leaves nothing the node cannot open)
 *     and holding it for the whole copy: a voucherd starting meanwhile
 *     refuses (`locked`).  Only then it records in the copy's meta
 *     "backup" = COLD_TAG + the time of the copy; a hot copy has that key
 *     deleted, so a marker can never be inherited from the source.  The
 *     marker lives inside data.mdb, so a backup stays one file and the
 *     marker cannot be moved onto another backup.  restore --move accepts
 *     only a cold backup, removes the marker and does not set the observer
 *     flag (a flag already stored, the node being an observer, stays);
 *     plain restore removes the marker too and forces the observer flag.
 *     A backup is cold only with --cold, and then, still under the lock,
 *     the source is retired: the sticky observer flag goes into the
 *     node's own data directory (retire_source), so the old copy, started
 *     again, can never vote, and the cold copy stays the only one holding
 *     every vote of that key (without this, a backup taken in a restart
 *     gap and restored weeks later would come back as a voter that forgot
 *     its later votes).  restore --move then consumes the cold backup:
 *     once the copy is made and checked, the backup's own marker becomes
 *     MOVED_TAG + the time (mark_moved), and a second restore --move of
 *     that backup is refused (a plain restore, as an observer, is still
 *     allowed).  If the backup cannot be marked (read-only media), the
 *     restore fails and its copy is discarded: copy the backup somewhere
 *     writable first.  What no tool can enforce: restoring --move a copy of
 *     the backup made before the first restore (docs/operations.md 7,
 *     "Replacing a machine").
 *  6. A hot copy is an observer by itself.  Only restore used to set the
 *     observer flag, so a hot backup's data.mdb copied by hand into a data
 *     directory (or a data_dir pointed at the backup) came back as a voter
 *     that had forgotten the votes it cast after the copy, as an operator's
 *     walk found.  So backup stores the sticky observer flag in every hot
 *     copy (mark_hot), after the marker; a cold copy (note 5) stays a voter
 *     for restore --move.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "vl_core.h"

/* Copies started again after the source's map grew (note 1). */
#define COPY_ATTEMPTS 4
/* Entries of a directory looked at to tell whether it is empty. */
#define DIR_SCAN_MAX 4
/* meta "backup" of a cold copy: this tag, then the copy's unix time in
 * seconds, big-endian u64 (note 5). */
#define COLD_TAG "cold"
#define COLD_LEN (4 + 8)
/* ... of a cold backup that restore --move used: this tag, then the time
 * of that restore (note 5). */
#define MOVED_TAG "movd"
#define BACKUP_KEY "backup"

/* What a node data directory's `meta` says (consensus/vl_state.c). */
typedef struct {
    uint8_t schema;
    uint8_t network[32];
    uint16_t node;
    uint8_t pubkey[32];
    uint64_t head;
    uint8_t head_hash[32];
    uint8_t digest[32];
    bool has_digest;
    bool observer;
    bool cold;          /* a backup taken while the node was stopped (note 5) */
    uint64_t cold_time; /* when, unix seconds */
    bool moved;         /* a cold backup restore --move used (note 5) */
    uint64_t moved_time; /* when, unix seconds */
} node_meta;

static bool meta_value(MDB_txn *t, MDB_dbi d, const char *name, void *out, size_t len,
                       bool *bad)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(t, d, &k, &v);
    if (rc == 0 && v.mv_size == len) {
        memcpy(out, v.mv_data, len);
        return true;
    }
    if (rc != MDB_NOTFOUND)
        *bad = true;
    return false;
}

/* Read dir's meta from env.  EXIT_OK, or EXIT_FAIL reported (not a node
 * data directory, or its meta is damaged). */
static int read_meta(const vl_ctx *c, MDB_env *env, const char *dir, node_meta *m)
{
    MDB_txn *t = NULL;
    MDB_dbi d;
    uint8_t schema[4], node[2], head[40], flag[1] = {0}, cold[COLD_LEN];
    bool bad = false;
    memset(m, 0, sizeof *m);
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &t);
    if (rc == 0)
        rc = mdb_dbi_open(t, "meta", 0, &d);
    if (rc != 0) {
        if (t != NULL)
            mdb_txn_abort(t);
        return fail(c, EXIT_FAIL, "%s: not a node data directory (no meta: %s)", dir,
                    mdb_strerror(rc));
    }
    bool all = meta_value(t, d, "schema", schema, sizeof schema, &bad) &&
               meta_value(t, d, "network", m->network, 32, &bad) &&
               meta_value(t, d, "node", node, sizeof node, &bad) &&
               meta_value(t, d, "pubkey", m->pubkey, 32, &bad) &&
               meta_value(t, d, "head", head, sizeof head, &bad);
    m->has_digest = meta_value(t, d, "digest", m->digest, 32, &bad);
    m->observer = meta_value(t, d, "observer", flag, sizeof flag, &bad) && flag[0] != 0;
    if (meta_value(t, d, BACKUP_KEY, cold, sizeof cold, &bad)) {
        m->cold = memcmp(cold, COLD_TAG, 4) == 0;
        m->moved = memcmp(cold, MOVED_TAG, 4) == 0;
        uint64_t when = 0;
        for (int i = 0; i < 8; i++)
            when = when << 8 | cold[4 + i];
        m->cold_time = m->cold ? when : 0;
        m->moved_time = m->moved ? when : 0;
    }
    mdb_txn_abort(t);
    if (!all || bad)
        return fail(c, EXIT_FAIL, "%s: not a node data directory (its meta is %s)", dir,
                    bad ? "damaged" : "incomplete");
    m->schema = schema[0];
    m->node = (uint16_t)(node[0] | node[1] << 8);
    for (int i = 0; i < 8; i++)
        m->head = m->head << 8 | head[i];
    memcpy(m->head_hash, head + 8, 32);
    return EXIT_OK;
}

/* The meta must belong to g (network, node index, that node's key). */
static int meta_matches(const vl_ctx *c, const char *dir, const node_meta *m,
                        const vl_genesis *g)
{
    char have[17], want[17];
    if (memcmp(m->network, g->network_id, 32) != 0) {
        vl_hex_encode(have, m->network, 8);
        vl_hex_encode(want, g->network_id, 8);
        return fail(c, EXIT_FAIL, "%s belongs to network %s..., not to this genesis (%s...)", dir,
                    have, want);
    }
    if (m->node >= g->node_count)
        return fail(c, EXIT_FAIL, "%s: node index %u is not in the genesis", dir,
                    (unsigned)m->node);
    if (memcmp(m->pubkey, g->nodes[m->node].pubkey, 32) != 0)
        return fail(c, EXIT_FAIL, "%s: the key of node %s differs from the genesis", dir,
                    g->nodes[m->node].id);
    return EXIT_OK;
}

int ctl_dir_belongs(const vl_ctx *c, MDB_env *env, const char *dir, const vl_genesis *g)
{
    node_meta m;
    int st = read_meta(c, env, dir, &m);
    return st == EXIT_OK ? meta_matches(c, dir, &m, g) : st;
}

/* dir is absent (created, *created) or an empty directory. */
static int prepare_dir(const vl_ctx *c, const char *opt, const char *dir, bool *created)
{
    *created = false;
    if (mkdir(dir, 0700) == 0) {
        *created = true;
        return EXIT_OK;
    }
    if (errno != EEXIST)
        return fail(c, EXIT_FAIL, "--%s %s: cannot create it: %s%s", opt, dir, strerror(errno),
                    errno == ENOENT ? " (its parent directory does not exist: create it first)"
                                    : "");
    DIR *d = opendir(dir);
    if (d == NULL)
        return fail(c, EXIT_FAIL, "--%s %s: exists and is not a directory we can read: %s", opt,
                    dir, strerror(errno));
    struct dirent *e;
    bool empty = true;
    for (int i = 0; i < DIR_SCAN_MAX && empty && (e = readdir(d)) != NULL; i++)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return fail(c, EXIT_FAIL, "--%s %s: the directory is not empty (never overwritten)", opt,
                    dir);
    return EXIT_OK;
}

/* Remove what this tool put into dir after a failure (not a copy that does
 * not verify: note 2). */
static void discard_dir(const char *dir, bool created)
{
    static const char *files[] = {"data.mdb", "lock.mdb", "core.lock"};
    char path[DEVNET_MAX_PATH + 16];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (snprintf(path, sizeof path, "%s/%s", dir, files[i]) < (int)sizeof path)
            unlink(path);
    if (created)
        rmdir(dir);
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int en = errno;
    close(fd);
    errno = en;
    return rc;
}

/* A compacted copy of env into DIR/data.mdb (a new file), fsynced with
 * its directory (note 1).  *bytes: its size.  EXIT_OK or EXIT_FAIL
 * reported; on failure the new file is removed. */
static int env_copy(const vl_ctx *c, MDB_env *env, const char *src, const char *dir,
                    uint64_t *bytes)
{
    char path[DEVNET_MAX_PATH + 16];
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return fail(c, EXIT_USAGE, "%s: path too long", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(c, EXIT_FAIL, "%s: cannot create: %s", path, strerror(errno));
    int rc = MDB_MAP_RESIZED;
    for (int i = 0; i < COPY_ATTEMPTS && rc == MDB_MAP_RESIZED; i++) {
        if (i > 0 && (mdb_env_set_mapsize(env, 0) != 0 || ftruncate(fd, 0) != 0 ||
                      lseek(fd, 0, SEEK_SET) != 0))
            break;
        rc = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT);
    }
    const char *why = rc != 0 ? mdb_strerror(rc) : NULL;
    struct stat sb;
    if (why == NULL && (fsync(fd) != 0 || fstat(fd, &sb) != 0))
        why = strerror(errno);
    if (close(fd) != 0 && why == NULL)
        why = strerror(errno);
    if (why == NULL && fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0)
        why = strerror(errno);
    if (why != NULL) {
        unlink(path);
        return fail(c, EXIT_FAIL, "copying %s into %s: %s", src, dir, why);
    }
    *bytes = (uint64_t)sb.st_size;
    return EXIT_OK;
}

/* Check the copy in dir (note 2): *m its meta, *ch its log.  EXIT_OK, or
 * EXIT_FAIL reported. */
static int check_copy(const vl_ctx *c, const char *dir, const vl_genesis *g, node_meta *m,
                      log_chain *ch)
{
    MDB_env *env = NULL;
    int st = ctl_data_check(c, dir, true, ch); /* ctl_read.c note 5 */
    if (st == EXIT_OK)
        st = ctl_env_open(c, dir, true, &env);
    if (st == EXIT_OK)
        st = read_meta(c, env, dir, m);
    if (st == EXIT_OK)
        st = meta_matches(c, dir, m, g);
    if (st == EXIT_OK)
        st = log_chain_walk(c, env, dir, ch);
    if (env != NULL)
        mdb_env_close(env);
    if (st != EXIT_OK)
        return st;
    uint8_t digest[32];
    log_chain_digest(ch, digest);
    if (ch->bad_index != 0)
        return fail(c, EXIT_FAIL, "%s does not verify: log entry %" PRIu64 " fails: %s (%s)", dir,
                    ch->bad_index, vl_strerror(ch->bad), vl_err_slug(ch->bad));
    if (m->head != ch->next - 1 || memcmp(m->head_hash, ch->prev, 32) != 0)
        return fail(c, EXIT_FAIL,
                    "%s does not verify: its head says %" PRIu64 " entries, the log has %" PRIu64
                    " (or another head hash)",
                    dir, m->head, ch->next - 1);
    if (!m->has_digest || memcmp(m->digest, digest, 32) != 0)
        return fail(c, EXIT_FAIL,
                    "%s does not verify: its state digest differs from the log's certificates",
                    dir);
    return EXIT_OK;
}

/* Take DIR/core.lock without waiting (note 5).  *fd: the held lock, or -1
 * when the node runs (the lock is held) or never ran there (no core.lock).
 * *why: which of the two, for the message. */
static void try_stopped_lock(const char *dir, int *fd, const char **why)
{
    char path[DEVNET_MAX_PATH + 16];
    *fd = -1;
    *why = "the path is too long";
    if (snprintf(path, sizeof path, "%s/core.lock", dir) >= (int)sizeof path)
        return;
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) {
        *why = errno == ENOENT ? "it has no core.lock, so no stopped node can be proven"
                               : "its core.lock cannot be opened";
        return;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        *why = "its voucherd is running (core.lock is held)";
        close(f);
        return;
    }
    *fd = f;
}

/* Put key = val (val NULL: delete key; absent is fine) in the meta
 * database of dir, in one synchronous transaction.  env_flags: MDB_NOLOCK
 * for a private directory nobody else opens, 0 for a node's own directory
 * (its lock is held by the caller).  An LMDB code, 0 on success. */
static int meta_write(const char *dir, unsigned env_flags, const char *key, const uint8_t *val,
                      size_t len)
{
    MDB_env *env = NULL;
    MDB_txn *t = NULL;
    MDB_dbi d;
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 32);
    if (rc == 0)
        rc = mdb_env_open(env, dir, env_flags, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &t);
    if (rc == 0)
        rc = mdb_dbi_open(t, "meta", 0, &d);
    if (rc == 0)
        rc = val != NULL ? mdb_put(t, d, &k, &v, 0) : mdb_del(t, d, &k, NULL);
    if (rc == MDB_NOTFOUND && val == NULL)
        rc = 0;
    if (rc == 0) {
        rc = mdb_txn_commit(t); /* synchronous: no MDB_NOSYNC */
        t = NULL;
    }
    if (t != NULL)
        mdb_txn_abort(t);
    if (env != NULL)
        mdb_env_close(env);
    return rc;
}

/* Write the meta "backup" marker `tag` (COLD_TAG or MOVED_TAG) with the
 * time now, or delete it (tag NULL), in the private directory dir (a
 * backup or a restored directory nobody else opens), durably.  An LMDB
 * code, 0 on success. */
static int write_marker(const char *dir, const char *tag)
{
    uint8_t v[COLD_LEN];
    uint64_t now = (uint64_t)time(NULL);
    memcpy(v, tag != NULL ? tag : COLD_TAG, 4);
    for (int i = 0; i < 8; i++)
        v[4 + i] = (uint8_t)(now >> (56 - 8 * i));
    return meta_write(dir, MDB_NOLOCK, BACKUP_KEY, tag != NULL ? v : NULL, sizeof v);
}

/* Set (cold) or delete the cold marker of dir (write_marker). */
static int set_marker(const vl_ctx *c, const char *dir, bool cold)
{
    int rc = write_marker(dir, cold ? COLD_TAG : NULL);
    if (rc != 0)
        return fail(c, EXIT_FAIL, "%s: cannot %s the backup marker: %s", dir,
                    cold ? "write" : "remove", mdb_strerror(rc));
    return EXIT_OK;
}

/* Note 5: the cold backup bak has been restored with --move: mark it used,
 * so that it never makes a second copy of the voter. */
static int mark_moved(const vl_ctx *c, const char *bak)
{
    int rc = write_marker(bak, MOVED_TAG);
    if (rc != 0)
        return fail(c, EXIT_FAIL,
                    "%s: cannot mark the backup as used by restore --move: %s. A backup that "
                    "is not marked could be restored --move again, a second copy of the same "
                    "voter, so nothing was restored: copy the backup to writable storage and "
                    "restore that copy (docs/operations.md 7)",
                    bak, mdb_strerror(rc));
    return EXIT_OK;
}

/* Note 5: retire the source of a cold backup, while its lock is still held:
 * store the sticky observer flag (meta "observer" = 1, as the core's
 * force_observer does, consensus/vl_state.c meta_observer) in the node's
 * own data directory, so that the copy is the only one that may vote. */
static int retire_source(const vl_ctx *c, const char *dir)
{
    static const uint8_t one[1] = {1};
    int rc = meta_write(dir, 0, "observer", one, sizeof one);
    if (rc != 0)
        return fail(c, EXIT_FAIL,
                    "%s: cannot retire the source (store its observer flag): %s; the copy "
                    "must not be used",
                    dir, mdb_strerror(rc));
    return EXIT_OK;
}

/* Note 6: a hot copy carries the sticky observer flag itself, so that its
 * data.mdb, started as it is (copied by hand, or data_dir pointed at it),
 * comes back as an observer, as restore would make it. */
static int mark_hot(const vl_ctx *c, const char *dir)
{
    static const uint8_t one[1] = {1};
    int rc = meta_write(dir, MDB_NOLOCK, "observer", one, sizeof one);
    if (rc != 0)
        return fail(c, EXIT_FAIL, "%s: cannot store the observer flag in the copy: %s", dir,
                    mdb_strerror(rc));
    return EXIT_OK;
}

static json_t *head_json(const vl_genesis *g, const node_meta *m)
{
    json_t *j = jobj();
    jset(j, "network_id", jhex(m->network, 32));
    jset(j, "node", json_integer(m->node));
    jset(j, "node_id", json_string(g->nodes[m->node].id));
    jset(j, "entries", ju64(m->head));
    jset(j, "head_hash", jhex(m->head_hash, 32));
    jset(j, "state_digest", jhex(m->digest, 32));
    jset(j, "observer", json_boolean(m->observer));
    return j;
}

static const char *kind_name(const node_meta *m)
{
    return m->cold ? "cold" : m->moved ? "moved" : "hot";
}

/* ---- backup ---------------------------------------------------------------------------- */

int cmd_backup(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "data-dir", .kind = OPT_VALUE, .required = true},
                     {.name = "out", .kind = OPT_VALUE, .required = true},
                     {.name = "genesis", .kind = OPT_VALUE, .required = true},
                     {.name = "cold", .kind = OPT_FLAG}};
    vl_args a = {.opts = opts, .opt_count = 4};
    vl_genesis *g = NULL;
    MDB_env *env = NULL;
    node_meta src, m;
    log_chain ch;
    bool created = false, have_chain = false;
    uint64_t bytes = 0;
    int lock = -1;
    const char *why = NULL;
    int st = parse_args(c, &a, argc, argv);
    const char *dir = opts[0].value, *out = opts[1].value;
    if (st == EXIT_OK)
        st = load_genesis(c, opts[2].value, &g);
    if (st == EXIT_OK) /* held until the copy is made and marked (note 5) */
        try_stopped_lock(dir, &lock, &why);
    if (st == EXIT_OK && opts[3].set && lock < 0)
        st = fail(c, EXIT_FAIL,
                  "--cold: cannot prove that the node of %s is stopped: %s. Stop voucherd "
                  "first (a hot backup, without --cold, can only bring it back as an observer)",
                  dir, why);
    if (st == EXIT_OK) /* the source too: LMDB's copy walks its pages in this process */
        st = ctl_data_check(c, dir, lock >= 0, NULL);
    if (st == EXIT_OK)
        st = ctl_env_open(c, dir, false, &env); /* shares the running node's lock.mdb */
    if (st == EXIT_OK)
        st = read_meta(c, env, dir, &src);
    if (st == EXIT_OK)
        st = meta_matches(c, dir, &src, g);
    if (st == EXIT_OK)
        st = prepare_dir(c, "out", out, &created);
    bool prepared = st == EXIT_OK;
    if (st == EXIT_OK) {
        st = env_copy(c, env, dir, out, &bytes);
        if (st == EXIT_OK) /* cold only when asked for (note 5) */
            st = set_marker(c, out, opts[3].set && lock >= 0);
        if (st == EXIT_OK && !(opts[3].set && lock >= 0))
            st = mark_hot(c, out); /* note 6 */
    }
    if (env != NULL)
        mdb_env_close(env);
    env = NULL;
    if (st == EXIT_OK && opts[3].set && lock >= 0)
        st = retire_source(c, dir); /* still under the lock: the copy is the voter now */
    if (st != EXIT_OK && prepared)
        discard_dir(out, created);
    if (lock >= 0)
        close(lock); /* releases the flock: the node may start again */
    if (st == EXIT_OK) {
        log_chain_init(&ch, g);
        have_chain = true;
        st = check_copy(c, out, g, &m, &ch);
    }
    if (st == EXIT_OK) {
        char human[1536], hh[65], dg[65];
        json_t *res = head_json(g, &m);
        jset(res, "ok", json_true());
        jset(res, "kind", json_string(kind_name(&m)));
        jset(res, "source", json_string(dir));
        jset(res, "backup", json_string(out));
        char copy_path[DEVNET_MAX_PATH + 16];
        struct stat cs; /* the file as it is now: marking the copy (note 5) may grow it */
        if (snprintf(copy_path, sizeof copy_path, "%s/data.mdb", out) < (int)sizeof copy_path &&
            stat(copy_path, &cs) == 0)
            bytes = (uint64_t)cs.st_size;
        jset(res, "bytes", ju64(bytes));
        jset(res, "issues", ju64(ch.kinds[VL_ORDER_ISSUE]));
        jset(res, "redeems", ju64(ch.kinds[VL_ORDER_REDEEM]));
        jset(res, "revokes", ju64(ch.kinds[VL_ORDER_REVOKE]));
        jset(res, "records_checked", ju64(ch.checked_records));
        vl_hex_encode(hh, m.head_hash, 32);
        vl_hex_encode(dg, m.digest, 32);
        snprintf(human, sizeof human,
                 "backup of %s (%s, node index %u) written to %s and verified: %" PRIu64
                 " log entries, every certificate valid, all %" PRIu64
                 " records of its tables read\n"
                 "  head hash    %s\n  state digest %s\n"
                 "Restore it only into %s's data directory, with voucherctl restore (the node "
                 "comes back as an observer)%s",
                 dir, g->nodes[m.node].id, (unsigned)m.node, out, m.head, ch.checked_records,
                 hh, dg,
                 g->nodes[m.node].id,
                 m.cold ? ".\nThis is a COLD backup (the node was stopped during the whole "
                          "copy): restore --move brings it back as the same voter, on one "
                          "machine only (docs/operations.md 7, Replacing a machine). The "
                          "source directory is retired: started again, it runs as an "
                          "observer."
                        : "; taken while the node could run, so it is a HOT backup: "
                          "restore --move refuses it.");
        st = emit(c, res, human);
    } else if (have_chain) {
        fprintf(stderr, "voucherctl backup: the copy in %s must not be used\n", out);
    }
    if (have_chain)
        log_chain_free(&ch);
    free(g);
    free_args(&a);
    return st;
}

/* ---- restore --------------------------------------------------------------------------- */

/* Open dir with the core once: as a forced observer (note 3), or, for a
 * move (note 5), as it is, to prove the node will open it. */
static int core_open_once(const vl_ctx *c, const char *dir, const vl_genesis *g, uint16_t node,
                          const vl_keypair *key, bool observer)
{
    vl_core_config cfg;
    vl_core *core = NULL;
    char err[512];
    vl_core_config_defaults(&cfg);
    cfg.dir = dir;
    cfg.genesis = g;
    cfg.node = node;
    cfg.key = key;
    cfg.force_observer = observer;
    cfg.durable = true;
    vl_err e = vl_core_open(&core, &cfg, err, sizeof err);
    if (e != VL_OK)
        return fail(c, EXIT_FAIL, "%s: cannot open the restored data: %s", dir,
                    err[0] != '\0' ? err : vl_strerror(e));
    vl_core_close(&core);
    return EXIT_OK;
}

/* Copy the verified backup bak into dir (absent or empty), remove the
 * backup marker, store the observer flag unless move, and read the meta
 * back into *after.  On failure nothing this wrote is left in dir. */
static int restore_into(const vl_ctx *c, const char *bak, const char *dir, const vl_genesis *g,
                        uint16_t node, const vl_keypair *key, bool move, node_meta *after)
{
    MDB_env *env = NULL;
    bool created = false;
    uint64_t bytes = 0;
    int st = prepare_dir(c, "data-dir", dir, &created);
    if (st != EXIT_OK)
        return st;
    st = ctl_env_open(c, bak, true, &env);
    if (st == EXIT_OK)
        st = env_copy(c, env, bak, dir, &bytes);
    if (env != NULL)
        mdb_env_close(env);
    env = NULL;
    if (st == EXIT_OK)
        st = set_marker(c, dir, false);
    if (st == EXIT_OK)
        st = core_open_once(c, dir, g, node, key, !move);
    if (st == EXIT_OK) { /* read the flag back, as the node will */
        st = ctl_env_open(c, dir, false, &env);
        if (st == EXIT_OK)
            st = read_meta(c, env, dir, after);
        if (env != NULL)
            mdb_env_close(env);
        if (st == EXIT_OK && !move && !after->observer)
            st = fail(c, EXIT_FAIL, "%s: the observer flag was not stored", dir);
        if (st == EXIT_OK && after->cold)
            st = fail(c, EXIT_FAIL, "%s: the backup marker was not removed", dir);
    }
    if (st == EXIT_OK && move) /* note 5: last, so that a failed restore leaves it usable */
        st = mark_moved(c, bak);
    if (st != EXIT_OK)
        discard_dir(dir, created);
    return st;
}

int cmd_restore(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "backup", .kind = OPT_VALUE, .required = true},
                     {.name = "data-dir", .kind = OPT_VALUE, .required = true},
                     {.name = "genesis", .kind = OPT_VALUE, .required = true},
                     {.name = "key", .kind = OPT_VALUE, .required = true},
                     {.name = "move", .kind = OPT_FLAG}};
    vl_args a = {.opts = opts, .opt_count = 5};
    vl_genesis *g = NULL;
    vl_keyfile k;
    node_meta m, after;
    log_chain ch;
    bool have_key = false, have_chain = false;
    memset(&k, 0, sizeof k);
    int st = parse_args(c, &a, argc, argv);
    const char *bak = opts[0].value, *dir = opts[1].value;
    if (st == EXIT_OK)
        st = load_genesis(c, opts[2].value, &g);
    if (st == EXIT_OK) {
        st = load_keyfile(c, opts[3].value, &k);
        have_key = st == EXIT_OK;
    }
    if (st == EXIT_OK) {
        log_chain_init(&ch, g);
        have_chain = true;
        st = check_copy(c, bak, g, &m, &ch); /* the backup, before anything is written */
    }
    if (st == EXIT_OK && memcmp(k.sign.pubkey, g->nodes[m.node].pubkey, 32) != 0)
        st = fail(c, EXIT_FAIL,
                  "--key %s is not the key of %s, whose backup this is (a backup is restored "
                  "only into its own node)",
                  opts[3].value, g->nodes[m.node].id);
    bool move = opts[4].set;
    if (st == EXIT_OK && move && m.moved) {
        char when[48];
        time_t t = (time_t)m.moved_time;
        struct tm tm;
        if (m.moved_time > (uint64_t)INT32_MAX * 64u || gmtime_r(&t, &tm) == NULL ||
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
            snprintf(when, sizeof when, "unix time %" PRIu64, m.moved_time);
        st = fail(c, EXIT_FAIL,
                  "--move: the cold backup %s was restored with --move already (%s): %s runs "
                  "from that copy, and a second one would be the same voter twice, able to "
                  "vote twice for one slot. Restore it without --move (an observer), or move "
                  "the node again with a new cold backup of the copy that runs "
                  "(docs/operations.md 7)",
                  bak, when, g->nodes[m.node].id);
    }
    if (st == EXIT_OK && move && !m.cold)
        st = fail(c, EXIT_FAIL,
                  "--move: %s is a HOT backup (taken while %s could run): it may lack votes the "
                  "node cast after the copy, so it can only come back as an observer (restore "
                  "without --move). To move a node, stop it and take a cold backup "
                  "(voucherctl backup --cold)",
                  bak, g->nodes[m.node].id);
    if (st == EXIT_OK)
        st = restore_into(c, bak, dir, g, m.node, &k.sign, move, &after);
    if (st == EXIT_OK && move) {
        char human[1024];
        const char *role = after.observer ? "observer" : "voter";
        json_t *res = head_json(g, &after);
        jset(res, "ok", json_true());
        jset(res, "backup", json_string(bak));
        jset(res, "data_dir", json_string(dir));
        jset(res, "role", json_string(role));
        jset(res, "moved", json_true());
        jset(res, "backup_used", json_true());
        snprintf(human, sizeof human,
                 "moved %s from its cold backup %s into %s: %" PRIu64 " log entries, verified.\n"
                 "%s continues as the same %s, with every vote it cast. Start it here; NEVER "
                 "start it again on the old machine (remove its key file and data directory "
                 "there): two copies of one voter could vote twice (docs/operations.md 7).\n"
                 "The backup is marked as used: restore --move refuses it from now on (and "
                 "cannot know of copies of it made before; remove them).",
                 g->nodes[m.node].id, bak, dir, after.head, g->nodes[m.node].id, role);
        st = emit(c, res, human);
    } else if (st == EXIT_OK) {
        char human[1536];
        json_t *res = head_json(g, &after);
        jset(res, "ok", json_true());
        jset(res, "backup", json_string(bak));
        jset(res, "data_dir", json_string(dir));
        jset(res, "role", json_string("observer"));
        jset(res, "moved", json_false());
        jset(res, "voters", json_integer(g->voter_count));
        jset(res, "quorum", json_integer(g->quorum));
        snprintf(human, sizeof human,
                 "restored %s's backup %s into %s: %" PRIu64 " log entries, verified.\n"
                 "%s will run as an OBSERVER (stored in its data): it replicates and verifies "
                 "but never votes again under this key.\n"
                 "The genesis has %u voters and a certificate needs %u: every voter restored "
                 "from a hot backup is one of them lost for good, so %u such restores (or "
                 "crashes while they last) stop certification. Where a node can be stopped, "
                 "prefer a cold backup and restore --move, which keeps it a voter.\n"
                 "Start it as before; it catches up from its peers. To make it a voter again it "
                 "needs a new key under a new genesis (docs/operations.md 7).",
                 g->nodes[m.node].id, bak, dir, after.head, g->nodes[m.node].id,
                 (unsigned)g->voter_count, (unsigned)g->quorum,
                 (unsigned)(g->voter_count - g->quorum + 1u));
        st = emit(c, res, human);
    }
    if (have_chain)
        log_chain_free(&ch);
    if (have_key)
        vl_keyfile_wipe(&k);
    free(g);
    free_args(&a);
    return st;
}
