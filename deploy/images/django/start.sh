#!/usr/bin/env bash
# What a Django container runs: `web` (gunicorn), `worker` (Celery), `migrate`, or any command.
set -o errexit -o pipefail -o nounset

rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"/* 2>/dev/null || true

case "${1:-web}" in
  web)
    exec gunicorn --config /app/shared/gunicorn_conf.py config.wsgi
    ;;
  worker)
    # --beat runs the periodic outbox sweep inside the worker (several sweepers are safe: rows are
    # claimed with SKIP LOCKED and consumers are idempotent)
    exec celery --app config worker --queues "${SERVICE_NAME}" --hostname "${SERVICE_NAME}@%h" \
      --concurrency "${WORKER_CONCURRENCY:-2}" --loglevel INFO --without-gossip --without-mingle \
      --beat --schedule /tmp/celerybeat-schedule
    ;;
  migrate)
    exec python manage.py migrate_shards
    ;;
  *)
    exec "$@"
    ;;
esac
