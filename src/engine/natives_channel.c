/* natives_channel.c — the channel group's natives (see channel.js): BroadcastChannel's
 * subscribe / unsubscribe / post up to the pool's registry, the serializer both messaging
 * groups share, and the runtime's entry point that hands a delivered message to JS. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "engine/engine_messaging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static JSValueRef native_subscribe(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                   const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *key = natives_string_arg(js, argc, argv, 0, NULL);
    /* the key is the name as JSON text (channel.js): two quotes more, escapes longer */
    if (key && strlen(key) > ENGINE_CHANNEL_NAME_MAX_BYTES + 2) { /* kept outside every JS heap */
        free(key);
        return natives_throw(js, exception, "RangeError", "BroadcastChannel: a channel name may be at most "
                             "4096 bytes (as JSON text)");
    }
    int rc = ec && key ? ec->host->broadcast_subscribe(ec->host_ctx, key) : JSP_ENOMEM;
    free(key);
    if (rc == JSP_ETOO_MANY)
        return natives_throw(js, exception, "RangeError", "BroadcastChannel: too many channel names open in this context");
    if (rc != 0)
        return natives_throw(js, exception, "Error", "BroadcastChannel: out of memory");
    return JSValueMakeUndefined(js);
}

static JSValueRef native_unsubscribe(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                     const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *key = natives_string_arg(js, argc, argv, 0, NULL);
    if (ec && key)
        ec->host->broadcast_unsubscribe(ec->host_ctx, key);
    free(key);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_post(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    size_t len = 0;
    char *key = natives_string_arg(js, argc, argv, 0, NULL);
    char *data = natives_string_arg(js, argc, argv, 1, &len);
    if (ec && key && data)
        ec->host->broadcast_post(ec->host_ctx, key, data, len);
    else if (ec)
        natives_throw(js, exception, "Error", "BroadcastChannel: out of memory");
    free(key);
    free(data);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_has_peers(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                   const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *key = natives_string_arg(js, argc, argv, 0, NULL);
    bool has_peers = ec && key && ec->host->broadcast_has_peers(ec->host_ctx, key);
    free(key);
    return JSValueMakeBoolean(js, has_peers);
}

/* channel.js queued a message task: the host runs the tasks soon (engine_messaging_run_task). */
static JSValueRef native_wake(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    /* (JSP_ECLOSED: the pool is closing, nothing will be delivered: not the poster's error) */
    if (ec && ec->host->message_tasks_wake && ec->host->message_tasks_wake(ec->host_ctx) == JSP_ENOMEM)
        return natives_throw(js, exception, "Error", "postMessage: out of memory");
    return JSValueMakeUndefined(js);
}

void natives_add_serializer(JSContextRef js, JSObjectRef natives)
{
    engine_ctx *ec = engine_ctx_of(js);
    JSValueRef exception = NULL;
    JSValueRef exports = ec ? engine_apis_load(ec, API_STRUCTURED_CLONE, &exception) : NULL;
    if (!exports || !JSValueIsObject(js, exports))
        return; /* the group's factory then fails on the missing functions */
    static const char *const names[] = {"serialize", "deserialize", "cloneWith"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        JSStringRef name = JSStringCreateWithUTF8CString(names[i]);
        JSValueRef fn = JSObjectGetProperty(js, (JSObjectRef)exports, name, NULL);
        JSObjectSetProperty(js, natives, name, fn, kJSPropertyAttributeReadOnly | kJSPropertyAttributeDontDelete, NULL);
        JSStringRelease(name);
    }
}

void natives_channel_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "subscribe", native_subscribe);
    natives_define(js, natives, "unsubscribe", native_unsubscribe);
    natives_define(js, natives, "post", native_post);
    natives_define(js, natives, "hasPeers", native_has_peers);
    natives_define(js, natives, "wake", native_wake);
    /* A read-only view of the registry's change counter (see broadcast_generation). Not
     * reachable from guest code: channel.js keeps it in its closure. */
    engine_ctx *ec = engine_ctx_of(js);
    const void *generation = ec && ec->host->broadcast_generation ? ec->host->broadcast_generation(ec->host_ctx) : NULL;
    JSObjectRef view = generation ? JSObjectMakeTypedArrayWithBytesNoCopy(js, kJSTypedArrayTypeUint32Array, (void *)generation,
                                                                         sizeof(uint32_t), NULL, NULL, NULL)
                                  : NULL;
    if (view) {
        JSStringRef name = JSStringCreateWithUTF8CString("peersGeneration");
        JSObjectSetProperty(js, natives, name, view, kJSPropertyAttributeReadOnly, NULL);
        JSStringRelease(name);
    }
    natives_add_serializer(js, natives);
}

/* The group's exported function `name`, or NULL (*exception may say why). */
static JSObjectRef group_function(engine_ctx *ec, int group, const char *name, JSValueRef *exception)
{
    JSContextRef js = ec->js;
    JSValueRef exports = engine_apis_load(ec, group, exception);
    JSValueRef fn = NULL;
    if (!*exception && JSValueIsObject(js, exports)) {
        JSStringRef name_js = JSStringCreateWithUTF8CString(name);
        fn = JSObjectGetProperty(js, (JSObjectRef)exports, name_js, exception);
        JSStringRelease(name_js);
    }
    return !*exception && fn && JSValueIsObject(js, fn) && JSObjectIsFunction(js, (JSObjectRef)fn) ? (JSObjectRef)fn
                                                                                                 : NULL;
}

static void log_delivery_failure(engine_ctx *ec, JSValueRef exception)
{
    char *text = js_value_to_utf8(ec->js, exception, NULL);
    char line[512];
    snprintf(line, sizeof(line), "message delivery failed: %.400s", text ? text : "exception");
    free(text);
    ec->host->log(ec->host_ctx, JSP_LOG_ERROR, line);
}

bool engine_messaging_run_task(engine_ctx *ec)
{
    JSValueRef exception = NULL;
    JSObjectRef run_task = group_function(ec, API_CHANNEL, "runTask", &exception);
    JSValueRef more = run_task ? engine_call_function(ec, run_task, NULL, 0, NULL, &exception) : NULL;
    if (exception) { /* thrown by a task: that one is over, more may wait (each takes one) */
        log_delivery_failure(ec, exception);
        return run_task != NULL;
    }
    return more && JSValueToBoolean(ec->js, more);
}

void engine_messaging_deliver(engine_ctx *ec, const char *target, const char *data, size_t len)
{
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    JSObjectRef deliver = group_function(ec, target[0] == 'b' ? API_CHANNEL : API_WORKER, "deliver", &exception);
    if (deliver) {
        JSStringRef target_js = js_string_from_utf8(target, strlen(target));
        JSStringRef data_js = js_string_from_utf8(data, len);
        if (target_js && data_js) {
            JSValueRef args[2] = {JSValueMakeString(js, target_js), JSValueMakeString(js, data_js)};
            engine_call_function(ec, deliver, NULL, 2, args, &exception);
        }
        if (target_js)
            JSStringRelease(target_js);
        if (data_js)
            JSStringRelease(data_js);
    }
    if (exception)
        log_delivery_failure(ec, exception);
}
