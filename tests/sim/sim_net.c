/* sim_net.c - the simulated network.
 *
 * Every message is a copy of the bytes a node or client sent, with the step
 * at which it is delivered.  Before healing each send may be lost, each
 * delivered copy may be duplicated, delayed 0..max_delay steps (sometimes
 * much longer) and so reordered; partitions split the nodes into two sides
 * for a while and drop every node-to-node message that crosses them when it
 * is delivered.  Clients reach every node (they are outside the partition).
 * Messages to a node that is down when they arrive are lost (sim_run.c).
 *
 * The queue is bounded (SIM_MAX_INFLIGHT); overflowing it is a simulator
 * failure, never a silent drop.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Each run draws its own fault intensity, so a sweep mixes gentle and
 * brutal networks: loss 0..15%, duplication 0..10%, delays up to 1..8 steps
 * (0..10% of messages much later), partitions and crashes rare to frequent. */
void sim_net_init(sim_net *n, sim_rng *r)
{
    static const uint32_t loss[] = {0, 20, 50, 150}, dup[] = {0, 30, 100},
                          delay[] = {1, 3, 8}, late[] = {0, 40, 100},
                          part[] = {0, 8, 20}, crash[] = {2, 8, 20};
    memset(n, 0, sizeof *n);
    n->loss_pm = loss[sim_rng_below(r, 4)];
    n->dup_pm = dup[sim_rng_below(r, 3)];
    n->max_delay = delay[sim_rng_below(r, 3)];
    n->long_delay_pm = late[sim_rng_below(r, 3)];
    n->partition_pm = part[sim_rng_below(r, 3)];
    n->crash_pm = crash[sim_rng_below(r, 3)];
}

void sim_net_free(sim_net *n)
{
    for (uint32_t i = 0; i < n->count; i++)
        sim_buf_free(&n->q[i].data);
    free(n->q);
    memset(n, 0, sizeof *n);
}

uint32_t sim_net_in_flight(const sim_net *n)
{
    return n->count;
}

void sim_net_heal(sim_world *w)
{
    w->net.loss_pm = 0;
    w->net.long_delay_pm = 0;
    w->net.partition_pm = 0;
    w->net.crash_pm = 0;
    w->net.partitioned = false;
}

void sim_net_faults(sim_world *w)
{
    sim_net *n = &w->net;
    if (w->healed)
        return;
    if (n->partitioned) {
        if (w->step >= n->partition_until) {
            n->partitioned = false;
            sim_trace(w, "partition heals");
        }
        return;
    }
    if (!sim_rng_chance(&w->rng, n->partition_pm) || w->n_nodes < 2)
        return;
    uint32_t side0 = 0;
    for (uint16_t i = 0; i < w->n_nodes; i++) {
        w->node[i].group = (uint8_t)sim_rng_below(&w->rng, 2);
        side0 += w->node[i].group == 0;
    }
    if (side0 == 0 || side0 == w->n_nodes) {
        uint16_t flip = (uint16_t)sim_rng_below(&w->rng, w->n_nodes);
        w->node[flip].group ^= 1;
    }
    n->partitioned = true;
    n->partition_until = w->step + sim_rng_range(&w->rng, 10, 60);
    char sides[SIM_MAX_NODES + 1];
    for (uint16_t i = 0; i < w->n_nodes; i++)
        sides[i] = (char)('A' + w->node[i].group);
    sides[w->n_nodes] = '\0';
    sim_trace(w, "partition %s until step %llu", sides, (unsigned long long)n->partition_until);
}

static void enqueue(sim_world *w, uint16_t from, uint16_t to, uint64_t client, const uint8_t *p,
                    size_t len)
{
    sim_net *n = &w->net;
    if (n->count == SIM_MAX_INFLIGHT) {
        sim_fail(w, SIM_INV_SIM, "network queue full (%u messages in flight)", n->count);
        return;
    }
    if (n->count == n->cap) {
        uint32_t ncap = n->cap == 0 ? 1024 : n->cap * 2;
        if (ncap > SIM_MAX_INFLIGHT)
            ncap = SIM_MAX_INFLIGHT;
        sim_msg *q = realloc(n->q, ncap * sizeof *q);
        if (q == NULL)
            abort();
        n->q = q;
        n->cap = ncap;
    }
    uint64_t delay = sim_rng_range(&w->rng, 0, n->max_delay);
    if (sim_rng_chance(&w->rng, n->long_delay_pm))
        delay += sim_rng_range(&w->rng, 4, 12);
    sim_msg *m = &n->q[n->count++];
    m->at_step = w->step + 1 + delay;
    m->order = n->next_order++;
    m->from = from;
    m->to = to;
    m->client = client;
    m->data = sim_buf_copy(p, len);
}

void sim_net_send(sim_world *w, uint16_t from, uint16_t to, uint64_t client, const uint8_t *p,
                  size_t len)
{
    w->net.sent++;
    w->stats.messages++;
    if (sim_rng_chance(&w->rng, w->net.loss_pm)) {
        w->net.dropped++;
        return;
    }
    enqueue(w, from, to, client, p, len);
    if (sim_rng_chance(&w->rng, w->net.dup_pm))
        enqueue(w, from, to, client, p, len);
}

static bool crosses_partition(const sim_world *w, const sim_msg *m)
{
    if (!w->net.partitioned || m->from == SIM_CLIENT || m->to == SIM_CLIENT)
        return false;
    return w->node[m->from].group != w->node[m->to].group;
}

uint32_t sim_net_take(sim_world *w, uint16_t to, sim_msg **out)
{
    sim_net *n = &w->net;
    uint32_t due = 0, keep = 0;
    for (uint32_t i = 0; i < n->count; i++)
        due += n->q[i].to == to && n->q[i].at_step <= w->step;
    *out = NULL;
    if (due == 0)
        return 0;
    sim_msg *o = sim_xmalloc(due * sizeof *o);
    uint32_t got = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        sim_msg *m = &n->q[i];
        if (m->to != to || m->at_step > w->step) {
            n->q[keep++] = *m;
        } else if (crosses_partition(w, m)) {
            n->dropped++;
            sim_buf_free(&m->data);
        } else {
            o[got++] = *m;
        }
    }
    n->count = keep;
    for (uint32_t i = got; i > 1; i--) { /* reorder what arrives together */
        uint32_t j = (uint32_t)sim_rng_below(&w->rng, i);
        sim_msg t = o[i - 1];
        o[i - 1] = o[j];
        o[j] = t;
    }
    n->delivered += got;
    *out = o;
    return got;
}

void sim_net_release(sim_msg *m, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        sim_buf_free(&m[i].data);
    free(m);
}

void sim_net_route(sim_world *w, uint16_t from, vl_outbox *ob)
{
    for (size_t k = 0; k < ob->count; k++) {
        const vl_output *o = &ob->items[k];
        sim_check_output(w, from, o);
        uint8_t type = 0;
        (void)vl_peek_type(o->data, o->len, &type);
        if (o->kind == VL_OUT_PEER) {
            sim_trace(w, "n%u -> n%u %s %zu B", from, o->peer, sim_msg_name(type), o->len);
            if (o->peer < w->n_nodes && o->peer != from)
                sim_net_send(w, from, o->peer, 0, o->data, o->len);
        } else if (o->kind == VL_OUT_BROADCAST) {
            sim_trace(w, "n%u -> all %s %zu B", from, sim_msg_name(type), o->len);
            for (uint16_t to = 0; to < w->n_nodes; to++)
                if (to != from)
                    sim_net_send(w, from, to, 0, o->data, o->len);
        } else if (o->kind == VL_OUT_CLIENT) {
            sim_trace(w, "n%u -> client %llx %s %zu B", from, (unsigned long long)o->client,
                      sim_msg_name(type), o->len);
            sim_net_send(w, from, SIM_CLIENT, o->client, o->data, o->len);
        } else {
            sim_fail(w, SIM_INV_SIM, "node %u: output of unknown kind %u", from, o->kind);
        }
    }
}
