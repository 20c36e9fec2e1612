/* fetch.c — see fetch.h. One CURLM per runtime (created by its first request), shared by
 * the runtime's contexts so keep-alive and HTTP/2 connections are reused; every reuse is
 * checked again (CURLOPT_PREREQFUNCTION), so a connection one context may use is never
 * handed to a context whose policy refuses its address.
 *
 * Where the egress policy is checked (each refusal becomes the TypeError's message):
 *   - fetch_start: the URL's scheme, host and port against the allow-list;
 *   - the header callback: a redirect's Location (resolved against the URL it came from),
 *     before curl follows it;
 *   - CURLOPT_OPENSOCKETFUNCTION: the address curl is about to connect to, after DNS (so a
 *     name that resolves to 127.0.0.1 is refused as loopback, whatever the name);
 *   - CURLOPT_PREREQFUNCTION: the connected (or reused) address and the URL actually
 *     requested, before a byte of the request is sent.
 * Proxies from the environment are ignored (CURLOPT_PROXY ""): a proxy would make the
 * address checks meaningless.
 *
 * A transfer's events never run JS from inside libcurl: callbacks buffer what arrived and
 * queue one JOB_FETCH_EVENT per transfer, which runs in the context's turn like any job
 * (so a blocked or throttled context waits). The body is pulled: curl is paused once
 * FETCH_BUFFER_BYTES wait unread, and resumed by the next read. */
#include "runtime/fetch.h"

#include "runtime/runtime.h"
#include "util/egress_policy.h"

#include <assert.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Unread body bytes held per transfer before curl is paused: 256 KiB keeps a 100 MB
 * download's reads large (one JS event per ~256 KiB) and a guest that never reads a body
 * costs at most this much per request slot. */
#define FETCH_BUFFER_BYTES ((size_t)256 << 10)
/* A response head (status line and headers of the final response) may not exceed this. */
#define FETCH_HEAD_MAX ((size_t)256 << 10)
#define FETCH_MAX_REDIRECTS 20
/* Responses held per request slot (egress_max_requests) at most, read or not. */
#define FETCH_UNREAD_FACTOR 64

typedef struct fetch_socket {
    uv_poll_t poll;
    curl_socket_t fd;
    struct runtime_fetch *rf;
    struct fetch_socket *prev, *next;
} fetch_socket;

struct runtime_fetch {
    runtime *rt;
    CURLM *multi;
    uv_timer_t timer;
    fetch_socket *sockets; /* open polls, for the close */
};

typedef struct fetch_transfer {
    uint64_t id;
    struct jsp_context *ctx;
    uint64_t call_id;          /* the call whose JS started it; 0: none */
    CURL *easy;                /* NULL once finished or cancelled */
    struct curl_slist *request_headers;
    char *body;                /* the request body (curl reads it from here) */
    int redirect;              /* enum engine_fetch_redirect */
    char *url;                 /* as requested */
    char *final_url;           /* after redirects */
    /* the head of the response being received */
    int status;
    char status_text[128];
    char *head;                /* "name\0value\0" ... */
    size_t head_len, head_cap;
    char *location;            /* its Location header, if any */
    int redirects;
    bool is_head_ready;        /* the final response's head is complete */
    bool is_head_delivered;
    /* the body */
    char *data;
    size_t data_len, data_cap;
    size_t held;               /* head_cap + data_cap, as counted in ctx->fetch_held_bytes */
    uint64_t received;
    bool is_paused;
    bool is_wanted;            /* the JS awaits a readable event */
    bool is_done;              /* nothing more will arrive (ok or failed) */
    bool is_failed;
    bool is_event_queued;
    char refusal[300];         /* an address the socket callback refused: reported if no
                                  other address connected */
    char error[640];
} fetch_transfer;

static void fail(fetch_transfer *t, const char *format, const char *detail)
{
    if (t->is_failed)
        return;
    t->is_failed = true;
    char reason[400];
    snprintf(reason, sizeof(reason), format, detail);
    snprintf(t->error, sizeof(t->error), "Failed to fetch %.200s: %s", t->url, reason);
}

/* ---- the loop's side: curl's sockets and timer on libuv ---- */

static void check_done(struct runtime_fetch *rf);

static void on_poll(uv_poll_t *handle, int status, int events)
{
    fetch_socket *fs = handle->data;
    struct runtime_fetch *rf = fs->rf;
    int flags = status < 0 ? CURL_CSELECT_ERR
                           : (events & UV_READABLE ? CURL_CSELECT_IN : 0) | (events & UV_WRITABLE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(rf->multi, fs->fd, flags, &running);
    check_done(rf);
}

static void on_timer(uv_timer_t *handle)
{
    struct runtime_fetch *rf = handle->data;
    int running;
    curl_multi_socket_action(rf->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(rf);
}

static void free_socket(uv_handle_t *handle)
{
    free(handle->data);
}

static void close_socket(struct runtime_fetch *rf, fetch_socket *fs)
{
    if (fs->prev)
        fs->prev->next = fs->next;
    else
        rf->sockets = fs->next;
    if (fs->next)
        fs->next->prev = fs->prev;
    uv_poll_stop(&fs->poll);
    uv_close((uv_handle_t *)&fs->poll, free_socket);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct runtime_fetch *rf = userp;
    fetch_socket *fs = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (fs) {
            curl_multi_assign(rf->multi, s, NULL);
            close_socket(rf, fs);
        }
        return 0;
    }
    if (!fs) {
        fs = calloc(1, sizeof(*fs));
        if (!fs || uv_poll_init_socket(&rf->rt->loop, &fs->poll, s) != 0) {
            free(fs);
            return -1;
        }
        fs->fd = s;
        fs->rf = rf;
        fs->poll.data = fs;
        fs->next = rf->sockets;
        if (fs->next)
            fs->next->prev = fs;
        rf->sockets = fs;
        curl_multi_assign(rf->multi, s, fs);
    }
    int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&fs->poll, events, on_poll);
    return 0;
}

static int on_timeout_change(CURLM *multi, long timeout_ms, void *userp)
{
    struct runtime_fetch *rf = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&rf->timer);
    else
        uv_timer_start(&rf->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static uv_once_t curl_once = UV_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static struct runtime_fetch *runtime_fetch_of(runtime *rt)
{
    if (rt->fetch)
        return rt->fetch;
    uv_once(&curl_once, curl_init_once);
    struct runtime_fetch *rf = calloc(1, sizeof(*rf));
    if (!rf || !(rf->multi = curl_multi_init())) {
        free(rf);
        return NULL;
    }
    rf->rt = rt;
    uv_timer_init(&rt->loop, &rf->timer);
    rf->timer.data = rf;
    curl_multi_setopt(rf->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(rf->multi, CURLMOPT_SOCKETDATA, rf);
    curl_multi_setopt(rf->multi, CURLMOPT_TIMERFUNCTION, on_timeout_change);
    curl_multi_setopt(rf->multi, CURLMOPT_TIMERDATA, rf);
    /* Idle keep-alive connections hold descriptors too: the runtimes' caches together keep
     * at most max_egress_connections (curl's default grows with the transfers it saw). */
    const jsp_pool_config *pc = rt->services->config;
    long idle = pc->max_egress_connections / (pc->threads > 0 ? pc->threads : 1);
    curl_multi_setopt(rf->multi, CURLMOPT_MAXCONNECTS, idle > 4 ? idle : 4L);
    rt->fetch = rf;
    return rf;
}

static void free_runtime_fetch(uv_handle_t *handle)
{
    free(handle->data);
}

void fetch_runtime_close(runtime *rt)
{
    struct runtime_fetch *rf = rt->fetch;
    if (!rf)
        return;
    rt->fetch = NULL;
    curl_multi_cleanup(rf->multi); /* its connections' sockets are removed through on_socket */
    while (rf->sockets)
        close_socket(rf, rf->sockets);
    uv_timer_stop(&rf->timer);
    uv_close((uv_handle_t *)&rf->timer, free_runtime_fetch);
}

/* ---- one transfer ---- */

static void queue_event(fetch_transfer *t)
{
    if (t->is_event_queued)
        return;
    job *j = job_new(JOB_FETCH_EVENT, t->ctx, NULL, 0, NULL);
    if (!j)
        return; /* out of memory: the JS hears of it at its next read */
    j->fetch_id = t->id;
    if (job_queue_push(&t->ctx->rt->queue, j) != 0) {
        job_free(j);
        return;
    }
    t->is_event_queued = true;
}

/* Leaves the multi handle (the transfer's request slot is free again). */
static void detach(fetch_transfer *t)
{
    if (!t->easy)
        return;
    struct runtime_fetch *rf = t->ctx->rt->fetch;
    curl_multi_remove_handle(rf->multi, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    fetch_slot_give(t->ctx);
}

bool fetch_slot_take(struct jsp_context *ctx, char *why, size_t why_len)
{
    const runtime_services *s = services_of(ctx);
    int cap = s->config->max_egress_connections;
    if (atomic_fetch_add_explicit(s->egress_open, 1, memory_order_relaxed) >= cap) {
        atomic_fetch_sub_explicit(s->egress_open, 1, memory_order_relaxed);
        snprintf(why, why_len, "the process already has %d connections open for its contexts, "
                 "its max_egress_connections", cap);
        return false;
    }
    ctx->fetches_active++;
    return true;
}

void fetch_slot_give(struct jsp_context *ctx)
{
    ctx->fetches_active--;
    assert(ctx->fetches_active >= 0);
    int before = atomic_fetch_sub_explicit(services_of(ctx)->egress_open, 1, memory_order_relaxed);
    assert(before > 0);
    (void)before;
}

uint64_t fetch_hold_budget(const struct jsp_context *ctx)
{
    uint64_t budget = ctx->egress_max_response_bytes;
    if (ctx->memory_limit_bytes && ctx->memory_limit_bytes < budget)
        budget = ctx->memory_limit_bytes;
    return budget;
}

/* Brings ctx->fetch_held_bytes up to date after t's buffers grew or went. */
static void update_held(fetch_transfer *t)
{
    size_t now = t->head_cap + t->data_cap;
    t->ctx->fetch_held_bytes = t->ctx->fetch_held_bytes - t->held + now;
    t->held = now;
}

/* Frees t (out of the multi handle first), leaving the context's map alone. */
static void release_transfer(fetch_transfer *t)
{
    detach(t);
    t->head_cap = t->data_cap = 0;
    update_held(t);
    curl_slist_free_all(t->request_headers);
    free(t->body);
    free(t->url);
    free(t->final_url);
    free(t->head);
    free(t->location);
    free(t->data);
    free(t);
}

static void free_transfer(fetch_transfer *t)
{
    u64_map_remove(&t->ctx->fetches, t->id);
    release_transfer(t);
}

/* The URL's destination against the allow-list; false with why. */
static bool url_allowed(const struct jsp_context *ctx, CURLU *u, char *why, size_t why_len)
{
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = false;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        snprintf(why, why_len, "not an http: or https: URL with a host");
    else
        ok = egress_allows_url(&ctx->egress, scheme, host, atoi(port), why, why_len);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return ok;
}

static bool text_allowed(const struct jsp_context *ctx, const char *base, const char *url, char *why, size_t why_len)
{
    CURLU *u = curl_url();
    if (!u) {
        snprintf(why, why_len, "out of memory");
        return false;
    }
    bool ok = (!base || curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK) &&
              curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
    if (!ok)
        snprintf(why, why_len, "'%.200s' is not a URL", url);
    else
        ok = url_allowed(ctx, u, why, why_len);
    curl_url_cleanup(u);
    return ok;
}

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    fetch_transfer *t = clientp;
    char why[200];
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !egress_allows_address(&t->ctx->egress, &address->addr, why, sizeof(why))) {
        if (purpose != CURLSOCKTYPE_IPCXN)
            snprintf(why, sizeof(why), "not an IP connection");
        snprintf(t->refusal, sizeof(t->refusal), "%s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static int on_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    fetch_transfer *t = clientp;
    struct sockaddr_storage ss;
    egress_address_from_text(primary_ip, &ss); /* not an address: family 0, refused below */
    char why[300];
    char *url = NULL;
    if (!egress_allows_address(&t->ctx->egress, (struct sockaddr *)&ss, why, sizeof(why)) ||
        curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url ||
        !text_allowed(t->ctx, NULL, url, why, sizeof(why))) {
        fail(t, "%s", why);
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static bool is_redirect_status(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static bool head_append(fetch_transfer *t, const char *text, size_t len)
{
    if (t->head_len + len + 1 > FETCH_HEAD_MAX)
        return false;
    if (t->head_len + len + 1 > t->head_cap) {
        size_t cap = t->head_cap ? t->head_cap * 2 : 1024;
        while (cap < t->head_len + len + 1)
            cap *= 2;
        char *grown = realloc(t->head, cap);
        if (!grown)
            return false;
        t->head = grown;
        t->head_cap = cap;
        update_held(t);
    }
    memcpy(t->head + t->head_len, text, len);
    t->head[t->head_len + len] = '\0';
    t->head_len += len + 1;
    return true;
}

/* The end of a response's head: a redirect to check and let curl follow, an interim 1xx
 * to forget, or the final response. False to stop the transfer (t has failed). */
static bool head_complete(fetch_transfer *t)
{
    if (t->status >= 100 && t->status < 200)
        return true; /* interim: the real head follows */
    if (is_redirect_status(t->status) && t->location && t->redirect != ENGINE_FETCH_MANUAL) {
        if (t->redirect == ENGINE_FETCH_ERROR) {
            fail(t, "%s", "the response is a redirect and the request's redirect mode is 'error'");
            return false;
        }
        if (++t->redirects > FETCH_MAX_REDIRECTS) {
            fail(t, "%s", "more than 20 redirects");
            return false;
        }
        char *from = NULL, why[300];
        curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &from);
        if (!text_allowed(t->ctx, from, t->location, why, sizeof(why))) {
            char detail[360];
            snprintf(detail, sizeof(detail), "redirect refused: %s", why);
            fail(t, "%s", detail);
            return false;
        }
        return true; /* curl follows it */
    }
    char *url = NULL;
    curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
    t->final_url = strdup(url ? url : t->url);
    t->is_head_ready = true;
    queue_event(t);
    return t->final_url != NULL;
}

static size_t on_header(char *buffer, size_t size, size_t count, void *userp)
{
    fetch_transfer *t = userp;
    size_t len = size * count;
    if (t->is_failed)
        return 0;
    if (t->is_head_ready)
        return len; /* trailers */
    if (len >= 5 && memcmp(buffer, "HTTP/", 5) == 0) { /* a new response: start over */
        t->head_len = 0;
        free(t->location);
        t->location = NULL;
        char line[160];
        snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), buffer);
        line[strcspn(line, "\r\n")] = '\0';
        char *space = strchr(line, ' ');
        t->status = space ? atoi(space + 1) : 0;
        char *reason = space ? strchr(space + 1, ' ') : NULL;
        snprintf(t->status_text, sizeof(t->status_text), "%s", reason ? reason + 1 : "");
        return len;
    }
    if ((len == 2 && buffer[0] == '\r') || (len == 1 && buffer[0] == '\n'))
        return head_complete(t) ? len : 0;
    const char *colon = memchr(buffer, ':', len);
    if (!colon || colon == buffer)
        return len; /* a folded or broken line: ignored, as browsers do */
    size_t name_len = (size_t)(colon - buffer);
    const char *value = colon + 1;
    size_t value_len = len - name_len - 1;
    while (value_len && (*value == ' ' || *value == '\t'))
        value++, value_len--;
    while (value_len && (value[value_len - 1] == '\r' || value[value_len - 1] == '\n' || value[value_len - 1] == ' ' ||
                         value[value_len - 1] == '\t'))
        value_len--;
    char name[256];
    if (name_len >= sizeof(name))
        return len;
    for (size_t i = 0; i < name_len; i++)
        name[i] = (char)((buffer[i] >= 'A' && buffer[i] <= 'Z') ? buffer[i] + 32 : buffer[i]);
    name[name_len] = '\0';
    if (strcmp(name, "location") == 0) {
        free(t->location);
        t->location = strndup(value, value_len);
    }
    if (!head_append(t, name, name_len) || !head_append(t, value, value_len)) {
        fail(t, "%s", "the response's headers are larger than 256 KiB");
        return 0;
    }
    return len;
}

static size_t on_write(char *data, size_t size, size_t count, void *userp)
{
    fetch_transfer *t = userp;
    size_t len = size * count;
    if (t->is_failed)
        return 0;
    if (!t->is_head_ready)
        return len; /* the body of a redirect curl follows, or of an interim response */
    if (t->received + len > t->ctx->egress_max_response_bytes) {
        char limit[32];
        snprintf(limit, sizeof(limit), "%llu", (unsigned long long)t->ctx->egress_max_response_bytes);
        fail(t, "the response body is larger than this context's egress_max_response_bytes (%s bytes)", limit);
        return 0;
    }
    if (t->data_len && t->data_len + len > FETCH_BUFFER_BYTES) {
        t->is_paused = true; /* curl hands this piece again once unpaused */
        return CURL_WRITEFUNC_PAUSE;
    }
    if (t->data_len + len > t->data_cap) {
        size_t cap = t->data_cap ? t->data_cap : 16384;
        while (cap < t->data_len + len)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            fail(t, "%s", "out of memory");
            return 0;
        }
        t->data = grown;
        t->data_cap = cap;
        update_held(t);
    }
    memcpy(t->data + t->data_len, data, len);
    t->data_len += len;
    t->received += len;
    if (t->is_wanted)
        queue_event(t);
    return len;
}

/* Finished transfers: their outcome, and their request slot given back. */
static void check_done(struct runtime_fetch *rf)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(rf->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        fetch_transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode code = msg->data.result;
        if (code != CURLE_OK && !t->is_failed) {
            char detail[64];
            if (code == CURLE_OPERATION_TIMEDOUT) {
                snprintf(detail, sizeof(detail), "%llu", (unsigned long long)t->ctx->egress_timeout_ms);
                fail(t, "no complete response within this context's egress_timeout_ms (%s ms)", detail);
            } else if (code == CURLE_FILESIZE_EXCEEDED) {
                snprintf(detail, sizeof(detail), "%llu", (unsigned long long)t->ctx->egress_max_response_bytes);
                fail(t, "the response body is larger than this context's egress_max_response_bytes (%s bytes)", detail);
            } else if (code == CURLE_COULDNT_CONNECT && t->refusal[0]) {
                fail(t, "%s", t->refusal);
            } else {
                fail(t, "%s", curl_easy_strerror(code));
            }
        } else if (code == CURLE_OK && !t->is_head_ready && !t->is_failed) {
            fail(t, "%s", "the response ended before its headers");
        }
        t->is_done = true;
        detach(t);
        queue_event(t);
    }
}

static void set_body(CURL *easy, const char *method, fetch_transfer *t, size_t len)
{
    if (strcmp(method, "GET") == 0 && !t->body) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        return;
    }
    if (t->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->body ? t->body : "");
    }
    /* POST stays curl's POST, which becomes GET after a 301/302/303 as the Fetch standard
     * says; any other method is sent as is (and kept across redirects: curl's rule). */
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
}

int fetch_start(struct jsp_context *ctx, const engine_fetch_request *req, uint64_t *id, char *error,
                size_t error_len)
{
    assert(runtime_is_thread_of(ctx->rt));
    char why[300];
    if (ctx->fetches_active >= ctx->egress_max_requests) {
        snprintf(error, error_len, "Failed to fetch %.200s: this context already has %d requests in flight, "
                 "its egress_max_requests", req->url, ctx->egress_max_requests);
        return -1;
    }
    /* Finished responses whose bodies nobody read stay until read, cancelled, collected
     * (fetch.js lets go of a collected Response), or their call ends: bounded here. */
    if (ctx->fetches.count >= (size_t)ctx->egress_max_requests * FETCH_UNREAD_FACTOR) {
        snprintf(error, error_len, "Failed to fetch %.200s: this context holds %zu responses whose bodies were "
                 "not read; read them or cancel them (response.body.cancel())", req->url, ctx->fetches.count);
        return -1;
    }
    /* What unread responses hold in C is no heap's: bounded per context in bytes too (1,024
     * unread 200 KB bodies held 213 MB in a context limited to 32 MiB: attacker review).
     * Transfers in flight may each add one buffer (FETCH_BUFFER_BYTES) and a head past it. */
    if (ctx->fetch_held_bytes >= fetch_hold_budget(ctx)) {
        snprintf(error, error_len, "Failed to fetch %.200s: this context holds %llu bytes of responses it has not "
                 "read (at most %llu: its egress_max_response_bytes, or its memory limit); read them or cancel them "
                 "(response.body.cancel())", req->url, (unsigned long long)ctx->fetch_held_bytes,
                 (unsigned long long)fetch_hold_budget(ctx));
        return -1;
    }
    if (!text_allowed(ctx, NULL, req->url, why, sizeof(why))) {
        snprintf(error, error_len, "Failed to fetch %.200s: %s", req->url, why);
        return -1;
    }
    /* fetch.js checked the headers; a line break here would be a second header (or a
     * second request) on the wire, so it is checked once more where the lines are made */
    for (size_t i = 0; i < 2 * req->header_count; i++)
        if (strpbrk(req->headers[i], "\r\n") || (i % 2 == 0 && (!req->headers[i][0] || strchr(req->headers[i], ':')))) {
            snprintf(error, error_len, "Failed to fetch %.200s: a request header is malformed", req->url);
            return -1;
        }
    struct runtime_fetch *rf = runtime_fetch_of(ctx->rt);
    fetch_transfer *t = rf ? calloc(1, sizeof(*t)) : NULL;
    CURL *easy = t ? curl_easy_init() : NULL;
    if (!easy) {
        free(t);
        snprintf(error, error_len, "Failed to fetch %.200s: out of memory", req->url);
        return -1;
    }
    t->ctx = ctx;
    t->id = ++ctx->next_fetch_id;
    t->call_id = req->is_context_owned ? 0 : ctx->current_call_id;
    t->redirect = req->redirect;
    t->easy = easy;
    t->url = strdup(req->url);
    if (req->body_len && (t->body = malloc(req->body_len)) != NULL)
        memcpy(t->body, req->body, req->body_len);
    bool is_oom = !t->url || (req->body_len && !t->body);
    bool has_user_agent = false, has_accept = false, has_type = false;
    for (size_t i = 0; i < req->header_count && !is_oom; i++) {
        const char *name = req->headers[2 * i], *value = req->headers[2 * i + 1];
        has_user_agent |= strcasecmp(name, "user-agent") == 0;
        has_accept |= strcasecmp(name, "accept") == 0;
        has_type |= strcasecmp(name, "content-type") == 0;
        size_t line_len = strlen(name) + strlen(value) + 3;
        char *line = malloc(line_len);
        if (!line) {
            is_oom = true;
            break;
        }
        snprintf(line, line_len, *value ? "%s: %s" : "%s;", name, value); /* "x;" sends an empty x */
        struct curl_slist *grown = curl_slist_append(t->request_headers, line);
        free(line);
        if (!grown)
            is_oom = true;
        else
            t->request_headers = grown;
    }
    /* curl's own: no Expect: 100-continue, no form type it would add to a POST body */
    const char *defaults[] = {"Expect:", has_accept ? NULL : "Accept: */*",
                              has_user_agent ? NULL : "User-Agent: jspool-fetch", has_type ? NULL : "Content-Type:"};
    for (size_t i = 0; i < 4 && !is_oom; i++) {
        struct curl_slist *grown = defaults[i] ? curl_slist_append(t->request_headers, defaults[i]) : t->request_headers;
        if (!grown)
            is_oom = true;
        else
            t->request_headers = grown;
    }
    if (is_oom || u64_map_put(&ctx->fetches, t->id, t) != 0) {
        t->easy = NULL;
        curl_easy_cleanup(easy);
        curl_slist_free_all(t->request_headers);
        free(t->body);
        free(t->url);
        free(t);
        snprintf(error, error_len, "Failed to fetch %.200s: out of memory", req->url);
        return -1;
    }
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""); /* every decoding built in: gzip, deflate, br, zstd */
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, req->redirect == ENGINE_FETCH_FOLLOW ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, (long)FETCH_MAX_REDIRECTS);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->request_headers);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(easy, CURLOPT_PREREQDATA, t);
    if (ctx->egress_timeout_ms) /* an event stream may stay open: only its connection is bounded */
        curl_easy_setopt(easy, req->is_context_owned ? CURLOPT_CONNECTTIMEOUT_MS : CURLOPT_TIMEOUT_MS,
                         (long)ctx->egress_timeout_ms);
    if (ctx->egress_ca_file)
        curl_easy_setopt(easy, CURLOPT_CAINFO, ctx->egress_ca_file);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ctx->egress_max_response_bytes);
    set_body(easy, req->method, t, req->body_len);
    bool has_slot = fetch_slot_take(ctx, why, sizeof(why));
    if (!has_slot || curl_multi_add_handle(rf->multi, easy) != CURLM_OK) {
        if (has_slot)
            fetch_slot_give(ctx);
        t->easy = NULL;
        curl_easy_cleanup(easy);
        free_transfer(t);
        snprintf(error, error_len, "Failed to fetch %.200s: %s", req->url,
                 has_slot ? "the transfer could not start" : why);
        return -1;
    }
    *id = t->id;
    return 0;
}

int fetch_read(struct jsp_context *ctx, uint64_t id, char **data, size_t *len, char *error, size_t error_len)
{
    fetch_transfer *t = u64_map_get(&ctx->fetches, id);
    if (!t) {
        snprintf(error, error_len, "the request was cancelled");
        return ENGINE_FETCH_FAILED;
    }
    if (t->data_len) {
        *data = t->data;
        *len = t->data_len;
        t->data = NULL;
        t->data_len = t->data_cap = 0;
        update_held(t);
        t->is_wanted = false;
        if (t->is_paused && t->easy) {
            t->is_paused = false;
            curl_easy_pause(t->easy, CURLPAUSE_CONT); /* may hand data to on_write right away */
        }
        return ENGINE_FETCH_DATA;
    }
    if (t->is_failed) {
        snprintf(error, error_len, "%s", t->error);
        free_transfer(t);
        return ENGINE_FETCH_FAILED;
    }
    if (t->is_done) {
        free_transfer(t);
        return ENGINE_FETCH_END;
    }
    t->is_wanted = true;
    return ENGINE_FETCH_LATER;
}

void fetch_abort(struct jsp_context *ctx, uint64_t id)
{
    fetch_transfer *t = u64_map_get(&ctx->fetches, id);
    if (t)
        free_transfer(t);
}

void fetch_run_job(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    uint64_t id = j->fetch_id;
    fetch_transfer *t = ctx->is_dead ? NULL : u64_map_get(&ctx->fetches, id);
    if (!t) {
        job_free(j);
        return; /* aborted, read to its end, or its context died */
    }
    t->is_event_queued = false;
    engine_fetch_head head;
    const engine_fetch_head *deliver_head = NULL;
    char error[sizeof(t->error)];
    const char *deliver_error = NULL;
    if (t->is_head_ready && !t->is_head_delivered) {
        t->is_head_delivered = true;
        head = (engine_fetch_head){.status = t->status, .status_text = t->status_text, .url = t->final_url,
                                   .is_redirected = t->redirects > 0, .headers = t->head, .headers_len = t->head_len};
        if (!head.headers)
            head.headers = "";
        deliver_head = &head;
    } else if (t->is_failed) { /* before the head: fetch() rejects; after: the body's next read */
        snprintf(error, sizeof(error), "%s", t->error);
        deliver_error = error;
    } else if (!(t->is_head_delivered && t->is_wanted && (t->data_len || t->is_done || t->is_failed))) {
        job_free(j);
        return; /* nothing the JS waits for */
    }
    t->is_wanted = false;
    uint64_t call_id = t->call_id && u64_map_get(&ctx->pending_calls, t->call_id) ? t->call_id : 0;
    if (deliver_error)
        free_transfer(t); /* the JS forgets it on this event */
    /* What its JS starts in this turn belongs to the same call (so the call's end cancels
     * a chain of requests, not only the first). */
    uint64_t outer = ctx->current_call_id;
    ctx->current_call_id = call_id;
    engine_set_current_call(ctx->ec, call_id);
    js_run run;
    bool is_known = true;
    if (runtime_enter_js(rt, ctx, &run)) {
        is_known = engine_fetch_deliver(ctx->ec, id, deliver_head, deliver_error);
        runtime_leave_js(rt, &run);
    }
    ctx->current_call_id = outer;
    if (!ctx->is_dead)
        engine_set_current_call(ctx->ec, outer);
    int tripped = run.budget.tripped;
    if (tripped && tripped != JSP_EDESTROYED && tripped != JSP_ECLOSED && !ctx->is_dead) {
        /* Its JS did not run (an isolated context over its memory limit) or was stopped
         * mid-way: it may never hear of this transfer again, so the transfer ends here, and
         * the call awaiting it ends with that limit instead of waiting for its wall limit. */
        char line[160];
        snprintf(line, sizeof(line), "fetch event stopped: %s limit; its request was cancelled",
                 tripped == JSP_ECPU_LIMIT ? "CPU" : tripped == JSP_EWALL_LIMIT ? "wall" : "memory");
        runtime_log(ctx, JSP_LOG_ERROR, line);
        if ((t = u64_map_get(&ctx->fetches, id)) != NULL)
            free_transfer(t);
        job *call = call_id ? u64_map_remove(&ctx->pending_calls, call_id) : NULL;
        if (call)
            runtime_fail(call, tripped);
        /* Its JS lets go of what it held for the request (a half-read body can be most of
         * a memory limit): the failure in a run of its own — unmetered when the memory
         * limit is what stopped it, as the globals jobs that free memory run. */
        if (!ctx->is_dead) {
            snprintf(error, sizeof(error), "Failed to fetch: stopped by this context's %s limit; the request was "
                     "cancelled", tripped == JSP_ECPU_LIMIT ? "CPU" : tripped == JSP_EWALL_LIMIT ? "wall" : "memory");
            if (tripped == JSP_EOOM)
                runtime_enter_js_unmetered(rt, ctx, &run);
            if (tripped == JSP_EOOM || runtime_enter_js(rt, ctx, &run)) {
                engine_fetch_deliver(ctx->ec, id, NULL, error);
                runtime_leave_js(rt, &run);
            }
        }
        is_known = true; /* gone already */
    }
    if (!is_known && !ctx->is_dead && (t = u64_map_get(&ctx->fetches, id)) != NULL)
        free_transfer(t); /* its JS is gone (the group did not load, or the VM was recycled) */
    job_free(j); /* last: its reference keeps ctx */
}

size_t fetch_cancel_for_call(struct jsp_context *ctx, uint64_t call_id)
{
    size_t cancelled = 0;
    if (!call_id || !ctx->fetches.count)
        return 0;
    for (size_t i = 0; i < ctx->fetches.capacity; i++) {
        u64_map_slot *slot = &ctx->fetches.slots[i];
        if (slot->key == 0 || slot->key == UINT64_MAX)
            continue;
        fetch_transfer *t = slot->value;
        if (t->call_id != call_id || t->is_failed)
            continue;
        cancelled += !t->is_done; /* a body complete but unread is let go without a word */
        fail(t, "%s", "cancelled: the call that started it ended");
        t->is_done = true;
        detach(t);
        queue_event(t);
    }
    return cancelled;
}

void fetch_drop_context(struct jsp_context *ctx)
{
    for (size_t i = 0; i < ctx->fetches.capacity; i++) {
        u64_map_slot *slot = &ctx->fetches.slots[i];
        if (slot->key == 0 || slot->key == UINT64_MAX)
            continue;
        release_transfer(slot->value);
    }
    u64_map_free(&ctx->fetches);
    assert(ctx->fetches_active == 0);
    assert(ctx->fetch_held_bytes == 0);
}
