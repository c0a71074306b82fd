#!/bin/bash
# Patroni callback (on_start / on_role_change): args = action role scope.
# Whenever this member is (becoming) the primary, re-apply role settings, so a password
# changed in the environment takes effect on an existing volume.
set -euo pipefail
action="$1" role="$2"
case "$role" in master|primary) ;; *) exit 0 ;; esac   # 3.0.x says "master"
for _ in $(seq 60); do                                   # wait for promotion to finish
  if [ "$(psql -X -At -h /run/postgresql -U postgres -d postgres \
          -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
    echo "callback $action/$role: applying roles" >&2
    exec /usr/local/bin/apply-roles.sh
  fi
  sleep 1
done
echo "callback $action/$role: still in recovery after 60 s, skipped" >&2
