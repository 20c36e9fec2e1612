/* result.c — jsp_result construction and the error-code tables (jsp_strerror,
 * jsp_error_id). Codes are stable API: extend the tables, never renumber. */
#include "util/result.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(JSP_JSON_MAX_DEPTH == 512, "the JSP_EJSON message names the depth");

static jsp_result oom_result = {
    .code = JSP_ENOMEM,
    .error_name = "OutOfMemory",
    .error_message = "out of host memory",
};

static const struct {
    int code;
    const char *id;
    const char *text;
} error_table[] = {
    {JSP_OK, "ok", "JSP_OK: success"},
    {JSP_EINVAL, "invalid_argument", "JSP_EINVAL: invalid argument"},
    {JSP_ENOMEM, "out_of_memory", "JSP_ENOMEM: out of host memory"},
    {JSP_EJS, "js_error", "JSP_EJS: uncaught JavaScript exception"},
    {JSP_ESYNTAX, "syntax_error", "JSP_ESYNTAX: source does not parse"},
    {JSP_ENOTFOUND, "not_found", "JSP_ENOTFOUND: no function or global by that name"},
    {JSP_ENOTJSON, "not_serializable", "JSP_ENOTJSON: result cannot be represented as JSON"},
    {JSP_EDESTROYED, "context_destroyed", "JSP_EDESTROYED: context destroyed"},
    {JSP_ECLOSED, "pool_closed", "JSP_ECLOSED: pool closed"},
    {JSP_EUTF8, "invalid_utf8", "JSP_EUTF8: input is not valid UTF-8"},
    {JSP_EJSON, "invalid_json", "JSP_EJSON: input is not valid JSON (or nests deeper than 512)"},
    {JSP_EEXIST, "already_exists", "JSP_EEXIST: name already in use"},
    {JSP_EMODULE, "unsupported_module", "JSP_EMODULE: unsupported module feature"},
    {JSP_ESYSTEM, "system_error", "JSP_ESYSTEM: the OS refused a resource"},
    {JSP_ECPU_LIMIT, "cpu_limit", "JSP_ECPU_LIMIT: the call ran past its CPU budget"},
    {JSP_EWALL_LIMIT, "wall_limit", "JSP_EWALL_LIMIT: the call ran past its wall-time budget"},
    {JSP_EBUSY, "busy", "JSP_EBUSY: too many jobs queued for the context"},
    {JSP_ETOO_MANY, "too_many_contexts", "JSP_ETOO_MANY: the pool is at max_contexts"},
    {JSP_EOOM, "out_of_memory_limit", "JSP_EOOM: the call exceeded the context's memory limit"},
    {JSP_EMEMORY, "memory_budget", "JSP_EMEMORY: the process is past the pool's memory budget (max_memory_bytes): no new context"},
    {JSP_ESTORE, "store_error", "JSP_ESTORE: the store's database failed (disk full, read-only, corrupt or locked)"},
    {JSP_ESCHEMA, "schema_error", "JSP_ESCHEMA: invalid table declaration or incompatible change"},
    {JSP_EWRITE_LIMIT, "write_limit", "JSP_EWRITE_LIMIT: the call wrote more than its limit and was rolled back"},
};

static int table_index(int code)
{
    for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
        if (error_table[i].code == code)
            return (int)i;
    return -1;
}

const char *jsp_strerror(int code)
{
    int i = table_index(code);
    return i < 0 ? "unknown error" : error_table[i].text;
}

const char *jsp_error_id(int code)
{
    int i = table_index(code);
    return i < 0 ? "unknown" : error_table[i].id;
}

jsp_result *result_ok_take(char *json, size_t json_len)
{
    jsp_result *r = calloc(1, sizeof(*r));
    if (!r) {
        free(json);
        return NULL;
    }
    r->json = json;
    r->json_len = json_len;
    return r;
}

jsp_result *result_ok_copy(const char *json, size_t json_len)
{
    char *copy = malloc(json_len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, json, json_len);
    copy[json_len] = '\0';
    return result_ok_take(copy, json_len);
}

jsp_result *result_error(int code, const char *name, const char *message)
{
    jsp_result *r = calloc(1, sizeof(*r));
    if (!r)
        return result_out_of_memory();
    r->code = code;
    r->error_name = strdup(name ? name : jsp_error_id(code));
    r->error_message = strdup(message ? message : jsp_strerror(code));
    if (!r->error_name || !r->error_message) {
        jsp_result_free(r);
        return result_out_of_memory();
    }
    return r;
}

jsp_result *result_out_of_memory(void)
{
    return &oom_result;
}

void jsp_result_free(jsp_result *result)
{
    if (!result || result == &oom_result)
        return;
    free(result->json);
    free(result->error_name);
    free(result->error_message);
    free(result->error_stack);
    free(result);
}
