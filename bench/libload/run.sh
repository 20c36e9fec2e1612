#!/usr/bin/env bash
# run.sh — per-context cost of loading a real library (issue 11, item 4): lodash, zod and
# preact + preact-render-to-string, installed from npm into bench/libload/node_modules/
# (gitignored; nothing vendored) and bundled here with esbuild into one ES module (for
# jsp_load_module) and one classic IIFE script defining `lib` (for jsp_eval, Node's vm and
# isolated-vm). Then, RUNS times, alternating engines within each run:
#   jspool module / eval        N light contexts on one runtime (bench_libload.c)
#   jspool module / eval no-cache  the same with code_cache_bytes = (size_t)-1: the cost
#                               before the code cache existed, in the same run
#   jspool module-isolated      N isolated contexts (64 MiB limit each), ISOLATED=1 only
#   node-vm                     vm.createContext + new vm.Script(...).runInContext (peers.js)
#   ivm                         isolated-vm: one Isolate, N contexts
#   ivm-isolate                 isolated-vm: an Isolate per context, ISOLATED=1 only
# and prints per library the medians over runs of each engine's per-context medians
# (create, load, create+load), RSS per context, and the ratios to node-vm.
#   bench/libload/run.sh                  # RUNS=3 N=100, ~1 min on 2 shared cores
#   RUNS=5 ISOLATED=1 LIBS="zod" bench/libload/run.sh
# Needs Node.js 20 and npm (isolated-vm builds with node-gyp when no prebuilt binary
# downloads: ~1 min once). Every JSON line goes to bench/libload/out/results.jsonl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
RUNS="${RUNS:-3}"
N="${N:-100}"
LIBS="${LIBS:-lodash zod preact}"
ISOLATED="${ISOLATED:-0}"
BUILD="${BUILD:-$root/build-bench}"

cd "$here"
if [ ! -d node_modules/isolated-vm ] || [ ! -d node_modules/zod ]; then
  echo "run.sh: npm ci (into bench/libload/node_modules)" >&2
  npm ci --no-audit --no-fund >&2
fi
mkdir -p out
for lib in $LIBS; do
  node_modules/.bin/esbuild "entries/$lib.js" --bundle --log-level=warning --platform=neutral \
    --main-fields=module,main --format=esm --outfile="out/$lib.mjs"
  node_modules/.bin/esbuild "entries/$lib.js" --bundle --log-level=warning --platform=neutral \
    --main-fields=module,main --format=iife --global-name=lib --outfile="out/$lib.js"
done

if [ ! -x "$BUILD/bench/bench_libload" ] || [ -n "${REBUILD:-}" ]; then
  cmake -S "$root" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target bench_libload -j2 >&2
fi
bin="$BUILD/bench/bench_libload"

results="out/results.jsonl"
: > "$results"
for run in $(seq 1 "$RUNS"); do
  for lib in $LIBS; do
    size=$(wc -c < "out/$lib.js")
    {
      "$bin" --n "$N" --label "$lib" "out/$lib.mjs" check
      "$bin" --n "$N" --label "$lib" --no-cache "out/$lib.mjs" check
      "$bin" --n "$N" --label "$lib" --eval "out/$lib.js" "lib.check()"
      "$bin" --n "$N" --label "$lib" --eval --no-cache "out/$lib.js" "lib.check()"
      node peers.js vm "$N" "$lib" "out/$lib.js" "lib.check()"
      node peers.js ivm "$N" "$lib" "out/$lib.js" "lib.check()"
      if [ "$ISOLATED" = 1 ]; then
        "$bin" --n "$N" --label "$lib" --isolated 64 "out/$lib.mjs" check
        node peers.js ivm-isolate "$N" "$lib" "out/$lib.js" "lib.check()"
      fi
    } | sed "s/^{/{\"run\":$run,\"bytes\":$size,/" | tee -a "$results" >&2
  done
done
node summarize.js "$results" | tee out/summary.md
