/* store_calls.c — see store_calls.h. A store context's transaction is either a call's
 * (ctx->store_call: begun before the call's JS runs, ended when it settles, so an awaiting
 * call keeps it and the context's next calls wait) or a JS entry's own (a timer, a message,
 * a microtask that touched `db` while no call held it: ended when the outermost JS run on
 * the thread leaves). Rules and reasons: docs/store.md "Calls". */
#include "runtime/store_calls.h"

#include "apis/api_groups.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "util/list.h"
#include "util/result.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool needs_store(const job *j)
{
    return j->kind == JOB_EVAL || j->kind == JOB_CALL || j->kind == JOB_LOAD_MODULE ||
           j->kind == JOB_STORE_READ;
}

static void copy_error(const store_error *from, engine_db_error *to)
{
    to->name = from->name ? from->name : "StoreError";
    snprintf(to->message, sizeof(to->message), "%s", from->message);
}

static int fail(engine_db_error *err, int code, const char *name, const char *message)
{
    err->name = name;
    snprintf(err->message, sizeof(err->message), "%s", message);
    return code;
}

/* ---- opening and closing ---- */

LIST_DLIST(store_context_list, struct jsp_context, store_prev, store_next)

int store_calls_open(runtime *rt, struct jsp_context *ctx, jsp_result **error)
{
    store_config cfg = {
        .durability = ctx->store_durability,
        .max_rows_written = ctx->store_max_rows,
        .max_bytes_written = ctx->store_max_bytes,
        .max_file_bytes = ctx->store_max_file_bytes,
        .background_sync = ctx->store_durability == STORE_DURABLE_SYNC,
        .wake = store_calls_synced,
        .wake_user = rt,
        .local_storage = store_calls_local_is_durable(ctx),
    };
    store_error err = {0};
    int rc = store_open(ctx->store_path, &cfg, &ctx->store, &err);
    if (rc) {
        *error = result_error(rc, err.name ? err.name : "StoreError", err.message);
        return rc;
    }
    store_context_list_push_front(&rt->store_contexts, NULL, ctx);
    return 0;
}

static void forget_iterators(struct jsp_context *ctx)
{
    u64_map_free(&ctx->store_iters); /* the store closed and freed them */
}

static void unlink_entry(runtime *rt, struct jsp_context *ctx)
{
    for (struct jsp_context **p = &rt->store_entries; *p; p = &(*p)->store_entry_next)
        if (*p == ctx) {
            *p = ctx->store_entry_next;
            break;
        }
    ctx->store_entry_next = NULL;
}

void store_calls_close(runtime *rt, struct jsp_context *ctx)
{
    if (!ctx->store)
        return;
    if (ctx->store_txn_open && !ctx->store_call)
        unlink_entry(rt, ctx);
    ctx->store_txn_open = false;
    ctx->store_call = NULL;
    forget_iterators(ctx);
    store_close(ctx->store); /* rolls back an open call; delivers the batch's results */
    ctx->store = NULL;
    services_of(ctx)->store_released(services_of(ctx)->stores, ctx); /* the file is free */
    store_context_list_remove(&rt->store_contexts, NULL, ctx);
}

/* ---- transactions ---- */

/* Reads of the transaction stop by then: the smaller of the call's CPU and wall limits
 * from now. A store read is C, not JS: the watchdog cannot stop it. */
static void set_deadline(struct jsp_context *ctx)
{
    uint64_t ms = ctx->wall_limit_ms;
    if (ctx->cpu_limit_ms && (!ms || ctx->cpu_limit_ms < ms))
        ms = ctx->cpu_limit_ms; /* a read in C is CPU the watchdog cannot see */
    store_call_deadline(ctx->store, ms ? (int64_t)(monotonic_ns() + ms * 1000000ull) : 0);
}

static void log_leftover_iterators(struct jsp_context *ctx, int leftover)
{
    if (leftover <= 0)
        return;
    atomic_fetch_add_explicit(&ctx->rt->metrics.leaked_iterators, (uint64_t)leftover, memory_order_relaxed);
    char line[160];
    snprintf(line, sizeof(line), "a transaction left %d row iterator(s) open; closed", leftover);
    runtime_log(ctx, JSP_LOG_WARN, line);
}

/* Opens a transaction for JS running outside any call's (a timer, a message): it ends
 * when the outermost run leaves (store_calls_entries_left). */
static int ensure_transaction(struct jsp_context *ctx, engine_db_error *err)
{
    if (ctx->store_txn_open)
        return 0;
    if (ctx->store_call) /* the call's transaction was lost (a declare could not reopen it) */
        return fail(err, JSP_ESTORE, "StoreError", "this call's transaction was lost; it will fail");
    if (store_call_begin(ctx->store)) {
        copy_error(store_last_error(ctx->store), err);
        return store_last_error(ctx->store)->code;
    }
    set_deadline(ctx);
    ctx->store_txn_open = true;
    ctx->store_txn_declared = false;
    ctx->store_entry_run = ctx->rt->current_run;
    ctx->store_entry_next = ctx->rt->store_entries;
    ctx->rt->store_entries = ctx;
    return 0;
}

static void end_entry(struct jsp_context *ctx, bool is_ok)
{
    int leftover = 0;
    ctx->store_txn_open = false;
    store_call_end(ctx->store, is_ok, NULL, NULL, &leftover);
    forget_iterators(ctx);
    log_leftover_iterators(ctx, leftover);
}

void store_calls_entries_left(runtime *rt, struct js_run *run)
{
    /* each with the verdict of the run that opened it (a timer that hit its limit inside a
     * sibling's host.callSync wait is rolled back; a sibling's limit does not roll back a
     * timer that ended well); one opened with no run running ends with the outermost */
    for (struct jsp_context **p = &rt->store_entries; *p;) {
        struct jsp_context *ctx = *p;
        if (ctx->store_entry_run != run && !(ctx->store_entry_run == NULL && run->parent == NULL)) {
            p = &ctx->store_entry_next;
            continue;
        }
        *p = ctx->store_entry_next;
        ctx->store_entry_next = NULL;
        ctx->store_entry_run = NULL;
        end_entry(ctx, !run->budget.tripped);
    }
}

bool store_calls_must_wait(const struct jsp_context *ctx, const job *j)
{
    return ctx->store_call != NULL && needs_store(j);
}

bool store_calls_begin(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    /* Until the context declares tables its calls are plain ones (a module that never uses
     * db keeps calls that await running side by side); a module load always begins one,
     * so the declaration and seeding at its top are one transaction with it. */
    if (!ctx->store || (j->kind != JOB_LOAD_MODULE && store_declared_tables(ctx->store) == 0 &&
                        !store_calls_local_is_durable(ctx)))
        return true; /* (with localStorage in the store, every call is a transaction) */
    if (ctx->store_txn_open && !ctx->store_call) { /* an entry's, left by a nested run */
        unlink_entry(rt, ctx);
        end_entry(ctx, true);
    }
    if (store_call_begin(ctx->store)) {
        const store_error *e = store_last_error(ctx->store);
        runtime_complete(j, result_error(e->code, e->name ? e->name : "StoreError", e->message));
        return false;
    }
    set_deadline(ctx);
    ctx->store_txn_open = true;
    ctx->store_txn_declared = false;
    ctx->store_call = j;
    return true;
}

/* The call's batch is durable (outcome OK) or failed; a store verdict on the call itself
 * (its write limit, a read past its deadline, a fault) is the outcome too. Either way the
 * outcome's error replaces what the JS returned or threw. */
static void delivered(void *user, const store_error *outcome)
{
    job *j = user;
    jsp_result *result = j->held_result;
    j->held_result = NULL;
    if (outcome->code) {
        jsp_result_free(result);
        result = result_error(outcome->code, outcome->name ? outcome->name : "StoreError", outcome->message);
    }
    runtime_metrics *m = &j->ctx->rt->metrics;
    atomic_fetch_add_explicit(result->code == JSP_OK ? &m->store_commits : &m->store_rollbacks, 1,
                              memory_order_relaxed);
    runtime_deliver(j, result);
}

bool store_calls_finish(job *j, jsp_result *result)
{
    struct jsp_context *ctx = j->ctx;
    if (!ctx->store || ctx->store_call != j)
        return false;
    ctx->store_call = NULL;
    if (!ctx->store_txn_open) { /* lost when a db.declare could not reopen it */
        jsp_result_free(result);
        const store_error *e = store_last_error(ctx->store);
        runtime_deliver(j, result_error(e->code ? e->code : JSP_ESTORE, "StoreError",
                                        e->message[0] ? e->message : "the call's transaction was lost"));
        runtime_offer_turn(ctx->rt, ctx);
        return true;
    }
    ctx->store_txn_open = false;
    j->held_result = result;
    int leftover = 0;
    store_call_end(ctx->store, result->code == JSP_OK, delivered, j, &leftover);
    forget_iterators(ctx);
    log_leftover_iterators(ctx, leftover);
    runtime_offer_turn(ctx->rt, ctx); /* calls that waited for the store may run */
    return true;
}

/* ---- group commit ---- */

void store_calls_synced(void *user)
{
    runtime *rt = user;
    atomic_store_explicit(&rt->stores_synced, true, memory_order_release);
    job_queue_poke(&rt->queue); /* its loop, or its wait inside host.callSync */
}

uint64_t store_calls_pump(runtime *rt, bool is_idle)
{
    if (atomic_exchange_explicit(&rt->stores_synced, false, memory_order_acq_rel))
        for (struct jsp_context *ctx = rt->store_contexts; ctx; ctx = ctx->store_next)
            store_poll(ctx->store, false);
    uint64_t now = monotonic_ns(), next = 0;
    for (struct jsp_context *ctx = rt->store_contexts; ctx; ctx = ctx->store_next) {
        int64_t due = store_flush_deadline(ctx->store);
        if (!due)
            continue;
        if (is_idle || (uint64_t)due <= now) {
            store_flush(ctx->store);
            due = store_flush_deadline(ctx->store); /* a writing call still open */
            if (!due)
                continue;
            if ((uint64_t)due <= now)
                due = (int64_t)now + 1000000; /* look again in 1 ms */
        }
        if (!next || (uint64_t)due < next)
            next = (uint64_t)due;
    }
    return next;
}

/* ---- the engine's db operations ---- */

static int op_result(struct jsp_context *ctx, int rc, engine_db_error *err)
{
    if (rc)
        copy_error(store_last_error(ctx->store), err);
    return rc;
}

int store_calls_schema(struct jsp_context *ctx, char **json, engine_db_error *err)
{
    *json = store_schema_json(ctx->store);
    return *json ? 0 : fail(err, JSP_ENOMEM, "RangeError", "out of memory");
}

int store_calls_declare(struct jsp_context *ctx, const char *json, size_t len, engine_db_error *err)
{
    store *s = ctx->store;
    int rc = ensure_transaction(ctx, err);
    if (rc)
        return rc;
    /* A declaration commits at once (and syncs when it changes something), outside any
     * call: the transaction steps aside for it, having read nothing the declaration could
     * change under it. Once per transaction, so a loop of declarations cannot hold the
     * runtime thread in fsyncs. */
    if (store_call_doom(s)) { /* stepping aside would clear the verdict */
        copy_error(store_call_doom(s), err);
        return store_call_doom(s)->code;
    }
    if (store_call_has_written(s))
        return fail(err, JSP_EINVAL, "TypeError", "db.declare must come before the first write of a call");
    if (ctx->store_txn_declared)
        return fail(err, JSP_EINVAL, "TypeError",
                    "db.declare runs once per call (declare every table at the top of the module)");
    int leftover = 0;
    store_call_end(s, true, NULL, NULL, &leftover);
    forget_iterators(ctx);
    log_leftover_iterators(ctx, leftover);
    rc = op_result(ctx, store_declare(s, json, len), err);
    if (store_call_begin(s) != 0) {
        if (!rc)
            rc = op_result(ctx, store_last_error(s)->code, err);
        if (!ctx->store_call)
            unlink_entry(ctx->rt, ctx);
        ctx->store_txn_open = false; /* the call ends with the store's error */
    } else {
        set_deadline(ctx);
        ctx->store_txn_declared = true;
    }
    return rc;
}

int store_calls_get(struct jsp_context *ctx, const char *table, const char *key, size_t key_len,
                    const char **row, size_t *row_len, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    if (rc)
        return rc;
    return op_result(ctx, store_get(ctx->store, table, key, key_len, row, row_len), err);
}

int store_calls_write(struct jsp_context *ctx, int op, const char *table, const char *json, size_t len,
                      bool *deleted, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    if (rc)
        return rc;
    store *s = ctx->store;
    switch (op) {
    case ENGINE_DB_INSERT: rc = store_insert(s, table, json, len); break;
    case ENGINE_DB_UPDATE: rc = store_update(s, table, json, len); break;
    case ENGINE_DB_UPSERT: rc = store_upsert(s, table, json, len); break;
    default: rc = store_delete(s, table, json, len, deleted); break;
    }
    return op_result(ctx, rc, err);
}

static store_range to_store_range(const engine_db_range *r)
{
    return (store_range){.lo = r->lo,
                         .hi = r->hi,
                         .lo_exclusive = r->lo_exclusive,
                         .hi_inclusive = r->hi_inclusive,
                         .reverse = r->reverse};
}

int store_calls_count(struct jsp_context *ctx, const char *table, const char *index,
                      const engine_db_range *range, int64_t *n, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    if (rc)
        return rc;
    store_range r = range ? to_store_range(range) : (store_range){0};
    return op_result(ctx, store_count(ctx->store, table, index, range ? &r : NULL, n), err);
}

int store_calls_scan(struct jsp_context *ctx, const char *table, const char *index,
                     const engine_db_range *range, uint64_t *id, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    if (rc)
        return rc;
    store_range r = range ? to_store_range(range) : (store_range){0};
    store_iter *it = NULL;
    if ((rc = store_scan(ctx->store, table, index, range ? &r : NULL, &it)))
        return op_result(ctx, rc, err);
    *id = ++ctx->rt->next_iterator_id;
    if (u64_map_put(&ctx->store_iters, *id, it) != 0) {
        store_iter_close(it);
        return fail(err, JSP_ENOMEM, "RangeError", "out of memory");
    }
    return 0;
}

int store_calls_next(struct jsp_context *ctx, uint64_t id, const char **row, size_t *row_len,
                     engine_db_error *err)
{
    store_iter *it = id ? u64_map_get(&ctx->store_iters, id) : NULL;
    if (!it)
        return fail(err, JSP_EINVAL, "TypeError",
                    "db: this iterator was closed (the call or handler that opened it ended)");
    int rc = store_iter_next(it, row, row_len);
    if (rc == 1)
        return 1;
    u64_map_remove(&ctx->store_iters, id);
    store_iter_close(it);
    return rc == 0 ? 0 : op_result(ctx, rc, err);
}

void store_calls_close_iterator(struct jsp_context *ctx, uint64_t id)
{
    store_iter *it = u64_map_remove(&ctx->store_iters, id);
    if (it)
        store_iter_close(it);
}

/* ---- localStorage ---- */

_Static_assert(STORE_LOCAL_ITEM_UNITS == ENGINE_STORAGE_ITEM_UNITS, "one cost per item, in memory or stored");

bool store_calls_local_is_durable(const struct jsp_context *ctx)
{
    return ctx->store_path && ctx->apis_mask & 1u << API_STORAGE;
}

int store_calls_local_get(struct jsp_context *ctx, const uint16_t *key, size_t key_units, const void **value,
                          size_t *value_units, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    if (rc)
        return rc;
    size_t bytes = 0;
    rc = store_local_get(ctx->store, key, key_units * 2, value, &bytes);
    *value_units = bytes / 2;
    return rc < 0 ? op_result(ctx, rc, err) : rc;
}

int store_calls_local_set(struct jsp_context *ctx, const uint16_t *key, size_t key_units, const uint16_t *value,
                          size_t value_units, int64_t quota, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    if (rc)
        return rc;
    rc = store_local_set(ctx->store, key, key_units * 2, value, value_units * 2, quota);
    return rc < 0 ? op_result(ctx, rc, err) : rc;
}

int store_calls_local_remove(struct jsp_context *ctx, const uint16_t *key, size_t key_units, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    return rc ? rc : op_result(ctx, store_local_remove(ctx->store, key, key_units * 2), err);
}

int store_calls_local_clear(struct jsp_context *ctx, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    return rc ? rc : op_result(ctx, store_local_clear(ctx->store), err);
}

int store_calls_local_count(struct jsp_context *ctx, int64_t *n, engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    return rc ? rc : op_result(ctx, store_local_count(ctx->store, n), err);
}

typedef struct key_relay {
    void (*each)(void *user, const void *key, size_t key_units);
    void *user;
} key_relay;

static void relay_key(void *user, const void *key, size_t key_bytes)
{
    key_relay *r = user;
    r->each(r->user, key, key_bytes / 2);
}

int store_calls_local_keys(struct jsp_context *ctx, int64_t first, int64_t max,
                           void (*each)(void *user, const void *key, size_t key_units), void *user,
                           engine_db_error *err)
{
    int rc = ensure_transaction(ctx, err);
    key_relay relay = {each, user};
    return rc ? rc : op_result(ctx, store_local_keys(ctx->store, first, max, relay_key, &relay), err);
}

/* ---- outside reads ---- */

/* {"tables": {name: {"columns", "primaryKey", "indexes", "rows": n}}} */
static jsp_result *read_tables(store *s)
{
    char *text = store_schema_json(s);
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_t *tables = json_object_get(root, "tables");
    if (!tables) {
        json_decref(root);
        return result_out_of_memory();
    }
    const char *name;
    json_t *table;
    json_object_foreach(tables, name, table)
    {
        int64_t n = 0;
        if (store_count(s, name, NULL, NULL, &n) == 0)
            json_object_set_new(table, "rows", json_integer(n));
    }
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out ? result_ok_take(out, strlen(out)) : result_out_of_memory();
}

/* {"rows": [...], "next": key of the last row when more follow, else null} */
static jsp_result *read_rows(store *s, const char *table, const char *after, int64_t limit)
{
    char *schema_text = store_schema_json(s);
    json_t *schema = schema_text ? json_loads(schema_text, 0, NULL) : NULL;
    free(schema_text);
    const char *pk = json_string_value(json_object_get(json_object_get(json_object_get(schema, "tables"), table),
                                                       "primaryKey"));
    if (!pk) {
        json_decref(schema);
        char message[200];
        snprintf(message, sizeof(message), "no table '%.120s' in this context's store", table);
        return result_error(JSP_ENOTFOUND, "NotFoundError", message);
    }
    store_range range = {.lo = after && *after ? after : NULL, .lo_exclusive = true};
    store_iter *it = NULL;
    int rc = store_scan(s, table, NULL, &range, &it);
    json_t *rows = json_array(), *next = json_null();
    const char *row;
    size_t len;
    for (int64_t n = 0; rc == 0 && rows;) {
        int more = store_iter_next(it, &row, &len);
        if (more < 0) {
            rc = more;
            break;
        }
        if (more == 0)
            break;
        json_t *value = json_loadb(row, len, 0, NULL);
        if (n == limit) { /* one more exists: the page ends at the row before */
            json_decref(value);
            json_t *last = json_array_get(rows, json_array_size(rows) - 1);
            json_decref(next);
            next = json_incref(json_object_get(last, pk));
            break;
        }
        json_array_append_new(rows, value);
        n++;
    }
    store_iter_close(it);
    json_decref(schema);
    if (rc) {
        json_decref(rows);
        json_decref(next);
        const store_error *e = store_last_error(s);
        return result_error(rc, e->name ? e->name : "StoreError", e->message);
    }
    json_t *root = json_pack("{s:o,s:o}", "rows", rows, "next", next ? next : json_null());
    char *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return out ? result_ok_take(out, strlen(out)) : result_out_of_memory();
}

jsp_result *store_calls_read(struct jsp_context *ctx, const job *j)
{
    if (!ctx->store)
        return result_error(JSP_ENOTFOUND, "NotFoundError", "this context has no store");
    /* in a transaction begun by store_calls_begin like any call's, ended by
     * store_calls_finish: the read is delivered with its batch, like a call that read */
    return j->name ? read_rows(ctx->store, j->name, j->text, j->read_limit) : read_tables(ctx->store);
}
