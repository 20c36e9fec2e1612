/* threads_race.c — drives every cross-thread path of the library at once, for
 * ThreadSanitizer. Not a Criterion suite: Criterion's process arena cannot start under
 * TSan (Snaipe/Criterion#274), so CI builds this with -DJSP_SANITIZE=thread and runs it
 * as a plain program; any report from TSan fails the run (halt_on_error=1).
 * Covers: sync and async calls from many threads, host calls answered from other
 * threads, messages both ways, destroy racing calls, pool close with work in flight;
 * navigator.locks across both runtimes (grants, steals, aborts, queries), a context dying
 * with locks held and requests queued, and pool close with lock requests still waiting;
 * and messaging between contexts: BroadcastChannel posts through the pool's registry from
 * both runtimes while subscribers come and go, and workers spawned, messaged and
 * terminated across runtimes; contexts created from several threads at once, taking
 * spare globals the runtimes refill while idle (and switch when the groups asked for
 * change), some freed the moment they exist. */
#include <jspool.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CALLER_THREADS = 16, CALLS_PER_THREAD = 300, CONTEXTS = 12 };
enum { LOCKER_THREADS = 6, LOCK_CALLS_PER_THREAD = 120, LOCK_CONTEXTS = 6 };

static jsp_context *contexts[CONTEXTS];
static jsp_context *contexts_messaging[4];
static atomic_int failures;
static atomic_int messages_seen;
static atomic_int async_outstanding;
static jsp_context *lock_contexts[LOCK_CONTEXTS];
static atomic_int inside_exclusive;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "threads_race: %s: %s\n", what, detail ? detail : "");
    atomic_fetch_add(&failures, 1);
}

static void *answer_from_thread(void *arg)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    jsp_host_call_resolve(arg, "7", 1);
    return NULL;
}

static void seven_later(jsp_host_call *call, void *user)
{
    pthread_t t;
    if (pthread_create(&t, NULL, answer_from_thread, call) != 0) {
        jsp_host_call_resolve(call, "7", 1);
        return;
    }
    pthread_detach(t);
}

/* Called inside the exclusive lock 'X' by contexts on both runtimes: never two at once. */
static void exclusive_enter(jsp_host_call *call, void *user)
{
    if (atomic_fetch_add(&inside_exclusive, 1) != 0)
        fail("locks", "two holders of an exclusive lock");
    jsp_host_call_resolve(call, NULL, 0);
}

static void exclusive_leave(jsp_host_call *call, void *user)
{
    atomic_fetch_sub(&inside_exclusive, 1);
    jsp_host_call_resolve(call, NULL, 0);
}

static const char *const lock_sources[] = {
    "navigator.locks.request('X', async () => { host.callSync('enter');"
    " await new Promise((r) => setTimeout(r, 0)); host.callSync('leave'); return 1; })",
    "navigator.locks.request('S', {mode: 'shared'}, async () => { await null; return 2; })",
    "navigator.locks.request('S', {ifAvailable: true}, (l) => 3)",
    "navigator.locks.request('S', {steal: true}, () => 4)",
    "navigator.locks.query().then((q) => q.held.length + q.pending.length >= 0 ? 5 : 0)",
    "(() => { const c = new AbortController(); const p = navigator.locks.request('S', {signal: c.signal},"
    " () => 6).catch(() => 6); c.abort(); return p; })()",
};

static void *locker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < LOCK_CALLS_PER_THREAD; i++) {
        jsp_context *ctx = lock_contexts[rand_r(&seed) % LOCK_CONTEXTS];
        size_t which = (size_t)rand_r(&seed) % (sizeof(lock_sources) / sizeof(lock_sources[0]));
        jsp_result *r = NULL;
        jsp_eval(ctx, lock_sources[which], -1, &r);
        /* a steal rejects the robbed request with AbortError: an accepted outcome */
        if (r->code != 0 && r->code != JSP_EDESTROYED &&
            !(r->code == JSP_EJS && strcmp(r->error_name, "AbortError") == 0))
            fail("lock call", r->error_message);
        jsp_result_free(r);
    }
    return NULL;
}

static void on_message(jsp_pool *pool, uint64_t id, const char *json, size_t len, void *user)
{
    atomic_fetch_add(&messages_seen, 1);
}

static void on_async(jsp_result *r, void *user)
{
    if (r->code != 0 && r->code != JSP_EDESTROYED && r->code != JSP_ECLOSED)
        fail("async call", r->error_message);
    jsp_result_free(r);
    atomic_fetch_sub(&async_outstanding, 1);
}

static void *caller(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        jsp_context *ctx = contexts[rand_r(&seed) % CONTEXTS];
        jsp_result *r = NULL;
        switch (i % 4) {
        case 0:
            jsp_call(ctx, "bump", "[1]", -1, &r);
            break;
        case 1:
            jsp_eval(ctx, "host.callSync('seven') + 1", -1, &r);
            if (r->code == 0 && strcmp(r->json, "8") != 0)
                fail("callSync", r->json);
            break;
        case 2:
            jsp_eval(ctx, "host.call('seven').then(v => v * 2)", -1, &r);
            if (r->code == 0 && strcmp(r->json, "14") != 0)
                fail("call", r->json);
            break;
        default:
            jsp_send(ctx, "{\"ping\":true}", -1);
            atomic_fetch_add(&async_outstanding, 1);
            if (jsp_call_async(ctx, "bump", "[2]", -1, on_async, NULL) != 0)
                atomic_fetch_sub(&async_outstanding, 1);
            continue;
        }
        if (r->code != 0 && r->code != JSP_EDESTROYED)
            fail("sync call", r->error_message);
        jsp_result_free(r);
    }
    return NULL;
}

static const char *setup_source =
    "var n = 0; function bump(k) { n += k; return n; }"
    "onmessage = (e) => host.send(e.data); setInterval(() => {}, 1); 0";

/* BroadcastChannel and Worker traffic between runtimes, with subscribers destroyed and
 * workers terminated while messages are in flight; the pool then closes with some of both
 * still open. */
static const char *messaging_source =
    "var got = 0; const room = new BroadcastChannel('room'); room.onmessage = () => got++;"
    "var workers = []; for (let i = 0; i < 3; i++) { const w = new Worker("
    "  'onmessage = (e) => postMessage(e.data); new BroadcastChannel(\"room\").postMessage(1)');"
    "  w.onmessage = () => got++; workers.push(w); }"
    "function storm(n) { for (let i = 0; i < n; i++) { room.postMessage({ i }); workers[i % 3].postMessage(i); } return got; }"
    "0";

/* Reads CPU stats and the worker list from another thread while runtimes write them. */
static atomic_bool is_polling;

static void *poll_stats(void *arg)
{
    jsp_pool *pool = arg;
    jsp_worker_info info[8];
    while (atomic_load(&is_polling)) {
        jsp_pool_workers(pool, info, 8);
        jsp_cpu_usage cpu;
        for (int i = 2; i < CONTEXTS; i++)
            jsp_context_cpu(contexts[i], &cpu);
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* A loop without limits, destroyed from this thread while it runs (the watchdog's cancel
 * flag), next to a sibling's calls on the same runtime. */
static void destroy_running_loop(jsp_pool *pool)
{
    jsp_context_config cfg = {.runtime = 1, .cpu_limit_ms = -1, .wall_limit_ms = -1};
    jsp_context *loop = NULL;
    if (jsp_context_new(pool, &cfg, &loop) != 0) {
        fail("loop setup", "");
        return;
    }
    atomic_fetch_add(&async_outstanding, 1);
    if (jsp_eval_async(loop, "for(;;);", -1, on_async, NULL) != 0)
        atomic_fetch_sub(&async_outstanding, 1);
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    jsp_context_free(loop);
}

static void messaging_phase(jsp_pool *pool)
{
    enum { MESSAGING_CONTEXTS = 6 };
    jsp_context *ctxs[MESSAGING_CONTEXTS];
    jsp_context_config cfg = {.apis = "worker", .namespace_name = "race"}; /* posts cross runtimes */
    for (int i = 0; i < MESSAGING_CONTEXTS; i++) {
        jsp_result *r;
        cfg.runtime = i % 2 + 1;
        if (jsp_context_new(pool, &cfg, &ctxs[i]) != 0 || jsp_eval(ctxs[i], messaging_source, -1, &r) != 0) {
            fail("messaging setup", "");
            return;
        }
        jsp_result_free(r);
    }
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < MESSAGING_CONTEXTS; i++) {
            atomic_fetch_add(&async_outstanding, 1);
            if (jsp_call_async(ctxs[i], "storm", "[20]", -1, on_async, NULL) != 0)
                atomic_fetch_sub(&async_outstanding, 1);
            if (round == 10 && i < 2) /* subscribers and worker parents die mid-traffic */
                jsp_context_destroy(ctxs[i]);
            if (round == 12 && i == 3) {
                jsp_result *r;
                jsp_eval(ctxs[i], "workers.forEach((w) => w.terminate()); 0", -1, &r);
                jsp_result_free(r);
            }
        }
    for (int i = 0; i < 2; i++)
        jsp_context_free(ctxs[i]);
    for (int i = 2; i < MESSAGING_CONTEXTS; i++)
        contexts_messaging[i - 2] = ctxs[i]; /* released after the pool closes */
}

/* Creators: each makes contexts with short pauses (the runtimes build spares meanwhile),
 * alternating two group sets so the stocks switch, calls each once or frees it at once. */
enum { CREATOR_THREADS = 4, CREATIONS_PER_THREAD = 40 };

static void *creator(void *arg)
{
    jsp_pool *pool = arg;
    for (int i = 0; i < CREATIONS_PER_THREAD; i++) {
        jsp_context_config cfg = {.apis = i % 8 < 6 ? NULL : "none", .cpu_limit_ms = 500};
        jsp_context *ctx;
        int rc = jsp_context_new(pool, &cfg, &ctx);
        if (rc != 0) {
            fail("create", jsp_strerror(rc));
            continue;
        }
        if (i % 3 != 0) {
            jsp_result *r = NULL;
            if (jsp_eval(ctx, "globalThis.mine = (globalThis.mine || 0) + 1; mine", -1, &r) != 0 ||
                strcmp(r->json, "1") != 0)
                fail("fresh global", r ? r->json : NULL);
            jsp_result_free(r);
        }
        jsp_context_free(ctx);
        struct timespec ts = {0, (i % 4) * 300 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void creation_phase(jsp_pool *pool)
{
    pthread_t creators[CREATOR_THREADS];
    for (int i = 0; i < CREATOR_THREADS; i++)
        pthread_create(&creators[i], NULL, creator, pool);
    for (int i = 0; i < CREATOR_THREADS; i++)
        pthread_join(creators[i], NULL);
}

int main(void)
{
    jsp_pool_config cfg = {.threads = 2, .on_message = on_message};
    jsp_pool *pool;
    if (jsp_pool_new(&cfg, &pool) != 0 || jsp_pool_register(pool, "seven", seven_later, NULL) != 0 ||
        jsp_pool_register(pool, "enter", exclusive_enter, NULL) != 0 ||
        jsp_pool_register(pool, "leave", exclusive_leave, NULL) != 0)
        return 2;
    /* one namespace: the lock traffic is meant to cross runtimes */
    jsp_context_config lock_cfg = {.apis = "locks,timers", .namespace_name = "race"};
    for (int i = 0; i < LOCK_CONTEXTS; i++)
        if (jsp_context_new(pool, &lock_cfg, &lock_contexts[i]) != 0)
            return 2;
    for (int i = 0; i < CONTEXTS; i++) {
        jsp_result *r;
        if (jsp_context_new(pool, NULL, &contexts[i]) != 0 ||
            jsp_eval(contexts[i], setup_source, -1, &r) != 0)
            return 2;
        jsp_result_free(r);
    }
    pthread_t threads[CALLER_THREADS], lockers[LOCKER_THREADS];
    for (int i = 0; i < CALLER_THREADS; i++)
        pthread_create(&threads[i], NULL, caller, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < LOCKER_THREADS; i++)
        pthread_create(&lockers[i], NULL, locker, (void *)(uintptr_t)(i + 100));
    /* Destroy two contexts while callers are hitting them; their calls then fail
     * with JSP_EDESTROYED, which the callers accept. */
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    jsp_context_destroy(contexts[0]);
    jsp_context_destroy(contexts[1]);
    jsp_context_destroy(lock_contexts[0]); /* with locks held and requests queued, likely */
    for (int i = 0; i < CALLER_THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_t poller;
    atomic_store(&is_polling, true);
    pthread_create(&poller, NULL, poll_stats, pool);
    destroy_running_loop(pool);
    messaging_phase(pool);
    creation_phase(pool);
    atomic_store(&is_polling, false);
    pthread_join(poller, NULL);
    for (int i = 0; i < LOCKER_THREADS; i++)
        pthread_join(lockers[i], NULL);
    /* Close with a lock held forever and requests waiting on it, on both runtimes. */
    jsp_result *r;
    if (jsp_eval(lock_contexts[1], "navigator.locks.request('forever', () => new Promise(() => {})); 0", -1, &r) != 0)
        fail("lock hold", r->error_message);
    jsp_result_free(r);
    for (int i = 2; i < LOCK_CONTEXTS; i++) {
        atomic_fetch_add(&async_outstanding, 1);
        if (jsp_eval_async(lock_contexts[i], "navigator.locks.request('forever', () => 0)", -1, on_async, NULL) != 0)
            atomic_fetch_sub(&async_outstanding, 1);
    }
    /* Close with async calls and interval timers still in flight. */
    for (int i = 2; i < CONTEXTS; i++) {
        atomic_fetch_add(&async_outstanding, 1);
        if (jsp_call_async(contexts[i], "bump", "[1]", -1, on_async, NULL) != 0)
            atomic_fetch_sub(&async_outstanding, 1);
    }
    jsp_pool_free(pool);
    for (int i = 0; i < CONTEXTS; i++)
        jsp_context_free(contexts[i]);
    for (int i = 0; i < 4; i++)
        jsp_context_free(contexts_messaging[i]);
    for (int i = 0; i < LOCK_CONTEXTS; i++)
        jsp_context_free(lock_contexts[i]);
    if (atomic_load(&async_outstanding) != 0)
        fail("shutdown", "an async call never completed");
    printf("threads_race: %d failures, %d messages\n", atomic_load(&failures),
           atomic_load(&messages_seen));
    return atomic_load(&failures) ? 1 : 0;
}
