#!/usr/bin/env bash
# run.sh — parse + querySelectorAll of a ~1 MB HTML page (dom_bench.js) in jspool's dom
# group against Node.js with linkedom and with jsdom (issue 14), same machine, same run:
# ROUNDS parses (each followed by the six queries of dom_bench.js) per run, RUNS runs
# alternating the three, medians printed as JSON lines with the ratios.
# linkedom and jsdom are installed from npm at bench time into bench/out/dom-node
# (gitignored).  usage: bench/apis/dom/run.sh   (RUNS=3 ROUNDS=1: under a minute; jsdom takes ~10 s a round
# here; the README's numbers are RUNS=3 ROUNDS=5)
set -euo pipefail
cd "$(dirname "$0")/../../.."
runs=${RUNS:-3}
rounds=${ROUNDS:-1}
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
modules=bench/out/dom-node
if [ ! -d "$modules/node_modules/jsdom" ] || [ ! -d "$modules/node_modules/linkedom" ]; then
    mkdir -p "$modules"
    npm install --silent --no-audit --no-fund --prefix "$modules" linkedom jsdom >&2
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target jspool_cli >/dev/null

harness=bench/apis/dom/dom_bench.js
jsp_source="$(cat "$harness"); JSON.stringify(runBench((s) => new DOMParser().parseFromString(s, 'text/html'), $rounds))"
node_run() { # $1: linkedom | jsdom
    NODE_PATH="$modules/node_modules" node -e "
const { runBench } = require('./$harness');
const parse = '$1' === 'jsdom' ? ((s) => new (require('jsdom').JSDOM)(s).window.document)
                                : ((s) => require('linkedom').parseHTML(s).document);
console.log(JSON.stringify(runBench(parse, $rounds)));"
}
field() { sed -E "s/.*\"$1\":\"?([^,\"}]*)\"?.*/\1/" <<<"$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A parse query counts
for run in $(seq 1 "$runs"); do
    for impl in jspool linkedom jsdom; do
        if [ "$impl" = jspool ]; then
            out=$(build-bench/jspool eval --apis dom "$jsp_source" | sed -E 's/^"(.*)"$/\1/; s/\\"/"/g')
        else
            out=$(node_run "$impl")
        fi
        parse[$impl]+="$(field parse_ms "$out") "
        query[$impl]+="$(field query_ms "$out") "
        counts[$impl]=$(field counts "$out")
    done
done
for impl in jspool linkedom jsdom; do
    p=$(median ${parse[$impl]}); q=$(median ${query[$impl]})
    echo "{\"bench\":\"dom_parse_query\",\"impl\":\"$impl\",\"runs\":$runs,\"rounds\":$rounds,\"parse_ms\":$p,\"query_ms\":$q,\"total_ms\":$(awk -v p="$p" -v q="$q" 'BEGIN{print p+q}'),\"counts\":\"${counts[$impl]}\"}"
done
jt=$(awk -v p="$(median ${parse[jspool]})" -v q="$(median ${query[jspool]})" 'BEGIN{print p+q}')
for impl in linkedom jsdom; do
    t=$(awk -v p="$(median ${parse[$impl]})" -v q="$(median ${query[$impl]})" 'BEGIN{print p+q}')
    awk -v impl="$impl" -v j="$jt" -v t="$t" 'BEGIN {printf "{\"bench\":\"dom_parse_query\",\"jspool_vs\":\"%s\",\"speedup\":%.2f}\n", impl, t / j}'
done
[ "${counts[jspool]}" = "${counts[jsdom]}" ] || echo "warning: jspool and jsdom found different match counts" >&2
