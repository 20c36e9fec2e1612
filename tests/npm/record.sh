#!/bin/sh
# record.sh — records what Node prints for check.mjs into expected.json (run after changing
# check.mjs or packages.txt; needs node >= 20 and scripts/npm_packages.sh run first).
set -eu
cd "$(dirname "$0")"
node check.mjs > expected.json
