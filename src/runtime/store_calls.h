/* store_calls.h — a context's store on its runtime: the store opened with the context and
 * closed when it dies, one transaction per call (begun before its JS runs, held across its
 * awaits, ended when it settles), the call's result held back until its transaction is
 * durable, group commit driven by the loop, and the engine's `db` operations
 * (engine_host.h) inside the running transaction. The store itself is src/store/store.h;
 * the rules as users see them are docs/store.md. Runtime thread only. */
#ifndef JSP_RUNTIME_STORE_CALLS_H
#define JSP_RUNTIME_STORE_CALLS_H

#include <stdbool.h>

#include "engine/engine_host.h"
#include "jspool.h"

typedef struct runtime runtime;
typedef struct job job;
struct jsp_context;

/* Opens ctx's store (ctx->store_path) while the context is created: 0, or a JSP_ESTORE /
 * JSP_EINVAL / JSP_ENOMEM result in *error (the creation then fails with it). */
int store_calls_open(runtime *rt, struct jsp_context *ctx, jsp_result **error);
/* The context dies: an open transaction rolls back, waiting results are delivered once
 * their batch is durable, the store is closed. Call after its calls were failed. */
void store_calls_close(runtime *rt, struct jsp_context *ctx);

/* True when j must wait before it runs: it is a call of a store context and another call
 * holds the store's transaction (an awaiting call). Other jobs never wait. */
bool store_calls_must_wait(const struct jsp_context *ctx, const job *j);
/* Before a call (eval, call, module load) of a store context runs: opens its transaction
 * (for an eval or call only once the store has declared tables).
 * False when it could not (the store is broken): j is then completed with the error. */
bool store_calls_begin(runtime *rt, job *j);
/* A call ends with result: if it holds a transaction, the transaction ends (kept when
 * result is a success, else rolled back) and true is returned: result is delivered
 * (runtime_deliver) once the batch is durable, as the batch's error if it failed. False:
 * not a store call, deliver now. */
bool store_calls_finish(job *j, jsp_result *result);
/* A JS run left: the transactions that JS entries (timers, messages, microtasks) opened
 * for themselves while it was the innermost run end, kept unless it hit a limit. */
struct js_run;
void store_calls_entries_left(runtime *rt, struct js_run *run);

/* Group commit, between passes of the loop: a store whose oldest waiting call is older
 * than its batch delay, or every waiting store when is_idle (no runnable job left), is
 * committed; completions of synced batches are delivered. Returns the monotonic time by
 * which this must run again (0 = nothing waits). */
uint64_t store_calls_pump(runtime *rt, bool is_idle);
/* A store's sync thread finished a sync: wakes the runtime (any thread). */
void store_calls_synced(void *rt);

/* The engine's db operations for ctx (contracts in engine_host.h). */
int store_calls_schema(struct jsp_context *ctx, char **json, engine_db_error *err);
int store_calls_declare(struct jsp_context *ctx, const char *json, size_t len, engine_db_error *err);
int store_calls_get(struct jsp_context *ctx, const char *table, const char *key, size_t key_len,
                    const char **row, size_t *row_len, engine_db_error *err);
int store_calls_write(struct jsp_context *ctx, int op, const char *table, const char *json, size_t len,
                      bool *deleted, engine_db_error *err);
int store_calls_count(struct jsp_context *ctx, const char *table, const char *index,
                      const engine_db_range *range, int64_t *n, engine_db_error *err);
int store_calls_scan(struct jsp_context *ctx, const char *table, const char *index,
                     const engine_db_range *range, uint64_t *id, engine_db_error *err);
int store_calls_next(struct jsp_context *ctx, uint64_t id, const char **row, size_t *row_len,
                     engine_db_error *err);
void store_calls_close_iterator(struct jsp_context *ctx, uint64_t id);

/* localStorage in ctx's store (contracts in engine_host.h, local_*). */
bool store_calls_local_is_durable(const struct jsp_context *ctx);
int store_calls_local_get(struct jsp_context *ctx, const uint16_t *key, size_t key_units, const void **value,
                          size_t *value_units, engine_db_error *err);
int store_calls_local_set(struct jsp_context *ctx, const uint16_t *key, size_t key_units, const uint16_t *value,
                          size_t value_units, int64_t quota, engine_db_error *err);
int store_calls_local_remove(struct jsp_context *ctx, const uint16_t *key, size_t key_units, engine_db_error *err);
int store_calls_local_clear(struct jsp_context *ctx, engine_db_error *err);
int store_calls_local_count(struct jsp_context *ctx, int64_t *n, engine_db_error *err);
int store_calls_local_keys(struct jsp_context *ctx, int64_t first, int64_t max,
                           void (*each)(void *user, const void *key, size_t key_units), void *user,
                           engine_db_error *err);

/* Outside reads (jsp_store_tables / jsp_store_rows): run as a call of the context, in a
 * transaction that is rolled back; JSON into *out. */
jsp_result *store_calls_read(struct jsp_context *ctx, const job *j);

#endif
