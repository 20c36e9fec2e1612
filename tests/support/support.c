/* support.c — see support.h. */
#include "support/support.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>

void collector_init(collector *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mutex, NULL);
    pthread_cond_init(&c->changed, NULL);
}

void collector_free(collector *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->texts[i]);
    free(c->texts);
    free(c->context_ids);
    free(c->levels);
    pthread_mutex_destroy(&c->mutex);
    pthread_cond_destroy(&c->changed);
}

void collector_add(collector *c, uint64_t context_id, int level, const char *text, size_t len)
{
    pthread_mutex_lock(&c->mutex);
    if (c->count == c->capacity) {
        c->capacity = c->capacity ? c->capacity * 2 : 64;
        c->texts = realloc(c->texts, c->capacity * sizeof(char *));
        c->context_ids = realloc(c->context_ids, c->capacity * sizeof(uint64_t));
        c->levels = realloc(c->levels, c->capacity * sizeof(int));
    }
    c->texts[c->count] = strndup(text, len);
    c->context_ids[c->count] = context_id;
    c->levels[c->count] = level;
    c->count++;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->mutex);
}

/* The CLOCK_REALTIME instant timeout_ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

size_t collector_wait(collector *c, size_t n, int timeout_ms)
{
    struct timespec deadline = deadline_in(timeout_ms);
    pthread_mutex_lock(&c->mutex);
    while (c->count < n)
        if (pthread_cond_timedwait(&c->changed, &c->mutex, &deadline) != 0)
            break;
    size_t count = c->count;
    pthread_mutex_unlock(&c->mutex);
    return count;
}

bool collector_has(collector *c, const char *needle)
{
    pthread_mutex_lock(&c->mutex);
    bool found = false;
    for (size_t i = 0; i < c->count && !found; i++)
        found = strstr(c->texts[i], needle) != NULL;
    pthread_mutex_unlock(&c->mutex);
    return found;
}

bool collector_wait_for(collector *c, const char *needle, int timeout_ms)
{
    struct timespec deadline = deadline_in(timeout_ms);
    pthread_mutex_lock(&c->mutex);
    bool found = false, timed_out = false;
    for (size_t seen = 0; !found && !timed_out;) {
        for (; seen < c->count && !found; seen++)
            found = strstr(c->texts[seen], needle) != NULL;
        if (!found)
            timed_out = pthread_cond_timedwait(&c->changed, &c->mutex, &deadline) != 0;
    }
    for (size_t i = 0; i < c->count && !found; i++) /* one that came with the timeout */
        found = strstr(c->texts[i], needle) != NULL;
    pthread_mutex_unlock(&c->mutex);
    return found;
}

void collect_message(jsp_pool *pool, uint64_t context_id, const char *json, size_t len, void *user)
{
    collector_add(user, context_id, 0, json, len);
}

void collect_log(int level, uint64_t context_id, const char *message, void *user)
{
    collector_add(user, context_id, level, message, strlen(message));
}

jsp_pool *pool_for_test(int threads, collector *messages, collector *logs)
{
    jsp_pool_config cfg = {.threads = threads};
    if (messages) {
        cfg.on_message = collect_message;
        cfg.message_user = messages;
    }
    if (logs) {
        cfg.log = collect_log;
        cfg.log_user = logs;
    }
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &pool), 0);
    return pool;
}

jsp_context *context_for_test(jsp_pool *pool)
{
    jsp_context *ctx = NULL;
    cr_assert_eq(jsp_context_new(pool, NULL, &ctx), 0);
    return ctx;
}

char *eval_ok(jsp_context *ctx, const char *source)
{
    jsp_result *r = NULL;
    int rc = jsp_eval(ctx, source, -1, &r);
    cr_assert_eq(rc, 0, "eval of `%s` failed: %s: %s", source, r->error_name, r->error_message);
    char *json = strdup(r->json);
    jsp_result_free(r);
    return json;
}

void expect_eval(jsp_context *ctx, const char *source, const char *json)
{
    char *got = eval_ok(ctx, source);
    cr_expect_str_eq(got, json, "%s\n  gave %s", source, got);
    free(got);
}

char *call_ok(jsp_context *ctx, const char *fn, const char *args)
{
    jsp_result *r = NULL;
    int rc = jsp_call(ctx, fn, args, -1, &r);
    cr_assert_eq(rc, 0, "call %s(%s) failed: %s: %s", fn, args ? args : "", r->error_name,
                 r->error_message);
    char *json = strdup(r->json);
    jsp_result_free(r);
    return json;
}

int eval_error(jsp_context *ctx, const char *source, jsp_result **out)
{
    jsp_result *r = NULL;
    int rc = jsp_eval(ctx, source, -1, &r);
    cr_assert_neq(rc, 0, "eval of `%s` unexpectedly succeeded with %s", source, r->json);
    cr_assert_eq(rc, r->code);
    if (out)
        *out = r;
    else
        jsp_result_free(r);
    return rc;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool eval_until(jsp_context *ctx, const char *expression, const char *json, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 5) {
        char *got = eval_ok(ctx, expression);
        bool is_equal = strcmp(got, json) == 0;
        free(got);
        if (is_equal)
            return true;
        sleep_ms(5);
    }
    return false;
}

void tally_init(tally *t)
{
    pthread_mutex_init(&t->mutex, NULL);
    pthread_cond_init(&t->changed, NULL);
    t->done = 0;
}

void tally_bump(tally *t)
{
    pthread_mutex_lock(&t->mutex);
    t->done++;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->mutex);
}

int tally_wait(tally *t, int n, int timeout_ms)
{
    struct timespec deadline = deadline_in(timeout_ms);
    pthread_mutex_lock(&t->mutex);
    while (t->done < n)
        if (pthread_cond_timedwait(&t->changed, &t->mutex, &deadline) != 0)
            break;
    int done = t->done;
    pthread_mutex_unlock(&t->mutex);
    return done;
}

void tally_destroy(tally *t)
{
    pthread_mutex_destroy(&t->mutex);
    pthread_cond_destroy(&t->changed);
}

jsp_context *context_with(jsp_pool *pool, const jsp_context_config *cfg)
{
    jsp_context *ctx = NULL;
    int rc = jsp_context_new(pool, cfg, &ctx);
    cr_assert_eq(rc, 0, "jsp_context_new failed: %s (apis \"%s\")", jsp_strerror(rc),
                 cfg && cfg->apis ? cfg->apis : "");
    if (cfg && cfg->runtime)
        cr_assert_eq(jsp_context_runtime(ctx), cfg->runtime - 1, "the context is not on runtime %d",
                     cfg->runtime - 1);
    return ctx;
}

jsp_context *pinned_context(jsp_pool *pool, int runtime_index)
{
    jsp_context_config cfg = {.runtime = runtime_index + 1};
    return context_with(pool, &cfg);
}

static void on_later_done(jsp_result *result, void *user)
{
    later_eval *later = user;
    later->result = result;
    tally_bump(&later->done);
}

later_eval *eval_later(jsp_context *ctx, const char *source)
{
    later_eval *later = calloc(1, sizeof(*later));
    cr_assert_not_null(later);
    tally_init(&later->done);
    cr_assert_eq(jsp_eval_async(ctx, source, -1, on_later_done, later), 0);
    return later;
}

bool later_is_done(later_eval *later, int wait_ms)
{
    return tally_wait(&later->done, 1, wait_ms) >= 1;
}

void later_free(later_eval *later)
{
    jsp_result_free(later->result);
    tally_destroy(&later->done);
    free(later);
}

void temp_store_make(temp_store *t, const char *tag)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/jsp_%.20s_XXXXXX", tag);
    cr_assert_not_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/ctx.jspdb", t->dir);
}

void temp_store_remove(temp_store *t)
{
    char file[160];
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(file, sizeof(file), "%s%s", t->path, suffixes[i]);
        unlink(file);
    }
    rmdir(t->dir);
}

int call_code(jsp_context *ctx, const char *fn, const char *args, char *message, size_t len)
{
    jsp_result *r = NULL;
    int rc = jsp_call(ctx, fn, args, -1, &r);
    if (message)
        snprintf(message, len, "%s: %s", rc ? r->error_name : "ok", rc ? r->error_message : r->json);
    jsp_result_free(r);
    return rc;
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    if (text) {
        text[size] = '\0';
        if (len)
            *len = (size_t)size;
    }
    fclose(f);
    return text;
}

char *json_quote(const char *text, size_t len)
{
    size_t at = 0;
    char *out = malloc(len * 6 + 3);
    if (!out)
        return NULL;
    out[at++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; p < (const unsigned char *)text + len; p++) {
        if (*p == '"' || *p == '\\') {
            out[at++] = '\\';
            out[at++] = (char)*p;
        } else if (*p < 0x20) {
            at += (size_t)sprintf(out + at, "\\u%04x", *p);
        } else {
            out[at++] = (char)*p;
        }
    }
    out[at++] = '"';
    out[at] = '\0';
    return out;
}

pid_t spawn_server(char *const argv[], int *port)
{
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 2); /* its tracebacks for connections the tests cut */
        close(out[0]);
        close(out[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    char line[32] = "";
    FILE *f = fdopen(out[0], "r");
    cr_assert(f && fgets(line, sizeof(line), f), "the test server did not start (%s %s)", argv[0], argv[1]);
    fclose(f);
    *port = atoi(line);
    cr_assert_gt(*port, 0);
    return pid;
}

bool test_cert_make(test_cert *tc)
{
    if (system("command -v openssl >/dev/null") != 0)
        return false;
    snprintf(tc->dir, sizeof(tc->dir), "/tmp/jspool-tls-XXXXXX");
    cr_assert(mkdtemp(tc->dir));
    snprintf(tc->key, sizeof(tc->key), "%s/key.pem", tc->dir);
    snprintf(tc->cert, sizeof(tc->cert), "%s/cert.pem", tc->dir);
    char command[512];
    snprintf(command, sizeof(command),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", tc->key, tc->cert);
    cr_assert_eq(system(command), 0, "openssl could not make a test certificate");
    return true;
}

void test_cert_remove(test_cert *tc)
{
    unlink(tc->key);
    unlink(tc->cert);
    rmdir(tc->dir);
}

jsp_pool *recycling_pool(collector *logs)
{
    jsp_pool_config pc = {.threads = 1, .heap_limit_bytes = 1, .heap_check_request_interval = 20,
                          .log = collect_log, .log_user = logs};
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&pc, &pool), 0);
    return pool;
}

void force_recycle(jsp_context *ctx, jsp_context *other)
{
    uint64_t generation = jsp_context_generation(ctx);
    for (int n = 0; n < 3000 && jsp_context_generation(ctx) == generation; n++)
        free(eval_ok(other, "Array.from({length: 1000}, (_, i) => ({i})).length"));
    cr_assert_gt(jsp_context_generation(ctx), generation, "no recycle");
}
