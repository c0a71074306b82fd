#!/bin/bash
# Patroni post_bootstrap: runs once on the member that ran initdb. Patroni 3.0.2 creates
# the replication role only AFTER this script, so it is created here (Patroni then ALTERs it).
set -euo pipefail
source /etc/patroni/roles.env
psql -X -q -h /run/postgresql -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -v app_pw="$APP_PASSWORD" -v repl_pw="$REPLICATION_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD :'repl_pw';
CREATE ROLE app LOGIN PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER app;
SQL
exec /usr/local/bin/apply-roles.sh
