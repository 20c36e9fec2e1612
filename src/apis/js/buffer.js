// buffer.js — the `buffer` group: Blob and File (File API; no stream() until the streams
// group exists) and a Node-compatible Buffer subset: a Uint8Array subclass with
// Buffer.from (string in utf8/hex/base64/latin1, array, ArrayBuffer, view), alloc,
// isBuffer, byteLength, concat, and toString/equals/slice. Depends on `encoding`.
(function (global) {
  'use strict';
  const { TextEncoder, TextDecoder, atob, btoa } = global;
  const encoder = new TextEncoder();
  const utf8Decoder = new TextDecoder();

  function normalizeType(type) {
    const t = String(type);
    return /^[\x20-\x7E]*$/.test(t) ? t.toLowerCase() : '';
  }

  let blobBytes; // (blob) => its bytes; set inside Blob, where #bytes is visible

  function partBytes(part) {
    if (part instanceof Blob) return blobBytes(part);
    if (part instanceof ArrayBuffer) return new Uint8Array(part.slice(0));
    if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
    return encoder.encode(String(part));
  }

  class Blob {
    #bytes; #type;
    constructor(parts = [], options = {}) {
      if (parts === null || typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function')
        throw new TypeError("Blob: the parts must be an iterable");
      const chunks = Array.from(parts, partBytes);
      const size = chunks.reduce((n, c) => n + c.length, 0);
      this.#bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) { this.#bytes.set(c, at); at += c.length; }
      this.#type = options && options.type !== undefined ? normalizeType(options.type) : '';
    }
    static { blobBytes = (blob) => blob.#bytes; }
    get size() { return this.#bytes.length; }
    get type() { return this.#type; }
    slice(start = 0, end = this.size, type = '') {
      const clamp = (v) => { v = Math.trunc(Number(v)) || 0; return v < 0 ? Math.max(this.size + v, 0) : Math.min(v, this.size); };
      const from = clamp(start), to = clamp(end);
      const blob = new Blob([], { type });
      blob.#bytes = this.#bytes.slice(from, Math.max(from, to));
      return blob;
    }
    async arrayBuffer() { return this.#bytes.slice().buffer; }
    async bytes() { return this.#bytes.slice(); }
    async text() { return utf8Decoder.decode(this.#bytes); }
  }

  class File extends Blob {
    #name; #lastModified;
    constructor(parts, name, options = {}) {
      if (arguments.length < 2) throw new TypeError('File: 2 arguments required');
      super(parts, options);
      this.#name = String(name);
      this.#lastModified = options && options.lastModified !== undefined ? Number(options.lastModified) : Date.now();
    }
    get name() { return this.#name; }
    get lastModified() { return this.#lastModified; }
  }
  for (const cls of [Blob, File]) Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  const encodings = new Set(['utf8', 'utf-8', 'hex', 'base64', 'latin1', 'binary', 'ascii']);
  const normalizeEncoding = (e) => {
    const name = String(e === undefined ? 'utf8' : e).toLowerCase();
    if (!encodings.has(name)) throw new TypeError(`Unknown encoding: ${e}`);
    return name === 'utf-8' ? 'utf8' : name === 'binary' || name === 'ascii' ? 'latin1' : name;
  };

  function stringToBytes(string, encoding) {
    switch (normalizeEncoding(encoding)) {
      case 'utf8': return encoder.encode(string);
      case 'hex': {
        const n = string.length >> 1, out = new Uint8Array(n);
        let i = 0;
        for (; i < n; i++) {
          const byte = parseInt(string.substr(i * 2, 2), 16);
          if (Number.isNaN(byte)) break; // Node stops at the first bad pair
          out[i] = byte;
        }
        return out.subarray(0, i);
      }
      case 'base64': {
        // Node's decoder: URL-safe letters accepted, anything else skipped, stops at '='
        let clean = string.split('=')[0].replace(/-/g, '+').replace(/_/g, '/').replace(/[^A-Za-z0-9+/]/g, '');
        if (clean.length % 4 === 1) clean = clean.slice(0, -1); // a lone sextet carries no byte
        return Uint8Array.from(atob(clean), (c) => c.charCodeAt(0));
      }
      default: return Uint8Array.from(string, (c) => c.charCodeAt(0) & 0xFF);
    }
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === 'string') return toBuffer(stringToBytes(value, encodingOrOffset));
      if (value instanceof ArrayBuffer) {
        const offset = encodingOrOffset === undefined ? 0 : Number(encodingOrOffset);
        return new Buffer(value, offset, length === undefined ? value.byteLength - offset : Number(length));
      }
      if (ArrayBuffer.isView(value)) return toBuffer(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
      if (value && typeof value === 'object' && (Array.isArray(value) || typeof value.length === 'number'))
        return toBuffer(Uint8Array.from(Array.prototype.slice.call(value), (v) => Number(v) & 0xFF));
      throw new TypeError('Buffer.from: the first argument must be a string, Buffer, ArrayBuffer, Array or array-like');
    }
    static alloc(size, fill = 0) {
      const buffer = new Buffer(Number(size));
      if (fill !== 0) buffer.fill(typeof fill === 'string' ? stringToBytes(fill)[0] : fill);
      return buffer;
    }
    static isBuffer(value) { return value instanceof Buffer; }
    static byteLength(value, encoding) {
      if (typeof value === 'string') return stringToBytes(value, encoding).length;
      return value.byteLength;
    }
    static concat(list, totalLength) {
      const size = totalLength === undefined ? list.reduce((n, b) => n + b.length, 0) : Number(totalLength);
      const out = Buffer.alloc(size);
      let at = 0;
      for (const b of list) {
        if (at >= size) break;
        out.set(b.subarray(0, size - at), at);
        at += Math.min(b.length, size - at);
      }
      return out;
    }
    toString(encoding, start = 0, end = this.length) {
      const bytes = this.subarray(start, end);
      switch (normalizeEncoding(encoding)) {
        case 'utf8': return utf8Decoder.decode(bytes);
        case 'hex': return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
        case 'base64': {
          let binary = '';
          for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
          return btoa(binary);
        }
        default: {
          let out = '';
          for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
          return out;
        }
      }
    }
    equals(other) {
      if (!(other instanceof Uint8Array)) throw new TypeError('Buffer.equals: the argument must be a Buffer or Uint8Array');
      if (other.length !== this.length) return false;
      for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
      return true;
    }
    slice(start, end) { return this.subarray(start, end); } // Node: a view, not a copy
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
  }
  function toBuffer(bytes) { return new Buffer(bytes.buffer, bytes.byteOffset, bytes.length); }

  return { Blob, File, Buffer, blobBytes }; // blobBytes: for the websocket group's send(blob)
})
