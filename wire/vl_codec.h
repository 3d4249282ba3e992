/* vl_codec.h - the byte-level primitives under every wire encoding.
 *
 * Internal to wire/: vl_wire.c (and the genesis encoder) build on these; the
 * rest of the project uses vl_wire.h.  Two halves:
 *
 *  - vl_writer: a bounded little-endian writer.  With out == NULL it only
 *    counts, which is how encoders report the size of an encoding.  Writing
 *    past cap never touches memory: the writer sets `overflow`, keeps
 *    counting, and vl_writer_finish turns that into VL_ERR_TOO_BIG.  So an
 *    encoder can write everything unconditionally and check once at the end.
 *
 *  - vl_reader: a strict reader over a borrowed buffer.  Every getter checks
 *    the bytes are there (VL_ERR_TRUNCATED) and every length taken from the
 *    input is checked against the limit the caller names (VL_ERR_LIMIT)
 *    BEFORE anything is read past it.  On error the reader's position is
 *    unspecified and the output of that getter is untouched or zero; callers
 *    stop at the first error.  Views (vl_get_view, strings, objects) borrow
 *    from the buffer and are valid while it is.
 */
#ifndef VL_CODEC_H
#define VL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "vl_error.h"
#include "vl_wire.h"

/* ---- writer ------------------------------------------------------------- */

typedef struct {
    uint8_t *out; /* NULL: count only */
    size_t cap;   /* bytes available at out (ignored when out == NULL) */
    size_t len;   /* bytes the encoding needs so far */
    int overflow; /* set once a write did not fit in cap */
} vl_writer;

void vl_writer_init(vl_writer *w, uint8_t *out, size_t cap);

void vl_put_u8(vl_writer *w, uint8_t v);
void vl_put_u16(vl_writer *w, uint16_t v);
void vl_put_u32(vl_writer *w, uint32_t v);
void vl_put_u64(vl_writer *w, uint64_t v);
/* n raw bytes (p may be NULL only when n == 0). */
void vl_put_bytes(vl_writer *w, const void *p, size_t n);
/* u8 / u16 length, then the bytes.  Asserts the length fits the prefix:
 * callers check the field's own limit (and return VL_ERR_LIMIT) first. */
void vl_put_str8(vl_writer *w, vl_bytes s);
void vl_put_str16(vl_writer *w, vl_bytes s);

/* Overwrite a u32 written earlier at offset pos (a length placeholder).
 * Does nothing when counting or when that offset did not fit. */
void vl_patch_u32(vl_writer *w, size_t pos, uint32_t v);

/* Report the result: *len = the full encoding size (also on TOO_BIG, so a
 * caller can learn the size it needs).  VL_OK or VL_ERR_TOO_BIG. */
vl_err vl_writer_finish(const vl_writer *w, size_t *len);

/* ---- reader ------------------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} vl_reader;

void vl_reader_init(vl_reader *r, const uint8_t *buf, size_t len);

/* Bytes not yet read. */
size_t vl_reader_left(const vl_reader *r);

/* Little-endian integers.  VL_OK or VL_ERR_TRUNCATED. */
vl_err vl_get_u8(vl_reader *r, uint8_t *v);
vl_err vl_get_u16(vl_reader *r, uint16_t *v);
vl_err vl_get_u32(vl_reader *r, uint32_t *v);
vl_err vl_get_u64(vl_reader *r, uint64_t *v);

/* Copy n fixed bytes (keys, hashes, signatures).  VL_OK, VL_ERR_TRUNCATED. */
vl_err vl_get_fixed(vl_reader *r, void *out, size_t n);

/* Borrow n bytes.  VL_OK, VL_ERR_TRUNCATED. */
vl_err vl_get_view(vl_reader *r, size_t n, const uint8_t **p);

/* u8 / u16 length, checked against `limit` (VL_ERR_LIMIT) before the bytes
 * are read (VL_ERR_TRUNCATED); the bytes are borrowed into *s. */
vl_err vl_get_str8(vl_reader *r, size_t limit, vl_bytes *s);
vl_err vl_get_str16(vl_reader *r, size_t limit, vl_bytes *s);

/* The same for text fields, which must also be printable ASCII 0x20..0x7e
 * (else VL_ERR_NONCANONICAL). */
vl_err vl_get_text8(vl_reader *r, size_t limit, vl_bytes *s);
vl_err vl_get_text16(vl_reader *r, size_t limit, vl_bytes *s);

/* A nested object: u32 length (> VL_MAX_MSG_BYTES: VL_ERR_LIMIT), then
 * that many bytes, borrowed into *obj.  The caller decodes them strictly. */
vl_err vl_get_obj(vl_reader *r, vl_bytes *obj);

/* VL_OK if every byte was read, else VL_ERR_TRAILING. */
vl_err vl_reader_end(const vl_reader *r);

/* 1 if all n bytes are printable ASCII 0x20..0x7e (1 for n == 0). */
int vl_text_ok(const uint8_t *p, size_t n);

#endif
