/* voucherctl.c - the command-line tool of members and operators: keys, the
 * genesis, and a look inside any wire object.
 *
 * Design notes
 *  1. One static function per subcommand, found through a dispatch table
 *     (`commands`).  All of them parse their options with one shared parser
 *     (parse_args) driven by a per-command table of vl_opt, so every command
 *     accepts --json and --help the same way and reports the same usage
 *     errors.
 *  2. Exit status: 0 success; 1 the operation failed (a file, a key, a
 *     genesis rule, a decode or a verification); 2 usage (unknown option,
 *     missing or malformed argument).  Every failure prints one line,
 *     "voucherctl CMD: what went wrong", to stderr; stdout carries only
 *     results, so scripts can parse it.
 *  3. Output: each command builds its result as one jansson object.  With
 *     --json it is printed compact on one line; without, commands print a
 *     sentence, or indented JSON where the JSON is the content (keygen's
 *     public keys, inspect's dump).  A jansson allocation failure anywhere
 *     sets `oom`, and the command fails instead of printing half a result.
 *  4. Integers: jansson integers are signed 64-bit, so a u64 above
 *     INT64_MAX (possible in a decoded object, never in a sane one) is
 *     printed as a decimal string; everything else is a JSON integer.
 *     Amounts are integers of fen, hashes and keys lower-case hex.
 *  5. Secrets: keygen and sign-demo hold secret keys in vl_keyfile structs
 *     and wipe them before returning.  `genesis` and sign-demo's issuer read
 *     only PUBLIC keys: given a key file they wipe the secret strings in the
 *     parsed JSON (and the file text) before freeing them.
 *  6. inspect decodes recursively (a message holds orders, certificates,
 *     entries...; an entry holds a certificate, which holds an order).  The
 *     nesting is fixed by the wire format (at most message > entry > cert >
 *     order), so the recursion is bounded without a counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_limits.h"
#include "vl_verify.h"
#include "vl_wire.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Largest key file or public-key JSON read (a key file is ~300 bytes). */
#define MAX_KEY_JSON_BYTES (64u * 1024u)
/* Largest genesis read (a maximal JSON genesis is ~400 KiB, binary less). */
#define MAX_GENESIS_BYTES (4u << 20)
/* Longest --node/--issuer/--provider specification. */
#define MAX_SPEC_LEN 1024
/* Entries remembered by inspect's signature cache (one per voter and root). */
#define INSPECT_CACHE_ENTRIES 4096

/* The REDEEM order sign-demo makes: a voucher's first redemption (seq 0,
 * docs/consensus.md), 1000.00 CNY for 12 GPU-hours. */
#define DEMO_SERIAL 1
#define DEMO_SEQ 0
#define DEMO_AMOUNT_FEN 100000
#define DEMO_GPU_MILLI_HOURS 12000

typedef struct {
    const char *cmd; /* the subcommand, for messages */
    bool json;       /* --json: compact machine output */
} vl_ctx;

/* ---- errors ---------------------------------------------------------------- */

/* Print "voucherctl CMD: message" to stderr and return status. */
__attribute__((format(printf, 3, 4))) static int fail(const vl_ctx *c, int status,
                                                      const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "voucherctl %s: ", c->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (status == EXIT_USAGE)
        fprintf(stderr, " (see: voucherctl %s --help)", c->cmd);
    fputc('\n', stderr);
    return status;
}

/* errno's text after a failed VL_ERR_IO call, else the error's own text. */
static const char *err_detail(vl_err rc, int saved_errno)
{
    return rc == VL_ERR_IO && saved_errno != 0 ? strerror(saved_errno) : vl_strerror(rc);
}

/* ---- option parsing --------------------------------------------------------- */

typedef enum { OPT_FLAG, OPT_VALUE, OPT_LIST } vl_opt_kind;

typedef struct {
    const char *name; /* without the leading "--" */
    vl_opt_kind kind;
    bool required;
    /* results */
    bool set;           /* OPT_FLAG */
    const char *value;  /* OPT_VALUE; NULL when absent */
    const char **list;  /* OPT_LIST, in command-line order (heap) */
    unsigned count;
} vl_opt;

typedef struct {
    vl_opt *opts;
    size_t opt_count;
    size_t max_pos; /* positional arguments required (and allowed) */
    const char *pos_name; /* their name in messages, e.g. "FILE" */
    size_t pos_count;
    const char *pos[2];
} vl_args;

static vl_opt *find_opt(vl_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->opt_count; i++)
        if (strlen(a->opts[i].name) == len && strncmp(a->opts[i].name, name, len) == 0)
            return &a->opts[i];
    return NULL;
}

/* Store the value of option o. */
static int set_value(const vl_ctx *c, vl_opt *o, const char *val, int argc)
{
    if (o->kind == OPT_VALUE) {
        if (o->value != NULL)
            return fail(c, EXIT_USAGE, "--%s given twice", o->name);
        o->value = val;
        return EXIT_OK;
    }
    if (o->list == NULL && (o->list = calloc((size_t)argc, sizeof *o->list)) == NULL)
        return fail(c, EXIT_FAIL, "out of memory");
    o->list[o->count++] = val; /* at most argc values */
    return EXIT_OK;
}

/* "--name value", "--name=value", flags, --json and positionals. */
static int parse_args(vl_ctx *c, vl_args *a, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--json") == 0) {
            c->json = true;
            continue;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->pos_count == a->max_pos)
                return fail(c, EXIT_USAGE, "unexpected argument \"%s\"", arg);
            a->pos[a->pos_count++] = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(arg, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        vl_opt *o = arg[1] == '-' ? find_opt(a, name, len) : NULL;
        if (o == NULL)
            return fail(c, EXIT_USAGE, "unknown option %s", arg);
        if (o->kind == OPT_FLAG) {
            if (eq != NULL)
                return fail(c, EXIT_USAGE, "--%s takes no value", o->name);
            o->set = true;
            continue;
        }
        const char *val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (val == NULL)
            return fail(c, EXIT_USAGE, "--%s needs a value", o->name);
        int st = set_value(c, o, val, argc);
        if (st != EXIT_OK)
            return st;
    }
    for (size_t i = 0; i < a->opt_count; i++)
        if (a->opts[i].required && a->opts[i].value == NULL)
            return fail(c, EXIT_USAGE, "missing --%s", a->opts[i].name);
    if (a->pos_count < a->max_pos)
        return fail(c, EXIT_USAGE, "missing %s", a->pos_name);
    return EXIT_OK;
}

static void free_args(vl_args *a)
{
    for (size_t i = 0; i < a->opt_count; i++)
        free(a->opts[i].list);
}

/* A decimal number 0..max, digits only. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* ---- JSON output ---------------------------------------------------------------- */

static bool oom; /* a JSON value could not be built (note 3) */

static void jset(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        oom = true;
}

static void jappend(json_t *arr, json_t *v)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        oom = true;
}

static json_t *jobj(void)
{
    json_t *o = json_object();
    oom = oom || o == NULL;
    return o;
}

static json_t *jarr(void)
{
    json_t *a = json_array();
    oom = oom || a == NULL;
    return a;
}

static json_t *jhex(const uint8_t *bytes, size_t len)
{
    char hex[2 * 64 + 1];
    if (len > 64)
        return NULL;
    vl_hex_encode(hex, bytes, len);
    return json_string(hex);
}

/* u64 as an integer, or as a decimal string above INT64_MAX (note 4). */
static json_t *ju64(uint64_t v)
{
    char text[24];
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    snprintf(text, sizeof text, "%" PRIu64, v);
    return json_string(text);
}

/* Text fields are printable ASCII (checked by the decoders). */
static json_t *jtext(vl_bytes b)
{
    return json_stringn(b.len > 0 ? (const char *)b.ptr : "", b.len);
}

/* Print result (taken) and return EXIT_OK, or fail.  human, when not NULL,
 * replaces the indented JSON for people. */
static int emit(const vl_ctx *c, json_t *result, const char *human)
{
    char *text = NULL;
    if (!oom && result != NULL && (c->json || human == NULL))
        text = json_dumps(result, c->json ? JSON_COMPACT : JSON_INDENT(2));
    json_decref(result);
    if (text == NULL && (c->json || human == NULL))
        return fail(c, EXIT_FAIL, "out of memory");
    printf("%s\n", text != NULL ? text : human);
    free(text);
    if (fflush(stdout) != 0)
        return fail(c, EXIT_FAIL, "cannot write the output: %s", strerror(errno));
    return EXIT_OK;
}

/* ---- files ------------------------------------------------------------------------ */

/* Read a whole regular file of at most max bytes (NUL-terminated copy). */
static int read_file(const vl_ctx *c, const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(c, EXIT_FAIL, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        close(fd);
        return fail(c, EXIT_FAIL, "%s: not a regular file of at most %zu bytes", path, max);
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    while (buf != NULL && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int e = errno;
    close(fd);
    if (buf == NULL || got != size) {
        free(buf);
        return fail(c, EXIT_FAIL, "%s: %s", path, buf == NULL ? "out of memory" : strerror(e));
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return EXIT_OK;
}

/* Write a new file (replacing path atomically: temp file, fsync, rename). */
static int write_file(const vl_ctx *c, const char *path, const uint8_t *data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return fail(c, EXIT_FAIL, "%s: path too long", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return fail(c, EXIT_FAIL, "%s: %s", path, strerror(errno));
    bool ok = fchmod(fd, 0644) == 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO;
        ok = n > 0;
        done += ok ? (size_t)n : 0;
    }
    ok = ok && fsync(fd) == 0;
    int e = ok ? 0 : errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        return fail(c, EXIT_FAIL, "%s: %s", path, strerror(e));
    }
    return EXIT_OK;
}

static bool looks_like_json(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    return i < len && buf[i] == '{';
}

/* A genesis in either form: JSON (as written by `genesis`) or binary. */
static int load_genesis(const vl_ctx *c, const char *path, vl_genesis **out)
{
    char *buf, err[512] = "";
    size_t len;
    *out = NULL;
    int st = read_file(c, path, MAX_GENESIS_BYTES, &buf, &len);
    if (st != EXIT_OK)
        return st;
    vl_genesis *g = calloc(1, sizeof *g);
    vl_err rc = VL_ERR_NOMEM;
    if (g != NULL)
        rc = looks_like_json(buf, len) ? vl_genesis_load_json(g, buf, len, err, sizeof err)
                                       : vl_genesis_decode((const uint8_t *)buf, len, g);
    free(buf);
    if (rc != VL_OK) {
        free(g);
        return fail(c, EXIT_FAIL, "%s: %s: %s", path, vl_err_name(rc),
                    err[0] != '\0' ? err : vl_strerror(rc));
    }
    *out = g;
    return EXIT_OK;
}

/* ---- public keys ------------------------------------------------------------------- */

/* Overwrite a secret string inside parsed JSON before it is freed. */
static void wipe_json_string(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v)) /* jansson owns a mutable copy of the value */
        vl_wipe((char *)json_string_value(v), json_string_length(v));
}

/* The public key (and CURVE key when curve != NULL) from a key file or the
 * JSON keygen printed.  Never keeps a secret (note 5). */
static int read_public_json(const vl_ctx *c, const char *path, uint8_t pub[32],
                            uint8_t *curve)
{
    char *text;
    size_t len;
    int st = read_file(c, path, MAX_KEY_JSON_BYTES, &text, &len);
    if (st != EXIT_OK)
        return st;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    vl_wipe(text, len);
    free(text);
    if (root == NULL)
        return fail(c, EXIT_FAIL, "%s: line %d, column %d: %s", path, jerr.line, jerr.column,
                    jerr.text);
    wipe_json_string(root, "secret");
    wipe_json_string(root, "curve_secret");
    const char *hex = json_string_value(json_object_get(root, "pubkey"));
    const char *z85 = json_string_value(json_object_get(root, "curve_pubkey"));
    if (hex == NULL || vl_hex_decode(pub, 32, hex) != VL_OK)
        st = fail(c, EXIT_FAIL,
                  "%s: no \"pubkey\" of 64 hex digits (give a key file or the JSON that "
                  "`voucherctl keygen` printed)",
                  path);
    else if (curve != NULL && (z85 == NULL || strlen(z85) != 40 ||
                               vl_z85_decode(curve, z85) != VL_OK))
        st = fail(c, EXIT_FAIL,
                  "%s: no \"curve_pubkey\" of 40 Z85 characters (node keys are made by "
                  "`voucherctl keygen --node`)",
                  path);
    json_decref(root);
    return st;
}

/* src is 64 hex digits (when no CURVE key is needed) or a file. */
static int read_public_key(const vl_ctx *c, const char *src, uint8_t pub[32], uint8_t *curve)
{
    if (strlen(src) == 64 && vl_hex_decode(pub, 32, src) == VL_OK) {
        if (curve == NULL)
            return EXIT_OK;
        return fail(c, EXIT_FAIL,
                    "a node needs its curve_pubkey too: give its key file or the JSON "
                    "that `voucherctl keygen --node` printed, not a hex key");
    }
    return read_public_json(c, src, pub, curve);
}

/* Load a key file with its secret (mode checked by vl_keyfile_load). */
static int load_keyfile(const vl_ctx *c, const char *path, vl_keyfile *k)
{
    char err[256] = "";
    vl_err rc = vl_keyfile_load(k, path, err, sizeof err);
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "%s: %s: %s", path, vl_err_name(rc),
                    err[0] != '\0' ? err : vl_strerror(rc));
    return EXIT_OK;
}

/* ---- keygen ----------------------------------------------------------------------- */

static int cmd_keygen(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "out", .kind = OPT_VALUE, .required = true},
                     {.name = "node", .kind = OPT_FLAG}};
    vl_args a = {.opts = opts, .opt_count = 2};
    int st = parse_args(c, &a, argc, argv);
    free_args(&a);
    if (st != EXIT_OK)
        return st;
    const char *out = opts[0].value;
    vl_keyfile k;
    vl_err rc = vl_keyfile_generate(&k, opts[1].set);
    errno = 0;
    if (rc == VL_OK)
        rc = vl_keyfile_save(&k, out);
    int saved_errno = errno;
    json_t *res = jobj();
    if (rc == VL_OK) {
        char z85[41];
        jset(res, "pubkey", jhex(k.sign.pubkey, 32));
        if (k.has_curve) {
            vl_z85_encode(z85, k.curve_pubkey);
            jset(res, "curve_pubkey", json_string(z85));
        }
        jset(res, "key_file", json_string(out));
    }
    vl_keyfile_wipe(&k);
    if (rc != VL_OK) {
        json_decref(res);
        return fail(c, EXIT_FAIL, "%s: %s: %s%s", out, vl_err_name(rc),
                    err_detail(rc, saved_errno),
                    rc == VL_ERR_EXISTS ? " (key files are never overwritten)" : "");
    }
    if (!c->json)
        fprintf(stderr, "wrote %s (mode 600, keep it secret); the public part above is what "
                        "the genesis operator needs\n", out);
    return emit(c, res, NULL);
}

/* ---- genesis ---------------------------------------------------------------------- */

/* Split a copy of spec at commas into exactly `want` fields. */
static int split_spec(const vl_ctx *c, const char *opt, const char *spec, char *buf,
                      char **fields, int want, const char *format)
{
    if (strlen(spec) >= MAX_SPEC_LEN)
        return fail(c, EXIT_USAGE, "--%s: longer than %d characters", opt, MAX_SPEC_LEN);
    strcpy(buf, spec);
    int n = 0;
    for (char *p = buf; n <= want; n++) {
        if (n < want)
            fields[n] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL) {
            n++;
            break;
        }
        *comma = '\0';
        p = comma + 1;
    }
    if (n != want)
        return fail(c, EXIT_USAGE, "--%s \"%s\": want %s", opt, spec, format);
    return EXIT_OK;
}

/* Copy text into a fixed field, refusing (not truncating) a long one. */
static int copy_text(const vl_ctx *c, const char *opt, const char *what, char *dst,
                     size_t cap, const char *src)
{
    if (strlen(src) >= cap)
        return fail(c, EXIT_FAIL, "--%s: %s \"%s\" is longer than %zu characters", opt, what,
                    src, cap - 1);
    strcpy(dst, src);
    return EXIT_OK;
}

static int parse_region(const vl_ctx *c, const char *opt, const char *s, uint32_t *region)
{
    uint64_t v;
    if (!parse_uint(s, UINT32_MAX, &v))
        return fail(c, EXIT_USAGE, "--%s: region \"%s\" is not a number", opt, s);
    *region = (uint32_t)v; /* the range is vl_genesis_finish's to check */
    return EXIT_OK;
}

static int add_node(const vl_ctx *c, vl_gen_node *n, const char *spec)
{
    char buf[MAX_SPEC_LEN], *f[6];
    int st = split_spec(c, "node", spec, buf, f, 6,
                        "ID,REGION,KEYFILE_OR_PUBJSON,PEER_EP,CLIENT_EP,voter|observer");
    if (st == EXIT_OK && (st = copy_text(c, "node", "id", n->id, sizeof n->id, f[0])) == 0 &&
        (st = parse_region(c, "node", f[1], &n->region)) == 0 &&
        (st = read_public_key(c, f[2], n->pubkey, n->curve_pubkey)) == 0 &&
        (st = copy_text(c, "node", "peer endpoint", n->peer_endpoint,
                        sizeof n->peer_endpoint, f[3])) == 0 &&
        (st = copy_text(c, "node", "client endpoint", n->client_endpoint,
                        sizeof n->client_endpoint, f[4])) == 0) {
        if (strcmp(f[5], "voter") == 0)
            n->role = VL_ROLE_VOTER;
        else if (strcmp(f[5], "observer") == 0)
            n->role = VL_ROLE_OBSERVER;
        else
            st = fail(c, EXIT_USAGE, "--node \"%s\": role must be voter or observer", spec);
    }
    return st;
}

static int add_issuer(const vl_ctx *c, vl_gen_issuer *is, const char *spec)
{
    char buf[MAX_SPEC_LEN], *f[4];
    int st = split_spec(c, "issuer", spec, buf, f, 4, "ID,REGION,KEYFILE_OR_PUBHEX,BUDGET_FEN");
    if (st == EXIT_OK && (st = copy_text(c, "issuer", "id", is->id, sizeof is->id, f[0])) == 0 &&
        (st = parse_region(c, "issuer", f[1], &is->region)) == 0 &&
        (st = read_public_key(c, f[2], is->pubkey, NULL)) == 0 &&
        !parse_uint(f[3], UINT64_MAX, &is->budget_fen))
        st = fail(c, EXIT_USAGE, "--issuer \"%s\": budget \"%s\" is not a number of fen", spec,
                  f[3]);
    return st;
}

static int add_provider(const vl_ctx *c, vl_gen_provider *p, const char *spec)
{
    char buf[MAX_SPEC_LEN], *f[3];
    int st = split_spec(c, "provider", spec, buf, f, 3, "ID,REGION,KEYFILE_OR_PUBHEX");
    if (st == EXIT_OK && (st = copy_text(c, "provider", "id", p->id, sizeof p->id, f[0])) == 0 &&
        (st = parse_region(c, "provider", f[1], &p->region)) == 0)
        st = read_public_key(c, f[2], p->pubkey, NULL);
    return st;
}

/* Fill g from the options (opts: network, max-faulty, node, issuer,
 * provider) and validate it. */
static int build_genesis(const vl_ctx *c, const vl_opt *opts, vl_genesis *g)
{
    uint64_t f;
    int st = copy_text(c, "network", "name", g->network, sizeof g->network, opts[0].value);
    if (st != EXIT_OK)
        return st;
    if (!parse_uint(opts[1].value, UINT32_MAX, &f))
        return fail(c, EXIT_USAGE, "--max-faulty \"%s\" is not a number", opts[1].value);
    g->max_faulty = (uint32_t)f;
    if (opts[2].count > VL_MAX_NODES || opts[3].count > VL_MAX_ISSUERS ||
        opts[4].count > VL_MAX_PROVIDERS)
        return fail(c, EXIT_FAIL, "at most %d --node, %d --issuer and %d --provider",
                    VL_MAX_NODES, VL_MAX_ISSUERS, VL_MAX_PROVIDERS);
    g->node_count = opts[2].count;
    g->issuer_count = opts[3].count;
    g->provider_count = opts[4].count;
    for (unsigned i = 0; st == EXIT_OK && i < g->node_count; i++)
        st = add_node(c, &g->nodes[i], opts[2].list[i]);
    for (unsigned i = 0; st == EXIT_OK && i < g->issuer_count; i++)
        st = add_issuer(c, &g->issuers[i], opts[3].list[i]);
    for (unsigned i = 0; st == EXIT_OK && i < g->provider_count; i++)
        st = add_provider(c, &g->providers[i], opts[4].list[i]);
    if (st != EXIT_OK)
        return st;
    char err[512] = "";
    vl_err rc = vl_genesis_finish(g, err, sizeof err);
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "%s%s", err[0] != '\0' ? err : vl_strerror(rc),
                    strchr(err, '[') != NULL
                        ? " (list indexes count the --node, --issuer and --provider options "
                          "from 0)"
                        : "");
    return EXIT_OK;
}

static int cmd_genesis(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "network", .kind = OPT_VALUE, .required = true},
                     {.name = "max-faulty", .kind = OPT_VALUE, .required = true},
                     {.name = "node", .kind = OPT_LIST},
                     {.name = "issuer", .kind = OPT_LIST},
                     {.name = "provider", .kind = OPT_LIST},
                     {.name = "out", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = 6};
    int st = parse_args(c, &a, argc, argv);
    vl_genesis *g = st == EXIT_OK ? calloc(1, sizeof *g) : NULL;
    if (st == EXIT_OK && g == NULL)
        st = fail(c, EXIT_FAIL, "out of memory");
    if (st == EXIT_OK)
        st = build_genesis(c, opts, g);
    const char *out = opts[5].value;
    errno = 0;
    vl_err rc = st == EXIT_OK ? vl_genesis_save_file(g, out) : VL_OK;
    if (rc != VL_OK)
        st = fail(c, EXIT_FAIL, "%s: %s: %s", out, vl_err_name(rc), err_detail(rc, errno));
    if (st == EXIT_OK) {
        char hex[65], human[256];
        vl_hex_encode(hex, g->network_id, 32);
        snprintf(human, sizeof human,
                 "wrote %s: network \"%s\", %" PRIu32 " voters, quorum %" PRIu32
                 ", network id %s",
                 out, g->network, g->voter_count, g->quorum, hex);
        json_t *res = jobj();
        jset(res, "network_id", json_string(hex));
        jset(res, "voters", json_integer(g->voter_count));
        jset(res, "quorum", json_integer(g->quorum));
        jset(res, "out", json_string(out));
        st = emit(c, res, human);
    }
    free(g);
    free_args(&a);
    return st;
}

/* ---- inspect: names ------------------------------------------------------------------ */

typedef struct {
    unsigned value;
    const char *name;
} vl_name;

static const char *name_of(const vl_name *t, size_t n, unsigned value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return "unknown";
}
#define NAME_OF(table, v) name_of((table), sizeof(table) / sizeof((table)[0]), (v))

static const vl_name type_names[] = {
    {VL_MSG_GENESIS, "genesis"},           {VL_MSG_ORDER, "order"},
    {VL_MSG_CERT, "cert"},                 {VL_MSG_ENTRY, "entry"},
    {VL_MSG_CHECKPOINT, "checkpoint"},     {VL_MSG_ACCOUNT, "account"},
    {VL_MSG_BATCH_VOTE, "batch_vote"},     {VL_MSG_VOTE_REQUEST, "vote_request"},
    {VL_MSG_VOTE_REPLY, "vote_reply"},     {VL_MSG_CERTS, "certs"},
    {VL_MSG_LOG_REQUEST, "log_request"},   {VL_MSG_LOG_REPLY, "log_reply"},
    {VL_MSG_ACCOUNT_REQUEST, "account_request"}, {VL_MSG_CLIENT_REQUEST, "client_request"},
    {VL_MSG_CLIENT_REPLY, "client_reply"},
};
static const vl_name order_kinds[] = {
    {VL_ORDER_ISSUE, "issue"}, {VL_ORDER_REDEEM, "redeem"}, {VL_ORDER_REVOKE, "revoke"}};
static const vl_name answer_kinds[] = {{VL_ANSWER_REJECTED, "rejected"},
                                       {VL_ANSWER_CONFLICT, "conflict"},
                                       {VL_ANSWER_BEHIND, "behind"},
                                       {VL_ANSWER_CERTIFIED, "certified"}};
static const vl_name request_kinds[] = {{VL_REQ_SUBMIT, "submit"},
                                        {VL_REQ_GET_ACCOUNT, "get_account"},
                                        {VL_REQ_STATUS, "status"},
                                        {VL_REQ_GET_LOG, "get_log"},
                                        {VL_REQ_GET_CHECKPOINT, "get_checkpoint"}};
static const vl_name reply_kinds[] = {
    {VL_REPLY_CERT, "cert"},       {VL_REPLY_ACCOUNT, "account"},
    {VL_REPLY_STATUS, "status"},   {VL_REPLY_LOG, "log"},
    {VL_REPLY_CHECKPOINT, "checkpoint"}, {VL_REPLY_ERROR, "error"}};
static const vl_name evidence_kinds[] = {
    {VL_EVIDENCE_NONE, "none"}, {VL_EVIDENCE_ORDER, "order"}, {VL_EVIDENCE_CERT, "cert"}};
static const vl_name status_flags[] = {
    {VL_STATUS_VOTER, "voter"},         {VL_STATUS_IN_QUORUM, "in_quorum"},
    {VL_STATUS_READ_ONLY, "read_only"}, {VL_STATUS_SYNCING, "syncing"},
    {VL_STATUS_FORK, "fork"}};

/* ---- inspect: describing objects ------------------------------------------------------ */

typedef struct {
    const vl_genesis *g; /* NULL: describe only, verify nothing */
    vl_sigcache *cache;  /* may be NULL */
    bool verified_any;   /* some object was verified */
    vl_err first_fail;   /* first verification failure, VL_OK if none */
} vl_insp;

static json_t *describe(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc);

/* Record a verification result in obj as {"ok", "error", "message"}. */
static void put_verified(vl_insp *in, json_t *obj, vl_err rc)
{
    json_t *v = jobj();
    jset(v, "ok", json_boolean(rc == VL_OK));
    jset(v, "error", json_string(vl_err_slug(rc)));
    jset(v, "message", json_string(vl_strerror(rc)));
    jset(obj, "verified", v);
    in->verified_any = true;
    if (in->first_fail == VL_OK)
        in->first_fail = rc;
}

/* The genesis id of a key (its node, issuer or provider id), if known. */
static void put_member_name(const vl_insp *in, json_t *obj, const char *key,
                            const uint8_t pub[32])
{
    int i;
    if (in->g == NULL)
        return;
    if ((i = vl_genesis_issuer_by_pubkey(in->g, pub)) >= 0)
        jset(obj, key, json_string(in->g->issuers[i].id));
    else if ((i = vl_genesis_provider_by_pubkey(in->g, pub)) >= 0)
        jset(obj, key, json_string(in->g->providers[i].id));
    else if ((i = vl_genesis_node_by_pubkey(in->g, pub)) >= 0)
        jset(obj, key, json_string(in->g->nodes[i].id));
}

static void put_node_name(const vl_insp *in, json_t *obj, const char *key, unsigned index)
{
    if (in->g != NULL && index < in->g->node_count)
        jset(obj, key, json_string(in->g->nodes[index].id));
}

static json_t *voucher_spec_json(const vl_order *o, const vl_voucher_spec *v)
{
    uint8_t account[32];
    json_t *j = jobj();
    jset(j, "serial", ju64(v->serial));
    vl_voucher_account_id(account, o->issuer, v->serial);
    jset(j, "account_id", jhex(account, 32));
    jset(j, "holder", jhex(v->holder, 32));
    jset(j, "value_fen", ju64(v->value_fen));
    jset(j, "valid_from_s", ju64(v->valid_from_s));
    jset(j, "valid_until_s", ju64(v->valid_until_s));
    jset(j, "subsidy_bp", json_integer(v->subsidy_bp));
    jset(j, "program", jtext(v->program));
    return j;
}

/* The fields of an order kind by kind. */
static void put_order_body(const vl_insp *in, json_t *j, const vl_order *o)
{
    if (o->kind == VL_ORDER_ISSUE) {
        json_t *list = jarr();
        for (unsigned i = 0; i < o->voucher_count && i < VL_MAX_ISSUE_BATCH; i++)
            jappend(list, voucher_spec_json(o, &o->vouchers[i]));
        jset(j, "vouchers", list);
        return;
    }
    jset(j, "serial", ju64(o->serial));
    if (o->kind == VL_ORDER_REVOKE) {
        jset(j, "reason", jtext(o->reason));
        return;
    }
    jset(j, "holder", jhex(o->holder, 32));
    jset(j, "amount_fen", ju64(o->amount_fen));
    jset(j, "provider", jhex(o->provider, 32));
    put_member_name(in, j, "provider_id", o->provider);
    jset(j, "invoice_hash", jhex(o->invoice_hash, 32));
    jset(j, "gpu_milli_hours", ju64(o->gpu_milli_hours));
}

/* An order; verify it when a genesis is given and `verify` (an order
 * inside a certificate is verified with the certificate). */
static json_t *order_json(vl_insp *in, const vl_order *o, bool verify)
{
    uint8_t hash[32], account[32];
    vl_order_hash(hash, o);
    vl_order_account(account, o);
    json_t *j = jobj();
    jset(j, "type", json_string("order"));
    jset(j, "kind", json_string(NAME_OF(order_kinds, o->kind)));
    jset(j, "network_id", jhex(o->network_id, 32));
    jset(j, "account_id", jhex(account, 32));
    jset(j, "seq", ju64(o->seq));
    jset(j, "issuer", jhex(o->issuer, 32));
    put_member_name(in, j, "issuer_id", o->issuer);
    put_order_body(in, j, o);
    json_t *sigs = jarr();
    for (unsigned i = 0; i < o->sig_count && i < 2; i++)
        jappend(sigs, jhex(o->sigs[i], 64));
    jset(j, "sigs", sigs);
    jset(j, "order_hash", jhex(hash, 32));
    if (in->g != NULL && verify)
        put_verified(in, j, vl_order_verify(in->g, o, hash));
    return j;
}

static json_t *cert_vote_json(const vl_insp *in, const vl_cert_vote *v,
                              const uint8_t order_hash[32])
{
    uint8_t root[32];
    json_t *j = jobj(), *path = jarr();
    jset(j, "voter", json_integer(v->voter));
    put_node_name(in, j, "voter_id", v->voter);
    jset(j, "leaf_index", json_integer(v->leaf_index));
    jset(j, "leaf_count", json_integer(v->leaf_count));
    for (unsigned i = 0; i < v->path_len && i < VL_MAX_MERKLE_DEPTH; i++)
        jappend(path, jhex(v->path[i], 32));
    jset(j, "path", path);
    if (vl_merkle_root_from_path(root, order_hash, v->leaf_index, v->leaf_count,
                                 (const uint8_t(*)[32])v->path, v->path_len) == VL_OK)
        jset(j, "root", jhex(root, 32));
    jset(j, "sig", jhex(v->sig, 64));
    return j;
}

static json_t *cert_json(vl_insp *in, const vl_cert *c, const uint8_t *raw, size_t len)
{
    uint8_t order_hash[32], cert_hash[32];
    vl_order_hash(order_hash, &c->order);
    vl_cert_hash(cert_hash, raw, len);
    json_t *j = jobj(), *votes = jarr();
    jset(j, "type", json_string("cert"));
    jset(j, "order", order_json(in, &c->order, false));
    for (unsigned i = 0; i < c->vote_count && i < VL_MAX_NODES; i++)
        jappend(votes, cert_vote_json(in, &c->votes[i], order_hash));
    jset(j, "votes", votes);
    jset(j, "order_hash", jhex(order_hash, 32));
    jset(j, "cert_hash", jhex(cert_hash, 32));
    if (in->g != NULL)
        put_verified(in, j, vl_cert_verify(in->g, c, in->cache, NULL));
    return j;
}

static json_t *describe_order(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_order *o = malloc(sizeof *o);
    *rc = o == NULL ? VL_ERR_NOMEM : vl_order_decode(buf, len, o);
    json_t *j = *rc == VL_OK ? order_json(in, o, true) : NULL;
    free(o);
    return j;
}

static json_t *describe_cert(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_cert *c = malloc(sizeof *c);
    *rc = c == NULL ? VL_ERR_NOMEM : vl_cert_decode(buf, len, c);
    json_t *j = *rc == VL_OK ? cert_json(in, c, buf, len) : NULL;
    free(c);
    return j;
}

static json_t *describe_entry(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_entry e;
    if ((*rc = vl_entry_decode(buf, len, &e)) != VL_OK)
        return NULL;
    uint8_t cert_hash[32], entry_hash[32];
    vl_cert_hash(cert_hash, e.cert.ptr, e.cert.len);
    vl_entry_hash(entry_hash, e.index, e.prev_hash, cert_hash);
    json_t *j = jobj();
    jset(j, "type", json_string("entry"));
    jset(j, "index", ju64(e.index));
    jset(j, "prev_hash", jhex(e.prev_hash, 32));
    jset(j, "time_ms", ju64(e.time_ms));
    json_t *cert = describe_cert(in, e.cert.ptr, e.cert.len, rc);
    jset(j, "cert", cert);
    jset(j, "cert_hash", jhex(cert_hash, 32));
    jset(j, "entry_hash", jhex(entry_hash, 32));
    if (*rc != VL_OK) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *describe_checkpoint(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_checkpoint cp;
    if ((*rc = vl_checkpoint_decode(buf, len, &cp)) != VL_OK)
        return NULL;
    uint8_t msg[32];
    vl_checkpoint_message(msg, &cp);
    json_t *j = jobj();
    jset(j, "type", json_string("checkpoint"));
    jset(j, "network_id", jhex(cp.network_id, 32));
    jset(j, "node", json_integer(cp.node));
    put_node_name(in, j, "node_id", cp.node);
    jset(j, "log_index", ju64(cp.log_index));
    jset(j, "entry_hash", jhex(cp.entry_hash, 32));
    jset(j, "state_digest", jhex(cp.state_digest, 32));
    jset(j, "time_ms", ju64(cp.time_ms));
    jset(j, "sig", jhex(cp.sig, 64));
    jset(j, "signed_hash", jhex(msg, 32));
    if (in->g != NULL)
        put_verified(in, j, vl_checkpoint_verify(in->g, &cp));
    return j;
}

static void put_voucher_account(json_t *j, const vl_account *a)
{
    jset(j, "serial", ju64(a->serial));
    jset(j, "holder", jhex(a->holder, 32));
    jset(j, "face_fen", ju64(a->face_fen));
    jset(j, "remaining_fen", ju64(a->remaining_fen));
    jset(j, "valid_from_s", ju64(a->valid_from_s));
    jset(j, "valid_until_s", ju64(a->valid_until_s));
    jset(j, "subsidy_bp", json_integer(a->subsidy_bp));
    jset(j, "status", json_string(a->status == VL_VOUCHER_ACTIVE ? "active" : "revoked"));
    jset(j, "program", jtext(a->program));
}

static json_t *describe_account(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_account a;
    if ((*rc = vl_account_decode(buf, len, &a)) != VL_OK)
        return NULL;
    uint8_t id[32];
    if (a.kind == VL_ACCOUNT_ISSUER)
        vl_issuer_account_id(id, a.issuer);
    else
        vl_voucher_account_id(id, a.issuer, a.serial);
    json_t *j = jobj();
    jset(j, "type", json_string("account"));
    jset(j, "kind", json_string(a.kind == VL_ACCOUNT_ISSUER ? "issuer" : "voucher"));
    jset(j, "account_id", jhex(id, 32));
    jset(j, "issuer", jhex(a.issuer, 32));
    put_member_name(in, j, "issuer_id", a.issuer);
    jset(j, "next_seq", ju64(a.next_seq));
    if (a.kind == VL_ACCOUNT_ISSUER) {
        jset(j, "budget_fen", ju64(a.budget_fen));
        jset(j, "balance_fen", ju64(a.balance_fen));
        jset(j, "issued_fen", ju64(a.issued_fen));
        jset(j, "credited_fen", ju64(a.credited_fen));
    } else {
        put_voucher_account(j, &a);
    }
    return j;
}

static json_t *describe_batch_vote(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_batch_vote v;
    if ((*rc = vl_batch_vote_decode(buf, len, &v)) != VL_OK)
        return NULL;
    uint8_t msg[32];
    vl_vote_message(msg, v.root);
    json_t *j = jobj();
    jset(j, "type", json_string("batch_vote"));
    jset(j, "voter", json_integer(v.voter));
    put_node_name(in, j, "voter_id", v.voter);
    jset(j, "root", jhex(v.root, 32));
    jset(j, "sig", jhex(v.sig, 64));
    jset(j, "signed_hash", jhex(msg, 32));
    if (in->g != NULL)
        put_verified(in, j, vl_batch_vote_verify(in->g, &v, in->cache));
    return j;
}

/* ---- inspect: the genesis ----------------------------------------------------------- */

static json_t *gen_node_json(const vl_gen_node *n, unsigned index)
{
    char z85[41];
    vl_z85_encode(z85, n->curve_pubkey);
    json_t *j = jobj();
    jset(j, "index", json_integer(index));
    jset(j, "id", json_string(n->id));
    jset(j, "region", json_integer(n->region));
    jset(j, "pubkey", jhex(n->pubkey, 32));
    jset(j, "curve_pubkey", json_string(z85));
    jset(j, "peer_endpoint", json_string(n->peer_endpoint));
    jset(j, "client_endpoint", json_string(n->client_endpoint));
    jset(j, "role", json_string(n->role == VL_ROLE_VOTER ? "voter" : "observer"));
    return j;
}

static json_t *gen_member_json(const char *id, uint32_t region, const uint8_t pub[32])
{
    json_t *j = jobj();
    jset(j, "id", json_string(id));
    jset(j, "region", json_integer(region));
    jset(j, "pubkey", jhex(pub, 32));
    return j;
}

static json_t *genesis_json(const vl_genesis *g, const char *form)
{
    char hex[65];
    json_t *j = jobj(), *nodes = jarr(), *issuers = jarr(), *providers = jarr();
    jset(j, "type", json_string("genesis"));
    jset(j, "form", json_string(form));
    jset(j, "network", json_string(g->network));
    jset(j, "max_faulty", json_integer(g->max_faulty));
    for (uint32_t i = 0; i < g->node_count; i++)
        jappend(nodes, gen_node_json(&g->nodes[i], i));
    for (uint32_t i = 0; i < g->issuer_count; i++) {
        const vl_gen_issuer *is = &g->issuers[i];
        uint8_t account[32];
        json_t *m = gen_member_json(is->id, is->region, is->pubkey);
        jset(m, "budget_fen", ju64(is->budget_fen));
        vl_issuer_account_id(account, is->pubkey);
        jset(m, "account_id", jhex(account, 32));
        jappend(issuers, m);
    }
    for (uint32_t i = 0; i < g->provider_count; i++) {
        const vl_gen_provider *p = &g->providers[i];
        jappend(providers, gen_member_json(p->id, p->region, p->pubkey));
    }
    jset(j, "nodes", nodes);
    jset(j, "issuers", issuers);
    jset(j, "providers", providers);
    jset(j, "voters", json_integer(g->voter_count));
    jset(j, "quorum", json_integer(g->quorum));
    vl_hex_encode(hex, g->network_id, 32);
    jset(j, "network_id", json_string(hex));
    return j;
}

static json_t *describe_genesis(const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_genesis *g = malloc(sizeof *g);
    *rc = g == NULL ? VL_ERR_NOMEM : vl_genesis_decode(buf, len, g);
    json_t *j = *rc == VL_OK ? genesis_json(g, "binary") : NULL;
    free(g);
    return j;
}

/* ---- inspect: messages ------------------------------------------------------------------ */

/* Describe each of the message's nested items into a new array. */
static json_t *items_json(vl_insp *in, const vl_msg *m, vl_err *rc)
{
    json_t *arr = jarr();
    for (uint32_t i = 0; *rc == VL_OK && i < m->item_count; i++)
        jappend(arr, describe(in, m->items[i].ptr, m->items[i].len, rc));
    return arr;
}

static json_t *answer_json(vl_insp *in, const vl_answer *a, vl_err *rc)
{
    json_t *j = jobj();
    jset(j, "order_hash", jhex(a->order_hash, 32));
    jset(j, "kind", json_string(NAME_OF(answer_kinds, a->kind)));
    if (a->kind == VL_ANSWER_REJECTED) {
        jset(j, "code", json_integer(a->code));
        jset(j, "error", json_string(vl_err_slug(a->code)));
    }
    if (a->kind == VL_ANSWER_BEHIND)
        jset(j, "next_seq", ju64(a->next_seq));
    if (a->evidence.len > 0)
        jset(j, "evidence", describe(in, a->evidence.ptr, a->evidence.len, rc));
    return j;
}

static void put_vote_reply(vl_insp *in, json_t *j, const vl_msg *m, vl_err *rc)
{
    json_t *leaves = jarr(), *answers = jarr();
    for (uint32_t i = 0; i < m->leaf_count; i++)
        jappend(leaves, jhex(m->leaves[i], 32));
    jset(j, "leaves", leaves);
    if (m->leaf_count > 0) {
        vl_batch_vote v = {.voter = m->from};
        vl_merkle_root(v.root, (const uint8_t(*)[32])m->leaves, m->leaf_count);
        memcpy(v.sig, m->vote_sig, 64);
        jset(j, "root", jhex(v.root, 32));
        jset(j, "vote_sig", jhex(m->vote_sig, 64));
        if (in->g != NULL)
            put_verified(in, j, vl_batch_vote_verify(in->g, &v, in->cache));
    }
    for (uint32_t i = 0; *rc == VL_OK && i < m->answer_count; i++)
        jappend(answers, answer_json(in, &m->answers[i], rc));
    jset(j, "answers", answers);
}

static json_t *status_json(const vl_status *s)
{
    json_t *j = jobj(), *flags = jarr();
    jset(j, "node", json_integer(s->node));
    for (size_t i = 0; i < sizeof status_flags / sizeof status_flags[0]; i++)
        if (s->flags & status_flags[i].value)
            jappend(flags, json_string(status_flags[i].name));
    jset(j, "flags", flags);
    jset(j, "log_head", ju64(s->log_head));
    jset(j, "head_hash", jhex(s->head_hash, 32));
    jset(j, "state_digest", jhex(s->state_digest, 32));
    jset(j, "accounts", ju64(s->accounts));
    jset(j, "pending_locks", json_integer(s->pending_locks));
    jset(j, "peers_connected", json_integer(s->peers_connected));
    return j;
}

static void put_client_reply(vl_insp *in, json_t *j, const vl_msg *m, vl_err *rc)
{
    jset(j, "reply_kind", json_string(NAME_OF(reply_kinds, m->reply_kind)));
    switch (m->reply_kind) {
    case VL_REPLY_ACCOUNT:
        jset(j, "account", describe(in, m->account.ptr, m->account.len, rc));
        break;
    case VL_REPLY_STATUS:
        jset(j, "status", status_json(&m->status));
        break;
    case VL_REPLY_LOG:
        jset(j, "log_head", ju64(m->log_head));
        break;
    case VL_REPLY_ERROR:
        jset(j, "code", json_integer(m->code));
        jset(j, "error", json_string(vl_err_slug(m->code)));
        jset(j, "text", jtext(m->text));
        jset(j, "evidence_kind", json_string(NAME_OF(evidence_kinds, m->evidence_kind)));
        break;
    default:
        break;
    }
    if (*rc == VL_OK)
        jset(j, "items", items_json(in, m, rc));
}

/* The scalars each message type carries (vl_wire.h's table), then items. */
static void put_msg_fields(vl_insp *in, json_t *j, const vl_msg *m, vl_err *rc)
{
    switch (m->type) {
    case VL_MSG_VOTE_REPLY:
        put_vote_reply(in, j, m, rc);
        return;
    case VL_MSG_LOG_REQUEST:
        jset(j, "from_index", ju64(m->from_index));
        jset(j, "max_items", json_integer(m->max_items));
        return;
    case VL_MSG_LOG_REPLY:
        jset(j, "log_head", ju64(m->log_head));
        break;
    case VL_MSG_ACCOUNT_REQUEST:
        jset(j, "account_id", jhex(m->account_id, 32));
        jset(j, "from_seq", ju64(m->from_seq));
        return;
    case VL_MSG_CLIENT_REQUEST:
        jset(j, "req_kind", json_string(NAME_OF(request_kinds, m->req_kind)));
        if (m->req_kind == VL_REQ_GET_ACCOUNT)
            jset(j, "account_id", jhex(m->account_id, 32));
        if (m->req_kind == VL_REQ_GET_LOG) {
            jset(j, "from_index", ju64(m->from_index));
            jset(j, "max_items", json_integer(m->max_items));
        }
        break;
    case VL_MSG_CLIENT_REPLY:
        put_client_reply(in, j, m, rc);
        return;
    default:
        break;
    }
    jset(j, "items", items_json(in, m, rc));
}

static json_t *describe_msg(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_msg *m = malloc(sizeof *m);
    vl_msg_storage *st = malloc(sizeof *st);
    json_t *j = NULL;
    *rc = VL_ERR_NOMEM;
    if (m != NULL && st != NULL) {
        vl_msg_init(m, st);
        *rc = vl_msg_decode(buf, len, m);
    }
    if (*rc == VL_OK) {
        j = jobj();
        jset(j, "type", json_string(NAME_OF(type_names, m->type)));
        jset(j, "req_id", ju64(m->req_id));
        if (m->type != VL_MSG_CLIENT_REQUEST && m->type != VL_MSG_CLIENT_REPLY) {
            jset(j, "from", json_integer(m->from));
            put_node_name(in, j, "from_id", m->from);
        }
        put_msg_fields(in, j, m, rc);
        if (*rc != VL_OK) {
            json_decref(j);
            j = NULL;
        }
    }
    free(st);
    free(m);
    return j;
}

/* Any wire object: dispatch on its type byte.  NULL with *rc set when it
 * (or something nested in it) does not decode. */
static json_t *describe(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
{
    uint8_t type;
    if ((*rc = vl_peek_type(buf, len, &type)) != VL_OK)
        return NULL;
    switch (type) {
    case VL_MSG_GENESIS: return describe_genesis(buf, len, rc);
    case VL_MSG_ORDER: return describe_order(in, buf, len, rc);
    case VL_MSG_CERT: return describe_cert(in, buf, len, rc);
    case VL_MSG_ENTRY: return describe_entry(in, buf, len, rc);
    case VL_MSG_CHECKPOINT: return describe_checkpoint(in, buf, len, rc);
    case VL_MSG_ACCOUNT: return describe_account(in, buf, len, rc);
    case VL_MSG_BATCH_VOTE: return describe_batch_vote(in, buf, len, rc);
    default: return describe_msg(in, buf, len, rc); /* VL_ERR_TYPE if unknown */
    }
}

/* ---- inspect ---------------------------------------------------------------------------- */

/* Describe the file's content: a JSON genesis or any wire object. */
static int inspect_content(const vl_ctx *c, vl_insp *in, const char *path, const char *buf,
                           size_t len, json_t **out)
{
    vl_err rc;
    char err[512] = "";
    *out = NULL;
    if (looks_like_json(buf, len)) {
        vl_genesis *g = malloc(sizeof *g);
        rc = g == NULL ? VL_ERR_NOMEM : vl_genesis_load_json(g, buf, len, err, sizeof err);
        if (rc == VL_OK)
            *out = genesis_json(g, "json");
        free(g);
    } else {
        *out = describe(in, (const uint8_t *)buf, len, &rc);
    }
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "%s: %s: %s", path, vl_err_name(rc),
                    err[0] != '\0' ? err : vl_strerror(rc));
    return EXIT_OK;
}

static int cmd_inspect(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "genesis", .kind = OPT_VALUE}};
    vl_args a = {.opts = opts, .opt_count = 1, .max_pos = 1, .pos_name = "FILE"};
    int st = parse_args(c, &a, argc, argv);
    free_args(&a);
    if (st != EXIT_OK)
        return st;
    vl_genesis *g = NULL;
    char *buf = NULL;
    size_t len = 0;
    json_t *res = NULL;
    vl_insp in = {.first_fail = VL_OK};
    if (opts[0].value != NULL && (st = load_genesis(c, opts[0].value, &g)) == EXIT_OK) {
        in.g = g;
        in.cache = vl_sigcache_new(INSPECT_CACHE_ENTRIES); /* NULL is allowed */
    }
    if (st == EXIT_OK)
        st = read_file(c, a.pos[0], VL_MAX_MSG_BYTES, &buf, &len);
    if (st == EXIT_OK)
        st = inspect_content(c, &in, a.pos[0], buf, len, &res);
    if (st == EXIT_OK) {
        /* containers (entries, messages) get a summary of what they hold */
        if (in.verified_any && json_object_get(res, "verified") == NULL)
            put_verified(&in, res, in.first_fail);
        st = emit(c, res, NULL);
        if (st == EXIT_OK && in.first_fail != VL_OK)
            st = fail(c, EXIT_FAIL, "%s: verification failed: %s: %s", a.pos[0],
                      vl_err_name(in.first_fail), vl_strerror(in.first_fail));
    }
    vl_sigcache_destroy(&in.cache);
    free(buf);
    free(g);
    return st;
}

/* ---- sign-demo ---------------------------------------------------------------------------- */

/* The demo REDEEM order, signed by holder then provider. */
static int build_demo_order(const vl_ctx *c, const vl_genesis *g, const uint8_t issuer[32],
                            const vl_keyfile *holder, const vl_keyfile *provider, vl_order *o)
{
    uint8_t aux[2][32];
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, g->network_id, 32);
    o->kind = VL_ORDER_REDEEM;
    o->seq = DEMO_SEQ;
    memcpy(o->issuer, issuer, 32);
    o->serial = DEMO_SERIAL;
    memcpy(o->holder, holder->sign.pubkey, 32);
    o->amount_fen = DEMO_AMOUNT_FEN;
    memcpy(o->provider, provider->sign.pubkey, 32);
    o->gpu_milli_hours = DEMO_GPU_MILLI_HOURS;
    o->sig_count = (uint8_t)vl_order_sig_count(o->kind);
    /* a real invoice hash is the hash of the provider's invoice: any 32 bytes */
    if (vl_random(o->invoice_hash, 32) != VL_OK || vl_random(&aux[0][0], sizeof aux) != VL_OK)
        return fail(c, EXIT_FAIL, "%s", vl_strerror(VL_ERR_RANDOM));
    vl_order_sign_slot(o, 0, &holder->sign, aux[0]);
    vl_order_sign_slot(o, 1, &provider->sign, aux[1]);
    uint8_t hash[32];
    vl_order_hash(hash, o);
    vl_err rc = vl_order_verify(g, o, hash);
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "the signed order does not verify: %s: %s", vl_err_name(rc),
                    vl_strerror(rc));
    return EXIT_OK;
}

/* Encode o, write it to path and print what was written. */
static int write_demo_order(vl_ctx *c, const vl_order *o, const char *path)
{
    size_t len = 0;
    vl_err rc = vl_order_encode(o, NULL, 0, &len);
    uint8_t *buf = rc == VL_OK ? malloc(len) : NULL;
    if (rc == VL_OK && buf == NULL)
        rc = VL_ERR_NOMEM;
    if (rc == VL_OK)
        rc = vl_order_encode(o, buf, len, &len);
    int st = rc != VL_OK ? fail(c, EXIT_FAIL, "encoding the order: %s", vl_err_name(rc))
                         : write_file(c, path, buf, len);
    free(buf);
    if (st != EXIT_OK)
        return st;
    uint8_t hash[32], account[32];
    char hex[65], human[256];
    vl_order_hash(hash, o);
    vl_order_account(account, o);
    vl_hex_encode(hex, hash, 32);
    snprintf(human, sizeof human,
             "wrote %s: REDEEM of %d fen from voucher %d, signed by holder and provider; "
             "order hash %s", path, DEMO_AMOUNT_FEN, DEMO_SERIAL, hex);
    json_t *res = jobj();
    jset(res, "out", json_string(path));
    jset(res, "kind", json_string("redeem"));
    jset(res, "network_id", jhex(o->network_id, 32));
    jset(res, "account_id", jhex(account, 32));
    jset(res, "seq", ju64(o->seq));
    jset(res, "serial", ju64(o->serial));
    jset(res, "amount_fen", ju64(o->amount_fen));
    jset(res, "order_hash", json_string(hex));
    return emit(c, res, human);
}

/* Keys and membership: the issuer and provider must be in the genesis. */
static int load_demo_keys(const vl_ctx *c, const vl_opt *opts, const vl_genesis *g,
                          uint8_t issuer[32], vl_keyfile *holder, vl_keyfile *provider)
{
    int st = read_public_key(c, opts[1].value, issuer, NULL);
    if (st == EXIT_OK && vl_genesis_issuer_by_pubkey(g, issuer) < 0)
        st = fail(c, EXIT_FAIL, "%s: not an issuer of network \"%s\"", opts[1].value,
                  g->network);
    if (st == EXIT_OK)
        st = load_keyfile(c, opts[2].value, holder);
    if (st == EXIT_OK)
        st = load_keyfile(c, opts[3].value, provider);
    if (st == EXIT_OK && vl_genesis_provider_by_pubkey(g, provider->sign.pubkey) < 0)
        st = fail(c, EXIT_FAIL, "%s: not a provider of network \"%s\"", opts[3].value,
                  g->network);
    return st;
}

static int cmd_sign_demo(vl_ctx *c, int argc, char **argv)
{
    vl_opt opts[] = {{.name = "genesis", .kind = OPT_VALUE, .required = true},
                     {.name = "issuer-key", .kind = OPT_VALUE, .required = true},
                     {.name = "holder-key", .kind = OPT_VALUE, .required = true},
                     {.name = "provider-key", .kind = OPT_VALUE, .required = true},
                     {.name = "out", .kind = OPT_VALUE, .required = true}};
    vl_args a = {.opts = opts, .opt_count = 5};
    int st = parse_args(c, &a, argc, argv);
    free_args(&a);
    if (st != EXIT_OK)
        return st;
    vl_genesis *g = NULL;
    vl_order *o = malloc(sizeof *o);
    vl_keyfile holder, provider;
    uint8_t issuer[32];
    memset(&holder, 0, sizeof holder);
    memset(&provider, 0, sizeof provider);
    st = o == NULL ? fail(c, EXIT_FAIL, "out of memory") : load_genesis(c, opts[0].value, &g);
    if (st == EXIT_OK)
        st = load_demo_keys(c, opts, g, issuer, &holder, &provider);
    if (st == EXIT_OK)
        st = build_demo_order(c, g, issuer, &holder, &provider, o);
    vl_keyfile_wipe(&holder);
    vl_keyfile_wipe(&provider);
    if (st == EXIT_OK)
        st = write_demo_order(c, o, opts[4].value);
    free(o);
    free(g);
    return st;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *synopsis;
    const char *help; /* what it does, and the meaning of its arguments */
    int (*run)(vl_ctx *c, int argc, char **argv);
} vl_command;

static const vl_command commands[] = {
    {"keygen", "--out FILE [--node]",
     "Make a new key file (mode 600, never overwritten) and print its public keys as\n"
     "JSON. --node adds the CURVE pair a node needs for its peer links. Give the printed\n"
     "JSON (not the key file) to the genesis operator.",
     cmd_keygen},
    {"genesis",
     "--network NAME --max-faulty F\n"
     "        [--node ID,REGION,KEYFILE_OR_PUBJSON,PEER_EP,CLIENT_EP,voter|observer]...\n"
     "        [--issuer ID,REGION,KEYFILE_OR_PUBHEX,BUDGET_FEN]...\n"
     "        [--provider ID,REGION,KEYFILE_OR_PUBHEX]... --out FILE",
     "Assemble, validate and write a genesis from the members' PUBLIC keys. A key is a\n"
     "key file (only its public part is read), the JSON `keygen` printed, or (issuers\n"
     "and providers) 64 hex digits. REGION is a 6-digit division code (310000\n"
     "Shanghai); BUDGET_FEN is in fen (0.01 CNY). Prints the network id and quorum.",
     cmd_genesis},
    {"inspect", "FILE [--genesis GENESIS]",
     "Print a wire object (order, cert, entry, checkpoint, account, batch vote, any\n"
     "message, binary genesis) or a JSON genesis as JSON, with derived hashes. With\n"
     "--genesis, also verify signatures and membership (\"verified\"); exits 1 if the\n"
     "file does not decode or does not verify.",
     cmd_inspect},
    {"sign-demo", "--genesis G --issuer-key K --holder-key H --provider-key P --out FILE",
     "Write a sample REDEEM order (voucher serial 1 of the issuer, seq 0, 100000 fen),\n"
     "signed by the holder and the provider key files, for the network of G. The\n"
     "issuer key may be public (key file, keygen JSON or hex).",
     cmd_sign_demo},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fprintf(f, "usage: voucherctl COMMAND [options] [--json]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %s %s\n", commands[i].name, commands[i].synopsis);
    fprintf(f, "\n--json prints machine-readable JSON on one line. Exit status: 0 ok, 1 failed,"
               "\n2 usage error. `voucherctl COMMAND --help` explains a command.\n");
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    vl_ctx c = {.cmd = "", .json = false};
    int first = 1;
    for (; first < argc && strcmp(argv[first], "--json") == 0; first++)
        c.json = true;
    if (first >= argc || wants_help(1, argv + first)) {
        print_usage(first >= argc ? stderr : stdout);
        return first >= argc ? EXIT_USAGE : EXIT_OK;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(argv[first], commands[i].name) != 0)
            continue;
        c.cmd = commands[i].name;
        if (wants_help(argc - first - 1, argv + first + 1)) {
            printf("usage: voucherctl %s %s\n\n%s\n", commands[i].name, commands[i].synopsis,
                   commands[i].help);
            return EXIT_OK;
        }
        return commands[i].run(&c, argc - first - 1, argv + first + 1);
    }
    fprintf(stderr, "voucherctl: unknown command \"%s\"\n", argv[first]);
    print_usage(stderr);
    return EXIT_USAGE;
}
