#!/usr/bin/env bash
# Starts a PostgreSQL 15 server of this image, in one of three ways:
# - PATRONI_SCOPE set: a member of a shard server under Patroni (deploy/postgres/patroni.sh), which
#   initialises the first leader, clones the standby, promotes and rewinds;
# - PG_ROLE=restore: a scratch copy of a shard server's backups (`make restore`, restore.sh);
# - otherwise a standalone server (the unit tests' test-db): initialised with the application database and
#   roles at its first start.
# At every start the roles get the current POSTGRES_PASSWORD, APP_PASSWORD and REPLICATION_PASSWORD and
# the application role's statement timeout (roles.sh; under Patroni, whenever a member leads): changing
# them in .env works on existing volumes. It refuses the well-known default passwords unless
# ALLOW_INSECURE_DEFAULTS=1.
set -o errexit -o pipefail -o nounset
# a scratch container restoring a backup (`make restore`) needs none of what follows
[ "${PG_ROLE:-}" = restore ] && exec /usr/local/bin/restore.sh
# a password may come from the file its *_FILE variable names (Docker Swarm secrets)
. /usr/local/lib/secret-env.sh
secret_env POSTGRES_PASSWORD APP_PASSWORD REPLICATION_PASSWORD

: "${POSTGRES_DB:?}" "${POSTGRES_PASSWORD:?}" "${APP_USER:=app}" "${APP_PASSWORD:?}"
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

[ -s "$PGDATA/PG_VERSION" ] || init_primary
configure_primary

exec runuser -u postgres -- postgres -D "$PGDATA"
