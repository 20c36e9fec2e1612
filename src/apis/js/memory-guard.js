// memory-guard.js - installed in every isolated context (a VM of its own under
// memory_limit_bytes) before any guest code runs; not an API group. JSC allocates the
// bytes of an ArrayBuffer, a typed array, a WebAssembly.Memory or a repeated string outside
// its heap, at once, before the watchdog's periodic heap check can see them: a 32 MiB
// context could make the process 2 GB bigger with three `new Uint8Array(2**30)`. This
// guard asks `reserve(what, bytes)` (engine_memory_guard.c) before every allocation of at
// least 1 MiB; reserve throws a RangeError when the bytes do not fit in what is left of
// the context's limit. Smaller allocations are left to the heap check (a tick away).
//
// Unforgeable: the originals stay only in this closure. Each constructor is replaced by a
// function that shares its prototype object and statics (so `instanceof`, `from`, species
// and subclassing keep working, and all of them reach the guard); each prototype's
// `constructor` is pinned to the guard (non-writable, non-configurable), and the
// prototype methods that allocate are replaced by checking wrappers. Arguments are
// converted once here and passed on converted, so a valueOf or getter cannot answer the
// check with one size and the allocation with another. A Proxy with a construct trap
// would be simpler but cost ~230 ns a construction in JSC; the fast path here costs
// `new Uint8Array(16)` ~60 ns (numbers: docs/limits-and-metrics.md). What stays outside
// the guard: docs/security.md.
(function (reserve, limitBytes, loadWasm) {
  'use strict';
  const THRESHOLD = 1 << 20;
  const global = globalThis;
  const R = Reflect, apply = R.apply, construct = R.construct, ownKeys = R.ownKeys;
  const defineProperty = Object.defineProperty, getPrototypeOf = Object.getPrototypeOf;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor, setPrototypeOf = Object.setPrototypeOf;
  const StringConstructor = String, TypeErrorConstructor = TypeError, iteratorKey = Symbol.iterator;
  const WeakMapConstructor = WeakMap;
  const trunc = Math.trunc, max = Math.max, min = Math.min;
  const getter = (proto, key) => getOwnPropertyDescriptor(proto, key).get;

  const check = (what, bytes) => {
    if (bytes >= THRESHOLD) reserve(what, bytes);
  };
  const count = (n) => (n > 0 ? trunc(n) : 0); // ToIndex, minus its RangeErrors
  // Calls brand(value) and answers its result, or -1 when value is not of the brand.
  const measure = (brand, value) => {
    try { return apply(brand, value, []); } catch { return -1; }
  };

  // Puts `guard` in the place of `original` (a global or a namespace member): the same
  // prototype object, own statics and prototype chain, and a pinned prototype.constructor.
  function replace(holder, name, original, guard, unpinned) {
    for (const key of ownKeys(original)) {
      if (key === 'prototype' || key === 'caller' || key === 'arguments') continue;
      defineProperty(guard, key, getOwnPropertyDescriptor(original, key));
    }
    setPrototypeOf(guard, getPrototypeOf(original));
    defineProperty(guard, 'prototype', { value: original.prototype, writable: false, enumerable: false, configurable: false });
    if (!unpinned) defineProperty(original.prototype, 'constructor', { value: guard, writable: false, enumerable: false, configurable: false });
    defineProperty(holder, name, { value: guard, writable: true, enumerable: false, configurable: true });
  }
  const requireNew = (name) => {
    throw new TypeErrorConstructor(`calling ${name} constructor without new is invalid`);
  };

  function wrapMethod(proto, name, bytesFor) {
    const original = proto[name];
    if (typeof original !== 'function') return;
    const wrapper = {
      [name](...args) {
        const bytes = bytesFor(this, args);
        if (bytes >= THRESHOLD) reserve(name, bytes);
        return apply(original, this, args);
      },
    }[name];
    defineProperty(wrapper, 'length', { value: original.length });
    defineProperty(proto, name, { value: wrapper, writable: true, enumerable: false, configurable: true });
  }

  // ArrayBuffer and SharedArrayBuffer: byteLength, or maxByteLength for a resizable one.
  // What runs on a guest's call touches no guest-replaceable built-in: indexed loops (no
  // array iterator), arrays and objects without a prototype (no inherited setter or
  // getter stands in for a missing element), and functions captured here.
  const bufferBrands = { __proto__: null, length: 0 };
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer']) {
    const original = global[name];
    if (typeof original !== 'function') continue;
    const byteLength = getter(original.prototype, 'byteLength');
    bufferBrands[bufferBrands.length++] = byteLength;
    const guard = { // a function expression: a method would not be a constructor
      [name]: function (length, options) {
        if (new.target === undefined) requireNew(name);
        if (typeof length === 'number' && options === undefined && new.target === guard) {
          if (length >= THRESHOLD) reserve(name, length);
          return new original(length);
        }
        const n = arguments.length ? +length : 0;
        let limit;
        if (options !== null && typeof options === 'object') {
          limit = options.maxByteLength;
          if (limit !== undefined) limit = +limit;
        }
        check(name, max(count(n), count(limit)));
        const target = new.target === guard ? original : new.target;
        return construct(original, limit === undefined ? [n] : [n, { maxByteLength: limit }], target);
      },
    }[name];
    replace(global, name, original, guard);
    wrapMethod(original.prototype, 'slice', (self, args) => { // the copy, from arguments converted once
      const size = measure(byteLength, self);
      if (size < 0) return 0;
      const relative = (v, fallback) => {
        const n = v === undefined ? fallback : trunc(+v) || 0;
        return n < 0 ? max(size + n, 0) : min(n, size);
      };
      const start = relative(args[0], 0), end = relative(args[1], size);
      args[0] = start;
      args[1] = end;
      return end - start;
    });
    const growBytes = (self, args) => {
      const size = measure(byteLength, self);
      if (size < 0 || !args.length) return 0;
      args[0] = +args[0];
      return count(args[0]) - size; // what it adds
    };
    const copyBytes = (self, args) => { // transfer(n): a new buffer of n bytes
      const size = measure(byteLength, self);
      if (size < 0) return 0;
      if (args.length && args[0] !== undefined) args[0] = +args[0];
      return count(args.length && args[0] !== undefined ? args[0] : size);
    };
    wrapMethod(original.prototype, name === 'ArrayBuffer' ? 'resize' : 'grow', growBytes);
    wrapMethod(original.prototype, 'transfer', copyBytes);
    wrapMethod(original.prototype, 'transferToFixedLength', copyBytes);
  }
  const isBuffer = (v) => {
    for (let i = 0; i < bufferBrands.length; i++) if (measure(bufferBrands[i], v) >= 0) return true;
    return false;
  };

  // Typed arrays: a length, another typed array, or an iterable / array-like (read once,
  // here, into a list the heap holds; the array is then made at that length and filled).
  const TypedArray = getPrototypeOf(Int8Array);
  const typedLength = getter(TypedArray.prototype, 'length');
  const typedByteLength = getter(TypedArray.prototype, 'byteLength');
  const typedSet = TypedArray.prototype.set;
  const typedBuffer = getter(TypedArray.prototype, 'buffer');
  const typedByteOffset = getter(TypedArray.prototype, 'byteOffset');
  const viewByteLength = getter(DataView.prototype, 'byteLength');
  const viewBuffer = getter(DataView.prototype, 'buffer');
  const viewByteOffset = getter(DataView.prototype, 'byteOffset');
  const original8 = Uint8Array; // before the guard replaces it: views over the module's bytes
  const listOf = (source, name, elementSize) => {
    const list = [];
    setPrototypeOf(list, null);
    const iterate = source[iteratorKey];
    if (iterate !== undefined && iterate !== null) {
      const iterator = apply(iterate, source, []);
      const next = iterator.next;
      for (;;) {
        const step = apply(next, iterator, []);
        if (step.done) break;
        list[list.length] = step.value;
      }
    } else {
      const n = count(+source.length);
      check(name, n * elementSize);
      for (let i = 0; i < n; i++) list[i] = source[i];
    }
    return list;
  };
  for (const name of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array',
    'BigUint64Array']) {
    const original = global[name];
    if (typeof original !== 'function') continue;
    const elementSize = original.BYTES_PER_ELEMENT;
    const guard = {
      [name]: function (source, offset, length) {
        if (new.target === undefined) requireNew(name);
        if (typeof source === 'number' && new.target === guard) { // the common case, fast
          if (source * elementSize >= THRESHOLD) reserve(name, source * elementSize);
          return new original(source);
        }
        const target = new.target === guard ? original : new.target;
        if (source === null || (typeof source !== 'object' && typeof source !== 'function')) {
          const n = arguments.length ? +source : 0;
          check(name, count(n) * elementSize);
          return construct(original, arguments.length ? [n] : [], target);
        }
        if (isBuffer(source)) return construct(original, arguments, target); // a view: no copy
        const n = measure(typedLength, source);
        if (n >= 0) {
          check(name, n * elementSize);
          return construct(original, [source], target);
        }
        const list = listOf(source, name, elementSize);
        check(name, list.length * elementSize);
        const made = construct(original, [list.length], target);
        apply(typedSet, made, [list]);
        return made;
      },
    }[name];
    replace(global, name, original, guard);
  }
  // The methods that make a new array of (at most) the receiver's size.
  const copyOfThis = (self) => max(measure(typedByteLength, self), 0);
  for (const name of ['slice', 'map', 'filter', 'toReversed', 'toSorted', 'with'])
    wrapMethod(TypedArray.prototype, name, copyOfThis);

  // WebAssembly: every constructor and function that allocates is replaced here, before
  // guest code, by a stub that checks `new` and hands its arguments to the checking code
  // in memory-guard-wasm.js. That code (the descriptors read once, a module's declared
  // memories and tables parsed and clamped) is evaluated in this VM on the first call of
  // any stub, through loadWasm (engine_memory_guard.c): 7 KB of checking code are then
  // not parsed at all in a context that never uses WebAssembly (numbers:
  // docs/limits-and-metrics.md). Loading defines functions only - it reads no property a
  // guest could have changed - and what it needs from here comes in one object without
  // a prototype, captured now.
  // A table entry is charged a round 64 bytes (the review measured ~98 bytes of RSS an
  // anyfunc entry): ordinary tables stay far below the threshold while a million-entry
  // table (64 MB) is checked.
  const TABLE_ENTRY_BYTES = 64;
  const wasm = global.WebAssembly;
  if (wasm !== null && typeof wasm === 'object') {
    const originals = { __proto__: null, Memory: wasm.Memory, Table: wasm.Table, Module: wasm.Module,
      Instance: wasm.Instance, compile: wasm.compile, instantiate: wasm.instantiate };
    const helpers = { // now, before guest code: see above
      __proto__: null, originals, wasm, limitBytes, check, count, measure, isBuffer, apply, construct, setPrototypeOf,
      trunc, max, min, StringConstructor, original8, typedSet, typedBuffer, typedByteOffset, typedByteLength, typedLength,
      viewBuffer, viewByteOffset, viewByteLength, TABLE_ENTRY_BYTES, declared: new WeakMapConstructor(), weakGet: WeakMap.prototype.get,
      weakSet: WeakMap.prototype.set, promiseThen: Promise.prototype.then, PromiseConstructor: Promise,
      reject: Promise.reject,
    };
    let checker;
    const checking = () => {
      if (checker === undefined) checker = loadWasm()(helpers);
      return checker;
    };
    if (typeof originals.Memory === 'function') {
      const guard = {
        Memory: function (d) {
          if (new.target === undefined) requireNew('WebAssembly.Memory');
          return checking().memory(d, new.target === guard ? originals.Memory : new.target);
        },
      }.Memory;
      replace(wasm, 'Memory', originals.Memory, guard);
      wrapMethod(originals.Memory.prototype, 'grow', (self, args) => {
        args[0] = +args[0];
        return count(args[0]) * 65536;
      });
    }
    if (typeof originals.Table === 'function') {
      const guard = {
        Table: function (d, value) {
          if (new.target === undefined) requireNew('WebAssembly.Table');
          return checking().table(d, value, arguments.length, new.target === guard ? originals.Table : new.target);
        },
      }.Table;
      replace(wasm, 'Table', originals.Table, guard);
      wrapMethod(originals.Table.prototype, 'grow', (self, args) => {
        args[0] = +args[0];
        return count(args[0]) * TABLE_ENTRY_BYTES;
      });
    }
    if (typeof originals.Module === 'function') {
      const guardModule = function Module(source) {
        if (new.target === undefined) requireNew('WebAssembly.Module');
        return checking().module(source, new.target === guardModule ? originals.Module : new.target);
      };
      replace(wasm, 'Module', originals.Module, guardModule);
      const guardInstance = function Instance(module, imports) {
        if (new.target === undefined) requireNew('WebAssembly.Instance');
        return checking().instance(module, imports, new.target === guardInstance ? originals.Instance : new.target);
      };
      replace(wasm, 'Instance', originals.Instance, guardInstance);
      const wrappers = {
        compile(source) {
          return checking().compile(source);
        },
        instantiate(source, imports) {
          return checking().instantiate(source, imports);
        },
      };
      for (const name of ['compile', 'instantiate']) {
        if (typeof originals[name] !== 'function') continue;
        defineProperty(wrappers[name], 'length', { value: originals[name].length });
        defineProperty(wasm, name, { value: wrappers[name], writable: true, enumerable: false, configurable: true });
      }
      for (const name of ['compileStreaming', 'instantiateStreaming']) // no Response to stream from here
        if (name in wasm) delete wasm[name];
    }
  }

  // Strings built at once from a count: repeat, padStart, padEnd (one byte a character).
  // A string receiver and a number argument take the fast path; anything else is
  // converted once here and passed on converted.
  const stringOf = (self) => (self === null || self === undefined || typeof self === 'symbol' ? self : StringConstructor(self));
  const repeat = StringConstructor.prototype.repeat;
  const pads = { padStart: StringConstructor.prototype.padStart, padEnd: StringConstructor.prototype.padEnd };
  const strings = {
    repeat(times) {
      let self = this;
      if (typeof self !== 'string' || typeof times !== 'number') {
        self = stringOf(self);
        times = +times;
      }
      if (typeof self === 'string' && self.length * times >= THRESHOLD) reserve('repeat', self.length * count(times));
      return apply(repeat, self, [times]);
    },
    padStart(length, fill) {
      return pad('padStart', this, length, fill);
    },
    padEnd(length, fill) {
      return pad('padEnd', this, length, fill);
    },
  };
  function pad(name, self, length, fill) {
    if (typeof self !== 'string' || typeof length !== 'number') {
      self = stringOf(self);
      length = +length;
    }
    if (typeof self === 'string' && length - self.length >= THRESHOLD) reserve(name, count(length) - self.length);
    return apply(pads[name], self, [length, fill]);
  }
  // Array.prototype.join: the result is at least as long as the strings it joins. The
  // guard sums the lengths of the string elements (and 24 characters for any other
  // primitive: a double's longest form) plus the separators, and checks that before the
  // original join runs. Objects count as nothing (their toString runs once, in the
  // original join), and an element read through a getter is read twice.
  // Typed arrays' join: at most 4, 6 or 24 characters an element (by element size) plus
  // the separator.
  const arrayJoin = Array.prototype.join;
  const joins = {
    join(separator) {
      const self = this;
      if (self === null || self === undefined) return apply(arrayJoin, self, [separator]); // TypeError
      const sep = separator === undefined ? ',' : `${separator}`;
      const n = count(+self.length);
      let total = n > 1 ? (n - 1) * sep.length : 0;
      for (let i = 0; i < n; i++) {
        const v = self[i];
        if (typeof v === 'string') total += v.length;
        else if (v !== undefined && v !== null && typeof v !== 'object' && typeof v !== 'function') total += 24;
      }
      if (total >= THRESHOLD) reserve('join', total);
      return apply(arrayJoin, self, [sep]);
    },
  };
  defineProperty(joins.join, 'length', { value: 1 });
  defineProperty(Array.prototype, 'join', { value: joins.join, writable: true, enumerable: false, configurable: true });
  const typedByteLengthOf = (self) => measure(typedByteLength, self);
  wrapMethod(TypedArray.prototype, 'join', (self, args) => {
    const n = measure(typedLength, self);
    if (n <= 0) return 0;
    if (args.length && args[0] !== undefined) args[0] = `${args[0]}`;
    const digits = [0, 4, 6, 24, 24, 24, 24, 24, 24][typedByteLengthOf(self) / n] || 24; // "-128", "-32768"
    return n * (digits + (args.length && args[0] !== undefined ? args[0].length : 1));
  });

  // Array methods that make a new array of the receiver's length at once, however small
  // the receiver (`Array.prototype.with.call({ length: 2 ** 26 }, 0, 1)` took 524 MB):
  // 8 bytes an element. A genuine array's length is a data property, read here and by
  // the original alike; any other receiver is read once, here, into an array without a
  // prototype that the original then copies, so a length getter cannot answer the check
  // with one size and the allocation with another. (A Proxy of an array passes isArray:
  // its length trap is read twice.) fill writes into an array of the given length, which
  // for a holey `Array(2 ** 26)` allocates it all: its range is checked, for arrays only.
  const ELEMENT_BYTES = 8, isArray = Array.isArray, ObjectConstructor = Object;
  const receiverFor = (self, name, extra) => {
    if (isArray(self)) {
      const bytes = (self.length + extra) * ELEMENT_BYTES;
      if (bytes >= THRESHOLD) reserve(name, bytes);
      return self;
    }
    if (self === null || self === undefined) return self; // the original's TypeError
    const o = ObjectConstructor(self);
    const n = min(count(+o.length), 2 ** 53 - 1);
    check(name, (n + extra) * ELEMENT_BYTES);
    const list = [];
    setPrototypeOf(list, null);
    for (let i = 0; i < n; i++) list[i] = o[i];
    list.length = n;
    return list;
  };
  const arrayProto = Array.prototype;
  const arrayMethods = {
    toReversed: arrayProto.toReversed,
    toSorted: arrayProto.toSorted,
    with: arrayProto.with,
    toSpliced: arrayProto.toSpliced,
  };
  const arrayWrappers = {
    toReversed() {
      return apply(arrayMethods.toReversed, receiverFor(this, 'toReversed', 0), []);
    },
    toSorted(compare) {
      return apply(arrayMethods.toSorted, receiverFor(this, 'toSorted', 0), [compare]);
    },
    with(index, value) {
      return apply(arrayMethods.with, receiverFor(this, 'with', 0), [index, value]);
    },
    toSpliced(...args) { // at most the receiver's length plus the items inserted
      return apply(arrayMethods.toSpliced, receiverFor(this, 'toSpliced', max(args.length - 2, 0)), args);
    },
  };
  for (const name of ['toReversed', 'toSorted', 'with', 'toSpliced']) {
    const original = arrayMethods[name];
    if (typeof original !== 'function') continue;
    defineProperty(arrayWrappers[name], 'length', { value: original.length });
    defineProperty(arrayProto, name, { value: arrayWrappers[name], writable: true, enumerable: false, configurable: true });
  }
  // The Array constructor is left alone: `Array(2 ** 26)` allocates its 512 MB at once in
  // JSC, but a guard there must also stand behind Array.prototype.constructor, or
  // `[].constructor !== Array` breaks code that tests it, and pinning it there turns off
  // JSC's species fast path (map/slice/concat 5-20x slower, measured). It stays a known
  // gap (docs/security.md): the call ends at the heap check with JSP_EOOM.
  wrapMethod(arrayProto, 'fill', (self, args) => {
    if (!isArray(self)) return 0;
    const n = self.length;
    const relative = (k, fallback) => {
      if (args.length <= k || args[k] === undefined) return fallback;
      args[k] = +args[k];
      const v = trunc(args[k]) || 0;
      return v < 0 ? max(n + v, 0) : min(v, n);
    };
    const start = relative(1, 0), end = relative(2, n);
    return (end - start) * ELEMENT_BYTES;
  });

  for (const name of ['repeat', 'padStart', 'padEnd']) {
    defineProperty(strings[name], 'length', { value: 1 });
    defineProperty(StringConstructor.prototype, name, { value: strings[name], writable: true, enumerable: false, configurable: true });
  }
})
