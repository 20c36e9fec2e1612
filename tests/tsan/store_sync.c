/* store_sync.c — the store's commit path across threads, for ThreadSanitizer: STORES
 * stores with background_sync, each committing batches on its own thread (as runtimes
 * would) while the shared sync workers — fewer than the stores — fsync them and wake
 * their threads; completions run there in store_poll. Two rounds, so the workers stop
 * with the last store and start again. Checks that every call is acknowledged exactly
 * once and each store's sum invariant holds. A plain
 * program (Criterion cannot start under TSan); CI runs it in the -DJSP_SANITIZE=thread
 * build, where any report fails the run. */
#include <pthread.h>
#include <stdatomic.h>

#include "store/bank.h"

enum { ACCOUNTS = 1000, TRANSFERS = 3000, STORES = 6, ROUNDS = 2 };

typedef struct bank_thread {
    pthread_t thread;
    int index, round;
    pthread_mutex_t mu;
    pthread_cond_t woken;
    int wake_pending;
    atomic_int wakes;
    int acked, failed, ok;
} bank_thread;

static void on_wake(void *user)
{
    bank_thread *t = user;
    atomic_fetch_add(&t->wakes, 1);
    pthread_mutex_lock(&t->mu);
    t->wake_pending = 1;
    pthread_cond_signal(&t->woken);
    pthread_mutex_unlock(&t->mu);
}

static void on_done(void *user, const store_error *err)
{
    bank_thread *t = user;
    if (err->code)
        t->failed++;
    else
        t->acked++;
}

static void *run_bank(void *arg)
{
    bank_thread *t = arg;
    char dir[64], path[128], name[32];
    snprintf(name, sizeof(name), "tsan%d.db", t->index);
    bank_scratch(dir, sizeof(dir), path, sizeof(path), name);
    store *s;
    store_error err;
    store_config cfg = {.background_sync = true, .wake = on_wake, .wake_user = t, .max_batch_calls = 64};
    if (store_open(path, &cfg, &s, &err) || store_declare(s, BANK_DECL, strlen(BANK_DECL)) ||
        bank_seed(s, ACCOUNTS, 1000)) {
        fprintf(stderr, "setup: %s\n", s ? store_last_error(s)->message : err.message);
        return NULL;
    }
    store_poll(s, true);
    t->acked = t->failed = 0;
    unsigned seed = 7 + (unsigned)t->index;
    for (int i = 0; i < TRANSFERS; i++) {
        int src = rand_r(&seed) % ACCOUNTS, dst = (src + 1 + rand_r(&seed) % (ACCOUNTS - 1)) % ACCOUNTS;
        int rc = store_call_begin(s);
        if (!rc)
            rc = bank_transfer(s, 0, src, dst, 1, NULL);
        store_call_end(s, rc == 0, on_done, t, NULL);
        /* Every 1000 calls, block until a sync worker wakes us, as an idle loop would. */
        if (i % 1000 == 999) {
            store_flush(s);
            pthread_mutex_lock(&t->mu);
            while (!t->wake_pending)
                pthread_cond_wait(&t->woken, &t->mu);
            t->wake_pending = 0;
            pthread_mutex_unlock(&t->mu);
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
    t->ok = t->acked == TRANSFERS && t->failed == 0 && sum == (long long)ACCOUNTS * 1000;
    printf("store_sync: round %d store %d: %d acknowledged, %d failed, %d wakes, sum %lld\n", t->round,
           t->index, t->acked, t->failed, atomic_load(&t->wakes), sum);
    return NULL;
}

int main(void)
{
    int ok = 1;
    for (int round = 0; round < ROUNDS; round++) {
        bank_thread threads[STORES];
        for (int i = 0; i < STORES; i++) {
            threads[i] = (bank_thread){.index = i, .round = round};
            pthread_mutex_init(&threads[i].mu, NULL);
            pthread_cond_init(&threads[i].woken, NULL);
            pthread_create(&threads[i].thread, NULL, run_bank, &threads[i]);
        }
        for (int i = 0; i < STORES; i++) {
            pthread_join(threads[i].thread, NULL);
            ok &= threads[i].ok;
            pthread_mutex_destroy(&threads[i].mu);
            pthread_cond_destroy(&threads[i].woken);
        }
    }
    return ok ? 0 : 1;
}
