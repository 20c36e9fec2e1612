/* engine_entry.c — runs host work on a context inside one entry into the VM, and runs the
 * microtasks that work queued before leaving it. Left to itself, JSC drains microtasks when
 * the API lock is released, outside any entry, so every microtask (every `await`) enters
 * the VM on its own; with a time limit armed, JSC's watchdog reads the thread CPU clock and
 * starts a timer at each entry. Measured here: an `await` took 4 us with limits against
 * 0.3 us without. Work started from a native trampoline keeps the VM entered while the
 * microtasks run, so the watchdog is entered once per call. Only while the watchdog is
 * armed: otherwise entries are cheap and the trampoline is pure cost.
 *
 * A batch (engine_vm_batch) goes one step further: the runtime runs a pass of jobs inside
 * one entry of the VM's home context, and each job's work runs in it directly (work, then
 * the microtasks it queued, exactly as the trampoline does), so the watchdog's entry cost —
 * a thread-CPU-clock read, a system call of ~0.4 us here — and the trampoline's are paid
 * once per pass instead of once per call. JSC keeps a termination request until the
 * outermost entry exits, so the batch ends at the first job whose budget tripped: the
 * termination unwinds the batch's entry, and the next job starts a fresh one. */
#include "engine/engine_internal.h"

#include <assert.h>

/* 0 when JSC lacks the C++ symbols (checked by cmake/jsc_checks.cmake): the plain path only. */
#if JSP_JSC_VM_ENTRY
typedef struct entry {
    engine_entry_work work;
    void *data;
    JSValueRef exception;
} entry;

static JSValueRef trampoline(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    entry *e = ec ? ec->entry : NULL;
    if (!e)
        return JSValueMakeUndefined(js);
    ec->entry = NULL;
    /* Only engine_entered calls it, outside any other entry of the VM. */
    assert(ec->vm->entry_depth == 0);
    /* The drain runs this context's microtasks only: the host runs no other context's JS
     * in this VM while this one is on the stack (see engine_entered). The runtime keeps
     * this one alive meanwhile (the host's context_entered). */
    ec->vm->entry_depth++;
    /* Held across the work, the lock is never released to zero inside it, so nothing
     * drains early; the drain below runs the microtasks in the order JSC would. */
    engine_lock_holder lock;
    _ZN3JSC12JSLockHolderC1EPNS_2VME(&lock, ec->vm->group);
    e->work(ec, e->data, &e->exception);
    /* A tripped budget means JSC is terminating the JS: leave the microtasks to it (it
     * drops them), as it does when the lock is released with a termination pending. */
    if (!(ec->vm->budget && ec->vm->budget->tripped) && !ec->vm->is_terminating)
        _ZN3JSC2VM15drainMicrotasksEv(ec->vm->group);
    ec->vm->is_terminating = false;
    _ZN3JSC12JSLockHolderD1Ev(&lock);
    assert(ec->vm->entry_depth == 1); /* nested entries below left as they came */
    ec->vm->entry_depth--;
    return JSValueMakeUndefined(js);
}
#endif

void engine_entered(engine_ctx *ec, engine_entry_work work, void *data, JSValueRef *exception)
{
    *exception = NULL;
    const engine_host_ops *host = ec->host;
    engine_host_ctx *host_ctx = ec->host_ctx;
    host->context_entered(host_ctx);
    engine_vm *vm = ec->vm;
    int depth = vm->entry_depth;
    assert(depth >= 0 && !ec->entry);
    (void)depth;
    /* The VM has one microtask queue for all its contexts, drained when the outermost
     * entry ends and cleared whole by a termination: so only the entered context's own JS
     * may nest (a native running its JS). The host never runs another context's JS in a
     * VM that has JS on the stack (runtime.c, "one context's JS per VM"). */
    assert(depth == 0 || vm->entered == ec);
    if (depth == 0)
        vm->entered = ec;
    /* Already inside: microtasks run when the outer one ends. Without an armed watchdog a
     * VM entry is cheap and the trampoline would only add its own cost (~0.4 us, 5-8% of
     * a trivial call measured with bench_calls), so JSC drains as usual. */
#if JSP_JSC_VM_ENTRY
    if (vm->batch && vm->entry_depth == 0) { /* inside a batch: its entry is this one's */
        vm->entry_depth++;
        work(ec, data, exception);
        /* As the trampoline: no drain once JSC is terminating (the batch then ends). */
        if (!(vm->budget && vm->budget->tripped))
            _ZN3JSC2VM15drainMicrotasksEv(vm->group);
        if (vm->budget && vm->budget->tripped)
            vm->batch->is_ended = true;
        assert(vm->entry_depth == 1);
        vm->entry_depth--;
        host->context_left(host_ctx);
        return;
    }
#endif
    if (!JSP_JSC_VM_ENTRY || vm->entry_depth > 0 || !vm->is_watchdog_armed) {
        vm->entry_depth++;
        work(ec, data, exception);
        assert(vm->entry_depth == depth + 1);
        vm->entry_depth--;
        host->context_left(host_ctx);
        return;
    }
#if JSP_JSC_VM_ENTRY
    if (!ec->trampoline) {
        JSStringRef name = JSStringCreateWithUTF8CString("jspoolEntry");
        ec->trampoline = JSObjectMakeFunctionWithCallback(ec->js, name, trampoline);
        JSStringRelease(name);
        JSValueProtect(ec->js, ec->trampoline);
    }
    entry e = {.work = work, .data = data};
    ec->entry = &e;
    JSValueRef outer_exception = NULL;
    JSObjectCallAsFunction(ec->js, ec->trampoline, NULL, 0, NULL, &outer_exception);
    ec->entry = NULL;
    assert(vm->entry_depth == depth);
    /* A termination that ended the drain surfaces here, not in the work's own exception. */
    *exception = e.exception ? e.exception : outer_exception;
    host->context_left(host_ctx);
#endif
}

void engine_entry_free(engine_ctx *ec)
{
    if (ec->trampoline)
        JSValueUnprotect(ec->js, ec->trampoline);
    ec->trampoline = NULL;
}

#if JSP_JSC_VM_ENTRY
static void run_batch_work(engine_ctx *ec, void *data, JSValueRef *exception)
{
    (void)exception;
    engine_batch *batch = data;
    engine_vm *vm = ec->vm;
    /* Not counted as entered work: the jobs' own engine_entered calls are (depth 0 -> 1). */
    vm->entry_depth--;
    vm->batch = batch;
    batch->run(batch->data);
    vm->batch = NULL;
    vm->is_terminating = batch->is_ended;
    vm->entry_depth++;
}
#endif

void engine_vm_batch(engine_vm *vm, engine_batch *batch)
{
    batch->is_ended = false;
#if JSP_JSC_VM_ENTRY
    if (vm->entry_depth == 0 && !vm->batch && vm->is_watchdog_armed && vm->home) {
        JSValueRef exception;
        engine_entered(vm->home, run_batch_work, batch, &exception);
        return; /* a termination's exception ends here: its job already failed for it */
    }
#endif
    (void)vm;
    batch->run(batch->data); /* already entered, or no watchdog: plain entries are cheap */
}

bool engine_vm_batch_is_ended(const engine_vm *vm)
{
    return vm->batch && vm->batch->is_ended;
}

bool engine_vm_batch_is_open(const engine_vm *vm)
{
    return vm->batch && vm->entry_depth == 0;
}
