/* engine.h — the engine layer's interface: everything the rest of jspool may ask of
 * JavaScriptCore, in jspool's own types. Only src/engine/ includes JSC headers; the
 * runtime drives contexts through these functions, and JS natives (timers, host.*,
 * console) call back up through the host's operations table (engine_host.h), which the
 * runtime implements. Every function here runs on the VM's runtime thread. */
#ifndef JSP_ENGINE_H
#define JSP_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine_host.h"
#include "jspool.h"

typedef struct engine_vm engine_vm;       /* one JSC VM (context group) */
typedef struct engine_ctx engine_ctx;     /* one JS global context */
typedef struct engine_callback engine_callback; /* a kept JS function + arguments (timers) */
typedef struct engine_host_promise engine_host_promise; /* a pending host.call() Promise */

/* host: the operations the VM's contexts call up with (engine_host.h); not copied, it must
 * outlive the VM. */
engine_vm *engine_vm_new(const engine_host_ops *host);
/* A VM for one isolated context: no global of its own, its first context answers the
 * VM-wide questions (heap statistics, collections: zeros and no-ops before that context
 * exists and after it is freed). */
engine_vm *engine_vm_new_isolated(const engine_host_ops *host);
void engine_vm_free(engine_vm *vm); /* all its contexts must be freed first */

/* Turns the VM's cache of compiled sources on with room for max_bytes (0 = off, the
 * default; entries dropped). What it holds and why: engine_code_cache.c. */
void engine_vm_set_code_cache(engine_vm *vm, size_t max_bytes);
/* Lets the VM's module loads use the process-wide cache of module transforms (off by
 * default): a module another VM already transformed and checked skips both. */
void engine_vm_share_transforms(engine_vm *vm, bool on);
typedef struct engine_code_cache_stats {
    uint64_t entries, bytes, hits, misses, evictions;
} engine_code_cache_stats;
void engine_vm_code_cache_stats(const engine_vm *vm, engine_code_cache_stats *out);

/* A module's source and name as the VM's code cache keeps them, shared (reference-counted)
 * by every context that loaded those exact bytes: what a context keeps to be rebuilt
 * from on a VM recycle, once per runtime instead of once per context. */
typedef struct engine_text engine_text;
/* The cached text of the module (source, len, name) that ec just loaded, retained for the
 * caller; NULL when the cache does not hold it (caching off, too large): keep a copy. */
engine_text *engine_module_text(engine_ctx *ec, const char *source, size_t len, const char *name);
const char *engine_text_source(const engine_text *t, size_t *len); /* NUL-terminated */
const char *engine_text_name(const engine_text *t);                /* NULL = unnamed */
void engine_text_release(engine_text *t); /* NULL is a no-op */

typedef struct engine_heap_stats {
    uint64_t size_bytes, capacity_bytes, extra_bytes, objects;
} engine_heap_stats;
/* Builds one global ahead, bare (JSC's global only), for an engine_ctx_new that may take
 * a spare of the same groups, if fewer than ENGINE_SPARE_GLOBALS exist (of any groups);
 * true when one was built. engine_vm_install_spare then installs it (our natives, the
 * lazy accessors of its groups, nothing else: engine_ctx_ready's work, done ahead); true
 * when there was a spare to install. A spare taken before its install is installed by
 * its context's first operation, as a fresh global is. Runtime
 * thread, when idle (engine_context.c says why a spare is as pristine as a fresh
 * global). Which creation takes which spare is the caller's to decide (runtime.c). */
bool engine_vm_prepare_spare(engine_vm *vm, uint32_t apis);
bool engine_vm_install_spare(engine_vm *vm);
/* Releases up to count spares built for apis; returns how many it released. */
int engine_vm_release_spares(engine_vm *vm, uint32_t apis, int count);
/* How many spares vm holds (all groups). */
int engine_vm_spare_count(const engine_vm *vm);
/* How many globals a VM keeps ready for new contexts (~80 KB each). */
#define ENGINE_SPARE_GLOBALS 4
/* Reads the VM heap's statistics: walks the heap, milliseconds on a large one. */
void engine_vm_heap_stats(engine_vm *vm, engine_heap_stats *out);
/* Asks for a garbage collection (JSC may defer it). */
void engine_vm_collect(engine_vm *vm);
/* Collects now, synchronously (milliseconds: for small isolated VMs after an OOM). */
void engine_vm_collect_now(engine_vm *vm);
/* Memory the VM holds: heap capacity plus memory its objects own outside the heap.
 * (JSC's heapSize reads 0 until a collection ran, so it cannot be used for limits.) */
uint64_t engine_vm_held_bytes(engine_vm *vm);

/* A time budget for JS about to run on a VM: deadlines on the thread's CPU clock and the
 * monotonic clock (0 = none). When one passes, the running JS is terminated and tripped
 * says which (JSP_ECPU_LIMIT or JSP_EWALL_LIMIT). */
typedef struct engine_budget {
    uint64_t wall_start_ns;
    uint64_t cpu_limit_ns;     /* 0 = none */
    uint64_t cpu_start_ns;     /* 0 until the first watchdog tick (see engine_budget.c) */
    uint64_t cpu_deadline_ns;  /* set with cpu_start_ns */
    uint64_t wall_deadline_ns; /* 0 = none */
    uint64_t memory_limit_bytes;   /* 0 = none; isolated VMs only */
    uint64_t held_bytes;           /* the VM's heap at the last measurement */
    uint64_t rss_at_heap_read;     /* process RSS then */
    uint64_t next_heap_read_ns;    /* monotonic time the heap could first be over */
    /* Set from any thread to end the run at the next watchdog tick (<= ENGINE_TICK_MS):
     * cancel trips JSP_EDESTROYED (its context is being destroyed), cancel_all
     * JSP_ECLOSED (the pool is closing). NULL = none. */
    const atomic_bool *cancel;
    const atomic_bool *cancel_all;
    int tripped;                   /* JSP_ECPU_LIMIT, JSP_EWALL_LIMIT, JSP_EOOM, JSP_EDESTROYED,
                                      JSP_ECLOSED or 0 */
} engine_budget;

/* The watchdog's period: how soon a cancelled run or a passed deadline ends. */
#define ENGINE_TICK_MS 10

/* Fills b for a run starting now. wall_deadline_ns, when not 0, wins over wall_limit_ms
 * (a call awaiting a Promise keeps the deadline it started with). */
void engine_budget_start(engine_budget *b, uint64_t cpu_limit_ms, uint64_t wall_limit_ms,
                         uint64_t wall_deadline_ns);
/* Adds a memory limit to b: the VM's heap (capacity + extra memory) may not pass
 * limit_bytes; held_bytes is its size when the run starts (last measured). */
void engine_budget_limit_memory(engine_budget *b, uint64_t limit_bytes, uint64_t held_bytes);

/* The memory guard's check (engine_memory_guard.c): true when `bytes` more fit in the
 * limit of the budget current on vm (measuring, then collecting, before saying no), and
 * counts them; false with *left = what is left. True when no memory limit is current. */
bool engine_budget_reserve(engine_vm *vm, uint64_t bytes, uint64_t *left);

/* Makes b (or NULL: no budget) the one that JS now running on vm is checked against;
 * returns the previous one, to be restored after a nested run. The VM's watchdog stays
 * armed from the first budget on, so that even a run without deadlines can be cancelled
 * (b->cancel) from another thread: JSC's watchdog can only be armed on the VM's thread. */
engine_budget *engine_vm_set_budget(engine_vm *vm, engine_budget *b);
uint64_t engine_thread_cpu_ns(void);
/* A pass of host work run inside one entry into a VM (engine_entry.c): every
 * engine_entered of that VM's contexts during run(data) shares the entry, so JSC's
 * per-entry watchdog cost (a thread-CPU-clock read) is paid once per pass. run must stop
 * when engine_vm_batch_is_ended says so: a budget tripped and JSC is terminating, which
 * only leaving the entry clears. Runtime thread; not nested (inside an entry, run simply
 * runs). No batch happens before a budget armed the watchdog. */
typedef struct engine_batch {
    void (*run)(void *data);
    void *data;
    bool is_ended; /* a job's budget tripped: leave now */
} engine_batch;
void engine_vm_batch(engine_vm *vm, engine_batch *batch);
bool engine_vm_batch_is_ended(const engine_vm *vm);
/* True inside a batch's run, outside any work it runs: where a job would join the batch. */
bool engine_vm_batch_is_open(const engine_vm *vm);

/* CPU the budget's run has used so far (its wall time while that is shorter than a tick). */
uint64_t engine_budget_cpu_used_ns(engine_budget *b);
/* The run's CPU clock at start, reading the clock now if no tick has yet. */
uint64_t engine_budget_cpu_start_ns(engine_budget *b);
/* Reads the calling thread's CPU clock (~0.7 us) as a bound for the runs that begin after
 * it: the runtime calls it once per pass. */
void engine_budget_mark_thread_cpu(void);
/* For natives that run long in C without returning to JS (an HTML parse): the checks a
 * watchdog tick makes — cancel, CPU and wall deadlines, not memory — on the budget current
 * on vm; sets and returns its tripped code (0: go on; none current: 0). The native then
 * unwinds and throws; the next tick ends the run with that code. Runtime thread. */
int engine_budget_poll(engine_vm *vm);

/* host_ctx is the host's object for this context, handed back in every operation of the
 * VM's engine_host_ops. apis: bit mask of apis/api_groups.h groups to install (natives
 * and the JS ones' lazy accessors by the context's first operation, engine_ctx_ready; the
 * JS ones' code on first use of one of their globals). take_spare: use a spare global
 * built (and installed) for apis if vm has one (engine_vm_prepare_spare), else make JSC's
 * bare global now. */
engine_ctx *engine_ctx_new(engine_vm *vm, engine_host_ctx *host_ctx, uint32_t apis, bool take_spare);
void engine_ctx_free(engine_ctx *ec);
/* The loader that resolves and reads the imports of ec's modules (NULL: imports are
 * refused with JSP_EMODULE). Set before the first module loads. */
void engine_ctx_set_module_loader(engine_ctx *ec, jsp_module_loader_fn loader, void *user);
/* Installs the memory guard (src/apis/js/memory-guard.js) in a context of an isolated
 * VM, before any guest code: ArrayBuffer, typed array, WebAssembly.Memory and string
 * allocations of 1 MiB or more are checked against the budget's limit before they happen
 * (a RangeError when they do not fit); a WebAssembly memory's maximum is clamped to
 * limit_bytes. 0, or -1 when it could not be installed. */
int engine_ctx_guard_memory(engine_ctx *ec, uint64_t limit_bytes);

/* Calls. Each returns the finished result, or NULL when the value is a Promise still
 * pending: the result then arrives later through the host's call_settled(host_ctx,
 * call_id, result). Text inputs are valid UTF-8 (checked at the API boundary). */
/* source_name is what stack traces call the source (a file name); NULL = "eval" /
 * "module". */
jsp_result *engine_eval(engine_ctx *ec, const char *source, size_t len, const char *source_name,
                        uint64_t call_id);
jsp_result *engine_load_module(engine_ctx *ec, const char *source, size_t len, const char *source_name);
jsp_result *engine_call(engine_ctx *ec, const char *function, const char *args_json,
                        size_t args_len, uint64_t call_id);

/* Delivers {data: JSON.parse(json)} to globalThis.onmessage; problems are logged. */
void engine_deliver_message(engine_ctx *ec, const char *json, size_t len);

/* Globals without eval (see jspool.h for the contracts). */
jsp_result *engine_global_get(engine_ctx *ec, const char *name);
jsp_result *engine_globals_list(engine_ctx *ec);
/* The host's DOM queries (jsp_dom_*, engine_dom.c): selector on the context's
 * globalThis.document, answered as JSON; JSP_ENOTFOUND when the context lacks the dom group. */
enum engine_dom_query { ENGINE_DOM_FIND, ENGINE_DOM_FIND_ALL, ENGINE_DOM_TEXT, ENGINE_DOM_HTML };
jsp_result *engine_dom_query(engine_ctx *ec, const char *selector, int mode, int64_t limit);
jsp_result *engine_globals_snapshot(engine_ctx *ec);
jsp_result *engine_globals_reset(engine_ctx *ec);

/* Tells the engine which call the JS about to run belongs to (0: none), so host state it
 * creates (console.time spans) can be cleared when that call settles. */
void engine_set_current_call(engine_ctx *ec, uint64_t call_id);
/* Ends the spans call_id left open (0: every span); returns how many there were. */
size_t engine_clear_call_spans(engine_ctx *ec, uint64_t call_id);

/* Timers keep their JS function alive through an engine_callback. */
void engine_callback_invoke(engine_ctx *ec, engine_callback *cb); /* exceptions are logged */
void engine_callback_free(engine_callback *cb);

/* Settles a pending host.call() Promise with JSON (ok) or an error message, then frees
 * it. text need not be NUL-terminated. */
void engine_host_promise_settle(engine_ctx *ec, engine_host_promise *p, bool ok,
                                const char *text, size_t len);
void engine_host_promise_free(engine_host_promise *p); /* drop unsettled */

#endif
