// performance.js — the `performance` group (in the default set): performance.now(),
// timeOrigin and the User Timing marks and measures (mark, measure, getEntries,
// getEntriesByName, getEntriesByType, clearMarks, clearMeasures), per the W3C High
// Resolution Time and User Timing specs. Times come from the context's own clock (C,
// natives_performance.c): milliseconds since the context was created, monotonic, floored
// to 100 µs as browsers coarsen them without cross-origin isolation. The entry buffer
// holds at most MAX_ENTRIES marks and measures; past it the oldest entry is dropped (a
// long-lived context that marks every call and never clears keeps working in bounded
// memory). Not here: PerformanceObserver, resource/navigation timing, events
// (Performance is not an EventTarget), and `detail` is kept as given, not cloned.
(function (global, natives, dependency) {
  'use strict';
  const nativeNow = natives.now;
  const timeOrigin = natives.timeOrigin;
  const MAX_ENTRIES = 1000;
  const internal = Symbol('internal');
  const isFinite = Number.isFinite;
  const ArrayPrototypeFilter = Array.prototype.filter, ArrayPrototypeSort = Array.prototype.sort;
  const ArrayPrototypeSplice = Array.prototype.splice;
  const call = Function.prototype.call.bind(Function.prototype.call);
  const entries = []; // marks and measures, in the order they were made

  const syntaxError = (message) => new (dependency('domexception').DOMException)(message, 'SyntaxError');

  function needArguments(count, given, what) {
    if (given < count)
      throw new TypeError(`${what}: ${count} argument${count > 1 ? 's' : ''} required, but only ${given} present.`);
  }

  // A DOMHighResTimeStamp argument: a finite double (WebIDL `double`), not negative.
  function timestamp(value, what) {
    const number = +value;
    if (!isFinite(number)) throw new TypeError(`${what} must be a finite number`);
    if (number < 0) throw new TypeError(`${what} cannot be negative`);
    return number;
  }

  function buffer(entry) {
    if (entries.length >= MAX_ENTRIES) call(ArrayPrototypeSplice, entries, 0, entries.length - MAX_ENTRIES + 1);
    entries[entries.length] = entry;
  }

  class PerformanceEntry {
    #name; #entryType; #startTime; #duration;
    constructor(token, name, entryType, startTime, duration) {
      if (token !== internal) throw new TypeError('Illegal constructor');
      this.#name = name;
      this.#entryType = entryType;
      this.#startTime = startTime;
      this.#duration = duration;
    }
    get name() { return this.#name; }
    get entryType() { return this.#entryType; }
    get startTime() { return this.#startTime; }
    get duration() { return this.#duration; }
    toJSON() {
      return { name: this.#name, entryType: this.#entryType, startTime: this.#startTime, duration: this.#duration };
    }
  }

  function readDetail(options) {
    const detail = options.detail;
    return detail === undefined ? null : detail;
  }

  class PerformanceMark extends PerformanceEntry {
    #detail;
    constructor(markName, markOptions = undefined) {
      needArguments(1, arguments.length, "Failed to construct 'PerformanceMark'");
      const name = `${markName}`;
      let startTime, detail = null;
      if (markOptions !== undefined && markOptions !== null) {
        if (typeof markOptions !== 'object' && typeof markOptions !== 'function')
          throw new TypeError("Failed to construct 'PerformanceMark': options must be an object");
        detail = readDetail(markOptions);
        if (markOptions.startTime !== undefined) startTime = timestamp(markOptions.startTime, 'startTime');
      }
      super(internal, name, 'mark', startTime === undefined ? nativeNow() : startTime, 0);
      this.#detail = detail;
    }
    get detail() { return this.#detail; }
    toJSON() { const json = super.toJSON(); json.detail = this.#detail; return json; }
  }

  class PerformanceMeasure extends PerformanceEntry {
    #detail;
    constructor(token, name, startTime, duration, detail) {
      super(token, name, 'measure', startTime, duration);
      this.#detail = detail;
    }
    get detail() { return this.#detail; }
    toJSON() { const json = super.toJSON(); json.detail = this.#detail; return json; }
  }

  // User Timing "convert a mark to a timestamp": the newest mark of that name, or a number.
  function markTime(mark, what) {
    if (typeof mark === 'number') return timestamp(mark, what);
    const name = `${mark}`;
    for (let i = entries.length - 1; i >= 0; i--)
      if (entries[i].entryType === 'mark' && entries[i].name === name) return entries[i].startTime;
    throw syntaxError(`Failed to execute 'measure' on 'Performance': The mark '${name}' does not exist.`);
  }

  function byStartTime(list) {
    return call(ArrayPrototypeSort, list, (a, b) => a.startTime - b.startTime);
  }

  class Performance {
    constructor(token) {
      if (token !== internal) throw new TypeError('Illegal constructor');
    }
    now() { return nativeNow(); }
    get timeOrigin() { return timeOrigin; }
    toJSON() { return { timeOrigin }; }

    mark(markName, markOptions = undefined) {
      needArguments(1, arguments.length, "Failed to execute 'mark' on 'Performance'");
      const entry = new PerformanceMark(markName, markOptions);
      buffer(entry);
      return entry;
    }

    measure(measureName, startOrMeasureOptions = undefined, endMark = undefined) {
      needArguments(1, arguments.length, "Failed to execute 'measure' on 'Performance'");
      const name = `${measureName}`;
      const options = startOrMeasureOptions !== null && typeof startOrMeasureOptions === 'object'
        ? startOrMeasureOptions : null;
      let start, end, duration, detail = null;
      if (options) {
        start = options.start; end = options.end; duration = options.duration;
        detail = readDetail(options);
        const given = start !== undefined || end !== undefined || duration !== undefined || options.detail !== undefined;
        if (given && endMark !== undefined)
          throw new TypeError("Failed to execute 'measure' on 'Performance': options and endMark cannot both be given");
        if (given && start === undefined && end === undefined)
          throw new TypeError("Failed to execute 'measure' on 'Performance': options need a start or an end");
        if (start !== undefined && end !== undefined && duration !== undefined)
          throw new TypeError("Failed to execute 'measure' on 'Performance': start, end and duration cannot all be given");
      }
      let endTime, startTime;
      if (endMark !== undefined) endTime = markTime(endMark, 'endMark');
      else if (options && end !== undefined) endTime = markTime(end, 'end');
      else if (options && start !== undefined && duration !== undefined)
        endTime = markTime(start, 'start') + timestamp(duration, 'duration');
      else endTime = nativeNow();
      if (options && start !== undefined) startTime = markTime(start, 'start');
      else if (options && duration !== undefined && end !== undefined)
        startTime = endTime - timestamp(duration, 'duration');
      else if (!options && startOrMeasureOptions !== undefined) startTime = markTime(startOrMeasureOptions, 'startMark');
      else startTime = 0;
      const entry = new PerformanceMeasure(internal, name, startTime, endTime - startTime, detail);
      buffer(entry);
      return entry;
    }

    getEntries() { return byStartTime(call(ArrayPrototypeFilter, entries, () => true)); }
    getEntriesByType(type) {
      needArguments(1, arguments.length, "Failed to execute 'getEntriesByType' on 'Performance'");
      const t = `${type}`;
      return byStartTime(call(ArrayPrototypeFilter, entries, (e) => e.entryType === t));
    }
    getEntriesByName(name, type = undefined) {
      needArguments(1, arguments.length, "Failed to execute 'getEntriesByName' on 'Performance'");
      const n = `${name}`, t = type === undefined ? undefined : `${type}`;
      return byStartTime(call(ArrayPrototypeFilter, entries,
                              (e) => e.name === n && (t === undefined || e.entryType === t)));
    }
    clearMarks(markName = undefined) { clear('mark', markName); }
    clearMeasures(measureName = undefined) { clear('measure', measureName); }
  }

  function clear(type, name) {
    const n = name === undefined ? undefined : `${name}`;
    let kept = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.entryType !== type || (n !== undefined && e.name !== n)) entries[kept++] = e;
    }
    entries.length = kept;
  }

  for (const cls of [Performance, PerformanceEntry, PerformanceMark, PerformanceMeasure])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });

  const performance = new Performance(internal);
  return { performance, Performance, PerformanceEntry, PerformanceMark, PerformanceMeasure };
})
