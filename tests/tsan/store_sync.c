/* store_sync.c — the store's commit path across threads, for ThreadSanitizer: a store with
 * background_sync commits batches on this thread while its sync thread fsyncs them and
 * wakes us (as a runtime's uv_async would); completions run here in store_poll. Checks
 * that every call is acknowledged exactly once and the sum invariant holds. A plain
 * program (Criterion cannot start under TSan); CI runs it in the -DJSP_SANITIZE=thread
 * build, where any report fails the run. */
#include <pthread.h>
#include <stdatomic.h>

#include "store/bank.h"

enum { ACCOUNTS = 1000, TRANSFERS = 20000 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t woken = PTHREAD_COND_INITIALIZER;
static int wake_pending;
static atomic_int wakes;
static int acked, failed;

static void on_wake(void *user)
{
    atomic_fetch_add(&wakes, 1);
    pthread_mutex_lock(&mu);
    wake_pending = 1;
    pthread_cond_signal(&woken);
    pthread_mutex_unlock(&mu);
}

static void on_done(void *user, const store_error *err)
{
    if (err->code)
        failed++;
    else
        acked++;
}

int main(void)
{
    char dir[64], path[128];
    bank_scratch(dir, sizeof(dir), path, sizeof(path), "tsan.db");
    store *s;
    store_error err;
    store_config cfg = {.background_sync = true, .wake = on_wake, .max_batch_calls = 64};
    if (store_open(path, &cfg, &s, &err) || store_declare(s, BANK_DECL, strlen(BANK_DECL)) ||
        bank_seed(s, ACCOUNTS, 1000)) {
        fprintf(stderr, "setup: %s\n", s ? store_last_error(s)->message : err.message);
        return 1;
    }
    store_poll(s, true);
    acked = failed = 0;
    unsigned seed = 7;
    for (int i = 0; i < TRANSFERS; i++) {
        int src = rand_r(&seed) % ACCOUNTS, dst = (src + 1 + rand_r(&seed) % (ACCOUNTS - 1)) % ACCOUNTS;
        int rc = store_call_begin(s);
        if (!rc)
            rc = bank_transfer(s, 0, src, dst, 1, NULL);
        store_call_end(s, rc == 0, on_done, NULL, NULL);
        /* Every 1000 calls, block until the sync thread wakes us, as an idle loop would. */
        if (i % 1000 == 999) {
            store_flush(s);
            pthread_mutex_lock(&mu);
            while (!wake_pending)
                pthread_cond_wait(&woken, &mu);
            wake_pending = 0;
            pthread_mutex_unlock(&mu);
        }
        store_poll(s, false);
    }
    store_flush(s);
    store_poll(s, true);
    int rc = store_call_begin(s);
    bool replay_ok;
    long long sum = rc ? -1 : bank_audit(s, ACCOUNTS, 1000, &replay_ok);
    store_call_end(s, true, NULL, NULL, NULL);
    store_close(s);
    bank_scratch_remove(dir);
    printf("store_sync: %d acknowledged, %d failed, %d wakes, sum %lld\n", acked, failed,
           atomic_load(&wakes), sum);
    return acked == TRANSFERS && failed == 0 && sum == (long long)ACCOUNTS * 1000 ? 0 : 1;
}
