/* stale_reader.c - for tests/node/resource_test.sh: a process that holds a
 * read transaction on a node's LMDB environment, as a backup tool or
 * `voucherctl verify-log --data-dir` does, until it is killed.
 *
 *   stale_reader DIR MAX_S
 *
 * Opens the environment in DIR read-only, begins a read transaction,
 * prints "reading pid=P txnid=T" on stdout and sleeps at most MAX_S
 * seconds (a bound: the test kills it long before).  A SIGKILL leaves its
 * reader slot in lock.mdb: a stale reader, which pins the pages of its
 * snapshot until some process clears it (mdb_reader_check).  LMDB resets
 * the reader table itself when the first process opens the environment
 * alone, so the test keeps a second, live stale_reader open while the node
 * starts.  Exit 2 on an error.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: stale_reader DIR MAX_S\n");
        return 2;
    }
    long max_s = strtol(argv[2], NULL, 10);
    if (max_s <= 0 || max_s > 3600) {
        fprintf(stderr, "stale_reader: MAX_S must be 1..3600\n");
        return 2;
    }
    MDB_env *env;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 16);
    if (rc == 0)
        rc = mdb_env_open(env, argv[1], MDB_RDONLY, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        fprintf(stderr, "stale_reader: %s: %s\n", argv[1], mdb_strerror(rc));
        return 2;
    }
    printf("reading pid=%ld txnid=%zu\n", (long)getpid(), mdb_txn_id(txn));
    fflush(stdout);
    for (long i = 0; i < max_s; i++)
        sleep(1);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}
