/* store_calls.c — the store's cross-thread paths through the public API, for
 * ThreadSanitizer (see threads_race.c for why this is not a Criterion suite): calls from
 * many threads into store contexts on both runtimes, results delivered from the sync
 * thread's wake-up, calls that await a host call answered on another thread (holding the
 * store while the next calls wait), outside reads, and the pool closed with calls in
 * flight. Checks the bank's sum at the end; any TSan report fails the run. */
#include <jspool.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CALLER_THREADS = 6, CALLS_PER_THREAD = 400, CONTEXTS = 2, ACCOUNTS = 20 };

static jsp_context *contexts[CONTEXTS];
static atomic_int failures, outstanding;

static void *answer_from_thread(void *arg)
{
    usleep(100);
    jsp_host_call_resolve(arg, "1", 1);
    return NULL;
}

static void one_later(jsp_host_call *call, void *user)
{
    (void)user;
    pthread_t t;
    if (pthread_create(&t, NULL, answer_from_thread, call) != 0) {
        jsp_host_call_resolve(call, "1", 1);
        return;
    }
    pthread_detach(t);
}

static void done(jsp_result *r, void *user)
{
    (void)user;
    if (r->code != 0 && r->code != JSP_ECLOSED && r->code != JSP_EDESTROYED && r->code != JSP_EBUSY) {
        fprintf(stderr, "store_calls: call failed: %s %s\n", r->error_name, r->error_message);
        atomic_fetch_add(&failures, 1);
    }
    jsp_result_free(r);
    atomic_fetch_sub(&outstanding, 1);
}

static const char bank[] =
    "db.declare({acct: {columns: {id: 'integer', balance: 'integer'}, primaryKey: 'id'}});\n"
    "for (let i = 0; i < 20; i++) if (!db.acct.get(i)) db.acct.insert({id: i, balance: 100});\n"
    "export function transfer(a, b) { const x = db.acct.get(a), y = db.acct.get(b);\n"
    "  x.balance -= 1; y.balance += 1; db.acct.update(x); db.acct.update(y); return x.balance; }\n"
    "export async function slowTransfer(a, b) { const x = db.acct.get(a); await host.call('one');\n"
    "  const y = db.acct.get(b); x.balance -= 1; y.balance += 1; db.acct.update(x); db.acct.update(y);\n"
    "  return x.balance; }\n"
    "export function audit() { let s = 0; for (const r of db.acct.scan()) s += r.balance; return s; }\n";

static void *caller(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        jsp_context *ctx = contexts[rand_r(&seed) % CONTEXTS];
        int a = rand_r(&seed) % ACCOUNTS, b = (a + 1 + rand_r(&seed) % (ACCOUNTS - 1)) % ACCOUNTS;
        char args[32];
        snprintf(args, sizeof(args), "[%d,%d]", a, b);
        if (i % 50 == 0) {
            jsp_result *r = NULL;
            jsp_store_rows(ctx, "acct", NULL, 5, &r);
            jsp_result_free(r);
        }
        atomic_fetch_add(&outstanding, 1);
        if (jsp_call_async(ctx, i % 10 == 0 ? "slowTransfer" : "transfer", args, -1, done, NULL) != 0)
            atomic_fetch_sub(&outstanding, 1);
    }
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/jsp_tsan_store_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    jsp_pool_config cfg = {.threads = 2};
    jsp_pool *pool = NULL;
    if (jsp_pool_new(&cfg, &pool) != 0 || jsp_pool_register(pool, "one", one_later, NULL) != 0)
        return 1;
    char paths[CONTEXTS][64];
    for (int i = 0; i < CONTEXTS; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/c%d.jspdb", dir, i);
        jsp_context_config cc = {.store_path = paths[i], .runtime = i + 1, .wall_limit_ms = 20000};
        jsp_result *r = NULL;
        if (jsp_context_new(pool, &cc, &contexts[i]) != 0 || jsp_load_module(contexts[i], bank, -1, &r) != 0) {
            fprintf(stderr, "store_calls: set-up failed: %s\n", r ? r->error_message : "");
            return 1;
        }
        jsp_result_free(r);
    }
    pthread_t threads[CALLER_THREADS];
    for (int i = 0; i < CALLER_THREADS; i++)
        pthread_create(&threads[i], NULL, caller, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < CALLER_THREADS; i++)
        pthread_join(threads[i], NULL);
    for (int waited = 0; atomic_load(&outstanding) > 0 && waited < 60000; waited++)
        usleep(1000);
    for (int i = 0; i < CONTEXTS; i++) {
        jsp_result *r = NULL;
        if (jsp_call(contexts[i], "audit", "[]", -1, &r) != 0 || strcmp(r->json, "2000") != 0) {
            fprintf(stderr, "store_calls: audit of context %d: %s\n", i, r->json ? r->json : r->error_message);
            atomic_fetch_add(&failures, 1);
        }
        jsp_result_free(r);
    }
    /* the pool closes with calls in flight */
    for (int i = 0; i < 200; i++) {
        atomic_fetch_add(&outstanding, 1);
        if (jsp_call_async(contexts[i % CONTEXTS], "slowTransfer", "[1,2]", -1, done, NULL) != 0)
            atomic_fetch_sub(&outstanding, 1);
    }
    for (int i = 0; i < CONTEXTS; i++)
        jsp_context_free(contexts[i]);
    jsp_pool_free(pool);
    for (int i = 0; i < CONTEXTS; i++) {
        char file[80];
        snprintf(file, sizeof(file), "%s-wal", paths[i]);
        unlink(file);
        unlink(paths[i]);
    }
    rmdir(dir);
    if (atomic_load(&outstanding) != 0) {
        fprintf(stderr, "store_calls: %d calls never completed\n", atomic_load(&outstanding));
        return 1;
    }
    printf("store_calls: %d failures\n", atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
