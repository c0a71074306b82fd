#!/usr/bin/env bash
# The roles and the database of a shard server's leader, made when missing, with the current passwords
# (POSTGRES_PASSWORD, APP_PASSWORD, REPLICATION_PASSWORD) and the application role's statement timeout
# (APP_STATEMENT_TIMEOUT): run on every start of a standalone server, and by Patroni after its bootstrap
# and whenever a member starts or becomes the leader (deploy/postgres/patroni-callback.sh). Changing them
# in .env works on existing volumes. Values go in as psql variables (quoted by psql), never spliced.
# Run as postgres, on the server's Unix socket. The role's settings reach the standbys by replication.
set -o errexit -o pipefail -o nounset
: "${POSTGRES_DB:?}" "${POSTGRES_PASSWORD:?}" "${APP_USER:=app}" "${APP_PASSWORD:?}"
: "${REPLICATION_USER:=replicator}" "${REPLICATION_PASSWORD:?}" "${APP_STATEMENT_TIMEOUT:=5s}"
psql -X -v ON_ERROR_STOP=1 -q -h /run/postgresql -U postgres -d postgres \
  -v app_user="$APP_USER" -v app_password="$APP_PASSWORD" \
  -v replication_user="$REPLICATION_USER" -v replication_password="$REPLICATION_PASSWORD" \
  -v postgres_password="$POSTGRES_PASSWORD" -v db="$POSTGRES_DB" -v statement_timeout="$APP_STATEMENT_TIMEOUT" \
  <<'SQL'
-- right after a promotion the synchronous standby may be the member that died: do not wait for it
SET synchronous_commit = local;
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('CREATE ROLE %I REPLICATION LOGIN', :'replication_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replication_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
ALTER ROLE postgres PASSWORD :'postgres_password';
ALTER ROLE :"app_user" PASSWORD :'app_password';
ALTER ROLE :"app_user" SET statement_timeout = :'statement_timeout';
-- the whole of pg_stat_replication and pg_stat_wal_receiver (who streams from whom, how far behind):
-- `/health/` and `shard_report` show them (shared/db/roles.py); nothing else of the server
GRANT pg_read_all_stats TO :"app_user";
ALTER ROLE :"replication_user" PASSWORD :'replication_password';
-- pg_prewarm() in the application's database (not a trusted extension: made here, as the superuser), for
-- filling the buffers after a bulk load (manage.py warm_buffers); it reaches the standbys by
-- replication. Its autoprewarm worker needs no extension (shared_preload_libraries, postgresql.conf).
\c :"db"
SET synchronous_commit = local;
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
SQL
