# common.sh — what fetch.sh and websocket.sh share (sourced, not run): the Release build of
# bench_fetch, a loopback Node server, medians, and one side-by-side comparison printed as a
# JSON line. RUNS (default 3) alternating runs; ms = SECONDS_EACH (default 1) in ms.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${RUNS:-3}
ms=$(( ${SECONDS_EACH:-1} * 1000 ))
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target bench_fetch >&2

# start_server SCRIPT: runs `node SCRIPT`, which prints its port first; sets $port; the
# server is killed when the script exits.
start_server() {
    coproc SERVER { exec node "$1"; }
    server_pid=$SERVER_PID
    trap 'kill $server_pid 2>/dev/null || true' EXIT
    read -r port <&"${SERVER[0]}"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# compare FIELDS SNIPPET [NODE OPTION...]: the expression SNIPPET (a Promise of a number) run
# RUNS times by bench_fetch and by node, alternating; prints {FIELDS,"runs":…,"jspool":median,
# "node":median,"ratio":…,"jspool_runs":…,"node_runs":…}.
compare() {
    local fields=$1 snippet=$2
    shift 2
    local jsp=() nd=() run
    for run in $(seq 1 "$runs"); do
        jsp+=("$(build-bench/bench/bench_fetch "$port" "$snippet")")
        nd+=("$(node "$@" -e "Promise.resolve($snippet).then((v) => console.log(v))")")
    done
    awk -v f="$fields" -v j="$(median "${jsp[@]}")" -v n="$(median "${nd[@]}")" -v runs="$runs" \
        -v js="${jsp[*]}" -v ns="${nd[*]}" 'BEGIN {
        printf "{%s,\"runs\":%d,\"jspool\":%d,\"node\":%d,\"ratio\":%.2f,\"jspool_runs\":\"%s\",\"node_runs\":\"%s\"}\n",
               f, runs, j, n, j / n, js, ns }'
}
