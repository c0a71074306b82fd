#!/usr/bin/env bash
# Starts a shard server. PG_ROLE=primary initialises a cluster with the application database, the
# application role and a replication role; PG_ROLE=replica clones its primary with pg_basebackup
# (physical streaming replication through its own replication slot) and runs as a hot standby.
set -o errexit -o pipefail -o nounset

: "${PG_ROLE:=primary}" "${POSTGRES_DB:?}" "${POSTGRES_PASSWORD:?}" "${APP_USER:=app}" "${APP_PASSWORD:?}"
: "${REPLICATION_USER:=replicator}" "${REPLICATION_PASSWORD:?}"

as_pg() { runuser -u postgres -- "$@"; }

mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"

init_primary() {
  echo "initialising primary cluster for database $POSTGRES_DB"
  local pwfile
  pwfile=$(mktemp)
  echo "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_pg initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "include '/etc/postgresql/shard.conf'" >>"$PGDATA/postgresql.conf"
  cat >>"$PGDATA/pg_hba.conf" <<HBA
host replication $REPLICATION_USER all scram-sha-256
host all all all scram-sha-256
HBA
  as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  as_pg psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres <<SQL
CREATE ROLE "$APP_USER" LOGIN PASSWORD '$APP_PASSWORD';
CREATE ROLE "$REPLICATION_USER" REPLICATION LOGIN PASSWORD '$REPLICATION_PASSWORD';
CREATE DATABASE "$POSTGRES_DB" OWNER "$APP_USER";
SQL
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
}

init_replica() {
  : "${PRIMARY_HOST:?}"
  local slot
  slot=$(hostname | tr -c 'a-z0-9\n' '_')
  slot="${REPLICA_SLOT:-${slot}}"
  echo "cloning $PRIMARY_HOST into a hot standby (slot $slot)"
  export PGPASSWORD="$REPLICATION_PASSWORD"
  until pg_isready -q -h "$PRIMARY_HOST" -U "$REPLICATION_USER"; do sleep 1; done
  # a slot left behind by an earlier clone of this replica is dropped first
  psql -h "$PRIMARY_HOST" -U "$REPLICATION_USER" -d "$POSTGRES_DB" -qAt -c \
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot' AND NOT active" \
    >/dev/null || true
  rm -rf "${PGDATA:?}"/*
  as_pg env PGPASSWORD="$PGPASSWORD" pg_basebackup -h "$PRIMARY_HOST" -U "$REPLICATION_USER" -D "$PGDATA" \
    -X stream -R -C -S "$slot" --checkpoint=fast
  unset PGPASSWORD
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "$PG_ROLE" = primary ]; then init_primary; else init_replica; fi
fi

exec runuser -u postgres -- postgres -D "$PGDATA"
