/* The store layer on its own: declarations and migration, typed rows, operations, scans and
 * iterators, call transactions inside group commit, calls that hold the store across an
 * await, per-call write limits, and a failed batch commit (through a backend wrapper that
 * fails on demand — the reason the backend is a table of operations). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdatomic.h>
#include <time.h>

#include "store/bank.h"
#include "store/store_backend.h"

static char dir[64], path[128];
static store *s;

static void setup(void)
{
    bank_scratch(dir, sizeof(dir), path, sizeof(path), "test.db");
    s = NULL;
}

static void teardown(void)
{
    store_close(s);
    bank_scratch_remove(dir);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 60);

static store *open_store(const store_config *cfg)
{
    store_error err;
    store *out = NULL;
    int rc = store_open(path, cfg, &out, &err);
    cr_assert_eq(rc, 0, "store_open: %s", err.message);
    return out;
}

static void declare_ok(store *st, const char *json)
{
    int rc = store_declare(st, json, strlen(json));
    cr_assert_eq(rc, 0, "declare: %s", store_last_error(st)->message);
}

static void exec_ok(int rc, store *st)
{
    cr_assert_eq(rc, 0, "%s", store_last_error(st)->message);
}

static void insert_ok(store *st, const char *table, const char *row)
{
    exec_ok(store_insert(st, table, row, strlen(row)), st);
}

/* The row stored under key, as text the test owns ("" when absent). */
static char *get_row(store *st, const char *table, const char *key)
{
    const char *row;
    exec_ok(store_get(st, table, key, strlen(key), &row, NULL), st);
    return strdup(row ? row : "");
}

static void assert_json_eq(const char *got, const char *want)
{
    json_t *a = json_loads(got, 0, NULL), *b = json_loads(want, 0, NULL);
    cr_assert(a && b && json_equal(a, b), "got %s, want %s", got, want);
    json_decref(a);
    json_decref(b);
}

/* Asserts rc and that the last error names every needle. */
static void assert_error(store *st, int rc, int code, const char *name, const char *needle1,
                         const char *needle2)
{
    const store_error *e = store_last_error(st);
    cr_assert_eq(rc, code, "rc %d (%s)", rc, e->message);
    cr_assert_eq(e->code, code);
    if (name)
        cr_assert_str_eq(e->name, name);
    cr_assert(strstr(e->message, needle1), "'%s' lacks '%s'", e->message, needle1);
    if (needle2)
        cr_assert(strstr(e->message, needle2), "'%s' lacks '%s'", e->message, needle2);
}

/* Closes s and opens the file again with decl. */
static void reopen(const char *decl)
{
    store_close(s);
    s = open_store(NULL);
    declare_ok(s, decl);
}

/* In a call of its own: the row under key is want (JSON-equal). */
static void expect_row(const char *table, const char *key, const char *want)
{
    exec_ok(store_call_begin(s), s);
    char *row = get_row(s, table, key);
    assert_json_eq(row, want);
    free(row);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

/* Opens the store with decl and begins a call. */
static void open_in_call(const char *decl)
{
    s = open_store(NULL);
    declare_ok(s, decl);
    exec_ok(store_call_begin(s), s);
}

/* In a call of its own: inserts row. */
static void insert_call(const char *table, const char *row)
{
    exec_ok(store_call_begin(s), s);
    insert_ok(s, table, row);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

#define ACCOUNTS_V1                                                                           \
    "{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\",\"owner\":\"string\","        \
    "\"balance\":\"integer\"},\"primaryKey\":\"id\",\"indexes\":{\"byOwner\":\"owner\"}}}}"

Test(store, same_declaration_on_reopen_reuses_the_data)
{
    s = open_store(NULL);
    declare_ok(s, ACCOUNTS_V1);
    insert_call("accounts", "{\"id\":1,\"owner\":\"ann\",\"balance\":10}");
    reopen(ACCOUNTS_V1);
    expect_row("accounts", "1", "{\"id\":1,\"owner\":\"ann\",\"balance\":10}");
}

Test(store, added_table_and_nullable_column_migrate)
{
    s = open_store(NULL);
    declare_ok(s, ACCOUNTS_V1);
    insert_call("accounts", "{\"id\":1,\"owner\":\"ann\",\"balance\":10}");
    reopen("{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\",\"owner\":\"string\","
           "\"note\":{\"type\":\"string\",\"nullable\":true},\"balance\":\"integer\"},"
           "\"primaryKey\":\"id\",\"indexes\":{\"byBalance\":\"balance\"}},"
           "\"logs\":{\"columns\":{\"n\":\"integer\",\"text\":\"string\"},\"primaryKey\":\"n\"}}}");
    expect_row("accounts", "1", "{\"id\":1,\"owner\":\"ann\",\"balance\":10,\"note\":null}");
    exec_ok(store_call_begin(s), s);
    insert_ok(s, "accounts", "{\"id\":2,\"owner\":\"bob\",\"balance\":5,\"note\":\"new\"}");
    insert_ok(s, "logs", "{\"n\":1,\"text\":\"hello\"}");
    /* The new index works; the dropped one is gone. */
    int64_t n = 0;
    store_range r = {.lo = "6"};
    exec_ok(store_count(s, "accounts", "byBalance", &r, &n), s);
    cr_assert_eq(n, 1);
    assert_error(s, store_count(s, "accounts", "byOwner", NULL, &n), JSP_EINVAL, NULL, "byOwner", NULL);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

Test(store, incompatible_changes_are_refused_naming_table_and_column)
{
    const char *decl = "{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\",\"owner\":\"string\","
                       "\"note\":{\"type\":\"string\",\"nullable\":true}},\"primaryKey\":\"id\"}}}";
    s = open_store(NULL);
    declare_ok(s, decl);
    insert_call("accounts", "{\"id\":1,\"owner\":\"ann\"}");
    static const struct {
        const char *decl, *column, *why;
    } cases[] = {
        {"{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\",\"owner\":\"integer\","
         "\"note\":{\"type\":\"string\",\"nullable\":true}},\"primaryKey\":\"id\"}}}",
         "owner", "changes type"},
        {"{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\","
         "\"note\":{\"type\":\"string\",\"nullable\":true}},\"primaryKey\":\"id\"}}}",
         "owner", "missing"},
        {"{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\",\"owner\":\"string\","
         "\"note\":{\"type\":\"string\",\"nullable\":true},\"age\":\"integer\"},\"primaryKey\":\"id\"}}}",
         "age", "must be nullable"},
        {"{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\",\"owner\":\"string\","
         "\"note\":\"string\"},\"primaryKey\":\"id\"}}}",
         "note", "becomes required"},
        {"{\"tables\":{\"accounts\":{\"columns\":{\"id\":\"integer\",\"owner\":\"string\","
         "\"note\":{\"type\":\"string\",\"nullable\":true}},\"primaryKey\":\"owner\"}}}",
         "owner", "primary key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = store_declare(s, cases[i].decl, strlen(cases[i].decl));
        assert_error(s, rc, JSP_ESCHEMA, "SchemaError", "table accounts", cases[i].column);
        cr_assert(strstr(store_last_error(s)->message, cases[i].why), "%s", store_last_error(s)->message);
    }
    /* Nothing changed: after a reopen the original declaration still fits its data. */
    reopen(decl);
    expect_row("accounts", "1", "{\"id\":1,\"owner\":\"ann\",\"note\":null}");
}

Test(store, invalid_declarations_are_refused_clearly)
{
    s = open_store(NULL);
    static const struct {
        const char *decl;
        int code;
        const char *needle;
    } cases[] = {
        {"{\"tables\":", JSP_EJSON, "not JSON"},
        {"[]", JSP_ESCHEMA, "declaration must be"},
        {"{\"tables\":{\"t\":{\"columns\":{\"a\":\"text\"},\"primaryKey\":\"a\"}}}", JSP_ESCHEMA, "column a"},
        {"{\"tables\":{\"t\":{\"columns\":{\"a\":\"string\"},\"primaryKey\":\"b\"}}}", JSP_ESCHEMA, "'b' is not a column"},
        {"{\"tables\":{\"bad name\":{\"columns\":{\"a\":\"string\"},\"primaryKey\":\"a\"}}}", JSP_ESCHEMA, "bad name"},
        {"{\"tables\":{\"_jsp_meta\":{\"columns\":{\"a\":\"string\"},\"primaryKey\":\"a\"}}}", JSP_ESCHEMA, "_jsp_meta"},
        {"{\"tables\":{\"t\":{\"columns\":{\"a\\\"x\":\"string\"},\"primaryKey\":\"a\"}}}", JSP_ESCHEMA, "not allowed"},
        {"{\"tables\":{\"t\":{\"columns\":{\"a\":\"json\"},\"primaryKey\":\"a\"}}}", JSP_ESCHEMA, "primary key"},
        {"{\"tables\":{\"t\":{\"columns\":{\"a\":\"string\",\"b\":\"json\"},\"primaryKey\":\"a\","
         "\"indexes\":{\"byB\":\"b\"}}}}", JSP_ESCHEMA, "index byB"},
        {"{\"tables\":{\"t\":{\"columns\":{\"a\":\"string\"},\"primaryKey\":\"a\",\"extra\":1}}}", JSP_ESCHEMA, "extra"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = store_declare(s, cases[i].decl, strlen(cases[i].decl));
        assert_error(s, rc, cases[i].code, NULL, cases[i].needle, NULL);
    }
}

#define TYPES_DECL                                                                            \
    "{\"tables\":{\"t\":{\"columns\":{\"k\":\"string\",\"i\":\"integer\",\"n\":\"number\","   \
    "\"b\":\"boolean\",\"raw\":\"bytes\",\"doc\":\"json\",\"opt\":{\"type\":\"integer\","     \
    "\"nullable\":true}},\"primaryKey\":\"k\"}}}"

Test(store, every_type_round_trips)
{
    open_in_call(TYPES_DECL);
    const char *row = "{\"k\":\"q\\\"uo\\\\te \\u00e9\\u0001\\ud83d\\ude00\",\"i\":-9007199254740991,"
                      "\"n\":0.1,\"b\":true,\"raw\":\"AAEC/w==\",\"doc\":{\"a\":[1,\"x\",null]},\"opt\":null}";
    insert_ok(s, "t", row);
    char *got = get_row(s, "t", "\"q\\\"uo\\\\te \\u00e9\\u0001\\ud83d\\ude00\"");
    assert_json_eq(got, row);
    free(got);
    insert_ok(s, "t", "{\"k\":\"e\",\"i\":3.0,\"n\":1e300,\"b\":false,\"raw\":\"\",\"doc\":\"s\"}");
    got = get_row(s, "t", "\"e\"");
    assert_json_eq(got, "{\"k\":\"e\",\"i\":3,\"n\":1e300,\"b\":false,\"raw\":\"\",\"doc\":\"s\",\"opt\":null}");
    free(got);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

Test(store, a_wrong_value_is_a_type_error_naming_the_column)
{
    open_in_call(TYPES_DECL);
    static const struct {
        const char *row, *needle;
    } cases[] = {
        {"{\"k\":1,\"i\":1,\"n\":1,\"b\":true,\"raw\":\"\",\"doc\":1}", "column k expects string, got integer"},
        {"{\"k\":\"a\",\"i\":\"1\",\"n\":1,\"b\":true,\"raw\":\"\",\"doc\":1}", "column i expects integer, got string"},
        {"{\"k\":\"a\",\"i\":1.5,\"n\":1,\"b\":true,\"raw\":\"\",\"doc\":1}", "column i expects integer"},
        {"{\"k\":\"a\",\"i\":9007199254740992,\"n\":1,\"b\":true,\"raw\":\"\",\"doc\":1}", "column i expects an integer within"},
        {"{\"k\":\"a\",\"i\":1,\"n\":\"x\",\"b\":true,\"raw\":\"\",\"doc\":1}", "column n expects number"},
        {"{\"k\":\"a\",\"i\":1,\"n\":1,\"b\":1,\"raw\":\"\",\"doc\":1}", "column b expects boolean"},
        {"{\"k\":\"a\",\"i\":1,\"n\":1,\"b\":true,\"raw\":\"***=\",\"doc\":1}", "column raw expects bytes as base64"},
        {"{\"k\":\"a\",\"i\":1,\"n\":1,\"b\":true,\"raw\":\"\"}", "column doc is missing"},
        {"{\"k\":\"a\",\"i\":null,\"n\":1,\"b\":true,\"raw\":\"\",\"doc\":1}", "column i is required"},
        {"{\"k\":\"a\",\"i\":1,\"n\":1,\"b\":true,\"raw\":\"\",\"doc\":1,\"zz\":1}", "unknown column 'zz'"},
        {"[1]", "a row must be an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = store_insert(s, "t", cases[i].row, strlen(cases[i].row));
        assert_error(s, rc, JSP_EJS, "TypeError", "table t", cases[i].needle);
    }
    assert_error(s, store_insert(s, "t", "{", 1), JSP_EJSON, NULL, "not JSON", NULL);
    const char *row;
    assert_error(s, store_get(s, "t", "5", 1, &row, NULL), JSP_EJS, "TypeError", "column k", NULL);
    assert_error(s, store_get(s, "nope", "5", 1, &row, NULL), JSP_EINVAL, NULL, "nope", NULL);
    /* A refused row leaves the call usable and writes nothing. */
    int64_t n = -1;
    exec_ok(store_count(s, "t", NULL, NULL, &n), s);
    cr_assert_eq(n, 0);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

/* Declarations and rows come from guest JS: mangled versions of valid ones get a documented
 * code, never a crash (CI runs this under ASan), and leave the store usable. */
Test(store, mangled_declarations_and_rows_are_refused_cleanly)
{
    open_in_call(TYPES_DECL);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
    const char *valid_row = "{\"k\":\"a\",\"i\":1,\"n\":2.5,\"b\":true,\"raw\":\"AAEC\",\"doc\":{\"x\":[1]},\"opt\":3}";
    unsigned seed = 20261130;
    char buf[1024];
    for (int i = 0; i < 4000; i++) {
        const char *src = i % 2 ? TYPES_DECL : valid_row;
        size_t n = strlen(src);
        memcpy(buf, src, n);
        for (int e = 0, edits = 1 + rand_r(&seed) % 4; e < edits && n > 0; e++) {
            size_t pos = (size_t)rand_r(&seed) % n;
            switch (rand_r(&seed) % 3) {
            case 0: buf[pos] = (char)(rand_r(&seed) % 256); break;
            case 1: n = pos; break;
            default: buf[pos] = "{}[]\",:0a\\-e."[rand_r(&seed) % 14]; break;
            }
        }
        int rc;
        if (i % 2) {
            rc = store_declare(s, buf, n);
            cr_assert(rc == 0 || rc == JSP_EJSON || rc == JSP_ESCHEMA, "declare %.*s: %d", (int)n, buf, rc);
        } else {
            exec_ok(store_call_begin(s), s);
            rc = store_insert(s, "t", buf, n);
            cr_assert(rc == 0 || rc == JSP_EJSON || rc == JSP_EJS, "insert %.*s: %d", (int)n, buf, rc);
            if (rc)
                cr_assert(strlen(store_last_error(s)->message) > 0);
            exec_ok(store_call_end(s, false, NULL, NULL, NULL), s);
        }
    }
    /* Nesting deeper than the parser allows is refused, not recursed into. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    size_t len = (size_t)sprintf(deep, "{\"k\":\"d\",\"i\":1,\"n\":1,\"b\":true,\"raw\":\"\",\"doc\":");
    memset(deep + len, '[', depth);
    memset(deep + len + depth, ']', depth);
    len += 2 * depth;
    deep[len++] = '}';
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(store_insert(s, "t", deep, len), JSP_EJSON);
    free(deep);
    insert_ok(s, "t", valid_row);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

Test(store, insert_update_upsert_delete_count)
{
    open_in_call(ACCOUNTS_V1);
    insert_ok(s, "accounts", "{\"id\":1,\"owner\":\"ann\",\"balance\":10}");
    const char *dup = "{\"id\":1,\"owner\":\"bob\",\"balance\":3}";
    assert_error(s, store_insert(s, "accounts", dup, strlen(dup)), JSP_EJS, "ConstraintError",
                 "table accounts", "id 1 already exists");
    const char *missing = "{\"id\":2,\"owner\":\"bob\",\"balance\":3}";
    assert_error(s, store_update(s, "accounts", missing, strlen(missing)), JSP_EJS, "NotFoundError",
                 "table accounts", "no row with id 2");
    exec_ok(store_upsert(s, "accounts", missing, strlen(missing)), s);
    const char *upd = "{\"id\":1,\"owner\":\"ann\",\"balance\":11}";
    exec_ok(store_update(s, "accounts", upd, strlen(upd)), s);
    const char *ups = "{\"id\":2,\"owner\":\"bob\",\"balance\":4}";
    exec_ok(store_upsert(s, "accounts", ups, strlen(ups)), s);
    char *row = get_row(s, "accounts", "1");
    assert_json_eq(row, upd);
    free(row);
    row = get_row(s, "accounts", "2");
    assert_json_eq(row, ups);
    free(row);
    int64_t n = 0;
    exec_ok(store_count(s, "accounts", NULL, NULL, &n), s);
    cr_assert_eq(n, 2);
    bool deleted = false;
    exec_ok(store_delete(s, "accounts", "2", 1, &deleted), s);
    cr_assert(deleted);
    exec_ok(store_delete(s, "accounts", "2", 1, &deleted), s);
    cr_assert_not(deleted);
    row = get_row(s, "accounts", "2");
    cr_assert_str_eq(row, "");
    free(row);
    exec_ok(store_count(s, "accounts", NULL, NULL, &n), s);
    cr_assert_eq(n, 1);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

/* Ids of the rows a scan yields, as "1,2,3". */
static void scan_ids(store *st, const char *index, const store_range *r, char *out, size_t size)
{
    store_iter *it;
    exec_ok(store_scan(st, "accounts", index, r, &it), st);
    const char *row;
    size_t used = 0;
    out[0] = '\0';
    while (store_iter_next(it, &row, NULL) == 1)
        used += (size_t)snprintf(out + used, size - used, "%s%lld", used ? "," : "", bank_field(row, "id"));
    store_iter_close(it);
}

Test(store, scans_over_the_primary_key_and_an_index)
{
    open_in_call(ACCOUNTS_V1);
    const char *owners[] = {"cy", "ann", "bob", "ann", "cy", "bob"};
    for (int i = 0; i < 6; i++) {
        char row[96];
        snprintf(row, sizeof(row), "{\"id\":%d,\"owner\":\"%s\",\"balance\":%d}", i + 1, owners[i], i);
        insert_ok(s, "accounts", row);
    }
    char ids[128];
    scan_ids(s, NULL, NULL, ids, sizeof(ids));
    cr_assert_str_eq(ids, "1,2,3,4,5,6");
    scan_ids(s, NULL, &(store_range){.lo = "2", .hi = "5"}, ids, sizeof(ids));
    cr_assert_str_eq(ids, "2,3,4");
    scan_ids(s, NULL, &(store_range){.lo = "2", .hi = "5", .lo_exclusive = true, .hi_inclusive = true},
             ids, sizeof(ids));
    cr_assert_str_eq(ids, "3,4,5");
    scan_ids(s, NULL, &(store_range){.hi = "3", .reverse = true}, ids, sizeof(ids));
    cr_assert_str_eq(ids, "2,1");
    scan_ids(s, "byOwner", NULL, ids, sizeof(ids));
    cr_assert_str_eq(ids, "2,4,3,6,1,5");
    scan_ids(s, "byOwner", &(store_range){.lo = "\"bob\"", .hi = "\"bob\"", .hi_inclusive = true}, ids,
             sizeof(ids));
    cr_assert_str_eq(ids, "3,6");
    scan_ids(s, "byOwner", &(store_range){.lo = "\"ann\"", .lo_exclusive = true, .reverse = true}, ids,
             sizeof(ids));
    cr_assert_str_eq(ids, "5,1,6,3");
    scan_ids(s, "byOwner", &(store_range){.lo = "\"bob\"", .hi = "\"bob\"", .hi_inclusive = true}, ids,
             sizeof(ids));
    cr_assert_str_eq(ids, "3,6");
    int64_t n = 0;
    exec_ok(store_count(s, "accounts", "byOwner", &(store_range){.lo = "\"b\"", .hi = "\"c\""}, &n), s);
    cr_assert_eq(n, 2);
    /* Updates that keep the indexed value (the fast path) and that change it. */
    const char *same = "{\"id\":3,\"owner\":\"bob\",\"balance\":99}";
    exec_ok(store_update(s, "accounts", same, strlen(same)), s);
    const char *moved = "{\"id\":6,\"owner\":\"al\",\"balance\":5}";
    exec_ok(store_update(s, "accounts", moved, strlen(moved)), s);
    scan_ids(s, "byOwner", NULL, ids, sizeof(ids));
    cr_assert_str_eq(ids, "6,2,4,3,1,5");
    char *row3 = get_row(s, "accounts", "3");
    assert_json_eq(row3, same);
    free(row3);
    scan_ids(s, "byOwner", &(store_range){.lo = "\"bob\"", .hi = "\"bob\"", .hi_inclusive = true}, ids,
             sizeof(ids));
    cr_assert_str_eq(ids, "3");
    exec_ok(store_count(s, "accounts", "byOwner", &(store_range){.lo = "\"b\"", .hi = "\"c\""}, &n), s);
    cr_assert_eq(n, 1);
    store_iter *it;
    assert_error(s, store_scan(s, "accounts", "byOwner", &(store_range){.lo = "1"}, &it), JSP_EJS,
                 "TypeError", "column owner", NULL);
    /* Two iterators of the same shape at once are independent. */
    store_iter *a, *b;
    const char *row;
    exec_ok(store_scan(s, "accounts", NULL, NULL, &a), s);
    exec_ok(store_scan(s, "accounts", NULL, NULL, &b), s);
    cr_assert_eq(store_iter_next(a, &row, NULL), 1);
    cr_assert_eq(store_iter_next(a, &row, NULL), 1);
    cr_assert_eq(bank_field(row, "id"), 2);
    cr_assert_eq(store_iter_next(b, &row, NULL), 1);
    cr_assert_eq(bank_field(row, "id"), 1);
    store_iter_close(a);
    store_iter_close(b);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

Test(store, iterators_left_open_are_closed_by_the_call_and_counted)
{
    open_in_call(ACCOUNTS_V1);
    insert_ok(s, "accounts", "{\"id\":1,\"owner\":\"ann\",\"balance\":10}");
    store_iter *a, *b, *c;
    const char *row;
    exec_ok(store_scan(s, "accounts", NULL, NULL, &a), s);
    exec_ok(store_scan(s, "accounts", "byOwner", NULL, &b), s);
    exec_ok(store_scan(s, "accounts", NULL, NULL, &c), s);
    cr_assert_eq(store_iter_next(a, &row, NULL), 1);
    store_iter_close(c);
    int left = -1;
    exec_ok(store_call_end(s, true, NULL, NULL, &left), s);
    cr_assert_eq(left, 2);
    store_stats st;
    store_get_stats(s, &st);
    cr_assert_eq(st.iterators_swept, 2);
    /* The swept iterators' statements are reusable by the next call. */
    exec_ok(store_call_begin(s), s);
    exec_ok(store_scan(s, "accounts", NULL, NULL, &a), s);
    cr_assert_eq(store_iter_next(a, &row, NULL), 1);
    exec_ok(store_call_end(s, true, NULL, NULL, &left), s);
    cr_assert_eq(left, 1);
}

typedef struct done_log {
    int count;
    int codes[64];
    char messages[64][256];
} done_log;

static void on_done(void *user, const store_error *err)
{
    done_log *log = user;
    log->codes[log->count] = err->code;
    snprintf(log->messages[log->count], 256, "%s", err->message);
    log->count++;
}

static void set_balance(store *st, int id, long long balance)
{
    char row[96];
    snprintf(row, sizeof(row), "{\"id\":%d,\"owner\":\"o\",\"balance\":%lld}", id, balance);
    exec_ok(store_upsert(st, "accounts", row, strlen(row)), st);
}

static long long balance_of(store *st, int id)
{
    char key[16];
    const char *row;
    snprintf(key, sizeof(key), "%d", id);
    exec_ok(store_get(st, "accounts", key, strlen(key), &row, NULL), st);
    return row ? bank_field(row, "balance") : -1;
}

Test(store, a_rolled_back_call_leaves_the_batch_and_its_reads_saw_its_own_writes)
{
    s = open_store(NULL);
    declare_ok(s, ACCOUNTS_V1);
    done_log log = {0};
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 100);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 50);
    set_balance(s, 2, 50);
    cr_assert_eq(balance_of(s, 1), 50); /* its own write */
    exec_ok(store_call_end(s, false, on_done, &log, NULL), s);
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 100);
    cr_assert_eq(balance_of(s, 2), -1);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    cr_assert_eq(log.count, 0, "completions wait for the batch's commit");
    exec_ok(store_flush(s), s);
    cr_assert_eq(log.count, 3);
    reopen(ACCOUNTS_V1);
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 100);
    cr_assert_eq(balance_of(s, 2), -1);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

Test(store, group_commit_is_bounded_by_count_and_reports_its_deadline)
{
    s = open_store(&(store_config){.max_batch_calls = 4, .max_batch_delay_us = 3000});
    declare_ok(s, ACCOUNTS_V1);
    done_log log = {0};
    cr_assert_eq(store_flush_deadline(s), 0);
    for (int i = 0; i < 3; i++) {
        exec_ok(store_call_begin(s), s);
        set_balance(s, i, i);
        exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    }
    cr_assert_eq(log.count, 0);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int64_t deadline = store_flush_deadline(s);
    cr_assert(deadline > now && deadline <= now + 3000000, "deadline %lld now %lld", (long long)deadline,
              (long long)now);
    exec_ok(store_call_begin(s), s);
    set_balance(s, 3, 3);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    cr_assert_eq(log.count, 4, "the fourth call fills the batch");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(log.codes[i], 0);
    cr_assert_eq(store_flush_deadline(s), 0);
    store_stats st;
    store_get_stats(s, &st);
    cr_assert_eq(st.batches, 1);
    cr_assert_eq(st.calls_committed, 4);
}

/* The runtime's rule for calls that await: a call holds the store from its first store
 * operation to its end, so a second call of the same store waits (JSP_EBUSY here; the
 * runtime queues it). Two "concurrent" read-modify-write calls therefore cannot lose an
 * update, and neither sees the other's uncommitted writes. */
Test(store, a_call_that_awaits_holds_the_store_no_lost_update_no_dirty_read)
{
    open_in_call(ACCOUNTS_V1);
    set_balance(s, 1, 100);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);

    /* Call A reads 100 and "awaits"; call B wants to withdraw 30 meanwhile. */
    exec_ok(store_call_begin(s), s);
    long long seen_by_a = balance_of(s, 1);
    cr_assert_eq(seen_by_a, 100);
    set_balance(s, 1, seen_by_a - 10); /* A's write, not yet ended */
    assert_error(s, store_call_begin(s), JSP_EBUSY, NULL, "one at a time", NULL);
    /* A's await ends, it finishes. Only then does B run, and it reads A's result. */
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
    exec_ok(store_call_begin(s), s);
    long long seen_by_b = balance_of(s, 1);
    cr_assert_eq(seen_by_b, 90);
    set_balance(s, 1, seen_by_b - 30);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);

    /* A call that writes then fails after its await: the waiting call never saw the write. */
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 0);
    cr_assert_eq(store_call_begin(s), JSP_EBUSY);
    exec_ok(store_call_end(s, false, NULL, NULL, NULL), s);
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 60, "both withdrawals applied, the failed call's write never visible");
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
    exec_ok(store_flush(s), s);
}

Test(store, a_flush_commits_around_a_reading_call_and_waits_for_a_writing_one)
{
    s = open_store(NULL);
    declare_ok(s, ACCOUNTS_V1);
    done_log log = {0};
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 100);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    /* An awaiting call that has only read: the earlier call is made durable now. */
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 100);
    exec_ok(store_flush(s), s);
    cr_assert_eq(log.count, 1);
    cr_assert_eq(log.codes[0], 0);
    set_balance(s, 1, 90); /* the call goes on after the flush */
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    /* An awaiting call that has written: its half-done writes are not committed; the flush
     * happens when it ends. */
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 80);
    exec_ok(store_flush(s), s);
    cr_assert_eq(log.count, 1, "the batch waits for the writing call");
    exec_ok(store_call_end(s, false, on_done, &log, NULL), s);
    cr_assert_eq(log.count, 3, "its end flushed the batch");
    reopen(ACCOUNTS_V1);
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 90);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

Test(store, a_call_past_its_write_limit_is_rolled_back_with_a_clear_error)
{
    s = open_store(&(store_config){.max_rows_written = 3, .max_bytes_written = 400});
    declare_ok(s, ACCOUNTS_V1);
    done_log log = {0};
    exec_ok(store_call_begin(s), s);
    for (int i = 0; i < 3; i++)
        set_balance(s, i, 1);
    const char *row = "{\"id\":9,\"owner\":\"o\",\"balance\":1}";
    assert_error(s, store_insert(s, "accounts", row, strlen(row)), JSP_EWRITE_LIMIT, "RangeError",
                 "table accounts", "limit of 3 rows");
    /* Every later operation of the call fails the same way; its end rolls it back. */
    const char *got;
    cr_assert_eq(store_get(s, "accounts", "1", 1, &got, NULL), JSP_EWRITE_LIMIT);
    cr_assert_eq(store_call_end(s, true, on_done, &log, NULL), JSP_EWRITE_LIMIT);
    /* Bytes: one row of ~500 bytes. */
    exec_ok(store_call_begin(s), s);
    char big[600];
    snprintf(big, sizeof(big), "{\"id\":1,\"owner\":\"%0480d\",\"balance\":1}", 0);
    assert_error(s, store_insert(s, "accounts", big, strlen(big)), JSP_EWRITE_LIMIT, NULL, "400 bytes", NULL);
    cr_assert_eq(store_call_end(s, true, on_done, &log, NULL), JSP_EWRITE_LIMIT);
    exec_ok(store_call_begin(s), s);
    int64_t n = -1;
    exec_ok(store_count(s, "accounts", NULL, NULL, &n), s);
    cr_assert_eq(n, 0, "nothing of either call remains");
    set_balance(s, 1, 1); /* the next call has its own budget */
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    exec_ok(store_flush(s), s);
    cr_assert_eq(log.count, 3);
    cr_assert_eq(log.codes[0], JSP_EWRITE_LIMIT);
    cr_assert_eq(log.codes[1], JSP_EWRITE_LIMIT);
    cr_assert_eq(log.codes[2], 0);
    store_stats st;
    store_get_stats(s, &st);
    cr_assert_eq(st.write_limit_hits, 2);
}

Test(store, a_read_past_the_call_deadline_stops_and_the_call_rolls_back)
{
    open_in_call(ACCOUNTS_V1);
    for (int i = 0; i < 20000; i++) {
        if (i == 10000) { /* the default limit is 10,000 rows per call */
            exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
            exec_ok(store_call_begin(s), s);
        }
        set_balance(s, i, 1);
    }
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 500);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    store_call_deadline(s, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - 1); /* already past */
    int64_t n = -1;
    assert_error(s, store_count(s, "accounts", "byOwner", &(store_range){.lo = "\"a\""}, &n),
                 JSP_EWALL_LIMIT, "RangeError", "time limit", NULL);
    cr_assert_eq(store_call_end(s, true, NULL, NULL, NULL), JSP_EWALL_LIMIT);
    /* The next call has no deadline, and the stopped call's write is gone. */
    exec_ok(store_call_begin(s), s);
    exec_ok(store_count(s, "accounts", NULL, NULL, &n), s);
    cr_assert_eq(n, 20000);
    cr_assert_eq(balance_of(s, 1), 1);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

/* A backend that fails its next COMMIT on demand: the SQLite backend with one op replaced. */
static struct store_backend_ops failing_backend;
static bool fail_next_commit;

static int failing_commit(store_backend *b, store_error *err)
{
    if (!fail_next_commit)
        return store_sqlite_backend.commit(b, err);
    fail_next_commit = false;
    err->code = JSP_ESTORE;
    err->name = "StoreError";
    snprintf(err->message, sizeof(err->message), "store: disk full (injected) while committing");
    return JSP_ESTORE;
}

Test(store, a_failed_commit_fails_every_call_of_its_batch_and_keeps_none)
{
    failing_backend = store_sqlite_backend;
    failing_backend.commit = failing_commit;
    s = open_store(&(store_config){.backend = &failing_backend});
    declare_ok(s, ACCOUNTS_V1);
    done_log log = {0};
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 100);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    exec_ok(store_flush(s), s);
    for (int i = 0; i < 3; i++) {
        exec_ok(store_call_begin(s), s);
        set_balance(s, 1, 100 - i - 1);
        exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    }
    fail_next_commit = true;
    cr_assert_eq(store_flush(s), JSP_ESTORE);
    cr_assert_eq(log.count, 4);
    cr_assert_eq(log.codes[0], 0);
    for (int i = 1; i < 4; i++) {
        cr_assert_eq(log.codes[i], JSP_ESTORE);
        cr_assert(strstr(log.messages[i], "disk full"));
    }
    /* The store goes on: the failed calls left nothing, the next call commits. */
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 100);
    set_balance(s, 1, 7);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    exec_ok(store_flush(s), s);
    cr_assert_eq(log.codes[4], 0);
    /* A reading call open across a failed commit read what the batch lost: it fails too. */
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 8);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 8);
    fail_next_commit = true;
    cr_assert_eq(store_flush(s), JSP_ESTORE);
    cr_assert_eq(log.codes[5], JSP_ESTORE);
    const char *row;
    cr_assert_eq(store_get(s, "accounts", "1", 1, &row, NULL), JSP_ESTORE);
    cr_assert_eq(store_call_end(s, true, on_done, &log, NULL), JSP_ESTORE);
    cr_assert_eq(log.count, 7);
    cr_assert_eq(log.codes[6], JSP_ESTORE);
    reopen(ACCOUNTS_V1);
    exec_ok(store_call_begin(s), s);
    cr_assert_eq(balance_of(s, 1), 7);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}

static atomic_int wakes;

static void count_wake(void *user)
{
    atomic_fetch_add(&wakes, 1);
}

Test(store, background_sync_acknowledges_from_poll_after_the_sync_thread)
{
    atomic_store(&wakes, 0);
    s = open_store(&(store_config){.background_sync = true, .wake = count_wake, .max_batch_calls = 8});
    declare_ok(s, ACCOUNTS_V1);
    done_log log = {0};
    for (int i = 0; i < 20; i++) {
        exec_ok(store_call_begin(s), s);
        set_balance(s, i, i);
        exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    }
    exec_ok(store_flush(s), s);
    cr_assert_eq(log.count, 0, "completions run only in store_poll, after the fsync");
    cr_assert_eq(store_poll(s, true), 20);
    cr_assert_eq(log.count, 20);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(log.codes[i], 0);
    cr_assert(atomic_load(&wakes) >= 1);
    cr_assert_eq(store_poll(s, true), 0);
    store_stats st;
    store_get_stats(s, &st);
    cr_assert_eq(st.batches, 3);
    /* Completions of a batch still syncing at close run before store_close returns. */
    exec_ok(store_call_begin(s), s);
    set_balance(s, 99, 99);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    store_close(s);
    cr_assert_eq(log.count, 21);
    open_in_call(ACCOUNTS_V1);
    cr_assert_eq(balance_of(s, 19), 19);
    cr_assert_eq(balance_of(s, 99), 99);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
    store_error err;
    store *other;
    cr_assert_eq(store_open(path, &(store_config){.background_sync = true, .durability = STORE_DURABLE_PROCESS},
                            &other, &err), JSP_EINVAL);
}

/* A backend whose sync descriptor cannot be synced (a pipe: fdatasync gives EINVAL). */
static int pipe_fds[2];

static int unsyncable_fd(store_backend *b, store_error *err)
{
    if (pipe(pipe_fds))
        return -1;
    close(pipe_fds[1]);
    return pipe_fds[0];
}

Test(store, a_failed_background_fsync_fails_its_calls_and_breaks_the_store)
{
    s = open_store(NULL);
    declare_ok(s, ACCOUNTS_V1);
    store_close(s);
    failing_backend = store_sqlite_backend;
    failing_backend.sync_fd = unsyncable_fd;
    s = open_store(&(store_config){.background_sync = true, .backend = &failing_backend});
    declare_ok(s, ACCOUNTS_V1); /* unchanged: nothing to sync */
    cr_assert_eq(store_last_error(s)->code, 0);
    done_log log = {0};
    exec_ok(store_call_begin(s), s);
    set_balance(s, 1, 1);
    exec_ok(store_call_end(s, true, on_done, &log, NULL), s);
    exec_ok(store_flush(s), s);
    store_poll(s, true);
    cr_assert_eq(log.count, 1);
    cr_assert_eq(log.codes[0], JSP_ESTORE, "an acknowledgement must wait for a successful fsync");
    cr_assert(strstr(log.messages[0], "fsync failed"), "%s", log.messages[0]);
    assert_error(s, store_call_begin(s), JSP_ESTORE, "StoreError", "fsync failed", NULL);
}

Test(store, misuse_is_refused)
{
    store_error err;
    store *out;
    cr_assert_eq(store_open("", NULL, &out, &err), JSP_EINVAL);
    cr_assert_eq(store_open(path, &(store_config){.durability = 7}, &out, &err), JSP_EINVAL);
    s = open_store(NULL);
    declare_ok(s, ACCOUNTS_V1);
    const char *row = "{\"id\":1,\"owner\":\"o\",\"balance\":1}";
    assert_error(s, store_insert(s, "accounts", row, strlen(row)), JSP_EINVAL, NULL, "no call is open", NULL);
    cr_assert_eq(store_call_end(s, true, NULL, NULL, NULL), JSP_EINVAL);
    exec_ok(store_call_begin(s), s);
    assert_error(s, store_declare(s, ACCOUNTS_V1, strlen(ACCOUNTS_V1)), JSP_EINVAL, NULL, "call is open", NULL);
    exec_ok(store_call_end(s, true, NULL, NULL, NULL), s);
}
