#!/usr/bin/env bash
# `make restore SERVER=order-db-0 [TIME="2026-12-05 13:00:00+00"]`: one shard server's pgBackRest backups
# restored to the point in time TIME (empty: everything archived) into a scratch container, the
# `pg-restore` service (deploy/postgres/restore.sh), left running for inspection. Never over the live
# server: the scratch container has its own data and mounts the repository read-only.
set -o errexit -o pipefail -o nounset
server=${1:?usage: pg-restore.sh SERVER [TIME]}
time=${2:-}
case "$server" in
  user-db-[0-9]* | product-db-[0-9]* | order-db-[0-9]*) ;;
  *) echo "SERVER is a shard server (user-db-0, order-db-1...), not '$server'" >&2; exit 2 ;;
esac
case "$server" in user-*) db=users ;; product-*) db=products ;; *) db=orders ;; esac
name="${COMPOSE_PROJECT_NAME:-scaling-django}-restore-$server"

docker rm -f "$name" >/dev/null 2>&1 || true
docker compose --profile restore run -d --name "$name" \
  -e PGBACKREST_STANZA="$server" -e RESTORE_TIME="$time" pg-restore >/dev/null
echo "--> restoring $server to ${time:-the end of its archive} into $name"
deadline=$((SECONDS + 600))
until [ "$(docker exec "$name" psql -U postgres -qAtX -c 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = t ]; do
  if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ] || [ $SECONDS -gt $deadline ]; then
    docker logs --tail 30 "$name" >&2 || true
    echo "the restore of $server failed (its log is above; docker rm -f $name)" >&2
    exit 1
  fi
  sleep 2
done
echo "--> $server restored and promoted in $name (a copy: the live server is untouched)"
echo "    docker exec -it $name psql -U postgres -d $db    # inspect it"
echo "    docker rm -f $name                                   # and throw it away"
