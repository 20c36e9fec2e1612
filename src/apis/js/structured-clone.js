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
  // A failed brand check throws, and a thrown exception costs microseconds (a stack is
  // captured): ten of them per plain object made structuredClone 0.03x Node's speed. An
  // object whose prototype is a built-in's gets only that built-in's check. (An object
  // whose prototype was swapped to another built-in's is judged by its new prototype.)
  const protoKinds = new Map([[Object.prototype, 'Object'], [Array.prototype, 'Object'],
    [Boolean.prototype, 'Boolean'], [Number.prototype, 'Number'], [BigInt.prototype, 'BigInt'],
    [String.prototype, 'String'], [Date.prototype, 'Date'], [RegExp.prototype, 'RegExp'],
    [ArrayBuffer.prototype, 'ArrayBuffer'], [Map.prototype, 'Map'], [Set.prototype, 'Set']]);
  const mayBe = (kind, k) => kind === undefined || kind === k;
  const isArrayBuffer = (v) => is((x) => byteLengthOf.call(x), v);
  const isDetached = (buffer) => buffer.detached === true;

  function structuredClone(value) { // (options: arguments[1], without a default value: see channel.js)
    if (arguments.length === 0) throw new TypeError('structuredClone: 1 argument required');
    const options = arguments[1];
    return cloneWith(value, options && options.transfer !== undefined ? Array.from(options.transfer) : []);
  }

  // The clone with the buffers in transfer moved into it; `seed` (a Map, or undefined)
  // maps objects to what stands for them in the copy as they are (the channel group's
  // transferred MessagePorts). Also what a message inside one context is (postMessage's
  // copy, taken at post time: no text, no parse).
  const NO_MOVES = new Map(); // never written: for the clones that transfer nothing
  function cloneWith(value, transfer, seed = undefined) {
    if (transfer.length === 0) {
      // A primitive needs no memory; nothing moves (two Maps per message were most of a
      // small BroadcastChannel post's cost)
      if (value === null || typeof value !== 'object') return cloneValue(value, NO_MOVES, NO_MOVES);
      return cloneValue(value, seed === undefined ? new Map() : seed, NO_MOVES);
    }
    const moved = new Map(); // original buffer -> its new home
    for (const buffer of transfer) {
      if (!isArrayBuffer(buffer)) throw cloneError('A transferable that is not an ArrayBuffer');
      if (moved.has(buffer)) throw cloneError('An ArrayBuffer listed twice in transfer');
      if (isDetached(buffer)) throw cloneError('A detached ArrayBuffer');
      moved.set(buffer, null);
    }
    const memory = seed === undefined ? new Map() : seed;
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
    const known = memory.get(value); // (a copy, or a seeded stand-in: never undefined)
    if (known !== undefined) return known;

    const proto = Object.getPrototypeOf(value);
    const kind = proto === null ? 'Object' : protoKinds.get(proto);
    // An array or plain object (the common case) goes straight to its properties: none
    // of the checks below can match it but the view's.
    if (kind === 'Object' && !ArrayBuffer.isView(value)) return cloneProperties(value, proto, memory, moved);
    let copy;
    const remember = (c) => { memory.set(value, c); return c; };
    if (mayBe(kind, 'Boolean') && is((x) => Boolean.prototype.valueOf.call(x), value)) return remember(Object(Boolean.prototype.valueOf.call(value)));
    if (mayBe(kind, 'Number') && is((x) => Number.prototype.valueOf.call(x), value)) return remember(Object(Number.prototype.valueOf.call(value)));
    if (mayBe(kind, 'BigInt') && is((x) => BigInt.prototype.valueOf.call(x), value)) return remember(Object(BigInt.prototype.valueOf.call(value)));
    if (mayBe(kind, 'String') && is((x) => String.prototype.valueOf.call(x), value)) return remember(Object(String.prototype.valueOf.call(value)));
    if (mayBe(kind, 'Date') && is((x) => Date.prototype.getTime.call(x), value)) return remember(new Date(Date.prototype.getTime.call(value)));
    if (mayBe(kind, 'RegExp') && is((x) => regexpSource.call(x), value)) return remember(new RegExp(regexpSource.call(value), regexpFlags.call(value)));
    if (mayBe(kind, 'ArrayBuffer') && isArrayBuffer(value)) {
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
    if (mayBe(kind, 'Map') && is((x) => Map.prototype.has.call(x), value)) {
      copy = remember(new Map());
      for (const [k, v] of Map.prototype.entries.call(value)) copy.set(cloneValue(k, memory, moved), cloneValue(v, memory, moved));
      return copy;
    }
    if (mayBe(kind, 'Set') && is((x) => Set.prototype.has.call(x), value)) {
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
    return cloneProperties(value, proto, memory, moved);
  }

  // An array, a plain object or a class instance: its own enumerable properties.
  function cloneProperties(value, proto, memory, moved) {
    let copy, keys;
    if (Array.isArray(value)) {
      const length = value.length;
      memory.set(value, (copy = []));
      keys = Object.keys(value);
      // Only its indices 0..length-1 (the count matches and the last key, which would be a
      // name if it had any, is the last index): copied by index, not by name, ~3x faster
      // (an index as a property name becomes an atom string).
      if (keys.length === length && (length === 0 || keys[length - 1] === String(length - 1))) {
        for (let i = 0; i < length; i++) copy[i] = cloneValue(value[i], memory, moved);
        return copy;
      }
      copy.length = length;
    } else {
      if (proto !== Object.prototype && proto !== null && !isPlainClass(value))
        throw cloneError(`An object of type ${Object.prototype.toString.call(value).slice(8, -1)}`);
      memory.set(value, (copy = {}));
      keys = Object.keys(value);
    }
    for (const key of keys) copy[key] = cloneValue(value[key], memory, moved);
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

  // ---- serialization to text, for messages that cross contexts (BroadcastChannel, worker) ----
  // The same value space and DataCloneErrors as structuredClone, written as JSON of a tagged
  // tree: strings, booleans, null and finite numbers stand for themselves; anything else is
  // an array whose first element is a tag, objects carrying an id that later ['r', id]
  // references (cycles, shared objects) point back to. MessagePorts listed in `ports` become
  // ['P', id, index] and are handed back by index on the receiving side. Not a global: the
  // channel and worker groups get serialize/deserialize through their natives.
  const binaryChunk = 8192;
  function bytesToLatin1(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i += binaryChunk)
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + binaryChunk));
    return text;
  }
  function latin1ToBuffer(text) {
    if (typeof text !== 'string') throw new TypeError('malformed message');
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }
  const encodeNumber = (n) => (Number.isFinite(n) && !Object.is(n, -0) ? n : ['n', Object.is(n, -0) ? '-0' : String(n)]);

  function serialize(value, transfer = [], ports = []) {
    const buffers = [];
    for (const buffer of transfer) {
      if (!isArrayBuffer(buffer)) throw cloneError('A transferable that is not an ArrayBuffer');
      if (buffers.includes(buffer)) throw cloneError('An ArrayBuffer listed twice in transfer');
      if (isDetached(buffer)) throw cloneError('A detached ArrayBuffer');
      buffers.push(buffer);
    }
    const ids = new Map();
    function encode(v) {
      const type = typeof v;
      if (type === 'string' || type === 'boolean' || v === null) return v;
      if (type === 'number') return encodeNumber(v);
      if (type === 'undefined') return ['u'];
      if (type === 'bigint') return ['bi', v.toString()];
      if (type === 'symbol') throw cloneError('A Symbol');
      if (type === 'function') throw cloneError(`The function ${v.name || '(anonymous)'}`);
      if (ids.has(v)) return ['r', ids.get(v)];
      const id = ids.size;
      ids.set(v, id);
      const port = ports.indexOf(v);
      if (port >= 0) return ['P', id, port];
      const proto = Object.getPrototypeOf(v);
      const kind = proto === null ? 'Object' : protoKinds.get(proto);
      if (mayBe(kind, 'Boolean') && is((x) => Boolean.prototype.valueOf.call(x), v)) return ['X', id, 'Boolean', Boolean.prototype.valueOf.call(v)];
      if (mayBe(kind, 'Number') && is((x) => Number.prototype.valueOf.call(x), v)) return ['X', id, 'Number', encodeNumber(Number.prototype.valueOf.call(v))];
      if (mayBe(kind, 'BigInt') && is((x) => BigInt.prototype.valueOf.call(x), v)) return ['X', id, 'BigInt', BigInt.prototype.valueOf.call(v).toString()];
      if (mayBe(kind, 'String') && is((x) => String.prototype.valueOf.call(x), v)) return ['X', id, 'String', String.prototype.valueOf.call(v)];
      if (mayBe(kind, 'Date') && is((x) => Date.prototype.getTime.call(x), v)) return ['D', id, encodeNumber(Date.prototype.getTime.call(v))];
      if (mayBe(kind, 'RegExp') && is((x) => regexpSource.call(x), v)) return ['R', id, regexpSource.call(v), regexpFlags.call(v)];
      if (mayBe(kind, 'ArrayBuffer') && isArrayBuffer(v)) {
        if (isDetached(v)) throw cloneError('A detached ArrayBuffer');
        return ['B', id, bytesToLatin1(new Uint8Array(v))];
      }
      if (ArrayBuffer.isView(v)) {
        const tag = typedArrayTag.call(v);
        return ['V', id, tag || 'DataView', encode(v.buffer), v.byteOffset, tag ? v.length : v.byteLength];
      }
      if (mayBe(kind, 'Map') && is((x) => Map.prototype.has.call(x), v)) {
        const list = [];
        for (const [k, x] of Map.prototype.entries.call(v)) list.push(encode(k), encode(x));
        return ['M', id, list]; // flat: key, value, key, value, ...
      }
      if (mayBe(kind, 'Set') && is((x) => Set.prototype.has.call(x), v)) {
        const list = [];
        for (const x of Set.prototype.values.call(v)) list.push(encode(x));
        return ['S', id, list];
      }
      if (v instanceof Error) {
        const name = Object.hasOwn(errorTypes, v.name) ? v.name : 'Error';
        const message = Object.getOwnPropertyDescriptor(v, 'message');
        const node = ['E', id, name, message && 'value' in message ? String(message.value) : null,
          typeof v.stack === 'string' ? v.stack : null];
        if ('cause' in v) node.push(encode(v.cause));
        return node;
      }
      let node;
      if (Array.isArray(v)) {
        node = ['A', id, v.length, []];
      } else {
        if (proto !== Object.prototype && proto !== null && !isPlainClass(v))
          throw cloneError(`An object of type ${Object.prototype.toString.call(v).slice(8, -1)}`);
        node = ['O', id, []];
      }
      const list = node[node.length - 1];
      for (const key of Object.keys(v)) list.push(key, encode(v[key]));
      return node;
    }
    const text = JSON.stringify(encode(value));
    for (const buffer of buffers) buffer.transfer(); // detaches the original, as a transfer must
    return text;
  }

  // Any text may arrive here (a peer's bug, or a hostile peer): everything malformed throws,
  // and the receiver turns that into a messageerror event.
  function deserialize(text, ports = []) {
    const objects = [];
    const malformed = () => { throw new TypeError('malformed message'); };
    const keep = (id, object) => {
      if (!Number.isInteger(id) || id < 0 || objects[id] !== undefined) malformed();
      objects[id] = object;
      return object;
    };
    const number = (n) => {
      if (typeof n === 'number') return n;
      if (!Array.isArray(n) || n[0] !== 'n') malformed();
      return n[1] === '-0' ? -0 : Number(n[1]);
    };
    function decode(n) {
      if (n === null || typeof n === 'string' || typeof n === 'boolean' || typeof n === 'number') return n;
      if (!Array.isArray(n)) malformed();
      const id = n[1];
      switch (n[0]) {
        case 'u': return undefined;
        case 'n': return number(n);
        case 'bi': return BigInt(n[1]);
        case 'r': if (objects[id] === undefined) malformed(); return objects[id];
        case 'P': if (!ports[n[2]]) malformed(); return keep(id, ports[n[2]]);
        case 'X': {
          const kind = n[2];
          const primitive = kind === 'Boolean' ? !!n[3] : kind === 'Number' ? number(n[3]) : kind === 'BigInt' ? BigInt(n[3])
            : kind === 'String' ? String(n[3]) : malformed();
          return keep(id, Object(primitive));
        }
        case 'D': return keep(id, new Date(number(n[2])));
        case 'R': return keep(id, new RegExp(String(n[2]), String(n[3])));
        case 'B': return keep(id, latin1ToBuffer(n[2]));
        case 'V': {
          const buffer = decode(n[3]);
          if (!isArrayBuffer(buffer)) malformed();
          const View = n[2] === 'DataView' ? DataView : Object.hasOwn(typedArrays, n[2]) ? typedArrays[n[2]] : malformed();
          return keep(id, new View(buffer, n[4], n[5]));
        }
        case 'M': {
          const map = keep(id, new Map()), list = n[2];
          if (!Array.isArray(list)) malformed();
          for (let i = 0; i + 1 < list.length; i += 2) map.set(decode(list[i]), decode(list[i + 1]));
          return map;
        }
        case 'S': {
          const set = keep(id, new Set()), list = n[2];
          if (!Array.isArray(list)) malformed();
          for (const x of list) set.add(decode(x));
          return set;
        }
        case 'E': {
          const Type = Object.hasOwn(errorTypes, n[2]) ? errorTypes[n[2]] : Error;
          const error = keep(id, new Type());
          if (n[3] !== null) error.message = String(n[3]);
          if (n[4] !== null) Object.defineProperty(error, 'stack', { value: String(n[4]), writable: true, configurable: true });
          if (n.length > 5) Object.defineProperty(error, 'cause', { value: decode(n[5]), writable: true, configurable: true });
          return error;
        }
        case 'A': case 'O': {
          const object = keep(id, n[0] === 'A' ? new Array(number(n[2])) : {});
          const list = n[n.length - 1];
          if (!Array.isArray(list)) malformed();
          for (let i = 0; i + 1 < list.length; i += 2)
            Object.defineProperty(object, String(list[i]), { value: decode(list[i + 1]), writable: true, enumerable: true, configurable: true });
          return object;
        }
        default: return malformed();
      }
    }
    return decode(JSON.parse(text));
  }

  return { structuredClone, serialize, deserialize, cloneWith };
})
