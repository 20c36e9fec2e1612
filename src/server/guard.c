/* guard.c — what every request passes before it is routed: unambiguous HTTP/1.1 framing
 * (so that bytes after a body can never run as a second request) and the bearer token;
 * and the filter that gives the requests h2o refuses by itself our error shape. Not for
 * routing or replies (api.c). */
#include "server/server_internal.h"

#include <h2o/websocket.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool digest(const char *data, size_t len, unsigned char out[32])
{
    unsigned int out_len = 0;
    return EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) == 1 && out_len == 32;
}

bool guard_init(server *srv)
{
    return !srv->token || digest(srv->token, strlen(srv->token), srv->token_digest);
}

/* The presented token against the configured one. Both are hashed first, so the compare
 * runs over 32 bytes whatever their lengths and CRYPTO_memcmp takes the same time
 * wherever they differ: neither the length nor a prefix of the token leaks. */
static bool is_token(const server *srv, const char *presented, size_t len)
{
    unsigned char theirs[32];
    return digest(presented, len, theirs) && CRYPTO_memcmp(theirs, srv->token_digest, sizeof(theirs)) == 0;
}

/* `Bearer <token>`: the scheme is case-insensitive (RFC 9110 §11.1), then one or more
 * spaces (h2o already trimmed the value's ends). */
static bool is_bearer(const server *srv, h2o_iovec_t v)
{
    static const char scheme[] = "bearer";
    size_t n = sizeof(scheme) - 1;
    if (v.len <= n || strncasecmp(v.base, scheme, n) != 0 || v.base[n] != ' ')
        return false;
    while (n < v.len && v.base[n] == ' ')
        n++;
    return n < v.len && is_token(srv, v.base + n, v.len - n);
}

/* A browser cannot set headers on a WebSocket, so the handshake may carry the token as a
 * subprotocol instead: `new WebSocket(url, ["bearer." + token])`. */
bool guard_bearer_subprotocol(const server *srv, h2o_req_t *req, h2o_iovec_t *entry)
{
    static const char prefix[] = "bearer.";
    size_t prefix_len = sizeof(prefix) - 1;
    for (ssize_t at = -1; (at = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-websocket-protocol"), at)) != -1;) {
        h2o_iovec_t v = req->headers.entries[at].value;
        size_t i = 0;
        while (i < v.len) { /* comma-separated entries, optional spaces around them */
            while (i < v.len && (v.base[i] == ' ' || v.base[i] == ','))
                i++;
            size_t start = i;
            while (i < v.len && v.base[i] != ',' && v.base[i] != ' ')
                i++;
            if (i - start > prefix_len && memcmp(v.base + start, prefix, prefix_len) == 0 &&
                (!srv->token || is_token(srv, v.base + start + prefix_len, i - start - prefix_len))) {
                *entry = h2o_iovec_init(v.base + start, i - start);
                return true;
            }
        }
    }
    return false;
}

bool guard_is_authorized(server *srv, h2o_req_t *req)
{
    if (!srv->token)
        return true;
    for (ssize_t at = -1; (at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, at)) != -1;)
        if (is_bearer(srv, req->headers.entries[at].value))
            return true;
    const char *client_key = NULL;
    h2o_iovec_t entry;
    return h2o_is_websocket_handshake(req, &client_key) == 0 && client_key &&
           guard_bearer_subprotocol(srv, req, &entry);
}

/* Each comma-separated element of a Content-Length value must be the same decimal
 * number (RFC 9110 §8.6: "42, 42" may be read as 42; "42, 7" is invalid). Returns false
 * when they are not; *seen carries the number across headers (SIZE_MAX before the first). */
static bool is_consistent_length(h2o_iovec_t v, size_t *seen)
{
    size_t i = 0;
    do {
        while (i < v.len && (v.base[i] == ' ' || v.base[i] == '\t'))
            i++;
        size_t n = 0, digits = 0;
        for (; i < v.len && v.base[i] >= '0' && v.base[i] <= '9' && digits < 19; i++, digits++)
            n = n * 10 + (size_t)(v.base[i] - '0');
        while (i < v.len && (v.base[i] == ' ' || v.base[i] == '\t'))
            i++;
        if (digits == 0 || (i < v.len && v.base[i] != ',') || (*seen != SIZE_MAX && *seen != n))
            return false;
        *seen = n;
    } while (i++ < v.len);
    return true;
}

/* h2o keeps Content-Length and Transfer-Encoding out of req->headers (it consumes them to
 * frame the body: Transfer-Encoding wins over Content-Length, the first Content-Length
 * wins over the others), so the handler reads them from the request head itself. In
 * HTTP/1.x h2o leaves the head at the start of the socket's input buffer until the
 * response (the body follows it there), which is checked before trusting it. */
static bool raw_head(h2o_req_t *req, const char **head, size_t *len)
{
    if (req->version >= 0x200 || !req->conn->callbacks->get_socket)
        return false; /* HTTP/2 frames bodies itself */
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (!sock || !sock->input || !sock->input->bytes)
        return false;
    const char *bytes = sock->input->bytes;
    size_t size = sock->input->size, method_len = req->input.method.len;
    while (size && (*bytes == '\r' || *bytes == '\n')) { /* empty lines before a request line are */
        bytes++;                                         /* skipped by h2o (RFC 9112 §2.2) */
        size--;
    }
    if (size <= method_len || memcmp(bytes, req->input.method.base, method_len) != 0 || bytes[method_len] != ' ')
        return false;
    for (size_t i = 0; i + 1 < size; i++) /* the empty line; h2o also takes bare LF line ends */
        if (bytes[i] == '\n' && (bytes[i + 1] == '\n' || (bytes[i + 1] == '\r' && i + 2 < size && bytes[i + 2] == '\n'))) {
            *head = bytes;
            *len = i + 1; /* through the last header line's end */
            return true;
        }
    return false;
}

static h2o_iovec_t trimmed(const char *from, const char *to)
{
    while (from < to && (*from == ' ' || *from == '\t'))
        from++;
    while (to > from && (to[-1] == ' ' || to[-1] == '\t'))
        to--;
    return h2o_iovec_init(from, (size_t)(to - from));
}

const char *guard_head_problem(const char *head, size_t head_len)
{
    size_t length = SIZE_MAX;
    int lengths = 0, encodings = 0;
    const char *end = head + head_len;
    const char *line = memchr(head, '\n', head_len); /* skip the request line */
    for (line = line ? line + 1 : end; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        const char *stop = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
        if (*line == ' ' || *line == '\t') /* obs-fold: a proxy that unfolds it reads other headers */
            return "header lines must not be folded (RFC 9112 §5.2)";
        const char *colon = memchr(line, ':', (size_t)(stop - line));
        if (colon) {
            h2o_iovec_t name = h2o_iovec_init(line, (size_t)(colon - line));
            h2o_iovec_t value = trimmed(colon + 1, stop);
            if (h2o_lcstris(name.base, name.len, H2O_STRLIT("content-length"))) {
                lengths++;
                if (!is_consistent_length(value, &length))
                    return "Content-Length headers disagree or are not a number";
            } else if (h2o_lcstris(name.base, name.len, H2O_STRLIT("transfer-encoding"))) {
                encodings++;
                if (!h2o_lcstris(value.base, value.len, H2O_STRLIT("chunked")))
                    return "Transfer-Encoding must be exactly chunked";
            }
        }
        line = eol + 1;
    }
    if (lengths && encodings)
        return "a request must not have both Content-Length and Transfer-Encoding";
    if (encodings > 1)
        return "Transfer-Encoding must be given once";
    return NULL;
}

const char *guard_framing_problem(h2o_req_t *req)
{
    const char *head = NULL;
    size_t head_len = 0;
    if (raw_head(req, &head, &head_len))
        return guard_head_problem(head, head_len);
    if (req->version < 0x200) { /* cannot tell: fail closed */
        req->http1_is_persistent = 0;
        return "the request head could not be checked for ambiguous framing";
    }
    return NULL;
}

/* ---- h2o's own refusals in our error shape ------------------------------------------
 * h2o answers some requests before any handler runs (a broken Content-Length, a
 * Transfer-Encoding other than chunked, a body over max_request_entity_size, a head too
 * long) with a text/plain body and closes the connection. This filter turns those
 * answers into {"error":{...}} and logs them like every other request. Our own replies
 * never use that content type. */

typedef struct plain_error_stream {
    h2o_ostream_t super;
    h2o_iovec_t text; /* h2o's message, collected */
} plain_error_stream;

static const char *code_for_status(int status)
{
    return status == 413 ? "payload_too_large" : status == 400 ? "invalid_request" : "http_error";
}

static void rewrite_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t count,
                         h2o_send_state_t state)
{
    plain_error_stream *s = (plain_error_stream *)self;
    for (size_t i = 0; i < count; i++) {
        h2o_iovec_t parts[2] = {s->text, bufs[i]};
        s->text = h2o_concat_list(&req->pool, parts, 2);
    }
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    json_t *body = json_pack("{s:{s:s, s:s%, s:{}}}", "error", "code", code_for_status(req->res.status),
                             "message", s->text.base ? s->text.base : "", s->text.len, "details");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    h2o_iovec_t out = text ? h2o_strdup(&req->pool, text, strlen(text)) : s->text;
    free(text);
    h2o_ostream_send_next(self, req, &out, 1, state);
    h2o_iovec_t method = h2o_strdup(&req->pool, req->input.method.base, req->input.method.len);
    h2o_iovec_t path = h2o_strdup(&req->pool, req->input.path.base, req->input.path.len);
    server_log_request(method.base, path.base, req->res.status, server_now_ns(), 0);
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t at = req->res.status >= 400 ? h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1) : -1;
    if (at >= 0 && h2o_memis(req->res.headers.entries[at].value.base, req->res.headers.entries[at].value.len,
                             H2O_STRLIT("text/plain; charset=utf-8"))) {
        req->res.headers.entries[at].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        req->res.content_length = SIZE_MAX; /* the body changes; the connection closes after it */
        plain_error_stream *s = (plain_error_stream *)h2o_add_ostream(req, sizeof(*s), slot);
        s->super.do_send = rewrite_send;
        s->text = h2o_iovec_init(NULL, 0);
        slot = &s->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void guard_install(h2o_pathconf_t *path)
{
    h2o_create_filter(path, sizeof(h2o_filter_t))->on_setup_ostream = on_setup_ostream;
}

void guard_install_host(h2o_hostconf_t *host)
{
    /* h2o binds a request it refuses before routing to the host's fallback path */
    guard_install(&host->fallback_path);
}
