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

/* Run once per context; JSC's code cache makes every run after the VM's first cheap. */
static const char installer_source[] =
    "(function (load, groups) {\n"
    "  'use strict';\n"
    "  const defineProperty = Object.defineProperty;\n"
    "  for (const [group, names] of groups) {\n"
    "    for (const name of names) {\n"
    "      defineProperty(globalThis, name, {\n"
    "        configurable: true, enumerable: false,\n"
    "        get() {\n"
    "          const exports = load(group);\n"
    "          for (const n of names)\n"
    "            defineProperty(globalThis, n, { value: exports[n], writable: true, configurable: true, enumerable: false });\n"
    "          return exports[name];\n"
    "        },\n"
    "        set(value) {\n"
    "          defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });\n"
    "        },\n"
    "      });\n"
    "    }\n"
    "  }\n"
    "})";

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

/* Appends formatted text at *n, stopping (and leaving *n past size) once it does not fit. */
static void append(char *buffer, size_t size, size_t *n, const char *format, const char *text)
{
    if (*n < size)
        *n += (size_t)snprintf(buffer + *n, size - *n, format, text);
}

/* load(group): runs the group's source once per context and returns its exports. */
static JSValueRef load_group(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    double index = argc ? JSValueToNumber(js, argv[0], NULL) : -1;
    if (!ec || !(index >= 0 && index < API_GROUP_COUNT) || !api_groups[(int)index].source)
        return JSValueMakeUndefined(js);
    return engine_apis_load(ec, (int)index, exception);
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

int engine_apis_install(engine_ctx *ec, uint32_t apis)
{
    char groups[4096] = "[";
    size_t n = 1;
    for (int g = 0; g < API_GROUP_COUNT; g++) {
        if (!(apis & 1u << g) || !api_groups[g].source)
            continue;
        char index[16];
        snprintf(index, sizeof(index), "%d", g);
        append(groups, sizeof(groups), &n, n > 1 ? ",[%s,[" : "[%s,[", index);
        for (const char *const *name = api_groups[g].globals; *name; name++)
            append(groups, sizeof(groups), &n, name == api_groups[g].globals ? "\"%s\"" : ",\"%s\"", *name);
        append(groups, sizeof(groups), &n, "%s", "]]");
    }
    if (n == 1)
        return 0; /* no JS group asked for */
    append(groups, sizeof(groups), &n, "%s", "]");
    if (n >= sizeof(groups))
        return -1; /* more globals than fit: raise the buffer */
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    JSValueRef installer = js_evaluate_utf8(js, installer_source, "jspool:apis-installer.js", &exception);
    JSStringRef load_name = JSStringCreateWithUTF8CString("load");
    JSStringRef groups_json = JSStringCreateWithUTF8CString(groups);
    JSValueRef args[2] = {JSObjectMakeFunctionWithCallback(js, load_name, load_group),
                          JSValueMakeFromJSONString(js, groups_json)};
    JSStringRelease(load_name);
    JSStringRelease(groups_json);
    if (exception || !installer || !JSValueIsObject(js, installer) || !args[1])
        return -1;
    JSObjectCallAsFunction(js, (JSObjectRef)installer, NULL, 2, args, &exception);
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
