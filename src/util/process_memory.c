/* process_memory.c — see process_memory.h. */
#include "util/process_memory.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t read_limit(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long long limit = 0;
    if (f) {
        if (fscanf(f, "%llu", &limit) != 1) /* "max": no limit */
            limit = 0;
        fclose(f);
    }
    return (uint64_t)limit;
}

uint64_t host_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    uint64_t memory = pages > 0 && page_size > 0 ? (uint64_t)pages * (uint64_t)page_size : (uint64_t)4 << 30;
    const char *paths[] = {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        uint64_t limit = read_limit(paths[i]);
        if (limit && limit < memory) /* v1 writes a huge number for "none" */
            memory = limit;
    }
    return memory;
}

/* /proc/self/statm stays open, read again from offset 0 each time (a proc seq file
 * regenerates its text on every read at 0): one pread instead of fopen's openat, fstat,
 * read and close. Called at the start of every call into a memory-limited context: the
 * four system calls were a quarter of the runtime thread's time serving the bank over
 * HTTP (bench/server/run.sh): 12.6 us -> 1.8 us a read on this machine at load 17.
 * Opened by the first caller; a race opens it twice and closes the loser's copy. */
static _Atomic int statm_fd = -1;

static int statm_open(void)
{
    int fd = atomic_load_explicit(&statm_fd, memory_order_acquire);
    if (fd >= 0)
        return fd;
    fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int expected = -1;
    if (!atomic_compare_exchange_strong(&statm_fd, &expected, fd)) {
        close(fd);
        fd = expected;
    }
    return fd;
}

/* A reading younger than RSS_MAX_AGE_NS is reused: RSS is the process's, the same for
 * every thread, and every call into a memory-limited context starts with a read (its
 * budget's baseline): the pread above was still 1/8 of the runtime thread's time with
 * bench/server/ws_echo.js at 40 messages in flight. 100 us is a tenth of the shortest
 * watchdog tick (1 ms, engine_budget.c): a limit check sees at most that much less
 * growth, and the heap is still read on its own schedule. The value and its time are two
 * atomics: a reader may pair one reading's value with a neighbour's time, both recent. */
enum { RSS_MAX_AGE_NS = 100 * 1000 };
static _Atomic uint64_t rss_read_ns, rss_read_bytes;

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t read_rss(void)
{
    static _Atomic long page_size;
    long page = atomic_load_explicit(&page_size, memory_order_relaxed);
    if (page == 0) {
        page = sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page_size, page, memory_order_relaxed);
    }
    int fd = statm_open();
    char text[128]; /* "size resident shared text lib data dt\n": 7 numbers of 20 digits at most */
    ssize_t n = fd >= 0 ? pread(fd, text, sizeof(text) - 1, 0) : -1;
    if (n <= 0)
        return 0;
    text[n] = '\0';
    char *end = NULL;
    strtoull(text, &end, 10); /* size */
    unsigned long long resident = end && end != text ? strtoull(end, NULL, 10) : 0;
    return (uint64_t)resident * (uint64_t)page;
}

uint64_t process_rss_bytes(void)
{
    uint64_t now = monotonic_ns();
    uint64_t at = atomic_load_explicit(&rss_read_ns, memory_order_acquire);
    if (at && now - at < RSS_MAX_AGE_NS)
        return atomic_load_explicit(&rss_read_bytes, memory_order_relaxed);
    uint64_t rss = read_rss();
    if (rss) {
        atomic_store_explicit(&rss_read_bytes, rss, memory_order_relaxed);
        atomic_store_explicit(&rss_read_ns, now, memory_order_release);
    }
    return rss;
}
