/* voucher-bench.c - a benchmark program: drives a running voucher-ledger
 * network with pre-signed orders and prints throughput, latency and errors.
 * It is not a test (it asserts no timing); docs/bench.md says how to run it
 * and what it prints.
 *
 * Design notes
 *  1. Nothing but submission is timed.  Every order is built, signed and
 *     encoded before the clock starts (holder keys are made in memory).
 *     In redeem and mixed modes the vouchers are issued first, in ISSUE
 *     orders of up to VL_MAX_ISSUE_BATCH vouchers (untimed), and the run
 *     waits until every node knows the last of them, so no voter answers
 *     BEHIND for a voucher it has not seen yet (a node that does not
 *     answer at all is stopped, not lagging: it is not waited for, and the
 *     run shows how the others do without it).  The issuer's next seq is
 *     read from a node first; a run stopped during its setup can leave an
 *     ISSUE in flight at that seq, certified a moment later or re-driven
 *     by the voters that locked it (a node's view lags that).  Our ISSUE
 *     at that seq then comes back ALREADY_CERTIFIED or CONFLICT.  It is
 *     never sent again for that seq: two orders signed for one slot can
 *     split the votes and freeze the issuer for good (DESIGN.md 5.6), and
 *     each resend could win it more votes.  Instead the other order (a
 *     CONFLICT's evidence) is submitted once, to help it to its
 *     certificate, and the issuer's seq is read until it has moved past
 *     (wait_slot_taken, SETUP_WAIT_S); the run goes on at the new seq, up
 *     to SETUP_SLOT_RETRIES such seqs.  The budget read alongside is not
 *     checked again: the other run's vouchers only make the run fail
 *     later, at its own ISSUE, with that error.  voucher-bench keeps no
 *     slot guard (voucherctl does, docs/clients.md section 3): its issues
 *     are for test networks, whose issuer keys no one else signs with.
 *  2. One "unit" is what one client does in one go: one order, or in mixed
 *     mode sometimes a conflict pair: two different REDEEM orders for the
 *     same (voucher, seq 0), the first submitted by the client to its first
 *     node and the second at the same moment by a helper thread with its
 *     own vl_client, starting at the next node.  The pair plays a holder
 *     who signs twice; at most one of the two may be certified, the other
 *     is refused (CONFLICT, ALREADY_CERTIFIED), or both are refused
 *     (CONFLICT: the votes split, the voucher is frozen for good,
 *     DESIGN.md 5.6).  Those refusals count as "refused as expected";
 *     two certificates would be a broken ledger and count as an error.
 *  3. Closed loop (no --rate): C client threads, one vl_client each (they
 *     are not thread-safe), endpoints rotated by the thread's index so load
 *     spreads over the nodes; each takes the next unit from a shared
 *     counter and submits it, waiting for the verified certificate.
 *     Open loop (--rate R): unit k is due at t0 + k / R; a thread sleeps
 *     until its unit is due, and the latency is measured from the due time,
 *     not from the send, so a backlog shows up as latency (coordinated
 *     omission is not hidden).  With too few clients for the rate the
 *     figures say so by growing.  The clients share one signature cache
 *     (vl_client_use_cache), as one billing system would: a vote
 *     signature over a batch root is checked once for the whole run, not
 *     once per client thread that receives a certificate of that batch.
 *     The orders are this program's own (it signed them), so the clients
 *     vouch for them (vl_client_vouch_for_orders): a certificate must carry
 *     the submitted signature bytes, which are not verified again, while
 *     its votes are, as a billing system that signed its orders would.
 *  4. Issue mode: ISSUE orders of one issuer form one chain (its account's
 *     seq 0, 1, 2, ...) that must be certified in order, so each issuer key
 *     is one sequential chain, driven by one client; threads beyond the
 *     number of issuer keys have nothing to do.  A failed ISSUE ends its
 *     chain (the rest would only be refused).
 *  5. Latency is from just before vl_client_submit (or the due time) to its
 *     return, CLOCK_MONOTONIC: that includes the client's own checks (the
 *     order decoded and hashed, the certificate decoded and verified
 *     against the genesis).  Percentiles are nearest-rank over the
 *     certified orders.
 *  6. At the end every acknowledged certificate is looked for on every
 *     node (one single-endpoint vl_client per node: no failover hides a
 *     node that lacks it): the account's certificate at the order's seq
 *     must be the order's (hash compared after verification).  Split
 *     pairs must have no certificate at their slot.  Above --verify-sample
 *     checks (default 2000) an evenly spaced sample is checked, and the
 *     output says so.  Lagging nodes get up to --verify-wait seconds.
 *  7. Bounds: clients, count, endpoints, issuer keys and holder keys have
 *     named limits below; every wait has a deadline.
 *  8. CPU per order (--devnet only: devnet.json lists each node's pid).
 *     Wall-clock throughput on a shared machine measures the neighbours as
 *     much as the ledger, so the run also reports CPU time: utime + stime
 *     (all threads) of each node from /proc/PID/stat, read just before the
 *     clock starts and just after the last reply, divided by the certified
 *     orders; and the same for this process (CLOCK_PROCESS_CPUTIME_ID, the
 *     client side).  A pid whose /proc/PID/comm is not "voucherd" (a
 *     stopped devnet, a pid reused) gets no figure.  The resolution is one
 *     clock tick (10 ms): give runs of a few thousand orders.
 *  9. --pipeline: one thread and one vl_client (one DEALER per node, one
 *     ZeroMQ I/O thread) keep up to C units in flight with vl_client_send
 *     and vl_client_next, the way etcd's Go client multiplexes C goroutines
 *     on one connection per member (docs/performance.md, change 8).  Unit
 *     k goes to node k mod n (a pair's second order to the next node); an
 *     order that ends with a failover code is sent again to the next node,
 *     at most once per node, as vl_client_submit would; latency still
 *     counts from the first send (or the due time).  Open loop: a unit is
 *     sent when due if fewer than C are in flight, else when one ends.
 * 10. Disk bytes per order (--devnet only, read with the CPU of note 8 and
 *     with the same pid check): write_bytes of each node from /proc/PID/io
 *     just before the clock starts and just after the last reply, divided
 *     by the certified orders.  The kernel adds to it the size of a unit
 *     of the page cache (a page, or a large folio of many pages) when the
 *     process turns it dirty (write, or a store through a writable map), or
 *     the size of a direct write: what the process sends to the block
 *     device, in whole units.  A unit written again before it reaches the
 *     disk counts once; the file system's journal, written by the kernel's
 *     own thread, is not counted; tmpfs counts nothing.  A node whose
 *     /proc/PID/io cannot be read (gone, not a voucherd, not ours: the
 *     kernel asks for ptrace access) gets no figure.
 * 11. Machine time (any mode): the first line of /proc/stat (every core's
 *     time in user, nice, system, idle, iowait, irq, softirq, steal ticks)
 *     read with the CPU of note 8, and each state's share of the ticks
 *     between the two readings: user (user + nice), system (system + irq +
 *     softirq), idle, iowait, steal.  Everything on the machine counts, so
 *     it is the machine's state, not the network's alone; a high iowait with
 *     little idle says the programs were waiting for the disk (a core in
 *     iowait has nothing else to run).
 * 12. Machine disk writes (any mode): the bytes the machine's disks were
 *     asked to write, read with note 11's ticks: sectors written (512
 *     bytes each) from /proc/diskstats, summed over whole disks (names in
 *     /sys/block, less loop, ram, zram, dm- and md devices, whose writes
 *     reach a disk counted already), per certified order and per second
 *     of the run.  Everything on the machine counts, the file system's
 *     journal included, which note 10 leaves out; set beside the rate at
 *     which schnorr-rate makes random pages durable on the same disk
 *     (compare-etcd), it says how close a run came to the disk's bound.
 * 13. Stopping early: SIGINT or SIGTERM during the timed run ends it as
 *     --duration would: no new unit starts, the units in flight end (a
 *     reply or the client's timeout), and the figures and the
 *     verification follow as usual, for the orders that were sent
 *     (`stopped_by_signal` in the JSON).  Before the run (setup) or after
 *     it (verification), or a second signal: the program ends at once, by
 *     the signal (a shell sees exit status 130 or 143).  The two
 *     signals are blocked in every thread and taken by one thread with
 *     sigwait, so no client call is ever interrupted (EINTR) by them.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vl_client.h"
#include "vl_crypto.h"
#include "vl_error.h"
#include "vl_genesis.h"
#include "vl_keyfile.h"
#include "vl_orderkit.h"
#include "vl_verify.h"
#include "vl_wire.h"

#define PROG "voucher-bench"

/* Client threads: each has a ZeroMQ context of its own (vl_client). */
#define MAX_CLIENTS 1024u
/* Orders in one run: every one is pre-signed and kept in memory. */
#define MAX_COUNT 1000000u
#define DEFAULT_COUNT 1000u
/* Orders pre-generated for --duration without --count (and without --rate). */
#define DURATION_DEFAULT_COUNT 20000u
/* Issuer keys, one chain each in issue mode. */
#define MAX_ISSUER_KEYS 64u
/* Holder keys generated in memory; voucher i is held by holder i % n. */
#define MAX_HOLDERS 256u
/* Largest devnet.json read. */
#define MAX_DEVNET_BYTES (1u << 20)
#define DEFAULT_TIMEOUT_MS VL_CLIENT_DEFAULT_TIMEOUT_MS
#define DEFAULT_VERIFY_SAMPLE 2000u
#define MAX_VERIFY_SAMPLE 100000u
#define DEFAULT_VERIFY_WAIT_S 30u
#define MAX_WAIT_S 3600u
/* Waiting for the issued vouchers to reach every node (note 1). */
#define SETUP_WAIT_S 30u
/* Issuer seqs found taken by another order during setup (note 1). */
#define SETUP_SLOT_RETRIES 3u
/* Value of each voucher, amount of a redemption, of the conflicting one. */
#define VOUCHER_VALUE_FEN 1000u
#define REDEEM_AMOUNT_FEN 100u
#define CONFLICT_AMOUNT_FEN 200u
#define REDEEM_GPU_MILLI_HOURS 1000u
#define NO_JOB UINT32_MAX
#define POLL_SLEEP_MS 200u
/* The run's shared signature cache (note 3): order signatures and
 * (voter, root) votes of a few seconds at the highest rates. */
#define RUN_CACHE_ENTRIES (1u << 18)
/* Longest /proc/PID/stat line read (note 8); real ones are ~300 bytes. */
#define PROC_STAT_MAX 4096u
/* Longest /proc/PID/io read (note 10): seven short lines, ~190 bytes. */
#define PROC_IO_MAX 512u
/* The first line of /proc/stat is read from its first this many bytes
 * (note 11): "cpu " and ten numbers. */
#define PROC_STAT_HEAD 512u
/* /proc/stat's states, in its order (note 11). */
enum { ST_USER, ST_NICE, ST_SYSTEM, ST_IDLE, ST_IOWAIT, ST_IRQ, ST_SOFTIRQ, ST_STEAL, ST_COUNT };
/* Longest /proc/PID/comm read: TASK_COMM_LEN is 16 with the newline. */
#define PROC_COMM_MAX 64u

/* Note 13: the timed run is on (1) and a signal asked it to stop (1). */
static atomic_int g_running, g_stop;

typedef enum { MODE_ISSUE, MODE_REDEEM, MODE_MIXED } bench_mode;
static const char *const mode_names[] = {"issue", "redeem", "mixed"};

/* ---- parameters ------------------------------------------------------------------ */

typedef struct {
    const char *devnet_dir;
    const char *genesis_path;
    const char *nodes[VL_CLIENT_MAX_ENDPOINTS];
    size_t node_count;
    const char *issuer_keys[MAX_ISSUER_KEYS];
    size_t issuer_key_count;
    const char *provider_key;
    bench_mode mode;
    bool mode_set;
    uint32_t clients;
    uint64_t count;
    bool count_set;
    double rate;       /* orders per second; 0: closed loop */
    double duration_s; /* 0: no limit */
    double conflict_share;
    uint32_t batch; /* vouchers per ISSUE in issue mode */
    uint32_t timeout_ms;
    uint32_t verify_sample;
    uint32_t verify_wait_s;
    bool json;
    bool pipelined; /* note 9 */
} bench_opts;

/* ---- orders and their outcomes ----------------------------------------------------- */

typedef enum { CHECK_CERT, CHECK_NONE } check_kind;

typedef struct {
    uint8_t *raw; /* the signed order, heap */
    size_t len;
    uint8_t hash[32];
    uint8_t account[32];
    uint64_t seq;
    /* issue mode: the first voucher, to confirm the ISSUE when the issuer
     * account's certificate list does not reach this seq (note 6) */
    uint8_t voucher[32];
    uint8_t holder[32];
    uint32_t partner; /* the other order of a conflict pair, or NO_JOB */
    /* outcome, written by the one thread that submits it */
    bool submitted;
    vl_err code;
    uint64_t latency_ns;
} job;

typedef struct {
    uint32_t first;
    uint32_t second; /* NO_JOB unless a conflict pair */
} unit;

typedef struct bench bench;

typedef struct {
    bench *b;
    uint32_t index;
    pthread_t thread;
    vl_client *cl;
    vl_client *partner_cl; /* mixed mode: submits the second order of a pair */
    uint64_t next_unit;    /* issue mode: this chain's next unit */
} worker;

struct bench {
    bench_opts o;
    json_t *devnet; /* keeps the strings of o borrowed from it */
    char *genesis_buf;
    vl_genesis *g;
    const char *endpoints[VL_CLIENT_MAX_ENDPOINTS];
    size_t endpoint_count;
    vl_keyfile issuers[MAX_ISSUER_KEYS];
    size_t issuer_count;
    vl_keyfile provider;
    vl_keypair holders[MAX_HOLDERS];
    size_t holder_count;
    /* the work */
    job *jobs;
    uint32_t job_count;
    unit *units;
    uint64_t unit_count;
    uint32_t pairs;
    /* setup figures */
    uint64_t vouchers_issued;
    uint32_t setup_issues;
    double setup_issue_s, presign_s;
    /* the run */
    uint32_t worker_count;
    worker *workers;
    pthread_barrier_t ready, go;
    uint64_t t0_ns, deadline_ns; /* deadline 0: none */
    atomic_uint_fast64_t next_unit;
    double elapsed_s;
    bool ran_out; /* --duration set, but the orders ran out first */
    /* CPU time (note 8): per devnet node, then this process */
    size_t cpu_node_count;
    const char *cpu_node_id[VL_CLIENT_MAX_ENDPOINTS];
    long cpu_pid[VL_CLIENT_MAX_ENDPOINTS];
    bool cpu_voter[VL_CLIENT_MAX_ENDPOINTS];
    bool cpu_ok[VL_CLIENT_MAX_ENDPOINTS];
    uint64_t cpu_before_us[VL_CLIENT_MAX_ENDPOINTS], cpu_after_us[VL_CLIENT_MAX_ENDPOINTS];
    uint64_t self_cpu_before_us, self_cpu_after_us;
    /* disk writes (note 10): per devnet node, the same nodes as the CPU */
    bool io_ok[VL_CLIENT_MAX_ENDPOINTS];
    uint64_t io_before_bytes[VL_CLIENT_MAX_ENDPOINTS], io_after_bytes[VL_CLIENT_MAX_ENDPOINTS];
    /* machine time (note 11): /proc/stat's ticks before and after */
    bool stat_ok;
    uint64_t stat_before[ST_COUNT], stat_after[ST_COUNT];
    /* machine disk writes (note 12): bytes before and after */
    bool disk_ok;
    uint64_t disk_before, disk_after;
    vl_sigcache *run_cache; /* shared by the run's clients (note 3) */
};

/* ---- small helpers ------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...);
static void say(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u),
                          .tv_nsec = (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void sleep_ms(uint32_t ms)
{
    sleep_until_ns(now_ns() + (uint64_t)ms * 1000000u);
}

static double seconds(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* The error's slug in upper case ("TIMEOUT"), as voucherctl's JSON codes. */
static void code_name(char *out, size_t cap, int code)
{
    const char *s = vl_err_known(code) ? vl_err_slug(code) : NULL;
    if (s == NULL) {
        snprintf(out, cap, "E%d", code);
        return;
    }
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
    out[i] = '\0';
}

/* ---- the command line ------------------------------------------------------------------ */

static const char usage_text[] =
    "usage: " PROG " (--devnet DIR | --genesis FILE [--node ENDPOINT]... --issuer-key K\n"
    "                     [--provider-key K]) --mode issue|redeem|mixed\n"
    "                     [--clients C] [--count N] [--rate R] [--duration S] [--json]\n"
    "                     [--conflict-share X] [--batch B] [--timeout-ms MS]\n"
    "                     [--verify-sample N] [--verify-wait S] [--pipeline]\n"
    "\n"
    "Submits pre-signed orders to a running network and prints throughput, latency\n"
    "percentiles and errors, then checks that every certificate it got is on every node.\n"
    "  --devnet DIR        read DIR/devnet.json (voucherctl devnet up): genesis, nodes,\n"
    "                      the first issuer's and provider's key files\n"
    "  --genesis FILE      the network's genesis; --node ENDPOINT (repeatable) the client\n"
    "                      endpoints to use (default: the genesis' or devnet's)\n"
    "  --issuer-key K      issuer key file (repeatable: issue mode runs one chain per key)\n"
    "  --provider-key K    provider key file (redeem, mixed)\n"
    "  --mode M            issue: ISSUE orders; redeem: REDEEM orders of distinct vouchers\n"
    "                      (issued first, untimed); mixed: redeem plus conflicting pairs\n"
    "  --clients C         concurrent clients: threads, one order in flight each\n"
    "                      (default 1, at most 1024)\n"
    "  --pipeline          redeem, mixed: one thread keeps the C clients' orders in\n"
    "                      flight on one socket per node (vl_client_send/_next)\n"
    "  --count N           orders to submit (default 1000; 20000 pre-signed with --duration)\n"
    "  --rate R            open loop: R orders a second, latency from the due time\n"
    "  --duration S        stop after S seconds\n"
    "  --conflict-share X  mixed: share of the orders that are a second, conflicting order\n"
    "                      for a slot (default 0.1, at most 0.5)\n"
    "  --batch B           issue: vouchers per ISSUE order (default 1, at most 256)\n"
    "  --timeout-ms MS     per-node reply timeout of the clients (default 6000)\n"
    "  --verify-sample N   check at most N certificates on every node (default 2000)\n"
    "  --verify-wait S     wait up to S seconds for lagging nodes (default 30)\n"
    "  --json              one JSON object on stdout instead of text\n"
    "SIGINT or SIGTERM during the run ends it early; the figures and the check follow for\n"
    "the orders sent.  Before or after the run, or a second time: it ends at once.\n"
    "Exit status: 0 every order certified or refused as expected and every certificate\n"
    "found on every node; 1 otherwise (the figures are printed anyway); 2 usage.\n";

static int usage_error(const char *what, const char *arg)
{
    say("%s%s%s (see " PROG " --help)", what, arg != NULL ? ": " : "", arg != NULL ? arg : "");
    return 2;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10u)
            return false;
        v = v * 10u + (uint64_t)(*s - '0');
    }
    if (v < min)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64(s, min, max, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

/* One option with its value; 0, or 2 after a message. */
static int set_option(bench_opts *o, const char *name, const char *val)
{
    bool ok = true;
    uint64_t u;
    if (strcmp(name, "devnet") == 0) {
        o->devnet_dir = val;
    } else if (strcmp(name, "genesis") == 0) {
        o->genesis_path = val;
    } else if (strcmp(name, "node") == 0) {
        if (o->node_count == VL_CLIENT_MAX_ENDPOINTS)
            return usage_error("too many --node", NULL);
        o->nodes[o->node_count++] = val;
    } else if (strcmp(name, "issuer-key") == 0) {
        if (o->issuer_key_count == MAX_ISSUER_KEYS)
            return usage_error("too many --issuer-key", NULL);
        o->issuer_keys[o->issuer_key_count++] = val;
    } else if (strcmp(name, "provider-key") == 0) {
        o->provider_key = val;
    } else if (strcmp(name, "mode") == 0) {
        ok = false;
        for (int m = 0; m < 3; m++)
            if (strcmp(val, mode_names[m]) == 0) {
                o->mode = (bench_mode)m;
                ok = o->mode_set = true;
            }
    } else if (strcmp(name, "clients") == 0) {
        ok = parse_u32(val, 1, MAX_CLIENTS, &o->clients);
    } else if (strcmp(name, "count") == 0) {
        ok = o->count_set = parse_u64(val, 1, MAX_COUNT, &o->count);
    } else if (strcmp(name, "rate") == 0) {
        ok = parse_double(val, 0.001, 1e7, &o->rate);
    } else if (strcmp(name, "duration") == 0) {
        ok = parse_double(val, 0.001, 1e6, &o->duration_s);
    } else if (strcmp(name, "conflict-share") == 0) {
        ok = parse_double(val, 0.0, 0.5, &o->conflict_share);
    } else if (strcmp(name, "batch") == 0) {
        ok = parse_u32(val, 1, VL_MAX_ISSUE_BATCH, &o->batch);
    } else if (strcmp(name, "timeout-ms") == 0) {
        ok = parse_u32(val, VL_CLIENT_MIN_TIMEOUT_MS, VL_CLIENT_MAX_TIMEOUT_MS, &o->timeout_ms);
    } else if (strcmp(name, "verify-sample") == 0) {
        ok = parse_u64(val, 1, MAX_VERIFY_SAMPLE, &u);
        o->verify_sample = ok ? (uint32_t)u : 0;
    } else if (strcmp(name, "verify-wait") == 0) {
        ok = parse_u32(val, 0, MAX_WAIT_S, &o->verify_wait_s);
    } else {
        return usage_error("unknown option", name);
    }
    if (!ok) {
        char what[128];
        snprintf(what, sizeof what, "--%s: value out of range or not a number", name);
        return usage_error(what, val);
    }
    return 0;
}

/* 0, 1 (--help printed: exit 0), or 2. */
static int parse_args(bench_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->clients = 1;
    o->count = DEFAULT_COUNT;
    o->conflict_share = 0.1;
    o->batch = 1;
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    o->verify_sample = DEFAULT_VERIFY_SAMPLE;
    o->verify_wait_s = DEFAULT_VERIFY_WAIT_S;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_text, stdout);
            return 1;
        }
        if (strcmp(arg, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(arg, "--pipeline") == 0) {
            o->pipelined = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return usage_error("unexpected argument", arg);
        char name[32];
        const char *eq = strchr(arg, '=');
        size_t nl = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nl >= sizeof name)
            return usage_error("unknown option", arg);
        memcpy(name, arg + 2, nl);
        name[nl] = '\0';
        const char *val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (val == NULL)
            return usage_error("missing value", arg);
        int st = set_option(o, name, val);
        if (st != 0)
            return st;
    }
    if (!o->mode_set)
        return usage_error("missing --mode issue|redeem|mixed", NULL);
    if (o->pipelined && o->mode == MODE_ISSUE)
        return usage_error("--pipeline: redeem and mixed modes only (an issuer's chain is "
                           "sequential)", NULL);
    if ((o->devnet_dir == NULL) == (o->genesis_path == NULL))
        return usage_error("give --devnet DIR, or --genesis FILE with the keys", NULL);
    if (o->duration_s > 0 && !o->count_set)
        o->count = o->rate > 0 ? (uint64_t)ceil(o->rate * o->duration_s) : DURATION_DEFAULT_COUNT;
    if (o->count > MAX_COUNT)
        return usage_error("--rate x --duration: more orders than the limit of 1000000", NULL);
    return 0;
}

/* ---- devnet.json, the genesis, the keys ---------------------------------------------- */

/* A path of devnet.json: absolute as written, else relative to DIR.  A
 * joined path is kept in the devnet's "_paths" array, so it lives as long
 * as every other string borrowed from the devnet. */
static const char *devnet_path(bench *b, const char *dir, json_t *v)
{
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0')
        return NULL;
    if (s[0] == '/')
        return s;
    json_t *joined = json_sprintf("%s/%s", dir, s);
    if (joined == NULL || json_array_append_new(json_object_get(b->devnet, "_paths"), joined) != 0)
        return NULL;
    return json_string_value(joined);
}

/* The key_file of element i of devnet array `list`, or NULL. */
static const char *devnet_key(bench *b, const char *dir, const char *list, size_t i)
{
    json_t *a = json_object_get(b->devnet, list);
    return devnet_path(b, dir, json_object_get(json_array_get(a, i), "key_file"));
}

/* Fill what the command line left out from DIR/devnet.json (the shape
 * voucherctl devnet up writes; other members are ignored).  0 or 1. */
static int load_devnet(bench *b)
{
    bench_opts *o = &b->o;
    const char *dir = o->devnet_dir;
    char path[4096];
    json_error_t jerr;
    if (snprintf(path, sizeof path, "%s/devnet.json", dir) >= (int)sizeof path) {
        say("%s: path too long", dir);
        return 1;
    }
    b->devnet = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (b->devnet == NULL) {
        if (jerr.line > 0)
            say("%s: line %d: %s", path, jerr.line, jerr.text);
        else
            say("%s", jerr.text);
        return 1;
    }
    if (!json_is_object(b->devnet) || json_object_set_new(b->devnet, "_paths", json_array()) != 0) {
        say("%s: not a JSON object", path);
        return 1;
    }
    o->genesis_path = devnet_path(b, dir, json_object_get(b->devnet, "genesis"));
    if (o->genesis_path == NULL) {
        say("%s: no \"genesis\" path", path);
        return 1;
    }
    json_t *nodes = json_object_get(b->devnet, "nodes");
    for (size_t i = 0; i < json_array_size(nodes) && i < VL_CLIENT_MAX_ENDPOINTS; i++) {
        json_t *n = json_array_get(nodes, i); /* note 8 */
        json_int_t pid = json_integer_value(json_object_get(n, "pid"));
        const char *id = json_string_value(json_object_get(n, "id"));
        const char *role = json_string_value(json_object_get(n, "role"));
        b->cpu_node_id[i] = id != NULL ? id : "?";
        b->cpu_pid[i] = pid > 0 && pid < INT32_MAX ? (long)pid : 0;
        b->cpu_voter[i] = role != NULL && strcmp(role, "voter") == 0;
        b->cpu_node_count = i + 1;
    }
    for (size_t i = 0; o->node_count == 0 && i < json_array_size(nodes); i++) {
        const char *ep = json_string_value(json_object_get(json_array_get(nodes, i),
                                                           "client_endpoint"));
        if (ep != NULL && b->endpoint_count < VL_CLIENT_MAX_ENDPOINTS)
            b->endpoints[b->endpoint_count++] = ep;
    }
    /* issue mode takes every issuer (one chain each), the others the first */
    size_t want = o->mode == MODE_ISSUE ? MAX_ISSUER_KEYS : 1;
    json_t *issuers = json_object_get(b->devnet, "issuers");
    if (o->issuer_key_count > 0) /* --issuer-key given */
        want = 0;
    for (size_t i = 0; i < json_array_size(issuers) && i < want; i++) {
        const char *k = devnet_key(b, dir, "issuers", i);
        if (k == NULL) {
            say("%s: issuers[%zu] has no \"key_file\"", path, i);
            return 1;
        }
        o->issuer_keys[o->issuer_key_count++] = k;
    }
    if (o->provider_key == NULL)
        o->provider_key = devnet_key(b, dir, "providers", 0);
    return 0;
}

static int load_key(const char *path, vl_keyfile *k)
{
    char err[256] = "";
    vl_err e = vl_keyfile_load(k, path, err, sizeof err);
    if (e != VL_OK) {
        say("%s: %s", path, err[0] != '\0' ? err : vl_strerror(e));
        return 1;
    }
    return 0;
}

/* The genesis, endpoints and keys.  0 or 1. */
static int load_network(bench *b)
{
    bench_opts *o = &b->o;
    char err[512] = "";
    if (o->devnet_dir != NULL && load_devnet(b) != 0)
        return 1;
    b->g = malloc(sizeof *b->g);
    vl_err e = b->g == NULL ? VL_ERR_NOMEM
                            : vl_genesis_load_file(b->g, o->genesis_path, err, sizeof err);
    if (e != VL_OK) {
        say("%s: %s", o->genesis_path, err[0] != '\0' ? err : vl_strerror(e));
        return 1;
    }
    if (o->node_count > 0) {
        memcpy(b->endpoints, o->nodes, o->node_count * sizeof o->nodes[0]);
        b->endpoint_count = o->node_count;
    }
    for (size_t i = 0; b->endpoint_count == 0 && i < b->g->node_count; i++)
        b->endpoints[i] = b->g->nodes[i].client_endpoint;
    if (b->endpoint_count == 0)
        b->endpoint_count = b->g->node_count;
    if (o->issuer_key_count == 0) {
        say("no issuer key: give --issuer-key (or a devnet with issuers)");
        return 1;
    }
    if (o->mode != MODE_ISSUE && o->provider_key == NULL) {
        say("no provider key: give --provider-key (or a devnet with providers)");
        return 1;
    }
    for (size_t i = 0; i < o->issuer_key_count; i++) {
        if (load_key(o->issuer_keys[i], &b->issuers[i]) != 0)
            return 1;
        b->issuer_count = i + 1;
        if (vl_genesis_issuer_by_pubkey(b->g, b->issuers[i].sign.pubkey) < 0) {
            say("%s: not an issuer of network \"%s\"", o->issuer_keys[i], b->g->network);
            return 1;
        }
    }
    if (o->mode == MODE_ISSUE)
        return 0;
    if (load_key(o->provider_key, &b->provider) != 0)
        return 1;
    if (vl_genesis_provider_by_pubkey(b->g, b->provider.sign.pubkey) < 0) {
        say("%s: not a provider of network \"%s\"", o->provider_key, b->g->network);
        return 1;
    }
    return 0;
}

/* ---- setup: issuer state, ISSUE batches, waiting for every node ------------------------ */

/* A client of the endpoints rotated by `first` (every endpoint, failover
 * in that order); NULL after a message. */
static vl_client *make_client(const bench *b, size_t first)
{
    const char *eps[VL_CLIENT_MAX_ENDPOINTS];
    size_t n = b->endpoint_count;
    for (size_t i = 0; i < n; i++)
        eps[i] = b->endpoints[(first + i) % n];
    vl_client *c = NULL;
    vl_err e = vl_client_new(&c, b->g, eps, n, b->o.timeout_ms);
    if (e != VL_OK)
        say("cannot make a client: %s", vl_strerror(e));
    return c;
}

/* A client of endpoint i alone (no failover). */
static vl_client *node_client(const bench *b, size_t i)
{
    vl_client *c = NULL;
    vl_err e = vl_client_new(&c, b->g, &b->endpoints[i], 1, b->o.timeout_ms);
    if (e != VL_OK)
        say("cannot make a client of %s: %s", b->endpoints[i], vl_strerror(e));
    return c;
}

/* The issuer's next seq and remaining budget, as the first node that
 * answers has them (an issuer no node knows yet: seq 0, the genesis budget). */
static int issuer_state(const bench *b, vl_client *cl, const vl_keyfile *k, uint64_t *seq,
                        uint64_t *balance_fen)
{
    uint8_t id[32];
    vl_client_account a;
    vl_issuer_account_id(id, k->sign.pubkey);
    vl_err e = vl_client_get_account(cl, id, &a);
    int st = 0;
    if (e == VL_OK) {
        *seq = a.account.next_seq;
        *balance_fen = a.account.balance_fen;
    } else if (e == VL_ERR_UNKNOWN_ACCOUNT) {
        int i = vl_genesis_issuer_by_pubkey(b->g, k->sign.pubkey);
        *seq = 0;
        *balance_fen = b->g->issuers[i].budget_fen;
    } else {
        say("cannot read the issuer account: %s (%s)%s%s", vl_err_slug(e), vl_strerror(e),
            a.message[0] != '\0' ? ": " : "", a.message);
        st = 1;
    }
    vl_client_account_free(&a);
    if (st == 0 && *seq >= VL_ORDERKIT_MAX_DEFAULT_SEQ - MAX_COUNT) {
        say("the issuer's seq %" PRIu64 " is too large for default serials", *seq);
        st = 1;
    }
    return st;
}

/* The unsigned ISSUE at seq of n vouchers with the default serials,
 * voucher i held by holder (hfirst + i) % holder_count. */
static vl_err build_issue(const bench *b, const vl_keyfile *k, uint64_t seq, size_t n,
                          uint64_t hfirst, vl_order *o)
{
    static const char program[] = "voucher-bench";
    vl_voucher_spec specs[VL_MAX_ISSUE_BATCH], first;
    if (n == 0 || n > VL_MAX_ISSUE_BATCH)
        return VL_ERR_RANGE;
    vl_orderkit_spec_defaults(&first, seq, (uint64_t)time(NULL));
    first.value_fen = VOUCHER_VALUE_FEN;
    first.program = (vl_bytes){(const uint8_t *)program, (uint32_t)(sizeof program - 1)};
    for (size_t i = 0; i < n; i++) {
        specs[i] = first;
        specs[i].serial = first.serial + i;
        memcpy(specs[i].holder, b->holders[(hfirst + i) % b->holder_count].pubkey, 32);
    }
    return vl_orderkit_issue(o, b->g, k->sign.pubkey, seq, specs, n);
}

/* Sign slot(s) and encode o into j (hash, account, seq too). */
static vl_err seal(vl_order *o, const vl_keypair *s0, const vl_keypair *s1, job *j)
{
    vl_err e = vl_orderkit_sign(o, 0, s0);
    if (e == VL_OK && s1 != NULL)
        e = vl_orderkit_sign(o, 1, s1);
    if (e == VL_OK)
        e = vl_orderkit_encode(o, &j->raw, &j->len);
    if (e != VL_OK)
        return e;
    vl_order_hash(j->hash, o);
    vl_order_account(j->account, o);
    j->seq = o->seq;
    j->partner = NO_JOB;
    return VL_OK;
}

/* Wait until node i knows voucher `id`; false after SETUP_WAIT_S. */
typedef enum { NODE_KNOWS, NODE_LAGS, NODE_DOWN } node_state;

/* Whether node i knows account id, waiting up to SETUP_WAIT_S; a node
 * that does not answer STATUS at all is down and not waited for (a run
 * with a voter stopped, note 1). */
static node_state wait_known(const bench *b, size_t i, const uint8_t id[32])
{
    vl_client *c = node_client(b, i);
    vl_status s;
    if (c == NULL)
        return NODE_LAGS;
    if (vl_client_status(c, 0, &s) == VL_ERR_UNAVAILABLE) {
        vl_client_destroy(&c);
        return NODE_DOWN;
    }
    uint64_t end = now_ns() + (uint64_t)SETUP_WAIT_S * 1000000000u;
    bool known = false;
    while (!known) {
        vl_client_account a;
        known = vl_client_get_account(c, id, &a) == VL_OK;
        vl_client_account_free(&a);
        if (known || now_ns() > end)
            break;
        sleep_ms(POLL_SLEEP_MS / 4);
    }
    vl_client_destroy(&c);
    return known ? NODE_KNOWS : NODE_LAGS;
}

/* Holder keys in memory: one per voucher up to MAX_HOLDERS. */
static int make_holders(bench *b, uint64_t vouchers)
{
    b->holder_count = vouchers < MAX_HOLDERS ? (size_t)vouchers : MAX_HOLDERS;
    if (b->holder_count == 0)
        b->holder_count = 1;
    for (size_t i = 0; i < b->holder_count; i++)
        if (vl_keypair_generate(&b->holders[i]) != VL_OK) {
            say("%s", vl_strerror(VL_ERR_RANDOM));
            return 1;
        }
    return 0;
}

/* Note 1: our ISSUE at *seq came back e (CONFLICT or ALREADY_CERTIFIED,
 * answer r): another order holds that seq.  Ours is never sent again for it
 * (two orders for one slot can freeze the issuer, DESIGN.md 5.6): the
 * other one, a CONFLICT's evidence, is submitted once to help it to its
 * certificate, then the issuer's seq is read until it has passed *seq.
 * 0 with *seq and *balance read again; 1 after SETUP_WAIT_S. */
static int wait_slot_taken(const bench *b, vl_client *cl, const vl_keyfile *k, vl_err e,
                           const vl_client_result *r, uint64_t *seq, uint64_t *balance)
{
    uint64_t taken = *seq, end = now_ns() + (uint64_t)SETUP_WAIT_S * 1000000000u;
    say("setup: issuer seq %" PRIu64 " holds another order (%s; a run stopped during its "
        "setup?); waiting for its certificate",
        taken, vl_err_slug(e));
    if (e == VL_ERR_CONFLICT && r->evidence_kind == VL_EVIDENCE_ORDER && r->evidence_verified) {
        vl_client_result other;
        memset(&other, 0, sizeof other);
        vl_err oe = vl_client_submit(cl, r->evidence, r->evidence_len, &other);
        say("setup: the order holding issuer seq %" PRIu64 " submitted again: %s", taken,
            oe == VL_OK ? "certified" : vl_err_slug(oe));
        vl_client_result_free(&other);
    }
    for (;;) {
        if (issuer_state(b, cl, k, seq, balance) != 0)
            return 1;
        if (*seq > taken)
            return 0;
        if (now_ns() > end) {
            say("setup: issuer seq %" PRIu64 " still has no certificate after %u s: two "
                "orders may have split its votes, which freezes the issuer's account for good "
                "(DESIGN.md 5.6); run with another issuer key, or on a new devnet",
                taken, SETUP_WAIT_S);
            return 1;
        }
        sleep_ms(POLL_SLEEP_MS);
    }
}

/* Redeem and mixed (note 1): issue n vouchers of the first issuer in
 * batches, untimed; serials[v] gets voucher v's serial.  0 or 1. */
static int issue_vouchers(bench *b, vl_client *cl, uint64_t n, uint64_t *serials)
{
    const vl_keyfile *k = &b->issuers[0];
    uint64_t seq, balance;
    vl_order *o = malloc(sizeof *o);
    uint64_t t = now_ns();
    int st = o == NULL ? 1 : issuer_state(b, cl, k, &seq, &balance);
    if (st == 0 && balance / VOUCHER_VALUE_FEN < n) {
        say("the issuer's remaining budget (%" PRIu64 " fen) does not cover %" PRIu64
            " vouchers of %u fen", balance, n, VOUCHER_VALUE_FEN);
        st = 1;
    }
    uint8_t last_id[32];
    unsigned taken = 0;
    for (uint64_t done = 0; st == 0 && done < n;) {
        size_t m = n - done < VL_MAX_ISSUE_BATCH ? (size_t)(n - done) : VL_MAX_ISSUE_BATCH;
        job j = {0};
        vl_client_result r;
        memset(&r, 0, sizeof r);
        vl_err e = build_issue(b, k, seq, m, done, o);
        if (e == VL_OK)
            e = seal(o, &k->sign, NULL, &j);
        e = e == VL_OK ? vl_client_submit(cl, j.raw, j.len, &r) : e;
        bool retry = (e == VL_ERR_ALREADY_CERTIFIED || e == VL_ERR_CONFLICT) &&
                     taken++ < SETUP_SLOT_RETRIES;
        if (retry) { /* note 1: the slot is another run's */
            st = wait_slot_taken(b, cl, k, e, &r, &seq, &balance);
        } else if (e != VL_OK) {
            say("setup: the ISSUE at issuer seq %" PRIu64 " failed: %s (%s) %s", seq,
                vl_err_slug(e), vl_strerror(e), e == r.code ? r.message : "");
            st = 1;
        }
        for (size_t i = 0; st == 0 && !retry && i < m; i++)
            serials[done + i] = o->vouchers[i].serial;
        if (st == 0 && !retry) {
            vl_voucher_account_id(last_id, k->sign.pubkey, o->vouchers[m - 1].serial);
            done += m;
            seq++;
            b->setup_issues++;
        }
        vl_client_result_free(&r);
        free(j.raw);
    }
    free(o);
    for (size_t i = 0; st == 0 && i < b->endpoint_count; i++) {
        node_state ns = wait_known(b, i, last_id);
        if (ns == NODE_DOWN) {
            say("setup: %s does not answer; not waited for", b->endpoints[i]);
        } else if (ns == NODE_LAGS) {
            say("setup: %s does not know the issued vouchers after %u s", b->endpoints[i],
                SETUP_WAIT_S);
            st = 1;
        }
    }
    b->vouchers_issued = st == 0 ? n : 0;
    b->setup_issue_s = seconds(now_ns() - t);
    return st;
}

/* ---- pre-signing the timed orders ------------------------------------------------------- */

/* The signed REDEEM of voucher (first issuer, serial) at seq 0 into j. */
static vl_err make_redeem(const bench *b, uint64_t serial, const vl_keypair *holder,
                          uint64_t amount_fen, vl_order *o, job *j)
{
    vl_orderkit_redeem r;
    memset(&r, 0, sizeof r);
    memcpy(r.issuer, b->issuers[0].sign.pubkey, 32);
    r.serial = serial;
    r.seq = 0;
    memcpy(r.holder, holder->pubkey, 32);
    memcpy(r.provider, b->provider.sign.pubkey, 32);
    r.amount_fen = amount_fen;
    r.gpu_milli_hours = REDEEM_GPU_MILLI_HOURS;
    vl_orderkit_derived_invoice(r.invoice_hash, &r);
    vl_err e = vl_orderkit_redeem_build(o, b->g, &r);
    return e == VL_OK ? seal(o, holder, &b->provider.sign, j) : e;
}

/* Redeem and mixed: count orders, of which `conflicts` are the second
 * order of a pair (note 2), spread evenly over the vouchers. */
static int plan_redeem(bench *b, vl_client *cl)
{
    uint64_t count = b->o.count;
    uint64_t conflicts = b->o.mode == MODE_MIXED
                             ? (uint64_t)llround((double)count * b->o.conflict_share)
                             : 0;
    if (conflicts > count / 2) /* a pair per voucher at most */
        conflicts = count / 2;
    uint64_t vouchers = count - conflicts;
    uint64_t *serials = calloc((size_t)vouchers, sizeof *serials);
    b->jobs = calloc((size_t)count, sizeof *b->jobs);
    b->units = calloc((size_t)vouchers, sizeof *b->units);
    vl_order *o = malloc(sizeof *o);
    if (serials == NULL || b->jobs == NULL || b->units == NULL || o == NULL) {
        say("out of memory for %" PRIu64 " orders", count);
        free(serials);
        free(o);
        return 1;
    }
    int st = make_holders(b, vouchers);
    if (st == 0)
        st = issue_vouchers(b, cl, vouchers, serials);
    uint64_t t = now_ns();
    uint32_t nj = 0;
    for (uint64_t v = 0; st == 0 && v < vouchers; v++) {
        const vl_keypair *h = &b->holders[v % b->holder_count];
        bool pair = (v + 1) * conflicts / vouchers > v * conflicts / vouchers;
        unit *u = &b->units[v];
        u->first = nj;
        u->second = NO_JOB;
        vl_err e = make_redeem(b, serials[v], h, REDEEM_AMOUNT_FEN, o, &b->jobs[nj++]);
        if (e == VL_OK && pair) {
            u->second = nj;
            e = make_redeem(b, serials[v], h, CONFLICT_AMOUNT_FEN, o, &b->jobs[nj++]);
            b->jobs[u->first].partner = u->second;
            b->jobs[u->second].partner = u->first;
            b->pairs++;
        }
        if (e != VL_OK) {
            say("cannot build a REDEEM: %s", vl_strerror(e));
            st = 1;
        }
    }
    b->job_count = nj;
    b->unit_count = st == 0 ? vouchers : 0;
    b->presign_s = seconds(now_ns() - t);
    free(serials);
    free(o);
    return st;
}

/* Issue mode (note 4): unit k is the ISSUE at position k / chains of chain
 * k % chains (issuer key k % chains), one job per unit. */
static int plan_issue(bench *b, vl_client *cl)
{
    uint64_t count = b->o.count, chains = b->issuer_count;
    uint64_t seq0[MAX_ISSUER_KEYS];
    b->jobs = calloc((size_t)count, sizeof *b->jobs);
    b->units = calloc((size_t)count, sizeof *b->units);
    vl_order *o = malloc(sizeof *o);
    int st = b->jobs == NULL || b->units == NULL || o == NULL;
    if (st != 0)
        say("out of memory for %" PRIu64 " orders", count);
    if (st == 0)
        st = make_holders(b, count * b->o.batch);
    for (uint64_t c = 0; st == 0 && c < chains; c++) {
        uint64_t balance, need = (count / chains + 1) * b->o.batch;
        st = issuer_state(b, cl, &b->issuers[c], &seq0[c], &balance);
        if (st == 0 && balance / VOUCHER_VALUE_FEN < need) {
            say("%s: the remaining budget (%" PRIu64 " fen) does not cover %" PRIu64
                " vouchers of %u fen", b->o.issuer_keys[c], balance, need, VOUCHER_VALUE_FEN);
            st = 1;
        }
    }
    uint64_t t = now_ns();
    for (uint64_t k = 0; st == 0 && k < count; k++) {
        const vl_keyfile *key = &b->issuers[k % chains];
        job *j = &b->jobs[k];
        vl_err e = build_issue(b, key, seq0[k % chains] + k / chains, b->o.batch,
                               k * b->o.batch, o);
        if (e == VL_OK)
            e = seal(o, &key->sign, NULL, j);
        if (e != VL_OK) {
            say("cannot build an ISSUE: %s", vl_strerror(e));
            st = 1;
            break;
        }
        vl_voucher_account_id(j->voucher, key->sign.pubkey, o->vouchers[0].serial);
        memcpy(j->holder, o->vouchers[0].holder, 32);
        b->units[k] = (unit){(uint32_t)k, NO_JOB};
        b->job_count = (uint32_t)k + 1;
    }
    b->unit_count = st == 0 ? count : 0;
    b->presign_s = seconds(now_ns() - t);
    free(o);
    return st;
}

/* ---- the timed run ------------------------------------------------------------------------ */

/* Submit job j; latency from due_ns (open loop) or from now (note 5). */
static void run_job(vl_client *cl, job *j, uint64_t due_ns)
{
    vl_client_result r;
    uint64_t t = now_ns();
    uint64_t from = due_ns != 0 && due_ns < t ? due_ns : t;
    vl_err e = vl_client_submit(cl, j->raw, j->len, &r);
    j->latency_ns = now_ns() - from;
    j->code = e;
    j->submitted = true;
    vl_client_result_free(&r);
}

typedef struct {
    vl_client *cl;
    job *j;
    uint64_t due_ns;
} partner_arg;

static void *partner_main(void *p)
{
    partner_arg *a = p;
    run_job(a->cl, a->j, a->due_ns);
    return NULL;
}

/* The next unit of w, or false when there is none left, time is up or a
 * signal stopped the run (note 13). */
static bool next_unit(worker *w, uint64_t *k, uint64_t *due_ns)
{
    bench *b = w->b;
    if (atomic_load(&g_stop))
        return false;
    if (b->o.mode == MODE_ISSUE) {
        *k = w->next_unit;
        w->next_unit += b->worker_count;
    } else {
        *k = atomic_fetch_add(&b->next_unit, 1);
    }
    if (*k >= b->unit_count)
        return false;
    *due_ns = b->o.rate > 0 ? b->t0_ns + (uint64_t)((double)*k * 1e9 / b->o.rate) : 0;
    uint64_t t = *due_ns > 0 ? *due_ns : now_ns();
    return b->deadline_ns == 0 || t < b->deadline_ns;
}

/* One unit: an order, or a conflict pair submitted at the same moment to
 * two different first nodes (note 2).  False: stop this worker. */
static bool run_unit(worker *w, const unit *u, uint64_t due_ns)
{
    bench *b = w->b;
    job *first = &b->jobs[u->first];
    if (due_ns > 0)
        sleep_until_ns(due_ns);
    if (u->second == NO_JOB) {
        run_job(w->cl, first, due_ns);
        /* issue mode: a failed ISSUE ends the chain (note 4) */
        return b->o.mode != MODE_ISSUE || first->code == VL_OK;
    }
    partner_arg a = {w->partner_cl, &b->jobs[u->second], due_ns};
    pthread_t t;
    bool threaded = pthread_create(&t, NULL, partner_main, &a) == 0;
    run_job(w->cl, first, due_ns);
    if (threaded)
        pthread_join(t, NULL);
    else
        partner_main(&a); /* not at the same moment, but still a second order */
    return true;
}

static void *worker_main(void *p)
{
    worker *w = p;
    bench *b = w->b;
    vl_status s;
    /* connect before the clock starts: the first order pays no handshake */
    if (w->cl != NULL)
        (void)vl_client_status(w->cl, 0, &s);
    if (w->partner_cl != NULL)
        (void)vl_client_status(w->partner_cl, 0, &s);
    pthread_barrier_wait(&b->ready);
    pthread_barrier_wait(&b->go); /* t0 is set */
    uint64_t k, due;
    bool usable = w->cl != NULL && (b->o.mode != MODE_MIXED || w->partner_cl != NULL);
    while (usable && next_unit(w, &k, &due) && run_unit(w, &b->units[k], due))
        ;
    return NULL;
}

/* ---- CPU time and disk writes (notes 8 and 10) ------------------------------------------ */

/* Read /proc/PID/NAME into buf: at most cap - 1 bytes (a longer file is cut
 * there), NUL-terminated.  No allocation: it runs right next to the timed
 * run.  0, or -1 (no such pid or file, no permission; buf then holds ""). */
static int proc_read(long pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    assert(name != NULL && buf != NULL && cap > 0);
    buf[0] = '\0';
    if (pid <= 0 || snprintf(path, sizeof path, "/proc/%ld/%s", pid, name) >= (int)sizeof path)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    ssize_t r = 1;
    /* bounded: every pass adds at least one byte, or ends (EINTR aside) */
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) != 0) {
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0)
            n += (size_t)r;
    }
    close(fd);
    buf[r < 0 ? 0 : n] = '\0';
    return r < 0 ? -1 : 0;
}

/* Whether process pid is a voucherd (a stopped devnet's pid may be reused). */
static bool proc_is_voucherd(long pid)
{
    char comm[PROC_COMM_MAX];
    return proc_read(pid, "comm", comm, sizeof comm) == 0 && strcmp(comm, "voucherd\n") == 0;
}

/* utime + stime of process pid, in us, if it is a voucherd.  0 or -1. */
static int proc_cpu_us(long pid, uint64_t *us)
{
    char buf[PROC_STAT_MAX];
    if (!proc_is_voucherd(pid) || proc_read(pid, "stat", buf, sizeof buf) != 0)
        return -1;
    /* Fields after the command name, which ends at the last ')': state is
     * field 3, utime 14 and stime 15 (proc(5)). */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                            &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        return -1;
    *us = (uint64_t)(ut + st) * 1000000u / (uint64_t)hz;
    return 0;
}

/* write_bytes of process pid from /proc/PID/io (note 10), if it is a
 * voucherd.  0 or -1. */
static int proc_write_bytes(long pid, uint64_t *bytes)
{
    static const char key[] = "write_bytes:";
    char buf[PROC_IO_MAX];
    if (!proc_is_voucherd(pid) || proc_read(pid, "io", buf, sizeof buf) != 0)
        return -1;
    /* one "name: value" a line; "cancelled_write_bytes:" must not match */
    for (const char *line = buf; line != NULL && *line != '\0';) {
        if (strncmp(line, key, sizeof key - 1) == 0) {
            const char *p = line + sizeof key - 1;
            char *end;
            while (*p == ' ')
                p++;
            if (*p < '0' || *p > '9')
                return -1;
            errno = 0;
            unsigned long long v = strtoull(p, &end, 10);
            if (errno != 0 || *end != '\n')
                return -1;
            *bytes = (uint64_t)v;
            return 0;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -1;
}

static uint64_t self_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The machine's ticks per state from /proc/stat's first line (note 11).
 * 0 or -1. */
static int machine_ticks(uint64_t out[ST_COUNT])
{
    char buf[PROC_STAT_HEAD];
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 4 || strncmp(buf, "cpu ", 4) != 0)
        return -1;
    buf[n] = '\0';
    const char *p = buf + 4;
    for (int i = 0; i < ST_COUNT; i++) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno != 0 || end == p)
            return -1;
        out[i] = (uint64_t)v;
        p = end;
    }
    return 0;
}

/* A whole disk of /proc/diskstats (note 12): listed in /sys/block and not
 * a device that writes to another one. */
static bool whole_disk(const char *name)
{
    static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strncmp(name, skip[i], strlen(skip[i])) == 0)
            return false;
    char path[128];
    int n = snprintf(path, sizeof path, "/sys/block/%s", name);
    return n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0;
}

/* Bytes written to the machine's whole disks since boot (note 12).  0 or
 * -1. */
static int machine_disk_bytes(uint64_t *out)
{
    FILE *f = fopen("/proc/diskstats", "re");
    if (f == NULL)
        return -1;
    char line[512], name[64];
    uint64_t sum = 0;
    int disks = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long v[7];
        unsigned maj, min;
        /* major minor name, then reads: ios merges sectors ms, writes: ios merges sectors */
        if (sscanf(line, "%u %u %63s %llu %llu %llu %llu %llu %llu %llu", &maj, &min, name,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 10)
            continue;
        if (whole_disk(name)) {
            sum += (uint64_t)v[6] * 512u;
            disks++;
        }
    }
    fclose(f);
    if (disks == 0)
        return -1;
    *out = sum;
    return 0;
}

/* Read every node's CPU time and disk writes, and the machine's ticks and
 * disk writes: before (after = false) or after the run. */
static void cpu_sample(bench *b, bool after)
{
    bool st_ok = machine_ticks(after ? b->stat_after : b->stat_before) == 0;
    b->stat_ok = (after ? b->stat_ok : true) && st_ok;
    bool dk_ok = machine_disk_bytes(after ? &b->disk_after : &b->disk_before) == 0;
    b->disk_ok = (after ? b->disk_ok : true) && dk_ok;
    for (size_t i = 0; i < b->cpu_node_count; i++) {
        uint64_t us = 0, bytes = 0;
        bool ok = proc_cpu_us(b->cpu_pid[i], &us) == 0;
        bool io_ok = proc_write_bytes(b->cpu_pid[i], &bytes) == 0;
        if (after) {
            b->cpu_ok[i] = b->cpu_ok[i] && ok;
            b->cpu_after_us[i] = us;
            b->io_ok[i] = b->io_ok[i] && io_ok;
            b->io_after_bytes[i] = bytes;
        } else {
            b->cpu_ok[i] = ok;
            b->cpu_before_us[i] = us;
            b->io_ok[i] = io_ok;
            b->io_before_bytes[i] = bytes;
        }
    }
    if (after)
        b->self_cpu_after_us = self_cpu_us();
    else
        b->self_cpu_before_us = self_cpu_us();
}

/* (after - before) / certified, or -1 without a figure. */
static double delta_per_order(bool ok, uint64_t before, uint64_t after, uint64_t certified)
{
    if (!ok || certified == 0 || after < before)
        return -1;
    return (double)(after - before) / (double)certified;
}

/* CPU us per certified order of node i, or -1 without a figure. */
static double cpu_per_order(const bench *b, size_t i, uint64_t certified)
{
    return delta_per_order(b->cpu_ok[i], b->cpu_before_us[i], b->cpu_after_us[i], certified);
}

/* Bytes written per certified order by node i (note 10), or -1 without a
 * figure. */
static double disk_per_order(const bench *b, size_t i, uint64_t certified)
{
    return delta_per_order(b->io_ok[i], b->io_before_bytes[i], b->io_after_bytes[i], certified);
}

/* Mean of per_node over the voters with a figure, or -1. */
static double voter_mean(const bench *b, uint64_t certified,
                         double (*per_node)(const bench *, size_t, uint64_t))
{
    double sum = 0;
    unsigned n = 0;
    for (size_t i = 0; i < b->cpu_node_count; i++) {
        double x = per_node(b, i, certified);
        if (b->cpu_voter[i] && x >= 0) {
            sum += x;
            n++;
        }
    }
    return n > 0 ? sum / n : -1;
}

static double cpu_self_per_order(const bench *b, uint64_t certified)
{
    return certified > 0 ? (double)(b->self_cpu_after_us - b->self_cpu_before_us) /
                               (double)certified
                         : -1;
}

/* The shares of the machine's time over the run (note 11): false without
 * a figure.  share[]: user, system, idle, iowait, steal, as fractions. */
static bool machine_shares(const bench *b, double share[5])
{
    if (!b->stat_ok)
        return false;
    uint64_t d[ST_COUNT], total = 0;
    for (int i = 0; i < ST_COUNT; i++) {
        if (b->stat_after[i] < b->stat_before[i])
            return false;
        d[i] = b->stat_after[i] - b->stat_before[i];
        total += d[i];
    }
    if (total == 0)
        return false;
    uint64_t parts[5] = {d[ST_USER] + d[ST_NICE], d[ST_SYSTEM] + d[ST_IRQ] + d[ST_SOFTIRQ],
                         d[ST_IDLE], d[ST_IOWAIT], d[ST_STEAL]};
    for (int i = 0; i < 5; i++)
        share[i] = (double)parts[i] / (double)total;
    return true;
}

static const char *const share_names[5] = {"user", "system", "idle", "iowait", "steal"};

/* The machine's disk writes over the run (note 12): false without a
 * figure. */
static bool machine_disk(const bench *b, uint64_t certified, double *per_order, double *mb_per_s)
{
    if (!b->disk_ok || b->disk_after < b->disk_before || certified == 0 || b->elapsed_s <= 0)
        return false;
    double bytes = (double)(b->disk_after - b->disk_before);
    *per_order = bytes / (double)certified;
    *mb_per_s = bytes / b->elapsed_s / 1e6;
    return true;
}

/* Start the workers, time the run, join them.  0 or 1. */
static int run(bench *b)
{
    uint32_t n = b->o.clients;
    if (b->o.mode == MODE_ISSUE && n > b->issuer_count)
        n = (uint32_t)b->issuer_count; /* one chain per issuer key (note 4) */
    b->worker_count = n;
    b->workers = calloc(n, sizeof *b->workers);
    b->run_cache = vl_sigcache_new(RUN_CACHE_ENTRIES);
    if (b->workers == NULL || b->run_cache == NULL || pthread_barrier_init(&b->ready, NULL, n + 1) != 0 ||
        pthread_barrier_init(&b->go, NULL, n + 1) != 0) {
        say("out of memory for %u clients", n);
        return 1;
    }
    int st = 0;
    uint32_t started = 0;
    for (uint32_t i = 0; i < n; i++) {
        worker *w = &b->workers[i];
        w->b = b;
        w->index = i;
        w->next_unit = i;
        w->cl = make_client(b, i);
        if (b->o.mode == MODE_MIXED)
            w->partner_cl = make_client(b, i + 1);
        if (w->cl != NULL) { /* note 3; NULL run_cache: their own caches */
            vl_client_use_cache(w->cl, b->run_cache);
            vl_client_vouch_for_orders(w->cl, true);
        }
        if (w->partner_cl != NULL) {
            vl_client_use_cache(w->partner_cl, b->run_cache);
            vl_client_vouch_for_orders(w->partner_cl, true);
        }
        if (w->cl == NULL || (b->o.mode == MODE_MIXED && w->partner_cl == NULL))
            st = 1; /* the workers still meet at the barriers, then stop */
    }
    for (uint32_t i = 0; i < n; i++) {
        if (pthread_create(&b->workers[i].thread, NULL, worker_main, &b->workers[i]) != 0) {
            say("cannot start client thread %u of %u", i + 1, n);
            exit(1); /* the barriers would wait forever for it */
        }
        started++;
    }
    pthread_barrier_wait(&b->ready);
    cpu_sample(b, false);
    b->t0_ns = now_ns();
    b->deadline_ns = b->o.duration_s > 0 ? b->t0_ns + (uint64_t)(b->o.duration_s * 1e9) : 0;
    atomic_store(&g_running, 1); /* note 13 */
    pthread_barrier_wait(&b->go);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(b->workers[i].thread, NULL);
    atomic_store(&g_running, 0);
    uint64_t end = now_ns();
    cpu_sample(b, true);
    b->elapsed_s = seconds(end - b->t0_ns);
    /* --duration was given but every pre-signed order went first: a closed
     * loop that ended early, or an open loop given fewer orders (--count)
     * than rate x duration */
    bool all_taken = atomic_load(&b->next_unit) >= b->unit_count || b->o.mode == MODE_ISSUE;
    b->ran_out = b->deadline_ns != 0 && all_taken &&
                 (b->o.rate > 0 ? (double)b->unit_count < b->o.rate * b->o.duration_s
                                : end < b->deadline_ns);
    for (uint32_t i = 0; i < n; i++) {
        vl_client_destroy(&b->workers[i].cl);
        vl_client_destroy(&b->workers[i].partner_cl);
    }
    pthread_barrier_destroy(&b->ready);
    pthread_barrier_destroy(&b->go);
    vl_sigcache_destroy(&b->run_cache); /* after every client that used it */
    return st;
}

/* ---- the timed run, pipelined (note 9) ------------------------------------------------- */

/* Per job while it is in flight. */
typedef struct {
    uint64_t from_ns; /* latency counts from here (note 5) */
    uint32_t endpoint;
    uint32_t tries;
} pipe_job;

/* One attempt of job j at endpoint ep; false: it could not be sent (code). */
static bool pipe_send(bench *b, vl_client *cl, pipe_job *pj, uint32_t j, uint32_t ep,
                      vl_err *code)
{
    pj[j].endpoint = ep;
    pj[j].tries++;
    *code = vl_client_send(cl, ep, b->jobs[j].raw, b->jobs[j].len, j);
    return *code == VL_OK;
}

/* Job j ended with `code`: resend it to the next endpoint if the code says
 * this node cannot finish it now (as vl_client_submit would), else record
 * it.  True when the job is over. */
static bool pipe_settle(bench *b, vl_client *cl, pipe_job *pj, uint32_t j, vl_err code)
{
    while (vl_client_should_failover(code) && pj[j].tries < b->endpoint_count) {
        uint32_t ep = (pj[j].endpoint + 1) % (uint32_t)b->endpoint_count;
        if (pipe_send(b, cl, pj, j, ep, &code))
            return false;
    }
    job *x = &b->jobs[j];
    x->latency_ns = now_ns() - pj[j].from_ns;
    x->code = code;
    x->submitted = true;
    return true;
}

/* Send unit k: its first order to endpoint k mod n, a conflicting second
 * to the next endpoint at the same moment (note 2). */
static void pipe_start_unit(bench *b, vl_client *cl, pipe_job *pj, uint64_t k, uint64_t due_ns)
{
    const unit *u = &b->units[k];
    uint32_t n = (uint32_t)b->endpoint_count;
    uint32_t js[2] = {u->first, u->second};
    uint64_t t = now_ns();
    for (int i = 0; i < 2 && js[i] != NO_JOB; i++) {
        vl_err code;
        pj[js[i]].from_ns = due_ns != 0 && due_ns < t ? due_ns : t;
        pj[js[i]].tries = 0;
        if (!pipe_send(b, cl, pj, js[i], (uint32_t)((k + (uint64_t)i) % n), &code))
            (void)pipe_settle(b, cl, pj, js[i], code);
    }
}

/* Whether unit k (the unit of job j) has ended: both orders of a pair. */
static bool unit_over(const bench *b, uint32_t j)
{
    const job *x = &b->jobs[j];
    return x->submitted && (x->partner == NO_JOB || b->jobs[x->partner].submitted);
}

/* One thread, one vl_client: up to C units in flight (note 9).  0 or 1. */
static int run_pipelined(bench *b)
{
    b->worker_count = 1;
    vl_client *cl = make_client(b, 0);
    pipe_job *pj = calloc(b->job_count + 1u, sizeof *pj);
    b->run_cache = vl_sigcache_new(RUN_CACHE_ENTRIES);
    if (cl == NULL || pj == NULL || b->run_cache == NULL) {
        say("cannot make the pipelined client");
        vl_client_destroy(&cl);
        free(pj);
        vl_sigcache_destroy(&b->run_cache);
        return 1;
    }
    vl_client_use_cache(cl, b->run_cache);
    vl_client_vouch_for_orders(cl, true);
    vl_status s;
    for (size_t i = 0; i < b->endpoint_count; i++)
        (void)vl_client_status(cl, i, &s); /* connect before the clock starts */
    cpu_sample(b, false);
    b->t0_ns = now_ns();
    b->deadline_ns = b->o.duration_s > 0 ? b->t0_ns + (uint64_t)(b->o.duration_s * 1e9) : 0;
    atomic_store(&g_running, 1); /* note 13 */
    uint64_t k = 0, units_in_flight = 0, due = 0;
    bool more = true;
    for (;;) {
        while (more && units_in_flight < b->o.clients) {
            due = b->o.rate > 0 ? b->t0_ns + (uint64_t)((double)k * 1e9 / b->o.rate) : 0;
            uint64_t t = now_ns();
            more = k < b->unit_count && !atomic_load(&g_stop) &&
                   (b->deadline_ns == 0 || (due > 0 ? due : t) < b->deadline_ns);
            if (!more || due > t)
                break;
            pipe_start_unit(b, cl, pj, k, due);
            k++;
            if (unit_over(b, b->units[k - 1].first))
                continue; /* both sends failed for good: never in flight */
            units_in_flight++;
        }
        if (units_in_flight == 0 && !more)
            break;
        uint32_t wait_ms = 1000;
        if (more && b->o.rate > 0 && units_in_flight < b->o.clients) {
            if (units_in_flight == 0) { /* open loop, nothing in flight: the next is due */
                sleep_until_ns(due);
                continue;
            }
            uint64_t t = now_ns();
            wait_ms = due > t ? (uint32_t)((due - t + 999999u) / 1000000u) : 0;
        }
        uint64_t tag;
        vl_client_result r;
        vl_err e = vl_client_next(cl, wait_ms, &tag, &r);
        if (e == VL_OK && tag < b->job_count) {
            uint32_t j = (uint32_t)tag;
            if (pipe_settle(b, cl, pj, j, r.code) && unit_over(b, j))
                units_in_flight--;
        } else if (e != VL_OK && e != VL_ERR_TIMEOUT) {
            /* VL_ERR_EMPTY here would be a miscount: nothing can end the wait */
            say("pipelined client: %s with %" PRIu64 " units in flight", vl_strerror(e),
                units_in_flight);
            break;
        }
        vl_client_result_free(&r);
    }
    atomic_store(&g_running, 0);
    uint64_t end = now_ns();
    cpu_sample(b, true);
    b->elapsed_s = seconds(end - b->t0_ns);
    atomic_store(&b->next_unit, k);
    b->ran_out = b->deadline_ns != 0 && k >= b->unit_count &&
                 (b->o.rate > 0 ? (double)b->unit_count < b->o.rate * b->o.duration_s
                                : end < b->deadline_ns);
    vl_client_destroy(&cl);
    free(pj);
    vl_sigcache_destroy(&b->run_cache);
    return units_in_flight == 0 ? 0 : 1;
}

/* ---- outcomes ------------------------------------------------------------------------------ */

typedef struct {
    uint64_t submitted, certified, refused_expected, error_count, not_submitted;
    uint64_t pairs_one, pairs_split;
    json_t *errors; /* {"CODE": n} */
    uint64_t *lat_ns; /* latencies of the certified orders, sorted */
    uint64_t lat_count;
} tally;

static void count_error(tally *t, const char *name)
{
    json_t *v = json_object_get(t->errors, name);
    json_object_set_new(t->errors, name, json_integer(json_integer_value(v) + 1));
    t->error_count++;
}

static void count_code(tally *t, vl_err code)
{
    char name[48];
    code_name(name, sizeof name, code);
    count_error(t, name);
}

static bool refusal_expected(vl_err e)
{
    return e == VL_ERR_CONFLICT || e == VL_ERR_ALREADY_CERTIFIED;
}

static void count_certified(tally *t, const job *j)
{
    t->certified++;
    t->lat_ns[t->lat_count++] = j->latency_ns;
}

/* A conflict pair (note 2); *split: both refused, the voucher frozen. */
static void count_pair(tally *t, const job *a, const job *c, bool *split)
{
    bool ok_a = a->code == VL_OK, ok_c = c->code == VL_OK;
    *split = false;
    if (ok_a && ok_c) {
        count_certified(t, a);
        count_certified(t, c);
        count_error(t, "DOUBLE_CERTIFIED"); /* two certificates for one slot */
        return;
    }
    if (ok_a || ok_c) {
        const job *loser = ok_a ? c : a;
        count_certified(t, ok_a ? a : c);
        if (refusal_expected(loser->code)) {
            t->refused_expected++;
            t->pairs_one++;
        } else {
            count_code(t, loser->code);
        }
        return;
    }
    *split = a->code == VL_ERR_CONFLICT && c->code == VL_ERR_CONFLICT;
    t->pairs_split += *split;
    for (int i = 0; i < 2; i++) {
        const job *j = i == 0 ? a : c;
        if (refusal_expected(j->code))
            t->refused_expected++;
        else
            count_code(t, j->code);
    }
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, c = *(const uint64_t *)y;
    return a < c ? -1 : a > c;
}

/* ---- verification on every node (note 6) ---------------------------------------------------- */

typedef struct {
    uint32_t job;
    uint8_t kind; /* check_kind */
} check;

typedef struct {
    bench *b;
    const check *checks;
    uint32_t check_count;
    size_t node;
    pthread_t thread;
    bool thread_started;
    uint8_t *state; /* per check: 0 pending, 1 present, 2 another certificate */
    uint64_t deadline_ns;
    vl_sigcache *cache;
    char last_error[VL_MAX_ERROR_MSG_LEN + 64];
} verifier;

enum { V_PENDING = 0, V_OK = 1, V_WRONG = 2 };

/* Issue mode, an ISSUE beyond the certificates GET_ACCOUNT lists: its
 * first voucher exists with the holder and value it created. */
static uint8_t check_voucher(vl_client *c, const job *j)
{
    vl_client_account a;
    vl_err e = vl_client_get_account(c, j->voucher, &a);
    uint8_t st = V_PENDING;
    if (e == VL_OK)
        st = a.account.kind == VL_ACCOUNT_VOUCHER && a.account.face_fen == VOUCHER_VALUE_FEN &&
                     memcmp(a.account.holder, j->holder, 32) == 0
                 ? V_OK
                 : V_WRONG;
    vl_client_account_free(&a);
    return st;
}

/* One check against the account state a node served (e: what
 * vl_client_get_account returned). */
static uint8_t evaluate(verifier *v, vl_client *c, const check *x, vl_err e,
                        const vl_client_account *a)
{
    const job *j = &v->b->jobs[x->job];
    if (e != VL_OK) {
        snprintf(v->last_error, sizeof v->last_error, "%s: %s %s", v->b->endpoints[v->node],
                 vl_err_slug(e), a->message);
        return V_PENDING; /* unknown account (lagging) or no answer: ask again */
    }
    if (x->kind == CHECK_NONE)
        return a->account.next_seq <= j->seq ? V_OK : V_WRONG;
    if (a->account.next_seq <= j->seq)
        return V_PENDING; /* lagging */
    if (j->seq < a->cert_count)
        return vl_client_verify_cert(v->b->g, v->cache, a->certs[j->seq], a->cert_lens[j->seq],
                                     j->hash, NULL, NULL) == VL_OK
                   ? V_OK
                   : V_WRONG;
    return v->b->o.mode == MODE_ISSUE ? check_voucher(c, j) : V_PENDING;
}

/* Rounds over the pending checks of one node until none is left or the
 * deadline passes.  Checks of one account are adjacent: asked once. */
static void *verifier_main(void *p)
{
    verifier *v = p;
    vl_client *c = node_client(v->b, v->node);
    bool pending = true;
    while (c != NULL && pending) {
        vl_client_account a;
        vl_err e = VL_ERR_UNAVAILABLE;
        const uint8_t *cur = NULL;
        memset(&a, 0, sizeof a);
        pending = false;
        for (uint32_t i = 0; i < v->check_count; i++) {
            if (v->state[i] != V_PENDING)
                continue;
            const uint8_t *acct = v->b->jobs[v->checks[i].job].account;
            if (cur == NULL || memcmp(cur, acct, 32) != 0) {
                /* A node that does not answer, or the deadline: the round
                 * ends (its checks stay pending), so a node that is down
                 * costs one client timeout a round, not one per account:
                 * an operator's walk waited 9 minutes for 3 samples. */
                if (e == VL_ERR_UNAVAILABLE && cur != NULL) {
                    pending = true;
                    break;
                }
                if (now_ns() > v->deadline_ns) {
                    pending = true;
                    break;
                }
                vl_client_account_free(&a);
                e = vl_client_get_account(c, acct, &a);
                cur = acct;
            }
            v->state[i] = evaluate(v, c, &v->checks[i], e, &a);
            pending = pending || v->state[i] == V_PENDING;
        }
        vl_client_account_free(&a);
        if (!pending || now_ns() > v->deadline_ns)
            break;
        sleep_ms(POLL_SLEEP_MS);
    }
    if (c == NULL)
        snprintf(v->last_error, sizeof v->last_error, "no client for %s",
                 v->b->endpoints[v->node]);
    vl_client_destroy(&c);
    return NULL;
}

static int cmp_check(const void *x, const void *y, void *ctx)
{
    const bench *b = ctx;
    const job *a = &b->jobs[((const check *)x)->job], *c = &b->jobs[((const check *)y)->job];
    int d = memcmp(a->account, c->account, 32);
    return d != 0 ? d : (a->seq < c->seq ? -1 : a->seq > c->seq);
}

typedef struct {
    uint64_t candidates; /* certificates (and frozen slots) that could be checked */
    uint32_t checked;
    bool sampled;
    uint64_t missing, wrong; /* (check, node) pairs */
    double waited_s;
    bool all_ok;
    char example[VL_MAX_ERROR_MSG_LEN + 64];
} verify_result;

/* Count every unit's outcome and list what to verify: every certified
 * order (CHECK_CERT) and every frozen slot (CHECK_NONE).  0 or 1. */
static int tally_run(bench *b, tally *t, check **checks, uint64_t *check_count)
{
    memset(t, 0, sizeof *t);
    t->errors = json_object();
    t->lat_ns = calloc(b->job_count + 1u, sizeof *t->lat_ns);
    *checks = calloc(b->job_count + 1u, sizeof **checks);
    *check_count = 0;
    if (t->errors == NULL || t->lat_ns == NULL || *checks == NULL) {
        say("out of memory");
        return 1;
    }
    for (uint64_t k = 0; k < b->unit_count; k++) {
        const unit *u = &b->units[k];
        const job *a = &b->jobs[u->first];
        bool split = false;
        if (!a->submitted) {
            t->not_submitted += u->second == NO_JOB ? 1u : 2u;
            continue;
        }
        if (u->second == NO_JOB) {
            t->submitted++;
            if (a->code == VL_OK)
                count_certified(t, a);
            else
                count_code(t, a->code);
        } else {
            t->submitted += 2;
            count_pair(t, a, &b->jobs[u->second], &split);
        }
        if (a->code == VL_OK)
            (*checks)[(*check_count)++] = (check){u->first, CHECK_CERT};
        if (u->second != NO_JOB && b->jobs[u->second].code == VL_OK)
            (*checks)[(*check_count)++] = (check){u->second, CHECK_CERT};
        if (split)
            (*checks)[(*check_count)++] = (check){u->first, CHECK_NONE};
    }
    qsort(t->lat_ns, t->lat_count, sizeof *t->lat_ns, cmp_u64);
    return 0;
}

/* Note 6.  Fills r; 0, or 1 when the verification could not run. */
static int verify_all(bench *b, check *all, uint64_t all_count, verify_result *r)
{
    memset(r, 0, sizeof *r);
    r->candidates = all_count;
    uint32_t n = all_count > b->o.verify_sample ? b->o.verify_sample : (uint32_t)all_count;
    r->sampled = n < all_count;
    for (uint32_t i = 0; r->sampled && i < n; i++) /* evenly spaced, in place */
        all[i] = all[(uint64_t)i * all_count / n];
    r->checked = n;
    qsort_r(all, n, sizeof *all, cmp_check, b);
    size_t nodes = b->endpoint_count;
    verifier *v = calloc(nodes, sizeof *v);
    uint8_t *state = calloc((size_t)n * nodes + 1u, 1);
    vl_sigcache *cache = vl_sigcache_new(1u << 16);
    if (v == NULL || state == NULL || cache == NULL) {
        say("out of memory for the verification");
        free(v);
        free(state);
        vl_sigcache_destroy(&cache);
        return 1;
    }
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < nodes; i++) {
        v[i] = (verifier){.b = b, .checks = all, .check_count = n, .node = i,
                          .state = state + i * n, .cache = cache,
                          .deadline_ns = t0 + (uint64_t)b->o.verify_wait_s * 1000000000u};
        if (pthread_create(&v[i].thread, NULL, verifier_main, &v[i]) != 0)
            verifier_main(&v[i]);
        else
            v[i].thread_started = true;
    }
    for (size_t i = 0; i < nodes; i++)
        if (v[i].thread_started)
            pthread_join(v[i].thread, NULL);
    r->waited_s = seconds(now_ns() - t0);
    for (size_t i = 0; i < (size_t)n * nodes; i++) {
        r->missing += state[i] == V_PENDING;
        r->wrong += state[i] == V_WRONG;
    }
    for (size_t i = 0; i < nodes && r->example[0] == '\0'; i++)
        if (v[i].last_error[0] != '\0' && r->missing > 0)
            snprintf(r->example, sizeof r->example, "%s", v[i].last_error);
    r->all_ok = r->missing == 0 && r->wrong == 0;
    free(v);
    free(state);
    vl_sigcache_destroy(&cache);
    return 0;
}

/* ---- the figures ---------------------------------------------------------------------------- */

/* Nearest-rank percentile p (0..100] of the sorted latencies, in ms. */
static double pct_ms(const tally *t, double p)
{
    if (t->lat_count == 0)
        return 0.0;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)t->lat_count);
    if (rank < 1)
        rank = 1;
    return (double)t->lat_ns[rank - 1] / 1e6;
}

static double mean_ms(const tally *t)
{
    double sum = 0.0;
    for (uint64_t i = 0; i < t->lat_count; i++)
        sum += (double)t->lat_ns[i];
    return t->lat_count > 0 ? sum / (double)t->lat_count / 1e6 : 0.0;
}

static double throughput(const bench *b, const tally *t)
{
    return b->elapsed_s > 0 ? (double)t->certified / b->elapsed_s : 0.0;
}

/* A number rounded to 3 decimals for JSON. */
static json_t *jreal(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

static json_t *params_json(const bench *b)
{
    const bench_opts *o = &b->o;
    json_t *p = json_object(), *eps = json_array();
    for (size_t i = 0; i < b->endpoint_count; i++)
        json_array_append_new(eps, json_string(b->endpoints[i]));
    json_object_set_new(p, "mode", json_string(mode_names[o->mode]));
    json_object_set_new(p, "clients", json_integer(o->clients));
    json_object_set_new(p, "client_threads", json_integer(b->worker_count));
    json_object_set_new(p, "pipelined", json_boolean(o->pipelined));
    json_object_set_new(p, "count", json_integer((json_int_t)o->count));
    json_object_set_new(p, "rate", o->rate > 0 ? jreal(o->rate) : json_null());
    json_object_set_new(p, "duration_s", o->duration_s > 0 ? jreal(o->duration_s) : json_null());
    json_object_set_new(p, "loop", json_string(o->rate > 0 ? "open" : "closed"));
    json_object_set_new(p, "conflict_share",
                        o->mode == MODE_MIXED ? jreal(o->conflict_share) : json_null());
    json_object_set_new(p, "batch", o->mode == MODE_ISSUE ? json_integer(o->batch) : json_null());
    json_object_set_new(p, "timeout_ms", json_integer(o->timeout_ms));
    json_object_set_new(p, "verify_sample", json_integer(o->verify_sample));
    json_object_set_new(p, "verify_wait_s", json_integer(o->verify_wait_s));
    json_object_set_new(p, "network", json_string(b->g->network));
    json_object_set_new(p, "voters", json_integer(b->g->voter_count));
    json_object_set_new(p, "quorum", json_integer(b->g->quorum));
    json_object_set_new(p, "issuer_keys", json_integer((json_int_t)b->issuer_count));
    json_object_set_new(p, "nodes", eps);
    return p;
}

/* {"nodes": {id: figure or null}, "voter_mean": figure or null}. */
static json_t *per_node_json(const bench *b, uint64_t certified,
                             double (*per_node)(const bench *, size_t, uint64_t))
{
    json_t *o = json_object(), *nodes = json_object();
    for (size_t i = 0; i < b->cpu_node_count; i++) {
        double x = per_node(b, i, certified);
        json_object_set_new(nodes, b->cpu_node_id[i], x >= 0 ? jreal(x) : json_null());
    }
    double mean = voter_mean(b, certified, per_node);
    json_object_set_new(o, "nodes", nodes);
    json_object_set_new(o, "voter_mean", mean >= 0 ? jreal(mean) : json_null());
    return o;
}

static json_t *result_json(const bench *b, const tally *t, const verify_result *v)
{
    json_t *r = json_object(), *lat = json_object(), *orders = json_object();
    json_t *ver = json_object(), *setup = json_object();
    json_object_set_new(r, "parameters", params_json(b));
    json_object_set_new(r, "mode", json_string(mode_names[b->o.mode]));
    json_object_set_new(orders, "submitted", json_integer((json_int_t)t->submitted));
    json_object_set_new(orders, "certified", json_integer((json_int_t)t->certified));
    json_object_set_new(orders, "refused_as_expected",
                        json_integer((json_int_t)t->refused_expected));
    json_object_set_new(orders, "errors", json_integer((json_int_t)t->error_count));
    json_object_set_new(orders, "not_submitted", json_integer((json_int_t)t->not_submitted));
    json_object_set_new(r, "orders", orders);
    if (b->o.mode == MODE_MIXED) {
        json_t *pairs = json_object();
        json_object_set_new(pairs, "pairs", json_integer(b->pairs));
        json_object_set_new(pairs, "one_certified", json_integer((json_int_t)t->pairs_one));
        json_object_set_new(pairs, "split_frozen", json_integer((json_int_t)t->pairs_split));
        json_object_set_new(r, "conflict_pairs", pairs);
    }
    json_object_set_new(r, "elapsed_s", jreal(b->elapsed_s));
    json_object_set_new(r, "throughput_per_s", jreal(throughput(b, t)));
    json_object_set_new(lat, "p50", jreal(pct_ms(t, 50)));
    json_object_set_new(lat, "p90", jreal(pct_ms(t, 90)));
    json_object_set_new(lat, "p99", jreal(pct_ms(t, 99)));
    json_object_set_new(lat, "max", jreal(pct_ms(t, 100)));
    json_object_set_new(lat, "mean", jreal(mean_ms(t)));
    json_object_set_new(lat, "count", json_integer((json_int_t)t->lat_count));
    json_object_set_new(r, "latency_ms", lat);
    json_object_set_new(r, "errors", json_incref(t->errors));
    json_object_set_new(r, "ran_out_before_duration", json_boolean(b->ran_out));
    json_object_set_new(r, "stopped_by_signal", json_boolean(atomic_load(&g_stop)));
    json_object_set_new(r, "verified_on_all_nodes", json_boolean(v->all_ok));
    json_object_set_new(ver, "certificates", json_integer((json_int_t)v->candidates));
    json_object_set_new(ver, "checked", json_integer(v->checked));
    json_object_set_new(ver, "sampled", json_boolean(v->sampled));
    json_object_set_new(ver, "nodes", json_integer((json_int_t)b->endpoint_count));
    json_object_set_new(ver, "missing", json_integer((json_int_t)v->missing));
    json_object_set_new(ver, "wrong", json_integer((json_int_t)v->wrong));
    json_object_set_new(ver, "waited_s", jreal(v->waited_s));
    if (v->example[0] != '\0')
        json_object_set_new(ver, "last_error", json_string(v->example));
    json_object_set_new(r, "verification", ver);
    json_object_set_new(setup, "vouchers_issued", json_integer((json_int_t)b->vouchers_issued));
    json_object_set_new(setup, "issue_orders", json_integer(b->setup_issues));
    json_object_set_new(setup, "issue_s", jreal(b->setup_issue_s));
    json_object_set_new(setup, "presign_s", jreal(b->presign_s));
    json_object_set_new(r, "setup", setup);
    if (b->cpu_node_count > 0) { /* note 8 */
        json_object_set_new(r, "cpu_us_per_order", per_node_json(b, t->certified, cpu_per_order));
        json_object_set_new(r, "disk_bytes_per_order", /* note 10 */
                            per_node_json(b, t->certified, disk_per_order));
    }
    double self = cpu_self_per_order(b, t->certified);
    json_object_set_new(r, "client_cpu_us_per_order", self >= 0 ? jreal(self) : json_null());
    double share[5];
    if (machine_shares(b, share)) { /* note 11 */
        json_t *m = json_object();
        for (int i = 0; i < 5; i++)
            json_object_set_new(m, share_names[i], jreal(share[i]));
        json_object_set_new(r, "machine_time_share", m);
    } else {
        json_object_set_new(r, "machine_time_share", json_null());
    }
    double dpo, dmb;
    if (machine_disk(b, t->certified, &dpo, &dmb)) { /* note 12 */
        json_t *m = json_object();
        json_object_set_new(m, "write_bytes_per_order", jreal(dpo));
        json_object_set_new(m, "write_mb_per_s", jreal(dmb));
        json_object_set_new(r, "machine_disk", m);
    } else {
        json_object_set_new(r, "machine_disk", json_null());
    }
    return r;
}

/* head, then " id figure" for each node and "; voter mean figure" (n/a
 * without one), with `decimals` decimals; no newline. */
static void print_per_node(const bench *b, uint64_t certified, const char *head,
                           double (*per_node)(const bench *, size_t, uint64_t), int decimals)
{
    printf("%s", head);
    for (size_t i = 0; i < b->cpu_node_count; i++) {
        double x = per_node(b, i, certified);
        if (x >= 0)
            printf(" %s %.*f", b->cpu_node_id[i], decimals, x);
        else
            printf(" %s n/a", b->cpu_node_id[i]);
    }
    double mean = voter_mean(b, certified, per_node);
    if (mean >= 0)
        printf("; voter mean %.*f", decimals, mean);
    else
        printf("; voter mean n/a");
}

static void print_text(const bench *b, const tally *t, const verify_result *v)
{
    const bench_opts *o = &b->o;
    if (o->pipelined)
        printf("voucher-bench: mode %s, %u clients pipelined on 1 thread, %s loop",
               mode_names[o->mode], o->clients, o->rate > 0 ? "open" : "closed");
    else
        printf("voucher-bench: mode %s, %u client thread%s, %s loop", mode_names[o->mode],
               b->worker_count, b->worker_count == 1 ? "" : "s",
               o->rate > 0 ? "open" : "closed");
    if (o->rate > 0)
        printf(" at %.1f orders/s", o->rate);
    printf(", %zu nodes, network \"%s\" (%u voters, quorum %u)\n", b->endpoint_count,
           b->g->network, b->g->voter_count, b->g->quorum);
    if (b->vouchers_issued > 0)
        printf("setup:   issued %" PRIu64 " vouchers in %u ISSUE orders (%.2f s, untimed)\n",
               b->vouchers_issued, b->setup_issues, b->setup_issue_s);
    printf("setup:   pre-signed %u orders (%.2f s, untimed)\n", b->job_count, b->presign_s);
    printf("orders:  %" PRIu64 " submitted, %" PRIu64 " certified, %" PRIu64
           " refused as expected, %" PRIu64 " errors, %" PRIu64 " not submitted\n",
           t->submitted, t->certified, t->refused_expected, t->error_count, t->not_submitted);
    if (o->mode == MODE_MIXED)
        printf("pairs:   %u conflict pairs: %" PRIu64 " with one certified, %" PRIu64
               " split (both refused, voucher frozen)\n",
               b->pairs, t->pairs_one, t->pairs_split);
    printf("time:    %.3f s; throughput %.1f certified/s%s\n", b->elapsed_s, throughput(b, t),
           atomic_load(&g_stop) ? " (stopped early by a signal)"
           : b->ran_out         ? " (the pre-signed orders ran out before --duration)"
                                : "");
    printf("latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms "
           "(%" PRIu64 " certified orders, %s)\n",
           pct_ms(t, 50), pct_ms(t, 90), pct_ms(t, 99), pct_ms(t, 100), mean_ms(t),
           t->lat_count, o->rate > 0 ? "from the due time" : "from the submit");
    printf("errors: ");
    const char *key;
    json_t *val;
    if (json_object_size(t->errors) == 0)
        printf(" none");
    json_object_foreach(t->errors, key, val)
        printf(" %s %" JSON_INTEGER_FORMAT, key, json_integer_value(val));
    printf("\nverify:  %s: %u of %" PRIu64 " certificates%s checked on %zu nodes "
           "(%" PRIu64 " missing, %" PRIu64 " different; %.1f s)%s%s\n",
           v->all_ok ? "every one on every node" : "NOT on every node", v->checked,
           v->candidates, v->sampled ? " (a sample)" : "", b->endpoint_count, v->missing,
           v->wrong, v->waited_s, v->example[0] != '\0' ? "; last error: " : "", v->example);
    if (b->cpu_node_count > 0) { /* note 8 */
        print_per_node(b, t->certified, "cpu:     us per certified order:", cpu_per_order, 1);
        printf("; this client %.1f\n", cpu_self_per_order(b, t->certified));
        print_per_node(b, t->certified, "disk:    bytes written per certified order:",
                       disk_per_order, 0); /* note 10 */
        printf("\n");
    }
    double share[5];
    if (machine_shares(b, share)) { /* note 11 */
        printf("machine: time of all cores over the run:");
        for (int i = 0; i < 5; i++)
            printf("%s %s %.1f%%", i == 0 ? "" : ",", share_names[i], 100.0 * share[i]);
        printf("\n");
    }
    double dpo, dmb;
    if (machine_disk(b, t->certified, &dpo, &dmb)) /* note 12 */
        printf("machine: disks written %.1f MB/s, %.0f bytes per certified order (every "
               "process, the journal too)\n",
               dmb, dpo);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void bench_free(bench *b)
{
    for (uint32_t i = 0; b->jobs != NULL && i < b->job_count; i++)
        free(b->jobs[i].raw);
    free(b->jobs);
    free(b->units);
    free(b->workers);
    for (size_t i = 0; i < b->issuer_count; i++)
        vl_keyfile_wipe(&b->issuers[i]);
    vl_keyfile_wipe(&b->provider);
    for (size_t i = 0; i < b->holder_count; i++)
        vl_keypair_wipe(&b->holders[i]);
    free(b->g);
    json_decref(b->devnet);
}

/* Setup and pre-signing (untimed), then the run.  0 or 1. */
static int prepare_and_run(bench *b)
{
    vl_client *cl = make_client(b, 0);
    if (cl == NULL)
        return 1;
    int st = b->o.mode == MODE_ISSUE ? plan_issue(b, cl) : plan_redeem(b, cl);
    vl_client_destroy(&cl);
    if (st != 0)
        return 1;
    if (!b->o.json)
        fprintf(stderr, PROG ": %u orders pre-signed; running\n", b->job_count);
    return b->o.pipelined ? run_pipelined(b) : run(b);
}

/* Note 13: SIGINT and SIGTERM, taken here and nowhere else. */
static void *signal_loop(void *arg)
{
    const sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0)
            continue;
        if (!atomic_load(&g_running) || atomic_exchange(&g_stop, 1)) {
            /* end as the signal would, so that a shell running us sees it */
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            signal(sig, SIG_DFL);
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
            raise(sig);
            _exit(128 + sig);
        }
        static const char msg[] = PROG ": stopping: no new orders; the ones in flight finish, "
                                  "then the figures (a second signal ends it at once)\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static bench b; /* large (keys, endpoints): static */
    int st = parse_args(&b.o, argc, argv);
    if (st != 0)
        return st == 1 ? 0 : 2;
    static sigset_t stop_set; /* note 13: blocked here, so in every thread made later */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_t sig_thread;
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0 ||
        pthread_create(&sig_thread, NULL, signal_loop, &stop_set) != 0) {
        say("cannot set up the signal thread");
        return 1;
    }
    pthread_detach(sig_thread);
    if (load_network(&b) != 0 || prepare_and_run(&b) != 0) {
        bench_free(&b);
        return 1;
    }
    tally t;
    check *checks = NULL;
    uint64_t check_count = 0;
    verify_result v;
    memset(&v, 0, sizeof v);
    st = tally_run(&b, &t, &checks, &check_count);
    if (st == 0)
        st = verify_all(&b, checks, check_count, &v);
    if (st == 0 && b.o.json) {
        json_t *r = result_json(&b, &t, &v);
        char *text = r != NULL ? json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        if (text == NULL) {
            say("out of memory");
            st = 1;
        } else {
            printf("%s\n", text);
        }
        free(text);
        json_decref(r);
    } else if (st == 0) {
        print_text(&b, &t, &v);
    }
    if (fflush(stdout) != 0)
        st = 1;
    /* exit 1 unless every order submitted ended as expected and every node
     * has every certificate checked (orders left when --duration ran out
     * are not a failure) */
    if (st == 0 && (t.error_count > 0 || !v.all_ok))
        st = 1;
    json_decref(t.errors);
    free(t.lat_ns);
    free(checks);
    bench_free(&b);
    return st;
}
