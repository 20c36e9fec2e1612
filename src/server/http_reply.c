/* http_reply.c — see http_reply.h. */
#include "server/http_reply.h"
#include "util/error_table.h" /* data only: the statuses come from the one error table */

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *reason_for(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Internal Server Error" : "Error";
    }
}

void reply_json(h2o_req_t *req, int status, const char *json, size_t len)
{
    req->res.status = status;
    req->res.reason = reason_for(status);
    if (status == 204) {
        h2o_send_inline(req, "", 0);
        return;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, json, len);
}

/* {"error":{"code","message","details"}}; takes details (NULL = {}). */
static char *error_body_with(const char *code, const char *message, json_t *details)
{
    json_t *body = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", code, "message",
                             message ? message : "", "details", details ? details : json_object());
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

char *error_body(const char *code, const char *message)
{
    return error_body_with(code, message, NULL);
}

static void reply_error_text(h2o_req_t *req, int status, char *text)
{
    if (text)
        reply_json(req, status, text, strlen(text));
    else
        h2o_send_error_generic(req, 500, "Internal Server Error", "out of memory", 0);
    free(text);
}

void reply_error(h2o_req_t *req, int status, const char *code, const char *message)
{
    reply_error_text(req, status, error_body(code, message));
}

int status_for_code(int code)
{
    switch (code) { JSP_ERROR_TABLE(JSP_ERROR_CASE_STATUS) }
    return JSP_ERROR_UNKNOWN_STATUS;
}

char *call_error_body(const jsp_result *r)
{
    json_t *details = json_object();
    if (details && r->error_name)
        json_object_set_new(details, "name", json_string(r->error_name));
    if (details && r->error_stack)
        json_object_set_new(details, "stack", json_string(r->error_stack));
    if (details && r->error_line)
        json_object_set_new(details, "line", json_integer(r->error_line));
    if (details && r->error_column)
        json_object_set_new(details, "column", json_integer(r->error_column));
    return error_body_with(jsp_error_id(r->code), r->error_message, details);
}

void reply_call_error(h2o_req_t *req, const jsp_result *r)
{
    reply_error_text(req, status_for_code(r->code), call_error_body(r));
}
