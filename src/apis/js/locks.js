// locks.js — the `locks` group: navigator.locks (LockManager, Lock) per the W3C Web Locks
// API, one lock space per namespace (jsp_context_config.namespace_name; by default the
// context and its workers alone), clientId = the context id. A granted lock is released,
// and its request rejected, once held longer than the context's wall limit.
// The queue and grant rules live in C (src/pool/lock_manager.c); this side checks
// arguments, runs callbacks when the runtime delivers a grant, and releases the lock when
// the callback's promise settles. Depends on `events` (AbortSignal), `domexception` and
// `navigator` (whose navigator.locks getter loads this group).
(function (global, natives) {
  'use strict';
  const DOMException = global.DOMException;
  const AbortSignal = global.AbortSignal;
  const EventTarget = global.EventTarget;
  // Captured: guest code replacing them later must not change how the host behaves.
  const addListener = EventTarget.prototype.addEventListener;
  const removeListener = EventTarget.prototype.removeEventListener;
  const signalAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted').get;
  const signalReason = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'reason').get;
  const Promise = global.Promise;
  const then = Promise.prototype.then;
  const promiseResolve = Promise.resolve, promiseReject = Promise.reject;
  const startsWith = String.prototype.startsWith;
  const call = Function.prototype.call.bind(Function.prototype.call);
  const MapGet = Map.prototype.get, MapSet = Map.prototype.set, MapDelete = Map.prototype.delete;
  const resolved = (value) => call(promiseResolve, Promise, value);
  const rejected = (error) => call(promiseReject, Promise, error);
  const nativeRequest = natives.request, nativeRelease = natives.release;
  const nativeAbort = natives.abort, nativeQuery = natives.query;

  const GRANTED = 1, STOLEN = 2, ABANDONED = 3;
  const key = Symbol('constructing');
  const requests = new Map(); // request id -> record, until it settles or is stolen

  class Lock {
    #name; #mode;
    constructor(token, name, mode) {
      if (token !== key) throw new TypeError('Illegal constructor');
      this.#name = name;
      this.#mode = mode;
    }
    get name() { return this.#name; }
    get mode() { return this.#mode; }
  }

  const later = (f) => call(then, resolved(), f);

  // Forget the record, release the lock (before the request's promise settles, as the
  // spec orders it), then settle. A stolen request has no record and no lock any more.
  function finish(id, record, isOk, value) {
    if (call(MapGet, requests, id) === record) {
      call(MapDelete, requests, id);
      nativeRelease(id);
    }
    (isOk ? record.resolve : record.reject)(value);
  }

  function runCallback(id, record) {
    if (record.onAbort) call(removeListener, record.signal, 'abort', record.onAbort);
    let result;
    try {
      result = call(record.callback, undefined, new Lock(key, record.name, record.mode));
    } catch (error) {
      finish(id, record, false, error);
      return;
    }
    // Settles with the callback's result, awaited if it is a thenable.
    call(then, new Promise((resolve) => resolve(result)),
      (value) => finish(id, record, true, value), (error) => finish(id, record, false, error));
  }

  // Called by the runtime (src/engine/natives_locks.c) for each lock event; false when
  // this context does not know the request.
  function deliver(id, event) {
    const record = call(MapGet, requests, id);
    if (!record) return false;
    if (event === GRANTED) {
      runCallback(id, record);
    } else if (event === STOLEN) {
      call(MapDelete, requests, id);
      record.reject(new DOMException('The lock was stolen by another request.', 'AbortError'));
    } else if (event === ABANDONED) {
      call(MapDelete, requests, id);
      record.reject(new RangeError('the lock callback exceeded a limit of its context; the lock was released'));
    }
    return true;
  }

  function toOptions(options) {
    if (options === undefined || options === null) return { mode: 'exclusive', ifAvailable: false, steal: false, signal: undefined };
    if (typeof options !== 'object' && typeof options !== 'function')
      throw new TypeError("LockManager.request: 'options' is not an object");
    // WebIDL dictionary members, in lexicographic order.
    const ifAvailable = !!options.ifAvailable;
    let mode = options.mode;
    mode = mode === undefined ? 'exclusive' : `${mode}`;
    if (mode !== 'exclusive' && mode !== 'shared')
      throw new TypeError(`LockManager.request: '${mode}' is not a valid LockMode`);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw new TypeError("LockManager.request: 'signal' is not an AbortSignal");
    const steal = !!options.steal;
    return { mode, ifAvailable, steal, signal };
  }

  function request(manager, args) {
    if (!(manager instanceof LockManager)) throw new TypeError('Illegal invocation');
    if (args.length < 2) throw new TypeError('LockManager.request: at least 2 arguments required');
    const name = `${args[0]}`;
    const callback = args.length === 2 ? args[1] : args[2];
    const { mode, ifAvailable, steal, signal } = toOptions(args.length === 2 ? undefined : args[1]);
    if (typeof callback !== 'function') throw new TypeError("LockManager.request: 'callback' is not a function");
    if (call(startsWith, name, '-'))
      throw new DOMException("Lock names starting with '-' are reserved.", 'NotSupportedError');
    if (steal && ifAvailable)
      throw new DOMException("The 'steal' and 'ifAvailable' options cannot be used together.", 'NotSupportedError');
    if (steal && mode !== 'exclusive')
      throw new DOMException("The 'steal' option may only be used with 'exclusive' locks.", 'NotSupportedError');
    if (signal && (steal || ifAvailable))
      throw new DOMException("The 'signal' option cannot be used with 'steal' or 'ifAvailable'.", 'NotSupportedError');
    if (signal && call(signalAborted, signal)) return rejected(call(signalReason, signal));
    const id = nativeRequest(name, mode === 'shared', ifAvailable, steal);
    if (id === 0) // ifAvailable, and not grantable now: the callback gets null
      return new Promise((resolve, reject) => later(() => {
        try { resolve(call(callback, undefined, null)); } catch (error) { reject(error); }
      }));
    return new Promise((resolve, reject) => {
      const record = { name, mode, callback, resolve, reject, signal, onAbort: null };
      call(MapSet, requests, id, record);
      if (signal) {
        record.onAbort = () => {
          // Only a request still waiting is withdrawn; a granted one runs its course.
          if (call(MapGet, requests, id) === record && nativeAbort(id)) {
            call(MapDelete, requests, id);
            reject(call(signalReason, signal));
          }
        };
        call(addListener, signal, 'abort', record.onAbort, { once: true });
      }
    });
  }

  class LockManager {
    constructor(token) {
      if (token !== key) throw new TypeError('Illegal constructor');
    }
    // WebIDL: a promise-returning operation reports every error as a rejection.
    request(name, callback) { // or (name, options, callback): WebIDL overloads, length 2
      try { return request(this, arguments); } catch (error) { return rejected(error); }
    }
    query() {
      if (!(this instanceof LockManager)) return rejected(new TypeError('Illegal invocation'));
      try { return resolved(nativeQuery()); } catch (error) { return rejected(error); }
    }
  }

  const locks = new LockManager(key); // navigator.locks (navigator.js)

  for (const cls of [Lock, LockManager])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  return { locks, LockManager, Lock, deliver };
})
