#!/bin/bash
# Generates /etc/haproxy/haproxy.cfg from DB_SERVERS, checks it and runs HAProxy in the foreground.
set -euo pipefail
/usr/local/bin/gen-haproxy-cfg.sh > /etc/haproxy/haproxy.cfg
haproxy -c -q -f /etc/haproxy/haproxy.cfg
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
