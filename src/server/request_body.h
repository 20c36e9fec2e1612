/* request_body.h — the JSON request bodies the server itself interprets (POST /v1/contexts
 * and POST .../eval), parsed without h2o so that they can be tested and fuzzed alone
 * (fuzz/fuzz_request_body.c). Not for call arguments or messages: those go to the library
 * as text, which checks them. Any thread; no global state. */
#ifndef JSP_SERVER_REQUEST_BODY_H
#define JSP_SERVER_REQUEST_BODY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A context's egress settings (jsp_context_config.egress_*): the operator's, or what a
 * client asked for within them. */
typedef struct request_egress {
    const char *allow;        /* NULL = nothing */
    int allow_loopback, allow_private;
    int max_requests;         /* 0 = the library's default */
    uint64_t max_response_bytes;
    long timeout_ms;          /* -1 = none (operators only) */
    const char *ca_file;      /* the operator's only: NULL = the system's CA store */
} request_egress;

/* What a request body said, or why it was refused. */
typedef struct request_body {
    json_t *json;           /* owns every string below; released by request_body_free */
    const char *name, *module, *source, *apis, *ns; /* NULL when absent */
    json_int_t cpu_ms, wall_ms, memory_bytes;  /* limits, clamped to the maxima; 0 when absent */
    json_int_t storage_quota; /* limits.storage_quota (UTF-16 code units), clamped; 0 when absent */
    int store;              /* "store": true (then name is set); 0 when absent or false */
    request_egress egress;  /* the operator's, narrowed by "egress" when given */
    const char *error_id;   /* on failure: "invalid_json" or "invalid_argument" */
    char message[300];      /* on failure: what is wrong */
} request_body;

/* The most a client may ask for, set by the operator; -1 = no maximum. */
typedef struct request_limit_maxima {
    long cpu_ms, wall_ms, memory_bytes;
    long storage_quota; /* Web Storage quota per area, UTF-16 code units */
    request_egress egress;    /* the operator's egress: what a client may narrow */
} request_limit_maxima;

/* POST /v1/contexts: {"name"?, "module"? | "source"?, "apis"?, "namespace"?, "store"?,
 * "limits"?: {"cpu_ms"?, "wall_ms"?, "memory_bytes"?, "storage_quota"?}, "egress"?: {"allow"?: string,
 * "allow_loopback"?: bool, "allow_private"?: bool, "max_requests"?, "max_response_bytes"?,
 * "timeout_ms"?}} — egress only narrows max->egress (every allow entry within the
 * operator's list, a range only if the operator allows it, numbers clamped to the
 * operator's; out->egress starts as the operator's); strings, and integers of at least 1
 * (memory: 4 MiB) clamped to max (no limit, -1, is for the operator's config file only); a
 * namespace of 1 to 64 JSP_NAMESPACE_CHARS; store a boolean, true only with a name (its file
 * is named after it); no other keys; not both module and source. text may be NULL (no
 * body). Returns 0, or 400 with error_id and message set. */
int request_body_parse_create(const char *text, size_t len, const request_limit_maxima *max,
                              request_body *out);

/* POST /v1/contexts/{id}/eval: {"source": string}. As above. */
int request_body_parse_eval(const char *text, size_t len, request_body *out);

/* Releases out->json; safe on a failed or zeroed one. */
void request_body_free(request_body *out);

#endif
