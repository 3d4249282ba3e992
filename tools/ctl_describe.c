/* ctl_describe.c - every wire object as JSON, with derived hashes and, when
 * a genesis is given, verification results (`inspect`, and the certificate
 * summaries and evidence of the network commands).
 *
 * inspect decodes recursively (a message holds orders, certificates,
 * entries...; an entry holds a certificate, which holds an order).  The
 * nesting is fixed by the wire format (at most message > entry > cert >
 * order), so the recursion is bounded without a counter.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* ---- inspect: names ------------------------------------------------------------------ */


const char *name_of(const vl_name *t, size_t n, unsigned value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return "unknown";
}

static const vl_name type_names[] = {
    {VL_MSG_GENESIS, "genesis"},           {VL_MSG_ORDER, "order"},
    {VL_MSG_CERT, "cert"},                 {VL_MSG_ENTRY, "entry"},
    {VL_MSG_CHECKPOINT, "checkpoint"},     {VL_MSG_ACCOUNT, "account"},
    {VL_MSG_BATCH_VOTE, "batch_vote"},     {VL_MSG_SUMMARY, "summary"},
    {VL_MSG_VOTE_REQUEST, "vote_request"}, {VL_MSG_VOTE_REPLY, "vote_reply"},
    {VL_MSG_CERTS, "certs"},               {VL_MSG_LOG_REQUEST, "log_request"},
    {VL_MSG_LOG_REPLY, "log_reply"},       {VL_MSG_ACCOUNT_REQUEST, "account_request"},
    {VL_MSG_SUMMARY_REQUEST, "summary_request"}, {VL_MSG_SUMMARY_REPLY, "summary_reply"},
    {VL_MSG_CLIENT_REQUEST, "client_request"},   {VL_MSG_CLIENT_REPLY, "client_reply"},
};
static const vl_name order_kinds[] = {
    {VL_ORDER_ISSUE, "issue"}, {VL_ORDER_REDEEM, "redeem"}, {VL_ORDER_REVOKE, "revoke"}};
static const vl_name answer_kinds[] = {{VL_ANSWER_REJECTED, "rejected"},
                                       {VL_ANSWER_CONFLICT, "conflict"},
                                       {VL_ANSWER_BEHIND, "behind"},
                                       {VL_ANSWER_CERTIFIED, "certified"}};
static const vl_name request_kinds[] = {{VL_REQ_SUBMIT, "submit"},
                                        {VL_REQ_GET_ACCOUNT, "get_account"},
                                        {VL_REQ_GET_ACCOUNT_FROM, "get_account_from"},
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


/* Record a verdict in obj as {"ok", "error", "message"}. */
static void put_verdict(vl_insp *in, json_t *obj, bool ok, const char *slug, const char *message)
{
    json_t *v = jobj();
    jset(v, "ok", json_boolean(ok));
    jset(v, "error", json_string(slug));
    jset(v, "message", json_string(message));
    jset(obj, "verified", v);
    in->verified_any = true;
}

void put_verified(vl_insp *in, json_t *obj, vl_err rc)
{
    put_verdict(in, obj, rc == VL_OK, vl_err_slug(rc), vl_strerror(rc));
    if (in->first_fail == VL_OK)
        in->first_fail = rc;
}

void put_unsigned(vl_insp *in, json_t *obj, const char *slots)
{
    char msg[160];
    snprintf(msg, sizeof msg, "not signed yet: empty signature slot(s): %s", slots);
    put_verdict(in, obj, false, "unsigned", msg);
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

const char *order_slot_name(const vl_order *o, unsigned slot)
{
    return o->kind != VL_ORDER_REDEEM ? "issuer" : slot == 0 ? "holder" : "provider";
}

/* An order of the split flow before its last signature (docs/clients.md
 * section 2) has empty slots: those are named ("unsigned", exit 1) rather
 * than reported as a bad signature, but the slots already filled are
 * checked one by one, and a bad one (or a wrong network, an unknown
 * member) is reported as such first. */
static void verify_order(vl_insp *in, json_t *j, const vl_order *o, const uint8_t hash[32])
{
    static const uint8_t zero[64];
    char empty[64] = "";
    vl_err rc = VL_OK;
    unsigned bad = 0, n = o->sig_count < 2 ? o->sig_count : 2;
    for (unsigned i = 0; i < n; i++)
        if (memcmp(o->sigs[i], zero, 64) == 0)
            snprintf(empty + strlen(empty), sizeof empty - strlen(empty), "%s%s",
                     empty[0] != '\0' ? ", " : "", order_slot_name(o, i));
    if (empty[0] == '\0') {
        put_verified(in, j, vl_order_verify(in->g, o, hash));
        return;
    }
    for (unsigned i = 0; i < n && rc == VL_OK; i++) {
        vl_err r = vl_order_verify_slot(in->g, o, hash, i);
        if (r == VL_ERR_BAD_SIG && memcmp(o->sigs[i], zero, 64) == 0)
            continue; /* empty: only the checks without signatures count */
        rc = r;
        bad = i;
    }
    if (rc == VL_ERR_BAD_SIG) {
        char msg[160];
        snprintf(msg, sizeof msg, "the %s signature does not verify (empty slot(s): %s)",
                 order_slot_name(o, bad), empty);
        put_verdict(in, j, false, vl_err_slug(rc), msg);
        if (in->first_fail == VL_OK) {
            in->first_fail = rc;
            snprintf(in->first_message, sizeof in->first_message, "%s", msg);
        }
    } else if (rc != VL_OK) {
        put_verified(in, j, rc);
    } else {
        if (in->unsigned_slots[0] == '\0')
            snprintf(in->unsigned_slots, sizeof in->unsigned_slots, "%s", empty);
        put_unsigned(in, j, empty);
    }
}

/* An order; verify it when a genesis is given and `verify` (an order
 * inside a certificate is verified with the certificate). */
json_t *order_json(vl_insp *in, const vl_order *o, bool verify)
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
        verify_order(in, j, o, hash);
    return j;
}

/* `leaf` is the certificate order's vote leaf (vl_vote_leaf): the paths
 * start there, not at the order hash. */
static json_t *cert_vote_json(const vl_insp *in, const vl_cert_vote *v, const uint8_t leaf[32])
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
    if (vl_merkle_root_from_path(root, leaf, v->leaf_index, v->leaf_count,
                                 (const uint8_t(*)[32])v->path, v->path_len) == VL_OK)
        jset(j, "root", jhex(root, 32));
    jset(j, "sig", jhex(v->sig, 64));
    return j;
}

json_t *cert_json(vl_insp *in, const vl_cert *c, const uint8_t *raw, size_t len)
{
    uint8_t order_hash[32], leaf[32], cert_hash[32];
    vl_order_hash(order_hash, &c->order);
    vl_vote_leaf(leaf, order_hash, &c->order);
    vl_cert_hash(cert_hash, raw, len);
    json_t *j = jobj(), *votes = jarr();
    jset(j, "type", json_string("cert"));
    jset(j, "order", order_json(in, &c->order, false));
    for (unsigned i = 0; i < c->vote_count && i < VL_MAX_NODES; i++)
        jappend(votes, cert_vote_json(in, &c->votes[i], leaf));
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

/* A summary carries no certificate and no signature: it is the serving
 * node's claim about its entry, so there is nothing to verify here even with
 * a genesis (no "verified"). */
static json_t *describe_summary(const uint8_t *buf, size_t len, vl_err *rc)
{
    vl_summary s;
    if ((*rc = vl_summary_decode(buf, len, &s)) != VL_OK)
        return NULL;
    json_t *j = jobj();
    jset(j, "type", json_string("summary"));
    jset(j, "index", ju64(s.index));
    jset(j, "time_ms", ju64(s.time_ms));
    jset(j, "entry_hash", jhex(s.entry_hash, 32));
    jset(j, "account_id", jhex(s.account, 32));
    jset(j, "seq", ju64(s.seq));
    jset(j, "order_hash", jhex(s.order_hash, 32));
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

json_t *genesis_json(const vl_genesis *g, const char *form)
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

json_t *status_json(const vl_status *s)
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
    case VL_MSG_SUMMARY_REQUEST:
        jset(j, "from_index", ju64(m->from_index));
        jset(j, "max_items", json_integer(m->max_items));
        return;
    case VL_MSG_LOG_REPLY:
    case VL_MSG_SUMMARY_REPLY:
        jset(j, "log_head", ju64(m->log_head));
        break;
    case VL_MSG_ACCOUNT_REQUEST:
        jset(j, "account_id", jhex(m->account_id, 32));
        jset(j, "from_seq", ju64(m->from_seq));
        return;
    case VL_MSG_CLIENT_REQUEST:
        jset(j, "req_kind", json_string(NAME_OF(request_kinds, m->req_kind)));
        if (m->req_kind == VL_REQ_GET_ACCOUNT || m->req_kind == VL_REQ_GET_ACCOUNT_FROM)
            jset(j, "account_id", jhex(m->account_id, 32));
        if (m->req_kind == VL_REQ_GET_ACCOUNT_FROM) {
            jset(j, "from_seq", ju64(m->from_index));
            jset(j, "max_items", json_integer(m->max_items));
        }
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
json_t *describe(vl_insp *in, const uint8_t *buf, size_t len, vl_err *rc)
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
    case VL_MSG_SUMMARY: return describe_summary(buf, len, rc);
    default: return describe_msg(in, buf, len, rc); /* VL_ERR_TYPE if unknown */
    }
}
