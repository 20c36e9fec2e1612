# pg.sh — start and stop bench/keynote's own PostgreSQL 15 cluster (sourced by setup.sh and
# run.sh). As root the server runs as the "postgres" user (PostgreSQL refuses root).
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
KEYNOTE_PGDATA="${KEYNOTE_PGDATA:-/var/tmp/jspool-keynote/pg}"
KEYNOTE_PGPORT="${KEYNOTE_PGPORT:-5499}"
PG_USER="${PG_USER:-postgres}"
PG_URL="postgres://postgres@127.0.0.1:$KEYNOTE_PGPORT/keynote"

pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

# keynote-2 starts its Postgres with `-c default_transaction_isolation=serializable` and
# otherwise out-of-the-box settings (fsync on, synchronous_commit on).
pg_start() {
  pg_as "$PG_BIN/pg_ctl" -D "$KEYNOTE_PGDATA" status >/dev/null 2>&1 && return 0
  pg_as "$PG_BIN/pg_ctl" -D "$KEYNOTE_PGDATA" -w -l "$KEYNOTE_PGDATA/server.log" \
    -o "-p $KEYNOTE_PGPORT -k $KEYNOTE_PGDATA -c listen_addresses=127.0.0.1 -c default_transaction_isolation=serializable" \
    start >/dev/null
}

pg_stop() {
  pg_as "$PG_BIN/pg_ctl" -D "$KEYNOTE_PGDATA" -w -m fast stop >/dev/null 2>&1 || true
}
