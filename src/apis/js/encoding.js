// encoding.js — the `encoding` group: TextEncoder, TextDecoder (UTF-8, UTF-16LE and
// windows-1252, the WHATWG Encoding standard's decoders with fatal, ignoreBOM and
// streaming) and atob/btoa (the HTML standard's forgiving base64). Evaluates to a
// function(globalThis, natives) returning the group's globals; natives are the engine's C
// fast paths for UTF-8 (valid input only; this file handles the rest). Depends on
// `domexception`.
(function (global, natives) {
  'use strict';
  const DOMException = global.DOMException;
  const fromCharCode = String.fromCharCode;

  const labels = new Map();
  const addLabels = (name, list) => list.forEach((label) => labels.set(label, name));
  addLabels('utf-8', ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8']);
  addLabels('utf-16le', ['csunicode', 'iso-10646-ucs-2', 'ucs-2', 'unicode', 'unicodefeff', 'utf-16', 'utf-16le']);
  addLabels('windows-1252', ['ansi_x3.4-1968', 'ascii', 'cp1252', 'cp819', 'csisolatin1', 'ibm819', 'iso-8859-1',
    'iso-ir-100', 'iso8859-1', 'iso88591', 'iso_8859-1', 'iso_8859-1:1987', 'l1', 'latin1', 'us-ascii',
    'windows-1252', 'x-cp1252']);
  // windows-1252 bytes 0x80-0x9F (the rest map to the same code point)
  const cp1252 = [0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122,
    0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178];

  function bytesOf(input) {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && input instanceof SharedArrayBuffer))
      return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError("TextDecoder.decode: the input must be an ArrayBuffer or a view of one");
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') {
      const s = String(input);
      if (natives) return natives.utf8Encode(s);
      const out = new Uint8Array(s.length * 3);
      return out.slice(0, encodeUtf8(s, out).written);
    }
    encodeInto(source, destination) {
      if (!(destination instanceof Uint8Array)) throw new TypeError('TextEncoder.encodeInto: the destination must be a Uint8Array');
      return encodeUtf8(String(source), destination);
    }
  }

  // Writes whole code points only; lone surrogates become U+FFFD.
  function encodeUtf8(s, out) {
    let read = 0, written = 0;
    const capacity = out.length;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i), units = 1;
      if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xDC00 && d <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00); units = 2; }
        else c = 0xFFFD;
      } else if (c >= 0xD800 && c <= 0xDFFF) {
        c = 0xFFFD;
      }
      const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      if (written + size > capacity) break;
      if (size === 1) out[written++] = c;
      else if (size === 2) { out[written++] = 0xC0 | (c >> 6); out[written++] = 0x80 | (c & 0x3F); }
      else if (size === 3) {
        out[written++] = 0xE0 | (c >> 12); out[written++] = 0x80 | ((c >> 6) & 0x3F); out[written++] = 0x80 | (c & 0x3F);
      } else {
        out[written++] = 0xF0 | (c >> 18); out[written++] = 0x80 | ((c >> 12) & 0x3F);
        out[written++] = 0x80 | ((c >> 6) & 0x3F); out[written++] = 0x80 | (c & 0x3F);
      }
      read += units;
      i += units - 1;
    }
    return { read, written };
  }

  class TextDecoder {
    #encoding; #fatal; #ignoreBOM; #pending = []; #bomSeen = false;

    constructor(label = 'utf-8', options = {}) {
      // the Encoding standard's "get an encoding": strip ASCII whitespace only, ASCII lower-case
      const name = labels.get(String(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '')
        .replace(/[A-Z]+/g, (s) => s.toLowerCase()));
      if (!name) throw new RangeError(`TextDecoder: the encoding label '${label}' is not supported`);
      this.#encoding = name;
      this.#fatal = !!(options && options.fatal);
      this.#ignoreBOM = !!(options && options.ignoreBOM);
    }
    get encoding() { return this.#encoding; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }

    decode(input, options = {}) {
      const stream = !!(options && options.stream);
      let bytes = bytesOf(input);
      if (this.#pending.length) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = [];
      }
      const fast = this.#encoding === 'utf-8' && natives ? natives.utf8DecodeValid(bytes) : undefined;
      const result = fast !== undefined ? fast
        : this.#encoding === 'utf-8' ? this.#utf8(bytes, stream)
        : this.#encoding === 'utf-16le' ? this.#utf16le(bytes, stream)
        : this.#windows1252(bytes);
      let text = result;
      if (!this.#bomSeen && text.length) {
        this.#bomSeen = true;
        if (!this.#ignoreBOM && this.#encoding !== 'windows-1252' && text.charCodeAt(0) === 0xFEFF) text = text.slice(1);
      }
      if (!stream) this.#bomSeen = false;
      return text;
    }

    #fail() {
      if (this.#fatal) throw new TypeError(`TextDecoder: the data is not valid ${this.#encoding}`);
      return 0xFFFD;
    }

    #utf8(bytes, stream) {
      const units = [];
      let out = '';
      const n = bytes.length;
      let i = 0;
      while (i < n) {
        const b = bytes[i];
        if (b < 0x80) { units.push(b); i++; }
        else {
          let need = 0, cp = 0, lower = 0x80, upper = 0xBF;
          if (b >= 0xC2 && b <= 0xDF) { need = 1; cp = b & 0x1F; }
          else if (b >= 0xE0 && b <= 0xEF) { need = 2; cp = b & 0x0F; if (b === 0xE0) lower = 0xA0; if (b === 0xED) upper = 0x9F; }
          else if (b >= 0xF0 && b <= 0xF4) { need = 3; cp = b & 0x07; if (b === 0xF0) lower = 0x90; if (b === 0xF4) upper = 0x8F; }
          else { units.push(this.#fail()); i++; continue; }
          let j = 1;
          for (; j <= need; j++) {
            if (i + j >= n) break;
            const c = bytes[i + j];
            if (c < lower || c > upper) break;
            lower = 0x80; upper = 0xBF;
            cp = (cp << 6) | (c & 0x3F);
          }
          if (j > need) {
            if (cp >= 0x10000) { cp -= 0x10000; units.push(0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)); }
            else units.push(cp);
            i += need + 1;
          } else if (i + j >= n && stream) {
            this.#pending = Array.from(bytes.subarray(i));
            break;
          } else {
            units.push(this.#fail()); // the maximal subpart becomes one U+FFFD
            i += j;
          }
        }
        if (units.length >= 8192) { out += fromCharCode.apply(null, units); units.length = 0; }
      }
      return out + fromCharCode.apply(null, units);
    }

    #utf16le(bytes, stream) {
      const units = [];
      let out = '';
      let i = 0;
      const even = bytes.length - (bytes.length % 2);
      for (; i < even; i += 2) {
        const u = bytes[i] | (bytes[i + 1] << 8);
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (i + 3 < bytes.length) {
            const v = bytes[i + 2] | (bytes[i + 3] << 8);
            if (v >= 0xDC00 && v <= 0xDFFF) { units.push(u, v); i += 2; continue; }
            units.push(this.#fail()); // the unit after it is read on its own
            continue;
          }
          if (stream) { this.#pending = Array.from(bytes.subarray(i)); return out + fromCharCode.apply(null, units); }
          // the input ends inside the pair: a lead surrogate and at most one byte more are
          // one error, as the standard's end-of-queue step says
          units.push(this.#fail());
          i = bytes.length;
          break;
        } else if (u >= 0xDC00 && u <= 0xDFFF) units.push(this.#fail());
        else units.push(u);
        if (units.length >= 8192) { out += fromCharCode.apply(null, units); units.length = 0; }
      }
      if (i < bytes.length) {
        if (stream) this.#pending = Array.from(bytes.subarray(i));
        else units.push(this.#fail());
      }
      return out + fromCharCode.apply(null, units);
    }

    #windows1252(bytes) {
      let out = '';
      const units = [];
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i];
        units.push(b >= 0x80 && b <= 0x9F ? cp1252[b - 0x80] : b);
        if (units.length >= 8192) { out += fromCharCode.apply(null, units); units.length = 0; }
      }
      return out + fromCharCode.apply(null, units);
    }
  }

  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const alphabetIndex = new Map([...alphabet].map((ch, i) => [ch, i]));

  function btoa(data) {
    if (arguments.length === 0) throw new TypeError('btoa: 1 argument required');
    const s = String(data);
    const fast = natives ? natives.btoaLatin1(s) : undefined;
    if (fast !== undefined) return fast;
    let out = '';
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if (a > 0xFF || b > 0xFF || c > 0xFF)
        throw new DOMException('btoa: the string contains characters outside of Latin1', 'InvalidCharacterError');
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] +
        (i + 1 < s.length ? alphabet[(n >> 6) & 63] : '=') + (i + 2 < s.length ? alphabet[n & 63] : '=');
    }
    return out;
  }

  function atob(data) {
    if (arguments.length === 0) throw new TypeError('atob: 1 argument required');
    const fast = natives ? natives.atobForgiving(String(data)) : undefined;
    if (fast !== undefined) return fast;
    let s = String(data).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 0) s = s.replace(/==?$/, '');
    const invalid = () => new DOMException('atob: the string is not correctly encoded', 'InvalidCharacterError');
    if (s.length % 4 === 1) throw invalid();
    let out = '', buffer = 0, bits = 0;
    for (const ch of s) {
      const v = alphabetIndex.get(ch);
      if (v === undefined) throw invalid();
      buffer = (buffer << 6) | v;
      bits += 6;
      if (bits >= 8) { bits -= 8; out += fromCharCode((buffer >> bits) & 0xFF); }
    }
    return out;
  }

  for (const cls of [TextEncoder, TextDecoder])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });
  return { TextEncoder, TextDecoder, atob, btoa };
})
