#!/usr/bin/env bash
# vmtraps.sh — counts how often `jspool serve` of the bank module dies under load, the
# reproduction of JSC's VMTraps race (src/engine/engine_budget.c, TICK_SECONDS): RUNS
# short runs of wrk against a fresh server each, one line per run that died (with its exit
# status: 134 = SIGABRT) and a JSON summary. The race needs CPU contention: run it on a
# loaded machine (other builds, tests); an idle one rarely shows it.
#
#   bench/server/vmtraps.sh                     # RUNS=10, 4 s each, 64 connections
#   RUNS=30 SECONDS_EACH=4 JSPOOL=/path/to/jspool bench/server/vmtraps.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

runs=${RUNS:-10}
seconds=${SECONDS_EACH:-4}
connections=${CONNECTIONS:-64}
port=${PORT:-18090}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
source bench/server/jspool_build.sh
mkdir -p bench/out
died=0
for run in $(seq 1 "$runs"); do
    data=$(mktemp -d)
    "$jspool" serve bench/server/bank.js --data "$data" --threads 2 --listen 127.0.0.1:$port --supervise 0 \
        >/dev/null 2>bench/out/vmtraps-run.log &
    jsp=$!
    sleep 0.5
    curl -sf -X POST "http://127.0.0.1:$port/v1/contexts/bank/call/open" -d '["alice",1000000]' >/dev/null
    curl -sf -X POST "http://127.0.0.1:$port/v1/contexts/bank/call/open" -d '["bob",1000000]' >/dev/null
    wrk -t2 -c"$connections" -d"${seconds}s" -s bench/server/transfer.lua "http://127.0.0.1:$port" >/dev/null 2>&1
    if kill -TERM "$jsp" 2>/dev/null; then
        wait "$jsp" 2>/dev/null
    else
        status=0; wait "$jsp" 2>/dev/null || status=$?
        died=$((died + 1))
        echo "run $run: jspool serve died with status $status" >&2
    fi
    rm -rf "$data"
done
printf '{"bench":"vmtraps_serve","runs":%d,"seconds_each":%d,"connections":%d,"died":%d,"load":"%s"}\n' \
    "$runs" "$seconds" "$connections" "$died" "$(cut -d' ' -f1-3 /proc/loadavg)"
