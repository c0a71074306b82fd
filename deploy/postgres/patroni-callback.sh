#!/usr/bin/env bash
# Patroni's on_start and on_role_change callback (arguments: action, role, scope). When this member
# leads (or has just been promoted), the roles get the current passwords and statement timeout
# (deploy/postgres/roles.sh): a password changed in .env takes effect on existing volumes, whichever
# member leads. Patroni 3.0 names the leader's role "master".
set -o nounset
action=$1 role=$2
case "$role" in master | primary) ;; *) exit 0 ;; esac
for _ in $(seq 60); do  # the promotion may still be finishing
  if [ "$(psql -XAtq -h /run/postgresql -U postgres -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
    /usr/local/bin/roles.sh && echo "patroni $action/$role: roles applied" >&2
    exit 0
  fi
  sleep 1
done
echo "patroni $action/$role: still in recovery after 60 s, roles not applied" >&2
