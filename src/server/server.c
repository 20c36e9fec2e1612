/* server.c — the server's loop: options, the listener, h2o on libuv, deployment of the
 * modules named on the command line, the queue that brings finished calls back from the
 * runtime threads, the request log, and the drain on SIGTERM/SIGINT. */
#include "server/server_internal.h"
#include "server/websocket.h"

#include <arpa/inet.h>
#include <assert.h>
#include <jansson.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { DEFAULT_MAX_BODY = 1 << 20, DEFAULT_GRACE_MS = 10000, FLUSH_MS = 100 };
/* Per WebSocket: 1024 calls in flight is 25x the keynote benchmark's 40 per client; 16 MiB
 * of unsent frames is ~400,000 small answers, or what a client that stopped reading leaves. */
enum { DEFAULT_WS_MAX_CALLS_IN_FLIGHT = 1024, DEFAULT_WS_MAX_QUEUED_BYTES = 16 << 20 };
/* What a client may ask for at most unless the operator says otherwise: a CPU budget
 * of 30 s already holds a runtime thread (and its siblings) that long per call. */
#define DEFAULT_MAX_CPU_LIMIT_MS 30000L
#define DEFAULT_MAX_WALL_LIMIT_MS 300000L
#define DEFAULT_MAX_MEMORY_LIMIT_BYTES (1L << 30)

/* 64 MiB: a deployed module's own VM (~1 MB when empty, see the README) with room to grow. */
static const uint64_t DEFAULT_MODULE_MEMORY_LIMIT = 64u << 20;

uint64_t server_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One logfmt line per request on stderr. Lines are gathered in a buffer and written
 * with one call at most every LOG_FLUSH_MS (log_flush, a one-shot uv_timer started by the
 * first line into an empty buffer), or at once when the buffer is nearly full, not one per
 * request nor one per loop turn: the write per turn was ~4% of the loop thread serving the
 * bank over HTTP (bench/server/run.sh, perf), ~40 writes of a few lines each per
 * millisecond at 40k requests/s. So a line is on stderr at most LOG_FLUSH_MS after its
 * reply; the drain, the grace period and the stop flush what is left, so every line is out
 * before "stopped". Messages written by the runtime threads (log_to_stderr) may land up to
 * LOG_FLUSH_MS earlier than request lines before them. The line is put together by hand
 * (put_* below), not with snprintf: its %.3f cost ~2% of the loop thread. */
static bool is_log_json; /* set once at start-up */
enum { LOG_BUFFER_BYTES = 32 << 10, LOG_FLUSH_MS = 5 };
static char log_buffer[LOG_BUFFER_BYTES]; /* loop thread only */
static size_t log_len;
static uv_timer_t *log_flush_handle;  /* started while log_buffer holds lines */

static void log_flush(void)
{
    size_t done = 0;
    while (done < log_len) {
        ssize_t n = write(STDERR_FILENO, log_buffer + done, log_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* stderr closed or broken: the lines are dropped, as fwrite would */
        done += (size_t)n;
    }
    log_len = 0;
    if (log_flush_handle)
        uv_timer_stop(log_flush_handle);
}

static void on_log_flush(uv_timer_t *handle)
{
    (void)handle;
    log_flush();
}

static char *put_text(char *at, const char *text)
{
    size_t n = strlen(text);
    memcpy(at, text, n);
    return at + n;
}

static char *put_uint(char *at, uint64_t v)
{
    char digits[20];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *at++ = digits[--n];
    return at;
}

/* At most max characters of text, a quote, backslash or control character as '?', and
 * "..." when it was longer. */
static char *put_quoted(char *at, const char *text, size_t max)
{
    size_t n = 0;
    for (const char *c = text ? text : ""; *c; c++, n++) {
        if (n == max)
            return put_text(at, "...");
        *at++ = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '?' : *c;
    }
    return at;
}

/* Milliseconds with three decimals, rounded to the microsecond (what %.3f printed). */
static char *put_ms(char *at, uint64_t ns)
{
    uint64_t us = (ns + 500) / 1000;
    at = put_uint(at, us / 1000);
    *at++ = '.';
    *at++ = (char)('0' + us / 100 % 10);
    *at++ = (char)('0' + us / 10 % 10);
    *at++ = (char)('0' + us % 10);
    return at;
}

void server_log_request(const char *method, const char *path, int status, uint64_t start_ns,
                        uint64_t context_id)
{
    uint64_t elapsed = server_now_ns() - start_ns;
    /* 250 path characters, 32 of the method, the words and five numbers: under 512 */
    enum { MAX_PATH = 250, MAX_METHOD = 32, MAX_LINE = 512 };
    if (log_len + MAX_LINE > sizeof(log_buffer))
        log_flush();
    char *line = log_buffer + log_len, *at = line;
    /* the words around the values, logfmt and JSON (the quoted path and method have no
     * quote or control character left to escape) */
    static const struct log_words {
        const char *method, *path, *status, *duration, *context, *end;
        bool has_context_always;
    } formats[2] = {
        {"level=info method=", " path=\"", "\" status=", " duration_ms=", " context=", "\n", false},
        {"{\"level\":\"info\",\"method\":\"", "\",\"path\":\"", "\",\"status\":", ",\"duration_ms\":",
         ",\"context\":", "}\n", true},
    };
    const struct log_words *w = &formats[is_log_json];
    at = put_text(at, w->method);
    at = put_quoted(at, method ? method : "?", MAX_METHOD);
    at = put_text(at, w->path);
    at = put_quoted(at, path, MAX_PATH);
    at = put_text(at, w->status);
    at = put_uint(at, (uint64_t)(status < 0 ? 0 : status));
    at = put_text(at, w->duration);
    at = put_ms(at, elapsed);
    if (context_id || w->has_context_always) {
        at = put_text(at, w->context);
        at = put_uint(at, context_id);
    }
    at = put_text(at, w->end);
    assert((size_t)(at - line) < MAX_LINE);
    bool was_empty = log_len == 0;
    log_len += (size_t)(at - line);
    if (was_empty && log_flush_handle)
        uv_timer_start(log_flush_handle, on_log_flush, LOG_FLUSH_MS, 0);
    else if (!log_flush_handle)
        log_flush(); /* no loop (yet): at once */
}

/* ---- finished calls: runtime thread -> loop ------------------------------------------ */

void server_call_done(jsp_result *result, void *user)
{
    pending *p = user;
    server *srv = p->srv;
    p->result = result;
    pthread_mutex_lock(&srv->done_mutex);
    if (srv->done_tail)
        srv->done_tail->next = p;
    else
        srv->done_head = p;
    srv->done_tail = p;
    pthread_mutex_unlock(&srv->done_mutex);
    uv_async_send(&srv->done_wakeup);
}

static void stop_if_drained(server *srv);

static void on_calls_done(uv_async_t *handle)
{
    server *srv = handle->data;
    pthread_mutex_lock(&srv->done_mutex); /* one lock for the three lists */
    pending *p = srv->done_head;
    ws_outgoing *out = srv->outgoing_head;
    ws_call *calls = srv->ws_done_head;
    srv->done_head = srv->done_tail = NULL;
    srv->outgoing_head = srv->outgoing_tail = NULL;
    srv->ws_done_head = srv->ws_done_tail = NULL;
    pthread_mutex_unlock(&srv->done_mutex);
    while (p) {
        pending *next = p->next;
        srv->in_flight--;
        api_finish(srv, p);
        p = next;
    }
    ws_deliver(srv, out, calls);
    stop_if_drained(srv);
}

/* ---- listener ----------------------------------------------------------------------- */

static void on_accept(uv_stream_t *listener, int status);

/* A client connection's handle is gone: its slot is free, and a connection waiting in the
 * kernel's backlog because of max_connections is taken now. */
static void on_connection_closed(uv_handle_t *handle)
{
    server *srv = (server *)(void *)((char *)handle->loop - offsetof(server, loop));
    free(handle);
    assert(srv->connections > 0);
    srv->connections--;
    if (srv->is_accept_paused && !srv->is_draining) {
        srv->is_accept_paused = false;
        on_accept((uv_stream_t *)&srv->listener, 0);
    }
}

static void on_accept(uv_stream_t *listener, int status)
{
    server *srv = listener->data;
    if (status != 0 || srv->is_draining)
        return;
    /* At max_connections the connection is left to libuv, which then stops reading the
     * listener until uv_accept: new clients wait in the kernel's backlog instead of taking
     * descriptors the stores, sockets and module files of every tenant need (attacker
     * review: 1,500 idle connections, no token needed, took the process to EMFILE). */
    if (srv->connections >= srv->max_connections) {
        if (!srv->is_accept_paused)
            server_log("warn", 0, "%d connections open (max_connections): new ones wait", srv->connections);
        srv->is_accept_paused = true;
        return;
    }
    uv_tcp_t *conn = h2o_mem_alloc(sizeof(*conn));
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    srv->connections++;
    /* h2o writes a WebSocket frame's header and payload as two buffers; with Nagle on, the
     * payload waited for the client's delayed ACK: 44 ms per round trip, 0.1 ms without
     * (bench/server/ws_rtt.py). Replies are whole messages, so nothing is gained by
     * coalescing. */
    uv_tcp_nodelay(conn, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, on_connection_closed);
    h2o_accept(&srv->accept, sock);
}

static bool is_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a6);
}

/* "HOST:PORT" or "[V6]:PORT"; "localhost" means 127.0.0.1. */
static bool parse_listen(const char *text, struct sockaddr_storage *out)
{
    char host[128];
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof(host))
        return false;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!*(colon + 1) || *end || port < 0 || port > 65535)
        return false;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0;
    }
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0;
}

int server_listen_socket(const char *where, char *why, size_t why_len)
{
    struct sockaddr_storage addr;
    if (!parse_listen(where, &addr)) {
        snprintf(why, why_len, "--listen wants HOST:PORT, got '%s'", where);
        return -2;
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    socklen_t len = addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, len) != 0 || listen(fd, 511) != 0) {
        snprintf(why, why_len, "cannot listen on %s: %s", where, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* ---- drain ---------------------------------------------------------------------------- */

static void close_walk(uv_handle_t *handle, void *arg)
{
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

static void on_flushed(uv_timer_t *timer)
{
    uv_stop(timer->loop);
}

static void shut_client_socket(uv_handle_t *handle, void *arg)
{
    server *srv = arg;
    uv_os_fd_t fd;
    if (handle->type == UV_TCP && handle != (uv_handle_t *)&srv->listener && !uv_is_closing(handle) &&
        uv_fileno(handle, &fd) == 0)
        shutdown(fd, SHUT_RDWR);
}

static void on_wake(uv_timer_t *timer)
{
    (void)timer;
}

/* h2o 2.2 aborts in h2o_context_dispose while a connection is open (its request timeout is
 * still armed), so one idle client — no token needed — turned every drain into SIGABRT,
 * losing the last log lines (attacker review). Each client socket is shut down, h2o sees
 * the end and closes its connection its own way, and the loop turns until all are gone
 * (they go in one turn; 1 s at most). */
static void close_client_connections(server *srv)
{
    uv_walk(&srv->loop, shut_client_socket, srv);
    uint64_t deadline = server_now_ns() + 1000000000u;
    while (srv->connections > 0 && server_now_ns() < deadline) {
        uv_timer_start(&srv->grace, on_wake, 10, 0);
        uv_run(&srv->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&srv->grace);
}

/* Stops the loop after a short turn in which the last answers reach their sockets. */
static void stop_now(server *srv)
{
    if (srv->is_stopping)
        return;
    srv->is_stopping = true;
    uv_timer_stop(&srv->grace);
    uv_timer_start(&srv->grace, on_flushed, FLUSH_MS, 0);
}

static void stop_if_drained(server *srv)
{
    if (srv->is_draining && srv->in_flight == 0)
        stop_now(srv);
}

static void on_grace_over(uv_timer_t *timer)
{
    server *srv = timer->data;
    log_flush();
    server_log("warn", 0, "grace period over with %d call(s) in flight", srv->in_flight);
    /* The calls still running end now (JSP_EDESTROYED) instead of holding the runtime
     * threads that the pool's close joins. */
    for (size_t i = 0; i < srv->contexts.count; i++)
        if (srv->contexts.items[i]->in_flight)
            jsp_context_destroy(srv->contexts.items[i]->ctx);
    stop_now(srv);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    server *srv = handle->data;
    if (srv->is_draining)
        return;
    log_flush();
    server_log("info", 0, "%s: draining, %d call(s) in flight", signum == SIGTERM ? "SIGTERM" : "SIGINT",
               srv->in_flight);
    srv->is_draining = true;
    uv_close((uv_handle_t *)&srv->listener, NULL);
    /* WebSockets close now; calls they had in flight still run to the end (the drain
     * waits for them as for HTTP calls), their answers are dropped */
    ws_close_context(srv, 0);
    uv_timer_start(&srv->grace, on_grace_over, (uint64_t)srv->grace_ms, 0);
    stop_if_drained(srv);
}

/* ---- start-up ------------------------------------------------------------------------- */

char *server_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t capacity = 65536, len = 0;
    char *data = malloc(capacity);
    while (data) {
        len += fread(data + len, 1, capacity - len - 1, f);
        if (len < capacity - 1)
            break;
        char *grown = realloc(data, capacity * 2);
        if (!grown) {
            free(data);
            data = NULL;
            break;
        }
        data = grown;
        capacity *= 2;
    }
    if (data && ferror(f)) {
        int saved = errno;
        free(data);
        data = NULL;
        errno = saved;
    }
    fclose(f);
    if (data) {
        data[len] = '\0';
        *len_out = len;
    }
    return data;
}

static int deploy_module(server *srv, const char *path)
{
    size_t len = 0;
    char *source = server_read_file(path, &len);
    if (!source) {
        fprintf(stderr, "jspool serve: cannot read %s: %s\n", path, strerror(errno));
        return 3;
    }
    char *name = data_dir_stem(path);
    char why[200];
    if (name && jsp_context_name_check(name, why, sizeof(why)) != 0) {
        fprintf(stderr, "jspool serve: %s: the context would be named '%s', but the %s\n", path, name, why);
        free(name);
        free(source);
        return 2;
    }
    served_context *sc = calloc(1, sizeof(*sc));
    /* Only modules the operator deploys may import: files and node_modules under their
     * project root (posted ones get no loader: docs/security.md). */
    char *root = NULL;
    if (sc && srv->module_root_count < sizeof srv->module_roots / sizeof *srv->module_roots) {
        root = jsp_module_root_for_file(path);
        srv->module_roots[srv->module_root_count++] = root;
    }
    /* Its tables: DATA_DIR/NAME.jspdb, so the module finds them again after a restart. */
    char *store_file = sc && name ? data_dir_store_file(NULL, name) : NULL;
    char *store_path = store_file ? data_dir_join(&srv->data, store_file) : NULL;
    jsp_context_config cfg = {.name = name, .cpu_limit_ms = srv->cpu_limit_ms,
                              .wall_limit_ms = srv->wall_limit_ms,
                              .memory_limit_bytes = srv->module_memory_limit_bytes,
                              .module_loader = root ? jsp_module_loader_files : NULL,
                              .module_loader_user = root, .store_path = store_path,
                              .store_durability = srv->store_durability,
                              .store_max_rows_per_call = srv->store_max_rows,
                              .store_max_bytes_per_call = srv->store_max_bytes,
                              .store_max_file_bytes = srv->store_max_file_bytes,
                              .storage_quota = srv->storage_quota,
                              .egress_allow = srv->limit_maxima.egress.allow,
                              .egress_allow_loopback = srv->limit_maxima.egress.allow_loopback,
                              .egress_allow_private = srv->limit_maxima.egress.allow_private,
                              .egress_max_requests = srv->limit_maxima.egress.max_requests,
                              .egress_max_response_bytes = srv->limit_maxima.egress.max_response_bytes,
                              .egress_timeout_ms = srv->limit_maxima.egress.timeout_ms,
                              .egress_ca_file = srv->limit_maxima.egress.ca_file};
    jsp_result *r = NULL;
    int rc = store_path ? jsp_context_new(srv->pool, &cfg, &sc->ctx) : JSP_ENOMEM;
    if (rc == JSP_ESTORE) /* the library logged the cause (locked, read-only...) above */
        fprintf(stderr, "jspool serve: %s: cannot open its store %s (see the error above)\n", path,
                store_path);
    else if (rc == 0)
        rc = jsp_load_module_named(sc->ctx, source, (long)len, path, &r); /* stacks name the file */
    free(source);
    free(store_path);
    if (rc != 0) {
        if (rc != JSP_ESTORE)
            fprintf(stderr, "jspool serve: %s: %s: %s\n", path, r ? r->error_name : jsp_error_id(rc),
                    r ? r->error_message : jsp_strerror(rc));
        jsp_result_free(r);
        free(name);
        free(store_file);
        if (sc)
            jsp_context_free(sc->ctx);
        free(sc);
        return rc == JSP_ESTORE ? 3 : 1;
    }
    json_t *exports = json_loadb(r->json, r->json_len, 0, NULL);
    size_t count = json_array_size(exports);
    if (!srv->hint_context && count && json_is_string(json_array_get(exports, count - 1))) {
        srv->hint_context = strdup(name);
        srv->hint_export = strdup(json_string_value(json_array_get(exports, count - 1)));
    }
    json_decref(exports);
    jsp_result_free(r);
    sc->id = jsp_context_id(sc->ctx);
    sc->name = name;
    sc->store_file = store_file;
    sc->is_module = true;
    sc->cpu_limit_ms = srv->cpu_limit_ms ? srv->cpu_limit_ms : JSP_DEFAULT_CPU_LIMIT_MS;
    sc->wall_limit_ms = srv->wall_limit_ms ? srv->wall_limit_ms : JSP_DEFAULT_WALL_LIMIT_MS;
    sc->memory_limit_bytes = srv->module_memory_limit_bytes;
    if (!registry_add(&srv->contexts, sc)) {
        served_context_free(sc);
        return 4;
    }
    return 0;
}

static char *read_token(const char *path)
{
    size_t len = 0;
    char *token = server_read_file(path, &len);
    if (!token)
        return NULL;
    while (len && isspace((unsigned char)token[len - 1]))
        token[--len] = '\0';
    /* Visible ASCII only (RFC 9110 token68 and more): a NUL would cut the compared token
     * short (a binary token of 32 random bytes has one ~12% of the time), and browsers can
     * only pass visible characters as a WebSocket subprotocol. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f) {
            fprintf(stderr, "jspool serve: the token file %s holds a byte that is not visible ASCII "
                            "(at offset %zu); use e.g. `openssl rand -hex 32`\n", path, i);
            free(token);
            return NULL;
        }
    return token;
}

void server_log_set_json(bool is_json)
{
    is_log_json = is_json;
}

/* One line on stderr in one write (runtime threads log too, and the request log is
 * written with write(2): stderr is unbuffered, so a character at a time would interleave
 * with them). text may be a tenant's console text, of any length: a control character
 * (ESC sequences, a CR that lets it overwrite the line on a terminal) or a backslash
 * (escaping the closing quote for a logfmt or JSON reader) becomes '?', a quote or
 * newline '\'', as in request paths (attacker review); what is left needs no escaping in
 * either format. */
static void log_line(const char *level, uint64_t context_id, const char *text)
{
    size_t text_len = strlen(text), cap = text_len + 128; /* head < 96, tail 3 */
    char small[1024];
    char *line = cap <= sizeof(small) ? small : malloc(cap);
    if (!line) { /* out of memory: the line's head only */
        line = small;
        cap = sizeof(small);
        text_len = cap - 128;
    }
    int n = context_id ? snprintf(line, 96, is_log_json ? "{\"level\":\"%s\",\"context\":%llu,\"msg\":\""
                                                          : "level=%s context=%llu msg=\"",
                                  level, (unsigned long long)context_id)
                       : snprintf(line, 96, is_log_json ? "{\"level\":\"%s\",\"msg\":\"" : "level=%s msg=\"", level);
    size_t len = n > 0 && n < 96 ? (size_t)n : 0;
    for (size_t i = 0; i < text_len && len + 4 < cap; i++) {
        char c = text[i];
        line[len++] = c == '"' || c == '\n' ? '\'' : (unsigned char)c < 0x20 || c == 0x7f || c == '\\' ? '?' : c;
    }
    memcpy(line + len, is_log_json ? "\"}\n" : "\"\n", is_log_json ? 3 : 2);
    fwrite(line, 1, len + (is_log_json ? 3 : 2), stderr);
    if (line != small)
        free(line);
}

void server_log(const char *level, uint64_t context_id, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    log_line(level, context_id, message);
}

static void log_to_stderr(int level, uint64_t context_id, const char *message, void *user)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    (void)user;
    if (level < JSP_LOG_INFO)
        return;
    log_line(names[level < 0 ? 0 : level > 3 ? 3 : level], context_id, message);
}

/* Descriptors are shared by client connections, stores (~4 each), guest sockets (egress,
 * and as many idle keep-alive connections) and the process's own (~6 per runtime thread,
 * logs, the data directory's lock): max_connections defaults to 1024, or half of what
 * the limit leaves after guest sockets and 256 of the process's own when that is less
 * (at least 64), and the stores get what is left, so that no count a client or tenant
 * drives can take descriptors another one needs. */
static void plan_descriptors(server *srv, const server_options *o, jsp_pool_config *pool_cfg)
{
    struct rlimit files;
    long limit = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
                         files.rlim_cur < (rlim_t)LONG_MAX / 2
                     ? (long)files.rlim_cur
                     : LONG_MAX / 2;
    long egress = 2L * (o->pool.max_egress_connections > 0 ? o->pool.max_egress_connections : 256);
    long spare = limit - egress - 256;
    long connections = o->max_connections > 0 ? o->max_connections
                       : spare / 2 < 1024     ? (spare / 2 > 64 ? spare / 2 : 64)
                                              : 1024;
    srv->max_connections = connections > INT_MAX ? INT_MAX : (int)connections;
    if (pool_cfg->max_stores == 0) {
        long stores = (spare - connections) / 4;
        pool_cfg->max_stores = stores < 16 ? 16 : stores > 1000000 ? 1000000 : (int)stores;
    }
}

static int start(server *srv, const server_options *o, struct sockaddr_storage *addr)
{
    jsp_pool_config pool_cfg = o->pool;
    pool_cfg.threads = o->threads;
    plan_descriptors(srv, o, &pool_cfg);
    pool_cfg.log = log_to_stderr;
    pool_cfg.on_message = ws_on_host_send;
    pool_cfg.message_user = srv;
    server_log_set_json(o->log_json);
    if (jsp_pool_new(&pool_cfg, &srv->pool) != 0) {
        fprintf(stderr, "jspool serve: cannot start the pool\n");
        return 4;
    }
    for (size_t i = 0; i < o->module_count; i++) {
        int rc = deploy_module(srv, o->modules[i]);
        if (rc != 0)
            return rc;
    }
    uv_loop_init(&srv->loop);
    srv->has_loop = true;
    h2o_config_init(&srv->config);
    /* No h2c upgrade: h2o would re-run the request as HTTP/2, past the framing checks of
     * guard.c, and a proxy that forwards Upgrade (as the WebSocket route needs) would let a
     * client tunnel HTTP/2 past its own rules. HTTP/2 with TLS is the proxy's job. */
    srv->config.http1.upgrade_to_http2 = 0;
    srv->config.max_request_entity_size = srv->max_body_bytes;
    h2o_hostconf_t *host = h2o_config_register_host(&srv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    api_install(host, srv);
    h2o_context_init(&srv->h2o, &srv->loop, &srv->config);
    srv->accept.ctx = &srv->h2o;
    srv->accept.hosts = srv->config.hosts;

    ws_init(srv);
    uv_async_init(&srv->loop, &srv->done_wakeup, on_calls_done);
    srv->done_wakeup.data = srv;
    uv_timer_init(&srv->loop, &srv->log_flush);
    log_flush_handle = &srv->log_flush;
    uv_timer_init(&srv->loop, &srv->grace);
    srv->grace.data = srv;
    uv_signal_init(&srv->loop, &srv->sigterm);
    uv_signal_init(&srv->loop, &srv->sigint);
    srv->sigterm.data = srv->sigint.data = srv;
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_signal, SIGINT);

    uv_tcp_init(&srv->loop, &srv->listener);
    srv->listener.data = srv;
    int rc = o->has_listen_fd ? uv_tcp_open(&srv->listener, o->listen_fd)
                              : uv_tcp_bind(&srv->listener, (struct sockaddr *)addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_accept);
    if (rc != 0) {
        fprintf(stderr, "jspool serve: cannot listen on %s: %s\n", o->listen, uv_strerror(rc));
        return 4;
    }
    struct sockaddr_storage bound;
    int bound_len = sizeof(bound);
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &bound_len);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (bound.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    } else {
        uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    }
    printf(bound.ss_family == AF_INET ? "listening on http://%s:%d\n" : "listening on http://[%s]:%d\n", ip, port);
    for (size_t i = 0; i < srv->contexts.count; i++)
        printf("deployed %s as context %llu, its tables in %s/%s\n", srv->contexts.items[i]->name,
               (unsigned long long)srv->contexts.items[i]->id, srv->data.path,
               srv->contexts.items[i]->store_file);
    if (srv->hint_context && srv->hint_export) {
        char base[INET6_ADDRSTRLEN + 16];
        snprintf(base, sizeof(base), bound.ss_family == AF_INET ? "%s:%d" : "[%s]:%d", ip, port);
        const char *auth = srv->token ? " -H \"Authorization: Bearer $TOKEN\"" : "";
        printf("try, from another shell:\n"
               "  curl -s http://%s/v1/contexts%s\n"
               "  curl -s -X POST http://%s/v1/contexts/%s/call/%s%s\n",
               base, auth, base, srv->hint_context, srv->hint_export, auth);
    }
    fflush(stdout);
    return 0;
}

/* A default must be one a client could have asked for: within its maximum. */
static bool check_limit(const char *key, long value, long max)
{
    if (max < 0 || (value >= 0 && value <= max))
        return true;
    char shown[32] = "none";
    if (value >= 0)
        snprintf(shown, sizeof(shown), "%ld", value);
    fprintf(stderr, "jspool serve: %s (%s) is above max_%s (%ld); raise the maximum or set it to none\n",
            key, shown, key, max);
    return false;
}

static bool check_limits(const server *srv)
{
    return check_limit("cpu_limit_ms", srv->cpu_limit_ms ? srv->cpu_limit_ms : JSP_DEFAULT_CPU_LIMIT_MS,
                       srv->limit_maxima.cpu_ms) &&
           check_limit("wall_limit_ms", srv->wall_limit_ms ? srv->wall_limit_ms : JSP_DEFAULT_WALL_LIMIT_MS,
                       srv->limit_maxima.wall_ms) &&
           check_limit("memory_limit_bytes", (long)srv->memory_limit_bytes, srv->limit_maxima.memory_bytes) &&
           check_limit("storage_quota", (long)(srv->storage_quota ? srv->storage_quota : JSP_DEFAULT_STORAGE_QUOTA),
                       srv->limit_maxima.storage_quota);
}

/* "https://a.example, http://localhost:3000" -> srv->ws_origins. */
static bool parse_origins(server *srv, const char *list)
{
    if (!list)
        return true;
    char *copy = strdup(list);
    for (char *save = NULL, *part = copy ? strtok_r(copy, ",", &save) : NULL; part; part = strtok_r(NULL, ",", &save)) {
        while (*part == ' ')
            part++;
        size_t len = strlen(part);
        while (len && part[len - 1] == ' ')
            part[--len] = '\0';
        char *item = len ? strdup(part) : NULL;
        char **grown = item ? realloc(srv->ws_origins, (srv->ws_origin_count + 1) * sizeof(*grown)) : NULL;
        if (grown) {
            srv->ws_origins = grown;
            grown[srv->ws_origin_count++] = item;
        } else {
            free(item);
        }
    }
    free(copy);
    if (srv->ws_origin_count == 0)
        fprintf(stderr, "jspool serve: ws_allowed_origins lists no Origin: '%s'\n", list);
    return srv->ws_origin_count > 0;
}

int server_run(const server_options *o)
{
    struct sockaddr_storage addr;
    const char *listen = o->listen ? o->listen : "127.0.0.1:8080";
    if (!parse_listen(listen, &addr)) {
        fprintf(stderr, "jspool serve: --listen wants HOST:PORT, got '%s'\n", listen);
        return 2;
    }
    server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return 4;
    pthread_mutex_init(&srv->done_mutex, NULL);
    srv->max_body_bytes = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
    srv->grace_ms = o->grace_ms > 0 ? o->grace_ms : DEFAULT_GRACE_MS;
    srv->ws_max_calls_in_flight = o->ws_max_calls_in_flight > 0 ? o->ws_max_calls_in_flight
                                                                : DEFAULT_WS_MAX_CALLS_IN_FLIGHT;
    srv->ws_max_queued_bytes = o->ws_max_queued_bytes ? (size_t)o->ws_max_queued_bytes
                                                      : DEFAULT_WS_MAX_QUEUED_BYTES;
    srv->ws_max_total_queued_bytes = o->ws_max_total_queued_bytes ? (size_t)o->ws_max_total_queued_bytes
                                                                  : (size_t)128 << 20;
    srv->cpu_limit_ms = o->cpu_limit_ms;
    srv->wall_limit_ms = o->wall_limit_ms;
    srv->memory_limit_bytes = o->memory_limit_bytes;
    srv->limit_maxima.cpu_ms = o->max_cpu_limit_ms ? o->max_cpu_limit_ms : DEFAULT_MAX_CPU_LIMIT_MS;
    srv->limit_maxima.wall_ms = o->max_wall_limit_ms ? o->max_wall_limit_ms : DEFAULT_MAX_WALL_LIMIT_MS;
    srv->limit_maxima.memory_bytes = o->max_memory_limit_bytes ? o->max_memory_limit_bytes
                                                            : DEFAULT_MAX_MEMORY_LIMIT_BYTES;
    srv->limit_maxima.storage_quota = o->max_storage_quota ? o->max_storage_quota : (long)JSP_DEFAULT_STORAGE_QUOTA;
    srv->storage_quota = o->storage_quota;
    if (!srv->storage_quota && srv->limit_maxima.storage_quota >= 0 &&
        srv->limit_maxima.storage_quota < (long)JSP_DEFAULT_STORAGE_QUOTA)
        srv->storage_quota = (uint64_t)srv->limit_maxima.storage_quota;
    /* an unset default follows a lower maximum; one set explicitly must fit under it */
    if (!srv->cpu_limit_ms && srv->limit_maxima.cpu_ms >= 0 && srv->limit_maxima.cpu_ms < JSP_DEFAULT_CPU_LIMIT_MS)
        srv->cpu_limit_ms = srv->limit_maxima.cpu_ms;
    if (!srv->wall_limit_ms && srv->limit_maxima.wall_ms >= 0 && srv->limit_maxima.wall_ms < JSP_DEFAULT_WALL_LIMIT_MS)
        srv->wall_limit_ms = srv->limit_maxima.wall_ms;
    /* A module keeps state in its VM until the durable store lands: deployed isolated, a
     * neighbour cannot make the heap policy recycle its VM (and re-run it from scratch). */
    srv->module_memory_limit_bytes = o->module_memory_limit_bytes ? o->module_memory_limit_bytes
                                     : o->memory_limit_bytes ? o->memory_limit_bytes
                                                             : DEFAULT_MODULE_MEMORY_LIMIT;
    srv->limit_maxima.egress = (request_egress){.allow = o->egress_allow,
                                                .allow_loopback = o->egress_allow_loopback != 0,
                                                .allow_private = o->egress_allow_private != 0,
                                                .max_requests = o->egress_max_requests,
                                                .max_response_bytes = o->egress_max_response_bytes,
                                                .timeout_ms = o->egress_timeout_ms,
                                                .ca_file = o->egress_ca_file};
    char egress_why[300];
    int rc = check_limits(srv) && parse_origins(srv, o->ws_allowed_origins) ? 0 : 2;
    if (rc == 0 && (jsp_egress_check(o->egress_allow, NULL, egress_why, sizeof(egress_why)) != 0 ||
                    o->egress_max_requests < 0)) {
        fprintf(stderr, "jspool serve: egress_allow: %s\n",
                o->egress_max_requests < 0 ? "egress_max_requests must not be negative" : egress_why);
        rc = 2;
    }
    if (rc == 0 && o->token_file && !(srv->token = read_token(o->token_file))) {
        fprintf(stderr, "jspool serve: cannot read the token file %s\n", o->token_file);
        rc = 3;
    } else if (rc == 0 && srv->token && !*srv->token) {
        fprintf(stderr, "jspool serve: the token file %s is empty\n", o->token_file);
        rc = 2;
    } else if (rc == 0 && !is_loopback(&addr) && !srv->token) {
        fprintf(stderr, "jspool serve: refusing to listen on %s without --token-file\n", listen);
        rc = 2;
    }
    /* Store files (and their -wal) readable by this user only, whatever the umask: the
     * data directory is 0700 when made here, but an operator may point --data at an
     * existing, more open one. */
    umask(umask(0) | 077);
    char why[600];
    srv->data.lock_fd = -1;
    srv->store_durability = o->store_durability;
    srv->store_max_rows = o->store_max_rows_per_call > LONG_MAX ? LONG_MAX : (long)o->store_max_rows_per_call;
    srv->store_max_bytes = o->store_max_bytes_per_call > LONG_MAX ? LONG_MAX : (long)o->store_max_bytes_per_call;
    srv->store_max_file_bytes = o->store_max_file_bytes ? o->store_max_file_bytes : (uint64_t)1 << 30;
    if (rc == 0 && !data_dir_open(&srv->data, o->data_dir ? o->data_dir : "./jspool-data", true, why,
                                  sizeof(why))) {
        fprintf(stderr, "jspool serve: %s\n", why);
        rc = 3;
    }
    if (rc == 0 && !guard_init(srv)) {
        fprintf(stderr, "jspool serve: SHA-256 is unavailable for the token compare\n");
        rc = 4;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit files; /* one descriptor per connection: take what the system allows */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (rc == 0)
        rc = start(srv, o, &addr);
    if (rc == 0)
        uv_run(&srv->loop, UV_RUN_DEFAULT);
    /* Drained (or failed to start): calls still in flight end with JSP_EDESTROYED as their
     * contexts go, then the pool closes; their answers are flushed by a last turn of the
     * loop. */
    if (srv->has_loop)
        ws_close_context(srv, 0);
    registry_free(&srv->contexts);
    jsp_pool_free(srv->pool);
    srv->pool = NULL;
    if (srv->has_loop) {
        on_calls_done(&srv->done_wakeup); /* also frees host.send() values and calls left queued */
        ws_free(srv);
        uv_run(&srv->loop, UV_RUN_NOWAIT);
        close_client_connections(srv);
        h2o_context_dispose(&srv->h2o);
        log_flush();
        log_flush_handle = NULL;
        uv_walk(&srv->loop, close_walk, NULL);
        uv_run(&srv->loop, UV_RUN_DEFAULT);
        uv_loop_close(&srv->loop);
        h2o_config_dispose(&srv->config);
    }
    pthread_mutex_destroy(&srv->done_mutex);
    free(srv->token);
    for (size_t i = 0; i < srv->ws_origin_count; i++)
        free(srv->ws_origins[i]);
    free(srv->ws_origins);
    free(srv->hint_context);
    free(srv->hint_export);
    data_dir_close(&srv->data); /* after the pool: its stores are closed */
    for (size_t i = 0; i < srv->module_root_count; i++)
        free(srv->module_roots[i]);
    free(srv);
    if (rc == 0)
        server_log("info", 0, "stopped");
    return rc;
}
