// memory-guard-wasm.js - the checking code behind the memory guard's WebAssembly stubs
// (memory-guard.js), evaluated in an isolated VM on the first call of any of them, not
// at the context's creation. Gets everything it uses in one object without a prototype,
// captured by the guard before guest code ran, and defines functions only: loading it
// reads nothing a guest could have changed. Answers the stubs' targets.
(function (h) {
  'use strict';
  const { originals, wasm, limitBytes, check, count, measure, isBuffer, apply, construct, setPrototypeOf, trunc, max,
    min, StringConstructor, original8, typedSet, typedBuffer, typedByteOffset, typedByteLength, typedLength, viewBuffer,
    viewByteOffset, viewByteLength, TABLE_ENTRY_BYTES, declared, weakGet, weakSet, promiseThen, PromiseConstructor, reject } = h;
  const maxPages = trunc(limitBytes / 65536);
  const memoryKeys = { __proto__: null, length: 5, 0: 'initial', 1: 'maximum', 2: 'shared', 3: 'index', 4: 'address' };
  // WebAssembly.Table: `initial` entries now (`grow(delta)` entries later: the guard), at
  // TABLE_ENTRY_BYTES each (5 x 1,000,000 anyfunc entries took 490 MB). A table's maximum
  // is clamped like a memory's: wasm's table.grow runs past any JS wrapper.
  const maxEntries = trunc(limitBytes / TABLE_ENTRY_BYTES);
  const tableKeys = { __proto__: null, length: 4, 0: 'element', 1: 'initial', 2: 'maximum', 3: 'address' };

  // WebAssembly modules that declare their own memory: its `initial` pages are allocated
  // at each instantiation. The pages a module's bytes declare are read once, when it is
  // compiled through the guard, and checked when it is instantiated.
  const rejecting = (work) => { // the promise-returning forms reject instead of throwing
    try { return work(); } catch (e) { return apply(reject, PromiseConstructor, [e]); }
  };
  const bytesOf = (source) => {
    const n = measure(typedByteLength, source);
    if (n >= 0) return new original8(apply(typedBuffer, source, []), apply(typedByteOffset, source, []), n);
    const dataView = measure(viewByteLength, source);
    if (dataView >= 0) return new original8(apply(viewBuffer, source, []), apply(viewByteOffset, source, []), dataView);
    return isBuffer(source) ? new original8(source) : null;
  };
  const leb = (bytes, at) => { // [value, next offset]; values up to 2**53
    let value = 0, scale = 1, b;
    do {
      if (at.i >= apply(typedLength, bytes, [])) return -1;
      b = bytes[at.i++];
      value += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    return value;
  };
  const lebBytes = (value, out) => {
    do {
      let b = value % 128;
      value = trunc(value / 128);
      if (value) b |= 0x80;
      out[out.length] = b;
    } while (value);
  };
  // Reads the memories a module defines: the bytes their `initial` pages take, and the
  // module's bytes with each 32-bit memory's maximum clamped to the context's limit
  // (memory.grow runs inside wasm, past any JS wrapper). [bytes needed, source to compile],
  // read by index: destructuring would run the guest's Array.prototype[Symbol.iterator]
  const inspect = (source) => {
    const bytes = bytesOf(source);
    // its length through the getter captured before guest code: %TypedArray%.prototype's
    // `length` is the guest's to redefine (a 0 there skipped the whole module)
    const moduleBytes = bytes ? apply(typedLength, bytes, []) : 0;
    if (moduleBytes < 8) return [0, source];
    const at = { i: 8 };
    let total = 0;
    while (at.i < moduleBytes) {
      const start = at.i;
      const id = bytes[at.i++];
      const size = leb(bytes, at);
      if (size < 0) break;
      const end = at.i + size;
      if (id === 4) { // tables (funcref 0x70, externref 0x6f): charged, not clamped (TODO: clamp
        // their maximum as memories' below; until then wasm's own table.grow is unchecked)
        for (let tables = leb(bytes, at); tables > 0 && at.i < end; tables--) {
          const type = bytes[at.i++];
          if (type !== 0x70 && type !== 0x6f) break;
          const flags = bytes[at.i++];
          const initial = leb(bytes, at);
          if (initial < 0) break;
          if (flags & 1) leb(bytes, at);
          total += initial * TABLE_ENTRY_BYTES;
        }
        at.i = end;
        continue;
      }
      if (id !== 5) {
        at.i = end;
        continue;
      }
      const payload = [];
      setPrototypeOf(payload, null);
      let memories = leb(bytes, at);
      lebBytes(memories, payload);
      for (; memories > 0 && at.i < end; memories--) {
        const flags = bytes[at.i++];
        const initial = leb(bytes, at);
        const maximum = flags & 1 ? leb(bytes, at) : Infinity;
        if (initial < 0 || flags > 3) return [max(total, count(initial) * 65536), source]; // memory64, custom pages: unchanged
        total += initial * 65536;
        payload[payload.length] = flags | 1;
        lebBytes(initial, payload);
        lebBytes(max(min(maximum, maxPages), initial), payload);
      }
      if (at.i !== end) return [total, source];
      const head = [5];
      setPrototypeOf(head, null);
      lebBytes(payload.length, head);
      const out = new original8(start + head.length + payload.length + moduleBytes - end);
      apply(typedSet, out, [new original8(apply(typedBuffer, bytes, []), apply(typedByteOffset, bytes, []), start)]);
      apply(typedSet, out, [head, start]);
      apply(typedSet, out, [payload, start + head.length]);
      apply(typedSet, out, [new original8(apply(typedBuffer, bytes, []), apply(typedByteOffset, bytes, []) + end, moduleBytes - end),
        start + head.length + payload.length]);
      return [total, out];
    }
    return [total, source];
  };
  const remember = (module, bytes) => {
    if (module !== null && typeof module === 'object') apply(weakSet, declared, [module, bytes]);
    return module;
  };
  const instantiateChecked = (source, imports) => {
    const known = source !== null && typeof source === 'object' ? apply(weakGet, declared, [source]) : undefined;
    if (known !== undefined) {
      check('WebAssembly.Instance', known);
      return apply(originals.instantiate, wasm, [source, imports]);
    }
    const inspected = inspect(source), bytes = inspected[0], clamped = inspected[1];
    check('WebAssembly.Instance', bytes);
    const remembered = (result) => {
      if (result !== null && typeof result === 'object') remember(result.module, bytes);
      return result;
    };
    return apply(promiseThen, apply(originals.instantiate, wasm, [clamped, imports]), [remembered]);
  };

  return {
    __proto__: null,
    // WebAssembly.Memory: `initial` pages now (`grow(delta)` pages later: the guard).
    memory(d, target) {
      let descriptor = d;
      if (d !== null && typeof d === 'object') {
        descriptor = { __proto__: null };
        for (let k = 0; k < memoryKeys.length; k++) {
          const key = memoryKeys[k], v = d[key];
          if (v !== undefined) descriptor[key] = typeof v === 'string' || typeof v === 'boolean' ? v : +v;
        }
        check('WebAssembly.Memory', count(descriptor.initial) * 65536);
        // wasm code grows a memory with memory.grow, past any JS wrapper: its maximum
        // (4 GiB when absent) is clamped to what the context may hold at all
        if (!(descriptor.maximum <= maxPages)) descriptor.maximum = max(maxPages, count(descriptor.initial));
      }
      return construct(originals.Memory, [descriptor], target);
    },
    table(d, value, argc, target) {
      let descriptor = d;
      if (d !== null && typeof d === 'object') {
        descriptor = { __proto__: null };
        for (let k = 0; k < tableKeys.length; k++) {
          const key = tableKeys[k], v = d[key];
          if (v === undefined) continue;
          descriptor[key] = k === 0 || k === 3 ? StringConstructor(v) : typeof v === 'bigint' ? v : +v;
        }
        const initial = count(typeof descriptor.initial === 'bigint' ? +StringConstructor(descriptor.initial) : descriptor.initial);
        check('WebAssembly.Table', initial * TABLE_ENTRY_BYTES);
        if (typeof descriptor.maximum !== 'bigint' && !(descriptor.maximum <= maxEntries))
          descriptor.maximum = max(maxEntries, initial);
      }
      return construct(originals.Table, argc > 1 ? [descriptor, value] : [descriptor], target);
    },
    module(source, target) {
      const inspected = inspect(source), bytes = inspected[0], clamped = inspected[1];
      return remember(construct(originals.Module, [clamped], target), bytes);
    },
    instance(module, imports, target) {
      check('WebAssembly.Instance', apply(weakGet, declared, [module]) || 0);
      return construct(originals.Instance, [module, imports], target);
    },
    compile(source) { // the promise-returning forms reject instead of throwing
      return rejecting(() => {
        const inspected = inspect(source), bytes = inspected[0], clamped = inspected[1];
        return apply(promiseThen, apply(originals.compile, wasm, [clamped]), [(module) => remember(module, bytes)]);
      });
    },
    instantiate(source, imports) {
      return rejecting(() => instantiateChecked(source, imports));
    },
  };
})
