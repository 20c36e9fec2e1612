#!/usr/bin/env bash
# websocket.sh — WebSocket echo round trips against a loopback echo server
# (bench/apis/ws_echo_server.js, Node's http upgrade with hand-written framing), by
# jspool's websocket group (bench_fetch: one runtime) and by Node 20's WebSocket (undici,
# --experimental-websocket), side by side in one run: one socket, 1 and 64 messages in
# flight, SECONDS each, RUNS alternating runs; medians and the ratio as JSON lines.
#   usage: bench/apis/websocket.sh        (RUNS=3 SECONDS_EACH=1)
source "$(dirname "$0")/common.sh"
start_server bench/apis/ws_echo_server.js

# K messages kept in flight on one socket until MS passed: round trips per second.
snippet() {
    echo "new Promise((resolve, reject) => { const ws = new WebSocket('ws://127.0.0.1:$port/');" \
         "let sent = 0, got = 0, t = 0; const msg = 'x'.repeat(32);" \
         "ws.onopen = () => { t = Date.now(); for (; sent < $1; sent++) ws.send(msg); };" \
         "ws.onmessage = () => { got++; if (Date.now() - t < $ms) { ws.send(msg); sent++; }" \
         " else if (got === sent) { const rate = Math.round(got / ((Date.now() - t) / 1000)); ws.close(); resolve(rate); } };" \
         "ws.onerror = () => reject(new Error('websocket error')); })"
}

for inflight in 1 64; do
    compare "\"bench\":\"websocket_echo_vs_node\",\"in_flight\":$inflight,\"unit\":\"round trips/s\"" \
        "$(snippet "$inflight")" --experimental-websocket --no-warnings
done
