/* websocket.c — see websocket.h.
 *
 * Frames to a client do not go through wslay's queue: each socket has a buffer that
 * answers, host.send() values and error frames are appended to as whole frames, and one
 * h2o_socket_write per socket per loop turn sends everything that piled up (ws_flush, a
 * uv_prepare). h2o 2.2's wslay glue wrote a frame's header and payload as two writes, one
 * loop turn apart, plus a copy into wslay's queue and one more into h2o's buffer: with 40
 * calls in flight per socket that was 80 writes where one does. wslay still reads frames
 * and answers pings and close frames itself; a socket is written by us only while wslay
 * has nothing half sent (wslay_event_want_write), so frames never interleave. */
#include "server/websocket.h"
#include "server/http_reply.h"
#include "server/ws_call_frame.h"

#include <h2o/websocket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    WS_CLOSE_POLICY = 1008,      /* the close code of a socket whose queue passed its bound */
    WS_KEPT_CALLS = 4096,        /* finished ws_call records kept for reuse */
    WS_KEPT_BUFFER = 1 << 20,    /* a socket's buffer above this is freed once written */
};

typedef struct ws_buffer {
    char *data;
    size_t len, capacity;
} ws_buffer;

struct ws_client {
    ws_client *next;
    server *srv;
    h2o_websocket_conn_t *conn; /* NULL once closed: the struct lives on while calls refer to it */
    uint64_t context_id;
    uint64_t id;             /* the tag of its messages (jsp_send_tagged); never reused, so a
                                late reply cannot reach a socket opened after its sender closed */
    h2o_linklist_t dirty;    /* in srv->ws_dirty while `out` waits for ws_flush */
    ws_buffer out;           /* whole frames not yet handed to the socket */
    ws_buffer writing;       /* the frames of our write in flight */
    bool is_writing;
    bool is_overflowing;     /* out + writing passed ws_max_queued_bytes: to be closed */
    bool is_closing;         /* our close frame is being written; close the socket after */
    int calls_in_flight;
    size_t accounted;        /* out.len + writing.len as counted in srv->ws_queued_total */
};

/* A call from a socket, from jsp_call_async to its answer. The completion (a runtime
 * thread) only queues it; the loop answers and recycles it, so the runtime never touches
 * a socket, and a socket closed meanwhile is only freed once its last call is back. */
struct ws_call {
    ws_call *next;
    server *srv;
    ws_client *client;
    uint64_t context_id;
    jsp_result *result;
    size_t id_len;
    char id[WS_CALL_MAX_ID_BYTES + 2];
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

static void on_flush(uv_prepare_t *handle);

static void mark_dirty(ws_client *c)
{
    server *srv = c->srv;
    if (h2o_linklist_is_linked(&c->dirty))
        return;
    if (h2o_linklist_is_empty(&srv->ws_dirty))
        uv_prepare_start(&srv->ws_flush, on_flush);
    h2o_linklist_insert(&srv->ws_dirty, &c->dirty);
}

/* Brings the server-wide count of bytes waiting to be sent up to date with c's buffers. */
static void account(ws_client *c)
{
    size_t now = c->out.len + c->writing.len;
    c->srv->ws_queued_total = c->srv->ws_queued_total - c->accounted + now;
    c->accounted = now;
}

/* Closes the socket now (dropping what was not written); the struct goes with its last call. */
static void client_close(ws_client *c)
{
    unlink_client(c->srv, c);
    if (h2o_linklist_is_linked(&c->dirty))
        h2o_linklist_unlink(&c->dirty);
    h2o_websocket_conn_t *conn = c->conn;
    c->conn = NULL;
    /* a write in flight (ours or wslay's) completes as cancelled once the socket is closed:
     * its callback must not run on freed state */
    if (conn->sock)
        conn->sock->_cb.write = NULL;
    h2o_websocket_close(conn);
    free(c->out.data);
    free(c->writing.data);
    c->out = c->writing = (ws_buffer){0};
    account(c);
    if (!c->calls_in_flight)
        free(c);
}

/* Room for one frame of payload_len at the end of c->out, its header written; NULL when the
 * socket is closed or overflowing (the frame is dropped; an overflowing socket is closed). */
static char *frame_reserve(ws_client *c, unsigned char opcode, size_t payload_len)
{
    if (!c->conn || c->is_overflowing || c->is_closing)
        return NULL;
    size_t head = payload_len < 126 ? 2 : payload_len <= 0xffff ? 4 : 10;
    size_t need = c->out.len + head + payload_len;
    char *grown = c->out.data;
    /* its own bound, and the server's across sockets (one client opening many sockets
     * that never read: 40 of them held 571 MB under the per-socket bound alone) */
    size_t others = c->srv->ws_queued_total - c->accounted;
    bool is_over = need + c->writing.len > c->srv->ws_max_queued_bytes ||
                   others + need + c->writing.len > c->srv->ws_max_total_queued_bytes;
    if (!is_over && need > c->out.capacity) {
        size_t capacity = c->out.capacity ? c->out.capacity : 4096;
        while (capacity < need)
            capacity *= 2;
        if ((grown = realloc(c->out.data, capacity))) {
            c->out.data = grown;
            c->out.capacity = capacity;
        }
    }
    if (is_over || !grown) {
        /* over a bound (or out of memory: a dropped answer would leave its caller waiting) */
        c->is_overflowing = true; /* closed by ws_flush, outside wslay's callbacks */
        c->out.len = 0;
        account(c);
        mark_dirty(c);
        return NULL;
    }
    unsigned char *at = (unsigned char *)c->out.data + c->out.len;
    at[0] = 0x80 | opcode; /* FIN; a server's frames are not masked */
    if (head == 2) {
        at[1] = (unsigned char)payload_len;
    } else if (head == 4) {
        at[1] = 126;
        at[2] = (unsigned char)(payload_len >> 8);
        at[3] = (unsigned char)payload_len;
    } else {
        at[1] = 127;
        for (int i = 0; i < 8; i++)
            at[2 + i] = (unsigned char)((uint64_t)payload_len >> (56 - 8 * i));
    }
    c->out.len = need;
    account(c);
    mark_dirty(c);
    return (char *)at + head;
}

static void send_text(ws_client *c, const char *text, size_t len)
{
    char *at = frame_reserve(c, 0x1, len);
    if (at)
        memcpy(at, text, len);
}

/* {"id":ID,"error":{...}}: the id spliced in front of the API's error body. */
static void send_error_body(ws_client *c, const char *id, size_t id_len, char *body)
{
    if (!body)
        return;
    size_t body_len = strlen(body);
    if (!id) {
        id = "null";
        id_len = 4;
    }
    char *at = frame_reserve(c, 0x1, 6 + id_len + body_len);
    if (at) {
        memcpy(at, "{\"id\":", 6);
        memcpy(at + 6, id, id_len);
        at[6 + id_len] = ',';
        memcpy(at + 7 + id_len, body + 1, body_len - 1); /* the body without its '{' */
    }
    free(body);
}

/* A message's error frame: {"error":{...}} (no id: messages have none). */
static void send_error(ws_client *c, int code)
{
    char *body = error_body(jsp_error_id(code), jsp_strerror(code));
    if (body)
        send_text(c, body, strlen(body));
    free(body);
}

static void on_written(h2o_socket_t *sock, const char *err)
{
    h2o_websocket_conn_t *conn = sock->data;
    ws_client *c = conn->data;
    c->is_writing = false;
    c->writing.len = 0;
    account(c);
    if (c->writing.capacity > WS_KEPT_BUFFER) {
        free(c->writing.data);
        c->writing = (ws_buffer){0};
    }
    if (err || c->is_closing) {
        client_close(c);
        return;
    }
    if (c->out.len || c->is_overflowing)
        mark_dirty(c);
    if (wslay_event_want_write(conn->ws_ctx))
        h2o_websocket_proceed(conn); /* a pong or close wslay held back; may close c: last */
}

/* The bound was passed: drop what waits, send a close frame when the socket can take one
 * now, else close at once (a client that does not read would never get it). False when c
 * is closed (and may be freed). */
static bool close_overflowing(ws_client *c)
{
    server_log("warn", c->context_id,
               "WebSocket closed: more than ws_max_queued_bytes (%zu) waiting to be sent; the client is not reading",
               c->srv->ws_max_queued_bytes);
    h2o_socket_t *sock = c->conn->sock;
    if (c->is_writing || !sock || h2o_socket_is_writing(sock) || wslay_event_want_write(c->conn->ws_ctx)) {
        client_close(c);
        return false;
    }
    static const char reason[] = "send queue over ws_max_queued_bytes: the client is not reading";
    unsigned char frame[2 + 2 + sizeof(reason) - 1] = {0x88, 2 + sizeof(reason) - 1,
                                                       WS_CLOSE_POLICY >> 8, WS_CLOSE_POLICY & 0xff};
    memcpy(frame + 4, reason, sizeof(reason) - 1);
    free(c->out.data);
    c->out.data = malloc(sizeof(frame));
    if (!c->out.data) {
        client_close(c);
        return false;
    }
    memcpy(c->out.data, frame, sizeof(frame));
    c->out.len = c->out.capacity = sizeof(frame);
    account(c);
    c->is_overflowing = false;
    c->is_closing = true;
    return true;
}

/* Hands c->out to the socket unless a write is in flight (on_written marks c again). */
static void flush(ws_client *c)
{
    if (c->is_overflowing && !close_overflowing(c))
        return;
    if (!c->conn || c->is_writing || !c->out.len)
        return;
    if (wslay_event_get_close_sent(c->conn->ws_ctx)) {
        c->out.len = 0; /* nothing may follow a close frame; the socket closes soon */
        account(c);
        return;
    }
    h2o_socket_t *sock = c->conn->sock;
    if (!sock || h2o_socket_is_writing(sock) || wslay_event_want_write(c->conn->ws_ctx)) {
        mark_dirty(c); /* upgrade not done yet, or wslay has a frame half sent: next turn */
        return;
    }
    ws_buffer swap = c->writing;
    c->writing = c->out;
    c->out = swap;
    c->is_writing = true;
    h2o_iovec_t buf = h2o_iovec_init(c->writing.data, c->writing.len);
    h2o_socket_write(sock, &buf, 1, on_written);
}

static void on_flush(uv_prepare_t *handle)
{
    server *srv = handle->data;
    h2o_linklist_t batch;
    h2o_linklist_init_anchor(&batch);
    h2o_linklist_insert_list(&batch, &srv->ws_dirty);
    while (!h2o_linklist_is_empty(&batch)) {
        ws_client *c = H2O_STRUCT_FROM_MEMBER(ws_client, dirty, batch.next);
        h2o_linklist_unlink(&c->dirty);
        flush(c);
    }
    if (h2o_linklist_is_empty(&srv->ws_dirty))
        uv_prepare_stop(handle);
}

void ws_init(server *srv)
{
    h2o_linklist_init_anchor(&srv->ws_dirty);
    uv_prepare_init(&srv->loop, &srv->ws_flush);
    srv->ws_flush.data = srv;
}

/* ---- calls ------------------------------------------------------------------------------ */

static ws_call *call_new(server *srv)
{
    ws_call *call = srv->ws_call_free;
    if (call) {
        srv->ws_call_free = call->next;
        srv->ws_call_free_count--;
    } else {
        call = malloc(sizeof(*call));
    }
    return call;
}

static void call_release(server *srv, ws_call *call)
{
    jsp_result_free(call->result);
    if (srv->ws_call_free_count >= WS_KEPT_CALLS) {
        free(call);
        return;
    }
    call->next = srv->ws_call_free;
    srv->ws_call_free = call;
    srv->ws_call_free_count++;
}

/* jsp_done_fn, on a runtime thread: queues the call for the loop (as server_call_done). */
static void ws_call_done(jsp_result *result, void *user)
{
    ws_call *call = user;
    server *srv = call->srv;
    call->result = result;
    call->next = NULL;
    pthread_mutex_lock(&srv->done_mutex);
    if (srv->ws_done_tail)
        srv->ws_done_tail->next = call;
    else
        srv->ws_done_head = call;
    srv->ws_done_tail = call;
    pthread_mutex_unlock(&srv->done_mutex);
    uv_async_send(&srv->done_wakeup);
}

static void start_call(ws_client *c, served_context *sc, const ws_call_frame *f)
{
    server *srv = c->srv;
    int rc = f->error ? f->error
             : !sc ? JSP_EDESTROYED
             : srv->is_draining ? JSP_ECLOSED
             : c->calls_in_flight >= srv->ws_max_calls_in_flight ? JSP_EBUSY : 0;
    const char *message = f->error ? f->message
                          : rc == JSP_EBUSY ? "too many calls in flight on this socket (ws_max_calls_in_flight)"
                          : NULL;
    ws_call *call = rc ? NULL : call_new(srv);
    if (!rc && !call)
        rc = JSP_ENOMEM;
    if (!rc) {
        char function[WS_CALL_MAX_FUNCTION_BYTES + 1];
        memcpy(function, f->function, f->function_len);
        function[f->function_len] = '\0';
        call->srv = srv;
        call->client = c;
        call->context_id = sc->id;
        call->result = NULL;
        call->id_len = f->id_len;
        memcpy(call->id, f->id, f->id_len);
        rc = jsp_call_async(sc->ctx, function, f->args, f->args ? (long)f->args_len : 0, ws_call_done, call);
        if (rc == 0) {
            c->calls_in_flight++;
            sc->in_flight++;
            srv->in_flight++; /* the drain waits for it like for an HTTP call */
            return;
        }
        call_release(srv, call);
    }
    send_error_body(c, f->id, f->id_len, error_body(jsp_error_id(rc), message ? message : jsp_strerror(rc)));
}

/* {"id":ID,"result":JSON} or {"id":ID,"error":{...}} */
static void answer(ws_client *c, const ws_call *call)
{
    const jsp_result *r = call->result;
    if (r->code != 0) {
        send_error_body(c, call->id, call->id_len, call_error_body(r));
        return;
    }
    char *at = frame_reserve(c, 0x1, 6 + call->id_len + 10 + r->json_len + 1);
    if (!at)
        return;
    memcpy(at, "{\"id\":", 6);
    memcpy(at + 6, call->id, call->id_len);
    at += 6 + call->id_len;
    memcpy(at, ",\"result\":", 10);
    memcpy(at + 10, r->json, r->json_len);
    at[10 + r->json_len] = '}';
}

/* ---- sockets ---------------------------------------------------------------------------- */

static void on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
    ws_client *client = conn->data;
    server *srv = client->srv;
    if (!arg) { /* closed by the peer or on error */
        client_close(client);
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME)
        return; /* binary frames carry no JSON; control frames are wslay's */
    served_context *sc = registry_find(&srv->contexts, client->context_id);
    if (arg->msg_length > srv->max_body_bytes) {
        send_error(client, JSP_EINVAL);
        return;
    }
    ws_call_frame frame;
    if (ws_call_frame_parse((const char *)arg->msg, arg->msg_length, &frame)) {
        start_call(client, sc, &frame);
        return;
    }
    int rc = !sc ? JSP_EDESTROYED
             : srv->is_draining ? JSP_ECLOSED
             : jsp_send_tagged(sc->ctx, (const char *)arg->msg, (long)arg->msg_length, client->id);
    if (rc != 0)
        send_error(client, rc);
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
    /* wslay buffers a whole message before on_ws_message sees it (2 GiB by default): a
     * frame announcing more than max_body_bytes closes the socket (1009) as it arrives */
    wslay_event_config_set_max_recv_msg_length(client->conn->ws_ctx, srv->max_body_bytes);
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

void ws_deliver(server *srv, ws_outgoing *out, ws_call *calls)
{
    /* host.send() values first: one a call sent before it returned goes before its answer */
    while (out) {
        ws_outgoing *next = out->next;
        /* a reply to a socket's message goes to that socket only (dropped if it closed);
         * host.send from anywhere else (timers, calls, HTTP messages) to every socket */
        for (ws_client *c = srv->ws_clients; c; c = c->next)
            if (c->context_id == out->context_id && (!out->client_id || c->id == out->client_id))
                send_text(c, out->json, out->len);
        free(out);
        out = next;
    }
    while (calls) {
        ws_call *next = calls->next;
        ws_client *c = calls->client;
        served_context *sc = registry_find(&srv->contexts, calls->context_id);
        if (sc) {
            sc->in_flight--;
            sc->calls++;
            sc->errors += calls->result->code != 0;
        }
        srv->in_flight--;
        c->calls_in_flight--;
        if (c->conn)
            answer(c, calls);
        else if (!c->calls_in_flight)
            free(c); /* its socket closed while the call ran */
        call_release(srv, calls);
        calls = next;
    }
}

void ws_close_context(server *srv, uint64_t context_id)
{
    for (ws_client **at = &srv->ws_clients; *at;) {
        ws_client *c = *at;
        if (context_id == 0 || c->context_id == context_id) {
            client_close(c); /* unlinks c from the list */
        } else {
            at = &c->next;
        }
    }
}

void ws_free(server *srv)
{
    while (srv->ws_call_free) {
        ws_call *next = srv->ws_call_free->next;
        free(srv->ws_call_free);
        srv->ws_call_free = next;
    }
    srv->ws_call_free_count = 0;
}
