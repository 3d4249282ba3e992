/* wire_test.c - the canonical wire format (wire/vl_wire.h).
 *
 * What a user of the format would notice if it broke:
 *  - every object and message, every kind and variant, at its smallest and
 *    largest allowed size, decodes and re-encodes to the same bytes;
 *  - the layout is the documented one (golden encodings are built here byte
 *    by byte from the layout list, independently of the encoder);
 *  - truncated input, a trailing byte, a wrong version or type, a count one
 *    over its limit, duplicate or unsorted signers, non-printable text and
 *    out-of-range values are each refused with their specific error, by the
 *    decoder (bytes patched) and by the encoder (struct);
 *  - a failed decode leaves the output zeroed; encoders report the size with
 *    out == NULL and refuse a buffer one byte too small;
 *  - the hashes cover exactly the documented byte ranges.
 *
 * Encodings up to 4 KiB are truncated at every offset; larger ones at a
 * sample (trunc_sampled) so the test stays fast under ASan.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_limits.h"
#include "vl_test.h"
#include "vl_wire.h"

/* ---- a type-erased codec, so one set of checks covers every decoder ---- */

typedef struct {
    const char *name;
    size_t size;
    vl_err (*enc)(const void *x, uint8_t *out, size_t cap, size_t *len);
    vl_err (*dec)(const uint8_t *buf, size_t len, void *x);
    int is_msg;
} codec;

#define CODEC_WRAP(name, type)                                                 \
    static vl_err enc_##name(const void *x, uint8_t *out, size_t cap, size_t *len) \
    {                                                                          \
        return vl_##name##_encode((const type *)x, out, cap, len);             \
    }                                                                          \
    static vl_err dec_##name(const uint8_t *buf, size_t len, void *x)          \
    {                                                                          \
        return vl_##name##_decode(buf, len, (type *)x);                        \
    }

CODEC_WRAP(order, vl_order)
CODEC_WRAP(batch_vote, vl_batch_vote)
CODEC_WRAP(cert, vl_cert)
CODEC_WRAP(entry, vl_entry)
CODEC_WRAP(checkpoint, vl_checkpoint)
CODEC_WRAP(account, vl_account)
CODEC_WRAP(summary, vl_summary)

static vl_msg_storage dec_storage; /* for every decoded message */
static vl_msg_storage enc_storage; /* for the message being built */

static vl_err enc_msg(const void *x, uint8_t *out, size_t cap, size_t *len)
{
    return vl_msg_encode((const vl_msg *)x, out, cap, len);
}

static vl_err dec_msg(const uint8_t *buf, size_t len, void *x)
{
    vl_msg *m = x;
    vl_msg_init(m, &dec_storage);
    return vl_msg_decode(buf, len, m);
}

static const codec C_ORDER = {"order", sizeof(vl_order), enc_order, dec_order, 0};
static const codec C_VOTE = {"batch_vote", sizeof(vl_batch_vote), enc_batch_vote,
                             dec_batch_vote, 0};
static const codec C_CERT = {"cert", sizeof(vl_cert), enc_cert, dec_cert, 0};
static const codec C_ENTRY = {"entry", sizeof(vl_entry), enc_entry, dec_entry, 0};
static const codec C_CP = {"checkpoint", sizeof(vl_checkpoint), enc_checkpoint,
                           dec_checkpoint, 0};
static const codec C_ACCOUNT = {"account", sizeof(vl_account), enc_account, dec_account, 0};
static const codec C_SUMMARY = {"summary", sizeof(vl_summary), enc_summary, dec_summary, 0};
static const codec C_MSG = {"msg", sizeof(vl_msg), enc_msg, dec_msg, 1};

/* ---- fixtures ------------------------------------------------------------ */

static char text_buf[1024];

static void text_init(void)
{
    for (size_t i = 0; i < sizeof text_buf; i++)
        text_buf[i] = (char)(0x20 + (i * 7) % 95); /* every printable char */
}

static vl_bytes text(size_t n)
{
    assert(n <= sizeof text_buf);
    return (vl_bytes){(const uint8_t *)text_buf, (uint32_t)n};
}

static void fill(void *p, size_t n, unsigned seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 131u + i * 17u + 1u);
}

static void put_le(uint8_t *p, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void order_base(vl_order *o, uint8_t kind, unsigned seed)
{
    memset(o, 0, sizeof *o);
    fill(o->network_id, 32, 1);
    o->kind = kind;
    o->seq = 7 + seed;
    fill(o->issuer, 32, 2 + seed);
    o->sig_count = (uint8_t)vl_order_sig_count(kind);
    fill(o->sigs, 64u * o->sig_count, 3 + seed);
}

static void make_issue(vl_order *o, unsigned n, size_t label_len, unsigned seed)
{
    order_base(o, VL_ORDER_ISSUE, seed);
    o->voucher_count = (uint16_t)n;
    for (unsigned i = 0; i < n && i < VL_MAX_ISSUE_BATCH; i++) {
        vl_voucher_spec *v = &o->vouchers[i];
        v->serial = 1000 + 3u * i;
        fill(v->holder, 32, 50 + i);
        v->value_fen = 100000 + i;
        v->valid_from_s = 1767225600;
        v->valid_until_s = 1767225600 + 86400u * 365u;
        v->subsidy_bp = 8000;
        v->program = text(label_len);
    }
}

static void make_redeem(vl_order *o, unsigned seed)
{
    order_base(o, VL_ORDER_REDEEM, seed);
    o->serial = 1003;
    fill(o->holder, 32, 9);
    o->amount_fen = 5000 + seed;
    fill(o->provider, 32, 10);
    fill(o->invoice_hash, 32, 11);
    o->gpu_milli_hours = 12345;
}

static void make_revoke(vl_order *o, size_t reason_len, unsigned seed)
{
    order_base(o, VL_ORDER_REVOKE, seed);
    o->serial = 1006;
    o->reason = text(reason_len);
}

/* votes from voters 1, 3, 5, ... each in a batch of leaf_count orders */
static void make_cert(vl_cert *c, const vl_order *o, unsigned votes, uint32_t leaf_count)
{
    memset(c, 0, sizeof *c);
    c->order = *o;
    c->vote_count = (uint8_t)votes;
    for (unsigned i = 0; i < votes && i < VL_MAX_NODES; i++) {
        vl_cert_vote *v = &c->votes[i];
        v->voter = (uint16_t)(2 * i + 1);
        v->leaf_count = leaf_count;
        v->leaf_index = (i * 37u) % leaf_count;
        v->path_len = (uint8_t)vl_merkle_path_len(v->leaf_index, leaf_count);
        fill(v->path, 32u * v->path_len, 20 + i);
        fill(v->sig, 64, 40 + i);
    }
}

static void make_checkpoint(vl_checkpoint *cp)
{
    memset(cp, 0, sizeof *cp);
    fill(cp->network_id, 32, 1);
    cp->node = 3;
    cp->log_index = 123456;
    fill(cp->entry_hash, 32, 5);
    fill(cp->state_digest, 32, 6);
    cp->time_ms = 1767225600123u;
    fill(cp->sig, 64, 7);
}

static void make_account(vl_account *a, uint8_t kind, size_t label_len)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    fill(a->issuer, 32, 2);
    a->next_seq = 42;
    if (kind == VL_ACCOUNT_ISSUER) {
        a->budget_fen = 60000000000u;
        a->balance_fen = 50000000000u;
        a->issued_fen = 12000000000u;
        a->credited_fen = 2000000000u;
        return;
    }
    a->serial = 1003;
    fill(a->holder, 32, 9);
    a->face_fen = 100000;
    a->remaining_fen = 95000;
    a->valid_from_s = 1767225600;
    a->valid_until_s = 1798761600;
    a->subsidy_bp = 8000;
    a->status = VL_VOUCHER_ACTIVE;
    a->program = text(label_len);
}

/* ---- generic checks ---------------------------------------------------------- */

static uint8_t *encode_alloc(const codec *c, const void *x, size_t *len)
{
    size_t n = 0;
    *len = 0;
    vl_err err = c->enc(x, NULL, 0, &n);
    CHECK_ERR(err, VL_OK);
    if (err != VL_OK)
        return NULL;
    uint8_t *buf = malloc(n);
    assert(buf != NULL);
    CHECK_ERR(c->enc(x, buf, n, len), VL_OK);
    CHECK(*len == n);
    return buf;
}

static int is_zeroed(const codec *c, const void *x)
{
    uint8_t *copy = malloc(c->size);
    assert(copy != NULL);
    memcpy(copy, x, c->size);
    if (c->is_msg) {
        vl_msg *m = (vl_msg *)copy;
        m->items = NULL;
        m->leaves = NULL;
        m->answers = NULL;
    }
    int zero = 1;
    for (size_t i = 0; i < c->size && zero; i++)
        zero = copy[i] == 0;
    free(copy);
    return zero;
}

/* Decode a copy of enc of exactly `len` bytes (so ASan sees any over-read). */
static vl_err dec_exact(const codec *c, const uint8_t *enc, size_t len, void *x)
{
    uint8_t *b = malloc(len > 0 ? len : 1);
    assert(b != NULL);
    if (len > 0)
        memcpy(b, enc, len);
    vl_err err = c->dec(b, len, x);
    free(b);
    return err;
}

/* Decode enc with the `width`-byte LE field at `off` replaced by v. */
static vl_err dec_patch(const codec *c, const uint8_t *enc, size_t len, size_t off,
                        unsigned width, uint64_t v)
{
    assert(off + width <= len);
    uint8_t *b = malloc(len);
    void *x = calloc(1, c->size);
    assert(b != NULL && x != NULL);
    memcpy(b, enc, len);
    put_le(b + off, v, width);
    vl_err err = c->dec(b, len, x);
    if (err != VL_OK)
        CHECK(is_zeroed(c, x));
    free(b);
    free(x);
    return err;
}

/* Which truncation offsets to try: all of them for small encodings; for
 * big ones the head and tail (where the framing is) and a spread between. */
static int trunc_sampled(size_t t, size_t len)
{
    if (len <= 4096)
        return 1;
    size_t head = 512, tail = 512, spread = 256;
    if (len > 128 * 1024) { /* lists of ~1000 nested objects */
        head = 256;
        tail = 8;
        spread = 32;
    }
    return t < head || len - t <= tail || t % (len / spread) == 0;
}

static void check_truncations(const codec *c, const uint8_t *enc, size_t len, void *x)
{
    size_t bad = 0, tried = 0;
    for (size_t t = 0; t < len; t++) {
        if (!trunc_sampled(t, len))
            continue;
        tried++;
        vl_err err = dec_exact(c, enc, t, x);
        if (err != VL_ERR_TRUNCATED || !is_zeroed(c, x)) {
            if (bad++ == 0)
                fprintf(stderr, "%s: truncated to %zu of %zu bytes: %s\n", c->name, t, len,
                        vl_err_name((int)err));
        }
    }
    CHECK(tried > 0 && bad == 0);
}

/* Everything that must hold for any valid encoding `enc` of codec c. */
static void check_codec(const codec *c, const uint8_t *enc, size_t len)
{
    void *x = calloc(1, c->size);
    uint8_t *buf = malloc(len + 1);
    assert(x != NULL && buf != NULL && len >= 2);
    size_t n = 0;

    /* x borrows from enc: decode enc itself, not a temporary copy */
    CHECK_ERR(c->dec(enc, len, x), VL_OK);
    CHECK_ERR(c->enc(x, NULL, 0, &n), VL_OK);
    CHECK(n == len);
    n = 0;
    CHECK_ERR(c->enc(x, buf, len, &n), VL_OK);
    CHECK(n == len && memcmp(buf, enc, len) == 0);
    CHECK_ERR(c->enc(x, buf, len - 1, &n), VL_ERR_TOO_BIG);
    CHECK_ERR(c->enc(x, buf, 0, &n), VL_ERR_TOO_BIG);

    memcpy(buf, enc, len);
    buf[len] = 0;
    CHECK_ERR(dec_exact(c, buf, len + 1, x), VL_ERR_TRAILING);
    CHECK(is_zeroed(c, x));
    CHECK_ERR(dec_patch(c, enc, len, 0, 1, 0), VL_ERR_VERSION);
    CHECK_ERR(dec_patch(c, enc, len, 0, 1, VL_WIRE_VERSION + 1), VL_ERR_VERSION);
    CHECK_ERR(dec_patch(c, enc, len, 1, 1, 0x7f), VL_ERR_TYPE);
    check_truncations(c, enc, len, x);
    free(buf);
    free(x);
}

/* Encode x, run check_codec on the result; returns the bytes (caller frees). */
static uint8_t *roundtrip(const codec *c, const void *x, size_t *len)
{
    uint8_t *enc = encode_alloc(c, x, len);
    if (enc != NULL)
        check_codec(c, enc, *len);
    return enc;
}

static void roundtrip_free(const codec *c, const void *x)
{
    size_t len;
    free(roundtrip(c, x, &len));
}

static vl_err enc_err(const codec *c, const void *x)
{
    size_t n = 1;
    vl_err err = c->enc(x, NULL, 0, &n);
    if (err != VL_OK)
        CHECK(n == 0);
    return err;
}

/* ---- golden layouts, built from the layout list, not by the encoder ----- */

typedef struct {
    uint8_t b[8192];
    size_t n;
} golden;

static void g_le(golden *g, uint64_t v, unsigned width)
{
    assert(g->n + width <= sizeof g->b);
    put_le(g->b + g->n, v, width);
    g->n += width;
}

static void g_raw(golden *g, const void *p, size_t n)
{
    assert(g->n + n <= sizeof g->b);
    memcpy(g->b + g->n, p, n);
    g->n += n;
}

static void g_head(golden *g, uint8_t type)
{
    g->n = 0;
    g_le(g, VL_WIRE_VERSION, 1);
    g_le(g, type, 1);
}

static void check_golden(const codec *c, const void *x, const golden *g)
{
    size_t len;
    uint8_t *enc = encode_alloc(c, x, &len);
    CHECK(enc != NULL && len == g->n && memcmp(enc, g->b, len) == 0);
    if (enc != NULL && (len != g->n || memcmp(enc, g->b, len) != 0))
        fprintf(stderr, "%s: encoding differs from the documented layout\n", c->name);
    free(enc);
}

static void golden_order_head(golden *g, const vl_order *o)
{
    g_head(g, VL_MSG_ORDER);
    g_raw(g, o->network_id, 32);
    g_le(g, o->kind, 1);
    g_le(g, o->seq, 8);
    g_raw(g, o->issuer, 32);
}

static void golden_order_sigs(golden *g, const vl_order *o)
{
    g_le(g, o->sig_count, 1);
    g_raw(g, o->sigs, 64u * o->sig_count);
}

static void test_order_golden(vl_order *o)
{
    golden *g = calloc(1, sizeof *g);
    assert(g != NULL);
    make_issue(o, 2, 5, 0);
    golden_order_head(g, o);
    g_le(g, 2, 2);
    for (unsigned i = 0; i < 2; i++) {
        const vl_voucher_spec *v = &o->vouchers[i];
        g_le(g, v->serial, 8);
        g_raw(g, v->holder, 32);
        g_le(g, v->value_fen, 8);
        g_le(g, v->valid_from_s, 8);
        g_le(g, v->valid_until_s, 8);
        g_le(g, v->subsidy_bp, 2);
        g_le(g, v->program.len, 1);
        g_raw(g, v->program.ptr, v->program.len);
    }
    golden_order_sigs(g, o);
    check_golden(&C_ORDER, o, g);

    make_redeem(o, 0);
    golden_order_head(g, o);
    g_le(g, o->serial, 8);
    g_raw(g, o->holder, 32);
    g_le(g, o->amount_fen, 8);
    g_raw(g, o->provider, 32);
    g_raw(g, o->invoice_hash, 32);
    g_le(g, o->gpu_milli_hours, 8);
    golden_order_sigs(g, o);
    CHECK(g->n == 324);
    check_golden(&C_ORDER, o, g);

    make_revoke(o, 9, 0);
    golden_order_head(g, o);
    g_le(g, o->serial, 8);
    g_le(g, 9, 2);
    g_raw(g, o->reason.ptr, 9);
    golden_order_sigs(g, o);
    check_golden(&C_ORDER, o, g);
    free(g);
}

/* ---- orders ------------------------------------------------------------------ */

/* Offsets in an ORDER encoding. */
#define O_KIND 34
#define O_BODY 75             /* ISSUE count, or REDEEM/REVOKE serial */
#define O_V0 (O_BODY + 2)     /* first voucher of an ISSUE */
#define V_VALUE 40            /* within a voucher */
#define V_UNTIL 56
#define V_SUBSIDY 64
#define V_LABEL 66
#define O_REDEEM_AMOUNT (O_BODY + 40)
#define O_REDEEM_SIGCOUNT 195
#define O_REVOKE_REASON (O_BODY + 8)

static void test_order_roundtrips(vl_order *o)
{
    make_issue(o, 1, 0, 0);
    roundtrip_free(&C_ORDER, o);
    make_issue(o, 3, 10, 1);
    roundtrip_free(&C_ORDER, o);
    make_issue(o, VL_MAX_ISSUE_BATCH, VL_MAX_LABEL_LEN, 2); /* the largest order */
    size_t len;
    uint8_t *enc = roundtrip(&C_ORDER, o, &len);
    CHECK(len == 75 + 2 + VL_MAX_ISSUE_BATCH * (67 + VL_MAX_LABEL_LEN) + 1 + 64);
    free(enc);
    make_redeem(o, 0);
    roundtrip_free(&C_ORDER, o);
    make_revoke(o, 0, 0);
    roundtrip_free(&C_ORDER, o);
    make_revoke(o, VL_MAX_REASON_LEN, 0);
    roundtrip_free(&C_ORDER, o);

    /* Decoded fields are the encoded ones, and borrow from the input. */
    vl_order *d = calloc(1, sizeof *d);
    assert(d != NULL);
    make_issue(o, 2, 7, 0);
    enc = encode_alloc(&C_ORDER, o, &len);
    CHECK_ERR(vl_order_decode(enc, len, d), VL_OK);
    CHECK(d->kind == VL_ORDER_ISSUE && d->seq == o->seq && d->voucher_count == 2);
    CHECK(d->vouchers[1].serial == o->vouchers[1].serial);
    CHECK(d->vouchers[1].program.len == 7 && d->vouchers[1].program.ptr > enc &&
          d->vouchers[1].program.ptr < enc + len);
    CHECK_MEM(d->sigs[0], o->sigs[0], 64);
    free(enc);

    /* Unused fields are ignored by the encoder and zero after decoding. */
    make_redeem(o, 0);
    size_t clean_len;
    uint8_t *clean = encode_alloc(&C_ORDER, o, &clean_len);
    o->voucher_count = 3;
    o->reason = text(4);
    enc = encode_alloc(&C_ORDER, o, &len);
    CHECK(enc != NULL && len == clean_len && memcmp(enc, clean, len) == 0);
    CHECK_ERR(vl_order_decode(enc, len, d), VL_OK);
    CHECK(d->voucher_count == 0 && d->reason.len == 0 && d->reason.ptr == NULL);
    free(enc);
    free(clean);
    free(d);
}

static void test_order_issue_errors(vl_order *o)
{
    size_t len;
    make_issue(o, 3, 10, 0);
    uint8_t *enc = encode_alloc(&C_ORDER, o, &len);
    size_t v1 = O_V0 + 67 + 10; /* second voucher */
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_BODY, 2, 0), VL_ERR_EMPTY);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_BODY, 2, VL_MAX_ISSUE_BATCH + 1), VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_VALUE, 8, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_UNTIL, 8, o->vouchers[0].valid_from_s),
              VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_SUBSIDY, 2, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_SUBSIDY, 2, VL_MAX_SUBSIDY_BP + 1),
              VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_SUBSIDY, 2, VL_MAX_SUBSIDY_BP), VL_OK);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_LABEL, 1, VL_MAX_LABEL_LEN + 1),
              VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_LABEL + 3, 1, 0x1f), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_LABEL + 3, 1, 0x7f), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_LABEL + 3, 1, 0xe4), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_V0 + V_LABEL + 3, 1, 0x7e), VL_OK);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, v1, 8, o->vouchers[0].serial),
              VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, v1, 8, o->vouchers[0].serial - 1),
              VL_ERR_UNSORTED);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, len - 65, 1, 2), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, len - 65, 1, 0), VL_ERR_NONCANONICAL);
    free(enc);

    /* The encoder refuses the same things. */
    uint8_t bad_label[4] = {'a', 'b', 0x0a, 'c'};
    o->voucher_count = 0;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_EMPTY);
    o->voucher_count = VL_MAX_ISSUE_BATCH + 1;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_LIMIT);
    make_issue(o, 3, 10, 0);
    o->vouchers[2].value_fen = 0;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_RANGE);
    make_issue(o, 3, 10, 0);
    o->vouchers[0].valid_until_s = o->vouchers[0].valid_from_s;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_RANGE);
    make_issue(o, 3, 10, 0);
    o->vouchers[1].subsidy_bp = VL_MAX_SUBSIDY_BP + 1;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_RANGE);
    make_issue(o, 3, 10, 0);
    o->vouchers[1].program = text(VL_MAX_LABEL_LEN + 1);
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_LIMIT);
    o->vouchers[1].program = (vl_bytes){bad_label, sizeof bad_label};
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_NONCANONICAL);
    make_issue(o, 3, 10, 0);
    o->vouchers[2].serial = o->vouchers[1].serial;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_NONCANONICAL);
    o->vouchers[2].serial = o->vouchers[1].serial - 1;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_UNSORTED);
    make_issue(o, 3, 10, 0);
    o->sig_count = 2;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_NONCANONICAL);
}

static void test_order_other_errors(vl_order *o)
{
    size_t len;
    make_redeem(o, 0);
    uint8_t *enc = encode_alloc(&C_ORDER, o, &len);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_KIND, 1, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_KIND, 1, 4), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_REDEEM_AMOUNT, 8, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_REDEEM_SIGCOUNT, 1, 1), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_REDEEM_SIGCOUNT, 1, 3), VL_ERR_NONCANONICAL);
    free(enc);
    o->amount_fen = 0;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_RANGE);
    make_redeem(o, 0);
    o->kind = 4;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_RANGE);
    o->kind = 0;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_RANGE);
    make_redeem(o, 0);
    o->sig_count = 1;
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_NONCANONICAL);

    make_revoke(o, 20, 0);
    enc = encode_alloc(&C_ORDER, o, &len);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_REVOKE_REASON, 2, VL_MAX_REASON_LEN + 1),
              VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_REVOKE_REASON + 2, 1, 0x00),
              VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_ORDER, enc, len, O_REVOKE_REASON + 21, 1, 0x80),
              VL_ERR_NONCANONICAL);
    free(enc);
    o->reason = text(VL_MAX_REASON_LEN + 1);
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_LIMIT);
    uint8_t tab[3] = {'x', '\t', 'y'};
    o->reason = (vl_bytes){tab, sizeof tab};
    CHECK_ERR(enc_err(&C_ORDER, o), VL_ERR_NONCANONICAL);

    CHECK(vl_order_sig_count(VL_ORDER_ISSUE) == 1);
    CHECK(vl_order_sig_count(VL_ORDER_REDEEM) == 2);
    CHECK(vl_order_sig_count(VL_ORDER_REVOKE) == 1);
    CHECK(vl_order_sig_count(0) == 0 && vl_order_sig_count(4) == 0);
}

static void test_order_hash(vl_order *o)
{
    const uint8_t kinds[3] = {VL_ORDER_ISSUE, VL_ORDER_REDEEM, VL_ORDER_REVOKE};
    for (unsigned k = 0; k < 3; k++) {
        if (kinds[k] == VL_ORDER_ISSUE)
            make_issue(o, 4, 12, 0);
        else if (kinds[k] == VL_ORDER_REDEEM)
            make_redeem(o, 0);
        else
            make_revoke(o, 30, 0);
        size_t len;
        uint8_t *enc = encode_alloc(&C_ORDER, o, &len);
        uint8_t want[32], got[32], again[32];
        vl_tagged_hash(want, VL_TAG_ORDER, enc, len - 1 - 64u * o->sig_count);
        vl_order_hash(got, o);
        CHECK_MEM(got, want, 32);
        fill(o->sigs, sizeof o->sigs, 99); /* signatures are not hashed */
        vl_order_hash(again, o);
        CHECK_MEM(again, want, 32);
        o->seq++; /* everything else is */
        vl_order_hash(again, o);
        CHECK(memcmp(again, want, 32) != 0);
        free(enc);

        uint8_t acct[32], exp[32];
        vl_order_account(acct, o);
        if (o->kind == VL_ORDER_ISSUE)
            vl_issuer_account_id(exp, o->issuer);
        else
            vl_voucher_account_id(exp, o->issuer, o->serial);
        CHECK_MEM(acct, exp, 32);
    }
}

/* ---- batch votes, checkpoints, accounts ------------------------------------- */

static void test_batch_vote(void)
{
    vl_batch_vote v;
    memset(&v, 0, sizeof v);
    v.voter = 0x0102;
    fill(v.root, 32, 3);
    fill(v.sig, 64, 4);
    roundtrip_free(&C_VOTE, &v);
    golden g;
    g_head(&g, VL_MSG_BATCH_VOTE);
    g_le(&g, v.voter, 2);
    g_raw(&g, v.root, 32);
    g_raw(&g, v.sig, 64);
    check_golden(&C_VOTE, &v, &g);

    uint8_t want[32], got[32];
    vl_tagged_hash(want, VL_TAG_VOTE, v.root, 32);
    vl_vote_message(got, v.root);
    CHECK_MEM(got, want, 32);
}

static void test_checkpoint(void)
{
    vl_checkpoint cp;
    make_checkpoint(&cp);
    size_t len;
    uint8_t *enc = roundtrip(&C_CP, &cp, &len);
    golden g;
    g_head(&g, VL_MSG_CHECKPOINT);
    g_raw(&g, cp.network_id, 32);
    g_le(&g, cp.node, 2);
    g_le(&g, cp.log_index, 8);
    g_raw(&g, cp.entry_hash, 32);
    g_raw(&g, cp.state_digest, 32);
    g_le(&g, cp.time_ms, 8);
    g_raw(&g, cp.sig, 64);
    check_golden(&C_CP, &cp, &g);

    uint8_t want[32], got[32];
    vl_tagged_hash(want, VL_TAG_CHECKPOINT, enc, len - 64);
    vl_checkpoint_message(got, &cp);
    CHECK_MEM(got, want, 32);
    free(enc);
}

#define A_KIND 2
#define A_VOUCHER 43 /* kind-specific fields start here */
#define A_REMAINING (A_VOUCHER + 48)
#define A_STATUS (A_VOUCHER + 74)

static void test_account(void)
{
    vl_account a;
    make_account(&a, VL_ACCOUNT_ISSUER, 0);
    roundtrip_free(&C_ACCOUNT, &a);
    golden g;
    g_head(&g, VL_MSG_ACCOUNT);
    g_le(&g, a.kind, 1);
    g_raw(&g, a.issuer, 32);
    g_le(&g, a.next_seq, 8);
    g_le(&g, a.budget_fen, 8);
    g_le(&g, a.balance_fen, 8);
    g_le(&g, a.issued_fen, 8);
    g_le(&g, a.credited_fen, 8);
    check_golden(&C_ACCOUNT, &a, &g);

    make_account(&a, VL_ACCOUNT_VOUCHER, VL_MAX_LABEL_LEN);
    size_t len;
    uint8_t *enc = roundtrip(&C_ACCOUNT, &a, &len);
    g_head(&g, VL_MSG_ACCOUNT);
    g_le(&g, a.kind, 1);
    g_raw(&g, a.issuer, 32);
    g_le(&g, a.next_seq, 8);
    g_le(&g, a.serial, 8);
    g_raw(&g, a.holder, 32);
    g_le(&g, a.face_fen, 8);
    g_le(&g, a.remaining_fen, 8);
    g_le(&g, a.valid_from_s, 8);
    g_le(&g, a.valid_until_s, 8);
    g_le(&g, a.subsidy_bp, 2);
    g_le(&g, a.status, 1);
    g_le(&g, a.program.len, 1);
    g_raw(&g, a.program.ptr, a.program.len);
    check_golden(&C_ACCOUNT, &a, &g);

    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_KIND, 1, 3), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_KIND, 1, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_REMAINING, 8, a.face_fen + 1), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_REMAINING, 8, a.face_fen), VL_OK);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_STATUS, 1, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_STATUS, 1, 3), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_STATUS, 1, VL_VOUCHER_REVOKED), VL_OK);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, A_STATUS + 1, 1, VL_MAX_LABEL_LEN + 1),
              VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_ACCOUNT, enc, len, len - 1, 1, 0x7f), VL_ERR_NONCANONICAL);
    free(enc);

    a.remaining_fen = a.face_fen + 1;
    CHECK_ERR(enc_err(&C_ACCOUNT, &a), VL_ERR_RANGE);
    make_account(&a, VL_ACCOUNT_VOUCHER, 3);
    a.status = 3;
    CHECK_ERR(enc_err(&C_ACCOUNT, &a), VL_ERR_RANGE);
    make_account(&a, VL_ACCOUNT_VOUCHER, 3);
    a.kind = 3;
    CHECK_ERR(enc_err(&C_ACCOUNT, &a), VL_ERR_RANGE);
    make_account(&a, VL_ACCOUNT_VOUCHER, VL_MAX_LABEL_LEN + 1);
    CHECK_ERR(enc_err(&C_ACCOUNT, &a), VL_ERR_LIMIT);
}

/* ---- certificates ------------------------------------------------------------- */

static void test_cert_roundtrips(vl_cert *c, vl_order *o)
{
    make_redeem(o, 0);
    make_cert(c, o, 1, 1); /* a batch of one: empty path */
    CHECK(c->votes[0].path_len == 0);
    size_t len, olen;
    uint8_t *enc = roundtrip(&C_CERT, c, &len);
    uint8_t *oenc = encode_alloc(&C_ORDER, o, &olen);
    golden *g = calloc(1, sizeof *g);
    assert(g != NULL);
    g_head(g, VL_MSG_CERT);
    g_le(g, olen, 4);
    g_raw(g, oenc, olen);
    g_le(g, 1, 1);
    g_le(g, c->votes[0].voter, 2);
    g_le(g, 0, 4);
    g_le(g, 1, 4);
    g_le(g, 0, 1);
    g_raw(g, c->votes[0].sig, 64);
    check_golden(&C_CERT, c, g);

    vl_cert *d = malloc(sizeof *d);
    assert(d != NULL);
    CHECK_ERR(vl_cert_decode(enc, len, d), VL_OK);
    CHECK(d->order_raw.ptr == enc + 6 && d->order_raw.len == olen);
    CHECK(d->order.amount_fen == o->amount_fen && d->vote_count == 1);
    free(d);
    free(enc);
    free(oenc);
    free(g);

    make_issue(o, 5, 8, 0);
    make_cert(c, o, 4, 7);
    roundtrip_free(&C_CERT, c);
    make_revoke(o, 40, 0);
    make_cert(c, o, 3, 1000);
    roundtrip_free(&C_CERT, c);
    /* The largest certificate: largest order, every node, deepest paths. */
    make_issue(o, VL_MAX_ISSUE_BATCH, VL_MAX_LABEL_LEN, 0);
    make_cert(c, o, VL_MAX_NODES, VL_MAX_BATCH_ORDERS);
    CHECK(c->votes[VL_MAX_NODES - 1].path_len == VL_MAX_MERKLE_DEPTH);
    roundtrip_free(&C_CERT, c);
}

/* Offsets within a certificate whose order is `olen` bytes. */
#define C_VOTES(olen) (6 + (olen) + 1)
#define CV_BYTES(path_len) (2u + 4u + 4u + 1u + 32u * (path_len) + 64u)

static void test_cert_decode_errors(vl_cert *c, vl_order *o)
{
    make_redeem(o, 0);
    make_cert(c, o, 3, 8); /* every path_len is 3 */
    size_t len, olen = 324;
    uint8_t *enc = encode_alloc(&C_CERT, c, &len);
    size_t v0 = C_VOTES(olen), v1 = v0 + CV_BYTES(3);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 - 1, 1, 0), VL_ERR_EMPTY);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 - 1, 1, VL_MAX_NODES + 1), VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v1, 2, c->votes[0].voter), VL_ERR_DUP_SIGNER);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v1, 2, c->votes[0].voter - 1u), VL_ERR_UNSORTED);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 + 6, 4, 0), VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 + 6, 4, VL_MAX_BATCH_ORDERS + 1), VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 + 2, 4, 8), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 + 10, 1, 2), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 + 10, 1, 4), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 + 10, 1, VL_MAX_MERKLE_DEPTH + 1),
              VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, v0 + 10, 1, 255), VL_ERR_NONCANONICAL);
    /* The nested order is decoded strictly with its own decoder. */
    CHECK_ERR(dec_patch(&C_CERT, enc, len, 6, 1, 2), VL_ERR_VERSION);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, 7, 1, VL_MSG_CERT), VL_ERR_TYPE);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, 6 + O_KIND, 1, 9), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, 2, 4, VL_MAX_MSG_BYTES + 1), VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, 2, 4, VL_MAX_MSG_BYTES), VL_ERR_TRUNCATED);
    CHECK_ERR(dec_patch(&C_CERT, enc, len, 2, 4, olen - 1), VL_ERR_TRUNCATED);

    /* A trailing byte inside the nested order: its length says olen + 1. */
    uint8_t *t = malloc(len + 1);
    assert(t != NULL);
    memcpy(t, enc, 6 + olen);
    t[6 + olen] = 0;
    memcpy(t + 7 + olen, enc + 6 + olen, len - 6 - olen);
    put_le(t + 2, olen + 1, 4);
    vl_cert *d = malloc(sizeof *d);
    assert(d != NULL);
    CHECK_ERR(vl_cert_decode(t, len + 1, d), VL_ERR_TRAILING);
    free(d);
    free(t);
    free(enc);
}

static void test_cert_encode_errors(vl_cert *c, vl_order *o)
{
    make_redeem(o, 0);
    make_cert(c, o, 3, 8);
    c->vote_count = 0;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_EMPTY);
    c->vote_count = VL_MAX_NODES + 1;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_LIMIT);
    make_cert(c, o, 3, 8);
    c->votes[2].voter = c->votes[1].voter;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_DUP_SIGNER);
    c->votes[2].voter = (uint16_t)(c->votes[1].voter - 1);
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_UNSORTED);
    make_cert(c, o, 3, 8);
    c->votes[1].leaf_count = VL_MAX_BATCH_ORDERS + 1;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_LIMIT);
    c->votes[1].leaf_count = 0;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_LIMIT);
    make_cert(c, o, 3, 8);
    c->votes[1].leaf_index = 8;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_RANGE);
    make_cert(c, o, 3, 8);
    c->votes[0].path_len = 2;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_NONCANONICAL);
    c->votes[0].path_len = VL_MAX_MERKLE_DEPTH + 1;
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_NONCANONICAL);
    make_cert(c, o, 3, 8);
    c->order.amount_fen = 0; /* the nested order is checked too */
    CHECK_ERR(enc_err(&C_CERT, c), VL_ERR_RANGE);
}

/* ---- log entries --------------------------------------------------------------- */

static void test_entry(vl_cert *c, vl_order *o)
{
    make_revoke(o, 12, 0);
    make_cert(c, o, 2, 3);
    size_t clen, len;
    uint8_t *cenc = encode_alloc(&C_CERT, c, &clen);
    vl_entry e;
    memset(&e, 0, sizeof e);
    e.index = 1;
    fill(e.prev_hash, 32, 1);
    e.time_ms = 1767225600999u;
    e.cert = (vl_bytes){cenc, (uint32_t)clen};
    uint8_t *enc = roundtrip(&C_ENTRY, &e, &len);
    golden *g = calloc(1, sizeof *g);
    assert(g != NULL);
    g_head(g, VL_MSG_ENTRY);
    g_le(g, e.index, 8);
    g_raw(g, e.prev_hash, 32);
    g_le(g, e.time_ms, 8);
    g_le(g, clen, 4);
    g_raw(g, cenc, clen);
    check_golden(&C_ENTRY, &e, g);
    free(g);

    vl_entry d;
    CHECK_ERR(vl_entry_decode(enc, len, &d), VL_OK);
    CHECK(d.index == 1 && d.cert.ptr == enc + 54 && d.cert.len == clen);
    CHECK_ERR(dec_patch(&C_ENTRY, enc, len, 2, 8, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ENTRY, enc, len, 55, 1, VL_MSG_ORDER), VL_ERR_TYPE);
    CHECK_ERR(dec_patch(&C_ENTRY, enc, len, 54 + 6 + O_KIND, 1, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_ENTRY, enc, len, 50, 4, VL_MAX_MSG_BYTES + 1), VL_ERR_LIMIT);

    /* hashes */
    uint8_t ch[32], want[32], got[32], buf[72];
    vl_tagged_hash(want, VL_TAG_CERTIFICATE, cenc, clen);
    vl_cert_hash(ch, cenc, clen);
    CHECK_MEM(ch, want, 32);
    put_le(buf, e.index, 8);
    memcpy(buf + 8, e.prev_hash, 32);
    memcpy(buf + 40, ch, 32);
    vl_tagged_hash(want, VL_TAG_ENTRY, buf, sizeof buf);
    vl_entry_hash(got, e.index, e.prev_hash, ch);
    CHECK_MEM(got, want, 32);

    /* The encoder checks what it carries. */
    e.index = 0;
    CHECK_ERR(enc_err(&C_ENTRY, &e), VL_ERR_RANGE);
    e.index = 1;
    e.cert = (vl_bytes){enc, (uint32_t)len}; /* an entry is not a certificate */
    CHECK_ERR(enc_err(&C_ENTRY, &e), VL_ERR_TYPE);
    e.cert = (vl_bytes){cenc, (uint32_t)clen - 1};
    CHECK_ERR(enc_err(&C_ENTRY, &e), VL_ERR_TRUNCATED);
    e.cert = (vl_bytes){NULL, 0};
    CHECK_ERR(enc_err(&C_ENTRY, &e), VL_ERR_TRUNCATED);
    free(enc);
    free(cenc);
}

/* ---- log entry summaries ------------------------------------------------------ */

static void make_summary(vl_summary *s, uint64_t index, unsigned seed)
{
    memset(s, 0, sizeof *s);
    s->index = index;
    s->time_ms = 1767225600123u + index;
    fill(s->entry_hash, 32, seed);
    fill(s->account, 32, seed + 1);
    s->seq = 0x0102030405060708u;
    fill(s->order_hash, 32, seed + 2);
}

/* Offsets of the documented layout (docs/protocol.md, SUMMARY). */
#define S_INDEX 2
#define S_ACCOUNT 50
#define S_SEQ 82

static void test_summary(void)
{
    CHECK(VL_SUMMARY_BYTES == 122);
    vl_summary s, d;
    make_summary(&s, 3, 20);
    size_t len;
    /* roundtrip: trailing byte, version, type 0x7f, every truncation */
    uint8_t *enc = roundtrip(&C_SUMMARY, &s, &len);
    CHECK(enc != NULL && len == VL_SUMMARY_BYTES);
    golden g;
    g_head(&g, VL_MSG_SUMMARY);
    g_le(&g, s.index, 8);
    g_le(&g, s.time_ms, 8);
    g_raw(&g, s.entry_hash, 32);
    g_raw(&g, s.account, 32);
    g_le(&g, s.seq, 8);
    g_raw(&g, s.order_hash, 32);
    CHECK(g.n == VL_SUMMARY_BYTES);
    check_golden(&C_SUMMARY, &s, &g);
    if (enc == NULL)
        return;

    /* every field comes back */
    CHECK_ERR(vl_summary_decode(enc, len, &d), VL_OK);
    CHECK(d.index == s.index && d.time_ms == s.time_ms && d.seq == s.seq);
    CHECK_MEM(d.entry_hash, s.entry_hash, 32);
    CHECK_MEM(d.account, s.account, 32);
    CHECK_MEM(d.order_hash, s.order_hash, 32);

    /* index 0 is out of range; the other u64s take any value */
    CHECK_ERR(dec_patch(&C_SUMMARY, enc, len, S_INDEX, 8, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_SUMMARY, enc, len, S_INDEX, 8, 1), VL_OK);
    CHECK_ERR(dec_patch(&C_SUMMARY, enc, len, S_INDEX, 8, UINT64_MAX), VL_OK);
    CHECK_ERR(dec_patch(&C_SUMMARY, enc, len, S_SEQ, 8, 0), VL_OK);
    /* another object's type byte, and a message's */
    CHECK_ERR(dec_patch(&C_SUMMARY, enc, len, 1, 1, VL_MSG_ENTRY), VL_ERR_TYPE);
    CHECK_ERR(dec_patch(&C_SUMMARY, enc, len, 1, 1, VL_MSG_SUMMARY_REPLY), VL_ERR_TYPE);
    /* and the other way round: a summary is not an entry */
    vl_entry e;
    CHECK_ERR(vl_entry_decode(enc, len, &e), VL_ERR_TYPE);
    free(enc);

    s.index = 0;
    CHECK_ERR(enc_err(&C_SUMMARY, &s), VL_ERR_RANGE);
    s.index = 1;
    s.time_ms = 0;
    s.seq = 0;
    memset(s.entry_hash, 0, 32);
    roundtrip_free(&C_SUMMARY, &s); /* the smallest values */
    s.index = UINT64_MAX;
    s.time_ms = UINT64_MAX;
    s.seq = UINT64_MAX;
    memset(s.order_hash, 0xff, 32);
    roundtrip_free(&C_SUMMARY, &s); /* the largest */
}

/* ---- messages ------------------------------------------------------------------- */

/* Valid nested objects for the messages. */
typedef struct {
    uint8_t *order, *big_order, *cert, *big_cert, *entry, *checkpoint, *account, *summary;
    size_t order_len, big_order_len, cert_len, big_cert_len, entry_len, checkpoint_len,
        account_len, summary_len;
} pool;

static vl_bytes B(uint8_t *p, size_t n)
{
    return (vl_bytes){p, (uint32_t)n};
}

static void pool_init(pool *p, vl_cert *c, vl_order *o)
{
    make_redeem(o, 1);
    p->order = encode_alloc(&C_ORDER, o, &p->order_len);
    make_cert(c, o, 3, 5);
    p->cert = encode_alloc(&C_CERT, c, &p->cert_len);
    make_issue(o, VL_MAX_ISSUE_BATCH, VL_MAX_LABEL_LEN, 3);
    p->big_order = encode_alloc(&C_ORDER, o, &p->big_order_len);
    make_cert(c, o, VL_MAX_NODES, VL_MAX_BATCH_ORDERS);
    p->big_cert = encode_alloc(&C_CERT, c, &p->big_cert_len);
    vl_entry e;
    memset(&e, 0, sizeof e);
    e.index = 17;
    fill(e.prev_hash, 32, 4);
    e.time_ms = 99;
    e.cert = B(p->cert, p->cert_len);
    p->entry = encode_alloc(&C_ENTRY, &e, &p->entry_len);
    vl_checkpoint cp;
    make_checkpoint(&cp);
    p->checkpoint = encode_alloc(&C_CP, &cp, &p->checkpoint_len);
    vl_account a;
    make_account(&a, VL_ACCOUNT_VOUCHER, 10);
    p->account = encode_alloc(&C_ACCOUNT, &a, &p->account_len);
    vl_summary s;
    make_summary(&s, 17, 4);
    p->summary = encode_alloc(&C_SUMMARY, &s, &p->summary_len);
}

static void pool_free(pool *p)
{
    free(p->order);
    free(p->big_order);
    free(p->cert);
    free(p->big_cert);
    free(p->entry);
    free(p->checkpoint);
    free(p->account);
    free(p->summary);
}

static vl_msg *msg_new(vl_msg *m, uint8_t type)
{
    vl_msg_init(m, &enc_storage);
    m->type = type;
    m->req_id = 0x1122334455667788u;
    m->from = 5;
    return m;
}

static void msg_items(vl_msg *m, uint32_t n, uint8_t *p, size_t len)
{
    m->item_count = n;
    for (uint32_t i = 0; i < n && i < VL_MAX_MSG_ITEMS; i++)
        m->items[i] = B(p, len);
}

/* The byte offset of the first field after version, type and req_id. */
#define M_BODY 10

static void test_vote_request(vl_msg *m, const pool *p)
{
    msg_new(m, VL_MSG_VOTE_REQUEST);
    msg_items(m, 1, p->order, p->order_len);
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    golden g;
    g_head(&g, VL_MSG_VOTE_REQUEST);
    g_le(&g, m->req_id, 8);
    g_le(&g, m->from, 2);
    g_le(&g, 1, 2);
    g_le(&g, p->order_len, 4);
    g_raw(&g, p->order, p->order_len);
    check_golden(&C_MSG, m, &g);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 2, 2, 0), VL_ERR_EMPTY);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 2, 2, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 8 + O_KIND, 1, 7), VL_ERR_RANGE);
    free(enc);

    msg_items(m, 2, p->order, p->order_len);
    m->items[1] = B(p->big_order, p->big_order_len);
    roundtrip_free(&C_MSG, m);
    msg_items(m, VL_MAX_MSG_ITEMS, p->order, p->order_len);
    roundtrip_free(&C_MSG, m);
    m->item_count = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    m->item_count = 0;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_EMPTY);
    msg_items(m, 1, p->cert, p->cert_len); /* a certificate is not an order */
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);
}

static void vote_reply_answers(vl_msg *m, uint32_t n, const pool *p)
{
    m->answer_count = n;
    for (uint32_t i = 0; i < n && i < VL_MAX_MSG_ITEMS; i++) {
        vl_answer *a = &m->answers[i];
        memset(a, 0, sizeof *a);
        fill(a->order_hash, 32, i);
        a->kind = (uint8_t)(1 + i % 4);
        if (a->kind == VL_ANSWER_REJECTED)
            a->code = VL_ERR_OVERSPEND;
        else if (a->kind == VL_ANSWER_CONFLICT)
            a->evidence = B(p->order, p->order_len);
        else if (a->kind == VL_ANSWER_BEHIND)
            a->next_seq = 1000 + i;
        else
            a->evidence = B(p->cert, p->cert_len);
    }
}

static void test_vote_reply(vl_msg *m, const pool *p)
{
    msg_new(m, VL_MSG_VOTE_REPLY);
    m->leaf_count = 3;
    fill(m->leaves, 3 * 32, 8);
    fill(m->vote_sig, 64, 9);
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len); /* leaves only */
    golden g;
    g_head(&g, VL_MSG_VOTE_REPLY);
    g_le(&g, m->req_id, 8);
    g_le(&g, m->from, 2);
    g_le(&g, 3, 2);
    g_raw(&g, m->leaves, 3 * 32);
    g_raw(&g, m->vote_sig, 64);
    g_le(&g, 0, 2);
    check_golden(&C_MSG, m, &g);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 2, 2, VL_MAX_BATCH_ORDERS + 1),
              VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, len - 2, 2, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    free(enc);

    m->leaf_count = 0;
    vote_reply_answers(m, 4, p); /* answers only, one of each kind */
    enc = roundtrip(&C_MSG, m, &len);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 4 + 2 + 32, 1, 5), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 4 + 2 + 32, 1, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 4, 2, 0), VL_ERR_EMPTY);
    free(enc);
    m->answer_count = 0;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_EMPTY);
    m->leaf_count = 2;
    vote_reply_answers(m, 8, p); /* both */
    roundtrip_free(&C_MSG, m);

    m->leaf_count = VL_MAX_BATCH_ORDERS; /* the largest */
    fill(m->leaves, sizeof enc_storage.leaves, 3);
    vote_reply_answers(m, VL_MAX_MSG_ITEMS, p);
    roundtrip_free(&C_MSG, m);
    m->leaf_count = VL_MAX_BATCH_ORDERS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    m->leaf_count = 1;
    m->answer_count = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    vote_reply_answers(m, 2, p);
    m->answers[1].kind = 5;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_RANGE);
    m->answers[1].kind = VL_ANSWER_CONFLICT;
    m->answers[1].evidence = B(p->cert, p->cert_len);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);
}

static void test_certs_and_log(vl_msg *m, const pool *p)
{
    msg_new(m, VL_MSG_CERTS);
    msg_items(m, 1, p->big_cert, p->big_cert_len);
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 2, 2, 0), VL_ERR_EMPTY);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 2, 2, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    free(enc);
    msg_items(m, VL_MAX_MSG_ITEMS, p->cert, p->cert_len);
    roundtrip_free(&C_MSG, m);
    m->item_count = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    m->item_count = 0;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_EMPTY);
    /* 1024 maximal certificates are ~56 MiB: over VL_MAX_MSG_BYTES, so the
     * encoder refuses and the sender must split the list. */
    msg_items(m, VL_MAX_MSG_ITEMS, p->big_cert, p->big_cert_len);
    CHECK((size_t)VL_MAX_MSG_ITEMS * p->big_cert_len > VL_MAX_MSG_BYTES);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);

    msg_new(m, VL_MSG_LOG_REQUEST);
    m->from_index = 1;
    m->max_items = VL_MAX_MSG_ITEMS;
    enc = roundtrip(&C_MSG, m, &len);
    CHECK(len == M_BODY + 2 + 8 + 4);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 10, 4, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 10, 4, VL_MAX_MSG_ITEMS + 1),
              VL_ERR_LIMIT);
    free(enc);
    m->max_items = 0;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_RANGE);
    m->max_items = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);

    msg_new(m, VL_MSG_LOG_REPLY);
    m->log_head = 77;
    roundtrip_free(&C_MSG, m); /* no entries */
    msg_items(m, 3, p->entry, p->entry_len);
    enc = roundtrip(&C_MSG, m, &len);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 10, 2, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    free(enc);
    msg_items(m, VL_MAX_MSG_ITEMS, p->entry, p->entry_len);
    roundtrip_free(&C_MSG, m);
    m->item_count = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);

    msg_new(m, VL_MSG_ACCOUNT_REQUEST);
    fill(m->account_id, 32, 12);
    m->from_seq = 3;
    enc = roundtrip(&C_MSG, m, &len);
    CHECK(len == M_BODY + 2 + 32 + 8);
    free(enc);
}

/* SUMMARY_REQUEST has LOG_REQUEST's layout, SUMMARY_REPLY LOG_REPLY's with
 * summaries for entries; neither may stand in for the other. */
static void test_summary_request(vl_msg *m)
{
    msg_new(m, VL_MSG_SUMMARY_REQUEST);
    m->from_index = 0x0a0b0c0d0e0f1011u;
    m->max_items = VL_MAX_MSG_ITEMS;
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    CHECK(len == M_BODY + 2 + 8 + 4);
    golden g;
    g_head(&g, VL_MSG_SUMMARY_REQUEST);
    g_le(&g, m->req_id, 8);
    g_le(&g, m->from, 2);
    g_le(&g, m->from_index, 8);
    g_le(&g, m->max_items, 4);
    check_golden(&C_MSG, m, &g);
    vl_msg_init(m, &dec_storage);
    CHECK_ERR(vl_msg_decode(enc, len, m), VL_OK);
    CHECK(m->type == VL_MSG_SUMMARY_REQUEST && m->from == 5 &&
          m->from_index == 0x0a0b0c0d0e0f1011u && m->max_items == VL_MAX_MSG_ITEMS);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 10, 4, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 10, 4, VL_MAX_MSG_ITEMS + 1),
              VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 10, 4, 1), VL_OK);
    free(enc);

    msg_new(m, VL_MSG_SUMMARY_REQUEST);
    m->from_index = 1;
    m->max_items = 1;
    roundtrip_free(&C_MSG, m);
    m->max_items = 0;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_RANGE);
    m->max_items = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
}

static void test_summary_reply(vl_msg *m, const pool *p)
{
    /* empty: the sender's log has nothing from from_index on */
    msg_new(m, VL_MSG_SUMMARY_REPLY);
    m->log_head = 77;
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    CHECK(len == M_BODY + 2 + 8 + 2);
    vl_msg_init(m, &dec_storage);
    CHECK_ERR(vl_msg_decode(enc, len, m), VL_OK);
    CHECK(m->type == VL_MSG_SUMMARY_REPLY && m->log_head == 77 && m->item_count == 0);
    free(enc);

    msg_new(m, VL_MSG_SUMMARY_REPLY);
    m->log_head = 77;
    msg_items(m, 2, p->summary, p->summary_len);
    enc = roundtrip(&C_MSG, m, &len);
    golden g;
    g_head(&g, VL_MSG_SUMMARY_REPLY);
    g_le(&g, m->req_id, 8);
    g_le(&g, m->from, 2);
    g_le(&g, m->log_head, 8);
    g_le(&g, 2, 2);
    for (int i = 0; i < 2; i++) {
        g_le(&g, p->summary_len, 4);
        g_raw(&g, p->summary, p->summary_len);
    }
    check_golden(&C_MSG, m, &g);
    CHECK(len == M_BODY + 12 + 2 * (4 + VL_SUMMARY_BYTES));
    size_t item = M_BODY + 12; /* the first item's u32 length */
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 10, 2, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    /* each item is decoded strictly: index 0, another type, its length */
    CHECK_ERR(dec_patch(&C_MSG, enc, len, item + 4 + S_INDEX, 8, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, item + 4 + 1, 1, VL_MSG_ENTRY), VL_ERR_TYPE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, item, 4, VL_SUMMARY_BYTES - 1), VL_ERR_TRUNCATED);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, item, 4, VL_SUMMARY_BYTES + 1), VL_ERR_TRAILING);
    /* a LOG_REPLY does not carry summaries */
    CHECK_ERR(dec_patch(&C_MSG, enc, len, 1, 1, VL_MSG_LOG_REPLY), VL_ERR_TYPE);
    free(enc);

    /* a SUMMARY_REPLY does not carry entries, whichever side builds it */
    msg_items(m, 1, p->entry, p->entry_len);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);
    msg_new(m, VL_MSG_LOG_REPLY);
    m->log_head = 77;
    msg_items(m, 1, p->entry, p->entry_len);
    enc = encode_alloc(&C_MSG, m, &len);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, 1, 1, VL_MSG_SUMMARY_REPLY), VL_ERR_TYPE);
    free(enc);
    msg_items(m, 1, p->summary, p->summary_len);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);

    msg_new(m, VL_MSG_SUMMARY_REPLY);
    msg_items(m, VL_MAX_MSG_ITEMS, p->summary, p->summary_len);
    roundtrip_free(&C_MSG, m); /* the largest */
    m->item_count = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
}

static void test_client_request(vl_msg *m, const pool *p)
{
    msg_new(m, VL_MSG_CLIENT_REQUEST);
    m->from = 0; /* not carried by client messages */
    m->req_kind = VL_REQ_SUBMIT;
    msg_items(m, 1, p->order, p->order_len);
    roundtrip_free(&C_MSG, m);
    msg_items(m, 1, p->big_order, p->big_order_len);
    roundtrip_free(&C_MSG, m);
    m->item_count = 0;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_EMPTY);
    msg_items(m, 1, p->entry, p->entry_len);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);

    msg_new(m, VL_MSG_CLIENT_REQUEST);
    m->from = 0;
    m->req_kind = VL_REQ_GET_ACCOUNT;
    fill(m->account_id, 32, 2);
    roundtrip_free(&C_MSG, m);
    m->req_kind = VL_REQ_STATUS;
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    CHECK(len == M_BODY + 1);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY, 1, 7), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY, 1, 0), VL_ERR_RANGE);
    free(enc);
    m->req_kind = VL_REQ_GET_CHECKPOINT;
    roundtrip_free(&C_MSG, m);
    m->req_kind = VL_REQ_GET_LOG;
    m->from_index = 5;
    m->max_items = 1;
    enc = roundtrip(&C_MSG, m, &len);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 9, 4, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 9, 4, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    free(enc);
    m->max_items = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    /* GET_ACCOUNT_FROM: account id, the first seq, max_items 1..1024 */
    m->req_kind = VL_REQ_GET_ACCOUNT_FROM;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    m->max_items = VL_MAX_MSG_ITEMS;
    m->from_index = 1000;
    enc = roundtrip(&C_MSG, m, &len);
    CHECK(len == M_BODY + 1 + 32 + 8 + 4);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 41, 4, 0), VL_ERR_RANGE);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 41, 4, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    free(enc);
    m->req_kind = 7;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_RANGE);
}

static void test_client_reply_data(vl_msg *m, const pool *p)
{
    msg_new(m, VL_MSG_CLIENT_REPLY);
    m->from = 0;
    m->reply_kind = VL_REPLY_CERT;
    msg_items(m, 1, p->big_cert, p->big_cert_len);
    roundtrip_free(&C_MSG, m);

    msg_new(m, VL_MSG_CLIENT_REPLY);
    m->from = 0;
    m->reply_kind = VL_REPLY_ACCOUNT;
    m->account = B(p->account, p->account_len);
    roundtrip_free(&C_MSG, m);
    msg_items(m, 2, p->cert, p->cert_len);
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    size_t count_at = M_BODY + 1 + 4 + p->account_len;
    CHECK_ERR(dec_patch(&C_MSG, enc, len, count_at, 2, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 1 + 4 + 2, 1, 9), VL_ERR_RANGE);
    free(enc);
    msg_items(m, VL_MAX_MSG_ITEMS, p->cert, p->cert_len);
    roundtrip_free(&C_MSG, m);
    m->item_count = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    m->item_count = 0;
    m->account = B(p->checkpoint, p->checkpoint_len);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);

    msg_new(m, VL_MSG_CLIENT_REPLY);
    m->from = 0;
    m->reply_kind = VL_REPLY_LOG;
    m->log_head = 1u << 20;
    roundtrip_free(&C_MSG, m);
    msg_items(m, VL_MAX_MSG_ITEMS, p->entry, p->entry_len);
    enc = roundtrip(&C_MSG, m, &len);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 9, 2, VL_MAX_MSG_ITEMS + 1), VL_ERR_LIMIT);
    free(enc);
    m->item_count = VL_MAX_MSG_ITEMS + 1;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);

    msg_new(m, VL_MSG_CLIENT_REPLY);
    m->from = 0;
    m->reply_kind = VL_REPLY_CHECKPOINT;
    msg_items(m, 1, p->checkpoint, p->checkpoint_len);
    roundtrip_free(&C_MSG, m);
    m->reply_kind = 7;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_RANGE);
}

static void test_client_reply_status(vl_msg *m)
{
    msg_new(m, VL_MSG_CLIENT_REPLY);
    m->from = 0;
    m->reply_kind = VL_REPLY_STATUS;
    m->status.node = 2;
    m->status.flags = VL_STATUS_FLAGS_ALL;
    m->status.log_head = 1000;
    fill(m->status.head_hash, 32, 1);
    fill(m->status.state_digest, 32, 2);
    m->status.accounts = 5000;
    m->status.pending_locks = 3;
    m->status.peers_connected = 6;
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    golden g;
    g_head(&g, VL_MSG_CLIENT_REPLY);
    g_le(&g, m->req_id, 8);
    g_le(&g, VL_REPLY_STATUS, 1);
    g_le(&g, 2, 2);
    g_le(&g, VL_STATUS_FLAGS_ALL, 1);
    g_le(&g, 1000, 8);
    g_raw(&g, m->status.head_hash, 32);
    g_raw(&g, m->status.state_digest, 32);
    g_le(&g, 5000, 8);
    g_le(&g, 3, 4);
    g_le(&g, 6, 4);
    check_golden(&C_MSG, m, &g);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 3, 1, 0x20), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 3, 1, 0x80), VL_ERR_NONCANONICAL);
    free(enc);
    m->status.flags = 0x40;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_NONCANONICAL);
}

static void test_client_reply_error(vl_msg *m, const pool *p)
{
    msg_new(m, VL_MSG_CLIENT_REPLY);
    m->from = 0;
    m->reply_kind = VL_REPLY_ERROR;
    m->code = VL_ERR_CONFLICT;
    m->text = text(VL_MAX_ERROR_MSG_LEN);
    m->evidence_kind = VL_EVIDENCE_NONE;
    size_t len;
    uint8_t *enc = roundtrip(&C_MSG, m, &len);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 3, 2, VL_MAX_ERROR_MSG_LEN + 1),
              VL_ERR_LIMIT);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, M_BODY + 5, 1, 0x0a), VL_ERR_NONCANONICAL);
    CHECK_ERR(dec_patch(&C_MSG, enc, len, len - 1, 1, 3), VL_ERR_RANGE);
    free(enc);
    m->evidence_kind = VL_EVIDENCE_ORDER;
    msg_items(m, 1, p->order, p->order_len);
    roundtrip_free(&C_MSG, m);
    m->evidence_kind = VL_EVIDENCE_CERT;
    msg_items(m, 1, p->big_cert, p->big_cert_len);
    roundtrip_free(&C_MSG, m);
    m->text = text(0);
    roundtrip_free(&C_MSG, m);

    m->evidence_kind = VL_EVIDENCE_ORDER; /* a certificate is not an order */
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);
    m->evidence_kind = 3;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_RANGE);
    m->evidence_kind = VL_EVIDENCE_CERT;
    m->item_count = 0;
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_EMPTY);
    m->evidence_kind = VL_EVIDENCE_NONE;
    m->text = text(VL_MAX_ERROR_MSG_LEN + 1);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_LIMIT);
    uint8_t nl[2] = {'o', '\n'};
    m->text = (vl_bytes){nl, 2};
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_NONCANONICAL);
}

/* ---- framing: peek, wrong types, the size cap ---------------------------------- */

static void test_framing(const pool *p, vl_msg *m)
{
    uint8_t type = 0xaa;
    uint8_t two[2] = {VL_WIRE_VERSION, VL_MSG_CERT};
    CHECK_ERR(vl_peek_type(two, 2, &type), VL_OK);
    CHECK(type == VL_MSG_CERT);
    CHECK_ERR(vl_peek_type(two, 1, &type), VL_ERR_TRUNCATED);
    CHECK_ERR(vl_peek_type(NULL, 0, &type), VL_ERR_TRUNCATED);
    two[0] = 2;
    CHECK_ERR(vl_peek_type(two, 2, &type), VL_ERR_VERSION);

    /* Objects are not messages and messages are not objects. */
    vl_msg_init(m, &dec_storage);
    CHECK_ERR(vl_msg_decode(p->order, p->order_len, m), VL_ERR_TYPE);
    CHECK_ERR(vl_msg_decode(p->entry, p->entry_len, m), VL_ERR_TYPE);
    CHECK_ERR(vl_msg_decode(p->summary, p->summary_len, m), VL_ERR_TYPE);
    CHECK(m->items == dec_storage.items && m->type == 0);
    vl_order *o = malloc(sizeof *o);
    assert(o != NULL);
    CHECK_ERR(vl_order_decode(p->cert, p->cert_len, o), VL_ERR_TYPE);
    free(o);
    msg_new(m, VL_MSG_ORDER);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);
    msg_new(m, VL_MSG_GENESIS);
    CHECK_ERR(enc_err(&C_MSG, m), VL_ERR_TYPE);

    /* Any input over VL_MAX_MSG_BYTES is refused before it is read. */
    size_t big = (size_t)VL_MAX_MSG_BYTES + 1;
    uint8_t *huge = calloc(1, big);
    assert(huge != NULL);
    const codec *all[] = {&C_ORDER, &C_VOTE,    &C_CERT,   &C_ENTRY,
                          &C_CP,    &C_ACCOUNT, &C_SUMMARY, &C_MSG};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        void *x = calloc(1, all[i]->size);
        assert(x != NULL);
        huge[0] = VL_WIRE_VERSION;
        CHECK_ERR(all[i]->dec(huge, big, x), VL_ERR_LIMIT);
        free(x);
    }
    free(huge);
}

int main(void)
{
    text_init();
    vl_order *o = malloc(sizeof *o);
    vl_cert *c = malloc(sizeof *c);
    vl_msg *m = malloc(sizeof *m);
    pool *p = calloc(1, sizeof *p);
    assert(o != NULL && c != NULL && m != NULL && p != NULL);

    test_order_golden(o);
    test_order_roundtrips(o);
    test_order_issue_errors(o);
    test_order_other_errors(o);
    test_order_hash(o);
    test_batch_vote();
    test_checkpoint();
    test_account();
    test_cert_roundtrips(c, o);
    test_cert_decode_errors(c, o);
    test_cert_encode_errors(c, o);
    test_entry(c, o);
    test_summary();

    pool_init(p, c, o);
    test_vote_request(m, p);
    test_vote_reply(m, p);
    test_certs_and_log(m, p);
    test_summary_request(m);
    test_summary_reply(m, p);
    test_client_request(m, p);
    test_client_reply_data(m, p);
    test_client_reply_status(m);
    test_client_reply_error(m, p);
    test_framing(p, m);
    pool_free(p);

    free(p);
    free(m);
    free(c);
    free(o);
    VL_TEST_END();
}
