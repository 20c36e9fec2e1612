#!/usr/bin/env bash
# run.sh — builds the benchmarks in Release (build-bench/), runs each RUNS times
# (interleaved, so a noisy minute does not hit one benchmark only), writes the JSON lines
# to bench/out/contexts.jsonl and bench/out/calls.jsonl, and prints a markdown summary of
# the medians over runs (also saved as bench/out/summary.md).
#
#   bench/run.sh                      # RUNS=3, N = 1000 10000
#   RUNS=5 COUNTS="1000" CALLS_ARGS="--async-calls 500000" bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
counts=${COUNTS:-"1000 10000"}
calls_args=${CALLS_ARGS:-}

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target bench_contexts bench_calls bench_limits >&2

mkdir -p bench/out
contexts_out=bench/out/contexts.jsonl
calls_out=bench/out/calls.jsonl
: >"$contexts_out"
: >"$calls_out"

# Prefixes every JSON line with the run number.
tag_run() { sed "s/^{/{\"run\":$1,/"; }

for run in $(seq 1 "$runs"); do
    echo "== run $run/$runs: bench_contexts $counts" >&2
    # shellcheck disable=SC2086
    build-bench/bench/bench_contexts $counts | tag_run "$run" | tee -a "$contexts_out" >&2
    echo "== run $run/$runs: bench_calls $calls_args" >&2
    # shellcheck disable=SC2086
    build-bench/bench/bench_calls $calls_args | tag_run "$run" | tee -a "$calls_out" >&2
    echo "== run $run/$runs: bench_calls --limits none $calls_args" >&2
    # shellcheck disable=SC2086
    build-bench/bench/bench_calls --limits none $calls_args | tag_run "$run" | tee -a "$calls_out" >&2
done

echo "== bench_limits" >&2
build-bench/bench/bench_limits --runs 9 | tee bench/out/limits.jsonl >&2

{
    echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr); runs per configuration: $runs."
    echo
    awk -f bench/summarize.awk "$contexts_out" "$calls_out"
    echo "### Limits (bench_limits, 9 runs each)"
    echo
    sed 's/^/    /' bench/out/limits.jsonl
} | tee bench/out/summary.md
