/* Server: `jspool serve` started as a real process on an ephemeral loopback port and
 * driven with libcurl — every endpoint, every error class with its status and JSON shape,
 * auth on and off, body limits, bad JSON and UTF-8, unknown routes, 1,000 concurrent
 * connections, and a SIGTERM drain with calls in flight (none lost). */
#include <criterion/criterion.h>
#include <curl/curl.h>

#include <errno.h>
#include <ftw.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct served {
    pid_t pid;
    char base[64]; /* http://127.0.0.1:PORT */
} served;

static served srv;
/* When set, the next serve_start sends the server's stderr (its request log) there. */
static const char *server_log_path;
/* Each test's data directory (a fresh temporary one, removed by teardown): the bank keeps
 * its accounts in a store there, so tests do not see each other's accounts, and a restart
 * within a test finds them again. */
static char data_dir[64];
/* When set, the next serve_start runs the server with this descriptor limit (soft and hard). */
static rlim_t server_max_files;

/* Starts `jspool serve ARGS...` (with --data data_dir unless ARGS give one) and reads its
 * "listening on URL" line. */
static bool serve_start(served *s, const char *const *args)
{
    int out[2];
    if (pipe(out) != 0)
        return false;
    const char *argv[20] = {JSPOOL_BIN, "serve", "--listen", "127.0.0.1:0", "--threads", "2"};
    int argc = 6;
    bool has_data = false;
    for (; args && *args && argc < 17; args++) {
        has_data |= strcmp(*args, "--data") == 0;
        argv[argc++] = *args;
    }
    if (!has_data && data_dir[0]) {
        argv[argc++] = "--data";
        argv[argc++] = data_dir;
    }
    argv[argc] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        int devnull = server_log_path ? open(server_log_path, O_WRONLY | O_TRUNC)
                                      : open("/dev/null", O_WRONLY);
        if (devnull >= 0 && (server_log_path || !getenv("JSP_TEST_SERVER_LOG")))
            dup2(devnull, STDERR_FILENO); /* one request log line per request */
        if (server_max_files) {
            struct rlimit files = {server_max_files, server_max_files};
            setrlimit(RLIMIT_NOFILE, &files);
        }
        execv(JSPOOL_BIN, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    bool ok = f && fgets(line, sizeof(line), f) && sscanf(line, "listening on %63s", s->base) == 1;
    if (f)
        fclose(f);
    if (!ok && s->pid > 0) { /* say how it ended (JSP_TEST_SERVER_LOG=1 shows its stderr) */
        kill(s->pid, SIGKILL);
        int status = 0;
        waitpid(s->pid, &status, 0);
        cr_log_error("jspool serve printed \"%s\" instead of where it listens; %s %d", line,
                     WIFEXITED(status) ? "exit status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        s->pid = 0;
    }
    return ok;
}

/* SIGTERM and wait; returns the exit status, 128 + the signal that ended it (as a shell
 * says: 134 is SIGABRT, e.g. JSC's VMTraps race in docs/security.md), or -1. */
static int serve_stop(served *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int status = 0;
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Stops the test's server and expects it to exit 0 (a crash under way shows its signal). */
static void expect_clean_stop(void)
{
    int code = serve_stop(&srv);
    cr_expect_eq(code, 0, "the server ended with %d%s", code, code > 128 ? " (128 + a signal)" : "");
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

/* Runs a prepared request that collects into *r (with extra, a raw header line, if
 * given), cleans it up and returns *r. */
static response perform(CURL *c, response *r, struct curl_slist *headers, const char *extra)
{
    if (extra) {
        headers = curl_slist_append(headers, extra);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    else
        r->status = -(long)rc;
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = strdup("");
    return *r;
}

static response request_as(const char *method, const char *path, const char *body, long body_len,
                           const char *token)
{
    response r = {0};
    struct curl_slist *headers = NULL;
    CURL *c = prepare(method, path, body, body_len, token, &r, &headers);
    return perform(c, &r, headers, NULL);
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

/* Requests method path (body may be NULL) until the response body contains want;
 * false after 5 s. For what other threads do on their own time: message delivery, calls
 * reaching or leaving the server (a loaded machine decides when). */
static bool request_until(const char *method, const char *path, const char *body, const char *want)
{
    for (int i = 0; i < 500; i++) {
        response r = request(method, path, body);
        bool found = r.body && strstr(r.body, want) != NULL;
        free(r.body);
        if (found)
            return true;
        usleep(10000);
    }
    return false;
}

/* Evaluates source at eval_path until the body contains want. */
static bool eval_until(const char *eval_path, const char *source, const char *want)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"source\":\"%s\"}", source);
    return request_until("POST", eval_path, body, want);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* rm -r of a test's temporary directory */
static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    strcpy(data_dir, "/tmp/jspool-data-XXXXXX");
    cr_assert(mkdtemp(data_dir));
    static const char *const args[] = {EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, args), "the server did not start");
}

static void teardown(void)
{
    serve_stop(&srv);
    remove_tree(data_dir);
    data_dir[0] = '\0';
    curl_global_cleanup();
}

TestSuite(server, .init = setup, .fini = teardown, .timeout = 120);

Test(server, health_metrics_and_the_bank_module_deployed_by_name)
{
    response health = request("GET", "/healthz", NULL); /* the body README.md shows */
    cr_expect_eq(health.status, 200);
    cr_expect_str_eq(health.body, "{\"status\":\"ok\"}");
    free(health.body);
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
    cr_expect(eval_until("/v1/contexts/calc/eval", "globalThis.got ?? null", "{\"result\":7}"),
              "message not delivered");
    expect(request("DELETE", "/v1/contexts/calc", NULL), 204, NULL);
    expect(request("GET", "/v1/contexts/calc", NULL), 404, "\"code\":\"not_found\"");
    expect(request("POST", "/v1/contexts", "{\"name\":\"bank\"}"), 409, "already_exists");
}

Test(server, every_error_class_has_its_status_and_shape)
{
    expect(request("POST", "/v1/contexts/bank/call/transfer", "[\"x\", \"y\", 1]"), 422,
           "{\"error\":{\"code\":\"js_error\",\"message\":\"no account 'x'\",\"details\":{\"name\":\"RangeError\",\"stack\":");
    /* a deployed module's stack names its file */
    expect(request("POST", "/v1/contexts/bank/call/transfer", "[\"x\", \"y\", 1]"), 422,
           "@" EXAMPLES_DIR "/bank.js:");
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
    /* a module sent as "source" is told which key to use; a file name is not source */
    expect(request("POST", "/v1/contexts", "{\"source\":\"export const a = 1;\"}"), 400,
           "send an ES module as \\\"module\\\"");
    expect(request("POST", "/v1/contexts", "{\"module\":\"examples/bank.js\"}"), 400,
           "not a file name: send the file's contents, or deploy the file with `jspool serve FILE.js`");
    expect(request("POST", "/v1/contexts", "{\"source\":\"./setup.js\"}"), 400, "not a file name");
    /* a setup whose last value JSON cannot hold still creates the context */
    expect(request("POST", "/v1/contexts", "{\"name\":\"lib\",\"source\":\"function helper(x) { return x + 1 }\"}"),
           201, "\"name\":\"lib\"");
    expect(request("POST", "/v1/contexts/lib/call/helper", "[41]"), 200, "{\"result\":42}");
    expect(request("POST", "/v1/contexts", "{\"source\":\"globalThis.make = () => 1; make\"}"), 201, "\"kind\":");
    expect(request("PUT", "/v1/contexts/bank", NULL), 405, "method_not_allowed");
    expect(request("POST", "/v1/contexts", "{\"name\":\"spin\",\"source\":\"0\",\"limits\":{\"cpu_ms\":50}}"), 201, NULL);
    expect(request("POST", "/v1/contexts/spin/eval", "{\"source\":\"while (true) {}\"}"), 408, "\"code\":\"cpu_limit\"");
    expect(request("POST", "/v1/contexts/spin/eval", "{\"source\":\"6 * 7\"}"), 200, "42");
    expect(request("POST", "/v1/contexts", "{\"name\":\"late\",\"source\":\"0\",\"limits\":{\"wall_ms\":100}}"), 201, NULL);
    expect(request("POST", "/v1/contexts/late/eval", "{\"source\":\"new Promise(() => {})\"}"), 504, "wall_limit");
}

/* "[[...[]...]]" nested depth deep (arrays), wrapped in one more array when as_args. */
static char *nested(int depth, bool as_args)
{
    size_t n = (size_t)depth + (as_args ? 1 : 0);
    char *text = malloc(2 * n + 1);
    memset(text, '[', n);
    memset(text + n, ']', n);
    text[2 * n] = '\0';
    return text;
}

Test(server, deep_json_has_one_limit_in_and_a_result_too_deep_is_422)
{
    expect(request("POST", "/v1/contexts", "{\"name\":\"deep\",\"source\":\"var got = 0;"
                                            "function depth(x) { let d = 0; while (Array.isArray(x)) { x = x[0]; d++ } return d }"
                                            "globalThis.onmessage = e => { got = depth(e.data) }\"}"),
           201, NULL);
    char *at_limit = nested(512, false), *args_at_limit = nested(512, true);
    char *too_deep = nested(513, false), *args_too_deep = nested(513, true);
    /* 512 levels: accepted as a message and as an argument alike */
    expect(request("POST", "/v1/contexts/deep/messages", at_limit), 202, NULL);
    expect(request("POST", "/v1/contexts/deep/call/depth", args_at_limit), 200, "{\"result\":512}");
    cr_expect(eval_until("/v1/contexts/deep/eval", "got", "{\"result\":512}"),
              "the deep message was not delivered");
    /* one more: refused alike, saying why */
    expect(request("POST", "/v1/contexts/deep/messages", too_deep), 400, "nests deeper than 512");
    expect(request("POST", "/v1/contexts/deep/call/depth", args_too_deep), 400, "\"code\":\"invalid_json\"");
    /* a result too deep (or otherwise not JSON) is not the client's fault: 422, not 400 */
    expect(request("POST", "/v1/contexts/deep/eval",
                   "{\"source\":\"let v = []; for (let i = 0; i < 200000; i++) v = [v]; v\"}"),
           422, "{\"error\":{\"code\":\"not_serializable\",\"message\":\"value cannot be represented as JSON: RangeError");
    expect(request("POST", "/v1/contexts/deep/eval", "{\"source\":\"Symbol('s')\"}"), 422, "not_serializable");
    free(at_limit);
    free(args_at_limit);
    free(too_deep);
    free(args_too_deep);
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
    /* h2o refuses it before our handler: still our error shape, not h2o's plain text */
    expect(request("POST", "/v1/contexts/small/call/f", big), 413,
           "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"request entity is too large\"");
    free(big);
}

/* ---- the supervisor: a worker that crashes is restarted ---- */

/* The worker process serving for the supervisor s->pid (its only child), or 0. */
static pid_t worker_of(const served *s)
{
    char file[80];
    snprintf(file, sizeof(file), "/proc/%d/task/%d/children", (int)s->pid, (int)s->pid);
    FILE *f = fopen(file, "r");
    int pid = 0;
    if (f && fscanf(f, "%d", &pid) != 1)
        pid = 0;
    if (f)
        fclose(f);
    return (pid_t)pid;
}

/* The worker serving s once it is another than not_this (a restart), or 0 after 10 s. */
static pid_t wait_for_worker(const served *s, pid_t not_this)
{
    for (int i = 0; i < 1000; i++) {
        pid_t pid = worker_of(s);
        if (pid > 0 && pid != not_this)
            return pid;
        usleep(10000);
    }
    return 0;
}

/* JavaScriptCore can abort the process (docs/security.md): the server's worker is
 * restarted on the same port, and what was acknowledged before is still there. */
Test(server, a_crashed_worker_is_restarted_on_the_same_port_with_its_data)
{
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 100]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"bob\", 50]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/transfer", "[\"alice\", \"bob\", 30]"), 200,
           "{\"result\":{\"alice\":70,\"bob\":80}}");
    pid_t worker = worker_of(&srv);
    cr_assert(worker > 0, "jspool serve runs no worker process");
    cr_assert_eq(kill(worker, SIGABRT), 0);
    pid_t next = wait_for_worker(&srv, worker);
    cr_assert(next > 0, "no worker was started after the crash");
    /* the same URL answers (connections made meanwhile wait in the listener's backlog) */
    cr_expect(request_until("POST", "/v1/contexts/bank/call/transfer", "[\"alice\", \"bob\", 5]",
                            "{\"result\":{\"alice\":65,\"bob\":85}}"),
              "the restarted server lost the accounts or does not answer");
    expect_clean_stop();
}

/* kill -9 of jspool serve (the supervisor) stops its worker too: no orphan keeps the
 * port and the data directory. */
Test(server, killing_the_supervisor_stops_its_worker)
{
    pid_t worker = worker_of(&srv);
    cr_assert(worker > 0);
    kill(srv.pid, SIGKILL);
    waitpid(srv.pid, NULL, 0);
    srv.pid = 0;
    bool is_gone = false;
    for (int i = 0; i < 1000 && !is_gone; i++) { /* it drains first: up to grace_ms */
        is_gone = kill(worker, 0) != 0;
        usleep(10000);
    }
    cr_expect(is_gone, "the worker outlived its supervisor");
}

/* --supervise 0: one process, for an operator's own supervisor; a crash ends it. */
Test(server, without_supervision_a_crash_ends_the_server)
{
    serve_stop(&srv);
    static const char *const args[] = {"--supervise", "0", EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, args));
    expect(request("GET", "/healthz", NULL), 200, NULL);
    cr_expect_eq(worker_of(&srv), 0, "a worker process was started");
    kill(srv.pid, SIGABRT);
    cr_expect_eq(serve_stop(&srv), 128 + SIGABRT);
}

/* A worker that keeps dying right after its start is not restarted forever: the
 * supervisor gives up after the fifth and exits with the signal's status. */
Test(server, a_worker_crashing_at_every_start_makes_the_supervisor_give_up)
{
    pid_t worker = 0;
    for (int i = 0; i < 5; i++) {
        worker = wait_for_worker(&srv, worker);
        cr_assert(worker > 0, "no worker after %d crash(es)", i);
        kill(worker, SIGABRT);
    }
    int status = 0;
    cr_assert_eq(waitpid(srv.pid, &status, 0), srv.pid);
    srv.pid = 0;
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGABRT, "the supervisor ended with %d", status);
}

/* A file holding text, for --token-file and --config; the caller unlinks path. */
static void write_temp(char *path, const char *text)
{
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

/* Restarts the fixture's server with --token-file holding "s3cret" and more args. */
static void serve_with_token(char *token_path, const char *const *more)
{
    serve_stop(&srv);
    write_temp(token_path, "s3cret\n");
    const char *args[12] = {"--token-file", token_path};
    size_t n = 2;
    for (; more && *more && n < 11; more++)
        args[n++] = *more;
    args[n++] = EXAMPLES_DIR "/bank.js";
    args[n] = NULL;
    cr_assert(serve_start(&srv, args));
}

/* A request with one raw header line ("Authorization: ..."). */
static response request_with_header(const char *method, const char *path, const char *body, const char *header)
{
    response r = {0};
    struct curl_slist *headers = NULL;
    CURL *c = prepare(method, path, body, -1, NULL, &r, &headers);
    return perform(c, &r, headers, header);
}

Test(server, every_route_but_healthz_needs_the_bearer_token_when_one_is_configured)
{
    char path[] = "/tmp/jspool-token-XXXXXX";
    serve_with_token(path, NULL);
    expect(request("GET", "/healthz", NULL), 200, "\"ok\"");
    expect(request("GET", "/v1/contexts", NULL), 401, "\"code\":\"unauthorized\"");
    expect(request("GET", "/v1/contexts/bank", NULL), 401, "unauthorized");
    expect(request("GET", "/v1/contexts/no-such-context", NULL), 401, "unauthorized"); /* no probing names */
    expect(request("GET", "/metrics", NULL), 401, "unauthorized");
    expect(request("POST", "/v1/contexts/bank/call/audit", "[]"), 401, "unauthorized");
    expect(request_as("POST", "/v1/contexts/bank/call/audit", "[]", -1, "wrong"), 401, NULL);
    expect(request_as("POST", "/v1/contexts/bank/call/audit", "[]", -1, "s3cre"), 401, NULL);   /* a prefix */
    expect(request_as("POST", "/v1/contexts/bank/call/audit", "[]", -1, "s3cret0"), 401, NULL); /* longer */
    expect(request_with_header("GET", "/v1/contexts", NULL, "Authorization: Basic s3cret"), 401, NULL);
    expect(request_with_header("GET", "/v1/contexts", NULL, "Authorization: Bearer"), 401, NULL);
    expect(request_as("POST", "/v1/contexts/bank/call/audit", "[]", -1, "s3cret"), 200, "total");
    expect(request_with_header("GET", "/v1/contexts/bank", NULL, "Authorization: bearer s3cret"), 200, "\"name\":\"bank\"");
    expect(request_with_header("GET", "/v1/contexts", NULL, "Authorization: BEARER   s3cret"), 200, "\"total\":1");
    expect(request_with_header("GET", "/metrics", NULL, "Authorization: Bearer s3cret"), 200, "jspool_calls_total");
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
                   "{\"source\":\"new Promise(r => setTimeout(() => r('done'), 1500))\"}");
    return NULL;
}

Test(server, sigterm_drains_calls_in_flight_and_refuses_new_ones)
{
    expect(request("POST", "/v1/contexts", "{\"name\":\"slow\",\"source\":\"0\"}"), 201, NULL);
    slow_call calls[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&calls[i].thread, NULL, call_slowly, &calls[i]);
    cr_assert(request_until("GET", "/v1/contexts/slow", NULL, "\"in_flight\":4"), "the calls never reached the server");
    kill(srv.pid, SIGTERM); /* the calls are in flight, waiting on their timers */
    response late = {0};
    for (int i = 0; i < 100; i++) { /* the signal reaches the loop on its own time: 1 s of the 1.5 s drain */
        free(late.body);
        late = request("GET", "/v1/contexts", NULL);
        if (late.status != 200)
            break;
        usleep(10000);
    }
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

static int raw_connect(void)
{
    int port = 0;
    sscanf(srv.base, "http://127.0.0.1:%d", &port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval timeout = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
}

/* A client needs no token to open connections, and every one held a descriptor: 1,700 idle
 * ones (each closed by h2o after 10 s, so an attacker only has to keep opening them) took
 * a server with 1,536 descriptors to EMFILE, and a tenant's store could not open, nor its
 * fetch or WebSocket connect. Connections are now capped below what the stores and guest
 * sockets leave (here 384: (1536 - 2 x 256 - 256) / 2); the rest wait in the backlog. */
Test(server, idle_connections_cannot_use_up_the_descriptors_tenants_need)
{
    enum { FLOOD = 1700 };
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    cr_assert(limit.rlim_cur > FLOOD + 64, "open-file limit %lu too low", (unsigned long)limit.rlim_cur);
    serve_stop(&srv);
    server_max_files = 1536;
    cr_assert(serve_start(&srv, (const char *const[]){EXAMPLES_DIR "/bank.js", NULL}));
    server_max_files = 0;
    int tenant = raw_connect(); /* a client already connected, on a kept-alive connection */
    cr_assert(tenant >= 0);
    const char health[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[4096];
    cr_assert(write(tenant, health, sizeof(health) - 1) == (ssize_t)sizeof(health) - 1);
    ssize_t n = read(tenant, buf, sizeof(buf) - 1);
    cr_assert(n > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0);

    int port = 0;
    sscanf(srv.base, "http://127.0.0.1:%d", &port);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static int flood[FLOOD];
    for (int i = 0; i < FLOOD; i++) { /* non-blocking: past the backlog the kernel retries */
        flood[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        cr_assert(flood[i] >= 0);
        connect(flood[i], (struct sockaddr *)&addr, sizeof(addr));
    }
    usleep(1500 * 1000); /* the server accepts what it will */

    const char body[] = "{\"name\":\"kv\",\"store\":true,\"module\":\"export function f(){return 1}\"}";
    char create[512];
    int len = snprintf(create, sizeof(create),
                       "POST /v1/contexts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s", sizeof(body) - 1, body);
    cr_assert(write(tenant, create, (size_t)len) == len);
    n = read(tenant, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    cr_expect(strncmp(buf, "HTTP/1.1 201", 12) == 0, "a store-backed context during the flood: %s", buf);
    close(tenant);
    for (int i = 0; i < FLOOD; i++)
        close(flood[i]);
    /* the waiting connections are served once the flood is gone */
    expect(request("GET", "/v1/contexts/kv", NULL), 200, "\"kv\"");
    expect_clean_stop();
}

/* Any client could make a drain end in SIGABRT: h2o asserted at dispose while a connection
 * was open (an idle one, a request half sent, a kept-alive one), and the last request log
 * lines and "stopped" were lost. */
Test(server, sigterm_with_client_connections_open_stops_cleanly)
{
    const char *const partial[] = {
        "",                                                                 /* idle */
        "GET /heal",                                                        /* half a head */
        "POST /v1/contexts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na", /* half a body */
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",                         /* then kept alive */
    };
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = raw_connect();
        cr_assert(fds[i] >= 0);
        size_t len = strlen(partial[i]);
        cr_assert(write(fds[i], partial[i], len) == (ssize_t)len);
    }
    char buf[512];
    cr_assert(read(fds[3], buf, sizeof(buf)) > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0);
    expect_clean_stop();
    for (int i = 0; i < 4; i++)
        close(fds[i]);
}

/* Upgrades path with the extra header lines (each ending in \r\n); returns the socket,
 * or -1 with the response head in head (when given) if the answer was not 101. */
static int ws_connect_with(const char *path, const char *extra, char *head, size_t head_len)
{
    char local[1024];
    if (!head) {
        head = local;
        head_len = sizeof(local);
    }
    head[0] = '\0';
    int fd = raw_connect();
    if (fd < 0)
        return -1;
    char request[1024];
    int n = snprintf(request, sizeof(request),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n", path, extra ? extra : "");
    if (write(fd, request, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < head_len - 1) { /* up to the blank line ending the headers */
        ssize_t r = read(fd, head + got, 1);
        if (r <= 0)
            break;
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

static int ws_connect(const char *path)
{
    return ws_connect_with(path, NULL, NULL, 0);
}

/* Sends text as one masked text frame (any length). */
static void ws_send_text(int fd, const char *text)
{
    size_t len = strlen(text), head = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    unsigned char *frame = malloc(head + 4 + len);
    frame[0] = 0x81;
    if (head == 2) {
        frame[1] = (unsigned char)(0x80 | len);
    } else if (head == 4) {
        frame[1] = 0x80 | 126;
        frame[2] = (unsigned char)(len >> 8);
        frame[3] = (unsigned char)len;
    } else {
        frame[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            frame[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    unsigned char *mask = frame + head;
    memcpy(mask, "\x01\x02\x03\x04", 4);
    for (size_t i = 0; i < len; i++)
        frame[head + 4 + i] = (unsigned char)text[i] ^ mask[i % 4];
    ssize_t n = send(fd, frame, head + 4 + len, MSG_NOSIGNAL);
    free(frame);
    cr_assert(n == (ssize_t)(head + 4 + len), "send: %s", strerror(errno));
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

/* Next frame's payload (NUL-terminated) and opcode, or NULL. */
static char *ws_read_frame(int fd, int *opcode)
{
    struct timeval timeout = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    unsigned char head[2], ext[8];
    if (!read_exactly(fd, head, 2))
        return NULL;
    size_t len = head[1] & 0x7f;
    if (len >= 126) {
        size_t n = len == 126 ? 2 : 8;
        if (!read_exactly(fd, ext, n))
            return NULL;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = len << 8 | ext[i];
    }
    char *text = calloc(1, len + 1);
    if (!read_exactly(fd, text, len)) {
        free(text);
        return NULL;
    }
    if (opcode)
        *opcode = head[0] & 0x0f;
    return text;
}

/* Next text frame's payload, or NULL. */
static char *ws_read_text(int fd)
{
    int opcode = 0;
    char *text = ws_read_frame(fd, &opcode);
    if (text && opcode != 1) {
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

/* Reads the next frame of fd and checks it is want. */
static void expect_frame(int fd, const char *who, const char *want)
{
    char *got = ws_read_text(fd);
    cr_expect(got && strcmp(got, want) == 0, "%s got %s, wanted %s", who, got ? got : "nothing", want);
    free(got);
}

Test(server, websocket_replies_go_to_their_socket_and_timer_sends_to_all)
{
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"room\",\"source\":\"globalThis.onmessage = e => {"
                   " if (e.data.all) setTimeout(() => host.send({all: e.data.all}), 0);"
                   " else Promise.resolve().then(() => host.send({echo: e.data.n})) }; 0\"}"),
           201, NULL);
    int a = ws_connect("/v1/contexts/room/ws"), b = ws_connect("/v1/contexts/room/ws");
    cr_assert(a >= 0 && b >= 0, "no WebSocket upgrade");
    ws_send_text(a, "{\"n\":1}");
    expect_frame(a, "a", "{\"echo\":1}");
    ws_send_text(b, "{\"n\":2}");
    expect_frame(b, "b", "{\"echo\":2}");
    /* sent from a timer, not while handling a socket's message: every socket gets it */
    ws_send_text(a, "{\"all\":3}");
    expect_frame(a, "a", "{\"all\":3}"); /* not b's echo first */
    expect_frame(b, "b", "{\"all\":3}"); /* not a's echo first */
    /* a message over HTTP has no socket to answer: its handler's sends go to all */
    expect(request("POST", "/v1/contexts/room/messages", "{\"n\":4}"), 202, NULL);
    expect_frame(a, "a", "{\"echo\":4}");
    expect_frame(b, "b", "{\"echo\":4}");
    close(a);
    close(b);
}

static char *read_log(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 1 << 20);
    if (f && text)
        fread(text, 1, (1 << 20) - 1, f);
    if (f)
        fclose(f);
    return text;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *at = text; (at = strstr(at, needle)); at += strlen(needle))
        n++;
    return n;
}

/* Restarts the server with ARGS, its stderr (the request log) in a new file named from
 * path_template (mkstemp's XXXXXX, replaced in place). */
static void restart_logging_to(char *path_template, const char *const *args)
{
    serve_stop(&srv);
    int fd = mkstemp(path_template);
    cr_assert(fd >= 0);
    close(fd);
    server_log_path = path_template;
    bool is_started = serve_start(&srv, args);
    server_log_path = NULL;
    cr_assert(is_started);
}

/* A tenant's console text reaches the server's stderr: an ESC sequence cleared an operator's
 * terminal, a CR let the tenant print a forged request line over its own, and a trailing
 * backslash escaped the closing quote for a logfmt reader. */
Test(server, tenant_log_lines_cannot_carry_control_characters)
{
    char path[] = "/tmp/jspool-log-XXXXXX";
    restart_logging_to(path, NULL);
    expect(request("POST", "/v1/contexts", "{\"name\":\"loud\",\"apis\":\"console\"}"), 201, NULL);
    expect(request("POST", "/v1/contexts/loud/eval",
                   "{\"source\":\"console.error('a\\\\u001b[2J\\\\rlevel=info path=/forged\\\\\\\\'); 1\"}"),
           200, NULL);
    /* a long line goes out whole, sanitised to its end (not cut at a buffer's size) */
    expect(request("POST", "/v1/contexts/loud/eval",
                   "{\"source\":\"console.error('L' + 'x'.repeat(5000) + '\\\\rEND'); 1\"}"),
           200, NULL);
    expect_clean_stop();
    char *text = read_log(path);
    cr_assert(text);
    cr_expect(strstr(text, "msg=\"a?[2J?level=info path=/forged?\"\n"), "log: %s", text);
    const char *long_line = strstr(text, "msg=\"Lxxx");
    const char *end = long_line ? strstr(long_line, "?END\"\n") : NULL;
    cr_expect(end && end - long_line == 5 + 1 + 5000,
              "the 5,006-character line is whole and ends sanitised");
    cr_expect(!strchr(text, '\x1b') && !strchr(text, '\r'), "control characters in the log: %s", text);
    free(text);
    unlink(path);
}

/* The request log's lines are written together at most 5 ms apart (server.c): each is still
 * on stderr soon after its reply (not held until a buffer fills), one per request, in the
 * order answered, and all of them before the server says it stopped. */
Test(server, request_log_has_each_request_soon_and_in_order)
{
    char path[] = "/tmp/jspool-log-XXXXXX";
    static const char *const args[] = {EXAMPLES_DIR "/bank.js", NULL};
    restart_logging_to(path, args);
    expect(request("GET", "/v1/contexts/no-such-context", NULL), 404, NULL);
    char *text = NULL;
    for (int i = 0; i < 200; i++) { /* 2 s at most; a buffered line would wait for ever */
        free(text);
        text = read_log(path);
        if (text && strstr(text, "path=\"/v1/contexts/no-such-context\" status=404"))
            break;
        usleep(10000);
    }
    cr_expect(text && strstr(text, "path=\"/v1/contexts/no-such-context\" status=404"),
              "the 404's log line is not out 2 s after its reply: %s", text ? text : "");
    free(text);
    enum { CALLS = 300 };
    for (int i = 0; i < CALLS; i++)
        expect(request("POST", "/v1/contexts/bank/call/audit", "[]"), 200, "\"accounts\"");
    expect(request("GET", "/healthz", NULL), 200, NULL);
    expect_clean_stop();
    text = read_log(path);
    cr_assert(text);
    cr_expect_eq(count_of(text, "method=POST path=\"/v1/contexts/bank/call/audit\" status=200"), CALLS,
                 "one line per call: %s", text);
    const char *last_call = text, *at;
    while ((at = strstr(last_call + 1, "call/audit")))
        last_call = at;
    const char *health = strstr(text, "path=\"/healthz\" status=200");
    const char *stopped = strstr(text, "msg=\"stopped\"");
    cr_expect(health && health > last_call, "the /healthz line comes after the calls' lines");
    cr_expect(stopped && health && stopped > health, "every request line is out before 'stopped'");
    free(text);
    unlink(path);
}

static char *raw_exchange(const char *bytes, bool *closed);

/* The JSON request log (--log-format json), put together by hand (server.c, put_*): each
 * line is one object with the call's context and its duration in milliseconds with three
 * decimals; a path longer than 250 characters is cut with "..." and a quote or backslash
 * in it cannot break the JSON. */
Test(server, json_request_log_lines_are_whole_objects_and_long_paths_are_cut)
{
    char path[] = "/tmp/jspool-log-XXXXXX";
    static const char *const args[] = {EXAMPLES_DIR "/bank.js", "--log-format", "json", NULL};
    restart_logging_to(path, args);
    expect(request("POST", "/v1/contexts/bank/call/audit", "[]"), 200, "\"accounts\"");
    expect(request("POST", "/v1/contexts", "{\"name\":\"loud\",\"apis\":\"console\"}"), 201, NULL);
    expect(request("POST", "/v1/contexts/loud/eval", "{\"source\":\"console.warn('say \\\"hi\\\"'); 1\"}"), 200, NULL);
    char long_path[400] = "/v1/contexts/";
    memset(long_path + strlen(long_path), 'a', 300);
    expect(request("GET", long_path, NULL), 404, NULL);
    bool closed = false; /* a raw quote and backslash: curl would encode them */
    char *out = raw_exchange("GET /v1/contexts/q\"u\\te HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &closed);
    cr_expect(strncmp(out, "HTTP/1.1 404 ", 13) == 0, "got: %s", out);
    free(out);
    expect_clean_stop();
    char *text = read_log(path);
    cr_assert(text);
    const char *call = strstr(text, "{\"level\":\"info\",\"method\":\"POST\",\"path\":\"/v1/contexts/bank/call/audit\","
                                    "\"status\":200,\"duration_ms\":");
    cr_assert(call, "the call's line: %s", text);
    const char *ms = call + strlen("{\"level\":\"info\",\"method\":\"POST\",\"path\":\"/v1/contexts/bank/call/audit\","
                                   "\"status\":200,\"duration_ms\":");
    size_t whole = strspn(ms, "0123456789");
    cr_expect(whole >= 1 && ms[whole] == '.' && strspn(ms + whole + 1, "0123456789") == 3,
              "duration_ms has three decimals: %.40s", ms);
    const char *context = ms + whole + 4;
    cr_expect(strncmp(context, ",\"context\":", 11) == 0 && context[11] >= '1' && context[11] <= '9' &&
                  strchr(context, '}') && strchr(context, '}')[1] == '\n',
              "then the context's id, and the object ends the line: %.40s", context);
    char cut[300] = "\"path\":\"/v1/contexts/";
    memset(cut + strlen(cut), 'a', 250 - strlen("/v1/contexts/"));
    strcat(cut, "...\",\"status\":404,");
    cr_expect(strstr(text, cut), "a 313-character path is logged as its first 250 and ...: %s", text);
    cr_expect(strstr(text, "\"path\":\"/v1/contexts/q?u?te\",\"status\":404,"), "quote and backslash as '?': %s", text);
    /* the pool's lines (a tenant's console) and the server's own messages too */
    cr_expect(strstr(text, ",\"msg\":\"say 'hi'\"}\n") && strstr(text, "{\"level\":\"warn\",\"context\":"),
              "the tenant's console line as JSON: %s", text);
    cr_expect(strstr(text, "{\"level\":\"info\",\"msg\":\"stopped\"}\n"), "'stopped' as JSON: %s", text);
    /* every line is an object: no raw quote or backslash from a path got in */
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        const char *end = strchr(line, '\n');
        cr_assert(end, "every line ends with a newline");
        cr_expect(line[0] == '{' && end[-1] == '}', "not an object: %.*s", (int)(end - line), line);
        size_t quotes = 0;
        for (const char *c = line; c < end; c++)
            quotes += *c == '"';
        cr_expect_eq(quotes % 2, 0, "balanced quotes: %.*s", (int)(end - line), line);
        cr_expect(!memchr(line, '\\', (size_t)(end - line)), "no backslash: %.*s", (int)(end - line), line);
    }
    free(text);
    unlink(path);
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

    /* the per-context caps are the operator's to set too */
    fd = open(path, O_WRONLY | O_TRUNC);
    dprintf(fd, "threads = 1\nmax_timers_per_context = 3\n");
    close(fd);
    cr_assert(serve_start(&srv, args));
    expect(request("POST", "/v1/contexts", "{\"name\":\"t\"}"), 201, NULL);
    expect(request("POST", "/v1/contexts/t/eval", "{\"source\":\"for (let i = 0; i < 3; i++) setTimeout(() => 0, 1e6); 0\"}"),
           200, NULL);
    expect(request("POST", "/v1/contexts/t/eval", "{\"source\":\"setTimeout(() => 0, 1e6)\"}"), 422, "RangeError");
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

/* ---- the WebSocket upgrade behind the token, and the Origin allow-list ---- */

Test(server, ws_upgrade_requires_token)
{
    char path[] = "/tmp/jspool-token-XXXXXX";
    serve_with_token(path, NULL);
    expect(request_as("POST", "/v1/contexts", "{\"name\":\"echo\",\"source\":"
                      "\"globalThis.onmessage = e => host.send({echo: e.data.n * 2}); 0\"}", -1, "s3cret"),
           201, NULL);
    char head[1024];
    cr_expect_eq(ws_connect_with("/v1/contexts/echo/ws", NULL, head, sizeof(head)), -1);
    cr_expect(strstr(head, " 401 ") && strstr(head, "\r\n\r\n"), "anonymous upgrade got: %s", head);
    cr_expect_eq(ws_connect_with("/v1/contexts/echo/ws", "Sec-WebSocket-Protocol: bearer.wrong\r\n", head, sizeof(head)), -1);
    cr_expect(strstr(head, " 401 "), "wrong subprotocol token got: %s", head);
    cr_expect_eq(ws_connect_with("/v1/contexts/echo/ws?token=s3cret", NULL, head, sizeof(head)), -1);
    cr_expect(strstr(head, " 401 "), "a token in the query is not accepted: %s", head);
    cr_expect_eq(ws_connect_with("/v1/contexts/echo/ws", "Authorization: Bearer wrong\r\n", head, sizeof(head)), -1);

    int fd = ws_connect_with("/v1/contexts/echo/ws", "Authorization: Bearer s3cret\r\n", head, sizeof(head));
    cr_expect(fd >= 0, "header token refused: %s", head);
    close(fd);
    /* a browser: new WebSocket(url, ["jspool", "bearer." + token]); the offered entry is echoed */
    fd = ws_connect_with("/v1/contexts/echo/ws", "Sec-WebSocket-Protocol: jspool, bearer.s3cret\r\n", head, sizeof(head));
    cr_assert(fd >= 0, "subprotocol token refused: %s", head);
    cr_expect(strstr(head, "sec-websocket-protocol: bearer.s3cret\r\n"), "no subprotocol echoed: %s", head);
    ws_send_text(fd, "{\"n\":21}");
    char *reply = ws_read_text(fd);
    cr_expect(reply && strcmp(reply, "{\"echo\":42}") == 0, "got %s", reply ? reply : "nothing");
    free(reply);
    close(fd);
    unlink(path);
}

Test(server, ws_origin_outside_the_allow_list_is_refused)
{
    serve_stop(&srv);
    static const char *const args[] = {"--ws-allowed-origins", "https://app.example, http://localhost:3000",
                                       EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, args));
    char head[1024];
    cr_expect_eq(ws_connect_with("/v1/contexts/bank/ws", "Origin: https://evil.example\r\n", head, sizeof(head)), -1);
    cr_expect(strstr(head, " 403 "), "foreign Origin got: %s", head);
    cr_expect_eq(ws_connect_with("/v1/contexts/bank/ws", "Origin: https://app.example.evil\r\n", head, sizeof(head)), -1);
    int fd = ws_connect_with("/v1/contexts/bank/ws", "Origin: https://APP.example\r\n", head, sizeof(head));
    cr_expect(fd >= 0, "listed Origin refused: %s", head);
    close(fd);
    fd = ws_connect_with("/v1/contexts/bank/ws", "Origin: http://localhost:3000\r\n", head, sizeof(head));
    cr_expect(fd >= 0, "second listed Origin refused: %s", head);
    close(fd);
    fd = ws_connect_with("/v1/contexts/bank/ws", NULL, head, sizeof(head)); /* not a browser */
    cr_expect(fd >= 0, "no Origin refused: %s", head);
    close(fd);
}

/* ---- calls over the WebSocket: {"id","call","args"} answered {"id","result"|"error"} ---- */

/* Restarts the server with the calls fixture (and extra flags) and opens a socket on it. */
static int ws_calls_socket(const char *flag, const char *value)
{
    serve_stop(&srv);
    const char *const args[] = {MODULES_DIR "/calls.js", flag, value, NULL};
    cr_assert(serve_start(&srv, args), "the server did not start");
    int fd = ws_connect("/v1/contexts/calls/ws");
    cr_assert(fd >= 0, "no WebSocket upgrade");
    return fd;
}

Test(server, ws_call_ids_are_echoed_exactly_and_messages_still_work)
{
    int fd = ws_calls_socket(NULL, NULL);
    ws_send_text(fd, "{\"id\":7,\"call\":\"add\",\"args\":[2,3]}");
    expect_frame(fd, "number id", "{\"id\":7,\"result\":5}");
    /* a string id comes back byte for byte, escapes included */
    ws_send_text(fd, "{\"id\":\"a\\\"b\\u00e9-\xc3\xa9\", \"call\" : \"add\", \"args\": [\"x\", 1]}");
    expect_frame(fd, "string id", "{\"id\":\"a\\\"b\\u00e9-\xc3\xa9\",\"result\":\"x1\"}");
    /* keys in any order; no args is [] (add() is NaN, which JSON carries as null) */
    ws_send_text(fd, "{\"call\":\"add\",\"id\":9007199254740991}");
    expect_frame(fd, "largest id", "{\"id\":9007199254740991,\"result\":null}");
    /* frames without both keys are messages, as before calls existed */
    ws_send_text(fd, "{\"id\":1}");
    expect_frame(fd, "message", "{\"echo\":{\"id\":1}}");
    ws_send_text(fd, "{\"call\":\"add\"}");
    expect_frame(fd, "message", "{\"echo\":{\"call\":\"add\"}}");
    ws_send_text(fd, "[1,2]");
    expect_frame(fd, "message", "{\"echo\":[1,2]}");
    close(fd);
}

Test(server, ws_call_answers_come_as_calls_complete)
{
    int fd = ws_calls_socket(NULL, NULL);
    ws_send_text(fd, "{\"id\":1,\"call\":\"after\",\"args\":[300,\"slow\"]}");
    ws_send_text(fd, "{\"id\":2,\"call\":\"after\",\"args\":[0,\"soon\"]}");
    ws_send_text(fd, "{\"id\":3,\"call\":\"add\",\"args\":[1,2]}");
    /* the context runs id 3 while id 1 awaits its timer */
    char *first = ws_read_text(fd), *second = ws_read_text(fd);
    cr_expect(first && second, "answers missing");
    cr_expect(first && second && ((!strcmp(first, "{\"id\":3,\"result\":3}") && !strcmp(second, "{\"id\":2,\"result\":\"soon\"}")) ||
                                  (!strcmp(first, "{\"id\":2,\"result\":\"soon\"}") && !strcmp(second, "{\"id\":3,\"result\":3}"))),
              "got %s then %s", first ? first : "nothing", second ? second : "nothing");
    free(first);
    free(second);
    expect_frame(fd, "slow call", "{\"id\":1,\"result\":\"slow\"}");
    close(fd);
}

Test(server, ws_40_pipelined_calls_on_one_socket_are_all_answered)
{
    int fd = ws_calls_socket(NULL, NULL);
    char frames[40 * 64];
    /* one write: the server reads the 40 frames in one go (mask 0: payload as is) */
    size_t at = 0;
    for (int i = 0; i < 40; i++) {
        char text[48];
        int len = snprintf(text, sizeof(text), "{\"id\":%d,\"call\":\"add\",\"args\":[%d,1000]}", i, i);
        frames[at++] = (char)0x81;
        frames[at++] = (char)(0x80 | len);
        memset(frames + at, 0, 4);
        at += 4;
        memcpy(frames + at, text, (size_t)len);
        at += (size_t)len;
    }
    cr_assert(send(fd, frames, at, MSG_NOSIGNAL) == (ssize_t)at);
    bool seen[40] = {false};
    for (int n = 0; n < 40; n++) {
        char *answer = ws_read_text(fd);
        int id = -1, result = -1;
        cr_assert(answer && sscanf(answer, "{\"id\":%d,\"result\":%d}", &id, &result) == 2,
                  "answer %d: %s", n, answer ? answer : "nothing");
        cr_expect(id >= 0 && id < 40 && !seen[id] && result == id + 1000, "answer %s", answer);
        if (id >= 0 && id < 40)
            seen[id] = true;
        free(answer);
    }
    expect(request("GET", "/v1/contexts/calls", NULL), 200, "\"calls\":40");
    close(fd);
}

Test(server, ws_bad_call_frames_are_answered_and_the_socket_stays_open)
{
    int fd = ws_calls_socket(NULL, NULL);
    char long_id[200];
    snprintf(long_id, sizeof(long_id), "{\"id\":\"%0129d\",\"call\":\"add\"}", 0);
    static const char *const cases[][2] = {
        {"{\"id\":1.5,\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":-1,\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":9007199254740992,\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":01,\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":true,\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":{\"a\":1},\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":\"\\x\",\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        /* a lone surrogate: strict JSON parsers could not read the echo */
        {"{\"id\":\"\\udc00\",\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":\"\\ud83d\",\"call\":\"add\"}", "{\"id\":null,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":\"\\ud83d\\ude00\",\"call\":\"add\",\"args\":[1,1]}", "{\"id\":\"\\ud83d\\ude00\",\"result\":2}"},
        {"{\"id\":3,\"call\":5}", "{\"id\":3,\"error\":{\"code\":\"invalid_argument\",\"message\":\"\\\"call\\\" must be"},
        {"{\"id\":3,\"call\":\"a\\u0064d\"}", "{\"id\":3,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":4,\"call\":\"add\",\"args\":{\"a\":1}}", "{\"id\":4,\"error\":{\"code\":\"invalid_argument\",\"message\":\"\\\"args\\\" must be an array\""},
        {"{\"id\":5,\"call\":\"nope\"}", "{\"id\":5,\"error\":{\"code\":\"not_found\""},
        {"{\"id\":6,\"call\":\"add\",\"extra\":1}", "{\"id\":6,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":6,\"call\":\"add\",\"id\":7}", "{\"id\":7,\"error\":{\"code\":\"invalid_argument\""},
        {"{\"id\":7,\"call\":\"add\",\"args\":[1,}", "{\"id\":7,\"error\":{\"code\":\"invalid_json\""},
        {"{\"id\":8,\"call\":\"add\",\"args\":[1 2]}", "{\"id\":8,\"error\":{\"code\":\"invalid_json\""},
        {"{\"id\":9,\"call\":\"add\",\"args\":[1]} x", "{\"id\":9,\"error\":{\"code\":\"invalid_json\""},
        {"{\"id\":10,\"call\":\"fail\",\"args\":[\"boom\"]}", "{\"id\":10,\"error\":{\"code\":\"js_error\",\"message\":\"boom\",\"details\":{\"name\":\"RangeError\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ws_send_text(fd, cases[i][0]);
        char *got = ws_read_text(fd);
        cr_expect(got && strncmp(got, cases[i][1], strlen(cases[i][1])) == 0, "%s: got %s, wanted %s...",
                  cases[i][0], got ? got : "nothing", cases[i][1]);
        free(got);
    }
    ws_send_text(fd, long_id); /* 129 bytes: one too many */
    char *got = ws_read_text(fd);
    cr_expect(got && strncmp(got, "{\"id\":null,\"error\":{\"code\":\"invalid_argument\"", 45) == 0, "long id: %s", got ? got : "nothing");
    free(got);
    snprintf(long_id, sizeof(long_id), "{\"id\":\"%0128d\",\"call\":\"add\",\"args\":[1,2]}", 0);
    ws_send_text(fd, long_id);
    got = ws_read_text(fd);
    cr_expect(got && strstr(got, "\",\"result\":3}"), "128-byte id: %s", got ? got : "nothing");
    free(got);
    ws_send_text(fd, "{\"id\":11,\"call\":\"add\",\"args\":[20,22]}"); /* still usable */
    expect_frame(fd, "after bad frames", "{\"id\":11,\"result\":42}");
    close(fd);
}

Test(server, ws_calls_in_flight_per_socket_are_bounded)
{
    int fd = ws_calls_socket("--ws-max-calls-in-flight", "4");
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"id\":%d,\"call\":\"after\",\"args\":[400,%d]}", i, i);
        ws_send_text(fd, text);
    }
    ws_send_text(fd, "{\"id\":99,\"call\":\"add\",\"args\":[1,1]}");
    /* answered at once, before the four that wait */
    char *busy = ws_read_text(fd);
    cr_expect(busy && strncmp(busy, "{\"id\":99,\"error\":{\"code\":\"busy\"", 31) == 0, "got %s", busy ? busy : "nothing");
    free(busy);
    for (int i = 0; i < 4; i++) {
        char *got = ws_read_text(fd);
        cr_expect(got && strstr(got, ",\"result\":") && strncmp(got, "{\"id\":", 6) == 0, "got %s", got ? got : "nothing");
        free(got);
    }
    ws_send_text(fd, "{\"id\":100,\"call\":\"add\",\"args\":[1,1]}");
    expect_frame(fd, "room again", "{\"id\":100,\"result\":2}");
    close(fd);
}

Test(server, ws_a_client_that_never_reads_is_disconnected)
{
    serve_stop(&srv);
    static const char *const args[] = {MODULES_DIR "/calls.js", "--ws-max-queued-bytes", "262144", NULL};
    cr_assert(serve_start(&srv, args));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096; /* keep the kernel's share of the backlog small */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    close(fd);
    fd = ws_connect("/v1/contexts/calls/ws");
    cr_assert(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct timeval timeout = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    /* 64 KiB answers, 100 calls at a time, never reading: far past 256 KiB plus what the
     * kernel buffers, unless the server gives up on the socket */
    static const char call[] = "{\"id\":1,\"call\":\"big\",\"args\":[65536]}";
    unsigned char frame[6 + sizeof(call)] = {0x81, 0x80 | (sizeof(call) - 1)};
    memcpy(frame + 6, call, sizeof(call) - 1);
    bool is_closed = false;
    int sent = 0;
    for (; sent < 4000 && !is_closed; sent += 100) {
        for (int i = 0; i < 100 && !is_closed; i++)
            is_closed = send(fd, frame, 6 + sizeof(call) - 1, MSG_NOSIGNAL) < 0;
        usleep(20000);
    }
    /* what was sent before the close can be read, then the stream ends */
    size_t total = 0;
    char buf[65536];
    ssize_t n;
    struct timeval read_timeout = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &read_timeout, sizeof(read_timeout));
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    int why = errno;
    cr_expect(n == 0 || (n < 0 && (why == ECONNRESET || why == EPIPE)), "the socket was not closed (read %zd: %s)",
              n, n < 0 ? strerror(why) : "");
    cr_expect(total < (size_t)sent * 65536 / 2, "%zu bytes came back for %d calls", total, sent);
    close(fd);
    expect(request("GET", "/healthz", NULL), 200, NULL);
    fd = ws_connect("/v1/contexts/calls/ws"); /* a reading client is served as before */
    cr_assert(fd >= 0);
    ws_send_text(fd, "{\"id\":1,\"call\":\"big\",\"args\":[100000]}");
    int opcode = 0;
    char *got = ws_read_frame(fd, &opcode);
    cr_expect(got && opcode == 1 && strlen(got) == 100000 + 20, "big answer: %zu bytes", got ? strlen(got) : 0);
    free(got);
    /* one answer over the bound on an idle socket: it gets the close frame, 1008 and why */
    ws_send_text(fd, "{\"id\":2,\"call\":\"big\",\"args\":[300000]}");
    got = ws_read_frame(fd, &opcode);
    cr_expect(got && opcode == 8 && (unsigned char)got[0] == 1008 >> 8 && (unsigned char)got[1] == (1008 & 0xff) &&
              strstr(got + 2, "ws_max_queued_bytes"), "wanted a 1008 close frame, got opcode %d %s", opcode,
              got ? got + 2 : "nothing");
    free(got);
    close(fd);
}

Test(server, ws_socket_closed_with_calls_in_flight_leaves_the_server_sound)
{
    int fd = ws_calls_socket(NULL, NULL);
    for (int i = 0; i < 30; i++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"id\":%d,\"call\":\"after\",\"args\":[%d,%d]}", i, 100 + i * 5, i);
        ws_send_text(fd, text);
    }
    close(fd); /* gone before any answer: they arrive for a closed socket */
    cr_expect(request_until("GET", "/v1/contexts/calls", NULL, "\"calls\":30,\"errors\":0,\"in_flight\":0"),
              "the closed socket's calls did not all end");
    int other = ws_connect("/v1/contexts/calls/ws");
    cr_assert(other >= 0);
    for (int i = 0; i < 10; i++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"id\":%d,\"call\":\"after\",\"args\":[200,%d]}", i, i);
        ws_send_text(other, text);
    }
    /* the context deleted while the second socket's calls run: they end, the socket closes */
    usleep(50000);
    expect(request("DELETE", "/v1/contexts/calls", NULL), 204, NULL);
    usleep(400000);
    expect(request("GET", "/healthz", NULL), 200, NULL);
    char *got = ws_read_text(other);
    cr_expect(got == NULL, "a deleted context's socket got %s", got ? got : "nothing");
    free(got);
    close(other);
    expect(request("POST", "/v1/contexts", "{\"name\":\"again\",\"module\":\"export const f = () => 1\"}"), 201, NULL);
    fd = ws_connect("/v1/contexts/again/ws");
    cr_assert(fd >= 0);
    ws_send_text(fd, "{\"id\":\"x\",\"call\":\"f\"}");
    expect_frame(fd, "new context", "{\"id\":\"x\",\"result\":1}");
    close(fd);
}

/* ---- request framing: raw bytes, because curl would never send these ---- */

/* Sends bytes on a fresh connection and reads until the server closes it (or 5 s).
 * Returns what came back; *closed tells whether the server closed the connection. */
static char *raw_exchange(const char *bytes, bool *closed)
{
    int fd = raw_connect();
    cr_assert(fd >= 0);
    cr_assert(write(fd, bytes, strlen(bytes)) == (ssize_t)strlen(bytes));
    size_t len = 0, capacity = 65536;
    char *out = calloc(1, capacity);
    *closed = false;
    for (;;) {
        ssize_t r = read(fd, out + len, capacity - len - 1);
        if (r == 0)
            *closed = true;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == capacity - 1)
            break;
    }
    out[len] = '\0';
    close(fd);
    return out;
}

static int count_responses(const char *text)
{
    int n = 0;
    for (const char *at = text; (at = strstr(at, "HTTP/1.1 ")) != NULL; at++)
        n++;
    return n;
}

/* The smuggled request after the body would list the contexts: its answer must never come. */
#define SMUGGLED "GET /v1/contexts HTTP/1.1\r\nHost: x\r\n\r\n"

static void expect_one_400_and_close(const char *bytes, const char *message)
{
    bool closed = false;
    char *out = raw_exchange(bytes, &closed);
    cr_expect_eq(count_responses(out), 1, "responses in: %s", out);
    cr_expect(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "got: %s", out);
    cr_expect(strstr(out, "{\"error\":{\"code\":\"invalid_request\""), "not our error shape: %s", out);
    cr_expect(strstr(out, message), "lacks '%s': %s", message, out);
    cr_expect(!strstr(out, "\"contexts\""), "the smuggled request ran: %s", out);
    cr_expect(closed, "the connection stayed open after: %s", bytes);
    free(out);
}

Test(server, smuggling_with_ambiguous_framing_gets_one_400_and_a_closed_connection)
{
    /* control: well-framed pipelined requests are all answered on one connection */
    bool closed = false;
    char *out = raw_exchange("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]"
                             SMUGGLED "GET /v1/contexts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &closed);
    cr_expect_eq(count_responses(out), 3, "control: %s", out);
    free(out);

    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n" SMUGGLED,
                             "both Content-Length and Transfer-Encoding");
    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\ntransfer-encoding: Chunked\r\n"
                             "content-length: 4\r\n\r\n2\r\n[]\r\n0\r\n\r\n" SMUGGLED,
                             "both Content-Length and Transfer-Encoding");
    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                             "Content-Length: 41\r\n\r\n[]" SMUGGLED, "Content-Length");
    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 41\r\n\r\n[]"
                             SMUGGLED, "content-length");
    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                             "2\r\n[]\r\n0\r\n\r\n" SMUGGLED, "transfer-encoding");
    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n" SMUGGLED, "ransfer-Encoding");
    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\nHost: x\nContent-Length: 4\n" /* bare LF */
                             "Transfer-Encoding: chunked\n\n2\r\n[]\r\n0\r\n\r\n" SMUGGLED,
                             "both Content-Length and Transfer-Encoding");
    /* the same smuggling after a good request on a kept-alive connection */
    out = raw_exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n" SMUGGLED, &closed);
    cr_expect_eq(count_responses(out), 2, "%s", out);
    cr_expect(strstr(out, "HTTP/1.1 400 ") && !strstr(out, "\"contexts\""), "%s", out);
    cr_expect(closed);
    free(out);
}

/* ---- client-requested limits and names ---- */

/* Restarts the fixture's server with a config file holding text (plus bank.js). */
static void serve_with_config(char *path, const char *text)
{
    serve_stop(&srv);
    write_temp(path, text);
    const char *const args[] = {"--config", path, EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, args), "did not start with: %s", text);
}

/* `jspool serve --config` with text: its exit status (it should refuse to start). */
static int serve_refuses_config(const char *text)
{
    char path[] = "/tmp/jspool-conf-XXXXXX";
    write_temp(path, text);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        dup2(devnull, STDOUT_FILENO);
        execl(JSPOOL_BIN, JSPOOL_BIN, "serve", "--listen", "127.0.0.1:0", "--config", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(server, clients_choose_a_storage_quota_under_the_operators_maximum)
{
    char path[] = "/tmp/jspool-conf-XXXXXX";
    serve_with_config(path, "max_storage_quota = 1000\n");
    const char *overflow = "{\"source\":\"localStorage.setItem('a', 'x'.repeat(500)); "
                           "try { localStorage.setItem('b', 'x'.repeat(500)); 'stored' } catch (e) { e.name }\"}";
    expect(request("POST", "/v1/contexts", "{\"name\":\"small\",\"apis\":\"storage\",\"source\":\"0\","
                                            "\"limits\":{\"storage_quota\":100}}"), 201, NULL);
    expect(request("POST", "/v1/contexts/small/eval", "{\"source\":\"try { localStorage.setItem('k', 'v'.repeat(100)); "
                                                     "'stored' } catch (e) { e.name }\"}"),
           200, "QuotaExceededError");
    /* asking for more than the maximum gets the maximum; asking nothing gets it too (a
     * default above a lower maximum follows it) */
    expect(request("POST", "/v1/contexts", "{\"name\":\"greedy\",\"apis\":\"storage\",\"source\":\"0\","
                                            "\"limits\":{\"storage_quota\":100000000}}"), 201, NULL);
    expect(request("POST", "/v1/contexts/greedy/eval", overflow), 200, "QuotaExceededError");
    expect(request("POST", "/v1/contexts", "{\"name\":\"plain\",\"apis\":\"storage\",\"source\":\"0\"}"), 201, NULL);
    expect(request("POST", "/v1/contexts/plain/eval", overflow), 200, "QuotaExceededError");
    expect(request("POST", "/v1/contexts", "{\"limits\":{\"storage_quota\":0}}"), 400, "limits.storage_quota");
    unlink(path);
    cr_expect_eq(serve_refuses_config("storage_quota = 2000\nmax_storage_quota = 1000\n"), 2,
                 "a default above its maximum");
}

Test(server, client_limits_are_clamped_to_the_operator_maxima)
{
    char path[] = "/tmp/jspool-conf-XXXXXX";
    serve_with_config(path, "max_cpu_limit_ms = 300\nmax_wall_limit_ms = 2000\nmax_memory_limit_bytes = 67108864\n");
    expect(request("POST", "/v1/contexts", "{\"name\":\"greedy\",\"source\":\"0\",\"limits\":"
                                            "{\"cpu_ms\":86400000,\"wall_ms\":999999999,\"memory_bytes\":1099511627776}}"),
           201, "\"limits\":{\"cpu_ms\":300,\"wall_ms\":2000,\"memory_bytes\":67108864}");
    expect(request("GET", "/v1/contexts/greedy", NULL), 200, "\"cpu_ms\":300,\"wall_ms\":2000");
    /* the clamp is what the library enforces, not just what is shown */
    uint64_t start = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    start = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    expect(request("POST", "/v1/contexts/greedy/eval", "{\"source\":\"for (;;) {}\"}"), 408, "cpu_limit");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t took = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 - start;
    cr_expect(took < 2000, "for(;;) ran %llu ms under a 300 ms maximum", (unsigned long long)took);
    expect(request("POST", "/v1/contexts", "{\"name\":\"modest\",\"source\":\"0\",\"limits\":{\"cpu_ms\":100}}"),
           201, "\"cpu_ms\":100");

    static const char *const refused[][2] = {
        {"{\"limits\":{\"cpu_ms\":-1,\"wall_ms\":-1}}", "limits.cpu_ms must be an integer of at least 1"},
        {"{\"limits\":{\"wall_ms\":-1}}", "limits.wall_ms"},
        {"{\"limits\":{\"cpu_ms\":0}}", "limits.cpu_ms"},
        {"{\"limits\":{\"cpu_ms\":-5000}}", "limits.cpu_ms"},
        {"{\"limits\":{\"cpu_ms\":1.5}}", "limits.cpu_ms"},
        {"{\"limits\":{\"cpu_ms\":\"100\"}}", "limits.cpu_ms"},
        {"{\"limits\":{\"cpu_ms\":1e300}}", "limits.cpu_ms"},
        {"{\"limits\":{\"memory_bytes\":1000}}", "limits.memory_bytes must be an integer of at least 4194304"},
        {"{\"limits\":{\"memory_bytes\":-1}}", "limits.memory_bytes"},
        {"{\"limits\":{\"cpu_ms\":null}}", "limits.cpu_ms"},
        {"{\"limits\":{\"cpus\":5}}", "invalid_argument"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        expect(request("POST", "/v1/contexts", refused[i][0]), 400, refused[i][1]);
    expect(request("POST", "/v1/contexts", "{\"limits\":{\"cpu_ms\":99999999999999999999999}}"), 400, "invalid_json");
    expect(request("GET", "/v1/contexts", NULL), 200, "\"total\":3"); /* nothing refused was created */
    unlink(path);

    /* "none" is the operator's: then a client's large value stands */
    char path2[] = "/tmp/jspool-conf-XXXXXX";
    serve_with_config(path2, "max_cpu_limit_ms = none\n");
    expect(request("POST", "/v1/contexts", "{\"limits\":{\"cpu_ms\":86400000}}"), 201, "\"cpu_ms\":86400000");
    expect(request("POST", "/v1/contexts", "{\"limits\":{\"cpu_ms\":-1}}"), 400, "limits.cpu_ms");
    unlink(path2);
    cr_expect_eq(serve_refuses_config("cpu_limit_ms = 60000\n"), 2, "a default above its maximum");
    cr_expect_eq(serve_refuses_config("cpu_limit_ms = none\n"), 2, "an unlimited default under a maximum");
    cr_expect_eq(serve_refuses_config("max_cpu_limit_ms = 0\n"), 2);
    cr_expect_eq(serve_refuses_config("max_wall_limit_ms = -7\n"), 2);
}

Test(server, egress_is_the_operators_and_a_client_may_only_narrow_it)
{
    char path[] = "/tmp/jspool-conf-XXXXXX";
    serve_with_config(path, "egress_allow = *.example.test, 127.0.0.1\negress_timeout_ms = 500\n");
    /* the operator's list applies to a context that asks for nothing: loopback stays off */
    expect(request("POST", "/v1/contexts", "{\"name\":\"plain\",\"apis\":\"fetch\"}"), 201, NULL);
    expect(request("POST", "/v1/contexts/plain/eval",
                   "{\"source\":\"fetch('http://127.0.0.1:9/').catch((e) => e.message)\"}"),
           200, "127.0.0.1 is a loopback address (egress_allow_loopback is off)");
    /* narrowed: a.example.test only */
    expect(request("POST", "/v1/contexts", "{\"name\":\"narrow\",\"apis\":\"fetch\",\"egress\":"
                                            "{\"allow\":\"a.example.test\",\"max_requests\":1000}}"),
           201, NULL);
    expect(request("POST", "/v1/contexts/narrow/eval",
                   "{\"source\":\"fetch('http://b.example.test/').catch((e) => e.message)\"}"),
           200, "http://b.example.test:80 is not in this context's egress allow-list");
    static const char *const refused[][2] = {
        {"{\"egress\":{\"allow\":\"evil.test\"}}",
         "egress.allow: egress allow-list entry 'evil.test' is not within the operator's egress allow-list"},
        {"{\"egress\":{\"allow\":\"*\"}}", "'*' is not within the operator's"},
        {"{\"egress\":{\"allow\":\"ftp://a.example.test\"}}", "only http:// and https://"},
        {"{\"egress\":{\"allow_loopback\":true}}", "egress.allow_loopback: the operator does not allow it"},
        {"{\"egress\":{\"allow_private\":true}}", "egress.allow_private: the operator does not allow it"},
        {"{\"egress\":{\"timeout_ms\":0}}", "egress.timeout_ms must be an integer of at least 1"},
        {"{\"egress\":{\"proxy\":\"x\"}}", "egress:"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        expect(request("POST", "/v1/contexts", refused[i][0]), 400, refused[i][1]);
    unlink(path);
    cr_expect_eq(serve_refuses_config("egress_allow = ftp://x\n"), 2);
    cr_expect_eq(serve_refuses_config("egress_max_requests = -1\n"), 2);
}

Test(server, context_names_breaking_a_rule_get_400_naming_it)
{
    expect(request("POST", "/v1/contexts", "{\"name\":\"5\"}"), 400, "all digits");
    expect(request("POST", "/v1/contexts", "{\"name\":\"a/b\"}"), 400, "'/'");
    expect(request("POST", "/v1/contexts", "{\"name\":\"\"}"), 400, "empty");
    expect(request("POST", "/v1/contexts", "{\"name\":\"evil\\u202egnp\"}"), 400, "0xe2");
    expect(request("POST", "/v1/contexts", "{\"name\":\"nul\\u0000byte\"}"), 400, "u0000 is not allowed");
    expect(request("POST", "/v1/contexts", "{\"name\":\"..\"}"), 400, "'..'");
    expect(request("POST", "/v1/contexts", "{\"name\":\"ctx-1\"}"), 400, "reserved");
    char *body = malloc(100100);
    strcpy(body, "{\"name\":\"");
    memset(body + 9, 'n', 100000);
    strcpy(body + 100009, "\"}");
    expect(request("POST", "/v1/contexts", body), 400, "longer than 64 bytes");
    free(body);
    expect(request("GET", "/v1/contexts", NULL), 200, "\"total\":1");
    expect(request("POST", "/v1/contexts", "{\"name\":\"v2.beta_1-x\"}"), 201, "\"name\":\"v2.beta_1-x\"");
    expect(request("POST", "/v1/contexts", "{\"name\":\"v2.beta_1-x\"}"), 409, "already_exists");
    expect(request("DELETE", "/v1/contexts/v2.beta_1-x", NULL), 204, NULL);
    expect(request("POST", "/v1/contexts", "{\"name\":\"v2.beta_1-x\"}"), 201, NULL); /* free again */
}

Test(server, namespaces_are_given_at_creation_shown_and_checked)
{
    const char *room = "globalThis.got = []; new BroadcastChannel('room').onmessage = (e) => got.push(e.data); 0";
    char body[512];
    const char *names[] = {"ns-a1", "ns-a2", "ns-b"}, *spaces[] = {"\"team-a\"", "\"team-a\"", "null"};
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"apis\":\"channel\",%s%s%s\"source\":\"%s\"}", names[i],
                 i < 2 ? "\"namespace\":" : "", i < 2 ? spaces[i] : "", i < 2 ? "," : "", room);
        char shown[64];
        snprintf(shown, sizeof(shown), "\"namespace\":%s", spaces[i]);
        expect(request("POST", "/v1/contexts", body), 201, shown);
    }
    expect(request("GET", "/v1/contexts/ns-a1", NULL), 200, "\"namespace\":\"team-a\"");
    expect(request("POST", "/v1/contexts/ns-b/eval", "{\"source\":\"new BroadcastChannel('room').postMessage('b'); 0\"}"),
           200, NULL);
    expect(request("POST", "/v1/contexts/ns-a1/eval", "{\"source\":\"new BroadcastChannel('room').postMessage('a1'); 0\"}"),
           200, NULL);
    response r = {0};
    for (int i = 0; i < 100; i++) { /* delivery is asynchronous */
        r = request("POST", "/v1/contexts/ns-a2/eval", "{\"source\":\"got\"}");
        if (strstr(r.body, "a1"))
            break;
        free(r.body);
        r.body = NULL;
        usleep(10000);
    }
    cr_expect(r.body && strstr(r.body, "{\"result\":[\"a1\"]}"), "only a1's post reaches a2: %s", r.body);
    free(r.body);
    /* ns-b's own channel hears its post (same context), but not a1's */
    expect(request("POST", "/v1/contexts/ns-b/eval", "{\"source\":\"got\"}"), 200, "{\"result\":[\"b\"]}");
    expect(request("POST", "/v1/contexts", "{\"namespace\":\"a/b\"}"), 400, "namespace: 1 to 64 characters");
    expect(request("POST", "/v1/contexts", "{\"namespace\":\"\"}"), 400, "namespace");
    expect(request("POST", "/v1/contexts", "{\"namespace\":5}"), 400, "invalid_argument");
}

typedef struct spin_call {
    pthread_t thread;
    response r;
} spin_call;

static void *call_spin(void *arg)
{
    spin_call *c = arg;
    c->r = request("POST", "/v1/contexts/spin/eval", "{\"source\":\"for(;;);\"}");
    return NULL;
}

Test(server, delete_ends_a_running_call_and_contexts_show_their_cpu)
{
    expect(request("POST", "/v1/contexts", "{\"name\":\"spin\",\"source\":\"0\"}"), 201, NULL);
    expect(request("POST", "/v1/contexts", "{\"name\":\"burner\",\"source\":\"0\"}"), 201, NULL);
    expect(request("POST", "/v1/contexts/burner/eval",
                   "{\"source\":\"const end = Date.now() + 300; while (Date.now() < end); 1\"}"),
           200, NULL);
    expect(request("GET", "/v1/contexts?sort=cpu&limit=1", NULL), 200, "\"name\":\"burner\"");
    expect(request("GET", "/v1/contexts/burner", NULL), 200, "\"cpu\":{\"seconds\":0.");
    expect(request("GET", "/v1/contexts", NULL), 200, "\"workers\":[]");
    spin_call c;
    pthread_create(&c.thread, NULL, call_spin, &c);
    usleep(300000); /* spinning, under the default 5 s CPU limit */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect(request("DELETE", "/v1/contexts/spin", NULL), 204, NULL);
    pthread_join(c.thread, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_expect_lt(waited_ms, 2500, "the spinning call ended %.0f ms after DELETE", waited_ms);
    cr_expect(c.r.body && strstr(c.r.body, "destroyed"), "%ld %s", c.r.status, c.r.body);
    free(c.r.body);
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"carol\", 5]"), 200, "\"balance\":5");
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

/* ---- attacks an attacker's review found (each failed before its fix) ---- */

/* picohttpparser skips empty lines before a request line; raw_head then finds no method
 * at the buffer's start and lets the request run (fail closed only on persistence). */
Test(server, review_leading_crlf_skips_the_framing_check)
{
    expect_one_400_and_close("\r\nPOST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n" SMUGGLED,
                             "both Content-Length and Transfer-Encoding");
}

/* obs-fold: a proxy that unfolds the line reads different headers than we do. */
Test(server, folded_header_lines_are_refused)
{
    expect_one_400_and_close("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n"
                             " Content-Length: 9\r\nContent-Length: 2\r\n\r\n[]" SMUGGLED,
                             "must not be folded");
}

/* Upgrade: h2c turns the HTTP/1 request into HTTP/2 stream 1 (req->version 0x200), and
 * guard_framing_problem returns NULL for HTTP/2: disagreeing Content-Lengths run. */
Test(server, review_h2c_upgrade_skips_the_framing_check)
{
    bool closed = false;
    char *out = raw_exchange("POST /v1/contexts/bank/call/audit HTTP/1.1\r\nHost: x\r\n"
                             "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
                             "Content-Length: 2\r\nContent-Length: 41\r\n\r\n[]", &closed);
    cr_expect(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "got: %.60s", out);
    free(out);
}

/* find_context reads a key as an id when strtoull takes all of it: "-<digits>" passes the
 * name rules but wraps to an id, so a name addresses (and DELETE removes) another context. */
Test(server, review_a_minus_digits_name_aliases_another_contexts_id)
{
    response r = request("GET", "/v1/contexts/bank", NULL);
    cr_assert_eq(r.status, 200);
    char *at = strstr(r.body, "\"id\":");
    unsigned long long bank_id = strtoull(at + 5, NULL, 10);
    free(r.body);
    char body[200], path[200];
    snprintf(body, sizeof(body), "{\"name\":\"-%llu\",\"source\":\"1\"}", (unsigned long long)(0ULL - bank_id));
    r = request("POST", "/v1/contexts", body);
    long created = r.status;
    free(r.body);
    snprintf(path, sizeof(path), "/v1/contexts/-%llu", (unsigned long long)(0ULL - bank_id));
    r = request("GET", path, NULL);
    cr_expect(created == 400 || !strstr(r.body, "\"name\":\"bank\""),
              "created %ld, and its name resolves to bank: %s", created, r.body);
    free(r.body);
}

/* A token is compared as a C string: a NUL inside a binary token file would have cut it
 * short ("Q" for a file of "Q\0" + 64 hex digits), so such a file stops the server. */
Test(server, a_token_file_with_a_byte_that_is_not_visible_ascii_is_refused)
{
    serve_stop(&srv);
    char path[] = "/tmp/jspool-token-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "Q\0" "0123456789abcdef0123456789abcdef", 34), 34);
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(JSPOOL_BIN, JSPOOL_BIN, "serve", "--listen", "127.0.0.1:0", "--token-file", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 127,
              "the server started (or failed oddly: %d)", WEXITSTATUS(status));
    unlink(path);
    cr_assert(serve_start(&srv, NULL)); /* for the fixture's teardown */
}

/* A deployed module imports files and packages under its project root; a module posted
 * over HTTP cannot import at all, statically or with import(), so a tenant cannot read
 * the operator's files (docs/security.md). */
Test(server, deployed_modules_import_but_posted_modules_cannot)
{
    serve_stop(&srv);
    static const char *const args[] = {MODULES_DIR "/main.js", NULL};
    cr_assert(serve_start(&srv, args));
    expect(request("POST", "/v1/contexts/main/call/sum", "[2,3]"), 200, "{\"result\":5}");
    expect(request("POST", "/v1/contexts/main/call/packages", "[]"), 200, "hello jspool!");
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"tenant\",\"module\":\"import secret from './lib/config.json';"
                   " export const s = () => secret\"}"),
           400, "no module loader");
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"tenant2\",\"module\":\"import x from '" MODULES_DIR "/lib/math.js';\"}"),
           400, "no module loader");
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"tenant3\",\"module\":\"export async function peek(p) {"
                   " return (await import(p)).default }\"}"),
           201, NULL);
    expect(request("POST", "/v1/contexts/tenant3/call/peek", "[\"" MODULES_DIR "/lib/config.json\"]"),
           422, "no module loader");
}

/* ---- the jspool command line (eval/run), run as a user runs it ---- */

typedef struct cli_output {
    int status;        /* exit status, -1 if it did not exit */
    char out[4096];    /* stdout */
    char err[4096];    /* stderr */
} cli_output;

static void read_whole(int fd, char *buf, size_t size)
{
    size_t n = 0;
    lseek(fd, 0, SEEK_SET);
    ssize_t got;
    while (n + 1 < size && (got = read(fd, buf + n, size - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
    close(fd);
}

/* Runs `jspool ARGS...` with stdout and stderr captured apart. */
static cli_output cli(const char *const *args)
{
    cli_output o = {.status = -1};
    char out_path[] = "/tmp/jspool-cli-out-XXXXXX", err_path[] = "/tmp/jspool-cli-err-XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path);
    cr_assert(out >= 0 && err >= 0);
    unlink(out_path);
    unlink(err_path);
    const char *argv[16] = {JSPOOL_BIN};
    int argc = 1;
    for (; *args && argc < 15; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        execv(JSPOOL_BIN, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    read_whole(out, o.out, sizeof(o.out));
    read_whole(err, o.err, sizeof(o.err));
    return o;
}

/* Writes text to a fresh temporary .js file; path receives its name. */
static void js_file(char path[static 32], const char *text, size_t len)
{
    strcpy(path, "/tmp/jspool-run-XXXXXX.js");
    int fd = mkstemps(path, 3);
    cr_assert(fd >= 0);
    cr_assert(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

TestSuite(cli, .timeout = 60);

Test(cli, run_takes_minified_modules_and_byte_order_marks)
{
    static const struct {
        const char *text, *function, *printed;
    } files[] = {
        /* minified: the export is not at a line start */
        {"function f(){return 41}const g=()=>f()+1;export{g as answer};", "answer", "42"},
        /* a byte-order mark before a module and before a script */
        {"\xEF\xBB\xBF" "export function answer() { return 42 }\n", "answer", "42"},
        {"\xEF\xBB\xBF" "var base = 40;\nfunction answer() { return base + 2 }\n", "answer", "42"},
        /* a script that mentions export in a string and a comment stays a script: its
           top-level function is a global */
        {"// export {x}\nvar s = ';export{s}';\nfunction answer() { return s.length + 32 }\n", "answer", "42"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[32];
        js_file(path, files[i].text, strlen(files[i].text));
        cli_output o = cli((const char *const[]){"run", path, files[i].function, NULL});
        cr_expect_eq(o.status, 0, "file %zu: exit %d, stderr %s", i, o.status, o.err);
        cr_expect_str_eq(o.out, "42\n", "file %zu printed %s", i, o.out);
        unlink(path);
    }
    /* a module with a real syntax error reports that error, not the `export` keyword */
    static const char broken[] = "let x = 1;\nexport function f() { return x +; }\n";
    char path[32];
    js_file(path, broken, sizeof(broken) - 1);
    cli_output o = cli((const char *const[]){"run", path, NULL});
    cr_expect_eq(o.status, 1);
    cr_expect(strstr(o.err, "Unexpected token ';'") && strstr(o.err, "line 2"), "stderr: %s", o.err);
    unlink(path);
}

Test(cli, help_on_every_command_and_a_module_run_for_its_effects_prints_only_its_output)
{
    const char *const *forms[] = {(const char *const[]){"--help", NULL},
                                  (const char *const[]){"run", "--help", NULL},
                                  (const char *const[]){"eval", "-h", NULL},
                                  (const char *const[]){"serve", "--help", NULL}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        cli_output o = cli(forms[i]);
        cr_expect_eq(o.status, 0, "form %zu: exit %d, stderr %s", i, o.status, o.err);
        cr_expect(strncmp(o.out, "usage: jspool", 13) == 0, "form %zu printed %s", i, o.out);
    }
    static const char text[] = "export function f() { return 1 }\nconsole.log('ran');\n";
    char path[32];
    js_file(path, text, sizeof(text) - 1);
    cli_output o = cli((const char *const[]){"run", path, NULL});
    cr_expect_eq(o.status, 0, "stderr %s", o.err);
    cr_expect_str_eq(o.out, "ran\n", "a module without FUNCTION printed more than its output");
    unlink(path);
}

Test(cli, console_log_goes_to_stdout_and_warnings_to_stderr)
{
    static const char text[] = "console.log('one', 1); console.warn('careful'); console.info('two');\n"
                               "console.error('bad'); console.debug('three');\n"
                               "function result() { console.log('four'); return 5 }\n";
    char path[32];
    js_file(path, text, sizeof(text) - 1);
    cli_output o = cli((const char *const[]){"run", path, "result", NULL});
    cr_expect_eq(o.status, 0, "stderr %s", o.err);
    cr_expect_str_eq(o.out, "one 1\ntwo\nthree\nfour\n5\n");
    cr_expect_str_eq(o.err, "careful\nbad\n");
    unlink(path);
    o = cli((const char *const[]){"eval", "console.log('piped'); 2", NULL});
    cr_expect_str_eq(o.out, "piped\n2\n");
}

Test(cli, eval_takes_the_egress_options)
{
    /* nothing allowed by default; the refusal names the rule */
    cli_output o = cli((const char *const[]){"eval", "--apis", "fetch", "fetch('http://127.0.0.1:9/')", NULL});
    cr_expect_eq(o.status, 1);
    cr_expect(strstr(o.err, "egress_allow is empty"), "stderr: %s", o.err);
    /* allowed by the list, refused by the address: loopback needs its flag */
    o = cli((const char *const[]){"eval", "--apis", "fetch", "--egress-allow", "127.0.0.1:9",
                                  "fetch('http://127.0.0.1:9/')", NULL});
    cr_expect(strstr(o.err, "loopback address (egress_allow_loopback is off)"), "stderr: %s", o.err);
    /* with it, the connection is tried (and refused: nothing listens on port 9) */
    o = cli((const char *const[]){"eval", "--egress-allow-loopback", "--apis", "fetch", "--egress-allow",
                                  "127.0.0.1:9", "fetch('http://127.0.0.1:9/').catch((e) => e.message)", NULL});
    cr_expect_eq(o.status, 0, "stderr: %s", o.err);
    cr_expect(strstr(o.out, "Failed to fetch http://127.0.0.1:9/") && !strstr(o.out, "egress"), "stdout: %s", o.out);
    o = cli((const char *const[]){"eval", "--egress-allow", "ftp://x", "1", NULL});
    cr_expect_eq(o.status, 2);
    cr_expect(strstr(o.err, "--egress-allow: egress allow-list entry 'ftp://x'"), "stderr: %s", o.err);
}

Test(cli, stack_traces_name_the_file)
{
    static const struct {
        const char *text, *frame;
    } files[] = {
        {"var n = 1;\nfunction fail() {\n  throw new Error('boom ' + n)\n}\n", "fail@%s:3:"},
        {"export function fail() {\n  throw new Error('boom 1')\n}\n", "fail@%s:2:"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[32], frame[64];
        js_file(path, files[i].text, strlen(files[i].text));
        cli_output o = cli((const char *const[]){"run", path, "fail", NULL});
        snprintf(frame, sizeof(frame), files[i].frame, path);
        cr_expect_eq(o.status, 1);
        cr_expect(strstr(o.err, "Error: boom 1") && strstr(o.err, frame), "file %zu: stderr %s lacks %s", i, o.err, frame);
        unlink(path);
    }
}

static void *create_later(void *arg)
{
    *(response *)arg = request("POST", "/v1/contexts", "{\"name\":\"late\",\"source\":\"1\"}");
    return NULL;
}

static void *call_busy(void *arg)
{
    spin_call *c = arg;
    c->r = request("POST", "/v1/contexts/busy/eval",
                   "{\"source\":\"const end = Date.now() + 2000; while (Date.now() < end); 1\"}");
    return NULL;
}

/* Creating a context waits for its runtime; that wait once ran on the server's loop thread,
 * so a tenant's long call froze every client's requests (an attacker's review: /healthz
 * unanswered for 20 s). The creation waits off the loop now. */
Test(server, a_busy_runtime_does_not_freeze_the_server)
{
    serve_stop(&srv);
    const char *const args[] = {"--threads", "1", NULL};
    cr_assert(serve_start(&srv, args));
    expect(request("POST", "/v1/contexts", "{\"name\":\"busy\",\"source\":\"0\"}"), 201, NULL);
    spin_call c;
    pthread_create(&c.thread, NULL, call_busy, &c);
    usleep(300000); /* the only runtime is busy for ~2 s */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect(request("GET", "/healthz", NULL), 200, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double healthz_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    response created = {0};
    pthread_t creator;
    pthread_create(&creator, NULL, create_later, &created);
    usleep(100000); /* the creation now waits for the runtime ... */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect(request("GET", "/v1/contexts", NULL), 200, "\"total\""); /* ... and the loop serves */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double list_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    pthread_join(creator, NULL);
    pthread_join(c.thread, NULL);
    cr_expect_lt(healthz_ms, 500, "/healthz took %.0f ms while the runtime was busy", healthz_ms);
    cr_expect_lt(list_ms, 500, "a list took %.0f ms while a creation waited", list_ms);
    cr_expect_eq(created.status, 201, "the waiting creation: %ld %s", created.status, created.body);
    free(created.body);
    free(c.r.body);
}

/* ---- durable tables (issue 10): the data directory, "store": true, the tables routes ---- */

static bool file_exists(const char *dir, const char *file)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    struct stat st;
    return stat(path, &st) == 0;
}

Test(server, the_bank_keeps_its_balances_across_a_restart_in_the_same_data_dir)
{
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 100]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"bob\", 50]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/transfer", "[\"alice\", \"bob\", 30]"), 200,
           "{\"result\":{\"alice\":70,\"bob\":80}}");
    expect(request("GET", "/v1/contexts/bank", NULL), 200, "\"store\":{\"file\":\"bank.jspdb\"}");
    cr_expect(file_exists(data_dir, "bank.jspdb"));
    expect_clean_stop();
    static const char *const args[] = {EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, args), "did not start again on the same data directory");
    expect(request("POST", "/v1/contexts/bank/call/balance", "[\"alice\"]"), 200, "{\"result\":70}");
    expect(request("POST", "/v1/contexts/bank/call/audit", NULL), 200, "{\"result\":{\"accounts\":2,\"total\":150}}");
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 1]"), 422, "alice");
    /* weaker durability (acknowledged before the flush) still keeps what a clean stop flushed */
    expect_clean_stop();
    static const char *const process_args[] = {"--durability", "process", EXAMPLES_DIR "/bank.js", NULL};
    cr_assert(serve_start(&srv, process_args));
    expect(request("POST", "/v1/contexts/bank/call/transfer", "[\"bob\", \"alice\", 5]"), 200,
           "{\"result\":{\"bob\":75,\"alice\":75}}");
    expect_clean_stop();
    cr_assert(serve_start(&srv, args));
    expect(request("POST", "/v1/contexts/bank/call/balance", "[\"bob\"]"), 200, "{\"result\":75}");
}

static const char kv_module[] =
    "{\"name\":\"%s\",\"store\":true,\"module\":\"db.declare({kv: {columns: {k: 'string', v: 'json'},"
    " primaryKey: 'k'}}); export function put(k, v) { db.kv.upsert({k, v}); return db.kv.count() }\"}";

Test(server, store_true_contexts_find_their_tables_again_by_name_and_never_a_deployed_modules)
{
    char body[512];
    snprintf(body, sizeof(body), kv_module, "kv");
    expect(request("POST", "/v1/contexts", body), 201, "\"store\":{\"file\":\"contexts/kv.jspdb\"}");
    expect(request("POST", "/v1/contexts/kv/call/put", "[\"a\", {\"x\": 1}]"), 200, "{\"result\":1}");
    expect(request("DELETE", "/v1/contexts/kv", NULL), 204, NULL);
    expect(request("POST", "/v1/contexts", body), 201, NULL); /* rebuilt from its name */
    expect(request("POST", "/v1/contexts/kv/call/put", "[\"b\", 2]"), 200, "{\"result\":2}");
    cr_expect(file_exists(data_dir, "contexts/kv.jspdb"));
    cr_expect(!file_exists(data_dir, "kv.jspdb"));
    /* a client who deletes the deployed bank and takes its name gets a store of its own */
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 100]"), 200, NULL);
    expect(request("DELETE", "/v1/contexts/bank", NULL), 204, NULL);
    snprintf(body, sizeof(body), kv_module, "bank");
    expect(request("POST", "/v1/contexts", body), 201, "\"file\":\"contexts/bank.jspdb\"");
    expect(request("GET", "/v1/contexts/bank/tables", NULL), 200, "{\"tables\":{\"kv\":");
    /* what is refused, and contexts without a store */
    expect(request("POST", "/v1/contexts", "{\"store\":true,\"source\":\"1\"}"), 400, "store: true needs a name");
    expect(request("POST", "/v1/contexts", "{\"name\":\"s\",\"store\":\"yes\",\"source\":\"1\"}"), 400,
           "invalid_argument");
    expect(request("POST", "/v1/contexts", "{\"name\":\"../s\",\"store\":true,\"source\":\"1\"}"), 400,
           "invalid_argument");
    expect(request("POST", "/v1/contexts", "{\"name\":\"plain\",\"store\":false,\"source\":\"1\"}"), 201,
           "\"store\":null");
    expect(request("POST", "/v1/contexts", "{\"name\":\"nodb\",\"module\":\"db.declare({})\"}"), 422,
           "only when it has a store");
}

Test(server, tables_routes_page_the_rows_read_only_with_errors_in_the_api_shape)
{
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"carol\", 3]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 1]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"bob\", 2]"), 200, NULL);
    response tables = request("GET", "/v1/contexts/bank/tables", NULL);
    cr_expect_eq(tables.status, 200);
    cr_expect(strstr(tables.body, "\"accounts\":{\"columns\":{\"name\":{\"type\":\"string\""), "%s", tables.body);
    cr_expect(strstr(tables.body, "\"primaryKey\":\"name\"") && strstr(tables.body, "\"rows\":3"), "%s", tables.body);
    free(tables.body);
    expect(request("GET", "/v1/contexts/1/tables/accounts?limit=2", NULL), 200,
           "{\"rows\":[{\"name\":\"alice\",\"balance\":1},{\"name\":\"bob\",\"balance\":2}],\"next\":\"bob\"}");
    expect(request("GET", "/v1/contexts/bank/tables/accounts?after=%22bob%22&limit=2", NULL), 200,
           "{\"rows\":[{\"name\":\"carol\",\"balance\":3}],\"next\":null}");
    expect(request("GET", "/v1/contexts/bank/tables/accounts", NULL), 200,
           "{\"name\":\"carol\",\"balance\":3}],\"next\":null}" /* default limit: 100 */);
    /* read-only: the rows are the same after reading */
    expect(request("POST", "/v1/contexts/bank/call/audit", NULL), 200, "{\"result\":{\"accounts\":3,\"total\":6}}");
    static const char *const bad[] = {
        "accounts?limit=0", "accounts?limit=1001", "accounts?limit=x", "accounts?limit=",
        "accounts?after=5" /* a number for a string key */, "accounts?after=%zz", "accounts?after=%2",
        "accounts?after=%00", "accounts?after=not-json", NULL};
    for (const char *const *q = bad; *q; q++) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/contexts/bank/tables/%s", *q);
        expect(request("GET", path, NULL), 400, "\"code\":\"invalid_argument\"");
    }
    expect(request("GET", "/v1/contexts/bank/tables/nope", NULL), 404, "{\"error\":{\"code\":\"not_found\"");
    expect(request("POST", "/v1/contexts/bank/tables", NULL), 405, "method_not_allowed");
    expect(request("GET", "/v1/contexts/bank/tables/accounts/x", NULL), 404, "no such route");
    expect(request("POST", "/v1/contexts", "{\"name\":\"calc\",\"source\":\"1\"}"), 201, NULL);
    expect(request("GET", "/v1/contexts/calc/tables", NULL), 404, "no store");
    expect(request("GET", "/v1/contexts/calc/tables/accounts", NULL), 404, "no store");
    expect(request("GET", "/v1/contexts/nobody/tables", NULL), 404, "no such context");
    /* reads are not calls: the description counts the three opens and the audit */
    expect(request("GET", "/v1/contexts/bank", NULL), 200, "\"calls\":4,\"errors\":0,\"in_flight\":0");
}

Test(server, tables_routes_need_the_token)
{
    char path[] = "/tmp/jspool-token-XXXXXX";
    serve_with_token(path, NULL);
    expect(request("GET", "/v1/contexts/bank/tables", NULL), 401, "unauthorized");
    expect(request("GET", "/v1/contexts/bank/tables/accounts", NULL), 401, "unauthorized");
    expect(request_as("GET", "/v1/contexts/bank/tables/accounts", NULL, -1, "wrong"), 401, "unauthorized");
    expect(request_as("GET", "/v1/contexts/bank/tables/accounts", NULL, -1, "s3cret"), 200, "{\"rows\":[]");
    unlink(path);
}

Test(server, a_second_server_on_the_same_data_dir_or_an_unusable_one_fails_clearly)
{
    const char *const second[] = {"serve", "--listen", "127.0.0.1:0", "--data", data_dir,
                                  EXAMPLES_DIR "/bank.js", NULL};
    cli_output o = cli(second);
    cr_expect_eq(o.status, 3, "status %d, stderr %s", o.status, o.err);
    cr_expect(strstr(o.err, "in use by another jspool serve"), "stderr: %s", o.err);
    /* the first one is unharmed */
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 1]"), 200, NULL);
    /* a store held by another process (here `jspool run` on the server's file) */
    const char *const run[] = {"run", "--data", data_dir, EXAMPLES_DIR "/bank.js", "audit", NULL};
    o = cli(run);
    cr_expect_eq(o.status, 3, "status %d, stderr %s", o.status, o.err);
    cr_expect(strstr(o.err, "locked by another process") && strstr(o.err, "bank.jspdb"), "stderr: %s", o.err);
    const char *const missing_parent[] = {"serve", "--listen", "127.0.0.1:0", "--data",
                                          "/nonexistent-jspool/data", NULL};
    o = cli(missing_parent);
    cr_expect_eq(o.status, 3);
    cr_expect(strstr(o.err, "/nonexistent-jspool/data: cannot create the data directory"), "stderr: %s", o.err);
    char not_dir[] = "/tmp/jspool-notdir-XXXXXX";
    write_temp(not_dir, "x");
    const char *const file_as_dir[] = {"serve", "--listen", "127.0.0.1:0", "--data", not_dir, NULL};
    o = cli(file_as_dir);
    cr_expect_eq(o.status, 3);
    cr_expect(strstr(o.err, "not a directory"), "stderr: %s", o.err);
    unlink(not_dir);
}

Test(server, data_dir_store_durability_and_write_limits_are_config_keys)
{
    char dir[] = "/tmp/jspool-conf-data-XXXXXX", conf[] = "/tmp/jspool-conf-XXXXXX", text[256];
    cr_assert(mkdtemp(dir));
    snprintf(text, sizeof(text), "data_dir = %s/made\nstore_durability = process\n"
             "store_max_rows_per_call = 2\nstore_max_file_bytes = 262144\nmax_stores = 3\n", dir);
    char fixture_dir[sizeof(data_dir)];
    strcpy(fixture_dir, data_dir);
    data_dir[0] = '\0'; /* no --data flag, which would override the file */
    serve_with_config(conf, text);
    strcpy(data_dir, fixture_dir);
    unlink(conf);
    expect(request("POST", "/v1/contexts/bank/call/open", "[\"alice\", 1]"), 200, NULL);
    /* seed(first, count, balance) writes count rows: 3 are past the limit, all rolled back */
    expect(request("POST", "/v1/contexts/bank/call/seed", "[0, 3, 10]"), 413, "\"code\":\"write_limit\"");
    expect(request("POST", "/v1/contexts/bank/call/audit", NULL), 200, "{\"result\":{\"accounts\":1,\"total\":1}}");
    expect(request("POST", "/v1/contexts/bank/call/seed", "[0, 2, 10]"), 200, NULL);
    expect(request("POST", "/v1/contexts/bank/call/audit", NULL), 200, "{\"result\":{\"accounts\":3,\"total\":21}}");
    /* store_max_file_bytes: a store at its cap refuses growth (500 store_error), keeps working */
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"blobs\",\"store\":true,\"module\":\"db.declare({b: {columns: {k: 'integer', "
                   "s: 'string'}, primaryKey: 'k'}});\\nexport function add(k) { db.b.insert({k, s: 'x'.repeat(20000)}); "
                   "return k; }\\nexport function count() { return db.b.count(); }\"}"),
           201, NULL);
    int added = 0;
    for (; added < 40; added++) {
        char args[16];
        snprintf(args, sizeof(args), "[%d]", added);
        response r = request("POST", "/v1/contexts/blobs/call/add", args);
        int status = r.status;
        bool is_full = strstr(r.body ? r.body : "", "store_error") != NULL;
        free(r.body);
        if (status != 200) {
            cr_expect(status == 500 && is_full, "call %d: status %d", added, status);
            break;
        }
    }
    cr_expect_lt(added, 20, "a 256 KiB store took %d rows of 20 KB", added);
    char count[48];
    snprintf(count, sizeof(count), "{\"result\":%d}", added);
    expect(request("POST", "/v1/contexts/blobs/call/count", NULL), 200, count);
    /* max_stores = 3: bank, blobs and one more; a fourth waits for one to go */
    expect(request("POST", "/v1/contexts", "{\"name\":\"third\",\"store\":true}"), 201, NULL);
    expect(request("POST", "/v1/contexts", "{\"name\":\"fourth\",\"store\":true}"), 429,
           "\"code\":\"too_many_contexts\"");
    expect(request("POST", "/v1/contexts", "{\"name\":\"light\"}"), 201, NULL);
    expect(request("DELETE", "/v1/contexts/third", NULL), 204, NULL);
    expect(request("POST", "/v1/contexts", "{\"name\":\"fourth\",\"store\":true}"), 201, NULL);
    char made[64];
    snprintf(made, sizeof(made), "%s/made", dir);
    struct stat st;
    cr_expect(stat(made, &st) == 0 && (st.st_mode & 0777) == 0700, "mode %o", st.st_mode & 0777);
    cr_expect(file_exists(made, "bank.jspdb"));
    char bank[96];
    snprintf(bank, sizeof(bank), "%s/bank.jspdb", made);
    cr_expect(stat(bank, &st) == 0 && (st.st_mode & 077) == 0, "store file mode %o", st.st_mode & 0777);
    cr_expect_eq(serve_refuses_config("store_durability = fast\n"), 2);
    serve_stop(&srv);
    remove_tree(dir);
    cr_assert(serve_start(&srv, NULL)); /* for the fixture's teardown */
}

Test(cli, run_with_data_carries_the_module_tables_from_one_run_to_the_next)
{
    char dir[] = "/tmp/jspool-run-data-XXXXXX", data[64];
    cr_assert(mkdtemp(dir));
    snprintf(data, sizeof(data), "%s/d", dir); /* made by run */
    const char *const demo[] = {"run", "--data", data, EXAMPLES_DIR "/bank.js", "demo", NULL};
    cli_output first = cli(demo);
    cr_expect_eq(first.status, 0, "stderr %s", first.err);
    cr_expect_str_eq(first.out, "{\"alice\":195,\"bob\":105,\"audit\":{\"accounts\":2,\"total\":300}}\n");
    cli_output second = cli(demo);
    cr_expect_str_eq(second.out, "{\"alice\":190,\"bob\":110,\"audit\":{\"accounts\":2,\"total\":300}}\n",
                     "stderr %s", second.err);
    cr_expect(file_exists(data, "bank.jspdb"));
    /* --data with --apis, either order */
    const char *const both[] = {"run", "--data", data, "--apis", "none", EXAMPLES_DIR "/bank.js", "audit", NULL};
    cli_output audit = cli(both);
    cr_expect_str_eq(audit.out, "{\"accounts\":2,\"total\":300}\n", "stderr %s", audit.err);
    /* without a store, a module using db says how to give it one */
    const char *const bare[] = {"run", EXAMPLES_DIR "/bank.js", "demo", NULL};
    cli_output no_store = cli(bare);
    cr_expect_eq(no_store.status, 1);
    cr_expect(strstr(no_store.err, "ReferenceError") && strstr(no_store.err, "jspool run --data DIR"),
              "stderr %s", no_store.err);
    const char *const eval_data[] = {"eval", "--data", data, "1", NULL};
    cr_expect_eq(cli(eval_data).status, 2);
    remove_tree(dir);
}

/* ---- review/three: what one client can make the server hold ---- */

static void setup_calls(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* its own data directory: the default (./jspool-data) was left in the build tree, and
     * a second run in the same directory found it in use and did not start */
    strcpy(data_dir, "/tmp/jspool-data-XXXXXX");
    cr_assert(mkdtemp(data_dir));
    static const char *const args[] = {MODULES_DIR "/calls.js", NULL};
    cr_assert(serve_start(&srv, args), "the server did not start");
}

/* Its own suite: the bank example the `server` suite deploys needs a store. */
TestSuite(server_limits, .init = setup_calls, .fini = teardown, .timeout = 120);

static long server_rss_kb(void)
{
    char file[64], line[256];
    pid_t worker = worker_of(&srv);
    snprintf(file, sizeof(file), "/proc/%d/status", (int)(worker > 0 ? worker : srv.pid));
    FILE *f = fopen(file, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* wslay buffers a whole message before on_ws_message compares it with max_body_bytes (the
 * server never sets wslay's max_recv_msg_length, whose default is 2 GiB): a frame that
 * announces 1 GiB is read and kept as it streams in. One token holder with a few sockets
 * grows the server by gigabytes, under every tenant. The frame should be refused (close
 * 1009) as soon as its header says it is over max_body_bytes. */
Test(server_limits, ws_a_frame_over_max_body_bytes_is_refused_before_it_is_buffered)
{
    int fd = ws_connect("/v1/contexts/calls/ws");
    cr_assert(fd >= 0, "no WebSocket upgrade");
    long before = server_rss_kb();
    unsigned char head[14] = {0x81, 0x80 | 127};
    uint64_t announced = 1ull << 30;
    for (int i = 0; i < 8; i++)
        head[2 + i] = (unsigned char)(announced >> (56 - 8 * i));
    cr_assert(send(fd, head, sizeof(head), MSG_NOSIGNAL) == (ssize_t)sizeof(head)); /* mask 0 */
    struct timeval timeout = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    static char chunk[1 << 20];
    memset(chunk, ' ', sizeof(chunk));
    size_t sent = 0;
    for (int i = 0; i < 128; i++) { /* 128 MiB, or until the server stops taking it */
        ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    usleep(200000);
    long after = server_rss_kb();
    cr_log_info("sent %zu MiB of a 1 GiB frame: server RSS %ld -> %ld kB", sent >> 20, before, after);
    cr_expect_lt(after - before, 32 * 1024,
                 "the server holds %ld kB more after %zu MiB of one frame (max_body_bytes 1 MiB)", after - before,
                 sent >> 20);
    close(fd);
    expect(request("GET", "/healthz", NULL), 200, NULL);
}

/* Calls wait in their context's queue with their arguments (up to max_body_bytes each)
 * while it is busy; the only bounds are ws_max_calls_in_flight per socket (1024) and the
 * context's max_queued_jobs (10,000) — 10 GiB of arguments at the defaults, held by the
 * server for one token holder whose context spins for its CPU limit. Here 2,000 calls of
 * 256 KiB over two sockets: the server should refuse (busy) long before 512 MiB. */
Test(server_limits, ws_calls_queued_behind_a_busy_context_are_bounded_in_bytes)
{
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"busy\",\"module\":\"export function spin() { for (;;) {} }\\n"
                   "export function f(s) { return s.length; }\"}"),
           201, NULL);
    int fds[2];
    for (int i = 0; i < 2; i++) {
        fds[i] = ws_connect("/v1/contexts/busy/ws");
        cr_assert(fds[i] >= 0);
    }
    ws_send_text(fds[0], "{\"id\":0,\"call\":\"spin\"}");
    usleep(50000);
    long before = server_rss_kb();
    size_t arg_len = 256 << 10;
    char *frame = malloc(arg_len + 64);
    int head = snprintf(frame, 64, "{\"id\":1,\"call\":\"f\",\"args\":[\"");
    memset(frame + head, 'x', arg_len);
    strcpy(frame + head + arg_len, "\"]}");
    for (int n = 0; n < 2000; n++)
        ws_send_text(fds[n % 2], frame);
    free(frame);
    usleep(300000);
    long after = server_rss_kb();
    cr_log_info("2,000 calls of 256 KiB queued behind a spinning call: server RSS %ld -> %ld kB", before, after);
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine keeps freed memory resident: RSS proves nothing there */
    cr_expect_lt(after - before, 128 * 1024, "the server holds %ld kB more for one context's queued calls",
                 after - before);
#endif
    for (int i = 0; i < 2; i++)
        close(fds[i]);
    expect(request("DELETE", "/v1/contexts/busy", NULL), 204, NULL);
}

/* ws_max_queued_bytes (16 MiB) bounds one socket; nothing bounds the sockets of a context
 * or a token, nor their sum. 40 sockets that never read, each with two answers of 7 MB
 * waiting, make the server hold about 40 x 14 MB; a client can open as many as it likes. */
Test(server_limits, ws_unread_answers_are_bounded_across_sockets)
{
    long before = server_rss_kb();
    int fds[40];
    static const char call[] = "{\"id\":1,\"call\":\"big\",\"args\":[7000000]}";
    for (int i = 0; i < 40; i++) {
        int small = 4096;
        fds[i] = ws_connect("/v1/contexts/calls/ws");
        cr_assert(fds[i] >= 0);
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        ws_send_text(fds[i], call);
        ws_send_text(fds[i], call);
    }
    sleep(3);
    long after = server_rss_kb();
    cr_log_info("40 never-reading sockets with 2 answers of 7 MB each: server RSS %ld -> %ld kB", before, after);
#ifndef __SANITIZE_ADDRESS__
    cr_expect_lt(after - before, 256 * 1024, "the server holds %ld kB more for one client's unread answers",
                 after - before);
#endif
    for (int i = 0; i < 40; i++)
        close(fds[i]);
    expect(request("GET", "/healthz", NULL), 200, NULL);
}

/* ---- the dom routes (issue 14): the context's document queried by CSS selector ---- */

Test(server, dom_route_answers_find_all_text_and_html_by_selector)
{
    expect(request("POST", "/v1/contexts",
                   "{\"name\":\"page\",\"apis\":\"dom\",\"source\":\"document.body.innerHTML = "
                   "'<ul id=l><li class=a>one</li><li class=b data-x=1>two &amp; <b>2</b></li></ul>'\"}"),
           201, NULL);
    expect(request("GET", "/v1/contexts/page/dom?selector=li.b", NULL), 200,
           "{\"tag\":\"li\",\"attributes\":{\"class\":\"b\",\"data-x\":\"1\"},\"text\":\"two & 2\","
           "\"html\":\"<li class=\\\"b\\\" data-x=\\\"1\\\">two &amp; <b>2</b></li>\"}");
    expect(request("GET", "/v1/contexts/page/dom?selector=%23l%20%3E%20li&as=all", NULL), 200,
           "[{\"tag\":\"li\",\"attributes\":{\"class\":\"a\"},\"text\":\"one\"},{\"tag\":\"li\"");
    expect(request("GET", "/v1/contexts/page/dom?selector=li&as=all&limit=1", NULL), 200,
           "[{\"tag\":\"li\",\"attributes\":{\"class\":\"a\"},\"text\":\"one\"}]");
    expect(request("GET", "/v1/contexts/page/dom?selector=li.a+li&as=text", NULL), 200, "\"two & 2\"");
    expect(request("GET", "/v1/contexts/page/dom?selector=ul&as=html", NULL), 200, "\"<ul id=\\\"l\\\"><li");
    expect(request("GET", "/v1/contexts/page/dom?selector=table", NULL), 200, "null");
    /* the guest's own document changes are what the host sees */
    expect(request("POST", "/v1/contexts/page/eval", "{\"source\":\"document.querySelector('li.a').remove()\"}"), 200,
           NULL);
    expect(request("GET", "/v1/contexts/page/dom?selector=li&as=text", NULL), 200, "\"two & 2\"");
    static const char *const bad[] = {"?selector=li%5B", "?selector=%3Afoo", "?selector=a%2C", "?as=text",
                                      "?selector=li&as=xml", "?selector=li&as=all&limit=0",
                                      "?selector=li&as=all&limit=10001", "?selector=%zz", NULL};
    for (const char *const *q = bad; *q; q++) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/contexts/page/dom%s", *q);
        expect(request("GET", path, NULL), 400, "\"code\":\"invalid_argument\"");
    }
    expect(request("GET", "/v1/contexts/page/dom?selector=li%5B", NULL), 400, "not a valid selector");
    expect(request("POST", "/v1/contexts/page/dom?selector=li", NULL), 405, "method_not_allowed");
    expect(request("POST", "/v1/contexts", "{\"name\":\"plain\",\"source\":\"1\"}"), 201, NULL);
    expect(request("GET", "/v1/contexts/plain/dom?selector=li", NULL), 404, "no 'dom' API group");
    expect(request("GET", "/v1/contexts/nobody/dom?selector=li", NULL), 404, "no such context");
}
