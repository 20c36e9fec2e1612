// compression.js — the `compression` group: CompressionStream and DecompressionStream
// (Compression Streams standard; formats gzip, deflate, deflate-raw) as TransformStreams
// over the engine's zlib natives (src/engine/natives_compression.c). Output comes in
// chunks of at most 64 KiB, made only as the readable side is read, so a small bomb
// cannot fill memory. Depends on `streams`.
(function (global, natives, dependency) {
  'use strict';
  const streams = dependency('streams');
  const TransformStream = streams.TransformStream;
  const { readableWants, canEnqueue, writableSignal } = streams.internal;
  const formats = new Map([['gzip', 0], ['deflate', 1], ['deflate-raw', 2]]);
  const isShared = (buffer) => typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;

  // BufferSource (not shared) -> Uint8Array over the same bytes.
  function bytesOf(chunk, what) {
    if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
    if (ArrayBuffer.isView(chunk) && !isShared(chunk.buffer))
      return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    throw new TypeError(`${what}: chunks must be an ArrayBuffer or an ArrayBuffer view`);
  }

  function makeTransform(format, isDecompress, what) {
    const name = String(format);
    if (!formats.has(name))
      throw new TypeError(`${what}: '${name}' is not a supported format (gzip, deflate, deflate-raw)`);
    const engine = natives.open(formats.get(name), isDecompress);
    if (typeof engine === 'string') throw new RangeError(`${what}: ${engine}`);
    let ts, signal, wake;
    const fail = (problem) => {
      natives.close(engine);
      return new TypeError(`${what}: ${problem}`);
    };
    // Hands out what zlib makes from the input pushed so far, one bounded chunk at a time,
    // waiting whenever the readable side has enough (or until the writable is aborted).
    async function drain(controller, isFinal) {
      for (;;) {
        const out = natives.next(engine, isFinal);
        if (out === null) return;
        if (typeof out === 'string') throw fail(out);
        if (!canEnqueue(ts)) { natives.close(engine); return; }
        controller.enqueue(out);
        const wants = readableWants(ts);
        if (wants) {
          if (!signal) {
            signal = writableSignal(ts);
            signal.addEventListener('abort', () => { if (wake) wake(); }, { once: true });
          }
          // one fresh promise per wait: nothing piles up on a long stream
          await new Promise((resolve) => { wake = resolve; wants.then(resolve); });
          wake = undefined;
          if (signal.aborted) {
            natives.close(engine);
            return;
          }
        }
      }
    }
    ts = new TransformStream({
      transform(chunk, controller) {
        const problem = natives.push(engine, bytesOf(chunk, what));
        if (problem !== undefined) throw fail(problem);
        return drain(controller, false);
      },
      flush(controller) { return drain(controller, true); },
      cancel() { natives.close(engine); },
    });
    return ts;
  }

  class CompressionStream {
    #transform;
    constructor(format) {
      if (arguments.length < 1) throw new TypeError('CompressionStream: a format is required');
      this.#transform = makeTransform(format, false, 'CompressionStream');
    }
    static #of(self, what) {
      if (!(typeof self === 'object' && self !== null && #transform in self))
        throw new TypeError(`CompressionStream.${what}: this is not a CompressionStream`);
      return self.#transform;
    }
    get readable() { return CompressionStream.#of(this, 'readable').readable; }
    get writable() { return CompressionStream.#of(this, 'writable').writable; }
  }

  class DecompressionStream {
    #transform;
    constructor(format) {
      if (arguments.length < 1) throw new TypeError('DecompressionStream: a format is required');
      this.#transform = makeTransform(format, true, 'DecompressionStream');
    }
    static #of(self, what) {
      if (!(typeof self === 'object' && self !== null && #transform in self))
        throw new TypeError(`DecompressionStream.${what}: this is not a DecompressionStream`);
      return self.#transform;
    }
    get readable() { return DecompressionStream.#of(this, 'readable').readable; }
    get writable() { return DecompressionStream.#of(this, 'writable').writable; }
  }

  for (const cls of [CompressionStream, DecompressionStream])
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: cls.name, configurable: true });
  return { CompressionStream, DecompressionStream };
})
