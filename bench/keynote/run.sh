#!/usr/bin/env bash
# run.sh — keynote-2's transfer benchmark, jspool and its two Node peers side by side in one
# sitting, all driven by keynote_client (see README.md).
#
#   bench/keynote/run.sh [--contention] [--seconds 10] [--warmup 3] [--systems LIST]
#                        [--clients 64] [--inflight 40] [--peer-inflight N] [--pairs 10000000]
#
# Alphas 0 and 1.5 (--contention: 0, 0.5, 1.0, 1.5); for each alpha every system in turn
# (jspool, node-pg, node-sqlite; --systems picks, and also takes node-sqlite-normal:
# synchronous=NORMAL, keynote-2's actual SQLite setting, no fsync per commit), so a load
# swing on a shared machine touches all of them. --inflight is the calls in flight per client, for every system unless
# --peer-inflight sets the peers' own (keynote-2's headline table: 1 for the peers). Needs
# setup.sh once; builds keynote_client into $BUILD (default build/) if missing.
# Writes results/keynote-<time>.{csv,jsonl,svg} and results/latest.{csv,svg}; prints the
# table and a text plot.
#
# jspool: `$BUILD/jspool serve examples/bank.js --data DIR`, seeded through
# POST /v1/contexts/bank/call/seed [first, 10000, 1000000000] × 10, driven over
# ws://.../v1/contexts/bank/ws with the call protocol; skipped, with the reason, when the
# server refuses --data, the module has no seed, or the WebSocket does not answer calls.
# With a keynote_capi built against the store, also "jspool-capi" (no network).
# Environment: JSPOOL_PORT (8089); JSPOOL_SERVE_ARGS, extra `jspool serve` arguments (e.g.
# the weaker-durability setting, for the cost of durability) with JSPOOL_LABEL naming that
# row (default "jspool"); JSPOOL_MODULE (examples/bank.js; the context is named after the
# file) and JSPOOL_NO_STORE=1 (no --data) run the same path against a module of today's
# server, e.g. JSPOOL_MODULE=bench/keynote/ws_shim_bank.js JSPOOL_NO_STORE=1 (in-heap, not
# durable: a check of the plumbing, not a figure to compare).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BUILD="${BUILD:-$root/build}"
. "$here/pg.sh"

alphas="0 1.5"; seconds=10; warmup=3; clients=64; inflight=40; peer_inflight=""
pairs=10000000; systems="jspool,node-pg,node-sqlite"
while [ $# -gt 0 ]; do
  case "$1" in
    --contention) alphas="0 0.5 1.0 1.5" ;;
    --alphas) alphas="$2"; shift ;;
    --seconds) seconds="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --systems) systems="$2"; shift ;;
    --clients) clients="$2"; shift ;;
    --inflight) inflight="$2"; shift ;;
    --peer-inflight) peer_inflight="$2"; shift ;;
    --pairs) pairs="$2"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
peer_inflight="${peer_inflight:-$inflight}"

client="$BUILD/bench/keynote_client"; capi="$BUILD/bench/keynote_capi"
if [ ! -x "$client" ]; then
  cmake -S "$root" -B "$BUILD" -DJSP_BUILD_BENCH=ON >/dev/null &&
    cmake --build "$BUILD" -j2 --target keynote_client keynote_capi >/dev/null || exit 1
fi
[ -d "$here/node_modules/better-sqlite3" ] || { echo "run.sh: run bench/keynote/setup.sh first" >&2; exit 1; }

stamp="$(date -u +%Y%m%d-%H%M%S)"
results="$here/results"; mkdir -p "$results/raw"
jsonl="$results/keynote-$stamp.jsonl"; : > "$jsonl"
work="$(mktemp -d /var/tmp/jspool-keynote/run.XXXXXX)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

has() { case ",$systems," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
wait_http() { # URL: until it answers, 30 s at most
  for _ in $(seq 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; return 1
}
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""; }
drive() { # LABEL URL INFLIGHT ALPHA
  echo "== $1, alpha $4 (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$client" --url "$2" --label "$1" --clients "$clients" --inflight "$3" --alpha "$4" \
    --seconds "$seconds" --warmup "$warmup" --pairs "$pairs" \
    >>"$jsonl" 2>>"$results/raw/$stamp-$1.log" || echo "run.sh: $1 at alpha $4 failed (see results/raw/$stamp-$1.log)" >&2
  tail -n1 "$jsonl" >&2
}

# --- jspool: can it run this benchmark yet? ------------------------------------------
jspool_ok=0
if has jspool; then
  port="${JSPOOL_PORT:-8089}"; module="${JSPOOL_MODULE:-examples/bank.js}"
  ctx="$(basename "$module" .js)"; url="http://127.0.0.1:$port/v1/contexts/$ctx"
  data_args=(--data "$work/jspool-data"); [ "${JSPOOL_NO_STORE:-0}" = 1 ] && data_args=()
  if [ ! -x "$BUILD/jspool" ]; then
    echo "run.sh: skipping jspool: $BUILD/jspool is not built" >&2
  else
    "$BUILD/jspool" serve "$root/$module" "${data_args[@]}" \
      --listen "127.0.0.1:$port" ${JSPOOL_SERVE_ARGS:-} >"$results/raw/$stamp-jspool-server.log" 2>&1 &
    server_pid=$!
    if ! wait_http "$url"; then
      echo "run.sh: skipping jspool: 'jspool serve $module ${data_args[*]}' did not start ($(tail -n1 "$results/raw/$stamp-jspool-server.log"))" >&2
    else
      seeded=1
      for first in $(seq 0 10000 99999); do
        if ! out="$(curl -sf -X POST "$url/call/seed" -d "[$first,10000,1000000000]")"; then
          echo "run.sh: skipping jspool: seed($first, 10000, 1000000000) failed: $(curl -s -X POST "$url/call/seed" -d "[$first,10000,1000000000]" | head -c 200)" >&2
          seeded=0; break
        fi
      done
      if [ "$seeded" = 1 ]; then
        "$client" --probe --url "ws://127.0.0.1:$port/v1/contexts/$ctx/ws" >"$work/probe" 2>&1
        case $? in
          0) jspool_ok=1 ;;
          3) echo "run.sh: skipping jspool: its WebSocket does not answer {\"id\",\"call\",\"args\"} frames yet (issue 10's call protocol)" >&2 ;;
          *) echo "run.sh: skipping jspool: the WebSocket probe failed: $(tail -n2 "$work/probe")" >&2 ;;
        esac
      fi
    fi
    [ "$jspool_ok" = 1 ] || stop_server
  fi
fi

# --- the peers -------------------------------------------------------------------------
pg_ok=0
if has node-pg; then pg_start && pg_ok=1 || echo "run.sh: skipping node-pg: PostgreSQL did not start (setup.sh?)" >&2; fi

peer() { # NAME ALPHA
  local name="$1" alpha="$2" port log="$results/raw/$stamp-$1-server.log"
  case "$name" in
    node-pg) port=4101; PG_URL="$PG_URL" PORT=$port node "$here/peers/pg.mjs" >>"$log" 2>&1 & ;;
    node-sqlite|node-sqlite-normal) port=4103; rm -f "$work"/accounts.sqlite*
      sync=FULL; [ "$name" = node-sqlite-normal ] && sync=NORMAL
      SQLITE_SYNC=$sync SQLITE_FILE="$work/accounts.sqlite" PORT=$port node "$here/peers/sqlite.mjs" >>"$log" 2>&1 & ;;
  esac
  server_pid=$!
  if wait_http "http://127.0.0.1:$port/"; then
    drive "$name" "http://127.0.0.1:$port/call/" "$peer_inflight" "$alpha"
  else
    echo "run.sh: $name did not start: $(tail -n2 "$log")" >&2
  fi
  stop_server
}

capi_ok=0
if has jspool && [ -x "$capi" ]; then
  mkdir -p "$work/probe-capi"
  if "$capi" --data "$work/probe-capi" --seconds 1 --warmup 0 --pairs 1000 --accounts 100 >/dev/null 2>"$work/capi-probe"; then
    capi_ok=1
  else
    echo "run.sh: skipping jspool-capi: $(tail -n1 "$work/capi-probe")" >&2
  fi
fi

for alpha in $alphas; do
  [ "$jspool_ok" = 1 ] && drive "${JSPOOL_LABEL:-jspool}" "ws://127.0.0.1:$port/v1/contexts/$ctx/ws" "$inflight" "$alpha"
  if [ "$capi_ok" = 1 ]; then
    rm -rf "$work/capi"; mkdir -p "$work/capi"
    echo "== jspool-capi, alpha $alpha" >&2
    (cd "$root" && "$capi" --data "$work/capi" --alpha "$alpha" --seconds "$seconds" \
       --warmup "$warmup" --pairs "$pairs" --inflight $((clients * inflight))) >>"$jsonl" 2>>"$results/raw/$stamp-capi.log"
    tail -n1 "$jsonl" >&2
  fi
  has node-pg && [ "$pg_ok" = 1 ] && peer node-pg "$alpha"
  has node-sqlite && peer node-sqlite "$alpha"
  has node-sqlite-normal && peer node-sqlite-normal "$alpha"
done
stop_server

csv="$results/keynote-$stamp.csv"
jq -r '[.system, (.transport // "capi"), .alpha, (.clients // 1), .inflight, (.connections // 0), .seconds,
        .tps, (.tps_stddev // ""), .p50_ms, .p99_ms, .errors, (.harness_cpu_share // ""), .loadavg1, .invariant_ok] | @csv' \
  "$jsonl" | sed '1i system,transport,alpha,clients,inflight,connections,seconds,tps,tps_stddev,p50_ms,p99_ms,errors,harness_cpu_share,loadavg1,invariant_ok' >"$csv"
cp "$csv" "$results/latest.csv"
python3 "$here/plot.py" "$csv" "$results/keynote-$stamp.svg" && cp "$results/keynote-$stamp.svg" "$results/latest.svg"
echo
echo "# keynote-2 workload, $(nproc) cores, ${seconds} s after ${warmup} s warm-up per run ($csv)"
tr -d '"' <"$csv" | cut -d, -f1,3,5,8,10,11,12,13,15 | column -t -s,
