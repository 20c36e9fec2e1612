/* bench_common.h — the few helpers both benchmarks share: a monotonic clock, sleeping,
 * resident memory from /proc/self/statm, percentiles, the VM-recycle count from the pool's
 * metrics, and a log callback that keeps the library's chatter off stdout (stdout carries
 * only the JSON lines). */
#ifndef JSP_BENCH_COMMON_H
#define JSP_BENCH_COMMON_H

#include <jspool.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bench_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Resident set size in bytes (second field of /proc/self/statm, in pages); 0 if unknown. */
static inline uint64_t bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size_pages = 0, resident_pages = 0;
    int fields = fscanf(f, "%lu %lu", &size_pages, &resident_pages);
    fclose(f);
    if (fields != 2)
        return 0;
    return (uint64_t)resident_pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static inline int bench_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (fraction in (0,1]) of an array already sorted ascending. */
static inline uint64_t bench_percentile(const uint64_t *sorted, size_t count, double fraction)
{
    if (count == 0)
        return 0;
    size_t rank = (size_t)(fraction * (double)count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

static inline const char *bench_bool(int value)
{
    return value ? "true" : "false";
}

/* Pool log callback: warnings and errors to stderr, the rest dropped. */
static inline void bench_log_quietly(int level, uint64_t context_id, const char *message,
                                     void *user)
{
    (void)user;
    if (level >= JSP_LOG_WARN)
        fprintf(stderr, "[jspool ctx=%llu] %s\n", (unsigned long long)context_id, message);
}

/* Sum over runtimes of one metric of jsp_pool_metrics (e.g. "jspool_recycles_total");
 * -1 if metrics are unavailable. */
static inline double bench_metric_sum(jsp_pool *pool, const char *name)
{
    char *text = jsp_pool_metrics(pool);
    if (!text)
        return -1;
    size_t name_len = strlen(name);
    double total = 0;
    const char *line = text;
    while (line) {
        const char *value = strchr(line, ' ');
        if (strncmp(line, name, name_len) == 0 && (line[name_len] == '{' || line[name_len] == ' ') && value)
            total += strtod(value + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    jsp_free(text);
    return total;
}

static inline long bench_vm_recycles(jsp_pool *pool)
{
    return (long)bench_metric_sum(pool, "jspool_recycles_total");
}

/* Runtime count a pool with threads = 0 would get: the online CPUs. */
static inline int bench_default_runtimes(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (int)cpus : 1;
}

#endif
