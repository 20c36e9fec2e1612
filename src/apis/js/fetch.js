// fetch.js — the `fetch` group: fetch(), Headers, Request, Response and FormData (Fetch
// standard, as server runtimes implement it: no CORS, no cookies, no cache; a `manual`
// redirect gives the 3xx response itself). The network is the host's: each request goes
// to natives.start (src/engine/natives_fetch.c → src/runtime/fetch.c, libcurl on the
// runtime's loop), which checks the context's egress policy and limits and throws the
// refusal as a TypeError; the response's head arrives through deliver(), its body is
// pulled with natives.read as the guest reads it (so an unread body stops the transfer at
// the host's buffer). Depends on events, streams, buffer, url.
(function (global, natives, dependency) {
  'use strict';
  const { ReadableStream } = dependency('streams');
  const { Blob, File } = dependency('buffer');
  const { URL, URLSearchParams } = dependency('url');
  const { AbortSignal } = dependency('events');
  const { DOMException } = dependency('domexception');
  const { TextEncoder, TextDecoder } = dependency('encoding');
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';

  // ---- Headers ----
  const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const trimRe = /^[\t\n\r ]+|[\t\n\r ]+$/g;
  function headerName(name, what) {
    name = String(name);
    if (!tokenRe.test(name)) throw new TypeError(`${what}: '${name}' is not a valid header name`);
    return name.toLowerCase();
  }
  function headerValue(value, what) {
    value = String(value).replace(trimRe, '');
    if (/[\0\r\n]/.test(value) || /[^\x00-\xFF]/.test(value))
      throw new TypeError(`${what}: header values may not contain NUL, CR, LF or characters above U+00FF`);
    return value;
  }
  // Headers a guest may not set on a request (the host's transport owns them); dropped, as
  // browsers drop forbidden request headers.
  const forbidden = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive',
    'upgrade', 'te', 'trailer', 'expect', 'proxy-authorization', 'proxy-connection']);

  let headersList; // (headers) => its [name, value] list; set inside Headers
  let headersGuard; // (headers, guard) => void
  class Headers {
    #list = [];
    #guard = 'none';
    constructor(init = undefined) {
      if (init === undefined || init === null) return;
      if (!isObject(init)) throw new TypeError('Headers: init must be an object, an array of pairs or Headers');
      if (init instanceof Headers) {
        for (const [n, v] of init.#list) this.#list.push([n, v]);
      } else if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError('Headers: each pair must have exactly a name and a value');
          this.append(p[0], p[1]);
        }
      } else {
        for (const key of Reflect.ownKeys(init)) {
          if (typeof key !== 'string') continue;
          const d = Reflect.getOwnPropertyDescriptor(init, key);
          if (d && d.enumerable) this.append(key, init[key]);
        }
      }
    }
    static {
      headersList = (h) => h.#list;
      headersGuard = (h, guard) => { h.#guard = guard; };
    }
    #check(what) { if (this.#guard === 'immutable') throw new TypeError(`Headers.${what}: these headers are immutable`); }
    append(name, value) {
      this.#check('append');
      this.#list.push([headerName(name, 'Headers.append'), headerValue(value, 'Headers.append')]);
    }
    delete(name) {
      this.#check('delete');
      const n = headerName(name, 'Headers.delete');
      this.#list = this.#list.filter(([k]) => k !== n);
    }
    get(name) {
      const n = headerName(name, 'Headers.get');
      const values = this.#list.filter(([k]) => k === n).map(([, v]) => v);
      return values.length ? values.join(', ') : null;
    }
    getSetCookie() { return this.#list.filter(([k]) => k === 'set-cookie').map(([, v]) => v); }
    has(name) { const n = headerName(name, 'Headers.has'); return this.#list.some(([k]) => k === n); }
    set(name, value) {
      this.#check('set');
      const n = headerName(name, 'Headers.set'), v = headerValue(value, 'Headers.set');
      const i = this.#list.findIndex(([k]) => k === n);
      if (i < 0) { this.#list.push([n, v]); return; }
      this.#list[i][1] = v;
      this.#list = this.#list.filter(([k], j) => k !== n || j === i);
    }
    // Sorted and combined, set-cookie kept apart (the standard's "sort and combine").
    *entries() {
      const names = [...new Set(this.#list.map(([k]) => k))].sort();
      for (const n of names) {
        if (n === 'set-cookie') for (const v of this.getSetCookie()) yield [n, v];
        else yield [n, this.get(n)];
      }
    }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== 'function') throw new TypeError('Headers.forEach: the callback must be a function');
      for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
    }
    [Symbol.iterator]() { return this.entries(); }
  }
  Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: 'Headers', configurable: true });

  // ---- FormData ----
  let formEntries;
  class FormData {
    #entries = [];
    constructor(form = undefined) {
      if (form !== undefined) throw new TypeError('FormData: there is no form element here; construct it empty');
    }
    static { formEntries = (f) => f.#entries; }
    static #entry(name, value, filename, what) {
      name = String(name);
      if (value instanceof Blob) {
        if (!(value instanceof File) || filename !== undefined)
          value = new File([value], filename !== undefined ? String(filename) : value instanceof File ? value.name : 'blob',
            { type: value.type });
        return [name, value];
      }
      if (filename !== undefined) throw new TypeError(`FormData.${what}: a file name needs a Blob value`);
      return [name, String(value)];
    }
    append(name, value, filename = undefined) { this.#entries.push(FormData.#entry(name, value, filename, 'append')); }
    delete(name) { name = String(name); this.#entries = this.#entries.filter(([k]) => k !== name); }
    get(name) { name = String(name); const e = this.#entries.find(([k]) => k === name); return e ? e[1] : null; }
    getAll(name) { name = String(name); return this.#entries.filter(([k]) => k === name).map(([, v]) => v); }
    has(name) { name = String(name); return this.#entries.some(([k]) => k === name); }
    set(name, value, filename = undefined) {
      const entry = FormData.#entry(name, value, filename, 'set');
      const i = this.#entries.findIndex(([k]) => k === entry[0]);
      if (i < 0) { this.#entries.push(entry); return; }
      this.#entries[i] = entry;
      this.#entries = this.#entries.filter(([k], j) => k !== entry[0] || j === i);
    }
    *entries() { for (const [k, v] of this.#entries.slice()) yield [k, v]; }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    forEach(callback, thisArg = undefined) {
      if (typeof callback !== 'function') throw new TypeError('FormData.forEach: the callback must be a function');
      for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
    }
    [Symbol.iterator]() { return this.entries(); }
  }
  Object.defineProperty(FormData.prototype, Symbol.toStringTag, { value: 'FormData', configurable: true });

  const escapeName = (s) => s.replace(/\r\n|\r|\n/g, '\r\n').replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
  // multipart/form-data: the body (a Promise of bytes: Blobs are read asynchronously) and its type.
  function encodeMultipart(form) {
    const random = new Uint8Array(12);
    for (let i = 0; i < random.length; i++) random[i] = Math.floor(Math.random() * 256);
    const boundary = '----jspoolFormBoundary' + Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('');
    const parts = formEntries(form).map(([name, value]) => {
      if (typeof value === 'string') {
        return [encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n`),
          encoder.encode(value.replace(/\r\n|\r|\n/g, '\r\n')), encoder.encode('\r\n')];
      }
      return [encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"; ` +
        `filename="${escapeName(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`),
      value, encoder.encode('\r\n')];
    }).flat();
    parts.push(encoder.encode(`--${boundary}--\r\n`));
    const blob = new Blob(parts);
    return { bytes: blob.arrayBuffer().then((b) => new Uint8Array(b)), type: `multipart/form-data; boundary=${boundary}` };
  }

  // ---- bodies ----
  // A body record: {bytes: Uint8Array | Promise<Uint8Array> | null, stream: ReadableStream |
  // null, transfer: a network transfer | null, used, type (Content-Type it implies)}.
  const isShared = (b) => typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer;
  function extractBody(init, what) {
    if (init === null || init === undefined) return { bytes: null, stream: null, transfer: null, used: false, type: null };
    const record = { bytes: null, stream: null, transfer: null, used: false, type: null };
    if (typeof init === 'string') {
      record.bytes = encoder.encode(init);
      record.type = 'text/plain;charset=UTF-8';
    } else if (init instanceof ArrayBuffer) {
      record.bytes = new Uint8Array(init.slice(0));
    } else if (ArrayBuffer.isView(init) && !isShared(init.buffer)) {
      record.bytes = new Uint8Array(init.buffer.slice(init.byteOffset, init.byteOffset + init.byteLength));
    } else if (init instanceof Blob) {
      record.bytes = init.arrayBuffer().then((b) => new Uint8Array(b));
      record.type = init.type || null;
    } else if (init instanceof URLSearchParams) {
      record.bytes = encoder.encode(init.toString());
      record.type = 'application/x-www-form-urlencoded;charset=UTF-8';
    } else if (init instanceof FormData) {
      const m = encodeMultipart(init);
      record.bytes = m.bytes;
      record.type = m.type;
    } else if (init instanceof ReadableStream) {
      if (init.locked) throw new TypeError(`${what}: the body stream is locked`);
      record.stream = init;
    } else {
      record.bytes = encoder.encode(String(init));
      record.type = 'text/plain;charset=UTF-8';
    }
    return record;
  }

  // All of a stream's chunks as one Uint8Array.
  async function readAll(stream, what) {
    const reader = stream.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError(`${what}: body stream chunks must be Uint8Arrays`);
      chunks.push(value);
      size += value.length;
    }
    return concat(chunks, size);
  }
  function concat(chunks, size) {
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  // The stream over a record's body, made on first use of `.body`.
  function streamOf(record) {
    if (record.stream) return record.stream;
    if (record.transfer) {
      const t = record.transfer;
      record.stream = new ReadableStream({
        start(controller) { t.controller = controller; },
        async pull(controller) {
          record.pulled = true; // (the stream keeps the record, and so the transfer, alive)
          const chunk = await readChunk(t);
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        cancel(reason) { abortTransfer(t, reason); },
      }, { highWaterMark: 0 });
      return record.stream;
    }
    if (record.bytes === null) return null;
    const source = record.bytes;
    record.stream = new ReadableStream({
      async pull(controller) {
        const bytes = await source;
        if (bytes.length) controller.enqueue(bytes);
        controller.close();
      },
    }, { highWaterMark: 0 });
    return record.stream;
  }

  const bodies = new WeakMap(); // Request | Response -> body record
  function recordOf(o, what) {
    const r = bodies.get(o);
    if (!r) throw new TypeError(`${what}: called on an object that is not a Request or Response`);
    return r;
  }
  function isDisturbed(record) {
    return record.used || (record.stream !== null && record.stream.locked);
  }
  async function consume(o, what) {
    const r = recordOf(o, what);
    if (isDisturbed(r)) throw new TypeError(`${what}: the body has already been read`);
    r.used = true;
    if (r.transfer && !r.stream) { // the fast path: no stream objects between the host and us
      const chunks = [];
      let size = 0;
      for (;;) {
        const chunk = await readChunk(r.transfer);
        if (chunk === null) break;
        chunks.push(chunk);
        size += chunk.length;
      }
      return concat(chunks, size);
    }
    if (r.stream) return readAll(r.stream, what);
    if (r.bytes === null) return new Uint8Array(0);
    return await r.bytes;
  }
  function mimeOf(o) {
    const type = o.headers.get('content-type');
    return type === null ? '' : type;
  }
  const bodyMethods = {
    get body() { const r = recordOf(this, 'body'); return streamOf(r); },
    get bodyUsed() { return isDisturbed(recordOf(this, 'bodyUsed')); },
    async arrayBuffer() {
      const bytes = await consume(this, 'arrayBuffer');
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
    },
    async bytes() { return consume(this, 'bytes'); },
    async blob() { const bytes = await consume(this, 'blob'); return new Blob([bytes], { type: mimeOf(this) }); },
    async text() { return decoder.decode(await consume(this, 'text')); },
    async json() { return JSON.parse(decoder.decode(await consume(this, 'json'))); },
    async formData() {
      const type = mimeOf(this);
      const text = decoder.decode(await consume(this, 'formData'));
      if (/^application\/x-www-form-urlencoded/i.test(type)) {
        const form = new FormData();
        for (const [k, v] of new URLSearchParams(text)) form.append(k, v);
        return form;
      }
      throw new TypeError(`formData: a body of type '${type}' cannot be read as FormData here (urlencoded only)`);
    },
  };
  function addBodyMethods(cls) {
    for (const key of Object.keys(bodyMethods)) {
      const d = Object.getOwnPropertyDescriptor(bodyMethods, key);
      d.enumerable = false;
      Object.defineProperty(cls.prototype, key, d);
    }
  }

  // ---- Request ----
  const methods = new Map(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'].map((m) => [m, m]));
  const redirects = new Map([['follow', 0], ['error', 1], ['manual', 2]]);
  let requestState;
  class Request {
    #method; #url; #headers; #redirect; #signal;
    constructor(input, init = {}) {
      if (arguments.length < 1) throw new TypeError('Request: 1 argument required');
      if (init === null || init === undefined) init = {};
      if (!isObject(init)) throw new TypeError('Request: init must be an object');
      let base = null;
      if (input instanceof Request) {
        base = input;
        this.#url = input.#url;
      } else {
        let url;
        try { url = new URL(String(input)); } catch { throw new TypeError(`Request: '${String(input)}' is not an absolute URL`); }
        if (url.username || url.password) throw new TypeError('Request: a URL may not carry credentials');
        url.hash = '';
        this.#url = url.href;
      }
      let method = init.method !== undefined ? String(init.method) : base ? base.#method : 'GET';
      if (!tokenRe.test(method)) throw new TypeError(`Request: '${method}' is not a valid method`);
      method = methods.get(method.toUpperCase()) || method;
      if (method === 'CONNECT' || method === 'TRACE' || method === 'TRACK')
        throw new TypeError(`Request: the method ${method} is forbidden`);
      this.#method = method;
      const redirect = init.redirect !== undefined ? String(init.redirect) : base ? base.#redirect : 'follow';
      if (!redirects.has(redirect)) throw new TypeError(`Request: redirect must be 'follow', 'error' or 'manual'`);
      this.#redirect = redirect;
      const signal = init.signal !== undefined ? init.signal : base ? base.#signal : null;
      if (signal !== null && !(signal instanceof AbortSignal)) throw new TypeError('Request: signal must be an AbortSignal');
      this.#signal = signal;
      this.#headers = new Headers(init.headers !== undefined ? init.headers : base ? base.#headers : undefined);
      let record;
      if (init.body !== undefined && init.body !== null) {
        if (method === 'GET' || method === 'HEAD') throw new TypeError(`Request: a ${method} request cannot have a body`);
        record = extractBody(init.body, 'Request');
        if (record.type && !this.#headers.has('content-type')) this.#headers.set('content-type', record.type);
      } else if (base) {
        const b = recordOf(base, 'Request');
        if (isDisturbed(b)) throw new TypeError('Request: the body of the Request it copies has already been read');
        record = { ...b };
        b.used = true; // the standard moves the body
      } else {
        record = extractBody(null);
      }
      bodies.set(this, record);
    }
    static { requestState = (r) => ({ method: r.#method, url: r.#url, headers: r.#headers, redirect: r.#redirect, signal: r.#signal }); }
    get method() { return this.#method; }
    get url() { return this.#url; }
    get headers() { return this.#headers; }
    get redirect() { return this.#redirect; }
    get signal() { return this.#signal; }
    get destination() { return ''; }
    get mode() { return 'cors'; }
    get credentials() { return 'omit'; }
    get cache() { return 'default'; }
    clone() {
      const r = recordOf(this, 'clone');
      if (isDisturbed(r)) throw new TypeError('Request.clone: the body has already been read');
      const copy = new Request(this.#url, { method: this.#method, headers: this.#headers, redirect: this.#redirect,
        signal: this.#signal });
      bodies.set(copy, cloneRecord(r));
      return copy;
    }
  }
  addBodyMethods(Request);
  Object.defineProperty(Request.prototype, Symbol.toStringTag, { value: 'Request', configurable: true });

  function cloneRecord(r) {
    if (r.transfer || r.stream) {
      const [a, b] = streamOf(r).tee();
      r.stream = a;
      r.transfer = null;
      return { bytes: null, stream: b, transfer: null, used: false, type: r.type };
    }
    return { ...r };
  }

  // ---- Response ----
  const nullBodyStatus = new Set([101, 103, 204, 205, 304]);
  const redirectStatus = new Set([301, 302, 303, 307, 308]);
  let responseInit;
  const internal = Object.freeze({}); // new Response(internal): an empty shell for responseInit
  class Response {
    #status = 200; #statusText = ''; #headers; #type = 'default'; #url = ''; #redirected = false;
    constructor(body = null, init = {}) {
      if (body === internal) return;
      if (init === null || init === undefined) init = {};
      if (!isObject(init)) throw new TypeError('Response: init must be an object');
      const status = init.status !== undefined ? Number(init.status) : 200;
      if (!Number.isInteger(status) || status < 200 || status > 599)
        throw new RangeError(`Response: status must be an integer from 200 to 599, not ${init.status}`);
      const statusText = init.statusText !== undefined ? String(init.statusText) : '';
      if (!/^[\t\x20-\x7E\x80-\xFF]*$/.test(statusText)) throw new TypeError('Response: statusText is not a reason phrase');
      this.#status = status;
      this.#statusText = statusText;
      this.#headers = new Headers(init.headers);
      const record = extractBody(body, 'Response');
      if (body !== null && body !== undefined && nullBodyStatus.has(status))
        throw new TypeError(`Response: a ${status} response cannot have a body`);
      if (record.type && !this.#headers.has('content-type')) this.#headers.set('content-type', record.type);
      bodies.set(this, record);
    }
    static {
      responseInit = (r, head, record) => {
        r.#status = head.status;
        r.#statusText = head.statusText;
        r.#url = head.url;
        r.#redirected = head.redirected;
        r.#type = head.type || 'basic';
        const h = new Headers();
        const list = headersList(h);
        for (let i = 0; i + 1 < head.headers.length; i += 2) list.push([head.headers[i], head.headers[i + 1]]);
        headersGuard(h, 'immutable');
        r.#headers = h;
        bodies.set(r, record);
      };
    }
    static error() {
      const r = new Response(internal);
      responseInit(r, { status: 0, statusText: '', url: '', redirected: false, headers: [], type: 'error' }, extractBody(null));
      return r;
    }
    static redirect(url, status = 302) {
      let href;
      try { href = new URL(String(url)).href; } catch { throw new TypeError(`Response.redirect: '${url}' is not an absolute URL`); }
      status = Number(status);
      if (!redirectStatus.has(status)) throw new RangeError(`Response.redirect: ${status} is not a redirect status`);
      const r = new Response(null, { status });
      r.#headers.set('location', href);
      headersGuard(r.#headers, 'immutable');
      return r;
    }
    static json(data, init = {}) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError('Response.json: the value cannot be serialized to JSON');
      const r = new Response(text, init);
      r.#headers.set('content-type', 'application/json');
      return r;
    }
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    get status() { return this.#status; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get statusText() { return this.#statusText; }
    get headers() { return this.#headers; }
    clone() {
      const r = recordOf(this, 'clone');
      if (isDisturbed(r)) throw new TypeError('Response.clone: the body has already been read');
      const copy = new Response(internal);
      responseInit(copy, { status: this.#status, statusText: this.#statusText, url: this.#url, redirected: this.#redirected,
        headers: headersList(this.#headers).flat(), type: this.#type }, cloneRecord(r));
      return copy;
    }
  }
  addBodyMethods(Response);
  Object.defineProperty(Response.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });

  // ---- transfers ----
  // id -> {id, resolve, reject, wake, error, ended, signal, onAbort, onFailure, controller (its body stream's)}
  const transfers = new Map();
  // A Response (and its body stream) collected with the body unread lets go of its transfer (as a browser's
  // would): otherwise the host would keep it, and its buffered bytes, until the call ends.
  const collected = new FinalizationRegistry((t) => {
    if (t.ended || t.error) return;
    natives.abort(t.id);
    t.error = new TypeError('the response was collected');
    finish(t);
  });

  function finish(t) {
    transfers.delete(t.id);
    if (t.signal && t.onAbort) t.signal.removeEventListener('abort', t.onAbort);
    t.onAbort = null;
  }

  function abortReason(signal) {
    return signal.reason !== undefined ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
  }

  function abortTransfer(t, reason) {
    if (t.ended || t.error) return;
    natives.abort(t.id);
    t.error = reason;
    finish(t);
    if (t.reject) { const reject = t.reject; t.reject = t.resolve = null; reject(reason); }
    if (t.wake) { const wake = t.wake; t.wake = null; wake(); }
  }

  // The next piece of a network body: a Uint8Array, or null at its end; throws its failure.
  async function readChunk(t) {
    for (;;) {
      if (t.error) throw t.error;
      if (t.ended) return null;
      let piece;
      try {
        piece = natives.read(t.id);
      } catch (e) {
        t.error = e;
        finish(t);
        throw e;
      }
      if (piece === 0) { t.ended = true; finish(t); return null; }
      if (piece !== null) return new Uint8Array(piece);
      await new Promise((resolve) => { t.wake = resolve; });
    }
  }

  // The host's events for transfer id (src/engine/natives_fetch.c): the final response's
  // head, a failure before it, or "readable" (data, the end or a failure await read()).
  function deliver(id, head, error) {
    const t = transfers.get(id);
    if (!t) return false;
    if (head !== undefined) {
      const response = new Response(internal);
      const record = { bytes: null, stream: null, transfer: t, used: false, type: null };
      responseInit(response, head, record);
      collected.register(record, t); // alive while the Response or its body stream is
      const resolve = t.resolve;
      t.resolve = t.reject = null;
      if (resolve) resolve(response);
      return true;
    }
    if (error !== undefined) {
      const failure = new TypeError(error);
      t.error = failure;
      finish(t);
      if (t.reject) { const reject = t.reject; t.reject = t.resolve = null; reject(failure); }
      if (t.onFailure) t.onFailure(failure); // its owner hears it even when no read awaits it
      // The stream errors now, not at its next pull: a limit that stopped its reader may
      // have dropped the microtask that ends the pull in progress, and every read after
      // would wait forever.
      if (t.controller) try { t.controller.error(failure); } catch { /* closed already */ }
    }
    if (t.wake) { const wake = t.wake; t.wake = null; wake(); }
    return true;
  }

  function fetch(input, init = undefined) { return fetchWith(input, init, false); }

  // contextOwned: the transfer outlives the call that started it (the eventsource group's
  // streams); only an abort, the context's destroy or a VM recycle cancel it. onFailure(e):
  // called with every failure the host delivers for it (a limit that stopped the JS
  // reading its body included: that JS may never read again).
  function fetchWith(input, init, contextOwned, onFailure) {
    return new Promise((resolve, reject) => {
      let request;
      try {
        request = input instanceof Request && init === undefined ? input : new Request(input, init);
      } catch (e) {
        reject(e);
        return;
      }
      const { method, url, headers, redirect, signal } = requestState(request);
      if (signal && signal.aborted) { reject(abortReason(signal)); return; }
      const record = recordOf(request, 'fetch');
      if (isDisturbed(record)) { reject(new TypeError('fetch: the request body has already been read')); return; }
      record.used = record.bytes !== null || record.stream !== null;
      const list = [];
      for (const [n, v] of headersList(headers)) if (!forbidden.has(n) && !n.startsWith('proxy-')) list.push(n, v);
      const start = (bytes) => {
        if (signal && signal.aborted) { reject(abortReason(signal)); return; }
        let id;
        try {
          id = natives.start(method, url, list, bytes ? bytes.slice().buffer : undefined, redirects.get(redirect),
            contextOwned);
        } catch (e) {
          reject(e);
          return;
        }
        const t = { id, resolve, reject, wake: null, error: null, ended: false, signal, onAbort: null,
          onFailure: onFailure || null, controller: null };
        transfers.set(id, t);
        if (signal) {
          t.onAbort = () => abortTransfer(t, abortReason(signal));
          signal.addEventListener('abort', t.onAbort, { once: true });
        }
      };
      if (record.stream) readAll(record.stream, 'fetch').then(start, reject);
      else if (record.bytes instanceof Promise) record.bytes.then(start, reject);
      else start(record.bytes);
    });
  }

  const fetchContextOwned = (input, init, onFailure) => fetchWith(input, init, true, onFailure);
  return { fetch, Headers, Request, Response, FormData, deliver, fetchContextOwned };
})
