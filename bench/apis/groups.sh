#!/usr/bin/env bash
# groups.sh — what each web-API group costs a context (issue 4): for no groups, the
# default pair, every group alone and "all", creates N contexts on one runtime
# (bench_contexts), then reads every lazy global the context has once (the "touch": loads
# the group and its dependencies) and reports the medians over RUNS interleaved runs:
# creation time and RSS per context, and what the touch added. The group list comes
# from the library itself (the error `jspool eval --apis ?` prints), so new groups
# appear here without editing this file. Output: JSON lines on stdout and a markdown
# table in bench/out/groups.md.   usage: bench/apis/groups.sh   (RUNS=3 N=1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
n=${N:-1000}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target bench_contexts jspool_cli >&2

valid=$( (build-bench/jspool eval --apis '?' 0 2>&1 || true) | sed -n 's/.*valid: all, none, //p')
[ -n "$valid" ] || { echo "could not read the group list from jspool" >&2; exit 2; }
configs=(none default ${valid//,/} all)
# Reads every lazy (accessor) global once: the groups the context has, loaded.
touch_code='for (const n of Object.getOwnPropertyNames(globalThis)) { const d = Object.getOwnPropertyDescriptor(globalThis, n); if (d.get) globalThis[n]; } 0'

mkdir -p bench/out
out=bench/out/groups.jsonl
: >"$out"
for run in $(seq 1 "$runs"); do
    for config in "${configs[@]}"; do
        apis=(--apis "$config")
        [ "$config" = default ] && apis=()
        echo "== run $run/$runs: $config" >&2
        build-bench/bench/bench_contexts --runtimes 1 --creators 1 "${apis[@]}" --touch "$touch_code" "$n" |
            sed "s/^{/{\"run\":$run,/" | tee -a "$out"
    done
done

{
    echo "N = $n contexts on 1 runtime, medians of $runs interleaved runs ($(nproc) CPUs, $(date -u +%F))."
    echo
    echo "| apis | create µs | RSS KB / context | touch µs | touch KB / context |"
    echo "|---|---|---|---|---|"
    for config in "${configs[@]}"; do
        grep "\"apis\":\"$config\"" "$out" | awk -v c="$config" '
            function median(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                               return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
            function field(name,   m) { match($0, "\"" name "\":[-0-9.]+"); return substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 3) + 0 }
            { k++; create[k] = field("create_median_us"); rss[k] = field("rss_per_ctx_kb"); touch[k] = field("touch_median_us"); trss[k] = field("touch_rss_per_ctx_kb") }
            END { if (k) printf "| %s | %.0f | %.1f | %.0f | %.1f |\n", c, median(create, k), median(rss, k), median(touch, k), median(trss, k) }'
    done
} | tee bench/out/groups.md >&2
