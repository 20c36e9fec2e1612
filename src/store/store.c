/* store.c — a store's life: open and declare (migration), the call transaction (one
 * SAVEPOINT per call inside the batch's transaction), group commit with its completion
 * list, per-call write limits, and the iterators a call scope sweeps. Not for: SQL
 * (backend_*.c) or the JSON formats (store_rows.c). Design: docs/store.md. */
#include "store/store_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STORE_MAGIC 0x53544f52u /* 'STOR' */

struct store_iter {
    store *s;
    const store_table *t;
    store_cursor *cursor;
    store_iter *prev, *next; /* the open call's list */
    store_value *row;
};

struct store {
    unsigned magic;
    const struct store_backend_ops *ops;
    store_backend *b;
    store_config cfg;
    schema sc;
    bool is_bound;        /* sc's tables have their statements (a declare succeeded) */
    store_error err;
    out_buf out;          /* store_get's row text */
    store_value *row;     /* scratch: one row of the widest table */
    int row_capacity;

    /* The batch: one backend transaction holding released calls' writes. */
    bool batch_open;
    completion_entry *completions;
    int ncompletions;
    int64_t batch_first_ns; /* when the oldest completion joined */
    bool flush_wanted;      /* a flush met a call that had written */
    bool in_done;           /* completions running: no re-entry */

    /* The open call. */
    bool call_open;
    bool call_savepoint; /* false once the database dropped it with the batch */
    store_error call_doom; /* code != 0: every op fails with it and the call rolls back */
    int64_t call_rows, call_bytes;
    store_iter *iters;

    store_stats stats;

    store_table local;  /* localStorage's reserved table (cfg.local_storage) ... */
    bool local_bound;   /* ... once created and its statements prepared */

    sync_queue *sync; /* background_sync, else NULL */
    store_error broken; /* code != 0 after a failed fsync: the store refuses new calls */
    char *path;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const store_error *store_last_error(const store *s)
{
    return &s->err;
}

void store_get_stats(const store *s, store_stats *out)
{
    *out = s->stats;
}

int64_t store_flush_deadline(const store *s)
{
    return s->ncompletions ? s->batch_first_ns + (int64_t)s->cfg.max_batch_delay_us * 1000 : 0;
}

static int ok(store *s)
{
    s->err = (store_error){.code = JSP_OK};
    return JSP_OK;
}

/* Runs completions; a failed batch overrides every verdict. */
static void run_entries(store *s, completion_entry *entries, int n, const store_error *batch_err)
{
    assert(!s->in_done);
    s->in_done = true;
    for (int i = 0; i < n; i++) {
        completion_entry *c = &entries[i];
        if (batch_err && batch_err->code && c->outcome.code == JSP_OK)
            c->outcome = *batch_err;
        if (c->outcome.code == JSP_OK)
            s->stats.calls_committed++;
        else if (batch_err && batch_err->code)
            s->stats.calls_rolled_back++;
        if (c->done)
            c->done(c->user, &c->outcome);
    }
    s->in_done = false;
}

/* Runs and clears the open batch's completion list. */
static void run_completions(store *s, const store_error *batch_err)
{
    int n = s->ncompletions;
    s->ncompletions = 0; /* before the callbacks: they see an empty list */
    run_entries(s, s->completions, n, batch_err);
}

/* The database ended the batch's transaction on its own (some I/O faults): every released
 * call in it is lost, so their completions fail now; the open call's savepoint went too. */
static void batch_lost(store *s, const store_error *why)
{
    s->ops->rollback(s->b);
    s->batch_open = false;
    s->call_savepoint = false;
    run_completions(s, why);
}

/* A fault during an op dooms the open call; if it took the batch with it, the batch fails. */
static int op_fault(store *s, int rc)
{
    if (rc == JSP_ESTORE || rc == JSP_ENOMEM || rc == JSP_EWALL_LIMIT) {
        if (s->call_open && !s->call_doom.code)
            s->call_doom = s->err;
        if (s->batch_open && !s->ops->in_transaction(s->b))
            batch_lost(s, &s->err);
    }
    return rc;
}

/* An fsync failure as the store reports it. */
static void fsync_failed(store *s, int errnum, store_error *e)
{
    store_fail(e, JSP_ESTORE, "StoreError", "store %s: fsync failed (%s)", s->path, strerror(errnum));
}

static int commit_batch(store *s)
{
    assert(s->batch_open);
    int rc = s->ops->commit(s->b, &s->err);
    s->batch_open = false;
    s->stats.batches++;
    if (rc) {
        s->ops->rollback(s->b);
        run_completions(s, &s->err);
        return rc;
    }
    if (!s->sync) {
        run_completions(s, NULL);
        return JSP_OK;
    }
    /* A sync worker releases them after its fdatasync; without memory for the hand-over,
     * sync here. */
    if (sync_queue_add(s->sync, s->completions, s->ncompletions)) {
        s->ncompletions = 0;
        return JSP_OK;
    }
    store_error e = {0};
    if (fdatasync(sync_queue_fd(s->sync)))
        fsync_failed(s, errno, &e);
    run_completions(s, e.code ? &e : NULL);
    return e.code;
}

int store_poll(store *s, bool wait)
{
    assert(s && s->magic == STORE_MAGIC && !s->in_done);
    if (!s->sync)
        return 0;
    int ran = 0;
    for (sync_batch *b = sync_queue_take(s->sync, wait), *next; b; b = next) {
        next = b->next;
        if (b->err.code && !s->broken.code)
            s->broken = b->err;
        run_entries(s, b->entries, b->n, b->err.code ? &b->err : NULL);
        ran += b->n;
        sync_batch_free(b);
    }
    return ran;
}

static void sync_stop(store *s)
{
    if (!s->sync)
        return;
    store_poll(s, true);
    sync_queue_close(s->sync);
    s->sync = NULL;
}

static int sync_start(store *s, store_error *err)
{
    if (!s->ops->sync_fd)
        return store_fail(err, JSP_EINVAL, "TypeError", "background_sync: the %s backend cannot sync apart",
                          s->ops->name);
    int fd = s->ops->sync_fd(s->b, err);
    return fd < 0 ? err->code : sync_queue_open(fd, s->path, s->cfg.wake, s->cfg.wake_user, &s->sync, err);
}

int store_flush(store *s)
{
    assert(s && s->magic == STORE_MAGIC && !s->in_done);
    s->flush_wanted = false;
    if (!s->batch_open) {
        if (s->ncompletions)
            run_completions(s, NULL); /* read-only calls after a lost batch */
        return ok(s);
    }
    if (s->call_open && (s->call_rows > 0 || !s->call_savepoint)) {
        s->flush_wanted = true; /* never commit half a call: store_call_end flushes */
        return ok(s);
    }
    if (!s->call_open)
        return commit_batch(s) ? s->err.code : ok(s);
    /* The open call has only read: commit the batch around it. Calls run one at a time
     * and the file is ours, so what it read cannot have changed. */
    int rc = s->ops->release(s->b, &s->err);
    if (!rc)
        rc = commit_batch(s);
    else
        batch_lost(s, &s->err);
    s->call_savepoint = false;
    if (!rc && !(rc = s->ops->begin(s->b, &s->err))) {
        s->batch_open = true;
        if (!(rc = s->ops->savepoint(s->b, &s->err)))
            s->call_savepoint = true;
    }
    if (rc && !s->call_doom.code)
        s->call_doom = s->err; /* what it read may be gone with the batch: it must fail too */
    return rc ? rc : ok(s);
}

/* localStorage's table: keys and values as raw UTF-16 code units (a bytes key keeps every
 * string exact, lone surrogates included, with no conversion either way). */
static store_column local_columns[2] = {{(char *)"key", STORE_T_BYTES, false},
                                        {(char *)"value", STORE_T_BYTES, false}};
#define LOCAL_UNITS_KEY "local_storage_units"

/* Creates the table on the first open that wants it (one transaction with the meta row
 * that marks it), then prepares its statements. */
static int local_open(store *s, store_error *err)
{
    s->local = (store_table){.name = (char *)"_jsp_local_storage", .columns = local_columns, .ncolumns = 2};
    char *units = NULL;
    int rc = s->ops->meta_get(s->b, LOCAL_UNITS_KEY, &units, err);
    if (!rc && !units) {
        rc = s->ops->begin(s->b, err);
        if (!rc && !(rc = s->ops->create_table(s->b, &s->local, err)))
            rc = s->ops->meta_put(s->b, LOCAL_UNITS_KEY, "0", err);
        if (rc)
            s->ops->rollback(s->b);
        else
            rc = s->ops->commit(s->b, err);
    }
    free(units);
    if (!rc)
        rc = s->ops->bind_table(s->b, &s->local, err);
    s->local_bound = !rc;
    return rc;
}

int store_open(const char *path, const store_config *cfg, store **out, store_error *err)
{
    store_error scratch;
    if (!err)
        err = &scratch;
    *err = (store_error){0};
    if (!path || !*path || !out)
        return store_fail(err, JSP_EINVAL, "TypeError", "store_open: path and out are required");
    *out = NULL;
    store_config c = cfg ? *cfg : (store_config){0};
    if (c.durability != STORE_DURABLE_SYNC && c.durability != STORE_DURABLE_PROCESS)
        return store_fail(err, JSP_EINVAL, "TypeError", "store_open: unknown durability %d", c.durability);
    if (c.background_sync && c.durability != STORE_DURABLE_SYNC)
        return store_fail(err, JSP_EINVAL, "TypeError", "store_open: background_sync needs STORE_DURABLE_SYNC");
    if (c.max_batch_calls < 0 || c.max_batch_delay_us < 0 || c.max_rows_written < 0 ||
        c.max_bytes_written < 0 || c.max_file_bytes < 0)
        return store_fail(err, JSP_EINVAL, "TypeError", "store_open: limits must not be negative");
    if (!c.max_batch_calls)
        c.max_batch_calls = 256;
    if (!c.max_batch_delay_us)
        c.max_batch_delay_us = 2000;
    if (!c.max_rows_written)
        c.max_rows_written = 10000;
    if (!c.max_bytes_written)
        c.max_bytes_written = 16 << 20;
    if (!c.backend)
        c.backend = &store_sqlite_backend;
    store *s = calloc(1, sizeof(*s));
    if (!s || !(s->completions = calloc((size_t)c.max_batch_calls, sizeof(*s->completions))) ||
        !(s->path = strdup(path))) {
        if (s)
            free(s->completions);
        free(s);
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    }
    s->magic = STORE_MAGIC;
    s->cfg = c;
    s->ops = c.backend;
    /* With background sync the COMMIT itself need not fsync: the sync thread does. */
    int rc = s->ops->open(path, c.background_sync ? STORE_DURABLE_PROCESS : c.durability, &s->b, err);
    if (rc) {
        free(s->completions);
        free(s->path);
        free(s);
        return rc;
    }
    if (c.max_file_bytes && s->ops->limit_size)
        rc = s->ops->limit_size(s->b, c.max_file_bytes, err);
    if (rc) {
        s->ops->close(s->b);
        free(s->completions);
        free(s->path);
        free(s);
        return rc;
    }
    /* Tables declared earlier are reachable only after this run declares them again, but
     * the stored schema is loaded now so that a declare can compare against it. */
    char *stored = NULL;
    rc = s->ops->meta_get(s->b, "schema", &stored, err);
    if (!rc && stored) {
        rc = schema_parse_stored(stored, strlen(stored), &s->sc, err);
        if (rc)
            rc = store_fail(err, JSP_ESTORE, "StoreError", "store %s: the stored schema is damaged", path);
        for (int i = 0; i < s->sc.ntables; i++)
            s->sc.declared[i] = false;
    }
    free(stored);
    if (!rc && c.local_storage)
        rc = local_open(s, err);
    if (!rc && c.background_sync)
        rc = sync_start(s, err);
    if (rc) {
        if (s->local_bound)
            s->ops->unbind_table(s->b, &s->local);
        s->ops->close(s->b);
        schema_free(&s->sc);
        free(s->completions);
        free(s->path);
        free(s);
        return rc;
    }
    *out = s;
    return JSP_OK;
}

static void close_iter(store_iter *it, bool swept)
{
    store *s = it->s;
    if (it->prev)
        it->prev->next = it->next;
    else
        s->iters = it->next;
    if (it->next)
        it->next->prev = it->prev;
    s->ops->scan_close(it->cursor);
    free(it->row);
    free(it);
    if (swept)
        s->stats.iterators_swept++;
}

static int sweep_iters(store *s)
{
    int n = 0;
    while (s->iters) {
        close_iter(s->iters, true);
        n++;
    }
    return n;
}

void store_close(store *s)
{
    if (!s)
        return;
    assert(s->magic == STORE_MAGIC && !s->in_done);
    if (s->call_open) {
        sweep_iters(s);
        if (s->call_savepoint)
            s->ops->rollback_to(s->b, &s->err);
        s->call_open = false;
    }
    if (s->batch_open)
        commit_batch(s);
    else if (s->ncompletions)
        run_completions(s, NULL);
    sync_stop(s);
    for (int i = 0; i < s->sc.ntables; i++)
        s->ops->unbind_table(s->b, &s->sc.tables[i]);
    if (s->local_bound)
        s->ops->unbind_table(s->b, &s->local);
    s->ops->close(s->b);
    schema_free(&s->sc);
    free(s->completions);
    free(s->out.p);
    free(s->row);
    free(s->path);
    s->magic = 0;
    free(s);
}

int store_declare(store *s, const char *json, size_t len)
{
    assert(s && s->magic == STORE_MAGIC && !s->in_done);
    if (!json)
        return store_fail(&s->err, JSP_EINVAL, "TypeError", "store_declare: no declaration");
    if (s->call_open)
        return store_fail(&s->err, JSP_EINVAL, "TypeError", "store_declare: a call is open");
    schema want = {0}, merged = {0};
    int rc = schema_parse(json, len, &want, &s->err);
    if (rc)
        return rc;
    if (s->batch_open && (rc = commit_batch(s)))
        goto done;
    if ((rc = s->ops->begin(s->b, &s->err)))
        goto done;
    /* The stored schema is re-read so a failed earlier declare leaves no trace. */
    char *stored = NULL;
    schema have = {0};
    rc = s->ops->meta_get(s->b, "schema", &stored, &s->err);
    if (!rc && stored)
        rc = schema_parse_stored(stored, strlen(stored), &have, &s->err);
    if (!rc)
        rc = schema_migrate(s->ops, s->b, &have, &want, &merged, &s->err);
    schema_free(&have);
    char *text = rc ? NULL : schema_dump(&merged);
    if (!rc && !text)
        rc = store_fail(&s->err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    /* The same declaration as last time changes nothing: no write, no sync. */
    bool unchanged = !rc && stored && !strcmp(stored, text);
    free(stored);
    if (!rc && !unchanged)
        rc = s->ops->meta_put(s->b, "schema", text, &s->err);
    free(text);
    if (!rc)
        rc = unchanged ? (s->ops->rollback(s->b), JSP_OK) : s->ops->commit(s->b, &s->err);
    if (rc) {
        s->ops->rollback(s->b);
        goto done;
    }
    if (s->sync && !unchanged && fdatasync(sync_queue_fd(s->sync))) {
        fsync_failed(s, errno, &s->err);
        rc = s->err.code;
        s->broken = s->err;
        goto done;
    }
    /* The same tables declared the same way as last time in this open: the statements
     * prepared then serve (re-preparing 200 tables took 0.6-1.6 s per call). */
    if (unchanged && s->is_bound && s->sc.ntables == merged.ntables &&
        !memcmp(s->sc.declared, merged.declared, sizeof(bool) * (size_t)merged.ntables))
        goto done;
    /* Switch to the merged schema: statements are prepared for each table. */
    for (int i = 0; i < s->sc.ntables; i++)
        s->ops->unbind_table(s->b, &s->sc.tables[i]);
    schema_free(&s->sc);
    s->sc = merged;
    merged = (schema){0};
    int widest = 1;
    for (int i = 0; i < s->sc.ntables && !rc; i++) {
        rc = s->ops->bind_table(s->b, &s->sc.tables[i], &s->err);
        if (s->sc.tables[i].ncolumns > widest)
            widest = s->sc.tables[i].ncolumns;
    }
    s->is_bound = !rc;
    if (!rc && widest > s->row_capacity) {
        store_value *row = realloc(s->row, sizeof(*row) * (size_t)widest);
        if (!row)
            rc = store_fail(&s->err, JSP_ENOMEM, "OutOfMemory", "out of memory");
        else {
            s->row = row;
            s->row_capacity = widest;
        }
    }
done:
    schema_free(&want);
    schema_free(&merged);
    return rc ? rc : ok(s);
}

int store_call_begin(store *s)
{
    assert(s && s->magic == STORE_MAGIC && !s->in_done);
    if (s->call_open)
        return store_fail(&s->err, JSP_EBUSY, "StoreError",
                          "another call holds the store: calls that touch it run one at a time");
    if (s->broken.code) {
        s->err = s->broken;
        return s->err.code;
    }
    if (!s->batch_open) {
        if (s->ops->begin(s->b, &s->err))
            return s->err.code;
        s->batch_open = true;
    }
    if (s->ops->savepoint(s->b, &s->err))
        return op_fault(s, s->err.code);
    s->call_open = true;
    s->call_savepoint = true;
    if (s->ops->set_deadline)
        s->ops->set_deadline(s->b, 0);
    s->call_doom = (store_error){0};
    s->call_rows = s->call_bytes = 0;
    return ok(s);
}

int store_call_end(store *s, bool keep, store_done_fn *done, void *user, int *leftover_iterators)
{
    assert(s && s->magic == STORE_MAGIC && !s->in_done);
    if (!s->call_open)
        return store_fail(&s->err, JSP_EINVAL, "TypeError", "store_call_end: no call is open");
    int swept = sweep_iters(s);
    if (leftover_iterators)
        *leftover_iterators = swept;
    store_error outcome = {0};
    if (s->call_doom.code)
        outcome = s->call_doom;
    if (s->call_savepoint && (!keep || outcome.code)) {
        if (s->ops->rollback_to(s->b, &s->err)) {
            if (!outcome.code)
                outcome = s->err;
            op_fault(s, s->err.code);
        }
    } else if (s->call_savepoint && s->ops->release(s->b, &s->err)) {
        outcome = s->err;
        op_fault(s, s->err.code);
        if (s->batch_open)
            s->ops->rollback_to(s->b, &s->err); /* undo the call, keep the batch */
    }
    if (!keep || outcome.code)
        s->stats.calls_rolled_back++;
    s->call_open = false;
    if (!done && s->call_rows == 0 && !outcome.code) {
        s->err = outcome; /* nobody waits and nothing was written: no completion to queue */
        return JSP_OK;
    }
    completion_entry *c = &s->completions[s->ncompletions++];
    c->done = done;
    c->user = user;
    c->outcome = outcome;
    if (s->ncompletions == 1)
        s->batch_first_ns = now_ns();
    int rc = outcome.code;
    s->err = outcome;
    if (s->ncompletions >= s->cfg.max_batch_calls || s->flush_wanted) {
        if (s->batch_open) {
            commit_batch(s);
        } else {
            run_completions(s, NULL);
        }
    } else if (!s->batch_open) {
        run_completions(s, NULL); /* the batch was lost: nothing left to wait for */
    }
    s->err = outcome;
    return rc;
}

int store_declared_tables(const store *s)
{
    assert(s && s->magic == STORE_MAGIC);
    int n = 0;
    for (int i = 0; i < s->sc.ntables; i++)
        n += !s->sc.declared || s->sc.declared[i];
    return n;
}

const store_error *store_call_doom(const store *s)
{
    assert(s && s->magic == STORE_MAGIC);
    return s->call_open && s->call_doom.code ? &s->call_doom : NULL;
}

bool store_call_has_written(const store *s)
{
    assert(s && s->magic == STORE_MAGIC);
    return s->call_open && (s->call_rows > 0 || !s->call_savepoint);
}

char *store_schema_json(const store *s)
{
    assert(s && s->magic == STORE_MAGIC);
    schema declared = {0};
    declared.tables = malloc(sizeof(*declared.tables) * (size_t)(s->sc.ntables ? s->sc.ntables : 1));
    if (!declared.tables)
        return NULL;
    for (int i = 0; i < s->sc.ntables; i++)
        if (!s->sc.declared || s->sc.declared[i])
            declared.tables[declared.ntables++] = s->sc.tables[i]; /* shallow: dump only reads */
    char *text = schema_dump(&declared);
    free(declared.tables);
    return text;
}

void store_call_deadline(store *s, int64_t deadline_ns)
{
    assert(s && s->magic == STORE_MAGIC && s->call_open);
    if (s->ops->set_deadline)
        s->ops->set_deadline(s->b, deadline_ns);
}

/* The checks every row operation starts with; *t set on success. */
static int enter_op(store *s, const char *table, store_table **t)
{
    assert(s && s->magic == STORE_MAGIC && !s->in_done);
    if (!s->call_open)
        return store_fail(&s->err, JSP_EINVAL, "TypeError", "no call is open on the store");
    if (s->call_doom.code) {
        s->err = s->call_doom;
        return s->err.code;
    }
    for (int i = 0; table && i < s->sc.ntables; i++)
        if (s->sc.declared[i] && !strcmp(s->sc.tables[i].name, table)) {
            *t = &s->sc.tables[i];
            return JSP_OK;
        }
    return store_fail(&s->err, JSP_EINVAL, "TypeError", "no table named '%.64s' is declared",
                      table ? table : "(null)");
}

/* Counts a write against the call's limits; past them, the call is doomed. */
static int charge_write(store *s, const store_table *t, size_t bytes)
{
    if (s->call_rows + 1 > s->cfg.max_rows_written ||
        s->call_bytes + (int64_t)bytes > s->cfg.max_bytes_written) {
        store_fail(&s->err, JSP_EWRITE_LIMIT, "RangeError",
                   "table %s: the call wrote more than its limit of %lld rows / %lld bytes; "
                   "its writes are rolled back", t->name, (long long)s->cfg.max_rows_written,
                   (long long)s->cfg.max_bytes_written);
        s->call_doom = s->err;
        s->stats.write_limit_hits++;
        return JSP_EWRITE_LIMIT;
    }
    s->call_rows++;
    s->call_bytes += (int64_t)bytes;
    return JSP_OK;
}

int store_get(store *s, const char *table, const char *key, size_t key_len, const char **row,
              size_t *row_len)
{
    store_table *t;
    int rc = enter_op(s, table, &t);
    if (rc)
        return rc;
    *row = NULL;
    row_input in;
    store_value k;
    rc = value_parse(t, t->pk, key, key_len, &in, &k, &s->err);
    if (!rc) {
        rc = s->ops->get(s->b, t, &k, s->row, &s->err);
        if (rc == 1) {
            rc = row_to_json(t, s->row, &s->out);
            if (rc)
                store_fail(&s->err, rc, "OutOfMemory", "out of memory");
            *row = rc ? NULL : s->out.p;
            if (row_len)
                *row_len = rc ? 0 : s->out.len;
        }
    }
    row_input_release(&in);
    return rc < 0 ? op_fault(s, rc) : ok(s);
}

static int put(store *s, const char *table, const char *json, size_t len, int mode)
{
    store_table *t;
    int rc = enter_op(s, table, &t);
    if (rc)
        return rc;
    /* A row past the byte limit is refused before it is parsed. */
    if (s->call_bytes + (int64_t)len > s->cfg.max_bytes_written)
        return charge_write(s, t, len);
    row_input in;
    rc = row_parse(t, json, len, &in, s->row, &s->err);
    if (!rc)
        rc = charge_write(s, t, len);
    if (!rc)
        rc = s->ops->put(s->b, t, s->row, mode, &s->err);
    if (rc == JSP_EEXIST || rc == JSP_ENOTFOUND) {
        out_buf key = {0};
        const char *pk = t->columns[t->pk].name;
        bool shown = value_to_json(&s->row[t->pk], &key) == JSP_OK;
        rc = store_fail(&s->err, JSP_EJS, rc == JSP_EEXIST ? "ConstraintError" : "NotFoundError",
                        rc == JSP_EEXIST ? "table %s: a row with %s %.80s already exists"
                                         : "table %s: no row with %s %.80s to update",
                        t->name, pk, shown ? key.p : "?");
        free(key.p);
    }
    row_input_release(&in);
    return rc ? op_fault(s, rc) : ok(s);
}

int store_insert(store *s, const char *table, const char *row, size_t len)
{
    return put(s, table, row, len, STORE_PUT_INSERT);
}
int store_update(store *s, const char *table, const char *row, size_t len)
{
    return put(s, table, row, len, STORE_PUT_UPDATE);
}
int store_upsert(store *s, const char *table, const char *row, size_t len)
{
    return put(s, table, row, len, STORE_PUT_UPSERT);
}

int store_delete(store *s, const char *table, const char *key, size_t key_len, bool *deleted)
{
    store_table *t;
    int rc = enter_op(s, table, &t);
    if (rc)
        return rc;
    row_input in;
    store_value k;
    rc = value_parse(t, t->pk, key, key_len, &in, &k, &s->err);
    if (!rc)
        rc = charge_write(s, t, key_len);
    if (!rc)
        rc = s->ops->del(s->b, t, &k, &s->err);
    row_input_release(&in);
    if (rc >= 0 && deleted)
        *deleted = rc == 1;
    return rc < 0 ? op_fault(s, rc) : ok(s);
}

/* Resolves an index name and parses a range's bounds; in[] must be released. */
static int prepare_range(store *s, store_table *t, const char *index, const store_range *r, int *ix,
                         store_bound bounds[2], store_bound *out[2], row_input in[2])
{
    in[0] = in[1] = (row_input){0};
    out[0] = out[1] = NULL;
    *ix = -1;
    if (index) {
        while (++*ix < t->nindexes && strcmp(t->indexes[*ix].name, index))
            ;
        if (*ix == t->nindexes)
            return store_fail(&s->err, JSP_EINVAL, "TypeError", "table %s: no index named '%.64s'",
                              t->name, index);
    }
    int col = *ix < 0 ? t->pk : t->indexes[*ix].column;
    const char *texts[2] = {r ? r->lo : NULL, r ? r->hi : NULL};
    for (int i = 0; i < 2; i++) {
        if (!texts[i])
            continue;
        int rc = value_parse(t, col, texts[i], strlen(texts[i]), &in[i], &bounds[i].value, &s->err);
        if (rc)
            return rc;
        bounds[i].exclusive = i == 0 ? r->lo_exclusive : !r->hi_inclusive;
        out[i] = &bounds[i];
    }
    return JSP_OK;
}

int store_count(store *s, const char *table, const char *index, const store_range *range, int64_t *n)
{
    store_table *t;
    int rc = enter_op(s, table, &t);
    if (rc)
        return rc;
    int ix;
    store_bound bounds[2], *b[2];
    row_input in[2];
    rc = prepare_range(s, t, index, range, &ix, bounds, b, in);
    if (!rc)
        rc = s->ops->count(s->b, t, ix, b[0], b[1], n, &s->err);
    row_input_release(&in[0]);
    row_input_release(&in[1]);
    return rc ? op_fault(s, rc) : ok(s);
}

int store_scan(store *s, const char *table, const char *index, const store_range *range,
               store_iter **out)
{
    store_table *t;
    int rc = enter_op(s, table, &t);
    if (rc)
        return rc;
    int ix;
    store_bound bounds[2], *b[2];
    row_input in[2] = {{0}, {0}};
    store_iter *it = calloc(1, sizeof(*it));
    if (it)
        it->row = calloc((size_t)t->ncolumns, sizeof(*it->row));
    if (!it || !it->row)
        rc = store_fail(&s->err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    if (!rc)
        rc = prepare_range(s, t, index, range, &ix, bounds, b, in);
    if (!rc)
        rc = s->ops->scan_open(s->b, t, ix, b[0], b[1], range && range->reverse, &it->cursor, &s->err);
    row_input_release(&in[0]);
    row_input_release(&in[1]);
    if (rc) {
        if (it)
            free(it->row);
        free(it);
        return op_fault(s, rc);
    }
    it->s = s;
    it->t = t;
    it->next = s->iters;
    if (s->iters)
        s->iters->prev = it;
    s->iters = it;
    *out = it;
    return ok(s);
}

int store_iter_next(store_iter *it, const char **row, size_t *len)
{
    store *s = it->s;
    *row = NULL;
    if (s->call_doom.code) {
        s->err = s->call_doom;
        return s->err.code;
    }
    int rc = s->ops->scan_next(it->cursor, it->row, &s->err);
    if (rc == 1) {
        if (row_to_json(it->t, it->row, &s->out))
            return store_fail(&s->err, JSP_ENOMEM, "OutOfMemory", "out of memory");
        *row = s->out.p;
        if (len)
            *len = s->out.len;
    }
    if (rc < 0)
        return op_fault(s, rc);
    ok(s);
    return rc;
}

void store_iter_close(store_iter *it)
{
    if (it)
        close_iter(it, false);
}

/* ---- localStorage ---- */

static int local_enter(store *s)
{
    assert(s && s->magic == STORE_MAGIC && !s->in_done);
    if (!s->local_bound)
        return store_fail(&s->err, JSP_EINVAL, "TypeError", "this store keeps no localStorage");
    if (!s->call_open)
        return store_fail(&s->err, JSP_EINVAL, "TypeError", "no call is open on the store");
    if (s->call_doom.code) {
        s->err = s->call_doom;
        return s->err.code;
    }
    return JSP_OK;
}

static int local_units(store *s, int64_t *units)
{
    char *text = NULL;
    int rc = s->ops->meta_get(s->b, LOCAL_UNITS_KEY, &text, &s->err);
    *units = text ? strtoll(text, NULL, 10) : 0;
    free(text);
    return rc;
}

static int local_put_units(store *s, int64_t units)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)units);
    return s->ops->meta_put(s->b, LOCAL_UNITS_KEY, text, &s->err);
}

static store_value local_bytes(const void *p, size_t len)
{
    return (store_value){.type = STORE_T_BYTES, .p = p, .len = len};
}

int store_local_get(store *s, const void *key, size_t key_bytes, const void **value, size_t *value_bytes)
{
    int rc = local_enter(s);
    if (rc)
        return rc;
    store_value k = local_bytes(key, key_bytes), row[2];
    rc = s->ops->get(s->b, &s->local, &k, row, &s->err);
    if (rc < 0)
        return op_fault(s, rc);
    *value = rc ? row[1].p : NULL;
    *value_bytes = rc ? row[1].len : 0;
    ok(s);
    return rc;
}

int store_local_set(store *s, const void *key, size_t key_bytes, const void *value, size_t value_bytes,
                    int64_t quota_units)
{
    int rc = local_enter(s);
    if (rc)
        return rc;
    store_value k = local_bytes(key, key_bytes), row[2];
    int found = s->ops->get(s->b, &s->local, &k, row, &s->err);
    if (found < 0)
        return op_fault(s, found);
    if (found && row[1].len == value_bytes && (!value_bytes || !memcmp(row[1].p, value, value_bytes)))
        return ok(s); /* the same value: nothing to write (the standard's "return") */
    int64_t change = (int64_t)(value_bytes / 2) -
                     (found ? (int64_t)(row[1].len / 2) : -(int64_t)(key_bytes / 2) - STORE_LOCAL_ITEM_UNITS);
    int64_t units;
    if ((rc = local_units(s, &units)))
        return op_fault(s, rc);
    if (change > 0 && units + change > quota_units) { /* (a write that frees room always may:
                                                          the quota may have been lowered) */
        ok(s);
        return 1;
    }
    if ((rc = charge_write(s, &s->local, key_bytes + value_bytes)))
        return rc;
    store_value put[2] = {k, local_bytes(value, value_bytes)};
    if ((rc = s->ops->put(s->b, &s->local, put, STORE_PUT_UPSERT, &s->err)) ||
        (rc = local_put_units(s, units + change)))
        return op_fault(s, rc);
    return ok(s);
}

int store_local_remove(store *s, const void *key, size_t key_bytes)
{
    int rc = local_enter(s);
    if (rc)
        return rc;
    store_value k = local_bytes(key, key_bytes), row[2];
    int found = s->ops->get(s->b, &s->local, &k, row, &s->err);
    if (found <= 0)
        return found < 0 ? op_fault(s, found) : ok(s);
    int64_t freed = (int64_t)(key_bytes / 2 + row[1].len / 2) + STORE_LOCAL_ITEM_UNITS, units;
    if ((rc = charge_write(s, &s->local, key_bytes)))
        return rc;
    if ((rc = local_units(s, &units)) || (rc = s->ops->del(s->b, &s->local, &k, &s->err)) < 0 ||
        (rc = local_put_units(s, units - freed)))
        return op_fault(s, rc);
    return ok(s);
}

/* Keys copied out of a scan: each as its length then its bytes. */
typedef struct key_list {
    out_buf buf;
    bool failed;
} key_list;

static void collect_key(void *user, const void *key, size_t key_bytes)
{
    key_list *l = user;
    size_t need = l->buf.len + sizeof(size_t) + key_bytes;
    if (l->failed || need > l->buf.cap) {
        size_t cap = l->buf.cap ? l->buf.cap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = l->failed ? NULL : realloc(l->buf.p, cap);
        if (!p) {
            l->failed = true;
            return;
        }
        l->buf.p = p;
        l->buf.cap = cap;
    }
    memcpy(l->buf.p + l->buf.len, &key_bytes, sizeof(size_t));
    if (key_bytes)
        memcpy(l->buf.p + l->buf.len + sizeof(size_t), key, key_bytes);
    l->buf.len = need;
}

int store_local_clear(store *s)
{
    key_list keys = {0};
    int rc = store_local_keys(s, 0, -1, collect_key, &keys);
    if (!rc && keys.failed)
        rc = store_fail(&s->err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    if (!rc && keys.buf.len)
        rc = charge_write(s, &s->local, 0); /* one write, however many items */
    for (size_t at = 0; !rc && at < keys.buf.len;) {
        size_t len;
        memcpy(&len, keys.buf.p + at, sizeof(size_t));
        store_value k = local_bytes(keys.buf.p + at + sizeof(size_t), len);
        at += sizeof(size_t) + len;
        if ((rc = s->ops->del(s->b, &s->local, &k, &s->err)) > 0)
            rc = JSP_OK;
    }
    if (!rc && keys.buf.len)
        rc = local_put_units(s, 0);
    free(keys.buf.p);
    return rc ? (rc == JSP_EWRITE_LIMIT ? rc : op_fault(s, rc)) : ok(s);
}

int store_local_count(store *s, int64_t *n)
{
    int rc = local_enter(s);
    if (rc)
        return rc;
    rc = s->ops->count(s->b, &s->local, -1, NULL, NULL, n, &s->err);
    return rc ? op_fault(s, rc) : ok(s);
}

int store_local_units(store *s, int64_t *units)
{
    int rc = local_enter(s);
    if (rc)
        return rc;
    rc = local_units(s, units);
    return rc ? op_fault(s, rc) : ok(s);
}

int store_local_keys(store *s, int64_t first, int64_t max,
                     void (*each)(void *user, const void *key, size_t key_bytes), void *user)
{
    int rc = local_enter(s);
    if (rc)
        return rc;
    store_cursor *c = NULL;
    if ((rc = s->ops->scan_open(s->b, &s->local, -1, NULL, NULL, false, &c, &s->err)))
        return op_fault(s, rc);
    store_value row[2];
    for (int64_t i = 0; max < 0 || i < first + max; i++) {
        if ((rc = s->ops->scan_next(c, row, &s->err)) <= 0)
            break;
        rc = JSP_OK;
        if (i >= first)
            each(user, row[0].p, row[0].len);
    }
    s->ops->scan_close(c);
    return rc < 0 ? op_fault(s, rc) : ok(s);
}
