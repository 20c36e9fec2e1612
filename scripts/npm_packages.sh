#!/bin/sh
# npm_packages.sh — fetches the npm packages listed in tests/npm/packages.txt from the npm
# registry into tests/npm/node_modules, each checked against its SHA-512 before it is
# unpacked (a different tarball is an error, never used). Skips packages already there at
# the listed version. Needs curl, sha512sum and tar; run from anywhere.
set -eu
dir=$(cd "$(dirname "$0")/../tests/npm" && pwd)
mkdir -p "$dir/node_modules"
grep -v '^#' "$dir/packages.txt" | while read -r name version sha512; do
    [ -n "$name" ] || continue
    dest="$dir/node_modules/$name"
    if [ -f "$dest/package.json" ] && grep -q "\"version\": *\"$version\"" "$dest/package.json"; then
        continue
    fi
    base=${name#*/}
    tarball=$(mktemp)
    if ! curl -sfL --retry 3 -o "$tarball" "https://registry.npmjs.org/$name/-/$base-$version.tgz"; then
        echo "npm_packages: cannot download $name@$version" >&2
        rm -f "$tarball"
        exit 1
    fi
    if [ "$(sha512sum "$tarball" | cut -d' ' -f1)" != "$sha512" ]; then
        echo "npm_packages: $name@$version differs from the reviewed tarball (SHA-512)" >&2
        rm -f "$tarball"
        exit 1
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    tar -xzf "$tarball" -C "$dest" --strip-components=1 --no-same-owner
    rm -f "$tarball"
done
