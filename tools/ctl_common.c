/* ctl_common.c - voucherctl's shared plumbing: errors, the option parser,
 * JSON output, files, the genesis and keys.  See voucherctl.c for the design
 * notes these implement (exit status, output, integers, secrets).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "vl_file.h"

/* ---- errors ---------------------------------------------------------------- */

/* Print "voucherctl CMD: message" to stderr and return status. */
__attribute__((format(printf, 3, 4))) int fail(const vl_ctx *c, int status,
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
const char *err_detail(vl_err rc, int saved_errno)
{
    return rc == VL_ERR_IO && saved_errno != 0 ? strerror(saved_errno) : vl_strerror(rc);
}

/* ---- option parsing --------------------------------------------------------- */

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
int parse_args(vl_ctx *c, vl_args *a, int argc, char **argv)
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
    for (size_t i = 0; i < a->opt_count; i++) {
        const vl_opt *o = &a->opts[i], *alt = NULL;
        if (o->unless != NULL)
            alt = find_opt(a, o->unless, strlen(o->unless));
        if (o->required && o->value == NULL && (alt == NULL || alt->value == NULL))
            return fail(c, EXIT_USAGE, "missing --%s%s%s%s", o->name,
                        alt != NULL ? " (or --" : "", alt != NULL ? alt->name : "",
                        alt != NULL ? ")" : "");
    }
    if (a->pos_count < a->max_pos)
        return fail(c, EXIT_USAGE, "missing %s", a->pos_name);
    return EXIT_OK;
}

void free_args(vl_args *a)
{
    for (size_t i = 0; i < a->opt_count; i++)
        free(a->opts[i].list);
}

/* A decimal number 0..max, digits only. */
bool parse_uint(const char *s, uint64_t max, uint64_t *out)
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

bool ctl_oom; /* a JSON value could not be built (note 3) */

void jset(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        ctl_oom = true;
}

void jappend(json_t *arr, json_t *v)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        ctl_oom = true;
}

json_t *jobj(void)
{
    json_t *o = json_object();
    ctl_oom = ctl_oom || o == NULL;
    return o;
}

json_t *jarr(void)
{
    json_t *a = json_array();
    ctl_oom = ctl_oom || a == NULL;
    return a;
}

json_t *jhex(const uint8_t *bytes, size_t len)
{
    char hex[2 * 64 + 1];
    if (len > 64)
        return NULL;
    vl_hex_encode(hex, bytes, len);
    return json_string(hex);
}

/* u64 as an integer, or as a decimal string above INT64_MAX (note 4). */
json_t *ju64(uint64_t v)
{
    char text[24];
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    snprintf(text, sizeof text, "%" PRIu64, v);
    return json_string(text);
}

/* Text fields are printable ASCII (checked by the decoders). */
json_t *jtext(vl_bytes b)
{
    return json_stringn(b.len > 0 ? (const char *)b.ptr : "", b.len);
}

/* Print result (taken) and return EXIT_OK, or fail.  human, when not NULL,
 * replaces the indented JSON for people. */
int emit(const vl_ctx *c, json_t *result, const char *human)
{
    char *text = NULL;
    if (!ctl_oom && result != NULL && (c->json || human == NULL))
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
int read_file(const vl_ctx *c, const char *path, size_t max, char **out, size_t *len)
{
    char err[512] = "";
    if (vl_file_read(path, max, out, len, err, sizeof err) != VL_OK)
        return fail(c, EXIT_FAIL, "%s", err);
    return EXIT_OK;
}

/* Write a new file (replacing path atomically: temp file, fsync, rename). */
int write_file(const vl_ctx *c, const char *path, const uint8_t *data, size_t len)
{
    if (vl_file_replace(path, data, len, 0644) != VL_OK)
        return fail(c, EXIT_FAIL, "%s: %s", path, strerror(errno));
    return EXIT_OK;
}

bool looks_like_json(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    return i < len && buf[i] == '{';
}

/* A genesis in either form: JSON (as written by `genesis`) or binary. */
int load_genesis(const vl_ctx *c, const char *path, vl_genesis **out)
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
        return fail(c, EXIT_FAIL, "%s%s%s (%s)",
                    strncmp(err, path, strlen(path)) == 0 ? "" : path,
                    strncmp(err, path, strlen(path)) == 0 ? "" : ": ",
                    err[0] != '\0' ? err : vl_strerror(rc), vl_err_slug(rc));
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
int read_public_key(const vl_ctx *c, const char *src, uint8_t pub[32], uint8_t *curve)
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
int load_keyfile(const vl_ctx *c, const char *path, vl_keyfile *k)
{
    char err[256] = "";
    vl_err rc = vl_keyfile_load(k, path, err, sizeof err);
    if (rc != VL_OK)
        return fail(c, EXIT_FAIL, "%s%s%s (%s)",
                    strncmp(err, path, strlen(path)) == 0 ? "" : path,
                    strncmp(err, path, strlen(path)) == 0 ? "" : ": ",
                    err[0] != '\0' ? err : vl_strerror(rc), vl_err_slug(rc));
    return EXIT_OK;
}
