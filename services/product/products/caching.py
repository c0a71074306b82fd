"""The product's cache layer: the public representations of a product and of a catalog page, kept in
the layered cache (L1 in process, L2 on redis-cache; see shared/cache.py), dropped on change, warmed
with the most viewed products, and the view counting that tells which those are.

Selectors only query; this module serializes what they return into the cached representations.
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings

from products import selectors
from products.serializers import ProductOutputSerializer
from shared.cache import layered
from shared.errors import NotFound

logger = logging.getLogger(__name__)

DETAIL_TTL = 300
PAGE_TTL = 60
VIEWS_KEY = "product:views"


def product_cache_key(product_id: int) -> str:
    return f"product:{product_id}"


def product_detail_data(*, product_id: int) -> dict:
    """The public representation of an active product, from the cache layers when they have it."""
    data = layered.get_or_compute(
        product_cache_key(product_id),
        lambda: dict(ProductOutputSerializer(selectors.product_get(product_id=product_id)).data),
        ttl=DETAIL_TTL,
    )
    layered.count_view(VIEWS_KEY, str(product_id))
    return data


def product_page_data(**query) -> dict:
    """One page of the catalog as the API returns it; cached under the catalog's current generation."""
    key = "catalog:{}:{}".format(layered.generation("catalog"), ":".join(f"{k}={v}" for k, v in sorted(query.items())))

    def compute() -> dict:
        page = selectors.product_list(**query)
        return {
            "count": page.count,
            "page": page.page,
            "page_size": page.page_size,
            "next_page": page.page + 1 if page.has_next else None,
            "results": [dict(row) for row in ProductOutputSerializer(page.items, many=True).data],
        }

    return layered.get_or_compute(key, compute, ttl=PAGE_TTL)


def most_viewed_product_ids(*, limit: int) -> list[int]:
    return [int(member) for member in layered.top(VIEWS_KEY, limit)]


def product_caches_drop(*, product_id: int) -> None:
    """Drop a product from every cache layer: each process's L1, L2, the catalog pages, the edge."""
    layered.invalidate(product_cache_key(product_id))
    layered.bump("catalog")
    try:
        requests.get(f"{settings.EDGE_PURGE_URL}/purge/api/products/{product_id}/", timeout=2)
    except requests.RequestException as exc:
        logger.warning("could not purge product %s at the edge: %s", product_id, exc)


def product_caches_warm(*, limit: int = 100) -> int:
    """Fill the cache layers with the most viewed products (run periodically and by `warm_cache`)."""
    warmed = 0
    for product_id in most_viewed_product_ids(limit=limit):
        try:
            product_detail_data(product_id=product_id)
            warmed += 1
        except NotFound:
            continue
    return warmed
