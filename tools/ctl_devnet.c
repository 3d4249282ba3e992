/* ctl_devnet.c - `voucherctl devnet up|down|status`: a local network of
 * real voucherd processes to try the ledger on one machine, and
 * DIR/devnet.json, the file that says what runs where (read by --devnet DIR,
 * by `devnet demo` in ctl_demo.c, and by other tools: docs/devnet.md).
 *
 * Design notes
 *  1. Layout of DIR (every path in devnet.json is absolute):
 *       devnet.json        note 2; replaced atomically (vl_file_replace)
 *       genesis.json       network "devnet", max_faulty floor((voters-1)/3)
 *       keys/ID.key        issuers, providers, holders (mode 0600)
 *       nodes/nodeI/       config.json, node.key, data/ (LMDB), voucherd.log
 *       .devnet.lock       flock'ed by up and down, so two never interleave
 *  2. The states of DIR, and the command behind each transition:
 *       EMPTY (missing or empty) --up--> RUNNING --down--> STOPPED --up--> RUNNING
 *     RUNNING: some pid of devnet.json is its node's voucherd (note 4); `up`
 *     refuses.  STOPPED: every pid is 0 or no longer its node's voucherd;
 *     `up` restarts the same nodes on their data (keys, genesis, configs
 *     kept: an operator expects "up" after "down" to bring back the same
 *     network with its state); `down` says "already stopped" and exits 0.
 *     A DIR that is neither empty nor holds a devnet.json is refused: `up`
 *     writes only where nothing can be lost.  A FIRST `up` that fails kills
 *     what it started and removes what it made (DIR was empty), so the same
 *     DIR can be retried with another --base-port; a restart that fails
 *     keeps everything and writes pid 0 back.
 *  3. Starting a node: posix_spawn with POSIX_SPAWN_SETSID (its own session:
 *     no terminal signal reaches it and it outlives voucherctl), stdin from
 *     /dev/null, stdout and stderr appended to its log.  devnet.json gets
 *     the pids right after the spawns, before the wait, so a voucherctl
 *     killed meanwhile leaves pids that `down` can stop.  A node is up when
 *     `event=ready` appears in its log past the offset where the log ended
 *     before the start (a restarted node's log holds older runs); it failed
 *     if it exits or logs `event=fatal` first.  All within DEVNET_READY_MS.
 *  4. A pid is signalled only if /proc/PID/cmdline is voucherd's (its first
 *     argument's last part is "voucherd") with the node's config path after
 *     --config: a recycled pid is never killed, nor an editor or a `tail`
 *     of the config.
 *     A zombie (exited, not yet reaped by its new parent: some container
 *     inits never reap) counts as stopped.  A node started by hand (the
 *     drills of docs/devnet.md: `voucherd --config DIR/nodes/nodeI/
 *     config.json`, the path absolute or relative to its working
 *     directory) is not in devnet.json; it is found by scanning /proc for
 *     that config: status shows its pid, down stops it, up refuses while
 *     it runs, as for the nodes up started.
 *  5. Ports: node i (1-based) peers at P+2i-2 and serves clients at P+2i-1;
 *     its metrics HTTP endpoint (metrics_bind) is at P+128+i-1, past the
 *     peer and client ports of the largest devnet (2 x VL_MAX_NODES); all
 *     on 127.0.0.1.  voucherd logs "cannot bind" when a port is taken:
 *     `up` says so and suggests --base-port.  A devnet made before metrics
 *     existed gets metrics_bind added to its node configurations when `up`
 *     restarts it (config_add_metrics), if its ports fit under 65536.
 *  6. Finding voucherd: --voucherd PATH, else $VOUCHERD, else beside this
 *     executable (/proc/self/exe: the same directory for an install, then
 *     ../node/voucherd for the build tree), else $PATH.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "vl_client.h"
#include "vl_file.h"

extern char **environ;

#define DEVNET_DEFAULT_VOTERS 4u
#define DEVNET_DEFAULT_BASE_PORT 7700u
/* Node i's metrics port is P + DEVNET_METRICS_OFFSET + i - 1 (note 5). */
#define DEVNET_METRICS_OFFSET (2u * VL_MAX_NODES)
#define DEVNET_HOLDERS 3u
/* Bounds of the waits (note 3): every node ready; peer links up; down. */
#define DEVNET_READY_MS 30000u
#define DEVNET_LINKS_MS 10000u
#define DEVNET_STOP_MS 20000u
#define DEVNET_KILL_MS 5000u
#define DEVNET_POLL_MS 50u
/* What of a node's log is read for its startup lines, and shown on failure. */
#define DEVNET_LOG_SCAN_BYTES (256u * 1024u)
#define DEVNET_TAIL_LINES 12
/* /proc/PID/cmdline read at most (note 4). */
#define DEVNET_CMDLINE_BYTES 16384
/* /proc entries looked at to find a node started by hand (note 4). */
#define DEVNET_PROC_SCAN 1000000u

/* ---- the members of every devnet ------------------------------------------------- */

typedef struct {
    const char *id, *name;
    uint32_t region;
    uint64_t budget_fen; /* 0 for providers */
} party;

/* The cities running voucher programs; budgets in fen (CNY 1 = 100 fen). */
static const party devnet_issuers[] = {
    {"beijing", "Beijing", 110000, 50000000000u},   /* CNY 500 million */
    {"shanghai", "Shanghai", 310000, 60000000000u}, /* CNY 600 million */
    {"henan", "Henan", 410000, 5000000000u},        /* CNY 50 million */
    {"shandong", "Shandong", 370000, 3000000000u},  /* CNY 30 million */
    {"chengdu", "Chengdu", 510100, 10000000000u},   /* CNY 100 million */
    {"shenzhen", "Shenzhen", 440300, 50000000000u}, /* CNY 500 million */
    {"ningbo", "Ningbo", 330200, 10000000000u},     /* CNY 100 million */
};
/* Western data centers ("Eastern Data, Western Computing"). */
static const party devnet_providers[] = {
    {"guizhou", "Guizhou", 520000, 0},
    {"ningxia", "Ningxia", 640000, 0},
    {"inner-mongolia", "Inner Mongolia", 150000, 0},
    {"gansu", "Gansu", 620000, 0},
};
/* Node regions, in turn: a city, then a data center's province. */
static const uint32_t node_regions[] = {110000, 520000, 310000, 640000, 410000, 150000,
                                        370000, 620000, 510100, 440300, 330200};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *devnet_region_name(uint32_t region)
{
    for (size_t i = 0; i < COUNT_OF(devnet_issuers); i++)
        if (devnet_issuers[i].region == region)
            return devnet_issuers[i].name;
    for (size_t i = 0; i < COUNT_OF(devnet_providers); i++)
        if (devnet_providers[i].region == region)
            return devnet_providers[i].name;
    return "?";
}

/* ---- small helpers ---------------------------------------------------------------- */

uint64_t devnet_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void devnet_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* out = a + "/" + b, refusing (not truncating) a path too long.  Built in
 * a local buffer first: out may be a member of the struct a points into. */
static int path_join(const vl_ctx *c, char out[DEVNET_MAX_PATH], const char *a, const char *b)
{
    char tmp[DEVNET_MAX_PATH];
    int n = snprintf(tmp, sizeof tmp, "%s/%s", a, b);
    if (n < 0 || n >= DEVNET_MAX_PATH)
        return fail(c, EXIT_FAIL, "%s/%s: path longer than %d characters", a, b,
                    DEVNET_MAX_PATH - 1);
    memcpy(out, tmp, (size_t)n + 1u);
    return EXIT_OK;
}

/* mkdir -p path (mode for every directory made). */
static int make_dirs(const vl_ctx *c, const char *path, mode_t mode)
{
    char buf[DEVNET_MAX_PATH];
    if (strlen(path) >= sizeof buf)
        return fail(c, EXIT_FAIL, "%s: path too long", path);
    strcpy(buf, path);
    for (char *p = buf + 1;; p++) { /* ends at the NUL */
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return fail(c, EXIT_FAIL, "%s: %s", buf, strerror(errno));
        *p = saved;
        if (saved == '\0')
            return EXIT_OK;
    }
}

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* ---- devnet.json ------------------------------------------------------------------ */

typedef struct {
    const vl_ctx *c;
    const char *path;
    int st; /* the first failure, reported */
} jreader;

static bool jr_fail(jreader *r, const char *where, const char *key, const char *want)
{
    if (r->st == EXIT_OK)
        r->st = fail(r->c, EXIT_FAIL, "%s: %s\"%s\": want %s (docs/devnet.md)", r->path,
                     where, key, want);
    return false;
}

static bool jr_str(jreader *r, json_t *o, const char *where, const char *key, char *dst,
                   size_t cap, bool abs_path)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL || s[0] == '\0' || strlen(s) >= cap || (abs_path && s[0] != '/'))
        return jr_fail(r, where, key, abs_path ? "an absolute path" : "a short non-empty string");
    strcpy(dst, s);
    return true;
}

static bool jr_uint(jreader *r, json_t *o, const char *where, const char *key, uint64_t max,
                    uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return jr_fail(r, where, key, "an integer in range");
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool jr_node(jreader *r, json_t *o, uint32_t i, devnet_node *n)
{
    char where[48];
    uint64_t region = 0, pid = 0;
    snprintf(where, sizeof where, "nodes[%u].", (unsigned)i);
    const char *role = json_string_value(json_object_get(o, "role"));
    if (role == NULL || (strcmp(role, "voter") != 0 && strcmp(role, "observer") != 0))
        return jr_fail(r, where, "role", "\"voter\" or \"observer\"");
    n->voter = strcmp(role, "voter") == 0;
    bool ok = jr_str(r, o, where, "id", n->id, sizeof n->id, false) &&
              jr_uint(r, o, where, "region", 999999, &region) &&
              jr_str(r, o, where, "peer_endpoint", n->peer_endpoint, sizeof n->peer_endpoint,
                     false) &&
              jr_str(r, o, where, "client_endpoint", n->client_endpoint,
                     sizeof n->client_endpoint, false) &&
              jr_uint(r, o, where, "pid", INT32_MAX, &pid) &&
              jr_str(r, o, where, "config", n->config, sizeof n->config, true) &&
              jr_str(r, o, where, "log", n->log, sizeof n->log, true) &&
              jr_str(r, o, where, "data_dir", n->data_dir, sizeof n->data_dir, true) &&
              jr_str(r, o, where, "key_file", n->key_file, sizeof n->key_file, true);
    n->region = (uint32_t)region;
    n->pid = (long long)pid;
    return ok;
}

/* kind: 'i' issuer (name, region, budget), 'p' provider (name, region), 'h' holder. */
static bool jr_member(jreader *r, json_t *o, const char *list, uint32_t i, char kind,
                      devnet_member *m)
{
    char where[48], hex[65];
    uint64_t region = 0, budget = 0;
    snprintf(where, sizeof where, "%s[%u].", list, (unsigned)i);
    bool ok = jr_str(r, o, where, "id", m->id, sizeof m->id, false) &&
              jr_str(r, o, where, "pubkey", hex, sizeof hex, false) &&
              jr_str(r, o, where, "key_file", m->key_file, sizeof m->key_file, true);
    if (ok && vl_hex_decode(m->pubkey, 32, hex) != VL_OK)
        ok = jr_fail(r, where, "pubkey", "64 hex digits");
    if (ok && kind != 'h')
        ok = jr_str(r, o, where, "name", m->name, sizeof m->name, false) &&
             jr_uint(r, o, where, "region", 999999, &region);
    if (ok && kind == 'i')
        ok = jr_uint(r, o, where, "budget_fen", INT64_MAX, &budget);
    m->region = (uint32_t)region;
    m->budget_fen = budget;
    return ok;
}

static bool jr_members(jreader *r, json_t *root, const char *list, char kind, uint32_t max,
                       devnet_member *out, uint32_t *count)
{
    json_t *a = json_object_get(root, list);
    if (!json_is_array(a) || json_array_size(a) > max)
        return jr_fail(r, "", list, "an array of members");
    *count = (uint32_t)json_array_size(a);
    for (uint32_t i = 0; i < *count; i++)
        if (!jr_member(r, json_array_get(a, i), list, i, kind, &out[i]))
            return false;
    return true;
}

static int devnet_parse(const vl_ctx *c, const char *path, json_t *root, devnet *d)
{
    jreader r = {.c = c, .path = path, .st = EXIT_OK};
    uint64_t port = 0, voters = 0, observers = 0;
    const char *net = json_string_value(json_object_get(root, "network"));
    json_t *nodes = json_object_get(root, "nodes");
    if (net == NULL || strcmp(net, "devnet") != 0) {
        jr_fail(&r, "", "network", "\"devnet\"");
        return r.st;
    }
    if (!jr_str(&r, root, "", "genesis", d->genesis, sizeof d->genesis, true) ||
        !jr_uint(&r, root, "", "base_port", 65535, &port) ||
        !jr_uint(&r, root, "", "voters", VL_MAX_NODES, &voters) ||
        !jr_uint(&r, root, "", "observers", VL_MAX_NODES, &observers))
        return r.st;
    if (!json_is_array(nodes) || json_array_size(nodes) != voters + observers ||
        voters + observers > VL_MAX_NODES) {
        jr_fail(&r, "", "nodes", "one node per voter and observer");
        return r.st;
    }
    d->base_port = (uint32_t)port;
    d->voters = (uint32_t)voters;
    d->observers = (uint32_t)observers;
    d->node_count = d->voters + d->observers;
    for (uint32_t i = 0; i < d->node_count; i++)
        if (!jr_node(&r, json_array_get(nodes, i), i, &d->nodes[i]))
            return r.st;
    if (!jr_members(&r, root, "issuers", 'i', DEVNET_MAX_MEMBERS, d->issuers, &d->issuer_count) ||
        !jr_members(&r, root, "providers", 'p', DEVNET_MAX_MEMBERS, d->providers,
                    &d->provider_count) ||
        !jr_members(&r, root, "holders", 'h', DEVNET_MAX_HOLDERS, d->holders, &d->holder_count))
        return r.st;
    return EXIT_OK;
}

int devnet_load(const vl_ctx *c, const char *dir, devnet **out)
{
    char path[DEVNET_MAX_PATH], *text = NULL;
    size_t len = 0;
    *out = NULL;
    int st = path_join(c, path, dir, DEVNET_FILE);
    if (st == EXIT_OK && access(path, F_OK) != 0)
        return fail(c, EXIT_FAIL, "%s: no devnet here (%s); start one with `voucherctl devnet "
                    "up --dir %s`", dir, strerror(errno), dir);
    if (st == EXIT_OK)
        st = read_file(c, path, DEVNET_MAX_JSON_BYTES, &text, &len);
    if (st != EXIT_OK)
        return st;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (root == NULL)
        return fail(c, EXIT_FAIL, "%s: line %d, column %d: %s", path, jerr.line, jerr.column,
                    jerr.text);
    devnet *d = calloc(1, sizeof *d);
    st = d == NULL ? fail(c, EXIT_FAIL, "out of memory") : devnet_parse(c, path, root, d);
    json_decref(root);
    char *abs = st == EXIT_OK ? realpath(dir, NULL) : NULL;
    if (st == EXIT_OK && (abs == NULL || strlen(abs) >= sizeof d->dir))
        st = fail(c, EXIT_FAIL, "%s: %s", dir, abs == NULL ? strerror(errno) : "path too long");
    if (st == EXIT_OK)
        strcpy(d->dir, abs);
    free(abs);
    if (st != EXIT_OK) {
        free(d);
        return st;
    }
    *out = d;
    return EXIT_OK;
}

static json_t *member_json(const devnet_member *m, char kind)
{
    json_t *j = jobj();
    jset(j, "id", json_string(m->id));
    if (kind != 'h') {
        jset(j, "name", json_string(m->name));
        jset(j, "region", json_integer(m->region));
    }
    if (kind == 'i')
        jset(j, "budget_fen", ju64(m->budget_fen));
    jset(j, "pubkey", jhex(m->pubkey, 32));
    jset(j, "key_file", json_string(m->key_file));
    return j;
}

/* Node i's (0-based) metrics port (note 5), or 0 when it would not fit. */
static uint32_t metrics_port(const devnet *d, uint32_t i)
{
    uint32_t port = d->base_port + DEVNET_METRICS_OFFSET + i;
    return port <= 65535u ? port : 0;
}

/* devnet.json as documented (docs/devnet.md): the same keys, in this order. */
static json_t *devnet_json(const devnet *d)
{
    json_t *j = jobj(), *nodes = jarr(), *is = jarr(), *ps = jarr(), *hs = jarr();
    jset(j, "network", json_string("devnet"));
    jset(j, "genesis", json_string(d->genesis));
    jset(j, "base_port", json_integer(d->base_port));
    jset(j, "voters", json_integer(d->voters));
    jset(j, "observers", json_integer(d->observers));
    for (uint32_t i = 0; i < d->node_count; i++) {
        const devnet_node *n = &d->nodes[i];
        json_t *o = jobj();
        jset(o, "id", json_string(n->id));
        jset(o, "role", json_string(n->voter ? "voter" : "observer"));
        jset(o, "region", json_integer(n->region));
        jset(o, "peer_endpoint", json_string(n->peer_endpoint));
        jset(o, "client_endpoint", json_string(n->client_endpoint));
        jset(o, "pid", json_integer(n->pid));
        jset(o, "config", json_string(n->config));
        jset(o, "log", json_string(n->log));
        jset(o, "data_dir", json_string(n->data_dir));
        jset(o, "key_file", json_string(n->key_file));
        if (metrics_port(d, i) != 0) {
            char url[64];
            snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics",
                     (unsigned)metrics_port(d, i));
            jset(o, "metrics_url", json_string(url));
        }
        jappend(nodes, o);
    }
    jset(j, "nodes", nodes);
    for (uint32_t i = 0; i < d->issuer_count; i++)
        jappend(is, member_json(&d->issuers[i], 'i'));
    for (uint32_t i = 0; i < d->provider_count; i++)
        jappend(ps, member_json(&d->providers[i], 'p'));
    for (uint32_t i = 0; i < d->holder_count; i++)
        jappend(hs, member_json(&d->holders[i], 'h'));
    jset(j, "issuers", is);
    jset(j, "providers", ps);
    jset(j, "holders", hs);
    return j;
}

/* Replace DIR/devnet.json atomically. */
static int devnet_save(const vl_ctx *c, const devnet *d)
{
    char path[DEVNET_MAX_PATH];
    int st = path_join(c, path, d->dir, DEVNET_FILE);
    if (st != EXIT_OK)
        return st;
    json_t *j = devnet_json(d);
    char *text = ctl_oom ? NULL : json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (text == NULL)
        return fail(c, EXIT_FAIL, "out of memory");
    size_t len = strlen(text);
    char *full = malloc(len + 2); /* json_dumps ends without a newline */
    if (full != NULL) {
        memcpy(full, text, len);
        full[len] = '\n';
        full[len + 1] = '\0';
        st = write_file(c, path, (const uint8_t *)full, len + 1);
    } else {
        st = fail(c, EXIT_FAIL, "out of memory");
    }
    free(full);
    free(text);
    return st;
}

/* ---- processes (notes 3 and 4) ------------------------------------------------------ */

/* Whether the argument arg of process pid, a relative path, names the file
 * config (absolute) from that process's working directory. */
static bool same_file_from(long long pid, const char *arg, const char *config)
{
    char path[PATH_MAX], real[PATH_MAX], want[PATH_MAX];
    if (arg[0] == '/' || arg[0] == '-' || arg[0] == '\0')
        return false;
    int w = snprintf(path, sizeof path, "/proc/%lld/cwd/%s", pid, arg);
    if (w < 0 || (size_t)w >= sizeof path || realpath(path, real) == NULL ||
        realpath(config, want) == NULL)
        return false;
    return strcmp(real, want) == 0;
}

/* Whether pid is alive and is the voucherd of the node with this config
 * (given as that path, or as a relative path from its working directory). */
static bool is_node_process(long long pid, const char *config)
{
    char path[64], buf[DEVNET_CMDLINE_BYTES + 1];
    if (pid <= 0 || pid > INT32_MAX)
        return false;
    snprintf(path, sizeof path, "/proc/%lld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *rp = strrchr(buf, ')'); /* "pid (comm) S ..." */
    if (rp == NULL || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
        return false; /* a zombie has exited */
    snprintf(path, sizeof path, "/proc/%lld/cmdline", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return false;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* NUL-separated arguments: the program's name must be voucherd (not an
     * editor or `tail` of the config) and the config must follow --config. */
    const char *base = strrchr(buf, '/');
    if (strcmp(base != NULL ? base + 1 : buf, "voucherd") != 0)
        return false;
    const char *prev = NULL;
    for (const char *a = buf; a < buf + n; a += strlen(a) + 1) {
        if (prev != NULL && strcmp(prev, "--config") == 0 &&
            (strcmp(a, config) == 0 || same_file_from(pid, a, config)))
            return true;
        prev = a;
    }
    return false;
}

bool devnet_node_running(const devnet_node *n)
{
    return is_node_process(n->pid, n->config);
}

/* Note 4: the pid of a voucherd running this node's config that devnet.json
 * does not know (started by hand, as the drills of docs/devnet.md do), or 0.
 * Scans /proc (at most DEVNET_PROC_SCAN entries). */
static long long find_node_process(const devnet_node *n)
{
    DIR *proc = opendir("/proc");
    long long found = 0;
    if (proc == NULL)
        return 0;
    struct dirent *e;
    for (unsigned k = 0; found == 0 && k < DEVNET_PROC_SCAN && (e = readdir(proc)) != NULL; k++) {
        char *end;
        long long pid = strtoll(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0 && pid != (long long)getpid() && is_node_process(pid, n->config))
            found = pid;
    }
    closedir(proc);
    return found;
}

/* The pid of node n's voucherd: devnet.json's if it is that, else one
 * started by hand (*by_hand), else 0. */
static long long node_pid_now(const devnet_node *n, bool *by_hand)
{
    *by_hand = false;
    if (is_node_process(n->pid, n->config))
        return n->pid;
    long long pid = find_node_process(n);
    *by_hand = pid != 0;
    return pid;
}

/* The text of path from offset `from` (at most DEVNET_LOG_SCAN_BYTES,
 * NUL-terminated, heap; "" when unreadable). */
static char *read_log(const char *path, off_t from)
{
    char *buf = malloc(DEVNET_LOG_SCAN_BYTES + 1);
    if (buf == NULL)
        return NULL;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = pread(fd, buf, DEVNET_LOG_SCAN_BYTES, from);
        close(fd);
    }
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Print the last lines of text to stderr, indented. */
static void print_tail(const char *what, const char *text)
{
    const char *p = text + strlen(text);
    int lines = 0;
    while (p > text && lines <= DEVNET_TAIL_LINES)
        if (*--p == '\n' && p[1] != '\0')
            lines++;
    if (*p == '\n')
        p++;
    fprintf(stderr, "--- the end of %s ---\n", what);
    for (const char *q = p; *q != '\0';) {
        const char *nl = strchr(q, '\n');
        int len = nl != NULL ? (int)(nl - q) : (int)strlen(q);
        fprintf(stderr, "  | %.*s\n", len, q);
        q += len + (nl != NULL ? 1 : 0);
    }
    if (*p == '\0')
        fprintf(stderr, "  | (empty)\n");
}

/* Start node n's voucherd (note 3). */
static int spawn_node(const vl_ctx *c, const char *voucherd, const devnet_node *n, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGQUIT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return fail(c, EXIT_FAIL, "posix_spawn: %s", strerror(rc));
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return fail(c, EXIT_FAIL, "posix_spawn: %s", strerror(rc));
    }
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 1, n->log, O_WRONLY | O_CREAT | O_APPEND,
                                              0600);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&at, &defaults);
    char *args[] = {(char *)voucherd, "--config", (char *)n->config, NULL};
    if (rc == 0)
        rc = posix_spawn(pid, voucherd, &fa, &at, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0)
        return fail(c, EXIT_FAIL, "%s: cannot start %s: %s", n->id, voucherd, strerror(rc));
    return EXIT_OK;
}

/* ---- finding voucherd (note 6) ------------------------------------------------------- */

static bool try_path(char *out, const char *path, char *tried, size_t cap)
{
    size_t used = strlen(tried);
    snprintf(tried + used, cap - used, "%s%s", used > 0 ? ", " : "", path);
    if (!is_executable(path) || strlen(path) >= DEVNET_MAX_PATH)
        return false;
    char *abs = realpath(path, NULL);
    bool ok = abs != NULL && strlen(abs) < DEVNET_MAX_PATH;
    if (ok)
        strcpy(out, abs);
    free(abs);
    return ok;
}

static int find_voucherd(const vl_ctx *c, const char *given, char out[DEVNET_MAX_PATH])
{
    char tried[4096] = "", exe[DEVNET_MAX_PATH], cand[DEVNET_MAX_PATH + 32];
    if (given != NULL) {
        if (try_path(out, given, tried, sizeof tried))
            return EXIT_OK;
        return fail(c, EXIT_FAIL, "--voucherd %s: not an executable file", given);
    }
    const char *env = getenv("VOUCHERD");
    if (env != NULL && env[0] != '\0') {
        if (try_path(out, env, tried, sizeof tried))
            return EXIT_OK;
        return fail(c, EXIT_FAIL, "VOUCHERD=%s: not an executable file", env);
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL)
            *slash = '\0';
        snprintf(cand, sizeof cand, "%s/voucherd", exe);
        if (try_path(out, cand, tried, sizeof tried))
            return EXIT_OK;
        snprintf(cand, sizeof cand, "%s/../node/voucherd", exe);
        if (try_path(out, cand, tried, sizeof tried))
            return EXIT_OK;
    }
    const char *path = getenv("PATH");
    for (const char *p = path != NULL ? path : ""; *p != '\0';) {
        size_t len = strcspn(p, ":");
        if (len > 0 && len < DEVNET_MAX_PATH) {
            snprintf(cand, sizeof cand, "%.*s/voucherd", (int)len, p);
            if (try_path(out, cand, tried, sizeof tried))
                return EXIT_OK;
        }
        p += len + (p[len] == ':' ? 1 : 0);
    }
    return fail(c, EXIT_FAIL,
                "cannot find voucherd; tried: --voucherd (not given), $VOUCHERD (not set), %s%s. "
                "Build it (cmake --build BUILD) or give --voucherd PATH",
                tried, path == NULL ? ", $PATH (not set)" : " ($PATH)");
}

/* ---- up: creating a devnet --------------------------------------------------------- */

static int make_key(const vl_ctx *c, const char *path, bool node, uint8_t pub[32],
                    uint8_t curve[32])
{
    vl_keyfile k;
    errno = 0;
    vl_err rc = vl_keyfile_generate(&k, node);
    if (rc == VL_OK)
        rc = vl_keyfile_save(&k, path);
    int saved = errno;
    memcpy(pub, k.sign.pubkey, 32);
    if (curve != NULL)
        memcpy(curve, k.curve_pubkey, 32);
    vl_keyfile_wipe(&k);
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "%s: %s: %s", path, vl_err_name(rc), err_detail(rc, saved));
    return EXIT_OK;
}

static int make_member(const vl_ctx *c, const devnet *d, const char *id, const char *name,
                       uint32_t region, uint64_t budget, devnet_member *m)
{
    char file[VL_MAX_ID_LEN + 16];
    snprintf(m->id, sizeof m->id, "%s", id);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->region = region;
    m->budget_fen = budget;
    snprintf(file, sizeof file, "keys/%s.key", id);
    int st = path_join(c, m->key_file, d->dir, file);
    return st == EXIT_OK ? make_key(c, m->key_file, false, m->pubkey, NULL) : st;
}

/* Node i's paths, endpoints and key (note 1, note 5). */
static int make_node(const vl_ctx *c, devnet *d, uint32_t i, vl_gen_node *gn)
{
    devnet_node *n = &d->nodes[i];
    char sub[64], dir[DEVNET_MAX_PATH];
    snprintf(n->id, sizeof n->id, "node%u", (unsigned)(i + 1));
    n->voter = i < d->voters;
    n->region = node_regions[i % COUNT_OF(node_regions)];
    snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://127.0.0.1:%u",
             (unsigned)(d->base_port + 2 * i));
    snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://127.0.0.1:%u",
             (unsigned)(d->base_port + 2 * i + 1));
    snprintf(sub, sizeof sub, "nodes/%s", n->id);
    int st = path_join(c, dir, d->dir, sub);
    if (st == EXIT_OK && (st = make_dirs(c, dir, 0700)) == EXIT_OK &&
        (st = path_join(c, n->config, dir, "config.json")) == EXIT_OK &&
        (st = path_join(c, n->log, dir, "voucherd.log")) == EXIT_OK &&
        (st = path_join(c, n->data_dir, dir, "data")) == EXIT_OK &&
        (st = path_join(c, n->key_file, dir, "node.key")) == EXIT_OK)
        st = make_key(c, n->key_file, true, gn->pubkey, gn->curve_pubkey);
    if (st != EXIT_OK)
        return st;
    snprintf(gn->id, sizeof gn->id, "%s", n->id);
    gn->region = n->region;
    snprintf(gn->peer_endpoint, sizeof gn->peer_endpoint, "%s", n->peer_endpoint);
    snprintf(gn->client_endpoint, sizeof gn->client_endpoint, "%s", n->client_endpoint);
    gn->role = n->voter ? VL_ROLE_VOTER : VL_ROLE_OBSERVER;
    /* the node configuration (docs/voucherd.md) */
    json_t *cfg = jobj();
    jset(cfg, "node_id", json_string(n->id));
    jset(cfg, "genesis", json_string(d->genesis));
    jset(cfg, "key_file", json_string(n->key_file));
    jset(cfg, "data_dir", json_string(n->data_dir));
    jset(cfg, "log_level", json_string("info"));
    if (d->verify_threads_set)
        jset(cfg, "verify_threads", json_integer(d->verify_threads));
    if (metrics_port(d, i) != 0) {
        char bind[32];
        snprintf(bind, sizeof bind, "127.0.0.1:%u", (unsigned)metrics_port(d, i));
        jset(cfg, "metrics_bind", json_string(bind));
    }
    char *text = ctl_oom ? NULL : json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(cfg);
    st = text == NULL ? fail(c, EXIT_FAIL, "out of memory")
                      : write_file(c, n->config, (const uint8_t *)text, strlen(text));
    free(text);
    return st;
}

/* Keys, genesis and configurations of a new devnet in d->dir (empty). */
static int devnet_create(const vl_ctx *c, devnet *d)
{
    char keys[DEVNET_MAX_PATH];
    vl_genesis *g = calloc(1, sizeof *g);
    int st = g == NULL ? fail(c, EXIT_FAIL, "out of memory") : path_join(c, keys, d->dir, "keys");
    if (st == EXIT_OK && mkdir(keys, 0700) != 0)
        st = fail(c, EXIT_FAIL, "%s: %s", keys, strerror(errno));
    if (st == EXIT_OK)
        st = path_join(c, d->genesis, d->dir, "genesis.json");
    for (uint32_t i = 0; st == EXIT_OK && i < d->node_count; i++)
        st = make_node(c, d, i, &g->nodes[i]);
    d->issuer_count = (uint32_t)COUNT_OF(devnet_issuers);
    d->provider_count = (uint32_t)COUNT_OF(devnet_providers);
    d->holder_count = DEVNET_HOLDERS;
    for (uint32_t i = 0; st == EXIT_OK && i < d->issuer_count; i++) {
        const party *p = &devnet_issuers[i];
        vl_gen_issuer *gi = &g->issuers[i];
        st = make_member(c, d, p->id, p->name, p->region, p->budget_fen, &d->issuers[i]);
        snprintf(gi->id, sizeof gi->id, "%s", p->id);
        gi->region = p->region;
        gi->budget_fen = p->budget_fen;
        memcpy(gi->pubkey, d->issuers[i].pubkey, 32);
    }
    for (uint32_t i = 0; st == EXIT_OK && i < d->provider_count; i++) {
        const party *p = &devnet_providers[i];
        vl_gen_provider *gp = &g->providers[i];
        st = make_member(c, d, p->id, p->name, p->region, 0, &d->providers[i]);
        snprintf(gp->id, sizeof gp->id, "%s", p->id);
        gp->region = p->region;
        memcpy(gp->pubkey, d->providers[i].pubkey, 32);
    }
    for (uint32_t i = 0; st == EXIT_OK && i < d->holder_count; i++) {
        char id[16];
        snprintf(id, sizeof id, "firm%u", (unsigned)(i + 1));
        st = make_member(c, d, id, "", 0, 0, &d->holders[i]);
    }
    if (st == EXIT_OK) {
        char err[DEVNET_MAX_PATH + 512] = "";
        snprintf(g->network, sizeof g->network, "devnet");
        g->max_faulty = (d->voters - 1) / 3;
        g->node_count = d->node_count;
        g->issuer_count = d->issuer_count;
        g->provider_count = d->provider_count;
        vl_err rc = vl_genesis_finish(g, err, sizeof err);
        if (rc == VL_OK && (rc = vl_genesis_save_file(g, d->genesis)) != VL_OK)
            snprintf(err, sizeof err, "%s: %s", d->genesis, strerror(errno));
        if (rc != VL_OK)
            st = fail(c, EXIT_FAIL, "the genesis: %s", err[0] != '\0' ? err : vl_strerror(rc));
    }
    free(g);
    return st;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    if (ftw->level == 0 || strcmp(path + ftw->base, ".devnet.lock") == 0)
        return 0; /* DIR itself and the lock we hold */
    remove(path);
    return 0;
}

/* Undo a first `up` (note 2): DIR was empty, so everything but the lock is ours. */
static void devnet_remove_made(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- up: starting the nodes ------------------------------------------------------- */

typedef struct {
    pid_t pid;
    off_t log_from; /* where the log ended before this start */
    bool ready, gone;
} launch;

/* The first node that failed (its index; -1: none, all ready) and why. */
static int wait_ready(const devnet *d, launch *l, char *why, size_t cap)
{
    uint64_t deadline = devnet_now_ms() + DEVNET_READY_MS;
    for (;;) { /* bounded by the deadline */
        uint32_t ready = 0;
        for (uint32_t i = 0; i < d->node_count; i++) {
            if (l[i].ready) {
                ready++;
                continue;
            }
            char *text = read_log(d->nodes[i].log, l[i].log_from);
            bool fatal = text != NULL && strstr(text, "event=fatal") != NULL;
            l[i].ready = text != NULL && strstr(text, "event=ready") != NULL;
            free(text);
            int status = 0;
            if (!l[i].ready && waitpid(l[i].pid, &status, WNOHANG) == l[i].pid) {
                l[i].gone = true;
                snprintf(why, cap, "voucherd exited with status %d before it was ready",
                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                return (int)i;
            }
            if (!l[i].ready && fatal) {
                snprintf(why, cap, "voucherd logged event=fatal");
                return (int)i;
            }
            ready += l[i].ready ? 1u : 0u;
        }
        if (ready == d->node_count)
            return -1;
        if (devnet_now_ms() >= deadline) {
            for (uint32_t i = 0; i < d->node_count; i++)
                if (!l[i].ready) {
                    snprintf(why, cap, "no event=ready in its log within %u s",
                             DEVNET_READY_MS / 1000u);
                    return (int)i;
                }
        }
        devnet_sleep_ms(DEVNET_POLL_MS);
    }
}

static void kill_started(devnet *d, launch *l, uint32_t started)
{
    for (uint32_t i = 0; i < started; i++)
        if (!l[i].gone)
            kill(l[i].pid, SIGKILL);
    for (uint32_t i = 0; i < started; i++) {
        if (!l[i].gone)
            waitpid(l[i].pid, NULL, 0); /* SIGKILL: returns at once */
        d->nodes[i].pid = 0;
    }
}

/* Report why node i failed, with the end of its log. */
static int report_start_failure(const vl_ctx *c, const devnet *d, uint32_t i, const launch *l,
                                const char *why, bool fresh)
{
    const devnet_node *n = &d->nodes[i];
    char *text = read_log(n->log, l[i].log_from);
    bool bind = text != NULL && strstr(text, "cannot bind") != NULL;
    if (text != NULL)
        print_tail(n->log, text);
    free(text);
    if (bind)
        return fail(c, EXIT_FAIL,
                    "%s cannot bind its ports (%s, %s, metrics 127.0.0.1:%u): another program "
                    "uses one. %s",
                    n->id, n->peer_endpoint, n->client_endpoint, (unsigned)metrics_port(d, i),
                    fresh ? "Choose another range with --base-port P (node i uses P+2i-2, "
                            "P+2i-1 and P+128+i-1); nothing was kept in the directory"
                          : "Stop that program (the devnet's ports are fixed in its genesis), "
                            "or make a new devnet in another --dir with --base-port");
    return fail(c, EXIT_FAIL, "%s did not start: %s (log: %s)%s", n->id, why, n->log,
                fresh ? "; nothing was kept in the directory" : "");
}

/* Note 5: a node configuration written before metrics existed gets its
 * metrics_bind (nothing changes when it has one, or the port would not fit). */
static int config_add_metrics(const vl_ctx *c, const devnet *d, uint32_t i)
{
    const devnet_node *n = &d->nodes[i];
    json_error_t jerr;
    if (metrics_port(d, i) == 0)
        return EXIT_OK;
    json_t *cfg = json_load_file(n->config, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return fail(c, EXIT_FAIL, "%s: %s", n->config, jerr.text);
    }
    int st = EXIT_OK;
    if (json_object_get(cfg, "metrics_bind") == NULL) {
        char bind[32];
        snprintf(bind, sizeof bind, "127.0.0.1:%u", (unsigned)metrics_port(d, i));
        jset(cfg, "metrics_bind", json_string(bind));
        char *text = ctl_oom ? NULL : json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        st = text == NULL ? fail(c, EXIT_FAIL, "out of memory")
                          : write_file(c, n->config, (const uint8_t *)text, strlen(text));
        free(text);
    }
    json_decref(cfg);
    return st;
}

/* Start every node and wait for them (note 3).  On failure every node
 * started is killed and d's pids are 0. */
static int start_nodes(const vl_ctx *c, devnet *d, const char *voucherd, bool fresh)
{
    launch l[VL_MAX_NODES];
    uint32_t started = 0;
    int st = EXIT_OK;
    memset(l, 0, sizeof l);
    for (uint32_t i = 0; i < d->node_count; i++)
        d->nodes[i].pid = 0; /* a restart's old pids are stale */
    for (uint32_t i = 0; !fresh && st == EXIT_OK && i < d->node_count; i++)
        st = config_add_metrics(c, d, i);
    for (; st == EXIT_OK && started < d->node_count; started++) {
        l[started].log_from = file_size(d->nodes[started].log);
        st = spawn_node(c, voucherd, &d->nodes[started], &l[started].pid);
        if (st != EXIT_OK)
            break;
        d->nodes[started].pid = l[started].pid;
    }
    if (st == EXIT_OK)
        st = devnet_save(c, d); /* the pids, before the wait */
    if (st != EXIT_OK) {
        kill_started(d, l, started);
        return st;
    }
    char why[256] = "";
    int bad = wait_ready(d, l, why, sizeof why);
    if (bad < 0)
        return EXIT_OK;
    kill_started(d, l, started);
    return report_start_failure(c, d, (uint32_t)bad, l, why, fresh);
}

/* After ready: wait (bounded) until every node has its peer links, so the
 * first order does not wait for a CURVE handshake.  Only a warning if not. */
static void wait_links(const devnet *d)
{
    vl_genesis *g = calloc(1, sizeof *g);
    vl_client *cl = NULL;
    const char *eps[VL_MAX_NODES];
    char err[256];
    for (uint32_t i = 0; i < d->node_count; i++)
        eps[i] = d->nodes[i].client_endpoint;
    if (g == NULL || vl_genesis_load_file(g, d->genesis, err, sizeof err) != VL_OK ||
        vl_client_new(&cl, g, eps, d->node_count, 1000) != VL_OK) {
        free(g);
        return;
    }
    uint64_t deadline = devnet_now_ms() + DEVNET_LINKS_MS;
    uint32_t linked = 0;
    bool done[VL_MAX_NODES] = {false};
    while (linked < d->node_count && devnet_now_ms() < deadline) {
        for (uint32_t i = 0; i < d->node_count; i++) {
            vl_status s;
            if (!done[i] && vl_client_status(cl, i, &s) == VL_OK &&
                s.peers_connected + 1 >= d->node_count) {
                done[i] = true;
                linked++;
            }
        }
        if (linked < d->node_count)
            devnet_sleep_ms(100);
    }
    if (linked < d->node_count)
        fprintf(stderr, "voucherctl devnet up: %u of %u nodes have all their peer links after "
                        "%u s; they keep connecting (see `voucherctl devnet status`)\n",
                (unsigned)linked, (unsigned)d->node_count, DEVNET_LINKS_MS / 1000u);
    vl_client_destroy(&cl);
    free(g);
}

static void print_up(const devnet *d, bool restarted)
{
    printf("devnet %s in %s: %u voter%s, %u observer%s, genesis %s\n",
           restarted ? "restarted on its data" : "up", d->dir, (unsigned)d->voters,
           d->voters == 1 ? "" : "s", (unsigned)d->observers, d->observers == 1 ? "" : "s",
           d->genesis);
    for (uint32_t i = 0; i < d->node_count; i++) {
        const devnet_node *n = &d->nodes[i];
        printf("  %-7s %-8s %-15s %6u  peer %s  client %s  pid %lld\n", n->id,
               n->voter ? "voter" : "observer", devnet_region_name(n->region),
               (unsigned)n->region, n->peer_endpoint, n->client_endpoint, n->pid);
    }
    printf("issuers:");
    for (uint32_t i = 0; i < d->issuer_count; i++)
        printf(" %s", d->issuers[i].id);
    printf("\nproviders:");
    for (uint32_t i = 0; i < d->provider_count; i++)
        printf(" %s", d->providers[i].id);
    printf("\nholders:");
    for (uint32_t i = 0; i < d->holder_count; i++)
        printf(" %s", d->holders[i].id);
    printf("\n(key files in %s/keys; everything is described in %s/%s)\n", d->dir, d->dir,
           DEVNET_FILE);
    printf("next: voucherctl devnet demo --dir %s\n"
           "      voucherctl status --devnet %s\n"
           "      voucherctl devnet down --dir %s\n",
           d->dir, d->dir, d->dir);
}

/* ---- up: the command -------------------------------------------------------------- */

enum { U_DIR, U_VOTERS, U_OBSERVERS, U_BASE_PORT, U_VOUCHERD, U_VERIFY_THREADS, U_COUNT };

typedef struct {
    uint64_t voters, observers, base_port;
    uint64_t verify_threads; /* DEVNET_NO_VERIFY_THREADS: not given */
} up_shape;

#define DEVNET_NO_VERIFY_THREADS UINT64_MAX
/* voucherd's range of verify_threads (docs/voucherd.md) */
#define DEVNET_MAX_VERIFY_THREADS 64u

static int parse_shape(const vl_ctx *c, const vl_opt *opts, up_shape *s)
{
    s->voters = DEVNET_DEFAULT_VOTERS;
    s->observers = 0;
    s->base_port = DEVNET_DEFAULT_BASE_PORT;
    s->verify_threads = DEVNET_NO_VERIFY_THREADS;
    if (opts[U_VERIFY_THREADS].value != NULL &&
        !parse_uint(opts[U_VERIFY_THREADS].value, DEVNET_MAX_VERIFY_THREADS, &s->verify_threads))
        return fail(c, EXIT_USAGE, "--verify-threads: want 0..%u", DEVNET_MAX_VERIFY_THREADS);
    if (opts[U_VOTERS].value != NULL &&
        (!parse_uint(opts[U_VOTERS].value, VL_MAX_NODES, &s->voters) || s->voters == 0))
        return fail(c, EXIT_USAGE, "--voters: want 1..%d", VL_MAX_NODES);
    if (opts[U_OBSERVERS].value != NULL &&
        !parse_uint(opts[U_OBSERVERS].value, VL_MAX_NODES - s->voters, &s->observers))
        return fail(c, EXIT_USAGE, "--observers: want 0..%u (at most %d nodes)",
                    (unsigned)(VL_MAX_NODES - s->voters), VL_MAX_NODES);
    /* peer and client ports, then the metrics ports (note 5) */
    uint64_t ports = DEVNET_METRICS_OFFSET + s->voters + s->observers;
    if (opts[U_BASE_PORT].value != NULL &&
        (!parse_uint(opts[U_BASE_PORT].value, 65536 - ports, &s->base_port) ||
         s->base_port < 1024))
        return fail(c, EXIT_USAGE, "--base-port: want 1024..%u (the devnet uses %u ports)",
                    (unsigned)(65536 - ports), (unsigned)ports);
    return EXIT_OK;
}

/* Lock DIR (note 1): fd stays open (close-on-exec) until the command ends. */
static int lock_dir(const vl_ctx *c, const char *dir, int *fd)
{
    char path[DEVNET_MAX_PATH];
    int st = path_join(c, path, dir, ".devnet.lock");
    if (st != EXIT_OK)
        return st;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return fail(c, EXIT_FAIL, "%s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
        return fail(c, EXIT_FAIL, "%s: another `voucherctl devnet` is at work on this directory",
                    dir);
    return EXIT_OK;
}

/* The live nodes of d, as "node1 (pid 12), ..." in buf; their count. */
static uint32_t live_nodes(const devnet *d, char *buf, size_t cap)
{
    uint32_t live = 0;
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < d->node_count; i++) {
        bool by_hand;
        long long pid = node_pid_now(&d->nodes[i], &by_hand);
        if (pid == 0)
            continue;
        live++;
        if (used < cap) {
            int w = snprintf(buf + used, cap - used, "%s%s (pid %lld%s)", used > 0 ? ", " : "",
                             d->nodes[i].id, pid, by_hand ? ", started by hand" : "");
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return live;
}

static bool dir_is_empty(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    DIR *dp = fdopendir(fd);
    if (dp == NULL) {
        close(fd);
        return false;
    }
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(dp)) != NULL;)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                strcmp(e->d_name, ".devnet.lock") == 0;
    closedir(dp);
    return empty;
}

static int refuse_not_empty(const vl_ctx *c, const char *dir)
{
    return fail(c, EXIT_FAIL,
                "%s is not empty and holds no %s: `devnet up` makes a new devnet only in an "
                "empty or new directory",
                dir, DEVNET_FILE);
}

/* `up` on an existing devnet.json: refuse a running one (note 2). */
static int check_restart(const vl_ctx *c, const vl_opt *opts, const up_shape *s, const devnet *d)
{
    char live[1024];
    if (live_nodes(d, live, sizeof live) > 0)
        return fail(c, EXIT_FAIL,
                    "%s already holds a running devnet: %s. Use it, or stop it first with "
                    "`voucherctl devnet down --dir %s`",
                    d->dir, live, d->dir);
    if ((opts[U_VOTERS].value != NULL && s->voters != d->voters) ||
        (opts[U_OBSERVERS].value != NULL && s->observers != d->observers) ||
        (opts[U_BASE_PORT].value != NULL && s->base_port != d->base_port) ||
        opts[U_VERIFY_THREADS].value != NULL)
        return fail(c, EXIT_USAGE,
                    "%s holds a stopped devnet of %u voters and %u observers on base port %u; "
                    "`up` restarts it as it is (--verify-threads: edit nodes/*/config.json). "
                    "For another shape use a new --dir",
                    d->dir, (unsigned)d->voters, (unsigned)d->observers,
                    (unsigned)d->base_port);
    return EXIT_OK;
}

/* A new devnet in the empty directory dir (absolute). */
static int new_devnet(const vl_ctx *c, const char *dir, const up_shape *s, devnet **out)
{
    devnet *d = calloc(1, sizeof *d);
    *out = d;
    if (d == NULL)
        return fail(c, EXIT_FAIL, "out of memory");
    if (!dir_is_empty(dir))
        return refuse_not_empty(c, dir);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    d->voters = (uint32_t)s->voters;
    d->observers = (uint32_t)s->observers;
    d->node_count = d->voters + d->observers;
    d->base_port = (uint32_t)s->base_port;
    d->verify_threads_set = s->verify_threads != DEVNET_NO_VERIFY_THREADS;
    d->verify_threads = d->verify_threads_set ? (uint32_t)s->verify_threads : 0;
    return EXIT_OK;
}

static int devnet_up(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "dir", .kind = OPT_VALUE, .required = true},
                     {.name = "voters", .kind = OPT_VALUE},
                     {.name = "observers", .kind = OPT_VALUE},
                     {.name = "base-port", .kind = OPT_VALUE},
                     {.name = "voucherd", .kind = OPT_VALUE},
                     {.name = "verify-threads", .kind = OPT_VALUE}};
    vl_args a = {.opts = opts, .opt_count = U_COUNT};
    char voucherd[DEVNET_MAX_PATH], json_path[DEVNET_MAX_PATH];
    char *dir = NULL;
    devnet *d = NULL;
    up_shape s;
    int lock = -1;
    bool fresh = false, made_dir = false;
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK)
        st = parse_shape(c, opts, &s);
    if (st == EXIT_OK)
        st = find_voucherd(c, opts[U_VOUCHERD].value, voucherd);
    if (st == EXIT_OK) {
        made_dir = access(opts[U_DIR].value, F_OK) != 0;
        st = make_dirs(c, opts[U_DIR].value, 0755);
    }
    if (st == EXIT_OK && ((dir = realpath(opts[U_DIR].value, NULL)) == NULL ||
                          strlen(dir) > DEVNET_MAX_PATH - 64))
        st = fail(c, EXIT_FAIL, "%s: %s", opts[U_DIR].value,
                  dir == NULL ? strerror(errno) : "path too long");
    if (st == EXIT_OK)
        st = path_join(c, json_path, dir, DEVNET_FILE);
    if (st == EXIT_OK && access(json_path, F_OK) != 0 && !dir_is_empty(dir))
        st = refuse_not_empty(c, dir); /* before the lock file: leave such a DIR alone */
    if (st == EXIT_OK)
        st = lock_dir(c, dir, &lock);
    if (st == EXIT_OK && access(json_path, F_OK) == 0) {
        if ((st = devnet_load(c, dir, &d)) == EXIT_OK)
            st = check_restart(c, opts, &s, d);
    } else if (st == EXIT_OK && (st = new_devnet(c, dir, &s, &d)) == EXIT_OK) {
        fresh = true;
        if ((st = devnet_create(c, d)) == EXIT_OK)
            st = devnet_save(c, d);
        if (st != EXIT_OK)
            devnet_remove_made(dir);
    }
    if (st == EXIT_OK && (st = start_nodes(c, d, voucherd, fresh)) != EXIT_OK) {
        if (fresh)
            devnet_remove_made(dir);
        else
            devnet_save(c, d); /* pid 0 everywhere */
    }
    if (st != EXIT_OK && fresh && made_dir && dir != NULL) {
        char path[DEVNET_MAX_PATH + 16];
        snprintf(path, sizeof path, "%s/.devnet.lock", dir);
        unlink(path);
        rmdir(dir);
    }
    if (st == EXIT_OK) {
        wait_links(d);
        if (c->json)
            st = emit(c, devnet_json(d), NULL);
        else
            print_up(d, !fresh);
    }
    if (lock >= 0)
        close(lock);
    free(d);
    free(dir);
    free_args(&a);
    return st;
}

/* ---- down --------------------------------------------------------------------------- */

typedef enum { N_STOPPED_BEFORE, N_GONE, N_STOPPING, N_STOPPED, N_KILLED, N_STUCK } node_fate;

static const char *fate_name(node_fate f)
{
    static const char *names[] = {"already_stopped", "not_running", "stopping",
                                  "stopped", "killed", "still_running"};
    return names[f];
}

/* Wait (bounded) until no node in state `from` runs; they become `to`. */
static void wait_fates(const devnet *d, node_fate *fate, node_fate from, node_fate to,
                       unsigned ms)
{
    uint64_t deadline = devnet_now_ms() + ms;
    for (;;) {
        uint32_t left = 0;
        for (uint32_t i = 0; i < d->node_count; i++) {
            if (fate[i] != from)
                continue;
            if (!is_node_process(d->nodes[i].pid, d->nodes[i].config))
                fate[i] = to;
            else
                left++;
        }
        if (left == 0 || devnet_now_ms() >= deadline)
            return;
        devnet_sleep_ms(DEVNET_POLL_MS);
    }
}

static int report_down(const vl_ctx *c, const devnet *d, const long long *pids,
                       const node_fate *fate, bool was_stopped)
{
    json_t *res = jobj(), *nodes = jarr();
    bool stuck = false;
    if (!c->json && was_stopped)
        printf("devnet in %s is already stopped\n", d->dir);
    for (uint32_t i = 0; i < d->node_count; i++) {
        json_t *o = jobj();
        jset(o, "id", json_string(d->nodes[i].id));
        jset(o, "pid", json_integer(pids[i]));
        jset(o, "outcome", json_string(fate_name(fate[i])));
        jappend(nodes, o);
        stuck = stuck || fate[i] == N_STUCK;
        if (c->json || was_stopped)
            continue;
        static const char *words[] = {
            "already stopped", "was not running (its pid is gone or is another program)",
            "stopping", "stopped (SIGTERM)", "did not stop within 20 s: killed (SIGKILL)",
            "STILL RUNNING after SIGKILL"};
        printf("  %-7s pid %-8lld %s\n", d->nodes[i].id, pids[i], words[fate[i]]);
    }
    jset(res, "dir", json_string(d->dir));
    jset(res, "already_stopped", json_boolean(was_stopped));
    jset(res, "nodes", nodes);
    if (!c->json && !was_stopped)
        printf("devnet in %s is down; `voucherctl devnet up --dir %s` brings it back with its "
               "state\n", d->dir, d->dir);
    int st = c->json ? emit(c, res, NULL) : (json_decref(res), EXIT_OK);
    if (st == EXIT_OK && stuck)
        st = fail(c, EXIT_FAIL, "some node is still running after SIGKILL");
    return st;
}

static int devnet_down(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "dir", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = 1};
    devnet *d = NULL;
    int lock = -1;
    node_fate fate[VL_MAX_NODES];
    long long pids[VL_MAX_NODES];
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK)
        st = devnet_load(c, opts[0].value, &d);
    if (st == EXIT_OK)
        st = lock_dir(c, d->dir, &lock);
    if (st == EXIT_OK) {
        bool any = false;
        for (uint32_t i = 0; i < d->node_count; i++) {
            devnet_node *n = &d->nodes[i];
            bool by_hand;
            long long now = node_pid_now(n, &by_hand);
            pids[i] = now != 0 ? now : n->pid;
            any = any || n->pid != 0 || now != 0;
            fate[i] = now != 0 ? N_STOPPING : n->pid == 0 ? N_STOPPED_BEFORE : N_GONE;
            n->pid = pids[i]; /* one started by hand is stopped like the others */
            if (fate[i] == N_STOPPING)
                kill((pid_t)n->pid, SIGTERM);
        }
        wait_fates(d, fate, N_STOPPING, N_STOPPED, DEVNET_STOP_MS);
        for (uint32_t i = 0; i < d->node_count; i++)
            if (fate[i] == N_STOPPING && is_node_process(d->nodes[i].pid, d->nodes[i].config)) {
                kill((pid_t)d->nodes[i].pid, SIGKILL);
                fate[i] = N_STUCK;
            }
        wait_fates(d, fate, N_STUCK, N_KILLED, DEVNET_KILL_MS);
        for (uint32_t i = 0; i < d->node_count; i++)
            if (fate[i] != N_STUCK)
                d->nodes[i].pid = 0;
        if (any)
            st = devnet_save(c, d);
        if (st == EXIT_OK)
            st = report_down(c, d, pids, fate, !any);
    }
    if (lock >= 0)
        close(lock);
    free(d);
    free_args(&a);
    return st;
}

/* ---- status ------------------------------------------------------------------------ */

/* Whether something listens at a devnet endpoint (tcp://127.0.0.1:PORT):
 * a node whose devnet pid is gone may have been started by hand (the
 * drills of docs/devnet.md do), and asking a port nobody listens on would
 * cost the client's whole timeout. */
static bool endpoint_listens(const char *ep)
{
    const char *colon = strrchr(ep, ':');
    char *end = NULL;
    long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
    if (strncmp(ep, "tcp://127.0.0.1:", 16) != 0 || end == NULL || *end != '\0' || port <= 0 ||
        port > 65535)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (const struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* Node i: its entry in nodes and its line; whether it runs and answers.
 * A node whose devnet pid is gone but that answers at its endpoint was
 * started by hand: running, pid unknown.  Its role is the one it reports
 * (a voter restored from a hot backup runs as an observer). */
static bool status_node(const vl_ctx *c, const devnet *d, uint32_t i, vl_client *cl,
                        json_t *nodes, vl_status *s, bool *run)
{
    const devnet_node *n = &d->nodes[i];
    json_t *o = jobj();
    bool by_hand;
    long long pid_now = node_pid_now(n, &by_hand);
    bool ours = pid_now != 0;
    bool ok = (ours || endpoint_listens(n->client_endpoint)) && vl_client_status(cl, i, s) == VL_OK;
    *run = ours || ok;
    by_hand = by_hand || (ok && !ours); /* found at its endpoint only: another user's process */
    const char *role = ok ? ((s->flags & VL_STATUS_VOTER) != 0 ? "voter" : "observer")
                          : (n->voter ? "voter" : "observer");
    jset(o, "id", json_string(n->id));
    jset(o, "pid", json_integer(pid_now));
    jset(o, "running", json_boolean(*run));
    jset(o, "started_by_hand", json_boolean(by_hand));
    jset(o, "role", json_string(role));
    jset(o, "reachable", json_boolean(ok));
    jset(o, "client_endpoint", json_string(n->client_endpoint));
    if (ok)
        jset(o, "status", status_json(s));
    jappend(nodes, o);
    if (c->json)
        return ok;
    char hex[65], pid[40], num[32];
    snprintf(num, sizeof num, "%lld%s", pid_now, by_hand ? " (by hand)" : "");
    if (ours)
        snprintf(pid, sizeof pid, "pid %-8s", num);
    else
        snprintf(pid, sizeof pid, "%-12s", "pid ?(hand)");
    if (ok) {
        vl_hex_encode(hex, s->state_digest, 32);
        printf("  %-7s %-8s %s log %-6" PRIu64 " peers %u/%u  digest %.16s...\n", n->id, role,
               pid, s->log_head, (unsigned)s->peers_connected, (unsigned)(d->node_count - 1),
               hex);
    } else {
        printf("  %-7s %-8s %s\n", n->id, n->voter ? "voter" : "observer",
               *run ? "running, but does not answer" : "not running");
    }
    return ok;
}

static int status_report(const vl_ctx *c, const devnet *d, vl_client *cl)
{
    json_t *res = jobj(), *nodes = jarr();
    uint32_t running = 0, answered = 0, same = 0;
    uint8_t first[32];
    if (!c->json)
        printf("devnet in %s (genesis %s)\n", d->dir, d->genesis);
    for (uint32_t i = 0; i < d->node_count; i++) {
        vl_status s;
        bool run, ok = status_node(c, d, i, cl, nodes, &s, &run);
        running += run ? 1u : 0u;
        answered += ok ? 1u : 0u;
        if (ok && (same == 0 || memcmp(first, s.state_digest, 32) == 0)) {
            memcpy(first, s.state_digest, 32);
            same++;
        }
    }
    bool agree = answered > 0 && same == answered;
    jset(res, "dir", json_string(d->dir));
    jset(res, "nodes", nodes);
    jset(res, "running", json_integer(running));
    jset(res, "reachable", json_integer(answered));
    jset(res, "same_state", json_boolean(agree));
    if (!c->json)
        printf("%u of %u nodes running, %u answering%s\n", (unsigned)running,
               (unsigned)d->node_count, (unsigned)answered,
               agree ? ", all with the same state digest" : "");
    int st = c->json ? emit(c, res, NULL) : (json_decref(res), EXIT_OK);
    if (st == EXIT_OK && answered < d->node_count)
        st = fail(c, answered == 0 ? EXIT_UNREACHABLE : EXIT_FAIL,
                  "%u of %u nodes do not answer%s", (unsigned)(d->node_count - answered),
                  (unsigned)d->node_count,
                  running == 0 ? " (the devnet is stopped: `voucherctl devnet up`)" : "");
    return st;
}

static int devnet_status(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "dir", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = 1};
    devnet *d = NULL;
    vl_genesis *g = NULL;
    vl_client *cl = NULL;
    const char *eps[VL_MAX_NODES];
    int st = parse_args(c, &a, argc, argv);
    if (st == EXIT_OK && (st = devnet_load(c, opts[0].value, &d)) == EXIT_OK)
        st = load_genesis(c, d->genesis, &g);
    for (uint32_t i = 0; st == EXIT_OK && i < d->node_count; i++)
        eps[i] = d->nodes[i].client_endpoint;
    if (st == EXIT_OK && vl_client_new(&cl, g, eps, d->node_count, 1000) != VL_OK)
        st = fail(c, EXIT_FAIL, "cannot make a client");
    if (st == EXIT_OK)
        st = status_report(c, d, cl);
    vl_client_destroy(&cl);
    free(g);
    free(d);
    free_args(&a);
    return st;
}

/* ---- dispatch -------------------------------------------------------------------------- */

int cmd_devnet(vl_ctx *c, int argc, char **argv)
{
    static const struct {
        const char *name, *cmd;
        int (*run)(vl_ctx *c, int argc, char **argv);
    } subs[] = {{"up", "devnet up", devnet_up},
                {"down", "devnet down", devnet_down},
                {"status", "devnet status", devnet_status},
                {"demo", "devnet demo", devnet_demo}};
    for (size_t i = 0; argc > 0 && i < COUNT_OF(subs); i++)
        if (strcmp(argv[0], subs[i].name) == 0) {
            c->cmd = subs[i].cmd;
            return subs[i].run(c, argc - 1, argv + 1);
        }
    return fail(c, EXIT_USAGE, "%s%s%s: want up, down, status or demo",
                argc > 0 ? "unknown subcommand \"" : "missing the subcommand",
                argc > 0 ? argv[0] : "", argc > 0 ? "\"" : "");
}
