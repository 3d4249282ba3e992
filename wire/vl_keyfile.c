/* vl_keyfile.c - key files: JSON through libjansson, mode 0600, secrets wiped.
 *
 * Design notes
 *  1. Creation is O_CREAT|O_EXCL (never overwrites a key), mode forced to
 *     0600 with fchmod (the umask can only remove bits, but a umask of 0700
 *     would leave a file nobody can read), then write, fsync of the file and
 *     of its directory, so that a key reported as saved survives a crash.
 *     A failed write removes the file it created.
 *  2. Loading checks permissions on the open descriptor (fstat, no
 *     stat/open race): any group or other bit is VL_ERR_KEYFILE_PERMS, as
 *     ssh does for private keys.  The file is read into a fixed stack buffer
 *     (a key file is small: VL_KEYFILE_MAX_BYTES), which is wiped.
 *  3. Where secrets live, and what is wiped:
 *     - our own buffers (the file text, hex and Z85 text, decoded bytes):
 *       wiped with vl_wipe on every path;
 *     - jansson string values holding the secret hex or Z85: wiped in place
 *       (json_string_value points into the value's own heap copy) before
 *       json_decref frees them;
 *     - saving dumps with json_dump_callback into our fixed buffer instead of
 *       json_dumps, whose growing string buffer would free partial copies
 *       without wiping them;
 *     - WHAT REMAINS: jansson's lexer accumulates each string token in an
 *       internal buffer that it frees without wiping, so after a load the
 *       freed heap still holds one copy of each secret's text until it is
 *       reused.  Files written here put the public fields first, so that
 *       buffer has already grown to its final size and holds exactly one
 *       copy (no partial copies freed by reallocation).  Removing that copy
 *       would need process-wide jansson allocator hooks, which would
 *       change every other jansson user in the process; we do not do that.
 *  4. Validation is strict, like the genesis: unknown fields, duplicate
 *     keys, a wrong type or version, malformed hex or Z85 are VL_ERR_JSON;
 *     a secret that is not a valid key, or a public key that does not match
 *     its secret (Schnorr or CURVE), is VL_ERR_BAD_KEY.
 */
#include "vl_keyfile.h"

#include "vl_file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

/* A key file is about 300 bytes; anything much larger is not one. */
#define VL_KEYFILE_MAX_BYTES 4096
#define VL_KEYFILE_TYPE "voucher-ledger-key"
#define VL_KEYFILE_VERSION 1
#define Z85_KEY_LEN 40

/* ---- Z85 ------------------------------------------------------------------ */

void vl_z85_encode(char out[41], const uint8_t key[32])
{
    assert(out != NULL && key != NULL);
    char *r = zmq_z85_encode(out, key, 32);
    assert(r != NULL); /* 32 is a multiple of 4: cannot fail */
    (void)r;
}

vl_err vl_z85_decode(uint8_t key[32], const char *text)
{
    assert(key != NULL);
    char back[Z85_KEY_LEN + 1];
    /* zmq_z85_decode writes strlen*4/5 bytes: check the length first. */
    if (text == NULL || strnlen(text, Z85_KEY_LEN + 1) != Z85_KEY_LEN ||
        zmq_z85_decode(key, text) == NULL) {
        memset(key, 0, 32);
        return VL_ERR_RANGE;
    }
    /* Canonical: only the text that encodes these bytes is accepted. */
    vl_z85_encode(back, key);
    int same = memcmp(back, text, Z85_KEY_LEN) == 0;
    vl_wipe(back, sizeof back);
    if (!same) {
        vl_wipe(key, 32);
        return VL_ERR_RANGE;
    }
    return VL_OK;
}

/* ---- helpers ---------------------------------------------------------------- */

static void set_err(char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_cap, const char *fmt, ...)
{
    if (err == NULL || err_cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
}

/* Overwrite a jansson string value's own heap copy before it is freed. */
static void wipe_json_string(json_t *s)
{
    if (json_is_string(s))
        vl_wipe((void *)(uintptr_t)json_string_value(s), json_string_length(s));
}

void vl_keyfile_wipe(vl_keyfile *k)
{
    if (k != NULL)
        vl_wipe(k, sizeof *k);
}

vl_err vl_keyfile_generate(vl_keyfile *k, bool with_curve)
{
    assert(k != NULL);
    memset(k, 0, sizeof *k);
    if (vl_keypair_generate(&k->sign) != VL_OK)
        return VL_ERR_RANDOM;
    if (with_curve) {
        char pub[Z85_KEY_LEN + 1], sec[Z85_KEY_LEN + 1];
        int rc = zmq_curve_keypair(pub, sec);
        vl_err e = VL_ERR_RANDOM;
        if (rc == 0 && vl_z85_decode(k->curve_pubkey, pub) == VL_OK &&
            vl_z85_decode(k->curve_secret, sec) == VL_OK)
            e = VL_OK;
        vl_wipe(sec, sizeof sec);
        if (e != VL_OK) {
            vl_keyfile_wipe(k);
            return e;
        }
        k->has_curve = true;
    }
    return VL_OK;
}

/* ---- save ---------------------------------------------------------------------- */

typedef struct {
    char buf[VL_KEYFILE_MAX_BYTES];
    size_t len;
} out_buf;

static int dump_to_buf(const char *data, size_t size, void *arg)
{
    out_buf *o = arg;
    if (size > sizeof o->buf - o->len)
        return -1;
    memcpy(o->buf + o->len, data, size);
    o->len += size;
    return 0;
}

/* Add a string member; 0 on success. */
static int put_str(json_t *obj, const char *key, const char *value)
{
    return json_object_set_new(obj, key, json_string(value));
}

/* Render k as JSON text into o (public fields first: see note 3). */
static vl_err render(const vl_keyfile *k, out_buf *o)
{
    char hex[65], z85[Z85_KEY_LEN + 1];
    json_t *obj = json_object();
    if (obj == NULL)
        return VL_ERR_NOMEM;
    int bad = json_object_set_new(obj, "type", json_string(VL_KEYFILE_TYPE));
    bad |= json_object_set_new(obj, "version", json_integer(VL_KEYFILE_VERSION));
    vl_hex_encode(hex, k->sign.pubkey, 32);
    bad |= put_str(obj, "pubkey", hex);
    if (k->has_curve) {
        vl_z85_encode(z85, k->curve_pubkey);
        bad |= put_str(obj, "curve_pubkey", z85);
    }
    vl_hex_encode(hex, k->sign.secret, 32);
    bad |= put_str(obj, "secret", hex);
    vl_wipe(hex, sizeof hex);
    if (k->has_curve) {
        vl_z85_encode(z85, k->curve_secret);
        bad |= put_str(obj, "curve_secret", z85);
        vl_wipe(z85, sizeof z85);
    }
    o->len = 0;
    if (!bad)
        bad = json_dump_callback(obj, dump_to_buf, o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!bad)
        bad = dump_to_buf("\n", 1, o);
    wipe_json_string(json_object_get(obj, "secret"));
    wipe_json_string(json_object_get(obj, "curve_secret"));
    json_decref(obj);
    return bad ? VL_ERR_NOMEM : VL_OK;
}

vl_err vl_keyfile_save(const vl_keyfile *k, const char *path)
{
    assert(k != NULL && path != NULL);
    out_buf o;
    vl_err e = render(k, &o);
    if (e != VL_OK) {
        vl_wipe(&o, sizeof o);
        return e == VL_ERR_NOMEM ? VL_ERR_IO : e;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        vl_wipe(&o, sizeof o);
        return errno == EEXIST ? VL_ERR_EXISTS : VL_ERR_IO;
    }
    int bad = fchmod(fd, 0600);
    if (!bad)
        bad = vl_write_all(fd, o.buf, o.len);
    if (!bad)
        bad = fsync(fd);
    vl_wipe(&o, sizeof o);
    if (close(fd) != 0)
        bad = -1;
    if (!bad)
        bad = vl_fsync_parent(path);
    if (bad) {
        unlink(path); /* ours: O_EXCL created it */
        return VL_ERR_IO;
    }
    return VL_OK;
}

/* ---- load ------------------------------------------------------------------------ */

/* Read the whole file (checked for permissions) into buf.  *len excludes
 * the NUL that is appended. */
static vl_err read_keyfile(const char *path, char *buf, size_t cap, size_t *len, char *err,
                           size_t err_cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, err_cap, "%s: %s", path, strerror(errno));
        return VL_ERR_IO;
    }
    struct stat st;
    vl_err e = VL_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, err_cap, "%s: not a regular file", path);
        e = VL_ERR_IO;
    } else if ((st.st_mode & 077) != 0) {
        set_err(err, err_cap, "%s: mode %04o: key file readable or writable by group or others"
                " (chmod 600)", path, (unsigned)(st.st_mode & 07777));
        e = VL_ERR_KEYFILE_PERMS;
    }
    size_t got = 0;
    /* A file open to others is still read: if it is the public part that
     * keygen prints, the caller says so rather than "chmod 600". */
    for (unsigned eintr = 0; (e == VL_OK || e == VL_ERR_KEYFILE_PERMS) && got < cap - 1;) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR && ++eintr < 1000)
            continue;
        if (n < 0) {
            set_err(err, err_cap, "%s: %s", path, strerror(errno));
            e = VL_ERR_IO;
            break;
        } else if (n == 0) {
            break;
        }
        got += n > 0 ? (size_t)n : 0;
    }
    if ((e == VL_OK || e == VL_ERR_KEYFILE_PERMS) && got == cap - 1) {
        set_err(err, err_cap, "%s: larger than %d bytes: not a key file", path,
                VL_KEYFILE_MAX_BYTES - 1);
        e = VL_ERR_JSON;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return e;
}

/* Check the fixed members and that no unknown member is present. */
static vl_err check_members(json_t *root, char *err, size_t err_cap)
{
    static const char *const known[] = {"type", "version", "pubkey", "secret",
                                        "curve_pubkey", "curve_secret"};
    const char *key;
    json_t *val;
    if (!json_is_object(root)) {
        set_err(err, err_cap, "key file: not a JSON object");
        return VL_ERR_JSON;
    }
    json_object_foreach(root, key, val) {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(key, known[i]) != 0)
            i++;
        if (i == sizeof known / sizeof known[0]) {
            set_err(err, err_cap, "key file: unknown field \"%.40s\"", key);
            return VL_ERR_JSON;
        }
    }
    json_t *type = json_object_get(root, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), VL_KEYFILE_TYPE) != 0) {
        set_err(err, err_cap, "key file: \"type\" must be \"%s\"", VL_KEYFILE_TYPE);
        return VL_ERR_JSON;
    }
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != VL_KEYFILE_VERSION) {
        set_err(err, err_cap, "key file: \"version\" must be %d", VL_KEYFILE_VERSION);
        return VL_ERR_JSON;
    }
    return VL_OK;
}

/* Decode member `name` (hex when z85 is 0, else Z85) into out[32]. */
static vl_err get_key(json_t *root, const char *name, int z85, uint8_t out[32], char *err,
                      size_t err_cap)
{
    json_t *v = json_object_get(root, name);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    vl_err e = s == NULL ? VL_ERR_RANGE : z85 ? vl_z85_decode(out, s) : vl_hex_decode(out, 32, s);
    if (e != VL_OK) {
        set_err(err, err_cap, "key file: \"%s\" must be %s", name,
                z85 ? "40 Z85 characters" : "64 hex digits");
        return VL_ERR_JSON;
    }
    return VL_OK;
}

static vl_err load_sign_key(json_t *root, vl_keyfile *k, char *err, size_t err_cap)
{
    uint8_t secret[32], pubkey[32];
    vl_err e = get_key(root, "secret", 0, secret, err, err_cap);
    if (e == VL_OK)
        e = get_key(root, "pubkey", 0, pubkey, err, err_cap);
    if (e == VL_OK && vl_keypair_from_secret(&k->sign, secret) != VL_OK) {
        set_err(err, err_cap, "key file: \"secret\" is not a valid secp256k1 secret key");
        e = VL_ERR_BAD_KEY;
    }
    if (e == VL_OK && memcmp(k->sign.pubkey, pubkey, 32) != 0) {
        set_err(err, err_cap, "key file: \"pubkey\" does not match \"secret\"");
        e = VL_ERR_BAD_KEY;
    }
    vl_wipe(secret, sizeof secret);
    return e;
}

static vl_err load_curve_key(json_t *root, vl_keyfile *k, char *err, size_t err_cap)
{
    json_t *sec = json_object_get(root, "curve_secret");
    json_t *pub = json_object_get(root, "curve_pubkey");
    if (sec == NULL && pub == NULL)
        return VL_OK;
    if (sec == NULL || pub == NULL) {
        set_err(err, err_cap, "key file: \"curve_secret\" and \"curve_pubkey\" go together");
        return VL_ERR_JSON;
    }
    vl_err e = get_key(root, "curve_secret", 1, k->curve_secret, err, err_cap);
    if (e == VL_OK)
        e = get_key(root, "curve_pubkey", 1, k->curve_pubkey, err, err_cap);
    if (e != VL_OK)
        return e;
    char derived[Z85_KEY_LEN + 1], pub_text[Z85_KEY_LEN + 1];
    if (zmq_curve_public(derived, json_string_value(sec)) != 0) {
        set_err(err, err_cap, "key file: this libzmq cannot check CURVE keys");
        return VL_ERR_BAD_KEY;
    }
    vl_z85_encode(pub_text, k->curve_pubkey);
    if (memcmp(derived, pub_text, Z85_KEY_LEN) != 0) {
        set_err(err, err_cap, "key file: \"curve_pubkey\" does not match \"curve_secret\"");
        return VL_ERR_BAD_KEY;
    }
    k->has_curve = true;
    return VL_OK;
}

vl_err vl_keyfile_load(vl_keyfile *k, const char *path, char *err, size_t err_cap)
{
    assert(k != NULL && path != NULL);
    char text[VL_KEYFILE_MAX_BYTES];
    size_t len = 0;
    memset(k, 0, sizeof *k);
    set_err(err, err_cap, "%s", "");
    vl_err e = read_keyfile(path, text, sizeof text, &len, err, err_cap);
    json_t *root = NULL;
    /* An operator's walk gave node.pub.  Parsed here only when no secret
     * is in the text: a key file's secrets go through one parse, below. */
    if ((e == VL_OK || e == VL_ERR_KEYFILE_PERMS) && strstr(text, "secret") == NULL) {
        json_t *pub = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(pub) && json_object_get(pub, "secret") == NULL &&
            json_object_get(pub, "pubkey") != NULL) {
            const char *named = json_string_value(json_object_get(pub, "key_file"));
            set_err(err, err_cap,
                    "%s: this is a public key (what keygen prints), not a key file: give the "
                    "secret key file%s%s",
                    path, named != NULL ? " it names: " : "", named != NULL ? named : "");
            e = VL_ERR_JSON;
        }
        json_decref(pub);
    }
    if (e == VL_OK) {
        json_error_t jerr;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL) {
            /* jansson quotes an offending token of up to 20 characters
             * ("near '...'"), which may be part of a malformed secret:
             * keep only the position and the reason. */
            char *near = strstr(jerr.text, " near ");
            if (near != NULL)
                *near = '\0';
            set_err(err, err_cap, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
            e = VL_ERR_JSON;
        }
        vl_wipe(&jerr, sizeof jerr);
    }
    vl_wipe(text, sizeof text);
    if (e == VL_OK)
        e = check_members(root, err, err_cap);
    if (e == VL_OK)
        e = load_sign_key(root, k, err, err_cap);
    if (e == VL_OK)
        e = load_curve_key(root, k, err, err_cap);
    if (root != NULL) {
        wipe_json_string(json_object_get(root, "secret"));
        wipe_json_string(json_object_get(root, "curve_secret"));
        json_decref(root);
    }
    if (e != VL_OK)
        vl_keyfile_wipe(k);
    return e;
}
