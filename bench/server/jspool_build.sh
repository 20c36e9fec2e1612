# jspool_build.sh — sourced by the server benches: sets $jspool to $JSPOOL (another build,
# e.g. before a change) or to a Release build of this tree, made now in build-bench.
jspool=${JSPOOL:-}
if [ -z "$jspool" ]; then
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DJSP_BUILD_TESTS=OFF >&2
    cmake --build build-bench -j2 --target jspool_cli >&2
    jspool=build-bench/jspool
fi
