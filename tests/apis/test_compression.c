/* The compression group: CompressionStream/DecompressionStream round trips in gzip,
 * deflate and deflate-raw at 0 B, 1 B, 64 KiB and 5 MiB; interop with data made by other
 * tools (GNU gzip 1.12, Python 3's zlib module, an RFC 1951 stored block built by hand) and
 * our gzip read back by GNU gzip; corrupt, truncated and trailing data and wrong chunk
 * types as TypeErrors; a decompression bomb coming out in bounded chunks as it is read. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

SUITE_POOL(1)
static jsp_context *ctx;

/* Helpers every test uses: hex <-> bytes, run bytes through a transform, collect output. */
static const char prelude[] =
    "globalThis.hex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));\n"
    "globalThis.toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');\n"
    "globalThis.collect = async (rs) => {\n"
    "  const parts = []; let n = 0, max = 0;\n"
    "  for await (const c of rs) {\n"
    "    if (!(c instanceof Uint8Array)) throw new Error('chunk is not a Uint8Array');\n"
    "    parts.push(c); n += c.length; max = Math.max(max, c.length);\n"
    "  }\n"
    "  const bytes = new Uint8Array(n); let at = 0;\n"
    "  for (const p of parts) { bytes.set(p, at); at += p.length; }\n"
    "  return { bytes, chunks: parts.length, max };\n"
    "};\n"
    "globalThis.through = (input, ts) => {\n"
    "  const w = ts.writable.getWriter();\n"
    "  const out = collect(ts.readable);\n"
    "  w.write(input).catch(() => {}); w.close().catch(() => {});\n"
    "  return out;\n"
    "};\n"
    "globalThis.errorOf = (p) => p.then(() => 'no error', (e) => e.name);\n"
    "globalThis.same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);\n"
    "globalThis.fox = 'The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.\\n';\n"
    /* made with: printf '%s\n' "$fox" | gzip -9 -n -c | xxd -p   (GNU gzip 1.12) */
    "globalThis.foxGzip = '1f8b08000000000002030bc94855282ccd4cce56482aca2fcf5348cbaf50c82acd2d2856c82f4b2d52"
    "28014ae72456552aa4e4a7eb298490a0980b00d2d9ff7a5a000000';\n"
    /* made with Python 3: zlib.compress(fox, 9).hex() */
    "globalThis.foxZlib = '78da0bc94855282ccd4cce56482aca2fcf5348cbaf50c82acd2d2856c82f4b2d5228014ae72456552aa4e4"
    "a7eb298490a0980b00cf0a2039';\n"
    /* made with Python 3: c = zlib.compressobj(6, zlib.DEFLATED, -15); (c.compress(fox) + c.flush()).hex() */
    "globalThis.foxRaw = '0bc94855282ccd4cce56482aca2fcf5348cbaf50c82acd2d2856c82f4b2d5228014ae72456552aa4e4a7eb"
    "298490a0980b00';\n"
    "'ok'";

static void setup(void)
{
    suite_pool_setup();
    jsp_context_config cfg = {.apis = "compression,encoding,timers", .wall_limit_ms = 120000, .cpu_limit_ms = 120000};
    cr_assert_eq(jsp_context_new(pool, &cfg, &ctx), 0);
    free(eval_ok(ctx, prelude));
}

static void teardown(void)
{
    jsp_context_free(ctx);
    suite_pool_teardown();
}

TestSuite(compression, .init = setup, .fini = teardown, .timeout = 300);

Test(compression, every_format_round_trips_0_1_64k_and_5m_bytes_in_chunks_of_at_most_64k)
{
    expect_eval(ctx, "(async () => {\n"
                "  let x = 2463534242;\n"
                "  const random = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) {\n"
                "    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; } return b; };\n"
                "  const text = (n) => new TextEncoder().encode('streams of text, '.repeat(n / 17 + 1)).slice(0, n);\n"
                "  const inputs = [new Uint8Array(0), Uint8Array.of(0x41), text(65536), random(5 << 20)];\n"
                "  const out = [];\n"
                "  for (const format of ['gzip', 'deflate', 'deflate-raw'])\n"
                "    for (const input of inputs) {\n"
                "      const c = await through(input, new CompressionStream(format));\n"
                "      const d = await through(c.bytes, new DecompressionStream(format));\n"
                "      out.push(`${format} ${input.length} ${same(d.bytes, input)} ${c.max <= 65536 && d.max <= 65536}`);\n"
                "    }\n"
                "  return out;\n"
                "})()",
                "[\"gzip 0 true true\",\"gzip 1 true true\",\"gzip 65536 true true\",\"gzip 5242880 true true\","
                "\"deflate 0 true true\",\"deflate 1 true true\",\"deflate 65536 true true\",\"deflate 5242880 true true\","
                "\"deflate-raw 0 true true\",\"deflate-raw 1 true true\",\"deflate-raw 65536 true true\","
                "\"deflate-raw 5242880 true true\"]");
    /* 5 MiB that do not compress come back in 80 chunks of 64 KiB, not one buffer */
    expect_eval(ctx, "(async () => {\n"
                "  const b = new Uint8Array(5 << 20); let x = 88172645;\n"
                "  for (let i = 0; i < b.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x; }\n"
                "  const c = await through(b, new CompressionStream('deflate-raw'));\n"
                "  const d = await through(c.bytes, new DecompressionStream('deflate-raw'));\n"
                "  return [d.chunks, d.max];\n"
                "})()",
                "[80,65536]");
}

Test(compression, chunks_may_be_any_buffer_source_and_output_is_the_standard_format)
{
    expect_eval(ctx, "(async () => {\n"
                "  const buffer = new TextEncoder().encode('xxhello worldyy').buffer;\n"
                "  const ts = new CompressionStream('gzip');\n"
                "  const w = ts.writable.getWriter();\n"
                "  const out = collect(ts.readable);\n"
                "  w.write(new DataView(buffer, 2, 5)); w.write(new Uint8Array(buffer, 7, 6).slice().buffer);\n"
                "  w.write(new Uint16Array(0)); w.close();\n"
                "  const c = (await out).bytes;\n"
                "  const d = await through(c, new DecompressionStream('gzip'));\n"
                "  const z = (await through(new Uint8Array(3), new CompressionStream('deflate'))).bytes;\n"
                "  return [new TextDecoder().decode(d.bytes), toHex(c.slice(0, 3)), z[0] === 0x78 && (z[0] * 256 + z[1]) % 31 === 0];\n"
                "})()",
                "[\"hello world\",\"1f8b08\",true]");
    /* an empty input: the same 20 bytes as `printf '' | gzip -n -c` (GNU gzip 1.12) */
    expect_eval(ctx, "through(new Uint8Array(0), new CompressionStream('gzip')).then((r) => toHex(r.bytes))",
                "\"1f8b080000000000000303000000000000000000\"");
}

Test(compression, input_split_into_one_byte_chunks_decompresses_the_same)
{
    /* 3 MiB of one repeated pattern, about 4.5 KB compressed, fed a byte at a time */
    expect_eval(ctx, "(async () => {\n"
                "  const input = new TextEncoder().encode('abcdefgh'.repeat(3 << 17));\n"
                "  const c = (await through(input, new CompressionStream('deflate'))).bytes;\n"
                "  const ds = new DecompressionStream('deflate');\n"
                "  const w = ds.writable.getWriter();\n"
                "  const out = collect(ds.readable);\n"
                "  for (let i = 0; i < c.length; i++) w.write(c.subarray(i, i + 1));\n"
                "  w.close();\n"
                "  const d = await out;\n"
                "  return [c.length < 20000, same(d.bytes, input), d.max <= 65536];\n"
                "})()",
                "[true,true,true]");
}

Test(compression, decompresses_what_gnu_gzip_python_zlib_and_a_hand_built_rfc1951_block_made)
{
    expect_eval(ctx, "(async () => {\n"
                "  const text = async (h, f) => new TextDecoder().decode((await through(hex(h), new DecompressionStream(f))).bytes);\n"
                "  return [await text(foxGzip, 'gzip') === fox, await text(foxZlib, 'deflate') === fox,\n"
                "    await text(foxRaw, 'deflate-raw') === fox,\n"
                /* RFC 1951 3.2.4: BFINAL=1 BTYPE=00, LEN=5, NLEN=~5, then the bytes */
                "    await text('0105 00faff 68656c6c6f'.replace(/ /g, ''), 'deflate-raw'),\n"
                /* GNU gzip 1.12: printf hello | gzip -n -c */
                "    await text('1f8b0800000000000003cb48cdc9c9070086a6103605000000', 'gzip')];\n"
                "})()",
                "[true,true,true,\"hello\",\"hello\"]");
}

Test(compression, gnu_gzip_reads_what_compression_stream_makes)
{
    char *json = eval_ok(ctx, "(async () => {\n"
                              "  const input = new TextEncoder().encode(fox.repeat(3000));\n"
                              "  return toHex((await through(input, new CompressionStream('gzip'))).bytes);\n"
                              "})()");
    char path[] = "/tmp/jspool_gzip_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *file = fdopen(fd, "wb");
    for (const char *h = json + 1; h[0] && h[1] && h[0] != '"'; h += 2) {
        unsigned byte;
        sscanf(h, "%2x", &byte);
        fputc((int)byte, file);
    }
    fclose(file);
    free(json);
    char command[128];
    snprintf(command, sizeof(command), "gzip -dc < %s", path);
    FILE *pipe = popen(command, "r");
    cr_assert(pipe);
    static const char fox[] = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.\n";
    size_t total = 0, mismatches = 0;
    int c;
    while ((c = fgetc(pipe)) != EOF) {
        if (c != fox[total % (sizeof(fox) - 1)])
            mismatches++;
        total++;
    }
    cr_expect_eq(pclose(pipe), 0, "gzip -d refused our output");
    unlink(path);
    cr_expect_eq(total, 3000 * (sizeof(fox) - 1));
    cr_expect_eq(mismatches, 0);
}

Test(compression, corrupt_truncated_and_trailing_data_error_the_stream_with_type_error)
{
    expect_eval(ctx, "(async () => {\n"
                "  const bad = (h, f = 'gzip') => errorOf(through(hex(h), new DecompressionStream(f)));\n"
                "  const flip = (h, at) => h.slice(0, at * 2) + ((parseInt(h.substr(at * 2, 2), 16) ^ 0xff).toString(16).padStart(2, '0')) + h.slice(at * 2 + 2);\n"
                "  return [\n"
                "    await bad(flip(foxGzip, 1)),\n"                      /* magic number */
                "    await bad(flip(foxGzip, foxGzip.length / 2 - 6)),\n" /* CRC-32 */
                "    await bad(flip(foxZlib, foxZlib.length / 2 - 1), 'deflate'),\n" /* Adler-32 */
                "    await bad(foxGzip.slice(0, -8)),\n"                   /* truncated: no ISIZE */
                "    await bad(foxRaw.slice(0, 20), 'deflate-raw'),\n"    /* truncated mid-block */
                "    await bad(''),\n"                                    /* nothing at all */
                "    await bad(foxGzip + '00'),\n"                        /* trailing byte */
                "    await bad(foxGzip + foxGzip),\n"                     /* a second member is trailing data too */
                "    await bad(foxGzip, 'deflate'),\n"                    /* wrong format */
                "    await bad(foxGzip),\n"                               /* control: fine */
                "  ];\n"
                "})()",
                "[\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\","
                "\"TypeError\",\"TypeError\",\"no error\"]");
    /* trailing data in a later chunk, and both ends of the stream see the error */
    expect_eval(ctx, "(async () => {\n"
                "  const ds = new DecompressionStream('gzip');\n"
                "  const w = ds.writable.getWriter();\n"
                "  const read = collect(ds.readable);\n"
                "  w.write(hex(foxGzip)).catch(() => {});\n"
                "  const second = w.write(Uint8Array.of(1, 2, 3));\n"
                "  return [await errorOf(second), await errorOf(read), await errorOf(w.closed)];\n"
                "})()",
                "[\"TypeError\",\"TypeError\",\"TypeError\"]");
}

Test(compression, chunks_that_are_not_buffer_sources_error_with_type_error)
{
    expect_eval(ctx, "(async () => {\n"
                "  const out = [];\n"
                "  for (const chunk of ['text', 42, [1, 2], { length: 1 }, null, undefined]) {\n"
                "    const cs = new CompressionStream('deflate');\n"
                "    const w = cs.writable.getWriter();\n"
                "    const read = errorOf(cs.readable.getReader().read());\n"
                "    out.push(await errorOf(w.write(chunk)), await read);\n"
                "  }\n"
                "  return out;\n"
                "})()",
                "[\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\","
                "\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\"]");
}

Test(compression, unknown_formats_are_type_errors)
{
    expect_eval(ctx, "['zip', 'GZIP', 'brotli', undefined, ''].flatMap((f) => [CompressionStream, DecompressionStream].map((C) => {\n"
                "  try { new C(f); return 'made'; } catch (e) { return e.name; }\n"
                "})).concat((() => { try { new CompressionStream(); return 'made' } catch (e) { return e.name } })())",
                "[\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\","
                "\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\"]");
}

static long resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

Test(compression, a_decompression_bomb_is_inflated_only_as_far_as_it_is_read)
{
    /* 512 MiB of zeros, about 0.5 MiB compressed */
    free(eval_ok(ctx, "(async () => {\n"
                      "  const cs = new CompressionStream('gzip');\n"
                      "  const w = cs.writable.getWriter();\n"
                      "  const out = collect(cs.readable);\n"
                      "  const zeros = new Uint8Array(1 << 20);\n"
                      "  for (let i = 0; i < 512; i++) await w.write(zeros);\n"
                      "  w.close();\n"
                      "  globalThis.bomb = (await out).bytes;\n"
                      "  return bomb.length;\n"
                      "})()"));
    long before = resident_bytes();
    expect_eval(ctx, "(async () => {\n"
                "  const ds = new DecompressionStream('gzip');\n"
                "  const w = ds.writable.getWriter();\n"
                "  const written = w.write(bomb);\n"
                "  await new Promise((r) => setTimeout(r, 50));\n"
                "  const reader = ds.readable.getReader();\n"
                "  const sizes = [];\n"
                "  for (let i = 0; i < 4; i++) sizes.push((await reader.read()).value.length);\n"
                "  const aborted = w.abort(new RangeError('enough'));\n"
                "  return [sizes, await errorOf(reader.read()), await errorOf(aborted), await errorOf(written)];\n"
                "})()",
                "[[65536,65536,65536,65536],\"RangeError\",\"no error\",\"no error\"]");
    long grown = resident_bytes() - before;
    cr_expect_lt(grown, 64L << 20, "resident memory grew by %ld bytes", grown);
    /* read to the end, it is all there */
    expect_eval(ctx, "(async () => {\n"
                "  let n = 0, max = 0;\n"
                "  for await (const c of new ReadableStream({ start(k) { k.enqueue(bomb); k.close(); } })\n"
                "      .pipeThrough(new DecompressionStream('gzip'))) { n += c.length; max = Math.max(max, c.length); }\n"
                "  return [n, max];\n"
                "})()",
                "[536870912,65536]");
}
