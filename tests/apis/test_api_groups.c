/* API groups: contexts get the web-API groups they ask for (`apis`), dependencies come by
 * themselves, unknown names are refused with the valid ones listed, JS-written groups load
 * on first use without changing what `typeof`, `in` and enumeration say; the events group
 * (Event, CustomEvent, EventTarget, AbortController, AbortSignal) and its DOMException
 * dependency behave as the DOM standard says. */
#include "support/support.h"

SUITE_POOL(1)

TestSuite(api_groups, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 60);

static jsp_context *with_apis(const char *apis)
{
    jsp_context_config cfg = {.apis = apis};
    return context_with(pool, &cfg);
}

Test(api_groups, resolution_adds_dependencies_and_names_the_valid_groups)
{
    char out[256];
    cr_expect_eq(jsp_apis_resolve("events", out, sizeof(out)), 0);
    cr_expect_str_eq(out, "timers,domexception,events");
    cr_expect_eq(jsp_apis_resolve(NULL, out, sizeof(out)), 0);
    cr_expect_str_eq(out, "console,timers,performance,navigator");
    cr_expect_eq(jsp_apis_resolve(" console , none ", out, sizeof(out)), 0);
    cr_expect_str_eq(out, "console");
    cr_expect_eq(jsp_apis_resolve("all", out, sizeof(out)), 0);
    cr_expect_str_eq(out, "console,timers,domexception,events,encoding,structured-clone,buffer,channel,worker,crypto,locks,streams,compression,url,performance,navigator,storage,fetch,dom,websocket,eventsource");
    cr_expect_eq(jsp_apis_resolve("buffer", out, sizeof(out)), 0);
    cr_expect_str_eq(out, "domexception,encoding,buffer");
    cr_expect_eq(jsp_apis_resolve("events,urll", out, sizeof(out)), JSP_EINVAL);
    cr_expect(strstr(out, "'urll'") && strstr(out, "valid: all, none, console, timers, events, encoding, structured-clone, buffer, channel, worker, crypto, locks, streams, compression, url, performance, navigator, storage, fetch, dom, websocket, eventsource"),
              "%s", out);
    cr_expect_eq(jsp_apis_resolve("domexception", out, sizeof(out)), JSP_EINVAL, "internal groups are not names");
    jsp_context_config cfg = {.apis = "nope"};
    jsp_context *ctx = NULL;
    cr_expect_eq(jsp_context_new(pool, &cfg, &ctx), JSP_EINVAL);
}

Test(api_groups, contexts_get_only_what_they_ask_for)
{
    jsp_context *bare = with_apis("none");
    expect_eval(bare, "[typeof setTimeout, typeof console, typeof EventTarget, typeof host.call]",
                "[\"undefined\",\"undefined\",\"undefined\",\"function\"]");
    jsp_context *plain = with_apis(NULL);
    expect_eval(plain, "[typeof setTimeout, typeof console.log, typeof EventTarget]",
                "[\"function\",\"function\",\"undefined\"]");
    jsp_context *events = with_apis("events");
    expect_eval(events, "[typeof setTimeout, typeof console, typeof AbortController]",
                "[\"function\",\"undefined\",\"function\"]");
    jsp_context_free(bare);
    jsp_context_free(plain);
    jsp_context_free(events);
}

/* The error message of a call that uses a global from a group the context lacks. */
static char *missing_global_message(jsp_context *ctx, const char *source)
{
    jsp_result *r = NULL;
    cr_expect_eq(jsp_eval(ctx, source, -1, &r), JSP_EJS, "%s", source);
    cr_expect_str_eq(r->error_name, "ReferenceError");
    char *message = strdup(r->error_message);
    jsp_result_free(r);
    return message;
}

Test(api_groups, a_missing_global_names_the_group_that_provides_it)
{
    jsp_context *plain = with_apis(NULL);
    char *m = missing_global_message(plain, "new TextEncoder().encode('x')");
    cr_expect_str_eq(m, "Can't find variable: TextEncoder (provided by the 'encoding' API group; "
                        "this context has 'console,timers,performance,navigator')");
    free(m);
    m = missing_global_message(plain, "function digest() { return crypto.randomUUID() } digest()");
    cr_expect_str_eq(m, "Can't find variable: crypto (provided by the 'crypto' API group; "
                        "this context has 'console,timers,performance,navigator')");
    free(m);
    /* a name no group defines keeps the engine's message */
    m = missing_global_message(plain, "notDefinedAnywhere + 1");
    cr_expect_str_eq(m, "Can't find variable: notDefinedAnywhere");
    free(m);
    /* an internal group is named by a public group that brings it */
    jsp_context *url = with_apis("url");
    m = missing_global_message(url, "new DOMException('x')");
    cr_expect_str_eq(m, "Can't find variable: DOMException (provided by the 'events' API group; "
                        "this context has 'url')");
    free(m);
    jsp_context *bare = with_apis("none");
    m = missing_global_message(bare, "structuredClone({})");
    cr_expect_str_eq(m, "Can't find variable: structuredClone (provided by the 'structured-clone' "
                        "API group; this context has no API group)");
    free(m);
    jsp_context_free(plain);
    jsp_context_free(url);
    jsp_context_free(bare);
}

Test(api_groups, lazy_globals_look_present_from_the_start)
{
    jsp_context *ctx = with_apis("all");
    /* before first use: present, not enumerable, configurable, and not loaded yet */
    expect_eval(ctx, "['EventTarget' in globalThis, Object.keys(globalThis).includes('EventTarget'),"
                     " typeof Object.getOwnPropertyDescriptor(globalThis, 'EventTarget').get]",
                "[true,false,\"function\"]");
    expect_eval(ctx, "typeof EventTarget", "\"function\"");
    /* after: a plain data property, like a browser's */
    expect_eval(ctx, "const d = Object.getOwnPropertyDescriptor(globalThis, 'Event');"
                     " [typeof d.value, d.writable, d.enumerable, d.configurable, 'get' in d]",
                "[\"function\",true,false,true,false]");
    /* assigning before use replaces it, as with any global */
    jsp_context *other = with_apis("events");
    expect_eval(other, "globalThis.AbortSignal = 5; AbortSignal", "5");
    expect_eval(other, "typeof AbortController", "\"function\"");
    jsp_context_free(ctx);
    jsp_context_free(other);
}

/* The accessors load with the Object.defineProperty the context started with: a guest
 * that replaces it first does not see the group's globals pass through its function, and
 * renaming an accessor cannot make it load a group the context lacks. */
Test(api_groups, lazy_globals_ignore_a_replaced_define_property)
{
    jsp_context *ctx = with_apis("events");
    expect_eval(ctx, "globalThis.seen = []; const define = Object.defineProperty;"
                     " Object.defineProperty = (o, n, d) => { if (o === globalThis) seen.push(n); return define(o, n, d); };"
                     " typeof EventTarget",
                "\"function\"");
    expect_eval(ctx, "const d = Reflect.getOwnPropertyDescriptor(globalThis, 'AbortSignal');"
                     " [seen, typeof d.value, 'get' in d]",
                "[[],\"function\",false]");
    jsp_context *other = with_apis("events");
    expect_eval(other, "const get = Reflect.getOwnPropertyDescriptor(globalThis, 'Event').get;"
                       " Reflect.defineProperty(get, 'name', {value: 'TextEncoder'});"
                       " [get(), typeof TextEncoder, typeof Reflect.getOwnPropertyDescriptor(globalThis, 'Event').get]",
                "[null,\"undefined\",\"function\"]");
    jsp_context_free(ctx);
    jsp_context_free(other);
}

Test(api_groups, event_target_dispatch_follows_the_dom_standard)
{
    jsp_context *ctx = with_apis("events");
    expect_eval(ctx,
                "const t = new EventTarget(), seen = [];"
                "const f = e => seen.push(['f', e.type, e.eventPhase, e.target === t, e.currentTarget === t]);"
                "t.addEventListener('ping', f); t.addEventListener('ping', f);" /* deduplicated */
                "t.addEventListener('ping', { handleEvent(e) { seen.push(['obj', e.cancelable]); } });"
                "t.addEventListener('ping', () => seen.push('once'), { once: true });"
                "const r1 = t.dispatchEvent(new Event('ping', { cancelable: true }));"
                "const r2 = t.dispatchEvent(new Event('ping'));"
                "t.removeEventListener('ping', f); t.dispatchEvent(new Event('ping'));"
                "[seen, r1, r2]",
                "[[[\"f\",\"ping\",2,true,true],[\"obj\",true],\"once\",[\"f\",\"ping\",2,true,true],[\"obj\",false],[\"obj\",false]],true,true]");
    expect_eval(ctx,
                "const u = new EventTarget(); let order = [];"
                "u.addEventListener('x', e => { order.push(1); e.preventDefault(); e.stopImmediatePropagation(); });"
                "u.addEventListener('x', () => order.push(2));"
                "u.addEventListener('y', e => e.preventDefault(), { passive: true });"
                "[u.dispatchEvent(new Event('x', { cancelable: true })), order,"
                " u.dispatchEvent(new Event('y', { cancelable: true }))]",
                "[false,[1],true]");
    expect_eval(ctx, "const c = new CustomEvent('c', { detail: { n: 1 } }); [c.detail.n, c instanceof Event,"
                     " Object.prototype.toString.call(c), new CustomEvent('d').detail]",
                "[1,true,\"[object CustomEvent]\",null]");
    expect_eval(ctx, "const errs = []; try { new Event() } catch (e) { errs.push(e.name) }"
                     " try { new EventTarget().dispatchEvent({ type: 'x' }) } catch (e) { errs.push(e.name) } errs",
                "[\"TypeError\",\"TypeError\"]");
    jsp_context_free(ctx);
}

Test(api_groups, abort_controller_and_signals)
{
    jsp_context *ctx = with_apis("events");
    expect_eval(ctx,
                "const c = new AbortController(), log = [];"
                "c.signal.onabort = e => log.push(['onabort', e.type]);"
                "c.signal.addEventListener('abort', () => log.push('listener'));"
                "c.abort(); c.abort();" /* the second is a no-op */
                "[c.signal.aborted, c.signal.reason instanceof DOMException, c.signal.reason.name,"
                " c.signal.reason.code, log]",
                "[true,true,\"AbortError\",20,[[\"onabort\",\"abort\"],\"listener\"]]");
    expect_eval(ctx, "const s = AbortSignal.abort('why'); let thrown; try { s.throwIfAborted() } catch (e) { thrown = e }"
                     " [s.aborted, s.reason, thrown]",
                "[true,\"why\",\"why\"]");
    expect_eval(ctx, "let e; try { new AbortSignal() } catch (x) { e = x.name } e", "\"TypeError\"");
    expect_eval(ctx, "const a = new AbortController(), b = new AbortController();"
                     " const any = AbortSignal.any([a.signal, b.signal]); b.abort('b first'); a.abort('a');"
                     " [any.aborted, any.reason]",
                "[true,\"b first\"]");
    expect_eval(ctx, "const t = new EventTarget(), ctl = new AbortController(); let n = 0;"
                     " t.addEventListener('x', () => n++, { signal: ctl.signal }); t.dispatchEvent(new Event('x'));"
                     " ctl.abort(); t.dispatchEvent(new Event('x')); n",
                "1");
    expect_eval(ctx, "new Promise(resolve => { const s = AbortSignal.timeout(20);"
                     " s.addEventListener('abort', () => resolve([s.aborted, s.reason.name])); })",
                "[true,\"TimeoutError\"]");
    expect_eval(ctx, "const d = new DOMException('m', 'NotFoundError');"
                     " [d.message, d.name, d.code, d instanceof Error, DOMException.NOT_FOUND_ERR, String(d)]",
                "[\"m\",\"NotFoundError\",8,true,8,\"NotFoundError: m\"]");
    jsp_context_free(ctx);
}

Test(api_groups, groups_survive_a_globals_reset_and_stay_per_context)
{
    jsp_context *a = with_apis("events");
    jsp_context *b = with_apis("events");
    free(eval_ok(a, "EventTarget.prototype.dispatchEvent = null; globalThis.extra = 1; 0"));
    expect_eval(b, "typeof EventTarget.prototype.dispatchEvent", "\"function\"");
    jsp_result *r = NULL;
    cr_assert_eq(jsp_globals_reset(a, &r), 0);
    cr_expect(strstr(r->json, "extra") && !strstr(r->json, "EventTarget"), "%s", r->json);
    jsp_result_free(r);
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(api_groups, text_encoder_and_decoder_follow_the_encoding_standard)
{
    jsp_context *ctx = with_apis("encoding");
    expect_eval(ctx, "Array.from(new TextEncoder().encode('a\\u00e9\\u20ac\\u{1F600}\\ud800'))",
                "[97,195,169,226,130,172,240,159,152,128,239,191,189]");
    expect_eval(ctx, "const d = new Uint8Array(4); const r = new TextEncoder().encodeInto('a\\u20ac\\u20ac', d);"
                     " [r.read, r.written, Array.from(d)]",
                "[2,4,[97,226,130,172]]");
    expect_eval(ctx, "const u = s => new Uint8Array(s); const t = new TextDecoder();"
                     " [t.decode(u([0xEF,0xBB,0xBF,0x68,0x69])), new TextDecoder('utf-8', {ignoreBOM: true}).decode(u([0xEF,0xBB,0xBF,0x68])).length,"
                     "  t.decode(u([0xF0,0x9F,0x98,0x80])), t.decode(u([0xC3])), t.decode(u([0xE2,0x82,0x41])), t.decode(u([0xED,0xA0,0x80])).length,"
                     "  t.decode(u([0xF5,0x80])).length, t.decode()]",
                "[\"hi\",2,\"\U0001F600\",\"\uFFFD\",\"\uFFFDA\",3,2,\"\"]");
    expect_eval(ctx, "const s = new TextDecoder(); const parts = [[0xE2],[0x82],[0xAC,0x41]].map(b => s.decode(new Uint8Array(b), {stream: true}));"
                     " parts.push(s.decode()); parts",
                "[\"\",\"\",\"\u20acA\",\"\"]");
    expect_eval(ctx, "let e; try { new TextDecoder('utf-8', {fatal: true}).decode(new Uint8Array([0xFF])) } catch (x) { e = x.name } e",
                "\"TypeError\"");
    expect_eval(ctx, "[new TextDecoder(' UTF-16 ').encoding, new TextDecoder('utf-16le').decode(new Uint8Array([0x3D,0xD8,0x00,0xDE,0x41,0x00])),"
                     " new TextDecoder('utf-16le').decode(new Uint8Array([0x00,0xD8,0x41,0x00])).length,"
                     " new TextDecoder('utf-16le').decode(new Uint8Array([0x00,0xD8,0x41])).length,"
                     " new TextDecoder('latin1').encoding, new TextDecoder('latin1').decode(new Uint8Array([0x80,0xE9]))]",
                "[\"utf-16le\",\"\U0001F600A\",2,1,\"windows-1252\",\"\u20ac\u00e9\"]");
    expect_eval(ctx, "const v4 = new Uint8Array([0x41,0x42,0x43,0x44]); [new TextDecoder().decode(v4.subarray(1, 3)),"
                     " new TextDecoder().decode(new DataView(v4.buffer, 2)), new TextDecoder().decode(v4.subarray(4))]",
                "[\"BC\",\"CD\",\"\"]");
    expect_eval(ctx, "let e2; try { new TextDecoder('klingon') } catch (x) { e2 = x.name } e2", "\"RangeError\"");
    expect_eval(ctx, "[new TextDecoder().decode(new TextEncoder().encode('round \\u00fc\\u{10FFFF}')), new TextDecoder().decode(new Uint16Array([0x6968]))]",
                "[\"round \u00fc\U0010FFFF\",\"hi\"]");
    jsp_context_free(ctx);
}

Test(api_groups, atob_and_btoa_are_forgiving_base64)
{
    jsp_context *ctx = with_apis("encoding");
    expect_eval(ctx, "[btoa(''), btoa('f'), btoa('fo'), btoa('foo'), btoa('\\u00ff\\u00fe'), atob('Zm9v'), atob(' Zm 9\\nv '),"
                     " atob('Zg'), atob('Zg=='), atob(btoa('\\u0000\\u0080\\u00ff'))]",
                "[\"\",\"Zg==\",\"Zm8=\",\"Zm9v\",\"//4=\",\"foo\",\"foo\",\"f\",\"f\",\"\\u0000\xc2\x80\xc3\xbf\"]");
    expect_eval(ctx, "const names = []; for (const f of [() => btoa('\\u0100'), () => atob('Z'), () => atob('Zm9v!'), () => atob('Zg=')])"
                     " { try { f(); names.push('none') } catch (e) { names.push(e.name + '/' + (e instanceof DOMException)) } } names",
                "[\"InvalidCharacterError/true\",\"InvalidCharacterError/true\",\"InvalidCharacterError/true\",\"InvalidCharacterError/true\"]");
    jsp_context_free(ctx);
}

Test(api_groups, structured_clone_keeps_types_cycles_and_sharing)
{
    jsp_context *ctx = with_apis("structured-clone");
    expect_eval(ctx,
                "const o = { n: 1, s: 'x', big: 10n, d: new Date(5), r: /a+/gi, m: new Map([[1, { k: 2 }]]),"
                " set: new Set(['a']), arr: [1, , 3], nested: { deep: [new Number(4), new String('q')] } };"
                "o.self = o; o.m.set('back', o);"
                "const c = structuredClone(o);"
                "[c !== o, c.self === c, c.m.get('back') === c, c.d instanceof Date && c.d.getTime(), c.r.source + c.r.flags,"
                " c.m.get(1).k, c.set.has('a'), 1 in c.arr, c.arr.length, typeof c.big, c.nested.deep[0] instanceof Number,"
                " String(c.nested.deep[1])]",
                "[true,true,true,5,\"a+gi\",2,true,false,3,\"bigint\",true,\"q\"]");
    expect_eval(ctx,
                "const buf = new ArrayBuffer(8); const a = new Uint8Array(buf, 2, 4); a[0] = 7;"
                "const v = new DataView(buf); const c2 = structuredClone({ a, v, buf });"
                "[c2.a.buffer === c2.buf, c2.v.buffer === c2.buf, c2.a[0], c2.a.byteOffset, c2.a.length, c2.buf !== buf,"
                " Object.prototype.toString.call(c2.a)]",
                "[true,true,7,2,4,true,\"[object Uint8Array]\"]");
    expect_eval(ctx,
                "const t = new ArrayBuffer(4); new Uint8Array(t)[3] = 9;"
                "const moved = structuredClone(t, { transfer: [t] });"
                "[t.byteLength, moved.byteLength, new Uint8Array(moved)[3]]",
                "[0,4,9]");
    expect_eval(ctx,
                "const e = structuredClone(new RangeError('bad', { cause: 1 })); [e instanceof RangeError, e.message, e.cause]",
                "[true,\"bad\",1]");
    expect_eval(ctx,
                "const names = []; for (const v of [() => 1, Symbol('s'), new WeakMap(), { f() {} }, Promise.resolve()])"
                " { try { structuredClone(v); names.push('cloned') } catch (x) { names.push(x.name) } }"
                " const b2 = new ArrayBuffer(1); try { structuredClone(1, { transfer: [b2, b2] }) } catch (x) { names.push(x.name) } names",
                "[\"DataCloneError\",\"DataCloneError\",\"DataCloneError\",\"DataCloneError\",\"DataCloneError\",\"DataCloneError\"]");
    jsp_context_free(ctx);
}

Test(api_groups, blob_file_and_a_node_buffer_subset)
{
    jsp_context *ctx = with_apis("buffer");
    expect_eval(ctx,
                "const b = new Blob(['h\\u00e9', new Uint8Array([33]), new Blob(['?'])], { type: 'Text/Plain' });"
                "Promise.all([b.text(), b.slice(1, -1).text(), b.arrayBuffer().then(a => a.byteLength)])"
                ".then(r => [b.size, b.type, ...r, b.slice(-1).size, Object.prototype.toString.call(b)])",
                "[5,\"text/plain\",\"h\u00e9!?\",\"\u00e9!\",5,1,\"[object Blob]\"]");
    expect_eval(ctx, "const f = new File(['abc'], 'a.txt', { lastModified: 42 }); [f.name, f.size, f.lastModified, f instanceof Blob]",
                "[\"a.txt\",3,42,true]");
    expect_eval(ctx,
                "const x = Buffer.from('h\\u00e9llo'); [x.length, x.toString(), x.toString('hex'), x.toString('base64'),"
                " Buffer.from('68c3a9', 'hex').toString(), Buffer.from('aMOp', 'base64').toString(), Buffer.from('aMOp_-', 'base64').length,"
                " Buffer.from([256 + 65, 66]).toString('latin1'), Buffer.byteLength('\\u20ac'), Buffer.isBuffer(x), x instanceof Uint8Array]",
                "[6,\"h\u00e9llo\",\"68c3a96c6c6f\",\"aMOpbGxv\",\"h\u00e9\",\"h\u00e9\",4,\"AB\",3,true,true]");
    expect_eval(ctx,
                "const c = Buffer.concat([Buffer.from('ab'), Buffer.from('cd')]); const v = c.slice(1, 3); v[0] = 90;"
                " [c.toString(), c.equals(Buffer.from('aZcd')), Buffer.concat([c], 2).toString(), Buffer.alloc(3, 1).toString('hex'),"
                " JSON.stringify(Buffer.from('hi'))]",
                "[\"aZcd\",true,\"aZ\",\"010101\",\"{\\\"type\\\":\\\"Buffer\\\",\\\"data\\\":[104,105]}\"]");
    expect_eval(ctx, "let e; try { Buffer.from('x', 'klingon') } catch (x) { e = x.name } e", "\"TypeError\"");
    jsp_context_free(ctx);
}
