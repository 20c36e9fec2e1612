/* natives_storage.c — the storage group's C side (see storage.js): the quota, and
 * localStorage kept in the context's store through the host's local_* operations
 * (engine_host.h) when the context has one. Strings cross as their UTF-16 code units, so
 * every JS string (lone surrogates included) is kept exactly. Argument conversion, the
 * Storage interface and the in-heap areas are in JS. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

/* The context, when its localStorage is in its store; else NULL after throwing. */
static engine_ctx *durable_ctx(JSContextRef js, JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (!ec || !ec->host->local_is_durable || !ec->host->local_is_durable(ec->host_ctx)) {
        natives_throw(js, exception, "Error", "localStorage: this context keeps it in memory");
        return NULL;
    }
    return ec;
}

/* Argument i as a JS string (the caller releases it), or NULL after throwing. */
static JSStringRef string_arg(JSContextRef js, size_t argc, const JSValueRef argv[], size_t i,
                              JSValueRef *exception)
{
    if (i >= argc || !JSValueIsString(js, argv[i])) {
        natives_throw(js, exception, "TypeError", "localStorage: bad native call");
        return NULL;
    }
    return JSValueToStringCopy(js, argv[i], exception);
}

/* A string of units that may be unaligned (a database page): copied first. */
static JSValueRef make_string(JSContextRef js, const void *units, size_t n)
{
    uint16_t small[64] = {0};
    uint16_t *aligned = n <= 64 ? small : malloc(n * sizeof(uint16_t));
    if (!aligned)
        return JSValueMakeNull(js);
    if (n)
        memcpy(aligned, units, n * sizeof(uint16_t));
    JSStringRef s = JSStringCreateWithCharacters(aligned, n);
    if (aligned != small)
        free(aligned);
    JSValueRef v = JSValueMakeString(js, s);
    JSStringRelease(s);
    return v;
}

/* get(key) -> string or null */
static JSValueRef native_get(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = durable_ctx(js, exception);
    JSStringRef key = ec ? string_arg(js, argc, argv, 0, exception) : NULL;
    if (!key)
        return JSValueMakeUndefined(js);
    const void *value = NULL;
    size_t units = 0;
    engine_db_error err = {0};
    int rc = ec->host->local_get(ec->host_ctx, JSStringGetCharactersPtr(key), JSStringGetLength(key), &value,
                                 &units, &err);
    JSStringRelease(key);
    if (rc < 0)
        return natives_throw_db(js, exception, rc, &err);
    return rc ? make_string(js, value, units) : JSValueMakeNull(js);
}

/* set(key, value) -> true, or false when the quota would be passed (nothing written) */
static JSValueRef native_set(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = durable_ctx(js, exception);
    JSStringRef key = ec ? string_arg(js, argc, argv, 0, exception) : NULL;
    JSStringRef value = key ? string_arg(js, argc, argv, 1, exception) : NULL;
    if (!value) {
        if (key)
            JSStringRelease(key);
        return JSValueMakeUndefined(js);
    }
    int64_t quota = ec->host->storage_quota ? ec->host->storage_quota(ec->host_ctx) : ENGINE_STORAGE_QUOTA;
    engine_db_error err = {0};
    int rc = ec->host->local_set(ec->host_ctx, JSStringGetCharactersPtr(key), JSStringGetLength(key),
                                 JSStringGetCharactersPtr(value), JSStringGetLength(value), quota, &err);
    JSStringRelease(key);
    JSStringRelease(value);
    if (rc < 0)
        return natives_throw_db(js, exception, rc, &err);
    return JSValueMakeBoolean(js, rc == 0);
}

static JSValueRef native_remove(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = durable_ctx(js, exception);
    JSStringRef key = ec ? string_arg(js, argc, argv, 0, exception) : NULL;
    if (!key)
        return JSValueMakeUndefined(js);
    engine_db_error err = {0};
    int rc = ec->host->local_remove(ec->host_ctx, JSStringGetCharactersPtr(key), JSStringGetLength(key), &err);
    JSStringRelease(key);
    return rc < 0 ? natives_throw_db(js, exception, rc, &err) : JSValueMakeUndefined(js);
}

static JSValueRef native_clear(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = durable_ctx(js, exception);
    if (!ec)
        return JSValueMakeUndefined(js);
    engine_db_error err = {0};
    int rc = ec->host->local_clear(ec->host_ctx, &err);
    return rc < 0 ? natives_throw_db(js, exception, rc, &err) : JSValueMakeUndefined(js);
}

static JSValueRef native_length(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = durable_ctx(js, exception);
    if (!ec)
        return JSValueMakeUndefined(js);
    int64_t n = 0;
    engine_db_error err = {0};
    int rc = ec->host->local_count(ec->host_ctx, &n, &err);
    return rc < 0 ? natives_throw_db(js, exception, rc, &err) : JSValueMakeNumber(js, (double)n);
}

/* The keys a scan hands over, gathered into a JS array. */
typedef struct key_array {
    JSContextRef js;
    JSValueRef *values;
    size_t n, cap;
    bool failed;
} key_array;

static void add_key(void *user, const void *key, size_t units)
{
    key_array *a = user;
    if (a->failed)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        JSValueRef *values = realloc(a->values, cap * sizeof(*values));
        if (!values) {
            a->failed = true;
            return;
        }
        a->values = values;
        a->cap = cap;
    }
    /* JSValueRefs on the C stack or heap are not GC roots: each is protected until the
     * array holds it */
    JSValueRef v = make_string(a->js, key, units);
    JSValueProtect(a->js, v);
    a->values[a->n++] = v;
}

static JSValueRef keys_between(JSContextRef js, engine_ctx *ec, int64_t first, int64_t max, JSValueRef *exception)
{
    key_array a = {.js = js};
    engine_db_error err = {0};
    int rc = ec->host->local_keys(ec->host_ctx, first, max, add_key, &a, &err);
    JSValueRef result = NULL;
    if (rc < 0)
        result = natives_throw_db(js, exception, rc, &err);
    else if (a.failed)
        result = natives_throw(js, exception, "RangeError", "out of memory");
    else
        result = JSObjectMakeArray(js, a.n, a.values, exception);
    for (size_t i = 0; i < a.n; i++)
        JSValueUnprotect(js, a.values[i]);
    free(a.values);
    return result ? result : JSValueMakeUndefined(js);
}

/* keys() -> every key, in key() order */
static JSValueRef native_keys(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = durable_ctx(js, exception);
    return ec ? keys_between(js, ec, 0, -1, exception) : JSValueMakeUndefined(js);
}

/* key(index) -> the key at index, or null */
static JSValueRef native_key(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = durable_ctx(js, exception);
    if (!ec)
        return JSValueMakeUndefined(js);
    double index = argc ? JSValueToNumber(js, argv[0], NULL) : 0;
    if (!(index >= 0 && index <= 4294967295.0))
        return JSValueMakeNull(js);
    JSValueRef keys = keys_between(js, ec, (int64_t)index, 1, exception);
    if (*exception || !JSValueIsObject(js, keys))
        return JSValueMakeUndefined(js);
    JSValueRef key = JSObjectGetPropertyAtIndex(js, (JSObjectRef)keys, 0, exception);
    return key && JSValueIsString(js, key) ? key : JSValueMakeNull(js);
}

void natives_storage_add(JSContextRef js, JSObjectRef natives)
{
    engine_ctx *ec = engine_ctx_of(js);
    const engine_host_ops *host = ec ? ec->host : NULL;
    int64_t quota = host && host->storage_quota ? host->storage_quota(ec->host_ctx) : ENGINE_STORAGE_QUOTA;
    natives_set_value(js, natives, "quota", JSValueMakeNumber(js, (double)quota));
    natives_set_value(js, natives, "itemUnits", JSValueMakeNumber(js, ENGINE_STORAGE_ITEM_UNITS));
    bool durable = host && host->local_is_durable && host->local_is_durable(ec->host_ctx);
    natives_set_value(js, natives, "isDurable", JSValueMakeBoolean(js, durable));
    natives_define(js, natives, "get", native_get);
    natives_define(js, natives, "set", native_set);
    natives_define(js, natives, "remove", native_remove);
    natives_define(js, natives, "clear", native_clear);
    natives_define(js, natives, "length", native_length);
    natives_define(js, natives, "keys", native_keys);
    natives_define(js, natives, "key", native_key);
}
