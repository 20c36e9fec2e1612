/* engine_context.c — creating and destroying one JS global context, and inspecting its
 * globals without running guest code (get / list / snapshot / reset). Calls into the
 * context live in engine_call.c; natives in engine_natives.c. */
#include "engine/engine_internal.h"
#include "util/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Natives receive only a JSContextRef; this per-thread map finds their engine_ctx. */
static _Thread_local u64_map contexts_by_global;

int engine_ctx_register(engine_ctx *ec)
{
    return u64_map_put(&contexts_by_global, (uint64_t)(uintptr_t)ec->js, ec);
}

void engine_ctx_unregister(engine_ctx *ec)
{
    u64_map_remove(&contexts_by_global, (uint64_t)(uintptr_t)ec->js);
    if (contexts_by_global.count == 0)
        u64_map_free(&contexts_by_global); /* the thread may be about to exit */
}

engine_ctx *engine_ctx_of(JSContextRef js)
{
    return u64_map_get(&contexts_by_global, (uint64_t)(uintptr_t)JSContextGetGlobalContext(js));
}

/* Object.getOwnPropertyNames and Object.defineProperty as they were at creation: guest
 * code can replace the global ones, and host inspection and the lazy API accessors must
 * not run guest code. */
static void capture_builtins(engine_ctx *ec)
{
    JSContextRef js = ec->js;
    const engine_names *k = &ec->vm->names;
    JSValueRef object = JSObjectGetProperty(js, JSContextGetGlobalObject(js), k->object, NULL);
    ec->get_own_names = (JSObjectRef)JSObjectGetProperty(js, (JSObjectRef)object, k->get_own_property_names, NULL);
    ec->define_property = (JSObjectRef)JSObjectGetProperty(js, (JSObjectRef)object, k->define_property, NULL);
    JSValueProtect(js, ec->get_own_names);
    JSValueProtect(js, ec->define_property);
}

static void release_builtins(engine_ctx *ec)
{
    if (ec->get_own_names)
        JSValueUnprotect(ec->js, ec->get_own_names);
    if (ec->define_property)
        JSValueUnprotect(ec->js, ec->define_property);
    ec->get_own_names = ec->define_property = NULL;
}

/* Our part of a global: the captured builtins, the natives and the lazy accessors of
 * ec->apis; 0, or -1 with the captures released (what was defined stays, and a retry
 * defines it again). */
static int install_globals(engine_ctx *ec)
{
    capture_builtins(ec);
    if (natives_install(ec, ec->apis) != 0 || engine_apis_install(ec, ec->apis) != 0) {
        release_builtins(ec);
        return -1;
    }
    ec->is_ready = true;
    return 0;
}

/* ---- installing on first use ----
 * A new context gets JSC's bare global and nothing else; the natives and the groups' lazy
 * accessors are installed by the first engine operation that reads or runs anything in
 * it (engine_ctx_ready: evals, calls, module loads, deliveries, the host's global
 * inspection and DOM queries). No guest code can run before that: guest code only runs
 * through those operations. Installing costs ~45 us and ~12 KB per context, most of it
 * the global's structure changing once per property and JSC's own console materialising
 * when ours replaces it (~9 us alone). bench_contexts --raw-jsc --runtimes 1 10000: 1.64x
 * raw JSC's creation with it at creation, 1.34x without (1.22x with the runtime's poll before
 * sleeping, runtime.c; quiet machine, spares in two
 * steps below; issue 13). A context that is never used (a VM recycle rebuilds every
 * context of the VM, most of them idle) never pays it; a spare global, built while the
 * runtime is idle, is installed ahead when the runtime stays idle long enough. */
int engine_ctx_ready(engine_ctx *ec)
{
    return ec->is_ready ? 0 : install_globals(ec);
}

/* A fresh global in ec->js, installed now or on first use; 0, or -1 with nothing left
 * behind. */
static int build_global(engine_ctx *ec, bool is_installed_now)
{
    ec->js = JSGlobalContextCreateInGroup(ec->vm->group, NULL);
    if (!ec->js)
        return -1;
    if (is_installed_now && install_globals(ec) != 0) {
        JSGlobalContextRelease(ec->js);
        ec->js = NULL;
        return -1;
    }
    return 0;
}

/* ---- spare globals ----
 * Building a context's global costs ~80 us of JSC plus our natives and the groups' lazy
 * accessors (a few us since they are defined from C; 50-80 us when a script defined
 * them). A VM keeps ENGINE_SPARE_GLOBALS globals built ahead, while its runtime is idle,
 * for the API groups the last context asked for. A spare holds JSC's global, our natives
 * and the groups' lazy accessors, and nothing else: no guest code ran in it, no host
 * state refers to it (natives find their context through the registry, filled when a
 * context takes the global), so whoever takes it starts as a global made on demand
 * would. Only a context asking for exactly the same groups takes one; limits, names,
 * loader and store are the runtime's, applied to every context alike. */

static void release_spare(engine_vm *vm, int i)
{
    engine_spare *s = &vm->spares[i];
    if (s->is_ready) {
        JSValueUnprotect(s->js, s->get_own_names);
        JSValueUnprotect(s->js, s->define_property);
    }
    JSGlobalContextRelease(s->js);
    vm->spares[i] = vm->spares[--vm->spare_count];
}

void engine_vm_free_spares(engine_vm *vm)
{
    while (vm->spare_count > 0)
        release_spare(vm, vm->spare_count - 1);
}

bool engine_vm_install_spare(engine_vm *vm)
{
    for (int i = 0; i < vm->spare_count; i++) {
        engine_spare *s = &vm->spares[i];
        if (s->is_ready)
            continue;
        engine_ctx installing = {.vm = vm, .host = vm->host, .apis = s->apis, .js = s->js};
        if (install_globals(&installing) != 0) { /* out of memory: the spare goes */
            release_spare(vm, i);
            return true;
        }
        s->get_own_names = installing.get_own_names;
        s->define_property = installing.define_property;
        s->is_ready = true;
        return true;
    }
    return false;
}

/* A spare is made in two steps, each its own idle pass (runtime.c), so that a creation
 * arriving meanwhile waits for one step at most: a bare global (~110 us, what a creation costs anyway), then its install
 * (~45 us). During a burst of creations the runtime is idle only between them, and
 * installing spares there made each creation wait for ~200 us of spare instead of
 * building its own bare global: 1.6-1.8x raw JSC's creation against 1.2-1.4x with the
 * install left for the second step (bench_contexts --raw-jsc --runtimes 1 10000, quiet
 * machine). */
bool engine_vm_prepare_spare(engine_vm *vm, uint32_t apis)
{
    if (vm->spare_count >= ENGINE_SPARE_GLOBALS)
        return false;
    engine_ctx building = {.vm = vm, .host = vm->host, .apis = apis};
    if (build_global(&building, false) != 0)
        return false;
    vm->spares[vm->spare_count++] = (engine_spare){.js = building.js, .apis = apis};
    return true;
}

int engine_vm_release_spares(engine_vm *vm, uint32_t apis, int count)
{
    int released = 0;
    for (int i = vm->spare_count - 1; i >= 0 && released < count; i--)
        if (vm->spares[i].apis == apis) {
            release_spare(vm, i);
            released++;
        }
    return released;
}

int engine_vm_spare_count(const engine_vm *vm)
{
    return vm->spare_count;
}

/* Takes a spare built for apis into ec; false when there is none. */
static bool take_spare(engine_vm *vm, uint32_t apis, engine_ctx *ec)
{
    for (int i = vm->spare_count - 1; i >= 0; i--) {
        if (vm->spares[i].apis != apis)
            continue;
        ec->js = vm->spares[i].js;
        ec->get_own_names = vm->spares[i].get_own_names;
        ec->define_property = vm->spares[i].define_property;
        ec->is_ready = vm->spares[i].is_ready; /* else installed by its first operation */
        vm->spares[i] = vm->spares[--vm->spare_count];
        return true;
    }
    return false;
}

engine_ctx *engine_ctx_new(engine_vm *vm, engine_host_ctx *host_ctx, uint32_t apis, bool may_take_spare)
{
    engine_ctx *ec = calloc(1, sizeof(*ec));
    if (!ec)
        return NULL;
    ec->vm = vm;
    ec->host = vm->host;
    ec->host_ctx = host_ctx;
    ec->apis = apis;
    engine_ctx_mark_time_origin(ec);
    if (!(may_take_spare && take_spare(vm, apis, ec)) && build_global(ec, false) != 0) {
        free(ec);
        return NULL;
    }
    if (vm->is_home_borrowed && !vm->home)
        vm->home = ec; /* an isolated VM's first context answers for it */
    if (engine_ctx_register(ec) != 0) {
        engine_ctx_free(ec);
        return NULL;
    }
    return ec;
}

void engine_ctx_free(engine_ctx *ec)
{
    if (!ec)
        return;
    if (ec->vm->is_home_borrowed && ec->vm->home == ec)
        ec->vm->home = NULL;
    engine_ctx_unregister(ec);
    engine_clear_call_spans(ec, 0);
    if (ec->exports)
        JSValueUnprotect(ec->js, ec->exports);
    release_builtins(ec);
    js_free_names(ec->baseline_names, ec->baseline_count);
    engine_apis_free(ec);
    engine_modules_free(ec);
    engine_entry_free(ec);
    if (ec->last_function_js)
        JSStringRelease(ec->last_function_js);
    free(ec->last_function);
    JSGlobalContextRelease(ec->js);
    free(ec);
}

jsp_result *engine_global_get(engine_ctx *ec, const char *name)
{
    if (engine_ctx_ready(ec) != 0)
        return result_out_of_memory();
    JSContextRef js = ec->js;
    JSObjectRef global = JSContextGetGlobalObject(js);
    JSStringRef key = js_string_from_utf8(name, strlen(name));
    if (!key)
        return result_out_of_memory();
    bool is_present = JSObjectHasProperty(js, global, key);
    JSValueRef exception = NULL;
    JSValueRef value = is_present ? JSObjectGetProperty(js, global, key, &exception) : NULL;
    JSStringRelease(key);
    if (!is_present)
        return result_error(JSP_ENOTFOUND, "ReferenceError", "no global by that name");
    if (exception) /* a getter threw */
        return js_exception_result(ec->vm, js, exception, JSP_EJS);
    return js_value_result(js, value);
}

/* Appends names as a JSON array of strings to a growing buffer. */
typedef struct text_buf {
    char *data;
    size_t len, cap;
    bool failed;
} text_buf;

static void buf_append(text_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_append_json_string(text_buf *b, const char *s)
{
    buf_append(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_append(b, esc, 2);
        } else if (c < 0x20) {
            char esc[8];
            int n = snprintf(esc, sizeof(esc), "\\u%04x", c);
            buf_append(b, esc, (size_t)n);
        } else {
            buf_append(b, (const char *)p, 1);
        }
    }
    buf_append(b, "\"", 1);
}

static void buf_append_name_array(text_buf *b, char **names, size_t count)
{
    buf_append(b, "[", 1);
    for (size_t i = 0; i < count; i++) {
        if (i)
            buf_append(b, ",", 1);
        buf_append_json_string(b, names[i]);
    }
    buf_append(b, "]", 1);
}

static jsp_result *buf_result(text_buf *b)
{
    if (b->failed) {
        free(b->data);
        return result_out_of_memory();
    }
    return result_ok_take(b->data, b->len);
}

jsp_result *engine_globals_list(engine_ctx *ec)
{
    char **names;
    size_t count;
    int rc = js_global_names(ec, &names, &count);
    if (rc != 0)
        return result_error(rc, NULL, NULL);
    text_buf b = {0};
    buf_append_name_array(&b, names, count);
    js_free_names(names, count);
    return buf_result(&b);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

jsp_result *engine_globals_snapshot(engine_ctx *ec)
{
    char **names;
    size_t count;
    int rc = js_global_names(ec, &names, &count);
    if (rc != 0)
        return result_error(rc, NULL, NULL);
    text_buf b = {0};
    buf_append_name_array(&b, names, count);
    qsort(names, count, sizeof(char *), compare_names);
    js_free_names(ec->baseline_names, ec->baseline_count);
    ec->baseline_names = names;
    ec->baseline_count = count;
    return buf_result(&b);
}

jsp_result *engine_globals_reset(engine_ctx *ec)
{
    char **baseline = ec->baseline_names ? ec->baseline_names : ec->vm->builtin_names;
    size_t baseline_count = ec->baseline_names ? ec->baseline_count : ec->vm->builtin_count;
    char **names;
    size_t count;
    int rc = js_global_names(ec, &names, &count);
    if (rc != 0)
        return result_error(rc, NULL, NULL);
    JSContextRef js = ec->js; /* ready: js_global_names made it so */
    JSObjectRef global = JSContextGetGlobalObject(js);
    text_buf deleted = {0}, kept = {0};
    buf_append(&deleted, "{\"deleted\":[", 12);
    buf_append(&kept, "],\"kept\":[", 10);
    size_t n_deleted = 0, n_kept = 0;
    for (size_t i = 0; i < count; i++) {
        if (bsearch(&names[i], baseline, baseline_count, sizeof(char *), compare_names))
            continue;
        JSStringRef key = js_string_from_utf8(names[i], strlen(names[i]));
        JSValueRef exception = NULL;
        bool is_deleted = JSObjectDeleteProperty(js, global, key, &exception) && !exception;
        if (!is_deleted) /* top-level var/function: non-configurable, so neutralise it */
            JSObjectSetProperty(js, global, key, JSValueMakeUndefined(js), 0, NULL);
        JSStringRelease(key);
        text_buf *b = is_deleted ? &deleted : &kept;
        size_t *n = is_deleted ? &n_deleted : &n_kept;
        if ((*n)++)
            buf_append(b, ",", 1);
        buf_append_json_string(b, names[i]);
    }
    js_free_names(names, count);
    buf_append(&kept, "]}", 2);
    if (!kept.failed)
        buf_append(&deleted, kept.data, kept.len);
    deleted.failed |= kept.failed;
    free(kept.data);
    return buf_result(&deleted);
}
