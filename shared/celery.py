"""Celery glue every service uses: one app per service, configured from Django settings (CELERY_*).

At-least-once delivery: late acks, requeue when a worker dies mid-task, prefetch 1 (see base settings).
Each service's worker consumes the queue named after the service.
"""

import os

from celery import Celery


def make_celery_app(service: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_default_queue = service
    app.autodiscover_tasks()
    return app
