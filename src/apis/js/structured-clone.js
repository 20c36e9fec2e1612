// structured-clone.js — the `structured-clone` group: structuredClone(value, {transfer})
// per the HTML standard's StructuredSerialize/Deserialize within one realm: primitives,
// boxed primitives, Date, RegExp, ArrayBuffer (copied, or moved when transferred),
// typed arrays and DataView (sharing buffers as the original did), Map, Set, Error types,
// arrays and plain objects, with cycles and shared references kept. Anything else
// (functions, symbols, WeakMap, Promise, ...) is a DataCloneError. Depends on
// `domexception`.
(function (global) {
  'use strict';
  const DOMException = global.DOMException;
  const cloneError = (what) => new DOMException(`${what} could not be cloned.`, 'DataCloneError');
  const getter = (proto, key) => Object.getOwnPropertyDescriptor(proto, key).get;
  const typedArrayTag = getter(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag);
  const byteLengthOf = getter(ArrayBuffer.prototype, 'byteLength');
  const regexpSource = getter(RegExp.prototype, 'source');
  const regexpFlags = getter(RegExp.prototype, 'flags');
  const errorTypes = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const typedArrays = { Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array };

  const is = (brandCheck, value) => { try { brandCheck(value); return true; } catch { return false; } };
  const isArrayBuffer = (v) => is((x) => byteLengthOf.call(x), v);
  const isDetached = (buffer) => buffer.detached === true;

  function structuredClone(value, options = undefined) {
    if (arguments.length === 0) throw new TypeError('structuredClone: 1 argument required');
    const transfer = options && options.transfer !== undefined ? Array.from(options.transfer) : [];
    const moved = new Map(); // original buffer -> its new home
    for (const buffer of transfer) {
      if (!isArrayBuffer(buffer)) throw cloneError('A transferable that is not an ArrayBuffer');
      if (moved.has(buffer)) throw cloneError('An ArrayBuffer listed twice in transfer');
      if (isDetached(buffer)) throw cloneError('A detached ArrayBuffer');
      moved.set(buffer, null);
    }
    const memory = new Map();
    const result = cloneValue(value, memory, moved);
    for (const buffer of moved.keys()) {
      const home = memory.get(buffer);
      const contents = buffer.transfer(); // detaches the original, as a transfer must
      if (home) new Uint8Array(home).set(new Uint8Array(contents));
    }
    return result;
  }

  function cloneValue(value, memory, moved) {
    const type = typeof value;
    if (type === 'symbol') throw cloneError('A Symbol');
    if (type === 'function') throw cloneError(`The function ${value.name || '(anonymous)'}`);
    if (value === null || type !== 'object') return value;
    if (memory.has(value)) return memory.get(value);

    let copy;
    const remember = (c) => { memory.set(value, c); return c; };
    if (is((x) => Boolean.prototype.valueOf.call(x), value)) return remember(Object(Boolean.prototype.valueOf.call(value)));
    if (is((x) => Number.prototype.valueOf.call(x), value)) return remember(Object(Number.prototype.valueOf.call(value)));
    if (is((x) => BigInt.prototype.valueOf.call(x), value)) return remember(Object(BigInt.prototype.valueOf.call(value)));
    if (is((x) => String.prototype.valueOf.call(x), value)) return remember(Object(String.prototype.valueOf.call(value)));
    if (is((x) => Date.prototype.getTime.call(x), value)) return remember(new Date(Date.prototype.getTime.call(value)));
    if (is((x) => regexpSource.call(x), value)) return remember(new RegExp(regexpSource.call(value), regexpFlags.call(value)));
    if (isArrayBuffer(value)) {
      if (isDetached(value)) throw cloneError('A detached ArrayBuffer');
      // transferred buffers get their contents moved in at the end; others are copied now
      copy = moved.has(value) ? new ArrayBuffer(byteLengthOf.call(value)) : value.slice(0);
      return remember(copy);
    }
    if (ArrayBuffer.isView(value)) {
      const buffer = cloneValue(value.buffer, memory, moved);
      const tag = typedArrayTag.call(value);
      copy = tag ? new typedArrays[tag](buffer, value.byteOffset, value.length)
                 : new DataView(buffer, value.byteOffset, value.byteLength);
      return remember(copy);
    }
    if (is((x) => Map.prototype.has.call(x), value)) {
      copy = remember(new Map());
      for (const [k, v] of Map.prototype.entries.call(value)) copy.set(cloneValue(k, memory, moved), cloneValue(v, memory, moved));
      return copy;
    }
    if (is((x) => Set.prototype.has.call(x), value)) {
      copy = remember(new Set());
      for (const v of Set.prototype.values.call(value)) copy.add(cloneValue(v, memory, moved));
      return copy;
    }
    if (value instanceof Error) {
      const name = Object.hasOwn(errorTypes, value.name) ? value.name : 'Error';
      copy = remember(new errorTypes[name]());
      const message = Object.getOwnPropertyDescriptor(value, 'message');
      if (message && 'value' in message) copy.message = String(message.value);
      if (typeof value.stack === 'string') Object.defineProperty(copy, 'stack', { value: value.stack, writable: true, configurable: true });
      if ('cause' in value) copy.cause = cloneValue(value.cause, memory, moved);
      return copy;
    }
    if (Array.isArray(value)) {
      copy = remember(new Array(value.length));
    } else {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null && !isPlainClass(value))
        throw cloneError(`An object of type ${Object.prototype.toString.call(value).slice(8, -1)}`);
      copy = remember({});
    }
    for (const key of Object.keys(value)) copy[key] = cloneValue(value[key], memory, moved);
    return copy;
  }

  // Class instances serialize as plain objects (their own enumerable properties); platform
  // objects without serialization steps do not.
  function isPlainClass(value) {
    for (const platform of [WeakMap, WeakSet, Promise, global.WeakRef, global.FinalizationRegistry])
      if (platform && value instanceof platform) return false;
    const eventTarget = Object.getOwnPropertyDescriptor(global, 'EventTarget'); // not loading it
    return !(eventTarget && typeof eventTarget.value === 'function' && value instanceof eventTarget.value);
  }

  return { structuredClone };
})
