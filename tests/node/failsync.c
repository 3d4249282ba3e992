/* failsync.c - an LD_PRELOAD shim for tests/node/resource_test.sh: makes
 * storage calls of a real voucherd fail on demand, while it runs.
 *
 * Why a shim: the preferred way is a device-mapper "error" or "flakey"
 * table switched under a mounted filesystem, but this project's CI
 * container has no device-mapper (`dmsetup targets`: "/dev/mapper/control:
 * open failed: No such device").  The shim sits exactly where the kernel's
 * answer would arrive: LMDB (a shared library) calls fdatasync and pwrite
 * through the PLT, so the node sees the same return values a failing disk
 * would give it.
 *
 *   FAILSYNC_TRIGGER=PATH   while PATH exists, fsync, fdatasync, msync and
 *                           sync_file_range fail with EIO (the data may or
 *                           may not be on disk: exactly the case where a
 *                           retried fsync cannot be trusted).
 *   FAILSYNC_META_ENOSPC=PATH  when PATH exists, the next pwrite to the
 *                           first two pages of a file named data.mdb (the
 *                           LMDB meta pages: a commit's last write) fails
 *                           with ENOSPC, once; PATH is then removed.  LMDB
 *                           marks its environment fatal after that
 *                           (MDB_PANIC on every later transaction), which
 *                           is what a copy-on-write filesystem that is full
 *                           can do to it.
 *
 * Nothing else changes: every other call goes to libc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

/* The meta pages are pages 0 and 1; LMDB's page size is the OS page size
 * (data pages, written by mdb_page_flush, start at page 2). */
static off_t meta_bytes(void)
{
    long psize = sysconf(_SC_PAGESIZE);
    return 2 * (off_t)(psize > 0 ? psize : 4096);
}

static int exists(const char *env)
{
    const char *p = getenv(env);
    return p != NULL && p[0] != '\0' && access(p, F_OK) == 0;
}

static int sync_fails(void)
{
    if (!exists("FAILSYNC_TRIGGER"))
        return 0;
    errno = EIO;
    return 1;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (sync_fails())
        return -1;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (sync_fails())
        return -1;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}

int msync(void *addr, size_t len, int flags)
{
    static int (*real)(void *, size_t, int);
    if (sync_fails())
        return -1;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "msync");
    return real(addr, len, flags);
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
    static int (*real)(int, off64_t, off64_t, unsigned int);
    if (sync_fails())
        return -1;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "sync_file_range");
    return real(fd, off, n, flags);
}

/* True when fd is a file named data.mdb. */
static int is_data_file(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 9)
        return 0;
    path[n] = '\0';
    return strcmp(path + n - 9, "/data.mdb") == 0;
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (off < meta_bytes() && exists("FAILSYNC_META_ENOSPC") && is_data_file(fd)) {
        unlink(getenv("FAILSYNC_META_ENOSPC")); /* once */
        errno = ENOSPC;
        return -1;
    }
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "pwrite");
    return real(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
    return pwrite(fd, buf, count, (off_t)off);
}
