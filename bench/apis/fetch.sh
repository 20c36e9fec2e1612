#!/usr/bin/env bash
# fetch.sh — fetch of a small JSON response from a loopback server (bench/apis/fetch_server.js,
# Node's http), by jspool's fetch group (bench_fetch: one runtime) and by Node 20's fetch
# (undici), side by side in one run: requests/s with 1 and 64 requests in flight, SECONDS
# each, RUNS alternating runs; medians and the ratio as JSON lines.
#   usage: bench/apis/fetch.sh        (RUNS=3 SECONDS_EACH=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
ms=$(( ${SECONDS_EACH:-1} * 1000 ))
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target bench_fetch >&2

coproc SERVER { exec node bench/apis/fetch_server.js; }
server_pid=$SERVER_PID
trap 'kill $server_pid 2>/dev/null || true' EXIT
read -r port <&"${SERVER[0]}"

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
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for inflight in 1 64; do
    s=$(snippet "$inflight")
    jsp=(); nd=()
    for run in $(seq 1 "$runs"); do
        jsp+=("$(build-bench/bench/bench_fetch "$port" "$s")")
        nd+=("$(node -e "Promise.resolve($s).then((v) => console.log(v))")")
    done
    j=$(median "${jsp[@]}"); n=$(median "${nd[@]}")
    awk -v k="$inflight" -v j="$j" -v n="$n" -v runs="$runs" -v js="${jsp[*]}" -v ns="${nd[*]}" 'BEGIN {
        printf "{\"bench\":\"fetch_vs_node\",\"in_flight\":%d,\"unit\":\"req/s\",\"runs\":%d,\"jspool\":%d,\"node\":%d,\"ratio\":%.2f,\"jspool_runs\":\"%s\",\"node_runs\":\"%s\"}\n", k, runs, j, n, j / n, js, ns }'
done
