/* vl_file.c - see vl_file.h. */
#include "vl_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* EINTR retries per call: a signal storm must not spin forever. */
#define VL_EINTR_RETRIES 1000

static void say(char *err, size_t cap, const char *path, const char *why)
{
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s: %s", path, why);
}

vl_err vl_file_read(const char *path, size_t max, char **out, size_t *len, char *err,
                    size_t err_cap)
{
    char why[96];
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        say(err, err_cap, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return VL_ERR_IO;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        close(fd);
        snprintf(why, sizeof why, "not a regular file of at most %zu bytes", max);
        say(err, err_cap, path, why);
        return VL_ERR_IO;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (buf == NULL) {
        close(fd);
        say(err, err_cap, path, "out of memory");
        return VL_ERR_NOMEM;
    }
    for (unsigned eintr = 0; got < size;) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR && ++eintr < VL_EINTR_RETRIES)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int saved = errno;
    close(fd);
    if (got != size) {
        free(buf);
        say(err, err_cap, path, got < size && saved != 0 ? strerror(saved) : "short read");
        return VL_ERR_IO;
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return VL_OK;
}

int vl_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    for (unsigned eintr = 0; len > 0;) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR && ++eintr < VL_EINTR_RETRIES)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int vl_fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

vl_err vl_file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (tmp == NULL)
        return VL_ERR_NOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        free(tmp);
        return VL_ERR_IO;
    }
    int ok = fchmod(fd, mode) == 0 && vl_write_all(fd, data, len) == 0 && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        saved = errno != 0 ? errno : saved;
        unlink(tmp);
    }
    free(tmp);
    ok = ok && vl_fsync_parent(path) == 0;
    if (!ok && errno == 0)
        errno = saved;
    return ok ? VL_OK : VL_ERR_IO;
}
