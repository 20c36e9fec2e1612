/* bench_store — bank transfers through the store layer alone (no engine, no runtime): the
 * ceiling the store puts under issue 10's 150k TPS target. Each transfer is one call: read
 * two accounts, check funds, debit, credit (tests/store/bank.h, without the transfers
 * record). Modes: group commit vs a commit per call, each with durability `sync` (fsync
 * before acknowledging) and `process` (acknowledge before the flush), and group commit with
 * `sync+background` (the fsync on the store's sync thread while calls go on). Latency is from the
 * call's begin to its acknowledgement (the done callback after its batch's COMMIT).
 *
 *   bench_store [--seconds S] [--accounts N] [--dir DIR]
 *
 * One JSON line per mode on stdout. 100,000 accounts of 1,000,000,000 each, uniform pairs
 * from a seeded PRNG, as keynote-2 at alpha 0. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "store/bank.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct run {
    int64_t *begun;   /* per call: begin time */
    int64_t *latency; /* per acknowledged call */
    size_t acked, failed;
} run;

static run current;

static void on_done(void *user, const store_error *err)
{
    size_t i = (size_t)(uintptr_t)user;
    if (err->code) {
        current.failed++;
        return;
    }
    current.latency[current.acked++] = now_ns() - current.begun[i];
}

/* User + system CPU of this process, in ns: on a shared machine wall-clock TPS depends on
 * the neighbours, CPU per transfer does not. */
static int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static int bench_mode(const char *path, const char *name, int durability, int batch, bool background,
                      double seconds, int accounts)
{
    store_error err;
    store *s;
    store_config cfg = {.durability = durability, .max_batch_calls = batch, .background_sync = background};
    if (store_open(path, &cfg, &s, &err) || store_declare(s, BANK_DECL, strlen(BANK_DECL))) {
        fprintf(stderr, "%s: %s\n", name, s ? store_last_error(s)->message : err.message);
        return 1;
    }
    size_t cap = 20u * 1000 * 1000;
    current = (run){.begun = malloc(cap * sizeof(int64_t)), .latency = malloc(cap * sizeof(int64_t))};
    size_t calls = 0, refused = 0;
    int64_t commit_ns = 0; /* time the loop spent in call ends and flushes: commits, fsyncs */
    int64_t cpu_start = cpu_ns();
    int64_t start = now_ns(), stop = start + (int64_t)(seconds * 1e9);
    while (calls < cap && (calls & 255 || now_ns() < stop)) {
        int src = (int)(next_rand() % (uint32_t)accounts);
        int dst = (int)((uint32_t)src + 1 + next_rand() % (uint32_t)(accounts - 1)) % accounts;
        current.begun[calls] = now_ns();
        int rc = store_call_begin(s);
        if (!rc)
            rc = bank_transfer(s, 0, src, dst, 1, NULL);
        refused += rc != 0;
        int64_t t0 = now_ns();
        store_call_end(s, rc == 0, on_done, (void *)(uintptr_t)calls, NULL); /* may commit */
        calls++;
        int64_t deadline = store_flush_deadline(s);
        if (deadline && now_ns() >= deadline)
            store_flush(s);
        commit_ns += now_ns() - t0;
        store_poll(s, false);
    }
    store_flush(s);
    store_poll(s, true);
    double elapsed = (double)(now_ns() - start) / 1e9;
    double cpu_us = (double)(cpu_ns() - cpu_start) / 1e3 / (double)(current.acked ? current.acked : 1);
    store_stats st;
    store_get_stats(s, &st);
    store_close(s);
    qsort(current.latency, current.acked, sizeof(int64_t), cmp_i64);
    double tps = (double)current.acked / elapsed;
    printf("{\"bench\":\"store_transfers\",\"mode\":\"%s\",\"durability\":\"%s%s\",\"max_batch_calls\":%d,"
           "\"transfers\":%zu,\"seconds\":%.2f,\"tps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
           "\"commit_share\":%.2f,\"cpu_us_per_transfer\":%.2f,\"tps_per_cpu\":%.0f,\"batches\":%llu,\"calls_per_batch\":%.1f,\"errors\":%zu,\"target_tps\":150000,\"met\":%s}\n",
           name, durability ? "process" : "sync", background ? "+background" : "", batch, current.acked, elapsed, tps,
           current.acked ? current.latency[current.acked / 2] / 1e3 : 0,
           current.acked ? current.latency[current.acked * 99 / 100] / 1e3 : 0,
           (double)commit_ns / 1e9 / elapsed, cpu_us, 1e6 / cpu_us, (unsigned long long)st.batches, st.batches ? (double)calls / (double)st.batches : 0,
           current.failed + refused, tps >= 150000 && !current.failed && !refused ? "true" : "false");
    fflush(stdout);
    free(current.begun);
    free(current.latency);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 4;
    int accounts = 100000;
    const char *base = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--accounts"))
            accounts = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            base = argv[i + 1];
    }
    char dir[256], path[300], tmpl[300];
    snprintf(tmpl, sizeof(tmpl), "%s/jsp_bench_store_XXXXXX", base);
    if (!mkdtemp(strcpy(dir, tmpl)))
        return 1;
    snprintf(path, sizeof(path), "%s/bank.db", dir);
    store_error err;
    store *s;
    if (store_open(path, NULL, &s, &err) || store_declare(s, BANK_DECL, strlen(BANK_DECL)) ||
        bank_seed(s, accounts, 1000000000)) {
        fprintf(stderr, "seeding: %s\n", s ? store_last_error(s)->message : err.message);
        return 1;
    }
    store_close(s);
    int rc = 0;
    rc |= bench_mode(path, "group_commit", STORE_DURABLE_SYNC, 0, false, seconds, accounts);
    rc |= bench_mode(path, "group_commit", STORE_DURABLE_SYNC, 0, true, seconds, accounts);
    rc |= bench_mode(path, "commit_per_call", STORE_DURABLE_SYNC, 1, false, seconds, accounts);
    rc |= bench_mode(path, "group_commit", STORE_DURABLE_PROCESS, 0, false, seconds, accounts);
    rc |= bench_mode(path, "commit_per_call", STORE_DURABLE_PROCESS, 1, false, seconds, accounts);
    /* The sum invariant after all modes. */
    if (store_open(path, NULL, &s, &err) || store_declare(s, BANK_DECL, strlen(BANK_DECL)) ||
        store_call_begin(s)) {
        fprintf(stderr, "audit: %s\n", err.message);
        return 1;
    }
    bool replay_ok;
    long long sum = bank_audit(s, accounts, 1000000000, &replay_ok);
    store_call_end(s, true, NULL, NULL, NULL);
    store_close(s);
    fprintf(stderr, "sum invariant: %s (%lld)\n", sum == (long long)accounts * 1000000000 ? "held" : "BROKEN", sum);
    bank_scratch_remove(dir);
    return rc || sum != (long long)accounts * 1000000000;
}
