/* vl_genesis.c - the genesis: JSON in and out, validation, canonical binary
 * encoding and the network id.
 *
 * Design notes
 *  1. One validator, two doors.  JSON (vl_genesis_load_* -> vl_genesis_finish)
 *     and binary (vl_genesis_decode) both run validate(), so whatever one
 *     accepts the other accepts, and both give the same network_id.
 *  2. Error messages name the field by its JSON path ("nodes[2].pubkey").
 *     validate() runs BEFORE the lists are sorted, so the index is the one
 *     the operator wrote (for `voucherctl genesis`: the order of the --node
 *     options).  A decoded binary genesis is already in canonical order.
 *  3. Canonical order is by id, bytewise (strcmp compares as unsigned char),
 *     within each list.  ids are unique per list, so the order is total and
 *     the sort needs no stability.
 *  4. Budgets: the binary form is u64, but jansson's json_int_t is signed
 *     64-bit, so a budget above INT64_MAX could not be written as JSON.
 *     validate() refuses such budgets (9.2e16 fen is ~9.2e14 CNY, far beyond
 *     any program), so every valid genesis round-trips through both forms.
 *     Their sum is held to INT64_MAX as well, so that a network's total
 *     issuance fits the signed 64-bit figures of JSON reports (an auditor
 *     found voucher-reconcile dropping certified issuance of a genesis whose
 *     two budgets of INT64_MAX each added up past it).
 *  5. network_id = tagged_hash(genesis, encode(g)).  vl_genesis_finish
 *     encodes into a heap buffer (at most ~135 KiB); vl_genesis_decode hashes
 *     its input, which equals encode(g) because the decoder is strict (every
 *     field has exactly one encoding and trailing bytes are refused).
 *  6. Uniqueness is checked by sorting small arrays of references (key, list,
 *     index) and comparing neighbours: O(n log n) for the up to 1600 members
 *     of a genesis, so decoding stays cheap enough to fuzz.
 *  7. Parsed keys (docs/performance.md, change 4): both doors end by
 *     parsing every Schnorr key once into node_keys, issuer_keys and
 *     provider_keys, so vl_verify.c does not parse a genesis key (a square
 *     root) on every signature check.  They are derived like network_id:
 *     a caller that edits a key after finishing gets the slow path, not a
 *     wrong answer (vl_verify_parsed compares the raw bytes first).
 */
#include "vl_genesis.h"

#include "vl_file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vl_codec.h"
#include "vl_crypto.h"
#include "vl_keyfile.h"
#include "vl_wire.h"

/* A genesis JSON file larger than this is refused before it is read.  A
 * maximal genesis (64 nodes, 512 issuers, 1024 providers) is about 400 KiB
 * with 2-space indentation; 4 MiB leaves room for hand-written whitespace. */
#define VL_GENESIS_MAX_JSON_BYTES (4u << 20)

#define REGION_MIN 100000
#define REGION_MAX 999999
#define ROLE_VOTER_NAME "voter"
#define ROLE_OBSERVER_NAME "observer"

enum { LIST_NODES, LIST_ISSUERS, LIST_PROVIDERS };
static const char *const list_names[] = {"nodes", "issuers", "providers"};

/* ---- error messages ------------------------------------------------------ */

/* Write "<where>.<field>: <message>" to err (where or field may be "").
 * Returns -1 so that callers can `return fail(...)`. */
__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t cap, const char *where,
                                                      const char *field, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return -1;
    const char *dot = (where[0] != '\0' && field[0] != '\0') ? "." : "";
    int n = snprintf(err, cap, "%s%s%s: ", where, dot, field);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void entry_name(char *out, size_t cap, int list, uint32_t index)
{
    snprintf(out, cap, "%s[%" PRIu32 "]", list_names[list], index);
}

/* ---- field validation (shared by both doors) ----------------------------- */

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static int check_id(const char *id, size_t cap, const char *where, char *err, size_t err_cap)
{
    size_t len = strnlen(id, cap);
    if (len == 0)
        return fail(err, err_cap, where, "id", "must not be empty");
    if (len > VL_MAX_ID_LEN)
        return fail(err, err_cap, where, "id", "longer than %d characters", VL_MAX_ID_LEN);
    for (size_t i = 0; i < len; i++)
        if (!id_char(id[i]))
            return fail(err, err_cap, where, "id",
                        "\"%s\" has a character outside [A-Za-z0-9._-]", id);
    return 0;
}

/* Endpoints: 1..VL_MAX_ENDPOINT_LEN printable ASCII characters, no spaces
 * (ZeroMQ endpoint syntax never needs one). */
static int check_endpoint(const char *ep, const char *where, const char *field, char *err,
                          size_t err_cap)
{
    size_t len = strnlen(ep, VL_MAX_ENDPOINT_LEN + 1);
    if (len == 0)
        return fail(err, err_cap, where, field, "must not be empty");
    if (len > VL_MAX_ENDPOINT_LEN)
        return fail(err, err_cap, where, field, "longer than %d characters",
                    VL_MAX_ENDPOINT_LEN);
    for (size_t i = 0; i < len; i++)
        if (ep[i] <= ' ' || ep[i] > '~')
            return fail(err, err_cap, where, field, "must be printable ASCII without spaces");
    return 0;
}

static int check_region(uint32_t region, const char *where, char *err, size_t err_cap)
{
    if (region < REGION_MIN || region > REGION_MAX)
        return fail(err, err_cap, where, "region",
                    "%" PRIu32 " is not a 6-digit region code (%d..%d)", region, REGION_MIN,
                    REGION_MAX);
    return 0;
}

static int check_pubkey(const uint8_t key[32], const char *where, char *err, size_t err_cap)
{
    if (!vl_pubkey_valid(key))
        return fail(err, err_cap, where, "pubkey", "not a valid x-only public key");
    return 0;
}

static int check_network(const vl_genesis *g, char *err, size_t err_cap)
{
    size_t len = strnlen(g->network, sizeof g->network);
    if (len == 0)
        return fail(err, err_cap, "", "network", "must not be empty");
    if (len > VL_MAX_NETWORK_NAME_LEN)
        return fail(err, err_cap, "", "network", "longer than %d characters",
                    VL_MAX_NETWORK_NAME_LEN);
    for (size_t i = 0; i < len; i++)
        if (g->network[i] < ' ' || g->network[i] > '~')
            return fail(err, err_cap, "", "network", "must be printable ASCII");
    return 0;
}

static int check_node(const vl_gen_node *n, uint32_t i, char *err, size_t err_cap)
{
    char where[32];
    entry_name(where, sizeof where, LIST_NODES, i);
    if (check_id(n->id, sizeof n->id, where, err, err_cap) != 0 ||
        check_region(n->region, where, err, err_cap) != 0 ||
        check_pubkey(n->pubkey, where, err, err_cap) != 0 ||
        check_endpoint(n->peer_endpoint, where, "peer_endpoint", err, err_cap) != 0 ||
        check_endpoint(n->client_endpoint, where, "client_endpoint", err, err_cap) != 0)
        return -1;
    if (n->role != VL_ROLE_VOTER && n->role != VL_ROLE_OBSERVER)
        return fail(err, err_cap, where, "role", "must be \"voter\" or \"observer\"");
    return 0;
}

static int check_issuer(const vl_gen_issuer *is, uint32_t i, char *err, size_t err_cap)
{
    char where[32];
    entry_name(where, sizeof where, LIST_ISSUERS, i);
    if (check_id(is->id, sizeof is->id, where, err, err_cap) != 0 ||
        check_region(is->region, where, err, err_cap) != 0 ||
        check_pubkey(is->pubkey, where, err, err_cap) != 0)
        return -1;
    if (is->budget_fen == 0)
        return fail(err, err_cap, where, "budget_fen", "must be greater than 0");
    if (is->budget_fen > (uint64_t)INT64_MAX)
        return fail(err, err_cap, where, "budget_fen",
                    "%" PRIu64 " is above %" PRId64 " (the JSON form is signed 64-bit)",
                    is->budget_fen, INT64_MAX);
    return 0;
}

static int check_provider(const vl_gen_provider *p, uint32_t i, char *err, size_t err_cap)
{
    char where[32];
    entry_name(where, sizeof where, LIST_PROVIDERS, i);
    if (check_id(p->id, sizeof p->id, where, err, err_cap) != 0 ||
        check_region(p->region, where, err, err_cap) != 0 ||
        check_pubkey(p->pubkey, where, err, err_cap) != 0)
        return -1;
    return 0;
}

/* ---- uniqueness ------------------------------------------------------------ */

/* A reference to one value of one entry: what the duplicate checks sort. */
typedef struct {
    const void *value; /* a 32-byte key or a NUL-terminated string */
    uint16_t list;     /* LIST_* (or a field rank for endpoints) */
    uint16_t index;
} vl_ref;

static int ref_tiebreak(const vl_ref *a, const vl_ref *b)
{
    if (a->list != b->list)
        return a->list < b->list ? -1 : 1;
    return a->index < b->index ? -1 : (a->index > b->index);
}

static int cmp_ref_key(const void *pa, const void *pb)
{
    const vl_ref *a = pa, *b = pb;
    int c = memcmp(a->value, b->value, 32);
    return c != 0 ? c : ref_tiebreak(a, b);
}

static int cmp_ref_str(const void *pa, const void *pb)
{
    const vl_ref *a = pa, *b = pb;
    int c = strcmp(a->value, b->value);
    return c != 0 ? c : ref_tiebreak(a, b);
}

/* Sort refs[0..n) and return the index of the first ref equal to its
 * predecessor (its predecessor is the earlier occurrence), or 0 if none. */
static size_t find_dup(vl_ref *refs, size_t n, bool keys)
{
    int (*cmp)(const void *, const void *) = keys ? cmp_ref_key : cmp_ref_str;
    qsort(refs, n, sizeof refs[0], cmp);
    for (size_t i = 1; i < n; i++) {
        int c = keys ? memcmp(refs[i - 1].value, refs[i].value, 32)
                     : strcmp(refs[i - 1].value, refs[i].value);
        if (c == 0)
            return i;
    }
    return 0;
}

/* Room for every member's Schnorr key at once (~25 KiB on the stack). */
#define MAX_REFS (VL_MAX_NODES + VL_MAX_ISSUERS + VL_MAX_PROVIDERS)

static int check_unique_ids(const vl_genesis *g, vl_ref *refs, char *err, size_t err_cap)
{
    const uint32_t counts[3] = {g->node_count, g->issuer_count, g->provider_count};
    for (int list = 0; list < 3; list++) {
        for (uint32_t i = 0; i < counts[list]; i++) {
            refs[i].value = list == LIST_NODES     ? g->nodes[i].id
                            : list == LIST_ISSUERS ? g->issuers[i].id
                                                   : g->providers[i].id;
            refs[i].list = (uint16_t)list;
            refs[i].index = (uint16_t)i;
        }
        size_t d = find_dup(refs, counts[list], false);
        if (d != 0) {
            char where[32];
            entry_name(where, sizeof where, list, refs[d].index);
            return fail(err, err_cap, where, "id", "duplicate id \"%s\" (also %s[%u])",
                        (const char *)refs[d].value, list_names[list], refs[d - 1].index);
        }
    }
    return 0;
}

static int check_unique_keys(const vl_genesis *g, vl_ref *refs, char *err, size_t err_cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < g->node_count; i++)
        refs[n++] = (vl_ref){g->nodes[i].pubkey, LIST_NODES, (uint16_t)i};
    for (uint32_t i = 0; i < g->issuer_count; i++)
        refs[n++] = (vl_ref){g->issuers[i].pubkey, LIST_ISSUERS, (uint16_t)i};
    for (uint32_t i = 0; i < g->provider_count; i++)
        refs[n++] = (vl_ref){g->providers[i].pubkey, LIST_PROVIDERS, (uint16_t)i};
    size_t d = find_dup(refs, n, true);
    if (d != 0) {
        char where[32];
        entry_name(where, sizeof where, refs[d].list, refs[d].index);
        return fail(err, err_cap, where, "pubkey", "same key as %s[%u].pubkey",
                    list_names[refs[d - 1].list], refs[d - 1].index);
    }
    return 0;
}

/* CURVE keys unique among nodes; endpoints unique across both kinds (a peer
 * endpoint equal to another node's client endpoint cannot both bind). */
static int check_unique_node_fields(const vl_genesis *g, vl_ref *refs, char *err,
                                    size_t err_cap)
{
    static const char *const ep_names[] = {"peer_endpoint", "client_endpoint"};
    char where[32];
    size_t n = 0;
    for (uint32_t i = 0; i < g->node_count; i++)
        refs[n++] = (vl_ref){g->nodes[i].curve_pubkey, LIST_NODES, (uint16_t)i};
    size_t d = find_dup(refs, n, true);
    if (d != 0) {
        entry_name(where, sizeof where, LIST_NODES, refs[d].index);
        return fail(err, err_cap, where, "curve_pubkey", "same CURVE key as nodes[%u]",
                    refs[d - 1].index);
    }
    n = 0;
    for (uint32_t i = 0; i < g->node_count; i++) {
        refs[n++] = (vl_ref){g->nodes[i].peer_endpoint, 0, (uint16_t)i};
        refs[n++] = (vl_ref){g->nodes[i].client_endpoint, 1, (uint16_t)i};
    }
    d = find_dup(refs, n, false);
    if (d != 0) {
        entry_name(where, sizeof where, LIST_NODES, refs[d].index);
        return fail(err, err_cap, where, ep_names[refs[d].list],
                    "endpoint \"%s\" already used by nodes[%u].%s", (const char *)refs[d].value,
                    refs[d - 1].index, ep_names[refs[d - 1].list]);
    }
    return 0;
}

static uint32_t count_voters(const vl_genesis *g)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < g->node_count; i++)
        v += g->nodes[i].role == VL_ROLE_VOTER;
    return v;
}

static int check_voters(const vl_genesis *g, char *err, size_t err_cap)
{
    uint32_t n = count_voters(g);
    if (n == 0)
        return fail(err, err_cap, "nodes", "",
                    "no node has role \"voter\" (at least one is required)");
    if ((uint64_t)n < 3u * (uint64_t)g->max_faulty + 1u)
        return fail(err, err_cap, "", "max_faulty",
                    "%" PRIu32 " voters tolerate at most %" PRIu32
                    " faulty (need n >= 3f+1), not %" PRIu32,
                    n, (n - 1) / 3, g->max_faulty);
    return 0;
}

/* Everything vl_genesis_finish checks, without changing g.  0 or -1. */
static int validate(const vl_genesis *g, char *err, size_t err_cap)
{
    if (g->node_count > VL_MAX_NODES)
        return fail(err, err_cap, "nodes", "", "%" PRIu32 " entries, at most %d",
                    g->node_count, VL_MAX_NODES);
    if (g->issuer_count > VL_MAX_ISSUERS)
        return fail(err, err_cap, "issuers", "", "%" PRIu32 " entries, at most %d",
                    g->issuer_count, VL_MAX_ISSUERS);
    if (g->provider_count > VL_MAX_PROVIDERS)
        return fail(err, err_cap, "providers", "", "%" PRIu32 " entries, at most %d",
                    g->provider_count, VL_MAX_PROVIDERS);
    if (check_network(g, err, err_cap) != 0)
        return -1;
    for (uint32_t i = 0; i < g->node_count; i++)
        if (check_node(&g->nodes[i], i, err, err_cap) != 0)
            return -1;
    uint64_t budgets = 0;
    for (uint32_t i = 0; i < g->issuer_count; i++) {
        if (check_issuer(&g->issuers[i], i, err, err_cap) != 0)
            return -1;
        if (g->issuers[i].budget_fen > (uint64_t)INT64_MAX - budgets) /* note 4 */
            return fail(err, err_cap, "issuers", "",
                        "the budgets add up to more than %" PRId64 " fen (at issuers[%" PRIu32
                        "])",
                        INT64_MAX, i);
        budgets += g->issuers[i].budget_fen;
    }
    for (uint32_t i = 0; i < g->provider_count; i++)
        if (check_provider(&g->providers[i], i, err, err_cap) != 0)
            return -1;
    vl_ref refs[MAX_REFS];
    if (check_unique_ids(g, refs, err, err_cap) != 0 ||
        check_unique_keys(g, refs, err, err_cap) != 0 ||
        check_unique_node_fields(g, refs, err, err_cap) != 0)
        return -1;
    return check_voters(g, err, err_cap);
}

/* ---- canonical order and derived fields ------------------------------------ */

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const vl_gen_node *)a)->id, ((const vl_gen_node *)b)->id);
}

static int cmp_issuer(const void *a, const void *b)
{
    return strcmp(((const vl_gen_issuer *)a)->id, ((const vl_gen_issuer *)b)->id);
}

static int cmp_provider(const void *a, const void *b)
{
    return strcmp(((const vl_gen_provider *)a)->id, ((const vl_gen_provider *)b)->id);
}

/* 1 if every list is strictly ascending by id. */
static bool is_sorted(const vl_genesis *g)
{
    for (uint32_t i = 1; i < g->node_count; i++)
        if (strcmp(g->nodes[i - 1].id, g->nodes[i].id) >= 0)
            return false;
    for (uint32_t i = 1; i < g->issuer_count; i++)
        if (strcmp(g->issuers[i - 1].id, g->issuers[i].id) >= 0)
            return false;
    for (uint32_t i = 1; i < g->provider_count; i++)
        if (strcmp(g->providers[i - 1].id, g->providers[i].id) >= 0)
            return false;
    return true;
}

uint32_t vl_quorum(uint32_t voters, uint32_t max_faulty)
{
    return (uint32_t)(((uint64_t)voters + max_faulty) / 2u + 1u);
}

/* Note 7: every Schnorr key parsed once, in canonical order.  validate()
 * has checked them all, so each parse succeeds; unused entries stay zero. */
static void parse_keys(vl_genesis *g)
{
    memset(g->node_keys, 0, sizeof g->node_keys);
    memset(g->issuer_keys, 0, sizeof g->issuer_keys);
    memset(g->provider_keys, 0, sizeof g->provider_keys);
    int ok = 1;
    for (uint32_t i = 0; i < g->node_count; i++)
        ok &= vl_parsed_pubkey_set(&g->node_keys[i], g->nodes[i].pubkey);
    for (uint32_t i = 0; i < g->issuer_count; i++)
        ok &= vl_parsed_pubkey_set(&g->issuer_keys[i], g->issuers[i].pubkey);
    for (uint32_t i = 0; i < g->provider_count; i++)
        ok &= vl_parsed_pubkey_set(&g->provider_keys[i], g->providers[i].pubkey);
    assert(ok == 1);
    (void)ok;
}

vl_err vl_genesis_finish(vl_genesis *g, char *err, size_t err_cap)
{
    assert(g != NULL);
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    if (validate(g, err, err_cap) != 0)
        return VL_ERR_GENESIS;
    qsort(g->nodes, g->node_count, sizeof g->nodes[0], cmp_node);
    qsort(g->issuers, g->issuer_count, sizeof g->issuers[0], cmp_issuer);
    qsort(g->providers, g->provider_count, sizeof g->providers[0], cmp_provider);
    assert(is_sorted(g));

    size_t len = 0;
    vl_err rc = vl_genesis_encode(g, NULL, 0, &len);
    assert(rc == VL_OK); /* validate() covers every structural check */
    uint8_t *buf = malloc(len);
    if (buf == NULL) {
        fail(err, err_cap, "genesis", "", "out of memory");
        return VL_ERR_NOMEM;
    }
    rc = vl_genesis_encode(g, buf, len, &len);
    assert(rc == VL_OK);
    vl_tagged_hash(g->network_id, VL_TAG_GENESIS, buf, len);
    free(buf);
    g->voter_count = count_voters(g);
    g->quorum = vl_quorum(g->voter_count, g->max_faulty);
    parse_keys(g);
    return VL_OK;
}

/* ---- binary encoding ---------------------------------------------------------- */

/* A text field of the struct as the decoder would judge it: VL_ERR_LIMIT
 * if longer than max_len (or not terminated within its array),
 * VL_ERR_NONCANONICAL if a byte is not printable ASCII. */
static vl_err text_check(const char *s, size_t cap, size_t max_len)
{
    size_t n = strnlen(s, cap);
    if (n > max_len)
        return VL_ERR_LIMIT;
    return vl_text_ok((const uint8_t *)s, n) ? VL_OK : VL_ERR_NONCANONICAL;
}

static vl_bytes text_bytes(const char *s)
{
    return (vl_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
}

#define TEXT_CHECK(s, max)                                                      \
    do {                                                                        \
        vl_err text_rc_ = text_check((s), sizeof(s), (max));                    \
        if (text_rc_ != VL_OK)                                                  \
            return text_rc_;                                                    \
    } while (0)

/* The structural checks a decoder makes before validate(), in the order it
 * meets them: counts over their limits, text fields too long or not
 * printable, a bad role byte, lists out of canonical order. */
static vl_err encode_check(const vl_genesis *g)
{
    TEXT_CHECK(g->network, VL_MAX_NETWORK_NAME_LEN);
    if (g->node_count > VL_MAX_NODES)
        return VL_ERR_LIMIT;
    if (g->node_count == 0)
        return VL_ERR_EMPTY;
    for (uint32_t i = 0; i < g->node_count; i++) {
        const vl_gen_node *n = &g->nodes[i];
        TEXT_CHECK(n->id, VL_MAX_ID_LEN);
        TEXT_CHECK(n->peer_endpoint, VL_MAX_ENDPOINT_LEN);
        TEXT_CHECK(n->client_endpoint, VL_MAX_ENDPOINT_LEN);
        if (n->role != VL_ROLE_VOTER && n->role != VL_ROLE_OBSERVER)
            return VL_ERR_RANGE;
    }
    if (g->issuer_count > VL_MAX_ISSUERS)
        return VL_ERR_LIMIT;
    for (uint32_t i = 0; i < g->issuer_count; i++)
        TEXT_CHECK(g->issuers[i].id, VL_MAX_ID_LEN);
    if (g->provider_count > VL_MAX_PROVIDERS)
        return VL_ERR_LIMIT;
    for (uint32_t i = 0; i < g->provider_count; i++)
        TEXT_CHECK(g->providers[i].id, VL_MAX_ID_LEN);
    return is_sorted(g) ? VL_OK : VL_ERR_UNSORTED;
}

static void put_members(vl_writer *w, const vl_genesis *g)
{
    vl_put_u16(w, (uint16_t)g->node_count);
    for (uint32_t i = 0; i < g->node_count; i++) {
        const vl_gen_node *n = &g->nodes[i];
        vl_put_str8(w, text_bytes(n->id));
        vl_put_u32(w, n->region);
        vl_put_bytes(w, n->pubkey, 32);
        vl_put_bytes(w, n->curve_pubkey, 32);
        vl_put_str8(w, text_bytes(n->peer_endpoint));
        vl_put_str8(w, text_bytes(n->client_endpoint));
        vl_put_u8(w, n->role);
    }
    vl_put_u16(w, (uint16_t)g->issuer_count);
    for (uint32_t i = 0; i < g->issuer_count; i++) {
        const vl_gen_issuer *is = &g->issuers[i];
        vl_put_str8(w, text_bytes(is->id));
        vl_put_u32(w, is->region);
        vl_put_bytes(w, is->pubkey, 32);
        vl_put_u64(w, is->budget_fen);
    }
    vl_put_u16(w, (uint16_t)g->provider_count);
    for (uint32_t i = 0; i < g->provider_count; i++) {
        const vl_gen_provider *p = &g->providers[i];
        vl_put_str8(w, text_bytes(p->id));
        vl_put_u32(w, p->region);
        vl_put_bytes(w, p->pubkey, 32);
    }
}

/* Encodes the structure only: the semantic rules (valid keys, regions,
 * uniqueness, n >= 3f+1) are vl_genesis_finish's, which every genesis in
 * the program has passed through. */
vl_err vl_genesis_encode(const vl_genesis *g, uint8_t *out, size_t cap, size_t *len)
{
    assert(g != NULL && len != NULL);
    *len = 0;
    vl_err rc = encode_check(g);
    if (rc != VL_OK)
        return rc;
    vl_writer w;
    vl_writer_init(&w, out, cap);
    vl_put_u8(&w, VL_WIRE_VERSION);
    vl_put_u8(&w, VL_MSG_GENESIS);
    vl_put_str8(&w, text_bytes(g->network));
    vl_put_u32(&w, g->max_faulty);
    put_members(&w, g);
    return vl_writer_finish(&w, len);
}

/* ---- binary decoding ------------------------------------------------------------ */

/* vl_reader with a sticky first error, so that a list of fields reads as a
 * list; every getter does nothing once err is set. */
typedef struct {
    vl_reader r;
    vl_err err;
} vl_gr;

static uint64_t get_uint(vl_gr *g, size_t width)
{
    uint8_t v8 = 0;
    uint16_t v16 = 0;
    uint32_t v32 = 0;
    uint64_t v64 = 0;
    if (g->err != VL_OK)
        return 0;
    switch (width) {
    case 1: g->err = vl_get_u8(&g->r, &v8); return v8;
    case 2: g->err = vl_get_u16(&g->r, &v16); return v16;
    case 4: g->err = vl_get_u32(&g->r, &v32); return v32;
    default: g->err = vl_get_u64(&g->r, &v64); return v64;
    }
}

static void get_key(vl_gr *g, uint8_t out[32])
{
    if (g->err == VL_OK)
        g->err = vl_get_fixed(&g->r, out, 32);
}

/* text8 into out (max_len + 1 bytes), NUL-terminated. */
static void get_text(vl_gr *g, char *out, size_t max_len)
{
    vl_bytes s;
    if (g->err != VL_OK || (g->err = vl_get_text8(&g->r, max_len, &s)) != VL_OK)
        return;
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
}

/* An id, which must sort strictly after the previous one of its list. */
static void get_id(vl_gr *g, char *out, const char *prev)
{
    get_text(g, out, VL_MAX_ID_LEN);
    if (g->err == VL_OK && prev != NULL && strcmp(prev, out) >= 0)
        g->err = VL_ERR_UNSORTED;
}

/* A u16 count, VL_ERR_LIMIT above max. */
static uint32_t get_count(vl_gr *g, uint32_t max)
{
    uint32_t n = (uint32_t)get_uint(g, 2);
    if (g->err == VL_OK && n > max)
        g->err = VL_ERR_LIMIT;
    return g->err == VL_OK ? n : 0;
}

static void get_nodes(vl_gr *r, vl_genesis *g)
{
    g->node_count = get_count(r, VL_MAX_NODES);
    if (r->err == VL_OK && g->node_count == 0)
        r->err = VL_ERR_EMPTY;
    for (uint32_t i = 0; i < g->node_count && r->err == VL_OK; i++) {
        vl_gen_node *n = &g->nodes[i];
        get_id(r, n->id, i > 0 ? g->nodes[i - 1].id : NULL);
        n->region = (uint32_t)get_uint(r, 4);
        get_key(r, n->pubkey);
        get_key(r, n->curve_pubkey);
        get_text(r, n->peer_endpoint, VL_MAX_ENDPOINT_LEN);
        get_text(r, n->client_endpoint, VL_MAX_ENDPOINT_LEN);
        n->role = (uint8_t)get_uint(r, 1);
        if (r->err == VL_OK && n->role != VL_ROLE_VOTER && n->role != VL_ROLE_OBSERVER)
            r->err = VL_ERR_RANGE;
    }
}

static void get_others(vl_gr *r, vl_genesis *g)
{
    g->issuer_count = get_count(r, VL_MAX_ISSUERS);
    for (uint32_t i = 0; i < g->issuer_count && r->err == VL_OK; i++) {
        vl_gen_issuer *is = &g->issuers[i];
        get_id(r, is->id, i > 0 ? g->issuers[i - 1].id : NULL);
        is->region = (uint32_t)get_uint(r, 4);
        get_key(r, is->pubkey);
        is->budget_fen = get_uint(r, 8);
    }
    g->provider_count = get_count(r, VL_MAX_PROVIDERS);
    for (uint32_t i = 0; i < g->provider_count && r->err == VL_OK; i++) {
        vl_gen_provider *p = &g->providers[i];
        get_id(r, p->id, i > 0 ? g->providers[i - 1].id : NULL);
        p->region = (uint32_t)get_uint(r, 4);
        get_key(r, p->pubkey);
    }
}

/* Structure, front to back: the first error met wins (docs/protocol.md
 * 1.3).  Semantic rules come after, in validate(). */
static vl_err decode_structure(vl_gr *r, vl_genesis *g)
{
    if (get_uint(r, 1) != VL_WIRE_VERSION && r->err == VL_OK)
        return VL_ERR_VERSION;
    if (get_uint(r, 1) != VL_MSG_GENESIS && r->err == VL_OK)
        return VL_ERR_TYPE;
    get_text(r, g->network, VL_MAX_NETWORK_NAME_LEN);
    g->max_faulty = (uint32_t)get_uint(r, 4);
    get_nodes(r, g);
    get_others(r, g);
    if (r->err != VL_OK)
        return r->err;
    return vl_reader_end(&r->r);
}

vl_err vl_genesis_decode(const uint8_t *buf, size_t len, vl_genesis *g)
{
    assert(g != NULL && (buf != NULL || len == 0));
    memset(g, 0, sizeof *g);
    vl_gr r = {.err = VL_OK};
    vl_reader_init(&r.r, buf, len);
    vl_err rc = decode_structure(&r, g);
    if (rc == VL_OK && validate(g, NULL, 0) != 0)
        rc = VL_ERR_GENESIS;
    if (rc != VL_OK) {
        memset(g, 0, sizeof *g);
        return rc;
    }
    g->voter_count = count_voters(g);
    g->quorum = vl_quorum(g->voter_count, g->max_faulty);
    vl_tagged_hash(g->network_id, VL_TAG_GENESIS, buf, len);
    parse_keys(g);
    return VL_OK;
}

/* ---- JSON in ------------------------------------------------------------------- */

static const char *const top_fields[] = {"network", "max_faulty", "nodes", "issuers",
                                         "providers", NULL};
static const char *const node_fields[] = {"id",           "region",        "pubkey",
                                          "curve_pubkey", "peer_endpoint", "client_endpoint",
                                          "role",         NULL};
static const char *const issuer_fields[] = {"id", "region", "pubkey", "budget_fen", NULL};
static const char *const provider_fields[] = {"id", "region", "pubkey", NULL};

/* Parsing context: where we are ("" or "nodes[2]") and the error sink. */
typedef struct {
    char where[32];
    char *err;
    size_t cap;
} vl_jctx;

static int check_fields(const vl_jctx *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] == NULL)
            return fail(c->err, c->cap, c->where, key, "unknown field");
    }
    return 0;
}

static json_t *need(const vl_jctx *c, json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL)
        fail(c->err, c->cap, c->where, name, "missing");
    return v;
}

/* A string of at most max_len bytes, copied into out (max_len + 1 bytes). */
static int j_string(const vl_jctx *c, json_t *obj, const char *name, char *out, size_t max_len)
{
    json_t *v = need(c, obj, name);
    if (v == NULL)
        return -1;
    if (!json_is_string(v))
        return fail(c->err, c->cap, c->where, name, "must be a string");
    size_t n = json_string_length(v);
    if (n > max_len)
        return fail(c->err, c->cap, c->where, name, "longer than %zu characters", max_len);
    if (memchr(json_string_value(v), 0, n) != NULL)
        return fail(c->err, c->cap, c->where, name, "contains a NUL character");
    memcpy(out, json_string_value(v), n);
    out[n] = '\0';
    return 0;
}

static int j_int(const vl_jctx *c, json_t *obj, const char *name, int64_t min, int64_t max,
                 int64_t *out)
{
    json_t *v = need(c, obj, name);
    if (v == NULL)
        return -1;
    if (!json_is_integer(v))
        return fail(c->err, c->cap, c->where, name, "must be an integer");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return fail(c->err, c->cap, c->where, name,
                    "%" JSON_INTEGER_FORMAT " is out of range (%" PRId64 "..%" PRId64 ")", x,
                    min, max);
    *out = (int64_t)x;
    return 0;
}

static int j_region(const vl_jctx *c, json_t *obj, uint32_t *out)
{
    int64_t v = 0;
    if (j_int(c, obj, "region", INT64_MIN, INT64_MAX, &v) != 0)
        return -1;
    if (v < REGION_MIN || v > REGION_MAX)
        return fail(c->err, c->cap, c->where, "region",
                    "%" PRId64 " is not a 6-digit region code (%d..%d)", v, REGION_MIN,
                    REGION_MAX);
    *out = (uint32_t)v;
    return 0;
}

/* Budgets in JSON are signed 64-bit (note 4), so INT64_MAX is the most. */
static int j_budget(const vl_jctx *c, json_t *obj, uint64_t *out)
{
    int64_t v = 0;
    if (j_int(c, obj, "budget_fen", INT64_MIN, INT64_MAX, &v) != 0)
        return -1;
    if (v <= 0)
        return fail(c->err, c->cap, c->where, "budget_fen",
                    "must be greater than 0 (a count of fen), not %" PRId64, v);
    *out = (uint64_t)v;
    return 0;
}

static int j_pubkey(const vl_jctx *c, json_t *obj, const char *name, uint8_t out[32])
{
    char text[65];
    if (j_string(c, obj, name, text, 64) != 0)
        return -1;
    if (vl_hex_decode(out, 32, text) != VL_OK)
        return fail(c->err, c->cap, c->where, name, "must be 64 hex digits");
    return 0;
}

static int j_curve(const vl_jctx *c, json_t *obj, const char *name, uint8_t out[32])
{
    char text[41];
    if (j_string(c, obj, name, text, 40) != 0)
        return -1;
    if (strlen(text) != 40 || vl_z85_decode(out, text) != VL_OK)
        return fail(c->err, c->cap, c->where, name, "must be 40 Z85 characters");
    return 0;
}

static int j_role(const vl_jctx *c, json_t *obj, uint8_t *role)
{
    char text[16];
    json_t *v = json_object_get(obj, "role");
    if (v != NULL && json_is_string(v) && json_string_length(v) >= sizeof text)
        return fail(c->err, c->cap, c->where, "role", "must be \"voter\" or \"observer\"");
    if (j_string(c, obj, "role", text, sizeof text - 1) != 0)
        return -1;
    if (strcmp(text, ROLE_VOTER_NAME) == 0)
        *role = VL_ROLE_VOTER;
    else if (strcmp(text, ROLE_OBSERVER_NAME) == 0)
        *role = VL_ROLE_OBSERVER;
    else
        return fail(c->err, c->cap, c->where, "role", "must be \"voter\" or \"observer\"");
    return 0;
}

static int j_node(const vl_jctx *c, json_t *obj, vl_gen_node *n)
{
    if (check_fields(c, obj, node_fields) != 0 ||
        j_string(c, obj, "id", n->id, VL_MAX_ID_LEN) != 0 || j_region(c, obj, &n->region) != 0 ||
        j_pubkey(c, obj, "pubkey", n->pubkey) != 0 ||
        j_curve(c, obj, "curve_pubkey", n->curve_pubkey) != 0 ||
        j_string(c, obj, "peer_endpoint", n->peer_endpoint, VL_MAX_ENDPOINT_LEN) != 0 ||
        j_string(c, obj, "client_endpoint", n->client_endpoint, VL_MAX_ENDPOINT_LEN) != 0 ||
        j_role(c, obj, &n->role) != 0)
        return -1;
    return 0;
}

static int j_issuer(const vl_jctx *c, json_t *obj, vl_gen_issuer *is)
{
    if (check_fields(c, obj, issuer_fields) != 0 ||
        j_string(c, obj, "id", is->id, VL_MAX_ID_LEN) != 0 ||
        j_region(c, obj, &is->region) != 0 || j_pubkey(c, obj, "pubkey", is->pubkey) != 0 ||
        j_budget(c, obj, &is->budget_fen) != 0)
        return -1;
    return 0;
}

static int j_provider(const vl_jctx *c, json_t *obj, vl_gen_provider *p)
{
    if (check_fields(c, obj, provider_fields) != 0 ||
        j_string(c, obj, "id", p->id, VL_MAX_ID_LEN) != 0 ||
        j_region(c, obj, &p->region) != 0 || j_pubkey(c, obj, "pubkey", p->pubkey) != 0)
        return -1;
    return 0;
}

/* One of the three member lists; *count gets its length. */
static int j_list(vl_jctx *c, json_t *root, int list, vl_genesis *g, uint32_t *count)
{
    static const uint32_t max[] = {VL_MAX_NODES, VL_MAX_ISSUERS, VL_MAX_PROVIDERS};
    const char *name = list_names[list];
    json_t *arr = need(c, root, name);
    if (arr == NULL)
        return -1;
    if (!json_is_array(arr))
        return fail(c->err, c->cap, "", name, "must be an array");
    size_t n = json_array_size(arr);
    if (n > max[list])
        return fail(c->err, c->cap, "", name, "%zu entries, at most %" PRIu32, n, max[list]);
    for (size_t i = 0; i < n; i++) {
        json_t *obj = json_array_get(arr, i);
        vl_jctx ec = {"", c->err, c->cap};
        entry_name(ec.where, sizeof ec.where, list, (uint32_t)i);
        if (!json_is_object(obj))
            return fail(c->err, c->cap, ec.where, "", "must be an object");
        int rc = list == LIST_NODES     ? j_node(&ec, obj, &g->nodes[i])
                 : list == LIST_ISSUERS ? j_issuer(&ec, obj, &g->issuers[i])
                                        : j_provider(&ec, obj, &g->providers[i]);
        if (rc != 0)
            return -1;
    }
    *count = (uint32_t)n;
    return 0;
}

static int j_genesis(json_t *root, vl_genesis *g, char *err, size_t err_cap)
{
    vl_jctx c = {"", err, err_cap};
    int64_t f;
    if (!json_is_object(root))
        return fail(err, err_cap, "genesis", "", "the top level must be a JSON object");
    if (check_fields(&c, root, top_fields) != 0 ||
        j_string(&c, root, "network", g->network, VL_MAX_NETWORK_NAME_LEN) != 0 ||
        j_int(&c, root, "max_faulty", 0, UINT32_MAX, &f) != 0 ||
        j_list(&c, root, LIST_NODES, g, &g->node_count) != 0 ||
        j_list(&c, root, LIST_ISSUERS, g, &g->issuer_count) != 0 ||
        j_list(&c, root, LIST_PROVIDERS, g, &g->provider_count) != 0)
        return -1;
    g->max_faulty = (uint32_t)f;
    return 0;
}

vl_err vl_genesis_load_json(vl_genesis *g, const char *json, size_t len, char *err,
                            size_t err_cap)
{
    assert(g != NULL && (json != NULL || len == 0));
    memset(g, 0, sizeof *g);
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (err != NULL && err_cap > 0)
            snprintf(err, err_cap, "line %d, column %d: %s", jerr.line, jerr.column,
                     jerr.text);
        return VL_ERR_JSON;
    }
    vl_err rc = VL_OK;
    if (j_genesis(root, g, err, err_cap) != 0)
        rc = VL_ERR_GENESIS;
    json_decref(root);
    if (rc == VL_OK)
        rc = vl_genesis_finish(g, err, err_cap);
    if (rc != VL_OK)
        memset(g, 0, sizeof *g);
    return rc;
}

vl_err vl_genesis_load_file(vl_genesis *g, const char *path, char *err, size_t err_cap)
{
    assert(g != NULL && path != NULL);
    memset(g, 0, sizeof *g);
    char *text;
    size_t len;
    vl_err rc = vl_file_read(path, VL_GENESIS_MAX_JSON_BYTES, &text, &len, err, err_cap);
    if (rc != VL_OK)
        return rc;
    char inner[512];
    rc = vl_genesis_load_json(g, text, len, inner, sizeof inner);
    free(text);
    if (rc != VL_OK)
        fail(err, err_cap, path, "", "%s", inner);
    return rc;
}

/* ---- JSON out ------------------------------------------------------------------ */

/* json_object_set_new steals v even on failure; a NULL v is a failure. */
static bool put(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(obj, key, v) == 0;
}

static json_t *hex_json(const uint8_t *bytes, size_t len)
{
    char hex[65];
    assert(len <= 32);
    vl_hex_encode(hex, bytes, len);
    return json_string(hex);
}

static json_t *node_json(const void *entry)
{
    const vl_gen_node *n = entry;
    char z85[41];
    vl_z85_encode(z85, n->curve_pubkey);
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "id", json_string(n->id)) &&
              put(o, "region", json_integer(n->region)) &&
              put(o, "pubkey", hex_json(n->pubkey, 32)) &&
              put(o, "curve_pubkey", json_string(z85)) &&
              put(o, "peer_endpoint", json_string(n->peer_endpoint)) &&
              put(o, "client_endpoint", json_string(n->client_endpoint)) &&
              put(o, "role",
                  json_string(n->role == VL_ROLE_VOTER ? ROLE_VOTER_NAME : ROLE_OBSERVER_NAME));
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

static json_t *issuer_json(const void *entry)
{
    const vl_gen_issuer *is = entry;
    /* validate() keeps budgets <= INT64_MAX (note 4); a struct that never
     * went through vl_genesis_finish is caller misuse. */
    assert(is->budget_fen <= (uint64_t)INT64_MAX);
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "id", json_string(is->id)) &&
              put(o, "region", json_integer(is->region)) &&
              put(o, "pubkey", hex_json(is->pubkey, 32)) &&
              put(o, "budget_fen", json_integer((json_int_t)is->budget_fen));
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

static json_t *provider_json(const void *entry)
{
    const vl_gen_provider *p = entry;
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "id", json_string(p->id)) &&
              put(o, "region", json_integer(p->region)) &&
              put(o, "pubkey", hex_json(p->pubkey, 32));
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

/* Append one list's entries, made by `make`, to a new array under key. */
static bool put_list(json_t *root, const char *key, const void *items, uint32_t count,
                     size_t size, json_t *(*make)(const void *))
{
    json_t *arr = json_array();
    if (!put(root, key, arr))
        return false;
    for (uint32_t i = 0; i < count; i++)
        if (json_array_append_new(arr, make((const char *)items + i * size)) != 0)
            return false;
    return true;
}

static json_t *genesis_json(const vl_genesis *g)
{
    json_t *root = json_object();
    bool ok = root != NULL && put(root, "network", json_string(g->network)) &&
              put(root, "max_faulty", json_integer(g->max_faulty)) &&
              put_list(root, "nodes", g->nodes, g->node_count, sizeof g->nodes[0],
                       node_json) &&
              put_list(root, "issuers", g->issuers, g->issuer_count, sizeof g->issuers[0],
                       issuer_json) &&
              put_list(root, "providers", g->providers, g->provider_count,
                       sizeof g->providers[0], provider_json);
    if (!ok)
        json_decref(root); /* NULL allowed */
    return ok ? root : NULL;
}

vl_err vl_genesis_save_file(const vl_genesis *g, const char *path)
{
    assert(g != NULL && path != NULL);
    json_t *root = genesis_json(g);
    if (root == NULL)
        return VL_ERR_NOMEM;
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (text == NULL)
        return VL_ERR_NOMEM;
    size_t n = strlen(text);
    char *with_nl = realloc(text, n + 2);
    if (with_nl == NULL) {
        free(text);
        return VL_ERR_NOMEM;
    }
    with_nl[n] = '\n';
    with_nl[n + 1] = '\0';
    vl_err rc = vl_file_replace(path, with_nl, n + 1, 0644);
    free(with_nl);
    return rc;
}

/* ---- lookups ----------------------------------------------------------------- */

int vl_genesis_node_by_pubkey(const vl_genesis *g, const uint8_t pubkey[32])
{
    for (uint32_t i = 0; i < g->node_count; i++)
        if (memcmp(g->nodes[i].pubkey, pubkey, 32) == 0)
            return (int)i;
    return -1;
}

int vl_genesis_node_by_id(const vl_genesis *g, const char *id)
{
    uint32_t lo = 0, hi = g->node_count; /* binary search: nodes are sorted by id */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->nodes[mid].id, id);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int vl_genesis_issuer_by_pubkey(const vl_genesis *g, const uint8_t pubkey[32])
{
    for (uint32_t i = 0; i < g->issuer_count; i++)
        if (memcmp(g->issuers[i].pubkey, pubkey, 32) == 0)
            return (int)i;
    return -1;
}

int vl_genesis_provider_by_pubkey(const vl_genesis *g, const uint8_t pubkey[32])
{
    for (uint32_t i = 0; i < g->provider_count; i++)
        if (memcmp(g->providers[i].pubkey, pubkey, 32) == 0)
            return (int)i;
    return -1;
}
