/* keyfile_test.c - wire/vl_keyfile.c: save/load round trips in a fresh
 * mkdtemp directory, the 0600 mode, refusal of group/other permissions,
 * O_EXCL, strict parsing (malformed JSON, unknown fields, bad hex or Z85),
 * key mismatches (Schnorr and CURVE), and the Z85 helpers.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "vl_keyfile.h"
#include "vl_test.h"

static char dir[256];

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* Write text to dir/name with the given mode; returns the path. */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
    static char path[512];
    path_of(path, sizeof path, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    if (fd < 0)
        return path;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(fchmod(fd, mode) == 0);
    close(fd);
    return path;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void test_round_trip(void)
{
    vl_keyfile k, back;
    char path[512], err[256];
    struct stat st;
    for (int curve = 0; curve <= 1; curve++) {
        CHECK_ERR(vl_keyfile_generate(&k, curve), VL_OK);
        CHECK(k.has_curve == (curve == 1));
        path_of(path, sizeof path, curve ? "node.key" : "issuer.key");
        CHECK_ERR(vl_keyfile_save(&k, path), VL_OK);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
        CHECK_ERR(vl_keyfile_load(&back, path, err, sizeof err), VL_OK);
        CHECK_MEM(back.sign.secret, k.sign.secret, 32);
        CHECK_MEM(back.sign.pubkey, k.sign.pubkey, 32);
        CHECK(back.has_curve == k.has_curve);
        CHECK_MEM(back.curve_secret, k.curve_secret, 32);
        CHECK_MEM(back.curve_pubkey, k.curve_pubkey, 32);
        /* Never overwrites, and the file is left as it was. */
        vl_keyfile other;
        CHECK_ERR(vl_keyfile_generate(&other, curve), VL_OK);
        CHECK_ERR(vl_keyfile_save(&other, path), VL_ERR_EXISTS);
        CHECK_ERR(vl_keyfile_load(&back, path, NULL, 0), VL_OK);
        CHECK_MEM(back.sign.secret, k.sign.secret, 32);
        /* Group or other bits: refused, and the output is wiped. */
        static const mode_t bad_modes[] = {0640, 0604, 0660, 0602, 0620, 0700 | 0001};
        for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
            CHECK(chmod(path, bad_modes[i]) == 0);
            memset(&back, 0xAA, sizeof back);
            err[0] = '\0';
            CHECK_ERR(vl_keyfile_load(&back, path, err, sizeof err), VL_ERR_KEYFILE_PERMS);
            CHECK(all_zero(&back, sizeof back));
            CHECK(strstr(err, "chmod 600") != NULL);
        }
        CHECK(chmod(path, 0400) == 0);
        CHECK_ERR(vl_keyfile_load(&back, path, err, sizeof err), VL_OK);
        vl_keyfile_wipe(&back);
        CHECK(all_zero(&back, sizeof back));
        vl_keyfile_wipe(&other);
        vl_keyfile_wipe(&k);
    }
}

/* The node key's CURVE pair is a real pair: libzmq derives the public key. */
static void test_curve_pair(void)
{
    vl_keyfile k;
    char sec[41], pub[41], derived[41];
    CHECK_ERR(vl_keyfile_generate(&k, true), VL_OK);
    vl_z85_encode(sec, k.curve_secret);
    vl_z85_encode(pub, k.curve_pubkey);
    CHECK(zmq_curve_public(derived, sec) == 0);
    CHECK(strcmp(derived, pub) == 0);
    CHECK(!all_zero(k.curve_secret, 32));
    vl_keyfile_wipe(&k);
}

static void test_z85(void)
{
    uint8_t key[32], back[32];
    char text[41];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 37 + 5);
    vl_z85_encode(text, key);
    CHECK(strlen(text) == 40);
    CHECK_ERR(vl_z85_decode(back, text), VL_OK);
    CHECK_MEM(back, key, 32);
    /* The example key pair of the ZeroMQ CURVE documentation (zmq_curve). */
    CHECK_ERR(vl_z85_decode(back, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"), VL_OK);
    static const char *bad[] = {
        "",
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf",   /* 39 */
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7a", /* 41 */
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~",  /* not Z85 */
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\"",
        "########################################", /* each group > 2^32 - 1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(back, 0xAA, sizeof back);
        CHECK_ERR(vl_z85_decode(back, bad[i]), VL_ERR_RANGE);
        CHECK(all_zero(back, 32));
    }
    CHECK_ERR(vl_z85_decode(back, NULL), VL_ERR_RANGE);
}

/* A key file text with the given fields (NULL: omitted). */
static void make_text(char *out, size_t cap, const char *secret, const char *pubkey,
                      const char *extra)
{
    snprintf(out, cap,
             "{\"type\": \"voucher-ledger-key\", \"version\": 1, \"secret\": \"%s\", "
             "\"pubkey\": \"%s\"%s}\n",
             secret, pubkey, extra != NULL ? extra : "");
}

static void test_malformed(const char *secret, const char *pubkey);

/* Keys that do not match, or are not keys. */
static void test_rejects(void)
{
    vl_keyfile k, other;
    char secret[65], pubkey[65], wrong_pub[65], text[1024], err[256], csec[41], cpub[41];
    CHECK_ERR(vl_keyfile_generate(&k, true), VL_OK);
    CHECK_ERR(vl_keyfile_generate(&other, true), VL_OK);
    vl_hex_encode(secret, k.sign.secret, 32);
    vl_hex_encode(pubkey, k.sign.pubkey, 32);
    vl_hex_encode(wrong_pub, other.sign.pubkey, 32);
    vl_z85_encode(csec, k.curve_secret);
    vl_z85_encode(cpub, other.curve_pubkey);

    make_text(text, sizeof text, secret, pubkey, NULL);
    CHECK_ERR(vl_keyfile_load(&k, write_file("ok.key", text, 0600), err, sizeof err), VL_OK);
    CHECK(!k.has_curve);
    make_text(text, sizeof text, secret, wrong_pub, NULL);
    CHECK_ERR(vl_keyfile_load(&k, write_file("mismatch.key", text, 0600), err, sizeof err),
              VL_ERR_BAD_KEY);
    CHECK(all_zero(&k, sizeof k));
    CHECK(strstr(err, "does not match") != NULL);
    make_text(text, sizeof text, "0000000000000000000000000000000000000000000000000000000000000000",
              pubkey, NULL);
    CHECK_ERR(vl_keyfile_load(&k, write_file("zero.key", text, 0600), err, sizeof err),
              VL_ERR_BAD_KEY);
    /* CURVE public key that is not the secret's. */
    char extra[256];
    snprintf(extra, sizeof extra, ", \"curve_secret\": \"%s\", \"curve_pubkey\": \"%s\"", csec,
             cpub);
    make_text(text, sizeof text, secret, pubkey, extra);
    CHECK_ERR(vl_keyfile_load(&k, write_file("curve.key", text, 0600), err, sizeof err),
              VL_ERR_BAD_KEY);
    vl_keyfile_wipe(&other);
    CHECK_ERR(vl_keyfile_generate(&k, false), VL_OK);
    vl_hex_encode(secret, k.sign.secret, 32);
    vl_hex_encode(pubkey, k.sign.pubkey, 32);
    test_malformed(secret, pubkey);
    vl_keyfile_wipe(&k);
}

/* Malformed or non-conforming JSON around a valid key pair. */
static void test_malformed(const char *secret, const char *pubkey)
{
    vl_keyfile k;
    char text[1024], err[256], extra[256];
    static const char *json_bad[] = {
        "", "{", "[]", "{\"type\": \"voucher-ledger-key\"}", "not json at all",
    };
    for (size_t i = 0; i < sizeof json_bad / sizeof json_bad[0]; i++)
        CHECK_ERR(vl_keyfile_load(&k, write_file("bad.key", json_bad[i], 0600), err, sizeof err),
                  VL_ERR_JSON);
    snprintf(extra, sizeof extra, ", \"secret\": \"%s\"", secret); /* duplicate key */
    make_text(text, sizeof text, secret, pubkey, extra);
    CHECK_ERR(vl_keyfile_load(&k, write_file("bad.key", text, 0600), err, sizeof err),
              VL_ERR_JSON);
    static const char *extras[] = {
        ", \"comment\": \"hi\"",                       /* unknown field */
        ", \"curve_secret\": \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"", /* half a pair */
        ", \"curve_secret\": 5, \"curve_pubkey\": 6",  /* wrong types */
    };
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        make_text(text, sizeof text, secret, pubkey, extras[i]);
        CHECK_ERR(vl_keyfile_load(&k, write_file("bad.key", text, 0600), err, sizeof err),
                  VL_ERR_JSON);
    }
    make_text(text, sizeof text, "abc", pubkey, NULL); /* short hex */
    CHECK_ERR(vl_keyfile_load(&k, write_file("bad.key", text, 0600), err, sizeof err),
              VL_ERR_JSON);
    snprintf(text, sizeof text, "{\"type\": \"voucher-ledger-key\", \"version\": 2, \"secret\": "
             "\"%s\", \"pubkey\": \"%s\"}", secret, pubkey);
    CHECK_ERR(vl_keyfile_load(&k, write_file("bad.key", text, 0600), err, sizeof err),
              VL_ERR_JSON);
    /* A syntax error inside the secret must not echo the secret. */
    /* (jansson quotes a bad token of up to 20 characters: "invalid escape
     * near '\"0123456789abcdef\q'") */
    snprintf(text, sizeof text, "{\"type\": \"voucher-ledger-key\", \"secret\": \"%.16s\\q\"}",
             secret);
    CHECK_ERR(vl_keyfile_load(&k, write_file("bad.key", text, 0600), err, sizeof err),
              VL_ERR_JSON);
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", secret);
    CHECK(strstr(err, prefix) == NULL);
    CHECK(strstr(err, "bad.key:1:") != NULL); /* still says where */
    /* Missing file. */
    char path[512];
    path_of(path, sizeof path, "missing.key");
    CHECK_ERR(vl_keyfile_load(&k, path, err, sizeof err), VL_ERR_IO);
    CHECK_ERR(vl_keyfile_load(&k, dir, err, sizeof err), VL_ERR_IO); /* a directory */
    vl_keyfile_wipe(&k);
}

static void test_save_io(void)
{
    vl_keyfile k;
    char path[512];
    CHECK_ERR(vl_keyfile_generate(&k, false), VL_OK);
    path_of(path, sizeof path, "no/such/dir/x.key");
    CHECK_ERR(vl_keyfile_save(&k, path), VL_ERR_IO);
    vl_keyfile_wipe(&k);
}

static void cleanup(void)
{
    static const char *names[] = {"node.key", "issuer.key", "ok.key", "mismatch.key",
                                  "zero.key", "curve.key", "bad.key"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        path_of(path, sizeof path, names[i]);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/vl_keyfile_test.XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_curve_pair();
    test_z85();
    test_rejects();
    test_save_io();
    cleanup();
    VL_TEST_END();
}
