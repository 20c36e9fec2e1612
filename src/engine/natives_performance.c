/* natives_performance.c — the C side of the performance and navigator groups (see
 * performance.js, navigator.js): the context's clock, coarsened, and what navigator says
 * about the host. Not for the entry buffer or argument checks: those are in JS. */
#include "apis/api_groups.h"
#include "engine/engine_internal.h"

#include <math.h>
#include <time.h>

/* Every time a guest can read at sub-millisecond precision is floored to this, as
 * browsers do without cross-origin isolation (Chrome and Firefox: 100 µs): contexts of
 * different tenants share a process and its caches, so a finer clock would help timing
 * attacks on a neighbour (docs/security.md). */
#define PERFORMANCE_STEPS_PER_MS 10 /* 100 µs */

double engine_coarsen_ms(double ms)
{
    /* divided last, so a step reads as the shortest decimal (2.1, not 2.1000000000000001) */
    return floor(ms * PERFORMANCE_STEPS_PER_MS) / PERFORMANCE_STEPS_PER_MS;
}

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void engine_ctx_mark_time_origin(engine_ctx *ec)
{
    ec->origin_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    ec->origin_unix_ms = engine_coarsen_ms((double)clock_ns(CLOCK_REALTIME) / 1e6);
}

/* now() -> milliseconds since the context was created (monotonic, 100 µs steps) */
static JSValueRef native_now(JSContextRef js, JSObjectRef function, JSObjectRef self, size_t argc,
                             const JSValueRef argv[], JSValueRef *exception)
{
    engine_ctx *ec = engine_ctx_of(js);
    if (!ec)
        return JSValueMakeNumber(js, 0);
    return JSValueMakeNumber(js, engine_coarsen_ms((double)(clock_ns(CLOCK_MONOTONIC) - ec->origin_monotonic_ns) / 1e6));
}

void natives_performance_add(JSContextRef js, JSObjectRef natives)
{
    engine_ctx *ec = engine_ctx_of(js);
    natives_define(js, natives, "now", native_now);
    natives_set_value(js, natives, "timeOrigin", JSValueMakeNumber(js, ec ? ec->origin_unix_ms : 0));
    natives_set_value(js, natives, "resolution", JSValueMakeNumber(js, 1.0 / PERFORMANCE_STEPS_PER_MS));
}

#define STRINGIFY(x) #x
#define VERSION_STRING(a, b, c) STRINGIFY(a) "." STRINGIFY(b) "." STRINGIFY(c)

void natives_navigator_add(JSContextRef js, JSObjectRef natives)
{
    engine_ctx *ec = engine_ctx_of(js);
    JSStringRef agent = JSStringCreateWithUTF8CString(
        "jspool/" VERSION_STRING(JSP_VERSION_MAJOR, JSP_VERSION_MINOR, JSP_VERSION_PATCH));
    natives_set_value(js, natives, "userAgent", JSValueMakeString(js, agent));
    JSStringRelease(agent);
    /* navigator.locks exists only where the locks group was asked for */
    natives_set_value(js, natives, "hasLocks", JSValueMakeBoolean(js, ec && ec->apis & 1u << API_LOCKS));
}
