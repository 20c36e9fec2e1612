#!/bin/sh
# deps.sh — installs the Debian 12 packages jspool builds and tests with, skipping those
# already present (so a second run costs nothing). Run as root.
set -eu
packages="build-essential clang libclang-rt-14-dev cmake pkg-config libjavascriptcoregtk-4.1-dev libuv1-dev libh2o-dev libwslay-dev libjansson-dev libcriterion-dev libcurl4-openssl-dev libssl-dev zlib1g-dev gjs-tests librust-data-url-dev libicu-dev librust-url-dev librust-idna-dev libsqlite3-dev curl ca-certificates python3 libgumbo-dev librust-markup5ever-rcdom-dev"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi

# web-platform-tests data the wpt suite (tests/wpt) runs on, checked against the copies we
# measured: a different file means different cases, to be reviewed before trusting counts.
wpt_data="65cf83e5150fb8e74256c1bc173d75caaee1b9d9c2a6dc1ae8c6450f2367f5b8  /usr/libexec/installed-tests/gjs/js/modules/encodings.json
b04a4742a9eea1120a8c2aebdb91d9b293989fc49612df996a3969cacaf31941  /usr/share/cargo/registry/data-url-0.1.0/tests/base64.json"
if ! echo "$wpt_data" | sha256sum -c --quiet -; then
    echo "deps: the web-platform-tests data above differs from the reviewed copy (gjs-tests," >&2
    echo "      librust-data-url-dev); review tests/wpt and update the hashes in scripts/deps.sh" >&2
    exit 1
fi

# npm packages the npm suite (tests/npm) imports: fetched from the registry, checked by hash
"$(dirname "$0")/npm_packages.sh"
