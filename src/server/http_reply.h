/* http_reply.h — the server's responses: JSON bodies, the one error shape
 * {"error":{"code","message","details"}}, and the mapping of jspool's error codes to HTTP
 * statuses. Loop thread only (the *_body builders: any thread). */
#ifndef JSP_SERVER_HTTP_REPLY_H
#define JSP_SERVER_HTTP_REPLY_H

#include <h2o.h>
#include <jspool.h>

/* Sends status with a JSON body (copied). */
void reply_json(h2o_req_t *req, int status, const char *json, size_t len);
/* Sends {"error":{"code":code,"message":message,"details":{}}}. */
void reply_error(h2o_req_t *req, int status, const char *code, const char *message);
/* Sends a failed call's result: status from its JSP_E* code, details with the JS error's
 * name, stack, line and column when there are any. */
void reply_call_error(h2o_req_t *req, const jsp_result *r);
/* The same bodies as text for other transports (the WebSocket's error frames): a
 * NUL-terminated string the caller frees with free(), or NULL when out of memory. */
char *error_body(const char *code, const char *message);
char *call_error_body(const jsp_result *r);
/* The HTTP status for a JSP_E* code, from the error table (util/error_table.h; listed in
 * docs/errors.md): 400 bad input, 404 unknown, 408/504 limits, 413 memory or write limit,
 * 429 back-pressure, 503 closed, 422 JS errors, 500 the rest. */
int status_for_code(int code);

#endif
