// events.js — the `events` group: Event, CustomEvent, EventTarget, AbortController and
// AbortSignal (abort, timeout, any) as the DOM standard defines them for a target with no
// tree (no capture/bubble path). Evaluates to a function(globalThis) returning the group's
// globals; the engine runs it on first use. Depends on `domexception` and `timers`.
(function (global) {
  'use strict';
  const DOMException = global.DOMException;
  const setTimeoutOf = global.setTimeout;
  const reportError = (error) => { try { global.console.error(error); } catch {} };

  const NONE = 0, CAPTURING_PHASE = 1, AT_TARGET = 2, BUBBLING_PHASE = 3;
  const internal = Symbol('internal'), makeSignal = Symbol('makeSignal');

  class Event {
    #type; #bubbles; #cancelable; #composed; #timeStamp;
    #target = null; #currentTarget = null; #phase = NONE;
    #canceled = false; #stopPropagation = false; #stopImmediate = false;
    #inPassiveListener = false; #dispatching = false;

    constructor(type) { // (init: arguments[1], without a default value: see channel.js)
      if (arguments.length === 0) throw new TypeError("Event: the 'type' argument is required");
      const init = arguments[1];
      if (init !== undefined && init !== null && typeof init !== 'object' && typeof init !== 'function')
        throw new TypeError('Event: the init argument must be a dictionary');
      this.#type = String(type);
      this.#bubbles = !!(init && init.bubbles);
      this.#cancelable = !!(init && init.cancelable);
      this.#composed = !!(init && init.composed);
      this.#timeStamp = Date.now();
    }
    get type() { return this.#type; }
    get target() { return this.#target; }
    get srcElement() { return this.#target; }
    get currentTarget() { return this.#currentTarget; }
    get eventPhase() { return this.#phase; }
    get bubbles() { return this.#bubbles; }
    get cancelable() { return this.#cancelable; }
    get composed() { return this.#composed; }
    get isTrusted() { return false; }
    get timeStamp() { return this.#timeStamp; }
    get defaultPrevented() { return this.#canceled; }
    get returnValue() { return !this.#canceled; }
    set returnValue(value) { if (!value) this.preventDefault(); }
    get cancelBubble() { return this.#stopPropagation; }
    set cancelBubble(value) { if (value) this.#stopPropagation = true; }
    composedPath() { return this.#dispatching && this.#currentTarget ? [this.#currentTarget] : []; }
    preventDefault() { if (this.#cancelable && !this.#inPassiveListener) this.#canceled = true; }
    stopPropagation() { this.#stopPropagation = true; }
    stopImmediatePropagation() { this.#stopPropagation = true; this.#stopImmediate = true; }

    static [internal](event, target, listeners) {
      if (event.#dispatching) throw new DOMException('The event is already being dispatched.', 'InvalidStateError');
      event.#dispatching = true;
      event.#target = target;
      event.#currentTarget = target;
      event.#phase = AT_TARGET;
      for (const listener of listeners) {
        if (listener.removed) continue;
        if (listener.once) listener.remove();
        event.#inPassiveListener = listener.passive;
        try {
          const callback = listener.callback;
          if (typeof callback === 'function') callback.call(target, event);
          else if (callback && typeof callback.handleEvent === 'function') callback.handleEvent(event);
        } catch (error) {
          reportError(error);
        }
        event.#inPassiveListener = false;
        if (event.#stopImmediate) break;
      }
      event.#phase = NONE;
      event.#currentTarget = null;
      event.#dispatching = false;
      event.#stopPropagation = event.#stopImmediate = false;
      return !event.#canceled;
    }
  }
  for (const [name, value] of Object.entries({ NONE, CAPTURING_PHASE, AT_TARGET, BUBBLING_PHASE })) {
    Object.defineProperty(Event, name, { value, enumerable: true });
    Object.defineProperty(Event.prototype, name, { value, enumerable: true });
  }

  class CustomEvent extends Event {
    #detail;
    constructor(type, init = {}) {
      if (arguments.length === 0) throw new TypeError("CustomEvent: the 'type' argument is required");
      super(type, init);
      this.#detail = init && init.detail !== undefined ? init.detail : null;
    }
    get detail() { return this.#detail; }
  }

  function flatten(options) {
    if (typeof options === 'boolean') return { capture: options };
    if (options === undefined || options === null) return { capture: false };
    return options;
  }

  class EventTarget {
    #listeners = new Map(); // type -> [listener]

    addEventListener(type, callback, options = {}) {
      if (arguments.length < 2) throw new TypeError('EventTarget.addEventListener: 2 arguments required');
      if (callback === null || callback === undefined) return;
      if (typeof callback !== 'function' && typeof callback !== 'object')
        throw new TypeError('EventTarget.addEventListener: the callback is not an object');
      type = String(type);
      const flat = flatten(options);
      const capture = !!flat.capture, once = !!flat.once, passive = !!flat.passive;
      const signal = typeof options === 'object' && options !== null ? options.signal : undefined;
      if (signal !== undefined && !(signal instanceof AbortSignal))
        throw new TypeError("EventTarget.addEventListener: 'signal' is not an AbortSignal");
      if (signal && signal.aborted) return;
      let list = this.#listeners.get(type);
      if (!list) this.#listeners.set(type, (list = []));
      if (list.some((l) => l.callback === callback && l.capture === capture)) return;
      const listener = {
        callback, capture, once, passive, removed: false,
        remove: () => {
          listener.removed = true;
          const current = this.#listeners.get(type);
          if (current) {
            const at = current.indexOf(listener);
            if (at >= 0) current.splice(at, 1);
          }
        },
      };
      list.push(listener);
      if (signal) signal.addEventListener('abort', () => listener.remove(), { once: true });
    }

    removeEventListener(type, callback, options = {}) {
      if (arguments.length < 2) throw new TypeError('EventTarget.removeEventListener: 2 arguments required');
      const list = this.#listeners.get(String(type));
      if (!list) return;
      const capture = !!flatten(options).capture;
      const found = list.find((l) => l.callback === callback && l.capture === capture);
      if (found) found.remove();
    }

    dispatchEvent(event) {
      if (!(event instanceof Event)) throw new TypeError("EventTarget.dispatchEvent: argument is not an Event");
      const list = this.#listeners.get(event.type);
      return Event[internal](event, this, list ? list.slice() : []);
    }
  }

  let mayConstructSignal = false;

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;
    #onabortListener = null;

    constructor() {
      if (!mayConstructSignal) throw new TypeError('Illegal constructor');
      super();
    }
    static #make() {
      mayConstructSignal = true;
      try { return new AbortSignal(); } finally { mayConstructSignal = false; }
    }
    get aborted() { return this.#aborted; }
    get reason() { return this.#reason; }
    throwIfAborted() { if (this.#aborted) throw this.#reason; }
    get onabort() { return this.#onabort; }
    set onabort(handler) {
      if (this.#onabortListener) this.removeEventListener('abort', this.#onabortListener);
      this.#onabort = typeof handler === 'function' || (handler && typeof handler === 'object') ? handler : null;
      this.#onabortListener = null;
      if (this.#onabort) {
        const call = (event) => (typeof this.#onabort === 'function' ? this.#onabort.call(this, event) : undefined);
        this.#onabortListener = call;
        this.addEventListener('abort', call);
      }
    }

    static abort(reason) {
      const signal = AbortSignal.#make();
      signal.#signalAbort(reason);
      return signal;
    }
    static timeout(milliseconds) {
      const ms = Number(milliseconds);
      if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER)
        throw new TypeError('AbortSignal.timeout: the delay must be a non-negative integer');
      const signal = AbortSignal.#make();
      setTimeoutOf(() => signal.#signalAbort(new DOMException('The operation timed out.', 'TimeoutError')), Math.trunc(ms));
      return signal;
    }
    static any(signals) {
      const list = Array.from(signals, (s) => {
        if (!(s instanceof AbortSignal)) throw new TypeError('AbortSignal.any: every member must be an AbortSignal');
        return s;
      });
      const result = AbortSignal.#make();
      const already = list.find((s) => s.aborted);
      if (already) {
        result.#signalAbort(already.reason);
        return result;
      }
      for (const source of list)
        source.addEventListener('abort', () => result.#signalAbort(source.reason), { once: true });
      return result;
    }
    static [internal](signal, reason) { signal.#signalAbort(reason); }
    static [makeSignal]() { return AbortSignal.#make(); }

    #signalAbort(reason) {
      if (this.#aborted) return;
      this.#aborted = true;
      this.#reason = reason === undefined ? new DOMException('signal is aborted without reason', 'AbortError') : reason;
      this.dispatchEvent(new Event('abort'));
    }
  }

  class AbortController {
    #signal = AbortSignal[makeSignal]();
    get signal() { return this.#signal; }
    abort(reason) { AbortSignal[internal](this.#signal, reason); }
  }

  for (const cls of [Event, CustomEvent, EventTarget, AbortSignal, AbortController])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  return { Event, EventTarget, CustomEvent, AbortController, AbortSignal };
})
