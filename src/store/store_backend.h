/* store_backend.h — the narrow interface between the store (schema, rows, calls, group
 * commit, limits: store.c, store_rows.c) and a database engine. The store calls down only
 * through one `const struct store_backend_ops`; SQLite is the embedded default
 * (backend_sqlite.c); a PostgreSQL backend would implement the same table (docs/store.md).
 * Not for: JSON, validation or batching — those stay above, the same for every backend.
 *
 * Thread: a backend handle belongs to its store's thread. Errors: every fallible op returns
 * JSP_OK or a negative JSP_E* code and, on failure, fills *err (faults of the database
 * itself are JSP_ESTORE with a sentence naming the file and the cause). */
#ifndef JSP_STORE_BACKEND_H
#define JSP_STORE_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Column types; 0 in a store_value means SQL NULL. */
enum store_type {
    STORE_T_NULL = 0,
    STORE_T_STRING,  /* UTF-8 text */
    STORE_T_INTEGER, /* int64 restricted to JS safe integers (|n| <= 2^53-1) */
    STORE_T_NUMBER,  /* double */
    STORE_T_BOOLEAN, /* i = 0 or 1 */
    STORE_T_BYTES,   /* raw bytes (base64 in the JSON row format) */
    STORE_T_JSON,    /* any JSON value, kept as its compact text */
};

/* One value crossing the interface. Pointers are borrowed: on the way down they live until
 * the op returns; on the way up (get, scan_next) until the next op on the same backend or
 * cursor. */
typedef struct store_value {
    int type; /* enum store_type */
    int64_t i;
    double d;
    const char *p; /* STRING, BYTES, JSON */
    size_t len;
} store_value;

typedef struct store_column {
    char *name;
    int type; /* enum store_type, never STORE_T_NULL */
    bool nullable;
} store_column;

typedef struct store_index {
    char *name;
    int column; /* one column; rows with equal values are ordered by primary key */
} store_index;

/* A declared table. Owned by the store; the backend may hang its prepared statements on
 * backend_data between bind_table and unbind_table. */
typedef struct store_table {
    char *name;
    store_column *columns;
    int ncolumns;
    int pk; /* index into columns */
    store_index *indexes;
    int nindexes;
    void *backend_data;
} store_table;

/* One end of a range; a NULL bound pointer means unbounded. */
typedef struct store_bound {
    store_value value;
    bool exclusive;
} store_bound;

enum store_put_mode { STORE_PUT_INSERT, STORE_PUT_UPDATE, STORE_PUT_UPSERT };

typedef struct store_backend store_backend;
typedef struct store_cursor store_cursor;

struct store_backend_ops {
    const char *name;
    /* Opens (creating if absent) the database at path and takes it for this process: a
     * second opener, here or elsewhere, gets JSP_ESTORE ("locked"). */
    int (*open)(const char *path, int durability, store_backend **out, store_error *err);
    /* Rolls back anything open and releases the database. */
    void (*close)(store_backend *b);

    /* Transactions: one outer transaction per batch, savepoints nest inside it (a stack). */
    int (*begin)(store_backend *b, store_error *err);
    int (*commit)(store_backend *b, store_error *err); /* durable per the durability level */
    void (*rollback)(store_backend *b);                /* never fails; no-op when none open */
    int (*savepoint)(store_backend *b, store_error *err);
    int (*release)(store_backend *b, store_error *err);
    int (*rollback_to)(store_backend *b, store_error *err); /* undoes and releases */
    /* False when the database ended the outer transaction on its own (some I/O faults). */
    bool (*in_transaction)(store_backend *b);
    /* A new file descriptor (caller closes) whose fdatasync makes every transaction
     * committed so far durable — for a store that syncs on a background thread and opened
     * the backend with STORE_DURABLE_PROCESS. -1 with err filled if the backend has none. */
    int (*sync_fd)(store_backend *b, store_error *err);
    /* From now on, a read (get, scan_next, count) still running at deadline_ns
     * (CLOCK_MONOTONIC; 0 = never) stops with JSP_EWALL_LIMIT. Writes are never cut short:
     * an interrupted write may take the whole outer transaction with it. */
    void (*set_deadline)(store_backend *b, int64_t deadline_ns);
    /* Caps the database file at about max_bytes (rounded down to whole pages; 0 = no cap):
     * a write that would grow it further fails with JSP_ESTORE ("full"). NULL: no cap. */
    int (*limit_size)(store_backend *b, int64_t max_bytes, store_error *err);

    /* A small key → text map kept in the database itself (the schema lives there).
     * meta_get sets *value to a malloc'd string or NULL when absent. */
    int (*meta_get)(store_backend *b, const char *key, char **value, store_error *err);
    int (*meta_put)(store_backend *b, const char *key, const char *value, store_error *err);

    /* Schema changes, run inside a transaction. */
    int (*create_table)(store_backend *b, const store_table *t, store_error *err);
    int (*add_column)(store_backend *b, const store_table *t, int column, store_error *err);
    int (*create_index)(store_backend *b, const store_table *t, int index, store_error *err);
    int (*drop_index)(store_backend *b, const char *table, const char *index, store_error *err);
    /* Prepares what the row ops need for t (statements); unbind releases it. */
    int (*bind_table)(store_backend *b, store_table *t, store_error *err);
    void (*unbind_table)(store_backend *b, store_table *t);

    /* Rows are arrays of t->ncolumns values in column order. get returns 1 (row filled),
     * 0 (absent); put returns JSP_EEXIST (insert of an existing key) or JSP_ENOTFOUND
     * (update of a missing key) without side effects; del returns 1 or 0. */
    int (*get)(store_backend *b, const store_table *t, const store_value *key, store_value *row,
               store_error *err);
    int (*put)(store_backend *b, const store_table *t, const store_value *row, int mode,
               store_error *err);
    int (*del)(store_backend *b, const store_table *t, const store_value *key, store_error *err);
    /* Ordered scan over the primary key (index = -1) or t->indexes[index], lo/hi may be NULL.
     * scan_next returns 1 (row filled), 0 (end) or an error. */
    int (*scan_open)(store_backend *b, const store_table *t, int index, const store_bound *lo,
                     const store_bound *hi, bool reverse, store_cursor **out, store_error *err);
    int (*scan_next)(store_cursor *c, store_value *row, store_error *err);
    void (*scan_close)(store_cursor *c);
    int (*count)(store_backend *b, const store_table *t, int index, const store_bound *lo,
                 const store_bound *hi, int64_t *n, store_error *err);
};

/* The embedded default. */
extern const struct store_backend_ops store_sqlite_backend;

#endif
