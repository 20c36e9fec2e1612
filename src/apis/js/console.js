// console.js — the `console` group: the WHATWG Console Standard's methods (log, info,
// debug, warn, error, trace, assert, count, countReset, group, groupCollapsed, groupEnd,
// table, dir, dirxml, time, timeLog, timeEnd) with its formatter (%s %d %i %f %o %O %c %%)
// and values shown the way Node and Deno print them. Output goes through natives.emit to
// the pool's log callback; console.time spans live in C, as per-call host state that the
// call's scope clears. Evaluates to a function(globalThis, natives) returning {console}.
(function (global, natives) {
  'use strict';
  const LEVEL_DEBUG = 0, LEVEL_INFO = 1, LEVEL_WARN = 2, LEVEL_ERROR = 3;
  const { emit, spanStart, spanElapsed } = natives;
  const objectToString = Object.prototype.toString;
  const getPrototypeOf = Object.getPrototypeOf;
  const MAX_DEPTH = 2, MAX_ITEMS = 100, LINE_WIDTH = 72;

  function quote(s) {
    return "'" + s.replace(/[\\'\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]) + "'";
  }

  const identifier = /^[A-Za-z_$][\w$]*$/;
  function keyText(key) {
    if (typeof key === 'symbol') return '[' + key.toString() + ']';
    return identifier.test(key) ? key : quote(key);
  }

  function primitive(value, isNested) {
    switch (typeof value) {
      case 'string': return isNested ? quote(value) : value;
      case 'number': return Object.is(value, -0) ? '-0' : String(value);
      case 'bigint': return value + 'n';
      case 'symbol': return value.toString();
      case 'undefined': return 'undefined';
      default: return String(value);
    }
  }

  function functionText(fn) {
    let source = '';
    try { source = Function.prototype.toString.call(fn); } catch { /* a revoked proxy */ }
    const name = fn.name ? String(fn.name) : '';
    if (source.startsWith('class')) {
      const parent = getPrototypeOf(fn);
      const extendsText = typeof parent === 'function' && parent.name ? ' extends ' + parent.name : '';
      return '[class ' + (name || '(anonymous)') + extendsText + ']';
    }
    const kind = objectToString.call(fn).slice(8, -1); // Function, AsyncFunction, GeneratorFunction
    return '[' + kind + (name ? ': ' + name : ' (anonymous)') + ']';
  }

  function constructorName(object) {
    for (let proto = getPrototypeOf(object); proto; proto = getPrototypeOf(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, 'constructor');
      if (descriptor && typeof descriptor.value === 'function' && descriptor.value.name)
        return String(descriptor.value.name);
    }
    return null;
  }

  function errorText(error) {
    let head;
    try { head = String(error); } catch { head = 'Error'; }
    const stack = typeof error.stack === 'string' ? error.stack : '';
    // JavaScriptCore's stack holds frames only ("fn@file:line:col"); print them indented.
    return stack ? head + '\n' + stack.split('\n').map((frame) => '    at ' + frame).join('\n') : '[' + head + ']';
  }

  function join(prefix, parts, open, close, indent) {
    if (!parts.length) return prefix + open + close;
    const line = prefix + open + ' ' + parts.join(', ') + ' ' + close;
    if (line.length <= LINE_WIDTH && !line.includes('\n')) return line;
    const pad = '  '.repeat(indent + 1);
    return prefix + open + '\n' + pad + parts.join(',\n' + pad) + '\n' + '  '.repeat(indent) + close;
  }

  function ownEntries(object, seen, depth, indent, skipIndices) {
    const parts = [];
    for (const key of Reflect.ownKeys(object)) {
      if (skipIndices && typeof key === 'string' && String(key >>> 0) === key && key >>> 0 !== 4294967295) continue;
      const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
      if (!descriptor || (!descriptor.enumerable && typeof key !== 'symbol')) continue;
      let text;
      if (descriptor.get || descriptor.set)
        text = descriptor.get && descriptor.set ? '[Getter/Setter]' : descriptor.get ? '[Getter]' : '[Setter]';
      else
        text = inspect(descriptor.value, seen, depth + 1, indent + 1);
      parts.push(keyText(key) + ': ' + text);
    }
    return parts;
  }

  function listItems(length, itemAt) {
    const parts = [];
    const shown = Math.min(length, MAX_ITEMS);
    for (let i = 0; i < shown; i++) parts.push(itemAt(i));
    if (length > shown) parts.push('... ' + (length - shown) + ' more item' + (length - shown > 1 ? 's' : ''));
    return parts;
  }

  // Shows any value; seen holds the objects being shown (cycles print [Circular]).
  function inspect(value, seen, depth, indent) {
    if (typeof value === 'function') return functionText(value);
    if (value === null || typeof value !== 'object') return primitive(value, depth > 0);
    if (seen.includes(value)) return '[Circular]';
    const tag = objectToString.call(value).slice(8, -1);
    const name = constructorName(value);
    if (tag === 'Error' || value instanceof Error) return errorText(value);
    if (tag === 'Date') return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (tag === 'RegExp') return RegExp.prototype.toString.call(value);
    if (tag === 'Boolean' || tag === 'Number' || tag === 'String' || tag === 'Symbol' || tag === 'BigInt')
      return '[' + tag + ': ' + primitive(value.valueOf(), true) + ']';
    if (tag === 'Promise') return 'Promise { <unknown> }';
    if (tag === 'WeakMap' || tag === 'WeakSet' || tag === 'WeakRef') return tag + ' { <items unknown> }';
    const isArray = Array.isArray(value);
    const typedArray = ArrayBuffer.isView(value) && !(value instanceof DataView);
    let prefix = '';
    if (name === null) prefix = '[' + (isArray ? 'Array' : 'Object') + ': null prototype] ';
    else if (!isArray && !typedArray && name !== 'Object' && tag !== 'Map' && tag !== 'Set') prefix = name + ' ';
    if (depth > MAX_DEPTH) return isArray ? '[Array]' : '[' + (name || 'Object') + ']';
    seen.push(value);
    try {
      if (isArray)
        return join(prefix, listItems(value.length, (i) => i in value ? inspect(value[i], seen, depth + 1, indent + 1) : '<empty>')
          .concat(ownEntries(value, seen, depth, indent, true)), '[', ']', indent);
      if (typedArray)
        return join(name + '(' + value.length + ') ', listItems(value.length, (i) => primitive(value[i], true)), '[', ']', indent);
      if (tag === 'Map') {
        const parts = [];
        for (const [k, v] of value) {
          if (parts.length === MAX_ITEMS) { parts.push('...'); break; }
          parts.push(inspect(k, seen, depth + 1, indent + 1) + ' => ' + inspect(v, seen, depth + 1, indent + 1));
        }
        return join((name && name !== 'Map' ? name : 'Map') + '(' + value.size + ') ', parts, '{', '}', indent);
      }
      if (tag === 'Set') {
        const parts = [];
        for (const v of value) {
          if (parts.length === MAX_ITEMS) { parts.push('...'); break; }
          parts.push(inspect(v, seen, depth + 1, indent + 1));
        }
        return join((name && name !== 'Set' ? name : 'Set') + '(' + value.size + ') ', parts, '{', '}', indent);
      }
      if (tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer')
        return tag + ' { byteLength: ' + value.byteLength + ' }';
      return join(prefix, ownEntries(value, seen, depth, indent, false), '{', '}', indent);
    } catch (error) {
      return '[' + (name || 'Object') + ' (inspection failed)]';
    } finally {
      seen.pop();
    }
  }

  const show = (value) => inspect(value, [], 0, 0);

  // The Console Standard's Formatter, then every remaining argument, space-separated.
  function format(args) {
    const parts = [];
    let rest = 0;
    if (typeof args[0] === 'string' && args.length > 1 && args[0].includes('%')) {
      const template = args[0];
      let at = 1, text = '';
      for (let i = 0; i < template.length; i++) {
        const c = template[i];
        const next = template[i + 1];
        if (c !== '%' || next === undefined) { text += c; continue; }
        if (next === '%') { text += '%'; i++; continue; }
        if (!'sdifoOc'.includes(next)) { text += c; continue; }
        i++;
        if (at >= args.length) { text += '%' + next; continue; }
        const value = args[at++];
        switch (next) {
          case 's': text += typeof value === 'string' ? value : typeof value === 'object' && value !== null ? inspect(value, [], 1, 0) : primitive(value, false); break;
          case 'd': case 'i': text += typeof value === 'bigint' ? value + 'n' : typeof value === 'symbol' ? 'NaN' : String(parseInt(value, 10)); break;
          case 'f': text += typeof value === 'symbol' ? 'NaN' : String(parseFloat(value)); break;
          case 'o': case 'O': text += show(value); break;
          case 'c': break; // CSS has nowhere to go in a log line
        }
      }
      parts.push(text);
      rest = at;
    }
    for (let i = rest; i < args.length; i++) parts.push(show(args[i]));
    return parts.join(' ');
  }

  let groupIndent = '';
  function print(level, text) {
    emit(level, groupIndent ? groupIndent + String(text).split('\n').join('\n' + groupIndent) : text);
  }

  const counts = new Map();
  const labelOf = (label) => label === undefined ? 'default' : String(label);

  function table(data, columns) {
    if (data === null || typeof data !== 'object') return print(LEVEL_INFO, format([data]));
    const rows = data instanceof Map ? [...data.entries()].map(([k, v]) => [show(k), v])
      : Object.keys(data).map((k) => [k, data[k]]);
    const keys = [];
    let hasValues = false;
    for (const [, row] of rows) {
      if (row !== null && typeof row === 'object') {
        for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
      } else {
        hasValues = true;
      }
    }
    const header = ['(index)'].concat(columns ? Array.from(columns, String) : keys, hasValues ? ['Values'] : []);
    const body = rows.map(([index, row]) => {
      const isObject = row !== null && typeof row === 'object';
      const cells = [index].concat((columns ? Array.from(columns, String) : keys)
        .map((k) => isObject && k in row ? inspect(row[k], [], 1, 0) : ''));
      if (hasValues) cells.push(isObject ? '' : inspect(row, [], 1, 0));
      return cells;
    });
    const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)) + 2);
    const center = (s, w) => ' '.repeat(Math.floor((w - s.length) / 2)) + s + ' '.repeat(Math.ceil((w - s.length) / 2));
    const rule = (l, m, r) => l + widths.map((w) => '─'.repeat(w)).join(m) + r;
    const line = (cells) => '│' + cells.map((s, c) => center(s, widths[c])).join('│') + '│';
    print(LEVEL_INFO, [rule('┌', '┬', '┐'), line(header), rule('├', '┼', '┤')]
      .concat(body.map(line), [rule('└', '┴', '┘')]).join('\n'));
  }

  const console = {
    log(...args) { print(LEVEL_INFO, format(args)); },
    info(...args) { print(LEVEL_INFO, format(args)); },
    debug(...args) { print(LEVEL_DEBUG, format(args)); },
    warn(...args) { print(LEVEL_WARN, format(args)); },
    error(...args) { print(LEVEL_ERROR, format(args)); },
    trace(...args) {
      const frames = (new Error().stack || '').split('\n').slice(1).map((f) => '    at ' + f).join('\n');
      print(LEVEL_DEBUG, 'Trace' + (args.length ? ': ' + format(args) : '') + (frames ? '\n' + frames : ''));
    },
    assert(condition, ...data) {
      if (condition) return;
      if (typeof data[0] === 'string') data[0] = 'Assertion failed: ' + data[0];
      else data.unshift('Assertion failed');
      print(LEVEL_ERROR, format(data));
    },
    count(label) {
      const key = labelOf(label);
      const n = (counts.get(key) || 0) + 1;
      counts.set(key, n);
      print(LEVEL_INFO, key + ': ' + n);
    },
    countReset(label) {
      const key = labelOf(label);
      if (counts.has(key)) counts.set(key, 0);
      else print(LEVEL_WARN, "Count for '" + key + "' does not exist");
    },
    group(...label) {
      if (label.length) print(LEVEL_INFO, format(label));
      groupIndent += '  ';
    },
    groupCollapsed(...label) { console.group(...label); },
    groupEnd() { groupIndent = groupIndent.slice(0, -2); },
    table,
    dir(item) { print(LEVEL_INFO, show(item)); },
    dirxml(...args) { print(LEVEL_INFO, format(args)); },
    time(label) {
      const key = labelOf(label);
      const started = spanStart(key);
      if (started === false) print(LEVEL_WARN, "Timer '" + key + "' already exists");
      else if (started !== true) print(LEVEL_WARN, started);
    },
    timeLog(label, ...data) {
      const key = labelOf(label);
      const ms = spanElapsed(key, false);
      if (ms < 0) return print(LEVEL_WARN, "Timer '" + key + "' does not exist");
      print(LEVEL_INFO, key + ': ' + ms.toFixed(3) + ' ms' + (data.length ? ' ' + format(data) : ''));
    },
    timeEnd(label) {
      const key = labelOf(label);
      const ms = spanElapsed(key, true);
      if (ms < 0) return print(LEVEL_WARN, "Timer '" + key + "' does not exist");
      print(LEVEL_INFO, key + ': ' + ms.toFixed(3) + ' ms');
    },
  };
  // The standard makes console's methods own, enumerable properties of a plain namespace
  // object whose [[Prototype]] is an empty object.
  Object.defineProperty(console, Symbol.toStringTag, { value: 'console', configurable: true });
  return { console };
})
