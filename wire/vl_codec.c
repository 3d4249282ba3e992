/* vl_codec.c - bounded writer and strict reader (see vl_codec.h).
 *
 * Invariants
 *  1. A writer never stores outside out[0..cap); once a write does not fit it
 *     stores nothing more (overflow is sticky) but keeps counting, so len is
 *     always the size of the whole encoding.
 *  2. A reader never looks at buf[pos..len) beyond what it has checked is
 *     there: every getter compares n with vl_reader_left() first, and a
 *     length read from the input is compared with its limit before that.
 */
#include "vl_codec.h"

#include <assert.h>
#include <string.h>

/* ---- writer ------------------------------------------------------------- */

void vl_writer_init(vl_writer *w, uint8_t *out, size_t cap)
{
    assert(w != NULL);
    w->out = out;
    w->cap = out != NULL ? cap : 0;
    w->len = 0;
    w->overflow = 0;
}

/* Reserve n bytes at the end: a pointer to store them, or NULL when only
 * counting or when they do not fit (then overflow is set). */
static uint8_t *reserve(vl_writer *w, size_t n)
{
    assert(w->len <= SIZE_MAX - n);
    size_t at = w->len;
    w->len += n;
    if (w->out == NULL || w->overflow)
        return NULL;
    if (n > w->cap - at) {
        w->overflow = 1;
        return NULL;
    }
    return w->out + at;
}

static void store_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(vl_writer *w, uint64_t v, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (p != NULL)
        store_le(p, v, n);
}

void vl_put_u8(vl_writer *w, uint8_t v) { put_le(w, v, 1); }
void vl_put_u16(vl_writer *w, uint16_t v) { put_le(w, v, 2); }
void vl_put_u32(vl_writer *w, uint32_t v) { put_le(w, v, 4); }
void vl_put_u64(vl_writer *w, uint64_t v) { put_le(w, v, 8); }

void vl_put_bytes(vl_writer *w, const void *p, size_t n)
{
    assert(p != NULL || n == 0);
    uint8_t *dst = reserve(w, n);
    if (dst != NULL && n > 0)
        memcpy(dst, p, n);
}

void vl_put_str8(vl_writer *w, vl_bytes s)
{
    assert(s.len <= UINT8_MAX);
    vl_put_u8(w, (uint8_t)s.len);
    vl_put_bytes(w, s.ptr, s.len);
}

void vl_put_str16(vl_writer *w, vl_bytes s)
{
    assert(s.len <= UINT16_MAX);
    vl_put_u16(w, (uint16_t)s.len);
    vl_put_bytes(w, s.ptr, s.len);
}

void vl_patch_u32(vl_writer *w, size_t pos, uint32_t v)
{
    if (w->out == NULL || pos > w->cap || w->cap - pos < 4)
        return;
    assert(pos + 4 <= w->len);
    store_le(w->out + pos, v, 4);
}

vl_err vl_writer_finish(const vl_writer *w, size_t *len)
{
    assert(len != NULL);
    *len = w->len;
    return w->overflow ? VL_ERR_TOO_BIG : VL_OK;
}

/* ---- reader ------------------------------------------------------------- */

void vl_reader_init(vl_reader *r, const uint8_t *buf, size_t len)
{
    assert(r != NULL && (buf != NULL || len == 0));
    r->buf = buf;
    r->len = len;
    r->pos = 0;
}

size_t vl_reader_left(const vl_reader *r)
{
    assert(r->pos <= r->len);
    return r->len - r->pos;
}

vl_err vl_get_view(vl_reader *r, size_t n, const uint8_t **p)
{
    if (n > vl_reader_left(r))
        return VL_ERR_TRUNCATED;
    *p = r->buf + r->pos;
    r->pos += n;
    return VL_OK;
}

static vl_err get_le(vl_reader *r, size_t n, uint64_t *v)
{
    const uint8_t *p;
    vl_err err = vl_get_view(r, n, &p);
    if (err != VL_OK)
        return err;
    *v = load_le(p, n);
    return VL_OK;
}

vl_err vl_get_u8(vl_reader *r, uint8_t *v)
{
    uint64_t x = 0;
    vl_err err = get_le(r, 1, &x);
    *v = (uint8_t)x;
    return err;
}

vl_err vl_get_u16(vl_reader *r, uint16_t *v)
{
    uint64_t x = 0;
    vl_err err = get_le(r, 2, &x);
    *v = (uint16_t)x;
    return err;
}

vl_err vl_get_u32(vl_reader *r, uint32_t *v)
{
    uint64_t x = 0;
    vl_err err = get_le(r, 4, &x);
    *v = (uint32_t)x;
    return err;
}

vl_err vl_get_u64(vl_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    vl_err err = get_le(r, 8, &x);
    *v = x;
    return err;
}

vl_err vl_get_fixed(vl_reader *r, void *out, size_t n)
{
    const uint8_t *p;
    vl_err err = vl_get_view(r, n, &p);
    if (err != VL_OK)
        return err;
    if (n > 0)
        memcpy(out, p, n);
    return VL_OK;
}

/* The bytes of a string whose length n was just read: limit first. */
static vl_err get_string_body(vl_reader *r, size_t n, size_t limit, vl_bytes *s)
{
    if (n > limit)
        return VL_ERR_LIMIT;
    const uint8_t *p;
    vl_err err = vl_get_view(r, n, &p);
    if (err != VL_OK)
        return err;
    s->ptr = p; /* never NULL, even when empty: safe for memcpy */
    s->len = (uint32_t)n;
    return VL_OK;
}

vl_err vl_get_str8(vl_reader *r, size_t limit, vl_bytes *s)
{
    uint8_t n;
    vl_err err = vl_get_u8(r, &n);
    return err != VL_OK ? err : get_string_body(r, n, limit, s);
}

vl_err vl_get_str16(vl_reader *r, size_t limit, vl_bytes *s)
{
    uint16_t n;
    vl_err err = vl_get_u16(r, &n);
    return err != VL_OK ? err : get_string_body(r, n, limit, s);
}

int vl_text_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return 0;
    return 1;
}

vl_err vl_get_text8(vl_reader *r, size_t limit, vl_bytes *s)
{
    vl_err err = vl_get_str8(r, limit, s);
    if (err == VL_OK && !vl_text_ok(s->ptr, s->len))
        err = VL_ERR_NONCANONICAL;
    return err;
}

vl_err vl_get_text16(vl_reader *r, size_t limit, vl_bytes *s)
{
    vl_err err = vl_get_str16(r, limit, s);
    if (err == VL_OK && !vl_text_ok(s->ptr, s->len))
        err = VL_ERR_NONCANONICAL;
    return err;
}

vl_err vl_get_obj(vl_reader *r, vl_bytes *obj)
{
    uint32_t n;
    vl_err err = vl_get_u32(r, &n);
    if (err != VL_OK)
        return err;
    if (n > VL_MAX_MSG_BYTES)
        return VL_ERR_LIMIT;
    const uint8_t *p;
    err = vl_get_view(r, n, &p);
    if (err != VL_OK)
        return err;
    obj->ptr = p;
    obj->len = n;
    return VL_OK;
}

vl_err vl_reader_end(const vl_reader *r)
{
    return vl_reader_left(r) == 0 ? VL_OK : VL_ERR_TRAILING;
}
