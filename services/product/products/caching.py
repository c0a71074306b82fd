"""The product's cache layer: the public representations of a product and of a catalog page, kept in
the layered cache (L1 in process, L2 on redis-cache; see shared/cache.py), dropped on change, warmed
with the most viewed products, and the view counting that tells which those are.

Selectors only query; this module serializes what they return into the cached representations.
"""

from __future__ import annotations

import hashlib
import json
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


def _catalog_key(prefix: str, **query) -> str:
    # a digest of the query: search terms and cursor positions hold any text, of any length
    digest = hashlib.blake2b(json.dumps(query, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()
    return f"{prefix}:{layered.generation('catalog')}:{digest}"


def product_count_data(*, category: str | None, search: str | None) -> dict:
    """How many active products match the filters, and whether that is an estimate; cached like the pages.

    Every page of one walk through the catalog asks for the same count: it is computed once a generation.
    """

    def compute() -> dict:
        count = selectors.product_count(category=category, search=search)
        return {"count": count.value, "count_is_estimate": count.is_estimate}

    return layered.get_or_compute(
        _catalog_key("catalog-count", category=category, search=search), compute, ttl=PAGE_TTL
    )


def product_page_data(
    *,
    category: str | None,
    search: str | None,
    ordering: str,
    after: tuple | None = None,
    page: int | None = None,
    page_size: int,
) -> dict:
    """One page of the catalog as the API returns it; cached under the catalog's current generation.

    `next` is the cursor of the page that follows (None on the last page). A page asked for by number,
    or the first page, also says its number and the next one's (`page`, `next_page`); a page reached
    by cursor has no number.
    """
    query = {"category": category, "search": search, "ordering": ordering, "after": after, "page": page}

    def compute() -> dict:
        result = selectors.product_list(**query, page_size=page_size)
        number = page if page is not None else (1 if after is None else None)
        has_next_number = result.has_next and number is not None and number < selectors.PAGE_NUMBER_MAX
        return {
            **product_count_data(category=category, search=search),
            "page": number,
            "page_size": page_size,
            "next_page": number + 1 if has_next_number else None,
            "next": selectors.CATALOG.cursor(ordering, result.items[-1]) if result.has_next else None,
            "results": [dict(row) for row in ProductOutputSerializer(result.items, many=True).data],
        }

    return layered.get_or_compute(_catalog_key("catalog", **query, page_size=page_size), compute, ttl=PAGE_TTL)


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
