#!/usr/bin/env bash
# setup.sh — what bench/keynote's peers need, outside the repo's own dependencies
# (scripts/deps.sh does not install any of this):
#   - Debian's postgresql-15 (apt-get, only if missing),
#   - a PostgreSQL cluster of our own in $KEYNOTE_PGDATA (default /var/tmp/jspool-keynote/pg),
#     port $KEYNOTE_PGPORT (5499), loopback only, trust authentication, and a database
#     "keynote"; keynote-2's one setting: default_transaction_isolation = 'serializable'
#     (given at start by pg.sh),
#   - the npm packages of package.json (pg, better-sqlite3 12.x) with `npm ci`.
# Idempotent. Needs Node.js 20 (better-sqlite3 13 needs Node 22).
#   bench/keynote/setup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/pg.sh"

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)"
if [ "$node_major" != 20 ]; then
  echo "setup.sh: Node.js 20 is needed (found: $node_major)" >&2
  exit 1
fi

if [ ! -x "$PG_BIN/initdb" ]; then
  echo "setup.sh: installing postgresql-15 from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15
fi

if [ ! -f "$KEYNOTE_PGDATA/PG_VERSION" ]; then
  echo "setup.sh: creating a PostgreSQL 15 cluster in $KEYNOTE_PGDATA"
  mkdir -p "$KEYNOTE_PGDATA"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$KEYNOTE_PGDATA"
  pg_as "$PG_BIN/initdb" -D "$KEYNOTE_PGDATA" -U postgres -A trust -E UTF8 >/dev/null
fi

pg_start
pg_as "$PG_BIN/psql" -h 127.0.0.1 -p "$KEYNOTE_PGPORT" -U postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'keynote'" | grep -q 1 ||
  pg_as "$PG_BIN/createdb" -h 127.0.0.1 -p "$KEYNOTE_PGPORT" -U postgres keynote
pg_stop

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
node -e "require('better-sqlite3')(':memory:'); require('pg')" ||
  { echo "setup.sh: better-sqlite3 did not load; try: npm rebuild better-sqlite3" >&2; exit 1; }
echo "setup.sh: ready (PG_URL=$PG_URL)"
