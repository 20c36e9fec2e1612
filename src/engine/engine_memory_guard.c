/* engine_memory_guard.c — checks large native allocations of an isolated context against
 * what is left of its memory limit *before* they happen. JSC's C API has no allocation
 * hook, and its options (a maximum ArrayBuffer size, WebAssembly's memory cap) are
 * process-wide, so the per-VM check is a JS guard (src/apis/js/memory-guard.js) installed
 * before guest code, which calls reserve() below for every allocation of 1 MiB or more.
 * Not for the periodic heap check of running JS (engine_budget.c). */
#include "engine/engine_internal.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>

extern const char api_source_memory_guard[];
extern const char api_source_memory_guard_wasm[];

/* The estimate is the heap as last measured plus every allocation the guard approved
 * since the VM's last collection: JSC counts an ArrayBuffer in its extra memory only once
 * a collection has visited it (measured: three kept 8 MiB buffers read as 0.8 MiB held
 * until then), and strings and WebAssembly memories not at all. A buffer can so be
 * counted twice, which errs towards a collection, never past the limit. When the
 * estimate says no, the VM is collected and measured — garbage is not held — before the
 * allocation is refused. */
static bool fits(const engine_vm *vm, uint64_t bytes)
{
    const engine_budget *b = vm->budget;
    uint64_t used = b->held_bytes + vm->reserved_bytes;
    return used <= b->memory_limit_bytes && bytes <= b->memory_limit_bytes - used;
}

bool engine_budget_reserve(engine_vm *vm, uint64_t bytes, uint64_t *left)
{
    engine_budget *b = vm->budget;
    if (!b || !b->memory_limit_bytes) /* between runs, or not isolated */
        return true;
    if (!fits(vm, bytes)) {
        engine_vm_collect_now(vm);
        engine_budget_limit_memory(b, b->memory_limit_bytes, engine_vm_held_bytes(vm));
    }
    if (!fits(vm, bytes)) {
        *left = b->held_bytes < b->memory_limit_bytes ? b->memory_limit_bytes - b->held_bytes : 0;
        return false;
    }
    vm->reserved_bytes += bytes;
    return true;
}

/* reserve(what, bytes): returns undefined, or throws a RangeError naming the allocation. */
static JSValueRef reserve(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                          const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    double requested = argc > 1 ? JSValueToNumber(js, argv[1], NULL) : 0;
    if (!ec || !(requested > 0))
        return JSValueMakeUndefined(js);
    uint64_t bytes = requested >= 1.8e19 || isnan(requested) ? UINT64_MAX : (uint64_t)requested;
    uint64_t left = 0;
    if (engine_budget_reserve(ec->vm, bytes, &left))
        return JSValueMakeUndefined(js);
    char *what = natives_string_arg(js, argc, argv, 0, NULL);
    char message[200];
    snprintf(message, sizeof(message), "%s of %.0f bytes exceeds the context's memory limit (%llu bytes left)",
             what ? what : "allocation", requested, (unsigned long long)left);
    free(what);
    return natives_throw(js, exception, "RangeError", message);
}

/* loadWasm(): evaluates the checking code behind the guard's WebAssembly stubs
 * (memory-guard-wasm.js) and answers its function; called by the guard, once per VM, on
 * the first use of WebAssembly, not at creation (~7 KB less to parse per isolated
 * context). An exception (out of memory, the watchdog) refuses that first use. */
static JSValueRef load_wasm(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                            const JSValueRef argv[], JSValueRef *exception)
{
    JSValueRef made = js_evaluate_utf8(js, api_source_memory_guard_wasm, "jspool:memory-guard-wasm.js", exception);
    return made ? made : JSValueMakeUndefined(js);
}

int engine_ctx_guard_memory(engine_ctx *ec, uint64_t limit_bytes)
{
    JSContextRef js = ec->js;
    JSValueRef exception = NULL;
    JSValueRef install = js_evaluate_utf8(js, api_source_memory_guard, "jspool:memory-guard.js", &exception);
    if (!install || exception || !JSValueIsObject(js, install))
        return -1;
    JSStringRef name = JSStringCreateWithUTF8CString("reserve");
    JSStringRef load_name = JSStringCreateWithUTF8CString("loadWasm");
    JSValueRef args[3] = {JSObjectMakeFunctionWithCallback(js, name, reserve),
                          JSValueMakeNumber(js, (double)limit_bytes),
                          JSObjectMakeFunctionWithCallback(js, load_name, load_wasm)};
    JSStringRelease(name);
    JSStringRelease(load_name);
    JSObjectCallAsFunction(js, (JSObjectRef)install, NULL, 3, args, &exception);
    return exception ? -1 : 0;
}
