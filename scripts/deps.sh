#!/bin/sh
# deps.sh — installs the Debian 12 packages jspool builds and tests with, skipping those
# already present (so a second run costs nothing). Run as root.
set -eu
packages="build-essential cmake pkg-config libjavascriptcoregtk-4.1-dev libuv1-dev libh2o-dev libwslay-dev libjansson-dev libcriterion-dev libcurl4-openssl-dev libicu-dev librust-url-dev librust-idna-dev"
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
