// channel.js — the `channel` group: MessageEvent, MessageChannel and MessagePort (two
// entangled ports inside one context, messages delivered as tasks in order) and
// BroadcastChannel (every other channel of the same name in any context of the same
// namespace — by default the context and its workers alone — through the pool's registry
// in C). Messages are serialized at post time (structured-clone's
// serialize: DataCloneError there, messageerror when the receiver cannot read them).
// natives: subscribe/unsubscribe/post (src/engine/natives_channel.c) and serialize/deserialize.
(function (global, natives) {
  'use strict';
  const DOMException = global.DOMException;
  const Event = global.Event, EventTarget = global.EventTarget;
  const setTimeoutOf = global.setTimeout;
  const { serialize, deserialize } = natives;
  const addListener = EventTarget.prototype.addEventListener;
  const removeListener = EventTarget.prototype.removeEventListener;

  class MessageEvent extends Event {
    #data; #origin; #lastEventId; #source; #ports;
    constructor(type, init = {}) {
      if (arguments.length === 0) throw new TypeError("MessageEvent: the 'type' argument is required");
      super(type, init);
      const get = (key, fallback) => (init && init[key] !== undefined ? init[key] : fallback);
      this.#data = get('data', null);
      this.#origin = String(get('origin', ''));
      this.#lastEventId = String(get('lastEventId', ''));
      this.#source = get('source', null);
      const ports = get('ports', []);
      if (ports === null || typeof ports !== 'object') throw new TypeError('MessageEvent: ports must be a sequence');
      this.#ports = Object.freeze(Array.from(ports));
    }
    get data() { return this.#data; }
    get origin() { return this.#origin; }
    get lastEventId() { return this.#lastEventId; }
    get source() { return this.#source; }
    get ports() { return this.#ports; }
  }

  // Event handler IDL attributes (onmessage ...): one listener registered on first set, kept
  // in place while the handler changes, removed when set to null.
  const handlers = new WeakMap(); // target -> { type: { handler, listener } }
  function defineHandler(cls, type, onSet) {
    Object.defineProperty(cls.prototype, `on${type}`, {
      configurable: true, enumerable: true,
      get() { const slot = (handlers.get(this) || {})[type]; return slot ? slot.handler : null; },
      set(value) {
        let all = handlers.get(this);
        if (!all) handlers.set(this, (all = {}));
        const slot = all[type] || (all[type] = { handler: null, listener: null });
        slot.handler = typeof value === 'function' || (value !== null && typeof value === 'object') ? value : null;
        if (slot.handler && !slot.listener) {
          slot.listener = (event) => (typeof slot.handler === 'function' ? slot.handler.call(this, event) : undefined);
          addListener.call(this, type, slot.listener);
        } else if (!slot.handler && slot.listener) {
          removeListener.call(this, type, slot.listener);
          slot.listener = null;
        }
        if (slot.handler && onSet) onSet(this);
      },
    });
  }

  // postMessage(message, transfer) or postMessage(message, { transfer })
  function transferList(options) {
    if (options === undefined || options === null) return [];
    if (typeof options !== 'object') throw new TypeError('postMessage: the second argument must be a sequence or a dictionary');
    if (typeof options[Symbol.iterator] === 'function') return Array.from(options);
    return options.transfer === undefined ? [] : Array.from(options.transfer);
  }
  const cloneError = (message) => new DOMException(message, 'DataCloneError');

  let mayConstructPort = false;
  const makePort = () => {
    mayConstructPort = true;
    try { return new MessagePort(); } finally { mayConstructPort = false; }
  };

  class MessagePort extends EventTarget {
    #partner = null;
    #queue = [];      // { data, ports } waiting for delivery, in order
    #enabled = false; // start() called (or onmessage set)
    #closed = false;  // closed or transferred away: nothing is delivered any more

    constructor() {
      if (!mayConstructPort) throw new TypeError('Illegal constructor');
      super();
    }

    postMessage(message, options = undefined) {
      if (arguments.length === 0) throw new TypeError('MessagePort.postMessage: 1 argument required');
      const transfer = transferList(options);
      const ports = [], buffers = [];
      for (const item of transfer) (item instanceof MessagePort ? ports : buffers).push(item);
      if (ports.includes(this)) throw cloneError('A port cannot transfer itself.');
      for (let i = 0; i < ports.length; i++) {
        if (ports.indexOf(ports[i]) !== i) throw cloneError('A MessagePort listed twice in transfer.');
        if (ports[i].#closed) throw cloneError('A closed or already transferred MessagePort.');
      }
      const data = serialize(message, buffers, ports);
      // The transferred ports hand their entanglement and queue to new port objects, which
      // the receiver gets in event.ports (and wherever the message referenced them).
      const moved = ports.map((port) => MessagePort.#moveTo(port, makePort()));
      const target = this.#partner;
      if (!target || ports.includes(target)) return; // nobody to receive it
      MessagePort.#enqueue(target, { data, ports: moved });
    }

    start() {
      if (this.#enabled || this.#closed) return;
      this.#enabled = true;
      for (let i = 0; i < this.#queue.length; i++) setTimeoutOf(() => this.#deliverOne(), 0);
    }

    close() {
      this.#closed = true;
      this.#queue = [];
      const partner = this.#partner;
      this.#partner = null;
      if (partner) partner.#partner = null;
    }

    static #moveTo(from, to) {
      to.#partner = from.#partner;
      if (to.#partner) to.#partner.#partner = to;
      to.#queue = from.#queue;
      from.#queue = [];
      from.#partner = null;
      from.#closed = true;
      return to;
    }

    static #enqueue(port, message) {
      port.#queue.push(message);
      // one task per message, so microtasks run between messages as in a browser
      if (port.#enabled && !port.#closed) setTimeoutOf(() => port.#deliverOne(), 0);
    }

    #deliverOne() {
      if (this.#closed || !this.#queue.length) return;
      const message = this.#queue.shift();
      let data;
      try {
        data = deserialize(message.data, message.ports);
      } catch {
        this.dispatchEvent(new MessageEvent('messageerror', { data: null }));
        return;
      }
      this.dispatchEvent(new MessageEvent('message', { data, ports: message.ports }));
    }

    static entangle(a, b) { a.#partner = b; b.#partner = a; }
  }
  defineHandler(MessagePort, 'message', (port) => port.start()); // setting onmessage starts the port
  defineHandler(MessagePort, 'messageerror');
  const entangle = MessagePort.entangle;
  delete MessagePort.entangle;

  class MessageChannel {
    #port1 = makePort();
    #port2 = makePort();
    constructor() { entangle(this.#port1, this.#port2); }
    get port1() { return this.#port1; }
    get port2() { return this.#port2; }
  }

  // ---- BroadcastChannel ----
  const channelsByName = new Map(); // name -> Set of open channels here, in creation order
  let nextChannelId = 1;

  class BroadcastChannel extends EventTarget {
    #name; #key; #id; #closed = false;

    constructor(name) {
      if (arguments.length === 0) throw new TypeError('BroadcastChannel: 1 argument required');
      super();
      this.#name = String(name);
      this.#key = JSON.stringify(this.#name); // the registry key: text without NUL or newline
      this.#id = nextChannelId++;
      natives.subscribe(this.#key);
      let open = channelsByName.get(this.#key);
      if (!open) channelsByName.set(this.#key, (open = new Set()));
      open.add(this);
    }

    get name() { return this.#name; }

    postMessage(message) {
      if (arguments.length === 0) throw new TypeError('BroadcastChannel.postMessage: 1 argument required');
      if (this.#closed) throw new DOMException('BroadcastChannel is closed.', 'InvalidStateError');
      natives.post(this.#key, serialize(message), this.#id);
    }

    close() {
      if (this.#closed) return;
      this.#closed = true;
      const open = channelsByName.get(this.#key);
      open.delete(this);
      if (!open.size) channelsByName.delete(this.#key);
      natives.unsubscribe(this.#key);
    }

    // A post reached this context: every open channel of that name but the sender gets its
    // own copy, in creation order. target is "b:<sender id here, or 0>:<key>".
    static deliver(target, data) {
      const colon = target.indexOf(':', 2);
      const senderId = Number(target.slice(2, colon)), key = target.slice(colon + 1);
      const open = channelsByName.get(key);
      if (!open) return;
      for (const channel of Array.from(open)) {
        if (channel.#id === senderId || channel.#closed) continue;
        let value;
        try {
          value = deserialize(data);
        } catch {
          channel.dispatchEvent(new MessageEvent('messageerror', { data: null }));
          continue;
        }
        channel.dispatchEvent(new MessageEvent('message', { data: value }));
      }
    }
  }
  defineHandler(BroadcastChannel, 'message');
  defineHandler(BroadcastChannel, 'messageerror');
  const deliver = BroadcastChannel.deliver;
  delete BroadcastChannel.deliver;

  for (const cls of [MessageEvent, MessagePort, MessageChannel, BroadcastChannel])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  // deliver is for the host (not a global): engine_messaging_deliver calls it.
  return { MessageChannel, MessagePort, BroadcastChannel, MessageEvent, deliver, defineHandler }; // defineHandler: for websocket, eventsource
})
