"""The order service's Celery app (its worker is the compose service `order-worker`)."""

from shared.celery import make_celery_app

app = make_celery_app("order")
