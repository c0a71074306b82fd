"""The product service's Celery app (its worker is the compose service `product-worker`)."""

from shared.celery import make_celery_app

app = make_celery_app("product")
