/* The streams group: WHATWG Streams default (non-byte) streams as users see them —
 * backpressure and pull, queuing strategies, locks and their TypeErrors, pipeTo (close and
 * error propagation, AbortSignal, prevent* options), pipeThrough, tee, ReadableStream.from,
 * async iteration, WritableStream writers and abort, TransformStream, TextEncoderStream and
 * TextDecoderStream. Every expected value below was produced by running the same snippet
 * in Node.js 20 (an independent implementation of the standard), not by this code. */
#include "support/support.h"

SUITE_POOL(1)
static jsp_context *ctx;

static void setup(void)
{
    suite_pool_setup();
    jsp_context_config cfg = {.apis = "streams,timers"};
    cr_assert_eq(jsp_context_new(pool, &cfg, &ctx), 0);
}

static void teardown(void)
{
    jsp_context_free(ctx);
    suite_pool_teardown();
}

TestSuite(streams, .init = setup, .fini = teardown, .timeout = 60);

Test(streams, the_group_brings_events_and_encoding_and_byte_streams_are_refused)
{
    char out[256];
    cr_expect_eq(jsp_apis_resolve("streams", out, sizeof(out)), 0);
    cr_expect_str_eq(out, "timers,domexception,events,encoding,streams");
    expect_eval(ctx,
                "[typeof ReadableStream, typeof WritableStream, typeof TransformStream, typeof AbortController,"
                " Object.prototype.toString.call(new ReadableStream().getReader())]",
                "[\"function\",\"function\",\"function\",\"function\",\"[object ReadableStreamDefaultReader]\"]");
    expect_eval(ctx,
                "(() => { try { new ReadableStream({ type: 'bytes' }); return 'created' } catch (e) { return e.name } })()",
                "\"RangeError\"");
    expect_eval(ctx,
                "(() => { try { new ReadableStream().getReader({ mode: 'byob' }); return 'created' } catch (e) { return e.name } })()",
                "\"TypeError\"");
}

Test(streams, pull_runs_until_the_queue_reaches_the_high_water_mark_and_again_after_reads)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const log = [];\n"
    "  let ctrl;\n"
    "  const rs = new ReadableStream({\n"
    "    start(c) { ctrl = c; log.push('start ' + c.desiredSize); },\n"
    "    pull(c) { log.push('pull ' + c.desiredSize); c.enqueue('x'); },\n"
    "  }, { highWaterMark: 2 });\n"
    "  await new Promise((r) => setTimeout(r, 0));\n"
    "  log.push('after start ' + ctrl.desiredSize);\n"
    "  const reader = rs.getReader();\n"
    "  const r1 = await reader.read();\n"
    "  await new Promise((r) => setTimeout(r, 0));\n"
    "  log.push('read ' + r1.value + ' ' + ctrl.desiredSize);\n"
    "  return log;\n"
    "})()\n",
                "[\"start 2\",\"pull 2\",\"pull 1\",\"after start 0\",\"pull 1\",\"read x 0\"]");
}

Test(streams, queuing_strategies_drive_desired_size_and_ready)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  const ws = new WritableStream({ write() { return new Promise(() => {}); } }, new ByteLengthQueuingStrategy({ highWaterMark: 10 }));\n"
    "  const w = ws.getWriter();\n"
    "  out.push(w.desiredSize);\n"
    "  w.write(new Uint8Array(4));\n"
    "  out.push(w.desiredSize);\n"
    "  w.write(new Uint8Array(8));\n"
    "  out.push(w.desiredSize);\n"
    "  let readyResolved = false; w.ready.then(() => { readyResolved = true; });\n"
    "  await new Promise((r) => setTimeout(r, 5));\n"
    "  out.push(readyResolved);\n"
    "  const c = new CountQueuingStrategy({ highWaterMark: 3 });\n"
    "  out.push(c.highWaterMark, c.size(), new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size === new ByteLengthQueuingStrategy({ highWaterMark: 2 }).size);\n"
    "  try { new CountQueuingStrategy({}); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  try { new ReadableStream({}, { highWaterMark: -1 }); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  try { new ReadableStream({}, { size: 5 }); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  return out;\n"
    "})()\n",
                "[10,6,-2,false,3,1,true,\"TypeError\",\"RangeError\",\"TypeError\"]");
}

Test(streams, locked_streams_and_released_readers_fail_with_type_error)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  const rs = new ReadableStream();\n"
    "  const reader = rs.getReader();\n"
    "  out.push(rs.locked);\n"
    "  try { rs.getReader(); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  try { new ReadableStreamDefaultReader(rs); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  await rs.cancel().then(() => out.push('cancelled'), (e) => out.push(e.name));\n"
    "  await rs.pipeTo(new WritableStream()).then(() => out.push('piped'), (e) => out.push(e.name));\n"
    "  try { rs.pipeThrough(new TransformStream()); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  try { rs.tee(); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  try { rs.values(); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  const pending = reader.read();\n"
    "  reader.releaseLock();\n"
    "  await pending.then(() => out.push('read ok'), (e) => out.push('read ' + e.name));\n"
    "  await reader.closed.then(() => out.push('closed ok'), (e) => out.push('closed ' + e.name));\n"
    "  out.push(rs.locked);\n"
    "  const ws = new WritableStream();\n"
    "  const w = ws.getWriter();\n"
    "  try { ws.getWriter(); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  await ws.abort().then(() => out.push('aborted'), (e) => out.push(e.name));\n"
    "  await ws.close().then(() => out.push('closed'), (e) => out.push(e.name));\n"
    "  w.releaseLock();\n"
    "  await w.write('x').then(() => out.push('wrote'), (e) => out.push(e.name));\n"
    "  out.push(ws.locked);\n"
    "  try { new ReadableStreamDefaultController(); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  try { new ReadableStream({ type: 'nope' }); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  try { ReadableStream.prototype.getReader.call({}); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  return out;\n"
    "})()\n",
                "[true,\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"read TypeError\",\"closed TypeError\",false,\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",false,\"TypeError\",\"TypeError\",\"TypeError\"]");
}

Test(streams, pipe_to_stops_when_its_signal_aborts_and_honours_prevent_options)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  const written = [];\n"
    "  let cancelReason, abortReason;\n"
    "  let i = 0;\n"
    "  const rs = new ReadableStream({\n"
    "    pull(c) { c.enqueue(i++); if (i === 3) controller.abort(); },\n"
    "    cancel(r) { cancelReason = r; },\n"
    "  });\n"
    "  const ws = new WritableStream({ write(ch) { written.push(ch); }, abort(r) { abortReason = r; } });\n"
    "  const controller = new AbortController();\n"
    "  await rs.pipeTo(ws, { signal: controller.signal }).then(() => out.push('resolved'), (e) => out.push(e.name));\n"
    "  out.push(cancelReason && cancelReason.name, abortReason && abortReason.name, rs.locked, ws.locked);\n"
    "  // preventAbort and preventCancel keep both ends usable\n"
    "  const rs2 = new ReadableStream({ start(c) { c.enqueue('a'); } });\n"
    "  const ws2 = new WritableStream();\n"
    "  const c2 = new AbortController();\n"
    "  const p = rs2.pipeTo(ws2, { signal: c2.signal, preventAbort: true, preventCancel: true });\n"
    "  c2.abort(new Error('stop'));\n"
    "  await p.then(() => out.push('resolved'), (e) => out.push(e.message));\n"
    "  const r2 = rs2.getReader();\n"
    "  out.push(rs2.locked, ws2.locked);\n"
    "  // already-aborted signal\n"
    "  await new ReadableStream().pipeTo(new WritableStream(), { signal: AbortSignal.abort() }).then(() => out.push('resolved'), (e) => out.push(e.name));\n"
    "  return out;\n"
    "})()\n",
                "[\"AbortError\",\"AbortError\",\"AbortError\",false,false,\"stop\",true,false,\"AbortError\"]");
}

Test(streams, pipe_to_propagates_close_and_errors_both_ways_and_pipe_through_transforms)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  const sink = [];\n"
    "  let closed = false;\n"
    "  const ws = new WritableStream({ write(c) { sink.push(c); }, close() { closed = true; } });\n"
    "  await ReadableStream.from([1, 2, 3]).pipeTo(ws);\n"
    "  out.push(sink.join(','), closed);\n"
    "  // preventClose\n"
    "  const ws2 = new WritableStream({ write(c) { sink.push(c); } });\n"
    "  await ReadableStream.from(['a']).pipeTo(ws2, { preventClose: true });\n"
    "  const w2 = ws2.getWriter();\n"
    "  await w2.write('b');\n"
    "  out.push(sink.join(','));\n"
    "  // error forward: source errors -> dest aborted with the error\n"
    "  let abortedWith;\n"
    "  const err = new Error('boom');\n"
    "  const p = new ReadableStream({ start(c) { c.error(err); } }).pipeTo(new WritableStream({ abort(r) { abortedWith = r; } }));\n"
    "  await p.then(() => out.push('resolved'), (e) => out.push(e === err));\n"
    "  out.push(abortedWith === err);\n"
    "  // error backward: dest errors -> source cancelled\n"
    "  let cancelledWith;\n"
    "  const err2 = new Error('sink');\n"
    "  const p2 = new ReadableStream({ pull(c) { c.enqueue(1); }, cancel(r) { cancelledWith = r; } })\n"
    "    .pipeTo(new WritableStream({ write() { throw err2; } }));\n"
    "  await p2.then(() => out.push('resolved'), (e) => out.push(e === err2));\n"
    "  out.push(cancelledWith === err2);\n"
    "  // pipeThrough\n"
    "  const upper = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } });\n"
    "  const got = [];\n"
    "  for await (const x of ReadableStream.from(['a', 'b']).pipeThrough(upper)) got.push(x);\n"
    "  out.push(got.join(''));\n"
    "  return out;\n"
    "})()\n",
                "[\"1,2,3\",true,\"1,2,3,a,b\",true,true,true,true,\"AB\"]");
}

Test(streams, tee_gives_both_branches_every_chunk_and_cancels_the_source_when_both_cancel)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  const [a, b] = ReadableStream.from([1, 2, 3]).tee();\n"
    "  const ra = [], rb = [];\n"
    "  for await (const x of a) ra.push(x);\n"
    "  for await (const x of b) rb.push(x);\n"
    "  out.push(ra.join(','), rb.join(','));\n"
    "  // cancelling both branches cancels the source with both reasons\n"
    "  let reason;\n"
    "  const src = new ReadableStream({ cancel(r) { reason = r; } });\n"
    "  const [c, d] = src.tee();\n"
    "  out.push(src.locked);\n"
    "  const pc = c.cancel('r1');\n"
    "  await d.cancel('r2');\n"
    "  await pc;\n"
    "  out.push(JSON.stringify(reason));\n"
    "  // an error reaches both branches\n"
    "  let ctrl;\n"
    "  const [e, f] = new ReadableStream({ start(k) { ctrl = k; } }).tee();\n"
    "  ctrl.error(new TypeError('bad'));\n"
    "  await e.getReader().read().then(() => out.push('ok'), (x) => out.push(x.message));\n"
    "  await f.getReader().read().then(() => out.push('ok'), (x) => out.push(x.message));\n"
    "  return out;\n"
    "})()\n",
                "[\"1,2,3\",\"1,2,3\",true,\"[\\\"r1\\\",\\\"r2\\\"]\",\"bad\",\"bad\"]");
}

Test(streams, async_iteration_cancels_on_break_unless_prevent_cancel)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  let cancelled = 0;\n"
    "  const make = () => new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.enqueue(3); }, cancel() { cancelled++; } });\n"
    "  const s1 = make();\n"
    "  for await (const x of s1) { out.push(x); if (x === 2) break; }\n"
    "  out.push(cancelled, s1.locked);\n"
    "  const s2 = make();\n"
    "  for await (const x of s2.values({ preventCancel: true })) { out.push(x); break; }\n"
    "  out.push(cancelled, s2.locked);\n"
    "  const r = s2.getReader();\n"
    "  out.push((await r.read()).value);\n"
    "  const it = make()[Symbol.asyncIterator]();\n"
    "  const n1 = await it.next(), n2 = await it.return('v'), n3 = await it.next();\n"
    "  out.push([n1.value, n1.done], [n2.value, n2.done], [n3.value, n3.done]);\n"
    "  out.push(Object.getPrototypeOf(Object.getPrototypeOf(it)) === Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype));\n"
    "  const err = new ReadableStream({ start(c) { c.enqueue('a'); c.error(new RangeError('e')); } });\n"
    "  try { for await (const x of err) out.push(x); } catch (e) { out.push(e.name); }\n"
    "  return out;\n"
    "})()\n",
                "[1,2,1,false,1,1,false,2,[1,false],[\"v\",true],[null,true],true,\"RangeError\"]");
}

Test(streams, readable_stream_from_takes_async_and_sync_iterables_and_calls_return_on_cancel)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  async function* gen() { yield 'a'; await null; yield 'b'; }\n"
    "  const got = [];\n"
    "  for await (const x of ReadableStream.from(gen())) got.push(x);\n"
    "  out.push(got.join(''));\n"
    "  const got2 = [];\n"
    "  for await (const x of ReadableStream.from([Promise.resolve(1), 2])) got2.push(x);\n"
    "  out.push(got2.join(','));\n"
    "  let returned = false;\n"
    "  const iterable = { [Symbol.asyncIterator]() { return { next: () => Promise.resolve({ value: 1, done: false }), return: () => { returned = true; return Promise.resolve({ done: true }); } }; } };\n"
    "  const s = ReadableStream.from(iterable);\n"
    "  const r = s.getReader();\n"
    "  out.push((await r.read()).value);\n"
    "  await r.cancel('why');\n"
    "  out.push(returned);\n"
    "  try { ReadableStream.from(5); out.push('no throw'); } catch (e) { out.push(e.name); }\n"
    "  const bad = ReadableStream.from({ [Symbol.asyncIterator]() { return { next: () => Promise.resolve(5) }; } });\n"
    "  await bad.getReader().read().then(() => out.push('ok'), (e) => out.push(e.name));\n"
    "  out.push(ReadableStream.from([]) instanceof ReadableStream);\n"
    "  return out;\n"
    "})()\n",
                "[\"ab\",\"1,2\",1,true,\"TypeError\",\"TypeError\",true]");
}

Test(streams, writer_backpressure_close_abort_and_controller_error)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  const log = [];\n"
    "  let resolveWrite;\n"
    "  const ws = new WritableStream({\n"
    "    start() { log.push('start'); },\n"
    "    write(chunk) { log.push('write ' + chunk); return new Promise((r) => { resolveWrite = r; }); },\n"
    "    close() { log.push('close'); },\n"
    "  }, { highWaterMark: 2 });\n"
    "  const w = ws.getWriter();\n"
    "  out.push(w.desiredSize);\n"
    "  const p1 = w.write('a'); const p2 = w.write('b');\n"
    "  out.push(w.desiredSize);\n"
    "  let ready = false; w.ready.then(() => { ready = true; });\n"
    "  await new Promise((r) => setTimeout(r, 0));\n"
    "  out.push(ready, log.join('|'));\n"
    "  resolveWrite(); await p1;\n"
    "  await new Promise((r) => setTimeout(r, 0));\n"
    "  out.push(ready, w.desiredSize);\n"
    "  resolveWrite(); await p2;\n"
    "  await w.close();\n"
    "  out.push(log.join('|'));\n"
    "  await w.closed.then(() => out.push('closed'));\n"
    "  // abort: signal, pending writes rejected, sink abort called with the reason\n"
    "  let signalReason, sinkReason;\n"
    "  const ws2 = new WritableStream({\n"
    "    start(c) { c.signal.addEventListener('abort', () => { signalReason = c.signal.reason; }); },\n"
    "    write() { return new Promise((r) => setTimeout(r, 5)); },\n"
    "    abort(r) { sinkReason = r; },\n"
    "  });\n"
    "  const w2 = ws2.getWriter();\n"
    "  w2.write(1).catch(() => {});\n"
    "  const queued = w2.write(2);\n"
    "  await new Promise((r) => setTimeout(r, 0));\n"
    "  w2.abort('stop');\n"
    "  await queued.then(() => out.push('queued ok'), (e) => out.push('queued ' + e));\n"
    "  out.push(signalReason);\n"
    "  // controller.error\n"
    "  let wc;\n"
    "  const ws3 = new WritableStream({ start(c) { wc = c; } });\n"
    "  const w3 = ws3.getWriter();\n"
    "  wc.error(new TypeError('x'));\n"
    "  await w3.closed.then(() => out.push('ok'), (e) => out.push(e.message));\n"
    "  await w3.write(1).then(() => out.push('ok'), (e) => out.push(e.message));\n"
    "  return [out, sinkReason];\n"
    "})()\n",
                "[[2,0,false,\"start|write a\",true,1,\"start|write a|write b|close\",\"closed\",\"queued stop\",\"stop\",\"x\",\"x\"],\"stop\"]");
}

Test(streams, transform_stream_enqueue_flush_terminate_errors_and_text_streams)
{
    expect_eval(ctx,
    "(async () => {\n"
    "  const out = [];\n"
    "  const ts = new TransformStream({\n"
    "    transform(chunk, c) { c.enqueue(chunk * 2); c.enqueue(chunk * 2 + 1); },\n"
    "    flush(c) { c.enqueue('end'); },\n"
    "  });\n"
    "  const w = ts.writable.getWriter();\n"
    "  const r = ts.readable.getReader();\n"
    "  out.push(w.desiredSize);\n"
    "  w.write(1);\n"
    "  out.push((await r.read()).value, (await r.read()).value);\n"
    "  w.close();\n"
    "  out.push((await r.read()).value, (await r.read()).done);\n"
    "  // terminate closes the readable and errors the writable\n"
    "  const t2 = new TransformStream({ start(c) { c.terminate(); } });\n"
    "  await t2.writable.getWriter().write(1).then(() => out.push('ok'), (e) => out.push(e.name));\n"
    "  out.push((await t2.readable.getReader().read()).done);\n"
    "  // transform errors both sides\n"
    "  const t3 = new TransformStream({ transform() { throw new RangeError('no'); } });\n"
    "  const w3 = t3.writable.getWriter();\n"
    "  const r3 = t3.readable.getReader();\n"
    "  w3.write(1).catch(() => {});\n"
    "  await r3.read().then(() => out.push('ok'), (e) => out.push(e.name));\n"
    "  await w3.closed.then(() => out.push('ok'), (e) => out.push(e.name));\n"
    "  // identity transform\n"
    "  const t4 = new TransformStream();\n"
    "  const pr = t4.readable.getReader().read();\n"
    "  t4.writable.getWriter().write('same');\n"
    "  out.push((await pr).value);\n"
    "  // text streams\n"
    "  const te = new TextEncoderStream();\n"
    "  const teW = te.writable.getWriter();\n"
    "  teW.write('h\\u00e9\\ud83d'); teW.write('\\ude00'); teW.close();\n"
    "  const bytes = [];\n"
    "  for await (const ch of te.readable) bytes.push(...ch);\n"
    "  out.push(bytes.join(','));\n"
    "  const td = new TextDecoderStream();\n"
    "  const tdW = td.writable.getWriter();\n"
    "  tdW.write(new Uint8Array([0x68, 0xc3])); tdW.write(new Uint8Array([0xa9])); tdW.close();\n"
    "  let s = '';\n"
    "  for await (const ch of td.readable) s += ch;\n"
    "  out.push(s);\n"
    "  return out;\n"
    "})()\n",
                "[1,2,3,\"end\",true,\"TypeError\",true,\"RangeError\",\"RangeError\",\"same\",\"104,195,169,240,159,152,128\",\"hé\"]");
}
