/* resolver.h — name lookups for guest sockets (websocket_client.c) on threads of their own,
 * not on libuv's shared thread pool. It is for: a lookup that a tenant can make slow (its
 * allowed name resolves in the system resolver's timeout, seconds) must not hold one of the
 * pool's 4 threads, which the server's context creation and every libuv file or DNS
 * request of the process share (attacker review: 4 slow sockets stalled every creation).
 * Not for: fetch, whose lookups are libcurl's threaded resolver (a thread per lookup
 * already, not libuv's pool).
 *
 * One detached thread per lookup, at most RESOLVER_MAX_THREADS in the process (past it a
 * lookup is refused, saying so); a lookup cancelled while its thread is still in
 * getaddrinfo is let go (its answer dropped when the thread returns, then its owner told),
 * so no caller waits for a resolver — but its loop stays alive until then, as it would for
 * a uv_getaddrinfo. Per-context caps are the caller's (websocket_client.c). */
#ifndef JSP_RUNTIME_RESOLVER_H
#define JSP_RUNTIME_RESOLVER_H

#include <stddef.h>
#include <uv.h>

struct addrinfo;

/* Lookups in flight, all loops together, before new ones are refused. */
#define RESOLVER_MAX_THREADS 64

typedef struct resolver_lookup resolver_lookup;

/* status: 0, or getaddrinfo's EAI_* code (gai_strerror names it); res: the caller's, freed
 * with freeaddrinfo (NULL on failure). Called on loop's thread, never after resolver_cancel. */
typedef void (*resolver_done_fn)(void *data, int status, struct addrinfo *res);

/* Starts looking up host:port (TCP, IPv4 and IPv6) on a thread of its own; done is called
 * on loop's thread with the answer. Loop thread only. Returns the lookup, or NULL with why
 * filled in (the process's RESOLVER_MAX_THREADS lookups in flight, no thread, no memory). */
resolver_lookup *resolver_start(uv_loop_t *loop, const char *host, int port, resolver_done_fn done, void *data,
                                char *why, size_t why_len);

/* Lets go of a lookup whose done has not been called: done never will be; gone(gone_data)
 * (if not NULL) is called on the loop's thread once its thread has returned — what it held
 * is free then. Loop thread only. */
typedef void (*resolver_gone_fn)(void *gone_data);
void resolver_cancel(resolver_lookup *lookup, resolver_gone_fn gone, void *gone_data);

/* Lookups whose threads have not returned (cancelled ones included). Any thread. */
int resolver_in_flight(void);

/* Test hook (tests/apis/test_websocket.c only): replaces getaddrinfo for the lookups
 * started after it, NULL for the system's; it runs on the lookup's thread. Not for
 * production: set it before the lookups it should see, with no lookup in flight. */
typedef int (*resolver_getaddrinfo_fn)(const char *host, const char *port, const struct addrinfo *hints,
                                       struct addrinfo **res);
void resolver_set_getaddrinfo_for_test(resolver_getaddrinfo_fn fn);

#endif
