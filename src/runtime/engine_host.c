/* engine_host.c — the runtime as the engine's host: the one engine_host_ops instance the
 * runtime gives every VM it creates (engine_vm_new), and the only place an engine_host_ctx
 * becomes a context again. Each operation is a tail call into the file of its concept
 * (runtime.c: timers, entry, log, send; runtime_jobs.c: settled calls; host_calls.c;
 * messaging.c; lock_requests.c), where the contract is implemented. Not for logic. */
#include "engine/engine_locks.h"
#include "runtime/fetch.h"
#include "runtime/websocket_client.h"
#include "runtime/messaging.h"
#include "runtime/runtime.h"
#include "runtime/store_calls.h"

static void call_settled(engine_host_ctx *h, uint64_t call_id, jsp_result *result)
{
    runtime_call_settled(host_context(h), call_id, result);
}

static void context_entered(engine_host_ctx *h)
{
    runtime_context_entered(host_context(h));
}

static void context_left(engine_host_ctx *h)
{
    struct jsp_context *ctx = host_context(h);
    if (ctx && ctx->ws_dirty && !ctx->ws_in_job && !ctx->is_dead)
        ws_client_flush_context(ctx); /* what its JS sent in this turn, in one write */
    runtime_context_left(ctx);
}

static uint64_t set_timer(engine_host_ctx *h, engine_callback *cb, double delay_ms,
                          bool is_repeating)
{
    return runtime_set_timer(host_context(h), cb, delay_ms, is_repeating);
}

static void clear_timer(engine_host_ctx *h, uint64_t timer_id)
{
    runtime_clear_timer(host_context(h), timer_id);
}

static int host_call(engine_host_ctx *h, const char *name, char *args_json, size_t args_len,
                     engine_host_promise *p)
{
    return host_call_start(host_context(h), name, args_json, args_len, p);
}

static int host_call_sync(engine_host_ctx *h, const char *name, char *args_json, size_t args_len,
                          char **reply, size_t *reply_len)
{
    return host_call_run_sync(host_context(h), name, args_json, args_len, reply, reply_len);
}

static void host_send(engine_host_ctx *h, const char *json, size_t len)
{
    runtime_host_send(host_context(h), json, len);
}

static void log_message(engine_host_ctx *h, int level, const char *message)
{
    runtime_log(host_context(h), level, message);
}

static int broadcast_subscribe(engine_host_ctx *h, const char *key)
{
    return messaging_broadcast_subscribe(host_context(h), key);
}

static void broadcast_unsubscribe(engine_host_ctx *h, const char *key)
{
    messaging_broadcast_unsubscribe(host_context(h), key);
}

static void broadcast_post(engine_host_ctx *h, const char *key, const char *data, size_t len)
{
    messaging_broadcast_post(host_context(h), key, data, len);
}

static bool broadcast_has_peers(engine_host_ctx *h, const char *key)
{
    return messaging_broadcast_has_peers(host_context(h), key);
}

static const void *broadcast_generation(engine_host_ctx *h)
{
    return services_of(host_context(h))->broadcast_generation;
}

static int message_tasks_wake(engine_host_ctx *h)
{
    return messaging_wake_tasks(host_context(h));
}

static int worker_spawn(engine_host_ctx *h, const char *source, size_t len, const char *name,
                        uint64_t *id)
{
    return messaging_worker_spawn(host_context(h), source, len, name, id);
}

static void worker_post(engine_host_ctx *h, uint64_t id, const char *data, size_t len)
{
    messaging_worker_post(host_context(h), id, data, len);
}

static void worker_terminate(engine_host_ctx *h, uint64_t id)
{
    messaging_worker_terminate(host_context(h), id);
}

static void worker_post_to_parent(engine_host_ctx *h, const char *data, size_t len)
{
    messaging_worker_post_to_parent(host_context(h), data, len);
}

static void worker_report_error(engine_host_ctx *h, const char *json, size_t len)
{
    messaging_worker_report_error(host_context(h), json, len);
}

static void worker_close(engine_host_ctx *h)
{
    messaging_worker_close(host_context(h));
}

static int lock_request(engine_host_ctx *h, const uint16_t *name, size_t name_len, bool is_shared,
                        bool if_available, bool steal, uint64_t *request_id)
{
    return lock_requests_request(host_context(h), name, name_len, is_shared, if_available, steal,
                                 request_id);
}

static void lock_release(engine_host_ctx *h, uint64_t request_id)
{
    lock_requests_release(host_context(h), request_id);
}

static bool lock_abort(engine_host_ctx *h, uint64_t request_id)
{
    return lock_requests_abort(host_context(h), request_id);
}

static int lock_query(engine_host_ctx *h, engine_lock_snapshot *out)
{
    return lock_requests_query(host_context(h), out);
}

static int db_schema(engine_host_ctx *h, char **json, engine_db_error *err)
{
    return store_calls_schema(host_context(h), json, err);
}

static int db_declare(engine_host_ctx *h, const char *json, size_t len, engine_db_error *err)
{
    return store_calls_declare(host_context(h), json, len, err);
}

static int db_get(engine_host_ctx *h, const char *table, const char *key, size_t key_len, const char **row,
                  size_t *row_len, engine_db_error *err)
{
    return store_calls_get(host_context(h), table, key, key_len, row, row_len, err);
}

static int db_write(engine_host_ctx *h, int op, const char *table, const char *json, size_t len, bool *deleted,
                    engine_db_error *err)
{
    return store_calls_write(host_context(h), op, table, json, len, deleted, err);
}

static int db_count(engine_host_ctx *h, const char *table, const char *index, const engine_db_range *range,
                    int64_t *n, engine_db_error *err)
{
    return store_calls_count(host_context(h), table, index, range, n, err);
}

static int db_scan(engine_host_ctx *h, const char *table, const char *index, const engine_db_range *range,
                   uint64_t *id, engine_db_error *err)
{
    return store_calls_scan(host_context(h), table, index, range, id, err);
}

static int db_next(engine_host_ctx *h, uint64_t id, const char **row, size_t *row_len, engine_db_error *err)
{
    return store_calls_next(host_context(h), id, row, row_len, err);
}

static void db_close(engine_host_ctx *h, uint64_t id)
{
    store_calls_close_iterator(host_context(h), id);
}

static int64_t storage_quota(engine_host_ctx *h)
{
    return host_context(h)->storage_quota;
}

static bool local_is_durable(engine_host_ctx *h)
{
    return store_calls_local_is_durable(host_context(h));
}

static int local_get(engine_host_ctx *h, const uint16_t *key, size_t key_units, const void **value,
                     size_t *value_units, engine_db_error *err)
{
    return store_calls_local_get(host_context(h), key, key_units, value, value_units, err);
}

static int local_set(engine_host_ctx *h, const uint16_t *key, size_t key_units, const uint16_t *value,
                     size_t value_units, int64_t quota, engine_db_error *err)
{
    return store_calls_local_set(host_context(h), key, key_units, value, value_units, quota, err);
}

static int local_remove(engine_host_ctx *h, const uint16_t *key, size_t key_units, engine_db_error *err)
{
    return store_calls_local_remove(host_context(h), key, key_units, err);
}

static int local_clear(engine_host_ctx *h, engine_db_error *err)
{
    return store_calls_local_clear(host_context(h), err);
}

static int local_count(engine_host_ctx *h, int64_t *n, engine_db_error *err)
{
    return store_calls_local_count(host_context(h), n, err);
}

static int local_keys(engine_host_ctx *h, int64_t first, int64_t max,
                      void (*each)(void *user, const void *key, size_t key_units), void *user,
                      engine_db_error *err)
{
    return store_calls_local_keys(host_context(h), first, max, each, user, err);
}

static int fetch_start_op(engine_host_ctx *h, const engine_fetch_request *req, uint64_t *id, char *error,
                          size_t error_len)
{
    return fetch_start(host_context(h), req, id, error, error_len);
}

static int fetch_read_op(engine_host_ctx *h, uint64_t id, char **data, size_t *len, char *error, size_t error_len)
{
    return fetch_read(host_context(h), id, data, len, error, error_len);
}

static void fetch_abort_op(engine_host_ctx *h, uint64_t id)
{
    fetch_abort(host_context(h), id);
}

static int ws_open_op(engine_host_ctx *h, const engine_ws_request *req, uint64_t *id, char *error, size_t error_len)
{
    return ws_client_open(host_context(h), req, id, error, error_len);
}

static int ws_send_op(engine_host_ctx *h, uint64_t id, const void *data, size_t len, bool is_binary, char *error,
                      size_t error_len)
{
    return ws_client_send(host_context(h), id, data, len, is_binary, error, error_len);
}

static void ws_close_op(engine_host_ctx *h, uint64_t id, int code, const char *reason, size_t reason_len)
{
    ws_client_close(host_context(h), id, code, reason, reason_len);
}

static uint64_t ws_buffered_op(engine_host_ctx *h, uint64_t id)
{
    return ws_client_buffered(host_context(h), id);
}

const engine_host_ops runtime_engine_host = {
    .call_settled = call_settled,
    .context_entered = context_entered,
    .context_left = context_left,
    .set_timer = set_timer,
    .clear_timer = clear_timer,
    .host_call = host_call,
    .host_call_sync = host_call_sync,
    .host_send = host_send,
    .log = log_message,
    .broadcast_subscribe = broadcast_subscribe,
    .broadcast_unsubscribe = broadcast_unsubscribe,
    .broadcast_post = broadcast_post,
    .broadcast_has_peers = broadcast_has_peers,
    .broadcast_generation = broadcast_generation,
    .message_tasks_wake = message_tasks_wake,
    .worker_spawn = worker_spawn,
    .worker_post = worker_post,
    .worker_terminate = worker_terminate,
    .worker_post_to_parent = worker_post_to_parent,
    .worker_report_error = worker_report_error,
    .worker_close = worker_close,
    .lock_request = lock_request,
    .lock_release = lock_release,
    .lock_abort = lock_abort,
    .lock_query = lock_query,
    .db_schema = db_schema,
    .db_declare = db_declare,
    .db_get = db_get,
    .db_write = db_write,
    .db_count = db_count,
    .db_scan = db_scan,
    .db_next = db_next,
    .db_close = db_close,
    .storage_quota = storage_quota,
    .local_is_durable = local_is_durable,
    .local_get = local_get,
    .local_set = local_set,
    .local_remove = local_remove,
    .local_clear = local_clear,
    .local_count = local_count,
    .local_keys = local_keys,
    .fetch_start = fetch_start_op,
    .fetch_read = fetch_read_op,
    .fetch_abort = fetch_abort_op,
    .ws_open = ws_open_op,
    .ws_send = ws_send_op,
    .ws_close = ws_close_op,
    .ws_buffered = ws_buffered_op,
};
