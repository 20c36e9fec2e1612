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
                "  port2.addEventListener('message', (e) => got.push(e.data));"
                "  port1.postMessage('a'); port1.postMessage('b');"
                "  setTimeout(() => { const before = got.length; port2.start();"
                "    setTimeout(() => resolve([before, ...got]), 10); }, 10);"
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
