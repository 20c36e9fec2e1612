/* natives_websocket.c — the websocket group's C side (see websocket.js): open / send /
 * close a client socket through the host's ws_* operations, and delivering a socket's
 * events to the group's JS. The WebSocket object's states, argument checks and events are
 * in JS; the network, the egress policy and the limits are the host's
 * (src/runtime/websocket_client.c). */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "engine/engine_websocket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERROR_MAX = 400 };

static bool has_host(engine_ctx *ec)
{
    return ec && ec->host->ws_open && ec->apis & 1u << API_WEBSOCKET;
}

/* open(isTls, host, port, hostHeader, resource, protocols) -> id */
static JSValueRef native_open(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (!has_host(ec))
        return natives_throw(js, exception, "TypeError", "WebSocket: this host does not make network connections");
    if (argc < 6)
        return natives_throw(js, exception, "TypeError", "WebSocket: bad native call");
    char *host = natives_string_arg(js, argc, argv, 1, NULL);
    char *host_header = natives_string_arg(js, argc, argv, 3, NULL);
    char *resource = natives_string_arg(js, argc, argv, 4, NULL);
    char *protocols = natives_string_arg(js, argc, argv, 5, NULL);
    JSValueRef result;
    if (!host || !host_header || !resource || !protocols) {
        result = natives_throw(js, exception, "Error", "out of memory");
    } else {
        engine_ws_request req = {.is_tls = JSValueToBoolean(js, argv[0]), .host = host,
                                 .port = (int)JSValueToNumber(js, argv[2], NULL), .host_header = host_header,
                                 .resource = resource, .protocols = protocols};
        uint64_t id = 0;
        char error[ERROR_MAX] = "";
        if (ec->host->ws_open(ec->host_ctx, &req, &id, error, sizeof(error)) != 0)
            result = natives_throw(js, exception, "TypeError", error);
        else
            result = JSValueMakeNumber(js, (double)id);
    }
    free(host);
    free(host_header);
    free(resource);
    free(protocols);
    return result;
}

/* send(id, string | ArrayBuffer) -> undefined; a full send buffer throws nothing here
 * (the host fails the socket: error and close events follow), so the return value is
 * false then. */
static JSValueRef native_send(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = natives_id_arg(js, argc, argv);
    if (!has_host(ec) || !id || argc < 2)
        return natives_throw(js, exception, "TypeError", "WebSocket: bad native call");
    char error[ERROR_MAX] = "";
    int rc;
    if (JSValueIsObject(js, argv[1])) {
        JSObjectRef buffer = (JSObjectRef)argv[1];
        const void *bytes = JSObjectGetArrayBufferBytesPtr(js, buffer, NULL);
        size_t len = bytes ? JSObjectGetArrayBufferByteLength(js, buffer, NULL) : 0;
        rc = ec->host->ws_send(ec->host_ctx, id, bytes ? bytes : "", len, true, error, sizeof(error));
    } else {
        size_t len = 0;
        char *text = js_value_to_utf8(js, argv[1], &len); /* lone surrogates become U+FFFD */
        if (!text)
            return natives_throw(js, exception, "Error", "out of memory");
        rc = ec->host->ws_send(ec->host_ctx, id, text, len, false, error, sizeof(error));
        free(text);
    }
    return JSValueMakeBoolean(js, rc >= 0);
}

/* close(id, code (0: none), reason) */
static JSValueRef native_close(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = natives_id_arg(js, argc, argv);
    if (!has_host(ec) || !id || argc < 3)
        return natives_throw(js, exception, "TypeError", "WebSocket: bad native call");
    size_t len = 0;
    char *reason = js_value_to_utf8(js, argv[2], &len);
    if (!reason)
        return natives_throw(js, exception, "Error", "out of memory");
    ec->host->ws_close(ec->host_ctx, id, (int)JSValueToNumber(js, argv[1], NULL), reason, len);
    free(reason);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_buffered(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                  const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = natives_id_arg(js, argc, argv);
    return JSValueMakeNumber(js, has_host(ec) && id ? (double)ec->host->ws_buffered(ec->host_ctx, id) : 0);
}

void natives_websocket_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "open", native_open);
    natives_define(js, natives, "send", native_send);
    natives_define(js, natives, "close", native_close);
    natives_define(js, natives, "buffered", native_buffered);
}

static JSValueRef text_value(JSContextRef js, const char *text, size_t len)
{
    JSStringRef s = js_string_from_utf8(text ? text : "", text ? len : 0);
    JSValueRef v = JSValueMakeString(js, s);
    if (s)
        JSStringRelease(s);
    return v;
}

static void free_bytes(void *bytes, void *context)
{
    free(bytes);
}

bool engine_ws_deliver(engine_ctx *ec, uint64_t id, const engine_ws_event *ev, bool *is_too_big)
{
    *is_too_big = false;
    if (!ec->api_exports[API_WEBSOCKET])
        return false; /* the group never loaded in this VM: it opened no socket */
    JSContextRef js = ec->js;
    JSValueRef args[6] = {JSValueMakeNumber(js, (double)id), JSValueMakeNumber(js, ev->kind),
                          JSValueMakeUndefined(js), JSValueMakeUndefined(js), JSValueMakeUndefined(js),
                          JSValueMakeUndefined(js)};
    if (ev->kind == ENGINE_WS_TEXT || ev->kind == ENGINE_WS_BINARY) {
        uint64_t left = 0; /* an isolated context's limit: JSC counts these bytes only later */
        if (!engine_budget_reserve(ec->vm, ev->kind == ENGINE_WS_TEXT ? 2 * ev->len : ev->len, &left)) {
            *is_too_big = true;
            return true;
        }
    }
    switch (ev->kind) {
    case ENGINE_WS_OPEN:
        args[2] = text_value(js, ev->text, ev->text ? strlen(ev->text) : 0);
        args[3] = text_value(js, ev->extra, ev->extra ? strlen(ev->extra) : 0);
        break;
    case ENGINE_WS_TEXT:
        args[2] = text_value(js, ev->text, ev->len);
        break;
    case ENGINE_WS_BINARY: {
        void *copy = malloc(ev->len ? ev->len : 1);
        if (!copy)
            return false;
        memcpy(copy, ev->text, ev->len);
        JSObjectRef buffer = JSObjectMakeArrayBufferWithBytesNoCopy(js, copy, ev->len, free_bytes, NULL, NULL);
        if (!buffer) {
            free(copy);
            return false;
        }
        args[2] = buffer;
        break;
    }
    default:
        args[2] = JSValueMakeNumber(js, ev->code);
        args[3] = text_value(js, ev->text, ev->len);
        args[4] = JSValueMakeBoolean(js, ev->was_clean);
        args[5] = JSValueMakeBoolean(js, ev->is_error);
        break;
    }
    JSValueRef exception = NULL;
    JSValueRef known = engine_apis_call_export(ec, API_WEBSOCKET, "deliver", 6, args, &exception);
    if (known && !exception && JSValueIsNumber(js, known) && JSValueToNumber(js, known, NULL) == 2) {
        *is_too_big = true; /* websocket.js's TOO_BIG: its Blob copy did not fit */
        return true;
    }
    return known && !exception && JSValueToBoolean(js, known);
}
