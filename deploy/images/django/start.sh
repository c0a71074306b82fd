#!/usr/bin/env bash
# What a Django container runs: `web` (gunicorn), `worker` (Celery), `migrate`, or any command.
set -o errexit -o pipefail -o nounset

rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"/* 2>/dev/null || true

# A process with a database (DB_HOST: a service, not the gateway) waits, with backoff, until its shard
# primaries answer, and the web and worker processes until they are migrated too: Swarm and Kubernetes
# have no depends_on (manage.py wait_for_data_tier; under compose it passes at the first try).
wait_for_data_tier() {
  if [ -n "${DB_HOST:-}" ]; then
    python manage.py wait_for_data_tier "$@"
  fi
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
    exec celery --app config worker --queues "${SERVICE_NAME}" --hostname "${SERVICE_NAME}@%h" \
      --concurrency "${WORKER_CONCURRENCY:-2}" --loglevel INFO --without-gossip --without-mingle \
      --beat --schedule /tmp/celerybeat-schedule
    ;;
  migrate)
    wait_for_data_tier
    exec python manage.py migrate_shards
    ;;
  *)
    exec "$@"
    ;;
esac
