// crypto.js — the `crypto` group: the W3C Web Cryptography API's `crypto` (getRandomValues,
// randomUUID, subtle) with SubtleCrypto digest (SHA-1/256/384/512) and HMAC (importKey raw
// and jwk, generateKey, sign, verify, exportKey); every other operation or algorithm rejects
// with NotSupportedError. This file does the WebIDL conversions, algorithm normalization
// and the spec's errors; natives (src/engine/natives_crypto.c, OpenSSL) do the bytes, and
// HMAC key bytes stay there. Work is synchronous: methods return settled promises.
(function (global, natives) {
  'use strict';
  const DOMException = global.DOMException;
  const guard = Symbol('illegal constructor');
  const isView = ArrayBuffer.isView;
  const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
  // Captured so that guest code patching prototypes cannot change what we read.
  const typedArrayTag = getter(typedArrayPrototype, Symbol.toStringTag);
  const typedArrayBuffer = getter(typedArrayPrototype, 'buffer');
  const typedArrayOffset = getter(typedArrayPrototype, 'byteOffset');
  const typedArrayLength = getter(typedArrayPrototype, 'byteLength');
  const dataViewBuffer = getter(DataView.prototype, 'buffer');
  const dataViewOffset = getter(DataView.prototype, 'byteOffset');
  const dataViewLength = getter(DataView.prototype, 'byteLength');
  const arrayBufferLength = getter(ArrayBuffer.prototype, 'byteLength');
  const { digest: nativeDigest, hmacSign, hmacVerify, hmacImport, hmacGenerate, keyBytes } = natives;

  // Index = the natives' hash id.
  const hashes = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
  const hashBlockBits = [512, 512, 1024, 1024];
  const hashJwkAlg = ['HS1', 'HS256', 'HS384', 'HS512'];
  const integerArrays = new Set(['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array']);
  const keyUsages = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
  const keyFormats = ['raw', 'spki', 'pkcs8', 'jwk'];

  const domError = (message, name) => new DOMException(message, name);
  const notSupported = (what) => domError(`${what} is not supported`, 'NotSupportedError');

  function isArrayBuffer(value) {
    try { arrayBufferLength.call(value); return true; } catch { return false; }
  }

  function isBufferSource(value) {
    return isView(value) || isArrayBuffer(value);
  }

  // WebIDL BufferSource -> a Uint8Array over the same bytes (work is synchronous, so the
  // spec's copy is not needed); a detached buffer reads as no bytes.
  function bytesOf(value, what) {
    let buffer, offset, length;
    if (isView(value)) {
      const isTyped = typedArrayTag.call(value) !== undefined;
      buffer = (isTyped ? typedArrayBuffer : dataViewBuffer).call(value);
      offset = (isTyped ? typedArrayOffset : dataViewOffset).call(value);
      length = (isTyped ? typedArrayLength : dataViewLength).call(value);
    } else if (isArrayBuffer(value)) {
      buffer = value;
      offset = 0;
      length = arrayBufferLength.call(value);
    } else {
      throw new TypeError(`${what} must be an ArrayBuffer or an ArrayBuffer view`);
    }
    return length === 0 ? new Uint8Array(0) : new Uint8Array(buffer, offset, length);
  }

  function needArguments(count, given, method) {
    if (given < count)
      throw new TypeError(`${method}: ${count} arguments required, but only ${given} present`);
  }

  const asciiUpper = (s) => s.replace(/[a-z]+/g, (m) => m.toUpperCase());

  // The spec's "normalize an algorithm": a string stands for {name}; names match ASCII
  // case-insensitively; the result carries the registered spelling.
  function algorithmOf(algorithm) {
    if (typeof algorithm !== 'object' || algorithm === null) {
      if (typeof algorithm === 'function') return algorithmOf({ name: algorithm.name });
      return { name: `${algorithm}`, params: {} }; // WebIDL's ToString: a symbol is a TypeError
    }
    const name = algorithm.name;
    if (name === undefined) throw new TypeError("the algorithm's name is required");
    return { name: `${name}`, params: algorithm };
  }

  function hashIdOf(algorithm) {
    const { name } = algorithmOf(algorithm);
    let id = hashes.indexOf(name); // the usual spelling skips the case folding
    if (id < 0) id = hashes.indexOf(asciiUpper(name));
    if (id < 0) throw notSupported(`the algorithm '${name}'`);
    return id;
  }

  function isHmac(algorithm, operation) {
    const { name, params } = algorithmOf(algorithm);
    if (name !== 'HMAC' && asciiUpper(name) !== 'HMAC') throw notSupported(`${operation} with the algorithm '${name}'`);
    return params;
  }

  // HmacImportParams / HmacKeyGenParams: {hash (required), length?} -> {hash id, length}.
  function hmacParams(params) {
    if (params.hash === undefined) throw new TypeError("HMAC needs the algorithm's hash");
    const hash = hashIdOf(params.hash);
    let length;
    if (params.length !== undefined) {
      const n = Number(params.length);
      if (!Number.isFinite(n) || n < 0 || n > 0xFFFFFFFF)
        throw new TypeError('the HMAC length must be an unsigned long');
      length = Math.trunc(n);
    }
    return { hash, length };
  }

  function formatOf(format) {
    const s = String(format);
    if (!keyFormats.includes(s)) throw new TypeError(`'${s}' is not a valid key format`);
    return s;
  }

  // sequence<KeyUsage> -> the usages, deduplicated, in the spec's KeyUsage order.
  function usagesOf(usages) {
    if (typeof usages !== 'object' || usages === null || typeof usages[Symbol.iterator] !== 'function')
      throw new TypeError('the key usages must be a sequence');
    const given = new Set();
    for (const usage of usages) {
      const s = String(usage);
      if (!keyUsages.includes(s)) throw new TypeError(`'${s}' is not a valid key usage`);
      given.add(s);
    }
    return keyUsages.filter((u) => given.has(u));
  }

  function checkHmacUsages(usages) {
    for (const usage of usages)
      if (usage !== 'sign' && usage !== 'verify')
        throw domError(`an HMAC key cannot be used to ${usage}`, 'SyntaxError');
  }

  const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  function base64urlEncode(bytes) {
    let out = '';
    for (let i = 0; i < bytes.length; i += 3) {
      const v = bytes[i] << 16 | (bytes[i + 1] ?? 0) << 8 | (bytes[i + 2] ?? 0);
      out += base64url[v >> 18] + base64url[(v >> 12) & 63];
      if (i + 1 < bytes.length) out += base64url[(v >> 6) & 63];
      if (i + 2 < bytes.length) out += base64url[v & 63];
    }
    return out;
  }

  // RFC 7515 base64url without padding; null when malformed.
  function base64urlDecode(text) {
    if (text.length % 4 === 1) return null;
    const out = new Uint8Array(Math.floor(text.length * 3 / 4));
    let buffer = 0, bits = 0, at = 0;
    for (let i = 0; i < text.length; i++) {
      const v = base64url.indexOf(text[i]);
      if (v < 0) return null;
      buffer = (buffer << 6 | v) & 0xFFFFFF;
      bits += 6;
      if (bits >= 8) { bits -= 8; out[at++] = (buffer >> bits) & 0xFF; }
    }
    return out;
  }

  // Internal state of each CryptoKey, out of guest code's reach.
  let slotsOf, isCryptoKey;

  class CryptoKey {
    #slots;
    #algorithm;
    #usages;
    constructor(token, slots) {
      if (token !== guard) throw new TypeError('Illegal constructor');
      this.#slots = slots;
      this.#algorithm = { name: 'HMAC', hash: { name: hashes[slots.hash] }, length: slots.length };
      this.#usages = [...slots.usages];
    }
    get type() { return slotsOf(this, 'type').type; }
    get extractable() { return slotsOf(this, 'extractable').extractable; }
    get algorithm() { slotsOf(this, 'algorithm'); return this.#algorithm; }
    get usages() { slotsOf(this, 'usages'); return this.#usages; }
    static {
      isCryptoKey = (value) => typeof value === 'object' && value !== null && #slots in value;
      slotsOf = (key, member) => {
        if (!isCryptoKey(key)) throw new TypeError(`CryptoKey.${member}: Illegal invocation`);
        return key.#slots;
      };
    }
  }

  function makeHmacKey(handle, hash, length, extractable, usages) {
    return new CryptoKey(guard, { type: 'secret', handle, hash, length, extractable, usages });
  }

  function keyArgument(key, method) {
    if (!isCryptoKey(key)) throw new TypeError(`SubtleCrypto.${method}: the key must be a CryptoKey`);
    return slotsOf(key);
  }

  function checkKeyUse(slots, algorithm, usage, method) {
    if (!slots.usages.includes(usage))
      throw domError(`SubtleCrypto.${method}: the key's usages do not include '${usage}'`, 'InvalidAccessError');
  }

  // HMAC import, the spec's steps for 'raw' and 'jwk'; returns the key's bytes.
  function hmacKeyData(format, keyData, hash, usages, extractable) {
    if (format === 'raw') return bytesOf(keyData, 'SubtleCrypto.importKey: raw key data');
    if (format !== 'jwk') throw notSupported(`importing an HMAC key as '${format}'`);
    if (isBufferSource(keyData) || (keyData !== undefined && keyData !== null && typeof keyData !== 'object'))
      throw new TypeError('SubtleCrypto.importKey: jwk key data must be a JsonWebKey object');
    const jwk = keyData ?? {};
    if (jwk.kty !== 'oct') throw domError("the JWK's kty must be 'oct'", 'DataError');
    if (typeof jwk.k !== 'string') throw domError("the JWK has no 'k'", 'DataError');
    const bytes = base64urlDecode(jwk.k);
    if (!bytes) throw domError("the JWK's 'k' is not base64url", 'DataError');
    if (jwk.alg !== undefined && String(jwk.alg) !== hashJwkAlg[hash])
      throw domError(`the JWK's alg '${jwk.alg}' does not match ${hashes[hash]}`, 'DataError');
    if (usages.length && jwk.use !== undefined && String(jwk.use) !== 'sig')
      throw domError("the JWK's use must be 'sig'", 'DataError');
    if (jwk.key_ops !== undefined) {
      const ops = [...jwk.key_ops].map(String);
      if (new Set(ops).size !== ops.length || usages.some((u) => !ops.includes(u)))
        throw domError("the JWK's key_ops do not allow the requested usages", 'DataError');
    }
    if (jwk.ext !== undefined && !jwk.ext && extractable)
      throw domError('the JWK is not extractable', 'DataError');
    return bytes;
  }

  class SubtleCrypto {
    #brand;
    constructor(token) {
      if (token !== guard) throw new TypeError('Illegal constructor');
      this.#brand = true;
    }

    static #check(self, method) {
      if (typeof self !== 'object' || self === null || !(#brand in self))
        throw new TypeError(`SubtleCrypto.${method}: Illegal invocation`);
    }

    async digest(algorithm, data) {
      SubtleCrypto.#check(this, 'digest');
      needArguments(2, arguments.length, 'SubtleCrypto.digest');
      const bytes = bytesOf(data, 'SubtleCrypto.digest: data');
      return nativeDigest(hashIdOf(algorithm), bytes);
    }

    async importKey(format, keyData, algorithm, extractable, keyUsages) {
      SubtleCrypto.#check(this, 'importKey');
      needArguments(5, arguments.length, 'SubtleCrypto.importKey');
      format = formatOf(format);
      extractable = Boolean(extractable);
      const usages = usagesOf(keyUsages);
      const { hash, length: wanted } = hmacParams(isHmac(algorithm, 'importKey'));
      checkHmacUsages(usages);
      const bytes = hmacKeyData(format, keyData, hash, usages, extractable);
      const bits = bytes.length * 8;
      if (bits === 0) throw domError('an HMAC key cannot be empty', 'DataError');
      if (wanted !== undefined && (wanted > bits || wanted <= bits - 8))
        throw domError(`the HMAC length ${wanted} does not fit ${bytes.length} bytes of key`, 'DataError');
      if (!usages.length) throw domError('a secret key needs at least one usage', 'SyntaxError');
      return makeHmacKey(hmacImport(hash, bytes), hash, wanted ?? bits, extractable, usages);
    }

    async generateKey(algorithm, extractable, keyUsages) {
      SubtleCrypto.#check(this, 'generateKey');
      needArguments(3, arguments.length, 'SubtleCrypto.generateKey');
      extractable = Boolean(extractable);
      const usages = usagesOf(keyUsages);
      const { hash, length: wanted } = hmacParams(isHmac(algorithm, 'generateKey'));
      checkHmacUsages(usages);
      if (wanted === 0) throw domError('an HMAC key cannot be empty', 'OperationError');
      const length = wanted ?? hashBlockBits[hash];
      if (length > 8 << 20) throw domError('the HMAC key length is too large', 'OperationError');
      if (!usages.length) throw domError('a secret key needs at least one usage', 'SyntaxError');
      return makeHmacKey(hmacGenerate(hash, Math.ceil(length / 8)), hash, length, extractable, usages);
    }

    async exportKey(format, key) {
      SubtleCrypto.#check(this, 'exportKey');
      needArguments(2, arguments.length, 'SubtleCrypto.exportKey');
      format = formatOf(format);
      const slots = keyArgument(key, 'exportKey');
      if (!slots.extractable) throw domError('the key is not extractable', 'InvalidAccessError');
      if (format === 'raw') return keyBytes(slots.handle);
      if (format !== 'jwk') throw notSupported(`exporting an HMAC key as '${format}'`);
      return {
        kty: 'oct', k: base64urlEncode(new Uint8Array(keyBytes(slots.handle))), alg: hashJwkAlg[slots.hash],
        key_ops: [...slots.usages], ext: slots.extractable,
      };
    }

    async sign(algorithm, key, data) {
      SubtleCrypto.#check(this, 'sign');
      needArguments(3, arguments.length, 'SubtleCrypto.sign');
      const slots = keyArgument(key, 'sign');
      const bytes = bytesOf(data, 'SubtleCrypto.sign: data');
      isHmac(algorithm, 'sign');
      checkKeyUse(slots, algorithm, 'sign', 'sign');
      return hmacSign(slots.handle, bytes);
    }

    async verify(algorithm, key, signature, data) {
      SubtleCrypto.#check(this, 'verify');
      needArguments(4, arguments.length, 'SubtleCrypto.verify');
      const slots = keyArgument(key, 'verify');
      const signatureBytes = bytesOf(signature, 'SubtleCrypto.verify: signature');
      const bytes = bytesOf(data, 'SubtleCrypto.verify: data');
      isHmac(algorithm, 'verify');
      checkKeyUse(slots, algorithm, 'verify', 'verify');
      return hmacVerify(slots.handle, signatureBytes, bytes);
    }

    // No algorithm this group has supports these operations: after WebIDL's checks they
    // reject with NotSupportedError, as the spec's normalization does for unknown names.
    async encrypt(algorithm, key, data) { return this.#unsupported('encrypt', arguments, 3, algorithm); }
    async decrypt(algorithm, key, data) { return this.#unsupported('decrypt', arguments, 3, algorithm); }
    async deriveBits(algorithm, baseKey, length = null) { return this.#unsupported('deriveBits', arguments, 2, algorithm); }
    async deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
      return this.#unsupported('deriveKey', arguments, 5, algorithm);
    }
    async wrapKey(format, key, wrappingKey, wrapAlgorithm) {
      return this.#unsupported('wrapKey', arguments, 4, wrapAlgorithm);
    }
    async unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
      return this.#unsupported('unwrapKey', arguments, 7, unwrapAlgorithm);
    }
    #unsupported(method, args, count, algorithm) {
      SubtleCrypto.#check(this, method);
      needArguments(count, args.length, `SubtleCrypto.${method}`);
      throw notSupported(`${method} with the algorithm '${algorithmOf(algorithm).name}'`);
    }
  }

  const subtle = new SubtleCrypto(guard);

  class Crypto {
    #brand;
    constructor(token) {
      if (token !== guard) throw new TypeError('Illegal constructor');
      this.#brand = true;
    }
    static #check(self, member) {
      if (typeof self !== 'object' || self === null || !(#brand in self))
        throw new TypeError(`Crypto.${member}: Illegal invocation`);
    }
    get subtle() {
      Crypto.#check(this, 'subtle');
      return subtle;
    }
    getRandomValues(array) {
      Crypto.#check(this, 'getRandomValues');
      needArguments(1, arguments.length, 'Crypto.getRandomValues');
      if (!isView(array)) throw new TypeError('Crypto.getRandomValues: the argument must be an ArrayBufferView');
      if (!integerArrays.has(typedArrayTag.call(array)))
        throw domError('Crypto.getRandomValues: the array must be an integer typed array', 'TypeMismatchError');
      if (typedArrayLength.call(array) > 65536)
        throw domError('Crypto.getRandomValues: at most 65536 bytes can be asked for at once', 'QuotaExceededError');
      natives.randomFill(array);
      return array;
    }
    randomUUID() {
      Crypto.#check(this, 'randomUUID');
      return natives.randomUUID();
    }
  }

  // WebIDL: operations and attributes are enumerable; the class tag names the interface.
  for (const [constructor, tag] of [[Crypto, 'Crypto'], [SubtleCrypto, 'SubtleCrypto'], [CryptoKey, 'CryptoKey']]) {
    const proto = constructor.prototype;
    for (const name of Object.getOwnPropertyNames(proto))
      if (name !== 'constructor') Object.defineProperty(proto, name, { enumerable: true });
    Object.defineProperty(proto, Symbol.toStringTag, { value: tag, configurable: true });
  }

  return { crypto: new Crypto(guard), Crypto, SubtleCrypto, CryptoKey };
})
