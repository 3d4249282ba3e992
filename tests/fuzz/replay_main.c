/* replay_main.c - runs a fuzz target without libFuzzer (gcc builds, ctest).
 *
 *   fuzz_<target> CORPUS_DIR [MUTATIONS]
 *   fuzz_<target> FILE [MUTATIONS]       (reproduce one input; default 0)
 *
 * Feeds every regular file of CORPUS_DIR (in name order) to
 * LLVMFuzzerTestOneInput, then MUTATIONS (default 20000, or the environment
 * variable VL_FUZZ_REPLAY_MUTATIONS) deterministic mutations of them: a
 * xorshift64* generator with a fixed seed picks a file and applies one to
 * four edits (bit flips, interesting bytes and integers, truncations,
 * insertions, deletions, copied chunks).  Every input is passed in a buffer
 * of exactly its size, so a sanitizer build catches any over-read.  A
 * failed invariant abort()s, which fails the ctest test; a run is
 * reproducible from its file list and mutation count alone.
 *
 * Bounds: at most REPLAY_MAX_FILES files of at most REPLAY_MAX_FILE_BYTES
 * each; a mutant grows by at most REPLAY_MAX_GROWTH bytes over its base.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_target.h"

#define REPLAY_MAX_FILES 4096
#define REPLAY_MAX_FILE_BYTES (4u * 1024u * 1024u)
#define REPLAY_MAX_GROWTH 256u
#define REPLAY_MAX_MUTATIONS 100000000ul
#define REPLAY_DEFAULT_MUTATIONS 20000ul
#define REPLAY_SEED 0x9e3779b97f4a7c15ull

typedef struct {
    uint8_t *data;
    size_t len;
} input;

static uint64_t rng_state = REPLAY_SEED;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform enough in [0, n) for n > 0. */
static size_t below(size_t n)
{
    return n == 0 ? 0 : (size_t)(rng() % n);
}

static void run_one(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n > 0 ? n : 1);
    if (copy == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        exit(2);
    }
    if (n > 0)
        memcpy(copy, p, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
}

static int load_file(const char *path, input *in)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    in->data = malloc(REPLAY_MAX_FILE_BYTES);
    size_t n = in->data != NULL ? fread(in->data, 1, REPLAY_MAX_FILE_BYTES, f) : 0;
    int too_big = fgetc(f) != EOF;
    int bad = ferror(f) || in->data == NULL || too_big;
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: %s: %s\n", path,
                too_big ? "larger than REPLAY_MAX_FILE_BYTES" : "cannot read");
        free(in->data);
        in->data = NULL;
        return -1;
    }
    in->len = n;
    uint8_t *shrunk = realloc(in->data, n > 0 ? n : 1);
    if (shrunk != NULL)
        in->data = shrunk;
    return 0;
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Loads every regular file of dir; returns the count or -1. */
static int load_corpus(const char *dir, input *ins)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int count = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (!failed && w > 0 && (size_t)w < sizeof path && is_regular(path)) {
            if (count == REPLAY_MAX_FILES || load_file(path, &ins[count]) != 0)
                failed = 1;
            else
                count++;
        }
        free(names[i]);
    }
    free(names);
    return failed ? -1 : count;
}

static const uint64_t interesting[] = {
    0,    1,    2,    0x7f, 0x80, 0xff, 0x100, 0x101, 1024, 1025, 4096, 4097,
    0x7fff, 0xffff, 0x10000, 16u * 1024u * 1024u, 16u * 1024u * 1024u + 1u,
    0x7fffffff, 0xffffffff, 0xffffffffffffffffull,
};
#define N_INTERESTING (sizeof interesting / sizeof interesting[0])

/* One random edit of buf[0..*len) (capacity cap). */
static void mutate_once(uint8_t *buf, size_t *len, size_t cap)
{
    size_t n = *len, at = below(n + 1), k = 1 + below(8);
    switch (rng() % 7) {
    case 0: /* flip a bit */
        if (n > 0)
            buf[below(n)] ^= (uint8_t)(1u << below(8));
        break;
    case 1: /* an interesting byte */
        if (n > 0)
            buf[below(n)] = (uint8_t)interesting[below(N_INTERESTING)];
        break;
    case 2: { /* an interesting little-endian integer of 2, 4 or 8 bytes */
        size_t width = (size_t)1 << (1 + below(3));
        uint64_t v = interesting[below(N_INTERESTING)];
        for (size_t i = 0; i < width && at + i < n; i++)
            buf[at + i] = (uint8_t)(v >> (8 * i));
        break;
    }
    case 3: /* truncate */
        *len = below(n + 1);
        break;
    case 4: /* insert k random bytes */
        if (n + k <= cap) {
            memmove(buf + at + k, buf + at, n - at);
            for (size_t i = 0; i < k; i++)
                buf[at + i] = (uint8_t)rng();
            *len = n + k;
        }
        break;
    case 5: /* delete up to k bytes */
        if (at < n) {
            if (k > n - at)
                k = n - at;
            memmove(buf + at, buf + at + k, n - at - k);
            *len = n - k;
        }
        break;
    default: /* copy a chunk over another place */
        if (n > 1) {
            size_t from = below(n), to = below(n), m = 1 + below(64);
            if (m > n - from)
                m = n - from;
            if (m > n - to)
                m = n - to;
            memmove(buf + to, buf + from, m);
        }
        break;
    }
}

static unsigned long mutation_count(int argc, char **argv, unsigned long dflt)
{
    const char *s = argc > 2 ? argv[2] : getenv("VL_FUZZ_REPLAY_MUTATIONS");
    if (s == NULL || *s == '\0')
        return dflt;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > REPLAY_MAX_MUTATIONS) {
        fprintf(stderr, "replay: bad mutation count '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE [MUTATIONS]\n", argv[0]);
        return 2;
    }
    int one_file = is_regular(argv[1]);
    unsigned long mutations =
        mutation_count(argc, argv, one_file ? 0 : REPLAY_DEFAULT_MUTATIONS);
    input *ins = calloc(REPLAY_MAX_FILES, sizeof *ins);
    int n = -1;
    if (ins != NULL && one_file)
        n = load_file(argv[1], &ins[0]) == 0 ? 1 : -1;
    else if (ins != NULL)
        n = load_corpus(argv[1], ins);
    if (n <= 0) {
        fprintf(stderr, "replay: no corpus files in %s\n", argv[1]);
        return 2;
    }
    size_t max_len = 0;
    for (int i = 0; i < n; i++) {
        run_one(ins[i].data, ins[i].len);
        max_len = ins[i].len > max_len ? ins[i].len : max_len;
    }
    size_t cap = max_len + REPLAY_MAX_GROWTH;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return 2;
    for (unsigned long i = 0; i < mutations; i++) {
        const input *base = &ins[below((size_t)n)];
        size_t len = base->len;
        memcpy(buf, base->data, len);
        for (size_t e = 1 + below(4); e > 0; e--)
            mutate_once(buf, &len, cap);
        run_one(buf, len);
    }
    printf("%s: %d corpus files and %lu mutations, no failure\n", argv[0], n, mutations);
    free(buf);
    for (int i = 0; i < n; i++)
        free(ins[i].data);
    free(ins);
    return 0;
}
