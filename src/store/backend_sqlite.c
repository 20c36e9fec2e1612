/* backend_sqlite.c — the embedded store backend: one SQLite database file per store, WAL,
 * the file locked for this process (locking_mode=EXCLUSIVE: a second opener gets a clear
 * "locked" error instead of silently sharing), statements prepared once per table and
 * reused. Declared tables are real SQL tables (inspectable with the sqlite3 shell); the
 * schema and bookkeeping live in _jsp_meta. Not for: validation or JSON (store_rows.c). */
#include "store/store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 'JSPL': marks a database file as a jspool store, so a foreign SQLite file is refused
 * rather than having tables added to it. */
#define JSP_APPLICATION_ID 0x4A53504C

struct store_backend {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *last;        /* the statement whose row values were handed up */
    sqlite3_stmt *txn[6];      /* BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, ROLLBACK TO */
    sqlite3_stmt *meta_get;
    sqlite3_stmt *meta_put;
    int64_t deadline_ns; /* 0 = none */
    bool reading;        /* only reads may be interrupted */
};

enum { TXN_BEGIN, TXN_COMMIT, TXN_ROLLBACK, TXN_SAVEPOINT, TXN_RELEASE, TXN_ROLLBACK_TO };
static const char *const txn_sql[6] = {
    "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT c", "RELEASE c", "ROLLBACK TO c",
};

/* Scan statements are cached per (index, lo kind, hi kind, order, rows|count). */
enum { BOUND_KINDS = 3, SCAN_SHAPES = BOUND_KINDS * BOUND_KINDS * 2 * 2 };

typedef struct scan_slot {
    sqlite3_stmt *stmt;
    bool in_use; /* a cursor is stepping it; a second scan of that shape prepares its own */
} scan_slot;

typedef struct table_stmts {
    sqlite3_stmt *get, *insert, *update, *upsert, *del;
    /* UPDATE of the columns no index covers, for rows whose indexed values stay the same:
     * SQLite rewrites an index entry whenever its column is SET, even to the same value
     * (bench/store: 32 -> 21 µs CPU per transfer without that rewrite). NULL when the table
     * has no index or nothing outside its indexes to set. */
    sqlite3_stmt *update_same_keys;
    scan_slot *scans; /* (nindexes + 1) * SCAN_SHAPES */
} table_stmts;

struct store_cursor {
    store_backend *b;
    const store_table *t;
    sqlite3_stmt *stmt;
    scan_slot *slot; /* NULL when stmt is the cursor's own (finalized on close) */
};

/* A clear sentence for a database fault; the code is JSP_ESTORE. */
static int fault(store_backend *b, int rc, const char *doing, store_error *err)
{
    if ((rc & 0xff) == SQLITE_INTERRUPT) {
        err->code = JSP_EWALL_LIMIT;
        err->name = "RangeError";
        snprintf(err->message, sizeof(err->message), "a store read ran past the call's time limit (%s)", doing);
        return err->code;
    }
    const char *why;
    switch (rc & 0xff) {
    case SQLITE_FULL: why = "disk full (or the file size limit reached)"; break;
    case SQLITE_READONLY: why = "the database file is read-only"; break;
    case SQLITE_CANTOPEN: why = "cannot open the database file"; break;
    case SQLITE_PERM: why = "permission denied"; break;
    case SQLITE_CORRUPT: why = "the database file is corrupt"; break;
    case SQLITE_NOTADB: why = "the file is not a database"; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: why = "the database file is locked by another process"; break;
    case SQLITE_IOERR: why = "I/O error"; break;
    case SQLITE_NOMEM: why = "out of memory"; break;
    default: why = "database error"; break;
    }
    err->code = (rc & 0xff) == SQLITE_NOMEM ? JSP_ENOMEM : JSP_ESTORE;
    err->name = "StoreError";
    snprintf(err->message, sizeof(err->message), "store %s: %s while %s (%s)",
             b && b->path ? b->path : "?", why, doing,
             b && b->db ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc));
    return err->code;
}

/* SQLite's progress handler: every 1000 VM steps while a deadline is set. */
static int past_deadline(void *arg)
{
    store_backend *b = arg;
    if (!b->reading || !b->deadline_ns)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec >= b->deadline_ns;
}

static void sqlite_set_deadline(store_backend *b, int64_t deadline_ns)
{
    if (!deadline_ns != !b->deadline_ns)
        sqlite3_progress_handler(b->db, deadline_ns ? 1000 : 0, deadline_ns ? past_deadline : NULL, b);
    b->deadline_ns = deadline_ns;
}

/* Steps a read statement, interruptible by the deadline. */
static int step_read(store_backend *b, sqlite3_stmt *st)
{
    b->reading = true;
    int rc = sqlite3_step(st);
    b->reading = false;
    return rc;
}

static void forget_last(store_backend *b)
{
    if (b->last) {
        sqlite3_reset(b->last);
        b->last = NULL;
    }
}

static int exec(store_backend *b, const char *sql, const char *doing, store_error *err)
{
    forget_last(b);
    int rc = sqlite3_exec(b->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? JSP_OK : fault(b, rc, doing, err);
}

static int prepare(store_backend *b, const char *sql, sqlite3_stmt **out, store_error *err)
{
    int rc = sqlite3_prepare_v3(b->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    return rc == SQLITE_OK ? JSP_OK : fault(b, rc, "preparing a statement", err);
}

/* Runs a statement that returns no rows. */
static int step_done(store_backend *b, sqlite3_stmt *st, const char *doing, store_error *err)
{
    forget_last(b);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? JSP_OK : fault(b, rc, doing, err);
}

static void sqlite_close(store_backend *b)
{
    if (!b)
        return;
    forget_last(b);
    if (b->db && !sqlite3_get_autocommit(b->db))
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < 6; i++)
        sqlite3_finalize(b->txn[i]);
    sqlite3_finalize(b->meta_get);
    sqlite3_finalize(b->meta_put);
    sqlite3_close_v2(b->db);
    free(b->path);
    free(b);
}

/* PRAGMA max_page_count: SQLite then answers SQLITE_FULL past it, as on a full disk. The
 * cap is at least the pages in use (SQLite never shrinks below them). */
static int sqlite_limit_size(store_backend *b, int64_t max_bytes, store_error *err)
{
    sqlite3_stmt *st = NULL;
    int64_t page_size = 4096;
    if (sqlite3_prepare_v2(b->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        page_size = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char sql[96];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", (long long)(max_bytes / (page_size ? page_size : 4096)));
    return exec(b, sql, "setting its size limit", err);
}

static int sqlite_open(const char *path, int durability, store_backend **out, store_error *err)
{
    store_backend *b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(path))) {
        free(b);
        *err = (store_error){.code = JSP_ENOMEM, .name = "OutOfMemory", .message = "out of memory"};
        return JSP_ENOMEM;
    }
    int rc = sqlite3_open_v2(path, &b->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fault(b, rc, "opening", err);
        goto fail;
    }
    if (sqlite3_db_readonly(b->db, "main") == 1) { /* SQLite fell back to read-only */
        fault(b, SQLITE_READONLY, "opening", err);
        goto fail;
    }
    sqlite3_extended_result_codes(b->db, 1);
    /* No busy wait: a file held by another process is an immediate, clear error. */
    sqlite3_busy_timeout(b->db, 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             " PRAGMA cache_size=-16384; PRAGMA foreign_keys=OFF",
             durability == STORE_DURABLE_PROCESS ? "NORMAL" : "FULL");
    if (exec(b, sql, "opening", err))
        goto fail;
    /* The first write takes the exclusive lock for the life of the connection. */
    if (exec(b, "BEGIN IMMEDIATE", "locking the file", err))
        goto fail;
    sqlite3_stmt *st = NULL;
    int app_id = 0, tables = 0;
    if (sqlite3_prepare_v2(b->db, "PRAGMA application_id", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        app_id = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(b->db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        tables = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        fault(b, rc, "reading the schema", err);
        goto fail_txn;
    }
    if (tables > 0 && app_id != JSP_APPLICATION_ID) {
        *err = (store_error){.code = JSP_ESTORE, .name = "StoreError"};
        snprintf(err->message, sizeof(err->message),
                 "store %s: the file is an SQLite database but not a jspool store", path);
        goto fail_txn;
    }
    snprintf(sql, sizeof(sql),
             "PRAGMA application_id=%d; CREATE TABLE IF NOT EXISTS _jsp_meta"
             "(key TEXT PRIMARY KEY, value TEXT NOT NULL); COMMIT",
             JSP_APPLICATION_ID);
    if (exec(b, sql, "creating the store", err))
        goto fail_txn;
    for (int i = 0; i < 6; i++)
        if (prepare(b, txn_sql[i], &b->txn[i], err))
            goto fail;
    if (prepare(b, "SELECT value FROM _jsp_meta WHERE key = ?", &b->meta_get, err) ||
        prepare(b, "INSERT OR REPLACE INTO _jsp_meta(key, value) VALUES (?, ?)", &b->meta_put, err))
        goto fail;
    *out = b;
    return JSP_OK;
fail_txn:
    sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
fail:
    sqlite_close(b);
    return err->code;
}

static int sqlite_begin(store_backend *b, store_error *err)
{
    return step_done(b, b->txn[TXN_BEGIN], "beginning a transaction", err);
}
static int sqlite_commit(store_backend *b, store_error *err)
{
    return step_done(b, b->txn[TXN_COMMIT], "committing", err);
}
static void sqlite_rollback(store_backend *b)
{
    forget_last(b);
    if (!sqlite3_get_autocommit(b->db)) {
        sqlite3_step(b->txn[TXN_ROLLBACK]);
        sqlite3_reset(b->txn[TXN_ROLLBACK]);
    }
}
static int sqlite_savepoint(store_backend *b, store_error *err)
{
    return step_done(b, b->txn[TXN_SAVEPOINT], "opening a call's savepoint", err);
}
static int sqlite_release(store_backend *b, store_error *err)
{
    return step_done(b, b->txn[TXN_RELEASE], "releasing a call's savepoint", err);
}
static int sqlite_rollback_to(store_backend *b, store_error *err)
{
    int rc = step_done(b, b->txn[TXN_ROLLBACK_TO], "rolling a call back", err);
    return rc ? rc : sqlite_release(b, err);
}
static bool sqlite_in_transaction(store_backend *b)
{
    return !sqlite3_get_autocommit(b->db);
}

/* The WAL holds every commit not yet checkpointed, and a checkpoint syncs what it copies:
 * syncing the WAL file (any descriptor of it) makes all earlier commits durable. */
static int sqlite_sync_fd(store_backend *b, store_error *err)
{
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", b->path);
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err->code = JSP_ESTORE;
        err->name = "StoreError";
        snprintf(err->message, sizeof(err->message), "store %s: cannot open its WAL for syncing (%s)",
                 b->path, strerror(errno));
    }
    return fd;
}

static int sqlite_meta_get(store_backend *b, const char *key, char **value, store_error *err)
{
    forget_last(b);
    sqlite3_stmt *st = b->meta_get;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *value = NULL;
    if (rc == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        *value = strdup(text ? text : "");
        rc = *value ? SQLITE_DONE : SQLITE_NOMEM;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? JSP_OK : fault(b, rc, "reading the schema", err);
}

static int sqlite_meta_put(store_backend *b, const char *key, const char *value, store_error *err)
{
    sqlite3_bind_text(b->meta_put, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(b->meta_put, 2, value, -1, SQLITE_STATIC);
    return step_done(b, b->meta_put, "saving the schema", err);
}

static const char *sql_type(int type)
{
    switch (type) {
    case STORE_T_STRING: return "TEXT";
    case STORE_T_INTEGER: return "INTEGER";
    case STORE_T_NUMBER: return "REAL";
    case STORE_T_BOOLEAN: return "INTEGER";
    case STORE_T_BYTES: return "BLOB";
    default: return "TEXT"; /* json */
    }
}

/* A growable SQL text; names are validated by the store ([A-Za-z0-9_]) before they get here,
 * so quoting them with "" is enough. */
typedef struct sql_buf {
    char *p;
    size_t len, cap;
    bool failed;
} sql_buf;

static void sql_add(sql_buf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql_add(sql_buf *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = s->failed ? 0 : vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (s->failed || n < 0)
            return;
        if (s->p && s->len + (size_t)n < s->cap) {
            s->len += (size_t)n;
            return;
        }
        size_t cap = (s->cap ? s->cap * 2 : 256) + (size_t)n;
        char *p = realloc(s->p, cap);
        if (!p) {
            s->failed = true;
            return;
        }
        s->p = p;
        s->cap = cap;
    }
}

static int sql_run(store_backend *b, sql_buf *s, const char *doing, store_error *err)
{
    int rc = s->failed ? fault(b, SQLITE_NOMEM, doing, err) : exec(b, s->p, doing, err);
    free(s->p);
    return rc;
}

static int sqlite_create_table(store_backend *b, const store_table *t, store_error *err)
{
    sql_buf s = {0};
    sql_add(&s, "CREATE TABLE \"%s\"(", t->name);
    for (int i = 0; i < t->ncolumns; i++)
        sql_add(&s, "%s\"%s\" %s%s", i ? ", " : "", t->columns[i].name,
                sql_type(t->columns[i].type), i == t->pk ? " PRIMARY KEY" : "");
    /* A string or bytes key: the rows live in the key's B-tree (one descent per lookup and
     * one tree written per update, instead of a rowid table plus a key index). An integer
     * key is the rowid already. */
    int pk_type = t->columns[t->pk].type;
    sql_add(&s, pk_type == STORE_T_STRING || pk_type == STORE_T_BYTES ? ") WITHOUT ROWID" : ")");
    return sql_run(b, &s, "creating a table", err);
}

static int sqlite_add_column(store_backend *b, const store_table *t, int column, store_error *err)
{
    sql_buf s = {0};
    sql_add(&s, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s", t->name, t->columns[column].name,
            sql_type(t->columns[column].type));
    return sql_run(b, &s, "adding a column", err);
}

static int sqlite_create_index(store_backend *b, const store_table *t, int index, store_error *err)
{
    sql_buf s = {0};
    const store_index *ix = &t->indexes[index];
    sql_add(&s, "CREATE INDEX \"%s$%s\" ON \"%s\"(\"%s\", \"%s\")", t->name, ix->name, t->name,
            t->columns[ix->column].name, t->columns[t->pk].name);
    return sql_run(b, &s, "creating an index", err);
}

static int sqlite_drop_index(store_backend *b, const char *table, const char *index, store_error *err)
{
    sql_buf s = {0};
    sql_add(&s, "DROP INDEX IF EXISTS \"%s$%s\"", table, index);
    return sql_run(b, &s, "dropping an index", err);
}

static void add_column_list(sql_buf *s, const store_table *t)
{
    for (int i = 0; i < t->ncolumns; i++)
        sql_add(s, "%s\"%s\"", i ? ", " : "", t->columns[i].name);
}

static void sqlite_unbind_table(store_backend *b, store_table *t)
{
    table_stmts *ts = t->backend_data;
    if (!ts)
        return;
    forget_last(b);
    sqlite3_finalize(ts->get);
    sqlite3_finalize(ts->insert);
    sqlite3_finalize(ts->update);
    sqlite3_finalize(ts->upsert);
    sqlite3_finalize(ts->del);
    sqlite3_finalize(ts->update_same_keys);
    for (int i = 0; ts->scans && i < (t->nindexes + 1) * SCAN_SHAPES; i++) {
        /* An iterator still open holds its slot; leftovers are closed by the store before
         * tables are unbound, so this is a bug if it fires. */
        sqlite3_finalize(ts->scans[i].stmt);
    }
    free(ts->scans);
    free(ts);
    t->backend_data = NULL;
}

static int sqlite_bind_table(store_backend *b, store_table *t, store_error *err)
{
    table_stmts *ts = calloc(1, sizeof(*ts));
    if (ts)
        ts->scans = calloc((size_t)(t->nindexes + 1) * SCAN_SHAPES, sizeof(scan_slot));
    t->backend_data = ts;
    if (!ts || !ts->scans) {
        sqlite_unbind_table(b, t);
        return fault(b, SQLITE_NOMEM, "preparing statements", err);
    }
    const char *pk = t->columns[t->pk].name;
    sqlite3_stmt **targets[6] = {&ts->get, &ts->insert, &ts->update, &ts->upsert, &ts->del,
                                 &ts->update_same_keys};
    int rc = JSP_OK;
    for (int k = 0; k < 6 && !rc; k++) {
        sql_buf s = {0};
        switch (k) {
        case 0:
            sql_add(&s, "SELECT ");
            add_column_list(&s, t);
            sql_add(&s, " FROM \"%s\" WHERE \"%s\" = ?", t->name, pk);
            break;
        case 1:
        case 3:
            sql_add(&s, "INSERT INTO \"%s\"(", t->name);
            add_column_list(&s, t);
            sql_add(&s, ") VALUES (");
            for (int i = 0; i < t->ncolumns; i++)
                sql_add(&s, "%s?%d", i ? ", " : "", i + 1);
            sql_add(&s, ")");
            if (k == 3) {
                sql_add(&s, " ON CONFLICT(\"%s\") DO ", pk);
                if (t->ncolumns == 1)
                    sql_add(&s, "NOTHING");
                else
                    sql_add(&s, "UPDATE SET ");
                for (int i = 0, n = 0; i < t->ncolumns; i++)
                    if (i != t->pk)
                        sql_add(&s, "%s\"%s\" = excluded.\"%s\"", n++ ? ", " : "",
                                t->columns[i].name, t->columns[i].name);
            }
            break;
        case 2:
            sql_add(&s, "UPDATE \"%s\" SET ", t->name);
            for (int i = 0; i < t->ncolumns; i++)
                sql_add(&s, "%s\"%s\" = ?%d", i ? ", " : "", t->columns[i].name, i + 1);
            sql_add(&s, " WHERE \"%s\" = ?%d", pk, t->pk + 1);
            break;
        case 4:
            sql_add(&s, "DELETE FROM \"%s\" WHERE \"%s\" = ?", t->name, pk);
            break;
        case 5: {
            int set = 0;
            for (int i = 0; i < t->ncolumns; i++) {
                bool indexed = i == t->pk;
                for (int x = 0; x < t->nindexes; x++)
                    indexed |= t->indexes[x].column == i;
                if (!indexed)
                    sql_add(&s, "%s\"%s\" = ?%d", set++ ? ", " : "", t->columns[i].name, i + 1);
            }
            if (!t->nindexes || !set) {
                free(s.p);
                continue;
            }
            char *sets = s.p; /* rebuild with the statement around the SET list */
            s = (sql_buf){0};
            sql_add(&s, "UPDATE \"%s\" SET %s WHERE \"%s\" = ?%d", t->name, sets, pk, t->pk + 1);
            free(sets);
            for (int x = 0; x < t->nindexes; x++)
                sql_add(&s, " AND \"%s\" IS ?%d", t->columns[t->indexes[x].column].name,
                        t->indexes[x].column + 1);
            break;
        }
        }
        rc = s.failed ? fault(b, SQLITE_NOMEM, "preparing statements", err)
                      : prepare(b, s.p, targets[k], err);
        free(s.p);
    }
    if (rc)
        sqlite_unbind_table(b, t);
    return rc;
}

/* copy: the statement outlives the op (a cursor), so SQLite keeps its own copy. */
static void bind_value_as(sqlite3_stmt *st, int i, const store_value *v, bool copy)
{
    sqlite3_destructor_type keep = copy ? SQLITE_TRANSIENT : SQLITE_STATIC;
    switch (v->type) {
    case STORE_T_NULL: sqlite3_bind_null(st, i); break;
    case STORE_T_INTEGER:
    case STORE_T_BOOLEAN: sqlite3_bind_int64(st, i, v->i); break;
    case STORE_T_NUMBER: sqlite3_bind_double(st, i, v->d); break;
    case STORE_T_BYTES:
        if (v->len == 0)
            sqlite3_bind_zeroblob(st, i, 0); /* a NULL pointer would bind SQL NULL */
        else
            sqlite3_bind_blob64(st, i, v->p, v->len, keep);
        break;
    default: sqlite3_bind_text64(st, i, v->p ? v->p : "", v->len, keep, SQLITE_UTF8); break;
    }
}

static void bind_value(sqlite3_stmt *st, int i, const store_value *v)
{
    bind_value_as(st, i, v, false);
}

static void read_row(sqlite3_stmt *st, const store_table *t, store_value *row)
{
    for (int i = 0; i < t->ncolumns; i++) {
        store_value *v = &row[i];
        if (sqlite3_column_type(st, i) == SQLITE_NULL) {
            v->type = STORE_T_NULL;
            continue;
        }
        v->type = t->columns[i].type;
        switch (v->type) {
        case STORE_T_INTEGER:
        case STORE_T_BOOLEAN: v->i = sqlite3_column_int64(st, i); break;
        case STORE_T_NUMBER: v->d = sqlite3_column_double(st, i); break;
        case STORE_T_BYTES:
            v->p = sqlite3_column_blob(st, i);
            v->len = (size_t)sqlite3_column_bytes(st, i);
            break;
        default:
            v->p = (const char *)sqlite3_column_text(st, i);
            v->len = (size_t)sqlite3_column_bytes(st, i);
            break;
        }
    }
}

static int sqlite_get(store_backend *b, const store_table *t, const store_value *key,
                      store_value *row, store_error *err)
{
    forget_last(b);
    sqlite3_stmt *st = ((table_stmts *)t->backend_data)->get;
    bind_value(st, 1, key);
    int rc = step_read(b, st);
    if (rc == SQLITE_ROW) {
        read_row(st, t, row);
        b->last = st; /* values stay valid until the next op resets it */
        return 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fault(b, rc, "reading a row", err);
}

static int sqlite_put(store_backend *b, const store_table *t, const store_value *row, int mode,
                      store_error *err)
{
    forget_last(b);
    table_stmts *ts = t->backend_data;
    if (mode == STORE_PUT_UPDATE && ts->update_same_keys) {
        sqlite3_stmt *st = ts->update_same_keys;
        for (int i = 0; i < t->ncolumns; i++)
            bind_value(st, i + 1, &row[i]);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return fault(b, rc, "writing a row", err);
        if (sqlite3_changes(b->db) > 0)
            return JSP_OK;
        /* missing row, or an indexed value changes: the full UPDATE decides */
    }
    sqlite3_stmt *st = mode == STORE_PUT_INSERT ? ts->insert
                     : mode == STORE_PUT_UPDATE ? ts->update : ts->upsert;
    for (int i = 0; i < t->ncolumns; i++)
        bind_value(st, i + 1, &row[i]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return JSP_EEXIST;
    if (rc != SQLITE_DONE)
        return fault(b, rc, "writing a row", err);
    if (mode == STORE_PUT_UPDATE && sqlite3_changes(b->db) == 0)
        return JSP_ENOTFOUND;
    return JSP_OK;
}

static int sqlite_del(store_backend *b, const store_table *t, const store_value *key, store_error *err)
{
    forget_last(b);
    sqlite3_stmt *st = ((table_stmts *)t->backend_data)->del;
    bind_value(st, 1, key);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return fault(b, rc, "deleting a row", err);
    return sqlite3_changes(b->db) > 0;
}

static int bound_kind(const store_bound *bd)
{
    return !bd ? 0 : bd->exclusive ? 2 : 1;
}

/* The cached statement for one scan or count shape, prepared on first use. */
static int scan_stmt(store_backend *b, const store_table *t, int index, const store_bound *lo,
                     const store_bound *hi, bool reverse, bool count, scan_slot **slot_out,
                     sqlite3_stmt **out, store_error *err)
{
    table_stmts *ts = t->backend_data;
    int shape = ((bound_kind(lo) * BOUND_KINDS + bound_kind(hi)) * 2 + reverse) * 2 + count;
    scan_slot *slot = &ts->scans[(index + 1) * SCAN_SHAPES + shape];
    *slot_out = NULL;
    if (slot->stmt && !slot->in_use) {
        *slot_out = slot;
        *out = slot->stmt;
        return JSP_OK;
    }
    const char *col = t->columns[index < 0 ? t->pk : t->indexes[index].column].name;
    const char *pk = t->columns[t->pk].name;
    const char *dir = reverse ? " DESC" : "";
    sql_buf s = {0};
    if (count) {
        sql_add(&s, "SELECT count(*)");
    } else {
        sql_add(&s, "SELECT ");
        add_column_list(&s, t);
    }
    sql_add(&s, " FROM \"%s\"", t->name);
    if (index >= 0)
        sql_add(&s, " INDEXED BY \"%s$%s\"", t->name, t->indexes[index].name);
    if (lo)
        sql_add(&s, " WHERE \"%s\" %s ?1", col, lo->exclusive ? ">" : ">=");
    if (hi)
        sql_add(&s, " %s \"%s\" %s ?2", lo ? "AND" : "WHERE", col, hi->exclusive ? "<" : "<=");
    if (!count) {
        sql_add(&s, " ORDER BY \"%s\"%s", col, dir);
        if (index >= 0)
            sql_add(&s, ", \"%s\"%s", pk, dir);
    }
    sqlite3_stmt *st = NULL;
    int rc = s.failed ? fault(b, SQLITE_NOMEM, "preparing a scan", err) : prepare(b, s.p, &st, err);
    free(s.p);
    if (rc)
        return rc;
    if (!slot->stmt) {
        slot->stmt = st;
        *slot_out = slot;
    }
    *out = st;
    return JSP_OK;
}

static void bind_bounds(sqlite3_stmt *st, const store_bound *lo, const store_bound *hi)
{
    if (lo)
        bind_value_as(st, 1, &lo->value, true);
    if (hi)
        bind_value_as(st, 2, &hi->value, true);
}

static int sqlite_scan_open(store_backend *b, const store_table *t, int index, const store_bound *lo,
                            const store_bound *hi, bool reverse, store_cursor **out, store_error *err)
{
    forget_last(b);
    store_cursor *c = calloc(1, sizeof(*c));
    if (!c)
        return fault(b, SQLITE_NOMEM, "opening a scan", err);
    int rc = scan_stmt(b, t, index, lo, hi, reverse, false, &c->slot, &c->stmt, err);
    if (rc) {
        free(c);
        return rc;
    }
    if (c->slot)
        c->slot->in_use = true;
    bind_bounds(c->stmt, lo, hi);
    c->b = b;
    c->t = t;
    *out = c;
    return JSP_OK;
}

static int sqlite_scan_next(store_cursor *c, store_value *row, store_error *err)
{
    forget_last(c->b); /* a get's statement, never a cursor's */
    int rc = step_read(c->b, c->stmt);
    if (rc == SQLITE_ROW) {
        read_row(c->stmt, c->t, row);
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : fault(c->b, rc, "scanning", err);
}

static void sqlite_scan_close(store_cursor *c)
{
    if (!c)
        return;
    if (c->slot) {
        sqlite3_reset(c->stmt);
        sqlite3_clear_bindings(c->stmt);
        c->slot->in_use = false;
    } else {
        sqlite3_finalize(c->stmt);
    }
    free(c);
}

static int sqlite_count(store_backend *b, const store_table *t, int index, const store_bound *lo,
                        const store_bound *hi, int64_t *n, store_error *err)
{
    forget_last(b);
    scan_slot *slot;
    sqlite3_stmt *st;
    int rc = scan_stmt(b, t, index, lo, hi, false, true, &slot, &st, err);
    if (rc)
        return rc;
    bind_bounds(st, lo, hi);
    rc = step_read(b, st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (slot)
        sqlite3_reset(st);
    else
        sqlite3_finalize(st);
    return rc == SQLITE_ROW ? JSP_OK : fault(b, rc, "counting", err);
}

const struct store_backend_ops store_sqlite_backend = {
    .name = "sqlite",
    .open = sqlite_open,
    .limit_size = sqlite_limit_size,
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .savepoint = sqlite_savepoint,
    .release = sqlite_release,
    .rollback_to = sqlite_rollback_to,
    .in_transaction = sqlite_in_transaction,
    .sync_fd = sqlite_sync_fd,
    .set_deadline = sqlite_set_deadline,
    .meta_get = sqlite_meta_get,
    .meta_put = sqlite_meta_put,
    .create_table = sqlite_create_table,
    .add_column = sqlite_add_column,
    .create_index = sqlite_create_index,
    .drop_index = sqlite_drop_index,
    .bind_table = sqlite_bind_table,
    .unbind_table = sqlite_unbind_table,
    .get = sqlite_get,
    .put = sqlite_put,
    .del = sqlite_del,
    .scan_open = sqlite_scan_open,
    .scan_next = sqlite_scan_next,
    .scan_close = sqlite_scan_close,
    .count = sqlite_count,
};
