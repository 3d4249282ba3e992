/* vl_node_config.h - voucherd's configuration file and the node identity
 * it names (docs/voucherd.md is the operator reference).
 *
 * The file is one JSON object; an unknown member, a repeated one or a value
 * of the wrong type or range is refused with the member named, so a typo
 * never silently drops a setting.  Relative paths are taken relative to the
 * directory of the configuration file.
 */
#ifndef VL_NODE_CONFIG_H
#define VL_NODE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_limits.h"
#include "vl_log.h"
#include "vl_metrics.h"

/* Inputs per step (max_batch): one step is one fsync, so a bigger batch is
 * more throughput per fsync; the bound keeps one step's memory and latency
 * in check. */
#define VL_NODE_MAX_BATCH 65536u
/* Longest interval or timeout accepted (a day): larger is surely a typo. */
#define VL_NODE_MAX_MS 86400000u
/* initial_map_mb: 1 MiB .. 1 TiB (VL_STORE_MAX_MAP), default 64. */
#define VL_NODE_MAX_MAP_MB 1048576u
/* check_data_every_s: at most a year (0: never while running). */
#define VL_NODE_MAX_CHECK_EVERY_S 31536000u
/* peer_queue_mb: bytes queued to one peer before sends to it drop
 * (node/vl_net.c "Peer send queues"), 1 MiB .. 64 GiB.  The default is
 * about half a minute of a busy network's certificates and four of the
 * largest peer replies. */
#define VL_NODE_DEFAULT_PEER_QUEUE_MB 64u
#define VL_NODE_MAX_PEER_QUEUE_MB 65536u
/* verify_threads: threads that check a step's signatures (the loop's
 * included); more than a few dozen would only wait on each other. */
#define VL_NODE_MAX_VERIFY_THREADS 64u
/* verify_threads 0 means one more than the online CPUs, at most this many. */
#define VL_NODE_DEFAULT_VERIFY_THREADS_MAX 8u

typedef struct {
    char node_id[VL_MAX_ID_LEN + 1];
    char genesis_path[PATH_MAX];
    char key_path[PATH_MAX];
    char data_dir[PATH_MAX];
    vl_log_level log_level;
    uint64_t clock_skew_ms;
    uint64_t redrive_after_ms;
    uint64_t sync_interval_ms;
    uint32_t sync_batch;
    uint64_t checkpoint_every_ms; /* 0: never */
    uint64_t client_timeout_ms;
    uint32_t max_batch;
    uint64_t initial_map_mb; /* LMDB map at open, MiB; it grows by doubling */
    uint64_t peer_queue_mb;  /* bytes queued to one peer before sends to it drop (node/vl_net.c) */
    uint32_t verify_threads; /* default 1: no pool; 0: online CPUs + 1 (at most 8) (voucherd.c note 8) */
    bool observer;
    bool prefill_data_file; /* default true: keep the data file's page cache in single pages */
    bool check_data_at_start; /* default true: walk the whole data file before serving */
    uint64_t check_data_every_s; /* default 86400: walk it again while running (0: never) */
    char peer_bind[VL_MAX_ENDPOINT_LEN + 1];   /* "" : the genesis peer endpoint */
    char client_bind[VL_MAX_ENDPOINT_LEN + 1]; /* "" : the genesis client endpoint */
    char metrics_bind[VL_METRICS_BIND_MAX + 1]; /* "host:port"; "" : no HTTP server */
} vl_node_config;

/* Load and check the configuration file at path into cfg (defaults for
 * optional members).  VL_OK; VL_ERR_IO (unreadable), VL_ERR_JSON (syntax,
 * with line and column), VL_ERR_USAGE (a member missing, unknown, of the
 * wrong type or out of range: err names it).  err gets a sentence. */
vl_err vl_node_config_load(vl_node_config *cfg, const char *path, char *err, size_t err_cap);

/* The node's identity: the genesis (caller-allocated, large), the key file
 * and this node's index.  Checks that node_id is a genesis node and that
 * the key file holds a CURVE pair and matches that node's pubkey and
 * curve_pubkey.  VL_OK; the loaders' errors (VL_ERR_IO, VL_ERR_JSON,
 * VL_ERR_GENESIS, VL_ERR_KEYFILE_PERMS, VL_ERR_BAD_KEY); VL_ERR_UNKNOWN_KEY
 * (node_id not in the genesis, or the key is not that node's).  On error
 * the key is wiped and err says why. */
vl_err vl_node_identity_load(const vl_node_config *cfg, vl_genesis *g, vl_keyfile *key,
                             uint16_t *index, char *err, size_t err_cap);

#endif
