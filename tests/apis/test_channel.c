/* channel group: MessageChannel/MessagePort deliver in order, asynchronously, only once
 * started, with structured-clone semantics (DataCloneError, transfers); BroadcastChannel
 * reaches every other channel of its name in the namespace — across runtimes, with the
 * value intact — but not the sender, not closed channels, not another namespace (by
 * default every context has its own), and survives receivers being destroyed mid-traffic
 * and a pool closing with channels open. */
#include "support/support.h"

#include <stdatomic.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

SUITE_POOL(2)

TestSuite(channel, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 120);

/* A context with the channel group on runtime runtime_index (0-based), in namespace ns
 * (NULL: a private one). */
static jsp_context *channel_context_in(int runtime_index, const char *ns)
{
    jsp_context_config cfg = {.runtime = runtime_index + 1, .apis = "console,channel", .namespace_name = ns};
    return context_with(pool, &cfg);
}

/* ... in the namespace "shared" that most tests' contexts use to talk. */
static jsp_context *channel_context(int runtime_index)
{
    return channel_context_in(runtime_index, "shared");
}

Test(channel, port_messages_arrive_later_in_order)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const { port1, port2 } = new MessageChannel(); const got = [];"
                "  port2.onmessage = (e) => { got.push([e.data, e instanceof MessageEvent, e.target === port2]);"
                "    if (got.length === 6) resolve(got); };"
                "  for (let i = 0; i < 5; i++) port1.postMessage(i);"
                "  got.push('posted');"
                "})",
                "[\"posted\",[0,true,true],[1,true,true],[2,true,true],[3,true,true],[4,true,true]]");
    jsp_context_free(ctx);
}

Test(channel, microtasks_run_between_port_messages)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const { port1, port2 } = new MessageChannel(); const log = [];"
                "  port2.onmessage = (e) => { log.push('m' + e.data); Promise.resolve().then(() => log.push('t' + e.data));"
                "    if (e.data === 2) setTimeout(() => resolve(log), 5); };"
                "  port1.postMessage(1); port1.postMessage(2);"
                "})",
                "[\"m1\",\"t1\",\"m2\",\"t2\"]");
    jsp_context_free(ctx);
}

Test(channel, add_event_listener_waits_for_start)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const { port1, port2 } = new MessageChannel(); const got = [];"
                "  port2.addEventListener('message', (e) => { got.push(e.data); if (got.length === 2) resolve([before, ...got]); });"
                "  port1.postMessage('a'); port1.postMessage('b'); let before;"
                /* (message tasks and timers are separate task sources: no order between them) */
                "  setTimeout(() => { before = got.length; port2.start(); }, 10);"
                "})",
                "[0,\"a\",\"b\"]");
    jsp_context_free(ctx);
}

Test(channel, close_stops_delivery_both_ways)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const { port1, port2 } = new MessageChannel(); const got = [];"
                "  port1.onmessage = (e) => got.push('1:' + e.data); port2.onmessage = (e) => got.push('2:' + e.data);"
                "  port1.postMessage('queued'); port2.close(); port1.postMessage('after'); port2.postMessage('from closed');"
                "  setTimeout(() => resolve(got), 20);"
                "})",
                "[]");
    jsp_context_free(ctx);
}

Test(channel, uncloneable_messages_throw_data_clone_error)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "const { port1 } = new MessageChannel(); const names = [];"
                "for (const v of [() => 1, Symbol('s'), new WeakMap(), { p: Promise.resolve() }])"
                "  try { port1.postMessage(v); names.push('no throw'); } catch (e) { names.push(e.name, e.code); }"
                "try { new BroadcastChannel('c').postMessage(() => 1) } catch (e) { names.push(e.name) }"
                "names",
                "[\"DataCloneError\",25,\"DataCloneError\",25,\"DataCloneError\",25,\"DataCloneError\",25,\"DataCloneError\"]");
    jsp_context_free(ctx);
}

Test(channel, transfer_detaches_buffers_and_moves_ports)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const a = new MessageChannel(), b = new MessageChannel();"
                "  const buffer = new Uint8Array([7, 8, 9]).buffer;"
                "  a.port2.onmessage = (e) => {"
                "    const moved = e.ports[0];"
                "    moved.onmessage = (m) => resolve([e.data.bytes[2], e.data.port === moved, m.data, buffer.byteLength]);"
                "    b.port2.postMessage('through the moved port');"
                "  };"
                "  a.port1.postMessage({ bytes: new Uint8Array(buffer), port: b.port1 }, [buffer, b.port1]);"
                "  try { a.port1.postMessage(1, [a.port1]); } catch (e) { if (e.name !== 'DataCloneError') resolve('self transfer: ' + e.name); }"
                "})",
                "[9,true,\"through the moved port\",0]");
    jsp_context_free(ctx);
}

Test(channel, broadcast_reaches_other_channels_of_the_name_but_not_the_sender)
{
    jsp_context *a = channel_context(0);
    jsp_context *b = channel_context(1);
    free(eval_ok(b, "var got = []; const named = new BroadcastChannel('news'), other = new BroadcastChannel('sport');"
                    "named.onmessage = (e) => got.push('news:' + e.data + ':' + (e instanceof MessageEvent));"
                    "other.onmessage = (e) => got.push('sport:' + e.data); 0"));
    free(eval_ok(a, "var got = []; const sender = new BroadcastChannel('news'), sibling = new BroadcastChannel('news');"
                    "sender.onmessage = (e) => got.push('sender:' + e.data);"
                    "sibling.addEventListener('message', (e) => got.push('sibling:' + e.data));"
                    "sender.postMessage('hello'); [got.length, sender.name]"));
    cr_expect(eval_until(b, "got", "[\"news:hello:true\"]", 2000));
    cr_expect(eval_until(a, "got", "[\"sibling:hello\"]", 2000));
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(channel, broadcast_keeps_values_intact_across_runtimes)
{
    jsp_context *a = channel_context(0);
    jsp_context *b = channel_context(1);
    free(eval_ok(b, "var d; new BroadcastChannel('fidelity').onmessage = (e) => { d = e.data; }; 0"));
    free(eval_ok(a, "const shared = new ArrayBuffer(8); const value = {"
                    "  map: new Map([['k', new Set([1, 2n])]]), date: new Date(86400000), re: /a+b/gi,"
                    "  u: undefined, neg: -0, nan: NaN, inf: -Infinity, big: 12345678901234567890n,"
                    "  bytes: Uint8Array.of(1, 2, 255), v1: new Uint16Array(shared, 2, 2), v2: new DataView(shared),"
                    "  err: new RangeError('r', { cause: 'why' }), boxed: new String('s'), sparse: [1, , 3],"
                    "  text: 'caf\\u00e9 \\ud83d\\ude00 \\u0000 \"q\"', nested: { deep: [[[]]] } };"
                    "value.self = value; new Uint16Array(shared)[1] = 513;"
                    "new BroadcastChannel('fidelity').postMessage(value); 0"));
    cr_assert(eval_until(b, "d !== undefined", "true", 2000));
    expect_eval(b,
                "[d.map.get('k').has(2n) && d.map.get('k').has(1), d.date.getTime(), String(d.re), 'u' in d && d.u === undefined,"
                " Object.is(d.neg, -0), Number.isNaN(d.nan), d.inf === -Infinity, d.big === 12345678901234567890n,"
                " Array.from(d.bytes), d.v1.buffer === d.v2.buffer, d.v1[0], d.v2.byteLength, d.self === d,"
                " d.err instanceof RangeError, d.err.message, d.err.cause, d.boxed instanceof String && String(d.boxed),"
                " d.sparse.length, 1 in d.sparse, d.text === 'caf\\u00e9 \\ud83d\\ude00 \\u0000 \"q\"', d.nested.deep[0][0].length]",
                "[true,86400000,\"/a+b/gi\",true,true,true,true,true,[1,2,255],true,513,8,true,true,\"r\",\"why\",\"s\",3,false,true,0]");
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(channel, broadcast_keeps_the_order_of_a_sender)
{
    jsp_context *a = channel_context(0);
    jsp_context *b = channel_context(1);
    free(eval_ok(b, "var got = []; new BroadcastChannel('seq').onmessage = (e) => got.push(e.data); 0"));
    free(eval_ok(a, "const out = new BroadcastChannel('seq'); for (let i = 0; i < 500; i++) out.postMessage(i); 0"));
    cr_assert(eval_until(b, "got.length", "500", 5000));
    expect_eval(b, "got.every((v, i) => v === i)", "true");
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(channel, a_context_opening_the_name_later_gets_the_posts_after_it)
{
    /* The sender first posts with no other context listening (it then skips serializing
     * and remembers that), then a context on another runtime opens the name: the next
     * post reaches it; once it closed, posts stop reaching it, and reopening works again. */
    jsp_context *a = channel_context(0);
    jsp_context *b = channel_context(1);
    free(eval_ok(a, "var tx = new BroadcastChannel('late-peer'); tx.postMessage('nobody'); tx.postMessage('nobody'); 0"));
    free(eval_ok(b, "var got = []; var rx = new BroadcastChannel('late-peer'); rx.onmessage = (e) => got.push(e.data); 0"));
    free(eval_ok(a, "tx.postMessage('first'); 0"));
    cr_expect(eval_until(b, "got", "[\"first\"]", 2000));
    free(eval_ok(b, "rx.close(); 0"));
    free(eval_ok(a, "tx.postMessage('closed'); 0"));
    free(eval_ok(b, "rx = new BroadcastChannel('late-peer'); rx.onmessage = (e) => got.push(e.data); 0"));
    free(eval_ok(a, "tx.postMessage('again'); 0"));
    cr_expect(eval_until(b, "got", "[\"first\",\"again\"]", 2000));
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(channel, closed_broadcast_channels_neither_send_nor_receive)
{
    jsp_context *a = channel_context(0);
    jsp_context *b = channel_context(1);
    free(eval_ok(b, "var got = []; const open = new BroadcastChannel('c'), shut = new BroadcastChannel('c');"
                    "open.onmessage = (e) => got.push('open:' + e.data); shut.onmessage = (e) => got.push('shut:' + e.data);"
                    "shut.close(); 0"));
    expect_eval(a,
                "const c = new BroadcastChannel('c'); c.postMessage('one'); c.close(); c.close();"
                "try { c.postMessage('two'); 'no throw' } catch (e) { [e instanceof DOMException, e.name, e.code] }",
                "[true,\"InvalidStateError\",11]");
    cr_expect(eval_until(b, "got", "[\"open:one\"]", 2000));
    /* a channel closed after the post but before delivery gets nothing either */
    free(eval_ok(b, "got = []; var late = new BroadcastChannel('late'); late.onmessage = (e) => got.push(e.data);"
                    "new BroadcastChannel('late').postMessage('x'); late.close(); 0"));
    sleep_ms(30);
    expect_eval(b, "got", "[]");
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(channel, destroying_receivers_mid_traffic_is_safe)
{
    enum { RECEIVERS = 8 };
    jsp_context *sender = channel_context(0);
    jsp_context *receivers[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++) {
        receivers[i] = channel_context(i % 2);
        free(eval_ok(receivers[i], "var n = 0; new BroadcastChannel('storm').onmessage = () => n++; 0"));
    }
    free(eval_ok(sender, "const out = new BroadcastChannel('storm');"
                         "setInterval(() => { for (let i = 0; i < 50; i++) out.postMessage({ i, pad: 'x'.repeat(100) }); }, 1); 0"));
    sleep_ms(20);
    for (int i = 0; i < RECEIVERS; i += 2) { /* every other one, while posts fly */
        jsp_context_free(receivers[i]);
        sleep_ms(3);
    }
    char *before = eval_ok(receivers[1], "n");
    char more[64];
    snprintf(more, sizeof(more), "n > %ld", atol(before));
    /* the sender posts every millisecond; a loaded machine decides when it runs */
    cr_expect(eval_until(receivers[1], more, "true", 5000), "survivors keep receiving (%s, then no more)", before);
    free(before);
    jsp_context_free(sender);
    for (int i = 1; i < RECEIVERS; i += 2)
        jsp_context_free(receivers[i]);
}

Test(channel, pool_closes_with_channels_open_and_traffic_queued)
{
    jsp_context *a = channel_context(0);
    jsp_context *b = channel_context(1);
    free(eval_ok(b, "new BroadcastChannel('x').onmessage = () => {}; 0"));
    free(eval_ok(a, "const x = new BroadcastChannel('x'); for (let i = 0; i < 1000; i++) x.postMessage(i); 0"));
    jsp_pool_free(pool);
    pool = NULL;
    jsp_result *r = NULL;
    cr_expect_eq(jsp_eval(a, "1", -1, &r), JSP_ECLOSED);
    jsp_result_free(r);
    jsp_context_free(a);
    jsp_context_free(b);
    pool = pool_for_test(1, NULL, NULL); /* for teardown */
}

static void drop_result(jsp_result *result, void *user)
{
    jsp_result_free(result);
}

/* A host function that keeps its caller blocked in host.callSync until the test answers. */
static _Atomic(jsp_host_call *) gate_call;

static void gate(jsp_host_call *call, void *user)
{
    atomic_store(&gate_call, call);
}

Test(channel, messages_queued_to_a_context_are_bounded_in_bytes_not_only_in_count)
{
    jsp_context *receiver = channel_context(1);
    jsp_context *sender = channel_context(0);
    cr_assert_eq(jsp_pool_register(pool, "gate", gate, NULL), 0);
    free(eval_ok(receiver, "globalThis.got = 0; const rx = new BroadcastChannel('big');"
                           " rx.onmessage = () => { got++ }; 0"));
    /* 100 posts of 1 MiB from another runtime while the receiver is held in host.callSync
     * (its deliveries wait): more than the 64 MiB of host memory a context's queued
     * messages may hold. Held by the test, not for a time, so a slow machine cannot let the
     * deliveries start before the posts end. */
    atomic_store(&gate_call, NULL);
    cr_assert_eq(jsp_eval_async(receiver, "host.callSync('gate'); 0", -1, drop_result, NULL), 0);
    for (int i = 0; i < 2000 && !atomic_load(&gate_call); i++)
        sleep_ms(5);
    cr_assert(atomic_load(&gate_call), "the receiver reached the gate");
    free(eval_ok(sender, "const tx = new BroadcastChannel('big'); const s = 'x'.repeat(1 << 20);"
                         " for (let i = 0; i < 100; i++) tx.postMessage(s); 0"));
    jsp_host_call_resolve(atomic_load(&gate_call), "null", 4);
    char *got = eval_ok(receiver, "got"); /* queued behind the held call and the deliveries */
    int received = atoi(got);
    free(got);
    cr_expect(received >= 50 && received < 100, "received %d of 100", received);
    cr_expect(collector_has(&logs, "messages queued to the context hold 64 MiB already"));
    /* the budget comes back as messages are delivered */
    free(eval_ok(sender, "tx.postMessage('small'); 0"));
    char expected[16];
    snprintf(expected, sizeof(expected), "%d", received + 1);
    cr_expect(eval_until(receiver, "got", expected, 2000), "the small message after the drop arrives");
    jsp_context_free(sender);
    jsp_context_free(receiver);
}

/* ---- namespaces ---- */

Test(channel, broadcast_stays_inside_its_namespace)
{
    jsp_context *a = channel_context_in(0, "tenant-a"), *peer = channel_context_in(1, "tenant-a");
    jsp_context *b = channel_context_in(1, "tenant-b");
    jsp_context *alone = channel_context_in(0, NULL), *alone2 = channel_context_in(1, NULL);
    jsp_context *all[] = {a, peer, b, alone, alone2};
    for (int i = 0; i < 5; i++)
        free(eval_ok(all[i], "var got = []; var room = new BroadcastChannel('room');"
                             "room.onmessage = (e) => got.push(e.data); 0"));
    /* every context posts once; each hears only its own namespace (a private one: nobody) */
    const char *posts[] = {"room.postMessage('from a'); 0", "room.postMessage('from peer'); 0",
                           "room.postMessage('forged by b'); 0", "room.postMessage('from alone'); 0",
                           "room.postMessage('from alone2'); 0"};
    for (int i = 0; i < 5; i++)
        free(eval_ok(all[i], posts[i]));
    cr_expect(eval_until(peer, "got", "[\"from a\"]", 2000));
    cr_expect(eval_until(a, "got", "[\"from peer\"]", 2000));
    sleep_ms(50); /* deliveries to the others, had there been any, are queued by now */
    for (int i = 2; i < 5; i++)
        expect_eval(all[i], "got", "[]");
    cr_expect_str_eq(jsp_context_namespace(a), "tenant-a");
    cr_expect_null(jsp_context_namespace(alone));
    for (int i = 0; i < 5; i++)
        jsp_context_free(all[i]);
}

Test(channel, namespace_names_are_checked)
{
    const char *bad[] = {"", "a b", "#1", "a/b", "caf\xc3\xa9", "new\nline",
                         "0123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        jsp_context_config cfg = {.namespace_name = bad[i]};
        jsp_context *ctx = NULL;
        cr_expect_eq(jsp_context_new(pool, &cfg, &ctx), JSP_EINVAL, "namespace \"%s\"", bad[i]);
        cr_expect_null(ctx);
    }
    jsp_context_config cfg = {.namespace_name = "Team_1.prod-eu"};
    jsp_context *ctx = NULL;
    cr_assert_eq(jsp_context_new(pool, &cfg, &ctx), 0);
    cr_expect_str_eq(jsp_context_namespace(ctx), "Team_1.prod-eu");
    jsp_context_free(ctx);
}

Test(channel, open_channel_names_are_capped_in_length)
{
    jsp_context *ctx = channel_context_in(0, NULL);
    expect_eval(ctx, "let error; try { new BroadcastChannel('x'.repeat(4097)) } catch (e) { error = e }"
                     "[error instanceof RangeError, error.message, new BroadcastChannel('y'.repeat(4096)).name.length]",
                "[true,\"BroadcastChannel: a channel name may be at most 4096 bytes (as JSON text)\",4096]");
    jsp_context_free(ctx);
}

Test(channel, open_channel_names_are_capped_per_context)
{
    jsp_context *ctx = channel_context_in(0, NULL);
    expect_eval(ctx, "globalThis.open = []; let error;"
                     "for (let i = 0; i < 1100 && !error; i++) {"
                     "  try { open.push(new BroadcastChannel('n' + i)); } catch (e) { error = e; } }"
                     "[open.length, error instanceof RangeError, error.message]",
                "[1024,true,\"BroadcastChannel: too many channel names open in this context\"]");
    /* a second channel of an open name is no new name; closing one frees its slot */
    expect_eval(ctx, "new BroadcastChannel('n0'); open[5].close(); new BroadcastChannel('fresh').name", "\"fresh\"");
    jsp_context_free(ctx);
}

/* ---- message tasks inside one context (issue 13: batched per job, cloned at post) ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

Test(channel, thousands_of_messages_keep_their_order_across_batches_ports_and_channels)
{
    /* 3 x 4,000 tasks: several batches (a batch ends after 1 ms). Each target gets its own
     * messages in order, and the tasks run in the order they were posted. */
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const a = new MessageChannel(), b = new MessageChannel(), tx = new BroadcastChannel('o'),"
                "    rx = new BroadcastChannel('o'); const seen = []; let n = 0;"
                "  const on = (name) => (e) => { seen.push(name + e.data.i); if (++n === 12000) resolve(check()); };"
                "  a.port2.onmessage = on('a'); b.port2.onmessage = on('b'); rx.onmessage = on('c');"
                "  for (let i = 0; i < 4000; i++) { a.port1.postMessage({ i }); b.port1.postMessage({ i }); tx.postMessage({ i }); }"
                "  function check() { for (let i = 0; i < 12000; i++)"
                "    if (seen[i] !== 'abc'[i % 3] + Math.floor(i / 3)) return 'at ' + i + ': ' + seen[i]; return 'in order'; }"
                "})",
                "\"in order\"");
    jsp_context_free(ctx);
}

Test(channel, a_throwing_handler_does_not_drop_the_messages_after_it)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const { port1, port2 } = new MessageChannel(), tx = new BroadcastChannel('t'), rx = new BroadcastChannel('t');"
                "  const got = [];"
                "  port2.onmessage = (e) => { got.push('p' + e.data); Promise.resolve().then(() => got.push('then' + e.data));"
                "    if (e.data % 2) throw new Error('odd ' + e.data); };"
                "  rx.onmessage = (e) => { got.push('b' + e.data); if (e.data === 1) throw new TypeError('no');"
                "    if (e.data === 2) setTimeout(() => resolve(got), 5); };"
                "  for (let i = 1; i <= 4; i++) port1.postMessage(i); tx.postMessage(1); tx.postMessage(2);"
                "})",
                "[\"p1\",\"then1\",\"p2\",\"then2\",\"p3\",\"then3\",\"p4\",\"then4\",\"b1\",\"b2\"]");
    jsp_context_free(ctx);
    cr_expect(collector_has(&logs, "odd 1"), "the throw was reported");
}

Test(channel, every_microtask_of_a_message_runs_before_the_next_message)
{
    /* Chains three deep, queueMicrotask and an async function's awaits: all of them finish
     * before the next message's handler starts, for ports and BroadcastChannel alike. */
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const { port1, port2 } = new MessageChannel(), tx = new BroadcastChannel('m'), rx = new BroadcastChannel('m');"
                "  const log = [];"
                "  const handler = (tag) => async (e) => {"
                "    log.push(tag + e.data + ':start');"
                "    Promise.resolve().then(() => Promise.resolve()).then(() => log.push(tag + e.data + ':chain'));"
                "    queueMicrotask(() => log.push(tag + e.data + ':micro'));"
                "    await null; await null; log.push(tag + e.data + ':awaited');"
                "    if (tag === 'b' && e.data === 2) setTimeout(() => resolve(log.join(' ')), 5);"
                "  };"
                "  port2.onmessage = handler('p'); rx.onmessage = handler('b');"
                "  port1.postMessage(1); tx.postMessage(1); port1.postMessage(2); tx.postMessage(2);"
                "})",
                "\"p1:start p1:micro p1:awaited p1:chain b1:start b1:micro b1:awaited b1:chain "
                "p2:start p2:micro p2:awaited p2:chain b2:start b2:micro b2:awaited b2:chain\"");
    jsp_context_free(ctx);
}

Test(channel, each_receiver_gets_its_own_copy_taken_at_post_time)
{
    jsp_context *ctx = channel_context(0);
    expect_eval(ctx,
                "new Promise((resolve) => {"
                "  const { port1, port2 } = new MessageChannel(), tx = new BroadcastChannel('iso');"
                "  const r1 = new BroadcastChannel('iso'), r2 = new BroadcastChannel('iso');"
                "  const sent = { n: 1, list: [1, 2], map: new Map([['k', { v: 1 }]]) }; const got = {};"
                "  port2.onmessage = (e) => { got.port = e.data; e.data.n = 'port'; e.data.list.push('port'); };"
                "  r1.onmessage = (e) => { got.r1 = e.data; e.data.n = 'r1'; e.data.map.get('k').v = 'r1'; };"
                "  r2.onmessage = (e) => { got.r2 = e.data;"
                "    setTimeout(() => resolve([sent.n, sent.list.length, sent.map.get('k').v, got.port.n, got.r1.n,"
                "      got.r2.n, got.r2.map.get('k').v, got.r2.list.length, got.port !== sent, got.r1 !== got.r2]), 5); };"
                "  port1.postMessage(sent); tx.postMessage(sent);"
                "  sent.n = 'changed after the post'; sent.list.push(3); sent.map.get('k').v = 'changed';"
                "})",
                "[\"changed after the post\",3,\"changed\",\"port\",\"r1\",1,1,2,true,true]");
    jsp_context_free(ctx);
}

Test(channel, a_handler_over_its_cpu_limit_is_stopped_and_the_next_messages_still_arrive)
{
    jsp_context_config cfg = {.runtime = 1, .apis = "console,channel", .cpu_limit_ms = 50};
    jsp_context *ctx = context_with(pool, &cfg);
    free(eval_ok(ctx, "var got = []; const { port1, port2 } = new MessageChannel();"
                      "port2.onmessage = (e) => { if (e.data === 'spin') for (;;); got.push(e.data); };"
                      "port1.postMessage('before'); port1.postMessage('spin'); port1.postMessage('after1');"
                      "port1.postMessage('after2'); 0"));
    cr_expect(eval_until(ctx, "got.join()", "\"before,after1,after2\"", 5000));
    cr_expect(collector_has(&logs, "message handler exceeded its CPU time limit"));
    jsp_context_free(ctx);
}

/* Contexts flooding themselves with messages (each one posts the next, forever) on the
 * same runtime as a sibling: the sibling's calls still answer promptly. */
Test(channel, a_flood_of_messages_does_not_starve_a_sibling)
{
    jsp_context *port_flood = channel_context(0);
    jsp_context *broadcast_flood = channel_context(0);
    jsp_context *sibling = channel_context(0);
    free(eval_ok(port_flood, "var n = 0; const { port1, port2 } = new MessageChannel();"
                             "port2.onmessage = () => { n++; port1.postMessage({ pad: 'x'.repeat(64) }); port1.postMessage(n); };"
                             "port1.postMessage(0); 0"));
    free(eval_ok(broadcast_flood, "var n = 0; const a = new BroadcastChannel('flood'), b = new BroadcastChannel('flood');"
                                  "b.onmessage = () => { n++; a.postMessage([n, n]); a.postMessage(n); }; a.postMessage(0); 0"));
    double t0 = now_ms(), worst = 0;
    int answered = 0;
    while (now_ms() - t0 < 1500) {
        double c0 = now_ms();
        char *json = eval_ok(sibling, "6 * 7");
        double took = now_ms() - c0;
        cr_assert_str_eq(json, "42");
        free(json);
        answered++;
        worst = took > worst ? took : worst;
        sleep_ms(5);
    }
    /* Starved, it would not answer before the floods end (never). Margins for a loaded
     * machine under ASan: a turn of each flood is ~1 ms. */
    cr_expect_gt(answered, 10, "the sibling answered %d times in 1.5 s", answered);
    cr_expect_lt(worst, 1000, "a sibling call waited %.0f ms behind the floods", worst);
    for (int i = 0; i < 2; i++) {
        char *n = eval_ok(i ? broadcast_flood : port_flood, "n");
        cr_expect_gt(atol(n), 1000, "the floods ran meanwhile (%s messages)", n);
        free(n);
    }
    jsp_context_free(port_flood);
    jsp_context_free(broadcast_flood);
    jsp_context_free(sibling);
}

/* With a 20% CPU share, a context flooding itself with messages is throttled (its
 * messages wait, they are not lost) while a sibling answers. */
Test(channel, a_flood_of_messages_is_held_to_its_cpu_share)
{
    jsp_pool_config pool_cfg = {.threads = 1, .cpu_share = 0.2, .cpu_share_window_ms = 500};
    jsp_pool *own = NULL;
    cr_assert_eq(jsp_pool_new(&pool_cfg, &own), 0);
    jsp_context_config cfg = {.apis = "console,channel"};
    jsp_context *flood = context_with(own, &cfg);
    jsp_context *sibling = context_with(own, &cfg);
    free(eval_ok(flood, "var n = 0; const { port1, port2 } = new MessageChannel();"
                        "port2.onmessage = (e) => { n++; port1.postMessage(e.data + 1); }; port1.postMessage(0); 0"));
    double t0 = now_ms(), worst = 0;
    while (now_ms() - t0 < 1500) {
        double c0 = now_ms();
        free(eval_ok(sibling, "1"));
        worst = now_ms() - c0 > worst ? now_ms() - c0 : worst;
        sleep_ms(5);
    }
    jsp_cpu_usage cpu;
    cr_assert_eq(jsp_context_cpu(flood, &cpu), 0);
    cr_expect_geq(cpu.throttle_count, 1, "the flood was held to its share");
    cr_expect_gt(cpu.throttled_seconds, 0.3, "throttled %.3f s of 1.5 s", cpu.throttled_seconds);
    cr_expect_lt(worst, 1000, "a sibling call waited %.0f ms", worst);
    char *n = eval_ok(flood, "port2.onmessage = null; n");
    cr_expect_gt(atol(n), 100, "its messages kept flowing, slower (%s)", n);
    free(n);
    jsp_context_free(flood);
    jsp_context_free(sibling);
    jsp_pool_free(own);
}

Test(channel, undelivered_messages_count_against_the_memory_limit)
{
    /* Never started, the port keeps every message: the copies live in the context's heap,
     * so an isolated context is stopped at its memory limit, and then works again. */
    jsp_context_config cfg = {.apis = "console,channel", .memory_limit_bytes = 32u << 20};
    jsp_context *ctx = context_with(pool, &cfg);
    jsp_result *r = NULL;
    int rc = jsp_eval(ctx, "const { port1, port2 } = new MessageChannel();"
                           "for (;;) port1.postMessage({ bytes: new Uint8Array(1 << 20) })", -1, &r);
    /* JSP_EOOM, or the memory guard's RangeError when the next copy would not fit */
    cr_expect(rc == JSP_EOOM || (rc == JSP_EJS && strstr(r->error_message, "memory limit")), "got %d: %s: %s", rc,
              r ? r->error_name : "", r ? r->error_message : "");
    jsp_result_free(r);
    expect_eval(ctx, "1 + 1", "2");
    jsp_context_free(ctx);
}
