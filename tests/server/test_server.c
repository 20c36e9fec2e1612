/* Server: `jspool serve` started as a real process on an ephemeral loopback port and
 * driven with libcurl — every endpoint, every error class with its status and JSON shape,
 * auth on and off, body limits, bad JSON and UTF-8, unknown routes, 1,000 concurrent
 * connections, and a SIGTERM drain with calls in flight (none lost). */
#include <criterion/criterion.h>
#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct served {
    pid_t pid;
    char base[64]; /* http://127.0.0.1:PORT */
} served;

static served srv;

/* Starts `jspool serve ARGS...` and reads its "listening on URL" line. */
static bool serve_start(served *s, const char *const *args)
{
    int out[2];
    if (pipe(out) != 0)
        return false;
    const char *argv[16] = {JSPOOL_BIN, "serve", "--listen", "127.0.0.1:0", "--threads", "2"};
    int argc = 6;
    for (; args && *args && argc < 15; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0 && !getenv("JSP_TEST_SERVER_LOG"))
            dup2(devnull, STDERR_FILENO); /* one request log line per request */
        execv(JSPOOL_BIN, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    bool ok = f && fgets(line, sizeof(line), f) && sscanf(line, "listening on %63s", s->base) == 1;
    if (f)
        fclose(f);
    return ok;
}

/* SIGTERM and wait; returns the exit status (or -1). */
static int serve_stop(served *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int status = 0;
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

typedef struct response {
    long status;
    char *body;
    size_t len;
} response;

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    response *r = user;
    char *grown = realloc(r->body, r->len + size * n + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, data, size * n);
    r->len += size * n;
    grown[r->len] = '\0';
    r->body = grown;
    return size * n;
}

static CURL *prepare(const char *method, const char *path, const char *body, long body_len,
                     const char *token, response *r, struct curl_slist **headers)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body_len >= 0 ? body_len : (long)strlen(body));
    }
    *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (token) {
        char auth[300];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        *headers = curl_slist_append(*headers, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    return c;
}

static response request_as(const char *method, const char *path, const char *body, long body_len,
                           const char *token)
{
    response r = {0};
    struct curl_slist *headers = NULL;
    CURL *c = prepare(method, path, body, body_len, token, &r, &headers);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    else
        r.status = -(long)rc;
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = strdup("");
    return r;
}

static response request(const char *method, const char *path, const char *body)
{
    return request_as(method, path, body, -1, NULL);
}

/* Asserts status and that the body contains every needle. */
static void expect(response r, long status, const char *needle)
{
    cr_expect_eq(r.status, status, "status %ld, wanted %ld; body %s", r.status, status, r.body);
    if (needle)
        cr_expect(strstr(r.body, needle), "body %s lacks %s", r.body, needle);
    free(r.body);
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static const char *const args[] = {EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, args), "the server did not start");
}

static void teardown(void)
{
    serve_stop(&srv);
    curl_global_cleanup();
}

TestSuite(server, .init = setup, .fini = teardown, .timeout = 120);

Test(server, health_metrics_and_the_bank_module_deployed_by_name)
{
    expect(request("GET", "/healthz", NULL), 200, "\"ok\"");
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 100]"), 200,
           "{\"result\":{\"account\":\"alice\",\"balance\":100}}");
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"bob\", 50]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/transfer", "[\"alice\", \"bob\", 30]"), 200,
           "{\"result\":{\"alice\":70,\"bob\":80}}");
    expect(request("POST", "/v1/contexts/1/call/audit", NULL), 200, "\"total\":150");
    expect(request("GET", "/metrics", NULL), 200, "jspool_calls_total{runtime=");
}

Test(server, contexts_are_created_listed_inspected_used_and_deleted)
{
    expect(request("POST", "/v1/contexts", "{\"name\":\"calc\",\"source\":\"var base = 40\","
                                            "\"limits\":{\"cpu_ms\":200}}"),
           201, "\"name\":\"calc\"");
    expect(request("POST", "/v1/contexts", "{\"module\":\"export function twice(x) { return 2 * x }\"}"),
           201, "\"kind\":\"module\"");
    expect(request("GET", "/v1/contexts", NULL), 200, "\"total\":3");
    expect(request("GET", "/v1/contexts?offset=1&limit=1", NULL), 200, "\"next\":2");
    expect(request("GET", "/v1/contexts/calc", NULL), 200, "\"cpu_ms\":200");
    expect(request("GET", "/v1/contexts/calc", NULL), 200, "\"memory\":{\"heap_bytes\":");
    expect(request("POST", "/v1/contexts/calc/eval", "{\"source\":\"base + 2\"}"), 200, "{\"result\":42}");
    expect(request("POST", "/v1/contexts/3/call/twice", "[21]"), 200, "{\"result\":42}");
    expect(request("POST", "/v1/contexts/calc/eval",
                   "{\"source\":\"globalThis.onmessage = e => { globalThis.got = e.data.n }; 0\"}"),
           200, NULL);
    expect(request("POST", "/v1/contexts/calc/messages", "{\"n\":7}"), 202, NULL);
    response r = {0};
    for (int i = 0; i < 100; i++) { /* delivery is asynchronous */
        r = request("POST", "/v1/contexts/calc/eval", "{\"source\":\"globalThis.got ?? null\"}");
        if (strstr(r.body, "7"))
            break;
        free(r.body);
        r.body = NULL;
        usleep(10000);
    }
    cr_expect(r.body && strstr(r.body, "{\"result\":7}"), "message not delivered");
    free(r.body);
    expect(request("DELETE", "/v1/contexts/calc", NULL), 204, NULL);
    expect(request("GET", "/v1/contexts/calc", NULL), 404, "\"code\":\"not_found\"");
    expect(request("POST", "/v1/contexts", "{\"name\":\"bank\"}"), 409, "already_exists");
}

Test(server, every_error_class_has_its_status_and_shape)
{
    expect(request("POST", "/v1/contexts/bank/call/transfer", "[\"x\", \"y\", 1]"), 422,
           "{\"error\":{\"code\":\"js_error\",\"message\":\"no account 'x'\",\"details\":{\"name\":\"RangeError\",\"stack\":");
    expect(request("POST", "/v1/contexts/bank/call/nothing", "[]"), 404, "\"code\":\"not_found\"");
    expect(request("POST", "/v1/contexts/99/call/audit", "[]"), 404, "no such context");
    expect(request("GET", "/v2/anything", NULL), 404, "no such route");
    expect(request("POST", "/v1/contexts/bank/call/open", "[1,"), 400, "\"code\":\"invalid_json\"");
    expect(request("POST", "/v1/contexts/bank/call/open", "{\"a\":1}"), 400, "must be a JSON array");
    expect(request_as("POST", "/v1/contexts/bank/call/open", "[\"\xff\"]", 5, NULL), 400, "invalid_utf8");
    expect(request("POST", "/v1/contexts", "{\"nme\":\"typo\"}"), 400, "invalid_argument");
    expect(request("POST", "/v1/contexts", "{\"apis\":\"events,nope\"}"), 400, "unknown API group 'nope'");
    expect(request("POST", "/v1/contexts", "{\"name\":\"ev\",\"apis\":\"events\",\"source\":\"typeof AbortController\"}"),
           201, NULL);
    expect(request("POST", "/v1/contexts/ev/eval", "{\"source\":\"new AbortController().signal.aborted\"}"), 200,
           "{\"result\":false}");
    expect(request("POST", "/v1/contexts", "{\"source\":\"1 +\"}"), 400, "\"code\":\"syntax_error\"");
    expect(request("PUT", "/v1/contexts/bank", NULL), 405, "method_not_allowed");
    expect(request("POST", "/v1/contexts", "{\"name\":\"spin\",\"source\":\"0\",\"limits\":{\"cpu_ms\":50}}"), 201, NULL);
    expect(request("POST", "/v1/contexts/spin/eval", "{\"source\":\"while (true) {}\"}"), 408, "\"code\":\"cpu_limit\"");
    expect(request("POST", "/v1/contexts/spin/eval", "{\"source\":\"6 * 7\"}"), 200, "42");
    expect(request("POST", "/v1/contexts", "{\"name\":\"late\",\"source\":\"0\",\"limits\":{\"wall_ms\":100}}"), 201, NULL);
    expect(request("POST", "/v1/contexts/late/eval", "{\"source\":\"new Promise(() => {})\"}"), 504, "wall_limit");
}

Test(server, modules_are_isolated_by_default_and_report_their_generation)
{
    /* a module keeps its state in its VM: deployed isolated, no neighbour's heap can get
     * it recycled; scripts stay light */
    expect(request("GET", "/v1/contexts/bank", NULL), 200, "\"memory_bytes\":67108864");
    expect(request("GET", "/v1/contexts/bank", NULL), 200, "\"shared\":false");
    expect(request("GET", "/v1/contexts/bank", NULL), 200, "\"generation\":0");
    expect(request("POST", "/v1/contexts", "{\"name\":\"m\",\"module\":\"export const f = () => 1\"}"), 201,
           "\"memory_bytes\":67108864");
    expect(request("POST", "/v1/contexts", "{\"name\":\"m2\",\"module\":\"export const f = () => 1\","
                                            "\"limits\":{\"memory_bytes\":8388608}}"),
           201, "\"memory_bytes\":8388608");
    expect(request("POST", "/v1/contexts", "{\"name\":\"s\",\"source\":\"1\"}"), 201, "\"shared\":true");
}

Test(server, reset_route_frees_a_context_over_its_memory_limit)
{
    expect(request("POST", "/v1/contexts", "{\"name\":\"hog\",\"source\":\"0\",\"limits\":{\"memory_bytes\":8388608}}"),
           201, NULL);
    /* each run keeps what it made until the limit stops it; once what it keeps is over
     * the limit after a collection, every call answers 413 */
    long status = 0;
    for (int i = 0; i < 5 && status != 413; i++) {
        expect(request("POST", "/v1/contexts/hog/eval",
                       "{\"source\":\"globalThis.keep = globalThis.keep || []; for (;;) keep.push(new Array(10000).fill(0))\"}"),
               413, "out_of_memory_limit");
        response r = request("POST", "/v1/contexts/hog/eval", "{\"source\":\"1\"}");
        status = r.status;
        free(r.body);
    }
    cr_assert_eq(status, 413, "the context never stayed over its limit");
    expect(request("POST", "/v1/contexts/hog/reset", NULL), 200, "{\"result\":{\"deleted\":[\"keep\"],\"kept\":[]}}");
    expect(request("POST", "/v1/contexts/hog/eval", "{\"source\":\"6 * 7\"}"), 200, "{\"result\":42}");
    expect(request("GET", "/v1/contexts/hog/reset", NULL), 405, "method_not_allowed");
    expect(request("POST", "/v1/contexts/nothing/reset", NULL), 404, "no such context");
}

Test(server, oversized_bodies_are_refused)
{
    serve_stop(&srv);
    static const char *const args[] = {"--max-body", "1024", NULL};
    cr_assert(serve_start(&srv, args));
    expect(request("POST", "/v1/contexts", "{\"name\":\"small\"}"), 201, NULL);
    char *big = malloc(4096);
    memset(big, ' ', 4095);
    big[0] = '[';
    big[4094] = ']';
    big[4095] = '\0';
    response r = request("POST", "/v1/contexts/small/call/f", big);
    cr_expect_eq(r.status, 413, "status %ld", r.status);
    free(r.body);
    free(big);
}

Test(server, mutations_need_the_bearer_token_when_one_is_configured)
{
    serve_stop(&srv);
    char path[] = "/tmp/jspool-token-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert(write(fd, "s3cret\n", 7) == 7);
    close(fd);
    const char *const args[] = {"--token-file", path, EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, args));
    expect(request("GET", "/v1/contexts", NULL), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/audit", "[]"), 401, "unauthorized");
    expect(request_as("POST", "/v1/contexts/bank/call/audit", "[]", -1, "wrong"), 401, NULL);
    expect(request_as("POST", "/v1/contexts/bank/call/audit", "[]", -1, "s3cret"), 200, "total");
    unlink(path);
}

Test(server, refuses_a_public_address_without_a_token)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        dup2(devnull, STDOUT_FILENO);
        execl(JSPOOL_BIN, JSPOOL_BIN, "serve", "--listen", "0.0.0.0:0", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exit status %d", WEXITSTATUS(status));
}

Test(server, thousand_concurrent_connections_are_all_answered)
{
    enum { CONNECTIONS = 1000 };
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    cr_assert(limit.rlim_cur > CONNECTIONS + 64, "open-file limit %lu too low", (unsigned long)limit.rlim_cur);
    CURLM *multi = curl_multi_init();
    CURL *easy[CONNECTIONS];
    response responses[CONNECTIONS] = {{0}};
    struct curl_slist *headers[CONNECTIONS];
    for (int i = 0; i < CONNECTIONS; i++) {
        easy[i] = prepare("POST", "/v1/contexts/bank/call/audit", "[]", 2, NULL, &responses[i], &headers[i]);
        curl_easy_setopt(easy[i], CURLOPT_FORBID_REUSE, 1L);
        curl_multi_add_handle(multi, easy[i]);
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)CONNECTIONS);
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    int ok = 0;
    for (int i = 0; i < CONNECTIONS; i++) {
        long status = 0;
        curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
        ok += status == 200 && responses[i].body && strstr(responses[i].body, "\"total\":0");
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        curl_slist_free_all(headers[i]);
        free(responses[i].body);
    }
    curl_multi_cleanup(multi);
    cr_expect_eq(ok, CONNECTIONS, "%d of %d answered 200", ok, CONNECTIONS);
}

typedef struct slow_call {
    pthread_t thread;
    response r;
} slow_call;

static void *call_slowly(void *arg)
{
    slow_call *c = arg;
    c->r = request("POST", "/v1/contexts/slow/eval",
                   "{\"source\":\"new Promise(r => setTimeout(() => r('done'), 400))\"}");
    return NULL;
}

Test(server, sigterm_drains_calls_in_flight_and_refuses_new_ones)
{
    expect(request("POST", "/v1/contexts", "{\"name\":\"slow\",\"source\":\"0\"}"), 201, NULL);
    slow_call calls[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&calls[i].thread, NULL, call_slowly, &calls[i]);
    usleep(150000); /* the calls are in flight, waiting on their timers */
    kill(srv.pid, SIGTERM);
    usleep(50000);
    response late = request("GET", "/v1/contexts", NULL);
    cr_expect(late.status == 503 || late.status < 0, "a request after SIGTERM got %ld", late.status);
    free(late.body);
    for (int i = 0; i < 4; i++) {
        pthread_join(calls[i].thread, NULL);
        cr_expect_eq(calls[i].r.status, 200, "in-flight call %d: %ld %s", i, calls[i].r.status, calls[i].r.body);
        cr_expect(strstr(calls[i].r.body, "\"done\""));
        free(calls[i].r.body);
    }
    int status = 0;
    waitpid(srv.pid, &status, 0);
    srv.pid = 0;
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", WEXITSTATUS(status));
}

/* ---- a minimal WebSocket client (RFC 6455): handshake, masked text frames out, unmasked
 * text frames in; enough to test the endpoint without a WebSocket library. ---- */

static int ws_connect(const char *path)
{
    int port = 0;
    sscanf(srv.base, "http://127.0.0.1:%d", &port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
        return -1;
    char request[512];
    int n = snprintf(request, sizeof(request),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", path);
    if (write(fd, request, (size_t)n) != n)
        return -1;
    char head[1024];
    size_t got = 0;
    while (got < sizeof(head) - 1) { /* up to the blank line ending the headers */
        ssize_t r = read(fd, head + got, 1);
        if (r <= 0)
            return -1;
        got++;
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[got] = 0;
    if (!strstr(head, " 101 ")) {
        close(fd);
        return -1;
    }
    return fd;
}

static void ws_send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    unsigned char frame[256] = {0x81, (unsigned char)(0x80 | len), 1, 2, 3, 4};
    for (size_t i = 0; i < len; i++)
        frame[6 + i] = (unsigned char)text[i] ^ frame[2 + i % 4];
    cr_assert(len < 126 && write(fd, frame, 6 + len) == (ssize_t)(6 + len));
}

static bool read_exactly(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* Next text frame's payload (short frames only), or NULL. */
static char *ws_read_text(int fd)
{
    struct timeval timeout = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    unsigned char head[2];
    if (!read_exactly(fd, head, 2) || (head[1] & 0x7f) >= 126)
        return NULL;
    size_t len = head[1] & 0x7f;
    char *text = calloc(1, len + 1);
    if (!read_exactly(fd, text, len)) {
        free(text);
        return NULL;
    }
    return text;
}

Test(server, websocket_messages_reach_onmessage_and_host_send_comes_back)
{
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"echo\",\"source\":\"globalThis.onmessage = e => host.send({echo: e.data.n * 2}); 0\"}"),
           201, NULL);
    expect(request("GET", "/v1/contexts/echo/ws", NULL), 400, "expected a WebSocket handshake");
    int fd = ws_connect("/v1/contexts/echo/ws");
    cr_assert(fd >= 0, "no WebSocket upgrade");
    for (int n = 1; n <= 3; n++) {
        char text[32];
        snprintf(text, sizeof(text), "{\"n\":%d}", n * 7);
        ws_send_text(fd, text);
    }
    for (int n = 1; n <= 3; n++) { /* in order */
        char *reply = ws_read_text(fd);
        char want[32];
        snprintf(want, sizeof(want), "{\"echo\":%d}", n * 14);
        cr_expect(reply && strcmp(reply, want) == 0, "got %s, wanted %s", reply ? reply : "nothing", want);
        free(reply);
    }
    ws_send_text(fd, "{not json");
    char *error = ws_read_text(fd);
    cr_expect(error && strstr(error, "\"code\":\"invalid_json\""), "got %s", error ? error : "nothing");
    free(error);
    close(fd);
}

Test(server, config_file_sets_defaults_and_unknown_keys_are_refused)
{
    serve_stop(&srv);
    char path[] = "/tmp/jspool-conf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    dprintf(fd, "# test config\nthreads = 1\ncpu_limit_ms = 150   # per call\nlog_format = json\n"
                "modules = %s/bank.js\n", EXAMPLES_DIR);
    close(fd);
    const char *const args[] = {"--config", path, NULL};
    cr_assert(serve_start(&srv, args));
    expect(request("GET", "/v1/contexts/bank", NULL), 200, "\"cpu_ms\":150");
    serve_stop(&srv);

    fd = open(path, O_WRONLY | O_TRUNC);
    dprintf(fd, "threads = 1\nlisten_on = 127.0.0.1:0\n");
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        execl(JSPOOL_BIN, JSPOOL_BIN, "serve", "--config", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "unknown key: exit %d", WEXITSTATUS(status));
    unlink(path);
    cr_assert(serve_start(&srv, NULL)); /* for the fixture's teardown */
}

Test(server, a_spent_memory_budget_answers_503_for_new_contexts)
{
    serve_stop(&srv);
    char path[] = "/tmp/jspool-conf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    dprintf(fd, "threads = 1\nmax_memory_bytes = 1\n");
    close(fd);
    const char *const args[] = {"--config", path, NULL};
    cr_assert(serve_start(&srv, args));
    expect(request("POST", "/v1/contexts", "{\"source\":\"1\"}"), 503, "\"code\":\"memory_budget\"");
    expect(request("GET", "/healthz", NULL), 200, "ok");
    unlink(path);
}
