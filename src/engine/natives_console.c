/* natives_console.c — what the console group (console.js) needs from C: a line out to the
 * pool's log callback, and console.time spans, kept here as per-call host state so the
 * call's scope can end the ones a call leaves open (engine_clear_call_spans). Formatting
 * is console.js's job. */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* emit(level, text): level 0 debug, 1 info, 2 warn, 3 error. */
static JSValueRef native_emit(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                              const JSValueRef argv[], JSValueRef *exception)
{
    static const int levels[] = {JSP_LOG_DEBUG, JSP_LOG_INFO, JSP_LOG_WARN, JSP_LOG_ERROR};
    engine_ctx *ec = engine_ctx_of(js);
    if (!ec || argc < 2)
        return JSValueMakeUndefined(js);
    double level = JSValueToNumber(js, argv[0], NULL);
    char *text = js_value_to_utf8(js, argv[1], NULL);
    if (text)
        ec->host->log(ec->host_ctx, levels[level >= 0 && level <= 3 ? (int)level : 1], text);
    free(text);
    return JSValueMakeUndefined(js);
}

static console_span **find_span(engine_ctx *ec, const char *label)
{
    for (console_span **at = &ec->spans; *at; at = &(*at)->next)
        if (strcmp((*at)->label, label) == 0)
            return at;
    return NULL;
}

/* Open spans are host memory no memory limit sees, and each console.time scans them: a
 * call making spans with 1 MiB labels held 500 MB of it (attacker review). */
#define CONSOLE_MAX_SPANS 1000
#define CONSOLE_MAX_LABEL_BYTES 4096

/* spanStart(label) -> true when started, false when a span of that label is open already,
 * or a warning naming the cap that refused it. */
static JSValueRef native_span_start(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                    const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (!ec || !argc)
        return JSValueMakeBoolean(js, false);
    const char *refusal = NULL;
    if (JSValueIsString(js, argv[0])) {
        JSStringRef s = JSValueToStringCopy(js, argv[0], NULL);
        if (s && JSStringGetLength(s) > CONSOLE_MAX_LABEL_BYTES) /* before copying it */
            refusal = "console.time: a label is at most 4096 bytes";
        if (s)
            JSStringRelease(s);
    }
    if (!refusal && ec->span_count >= CONSOLE_MAX_SPANS)
        refusal = "console.time: 1000 timers are open already (end some with console.timeEnd)";
    char *label = refusal ? NULL : js_value_to_utf8(js, argv[0], NULL);
    if (label && strlen(label) > CONSOLE_MAX_LABEL_BYTES)
        refusal = "console.time: a label is at most 4096 bytes";
    bool is_new = !refusal && label && !find_span(ec, label);
    if (is_new) {
        size_t n = strlen(label) + 1;
        console_span *span = malloc(sizeof(*span) + n);
        if (span) {
            memcpy(span->label, label, n);
            span->call_id = ec->current_call_id;
            span->start_ns = monotonic_ns();
            span->next = ec->spans;
            ec->spans = span;
            ec->span_count++;
        }
    }
    free(label);
    if (refusal) {
        JSStringRef text = JSStringCreateWithUTF8CString(refusal);
        JSValueRef value = JSValueMakeString(js, text);
        JSStringRelease(text);
        return value;
    }
    return JSValueMakeBoolean(js, is_new);
}

/* spanElapsed(label, isEnd) -> milliseconds since spanStart, or -1 when no such span is
 * open; isEnd closes it. */
static JSValueRef native_span_elapsed(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                                      const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    char *label = argc ? js_value_to_utf8(js, argv[0], NULL) : NULL;
    console_span **at = ec && label ? find_span(ec, label) : NULL;
    free(label);
    if (!at)
        return JSValueMakeNumber(js, -1);
    console_span *span = *at;
    /* as coarse as performance.now(): the guest can read what console.js formats */
    double ms = engine_coarsen_ms((double)(monotonic_ns() - span->start_ns) / 1e6);
    if (argc > 1 && JSValueToBoolean(js, argv[1])) {
        *at = span->next;
        free(span);
        ec->span_count--;
    }
    return JSValueMakeNumber(js, ms);
}

void natives_console_add(JSContextRef js, JSObjectRef natives)
{
    natives_define(js, natives, "emit", native_emit);
    natives_define(js, natives, "spanStart", native_span_start);
    natives_define(js, natives, "spanElapsed", native_span_elapsed);
}

void engine_set_current_call(engine_ctx *ec, uint64_t call_id)
{
    ec->current_call_id = call_id;
}

size_t engine_clear_call_spans(engine_ctx *ec, uint64_t call_id)
{
    size_t cleared = 0;
    for (console_span **at = &ec->spans; *at;) {
        console_span *span = *at;
        if (span->call_id == call_id || call_id == 0) {
            *at = span->next;
            free(span);
            ec->span_count--;
            cleared++;
        } else {
            at = &span->next;
        }
    }
    return cleared;
}
