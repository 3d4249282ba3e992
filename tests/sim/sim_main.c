/* sim_main.c - vl_sim: the command line (docs/simulator.md).
 *
 *   vl_sim [--seed S] [--seeds K] [--voters N] [--observers M] [--faulty F]
 *          [--steps T] [--jobs J] [--stop-on-fail] [--no-fork]
 *          [--quiet] [--verbose] [--keep]
 *
 * Runs seeds S..S+K-1.  Each run is a forked child (unless --no-fork), so a
 * core that aborts or a sanitizer report fails that seed, with its replay
 * command, and the sweep goes on; --jobs runs that many children at once.
 * Exit 0 when every run passed, 1 when any failed, 2 on a usage error.
 * The wall clock here only measures the sweep for the summary; no run
 * reads it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define MAX_JOBS 64

volatile sig_atomic_t sim_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    sim_interrupted = 1;
}

typedef struct {
    sim_params p;
    uint64_t seeds;
    uint32_t jobs;
    bool stop_on_fail, no_fork;
    const char *argv0;
} options;

typedef struct {
    uint64_t runs, passed, failed, steps, messages, certs, orders;
    uint64_t first_fail_run; /* 1-based, 0 none */
} totals;

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--seed S] [--seeds K] [--voters N] [--observers M] [--faulty F]\n"
            "       [--steps T] [--jobs J] [--stop-on-fail] [--no-fork] [--quiet] [--verbose]\n"
            "       [--keep]\n"
            "  --seed S       first seed (default 1)       --seeds K   runs S..S+K-1 (default 1)\n"
            "  --voters N     voters (default 4)           --observers M (default 0)\n"
            "  --faulty F     Byzantine voters, 0..floor((N-1)/3) (default: that maximum)\n"
            "  --steps T      faulty steps before healing (default 400)\n"
            "  --jobs J       runs at once (default 1)     --stop-on-fail  no new run after a "
            "failure\n"
            "  --no-fork      run in this process (for a debugger)\n"
            "  --quiet        only failures and the summary; --verbose traces every message\n"
            "  --keep         keep the LMDB directories (printed)\n"
            "exit: 0 all runs passed, 1 a run failed, 2 usage error\n",
            argv0);
}

static bool num(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (s == NULL || *s == '\0' || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int parse_value(options *o, const char *opt, const char *val, bool *has_faulty)
{
    uint64_t v;
    if (strcmp(opt, "--seed") == 0 && num(val, 0, UINT64_MAX - 1, &v))
        o->p.seed = v;
    else if (strcmp(opt, "--seeds") == 0 && num(val, 1, 100000000, &v))
        o->seeds = v;
    else if (strcmp(opt, "--voters") == 0 && num(val, 1, SIM_MAX_NODES, &v))
        o->p.voters = (uint32_t)v;
    else if (strcmp(opt, "--observers") == 0 && num(val, 0, SIM_MAX_NODES - 1, &v))
        o->p.observers = (uint32_t)v;
    else if (strcmp(opt, "--faulty") == 0 && num(val, 0, SIM_MAX_NODES, &v)) {
        o->p.faulty = (uint32_t)v;
        *has_faulty = true;
    } else if (strcmp(opt, "--steps") == 0 && num(val, 1, 1000000, &v))
        o->p.steps = (uint32_t)v;
    else if (strcmp(opt, "--jobs") == 0 && num(val, 1, MAX_JOBS, &v))
        o->jobs = (uint32_t)v;
    else
        return -1;
    return 0;
}

static int parse(options *o, int argc, char **argv)
{
    bool has_faulty = false;
    memset(o, 0, sizeof *o);
    o->argv0 = argv[0];
    o->p.seed = 1;
    o->seeds = 1;
    o->p.voters = 4;
    o->p.steps = 400;
    o->jobs = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quiet") == 0) o->p.quiet = true;
        else if (strcmp(a, "--verbose") == 0) o->p.verbose = true;
        else if (strcmp(a, "--keep") == 0) o->p.keep = true;
        else if (strcmp(a, "--stop-on-fail") == 0) o->stop_on_fail = true;
        else if (strcmp(a, "--no-fork") == 0) o->no_fork = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(argv[0]); exit(0); }
        else if (i + 1 < argc && parse_value(o, a, argv[i + 1], &has_faulty) == 0) i++;
        else {
            fprintf(stderr, "%s: bad option or value: %s%s%s\n", argv[0], a,
                    i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
            return -1;
        }
    }
    uint32_t max_faulty = (o->p.voters - 1) / 3;
    if (!has_faulty)
        o->p.faulty = max_faulty;
    if (o->p.faulty > max_faulty || o->p.voters + o->p.observers > SIM_MAX_NODES ||
        o->seeds > UINT64_MAX - o->p.seed) {
        fprintf(stderr, "%s: need --faulty <= floor((voters-1)/3) = %u and voters + observers "
                "<= %u\n", argv[0], max_faulty, SIM_MAX_NODES);
        return -1;
    }
    return 0;
}

typedef struct {
    pid_t pid;
    int fd;
    uint64_t seed;
} child;

static void count(const options *o, totals *t, const sim_result *r, bool ok)
{
    t->runs++;
    t->steps += r->stats.steps;
    t->messages += r->stats.messages;
    t->certs += r->stats.certs;
    t->orders += r->stats.orders;
    if (ok) {
        t->passed++;
        return;
    }
    t->failed++;
    uint64_t run = r->seed - o->p.seed + 1;
    if (t->first_fail_run == 0 || run < t->first_fail_run)
        t->first_fail_run = run;
}

static bool spawn(const options *o, uint64_t seed, child *c)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        close(fds[0]);
        sim_params p = o->p;
        p.seed = seed;
        sim_result r;
        sim_run(&p, &r, o->argv0);
        ssize_t wr = write(fds[1], &r, sizeof r);
        close(fds[1]);
        exit(wr == (ssize_t)sizeof r ? 0 : 3);
    }
    close(fds[1]);
    c->pid = pid;
    c->fd = fds[0];
    c->seed = seed;
    return true;
}

/* Collect a finished child: its result, or the way it died. */
static void reap(const options *o, child *c, int status, totals *t)
{
    sim_result r;
    size_t got = 0;
    for (int tries = 0; tries < 64 && got < sizeof r; tries++) {
        ssize_t n = read(c->fd, (uint8_t *)&r + got, sizeof r - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(c->fd);
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (got == sizeof r && clean) {
        count(o, t, &r, r.failed == 0);
        return;
    }
    if (got != sizeof r) {
        memset(&r, 0, sizeof r);
        r.seed = c->seed;
    }
    printf("FAIL seed %llu: the run %s %d (an abort or a sanitizer report above)\n",
           (unsigned long long)c->seed, WIFSIGNALED(status) ? "died of signal" : "exited with",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    printf("  replay: %s --seed %llu --voters %u --observers %u --faulty %u --steps %u\n",
           o->argv0, (unsigned long long)c->seed, o->p.voters, o->p.observers, o->p.faulty,
           o->p.steps);
    fflush(stdout);
    count(o, t, &r, false);
}

static void wait_one(const options *o, child *kids, uint32_t *n, totals *t)
{
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
        fprintf(stderr, "%s: waitpid: %s\n", o->argv0, strerror(errno));
        exit(1);
    }
    for (uint32_t k = 0; k < *n; k++) {
        if (kids[k].pid != pid)
            continue;
        reap(o, &kids[k], status, t);
        kids[k] = kids[--*n];
        return;
    }
}

static void sweep(const options *o, totals *t)
{
    child kids[MAX_JOBS];
    uint32_t running = 0;
    for (uint64_t k = 0; k < o->seeds; k++) {
        if (!o->no_fork && running == o->jobs)
            wait_one(o, kids, &running, t);
        if ((o->stop_on_fail && t->failed > 0) || sim_interrupted)
            break;
        uint64_t seed = o->p.seed + k;
        if (o->no_fork) {
            sim_params p = o->p;
            sim_result r;
            p.seed = seed;
            sim_run(&p, &r, o->argv0);
            count(o, t, &r, r.failed == 0);
            continue;
        }
        if (!spawn(o, seed, &kids[running])) {
            fprintf(stderr, "%s: fork: %s\n", o->argv0, strerror(errno));
            exit(1);
        }
        running++;
    }
    for (uint32_t k = 0; k < MAX_JOBS && running > 0; k++) {
        for (uint32_t j = 0; sim_interrupted && j < running; j++)
            kill(kids[j].pid, SIGTERM); /* each stops at its next step and cleans up */
        wait_one(o, kids, &running, t);
    }
}

int main(int argc, char **argv)
{
    options o;
    if (parse(&o, argc, argv) != 0) {
        usage(argv[0]);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    totals t;
    memset(&t, 0, sizeof t);
    sweep(&o, &t);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (t.failed > 0)
        printf("first failure at run %llu of %llu (seed %llu)\n",
               (unsigned long long)t.first_fail_run, (unsigned long long)o.seeds,
               (unsigned long long)(o.p.seed + t.first_fail_run - 1));
    printf("%llu passed, %llu failed\n", (unsigned long long)t.passed,
           (unsigned long long)t.failed);
    printf("totals: runs %llu, steps %llu, messages %llu, certificates %llu, orders %llu, "
           "time %.1f s (%u voters, %u observers, %u faulty, %u steps)\n",
           (unsigned long long)t.runs, (unsigned long long)t.steps,
           (unsigned long long)t.messages, (unsigned long long)t.certs,
           (unsigned long long)t.orders, secs, o.p.voters, o.p.observers, o.p.faulty,
           o.p.steps);
    return t.failed > 0 ? 1 : 0;
}
