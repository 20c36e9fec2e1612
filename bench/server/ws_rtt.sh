#!/usr/bin/env bash
# ws_rtt.sh — WebSocket echo against `jspool serve bench/server/ws_echo.js` and against
# Node.js 20 with `ws` (npm, node_ws_echo.js), taking turns RUNS times on one machine:
# round trips one at a time on one socket (ws_rtt.py: median, p99, round trips/s), then
# messages/s with 40 in flight on one socket (ws_calls, message mode; node ignores the path). Prints each run,
# the medians and jspool / Node.
#
#   bench/server/ws_rtt.sh              # RUNS=3, N=5000 round trips, 5 s of throughput
#   JSPOOL=/path/to/jspool bench/server/ws_rtt.sh   # another build's server (e.g. before a change)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
n=${N:-5000}
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is not installed" >&2; exit 2; }
(cd bench/server && npm install --no-audit --no-fund --silent >&2)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target jspool_cli ws_calls >&2
ws_calls=$(find build-bench -name ws_calls -type f -perm -u+x | head -1)
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
results=$(mktemp)

one_run() { # name port path
    local rtt calls
    rtt=$(python3 bench/server/ws_rtt.py 127.0.0.1 "$2" "$3" "$n")
    calls=$("$ws_calls" "$2" ws_echo - '{"i":1}' 40 5 2>&1 | grep -o '[0-9.]* calls/s' | cut -d' ' -f1 || true)
    echo "$1 $rtt; 40 in flight: ${calls:-?} messages/s" | tee -a "$results"
}

for run in $(seq 1 "$runs"); do
    "${JSPOOL:-build-bench/jspool}" serve bench/server/ws_echo.js --data "$data" --listen 127.0.0.1:18090 >/dev/null 2>&1 &
    jsp=$!
    sleep 0.5
    one_run jspool 18090 /v1/contexts/ws_echo/ws
    if ! kill -TERM "$jsp" 2>/dev/null; then # it died under load: say so, not a silent stop
        status=0; wait "$jsp" || status=$?
        echo "jspool serve exited with status $status during run $run" >&2
        exit 1
    fi
    wait "$jsp" || true
    node bench/server/node_ws_echo.js 18091 &
    nd=$!
    sleep 0.5
    one_run node 18091 /
    kill "$nd"; wait "$nd" 2>/dev/null || true
done

awk '
    function median(a, n,    i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    { s = $1; med[s, ++k[s]] = $7; rate[s, k[s]] = $12 + 0; tput[s, k[s]] = $(NF - 1) }
    END {
        for (s in k) { n = k[s]; for (i = 1; i <= n; i++) { a[i] = med[s, i]; b[i] = rate[s, i]; c[i] = tput[s, i] }
            m[s] = median(a, n); r[s] = median(b, n); t[s] = median(c, n)
            printf "%s: median round trip %.3f ms, %.0f round trips/s, %.0f messages/s at 40 in flight (median of %d)\n", s, m[s], r[s], t[s], n }
        if (r["node"] > 0 && t["node"] > 0)
            printf "jspool / node: round trips/s %.2fx, messages/s at 40 in flight %.2fx\n", r["jspool"] / r["node"], t["jspool"] / t["node"] }' "$results"
