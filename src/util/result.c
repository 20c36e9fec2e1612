/* result.c — jsp_result construction, and jsp_strerror / jsp_error_id generated from the
 * one error table (util/error_table.h). Codes are stable API: extend, never renumber. */
#include "util/result.h"
#include "util/error_table.h"

#include <stdlib.h>
#include <string.h>

static jsp_result oom_result = {
    .code = JSP_ENOMEM,
    .error_name = "OutOfMemory",
    .error_message = "out of host memory",
};

/* The public enum keeps the numbers the table gives (a renumbering fails the build). */
#define CHECK_NUMBER(code, number, id, status, outcome, message) \
    _Static_assert((code) == (number), #code " keeps its number " #number);
JSP_ERROR_TABLE(CHECK_NUMBER)
#undef CHECK_NUMBER
_Static_assert(JSP_JSON_MAX_DEPTH == 512, "the JSP_EJSON message names the depth");

const char *jsp_strerror(int code)
{
    switch (code) { JSP_ERROR_TABLE(JSP_ERROR_CASE_TEXT) }
    return JSP_ERROR_UNKNOWN_TEXT;
}

const char *jsp_error_id(int code)
{
    switch (code) { JSP_ERROR_TABLE(JSP_ERROR_CASE_ID) }
    return JSP_ERROR_UNKNOWN_ID;
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
