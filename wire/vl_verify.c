/* vl_verify.c - offline checks of orders, votes, certificates and
 * checkpoints against a genesis, and the batch-vote signature cache.
 *
 * Design notes
 *  1. Cheap checks before expensive ones.  vl_cert_verify checks the order
 *     (membership, then its one or two signatures), then every vote's
 *     voter and Merkle path (a few hashes each), then the vote count
 *     against the quorum, and only then the vote signatures, each at most
 *     once per (voter, root, signature) thanks to the cache.  Every vote
 *     must be valid: a certificate carrying one bad vote is rejected even
 *     if the other votes reach the quorum, so that a certificate is either
 *     wholly valid or refused (no "valid, with garbage attached" forms).
 *  2. The cache (DESIGN.md 4).  An entry (voter index, root, signature)
 *     means "this signature by this voter over this root verified".  It
 *     only ever holds signatures that were checked, and a lookup matches
 *     the signature bytes too, so a hit is exactly as good as a
 *     verification: keying on (voter, root) alone would let a certificate
 *     whose vote signature is garbage pass on a node whose cache is warm
 *     and fail everywhere else (verification must not depend on history).
 *     One batch has one signature per voter, so this costs no hits.  A
 *     cache belongs to one genesis: voter indexes mean nothing across
 *     networks.
 *     Layout: a FIFO ring of `capacity` entries (the eviction order) and an
 *     open-addressing table (linear probing, at most half full, backward
 *     shift deletion: no tombstones) of ring positions + 1 (0 = empty).
 *     Inserting into a full ring evicts its oldest entry.  The table index
 *     mixes the root with a per-cache random seed, so a voter cannot grind
 *     roots that collide in our table.  One mutex guards ring and table;
 *     the hit and miss counters are atomics, readable without it.
 *  3. No allocation except vl_sigcache_new; nothing here keeps a pointer to
 *     its arguments.
 *  4. Order signatures in the same cache (docs/performance.md, change 1).
 *     A voter checks an order's one or two client signatures when it votes
 *     (vl_decide) and, before this change, again when the certificate
 *     arrives (vl_cert_verify): a non-coordinating voter checked each
 *     REDEEM's two client signatures twice.  An order signature is cached
 *     as the entry (ORDER_SLOT + slot, order hash, signature): the order hash
 *     commits to the order's kind, issuer, holder and provider keys, and
 *     the slot says which of them signs, so the entry pins (key, message,
 *     signature) exactly as a vote entry does, and a hit is exactly as
 *     good as a verification.  ORDER_SLOT is above every voter index
 *     (VL_MAX_NODES), and order entries live in a ring and table of their
 *     own (same capacity), counted apart (vl_sigcache_order_hits).
 *     Membership checks (network, issuer, provider) run every time: they
 *     depend on the genesis, not on the signature.
 *  5. Genesis keys are not parsed per check (docs/performance.md, change
 *     4): voter, issuer and provider signatures are verified with the keys
 *     vl_genesis parsed once (vl_verify_parsed); only the holder's key,
 *     which comes with the order, is parsed on every verification.
 *  6. A certificate of one's own order (docs/performance.md, change 5).  A
 *     client that signed an order (or checked its signatures before
 *     submitting it) knows those signatures are good; what it must learn
 *     from the certificate is that a quorum voted for exactly that order,
 *     and that the certificate will verify for anyone else, which holds
 *     when its order carries the very signature bytes the client has.  So
 *     vl_cert_verify_own compares the order hash and the signatures byte
 *     for byte with the client's (VL_ERR_CORRUPT if they differ, even if
 *     the node's signatures would also verify) instead of verifying them
 *     again, and checks membership, paths, quorum and vote signatures as
 *     vl_cert_verify does.  It saved voucher-bench two Schnorr
 *     verifications per redemption.
 *  7. Parsed holder keys (docs/performance.md, change 7).  A holder's key
 *     comes with each order, so note 5 does not cover it; parsing it (a
 *     field square root) was about 3% of a voter.  The cache keeps parsed
 *     holder keys in a direct-mapped table (capacity / 16 slots, 64 to
 *     65,536), indexed by a seeded hash of the key: a firm that redeems
 *     many vouchers has its key parsed once.  A slot holds the raw bytes it
 *     was parsed from and vl_verify_parsed uses it only for those exact
 *     bytes, so a collision or a stale slot is a miss, never a wrong key;
 *     an invalid key is never stored.  The entry is copied out under the
 *     lock and the verification runs outside it.
 *  8. The quorum vouches for an order's signatures (docs/performance.md,
 *     change 11; docs/consensus.md, "Who checks client signatures").  A
 *     vote's leaf covers the order's signature bytes as well as its hash
 *     (vl_vote_leaf), and an honest voter puts a leaf in its batch only
 *     after checking exactly those bytes (vl_decide).  A valid certificate
 *     carries q >= f + 1 votes of distinct voters, so at least one honest
 *     voter checked its signatures: a node applying it need not check them
 *     again (vl_cert_verify_vouched), and a voter the coordinator did not
 *     ask never checks them at all.  Membership runs as ever.  Auditors and
 *     clients keep vl_cert_verify: they trust no quorum.
 */
#include "vl_verify.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vl_crypto.h"

/* ---- the signature cache ------------------------------------------------ */

#define SIGCACHE_MAX_CAPACITY (1u << 24)
/* Note 4: the "voter" of an order signature entry is ORDER_SLOT + slot. */
#define ORDER_SLOT 0xff00u
/* Note 7: parsed holder keys, one slot per this many signature entries of
 * capacity, between these bounds (a power of two). */
#define KEYCACHE_SIGS_PER_KEY 16u
#define KEYCACHE_MIN_SLOTS 64u
#define KEYCACHE_MAX_SLOTS 65536u
_Static_assert(VL_MAX_NODES < ORDER_SLOT, "voter indexes and order slots must not meet");

typedef struct {
    uint8_t root[32];
    uint8_t sig[64];
    uint16_t voter;
} cache_entry;

/* One ring + table (note 2).  A cache has two (note 4): vote signatures
 * and order signatures, so that a stream of orders never evicts the vote
 * entries a batch of certificates is about to hit, and vote behaviour
 * (capacity, eviction, counters) is what it was before order entries. */
typedef struct {
    uint32_t capacity; /* ring size */
    uint32_t count;    /* entries in use, <= capacity */
    uint32_t head;     /* next ring slot to fill (the oldest when full) */
    uint32_t mask;     /* table size - 1; table size >= 2 * capacity */
    uint64_t seed;
    cache_entry *ring;
    uint32_t *table; /* ring index + 1, or 0 */
} cache_part;

/* Parsed holder keys (note 7): a direct-mapped table, slot = seeded hash
 * of the key; a slot whose raw bytes differ is a miss and is overwritten. */
typedef struct {
    vl_parsed_pubkey *slots;
    uint32_t mask;
    uint64_t seed;
} key_part;

struct vl_sigcache {
    pthread_mutex_t lock;
    cache_part votes;
    cache_part orders;
    key_part keys;
    _Atomic uint64_t hits; /* vote signatures */
    _Atomic uint64_t misses;
    _Atomic uint64_t order_hits; /* order signatures */
    _Atomic uint64_t order_misses;
    _Atomic uint64_t key_hits; /* parsed holder keys */
    _Atomic uint64_t key_misses;
};

static void part_free(cache_part *p)
{
    free(p->ring);
    free(p->table);
    p->ring = NULL;
    p->table = NULL;
}

/* 0, or -1 when out of memory (p holds nothing to free then). */
static int part_init(cache_part *p, uint32_t capacity)
{
    uint32_t size = 2;
    while (size < 2 * capacity)
        size *= 2;
    p->ring = calloc(capacity, sizeof *p->ring);
    p->table = calloc(size, sizeof *p->table);
    if (p->ring == NULL || p->table == NULL) {
        part_free(p);
        return -1;
    }
    p->capacity = capacity;
    p->mask = size - 1;
    /* Without randomness the table still works; it is only easier to
     * aim collisions at. */
    if (vl_random((uint8_t *)&p->seed, sizeof p->seed) != VL_OK)
        p->seed = 0x6a09e667f3bcc908u;
    return 0;
}

/* 0, or -1 when out of memory. */
static int keys_init(key_part *k, uint32_t capacity)
{
    uint32_t size = KEYCACHE_MIN_SLOTS;
    while (size < capacity / KEYCACHE_SIGS_PER_KEY && size < KEYCACHE_MAX_SLOTS)
        size *= 2;
    if ((k->slots = calloc(size, sizeof *k->slots)) == NULL)
        return -1;
    k->mask = size - 1;
    if (vl_random((uint8_t *)&k->seed, sizeof k->seed) != VL_OK)
        k->seed = 0xbb67ae8584caa73bu;
    return 0;
}

vl_sigcache *vl_sigcache_new(uint32_t capacity)
{
    assert(capacity >= 1 && capacity <= SIGCACHE_MAX_CAPACITY);
    vl_sigcache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (part_init(&c->votes, capacity) != 0 || part_init(&c->orders, capacity) != 0 ||
        keys_init(&c->keys, capacity) != 0 || pthread_mutex_init(&c->lock, NULL) != 0) {
        part_free(&c->votes);
        part_free(&c->orders);
        free(c->keys.slots);
        free(c);
        return NULL;
    }
    atomic_init(&c->hits, 0);
    atomic_init(&c->misses, 0);
    atomic_init(&c->order_hits, 0);
    atomic_init(&c->order_misses, 0);
    atomic_init(&c->key_hits, 0);
    atomic_init(&c->key_misses, 0);
    return c;
}

void vl_sigcache_destroy(vl_sigcache **c)
{
    if (c == NULL || *c == NULL)
        return;
    pthread_mutex_destroy(&(*c)->lock);
    part_free(&(*c)->votes);
    part_free(&(*c)->orders);
    free((*c)->keys.slots);
    free(*c);
    *c = NULL;
}

uint64_t vl_sigcache_hits(const vl_sigcache *c)
{
    assert(c != NULL);
    return atomic_load(&c->hits);
}

uint64_t vl_sigcache_misses(const vl_sigcache *c)
{
    assert(c != NULL);
    return atomic_load(&c->misses);
}

uint64_t vl_sigcache_order_hits(const vl_sigcache *c)
{
    assert(c != NULL);
    return atomic_load(&c->order_hits);
}

uint64_t vl_sigcache_order_misses(const vl_sigcache *c)
{
    assert(c != NULL);
    return atomic_load(&c->order_misses);
}

uint64_t vl_sigcache_key_hits(const vl_sigcache *c)
{
    assert(c != NULL);
    return atomic_load(&c->key_hits);
}

uint64_t vl_sigcache_key_misses(const vl_sigcache *c)
{
    assert(c != NULL);
    return atomic_load(&c->key_misses);
}

static uint32_t cache_home(const cache_part *c, uint16_t voter, const uint8_t root[32])
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)root[i] << (8 * i);
    x ^= c->seed ^ ((uint64_t)voter << 48);
    x *= 0x9e3779b97f4a7c15u;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9u;
    return (uint32_t)(x >> 32) & c->mask;
}

/* Table position of (voter, root, sig), or -1.  Caller holds the lock.
 * The table is at most half full, so the probe ends within mask + 1 steps. */
static int64_t cache_find(const cache_part *c, uint16_t voter, const uint8_t root[32],
                          const uint8_t sig[64])
{
    uint32_t i = cache_home(c, voter, root);
    for (uint32_t step = 0; step <= c->mask; step++, i = (i + 1) & c->mask) {
        uint32_t slot = c->table[i];
        if (slot == 0)
            return -1;
        const cache_entry *e = &c->ring[slot - 1];
        if (e->voter == voter && memcmp(e->root, root, 32) == 0 &&
            memcmp(e->sig, sig, 64) == 0)
            return i;
    }
    return -1;
}

/* Remove table position i, shifting later members of its probe run back
 * so that no lookup stops early at the hole. */
static void cache_delete_at(cache_part *c, uint32_t i)
{
    uint32_t j = i;
    for (uint32_t step = 0; step <= c->mask; step++) {
        j = (j + 1) & c->mask;
        if (c->table[j] == 0)
            break;
        const cache_entry *e = &c->ring[c->table[j] - 1];
        uint32_t k = cache_home(c, e->voter, e->root);
        /* Move j into the hole i unless its home k lies cyclically in
         * (i, j]: then it is already reachable from k. */
        int k_in_range = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!k_in_range) {
            c->table[i] = c->table[j];
            i = j;
        }
    }
    c->table[i] = 0;
}

static void cache_insert_locked(cache_part *c, uint16_t voter, const uint8_t root[32],
                                const uint8_t sig[64])
{
    if (cache_find(c, voter, root, sig) >= 0)
        return;
    uint32_t r = c->head;
    if (c->count == c->capacity) { /* evict the oldest: it sits at head */
        const cache_entry *e = &c->ring[r];
        int64_t old = cache_find(c, e->voter, e->root, e->sig);
        assert(old >= 0);
        cache_delete_at(c, (uint32_t)old);
    } else {
        c->count++;
    }
    c->ring[r].voter = voter;
    memcpy(c->ring[r].root, root, 32);
    memcpy(c->ring[r].sig, sig, 64);
    uint32_t i = cache_home(c, voter, root);
    while (c->table[i] != 0) /* ends: at most half the table is in use */
        i = (i + 1) & c->mask;
    c->table[i] = r + 1;
    c->head = (r + 1) % c->capacity;
}

/* The part of c that holds "voter"'s entries (note 4). */
static cache_part *cache_part_of(vl_sigcache *c, uint16_t voter)
{
    return voter >= ORDER_SLOT ? &c->orders : &c->votes;
}

/* 1 when (voter, root, sig) is cached; counts a hit or a miss. */
static int cache_lookup(vl_sigcache *c, uint16_t voter, const uint8_t root[32],
                        const uint8_t sig[64])
{
    int rc = pthread_mutex_lock(&c->lock);
    assert(rc == 0);
    int found = cache_find(cache_part_of(c, voter), voter, root, sig) >= 0;
    rc = pthread_mutex_unlock(&c->lock);
    assert(rc == 0);
    (void)rc;
    if (voter >= ORDER_SLOT)
        atomic_fetch_add(found ? &c->order_hits : &c->order_misses, 1);
    else
        atomic_fetch_add(found ? &c->hits : &c->misses, 1);
    return found;
}

static void cache_insert(vl_sigcache *c, uint16_t voter, const uint8_t root[32],
                         const uint8_t sig[64])
{
    int rc = pthread_mutex_lock(&c->lock);
    assert(rc == 0);
    cache_insert_locked(cache_part_of(c, voter), voter, root, sig);
    rc = pthread_mutex_unlock(&c->lock);
    assert(rc == 0);
    (void)rc;
}

/* ---- votes ------------------------------------------------------------------ */

static vl_err voter_check(const vl_genesis *g, uint16_t voter)
{
    if (voter >= g->node_count || g->nodes[voter].role != VL_ROLE_VOTER)
        return VL_ERR_UNKNOWN_KEY;
    return VL_OK;
}

/* The vote signature of a genesis voter over root, through the cache. */
static vl_err vote_sig_check(const vl_genesis *g, uint16_t voter, const uint8_t root[32],
                             const uint8_t sig[64], vl_sigcache *cache)
{
    if (cache != NULL && cache_lookup(cache, voter, root, sig))
        return VL_OK;
    uint8_t msg[32];
    vl_vote_message(msg, root);
    if (!vl_verify_parsed(sig, msg, g->nodes[voter].pubkey, &g->node_keys[voter]))
        return VL_ERR_BAD_SIG;
    if (cache != NULL)
        cache_insert(cache, voter, root, sig);
    return VL_OK;
}

vl_err vl_batch_vote_verify(const vl_genesis *g, const vl_batch_vote *v, vl_sigcache *cache)
{
    assert(g != NULL && v != NULL);
    vl_err e = voter_check(g, v->voter);
    if (e != VL_OK)
        return e;
    return vote_sig_check(g, v->voter, v->root, v->sig, cache);
}

/* ---- orders ------------------------------------------------------------------- */

/* pub parsed, from the key table of c or parsed now (and then stored);
 * written to *out.  Returns out, or NULL when pub is not a valid key (the
 * verification then fails on its own). */
static const vl_parsed_pubkey *key_get(vl_sigcache *c, const uint8_t pub[32],
                                       vl_parsed_pubkey *out)
{
    key_part *k = &c->keys;
    uint64_t x = k->seed;
    for (int i = 0; i < 32; i += 8) {
        uint64_t w = 0;
        for (int j = 0; j < 8; j++)
            w |= (uint64_t)pub[i + j] << (8 * j);
        x = (x ^ w) * 0x9e3779b97f4a7c15u;
        x ^= x >> 29;
    }
    uint32_t i = (uint32_t)(x >> 32) & k->mask;
    int rc = pthread_mutex_lock(&c->lock);
    assert(rc == 0);
    bool hit = k->slots[i].valid == 1 && memcmp(k->slots[i].raw, pub, 32) == 0;
    if (hit)
        *out = k->slots[i];
    rc = pthread_mutex_unlock(&c->lock);
    assert(rc == 0);
    atomic_fetch_add(hit ? &c->key_hits : &c->key_misses, 1);
    if (hit)
        return out;
    if (!vl_parsed_pubkey_set(out, pub))
        return NULL;
    rc = pthread_mutex_lock(&c->lock);
    assert(rc == 0);
    k->slots[i] = *out;
    rc = pthread_mutex_unlock(&c->lock);
    assert(rc == 0);
    (void)rc;
    return out;
}

/* Signature `slot` of an order by key `pub` over its hash, through the
 * cache (note 4); `parsed` is pub's genesis key parsed, or NULL (a holder). */
static bool order_sig_check(const uint8_t order_hash[32], unsigned slot, const uint8_t sig[64],
                            const uint8_t pub[32], const vl_parsed_pubkey *parsed,
                            vl_sigcache *cache)
{
    uint16_t tag = (uint16_t)(ORDER_SLOT + slot);
    if (cache != NULL && cache_lookup(cache, tag, order_hash, sig))
        return true;
    vl_parsed_pubkey holder;
    if (parsed == NULL && cache != NULL) /* note 7 */
        parsed = key_get(cache, pub, &holder);
    if (!vl_verify_parsed(sig, order_hash, pub, parsed))
        return false;
    if (cache != NULL)
        cache_insert(cache, tag, order_hash, sig);
    return true;
}

vl_err vl_order_verify(const vl_genesis *g, const vl_order *o, const uint8_t order_hash[32])
{
    return vl_order_verify_cached(g, o, order_hash, NULL);
}

/* The checks of an order that do not involve its signatures; *issuer and
 * *provider get the genesis indexes (provider: REDEEM only). */
static vl_err order_members_check(const vl_genesis *g, const vl_order *o, int *issuer,
                                  int *provider)
{
    unsigned want = vl_order_sig_count(o->kind);
    if (want == 0)
        return VL_ERR_TYPE;
    if (o->sig_count != want)
        return VL_ERR_NONCANONICAL;
    if (memcmp(o->network_id, g->network_id, 32) != 0)
        return VL_ERR_WRONG_NETWORK;
    if ((*issuer = vl_genesis_issuer_by_pubkey(g, o->issuer)) < 0)
        return VL_ERR_UNKNOWN_ISSUER;
    *provider = -1;
    if (o->kind == VL_ORDER_REDEEM &&
        (*provider = vl_genesis_provider_by_pubkey(g, o->provider)) < 0)
        return VL_ERR_UNKNOWN_PROVIDER;
    return VL_OK;
}

vl_err vl_order_verify_cached(const vl_genesis *g, const vl_order *o,
                              const uint8_t order_hash[32], vl_sigcache *cache)
{
    assert(g != NULL && o != NULL && order_hash != NULL);
    int issuer, provider;
    vl_err e = order_members_check(g, o, &issuer, &provider);
    if (e != VL_OK)
        return e;
    if (o->kind == VL_ORDER_REDEEM) {
        if (!order_sig_check(order_hash, 0, o->sigs[0], o->holder, NULL, cache) ||
            !order_sig_check(order_hash, 1, o->sigs[1], o->provider,
                             &g->provider_keys[provider], cache))
            return VL_ERR_BAD_SIG;
        return VL_OK;
    }
    /* ISSUE and REVOKE: the issuer alone. */
    return order_sig_check(order_hash, 0, o->sigs[0], o->issuer, &g->issuer_keys[issuer], cache)
               ? VL_OK
               : VL_ERR_BAD_SIG;
}

vl_err vl_order_verify_slot(const vl_genesis *g, const vl_order *o, const uint8_t order_hash[32],
                            unsigned slot)
{
    assert(g != NULL && o != NULL && order_hash != NULL);
    int issuer, provider;
    vl_err e = order_members_check(g, o, &issuer, &provider);
    if (e != VL_OK)
        return e;
    assert(slot < o->sig_count); /* the members check made it vl_order_sig_count */
    bool ok;
    if (o->kind != VL_ORDER_REDEEM)
        ok = order_sig_check(order_hash, 0, o->sigs[0], o->issuer, &g->issuer_keys[issuer], NULL);
    else if (slot == 0)
        ok = order_sig_check(order_hash, 0, o->sigs[0], o->holder, NULL, NULL);
    else
        ok = order_sig_check(order_hash, 1, o->sigs[1], o->provider, &g->provider_keys[provider],
                             NULL);
    return ok ? VL_OK : VL_ERR_BAD_SIG;
}

/* ---- certificates ------------------------------------------------------------- */

/* Voters and paths of every vote (no signatures yet); roots[i] gets vote
 * i's root. */
static vl_err cert_votes_check(const vl_genesis *g, const vl_cert *c,
                               const uint8_t order_hash[32], uint8_t (*roots)[32])
{
    uint8_t leaf[32];
    vl_vote_leaf(leaf, order_hash, &c->order);
    for (uint32_t i = 0; i < c->vote_count; i++) {
        const vl_cert_vote *v = &c->votes[i];
        if (i > 0 && v->voter <= c->votes[i - 1].voter)
            return v->voter == c->votes[i - 1].voter ? VL_ERR_DUP_SIGNER : VL_ERR_UNSORTED;
        vl_err e = voter_check(g, v->voter);
        if (e != VL_OK)
            return e;
        if (v->path_len > VL_MAX_MERKLE_DEPTH)
            return VL_ERR_BAD_PATH;
        e = vl_merkle_root_from_path(roots[i], leaf, v->leaf_index, v->leaf_count,
                                     (const uint8_t(*)[32])v->path, v->path_len);
        if (e != VL_OK)
            return VL_ERR_BAD_PATH;
    }
    return VL_OK;
}

/* How cert_verify treats the order's signatures. */
enum { SIGS_VERIFY, SIGS_OWN, SIGS_VOUCHED };

/* vl_cert_verify, vl_cert_verify_own and vl_cert_verify_vouched: SIGS_VERIFY
 * checks the order's signatures, SIGS_OWN compares them with own's (note
 * 6), SIGS_VOUCHED leaves them to the quorum (note 8). */
static vl_err cert_verify(const vl_genesis *g, const vl_cert *c, vl_sigcache *cache, int sigs,
                          const vl_own_order *own, uint8_t order_hash_out[32])
{
    assert(g != NULL && c != NULL && (sigs == SIGS_OWN) == (own != NULL));
    if (c->vote_count > VL_MAX_NODES)
        return VL_ERR_LIMIT;
    uint8_t order_hash[32], roots[VL_MAX_NODES][32];
    vl_order_hash(order_hash, &c->order);
    vl_err e;
    int issuer, provider;
    if (sigs == SIGS_VERIFY) {
        e = vl_order_verify_cached(g, &c->order, order_hash, cache);
    } else if (sigs == SIGS_VOUCHED) {
        e = order_members_check(g, &c->order, &issuer, &provider);
    } else {
        e = order_members_check(g, &c->order, &issuer, &provider);
        if (e == VL_OK && (memcmp(order_hash, own->hash, 32) != 0 ||
                           c->order.sig_count != own->sig_count ||
                           memcmp(c->order.sigs, own->sigs, 64u * own->sig_count) != 0))
            e = VL_ERR_CORRUPT; /* not the order we submitted, or not its signatures */
    }
    if (e == VL_OK)
        e = cert_votes_check(g, c, order_hash, roots);
    /* Distinct voters (checked above), so the count is the quorum test. */
    if (e == VL_OK && c->vote_count < g->quorum)
        e = VL_ERR_QUORUM;
    for (uint32_t i = 0; e == VL_OK && i < c->vote_count; i++)
        e = vote_sig_check(g, c->votes[i].voter, roots[i], c->votes[i].sig, cache);
    if (e == VL_OK && order_hash_out != NULL)
        memcpy(order_hash_out, order_hash, 32);
    return e;
}

vl_err vl_cert_verify(const vl_genesis *g, const vl_cert *c, vl_sigcache *cache,
                      uint8_t order_hash_out[32])
{
    return cert_verify(g, c, cache, SIGS_VERIFY, NULL, order_hash_out);
}

vl_err vl_cert_verify_vouched(const vl_genesis *g, const vl_cert *c, vl_sigcache *cache,
                              uint8_t order_hash_out[32])
{
    return cert_verify(g, c, cache, SIGS_VOUCHED, NULL, order_hash_out);
}

void vl_own_order_set(vl_own_order *own, const vl_order *o, const uint8_t order_hash[32])
{
    assert(own != NULL && o != NULL && order_hash != NULL && o->sig_count <= 2);
    memset(own, 0, sizeof *own);
    memcpy(own->hash, order_hash, 32);
    own->sig_count = o->sig_count;
    memcpy(own->sigs, o->sigs, 64u * o->sig_count);
}

vl_err vl_cert_verify_own(const vl_genesis *g, const vl_cert *c, vl_sigcache *cache,
                          const vl_own_order *own, uint8_t order_hash_out[32])
{
    assert(own != NULL);
    return cert_verify(g, c, cache, SIGS_OWN, own, order_hash_out);
}

/* ---- checkpoints ------------------------------------------------------------- */

vl_err vl_checkpoint_verify(const vl_genesis *g, const vl_checkpoint *cp)
{
    assert(g != NULL && cp != NULL);
    if (memcmp(cp->network_id, g->network_id, 32) != 0)
        return VL_ERR_WRONG_NETWORK;
    if (cp->node >= g->node_count)
        return VL_ERR_UNKNOWN_KEY;
    uint8_t msg[32];
    vl_checkpoint_message(msg, cp);
    return vl_verify_parsed(cp->sig, msg, g->nodes[cp->node].pubkey, &g->node_keys[cp->node])
               ? VL_OK
               : VL_ERR_BAD_SIG;
}

/* ---- signing helpers ----------------------------------------------------------- */

void vl_order_sign_slot(vl_order *o, unsigned slot, const vl_keypair *kp,
                        const uint8_t aux_rand[32])
{
    assert(o != NULL && kp != NULL);
    unsigned count = vl_order_sig_count(o->kind);
    assert(slot < count);
    uint8_t hash[32];
    vl_order_hash(hash, o); /* excludes sig_count and the signatures */
    o->sig_count = (uint8_t)count;
    vl_sign(o->sigs[slot], kp, hash, aux_rand);
}

void vl_checkpoint_sign(vl_checkpoint *cp, const vl_keypair *kp, const uint8_t aux_rand[32])
{
    assert(cp != NULL && kp != NULL);
    uint8_t msg[32];
    vl_checkpoint_message(msg, cp);
    vl_sign(cp->sig, kp, msg, aux_rand);
}
