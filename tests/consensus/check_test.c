/* check_test.c - consensus/vl_check.c on real LMDB files: the walk of a
 * whole data file in a child process.
 *
 *  - a directory without data.mdb is new (absent), not damaged;
 *  - a store as vl_store_open leaves it (nine empty tables) is sound, and
 *    so is one with records of each kind whose layout the walk knows;
 *  - a record of the wrong layout in `locks`, `pending`, `origin`,
 *    `peers` or `forks` is damage that names the table and the record;
 *  - a table dropped from the main database is damage ("missing");
 *  - a walker killed by SIGKILL (the OOM killer's signal) is no finding
 *    (VL_ERR_IO), one killed by SIGSEGV is damage: the child is stopped
 *    (SIGSTOP) and seen stopped in /proc before it is killed, so the walk
 *    cannot have ended first (no timing); under AddressSanitizer the
 *    SIGSEGV is the sanitizer's to report, so its report in this test's
 *    output is expected, and its exit 1 without a report is damage too;
 *  - vl_store_check_cancel reaps the child;
 *  - all of the above twice: walks in the fork, then in a fresh image of
 *    this program (vl_store_check_exec, vl_check.c note 5), whose child is
 *    seen in /proc as "check_test --data-walk-child ..."; a walk program
 *    that cannot be started: the walk is made in the fork, and finds
 *    damage all the same.
 */
#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vl_check.h"
#include "vl_store.h"
#include "vl_test.h"

#define MAP_BYTES (64u << 20)

static char *make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/vl-check-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
    char *d = mkdtemp(tmpl);
    return d != NULL ? strdup(d) : NULL;
}

static void rm_dir(const char *dir)
{
    const char *names[] = {"data.mdb", "lock.mdb", "core.lock"};
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

enum { PUT, DEL, DROP };

/* PUT key = val into table `name` of dir's store, DEL key, or DROP the
 * whole table, in one transaction of a store opened for it. */
static vl_err edit(const char *dir, int op, const char *name, const void *key, size_t klen,
                   const void *val, size_t vlen)
{
    vl_store s;
    vl_err e = vl_store_open(&s, dir, false, false, false, MAP_BYTES, NULL, 0);
    if (e != VL_OK)
        return e;
    MDB_txn *t;
    MDB_dbi dbi;
    int rc = mdb_txn_begin(s.env, NULL, 0, &t);
    if (rc == 0)
        rc = mdb_dbi_open(t, name, 0, &dbi);
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    if (rc == 0)
        rc = op == DROP ? mdb_drop(t, dbi, 1)
             : op == DEL ? mdb_del(t, dbi, &k, NULL)
                         : mdb_put(t, dbi, &k, &v, 0);
    rc = rc == 0 ? mdb_txn_commit(t) : (mdb_txn_abort(t), rc);
    vl_store_close(&s);
    return rc == 0 ? VL_OK : VL_ERR_STORAGE;
}

static void check_sound(const char *dir, uint64_t records)
{
    vl_store_check_report r;
    CHECK_ERR(vl_store_check(dir, true, &r), VL_OK);
    CHECK(!r.absent && r.records == records);
    CHECK_ERR(vl_store_check(dir, false, &r), VL_OK); /* beside a (possible) writer */
}

/* One bad record of table name: damage naming the table and a record;
 * then the record is deleted again. */
static void check_bad_record(const char *dir, const char *name, size_t klen, size_t vlen)
{
    uint8_t key[80] = {9}, val[64] = {2};
    CHECK_ERR(edit(dir, PUT, name, key, klen, val, vlen), VL_OK);
    vl_store_check_report r;
    CHECK_ERR(vl_store_check(dir, true, &r), VL_ERR_CORRUPT);
    char want[64];
    snprintf(want, sizeof want, "table %s, record ", name);
    CHECK(strncmp(r.error, want, strlen(want)) == 0);
    if (strncmp(r.error, want, strlen(want)) != 0)
        fprintf(stderr, "  got: %s\n", r.error);
    CHECK_ERR(edit(dir, DEL, name, key, klen, NULL, 0), VL_OK);
}

/* /proc/PID/stat's state letter ('?' when unreadable). */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : '?';
}

/* A walker stopped before it could end, then killed by sig: the result.
 * *seen: it was seen stopped (else the attempt proves nothing). */
static vl_err killed_walk(const char *dir, int sig, bool *seen, vl_store_check_report *r)
{
    vl_store_check_job job;
    *seen = false;
    if (vl_store_check_start(dir, true, &job) != VL_OK || job.pid == 0)
        return VL_ERR_USAGE;
    kill(job.pid, SIGSTOP);
    for (int i = 0; i < 1000 && !*seen; i++) { /* bounded: the state settles at once */
        char st = proc_state(job.pid);
        *seen = st == 'T' || st == 't';
        if (st == 'Z' || st == '?')
            break; /* it ended before the stop: no proof */
    }
    kill(job.pid, sig);
    kill(job.pid, SIGCONT);
    vl_err e = VL_ERR_USAGE;
    CHECK(vl_store_check_poll(&job, true, &e));
    *r = job.r;
    return e;
}

/* The whole suite on a new directory, walks made the way
 * vl_store_check_exec chose last. */
static void suite(void)
{
    char *dir = make_dir();
    CHECK(dir != NULL);
    if (dir == NULL)
        return;
    vl_store_check_report r;

    CHECK_ERR(vl_store_check(dir, true, &r), VL_OK);
    CHECK(r.absent);

    vl_store s;
    CHECK_ERR(vl_store_open(&s, dir, false, false, false, MAP_BYTES, NULL, 0), VL_OK);
    vl_store_close(&s);
    check_sound(dir, 0);

    /* Records of the layouts the walk knows, one each. */
    uint8_t k2[2] = {0, 1}, k32[32] = {3}, v40[40] = {0};
    CHECK_ERR(edit(dir, PUT, "peers", k2, 2, v40, 40), VL_OK);
    CHECK_ERR(edit(dir, PUT, "origin", k32, 32, v40, 40), VL_OK);
    check_sound(dir, 2);

    check_bad_record(dir, "locks", 40, 10);   /* a lock too short to hold an order */
    check_bad_record(dir, "pending", 40, 30); /* not a certificate */
    check_bad_record(dir, "origin", 31, 40);  /* a key of another size */
    check_bad_record(dir, "peers", 2, 39);    /* a value of another size */
    check_bad_record(dir, "forks", 40, 8);    /* a fork key is 72 bytes */
    check_sound(dir, 2);

    /* A table gone from the main database. */
    CHECK_ERR(edit(dir, DROP, "forks", NULL, 0, NULL, 0), VL_OK);
    CHECK_ERR(vl_store_check(dir, true, &r), VL_ERR_CORRUPT);
    CHECK(strstr(r.error, "missing") != NULL);
    CHECK_ERR(vl_store_open(&s, dir, false, false, false, MAP_BYTES, NULL, 0), VL_OK);
    vl_store_close(&s);
    check_sound(dir, 2);

    /* A killed walker: SIGKILL is no finding, SIGSEGV is damage. */
    bool seen = false;
    vl_err e = VL_OK;
    for (int attempt = 0; attempt < 20 && !seen; attempt++)
        e = killed_walk(dir, SIGKILL, &seen, &r);
    CHECK(seen);
    CHECK_ERR(e, VL_ERR_IO);
    CHECK(strstr(r.error, "not a fault") != NULL);
    seen = false;
    for (int attempt = 0; attempt < 20 && !seen; attempt++)
        e = killed_walk(dir, SIGSEGV, &seen, &r);
    CHECK(seen);
    CHECK_ERR(e, VL_ERR_CORRUPT);

    /* Cancel reaps the child. */
    vl_store_check_job job;
    CHECK_ERR(vl_store_check_start(dir, true, &job), VL_OK);
    pid_t child = job.pid;
    CHECK(child > 0);
    vl_store_check_cancel(&job);
    CHECK(job.pid == 0 && job.fd == -1);
    CHECK(waitpid(child, NULL, WNOHANG) < 0 && errno == ECHILD);

    rm_dir(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], VL_CHECK_CHILD_ARG) == 0)
        return vl_store_check_child_main(argc, argv);
    suite(); /* walks in the fork */
    /* Walks in a fresh image of this program (vl_check.c note 5). */
    vl_store_check_exec("/proc/self/exe", "check_test");
    suite();
    char *dir = make_dir();
    CHECK(dir != NULL);
    if (dir == NULL)
        VL_TEST_END();
    /* Its child runs as "check_test --data-walk-child DIR ...": seen in
     * /proc while it waits, for good, to open a data.mdb that is a FIFO
     * (after its exec: before it, the child opens nothing). */
    char path[4200], cmd[512] = {0};
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    CHECK(mkfifo(path, 0600) == 0);
    vl_store_check_job job;
    CHECK_ERR(vl_store_check_start(dir, true, &job), VL_OK);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)job.pid);
    bool execed = false;
    for (int i = 0; i < 5000 && !execed; i++) { /* bounded: 5 s */
        FILE *f = fopen(path, "r");
        size_t n = f != NULL ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        cmd[n] = '\0';
        execed = n > strlen(cmd) + 1 && strcmp(cmd + strlen(cmd) + 1, VL_CHECK_CHILD_ARG) == 0;
        if (!execed)
            usleep(1000);
    }
    CHECK(execed);
    CHECK(strcmp(cmd, "check_test") == 0);
    vl_store_check_cancel(&job);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    vl_store s;
    CHECK_ERR(vl_store_open(&s, dir, false, false, false, MAP_BYTES, NULL, 0), VL_OK);
    vl_store_close(&s);
    /* A program that cannot be started: the walk is made in the fork (a
     * sandbox that forbids the exec never stops a node). */
    vl_store_check_exec("/nonexistent/voucher-walk", "voucher-walk");
    vl_store_check_report r;
    CHECK_ERR(vl_store_check(dir, true, &r), VL_OK);
    CHECK(!r.absent);
    CHECK_ERR(edit(dir, DROP, "forks", NULL, 0, NULL, 0), VL_OK);
    CHECK_ERR(vl_store_check(dir, true, &r), VL_ERR_CORRUPT); /* and it still finds damage */
    CHECK(strstr(r.error, "missing") != NULL);
    vl_store_check_exec(NULL, NULL);
    rm_dir(dir);
    free(dir);
    VL_TEST_END();
}
