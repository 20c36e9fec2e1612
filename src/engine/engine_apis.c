/* engine_apis.c — installs the JS-written web-API groups of a context lazily: each global
 * a group defines starts as an accessor on globalThis; the first read runs the group's
 * embedded source (its dependencies load the same way when it touches them), replaces
 * every accessor of the group with a plain writable, configurable, non-enumerable data
 * property, and returns the value. `typeof X`, `'X' in globalThis` and property order
 * behave as if X had been there from the start; assigning X before use just sets it. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(API_GROUP_COUNT <= ENGINE_MAX_API_GROUPS, "engine_ctx.api_exports is too small");

/* Each JS group's C fast paths, passed to its factory as `natives` (NULL: none). One
 * file per group: src/engine/natives_<group>.c. */
static void (*const group_natives[API_GROUP_COUNT])(JSContextRef js, JSObjectRef natives) = {
    [API_CONSOLE] = natives_console_add,
    [API_ENCODING] = natives_encoding_add,
    [API_CHANNEL] = natives_channel_add,
    [API_WORKER] = natives_worker_add,
    [API_CRYPTO] = natives_crypto_add,
    [API_LOCKS] = natives_locks_add,
    [API_COMPRESSION] = natives_compression_add,
    [API_URL] = natives_url_add,
    [API_PERFORMANCE] = natives_performance_add,
    [API_NAVIGATOR] = natives_navigator_add,
    [API_STORAGE] = natives_storage_add,
    [API_FETCH] = natives_fetch_add,
    [API_DOM] = natives_dom_add,
    [API_WEBSOCKET] = natives_websocket_add,
    [API_STORE] = natives_store_add,
};

static JSValueRef make_natives(JSContextRef js, int group)
{
    if (!group_natives[group])
        return JSValueMakeUndefined(js);
    JSObjectRef object = JSObjectMake(js, NULL, NULL);
    group_natives[group](js, object);
    return object;
}

static JSValueRef load_dependency(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                  const JSValueRef argv[], JSValueRef *exception);

JSValueRef engine_apis_load(engine_ctx *ec, int g, JSValueRef *exception)
{
    JSContextRef js = ec->js;
    if (ec->api_exports[g])
        return ec->api_exports[g];
    if (engine_ctx_ready(ec) != 0) /* a worker's scope loads its group before anything ran */
        return natives_throw(js, exception, "Error", "out of memory");
    char url[64];
    snprintf(url, sizeof(url), "jspool:%s.js", api_groups[g].name);
    JSValueRef factory = js_evaluate_utf8(js, api_groups[g].source, url, exception);
    if (!factory || *exception || !JSValueIsObject(js, factory))
        return JSValueMakeUndefined(js);
    JSStringRef dependency_name = JSStringCreateWithUTF8CString("dependency");
    JSValueRef args[3] = {JSContextGetGlobalObject(js), make_natives(js, g),
                          JSObjectMakeFunctionWithCallback(js, dependency_name, load_dependency)};
    JSStringRelease(dependency_name);
    JSValueRef exports = JSObjectCallAsFunction(js, (JSObjectRef)factory, NULL, 3, args, exception);
    if (!exports || *exception || !JSValueIsObject(js, exports))
        return JSValueMakeUndefined(js);
    JSValueProtect(js, exports);
    ec->api_exports[g] = (JSObjectRef)exports;
    return exports;
}

/* dependency(name): the exports of another JS group, loaded if need be; a group's factory
 * gets it as its third argument to share internals that are not globals (compression
 * builds on the streams group's TransformStream internals this way). */
static JSValueRef load_dependency(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                  const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char name[64] = "";
    JSStringRef s = argc ? JSValueToStringCopy(js, argv[0], NULL) : NULL;
    if (s) {
        JSStringGetUTF8CString(s, name, sizeof(name));
        JSStringRelease(s);
    }
    for (int g = 0; ec && g < API_GROUP_COUNT; g++)
        if (api_groups[g].source && strcmp(api_groups[g].name, name) == 0)
            return engine_apis_load(ec, g, exception);
    return JSValueMakeUndefined(js);
}

/* ---- the lazy accessors ----
 * Defined from C, not by running an installer script in every new global: the script
 * (its closures, the group list parsed from JSON, one descriptor literal per name) cost
 * 50-80 us and 14 KB per context (bench_contexts --apis console,timers, 3,000 contexts:
 * issue 13); the accessors below cost a few microseconds. Each accessor is a C function
 * named after its global; on first use it defines the group's globals with the
 * Object.defineProperty captured before any guest code ran (ec->define_property). */

/* Defines globalThis[key] as a plain writable, configurable, non-enumerable value. */
static void define_value(engine_ctx *ec, JSStringRef key, JSValueRef value, JSValueRef *exception)
{
    JSContextRef js = ec->js;
    const engine_names *k = &ec->vm->names;
    JSObjectRef descriptor = JSObjectMake(js, NULL, NULL);
    JSObjectSetProperty(js, descriptor, k->value, value, 0, NULL);
    JSObjectSetProperty(js, descriptor, k->writable, JSValueMakeBoolean(js, true), 0, NULL);
    JSObjectSetProperty(js, descriptor, k->configurable, JSValueMakeBoolean(js, true), 0, NULL);
    JSObjectSetProperty(js, descriptor, k->enumerable, JSValueMakeBoolean(js, false), 0, NULL);
    JSValueRef args[3] = {JSContextGetGlobalObject(js), JSValueMakeString(js, key), descriptor};
    JSObjectCallAsFunction(js, ec->define_property, NULL, 3, args, exception);
}

/* The group of ec that defines the global an accessor was named after, or -1. The name
 * is the accessor function's own `name`, which guest code can redefine: it then still
 * names one of ec's own groups or none. */
static int accessor_group(engine_ctx *ec, JSObjectRef accessor, char *name, size_t name_size)
{
    JSValueRef value = JSObjectGetProperty(ec->js, accessor, ec->vm->names.name, NULL);
    JSStringRef s = value && JSValueIsString(ec->js, value) ? JSValueToStringCopy(ec->js, value, NULL) : NULL;
    if (!s)
        return -1;
    JSStringGetUTF8CString(s, name, name_size);
    JSStringRelease(s);
    for (int g = 0; g < API_GROUP_COUNT; g++) {
        if (!(ec->apis & 1u << g) || !api_groups[g].source)
            continue;
        for (const char *const *n = api_groups[g].globals; *n; n++)
            if (strcmp(*n, name) == 0)
                return g;
    }
    return -1;
}

/* get(): loads the group, replaces each of its accessors by the value, returns ours. */
static JSValueRef lazy_get(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                           const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char name[64];
    int g = ec ? accessor_group(ec, function, name, sizeof(name)) : -1;
    if (g < 0)
        return JSValueMakeUndefined(js);
    JSValueRef exports = engine_apis_load(ec, g, exception);
    if (*exception)
        return JSValueMakeUndefined(js);
    if (!JSValueIsObject(js, exports))
        return natives_throw(js, exception, "TypeError", "API group did not load");
    JSValueRef result = JSValueMakeUndefined(js);
    for (const char *const *n = api_groups[g].globals; *n && !*exception; n++) {
        JSStringRef key = JSStringCreateWithUTF8CString(*n);
        JSValueRef value = JSObjectGetProperty(js, (JSObjectRef)exports, key, exception);
        if (!*exception)
            define_value(ec, key, value, exception);
        if (strcmp(*n, name) == 0)
            result = value;
        JSStringRelease(key);
    }
    return *exception ? JSValueMakeUndefined(js) : result;
}

/* set(value): assigning before use just defines the value, without loading the group. */
static JSValueRef lazy_set(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                           const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char name[64];
    if (!ec || accessor_group(ec, function, name, sizeof(name)) < 0)
        return JSValueMakeUndefined(js);
    JSStringRef key = JSStringCreateWithUTF8CString(name);
    define_value(ec, key, argc ? argv[0] : JSValueMakeUndefined(js), exception);
    JSStringRelease(key);
    return JSValueMakeUndefined(js);
}

int engine_apis_install(engine_ctx *ec, uint32_t apis)
{
    JSContextRef js = ec->js;
    const engine_names *k = &ec->vm->names;
    JSObjectRef global = JSContextGetGlobalObject(js);
    JSObjectRef descriptor = NULL;
    JSValueRef exception = NULL;
    for (int g = 0; g < API_GROUP_COUNT && !exception; g++) {
        if (!(apis & 1u << g) || !api_groups[g].source)
            continue;
        if (!descriptor) { /* one descriptor for every name: only get and set change */
            descriptor = JSObjectMake(js, NULL, NULL);
            JSObjectSetProperty(js, descriptor, k->configurable, JSValueMakeBoolean(js, true), 0, NULL);
            JSObjectSetProperty(js, descriptor, k->enumerable, JSValueMakeBoolean(js, false), 0, NULL);
        }
        for (const char *const *n = api_groups[g].globals; *n && !exception; n++) {
            JSStringRef key = JSStringCreateWithUTF8CString(*n);
            JSObjectSetProperty(js, descriptor, k->get, JSObjectMakeFunctionWithCallback(js, key, lazy_get), 0, NULL);
            JSObjectSetProperty(js, descriptor, k->set, JSObjectMakeFunctionWithCallback(js, key, lazy_set), 0, NULL);
            JSValueRef args[3] = {global, JSValueMakeString(js, key), descriptor};
            JSObjectCallAsFunction(js, ec->define_property, NULL, 3, args, &exception);
            JSStringRelease(key);
        }
    }
    return exception ? -1 : 0;
}

void engine_apis_free(engine_ctx *ec)
{
    for (int g = 0; g < API_GROUP_COUNT; g++)
        if (ec->api_exports[g])
            JSValueUnprotect(ec->js, ec->api_exports[g]);
}

void natives_define(JSContextRef js, JSObjectRef natives, const char *name,
                    JSObjectCallAsFunctionCallback fn)
{
    JSStringRef js_name = JSStringCreateWithUTF8CString(name);
    JSObjectSetProperty(js, natives, js_name, JSObjectMakeFunctionWithCallback(js, js_name, fn),
                        kJSPropertyAttributeReadOnly | kJSPropertyAttributeDontDelete, NULL);
    JSStringRelease(js_name);
}

void natives_set_value(JSContextRef js, JSObjectRef natives, const char *name, JSValueRef value)
{
    JSStringRef key = JSStringCreateWithUTF8CString(name);
    JSObjectSetProperty(js, natives, key, value, kJSPropertyAttributeReadOnly | kJSPropertyAttributeDontDelete, NULL);
    JSStringRelease(key);
}

JSValueRef natives_throw(JSContextRef js, JSValueRef *exception, const char *constructor, const char *message)
{
    *exception = js_make_error(js, constructor, message);
    return JSValueMakeUndefined(js);
}

JSValueRef engine_apis_call_export(engine_ctx *ec, int g, const char *name, size_t argc, const JSValueRef argv[],
                                   JSValueRef *exception)
{
    JSObjectRef exports = ec->api_exports[g];
    if (!exports)
        return NULL; /* the group never loaded in this VM */
    JSContextRef js = ec->js;
    JSStringRef key = JSStringCreateWithUTF8CString(name);
    JSValueRef fn = JSObjectGetProperty(js, exports, key, NULL);
    JSStringRelease(key);
    if (!fn || !JSValueIsObject(js, fn) || !JSObjectIsFunction(js, (JSObjectRef)fn))
        return NULL;
    return engine_call_function(ec, (JSObjectRef)fn, NULL, argc, argv, exception);
}

uint64_t natives_id_arg(JSContextRef js, size_t argc, const JSValueRef argv[])
{
    double id = argc ? JSValueToNumber(js, argv[0], NULL) : 0;
    return id >= 1 && id <= 9007199254740991.0 ? (uint64_t)id : 0;
}

char *natives_string_arg(JSContextRef js, size_t argc, const JSValueRef argv[], size_t i, size_t *len)
{
    if (i >= argc || !JSValueIsString(js, argv[i]))
        return NULL;
    return js_value_to_utf8(js, argv[i], len);
}
