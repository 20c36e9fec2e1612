/* engine_host.h — everything the engine asks of its host, as one table of operations.
 * The engine (src/engine/) never names a function of the layers above it: the host (the
 * runtime, src/runtime/engine_host.c; or a fake in tests/engine/test_engine_host.c) gives
 * engine_vm_new one `const engine_host_ops`, and each context an engine_host_ctx it is
 * handed back in every operation. Not for calls from the host down: those are engine.h.
 *
 * Every operation runs on the VM's runtime thread, from a JS native or from the engine's
 * entry into the VM, and must not re-enter the engine with JS of the same context except
 * where said (host_call_sync, which runs other contexts' work: in other VMs, or without
 * JS). A NULL host_ctx is the VM's own context (names only, no guest JS): operations
 * reached from it are the entered/left pair and log, which must accept it.
 *
 * Cost: a trivial call goes through two operations (entered/left), each an indirect call;
 * bench_calls --only callback_refill measured no difference beyond the machine's noise
 * against the link-time calls this table replaced (task-clock medians +1.5% / -0.1% and
 * +0.0% / -2.9% in two sittings, with and without limits). */
#ifndef JSP_ENGINE_HOST_H
#define JSP_ENGINE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jspool.h"

/* The host's object for one context: opaque to the engine, given to engine_ctx_new. */
typedef struct engine_host_ctx engine_host_ctx;
typedef struct engine_callback engine_callback;         /* a kept JS function (engine.h) */
typedef struct engine_host_promise engine_host_promise; /* a pending host.call() Promise */
typedef struct engine_lock_snapshot engine_lock_snapshot; /* engine_locks.h */
typedef struct engine_fetch_request engine_fetch_request; /* engine_fetch.h */
typedef struct engine_ws_request engine_ws_request;       /* engine_websocket.h */

/* ---- db (store group): a context's durable tables ----
 * What a refused operation throws: a JS error class (TypeError, RangeError,
 * ConstraintError, NotFoundError, StoreError) and a sentence naming the table/column. */
typedef struct engine_db_error {
    const char *name;
    char message[256];
} engine_db_error;

/* A key range over a table's primary key or an index: JSON texts of one value (NULL =
 * unbounded); lo inclusive unless lo_exclusive, hi exclusive unless hi_inclusive. */
typedef struct engine_db_range {
    const char *lo, *hi;
    bool lo_exclusive, hi_inclusive, reverse;
} engine_db_range;

enum engine_db_write { ENGINE_DB_INSERT, ENGINE_DB_UPDATE, ENGINE_DB_UPSERT, ENGINE_DB_DELETE };

/* set_timer's answer when the context has as many live timers as the host allows. */
#define ENGINE_TIMER_CAPPED UINT64_MAX

typedef struct engine_host_ops {
    /* ---- calls ---- */
    /* A Promise returned by engine_eval/engine_call settled; takes ownership of result. */
    void (*call_settled)(engine_host_ctx *h, uint64_t call_id, jsp_result *result);
    /* The context starts / stops running JS (engine_entered; nested pairs allowed). The
     * host must hold back the context's jobs and timers meanwhile, so it is neither
     * re-entered nor destroyed with its JS on the stack: that can happen when another
     * context's microtask, drained inside this context's entry, blocks in host.callSync
     * and the host serves jobs meanwhile. */
    void (*context_entered)(engine_host_ctx *h);
    void (*context_left)(engine_host_ctx *h);

    /* ---- timers (setTimeout / setInterval) ---- */
    /* Takes ownership of cb. The timer id (> 0), or 0 when out of memory, or
     * ENGINE_TIMER_CAPPED (cb is freed in both cases). */
    uint64_t (*set_timer)(engine_host_ctx *h, engine_callback *cb, double delay_ms,
                          bool is_repeating);
    void (*clear_timer)(engine_host_ctx *h, uint64_t timer_id); /* unknown ids ignored */

    /* ---- host.call / host.callSync / host.send / console ---- */
    /* Takes ownership of p and args_json (malloc'd). 0 (the host settles p later with
     * engine_host_promise_settle, or now with a refusal), or JSP_ENOTFOUND for an
     * unregistered name (args are then freed, p is the engine's again). */
    int (*host_call)(engine_host_ctx *h, const char *name, char *args_json, size_t args_len,
                     engine_host_promise *p);
    /* Blocks this context until answered (the host may run other contexts' work meanwhile,
     * but no JS in this VM: its one microtask queue holds this context's microtasks, see
     * engine_entered). Takes ownership of args_json. 0 with *reply (malloc'd JSON), JSP_EJS
     * with *reply (malloc'd message), or JSP_ENOTFOUND / JSP_ECLOSED / JSP_EDESTROYED /
     * JSP_EWALL_LIMIT / JSP_ENOMEM (no reply). */
    int (*host_call_sync)(engine_host_ctx *h, const char *name, char *args_json,
                          size_t args_len, char **reply, size_t *reply_len);
    void (*host_send)(engine_host_ctx *h, const char *json, size_t len); /* json borrowed */
    /* level is a JSP_LOG_* value; message is borrowed. */
    void (*log)(engine_host_ctx *h, int level, const char *message);

    /* ---- BroadcastChannel (channel group); key is the channel name as JSON text ---- */
    /* 0, JSP_ETOO_MANY (too many names open in this context) or JSP_ENOMEM. */
    int (*broadcast_subscribe)(engine_host_ctx *h, const char *key);
    void (*broadcast_unsubscribe)(engine_host_ctx *h, const char *key);
    /* Queues data to every other context with a channel of that key open (this one's own
     * channels get the post in its JS, channel.js). */
    void (*broadcast_post)(engine_host_ctx *h, const char *key, const char *data, size_t len);
    /* Whether another context has a channel of that key open (a post with none to reach is
     * not serialized). */
    bool (*broadcast_has_peers)(engine_host_ctx *h, const char *key);
    /* The address of a 32-bit counter that changes whenever any context opens a name it
     * had none of or closes its last one; it stays valid while any context can run. JS
     * reads it (only) to know when a has_peers answer may have changed. NULL: ask always. */
    const void *(*broadcast_generation)(engine_host_ctx *h);
    /* The channel group queued message tasks in this context's JS: the host runs them
     * (engine_messaging_run_task) in a job of their own, soon; cheap when one is already
     * queued. 0, JSP_ENOMEM, or JSP_ECLOSED (the pool is closing). */
    int (*message_tasks_wake)(engine_host_ctx *h);

    /* ---- Worker (worker group) ---- */
    /* Parent side: 0 and the new worker's id, or JSP_ETOO_MANY (worker limit),
     * JSP_ECLOSED, JSP_ENOMEM. */
    int (*worker_spawn)(engine_host_ctx *h, const char *source, size_t len, const char *name,
                        uint64_t *id);
    void (*worker_post)(engine_host_ctx *h, uint64_t id, const char *data, size_t len);
    void (*worker_terminate)(engine_host_ctx *h, uint64_t id);
    /* Child side (no-ops in a context that is not a worker). */
    void (*worker_post_to_parent)(engine_host_ctx *h, const char *data, size_t len);
    void (*worker_report_error)(engine_host_ctx *h, const char *json, size_t len);
    void (*worker_close)(engine_host_ctx *h);

    /* ---- navigator.locks (locks group; engine_locks.h has the types and limits) ---- */
    /* Queues a request (name is UTF-16, copied). 0 and *request_id (a GRANTED event follows
     * through engine_locks_deliver, never synchronously), ENGINE_LOCK_NOT_AVAILABLE,
     * JSP_ETOO_MANY or JSP_ENOMEM. */
    int (*lock_request)(engine_host_ctx *h, const uint16_t *name, size_t name_len,
                        bool is_shared, bool if_available, bool steal, uint64_t *request_id);
    /* Releases a held lock of this context; unknown ids are ignored (stolen, dropped). */
    void (*lock_release)(engine_host_ctx *h, uint64_t request_id);
    /* Removes a still-pending request; false when it is no longer pending. */
    bool (*lock_abort)(engine_host_ctx *h, uint64_t request_id);
    /* Every held and pending request in the context's namespace. 0 or JSP_ENOMEM. */
    int (*lock_query)(engine_host_ctx *h, engine_lock_snapshot *out);

    /* ---- db (store group; the runtime's store_calls.c) ----
     * Each runs inside the transaction of the JS that is running (the host opens one if
     * none is); each returns 0 or a negative JSP_E* code with *err filled (what to
     * throw). Row and key texts are JSON; a returned row is borrowed until the next db
     * operation of the context. */
    /* The tables the context's store declares now, as declaration JSON (malloc'd into
     * *json): {"tables": {name: {"columns": {...}, "primaryKey": col, "indexes": {...}}}}. */
    int (*db_schema)(engine_host_ctx *h, char **json, engine_db_error *err);
    /* Declares (and migrates to) the tables of declaration json ({"tables": ...}). */
    int (*db_declare)(engine_host_ctx *h, const char *json, size_t len, engine_db_error *err);
    /* *row = NULL when absent. */
    int (*db_get)(engine_host_ctx *h, const char *table, const char *key, size_t key_len,
                  const char **row, size_t *row_len, engine_db_error *err);
    /* op is an enum engine_db_write; json is a row, or a key for ENGINE_DB_DELETE, which
     * sets *deleted (whether a row was there). */
    int (*db_write)(engine_host_ctx *h, int op, const char *table, const char *json, size_t len,
                    bool *deleted, engine_db_error *err);
    /* index NULL = the primary key; range NULL = every row. */
    int (*db_count)(engine_host_ctx *h, const char *table, const char *index,
                    const engine_db_range *range, int64_t *n, engine_db_error *err);
    /* Opens an iterator that lives until db_close or the end of the transaction (the host
     * closes it then and logs it): *id > 0. */
    int (*db_scan)(engine_host_ctx *h, const char *table, const char *index,
                   const engine_db_range *range, uint64_t *id, engine_db_error *err);
    /* 1 and the next row, 0 at the end (the iterator is then closed), or an error (an
     * unknown id: its transaction ended). */
    int (*db_next)(engine_host_ctx *h, uint64_t id, const char **row, size_t *row_len,
                   engine_db_error *err);
    void (*db_close)(engine_host_ctx *h, uint64_t id); /* unknown ids ignored */

    /* ---- Web Storage (storage group; the runtime's store_calls.c) ----
     * The context's quota per area in UTF-16 code units (NULL: ENGINE_STORAGE_QUOTA). */
    int64_t (*storage_quota)(engine_host_ctx *h);
    /* True when this context's localStorage is kept in its store (NULL or false: it lives
     * in the context's heap, as sessionStorage always does). The local_* operations then
     * work like the db ones: inside the running JS's transaction, 0 or a negative JSP_E*
     * code with *err filled (what to throw). Keys and values are UTF-16 code units; a
     * returned one is borrowed until the next operation and may be unaligned (copy it). */
    bool (*local_is_durable)(engine_host_ctx *h);
    /* 1 and the value, or 0 when key is absent. */
    int (*local_get)(engine_host_ctx *h, const uint16_t *key, size_t key_units, const void **value,
                     size_t *value_units, engine_db_error *err);
    /* 0, or 1 when the area would pass quota units (nothing written: QuotaExceededError). */
    int (*local_set)(engine_host_ctx *h, const uint16_t *key, size_t key_units, const uint16_t *value,
                     size_t value_units, int64_t quota, engine_db_error *err);
    int (*local_remove)(engine_host_ctx *h, const uint16_t *key, size_t key_units, engine_db_error *err);
    int (*local_clear)(engine_host_ctx *h, engine_db_error *err);
    int (*local_count)(engine_host_ctx *h, int64_t *n, engine_db_error *err);
    /* each(user, key, units) for the keys in key() order from index first, at most max of
     * them (max < 0: all). */
    int (*local_keys)(engine_host_ctx *h, int64_t first, int64_t max,
                      void (*each)(void *user, const void *key, size_t key_units), void *user,
                      engine_db_error *err);
    /* ---- fetch (fetch group; engine_fetch.h has the types; src/runtime/fetch.c) ----
     * Transfers run on the host's loop; their events come back through
     * engine_fetch_deliver, never synchronously. */
    /* Starts a request: 0 and *id (> 0), or -1 with error filled: why the context's egress
     * policy or limits refuse it, or what is wrong with it (thrown as a TypeError). */
    int (*fetch_start)(engine_host_ctx *h, const engine_fetch_request *req, uint64_t *id,
                       char *error, size_t error_len);
    /* The next piece of a response's body: an enum engine_fetch_read. */
    int (*fetch_read)(engine_host_ctx *h, uint64_t id, char **data, size_t *len, char *error,
                      size_t error_len);
    /* Stops a transfer and forgets it; unknown ids are ignored. */
    void (*fetch_abort)(engine_host_ctx *h, uint64_t id);

    /* ---- WebSocket clients (websocket group; engine_websocket.h has the types;
     * src/runtime/websocket_client.c) ----
     * A socket lives until its close event was delivered (a call's end does not close it;
     * the context's destroy or VM recycle does, without events). Its events come back
     * through engine_ws_deliver, never synchronously. */
    /* Opens a connection: 0 and *id (> 0), or -1 with error filled (out of memory only:
     * refusals by the egress policy or limits arrive as an error and close event). */
    int (*ws_open)(engine_host_ctx *h, const engine_ws_request *req, uint64_t *id, char *error,
                   size_t error_len);
    /* Queues a message (text: is_binary false, valid UTF-8). 0; 1 when the socket is no
     * longer open (the bytes are dropped, as the standard says: only bufferedAmount grows);
     * -1 with error when the context's send buffer is full (the socket is then failed). */
    int (*ws_send)(engine_host_ctx *h, uint64_t id, const void *data, size_t len, bool is_binary,
                   char *error, size_t error_len);
    /* Starts the closing handshake (code 0: none), or abandons a connection not open yet.
     * Unknown ids are ignored. */
    void (*ws_close)(engine_host_ctx *h, uint64_t id, int code, const char *reason, size_t reason_len);
    /* Bytes of sent messages not yet handed to the network (0 for unknown ids). */
    uint64_t (*ws_buffered)(engine_host_ctx *h, uint64_t id);
} engine_host_ops;

/* The Web Storage quota when the host names none: 5 Mi UTF-16 code units per area. */
#define ENGINE_STORAGE_QUOTA ((int64_t)JSP_DEFAULT_STORAGE_QUOTA)
/* What each item costs against the quota beyond its key and value (STORE_LOCAL_ITEM_UNITS
 * too): a JSC Map entry with two strings holds ~100-150 bytes besides their characters,
 * so without it 5 Mi one-unit items would be ~600 MiB of heap under a 5 Mi quota. */
#define ENGINE_STORAGE_ITEM_UNITS 32

#endif
