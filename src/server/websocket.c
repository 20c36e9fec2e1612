/* websocket.c — see websocket.h. */
#include "server/websocket.h"
#include "server/http_reply.h"

#include <h2o/websocket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ws_client {
    ws_client *next;
    server *srv;
    h2o_websocket_conn_t *conn;
    uint64_t context_id;
    uint64_t id;             /* the tag of its messages (jsp_send_tagged); never reused, so a
                                late reply cannot reach a socket opened after its sender closed */
};

struct ws_outgoing {
    ws_outgoing *next;
    uint64_t context_id;
    uint64_t client_id;      /* the socket whose message's handler sent it, 0 = all sockets */
    size_t len;
    char json[];
};

static void unlink_client(server *srv, ws_client *client)
{
    for (ws_client **at = &srv->ws_clients; *at; at = &(*at)->next) {
        if (*at == client) {
            *at = client->next;
            return;
        }
    }
}

static void send_text(h2o_websocket_conn_t *conn, const char *text, size_t len)
{
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    wslay_event_queue_msg(conn->ws_ctx, &msg); /* wslay copies the payload */
    h2o_websocket_proceed(conn);
}

static void send_error(h2o_websocket_conn_t *conn, int code)
{
    char text[300];
    int n = snprintf(text, sizeof(text), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"details\":{}}}",
                     jsp_error_id(code), jsp_strerror(code));
    send_text(conn, text, (size_t)n);
}

static void on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
    ws_client *client = conn->data;
    server *srv = client->srv;
    if (!arg) { /* closed by the peer or on error */
        unlink_client(srv, client);
        h2o_websocket_close(conn);
        free(client);
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME)
        return; /* binary frames carry no JSON; control frames are wslay's */
    served_context *sc = registry_find(&srv->contexts, client->context_id);
    int rc = !sc ? JSP_EDESTROYED
             : srv->is_draining ? JSP_ECLOSED
             : arg->msg_length > srv->max_body_bytes ? JSP_EINVAL
             : jsp_send_tagged(sc->ctx, (const char *)arg->msg, (long)arg->msg_length, client->id);
    if (rc != 0)
        send_error(conn, rc);
}

/* With an allow-list, a handshake that names an Origin must name a listed one (exact,
 * ASCII case-insensitive). A handshake without Origin comes from a non-browser client,
 * which could send any Origin anyway: the token is what stops it. */
static bool is_origin_allowed(const server *srv, h2o_req_t *req)
{
    if (!srv->ws_origin_count)
        return true;
    ssize_t at = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    if (at < 0)
        return true;
    h2o_iovec_t origin = req->headers.entries[at].value;
    for (size_t i = 0; i < srv->ws_origin_count; i++)
        if (h2o_lcstris(origin.base, origin.len, srv->ws_origins[i], strlen(srv->ws_origins[i])))
            return true;
    return false;
}

void ws_accept(server *srv, h2o_req_t *req, served_context *sc, uint64_t start_ns)
{
    const char *client_key = NULL;
    if (h2o_is_websocket_handshake(req, &client_key) != 0 || !client_key) {
        reply_error(req, 400, "invalid_argument", "expected a WebSocket handshake");
        server_log_request("GET", "ws", 400, start_ns, sc->id);
        return;
    }
    if (!is_origin_allowed(srv, req)) {
        reply_error(req, 403, "forbidden_origin", "this Origin is not in ws_allowed_origins");
        server_log_request("GET", "ws", 403, start_ns, sc->id);
        return;
    }
    /* a browser that offered subprotocols fails the connection unless one is echoed */
    h2o_iovec_t protocol;
    if (guard_bearer_subprotocol(srv, req, &protocol))
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-protocol"), 0, NULL,
                              protocol.base, protocol.len);
    ws_client *client = calloc(1, sizeof(*client));
    if (!client) {
        reply_error(req, 500, "out_of_memory", "out of memory");
        return;
    }
    client->srv = srv;
    client->context_id = sc->id;
    client->id = ++srv->ws_last_id;
    client->conn = h2o_upgrade_to_websocket(req, client_key, client, on_ws_message);
    client->next = srv->ws_clients;
    srv->ws_clients = client;
    server_log_request("GET", "ws", 101, start_ns, sc->id);
}

void ws_on_host_send(jsp_pool *pool, uint64_t context_id, const char *json, size_t len, void *user)
{
    server *srv = user;
    ws_outgoing *out = malloc(sizeof(*out) + len);
    if (!out)
        return;
    out->next = NULL;
    out->context_id = context_id;
    out->client_id = jsp_message_tag(); /* we run inside the handler's host.send */
    out->len = len;
    memcpy(out->json, json, len);
    pthread_mutex_lock(&srv->done_mutex);
    if (srv->outgoing_tail)
        srv->outgoing_tail->next = out;
    else
        srv->outgoing_head = out;
    srv->outgoing_tail = out;
    pthread_mutex_unlock(&srv->done_mutex);
    uv_async_send(&srv->done_wakeup);
}

void ws_deliver(server *srv)
{
    pthread_mutex_lock(&srv->done_mutex);
    ws_outgoing *out = srv->outgoing_head;
    srv->outgoing_head = srv->outgoing_tail = NULL;
    pthread_mutex_unlock(&srv->done_mutex);
    while (out) {
        ws_outgoing *next = out->next;
        /* a reply to a socket's message goes to that socket only (dropped if it closed);
         * host.send from anywhere else (timers, calls, HTTP messages) to every socket */
        for (ws_client *c = srv->ws_clients; c; c = c->next)
            if (c->context_id == out->context_id && (!out->client_id || c->id == out->client_id))
                send_text(c->conn, out->json, out->len);
        free(out);
        out = next;
    }
}

void ws_close_context(server *srv, uint64_t context_id)
{
    for (ws_client **at = &srv->ws_clients; *at;) {
        ws_client *c = *at;
        if (context_id == 0 || c->context_id == context_id) {
            *at = c->next;
            h2o_websocket_close(c->conn);
            free(c);
        } else {
            at = &c->next;
        }
    }
}
