#!/usr/bin/env bash
# check_layers.sh — fails on an upward #include between the folders of src/, following the
# layer table of docs/architecture.md (who may include whom). Run first by .ci/run: it
# takes milliseconds. Usage: scripts/check_layers.sh [repository root]
#
# Every folder may include its own headers and the public header (include/jspool.h);
# beyond that, only what `allowed` lists. An include that breaks the table fails unless it
# is in `known_departures` below, line by line.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"

# folder -> the other folders of src/ it may include (docs/architecture.md, "Layers").
declare -A allowed=(
    [cli]="server"
    [server]=""
    [pool]="runtime store engine apis util"
    [runtime]="engine store apis util"
    [engine]="apis util"
    [store]="util"
    [apis]=""
    [util]=""
)

# Single headers a folder may include although their folder is above it.
#   server -> util/error_table.h: a data-only X-macro (no code, no link dependency); the
#   server's HTTP statuses come from the same list as the library's messages.
exceptions="
server util/error_table.h
"

# Known departures from the table, to be removed as they are fixed: "file included-header".
# Add a line only with a reason, and delete it once its include is gone; a line whose
# include no longer exists fails too, so this list cannot outlive the code. (Empty since
# the runtime gets the pool's services through runtime_services.h, issue 12.)
known_departures="
"

listed() { # listed LIST "a b": is the line "a b" in LIST?
    grep -qxF -- "$2" <<<"$1"
}

status=0
seen_departures=""
while IFS= read -r file; do
    folder="${file#src/}"
    folder="${folder%%/*}"
    if [[ -z "${allowed[$folder]+set}" ]]; then
        echo "check_layers: $file: folder src/$folder is not in the layer table (scripts/check_layers.sh, docs/architecture.md)" >&2
        status=1
        continue
    fi
    while IFS= read -r included; do
        [[ "$included" == "jspool.h" ]] && continue          # the public API
        [[ "$included" != */* ]] && continue                  # same folder, relative
        target="${included%%/*}"
        [[ "$target" == "$folder" ]] && continue
        [[ " ${allowed[$folder]} " == *" $target "* ]] && continue
        listed "$exceptions" "$folder $included" && continue
        if listed "$known_departures" "$file $included"; then
            seen_departures+="$file $included"$'\n'
            continue
        fi
        echo "check_layers: $file includes \"$included\": src/$folder may include only ${allowed[$folder]:-its own folder} and jspool.h (docs/architecture.md)" >&2
        status=1
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' "$file")
done < <(find src -type f \( -name '*.c' -o -name '*.h' -o -name '*.def' \) | sort)

# A departure that no longer happens must leave the list.
while IFS= read -r line; do
    [[ -z "$line" ]] && continue
    if ! listed "$seen_departures" "$line"; then
        echo "check_layers: known departure \"$line\" no longer exists: delete it from scripts/check_layers.sh" >&2
        status=1
    fi
done <<<"$known_departures"

if [[ $status == 0 ]]; then
    echo "check_layers: no upward include in src/ ($(grep -c . <<<"$known_departures" || true) known departures listed)"
fi
exit $status
