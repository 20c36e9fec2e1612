/* engine_vm.c — one JSC VM (context group) per runtime: its shared classes, interned
 * property names, and the list of built-in globals that is every context's default
 * baseline for jsp_globals_reset. Not for contexts themselves (engine_context.c). */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Finalizer of the objects made by settle_class: their closure is plain malloc'd data. */
static void settle_finalize(JSObjectRef object)
{
    free(JSObjectGetPrivate(object));
}

JSValueRef engine_settle_call(JSContextRef js, JSObjectRef function, JSObjectRef self,
                              size_t argc, const JSValueRef argv[], JSValueRef *exception);

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void intern_names(engine_names *n)
{
    n->then = JSStringCreateWithUTF8CString("then");
    n->name = JSStringCreateWithUTF8CString("name");
    n->message = JSStringCreateWithUTF8CString("message");
    n->stack = JSStringCreateWithUTF8CString("stack");
    n->line = JSStringCreateWithUTF8CString("line");
    n->column = JSStringCreateWithUTF8CString("column");
    n->data = JSStringCreateWithUTF8CString("data");
    n->onmessage = JSStringCreateWithUTF8CString("onmessage");
    n->length = JSStringCreateWithUTF8CString("length");
    n->eval_url = JSStringCreateWithUTF8CString("eval");
    n->module_url = JSStringCreateWithUTF8CString("module");
    n->object = JSStringCreateWithUTF8CString("Object");
    n->get_own_property_names = JSStringCreateWithUTF8CString("getOwnPropertyNames");
    n->define_property = JSStringCreateWithUTF8CString("defineProperty");
    n->value = JSStringCreateWithUTF8CString("value");
    n->writable = JSStringCreateWithUTF8CString("writable");
    n->configurable = JSStringCreateWithUTF8CString("configurable");
    n->enumerable = JSStringCreateWithUTF8CString("enumerable");
    n->get = JSStringCreateWithUTF8CString("get");
    n->set = JSStringCreateWithUTF8CString("set");
}

static void release_names(engine_names *n)
{
    JSStringRef all[] = {n->then, n->name, n->message, n->stack, n->line,
                         n->column, n->data, n->onmessage, n->length,
                         n->eval_url, n->module_url, n->object, n->get_own_property_names,
                         n->define_property, n->value, n->writable, n->configurable,
                         n->enumerable, n->get, n->set};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i])
            JSStringRelease(all[i]);
}

/* The globals a fresh context has (built-ins plus our natives), sorted for bsearch: the
 * same in every VM of the process, so listed once (by the first VM) and shared. */
static pthread_mutex_t builtin_mutex = PTHREAD_MUTEX_INITIALIZER;
static char **builtin_names;
static size_t builtin_count;

static engine_ctx *probe_context(engine_vm *vm)
{
    return engine_ctx_new(vm, NULL, (1u << API_GROUP_COUNT) - 1, false); /* every group's names */
}

/* Lists the builtin names with probe (a context of every group) if nobody has yet. */
static int record_builtin_names(engine_vm *vm, engine_ctx *probe)
{
    pthread_mutex_lock(&builtin_mutex);
    int rc = 0;
    if (!builtin_names) {
        char **names = NULL;
        size_t count = 0;
        rc = probe ? js_global_names(probe, &names, &count) : -1;
        if (rc == 0) {
            qsort(names, count, sizeof(char *), compare_names);
            builtin_count = count;
            builtin_names = names;
        }
    }
    vm->builtin_names = builtin_names;
    vm->builtin_count = builtin_count;
    pthread_mutex_unlock(&builtin_mutex);
    return rc;
}

static bool has_builtin_names(void)
{
    pthread_mutex_lock(&builtin_mutex);
    bool has = builtin_names != NULL;
    pthread_mutex_unlock(&builtin_mutex);
    return has;
}

/* A VM with a context of its own (vm->home) for VM-wide questions, or, isolated, without:
 * its first context answers them (engine_ctx_new), which saves an isolated context a
 * second global (one JSC global, our natives and every group's accessors). */
static int set_up_home(engine_vm *vm, bool is_isolated)
{
    if (!is_isolated) {
        vm->home = probe_context(vm);
        return vm->home ? record_builtin_names(vm, vm->home) : -1;
    }
    vm->is_home_borrowed = true;
    if (has_builtin_names())
        return record_builtin_names(vm, NULL);
    engine_ctx *probe = probe_context(vm); /* once per process at most */
    int rc = probe ? record_builtin_names(vm, probe) : -1;
    vm->home = NULL;
    engine_ctx_free(probe);
    return rc;
}

/* JSC stops running JS (watchdog, termination) through VM traps. By default a trap
 * suspends the JS thread with a signal to find where it is; about 1 run in 5 of a loop of
 * `for(;;)` timer callbacks under a CPU limit hung for good: JSC's "Signal Sender" thread
 * waited in Thread::suspend for a thread that kept spinning in JIT code, past every limit
 * and destroy (reproduced: 40 of 40 runs end with polling traps, a hang in the 5th run
 * without). Polling traps make JIT code check a flag instead; a compute loop ran 1.57 s
 * against 1.98 s with signals (default limits, `jspool eval`, 3 runs each). JSC reads
 * its options when its first VM is made, so this is set before that, unless the
 * environment already says otherwise. */
static void prefer_polling_traps(void)
{
    if (!getenv("JSC_usePollingTraps"))
        setenv("JSC_usePollingTraps", "true", 0);
}

/* JSC's baseline JIT compiles a function after ~500 units of work (15 a call, 1 a loop
 * iteration) — per code block, and code blocks are per global object: every context that
 * loads a library compiles its own machine code for whatever the library's top level runs
 * hot, which the code cache cannot share. zod's top level did that in each of 100
 * contexts: 802 KB RSS per context at JSC's defaults (500 / 100), 653 KB at 5,000, 446 KB
 * at 20,000 (Node's vm: ~370 KB), load time unchanged (bench/libload). 20,000 units is ~1,300
 * calls of a function or a loop of 20,000 iterations in the interpreter (~1 ms), after
 * which code is compiled as before; the upper tiers keep their own thresholds. Set before
 * JSC reads its options, unless the environment already says otherwise. */
static void delay_baseline_jit(void)
{
    if (!getenv("JSC_thresholdForJITAfterWarmUp"))
        setenv("JSC_thresholdForJITAfterWarmUp", "20000", 0);
    if (!getenv("JSC_thresholdForJITSoon"))
        setenv("JSC_thresholdForJITSoon", "20000", 0);
}

static void set_engine_options(void)
{
    prefer_polling_traps();
    delay_baseline_jit();
}

static engine_vm *vm_new(const engine_host_ops *host, bool is_isolated)
{
    assert(host);
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, set_engine_options);
    engine_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->host = host;
    vm->group = JSContextGroupCreate();
    JSClassDefinition def = kJSClassDefinitionEmpty;
    def.className = "jspoolSettle";
    def.callAsFunction = engine_settle_call;
    def.finalize = settle_finalize;
    vm->settle_class = JSClassCreate(&def);
    intern_names(&vm->names);
    if (!vm->group || !vm->settle_class || set_up_home(vm, is_isolated) != 0) {
        engine_vm_free(vm);
        return NULL;
    }
    return vm;
}

engine_vm *engine_vm_new(const engine_host_ops *host)
{
    return vm_new(host, false);
}

engine_vm *engine_vm_new_isolated(const engine_host_ops *host)
{
    return vm_new(host, true);
}

void engine_vm_free(engine_vm *vm)
{
    if (!vm)
        return;
    engine_vm_free_spares(vm);
    code_cache_free(&vm->code_cache); /* its scripts need the VM */
    assert(!vm->is_home_borrowed || !vm->home); /* its contexts are freed first */
    if (!vm->is_home_borrowed)
        engine_ctx_free(vm->home);
    release_names(&vm->names);
    if (vm->settle_class)
        JSClassRelease(vm->settle_class);
    if (vm->group)
        JSContextGroupRelease(vm->group);
    free(vm);
}

void engine_vm_set_code_cache(engine_vm *vm, size_t max_bytes)
{
    code_cache_free(&vm->code_cache);
    code_cache_init(&vm->code_cache, max_bytes);
}

engine_text *engine_module_text(engine_ctx *ec, const char *source, size_t len, const char *name)
{
    return code_cache_text(&ec->vm->code_cache, CODE_MODULE, name, source, len);
}

void engine_vm_share_transforms(engine_vm *vm, bool on)
{
    vm->share_transforms = on;
}

void engine_vm_code_cache_stats(const engine_vm *vm, engine_code_cache_stats *out)
{
    const code_cache *c = &vm->code_cache;
    *out = (engine_code_cache_stats){.entries = c->count, .bytes = c->bytes, .hits = c->hits,
                                     .misses = c->misses, .evictions = c->evictions};
}

static double number_property(JSContextRef js, JSObjectRef o, const char *name)
{
    JSStringRef key = JSStringCreateWithUTF8CString(name);
    JSValueRef v = JSObjectGetProperty(js, o, key, NULL);
    JSStringRelease(key);
    return v && JSValueIsNumber(js, v) ? JSValueToNumber(js, v, NULL) : 0;
}

void engine_vm_heap_stats(engine_vm *vm, engine_heap_stats *out)
{
    *out = (engine_heap_stats){0};
    if (!vm->home)
        return; /* an isolated VM before its context or after: nothing to ask */
    JSContextRef js = vm->home->js;
    JSObjectRef stats = JSGetMemoryUsageStatistics(js);
    out->size_bytes = (uint64_t)number_property(js, stats, "heapSize");
    out->capacity_bytes = (uint64_t)number_property(js, stats, "heapCapacity");
    out->extra_bytes = (uint64_t)number_property(js, stats, "extraMemorySize");
    /* objectCount (like heapSize) reads 0 until a collection has run; the per-type
     * census that comes with the statistics is always current, so count from it. */
    out->objects = 0;
    JSStringRef key = JSStringCreateWithUTF8CString("objectTypeCounts");
    JSValueRef counts = JSObjectGetProperty(js, stats, key, NULL);
    JSStringRelease(key);
    if (counts && JSValueIsObject(js, counts)) {
        JSPropertyNameArrayRef names = JSObjectCopyPropertyNames(js, (JSObjectRef)counts);
        size_t n = JSPropertyNameArrayGetCount(names);
        for (size_t i = 0; i < n; i++) {
            JSValueRef v = JSObjectGetProperty(js, (JSObjectRef)counts,
                                               JSPropertyNameArrayGetNameAtIndex(names, i), NULL);
            out->objects += (uint64_t)JSValueToNumber(js, v, NULL);
        }
        JSPropertyNameArrayRelease(names);
    }
}

void engine_vm_collect(engine_vm *vm)
{
    if (vm->home)
        JSGarbageCollect(vm->home->js);
}

void engine_vm_collect_now(engine_vm *vm)
{
    if (vm->home)
        JSSynchronousGarbageCollectForDebugging(vm->home->js);
    vm->reserved_bytes = 0; /* what was approved is now either counted or freed */
}

uint64_t engine_vm_held_bytes(engine_vm *vm)
{
    /* JSC's heapCapacity already includes extraMemorySize (JSBasePrivate.h): adding the
     * two counted every ArrayBuffer twice, halving an isolated context's real limit. */
    if (!vm->home)
        return 0;
    JSContextRef js = vm->home->js;
    JSObjectRef stats = JSGetMemoryUsageStatistics(js);
    return (uint64_t)number_property(js, stats, "heapCapacity");
}
