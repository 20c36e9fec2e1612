/* jsc_private.h — the one place that declares JavaScriptCore functions which
 * libjavascriptcoregtk-4.1 exports but does not ship a header for. Each declaration
 * matches WebKit's JSContextRefPrivate.h / JSBasePrivate.h / JSScriptRefPrivate.h of the
 * 2.4x series (Debian 12 ships 2.50). Include this instead of repeating them. */
#ifndef JSP_ENGINE_JSC_PRIVATE_H
#define JSP_ENGINE_JSC_PRIVATE_H

#include <JavaScriptCore/JavaScript.h>

/* Called by the watchdog when a script has run past the group's execution time limit;
 * returning true terminates the script with an uncatchable exception. */
typedef bool (*JSShouldTerminateCallback)(JSContextRef ctx, void *context);

/* Arms the VM's watchdog: after `limit` seconds of execution in any context of the group,
 * `callback` is asked whether to terminate. Re-arming from the callback makes it a
 * periodic tick (how jspool enforces per-call CPU and wall budgets). */
JS_EXPORT void JSContextGroupSetExecutionTimeLimit(JSContextGroupRef group, double limit,
                                                   JSShouldTerminateCallback callback,
                                                   void *context);
/* Disarms the watchdog set above. */
JS_EXPORT void JSContextGroupClearExecutionTimeLimit(JSContextGroupRef group);

/* Returns an object with the VM heap's statistics: heapSize, heapCapacity,
 * extraMemorySize, objectCount, protectedObjectCount, globalObjectCount, ... (bytes and
 * counts as numbers). Walks the heap: costs milliseconds on a large heap. */
JS_EXPORT JSObjectRef JSGetMemoryUsageStatistics(JSContextRef ctx);

/* Registers a JS function called with (promise, reason) for every rejected Promise that
 * had no handler by the end of the microtask checkpoint. */
JS_EXPORT void JSGlobalContextSetUnhandledRejectionCallback(JSGlobalContextRef ctx,
                                                            JSObjectRef function,
                                                            JSValueRef *exception);

/* Runs a full garbage collection now, on the calling thread (JSGarbageCollect only hints). */
JS_EXPORT void JSSynchronousGarbageCollectForDebugging(JSContextRef ctx);

/* A parsed script that can be evaluated in any context of its group without re-reading
 * the source; NULL with *errorMessage and *errorLine on a syntax error. */
typedef struct OpaqueJSScript *JSScriptRef;
JS_EXPORT JSScriptRef JSScriptCreateFromString(JSContextGroupRef contextGroup, JSStringRef url,
                                               int startingLineNumber, JSStringRef source,
                                               JSStringRef *errorMessage, int *errorLine);
JS_EXPORT JSValueRef JSScriptEvaluate(JSContextRef ctx, JSScriptRef script,
                                      JSValueRef thisValue, JSValueRef *exception);
JS_EXPORT void JSScriptRelease(JSScriptRef script);

/* JSObjectMakeDeferredPromise is public since WebKit 2.28 (JSObjectRef.h): it needs no
 * declaration here. */

#endif
