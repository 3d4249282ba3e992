/* vl_logfile.c - the log export file (vl_logfile.h, docs/reconcile.md).
 *
 * Design notes
 *  1. The writer is a stdio stream over a file opened O_CREAT|O_EXCL (an
 *     export never replaces anything), with a large buffer: an export of a
 *     million entries is a million small records.  vl_logfile_close
 *     flushes, fsyncs the file and its directory: VL_OK means on disk.
 *  2. The reader maps the whole file read-only (mmap, MADV_SEQUENTIAL) and
 *     hands out pointers into the mapping: no copy per record.  They stay
 *     valid until vl_logfile_close_reader (stronger than the header's
 *     "until the next call", which is all a caller may rely on in general;
 *     voucher-reconcile relies on the stronger form and says so).  A file
 *     shortened by someone else while it is mapped makes the next access
 *     past its new end a SIGBUS; the writer never does that (O_EXCL, note
 *     1), and docs/reconcile.md tells operators not to (read a copy).
 *  3. Nothing in the file is trusted: the reader checks the framing only
 *     (magic, header JSON, record type, length against
 *     VL_LOGFILE_MAX_RECORD, no record past the end of the file).  The
 *     payloads are decoded and verified by the caller.  Every error message
 *     names the byte offset of the record at fault.
 */
#include "vl_logfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vl_crypto.h"
#include "vl_file.h"
#include "vl_limits.h"

/* Largest header record accepted (a real one is about 200 bytes). */
#define LOGFILE_MAX_HEADER 4096u
/* stdio buffer of the writer. */
#define LOGFILE_WRITE_BUF (1u << 20)

struct vl_logfile_writer {
    FILE *f;
    char *path;
    char *buf;
    int io_errno; /* first write error, 0 if none */
};

struct vl_logfile_reader {
    const uint8_t *map;
    size_t size;
    size_t pos;
    char node_id[VL_MAX_ID_LEN + 1];
    uint16_t node_index;
    uint8_t network_id[32];
};

/* "PATH: reason" into err (may be NULL). */
static void say(char *err, size_t cap, const char *path, const char *why)
{
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s: %s", path, why);
}

/* ---- writer ------------------------------------------------------------------------ */

static vl_err put_raw(vl_logfile_writer *w, uint8_t type, const void *buf, size_t len)
{
    uint8_t head[5] = {type, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                       (uint8_t)len};
    if (w->io_errno != 0)
        return VL_ERR_IO; /* sticky: the file is already incomplete */
    if (fwrite(head, 1, sizeof head, w->f) != sizeof head ||
        (len > 0 && fwrite(buf, 1, len, w->f) != len)) {
        w->io_errno = errno != 0 ? errno : EIO;
        return VL_ERR_IO;
    }
    return VL_OK;
}

static void writer_free(vl_logfile_writer *w)
{
    if (w == NULL)
        return;
    if (w->f != NULL)
        fclose(w->f);
    free(w->buf);
    free(w->path);
    free(w);
}

static char *header_json(const char *node_id, uint16_t node_index, const uint8_t network_id[32],
                         uint64_t exported_at_ms)
{
    char hex[65];
    vl_hex_encode(hex, network_id, 32);
    json_t *j = json_pack("{s:i, s:s, s:s, s:i, s:I}", "format", 1, "network_id", hex,
                          "node_id", node_id, "node_index", (int)node_index, "exported_at_ms",
                          (json_int_t)exported_at_ms);
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return s;
}

vl_err vl_logfile_create(const char *path, const char *node_id, uint16_t node_index,
                         const uint8_t network_id[32], uint64_t exported_at_ms,
                         vl_logfile_writer **out, char *err, size_t cap)
{
    assert(path != NULL && node_id != NULL && network_id != NULL && out != NULL);
    assert(exported_at_ms <= INT64_MAX);
    *out = NULL;
    vl_logfile_writer *w = calloc(1, sizeof *w);
    char *hdr = header_json(node_id, node_index, network_id, exported_at_ms);
    if (w == NULL || hdr == NULL || (w->path = strdup(path)) == NULL ||
        (w->buf = malloc(LOGFILE_WRITE_BUF)) == NULL) {
        free(hdr);
        writer_free(w);
        say(err, cap, path, "out of memory");
        return VL_ERR_NOMEM;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || (w->f = fdopen(fd, "wb")) == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(hdr);
        writer_free(w);
        say(err, cap, path, strerror(e));
        return e == EEXIST ? VL_ERR_EXISTS : VL_ERR_IO;
    }
    setvbuf(w->f, w->buf, _IOFBF, LOGFILE_WRITE_BUF);
    vl_err rc = fwrite(VL_LOGFILE_MAGIC, 1, VL_LOGFILE_MAGIC_LEN, w->f) == VL_LOGFILE_MAGIC_LEN
                    ? put_raw(w, VL_LOGREC_HEADER, hdr, strlen(hdr))
                    : VL_ERR_IO;
    free(hdr);
    if (rc != VL_OK) {
        say(err, cap, path, strerror(errno != 0 ? errno : EIO));
        writer_free(w);
        unlink(path);
        return rc;
    }
    *out = w;
    return VL_OK;
}

vl_err vl_logfile_put(vl_logfile_writer *w, uint8_t type, const uint8_t *buf, size_t len)
{
    assert(w != NULL && (buf != NULL || len == 0));
    assert(type == VL_LOGREC_ENTRY || type == VL_LOGREC_CHECKPOINT || type == VL_LOGREC_LOCK);
    if (len > VL_LOGFILE_MAX_RECORD)
        return VL_ERR_LIMIT;
    return put_raw(w, type, buf, len);
}

vl_err vl_logfile_close(vl_logfile_writer **wp, char *err, size_t cap)
{
    assert(wp != NULL);
    vl_logfile_writer *w = *wp;
    *wp = NULL;
    if (w == NULL)
        return VL_OK;
    int e = w->io_errno;
    if (e == 0 && fflush(w->f) != 0)
        e = errno != 0 ? errno : EIO;
    if (e == 0 && fsync(fileno(w->f)) != 0)
        e = errno;
    if (fclose(w->f) != 0 && e == 0)
        e = errno != 0 ? errno : EIO;
    w->f = NULL;
    if (e == 0 && vl_fsync_parent(w->path) != 0)
        e = errno;
    if (e != 0)
        say(err, cap, w->path, strerror(e));
    writer_free(w);
    return e == 0 ? VL_OK : VL_ERR_IO;
}

/* ---- reader ------------------------------------------------------------------------ */

static vl_err header_parse(vl_logfile_reader *r, const uint8_t *buf, size_t len, char *err,
                           size_t cap)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    json_t *fmt = json_object_get(j, "format"), *nid = json_object_get(j, "network_id");
    json_t *node = json_object_get(j, "node_id"), *idx = json_object_get(j, "node_index");
    json_t *at = json_object_get(j, "exported_at_ms");
    const char *why = NULL;
    if (j == NULL || !json_is_object(j))
        why = "the header is not a JSON object";
    else if (!json_is_integer(fmt) || json_integer_value(fmt) != 1)
        why = "\"format\" is not 1 (an unknown version of the format)";
    else if (!json_is_string(nid) ||
             vl_hex_decode(r->network_id, 32, json_string_value(nid)) != VL_OK)
        why = "\"network_id\" is not 64 hex digits";
    else if (!json_is_string(node) || json_string_length(node) == 0 ||
             json_string_length(node) > VL_MAX_ID_LEN)
        why = "\"node_id\" is not a node id";
    else if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
             json_integer_value(idx) >= VL_MAX_NODES)
        why = "\"node_index\" is not a node index";
    else if (!json_is_integer(at) || json_integer_value(at) < 0)
        why = "\"exported_at_ms\" is not a time";
    if (why == NULL) {
        memcpy(r->node_id, json_string_value(node), json_string_length(node) + 1);
        r->node_index = (uint16_t)json_integer_value(idx);
    } else if (err != NULL && cap > 0) {
        snprintf(err, cap, "byte %d: bad header record: %s", VL_LOGFILE_MAGIC_LEN, why);
    }
    json_decref(j);
    return why == NULL ? VL_OK : VL_ERR_TYPE;
}

vl_err vl_logfile_open(const char *path, vl_logfile_reader **out, char *err, size_t cap)
{
    assert(path != NULL && out != NULL);
    *out = NULL;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = fd < 0 ? errno : 0;
        if (fd >= 0)
            close(fd);
        say(err, cap, path, e != 0 ? strerror(e) : "not a regular file");
        return VL_ERR_IO;
    }
    size_t size = (size_t)sb.st_size;
    if (size < VL_LOGFILE_MAGIC_LEN) {
        close(fd);
        say(err, cap, path, "too short for a log export file (truncated)");
        return VL_ERR_TRUNCATED;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) {
        say(err, cap, path, strerror(e));
        return VL_ERR_IO;
    }
    (void)madvise(map, size, MADV_SEQUENTIAL);
    vl_logfile_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        munmap(map, size);
        say(err, cap, path, "out of memory");
        return VL_ERR_NOMEM;
    }
    r->map = map;
    r->size = size;
    if (memcmp(map, VL_LOGFILE_MAGIC, VL_LOGFILE_MAGIC_LEN) != 0) {
        vl_logfile_close_reader(&r);
        say(err, cap, path, "not a log export file (bad magic at byte 0)");
        return VL_ERR_TYPE;
    }
    r->pos = VL_LOGFILE_MAGIC_LEN;
    uint8_t type;
    const uint8_t *buf;
    size_t len;
    vl_err rc = vl_logfile_next(r, &type, &buf, &len, err, cap);
    if (rc == VL_OK && type != VL_LOGREC_HEADER) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "byte %d: the first record is not a header (type %u)",
                     VL_LOGFILE_MAGIC_LEN, (unsigned)type);
        rc = type == VL_LOGREC_END ? VL_ERR_TRUNCATED : VL_ERR_TYPE;
    } else if (rc == VL_OK && len > LOGFILE_MAX_HEADER) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "byte %d: header record of %zu bytes (at most %u)",
                     VL_LOGFILE_MAGIC_LEN, len, LOGFILE_MAX_HEADER);
        rc = VL_ERR_LIMIT;
    } else if (rc == VL_OK) {
        rc = header_parse(r, buf, len, err, cap);
    }
    if (rc != VL_OK) {
        vl_logfile_close_reader(&r);
        return rc;
    }
    *out = r;
    return VL_OK;
}

const char *vl_logfile_node_id(const vl_logfile_reader *r)
{
    assert(r != NULL);
    return r->node_id;
}

uint16_t vl_logfile_node_index(const vl_logfile_reader *r)
{
    assert(r != NULL);
    return r->node_index;
}

const uint8_t *vl_logfile_network_id(const vl_logfile_reader *r)
{
    assert(r != NULL);
    return r->network_id;
}

vl_err vl_logfile_next(vl_logfile_reader *r, uint8_t *type, const uint8_t **buf, size_t *len,
                       char *err, size_t cap)
{
    assert(r != NULL && type != NULL && buf != NULL && len != NULL);
    *type = VL_LOGREC_END;
    *buf = NULL;
    *len = 0;
    size_t at = r->pos, left = r->size - r->pos;
    if (left == 0)
        return VL_OK;
    if (left < 5) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "byte %zu: truncated record header (%zu of 5 bytes)", at, left);
        return VL_ERR_TRUNCATED;
    }
    const uint8_t *p = r->map + at;
    uint32_t n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (p[0] < VL_LOGREC_HEADER || p[0] > VL_LOGREC_LOCK ||
        (p[0] == VL_LOGREC_HEADER && at != VL_LOGFILE_MAGIC_LEN)) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "byte %zu: unknown or misplaced record type %u", at,
                     (unsigned)p[0]);
        return VL_ERR_TYPE;
    }
    if (n > VL_LOGFILE_MAX_RECORD) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "byte %zu: record of %" PRIu32 " bytes (at most %u)", at, n,
                     VL_LOGFILE_MAX_RECORD);
        return VL_ERR_LIMIT;
    }
    if (n > left - 5) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "byte %zu: truncated record (%zu of %" PRIu32 " bytes)", at,
                     left - 5, n);
        return VL_ERR_TRUNCATED;
    }
    *type = p[0];
    *buf = p + 5;
    *len = n;
    r->pos = at + 5 + n;
    return VL_OK;
}

void vl_logfile_close_reader(vl_logfile_reader **rp)
{
    assert(rp != NULL);
    vl_logfile_reader *r = *rp;
    *rp = NULL;
    if (r == NULL)
        return;
    if (r->map != NULL)
        munmap((void *)(uintptr_t)r->map, r->size);
    free(r);
}
