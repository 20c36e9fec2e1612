/* engine_budget.c — time budgets for running JS, on JSC's watchdog. The watchdog is armed
 * with a short limit (the tick) and re-armed from its own callback, so it becomes a
 * periodic check of the current budget's CPU (thread clock) and wall deadlines; a budget
 * past either ends the running JS with JSC's uncatchable termination. The tick is also
 * the only way into JS that runs on another thread: JSC arms its watchdog only on the
 * VM's own thread (JSContextGroupSetExecutionTimeLimit takes the API lock, which running
 * JS holds), so a budget without deadlines still leaves it armed at the plain tick, and
 * the tick ends the run once its cancel flag is set (a destroy or a pool close, from any
 * thread). Re-arming per call costs about 1.3 us (0.18 -> 1.5 us for a trivial call), so
 * a budget re-arms only when its first tick differs from the armed one (a deadline or a
 * CPU limit closer than a tick): what remains per entry is JSC's own timer restart (a
 * thread-CPU-clock read), paid once per pass of calls when the runtime batches them in
 * one entry (engine_vm_batch, engine_entry.c).
 *
 * Reading the thread CPU clock is a system call (~0.7 us here, against 30 ns for the
 * monotonic clock), so a budget starts from the monotonic clock alone and reads the CPU
 * clock only at its first tick — 10 ms into a call that is still running — taking
 * "CPU used so far" as the smaller of two upper bounds: the wall time so far (one thread,
 * one call) and the CPU the thread used since its last mark (engine_budget_mark_thread_cpu,
 * once per runtime pass, before the run began). The wall bound alone charged a run every
 * millisecond its thread sat blocked or descheduled before the first tick (JSC's watchdog
 * ticks by CPU time, so that tick comes late exactly then): a call blocked 400 ms in a host
 * handler that then computed 50 ms ended at a 300 ms CPU limit. */
#include "engine/engine_internal.h"
#include "util/process_memory.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* 10 ms: the reaction time to a runaway or a cancel, and 100 checks a second at most per VM. */
static const double TICK_SECONDS = ENGINE_TICK_MS / 1000.0;
/* A memory-limited (isolated) VM ticks when its heap is next read (schedule_heap_read: the
 * soonest it could have crossed its limit), in whole milliseconds so that the armed period
 * stays the same from call to call (a re-arm costs ~1.3 us), at most TICK_SECONDS and at
 * least MIN_TICK_SECONDS. It ticked every 1 ms, which until that read only compared RSS:
 * serving the bench's bank (a 64 MiB isolated VM: a read ~8 ms after each call's start)
 * that was ~1,000 JSC timers a second on the runtime thread, each also a wake-up of JSC's
 * signal sender (0.3-0.6 -> 0.1 us of its CPU per request, bench/server/run.sh with
 * perf stat --per-thread) and a chance of the VMTraps race below. Near the limit the tick
 * is 1 ms as before; bench_limits' overshoot (5 x 9 runs each, alternating, load ~6):
 * 16 MiB median +0.1 to +6.3% (before +0.1 to +1.1%), 64 MiB median +1.1 to +1.7% (before
 * +1.0 to +6.2%); the worst run of 9 is timer lateness under load either way: 16 MiB +8.7
 * to +241% (before +7.8 to +101%), 64 MiB +7.2 to +13.7% (before +1.1 to +13.5%). */
/* The shortest re-arm when a deadline or the memory limit is near. Shorter ticks make a
 * race inside JSC 2.50's VMTraps more likely (~1% of memory-limit runs under contention at
 * 0.2 ms); no tick length removes it. A watchdog timer fires on JSC's one timer thread in
 * two steps: it sets the VM's trap bit (an atomic OR), then requestThreadStopIfNeeded
 * takes the traps lock to record a thread-stop request. The runtime thread clears the bit
 * under that lock when it handles the trap and cancels the request when done
 * (cancelThreadStopIfNeeded). When a second timer of the VM sets the bit while the first
 * one's request is still recorded, and the runtime thread clears the bit before that
 * timer reaches the lock, the timer finds "no trap pending, stop requested" and fails a
 * RELEASE_ASSERT: SIGABRT, the runtime thread waiting in cancelThreadStopIfNeeded (a core
 * of `jspool serve`; the mirror case aborts in cancelThreadStopIfNeeded). Polling traps
 * (engine_vm.c) share that bookkeeping. Two timers come close because JSC never cancels
 * one, starts a new one on any entry after the newest one's deadline, restarts one for
 * the CPU time still owed when the wall timer fires first, and its timer thread runs late
 * under load. bench/server/vmtraps.sh (4 s runs, loaded machine): 5 of 93 died with the
 * 1 ms memory tick (1 of 48 in the runs interleaved with a 10 ms tick for every VM, which
 * died in 1 of 104 and overshot memory limits 10x more): only a fixed JSC closes it
 * (WebKit bug 302605, "Fix VMTraps race condition in fireTrap() for async events", merged
 * upstream 2025-11-18, not in Debian 12's 2.50.6; docs/security.md). */
static const double MIN_TICK_SECONDS = 0.001;
/* The fastest JS allocates, with margin: arrays filled in a loop reach ~4 MB/ms here. */
static const double ALLOCATION_BYTES_PER_SECOND = 8e9;

/* Reading the VM heap walks it, so it is read only when it could have crossed the limit:
 * after a read with H bytes of headroom, not before H / (fastest allocation rate) has
 * passed — unless the process RSS grew by more than the headroom meanwhile, a cheap
 * signal (~3 us) that something allocates faster than expected. Time, not a tick count:
 * JSC's watchdog timer fires 1-2.5 ms apart when asked for 1 ms. Freed heap pages are
 * reused without moving RSS, which is why RSS alone cannot be the signal. */
static void schedule_heap_read(engine_budget *b, uint64_t now_ns)
{
    uint64_t headroom = b->memory_limit_bytes > b->held_bytes ? b->memory_limit_bytes - b->held_bytes : 0;
    b->next_heap_read_ns = now_ns + (uint64_t)((double)headroom / ALLOCATION_BYTES_PER_SECOND * 1e9);
}

static bool is_over_memory(engine_vm *vm, engine_budget *b, uint64_t now_ns)
{
    if (now_ns < b->next_heap_read_ns) {
        uint64_t headroom = b->memory_limit_bytes > b->held_bytes ? b->memory_limit_bytes - b->held_bytes : 0;
        uint64_t rss = process_rss_bytes();
        if (rss <= b->rss_at_heap_read || rss - b->rss_at_heap_read < headroom)
            return false;
    }
    b->held_bytes = engine_vm_held_bytes(vm);
    b->rss_at_heap_read = process_rss_bytes();
    if (b->held_bytes > b->memory_limit_bytes) {
        /* Garbage counts until a collection sweeps it (an isolated heap under its limit
         * collects in milliseconds): a context is over its limit only if what it keeps
         * is. Collecting from the watchdog's callback is safe: JSC calls it at a trap
         * check, where an allocation could have collected too. */
        engine_vm_collect_now(vm);
        b->held_bytes = engine_vm_held_bytes(vm);
        if (b->held_bytes > b->memory_limit_bytes)
            return true;
    }
    schedule_heap_read(b, now_ns);
    return false;
}

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t engine_thread_cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* The thread's CPU clock read at a known time (per thread: a runtime's VMs share one). */
static _Thread_local uint64_t mark_wall_ns, mark_cpu_ns;

void engine_budget_mark_thread_cpu(void)
{
    mark_wall_ns = clock_ns(CLOCK_MONOTONIC);
    mark_cpu_ns = engine_thread_cpu_ns();
}

uint64_t engine_budget_cpu_start_ns(engine_budget *b)
{
    if (!b->cpu_start_ns) {
        uint64_t wall_elapsed = clock_ns(CLOCK_MONOTONIC) - b->wall_start_ns;
        uint64_t cpu_now = engine_thread_cpu_ns();
        uint64_t start = cpu_now > wall_elapsed ? cpu_now - wall_elapsed : 1;
        /* A mark taken before the run began: the run used at most the CPU since. */
        if (mark_wall_ns && mark_wall_ns <= b->wall_start_ns && mark_cpu_ns > start)
            start = mark_cpu_ns;
        b->cpu_start_ns = start;
        if (b->cpu_limit_ns)
            b->cpu_deadline_ns = b->cpu_start_ns + b->cpu_limit_ns;
    }
    return b->cpu_start_ns;
}

uint64_t engine_budget_cpu_used_ns(engine_budget *b)
{
    if (!b->cpu_start_ns) {
        uint64_t wall = clock_ns(CLOCK_MONOTONIC) - b->wall_start_ns;
        if (wall < (uint64_t)ENGINE_TICK_MS * 1000000u)
            return wall; /* short: the wall time bounds it, without a clock read */
        /* no tick yet in a longer run: blocked or descheduled (JSC ticks by CPU time) */
        engine_budget_cpu_start_ns(b);
    }
    return engine_thread_cpu_ns() - b->cpu_start_ns;
}

/* The next tick: the regular period, or sooner when a deadline falls before it, so that
 * a budget ends within about a millisecond of its expiry instead of at the next period. */
static double next_tick_seconds(const engine_budget *b, uint64_t cpu_now)
{
    double tick = TICK_SECONDS;
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    if (b->memory_limit_bytes) { /* wake up for the next heap read, in whole milliseconds */
        uint64_t left_ms = b->next_heap_read_ns > now ? (b->next_heap_read_ns - now) / 1000000u : 0;
        double left = (double)left_ms / 1e3;
        tick = left < tick ? left : tick;
    }
    if (b->wall_deadline_ns) {
        double left = b->wall_deadline_ns > now ? (double)(b->wall_deadline_ns - now) / 1e9 : 0;
        tick = left < tick ? left : tick;
    }
    if (b->cpu_deadline_ns && cpu_now) {
        double left = b->cpu_deadline_ns > cpu_now ? (double)(b->cpu_deadline_ns - cpu_now) / 1e9 : 0;
        tick = left < tick ? left : tick;
    } else if (b->cpu_limit_ns && (double)b->cpu_limit_ns / 1e9 < tick) {
        tick = (double)b->cpu_limit_ns / 1e9; /* before the first tick: CPU <= wall */
    }
    return tick > MIN_TICK_SECONDS ? tick : MIN_TICK_SECONDS;
}

static bool on_watchdog_tick(JSContextRef js, void *data);

static void arm_watchdog(engine_vm *vm, double tick_seconds)
{
    JSContextGroupSetExecutionTimeLimit(vm->group, tick_seconds, on_watchdog_tick, vm);
    vm->armed_tick_seconds = tick_seconds;
}

static bool has_deadline(const engine_budget *b)
{
    return b->cpu_limit_ns || b->wall_deadline_ns || b->memory_limit_bytes;
}

static bool on_watchdog_tick(JSContextRef js, void *data)
{
    engine_vm *vm = data;
    engine_budget *b = vm->budget;

    if (!b)
        return false; /* between budgets: let the JS run, the next arm resets */
    if (b->cancel_all && atomic_load_explicit(b->cancel_all, memory_order_relaxed))
        b->tripped = JSP_ECLOSED;
    else if (b->cancel && atomic_load_explicit(b->cancel, memory_order_relaxed))
        b->tripped = JSP_EDESTROYED;
    if (b->tripped)
        return true;
    if (!has_deadline(b)) { /* cancel checks only; re-armed, or JSC would not tick again */
        arm_watchdog(vm, TICK_SECONDS);
        return false;
    }
    engine_budget_cpu_start_ns(b);
    uint64_t cpu_now = b->cpu_deadline_ns ? engine_thread_cpu_ns() : 0;
    if (b->cpu_deadline_ns && cpu_now >= b->cpu_deadline_ns)
        b->tripped = JSP_ECPU_LIMIT;
    else if (b->wall_deadline_ns && clock_ns(CLOCK_MONOTONIC) >= b->wall_deadline_ns)
        b->tripped = JSP_EWALL_LIMIT;
    else if (b->memory_limit_bytes && is_over_memory(vm, b, clock_ns(CLOCK_MONOTONIC)))
        b->tripped = JSP_EOOM;
    if (b->tripped)
        return true;
    arm_watchdog(vm, next_tick_seconds(b, cpu_now));
    return false;
}

int engine_budget_poll(engine_vm *vm)
{
    engine_budget *b = vm->budget;
    if (!b || b->tripped)
        return b ? b->tripped : 0;
    if (b->cancel_all && atomic_load_explicit(b->cancel_all, memory_order_relaxed))
        b->tripped = JSP_ECLOSED;
    else if (b->cancel && atomic_load_explicit(b->cancel, memory_order_relaxed))
        b->tripped = JSP_EDESTROYED;
    else if (b->cpu_limit_ns && (engine_budget_cpu_start_ns(b), engine_thread_cpu_ns() >= b->cpu_deadline_ns))
        b->tripped = JSP_ECPU_LIMIT;
    else if (b->wall_deadline_ns && clock_ns(CLOCK_MONOTONIC) >= b->wall_deadline_ns)
        b->tripped = JSP_EWALL_LIMIT;
    return b->tripped;
}

void engine_budget_limit_memory(engine_budget *b, uint64_t limit_bytes, uint64_t held_bytes)
{
    b->memory_limit_bytes = limit_bytes;
    b->held_bytes = held_bytes;
    b->rss_at_heap_read = process_rss_bytes();
    schedule_heap_read(b, clock_ns(CLOCK_MONOTONIC));
}

engine_budget *engine_vm_set_budget(engine_vm *vm, engine_budget *b)
{
    engine_budget *previous = vm->budget;
    vm->budget = b;
    if (vm->batch && previous && previous->tripped)
        vm->batch->is_ended = true; /* JSC is terminating until the batch's entry ends */
    /* Armed already with the same period: re-arming would change nothing but take the
     * API lock (and, inside an entry, restart JSC's timer with a thread-CPU-clock read). */
    double tick = b && has_deadline(b) ? next_tick_seconds(b, 0) : TICK_SECONDS;
    if (b && vm->armed_tick_seconds != tick)
        arm_watchdog(vm, tick);
    /* Never disarmed (between budgets the tick finds none and lets JS run): one armed
     * watchdog keeps every run cancellable. */
    vm->is_watchdog_armed = vm->armed_tick_seconds != 0;
    return previous;
}

void engine_budget_start(engine_budget *b, uint64_t cpu_limit_ms, uint64_t wall_limit_ms,
                         uint64_t wall_deadline_ns)
{
    b->tripped = 0;
    b->cancel = b->cancel_all = NULL;
    b->memory_limit_bytes = 0;
    b->wall_start_ns = clock_ns(CLOCK_MONOTONIC);
    b->cpu_start_ns = 0; /* read at the first tick, if there is one */
    b->cpu_limit_ns = cpu_limit_ms * 1000000u;
    b->cpu_deadline_ns = 0;
    b->wall_deadline_ns = wall_deadline_ns;
    if (!wall_deadline_ns && wall_limit_ms)
        b->wall_deadline_ns = b->wall_start_ns + wall_limit_ms * 1000000u;
}

