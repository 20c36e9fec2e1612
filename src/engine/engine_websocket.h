/* engine_websocket.h — the bridge of the `websocket` group: what its natives
 * (src/engine/natives_websocket.c) exchange with the host (the ws_* operations of
 * engine_host.h, which src/runtime/websocket_client.c implements on libuv, OpenSSL and
 * wslay), and how a socket's events reach the group's JS (src/apis/js/websocket.js).
 * Engine-free types; every function runs on the context's runtime thread. */
#ifndef JSP_ENGINE_WEBSOCKET_H
#define JSP_ENGINE_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* One connection to open, borrowed for the duration of ws_open. The JS has parsed the URL
 * already (ws: or wss:, no fragment). */
typedef struct engine_ws_request {
    bool is_tls;            /* wss: */
    const char *host;       /* to resolve: a name or an IP literal (IPv6 without brackets) */
    int port;               /* the effective port */
    const char *host_header; /* the URL's host as sent in Host: (brackets, port if not default) */
    const char *resource;   /* path and query, at least "/" */
    const char *protocols;  /* "a, b" (validated tokens) or "" */
} engine_ws_request;

enum engine_ws_event_kind {
    ENGINE_WS_OPEN = 0,    /* text = the protocol chosen, extra = the extensions ("") */
    ENGINE_WS_TEXT = 1,    /* text/len = a text message (valid UTF-8) */
    ENGINE_WS_BINARY = 2,  /* text/len = a binary message's bytes */
    ENGINE_WS_CLOSE = 3,   /* code, text/len = reason, was_clean, is_error: an error event first */
};

/* One event, borrowed for the duration of engine_ws_deliver. */
typedef struct engine_ws_event {
    int kind;              /* enum engine_ws_event_kind */
    const char *text;
    size_t len;
    const char *extra;
    int code;
    bool was_clean;
    bool is_error;
} engine_ws_event;

/* Runs the group's JS for an event of socket id. False when the JS did not know the id
 * (the group never loaded in this VM, or the VM was rebuilt). A message that does not fit
 * in an isolated context's memory limit (its bytes, or the Blob copy of them) is not
 * delivered: *is_too_big is set, and the caller fails the socket so that its close event
 * tells the JS why. */
bool engine_ws_deliver(engine_ctx *ec, uint64_t id, const engine_ws_event *ev, bool *is_too_big);

#endif
