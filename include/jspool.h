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
 *   - A pool or context handle is checked first: NULL, a handle already freed with its
 *     *_free (while the library still holds its memory) or a pointer jspool did not make
 *     gives JSP_EINVAL (0, NULL or -1 where a function returns a value; a no-op for the
 *     *_free and destroy functions). Best effort: it catches mistakes, not freed memory
 *     that was reused.
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
    JSP_EJSON = -10,         /* input is not valid JSON, nests deeper than JSP_JSON_MAX_DEPTH,
                                or is not the JSON type required */
    JSP_EEXIST = -11,        /* the name is taken: a registered host function, or a live
                                context of the pool (jsp_context_new) */
    JSP_EMODULE = -12,       /* a module cannot be linked: an import the context's loader
                                cannot find or may not give (or no loader), a missing
                                export, a form jspool does not support */
    JSP_ESYSTEM = -13,       /* the OS refused a resource (thread, event loop) */
    JSP_ECPU_LIMIT = -14,    /* the call used more CPU than cpu_limit_ms; context usable */
    JSP_EWALL_LIMIT = -15,   /* the call took longer than wall_limit_ms (Promises included) */
    JSP_EBUSY = -16,         /* the context already has max_queued_jobs waiting: retry later */
    JSP_ETOO_MANY = -17,     /* the pool already has max_contexts contexts */
    JSP_EOOM = -18,          /* the call pushed the context past memory_limit_bytes */
    JSP_EMEMORY = -19,       /* the process is past the pool's max_memory_bytes: no new context */
    JSP_ESTORE = -25,        /* the store's database failed: disk full, read-only, corrupt, locked */
    JSP_ESCHEMA = -26,       /* a table declaration is invalid or an incompatible change */
    JSP_EWRITE_LIMIT = -27,  /* the call wrote more rows/bytes than its limit: rolled back */
};

/* JSON input — each call argument, jsp_send messages (the server's POST .../messages and
 * WebSocket text frames), host-call answers — may nest arrays and objects at most this
 * deep (a call's argument list itself does not count); deeper input is JSP_EJSON, the
 * same on every path, and refused before anything runs. Results have no such cap (see
 * JSP_ENOTJSON). */
#define JSP_JSON_MAX_DEPTH 512

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
 * context's runtime thread: do not block. jsp_message_tag() tells which tagged message's
 * handler sent it (jsp_send_tagged). */
typedef void (*jsp_message_fn)(jsp_pool *pool, uint64_t context_id, const char *json,
                               size_t json_len, void *user);

enum jsp_placement {
    JSP_PLACE_ROUND_ROBIN = 0, /* contexts go to runtimes in turn */
    JSP_PLACE_LEAST_LOADED = 1 /* the runtime with the fewest live contexts */
};

typedef struct jsp_pool_config {
    int threads;               /* runtime threads; 0 = number of online CPUs */
    int max_contexts;          /* live contexts at most; 0 = 100000. Beyond: JSP_ETOO_MANY
                                  (also for max_stores, below) */
    int max_queued_jobs;       /* jobs waiting per context at most; 0 = 10000. Beyond:
                                  JSP_EBUSY (back-pressure, never an unbounded queue) */
    size_t max_queued_bytes;   /* bytes of arguments, sources and messages waiting per
                                  context at most (host memory no JS limit sees); 0 = 64 MiB.
                                  Beyond: JSP_EBUSY. 2,000 calls of 256 KiB queued behind a
                                  busy context held 516 MB without it */
    int placement;             /* enum jsp_placement; 0 = round robin */
    jsp_log_fn log;            /* NULL = write "[jspool ctx=ID level] message" to stderr */
    void *log_user;
    jsp_message_fn on_message; /* NULL = values from host.send() are dropped */
    void *message_user;

    /* Heap policy, per runtime. Every heap_check_request_interval calls or
     * heap_check_time_interval_ms, whichever comes first, the runtime reads its VM's heap
     * statistics (exported by jsp_pool_metrics) — at the end of its pass of ready jobs, so
     * a stream of calls arriving during one pass (up to 10 ms) is checked once after it. When the heap is over heap_limit_bytes,
     * or has grown past heap_growth_ratio times its size after the last recycle, the
     * runtime recycles its VM between calls: every context is rebuilt from its
     * definition — a fresh global with its limits, and the module it last loaded with
     * jsp_load_module. What does not survive: globals made by eval or by module code at
     * run time, module state (module top-level runs again), and pending timers. */
    unsigned heap_check_request_interval; /* 0 = 4096 calls */
    unsigned heap_check_time_interval_ms; /* 0 = 5000 ms */
    uint64_t heap_limit_bytes;            /* 0 = a quarter of physical memory / threads */
    double heap_growth_ratio;             /* 0 = 4.0; < 1 disables the growth rule. The
                                             baseline is the fresh VM's heap (taken before
                                             any guest code runs) or, after a recycle, the
                                             rebuilt one; at least 16 MiB. A heap past
                                             either rule is first fully collected: only a
                                             *live* heap still past it is recycled, so
                                             garbage never wipes module state. Every
                                             rebuilt context's jsp_context_generation()
                                             goes up by one. */

    /* Process-wide memory budget: while the process's resident memory is past it, new
     * contexts (and Workers) are refused with JSP_EMEMORY — long before the engine would
     * abort on a failed allocation (flooding isolated contexts under an 8 GB cgroup
     * limit ended in SIGABRT after ~3,650). Contexts that exist keep running. Checked at
     * creation against RSS plus what the new context costs (~1.2 MB isolated, ~0.1 MB
     * light). 0 = three quarters of physical memory, or of the cgroup's memory limit
     * when one is set and lower; UINT64_MAX = no budget. */
    uint64_t max_memory_bytes;

    /* Fair CPU, per context on its runtime. A context earns CPU credit at cpu_share of
     * its runtime thread's time, saving at most cpu_share x cpu_share_window_ms (a fresh
     * context starts with that much); every run of its JS (call, timer callback, message,
     * host-call settlement, channel, worker or lock event) spends the CPU it used. Out of
     * credit, it is throttled: its jobs and timers wait, in order and without failing,
     * until the credit is back, while its siblings run. A run is never cut short for its
     * share (only by its limits), so a sibling waits at most one run of a hog before the
     * hog sits out. Jobs of different contexts take turns (one job each), whatever order
     * they arrived in. A worker is a context with a share of its own: its CPU is not
     * charged to its parent. Usage and throttling: jsp_context_cpu() and the metrics. */
    double cpu_share;                     /* 0 = 0.5; >= 1 disables throttling (turns
                                             stay); else in (0, 1), JSP_EINVAL outside */
    unsigned cpu_share_window_ms;         /* 0 = 10000 (a 5 s burst at the default share:
                                             one call at the default CPU limit) */

    /* Debugging only. When true, a settled call does not clear what its guest code left
     * behind (open console.time spans, unanswered host.call()s): they pile up until the
     * context is destroyed, unlogged and uncounted. It exists to measure what per-call
     * scopes save (bench/bench_soak.c); never turn it on in production. */
    int debug_disable_call_scopes; /* nonzero = off */

    /* Per-context caps on what guest code can make pile up (docs/security.md). */
    int max_timers_per_context;     /* live setTimeout/setInterval timers; 0 = 10000.
                                       Beyond: setTimeout/setInterval throw a RangeError
                                       naming the cap; the context stays usable */
    int max_host_calls_per_context; /* unanswered host.call()/callSync()s; 0 = 1000.
                                       Beyond: host.call's Promise rejects and callSync
                                       throws, with an Error naming the cap; the handler
                                       is not run */

    /* Contexts with a store (jsp_context_config.store_path) open at once, at most: each
     * holds ~4 file descriptors (database, WAL, shared memory, sync), and a tenant that
     * opened stores until the process ran out of descriptors would stop the server from
     * accepting anyone's connections. 0 = (the soft RLIMIT_NOFILE at jsp_pool_new − 1024)
     * / 4, at least 16. Beyond: jsp_context_new fails with JSP_ETOO_MANY (and logs the
     * cap); a destroyed context's store counts until its runtime has closed the file. */
    int max_stores;
    /* Network connections guest code holds open at once across the pool: fetches in
     * flight, open WebSockets and EventSource streams (each counts until its socket is
     * closed). Each holds a file descriptor, and contexts x egress_max_requests is not
     * bounded by the descriptors a process has: a tenant that opened sockets from many
     * contexts until they ran out stopped every store, socket and accepted connection of
     * the process. 0 = 256 (with as many idle keep-alive connections at most, this stays
     * inside the 1,024 descriptors max_stores leaves); raise it with the descriptor
     * limit. Beyond: fetch rejects and a WebSocket fails (error and close events) with a
     * message naming max_egress_connections; the context stays usable. */
    int max_egress_connections;

    /* Code cache, per runtime: the compiled form of each module (and of each script of
     * 4 KiB or more, from its second eval) loaded into the runtime's light contexts,
     * keyed by its exact source bytes and name, so that loading one library into many
     * contexts parses and compiles it once (zod into 100 contexts: bench/libload/run.sh).
     * Only code is shared: each context runs it in its own global. Least recently used
     * entries go first past the bound; a source over a quarter of it is never cached.
     * Isolated contexts (own VM) get none, but share with every VM of the process the
     * rewritten module text (32 MiB at most, process-wide). What both hold:
     * docs/architecture.md. 0 = 32 MiB per runtime; (size_t)-1 = both off. */
    size_t code_cache_bytes;
} jsp_pool_config;

/* Creates a pool and starts its runtime threads. cfg may be NULL (all defaults).
 * Any thread. Returns 0 and sets *out, or JSP_EINVAL / JSP_ENOMEM / JSP_ESYSTEM.
 * Free with jsp_pool_free(). */
int jsp_pool_new(const jsp_pool_config *cfg, jsp_pool **out);

/* Closes the pool: new calls fail with JSP_ECLOSED; jobs already queued run, but JS still
 * running at a watchdog tick (every 10 ms) after the close is terminated, limits or none,
 * and its call completes with JSP_ECLOSED (so a `for(;;)` cannot keep the pool open);
 * calls still waiting on a Promise, timer or host call then complete with JSP_ECLOSED;
 * every context is destroyed and every runtime thread joined. Context handles stay valid
 * (every call on them fails with JSP_ECLOSED) until each is released with
 * jsp_context_free(). Any thread except a runtime thread (i.e. not from a callback).
 * NULL, or a pool already freed, is a no-op. */
void jsp_pool_free(jsp_pool *pool);

/* Number of runtime threads. Any thread. */
int jsp_pool_threads(const jsp_pool *pool);

/* The pool's metrics in Prometheus text exposition format (version 0.0.4): per runtime
 * (label runtime="<index>") heap gauges from the last heap check, live contexts and
 * queued jobs; counters of calls by outcome (ok, js_error, cpu_limit, wall_limit, oom,
 * cancelled), VM recycles, heap checks and per-call leftovers cleared by kind
 * (host_call, span); contexts' CPU seconds, throttles and throttled seconds (summed per
 * runtime: per context, see jsp_context_cpu); and a call-duration histogram. Any thread; never blocks on a busy
 * runtime. Returns a NUL-terminated malloc'd string (free with jsp_free) or NULL when
 * out of memory. */
char *jsp_pool_metrics(jsp_pool *pool);

/* Frees memory the library returned for the caller to free (jsp_pool_metrics). */
void jsp_free(void *p);

/* ---------------------------------------------------------------------------------------
 * Host functions: C code that JS calls as `host.call(name, ...args)` (returns a Promise)
 * or `host.callSync(name, ...args)` (returns the value, blocking that context and, while
 * it waits, the other light contexts of its runtime: they share its VM and its one
 * microtask queue; isolated contexts keep running. The wait ends at the caller's wall
 * limit: callSync then throws and the call ends with JSP_EWALL_LIMIT).
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
 * is consumed all the same; or JSP_EINVAL for NULL or a call already answered (see
 * below), which changes nothing.
 *
 * A second answer is a bug in the embedder, but a detectable one: every call carries a
 * magic number checked here (and by the accessors above, which then return NULL / 0),
 * and an answered call's memory is not reused at once — it stays allocated, marked dead,
 * in a per-pool quarantine of the last 1024 released calls. So a second resolve/reject
 * of a call answered shortly before returns JSP_EINVAL and does nothing, even under
 * AddressSanitizer; two answers racing on two threads: exactly one wins. The limits:
 * once 1024 more calls have been released after it, or once the pool is freed, the
 * memory is really freed and a late second answer is a use-after-free again; and a
 * pointer that never was a host call is not detected. */
int jsp_host_call_resolve(jsp_host_call *call, const char *json, size_t json_len);

/* Answers a host call with an error: JS sees `new Error(message)` thrown (callSync) or the
 * Promise rejected (call). message is copied; NULL gives "host function failed". Consumes
 * `call`. Any thread. Returns 0, or JSP_EINVAL for NULL or a call already answered (as
 * for jsp_host_call_resolve). It used to return void: callers that ignore the result need
 * no change, and the ABI is compatible (the value comes back in a register they ignore). */
int jsp_host_call_reject(jsp_host_call *call, const char *message);

/* ---------------------------------------------------------------------------------------
 * Module loading: what `import` reads (see jsp_load_module).
 * ------------------------------------------------------------------------------------- */

/* Resolves and reads one imported module. Called on the context's runtime thread while
 * its JS waits (so keep it quick: no network), once for each import a module being
 * linked declares and for each import() call (a module is still evaluated only once per
 * context: see name).
 *   specifier: as written in the import ("./util.js", "lodash-es").
 *   referrer:  the resolved name of the importing module, or NULL for the module given
 *              to jsp_load_module itself.
 * On success return 0 and set *name (the resolved name: the key of the context's module
 * registry, the referrer of the module's own imports, its file name in stack traces) and
 * *source (*source_len bytes of UTF-8; a name ending in ".json" is a JSON module whose
 * default export is the parsed value). Both are malloc'd; the library frees them with
 * free(). On failure return a negative code and optionally set *error to a malloc'd
 * message (the import then fails with JSP_EMODULE naming the specifier, the importer
 * and this message). The loader decides what a tenant may read: it is the only way a
 * module reaches text the embedder did not pass in. */
typedef int (*jsp_module_loader_fn)(void *user, const char *specifier, const char *referrer,
                                    char **name, char **source, size_t *source_len,
                                    char **error);

/* A ready-made loader for files under one directory tree: user is the root directory
 * (a NUL-terminated path, kept valid as module_loader_user says). Resolves
 * as Node does for ES modules, never outside the root:
 *   - "./x.js", "../y.js", "/abs.js": against the referrer's directory (the root for the
 *     module given to jsp_load_module); the exact file, else with ".js", ".mjs", ".json"
 *     added, else a directory's package.json entry or index.js;
 *   - bare "pkg" or "pkg/sub/path": node_modules/pkg in the referrer's directory, then
 *     each parent up to the root; the package.json "exports" field (a string, "." or a
 *     "./sub" key, with conditions "import", "module", "browser", "default" — nested — and subpath
 *     patterns ("./x/" + "*") are not supported), else "module", else "main", else index.js;
 *     a package whose "exports" has none of those conditions resolves through "require"
 *     or "node" instead (its CommonJS entry);
 *   - "node:*" built-ins and other URL schemes are refused.
 * The name it returns is the file's real path (symlinks resolved), and a file whose real
 * path is outside the root's real path is refused, so a symlink cannot lead out. Files
 * over 64 MiB are refused. Module files end in .js, .mjs, .cjs or .json. Any thread.
 * (Whether a file is CommonJS is the linker's decision, not the loader's: see
 * jsp_load_module.) */
int jsp_module_loader_files(void *root_dir, const char *specifier, const char *referrer,
                            char **name, char **source, size_t *source_len, char **error);

/* The module root jspool uses for a file it runs or deploys (`jspool run FILE`, `jspool
 * serve FILE.js`): the nearest directory, from the file's own upwards, that holds a
 * package.json (a project's root, beside its node_modules), else the file's directory.
 * Returns its real path, malloc'd (free with free()), or NULL when the file does not
 * exist or out of memory. Any thread. */
char *jsp_module_root_for_file(const char *path);

/* ---------------------------------------------------------------------------------------
 * Contexts
 * ------------------------------------------------------------------------------------- */

#define JSP_DEFAULT_CPU_LIMIT_MS 5000
#define JSP_DEFAULT_WALL_LIMIT_MS 30000
/* jsp_context_config.storage_quota's default: 5 Mi UTF-16 code units per area. */
#define JSP_DEFAULT_STORAGE_QUOTA ((uint64_t)5 << 20)
/* The egress limits a context gets when its config leaves them 0 (jsp_context_config). */
#define JSP_DEFAULT_EGRESS_MAX_REQUESTS 16
#define JSP_DEFAULT_EGRESS_MAX_RESPONSE_BYTES ((uint64_t)64 << 20)
#define JSP_DEFAULT_EGRESS_TIMEOUT_MS 30000

typedef struct jsp_context_config {
    const char *name;          /* copied; NULL = "ctx-<id>". Rules (checked by
                                  jsp_context_new, which says which one failed through
                                  jsp_context_name_check): 1 to 64 bytes; only A-Z a-z
                                  0-9 '.' '_' '-' (so no '/', spaces, controls, bidi
                                  overrides or other non-ASCII: it is one URL path
                                  segment as is); not all digits (it would read as an
                                  id); not "." or ".."; not "ctx-<digits>" (reserved for
                                  unnamed contexts). Invalid UTF-8 is JSP_EUTF8, another
                                  broken rule JSP_EINVAL. Unique among the pool's live
                                  contexts: a name in use is JSP_EEXIST; it is free again
                                  once jsp_context_destroy/free returns. */
    int runtime;               /* 0 = placed by the pool's policy; k > 0 = runtime k-1 */
    long cpu_limit_ms;         /* CPU time per call (runtime thread's CPU clock); also bounds
                                  each timer callback and message delivery. 0 =
                                  JSP_DEFAULT_CPU_LIMIT_MS, -1 = unlimited. Past it the call
                                  ends with JSP_ECPU_LIMIT — try/catch/finally cannot stop
                                  that — and the context stays usable. */
    long wall_limit_ms;        /* wall time per call, awaited Promises included. 0 =
                                  JSP_DEFAULT_WALL_LIMIT_MS, -1 = unlimited. Past it:
                                  JSP_EWALL_LIMIT. Also bounds how long a navigator.locks
                                  lock stays held after it was granted (docs/apis.md), and
                                  a host.callSync's wait (its light siblings wait too). */
    uint64_t memory_limit_bytes; /* 0 = none: a light context sharing its runtime's VM.
                                  Otherwise an *isolated* context with a VM of its own
                                  (costlier: see the README), whose heap (capacity plus
                                  memory owned outside it) is capped: a call that pushes it
                                  past the limit ends with JSP_EOOM, the VM is collected,
                                  and the context answers again once it fits. Siblings
                                  never notice. An ArrayBuffer, typed array,
                                  WebAssembly memory or repeated string of 1 MiB or more
                                  that would not fit is a catchable RangeError before it
                                  is allocated (docs/security.md lists what is counted
                                  only after the fact). Its Workers share the limit
                                  with it (each may hold the limit less what the
                                  context and the other workers hold; the context keeps
                                  its whole limit). At least 4 MiB (else JSP_EINVAL). */
    const char *apis;          /* web-API groups, comma-separated: "console,timers",
                                  "url,crypto", "all", "none" (only host.*); the groups
                                  and what each defines: docs/apis.md. NULL or "" =
                                  "console,timers,performance,navigator". Dependencies
                                  are added by themselves;
                                  an unknown name is JSP_EINVAL (jsp_apis_resolve says
                                  why). Groups written in JS install on first use of one of
                                  their globals, so unused ones cost almost nothing; the
                                  natives and those groups' placeholders are installed by
                                  the context's first eval, call, module load or global
                                  inspection (~45 us, ~12 KB), not by jsp_context_new
                                  (if that install runs out of memory, the operation
                                  fails with JSP_ENOMEM and the next one tries again). */
    const char *namespace_name; /* copied; who may see this context's BroadcastChannel
                                  messages and navigator.locks. NULL = a private namespace:
                                  the context alone (and the Workers it starts). Contexts
                                  given the same string share one namespace: their
                                  BroadcastChannels of one name talk to each other and their
                                  locks of one name contend, query() lists them and steal
                                  takes them; nothing crosses between namespaces. Only the
                                  operator should choose it. 1 to 64 bytes, each one of
                                  JSP_NAMESPACE_CHARS; anything else is JSP_EINVAL. */
    jsp_module_loader_fn module_loader; /* what the context's modules may import; NULL =
                                  nothing: any import fails with JSP_EMODULE. The
                                  server gives a loader only to the modules the
                                  operator deploys (docs/security.md). */
    void *module_loader_user;  /* passed to module_loader (for jsp_module_loader_files:
                                  the root directory); must stay valid until
                                  jsp_pool_free returns (a freed context's JS may still
                                  be ending on its runtime) */
    const char *store_path;    /* copied; NULL = no store. A file (created if missing;
                                  SQLite, with its "-wal" beside it) holding the context's
                                  durable tables: its JS gets the global `db` (docs/store.md),
                                  every eval, call and module load is one transaction on
                                  it, and a call's result is delivered only once its
                                  transaction is durable. One context at a time may have
                                  a file open: a live context of this pool holding it
                                  (under any spelling of the path) or another process gives
                                  JSP_ESTORE from jsp_context_new, as a read-only, corrupt
                                  or foreign file does (the cause, naming the file, goes to
                                  the pool's log at JSP_LOG_ERROR); a destroyed context's
                                  file is waited for (up to 5 s) while its runtime closes
                                  it, so a context re-created on it right away works. Only
                                  the embedder or operator should choose it. */
    int store_durability;      /* JSP_DURABLE_DISK (0, default) or JSP_DURABLE_PROCESS;
                                  anything else is JSP_EINVAL */
    long store_max_rows_per_call;  /* rows a call may write (insert, update, upsert,
                                  delete); past it the call rolls back with
                                  JSP_EWRITE_LIMIT. 0 = 10,000; < 0 is JSP_EINVAL */
    long store_max_bytes_per_call; /* JSON bytes of the rows and keys a call writes; 0 =
                                  16 MiB; < 0 is JSP_EINVAL */
    uint64_t store_max_file_bytes; /* the store file's size cap, so one context cannot fill
                                  the disk under its neighbours: a call whose writes would
                                  grow the file past it fails with JSP_ESTORE ("full") and
                                  rolls back; reads and smaller writes go on. 0 = none */
    uint64_t storage_quota;    /* localStorage and sessionStorage (the `storage` API group):
                                  what each may hold, in UTF-16 code units of its keys and
                                  values plus 32 per item (so many tiny items cannot hold
                                  more memory than the quota says). A setItem past it
                                  throws a QuotaExceededError DOMException and writes
                                  nothing. 0 = JSP_DEFAULT_STORAGE_QUOTA. With a store,
                                  localStorage is kept in it (docs/apis.md "storage"). */
    /* ---- egress: what the context's `fetch` may reach (docs/security.md). Only the
     * embedder or operator should choose these; a refused request is a TypeError
     * "Failed to fetch URL: <the rule that refused it>" in the guest. ---- */
    const char *egress_allow;  /* copied; the destinations allowed, separated by commas or
                                  spaces, each `[http://|https://]host[:port]`: host is a
                                  name ("api.example.com"), "*.example.com" (any name
                                  below example.com, not example.com itself), an IPv4
                                  address, an IPv6 one in brackets, or "*" (any host);
                                  no scheme = both, no port or ":*" = any port. NULL or
                                  "" = nothing: deny by default. At most 256 entries of
                                  255 bytes; a bad entry is JSP_EINVAL (jsp_egress_check
                                  says why). Checked on the URL, on every redirect before
                                  it is followed, and on every address connected to. */
    int egress_allow_loopback; /* 0 (default): a connection to 127.0.0.0/8,
                                  0.0.0.0/8, ::1 or :: (also IPv4-mapped and other IPv6
                                  forms embedding them) is refused even when the host is
                                  allowed — checked on the address the name RESOLVED to,
                                  so "localhost" or a public name pointing at 127.0.0.1
                                  is refused too; non-zero allows them */
    int egress_allow_private;  /* 0 (default): likewise for 10/8, 172.16/12,
                                  192.168/16, 100.64/10, 169.254/16 (link-local, cloud
                                  metadata), 192.0.0/24, 198.18/15, fc00::/7, fe80::/10.
                                  Multicast, broadcast and reserved addresses are never
                                  reachable */
    int egress_max_requests;   /* requests in flight at once; more is a TypeError at
                                  fetch(). An open WebSocket or EventSource counts as one
                                  for its whole life (a WebSocket past it fails: error
                                  and close events). 0 = JSP_DEFAULT_EGRESS_MAX_REQUESTS;
                                  < 0 is JSP_EINVAL */
    uint64_t egress_max_response_bytes; /* per response body (decoded); past it the
                                  transfer stops and reading the body throws a TypeError.
                                  Also the largest WebSocket message received (past it
                                  the socket fails, close 1009 sent), and what all of the
                                  context's unread responses and messages being received
                                  may hold in host memory together (no more than
                                  memory_limit_bytes when set): past it fetch() rejects
                                  and the socket receiving fails, saying so.
                                  0 = JSP_DEFAULT_EGRESS_MAX_RESPONSE_BYTES */
    long egress_timeout_ms;    /* per request, from fetch() to the body's last byte; past
                                  it a TypeError. 0 = JSP_DEFAULT_EGRESS_TIMEOUT_MS, -1 =
                                  none (the call's wall limit still applies: a call's
                                  requests are cancelled when it ends); < -1 is JSP_EINVAL.
                                  For a WebSocket: its handshake (DNS to the 101) only,
                                  waiting its turn for a name lookup included (a
                                  context looks up 2 names at a time) */
    const char *egress_ca_file; /* copied; a PEM file of the certificate authorities its
                                  https requests trust instead of the system's store (a
                                  private CA); NULL = the system's store. Read at each
                                  request (and wss: connection): an unreadable file fails
                                  it. */
} jsp_context_config;

/* When a store call's result is delivered (jsp_context_config.store_durability). */
enum jsp_durability {
    /* After the batch holding the call is on disk (fsync'd): survives kill -9, an OS
     * crash and power loss. Calls that run close together share one flush (group
     * commit). */
    JSP_DURABLE_DISK = 0,
    /* After the batch reached the operating system, before the flush: survives kill -9 of
     * the process, but an OS crash or power loss may lose the last acknowledged calls
     * (never part of one: the file stays consistent). */
    JSP_DURABLE_PROCESS = 1,
};

/* The bytes a namespace name may contain (for strspn). */
#define JSP_NAMESPACE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"


/* Resolves an `apis` string as jsp_context_new would: writes the dependency-closed group
 * list in registry order ("events" gives "timers,domexception,events") into out, or on an unknown group a message
 * naming it and the valid ones, and returns 0 or JSP_EINVAL. Any thread. */
int jsp_apis_resolve(const char *apis, char *out, size_t out_len);

/* Checks an egress allow-list (jsp_context_config.egress_allow) without creating
 * anything: 0, or JSP_EINVAL with the bad entry and why written into why (NUL-terminated,
 * truncated to why_len; why may be NULL). NULL and "" are valid (nothing allowed). When
 * within is not NULL, every entry of allow must also lie within it (an operator's list a
 * client narrows: "a.example.com" lies within "*.example.com", "*" within "*" only), else
 * JSP_EINVAL naming the first entry that does not. Any thread. */
int jsp_egress_check(const char *allow, const char *within, char *why, size_t why_len);

/* Checks a context name against the rules at jsp_context_config.name, without creating
 * anything and without looking at the names in use: 0, or JSP_EUTF8 / JSP_EINVAL with the
 * broken rule written into why (NUL-terminated, truncated to why_len; why may be NULL).
 * NULL name is JSP_EINVAL here (jsp_context_new takes NULL as "unnamed"). Any thread. */
int jsp_context_name_check(const char *name, char *why, size_t why_len);

/* Creates a context and waits until it is ready. cfg may be NULL. Any thread except a
 * runtime thread. Returns 0 and sets *out, or JSP_EINVAL / JSP_EUTF8 (a bad name or
 * limit) / JSP_EEXIST (the name is in use) / JSP_ENOMEM / JSP_ECLOSED.
 * A light context without a store, when its runtime has a global of the same groups
 * built ahead (it does while idle), takes that global without waiting for the runtime
 * thread (~10 us): its calls run after its creation, with its limits, as always. Only
 * running out of memory could still fail such a creation; it is then logged and the
 * context's calls fail with JSP_EDESTROYED.
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
 * touches sibling contexts. Any thread except a runtime thread. NULL, or a handle already
 * freed, is a no-op. */
void jsp_context_free(jsp_context *ctx);

/* Destroys the context's JS state but keeps the handle valid, so that other threads still
 * holding it get JSP_EDESTROYED from every call instead of touching freed memory. JS of
 * the context running now is terminated at the runtime's next watchdog tick (within
 * 10 ms), limits or none, even inside try/finally or host.callSync; its call completes
 * with JSP_EDESTROYED, and its queued jobs fail without running. Returns at once. Any
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

/* The namespace the context was created in (jsp_context_config.namespace_name), or NULL
 * for a private one. Workers report their parent's. Any thread; borrowed for the life of
 * the handle. */
const char *jsp_context_namespace(const jsp_context *ctx);
/* How many times a VM recycle of the heap policy rebuilt this context (0 = never): each
 * rebuild re-ran its module from scratch, so module-level JS state was lost. Compare it
 * before and after a call to know whether the call saw fresh state. Isolated contexts
 * are never recycled (always 0). Any thread; 0 for NULL. */
uint64_t jsp_context_generation(const jsp_context *ctx);

/* Index (0-based) of the runtime thread the context lives on. Any thread. */
int jsp_context_runtime(const jsp_context *ctx);

/* CPU a context's JS used and how its CPU share held it back (jsp_pool_config.cpu_share).
 * Runs shorter than the watchdog tick (10 ms) are counted in wall time, longer ones on
 * the runtime thread's CPU clock. A worker's CPU is its own, not its parent's. */
typedef struct jsp_cpu_usage {
    double cpu_seconds;        /* all its runs since it was created */
    double recent_share;       /* CPU over about the last share window, as a fraction of
                                  its runtime thread's time (0..1) */
    double throttled_seconds;  /* time it spent throttled, the current throttle included */
    uint64_t throttle_count;   /* times it ran out of share */
    int is_throttled;          /* 1 while its jobs and timers wait for its share */
} jsp_cpu_usage;

/* Fills *out from counters the runtime keeps as it runs: never waits for a busy runtime.
 * Any thread; also after the context was destroyed (its last values). Returns 0, or
 * JSP_EINVAL for NULL arguments. */
int jsp_context_cpu(const jsp_context *ctx, jsp_cpu_usage *out);

/* A worker: a context that JS made with `new Worker(...)` (workers group). The host has
 * no handle for it; this is how it can see it. */
typedef struct jsp_worker_info {
    uint64_t id;               /* the worker's context id (as in log lines) */
    uint64_t parent_id;        /* the context that created it (a worker's worker: a worker) */
    int runtime;               /* index of its runtime thread */
    jsp_cpu_usage cpu;         /* its own CPU and throttling (not counted in its parent's) */
} jsp_worker_info;

/* Copies up to max of the pool's live workers, newest first, into out (may be NULL when
 * max is 0) and returns how many are live (possibly more than max). Any thread; a
 * snapshot under a short lock, never waiting for a runtime. 0 for a NULL pool. */
size_t jsp_pool_workers(jsp_pool *pool, jsp_worker_info *out, size_t max);

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
 * the list of export names as a JSON array.
 * Imports — `import d, {a as b} from "m"`, `import * as ns`, `import "m"`, `export * from`,
 * `export {a as b} from`, `export * as ns from`, `import(m)` (a Promise of the namespace)
 * and `import.meta.url` — are read through the context's module_loader (none: JSP_EMODULE
 * naming the specifier). Each module (by resolved name) is evaluated once per context,
 * dependencies before dependents in import order; a later load reuses the evaluated ones
 * (only the source given here runs again). In an import cycle, a module may see another
 * still running: its function declarations work, its let/const/class bindings are still
 * uninitialised. Imported names are bound when the import statement runs (a snapshot:
 * an `export let` changed later is not seen through `import {x}`, but is through
 * `import * as ns` and ns.x). A missing module or export is JSP_EMODULE naming both
 * files; a syntax error in an imported file is JSP_ESYNTAX with the file, line and
 * column in error_message (error_line/error_column are that file's). An imported file
 * is CommonJS as Node decides: a name ending ".cjs", or any name but ".mjs"/".json"
 * whose source has no import/export form; it runs once as function (exports, require,
 * module, __filename, __dirname) with `this` = module.exports (sloppy mode, a top-level
 * `return` and a `#!` line allowed), and importing it gives `default` = module.exports
 * plus its own enumerable keys as named exports, taken when it finishes. Its `require`
 * (synchronous, through the same module_loader) returns module.exports — the partial one
 * in a require cycle — a JSON file's value, or an ES module's namespace; a failing
 * require throws a catchable Error naming the file. No Node built-ins (`fs`, `process`).
 * The names `__jsp_*` are reserved in module code. Exported names
 * written with escape sequences are not supported (JSP_EMODULE);
 * top-level await is a syntax error. The source cannot leave its module scope: a top-level
 * `return`, an unmatched bracket, a source ending inside a comment or literal, and the
 * HTML-like comments `<!--` / `-->` (scripts only) are JSP_ESYNTAX with error_line and
 * error_column at the offending token. `this` at the top level is undefined. */
int jsp_load_module(jsp_context *ctx, const char *source, long source_len, jsp_result **out);
int jsp_load_module_async(jsp_context *ctx, const char *source, long source_len,
                          jsp_done_fn done, void *user);

/* jsp_eval / jsp_load_module with a name for the source — a file name, say — that stack
 * traces show in place of "eval" / "module" (`f@bank.js:12:9`); a module keeps it across
 * a VM recycle. source_name is copied; NULL means unnamed; it must be non-empty valid
 * UTF-8 (else JSP_EINVAL / JSP_EUTF8). Otherwise as the unnamed forms. */
int jsp_eval_named(jsp_context *ctx, const char *source, long source_len, const char *source_name,
                   jsp_result **out);
int jsp_load_module_named(jsp_context *ctx, const char *source, long source_len,
                          const char *source_name, jsp_result **out);

/* Calls a function by name — first the loaded module's exports, then the context's
 * globals — with args_json, a JSON array of arguments (NULL or "" means no arguments).
 * Errors: JSP_ENOTFOUND, JSP_EJSON (not valid JSON, an argument nested deeper than
 * JSP_JSON_MAX_DEPTH, or not an array), JSP_EJS, JSP_ENOTJSON. */
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

/* jsp_send with a tag the embedder chooses (0 = none), so that replies can go back to the
 * sender: while the onmessage handler runs for this message — the microtasks it queues
 * included, as they run before its turn ends — jsp_message_tag() inside the pool's
 * on_message callback returns tag. A value sent later (from a timer, after awaiting a
 * timer or host call, from a call or an untagged message) carries 0. Returns as
 * jsp_send. Any thread. */
int jsp_send_tagged(jsp_context *ctx, const char *json, long json_len, uint64_t tag);

/* Inside a jsp_message_fn: the tag of the jsp_send_tagged message whose handler sent the
 * value, or 0 (see jsp_send_tagged). On any other thread or outside the callback: 0. */
uint64_t jsp_message_tag(void);

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
 * to undefined instead. An isolated context over its memory limit (every other call
 * answers JSP_EOOM) still runs the globals functions, under its CPU and wall limits: a
 * reset then collects its VM at once, and the context answers again if what the deleted
 * globals held brings it back under the limit (memory a loaded module's own top-level
 * variables hold is not a global: destroy and recreate such a context). */
int jsp_globals_reset(jsp_context *ctx, jsp_result **out);
/* The same, answered through done on the runtime thread (see the async calls above):
 * returns 0, or JSP_EINVAL (NULL done) / JSP_EDESTROYED / JSP_ECLOSED / JSP_EBUSY at once
 * and done never runs. Any thread. */
int jsp_globals_reset_async(jsp_context *ctx, jsp_done_fn done, void *user);

/* ---- a context's store, read from outside (read-only, paged) ----
 * Each runs as a job of the context (after the calls queued before it, never inside an
 * awaiting call's transaction), reads one consistent snapshot and changes nothing. A
 * context without a store gives JSP_ENOTFOUND. Sync forms: any thread except a runtime
 * thread; async forms: done runs once on the runtime thread. */

/* The declared tables: {"tables": {NAME: {"columns": {COL: {"type", "nullable"}},
 * "primaryKey": COL, "indexes": {INDEX: COL}, "rows": N}}}. */
int jsp_store_tables(jsp_context *ctx, jsp_result **out);
int jsp_store_tables_async(jsp_context *ctx, jsp_done_fn done, void *user);

/* Rows of table in primary-key order, starting after the key after_json (the JSON text of
 * a key, e.g. "\"alice\"" or "42"; NULL = from the first), at most limit (1..1000; 0 =
 * 100): {"rows": [...], "next": KEY or null}; pass "next" back as after_json for the next
 * page. An unknown table is JSP_ENOTFOUND; a key of the wrong type JSP_EJS (TypeError). */
int jsp_store_rows(jsp_context *ctx, const char *table, const char *after_json, long limit,
                   jsp_result **out);
int jsp_store_rows_async(jsp_context *ctx, const char *table, const char *after_json, long limit,
                         jsp_done_fn done, void *user);

/* ---- a context's DOM, read from outside (the `dom` API group) ----
 * A CSS selector (Selectors level 3 plus :is/:where/:has/:scope, as querySelector takes)
 * is run on the context's current globalThis.document — what the guest parsed or built:
 * `document.body.innerHTML = html`, or `globalThis.document = new
 * DOMParser().parseFromString(html, "text/html")` — without evaluating any host text:
 * the selector is passed as a string value. Each runs as a job of the context, after the
 * calls queued before it, under the context's CPU and wall limits (the document and its
 * getters are the guest's), and changes nothing. Sync; any thread except a runtime thread.
 * Errors: JSP_EINVAL (NULL selector, limit out of range), JSP_EUTF8, JSP_ENOTFOUND (the
 * context was created without the dom group), JSP_EJS with error_name "SyntaxError" for a
 * malformed selector (a DOMException, as querySelector throws) or "TypeError" when the
 * guest replaced document with something else; the calls' limit codes (JSP_ECPU_LIMIT,
 * JSP_EWALL_LIMIT, JSP_EOOM, JSP_EDESTROYED, JSP_ECLOSED, JSP_EBUSY). The caller frees
 * *out with jsp_result_free. */

/* The most elements jsp_dom_find_all returns in one answer. */
#define JSP_DOM_MAX_FIND_ALL 10000

/* The first element matching selector, in document order, as
 * {"tag": local name, "attributes": {name: value}, "text": textContent (its first 4096
 * characters), "html": outerHTML}; JSON null when none matches. */
int jsp_dom_find(jsp_context *ctx, const char *selector, jsp_result **out);

/* Every element matching selector, in document order, at most limit (1..
 * JSP_DOM_MAX_FIND_ALL; 0 = 100), as a JSON array of {"tag", "attributes", "text"} as
 * jsp_dom_find gives (no "html": nested matches would repeat their descendants; each
 * "text" still walks its element's subtree until it has 4096 characters, so many nested
 * matches cost their depth each, within the context's CPU limit). */
int jsp_dom_find_all(jsp_context *ctx, const char *selector, long limit, jsp_result **out);

/* The textContent of the first element matching selector, as a JSON string, whole; JSON
 * null when none matches. */
int jsp_dom_text(jsp_context *ctx, const char *selector, jsp_result **out);

/* The outerHTML of the first element matching selector (the HTML standard's
 * serialization), as a JSON string; JSON null when none matches. */
int jsp_dom_html(jsp_context *ctx, const char *selector, jsp_result **out);

/* The four above as one asynchronous call (the server's form): what picks the answer,
 * limit is jsp_dom_find_all's (ignored otherwise); returns 0 and later runs done(result,
 * user) once on the runtime thread, or returns JSP_EINVAL (NULL done or selector, limit
 * or what out of range) / JSP_EUTF8 / JSP_EDESTROYED / JSP_ECLOSED / JSP_EBUSY at once and
 * done never runs. Any thread. */
typedef enum jsp_dom_answer { JSP_DOM_FIND, JSP_DOM_FIND_ALL, JSP_DOM_TEXT, JSP_DOM_HTML } jsp_dom_answer;
int jsp_dom_query_async(jsp_context *ctx, const char *selector, jsp_dom_answer what, long limit,
                        jsp_done_fn done, void *user);

#ifdef __cplusplus
}
#endif
#endif /* JSPOOL_H */
