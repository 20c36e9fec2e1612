/* job.h — one unit of work for a runtime thread: what it is (job_kind), what it carries,
 * and its allocation (context.c). Created by any thread (the pool's calls, other runtimes'
 * messages), run and freed by the context's runtime thread. Not the queue (job_queue.h). */
#ifndef JSP_RUNTIME_JOB_H
#define JSP_RUNTIME_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jspool.h"
#include "runtime/timers.h"
#include "util/list.h"

typedef struct job job;
struct jsp_context;

typedef enum job_kind {
    JOB_CREATE,
    JOB_DESTROY,
    JOB_EVAL,
    JOB_LOAD_MODULE,
    JOB_CALL,
    JOB_SEND,
    JOB_GLOBAL_GET,
    JOB_GLOBALS_LIST,
    JOB_GLOBALS_SNAPSHOT,
    JOB_GLOBALS_RESET,
    JOB_HOST_REPLY,
    JOB_CHANNEL_MESSAGE,  /* a BroadcastChannel or worker message: name = target, text = data */
    JOB_WORKER_START,     /* a new worker's source (text) and name (name) */
    JOB_MESSAGE_TASKS,    /* the channel group has message tasks queued in ctx's JS (at most
                             one such job per context: messaging.c) */
    JOB_LOCK_EVENT,            /* a Web Locks grant or steal for ctx (lock_requests.c) */
    JOB_FETCH_EVENT,      /* a fetch transfer has news for its JS (fetch.c): fetch_id */
    JOB_WS_EVENT,         /* a WebSocket has events for its JS (websocket_client.c): fetch_id = its id */
    JOB_STORE_READ,       /* jsp_store_tables (name NULL) / jsp_store_rows (name = table,
                             text = the key to start after, read_limit) */
    JOB_DOM_QUERY,        /* jsp_dom_*: text = selector, query_mode, read_limit = limit */
} job_kind;

/* What a JOB_DOM_QUERY answers (jspool.h's jsp_dom_answer and engine.h's enum
 * engine_dom_query, same order). */
enum job_dom_mode { JOB_DOM_FIND, JOB_DOM_FIND_ALL, JOB_DOM_TEXT, JOB_DOM_HTML };

/* One unit of work for a runtime thread. Created by any thread, run and freed by the
 * runtime thread. Text payloads live in the same allocation. */
struct job {
    job *next;
    job_kind kind;
    struct jsp_context *ctx;   /* a reference is held while the job exists */
    jsp_done_fn done;          /* NULL for jobs nobody waits on (send, destroy) */
    void *user;
    uint64_t call_id;          /* key in ctx->pending_calls while a Promise is awaited */
    jsp_host_call *host_call;  /* JOB_HOST_REPLY: the answered call */
    bool is_reply_ok;          /* JOB_HOST_REPLY: resolve (true) or reject */
    uint64_t lock_request_id;  /* JOB_LOCK_EVENT: the request, and ... */
    int lock_event;            /* ... what happened to it (enum engine_lock_event) */
    uint64_t fetch_id;         /* JOB_FETCH_EVENT: the transfer (per context) */
    const char *name;          /* JOB_CALL function / JOB_GLOBAL_GET name, in text[] */
    timer_entry *deadline;     /* wall-limit entry in the timer heap while a call runs */
    size_t message_bytes;      /* counted in ctx->queued_message_bytes until freed */
    uint64_t message_tag;      /* JOB_SEND: jsp_send_tagged's tag (0 = none) */
    uint64_t start_ns;         /* monotonic, when a call started running (0: never ran) */
    jsp_result *held_result;   /* a store call's result while its batch becomes durable */
    int64_t read_limit;        /* JOB_STORE_READ: rows per page; JOB_DOM_QUERY: elements */
    int query_mode;            /* JOB_DOM_QUERY: enum job_dom_mode */
    bool has_spare;            /* JOB_CREATE: a spare global was reserved for it (nobody waits) */
    size_t text_len;
    char text[];               /* source, JSON or reply text, NUL-terminated */
};

/* A runtime's ready list, a context's own jobs, the job queue (util/list.h). */
LIST_FIFO(job_list, job, next)

/* A job for ctx (a reference is taken; NULL ctx for host replies), with text and name
 * copied into it. NULL when out of memory. */
job *job_new(job_kind kind, struct jsp_context *ctx, const char *text, size_t text_len,
             const char *name);
void job_free(job *j);

#endif
