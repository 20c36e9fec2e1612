// streams.js — the `streams` group: the WHATWG Streams Standard's default (non-byte)
// streams: ReadableStream (readers, tee, pipeTo/pipeThrough, from, async iteration),
// WritableStream, TransformStream, the queuing strategies, and TextEncoderStream /
// TextDecoderStream. Readable byte streams (type: 'bytes', BYOB readers) are not here.
// Depends on `events` (AbortSignal for pipeTo and the writable controller's signal) and
// `encoding`. Evaluates to a function(globalThis, natives) returning the group's globals.
(function (global, natives) {
  'use strict';
  const AbortController = global.AbortController;
  const AbortSignal = global.AbortSignal;
  const DOMException = global.DOMException;
  const TextEncoder = global.TextEncoder;
  const TextDecoder = global.TextDecoder;

  const noop = () => {};
  const resolved = (v) => Promise.resolve(v);
  const rejected = (e) => { const p = Promise.reject(e); p.then(undefined, noop); return p; };
  const markHandled = (p) => { p.then(undefined, noop); };
  const upon = (p, onFulfilled, onRejected) => { p.then(onFulfilled, onRejected).then(undefined, noop); };
  const isObject = (x) => (typeof x === 'object' && x !== null) || typeof x === 'function';
  function deferred() {
    const d = {};
    d.settled = false;
    d.promise = new Promise((resolve, reject) => {
      d.resolve = (v) => { d.settled = true; resolve(v); };
      d.reject = (e) => { d.settled = true; reject(e); };
    });
    return d;
  }
  // Calls obj[name](...args) if it is there, as a promise (the spec's "invoking" a callback).
  function method(obj, name, what) {
    if (obj === undefined) return undefined;
    const f = obj[name];
    if (f === undefined || f === null) return undefined;
    if (typeof f !== 'function') throw new TypeError(`${what}: '${name}' must be a function`);
    return f;
  }
  function promiseCall(f, self, args) {
    try { return resolved(f.apply(self, args)); } catch (e) { return rejected(e); }
  }
  function dictOf(value, what) {
    if (value === undefined || value === null) return {};
    if (!isObject(value)) throw new TypeError(`${what} must be an object`);
    return value;
  }

  // ---- queue-with-sizes ----
  class Queue {
    constructor() { this.items = []; this.head = 0; this.totalSize = 0; }
    get length() { return this.items.length - this.head; }
    push(value, size) { this.items.push({ value, size }); }
    shift() {
      const item = this.items[this.head];
      this.items[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
      return item;
    }
    peek() { return this.items[this.head]; }
    reset() { this.items = []; this.head = 0; this.totalSize = 0; }
  }
  function enqueueValueWithSize(container, value, size) {
    size = Number(size);
    if (!(size >= 0) || size === Infinity) throw new RangeError('The chunk size must be a finite, non-negative number');
    container.queue.push(value, size);
    container.queue.totalSize += size;
  }
  function dequeueValue(container) {
    const item = container.queue.shift();
    container.queue.totalSize -= item.size;
    if (container.queue.totalSize < 0) container.queue.totalSize = 0; // rounding
    return item.value;
  }

  function extractHighWaterMark(strategy, defaultHWM) {
    if (strategy.highWaterMark === undefined) return defaultHWM;
    const hwm = Number(strategy.highWaterMark);
    if (Number.isNaN(hwm) || hwm < 0) throw new RangeError('highWaterMark must be a non-negative number');
    return hwm;
  }
  function extractSizeAlgorithm(strategy) {
    const size = strategy.size;
    if (size === undefined) return () => 1;
    if (typeof size !== 'function') throw new TypeError("The strategy's size must be a function");
    return (chunk) => size(chunk);
  }

  // Internal records reach their public objects through `pub`; the public classes reach
  // their records through a private field and the static accessors below.
  let streamOf, readerOf, writableOf, writerOf, rControllerOf, wControllerOf, transformOf, tControllerOf;
  let mayConstruct = false, isBare = false;
  function construct(Class, ...args) {
    mayConstruct = true;
    try { return new Class(...args); } finally { mayConstruct = false; }
  }
  // A stream object with a fresh record and no controller yet (tee, from, transforms).
  function bare(Class) {
    isBare = true;
    try { return new Class(); } finally { isBare = false; }
  }
  function illegal() { if (!mayConstruct) throw new TypeError('Illegal constructor'); }

  // =====================================================================
  // ReadableStream
  // =====================================================================
  function newReadableRecord(pub) {
    return { pub, state: 'readable', reader: undefined, storedError: undefined, disturbed: false, controller: undefined };
  }

  class ReadableStream {
    #s;
    constructor(underlyingSource = undefined, strategy = undefined) {
      this.#s = newReadableRecord(this);
      if (isBare) return;
      if (underlyingSource === null) underlyingSource = undefined;
      if (underlyingSource !== undefined && !isObject(underlyingSource))
        throw new TypeError('ReadableStream: the underlying source must be an object');
      strategy = dictOf(strategy, 'ReadableStream: the strategy');
      const type = underlyingSource === undefined ? undefined : underlyingSource.type;
      if (type !== undefined) {
        if (String(type) === 'bytes')
          throw new RangeError("ReadableStream: byte streams (type: 'bytes') are not supported");
        throw new TypeError(`ReadableStream: '${type}' is not a valid stream type`);
      }
      const sizeAlgorithm = extractSizeAlgorithm(strategy);
      const hwm = extractHighWaterMark(strategy, 1);
      setUpControllerFromSource(this.#s, underlyingSource, hwm, sizeAlgorithm);
    }
    static { streamOf = (o) => (isObject(o) && #s in o ? o.#s : undefined); }
    static #check(o, what) {
      const s = streamOf(o);
      if (!s) throw new TypeError(`ReadableStream.${what}: this is not a ReadableStream`);
      return s;
    }

    get locked() { return ReadableStream.#check(this, 'locked').reader !== undefined; }

    cancel(reason = undefined) {
      const s = streamOf(this);
      if (!s) return rejected(new TypeError('ReadableStream.cancel: this is not a ReadableStream'));
      if (s.reader !== undefined) return rejected(new TypeError('ReadableStream.cancel: the stream is locked to a reader'));
      return readableStreamCancel(s, reason);
    }

    getReader(options = undefined) {
      const s = ReadableStream.#check(this, 'getReader');
      options = dictOf(options, 'ReadableStream.getReader: options');
      if (options.mode !== undefined) {
        if (String(options.mode) === 'byob')
          throw new TypeError("ReadableStream.getReader: BYOB readers need a byte stream, which is not supported");
        throw new TypeError(`ReadableStream.getReader: '${options.mode}' is not a valid reader mode`);
      }
      return construct(ReadableStreamDefaultReader, this);
    }

    pipeThrough(transform, options = undefined) {
      const s = ReadableStream.#check(this, 'pipeThrough');
      if (!isObject(transform)) throw new TypeError('ReadableStream.pipeThrough: the transform must be an object');
      const readable = transform.readable, writable = transform.writable;
      const rs = streamOf(readable);
      if (!rs) throw new TypeError('ReadableStream.pipeThrough: transform.readable is not a ReadableStream');
      const ws = writableOf(writable);
      if (!ws) throw new TypeError('ReadableStream.pipeThrough: transform.writable is not a WritableStream');
      const opts = pipeOptions(options, 'ReadableStream.pipeThrough');
      if (s.reader !== undefined) throw new TypeError('ReadableStream.pipeThrough: the stream is locked');
      if (ws.writer !== undefined) throw new TypeError('ReadableStream.pipeThrough: the writable side is locked');
      markHandled(readableStreamPipeTo(s, ws, opts));
      return readable;
    }

    pipeTo(destination, options = undefined) {
      const s = streamOf(this);
      if (!s) return rejected(new TypeError('ReadableStream.pipeTo: this is not a ReadableStream'));
      const ws = writableOf(destination);
      if (!ws) return rejected(new TypeError('ReadableStream.pipeTo: the destination is not a WritableStream'));
      let opts;
      try { opts = pipeOptions(options, 'ReadableStream.pipeTo'); } catch (e) { return rejected(e); }
      if (s.reader !== undefined) return rejected(new TypeError('ReadableStream.pipeTo: the stream is locked'));
      if (ws.writer !== undefined) return rejected(new TypeError('ReadableStream.pipeTo: the destination is locked'));
      return readableStreamPipeTo(s, ws, opts);
    }

    tee() {
      const s = ReadableStream.#check(this, 'tee');
      return readableStreamDefaultTee(s);
    }

    values(options = undefined) {
      const s = ReadableStream.#check(this, 'values');
      options = dictOf(options, 'ReadableStream.values: options');
      const reader = construct(ReadableStreamDefaultReader, this);
      return makeAsyncIterator(readerOf(reader), !!options.preventCancel);
    }

    static from(asyncIterable) { return readableStreamFromIterable(asyncIterable); }
  }
  Object.defineProperty(ReadableStream.prototype, Symbol.asyncIterator,
    { value: ReadableStream.prototype.values, writable: true, configurable: true });

  function pipeOptions(options, what) {
    options = dictOf(options, `${what}: options`);
    const signal = options.signal;
    if (signal !== undefined && !(AbortSignal && signal instanceof AbortSignal))
      throw new TypeError(`${what}: 'signal' is not an AbortSignal`);
    return { preventAbort: !!options.preventAbort, preventCancel: !!options.preventCancel,
      preventClose: !!options.preventClose, signal };
  }

  // A stream whose controller runs the given algorithms (used by tee, from, transforms).
  function createReadableStream(startAlgorithm, pullAlgorithm, cancelAlgorithm, hwm = 1, sizeAlgorithm = () => 1) {
    const s = streamOf(bare(ReadableStream));
    const controller = construct(ReadableStreamDefaultController);
    setUpReadableController(s, rControllerOf(controller), startAlgorithm, pullAlgorithm, cancelAlgorithm, hwm, sizeAlgorithm);
    return s;
  }

  function readableStreamCancel(s, reason) {
    s.disturbed = true;
    if (s.state === 'closed') return resolved(undefined);
    if (s.state === 'errored') return rejected(s.storedError);
    readableStreamClose(s);
    return s.controller.cancelSteps(reason).then(noop);
  }
  function readableStreamClose(s) {
    s.state = 'closed';
    const r = s.reader;
    if (r === undefined) return;
    r.closed.resolve(undefined);
    const requests = r.readRequests;
    r.readRequests = [];
    for (const req of requests) req.closeSteps();
  }
  function readableStreamError(s, e) {
    s.state = 'errored';
    s.storedError = e;
    const r = s.reader;
    if (r === undefined) return;
    r.closed.reject(e);
    markHandled(r.closed.promise);
    const requests = r.readRequests;
    r.readRequests = [];
    for (const req of requests) req.errorSteps(e);
  }
  function readableStreamFulfillReadRequest(s, chunk, done) {
    const req = s.reader.readRequests.shift();
    if (done) req.closeSteps(); else req.chunkSteps(chunk);
  }
  const numReadRequests = (s) => s.reader.readRequests.length;
  const hasDefaultReader = (s) => s.reader !== undefined;

  // ---- ReadableStreamDefaultReader ----
  class ReadableStreamDefaultReader {
    #r;
    constructor(stream) {
      const s = streamOf(stream);
      if (!s) throw new TypeError('ReadableStreamDefaultReader: the argument is not a ReadableStream');
      if (s.reader !== undefined) throw new TypeError('ReadableStreamDefaultReader: the stream is locked to another reader');
      this.#r = { pub: this, stream: undefined, closed: deferred(), readRequests: [] };
      readerGenericInitialize(this.#r, s);
    }
    static { readerOf = (o) => (isObject(o) && #r in o ? o.#r : undefined); }
    static #check(o, what) {
      const r = readerOf(o);
      if (!r) throw new TypeError(`ReadableStreamDefaultReader.${what}: this is not a ReadableStreamDefaultReader`);
      return r;
    }
    get closed() {
      const r = readerOf(this);
      if (!r) return rejected(new TypeError('ReadableStreamDefaultReader.closed: this is not a reader'));
      return r.closed.promise;
    }
    cancel(reason = undefined) {
      const r = readerOf(this);
      if (!r) return rejected(new TypeError('ReadableStreamDefaultReader.cancel: this is not a reader'));
      if (r.stream === undefined) return rejected(new TypeError('ReadableStreamDefaultReader.cancel: the reader is released'));
      return readableStreamCancel(r.stream, reason);
    }
    read() {
      const r = readerOf(this);
      if (!r) return rejected(new TypeError('ReadableStreamDefaultReader.read: this is not a reader'));
      if (r.stream === undefined) return rejected(new TypeError('ReadableStreamDefaultReader.read: the reader is released'));
      const d = deferred();
      readerRead(r, {
        chunkSteps: (chunk) => d.resolve({ value: chunk, done: false }),
        closeSteps: () => d.resolve({ value: undefined, done: true }),
        errorSteps: (e) => d.reject(e),
      });
      return d.promise;
    }
    releaseLock() {
      const r = ReadableStreamDefaultReader.#check(this, 'releaseLock');
      if (r.stream === undefined) return;
      readerRelease(r);
    }
  }

  function readerGenericInitialize(r, s) {
    r.stream = s;
    s.reader = r;
    if (s.state === 'readable') {
      r.closed = deferred();
    } else if (s.state === 'closed') {
      r.closed = deferred();
      r.closed.resolve(undefined);
    } else {
      r.closed = deferred();
      r.closed.reject(s.storedError);
      markHandled(r.closed.promise);
    }
  }
  function readerRead(r, req) {
    const s = r.stream;
    s.disturbed = true;
    if (s.state === 'closed') req.closeSteps();
    else if (s.state === 'errored') req.errorSteps(s.storedError);
    else s.controller.pullSteps(req);
  }
  function readerRelease(r) {
    const s = r.stream;
    const e = new TypeError('The reader was released');
    if (s.state === 'readable') r.closed.reject(e);
    else { r.closed = deferred(); r.closed.reject(e); }
    markHandled(r.closed.promise);
    s.controller.releaseSteps();
    s.reader = undefined;
    r.stream = undefined;
    const requests = r.readRequests;
    r.readRequests = [];
    for (const req of requests) req.errorSteps(e);
  }
  // Acquires a default reader on a stream record; returns the reader record.
  function acquireReader(s) { return readerOf(construct(ReadableStreamDefaultReader, s.pub)); }

  // ---- ReadableStreamDefaultController ----
  class ReadableStreamDefaultController {
    #c;
    constructor() {
      illegal();
      this.#c = { pub: this };
    }
    static { rControllerOf = (o) => (isObject(o) && #c in o ? o.#c : undefined); }
    static #check(o, what) {
      const c = rControllerOf(o);
      if (!c) throw new TypeError(`ReadableStreamDefaultController.${what}: this is not a ReadableStreamDefaultController`);
      return c;
    }
    get desiredSize() { return rcDesiredSize(ReadableStreamDefaultController.#check(this, 'desiredSize')); }
    close() {
      const c = ReadableStreamDefaultController.#check(this, 'close');
      if (!rcCanCloseOrEnqueue(c)) throw new TypeError('ReadableStreamDefaultController.close: the stream is not readable');
      rcClose(c);
    }
    enqueue(chunk = undefined) {
      const c = ReadableStreamDefaultController.#check(this, 'enqueue');
      if (!rcCanCloseOrEnqueue(c)) throw new TypeError('ReadableStreamDefaultController.enqueue: the stream is not readable');
      rcEnqueue(c, chunk);
    }
    error(e = undefined) { rcError(ReadableStreamDefaultController.#check(this, 'error'), e); }
  }

  function setUpControllerFromSource(s, source, hwm, sizeAlgorithm) {
    const controller = construct(ReadableStreamDefaultController);
    const c = rControllerOf(controller);
    const start = method(source, 'start', 'ReadableStream');
    const pull = method(source, 'pull', 'ReadableStream');
    const cancel = method(source, 'cancel', 'ReadableStream');
    setUpReadableController(s, c,
      start ? () => start.call(source, controller) : noop,
      pull ? () => promiseCall(pull, source, [controller]) : () => resolved(undefined),
      cancel ? (reason) => promiseCall(cancel, source, [reason]) : () => resolved(undefined),
      hwm, sizeAlgorithm);
  }

  function setUpReadableController(s, c, startAlgorithm, pullAlgorithm, cancelAlgorithm, hwm, sizeAlgorithm) {
    Object.assign(c, {
      stream: s, queue: new Queue(), started: false, closeRequested: false, pullAgain: false, pulling: false,
      strategySizeAlgorithm: sizeAlgorithm, strategyHWM: hwm, pullAlgorithm, cancelAlgorithm,
      cancelSteps(reason) {
        c.queue.reset();
        const result = c.cancelAlgorithm(reason);
        rcClearAlgorithms(c);
        return result;
      },
      pullSteps(req) {
        if (c.queue.length > 0) {
          const chunk = dequeueValue(c);
          if (c.closeRequested && c.queue.length === 0) {
            rcClearAlgorithms(c);
            readableStreamClose(s);
          } else {
            rcCallPullIfNeeded(c);
          }
          req.chunkSteps(chunk);
        } else {
          s.reader.readRequests.push(req);
          rcCallPullIfNeeded(c);
        }
      },
      releaseSteps() {},
    });
    s.controller = c;
    const startResult = startAlgorithm();
    upon(resolved(startResult), () => {
      c.started = true;
      rcCallPullIfNeeded(c);
    }, (r) => rcError(c, r));
  }

  function rcCallPullIfNeeded(c) {
    if (!rcShouldCallPull(c)) return;
    if (c.pulling) { c.pullAgain = true; return; }
    c.pulling = true;
    upon(c.pullAlgorithm(), () => {
      c.pulling = false;
      if (c.pullAgain) { c.pullAgain = false; rcCallPullIfNeeded(c); }
    }, (e) => rcError(c, e));
  }
  function rcShouldCallPull(c) {
    const s = c.stream;
    if (!rcCanCloseOrEnqueue(c) || !c.started) return false;
    if (hasDefaultReader(s) && numReadRequests(s) > 0) return true;
    return rcDesiredSize(c) > 0;
  }
  function rcClearAlgorithms(c) {
    c.pullAlgorithm = undefined;
    c.cancelAlgorithm = undefined;
    c.strategySizeAlgorithm = undefined;
  }
  function rcClose(c) {
    if (!rcCanCloseOrEnqueue(c)) return;
    c.closeRequested = true;
    if (c.queue.length === 0) {
      rcClearAlgorithms(c);
      readableStreamClose(c.stream);
    }
  }
  function rcEnqueue(c, chunk) {
    if (!rcCanCloseOrEnqueue(c)) return;
    const s = c.stream;
    if (hasDefaultReader(s) && numReadRequests(s) > 0) {
      readableStreamFulfillReadRequest(s, chunk, false);
    } else {
      let size;
      try { size = c.strategySizeAlgorithm(chunk); } catch (e) { rcError(c, e); throw e; }
      try { enqueueValueWithSize(c, chunk, size); } catch (e) { rcError(c, e); throw e; }
    }
    rcCallPullIfNeeded(c);
  }
  function rcError(c, e) {
    const s = c.stream;
    if (s.state !== 'readable') return;
    c.queue.reset();
    rcClearAlgorithms(c);
    readableStreamError(s, e);
  }
  function rcDesiredSize(c) {
    const state = c.stream.state;
    if (state === 'errored') return null;
    if (state === 'closed') return 0;
    return c.strategyHWM - c.queue.totalSize;
  }
  const rcHasBackpressure = (c) => !rcShouldCallPull(c);
  const rcCanCloseOrEnqueue = (c) => !c.closeRequested && c.stream.state === 'readable';

  // ---- tee ----
  function readableStreamDefaultTee(s) {
    const reader = acquireReader(s);
    let reading = false, readAgain = false, canceled1 = false, canceled2 = false, reason1, reason2;
    let branch1, branch2;
    const cancelPromise = deferred();
    function pullAlgorithm() {
      if (reading) { readAgain = true; return resolved(undefined); }
      reading = true;
      readerRead(reader, {
        chunkSteps: (chunk) => resolved().then(() => {
          readAgain = false;
          if (!canceled1) rcEnqueue(branch1.controller, chunk);
          if (!canceled2) rcEnqueue(branch2.controller, chunk);
          reading = false;
          if (readAgain) pullAlgorithm();
        }),
        closeSteps: () => {
          reading = false;
          if (!canceled1) rcClose(branch1.controller);
          if (!canceled2) rcClose(branch2.controller);
          if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
        },
        errorSteps: () => { reading = false; },
      });
      return resolved(undefined);
    }
    function cancel1(reason) {
      canceled1 = true;
      reason1 = reason;
      if (canceled2) cancelPromise.resolve(readableStreamCancel(s, [reason1, reason2]));
      return cancelPromise.promise;
    }
    function cancel2(reason) {
      canceled2 = true;
      reason2 = reason;
      if (canceled1) cancelPromise.resolve(readableStreamCancel(s, [reason1, reason2]));
      return cancelPromise.promise;
    }
    branch1 = createReadableStream(noop, pullAlgorithm, cancel1);
    branch2 = createReadableStream(noop, pullAlgorithm, cancel2);
    upon(reader.closed.promise, undefined, (r) => {
      rcError(branch1.controller, r);
      rcError(branch2.controller, r);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    });
    return [branch1.pub, branch2.pub];
  }

  // ---- from(asyncIterable) ----
  function readableStreamFromIterable(asyncIterable) {
    if (asyncIterable === null || asyncIterable === undefined)
      throw new TypeError('ReadableStream.from: the argument is not iterable');
    let iterator, nextMethod;
    const asyncMethod = asyncIterable[Symbol.asyncIterator];
    if (asyncMethod !== undefined && asyncMethod !== null) {
      if (typeof asyncMethod !== 'function') throw new TypeError('ReadableStream.from: Symbol.asyncIterator is not a function');
      iterator = asyncMethod.call(asyncIterable);
    } else {
      const syncMethod = asyncIterable[Symbol.iterator];
      if (typeof syncMethod !== 'function') throw new TypeError('ReadableStream.from: the argument is not iterable');
      const syncIterator = syncMethod.call(asyncIterable);
      if (!isObject(syncIterator)) throw new TypeError('ReadableStream.from: the iterator is not an object');
      const syncNext = syncIterator.next;
      // CreateAsyncFromSyncIterator: values that are promises are awaited.
      iterator = {
        next() {
          const r = syncNext.call(syncIterator);
          if (!isObject(r)) throw new TypeError('ReadableStream.from: the iterator result is not an object');
          const done = !!r.done;
          return Promise.resolve(r.value).then((value) => ({ value, done }));
        },
        return(value) {
          const ret = syncIterator.return;
          if (ret === undefined || ret === null) return Promise.resolve({ value, done: true });
          const r = ret.call(syncIterator, value);
          if (!isObject(r)) throw new TypeError('ReadableStream.from: the iterator result is not an object');
          return Promise.resolve(r.value).then((v) => ({ value: v, done: true }));
        },
      };
    }
    if (!isObject(iterator)) throw new TypeError('ReadableStream.from: the iterator is not an object');
    nextMethod = iterator.next;
    let stream;
    const pullAlgorithm = () => {
      let nextResult;
      try { nextResult = nextMethod.call(iterator); } catch (e) { return rejected(e); }
      return resolved(nextResult).then((result) => {
        if (!isObject(result)) throw new TypeError('ReadableStream.from: the iterator result is not an object');
        if (result.done) rcClose(stream.controller);
        else rcEnqueue(stream.controller, result.value);
      });
    };
    const cancelAlgorithm = (reason) => {
      let returnMethod;
      try { returnMethod = iterator.return; } catch (e) { return rejected(e); }
      if (returnMethod === undefined || returnMethod === null) return resolved(undefined);
      let returnResult;
      try { returnResult = returnMethod.call(iterator, reason); } catch (e) { return rejected(e); }
      return resolved(returnResult).then((r) => {
        if (!isObject(r)) throw new TypeError('ReadableStream.from: the iterator return() result is not an object');
      });
    };
    stream = createReadableStream(noop, pullAlgorithm, cancelAlgorithm, 0);
    return stream.pub;
  }

  // ---- async iteration ----
  const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);
  const ReadableStreamAsyncIteratorPrototype = Object.create(AsyncIteratorPrototype);
  const iterators = new WeakMap();
  function makeAsyncIterator(reader, preventCancel) {
    const it = Object.create(ReadableStreamAsyncIteratorPrototype);
    iterators.set(it, { reader, preventCancel, ongoing: undefined, isFinished: false });
    return it;
  }
  function iteratorNext(state) {
    if (state.isFinished) return resolved({ value: undefined, done: true });
    const r = state.reader;
    if (r.stream === undefined) return rejected(new TypeError('The iterator\'s reader was released'));
    const d = deferred();
    readerRead(r, {
      chunkSteps: (chunk) => d.resolve({ value: chunk, done: false }),
      closeSteps: () => { readerRelease(r); state.isFinished = true; d.resolve({ value: undefined, done: true }); },
      errorSteps: (e) => { readerRelease(r); state.isFinished = true; d.reject(e); },
    });
    return d.promise;
  }
  function iteratorReturn(state, value) {
    if (state.isFinished) return resolved({ value, done: true });
    state.isFinished = true;
    const r = state.reader;
    if (r.stream === undefined) return rejected(new TypeError('The iterator\'s reader was released'));
    if (!state.preventCancel) {
      const s = r.stream;
      const result = readableStreamCancel(s, value);
      readerRelease(r);
      return result.then(() => ({ value, done: true }));
    }
    readerRelease(r);
    return resolved({ value, done: true });
  }
  Object.defineProperties(ReadableStreamAsyncIteratorPrototype, {
    next: { writable: true, configurable: true, enumerable: true, value: function next() {
      const state = iterators.get(this);
      if (!state) return rejected(new TypeError('next: this is not a ReadableStream async iterator'));
      // Calls chain so that a next() after return() sees the finished state (WebIDL).
      const run = () => iteratorNext(state);
      state.ongoing = state.ongoing ? state.ongoing.then(run, run) : run();
      const p = state.ongoing;
      const clear = () => { if (state.ongoing === p) state.ongoing = undefined; };
      p.then(clear, clear);
      return p;
    } },
    return: { writable: true, configurable: true, enumerable: true, value: function (value) {
      const state = iterators.get(this);
      if (!state) return rejected(new TypeError('return: this is not a ReadableStream async iterator'));
      const run = () => iteratorReturn(state, value);
      const p = state.ongoing ? state.ongoing.then(run, run) : run();
      state.ongoing = p;
      const clear = () => { if (state.ongoing === p) state.ongoing = undefined; };
      p.then(clear, clear);
      return p;
    } },
    [Symbol.toStringTag]: { value: 'ReadableStream AsyncIterator', configurable: true },
  });

  // =====================================================================
  // WritableStream
  // =====================================================================
  function newWritableRecord(pub) {
    return { pub, state: 'writable', storedError: undefined, writer: undefined, controller: undefined,
      inFlightWriteRequest: undefined, closeRequest: undefined, inFlightCloseRequest: undefined,
      pendingAbortRequest: undefined, writeRequests: [], backpressure: false };
  }

  class WritableStream {
    #w;
    constructor(underlyingSink = undefined, strategy = undefined) {
      this.#w = newWritableRecord(this);
      if (isBare) return;
      if (underlyingSink === null) underlyingSink = undefined;
      if (underlyingSink !== undefined && !isObject(underlyingSink))
        throw new TypeError('WritableStream: the underlying sink must be an object');
      strategy = dictOf(strategy, 'WritableStream: the strategy');
      if (underlyingSink !== undefined && underlyingSink.type !== undefined)
        throw new RangeError('WritableStream: the sink type must be undefined');
      const sizeAlgorithm = extractSizeAlgorithm(strategy);
      const hwm = extractHighWaterMark(strategy, 1);
      setUpWritableControllerFromSink(this.#w, underlyingSink, hwm, sizeAlgorithm);
    }
    static { writableOf = (o) => (isObject(o) && #w in o ? o.#w : undefined); }
    get locked() {
      const w = writableOf(this);
      if (!w) throw new TypeError('WritableStream.locked: this is not a WritableStream');
      return w.writer !== undefined;
    }
    abort(reason = undefined) {
      const w = writableOf(this);
      if (!w) return rejected(new TypeError('WritableStream.abort: this is not a WritableStream'));
      if (w.writer !== undefined) return rejected(new TypeError('WritableStream.abort: the stream is locked to a writer'));
      return writableStreamAbort(w, reason);
    }
    close() {
      const w = writableOf(this);
      if (!w) return rejected(new TypeError('WritableStream.close: this is not a WritableStream'));
      if (w.writer !== undefined) return rejected(new TypeError('WritableStream.close: the stream is locked to a writer'));
      if (closeQueuedOrInFlight(w)) return rejected(new TypeError('WritableStream.close: the stream is already closing'));
      return writableStreamClose(w);
    }
    getWriter() {
      if (!writableOf(this)) throw new TypeError('WritableStream.getWriter: this is not a WritableStream');
      return construct(WritableStreamDefaultWriter, this);
    }
  }

  function createWritableStream(startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, hwm, sizeAlgorithm) {
    const w = writableOf(bare(WritableStream));
    const controller = construct(WritableStreamDefaultController);
    setUpWritableController(w, wControllerOf(controller), startAlgorithm, writeAlgorithm, closeAlgorithm,
      abortAlgorithm, hwm, sizeAlgorithm);
    return w;
  }

  function writableStreamAbort(w, reason) {
    if (w.state === 'closed' || w.state === 'errored') return resolved(undefined);
    wcSignalAbort(w.controller, reason);
    const state = w.state;
    if (state === 'closed' || state === 'errored') return resolved(undefined);
    if (w.pendingAbortRequest !== undefined) return w.pendingAbortRequest.promise;
    let wasAlreadyErroring = false;
    if (state === 'erroring') { wasAlreadyErroring = true; reason = undefined; }
    const d = deferred();
    w.pendingAbortRequest = { promise: d.promise, resolve: d.resolve, reject: d.reject, reason, wasAlreadyErroring };
    if (!wasAlreadyErroring) writableStreamStartErroring(w, reason);
    return d.promise;
  }
  function writableStreamClose(w) {
    const state = w.state;
    if (state === 'closed' || state === 'errored')
      return rejected(new TypeError('The stream is closed or errored'));
    const d = deferred();
    w.closeRequest = d;
    const writer = w.writer;
    if (writer !== undefined && w.backpressure && state === 'writable') writer.ready.resolve(undefined);
    wcClose(w.controller);
    return d.promise;
  }
  function writableStreamAddWriteRequest(w) {
    const d = deferred();
    w.writeRequests.push(d);
    return d.promise;
  }
  const closeQueuedOrInFlight = (w) => w.closeRequest !== undefined || w.inFlightCloseRequest !== undefined;
  function writableStreamDealWithRejection(w, error) {
    if (w.state === 'writable') { writableStreamStartErroring(w, error); return; }
    writableStreamFinishErroring(w);
  }
  function writableStreamStartErroring(w, reason) {
    const c = w.controller;
    w.state = 'erroring';
    w.storedError = reason;
    const writer = w.writer;
    if (writer !== undefined) writerEnsureReadyPromiseRejected(writer, reason);
    if (!hasOperationMarkedInFlight(w) && c.started) writableStreamFinishErroring(w);
  }
  function writableStreamFinishErroring(w) {
    w.state = 'errored';
    w.controller.errorSteps();
    const storedError = w.storedError;
    for (const req of w.writeRequests) req.reject(storedError);
    w.writeRequests = [];
    if (w.pendingAbortRequest === undefined) { rejectCloseAndClosedPromiseIfNeeded(w); return; }
    const abortRequest = w.pendingAbortRequest;
    w.pendingAbortRequest = undefined;
    if (abortRequest.wasAlreadyErroring) {
      abortRequest.reject(storedError);
      rejectCloseAndClosedPromiseIfNeeded(w);
      return;
    }
    const promise = w.controller.abortSteps(abortRequest.reason);
    upon(promise, () => {
      abortRequest.resolve(undefined);
      rejectCloseAndClosedPromiseIfNeeded(w);
    }, (reason) => {
      abortRequest.reject(reason);
      rejectCloseAndClosedPromiseIfNeeded(w);
    });
  }
  function finishInFlightWrite(w) {
    w.inFlightWriteRequest.resolve(undefined);
    w.inFlightWriteRequest = undefined;
  }
  function finishInFlightWriteWithError(w, error) {
    w.inFlightWriteRequest.reject(error);
    w.inFlightWriteRequest = undefined;
    writableStreamDealWithRejection(w, error);
  }
  function finishInFlightClose(w) {
    w.inFlightCloseRequest.resolve(undefined);
    w.inFlightCloseRequest = undefined;
    if (w.state === 'erroring') {
      w.storedError = undefined;
      if (w.pendingAbortRequest !== undefined) {
        w.pendingAbortRequest.resolve(undefined);
        w.pendingAbortRequest = undefined;
      }
    }
    w.state = 'closed';
    if (w.writer !== undefined) w.writer.closed.resolve(undefined);
  }
  function finishInFlightCloseWithError(w, error) {
    w.inFlightCloseRequest.reject(error);
    w.inFlightCloseRequest = undefined;
    if (w.pendingAbortRequest !== undefined) {
      w.pendingAbortRequest.reject(error);
      w.pendingAbortRequest = undefined;
    }
    writableStreamDealWithRejection(w, error);
  }
  const hasOperationMarkedInFlight = (w) => w.inFlightWriteRequest !== undefined || w.inFlightCloseRequest !== undefined;
  function rejectCloseAndClosedPromiseIfNeeded(w) {
    if (w.closeRequest !== undefined) {
      w.closeRequest.reject(w.storedError);
      w.closeRequest = undefined;
    }
    const writer = w.writer;
    if (writer !== undefined) {
      writer.closed.reject(w.storedError);
      markHandled(writer.closed.promise);
    }
  }
  function writableStreamUpdateBackpressure(w, backpressure) {
    const writer = w.writer;
    if (writer !== undefined && backpressure !== w.backpressure) {
      if (backpressure) writer.ready = deferred();
      else writer.ready.resolve(undefined);
    }
    w.backpressure = backpressure;
  }

  // ---- WritableStreamDefaultWriter ----
  class WritableStreamDefaultWriter {
    #k;
    constructor(stream) {
      const w = writableOf(stream);
      if (!w) throw new TypeError('WritableStreamDefaultWriter: the argument is not a WritableStream');
      if (w.writer !== undefined) throw new TypeError('WritableStreamDefaultWriter: the stream is locked to another writer');
      const k = this.#k = { pub: this, stream: w, ready: deferred(), closed: deferred() };
      w.writer = k;
      const state = w.state;
      if (state === 'writable') {
        if (!closeQueuedOrInFlight(w) && w.backpressure) { /* ready stays pending */ }
        else k.ready.resolve(undefined);
      } else if (state === 'erroring') {
        k.ready.reject(w.storedError);
        markHandled(k.ready.promise);
      } else if (state === 'closed') {
        k.ready.resolve(undefined);
        k.closed.resolve(undefined);
      } else {
        k.ready.reject(w.storedError);
        markHandled(k.ready.promise);
        k.closed.reject(w.storedError);
        markHandled(k.closed.promise);
      }
    }
    static { writerOf = (o) => (isObject(o) && #k in o ? o.#k : undefined); }
    get closed() {
      const k = writerOf(this);
      if (!k) return rejected(new TypeError('WritableStreamDefaultWriter.closed: this is not a writer'));
      return k.closed.promise;
    }
    get desiredSize() {
      const k = writerOf(this);
      if (!k) throw new TypeError('WritableStreamDefaultWriter.desiredSize: this is not a writer');
      if (k.stream === undefined) throw new TypeError('WritableStreamDefaultWriter.desiredSize: the writer is released');
      return writerGetDesiredSize(k);
    }
    get ready() {
      const k = writerOf(this);
      if (!k) return rejected(new TypeError('WritableStreamDefaultWriter.ready: this is not a writer'));
      return k.ready.promise;
    }
    abort(reason = undefined) {
      const k = writerOf(this);
      if (!k) return rejected(new TypeError('WritableStreamDefaultWriter.abort: this is not a writer'));
      if (k.stream === undefined) return rejected(new TypeError('WritableStreamDefaultWriter.abort: the writer is released'));
      return writableStreamAbort(k.stream, reason);
    }
    close() {
      const k = writerOf(this);
      if (!k) return rejected(new TypeError('WritableStreamDefaultWriter.close: this is not a writer'));
      const w = k.stream;
      if (w === undefined) return rejected(new TypeError('WritableStreamDefaultWriter.close: the writer is released'));
      if (closeQueuedOrInFlight(w)) return rejected(new TypeError('WritableStreamDefaultWriter.close: the stream is already closing'));
      return writableStreamClose(w);
    }
    releaseLock() {
      const k = writerOf(this);
      if (!k) throw new TypeError('WritableStreamDefaultWriter.releaseLock: this is not a writer');
      if (k.stream === undefined) return;
      writerRelease(k);
    }
    write(chunk = undefined) {
      const k = writerOf(this);
      if (!k) return rejected(new TypeError('WritableStreamDefaultWriter.write: this is not a writer'));
      if (k.stream === undefined) return rejected(new TypeError('WritableStreamDefaultWriter.write: the writer is released'));
      return writerWrite(k, chunk);
    }
  }

  function writerCloseWithErrorPropagation(k) {
    const w = k.stream;
    const state = w.state;
    if (closeQueuedOrInFlight(w) || state === 'closed') return resolved(undefined);
    if (state === 'errored') return rejected(w.storedError);
    return writableStreamClose(w);
  }
  // A pending promise is rejected; a settled one is replaced by a rejected one.
  function writerEnsureClosedPromiseRejected(k, error) {
    if (k.closed.settled) k.closed = deferred();
    k.closed.reject(error);
    markHandled(k.closed.promise);
  }
  function writerEnsureReadyPromiseRejected(k, error) {
    if (k.ready.settled) k.ready = deferred();
    k.ready.reject(error);
    markHandled(k.ready.promise);
  }
  function writerGetDesiredSize(k) {
    const state = k.stream.state;
    if (state === 'errored' || state === 'erroring') return null;
    if (state === 'closed') return 0;
    return wcDesiredSize(k.stream.controller);
  }
  function writerRelease(k) {
    const w = k.stream;
    const releasedError = new TypeError('The writer was released');
    writerEnsureReadyPromiseRejected(k, releasedError);
    writerEnsureClosedPromiseRejected(k, releasedError);
    w.writer = undefined;
    k.stream = undefined;
  }
  function writerWrite(k, chunk) {
    const w = k.stream;
    const c = w.controller;
    const chunkSize = wcGetChunkSize(c, chunk);
    if (w !== k.stream) return rejected(new TypeError('The writer was released'));
    const state = w.state;
    if (state === 'errored') return rejected(w.storedError);
    if (closeQueuedOrInFlight(w) || state === 'closed') return rejected(new TypeError('The stream is closing or closed'));
    if (state === 'erroring') return rejected(w.storedError);
    const promise = writableStreamAddWriteRequest(w);
    wcWrite(c, chunk, chunkSize);
    return promise;
  }

  // ---- WritableStreamDefaultController ----
  const closeSentinel = {};
  class WritableStreamDefaultController {
    #c;
    constructor() {
      illegal();
      this.#c = { pub: this };
    }
    static { wControllerOf = (o) => (isObject(o) && #c in o ? o.#c : undefined); }
    get signal() {
      const c = wControllerOf(this);
      if (!c) throw new TypeError('WritableStreamDefaultController.signal: this is not a WritableStreamDefaultController');
      // Made on first use: a signal nobody looked at has nobody to tell.
      if (!c.abortController) {
        c.abortController = new AbortController();
        if (c.abortedWith) c.abortController.abort(c.abortedWith.reason);
      }
      return c.abortController.signal;
    }
    error(e = undefined) {
      const c = wControllerOf(this);
      if (!c) throw new TypeError('WritableStreamDefaultController.error: this is not a WritableStreamDefaultController');
      if (c.stream.state !== 'writable') return;
      wcError(c, e);
    }
  }
  function wcSignalAbort(c, reason) {
    if (c.abortedWith) return;
    c.abortedWith = { reason };
    if (c.abortController) c.abortController.abort(reason);
  }

  function setUpWritableControllerFromSink(w, sink, hwm, sizeAlgorithm) {
    const controller = construct(WritableStreamDefaultController);
    const c = wControllerOf(controller);
    const start = method(sink, 'start', 'WritableStream');
    const write = method(sink, 'write', 'WritableStream');
    const close = method(sink, 'close', 'WritableStream');
    const abort = method(sink, 'abort', 'WritableStream');
    setUpWritableController(w, c,
      start ? () => start.call(sink, controller) : noop,
      write ? (chunk) => promiseCall(write, sink, [chunk, controller]) : () => resolved(undefined),
      close ? () => promiseCall(close, sink, []) : () => resolved(undefined),
      abort ? (reason) => promiseCall(abort, sink, [reason]) : () => resolved(undefined),
      hwm, sizeAlgorithm);
  }

  function setUpWritableController(w, c, startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, hwm, sizeAlgorithm) {
    Object.assign(c, {
      stream: w, queue: new Queue(), started: false, strategyHWM: hwm, strategySizeAlgorithm: sizeAlgorithm,
      writeAlgorithm, closeAlgorithm, abortAlgorithm, abortController: undefined, abortedWith: undefined,
      abortSteps(reason) {
        const result = c.abortAlgorithm(reason);
        wcClearAlgorithms(c);
        return result;
      },
      errorSteps() { c.queue.reset(); },
    });
    w.controller = c;
    writableStreamUpdateBackpressure(w, wcGetBackpressure(c));
    const startResult = startAlgorithm();
    upon(resolved(startResult), () => {
      c.started = true;
      wcAdvanceQueueIfNeeded(c);
    }, (r) => {
      c.started = true;
      writableStreamDealWithRejection(w, r);
    });
  }

  function wcAdvanceQueueIfNeeded(c) {
    const w = c.stream;
    if (!c.started || w.inFlightWriteRequest !== undefined) return;
    if (w.state === 'erroring') { writableStreamFinishErroring(w); return; }
    if (c.queue.length === 0) return;
    const value = c.queue.peek().value;
    if (value === closeSentinel) wcProcessClose(c);
    else wcProcessWrite(c, value);
  }
  function wcClearAlgorithms(c) {
    c.writeAlgorithm = undefined;
    c.closeAlgorithm = undefined;
    c.abortAlgorithm = undefined;
    c.strategySizeAlgorithm = undefined;
  }
  function wcClose(c) {
    enqueueValueWithSize(c, closeSentinel, 0);
    wcAdvanceQueueIfNeeded(c);
  }
  function wcErrorIfNeeded(c, error) {
    if (c.stream.state === 'writable') wcError(c, error);
  }
  function wcError(c, error) {
    wcClearAlgorithms(c);
    writableStreamStartErroring(c.stream, error);
  }
  const wcGetBackpressure = (c) => wcDesiredSize(c) <= 0;
  function wcGetChunkSize(c, chunk) {
    if (c.strategySizeAlgorithm === undefined) return 1;
    try { return c.strategySizeAlgorithm(chunk); } catch (e) { wcErrorIfNeeded(c, e); return 1; }
  }
  const wcDesiredSize = (c) => c.strategyHWM - c.queue.totalSize;
  function wcProcessClose(c) {
    const w = c.stream;
    w.inFlightCloseRequest = w.closeRequest;
    w.closeRequest = undefined;
    dequeueValue(c);
    const sinkClosePromise = c.closeAlgorithm();
    wcClearAlgorithms(c);
    upon(sinkClosePromise, () => finishInFlightClose(w), (reason) => finishInFlightCloseWithError(w, reason));
  }
  function wcProcessWrite(c, chunk) {
    const w = c.stream;
    w.inFlightWriteRequest = w.writeRequests.shift();
    upon(c.writeAlgorithm(chunk), () => {
      finishInFlightWrite(w);
      const state = w.state;
      dequeueValue(c);
      if (!closeQueuedOrInFlight(w) && state === 'writable') writableStreamUpdateBackpressure(w, wcGetBackpressure(c));
      wcAdvanceQueueIfNeeded(c);
    }, (reason) => {
      if (w.state === 'writable') wcClearAlgorithms(c);
      finishInFlightWriteWithError(w, reason);
    });
  }
  function wcWrite(c, chunk, chunkSize) {
    try {
      enqueueValueWithSize(c, chunk, chunkSize);
    } catch (e) {
      wcErrorIfNeeded(c, e);
      return;
    }
    const w = c.stream;
    if (!closeQueuedOrInFlight(w) && w.state === 'writable') writableStreamUpdateBackpressure(w, wcGetBackpressure(c));
    wcAdvanceQueueIfNeeded(c);
  }

  // ---- pipeTo ----
  function readableStreamPipeTo(source, dest, { preventClose, preventAbort, preventCancel, signal }) {
    const reader = acquireReader(source);
    const writer = writerOf(construct(WritableStreamDefaultWriter, dest.pub));
    source.disturbed = true;
    let shuttingDown = false;
    let currentWrite = resolved(undefined);
    const result = deferred();
    let abortAlgorithm;

    if (signal !== undefined) {
      abortAlgorithm = () => {
        const error = signal.reason;
        const actions = [];
        if (!preventAbort) actions.push(() => (dest.state === 'writable' ? writableStreamAbort(dest, error) : resolved(undefined)));
        if (!preventCancel) actions.push(() => (source.state === 'readable' ? readableStreamCancel(source, error) : resolved(undefined)));
        shutdownWithAction(() => Promise.all(actions.map((a) => a())), true, error);
      };
      if (signal.aborted) { abortAlgorithm(); return result.promise; }
      signal.addEventListener('abort', abortAlgorithm);
    }

    // One read at a time, each written once the writer is ready.
    function pipeStep() {
      if (shuttingDown) return resolved(true);
      return writer.ready.promise.then(() => {
        if (shuttingDown) return true;
        const d = deferred();
        readerRead(reader, {
          chunkSteps: (chunk) => {
            currentWrite = writerWrite(writer, chunk);
            markHandled(currentWrite);
            d.resolve(false);
          },
          closeSteps: () => d.resolve(true),
          errorSteps: d.reject,
        });
        return d.promise;
      });
    }
    function pipeLoop() {
      return pipeStep().then((done) => (done ? undefined : pipeLoop()));
    }

    // Errors must be propagated forward
    isOrBecomesErrored(source, reader.closed.promise, (storedError) => {
      if (!preventAbort) shutdownWithAction(() => writableStreamAbort(dest, storedError), true, storedError);
      else shutdown(true, storedError);
    });
    // Errors must be propagated backward
    isOrBecomesErrored(dest, writer.closed.promise, (storedError) => {
      if (!preventCancel) shutdownWithAction(() => readableStreamCancel(source, storedError), true, storedError);
      else shutdown(true, storedError);
    });
    // Closing must be propagated forward
    isOrBecomesClosed(source, reader.closed.promise, () => {
      if (!preventClose) shutdownWithAction(() => writerCloseWithErrorPropagation(writer));
      else shutdown();
    });
    // Closing must be propagated backward
    if (closeQueuedOrInFlight(dest) || dest.state === 'closed') {
      const destClosed = new TypeError('The destination writable stream is closed');
      if (!preventCancel) shutdownWithAction(() => readableStreamCancel(source, destClosed), true, destClosed);
      else shutdown(true, destClosed);
    }
    markHandled(pipeLoop());
    return result.promise;

    function isOrBecomesErrored(stream, promise, action) {
      if (stream.state === 'errored') action(stream.storedError);
      else upon(promise, undefined, action);
    }
    function isOrBecomesClosed(stream, promise, action) {
      if (stream.state === 'closed') action();
      else upon(promise, action);
    }
    function waitForWritesToFinish() {
      const oldCurrentWrite = currentWrite;
      return currentWrite.then(noop, noop).then(() => (oldCurrentWrite !== currentWrite ? waitForWritesToFinish() : undefined));
    }
    function shutdownWithAction(action, originalIsError, originalError) {
      if (shuttingDown) return;
      shuttingDown = true;
      const doTheRest = () => {
        upon(action(), () => finalize(originalIsError, originalError), (newError) => finalize(true, newError));
      };
      if (dest.state === 'writable' && !closeQueuedOrInFlight(dest)) upon(waitForWritesToFinish(), doTheRest);
      else doTheRest();
    }
    function shutdown(isError, error) {
      if (shuttingDown) return;
      shuttingDown = true;
      if (dest.state === 'writable' && !closeQueuedOrInFlight(dest)) upon(waitForWritesToFinish(), () => finalize(isError, error));
      else finalize(isError, error);
    }
    function finalize(isError, error) {
      writerRelease(writer);
      readerRelease(reader);
      if (signal !== undefined) signal.removeEventListener('abort', abortAlgorithm);
      if (isError) result.reject(error); else result.resolve(undefined);
    }
  }

  // =====================================================================
  // TransformStream
  // =====================================================================
  class TransformStream {
    #t;
    constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
      if (transformer === null) transformer = undefined;
      if (transformer !== undefined && !isObject(transformer))
        throw new TypeError('TransformStream: the transformer must be an object');
      writableStrategy = dictOf(writableStrategy, 'TransformStream: the writable strategy');
      readableStrategy = dictOf(readableStrategy, 'TransformStream: the readable strategy');
      if (transformer !== undefined && transformer.readableType !== undefined)
        throw new RangeError('TransformStream: readableType must be undefined');
      if (transformer !== undefined && transformer.writableType !== undefined)
        throw new RangeError('TransformStream: writableType must be undefined');
      const readableHWM = extractHighWaterMark(readableStrategy, 0);
      const readableSize = extractSizeAlgorithm(readableStrategy);
      const writableHWM = extractHighWaterMark(writableStrategy, 1);
      const writableSize = extractSizeAlgorithm(writableStrategy);
      const t = this.#t = { pub: this };
      const startPromise = deferred();
      initializeTransformStream(t, startPromise.promise, writableHWM, writableSize, readableHWM, readableSize);
      setUpTransformControllerFromTransformer(t, transformer);
      const start = method(transformer, 'start', 'TransformStream');
      if (start) startPromise.resolve(start.call(transformer, t.controller.pub));
      else startPromise.resolve(undefined);
    }
    static { transformOf = (o) => (isObject(o) && #t in o ? o.#t : undefined); }
    get readable() {
      const t = transformOf(this);
      if (!t) throw new TypeError('TransformStream.readable: this is not a TransformStream');
      return t.readable.pub;
    }
    get writable() {
      const t = transformOf(this);
      if (!t) throw new TypeError('TransformStream.writable: this is not a TransformStream');
      return t.writable.pub;
    }
  }

  function initializeTransformStream(t, startPromise, writableHWM, writableSize, readableHWM, readableSize) {
    const startAlgorithm = () => startPromise;
    t.writable = createWritableStream(startAlgorithm,
      (chunk) => transformSinkWrite(t, chunk),
      () => transformSinkClose(t),
      (reason) => transformSinkAbort(t, reason),
      writableHWM, writableSize);
    t.readable = createReadableStream(startAlgorithm,
      () => transformSourcePull(t),
      (reason) => transformSourceCancel(t, reason),
      readableHWM, readableSize);
    t.backpressure = undefined;
    t.backpressureChange = undefined;
    transformSetBackpressure(t, true);
    t.controller = undefined;
  }
  function transformError(t, e) {
    rcError(t.readable.controller, e);
    transformErrorWritableAndUnblockWrite(t, e);
  }
  function transformErrorWritableAndUnblockWrite(t, e) {
    tcClearAlgorithms(t.controller);
    wcErrorIfNeeded(t.writable.controller, e);
    transformUnblockWrite(t);
  }
  function transformUnblockWrite(t) {
    if (t.backpressure) transformSetBackpressure(t, false);
  }
  function transformSetBackpressure(t, backpressure) {
    if (t.backpressureChange !== undefined) t.backpressureChange.resolve(undefined);
    t.backpressureChange = deferred();
    t.backpressure = backpressure;
  }

  class TransformStreamDefaultController {
    #c;
    constructor() {
      illegal();
      this.#c = { pub: this };
    }
    static { tControllerOf = (o) => (isObject(o) && #c in o ? o.#c : undefined); }
    static #check(o, what) {
      const c = tControllerOf(o);
      if (!c) throw new TypeError(`TransformStreamDefaultController.${what}: this is not a TransformStreamDefaultController`);
      return c;
    }
    get desiredSize() {
      const c = TransformStreamDefaultController.#check(this, 'desiredSize');
      return rcDesiredSize(c.stream.readable.controller);
    }
    enqueue(chunk = undefined) { tcEnqueue(TransformStreamDefaultController.#check(this, 'enqueue'), chunk); }
    error(reason = undefined) { transformError(TransformStreamDefaultController.#check(this, 'error').stream, reason); }
    terminate() { tcTerminate(TransformStreamDefaultController.#check(this, 'terminate')); }
  }

  function setUpTransformController(t, c, transformAlgorithm, flushAlgorithm, cancelAlgorithm) {
    c.stream = t;
    t.controller = c;
    c.transformAlgorithm = transformAlgorithm;
    c.flushAlgorithm = flushAlgorithm;
    c.cancelAlgorithm = cancelAlgorithm;
    c.finishPromise = undefined;
  }
  function setUpTransformControllerFromTransformer(t, transformer) {
    const controller = construct(TransformStreamDefaultController);
    const c = tControllerOf(controller);
    const transform = method(transformer, 'transform', 'TransformStream');
    const flush = method(transformer, 'flush', 'TransformStream');
    const cancel = method(transformer, 'cancel', 'TransformStream');
    const transformAlgorithm = transform
      ? (chunk) => promiseCall(transform, transformer, [chunk, controller])
      : (chunk) => { try { tcEnqueue(c, chunk); return resolved(undefined); } catch (e) { return rejected(e); } };
    setUpTransformController(t, c, transformAlgorithm,
      flush ? () => promiseCall(flush, transformer, [controller]) : () => resolved(undefined),
      cancel ? (reason) => promiseCall(cancel, transformer, [reason]) : () => resolved(undefined));
  }
  function tcClearAlgorithms(c) {
    c.transformAlgorithm = undefined;
    c.flushAlgorithm = undefined;
    c.cancelAlgorithm = undefined;
  }
  function tcEnqueue(c, chunk) {
    const t = c.stream;
    const rc = t.readable.controller;
    if (!rcCanCloseOrEnqueue(rc)) throw new TypeError('TransformStreamDefaultController.enqueue: the readable side is not readable');
    try {
      rcEnqueue(rc, chunk);
    } catch (e) {
      transformErrorWritableAndUnblockWrite(t, e);
      throw t.readable.storedError;
    }
    const backpressure = rcHasBackpressure(rc);
    if (backpressure !== t.backpressure) transformSetBackpressure(t, true);
  }
  function tcPerformTransform(c, chunk) {
    return c.transformAlgorithm(chunk).then(undefined, (r) => {
      transformError(c.stream, r);
      throw r;
    });
  }
  function tcTerminate(c) {
    const t = c.stream;
    rcClose(t.readable.controller);
    transformErrorWritableAndUnblockWrite(t, new TypeError('The transform stream was terminated'));
  }
  function transformSinkWrite(t, chunk) {
    const c = t.controller;
    if (t.backpressure) {
      return t.backpressureChange.promise.then(() => {
        const w = t.writable;
        if (w.state === 'erroring') throw w.storedError;
        return tcPerformTransform(c, chunk);
      });
    }
    return tcPerformTransform(c, chunk);
  }
  function transformSinkAbort(t, reason) {
    const c = t.controller;
    if (c.finishPromise !== undefined) return c.finishPromise.promise;
    const readable = t.readable;
    c.finishPromise = deferred();
    const cancelPromise = c.cancelAlgorithm(reason);
    tcClearAlgorithms(c);
    upon(cancelPromise, () => {
      if (readable.state === 'errored') c.finishPromise.reject(readable.storedError);
      else { rcError(readable.controller, reason); c.finishPromise.resolve(undefined); }
    }, (r) => {
      rcError(readable.controller, r);
      c.finishPromise.reject(r);
    });
    return c.finishPromise.promise;
  }
  function transformSinkClose(t) {
    const c = t.controller;
    if (c.finishPromise !== undefined) return c.finishPromise.promise;
    const readable = t.readable;
    c.finishPromise = deferred();
    const flushPromise = c.flushAlgorithm();
    tcClearAlgorithms(c);
    upon(flushPromise, () => {
      if (readable.state === 'errored') c.finishPromise.reject(readable.storedError);
      else { rcClose(readable.controller); c.finishPromise.resolve(undefined); }
    }, (r) => {
      rcError(readable.controller, r);
      c.finishPromise.reject(r);
    });
    return c.finishPromise.promise;
  }
  function transformSourcePull(t) {
    transformSetBackpressure(t, false);
    return t.backpressureChange.promise;
  }
  function transformSourceCancel(t, reason) {
    const c = t.controller;
    if (c.finishPromise !== undefined) return c.finishPromise.promise;
    const writable = t.writable;
    c.finishPromise = deferred();
    const cancelPromise = c.cancelAlgorithm(reason);
    tcClearAlgorithms(c);
    upon(cancelPromise, () => {
      if (writable.state === 'errored') c.finishPromise.reject(writable.storedError);
      else {
        wcErrorIfNeeded(writable.controller, reason);
        transformUnblockWrite(t);
        c.finishPromise.resolve(undefined);
      }
    }, (r) => {
      wcErrorIfNeeded(writable.controller, r);
      transformUnblockWrite(t);
      c.finishPromise.reject(r);
    });
    return c.finishPromise.promise;
  }

  // =====================================================================
  // Queuing strategies
  // =====================================================================
  function strategyInit(init, what) {
    if (!isObject(init)) throw new TypeError(`${what}: the argument must be an object`);
    if (init.highWaterMark === undefined) throw new TypeError(`${what}: highWaterMark is required`);
    return Number(init.highWaterMark);
  }
  const byteLengthSize = { size(chunk) { return chunk.byteLength; } }.size;
  const countSize = { size() { return 1; } }.size;
  class ByteLengthQueuingStrategy {
    #hwm;
    constructor(init) { this.#hwm = strategyInit(init, 'ByteLengthQueuingStrategy'); }
    get highWaterMark() {
      if (!(isObject(this) && #hwm in this)) throw new TypeError('ByteLengthQueuingStrategy.highWaterMark: illegal receiver');
      return this.#hwm;
    }
    get size() {
      if (!(isObject(this) && #hwm in this)) throw new TypeError('ByteLengthQueuingStrategy.size: illegal receiver');
      return byteLengthSize;
    }
  }
  class CountQueuingStrategy {
    #hwm;
    constructor(init) { this.#hwm = strategyInit(init, 'CountQueuingStrategy'); }
    get highWaterMark() {
      if (!(isObject(this) && #hwm in this)) throw new TypeError('CountQueuingStrategy.highWaterMark: illegal receiver');
      return this.#hwm;
    }
    get size() {
      if (!(isObject(this) && #hwm in this)) throw new TypeError('CountQueuingStrategy.size: illegal receiver');
      return countSize;
    }
  }

  // =====================================================================
  // TextEncoderStream / TextDecoderStream (Encoding Standard)
  // =====================================================================
  class TextEncoderStream {
    #transform; #pendingHigh = null;
    constructor() {
      const encoder = new TextEncoder();
      this.#transform = new TransformStream({
        transform: (chunk, controller) => {
          let s = String(chunk);
          if (this.#pendingHigh !== null) { s = this.#pendingHigh + s; this.#pendingHigh = null; }
          const last = s.length ? s.charCodeAt(s.length - 1) : 0;
          if (last >= 0xD800 && last <= 0xDBFF) { this.#pendingHigh = s[s.length - 1]; s = s.slice(0, -1); }
          if (s.length) controller.enqueue(encoder.encode(s));
        },
        flush: (controller) => {
          if (this.#pendingHigh !== null) controller.enqueue(new Uint8Array([0xEF, 0xBF, 0xBD]));
        },
      });
    }
    get encoding() { return 'utf-8'; }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
  }
  class TextDecoderStream {
    #decoder; #transform;
    constructor(label = 'utf-8', options = undefined) {
      const decoder = this.#decoder = new TextDecoder(label, options);
      this.#transform = new TransformStream({
        transform(chunk, controller) {
          if (!(chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)))
            throw new TypeError('TextDecoderStream: chunks must be an ArrayBuffer or a view of one');
          const s = decoder.decode(chunk, { stream: true });
          if (s) controller.enqueue(s);
        },
        flush(controller) {
          const s = decoder.decode();
          if (s) controller.enqueue(s);
        },
      });
    }
    get encoding() { return this.#decoder.encoding; }
    get fatal() { return this.#decoder.fatal; }
    get ignoreBOM() { return this.#decoder.ignoreBOM; }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
  }

  const classes = { ReadableStream, ReadableStreamDefaultReader, ReadableStreamDefaultController, WritableStream,
    WritableStreamDefaultWriter, WritableStreamDefaultController, TransformStream, TransformStreamDefaultController,
    ByteLengthQueuingStrategy, CountQueuingStrategy, TextEncoderStream, TextDecoderStream };
  for (const [name, cls] of Object.entries(classes))
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  // Not globals: what other groups (compression) build on, through dependency('streams').
  const internal = {
    // A promise for the moment the readable side of a TransformStream wants more, or
    // undefined when it already does: lets a transformer that makes many chunks from one
    // input (a decompressor) stop producing until they are read.
    readableWants(ts) {
      const t = transformOf(ts);
      return t.backpressure ? t.backpressureChange.promise : undefined;
    },
    // False once the readable side was canceled, closed or errored.
    canEnqueue(ts) { return rcCanCloseOrEnqueue(transformOf(ts).readable.controller); },
    // The writable side's controller signal (aborted by writable.abort()).
    writableSignal(ts) { return transformOf(ts).writable.controller.pub.signal; },
  };
  return { ...classes, internal };
})
