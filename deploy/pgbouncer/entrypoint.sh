#!/usr/bin/env bash
# Writes pgbouncer.ini from the environment and runs PgBouncer.
# PGBOUNCER_SERVERS="db0=user-db-haproxy:5000 db0_replica=user-db-haproxy:5001 ..." becomes one pool per
# shard server role, each reaching database $DB_NAME at that address (port 5432 when none is given): under
# Patroni, the service's HAProxy port of the server's leader, and of its standby. Django connects to the pool names (db0, db0_replica, ...).
# Each server also gets a small maintenance pool, `<name>_maint`, whose server connections have no
# statement timeout (the application role's is DB_STATEMENT_TIMEOUT): `migrate_shards`, `move_shard` and
# `shard_report` use those (shared/db/databases.py). QUERY_TIMEOUT (seconds) cuts off any query still
# running, in every pool: the backstop for a server that cannot enforce its own timeout; QUERY_WAIT_TIMEOUT
# (seconds) bounds the wait for a server connection.
# The admin console (database `pgbouncer`: SHOW, PAUSE, RELOAD ...) belongs to its own user,
# PGBOUNCER_ADMIN_USER with PGBOUNCER_ADMIN_PASSWORD, never to the application's: a compromised
# application cannot pause or reconfigure the pools. That user is no PostgreSQL role: it reaches only
# the console. The well-known default password is refused unless ALLOW_INSECURE_DEFAULTS=1.
set -o errexit -o pipefail -o nounset
# the password may come from the file APP_PASSWORD_FILE names (Docker Swarm secrets)
. /usr/local/lib/secret-env.sh
secret_env APP_PASSWORD PGBOUNCER_ADMIN_PASSWORD
: "${PGBOUNCER_SERVERS:?}" "${DB_NAME:?}" "${APP_USER:=app}" "${APP_PASSWORD:?}"
: "${PGBOUNCER_ADMIN_USER:=pgbouncer_admin}" "${PGBOUNCER_ADMIN_PASSWORD:?}" "${ALLOW_INSECURE_DEFAULTS:=0}"
if [ "$PGBOUNCER_ADMIN_PASSWORD" = pgbouncer-admin ] && [ "$ALLOW_INSECURE_DEFAULTS" != 1 ]; then
  echo "refusing to start with the well-known PGBOUNCER_ADMIN_PASSWORD: run \`make env\`," \
    "or set ALLOW_INSECURE_DEFAULTS=1 on a development machine." >&2
  exit 1
fi
: "${POOL_SIZE:=10}" "${MAX_CLIENT_CONN:=400}" "${QUERY_TIMEOUT:=10}" "${QUERY_WAIT_TIMEOUT:=5}"
: "${MAINTENANCE_POOL_SIZE:=2}"

conf=/etc/pgbouncer/pgbouncer.ini
{
  echo "[databases]"
  for entry in $PGBOUNCER_SERVERS; do
    address=${entry#*=} port=5432
    [[ $address == *:* ]] && port=${address##*:} address=${address%:*}
    echo "${entry%%=*} = host=$address port=$port dbname=$DB_NAME"
    echo "${entry%%=*}_maint = host=$address port=$port dbname=$DB_NAME pool_size=$MAINTENANCE_POOL_SIZE" \
      "connect_query='SET statement_timeout = 0'"
  done
  cat <<INI
[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/userlist.txt
admin_users = $PGBOUNCER_ADMIN_USER
stats_users = $PGBOUNCER_ADMIN_USER
pool_mode = transaction
max_client_conn = $MAX_CLIENT_CONN
default_pool_size = $POOL_SIZE
min_pool_size = 1
reserve_pool_size = 2
reserve_pool_timeout = 3
server_reset_query =
server_check_delay = 10
# a server that does not accept a connection within 3 s is down (a stopped standby): the client gets an
# error at once and its read goes to the primary, well inside the request's 8 s budget
server_connect_timeout = 3
# a stopped server's name stops resolving at once (compose removes it from Docker's DNS): look names up
# again every second, not every 15 s, so the pool does not keep dialling an address that is gone
dns_max_ttl = 1
server_login_retry = 1
# a server that vanished (a killed container: no reset ever comes back) is noticed when what was sent to
# it is not acknowledged within 2 s, instead of when query_timeout ends the query
tcp_user_timeout = 2000
# a query that gets no server connection within QUERY_WAIT_TIMEOUT seconds fails (08P01: the service
# answers 503 with Retry-After). While a shard server has no leader (a failover: about 20 s) every
# connection attempt fails and the query would otherwise wait until query_timeout: noticing the dead
# leader (about 3 s) plus 10 s outlasted the request's 12 s budget, and the gateway answered 504.
query_wait_timeout = $QUERY_WAIT_TIMEOUT
query_timeout = $QUERY_TIMEOUT
ignore_startup_parameters = extra_float_digits,options,application_name
log_connections = 0
log_disconnections = 0
INI
} >"$conf"
# a " inside a name or password is written "" in the userlist
{
  printf '"%s" "%s"\n' "${APP_USER//\"/\"\"}" "${APP_PASSWORD//\"/\"\"}"
  printf '"%s" "%s"\n' "${PGBOUNCER_ADMIN_USER//\"/\"\"}" "${PGBOUNCER_ADMIN_PASSWORD//\"/\"\"}"
} >/etc/pgbouncer/userlist.txt
chown -R postgres:postgres /etc/pgbouncer
mkdir -p /var/run/postgresql && chown postgres /var/run/postgresql
exec runuser -u postgres -- pgbouncer "$conf"
