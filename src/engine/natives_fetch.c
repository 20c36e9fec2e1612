/* natives_fetch.c — the fetch group's C side (see fetch.js): start / read / abort a
 * transfer through the host's fetch operations, and delivering a transfer's events to the
 * group's JS. Request and Response semantics, header rules and bodies are in JS; the
 * network, the egress policy and the limits are the host's (src/runtime/fetch.c). */
#include "apis/api_groups.h"
#include "engine/engine_fetch.h"
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERROR_MAX = 700, HEADERS_MAX = 1000 };

static bool has_host(engine_ctx *ec)
{
    return ec && ec->host->fetch_start && ec->apis & 1u << API_FETCH;
}

/* start(method, url, headers [n, v, ...], body ArrayBuffer | undefined, redirect, contextOwned) -> id;
 * a refusal is thrown as a TypeError with the host's reason. */
static JSValueRef native_start(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (!has_host(ec))
        return natives_throw(js, exception, "TypeError", "fetch: this host does not make network requests");
    if (argc < 5 || !JSValueIsObject(js, argv[2]))
        return natives_throw(js, exception, "TypeError", "fetch: bad native call");
    engine_fetch_request req = {0};
    char *method = natives_string_arg(js, argc, argv, 0, NULL);
    char *url = natives_string_arg(js, argc, argv, 1, NULL);
    JSObjectRef list = (JSObjectRef)argv[2];
    JSStringRef length_name = JSStringCreateWithUTF8CString("length");
    double count = JSValueToNumber(js, JSObjectGetProperty(js, list, length_name, NULL), NULL);
    JSStringRelease(length_name);
    size_t n = count >= 0 && count <= 2 * HEADERS_MAX ? (size_t)count & ~(size_t)1 : SIZE_MAX;
    char **headers = n != SIZE_MAX ? calloc(n + 1, sizeof(char *)) : NULL;
    JSValueRef result = NULL;
    char error[ERROR_MAX] = "";
    if (!method || !url || !headers) {
        result = natives_throw(js, exception, n == SIZE_MAX ? "TypeError" : "Error",
                               n == SIZE_MAX ? "fetch: at most 1000 request headers" : "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        JSValueRef v = JSObjectGetPropertyAtIndex(js, list, (unsigned)i, NULL);
        headers[i] = v && JSValueIsString(js, v) ? js_value_to_utf8(js, v, NULL) : NULL;
        if (!headers[i]) {
            result = natives_throw(js, exception, "TypeError", "fetch: bad header list");
            goto done;
        }
    }
    req.method = method;
    req.url = url;
    req.headers = (const char *const *)headers;
    req.header_count = n / 2;
    if (JSValueIsObject(js, argv[3])) {
        req.body = JSObjectGetArrayBufferBytesPtr(js, (JSObjectRef)argv[3], NULL);
        req.body_len = JSObjectGetArrayBufferByteLength(js, (JSObjectRef)argv[3], NULL);
        if (!req.body)
            req.body_len = 0;
    }
    req.redirect = (int)JSValueToNumber(js, argv[4], NULL);
    req.is_context_owned = argc > 5 && JSValueToBoolean(js, argv[5]);
    uint64_t id = 0;
    if (ec->host->fetch_start(ec->host_ctx, &req, &id, error, sizeof(error)) != 0)
        result = natives_throw(js, exception, "TypeError", error);
    else
        result = JSValueMakeNumber(js, (double)id);
done:
    for (size_t i = 0; headers && i < n; i++)
        free(headers[i]);
    free(headers);
    free(method);
    free(url);
    return result;
}

static void free_bytes(void *bytes, void *context)
{
    free(bytes);
}

/* read(id) -> ArrayBuffer (a piece of the body), 0 (the end) or null (later: a readable
 * event follows); a failure is thrown as a TypeError. */
static JSValueRef native_read(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = natives_id_arg(js, argc, argv);
    if (!has_host(ec) || !id)
        return natives_throw(js, exception, "TypeError", "fetch: bad native call");
    char *data = NULL;
    size_t len = 0;
    char error[ERROR_MAX] = "";
    int rc = ec->host->fetch_read(ec->host_ctx, id, &data, &len, error, sizeof(error));
    switch (rc) {
    case ENGINE_FETCH_DATA: {
        uint64_t left = 0; /* an isolated context's limit: JSC counts these bytes only later */
        if (!engine_budget_reserve(ec->vm, len, &left)) {
            free(data);
            ec->host->fetch_abort(ec->host_ctx, id);
            snprintf(error, sizeof(error), "fetch: %zu more bytes of the response body do not fit in this context's "
                     "memory limit (%llu bytes left); the request was cancelled", len, (unsigned long long)left);
            return natives_throw(js, exception, "RangeError", error);
        }
        JSObjectRef buffer = JSObjectMakeArrayBufferWithBytesNoCopy(js, data, len, free_bytes, NULL, exception);
        if (!buffer)
            free(data);
        return buffer ? buffer : JSValueMakeUndefined(js);
    }
    case ENGINE_FETCH_END:
        return JSValueMakeNumber(js, 0);
    case ENGINE_FETCH_LATER:
        return JSValueMakeNull(js);
    default:
        return natives_throw(js, exception, "TypeError", error);
    }
}

static JSValueRef native_abort(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = natives_id_arg(js, argc, argv);
    if (has_host(ec) && id)
        ec->host->fetch_abort(ec->host_ctx, id);
    return JSValueMakeUndefined(js);
}

void natives_fetch_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "start", native_start);
    natives_define(js, natives, "read", native_read);
    natives_define(js, natives, "abort", native_abort);
}

static void set_property(JSContextRef js, JSObjectRef object, const char *key, JSValueRef value)
{
    JSStringRef name = JSStringCreateWithUTF8CString(key);
    JSObjectSetProperty(js, object, name, value, kJSPropertyAttributeNone, NULL);
    JSStringRelease(name);
}

static JSValueRef utf8_value(JSContextRef js, const char *text, size_t len)
{
    JSStringRef s = js_string_from_utf8(text, len);
    if (!s) /* not UTF-8 (header bytes): as Latin-1, which is what browsers show */
    {
        uint16_t *units = malloc((len ? len : 1) * sizeof(uint16_t));
        if (!units)
            return JSValueMakeString(js, NULL);
        for (size_t i = 0; i < len; i++)
            units[i] = (unsigned char)text[i];
        s = JSStringCreateWithCharacters(units, len);
        free(units);
    }
    JSValueRef v = JSValueMakeString(js, s);
    JSStringRelease(s);
    return v;
}

/* {status, statusText, url, redirected, headers: [n, v, ...]} */
static JSObjectRef head_object(JSContextRef js, const engine_fetch_head *head)
{
    JSObjectRef object = JSObjectMake(js, NULL, NULL);
    set_property(js, object, "status", JSValueMakeNumber(js, head->status));
    set_property(js, object, "statusText", utf8_value(js, head->status_text, strlen(head->status_text)));
    set_property(js, object, "url", utf8_value(js, head->url, strlen(head->url)));
    set_property(js, object, "redirected", JSValueMakeBoolean(js, head->is_redirected));
    JSObjectRef list = JSObjectMakeArray(js, 0, NULL, NULL);
    unsigned index = 0;
    for (size_t at = 0; list && at < head->headers_len; index++) {
        size_t len = strlen(head->headers + at);
        JSObjectSetPropertyAtIndex(js, list, index, utf8_value(js, head->headers + at, len), NULL);
        at += len + 1;
    }
    if (list)
        set_property(js, object, "headers", list);
    return object;
}

bool engine_fetch_deliver(engine_ctx *ec, uint64_t id, const engine_fetch_head *head, const char *error)
{
    if (!ec->api_exports[API_FETCH])
        return false; /* the group never loaded in this VM: it made no request */
    JSContextRef js = ec->js;
    JSValueRef args[3] = {JSValueMakeNumber(js, (double)id),
                          head ? (JSValueRef)head_object(js, head) : JSValueMakeUndefined(js),
                          error ? utf8_value(js, error, strlen(error)) : JSValueMakeUndefined(js)};
    JSValueRef exception = NULL;
    JSValueRef known = engine_apis_call_export(ec, API_FETCH, "deliver", 3, args, &exception);
    return known && !exception && JSValueToBoolean(js, known);
}
