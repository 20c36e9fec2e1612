// store.js — the `store` group: `db`, the context's durable tables (docs/store.md). Only a
// context with a store has it. Rows cross to C as JSON text; the store checks every value
// against its column's type and throws TypeError naming the column. `bytes` columns take
// and give Uint8Array (base64 in the row text). Every operation runs in the transaction
// of the call (or timer, or message handler) that makes it.
(function (global, natives) {
  'use strict';
  const stringify = JSON.stringify, parse = JSON.parse;
  const ObjectKeys = Object.keys, defineProperty = Object.defineProperty, freeze = Object.freeze;
  const hasOwn = Object.prototype.hasOwnProperty;
  const call = Function.prototype.call.bind(Function.prototype.call);
  const Uint8ArrayCtor = Uint8Array, ArrayBufferCtor = ArrayBuffer;
  const isView = ArrayBuffer.isView;
  const fromCharCode = String.fromCharCode, charCodeAt = String.prototype.charCodeAt;
  const n = natives;
  const INSERT = 0, UPDATE = 1, UPSERT = 2, DELETE = 3;
  const LO_EXCLUSIVE = 1, HI_INCLUSIVE = 2, REVERSE = 4;

  // ---- bytes columns <-> base64 ----
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const lookup = new Uint8ArrayCtor(128);
  for (let i = 0; i < 64; i++) lookup[call(charCodeAt, alphabet, i)] = i;

  function toBase64(value, column) {
    let bytes;
    if (value instanceof ArrayBufferCtor) bytes = new Uint8ArrayCtor(value);
    else if (isView(value)) bytes = new Uint8ArrayCtor(value.buffer, value.byteOffset, value.byteLength);
    else throw new TypeError(`column ${column} expects bytes (a Uint8Array or ArrayBuffer)`);
    let out = '';
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const v = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
      out += alphabet[v >> 18] + alphabet[v >> 12 & 63] + alphabet[v >> 6 & 63] + alphabet[v & 63];
    }
    if (i < bytes.length) {
      const v = bytes[i] << 16 | (i + 1 < bytes.length ? bytes[i + 1] << 8 : 0);
      out += alphabet[v >> 18] + alphabet[v >> 12 & 63] +
             (i + 1 < bytes.length ? alphabet[v >> 6 & 63] : '=') + '=';
    }
    return out;
  }

  function fromBase64(text) {
    let end = text.length;
    while (end > 0 && text[end - 1] === '=') end--;
    const out = new Uint8ArrayCtor((end * 3) >> 2);
    let bits = 0, count = 0, o = 0;
    for (let i = 0; i < end; i++) {
      bits = bits << 6 | lookup[call(charCodeAt, text, i) & 127];
      if (++count === 4) {
        out[o++] = bits >> 16 & 255; out[o++] = bits >> 8 & 255; out[o++] = bits & 255;
        bits = 0; count = 0;
      }
    }
    if (count === 3) { out[o++] = bits >> 10 & 255; out[o++] = bits >> 2 & 255; }
    else if (count === 2) out[o++] = bits >> 4 & 255;
    return out;
  }

  // ---- tables ----
  // A row's or key's text for C: bytes columns encoded, everything else as JSON.
  function rowText(table, row) {
    if (row === null || typeof row !== 'object' || isView(row))
      throw new TypeError(`table ${table.name}: a row must be an object`);
    if (!table.bytes.length) return stringify(row);
    const copy = {};
    for (const key of ObjectKeys(row)) copy[key] = row[key];
    for (const column of table.bytes)
      if (call(hasOwn, copy, column) && copy[column] !== null && copy[column] !== undefined)
        copy[column] = toBase64(copy[column], column);
    return stringify(copy);
  }

  function valueText(table, column, value, what) {
    if (value === undefined) throw new TypeError(`table ${table.name}: ${what} is missing`);
    if (table.types[column] === 'bytes') return stringify(toBase64(value, column));
    const text = stringify(value);
    if (text === undefined) throw new TypeError(`table ${table.name}: ${what} cannot be ${typeof value}`);
    return text;
  }

  function rowValue(table, text) {
    const row = parse(text);
    for (const column of table.bytes)
      if (typeof row[column] === 'string') row[column] = fromBase64(row[column]);
    return row;
  }

  // scan(range) / count(range): undefined = every row; a plain value = rows equal to it;
  // {gt|gte, lt|lte, reverse}.
  function rangeArgs(table, column, range) {
    if (range === undefined || range === null) return [null, null, 0];
    if (typeof range !== 'object' || isView(range) || range instanceof ArrayBufferCtor) {
      const v = valueText(table, column, range, 'the range value');
      return [v, v, HI_INCLUSIVE];
    }
    for (const key of ObjectKeys(range))
      if (key !== 'gt' && key !== 'gte' && key !== 'lt' && key !== 'lte' && key !== 'reverse')
        throw new TypeError(`table ${table.name}: unknown range option '${key}' (gt, gte, lt, lte, reverse)`);
    if (range.gt !== undefined && range.gte !== undefined)
      throw new TypeError(`table ${table.name}: a range takes gt or gte, not both`);
    if (range.lt !== undefined && range.lte !== undefined)
      throw new TypeError(`table ${table.name}: a range takes lt or lte, not both`);
    let flags = range.reverse ? REVERSE : 0;
    let lo = null, hi = null;
    if (range.gt !== undefined) { lo = valueText(table, column, range.gt, 'gt'); flags |= LO_EXCLUSIVE; }
    else if (range.gte !== undefined) lo = valueText(table, column, range.gte, 'gte');
    if (range.lte !== undefined) { hi = valueText(table, column, range.lte, 'lte'); flags |= HI_INCLUSIVE; }
    else if (range.lt !== undefined) hi = valueText(table, column, range.lt, 'lt');
    return [lo, hi, flags];
  }

  class RowIterator {
    #id; #table;
    constructor(id, table) { this.#id = id; this.#table = table; }
    next() {
      if (!this.#id) return { value: undefined, done: true };
      const text = n.next(this.#id);
      if (text === undefined) { this.#id = 0; return { value: undefined, done: true }; }
      return { value: rowValue(this.#table, text), done: false };
    }
    return(value) {
      if (this.#id) { n.close(this.#id); this.#id = 0; }
      return { value, done: true };
    }
    toArray() {
      const rows = [];
      for (let r = this.next(); !r.done; r = this.next()) rows[rows.length] = r.value;
      return rows;
    }
    [Symbol.iterator]() { return this; }
  }

  class Index {
    #table; #name; #column;
    constructor(table, name, column) { this.#table = table; this.#name = name; this.#column = column; }
    get name() { return this.#name; }
    get column() { return this.#column; }
    scan(range) {
      const [lo, hi, flags] = rangeArgs(this.#table, this.#column, range);
      return new RowIterator(n.scan(this.#table.name, this.#name, lo, hi, flags), this.#table);
    }
    count(range) {
      const [lo, hi, flags] = rangeArgs(this.#table, this.#column, range);
      return n.count(this.#table.name, this.#name, lo, hi, flags);
    }
  }

  const tableMethods = new Set(['name', 'primaryKey', 'columns', 'get', 'insert', 'update', 'upsert',
                                'delete', 'count', 'scan', 'index', 'indexes']);

  class Table {
    #t; #indexes;
    constructor(t, indexes) { this.#t = t; this.#indexes = indexes; }
    get name() { return this.#t.name; }
    get primaryKey() { return this.#t.pk; }
    get columns() { return this.#t.columnsCopy(); }
    get indexes() { return ObjectKeys(this.#indexes); }
    index(name) {
      const ix = this.#indexes[name];
      if (!ix) throw new TypeError(`table ${this.#t.name} has no index '${name}'`);
      return ix;
    }
    get(key) {
      const text = n.get(this.#t.name, valueText(this.#t, this.#t.pk, key, 'the key'));
      return text === undefined ? undefined : rowValue(this.#t, text);
    }
    insert(row) { n.write(INSERT, this.#t.name, rowText(this.#t, row)); }
    update(row) { n.write(UPDATE, this.#t.name, rowText(this.#t, row)); }
    upsert(row) { n.write(UPSERT, this.#t.name, rowText(this.#t, row)); }
    delete(key) { return n.write(DELETE, this.#t.name, valueText(this.#t, this.#t.pk, key, 'the key')); }
    scan(range) {
      const [lo, hi, flags] = rangeArgs(this.#t, this.#t.pk, range);
      return new RowIterator(n.scan(this.#t.name, null, lo, hi, flags), this.#t);
    }
    count(range) {
      const [lo, hi, flags] = rangeArgs(this.#t, this.#t.pk, range);
      return n.count(this.#t.name, null, lo, hi, flags);
    }
  }

  function makeTable(name, declaration) {
    const types = {};
    const bytes = [];
    for (const column of ObjectKeys(declaration.columns)) {
      const type = declaration.columns[column].type;
      types[column] = type;
      if (type === 'bytes') bytes[bytes.length] = column;
    }
    const t = freeze({
      name, types, bytes, pk: declaration.primaryKey,
      columnsCopy: () => parse(stringify(declaration.columns)),
    });
    const indexes = {};
    for (const ix of ObjectKeys(declaration.indexes || {}))
      indexes[ix] = new Index(t, ix, declaration.indexes[ix]);
    const table = new Table(t, indexes);
    for (const ix of ObjectKeys(indexes))
      if (!tableMethods.has(ix)) defineProperty(table, ix, { value: indexes[ix], enumerable: true });
    return freeze(table);
  }

  // ---- db ----
  const reserved = new Set(['declare', 'table', 'tables']);
  let tables = {};

  const db = {
    // db.declare({accounts: {columns: {id: 'string', balance: 'integer'}, primaryKey: 'id',
    //                        indexes: {byOwner: 'owner'}}})
    declare(declaration) {
      if (declaration === null || typeof declaration !== 'object')
        throw new TypeError('db.declare takes an object: {tableName: {columns, primaryKey, indexes}}');
      n.declare(stringify({ tables: declaration }));
      refresh();
    },
    table(name) {
      const t = tables[name];
      if (!t) throw new TypeError(`db: no table '${name}' (declare it with db.declare)`);
      return t;
    },
    get tables() { return ObjectKeys(tables); },
  };

  function refresh() {
    for (const name of ObjectKeys(tables))
      if (!reserved.has(name)) delete db[name];
    tables = {};
    const declared = parse(n.schema()).tables;
    for (const name of ObjectKeys(declared)) {
      tables[name] = makeTable(name, declared[name]);
      if (!reserved.has(name))
        defineProperty(db, name, { value: tables[name], enumerable: true, configurable: true });
    }
  }

  refresh();
  return { db };
});
