/* server_internal.h — state shared by the server's loop (server.c) and its HTTP API
 * (api.c). Everything here belongs to the loop thread except `done`, the queue through
 * which runtime threads hand finished calls back. */
#ifndef JSP_SERVER_INTERNAL_H
#define JSP_SERVER_INTERNAL_H

#include "server/data_dir.h"
#include "server/registry.h"
#include "server/request_body.h"
#include "server/server.h"

#include <h2o.h>
#include <jspool.h>
#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

/* PENDING_READ: a read of the context's store (the tables routes), answered with the
 * library's JSON as is and not counted as a call. */
typedef enum pending_kind { PENDING_CREATE, PENDING_EVAL, PENDING_CALL, PENDING_READ } pending_kind;

typedef struct pending pending;
typedef struct ws_client ws_client;
typedef struct ws_outgoing ws_outgoing;
typedef struct ws_call ws_call;

typedef struct server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    uv_timer_t grace;
    uv_async_t done_wakeup;
    uv_timer_t log_flush;    /* writes the buffered request log lines (server.c) */
    h2o_globalconf_t config;
    h2o_context_t h2o;
    h2o_accept_ctx_t accept;
    jsp_pool *pool;
    registry contexts;
    char *token;             /* NULL = no auth */
    unsigned char token_digest[32]; /* SHA-256 of token: compared in constant time */
    char **ws_origins;       /* allowed Origin values for WebSocket upgrades; NULL = any */
    size_t ws_origin_count;
    char *hint_context;      /* first deployed module and its last export, for the */
    char *hint_export;       /* curl lines printed at start-up */
    char *module_roots[32];  /* deployed modules' import roots (loader user data): freed
                                after the pool, whose runtimes may read them until then */
    size_t module_root_count;
    size_t max_body_bytes;
    int grace_ms;
    long cpu_limit_ms, wall_limit_ms; /* defaults for contexts created without limits */
    uint64_t memory_limit_bytes;
    uint64_t storage_quota;  /* contexts' Web Storage quota when they ask none */
    request_limit_maxima limit_maxima; /* what clients may ask for; -1 = none */
    uint64_t module_memory_limit_bytes; /* modules are isolated by default (see server.c) */
    data_dir data;           /* where stores live, locked for this server (data_dir.h) */
    int store_durability;    /* every store's jsp_context_config.store_durability */
    long store_max_rows, store_max_bytes; /* every store's per-call write limits; 0 = default */
    uint64_t store_max_file_bytes;        /* every store file's size cap */
    int max_connections;     /* client connections open at once; past it accept waits */
    int connections;         /* open now (loop thread) */
    bool is_accept_paused;   /* a connection waits in the backlog for a free slot */
    bool has_loop;
    bool is_draining;
    bool is_stopping;
    int in_flight;           /* calls the loop waits on */
    pthread_mutex_t done_mutex;
    pending *done_head, *done_tail; /* finished calls, oldest first */
    ws_outgoing *outgoing_head, *outgoing_tail; /* host.send() values for WebSockets */
    ws_call *ws_done_head, *ws_done_tail; /* finished WebSocket calls, oldest first */
    ws_client *ws_clients;   /* open WebSockets (loop thread) */
    uint64_t ws_last_id;     /* ids of WebSockets, never reused (loop thread) */
    h2o_linklist_t ws_dirty; /* sockets with frames to write (loop thread) */
    uv_prepare_t ws_flush;   /* writes them once per loop turn, while ws_dirty is not empty */
    ws_call *ws_call_free;   /* finished calls kept for reuse (loop thread) */
    size_t ws_call_free_count;
    int ws_max_calls_in_flight;   /* per socket; past it a call is answered `busy` */
    size_t ws_max_queued_bytes;   /* per socket; past it the socket is closed (1008) */
    size_t ws_max_total_queued_bytes; /* across sockets; past it the socket adding closes */
    size_t ws_queued_total;       /* bytes waiting to be sent, all sockets */
} server;

/* A call the server waits on. Its request may go away first (the client hung up): then
 * req is NULL and the answer is dropped. */
struct pending {
    pending *next;
    server *srv;
    pending_kind kind;
    h2o_req_t *req;
    struct pending_ref *ref; /* in req's pool; its dispose clears req */
    served_context *created; /* PENDING_CREATE: the context being made */
    uint64_t context_id;
    uint64_t start_ns;
    char *method, *path;     /* for the request log line; in p's own block (pending_new) */
    jsp_result *result;      /* NULL for a PENDING_CREATE whose context was not made: */
    int create_rc;           /* ... then why (jsp_context_new's code) */
};

/* api.c */
/* Serves every path under root. */
/* Registers /healthz, /metrics, /v1 and the fallback "/", each with the framing guard. */
void api_install(h2o_hostconf_t *host, server *srv);
void api_finish(server *srv, pending *p);

/* guard.c */
/* Prepares srv->token_digest from srv->token; false if SHA-256 is unavailable. */
bool guard_init(server *srv);
/* Rewrites h2o's own plain-text refusals (400 framing, 413 body too large) under path
 * into our JSON error shape, with a request log line; _host: for requests h2o refuses
 * before routing (bound to the host's fallback path). */
void guard_install(h2o_pathconf_t *path);
void guard_install_host(h2o_hostconf_t *host);
/* True when no token is configured, or the request carries it: `Authorization: Bearer
 * <token>` (scheme in any case), or for a WebSocket handshake a `bearer.<token>` entry
 * in Sec-WebSocket-Protocol. */
bool guard_is_authorized(server *srv, h2o_req_t *req);
/* The `bearer.<token>` entry of a handshake's Sec-WebSocket-Protocol that carries the
 * token (with no token configured: any `bearer.` entry), for the 101 to echo. */
bool guard_bearer_subprotocol(const server *srv, h2o_req_t *req, h2o_iovec_t *entry);
/* NULL, or why the request's framing is ambiguous (Content-Length with Transfer-Encoding,
 * Content-Lengths that disagree, a Transfer-Encoding other than chunked). An HTTP/1
 * request whose head cannot be read back is marked not persistent (fail closed). */
const char *guard_framing_problem(h2o_req_t *req);
/* The same verdict over a raw HTTP/1 request head (request line, header lines; CRLF or LF
 * line ends): the pure part, for tests and fuzzing. */
const char *guard_head_problem(const char *head, size_t head_len);

/* server.c */
void server_log_request(const char *method, const char *path, int status, uint64_t start_ns,
                        uint64_t context_id);
uint64_t server_now_ns(void);
/* Queued to the loop from any thread; done callback for every *_async call. */
void server_call_done(jsp_result *result, void *user);

#endif
