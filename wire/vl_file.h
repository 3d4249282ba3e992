/* vl_file.h - the few file operations the project needs, done once:
 * bounded whole-file reads, complete writes, and durable atomic
 * replacement (temp file, fsync, rename, fsync of the directory). */
#ifndef VL_FILE_H
#define VL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "vl_error.h"

/* Read a whole regular file of at most max bytes into a new buffer with a
 * NUL after the data (*out, the caller frees it; *len the data size).
 * Returns VL_OK; VL_ERR_IO (cannot open/stat/read, not a regular file, or
 * larger than max); VL_ERR_NOMEM.  On error *out is NULL and err (may be
 * NULL) gets "PATH: reason". */
vl_err vl_file_read(const char *path, size_t max, char **out, size_t *len, char *err,
                    size_t err_cap);

/* Write all len bytes to fd, retrying short writes and EINTR (bounded).
 * 0, or -1 with errno set. */
int vl_write_all(int fd, const void *data, size_t len);

/* fsync the directory that holds path, so a new name in it is durable.
 * 0, or -1 with errno set. */
int vl_fsync_parent(const char *path);

/* Replace path atomically and durably with data, file mode `mode`:
 * readers see the old file or the new one, never a mix.  VL_OK, VL_ERR_IO
 * (errno says why), VL_ERR_NOMEM. */
vl_err vl_file_replace(const char *path, const void *data, size_t len, mode_t mode);

#endif
