/* vl_node_config.c - see vl_node_config.h.
 *
 * One table lists every member: its name, kind, whether it is required,
 * where it goes and its bounds.  Parsing walks the JSON object once and
 * looks each member up in the table (unknown: refused), then checks that
 * every required member was seen.
 */
#include "vl_node_config.h"

#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_crypto.h"
#include "vl_file.h"

/* A configuration file is small; refuse a huge one unread. */
#define VL_NODE_CONFIG_MAX_BYTES (64u * 1024u)

typedef enum { M_ID, M_PATH, M_LEVEL, M_U64, M_U32, M_BOOL, M_ENDPOINT, M_HOSTPORT } member_kind;

typedef struct {
    const char *name;
    member_kind kind;
    bool required;
    size_t offset;
    uint64_t min, max; /* M_U64, M_U32 */
} member;

#define F(field) offsetof(vl_node_config, field)

static const member members[] = {
    {"node_id", M_ID, true, F(node_id), 0, 0},
    {"genesis", M_PATH, true, F(genesis_path), 0, 0},
    {"key_file", M_PATH, true, F(key_path), 0, 0},
    {"data_dir", M_PATH, true, F(data_dir), 0, 0},
    {"log_level", M_LEVEL, false, F(log_level), 0, 0},
    {"clock_skew_ms", M_U64, false, F(clock_skew_ms), 0, VL_NODE_MAX_MS},
    {"redrive_after_ms", M_U64, false, F(redrive_after_ms), 1, VL_NODE_MAX_MS},
    {"sync_interval_ms", M_U64, false, F(sync_interval_ms), 1, VL_NODE_MAX_MS},
    {"sync_batch", M_U32, false, F(sync_batch), 1, VL_MAX_MSG_ITEMS},
    {"checkpoint_every_ms", M_U64, false, F(checkpoint_every_ms), 0, VL_NODE_MAX_MS},
    {"client_timeout_ms", M_U64, false, F(client_timeout_ms), 1, VL_NODE_MAX_MS},
    {"max_batch", M_U32, false, F(max_batch), 1, VL_NODE_MAX_BATCH},
    {"initial_map_mb", M_U64, false, F(initial_map_mb), 1, VL_NODE_MAX_MAP_MB},
    {"peer_queue_mb", M_U64, false, F(peer_queue_mb), 1, VL_NODE_MAX_PEER_QUEUE_MB},
    {"verify_threads", M_U32, false, F(verify_threads), 0, VL_NODE_MAX_VERIFY_THREADS},
    {"observer", M_BOOL, false, F(observer), 0, 0},
    {"prefill_data_file", M_BOOL, false, F(prefill_data_file), 0, 0},
    {"check_data_at_start", M_BOOL, false, F(check_data_at_start), 0, 0},
    {"check_data_every_s", M_U64, false, F(check_data_every_s), 0, VL_NODE_MAX_CHECK_EVERY_S},
    {"peer_bind", M_ENDPOINT, false, F(peer_bind), 0, 0},
    {"client_bind", M_ENDPOINT, false, F(client_bind), 0, 0},
    {"metrics_bind", M_HOSTPORT, false, F(metrics_bind), 0, 0},
};

#define MEMBER_COUNT (sizeof members / sizeof members[0])

static void config_defaults(vl_node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->log_level = VL_LOG_INFO;
    cfg->clock_skew_ms = 300000;
    cfg->redrive_after_ms = 2000;
    cfg->sync_interval_ms = 500;
    cfg->sync_batch = 1024; /* a batch a round trip: 256 fell behind at 30 ms (operations.md 10) */
    cfg->checkpoint_every_ms = 10000;
    cfg->client_timeout_ms = 5000;
    cfg->max_batch = 1024;
    cfg->initial_map_mb = 64;
    cfg->peer_queue_mb = VL_NODE_DEFAULT_PEER_QUEUE_MB;
    cfg->verify_threads = 1; /* voucherd.c note 8: the pool pays only on idle cores */
    cfg->prefill_data_file = true; /* vl_store.c note 2c */
    cfg->check_data_at_start = true; /* consensus/vl_check.c */
    cfg->check_data_every_s = 86400; /* voucherd.c note 10 */
}

static vl_err bad(char *err, size_t cap, const char *name, const char *why)
{
    snprintf(err, cap, "config member \"%s\": %s", name, why);
    return VL_ERR_USAGE;
}

/* A path relative to the config file's directory `dir` ("" for the cwd). */
static vl_err set_path(char *out, const char *dir, const char *value, const member *m,
                       char *err, size_t cap)
{
    if (value[0] == '\0')
        return bad(err, cap, m->name, "must not be empty");
    int n = value[0] == '/' || dir[0] == '\0'
                ? snprintf(out, PATH_MAX, "%s", value)
                : snprintf(out, PATH_MAX, "%s/%s", dir, value);
    if (n < 0 || n >= PATH_MAX)
        return bad(err, cap, m->name, "path too long");
    return VL_OK;
}

static vl_err set_string(vl_node_config *cfg, const member *m, const char *s, const char *dir,
                         char *err, size_t cap)
{
    char *field = (char *)cfg + m->offset;
    size_t len = strlen(s);
    switch (m->kind) {
    case M_ID:
        if (len == 0 || len > VL_MAX_ID_LEN)
            return bad(err, cap, m->name, "must be 1..32 characters");
        memcpy(field, s, len + 1);
        return VL_OK;
    case M_ENDPOINT:
        if (len == 0 || len > VL_MAX_ENDPOINT_LEN)
            return bad(err, cap, m->name, "must be a ZeroMQ endpoint of 1..128 characters");
        /* An operator's walk: "127.0.0.1:61050" passed --check and failed
         * the start with "Invalid argument". */
        if (strncmp(s, "tcp://", 6) != 0 && strncmp(s, "ipc://", 6) != 0)
            return bad(err, cap, m->name,
                       "must start with tcp:// or ipc:// (a ZeroMQ endpoint to bind, e.g. "
                       "tcp://0.0.0.0:7001)");
        memcpy(field, s, len + 1);
        return VL_OK;
    case M_HOSTPORT: {
        struct sockaddr_storage addr;
        socklen_t addr_len;
        const char *why;
        if (len > 0 && vl_metrics_parse_bind(s, &addr, &addr_len, &why) != 0)
            return bad(err, cap, m->name, why);
        memcpy(field, s, len + 1); /* "" : off */
        return VL_OK;
    }
    case M_LEVEL:
        if (vl_log_level_parse(s, &cfg->log_level) != 0)
            return bad(err, cap, m->name, "must be \"debug\", \"info\", \"warn\" or \"error\"");
        return VL_OK;
    case M_PATH:
        return set_path(field, dir, s, m, err, cap);
    default:
        return bad(err, cap, m->name, "must not be a string");
    }
}

static vl_err set_member(vl_node_config *cfg, const member *m, json_t *v, const char *dir,
                         char *err, size_t cap)
{
    char *field = (char *)cfg + m->offset;
    char why[96];
    if (m->kind == M_BOOL) {
        if (!json_is_boolean(v))
            return bad(err, cap, m->name, "must be true or false");
        *(bool *)(void *)field = json_is_true(v);
        return VL_OK;
    }
    if (m->kind == M_U64 || m->kind == M_U32) {
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
        if (x < 0 || (uint64_t)x < m->min || (uint64_t)x > m->max) {
            snprintf(why, sizeof why, "must be an integer in %llu..%llu",
                     (unsigned long long)m->min, (unsigned long long)m->max);
            return bad(err, cap, m->name, why);
        }
        if (m->kind == M_U64)
            *(uint64_t *)(void *)field = (uint64_t)x;
        else
            *(uint32_t *)(void *)field = (uint32_t)x;
        return VL_OK;
    }
    if (!json_is_string(v))
        return bad(err, cap, m->name, "must be a string");
    return set_string(cfg, m, json_string_value(v), dir, err, cap);
}

static vl_err parse_object(vl_node_config *cfg, json_t *root, const char *dir, char *err,
                           size_t cap)
{
    bool seen[MEMBER_COUNT] = {false};
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        snprintf(err, cap, "the configuration must be a JSON object");
        return VL_ERR_USAGE;
    }
    json_object_foreach(root, key, v) {
        size_t i = 0;
        while (i < MEMBER_COUNT && strcmp(members[i].name, key) != 0)
            i++;
        if (i == MEMBER_COUNT)
            return bad(err, cap, key, "unknown member");
        vl_err e = set_member(cfg, &members[i], v, dir, err, cap);
        if (e != VL_OK)
            return e;
        seen[i] = true;
    }
    for (size_t i = 0; i < MEMBER_COUNT; i++) {
        if (members[i].required && !seen[i])
            return bad(err, cap, members[i].name, "missing (required)");
    }
    return VL_OK;
}

vl_err vl_node_config_load(vl_node_config *cfg, const char *path, char *err, size_t err_cap)
{
    assert(cfg != NULL && path != NULL && err != NULL && err_cap > 0);
    char dir[PATH_MAX];
    json_error_t je;
    config_defaults(cfg);
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash == NULL ? 0 : (size_t)(slash - path);
    if (slash == path)
        dir_len = 1; /* "/app.json": the root */
    if (dir_len >= sizeof dir) {
        snprintf(err, err_cap, "%s: path too long", path);
        return VL_ERR_USAGE;
    }
    memcpy(dir, path, dir_len);
    dir[dir_len] = '\0';
    char *text = NULL;
    size_t len = 0;
    vl_err e = vl_file_read(path, VL_NODE_CONFIG_MAX_BYTES, &text, &len, err, err_cap);
    if (e != VL_OK)
        return e;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (root == NULL) {
        snprintf(err, err_cap, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
        return VL_ERR_JSON;
    }
    e = parse_object(cfg, root, dir, err, err_cap);
    json_decref(root);
    size_t pl = strlen(cfg->peer_bind);
    if (e == VL_OK && pl > 2 && strcmp(cfg->peer_bind + pl - 2, ":*") != 0 && /* ephemeral */
        strcmp(cfg->peer_bind, cfg->client_bind) == 0)
        return bad(err, err_cap, "client_bind",
                   "equals peer_bind: the peer and client sockets need an endpoint each");
    return e;
}

vl_err vl_node_identity_load(const vl_node_config *cfg, vl_genesis *g, vl_keyfile *key,
                             uint16_t *index, char *err, size_t err_cap)
{
    assert(cfg != NULL && g != NULL && key != NULL && index != NULL && err != NULL);
    char why[256];
    vl_err e = vl_genesis_load_file(g, cfg->genesis_path, why, sizeof why);
    if (e != VL_OK) {
        snprintf(err, err_cap, "genesis %s: %s", cfg->genesis_path, why);
        return e;
    }
    int i = vl_genesis_node_by_id(g, cfg->node_id);
    if (i < 0) {
        snprintf(err, err_cap, "node_id \"%s\" is not a node of the genesis %s", cfg->node_id,
                 cfg->genesis_path);
        return VL_ERR_UNKNOWN_KEY;
    }
    e = vl_keyfile_load(key, cfg->key_path, why, sizeof why);
    if (e != VL_OK) {
        snprintf(err, err_cap, "key file %s: %s", cfg->key_path, why);
        return e;
    }
    const vl_gen_node *n = &g->nodes[i];
    if (!key->has_curve) {
        snprintf(err, err_cap, "key file %s has no CURVE pair: a node key is made with "
                 "`voucherctl keygen --node`", cfg->key_path);
        e = VL_ERR_BAD_KEY;
    } else if (memcmp(key->sign.pubkey, n->pubkey, 32) != 0) {
        snprintf(err, err_cap, "key file %s: its pubkey is not the genesis pubkey of node %s",
                 cfg->key_path, n->id);
        e = VL_ERR_UNKNOWN_KEY;
    } else if (memcmp(key->curve_pubkey, n->curve_pubkey, 32) != 0) {
        snprintf(err, err_cap,
                 "key file %s: its curve_pubkey is not the genesis curve_pubkey of node %s",
                 cfg->key_path, n->id);
        e = VL_ERR_UNKNOWN_KEY;
    }
    if (e != VL_OK) {
        vl_keyfile_wipe(key);
        return e;
    }
    *index = (uint16_t)i;
    return VL_OK;
}
