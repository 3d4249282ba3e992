/* sim_run.c - one run of the simulator: T faulty steps, then healing.
 *
 * A step: time advances SIM_STEP_MS; partitions come and go; nodes crash
 * (before their step: the step's commit never happens and its inputs are
 * lost; or after it: the commit happened, the outbox is discarded) or come
 * back; client replies are delivered and clients act; then every node, in a
 * random order, gets the messages due for it in 1..3 batches (vl_core_step
 * with several inputs, the last batch with a TICK); its outputs go through
 * the checker and into the network.  Finally the checker reads every honest
 * node's new log entries.  Every check runs after every step.
 *
 * Healing (after T steps): no loss, no partition, every node up; clients
 * make no new orders but keep retrying; Byzantine voters go on.  The run
 * continues until convergence and liveness hold for 3 steps in a row, or
 * for at most SIM_MAX_HEAL_FACTOR * T steps, and then checks them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void restart(sim_world *w, uint16_t i)
{
    sim_node *n = &w->node[i];
    n->restarts++;
    if (!sim_node_open(w, i))
        return;
    sim_trace(w, "node %u RESTART (%u)", i, n->restarts);
    sim_check_restart(w, i);
}

static void crashes_and_restarts(sim_world *w)
{
    for (uint16_t i = 0; i < w->n_nodes && !w->ck.failed; i++) {
        sim_node *n = &w->node[i];
        n->crash_mid = false;
        if (n->kind != SIM_HONEST && n->kind != SIM_BYZ_WITHHOLD)
            continue;
        if (!n->up) {
            if (w->healed || w->step >= n->up_at_step)
                restart(w, i);
            continue;
        }
        if (w->healed || !sim_rng_chance(&w->rng, w->net.crash_pm))
            continue;
        if (sim_rng_chance(&w->rng, 500))
            sim_node_crash(w, i, "before its step: that commit never happens");
        else
            n->crash_mid = true;
    }
}

/* Deliver `n` messages to a core in 1..3 batches; the last has a TICK. */
static void core_step(sim_world *w, uint16_t i, const sim_msg *msgs, uint32_t n)
{
    static vl_input in[SIM_MAX_INPUTS + 1];
    sim_node *sn = &w->node[i];
    uint32_t count = 0;
    for (uint32_t k = 0; k < n && count < SIM_MAX_INPUTS; k++) {
        vl_input *x = &in[count++];
        memset(x, 0, sizeof *x);
        x->kind = msgs[k].from == SIM_CLIENT ? VL_IN_CLIENT : VL_IN_PEER;
        x->peer = msgs[k].from == SIM_CLIENT ? 0 : msgs[k].from;
        x->client = msgs[k].client;
        x->data = msgs[k].data.p;
        x->len = msgs[k].data.len;
    }
    memset(&in[count], 0, sizeof in[count]);
    in[count++].kind = VL_IN_TICK;
    uint32_t batches = count > 2 ? 1 + (uint32_t)sim_rng_below(&w->rng, 3) : 1;
    uint32_t at = 0;
    for (uint32_t b = 0; b < batches && !w->ck.failed; b++) {
        uint32_t left = count - at, take = left;
        if (b + 1 < batches)
            take = 1 + (uint32_t)sim_rng_below(&w->rng, left - (batches - b - 1));
        uint64_t now_ms = w->now_ms + (uint64_t)sn->clock_offset_ms; /* wraps back if < 0 */
        vl_err e = vl_core_step(sn->core, now_ms, &in[at], take, &w->ob);
        if (e != VL_OK) {
            sim_fail(w, SIM_INV_SIM, "node %u: vl_core_step failed: %s", i, vl_err_name(e));
            vl_outbox_clear(&w->ob);
            return;
        }
        sim_check_after_step(w, i, &in[at], take);
        at += take;
        if (sn->kind == SIM_BYZ_WITHHOLD) {
            vl_outbox_clear(&w->ob);
        } else if (sn->crash_mid && b + 1 == batches) {
            /* committed: its votes and certificates count, but none leaves */
            for (size_t k = 0; k < w->ob.count; k++)
                sim_check_output(w, i, &w->ob.items[k]);
            sim_trace(w, "node %u discards %zu outputs", i, w->ob.count);
            vl_outbox_clear(&w->ob);
            sim_node_crash(w, i, "after its commit, before sending");
        } else {
            sim_net_route(w, i, &w->ob);
            vl_outbox_clear(&w->ob);
        }
    }
}

static void node_step(sim_world *w, uint16_t i)
{
    sim_node *n = &w->node[i];
    sim_msg *msgs;
    uint32_t count = sim_net_take(w, i, &msgs);
    if (!n->up) {
        w->net.dropped += count; /* messages to a crashed node are lost */
    } else if (n->core != NULL) {
        core_step(w, i, msgs, count);
    } else {
        for (uint32_t k = 0; k < count && !w->ck.failed; k++)
            sim_byz_deliver(w, i, &msgs[k]);
        sim_byz_step(w, i);
    }
    sim_net_release(msgs, count);
}

static void do_step(sim_world *w)
{
    if (sim_interrupted) {
        sim_fail(w, SIM_INV_SIM, "interrupted");
        return;
    }
    w->step++;
    w->now_ms += SIM_STEP_MS;
    w->stats.steps++;
    sim_net_faults(w);
    crashes_and_restarts(w);
    sim_msg *msgs;
    uint32_t n = sim_net_take(w, SIM_CLIENT, &msgs);
    for (uint32_t k = 0; k < n && !w->ck.failed; k++)
        sim_client_reply(w, &msgs[k]);
    sim_net_release(msgs, n);
    sim_clients_step(w);
    uint16_t order[SIM_MAX_NODES];
    for (uint16_t i = 0; i < w->n_nodes; i++)
        order[i] = i;
    for (uint16_t i = (uint16_t)w->n_nodes; i > 1; i--) {
        uint16_t j = (uint16_t)sim_rng_below(&w->rng, i);
        uint16_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (uint16_t k = 0; k < w->n_nodes && !w->ck.failed; k++)
        node_step(w, order[k]);
    if (!w->ck.failed)
        sim_check_logs(w);
}

static void run_loop(sim_world *w)
{
    for (uint32_t s = 0; s < w->p.steps && !w->ck.failed; s++)
        do_step(w);
    if (w->ck.failed)
        return;
    sim_trace(w, "HEAL: no loss, no partition, every node up");
    w->healed = true;
    sim_net_heal(w);
    uint32_t settled = 0;
    uint64_t bound = (uint64_t)SIM_MAX_HEAL_FACTOR * w->p.steps;
    for (uint64_t s = 0; s < bound && !w->ck.failed && settled < 3; s++) {
        do_step(w);
        w->stats.heal_steps++;
        settled = !w->ck.failed && sim_check_settled(w, false) ? settled + 1 : 0;
    }
    if (!w->ck.failed)
        sim_check_settled(w, true);
}

static void print_refusals(const sim_stats *st)
{
    static const uint16_t codes[] = {VL_ERR_BUDGET,   VL_ERR_OVERSPEND, VL_ERR_EXPIRED,
                                     VL_ERR_NOT_YET_VALID, VL_ERR_REVOKED, VL_ERR_CONFLICT,
                                     VL_ERR_TIMEOUT};
    printf("  refusals:");
    for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++)
        printf(" %s %llu", vl_err_slug(codes[k]), (unsigned long long)st->refusals[codes[k]]);
    printf("\n");
}

static void report(sim_world *w, sim_result *res, const char *argv0)
{
    const sim_params *p = &w->p;
    res->stats = w->stats;
    if (w->ck.failed) {
        res->failed = 1;
        res->inv = w->ck.inv;
        res->fail_step = w->ck.fail_step;
        printf("FAIL seed %llu step %llu: invariant %d (%s): %s\n", (unsigned long long)p->seed,
               (unsigned long long)w->ck.fail_step, w->ck.inv, sim_inv_name(w->ck.inv),
               w->ck.detail);
        printf("  replay: %s --seed %llu --voters %u --observers %u --faulty %u --steps %u\n",
               argv0, (unsigned long long)p->seed, p->voters, p->observers, p->faulty,
               p->steps);
    } else if (!p->quiet) {
        printf("seed %llu: ok  steps %llu (heal %llu)  messages %llu  certificates %llu  "
               "orders %llu  crashes %llu  forged %llu  early %llu\n",
               (unsigned long long)p->seed, (unsigned long long)w->stats.steps,
               (unsigned long long)w->stats.heal_steps, (unsigned long long)w->stats.messages,
               (unsigned long long)w->stats.certs, (unsigned long long)w->stats.orders,
               (unsigned long long)w->stats.crashes, (unsigned long long)w->stats.forged,
               (unsigned long long)w->stats.early_outputs);
    }
    if (!p->quiet && (p->verbose || w->ck.failed))
        print_refusals(&w->stats);
    fflush(stdout);
}

void sim_run(const sim_params *p, sim_result *res, const char *argv0)
{
    sim_world *w = sim_xcalloc(1, sizeof *w);
    memset(res, 0, sizeof *res);
    res->seed = p->seed;
    if (sim_world_init(w, p))
        run_loop(w);
    report(w, res, argv0);
    sim_world_free(w);
    free(w);
}
