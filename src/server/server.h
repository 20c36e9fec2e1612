/* server.h — `jspool serve`: the pool as an HTTP/JSON service on h2o over libuv. Built
 * on the public API only (include/jspool.h). One libuv loop thread serves HTTP; calls run
 * on the pool's runtime threads and their completions come back to the loop through a
 * queue and a uv_async. */
#ifndef JSP_SERVER_H
#define JSP_SERVER_H

#include <stddef.h>

typedef struct server_options {
    const char *listen;        /* "HOST:PORT"; default 127.0.0.1:8080; port 0 = any free */
    int threads;               /* runtime threads; 0 = online CPUs */
    const char *token_file;    /* bearer token for mutating endpoints; NULL = none */
    const char **modules;      /* module files deployed at start as named contexts */
    size_t module_count;
    size_t max_body_bytes;     /* request body limit; 0 = 1 MiB */
    int grace_ms;              /* drain: how long in-flight calls may finish; 0 = 10000 */
} server_options;

/* Runs until SIGTERM or SIGINT, then drains. Prints "listening on http://HOST:PORT" on
 * stdout once ready. Returns a process exit status (0 clean, 2 bad options, 3 a module
 * file or the token file unreadable, 4 cannot listen or start the pool). */
int server_run(const server_options *o);

#endif
