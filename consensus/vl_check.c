/* vl_check.c - a whole walk of a node's data file, in a child process
 * (see vl_check.h).
 *
 * Notes
 *  1. Why.  LMDB keeps no page checksums.  A data file damaged under a
 *     node (a failing disk, a stray write, a bad copy) used to show only
 *     when a step reached the damage: a voucher that vanished (a leaf whose
 *     record count was cut read as UNKNOWN_ACCOUNT), steps that failed
 *     with "storage" while /healthz said "up", or a crash inside liblmdb
 *     (a node whose record length runs off the map).  A node started on
 *     such a file served from it, and `voucherctl verify-log --data-dir`,
 *     which reads the log only, passed on three of the four kinds of
 *     damage to `accounts` that docs/operations.md lists.  The walk reads
 *     every record of every table once, so damage is found before the
 *     node serves (voucherd's `check_data_at_start`) and by the tools that
 *     read a data directory (verify-log --data-dir, backup, restore).
 *  2. In a child process.  A damaged page can make LMDB read past its map
 *     (SIGSEGV, or SIGBUS past the file's end), and no code of ours can
 *     catch that in the process that reads.  So the walk runs in a fork:
 *     the child opens its own read-only environment (never the parent's:
 *     LMDB forbids using an environment across fork), writes the name of
 *     each table before it reads it to a pipe, then its report, and exits.
 *     The parent reads the pipe to its end and waits: a child killed by
 *     SIGSEGV, SIGBUS or SIGABRT (liblmdb's own assertions), or one that
 *     exited without its report (a sanitizer's handler exits 1), read
 *     damage in the last table it named.  A child killed by another
 *     signal (the OOM killer, a person) proves nothing about the file:
 *     VL_ERR_IO, never "damaged".  The child writes no core dump (it holds
 *     the parent's memory, a node's key among it) and dies with its
 *     parent (PR_SET_PDEATHSIG: it shares the descriptor of the node's
 *     core.lock, so an orphan would hold the lock).  The
 *     pipe's read end is non-blocking, so a running voucherd polls a walk
 *     between its steps (vl_store_check_poll without wait) and never
 *     waits for it; the child reads a snapshot under its own reader slot
 *     while the node writes (not exclusive).
 *  3. What is checked, per table (tables walked in a fixed order, `log`
 *     first so that slot records can be held to the log's length):
 *     - LMDB's structure: the cursor reaches every record without an error
 *       (MDB_PAGE_NOTFOUND, MDB_CORRUPTED), the records walked are exactly
 *       the count LMDB keeps in the table's header (a page whose record
 *       count was damaged hides records or shows garbage ones), every
 *       value is shorter than the file, and every byte of every key and
 *       value is read (an overflow page past the file's end faults here,
 *       in the child, not in the node);
 *     - the main database names each of our nine tables once and nothing
 *       else, as many as LMDB counts (a store this code wrote holds all
 *       nine from its first open; an empty one is new);
 *     - `log`: keys are the indexes 1, 2, ... in order and every entry
 *       decodes with its own index;
 *     - `accounts`: a 32-byte key holds an account that decodes, a
 *       40-byte key (a slot, vl_core.c note 22) holds a log index within
 *       the log and an order hash;
 *     - the other tables, their layout: `slots` (schema 1) as slot records
 *       of `accounts`; `locks` a 40-byte slot key and a lock whose order
 *       decodes; `pending` a slot key and a certificate that decodes;
 *       `forks` 72-byte keys; `origin` and `peers` 32- and 2-byte keys
 *       with 40-byte values; `meta` not at all (vl_state.c reads it whole
 *       at every open, and refuses what it cannot use).
 *     It does not verify signatures or hashes: `voucherctl verify-log`
 *     does, and it costs a signature check per certificate.
 *  4. Bounded.  A table whose count is above what the file can hold is
 *     damage, and a walk stops at that count plus one record (a damaged
 *     page that loops); the parent reads until the child's end of the
 *     pipe closes, into a buffer that whole messages leave.  The
 *     child opens the file with MDB_NORDAHEAD (MADV_RANDOM): its faults
 *     read single pages, which keeps the data file's page cache in the
 *     single-page folios vl_store.c note 2c wants.
 *  5. Fork, then exec, in a program with threads.  A child forked from a
 *     process with threads may only make async-signal-safe calls until it
 *     execs: a lock another thread held at the fork stays held in the
 *     child.  glibc's malloc resets its locks in the child, so the walk
 *     worked in a fork of voucherd in release builds, but GCC 12's
 *     AddressSanitizer allocator does not: CI saw a walk's child hang for
 *     good, forked from voucherd under voucher-bench's load.  A program
 *     that walks while it has threads (voucherd; voucherctl for
 *     uniformity) names itself with vl_store_check_exec and passes
 *     VL_CHECK_CHILD_ARG to vl_store_check_child_main first thing in its
 *     main: the child then makes only async-signal-safe calls (prctl,
 *     setrlimit, fcntl, execv, _exit) and walks in a fresh image of the
 *     same program (/proc/self/exe: the binary that runs, even if a
 *     package upgrade replaced the file), which also holds none of the
 *     parent's memory, a node's key among it.  A child that cannot exec
 *     (a sandbox that forbids it) walks in the fork as it did before, so a
 *     node never fails to start for it; so does every child without
 *     vl_store_check_exec (tests, programs without threads).
 */
#include "vl_store.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vl_limits.h"
#include "vl_wire.h"

#define VL_CHECK_MAX_DBS 16
/* consensus/vl_vote.c LOCK_HEADER: time locked (u64) and order hash. */
#define VL_CHECK_LOCK_HEADER 40u
/* A record costs a leaf at least its 8-byte node header and a 2-byte
 * pointer: a count above file/10 is damage (note 4). */
#define VL_CHECK_MIN_RECORD_BYTES 10u

enum { MSG_TABLE = 'T', MSG_REPORT = 'R' };

typedef struct {
    const char *dir;
    bool exclusive;
    uint64_t file_bytes;
    uint64_t log_entries; /* walked so far in `log` */
    vl_store_check_report *r;
    int fd;         /* the pipe to the parent */
    uint64_t tables; /* named in the main database */
    vl_order *order; /* decode space for `locks` (large: not on the stack) */
    vl_cert *cert;   /* ... and for `pending` */
} walker;

/* "table NAME, record N: WHAT" into the report; VL_ERR_CORRUPT. */
static vl_err damaged(walker *w, const char *name, uint64_t n, const char *what)
{
    snprintf(w->r->error, sizeof w->r->error, "table %s, record %llu: %s", name,
             (unsigned long long)n, what);
    return VL_ERR_CORRUPT;
}

static void say_table(walker *w, const char *name)
{
    char msg[1 + sizeof w->r->table] = {MSG_TABLE};
    snprintf(msg + 1, sizeof msg - 1, "%s", name);
    snprintf(w->r->table, sizeof w->r->table, "%s", name);
    (void)!write(w->fd, msg, sizeof msg); /* lost progress only blurs a crash's message */
}

/* A slot record's value (`accounts` under a 40-byte key, schema 1's
 * `slots`): the log index of its certificate, within the log, and its
 * order hash. */
static bool slot_ok(const walker *w, const MDB_val *v)
{
    uint64_t idx = v->mv_size == 40 ? vl_be64_get(v->mv_data) : 0;
    return idx != 0 && idx <= w->log_entries;
}

/* Note 3: what the record at position n (from 1) of table name must hold. */
static vl_err record_ok(walker *w, const char *name, uint64_t n, const MDB_val *k,
                        const MDB_val *v)
{
    const uint8_t *key = k->mv_data;
    const uint8_t *val = v->mv_data;
    size_t ks = k->mv_size, vs = v->mv_size;
    if (strcmp(name, "log") == 0) {
        vl_entry e;
        if (ks != 8 || vl_be64_get(key) != n)
            return damaged(w, name, n, "not the next index of the log");
        if (vs > VL_MAX_MSG_BYTES || vl_entry_decode(val, vs, &e) != VL_OK || e.index != n)
            return damaged(w, name, n, "the log entry does not decode");
        w->log_entries = n;
    } else if (strcmp(name, "accounts") == 0) {
        vl_account a;
        if (ks == 32 && vl_account_decode(val, vs, &a) != VL_OK)
            return damaged(w, name, n, "the account does not decode");
        if (ks == 40 && !slot_ok(w, v))
            return damaged(w, name, n, "the slot names no entry of the log");
        if (ks != 32 && ks != 40)
            return damaged(w, name, n, "a key of neither 32 nor 40 bytes");
    } else if (strcmp(name, "slots") == 0) { /* schema 1 (vl_core.c note 22) */
        if (ks != 40 || !slot_ok(w, v))
            return damaged(w, name, n, "not a slot record naming an entry of the log");
    } else if (strcmp(name, "locks") == 0) { /* vl_vote.c: time, order hash, order */
        if (ks != 40 || vs <= VL_CHECK_LOCK_HEADER || vs > VL_MAX_MSG_BYTES ||
            vl_order_decode(val + VL_CHECK_LOCK_HEADER, vs - VL_CHECK_LOCK_HEADER, w->order) !=
                VL_OK)
            return damaged(w, name, n, "not a lock holding an order that decodes");
    } else if (strcmp(name, "pending") == 0) { /* a certificate waiting for its gap */
        if (ks != 40 || vs > VL_MAX_MSG_BYTES || vl_cert_decode(val, vs, w->cert) != VL_OK)
            return damaged(w, name, n, "not a certificate under a slot key");
    } else if (strcmp(name, "forks") == 0) { /* account, seq, order hash -> evidence */
        if (ks != 72)
            return damaged(w, name, n, "a fork key of another size than 72 bytes");
    } else if (strcmp(name, "origin") == 0 || strcmp(name, "peers") == 0) {
        if (ks != (name[0] == 'o' ? 32u : 2u) || vs != 40)
            return damaged(w, name, n, "a record of another size than its table's");
    }
    return VL_OK;
}

/* Read every byte of a key or value (note 3): a page past the file's end
 * faults here.  The XOR goes into the report, which the child writes to
 * its pipe, so no read can be optimised away. */
static uint8_t touch(const MDB_val *x)
{
    const uint8_t *p = x->mv_data;
    uint8_t s = 0;
    for (size_t i = 0; i < x->mv_size; i++)
        s ^= p[i];
    return s;
}

/* Walk one table (note 3); name absent from the file: nothing to do. */
static vl_err walk_table(walker *w, MDB_txn *txn, const char *name)
{
    MDB_dbi dbi;
    MDB_stat st;
    MDB_cursor *cur = NULL;
    say_table(w, name);
    int rc = mdb_dbi_open(txn, name, 0, &dbi);
    if (rc == MDB_NOTFOUND && w->tables == 0)
        return VL_OK; /* an environment whose first open never committed: new */
    if (rc == 0)
        rc = mdb_stat(txn, dbi, &st);
    if (rc == 0 && st.ms_entries > w->file_bytes / VL_CHECK_MIN_RECORD_BYTES) {
        snprintf(w->r->error, sizeof w->r->error,
                 "table %s: LMDB counts %llu records, more than the file can hold", name,
                 (unsigned long long)st.ms_entries);
        return VL_ERR_CORRUPT;
    }
    if (rc == 0)
        rc = mdb_cursor_open(txn, dbi, &cur);
    uint64_t n = 0;
    vl_err e = VL_OK;
    MDB_val k, v;
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op);
        if (rc != 0)
            break;
        if (++n > st.ms_entries)
            break; /* note 4: reported below */
        if (v.mv_size >= w->file_bytes) {
            e = damaged(w, name, n, "a value longer than the whole file");
            break;
        }
        w->r->xor_sum ^= (uint8_t)(touch(&k) ^ touch(&v));
        w->r->bytes += k.mv_size + v.mv_size;
        if ((e = record_ok(w, name, n, &k, &v)) != VL_OK)
            break;
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    w->r->records += n;
    if (e != VL_OK)
        return e;
    if (rc != 0 && rc != MDB_NOTFOUND) {
        snprintf(w->r->error, sizeof w->r->error, "table %s: after %llu records: %s", name,
                 (unsigned long long)n, mdb_strerror(rc));
        return VL_ERR_CORRUPT;
    }
    if (n != st.ms_entries) {
        snprintf(w->r->error, sizeof w->r->error,
                 "table %s: LMDB counts %llu records, the walk finds %s", name,
                 (unsigned long long)st.ms_entries, n > st.ms_entries ? "more" : "fewer");
        return VL_ERR_CORRUPT;
    }
    return VL_OK;
}

/* The main database: each of our tables once, nothing else, and as many
 * records as LMDB counts (note 3).  Empty: a new environment.  Every
 * store this code wrote holds all nine from its first open (open_dbis
 * creates them in one transaction). */
static vl_err walk_main(walker *w, MDB_txn *txn)
{
    MDB_dbi dbi;
    MDB_stat st;
    MDB_cursor *cur = NULL;
    say_table(w, "(main)");
    int rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc == 0)
        rc = mdb_stat(txn, dbi, &st);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dbi, &cur);
    vl_err e = VL_OK;
    MDB_val k, v;
    uint64_t n = 0;
    bool seen[VL_STORE_TABLES] = {false};
    for (int op = MDB_FIRST; rc == 0 && e == VL_OK; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) != 0)
            break;
        size_t i = 0;
        while (i < VL_STORE_TABLES && !(k.mv_size == strlen(vl_store_tables[i]) &&
                                        memcmp(k.mv_data, vl_store_tables[i], k.mv_size) == 0))
            i++;
        if (++n > VL_STORE_TABLES || i == VL_STORE_TABLES || seen[i])
            e = damaged(w, "(main)", n, "names a table that is not ours, or one twice");
        else
            seen[i] = true;
    }
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (e == VL_OK && rc != 0 && rc != MDB_NOTFOUND) {
        snprintf(w->r->error, sizeof w->r->error, "the main database: %s", mdb_strerror(rc));
        e = VL_ERR_CORRUPT;
    }
    if (e == VL_OK && n != st.ms_entries)
        e = damaged(w, "(main)", n, "LMDB counts another number of tables");
    if (e == VL_OK && n != 0 && n != VL_STORE_TABLES)
        e = damaged(w, "(main)", n, "a table of the nine is missing");
    w->tables = n;
    return e;
}

/* The child's walk (note 3).  VL_ERR_CORRUPT with r->error, or VL_ERR_IO
 * when the file cannot be opened at all. */
static vl_err walk(walker *w)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    say_table(w, "(open)");
    w->order = malloc(sizeof *w->order);
    w->cert = malloc(sizeof *w->cert);
    if (w->order == NULL || w->cert == NULL) {
        snprintf(w->r->error, sizeof w->r->error, "out of memory");
        return VL_ERR_NOMEM; /* the child exits: nothing to free */
    }
    unsigned flags = MDB_RDONLY | MDB_NORDAHEAD | (w->exclusive ? MDB_NOLOCK : 0u);
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, VL_CHECK_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_open(env, w->dir, flags, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    vl_err e = VL_OK;
    if (rc != 0) {
        snprintf(w->r->error, sizeof w->r->error, "cannot open the LMDB environment: %s",
                 mdb_strerror(rc));
        /* Beside a live node the lock file is read too: its version or
         * format says nothing of data.mdb (a tool built on another liblmdb). */
        e = w->exclusive && (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) ? VL_ERR_CORRUPT
            : rc == MDB_CORRUPTED                                              ? VL_ERR_CORRUPT
                                                                                : VL_ERR_IO;
    }
    if (e == VL_OK)
        e = walk_main(w, txn);
    /* `log` first: the slots of `accounts` are held to its length. */
    for (size_t i = 0; e == VL_OK && i < VL_STORE_TABLES; i++)
        e = walk_table(w, txn, vl_store_tables[i]);
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    return e;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Take the whole messages out of job->buf (note 2). */
static void take_messages(vl_store_check_job *job)
{
    enum { TABLE_MSG = 1 + sizeof job->r.table, REPORT_MSG = 1 + sizeof job->r };
    _Static_assert(REPORT_MSG + TABLE_MSG <= sizeof job->buf, "a report and a table fit");
    for (;;) {
        size_t need = job->have == 0 ? 0 : job->buf[0] == MSG_TABLE ? TABLE_MSG : REPORT_MSG;
        if (job->have == 0 || job->have < need)
            return;
        if (job->buf[0] == MSG_TABLE) {
            memcpy(job->r.table, job->buf + 1, sizeof job->r.table);
        } else {
            memcpy(&job->r, job->buf + 1, sizeof job->r);
            job->got_report = true;
        }
        job->r.table[sizeof job->r.table - 1] = '\0';
        job->r.error[sizeof job->r.error - 1] = '\0';
        memmove(job->buf, job->buf + need, job->have - need);
        job->have -= need;
    }
}

/* The program the child execs, and its argv[0] (note 5); "" : none. */
static char exe_path[256], exe_name[64];

void vl_store_check_exec(const char *exe, const char *name)
{
    snprintf(exe_path, sizeof exe_path, "%s", exe != NULL ? exe : "");
    snprintf(exe_name, sizeof exe_name, "%s", name != NULL ? name : "voucher-walk");
}

/* The walk itself, in the child: report to fd, then exit. */
static _Noreturn void walk_child(const char *dir, bool exclusive, uint64_t file_bytes,
                                 vl_store_check_report *r, int fd)
{
    walker w = {.dir = dir, .exclusive = exclusive, .file_bytes = file_bytes, .r = r, .fd = fd};
    r->result = walk(&w);
    char msg[1 + sizeof *r] = {MSG_REPORT};
    memcpy(msg + 1, r, sizeof *r);
    ssize_t put = write(fd, msg, sizeof msg);
    _exit(put == (ssize_t)sizeof msg ? 0 : 1);
}

int vl_store_check_child_main(int argc, char **argv)
{
    /* NAME --data-walk-child DIR exclusive|shared FD FILE_BYTES, from
     * vl_store_check_start only. */
    char *end1 = NULL, *end2 = NULL;
    long fd = argc == 6 ? strtol(argv[4], &end1, 10) : -1;
    unsigned long long bytes = argc == 6 ? strtoull(argv[5], &end2, 10) : 0;
    if (argc != 6 || end1 == argv[4] || *end1 != '\0' || fd < 0 || fd > 65535 ||
        end2 == argv[5] || *end2 != '\0' || fcntl((int)fd, F_GETFD) < 0 ||
        (strcmp(argv[3], "exclusive") != 0 && strcmp(argv[3], "shared") != 0)) {
        fprintf(stderr, "%s is for the walk of a data file that a program starts itself\n",
                VL_CHECK_CHILD_ARG);
        return 2;
    }
    (void)prctl(PR_SET_NAME, "voucher-walk", 0, 0, 0); /* in ps and top */
    (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    vl_store_check_report r;
    memset(&r, 0, sizeof r);
    walk_child(argv[2], strcmp(argv[3], "exclusive") == 0, bytes, &r, (int)fd);
}

vl_err vl_store_check_start(const char *dir, bool exclusive, vl_store_check_job *job)
{
    memset(job, 0, sizeof *job);
    job->fd = -1;
    job->t0_ms = now_ms();
    vl_store_check_report *r = &job->r;
    char path[4096 + 16];
    struct stat sb;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path) {
        snprintf(r->error, sizeof r->error, "data directory path too long");
        return VL_ERR_USAGE;
    }
    bool found = stat(path, &sb) == 0;
    if ((!found && errno == ENOENT) || (found && S_ISREG(sb.st_mode) && sb.st_size == 0)) {
        /* A new node, or one stopped between LMDB's create and its first
         * meta page: LMDB starts an empty file afresh, nothing to check. */
        r->absent = true;
        return VL_OK;
    }
    if (!found) {
        snprintf(r->error, sizeof r->error, "data.mdb: %s", strerror(errno));
        return VL_ERR_IO;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(r->error, sizeof r->error, "cannot make a pipe: %s", strerror(errno));
        return VL_ERR_IO;
    }
    /* The exec's arguments, made before the fork (note 5). */
    char fd_arg[16], bytes_arg[24];
    snprintf(fd_arg, sizeof fd_arg, "%d", p[1]);
    snprintf(bytes_arg, sizeof bytes_arg, "%llu", (unsigned long long)sb.st_size);
    char *args[] = {exe_name, VL_CHECK_CHILD_ARG, (char *)dir, exclusive ? "exclusive" : "shared",
                    fd_arg, bytes_arg, NULL};
    fflush(NULL); /* the child exits with _exit: nothing buffered may be written twice */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->error, sizeof r->error, "cannot fork the checker: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return VL_ERR_IO;
    }
    if (pid == 0) {
        /* Async-signal-safe calls only until walk_child or execv (note 5). */
        close(p[0]);
        /* The child holds the parent's secrets (a node's key): no core
         * dump of a walk that faults by design; and it dies with the
         * parent, whose core.lock its descriptors share (note 2). */
        struct rlimit none = {0, 0};
        (void)setrlimit(RLIMIT_CORE, &none);
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent)
            _exit(1); /* the parent died before the line above */
        if (exe_path[0] != '\0' && fcntl(p[1], F_SETFD, 0) == 0) /* open across the exec */
            execv(exe_path, args);
        /* No exec (none asked, or it failed: a sandbox that forbids it):
         * the walk in the fork, as before note 5. */
        walk_child(dir, exclusive, (uint64_t)sb.st_size, r, p[1]);
    }
    close(p[1]);
    (void)fcntl(p[0], F_SETFL, O_NONBLOCK); /* vl_store_check_poll without wait */
    job->pid = pid;
    job->fd = p[0];
    return VL_OK;
}

/* The child has ended (its pipe did): reap it and judge (note 2). */
static vl_err finish(vl_store_check_job *job)
{
    vl_store_check_report *r = &job->r;
    int status = 0;
    while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(job->fd);
    job->fd = -1;
    job->pid = 0;
    r->ms = now_ms() - job->t0_ms;
    if (job->got_report && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return r->result;
    /* The reader died in the table it named last.  A fault is the file's
     * doing; another signal (the OOM killer, a person) says nothing of it. */
    r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    /* SIGABRT: liblmdb's own assertions (mdb_assert) on a page it cannot
     * make sense of. */
    bool fault = r->signal == SIGSEGV || r->signal == SIGBUS || r->signal == SIGABRT;
    char how[64];
    if (r->signal != 0)
        snprintf(how, sizeof how, "was killed by signal %d (%s)", r->signal,
                 r->signal == SIGSEGV   ? "SIGSEGV"
                 : r->signal == SIGBUS  ? "SIGBUS"
                 : r->signal == SIGABRT ? "SIGABRT"
                                        : "not a fault of the file");
    else
        snprintf(how, sizeof how, "exited %d without its report",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (r->signal != 0 && !fault) {
        snprintf(r->error, sizeof r->error, "table %s: the reader %s: no finding", r->table, how);
        r->result = VL_ERR_IO;
    } else { /* a fault, or a sanitizer's handler that reported one and exited */
        snprintf(r->error, sizeof r->error,
                 "table %s: the reader %s: a damaged page sent LMDB outside the file", r->table,
                 how);
        r->result = VL_ERR_CORRUPT;
    }
    return r->result;
}

bool vl_store_check_poll(vl_store_check_job *job, bool wait, vl_err *result)
{
    if (job->pid == 0) { /* nothing ran (absent) or it was finished */
        *result = job->r.absent ? VL_OK : job->r.result;
        return true;
    }
    for (;;) { /* ends: at EOF (the child exited), or when nothing is there without wait */
        ssize_t got = read(job->fd, job->buf + job->have, sizeof job->buf - job->have);
        if (got > 0) {
            job->have += (size_t)got;
            take_messages(job);
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait)
                return false;
            struct pollfd pf = {.fd = job->fd, .events = POLLIN};
            (void)poll(&pf, 1, -1);
            continue;
        }
        *result = finish(job); /* EOF, or a read error: the child is gone or going */
        return true;
    }
}

void vl_store_check_cancel(vl_store_check_job *job)
{
    if (job->pid == 0)
        return;
    kill(job->pid, SIGKILL);
    while (waitpid(job->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    close(job->fd);
    job->fd = -1;
    job->pid = 0;
}

vl_err vl_store_check(const char *dir, bool exclusive, vl_store_check_report *r)
{
    vl_store_check_job job;
    vl_err e = vl_store_check_start(dir, exclusive, &job);
    if (e == VL_OK)
        (void)vl_store_check_poll(&job, true, &e);
    *r = job.r;
    r->result = e;
    return e;
}
