#!/usr/bin/env bash
# Starts a shard server. PG_ROLE=primary initialises a cluster with the application database, the
# application role and a replication role; PG_ROLE=replica clones its primary with pg_basebackup
# (physical streaming replication through its own replication slot) and runs as a hot standby.
# At every start (new or existing data) a primary sets the passwords of its roles to the current
# POSTGRES_PASSWORD, APP_PASSWORD and REPLICATION_PASSWORD and the application role's statement
# timeout (APP_STATEMENT_TIMEOUT), and a replica connects to its primary with the current
# REPLICATION_PASSWORD: changing them in .env works on existing volumes. It refuses the well-known
# default passwords unless ALLOW_INSECURE_DEFAULTS=1.
set -o errexit -o pipefail -o nounset
# a scratch container restoring a backup (`make restore`) needs none of what follows
[ "${PG_ROLE:-}" = restore ] && exec /usr/local/bin/restore.sh
# a password may come from the file its *_FILE variable names (Docker Swarm secrets)
. /usr/local/lib/secret-env.sh
secret_env POSTGRES_PASSWORD APP_PASSWORD REPLICATION_PASSWORD

: "${PG_ROLE:=primary}" "${POSTGRES_DB:?}" "${POSTGRES_PASSWORD:?}" "${APP_USER:=app}" "${APP_PASSWORD:?}"
: "${REPLICATION_USER:=replicator}" "${REPLICATION_PASSWORD:?}" "${APP_STATEMENT_TIMEOUT:=5s}"
: "${ALLOW_INSECURE_DEFAULTS:=0}"

as_pg() { runuser -u postgres -- "$@"; }

refuse_well_known_passwords() {
  local known=()
  [ "$POSTGRES_PASSWORD" = postgres ] && known+=(POSTGRES_PASSWORD)
  [ "$APP_PASSWORD" = app ] && known+=("APP_PASSWORD (DB_PASSWORD)")
  [ "$REPLICATION_PASSWORD" = replicator ] && known+=(REPLICATION_PASSWORD)
  if [ "${#known[@]}" -gt 0 ] && [ "$ALLOW_INSECURE_DEFAULTS" != 1 ]; then
    echo "refusing to start with well-known passwords: ${known[*]}." >&2
    echo "Run \`make env\` (random secrets into .env), or set ALLOW_INSECURE_DEFAULTS=1 on a development machine." >&2
    exit 1
  fi
}
refuse_well_known_passwords

# a member of a shard server under Patroni, which initialises, clones, promotes and rewinds it
[ -n "${PATRONI_SCOPE:-}" ] && exec /usr/local/bin/patroni.sh

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
}

# the roles, the database and the current passwords (roles.sh), with the server up on its Unix socket only
configure_primary() {
  as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  as_pg /usr/local/bin/roles.sh
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
}

init_replica() {
  : "${PRIMARY_HOST:?}"
  local slot
  # named after the primary it streams from, not after this container: a re-cloned standby takes
  # its slot over (dropped and made again below) instead of leaving one behind that holds WAL
  slot=$(printf '%s_standby' "$PRIMARY_HOST" | tr -c 'a-z0-9\n' '_')
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

# A replica reaches its primary with the current replication password (pg_basebackup -R wrote the
# one of its first start): primary_conninfo is written again at every start.
configure_replica() {
  local conf="$PGDATA/postgresql.auto.conf" password conninfo
  password=${REPLICATION_PASSWORD//\\/\\\\}   # a libpq value in single quotes: \ and ' escaped
  password=${password//\'/\\\'}
  conninfo="user=$REPLICATION_USER password='$password' host=$PRIMARY_HOST port=5432"
  conninfo=${conninfo//\\/\\\\}   # the whole is a string in the configuration file:
  conninfo=${conninfo//\'/\'\'}   # \ doubled, ' written ''
  grep -v '^primary_conninfo' "$conf" >"$conf.new" || true
  printf "primary_conninfo = '%s'\n" "$conninfo" >>"$conf.new"
  chown postgres:postgres "$conf.new" && chmod 600 "$conf.new"
  mv "$conf.new" "$conf"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "$PG_ROLE" = primary ]; then init_primary; else init_replica; fi
fi
if [ "$PG_ROLE" = primary ]; then configure_primary; else configure_replica; fi

# Backups (pgBackRest, deploy/postgres/backup.sh), where the server has a stanza (PGBACKREST_STANZA):
# every WAL segment is archived (a standby archives nothing until it is promoted), at most
# `archive_timeout` after its first record, and the backup schedule runs beside the server.
archiving=()
if [ -n "${PGBACKREST_STANZA:-}" ]; then
  mkdir -p /var/lib/pgbackrest && chown postgres:postgres /var/lib/pgbackrest
  archiving=(-c archive_mode=on -c "archive_command=pgbackrest archive-push %p" -c archive_timeout=5min)
  setsid -f /usr/local/bin/backup.sh schedule
fi

exec runuser -u postgres -- postgres -D "$PGDATA" "${archiving[@]}"
