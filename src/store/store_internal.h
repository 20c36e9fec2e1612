/* store_internal.h — what store.c (calls, batches, declare) and store_rows.c (schema and
 * row JSON) share. Not for other layers: they use store.h. */
#ifndef JSP_STORE_INTERNAL_H
#define JSP_STORE_INTERNAL_H
#include "store/store.h"
#include "store/store_backend.h"

/* Bounds on a declaration: each table costs prepared statements (six, plus scan shapes on
 * use) on the runtime thread, so a module cannot declare its way into seconds of CPU. */
enum { STORE_MAX_TABLES = 200, STORE_MAX_COLUMNS = 200, STORE_MAX_INDEXES = 16 };
/* ... and on the whole store, the declared tables and those kept from earlier ones: a
 * declaration is C the CPU watchdog cannot stop (DDL, preparing each table's statements),
 * and 200 x 200 columns x 16 indexes held the runtime thread 1-3 s. */
enum { STORE_MAX_TOTAL_COLUMNS = 1000, STORE_MAX_TOTAL_INDEXES = 100 };

/* Fills err and returns its code. */
int store_fail(store_error *err, int code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A parsed schema: tables in stored order; `declared` false for tables the current
 * declaration omits (kept in the database, unreachable). */
typedef struct schema {
    store_table *tables;
    bool *declared;
    int ntables;
} schema;

/* Parses a declaration (or the stored schema, which is a declaration too) into *out.
 * JSP_ESCHEMA / JSP_EJSON / JSP_ENOMEM with err filled. */
int schema_parse(const char *json, size_t len, schema *out, store_error *err);
/* JSP_ESCHEMA when sc passes the store-wide caps (tables, columns and indexes in all). */
int schema_check_totals(const schema *sc, store_error *err);
/* The same for the schema kept in the database: no caps (a store made under other caps
 * still opens). */
int schema_parse_stored(const char *json, size_t len, schema *out, store_error *err);
void schema_free(schema *sc);
/* The schema as declaration JSON text (malloc'd), NULL when out of memory. */
char *schema_dump(const schema *sc);
/* Compares a declaration with the stored schema and applies the allowed changes inside the
 * open transaction (store_schema.c); *merged gets the result (stored order, new columns and
 * tables appended). JSP_ESCHEMA naming table and column before any change, or the
 * backend's error. */
int schema_migrate(const struct store_backend_ops *ops, store_backend *b, schema *have, schema *want,
                   schema *merged, store_error *err);
/* "string", "integer"... for an enum store_type. */
const char *store_type_name(int type);
/* The column named `name` (len bytes) in t, or -1. */
int schema_column(const store_table *t, const char *name, size_t len);

/* A row or key parsed from JSON text into backend values. Borrows from its parse tree and
 * owned buffers until row_input_release. */
typedef struct row_input {
    void *root; /* json_t */
    store_value *values;
    char *owned[2]; /* decoded bytes / dumped json, one arena each */
} row_input;

/* Checks a row against t's columns; JSP_EJS (TypeError naming the column) or JSP_EJSON. */
int row_parse(const store_table *t, const char *json, size_t len, row_input *in, store_value *values,
              store_error *err);
/* One value of column `column` (a key or a range bound): not null. */
int value_parse(const store_table *t, int column, const char *json, size_t len, row_input *in,
                store_value *value, store_error *err);
void row_input_release(row_input *in);
/* The same through jansson's parse tree alone. row_parse and value_parse first try a
 * parser of plain flat rows and keys (no escapes, ASCII); these are its reference, which
 * fuzz/fuzz_store_rows.c holds it to. */
int row_parse_tree(const store_table *t, const char *json, size_t len, row_input *in, store_value *values,
                   store_error *err);
int value_parse_tree(const store_table *t, int column, const char *json, size_t len, row_input *in,
                     store_value *value, store_error *err);

/* One call's completion, queued until its batch is durable. */
typedef struct completion_entry {
    store_done_fn *done;
    void *user;
    store_error outcome; /* the call's own verdict; overwritten if the batch fails */
} completion_entry;

/* Background syncing (store_sync.c): committed batches go in, and come back out once an
 * fdatasync that started after their COMMIT has finished. A store's queue is served by
 * sync workers shared by every store of the process (at most a few threads in all). */
typedef struct sync_batch {
    struct sync_batch *next;
    completion_entry *entries;
    int n;
    store_error err; /* the fsync's outcome */
} sync_batch;
typedef struct sync_queue sync_queue;

/* Opens the store's queue (starting a shared worker if there are fewer than the maximum);
 * it owns fd (closed by sync_queue_close). path is borrowed for messages and must outlive
 * the queue. wake runs on a worker thread after each sync of this store. */
int sync_queue_open(int fd, const char *path, store_wake_fn *wake, void *wake_user, sync_queue **out,
                    store_error *err);
/* Queues a copy of n completions of a committed batch; false when out of memory. */
bool sync_queue_add(sync_queue *q, const completion_entry *entries, int n);
/* The synced batches, oldest first (wait: after every queued batch is synced). The caller
 * frees each with sync_batch_free. */
sync_batch *sync_queue_take(sync_queue *q, bool wait);
void sync_batch_free(sync_batch *b);
/* The descriptor to fdatasync for an inline sync (declare, or no memory to queue). */
int sync_queue_fd(const sync_queue *q);
/* Waits until what is queued is synced, closes fd, frees q (and the shared workers when
 * q was the last queue). Take the batches first. */
void sync_queue_close(sync_queue *q);

/* A growable output buffer. */
typedef struct out_buf {
    char *p;
    size_t len, cap;
} out_buf;

/* Writes row (t's columns) as a JSON object into out (replacing its content); JSP_ENOMEM. */
int row_to_json(const store_table *t, const store_value *row, out_buf *out);
/* Writes one value as JSON text into out (replacing its content); JSP_ENOMEM. */
int value_to_json(const store_value *v, out_buf *out);

#endif
