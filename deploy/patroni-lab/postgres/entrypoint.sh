#!/bin/bash
# Entrypoint of a Patroni member: renders /etc/patroni.yml from the environment and
# execs Patroni as user postgres. Any other command (e.g. `sleep infinity` for the
# client service) is exec'd unchanged.
set -euo pipefail

if [ "${1:-}" != "patroni" ]; then exec "$@"; fi

: "${PATRONI_SCOPE:?set PATRONI_SCOPE (cluster name)}"
: "${ETCD_HOSTS:?set ETCD_HOSTS, e.g. etcd-0:2379,etcd-1:2379,etcd-2:2379}"
: "${POSTGRES_DB:?}" "${POSTGRES_PASSWORD:?}" "${APP_PASSWORD:?}" "${REPLICATION_PASSWORD:?}"
NAME="${PATRONI_NAME:-$(hostname)}"          # member name = compose service name (hostname)
SYNC="${SYNCHRONOUS_MODE:-false}"
case "$SYNC" in true|false) ;; *) echo "SYNCHRONOUS_MODE must be true or false" >&2; exit 1 ;; esac
export APP_STATEMENT_TIMEOUT="${APP_STATEMENT_TIMEOUT:-5s}"

# YAML single-quoted scalar: the only escape is '' for a quote; refuse newlines.
q() { case "$1" in *$'\n'*) echo "newline in a setting" >&2; exit 1 ;; esac; printf "'%s'" "${1//\'/\'\'}"; }

# Secrets for the post_bootstrap/callback scripts (declare -p output is shell-safe).
install -d -m 700 -o postgres -g postgres /etc/patroni
( umask 077; declare -p POSTGRES_DB POSTGRES_PASSWORD APP_PASSWORD REPLICATION_PASSWORD \
    APP_STATEMENT_TIMEOUT > /etc/patroni/roles.env )
chown postgres:postgres /etc/patroni/roles.env

umask 077
cat > /etc/patroni.yml <<YAML
scope: $(q "$PATRONI_SCOPE")
name: $(q "$NAME")
restapi:
  listen: 0.0.0.0:8008
  connect_address: $(q "$NAME:8008")
etcd3:
  hosts: $(q "$ETCD_HOSTS")
watchdog:
  mode: 'off'                      # no /dev/watchdog in a container
bootstrap:
  dcs:                             # written to etcd once, at cluster bootstrap
    ttl: 20                        # leader key lifetime: failover starts <= 20 s after the leader dies
    loop_wait: 5                   # HA loop period
    retry_timeout: 5               # DCS/PG retry budget; loop_wait + 2*retry_timeout <= ttl
    maximum_lag_on_failover: 1048576
    synchronous_mode: $SYNC        # commit waits for the sync standby -> no acknowledged loss
    synchronous_mode_strict: false # with no standby left, the primary keeps accepting writes
    postgresql:
      use_pg_rewind: true          # old leader rewinds and rejoins by itself
      use_slots: true              # a physical slot per member keeps WAL for standbys
      parameters:
        max_connections: 60
        shared_buffers: 128MB
        wal_level: replica
        wal_log_hints: 'on'        # required by pg_rewind (no data checksums)
        hot_standby: 'on'
        hot_standby_feedback: 'on'
        max_wal_senders: 8
        max_replication_slots: 8
        wal_keep_size: 128MB
        timezone: UTC
        password_encryption: scram-sha-256
  initdb:
    - auth-host: scram-sha-256
    - auth-local: trust
    - encoding: UTF8
  post_bootstrap: /usr/local/bin/post-bootstrap.sh   # creates role app + database
postgresql:
  listen: '*:5432'                 # -> listen_addresses = '*'
  connect_address: $(q "$NAME:5432")
  data_dir: /var/lib/postgresql/data
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /tmp/pgpass
  basebackup:                      # new standby: fast checkpoint, else pg_basebackup waits
    - checkpoint: fast             # up to ~4.5 min for a spread checkpoint on an idle primary
  use_unix_socket: true            # Patroni talks to its own postgres via the socket (trust)
  authentication:
    superuser:   {username: postgres,   password: $(q "$POSTGRES_PASSWORD")}
    replication: {username: replicator, password: $(q "$REPLICATION_PASSWORD")}
  parameters:
    unix_socket_directories: /run/postgresql
  pg_hba:
    - local all all trust
    - host replication replicator all scram-sha-256
    - host all all all scram-sha-256
  callbacks:                       # re-apply passwords/statement_timeout when we run as primary
    on_start: /usr/local/bin/callback.sh
    on_role_change: /usr/local/bin/callback.sh
YAML
chown postgres:postgres /etc/patroni.yml

install -d -m 700 -o postgres -g postgres /var/lib/postgresql/data
install -d -m 2775 -o postgres -g postgres /run/postgresql
export HOME=/var/lib/postgresql
exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
