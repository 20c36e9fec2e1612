/* engine_natives.c — the globals every context gets from the host: host.call /
 * host.callSync / host.send, console.*, setTimeout & co. and queueMicrotask. Each native
 * turns JS arguments into host types and hands over to a runtime_hook_*; the scheduling
 * itself (timers, host calls) lives in the runtime layer. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "util/result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static JSValueRef throw_error(JSContextRef js, JSValueRef *exception, const char *constructor,
                              const char *message)
{
    *exception = js_make_error(js, constructor, message);
    return JSValueMakeUndefined(js);
}

/* ---- console ---- */

/* Browsers print strings bare and objects as an inspection; JSON is our inspection. */
static void append_console_arg(JSContextRef js, JSValueRef v, char **text, size_t *len)
{
    char *part = NULL;
    size_t part_len = 0;
    if (JSValueIsObject(js, v) && !JSObjectIsFunction(js, (JSObjectRef)v)) {
        engine_ctx *ec = engine_ctx_of(js);
        JSStringRef stack_key = ec ? ec->vm->names.stack : NULL;
        JSValueRef stack = stack_key ? JSObjectGetProperty(js, (JSObjectRef)v, stack_key, NULL) : NULL;
        if (stack && JSValueIsString(js, stack)) { /* an Error: "Name: message" + stack */
            char *head = js_value_to_utf8(js, v, NULL);
            char *trace = js_value_to_utf8(js, stack, NULL);
            size_t n = (head ? strlen(head) : 0) + (trace ? strlen(trace) : 0) + 2;
            part = malloc(n);
            if (part)
                snprintf(part, n, "%s\n%s", head ? head : "", trace ? trace : "");
            free(head);
            free(trace);
            part_len = part ? strlen(part) : 0;
        } else if (js_value_to_json(js, v, &part, &part_len) != 0) {
            free(part);
            part = js_value_to_utf8(js, v, &part_len);
        }
    } else {
        part = js_value_to_utf8(js, v, &part_len);
    }
    if (!part)
        return;
    char *grown = realloc(*text, *len + part_len + 2);
    if (grown) {
        if (*len)
            grown[(*len)++] = ' ';
        memcpy(grown + *len, part, part_len);
        *len += part_len;
        grown[*len] = '\0';
        *text = grown;
    }
    free(part);
}

static JSValueRef console_at(int level, JSContextRef js, size_t argc, const JSValueRef argv[])
{
    engine_ctx *ec = engine_ctx_of(js);
    char *text = NULL;
    size_t len = 0;
    for (size_t i = 0; i < argc; i++)
        append_console_arg(js, argv[i], &text, &len);
    if (ec)
        runtime_hook_log(ec->owner, level, text ? text : "");
    free(text);
    return JSValueMakeUndefined(js);
}

#define CONSOLE_NATIVE(fn_name, level)                                                      \
    static JSValueRef fn_name(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc, \
                              const JSValueRef argv[], JSValueRef *exception)              \
    {                                                                                       \
        return console_at(level, js, argc, argv);                                           \
    }
CONSOLE_NATIVE(console_log, JSP_LOG_INFO)
CONSOLE_NATIVE(console_debug, JSP_LOG_DEBUG)
CONSOLE_NATIVE(console_warn, JSP_LOG_WARN)
CONSOLE_NATIVE(console_error, JSP_LOG_ERROR)

/* ---- console.time / timeEnd: spans are host state owned by the call that opened them ---- */

static console_span **find_span(engine_ctx *ec, const char *label)
{
    for (console_span **at = &ec->spans; *at; at = &(*at)->next)
        if (strcmp((*at)->label, label) == 0)
            return at;
    return NULL;
}

static char *span_label(JSContextRef js, size_t argc, const JSValueRef argv[])
{
    if (argc < 1 || JSValueIsUndefined(js, argv[0]))
        return strdup("default"); /* as browsers do */
    return js_value_to_utf8(js, argv[0], NULL);
}

static JSValueRef console_time(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *label = span_label(js, argc, argv);
    if (!ec || !label)
        return free(label), JSValueMakeUndefined(js);
    if (find_span(ec, label)) {
        char line[300];
        snprintf(line, sizeof(line), "Timer '%.200s' already exists", label);
        runtime_hook_log(ec->owner, JSP_LOG_WARN, line);
    } else {
        size_t n = strlen(label) + 1;
        console_span *span = malloc(sizeof(*span) + n);
        if (span) {
            memcpy(span->label, label, n);
            span->call_id = ec->current_call_id;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            span->start_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            span->next = ec->spans;
            ec->spans = span;
        }
    }
    free(label);
    return JSValueMakeUndefined(js);
}

static JSValueRef console_time_end(JSContextRef js, JSObjectRef f, JSObjectRef self,
                                   size_t argc, const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *label = span_label(js, argc, argv);
    console_span **at = ec && label ? find_span(ec, label) : NULL;
    char line[300];
    if (!at) {
        snprintf(line, sizeof(line), "Timer '%.200s' does not exist", label ? label : "");
        if (ec)
            runtime_hook_log(ec->owner, JSP_LOG_WARN, line);
    } else {
        console_span *span = *at;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        snprintf(line, sizeof(line), "%.200s: %.3f ms", span->label, (now - span->start_ns) / 1e6);
        *at = span->next;
        free(span);
        runtime_hook_log(ec->owner, JSP_LOG_INFO, line);
    }
    free(label);
    return JSValueMakeUndefined(js);
}

void engine_set_current_call(engine_ctx *ec, uint64_t call_id)
{
    ec->current_call_id = call_id;
}

size_t engine_clear_call_spans(engine_ctx *ec, uint64_t call_id)
{
    size_t cleared = 0;
    for (console_span **at = &ec->spans; *at;) {
        console_span *span = *at;
        if (span->call_id == call_id || call_id == 0) {
            *at = span->next;
            free(span);
            cleared++;
        } else {
            at = &span->next;
        }
    }
    return cleared;
}

/* ---- timers ---- */

static JSValueRef schedule(JSContextRef js, size_t argc, const JSValueRef argv[],
                           JSValueRef *exception, bool is_repeating)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (argc < 1 || !JSValueIsObject(js, argv[0]) || !JSObjectIsFunction(js, (JSObjectRef)argv[0]))
        return throw_error(js, exception, "TypeError",
                           "timer callback must be a function (strings are not evaluated)");
    double delay_ms = argc > 1 ? JSValueToNumber(js, argv[1], NULL) : 0;
    if (!isfinite(delay_ms) || delay_ms < 0)
        delay_ms = 0; /* HTML: NaN, negative and missing delays mean 0 */
    size_t extra = argc > 2 ? argc - 2 : 0;
    engine_callback *cb = malloc(sizeof(*cb) + extra * sizeof(JSValueRef));
    if (!cb || !ec)
        return free(cb), throw_error(js, exception, "Error", "out of memory");
    cb->js = ec->js;
    cb->function = (JSObjectRef)argv[0];
    JSValueProtect(js, cb->function);
    cb->argc = extra;
    for (size_t i = 0; i < extra; i++) {
        cb->argv[i] = argv[i + 2];
        JSValueProtect(js, cb->argv[i]);
    }
    uint64_t id = runtime_hook_set_timer(ec->owner, cb, delay_ms, is_repeating);
    if (id == 0)
        return throw_error(js, exception, "Error", "out of memory");
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
        runtime_hook_clear_timer(ec->owner, (uint64_t)id);
    return JSValueMakeUndefined(js);
}

static JSValueRef queue_microtask(JSContextRef js, JSObjectRef f, JSObjectRef self, size_t argc,
                                  const JSValueRef argv[], JSValueRef *exception)
{
    if (argc < 1 || !JSValueIsObject(js, argv[0]) || !JSObjectIsFunction(js, (JSObjectRef)argv[0]))
        return throw_error(js, exception, "TypeError", "queueMicrotask: callback must be a function");
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
        throw_error(js, exception, "TypeError", "host.call: first argument must be a function name");
        return false;
    }
    *name = js_value_to_utf8(js, argv[0], NULL);
    JSObjectRef array = JSObjectMakeArray(js, argc - 1, argv + 1, exception);
    if (!*name || !array || js_value_to_json(js, array, args, args_len) != 0) {
        if (!*exception)
            throw_error(js, exception, "TypeError", "host.call: arguments cannot be serialised");
        free(*name);
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
        return throw_error(js, exception, "Error", "out of memory");
    }
    p->js = ec->js;
    JSValueProtect(js, p->resolve);
    JSValueProtect(js, p->reject);
    int rc = runtime_hook_host_call(ec->owner, name, args, args_len, p);
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
    int rc = runtime_hook_host_call_sync(ec->owner, name, args, args_len, &reply, &reply_len);
    free(name);
    JSValueRef result = JSValueMakeUndefined(js);
    if (rc == 0) {
        result = js_value_from_json(js, reply, reply_len);
        if (!result)
            throw_error(js, exception, "TypeError", "host function answered invalid JSON");
    } else if (rc == JSP_EJS) {
        throw_error(js, exception, "Error", reply ? reply : "host function failed");
    } else if (rc == JSP_ENOTFOUND) {
        throw_error(js, exception, "TypeError", "host.callSync: no host function registered under that name");
    } else {
        throw_error(js, exception, "Error", jsp_strerror(rc));
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
        return throw_error(js, exception, "TypeError", "host.send: value cannot be serialised as JSON");
    }
    runtime_hook_host_send(ec->owner, json, len);
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
    static const native_def console[] = {
        {"log", console_log},   {"info", console_log},   {"debug", console_debug},
        {"warn", console_warn}, {"error", console_error}, {"trace", console_debug},
        {"time", console_time}, {"timeEnd", console_time_end},
    };
    JSContextRef js = ec->js;
    JSObjectRef global = JSContextGetGlobalObject(js);
    if (apis & 1u << API_TIMERS)
        define_functions(js, global, globals, sizeof(globals) / sizeof(globals[0]));
    define_namespace(js, global, "host", host, sizeof(host) / sizeof(host[0]));
    if (apis & 1u << API_CONSOLE) {
        define_namespace(js, global, "console", console, sizeof(console) / sizeof(console[0]));
    } else {
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
