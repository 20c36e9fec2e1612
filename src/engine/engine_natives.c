/* engine_natives.c — the globals a context gets from the host in C: host.call /
 * host.callSync / host.send, setTimeout & co. and queueMicrotask (console is a JS group
 * with natives_console.c). Each native turns JS arguments into host types and hands over
 * to an operation of the host (engine_host.h); the scheduling itself (timers, host calls)
 * lives in the runtime layer. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "util/result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- timers ---- */

static JSValueRef schedule(JSContextRef js, size_t argc, const JSValueRef argv[],
                           JSValueRef *exception, bool is_repeating)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (argc < 1 || !JSValueIsObject(js, argv[0]) || !JSObjectIsFunction(js, (JSObjectRef)argv[0]))
        return natives_throw(js, exception, "TypeError",
                           "timer callback must be a function (strings are not evaluated)");
    double delay_ms = argc > 1 ? JSValueToNumber(js, argv[1], NULL) : 0;
    if (!isfinite(delay_ms) || delay_ms < 0)
        delay_ms = 0; /* HTML: NaN, negative and missing delays mean 0 */
    size_t extra = argc > 2 ? argc - 2 : 0;
    engine_callback *cb = malloc(sizeof(*cb) + extra * sizeof(JSValueRef));
    if (!cb || !ec)
        return free(cb), natives_throw(js, exception, "Error", "out of memory");
    cb->js = ec->js;
    cb->function = (JSObjectRef)argv[0];
    JSValueProtect(js, cb->function);
    cb->argc = extra;
    for (size_t i = 0; i < extra; i++) {
        cb->argv[i] = argv[i + 2];
        JSValueProtect(js, cb->argv[i]);
    }
    uint64_t id = ec->host->set_timer(ec->host_ctx, cb, delay_ms, is_repeating);
    if (id == ENGINE_TIMER_CAPPED)
        return natives_throw(js, exception, "RangeError",
                             is_repeating ? "setInterval: too many live timers in this context "
                                            "(max_timers_per_context); clear some first"
                                          : "setTimeout: too many live timers in this context "
                                            "(max_timers_per_context); clear some first");
    if (id == 0)
        return natives_throw(js, exception, "Error", "out of memory");
    return JSValueMakeNumber(js, (double)id);
}

static JSValueRef set_timeout(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    return schedule(js, argc, argv, exception, false);
}

static JSValueRef set_interval(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    return schedule(js, argc, argv, exception, true);
}

static JSValueRef clear_timer(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (argc < 1 || !JSValueIsNumber(js, argv[0]) || !ec)
        return JSValueMakeUndefined(js); /* HTML: clearing nonsense is a no-op */
    double id = JSValueToNumber(js, argv[0], NULL);
    if (id >= 1 && id <= 9007199254740991.0 && id == floor(id))
        ec->host->clear_timer(ec->host_ctx, (uint64_t)id);
    return JSValueMakeUndefined(js);
}

static JSValueRef queue_microtask(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                                  const JSValueRef argv[], JSValueRef *exception)
{
    if (argc < 1 || !JSValueIsObject(js, argv[0]) || !JSObjectIsFunction(js, (JSObjectRef)argv[0]))
        return natives_throw(js, exception, "TypeError", "queueMicrotask: callback must be a function");
    engine_ctx *ec = engine_ctx_of(js);
    /* The C API has no microtask queue; a resolved promise's reaction job is one. */
    JSObjectRef resolve, reject;
    JSObjectRef promise = JSObjectMakeDeferredPromise(js, &resolve, &reject, exception);
    if (!promise || !ec)
        return JSValueMakeUndefined(js);
    JSObjectCallAsFunction(js, resolve, NULL, 0, NULL, NULL);
    JSValueRef then = JSObjectGetProperty(js, promise, ec->vm->names.then, NULL);
    JSObjectCallAsFunction(js, (JSObjectRef)then, promise, 1, argv, exception);
    return JSValueMakeUndefined(js);
}

/* ---- host ---- */

/* host.call/callSync arguments: a non-empty string name, then JSON-able values. */
static bool host_call_arguments(JSContextRef js, size_t argc, const JSValueRef argv[],
                                JSValueRef *exception, char **name, char **args, size_t *args_len)
{
    if (argc < 1 || !JSValueIsString(js, argv[0])) {
        natives_throw(js, exception, "TypeError", "host.call: first argument must be a function name");
        return false;
    }
    *name = js_value_to_utf8(js, argv[0], NULL);
    *args = NULL;
    JSObjectRef array = JSObjectMakeArray(js, argc - 1, argv + 1, exception);
    if (!*name || !array || js_value_to_json(js, array, args, args_len) != 0) {
        if (!*exception)
            natives_throw(js, exception, "TypeError", "host.call: arguments cannot be serialised");
        free(*name);
        free(*args); /* on failure js_value_to_json leaves its message here */
        return false;
    }
    return true;
}

static JSValueRef host_call(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                            const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *name, *args;
    size_t args_len;
    if (!ec || !host_call_arguments(js, argc, argv, exception, &name, &args, &args_len))
        return JSValueMakeUndefined(js);
    engine_host_promise *p = malloc(sizeof(*p));
    JSObjectRef promise = p ? JSObjectMakeDeferredPromise(js, &p->resolve, &p->reject, exception) : NULL;
    if (!promise) {
        free(p);
        free(name);
        free(args);
        return natives_throw(js, exception, "Error", "out of memory");
    }
    p->js = ec->js;
    JSValueProtect(js, p->resolve);
    JSValueProtect(js, p->reject);
    int rc = ec->host->host_call(ec->host_ctx, name, args, args_len, p);
    if (rc == JSP_ENOTFOUND) {
        JSValueRef error = js_make_error(js, "TypeError", "host.call: no host function registered under that name");
        JSObjectCallAsFunction(js, p->reject, NULL, 1, &error, NULL);
        engine_host_promise_free(p);
    }
    free(name);
    return promise;
}

static JSValueRef host_call_sync(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                                 const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *name, *args, *reply = NULL;
    size_t args_len, reply_len = 0;
    if (!ec || !host_call_arguments(js, argc, argv, exception, &name, &args, &args_len))
        return JSValueMakeUndefined(js);
    int rc = ec->host->host_call_sync(ec->host_ctx, name, args, args_len, &reply, &reply_len);
    free(name);
    JSValueRef result = JSValueMakeUndefined(js);
    if (rc == 0) {
        result = js_value_from_json(js, reply, reply_len);
        if (!result)
            natives_throw(js, exception, "TypeError", "host function answered invalid JSON");
    } else if (rc == JSP_EJS) {
        natives_throw(js, exception, "Error", reply ? reply : "host function failed");
    } else if (rc == JSP_ENOTFOUND) {
        natives_throw(js, exception, "TypeError", "host.callSync: no host function registered under that name");
    } else {
        natives_throw(js, exception, "Error", jsp_strerror(rc));
    }
    free(reply);
    return result ? result : JSValueMakeUndefined(js);
}

static JSValueRef host_send(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                            const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *json;
    size_t len;
    if (!ec)
        return JSValueMakeUndefined(js);
    if (js_value_to_json(js, argc ? argv[0] : JSValueMakeUndefined(js), &json, &len) != 0) {
        free(json);
        return natives_throw(js, exception, "TypeError", "host.send: value cannot be serialised as JSON");
    }
    ec->host->host_send(ec->host_ctx, json, len);
    free(json);
    return JSValueMakeUndefined(js);
}

/* ---- installation ---- */

typedef struct native_def {
    const char *name;
    JSObjectCallAsFunctionCallback fn;
} native_def;

static void define_functions(JSContextRef js, JSObjectRef target, const native_def *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        JSStringRef name = JSStringCreateWithUTF8CString(defs[i].name);
        JSObjectRef fn = JSObjectMakeFunctionWithCallback(js, name, defs[i].fn);
        /* Web platform globals are writable, configurable and not enumerable. */
        JSObjectSetProperty(js, target, name, fn, kJSPropertyAttributeDontEnum, NULL);
        JSStringRelease(name);
    }
}

static JSObjectRef define_namespace(JSContextRef js, JSObjectRef global, const char *name,
                                    const native_def *defs, size_t n)
{
    JSObjectRef ns = JSObjectMake(js, NULL, NULL);
    define_functions(js, ns, defs, n);
    JSStringRef key = JSStringCreateWithUTF8CString(name);
    JSObjectSetProperty(js, global, key, ns, kJSPropertyAttributeDontEnum, NULL);
    JSStringRelease(key);
    return ns;
}

int natives_install(engine_ctx *ec, uint32_t apis)
{
    static const native_def globals[] = {
        {"setTimeout", set_timeout},       {"setInterval", set_interval},
        {"clearTimeout", clear_timer},     {"clearInterval", clear_timer},
        {"queueMicrotask", queue_microtask},
    };
    static const native_def host[] = {
        {"call", host_call}, {"callSync", host_call_sync}, {"send", host_send}};
    JSContextRef js = ec->js;
    JSObjectRef global = JSContextGetGlobalObject(js);
    if (apis & 1u << API_TIMERS)
        define_functions(js, global, globals, sizeof(globals) / sizeof(globals[0]));
    define_namespace(js, global, "host", host, sizeof(host) / sizeof(host[0]));
    if (!(apis & 1u << API_CONSOLE)) {
        /* JSC's own console would write to the process's stderr, past the log callback.
         * It is shadowed with undefined, not deleted: deleting a property of the global
         * turns its structure into a per-context dictionary (+45 KB and +200 us measured
         * per context). */
        JSStringRef key = JSStringCreateWithUTF8CString("console");
        JSObjectSetProperty(js, global, key, JSValueMakeUndefined(js), kJSPropertyAttributeDontEnum, NULL);
        JSStringRelease(key);
    }
    return 0;
}
