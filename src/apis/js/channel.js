// channel.js — the `channel` group: MessageEvent, MessageChannel and MessagePort (two
// entangled ports inside one context, messages delivered as tasks in order) and
// BroadcastChannel (every other channel of the same name in any context of the same
// namespace — by default the context and its workers alone — through the pool's registry
// in C). Inside the context a message is a structured clone taken at post time
// (structured-clone's cloneWith: DataCloneError there) queued as a task (runTask below);
// to other contexts it is serialized to text (serialize: messageerror when the receiver
// cannot read it) and goes through C as a job.
// natives: subscribe/unsubscribe/post/hasPeers/wake (src/engine/natives_channel.c) and
// serialize/deserialize/cloneWith.
(function (global, natives) {
  'use strict';
  const DOMException = global.DOMException;
  const Event = global.Event, EventTarget = global.EventTarget;
  const { serialize, deserialize, cloneWith, wake } = natives;

  // ---- message tasks ----
  // Every delivery inside this context — a MessagePort's message, a BroadcastChannel post to
  // another channel here — is one task in this FIFO of (target, message) pairs, in post
  // order. The host runs them in batches (natives.wake asks for a job: JOB_MESSAGE_TASKS,
  // src/runtime/messaging.c), calling runTask once per task, each in its own entry with its
  // own budget and the microtasks it queued drained before the next: a task each, as the
  // standard has it, without a loop wake-up each (a setTimeout(0) per message before).
  const PORT_TASK = {}; // a MessagePort's task: its next queued message
  let tasks = [], taskHead = 0;
  // The host's job is queued or running, and runs until runTask says none are left (a
  // native call per post cost ~0.4 us). If it cannot run (the context is over its memory
  // limit even after a collection) the tasks wait for a VM recycle.
  let isWoken = false;
  function queueTask(target, message) {
    tasks.push(target, message);
    if (isWoken) return;
    wake();
    isWoken = true;
  }
  let deliverToPort, deliverToChannel; // set below (private access)
  // Delivers the next task's message; true when more tasks wait. (A task whose port or
  // channel closed meanwhile delivers nothing and the next one is taken.)
  function runTask() {
    while (taskHead < tasks.length) {
      const target = tasks[taskHead], message = tasks[taskHead + 1];
      tasks[taskHead] = tasks[taskHead + 1] = undefined;
      taskHead += 2;
      if (taskHead === tasks.length) {
        tasks = [];
        taskHead = 0;
      } else if (taskHead >= 8192 && taskHead * 2 >= tasks.length) {
        tasks = tasks.slice(taskHead); // a long backlog: drop the delivered half
        taskHead = 0;
      }
      if (message === PORT_TASK ? deliverToPort(target) : deliverToChannel(target, message)) break;
    }
    const hasMore = taskHead < tasks.length;
    isWoken = hasMore; // (a post from a microtask after the last task queues a new job)
    return hasMore;
  }
  const addListener = EventTarget.prototype.addEventListener;
  const removeListener = EventTarget.prototype.removeEventListener;

  // The ports of a message that carried none: one frozen array for all of them (a
  // MessageEvent built per message took 1.9 us with a closure, Array.from and a freeze
  // each, 0.5 us without).
  const NO_PORTS = Object.freeze([]);

  class MessageEvent extends Event {
    #data = null; #origin = ''; #lastEventId = ''; #source = null; #ports = NO_PORTS;
    constructor(type) { // (init: arguments[1]; see MessagePort.postMessage)
      if (arguments.length === 0) throw new TypeError("MessageEvent: the 'type' argument is required");
      const init = arguments[1];
      super(type, init);
      if (!init) return;
      let value = init.data;
      if (value !== undefined) this.#data = value;
      value = init.origin;
      if (value !== undefined) this.#origin = String(value);
      value = init.lastEventId;
      if (value !== undefined) this.#lastEventId = String(value);
      value = init.source;
      if (value !== undefined) this.#source = value;
      const ports = init.ports;
      if (ports === undefined || ports === NO_PORTS) return;
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
    #queue = [];      // data, ports, data, ports... waiting for delivery, in order, from #head on
    #head = 0;
    #enabled = false; // start() called (or onmessage set)
    #closed = false;  // closed or transferred away: nothing is delivered any more

    constructor() {
      if (!mayConstructPort) throw new TypeError('Illegal constructor');
      super();
    }

    // (options: arguments[1]. A parameter with a default value next to `arguments` kept
    // JSC from optimizing the call: a cold 1 s of messages ran at 0.39x Node's, 0.81x without)
    postMessage(message) {
      if (arguments.length === 0) throw new TypeError('MessagePort.postMessage: 1 argument required');
      const options = arguments[1];
      if (options === undefined) { // nothing to transfer: the common case, without the lists
        const data = cloneWith(message, NO_PORTS);
        if (this.#partner) MessagePort.#enqueue(this.#partner, data, NO_PORTS);
        return;
      }
      const transfer = transferList(options);
      const ports = [], buffers = [];
      for (const item of transfer) (item instanceof MessagePort ? ports : buffers).push(item);
      if (ports.includes(this)) throw cloneError('A port cannot transfer itself.');
      for (let i = 0; i < ports.length; i++) {
        if (ports.indexOf(ports[i]) !== i) throw cloneError('A MessagePort listed twice in transfer.');
        if (ports[i].#closed) throw cloneError('A closed or already transferred MessagePort.');
      }
      // The transferred ports hand their entanglement and queue to new port objects, which
      // the receiver gets in event.ports (and wherever the message referenced them: the
      // clone finds them in its memory as it finds objects it has already copied).
      const fresh = ports.map(() => makePort());
      const data = cloneWith(message, buffers, ports.length ? new Map(ports.map((port, i) => [port, fresh[i]])) : undefined);
      const moved = ports.length ? ports.map((port, i) => MessagePort.#moveTo(port, fresh[i])) : NO_PORTS;
      const target = this.#partner;
      if (!target || ports.includes(target)) return; // nobody to receive it
      MessagePort.#enqueue(target, data, moved);
    }

    start() {
      if (this.#enabled || this.#closed) return;
      this.#enabled = true;
      for (let i = this.#head; i < this.#queue.length; i += 2) queueTask(this, PORT_TASK);
    }

    close() {
      this.#closed = true;
      this.#queue = [];
      this.#head = 0;
      const partner = this.#partner;
      this.#partner = null;
      if (partner) partner.#partner = null;
    }

    static #moveTo(from, to) {
      to.#partner = from.#partner;
      if (to.#partner) to.#partner.#partner = to;
      to.#queue = from.#queue;
      to.#head = from.#head;
      from.#queue = [];
      from.#head = 0;
      from.#partner = null;
      from.#closed = true;
      return to;
    }

    static #enqueue(port, data, ports) {
      port.#queue.push(data, ports);
      // one task per message, so microtasks run between messages as in a browser
      if (port.#enabled && !port.#closed) queueTask(port, PORT_TASK);
    }

    // true when a message was delivered
    #deliverOne() {
      if (this.#closed || this.#head >= this.#queue.length) return false;
      const queue = this.#queue, at = this.#head;
      const data = queue[at], ports = queue[at + 1];
      queue[at] = queue[at + 1] = undefined;
      this.#head = at + 2;
      if (this.#head === queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head >= 8192 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.dispatchEvent(new MessageEvent('message', { data, ports }));
      return true;
    }

    static entangle(a, b) { a.#partner = b; b.#partner = a; }
    static {
      deliverToPort = (port) => port.#deliverOne();
    }
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

  // Whether another context has a channel of the name open: asked of the registry only
  // when its change counter moved since the last answer (a native call per post cost
  // ~1 us). The counter is read before asking, so a change during the question shows.
  const peersGeneration = natives.peersGeneration; // Uint32Array(1), or undefined: ask always
  const peersByKey = new Map(); // key -> { generation, hasPeers }, for names open here
  function hasPeers(key) {
    if (peersGeneration === undefined) return natives.hasPeers(key);
    const generation = peersGeneration[0];
    const known = peersByKey.get(key);
    if (known !== undefined && known.generation === generation) return known.hasPeers;
    const answer = natives.hasPeers(key);
    peersByKey.set(key, { generation, hasPeers: answer });
    return answer;
  }

  class BroadcastChannel extends EventTarget {
    #name; #key; #closed = false;

    constructor(name) {
      if (arguments.length === 0) throw new TypeError('BroadcastChannel: 1 argument required');
      super();
      this.#name = String(name);
      this.#key = JSON.stringify(this.#name); // the registry key: text without NUL or newline
      natives.subscribe(this.#key);
      let open = channelsByName.get(this.#key);
      if (!open) channelsByName.set(this.#key, (open = new Set()));
      open.add(this);
    }

    get name() { return this.#name; }

    postMessage(message) {
      if (arguments.length === 0) throw new TypeError('BroadcastChannel.postMessage: 1 argument required');
      if (this.#closed) throw new DOMException('BroadcastChannel is closed.', 'InvalidStateError');
      // Cloned first, receivers or not, so that what cannot be cloned always throws.
      const copy = cloneWith(message, NO_PORTS);
      // The other channels of this name here, in creation order, each get their own copy
      // (taken now, so later changes to message do not show); other contexts get text.
      let isCopyTaken = false;
      for (const channel of channelsByName.get(this.#key)) {
        if (channel === this) continue;
        queueTask(channel, isCopyTaken ? cloneWith(message, NO_PORTS) : copy);
        isCopyTaken = true;
      }
      if (hasPeers(this.#key)) natives.post(this.#key, serialize(message));
    }

    close() {
      if (this.#closed) return;
      this.#closed = true;
      const open = channelsByName.get(this.#key);
      open.delete(this);
      if (!open.size) {
        channelsByName.delete(this.#key);
        peersByKey.delete(this.#key);
      }
      natives.unsubscribe(this.#key);
    }

    // A task of this context: a post of another channel here.
    static {
      deliverToChannel = (channel, data) => {
        if (channel.#closed) return false;
        channel.dispatchEvent(new MessageEvent('message', { data }));
        return true;
      };
    }

    // A post of another context reached this one: every open channel of that name gets its
    // own copy, in creation order. target is "b:0:<key>".
    static deliver(target, data) {
      const colon = target.indexOf(':', 2);
      const key = target.slice(colon + 1);
      const open = channelsByName.get(key);
      if (!open) return;
      for (const channel of Array.from(open)) {
        if (channel.#closed) continue;
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

  // deliver and runTask are for the host (not globals): engine_messaging_deliver and
  // engine_messaging_run_task call them.
  return { MessageChannel, MessagePort, BroadcastChannel, MessageEvent, deliver, runTask, defineHandler }; // defineHandler: for websocket, eventsource
})
