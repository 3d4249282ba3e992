/* genesis_test.c - the genesis: loading, quorum arithmetic, a network id
 * that depends on every field but not on the order of the JSON, the JSON
 * and binary round trips, a strict decoder, and one test per rejection
 * with the offending field named in the error text.
 *
 * Genesis documents are built with jansson from deterministic keys
 * (secret = seed), mutated, dumped and loaded again. */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_test.h"

/* ---- building genesis documents ------------------------------------------- */

/* The x-only public key of the secret whose big-endian value is seed. */
static void seed_pubkey(uint8_t pub[32], unsigned seed)
{
    uint8_t secret[32] = {0};
    secret[30] = (uint8_t)(seed >> 8);
    secret[31] = (uint8_t)seed;
    vl_keypair kp;
    if (vl_keypair_from_secret(&kp, secret) != VL_OK) {
        fprintf(stderr, "cannot derive key %u\n", seed);
        exit(2);
    }
    memcpy(pub, kp.pubkey, 32);
    vl_keypair_wipe(&kp);
}

static json_t *seed_pubkey_json(unsigned seed)
{
    uint8_t pub[32];
    char hex[65];
    seed_pubkey(pub, seed);
    vl_hex_encode(hex, pub, 32);
    return json_string(hex);
}

static json_t *curve_json(unsigned seed)
{
    uint8_t key[32];
    char z85[41];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(seed * 31u + (unsigned)i * 7u);
    vl_z85_encode(z85, key);
    return json_string(z85);
}

static json_t *node_json(unsigned i, const char *role)
{
    char id[16], peer[64], client[64];
    snprintf(id, sizeof id, "node-%02u", i);
    snprintf(peer, sizeof peer, "tcp://127.0.0.1:%u", 7001 + i);
    snprintf(client, sizeof client, "tcp://127.0.0.1:%u", 7101 + i);
    return json_pack("{s:s, s:i, s:o, s:o, s:s, s:s, s:s}", "id", id, "region", 310000,
                     "pubkey", seed_pubkey_json(1 + i), "curve_pubkey", curve_json(1 + i),
                     "peer_endpoint", peer, "client_endpoint", client, "role", role);
}

/* `voters` voters then `observers` observers, 2 issuers, 2 providers. */
static json_t *base_json(unsigned voters, unsigned observers, unsigned f)
{
    json_t *nodes = json_array();
    for (unsigned i = 0; i < voters + observers; i++)
        json_array_append_new(nodes, node_json(i, i < voters ? "voter" : "observer"));
    json_t *issuers = json_pack(
        "[{s:s, s:i, s:o, s:I}, {s:s, s:i, s:o, s:I}]", "id", "shanghai", "region", 310000,
        "pubkey", seed_pubkey_json(101), "budget_fen", (json_int_t)60000000000,
        "id", "beijing", "region", 110000, "pubkey", seed_pubkey_json(102), "budget_fen",
        (json_int_t)25000000000);
    json_t *providers = json_pack("[{s:s, s:i, s:o}, {s:s, s:i, s:o}]", "id", "guizhou-dc1",
                                  "region", 520000, "pubkey", seed_pubkey_json(201), "id",
                                  "ningxia-dc1", "region", 640000, "pubkey",
                                  seed_pubkey_json(202));
    return json_pack("{s:s, s:i, s:o, s:o, s:o}", "network", "test-net", "max_faulty", (int)f,
                     "nodes", nodes, "issuers", issuers, "providers", providers);
}

/* Dump j (which this takes) and load it. */
static vl_err load_owned(json_t *j, vl_genesis *g, char *err, size_t err_cap)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    vl_err rc = vl_genesis_load_json(g, text, strlen(text), err, err_cap);
    free(text);
    return rc;
}

static json_t *entry(json_t *j, const char *list, size_t i)
{
    return json_array_get(json_object_get(j, list), i);
}

static vl_genesis *new_genesis(void)
{
    vl_genesis *g = calloc(1, sizeof *g);
    if (g == NULL)
        exit(2);
    return g;
}

/* Load j (taken) and check the error names `want` (a substring). */
static void expect_reject(json_t *j, vl_err want_rc, const char *want, int line)
{
    vl_genesis *g = new_genesis();
    char err[256] = "";
    vl_err rc = load_owned(j, g, err, sizeof err);
    if (rc != want_rc || strstr(err, want) == NULL) {
        vl_test_fail++;
        fprintf(stderr, "%s:%d: got %s \"%s\", want %s naming \"%s\"\n", __FILE__, line,
                vl_err_name(rc), err, vl_err_name(want_rc), want);
    } else {
        vl_test_pass++;
        if (getenv("VL_TEST_VERBOSE") != NULL)
            printf("  rejected: %s\n", err);
    }
    free(g);
}
#define REJECT(j, want) expect_reject((j), VL_ERR_GENESIS, (want), __LINE__)

/* ---- valid documents --------------------------------------------------------- */

static void test_quorums(void)
{
    static const struct {
        unsigned voters, observers, f, quorum;
    } cases[] = {{4, 0, 1, 3}, {7, 0, 2, 5}, {1, 0, 0, 1}, {4, 2, 1, 3}, {10, 0, 3, 7}};
    vl_genesis *g = new_genesis();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        json_t *j = base_json(cases[i].voters, cases[i].observers, cases[i].f);
        CHECK_ERR(load_owned(j, g, err, sizeof err), VL_OK);
        CHECK(g->voter_count == cases[i].voters);
        CHECK(g->node_count == cases[i].voters + cases[i].observers);
        CHECK(g->max_faulty == cases[i].f);
        CHECK(g->quorum == cases[i].quorum);
        CHECK(err[0] == '\0');
    }
    CHECK(vl_quorum(4, 1) == 3);
    CHECK(vl_quorum(7, 2) == 5);
    CHECK(vl_quorum(1, 0) == 1);
    CHECK(vl_quorum(64, 21) == 43);
    free(g);
}

static void test_loaded_fields(void)
{
    vl_genesis *g = new_genesis();
    char err[256];
    CHECK_ERR(load_owned(base_json(4, 1, 1), g, err, sizeof err), VL_OK);
    CHECK(strcmp(g->network, "test-net") == 0);
    CHECK(g->issuer_count == 2 && g->provider_count == 2);
    /* sorted by id: beijing before shanghai */
    CHECK(strcmp(g->issuers[0].id, "beijing") == 0);
    CHECK(g->issuers[0].region == 110000);
    CHECK(g->issuers[0].budget_fen == 25000000000u);
    CHECK(strcmp(g->providers[1].id, "ningxia-dc1") == 0);
    CHECK(g->nodes[4].role == VL_ROLE_OBSERVER);
    CHECK(strcmp(g->nodes[2].peer_endpoint, "tcp://127.0.0.1:7003") == 0);
    uint8_t pub[32];
    seed_pubkey(pub, 3);
    CHECK_MEM(g->nodes[2].pubkey, pub, 32);
    CHECK(vl_genesis_node_by_pubkey(g, pub) == 2);
    CHECK(vl_genesis_node_by_id(g, "node-02") == 2);
    CHECK(vl_genesis_node_by_id(g, "node-04") == 4);
    CHECK(vl_genesis_node_by_id(g, "node-00") == 0);
    CHECK(vl_genesis_node_by_id(g, "node-05") == -1);
    seed_pubkey(pub, 102);
    CHECK(vl_genesis_issuer_by_pubkey(g, pub) == 0);
    CHECK(vl_genesis_node_by_pubkey(g, pub) == -1);
    CHECK(vl_genesis_provider_by_pubkey(g, pub) == -1);
    seed_pubkey(pub, 202);
    CHECK(vl_genesis_provider_by_pubkey(g, pub) == 1);
    CHECK(vl_genesis_issuer_by_pubkey(g, pub) == -1);
    free(g);
}

/* A copy of j with every array permuted (seeded Fisher-Yates) and the keys
 * of every object reversed. */
static json_t *shuffled(json_t *j, uint32_t *rng)
{
    if (json_is_object(j)) {
        json_t *out = json_object();
        const char *keys[16];
        size_t n = 0;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) keys[n++] = k;
        while (n > 0) {
            n--;
            json_object_set_new(out, keys[n], shuffled(json_object_get(j, keys[n]), rng));
        }
        return out;
    }
    if (json_is_array(j)) {
        size_t n = json_array_size(j), perm[64];
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = n; i > 1; i--) {
            *rng = *rng * 1103515245u + 12345u;
            size_t r = (*rng >> 16) % i, t = perm[i - 1];
            perm[i - 1] = perm[r];
            perm[r] = t;
        }
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(out, shuffled(json_array_get(j, perm[i]), rng));
        return out;
    }
    return json_deep_copy(j);
}

static void test_order_independent(void)
{
    vl_genesis *a = new_genesis(), *b = new_genesis();
    char err[256];
    json_t *base = base_json(7, 2, 2);
    CHECK_ERR(load_owned(json_deep_copy(base), a, err, sizeof err), VL_OK);
    for (uint32_t seed = 1; seed <= 8; seed++) {
        uint32_t rng = seed;
        CHECK_ERR(load_owned(shuffled(base, &rng), b, err, sizeof err), VL_OK);
        CHECK_MEM(a->network_id, b->network_id, 32);
        CHECK(memcmp(a, b, sizeof *a) == 0); /* same canonical struct */
    }
    json_decref(base);
    free(a);
    free(b);
}

/* Each mutation of one field of the base document must change the id. */
static void test_id_depends_on_every_field(void)
{
    static const struct {
        const char *list; /* NULL: top level */
        size_t index;
        const char *field;
        int kind; /* 0 string, 1 integer, 2 pubkey seed, 3 curve seed */
        const char *s;
        json_int_t i;
    } muts[] = {
        {NULL, 0, "network", 0, "test-net2", 0},
        {NULL, 0, "max_faulty", 1, NULL, 0},
        {"nodes", 1, "id", 0, "node-01b", 0},
        {"nodes", 1, "region", 1, NULL, 310100},
        {"nodes", 1, "pubkey", 2, NULL, 77},
        {"nodes", 1, "curve_pubkey", 3, NULL, 77},
        {"nodes", 1, "peer_endpoint", 0, "tcp://127.0.0.1:9999", 0},
        {"nodes", 1, "client_endpoint", 0, "tcp://127.0.0.1:9998", 0},
        {"nodes", 4, "role", 0, "voter", 0},
        {"issuers", 0, "id", 0, "shanghai2", 0},
        {"issuers", 0, "region", 1, NULL, 310101},
        {"issuers", 0, "pubkey", 2, NULL, 78},
        {"issuers", 0, "budget_fen", 1, NULL, 60000000001},
        {"providers", 1, "id", 0, "ningxia-dc2", 0},
        {"providers", 1, "region", 1, NULL, 640100},
        {"providers", 1, "pubkey", 2, NULL, 79},
    };
    vl_genesis *base = new_genesis(), *g = new_genesis();
    char err[256];
    json_t *j = base_json(4, 1, 1);
    CHECK_ERR(load_owned(json_deep_copy(j), base, err, sizeof err), VL_OK);
    for (size_t m = 0; m < sizeof muts / sizeof muts[0]; m++) {
        json_t *c = json_deep_copy(j);
        json_t *obj = muts[m].list ? entry(c, muts[m].list, muts[m].index) : c;
        json_t *v = muts[m].kind == 0   ? json_string(muts[m].s)
                    : muts[m].kind == 1 ? json_integer(muts[m].i)
                    : muts[m].kind == 2 ? seed_pubkey_json((unsigned)muts[m].i)
                                        : curve_json((unsigned)muts[m].i);
        json_object_set_new(obj, muts[m].field, v);
        vl_err rc = load_owned(c, g, err, sizeof err);
        CHECK_ERR(rc, VL_OK);
        if (rc != VL_OK)
            fprintf(stderr, "  mutation %zu: %s\n", m, err);
        CHECK(memcmp(g->network_id, base->network_id, 32) != 0);
    }
    json_decref(j);
    free(base);
    free(g);
}

/* ---- round trips --------------------------------------------------------------- */

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

static void test_save_load(void)
{
    vl_genesis *a = new_genesis(), *b = new_genesis();
    char err[256], dir[] = "/tmp/genesis_test.XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    CHECK_ERR(load_owned(base_json(7, 2, 2), a, err, sizeof err), VL_OK);
    CHECK_ERR(vl_genesis_save_file(a, path), VL_OK);
    CHECK_ERR(vl_genesis_load_file(b, path, err, sizeof err), VL_OK);
    CHECK(memcmp(a, b, sizeof *a) == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    /* replacing works and leaves no temporary file behind */
    CHECK_ERR(vl_genesis_save_file(b, path), VL_OK);
    CHECK(count_dir_entries(dir) == 1);
    /* the file is what an operator reads: indented, canonical order */
    FILE *f = fopen(path, "r");
    char text[256] = "";
    CHECK(f != NULL && fread(text, 1, sizeof text - 1, f) > 0);
    if (f != NULL)
        fclose(f);
    CHECK(strncmp(text, "{\n  \"network\": \"test-net\",\n  \"max_faulty\": 2,", 45) == 0);
    /* saving into a missing directory fails cleanly */
    char bad[96];
    snprintf(bad, sizeof bad, "%s/missing/genesis.json", dir);
    CHECK_ERR(vl_genesis_save_file(a, bad), VL_ERR_IO);
    CHECK_ERR(vl_genesis_load_file(b, bad, err, sizeof err), VL_ERR_IO);
    CHECK(strstr(err, "missing/genesis.json") != NULL);
    unlink(path);
    rmdir(dir);
    free(a);
    free(b);
}

static void test_binary_round_trip(void)
{
    vl_genesis *a = new_genesis(), *b = new_genesis();
    char err[256];
    CHECK_ERR(load_owned(base_json(4, 1, 1), a, err, sizeof err), VL_OK);
    size_t len = 0, len2 = 0;
    CHECK_ERR(vl_genesis_encode(a, NULL, 0, &len), VL_OK);
    CHECK(len > 100);
    uint8_t *buf = malloc(len), *buf2 = malloc(len);
    CHECK_ERR(vl_genesis_encode(a, buf, len, &len2), VL_OK);
    CHECK(len2 == len);
    CHECK(buf[0] == 1 && buf[1] == 0x01);
    uint8_t id[32];
    vl_tagged_hash(id, VL_TAG_GENESIS, buf, len);
    CHECK_MEM(id, a->network_id, 32);
    CHECK_ERR(vl_genesis_decode(buf, len, b), VL_OK);
    CHECK(memcmp(a, b, sizeof *a) == 0);
    CHECK_ERR(vl_genesis_encode(b, buf2, len, &len2), VL_OK);
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    CHECK_ERR(vl_genesis_encode(a, buf2, len - 1, &len2), VL_ERR_TOO_BIG);
    /* a struct out of canonical order is refused by the encoder too */
    vl_gen_node t = b->nodes[0];
    b->nodes[0] = b->nodes[1];
    b->nodes[1] = t;
    CHECK_ERR(vl_genesis_encode(b, buf2, len, &len2), VL_ERR_UNSORTED);
    free(buf);
    free(buf2);
    free(a);
    free(b);
}

/* Offsets into the encoding of base_json(4, 1, 1), network "test-net":
 * 2 header + 1+8 network + 4 max_faulty + 2 node_count, then the nodes. */
#define OFF_MAX_FAULTY 11
#define OFF_NODE_COUNT 15
#define OFF_NODE0 17
/* node: 1+7 id, 4 region, 32 pubkey, 32 curve, 1+20 peer, 1+20 client, 1 role */
#define OFF_NODE0_PUBKEY (OFF_NODE0 + 8 + 4)
#define OFF_NODE0_ROLE (OFF_NODE0 + 8 + 4 + 64 + 21 + 21)

static vl_err decode_mutated(const uint8_t *buf, size_t len, size_t at, uint8_t value)
{
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    copy[at] = value;
    vl_genesis *g = new_genesis();
    vl_err rc = vl_genesis_decode(copy, len, g);
    bool zeroed = true;
    for (size_t i = 0; rc != VL_OK && i < sizeof *g; i++)
        zeroed = zeroed && ((const uint8_t *)g)[i] == 0;
    CHECK(zeroed);
    free(g);
    free(copy);
    return rc;
}

static void test_decode_strict(void)
{
    vl_genesis *a = new_genesis();
    char err[256];
    CHECK_ERR(load_owned(base_json(4, 1, 1), a, err, sizeof err), VL_OK);
    size_t len;
    CHECK_ERR(vl_genesis_encode(a, NULL, 0, &len), VL_OK);
    uint8_t *buf = malloc(len + 1);
    CHECK_ERR(vl_genesis_encode(a, buf, len, &len), VL_OK);
    int truncated_ok = 1;
    for (size_t n = 0; n < len; n++)
        truncated_ok &= vl_genesis_decode(buf, n, a) == VL_ERR_TRUNCATED;
    CHECK(truncated_ok);
    buf[len] = 0;
    CHECK_ERR(vl_genesis_decode(buf, len + 1, a), VL_ERR_TRAILING);
    CHECK_ERR(decode_mutated(buf, len, 0, 2), VL_ERR_VERSION);
    CHECK_ERR(decode_mutated(buf, len, 1, 0x10), VL_ERR_TYPE);
    CHECK(buf[OFF_NODE_COUNT] == 5 && buf[OFF_NODE0] == 7 && buf[OFF_NODE0 + 1] == 'n');
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE_COUNT + 1, 1), VL_ERR_LIMIT); /* 261 nodes */
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE_COUNT, 0), VL_ERR_EMPTY);
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE0, 33), VL_ERR_LIMIT); /* id length 33 */
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE0 + 1, 'z'), VL_ERR_UNSORTED);
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE0 + 2, 0x07), VL_ERR_NONCANONICAL);
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE0 + 2, '!'), VL_ERR_GENESIS); /* id charset */
    CHECK(buf[OFF_NODE0_ROLE] == VL_ROLE_VOTER);
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE0_ROLE, 3), VL_ERR_RANGE);
    CHECK_ERR(decode_mutated(buf, len, OFF_NODE0_ROLE, VL_ROLE_OBSERVER), VL_ERR_GENESIS);
    CHECK_ERR(decode_mutated(buf, len, OFF_MAX_FAULTY, 2), VL_ERR_GENESIS); /* 4 < 7 */
    /* an x coordinate >= p is no key */
    uint8_t *bad = malloc(len);
    memcpy(bad, buf, len);
    memset(bad + OFF_NODE0_PUBKEY, 0xff, 32);
    CHECK_ERR(vl_genesis_decode(bad, len, a), VL_ERR_GENESIS);
    free(bad);
    free(buf);
    free(a);
}

/* ---- rejections, each naming its field ------------------------------------------ */

static void test_reject_members(void)
{
    json_t *j;
    j = base_json(4, 0, 1); /* duplicate node id */
    json_object_set_new(entry(j, "nodes", 3), "id", json_string("node-01"));
    REJECT(j, "nodes[3].id: duplicate id \"node-01\"");

    j = base_json(4, 0, 1); /* one key for a node and an issuer */
    json_object_set_new(entry(j, "issuers", 1), "pubkey", seed_pubkey_json(2));
    REJECT(j, "issuers[1].pubkey: same key as nodes[1].pubkey");

    j = base_json(4, 0, 1); /* and for an issuer and a provider */
    json_object_set_new(entry(j, "providers", 0), "pubkey", seed_pubkey_json(101));
    REJECT(j, "providers[0].pubkey: same key as issuers[0].pubkey");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 2), "pubkey", json_string("xyz"));
    REJECT(j, "nodes[2].pubkey: must be 64 hex digits");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 2), "pubkey", json_string(
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
    REJECT(j, "nodes[2].pubkey: not a valid x-only public key");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 1), "curve_pubkey",
                        json_string("~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"));
    REJECT(j, "nodes[1].curve_pubkey: must be 40 Z85 characters");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 1), "curve_pubkey", json_string("abc"));
    REJECT(j, "nodes[1].curve_pubkey");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 3), "curve_pubkey", curve_json(1));
    REJECT(j, "nodes[3].curve_pubkey: same CURVE key as nodes[0]");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 2), "client_endpoint",
                        json_string("tcp://127.0.0.1:7001"));
    REJECT(j, "nodes[2].client_endpoint: endpoint \"tcp://127.0.0.1:7001\" already used by "
              "nodes[0].peer_endpoint");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 0), "id", json_string("bad id"));
    REJECT(j, "nodes[0].id");
}

static void test_reject_values(void)
{
    json_t *j;
    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "issuers", 0), "region", json_integer(99999));
    REJECT(j, "issuers[0].region");
    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "providers", 1), "region", json_integer(1000000));
    REJECT(j, "providers[1].region");

    j = base_json(4, 0, 2);
    REJECT(j, "max_faulty: 4 voters tolerate at most 1 faulty (need n >= 3f+1)");
    j = base_json(4, 3, 2); /* observers do not count */
    REJECT(j, "max_faulty: 4 voters tolerate at most 1 faulty");

    j = base_json(0, 3, 0);
    REJECT(j, "nodes: no node has role \"voter\"");
    j = base_json(0, 0, 0);
    REJECT(j, "nodes: no node has role \"voter\"");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "issuers", 1), "budget_fen", json_integer(0));
    REJECT(j, "issuers[1].budget_fen");
    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "issuers", 1), "budget_fen", json_integer(-5));
    REJECT(j, "issuers[1].budget_fen");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 3), "role", json_string("leader"));
    REJECT(j, "nodes[3].role: must be \"voter\" or \"observer\"");

    j = base_json(4, 0, 1);
    json_object_set_new(j, "network", json_string(""));
    REJECT(j, "network: must not be empty");

    j = base_json(4, 0, 1);
    json_t *nodes = json_object_get(j, "nodes");
    for (unsigned i = 4; i < 65; i++)
        json_array_append_new(nodes, node_json(i, "observer"));
    REJECT(j, "nodes: 65 entries, at most 64");
}

static void test_reject_shape(void)
{
    json_t *j;
    j = base_json(4, 0, 1);
    json_object_set_new(j, "max_fautly", json_integer(1));
    REJECT(j, "max_fautly: unknown field");
    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 2), "rol", json_string("voter"));
    REJECT(j, "nodes[2].rol: unknown field");

    j = base_json(4, 0, 1);
    json_object_del(entry(j, "providers", 0), "pubkey");
    REJECT(j, "providers[0].pubkey: missing");
    j = base_json(4, 0, 1);
    json_object_del(j, "issuers");
    REJECT(j, "issuers: missing");

    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 0), "region", json_string("310000"));
    REJECT(j, "nodes[0].region: must be an integer");
    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "nodes", 0), "region", json_real(310000.0));
    REJECT(j, "nodes[0].region: must be an integer");
    j = base_json(4, 0, 1);
    json_object_set_new(entry(j, "issuers", 0), "id", json_integer(7));
    REJECT(j, "issuers[0].id: must be a string");
    j = base_json(4, 0, 1);
    json_object_set_new(j, "providers", json_object());
    REJECT(j, "providers: must be an array");
    j = base_json(4, 0, 1);
    json_array_append_new(json_object_get(j, "providers"), json_string("dc"));
    REJECT(j, "providers[2]: must be an object");
    expect_reject(json_array(), VL_ERR_GENESIS, "top level must be a JSON object", __LINE__);
}

static void test_reject_syntax(void)
{
    vl_genesis *g = new_genesis();
    char err[256] = "";
    const char *text = "{\n  \"network\": \"x\",\n  \"max_faulty\": 1,,\n}\n";
    CHECK_ERR(vl_genesis_load_json(g, text, strlen(text), err, sizeof err), VL_ERR_JSON);
    CHECK(strstr(err, "line 3") != NULL);
    text = "{\"network\": \"a\", \"network\": \"b\"}";
    CHECK_ERR(vl_genesis_load_json(g, text, strlen(text), err, sizeof err), VL_ERR_JSON);
    CHECK(strstr(err, "duplicate") != NULL);
    text = "{} trailing";
    CHECK_ERR(vl_genesis_load_json(g, text, strlen(text), err, sizeof err), VL_ERR_JSON);
    CHECK_ERR(vl_genesis_load_json(g, "", 0, err, sizeof err), VL_ERR_JSON);
    CHECK_ERR(vl_genesis_load_file(g, "/nonexistent/genesis.json", err, sizeof err),
              VL_ERR_IO);
    CHECK(strstr(err, "/nonexistent/genesis.json") != NULL);
    free(g);
}

/* vl_genesis_finish on a hand-built struct: the C door's own checks. */
static void test_finish_struct(void)
{
    vl_genesis *g = new_genesis();
    char err[256] = "";
    CHECK_ERR(load_owned(base_json(4, 0, 1), g, err, sizeof err), VL_OK);
    uint8_t id[32];
    memcpy(id, g->network_id, 32);
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_OK); /* idempotent */
    CHECK_MEM(id, g->network_id, 32);
    g->issuers[0].budget_fen = (uint64_t)INT64_MAX + 1u;
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_ERR_GENESIS);
    CHECK(strstr(err, "issuers[0].budget_fen") != NULL);
    /* each budget fits, their sum does not (base_json has two issuers) */
    g->issuers[0].budget_fen = INT64_MAX;
    g->issuers[1].budget_fen = 1;
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_ERR_GENESIS);
    CHECK(strstr(err, "the budgets add up to more than 9223372036854775807 fen") != NULL);
    g->issuers[0].budget_fen = INT64_MAX - 1;
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_OK); /* exactly INT64_MAX */
    g->issuers[0].budget_fen = 1;
    memset(g->nodes[0].id, 'a', sizeof g->nodes[0].id); /* no terminator */
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_ERR_GENESIS);
    CHECK(strstr(err, "nodes[0].id: longer than 32") != NULL);
    CHECK_ERR(vl_genesis_finish(g, NULL, 0), VL_ERR_GENESIS); /* err may be NULL */
    free(g);
}

/* Every list at its limit: finish, both round trips, and one over. */
static void test_maximal(void)
{
    vl_genesis *g = new_genesis(), *b = new_genesis();
    char err[256] = "", dir[] = "/tmp/genesis_test.XXXXXX", path[64];
    snprintf(g->network, sizeof g->network, "%064d", 7);
    g->max_faulty = 21; /* 64 >= 3*21+1 */
    g->node_count = VL_MAX_NODES;
    g->issuer_count = VL_MAX_ISSUERS;
    g->provider_count = VL_MAX_PROVIDERS;
    unsigned seed = 1;
    for (uint32_t i = 0; i < VL_MAX_NODES; i++) {
        vl_gen_node *n = &g->nodes[VL_MAX_NODES - 1 - i]; /* reverse order */
        snprintf(n->id, sizeof n->id, "node-%027u", i);
        n->region = 310000;
        seed_pubkey(n->pubkey, seed++);
        memset(n->curve_pubkey, (int)i, 32);
        snprintf(n->peer_endpoint, sizeof n->peer_endpoint, "tcp://10.0.0.%02u:%0112u", i, 1);
        snprintf(n->client_endpoint, sizeof n->client_endpoint, "tcp://10.0.1.%u:7101", i);
        n->role = VL_ROLE_VOTER;
    }
    for (uint32_t i = 0; i < VL_MAX_ISSUERS; i++) {
        snprintf(g->issuers[i].id, sizeof g->issuers[i].id, "issuer-%u", i);
        g->issuers[i].region = 100000 + i;
        seed_pubkey(g->issuers[i].pubkey, seed++);
        g->issuers[i].budget_fen = INT64_MAX / VL_MAX_ISSUERS; /* the sum's limit */
    }
    for (uint32_t i = 0; i < VL_MAX_PROVIDERS; i++) {
        snprintf(g->providers[i].id, sizeof g->providers[i].id, "provider-%u", i);
        g->providers[i].region = 999999 - i;
        seed_pubkey(g->providers[i].pubkey, seed++);
    }
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_OK);
    CHECK(g->quorum == 43 && strcmp(g->nodes[0].id, "node-000000000000000000000000000") == 0);
    size_t len = 0;
    CHECK_ERR(vl_genesis_encode(g, NULL, 0, &len), VL_OK);
    uint8_t *buf = malloc(len);
    CHECK_ERR(vl_genesis_encode(g, buf, len, &len), VL_OK);
    CHECK_ERR(vl_genesis_decode(buf, len, b), VL_OK);
    CHECK(memcmp(g, b, sizeof *g) == 0);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/max.json", dir);
    CHECK_ERR(vl_genesis_save_file(g, path), VL_OK);
    CHECK_ERR(vl_genesis_load_file(b, path, err, sizeof err), VL_OK);
    CHECK(memcmp(g, b, sizeof *g) == 0);
    unlink(path);
    rmdir(dir);
    g->provider_count = VL_MAX_PROVIDERS + 1; /* finish reads no entry past a limit */
    CHECK_ERR(vl_genesis_finish(g, err, sizeof err), VL_ERR_GENESIS);
    CHECK(strstr(err, "providers: 1025 entries, at most 1024") != NULL);
    CHECK_ERR(vl_genesis_encode(g, NULL, 0, &len), VL_ERR_LIMIT);
    free(buf);
    free(g);
    free(b);
}

int main(void)
{
    test_quorums();
    test_loaded_fields();
    test_order_independent();
    test_id_depends_on_every_field();
    test_save_load();
    test_binary_round_trip();
    test_decode_strict();
    test_reject_members();
    test_reject_values();
    test_reject_shape();
    test_reject_syntax();
    test_finish_struct();
    test_maximal();
    VL_TEST_END();
}
