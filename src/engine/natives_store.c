/* natives_store.c — the store group's C side (see store.js): each `db` operation as one
 * host operation (engine_host.h, "db"), rows and keys crossing as JSON text, and a refusal
 * thrown as the error class the host names. Argument shapes are checked in JS. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

/* TypeError and RangeError are the engine's; the store's own classes (ConstraintError,
 * NotFoundError, StoreError) are Errors whose name says which. */
JSValueRef natives_throw_db(JSContextRef js, JSValueRef *exception, int rc, const engine_db_error *err)
{
    const char *name = err->name ? err->name : "StoreError";
    const char *message = err->message[0] ? err->message : jsp_strerror(rc);
    if (!strcmp(name, "TypeError") || !strcmp(name, "RangeError")) {
        *exception = js_make_error(js, name, message);
        return JSValueMakeUndefined(js);
    }
    JSValueRef error = js_make_error(js, "Error", message);
    JSStringRef key = JSStringCreateWithUTF8CString("name");
    JSStringRef value = JSStringCreateWithUTF8CString(name);
    JSObjectSetProperty(js, (JSObjectRef)error, key, JSValueMakeString(js, value), kJSPropertyAttributeDontEnum,
                        NULL);
    JSStringRelease(key);
    JSStringRelease(value);
    *exception = error;
    return JSValueMakeUndefined(js);
}

static JSValueRef json_string(JSContextRef js, const char *text, size_t len)
{
    JSStringRef s = js_string_from_utf8(text, len);
    JSValueRef v = JSValueMakeString(js, s);
    JSStringRelease(s);
    return v;
}

/* The context's host ops, or NULL after throwing (no store in this context). */
static engine_ctx *db_ctx(JSContextRef js, JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (!ec || !ec->host->db_get || !(ec->apis & 1u << API_STORE)) {
        natives_throw(js, exception, "Error", "db: this context has no store");
        return NULL;
    }
    return ec;
}

/* Strings the natives take: table and index names and JSON texts, all produced by
 * store.js. NULL (and an exception) when argument i is missing; *is_null for null. */
typedef struct args {
    char *s[5];
} args;

static void args_free(args *a)
{
    for (size_t i = 0; i < 5; i++)
        free(a->s[i]);
}

static bool string_args(JSContextRef js, size_t argc, const JSValueRef argv[], size_t n, args *a,
                        size_t *lens, JSValueRef *exception)
{
    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < n && i < 5; i++) {
        if (i >= argc || JSValueIsNull(js, argv[i]) || JSValueIsUndefined(js, argv[i]))
            continue;
        a->s[i] = natives_string_arg(js, argc, argv, i, &lens[i]);
        if (!a->s[i]) {
            args_free(a);
            natives_throw(js, exception, "TypeError", "db: bad native call");
            return false;
        }
    }
    return true;
}

static JSValueRef native_schema(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    if (!ec)
        return JSValueMakeUndefined(js);
    char *json = NULL;
    engine_db_error err = {0};
    int rc = ec->host->db_schema(ec->host_ctx, &json, &err);
    if (rc)
        return natives_throw_db(js, exception, rc, &err);
    JSValueRef v = json_string(js, json, strlen(json));
    free(json);
    return v;
}

static JSValueRef native_declare(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                 const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    args a;
    size_t lens[5] = {0};
    if (!ec || !string_args(js, argc, argv, 1, &a, lens, exception))
        return JSValueMakeUndefined(js);
    engine_db_error err = {0};
    int rc = a.s[0] ? ec->host->db_declare(ec->host_ctx, a.s[0], lens[0], &err) : JSP_EINVAL;
    args_free(&a);
    return rc ? natives_throw_db(js, exception, rc, &err) : JSValueMakeUndefined(js);
}

/* get(table, keyJson) -> row JSON text or undefined */
static JSValueRef native_get(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    args a;
    size_t lens[5] = {0};
    if (!ec || !string_args(js, argc, argv, 2, &a, lens, exception))
        return JSValueMakeUndefined(js);
    const char *row = NULL;
    size_t row_len = 0;
    engine_db_error err = {0};
    int rc = a.s[0] && a.s[1] ? ec->host->db_get(ec->host_ctx, a.s[0], a.s[1], lens[1], &row, &row_len, &err)
                              : JSP_EINVAL;
    args_free(&a);
    if (rc)
        return natives_throw_db(js, exception, rc, &err);
    return row ? json_string(js, row, row_len) : JSValueMakeUndefined(js);
}

/* write(op, table, json) -> for delete, whether a row was there; else undefined */
static JSValueRef native_write(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    if (!ec || argc < 3)
        return ec ? natives_throw(js, exception, "TypeError", "db: bad native call") : JSValueMakeUndefined(js);
    int op = (int)JSValueToNumber(js, argv[0], NULL);
    args a;
    size_t lens[5] = {0};
    if (!string_args(js, argc - 1, argv + 1, 2, &a, lens, exception))
        return JSValueMakeUndefined(js);
    bool deleted = false;
    engine_db_error err = {0};
    int rc = a.s[0] && a.s[1] && op >= ENGINE_DB_INSERT && op <= ENGINE_DB_DELETE
                 ? ec->host->db_write(ec->host_ctx, op, a.s[0], a.s[1], lens[1], &deleted, &err)
                 : JSP_EINVAL;
    args_free(&a);
    if (rc)
        return natives_throw_db(js, exception, rc, &err);
    return op == ENGINE_DB_DELETE ? JSValueMakeBoolean(js, deleted) : JSValueMakeUndefined(js);
}

enum { RANGE_LO_EXCLUSIVE = 1, RANGE_HI_INCLUSIVE = 2, RANGE_REVERSE = 4 };

/* (table, index|null, lo|null, hi|null, flags): the shared shape of count and scan */
static bool range_args(JSContextRef js, size_t argc, const JSValueRef argv[], args *a, engine_db_range *r,
                       JSValueRef *exception)
{
    size_t lens[5] = {0};
    if (!string_args(js, argc, argv, 4, a, lens, exception))
        return false;
    if (!a->s[0]) {
        args_free(a);
        natives_throw(js, exception, "TypeError", "db: bad native call");
        return false;
    }
    int flags = argc > 4 ? (int)JSValueToNumber(js, argv[4], NULL) : 0;
    *r = (engine_db_range){.lo = a->s[2],
                           .hi = a->s[3],
                           .lo_exclusive = flags & RANGE_LO_EXCLUSIVE,
                           .hi_inclusive = flags & RANGE_HI_INCLUSIVE,
                           .reverse = flags & RANGE_REVERSE};
    return true;
}

static JSValueRef native_count(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    args a;
    engine_db_range range;
    if (!ec || !range_args(js, argc, argv, &a, &range, exception))
        return JSValueMakeUndefined(js);
    int64_t n = 0;
    engine_db_error err = {0};
    int rc = ec->host->db_count(ec->host_ctx, a.s[0], a.s[1], &range, &n, &err);
    args_free(&a);
    return rc ? natives_throw_db(js, exception, rc, &err) : JSValueMakeNumber(js, (double)n);
}

static JSValueRef native_scan(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    args a;
    engine_db_range range;
    if (!ec || !range_args(js, argc, argv, &a, &range, exception))
        return JSValueMakeUndefined(js);
    uint64_t id = 0;
    engine_db_error err = {0};
    int rc = ec->host->db_scan(ec->host_ctx, a.s[0], a.s[1], &range, &id, &err);
    args_free(&a);
    return rc ? natives_throw_db(js, exception, rc, &err) : JSValueMakeNumber(js, (double)id);
}

/* Iterator ids are < 2^53 (one per scan in the runtime's life): exact as JS numbers. */
static uint64_t iterator_id(JSContextRef js, size_t argc, const JSValueRef argv[])
{
    double id = argc ? JSValueToNumber(js, argv[0], NULL) : 0;
    return id >= 1 && id <= 9007199254740991.0 ? (uint64_t)id : 0;
}

/* next(id) -> row JSON text, or undefined at the end */
static JSValueRef native_next(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    if (!ec)
        return JSValueMakeUndefined(js);
    const char *row = NULL;
    size_t len = 0;
    engine_db_error err = {0};
    int rc = ec->host->db_next(ec->host_ctx, iterator_id(js, argc, argv), &row, &len, &err);
    if (rc < 0)
        return natives_throw_db(js, exception, rc, &err);
    return rc == 1 ? json_string(js, row, len) : JSValueMakeUndefined(js);
}

static JSValueRef native_close(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = db_ctx(js, exception);
    uint64_t id = iterator_id(js, argc, argv);
    if (ec && id)
        ec->host->db_close(ec->host_ctx, id);
    return JSValueMakeUndefined(js);
}

void natives_store_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "schema", native_schema);
    natives_define(js, natives, "declare", native_declare);
    natives_define(js, natives, "get", native_get);
    natives_define(js, natives, "write", native_write);
    natives_define(js, natives, "count", native_count);
    natives_define(js, natives, "scan", native_scan);
    natives_define(js, natives, "next", native_next);
    natives_define(js, natives, "close", native_close);
}
