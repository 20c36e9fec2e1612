/* server.h — `jspool serve`: the pool as an HTTP/JSON service on h2o over libuv. Built
 * on the public API only (include/jspool.h). One libuv loop thread serves HTTP; calls run
 * on the pool's runtime threads and their completions come back to the loop through a
 * queue and a uv_async. */
#ifndef JSP_SERVER_H
#define JSP_SERVER_H

#include <jspool.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct server_options {
    const char *listen;        /* "HOST:PORT"; default 127.0.0.1:8080; port 0 = any free */
    bool has_listen_fd;        /* serve on listen_fd, a socket already listening on listen
                                  (the supervisor's), instead of binding listen */
    int listen_fd;
    int supervise;             /* for server_supervise's callers (the CLI): 1 = run the
                                  server in a worker process restarted when it crashes,
                                  0 = run it in this process (server_run) */
    int threads;               /* runtime threads; 0 = online CPUs */
    const char *token_file;    /* bearer token for every route but /healthz; NULL = none */
    const char **modules;      /* module files deployed at start as named contexts */
    size_t module_count;
    size_t max_body_bytes;     /* request body limit; 0 = 1 MiB */
    int max_connections;       /* client connections open at once (WebSockets included);
                                  past it new ones wait in the backlog; 0 = 1024, less
                                  when the descriptor limit is low (server.c) */
    int grace_ms;              /* drain: how long in-flight calls may finish; 0 = 10000 */
    int log_json;              /* request log as JSON lines instead of logfmt */
    jsp_pool_config pool;      /* limits and heap policy (threads comes from above) */
    long cpu_limit_ms, wall_limit_ms; /* defaults for contexts created without limits */
    uint64_t memory_limit_bytes;
    long max_cpu_limit_ms;     /* the most a client may ask for; 0 = 30000, -1 = none */
    long max_wall_limit_ms;    /* 0 = 300000, -1 = none */
    long max_memory_limit_bytes; /* 0 = 1 GiB, -1 = none */
    uint64_t storage_quota;    /* localStorage/sessionStorage quota per area (UTF-16 code
                                  units) for contexts that ask none; 0 = the library's 5 Mi */
    long max_storage_quota;    /* the most a client may ask for; 0 = 5 Mi, -1 = none */
    const char *ws_allowed_origins; /* comma-separated Origins allowed to upgrade; NULL = any */
    uint64_t module_memory_limit_bytes; /* modules' default; 0 = memory_limit_bytes, or 64 MiB */
    int ws_max_calls_in_flight; /* WebSocket calls in flight per socket; 0 = 1024 */
    uint64_t ws_max_queued_bytes; /* bytes waiting to be sent to one socket before it is
                                     closed; 0 = 16 MiB */
    uint64_t ws_max_total_queued_bytes; /* the same across all sockets: the socket whose
                                     frame would pass it is closed; 0 = 128 MiB */
    const char *data_dir;      /* stores: DIR/NAME.jspdb; NULL = "./jspool-data" (data_dir.h) */
    int store_durability;      /* JSP_DURABLE_DISK (0, default) or JSP_DURABLE_PROCESS */
    uint64_t store_max_file_bytes; /* every store file's size cap; 0 = 1 GiB */
    uint64_t store_max_rows_per_call, store_max_bytes_per_call; /* every store's; 0 = the
                                  library's defaults (10,000 rows, 16 MiB) */
    /* what contexts may reach with fetch (jsp_context_config.egress_*): deployed modules
     * get these, and a client's POST /v1/contexts may only narrow them */
    const char *egress_allow;  /* NULL = nothing */
    int egress_allow_loopback, egress_allow_private; /* 0 or 1 */
    int egress_max_requests;   /* 0 = the library's default (16) */
    uint64_t egress_max_response_bytes; /* 0 = the library's default (64 MiB) */
    long egress_timeout_ms;    /* 0 = the library's default (30000), -1 = none */
    const char *egress_ca_file; /* PEM CAs https requests trust; NULL = the system's */
    char *owned[64];           /* strings a config file allocated (freed by server_options_free) */
    size_t owned_count;
} server_options;

/* Reads a config file into o (see docs/server.md: `key = value` lines, # comments; every
 * key mirrors a flag). Unknown keys and bad values are errors: returns false and writes
 * "FILE:LINE: problem" into error. */
bool server_config_load(const char *path, server_options *o, char *error, size_t error_len);
void server_options_free(server_options *o);
/* "disk" -> JSP_DURABLE_DISK, "process" -> JSP_DURABLE_PROCESS: 0, else -1. */
int server_durability_parse(const char *text, int *out);

/* Reads a whole file, NUL-terminated (also for the CLI); NULL with errno set on failure. */
char *server_read_file(const char *path, size_t *len_out);

/* Runs until SIGTERM or SIGINT, then drains. Prints "listening on http://HOST:PORT" on
 * stdout once ready. Returns a process exit status (0 clean, 1 a module failed to load, 2
 * bad options, 3 a module file or the token file unreadable, the data directory or a
 * deployed module's store unusable (another server holds it, say), 4 cannot listen or
 * start the pool). */
int server_run(const server_options *o);

/* One line on stderr in the server's log format (log_format: logfmt `level=... context=...
 * msg="..."`, or a JSON object with the same keys; context 0 = none): the message is the
 * printf of format, cut at 1 KiB, with quotes turned into ', and backslashes and control
 * characters into ? (the pool's log lines, a tenant's console text among them, go out
 * the same way, uncut). server_log_set_json picks the format (server_run and
 * server_supervise set it from log_format). */
void server_log(const char *level, uint64_t context_id, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void server_log_set_json(bool is_json);

/* A socket bound to where ("HOST:PORT") and listening, close-on-exec; -2 when listen does
 * not parse, -1 when it cannot be bound, with why written. */
int server_listen_socket(const char *where, char *why, size_t why_len);

/* server_run in a worker process, restarted when it dies of a signal (supervisor.c): this
 * process binds the listening socket once and hands it to each worker, so a restart keeps
 * the port (also "any free" port 0) and connections wait in its backlog meanwhile. SIGTERM,
 * SIGINT and SIGHUP are passed on to the worker, which drains. Returns the worker's exit
 * status (128 + a signal when it died of one and was not restarted), or 2/4 as server_run
 * when the address is wrong or cannot be bound. Call before any thread is started. */
int server_supervise(const server_options *o);

#endif
