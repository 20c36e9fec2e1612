#!/usr/bin/env bash
# fetch.sh — fetch of a small JSON response from a loopback server (bench/apis/fetch_server.js,
# Node's http), by jspool's fetch group (bench_fetch: one runtime) and by Node 20's fetch
# (undici), side by side in one run: requests/s with 1 and 64 requests in flight, SECONDS
# each, then a streamed download of DOWNLOAD_MB (default 100) MiB read chunk by chunk from
# response.body (MB/s); RUNS alternating runs; medians and the ratio as JSON lines.
#   usage: bench/apis/fetch.sh        (RUNS=3 SECONDS_EACH=1)
source "$(dirname "$0")/common.sh"
start_server bench/apis/fetch_server.js

# K workers, each fetching and reading the JSON until MS passed: requests per second. 50
# requests first, untimed (Node loads undici on its first fetch; both warm their JIT and
# open their connections).
snippet() {
    echo "(async () => { const url = 'http://127.0.0.1:$port/';" \
         "await Promise.all(Array.from({ length: $1 }, async () => { for (let i = 0; i < 50 / $1 + 1; i++) await (await fetch(url)).json(); }));" \
         "let n = 0; const t = Date.now();" \
         "const worker = async () => { while (Date.now() - t < $ms) { const r = await fetch(url); await r.json(); n++; } };" \
         "await Promise.all(Array.from({ length: $1 }, worker)); return Math.round(n / ((Date.now() - t) / 1000)); })()"
}

for inflight in 1 64; do
    compare "\"bench\":\"fetch_vs_node\",\"in_flight\":$inflight,\"unit\":\"req/s\"" "$(snippet "$inflight")"
done

# A streamed download: the body read chunk by chunk, bytes counted; MB/s (one warm-up of 8 MiB).
mb=${DOWNLOAD_MB:-100}
download="(async () => { const read = async (n) => { const r = await fetch('http://127.0.0.1:$port/big?mb=' + n);"
download+=" const reader = r.body.getReader(); let bytes = 0; for (;;) { const { done, value } = await reader.read();"
download+=" if (done) return bytes; bytes += value.length; } }; await read(8); const t = Date.now();"
download+=" const bytes = await read($mb); if (bytes !== $mb * 1048576) throw new Error('got ' + bytes);"
download+=" return Math.round(bytes / 1048576 / ((Date.now() - t) / 1000)); })()"
compare "\"bench\":\"fetch_download_vs_node\",\"mib\":$mb,\"unit\":\"MB/s\"" "$download"
