/* schnorr-rate.c - how fast this machine checks BIP-340 Schnorr signatures
 * through the project's own wrapper (vl_verify of wire/vl_crypto.h), and how
 * fast it makes a 4 KiB write durable with fdatasync, and random 4 KiB pages
 * in batches as our nodes write them.  A benchmark program:
 * it prints figures and asserts no timing (docs/reconcile-bench.md).
 *
 * Design notes
 *  1. A fixed amount of work, not a fixed time: each thread verifies
 *     --count signatures (default 20000), so two runs do the same work and
 *     only the clock differs.  The signatures are made before the clock
 *     starts: SIGS distinct (key, message, signature) triples, cycled
 *     through, every one of which must verify (a failed verification is a
 *     broken library or build, and the program says so and exits 1 rather
 *     than print a rate of doing nothing).
 *  2. One core: one thread.  All cores: one thread per online CPU
 *     (sysconf(_SC_NPROCESSORS_ONLN), what nproc prints), started together
 *     behind a barrier; the rate is all verifications / wall time from the
 *     barrier to the last thread's end.  On a shared machine the all-cores
 *     figure is what the other processes leave; the CPU time a verification
 *     takes (CLOCK_PROCESS_CPUTIME_ID over the one-thread run) is not.
 *  3. fsync rate: --fsyncs N (default 200) times write 4 KiB at offset 0 of
 *     one file in a fresh temporary directory (--dir, default $TMPDIR or
 *     /tmp) and fdatasync it; the rate is N / wall time.  The directory is
 *     removed afterwards.
 *  4. Wake-up round trip: --wakeups N (default 20000) times one thread
 *     wakes another through an eventfd and waits on a second eventfd for
 *     the answer, as a node's event loop and ZeroMQ's I/O thread hand each
 *     message over.  Measured twice: the two threads pinned to one core,
 *     and to two different cores (skipped on one CPU); wall and process
 *     CPU time per round trip.  On a VM that halts idle virtual CPUs the
 *     cross-core figure can be ten times the same-core one
 *     (docs/performance.md, "Tried and not kept": pinning).
 *  5. Random page writes made durable: --pages N (default 30000) 4 KiB
 *     pages, written by --page-writers W threads (default 4, as the
 *     devnet's four voters), each into its own 32 MiB file that was written
 *     in full and flushed first (untimed: the pages are overwrites, as most
 *     of an LMDB commit's are), at offsets from a per-thread xorshift, with
 *     an fdatasync after every PAGES_PER_FLUSH (60) pages, about what one
 *     commit of a voter of four writes at 64 clients (docs/performance.md,
 *     "How far").  The rate is all pages / wall time: what this disk makes
 *     durable when it is written the way our nodes write it, against which
 *     the bytes the machine's disks took during a run (voucher-bench's and
 *     etcd-bench's machine_disk) read as a share.  The files go in a fresh
 *     temporary directory under --dir and are removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vl_crypto.h"
#include "vl_time.h"

#define SIGS 256                   /* distinct signatures cycled through */
#define MAX_COUNT 100000000u       /* --count limit (per thread) */
#define MAX_THREADS 1024           /* more CPUs than this: capped */
#define MAX_FSYNCS 1000000u        /* --fsyncs limit */
#define FSYNC_BLOCK 4096
#define MAX_WAKEUPS 10000000u      /* --wakeups limit */
#define MAX_PAGES 100000000u        /* --pages limit */
#define MAX_PAGE_WRITERS 64u        /* --page-writers limit */
#define PAGE_FILE_BYTES (32u << 20) /* note 5: each writer's file */
#define PAGES_PER_FLUSH 60u         /* note 5 */

static uint8_t g_msg[SIGS][32], g_pub[SIGS][32], g_sig[SIGS][64];

typedef struct {
    pthread_barrier_t *start;
    uint32_t count;
    uint32_t failed;
} worker;

static int prepare(void)
{
    for (unsigned i = 0; i < SIGS; i++) {
        vl_keypair kp;
        if (vl_keypair_generate(&kp) != VL_OK || vl_random(g_msg[i], 32) != VL_OK) {
            fprintf(stderr, "schnorr-rate: no OS randomness\n");
            return -1;
        }
        vl_sign(g_sig[i], &kp, g_msg[i], NULL);
        memcpy(g_pub[i], kp.pubkey, 32);
        vl_keypair_wipe(&kp);
    }
    return 0;
}

static void *verify_loop(void *arg)
{
    worker *w = arg;
    if (w->start != NULL)
        pthread_barrier_wait(w->start);
    for (uint32_t i = 0; i < w->count; i++)
        if (!vl_verify(g_sig[i % SIGS], g_msg[i % SIGS], g_pub[i % SIGS]))
            w->failed++;
    return NULL;
}

/* Verifications per second with `threads` threads of `count` each; -1 on a
 * failure (message printed).  *cpu_us gets the CPU microseconds a
 * verification took (what other processes on the machine do not change). */
static double run_threads(unsigned threads, uint32_t count, double *cpu_us)
{
    pthread_t tid[MAX_THREADS];
    worker ws[MAX_THREADS];
    pthread_barrier_t bar;
    if (pthread_barrier_init(&bar, NULL, threads + 1u) != 0) {
        fprintf(stderr, "schnorr-rate: pthread_barrier_init failed\n");
        return -1;
    }
    unsigned started = 0;
    for (; started < threads; started++) {
        ws[started] = (worker){.start = &bar, .count = count};
        if (pthread_create(&tid[started], NULL, verify_loop, &ws[started]) != 0)
            break;
    }
    if (started < threads) {
        /* The barrier cannot be passed now: report and exit (threads
         * blocked on it die with the process). */
        fprintf(stderr, "schnorr-rate: could not start thread %u of %u\n", started + 1,
                threads);
        exit(1);
    }
    pthread_barrier_wait(&bar);
    double t0 = vl_seconds(CLOCK_MONOTONIC), c0 = vl_seconds(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t failed = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        failed += ws[i].failed;
    }
    double dt = vl_seconds(CLOCK_MONOTONIC) - t0;
    *cpu_us = (vl_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e6 / ((double)threads * (double)count);
    pthread_barrier_destroy(&bar);
    if (failed != 0) {
        fprintf(stderr, "schnorr-rate: %" PRIu64 " valid signatures did not verify\n", failed);
        return -1;
    }
    return dt > 0 ? (double)threads * (double)count / dt : 0.0;
}

/* A fresh temporary directory under dir, its name in tmpl (4096 bytes,
 * room for a file name after it); false with a message printed. */
static bool temp_dir(const char *dir, char tmpl[4096])
{
    int w = snprintf(tmpl, 4096, "%s/schnorr-rate.XXXXXX", dir);
    if (w < 0 || w >= 4096 - 16) {
        fprintf(stderr, "schnorr-rate: --dir is too long\n");
        return false;
    }
    if (mkdtemp(tmpl) == NULL) {
        fprintf(stderr, "schnorr-rate: mkdtemp %s: %s\n", tmpl, strerror(errno));
        return false;
    }
    return true;
}

/* fdatasyncs per second; -1 on an I/O error (message printed). */
static double fsync_rate(const char *dir, uint32_t n)
{
    char tmpl[4096];
    if (!temp_dir(dir, tmpl))
        return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/f", tmpl);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    double rate = -1;
    if (fd < 0) {
        fprintf(stderr, "schnorr-rate: open %s: %s\n", path, strerror(errno));
    } else {
        static uint8_t block[FSYNC_BLOCK];
        double t0 = vl_seconds(CLOCK_MONOTONIC);
        uint32_t i = 0;
        for (; i < n; i++) {
            block[0] = (uint8_t)i;
            if (pwrite(fd, block, sizeof block, 0) != (ssize_t)sizeof block ||
                fdatasync(fd) != 0) {
                fprintf(stderr, "schnorr-rate: write/fdatasync %s: %s\n", path,
                        strerror(errno));
                break;
            }
        }
        double dt = vl_seconds(CLOCK_MONOTONIC) - t0;
        if (i == n)
            rate = dt > 0 ? (double)n / dt : 0.0;
        close(fd);
        unlink(path);
    }
    rmdir(tmpl);
    return rate;
}

/* ---- random page writes (note 5) ----------------------------------------------------- */

typedef struct {
    pthread_barrier_t *start;
    int fd;
    uint32_t pages;
    uint64_t rng;
    int err; /* errno of a failed write or flush, 0 */
} page_writer;

static void *page_loop(void *arg)
{
    page_writer *w = arg;
    static const uint32_t slots = PAGE_FILE_BYTES / FSYNC_BLOCK;
    uint8_t block[FSYNC_BLOCK];
    memset(block, 0xa5, sizeof block);
    pthread_barrier_wait(w->start);
    for (uint32_t i = 0; i < w->pages && w->err == 0; i++) {
        w->rng ^= w->rng << 13;
        w->rng ^= w->rng >> 7;
        w->rng ^= w->rng << 17;
        memcpy(block, &i, sizeof i);
        off_t at = (off_t)(w->rng % slots) * FSYNC_BLOCK;
        if (pwrite(w->fd, block, sizeof block, at) != (ssize_t)sizeof block)
            w->err = errno != 0 ? errno : EIO;
        else if (((i + 1) % PAGES_PER_FLUSH == 0 || i + 1 == w->pages) && fdatasync(w->fd) != 0)
            w->err = errno;
    }
    return NULL;
}

/* Write and flush the whole of fd's file (untimed).  0 or errno. */
static int page_file_fill(int fd)
{
    static uint8_t chunk[1u << 20];
    for (uint32_t off = 0; off < PAGE_FILE_BYTES; off += sizeof chunk)
        if (pwrite(fd, chunk, sizeof chunk, off) != (ssize_t)sizeof chunk)
            return errno != 0 ? errno : EIO;
    return fdatasync(fd) != 0 ? errno : 0;
}

/* Pages per second made durable by `writers` threads, `pages` in all (note
 * 5); -1 on an error (message printed). */
static double page_rate(const char *dir, uint32_t pages, uint32_t writers)
{
    char tmpl[4096], path[4200];
    if (!temp_dir(dir, tmpl))
        return -1;
    page_writer pw[MAX_PAGE_WRITERS];
    pthread_t tid[MAX_PAGE_WRITERS];
    pthread_barrier_t bar;
    uint32_t opened = 0, started = 0;
    int err = 0;
    for (; opened < writers && err == 0; opened++) {
        snprintf(path, sizeof path, "%s/p%u", tmpl, opened);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
            err = errno;
            break;
        }
        pw[opened] = (page_writer){.fd = fd, .pages = pages / writers + (opened < pages % writers),
                                   .rng = 0x9e3779b97f4a7c15ull * (opened + 1u)};
        err = page_file_fill(fd);
    }
    double rate = -1;
    if (err == 0 && pthread_barrier_init(&bar, NULL, writers + 1u) != 0)
        err = EAGAIN;
    if (err == 0) {
        for (; started < writers; started++) {
            pw[started].start = &bar;
            if (pthread_create(&tid[started], NULL, page_loop, &pw[started]) != 0) {
                fprintf(stderr, "schnorr-rate: could not start writer %u of %u\n", started + 1,
                        writers);
                exit(1); /* as run_threads: the barrier cannot be passed now */
            }
        }
        pthread_barrier_wait(&bar);
        double t0 = vl_seconds(CLOCK_MONOTONIC);
        for (uint32_t i = 0; i < started; i++) {
            pthread_join(tid[i], NULL);
            if (err == 0)
                err = pw[i].err;
        }
        double dt = vl_seconds(CLOCK_MONOTONIC) - t0;
        pthread_barrier_destroy(&bar);
        if (err == 0)
            rate = dt > 0 ? (double)pages / dt : 0.0;
    }
    if (err != 0)
        fprintf(stderr, "schnorr-rate: page writes in %s: %s\n", tmpl, strerror(err));
    for (uint32_t i = 0; i < opened; i++) {
        close(pw[i].fd);
        snprintf(path, sizeof path, "%s/p%u", tmpl, i);
        unlink(path);
    }
    rmdir(tmpl);
    return rate;
}

/* ---- wake-up round trips (note 4) ---------------------------------------------------- */

typedef struct {
    int ping, pong; /* eventfds */
    uint32_t n;
    int cpu;        /* the answering thread's CPU */
    bool failed;
} ponger;

static bool pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

static bool efd_write(int fd)
{
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == (ssize_t)sizeof one;
}

static bool efd_read(int fd)
{
    uint64_t v;
    return read(fd, &v, sizeof v) == (ssize_t)sizeof v;
}

static void *pong_loop(void *arg)
{
    ponger *p = arg;
    if (!pin_to(p->cpu))
        p->failed = true;
    for (uint32_t i = 0; i < p->n && !p->failed; i++)
        if (!efd_read(p->ping) || !efd_write(p->pong))
            p->failed = true;
    return NULL;
}

/* Round trips between this thread on `cpu_a` and one on `cpu_b`: wall and
 * CPU microseconds per round trip into *wall_us, *cpu_us.  false on a
 * failure (message printed). */
static bool wake_rtt(uint32_t n, int cpu_a, int cpu_b, double *wall_us, double *cpu_us)
{
    ponger p = {.ping = eventfd(0, EFD_CLOEXEC), .pong = eventfd(0, EFD_CLOEXEC), .n = n,
                .cpu = cpu_b};
    pthread_t t;
    bool ok = p.ping >= 0 && p.pong >= 0 && pin_to(cpu_a);
    if (ok && pthread_create(&t, NULL, pong_loop, &p) == 0) {
        double t0 = vl_seconds(CLOCK_MONOTONIC), c0 = vl_seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (uint32_t i = 0; i < n && ok; i++)
            ok = efd_write(p.ping) && efd_read(p.pong);
        double dt = vl_seconds(CLOCK_MONOTONIC) - t0;
        double dc = vl_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (!ok) /* the answering thread may be blocked: let it go */
            (void)efd_write(p.ping);
        pthread_join(t, NULL);
        ok = ok && !p.failed;
        *wall_us = dt * 1e6 / n;
        *cpu_us = dc * 1e6 / n;
    } else {
        ok = false;
    }
    if (p.ping >= 0)
        close(p.ping);
    if (p.pong >= 0)
        close(p.pong);
    if (!ok)
        fprintf(stderr, "schnorr-rate: wake-up round trips on CPUs %d and %d failed: %s\n",
                cpu_a, cpu_b, strerror(errno));
    return ok;
}

/* The first two CPUs this process may run on (*b = -1 when only one). */
static void usable_cpus(int *a, int *b)
{
    cpu_set_t set;
    *a = 0;
    *b = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++) {
        if (CPU_ISSET(c, &set)) {
            if (found == 0)
                *a = c;
            else
                *b = c;
            found++;
        }
    }
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static void usage(FILE *f)
{
    fputs("usage: schnorr-rate [--count N] [--threads T] [--fsyncs N] [--wakeups N] [--dir DIR]\n"
          "                    [--pages N] [--page-writers W] [--json]\n"
          "  --count N    verifications per thread (default 20000)\n"
          "  --threads T  threads of the all-cores run (default: online CPUs)\n"
          "  --fsyncs N   4 KiB write + fdatasync rounds (default 200; 0 is refused)\n"
          "  --wakeups N  thread wake-up round trips, same core and across cores (default 20000)\n"
          "  --pages N    random 4 KiB pages made durable, 60 per fdatasync (default 30000)\n"
          "  --page-writers W  threads writing them, a 32 MiB file each (default 4)\n"
          "  --dir DIR    where the fsync and page files go (default $TMPDIR or /tmp)\n"
          "  --json       one JSON object instead of text\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"count", required_argument, NULL, 'c'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"fsyncs", required_argument, NULL, 'f'},
                                       {"wakeups", required_argument, NULL, 'w'},
                                       {"dir", required_argument, NULL, 'd'},
                                       {"pages", required_argument, NULL, 'p'},
                                       {"page-writers", required_argument, NULL, 'W'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    uint32_t count = 20000, fsyncs = 200, threads = 0, wakeups = 20000, pages = 30000,
             page_writers = 4;
    const char *dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    bool json = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        bool ok = true;
        switch (ch) {
        case 'c': ok = parse_u32(optarg, MAX_COUNT, &count); break;
        case 't': ok = parse_u32(optarg, MAX_THREADS, &threads); break;
        case 'f': ok = parse_u32(optarg, MAX_FSYNCS, &fsyncs); break;
        case 'w': ok = parse_u32(optarg, MAX_WAKEUPS, &wakeups); break;
        case 'p': ok = parse_u32(optarg, MAX_PAGES, &pages); break;
        case 'W': ok = parse_u32(optarg, MAX_PAGE_WRITERS, &page_writers); break;
        case 'd': dir = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "schnorr-rate: --%s \"%s\": want a whole number from 1 to %u\n",
                    ch == 'c'   ? "count"
                    : ch == 't' ? "threads"
                    : ch == 'f' ? "fsyncs"
                    : ch == 'p' ? "pages"
                    : ch == 'W' ? "page-writers"
                                : "wakeups",
                    optarg,
                    ch == 'c'   ? MAX_COUNT
                    : ch == 't' ? MAX_THREADS
                    : ch == 'f' ? MAX_FSYNCS
                    : ch == 'p' ? MAX_PAGES
                    : ch == 'W' ? MAX_PAGE_WRITERS
                                : MAX_WAKEUPS);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "schnorr-rate: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1u : n > MAX_THREADS ? MAX_THREADS : (uint32_t)n;
    }
    if (prepare() != 0)
        return 1;
    double cpu_us = 0, cpu_us_all = 0;
    double one = run_threads(1, count, &cpu_us);
    double all = one < 0 ? -1 : run_threads(threads, count, &cpu_us_all);
    double fs = all < 0 ? -1 : fsync_rate(dir, fsyncs);
    double pg = fs < 0 ? -1 : page_rate(dir, pages, page_writers);
    if (one < 0 || all < 0 || fs < 0 || pg < 0)
        return 1;
    /* Last: it pins this thread, which the runs above must not be. */
    int cpu_a, cpu_b;
    usable_cpus(&cpu_a, &cpu_b);
    double same_wall = 0, same_cpu = 0, cross_wall = -1, cross_cpu = -1;
    if (!wake_rtt(wakeups, cpu_a, cpu_a, &same_wall, &same_cpu) ||
        (cpu_b >= 0 && !wake_rtt(wakeups, cpu_a, cpu_b, &cross_wall, &cross_cpu)))
        return 1;
    double us = one > 0 ? 1e6 / one : 0.0;
    if (json)
        printf("{\"per_core_per_s\": %.0f, \"all_cores_per_s\": %.0f, \"cores\": %" PRIu32
               ", \"us_per_verify\": %.2f, \"cpu_us_per_verify\": %.2f, \"count_per_thread\": %" PRIu32
               ", \"fsyncs_per_s\": %.0f, \"fsyncs\": %" PRIu32
               ", \"pages_per_s\": %.0f, \"page_mb_per_s\": %.1f, \"pages\": %" PRIu32
               ", \"page_writers\": %" PRIu32 ", \"pages_per_flush\": %u"
               ", \"wakeup_rtt_us_same_core\": %.2f, \"wakeup_cpu_us_same_core\": %.2f"
               ", \"wakeup_rtt_us_cross_core\": %.2f, \"wakeup_cpu_us_cross_core\": %.2f"
               ", \"wakeups\": %" PRIu32 "}\n",
               one, all, threads, us, cpu_us, count, fs, fsyncs, pg, pg * FSYNC_BLOCK / 1e6, pages,
               page_writers, PAGES_PER_FLUSH, same_wall, same_cpu, cross_wall, cross_cpu, wakeups);
    else
        printf("schnorr verify, 1 core:   %.0f /s (%.2f us each, %.2f us of CPU; %" PRIu32
               " verifications)\n"
               "schnorr verify, %" PRIu32 " cores: %.0f /s (%" PRIu32 " threads x %" PRIu32
               ")\n"
               "fdatasync of 4 KiB:       %.0f /s (%" PRIu32 " in %s)\n"
               "random 4 KiB pages made durable: %.0f /s, %.1f MB/s (%" PRIu32 " by %" PRIu32
               " writers, an fdatasync every %u)\n",
               one, us, cpu_us, count, threads, all, threads, count, fs, fsyncs, dir, pg,
               pg * FSYNC_BLOCK / 1e6, pages, page_writers, PAGES_PER_FLUSH);
    if (!json) {
        printf("wake-up round trip, same core:  %.2f us (%.2f us of CPU; %" PRIu32
               " round trips through eventfds)\n",
               same_wall, same_cpu, wakeups);
        if (cross_wall >= 0)
            printf("wake-up round trip, 2 cores:    %.2f us (%.2f us of CPU)\n", cross_wall,
                   cross_cpu);
        else
            printf("wake-up round trip, 2 cores:    not measured (one usable CPU)\n");
    }
    return 0;
}
