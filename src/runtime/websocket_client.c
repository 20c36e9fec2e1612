/* websocket_client.c — see websocket_client.h.
 *
 * One ws_client per `new WebSocket()`: resolve (resolver.h: a thread of its own, not libuv's
 * shared pool; at most WS_LOOKUPS_PER_CONTEXT of a context's in flight, the others wait
 * their turn in the order they were opened) → connect (uv_tcp, to the
 * first resolved address the egress policy allows, the next one if that fails) → TLS for
 * wss: (OpenSSL through memory BIOs: the system's CA store or the context's
 * egress_ca_file, SNI, the certificate's name checked) → the HTTP/1.1 Upgrade request and
 * its 101 answer (Sec-WebSocket-Accept verified, no extension accepted, a subprotocol only
 * from the list offered) → frames by wslay in client mode (masks from RAND_bytes).
 *
 * The egress policy is checked on the URL (ws: as http:, wss: as https:: an allow-list
 * entry for http://host also admits ws://host) and on every address connected to, after
 * DNS. An open socket counts as a request against egress_max_requests; egress_timeout_ms
 * bounds the time to the open event; a message larger than egress_max_response_bytes
 * fails the socket (close 1009 sent); bytes waiting to be sent, across the context's
 * sockets, are bounded by the pool's max_queued_bytes (the same counter's cap as its
 * queued messages); received events wait undelivered up to WS_EVENTS_MAX bytes per socket,
 * then the socket stops reading (TCP back-pressure).
 *
 * Like fetch, nothing runs JS from a network callback: events are queued on the client and
 * one JOB_WS_EVENT delivers them in the context's turn. A refusal or failure is an error
 * event then a close event with code 1006 whose reason says why (we are not a browser that
 * hides it from the page: the tenant is the operator's, and the same line is logged). */
#include "runtime/websocket_client.h"

#include "runtime/fetch.h"
#include "runtime/resolver.h"
#include "runtime/runtime.h"
#include "util/egress_policy.h"
#include "util/utf8.h"
#include "util/ws_handshake.h"

#include <assert.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

/* The 101 answer's head may not exceed this. */
#define WS_HEAD_MAX ((size_t)16 << 10)
/* Received bytes waiting for their JS per socket before it stops reading. */
#define WS_EVENTS_MAX ((size_t)1 << 20)
/* How long a closing handshake may wait for the server's close frame. */
#define WS_CLOSE_WAIT_MS 5000
#define WS_READ_BYTES ((size_t)64 << 10)
/* A context's name lookups in flight; its other sockets wait for one to end (so a tenant
 * whose names resolve slowly holds 2 of the process's RESOLVER_MAX_THREADS, not 16). */
#define WS_LOOKUPS_PER_CONTEXT 2

enum ws_state { WS_RESOLVING, WS_CONNECTING, WS_TLS, WS_HANDSHAKE, WS_OPEN, WS_CLOSING, WS_CLOSED };

typedef struct ws_event {
    struct ws_event *next;
    int kind;       /* enum engine_ws_event_kind */
    int code;
    bool was_clean, is_error;
    size_t len;
    char data[];    /* the message, the reason, or the protocol (NUL-terminated) */
} ws_event;

typedef struct ws_client {
    uint64_t id;
    struct jsp_context *ctx; /* NULL once its JS let go (close event ran) or the context died */
    runtime *rt;
    int state;               /* enum ws_state */
    bool is_tls, is_counted, is_close_requested, is_event_queued, is_read_paused, is_finished;
    char *host, *host_header, *resource, *protocols;
    int port;
    char url[300];           /* for messages */
    char accept[32];         /* the Sec-WebSocket-Accept the server must answer */
    int handles;             /* open libuv handles: freed at 0 */
    resolver_lookup *lookup; /* its name lookup in flight (counted in ctx->ws_lookups) */
    bool is_lookup_waiting;  /* its lookup waits for one of its context's to end */
    struct addrinfo *addrs, *next_addr;
    struct addrinfo literal;  /* an IP literal host: its one address, no resolver */
    struct sockaddr_storage literal_addr;
    uv_tcp_t tcp;
    bool has_tcp;
    uv_connect_t connect;
    uv_timer_t timer;
    bool has_timer;
    SSL *ssl;
    BIO *rbio, *wbio;        /* the network side of the TLS session (owned by ssl) */
    char *head;
    size_t head_len;
    char *in;                /* received plaintext wslay has not read yet */
    size_t in_len, in_off, in_cap;
    wslay_event_context_ptr ws;
    uint64_t writing;        /* bytes handed to uv_write, not yet written */
    char *out;               /* bytes to write, gathered: one uv_write per flush_out */
    size_t out_len, out_cap;
    bool is_dirty;           /* messages queued in wslay since the last pump */
    ws_event *events, *events_tail;
    size_t events_bytes;
    size_t partial_bytes;    /* wslay's buffers for the message being received (it allocates
                                each frame's declared length at the frame's start) */
    bool is_over_budget;     /* a frame would take the context past fetch_hold_budget */
    char protocol[128];
    uint16_t close_code;     /* from the server's close frame */
    char close_reason[124];
    size_t close_reason_len;
    char failure[400];       /* why it failed, for the close event's reason */
} ws_client;

static void finish(ws_client *c, int code, const char *reason, bool was_clean, bool is_error);
static void pump(ws_client *c);
static void lookup_next(struct jsp_context *ctx);

/* A lookup let go of (its socket failed, closed or was dropped) has ended: until then it
 * counted against its context's WS_LOOKUPS_PER_CONTEXT, or opening and closing sockets to
 * a slow name would leave any number of threads in getaddrinfo. */
static void on_lookup_gone(void *data)
{
    struct jsp_context *ctx = data;
    ctx->ws_lookups--;
    if (!ctx->is_dead)
        lookup_next(ctx);
    context_release(ctx);
}

static void maybe_free(ws_client *c)
{
    if (c->handles > 0 || c->ctx)
        return;
    while (c->events) {
        ws_event *e = c->events;
        c->events = e->next;
        free(e);
    }
    if (c->addrs)
        freeaddrinfo(c->addrs);
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ws)
        wslay_event_context_free(c->ws);
    free(c->host);
    free(c->host_header);
    free(c->resource);
    free(c->protocols);
    free(c->head);
    free(c->in);
    free(c->out);
    free(c);
}

static void on_handle_closed(uv_handle_t *handle)
{
    ws_client *c = handle->data;
    if (handle == (uv_handle_t *)&c->tcp)
        c->has_tcp = false;
    c->handles--;
    maybe_free(c);
}

/* Stops the network side: the TCP connection, the timer, the request slot. (uv_write has
 * handed what it could to the kernel already, a last close frame included: uv_close drops
 * only what the kernel would not take; waiting for that would let a server that never
 * reads hold the socket.) */
static void teardown(ws_client *c)
{
    if (c->is_counted && c->ctx)
        fetch_slot_give(c->ctx);
    c->is_counted = false;
    c->is_lookup_waiting = false;
    if (c->lookup) { /* its thread may go on in getaddrinfo: it counts until it returns */
        assert(c->ctx);
        context_retain(c->ctx);
        resolver_cancel(c->lookup, on_lookup_gone, c->ctx);
        c->lookup = NULL;
    }
    if (c->has_timer && !uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (c->has_tcp && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    }
    c->state = WS_CLOSED;
}

/* ---- what received messages hold ---- */

/* Messages received and not yet given to its JS count against fetch_hold_budget, all of
 * a context's sockets together (per socket, 16 sockets held 16 x 64 MiB of host memory
 * that no limit counted before the JS saw a byte: attacker review). */
/* c lets go of its context: what it held no longer counts there. */
static void uncount_received(ws_client *c)
{
    if (c->ctx) {
        assert(c->ctx->ws_received_bytes >= c->partial_bytes + c->events_bytes);
        c->ctx->ws_received_bytes -= c->partial_bytes + c->events_bytes;
    }
    c->partial_bytes = c->events_bytes = 0;
}

/* ---- events for the JS ---- */

static void queue_job(ws_client *c)
{
    if (c->is_event_queued || !c->ctx)
        return;
    job *j = job_new(JOB_WS_EVENT, c->ctx, NULL, 0, NULL);
    if (!j)
        return; /* out of memory: delivered with the socket's next event */
    j->fetch_id = c->id;
    if (job_queue_push(&c->ctx->rt->queue, j) != 0) {
        job_free(j);
        return;
    }
    c->is_event_queued = true;
}

static bool queue_event(ws_client *c, int kind, const void *data, size_t len, int code, bool was_clean, bool is_error)
{
    ws_event *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return false;
    *e = (ws_event){.kind = kind, .code = code, .was_clean = was_clean, .is_error = is_error, .len = len};
    if (len)
        memcpy(e->data, data, len);
    e->data[len] = '\0';
    if (c->events_tail)
        c->events_tail->next = e;
    else
        c->events = e;
    c->events_tail = e;
    c->events_bytes += len;
    if (c->ctx)
        c->ctx->ws_received_bytes += len;
    if (c->events_bytes > WS_EVENTS_MAX && c->has_tcp && !c->is_read_paused) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->is_read_paused = true;
    }
    queue_job(c);
    return true;
}

/* The end: the close event (after an error event when is_error), the network let go. */
static void finish(ws_client *c, int code, const char *reason, bool was_clean, bool is_error)
{
    if (c->is_finished)
        return;
    c->is_finished = true;
    if (is_error && c->ctx) {
        char line[600];
        snprintf(line, sizeof(line), "WebSocket %.300s failed: %s", c->url, reason);
        runtime_log(c->ctx, JSP_LOG_WARN, line);
    }
    teardown(c);
    if (c->ctx && !queue_event(c, ENGINE_WS_CLOSE, reason, strlen(reason), code, was_clean, is_error)) {
        u64_map_remove(&c->ctx->websockets, c->id); /* out of memory: forgotten without its event */
        uncount_received(c);
        c->ctx = NULL;
        maybe_free(c);
    }
}

static void fail(ws_client *c, const char *why)
{
    if (why != c->failure)
        snprintf(c->failure, sizeof(c->failure), "%s", why);
    finish(c, 1006, c->failure, false, true);
}

/* ---- bytes out ---- */

typedef struct ws_write {
    uv_write_t req;
    ws_client *c;
    size_t len;
    char data[];
} ws_write;

static void on_written(uv_write_t *req, int status)
{
    ws_write *w = (ws_write *)req;
    ws_client *c = w->c;
    c->writing -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED && !c->is_finished && c->ctx) {
        char why[120];
        snprintf(why, sizeof(why), "the connection was lost (%s)", uv_strerror(status));
        fail(c, why);
    }
}

static int raw_write(ws_client *c, const void *data, size_t len)
{
    if (!c->has_tcp || uv_is_closing((uv_handle_t *)&c->tcp))
        return -1;
    ws_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return -1;
    w->c = c;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    c->writing += len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        c->writing -= len;
        free(w);
        return -1;
    }
    return 0;
}

/* Gathers bytes for the next flush_out: the frames of one pump (a burst of sends from one
 * JS turn included) leave in one write(2). */
static int out_append(ws_client *c, const void *data, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *grown = realloc(c->out, cap);
        if (!grown)
            return -1;
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

static int flush_out(ws_client *c)
{
    if (!c->out_len)
        return 0;
    int rc = raw_write(c, c->out, c->out_len);
    c->out_len = 0;
    if (c->out_cap > ((size_t)1 << 20)) { /* a big message passed: give its buffer back */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    return rc;
}

static int flush_tls(ws_client *c)
{
    char buf[16384];
    int n;
    while ((n = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
        if (out_append(c, buf, (size_t)n) != 0)
            return -1;
    return flush_out(c);
}

static int net_write(ws_client *c, const void *data, size_t len)
{
    if (!c->ssl)
        return out_append(c, data, len);
    if (len && SSL_write(c->ssl, data, (int)len) <= 0) /* memory BIO: all or an error */
        return -1;
    return flush_tls(c);
}

/* ---- wslay ---- */

static ssize_t on_ws_recv(wslay_event_context_ptr ws, uint8_t *buf, size_t len, int flags, void *user)
{
    ws_client *c = user;
    if (c->is_over_budget) { /* pump() fails the socket, naming the budget */
        wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    size_t left = c->in_len - c->in_off;
    if (!left) {
        wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = left < len ? left : len;
    memcpy(buf, c->in + c->in_off, n);
    c->in_off += n;
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    return (ssize_t)n;
}

static ssize_t on_ws_send(wslay_event_context_ptr ws, const uint8_t *data, size_t len, int flags, void *user)
{
    ws_client *c = user;
    if (net_write(c, data, len) != 0) {
        wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static int on_ws_genmask(wslay_event_context_ptr ws, uint8_t *buf, size_t len, void *user)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* A frame starts: wslay is about to allocate its whole declared length (a data frame's),
 * so that is what it counts against the context's receive budget, from now on. */
static void on_ws_frame_start(wslay_event_context_ptr ws, const struct wslay_event_on_frame_recv_start_arg *arg,
                              void *user)
{
    ws_client *c = user;
    if (wslay_is_ctrl_frame(arg->opcode) || !c->ctx || c->is_over_budget)
        return;
    if (c->ctx->ws_received_bytes + arg->payload_length > fetch_hold_budget(c->ctx)) {
        c->is_over_budget = true;
        return;
    }
    c->partial_bytes += arg->payload_length;
    c->ctx->ws_received_bytes += arg->payload_length;
}

static void on_ws_message(wslay_event_context_ptr ws, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    ws_client *c = user;
    if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) {
        if (c->ctx) /* wslay's buffers go; a queued event counts its own copy */
            c->ctx->ws_received_bytes -= c->partial_bytes;
        c->partial_bytes = 0;
    }
    if (c->is_finished)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) {
        if (c->state != WS_OPEN)
            return; /* after close(): messages are dropped, as the standard says */
        if (arg->opcode == WSLAY_TEXT_FRAME && !utf8_is_valid((const char *)arg->msg, arg->msg_length)) {
            wslay_event_queue_close(ws, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, NULL, 0);
            return; /* pump() fails the socket once the close frame is out */
        }
        if (!queue_event(c, arg->opcode == WSLAY_TEXT_FRAME ? ENGINE_WS_TEXT : ENGINE_WS_BINARY, arg->msg,
                         arg->msg_length, 0, false, false))
            wslay_event_queue_close(ws, WSLAY_CODE_INTERNAL_SERVER_ERROR, NULL, 0);
    } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        c->close_code = arg->status_code;
        size_t n = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
        if (n > sizeof(c->close_reason))
            n = sizeof(c->close_reason);
        memcpy(c->close_reason, arg->msg + 2, n);
        c->close_reason_len = utf8_is_valid(c->close_reason, n) ? n : 0;
    }
}

static const char *code_meaning(int code)
{
    switch (code) {
    case WSLAY_CODE_MESSAGE_TOO_BIG:
        return "a message was larger than this context's egress_max_response_bytes";
    case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
        return "a text message was not valid UTF-8";
    case WSLAY_CODE_INTERNAL_SERVER_ERROR:
        return "out of memory";
    default:
        return "the server broke the WebSocket protocol";
    }
}

/* Reads what wslay can, writes what it queued, and ends the socket when the closing
 * handshake is complete or wslay failed it. */
static void pump(ws_client *c)
{
    if (c->is_finished || !c->ws)
        return;
    c->is_dirty = false;
    if (wslay_event_recv(c->ws) != 0 || wslay_event_send(c->ws) != 0 || flush_out(c) != 0) {
        char why[200];
        if (c->is_over_budget && c->ctx)
            snprintf(why, sizeof(why), "messages being received by this context's sockets would hold more than "
                     "%llu bytes (its egress_max_response_bytes, or its memory limit)",
                     (unsigned long long)fetch_hold_budget(c->ctx));
        fail(c, c->is_over_budget ? why : "the connection was lost");
        return;
    }
    bool sent = wslay_event_get_close_sent(c->ws), received = wslay_event_get_close_received(c->ws);
    if (sent && received && !wslay_event_want_write(c->ws)) {
        char reason[sizeof(c->close_reason) + 1];
        memcpy(reason, c->close_reason, c->close_reason_len);
        reason[c->close_reason_len] = '\0';
        finish(c, c->close_code ? c->close_code : WSLAY_CODE_NO_STATUS_RCVD, reason, true, false);
    } else if (sent && !received && !c->is_close_requested) {
        char why[160];
        int code = wslay_event_get_status_code_sent(c->ws);
        if (code == WSLAY_CODE_MESSAGE_TOO_BIG)
            snprintf(why, sizeof(why), "%s (%llu bytes)", code_meaning(code),
                     c->ctx ? (unsigned long long)c->ctx->egress_max_response_bytes : 0ULL);
        else
            snprintf(why, sizeof(why), "%s", code_meaning(code));
        fail(c, c->failure[0] ? c->failure : why); /* wslay failed it (close frame sent): its frame is
                                                      flushed first; a reason set before wins */
    }
}

/* Fails c as the standard's "fail the WebSocket connection": a close frame with code to the
 * server (flushed before the connection goes), then error and close events saying why. */
static void fail_closing(ws_client *c, int code, const char *why)
{
    if (why != c->failure)
        snprintf(c->failure, sizeof(c->failure), "%s", why); /* pump() fails with it */
    if (c->ws && !c->is_finished && !wslay_event_get_close_sent(c->ws)) {
        wslay_event_queue_close(c->ws, (uint16_t)code, NULL, 0);
        pump(c);
    }
    fail(c, c->failure);
}

/* ---- the handshake ---- */

static void on_timer(uv_timer_t *timer)
{
    ws_client *c = timer->data;
    if (c->is_finished || !c->ctx)
        return;
    if (c->state < WS_OPEN) {
        char why[120];
        snprintf(why, sizeof(why), "no connection within this context's egress_timeout_ms (%llu ms)",
                 (unsigned long long)c->ctx->egress_timeout_ms);
        fail(c, why);
    } else {
        finish(c, 1006, "the server did not answer the close frame", false, false);
    }
}

static void send_upgrade(ws_client *c)
{
    unsigned char nonce[16];
    char key[32];
    if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
        fail(c, "no random bytes for the handshake key");
        return;
    }
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
    ws_handshake_accept(key, c->accept);
    size_t cap = strlen(c->resource) + strlen(c->host_header) + strlen(c->protocols) + 400;
    char *request = malloc(cap);
    if (!request) {
        fail(c, "out of memory");
        return;
    }
    int n = snprintf(request, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%sUser-Agent: jspool-websocket\r\n\r\n",
                     c->resource, c->host_header, key, *c->protocols ? "Sec-WebSocket-Protocol: " : "", c->protocols,
                     *c->protocols ? "\r\n" : "");
    c->state = WS_HANDSHAKE;
    if (net_write(c, request, (size_t)n) != 0 || flush_out(c) != 0)
        fail(c, "the connection was lost");
    free(request);
}

/* The server's answer to the Upgrade request, complete in c->head (cut in place): true
 * (the socket is open) or false (failed). */
static bool check_answer(ws_client *c)
{
    char why[200];
    const char *problem = ws_handshake_check(c->head, c->accept, c->protocols, c->protocol, sizeof(c->protocol), why,
                                             sizeof(why));
    if (problem)
        fail(c, problem);
    return !problem;
}

static bool start_frames(ws_client *c)
{
    struct wslay_event_callbacks callbacks = {.recv_callback = on_ws_recv, .send_callback = on_ws_send,
                                              .genmask_callback = on_ws_genmask,
                                              .on_msg_recv_callback = on_ws_message,
                                              .on_frame_recv_start_callback = on_ws_frame_start};
    if (wslay_event_context_client_init(&c->ws, &callbacks, c) != 0) {
        fail(c, "out of memory");
        return false;
    }
    wslay_event_config_set_max_recv_msg_length(c->ws, c->ctx->egress_max_response_bytes);
    return true;
}

static bool in_append(ws_client *c, const char *data, size_t len)
{
    if (c->in_len + len > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 16384;
        while (cap < c->in_len + len)
            cap *= 2;
        char *grown = realloc(c->in, cap);
        if (!grown)
            return false;
        c->in = grown;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    return true;
}

/* Plaintext from the server. */
static void on_plain(ws_client *c, const char *data, size_t len)
{
    if (c->state == WS_HANDSHAKE) {
        size_t old = c->head_len;
        if (old + len > WS_HEAD_MAX) {
            fail(c, "the server's answer to the handshake is larger than 16 KiB");
            return;
        }
        char *grown = realloc(c->head, old + len + 1);
        if (!grown) {
            fail(c, "out of memory");
            return;
        }
        c->head = grown;
        memcpy(c->head + old, data, len);
        c->head_len = old + len;
        c->head[c->head_len] = '\0';
        char *end = strstr(c->head + (old > 3 ? old - 3 : 0), "\r\n\r\n");
        if (!end)
            return;
        size_t head_len = (size_t)(end - c->head) + 4;
        if (memchr(c->head, '\0', head_len)) {
            fail(c, "the server's answer to the handshake holds a NUL byte");
            return;
        }
        char after = c->head[head_len];
        c->head[head_len] = '\0'; /* (restored below: the frames after the head) */
        if (!check_answer(c) || !start_frames(c))
            return;
        c->head[head_len] = after;
        if (c->has_timer)
            uv_timer_stop(&c->timer);
        c->state = WS_OPEN;
        queue_event(c, ENGINE_WS_OPEN, c->protocol, strlen(c->protocol), 0, false, false);
        if (c->head_len > head_len && !in_append(c, c->head + head_len, c->head_len - head_len)) {
            fail(c, "out of memory");
            return;
        }
        free(c->head);
        c->head = NULL;
        c->head_len = 0;
        pump(c);
        return;
    }
    if (c->state != WS_OPEN && c->state != WS_CLOSING)
        return;
    if (!in_append(c, data, len)) {
        fail(c, "out of memory");
        return;
    }
    pump(c);
}

static void tls_error(ws_client *c, const char *what)
{
    char why[400];
    long verify = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_get_error();
    if (verify != X509_V_OK)
        snprintf(why, sizeof(why), "TLS: the server's certificate was refused: %s",
                 X509_verify_cert_error_string(verify));
    else
        snprintf(why, sizeof(why), "TLS %s: %s", what, e ? ERR_reason_error_string(e) : "failed");
    ERR_clear_error();
    fail(c, why);
}

/* Moves TLS along with what arrived: the handshake, then plaintext to on_plain. */
static void tls_pump(ws_client *c)
{
    if (c->state == WS_TLS) {
        int r = SSL_do_handshake(c->ssl);
        if (flush_tls(c) != 0) {
            fail(c, "the connection was lost");
            return;
        }
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                tls_error(c, "handshake");
            return;
        }
        send_upgrade(c);
    }
    char buf[16384];
    while (!c->is_finished && c->ssl) {
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n > 0) {
            on_plain(c, buf, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN)
            fail(c, "the server closed the connection");
        else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            tls_error(c, "read");
        break;
    }
    if (!c->is_finished && flush_tls(c) != 0)
        fail(c, "the connection was lost");
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    buf->base = malloc(WS_READ_BYTES);
    buf->len = buf->base ? WS_READ_BYTES : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    ws_client *c = stream->data;
    if (nread > 0 && !c->is_finished && c->ctx) {
        if (c->ssl) {
            BIO_write(c->rbio, buf->base, (int)nread);
            tls_pump(c);
        } else {
            on_plain(c, buf->base, (size_t)nread);
        }
    } else if (nread < 0 && !c->is_finished && c->ctx) {
        if (c->state < WS_OPEN) {
            fail(c, "the server closed the connection during the handshake");
        } else if (c->ws && wslay_event_get_close_received(c->ws)) {
            char reason[sizeof(c->close_reason) + 1];
            memcpy(reason, c->close_reason, c->close_reason_len);
            reason[c->close_reason_len] = '\0';
            finish(c, c->close_code ? c->close_code : WSLAY_CODE_NO_STATUS_RCVD, reason, true, false);
        } else {
            fail(c, "the server closed the connection without a close frame");
        }
    }
    free(buf->base);
}

static bool start_tls(ws_client *c)
{
    SSL_CTX *tls = SSL_CTX_new(TLS_client_method());
    if (!tls)
        return false;
    SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
    int ok = c->ctx->egress_ca_file ? SSL_CTX_load_verify_locations(tls, c->ctx->egress_ca_file, NULL)
                                    : SSL_CTX_set_default_verify_paths(tls);
    c->ssl = ok == 1 ? SSL_new(tls) : NULL;
    SSL_CTX_free(tls); /* the SSL holds its own reference */
    if (!c->ssl)
        return false;
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->rbio || !c->wbio) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        return false;
    }
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    struct sockaddr_storage literal;
    if (egress_address_from_text(c->host, &literal)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
    } else {
        SSL_set_tlsext_host_name(c->ssl, c->host);
        SSL_set1_host(c->ssl, c->host);
    }
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(c->ssl, alpn, sizeof(alpn) - 1);
    SSL_set_connect_state(c->ssl);
    c->state = WS_TLS;
    tls_pump(c);
    return true;
}

static void try_connect(ws_client *c);

static void on_connect_failed_closed(uv_handle_t *handle)
{
    ws_client *c = handle->data;
    c->has_tcp = false;
    c->handles--;
    if (c->ctx && !c->is_finished)
        try_connect(c);
    else
        maybe_free(c);
}

static void on_connected(uv_connect_t *req, int status)
{
    ws_client *c = req->data;
    if (c->is_finished || !c->ctx)
        return; /* its handle is closing */
    if (status < 0) {
        snprintf(c->failure, sizeof(c->failure), "could not connect: %s", uv_strerror(status));
        uv_close((uv_handle_t *)&c->tcp, on_connect_failed_closed); /* then the next address */
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (c->is_tls) {
        if (!start_tls(c))
            fail(c, "TLS could not start (out of memory, or the CA file could not be read)");
    } else {
        send_upgrade(c);
    }
}

/* Connects to the next resolved address the egress policy allows. */
static void try_connect(ws_client *c)
{
    while (c->next_addr) {
        struct addrinfo *ai = c->next_addr;
        c->next_addr = ai->ai_next;
        char why[300];
        if (!egress_allows_address(&c->ctx->egress, ai->ai_addr, why, sizeof(why))) {
            snprintf(c->failure, sizeof(c->failure), "%s", why);
            continue;
        }
        if (uv_tcp_init(&c->rt->loop, &c->tcp) != 0)
            break;
        c->tcp.data = c;
        c->has_tcp = true;
        c->handles++;
        c->connect.data = c;
        c->state = WS_CONNECTING;
        int rc = uv_tcp_connect(&c->connect, &c->tcp, ai->ai_addr, on_connected);
        if (rc == 0)
            return;
        snprintf(c->failure, sizeof(c->failure), "could not connect: %s", uv_strerror(rc));
        uv_close((uv_handle_t *)&c->tcp, on_connect_failed_closed);
        return;
    }
    fail(c, c->failure[0] ? c->failure : "the host has no address");
}

static void on_resolved(void *data, int status, struct addrinfo *res)
{
    ws_client *c = data;
    c->lookup = NULL;
    c->addrs = res;
    c->next_addr = res;
    assert(c->ctx && !c->is_finished); /* else teardown cancelled it */
    c->ctx->ws_lookups--;
    lookup_next(c->ctx);
    if (status != 0) {
        char why[200];
        snprintf(why, sizeof(why), "could not resolve '%.100s': %s", c->host, gai_strerror(status));
        fail(c, why);
        return;
    }
    try_connect(c);
}

static void start_lookup(ws_client *c)
{
    char why[300];
    c->is_lookup_waiting = false;
    c->lookup = resolver_start(&c->rt->loop, c->host, c->port, on_resolved, c, why, sizeof(why));
    if (!c->lookup) {
        char line[400];
        snprintf(line, sizeof(line), "could not resolve '%.100s': %.250s", c->host, why);
        fail(c, line);
        return;
    }
    c->ctx->ws_lookups++;
}

/* A lookup of ctx's ended: the socket that has waited longest for one starts its own. */
static void lookup_next(struct jsp_context *ctx)
{
    while (ctx->ws_lookups < WS_LOOKUPS_PER_CONTEXT) {
        ws_client *first = NULL;
        for (size_t i = 0; i < ctx->websockets.capacity; i++) {
            u64_map_slot *slot = &ctx->websockets.slots[i];
            if (slot->key == 0 || slot->key == UINT64_MAX)
                continue;
            ws_client *c = slot->value;
            if (c->is_lookup_waiting && !c->is_finished && (!first || c->id < first->id))
                first = c;
        }
        if (!first)
            return;
        start_lookup(first); /* or fails it: then the next */
    }
}

/* ---- the engine host's operations ---- */

int ws_client_open(struct jsp_context *ctx, const engine_ws_request *req, uint64_t *id, char *error, size_t error_len)
{
    assert(runtime_is_thread_of(ctx->rt));
    ws_client *c = calloc(1, sizeof(*c));
    if (c) {
        c->host = strdup(req->host);
        c->host_header = strdup(req->host_header);
        c->resource = strdup(req->resource);
        c->protocols = strdup(req->protocols);
    }
    if (!c || !c->host || !c->host_header || !c->resource || !c->protocols ||
        u64_map_put(&ctx->websockets, ctx->next_ws_id + 1, c) != 0) {
        if (c) {
            free(c->host);
            free(c->host_header);
            free(c->resource);
            free(c->protocols);
            free(c);
        }
        snprintf(error, error_len, "WebSocket: out of memory");
        return -1;
    }
    c->id = ++ctx->next_ws_id;
    c->ctx = ctx;
    c->rt = ctx->rt;
    c->is_tls = req->is_tls;
    c->port = req->port;
    snprintf(c->url, sizeof(c->url), "%s://%.200s%.80s", req->is_tls ? "wss" : "ws", req->host_header, req->resource);
    *id = c->id;
    char why[300];
    if (!egress_allows_url(&ctx->egress, req->is_tls ? "https" : "http", req->host, req->port, why, sizeof(why))) {
        fail(c, why);
        return 0;
    }
    if (ctx->fetches_active >= ctx->egress_max_requests) {
        snprintf(why, sizeof(why), "this context already has %d requests and sockets open, its egress_max_requests",
                 ctx->egress_max_requests);
        fail(c, why);
        return 0;
    }
    if (!fetch_slot_take(ctx, why, sizeof(why))) {
        fail(c, why);
        return 0;
    }
    c->is_counted = true;
    if (ctx->egress_timeout_ms) {
        uv_timer_init(&c->rt->loop, &c->timer);
        c->timer.data = c;
        c->has_timer = true;
        c->handles++;
        uv_timer_start(&c->timer, on_timer, ctx->egress_timeout_ms, 0);
    }
    if (egress_address_from_text(c->host, &c->literal_addr)) { /* no trip to libuv's threadpool */
        struct sockaddr *sa = (struct sockaddr *)&c->literal_addr;
        if (sa->sa_family == AF_INET)
            ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)req->port);
        else
            ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)req->port);
        c->literal = (struct addrinfo){.ai_family = sa->sa_family, .ai_socktype = SOCK_STREAM, .ai_addr = sa,
                                       .ai_addrlen = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                                              : sizeof(struct sockaddr_in6)};
        c->next_addr = &c->literal;
        try_connect(c);
        return 0;
    }
    c->state = WS_RESOLVING;
    if (ctx->ws_lookups >= WS_LOOKUPS_PER_CONTEXT)
        c->is_lookup_waiting = true; /* lookup_next starts it; egress_timeout_ms still runs */
    else
        start_lookup(c);
    return 0;
}

static uint64_t buffered_of(const ws_client *c)
{
    return c->writing + c->out_len + (c->ws ? wslay_event_get_queued_msg_length(c->ws) : 0);
}

int ws_client_send(struct jsp_context *ctx, uint64_t id, const void *data, size_t len, bool is_binary, char *error,
                   size_t error_len)
{
    ws_client *c = u64_map_get(&ctx->websockets, id);
    if (!c || c->state != WS_OPEN || c->is_finished)
        return 1;
    uint64_t total = len;
    for (size_t i = 0; i < ctx->websockets.capacity; i++) {
        u64_map_slot *slot = &ctx->websockets.slots[i];
        if (slot->key != 0 && slot->key != UINT64_MAX)
            total += buffered_of(slot->value);
    }
    size_t max = services_of(ctx)->config->max_queued_bytes;
    if (total > max) {
        snprintf(error, error_len, "the context's WebSockets hold more than max_queued_bytes (%zu bytes) unsent", max);
        fail(c, error);
        return -1;
    }
    struct wslay_event_msg msg = {.opcode = is_binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
                                  .msg = data, .msg_length = len};
    int rc = wslay_event_queue_msg(c->ws, &msg);
    if (rc == WSLAY_ERR_NO_MORE_MSG)
        return 1; /* the server's close frame came first: dropped, as after close() */
    if (rc != 0) {
        snprintf(error, error_len, "out of memory");
        fail(c, error);
        return -1;
    }
    /* Written when the JS turn ends (ws_client_flush_context), so that a burst of sends
     * leaves in one write(2): 64 echoes in flight on one socket went from 47.6k to 65k-110k
     * round trips/s (bench/apis/websocket.sh, loaded machine). */
    c->is_dirty = true;
    ctx->ws_dirty = true;
    return 0;
}

void ws_client_flush_context(struct jsp_context *ctx)
{
    ctx->ws_dirty = false;
    for (size_t i = 0; i < ctx->websockets.capacity; i++) {
        u64_map_slot *slot = &ctx->websockets.slots[i];
        if (slot->key == 0 || slot->key == UINT64_MAX)
            continue;
        ws_client *c = slot->value;
        if (c->is_dirty)
            pump(c); /* may finish c: it stays in the map until its close event ran */
    }
}

void ws_client_close(struct jsp_context *ctx, uint64_t id, int code, const char *reason, size_t reason_len)
{
    ws_client *c = u64_map_get(&ctx->websockets, id);
    if (!c || c->is_finished || c->is_close_requested)
        return;
    c->is_close_requested = true;
    if (c->state < WS_OPEN) {
        fail(c, "close() was called before the connection was established");
        return;
    }
    c->state = WS_CLOSING;
    if (c->has_timer || uv_timer_init(&c->rt->loop, &c->timer) == 0) {
        if (!c->has_timer) {
            c->timer.data = c;
            c->has_timer = true;
            c->handles++;
        }
        uv_timer_start(&c->timer, on_timer, WS_CLOSE_WAIT_MS, 0);
    }
    if (!wslay_event_get_close_sent(c->ws))
        wslay_event_queue_close(c->ws, (uint16_t)code, (const uint8_t *)reason, reason_len);
    pump(c);
}

uint64_t ws_client_buffered(struct jsp_context *ctx, uint64_t id)
{
    ws_client *c = u64_map_get(&ctx->websockets, id);
    return c ? buffered_of(c) : 0;
}

void ws_client_run_job(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    uint64_t id = j->fetch_id;
    ws_client *c = ctx->is_dead ? NULL : u64_map_get(&ctx->websockets, id);
    if (!c) {
        job_free(j);
        return; /* its context died or its VM was rebuilt */
    }
    c->is_event_queued = false;
    ws_event *list = c->events;
    c->events = c->events_tail = NULL;
    ctx->ws_received_bytes -= c->events_bytes;
    c->events_bytes = 0;
    bool is_over = false, is_failed = false;
    ctx->ws_in_job = true; /* sends of its handlers leave together, after the loop */
    while (list) {
        ws_event *e = list;
        list = e->next;
        if (ctx->is_dead || is_over || !(c = u64_map_get(&ctx->websockets, id))) {
            free(e);
            continue;
        }
        engine_ws_event ev = {.kind = e->kind, .text = e->data, .len = e->len, .extra = "", .code = e->code,
                              .was_clean = e->was_clean, .is_error = e->is_error};
        if (is_failed && e->kind != ENGINE_WS_CLOSE) {
            free(e); /* received before its handler tripped a limit: the socket failed */
            continue;
        }
        js_run run;
        bool is_known = true, is_too_big = false;
        uint64_t outer = ctx->current_call_id;
        ctx->current_call_id = 0; /* a socket's events belong to no call */
        engine_set_current_call(ctx->ec, 0);
        if (runtime_enter_js(rt, ctx, &run)) {
            is_known = engine_ws_deliver(ctx->ec, id, &ev, &is_too_big);
            runtime_leave_js(rt, &run);
        } else if (run.budget.tripped == JSP_EOOM && e->kind == ENGINE_WS_CLOSE && !ctx->is_dead) {
            /* An isolated context over its memory limit: its JS hears the end all the same,
             * unmetered as fetch's failures are (its CPU and wall limits hold), or the socket
             * would stay OPEN for it forever. */
            runtime_enter_js_unmetered(rt, ctx, &run);
            is_known = engine_ws_deliver(ctx->ec, id, &ev, &is_too_big);
            runtime_leave_js(rt, &run);
        }
        ctx->current_call_id = outer;
        if (!ctx->is_dead)
            engine_set_current_call(ctx->ec, outer);
        int tripped = run.budget.tripped;
        if (ctx->is_dead || !(c = u64_map_get(&ctx->websockets, id))) {
            free(e);
            continue;
        }
        if (tripped && tripped != JSP_EDESTROYED && tripped != JSP_ECLOSED && e->kind != ENGINE_WS_CLOSE &&
            !c->is_finished) {
            /* Its handler was stopped mid-way (or could not start): its JS may hold the socket
             * half-handled, so it is failed as a browser fails one — close 1011 to the server,
             * error and close events naming the limit — instead of left OPEN and deaf. */
            char why[160];
            snprintf(why, sizeof(why), "its %s event handler was stopped by this context's %s limit",
                     e->kind == ENGINE_WS_OPEN ? "open" : "message",
                     tripped == JSP_ECPU_LIMIT ? "CPU" : tripped == JSP_EWALL_LIMIT ? "wall" : "memory");
            fail_closing(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, why); /* its close event follows, in the next job */
            is_failed = true;
        } else if (is_too_big) {
            char why[160];
            snprintf(why, sizeof(why), "a message of %zu bytes does not fit in this context's memory limit", e->len);
            fail_closing(c, WSLAY_CODE_MESSAGE_TOO_BIG, why); /* its close event follows, in the next job */
        } else if (e->kind == ENGINE_WS_CLOSE || !is_known) {
            is_over = true; /* its JS has heard the end, or is gone: let go */
            c->is_finished = true;
            teardown(c);
            u64_map_remove(&ctx->websockets, id);
            uncount_received(c);
            c->ctx = NULL;
            maybe_free(c);
        }
        free(e);
    }
    ctx->ws_in_job = false;
    if (!ctx->is_dead && ctx->ws_dirty)
        ws_client_flush_context(ctx);
    if (!ctx->is_dead && !is_over && (c = u64_map_get(&ctx->websockets, id)) != NULL && c->is_read_paused &&
        c->events_bytes <= WS_EVENTS_MAX && c->has_tcp && !c->is_finished) {
        c->is_read_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    job_free(j); /* last: its reference keeps ctx */
}

void ws_client_drop_context(struct jsp_context *ctx)
{
    for (size_t i = 0; i < ctx->websockets.capacity; i++) {
        u64_map_slot *slot = &ctx->websockets.slots[i];
        if (slot->key == 0 || slot->key == UINT64_MAX)
            continue;
        ws_client *c = slot->value;
        c->is_finished = true; /* no events, no lookup started: its JS is gone */
    }
    for (size_t i = 0; i < ctx->websockets.capacity; i++) {
        u64_map_slot *slot = &ctx->websockets.slots[i];
        if (slot->key == 0 || slot->key == UINT64_MAX)
            continue;
        ws_client *c = slot->value;
        teardown(c);
        uncount_received(c);
        c->ctx = NULL;
        maybe_free(c);
    }
    u64_map_free(&ctx->websockets);
}
