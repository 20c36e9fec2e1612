// url.js — the `url` group: URL and URLSearchParams as the WHATWG URL Standard defines
// them (basic URL parser state machine, host parser with IPv4/IPv6/opaque hosts, serializer,
// setters, application/x-www-form-urlencoded). Evaluates to a function(globalThis, natives)
// returning the group's globals; natives.domainToASCII (src/engine/natives_url.c, ICU)
// handles UTS #46 for hosts with non-ASCII or xn-- labels; ASCII hosts never leave JS.
(function (global, natives) {
  'use strict';
  const fromCharCode = String.fromCharCode;
  const EOF = -1;
  const FAILURE = null;

  // ---- percent-encode sets: a table per set for ASCII; everything above ~ is encoded ----
  function makeSet(base, extra) {
    const set = new Uint8Array(128);
    if (base) set.set(base);
    for (let c = 0; c < 0x20; c++) set[c] = 1;
    set[0x7F] = 1;
    for (let i = 0; i < extra.length; i++) set[extra.charCodeAt(i)] = 1;
    return set;
  }
  const C0_SET = makeSet(null, '');
  const FRAGMENT_SET = makeSet(C0_SET, ' "<>`');
  const QUERY_SET = makeSet(C0_SET, ' "#<>');
  const SPECIAL_QUERY_SET = makeSet(QUERY_SET, "'");
  const PATH_SET = makeSet(QUERY_SET, '?`{}');
  const USERINFO_SET = makeSet(PATH_SET, '/:;=@[\\]^|');
  const COMPONENT_SET = makeSet(USERINFO_SET, '$%&+,');
  const FORM_SET = makeSet(COMPONENT_SET, "!'()~");

  const HEX = [];
  for (let b = 0; b < 256; b++) HEX.push('%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase());

  // UTF-8 percent-encodes one code point (lone surrogates were replaced on entry).
  function encodeCodePoint(c, set) {
    if (c < 0x80) return set[c] ? HEX[c] : fromCharCode(c);
    if (c < 0x800) return HEX[0xC0 | (c >> 6)] + HEX[0x80 | (c & 0x3F)];
    if (c < 0x10000) return HEX[0xE0 | (c >> 12)] + HEX[0x80 | ((c >> 6) & 0x3F)] + HEX[0x80 | (c & 0x3F)];
    return HEX[0xF0 | (c >> 18)] + HEX[0x80 | ((c >> 12) & 0x3F)] + HEX[0x80 | ((c >> 6) & 0x3F)] +
      HEX[0x80 | (c & 0x3F)];
  }

  // Percent-encodes a string; returns it unchanged when nothing needs encoding.
  function encodeString(s, set, spaceAsPlus) {
    const n = s.length;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || set[c]) break;
    }
    if (i === n) return s;
    let out = s.slice(0, i);
    for (; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xDC00 && d <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00); i++; }
      }
      if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
      out += spaceAsPlus && c === 0x20 ? '+' : encodeCodePoint(c, set);
    }
    return out;
  }

  const hasSurrogate = /[\uD800-\uDFFF]/;
  const isWellFormed = String.prototype.isWellFormed;
  // WebIDL USVString: lone surrogates become U+FFFD.
  function toUSV(value) {
    const s = typeof value === 'string' ? value : `${value}`;
    if (isWellFormed ? isWellFormed.call(s) : !hasSurrogate.test(s)) return s;
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xDC00 && d <= 0xDFFF) { out += s[i] + s[i + 1]; i++; continue; }
      }
      out += c >= 0xD800 && c <= 0xDFFF ? '\uFFFD' : s[i];
    }
    return out;
  }

  // ---- percent-decoding to bytes, then UTF-8 decode without BOM (with replacement) ----
  function hexValue(c) {
    if (c >= 0x30 && c <= 0x39) return c - 0x30;
    if (c >= 0x41 && c <= 0x46) return c - 0x37;
    if (c >= 0x61 && c <= 0x66) return c - 0x57;
    return -1;
  }

  function percentDecodeToBytes(s) {
    const bytes = [];
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c === 0x25 && i + 2 < s.length + 0 && hexValue(s.charCodeAt(i + 1)) >= 0 && hexValue(s.charCodeAt(i + 2)) >= 0) {
        bytes.push(hexValue(s.charCodeAt(i + 1)) * 16 + hexValue(s.charCodeAt(i + 2)));
        i += 2;
        continue;
      }
      if (c < 0x80) { bytes.push(c); continue; }
      if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xDC00 && d <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00); i++; }
      }
      if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
      if (c < 0x800) bytes.push(0xC0 | (c >> 6), 0x80 | (c & 0x3F));
      else if (c < 0x10000) bytes.push(0xE0 | (c >> 12), 0x80 | ((c >> 6) & 0x3F), 0x80 | (c & 0x3F));
      else bytes.push(0xF0 | (c >> 18), 0x80 | ((c >> 12) & 0x3F), 0x80 | ((c >> 6) & 0x3F), 0x80 | (c & 0x3F));
    }
    return bytes;
  }

  // The Encoding Standard's UTF-8 decoder, replacement mode (maximal subparts).
  function utf8Decode(bytes) {
    let out = '', needed = 0, seen = 0, cp = 0, lower = 0x80, upper = 0xBF;
    const units = [];
    const flush = () => { out += fromCharCode.apply(null, units); units.length = 0; };
    const emit = (c) => {
      if (c > 0xFFFF) { c -= 0x10000; units.push(0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF)); }
      else units.push(c);
      if (units.length > 4096) flush();
    };
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length) { if (needed) emit(0xFFFD); break; }
      const b = bytes[i];
      if (!needed) {
        if (b < 0x80) emit(b);
        else if (b >= 0xC2 && b <= 0xDF) { needed = 1; cp = b & 0x1F; }
        else if (b >= 0xE0 && b <= 0xEF) {
          if (b === 0xE0) lower = 0xA0;
          if (b === 0xED) upper = 0x9F;
          needed = 2; cp = b & 0xF;
        } else if (b >= 0xF0 && b <= 0xF4) {
          if (b === 0xF0) lower = 0x90;
          if (b === 0xF4) upper = 0x8F;
          needed = 3; cp = b & 0x7;
        } else emit(0xFFFD);
        continue;
      }
      if (b < lower || b > upper) {
        cp = needed = seen = 0; lower = 0x80; upper = 0xBF;
        emit(0xFFFD);
        i--;
        continue;
      }
      lower = 0x80; upper = 0xBF;
      cp = (cp << 6) | (b & 0x3F);
      if (++seen === needed) { emit(cp); cp = needed = seen = 0; }
    }
    flush();
    return out;
  }

  function percentDecodeString(s) {
    if (s.indexOf('%') < 0) return s;
    return utf8Decode(percentDecodeToBytes(s));
  }

  // ---- schemes ----
  const SPECIAL = { __proto__: null, 'ftp': 21, 'file': null, 'http': 80, 'https': 443, 'ws': 80, 'wss': 443 };
  const isSpecialScheme = (scheme) => scheme in SPECIAL;

  // ---- hosts ----
  // forbidden host code points; domain adds C0 controls, % and DEL
  const FORBIDDEN_HOST = new Uint8Array(128);
  for (const ch of '\0\t\n\r #/:<>?@[\\]^|') FORBIDDEN_HOST[ch.charCodeAt(0)] = 1;
  const FORBIDDEN_DOMAIN = new Uint8Array(FORBIDDEN_HOST);
  for (let c = 0; c < 0x20; c++) FORBIDDEN_DOMAIN[c] = 1;
  FORBIDDEN_DOMAIN[0x25] = FORBIDDEN_DOMAIN[0x7F] = 1;

  const DECIMAL = /^[0-9]+$/, HEXADECIMAL = /^[0-9a-fA-F]+$/, OCTAL = /^[0-7]+$/;
  function parseIPv4Number(s) {
    if (s === '') return NaN;
    let radix = 10;
    if (s.length >= 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X')) { s = s.slice(2); radix = 16; }
    else if (s.length >= 2 && s[0] === '0') { s = s.slice(1); radix = 8; }
    if (s === '') return 0;
    if (!(radix === 10 ? DECIMAL : radix === 16 ? HEXADECIMAL : OCTAL).test(s)) return NaN;
    return parseInt(s, radix);
  }

  function endsInANumber(s) {
    const parts = s.split('.');
    if (parts[parts.length - 1] === '') {
      if (parts.length === 1) return false;
      parts.pop();
    }
    const last = parts[parts.length - 1];
    if (last !== '' && DECIMAL.test(last)) return true;
    return !Number.isNaN(parseIPv4Number(last));
  }

  // Returns the serialized IPv4 address, or FAILURE.
  function parseIPv4(s) {
    const parts = s.split('.');
    if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
    if (parts.length > 4) return FAILURE;
    const numbers = [];
    for (const part of parts) {
      const n = parseIPv4Number(part);
      if (Number.isNaN(n)) return FAILURE;
      numbers.push(n);
    }
    for (let i = 0; i < numbers.length - 1; i++) if (numbers[i] > 255) return FAILURE;
    if (numbers[numbers.length - 1] >= 256 ** (5 - numbers.length)) return FAILURE;
    let ipv4 = numbers[numbers.length - 1];
    for (let i = 0; i < numbers.length - 1; i++) ipv4 += numbers[i] * 256 ** (3 - i);
    return `${Math.floor(ipv4 / 16777216) % 256}.${Math.floor(ipv4 / 65536) % 256}.${Math.floor(ipv4 / 256) % 256}.${ipv4 % 256}`;
  }

  // Returns the 8 pieces, or FAILURE.
  function parseIPv6(s) {
    const address = [0, 0, 0, 0, 0, 0, 0, 0];
    let pieceIndex = 0, compress = null, p = 0;
    const at = (i) => (i < s.length ? s.charCodeAt(i) : EOF);
    const isHex = (c) => c !== EOF && hexValue(c) >= 0;
    const isDigit = (c) => c >= 0x30 && c <= 0x39;
    if (at(p) === 0x3A) {
      if (at(p + 1) !== 0x3A) return FAILURE;
      p += 2;
      compress = ++pieceIndex;
    }
    while (at(p) !== EOF) {
      if (pieceIndex === 8) return FAILURE;
      if (at(p) === 0x3A) {
        if (compress !== null) return FAILURE;
        p++;
        compress = ++pieceIndex;
        continue;
      }
      let value = 0, length = 0;
      while (length < 4 && isHex(at(p))) { value = value * 16 + hexValue(at(p)); p++; length++; }
      if (at(p) === 0x2E) {
        if (length === 0) return FAILURE;
        p -= length;
        if (pieceIndex > 6) return FAILURE;
        let numbersSeen = 0;
        while (at(p) !== EOF) {
          let ipv4Piece = null;
          if (numbersSeen > 0) {
            if (at(p) === 0x2E && numbersSeen < 4) p++;
            else return FAILURE;
          }
          if (!isDigit(at(p))) return FAILURE;
          while (isDigit(at(p))) {
            const number = at(p) - 0x30;
            if (ipv4Piece === null) ipv4Piece = number;
            else if (ipv4Piece === 0) return FAILURE;
            else ipv4Piece = ipv4Piece * 10 + number;
            if (ipv4Piece > 255) return FAILURE;
            p++;
          }
          address[pieceIndex] = address[pieceIndex] * 0x100 + ipv4Piece;
          numbersSeen++;
          if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
        }
        if (numbersSeen !== 4) return FAILURE;
        break;
      } else if (at(p) === 0x3A) {
        p++;
        if (at(p) === EOF) return FAILURE;
      } else if (at(p) !== EOF) {
        return FAILURE;
      }
      address[pieceIndex++] = value;
    }
    if (compress !== null) {
      let swaps = pieceIndex - compress;
      pieceIndex = 7;
      while (pieceIndex !== 0 && swaps > 0) {
        const t = address[pieceIndex];
        address[pieceIndex] = address[compress + swaps - 1];
        address[compress + swaps - 1] = t;
        pieceIndex--;
        swaps--;
      }
    } else if (pieceIndex !== 8) {
      return FAILURE;
    }
    return address;
  }

  function serializeIPv6(address) {
    // the first longest run of two or more zero pieces is compressed
    let compress = -1, best = 1;
    for (let i = 0; i < 8;) {
      if (address[i] !== 0) { i++; continue; }
      let j = i;
      while (j < 8 && address[j] === 0) j++;
      if (j - i > best) { best = j - i; compress = i; }
      i = j;
    }
    let out = '';
    let ignore0 = false;
    for (let i = 0; i < 8; i++) {
      if (ignore0 && address[i] === 0) continue;
      ignore0 = false;
      if (compress === i) {
        out += i === 0 ? '::' : ':';
        ignore0 = true;
        continue;
      }
      out += address[i].toString(16);
      if (i !== 7) out += ':';
    }
    return out;
  }

  const asciiUpper = /[A-Z]/;
  function domainToASCII(domain) {
    let ascii = true;
    for (let i = 0; i < domain.length; i++) if (domain.charCodeAt(i) >= 0x80) { ascii = false; break; }
    if (ascii) {
      const lower = asciiUpper.test(domain) ? domain.toLowerCase() : domain;
      if (!(lower.startsWith('xn--') || lower.indexOf('.xn--') >= 0)) return lower;
    }
    if (!natives) return FAILURE;
    const result = natives.domainToASCII(domain);
    if (result === undefined || result === null || result === '') return FAILURE;
    return result;
  }

  // The host parser; returns the serialized host, or FAILURE.
  function parseHost(input, isOpaque) {
    if (input.charCodeAt(0) === 0x5B) {
      if (input.charCodeAt(input.length - 1) !== 0x5D) return FAILURE;
      const address = parseIPv6(input.slice(1, -1));
      return address === FAILURE ? FAILURE : `[${serializeIPv6(address)}]`;
    }
    if (isOpaque) {
      for (let i = 0; i < input.length; i++) {
        const c = input.charCodeAt(i);
        if (c < 0x80 && FORBIDDEN_HOST[c]) return FAILURE;
      }
      return encodeString(input, C0_SET, false);
    }
    const domain = percentDecodeString(input);
    const asciiDomain = domainToASCII(domain);
    if (asciiDomain === FAILURE) return FAILURE;
    for (let i = 0; i < asciiDomain.length; i++) {
      const c = asciiDomain.charCodeAt(i);
      if (c < 0x80 && FORBIDDEN_DOMAIN[c]) return FAILURE;
    }
    const last = asciiDomain.charCodeAt(asciiDomain.length - 1);
    // cheap pre-check: a host ending in a number ends in a digit, x/X, a hex letter or '.'
    if ((last >= 0x30 && last <= 0x39) || last === 0x2E || (last >= 0x61 && last <= 0x66) || last === 0x78 ||
        (last >= 0x41 && last <= 0x46) || last === 0x58) {
      if (endsInANumber(asciiDomain)) return parseIPv4(asciiDomain);
    }
    return asciiDomain;
  }

  // ---- the URL record and the basic URL parser ----
  function newRecord() {
    return { scheme: '', username: '', password: '', host: null, port: null, path: [], query: null, fragment: null };
  }


  const isAlpha = (c) => (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A);
  const isDigitCode = (c) => c >= 0x30 && c <= 0x39;
  const isWindowsDriveLetter = (s) =>
    s.length === 2 && isAlpha(s.charCodeAt(0)) && (s[1] === ':' || s[1] === '|');
  const isNormalizedDriveLetter = (s) => s.length === 2 && isAlpha(s.charCodeAt(0)) && s[1] === ':';
  function startsWithDriveLetter(s, from) {
    if (s.length - from < 2) return false;
    if (!isAlpha(s.charCodeAt(from)) || (s[from + 1] !== ':' && s[from + 1] !== '|')) return false;
    if (s.length - from === 2) return true;
    const c = s[from + 2];
    return c === '/' || c === '\\' || c === '?' || c === '#';
  }
  function isSingleDot(s) {
    return s === '.' || (s.length === 3 && s.toLowerCase() === '%2e');
  }
  function isDoubleDot(s) {
    if (s === '..') return true;
    if (s.length < 4 || s.length > 6) return false;
    const l = s.toLowerCase();
    return l === '.%2e' || l === '%2e.' || l === '%2e%2e';
  }

  function shortenPath(url) {
    const path = url.path;
    if (url.scheme === 'file' && path.length === 1 && isNormalizedDriveLetter(path[0])) return;
    path.pop();
  }

  const includesCredentials = (url) => url.username !== '' || url.password !== '';

  const SCHEME_START = 1, SCHEME = 2, NO_SCHEME = 3, SPECIAL_RELATIVE_OR_AUTHORITY = 4, PATH_OR_AUTHORITY = 5,
    RELATIVE = 6, RELATIVE_SLASH = 7, SPECIAL_AUTHORITY_SLASHES = 8, SPECIAL_AUTHORITY_IGNORE_SLASHES = 9,
    AUTHORITY = 10, HOST = 11, HOSTNAME = 12, PORT = 13, FILE = 14, FILE_SLASH = 15, FILE_HOST = 16,
    PATH_START = 17, PATH = 18, OPAQUE_PATH = 19, QUERY = 20, FRAGMENT = 21;

  const trimControlAndSpace = /^[\u0000-\u0020]+|[\u0000-\u0020]+$/g;
  const tabOrNewline = /[\t\n\r]/g;
  const needsCleaning = /^[\u0000-\u0020]|[\u0000-\u0020]$|[\t\n\r]/;

  // Returns url (a new record when none is given), or FAILURE.
  function basicParse(input, base, url, stateOverride) {
    if (!url) {
      url = newRecord();
      if (needsCleaning.test(input)) input = input.replace(trimControlAndSpace, '').replace(tabOrNewline, '');
    } else if (input.indexOf('\t') >= 0 || input.indexOf('\n') >= 0 || input.indexOf('\r') >= 0) {
      input = input.replace(tabOrNewline, '');
    }
    let state = stateOverride || SCHEME_START;
    let buffer = '';
    let atSignSeen = false, insideBrackets = false, passwordTokenSeen = false;
    const n = input.length;
    let pointer = 0, step = 1;
    const special = () => isSpecialScheme(url.scheme);

    for (;; pointer += step) {
      let c = pointer < n ? input.charCodeAt(pointer) : EOF;
      step = 1;
      if (c >= 0xD800 && c <= 0xDBFF && pointer + 1 < n) {
        const d = input.charCodeAt(pointer + 1);
        if (d >= 0xDC00 && d <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00); step = 2; }
      }
      switch (state) {
        case SCHEME_START:
          if (isAlpha(c)) {
            buffer += fromCharCode(c | 0x20);
            state = SCHEME;
          } else if (!stateOverride) {
            state = NO_SCHEME;
            step = 0;
          } else {
            return FAILURE;
          }
          break;

        case SCHEME:
          if (isAlpha(c) || isDigitCode(c) || c === 0x2B || c === 0x2D || c === 0x2E) {
            buffer += fromCharCode(c >= 0x41 && c <= 0x5A ? c | 0x20 : c);
          } else if (c === 0x3A) {
            if (stateOverride) {
              if (isSpecialScheme(url.scheme) !== isSpecialScheme(buffer)) return url;
              if ((includesCredentials(url) || url.port !== null) && buffer === 'file') return url;
              if (url.scheme === 'file' && url.host === '') return url;
            }
            url.scheme = buffer;
            if (stateOverride) {
              if (url.port === SPECIAL[url.scheme]) url.port = null;
              return url;
            }
            buffer = '';
            if (url.scheme === 'file') {
              state = FILE;
            } else if (special() && base && base.scheme === url.scheme) {
              state = SPECIAL_RELATIVE_OR_AUTHORITY;
            } else if (special()) {
              state = SPECIAL_AUTHORITY_SLASHES;
            } else if (input.charCodeAt(pointer + 1) === 0x2F) {
              state = PATH_OR_AUTHORITY;
              pointer++;
            } else {
              url.path = '';
              state = OPAQUE_PATH;
            }
          } else if (!stateOverride) {
            buffer = '';
            state = NO_SCHEME;
            pointer = 0;
            step = 0;
          } else {
            return FAILURE;
          }
          break;

        case NO_SCHEME:
          if (!base || (typeof base.path === 'string' && c !== 0x23)) return FAILURE;
          if (typeof base.path === 'string' && c === 0x23) {
            url.scheme = base.scheme;
            url.path = base.path;
            url.query = base.query;
            url.fragment = '';
            state = FRAGMENT;
          } else {
            state = base.scheme !== 'file' ? RELATIVE : FILE;
            step = 0;
          }
          break;

        case SPECIAL_RELATIVE_OR_AUTHORITY:
          if (c === 0x2F && input.charCodeAt(pointer + 1) === 0x2F) {
            state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
            pointer++;
          } else {
            state = RELATIVE;
            step = 0;
          }
          break;

        case PATH_OR_AUTHORITY:
          if (c === 0x2F) state = AUTHORITY;
          else { state = PATH; step = 0; }
          break;

        case RELATIVE:
          url.scheme = base.scheme;
          if (c === 0x2F || (c === 0x5C && special())) {
            state = RELATIVE_SLASH;
          } else {
            url.username = base.username;
            url.password = base.password;
            url.host = base.host;
            url.port = base.port;
            url.path = base.path.slice();
            url.query = base.query;
            if (c === 0x3F) {
              url.query = '';
              state = QUERY;
            } else if (c === 0x23) {
              url.fragment = '';
              state = FRAGMENT;
            } else if (c !== EOF) {
              url.query = null;
              shortenPath(url);
              state = PATH;
              step = 0;
            }
          }
          break;

        case RELATIVE_SLASH:
          if (special() && (c === 0x2F || c === 0x5C)) {
            state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
          } else if (c === 0x2F) {
            state = AUTHORITY;
          } else {
            url.username = base.username;
            url.password = base.password;
            url.host = base.host;
            url.port = base.port;
            state = PATH;
            step = 0;
          }
          break;

        case SPECIAL_AUTHORITY_SLASHES:
          if (c === 0x2F && input.charCodeAt(pointer + 1) === 0x2F) {
            state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
            pointer++;
          } else {
            state = SPECIAL_AUTHORITY_IGNORE_SLASHES;
            step = 0;
          }
          break;

        case SPECIAL_AUTHORITY_IGNORE_SLASHES:
          if (c !== 0x2F && c !== 0x5C) {
            state = AUTHORITY;
            step = 0;
          }
          break;

        case AUTHORITY:
          if (c === 0x40) {
            if (atSignSeen) buffer = '%40' + buffer;
            atSignSeen = true;
            let user = buffer, pass = '';
            if (!passwordTokenSeen) {
              const colon = buffer.indexOf(':');
              if (colon >= 0) { passwordTokenSeen = true; user = buffer.slice(0, colon); pass = buffer.slice(colon + 1); }
              url.username += encodeString(user, USERINFO_SET, false);
              url.password += encodeString(pass, USERINFO_SET, false);
            } else {
              url.password += encodeString(buffer, USERINFO_SET, false);
            }
            buffer = '';
          } else if (c === EOF || c === 0x2F || c === 0x3F || c === 0x23 || (c === 0x5C && special())) {
            if (atSignSeen && buffer === '') return FAILURE;
            pointer -= buffer.length;
            step = 0;
            buffer = '';
            state = HOST;
          } else {
            buffer += step === 2 ? input.substr(pointer, 2) : input[pointer];
          }
          break;

        case HOST:
        case HOSTNAME:
          if (stateOverride && url.scheme === 'file') {
            step = 0;
            state = FILE_HOST;
          } else if (c === 0x3A && !insideBrackets) {
            if (buffer === '') return FAILURE;
            if (stateOverride === HOSTNAME) return url;
            const host = parseHost(buffer, !special());
            if (host === FAILURE) return FAILURE;
            url.host = host;
            buffer = '';
            state = PORT;
          } else if (c === EOF || c === 0x2F || c === 0x3F || c === 0x23 || (c === 0x5C && special())) {
            step = 0;
            if (special() && buffer === '') return FAILURE;
            if (stateOverride && buffer === '' && (includesCredentials(url) || url.port !== null)) return url;
            const host = parseHost(buffer, !special());
            if (host === FAILURE) return FAILURE;
            url.host = host;
            buffer = '';
            state = PATH_START;
            if (stateOverride) return url;
          } else {
            if (c === 0x5B) insideBrackets = true;
            if (c === 0x5D) insideBrackets = false;
            buffer += step === 2 ? input.substr(pointer, 2) : input[pointer];
          }
          break;

        case PORT:
          if (isDigitCode(c)) {
            buffer += input[pointer];
          } else if (c === EOF || c === 0x2F || c === 0x3F || c === 0x23 || (c === 0x5C && special()) ||
                     stateOverride) {
            if (buffer !== '') {
              const port = parseInt(buffer, 10);
              if (port > 65535) return FAILURE;
              url.port = port === SPECIAL[url.scheme] ? null : port;
              buffer = '';
            }
            if (stateOverride) return url;
            state = PATH_START;
            step = 0;
          } else {
            return FAILURE;
          }
          break;

        case FILE:
          url.scheme = 'file';
          url.host = '';
          if (c === 0x2F || c === 0x5C) {
            state = FILE_SLASH;
          } else if (base && base.scheme === 'file') {
            url.host = base.host;
            url.path = base.path.slice();
            url.query = base.query;
            if (c === 0x3F) {
              url.query = '';
              state = QUERY;
            } else if (c === 0x23) {
              url.fragment = '';
              state = FRAGMENT;
            } else if (c !== EOF) {
              url.query = null;
              if (!startsWithDriveLetter(input, pointer)) shortenPath(url);
              else url.path = [];
              state = PATH;
              step = 0;
            }
          } else {
            state = PATH;
            step = 0;
          }
          break;

        case FILE_SLASH:
          if (c === 0x2F || c === 0x5C) {
            state = FILE_HOST;
          } else {
            if (base && base.scheme === 'file') {
              url.host = base.host;
              if (!startsWithDriveLetter(input, pointer) && isNormalizedDriveLetter(base.path[0] || ''))
                url.path.push(base.path[0]);
            }
            state = PATH;
            step = 0;
          }
          break;

        case FILE_HOST:
          if (c === EOF || c === 0x2F || c === 0x5C || c === 0x3F || c === 0x23) {
            step = 0;
            if (!stateOverride && isWindowsDriveLetter(buffer)) {
              state = PATH;
            } else if (buffer === '') {
              url.host = '';
              if (stateOverride) return url;
              state = PATH_START;
            } else {
              let host = parseHost(buffer, !special());
              if (host === FAILURE) return FAILURE;
              if (host === 'localhost') host = '';
              url.host = host;
              if (stateOverride) return url;
              buffer = '';
              state = PATH_START;
            }
          } else {
            buffer += step === 2 ? input.substr(pointer, 2) : input[pointer];
          }
          break;

        case PATH_START:
          if (special()) {
            state = PATH;
            if (c !== 0x2F && c !== 0x5C) step = 0;
          } else if (!stateOverride && c === 0x3F) {
            url.query = '';
            state = QUERY;
          } else if (!stateOverride && c === 0x23) {
            url.fragment = '';
            state = FRAGMENT;
          } else if (c !== EOF) {
            state = PATH;
            if (c !== 0x2F) step = 0;
          } else if (stateOverride && url.host === null) {
            url.path.push('');
          }
          break;

        case PATH: {
          const isSpecial = special();
          if (c === EOF || c === 0x2F || (isSpecial && c === 0x5C) || (!stateOverride && (c === 0x3F || c === 0x23))) {
            const slash = c === 0x2F || (isSpecial && c === 0x5C);
            if (isDoubleDot(buffer)) {
              shortenPath(url);
              if (!slash) url.path.push('');
            } else if (isSingleDot(buffer)) {
              if (!slash) url.path.push('');
            } else {
              if (url.scheme === 'file' && url.path.length === 0 && isWindowsDriveLetter(buffer))
                buffer = buffer[0] + ':';
              url.path.push(buffer);
            }
            buffer = '';
            if (c === 0x3F) {
              url.query = '';
              state = QUERY;
            } else if (c === 0x23) {
              url.fragment = '';
              state = FRAGMENT;
            }
          } else {
            // fast path: a run of characters that stay as they are
            let end = pointer;
            while (end < n) {
              const d = input.charCodeAt(end);
              if (d >= 0x80 || PATH_SET[d] || d === 0x2F || d === 0x5C || d === 0x3F || d === 0x23) break;
              end++;
            }
            if (end > pointer + 1) {
              buffer += input.slice(pointer, end);
              step = end - pointer;
            } else {
              buffer += encodeCodePoint(c, PATH_SET);
            }
          }
          break;
        }

        case OPAQUE_PATH:
          if (c === 0x3F) {
            url.query = '';
            state = QUERY;
          } else if (c === 0x23) {
            url.fragment = '';
            state = FRAGMENT;
          } else if (c !== EOF) {
            url.path += encodeCodePoint(c, C0_SET);
          }
          break;

        case QUERY:
          if ((!stateOverride && c === 0x23) || c === EOF) {
            url.query += encodeString(buffer, special() ? SPECIAL_QUERY_SET : QUERY_SET, false);
            buffer = '';
            if (c === 0x23) {
              url.fragment = '';
              state = FRAGMENT;
            }
          } else {
            let end = pointer + 1;
            if (stateOverride) end = n;
            else {
              const hash = input.indexOf('#', pointer);
              end = hash < 0 ? n : hash;
            }
            buffer += input.slice(pointer, end);
            step = end - pointer;
          }
          break;

        case FRAGMENT:
          if (c !== EOF) {
            url.fragment += encodeString(input.slice(pointer), FRAGMENT_SET, false);
            step = n - pointer;
          }
          break;
      }
      if (c === EOF && step !== 0) break;
    }
    return url;
  }

  // ---- the fast path ----
  // The common case — an absolute http(s)/ws(s)/ftp URL of printable ASCII with a plain
  // domain or dotted-decimal IPv4 host and nothing to percent-encode, or a path-absolute
  // reference against such a base — is scanned once with charCodeAt and yields only the
  // href: the input itself when it is already its own serialization (no string is made),
  // else the few pieces that change, concatenated. The URL record is built from that href
  // the first time a getter or setter needs it (recordFromHref). Anything else returns
  // undefined and takes the basic parser. Measured on the 8 URLs of bench/apis/vs_node.sh:
  // see README.md (a record per URL, with its path segments and substrings, had cost about
  // half of the time).
  // 1: lowercase letter, 2: uppercase, 3: '.', 4: digit, 5: '-', 6: ':', 7: '@', 8: '/', '?'
  // or '#' (the authority's end), 9: '\'; 0: anything else
  const AUTHORITY_KIND = new Uint8Array(128);
  for (let c = 0x61; c <= 0x7A; c++) AUTHORITY_KIND[c] = 1;
  for (let c = 0x41; c <= 0x5A; c++) AUTHORITY_KIND[c] = 2;
  AUTHORITY_KIND[0x2E] = 3;
  for (let c = 0x30; c <= 0x39; c++) AUTHORITY_KIND[c] = 4;
  AUTHORITY_KIND[0x2D] = 5;
  AUTHORITY_KIND[0x3A] = 6;
  AUTHORITY_KIND[0x40] = 7;
  AUTHORITY_KIND[0x2F] = AUTHORITY_KIND[0x3F] = AUTHORITY_KIND[0x23] = 8;
  AUTHORITY_KIND[0x5C] = 9;

  // A dotted-decimal IPv4 address already in its serialized form ("192.168.0.1": four
  // parts, 0-255, no leading zeros) — the only IPv4 form the fast path keeps.
  function isPlainIPv4(s, start, end) {
    let parts = 0, value = 0, digits = 0;
    for (let i = start; i <= end; i++) {
      const c = i < end ? s.charCodeAt(i) : 0x2E;
      if (c === 0x2E) {
        if (digits === 0 || value > 255 || (digits > 1 && s.charCodeAt(i - digits) === 0x30)) return false;
        parts++;
        value = digits = 0;
      } else {
        value = value * 10 + (c - 0x30);
        if (++digits > 3) return false;
      }
    }
    return parts === 4;
  }

  // 1 when input[start, end) is a single-dot path segment ('.', '%2e'), 2 when a double-dot
  // one ('..', '.%2e', '%2e.', '%2e%2e'; any case), else 0.
  function dotSegment(input, start, end) {
    const length = end - start, first = input.charCodeAt(start);
    if (length === 0 || length > 6 || (first !== 0x2E && first !== 0x25)) return 0;
    if (length <= 2) return first !== 0x2E ? 0 : length === 1 ? 1 : input.charCodeAt(start + 1) === 0x2E ? 2 : 0;
    const segment = input.slice(start, end);
    return isDoubleDot(segment) ? 2 : isSingleDot(segment) ? 1 : 0;
  }

  // The path input[start, end) (from '/', no query or fragment) of a special non-file URL
  // with its dot segments resolved, the way the path state does; its segments were checked
  // to need no encoding.
  function removeDotSegments(input, start, end) {
    const kept = []; // start and end of each segment kept
    for (let s = start + 1, i = s; ; i++) {
      if (i < end && input.charCodeAt(i) !== 0x2F) continue;
      const dot = dotSegment(input, s, i), last = i >= end;
      if (dot === 2 && kept.length) kept.length -= 2;
      if (dot === 0) kept.push(s, i);
      else if (last) kept.push(i, i); // ".." or "." at the end leaves an empty segment
      if (last) break;
      s = i + 1;
    }
    let out = '';
    for (let k = 0; k < kept.length; k += 2) out += '/' + input.slice(kept[k], kept[k + 1]);
    return out;
  }

  // Returns the href of input, or undefined to take the basic parser. base is fastBase()
  // of the base URL (null without a base, or when the base is not special or is file).
  function fastParse(input, base) {
    const n = input.length;
    const c0 = input.charCodeAt(0);
    let colon = -1, scheme = '', defaultPort = 0;
    if (c0 === 0x68) { // http, https
      if (input.charCodeAt(1) === 0x74 && input.charCodeAt(2) === 0x74 && input.charCodeAt(3) === 0x70) {
        if (input.charCodeAt(4) === 0x73) { colon = 5; scheme = 'https'; defaultPort = 443; }
        else { colon = 4; scheme = 'http'; defaultPort = 80; }
      }
    } else if (c0 === 0x77) { // ws, wss
      if (input.charCodeAt(1) === 0x73) {
        if (input.charCodeAt(2) === 0x73) { colon = 3; scheme = 'wss'; defaultPort = 443; }
        else { colon = 2; scheme = 'ws'; defaultPort = 80; }
      }
    } else if (c0 === 0x66) { // ftp
      if (input.charCodeAt(1) === 0x74 && input.charCodeAt(2) === 0x70) { colon = 3; scheme = 'ftp'; defaultPort = 21; }
    } else if (c0 === 0x2F || c0 === 0x5C) {
      // a path-absolute reference against a special base: only the base's path is replaced
      if (base === null || input.charCodeAt(1) === 0x2F || c0 === 0x5C || input.charCodeAt(1) === 0x5C) return undefined;
      return fastPathQueryFragment(input, 0, base.prefix, false);
    }
    if (colon < 0 || input.charCodeAt(colon) !== 0x3A || input.charCodeAt(colon + 1) !== 0x2F ||
        input.charCodeAt(colon + 2) !== 0x2F)
      return base === null ? undefined : fastRelative(input, base);

    // One pass over the authority, which ends at '/', '?', '#' or the end: one '@' at most
    // ('\' takes the basic parser); after it (or from the start), host characters, then
    // ':' and port digits. What precedes '@' is checked as userinfo below.
    const start = colon + 3;
    let end = start, atSign = -1, hostStart = start, portColon = -1;
    let upper = false, letters = false, hyphen = false, other = false;
    for (; end < n; end++) {
      const c = input.charCodeAt(end);
      const kind = c < 0x80 ? AUTHORITY_KIND[c] : 0;
      if (kind === 1) {
        letters = true;
        if (portColon >= 0) other = true;
      } else if (kind === 4 || kind === 3) {
        if (kind === 3 && portColon >= 0) other = true;
      } else if (kind === 8) {
        break;
      } else if (kind === 2 || kind === 5) {
        if (kind === 2) upper = true;
        else hyphen = true;
        letters = true;
        if (portColon >= 0) other = true;
      } else if (kind === 6) {
        if (portColon >= 0) other = true;
        else portColon = end;
      } else if (kind === 7) {
        if (atSign >= 0) return undefined;
        atSign = end;
        hostStart = end + 1;
        portColon = -1;
        upper = letters = hyphen = other = false;
      } else if (kind === 9) {
        return undefined;
      } else {
        other = true; // may be userinfo; else '%', '_', '[' and the like: the basic parser
      }
    }
    if (other) return undefined;
    let i = start, normalized = true, userinfo = '';
    if (atSign >= 0) {
      let colonAt = -1;
      for (let j = i; j < atSign; j++) {
        const c = input.charCodeAt(j);
        if (c === 0x3A && colonAt < 0) colonAt = j;
        else if (c <= 0x20 || c >= 0x7F || USERINFO_SET[c]) return undefined;
      }
      // "user:@h" and "@h" serialize without the empty parts
      if (colonAt === atSign - 1 || atSign === i) {
        normalized = false;
        userinfo = input.slice(i, colonAt < 0 ? atSign : colonAt);
        if (userinfo !== '') userinfo += '@';
      } else {
        userinfo = input.slice(i, atSign + 1);
      }
    }

    // the host is input[hostStart, hostEnd): no string is made for it unless it changes
    const hostEnd = portColon >= 0 ? portColon : end;
    if (hostEnd === hostStart) return undefined;
    if (upper) normalized = false;
    if (hyphen) {
      const host = input.slice(hostStart, hostEnd).toLowerCase();
      if (host.startsWith('xn--') || host.indexOf('.xn--') >= 0) return undefined;
    }
    if (!letters) {
      if (!isPlainIPv4(input, hostStart, hostEnd)) return undefined;
    } else {
      // a host ending in a number ends in a digit, '.', a hex letter or x
      const last = input.charCodeAt(hostEnd - 1) | 0x20;
      if ((last >= 0x30 && last <= 0x39) || last === 0x2E || (last >= 0x61 && last <= 0x66) || last === 0x78) {
        if (endsInANumber(input.slice(hostStart, hostEnd).toLowerCase())) return undefined;
      }
    }

    let port = -1;
    if (portColon >= 0) { // digits only, checked above
      const portStart = i = portColon + 1;
      if (end - portStart > 5) return undefined;
      port = 0;
      for (; i < end; i++) port = port * 10 + (input.charCodeAt(i) - 0x30);
      if (port > 65535) return undefined;
      if (i === portStart || port === defaultPort || (i - portStart > 1 && input.charCodeAt(portStart) === 0x30)) {
        normalized = false;
        if (i === portStart || port === defaultPort) port = -1;
      }
    }
    if (normalized) return fastPathQueryFragment(input, end, null, true);
    const host = input.slice(hostStart, hostEnd);
    let prefix = scheme + '://' + userinfo + (upper ? host.toLowerCase() : host);
    if (port >= 0) prefix += ':' + port;
    return fastPathQueryFragment(input, end, prefix, false);
  }

  // The path (from i, at '/', '?', '#' or the end), query and fragment of fastParse: the
  // href is input itself when normalized (the prefix up to i is already serialized), else
  // prefix + the rest of input from i (its dot segments removed, '/' for an empty path).
  function fastPathQueryFragment(input, i, prefix, normalized) {
    const pathStart = i;
    let pathEnd = i, dots = false;
    if (input.charCodeAt(i) === 0x2F) {
      pathEnd = scanPath(input, i + 1);
      if (pathEnd < 0) return undefined;
      dots = scannedDots;
    }
    if (!queryFragmentNeedNoEncoding(input, pathEnd)) return undefined;
    if (normalized && !dots && pathStart < pathEnd) return input;
    if (normalized) prefix = input.slice(0, pathStart);
    if (pathStart === pathEnd) return prefix + '/' + input.slice(pathEnd);
    if (!dots) return pathStart === 0 ? prefix + input : prefix + input.slice(pathStart);
    return prefix + removeDotSegments(input, pathStart, pathEnd) + input.slice(pathEnd);
  }

  // Scans path segments from i (just after a '/', or the start of a path-relative
  // reference) to '?', '#' or the end: returns where the path ends, or -1 when a character
  // would be percent-encoded or is '\'; scannedDots says whether a dot segment was seen.
  let scannedDots = false;
  function scanPath(input, i) {
    const n = input.length;
    let segmentStart = i, dots = false;
    for (;; i++) {
      const c = i < n ? input.charCodeAt(i) : EOF;
      if (c === 0x2F || c === 0x3F || c === 0x23 || c === EOF) {
        if (dotSegment(input, segmentStart, i)) dots = true;
        if (c !== 0x2F) break;
        segmentStart = i + 1;
      } else if (c <= 0x20 || c >= 0x7F || PATH_SET[c] || c === 0x5C) {
        return -1;
      }
    }
    scannedDots = dots;
    return i;
  }

  // Whether what starts at i — '?query', '#fragment', both or nothing — needs no encoding
  // (as the query of a special URL).
  function queryFragmentNeedNoEncoding(input, i) {
    const n = input.length;
    let c = i < n ? input.charCodeAt(i) : EOF;
    if (c === 0x3F) {
      for (i++; i < n; i++) {
        c = input.charCodeAt(i);
        if (c === 0x23) break;
        if (c <= 0x20 || c >= 0x7F || SPECIAL_QUERY_SET[c]) return false;
      }
      c = i < n ? 0x23 : EOF;
    }
    if (c === 0x23) {
      for (i++; i < n; i++) {
        c = input.charCodeAt(i);
        if (c <= 0x20 || c >= 0x7F || FRAGMENT_SET[c]) return false;
      }
      return true;
    }
    return c === EOF;
  }

  // A reference with no scheme and no leading '/' against a fast base: '?query', '#fragment',
  // '' or a path-relative 'a/b?q' (its first segment appended to the base's directory,
  // then dot segments resolved). Returns the href or undefined.
  function fastRelative(input, base) {
    const n = input.length, c0 = n ? input.charCodeAt(0) : EOF;
    if (c0 === 0x3F) return queryFragmentNeedNoEncoding(input, 0) ? base.prefix + base.path + input : undefined;
    if (c0 === 0x23 || c0 === EOF)
      return queryFragmentNeedNoEncoding(input, 0) ? base.prefix + base.path + base.search + input : undefined;
    if (isAlpha(c0)) { // "word:" would be a scheme
      let j = 1;
      for (; j < n; j++) {
        const c = input.charCodeAt(j);
        if (!(isAlpha(c) || isDigitCode(c) || c === 0x2B || c === 0x2D || c === 0x2E)) break;
      }
      if (input.charCodeAt(j) === 0x3A) return undefined;
    }
    const pathEnd = scanPath(input, 0);
    if (pathEnd < 0 || !queryFragmentNeedNoEncoding(input, pathEnd)) return undefined;
    if (!scannedDots) return base.prefix + base.directory + input;
    const path = base.directory + input.slice(0, pathEnd);
    return base.prefix + removeDotSegments(path, 0, path.length) + input.slice(pathEnd);
  }

  // The URL record of an href the fast path made: "scheme://[user[:pass]@]host[:port]/path
  // [?query][#fragment]", already serialized ('@', '?' and '#' in it are delimiters).
  function recordFromHref(href) {
    const n = href.length, colon = href.indexOf(':');
    const scheme = href.slice(0, colon);
    let i = colon + 3;
    const pathStart = href.indexOf('/', i);
    let username = '', password = '';
    const atSign = href.indexOf('@', i);
    if (atSign >= 0 && atSign < pathStart) {
      const userColon = href.indexOf(':', i);
      if (userColon >= 0 && userColon < atSign) {
        username = href.slice(i, userColon);
        password = href.slice(userColon + 1, atSign);
      } else {
        username = href.slice(i, atSign);
      }
      i = atSign + 1;
    }
    const portColon = href.indexOf(':', i);
    let host, port = null;
    if (portColon >= 0 && portColon < pathStart) {
      host = href.slice(i, portColon);
      port = +href.slice(portColon + 1, pathStart);
    } else {
      host = href.slice(i, pathStart);
    }
    let hash = href.indexOf('#', pathStart);
    if (hash < 0) hash = n;
    let question = href.indexOf('?', pathStart);
    if (question > hash) question = -1;
    const pathEnd = question >= 0 ? question : hash;
    return {
      scheme, username, password, host, port, path: href.slice(pathStart + 1, pathEnd).split('/'),
      query: question >= 0 ? href.slice(question + 1, hash) : null,
      fragment: hash < n ? href.slice(hash + 1) : null,
    };
  }

  // Where the components of an href the fast path made are, found by one scan: what the
  // getters of a URL without a record slice the href by (one substring per getter, no
  // record, no path array). queryEnd is where the fragment's '#' is, or the end.
  function hrefParts(href) {
    const n = href.length;
    let i = href.indexOf(':') + 3, hostStart = i, hostEnd = -1;
    for (; i < n; i++) {
      const c = href.charCodeAt(i);
      if (c === 0x2F) break;
      if (c === 0x40) { hostStart = i + 1; hostEnd = -1; } else if (c === 0x3A && hostEnd < 0) hostEnd = i;
    }
    const pathStart = i;
    if (hostEnd < 0) hostEnd = pathStart;
    let queryStart = -1;
    for (; i < n; i++) {
      const c = href.charCodeAt(i);
      if (c === 0x23) break;
      if (c === 0x3F && queryStart < 0) queryStart = i;
    }
    return { hostStart, hostEnd, pathStart, pathEnd: queryStart >= 0 ? queryStart : i, queryStart, queryEnd: i };
  }

  // What fastParse needs of a base to resolve references against it without its record,
  // for a special, non-file base with a host other than IPv6 (else null: hrefParts and
  // recordFromHref take the first ':' after the userinfo for the port's): its
  // "scheme://userinfo@host:port", its path, the path up to its last '/', and its '?query'
  // (or '').
  function fastBase(url) {
    if (url === FAILURE || url.host === null || url.scheme === 'file' || !isSpecialScheme(url.scheme) ||
        url.host.charCodeAt(0) === 0x5B)
      return null;
    const path = serializePath(url);
    return {
      prefix: serialize({ scheme: url.scheme, username: url.username, password: url.password, host: url.host,
        port: url.port, path: [], query: null, fragment: null }, true),
      path, directory: path.slice(0, path.lastIndexOf('/') + 1), search: url.query === null ? '' : '?' + url.query,
    };
  }
  function serializePath(url) {
    if (typeof url.path === 'string') return url.path;
    let out = '';
    for (const segment of url.path) out += '/' + segment;
    return out;
  }

  function serialize(url, excludeFragment) {
    let out = url.scheme + ':';
    if (url.host !== null) {
      out += '//';
      if (url.username !== '' || url.password !== '') {
        out += url.username;
        if (url.password !== '') out += ':' + url.password;
        out += '@';
      }
      out += url.host;
      if (url.port !== null) out += ':' + url.port;
    } else if (typeof url.path !== 'string' && url.path.length > 1 && url.path[0] === '') {
      out += '/.';
    }
    out += serializePath(url);
    if (url.query !== null) out += '?' + url.query;
    if (!excludeFragment && url.fragment !== null) out += '#' + url.fragment;
    return out;
  }

  function origin(url) {
    switch (url.scheme) {
      case 'blob': {
        const inner = parseRecord(serializePath(url));
        if (inner !== FAILURE && (inner.scheme === 'http' || inner.scheme === 'https')) return origin(inner);
        return 'null';
      }
      case 'ftp': case 'http': case 'https': case 'ws': case 'wss':
        return url.scheme + '://' + url.host + (url.port !== null ? ':' + url.port : '');
      default:
        return 'null';
    }
  }

  const cannotHaveCredentialsOrPort = (url) => url.host === null || url.host === '' || url.scheme === 'file';

  function stripTrailingSpacesFromOpaquePath(url) {
    if (typeof url.path !== 'string' || url.fragment !== null || url.query !== null) return;
    url.path = url.path.replace(/ +$/, '');
  }

  // ---- application/x-www-form-urlencoded ----
  // One charCodeAt pass (no split array, no regex unless a part has '+'); a name or value
  // is decoded only when the input has a '%' or '+' at all.
  function parseForm(input) {
    const list = [];
    const n = input.length;
    if (n === 0) return list;
    const hasPercent = input.indexOf('%') >= 0, hasPlus = input.indexOf('+') >= 0;
    let start = 0, eq = -1;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? input.charCodeAt(i) : 0x26;
      if (c === 0x3D) {
        if (eq < 0) eq = i;
      } else if (c === 0x26) {
        if (i > start) {
          let name = input.slice(start, eq >= 0 ? eq : i);
          let value = eq >= 0 ? input.slice(eq + 1, i) : '';
          if (hasPlus) { name = plusToSpace(name); value = plusToSpace(value); }
          if (hasPercent) { name = percentDecodeString(name); value = percentDecodeString(value); }
          list.push([name, value]);
        }
        start = i + 1;
        eq = -1;
      }
    }
    return list;
  }
  const plusToSpace = (s) => (s.indexOf('+') < 0 ? s : s.replace(/\+/g, ' '));

  function serializeForm(list) {
    let out = '';
    for (let i = 0; i < list.length; i++) {
      if (i) out += '&';
      out += encodeString(list[i][0], FORM_SET, true) + '=' + encodeString(list[i][1], FORM_SET, true);
    }
    return out;
  }

  function requireArgs(count, needed, what) {
    if (count < needed)
      throw new TypeError(`${what}: ${needed} argument${needed > 1 ? 's' : ''} required, but only ${count} present`);
  }

  // ---- URLSearchParams ----
  let linkParams; // (params, urlObject) — set by the class below
  let updateURLQuery; // (urlObject, serializedQuery) — set by URL
  let paramsList; // params -> its list (for URL's setters)

  class URLSearchParams {
    #list = [];
    #owner = null; // the URL object whose searchParams this is

    static {
      linkParams = (params, owner) => { params.#owner = owner; };
      paramsList = (params, list) => { if (list !== undefined) params.#list = list; return params.#list; };
    }

    constructor(init = undefined) {
      if (init === undefined) return;
      if ((typeof init === 'object' && init !== null) || typeof init === 'function') {
        const method = init[Symbol.iterator];
        if (method !== undefined && method !== null) {
          if (typeof method !== 'function') throw new TypeError("URLSearchParams: the init's Symbol.iterator is not a function");
          for (const pair of { [Symbol.iterator]: () => method.call(init) }) {
            if ((typeof pair !== 'object' || pair === null) && typeof pair !== 'function')
              throw new TypeError('URLSearchParams: each pair must be a sequence of two strings');
            const items = [...pair];
            if (items.length !== 2)
              throw new TypeError(`URLSearchParams: each pair must have exactly two items, got ${items.length}`);
            this.#list.push([toUSV(items[0]), toUSV(items[1])]);
          }
        } else {
          for (const key of Reflect.ownKeys(init)) {
            if (typeof key !== 'string') continue;
            const desc = Reflect.getOwnPropertyDescriptor(init, key);
            if (!desc || !desc.enumerable) continue;
            const name = toUSV(key), value = toUSV(init[key]);
            const existing = this.#list.findIndex((p) => p[0] === name);
            if (existing >= 0) this.#list[existing][1] = value;
            else this.#list.push([name, value]);
          }
        }
        return;
      }
      let s = toUSV(init);
      if (s.charCodeAt(0) === 0x3F) s = s.slice(1);
      this.#list = parseForm(s);
    }

    #update() {
      if (this.#owner) updateURLQuery(this.#owner, serializeForm(this.#list));
    }

    get size() { return this.#list.length; }

    append(name, value) {
      requireArgs(arguments.length, 2, 'URLSearchParams.append');
      this.#list.push([toUSV(name), toUSV(value)]);
      this.#update();
    }

    delete(name, value = undefined) {
      requireArgs(arguments.length, 1, 'URLSearchParams.delete');
      name = toUSV(name);
      if (value !== undefined) {
        value = toUSV(value);
        this.#list = this.#list.filter((p) => !(p[0] === name && p[1] === value));
      } else {
        this.#list = this.#list.filter((p) => p[0] !== name);
      }
      this.#update();
    }

    get(name) {
      requireArgs(arguments.length, 1, 'URLSearchParams.get');
      name = toUSV(name);
      for (const p of this.#list) if (p[0] === name) return p[1];
      return null;
    }

    getAll(name) {
      requireArgs(arguments.length, 1, 'URLSearchParams.getAll');
      name = toUSV(name);
      return this.#list.filter((p) => p[0] === name).map((p) => p[1]);
    }

    has(name, value = undefined) {
      requireArgs(arguments.length, 1, 'URLSearchParams.has');
      name = toUSV(name);
      if (value !== undefined) {
        value = toUSV(value);
        return this.#list.some((p) => p[0] === name && p[1] === value);
      }
      return this.#list.some((p) => p[0] === name);
    }

    set(name, value) {
      requireArgs(arguments.length, 2, 'URLSearchParams.set');
      name = toUSV(name);
      value = toUSV(value);
      const list = this.#list;
      const first = list.findIndex((p) => p[0] === name);
      if (first < 0) list.push([name, value]);
      else {
        list[first][1] = value;
        this.#list = list.filter((p, i) => i <= first || p[0] !== name);
      }
      this.#update();
    }

    sort() {
      // stable, by UTF-16 code units of the names (Array.prototype.sort is stable)
      this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.#update();
    }

    forEach(callback, thisArg = undefined) {
      if (typeof callback !== 'function') throw new TypeError('URLSearchParams.forEach: the callback is not a function');
      for (let i = 0; i < this.#list.length; i++) {
        const [name, value] = this.#list[i];
        callback.call(thisArg, value, name, this);
      }
    }

    entries() { return makeIterator(this, 'entries'); }
    keys() { return makeIterator(this, 'keys'); }
    values() { return makeIterator(this, 'values'); }

    toString() { return serializeForm(this.#list); }

    static #brand(value) { return #list in value; }
    static { isParams = (value) => typeof value === 'object' && value !== null && URLSearchParams.#brand(value); }
  }
  var isParams;
  Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, {
    value: URLSearchParams.prototype.entries, writable: true, configurable: true,
  });
  Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag, { value: 'URLSearchParams', configurable: true });

  // WebIDL pair iterators: live over the list, by index.
  const iteratorPrototype = Object.create(Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  const iteratorState = new WeakMap();
  Object.defineProperty(iteratorPrototype, 'next', {
    value: function next() {
      const state = iteratorState.get(this);
      if (!state) throw new TypeError("URLSearchParams Iterator.next: 'this' is not a URLSearchParams iterator");
      const list = paramsList(state.target);
      if (state.index >= list.length) return { value: undefined, done: true };
      const pair = list[state.index++];
      const value = state.kind === 'keys' ? pair[0] : state.kind === 'values' ? pair[1] : [pair[0], pair[1]];
      return { value, done: false };
    },
    writable: true, enumerable: true, configurable: true,
  });
  Object.defineProperty(iteratorPrototype, Symbol.toStringTag, { value: 'URLSearchParams Iterator', configurable: true });
  function makeIterator(target, kind) {
    if (!isParams(target)) throw new TypeError(`URLSearchParams.${kind}: 'this' is not a URLSearchParams`);
    const it = Object.create(iteratorPrototype);
    iteratorState.set(it, { target, kind, index: 0 });
    return it;
  }

  // ---- URL ----
  function invalid(input, base) {
    const shown = input.length > 200 ? input.slice(0, 200) + '…' : input;
    return new TypeError(base === undefined ? `Invalid URL: '${shown}'` : `Invalid URL: '${shown}' against base '${base}'`);
  }

  // The last base parsed, kept: code that resolves many URLs against one base parses it
  // once. Parsing reads a base record and never changes it.
  let lastBase = null, lastBaseRecord = FAILURE, lastFastBase = null;
  // Returns the href (a string: the fast path), the URL record, or FAILURE.
  function parseWithBase(url, base) {
    let parsedBase = null;
    if (base !== undefined) {
      if (base !== lastBase) {
        lastBaseRecord = parseRecord(base);
        lastFastBase = fastBase(lastBaseRecord);
        lastBase = base;
      }
      parsedBase = lastBaseRecord;
      if (parsedBase === FAILURE) return FAILURE;
    }
    const href = fastParse(url, parsedBase === null ? null : lastFastBase);
    return href !== undefined ? href : basicParse(url, parsedBase);
  }

  // The URL record of an absolute URL string, or FAILURE.
  function parseRecord(input) {
    const href = fastParse(input, null);
    return href !== undefined ? recordFromHref(href) : basicParse(input, null);
  }

  // A URL holds its record, its href, or both: the fast path gives only the href, and the
  // record is made from it when first needed; a setter changes the record and drops the
  // href until it is asked for again. One of the two is always there.
  class URL {
    #url; // the URL record, or null until needed
    #href; // its serialization, or null until asked for
    #query = null; // URLSearchParams, made on first use
    #parts = null; // hrefParts(#href) while there is no record, made on first use

    static {
      updateURLQuery = (object, serialized) => {
        const url = object.#record();
        object.#href = null;
        url.query = serialized === '' ? null : serialized;
        if (serialized === '') stripTrailingSpacesFromOpaquePath(url);
      };
    }

    constructor(url, base = undefined) {
      requireArgs(arguments.length, 1, 'URL constructor');
      url = toUSV(url);
      if (base !== undefined && base !== lastBase) base = toUSV(base); // lastBase is a USVString
      const parsed = parseWithBase(url, base);
      if (parsed === FAILURE) throw invalid(url, base);
      this.#take(parsed);
    }

    // A parse's result: the href alone (fast path) or a full record.
    #take(parsed) {
      if (typeof parsed === 'string') {
        this.#url = null;
        this.#href = parsed;
        this.#parts = null;
      } else {
        this.#url = parsed;
        this.#href = null;
      }
    }

    #record() {
      const url = this.#url;
      return url !== null ? url : (this.#url = recordFromHref(this.#href));
    }

    // The href's parts, for a URL with no record yet (callers check #url === null first).
    #hrefParts() {
      const parts = this.#parts;
      return parts !== null ? parts : (this.#parts = hrefParts(this.#href));
    }

    // The query (without '?'), or null.
    #queryString() {
      if (this.#url !== null) return this.#url.query;
      const p = this.#hrefParts();
      return p.queryStart < 0 ? null : this.#href.slice(p.queryStart + 1, p.queryEnd);
    }

    static canParse(url, base = undefined) {
      requireArgs(arguments.length, 1, 'URL.canParse');
      return parseWithBase(toUSV(url), base === undefined ? undefined : toUSV(base)) !== FAILURE;
    }

    static parse(url, base = undefined) {
      requireArgs(arguments.length, 1, 'URL.parse');
      try {
        return new URL(url, base);
      } catch (error) {
        if (error instanceof TypeError) return null;
        throw error;
      }
    }

    #resetQuery() {
      if (this.#query) {
        const q = this.#queryString();
        paramsList(this.#query, q === null ? [] : parseForm(q));
      }
    }

    get href() {
      const href = this.#href;
      return href === null ? (this.#href = serialize(this.#url, false)) : href;
    }
    set href(value) {
      value = toUSV(value);
      const parsed = parseWithBase(value, undefined);
      if (parsed === FAILURE) throw invalid(value);
      this.#take(parsed);
      this.#resetQuery();
    }

    get origin() {
      if (this.#url !== null) return origin(this.#url);
      const href = this.#href, p = this.#hrefParts(), schemeEnd = href.indexOf(':') + 3;
      return p.hostStart === schemeEnd ? href.slice(0, p.pathStart) : href.slice(0, schemeEnd) + href.slice(p.hostStart, p.pathStart);
    }

    get protocol() {
      if (this.#url !== null) return this.#url.scheme + ':';
      return this.#href.slice(0, this.#href.indexOf(':') + 1);
    }
    set protocol(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      basicParse(value + ':', null, url, SCHEME_START);
    }

    get username() { return this.#record().username; }
    set username(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (cannotHaveCredentialsOrPort(url)) return;
      url.username = encodeString(value, USERINFO_SET, false);
    }

    get password() { return this.#record().password; }
    set password(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (cannotHaveCredentialsOrPort(url)) return;
      url.password = encodeString(value, USERINFO_SET, false);
    }

    get host() {
      if (this.#url === null) {
        const p = this.#hrefParts();
        return this.#href.slice(p.hostStart, p.pathStart);
      }
      const url = this.#url;
      if (url.host === null) return '';
      return url.port === null ? url.host : url.host + ':' + url.port;
    }
    set host(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (typeof url.path === 'string') return;
      this.#url = applyOverride(url, value, HOST);
    }

    get hostname() {
      if (this.#url === null) {
        const p = this.#hrefParts();
        return this.#href.slice(p.hostStart, p.hostEnd);
      }
      const host = this.#url.host;
      return host === null ? '' : host;
    }
    set hostname(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (typeof url.path === 'string') return;
      this.#url = applyOverride(url, value, HOSTNAME);
    }

    get port() {
      if (this.#url === null) {
        const p = this.#hrefParts();
        return p.hostEnd === p.pathStart ? '' : this.#href.slice(p.hostEnd + 1, p.pathStart);
      }
      const port = this.#url.port;
      return port === null ? '' : String(port);
    }
    set port(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (cannotHaveCredentialsOrPort(url)) return;
      if (value === '') url.port = null;
      else this.#url = applyOverride(url, value, PORT);
    }

    get pathname() {
      if (this.#url !== null) return serializePath(this.#url);
      const p = this.#hrefParts();
      return this.#href.slice(p.pathStart, p.pathEnd);
    }
    set pathname(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (typeof url.path === 'string') return;
      url.path = [];
      basicParse(value, null, url, PATH_START);
    }

    get search() {
      if (this.#url === null) {
        const p = this.#hrefParts();
        return p.queryStart < 0 || p.queryEnd - p.queryStart <= 1 ? '' : this.#href.slice(p.queryStart, p.queryEnd);
      }
      const q = this.#url.query;
      return q === null || q === '' ? '' : '?' + q;
    }
    set search(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (value === '') {
        url.query = null;
        if (this.#query) paramsList(this.#query, []);
        stripTrailingSpacesFromOpaquePath(url);
        return;
      }
      const input = value.charCodeAt(0) === 0x3F ? value.slice(1) : value;
      url.query = '';
      basicParse(input, null, url, QUERY);
      if (this.#query) paramsList(this.#query, parseForm(input));
    }

    get searchParams() {
      if (!this.#query) {
        const params = new URLSearchParams();
        const q = this.#queryString();
        if (q !== null) paramsList(params, parseForm(q));
        linkParams(params, this);
        this.#query = params;
      }
      return this.#query;
    }

    get hash() {
      if (this.#url === null) {
        const href = this.#href;
        return this.#hrefParts().queryEnd >= href.length - 1 ? '' : href.slice(this.#parts.queryEnd);
      }
      const f = this.#url.fragment;
      return f === null || f === '' ? '' : '#' + f;
    }
    set hash(value) {
      value = toUSV(value);
      const url = this.#record();
      this.#href = null;
      if (value === '') {
        url.fragment = null;
        stripTrailingSpacesFromOpaquePath(url);
        return;
      }
      const input = value.charCodeAt(0) === 0x23 ? value.slice(1) : value;
      url.fragment = '';
      basicParse(input, null, url, FRAGMENT);
    }

    toString() { return this.href; }
    toJSON() { return this.href; }
  }

  // A setter runs the parser on the URL record itself: what it set before a failure stays
  // (e.g. host 'example.com:99999' sets the host, not the port), as the standard says.
  function applyOverride(url, value, state) {
    basicParse(value, null, url, state);
    return url;
  }

  for (const name of ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname',
    'search', 'searchParams', 'hash', 'toString', 'toJSON'])
    Object.defineProperty(URL.prototype, name, { enumerable: true });
  for (const name of ['size', 'append', 'delete', 'get', 'getAll', 'has', 'set', 'sort', 'forEach', 'entries', 'keys',
    'values', 'toString'])
    Object.defineProperty(URLSearchParams.prototype, name, { enumerable: true });
  Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: 'URL', configurable: true });

  return { URL, URLSearchParams };
});
