#!/bin/bash
# Runs in `client`: one read every 200 ms through db-haproxy:5001 for $1 seconds.
# Log lines: "<start> <end> ok <in_recovery> <server ip>" or "<start> <end> fail <error>".
set -euo pipefail
dur=$1 out=$2
end=$(( $(date +%s) + dur )); : > "$out"
while [ "$(date +%s)" -lt "$end" ]; do
  t=$(date +%s.%3N)
  if r=$(psql -X -q -At -F ' ' -p 5001 -c "SELECT pg_is_in_recovery(), inet_server_addr()" 2>&1); then
    echo "$t $(date +%s.%3N) ok $r" >> "$out"
  else
    echo "$t $(date +%s.%3N) fail $(tr '\n' ' ' <<<"$r" | cut -c1-150)" >> "$out"
  fi
  sleep 0.2
done
