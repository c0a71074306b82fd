#!/usr/bin/env bash
# HAProxy in front of one service's shard servers under Patroni (the pattern Patroni documents: the
# application -> PgBouncer -> HAProxy -> the member that holds the role). Its configuration is written
# from DB_SERVERS, e.g. "order-db-0=order-db-0,order-db-0-replica order-db-1=order-db-1,order-db-1-replica":
# the i-th server (from 0) gets port 5000+2i for its leader (writes) and 5001+2i for a standby (reads),
# or the leader while no standby streams. Each member's Patroni answers the checks on :8008 (`/primary`,
# `/replica`): after a failover, the new leader is on the write port within a second of its promotion.
# A member up is checked every 2 s and, once a check fails, every 0.5 s: two misses mark it down
# within 2.5 s. A member down is checked every second, so a new leader is on the write port within a
# second of its promotion (tests/test_failover.py measures the failovers). Every check is a request to
# Patroni, which asks PostgreSQL: at 1 s for every member, 24 checks a second kept the stack busy at rest.
set -o errexit -o pipefail -o nounset
: "${DB_SERVERS:?}"
conf=/etc/haproxy/haproxy.cfg
{
  cat <<'CFG'
global
    maxconn 2000
    user haproxy
    group haproxy
    log stdout format raw local0 warning

defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
    # OPTIONS, not GET: HAProxy closes a check after the status line, and Patroni logs a traceback for
    # every GET it could not finish. init-addr: start even when a member does not resolve (stopped).
    default-server inter 2s fastinter 500ms downinter 1s fall 2 rise 1 resolvers docker init-addr last,libc,none check port 8008

resolvers docker
    nameserver dns 127.0.0.11:53
    resolve_retries 2
    timeout resolve 1s
    timeout retry 1s
    hold valid 5s
    # a stopped member keeps its last address and simply fails its checks; were it put in maintenance,
    # it would come back the moment its name resolves again, before any check passed
    hold nx 3600s
    hold obsolete 3600s
CFG
  port=5000
  for entry in $DB_SERVERS; do
    server=${entry%%=*} members=${entry#*=}
    echo
    echo "# $server: leader on :$port, standby on :$((port + 1))"
    echo "listen ${server}_leader"
    echo "    bind :$port"
    echo "    option httpchk OPTIONS /primary"
    echo "    http-check expect status 200"
    # a member no longer leading loses its sessions: PgBouncer reconnects them to the new leader
    for member in ${members//,/ }; do
      echo "    server $member $member:5432 on-marked-down shutdown-sessions"
    done
    echo
    echo "listen ${server}_standby"
    echo "    bind :$((port + 1))"
    echo "    option httpchk OPTIONS /replica"
    echo "    http-check expect status 200"
    echo "    balance roundrobin"
    # a standby that does not answer is given up quickly; the service retries such a read on the leader
    # (shared/db/replicas.py). Not `observe layer4 ... on-error mark-down`: a member marked down that way
    # stayed down in HAProxy 2.6 although its checks passed again, and reads went to the leader for good.
    echo "    timeout connect 1s"
    echo "    retries 2"
    echo "    option redispatch 1"
    # Sessions follow the roles, as PgBouncer keeps its server connections for an hour: a member that
    # stops being a standby (promoted, or gone) loses its sessions, and a standby back up takes the
    # sessions that went to the leader meanwhile. A read cut off that way fails once and is retried on
    # the leader by the service (shared/db/replicas.py).
    for member in ${members//,/ }; do
      echo "    server $member $member:5432 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions"
    done
    echo "    server ${server}-leader 127.0.0.1:$port backup no-check"
    port=$((port + 2))
  done
} >"$conf"
haproxy -c -q -f "$conf"
exec haproxy -W -db -f "$conf"
