/* store_test.c - the data file's prefill and warm-up (vl_store.c note 2c),
 * on real LMDB files in a temporary directory.
 *
 * What a node operator would notice if this were wrong:
 *  - data lost or corrupted: the prefill writes zeros into the data file,
 *    so every record written before, around and after it must read back
 *    intact, after a reopen and in a copy (a backup), also when one
 *    transaction wrote more than the prefill was ahead (LMDB outran it);
 *  - the gain gone: small commits on a prefilled file must not make the
 *    kernel write whole large folios (bytes written per commit, from
 *    /proc/self/io, bounded; the figure without the prefill is printed);
 *  - the file not kept ahead of LMDB, or extended when it must not be
 *    (a store that is not durable, or with the prefill off).
 *
 * Built three times: as is (must pass), and with VL_PLANT_PREFILL_STALE_END
 * and VL_PLANT_PREFILL_BIG_WRITES (tests/CMakeLists.txt), each of which
 * this test must catch (the plant's test passes only when this one fails).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vl_store.h"
#include "vl_test.h"

#define VALUE_BYTES 1000u
#define MAP_BYTES (256ull << 20)

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t file_bytes(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0u;
}

static uint64_t used_bytes(vl_store *s)
{
    uint64_t used, map;
    vl_store_usage(s, &used, &map);
    return used;
}

/* The value of record k: its key's bytes spread over VALUE_BYTES, so a
 * page of zeros or of another record never passes for it. */
static void value_of(uint32_t k, uint32_t gen, uint8_t v[VALUE_BYTES])
{
    uint32_t x = k * 2654435761u ^ gen * 40503u ^ 0x9e3779b9u;
    for (size_t i = 0; i < VALUE_BYTES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[i] = (uint8_t)(x | 1u); /* never zero */
    }
}

static void key_of(uint32_t k, uint8_t key[8])
{
    vl_be64_put(key, k);
}

/* One write transaction putting records [from, to) of generation gen,
 * after vl_store_maybe_grow as the core does before each step. */
static vl_err put_range(vl_store *s, uint32_t from, uint32_t to, uint32_t gen)
{
    vl_err e = vl_store_maybe_grow(s);
    if (e != VL_OK)
        return e;
    MDB_txn *t = NULL;
    e = vl_store_begin(s, false, &t);
    uint8_t key[8], v[VALUE_BYTES];
    for (uint32_t k = from; e == VL_OK && k < to; k++) {
        key_of(k, key);
        value_of(k, gen, v);
        e = vl_db_put(t, s->log, key, sizeof key, v, sizeof v, 0, NULL);
    }
    if (e == VL_OK)
        return vl_store_xlate(mdb_txn_commit(t));
    if (t != NULL)
        mdb_txn_abort(t);
    return e;
}

/* Records [0, n) must all read back as generation gen[k]; returns the
 * number that do not (missing, unreadable or different). */
static uint32_t count_bad(MDB_env *env, MDB_dbi dbi, uint32_t n, const uint32_t *gen)
{
    MDB_txn *t = NULL;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &t) != 0)
        return n;
    uint32_t bad = 0;
    uint8_t key[8], v[VALUE_BYTES];
    for (uint32_t k = 0; k < n; k++) {
        key_of(k, key);
        value_of(k, gen[k], v);
        MDB_val mk = {sizeof key, key}, mv;
        if (mdb_get(t, dbi, &mk, &mv) != 0 || mv.mv_size != VALUE_BYTES ||
            memcmp(mv.mv_data, v, VALUE_BYTES) != 0)
            bad++;
    }
    mdb_txn_abort(t);
    return bad;
}

static char *make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/vl-store-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
    char *d = mkdtemp(tmpl);
    return d != NULL ? strdup(d) : NULL;
}

/* A new store in a new directory (returned; NULL after a failed CHECK). */
static char *open_new(vl_store *s, bool durable, bool prefill)
{
    char *dir = make_dir();
    CHECK(dir != NULL);
    if (dir == NULL)
        return NULL;
    vl_err e = vl_store_open(s, dir, durable, prefill, false, MAP_BYTES, NULL, 0);
    CHECK_ERR(e, VL_OK);
    if (e == VL_OK)
        return dir;
    rm_tree(dir);
    free(dir);
    return NULL;
}

/* A durable store with the prefill: the file is ahead of LMDB from the
 * open on; a store that is not durable, or with the prefill off, is not
 * extended. */
static void test_ahead(void)
{
    vl_store s;
    char *dir = open_new(&s, true, true);
    if (dir == NULL)
        return;
    CHECK(s.prefilled >= VL_STORE_PREFILL_MIN / 2u);
    CHECK(file_bytes(dir) >= used_bytes(&s) + VL_STORE_PREFILL_MIN / 2u);
    uint64_t least_ahead = UINT64_MAX;
    for (uint32_t i = 0; i < 60; i++) {
        CHECK_ERR(put_range(&s, i * 50u, i * 50u + 50u, 0), VL_OK);
        (void)vl_store_maybe_grow(&s); /* before the next step */
        uint64_t f = file_bytes(dir), u = used_bytes(&s);
        CHECK(f >= u);
        if (f - u < least_ahead)
            least_ahead = f - u;
    }
    printf("ahead: %llu KiB prefilled; file at least %llu KiB past LMDB's pages\n",
           (unsigned long long)(s.prefilled >> 10), (unsigned long long)(least_ahead >> 10));
    CHECK(least_ahead >= VL_STORE_PREFILL_MIN / 2u);
    vl_store_close(&s);
    rm_tree(dir);
    free(dir);

    for (int variant = 0; variant < 2; variant++) {
        dir = open_new(&s, variant == 0, variant == 1); /* durable or prefill, not both */
        if (dir == NULL)
            return;
        for (uint32_t i = 0; i < 10; i++)
            CHECK_ERR(put_range(&s, i * 50u, i * 50u + 50u, 0), VL_OK);
        CHECK(s.prefilled == 0);
        CHECK(file_bytes(dir) <= used_bytes(&s));
        vl_store_close(&s);
        rm_tree(dir);
        free(dir);
    }

    /* Closing twice closes nothing the second time (descriptors reused). */
    dir = open_new(&s, true, true);
    if (dir == NULL)
        return;
    vl_store_close(&s);
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    vl_store_close(&s);
    CHECK(probe >= 0 && fcntl(probe, F_GETFD) >= 0);
    if (probe >= 0)
        close(probe);
    rm_tree(dir);
    free(dir);
}

/* Nothing the prefill writes may land on LMDB's pages: a transaction far
 * larger than the prefill's lead (LMDB writes past it), then more small
 * ones with rewrites; everything reads back after a reopen (which warms the
 * file) and in a copy of the environment. */
static void test_intact(void)
{
    enum { N = 6000 };
    static uint32_t gen[N];
    memset(gen, 0, sizeof gen);
    vl_store s;
    char *dir = open_new(&s, true, true);
    if (dir == NULL)
        return;
    CHECK_ERR(put_range(&s, 0, 100, 0), VL_OK);
    uint64_t before = file_bytes(dir);
    CHECK_ERR(put_range(&s, 100, 4100, 0), VL_OK); /* about 4 MiB in one commit */
    CHECK(used_bytes(&s) > before);                /* LMDB went past the prefill */
    for (uint32_t i = 0; i < 40; i++) {
        uint32_t from = 4100u + i * 40u;
        CHECK_ERR(put_range(&s, from, from + 40u, 0), VL_OK);
        uint32_t again = (i * 577u) % 4000u; /* rewrite older records too */
        CHECK_ERR(put_range(&s, again, again + 30u, i + 1u), VL_OK);
        for (uint32_t k = again; k < again + 30u; k++)
            gen[k] = i + 1u;
    }
    uint32_t n = 4100u + 40u * 40u;
    CHECK(count_bad(s.env, s.log, n, gen) == 0);
    vl_store_close(&s);

    CHECK_ERR(vl_store_open(&s, dir, true, true, false, MAP_BYTES, NULL, 0), VL_OK);
    CHECK(s.warmed == file_bytes(dir) || s.warmed == VL_STORE_WARM_MAX);
    uint32_t bad = count_bad(s.env, s.log, n, gen);
    printf("intact: %u of %u records bad after the reopen (file %llu KiB, LMDB %llu KiB)\n",
           bad, n, (unsigned long long)(file_bytes(dir) >> 10),
           (unsigned long long)(used_bytes(&s) >> 10));
    CHECK(bad == 0);

    char copy[4200];
    snprintf(copy, sizeof copy, "%s/copy", dir);
    CHECK(mkdir(copy, 0700) == 0);
    CHECK(mdb_env_copy(s.env, copy) == 0);
    vl_store_close(&s);
    vl_store c;
    CHECK_ERR(vl_store_open(&c, copy, true, false, false, MAP_BYTES, NULL, 0), VL_OK);
    if (c.env != NULL) {
        CHECK(count_bad(c.env, c.log, n, gen) == 0);
        CHECK(file_bytes(copy) <= used_bytes(&c)); /* the copy stops at LMDB's pages */
    }
    vl_store_close(&c);
    rm_tree(dir);
    free(dir);
}

static uint64_t io_write_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (f == NULL)
        return UINT64_MAX;
    char line[128];
    unsigned long long v = 0;
    bool got = false;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "write_bytes: %llu", &v) == 1)
            got = true;
    fclose(f);
    return got ? (uint64_t)v : UINT64_MAX;
}

/* Bytes the kernel accounts as written per small commit (one record
 * rewritten), on a store of 8,000 records grown first either
 *  - by commits of 50 records, within the prefill's lead, as a node grows
 *    (LMDB's runs land in the prefill's single-page folios), or
 *  - by commits of 1,000 records (1 MiB), which outrun the prefill (LMDB's
 *    runs make large folios), and then reopened, as a node restarts (the
 *    warm-up reads the file back in single pages).
 * UINT64_MAX when it could not be measured (*why says why). */
static uint64_t bytes_per_commit(bool prefill, bool big_then_reopen, const char **why)
{
    *why = "cannot make a directory";
    char *dir = make_dir();
    if (dir == NULL)
        return UINT64_MAX;
    vl_store s;
    uint64_t per = UINT64_MAX;
    *why = "a commit failed";
    if (vl_store_open(&s, dir, true, prefill, false, MAP_BYTES, NULL, 0) == VL_OK) {
        bool ok = true;
        uint32_t batch = big_then_reopen ? 1000u : 50u;
        for (uint32_t k = 0; ok && k < 8000u; k += batch)
            ok = put_range(&s, k, k + batch, 0) == VL_OK;
        if (big_then_reopen) {
            vl_store_close(&s);
            ok = ok && vl_store_open(&s, dir, true, prefill, false, MAP_BYTES, NULL, 0) == VL_OK;
        }
        for (uint32_t i = 0; ok && i < 20; i++) /* the first small commits settle */
            ok = put_range(&s, i, i + 1u, 0) == VL_OK;
        uint64_t w0 = io_write_bytes();
        enum { COMMITS = 200 };
        for (uint32_t i = 0; ok && i < COMMITS; i++) {
            uint32_t k = (i * 2221u) % 8000u;
            ok = put_range(&s, k, k + 1u, i + 1u) == VL_OK;
        }
        uint64_t w1 = io_write_bytes();
        if (ok && (w0 == UINT64_MAX || w1 == UINT64_MAX || w1 < w0))
            *why = "/proc/self/io says nothing here";
        else if (ok)
            per = (w1 - w0) / COMMITS;
    }
    vl_store_close(&s);
    rm_tree(dir);
    free(dir);
    return per;
}

static void test_small_writes(void)
{
    for (int reopen = 0; reopen < 2; reopen++) {
        const char *why_on, *why_off;
        uint64_t off = bytes_per_commit(false, reopen, &why_off);
        uint64_t on = bytes_per_commit(true, reopen, &why_on);
        const char *how = reopen ? "grown past the prefill, reopened" : "grown within the prefill";
        if (on == UINT64_MAX) {
            printf("small writes (%s): not measured: %s\n", how, why_on);
            CHECK(strcmp(why_on, "a commit failed") != 0);
            continue;
        }
        printf("small writes (%s): %llu bytes written per one-record commit with the "
               "prefill, %llu without (the kernel's accounting, /proc/self/io write_bytes)\n",
               how, (unsigned long long)on, (unsigned long long)off);
        /* A one-record commit dirties a handful of pages (leaf, branches,
         * root, free list, meta page): 64 KiB is more than twice that, and
         * a small part of one large folio. */
        CHECK(on <= 64u * 1024u);
    }
}

int main(void)
{
    test_ahead();
    test_intact();
    test_small_writes();
    VL_TEST_END();
}
