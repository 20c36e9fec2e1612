#!/bin/sh
# fuzz.sh [SECONDS] — builds the libFuzzer targets of fuzz/ (clang, ASan+UBSan, in
# build-fuzz) and runs each for SECONDS (default 60) from its seed corpus in fuzz/corpus/.
# Fails on any crash, sanitizer report, leak, hang (10 s per input) or oracle failure; the
# input that did it is left in build-fuzz/fuzz/crashes/<target>/. Reproduce one with
# `build-fuzz/fuzz/<target> FILE`. What each target checks: docs/security.md.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang cmake -S . -B build-fuzz -DJSP_FUZZ=ON -DJSP_BUILD_TESTS=OFF -DJSP_BUILD_BENCH=OFF \
    -DJSP_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build build-fuzz -j2
ctest --test-dir build-fuzz -L fuzz --output-on-failure
