"""Periodic work of the product worker."""

from celery import shared_task

from products.caching import product_caches_warm


@shared_task(name="products.warm_cache", ignore_result=True, expires=60)
def warm_cache():
    product_caches_warm()
