/* jsc_private.h — the one place that declares JavaScriptCore functions which
 * libjavascriptcoregtk-4.1 exports but does not ship a header for. Each declaration
 * matches WebKit's JSContextRefPrivate.h / JSBasePrivate.h / JSScriptRefPrivate.h of the
 * 2.4x series (Debian 12 ships 2.50). Include this instead of repeating them. Each one is
 * linked at configure time by cmake/jsc_checks.cmake (a new one goes on its lists). */
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
 * the source; NULL with *errorMessage and *errorLine on a syntax error. One script is one
 * SourceProvider: every evaluation shares its text and hits the VM's CodeCache
 * (engine_code_cache.c). Reference-counted (Retain / Release); evaluating it in a context
 * of another group aborts. */
typedef struct OpaqueJSScript *JSScriptRef;
JS_EXPORT JSScriptRef JSScriptCreateFromString(JSContextGroupRef contextGroup, JSStringRef url,
                                               int startingLineNumber, JSStringRef source,
                                               JSStringRef *errorMessage, int *errorLine);
JS_EXPORT JSValueRef JSScriptEvaluate(JSContextRef ctx, JSScriptRef script,
                                      JSValueRef thisValue, JSValueRef *exception);
JS_EXPORT void JSScriptRetain(JSScriptRef script);
JS_EXPORT void JSScriptRelease(JSScriptRef script);

/* Three C++ members JSC exports under their Itanium-mangled names, used by engine_entry.c
 * to run a call and its microtasks inside one VM entry. `this` is passed as the first
 * argument (x86-64 and AArch64 ABIs); a JSContextGroupRef is the VM's address (WebKit's
 * APICast.h). JSC drops the API lock around every native callback, so a callback that
 * wants to drain microtasks takes the lock again with a JSLockHolder first.
 *   JSC::VM::drainMicrotasks(): runs every queued microtask now (API lock held).
 *   JSC::JSLockHolder::JSLockHolder(JSC::VM*) / ~JSLockHolder(): take / give back the VM's
 *   API lock (recursive). A JSLockHolder is one RefPtr<VM>: engine_lock_holder below. */
typedef struct engine_lock_holder {
    void *vm; /* RefPtr<JSC::VM> */
} engine_lock_holder;
JS_EXPORT void _ZN3JSC2VM15drainMicrotasksEv(JSContextGroupRef vm);
JS_EXPORT void _ZN3JSC12JSLockHolderC1EPNS_2VME(engine_lock_holder *holder, JSContextGroupRef vm);
JS_EXPORT void _ZN3JSC12JSLockHolderD1Ev(engine_lock_holder *holder);

/* JSObjectMakeDeferredPromise is public since WebKit 2.28 (JSObjectRef.h): it needs no
 * declaration here. */

#endif
