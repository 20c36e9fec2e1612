/* test_websocket.c — the websocket and eventsource groups against a loopback server
 * started by each test (tests/apis/ws_server.py, Python's standard library on 127.0.0.1):
 * text and binary echo, events and on* handlers, close codes and their checks, a server
 * that drops the connection or breaks the protocol, handshake failures, every egress
 * refusal, the limits (message size, handshake timeout, sockets per context), sockets that
 * outlive their call and die with their context, wss: with a test CA; EventSource's
 * fields, reconnection with Last-Event-ID and retry, close(), failures. */
#include "support/support.h"

#include "runtime/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

SUITE_POOL(2)

static pid_t server_pid;
static int server_port;

static void setup(void)
{
    suite_pool_setup();
    char *argv[] = {"python3", WS_SERVER, NULL};
    server_pid = spawn_server(argv, &server_port);
}

static void teardown(void)
{
    suite_pool_teardown();
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
}

TestSuite(websocket, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(eventsource, .init = setup, .fini = teardown, .timeout = 60);

/* A context with the groups that may reach the test server; BASE = ws://127.0.0.1:port. */
static jsp_context *ws_context(jsp_context_config *cfg)
{
    char allow[64];
    snprintf(allow, sizeof(allow), "127.0.0.1:%d", server_port);
    jsp_context_config base = {.egress_allow_loopback = 1};
    if (!cfg)
        cfg = &base;
    if (!cfg->apis)
        cfg->apis = "websocket,eventsource";
    if (!cfg->egress_allow)
        cfg->egress_allow = allow;
    if (!cfg->egress_timeout_ms) /* a stalled handshake says so before the call's wall limit */
        cfg->egress_timeout_ms = 10000;
    jsp_context *ctx = context_with(pool, cfg);
    char source[160];
    snprintf(source, sizeof(source),
             "globalThis.BASE = 'ws://127.0.0.1:%d'; globalThis.HTTP = 'http://127.0.0.1:%d'", server_port,
             server_port);
    free(eval_ok(ctx, source));
    return ctx;
}

/* A helper in the context: run(url, opened(ws, log), protocols, closeAfter) → the events'
 * log once closed; after closeAfter messages it calls ws.close(). */
static const char *const RUN =
    "globalThis.run = (url, opened, protocols, closeAfter = -1) => new Promise((resolve) => {"
    "  const log = []; let n = 0; const ws = new WebSocket(url, protocols);"
    "  ws.onopen = () => { log.push('open'); opened && opened(ws, log); };"
    "  ws.onmessage = (e) => { log.push(typeof e.data === 'string' ? e.data : e.data instanceof Blob ? 'blob:' + e.data.size"
    "    : 'ab:' + [...new Uint8Array(e.data)].join('.')); if (++n === closeAfter) ws.close(); };"
    "  ws.onerror = (e) => log.push('error');"
    "  ws.onclose = (e) => { log.push('close:' + e.code + ':' + e.wasClean + ':' + e.reason, ws.readyState); resolve(log); };"
    "}); 1";

Test(websocket, text_and_binary_echo)
{
    jsp_context *ctx = ws_context(NULL);
    free(eval_ok(ctx, RUN));
    expect_eval(ctx,
                "run(BASE + '/echo', (ws, log) => { log.push(ws.readyState, ws.protocol, ws.extensions, ws.binaryType,"
                " ws.url === BASE + '/echo', typeof ws.bufferedAmount); ws.send('h\\u00e9llo \\u2603');"
                " ws.send(new Uint8Array([1, 2, 3])); ws.send(new Blob(['ab'])); ws.binaryType = 'nope';"
                " ws.binaryType = 'arraybuffer'; ws.send(new Uint16Array([258, 772]).subarray(1)); ws.send('');"
                " ws.send(new ArrayBuffer(0)); }, undefined, 6)",
                "[\"open\",1,\"\",\"\",\"blob\",true,\"number\",\"h\u00e9llo \u2603\",\"ab:1.2.3\",\"ab:97.98\",\"ab:4.3\",\"\",\"ab:\","
                "\"close:1005:true:\",3]");
    /* binaryType is read when a message arrives: the default gives Blobs */
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send(new Uint8Array([1, 2, 3])), undefined, 1)",
                "[\"open\",\"blob:3\",\"close:1005:true:\",3]");
    /* a big message both ways, and the constants */
    expect_eval(ctx,
                "new Promise((resolve) => { const ws = new WebSocket(BASE + '/echo'); const big = 'x'.repeat(300000);"
                " ws.onopen = () => { ws.send(big); }; ws.onmessage = (e) => { resolve([e.data === big, ws.bufferedAmount,"
                " WebSocket.OPEN, ws.CLOSING, WebSocket.CLOSED]); ws.close(1000, 'done'); }; })",
                "[true,0,1,2,3]");
    jsp_context_free(ctx);
}

Test(websocket, close_codes_reasons_and_their_checks)
{
    jsp_context *ctx = ws_context(NULL);
    free(eval_ok(ctx, RUN));
    expect_eval(ctx, "run(BASE + '/echo', (ws) => { ws.close(3001, 'bye \\u2603'); ws.close(); ws.send('dropped');"
                     " globalThis.after = [ws.readyState, ws.bufferedAmount >= 7]; })",
                "[\"open\",\"close:3001:true:bye \u2603\",3]");
    expect_eval(ctx, "after", "[2,true]");
    /* the server closes */
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('close:4000:server says'))",
                "[\"open\",\"close:4000:true:server says\",3]");
    /* the standard's checks */
    expect_eval(ctx,
                "(() => { const out = []; const ws = new WebSocket(BASE + '/echo');"
                " for (const args of [[999], [1001], [5000], [2999], [1000, 'x'.repeat(124)], [1000, '\\u2603'.repeat(42)]])"
                "   try { ws.close(...args); out.push('ok'); } catch (e) { out.push(e.name); }"
                " try { ws.send('x'); } catch (e) { out.push(e.name); }"
                " ws.close(1000, 'x'.repeat(123)); out.push(ws.readyState); return out; })()",
                "[\"InvalidAccessError\",\"InvalidAccessError\",\"InvalidAccessError\",\"InvalidAccessError\","
                "\"SyntaxError\",\"SyntaxError\",\"InvalidStateError\",2]");
    /* the URL and subprotocol checks */
    expect_eval(ctx,
                "[BASE + '/x#frag', 'ftp://127.0.0.1/', 'not a url', [BASE, ['a', 'A']], [BASE, ['a b']]].map((a) => {"
                " try { const ws = Array.isArray(a) ? new WebSocket(...a) : new WebSocket(a); ws.close(); return ws.url; }"
                " catch (e) { return e.name; } })",
                "[\"SyntaxError\",\"SyntaxError\",\"SyntaxError\",\"SyntaxError\",\"SyntaxError\"]");
    expect_eval(ctx, "(() => { const ws = new WebSocket(HTTP + '/echo'); ws.close(); return ws.url.startsWith('ws://'); })()",
                "true");
    jsp_context_free(ctx);
}

Test(websocket, a_server_that_drops_or_breaks_the_protocol)
{
    jsp_context *ctx = ws_context(NULL);
    free(eval_ok(ctx, RUN));
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('drop'))",
                "[\"open\",\"error\",\"close:1006:false:the server closed the connection without a close frame\",3]");
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('masked'))",
                "[\"open\",\"error\",\"close:1006:false:the server broke the WebSocket protocol\",3]");
    expect_eval(ctx, "run(BASE + '/bad-accept')",
                "[\"error\",\"close:1006:false:the server's Sec-WebSocket-Accept does not match the key sent\",3]");
    expect_eval(ctx, "run(BASE + '/extension')",
                "[\"error\",\"close:1006:false:the server chose an extension, but none was offered\",3]");
    expect_eval(ctx, "run(BASE + '/nowhere')",
                "[\"error\",\"close:1006:false:the server answered 'HTTP/1.1 404 Not Found' instead of 101 Switching "
                "Protocols\",3]");
    /* subprotocols: the server picks the last one offered */
    expect_eval(ctx, "run(BASE + '/protocol', (ws, log) => { log.push(ws.protocol); ws.close(); }, ['chat', 'superchat'])",
                "[\"open\",\"superchat\",\"close:1005:true:\",3]");
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('headers'), 'v1', 1).then((log) => {"
                     " const h = JSON.parse(log[1]); return [h['sec-websocket-version'], h['sec-websocket-protocol'],"
                     " h['user-agent'], h.host === BASE.slice(5), h['sec-websocket-key'].length]; })",
                "[\"13\",\"v1\",\"jspool-websocket\",true,24]");
    jsp_context_free(ctx);
}

Test(websocket, egress_refusals_and_limits)
{
    char allow[64];
    snprintf(allow, sizeof(allow), "127.0.0.1:%d", server_port);
    /* loopback not allowed */
    jsp_context *strict = ws_context(&(jsp_context_config){.egress_allow = allow});
    free(eval_ok(strict, RUN));
    char *got = eval_ok(strict, "run(BASE + '/echo')");
    cr_expect(strstr(got, "\"error\",\"close:1006:false:") && strstr(got, "loopback"), "%s", got);
    free(got);
    cr_expect(collector_has(&logs, "WebSocket ws://127.0.0.1:"));
    /* not on the list, and a name that resolves to loopback */
    jsp_context *ctx = ws_context(NULL);
    free(eval_ok(ctx, RUN));
    got = eval_ok(ctx, "run('ws://127.0.0.1:1/echo')");
    cr_expect(strstr(got, "close:1006:false:") && strstr(got, "allow"), "%s", got);
    free(got);
    jsp_context *by_name = ws_context(&(jsp_context_config){.egress_allow = "localhost"});
    free(eval_ok(by_name, RUN));
    char source[128];
    snprintf(source, sizeof(source), "run('ws://localhost:%d/echo')", server_port);
    got = eval_ok(by_name, source);
    cr_expect(strstr(got, "close:1006:false:") && strstr(got, "loopback"), "%s", got);
    free(got);
    /* a message past egress_max_response_bytes */
    jsp_context *small = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .egress_max_response_bytes = 1000});
    free(eval_ok(small, RUN));
    expect_eval(small, "run(BASE + '/echo', (ws) => { ws.send('big:900'); ws.send('big:5000'); })",
                "[\"open\",\"blob:900\",\"error\",\"close:1006:false:a message was larger than this context's "
                "egress_max_response_bytes (1000 bytes)\",3]");
    /* sockets count against egress_max_requests */
    jsp_context *one = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .egress_max_requests = 1});
    free(eval_ok(one, RUN));
    expect_eval(one, "new Promise((resolve) => { const a = new WebSocket(BASE + '/echo'); a.onopen = () =>"
                     " run(BASE + '/echo').then((log) => { a.onclose = () => resolve(log); a.close(); }); })",
                "[\"error\",\"close:1006:false:this context already has 1 requests and sockets open, its "
                "egress_max_requests\",3]");
    expect_eval(one, "run(BASE + '/echo', (ws) => ws.close())", "[\"open\",\"close:1005:true:\",3]");
    jsp_context_free(strict);
    jsp_context_free(ctx);
    jsp_context_free(by_name);
    jsp_context_free(small);
    jsp_context_free(one);
}

/* A resolver that a test holds: names under .stuck.test wait until released, then all
 * names here answer 127.0.0.1 (the sandbox has no DNS of its own to be slow). */
static pthread_mutex_t stuck_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stuck_cond = PTHREAD_COND_INITIALIZER;
static bool stuck_released;
static int stuck_waiting, stuck_most;

static int held_getaddrinfo(const char *host, const char *port, const struct addrinfo *hints, struct addrinfo **res)
{
    size_t n = strlen(host);
    if (n > 11 && strcmp(host + n - 11, ".stuck.test") == 0) {
        pthread_mutex_lock(&stuck_lock);
        if (++stuck_waiting > stuck_most)
            stuck_most = stuck_waiting;
        while (!stuck_released)
            pthread_cond_wait(&stuck_cond, &stuck_lock);
        stuck_waiting--;
        pthread_mutex_unlock(&stuck_lock);
    }
    return getaddrinfo("127.0.0.1", port, hints, res);
}

static void release_stuck(bool released)
{
    pthread_mutex_lock(&stuck_lock);
    stuck_released = released;
    pthread_cond_broadcast(&stuck_cond);
    pthread_mutex_unlock(&stuck_lock);
}

/* Waits up to ms for n lookups to be stuck; how many are. */
static int stuck_wait(int n, int ms)
{
    int now = 0;
    for (int i = 0; i < ms / 10; i++) {
        pthread_mutex_lock(&stuck_lock);
        now = stuck_waiting;
        pthread_mutex_unlock(&stuck_lock);
        if (now >= n)
            break;
        sleep_ms(10);
    }
    return now;
}

static void on_pool_work(uv_work_t *w) { (void)w; }
static void on_pool_work_done(uv_work_t *w, int status) { (void)status; ++*(int *)w->data; }

/* How long 4 works queued at once on libuv's thread pool (what the server's context
 * creation uses) take to finish, in ms; -1 past 3 s. */
static int thread_pool_ms(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_work_t works[4];
    int done = 0;
    for (int i = 0; i < 4; i++) {
        works[i].data = &done;
        uv_queue_work(&loop, &works[i], on_pool_work, on_pool_work_done);
    }
    uint64_t start = uv_hrtime();
    while (done < 4 && uv_hrtime() - start < 3000000000ull) {
        uv_run(&loop, UV_RUN_NOWAIT);
        sleep_ms(5);
    }
    int ms = done == 4 ? (int)((uv_hrtime() - start) / 1000000) : -1;
    while (done < 4) /* the loop must end with its works */
        uv_run(&loop, UV_RUN_ONCE);
    uv_loop_close(&loop);
    return ms;
}

/* Attacker review: a socket's name lookup ran on libuv's 4-thread pool, so a tenant whose
 * allowed names resolve slowly (4 sockets) held every thread for the resolver's timeout,
 * and the server's context creations (uv_queue_work) and other tenants' lookups waited.
 * Now lookups run on threads of their own, at most 2 per context in flight (the others
 * wait their turn, bounded by egress_timeout_ms; one let go of counts until it returns),
 * and a destroy does not wait for one. */
Test(websocket, slow_name_lookups_of_one_tenant_hold_neither_the_thread_pool_nor_other_tenants)
{
    release_stuck(false);
    resolver_set_getaddrinfo_for_test(held_getaddrinfo);
    char allow[64];
    snprintf(allow, sizeof(allow), "*.stuck.test:%d,fast.test:%d", server_port, server_port);
    jsp_context *slow = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1});
    char source[400];
    snprintf(source, sizeof(source),
             "globalThis.opened = 0; globalThis.order = []; for (let i = 0; i < 16; i++) {"
             " const ws = new WebSocket('ws://s' + i + '.stuck.test:%d/echo');"
             " ws.onopen = () => { opened++; order.push(i); ws.close(); }; } 1", server_port);
    free(eval_ok(slow, source));
    cr_assert(eval_until(slow, "1", "1", 100));
    cr_expect_eq(stuck_wait(2, 2000), 2);
    cr_expect_eq(stuck_wait(3, 200), 2);
    cr_expect_eq(resolver_in_flight(), 2, "one context's lookups in flight: %d", resolver_in_flight());
    /* libuv's thread pool is free for everything else */
    int ms = thread_pool_ms();
    cr_expect(ms >= 0 && ms < 1000, "4 works on libuv's thread pool took %d ms with 16 lookups stuck", ms);
    /* another tenant's lookup and socket do not wait */
    jsp_context *other = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1});
    free(eval_ok(other, RUN));
    snprintf(source, sizeof(source), "run('ws://fast.test:%d/echo', (ws) => ws.send('hi'), undefined, 1)",
             server_port);
    expect_eval(other, source, "[\"open\",\"hi\",\"close:1005:true:\",3]");
    /* a context destroyed mid-lookup does not wait for it */
    jsp_context *gone = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1});
    snprintf(source, sizeof(source), "for (let i = 0; i < 4; i++) new WebSocket('ws://g' + i + '.stuck.test:%d/');"
             " 1", server_port);
    free(eval_ok(gone, source));
    cr_expect_eq(stuck_wait(4, 2000), 4);
    cr_expect_eq(resolver_in_flight(), 4);
    uint64_t start = uv_hrtime();
    jsp_context_free(gone);
    cr_expect(uv_hrtime() - start < 500000000ull, "a destroy waited for a lookup");
    /* opening and closing sockets to slow names piles up no threads: a lookup let go of
     * counts against its context until it returns, and the next socket waits for it */
    jsp_context *churn = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1});
    snprintf(source, sizeof(source),
             "for (let i = 0; i < 10; i++) new WebSocket('ws://c' + i + '.stuck.test:%d/').close();"
             " globalThis.late = new WebSocket('ws://fast.test:%d/echo'); globalThis.lateLog = [];"
             " late.onopen = () => { lateLog.push('open'); late.close(); }; 1", server_port, server_port);
    free(eval_ok(churn, source));
    cr_expect_eq(stuck_wait(7, 500), 6, "stuck: slow's 2, gone's 2, churn's 2");
    expect_eval(churn, "[late.readyState, lateLog]", "[0,[]]");
    /* released: every socket that waited for its turn opens */
    release_stuck(true);
    cr_expect(eval_until(slow, "opened", "16", 10000));
    cr_expect(eval_until(churn, "lateLog", "[\"open\"]", 10000));
    expect_eval(slow, "order.sort((a, b) => a - b).join()", "\"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\"");
    pthread_mutex_lock(&stuck_lock);
    cr_expect_eq(stuck_most, 6, "lookups stuck at once: %d (2 of each of 3 contexts)", stuck_most);
    pthread_mutex_unlock(&stuck_lock);
    for (int i = 0; i < 200 && resolver_in_flight() > 0; i++)
        sleep_ms(10);
    cr_expect_eq(resolver_in_flight(), 0);
    resolver_set_getaddrinfo_for_test(NULL);
    jsp_context_free(slow);
    jsp_context_free(other);
    jsp_context_free(churn);
}

/* Attacker review: a message is buffered whole (by wslay, which allocates each frame's
 * declared length at its start) before its JS sees a byte, and that was bounded per socket
 * only (egress_max_response_bytes, 64 MiB): a context limited to 32 MiB could have its
 * own server make the host hold 16 x 64 MiB. Now the context's sockets together hold at
 * most its egress_max_response_bytes, and no more than an isolated context's memory
 * limit; a socket whose frame would pass it fails saying so, and the others go on
 * (16 x 10 MB: peak RSS +186 MB before, ~+105 MB now, most of it the delivered copies). */
Test(websocket, messages_being_received_are_bounded_per_context_not_per_socket)
{
    jsp_context *ctx = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .memory_limit_bytes = 32u << 20});
    free(eval_ok(ctx, RUN));
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    /* 10 MB each: one fits the 32 MiB limit, sixteen at once do not */
    char *got = eval_ok(ctx, "Promise.all(Array.from({length: 16}, () =>"
                             " run(BASE + '/echo', (ws) => ws.send('big:10000000'),"
                             " undefined, 1))).then((logs) => logs.map((log) => log[log.length - 2]))");
    getrusage(RUSAGE_SELF, &after);
    cr_expect(strstr(got, "close:1006:false:messages being received by this context's sockets would hold more than "
                          "33554432 bytes"), "%s", got);
    cr_expect(strstr(got, "close:1005:true:"), "no message arrived whole: %s", got);
    free(got);
#ifndef __SANITIZE_ADDRESS__ /* its quarantine keeps freed copies */
    long grown_mb = (after.ru_maxrss - before.ru_maxrss) / 1024;
    cr_expect(grown_mb < 150, "16 sockets receiving 10 MB each grew the process %ld MB", grown_mb);
#endif
    /* the context goes on: small messages still arrive */
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('small'), undefined, 1)",
                "[\"open\",\"small\",\"close:1005:true:\",3]");
    jsp_context_free(ctx);
}

/* Found on the way: a binary message whose Blob copy did not fit an isolated context's
 * memory limit vanished — no message, no error, no close — and the socket stayed OPEN for
 * its JS forever; a message over what was left of the limit did the same. Now the socket
 * fails with a close event saying why. */
Test(websocket, a_message_past_the_memory_limit_closes_the_socket_saying_so)
{
    jsp_context *ctx = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .memory_limit_bytes = 32u << 20,
                                                        .wall_limit_ms = 10000});
    free(eval_ok(ctx, RUN));
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('big:30000000'), undefined, 1)",
                "[\"open\",\"error\",\"close:1006:false:a message of 30000000 bytes does not fit in this context's "
                "memory limit\",3]");
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('small'), undefined, 1)",
                "[\"open\",\"small\",\"close:1005:true:\",3]");
    jsp_context_free(ctx);
}

/* The process's lookups in flight are capped (RESOLVER_MAX_THREADS, 64): 32 contexts
 * holding 2 slow lookups each reach it, and the next socket fails saying so. */
Test(websocket, name_lookups_past_the_process_cap_fail_saying_so)
{
    release_stuck(false);
    pthread_mutex_lock(&stuck_lock);
    stuck_most = 0;
    pthread_mutex_unlock(&stuck_lock);
    resolver_set_getaddrinfo_for_test(held_getaddrinfo);
    char allow[64], source[300];
    snprintf(allow, sizeof(allow), "*.stuck.test:%d", server_port);
    jsp_context *holders[32];
    for (int i = 0; i < 32; i++) {
        holders[i] = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1});
        snprintf(source, sizeof(source), "new WebSocket('ws://a.stuck.test:%d/'); new WebSocket('ws://b.stuck.test:%d/');"
                 " 1", server_port, server_port);
        free(eval_ok(holders[i], source));
    }
    cr_expect_eq(stuck_wait(64, 5000), 64);
    jsp_context *late = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1});
    free(eval_ok(late, RUN));
    snprintf(source, sizeof(source), "run('ws://c.stuck.test:%d/echo')", server_port);
    expect_eval(late, source, "[\"error\",\"close:1006:false:could not resolve 'c.stuck.test': the process already has "
                              "64 name lookups in flight (all contexts together); try again later\",3]");
    release_stuck(true);
    for (int i = 0; i < 32; i++)
        jsp_context_free(holders[i]);
    jsp_context_free(late);
    for (int i = 0; i < 300 && resolver_in_flight() > 0; i++)
        sleep_ms(10);
    cr_expect_eq(resolver_in_flight(), 0);
    resolver_set_getaddrinfo_for_test(NULL);
}

/* Attacker review: a handler stopped by a limit left its socket OPEN for its JS, deaf
 * (only a log line said so). Now the socket fails as a browser fails one: close 1011 to
 * the server, then error and close events whose reason names the limit, readyState
 * CLOSED; the context goes on. */
static const char *const SPIN =
    "globalThis.log = []; globalThis.ws = new WebSocket(BASE + '/echo');"
    " ws.onopen = () => { log.push('open'); %s };"
    " ws.onmessage = (e) => { log.push('message'); %s };"
    " ws.onerror = () => log.push('error');"
    " ws.onclose = (e) => log.push('close:' + e.code + ':' + e.wasClean + ':' + e.reason, ws.readyState); 1";

static void expect_failed_by_limit(jsp_context *ctx, const char *open_js, const char *message_js, const char *log_json)
{
    char source[600];
    snprintf(source, sizeof(source), SPIN, open_js, message_js);
    free(eval_ok(ctx, source));
    cr_expect(eval_until(ctx, "log", log_json, 10000), "log: %s", log_json);
    expect_eval(ctx, "[ws.readyState, 6 * 7]", "[3,42]");
}

Test(websocket, a_handler_stopped_by_a_limit_fails_its_socket_saying_so)
{
    jsp_context *ctx = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .cpu_limit_ms = 100,
                                                        .apis = "websocket,fetch"});
    expect_failed_by_limit(ctx, "ws.send('a'); ws.send('b');", "for (;;) {}",
                           "[\"open\",\"message\",\"error\",\"close:1006:false:its message event handler was stopped "
                           "by this context's CPU limit\",3]");
    expect_failed_by_limit(ctx, "for (;;) {}", "",
                           "[\"open\",\"error\",\"close:1006:false:its open event handler was stopped by this "
                           "context's CPU limit\",3]");
    /* the server heard 1011 from the first socket (the second had sent nothing: its close
     * frame races the server's read of the open) */
    char *closes = eval_ok(ctx, "fetch(HTTP + '/sse/closes').then((r) => r.text())");
    cr_expect(strncmp(closes, "\"[1011", 6) == 0, "%s", closes);
    free(closes);
    /* the context still opens sockets: the failed ones gave their slots back */
    free(eval_ok(ctx, RUN));
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.send('x'), undefined, 1)", "[\"open\",\"x\",\"close:1005:true:\",3]");
    jsp_context_free(ctx);
    /* an isolated context's handler past its memory limit */
    jsp_context *isolated = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .memory_limit_bytes = 32u << 20});
    expect_failed_by_limit(isolated, "ws.send('a');",
                           "const hoard = []; for (;;) hoard.push(new Array(10000).fill(0));",
                           "[\"open\",\"message\",\"error\",\"close:1006:false:its message event handler was stopped "
                           "by this context's memory limit\",3]");
    jsp_context_free(isolated);
}

Test(websocket, the_handshake_is_bounded_by_egress_timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0); /* accepts connections (backlog), never answers */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    jsp_context *ctx = ws_context(&(jsp_context_config){.egress_allow = "127.0.0.1", .egress_allow_loopback = 1,
                                                        .egress_timeout_ms = 300});
    free(eval_ok(ctx, RUN));
    char source[128];
    snprintf(source, sizeof(source), "run('ws://127.0.0.1:%d/')", ntohs(sa.sin_port));
    expect_eval(ctx, source, "[\"error\",\"close:1006:false:no connection within this context's egress_timeout_ms (300 ms)\",3]");
    close(fd);
    jsp_context_free(ctx);
}

Test(websocket, sockets_outlive_their_call_and_die_with_their_context)
{
    jsp_context *ctx = ws_context(NULL);
    free(eval_ok(ctx, "globalThis.got = []; globalThis.ws = new WebSocket(BASE + '/echo');"
                      " ws.onopen = () => ws.send('later'); ws.onmessage = (e) => got.push(e.data); 1"));
    cr_assert(eval_until(ctx, "got", "[\"later\"]", 5000));
    free(eval_ok(ctx, "ws.send('again'); 1"));
    cr_assert(eval_until(ctx, "got", "[\"later\",\"again\"]", 5000));
    /* destroyed with sockets open (and one still connecting): no events, nothing leaks */
    free(eval_ok(ctx, "globalThis.more = [new WebSocket(BASE + '/mute'), new WebSocket(BASE + '/echo')]; 1"));
    jsp_context_destroy(ctx);
    jsp_context_free(ctx);
    jsp_context *other = ws_context(NULL);
    free(eval_ok(other, RUN));
    expect_eval(other, "run(BASE + '/echo', (ws) => ws.send('x'), undefined, 1)", "[\"open\",\"x\",\"close:1005:true:\",3]");
    jsp_context_free(other);
}

Test(websocket, a_vm_recycle_closes_the_sockets_of_the_contexts_it_rebuilds)
{
    jsp_pool *small = recycling_pool(&logs);
    char allow[64], base[96];
    snprintf(allow, sizeof(allow), "127.0.0.1:%d", server_port);
    snprintf(base, sizeof(base), "globalThis.BASE = 'ws://127.0.0.1:%d'", server_port);
    jsp_context *ctx = context_with(small, &(jsp_context_config){.apis = "websocket", .egress_allow = allow,
                                                                 .egress_allow_loopback = 1, .egress_max_requests = 1});
    jsp_context *other = context_with(small, NULL);
    free(eval_ok(ctx, base));
    free(eval_ok(ctx, "globalThis.ws = new WebSocket(BASE + '/echo'); globalThis.opened = false;"
                      " ws.onopen = () => opened = true; 1"));
    cr_assert(eval_until(ctx, "opened", "true", 5000));
    force_recycle(ctx, other);
    free(eval_ok(ctx, base)); /* an ad-hoc global: gone with the old VM */
    free(eval_ok(ctx, RUN));
    /* its request slot is free again: the old socket is gone */
    expect_eval(ctx, "run(BASE + '/echo', (ws) => ws.close())", "[\"open\",\"close:1005:true:\",3]");
    jsp_context_free(ctx);
    jsp_context_free(other);
    jsp_pool_free(small);
}

Test(websocket, wss_with_a_test_ca)
{
    test_cert tc;
    if (!test_cert_make(&tc))
        cr_skip_test("openssl is not installed: wss: untested");
    char *key = tc.key, *cert = tc.cert;
    int port = 0;
    char *argv[] = {"python3", WS_SERVER, "--tls", key, cert, NULL};
    pid_t pid = spawn_server(argv, &port);
    char allow[64], source[200];
    snprintf(allow, sizeof(allow), "https://127.0.0.1:%d", port);
    jsp_context *ctx = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1,
                                                        .egress_ca_file = cert});
    free(eval_ok(ctx, RUN));
    snprintf(source, sizeof(source), "run('wss://127.0.0.1:%d/echo', (ws) => { ws.send('secret'); ws.send('x'.repeat(70000)); },"
             " undefined, 2).then((l) => [l[1], l[2].length, l[3]])", port);
    expect_eval(ctx, source, "[\"secret\",70000,\"close:1005:true:\"]");
    jsp_context *strict = ws_context(&(jsp_context_config){.egress_allow = allow, .egress_allow_loopback = 1});
    free(eval_ok(strict, RUN));
    snprintf(source, sizeof(source), "run('wss://127.0.0.1:%d/echo')", port);
    char *got = eval_ok(strict, source);
    cr_expect(strstr(got, "\"error\",\"close:1006:false:TLS: the server's certificate was refused"), "%s", got);
    free(got);
    jsp_context_free(ctx);
    jsp_context_free(strict);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    test_cert_remove(&tc);
}

/* ---- EventSource ---- */

Test(eventsource, fields_multi_line_data_comments_and_line_ends)
{
    jsp_context *ctx = ws_context(NULL);
    expect_eval(ctx,
                "new Promise((resolve) => { const log = []; const es = new EventSource(HTTP + '/sse/basic');"
                " log.push(es.readyState, es.withCredentials, es.url === HTTP + '/sse/basic');"
                " es.onopen = () => log.push('open', es.readyState);"
                " es.onmessage = (e) => log.push(e.data + '|' + e.lastEventId + '|' + (e.origin === HTTP));"
                " es.addEventListener('custom', (e) => log.push('custom:' + e.data));"
                " es.onerror = () => { log.push('error', es.readyState); es.close(); log.push(es.readyState); resolve(log); }; })",
                "[0,false,true,\"open\",1,\"one||true\",\"custom:two\\n three\",\"crlf||true\",\"cr||true\","
                "\"no-space|7|true\",\"|7|true\",\"last|7|true\",\"error\",0,2]");
    jsp_context_free(ctx);
}

Test(eventsource, reconnects_after_retry_with_last_event_id)
{
    /* egress_timeout_ms bounds the connection, not the stream (held open below) */
    jsp_context *ctx = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .egress_timeout_ms = 300});
    jsp_context *counter = ws_context(NULL); /* asks the server how many requests it had */
    /* opened by a call that ends at once: the stream outlives it */
    free(eval_ok(ctx, "globalThis.log = []; globalThis.es = new EventSource(HTTP + '/sse/reconnect');"
                      " es.onmessage = (e) => log.push(e.data + '|' + e.lastEventId);"
                      " es.onerror = () => log.push('error:' + es.readyState); 1"));
    cr_assert(eval_until(ctx, "log", "[\"a|1\",\"b|2\",\"error:0\",\"last=2|2\"]", 5000));
    sleep_ms(700);
    expect_eval(ctx, "[es.readyState, log.length]", "[1,4]");
    free(eval_ok(ctx, "es.close(); 1"));
    expect_eval(counter, "fetch(HTTP + '/sse/count').then((r) => r.text())", "\"2\"");
    /* close() between attempts stops them */
    free(eval_ok(ctx, "globalThis.second = new EventSource(HTTP + '/sse/reconnect');"
                      " second.onerror = () => second.close(); 1"));
    cr_assert(eval_until(ctx, "second.readyState", "2", 5000));
    sleep_ms(400); /* its retry (100 ms) would have fired by now */
    expect_eval(counter, "fetch(HTTP + '/sse/count').then((r) => r.text())", "\"3\"");
    jsp_context_free(ctx);
    jsp_context_free(counter);
}

Test(eventsource, failures_do_not_reconnect)
{
    jsp_context *ctx = ws_context(NULL);
    const char *wait_error = "new Promise((resolve) => { const es = new EventSource(%s); const log = [];"
                             " es.onopen = () => log.push('open'); es.onerror = () => { log.push('error', es.readyState);"
                             " setTimeout(() => resolve(log.concat(es.readyState)), 300); }; })";
    char source[512];
    snprintf(source, sizeof(source), wait_error, "HTTP + '/sse/status'");
    expect_eval(ctx, source, "[\"error\",2,2]");
    snprintf(source, sizeof(source), wait_error, "'http://127.0.0.1:1/'"); /* not on the allow-list */
    expect_eval(ctx, source, "[\"error\",2,2]");
    expect_eval(ctx, "(() => { try { new EventSource('http://[bad'); } catch (e) { return e.name; } })()", "\"SyntaxError\"");
    jsp_context_free(ctx);
}

/* Attacker review: an EventSource whose handler was stopped by a limit sat OPEN and deaf
 * (its reading loop was cut, the fetch under it cancelled). Now it closes as a failed
 * connection does — an error event, readyState CLOSED, no reconnection — and the context
 * goes on, its request slot given back. */
Test(eventsource, a_handler_stopped_by_a_limit_closes_the_source)
{
    jsp_context *ctx = ws_context(&(jsp_context_config){.egress_allow_loopback = 1, .cpu_limit_ms = 100,
                                                        .egress_max_requests = 1});
    const char *spin = "globalThis.log = []; globalThis.es = new EventSource(HTTP + '/sse/%s');"
                       " es.onopen = () => { log.push('open'); %s };"
                       " es.onmessage = (e) => { log.push(e.data); %s };"
                       " es.onerror = () => log.push('error:' + es.readyState); 1";
    char source[400];
    snprintf(source, sizeof(source), spin, "forever", "", "for (;;) {}");
    free(eval_ok(ctx, source));
    cr_expect(eval_until(ctx, "log", "[\"open\",\"tick\",\"error:2\"]", 10000));
    sleep_ms(300); /* no more ticks, no reconnection */
    expect_eval(ctx, "[es.readyState, log.length]", "[2,3]");
    snprintf(source, sizeof(source), spin, "forever", "for (;;) {}", "");
    free(eval_ok(ctx, source));
    cr_expect(eval_until(ctx, "log", "[\"open\",\"error:2\"]", 10000));
    /* its one request slot is free again */
    snprintf(source, sizeof(source), spin, "basic", "", "");
    free(eval_ok(ctx, source));
    cr_expect(eval_until(ctx, "log.slice(0, 3)", "[\"open\",\"one\",\"crlf\"]", 10000));
    jsp_context_free(ctx);
    /* an isolated context's handler past its memory limit */
    jsp_context *isolated = ws_context(&(jsp_context_config){.egress_allow_loopback = 1,
                                                             .memory_limit_bytes = 32u << 20});
    snprintf(source, sizeof(source), spin, "forever", "",
             "const hoard = []; for (;;) hoard.push(new Array(10000).fill(0));");
    free(eval_ok(isolated, source));
    cr_expect(eval_until(isolated, "log", "[\"open\",\"tick\",\"error:2\"]", 10000));
    expect_eval(isolated, "[es.readyState, 6 * 7]", "[2,42]");
    jsp_context_free(isolated);
}

/* Attacker review: sockets a tenant opens are process file descriptors. 16 per context
 * (egress_max_requests) times any number of contexts used to reach the descriptor limit,
 * after which nobody's store, socket or accepted connection could open (EMFILE). A
 * pool-wide cap (max_egress_connections, 256 by default: inside the 1,024 descriptors
 * max_stores leaves) stops them first, with a refusal that names it. */
static int open_descriptors(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

Test(egress_descriptors, sockets_of_many_contexts_cannot_use_up_the_process_descriptors, .timeout = 60)
{
    struct rlimit files;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &files), 0);
    files.rlim_cur = 700;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &files), 0);
    /* a server that accepts nothing: every handshake stays pending, holding its socket */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
    cr_assert_eq(listen(listener, 4096), 0);
    socklen_t addr_len = sizeof(addr);
    getsockname(listener, (struct sockaddr *)&addr, &addr_len);
    char allow[64], source[400];
    snprintf(allow, sizeof(allow), "127.0.0.1:%d", ntohs(addr.sin_port));

    jsp_pool *own = pool_for_test(1, NULL, NULL);
    int before = open_descriptors();
    enum { CONTEXTS = 45 };
    jsp_context *ctx[CONTEXTS];
    for (int i = 0; i < CONTEXTS; i++) { /* 45 x 16 = 720 sockets asked for */
        ctx[i] = context_with(own, &(jsp_context_config){.apis = "websocket,fetch", .egress_allow = allow,
                                                         .egress_allow_loopback = 1, .egress_timeout_ms = 20000});
        snprintf(source, sizeof(source),
                 "globalThis.reasons = []; globalThis.sockets = [];"
                 " for (let i = 0; i < 16; i++) { const ws = new WebSocket('ws://%s/');"
                 "   ws.onclose = (e) => reasons.push(e.reason); sockets.push(ws); } 1",
                 allow);
        free(eval_ok(ctx[i], source));
    }
    sleep_ms(500); /* the connects run on the runtime's loop */
    int during = open_descriptors();
    /* the process can still open files, and the sockets are at most the cap */
    int fd = open("/dev/null", O_RDONLY);
    cr_expect_geq(fd, 0, "the process ran out of descriptors: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    cr_expect_leq(during - before, 256 + 16, "%d descriptors held by 720 pending sockets", during - before);
    /* the sockets past the cap were refused, saying why; a fetch too */
    size_t refused = 0;
    for (int i = 0; i < CONTEXTS; i++) {
        char *n = eval_ok(ctx[i], "reasons.filter((r) => r.includes('max_egress_connections')).length");
        refused += strtoul(n, NULL, 10);
        free(n);
    }
    cr_expect_geq(refused, (size_t)(CONTEXTS * 16 - 256), "%zu refused", refused);
    jsp_context *late = context_with(own, &(jsp_context_config){.apis = "fetch", .egress_allow = allow,
                                                                .egress_allow_loopback = 1, .egress_timeout_ms = 2000});
    snprintf(source, sizeof(source),
             "fetch('http://%s/').then(() => 'fetched', (e) => e.message.includes('max_egress_connections')"
             " || e.message)", allow);
    expect_eval(late, source, "true");
    jsp_context_free(late);
    /* destroying the contexts gives every descriptor back */
    for (int i = 0; i < CONTEXTS; i++)
        jsp_context_free(ctx[i]);
    bool back = false;
    for (int waited = 0; waited < 5000 && !back; waited += 50) {
        back = open_descriptors() <= before + 8; /* the runtime's CURLM (the fetch) stays */
        if (!back)
            sleep_ms(50);
    }
    cr_expect(back, "%d descriptors still open after the contexts died (%d before)", open_descriptors(), before);
    jsp_pool_free(own);
    close(listener);
}
