/* keynote_client — the load harness of bench/keynote: keynote-2's transfer workload driven
 * over the network, one libuv loop on one thread.
 *
 *   keynote_client --url ws://127.0.0.1:8080/v1/contexts/bank/ws     (jspool call protocol)
 *   keynote_client --url http://127.0.0.1:4101/call/                 (the Node peers)
 *       [--clients 64] [--inflight 40] [--accounts 100000] [--balance 1000000000]
 *       [--alpha 0|0.5|1.0|1.5] [--seconds 10] [--warmup 3] [--seed N] [--pairs N]
 *       [--label NAME] [--header 'Name: value'] [--no-audit] [--probe]
 *
 * ws://  one WebSocket per client, up to --inflight calls in flight on it: text frames
 *        {"id":N,"call":"transfer","args":["<from>","<to>",1]}, answered by {"id":N,"result":..}
 *        or {"id":N,"error":{..}}, in any order.
 * http:// keynote-2's transport for its Node peers: fetch() through undici's default agent,
 *        which opens one keep-alive connection per request in flight (no HTTP pipelining).
 *        So each client owns --inflight connections with one POST {path}transfer (body
 *        ["<from>","<to>",1]) at a time on each; --inflight 1 is keynote-2's headline setting.
 *
 * Pairs are keynote-2's (keynote_pairs.h): --pairs of them precomputed (10,000,000 as
 * keynote-2), client i starting at i × pairs/clients and wrapping. TPS counts the transfers
 * acknowledged without error inside the measured window (after --warmup), divided by
 * --seconds; p50/p99 are over those. After the window nothing new is sent, in-flight calls
 * drain (15 s at most), then `audit` is called once and its {"accounts","total"} checked
 * against accounts × balance. One JSON line on stdout; progress and errors on stderr.
 * --probe: connect one client, call audit, print the answer; exit 0 if answered, 3 if the
 * server did not answer within 3 s (e.g. a WebSocket without the call protocol), 1 on error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "keynote_pairs.h"
#include "../bench_common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/resource.h>
#include <uv.h>
#include <wslay/wslay.h>

enum { MODE_WS, MODE_HTTP };
enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

typedef struct options {
    const char *url, *label, *header;
    int clients, inflight, seconds, warmup, audit, probe;
    uint32_t accounts, seed;
    double alpha, balance;
    size_t pairs;
} options;

typedef struct bytes {
    char *data;
    size_t len, cap;
} bytes;

typedef struct client {
    size_t cursor; /* next pair */
} client;

typedef struct slot {
    uint64_t id, sent_ns;
} slot;

typedef struct conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    int index, state, capacity, inflight;
    client *owner;
    wslay_event_context_ptr ws;
    bytes in;            /* received, not yet consumed */
    size_t in_off;
    bytes out[2];        /* out[writing] is on the wire while the other fills */
    int writing;         /* -1: no write pending */
    slot *slots;         /* WS: capacity slots; id = seq × capacity + slot */
    int *free_slots, nfree;
    uint64_t seq;
    uint64_t http_sent_ns; /* HTTP: the request on the wire */
    bool http_audit;
} conn;

static struct {
    options opt;
    int mode;
    char host[256], port[16], path[1024];
    uv_loop_t *loop;
    uv_timer_t timer;
    keynote_pairs pairs;
    client *clients;
    conn *conns;
    int nconns, connected, closed;
    bool sending, measuring, draining, done;
    uint64_t start_ns, window_start_ns, window_end_ns;
    struct rusage ru_start, ru_end;
    uint64_t acked, errors, acked_total, errors_total, sent_total;
    uint64_t *lat;
    size_t nlat, lat_cap;
    uint64_t *per_second;
    char first_error[512];
    uint64_t audit_id;
    bool audit_answered, audit_ok;
    double audit_accounts, audit_total;
    char audit_text[512];
    int exit_code;
    uint32_t mask_state;
} g;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "keynote_client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void bytes_append(bytes *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void note_error(const char *what, size_t len)
{
    if (!g.first_error[0])
        snprintf(g.first_error, sizeof g.first_error, "%.*s", (int)(len > 400 ? 400 : len), what);
}

/* ---- accounting --------------------------------------------------------------------- */

static void record(uint64_t sent_ns, bool ok)
{
    uint64_t now = bench_now_ns();
    if (ok)
        g.acked_total++;
    else
        g.errors_total++;
    if (!g.measuring || now >= g.window_end_ns)
        return;
    if (!ok) {
        g.errors++;
        return;
    }
    g.acked++;
    uint64_t second = (now - g.window_start_ns) / 1000000000u;
    if (second < (uint64_t)g.opt.seconds)
        g.per_second[second]++;
    if (g.nlat == g.lat_cap) {
        g.lat_cap = g.lat_cap ? g.lat_cap * 2 : 1 << 20;
        g.lat = realloc(g.lat, g.lat_cap * sizeof *g.lat);
        if (!g.lat)
            die("out of memory");
    }
    g.lat[g.nlat++] = now - sent_ns;
}

static void next_pair(conn *c, uint32_t *from, uint32_t *to)
{
    client *cl = c->owner;
    if (cl->cursor >= g.pairs.count)
        cl->cursor = 0;
    *from = g.pairs.from[cl->cursor];
    *to = g.pairs.to[cl->cursor];
    cl->cursor++;
}

/* ---- output ------------------------------------------------------------------------- */

static void flush_out(conn *c);

static void on_written(uv_write_t *req, int status)
{
    conn *c = req->data;
    c->out[c->writing].len = 0;
    c->writing = -1;
    if (status < 0) {
        if (c->state != ST_CLOSED)
            note_error(uv_strerror(status), strlen(uv_strerror(status)));
        return;
    }
    flush_out(c);
}

/* Puts the filling buffer on the wire unless a write is pending (then on_written does). */
static void flush_out(conn *c)
{
    if (c->writing >= 0 || c->state == ST_CLOSED)
        return;
    int fill = c->out[0].len ? 0 : 1;
    if (!c->out[fill].len)
        return;
    c->writing = fill;
    uv_buf_t buf = uv_buf_init(c->out[fill].data, (unsigned)c->out[fill].len);
    c->write_req.data = c;
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_written);
    if (rc < 0) {
        c->writing = -1;
        note_error(uv_strerror(rc), strlen(uv_strerror(rc)));
    }
}

/* The buffer new bytes go to: the one not on the wire. */
static bytes *out_fill(conn *c)
{
    return &c->out[c->writing == 0 ? 1 : 0];
}

/* ---- sending calls ------------------------------------------------------------------ */

static void ws_queue_text(conn *c, const char *text, size_t len)
{
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    int rc = wslay_event_queue_msg(c->ws, &msg);
    if (rc != 0)
        die("wslay_event_queue_msg: %d", rc);
}

static void http_post(conn *c, const char *function, const char *body, size_t len)
{
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "POST %s%s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s%s\r\n",
                     g.path, function, g.host, g.port, len, g.opt.header ? g.opt.header : "",
                     g.opt.header ? "\r\n" : "");
    bytes *b = out_fill(c);
    bytes_append(b, head, (size_t)n);
    bytes_append(b, body, len);
    c->http_sent_ns = bench_now_ns();
    c->inflight = 1;
}

static void send_transfers(conn *c)
{
    if (c->state != ST_OPEN)
        return;
    char buf[160];
    while (g.sending && c->inflight < c->capacity) {
        uint32_t from, to;
        next_pair(c, &from, &to);
        g.sent_total++;
        if (g.mode == MODE_HTTP) {
            int n = snprintf(buf, sizeof buf, "[\"%u\",\"%u\",1]", from, to);
            http_post(c, "transfer", buf, (size_t)n);
            break;
        }
        int s = c->free_slots[--c->nfree];
        uint64_t id = c->seq++ * (uint64_t)c->capacity + (uint64_t)s;
        c->slots[s].id = id;
        c->slots[s].sent_ns = bench_now_ns();
        c->inflight++;
        int n = snprintf(buf, sizeof buf,
                         "{\"id\":%" PRIu64 ",\"call\":\"transfer\",\"args\":[\"%u\",\"%u\",1]}",
                         id, from, to);
        ws_queue_text(c, buf, (size_t)n);
    }
    if (g.mode == MODE_WS)
        wslay_event_send(c->ws);
    flush_out(c);
}

static void send_audit(conn *c)
{
    if (g.mode == MODE_HTTP) {
        c->http_audit = true;
        http_post(c, "audit", "[]", 2);
    } else {
        g.audit_id = (uint64_t)1 << 52; /* exact as a JS number, above any transfer's id */
        char buf[96];
        int n = snprintf(buf, sizeof buf, "{\"id\":%" PRIu64 ",\"call\":\"audit\",\"args\":[]}",
                         g.audit_id);
        ws_queue_text(c, buf, (size_t)n);
        wslay_event_send(c->ws);
    }
    flush_out(c);
}

/* ---- answers ------------------------------------------------------------------------ */

/* Reads the audit answer's {"accounts": n, "total": t} (under "result" if present). */
static void take_audit(const char *text, size_t len, bool ok)
{
    g.audit_answered = true;
    snprintf(g.audit_text, sizeof g.audit_text, "%.*s", (int)(len > 500 ? 500 : len), text);
    if (!ok)
        return;
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    json_t *r = root ? json_object_get(root, "result") : NULL;
    if (!r)
        r = root;
    json_t *accounts = json_object_get(r, "accounts"), *total = json_object_get(r, "total");
    if (json_is_number(accounts) && (json_is_number(total) || json_is_string(total))) {
        g.audit_accounts = json_number_value(accounts);
        g.audit_total = json_is_string(total) ? strtod(json_string_value(total), NULL)
                                              : json_number_value(total);
        g.audit_ok = g.audit_accounts == g.opt.accounts &&
                     g.audit_total == (double)g.opt.accounts * g.opt.balance;
    }
    json_decref(root);
}

/* Skips one JSON value at p (strings, nesting); returns the position after it. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char ch = *p;
        if (ch == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            p++;
        } else if (ch == '{' || ch == '[') {
            depth++;
            p++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0)
                return p;
            depth--;
            p++;
        } else if (ch == ',' && depth == 0) {
            return p;
        } else {
            p++;
        }
        if (depth == 0 && (ch == '"' || ch == '}' || ch == ']'))
            return p;
    }
    return p;
}

/* The top-level "id" and whether "result" or "error" is present, without a JSON parser
 * (a parse per answer would cost the harness more than the rest of an answer's work). */
static bool scan_answer(const char *p, const char *end, uint64_t *id, bool *ok)
{
    bool have_id = false, have_result = false, have_error = false;
    while (p < end && *p != '{')
        p++;
    p++;
    for (;;) {
        while (p < end && (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r'))
            p++;
        if (p >= end || *p != '"')
            break;
        const char *key = ++p;
        while (p < end && *p != '"')
            p++;
        size_t klen = (size_t)(p - key);
        p++;
        while (p < end && (*p == ' ' || *p == ':'))
            p++;
        if (klen == 2 && memcmp(key, "id", 2) == 0 && p < end && *p >= '0' && *p <= '9') {
            *id = strtoull(p, NULL, 10);
            have_id = true;
        } else if (klen == 6 && memcmp(key, "result", 6) == 0) {
            have_result = true;
        } else if (klen == 5 && memcmp(key, "error", 5) == 0) {
            have_error = true;
        }
        p = skip_value(p, end);
    }
    *ok = have_result && !have_error;
    return have_id && (have_result || have_error);
}

static void on_ws_answer(conn *c, const char *text, size_t len)
{
    uint64_t id = 0;
    bool ok = false;
    if (!scan_answer(text, text + len, &id, &ok)) {
        note_error(text, len); /* a frame that answers no call (a broadcast, an error frame) */
        g.errors_total++;
        return;
    }
    if (g.audit_id && id == g.audit_id) {
        take_audit(text, len, ok);
        return;
    }
    int s = (int)(id % (uint64_t)c->capacity);
    if (c->slots[s].id != id || c->slots[s].sent_ns == 0) {
        note_error(text, len);
        g.errors_total++;
        return;
    }
    if (!ok)
        note_error(text, len);
    record(c->slots[s].sent_ns, ok);
    c->slots[s].sent_ns = 0;
    c->free_slots[c->nfree++] = s;
    c->inflight--;
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user)
{
    (void)flags;
    conn *c = user;
    size_t have = c->in.len - c->in_off;
    if (have == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (len > have)
        len = have;
    memcpy(buf, c->in.data + c->in_off, len);
    c->in_off += len;
    return (ssize_t)len;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                          int flags, void *user)
{
    (void)ctx;
    (void)flags;
    bytes_append(out_fill(user), data, len);
    return (ssize_t)len;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    (void)user;
    for (size_t i = 0; i < len; i++) { /* xorshift: masks need not be secret here */
        g.mask_state ^= g.mask_state << 13;
        g.mask_state ^= g.mask_state >> 17;
        g.mask_state ^= g.mask_state << 5;
        buf[i] = (uint8_t)g.mask_state;
    }
    return 0;
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        on_ws_answer(user, (const char *)arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_CONNECTION_CLOSE)
        note_error("server closed the WebSocket", 27);
}

/* ---- connections -------------------------------------------------------------------- */

static void check_finished(void);

static void close_conn(conn *c)
{
    if (c->state == ST_CLOSED)
        return;
    c->state = ST_CLOSED;
    if (c->inflight > 0) { /* calls the server will never answer */
        g.errors_total += (uint64_t)c->inflight;
        c->inflight = 0;
    }
    g.closed++;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, NULL);
}

static void start_if_all_connected(void);

/* HTTP: consume every complete response in c->in. */
static void http_consume(conn *c)
{
    for (;;) {
        char *base = c->in.data + c->in_off;
        size_t have = c->in.len - c->in_off;
        char *eoh = have ? memmem(base, have, "\r\n\r\n", 4) : NULL;
        if (!eoh)
            return;
        size_t head_len = (size_t)(eoh - base) + 4;
        int status = 0;
        if (sscanf(base, "HTTP/1.%*d %d", &status) != 1)
            die("not an HTTP response: %.60s", base);
        long body_len = -1;
        for (char *line = base; line < eoh;) {
            if (strncasecmp(line, "content-length:", 15) == 0)
                body_len = strtol(line + 15, NULL, 10);
            char *crlf = memmem(line, (size_t)(eoh + 2 - line), "\r\n", 2);
            line = crlf + 2;
        }
        if (body_len < 0)
            die("HTTP response without Content-Length (chunked answers are not supported)");
        if (have < head_len + (size_t)body_len)
            return;
        const char *body = base + head_len;
        bool ok = status >= 200 && status < 300;
        c->in_off += head_len + (size_t)body_len;
        c->inflight = 0;
        if (c->http_audit) {
            c->http_audit = false;
            take_audit(body, (size_t)body_len, ok);
        } else {
            if (!ok)
                note_error(body, (size_t)body_len);
            record(c->http_sent_ns, ok);
            send_transfers(c);
        }
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = h->data;
    if (c->in_off == c->in.len) {
        c->in.len = 0;
        c->in_off = 0;
    }
    if (c->in.cap - c->in.len < 65536) {
        if (c->in_off > 0) { /* compact before growing */
            memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
            c->in.len -= c->in_off;
            c->in_off = 0;
        }
        if (c->in.cap - c->in.len < 65536) {
            c->in.cap = c->in.cap ? c->in.cap * 2 : 131072;
            c->in.data = realloc(c->in.data, c->in.cap);
            if (!c->in.data)
                die("out of memory");
        }
    }
    *buf = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    conn *c = s->data;
    if (n < 0) {
        if (!g.done && !g.draining)
            note_error(n == UV_EOF ? "server closed the connection" : uv_strerror((int)n),
                       strlen(n == UV_EOF ? "server closed the connection" : uv_strerror((int)n)));
        close_conn(c);
        check_finished();
        return;
    }
    c->in.len += (size_t)n;
    if (c->state == ST_HANDSHAKE) {
        char *base = c->in.data + c->in_off;
        size_t have = c->in.len - c->in_off;
        char *eoh = memmem(base, have, "\r\n\r\n", 4);
        if (!eoh)
            return;
        int status = 0;
        if (sscanf(base, "HTTP/1.%*d %d", &status) != 1 || status != 101)
            die("WebSocket upgrade refused: %.*s", (int)(have > 300 ? 300 : have), base);
        c->in_off += (size_t)(eoh - base) + 4;
        c->state = ST_OPEN;
        g.connected++;
        start_if_all_connected();
    }
    if (c->state != ST_OPEN)
        return;
    if (g.mode == MODE_HTTP) {
        http_consume(c);
    } else {
        if (wslay_event_recv(c->ws) != 0) {
            note_error("WebSocket protocol error", 24);
            close_conn(c);
            check_finished();
            return;
        }
        send_transfers(c); /* refill, and send what wslay queued (pongs, close) */
    }
    check_finished();
}

static void on_connect(uv_connect_t *req, int status)
{
    conn *c = req->data;
    if (status < 0)
        die("cannot connect to %s:%s: %s", g.host, g.port, uv_strerror(status));
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (g.mode == MODE_HTTP) {
        c->state = ST_OPEN;
        g.connected++;
        start_if_all_connected();
        return;
    }
    c->state = ST_HANDSHAKE;
    char req_text[2048];
    int n = snprintf(req_text, sizeof req_text,
                     "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: a2V5bm90ZS0yIGhhcm5lc3M=\r\nSec-WebSocket-Version: 13\r\n"
                     "%s%s\r\n",
                     g.path, g.host, g.port, g.opt.header ? g.opt.header : "",
                     g.opt.header ? "\r\n" : "");
    bytes_append(out_fill(c), req_text, (size_t)n);
    flush_out(c);
}

/* ---- phases ------------------------------------------------------------------------- */

static void finish(void)
{
    g.done = true;
    uv_timer_stop(&g.timer);
    for (int i = 0; i < g.nconns; i++)
        close_conn(&g.conns[i]);
}

static void on_timer(uv_timer_t *t);

static void begin_audit(void)
{
    conn *c = NULL;
    for (int i = 0; i < g.nconns && !c; i++)
        if (g.conns[i].state == ST_OPEN)
            c = &g.conns[i];
    if (!c || !g.opt.audit) {
        finish();
        return;
    }
    send_audit(c);
    uv_timer_start(&g.timer, on_timer, g.opt.probe ? 3000 : 30000, 0); /* audit deadline */
}

static int total_inflight(void)
{
    int n = 0;
    for (int i = 0; i < g.nconns; i++)
        if (g.conns[i].state == ST_OPEN)
            n += g.conns[i].inflight;
    return n;
}

static void check_finished(void)
{
    if (g.done)
        return;
    if (g.draining && !g.audit_answered && g.audit_id == 0 && total_inflight() == 0 &&
        !(g.mode == MODE_HTTP && g.conns[0].http_audit)) {
        g.audit_id = 1; /* audit sent (the WS id is set by send_audit) */
        begin_audit();
        return;
    }
    if (g.audit_answered || g.closed == g.nconns)
        finish();
}

/* One timer walks the phases: warm-up -> window -> drain -> audit. */
static void on_timer(uv_timer_t *t)
{
    (void)t;
    uint64_t now = bench_now_ns();
    if (!g.measuring && g.sending) { /* warm-up over */
        g.measuring = true;
        g.window_start_ns = now;
        g.window_end_ns = now + (uint64_t)g.opt.seconds * 1000000000u;
        getrusage(RUSAGE_SELF, &g.ru_start);
        uv_timer_start(&g.timer, on_timer, (uint64_t)g.opt.seconds * 1000, 0);
    } else if (g.sending) { /* window over */
        getrusage(RUSAGE_SELF, &g.ru_end);
        g.window_end_ns = now;
        g.sending = false;
        g.draining = true;
        fprintf(stderr, "keynote_client: window over, %d calls in flight draining\n",
                total_inflight());
        uv_timer_start(&g.timer, on_timer, 15000, 0);
        check_finished();
    } else if (g.draining && g.audit_id == 0) { /* drain deadline */
        fprintf(stderr, "keynote_client: %d calls still unanswered after 15 s\n", total_inflight());
        g.errors_total += (uint64_t)total_inflight();
        for (int i = 0; i < g.nconns; i++)
            g.conns[i].inflight = 0;
        g.audit_id = 1;
        begin_audit();
    } else { /* audit deadline */
        if (g.opt.probe)
            g.exit_code = 3;
        fprintf(stderr, "keynote_client: audit not answered\n");
        finish();
    }
}

static void start_if_all_connected(void)
{
    if (g.connected < g.nconns)
        return;
    fprintf(stderr, "keynote_client: %d connections open\n", g.nconns);
    g.start_ns = bench_now_ns();
    if (g.opt.probe) {
        g.draining = true;
        check_finished();
        return;
    }
    g.sending = true;
    uv_timer_start(&g.timer, on_timer, (uint64_t)g.opt.warmup * 1000 + (g.opt.warmup ? 0 : 1), 0);
    for (int i = 0; i < g.nconns; i++)
        send_transfers(&g.conns[i]);
}

/* ---- set-up ------------------------------------------------------------------------- */

static void parse_url(const char *url)
{
    const char *rest;
    if (strncmp(url, "ws://", 5) == 0) {
        g.mode = MODE_WS;
        rest = url + 5;
    } else if (strncmp(url, "http://", 7) == 0) {
        g.mode = MODE_HTTP;
        rest = url + 7;
    } else {
        die("--url must start with ws:// or http:// (no TLS): %s", url);
    }
    const char *slash = strchr(rest, '/');
    size_t hostport = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *colon = memchr(rest, ':', hostport);
    if (!colon)
        die("--url needs a port: %s", url);
    snprintf(g.host, sizeof g.host, "%.*s", (int)(colon - rest), rest);
    snprintf(g.port, sizeof g.port, "%.*s", (int)(hostport - (size_t)(colon - rest) - 1), colon + 1);
    snprintf(g.path, sizeof g.path, "%s", slash ? slash : "/");
}

static void usage(void)
{
    fprintf(stderr,
            "usage: keynote_client --url ws://HOST:PORT/PATH | http://HOST:PORT/PREFIX/\n"
            "  [--clients 64] [--inflight 40] [--accounts 100000] [--balance 1000000000]\n"
            "  [--alpha 0] [--seconds 10] [--warmup 3] [--seed 305419896] [--pairs 10000000]\n"
            "  [--label NAME] [--header 'Name: value'] [--no-audit] [--probe]\n");
    exit(2);
}

static void parse_options(int argc, char **argv)
{
    options *o = &g.opt;
    *o = (options){.clients = 64, .inflight = 40, .accounts = 100000, .balance = 1e9,
                   .seconds = 10, .warmup = 3, .seed = KEYNOTE_DEFAULT_SEED, .pairs = 10000000,
                   .audit = 1, .label = "system"};
    static const struct option longs[] = {
        {"url", required_argument, 0, 'u'},      {"clients", required_argument, 0, 'c'},
        {"inflight", required_argument, 0, 'i'}, {"accounts", required_argument, 0, 'a'},
        {"balance", required_argument, 0, 'b'},  {"alpha", required_argument, 0, 'z'},
        {"seconds", required_argument, 0, 's'},  {"warmup", required_argument, 0, 'w'},
        {"seed", required_argument, 0, 'r'},     {"pairs", required_argument, 0, 'p'},
        {"label", required_argument, 0, 'l'},    {"header", required_argument, 0, 'H'},
        {"no-audit", no_argument, 0, 'N'},       {"probe", no_argument, 0, 'P'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'u': o->url = optarg; break;
        case 'c': o->clients = atoi(optarg); break;
        case 'i': o->inflight = atoi(optarg); break;
        case 'a': o->accounts = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'b': o->balance = strtod(optarg, NULL); break;
        case 'z': o->alpha = strtod(optarg, NULL); break;
        case 's': o->seconds = atoi(optarg); break;
        case 'w': o->warmup = atoi(optarg); break;
        case 'r': o->seed = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'p': o->pairs = strtoull(optarg, NULL, 10); break;
        case 'l': o->label = optarg; break;
        case 'H': o->header = optarg; break;
        case 'N': o->audit = 0; break;
        case 'P': o->probe = 1; break;
        default: usage();
        }
    }
    if (!o->url || optind != argc)
        usage();
    if (o->clients < 1 || o->clients > 10000 || o->inflight < 1 || o->inflight > 100000 ||
        o->accounts < 2 || o->seconds < 1 || o->warmup < 0 || o->pairs < 1 || !(o->alpha >= 0))
        die("an option is out of range (clients 1..10000, inflight >= 1, accounts >= 2, "
            "seconds >= 1, warmup >= 0, pairs >= 1, alpha >= 0)");
    if (o->probe) {
        o->clients = 1;
        o->inflight = 1;
        o->audit = 1;
    }
    parse_url(o->url);
}

static void print_result(void)
{
    double wall = (double)(g.window_end_ns - g.window_start_ns) / 1e9;
    double cpu = (double)(g.ru_end.ru_utime.tv_sec - g.ru_start.ru_utime.tv_sec) +
                 (double)(g.ru_end.ru_utime.tv_usec - g.ru_start.ru_utime.tv_usec) / 1e6 +
                 (double)(g.ru_end.ru_stime.tv_sec - g.ru_start.ru_stime.tv_sec) +
                 (double)(g.ru_end.ru_stime.tv_usec - g.ru_start.ru_stime.tv_usec) / 1e6;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    qsort(g.lat, g.nlat, sizeof *g.lat, bench_compare_u64);
    double mean = (double)g.acked / g.opt.seconds, var = 0;
    for (int s = 0; s < g.opt.seconds; s++)
        var += ((double)g.per_second[s] - mean) * ((double)g.per_second[s] - mean);
    double stddev = g.opt.seconds > 1 ? sqrt(var / (g.opt.seconds - 1)) : 0;
    double load[3] = {0};
    getloadavg(load, 3);
    printf("{\"system\":\"%s\",\"transport\":\"%s\",\"alpha\":%g,\"clients\":%d,"
           "\"inflight\":%d,\"connections\":%d,\"accounts\":%u,\"seconds\":%d,\"warmup\":%d,"
           "\"tps\":%.0f,\"tps_stddev\":%.0f,\"acked\":%" PRIu64 ",\"errors\":%" PRIu64 ","
           "\"errors_total\":%" PRIu64 ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"harness_cpu_share\":%.3f,\"harness_cpu_cores\":%.3f,\"cores\":%ld,"
           "\"loadavg1\":%.2f,\"hot10_share\":%.3f,\"audit_accounts\":%.0f,\"audit_total\":%.0f,"
           "\"invariant_ok\":%s}\n",
           g.opt.label, g.mode == MODE_WS ? "ws" : "http", g.opt.alpha, g.opt.clients,
           g.opt.inflight, g.nconns, g.opt.accounts, g.opt.seconds, g.opt.warmup,
           (double)g.acked / wall, stddev, g.acked, g.errors, g.errors_total,
           (double)bench_percentile(g.lat, g.nlat, 0.50) / 1e6,
           (double)bench_percentile(g.lat, g.nlat, 0.99) / 1e6, cpu / (wall * (double)cores),
           cpu / wall, cores, load[0], keynote_pairs_hot_share(&g.pairs, 10), g.audit_accounts,
           g.audit_total, bench_bool(g.audit_ok));
    if (g.first_error[0])
        fprintf(stderr, "keynote_client: first error: %s\n", g.first_error);
    if (g.opt.audit && !g.audit_ok)
        fprintf(stderr, "keynote_client: audit %s: %s (expected %u accounts, total %.0f)\n",
                g.audit_answered ? "FAILED" : "not answered", g.audit_text, g.opt.accounts,
                (double)g.opt.accounts * g.opt.balance);
}

int main(int argc, char **argv)
{
    parse_options(argc, argv);
    g.mask_state = 0x9e3779b9u;
    if (!g.opt.probe) {
        uint64_t t0 = bench_now_ns();
        if (keynote_pairs_make(&g.pairs, g.opt.accounts, g.opt.alpha, g.opt.seed, g.opt.pairs) != 0)
            die("cannot draw the pairs: %s", strerror(errno));
        fprintf(stderr, "keynote_client: %zu pairs (alpha %g) in %.2f s; %.1f%% touch the 10 hottest\n",
                g.pairs.count, g.opt.alpha, (double)(bench_now_ns() - t0) / 1e9,
                100 * keynote_pairs_hot_share(&g.pairs, 10));
    }
    g.per_second = calloc((size_t)g.opt.seconds, sizeof *g.per_second);
    g.clients = calloc((size_t)g.opt.clients, sizeof *g.clients);
    int per_client = g.mode == MODE_HTTP ? g.opt.inflight : 1;
    g.nconns = g.opt.clients * per_client;
    g.conns = calloc((size_t)g.nconns, sizeof *g.conns);
    if (!g.per_second || !g.clients || !g.conns)
        die("out of memory");
    for (int i = 0; i < g.opt.clients; i++)
        g.clients[i].cursor = g.pairs.count ? (size_t)i * (g.pairs.count / (size_t)g.opt.clients) : 0;

    g.loop = uv_default_loop();
    uv_timer_init(g.loop, &g.timer);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    uv_getaddrinfo_t resolver;
    int rc = uv_getaddrinfo(g.loop, &resolver, NULL, g.host, g.port, &hints);
    if (rc < 0)
        die("cannot resolve %s: %s", g.host, uv_strerror(rc));

    static const struct wslay_event_callbacks callbacks = {
        ws_recv_cb, ws_send_cb, ws_genmask_cb, NULL, NULL, NULL, ws_msg_cb};
    for (int i = 0; i < g.nconns; i++) {
        conn *c = &g.conns[i];
        c->index = i;
        c->owner = &g.clients[i / per_client];
        c->writing = -1;
        c->capacity = g.mode == MODE_HTTP ? 1 : g.opt.inflight;
        if (g.mode == MODE_WS) {
            if (wslay_event_context_client_init(&c->ws, &callbacks, c) != 0)
                die("out of memory");
            c->slots = calloc((size_t)c->capacity, sizeof *c->slots);
            c->free_slots = malloc((size_t)c->capacity * sizeof *c->free_slots);
            if (!c->slots || !c->free_slots)
                die("out of memory");
            for (int s = 0; s < c->capacity; s++)
                c->free_slots[s] = c->capacity - 1 - s;
            c->nfree = c->capacity;
        }
        uv_tcp_init(g.loop, &c->tcp);
        c->tcp.data = c;
        c->connect_req.data = c;
        rc = uv_tcp_connect(&c->connect_req, &c->tcp, resolver.addrinfo->ai_addr, on_connect);
        if (rc < 0)
            die("cannot connect: %s", uv_strerror(rc));
    }
    uv_freeaddrinfo(resolver.addrinfo);
    uv_run(g.loop, UV_RUN_DEFAULT);

    if (g.opt.probe) {
        printf("%s\n", g.audit_text);
        if (g.first_error[0])
            fprintf(stderr, "keynote_client: first unexpected frame: %s\n", g.first_error);
        return g.exit_code ? g.exit_code : g.audit_answered ? 0 : 1;
    }
    print_result();
    for (int i = 0; i < g.nconns; i++) {
        if (g.conns[i].ws)
            wslay_event_context_free(g.conns[i].ws);
        free(g.conns[i].slots);
        free(g.conns[i].free_slots);
        free(g.conns[i].in.data);
        free(g.conns[i].out[0].data);
        free(g.conns[i].out[1].data);
    }
    free(g.conns);
    free(g.clients);
    free(g.per_second);
    free(g.lat);
    keynote_pairs_free(&g.pairs);
    return g.opt.audit && !g.audit_ok ? 4 : 0;
}
