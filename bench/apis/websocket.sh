#!/usr/bin/env bash
# websocket.sh — WebSocket echo round trips against a loopback echo server
# (bench/apis/ws_echo_server.js, Node's http upgrade with hand-written framing), by
# jspool's websocket group (bench_fetch: one runtime) and by Node 20's WebSocket (undici,
# --experimental-websocket), side by side in one run: one socket, 1 and 64 messages in
# flight, SECONDS each, RUNS alternating runs; medians and the ratio as JSON lines.
#   usage: bench/apis/websocket.sh        (RUNS=3 SECONDS_EACH=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
ms=$(( ${SECONDS_EACH:-1} * 1000 ))
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target bench_fetch >&2

coproc SERVER { exec node bench/apis/ws_echo_server.js; }
server_pid=$SERVER_PID
trap 'kill $server_pid 2>/dev/null || true' EXIT
read -r port <&"${SERVER[0]}"

# K messages kept in flight on one socket until MS passed: round trips per second.
snippet() {
    echo "new Promise((resolve, reject) => { const ws = new WebSocket('ws://127.0.0.1:$port/');" \
         "let sent = 0, got = 0, t = 0; const msg = 'x'.repeat(32);" \
         "ws.onopen = () => { t = Date.now(); for (; sent < $1; sent++) ws.send(msg); };" \
         "ws.onmessage = () => { got++; if (Date.now() - t < $ms) { ws.send(msg); sent++; }" \
         " else if (got === sent) { const rate = Math.round(got / ((Date.now() - t) / 1000)); ws.close(); resolve(rate); } };" \
         "ws.onerror = () => reject(new Error('websocket error')); })"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for inflight in 1 64; do
    s=$(snippet "$inflight")
    jsp=(); nd=()
    for run in $(seq 1 "$runs"); do
        jsp+=("$(build-bench/bench/bench_fetch "$port" "$s")")
        nd+=("$(node --experimental-websocket --no-warnings -e "Promise.resolve($s).then((v) => console.log(v))")")
    done
    j=$(median "${jsp[@]}"); n=$(median "${nd[@]}")
    awk -v k="$inflight" -v j="$j" -v n="$n" -v runs="$runs" -v js="${jsp[*]}" -v ns="${nd[*]}" 'BEGIN {
        printf "{\"bench\":\"websocket_echo_vs_node\",\"in_flight\":%d,\"unit\":\"round trips/s\",\"runs\":%d,\"jspool\":%d,\"node\":%d,\"ratio\":%.2f,\"jspool_runs\":\"%s\",\"node_runs\":\"%s\"}\n", k, runs, j, n, j / n, js, ns }'
done
