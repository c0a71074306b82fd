#!/bin/bash
# Runs inside a Patroni member (docker exec -d): every 200 ms asks the LOCAL postgres
# (unix socket, works while the container is cut off the network) pg_is_in_recovery().
# Log lines: "<epoch> f|t|down".
set -euo pipefail
dur=$1 out=$2
end=$(( $(date +%s) + dur )); : > "$out"
while [ "$(date +%s)" -lt "$end" ]; do
  v=$(timeout 1 psql -X -At -h /run/postgresql -U postgres -d postgres \
        -c 'SELECT pg_is_in_recovery()' 2>/dev/null) || v=down
  echo "$(date +%s.%3N) ${v:-down}" >> "$out"
  sleep 0.2
done
