#!/bin/bash
# Prints an HAProxy config for the shard servers in DB_SERVERS:
#   DB_SERVERS="db0=order-db-0,order-db-0-replica db1=order-db-1,order-db-1-replica"
# Shard server i gets :$((5000+2i)) -> current leader (read/write) and
# :$((5001+2i)) -> a healthy standby, or the leader when no standby is up (reads).
# All members: Patroni REST API on :8008 answers the checks.
set -euo pipefail
: "${DB_SERVERS:?}"
cat <<'CFG'
global
    maxconn 1000
    log stdout format raw local0 notice
    stats socket ipv4@127.0.0.1:9999 level admin   # runtime API (bash: exec 3<>/dev/tcp/127.0.0.1/9999)

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s          # a dead server is abandoned quickly
    timeout client 30m
    timeout server 30m
    timeout check 1s
    # Patroni REST API answers the health checks (OPTIONS, not GET: HAProxy resets the check
    # connection after the status line and Patroni logs ConnectionResetError for every GET body);
    # 1 s checks, 2 misses -> down, 1 success -> up.
    default-server inter 1s fall 2 rise 1 resolvers docker init-addr last,libc,none check port 8008

# init-addr last,libc,none: resolve at start if possible, but start even if a member is gone.
resolvers docker                # Docker's DNS: members may be absent or change IP
    nameserver dns 127.0.0.11:53
    resolve_retries 2
    timeout resolve 1s
    timeout retry 1s
    hold valid 5s
    # Keep the last address when a name vanishes (stopped/disconnected container): the
    # server then simply fails its checks. Going through MAINT instead made HAProxy mark it
    # UP the moment the name resolved again, before any check -> errors on restart.
    hold nx 3600s
    hold obsolete 3600s
CFG
port=5000
for shard in $DB_SERVERS; do
  name="${shard%%=*}"; members="${shard#*=}"
  servers() { local m; for m in ${members//,/ }; do echo "    server $m $m:5432${1:+ $1}"; done; }
  cat <<CFG

# ---- shard server $name: ${members//,/, } ----
listen ${name}_rw               # :$port = the Patroni leader only
    bind :$port
    option httpchk OPTIONS /primary
    http-check expect status 200
    # a leader that is marked down (demoted/lost) loses its client sessions -> they reconnect
$(servers "on-marked-down shutdown-sessions")

listen ${name}_ro               # :$((port+1)) = a standby, the leader if no standby is up
    bind :$((port+1))
    option httpchk OPTIONS /replica
    http-check expect status 200
    balance roundrobin
    # A connect error marks the standby down at once and the retry is redispatched (to
    # the backup = the leader), so a dying standby delays a read ~1 s instead of failing it.
    # (No shutdown-sessions here: it would also kill the connection being redispatched.)
    timeout connect 1s
    retries 2
    option redispatch 1
$(servers "observe layer4 error-limit 1 on-error mark-down")
    # Used only while no standby is up: loops back into ${name}_rw, i.e. to the leader.
    server ${name}-leader 127.0.0.1:$port backup no-check
CFG
  port=$((port+2))
done
