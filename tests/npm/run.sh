#!/bin/sh
# run.sh JSPOOL — the npm suite: jspool runs check.mjs against the packages that
# scripts/npm_packages.sh fetched, and must print what Node printed (expected.json).
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules ]; then
    echo "npm suite: tests/npm/node_modules is missing: run scripts/deps.sh (or scripts/npm_packages.sh)" >&2
    exit 1
fi
got=$("$1" run --apis all check.mjs)
if [ "$got" != "$(cat expected.json)" ]; then
    echo "npm suite: jspool printed" >&2
    echo "$got" >&2
    echo "where Node printed" >&2
    cat expected.json >&2
    exit 1
fi
echo "npm suite: $(grep -vc '^#' packages.txt) packages, output identical to Node's"
