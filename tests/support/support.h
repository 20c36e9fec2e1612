/* support.h — helpers shared by the Criterion suites: a pool per test, sync-call
 * shorthands that assert success, and a thread-safe message/log collector. */
#ifndef JSP_TEST_SUPPORT_H
#define JSP_TEST_SUPPORT_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jspool.h"

/* Collects host.send() messages and log lines; any thread. */
typedef struct collector {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    size_t count;
    size_t capacity;
    uint64_t *context_ids;
    char **texts;
    int *levels;
} collector;

void collector_init(collector *c);
void collector_free(collector *c);
void collector_add(collector *c, uint64_t context_id, int level, const char *text, size_t len);
/* Waits up to timeout_ms for at least n entries; returns the count reached. */
size_t collector_wait(collector *c, size_t n, int timeout_ms);
/* True when some entry contains needle. */
bool collector_has(collector *c, const char *needle);
/* Waits up to timeout_ms for an entry containing needle; true when one came. For entries
 * other threads add on their own time (a timer's log line): no fixed sleep to guess. */
bool collector_wait_for(collector *c, const char *needle, int timeout_ms);

/* Pool callbacks that feed a collector passed as user data. */
void collect_message(jsp_pool *pool, uint64_t context_id, const char *json, size_t len, void *user);
void collect_log(int level, uint64_t context_id, const char *message, void *user);

/* A pool with `threads` runtimes whose messages and logs go to *messages / *logs (either
 * may be NULL). */
jsp_pool *pool_for_test(int threads, collector *messages, collector *logs);

/* A suite's fixture: gives the including file `static jsp_pool *pool` and `static
 * collector messages, logs`, and suite_pool_setup / suite_pool_teardown, which make a
 * fresh pool of `threads` runtimes for each test (its host.send messages and log lines
 * collected) and free it after. Use them as the TestSuite's .init / .fini, or call them
 * first / last from the suite's own. */
#define SUITE_POOL(threads)                                                                 \
    static jsp_pool *pool;                                                                  \
    static collector messages, logs;                                                        \
    static void suite_pool_setup(void)                                                      \
    {                                                                                       \
        collector_init(&messages);                                                          \
        collector_init(&logs);                                                              \
        pool = pool_for_test((threads), &messages, &logs);                                  \
    }                                                                                       \
    static void suite_pool_teardown(void)                                                   \
    {                                                                                       \
        jsp_pool_free(pool);                                                                \
        pool = NULL;                                                                        \
        collector_free(&messages);                                                          \
        collector_free(&logs);                                                              \
    }

jsp_context *context_for_test(jsp_pool *pool);
/* A context made with cfg (NULL: the defaults), asserting that it was made and, when
 * cfg->runtime is set, that it is on that runtime. */
jsp_context *context_with(jsp_pool *pool, const jsp_context_config *cfg);
/* A context on runtime runtime_index (0-based), asserting it landed there. */
jsp_context *pinned_context(jsp_pool *pool, int runtime_index);

/* Evaluates and asserts success; returns the JSON (caller frees). */
char *eval_ok(jsp_context *ctx, const char *source);
/* Evaluates, asserts success, and expects (cr_expect: the test goes on) the JSON to be json. */
void expect_eval(jsp_context *ctx, const char *source, const char *json);
/* Calls and asserts success; returns the JSON (caller frees). */
char *call_ok(jsp_context *ctx, const char *fn, const char *args);
/* Evaluates and returns the error code, asserting it is an error; optionally the result. */
int eval_error(jsp_context *ctx, const char *source, jsp_result **out);

void sleep_ms(int ms);
/* A whole file, NUL-terminated (malloc'd; NULL when unreadable); its length in *len
 * when len is not NULL (the file may hold NULs). */
char *read_file(const char *path, size_t *len);
/* len bytes of text as a JSON string literal, control bytes and NULs escaped (malloc'd). */
char *json_quote(const char *text, size_t len);
/* Polls `expression` in ctx (eval_ok every 5 ms) until its JSON is `json`; false when
 * timeout_ms passed first. For effects that arrive from other threads on their own time. */
bool eval_until(jsp_context *ctx, const char *expression, const char *json, int timeout_ms);

/* A count of completions other threads report and the test thread waits for. */
typedef struct tally {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    int done;
} tally;

void tally_init(tally *t);
void tally_bump(tally *t);
/* Waits up to timeout_ms for done >= n; returns done. */
int tally_wait(tally *t, int n, int timeout_ms);
void tally_destroy(tally *t);

/* An async eval left running (waiting on a lock, a host call...) while the test does
 * other things. */
typedef struct later_eval {
    tally done;
    jsp_result *result;
} later_eval;

/* Starts it (asserting it was queued); free with later_free once done. */
later_eval *eval_later(jsp_context *ctx, const char *source);
/* Waits up to wait_ms for its result. */
bool later_is_done(later_eval *later, int wait_ms);
void later_free(later_eval *later);

/* A temporary directory for a store file: dir made by mkdtemp (/tmp/jsp_<tag>_XXXXXX),
 * path = dir/ctx.jspdb. temp_store_remove deletes the file, its -wal/-shm/-journal and the
 * directory. */
typedef struct temp_store {
    char dir[64];
    char path[128];
} temp_store;
void temp_store_make(temp_store *t, const char *tag);
void temp_store_remove(temp_store *t);

/* Calls fn and returns its code (0 on success); message (may be NULL) gets "ok: <json>" or
 * "<error name>: <message>". */
int call_code(jsp_context *ctx, const char *fn, const char *args, char *message, size_t len);

/* Starts argv (a test server printing its port on its first line, its stderr to
 * /dev/null); *port gets the port. The caller kills and reaps the pid. */
pid_t spawn_server(char *const argv[], int *port);

/* A self-signed certificate for 127.0.0.1 (IP SAN) made by `openssl` in a fresh temporary
 * directory: false (nothing made) when openssl is missing; asserts it works otherwise. */
typedef struct test_cert {
    char dir[64], key[96], cert[96];
} test_cert;
bool test_cert_make(test_cert *tc);
void test_cert_remove(test_cert *tc);

/* A one-runtime pool whose heap policy recycles its VM within a few thousand small evals
 * (heap_limit_bytes 1), logs to *logs; and the loop that forces a recycle of ctx's VM
 * through evals in other (asserts it happened). */
jsp_pool *recycling_pool(collector *logs);
void force_recycle(jsp_context *ctx, jsp_context *other);

#endif
