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
    double sender = argc > 2 ? JSValueToNumber(js, argv[2], NULL) : 0;
    if (ec && key && data)
        ec->host->broadcast_post(ec->host_ctx, key, data, len, sender > 0 ? (uint64_t)sender : 0);
    else if (ec)
        natives_throw(js, exception, "Error", "BroadcastChannel: out of memory");
    free(key);
    free(data);
    return JSValueMakeUndefined(js);
}

void natives_add_serializer(JSContextRef js, JSObjectRef natives)
{
    engine_ctx *ec = engine_ctx_of(js);
    JSValueRef exception = NULL;
    JSValueRef exports = ec ? engine_apis_load(ec, API_STRUCTURED_CLONE, &exception) : NULL;
    if (!exports || !JSValueIsObject(js, exports))
        return; /* the group's factory then fails on the missing functions */
    static const char *const names[] = {"serialize", "deserialize"};
    for (size_t i = 0; i < 2; i++) {
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
    natives_add_serializer(js, natives);
}

void engine_messaging_deliver(engine_ctx *ec, const char *target, const char *data, size_t len)
{
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    int group = target[0] == 'b' ? API_CHANNEL : API_WORKER;
    JSValueRef exports = engine_apis_load(ec, group, &exception);
    JSValueRef deliver = NULL;
    if (!exception && JSValueIsObject(js, exports)) {
        JSStringRef name = JSStringCreateWithUTF8CString("deliver");
        deliver = JSObjectGetProperty(js, (JSObjectRef)exports, name, &exception);
        JSStringRelease(name);
    }
    if (!exception && deliver && JSValueIsObject(js, deliver) && JSObjectIsFunction(js, (JSObjectRef)deliver)) {
        JSStringRef target_js = js_string_from_utf8(target, strlen(target));
        JSStringRef data_js = js_string_from_utf8(data, len);
        if (target_js && data_js) {
            JSValueRef args[2] = {JSValueMakeString(js, target_js), JSValueMakeString(js, data_js)};
            engine_call_function(ec, (JSObjectRef)deliver, NULL, 2, args, &exception);
        }
        if (target_js)
            JSStringRelease(target_js);
        if (data_js)
            JSStringRelease(data_js);
    }
    if (exception) {
        char *text = js_value_to_utf8(js, exception, NULL);
        char line[512];
        snprintf(line, sizeof(line), "message delivery failed: %.400s", text ? text : "exception");
        free(text);
        ec->host->log(ec->host_ctx, JSP_LOG_ERROR, line);
    }
}
