/* vl_logfile_test.c - the log export file (tools/vl_logfile.h) on real
 * files in a temporary directory: a round trip of every record type, the
 * writer refusing an existing file, and the reader's framing checks (a
 * file cut at every byte, bad magic, a bad header, an unknown or misplaced
 * record type, an oversized record), each with the error the header names
 * and never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vl_logfile.h"
#include "vl_test.h"

static char g_dir[] = "/tmp/vl_logfile_test.XXXXXX";

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = malloc(1 << 20);
    *len = f != NULL && b != NULL ? fread(b, 1, 1 << 20, f) : 0;
    if (f != NULL)
        fclose(f);
    return b;
}

static void spill(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(b, 1, len, f);
        fclose(f);
    }
}

/* Read every record of path; the first error (VL_OK at a clean end). */
static vl_err read_all(const char *path, unsigned *records)
{
    vl_logfile_reader *r = NULL;
    char err[256];
    vl_err e = vl_logfile_open(path, &r, err, sizeof err);
    *records = 0;
    for (unsigned guard = 0; e == VL_OK && guard < 1000; guard++) {
        uint8_t type;
        const uint8_t *buf;
        size_t len;
        e = vl_logfile_next(r, &type, &buf, &len, err, sizeof err);
        if (e != VL_OK || type == VL_LOGREC_END)
            break;
        ++*records;
    }
    vl_logfile_close_reader(&r);
    CHECK(r == NULL);
    return e;
}

static void round_trip(const uint8_t net[32])
{
    char p[256], err[256];
    uint8_t big[300];
    memset(big, 0xab, sizeof big);
    path_of(p, sizeof p, "a.vllog");
    vl_logfile_writer *w = NULL;
    CHECK_ERR(vl_logfile_create(p, "node2", 1, net, 1700000000123ull, &w, err, sizeof err), VL_OK);
    CHECK_ERR(vl_logfile_put(w, VL_LOGREC_ENTRY, (const uint8_t *)"e1", 2), VL_OK);
    CHECK_ERR(vl_logfile_put(w, VL_LOGREC_ENTRY, big, sizeof big), VL_OK);
    CHECK_ERR(vl_logfile_put(w, VL_LOGREC_CHECKPOINT, (const uint8_t *)"cp", 2), VL_OK);
    CHECK_ERR(vl_logfile_put(w, VL_LOGREC_LOCK, NULL, 0), VL_OK);
    static uint8_t huge[VL_LOGFILE_MAX_RECORD + 1];
    CHECK_ERR(vl_logfile_put(w, VL_LOGREC_ENTRY, huge, sizeof huge), VL_ERR_LIMIT);
    CHECK_ERR(vl_logfile_close(&w, err, sizeof err), VL_OK);
    CHECK(w == NULL);

    vl_logfile_reader *r = NULL;
    CHECK_ERR(vl_logfile_open(p, &r, err, sizeof err), VL_OK);
    if (r == NULL)
        return;
    CHECK(strcmp(vl_logfile_node_id(r), "node2") == 0);
    CHECK(vl_logfile_node_index(r) == 1);
    CHECK_MEM(vl_logfile_network_id(r), net, 32);
    uint8_t want_types[] = {VL_LOGREC_ENTRY, VL_LOGREC_ENTRY, VL_LOGREC_CHECKPOINT, VL_LOGREC_LOCK,
                            VL_LOGREC_END};
    size_t want_lens[] = {2, sizeof big, 2, 0, 0};
    const uint8_t *first = NULL;
    for (size_t i = 0; i < sizeof want_types; i++) {
        uint8_t type = 99;
        const uint8_t *buf;
        size_t len = 99;
        CHECK_ERR(vl_logfile_next(r, &type, &buf, &len, err, sizeof err), VL_OK);
        CHECK(type == want_types[i] && len == want_lens[i]);
        if (i == 0)
            first = buf;
        if (i == 1)
            CHECK_MEM(buf, big, sizeof big);
    }
    /* the mapping keeps earlier payloads valid until close (vl_logfile.c note 2) */
    CHECK(first != NULL && memcmp(first, "e1", 2) == 0);
    vl_logfile_close_reader(&r);

    /* an export never replaces a file */
    CHECK_ERR(vl_logfile_create(p, "node2", 1, net, 1, &w, err, sizeof err), VL_ERR_EXISTS);
    CHECK(w == NULL && strstr(err, "a.vllog") != NULL);
}

static void framing(void)
{
    char p[256], q[256];
    size_t len;
    unsigned n;
    path_of(p, sizeof p, "a.vllog");
    path_of(q, sizeof q, "bad.vllog");
    uint8_t *b = slurp(p, &len);
    CHECK(len > 40);
    CHECK_ERR(read_all(p, &n), VL_OK);
    CHECK(n == 4);
    /* cut at every length: never a crash, never a clean end short of the
     * full file except exactly at a record boundary */
    unsigned clean = 0;
    for (size_t cut = 0; cut < len; cut++) {
        spill(q, b, cut);
        vl_err e = read_all(q, &n);
        CHECK(e == VL_OK || e == VL_ERR_TRUNCATED);
        clean += e == VL_OK ? 1u : 0u;
    }
    CHECK(clean == 4); /* after the header and after each of the first 3 records */
    uint8_t *m = malloc(len + 8);
    memcpy(m, b, len);
    m[0] ^= 1; /* magic */
    spill(q, m, len);
    CHECK_ERR(read_all(q, &n), VL_ERR_TYPE);
    memcpy(m, b, len);
    m[8 + 5 + 1] = 'X'; /* the header's JSON ({"format":...) broken */
    spill(q, m, len);
    CHECK_ERR(read_all(q, &n), VL_ERR_TYPE);
    memcpy(m, b, len);
    memcpy(m + len, (const uint8_t[]){9, 0, 0, 0, 0}, 5); /* unknown type */
    spill(q, m, len + 5);
    CHECK_ERR(read_all(q, &n), VL_ERR_TYPE);
    memcpy(m + len, (const uint8_t[]){1, 0, 0, 0, 0}, 5); /* a second header */
    spill(q, m, len + 5);
    CHECK_ERR(read_all(q, &n), VL_ERR_TYPE);
    memcpy(m + len, (const uint8_t[]){2, 0, 0x10, 0, 1}, 5); /* 1 MiB + 1 */
    spill(q, m, len + 5);
    CHECK_ERR(read_all(q, &n), VL_ERR_LIMIT);
    free(m);
    free(b);
    unlink(q);
}

int main(void)
{
    uint8_t net[32];
    for (int i = 0; i < 32; i++)
        net[i] = (uint8_t)(i * 7 + 1);
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    round_trip(net);
    framing();
    char p[256];
    path_of(p, sizeof p, "a.vllog");
    unlink(p);
    rmdir(g_dir);
    VL_TEST_END();
}
