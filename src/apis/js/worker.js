// worker.js — the `worker` group: Worker (a child context of the same pool running the given
// source, created asynchronously by the host; messages both ways, terminate, errors as
// ErrorEvent) and, inside the child, the worker scope (self, name, postMessage, onmessage,
// close). Cross-context transport and limits are in C (src/runtime/messaging.c); natives:
// spawn/post/terminate for the parent side, postToParent/close/reportError for the child's,
// serialize/deserialize from structured-clone.
(function (global, natives) {
  'use strict';
  const DOMException = global.DOMException;
  const Event = global.Event, EventTarget = global.EventTarget, MessageEvent = global.MessageEvent;
  const { serialize, deserialize } = natives;
  const addListener = EventTarget.prototype.addEventListener;
  const removeListener = EventTarget.prototype.removeEventListener;
  const dispatch = EventTarget.prototype.dispatchEvent;
  const logError = (...args) => { try { global.console.error(...args); } catch {} };

  class ErrorEvent extends Event {
    #message; #filename; #lineno; #colno; #error;
    constructor(type, init = {}) {
      if (arguments.length === 0) throw new TypeError("ErrorEvent: the 'type' argument is required");
      super(type, init);
      const get = (key, fallback) => (init && init[key] !== undefined ? init[key] : fallback);
      this.#message = String(get('message', ''));
      this.#filename = String(get('filename', ''));
      this.#lineno = get('lineno', 0) >>> 0;
      this.#colno = get('colno', 0) >>> 0;
      this.#error = get('error', undefined);
    }
    get message() { return this.#message; }
    get filename() { return this.#filename; }
    get lineno() { return this.#lineno; }
    get colno() { return this.#colno; }
    get error() { return this.#error; }
  }

  const handlers = new WeakMap();
  function defineHandler(target, type) {
    Object.defineProperty(target, `on${type}`, {
      configurable: true, enumerable: true,
      get() { const slot = (handlers.get(this) || {})[type]; return slot ? slot.handler : null; },
      set(value) {
        let all = handlers.get(this);
        if (!all) handlers.set(this, (all = {}));
        const slot = all[type] || (all[type] = { handler: null, listener: null });
        slot.handler = typeof value === 'function' || (value !== null && typeof value === 'object') ? value : null;
        if (slot.handler && !slot.listener) {
          slot.listener = (event) => {
            if (typeof slot.handler !== 'function') return;
            const result = slot.handler.call(this, event);
            if (type === 'error' && result === true) event.preventDefault(); // onerror's "handled"
          };
          addListener.call(this, type, slot.listener);
        } else if (!slot.handler && slot.listener) {
          removeListener.call(this, type, slot.listener);
          slot.listener = null;
        }
      },
    });
  }

  // Buffers only: MessagePorts belong to one context and cannot cross to a worker.
  function transferList(options) {
    if (options === undefined || options === null) return [];
    if (typeof options !== 'object') throw new TypeError('postMessage: the second argument must be a sequence or a dictionary');
    const list = typeof options[Symbol.iterator] === 'function' ? Array.from(options)
      : options.transfer === undefined ? [] : Array.from(options.transfer);
    if (list.some((item) => item instanceof global.MessagePort))
      throw new DOMException('A MessagePort cannot be transferred to another context.', 'DataCloneError');
    return list;
  }

  // "data:text/javascript,..." (percent-encoded) is accepted as source; anything else is code.
  function sourceOf(text) {
    const match = /^data:(?:text|application)\/(?:javascript|ecmascript)(?:;charset=utf-8)?,/i.exec(text);
    return match ? decodeURIComponent(text.slice(match[0].length)) : text;
  }

  const workers = new Map(); // id -> Worker, while its child may still talk to us

  class Worker extends EventTarget {
    #id; #terminated = false;

    constructor(source, options = {}) {
      if (arguments.length === 0) throw new TypeError('Worker: 1 argument required');
      super();
      if (options !== null && options !== undefined && typeof options !== 'object')
        throw new TypeError('Worker: options must be a dictionary');
      const type = options && options.type !== undefined ? String(options.type) : 'classic';
      if (type !== 'classic') throw new DOMException(`Worker type '${type}' is not supported.`, 'NotSupportedError');
      const name = options && options.name !== undefined ? String(options.name) : '';
      this.#id = natives.spawn(sourceOf(String(source)), name); // throws past the worker limit
      workers.set(this.#id, this);
    }

    postMessage(message, options = undefined) {
      if (arguments.length === 0) throw new TypeError('Worker.postMessage: 1 argument required');
      const data = serialize(message, transferList(options));
      if (!this.#terminated) natives.post(this.#id, data);
    }

    terminate() {
      if (this.#terminated) return;
      this.#terminated = true;
      workers.delete(this.#id);
      natives.terminate(this.#id);
    }

    static finished(worker) { worker.#terminated = true; }
  }
  defineHandler(Worker.prototype, 'message');
  defineHandler(Worker.prototype, 'messageerror');
  defineHandler(Worker.prototype, 'error');
  const finished = Worker.finished;
  delete Worker.finished;

  // ---- the worker scope, set up in a child context before its source runs ----
  let scope = null; // { target, closing }

  function errorInfo(error) {
    const isObject = error !== null && typeof error === 'object';
    let message;
    try {
      message = isObject && 'message' in error ? `${error.name || 'Error'}: ${error.message}` : `Uncaught ${String(error)}`;
    } catch { message = 'Uncaught exception'; }
    return {
      message,
      filename: isObject && typeof error.sourceURL === 'string' ? error.sourceURL : '',
      lineno: isObject && typeof error.line === 'number' ? error.line : 0,
      colno: isObject && typeof error.column === 'number' ? error.column : 0,
    };
  }
  const reportToParent = (error) => natives.reportError(JSON.stringify(errorInfo(error)));
  const guarded = (callback) => function (...args) {
    try { return callback.apply(this, args); } catch (error) { reportToParent(error); }
  };

  function startScope(name) {
    const target = new EventTarget();
    scope = { target, closing: false, wrapped: new WeakMap() };
    const define = (key, value) => Object.defineProperty(global, key, { value, writable: true, configurable: true, enumerable: true });
    Object.defineProperty(global, 'self', { get() { return global; }, configurable: true, enumerable: true });
    define('name', String(name));
    define('postMessage', function postMessage(message, options = undefined) {
      if (arguments.length === 0) throw new TypeError('postMessage: 1 argument required');
      const data = serialize(message, transferList(options));
      if (!scope.closing) natives.postToParent(data);
    });
    define('close', function close() {
      if (scope.closing) return;
      scope.closing = true;
      natives.close();
    });
    // The global is the scope's event target; exceptions in its listeners reach the parent.
    const listenerFor = (callback) => {
      if (typeof callback !== 'function') return callback;
      let wrapped = scope.wrapped.get(callback);
      if (!wrapped) scope.wrapped.set(callback, (wrapped = guarded(callback)));
      return wrapped;
    };
    define('addEventListener', function addEventListener(type, callback, options) {
      return addListener.call(target, type, listenerFor(callback), options);
    });
    define('removeEventListener', function removeEventListener(type, callback, options) {
      return removeListener.call(target, type, listenerFor(callback), options);
    });
    define('dispatchEvent', function dispatchEvent(event) { return dispatch.call(target, event); });
    if (global.onmessage === undefined) global.onmessage = null;
    if (global.onmessageerror === undefined) global.onmessageerror = null;
    // Uncaught exceptions in timer callbacks are the worker's too.
    for (const key of ['setTimeout', 'setInterval']) {
      const original = global[key];
      if (typeof original === 'function')
        define(key, function (callback, ...rest) {
          return original(typeof callback === 'function' ? guarded(callback) : callback, ...rest);
        });
    }
  }

  function scopeDeliver(data) {
    if (!scope || scope.closing) return;
    let event;
    try {
      event = new MessageEvent('message', { data: deserialize(data) });
    } catch {
      event = new MessageEvent('messageerror', { data: null });
    }
    const handler = global[`on${event.type}`];
    if (typeof handler === 'function') {
      try { handler.call(global, event); } catch (error) { reportToParent(error); }
    }
    dispatch.call(scope.target, event);
  }

  // Host deliveries: "s:" to this worker's scope; "w:<id>" a message from worker id, "e:<id>"
  // its uncaught error (JSON of message, filename, lineno, colno), "x:<id>" it has ended.
  function deliver(target, data) {
    if (target[0] === 's') return scopeDeliver(data);
    const worker = workers.get(Number(target.slice(2)));
    if (!worker) return;
    if (target[0] === 'w') {
      let event;
      try {
        event = new MessageEvent('message', { data: deserialize(data) });
      } catch {
        event = new MessageEvent('messageerror', { data: null });
      }
      worker.dispatchEvent(event);
    } else if (target[0] === 'e') {
      const info = JSON.parse(data);
      const event = new ErrorEvent('error', { ...info, cancelable: true });
      if (worker.dispatchEvent(event)) logError(`Uncaught error in worker: ${info.message}`);
    } else if (target[0] === 'x') {
      workers.delete(Number(target.slice(2)));
      finished(worker);
    }
  }

  for (const cls of [ErrorEvent, Worker])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  // deliver and startScope are for the host (not globals).
  return { Worker, ErrorEvent, deliver, startScope };
})
