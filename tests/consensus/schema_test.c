/* schema_test.c - the store's schema 2 (a slot's record beside its
 * account, vl_core.c note 22) and the upgrade of a schema 1 store, on real
 * LMDB files.
 *
 * What a node operator would notice if this were wrong: after an upgrade
 * a node that had lost a certified slot would vote again for it (a second
 * redemption of the same voucher), could no longer hand a client the
 * certificate of a finished redemption, or would report another state
 * digest than its peers; an upgrade cut short by a crash must finish at
 * the next start; a store it cannot read must be refused with a sentence,
 * not half-upgraded silently.
 *
 * A schema 1 store is made from a schema 2 one by moving its slot records
 * back into the `slots` database with plain LMDB (what the previous
 * release wrote).  A crash between two committed chunks of the upgrade is
 * the same on disk as a store where only some records were moved back.
 *
 * Built twice: as is (must pass), and against a core built with
 * VL_PLANT_UPGRADE_LOSES_SLOTS (the upgrade deletes records without
 * putting them), which this test must catch (tests/CMakeLists.txt).
 */
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"

#define FACE_FEN 1000u
#define SLOTS 7u /* the ISSUE, five REDEEMs, one REVOKE */

typedef struct {
    uint8_t account[32];
    uint64_t seq;
    h_buf cert;
} slot_rec;

typedef struct {
    h_net *h;
    slot_rec slots[SLOTS];
    h_snap snap;
} fixture;

/* The node under test (voter 0) applies 7 certificates from its peers:
 * issuer 0 issues vouchers 1..3, voucher 1 is redeemed at seqs 0..3,
 * voucher 2 at seq 0, voucher 3 is revoked. */
static void setup(fixture *f)
{
    f->h = h_new_std();
    h_net *h = f->h;
    OPEN_OK(h, h->voter[0], false);
    vl_order *o[SLOTS];
    o[0] = h_issue(h, 0, 0, 1, 3, FACE_FEN, 0);
    for (uint64_t s = 0; s < 4; s++)
        o[1 + s] = h_redeem(h, 0, 1, s, 0, 100, 0);
    o[5] = h_redeem(h, 0, 2, 0, 0, 250, 1);
    o[6] = h_revoke(h, 0, 3, 0);
    for (unsigned i = 0; i < SLOTS; i++) {
        APPLY(h, o[i]);
        h_order_account(o[i], f->slots[i].account);
        f->slots[i].seq = o[i]->seq;
        uint8_t buf[1 << 16];
        size_t len = 0;
        CHECK_ERR(vl_core_get_slot_cert(h->core, f->slots[i].account, o[i]->seq, buf,
                                        sizeof buf, &len),
                  VL_OK);
        f->slots[i].cert = h_buf_copy(buf, len);
        free(o[i]);
    }
    h_snapshot(h, &f->snap);
    CHECK(f->snap.log_head == SLOTS);
}

static void teardown(fixture *f)
{
    for (unsigned i = 0; i < SLOTS; i++)
        h_buf_free(&f->slots[i].cert);
    h_free(&f->h);
}

/* ---- plain LMDB on the closed store --------------------------------------- */

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, accounts, slots;
} raw_store;

static bool raw_open(raw_store *r, const char *dir)
{
    memset(r, 0, sizeof *r);
    int rc = mdb_env_create(&r->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(r->env, 16);
    if (rc == 0)
        rc = mdb_env_set_mapsize(r->env, 1ull << 30);
    if (rc == 0)
        rc = mdb_env_open(r->env, dir, 0, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(r->env, NULL, 0, &r->txn);
    if (rc == 0)
        rc = mdb_dbi_open(r->txn, "meta", 0, &r->meta);
    if (rc == 0)
        rc = mdb_dbi_open(r->txn, "accounts", 0, &r->accounts);
    if (rc == 0)
        rc = mdb_dbi_open(r->txn, "slots", 0, &r->slots);
    if (rc != 0)
        fprintf(stderr, "    raw open of %s: %s\n", dir, mdb_strerror(rc));
    return rc == 0;
}

static void raw_close(raw_store *r, bool commit)
{
    if (r->txn != NULL) {
        int rc = commit ? mdb_txn_commit(r->txn) : (mdb_txn_abort(r->txn), 0);
        CHECK(rc == 0);
    }
    if (r->env != NULL)
        mdb_env_close(r->env);
    memset(r, 0, sizeof *r);
}

static uint64_t raw_entries(raw_store *r, MDB_dbi d)
{
    MDB_stat st;
    return mdb_stat(r->txn, d, &st) == 0 ? (uint64_t)st.ms_entries : UINT64_MAX;
}

static int raw_schema(raw_store *r)
{
    MDB_val k = {6, "schema"}, v;
    if (mdb_get(r->txn, r->meta, &k, &v) != 0 || v.mv_size != 4)
        return -1;
    return ((const uint8_t *)v.mv_data)[0];
}

static void raw_set_schema(raw_store *r, uint8_t version)
{
    uint8_t schema[4] = {version, 0, 0, 0};
    MDB_val k = {6, "schema"}, v = {sizeof schema, schema};
    CHECK(mdb_put(r->txn, r->meta, &k, &v, 0) == 0);
}

/* Move the slot records (40-byte keys) of `accounts` into `slots`, all but
 * the first `keep` in key order, and mark the store schema 1: the store the
 * previous release wrote (keep 0), or one whose upgrade a crash cut short
 * after `keep` records.  Returns how many were moved. */
static unsigned downgrade(h_net *h, unsigned keep)
{
    h_close(h);
    raw_store r;
    uint8_t keys[2 * SLOTS][40], vals[2 * SLOTS][40];
    unsigned n = 0, moved = 0;
    if (!raw_open(&r, h->dir)) {
        CHECK(false);
        return 0;
    }
    MDB_cursor *cur = NULL;
    CHECK(mdb_cursor_open(r.txn, r.accounts, &cur) == 0);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < 2 * SLOTS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 40)
            continue; /* an account */
        CHECK(v.mv_size == 40);
        memcpy(keys[n], k.mv_data, 40);
        memcpy(vals[n], v.mv_data, 40);
        n++;
    }
    mdb_cursor_close(cur);
    for (unsigned i = keep; i < n; i++) {
        CHECK(mdb_put(r.txn, r.slots, &(MDB_val){40, keys[i]}, &(MDB_val){40, vals[i]}, 0) == 0);
        CHECK(mdb_del(r.txn, r.accounts, &(MDB_val){40, keys[i]}, NULL) == 0);
        moved++;
    }
    raw_set_schema(&r, 1);
    raw_close(&r, true);
    return moved;
}

/* ---- checks ---------------------------------------------------------------- */

static uint64_t status_accounts(h_net *h, uint64_t client)
{
    CHECK_ERR(h_client(h, client, VL_REQ_STATUS, NULL, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, client, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_STATUS);
    return m != NULL && m->reply_kind == VL_REPLY_STATUS ? m->status.accounts : UINT64_MAX;
}

/* Every slot answers with its certificate, the state is the one before,
 * and STATUS counts the 4 accounts (the issuer and 3 vouchers), not the
 * slot records beside them. */
static void check_as_before(fixture *f, int line)
{
    H_WHERE_BEGIN;
    h_net *h = f->h;
    h_snap s;
    h_snapshot(h, &s);
    CHECK(h_same_state(&f->snap, &s));
    for (unsigned i = 0; i < SLOTS; i++) {
        uint8_t buf[1 << 16];
        size_t len = 0;
        CHECK_ERR(vl_core_get_slot_cert(h->core, f->slots[i].account, f->slots[i].seq, buf,
                                        sizeof buf, &len),
                  VL_OK);
        CHECK(len == f->slots[i].cert.len && memcmp(buf, f->slots[i].cert.data, len) == 0);
    }
    CHECK(status_accounts(h, 100 + (uint64_t)line) == 4);
    H_WHERE_END(line);
}

/* A rival REDEEM for voucher 1's certified slot 2 is refused with the
 * certificate of the first (the node remembers the slot), and the next
 * slot still certifies: the node goes on as before. */
static void check_goes_on(fixture *f, int line)
{
    H_WHERE_BEGIN;
    h_net *h = f->h;
    vl_order *rival = h_redeem(h, 0, 1, 2, 0, 700, 1);
    CHECK_ERR(h_client(h, 7, VL_REQ_SUBMIT, rival, NULL, 0, 0), VL_OK);
    vl_msg *m = h_find(h, VL_OUT_CLIENT, 7, VL_MSG_CLIENT_REPLY);
    CHECK(m != NULL && m->reply_kind == VL_REPLY_ERROR);
    if (m != NULL && m->reply_kind == VL_REPLY_ERROR) {
        CHECK(m->code == VL_ERR_ALREADY_CERTIFIED);
        CHECK(m->evidence_kind == VL_EVIDENCE_CERT && m->item_count == 1);
        if (m->item_count == 1) {
            const slot_rec *s = &f->slots[3]; /* voucher 1, seq 2 */
            CHECK(s->seq == 2);
            CHECK(m->items[0].len == s->cert.len &&
                  memcmp(m->items[0].ptr, s->cert.data, s->cert.len) == 0);
        }
    }
    free(rival);
    vl_order *next = h_redeem(h, 0, 1, 4, 0, 100, 0);
    APPLY(h, next);
    free(next);
    uint8_t vid[32];
    h_voucher_account(h, 0, 1, vid);
    vl_account a = ACCT(h, vid);
    CHECK(a.next_seq == 5 && a.remaining_fen == FACE_FEN - 5 * 100);
    CHECK(status_accounts(h, 200 + (uint64_t)line) == 4);
    H_WHERE_END(line);
}

/* On disk: schema `want`, `in_slots` records left in `slots`. */
static void check_disk(h_net *h, int want, uint64_t in_slots, int line)
{
    H_WHERE_BEGIN;
    h_close(h);
    raw_store r;
    CHECK(raw_open(&r, h->dir));
    if (r.txn != NULL) {
        CHECK(raw_schema(&r) == want);
        CHECK(raw_entries(&r, r.slots) == in_slots);
    }
    raw_close(&r, false);
    H_WHERE_END(line);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_new_store_is_schema_2(void)
{
    TEST_BEGIN("a new store is schema 2: slots beside their accounts, STATUS counts accounts");
    fixture f;
    setup(&f);
    check_as_before(&f, __LINE__);
    vl_core_storage st;
    vl_core_get_storage(f.h->core, &st);
    CHECK(st.upgraded_slots == 0);
    check_disk(f.h, 2, 0, __LINE__);
    teardown(&f);
}

static void test_upgrade(void)
{
    TEST_BEGIN("a schema 1 store is upgraded at the open, in chunks: every slot as before");
    fixture f;
    setup(&f);
    CHECK(downgrade(f.h, 0) == SLOTS);
    check_disk(f.h, 1, SLOTS, __LINE__);
    f.h->cfg.upgrade_chunk = 2; /* four transactions */
    OPEN_OK(f.h, f.h->voter[0], false);
    vl_core_storage st;
    vl_core_get_storage(f.h->core, &st);
    CHECK(st.upgraded_slots == SLOTS);
    check_as_before(&f, __LINE__);
    check_goes_on(&f, __LINE__);
    check_disk(f.h, 2, 0, __LINE__);
    OPEN_OK(f.h, f.h->voter[0], false); /* a second open has nothing to do */
    vl_core_get_storage(f.h->core, &st);
    CHECK(st.upgraded_slots == 0);
    teardown(&f);
}

static void test_upgrade_cut_short(void)
{
    TEST_BEGIN("an upgrade a crash cut short between chunks finishes at the next open");
    fixture f;
    setup(&f);
    CHECK(downgrade(f.h, 3) == SLOTS - 3); /* 3 moved before the crash, schema still 1 */
    OPEN_OK(f.h, f.h->voter[0], false);
    vl_core_storage st;
    vl_core_get_storage(f.h->core, &st);
    CHECK(st.upgraded_slots == SLOTS - 3);
    check_as_before(&f, __LINE__);
    check_goes_on(&f, __LINE__);
    check_disk(f.h, 2, 0, __LINE__);
    teardown(&f);
}

static void test_newer_schema_refused(void)
{
    TEST_BEGIN("a store of a newer schema: refused with a sentence, left as it was");
    fixture f;
    setup(&f);
    h_close(f.h);
    raw_store r;
    CHECK(raw_open(&r, f.h->dir));
    raw_set_schema(&r, 3);
    raw_close(&r, true);
    CHECK_ERR(h_open(f.h, f.h->voter[0], false), VL_ERR_STORAGE);
    CHECK(strstr(f.h->open_err, "unknown schema version") != NULL);
    check_disk(f.h, 3, 0, __LINE__);
    teardown(&f);
}

static void test_other_node_not_upgraded(void)
{
    TEST_BEGIN("a schema 1 store of another node: refused as before, nothing moved");
    fixture f;
    setup(&f);
    CHECK(downgrade(f.h, 0) == SLOTS);
    CHECK_ERR(h_open(f.h, f.h->voter[1], false), VL_ERR_WRONG_NETWORK);
    CHECK(strstr(f.h->open_err, "belongs to node") != NULL);
    fprintf(stderr, "    (the sentence: %s)\n", f.h->open_err);
    check_disk(f.h, 1, SLOTS, __LINE__);
    OPEN_OK(f.h, f.h->voter[0], false); /* its own node upgrades it */
    check_as_before(&f, __LINE__);
    teardown(&f);
}

static void test_bad_record_stops_upgrade(void)
{
    TEST_BEGIN("a malformed slot record in a schema 1 store: a sentence, the rest kept, resumable");
    fixture f;
    setup(&f);
    CHECK(downgrade(f.h, 0) == SLOTS);
    /* Cut the value of the last slot record (in key order) to 7 bytes. */
    raw_store r;
    uint8_t key[40], val[40];
    CHECK(raw_open(&r, f.h->dir));
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    CHECK(mdb_cursor_open(r.txn, r.slots, &cur) == 0);
    CHECK(mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 40 && v.mv_size == 40);
    memcpy(key, k.mv_data, 40);
    memcpy(val, v.mv_data, 40);
    mdb_cursor_close(cur);
    CHECK(mdb_put(r.txn, r.slots, &(MDB_val){40, key}, &(MDB_val){7, val}, 0) == 0);
    raw_close(&r, true);

    f.h->cfg.upgrade_chunk = 2;
    CHECK_ERR(h_open(f.h, f.h->voter[0], false), VL_ERR_CORRUPT);
    CHECK(strstr(f.h->open_err, "cannot upgrade its schema from 1 to 2 (6 of 7 slot records") !=
          NULL);
    fprintf(stderr, "    (the sentence: %s)\n", f.h->open_err);
    check_disk(f.h, 1, 1, __LINE__); /* the 6 good ones moved, the bad one left */

    /* Repaired (here: the record written back whole), the next open ends
     * the upgrade and the node is as it was. */
    CHECK(raw_open(&r, f.h->dir));
    CHECK(mdb_put(r.txn, r.slots, &(MDB_val){40, key}, &(MDB_val){40, val}, 0) == 0);
    raw_close(&r, true);
    OPEN_OK(f.h, f.h->voter[0], false);
    vl_core_storage st;
    vl_core_get_storage(f.h->core, &st);
    CHECK(st.upgraded_slots == 1);
    check_as_before(&f, __LINE__);
    teardown(&f);
}

int main(void)
{
    test_new_store_is_schema_2();
    test_upgrade();
    test_upgrade_cut_short();
    test_newer_schema_refused();
    test_other_node_not_upgraded();
    test_bad_record_stops_upgrade();
    VL_TEST_END();
}
