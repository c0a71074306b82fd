#!/usr/bin/env bash
# What a Django container runs: `web` (gunicorn), `worker` (Celery), `migrate`, or any command.
set -o errexit -o pipefail -o nounset

rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"/* 2>/dev/null || true

# A process with a database (DB_HOST: a service, not the gateway; or the monolith) waits, with backoff, until its shard
# primaries answer, and the web and worker processes until they are migrated too: Swarm and Kubernetes
# have no depends_on (manage.py wait_for_data_tier; under compose it passes at the first try).
wait_for_data_tier() {
  if [ -n "${DB_HOST:-}${MONOLITH_DOMAINS:-}" ]; then
    for_each_domain python manage.py wait_for_data_tier "$@"
  fi
}

# The monolith runs several domains, each with its own data tier (MONOLITH_DOMAINS): what waits for or
# migrates a data tier does so for each, with DOMAIN naming it (monolith/manage.py)
for_each_domain() {
  if [ -z "${MONOLITH_DOMAINS:-}" ]; then
    "$@"
    return
  fi
  for domain in ${MONOLITH_DOMAINS}; do
    DOMAIN="${domain}" "$@"
  done
}

case "${1:-web}" in
  web)
    wait_for_data_tier --migrated
    exec gunicorn --config /app/shared/gunicorn_conf.py config.wsgi
    ;;
  worker)
    wait_for_data_tier --migrated
    # --beat runs the periodic outbox sweep inside the worker (several sweepers are safe: rows are
    # claimed with SKIP LOCKED and consumers are idempotent)
    exec celery --app config worker --queues "${WORKER_QUEUES:-${SERVICE_NAME}}" --hostname "${SERVICE_NAME}@%h" \
      --concurrency "${WORKER_CONCURRENCY:-2}" --loglevel INFO --without-gossip --without-mingle \
      --beat --schedule /tmp/celerybeat-schedule
    ;;
  migrate)
    wait_for_data_tier
    for_each_domain python manage.py migrate_shards
    ;;
  *)
    exec "$@"
    ;;
esac
