/* natives_locks.c — the locks group's C side (see locks.js): request / release / abort /
 * query against the pool's lock manager through the runtime hooks, and delivering a lock
 * event to the group's JS. Argument checks and the Web Locks API surface are in JS. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"
#include "engine/engine_locks.h"

#include <stdio.h>

static JSValueRef throw_error(JSContextRef js, JSValueRef *exception, const char *message)
{
    *exception = js_make_error(js, "Error", message);
    return JSValueMakeUndefined(js);
}


/* request(name, isShared, ifAvailable, steal) -> request id, or 0 when ifAvailable and
 * not grantable now. The grant comes later through deliver(). */
static JSValueRef native_request(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                 const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (!ec || argc < 4)
        return throw_error(js, exception, "locks: bad native call");
    JSStringRef name = JSValueToStringCopy(js, argv[0], exception);
    if (!name)
        return JSValueMakeUndefined(js);
    if (JSStringGetLength(name) > ENGINE_LOCK_NAME_MAX) { /* copied into the pool's manager */
        JSStringRelease(name);
        *exception = js_make_error(js, "RangeError", "LockManager.request: a lock name may be at most "
                                                     "1024 characters");
        return JSValueMakeUndefined(js);
    }
    uint64_t id = 0;
    int rc = ec->host->lock_request(ec->host_ctx, JSStringGetCharactersPtr(name),
                                    JSStringGetLength(name), JSValueToBoolean(js, argv[1]),
                                    JSValueToBoolean(js, argv[2]), JSValueToBoolean(js, argv[3]),
                                    &id);
    JSStringRelease(name);
    if (rc == JSP_ETOO_MANY) {
        char message[160];
        snprintf(message, sizeof(message),
                 "LockManager.request: this context has %d lock requests held or pending, the most "
                 "allowed; let some settle first", ENGINE_LOCK_REQUESTS_PER_CONTEXT);
        *exception = js_make_error(js, "RangeError", message);
        return JSValueMakeUndefined(js);
    }
    if (rc < 0)
        return throw_error(js, exception, "out of memory");
    return JSValueMakeNumber(js, rc == ENGINE_LOCK_NOT_AVAILABLE ? 0 : (double)id);
}

static JSValueRef native_release(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                 const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = natives_id_arg(js, argc, argv) /* < 2^53: one per request in the pool's life */;
    if (ec && id)
        ec->host->lock_release(ec->host_ctx, id);
    return JSValueMakeUndefined(js);
}

static JSValueRef native_abort(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    uint64_t id = natives_id_arg(js, argc, argv);
    return JSValueMakeBoolean(js, ec && id && ec->host->lock_abort(ec->host_ctx, id));
}

static void set_property(JSContextRef js, JSObjectRef object, const char *key, JSValueRef value)
{
    JSStringRef name = JSStringCreateWithUTF8CString(key);
    JSObjectSetProperty(js, object, name, value, kJSPropertyAttributeNone, NULL);
    JSStringRelease(name);
}

/* [{name, mode, clientId}, ...]: clientId is the context id as a string. */
static JSObjectRef info_array(JSContextRef js, const engine_lock_info *infos, size_t count,
                              JSValueRef *exception)
{
    JSObjectRef array = JSObjectMakeArray(js, 0, NULL, exception);
    if (!array)
        return NULL;
    JSStringRef shared = JSStringCreateWithUTF8CString("shared");
    JSStringRef exclusive = JSStringCreateWithUTF8CString("exclusive");
    for (size_t i = 0; i < count; i++) {
        JSObjectRef info = JSObjectMake(js, NULL, NULL);
        JSStringRef name = JSStringCreateWithCharacters(infos[i].name, infos[i].name_len);
        char client[24];
        snprintf(client, sizeof(client), "%llu", (unsigned long long)infos[i].context_id);
        JSStringRef client_id = JSStringCreateWithUTF8CString(client);
        set_property(js, info, "name", JSValueMakeString(js, name));
        set_property(js, info, "mode", JSValueMakeString(js, infos[i].is_shared ? shared : exclusive));
        set_property(js, info, "clientId", JSValueMakeString(js, client_id));
        JSStringRelease(name);
        JSStringRelease(client_id);
        JSObjectSetPropertyAtIndex(js, array, (unsigned)i, info, NULL);
    }
    JSStringRelease(shared);
    JSStringRelease(exclusive);
    return array;
}

/* query() -> {held: [...], pending: [...]} for the context's namespace. */
static JSValueRef native_query(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                               const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    engine_lock_snapshot snapshot;
    if (!ec || ec->host->lock_query(ec->host_ctx, &snapshot) != 0)
        return throw_error(js, exception, "out of memory");
    JSObjectRef result = JSObjectMake(js, NULL, NULL);
    JSObjectRef held = info_array(js, snapshot.held, snapshot.held_count, exception);
    JSObjectRef pending = held ? info_array(js, snapshot.pending, snapshot.pending_count, exception) : NULL;
    engine_lock_snapshot_free(&snapshot);
    if (!held || !pending)
        return JSValueMakeUndefined(js);
    set_property(js, result, "held", held);
    set_property(js, result, "pending", pending);
    return result;
}

void natives_locks_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "request", native_request);
    natives_define(js, natives, "release", native_release);
    natives_define(js, natives, "abort", native_abort);
    natives_define(js, natives, "query", native_query);
}

bool engine_locks_deliver(engine_ctx *ec, uint64_t request_id, int event)
{
    JSContextRef js = ec->js;
    JSValueRef args[2] = {JSValueMakeNumber(js, (double)request_id), JSValueMakeNumber(js, event)};
    JSValueRef exception = NULL; /* NULL known: the group never loaded here, so made no request */
    JSValueRef known = engine_apis_call_export(ec, API_LOCKS, "deliver", 2, args, &exception);
    /* deliver catches what the guest's callback throws; only a limit's termination gets
     * here, and the runtime sees that in its budget. */
    return known && !exception && JSValueToBoolean(js, known);
}
