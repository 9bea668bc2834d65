/*
 * The C reference for the Argon2 row of the benchmark: the reference implementation
 * (phc-winner-argon2, as shipped in PyPI's argon2-cffi-bindings source), compiled on this
 * machine with its optimised code path (opt.c, -O3 -march=native: AVX2 or AVX-512 where the
 * CPU has them) by infra/bench.sh.
 *
 * Reads a count per line on stdin; for each, hashes that many times with Argon2id and
 * prints one JSON line: {"cpu_ms": [...]}, the CPU time of each hash call on this thread
 * (CLOCK_THREAD_CPUTIME_ID, nanoseconds), as the functions report theirs. Parameters: the
 * functions' defaults unless ARGON2_MEMORY_KIB and ARGON2_ITERATIONS say otherwise; p = 1,
 * 32-byte output, 16-byte salt.
 *
 * Like ours, it hashes in blocks it keeps: the library's allocation callbacks hand out one
 * kept buffer (the first hash, a warm-up, allocates it). Its wiping of the blocks after
 * each hash is switched off, while ours wipes: the difference counts against ours.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argon2.h"

static const char PASSWORD[] = "benchmark passphrase number 1 of a chain";

static uint8_t *kept = NULL;
static size_t kept_bytes = 0;

static int keep_allocate(uint8_t **memory, size_t bytes) {
    if (kept_bytes < bytes) {
        free(kept);
        kept = malloc(bytes);
        kept_bytes = kept ? bytes : 0;
        if (!kept) return ARGON2_MEMORY_ALLOCATION_ERROR;
    }
    *memory = kept;
    return ARGON2_OK;
}

static void keep_free(uint8_t *memory, size_t bytes) {
    (void)memory;
    (void)bytes;
}

static double thread_cpu_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

static uint32_t env_or(const char *name, uint32_t fallback) {
    const char *value = getenv(name);
    return value ? (uint32_t)strtoul(value, NULL, 10) : fallback;
}

int main(void) {
    uint32_t memory_kib = env_or("ARGON2_MEMORY_KIB", 19456);
    uint32_t iterations = env_or("ARGON2_ITERATIONS", 2);
    uint8_t salt[16] = {0};
    uint8_t hash[32];
    uint64_t counter = 0;
    char line[64];

    FLAG_clear_internal_memory = 0;
    printf("{\"ready\": true}\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        long count = strtol(line, NULL, 10);
        printf("{\"cpu_ms\": [");
        for (long i = 0; i < count; i++) {
            counter++;
            memcpy(salt, &counter, sizeof counter);
            double start = thread_cpu_ms();
            argon2_context context = {
                .out = hash,
                .outlen = sizeof hash,
                .pwd = (uint8_t *)PASSWORD,
                .pwdlen = sizeof PASSWORD - 1,
                .salt = salt,
                .saltlen = sizeof salt,
                .t_cost = iterations,
                .m_cost = memory_kib,
                .lanes = 1,
                .threads = 1,
                .version = ARGON2_VERSION_13,
                .allocate_cbk = keep_allocate,
                .free_cbk = keep_free,
                .flags = ARGON2_DEFAULT_FLAGS,
            };
            int status = argon2_ctx(&context, Argon2_id);
            double cpu = thread_cpu_ms() - start;
            if (status != ARGON2_OK) {
                fprintf(stderr, "argon2: %s\n", argon2_error_message(status));
                return 1;
            }
            printf(i ? ", %.4f" : "%.4f", cpu);
        }
        printf("]}\n");
        fflush(stdout);
    }
    return 0;
}
