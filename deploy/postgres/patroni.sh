#!/usr/bin/env bash
# A shard server's member under Patroni (exec'd by entrypoint.sh when PATRONI_SCOPE is set). The two
# members of a shard server share PATRONI_SCOPE (the server's name, e.g. order-db-0); PATRONI_NAME is the
# member's own name (order-db-0 or order-db-0-replica: a name, not a role). Patroni elects the leader
# through its store: etcd (ETCD_HOSTS, compose and Swarm) or the Kubernetes API (in a pod). It
# initialises the first leader (post_bootstrap: roles.sh), clones the other member, promotes the standby
# when the leader's key expires, and rewinds the old leader into a standby when it comes back.
#
# Timings (measured in tests/test_failover.py): ttl 20 s, loop_wait 5 s,
# retry_timeout 5 s. A dead leader's key expires within ttl, so writes resume within about 20-25 s; an
# isolated leader, which cannot refresh its key, demotes itself after retry_timeout, well before its key
# expires (loop_wait + 2 x retry_timeout < ttl): never two leaders.
# Synchronous mode (SYNCHRONOUS_MODE, true on every server): every commit waits until the standby has
# it, so an acknowledged write survives the leader's loss, and only that synchronous standby may be
# promoted; with no standby left the leader goes on alone (synchronous_mode_strict off: writes do not
# block, and are then on one server until the standby is back). Asynchronous mode (false) was tried on
# the user and product servers: `docker compose up` recreating both members one after the other (a new
# image) let Patroni 3.0.2 promote the member that had missed the other's short lead, judged by a leader
# position in etcd not yet updated, and the two histories forked on the same timeline number (the
# standby then waited forever for WAL "ahead of the upstream server"). With false, a standby more than
# MAXIMUM_LAG_ON_FAILOVER bytes behind is not promoted.
set -o errexit -o pipefail -o nounset
: "${PATRONI_SCOPE:?}" "${PATRONI_NAME:?}" "${POSTGRES_PASSWORD:?}" "${REPLICATION_PASSWORD:?}"
: "${REPLICATION_USER:=replicator}" "${SYNCHRONOUS_MODE:=true}" "${MAXIMUM_LAG_ON_FAILOVER:=1048576}"
case "$SYNCHRONOUS_MODE" in true | false) ;; *) echo "SYNCHRONOUS_MODE must be true or false" >&2 && exit 1 ;; esac

# a YAML single-quoted scalar: ' is written ''; a newline is refused
q() {
  case "$1" in *$'\n'*) echo "a newline in a Patroni setting" >&2 && exit 1 ;; esac
  printf "'%s'" "${1//\'/\'\'}"
}

# the store: etcd where ETCD_HOSTS names it, else the Kubernetes API of the pod's own namespace (leader
# election on the Endpoints object named after the server, which its Service without selector uses:
# deploy/k8s). Patroni finds the server's members as the pods labelled scaling-django/shard=<server>
# (and part-of, as every pod of the platform), patches its own pod (PATRONI_NAME must be the pod's name)
# and labels it scaling-django/role=master or replica: the Service <server>-standby selects the replica.
store() {
  if [ -n "${ETCD_HOSTS:-}" ]; then
    printf 'etcd3:\n  hosts: %s\n' "$(q "$ETCD_HOSTS")"
  else
    : "${POD_IP:?POD_IP, the address of the pod, or ETCD_HOSTS}"
    cat <<YAML
kubernetes:
  namespace: $(q "$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)")
  labels: {app.kubernetes.io/part-of: scaling-django}
  scope_label: scaling-django/shard
  role_label: scaling-django/role
  use_endpoints: true
  pod_ip: $(q "$POD_IP")
  ports: [{name: postgres, port: 5432}]
YAML
  fi
}

# WAL archived into pgBackRest's repository by whichever member leads (deploy/postgres/backup.sh)
archiving() {
  [ -n "${PGBACKREST_STANZA:-}" ] || return 0
  cat <<'YAML'
    archive_mode: 'on'
    archive_command: 'pgbackrest archive-push %p'
    archive_timeout: 5min
YAML
}

umask 077
cat >/etc/patroni.yml <<YAML
scope: $(q "$PATRONI_SCOPE")
name: $(q "$PATRONI_NAME")
restapi:
  listen: 0.0.0.0:8008
  connect_address: $(q "$PATRONI_NAME:8008")
$(store)
watchdog: {mode: 'off'}  # no /dev/watchdog in a container
log: {level: WARNING}
bootstrap:
  dcs:  # written into the store once, when the server is first initialised (later: patronictl edit-config)
    ttl: 20
    loop_wait: 5
    retry_timeout: 5
    maximum_lag_on_failover: $MAXIMUM_LAG_ON_FAILOVER
    synchronous_mode: $SYNCHRONOUS_MODE
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true  # the old leader rewinds and rejoins as a standby by itself
      use_slots: true      # a replication slot per member keeps the WAL its standby still needs
      parameters:          # the ones Patroni keeps equal on both members (the rest: shard.conf)
        max_connections: 60
        max_wal_senders: 8
        max_replication_slots: 8
        wal_level: replica
        wal_log_hints: 'on'  # pg_rewind needs it (no data checksums)
        wal_keep_size: 128MB
        hot_standby: 'on'
  initdb: [{auth-host: scram-sha-256}, {auth-local: trust}, {encoding: UTF8}]
  post_bootstrap: /usr/local/bin/roles.sh
postgresql:
  listen: '*:5432'
  connect_address: $(q "$PATRONI_NAME:5432")
  data_dir: $(q "$PGDATA")
  bin_dir: /usr/lib/postgresql/15/bin
  custom_conf: /etc/postgresql/shard.conf
  pgpass: /tmp/pgpass
  basebackup: [{checkpoint: fast}]  # else a new standby waits for a spread checkpoint of an idle leader
  authentication:
    superuser: {username: postgres, password: $(q "$POSTGRES_PASSWORD")}
    replication: {username: $(q "$REPLICATION_USER"), password: $(q "$REPLICATION_PASSWORD")}
  parameters:
    unix_socket_directories: /run/postgresql
$(archiving)
  pg_hba:
    - local all all trust
    - host replication $REPLICATION_USER all scram-sha-256
    - host all all all scram-sha-256
  callbacks:
    on_start: /usr/local/bin/patroni-callback.sh
    on_role_change: /usr/local/bin/patroni-callback.sh
YAML
chown postgres:postgres /etc/patroni.yml

# the volume is the data directory's parent: Patroni renames or removes the data directory itself
# (a failed bootstrap, a re-clone), which cannot be done to a mount point
mkdir -p "$PGDATA" /run/postgresql /var/lib/pgbackrest
chown postgres:postgres "$PGDATA" /run/postgresql /var/lib/postgresql /var/lib/pgbackrest
chmod 700 "$PGDATA"
[ -n "${PGBACKREST_STANZA:-}" ] && setsid -f /usr/local/bin/backup.sh schedule
export HOME=/var/lib/postgresql
exec setpriv --reuid=postgres --regid=postgres --init-groups patroni /etc/patroni.yml
