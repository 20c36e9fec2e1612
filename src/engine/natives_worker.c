/* natives_worker.c — the worker group's natives (see worker.js): the parent's spawn / post /
 * terminate and the child's postToParent / close / reportError, each handing over to a
 * worker_* operation of the host (engine_host.h); and engine_worker_start, which runs a
 * new worker's source. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "engine/engine_messaging.h"
#include "util/result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Worker ids are small positive integers handed out by the runtime. */
static uint64_t id_arg(JSContextRef js, size_t argc, const JSValueRef argv[])
{
    double id = argc ? JSValueToNumber(js, argv[0], NULL) : 0;
    return id >= 1 && id <= 9007199254740991.0 && id == floor(id) ? (uint64_t)id : 0;
}

static JSValueRef native_spawn(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    size_t len = 0;
    char *source = natives_string_arg(js, argc, argv, 0, &len);
    char *name = natives_string_arg(js, argc, argv, 1, NULL);
    uint64_t id = 0;
    int rc = ec && source && name ? ec->host->worker_spawn(ec->host_ctx, source, len, name, &id)
                                  : JSP_ENOMEM;
    free(source);
    free(name);
    if (rc == JSP_ETOO_MANY)
        return natives_throw(js, exception, "RangeError", "Worker: too many workers (or contexts) in this pool for this context");
    if (rc == JSP_ECLOSED)
        return natives_throw(js, exception, "Error", "Worker: the pool is closing");
    if (rc != 0)
        return natives_throw(js, exception, "Error", "Worker: could not create the worker context");
    return JSValueMakeNumber(js, (double)id);
}

static JSValueRef native_post(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    size_t len = 0;
    char *data = natives_string_arg(js, argc, argv, 1, &len);
    uint64_t id = id_arg(js, argc, argv);
    if (ec && data && id)
        ec->host->worker_post(ec->host_ctx, id, data, len);
    free(data);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_terminate(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                   const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = id_arg(js, argc, argv);
    if (ec && id)
        ec->host->worker_terminate(ec->host_ctx, id);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_post_to_parent(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                        const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    size_t len = 0;
    char *data = natives_string_arg(js, argc, argv, 0, &len);
    if (ec && data)
        ec->host->worker_post_to_parent(ec->host_ctx, data, len);
    free(data);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_report_error(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                      const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    size_t len = 0;
    char *json = natives_string_arg(js, argc, argv, 0, &len);
    if (ec && json)
        ec->host->worker_report_error(ec->host_ctx, json, len);
    free(json);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_close(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (ec)
        ec->host->worker_close(ec->host_ctx);
    return JSValueMakeUndefined(js);
}

void natives_worker_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "spawn", native_spawn);
    natives_define(js, natives, "post", native_post);
    natives_define(js, natives, "terminate", native_terminate);
    natives_define(js, natives, "postToParent", native_post_to_parent);
    natives_define(js, natives, "reportError", native_report_error);
    natives_define(js, natives, "close", native_close);
    natives_add_serializer(js, natives);
}

jsp_result *engine_worker_start(engine_ctx *ec, const char *name, const char *source, size_t len)
{
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    JSValueRef exports = engine_apis_load(ec, API_WORKER, &exception);
    JSValueRef start = NULL;
    if (!exception && JSValueIsObject(js, exports)) {
        JSStringRef key = JSStringCreateWithUTF8CString("startScope");
        start = JSObjectGetProperty(js, (JSObjectRef)exports, key, &exception);
        JSStringRelease(key);
    }
    if (!exception && start && JSValueIsObject(js, start) && JSObjectIsFunction(js, (JSObjectRef)start)) {
        JSStringRef name_js = js_string_from_utf8(name, strlen(name));
        JSValueRef arg = name_js ? JSValueMakeString(js, name_js) : JSValueMakeUndefined(js);
        engine_call_function(ec, (JSObjectRef)start, NULL, 1, &arg, &exception);
        if (name_js)
            JSStringRelease(name_js);
    }
    if (!exception) {
        JSStringRef script = js_string_from_utf8(source, len);
        JSStringRef url = JSStringCreateWithUTF8CString("jspool:worker.js");
        if (script)
            engine_run_script(ec, script, url, &exception);
        JSStringRelease(url);
        if (script)
            JSStringRelease(script);
        else
            return result_out_of_memory();
    }
    return exception ? js_exception_result(ec->vm, js, exception, JSP_EJS) : NULL;
}
