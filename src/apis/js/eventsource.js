// eventsource.js — the `eventsource` group: EventSource (Server-Sent Events, HTML standard
// §9.2) on the fetch group's streamed response bodies: the event stream's fields (event,
// data, id, retry; comments; CR, LF and CRLF line ends), MessageEvents with lastEventId,
// reconnection after `retry` ms (3000 by default) with a Last-Event-ID header, and close().
// Its requests are context-owned fetches: they outlive the call that opened the
// EventSource, and go through the same egress policy and limits as fetch() (a stream held
// open counts against egress_max_requests). No cookies exist here: withCredentials only
// reflects its option. Depends on fetch and channel (MessageEvent, on* handlers).
(function (global, natives, dependency) {
  'use strict';
  const { EventTarget, Event, AbortController } = dependency('events');
  const { MessageEvent, defineHandler } = dependency('channel');
  const { fetchContextOwned } = dependency('fetch');
  const { URL } = dependency('url');
  const { DOMException } = dependency('domexception');
  const { TextDecoder } = dependency('encoding');
  const { setTimeout, clearTimeout } = global;

  const CONNECTING = 0, OPEN = 1, CLOSED = 2;
  // A refusal by the egress policy will not change by retrying: the connection fails
  // instead of being re-established (the standard's "futile" case). A full request slot
  // (egress_max_requests) or a timeout is retried.
  const futileRe = /egress_allow|never reachable|is not allowed|redirect refused/;
  // The host cancelled the request because a handler (open or message) was stopped by a
  // limit: the reading loop was cut with it, so the source fails rather than sit OPEN and
  // deaf; told in a timer of its own (the host's delivery may run unmetered).
  const stoppedRe = /stopped by this context's \w+ limit/;

  class EventSource extends EventTarget {
    #url; #withCredentials; #state = CONNECTING;
    #retry = 3000; #lastEventId = ''; #controller = null; #timer = null;
    constructor(url, init = {}) {
      super();
      if (arguments.length === 0) throw new TypeError("EventSource: the 'url' argument is required");
      try {
        this.#url = new URL(String(url), global.location ? String(global.location) : undefined).href;
      } catch {
        throw new DOMException(`EventSource: '${url}' is not a valid URL`, 'SyntaxError');
      }
      this.#withCredentials = Boolean(init && init.withCredentials);
      this.#connect();
    }
    get url() { return this.#url; }
    get withCredentials() { return this.#withCredentials; }
    get readyState() { return this.#state; }
    close() {
      this.#state = CLOSED;
      if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null; }
      if (this.#controller) { this.#controller.abort(); this.#controller = null; }
    }

    #fail() { // "fail the connection": no more attempts
      if (this.#state === CLOSED) return;
      this.#state = CLOSED;
      this.#controller = null;
      this.dispatchEvent(new Event('error'));
    }
    #reestablish() {
      if (this.#state === CLOSED) return;
      this.#state = CONNECTING;
      this.#controller = null;
      this.dispatchEvent(new Event('error'));
      if (this.#state !== CONNECTING) return; // closed by an error handler
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (this.#state === CONNECTING) this.#connect();
      }, this.#retry);
    }

    #connect() {
      const controller = new AbortController();
      this.#controller = controller;
      const headers = { accept: 'text/event-stream', 'cache-control': 'no-store' };
      if (this.#lastEventId !== '') headers['last-event-id'] = this.#lastEventId;
      let request;
      try {
        request = fetchContextOwned(this.#url, { headers, signal: controller.signal }, (e) => {
          if (controller !== this.#controller || !stoppedRe.test(String(e && e.message))) return;
          this.#controller = null; // the loop's leftovers, if any, stop on seeing this
          setTimeout(() => this.#fail(), 0); // (a no-op if close() came first)
        });
      } catch (e) {
        request = Promise.reject(e);
      }
      request.then((response) => {
        if (controller !== this.#controller || this.#state === CLOSED) return undefined;
        const type = (response.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
        if (response.status !== 200 || type !== 'text/event-stream') {
          response.body && response.body.cancel().catch(() => {});
          this.#fail();
          return undefined;
        }
        this.#state = OPEN;
        this.dispatchEvent(new Event('open'));
        return this.#read(response.body.getReader(), controller);
      }).then(() => {
        if (controller === this.#controller) this.#reestablish(); // the stream ended
      }, (e) => {
        if (controller !== this.#controller || this.#state === CLOSED) return;
        if (e && futileRe.test(String(e.message))) this.#fail();
        else this.#reestablish();
      });
    }

    async #read(reader, controller) {
      const decoder = new TextDecoder(); // UTF-8; a leading BOM is dropped
      let buffer = '', data = '', type = '', id = this.#lastEventId, lastWasCR = false;
      const origin = new URL(this.#url).origin;
      const line = (text) => {
        if (text === '') { // dispatch
          this.#lastEventId = id;
          if (data === '') { type = ''; return; }
          const event = new MessageEvent(type || 'message', { data: data.slice(0, -1), origin, lastEventId: id });
          data = ''; type = '';
          if (this.#state !== CLOSED) this.dispatchEvent(event);
          return;
        }
        if (text[0] === ':') return; // a comment
        const colon = text.indexOf(':');
        const field = colon < 0 ? text : text.slice(0, colon);
        let value = colon < 0 ? '' : text.slice(colon + 1);
        if (value[0] === ' ') value = value.slice(1);
        if (field === 'event') type = value;
        else if (field === 'data') data += value + '\n';
        else if (field === 'id') { if (!value.includes('\0')) id = value; }
        else if (field === 'retry') { if (/^[0-9]+$/.test(value)) this.#retry = Number(value); }
      };
      for (;;) {
        const { value, done } = await reader.read();
        if (controller !== this.#controller || this.#state === CLOSED) { reader.cancel().catch(() => {}); return; }
        buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
        let at = 0;
        for (let i = 0; i < buffer.length; i++) {
          const ch = buffer.charCodeAt(i);
          if (ch === 10 && lastWasCR && i === at) { at = i + 1; lastWasCR = false; continue; } // CRLF's LF
          lastWasCR = false;
          if (ch === 10 || ch === 13) {
            line(buffer.slice(at, i));
            at = i + 1;
            lastWasCR = ch === 13;
            if (controller !== this.#controller || this.#state === CLOSED) { reader.cancel().catch(() => {}); return; }
          }
        }
        buffer = buffer.slice(at);
        if (done) return; // an event not yet dispatched is dropped, as the standard says
      }
    }
  }
  for (const [name, value] of [['CONNECTING', CONNECTING], ['OPEN', OPEN], ['CLOSED', CLOSED]]) {
    Object.defineProperty(EventSource, name, { value, enumerable: true });
    Object.defineProperty(EventSource.prototype, name, { value, enumerable: true });
  }
  for (const type of ['open', 'message', 'error']) defineHandler(EventSource, type);
  Object.defineProperty(EventSource.prototype, Symbol.toStringTag, { value: 'EventSource', configurable: true });

  return { EventSource };
})
