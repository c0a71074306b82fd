#!/usr/bin/env bash
# PG_ROLE=restore (the `pg-restore` compose service, `make restore`): restore the backups of one shard
# server (PGBACKREST_STANZA) into this scratch container's own data directory, to the point in time
# RESTORE_TIME (a timestamp PostgreSQL reads, e.g. "2026-12-05 13:00:00+00"; empty: everything archived),
# and run it for inspection. It never touches the live server: it mounts only the repository (read-only)
# and does not archive (its new timeline stays out of the live stanza).
set -o errexit -o pipefail -o nounset
: "${PGBACKREST_STANZA:?the shard server to restore}" "${RESTORE_TIME:=}"

as_pg() { runuser -u postgres -- "$@"; }

mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ -s "$PGDATA/PG_VERSION" ]; then
  echo "restore: $PGDATA already holds a cluster; starting it as it is"
else
  target=()
  if [ -n "$RESTORE_TIME" ]; then
    # recovery stops before the first transaction that committed after RESTORE_TIME, then promotes
    target=(--type=time "--target=$RESTORE_TIME" --target-action=promote)
  fi
  echo "restore: $PGBACKREST_STANZA to ${RESTORE_TIME:-the end of its archive}"
  as_pg pgbackrest --log-level-console=info restore "${target[@]}"
fi
# a scratch copy: reached by `docker exec` on its own socket and loopback only, archiving nothing
exec runuser -u postgres -- postgres -D "$PGDATA" -c archive_mode=off -c listen_addresses=localhost
