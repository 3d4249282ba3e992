/* vl_vpool.c - see vl_vpool.h.
 *
 * DESIGN NOTES
 *
 *  1. Why it is safe.  The core stays the only decider and still calls
 *     the verification of every signature it relies on (vl_decide,
 *     vl_coord_submit, vl_cert_verify_vouched).  The pool only warms the core's
 *     cache, and the cache holds a signature only after it verified and
 *     matches the signature bytes as well as key slot and message
 *     (wire/vl_verify.c notes 2 and 4): a hit is exactly as good as a
 *     verification.  A signature that fails in the pool is not cached and
 *     fails again in the core; membership checks (network, issuer,
 *     provider, voter) run in the core every time.  Outputs, their order
 *     and the inputs given to the core are untouched.
 *
 *  2. What is checked, decoded as the core decodes it (vl_core.c,
 *     process_peer / process_client): a client CLIENT_REQUEST of kind
 *     SUBMIT (its order: vl_coord_submit), a peer's VOTE_REQUEST (each
 *     order: vl_on_vote_request -> vl_decide) and CERTS (each certificate:
 *     vl_apply_cert -> vl_cert_verify_vouched, which checks the vote
 *     signatures and leaves the order's to the quorum), from the peer it
 *     claims to come from.  LOG_REPLY is left out on purpose: its
 *     certificates are mostly ones the node has already applied, which the
 *     core skips without verifying, so checking them here would be wasted
 *     work.
 *
 *  3. Work units.  The caller first lists units (input, part, parts)
 *     from a peek at each input's type bytes: one unit per SUBMIT, and for
 *     a list message one unit per VL_VPOOL_PART_BYTES of it (at most one
 *     per thread), the unit taking items part, part + parts, ... .  Each
 *     unit decodes its message into its thread's own scratch (decoding a
 *     list twice costs a few microseconds; a signature costs 40 to 60), so
 *     one large VOTE_REQUEST is still spread over the threads.  Units are
 *     claimed with an atomic counter: the threads balance themselves.
 *
 *  4. Fork-join, no busy waiting.  vl_vpool_run publishes the job under
 *     the mutex (a new generation, open = true), wakes the workers and
 *     works itself; when no unit is left it closes the job and waits on
 *     `done` until every worker that joined the job (in_job) has left it.
 *     A worker joins only an open job of a generation it has not seen, so
 *     a worker that wakes late joins nothing and the caller never waits for
 *     a sleeping thread.  The job's fields are written before it opens
 *     and read by workers after they take the mutex (happens-before), and
 *     the caller returns only after in_job fell to 0, so no worker touches
 *     the inputs after vl_vpool_run returned.
 *
 *     vl_vpool_begin / vl_vpool_finish are the two halves of that: the
 *     workers start on a batch at begin, and the caller may do other work
 *     (voucherd: commit the previous step) before it joins in at finish.
 *     The only thing between the two that touches the workers' data is
 *     the signature cache, which is locked.
 *
 *  5. Bounded, preallocated: threads <= VL_VPOOL_MAX_THREADS, units <=
 *     max_inputs * threads (allocated at start), one scratch (message
 *     storage, an order, a certificate: about 300 KiB) per thread.
 */
#include "vl_vpool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_wire.h"

/* Bytes of a list message per unit (note 3): about a dozen REDEEM orders
 * or half as many certificates, a few hundred microseconds of checks. */
#define VL_VPOOL_PART_BYTES 4096u
/* Bytes of the smallest order, for the estimate of a list's orders
 * (VL_VPOOL_MIN_ORDERS); an overestimate only wakes the workers. */
#define VL_VPOOL_ORDER_BYTES 256u
/* Largest batch accepted by vl_vpool_start (VL_NODE_MAX_BATCH). */
#define VL_VPOOL_MAX_INPUTS 65536u

typedef struct {
    uint32_t input;
    uint16_t part;
    uint16_t parts;
} vpool_unit;

/* One thread's decoding space (note 5). */
typedef struct {
    vl_msg_storage st;
    vl_msg msg;
    vl_order order;
    vl_cert cert;
    uint64_t valid; /* signatures found valid in the current job */
} vpool_scratch;

typedef struct {
    vl_vpool *pool;
    unsigned index; /* scratch[index]; 0 is the caller's */
} vpool_worker;

struct vl_vpool {
    const vl_genesis *g;
    vl_sigcache *cache;
    unsigned threads; /* the caller included */
    size_t max_inputs;
    vpool_scratch **scratch; /* threads */
    vpool_unit *units;       /* max_inputs * threads */
    pthread_t *tids;         /* threads - 1 */
    vpool_worker *workers;   /* threads - 1 */
    unsigned started;        /* workers running */
    bool sync_made;
    uint64_t skip_peers; /* vl_vpool_skip_peers */
    /* the job (note 4) */
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job opened, or stopping */
    pthread_cond_t done; /* in_job fell to 0 */
    uint64_t gen;
    bool open;
    bool stopping;
    unsigned in_job;
    const vl_input *in;
    size_t unit_count;
    _Atomic size_t next_unit;
};

/* ---- checking one unit (note 2) ------------------------------------------------------ */

static void check_order(const vl_vpool *p, vpool_scratch *s, vl_bytes raw)
{
    uint8_t hash[32];
    if (vl_order_decode(raw.ptr, raw.len, &s->order) != VL_OK)
        return;
    vl_order_hash(hash, &s->order);
    if (vl_order_verify_cached(p->g, &s->order, hash, p->cache) == VL_OK)
        s->valid += s->order.sig_count;
}

static void check_cert(const vl_vpool *p, vpool_scratch *s, vl_bytes raw)
{
    if (vl_cert_decode(raw.ptr, raw.len, &s->cert) != VL_OK)
        return;
    if (vl_cert_verify_vouched(p->g, &s->cert, p->cache, NULL) == VL_OK)
        s->valid += s->cert.vote_count; /* the core leaves the order's to the quorum */
}

static void check_unit(const vl_vpool *p, vpool_scratch *s, const vpool_unit *u)
{
    const vl_input *in = &p->in[u->input];
    vl_msg *m = &s->msg;
    if (in->data == NULL || vl_msg_decode(in->data, in->len, m) != VL_OK)
        return; /* the core counts and answers it */
    if (in->kind == VL_IN_CLIENT) {
        if (m->type == VL_MSG_CLIENT_REQUEST && m->req_kind == VL_REQ_SUBMIT &&
            m->item_count == 1)
            check_order(p, s, m->items[0]);
        return;
    }
    if (in->kind != VL_IN_PEER || m->from != in->peer || in->peer >= p->g->node_count)
        return; /* the core refuses a message from another peer than it claims */
    for (uint32_t i = u->part; i < m->item_count; i += u->parts) {
        if (m->type == VL_MSG_VOTE_REQUEST)
            check_order(p, s, m->items[i]);
        else if (m->type == VL_MSG_CERTS)
            check_cert(p, s, m->items[i]);
    }
}

/* Claim and check units until none is left. */
static void drain_units(vl_vpool *p, vpool_scratch *s)
{
    for (;;) {
        size_t k = atomic_fetch_add_explicit(&p->next_unit, 1, memory_order_relaxed);
        if (k >= p->unit_count)
            return;
        check_unit(p, s, &p->units[k]);
    }
}

/* ---- the workers (note 4) ------------------------------------------------------------- */

static void lock(pthread_mutex_t *mu)
{
    int rc = pthread_mutex_lock(mu);
    assert(rc == 0);
    (void)rc;
}

static void unlock(pthread_mutex_t *mu)
{
    int rc = pthread_mutex_unlock(mu);
    assert(rc == 0);
    (void)rc;
}

static void *worker_main(void *arg)
{
    const vpool_worker *w = arg;
    vl_vpool *p = w->pool;
    vpool_scratch *s = p->scratch[w->index];
    uint64_t seen = 0;
    lock(&p->mu);
    for (;;) {
        while (!p->stopping && (!p->open || p->gen == seen))
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stopping)
            break;
        seen = p->gen;
        p->in_job++;
        unlock(&p->mu);
        drain_units(p, s);
        lock(&p->mu);
        if (--p->in_job == 0)
            pthread_cond_signal(&p->done);
    }
    unlock(&p->mu);
    return NULL;
}

/* ---- the caller ----------------------------------------------------------------------------- */

/* Note 3: the units of in[0..n) into p->units; *orders gets an estimate
 * of the orders they carry.  Returns the unit count. */
static size_t plan_units(vl_vpool *p, const vl_input *in, size_t n, size_t *orders)
{
    size_t count = 0;
    *orders = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = in[i].data;
        size_t len = in[i].len;
        if (d == NULL || len < 2 || d[0] != VL_WIRE_VERSION)
            continue;
        if (in[i].kind == VL_IN_CLIENT) {
            /* version, type, u64 req_id, req_kind (voucherd.c does the same peek) */
            if (len > 10 && d[1] == VL_MSG_CLIENT_REQUEST && d[10] == VL_REQ_SUBMIT) {
                p->units[count++] = (vpool_unit){(uint32_t)i, 0, 1};
                *orders += 1;
            }
            continue;
        }
        if (in[i].kind != VL_IN_PEER || (d[1] != VL_MSG_VOTE_REQUEST && d[1] != VL_MSG_CERTS))
            continue;
        if (d[1] == VL_MSG_VOTE_REQUEST && in[i].peer < 64 &&
            (p->skip_peers & ((uint64_t)1 << in[i].peer)) != 0)
            continue; /* the core drops it unread (vl_core.c note 28) */
        size_t parts = len / VL_VPOOL_PART_BYTES + 1u;
        if (parts > p->threads)
            parts = p->threads;
        for (size_t k = 0; k < parts; k++)
            p->units[count++] = (vpool_unit){(uint32_t)i, (uint16_t)k, (uint16_t)parts};
        *orders += len / VL_VPOOL_ORDER_BYTES > 0 ? len / VL_VPOOL_ORDER_BYTES : 1u;
    }
    assert(count <= p->max_inputs * p->threads);
    return count;
}

void vl_vpool_skip_peers(vl_vpool *p, uint64_t peers)
{
    if (p != NULL)
        p->skip_peers = peers;
}

bool vl_vpool_begin(vl_vpool *p, const vl_input *in, size_t n)
{
    assert(p != NULL && (in != NULL || n == 0) && n <= p->max_inputs);
    assert(!p->open && "vl_vpool_begin: a batch is still open"); /* only the caller writes it */
    size_t orders;
    size_t units = plan_units(p, in, n, &orders);
    if (orders < VL_VPOOL_MIN_ORDERS || units == 0)
        return false;
    for (unsigned t = 0; t < p->threads; t++)
        p->scratch[t]->valid = 0;
    lock(&p->mu);
    assert(p->in_job == 0 && "vl_vpool_begin: a worker is still in the last batch");
    p->in = in;
    p->unit_count = units;
    atomic_store_explicit(&p->next_unit, 0, memory_order_relaxed);
    p->gen++;
    p->open = true;
    pthread_cond_broadcast(&p->work);
    unlock(&p->mu);
    return true;
}

uint64_t vl_vpool_finish(vl_vpool *p)
{
    assert(p != NULL && p->open);
    drain_units(p, p->scratch[0]);
    lock(&p->mu);
    p->open = false;
    while (p->in_job > 0)
        pthread_cond_wait(&p->done, &p->mu);
    p->in = NULL;
    p->unit_count = 0;
    unlock(&p->mu);
    uint64_t valid = 0;
    for (unsigned t = 0; t < p->threads; t++)
        valid += p->scratch[t]->valid;
    return valid;
}

uint64_t vl_vpool_run(vl_vpool *p, const vl_input *in, size_t n)
{
    return vl_vpool_begin(p, in, n) ? vl_vpool_finish(p) : 0;
}

unsigned vl_vpool_threads(const vl_vpool *p)
{
    assert(p != NULL);
    return p->threads;
}

/* ---- start and stop --------------------------------------------------------------------- */

void vl_vpool_stop(vl_vpool **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    vl_vpool *p = *pp;
    if (p->sync_made) {
        lock(&p->mu);
        assert(!p->open);
        p->stopping = true;
        pthread_cond_broadcast(&p->work);
        unlock(&p->mu);
        for (unsigned t = 0; t < p->started; t++)
            pthread_join(p->tids[t], NULL);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->mu);
    }
    if (p->scratch != NULL) {
        for (unsigned t = 0; t < p->threads; t++)
            free(p->scratch[t]);
    }
    free(p->scratch);
    free(p->units);
    free(p->tids);
    free(p->workers);
    free(p);
    *pp = NULL;
}

/* Mutex and condition variables; false when one cannot be made. */
static bool sync_init(vl_vpool *p)
{
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return false;
    if (pthread_cond_init(&p->work, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return false;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->mu);
        return false;
    }
    p->sync_made = true;
    return true;
}

static bool alloc_all(vl_vpool *p)
{
    p->scratch = calloc(p->threads, sizeof *p->scratch);
    p->units = calloc(p->max_inputs * p->threads, sizeof *p->units);
    p->tids = calloc(p->threads - 1u, sizeof *p->tids);
    p->workers = calloc(p->threads - 1u, sizeof *p->workers);
    if (p->scratch == NULL || p->units == NULL || p->tids == NULL || p->workers == NULL)
        return false;
    for (unsigned t = 0; t < p->threads; t++) {
        p->scratch[t] = calloc(1, sizeof *p->scratch[t]);
        if (p->scratch[t] == NULL)
            return false;
        vl_msg_init(&p->scratch[t]->msg, &p->scratch[t]->st);
    }
    return true;
}

vl_err vl_vpool_start(vl_vpool **out, unsigned threads, size_t max_inputs, const vl_genesis *g,
                      vl_sigcache *cache, char *err, size_t err_cap)
{
    assert(out != NULL && g != NULL && cache != NULL && err != NULL && err_cap > 0);
    assert(threads >= 2 && threads <= VL_VPOOL_MAX_THREADS);
    assert(max_inputs >= 1 && max_inputs <= VL_VPOOL_MAX_INPUTS);
    *out = NULL;
    vl_vpool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, err_cap, "verification pool: out of memory");
        return VL_ERR_NOMEM;
    }
    p->g = g;
    p->cache = cache;
    p->threads = threads;
    p->max_inputs = max_inputs;
    atomic_init(&p->next_unit, 0);
    if (!alloc_all(p) || !sync_init(p)) {
        snprintf(err, err_cap, "verification pool: out of memory");
        vl_vpool_stop(&p);
        return VL_ERR_NOMEM;
    }
    for (unsigned t = 0; t + 1u < threads; t++) {
        p->workers[t] = (vpool_worker){p, t + 1u};
        int rc = pthread_create(&p->tids[t], NULL, worker_main, &p->workers[t]);
        if (rc != 0) {
            snprintf(err, err_cap, "verification pool: cannot start thread %u of %u: %s",
                     t + 2u, threads, strerror(rc));
            vl_vpool_stop(&p);
            return VL_ERR_IO;
        }
        p->started++;
    }
    *out = p;
    return VL_OK;
}
