/* schnorr-rate.c - how fast this machine checks BIP-340 Schnorr signatures
 * through the project's own wrapper (vl_verify of wire/vl_crypto.h), and how
 * fast it makes a 4 KiB write durable with fdatasync.  A benchmark program:
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
#include <unistd.h>

#include "vl_crypto.h"
#include "vl_time.h"

#define SIGS 256                   /* distinct signatures cycled through */
#define MAX_COUNT 100000000u       /* --count limit (per thread) */
#define MAX_THREADS 1024           /* more CPUs than this: capped */
#define MAX_FSYNCS 1000000u        /* --fsyncs limit */
#define FSYNC_BLOCK 4096

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

/* fdatasyncs per second; -1 on an I/O error (message printed). */
static double fsync_rate(const char *dir, uint32_t n)
{
    char tmpl[4096];
    int w = snprintf(tmpl, sizeof tmpl, "%s/schnorr-rate.XXXXXX", dir);
    if (w < 0 || (size_t)w >= sizeof tmpl - 16) {
        fprintf(stderr, "schnorr-rate: --dir is too long\n");
        return -1;
    }
    if (mkdtemp(tmpl) == NULL) {
        fprintf(stderr, "schnorr-rate: mkdtemp %s: %s\n", tmpl, strerror(errno));
        return -1;
    }
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
    fputs("usage: schnorr-rate [--count N] [--threads T] [--fsyncs N] [--dir DIR] [--json]\n"
          "  --count N    verifications per thread (default 20000)\n"
          "  --threads T  threads of the all-cores run (default: online CPUs)\n"
          "  --fsyncs N   4 KiB write + fdatasync rounds (default 200; 0 is refused)\n"
          "  --dir DIR    where the fsync file goes (default $TMPDIR or /tmp)\n"
          "  --json       one JSON object instead of text\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"count", required_argument, NULL, 'c'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"fsyncs", required_argument, NULL, 'f'},
                                       {"dir", required_argument, NULL, 'd'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    uint32_t count = 20000, fsyncs = 200, threads = 0;
    const char *dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    bool json = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        bool ok = true;
        switch (ch) {
        case 'c': ok = parse_u32(optarg, MAX_COUNT, &count); break;
        case 't': ok = parse_u32(optarg, MAX_THREADS, &threads); break;
        case 'f': ok = parse_u32(optarg, MAX_FSYNCS, &fsyncs); break;
        case 'd': dir = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "schnorr-rate: --%s \"%s\": want a whole number from 1 to %u\n",
                    ch == 'c' ? "count" : ch == 't' ? "threads" : "fsyncs", optarg,
                    ch == 'c' ? MAX_COUNT : ch == 't' ? MAX_THREADS : MAX_FSYNCS);
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
    if (one < 0 || all < 0 || fs < 0)
        return 1;
    double us = one > 0 ? 1e6 / one : 0.0;
    if (json)
        printf("{\"per_core_per_s\": %.0f, \"all_cores_per_s\": %.0f, \"cores\": %" PRIu32
               ", \"us_per_verify\": %.2f, \"cpu_us_per_verify\": %.2f, \"count_per_thread\": %" PRIu32
               ", \"fsyncs_per_s\": %.0f, \"fsyncs\": %" PRIu32 "}\n",
               one, all, threads, us, cpu_us, count, fs, fsyncs);
    else
        printf("schnorr verify, 1 core:   %.0f /s (%.2f us each, %.2f us of CPU; %" PRIu32
               " verifications)\n"
               "schnorr verify, %" PRIu32 " cores: %.0f /s (%" PRIu32 " threads x %" PRIu32
               ")\n"
               "fdatasync of 4 KiB:       %.0f /s (%" PRIu32 " in %s)\n",
               one, us, cpu_us, count, threads, all, threads, count, fs, fsyncs, dir);
    return 0;
}
