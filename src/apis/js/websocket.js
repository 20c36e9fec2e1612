// websocket.js — the `websocket` group: the WebSocket client of the HTML standard
// (WebSocket, CloseEvent) for ws: and wss: URLs. The network is the host's: natives.open
// (src/engine/natives_websocket.c → src/runtime/websocket_client.c: libuv, OpenSSL, wslay)
// checks the context's egress policy and limits; every outcome, refusals included, comes
// back through deliver() as open / message / close events (an error event before a close
// that was not clean, whose reason says why). A socket outlives the call that opened it.
// Depends on channel (MessageEvent, on* handlers), buffer (Blob), url.
(function (global, natives, dependency) {
  'use strict';
  const { EventTarget, Event } = dependency('events');
  const { MessageEvent, defineHandler } = dependency('channel');
  const { Blob, blobBytes } = dependency('buffer');
  const { URL } = dependency('url');
  const { DOMException } = dependency('domexception');
  const { TextEncoder } = dependency('encoding');
  const encoder = new TextEncoder();

  class CloseEvent extends Event {
    #wasClean; #code; #reason;
    constructor(type, init = {}) {
      if (arguments.length === 0) throw new TypeError("CloseEvent: the 'type' argument is required");
      super(type, init);
      this.#wasClean = Boolean(init && init.wasClean);
      this.#code = init && init.code !== undefined ? Number(init.code) & 0xffff : 0;
      this.#reason = init && init.reason !== undefined ? String(init.reason) : '';
    }
    get wasClean() { return this.#wasClean; }
    get code() { return this.#code; }
    get reason() { return this.#reason; }
  }

  const CONNECTING = 0, OPEN = 1, CLOSING = 2, CLOSED = 3;
  const TOO_BIG = 2; // deliver()'s answer for a message past the memory limit (natives_websocket.c)
  const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const sockets = new Map(); // id -> WebSocket, until its close event

  class WebSocket extends EventTarget {
    #id = 0; #url; #origin; #state = CONNECTING; #protocol = ''; #binaryType = 'blob'; #dropped = 0;
    constructor(url, protocols = []) {
      super();
      if (arguments.length === 0) throw new TypeError("WebSocket: the 'url' argument is required");
      let parsed;
      try {
        parsed = new URL(String(url), global.location ? String(global.location) : undefined);
      } catch {
        throw new DOMException(`WebSocket: '${url}' is not a valid URL`, 'SyntaxError');
      }
      if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
      else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
      if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:')
        throw new DOMException(`WebSocket: the URL's scheme must be ws: or wss: (not ${parsed.protocol})`, 'SyntaxError');
      if (parsed.hash !== '' || String(url).includes('#'))
        throw new DOMException('WebSocket: the URL may not have a fragment', 'SyntaxError');
      if (typeof protocols === 'string') protocols = [protocols];
      else if (protocols === null || typeof protocols !== 'object' || typeof protocols[Symbol.iterator] !== 'function')
        protocols = [String(protocols)];
      const list = Array.from(protocols, String);
      const seen = new Set();
      for (const p of list) {
        if (!tokenRe.test(p)) throw new DOMException(`WebSocket: '${p}' is not a valid subprotocol name`, 'SyntaxError');
        const lower = p.toLowerCase();
        if (seen.has(lower)) throw new DOMException(`WebSocket: the subprotocol '${p}' is listed twice`, 'SyntaxError');
        seen.add(lower);
      }
      this.#url = parsed.href;
      this.#origin = parsed.origin; // (per message, a URL parse cost more than the rest of the event)
      const isTls = parsed.protocol === 'wss:';
      const port = parsed.port ? Number(parsed.port) : isTls ? 443 : 80;
      let host = parsed.hostname;
      if (host.startsWith('[')) host = host.slice(1, -1);
      this.#id = natives.open(isTls, host, port, parsed.host, (parsed.pathname || '/') + parsed.search, list.join(', '));
      sockets.set(this.#id, this);
    }
    get url() { return this.#url; }
    get readyState() { return this.#state; }
    get bufferedAmount() { return (this.#state === OPEN || this.#state === CLOSING ? natives.buffered(this.#id) : 0) + this.#dropped; }
    get extensions() { return ''; }
    get protocol() { return this.#protocol; }
    get binaryType() { return this.#binaryType; }
    set binaryType(value) {
      if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value; // others ignored (WebIDL enum)
    }
    send(data) {
      if (arguments.length === 0) throw new TypeError("WebSocket.send: the 'data' argument is required");
      if (this.#state === CONNECTING) throw new DOMException('WebSocket.send: the socket is still connecting', 'InvalidStateError');
      let payload, size;
      if (typeof data === 'string') { payload = data; size = -1; }
      else if (data instanceof ArrayBuffer) { payload = data.slice(0); size = data.byteLength; }
      else if (ArrayBuffer.isView(data)) {
        payload = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
        size = data.byteLength;
      } else if (data instanceof Blob) {
        const bytes = blobBytes(data);
        payload = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        size = bytes.byteLength;
      } else if (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer) {
        throw new TypeError('WebSocket.send: a SharedArrayBuffer cannot be sent');
      } else {
        payload = String(data);
        size = -1;
      }
      if (this.#state !== OPEN) { // closing or closed: the bytes only count, as the standard says
        this.#dropped += size >= 0 ? size : encoder.encode(payload).byteLength;
        return;
      }
      natives.send(this.#id, payload);
    }
    close(code = undefined, reason = undefined) {
      if (code !== undefined) {
        code = Number(code);
        if (!Number.isFinite(code)) code = 0;
        code = Math.trunc(code) & 0xffff;
        if (code !== 1000 && (code < 3000 || code > 4999))
          throw new DOMException(`WebSocket.close: the code must be 1000 or in 3000-4999 (not ${code})`, 'InvalidAccessError');
      }
      let reasonText = '';
      if (reason !== undefined) {
        reasonText = String(reason);
        if (encoder.encode(reasonText).byteLength > 123)
          throw new DOMException('WebSocket.close: the reason is longer than 123 bytes in UTF-8', 'SyntaxError');
      }
      if (this.#state === CLOSING || this.#state === CLOSED) return;
      this.#state = CLOSING;
      natives.close(this.#id, code === undefined ? (reason !== undefined ? 1000 : 0) : code, reasonText);
    }
    static #deliver(socket, kind, a, b, c, d) {
      if (kind === 0) {
        if (socket.#state !== CONNECTING) return;
        socket.#state = OPEN;
        socket.#protocol = a;
        socket.dispatchEvent(new Event('open'));
      } else if (kind === 1 || kind === 2) {
        if (socket.#state !== OPEN) return;
        let data = a;
        if (kind === 2 && socket.#binaryType === 'blob') {
          // its copy past an isolated context's memory limit (memory-guard.js): the host
          // fails the socket saying so, rather than the event vanishing
          try { data = new Blob([a]); } catch (e) { if (e instanceof RangeError) return TOO_BIG; throw e; }
        }
        socket.dispatchEvent(new MessageEvent('message', { data, origin: socket.#origin }));
      } else {
        sockets.delete(socket.#id);
        socket.#state = CLOSED;
        if (d) socket.dispatchEvent(new Event('error'));
        socket.dispatchEvent(new CloseEvent('close', { wasClean: c, code: a, reason: b }));
      }
    }
    static { WebSocket.deliverTo = (socket, ...args) => WebSocket.#deliver(socket, ...args); }
  }
  const deliverTo = WebSocket.deliverTo;
  delete WebSocket.deliverTo;
  for (const [name, value] of [['CONNECTING', CONNECTING], ['OPEN', OPEN], ['CLOSING', CLOSING], ['CLOSED', CLOSED]]) {
    Object.defineProperty(WebSocket, name, { value, enumerable: true });
    Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
  }
  for (const type of ['open', 'message', 'error', 'close']) defineHandler(WebSocket, type);
  for (const cls of [WebSocket, CloseEvent])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  // The host's events for socket id (src/engine/natives_websocket.c): kind 0 open
  // (protocol, extensions), 1 text / 2 binary message (data), 3 close (code, reason,
  // wasClean, error first). False for an unknown id, TOO_BIG for a message that did not
  // fit the context's memory limit.
  function deliver(id, kind, a, b, c, d) {
    const socket = sockets.get(id);
    if (!socket) return false;
    return deliverTo(socket, kind, a, b, c, d) === TOO_BIG ? TOO_BIG : true;
  }

  return { WebSocket, CloseEvent, deliver };
})
