/* process_memory.h — the process's resident set size, the cheap signal that decides
 * whether an expensive VM heap measurement is worth taking. */
#ifndef JSP_UTIL_PROCESS_MEMORY_H
#define JSP_UTIL_PROCESS_MEMORY_H

#include <stdint.h>

/* Resident bytes from /proc/self/statm (one pread of a descriptor kept open, ~2 us), or
 * the last reading if it is younger than 100 us (~30 ns); 0 if it cannot be read. Any
 * thread. */
uint64_t process_rss_bytes(void);

/* The memory this process may use: physical memory, or the cgroup's limit when one is
 * set and lower (cgroup v2 memory.max, v1 memory.limit_in_bytes). 4 GiB if unknown. */
uint64_t host_memory_bytes(void);

#endif
