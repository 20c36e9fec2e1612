#!/usr/bin/env bash
# vs_node.sh — throughput of the web-API groups against Node.js on the same machine
# (issue 4): the same JS snippet runs for ~1 s in `jspool eval --apis all` and in `node -e`,
# each reporting MB/s (or ops/s); RUNS alternating runs, medians and the ratio printed as
# JSON lines.  usage: bench/apis/vs_node.sh   (RUNS=3; CASES=name,name runs only those;
# WARM=1 runs each snippet once untimed first, in the same process, and reports the second:
# the engines' steady state rather than their warm-up)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target jspool_cli >&2

# name|unit|snippet evaluating to the rate, or to a promise of it (`jspool eval` awaits it;
# node gets it through Promise.resolve). Node's web crypto is globalThis.crypto.subtle.
# url_parse_warm is url_parse after 200,000 untimed parses: steady-state throughput, where a
# loaded machine otherwise measures how soon each engine's JIT got CPU (issue 13).
cases=(
"utf8_encode_decode|MB/s|(() => { const s = 'h\u00e9llo w\u00f6rld \u20ac ascii text '.repeat(40000); const e = new TextEncoder(), d = new TextDecoder(); const bytes = e.encode(s).length; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { d.decode(e.encode(s)); n++; } return n * bytes / 1e6 / ((Date.now() - t) / 1000); })()"
"base64_btoa_atob|MB/s|(() => { const s = 'abcdefghij\u00ff'.repeat(50000); let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { atob(btoa(s)); n++; } return n * s.length / 1e6 / ((Date.now() - t) / 1000); })()"
"message_channel|kmsg/s|(async () => { const { port1, port2 } = new MessageChannel(); const msg = { a: [1, 2, 3], s: 'x'.repeat(50) }; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { await new Promise((r) => { let k = 0; port2.onmessage = () => { if (++k === 1000) r(); }; for (let i = 0; i < 1000; i++) port1.postMessage(msg); }); n += 1000; } port1.close(); port2.close(); return n / 1e3 / ((Date.now() - t) / 1000); })()"
"broadcast_channel|kmsg/s|(async () => { const a = new BroadcastChannel('bench'), b = new BroadcastChannel('bench'); const msg = { a: [1, 2, 3], s: 'x'.repeat(50) }; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { await new Promise((r) => { let k = 0; b.onmessage = () => { if (++k === 1000) r(); }; for (let i = 0; i < 1000; i++) a.postMessage(msg); }); n += 1000; } a.close(); b.close(); return n / 1e3 / ((Date.now() - t) / 1000); })()"
"gzip_roundtrip|MB/s|(async () => { const line = (i) => '{\"id\":' + i + ',\"name\":\"user' + (i % 97) + '\",\"ok\":' + (i % 3 === 0) + ',\"score\":' + ((i * 7919) % 1000) + '}\\n'; let text = ''; for (let i = 0; text.length < (1 << 20); i++) text += line(i); const input = new TextEncoder().encode(text).slice(0, 1 << 20); const run = async (bytes, ts) => { const w = ts.writable.getWriter(); w.write(bytes); w.close(); const parts = []; let n = 0; for await (const c of ts.readable) { parts.push(c); n += c.length; } const out = new Uint8Array(n); let at = 0; for (const p of parts) { out.set(p, at); at += p.length; } return out; }; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { const c = await run(input, new CompressionStream('gzip')); const d = await run(c, new DecompressionStream('gzip')); if (d.length !== input.length) throw new Error('round trip lost bytes'); n++; } return n * input.length / 1e6 / ((Date.now() - t) / 1000); })()"
"structured_clone|kops/s|(() => { const o = { a: [1, 2, 3, { b: 'x'.repeat(50) }], m: new Map([[1, 2]]), d: new Date(0) }; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { structuredClone(o); n++; } return n / 1e3 / ((Date.now() - t) / 1000); })()"
"sha256_digest|MB/s|(async () => { const b = new Uint8Array(1 << 20).fill(7); const subtle = globalThis.crypto.subtle; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { await subtle.digest('SHA-256', b); n++; } return n * b.length / 1e6 / ((Date.now() - t) / 1000); })()"
"hmac_sign|kops/s|(async () => { const subtle = globalThis.crypto.subtle; const key = await subtle.importKey('raw', new Uint8Array(32).fill(1), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']); const m = new Uint8Array(64).fill(2); let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { await subtle.sign('HMAC', key, m); n++; } return n / 1e3 / ((Date.now() - t) / 1000); })()"
"await_loop|kawait/s|(async () => { let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { for (let i = 0; i < 1000; i++) await null; n += 1000; } return n / 1e3 / ((Date.now() - t) / 1000); })()"
"url_parse|kURL/s|(() => { const urls = ['https://example.com/', 'https://www.example.org/path/to/page.html?query=1&sort=desc#section', 'http://user:pass@api.example.net:8080/v1/items/42', 'https://cdn.example.com/assets/img/logo.png?v=3', '/relative/path?x=y', 'https://sub.domain.example.co.uk/a/b/../c/./d', 'http://192.168.0.1:3000/health', 'https://search.example.com/s?q=hello+world&lang=en&page=2']; const base = 'https://base.example.com/dir/'; let n = 0, sink = 0; const t = Date.now(); while (Date.now() - t < 1000) { for (let i = 0; i < 8; i++) sink += new URL(urls[i], base).href.length; n += 8; } return n / 1e3 / ((Date.now() - t) / 1000); })()"
"url_parse_warm|kURL/s|(() => { const urls = ['https://example.com/', 'https://www.example.org/path/to/page.html?query=1&sort=desc#section', 'http://user:pass@api.example.net:8080/v1/items/42', 'https://cdn.example.com/assets/img/logo.png?v=3', '/relative/path?x=y', 'https://sub.domain.example.co.uk/a/b/../c/./d', 'http://192.168.0.1:3000/health', 'https://search.example.com/s?q=hello+world&lang=en&page=2']; const base = 'https://base.example.com/dir/'; let n = 0, sink = 0; for (let r = 0; r < 25000; r++) for (let i = 0; i < 8; i++) sink += new URL(urls[i], base).href.length; const t = Date.now(); while (Date.now() - t < 1000) { for (let i = 0; i < 8; i++) sink += new URL(urls[i], base).href.length; n += 8; } return n / 1e3 / ((Date.now() - t) / 1000); })()"
)

for entry in "${cases[@]}"; do
    IFS='|' read -r name unit snippet <<<"$entry"
    [[ -z "${CASES:-}" || ",$CASES," == *",$name,"* ]] || continue
    [[ "${WARM:-0}" == 1 ]] && snippet="(async () => { const once = () => $snippet; await once(); return once(); })()"
    jsp=(); nd=()
    for run in $(seq 1 "$runs"); do
        jsp+=("$(build-bench/jspool eval --apis all "$snippet")")
        nd+=("$(node -e "Promise.resolve($snippet).then((v) => console.log(v))")")
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
    j=$(median "${jsp[@]}"); n=$(median "${nd[@]}")
    awk -v name="$name" -v warm="${WARM:-0}" -v unit="$unit" -v j="$j" -v n="$n" -v runs="$runs" 'BEGIN {
        printf "{\"bench\":\"apis_vs_node\",\"case\":\"%s\",\"warm\":%s,\"unit\":\"%s\",\"runs\":%d,\"jspool\":%.1f,\"node\":%.1f,\"ratio\":%.2f}\n", name, warm == 1 ? "true" : "false", unit, runs, j, n, j / n }'
done
