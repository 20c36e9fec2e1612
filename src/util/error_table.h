/* error_table.h — the one list of jspool's error codes, as libuv's UV_ERRNO_MAP: every
 * table that maps a code to something is generated from it, so they cannot drift apart:
 *   - jsp_strerror / jsp_error_id (util/result.c), which also checks at compile time that
 *     the public enum in include/jspool.h gives each code this number;
 *   - the HTTP status of a failed request (status_for_code, server/http_reply.c);
 *   - the `outcome` label a finished call is counted under in jspool_calls_total
 *     (metrics_record_call, runtime/runtime_metrics.c: OUTCOME_<outcome>).
 * docs/errors.md has one row per code with its id, status and outcome; the `errors` suite
 * (tests/pool/test_errors.c) checks the doc and the enum against this list.
 *
 * Not for: what each code means to a caller — that is the enum's comment in
 * include/jspool.h, the documented API. The server includes this data-only header too
 * (scripts/check_layers.sh allows it by name).
 *
 * X(code, number, id, http_status, outcome, message)
 * http_status: 400 the request itself is wrong; 422 the request was fine but the guest's
 * code threw (JSP_EJS) or produced a value JSON cannot carry (JSP_ENOTJSON: a function, a
 * cycle, too deep) — neither the client's input (400) nor the server's fault (5xx).
 * A new code goes at the end of the enum and here, with a row in docs/errors.md. */
#ifndef JSP_UTIL_ERROR_TABLE_H
#define JSP_UTIL_ERROR_TABLE_H

/* clang-format off */
#define JSP_ERROR_TABLE(X)                                                                           \
    X(JSP_OK,             0, "ok",                  200, OK,         "success")                      \
    X(JSP_EINVAL,        -1, "invalid_argument",    400, JS_ERROR,   "invalid argument")             \
    X(JSP_ENOMEM,        -2, "out_of_memory",       500, OOM,        "out of host memory")           \
    X(JSP_EJS,           -3, "js_error",            422, JS_ERROR,   "uncaught JavaScript exception") \
    X(JSP_ESYNTAX,       -4, "syntax_error",        400, JS_ERROR,   "source does not parse")        \
    X(JSP_ENOTFOUND,     -5, "not_found",           404, JS_ERROR,   "no function or global by that name") \
    X(JSP_ENOTJSON,      -6, "not_serializable",    422, JS_ERROR,   "result cannot be represented as JSON") \
    X(JSP_EDESTROYED,    -7, "context_destroyed",   404, CANCELLED,  "context destroyed")            \
    X(JSP_ECLOSED,       -8, "pool_closed",         503, CANCELLED,  "pool closed")                  \
    X(JSP_EUTF8,         -9, "invalid_utf8",        400, JS_ERROR,   "input is not valid UTF-8")     \
    X(JSP_EJSON,        -10, "invalid_json",        400, JS_ERROR,   "input is not valid JSON (or nests deeper than 512)") \
    X(JSP_EEXIST,       -11, "already_exists",      409, JS_ERROR,   "name already in use")          \
    X(JSP_EMODULE,      -12, "unsupported_module",  400, JS_ERROR,   "a module import cannot be resolved, or an unsupported module feature")   \
    X(JSP_ESYSTEM,      -13, "system_error",        500, JS_ERROR,   "the OS refused a resource")    \
    X(JSP_ECPU_LIMIT,   -14, "cpu_limit",           408, CPU_LIMIT,  "the call ran past its CPU budget") \
    X(JSP_EWALL_LIMIT,  -15, "wall_limit",          504, WALL_LIMIT, "the call ran past its wall-time budget") \
    X(JSP_EBUSY,        -16, "busy",                429, JS_ERROR,   "too many jobs queued for the context") \
    X(JSP_ETOO_MANY,    -17, "too_many_contexts",   429, JS_ERROR,   "the pool is at max_contexts (or max_stores, for a context with a store)") \
    X(JSP_EOOM,         -18, "out_of_memory_limit", 413, OOM,        "the call exceeded the context's memory limit") \
    X(JSP_EMEMORY,      -19, "memory_budget",       503, JS_ERROR,   "the process is past the pool's memory budget (max_memory_bytes): no new context") \
    X(JSP_ESTORE,       -25, "store_error",         500, JS_ERROR,   "the store's database failed (disk full, read-only, corrupt or locked)") \
    X(JSP_ESCHEMA,      -26, "schema_error",        400, JS_ERROR,   "invalid table declaration or incompatible change") \
    X(JSP_EWRITE_LIMIT, -27, "write_limit",         413, JS_ERROR,   "the call wrote more than its limit and was rolled back")
/* clang-format on */

/* One column as `case code: return value;`, for a switch over the table:
 *     switch (code) { JSP_ERROR_TABLE(JSP_ERROR_CASE_STATUS) }
 * (a number listed twice is then a duplicate case: it does not compile). */
#define JSP_ERROR_CASE_TEXT(code, number, id, status, outcome, message) \
    case code: return #code ": " message;
#define JSP_ERROR_CASE_ID(code, number, id, status, outcome, message) \
    case code: return id;
#define JSP_ERROR_CASE_STATUS(code, number, id, status, outcome, message) \
    case code: return status;
#define JSP_ERROR_CASE_OUTCOME(code, number, id, status, outcome, message) \
    case code: return OUTCOME_##outcome;

/* A code missing from the table (never returned by the library) reads as this. */
#define JSP_ERROR_UNKNOWN_ID "unknown"
#define JSP_ERROR_UNKNOWN_TEXT "unknown error"
#define JSP_ERROR_UNKNOWN_STATUS 500

#endif
