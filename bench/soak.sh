#!/usr/bin/env bash
# soak.sh — the long-lived-runtime benchmark (issue 3): 10 million calls on one runtime
# with per-call scopes on, the same first 100k calls with scopes on and off (the debug
# switch), then a plot. Writes bench/out/soak-*.jsonl and bench/out/soak.png; the README
# quotes the summary lines and shows docs/img/soak.png (copy it there to publish).
#
#   bench/soak.sh                   # ~3 min on the 2-core machine
#   CALLS=1000000 bench/soak.sh     # shorter
set -euo pipefail
cd "$(dirname "$0")/.."

calls=${CALLS:-10000000}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target bench_soak >&2
mkdir -p bench/out

soak=build-bench/bench/bench_soak
if [ -z "${PLOT_ONLY:-}" ]; then  # PLOT_ONLY=1 redraws from the last run's files
echo "== $calls calls, scopes on" >&2
$soak --calls "$calls" --window 100000 | tee bench/out/soak-long.jsonl >&2
echo "== 100k calls, scopes on and off" >&2
$soak --calls 100000 --window 10000 --warmup-windows 1 | tee bench/out/soak-short-on.jsonl >&2
$soak --calls 100000 --window 10000 --warmup-windows 1 --no-scopes | tee bench/out/soak-short-off.jsonl >&2
fi

# JSON lines -> whitespace columns for gnuplot: calls p50 p99 rss heap_capacity.
columns() {
    grep '"bench":"soak"' "$1" |
        sed -E 's/.*"calls":([0-9]+),"p50_us":([0-9.]+),"p99_us":([0-9.]+),"rss_mb":([0-9.]+),"heap_capacity_mb":([0-9.]+).*/\1 \2 \3 \4 \5/'
}
columns bench/out/soak-long.jsonl >bench/out/soak-long.dat
columns bench/out/soak-short-on.jsonl >bench/out/soak-short-on.dat
columns bench/out/soak-short-off.jsonl >bench/out/soak-short-off.dat

if command -v gnuplot >/dev/null; then
    gnuplot <<'PLOT'
set terminal pngcairo size 1400,900 font ",11"
set output "bench/out/soak.png"
set multiplot layout 2,2 title "jspool soak: one runtime, a reducer leaving garbage and an open console.time span per call"
set key top left
set grid
set xlabel "calls (millions)"
set ylabel "latency per window (us)"
set title "scopes on: latency over the long run"
plot "bench/out/soak-long.dat" using ($1/1e6):2 with linespoints title "p50", \
     "" using ($1/1e6):3 with linespoints title "p99"
set ylabel "MB"
set key bottom right
set title "scopes on: memory over the long run"
set yrange [0:*]
plot "bench/out/soak-long.dat" using ($1/1e6):4 with linespoints title "process RSS", \
     "" using ($1/1e6):5 with linespoints title "VM heap capacity"
set xlabel "calls (thousands)"
set ylabel "p50 latency per window (us)"
set key top left
set logscale y
set yrange [*:*]
set title "first 100k calls: per-call scopes on vs off (debug switch)"
plot "bench/out/soak-short-on.dat" using ($1/1e3):2 with linespoints title "scopes on", \
     "bench/out/soak-short-off.dat" using ($1/1e3):2 with linespoints title "scopes off"
unset logscale y
set ylabel "process RSS (MB)"
set yrange [0:*]
set title "first 100k calls: RSS, scopes on vs off"
plot "bench/out/soak-short-on.dat" using ($1/1e3):4 with linespoints title "scopes on", \
     "bench/out/soak-short-off.dat" using ($1/1e3):4 with linespoints title "scopes off"
unset multiplot
PLOT
    echo "plot: bench/out/soak.png" >&2
else
    echo "gnuplot not installed (apt-get install gnuplot-nox): no plot" >&2
fi
grep -h soak_summary bench/out/soak-long.jsonl bench/out/soak-short-on.jsonl bench/out/soak-short-off.jsonl
