#!/bin/bash
# Applies the current passwords of postgres/app/replicator and app's statement_timeout
# (from the container environment, via /etc/patroni/roles.env). Primary only.
# Values travel as psql variables (:'x' = literal, :"x" = identifier), never spliced into SQL.
set -euo pipefail
source /etc/patroni/roles.env
psql -X -q -h /run/postgresql -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -v pg_pw="$POSTGRES_PASSWORD" -v app_pw="$APP_PASSWORD" -v repl_pw="$REPLICATION_PASSWORD" \
  -v app_timeout="$APP_STATEMENT_TIMEOUT" <<'SQL'
-- do not wait for a (possibly dead) sync standby right after a promotion
SET synchronous_commit = local;
ALTER ROLE postgres   PASSWORD :'pg_pw';
ALTER ROLE app        PASSWORD :'app_pw';
ALTER ROLE replicator PASSWORD :'repl_pw';
ALTER ROLE app SET statement_timeout = :'app_timeout';
SQL
echo "apply-roles: passwords and app statement_timeout applied" >&2
