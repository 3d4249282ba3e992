/* vl_check.h - a whole walk of a node's data file, in a child process
 * (vl_check.c says what is checked and why in a child).  Used by the
 * store's open (voucherd's check at start), by voucherd while it runs
 * (check_data_every_s), and by the tools that read a data directory.
 */
#ifndef VL_CHECK_H
#define VL_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vl_error.h"

/* What a walk found. */
typedef struct {
    vl_err result;    /* VL_OK, or what the walk returned */
    bool absent;      /* no data.mdb (or an empty one): a new node, nothing to check */
    int signal;       /* the reader was killed by this signal (0: it was not) */
    uint64_t records; /* records read, all tables */
    uint64_t bytes;   /* key and value bytes read */
    uint64_t ms;      /* wall time of the check */
    uint8_t xor_sum;  /* of every byte read: keeps the reads (vl_check.c note 3) */
    char table[16];   /* the table read last (where the damage is, on failure) */
    char error[200];  /* on failure, what is wrong, for a person */
} vl_store_check_report;

/* A walk under way (vl_store_check_start).  Opaque but for r. */
typedef struct {
    pid_t pid;        /* the child; 0 when none runs */
    int fd;           /* the read end of its pipe; -1 when none */
    bool got_report;
    uint64_t t0_ms;
    size_t have;      /* bytes of a message read in part */
    char buf[512];
    vl_store_check_report r; /* final once vl_store_check_poll returned true */
} vl_store_check_job;

/* Start a walk of the data file in dir in a child process.  exclusive:
 * the caller guarantees that nobody writes the file (it holds the node's
 * core.lock before opening it, or the directory is a private copy): the
 * child then opens it without LMDB's lock file (MDB_NOLOCK).  Otherwise
 * the child takes a reader slot in lock.mdb like any reader and walks a
 * consistent snapshot beside a running writer.  VL_OK: the child runs
 * (job->pid != 0), or there is nothing to check (job->r.absent; no child);
 * VL_ERR_IO (no pipe, no fork: job->r.error) or VL_ERR_USAGE (path too
 * long). */
vl_err vl_store_check_start(const char *dir, bool exclusive, vl_store_check_job *job);

/* Read what the child sent; wait: until it ends.  True once it has ended
 * (reaped, pipe closed): then *result is VL_OK, VL_ERR_CORRUPT (the file
 * is damaged: job->r.error says where and how; a reader crashed by
 * SIGSEGV or SIGBUS counts) or VL_ERR_IO (the walk could not be made: a
 * file LMDB cannot open for another reason, a reader killed by another
 * signal such as the OOM killer's: no finding about the file).  False
 * while it runs (never with wait). */
bool vl_store_check_poll(vl_store_check_job *job, bool wait, vl_err *result);

/* Kill (SIGKILL) and reap a running walk; nothing when none runs. */
void vl_store_check_cancel(vl_store_check_job *job);

/* start + poll with wait: the whole walk.  *r the report; the result as
 * vl_store_check_poll's (VL_OK also when r->absent). */
vl_err vl_store_check(const char *dir, bool exclusive, vl_store_check_report *r);

/* The argument that makes a program the walk's child (vl_check.c note 5). */
#define VL_CHECK_CHILD_ARG "--data-walk-child"

/* From now on, walks exec exe (argv[0] name) in their child instead of
 * walking in the fork (vl_check.c note 5): for programs with threads.  A
 * child that cannot exec walks in the fork.  exe NULL: walk in the fork
 * again. */
void vl_store_check_exec(const char *exe, const char *name);

/* The child's side: a program that calls vl_store_check_exec calls this
 * first thing in main when argv[1] is VL_CHECK_CHILD_ARG, and returns its
 * result (it exits itself once it has walked). */
int vl_store_check_child_main(int argc, char **argv);

#endif
