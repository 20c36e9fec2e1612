/* websocket.h — GET /v1/contexts/{id}/ws: a WebSocket per client on which the client's
 * text messages go to the context's onmessage (jsp_send) and the context's host.send()
 * values come back, and call frames {"id","call","args"} run as jsp_call_async and are
 * answered {"id","result"|"error"} as they complete (ws_call_frame.h tells them apart;
 * docs/server.md has the protocol). Loop thread only, except ws_on_host_send (any
 * runtime thread). */
#ifndef JSP_SERVER_WEBSOCKET_H
#define JSP_SERVER_WEBSOCKET_H

#include "server/server_internal.h"

/* Sets up the socket flusher on srv->loop (before any socket is accepted). */
void ws_init(server *srv);
/* Upgrades req; answers 400 itself when it is not a WebSocket handshake. */
void ws_accept(server *srv, h2o_req_t *req, served_context *sc, uint64_t start_ns);
/* jsp_pool_config.on_message: queues the value for the context's sockets. */
void ws_on_host_send(jsp_pool *pool, uint64_t context_id, const char *json, size_t len, void *user);
/* Delivers host.send() values and answers finished calls (the lists taken from srv under
 * done_mutex by the loop's wake-up); takes both lists. */
void ws_deliver(server *srv, ws_outgoing *out, ws_call *calls);
/* Closes the sockets of one context (0 = every socket). */
void ws_close_context(server *srv, uint64_t context_id);
/* Frees what is kept for reuse (after the last ws_deliver). */
void ws_free(server *srv);

#endif
