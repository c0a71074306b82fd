#!/bin/sh
# DATA_SOURCE_NAME from the servers' names (PG_SERVERS: "host/database ...") and the role's password, so
# the password is written in one place (.env) and never in the compose file.
set -eu
: "${PG_SERVERS:?}" "${PG_USER:?}" "${PG_PASSWORD:?}"
dsns=""
for server in $PG_SERVERS; do
  dsns="${dsns:+$dsns,}postgresql://${PG_USER}:${PG_PASSWORD}@${server%%/*}:5432/${server#*/}?sslmode=disable&connect_timeout=3"
done
DATA_SOURCE_NAME="$dsns"
export DATA_SOURCE_NAME
unset PG_PASSWORD
exec "$@"
