/* vl_wire.c - the canonical binary encoding of every object and message.
 *
 * The contract is vl_wire.h; the byte layout is docs/protocol.md.
 *
 * Design
 *  1. One body reader and one body writer per object or message.  The
 *     version and type bytes are handled once, around them (decode_with,
 *     encode_with), so a nested object goes through exactly the code a
 *     top-level one does: strictness cannot differ between the two.
 *  2. Readers and writers enforce the same rules through shared checks
 *     (voucher_check, cert_vote_check, count_check, ...).  That is what makes
 *     "encoders never emit what decoders refuse" hold: there is one
 *     definition of canonical, used in both directions.
 *  3. Canonical means: one encoding per value.  Fixed-width integers, no
 *     optional fields whose absence is not implied by an earlier field,
 *     lists in their one allowed order, text fields printable ASCII, and
 *     nothing after the last field.  So encode(decode(x)) == x whenever
 *     decode(x) succeeds, which the fuzz targets check on every input.
 *  4. Every count and length from the input is compared with its limit
 *     (vl_limits.h) before the bytes it covers are read, and the whole input
 *     with VL_MAX_MSG_BYTES before anything else.  The reader never reads
 *     past what it checked (vl_codec.c invariant 2).
 *  5. Nested objects (u32 length + full encoding) are checked by decoding
 *     them, with their own decoder, into a heap scratch vl_cert (big enough
 *     for an order too).  The scratch is allocated on first use and freed
 *     before the top-level call returns: at most one malloc per call, and
 *     VL_ERR_NOMEM if it fails.  Encoders of objects that carry raw nested
 *     bytes (entries, messages) check them the same way.
 *  6. Decoders zero their output first and again on failure, so unused
 *     fields (those of another kind) are always zero after a decode, and a
 *     failed decode leaves nothing half-filled.  Encoders ignore the fields a
 *     kind does not use.
 *
 * Error precedence inside one field follows reading order: a length over its
 * limit is VL_ERR_LIMIT even if the bytes it announces are missing.
 */
#include "vl_wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "vl_codec.h"
#include "vl_crypto.h"

#define TRY(expr)                                                              \
    do {                                                                       \
        vl_err try_err_ = (expr);                                              \
        if (try_err_ != VL_OK)                                                 \
            return try_err_;                                                   \
    } while (0)

/* Bytes of one voucher spec in an ISSUE order, without its label. */
#define VOUCHER_FIXED_BYTES (8u + 32u + 8u + 8u + 8u + 2u + 1u)
/* The longest order encoding (an ISSUE of VL_MAX_ISSUE_BATCH vouchers with
 * VL_MAX_LABEL_LEN labels, two signatures as an upper bound). */
#define ORDER_MAX_BYTES                                                        \
    (2u + 32u + 1u + 8u + 32u + 2u +                                           \
     VL_MAX_ISSUE_BATCH * (VOUCHER_FIXED_BYTES + VL_MAX_LABEL_LEN) + 1u + 128u)
/* A checkpoint up to its signature. */
#define CHECKPOINT_BODY_BYTES (2u + 32u + 2u + 8u + 32u + 32u + 8u)

/* ---- scratch for nested objects (design note 5) -------------------------- */

typedef struct {
    vl_cert *cert; /* NULL until first needed */
} scratch;

static vl_err scratch_cert(scratch *s, vl_cert **out)
{
    if (s->cert == NULL) {
        s->cert = malloc(sizeof *s->cert);
        if (s->cert == NULL)
            return VL_ERR_NOMEM;
    }
    *out = s->cert;
    return VL_OK;
}

static void scratch_free(scratch *s)
{
    free(s->cert);
    s->cert = NULL;
}

typedef vl_err (*body_reader)(vl_reader *r, void *obj, scratch *s);
typedef vl_err (*body_writer)(vl_writer *w, const void *obj, scratch *s);

/* ---- shared checks (design note 2) ---------------------------------------- */

/* n items where at least `min` (0 or 1) and at most `max` are allowed. */
static vl_err count_check(uint32_t n, uint32_t min, uint32_t max)
{
    if (n < min)
        return VL_ERR_EMPTY;
    return n > max ? VL_ERR_LIMIT : VL_OK;
}

/* A page size in a log request: 1..VL_MAX_MSG_ITEMS. */
static vl_err max_items_check(uint32_t n)
{
    if (n == 0)
        return VL_ERR_RANGE;
    return n > VL_MAX_MSG_ITEMS ? VL_ERR_LIMIT : VL_OK;
}

static vl_err text_check(vl_bytes t, uint32_t limit)
{
    assert(t.ptr != NULL || t.len == 0);
    if (t.len > limit)
        return VL_ERR_LIMIT;
    return vl_text_ok(t.ptr, t.len) ? VL_OK : VL_ERR_NONCANONICAL;
}

/* Strictly ascending keys (serials, voters): equal is `dup`. */
static vl_err ascending(uint64_t prev, uint64_t cur, vl_err dup)
{
    if (cur == prev)
        return dup;
    return cur < prev ? VL_ERR_UNSORTED : VL_OK;
}

static vl_err voucher_check(const vl_voucher_spec *v)
{
    if (v->value_fen == 0 || v->valid_until_s <= v->valid_from_s)
        return VL_ERR_RANGE;
    if (v->subsidy_bp < 1 || v->subsidy_bp > VL_MAX_SUBSIDY_BP)
        return VL_ERR_RANGE;
    return text_check(v->program, VL_MAX_LABEL_LEN);
}

static vl_err cert_vote_check(const vl_cert_vote *v)
{
    if (v->leaf_count == 0 || v->leaf_count > VL_MAX_BATCH_ORDERS)
        return VL_ERR_LIMIT;
    if (v->leaf_index >= v->leaf_count)
        return VL_ERR_RANGE;
    /* Bound first: path_len indexes a VL_MAX_MERKLE_DEPTH array. */
    if (v->path_len > VL_MAX_MERKLE_DEPTH ||
        v->path_len != vl_merkle_path_len(v->leaf_index, v->leaf_count))
        return VL_ERR_NONCANONICAL;
    return VL_OK;
}

static vl_err account_check(const vl_account *a)
{
    if (a->kind == VL_ACCOUNT_ISSUER)
        return VL_OK;
    if (a->kind != VL_ACCOUNT_VOUCHER || a->remaining_fen > a->face_fen)
        return VL_ERR_RANGE;
    if (a->status != VL_VOUCHER_ACTIVE && a->status != VL_VOUCHER_REVOKED)
        return VL_ERR_RANGE;
    return text_check(a->program, VL_MAX_LABEL_LEN);
}

static int is_msg_type(uint8_t type)
{
    return (type >= VL_MSG_VOTE_REQUEST && type <= VL_MSG_SUMMARY_REPLY) ||
           type == VL_MSG_CLIENT_REQUEST || type == VL_MSG_CLIENT_REPLY;
}

/* ---- framing: version, type, nesting -------------------------------------- */

vl_err vl_peek_type(const uint8_t *buf, size_t len, uint8_t *type)
{
    assert((buf != NULL || len == 0) && type != NULL);
    *type = 0;
    if (len < 2)
        return VL_ERR_TRUNCATED;
    if (buf[0] != VL_WIRE_VERSION)
        return VL_ERR_VERSION;
    *type = buf[1];
    return VL_OK;
}

/* Size limit, version and type of a whole input; leaves r after them. */
static vl_err read_header(vl_reader *r, const uint8_t *buf, size_t len, uint8_t *type)
{
    if (len > VL_MAX_MSG_BYTES)
        return VL_ERR_LIMIT;
    vl_reader_init(r, buf, len);
    TRY(vl_peek_type(buf, len, type));
    const uint8_t *skip;
    return vl_get_view(r, 2, &skip);
}

/* Decode one complete object of `type` into obj (not zeroed here). */
static vl_err decode_with(const uint8_t *buf, size_t len, uint8_t type, body_reader fn,
                          void *obj, scratch *s)
{
    vl_reader r;
    uint8_t got;
    TRY(read_header(&r, buf, len, &got));
    if (got != type)
        return VL_ERR_TYPE;
    TRY(fn(&r, obj, s));
    return vl_reader_end(&r);
}

/* The public decoders: zeroed output before and after a failure. */
static vl_err decode_top(const uint8_t *buf, size_t len, uint8_t type, body_reader fn,
                         void *obj, size_t obj_size)
{
    assert((buf != NULL || len == 0) && obj != NULL);
    memset(obj, 0, obj_size);
    scratch s = {NULL};
    vl_err err = decode_with(buf, len, type, fn, obj, &s);
    scratch_free(&s);
    if (err != VL_OK)
        memset(obj, 0, obj_size);
    return err;
}

static vl_err encode_with(vl_writer *w, uint8_t type, body_writer fn, const void *obj,
                          scratch *s)
{
    vl_put_u8(w, VL_WIRE_VERSION);
    vl_put_u8(w, type);
    return fn(w, obj, s);
}

static vl_err encode_top(uint8_t type, body_writer fn, const void *obj, uint8_t *out,
                         size_t cap, size_t *len)
{
    assert(obj != NULL && len != NULL);
    vl_writer w;
    vl_writer_init(&w, out, cap);
    scratch s = {NULL};
    vl_err err = encode_with(&w, type, fn, obj, &s);
    scratch_free(&s);
    if (err == VL_OK && w.len > VL_MAX_MSG_BYTES)
        err = VL_ERR_LIMIT;
    if (err != VL_OK) {
        *len = 0;
        return err;
    }
    return vl_writer_finish(&w, len);
}

/* u32 length + a struct encoded in place. */
static vl_err put_nested(vl_writer *w, uint8_t type, body_writer fn, const void *obj,
                         scratch *s)
{
    size_t at = w->len;
    vl_put_u32(w, 0);
    TRY(encode_with(w, type, fn, obj, s));
    size_t n = w->len - at - 4;
    if (n > VL_MAX_MSG_BYTES)
        return VL_ERR_LIMIT;
    vl_patch_u32(w, at, (uint32_t)n);
    return VL_OK;
}

static vl_err order_read(vl_reader *r, void *obj, scratch *s);
static vl_err cert_read(vl_reader *r, void *obj, scratch *s);
static vl_err entry_read(vl_reader *r, void *obj, scratch *s);
static vl_err checkpoint_read(vl_reader *r, void *obj, scratch *s);
static vl_err account_read(vl_reader *r, void *obj, scratch *s);
static vl_err summary_read(vl_reader *r, void *obj, scratch *s);

/* Check that raw bytes are one valid object of `type` (design note 5). */
static vl_err check_obj(scratch *s, uint8_t type, vl_bytes b)
{
    vl_cert *c;
    vl_entry e;
    vl_checkpoint cp;
    vl_account a;
    vl_summary sum;
    switch (type) {
    case VL_MSG_ORDER:
        TRY(scratch_cert(s, &c));
        return decode_with(b.ptr, b.len, type, order_read, &c->order, s);
    case VL_MSG_CERT:
        TRY(scratch_cert(s, &c));
        return decode_with(b.ptr, b.len, type, cert_read, c, s);
    case VL_MSG_ENTRY:
        return decode_with(b.ptr, b.len, type, entry_read, &e, s);
    case VL_MSG_CHECKPOINT:
        return decode_with(b.ptr, b.len, type, checkpoint_read, &cp, s);
    case VL_MSG_ACCOUNT:
        return decode_with(b.ptr, b.len, type, account_read, &a, s);
    case VL_MSG_SUMMARY:
        return decode_with(b.ptr, b.len, type, summary_read, &sum, s);
    default:
        assert(0 && "check_obj: not a nested object type");
        return VL_ERR_TYPE;
    }
}

/* Read u32 length + an object of `type`, checked, borrowed into *b. */
static vl_err get_checked_obj(vl_reader *r, scratch *s, uint8_t type, vl_bytes *b)
{
    TRY(vl_get_obj(r, b));
    return check_obj(s, type, *b);
}

/* Write raw object bytes after checking them. */
static vl_err put_checked_obj(vl_writer *w, scratch *s, uint8_t type, vl_bytes b)
{
    TRY(check_obj(s, type, b));
    vl_put_u32(w, b.len);
    vl_put_bytes(w, b.ptr, b.len);
    return VL_OK;
}

/* ---- orders --------------------------------------------------------------- */

unsigned vl_order_sig_count(uint8_t kind)
{
    switch (kind) {
    case VL_ORDER_ISSUE:
        return 1;
    case VL_ORDER_REDEEM:
        return 2;
    case VL_ORDER_REVOKE:
        return 1;
    default:
        return 0;
    }
}

static vl_err issue_write(vl_writer *w, const vl_order *o)
{
    TRY(count_check(o->voucher_count, 1, VL_MAX_ISSUE_BATCH));
    vl_put_u16(w, o->voucher_count);
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        const vl_voucher_spec *v = &o->vouchers[i];
        TRY(voucher_check(v));
        if (i > 0)
            TRY(ascending(o->vouchers[i - 1].serial, v->serial, VL_ERR_NONCANONICAL));
        vl_put_u64(w, v->serial);
        vl_put_bytes(w, v->holder, 32);
        vl_put_u64(w, v->value_fen);
        vl_put_u64(w, v->valid_from_s);
        vl_put_u64(w, v->valid_until_s);
        vl_put_u16(w, v->subsidy_bp);
        vl_put_str8(w, v->program);
    }
    return VL_OK;
}

/* Everything after the type byte up to, not including, sig_count. */
static vl_err order_write_unsigned(vl_writer *w, const vl_order *o)
{
    vl_put_bytes(w, o->network_id, 32);
    vl_put_u8(w, o->kind);
    vl_put_u64(w, o->seq);
    vl_put_bytes(w, o->issuer, 32);
    switch (o->kind) {
    case VL_ORDER_ISSUE:
        return issue_write(w, o);
    case VL_ORDER_REDEEM:
        if (o->amount_fen == 0)
            return VL_ERR_RANGE;
        vl_put_u64(w, o->serial);
        vl_put_bytes(w, o->holder, 32);
        vl_put_u64(w, o->amount_fen);
        vl_put_bytes(w, o->provider, 32);
        vl_put_bytes(w, o->invoice_hash, 32);
        vl_put_u64(w, o->gpu_milli_hours);
        return VL_OK;
    case VL_ORDER_REVOKE:
        TRY(text_check(o->reason, VL_MAX_REASON_LEN));
        vl_put_u64(w, o->serial);
        vl_put_str16(w, o->reason);
        return VL_OK;
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err order_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_order *o = obj;
    (void)s;
    TRY(order_write_unsigned(w, o));
    if (o->sig_count != vl_order_sig_count(o->kind))
        return VL_ERR_NONCANONICAL;
    vl_put_u8(w, o->sig_count);
    vl_put_bytes(w, o->sigs, 64u * o->sig_count);
    return VL_OK;
}

static vl_err voucher_read(vl_reader *r, vl_voucher_spec *v)
{
    TRY(vl_get_u64(r, &v->serial));
    TRY(vl_get_fixed(r, v->holder, 32));
    TRY(vl_get_u64(r, &v->value_fen));
    TRY(vl_get_u64(r, &v->valid_from_s));
    TRY(vl_get_u64(r, &v->valid_until_s));
    TRY(vl_get_u16(r, &v->subsidy_bp));
    TRY(vl_get_text8(r, VL_MAX_LABEL_LEN, &v->program));
    return voucher_check(v);
}

static vl_err issue_read(vl_reader *r, vl_order *o)
{
    TRY(vl_get_u16(r, &o->voucher_count));
    TRY(count_check(o->voucher_count, 1, VL_MAX_ISSUE_BATCH));
    for (uint32_t i = 0; i < o->voucher_count; i++) {
        TRY(voucher_read(r, &o->vouchers[i]));
        if (i > 0)
            TRY(ascending(o->vouchers[i - 1].serial, o->vouchers[i].serial,
                          VL_ERR_NONCANONICAL));
    }
    return VL_OK;
}

static vl_err redeem_read(vl_reader *r, vl_order *o)
{
    TRY(vl_get_u64(r, &o->serial));
    TRY(vl_get_fixed(r, o->holder, 32));
    TRY(vl_get_u64(r, &o->amount_fen));
    if (o->amount_fen == 0)
        return VL_ERR_RANGE;
    TRY(vl_get_fixed(r, o->provider, 32));
    TRY(vl_get_fixed(r, o->invoice_hash, 32));
    return vl_get_u64(r, &o->gpu_milli_hours);
}

static vl_err order_read(vl_reader *r, void *obj, scratch *s)
{
    vl_order *o = obj;
    (void)s;
    TRY(vl_get_fixed(r, o->network_id, 32));
    TRY(vl_get_u8(r, &o->kind));
    if (vl_order_sig_count(o->kind) == 0)
        return VL_ERR_RANGE;
    TRY(vl_get_u64(r, &o->seq));
    TRY(vl_get_fixed(r, o->issuer, 32));
    if (o->kind == VL_ORDER_ISSUE) {
        TRY(issue_read(r, o));
    } else if (o->kind == VL_ORDER_REDEEM) {
        TRY(redeem_read(r, o));
    } else {
        TRY(vl_get_u64(r, &o->serial));
        TRY(vl_get_text16(r, VL_MAX_REASON_LEN, &o->reason));
    }
    TRY(vl_get_u8(r, &o->sig_count));
    if (o->sig_count != vl_order_sig_count(o->kind))
        return VL_ERR_NONCANONICAL;
    return vl_get_fixed(r, o->sigs, 64u * o->sig_count);
}

vl_err vl_order_encode(const vl_order *o, uint8_t *out, size_t cap, size_t *len)
{
    return encode_top(VL_MSG_ORDER, order_write, o, out, cap, len);
}

vl_err vl_order_decode(const uint8_t *buf, size_t len, vl_order *o)
{
    return decode_top(buf, len, VL_MSG_ORDER, order_read, o, sizeof *o);
}

void vl_order_hash(uint8_t out[32], const vl_order *o)
{
    /* ~25 KiB on the stack: the hash API takes one contiguous message. */
    uint8_t buf[ORDER_MAX_BYTES];
    vl_writer w;
    vl_writer_init(&w, buf, sizeof buf);
    vl_put_u8(&w, VL_WIRE_VERSION);
    vl_put_u8(&w, VL_MSG_ORDER);
    vl_err err = order_write_unsigned(&w, o);
    assert(err == VL_OK && "vl_order_hash: order is not canonical");
    size_t len;
    err = vl_writer_finish(&w, &len);
    assert(err == VL_OK);
    (void)err;
    vl_tagged_hash(out, VL_TAG_ORDER, buf, len);
}

void vl_order_account(uint8_t out[32], const vl_order *o)
{
    assert(vl_order_sig_count(o->kind) != 0);
    if (o->kind == VL_ORDER_ISSUE)
        vl_issuer_account_id(out, o->issuer);
    else
        vl_voucher_account_id(out, o->issuer, o->serial);
}

/* ---- batch votes ---------------------------------------------------------- */

void vl_vote_message(uint8_t out[32], const uint8_t root[32])
{
    vl_tagged_hash(out, VL_TAG_VOTE, root, 32);
}

void vl_vote_leaf(uint8_t out[32], const uint8_t order_hash[32], const vl_order *o)
{
    assert(o->sig_count <= 2);
    uint8_t buf[32 + 2 * 64];
    memcpy(buf, order_hash, 32);
    memcpy(buf + 32, o->sigs, 64u * o->sig_count);
    vl_tagged_hash(out, VL_TAG_VOTE_LEAF, buf, 32u + 64u * o->sig_count);
}

static vl_err batch_vote_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_batch_vote *v = obj;
    (void)s;
    vl_put_u16(w, v->voter);
    vl_put_bytes(w, v->root, 32);
    vl_put_bytes(w, v->sig, 64);
    return VL_OK;
}

static vl_err batch_vote_read(vl_reader *r, void *obj, scratch *s)
{
    vl_batch_vote *v = obj;
    (void)s;
    TRY(vl_get_u16(r, &v->voter));
    TRY(vl_get_fixed(r, v->root, 32));
    return vl_get_fixed(r, v->sig, 64);
}

vl_err vl_batch_vote_encode(const vl_batch_vote *v, uint8_t *out, size_t cap, size_t *len)
{
    return encode_top(VL_MSG_BATCH_VOTE, batch_vote_write, v, out, cap, len);
}

vl_err vl_batch_vote_decode(const uint8_t *buf, size_t len, vl_batch_vote *v)
{
    return decode_top(buf, len, VL_MSG_BATCH_VOTE, batch_vote_read, v, sizeof *v);
}

/* ---- certificates ----------------------------------------------------------- */

static vl_err cert_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_cert *c = obj;
    TRY(put_nested(w, VL_MSG_ORDER, order_write, &c->order, s));
    TRY(count_check(c->vote_count, 1, VL_MAX_NODES));
    vl_put_u8(w, c->vote_count);
    for (uint32_t i = 0; i < c->vote_count; i++) {
        const vl_cert_vote *v = &c->votes[i];
        if (i > 0)
            TRY(ascending(c->votes[i - 1].voter, v->voter, VL_ERR_DUP_SIGNER));
        TRY(cert_vote_check(v));
        vl_put_u16(w, v->voter);
        vl_put_u32(w, v->leaf_index);
        vl_put_u32(w, v->leaf_count);
        vl_put_u8(w, v->path_len);
        vl_put_bytes(w, v->path, 32u * v->path_len);
        vl_put_bytes(w, v->sig, 64);
    }
    return VL_OK;
}

static vl_err cert_vote_read(vl_reader *r, vl_cert_vote *v)
{
    TRY(vl_get_u16(r, &v->voter));
    TRY(vl_get_u32(r, &v->leaf_index));
    TRY(vl_get_u32(r, &v->leaf_count));
    TRY(vl_get_u8(r, &v->path_len));
    TRY(cert_vote_check(v));
    TRY(vl_get_fixed(r, v->path, 32u * v->path_len));
    return vl_get_fixed(r, v->sig, 64);
}

static vl_err cert_read(vl_reader *r, void *obj, scratch *s)
{
    vl_cert *c = obj;
    TRY(vl_get_obj(r, &c->order_raw));
    TRY(decode_with(c->order_raw.ptr, c->order_raw.len, VL_MSG_ORDER, order_read, &c->order,
                    s));
    TRY(vl_get_u8(r, &c->vote_count));
    TRY(count_check(c->vote_count, 1, VL_MAX_NODES));
    for (uint32_t i = 0; i < c->vote_count; i++) {
        TRY(cert_vote_read(r, &c->votes[i]));
        if (i > 0)
            TRY(ascending(c->votes[i - 1].voter, c->votes[i].voter, VL_ERR_DUP_SIGNER));
    }
    return VL_OK;
}

vl_err vl_cert_encode(const vl_cert *c, uint8_t *out, size_t cap, size_t *len)
{
    return encode_top(VL_MSG_CERT, cert_write, c, out, cap, len);
}

vl_err vl_cert_decode(const uint8_t *buf, size_t len, vl_cert *c)
{
    return decode_top(buf, len, VL_MSG_CERT, cert_read, c, sizeof *c);
}

void vl_cert_hash(uint8_t out[32], const uint8_t *cert, size_t cert_len)
{
    vl_tagged_hash(out, VL_TAG_CERTIFICATE, cert, cert_len);
}

/* ---- log entries ------------------------------------------------------------ */

static vl_err entry_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_entry *e = obj;
    if (e->index == 0)
        return VL_ERR_RANGE;
    vl_put_u64(w, e->index);
    vl_put_bytes(w, e->prev_hash, 32);
    vl_put_u64(w, e->time_ms);
    return put_checked_obj(w, s, VL_MSG_CERT, e->cert);
}

static vl_err entry_read(vl_reader *r, void *obj, scratch *s)
{
    vl_entry *e = obj;
    TRY(vl_get_u64(r, &e->index));
    if (e->index == 0)
        return VL_ERR_RANGE;
    TRY(vl_get_fixed(r, e->prev_hash, 32));
    TRY(vl_get_u64(r, &e->time_ms));
    return get_checked_obj(r, s, VL_MSG_CERT, &e->cert);
}

vl_err vl_entry_encode(const vl_entry *e, uint8_t *out, size_t cap, size_t *len)
{
    return encode_top(VL_MSG_ENTRY, entry_write, e, out, cap, len);
}

vl_err vl_entry_decode(const uint8_t *buf, size_t len, vl_entry *e)
{
    return decode_top(buf, len, VL_MSG_ENTRY, entry_read, e, sizeof *e);
}

void vl_entry_hash(uint8_t out[32], uint64_t index, const uint8_t prev_hash[32],
                   const uint8_t cert_hash[32])
{
    uint8_t buf[8 + 32 + 32];
    for (unsigned i = 0; i < 8; i++)
        buf[i] = (uint8_t)(index >> (8 * i));
    memcpy(buf + 8, prev_hash, 32);
    memcpy(buf + 40, cert_hash, 32);
    vl_tagged_hash(out, VL_TAG_ENTRY, buf, sizeof buf);
}

/* ---- log entry summaries ------------------------------------------------------ */

static vl_err summary_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_summary *e = obj;
    (void)s;
    if (e->index == 0)
        return VL_ERR_RANGE;
    vl_put_u64(w, e->index);
    vl_put_u64(w, e->time_ms);
    vl_put_bytes(w, e->entry_hash, 32);
    vl_put_bytes(w, e->account, 32);
    vl_put_u64(w, e->seq);
    vl_put_bytes(w, e->order_hash, 32);
    return VL_OK;
}

static vl_err summary_read(vl_reader *r, void *obj, scratch *s)
{
    vl_summary *e = obj;
    (void)s;
    TRY(vl_get_u64(r, &e->index));
    if (e->index == 0)
        return VL_ERR_RANGE;
    TRY(vl_get_u64(r, &e->time_ms));
    TRY(vl_get_fixed(r, e->entry_hash, 32));
    TRY(vl_get_fixed(r, e->account, 32));
    TRY(vl_get_u64(r, &e->seq));
    return vl_get_fixed(r, e->order_hash, 32);
}

vl_err vl_summary_encode(const vl_summary *e, uint8_t *out, size_t cap, size_t *len)
{
    return encode_top(VL_MSG_SUMMARY, summary_write, e, out, cap, len);
}

vl_err vl_summary_decode(const uint8_t *buf, size_t len, vl_summary *e)
{
    return decode_top(buf, len, VL_MSG_SUMMARY, summary_read, e, sizeof *e);
}

/* ---- checkpoints ------------------------------------------------------------ */

static void checkpoint_write_unsigned(vl_writer *w, const vl_checkpoint *cp)
{
    vl_put_bytes(w, cp->network_id, 32);
    vl_put_u16(w, cp->node);
    vl_put_u64(w, cp->log_index);
    vl_put_bytes(w, cp->entry_hash, 32);
    vl_put_bytes(w, cp->state_digest, 32);
    vl_put_u64(w, cp->time_ms);
}

static vl_err checkpoint_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_checkpoint *cp = obj;
    (void)s;
    checkpoint_write_unsigned(w, cp);
    vl_put_bytes(w, cp->sig, 64);
    return VL_OK;
}

static vl_err checkpoint_read(vl_reader *r, void *obj, scratch *s)
{
    vl_checkpoint *cp = obj;
    (void)s;
    TRY(vl_get_fixed(r, cp->network_id, 32));
    TRY(vl_get_u16(r, &cp->node));
    TRY(vl_get_u64(r, &cp->log_index));
    TRY(vl_get_fixed(r, cp->entry_hash, 32));
    TRY(vl_get_fixed(r, cp->state_digest, 32));
    TRY(vl_get_u64(r, &cp->time_ms));
    return vl_get_fixed(r, cp->sig, 64);
}

vl_err vl_checkpoint_encode(const vl_checkpoint *cp, uint8_t *out, size_t cap, size_t *len)
{
    return encode_top(VL_MSG_CHECKPOINT, checkpoint_write, cp, out, cap, len);
}

vl_err vl_checkpoint_decode(const uint8_t *buf, size_t len, vl_checkpoint *cp)
{
    return decode_top(buf, len, VL_MSG_CHECKPOINT, checkpoint_read, cp, sizeof *cp);
}

void vl_checkpoint_message(uint8_t out[32], const vl_checkpoint *cp)
{
    uint8_t buf[CHECKPOINT_BODY_BYTES];
    vl_writer w;
    vl_writer_init(&w, buf, sizeof buf);
    vl_put_u8(&w, VL_WIRE_VERSION);
    vl_put_u8(&w, VL_MSG_CHECKPOINT);
    checkpoint_write_unsigned(&w, cp);
    size_t len;
    vl_err err = vl_writer_finish(&w, &len);
    assert(err == VL_OK && len == sizeof buf);
    (void)err;
    vl_tagged_hash(out, VL_TAG_CHECKPOINT, buf, len);
}

/* ---- accounts --------------------------------------------------------------- */

static vl_err account_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_account *a = obj;
    (void)s;
    TRY(account_check(a));
    vl_put_u8(w, a->kind);
    vl_put_bytes(w, a->issuer, 32);
    vl_put_u64(w, a->next_seq);
    if (a->kind == VL_ACCOUNT_ISSUER) {
        vl_put_u64(w, a->budget_fen);
        vl_put_u64(w, a->balance_fen);
        vl_put_u64(w, a->issued_fen);
        vl_put_u64(w, a->credited_fen);
        return VL_OK;
    }
    vl_put_u64(w, a->serial);
    vl_put_bytes(w, a->holder, 32);
    vl_put_u64(w, a->face_fen);
    vl_put_u64(w, a->remaining_fen);
    vl_put_u64(w, a->valid_from_s);
    vl_put_u64(w, a->valid_until_s);
    vl_put_u16(w, a->subsidy_bp);
    vl_put_u8(w, a->status);
    vl_put_str8(w, a->program);
    return VL_OK;
}

static vl_err account_read(vl_reader *r, void *obj, scratch *s)
{
    vl_account *a = obj;
    (void)s;
    TRY(vl_get_u8(r, &a->kind));
    if (a->kind != VL_ACCOUNT_ISSUER && a->kind != VL_ACCOUNT_VOUCHER)
        return VL_ERR_RANGE;
    TRY(vl_get_fixed(r, a->issuer, 32));
    TRY(vl_get_u64(r, &a->next_seq));
    if (a->kind == VL_ACCOUNT_ISSUER) {
        TRY(vl_get_u64(r, &a->budget_fen));
        TRY(vl_get_u64(r, &a->balance_fen));
        TRY(vl_get_u64(r, &a->issued_fen));
        return vl_get_u64(r, &a->credited_fen);
    }
    TRY(vl_get_u64(r, &a->serial));
    TRY(vl_get_fixed(r, a->holder, 32));
    TRY(vl_get_u64(r, &a->face_fen));
    TRY(vl_get_u64(r, &a->remaining_fen));
    TRY(vl_get_u64(r, &a->valid_from_s));
    TRY(vl_get_u64(r, &a->valid_until_s));
    TRY(vl_get_u16(r, &a->subsidy_bp));
    TRY(vl_get_u8(r, &a->status));
    TRY(vl_get_text8(r, VL_MAX_LABEL_LEN, &a->program));
    return account_check(a);
}

vl_err vl_account_encode(const vl_account *a, uint8_t *out, size_t cap, size_t *len)
{
    return encode_top(VL_MSG_ACCOUNT, account_write, a, out, cap, len);
}

vl_err vl_account_decode(const uint8_t *buf, size_t len, vl_account *a)
{
    return decode_top(buf, len, VL_MSG_ACCOUNT, account_read, a, sizeof *a);
}

/* ---- messages: lists of nested objects --------------------------------------- */

/* u16 count in min..max, then that many checked objects of `type`. */
static vl_err items_write(vl_writer *w, scratch *s, const vl_msg *m, uint8_t type,
                          uint32_t min, uint32_t max)
{
    TRY(count_check(m->item_count, min, max));
    assert(m->items != NULL || m->item_count == 0);
    vl_put_u16(w, (uint16_t)m->item_count);
    for (uint32_t i = 0; i < m->item_count; i++)
        TRY(put_checked_obj(w, s, type, m->items[i]));
    return VL_OK;
}

static vl_err items_read(vl_reader *r, scratch *s, vl_msg *m, uint8_t type, uint32_t min,
                         uint32_t max)
{
    uint16_t n;
    TRY(vl_get_u16(r, &n));
    TRY(count_check(n, min, max));
    for (uint32_t i = 0; i < n; i++) {
        TRY(get_checked_obj(r, s, type, &m->items[i]));
        m->item_count = i + 1;
    }
    return VL_OK;
}

/* Exactly one object, carried without a count (items[0]). */
static vl_err one_item_write(vl_writer *w, scratch *s, const vl_msg *m, uint8_t type)
{
    TRY(count_check(m->item_count, 1, 1));
    assert(m->items != NULL);
    return put_checked_obj(w, s, type, m->items[0]);
}

static vl_err one_item_read(vl_reader *r, scratch *s, vl_msg *m, uint8_t type)
{
    TRY(get_checked_obj(r, s, type, &m->items[0]));
    m->item_count = 1;
    return VL_OK;
}

/* ---- messages: VOTE_REPLY ------------------------------------------------------ */

static vl_err answer_write(vl_writer *w, scratch *s, const vl_answer *a)
{
    vl_put_bytes(w, a->order_hash, 32);
    vl_put_u8(w, a->kind);
    switch (a->kind) {
    case VL_ANSWER_REJECTED:
        vl_put_u16(w, a->code);
        return VL_OK;
    case VL_ANSWER_CONFLICT:
        return put_checked_obj(w, s, VL_MSG_ORDER, a->evidence);
    case VL_ANSWER_BEHIND:
        vl_put_u64(w, a->next_seq);
        return VL_OK;
    case VL_ANSWER_CERTIFIED:
        return put_checked_obj(w, s, VL_MSG_CERT, a->evidence);
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err answer_read(vl_reader *r, scratch *s, vl_answer *a)
{
    memset(a, 0, sizeof *a);
    TRY(vl_get_fixed(r, a->order_hash, 32));
    TRY(vl_get_u8(r, &a->kind));
    switch (a->kind) {
    case VL_ANSWER_REJECTED:
        return vl_get_u16(r, &a->code);
    case VL_ANSWER_CONFLICT:
        return get_checked_obj(r, s, VL_MSG_ORDER, &a->evidence);
    case VL_ANSWER_BEHIND:
        return vl_get_u64(r, &a->next_seq);
    case VL_ANSWER_CERTIFIED:
        return get_checked_obj(r, s, VL_MSG_CERT, &a->evidence);
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err vote_reply_write(vl_writer *w, scratch *s, const vl_msg *m)
{
    TRY(count_check(m->leaf_count, 0, VL_MAX_BATCH_ORDERS));
    TRY(count_check(m->answer_count, 0, VL_MAX_MSG_ITEMS));
    if (m->leaf_count == 0 && m->answer_count == 0)
        return VL_ERR_EMPTY;
    assert(m->leaves != NULL || m->leaf_count == 0);
    assert(m->answers != NULL || m->answer_count == 0);
    vl_put_u16(w, m->from);
    vl_put_u16(w, (uint16_t)m->leaf_count);
    vl_put_bytes(w, m->leaves, 32u * m->leaf_count);
    if (m->leaf_count > 0)
        vl_put_bytes(w, m->vote_sig, 64);
    vl_put_u16(w, (uint16_t)m->answer_count);
    for (uint32_t i = 0; i < m->answer_count; i++)
        TRY(answer_write(w, s, &m->answers[i]));
    return VL_OK;
}

static vl_err vote_reply_read(vl_reader *r, scratch *s, vl_msg *m)
{
    uint16_t leaves, answers;
    TRY(vl_get_u16(r, &m->from));
    TRY(vl_get_u16(r, &leaves));
    TRY(count_check(leaves, 0, VL_MAX_BATCH_ORDERS));
    TRY(vl_get_fixed(r, m->leaves, 32u * leaves));
    m->leaf_count = leaves;
    if (leaves > 0)
        TRY(vl_get_fixed(r, m->vote_sig, 64));
    TRY(vl_get_u16(r, &answers));
    TRY(count_check(answers, 0, VL_MAX_MSG_ITEMS));
    if (leaves == 0 && answers == 0)
        return VL_ERR_EMPTY;
    for (uint32_t i = 0; i < answers; i++) {
        TRY(answer_read(r, s, &m->answers[i]));
        m->answer_count = i + 1;
    }
    return VL_OK;
}

/* ---- messages: client requests and replies ------------------------------------- */

static vl_err client_request_write(vl_writer *w, scratch *s, const vl_msg *m)
{
    vl_put_u8(w, m->req_kind);
    switch (m->req_kind) {
    case VL_REQ_SUBMIT:
        return one_item_write(w, s, m, VL_MSG_ORDER);
    case VL_REQ_GET_ACCOUNT:
        vl_put_bytes(w, m->account_id, 32);
        return VL_OK;
    case VL_REQ_GET_ACCOUNT_FROM:
        TRY(max_items_check(m->max_items));
        vl_put_bytes(w, m->account_id, 32);
        vl_put_u64(w, m->from_index);
        vl_put_u32(w, m->max_items);
        return VL_OK;
    case VL_REQ_STATUS:
    case VL_REQ_GET_CHECKPOINT:
        return VL_OK;
    case VL_REQ_GET_LOG:
        TRY(max_items_check(m->max_items));
        vl_put_u64(w, m->from_index);
        vl_put_u32(w, m->max_items);
        return VL_OK;
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err client_request_read(vl_reader *r, scratch *s, vl_msg *m)
{
    TRY(vl_get_u8(r, &m->req_kind));
    switch (m->req_kind) {
    case VL_REQ_SUBMIT:
        return one_item_read(r, s, m, VL_MSG_ORDER);
    case VL_REQ_GET_ACCOUNT:
        return vl_get_fixed(r, m->account_id, 32);
    case VL_REQ_GET_ACCOUNT_FROM:
        TRY(vl_get_fixed(r, m->account_id, 32));
        TRY(vl_get_u64(r, &m->from_index));
        TRY(vl_get_u32(r, &m->max_items));
        return max_items_check(m->max_items);
    case VL_REQ_STATUS:
    case VL_REQ_GET_CHECKPOINT:
        return VL_OK;
    case VL_REQ_GET_LOG:
        TRY(vl_get_u64(r, &m->from_index));
        TRY(vl_get_u32(r, &m->max_items));
        return max_items_check(m->max_items);
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err status_write(vl_writer *w, const vl_status *st)
{
    if ((st->flags & ~VL_STATUS_FLAGS_ALL) != 0)
        return VL_ERR_NONCANONICAL;
    vl_put_u16(w, st->node);
    vl_put_u8(w, st->flags);
    vl_put_u64(w, st->log_head);
    vl_put_bytes(w, st->head_hash, 32);
    vl_put_bytes(w, st->state_digest, 32);
    vl_put_u64(w, st->accounts);
    vl_put_u32(w, st->pending_locks);
    vl_put_u32(w, st->peers_connected);
    return VL_OK;
}

static vl_err status_read(vl_reader *r, vl_status *st)
{
    TRY(vl_get_u16(r, &st->node));
    TRY(vl_get_u8(r, &st->flags));
    if ((st->flags & ~VL_STATUS_FLAGS_ALL) != 0)
        return VL_ERR_NONCANONICAL;
    TRY(vl_get_u64(r, &st->log_head));
    TRY(vl_get_fixed(r, st->head_hash, 32));
    TRY(vl_get_fixed(r, st->state_digest, 32));
    TRY(vl_get_u64(r, &st->accounts));
    TRY(vl_get_u32(r, &st->pending_locks));
    return vl_get_u32(r, &st->peers_connected);
}

static vl_err error_write(vl_writer *w, scratch *s, const vl_msg *m)
{
    TRY(text_check(m->text, VL_MAX_ERROR_MSG_LEN));
    vl_put_u16(w, m->code);
    vl_put_str16(w, m->text);
    vl_put_u8(w, m->evidence_kind);
    switch (m->evidence_kind) {
    case VL_EVIDENCE_NONE:
        return VL_OK;
    case VL_EVIDENCE_ORDER:
        return one_item_write(w, s, m, VL_MSG_ORDER);
    case VL_EVIDENCE_CERT:
        return one_item_write(w, s, m, VL_MSG_CERT);
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err error_read(vl_reader *r, scratch *s, vl_msg *m)
{
    TRY(vl_get_u16(r, &m->code));
    TRY(vl_get_text16(r, VL_MAX_ERROR_MSG_LEN, &m->text));
    TRY(vl_get_u8(r, &m->evidence_kind));
    switch (m->evidence_kind) {
    case VL_EVIDENCE_NONE:
        return VL_OK;
    case VL_EVIDENCE_ORDER:
        return one_item_read(r, s, m, VL_MSG_ORDER);
    case VL_EVIDENCE_CERT:
        return one_item_read(r, s, m, VL_MSG_CERT);
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err client_reply_write(vl_writer *w, scratch *s, const vl_msg *m)
{
    vl_put_u8(w, m->reply_kind);
    switch (m->reply_kind) {
    case VL_REPLY_CERT:
        return one_item_write(w, s, m, VL_MSG_CERT);
    case VL_REPLY_ACCOUNT:
        TRY(put_checked_obj(w, s, VL_MSG_ACCOUNT, m->account));
        return items_write(w, s, m, VL_MSG_CERT, 0, VL_MAX_MSG_ITEMS);
    case VL_REPLY_STATUS:
        return status_write(w, &m->status);
    case VL_REPLY_LOG:
        vl_put_u64(w, m->log_head);
        return items_write(w, s, m, VL_MSG_ENTRY, 0, VL_MAX_MSG_ITEMS);
    case VL_REPLY_CHECKPOINT:
        return one_item_write(w, s, m, VL_MSG_CHECKPOINT);
    case VL_REPLY_ERROR:
        return error_write(w, s, m);
    default:
        return VL_ERR_RANGE;
    }
}

static vl_err client_reply_read(vl_reader *r, scratch *s, vl_msg *m)
{
    TRY(vl_get_u8(r, &m->reply_kind));
    switch (m->reply_kind) {
    case VL_REPLY_CERT:
        return one_item_read(r, s, m, VL_MSG_CERT);
    case VL_REPLY_ACCOUNT:
        TRY(get_checked_obj(r, s, VL_MSG_ACCOUNT, &m->account));
        return items_read(r, s, m, VL_MSG_CERT, 0, VL_MAX_MSG_ITEMS);
    case VL_REPLY_STATUS:
        return status_read(r, &m->status);
    case VL_REPLY_LOG:
        TRY(vl_get_u64(r, &m->log_head));
        return items_read(r, s, m, VL_MSG_ENTRY, 0, VL_MAX_MSG_ITEMS);
    case VL_REPLY_CHECKPOINT:
        return one_item_read(r, s, m, VL_MSG_CHECKPOINT);
    case VL_REPLY_ERROR:
        return error_read(r, s, m);
    default:
        return VL_ERR_RANGE;
    }
}

/* ---- messages: dispatch ----------------------------------------------------------- */

static vl_err msg_write(vl_writer *w, const void *obj, scratch *s)
{
    const vl_msg *m = obj;
    vl_put_u64(w, m->req_id);
    switch (m->type) {
    case VL_MSG_VOTE_REQUEST:
        vl_put_u16(w, m->from);
        return items_write(w, s, m, VL_MSG_ORDER, 1, VL_MAX_MSG_ITEMS);
    case VL_MSG_VOTE_REPLY:
        return vote_reply_write(w, s, m);
    case VL_MSG_CERTS:
        vl_put_u16(w, m->from);
        return items_write(w, s, m, VL_MSG_CERT, 1, VL_MAX_MSG_ITEMS);
    case VL_MSG_LOG_REQUEST:
    case VL_MSG_SUMMARY_REQUEST:
        TRY(max_items_check(m->max_items));
        vl_put_u16(w, m->from);
        vl_put_u64(w, m->from_index);
        vl_put_u32(w, m->max_items);
        return VL_OK;
    case VL_MSG_LOG_REPLY:
        vl_put_u16(w, m->from);
        vl_put_u64(w, m->log_head);
        return items_write(w, s, m, VL_MSG_ENTRY, 0, VL_MAX_MSG_ITEMS);
    case VL_MSG_SUMMARY_REPLY:
        vl_put_u16(w, m->from);
        vl_put_u64(w, m->log_head);
        return items_write(w, s, m, VL_MSG_SUMMARY, 0, VL_MAX_MSG_ITEMS);
    case VL_MSG_ACCOUNT_REQUEST:
        vl_put_u16(w, m->from);
        vl_put_bytes(w, m->account_id, 32);
        vl_put_u64(w, m->from_seq);
        return VL_OK;
    case VL_MSG_CLIENT_REQUEST:
        return client_request_write(w, s, m);
    default:
        assert(m->type == VL_MSG_CLIENT_REPLY);
        return client_reply_write(w, s, m);
    }
}

static vl_err msg_read(vl_reader *r, vl_msg *m, scratch *s)
{
    TRY(vl_get_u64(r, &m->req_id));
    switch (m->type) {
    case VL_MSG_VOTE_REQUEST:
        TRY(vl_get_u16(r, &m->from));
        return items_read(r, s, m, VL_MSG_ORDER, 1, VL_MAX_MSG_ITEMS);
    case VL_MSG_VOTE_REPLY:
        return vote_reply_read(r, s, m);
    case VL_MSG_CERTS:
        TRY(vl_get_u16(r, &m->from));
        return items_read(r, s, m, VL_MSG_CERT, 1, VL_MAX_MSG_ITEMS);
    case VL_MSG_LOG_REQUEST:
    case VL_MSG_SUMMARY_REQUEST:
        TRY(vl_get_u16(r, &m->from));
        TRY(vl_get_u64(r, &m->from_index));
        TRY(vl_get_u32(r, &m->max_items));
        return max_items_check(m->max_items);
    case VL_MSG_LOG_REPLY:
        TRY(vl_get_u16(r, &m->from));
        TRY(vl_get_u64(r, &m->log_head));
        return items_read(r, s, m, VL_MSG_ENTRY, 0, VL_MAX_MSG_ITEMS);
    case VL_MSG_SUMMARY_REPLY:
        TRY(vl_get_u16(r, &m->from));
        TRY(vl_get_u64(r, &m->log_head));
        return items_read(r, s, m, VL_MSG_SUMMARY, 0, VL_MAX_MSG_ITEMS);
    case VL_MSG_ACCOUNT_REQUEST:
        TRY(vl_get_u16(r, &m->from));
        TRY(vl_get_fixed(r, m->account_id, 32));
        return vl_get_u64(r, &m->from_seq);
    case VL_MSG_CLIENT_REQUEST:
        return client_request_read(r, s, m);
    default:
        assert(m->type == VL_MSG_CLIENT_REPLY);
        return client_reply_read(r, s, m);
    }
}

void vl_msg_init(vl_msg *m, vl_msg_storage *st)
{
    assert(m != NULL);
    memset(m, 0, sizeof *m);
    if (st != NULL) {
        m->items = st->items;
        m->leaves = st->leaves;
        m->answers = st->answers;
    }
}

/* Zero everything but the list pointers. */
static void msg_reset(vl_msg *m)
{
    vl_bytes *items = m->items;
    uint8_t(*leaves)[32] = m->leaves;
    vl_answer *answers = m->answers;
    memset(m, 0, sizeof *m);
    m->items = items;
    m->leaves = leaves;
    m->answers = answers;
}

vl_err vl_msg_encode(const vl_msg *m, uint8_t *out, size_t cap, size_t *len)
{
    assert(m != NULL && len != NULL);
    if (!is_msg_type(m->type)) {
        *len = 0;
        return VL_ERR_TYPE;
    }
    return encode_top(m->type, msg_write, m, out, cap, len);
}

static vl_err msg_decode(const uint8_t *buf, size_t len, vl_msg *m, scratch *s)
{
    vl_reader r;
    TRY(read_header(&r, buf, len, &m->type));
    if (!is_msg_type(m->type))
        return VL_ERR_TYPE;
    TRY(msg_read(&r, m, s));
    return vl_reader_end(&r);
}

vl_err vl_msg_decode(const uint8_t *buf, size_t len, vl_msg *m)
{
    assert((buf != NULL || len == 0) && m != NULL);
    /* Caller misuse, independent of the input: storage is required. */
    assert(m->items != NULL && m->leaves != NULL && m->answers != NULL &&
           "vl_msg_decode: call vl_msg_init with storage first");
    msg_reset(m);
    scratch s = {NULL};
    vl_err err = msg_decode(buf, len, m, &s);
    scratch_free(&s);
    if (err != VL_OK)
        msg_reset(m);
    return err;
}

bool vl_msg_peek_req_id(const uint8_t *buf, size_t len, uint64_t *req_id)
{
    vl_reader r;
    uint8_t version, type;
    vl_reader_init(&r, buf, buf != NULL ? len : 0);
    return vl_get_u8(&r, &version) == VL_OK && version == VL_WIRE_VERSION &&
           vl_get_u8(&r, &type) == VL_OK && type == VL_MSG_CLIENT_REQUEST &&
           vl_get_u64(&r, req_id) == VL_OK;
}
