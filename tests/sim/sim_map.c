/* sim_map.c - open addressing (linear probing) keyed by (32 bytes, u64),
 * and the byte-buffer helpers.  The map doubles at half load and refuses to
 * grow past SIM_MAP_MAX_CAP, so every probe loop is bounded by cap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void *sim_xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL) {
        fprintf(stderr, "vl_sim: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *sim_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    if (p == NULL) {
        fprintf(stderr, "vl_sim: out of memory (%zu x %zu bytes)\n", n, size);
        abort();
    }
    return p;
}

sim_buf sim_buf_copy(const uint8_t *p, size_t len)
{
    sim_buf b = {sim_xmalloc(len), len};
    if (len > 0)
        memcpy(b.p, p, len);
    return b;
}

void sim_buf_free(sim_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

sim_key sim_key_of(const uint8_t id[32], uint64_t n)
{
    sim_key k;
    memcpy(k.id, id, 32);
    k.n = n;
    return k;
}

static uint32_t slot_of(const sim_key *k, uint32_t cap)
{
    uint64_t h;
    memcpy(&h, k->id, 8);
    h ^= k->id[31];
    h ^= k->n * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (uint32_t)h & (cap - 1);
}

static bool key_eq(const sim_key *a, const sim_key *b)
{
    return a->n == b->n && memcmp(a->id, b->id, 32) == 0;
}

static bool find(const sim_map *m, const sim_key *k, uint32_t *pos)
{
    uint32_t i = slot_of(k, m->cap);
    for (uint32_t probe = 0; probe < m->cap; probe++) {
        if (!m->used[i]) {
            *pos = i;
            return false;
        }
        if (key_eq(&m->keys[i], k)) {
            *pos = i;
            return true;
        }
        i = (i + 1) & (m->cap - 1);
    }
    *pos = m->cap; /* full: cannot happen at half load */
    return false;
}

static bool grow(sim_map *m)
{
    uint32_t ncap = m->cap == 0 ? 64 : m->cap * 2;
    if (ncap > SIM_MAP_MAX_CAP)
        return false;
    sim_map n = {calloc(ncap, sizeof(sim_key)), calloc(ncap, sizeof(uint64_t)), calloc(ncap, 1),
                 ncap, 0};
    if (n.keys == NULL || n.vals == NULL || n.used == NULL) {
        sim_map_free(&n);
        return false;
    }
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        uint32_t pos;
        find(&n, &m->keys[i], &pos);
        n.keys[pos] = m->keys[i];
        n.vals[pos] = m->vals[i];
        n.used[pos] = 1;
        n.count++;
    }
    sim_map_free(m);
    *m = n;
    return true;
}

bool sim_map_put(sim_map *m, const sim_key *k, uint64_t val)
{
    if ((m->count + 1) * 2 > m->cap && !grow(m))
        return false;
    uint32_t pos;
    if (!find(m, k, &pos)) {
        if (pos == m->cap)
            return false;
        m->keys[pos] = *k;
        m->used[pos] = 1;
        m->count++;
    }
    m->vals[pos] = val;
    return true;
}

bool sim_map_get(const sim_map *m, const sim_key *k, uint64_t *val)
{
    if (m->cap == 0)
        return false;
    uint32_t pos;
    if (!find(m, k, &pos))
        return false;
    if (val != NULL)
        *val = m->vals[pos];
    return true;
}

void sim_map_free(sim_map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}
