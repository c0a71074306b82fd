#!/usr/bin/env bash
# Checks HAProxy's settings, finds the address Docker publishes ports from, and runs HAProxy in the foreground.
set -o errexit -o pipefail -o nounset
: "${HAPROXY_LOGIN_LIMIT:=5}" "${HAPROXY_LOGIN_PERIOD:=60}" "${HAPROXY_API_LIMIT:=500}" "${HAPROXY_API_PERIOD:=10}"
: "${HAPROXY_MAX_BODY_BYTES:=1048576}"
for name in HAPROXY_LOGIN_LIMIT HAPROXY_LOGIN_PERIOD HAPROXY_API_LIMIT HAPROXY_API_PERIOD HAPROXY_MAX_BODY_BYTES; do
  if ! [[ ${!name} =~ ^[1-9][0-9]*$ ]]; then
    echo "$name must be a positive whole number (a count, or seconds for a *_PERIOD), not '${!name}'" >&2
    exit 2
  fi
done
export HAPROXY_LOGIN_LIMIT HAPROXY_LOGIN_PERIOD HAPROXY_API_LIMIT HAPROXY_API_PERIOD HAPROXY_MAX_BODY_BYTES
# A published port reaches the container from the host's address on the network: the default route's gateway
# (the hex in /proc/net/route is little-endian). The stats page answers it and the loopback only.
gateway_hex=$(awk '$2 == "00000000" {print $3; exit}' /proc/net/route)
if [ -n "$gateway_hex" ]; then
  HAPROXY_STATS_PEER=$(printf '%d.%d.%d.%d' "0x${gateway_hex:6:2}" "0x${gateway_hex:4:2}" "0x${gateway_hex:2:2}" "0x${gateway_hex:0:2}")
else
  HAPROXY_STATS_PEER=127.0.0.1  # no network: the loopback alone
fi
export HAPROXY_STATS_PEER
haproxy -c -q -f /etc/haproxy/haproxy.cfg
# -W: master-worker (a reload with SIGUSR2 keeps the connections); -db: in the foreground, logs to stdout
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
