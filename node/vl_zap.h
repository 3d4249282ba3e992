/* vl_zap.h - the ZAP handler (ZeroMQ RFC 27) that admits peer links.
 *
 * Every CURVE handshake on the peer ROUTER asks the handler (a REP socket
 * bound at inproc://zeromq.zap.01, in its own thread) whether the client's
 * CURVE public key may connect.  Keys of the genesis nodes other than this
 * node get status "200" and user id = the node's decimal genesis index;
 * the main loop reads that user id from each message ("User-Id" property)
 * and never trusts the `from` field of the body alone.  Any other key gets
 * "400"; a request that is not CURVE or not well formed gets "400" too.
 *
 * Fail closed.  The handler is bound before the peer ROUTER is.  If the
 * thread meets a socket error it stops answering but keeps its socket open
 * (so handshakes wait instead of passing unauthenticated), and sets the
 * flag vl_zap_failed() reports; the main loop then closes the peer ROUTER
 * and exits.  The ROUTER also sets ZMQ_ZAP_ENFORCE_DOMAIN, with which
 * libzmq fails a CURVE handshake when no handler is bound, and messages
 * without a valid User-Id are dropped: three layers, any one suffices.
 */
#ifndef VL_ZAP_H
#define VL_ZAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_error.h"
#include "vl_genesis.h"

#define VL_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define VL_ZAP_DOMAIN "voucher-peer"

typedef struct vl_zap vl_zap;

/* Bind the handler socket in context ctx and start its thread.  g must
 * outlive the handler; `self` (this node's index) is never admitted.
 * VL_OK; VL_ERR_IO (the endpoint cannot be bound, e.g. another handler
 * holds it; or the thread cannot start), VL_ERR_NOMEM.  err says why. */
vl_err vl_zap_start(vl_zap **out, void *ctx, const vl_genesis *g, uint16_t self, char *err,
                    size_t err_cap);

/* True once the handler thread has failed (it no longer answers). */
bool vl_zap_failed(const vl_zap *z);

/* Handshakes admitted and refused so far. */
uint64_t vl_zap_admitted(const vl_zap *z);
uint64_t vl_zap_refused(const vl_zap *z);

/* Stop the thread, close its socket, free (NULL allowed; nulls *z).  Call
 * after the peer ROUTER is closed. */
void vl_zap_stop(vl_zap **z);

/* Parse a User-Id set by this handler: decimal index < node_count, not
 * self.  Returns the index, or -1 (NULL, empty, or anything else). */
int vl_zap_user_peer(const char *user_id, uint32_t node_count, uint16_t self);

#endif
