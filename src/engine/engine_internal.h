/* engine_internal.h — structures and helpers shared by the engine's .c files. Never
 * included outside src/engine/. */
#ifndef JSP_ENGINE_INTERNAL_H
#define JSP_ENGINE_INTERNAL_H

#include "engine/engine.h"
#include "engine/jsc_private.h"
#include "util/u64_map.h"

/* Property names used on every call, created once per VM. */
typedef struct engine_names {
    JSStringRef then, name, message, stack, line, column, data, onmessage, length;
    JSStringRef eval_url, module_url; /* source names that stack traces show */
    JSStringRef object, get_own_property_names, define_property; /* captured per global */
    JSStringRef value, writable, configurable, enumerable, get, set; /* property descriptors */
} engine_names;

/* A global made ahead, with the natives and API groups of `apis` installed and nothing
 * else run in it (engine_vm_prepare_spare, engine_context.c). */
typedef struct engine_spare {
    JSGlobalContextRef js;
    JSObjectRef get_own_names;   /* protected, once is_ready */
    JSObjectRef define_property; /* protected, once is_ready */
    uint32_t apis;
    bool is_ready;               /* installed (engine_ctx_ready's work done ahead) */
} engine_spare;
/* A VM's cache of compiled sources (engine_code_cache.c). */
enum { CODE_MODULE = 1, CODE_SCRIPT = 2 };
#define CODE_CACHE_MAX_ENTRIES 256
#define CODE_CACHE_MIN_SCRIPT 4096 /* bytes: smaller scripts are not worth an entry */
typedef struct code_entry code_entry;
typedef struct code_cache {
    u64_map by_hash;                /* key hash -> entry (one per slot) */
    code_entry *lru_head, *lru_tail; /* most recently used first */
    size_t bytes, max_bytes;        /* max_bytes 0 = caching off */
    size_t count;
    uint64_t hits, misses, inserts, evictions;
    uint64_t seen[32];              /* hashes of scripts seen once (code_cache_wants) */
    unsigned seen_next;
} code_cache;

struct engine_vm {
    JSContextGroupRef group;
    const engine_host_ops *host; /* what its contexts call up with (engine_host.h) */
    JSClassRef settle_class;     /* callable objects that finish a pending call */
    engine_names names;
    char **builtin_names;        /* sorted globals of a fresh context: default baseline
                                    (process-wide, engine_vm.c; not the VM's to free) */
    size_t builtin_count;
    engine_budget *budget;       /* what running JS is checked against; NULL = none */
    engine_ctx *home;            /* a context of our own, for VM-wide questions; in an
                                    isolated VM its first context (is_home_borrowed) */
    bool is_home_borrowed;
    bool is_watchdog_armed;
    double armed_tick_seconds;   /* the period the watchdog was last armed with; 0 = never */
    int entry_depth;             /* > 0 while engine_entered work runs (engine_entry.c) */
    engine_ctx *entered;         /* whose work runs at depth 1: a nested entry is its own */
    engine_batch *batch;         /* the pass running inside one entry; NULL = none */
    /* Globals made ahead while the runtime was idle (engine_vm_prepare_spare). */
    engine_spare spares[ENGINE_SPARE_GLOBALS];
    int spare_count;
    bool is_terminating;         /* a batch ended on a trip: the trampoline must not drain */
    uint64_t reserved_bytes;     /* approved by the memory guard since the last collection
                                    (engine_memory_guard.c): JSC counts them lazily */
    code_cache code_cache;       /* compiled sources shared by its contexts */
    bool share_transforms;       /* use the process-wide transform cache (transform_cache.c) */
};

#define ENGINE_MAX_API_GROUPS 32 /* api_groups masks are uint32_t */

struct engine_ctx {
    engine_vm *vm;
    JSGlobalContextRef js;
    const engine_host_ops *host; /* vm->host, kept here for the natives' one load */
    engine_host_ctx *host_ctx;   /* handed back in every host operation; NULL: vm->home */
    JSObjectRef exports;         /* protected; NULL until a module is loaded */
    JSObjectRef get_own_names;   /* protected Object.getOwnPropertyNames, tamper-proof */
    JSObjectRef define_property; /* protected Object.defineProperty, likewise (engine_apis.c) */
    char **baseline_names;       /* sorted; NULL = vm->builtin_names */
    size_t baseline_count;
    uint64_t current_call_id;    /* the call whose JS runs now; 0 between calls */
    struct console_span *spans;  /* open console.time() spans, newest first ... */
    size_t span_count;           /* ... how many (natives_console.c caps them) */
    char *last_function;         /* name of the last function called, and ... */
    JSStringRef last_function_js; /* ... its engine string, kept to skip the conversion */
    JSObjectRef trampoline;      /* protected; NULL until engine_entered first runs */
    struct entry *entry;         /* the work the trampoline runs next */
    JSObjectRef api_exports[ENGINE_MAX_API_GROUPS]; /* protected: what each loaded JS group returned */
    /* Imports (engine_modules.c). */
    jsp_module_loader_fn module_loader; /* NULL: imports refused */
    void *module_loader_user;
    JSObjectRef linker;          /* protected; NULL until a module with imports loads */
    jsp_result *module_error;    /* the result for the link error last thrown, and ... */
    JSValueRef module_error_value; /* ... the value thrown (protected) */
    uint32_t apis;               /* the context's API groups (api_groups.h mask) */
    bool is_ready;               /* natives and lazy accessors installed (engine_ctx_ready) */
    uint64_t origin_monotonic_ns; /* performance.timeOrigin, CLOCK_MONOTONIC ... */
    double origin_unix_ms;       /* ... and Unix time (ms, coarsened); set at creation */
};

/* A console.time() label; per-call host state (see engine_clear_call_spans). */
typedef struct console_span {
    struct console_span *next;
    uint64_t call_id;
    uint64_t start_ns;
    char label[];
} console_span;

struct engine_callback {
    JSObjectRef function;        /* protected, as is every argument */
    JSContextRef js;
    size_t argc;
    JSValueRef argv[];
};

struct engine_host_promise {
    JSContextRef js;
    JSObjectRef resolve, reject; /* protected */
};

/* ---- js_values.c ---- */
JSStringRef js_string_from_utf8(const char *text, size_t len); /* NULL on no memory */
char *js_string_to_utf8(JSStringRef s, size_t *len_out);     /* malloc'd */
char *js_value_to_utf8(JSContextRef js, JSValueRef v, size_t *len_out); /* String(v) */
/* JSON of v: 0 with *json (malloc'd; "null" for undefined), or JSP_ENOTJSON with
 * *json holding a message. */
int js_value_to_json(JSContextRef js, JSValueRef v, char **json, size_t *len_out);
/* Evaluates NUL-terminated UTF-8 source (our own embedded scripts) under a URL for stacks;
 * the completion value, or NULL with *exception set. */
/* JSC reports a parse error's line but not its column. For "Unexpected token 'X'" the
 * token's first appearance on that line is the best guess; for an unexpected end, the
 * end of the line. Left 0 when there is nothing to go on (engine_call.c). */
void guess_syntax_error_column(jsp_result *r, const char *source, size_t len);
JSValueRef js_evaluate_utf8(JSContextRef js, const char *source, const char *url, JSValueRef *exception);
/* Parses JSON text; NULL on invalid JSON. */
JSValueRef js_value_from_json(JSContextRef js, const char *json, size_t len);
/* Builds a failed result (code JSP_EJS or JSP_ESYNTAX) from a thrown value. */
/* The value as a result's JSON, or the serialization error (JSP_ENOTJSON...) as a
 * TypeError result (engine_call.c). */
jsp_result *js_value_result(JSContextRef js, JSValueRef value);
jsp_result *js_exception_result(engine_vm *vm, JSContextRef js, JSValueRef exception, int code);
/* A JS Error object of the given constructor name ("TypeError") with message. */
JSValueRef js_make_error(JSContextRef js, const char *constructor, const char *message);
/* The jsp_result for a value: JSON, or a pending marker when it is a thenable (handlers
 * are attached so the host's call_settled runs later) — then NULL. */
jsp_result *js_settle_or_defer(engine_ctx *ec, JSValueRef value, uint64_t call_id);
/* globalThis own property names (not symbols), in property order. */
int js_global_names(engine_ctx *ec, char ***names_out, size_t *count_out);
void js_free_names(char **names, size_t count);

/* ---- engine_entry.c ---- */
typedef void (*engine_entry_work)(engine_ctx *ec, void *data, JSValueRef *exception);
/* Runs work inside one VM entry, then the microtasks it queued, still inside (nested
 * calls just run work). *exception is what work set, or a termination that ended the
 * microtasks. */
/* Releases the VM's spare globals (engine_vm_free). */
void engine_vm_free_spares(engine_vm *vm);
void engine_entered(engine_ctx *ec, engine_entry_work work, void *data, JSValueRef *exception);
void engine_entry_free(engine_ctx *ec);
/* JSObjectCallAsFunction / JSEvaluateScript as engine_entered work (engine_call.c): what
 * the runtime's jobs use to run JS. */
JSValueRef engine_call_function(engine_ctx *ec, JSObjectRef fn, JSObjectRef self, size_t argc,
                                const JSValueRef argv[], JSValueRef *exception);
JSValueRef engine_run_script(engine_ctx *ec, JSStringRef script, JSStringRef source_url, JSValueRef *exception);

/* ---- engine_call.c / engine_modules.c: modules ---- */
struct module_script;
/* Transforms and compiles one module: on success NULL, *m filled (caller frees it) and
 * *factory the module function; else the failed result (*m still to be freed). name is
 * the module's resolved name (its source URL in stacks), NULL for the entry. */
jsp_result *engine_module_compile(engine_ctx *ec, const char *name, const char *source,
                                  size_t len, struct module_script *m, JSObjectRef *factory);
/* Runs a linked entry module (m->linked) and its imports: the export names (a JSON
 * array) with *exports (the entry's namespace, protected for the caller), or the failed
 * result. */
jsp_result *engine_module_link_entry(engine_ctx *ec, const struct module_script *m,
                                     JSObjectRef factory, JSObjectRef *exports);
void engine_modules_free(engine_ctx *ec);

/* ---- engine_code_cache.c ---- */
void code_cache_init(code_cache *c, size_t max_bytes);
void code_cache_free(code_cache *c);
/* The cached script for exactly (kind, name, source) — NULL = none — and, for a module,
 * *meta its transform's findings (without the text). Both stay valid only until the
 * cache's next put: retain the script and copy meta first. Counts a hit or a miss. */
JSScriptRef code_cache_find(code_cache *c, int kind, const char *name, const char *source,
                            size_t len, const struct module_script **meta);
/* The cached key text of exactly (kind, name, source), retained, or NULL (not counted). */
engine_text *code_cache_text(code_cache *c, int kind, const char *name, const char *source,
                            size_t len);
/* Whether a compile of (kind, name, source) that just missed should be put: caching on,
 * the source small enough, and for a script its second sighting. */
bool code_cache_wants(code_cache *c, int kind, const char *name, const char *source, size_t len);
/* Adds a successful compile, taking the script reference and copying *meta's findings
 * (meta NULL for a script); compiled_bytes is what JSC holds for the compiled text.
 * Evicts least recently used entries to stay within the bounds. */
void code_cache_put(code_cache *c, int kind, const char *name, const char *source, size_t len,
                    const struct module_script *meta, size_t compiled_bytes, JSScriptRef script);

/* Installs ec's natives and lazy accessors if that has not happened yet: every engine
 * operation that reads or runs anything in a context calls it first (engine_context.c);
 * 0, or -1 when it failed (out of memory, or a termination during it). */
int engine_ctx_ready(engine_ctx *ec);

/* ---- engine_natives.c ---- */
int natives_install(engine_ctx *ec, uint32_t apis);
/* Defines the globals of the JS groups in apis as accessors that load their group on
 * first use (engine_apis.c). */
int engine_apis_install(engine_ctx *ec, uint32_t apis);
void engine_apis_free(engine_ctx *ec);
/* Sets natives[name] to a C function (read-only, not deletable). */
void natives_define(JSContextRef js, JSObjectRef natives, const char *name,
                    JSObjectCallAsFunctionCallback fn);
/* Sets natives[name] to a value (read-only, not deletable). */
void natives_set_value(JSContextRef js, JSObjectRef natives, const char *name, JSValueRef value);
/* Sets *exception to a new `constructor` error with message; returns undefined, for a
 * native to return. */
JSValueRef natives_throw(JSContextRef js, JSValueRef *exception, const char *constructor, const char *message);
/* Calls exports[name](...argv) of JS group g in ec (one VM entry, microtasks drained):
 * its value, or NULL when the group never loaded in this VM or has no such function, or
 * the call threw (*exception set). How a host event reaches a group's JS (deliver). */
JSValueRef engine_apis_call_export(engine_ctx *ec, int g, const char *name, size_t argc, const JSValueRef argv[],
                                   JSValueRef *exception);
/* Argument 0 as an id: an integer from 1 to 2^53 - 1, else 0. */
uint64_t natives_id_arg(JSContextRef js, size_t argc, const JSValueRef argv[]);
/* Argument i as UTF-8 (malloc'd) when it is a string, else NULL. */
char *natives_string_arg(JSContextRef js, size_t argc, const JSValueRef argv[], size_t i, size_t *len);
/* Per-group C fast paths, one file each (src/engine/natives_<group>.c): each adds its
 * functions to the `natives` object its group's factory receives. */
void natives_console_add(JSContextRef js, JSObjectRef natives);
void natives_encoding_add(JSContextRef js, JSObjectRef natives);
void natives_channel_add(JSContextRef js, JSObjectRef natives);
void natives_worker_add(JSContextRef js, JSObjectRef natives);
/* Copies structured-clone's serialize/deserialize onto natives (channel and worker). */
void natives_add_serializer(JSContextRef js, JSObjectRef natives);
/* The exports of JS group g in this context, running its source first if it has not run
 * yet (undefined, with *exception set, if that failed). Groups reach their dependencies'
 * hidden exports this way (structured-clone's serializer, channel's deliver). */
JSValueRef engine_apis_load(engine_ctx *ec, int g, JSValueRef *exception);
void natives_crypto_add(JSContextRef js, JSObjectRef natives);
void natives_locks_add(JSContextRef js, JSObjectRef natives);
void natives_compression_add(JSContextRef js, JSObjectRef natives);
void natives_url_add(JSContextRef js, JSObjectRef natives);
void natives_store_add(JSContextRef js, JSObjectRef natives);
/* A refused store operation (db_* or local_* host operation) thrown as the error class the
 * host names: TypeError and RangeError as themselves, others as an Error whose name says
 * which (ConstraintError, NotFoundError, StoreError) (natives_store.c). */
JSValueRef natives_throw_db(JSContextRef js, JSValueRef *exception, int rc, const engine_db_error *err);
void natives_performance_add(JSContextRef js, JSObjectRef natives);
void natives_navigator_add(JSContextRef js, JSObjectRef natives);
void natives_storage_add(JSContextRef js, JSObjectRef natives);
/* Records now as the context's performance.timeOrigin (natives_performance.c). */
void engine_ctx_mark_time_origin(engine_ctx *ec);
/* ms floored to the resolution of every sub-millisecond time a guest can read (100 µs,
 * natives_performance.c): performance.now() and console.time's elapsed times. */
double engine_coarsen_ms(double ms);
void natives_fetch_add(JSContextRef js, JSObjectRef natives);
void natives_dom_add(JSContextRef js, JSObjectRef natives);
void natives_websocket_add(JSContextRef js, JSObjectRef natives);
/* The engine_ctx whose global a native was called in. Contexts register per thread,
 * because natives receive only a JSContextRef and every VM of a runtime is on its thread. */
engine_ctx *engine_ctx_of(JSContextRef js);
int engine_ctx_register(engine_ctx *ec);
void engine_ctx_unregister(engine_ctx *ec);

#endif
