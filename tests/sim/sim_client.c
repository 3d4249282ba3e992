/* sim_client.c - the workload: clients that sign and submit orders.
 *
 * Each client-driven account is an "actor": an issuer (signs ISSUE batches
 * of 1..SIM_MAX_BATCH vouchers until its small budget runs out), or a
 * voucher's wallet (its holder signs partial REDEEMs, some overspending; the
 * issuer may REVOKE it).  An actor has one order in flight at a time, so two
 * honest signers never race for one slot, and it signs seq s+1 only after it
 * saw the certificate of seq s, like a real wallet.  On a timeout it
 * resubmits the SAME order to another node; a rule refusal (budget,
 * overspend, window) is retried rarely, the same order again, never a
 * different one.
 *
 * Double-signing clients: wallets of the SIM_CHEATERS firms sign two
 * different REDEEMs for one slot and submit them to two nodes at once.  At
 * most one may be certified; if neither is, the voucher stays frozen, and
 * liveness does not apply to either (sim_check.c).
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define ISSUE_PM 150  /* an idle issuer signs its next batch (per step) */
#define WALLET_PM 50  /* an idle wallet signs its next order (per step) */
#define RULE_RETRY_MIN 30
#define RULE_RETRY_MAX 60

static const char program[] = "sim-2027";
static const char reason[] = "sim revoke";

void sim_clients_init(sim_world *w)
{
    w->actor = sim_xcalloc(SIM_MAX_ACTORS, sizeof *w->actor);
    for (uint32_t i = 0; i < w->g->issuer_count; i++) {
        sim_actor *a = &w->actor[w->n_actors++];
        a->kind = SIM_ACT_ISSUER;
        a->issuer = (uint8_t)i;
        vl_issuer_account_id(a->account, w->g->issuers[i].pubkey);
        a->next_serial = 1;
        a->max_ops = (uint32_t)sim_rng_range(&w->rng, 4, 10);
        a->pend[0] = a->pend[1] = -1;
    }
}

void sim_clients_free(sim_world *w)
{
    sim_map_free(&w->reqs);
    free(w->actor);
    w->actor = NULL;
    w->n_actors = 0;
}

bool sim_encode_submit(sim_world *w, uint64_t req_id, const sim_buf *order, sim_buf *out)
{
    (void)w;
    vl_bytes item = {order->p, (uint32_t)order->len};
    vl_msg m;
    memset(&m, 0, sizeof m);
    m.type = VL_MSG_CLIENT_REQUEST;
    m.req_id = req_id;
    m.req_kind = VL_REQ_SUBMIT;
    m.item_count = 1;
    m.items = &item;
    size_t len = 0;
    if (vl_msg_encode(&m, NULL, 0, &len) != VL_OK)
        return false;
    out->p = sim_xmalloc(len);
    out->len = len;
    return vl_msg_encode(&m, out->p, len, &len) == VL_OK;
}

static void submit(sim_world *w, uint32_t k, int which, uint16_t node)
{
    sim_actor *a = &w->actor[k];
    sim_buf req;
    a->req_id = ++w->next_req_id;
    if (!sim_encode_submit(w, a->req_id, &w->ck.orders[a->pend[which]].bytes, &req)) {
        sim_fail(w, SIM_INV_SIM, "cannot encode a SUBMIT");
        sim_buf_free(&req);
        return;
    }
    sim_key rk = sim_key_of((const uint8_t[32]){0}, a->req_id);
    if (!sim_map_put(&w->reqs, &rk, (uint64_t)a->pend[which]))
        sim_fail(w, SIM_INV_SIM, "request table full");
    sim_trace(w, "client %u SUBMIT seq %llu to n%u (req %llu)", k,
              (unsigned long long)a->next_seq, node, (unsigned long long)a->req_id);
    sim_net_send(w, SIM_CLIENT, node, (uint64_t)k + 1, req.p, req.len);
    sim_buf_free(&req);
    a->last_node = node;
    a->retry_step = w->step + sim_rng_range(&w->rng, 20, 35);
}

static uint16_t other_node(sim_world *w, uint16_t not_this)
{
    uint16_t n = (uint16_t)sim_rng_below(&w->rng, w->n_nodes);
    if (n == not_this && w->n_nodes > 1)
        n = (uint16_t)((n + 1 + sim_rng_below(&w->rng, w->n_nodes - 1)) % w->n_nodes);
    return n;
}

/* Sign, register and send a new order (and its twin for a double-signer). */
static void launch(sim_world *w, uint32_t k, const vl_order *o, const vl_order *twin)
{
    sim_actor *a = &w->actor[k];
    const vl_order *ords[2] = {o, twin};
    for (int i = 0; i < 2; i++) {
        a->pend[i] = -1;
        if (ords[i] == NULL)
            continue;
        size_t len = 0;
        static uint8_t buf[65536];
        if (vl_order_encode(ords[i], buf, sizeof buf, &len) != VL_OK) {
            sim_fail(w, SIM_INV_SIM, "cannot encode an order");
            return;
        }
        sim_buf b = {buf, len};
        uint8_t flags = twin != NULL ? SIM_ORD_DOUBLE : SIM_ORD_HONEST;
        a->pend[i] = sim_check_register(w, &b, (int32_t)k, flags);
        if (a->pend[i] < 0)
            return;
    }
    a->ops++;
    w->stats.orders += twin != NULL ? 2 : 1;
    uint16_t first = (uint16_t)sim_rng_below(&w->rng, w->n_nodes);
    submit(w, k, 0, first);
    if (twin != NULL)
        submit(w, k, 1, other_node(w, first));
    else if (sim_rng_chance(&w->rng, 100)) /* the same order to two nodes at once */
        submit(w, k, 0, other_node(w, first));
}

/* Validity windows around now: mostly open, some closed for the whole run,
 * some opening or closing during it. */
static void pick_window(sim_world *w, vl_voucher_spec *v)
{
    uint64_t now_s = w->now_ms / 1000;
    uint64_t r = sim_rng_below(&w->rng, 100);
    v->valid_from_s = now_s - 3600;
    v->valid_until_s = now_s + 36000;
    if (r < 8) {
        v->valid_from_s = now_s - 36000;
        v->valid_until_s = now_s - 7200;
    } else if (r < 16) {
        v->valid_from_s = now_s + 7200;
    } else if (r < 23) {
        v->valid_until_s = now_s + sim_rng_range(&w->rng, 5, 60);
    } else if (r < 30) {
        v->valid_from_s = now_s + sim_rng_range(&w->rng, 5, 60);
    }
}

static void new_issue(sim_world *w, uint32_t k)
{
    sim_actor *a = &w->actor[k];
    vl_order *o = w->order;
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, w->g->network_id, 32);
    o->kind = VL_ORDER_ISSUE;
    o->seq = a->next_seq;
    memcpy(o->issuer, w->g->issuers[a->issuer].pubkey, 32);
    o->voucher_count = (uint16_t)sim_rng_range(&w->rng, 1, SIM_MAX_BATCH);
    for (uint16_t i = 0; i < o->voucher_count; i++) {
        vl_voucher_spec *v = &o->vouchers[i];
        v->serial = a->next_serial++;
        uint32_t h = sim_rng_chance(&w->rng, 250)
                         ? SIM_HONEST_HOLDERS + (uint32_t)sim_rng_below(&w->rng, SIM_CHEATERS)
                         : (uint32_t)sim_rng_below(&w->rng, SIM_HONEST_HOLDERS);
        memcpy(v->holder, w->holder_key[h].pubkey, 32);
        v->value_fen = sim_rng_range(&w->rng, 1000, 6000);
        pick_window(w, v);
        v->subsidy_bp = 8000;
        v->program = (vl_bytes){(const uint8_t *)program, sizeof program - 1};
    }
    vl_order_sign_slot(o, 0, &w->issuer_key[a->issuer], NULL);
    if (a->ops + 1 >= a->max_ops)
        a->final_sent = true;
    launch(w, k, o, NULL);
}

static void base_voucher_order(sim_world *w, const sim_actor *a, vl_order *o, uint8_t kind)
{
    memset(o, 0, sizeof *o);
    memcpy(o->network_id, w->g->network_id, 32);
    o->kind = kind;
    o->seq = a->next_seq;
    memcpy(o->issuer, w->g->issuers[a->issuer].pubkey, 32);
    o->serial = a->serial;
}

static void fill_redeem(sim_world *w, const sim_actor *a, vl_order *o, uint64_t amount_fen)
{
    base_voucher_order(w, a, o, VL_ORDER_REDEEM);
    uint32_t prov = (uint32_t)sim_rng_below(&w->rng, SIM_PROVIDERS);
    memcpy(o->holder, w->holder_key[a->holder].pubkey, 32);
    o->amount_fen = amount_fen;
    memcpy(o->provider, w->g->providers[prov].pubkey, 32);
    sim_rng_bytes(&w->rng, o->invoice_hash, 32);
    o->gpu_milli_hours = sim_rng_range(&w->rng, 1, 100000);
    vl_order_sign_slot(o, 0, &w->holder_key[a->holder], NULL);
    vl_order_sign_slot(o, 1, &w->provider_key[prov], NULL);
}

/* A wallet's next move: mostly a partial redemption; sometimes an
 * overspend (refused, and its slot is then spent for good: final), a
 * REVOKE (final) or the exact remainder (final).  A double-signing firm
 * signs a second redemption for the same slot. */
static void new_voucher_order(sim_world *w, uint32_t k)
{
    static vl_order twin;
    sim_actor *a = &w->actor[k];
    vl_order *o = w->order;
    if (a->remaining_fen == 0) {
        a->final_sent = true;
        return;
    }
    bool last = a->ops + 1 >= a->max_ops;
    uint64_t r = sim_rng_below(&w->rng, 100);
    if (r < 8 || (last && r < 35)) {
        base_voucher_order(w, a, o, VL_ORDER_REVOKE);
        o->reason = (vl_bytes){(const uint8_t *)reason, sizeof reason - 1};
        vl_order_sign_slot(o, 0, &w->issuer_key[a->issuer], NULL);
        a->final_sent = true;
        launch(w, k, o, NULL);
        return;
    }
    uint64_t amount;
    if (r < 18 || (last && r < 65)) {
        amount = a->remaining_fen + sim_rng_range(&w->rng, 1, a->face_fen);
        a->final_sent = true;
    } else if (last) {
        amount = a->remaining_fen;
        a->final_sent = true;
    } else {
        amount = sim_rng_range(&w->rng, 1, a->remaining_fen / 2 + 1);
    }
    fill_redeem(w, a, o, amount);
    if (!a->cheater || amount > a->remaining_fen) {
        launch(w, k, o, NULL);
        return;
    }
    fill_redeem(w, a, &twin, amount > 1 ? amount - 1 : amount + 1);
    launch(w, k, o, &twin);
}

static void actor_step(sim_world *w, uint32_t k)
{
    sim_actor *a = &w->actor[k];
    if (a->pend[0] >= 0 || a->pend[1] >= 0) {
        if (w->step < a->retry_step)
            return;
        for (int i = 0; i < 2; i++)
            if (a->pend[i] >= 0)
                submit(w, k, i, other_node(w, a->last_node));
        return;
    }
    if (w->healed || a->final_sent || a->revoked)
        return;
    if (a->kind == SIM_ACT_ISSUER) {
        if (sim_rng_chance(&w->rng, ISSUE_PM))
            new_issue(w, k);
    } else if (sim_rng_chance(&w->rng, WALLET_PM)) {
        new_voucher_order(w, k);
    }
}

void sim_clients_step(sim_world *w)
{
    for (uint32_t k = 0; k < w->n_actors && !w->ck.failed; k++)
        actor_step(w, k);
}

/* ---- replies ---------------------------------------------------------------- */

static void spawn_vouchers(sim_world *w, uint32_t issuer_actor, const sim_order *o)
{
    vl_order *io = w->order;
    if (vl_order_decode(o->bytes.p, o->bytes.len, io) != VL_OK)
        return;
    for (uint16_t i = 0; i < io->voucher_count; i++) {
        if (w->n_actors == SIM_MAX_ACTORS) {
            sim_fail(w, SIM_INV_SIM, "more than %u actors", SIM_MAX_ACTORS);
            return;
        }
        const vl_voucher_spec *v = &io->vouchers[i];
        sim_actor *a = &w->actor[w->n_actors++];
        memset(a, 0, sizeof *a);
        a->kind = SIM_ACT_VOUCHER;
        a->issuer = w->actor[issuer_actor].issuer;
        for (uint8_t h = 0; h < SIM_HOLDERS; h++)
            if (memcmp(w->holder_key[h].pubkey, v->holder, 32) == 0)
                a->holder = h;
        a->cheater = a->holder >= SIM_HONEST_HOLDERS;
        a->serial = v->serial;
        vl_voucher_account_id(a->account, io->issuer, v->serial);
        a->face_fen = a->remaining_fen = v->value_fen;
        a->max_ops = (uint32_t)sim_rng_range(&w->rng, 1, 6);
        a->pend[0] = a->pend[1] = -1;
    }
}

/* The actor saw a verified certificate for its pending slot. */
static void got_cert(sim_world *w, uint32_t k, int32_t idx)
{
    sim_actor *a = &w->actor[k];
    const sim_order *o = &w->ck.orders[idx];
    if (memcmp(o->account, a->account, 32) != 0 || o->seq != a->next_seq ||
        (a->pend[0] < 0 && a->pend[1] < 0))
        return; /* a late duplicate of an earlier certificate */
    sim_trace(w, "client %u: certificate for seq %llu", k, (unsigned long long)o->seq);
    a->next_seq = o->seq + 1;
    a->pend[0] = a->pend[1] = -1;
    a->last_err = VL_OK;
    if (o->kind == VL_ORDER_ISSUE)
        spawn_vouchers(w, k, o);
    else if (o->kind == VL_ORDER_REVOKE)
        a->revoked = true;
    else if (o->amount_fen <= a->remaining_fen)
        a->remaining_fen -= o->amount_fen;
}

static bool rule_error(uint16_t code)
{
    return code == VL_ERR_BUDGET || code == VL_ERR_OVERSPEND || code == VL_ERR_EXPIRED ||
           code == VL_ERR_NOT_YET_VALID || code == VL_ERR_REVOKED ||
           code == VL_ERR_SERIAL_USED || code == VL_ERR_CONFLICT;
}

/* An honest node refused an ISSUE that is over budget in every honest view:
 * the reason must be VL_ERR_BUDGET, or a transient one (no verdict yet). */
static void check_refusal(sim_world *w, const sim_msg *m, const vl_msg *r)
{
    uint64_t idx;
    sim_key rk = sim_key_of((const uint8_t[32]){0}, r->req_id);
    if (m->from >= w->n_nodes || !sim_is_honest(w, m->from) ||
        !sim_map_get(&w->reqs, &rk, &idx) || !sim_check_over_budget(w, (int32_t)idx))
        return;
    uint16_t c = r->code;
    if (c == VL_ERR_BUDGET || c == VL_ERR_TIMEOUT || c == VL_ERR_UNAVAILABLE ||
        c == VL_ERR_QUORUM || c == VL_ERR_READ_ONLY) /* NOT_VOTER: vl_core.c note 25 */
        return;
    char h[17];
    sim_hex8(h, w->ck.orders[idx].hash);
    sim_fail(w, SIM_INV_OVERISSUE, "honest node %u refused ISSUE %s, which is over budget, "
             "with %s instead of VL_ERR_BUDGET", m->from, h, vl_err_name(c));
}

void sim_client_reply(sim_world *w, const sim_msg *m)
{
    uint64_t k = m->client - 1;
    vl_msg *r = &w->msg;
    if (m->client == 0 || k >= w->n_actors || vl_msg_decode(m->data.p, m->data.len, r) != VL_OK ||
        r->type != VL_MSG_CLIENT_REPLY)
        return; /* a real client drops what it cannot parse */
    sim_actor *a = &w->actor[k];
    bool cert = r->reply_kind == VL_REPLY_CERT ||
                (r->reply_kind == VL_REPLY_ERROR && r->evidence_kind == VL_EVIDENCE_CERT);
    if (cert && r->item_count == 1) {
        int32_t idx = sim_check_cert(w, r->items[0].ptr, r->items[0].len, "a client reply");
        if (idx >= 0)
            got_cert(w, (uint32_t)k, idx);
        else
            sim_trace(w, "client %llu: rejected a certificate that does not verify",
                      (unsigned long long)k);
        return;
    }
    if (r->reply_kind != VL_REPLY_ERROR)
        return;
    check_refusal(w, m, r);
    if (r->req_id != a->req_id)
        return;
    a->last_err = r->code;
    if (r->code < 128)
        w->stats.refusals[r->code]++;
    sim_trace(w, "client %llu: error %s", (unsigned long long)k, vl_err_name(r->code));
    a->retry_step = w->step + (rule_error(r->code)
                                   ? sim_rng_range(&w->rng, RULE_RETRY_MIN, RULE_RETRY_MAX)
                                   : sim_rng_range(&w->rng, 1, 4));
}
