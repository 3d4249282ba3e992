/* rec_verify.c - voucher-reconcile's verification passes (rec.h).
 *
 * Design notes
 *  1. Three passes, each linear in the entries:
 *     A (a pool job per source) walks one node's log: strict decode of
 *       every entry, its certificate hash and entry hash, the chain (index
 *       i+1, prev_hash = hash of entry i, the network id for entry 1), and
 *       every checkpoint (signature by the source's node, and the entry
 *       hash at its log index).  A break is reported once where it happens
 *       and the walk re-anchors on the entry's own hash, so one bad entry
 *       is one error, not a cascade.
 *     B (main thread) merges the sources' certificate hashes into one
 *       table: a certificate held by five nodes is one rec_cert.
 *     C (every core) decodes and verifies each distinct certificate once
 *       (vl_cert_verify), in chunks of CHUNK consecutive certificates so
 *       that the certificates of one batch vote tend to meet the same
 *       thread's signature cache (one cache per thread: no lock contention,
 *       and a batch root is checked once per thread, not per certificate).
 *  2. Nothing here allocates per entry except the wire decoder's own
 *     scratch; the per-source arrays are sized once from the entry count.
 *  3. Progress (--progress, or stderr a tty): the main thread wakes every
 *     PROGRESS_MS while pass C runs and rewrites one stderr line on a tty,
 *     or writes a line every PROGRESS_LINE_S seconds (and one at the end)
 *     to a file or pipe.
 *  4. Entry times.  An entry's time_ms is the node's unsigned note (the
 *     entry hash does not cover it), yet it decides the month a redemption
 *     counts in.  times_check (pass A) holds each source's times to what
 *     its node signed (a checkpoint at time T with L entries: entries up to
 *     L by T, later ones after T) and to the time of the entry before,
 *     each with REC_TIME_SLACK_MS for a clock stepping back; a time outside
 *     is the source's error and is taken as the nearest bound.  After the
 *     merge, median_times gives each certificate the lower median of its
 *     sources' times, not the earliest: the earliest let one lying source
 *     move any redemption to 2020, as an auditor's walk showed.
 */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rec.h"
#include "vl_crypto.h"
#include "vl_time.h"

#define CHUNK 256u
#define PROGRESS_MS 1000u
#define PROGRESS_LINE_S 5.0
/* (voter, root) and order signature entries cached per thread. */
#define THREAD_CACHE_ENTRIES (1u << 16)

/* ---- the hash table --------------------------------------------------------------- */

/* The first 8 bytes of a hash are uniform; a slot key mixes its seq in, or
 * every slot of one account would start its probe at the same place. */
static uint64_t key_bits(const rec_table *t, const uint8_t *key)
{
    uint64_t h, seq;
    memcpy(&h, key, 8);
    if (t->key_len == 40) {
        memcpy(&seq, key + 32, 8);
        h ^= (seq + 1) * 0x9E3779B97F4A7C15ull;
    }
    return h;
}

bool rec_table_init(rec_table *t, uint64_t expect, size_t key_len)
{
    assert(key_len == 32 || key_len == 40);
    uint64_t size = 64;
    while (size < expect * 2)
        size *= 2;
    t->slots = calloc(size, sizeof *t->slots);
    t->mask = size - 1;
    t->count = 0;
    t->key_len = key_len;
    return t->slots != NULL;
}

void rec_table_free(rec_table *t)
{
    free(t->slots);
    t->slots = NULL;
}

uint32_t rec_table_find(const rec_table *t, const uint8_t *key, rec_key_fn key_of,
                        const void *ctx)
{
    uint8_t buf[40];
    for (uint64_t i = key_bits(t, key) & t->mask, n = 0; n <= t->mask;
         i = (i + 1) & t->mask, n++) {
        uint32_t v = t->slots[i];
        if (v == 0)
            return UINT32_MAX;
        if (memcmp(key_of(ctx, v - 1, buf), key, t->key_len) == 0)
            return v - 1;
    }
    return UINT32_MAX;
}

void rec_table_put(rec_table *t, const uint8_t *key, uint32_t id)
{
    assert(t->count * 2 < t->mask + 1); /* sized for it by rec_table_init */
    uint64_t i = key_bits(t, key) & t->mask;
    while (t->slots[i] != 0)
        i = (i + 1) & t->mask;
    t->slots[i] = id + 1;
    t->count++;
}

void rec_error_add(rec_source *s, uint64_t entry, vl_err code, const char *fmt, ...)
{
    s->errors_total++;
    s->verified = false;
    if (s->error_count >= REC_MAX_ERRORS_LISTED)
        return;
    rec_error *e = &s->errors[s->error_count++];
    e->entry = entry;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

/* ---- the thread pool: n workers run fn(arg, worker index) -------------------------- */

typedef struct {
    void (*fn)(void *arg, unsigned worker);
    void *arg;
    unsigned index;
} pool_job;

static void *pool_main(void *p)
{
    pool_job *j = p;
    j->fn(j->arg, j->index);
    return NULL;
}

/* Run fn on `threads` threads (the calling thread waits, calling tick
 * every PROGRESS_MS if not NULL).  false if no thread could be started;
 * fewer threads than asked is fine (the work is shared by an atomic
 * counter, not pre-split). */
static bool pool_run(unsigned threads, void (*fn)(void *, unsigned), void *arg,
                     void (*tick)(void *), _Atomic unsigned *running)
{
    pthread_t tid[256];
    pool_job jobs[256];
    unsigned started = 0;
    if (threads > 256)
        threads = 256;
    atomic_store(running, threads);
    for (unsigned i = 0; i < threads; i++) {
        jobs[i] = (pool_job){.fn = fn, .arg = arg, .index = i};
        if (pthread_create(&tid[i], NULL, pool_main, &jobs[i]) != 0)
            break;
        started++;
    }
    atomic_fetch_sub(running, threads - started);
    if (started == 0)
        return false;
    for (unsigned guard = 0; tick != NULL && atomic_load(running) > 0 && guard < UINT32_MAX;
         guard++) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
        nanosleep(&ts, NULL);
        if (guard % (PROGRESS_MS / 50) == PROGRESS_MS / 50 - 1)
            tick(arg);
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    return true;
}

/* ---- pass A: one source's chain ----------------------------------------------------- */

typedef struct {
    rec_run *r;
    _Atomic unsigned next;
    _Atomic unsigned running;
    _Atomic bool nomem;
} chain_pass;

/* Checkpoints: decode, signature, node; then pick the highest log index. */
static void checkpoints_check(rec_run *r, rec_source *s, vl_checkpoint *cps, bool *good)
{
    s->cp_best = -1;
    for (uint32_t i = 0; i < s->checkpoint_count; i++) {
        vl_checkpoint *cp = &cps[i];
        vl_err e = vl_checkpoint_decode(s->checkpoints[i].buf, s->checkpoints[i].len, cp);
        if (e == VL_OK)
            e = vl_checkpoint_verify(r->g, cp);
        atomic_fetch_add(&r->signatures, 1);
        if (e == VL_OK && s->node >= 0 && cp->node != (uint16_t)s->node)
            e = VL_ERR_WRONG_SIGNER;
        good[i] = e == VL_OK;
        if (e != VL_OK)
            rec_error_add(s, 0, e, "checkpoint %u does not verify against the genesis: %s", i + 1,
                          e == VL_ERR_WRONG_SIGNER ? "signed by another node"
                                                   : vl_strerror(e));
        else if (s->cp_best < 0 || cp->log_index > cps[s->cp_best].log_index)
            s->cp_best = (int)i;
    }
    s->cp_verified = s->cp_best >= 0;
    s->cp_extended = s->cp_best >= 0;
    if (s->cp_best >= 0) {
        s->cp_log_index = cps[s->cp_best].log_index;
        memcpy(s->cp_entry_hash, cps[s->cp_best].entry_hash, 32);
        memcpy(s->cp_state_digest, cps[s->cp_best].state_digest, 32);
    }
}

static void time_text(char *out, size_t size, uint64_t time_ms)
{
    time_t t = (time_t)(time_ms / 1000u);
    struct tm tm;
    if (time_ms / 1000u > REC_MAX_TIME_S || gmtime_r(&t, &tm) == NULL)
        snprintf(out, size, "%" PRIu64 " ms", time_ms);
    else
        strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Note 4: an entry's time_ms is the node's unsigned note.  Check it
 * against what the node signed (a checkpoint says: at time T it held L
 * entries) and against its earlier entries' times; a time outside that
 * window is an error of the source and is taken as the nearest bound. */
static void times_check(rec_source *s, const vl_checkpoint *cps, const bool *good)
{
    char have[40], bound[40];
    uint64_t floor = 0; /* the last time that held, less the slack */
    for (uint64_t i = 0; i < s->entry_count; i++) {
        uint64_t t = s->time_of[i], lo = floor, hi = REC_MAX_TIME_S * 1000u;
        if (s->entries[i].buf == NULL)
            continue; /* did not decode: reported */
        for (uint32_t k = 0; k < s->checkpoint_count; k++) {
            if (!good[k])
                continue;
            if (cps[k].log_index >= i + 1 && cps[k].time_ms < hi)
                hi = cps[k].time_ms; /* it held this entry at its time */
            if (cps[k].log_index < i + 1 && cps[k].time_ms > REC_TIME_SLACK_MS &&
                cps[k].time_ms - REC_TIME_SLACK_MS > lo)
                lo = cps[k].time_ms - REC_TIME_SLACK_MS; /* it did not hold it yet */
        }
        /* the node's clock may step back a little between two readings */
        hi = hi < REC_MAX_TIME_S * 1000u - REC_TIME_SLACK_MS ? hi + REC_TIME_SLACK_MS
                                                              : REC_MAX_TIME_S * 1000u;
        if (lo > hi)
            lo = hi;
        if (t < lo || t > hi) {
            uint64_t taken = t < lo ? lo : hi;
            time_text(have, sizeof have, t);
            time_text(bound, sizeof bound, taken);
            rec_error_add(s, i + 1, VL_ERR_RANGE,
                          "entry %" PRIu64 "'s time (%s) is %s what the node's own signed "
                          "checkpoints and earlier entries allow: taken as %s",
                          i + 1, have, t < lo ? "before" : "after", bound);
            s->time_of[i] = taken;
            continue; /* the next entries are judged by the last time that held */
        }
        floor = t > REC_TIME_SLACK_MS ? t - REC_TIME_SLACK_MS : 0;
    }
}

/* The chain of entry i (0-based); prev is updated to this entry's hash. */
static void chain_entry(rec_source *s, uint64_t i, uint8_t prev[32], uint64_t *expect,
                        uint8_t cert_hash[32], bool *chain_ok)
{
    vl_entry e;
    uint8_t eh[32];
    vl_err rc = vl_entry_decode(s->entries[i].buf, s->entries[i].len, &e);
    if (rc != VL_OK) {
        rec_error_add(s, i + 1, rc, "entry %" PRIu64 " does not decode: %s", i + 1,
                      vl_strerror(rc));
        s->cert_of[i] = UINT32_MAX;
        s->entries[i].buf = NULL; /* pass B skips it */
        *chain_ok = false;
        memset(cert_hash, 0, 32);
        return;
    }
    vl_cert_hash(cert_hash, e.cert.ptr, e.cert.len);
    vl_entry_hash(eh, e.index, e.prev_hash, cert_hash);
    s->time_of[i] = e.time_ms;
    s->entries[i].buf = e.cert.ptr; /* from now on: the certificate */
    s->entries[i].len = e.cert.len;
    if (e.index != *expect) {
        rec_error_add(s, i + 1, VL_ERR_RANGE, "entry %" PRIu64 " carries index %" PRIu64, i + 1,
                      e.index);
        *chain_ok = false;
    } else if (memcmp(e.prev_hash, prev, 32) != 0) {
        rec_error_add(s, i + 1, VL_ERR_CORRUPT,
                      "broken hash chain: entry %" PRIu64 "'s previous hash is not the hash of "
                      "entry %" PRIu64,
                      i + 1, i);
        *chain_ok = false;
    }
    if (*chain_ok)
        s->chain_ok_to = i + 1;
    memcpy(prev, eh, 32);
    *expect = e.index + 1; /* re-anchor on the entry's own index, as on its hash */
}

static void chain_source(rec_run *r, rec_source *s, uint8_t (*hashes)[32])
{
    vl_checkpoint cps[REC_MAX_CHECKPOINTS];
    bool good[REC_MAX_CHECKPOINTS] = {false};
    checkpoints_check(r, s, cps, good);
    uint8_t prev[32];
    bool chain_ok = true;
    memcpy(prev, r->g->network_id, 32);
    for (uint32_t k = 0; k < s->checkpoint_count; k++) /* signed before the first entry */
        if (good[k] && cps[k].log_index == 0 && memcmp(cps[k].entry_hash, prev, 32) != 0) {
            rec_error_add(s, 0, VL_ERR_FORK, "the node's checkpoint at entry 0 does not name the "
                                             "network id as its head");
            if ((int)k == s->cp_best)
                s->cp_extended = false;
        }
    uint64_t expect = 1;
    for (uint64_t i = 0; i < s->entry_count; i++) {
        chain_entry(s, i, prev, &expect, hashes[i], &chain_ok);
        for (uint32_t k = 0; k < s->checkpoint_count; k++)
            if (good[k] && cps[k].log_index == i + 1 && memcmp(cps[k].entry_hash, prev, 32) != 0) {
                rec_error_add(s, i + 1, VL_ERR_FORK,
                              "the log does not extend the node's own signed checkpoint: entry "
                              "%" PRIu64 " differs from the one it signed",
                              i + 1);
                if ((int)k == s->cp_best)
                    s->cp_extended = false;
            }
    }
    for (uint32_t k = 0; k < s->checkpoint_count; k++)
        if (good[k] && cps[k].log_index > s->entry_count) {
            rec_error_add(s, 0, VL_ERR_FORK,
                          "the log (%" PRIu64 " entries) does not extend the node's own signed "
                          "checkpoint at entry %" PRIu64,
                          s->entry_count, cps[k].log_index);
            if ((int)k == s->cp_best)
                s->cp_extended = false;
        }
    memcpy(s->head_hash, prev, 32);
    times_check(s, cps, good);
}

static void chain_worker(void *arg, unsigned worker)
{
    chain_pass *p = arg;
    (void)worker;
    for (;;) {
        unsigned i = atomic_fetch_add(&p->next, 1);
        if (i >= p->r->src_count)
            break;
        rec_source *s = &p->r->src[i];
        if (s->loaded && s->entry_count > 0) {
            s->cert_of = malloc(s->entry_count * sizeof *s->cert_of);
            s->time_of = calloc(s->entry_count, sizeof *s->time_of);
            uint8_t(*h)[32] = malloc(s->entry_count * 32);
            if (s->cert_of == NULL || s->time_of == NULL || h == NULL) {
                free(h);
                atomic_store(&p->nomem, true);
                continue;
            }
            s->cert_hashes = h;
            chain_source(p->r, s, h);
        } else if (s->loaded) {
            chain_source(p->r, s, NULL);
        }
    }
    atomic_fetch_sub(&p->running, 1);
}

/* ---- pass B: the distinct certificates ---------------------------------------------- */

static const uint8_t *cert_key(const void *ctx, uint32_t id, uint8_t *buf)
{
    (void)buf;
    return ((const rec_run *)ctx)->certs[id].cert_hash;
}

static bool cert_append(rec_run *r, const rec_blob *b, const uint8_t hash[32], uint64_t time_ms)
{
    if (r->cert_count == r->cert_cap) {
        uint32_t cap = r->cert_cap == 0 ? 1024u : r->cert_cap * 2u;
        rec_cert *n = cap > r->cert_cap ? realloc(r->certs, (size_t)cap * sizeof *n) : NULL;
        if (n == NULL)
            return false;
        r->certs = n;
        r->cert_cap = cap;
    }
    rec_cert *c = &r->certs[r->cert_count];
    memset(c, 0, sizeof *c);
    c->raw = b->buf;
    c->len = (uint32_t)b->len;
    memcpy(c->cert_hash, hash, 32);
    c->time_ms = time_ms; /* until median_times */
    c->status = VL_ERR_USAGE; /* not verified yet */
    c->order_id = UINT32_MAX;
    rec_table_put(&r->by_cert_hash, hash, r->cert_count);
    r->cert_count++;
    return true;
}

static bool merge(rec_run *r)
{
    uint64_t total = 0;
    for (uint32_t k = 0; k < r->src_count; k++)
        total += r->src[k].loaded ? r->src[k].entry_count : 0;
    if (total >= UINT32_MAX / 4 || !rec_table_init(&r->by_cert_hash, total, 32))
        return false;
    for (uint32_t k = 0; k < r->src_count; k++) {
        rec_source *s = &r->src[k];
        for (uint64_t i = 0; s->cert_hashes != NULL && i < s->entry_count; i++) {
            if (s->entries[i].buf == NULL) /* did not decode */
                continue;
            uint32_t id = rec_table_find(&r->by_cert_hash, s->cert_hashes[i], cert_key, r);
            if (id == UINT32_MAX) {
                if (!cert_append(r, &s->entries[i], s->cert_hashes[i], s->time_of[i]))
                    return false;
                id = r->cert_count - 1;
            }
            s->cert_of[i] = id;
        }
        free(s->cert_hashes);
        s->cert_hashes = NULL;
    }
    return true;
}

/* Note 4: a certificate's time is the lower median of the times its
 * sources give (each checked by times_check): one source cannot move it
 * outside the honest sources' times while they are the majority of those
 * holding it.  Counting sort by certificate: 8 bytes an entry, 8 a
 * certificate, once. */
static bool median_times(rec_run *r)
{
    uint32_t *at = calloc((size_t)r->cert_count + 1, sizeof *at);
    uint32_t *fill = malloc(((size_t)r->cert_count + 1) * sizeof *fill);
    uint64_t total = 0, *times = NULL;
    for (uint32_t k = 0; at != NULL && k < r->src_count; k++)
        for (uint64_t i = 0; r->src[k].cert_of != NULL && i < r->src[k].entry_count; i++)
            if (r->src[k].entries[i].buf != NULL) {
                at[r->src[k].cert_of[i] + 1]++;
                total++;
            }
    if (at != NULL && fill != NULL)
        times = malloc((size_t)(total + 1) * sizeof *times);
    if (times == NULL) {
        free(at);
        free(fill);
        return false;
    }
    for (uint32_t id = 0; id < r->cert_count; id++)
        at[id + 1] += at[id];
    memcpy(fill, at, ((size_t)r->cert_count + 1) * sizeof *fill);
    for (uint32_t k = 0; k < r->src_count; k++)
        for (uint64_t i = 0; r->src[k].cert_of != NULL && i < r->src[k].entry_count; i++)
            if (r->src[k].entries[i].buf != NULL)
                times[fill[r->src[k].cert_of[i]]++] = r->src[k].time_of[i];
    for (uint32_t id = 0; id < r->cert_count; id++) {
        uint64_t *t = times + at[id];
        uint32_t n = at[id + 1] - at[id];
        for (uint32_t a = 1; a < n; a++) /* a few sources: insertion sort */
            for (uint32_t b = a; b > 0 && t[b - 1] > t[b]; b--) {
                uint64_t x = t[b];
                t[b] = t[b - 1];
                t[b - 1] = x;
            }
        if (n > 0)
            r->certs[id].time_ms = t[(n - 1) / 2];
    }
    free(times);
    free(at);
    free(fill);
    return true;
}

/* ---- pass C: every distinct certificate, once, on every core ------------------------ */

typedef struct {
    rec_run *r;
    _Atomic uint64_t next;
    _Atomic unsigned running;
    _Atomic bool nomem;
    double started;
    double last_line; /* seconds after started */
} verify_pass;

/* *order_sigs counts the order signatures checked (the cache counts the
 * vote signatures it had to check: vl_sigcache_misses). */
static void verify_one(rec_run *r, rec_cert *rc, vl_cert *c, vl_sigcache *cache,
                       uint64_t *order_sigs)
{
    vl_err e = vl_cert_decode(rc->raw, rc->len, c);
    if (e == VL_OK) {
        *order_sigs += vl_order_sig_count(c->order.kind);
        e = vl_cert_verify(r->g, c, cache, rc->order_hash);
    }
    rc->status = e;
    if (e != VL_OK)
        return;
    const vl_order *o = &c->order;
    rc->kind = o->kind;
    vl_order_account(rc->account, o);
    rc->seq = o->seq;
    rc->issuer = vl_genesis_issuer_by_pubkey(r->g, o->issuer);
    rc->provider = -1;
    if (o->kind == VL_ORDER_REDEEM) {
        rc->provider = vl_genesis_provider_by_pubkey(r->g, o->provider);
        rc->amount_fen = o->amount_fen;
        rc->gpu_milli_hours = o->gpu_milli_hours;
        memcpy(rc->holder, o->holder, 32);
    }
    if (o->kind != VL_ORDER_ISSUE)
        rc->serial = o->serial;
}

static void verify_worker(void *arg, unsigned worker)
{
    verify_pass *p = arg;
    rec_run *r = p->r;
    (void)worker;
    vl_cert *c = malloc(sizeof *c);
    vl_sigcache *cache = vl_sigcache_new(THREAD_CACHE_ENTRIES);
    uint64_t order_sigs = 0;
    if (c == NULL || cache == NULL) {
        atomic_store(&p->nomem, true);
    } else {
        for (;;) {
            uint64_t start = atomic_fetch_add(&p->next, CHUNK);
            if (start >= r->cert_count)
                break;
            uint64_t end = start + CHUNK < r->cert_count ? start + CHUNK : r->cert_count;
            for (uint64_t i = start; i < end; i++)
                verify_one(r, &r->certs[i], c, cache, &order_sigs);
            atomic_fetch_add(&r->verified_done, end - start);
        }
        atomic_fetch_add(&r->signatures, order_sigs + vl_sigcache_misses(cache));
    }
    vl_sigcache_destroy(&cache);
    free(c);
    atomic_fetch_sub(&p->running, 1);
}

static void verify_tick(void *arg)
{
    verify_pass *p = arg;
    rec_run *r = p->r;
    if (!r->progress)
        return;
    uint64_t done = atomic_load(&r->verified_done);
    double t = vl_seconds(CLOCK_MONOTONIC) - p->started;
    if (!r->progress_tty && done < r->cert_count && t < p->last_line + PROGRESS_LINE_S)
        return;
    p->last_line = t;
    fprintf(stderr, "%svoucher-reconcile: verified %" PRIu64 " of %" PRIu32
                    " certificates (%.0f%%, %.0f/s)%s",
            r->progress_tty ? "\r" : "", done, r->cert_count,
            r->cert_count > 0 ? 100.0 * (double)done / r->cert_count : 100.0,
            t > 0 ? (double)done / t : 0.0, r->progress_tty ? "   " : "\n");
    fflush(stderr);
}

bool rec_verify_all(rec_run *r)
{
    chain_pass a = {.r = r};
    double a_started = vl_seconds(CLOCK_MONOTONIC), a_cpu = vl_seconds(CLOCK_PROCESS_CPUTIME_ID);
    unsigned threads = r->threads < r->src_count ? r->threads : r->src_count;
    if (threads > 0 && !pool_run(threads, chain_worker, &a, NULL, &a.running)) {
        fprintf(stderr, "voucher-reconcile: cannot start a thread\n");
        return false;
    }
    if (atomic_load(&a.nomem) || !merge(r) || !median_times(r)) {
        fprintf(stderr, "voucher-reconcile: out of memory\n");
        return false;
    }
    verify_pass c = {.r = r, .started = vl_seconds(CLOCK_MONOTONIC)};
    double cpu_b = vl_seconds(CLOCK_PROCESS_CPUTIME_ID);
    if (r->progress)
        fprintf(stderr,
                "voucher-reconcile: %" PRIu32 " source(s) chained, %" PRIu32
                " distinct certificates (%.2f s, %.2f s of CPU)\n",
                r->src_count, r->cert_count, c.started - a_started, cpu_b - a_cpu);
    if (r->cert_count > 0 && !pool_run(r->threads, verify_worker, &c, verify_tick, &c.running)) {
        fprintf(stderr, "voucher-reconcile: cannot start a thread\n");
        return false;
    }
    if (r->progress && r->cert_count > 0) {
        verify_tick(&c);
        if (r->progress_tty)
            fputc('\n', stderr);
        fprintf(stderr, "voucher-reconcile: %" PRIu64 " signatures checked (%.2f s, %.2f s of CPU)\n",
                (uint64_t)atomic_load(&r->signatures), vl_seconds(CLOCK_MONOTONIC) - c.started,
                vl_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_b);
    }
    if (atomic_load(&c.nomem)) {
        fprintf(stderr, "voucher-reconcile: out of memory\n");
        return false;
    }
    return true;
}
