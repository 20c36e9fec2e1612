#!/usr/bin/env bash
# vs_node.sh — throughput of the web-API groups against Node.js on the same machine
# (issue 4): the same JS snippet runs for ~1 s in `jspool eval --apis all` and in `node -e`,
# each reporting MB/s (or ops/s); RUNS alternating runs, medians and the ratio printed as
# JSON lines.  usage: bench/apis/vs_node.sh   (RUNS=3)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
cmake --build build-bench -j2 --target jspool_cli >&2

# name|unit|snippet evaluating to the rate
cases=(
"utf8_encode_decode|MB/s|(() => { const s = 'h\u00e9llo w\u00f6rld \u20ac ascii text '.repeat(40000); const e = new TextEncoder(), d = new TextDecoder(); const bytes = e.encode(s).length; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { d.decode(e.encode(s)); n++; } return n * bytes / 1e6 / ((Date.now() - t) / 1000); })()"
"base64_btoa_atob|MB/s|(() => { const s = 'abcdefghij\u00ff'.repeat(50000); let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { atob(btoa(s)); n++; } return n * s.length / 1e6 / ((Date.now() - t) / 1000); })()"
"structured_clone|kops/s|(() => { const o = { a: [1, 2, 3, { b: 'x'.repeat(50) }], m: new Map([[1, 2]]), d: new Date(0) }; let n = 0; const t = Date.now(); while (Date.now() - t < 1000) { structuredClone(o); n++; } return n / 1e3 / ((Date.now() - t) / 1000); })()"
"url_parse|kURL/s|(() => { const urls = ['https://example.com/', 'https://www.example.org/path/to/page.html?query=1&sort=desc#section', 'http://user:pass@api.example.net:8080/v1/items/42', 'https://cdn.example.com/assets/img/logo.png?v=3', '/relative/path?x=y', 'https://sub.domain.example.co.uk/a/b/../c/./d', 'http://192.168.0.1:3000/health', 'https://search.example.com/s?q=hello+world&lang=en&page=2']; const base = 'https://base.example.com/dir/'; let n = 0, sink = 0; const t = Date.now(); while (Date.now() - t < 1000) { for (let i = 0; i < 8; i++) sink += new URL(urls[i], base).href.length; n += 8; } return n / 1e3 / ((Date.now() - t) / 1000); })()"
)

for entry in "${cases[@]}"; do
    IFS='|' read -r name unit snippet <<<"$entry"
    jsp=(); nd=()
    for run in $(seq 1 "$runs"); do
        jsp+=("$(build-bench/jspool eval --apis all "$snippet")")
        nd+=("$(node -e "console.log($snippet)")")
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
    j=$(median "${jsp[@]}"); n=$(median "${nd[@]}")
    awk -v name="$name" -v unit="$unit" -v j="$j" -v n="$n" -v runs="$runs" 'BEGIN {
        printf "{\"bench\":\"apis_vs_node\",\"case\":\"%s\",\"unit\":\"%s\",\"runs\":%d,\"jspool\":%.1f,\"node\":%.1f,\"ratio\":%.2f}\n", name, unit, runs, j, n, j / n }'
done
