"""The user service's Celery app (its worker is the compose service `user-worker`)."""

from shared.celery import make_celery_app

app = make_celery_app("user")
