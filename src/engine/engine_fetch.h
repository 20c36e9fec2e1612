/* engine_fetch.h — the bridge of the `fetch` group: what its natives
 * (src/engine/natives_fetch.c) exchange with the host (the fetch_* operations of
 * engine_host.h, which src/runtime/fetch.c implements on libcurl), and how a transfer's
 * events reach the group's JS (src/apis/js/fetch.js). Engine-free types; every function
 * runs on the context's runtime thread. */
#ifndef JSP_ENGINE_FETCH_H
#define JSP_ENGINE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* Request.redirect */
enum engine_fetch_redirect { ENGINE_FETCH_FOLLOW = 0, ENGINE_FETCH_ERROR = 1, ENGINE_FETCH_MANUAL = 2 };

/* One request, borrowed for the duration of fetch_start. */
typedef struct engine_fetch_request {
    const char *method;          /* upper-cased for the standard ones, a token */
    const char *url;             /* absolute, parsed by the url group already */
    const char *const *headers;  /* name, value, name, value ... (header_count pairs) */
    size_t header_count;
    const void *body;            /* NULL = none */
    size_t body_len;
    int redirect;                /* enum engine_fetch_redirect */
    bool is_context_owned;       /* outlives the call that started it (EventSource's
                                    streams): cancelled only by abort, destroy or recycle;
                                    egress_timeout_ms bounds its connection, not its length */
} engine_fetch_request;

/* The head of the final response, borrowed for the duration of engine_fetch_deliver. */
typedef struct engine_fetch_head {
    int status;
    const char *status_text;
    const char *url;             /* after redirects */
    bool is_redirected;
    const char *headers;         /* "name\0value\0" ... lower-case names, in arrival order */
    size_t headers_len;
} engine_fetch_head;

/* fetch_read's answers. */
enum engine_fetch_read {
    ENGINE_FETCH_DATA = 1,  /* *data (malloc'd, now the engine's) and *len > 0 */
    ENGINE_FETCH_END = 0,   /* the body is complete; the transfer is gone */
    ENGINE_FETCH_LATER = 2, /* nothing yet: engine_fetch_deliver(readable) follows */
    ENGINE_FETCH_FAILED = -1, /* error filled; the transfer is gone */
};

/* Runs the group's JS for an event of transfer id: the final response's head (head set),
 * a failure before it (error set: the TypeError's message), or "readable" (both NULL:
 * data, the end or a failure wait for fetch_read). False when the JS did not know the id. */
bool engine_fetch_deliver(engine_ctx *ec, uint64_t id, const engine_fetch_head *head, const char *error);

#endif
