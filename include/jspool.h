/* jspool.h — the one public header of libjspool.
 *
 * jspool runs many sandboxed JavaScript contexts on a few OS threads. A *pool* owns N
 * *runtimes* (one OS thread + one libuv loop + one JavaScriptCore VM each); a *context* is
 * one JS global living on one runtime. Every call into a context is a job queued to its
 * runtime's thread, so contexts on one runtime never run in parallel and a context handle
 * may be used from any thread.
 *
 * Conventions (the same everywhere below):
 *   - Functions return 0 or a negative JSP_E* code; jsp_strerror() names a code.
 *   - Config structs are zero-initialised by the caller; a zero field means "the default",
 *     stated beside the field.
 *   - Every *_new has exactly one *_free. Strings passed in are copied unless stated.
 *   - Each declaration states which thread may call it and who owns what.
 */
#ifndef JSPOOL_H
#define JSPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JSP_VERSION_MAJOR 0
#define JSP_VERSION_MINOR 1
#define JSP_VERSION_PATCH 0

/* ---------------------------------------------------------------------------------------
 * Error codes. Stable: a code keeps its number and meaning forever; new codes are added
 * at the end.
 * ------------------------------------------------------------------------------------- */
enum {
    JSP_OK = 0,
    JSP_EINVAL = -1,         /* bad argument: NULL where a value is required, empty name... */
    JSP_ENOMEM = -2,         /* out of host memory */
    JSP_EJS = -3,            /* uncaught JS exception: see error_name / error_message / stack */
    JSP_ESYNTAX = -4,        /* script or module does not parse: see error_line / error_column */
    JSP_ENOTFOUND = -5,      /* no exported/global function, or no global, by that name */
    JSP_ENOTJSON = -6,       /* the result cannot be represented as JSON (function, cycle...) */
    JSP_EDESTROYED = -7,     /* the context was destroyed before or during the call */
    JSP_ECLOSED = -8,        /* the pool is closed or closing */
    JSP_EUTF8 = -9,          /* input text is not valid UTF-8 */
    JSP_EJSON = -10,         /* input is not valid JSON (or not the JSON type required) */
    JSP_EEXIST = -11,        /* a host function with that name is already registered */
    JSP_EMODULE = -12,       /* module uses a feature jspool does not support (import) */
    JSP_ESYSTEM = -13,       /* the OS refused a resource (thread, event loop) */
    JSP_ECPU_LIMIT = -14,    /* the call used more CPU than cpu_limit_ms; context usable */
    JSP_EWALL_LIMIT = -15,   /* the call took longer than wall_limit_ms (Promises included) */
    JSP_EBUSY = -16,         /* the context already has max_queued_jobs waiting: retry later */
    JSP_ETOO_MANY = -17,     /* the pool already has max_contexts contexts */
    JSP_EOOM = -18,          /* the call pushed the context past memory_limit_bytes */
};

/* Returns a static, human-readable name for a code ("JSP_EJS: uncaught JS exception").
 * Any thread. Unknown codes give "unknown error". */
const char *jsp_strerror(int code);

/* Returns a short stable identifier for a code ("js_error", "syntax_error", ...), suited
 * to logs, metrics labels and JSON error bodies. Any thread. */
const char *jsp_error_id(int code);

/* ---------------------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------------------- */

/* The outcome of one call. Allocated by the library; the receiver frees it with
 * jsp_result_free(). Fields may be appended in later versions; never allocate one. */
typedef struct jsp_result {
    int code;              /* 0 or a JSP_E* code */
    char *json;            /* code 0: the value as JSON text, NUL-terminated ("null" for
                              undefined); NULL otherwise */
    size_t json_len;       /* strlen(json), 0 when json is NULL */
    char *error_name;      /* code != 0: "TypeError", "SyntaxError", ...; never NULL */
    char *error_message;   /* code != 0: human-readable message; never NULL */
    char *error_stack;     /* JSP_EJS: the JS stack trace if the engine gave one, else NULL */
    int error_line;        /* JSP_ESYNTAX / JSP_EJS: 1-based line, 0 if unknown */
    int error_column;      /* JSP_ESYNTAX / JSP_EJS: 1-based column, 0 if unknown */
    uint64_t cpu_time_us;  /* CPU time the call's JS used on its runtime thread until it
                              returned (a Promise's later continuations are not counted).
                              Calls shorter than 10 ms report their time on the thread,
                              an upper bound: reading the CPU clock costs more than they do */
} jsp_result;

/* Frees a result and every string in it. NULL is a no-op. Any thread. */
void jsp_result_free(jsp_result *result);

/* Completion of an asynchronous call. Takes ownership of result (free it with
 * jsp_result_free). Runs on the context's runtime thread: do not block in it, and do not
 * make synchronous jspool calls from it (they would wait on the thread that runs them). */
typedef void (*jsp_done_fn)(jsp_result *result, void *user);

/* ---------------------------------------------------------------------------------------
 * Pool
 * ------------------------------------------------------------------------------------- */

typedef struct jsp_pool jsp_pool;
typedef struct jsp_context jsp_context;

enum jsp_log_level { JSP_LOG_DEBUG = 0, JSP_LOG_INFO = 1, JSP_LOG_WARN = 2, JSP_LOG_ERROR = 3 };

/* Receives console output and diagnostics. context_id is 0 for pool-level messages.
 * message is borrowed, valid until the callback returns. Runs on a runtime thread. */
typedef void (*jsp_log_fn)(int level, uint64_t context_id, const char *message, void *user);

/* Receives values a context sent with JS `host.send(value)`, as JSON. Per context, in the
 * order they were sent. json is borrowed, valid until the callback returns. Runs on the
 * context's runtime thread: do not block. */
typedef void (*jsp_message_fn)(jsp_pool *pool, uint64_t context_id, const char *json,
                               size_t json_len, void *user);

enum jsp_placement {
    JSP_PLACE_ROUND_ROBIN = 0, /* contexts go to runtimes in turn */
    JSP_PLACE_LEAST_LOADED = 1 /* the runtime with the fewest live contexts */
};

typedef struct jsp_pool_config {
    int threads;               /* runtime threads; 0 = number of online CPUs */
    int max_contexts;          /* live contexts at most; 0 = 100000. Beyond: JSP_ETOO_MANY */
    int max_queued_jobs;       /* jobs waiting per context at most; 0 = 10000. Beyond:
                                  JSP_EBUSY (back-pressure, never an unbounded queue) */
    int placement;             /* enum jsp_placement; 0 = round robin */
    jsp_log_fn log;            /* NULL = write "[jspool ctx=ID level] message" to stderr */
    void *log_user;
    jsp_message_fn on_message; /* NULL = values from host.send() are dropped */
    void *message_user;

    /* Heap policy, per runtime. Every heap_check_request_interval calls or
     * heap_check_time_interval_ms, whichever comes first, the runtime reads its VM's heap
     * statistics (exported by jsp_pool_metrics). When the heap is over heap_limit_bytes,
     * or has grown past heap_growth_ratio times its size after the last recycle, the
     * runtime recycles its VM between calls: every context is rebuilt from its
     * definition — a fresh global with its limits, and the module it last loaded with
     * jsp_load_module. What does not survive: globals made by eval or by module code at
     * run time, module state (module top-level runs again), and pending timers. */
    unsigned heap_check_request_interval; /* 0 = 4096 calls */
    unsigned heap_check_time_interval_ms; /* 0 = 5000 ms */
    uint64_t heap_limit_bytes;            /* 0 = a quarter of physical memory / threads */
    double heap_growth_ratio;             /* 0 = 4.0; < 1 disables the growth rule. The
                                             baseline is the heap after the last recycle,
                                             but at least 16 MiB */

    /* Debugging only. When true, a settled call does not clear what its guest code left
     * behind (open console.time spans, unanswered host.call()s): they pile up until the
     * context is destroyed, unlogged and uncounted. It exists to measure what per-call
     * scopes save (bench/bench_soak.c); never turn it on in production. */
    int debug_disable_call_scopes; /* nonzero = off */
} jsp_pool_config;

/* Creates a pool and starts its runtime threads. cfg may be NULL (all defaults).
 * Any thread. Returns 0 and sets *out, or JSP_EINVAL / JSP_ENOMEM / JSP_ESYSTEM.
 * Free with jsp_pool_free(). */
int jsp_pool_new(const jsp_pool_config *cfg, jsp_pool **out);

/* Closes the pool: new calls fail with JSP_ECLOSED; jobs already queued run to their end;
 * calls still waiting on a Promise, timer or host call then complete with JSP_ECLOSED;
 * every context is destroyed and every runtime thread joined. Context handles stay valid
 * (every call on them fails with JSP_ECLOSED) until each is released with
 * jsp_context_free(). Any thread except a runtime thread (i.e. not from a callback).
 * NULL is a no-op. */
void jsp_pool_free(jsp_pool *pool);

/* Number of runtime threads. Any thread. */
int jsp_pool_threads(const jsp_pool *pool);

/* The pool's metrics in Prometheus text exposition format (version 0.0.4): per runtime
 * (label runtime="<index>") heap gauges from the last heap check, live contexts and
 * queued jobs; counters of calls by outcome (ok, js_error, cpu_limit, wall_limit, oom,
 * cancelled), VM recycles, heap checks and per-call leftovers cleared by kind
 * (host_call, span); and a call-duration histogram. Any thread; never blocks on a busy
 * runtime. Returns a NUL-terminated malloc'd string (free with jsp_free) or NULL when
 * out of memory. */
char *jsp_pool_metrics(jsp_pool *pool);

/* Frees memory the library returned for the caller to free (jsp_pool_metrics). */
void jsp_free(void *p);

/* ---------------------------------------------------------------------------------------
 * Host functions: C code that JS calls as `host.call(name, ...args)` (returns a Promise)
 * or `host.callSync(name, ...args)` (returns the value, blocking only that context).
 * ------------------------------------------------------------------------------------- */

typedef struct jsp_host_call jsp_host_call;

/* A host function. Runs on the calling context's runtime thread: it may answer at once,
 * or keep `call` and answer later from any thread. Every call must be answered exactly
 * once, with jsp_host_call_resolve() or jsp_host_call_reject(), even if the context or
 * the pool is gone by then (the answer is then discarded). */
typedef void (*jsp_host_fn)(jsp_host_call *call, void *user);

/* Registers fn under name (copied). Any thread, at any time; a context sees a function as
 * soon as it is registered. Returns 0, JSP_EINVAL (NULL/empty name or NULL fn) or
 * JSP_EEXIST. */
int jsp_pool_register(jsp_pool *pool, const char *name, jsp_host_fn fn, void *user);

/* The arguments of a host call as a JSON array text, e.g. "[1,\"a\"]" (values that JSON
 * cannot carry, such as functions, become null). Borrowed: valid until the call is
 * answered. Any thread. */
const char *jsp_host_call_args(const jsp_host_call *call);
size_t jsp_host_call_args_len(const jsp_host_call *call);

/* The registered name that was called, and the calling context. Borrowed as above. */
const char *jsp_host_call_name(const jsp_host_call *call);
uint64_t jsp_host_call_context_id(const jsp_host_call *call);

/* Answers a host call with a JSON value (copied; NULL means null); JS receives it parsed.
 * Consumes `call`: do not touch it afterwards. Any thread. Returns 0, or JSP_EUTF8 /
 * JSP_EJSON if json is not valid — JS then sees an Error naming the problem, and the call
 * is consumed all the same. */
int jsp_host_call_resolve(jsp_host_call *call, const char *json, size_t json_len);

/* Answers a host call with an error: JS sees `new Error(message)` thrown (callSync) or the
 * Promise rejected (call). message is copied; NULL gives "host function failed". Consumes
 * `call`. Any thread. */
void jsp_host_call_reject(jsp_host_call *call, const char *message);

/* ---------------------------------------------------------------------------------------
 * Contexts
 * ------------------------------------------------------------------------------------- */

#define JSP_DEFAULT_CPU_LIMIT_MS 5000
#define JSP_DEFAULT_WALL_LIMIT_MS 30000

typedef struct jsp_context_config {
    const char *name;          /* copied; NULL = "ctx-<id>" */
    int runtime;               /* 0 = placed by the pool's policy; k > 0 = runtime k-1 */
    long cpu_limit_ms;         /* CPU time per call (runtime thread's CPU clock); also bounds
                                  each timer callback and message delivery. 0 =
                                  JSP_DEFAULT_CPU_LIMIT_MS, -1 = unlimited. Past it the call
                                  ends with JSP_ECPU_LIMIT — try/catch/finally cannot stop
                                  that — and the context stays usable. */
    long wall_limit_ms;        /* wall time per call, awaited Promises included. 0 =
                                  JSP_DEFAULT_WALL_LIMIT_MS, -1 = unlimited. Past it:
                                  JSP_EWALL_LIMIT. */
    uint64_t memory_limit_bytes; /* 0 = none: a light context sharing its runtime's VM.
                                  Otherwise an *isolated* context with a VM of its own
                                  (costlier: see the README), whose heap (capacity plus
                                  memory owned outside it) is capped: a call that pushes it
                                  past the limit ends with JSP_EOOM, the VM is collected,
                                  and the context answers again once it fits. Siblings
                                  never notice. At least 4 MiB (else JSP_EINVAL). */
    const char *apis;          /* web-API groups, comma-separated: "console,timers",
                                  "url,crypto", "all", "none" (only host.*); the groups
                                  and what each defines: docs/apis.md. NULL or "" =
                                  "console,timers". Dependencies are added by themselves;
                                  an unknown name is JSP_EINVAL (jsp_apis_resolve says
                                  why). Groups written in JS install on first use of one of
                                  their globals, so unused ones cost almost nothing. */
} jsp_context_config;

/* Resolves an `apis` string as jsp_context_new would: writes the dependency-closed group
 * list in registry order ("events" gives "timers,domexception,events") into out, or on an unknown group a message
 * naming it and the valid ones, and returns 0 or JSP_EINVAL. Any thread. */
int jsp_apis_resolve(const char *apis, char *out, size_t out_len);

/* Creates a context and waits until it is ready. cfg may be NULL. Any thread except a
 * runtime thread. Returns 0 and sets *out, or JSP_EINVAL / JSP_ENOMEM / JSP_ECLOSED.
 *
 * Every context has these globals:
 *   host.call(name, ...args) -> Promise   host.callSync(name, ...args) -> value
 *   host.send(value)                       (to the pool's on_message callback)
 *   onmessage = (event) => event.data     (assign it to receive jsp_send messages)
 *   setTimeout, setInterval, clearTimeout, clearInterval, queueMicrotask
 *   console.log / info / debug / warn / error  (to the pool's log callback)
 * Release with jsp_context_free(). */
int jsp_context_new(jsp_pool *pool, const jsp_context_config *cfg, jsp_context **out);

/* Destroys the context's JS state now and releases the caller's handle; do not use the
 * handle afterwards. Calls queued or in flight complete with JSP_EDESTROYED. Never
 * touches sibling contexts. Any thread except a runtime thread. NULL is a no-op. */
void jsp_context_free(jsp_context *ctx);

/* Destroys the context's JS state but keeps the handle valid, so that other threads still
 * holding it get JSP_EDESTROYED from every call instead of touching freed memory. Any
 * thread (also from callbacks). Idempotent. The handle is still released with
 * jsp_context_free(). */
void jsp_context_destroy(jsp_context *ctx);

/* Identity: a pool-unique id (never 0, never reused) and the name. Any thread; the name
 * is borrowed for the life of the handle. */
uint64_t jsp_context_id(const jsp_context *ctx);
const char *jsp_context_name(const jsp_context *ctx);

/* Memory a context's VM holds (heap capacity plus memory its objects own outside the
 * heap), as last measured — never a heap walk on the caller's thread. */
typedef struct jsp_memory_usage {
    uint64_t heap_bytes;   /* isolated: its own VM, measured after runs that may have grown it;
                              light: its runtime's shared VM at the last heap-policy read */
    uint64_t limit_bytes;  /* memory_limit_bytes; 0 for a light context */
    int is_shared;         /* 1 for a light context: heap_bytes covers its runtime's siblings too */
} jsp_memory_usage;

/* Fills *out. Any thread. Returns 0, or JSP_EINVAL for NULL arguments. */
int jsp_context_memory(const jsp_context *ctx, jsp_memory_usage *out);

/* Index (0-based) of the runtime thread the context lives on. Any thread. */
int jsp_context_runtime(const jsp_context *ctx);

/* ---------------------------------------------------------------------------------------
 * Calls. Each comes in two forms:
 *   sync:  blocks the calling thread; returns result->code and sets *out (always, unless
 *          out is NULL which is JSP_EINVAL). Not from a runtime thread.
 *   async: returns 0 and later runs done(result, user) exactly once on the runtime
 *          thread; or returns a negative code at once and never runs done.
 * A call whose JS value is a Promise completes when the Promise settles; timers and host
 * calls keep running meanwhile. Source and JSON inputs are (text, length) pairs; length
 * may be -1 for a NUL-terminated string. All must be valid UTF-8 (else JSP_EUTF8).
 * ------------------------------------------------------------------------------------- */

/* Evaluates a classic script in the context's global scope. The result is the value of
 * the last expression statement. Errors: JSP_ESYNTAX, JSP_EJS, JSP_ENOTJSON. */
int jsp_eval(jsp_context *ctx, const char *source, long source_len, jsp_result **out);
int jsp_eval_async(jsp_context *ctx, const char *source, long source_len, jsp_done_fn done,
                   void *user);

/* Loads an ES module: the source runs once in its own strict scope, and its exports
 * (`export function f`, `export const g = ...`, `export { a as b }`, `export default`)
 * become callable by name with jsp_call ("default" for the default export). Loading again
 * replaces the previous module's exports; a load that fails leaves them in place. Result:
 * the list of export names as a JSON array. `import`, `export ... from` and exported names
 * written with escape sequences are not supported (JSP_EMODULE);
 * top-level await is a syntax error. The source cannot leave its module scope: a top-level
 * `return`, an unmatched bracket, a source ending inside a comment or literal, and the
 * HTML-like comments `<!--` / `-->` (scripts only) are JSP_ESYNTAX with error_line and
 * error_column at the offending token. `this` at the top level is undefined. */
int jsp_load_module(jsp_context *ctx, const char *source, long source_len, jsp_result **out);
int jsp_load_module_async(jsp_context *ctx, const char *source, long source_len,
                          jsp_done_fn done, void *user);

/* Calls a function by name — first the loaded module's exports, then the context's
 * globals — with args_json, a JSON array of arguments (NULL or "" means no arguments).
 * Errors: JSP_ENOTFOUND, JSP_EJSON (not an array), JSP_EJS, JSP_ENOTJSON. */
int jsp_call(jsp_context *ctx, const char *function, const char *args_json, long args_len,
             jsp_result **out);
int jsp_call_async(jsp_context *ctx, const char *function, const char *args_json,
                   long args_len, jsp_done_fn done, void *user);

/* Delivers a JSON value to the context's `onmessage` handler as `{ data: value }`.
 * Messages to one context are delivered in the order they were sent. If the context has
 * no onmessage handler the message is dropped and logged at debug level; an exception in
 * the handler is logged at error level. Returns 0 when queued, or JSP_EINVAL / JSP_EUTF8 /
 * JSP_EJSON / JSP_EDESTROYED / JSP_ECLOSED / JSP_EBUSY (max_queued_jobs reached: nothing was
 * queued; retry later). Any thread (also from callbacks). */
int jsp_send(jsp_context *ctx, const char *json, long json_len);

/* ---------------------------------------------------------------------------------------
 * Globals without eval. Sync; any thread except a runtime thread.
 * Only properties of globalThis are seen: top-level `let`/`const`/`class` bindings are
 * not properties and do not show; top-level `var` and function declarations do, but
 * cannot be deleted (the language makes them non-configurable) — see
 * jsp_globals_reset().
 * ------------------------------------------------------------------------------------- */

/* One global as JSON in result->json. A name that is not a property of globalThis gives
 * JSP_ENOTFOUND; a value JSON cannot carry gives JSP_ENOTJSON. */
int jsp_global_get(jsp_context *ctx, const char *name, jsp_result **out);

/* The names of all own properties of globalThis (built-ins included), as a JSON array. */
int jsp_globals_list(jsp_context *ctx, jsp_result **out);

/* Records the current set of global names as the context's baseline (replacing any
 * earlier one) and returns it as a JSON array. */
int jsp_globals_snapshot(jsp_context *ctx, jsp_result **out);

/* Deletes every global not in the baseline (a context with no snapshot uses the set it
 * had when created) and returns {"deleted":[names],"kept":[names]} where kept lists the
 * non-configurable ones that could not be deleted (top-level var/function); those are set
 * to undefined instead. */
int jsp_globals_reset(jsp_context *ctx, jsp_result **out);

#ifdef __cplusplus
}
#endif
#endif /* JSPOOL_H */
