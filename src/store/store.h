/* store.h — a context's durable tables: declared schema with migration, typed rows as JSON
 * text, one transaction per call nested in a group commit, per-call write limits, and
 * iterators a call scope can sweep. The engine and runtime will reach it through a typed
 * host interface (issue 12); this layer knows nothing of JS, threads or loops.
 * Design, guarantees and numbers: docs/store.md.
 *
 * Thread: a store belongs to one runtime thread; no function may be called concurrently on
 *   the same store, and none blocks except on the disk (a COMMIT's fsync in store_flush,
 *   unless background_sync moves it to the store's own sync thread).
 * Errors: functions return JSP_OK or a negative JSP_E* code (include/jspool.h) and fill
 *   the store's last error (store_last_error): a code, the JS error class the engine should
 *   throw, and a sentence naming the table/column/file concerned. Codes used:
 *     JSP_EINVAL        misuse (no call open, unknown table or index, NULL argument)
 *     JSP_EJSON         a row or key that is not JSON of the required shape
 *     JSP_EJS           a guest mistake the engine throws as `name`: TypeError (wrong type,
 *                       unknown or missing column), ConstraintError (duplicate key),
 *                       NotFoundError (update of a missing row)
 *     JSP_EBUSY         store_call_begin while another call holds the store
 *     JSP_ESCHEMA       invalid declaration or incompatible change (names table + column)
 *     JSP_EWRITE_LIMIT  the call wrote more rows/bytes than its limit: it will roll back
 *     JSP_EWALL_LIMIT   a read ran past store_call_deadline: the call will roll back
 *     JSP_ESTORE        the database failed: disk full, read-only, corrupt, locked, I/O
 *     JSP_ENOMEM        host memory */
#ifndef JSP_STORE_H
#define JSP_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jspool.h"

typedef struct store store;
typedef struct store_iter store_iter;
struct store_backend_ops;

/* When a call's completion is released (docs/store.md "Durability"). */
enum store_durability {
    /* Default: after the batch's COMMIT is on disk (WAL fsync'd). Survives kill -9, OS
     * crash and power loss. */
    STORE_DURABLE_SYNC = 0,
    /* After the batch's COMMIT reached the OS (WAL written, fsync only at checkpoints;
     * SQLite synchronous=NORMAL). Survives kill -9; an OS crash or power loss may lose the
     * last acknowledged batches (never tears one: the database stays consistent). */
    STORE_DURABLE_PROCESS = 1,
};

/* Called on the store's sync thread when store_poll has completions to run. Must not block
 * or call into the store (e.g. uv_async_send). */
typedef void store_wake_fn(void *user);

/* A zeroed config means defaults. */
typedef struct store_config {
    int durability;            /* enum store_durability; default STORE_DURABLE_SYNC */
    int max_batch_calls;       /* calls per group commit; 0 = 256; 1 = a commit per call */
    int max_batch_delay_us;    /* oldest completed call waits at most this; 0 = 2000 */
    int64_t max_rows_written;  /* per call (insert/update/upsert/delete); 0 = 10000 */
    int64_t max_bytes_written; /* per call, JSON bytes of written rows and keys; 0 = 16 MiB */
    int64_t max_file_bytes;    /* the database file's size cap (whole pages); past it a
                                  write fails with JSP_ESTORE "full" and its call rolls
                                  back; 0 = none */
    const struct store_backend_ops *backend; /* NULL = SQLite (store_backend.h) */
    /* STORE_DURABLE_SYNC only. false (default): store_flush's COMMIT fsyncs, blocking the
     * caller for the disk. true: COMMIT only writes the WAL; a thread the store owns fsyncs
     * it and calls wake; completions then run in store_poll on the store's thread, so the
     * runtime goes on running calls while the disk syncs (docs/store.md "Durability"). */
    bool background_sync;
    store_wake_fn *wake; /* background_sync: may be NULL (then poll) */
    void *wake_user;
    /* true: the store keeps a localStorage area (store_local_*): the reserved table
     * _jsp_local_storage is created on the first such open and its statements prepared. */
    bool local_storage;
} store_config;

typedef struct store_error {
    int code;         /* JSP_OK or a JSP_E* code */
    const char *name; /* JS error class to throw: TypeError, ConstraintError, StoreError... */
    char message[256];
} store_error;

/* Outcome of one call, delivered once its batch is durable (or failed): err->code is
 * JSP_OK when the call's writes are durable. err is borrowed for the callback's duration. */
typedef void store_done_fn(void *user, const store_error *err);

typedef struct store_stats {
    uint64_t calls_committed;   /* calls whose writes became durable */
    uint64_t calls_rolled_back; /* failed calls, limit hits, calls of a failed batch */
    uint64_t batches;           /* COMMITs issued */
    uint64_t write_limit_hits;
    uint64_t iterators_swept;   /* iterators a call left open, closed by store_call_end */
} store_stats;

/* Range for scans and counts over the primary key or an index: lo and hi are JSON texts of
 * one value of that column's type (NULL = unbounded); lo inclusive unless lo_exclusive
 * (use it for paging: lo = last key seen), hi exclusive unless hi_inclusive. */
typedef struct store_range {
    const char *lo;
    const char *hi;
    bool lo_exclusive;
    bool hi_inclusive;
    bool reverse; /* descending order */
} store_range;

/* Opens (or creates) the store at path: one file (plus SQLite's -wal) owned by this process
 * until store_close; cfg may be NULL. Returns JSP_OK and *out, else fills *err: JSP_EINVAL
 * (bad config), JSP_ESTORE (cannot create, read-only, corrupt, not a store, locked by
 * another process), JSP_ENOMEM. Caller closes with store_close. */
int store_open(const char *path, const store_config *cfg, store **out, store_error *err);

/* Flushes the batch and waits for its sync (completions run), rolls back an open call (its completion, if any,
 * never existed: store_call_end was not called), closes leftover iterators, frees s. */
void store_close(store *s);

/* Declares the module's tables: JSON text
 *   {"tables": {"accounts": {"columns": {"id": "integer", "owner": "string",
 *                                       "note": {"type": "string", "nullable": true}},
 *                            "primaryKey": "id", "indexes": {"byOwner": "owner"}}}}
 * Types: string, integer, number, boolean, bytes, json. Names: [A-Za-z_][A-Za-z0-9_]{0,62}.
 * Compared with the declaration kept in the database: new tables are created, new nullable
 * columns added, indexes created or dropped; a removed or retyped column, a new non-nullable
 * column, a changed primary key or nullable→required is refused (JSP_ESCHEMA naming table
 * and column) and nothing changes. Tables absent from the declaration are kept, unreachable.
 * No call may be open; the pending batch is flushed first; the change is durable on return.
 * Until the first successful declare, row operations see no tables. */
int store_declare(store *s, const char *json, size_t len);

/* The last error on s (code JSP_OK after a success). Valid until the next call on s. */
const store_error *store_last_error(const store *s);

/* Opens the transaction of one call (a SAVEPOINT inside the batch's transaction). At most
 * one call holds a store at a time: JSP_EBUSY means another call is open (the runtime queues
 * this one until that call ends — see docs/store.md "Calls that await"). */
int store_call_begin(store *s);

/* How many tables the last successful declare of this open declared (0 before any). */
int store_declared_tables(const store *s);

/* The error that dooms the open call (a write limit, a read past its deadline, a fault:
 * it will roll back whatever it does next), or NULL. */
const store_error *store_call_doom(const store *s);

/* True when the open call has written (its writes would be lost by ending it). */
bool store_call_has_written(const store *s);

/* The declared tables (those of the last successful declare) as declaration JSON, each
 * column as {"type", "nullable"}: malloc'd, NULL when out of memory. {"tables":{}} before
 * any declare. */
char *store_schema_json(const store *s);

/* Sets when the open call's reads must stop (CLOCK_MONOTONIC ns; 0 = none; store_call_begin
 * resets it): the runtime passes the call's CPU/wall deadline so one get, scan step or count
 * over a huge table cannot hold the runtime thread past it (JS limits only fire while JS
 * runs). A read still running then fails with JSP_EWALL_LIMIT and the call will roll back;
 * writes (keyed, short) are not cut, nor is a count of a whole table (one B-tree walk over
 * its pages, which SQLite does in a single step). */
void store_call_deadline(store *s, int64_t deadline_ns);

/* Ends the open call. ok = true keeps its writes (they join the batch) unless the call hit
 * its write limit or a fault, in which case it is rolled back and the return value says why
 * (JSP_EWRITE_LIMIT / JSP_ESTORE); ok = false rolls it back and returns JSP_OK. Iterators
 * the call left open are closed and counted in *leftover_iterators (may be NULL).
 * With done NULL, a call that wrote nothing and failed nothing queues no completion (so
 * it does not make the batch wait for a commit); otherwise done(user, outcome) is called exactly once, when the batch holding this call is durable
 * or has failed — from store_call_end itself (batch full), store_flush or store_close —
 * with JSP_OK, the call's own error, or the batch's JSP_ESTORE. done may be NULL. */
int store_call_end(store *s, bool ok, store_done_fn *done, void *user, int *leftover_iterators);

/* Commits the batch now and runs its completions. If the open call has written, the commit
 * is deferred to its store_call_end (a call's half-done writes are never committed); if it
 * has only read, the batch is committed around it. Returns JSP_OK or the commit's error
 * (which the batch's completions also received). */
int store_flush(store *s);

/* background_sync: runs the completions of batches whose fsync finished (wait = true: first
 * waits until every committed batch is synced). Returns how many ran. A failed fsync fails
 * its batches' calls with JSP_ESTORE and breaks the store: every later store_call_begin
 * returns that error (after a failed fsync the file's state is unknown; reopen it). Without
 * background_sync it returns 0. Store's thread only. */
int store_poll(store *s, bool wait);

/* CLOCK_MONOTONIC nanoseconds by which store_flush should run (oldest completion + max
 * delay), or 0 when no completion waits. The runtime arms its timer with it and also
 * flushes whenever its queue runs empty. */
int64_t store_flush_deadline(const store *s);

/* Row operations: only inside a call. key and row are JSON texts of the table's shape
 * (docs/store.md "Rows"): a row is an object with every non-nullable column; bytes are
 * base64 strings; json columns hold any JSON value.
 * store_get: *row and *row_len get the row's JSON text (borrowed until the next operation on
 * s), or *row = NULL when absent. */
int store_get(store *s, const char *table, const char *key, size_t key_len, const char **row,
              size_t *row_len);
int store_insert(store *s, const char *table, const char *row, size_t len); /* dup: JSP_EJS */
int store_update(store *s, const char *table, const char *row, size_t len); /* missing: JSP_EJS */
int store_upsert(store *s, const char *table, const char *row, size_t len);
/* *deleted (may be NULL) tells whether a row was there. */
int store_delete(store *s, const char *table, const char *key, size_t key_len, bool *deleted);
/* Rows of table in range over index (NULL = primary key); range may be NULL (all rows). */
int store_count(store *s, const char *table, const char *index, const store_range *range,
                int64_t *n);

/* Opens an ordered iterator over table by index (NULL = primary key) within range. It
 * belongs to the open call: store_call_end closes and frees it if the caller did not, so
 * the caller must drop every iterator handle when the call ends. Rows are ordered by key,
 * or by (index value, key). */
int store_scan(store *s, const char *table, const char *index, const store_range *range,
               store_iter **out);
/* Returns 1 and the next row (borrowed until the next operation on the store), 0 at the
 * end, or an error. */
int store_iter_next(store_iter *it, const char **row, size_t *len);
/* Closes the iterator; NULL is a no-op. */
void store_iter_close(store_iter *it);

/* ---- localStorage (the storage group's durable area; store opened with local_storage) ----
 * Keys and values are strings as UTF-16 code units (bytes here: 2 per unit, the host's
 * order), kept in the reserved table _jsp_local_storage; the area's size in code units
 * (keys + values + STORE_LOCAL_ITEM_UNITS per item) is kept beside it in the store's meta
 * table, in the same transaction. Only inside a call, like the row operations: writes
 * join the call's transaction (rolled back with it) and count against its write limits
 * (a set or a remove is one row, clear is one row whatever it removes). Errors as the row
 * operations'; JSP_EINVAL when the store was not opened with local_storage. */
#define STORE_LOCAL_ITEM_UNITS 32 /* bookkeeping each item is charged beyond its text */
/* 1 and *value (borrowed until the next operation on s), or 0 when absent. */
int store_local_get(store *s, const void *key, size_t key_bytes, const void **value, size_t *value_bytes);
/* Sets key to value: 0, or 1 (nothing written) when the area would pass quota_units. */
int store_local_set(store *s, const void *key, size_t key_bytes, const void *value, size_t value_bytes,
                    int64_t quota_units);
int store_local_remove(store *s, const void *key, size_t key_bytes);
int store_local_clear(store *s);
int store_local_count(store *s, int64_t *n);
/* The area's size in code units as counted against the quota. */
int store_local_units(store *s, int64_t *units);
/* Calls each(user, key, bytes) for the keys in order (from index first, at most max;
 * max < 0 = all); keys are borrowed for the callback's duration. */
int store_local_keys(store *s, int64_t first, int64_t max,
                     void (*each)(void *user, const void *key, size_t key_bytes), void *user);

/* Counters since store_open. */
void store_get_stats(const store *s, store_stats *out);

#endif
