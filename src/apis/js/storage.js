// storage.js — the `storage` group: localStorage and sessionStorage per the WHATWG Web
// Storage standard (the Storage interface: length, key(), getItem(), setItem(),
// removeItem(), clear(), and the items as properties: `localStorage.x`, `x in`, `delete`,
// Object.keys). Each Storage is a Proxy over an object whose prototype is
// Storage.prototype, its traps doing what Web IDL says for an object with named
// properties (a method or accessor of the prototype chain wins over an item of the same
// name on read; a string-keyed write always stores). Keys and values are strings (anything
// else is converted as Web IDL's DOMString does: a Symbol is a TypeError).
//
// Quota: per area, the UTF-16 code units of every key and value plus natives.itemUnits
// (32) per item, against natives.quota (5 Mi units unless configured); a setItem past it
// throws a QuotaExceededError DOMException and changes nothing. Where it lives: sessionStorage, and localStorage in a context
// without a store, are kept here in the context's heap (so its memory counts against the
// context's, and nothing survives the context); localStorage in a context with a store is
// a table of that store (natives_storage.c), each operation inside the running call's
// transaction. No `storage` events are fired: a context has no other document to tell.
(function (global, natives, dependency) {
  'use strict';
  const DOMException = global.DOMException;
  const quota = natives.quota, itemUnits = natives.itemUnits;
  const MapCtor = Map, WeakMapCtor = WeakMap, ProxyCtor = Proxy;
  const call = Function.prototype.call.bind(Function.prototype.call);
  const MapGet = Map.prototype.get, MapSet = Map.prototype.set, MapHas = Map.prototype.has;
  const MapDelete = Map.prototype.delete, MapClear = Map.prototype.clear, MapKeys = Map.prototype.keys;
  const WeakMapGet = WeakMap.prototype.get, WeakMapSet = WeakMap.prototype.set;
  const MapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;
  const MapIteratorNext = Object.getPrototypeOf(new Map().keys()).next;
  const StringSlice = String.prototype.slice;
  const ReflectGet = Reflect.get, ReflectSet = Reflect.set, ReflectHas = Reflect.has;
  const ReflectOwnKeys = Reflect.ownKeys, ReflectDeleteProperty = Reflect.deleteProperty;
  const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
  const ReflectDefineProperty = Reflect.defineProperty;
  const create = Object.create, defineProperty = Object.defineProperty;
  const internal = Symbol('internal');

  function quotaError(key) {
    const shown = key.length > 64 ? call(StringSlice, key, 0, 64) + '…' : key;
    return new DOMException(`Failed to execute 'setItem' on 'Storage': Setting the value of '${shown}' ` +
                            `exceeded the quota (${quota} UTF-16 code units of keys and values, ${itemUnits} per item).`,
                            'QuotaExceededError');
  }

  // An area kept in this context's heap: a Map (insertion order is key()'s order) and the
  // code units it holds.
  class MemoryArea {
    #map = new MapCtor();
    #used = 0;
    #keys = null; // key()'s array, rebuilt after an insertion or removal
    length() { return call(MapSize, this.#map); }
    keyAt(index) {
      if (this.#keys === null) {
        const keys = [];
        const it = call(MapKeys, this.#map);
        for (let r = call(MapIteratorNext, it); !r.done; r = call(MapIteratorNext, it)) keys[keys.length] = r.value;
        this.#keys = keys;
      }
      return index < this.#keys.length ? this.#keys[index] : null;
    }
    get(key) {
      const value = call(MapGet, this.#map, key);
      return value === undefined ? null : value;
    }
    has(key) { return call(MapHas, this.#map, key); }
    set(key, value) {
      const old = call(MapGet, this.#map, key);
      if (old === value) return;
      const used = this.#used + value.length + (old === undefined ? key.length + itemUnits : -old.length);
      if (used > quota) throw quotaError(key);
      if (old === undefined) this.#keys = null;
      call(MapSet, this.#map, key, value);
      this.#used = used;
    }
    remove(key) {
      const old = call(MapGet, this.#map, key);
      if (old === undefined) return;
      call(MapDelete, this.#map, key);
      this.#used -= key.length + old.length + itemUnits;
      this.#keys = null;
    }
    clear() { call(MapClear, this.#map); this.#used = 0; this.#keys = null; }
    keys() { this.keyAt(0); return this.#keys; }
  }

  // localStorage in a context with a store: every operation is the store's (C).
  class StoreArea {
    length() { return natives.length(); }
    keyAt(index) { return natives.key(index); }
    get(key) { return natives.get(key); }
    has(key) { return natives.get(key) !== null; }
    set(key, value) { if (!natives.set(key, value)) throw quotaError(key); }
    remove(key) { natives.remove(key); }
    clear() { natives.clear(); }
    keys() { return natives.keys(); }
  }

  const areas = new WeakMapCtor(); // Storage proxy -> area

  function areaOf(storage) {
    const area = call(WeakMapGet, areas, storage);
    if (area === undefined) throw new TypeError('Illegal invocation');
    return area;
  }

  function needArguments(count, given, method) {
    if (given < count)
      throw new TypeError(`Failed to execute '${method}' on 'Storage': ${count} argument${count > 1 ? 's' : ''} ` +
                          `required, but only ${given} present.`);
  }

  // Web IDL's DOMString conversion (ToString: a Symbol throws).
  const domString = (value) => `${value}`;

  class Storage {
    constructor(token) {
      if (token !== internal) throw new TypeError('Illegal constructor');
    }
    get length() { return areaOf(this).length(); }
    key(index) {
      const area = areaOf(this);
      needArguments(1, arguments.length, 'key');
      const n = index >>> 0; // Web IDL unsigned long
      return area.keyAt(n);
    }
    getItem(key) {
      const area = areaOf(this);
      needArguments(1, arguments.length, 'getItem');
      return area.get(domString(key));
    }
    setItem(key, value) {
      const area = areaOf(this);
      needArguments(2, arguments.length, 'setItem');
      area.set(domString(key), domString(value));
    }
    removeItem(key) {
      const area = areaOf(this);
      needArguments(1, arguments.length, 'removeItem');
      area.remove(domString(key));
    }
    clear() { areaOf(this).clear(); }
  }
  defineProperty(Storage.prototype, Symbol.toStringTag, { value: 'Storage', configurable: true });

  function makeStorage(area) {
    const target = create(Storage.prototype);
    // Web IDL's named property visibility: an item is a property unless the prototype
    // chain has that name (target has no own string-keyed properties: all go to the area).
    const visible = (p) => typeof p === 'string' && !ReflectHas(target, p) && area.has(p);
    let proxy;
    const handler = {
      get(t, p, receiver) {
        if (typeof p === 'string' && !ReflectHas(target, p)) {
          const value = area.get(p);
          if (value !== null) return value;
        }
        return ReflectGet(target, p, receiver);
      },
      set(t, p, value, receiver) {
        if (typeof p === 'string' && receiver === proxy) {
          area.set(p, domString(value));
          return true;
        }
        return ReflectSet(target, p, value, receiver);
      },
      has(t, p) {
        return (typeof p === 'string' && area.has(p)) || ReflectHas(target, p);
      },
      deleteProperty(t, p) {
        if (visible(p)) {
          area.remove(p);
          return true;
        }
        return ReflectDeleteProperty(target, p);
      },
      ownKeys(t) {
        const names = [];
        const keys = area.keys();
        for (let i = 0; i < keys.length; i++)
          if (!ReflectHas(target, keys[i])) names[names.length] = keys[i];
        const own = ReflectOwnKeys(target);
        for (let i = 0; i < own.length; i++) names[names.length] = own[i];
        return names;
      },
      getOwnPropertyDescriptor(t, p) {
        if (visible(p)) return { value: area.get(p), writable: true, enumerable: true, configurable: true };
        return ReflectGetOwnPropertyDescriptor(target, p);
      },
      defineProperty(t, p, descriptor) {
        if (typeof p !== 'string') return ReflectDefineProperty(target, p, descriptor);
        // a named setter takes data descriptors only; a non-configurable property could
        // not be kept (it would break the Proxy's invariants), so it is refused too
        if ('get' in descriptor || 'set' in descriptor || descriptor.configurable === false) return false;
        area.set(p, domString(descriptor.value));
        return true;
      },
      preventExtensions() { return false; }, // Web IDL: a Storage stays extensible
    };
    proxy = new ProxyCtor(target, handler);
    call(WeakMapSet, areas, proxy, area);
    return proxy;
  }

  const sessionStorage = makeStorage(new MemoryArea());
  const localStorage = makeStorage(natives.isDurable ? new StoreArea() : new MemoryArea());
  return { localStorage, sessionStorage, Storage };
})
