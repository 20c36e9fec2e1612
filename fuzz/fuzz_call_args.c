/* fuzz_call_args — what a client sends as text to a context through the server: the body
 * of POST /v1/contexts/{id}/call/{fn} (jsp_call's JSON argument array) and of POST
 * .../messages and every WebSocket text message (jsp_send), through the public API into a
 * real context. The first input byte picks the path.
 * Oracle, against jansson's reading of the same bytes: the API refuses exactly the inputs
 * that are not UTF-8 or not JSON (an array of at most 64 values for a call); what it
 * accepts arrives intact — `echo(...args)` returns the same array and `onmessage` sends
 * back the same value (numbers compared as doubles, as JavaScript has only those). */
#include "jspool.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include "fuzz_support.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static jsp_pool *pool;
static jsp_context *ctx;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived = PTHREAD_COND_INITIALIZER;
static char *last_message;
static size_t messages;

static void on_message(jsp_pool *p, uint64_t context_id, const char *json, size_t len, void *user)
{
    pthread_mutex_lock(&mutex);
    free(last_message);
    last_message = strndup(json, len);
    messages++;
    pthread_cond_signal(&arrived);
    pthread_mutex_unlock(&mutex);
}

static void quiet_log(int level, uint64_t context_id, const char *message, void *user)
{
}

static void start(void)
{
    jsp_pool_config cfg = {.threads = 1, .on_message = on_message, .log = quiet_log};
    CHECK(jsp_pool_new(&cfg, &pool) == 0);
    CHECK(jsp_context_new(pool, NULL, &ctx) == 0);
    jsp_result *r = NULL;
    CHECK(jsp_eval(ctx, "function echo(...args) { return args }\n"
                        "globalThis.onmessage = (event) => host.send(event.data);\n0", -1, &r) == 0);
    jsp_result_free(r);
}

/* Equal as JavaScript sees JSON: numbers by value. */
static bool same_value(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_value(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *key;
        json_t *v;
        json_object_foreach(a, key, v) {
            json_t *w = json_object_get(b, key);
            if (!w || !same_value(v, w))
                return false;
        }
        return true;
    }
    return json_equal(a, b);
}

static bool is_blank(const char *s, size_t len)
{
    return strspn(s, " \t\r\n") >= len;
}

static void wait_for_message(size_t count)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&mutex);
    while (messages < count)
        CHECK(pthread_cond_timedwait(&arrived, &mutex, &deadline) == 0);
    pthread_mutex_unlock(&mutex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 65536)
        return 0;
    if (!pool)
        start();
    bool is_call = data[0] & 1;
    size_t len = size - 1;
    char *text = malloc(len + 1);
    CHECK(text);
    memcpy(text, data + 1, len);
    text[len] = '\0';
    json_error_t error;
    json_t *input = json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);
    /* Where jansson is stricter than the JSON grammar (lone surrogates, numbers out of its
     * range) or the library on purpose (depth > 512), only the kind of answer is checked. */
    bool undecided = !input && jansson_is_stricter(error.text);
    undecided = undecided || json_text_depth(text, len) > 512;
    /* jansson stops reading at a NUL byte; a raw NUL is never valid JSON. */
    if (memchr(text, '\0', len)) {
        json_decref(input);
        input = NULL;
        undecided = false;
    }
    if (is_call) {
        jsp_result *r = NULL;
        int rc = jsp_call(ctx, "echo", text, (long)len, &r);
        if (undecided) {
            CHECK(rc == 0 || rc == JSP_EJSON || rc == JSP_EUTF8 || rc == JSP_EINVAL);
        } else if (is_blank(text, len)) {
            CHECK(rc == 0 && strcmp(r->json, "[]") == 0); /* no arguments */
        } else if (!input || !json_is_array(input)) {
            CHECK(rc == JSP_EJSON || rc == JSP_EUTF8);
        } else if (json_array_size(input) > 64) {
            CHECK(rc == JSP_EINVAL);
        } else {
            CHECK(rc == 0);
            json_t *output = json_loads(r->json, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
            CHECK(output && same_value(input, output));
            json_decref(output);
        }
        jsp_result_free(r);
    } else {
        pthread_mutex_lock(&mutex);
        size_t before = messages;
        pthread_mutex_unlock(&mutex);
        int rc = jsp_send(ctx, text, (long)len);
        if (undecided)
            CHECK(rc == 0 || rc == JSP_EJSON || rc == JSP_EUTF8);
        else
            CHECK(input ? rc == 0 : (rc == JSP_EJSON || rc == JSP_EUTF8));
        if (rc == 0) {
            wait_for_message(before + 1);
            if (input) {
                pthread_mutex_lock(&mutex);
                json_t *output = json_loads(last_message, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
                pthread_mutex_unlock(&mutex);
                CHECK(output && same_value(input, output));
                json_decref(output);
            }
        }
    }
    json_decref(input);
    free(text);
    return 0;
}
