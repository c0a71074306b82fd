#!/bin/bash
# Runs in `client`: one INSERT every 200 ms through db-haproxy:5000 for $1 seconds.
# Log lines: "<start epoch> <end epoch> ok <id>" or "<start> <end> fail <error>".
set -euo pipefail
dur=$1 out=$2
end=$(( $(date +%s) + dur )); : > "$out"
while [ "$(date +%s)" -lt "$end" ]; do
  t=$(date +%s.%3N)
  if r=$(psql -X -q -At -p 5000 -v ON_ERROR_STOP=1 \
           -c "INSERT INTO failover_test DEFAULT VALUES RETURNING id" 2>&1); then
    echo "$t $(date +%s.%3N) ok $r" >> "$out"
  else
    echo "$t $(date +%s.%3N) fail $(tr '\n' ' ' <<<"$r" | cut -c1-150)" >> "$out"
  fi
  sleep 0.2
done
