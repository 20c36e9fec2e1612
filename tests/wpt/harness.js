// harness.js — jspool's own minimal stand-in for web-platform-tests' testharness.js: the
// test(), promise_test(), async_test() and assert_*() functions WPT-style test files use,
// recording one result per subtest. tests/wpt/test_wpt.c evaluates it first in a fresh
// context, then the test file, then `__wpt_finish()`, whose Promise gives the results.
(function (global) {
  'use strict';
  const results = [];
  const queue = [];     // promise_test bodies, run one after another as testharness does
  const pending = new Set();
  let finishing = null;

  class AssertionError extends Error {
    constructor(message) { super(message); this.name = 'AssertionError'; }
  }

  function format_value(v) {
    if (typeof v === 'string') {
      return '"' + v.replace(/[\u0000-\u001f\u007f-\u009f\\"\ud800-\udfff]/g, (c) =>
        c === '"' ? '\\"' : c === '\\' ? '\\\\' : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '"';
    }
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
    if (typeof v === 'bigint') return v + 'n';
    if (typeof v === 'symbol' || typeof v === 'function') return String(v);
    if (v === null || v === undefined || typeof v === 'boolean') return String(v);
    try { return Array.isArray(v) ? '[' + v.map(format_value).join(', ') + ']' : String(v); }
    catch (e) { return '[object]'; }
  }

  function fail(description, message) {
    throw new AssertionError((description ? description + ': ' : '') + message);
  }
  const same = (a, b) => (a === b ? a !== 0 || 1 / a === 1 / b : a !== a && b !== b);

  function assert_true(v, d) { if (v !== true) fail(d, 'expected true got ' + format_value(v)); }
  function assert_false(v, d) { if (v !== false) fail(d, 'expected false got ' + format_value(v)); }
  function assert_equals(a, e, d) {
    if (typeof a !== typeof e) fail(d, `expected (${typeof e}) ${format_value(e)} but got (${typeof a}) ${format_value(a)}`);
    if (!same(a, e)) fail(d, `expected ${format_value(e)} but got ${format_value(a)}`);
  }
  function assert_not_equals(a, e, d) { if (same(a, e)) fail(d, 'got disallowed value ' + format_value(a)); }
  function assert_in_array(a, list, d) { if (!list.includes(a)) fail(d, format_value(a) + ' not in ' + format_value(list)); }
  function assert_array_equals(a, e, d) {
    if (typeof a !== 'object' || a === null || !('length' in a)) fail(d, 'value is not array-like: ' + format_value(a));
    if (a.length !== e.length) fail(d, `lengths differ, expected ${e.length} got ${a.length}`);
    for (let i = 0; i < e.length; i++) {
      if (!same(a[i], e[i])) fail(d, `expected ${format_value(e[i])} at index ${i} but got ${format_value(a[i])}`);
    }
  }
  function assert_greater_than(a, e, d) { if (!(a > e)) fail(d, `expected a number greater than ${e} got ${format_value(a)}`); }
  function assert_less_than(a, e, d) { if (!(a < e)) fail(d, `expected a number less than ${e} got ${format_value(a)}`); }
  function assert_approx_equals(a, e, eps, d) { if (!(Math.abs(a - e) <= eps)) fail(d, `expected ${e} +/- ${eps} got ${a}`); }
  function assert_regexp_match(a, re, d) { if (!re.test(a)) fail(d, `expected ${format_value(a)} to match ${re}`); }
  function assert_class_string(o, cls, d) {
    const got = Object.prototype.toString.call(o);
    if (got !== `[object ${cls}]`) fail(d, `expected [object ${cls}] got ${got}`);
  }
  function assert_own_property(o, p, d) { if (!Object.prototype.hasOwnProperty.call(o, p)) fail(d, `expected own property ${String(p)}`); }
  function assert_not_own_property(o, p, d) { if (Object.prototype.hasOwnProperty.call(o, p)) fail(d, `unexpected own property ${String(p)}`); }
  function assert_unreached(d) { fail(d, 'reached unreachable code'); }

  function thrown(fn, d) {
    try { fn(); } catch (e) { return { e }; }
    fail(d, 'function did not throw');
  }
  function check_js(ctor, e, d) {
    if (typeof e !== 'object' || e === null || Object.getPrototypeOf(e) !== ctor.prototype) {
      fail(d, `expected a ${ctor.name} but got ${e && e.constructor ? e.constructor.name : format_value(e)}: ${e && e.message}`);
    }
  }
  const domCodes = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  function check_dom(name, e, d) {
    const DOMException = global.DOMException;
    if (!DOMException || !(e instanceof DOMException)) fail(d, `expected a DOMException ${name} but got ${format_value(e && e.name)}: ${e && e.message}`);
    if (e.name !== name) fail(d, `expected DOMException name ${name} but got ${e.name}`);
    if (e.code !== (domCodes[name] || 0)) fail(d, `expected DOMException code ${domCodes[name] || 0} but got ${e.code}`);
  }
  function assert_throws_js(ctor, fn, d) { check_js(ctor, thrown(fn, d).e, d); }
  function assert_throws_dom(name, fn, d) { check_dom(name, thrown(fn, d).e, d); }
  function assert_throws_exactly(value, fn, d) {
    const { e } = thrown(fn, d);
    if (!same(e, value)) fail(d, `expected ${format_value(value)} to be thrown but got ${format_value(e)}`);
  }
  async function rejection(t, p, d) {
    try { await p; } catch (e) { return e; }
    fail(d, 'promise did not reject');
  }
  const promise_rejects_js = (t, ctor, p, d) => rejection(t, p, d).then((e) => check_js(ctor, e, d));
  const promise_rejects_dom = (t, name, p, d) => rejection(t, p, d).then((e) => check_dom(name, e, d));
  const promise_rejects_exactly = (t, v, p, d) => rejection(t, p, d).then((e) => {
    if (!same(e, v)) fail(d, `expected ${format_value(v)} to be the rejection but got ${format_value(e)}`);
  });

  class Test {
    constructor(name) {
      this.name = name;
      this.status = null;
      this.cleanups = [];
      this.settled = new Promise((resolve) => { this.resolve = resolve; });
    }
    finish(status, message) {
      if (this.status !== null) return;
      this.status = status;
      for (const c of this.cleanups.splice(0)) { try { c(); } catch (e) { /* a cleanup failure is not the test's */ } }
      results.push({ name: this.name, status, message: message || '' });
      pending.delete(this);
      this.resolve();
    }
    step(fn, self, ...args) {
      if (this.status !== null) return undefined;
      try { return fn.apply(self === undefined ? this : self, args); }
      catch (e) { this.finish('FAIL', describe(e)); return undefined; }
    }
    step_func(fn, self) { return (...args) => this.step(fn, self, ...args); }
    step_func_done(fn, self) {
      return (...args) => { if (fn) this.step(fn, self, ...args); this.done(); };
    }
    unreached_func(d) { return this.step_func(() => assert_unreached(d)); }
    step_timeout(fn, ms) { return setTimeout(this.step_func(fn), ms); }
    add_cleanup(fn) { this.cleanups.push(fn); }
    done() { this.finish('PASS'); }
  }
  const describe = (e) => (e && e.name ? e.name + ': ' + e.message : format_value(e));

  let counter = 0;
  const nameOf = (name) => (name === undefined ? 'subtest ' + ++counter : String(name));

  function test(fn, name) {
    const t = new Test(nameOf(name));
    t.step(fn, t, t);
    t.finish('PASS');
  }
  function async_test(fn, name) {
    if (typeof fn !== 'function') { name = fn; fn = null; }
    const t = new Test(nameOf(name));
    pending.add(t);
    if (fn) t.step(fn, t, t);
    return t;
  }
  function promise_test(fn, name) {
    const t = new Test(nameOf(name));
    queue.push(async () => {
      try {
        const value = t.step(fn, t, t);
        if (t.status === null && (!value || typeof value.then !== 'function')) {
          t.finish('FAIL', 'promise_test: the test function did not return a promise');
        }
        await value;
        t.finish('PASS');
      } catch (e) {
        t.finish('FAIL', describe(e));
      }
    });
  }

  // Settles once every test has, or after timeoutMs with the stragglers as TIMEOUT.
  function __wpt_finish(timeoutMs = 5000) {
    if (finishing) return finishing;
    finishing = (async () => {
      for (const run of queue.splice(0)) await run();
      let timer;
      const limit = new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs); });
      await Promise.race([Promise.all([...pending].map((t) => t.settled)), limit]);
      clearTimeout(timer);
      for (const t of [...pending]) t.finish('TIMEOUT', 'the test did not finish in ' + timeoutMs + ' ms');
      return results;
    })();
    return finishing;
  }

  Object.assign(global, {
    test, async_test, promise_test, format_value, done() {}, setup() {},
    assert_true, assert_false, assert_equals, assert_not_equals, assert_in_array, assert_array_equals,
    assert_greater_than, assert_less_than, assert_approx_equals, assert_regexp_match, assert_class_string,
    assert_own_property, assert_not_own_property, assert_unreached, assert_throws_js, assert_throws_dom,
    assert_throws_exactly, promise_rejects_js, promise_rejects_dom, promise_rejects_exactly, __wpt_finish,
  });
})(globalThis);
