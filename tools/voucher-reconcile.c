/* voucher-reconcile - verify every node's log against the genesis alone,
 * compare the nodes, and recompute who owes what to whom
 * (docs/reconcile.md).
 *
 *   voucher-reconcile --genesis FILE (--node ENDPOINT | --data-dir DIR |
 *                     --log FILE)... [--json [FILE]] [--csv DIR]
 *                     [--html FILE] [--threads N] [--as-of TIME]
 *                     [--timeout-ms N] [--progress]
 *
 * Exit status: 0 everything verified and every node agrees; 1 a
 * discrepancy (an entry, certificate or checkpoint that fails, a node
 * missing certificates or unreachable, a fork, a ledger rule broken) or a
 * report that could not be written; 2 a usage error (bad options, no
 * source, a genesis that does not load).
 *
 * Design notes
 *  1. The only thing trusted is the genesis.  A node's own claims (its
 *     index in STATUS, an export file's header) only say which node a log
 *     claims to be; the checkpoint signature is what binds it.
 *  2. Sources are read first (the network ones one after another, over
 *     the client protocol: GET_CHECKPOINT, then GET_LOG in batches of
 *     VL_MAX_MSG_ITEMS up to the log head the first reply states), then rec_verify_all runs the
 *     passes on every core, then rec_report builds the JSON report; the
 *     CSV and HTML renderers (reconcile_report.h) read only that report.
 *  3. Bytes are not copied: export files are mapped, data directories are
 *     read in one LMDB read transaction kept open, GET_LOG replies are kept.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rec.h"
#include "rec_datadir.h"
#include "reconcile_report.h"
#include "vl_client.h"
#include "vl_file.h"
#include "vl_logfile.h"
#include "vl_time.h"

#define EXIT_OK 0
#define EXIT_DISCREPANCY 1
#define EXIT_USAGE 2
/* --threads bound, and the default per-node reply timeout. */
#define MAX_THREADS 256
#define DEFAULT_TIMEOUT_MS 10000u

typedef struct {
    const char *genesis, *json, *csv, *html;
    bool json_stdout, progress, progress_set;
    unsigned threads;
    uint32_t timeout_ms;
    uint64_t as_of_s;
    bool as_of_set;
} options;

/* Entries read from one source at most (--max-entries): a node that
 * claims an endless log cannot make the auditor exhaust its memory. */
static uint64_t max_entries = 50000000u;

static const char usage_text[] =
    "usage: voucher-reconcile --genesis FILE (--node ENDPOINT | --data-dir DIR | --log FILE)...\n"
    "       voucher-reconcile --devnet DIR [...]   (DIR/genesis.json, a --node per devnet node)\n"
    "                         [--json [FILE]] [--csv DIR] [--html FILE] [--threads N]\n"
    "                         [--as-of YYYY-MM-DD[THH:MM:SSZ] | --as-of UNIX_SECONDS]\n"
    "                         [--timeout-ms N] [--max-entries N] [--progress | --no-progress]\n"
    "Verifies every log against the genesis alone, compares the nodes and recomputes the\n"
    "ledger (docs/reconcile.md). --json with no FILE (or -) prints the report on stdout.\n"
    "Exit 0: all verified and agreeing; 1: a discrepancy; 2: a usage error.\n";

__attribute__((format(printf, 1, 2))) static int usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "voucher-reconcile: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s", usage_text);
    va_end(ap);
    return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_time(const char *s, uint64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end != NULL && *end == '\0') {
        struct tm asked = tm, back;
        time_t t = timegm(&tm);
        /* strptime takes 2026-02-30 and 23:59:60, and timegm moves them on:
         * refuse a time that is not the one asked for */
        if (t < 0 || gmtime_r(&t, &back) == NULL || back.tm_year != asked.tm_year ||
            back.tm_mon != asked.tm_mon || back.tm_mday != asked.tm_mday ||
            back.tm_hour != asked.tm_hour || back.tm_min != asked.tm_min ||
            back.tm_sec != asked.tm_sec)
            return false;
        *out = (uint64_t)t;
        return true;
    }
    return parse_u64(s, UINT32_MAX * 16ull, out);
}

static rec_source *add_source(rec_run *r, rec_src_kind kind, const char *arg)
{
    if (r->src_count == REC_MAX_SOURCES)
        return NULL;
    rec_source *s = &r->src[r->src_count++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->arg = arg;
    s->node = -1;
    s->cp_best = -1;
    s->verified = true; /* until an error says otherwise (rec_error_add) */
    snprintf(s->source, sizeof s->source, "%s %s",
             kind == REC_SRC_NODE ? "node" : kind == REC_SRC_DATADIR ? "data-dir" : "log", arg);
    return s;
}

/* --devnet DIR: DIR/genesis.json (unless --genesis is given) and a --node
 * per node of DIR/devnet.json, in its order.  The strings live in static
 * storage: the sources point at them until exit. */
static char devnet_genesis[4096];
static char devnet_endpoints[REC_MAX_SOURCES][256];

static int add_devnet(options *o, rec_run *r, const char *dir)
{
    char path[4096];
    json_error_t jerr;
    if (snprintf(path, sizeof path, "%s/devnet.json", dir) >= (int)sizeof path)
        return usage("--devnet \"%s\": path too long", dir);
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *nodes = root != NULL ? json_object_get(root, "nodes") : NULL;
    if (!json_is_array(nodes)) {
        json_decref(root);
        return usage("--devnet: %s: not a devnet description (%s)", path,
                     root == NULL ? jerr.text : "no \"nodes\" list");
    }
    int rc = EXIT_OK;
    for (size_t k = 0; rc == EXIT_OK && k < json_array_size(nodes); k++) {
        const char *ep = json_string_value(json_object_get(json_array_get(nodes, k),
                                                           "client_endpoint"));
        if (ep == NULL || *ep == '\0' || strlen(ep) >= sizeof devnet_endpoints[0])
            rc = usage("--devnet: %s: node %zu has no client_endpoint", path, k + 1);
        else if (r->src_count == REC_MAX_SOURCES)
            rc = usage("more than %d sources", REC_MAX_SOURCES);
        else {
            char *slot = devnet_endpoints[r->src_count];
            memcpy(slot, ep, strlen(ep) + 1);
            add_source(r, REC_SRC_NODE, slot);
        }
    }
    json_decref(root);
    if (rc == EXIT_OK && o->genesis == NULL) {
        if (snprintf(devnet_genesis, sizeof devnet_genesis, "%s/genesis.json", dir) >=
            (int)sizeof devnet_genesis)
            return usage("--devnet \"%s\": path too long", dir);
        o->genesis = devnet_genesis;
    }
    return rc;
}

/* A value option: "--name VALUE" or "--name=VALUE". */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

static int parse_one(options *o, rec_run *r, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v;
    uint64_t n;
    if (strcmp(a, "--json") == 0 && (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0 ||
                                     strcmp(argv[*i + 1], "-") == 0)) {
        o->json_stdout = true; /* "--json" alone or "--json -": stdout */
        *i += *i + 1 < argc && strcmp(argv[*i + 1], "-") == 0 ? 1 : 0;
    } else if ((v = opt_value(argc, argv, i, "--json")) != NULL) {
        o->json = v;
        o->json_stdout = strcmp(v, "-") == 0;
    } else if ((v = opt_value(argc, argv, i, "--genesis")) != NULL) {
        o->genesis = v;
    } else if ((v = opt_value(argc, argv, i, "--csv")) != NULL) {
        o->csv = v;
    } else if ((v = opt_value(argc, argv, i, "--html")) != NULL) {
        o->html = v;
    } else if ((v = opt_value(argc, argv, i, "--node")) != NULL ||
               (v = opt_value(argc, argv, i, "--data-dir")) != NULL ||
               (v = opt_value(argc, argv, i, "--log")) != NULL) {
        rec_src_kind k = strncmp(a, "--node", 6) == 0   ? REC_SRC_NODE
                         : strncmp(a, "--log", 5) == 0 ? REC_SRC_LOG
                                                        : REC_SRC_DATADIR;
        if (*v == '\0')
            return usage("%s needs a value", a);
        if (k == REC_SRC_NODE && strstr(v, "://") == NULL)
            return usage("--node \"%s\": a ZeroMQ endpoint such as tcp://127.0.0.1:7701", v);
        if (add_source(r, k, v) == NULL)
            return usage("more than %d sources", REC_MAX_SOURCES);
    } else if ((v = opt_value(argc, argv, i, "--devnet")) != NULL) {
        int st = add_devnet(o, r, v);
        if (st != EXIT_OK)
            return st;
    } else if ((v = opt_value(argc, argv, i, "--threads")) != NULL) {
        if (!parse_u64(v, MAX_THREADS, &n) || n == 0)
            return usage("--threads \"%s\": a number 1..256", v);
        o->threads = (unsigned)n;
    } else if ((v = opt_value(argc, argv, i, "--max-entries")) != NULL) {
        if (!parse_u64(v, UINT32_MAX, &n) || n == 0)
            return usage("--max-entries \"%s\": a number 1..4294967295", v);
        max_entries = n;
    } else if ((v = opt_value(argc, argv, i, "--timeout-ms")) != NULL) {
        if (!parse_u64(v, VL_CLIENT_MAX_TIMEOUT_MS, &n) || n < VL_CLIENT_MIN_TIMEOUT_MS)
            return usage("--timeout-ms \"%s\": a number 10..600000", v);
        o->timeout_ms = (uint32_t)n;
    } else if ((v = opt_value(argc, argv, i, "--as-of")) != NULL) {
        if (!parse_time(v, &o->as_of_s))
            return usage("--as-of \"%s\": a real date and time as YYYY-MM-DD or "
                         "YYYY-MM-DDTHH:MM:SSZ (UTC), or unix seconds",
                         v);
        o->as_of_set = true;
    } else if (strcmp(a, "--progress") == 0 || strcmp(a, "--no-progress") == 0) {
        o->progress = a[2] == 'p';
        o->progress_set = true;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        fputs(usage_text, stdout);
        exit(EXIT_OK);
    } else {
        return usage("unknown argument \"%s\"", a);
    }
    return EXIT_OK;
}

static int parse(options *o, rec_run *r, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    for (int i = 1; i < argc; i++) {
        int st = parse_one(o, r, argc, argv, &i);
        if (st != EXIT_OK)
            return st;
    }
    if (o->genesis == NULL || *o->genesis == '\0')
        return usage("%s", "--genesis FILE is required");
    if (r->src_count == 0)
        return usage("%s", "give at least one --node, --data-dir or --log");
    if ((o->json != NULL && *o->json == '\0') || (o->csv != NULL && *o->csv == '\0') ||
        (o->html != NULL && *o->html == '\0'))
        return usage("%s", "--json, --csv and --html need a value");
    return EXIT_OK;
}

/* ---- reading the sources ---------------------------------------------------------------- */

static vl_err push(void *arg, uint8_t type, const uint8_t *buf, size_t len)
{
    rec_source *s = arg;
    if (type == VL_LOGREC_ENTRY && s->entry_count == max_entries) {
        rec_error_add(s, s->entry_count + 1, VL_ERR_LIMIT,
                      "more than %" PRIu64 " entries: the rest are not read (--max-entries)",
                      max_entries);
        return VL_ERR_LIMIT;
    }
    if (type == VL_LOGREC_ENTRY) {
        if (s->entry_count == s->entry_cap) {
            uint64_t cap = s->entry_cap == 0 ? 4096u : s->entry_cap * 2u;
            rec_blob *n = realloc(s->entries, cap * sizeof *n);
            if (n == NULL)
                return VL_ERR_NOMEM;
            s->entries = n;
            s->entry_cap = cap;
        }
        s->entries[s->entry_count++] = (rec_blob){buf, len};
    } else if (type == VL_LOGREC_CHECKPOINT) {
        if (s->checkpoint_count == REC_MAX_CHECKPOINTS) {
            rec_error_add(s, 0, VL_ERR_LIMIT, "more than %d checkpoints: the rest are ignored",
                          REC_MAX_CHECKPOINTS);
            return VL_OK;
        }
        s->checkpoints[s->checkpoint_count++] = (rec_blob){buf, len};
    } else if (type == VL_LOGREC_LOCK) {
        if (s->lock_count == REC_MAX_LOCKS)
            return VL_ERR_LIMIT;
        if (s->lock_count == s->lock_cap) {
            uint32_t cap = s->lock_cap == 0 ? 64u : s->lock_cap * 2u;
            rec_blob *n = realloc(s->locks, (size_t)cap * sizeof *n);
            if (n == NULL)
                return VL_ERR_NOMEM;
            s->locks = n;
            s->lock_cap = cap;
        }
        s->locks[s->lock_count++] = (rec_blob){buf, len};
    }
    return VL_OK;
}

static void release_logfile(void *p)
{
    vl_logfile_reader *r = p;
    vl_logfile_close_reader(&r);
}

static void release_datadir(void *p)
{
    rec_datadir *d = p;
    rec_datadir_close(&d);
}

/* The node index a log claims, checked against the genesis. */
static void claim_node(const vl_genesis *g, rec_source *s, unsigned node, const char *id)
{
    if (node >= g->node_count || (id != NULL && strcmp(g->nodes[node].id, id) != 0)) {
        rec_error_add(s, 0, VL_ERR_UNKNOWN_KEY, "the log claims to be node %u (%s): not a node "
                      "of this genesis", node, id != NULL ? id : "?");
        return;
    }
    s->node = (int)node;
}

static void load_log(const vl_genesis *g, rec_source *s)
{
    vl_logfile_reader *lf = NULL;
    char err[512] = "";
    vl_err e = vl_logfile_open(s->arg, &lf, err, sizeof err);
    if (e != VL_OK) {
        rec_error_add(s, 0, e, "%s", err);
        return;
    }
    s->owner = lf;
    s->release = release_logfile;
    s->loaded = true;
    if (memcmp(vl_logfile_network_id(lf), g->network_id, 32) != 0)
        rec_error_add(s, 0, VL_ERR_WRONG_NETWORK, "the log is of another network");
    claim_node(g, s, vl_logfile_node_index(lf), vl_logfile_node_id(lf));
    for (uint64_t guard = 0; guard < UINT64_MAX; guard++) { /* ends at the file's end */
        uint8_t type;
        const uint8_t *buf;
        size_t len;
        e = vl_logfile_next(lf, &type, &buf, &len, err, sizeof err);
        if (e != VL_OK) {
            rec_error_add(s, s->entry_count + 1, e, "%s: %s", s->arg, err);
            break;
        }
        if (type == VL_LOGREC_END)
            break;
        if ((e = push(s, type, buf, len)) != VL_OK) {
            if (e != VL_ERR_LIMIT) /* push said it */
                rec_error_add(s, 0, e, "%s: %s", s->arg, vl_strerror(e));
            break;
        }
    }
}

static void load_datadir(const vl_genesis *g, rec_source *s)
{
    rec_datadir *d = NULL;
    char err[512] = "";
    /* MDB_NOLOCK: a stopped node's directory (or a copy) is read as a
     * private copy, so its lock.mdb, which the auditor cannot trust, is
     * never read (docs/reconcile.md, "What the auditor trusts"). */
    vl_err e = rec_datadir_open(s->arg, true, &d, err, sizeof err);
    if (e != VL_OK) {
        rec_error_add(s, 0, e, "%s", err);
        return;
    }
    s->owner = d;
    s->release = release_datadir;
    s->loaded = true;
    if (memcmp(rec_datadir_network_id(d), g->network_id, 32) != 0)
        rec_error_add(s, 0, VL_ERR_WRONG_NETWORK, "the data directory is of another network");
    claim_node(g, s, rec_datadir_node_index(d), NULL);
    err[0] = '\0';
    e = rec_datadir_walk(d, push, s, err, sizeof err);
    if (e != VL_OK && e != VL_ERR_LIMIT) /* VL_ERR_LIMIT: push said it */
        rec_error_add(s, e == VL_ERR_CORRUPT ? s->entry_count + 1 : 0, e, "%s",
                      err[0] != '\0' ? err : vl_strerror(e));
}

/* What a --node source keeps: the GET_LOG replies and the checkpoint. */
typedef struct {
    vl_client_log *logs;
    size_t count;
    uint8_t checkpoint[256];
} net_owner;

static void release_net(void *p)
{
    net_owner *o = p;
    for (size_t i = 0; i < o->count; i++)
        vl_client_log_free(&o->logs[i]);
    free(o->logs);
    free(o);
}

/* Entries 1.. up to the log head the node states in its first reply: a
 * node that keeps applying cannot keep the loop going (note 2). */
static vl_err pull_log(vl_client *cl, rec_source *s, net_owner *o)
{
    uint64_t head = UINT64_MAX;
    for (uint64_t next = 1;;) { /* ends: every round advances next or stops */
        vl_client_log *n = realloc(o->logs, (o->count + 1) * sizeof *n);
        if (n == NULL)
            return VL_ERR_NOMEM;
        o->logs = n;
        vl_client_log *lg = &o->logs[o->count++];
        vl_err e = vl_client_get_log(cl, 0, next, VL_MAX_MSG_ITEMS, lg);
        if (e != VL_OK) {
            rec_error_add(s, next, e, "GET_LOG from entry %" PRIu64 ": %s%s%s", next,
                          vl_strerror(e), lg->message[0] != '\0' ? ": " : "", lg->message);
            return VL_OK;
        }
        head = head < lg->log_head ? head : lg->log_head;
        for (uint32_t i = 0; i < lg->count && next <= head; i++, next++)
            if ((e = push(s, VL_LOGREC_ENTRY, lg->entries[i], lg->entry_lens[i])) != VL_OK)
                return e;
        if (lg->count == 0 || next > head)
            return VL_OK;
    }
}

static void load_node(const vl_genesis *g, rec_source *s, uint32_t timeout_ms)
{
    vl_client *cl = NULL;
    const char *ep = s->arg;
    vl_status st;
    vl_checkpoint cp;
    net_owner *o = calloc(1, sizeof *o);
    vl_err e = o == NULL ? VL_ERR_NOMEM : vl_client_new(&cl, g, &ep, 1, timeout_ms);
    if (e == VL_OK && (e = vl_client_status(cl, 0, &st)) != VL_OK) {
        /* no claim to go by: say whose endpoint it is in the genesis, if anyone's */
        const char *owner = NULL;
        for (uint32_t k = 0; k < g->node_count && owner == NULL; k++)
            if (strcmp(g->nodes[k].client_endpoint, ep) == 0)
                owner = g->nodes[k].id;
        if (owner != NULL)
            rec_error_add(s, 0, e, "STATUS: %s (%s is %s's client endpoint in the genesis)",
                          vl_strerror(e), ep, owner);
        else
            rec_error_add(s, 0, e, "STATUS: %s", vl_strerror(e));
    }
    else if (e != VL_OK)
        rec_error_add(s, 0, e, "%s", vl_strerror(e));
    if (e == VL_OK) {
        s->owner = o;
        s->release = release_net;
        s->loaded = true;
        claim_node(g, s, st.node, NULL);
        /* the checkpoint first: the log pulled afterwards reaches its index */
        vl_err ce = vl_client_get_checkpoint(cl, 0, &cp);
        size_t len = 0;
        if (ce == VL_OK && vl_checkpoint_encode(&cp, o->checkpoint, sizeof o->checkpoint, &len) ==
                               VL_OK)
            push(s, VL_LOGREC_CHECKPOINT, o->checkpoint, len);
        else if (ce != VL_OK && ce != VL_ERR_UNKNOWN_ACCOUNT)
            rec_error_add(s, 0, ce, "GET_CHECKPOINT: %s", vl_strerror(ce));
        if ((e = pull_log(cl, s, o)) != VL_OK && e != VL_ERR_LIMIT) /* push said it */
            rec_error_add(s, 0, e, "%s", vl_strerror(e));
    } else {
        free(o);
    }
    vl_client_destroy(&cl);
}

/* ---- main ----------------------------------------------------------------------------------- */

static int load_genesis(const char *path, vl_genesis *g)
{
    char *buf = NULL, err[512] = "";
    size_t len = 0;
    vl_err e = vl_file_read(path, 4u << 20, &buf, &len, err, sizeof err);
    if (e == VL_OK) {
        size_t i = 0;
        while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' || buf[i] == '\r'))
            i++;
        if (i < len && buf[i] == '{')
            e = vl_genesis_load_json(g, buf, len, err, sizeof err);
        else if ((e = vl_genesis_decode((const uint8_t *)buf, len, g)) != VL_OK)
            snprintf(err, sizeof err, "%s: neither a JSON nor a binary genesis: %s", path,
                     vl_strerror(e));
    }
    free(buf);
    if (e != VL_OK)
        fprintf(stderr, "voucher-reconcile: --genesis %s: %s\n", path,
                err[0] != '\0' ? err : vl_strerror(e));
    return e == VL_OK ? EXIT_OK : EXIT_USAGE;
}

static int write_outputs(const options *o, json_t *rep)
{
    char err[512] = "";
    int st = EXIT_OK;
    if (o->json_stdout) {
        if (json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
            fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "voucher-reconcile: writing the report to stdout failed\n");
            st = EXIT_DISCREPANCY;
        }
    } else if (o->json != NULL) {
        char *text = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        vl_err e = text == NULL ? VL_ERR_NOMEM : vl_file_replace(o->json, text, strlen(text), 0644);
        if (e != VL_OK) {
            fprintf(stderr, "voucher-reconcile: --json %s: %s\n", o->json,
                    e == VL_ERR_IO ? strerror(errno) : vl_strerror(e));
            st = EXIT_DISCREPANCY;
        }
        free(text);
    }
    if (o->csv != NULL && vr_csv_write(rep, o->csv, err, sizeof err) != 0) {
        fprintf(stderr, "voucher-reconcile: --csv %s: %s\n", o->csv, err);
        st = EXIT_DISCREPANCY;
    }
    if (o->html != NULL && vr_html_write(rep, o->html, err, sizeof err) != 0) {
        fprintf(stderr, "voucher-reconcile: --html %s: %s\n", o->html, err);
        st = EXIT_DISCREPANCY;
    }
    return st;
}

/* A few lines for people on stdout (unless the JSON goes there). */
static void print_human(const rec_run *r, json_t *rep, bool ok)
{
    json_t *sum = json_object_get(rep, "summary");
    printf("%s: %" PRIu32 " node(s), %" JSON_INTEGER_FORMAT " verified, %s\n",
           ok ? "OK" : "DISCREPANCY", r->src_count,
           json_integer_value(json_object_get(sum, "nodes_verified")),
           json_is_true(json_object_get(sum, "nodes_agreeing")) ? "all agreeing"
                                                                : "NOT all agreeing");
    printf("certificates %" JSON_INTEGER_FORMAT " (issue %" JSON_INTEGER_FORMAT
           ", redeem %" JSON_INTEGER_FORMAT ", revoke %" JSON_INTEGER_FORMAT
           "), signatures checked %" JSON_INTEGER_FORMAT ", %.2f s\n",
           json_integer_value(json_object_get(sum, "certificates")),
           json_integer_value(json_object_get(sum, "issuances")),
           json_integer_value(json_object_get(sum, "redemptions")),
           json_integer_value(json_object_get(sum, "revocations")),
           json_integer_value(json_object_get(sum, "signatures_checked")), r->seconds);
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(rep, "nodes"), i, n) {
        printf("  %-16s %-8s entries %" JSON_INTEGER_FORMAT ", missing %" JSON_INTEGER_FORMAT
               ", errors %" JSON_INTEGER_FORMAT "%s  (%s)\n",
               json_string_value(json_object_get(n, "id")),
               json_is_true(json_object_get(n, "verified")) ? "verified" : "FAILED",
               json_integer_value(json_object_get(n, "entries")),
               json_integer_value(json_object_get(n, "missing_count")),
               json_integer_value(json_object_get(n, "errors_total")),
               /* nothing binds such a log to its node (docs/reconcile.md) */
               json_is_null(json_object_get(n, "checkpoint")) ? ", no signed checkpoint" : "",
               json_string_value(json_object_get(n, "source")));
        /* the first error's words, so that a failed source says why without --json */
        json_t *first = json_array_get(json_object_get(n, "errors"), 0);
        json_int_t more = json_integer_value(json_object_get(n, "errors_total")) - 1;
        if (first != NULL) {
            json_t *entry = json_object_get(first, "entry");
            if (json_is_integer(entry))
                printf("    entry %" JSON_INTEGER_FORMAT ": ", json_integer_value(entry));
            else
                printf("    ");
            printf("%s", json_string_value(json_object_get(first, "message")));
            if (more > 0)
                printf(" (and %" JSON_INTEGER_FORMAT " more: --json lists them)", more);
            printf("\n");
        }
    }
    printf("forks %zu, conflicts %" JSON_INTEGER_FORMAT ", rule violations %" JSON_INTEGER_FORMAT
           "\n",
           json_array_size(json_object_get(rep, "forks")),
           json_integer_value(json_object_get(rep, "conflicts_total")),
           json_integer_value(json_object_get(rep, "violations_total")));
}

int main(int argc, char **argv)
{
    static rec_source sources[REC_MAX_SOURCES];
    rec_run r = {.src = sources};
    options o;
    int st = parse(&o, &r, argc, argv);
    vl_genesis *g = st == EXIT_OK ? calloc(1, sizeof *g) : NULL;
    if (st != EXIT_OK)
        return st;
    if (g == NULL || (st = load_genesis(o.genesis, g)) != EXIT_OK) {
        free(g);
        return g == NULL ? EXIT_DISCREPANCY : st;
    }
    double t0 = vl_seconds(CLOCK_MONOTONIC);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r.g = g;
    r.threads = o.threads != 0 ? o.threads : cpus > 0 && cpus <= MAX_THREADS ? (unsigned)cpus : 1u;
    r.progress_tty = isatty(STDERR_FILENO) == 1;
    r.progress = o.progress_set ? o.progress : r.progress_tty;
    r.as_of_s = o.as_of_set ? o.as_of_s : (uint64_t)time(NULL);
    for (uint32_t k = 0; k < r.src_count; k++) {
        rec_source *s = &r.src[k];
        if (r.progress)
            fprintf(stderr, "voucher-reconcile: reading %s\n", s->source);
        if (s->kind == REC_SRC_LOG)
            load_log(g, s);
        else if (s->kind == REC_SRC_DATADIR)
            load_datadir(g, s);
        else
            load_node(g, s, o.timeout_ms);
        s->verified = s->verified && s->loaded;
    }
    json_t *rep = NULL;
    bool ok = false;
    double t1 = vl_seconds(CLOCK_MONOTONIC), t2 = t1;
    if (r.progress)
        fprintf(stderr, "voucher-reconcile: sources read (%.2f s)\n", t1 - t0);
    if (rec_verify_all(&r)) {
        t2 = vl_seconds(CLOCK_MONOTONIC);
        r.seconds = t2 - t0;
        rep = rec_report(&r, &ok);
    }
    if (r.progress && rep != NULL)
        fprintf(stderr, "voucher-reconcile: union, comparison and ledger (%.2f s)\n",
                vl_seconds(CLOCK_MONOTONIC) - t2);
    if (rep == NULL) {
        fprintf(stderr, "voucher-reconcile: out of memory\n");
        st = EXIT_DISCREPANCY;
    } else {
        r.seconds = vl_seconds(CLOCK_MONOTONIC) - t0;
        json_object_set_new(json_object_get(rep, "summary"), "seconds", json_real(r.seconds));
        st = write_outputs(&o, rep);
        if (!o.json_stdout)
            print_human(&r, rep, ok);
        if (st == EXIT_OK && !ok)
            st = EXIT_DISCREPANCY;
    }
    json_decref(rep);
    for (uint32_t k = 0; k < r.src_count; k++) {
        free(r.src[k].entries);
        free(r.src[k].locks);
        free(r.src[k].cert_of);
        free(r.src[k].time_of);
        free(r.src[k].cert_hashes);
        if (r.src[k].release != NULL)
            r.src[k].release(r.src[k].owner);
    }
    rec_table_free(&r.by_cert_hash);
    free(r.certs);
    free(r.orders);
    free(g);
    return st;
}
