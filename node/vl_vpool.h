/* vl_vpool.h - voucherd's verification pool: the signatures carried by a
 * step's inputs are checked on several threads before the step, through
 * the core's signature cache (DESIGN.md 10, "verification on all cores";
 * docs/voucherd.md, verify_threads).
 *
 * The pool decides nothing.  It decodes the inputs the way the core will
 * (client SUBMIT orders, peers' VOTE_REQUEST orders, peers' CERTS
 * certificates), runs vl_order_verify_cached / vl_cert_verify on them
 * with the core's cache, and forgets the results: what verified is in the
 * cache, so the core's own checks in vl_core_step are hits; what did not
 * verify is not, so the core checks it again and refuses it as it always
 * did.  An input that does not decode is skipped (the core answers it).
 * Nothing the core decides depends on whether the pool ran.
 *
 * One call, vl_vpool_run, is a fork-join: the calling thread and the pool's
 * workers share the batch's work and the call returns when every worker
 * is done with it, so the inputs' buffers may be released after it.
 */
#ifndef VL_VPOOL_H
#define VL_VPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_core.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_verify.h"

/* Threads that verify, the caller's included (verify_threads). */
#define VL_VPOOL_MAX_THREADS 64u
/* A batch estimated to carry fewer orders than this is left to the core:
 * waking the workers costs more than one order's checks save. */
#define VL_VPOOL_MIN_ORDERS 2u

typedef struct vl_vpool vl_vpool;

/* Start threads - 1 worker threads (threads: 2..VL_VPOOL_MAX_THREADS)
 * that verify with genesis g through cache, for batches of at most
 * max_inputs inputs (1..65536).  g and cache must outlive the pool.
 * Workers inherit the caller's signal mask.  All memory is allocated
 * here.  VL_OK and *out set; VL_ERR_NOMEM, or VL_ERR_IO when a thread
 * cannot be created (err says why).  On error *out is NULL and no thread
 * runs. */
vl_err vl_vpool_start(vl_vpool **out, unsigned threads, size_t max_inputs, const vl_genesis *g,
                      vl_sigcache *cache, char *err, size_t err_cap);

/* Stop and join the workers, free everything; NULL-safe, nulls *p. */
void vl_vpool_stop(vl_vpool **p);

/* Verify the signatures carried by in[0..n) (n <= max_inputs; kinds other
 * than VL_IN_PEER and VL_IN_CLIENT are skipped), on the workers and the
 * calling thread, and return once all are done.  Returns the number of
 * signatures found valid (now in the cache); 0 when the batch was below
 * VL_VPOOL_MIN_ORDERS (the workers were not woken).  One caller at a
 * time.  Does not allocate, except inside vl_msg_decode (list messages). */
uint64_t vl_vpool_run(vl_vpool *p, const vl_input *in, size_t n);

/* Leave the VOTE_REQUESTs of these peers (a bitmap of node indexes) out
 * of the next batches: the core drops them unread (vl_core.c note 28,
 * vl_core_penalized_peers).  Set before vl_vpool_run or vl_vpool_begin. */
void vl_vpool_skip_peers(vl_vpool *p, uint64_t peers);

/* vl_vpool_run in two halves, so that the caller can do something else
 * while the workers verify (voucherd note 9: the previous step's commit).
 * vl_vpool_begin wakes the workers on in[0..n) and returns at once: true
 * when it did, false when the batch is below VL_VPOOL_MIN_ORDERS (nothing
 * started, no finish).  vl_vpool_finish, once per true begin, makes the
 * caller check what the workers have not claimed yet, waits until every
 * worker has left the batch and returns vl_vpool_run's count; only then
 * may the inputs be released.  No other begin or run in between. */
bool vl_vpool_begin(vl_vpool *p, const vl_input *in, size_t n);
uint64_t vl_vpool_finish(vl_vpool *p);

/* Threads that verify, the caller's included. */
unsigned vl_vpool_threads(const vl_vpool *p);

#endif
