"""The product's cache layer: the public representations of a product and of a catalog page, kept in
the layered cache (L1 in process, L2 on redis-cache; see shared/cache.py), dropped on change, warmed
with the most viewed products, and the view counting that tells which those are.

Selectors only query; this module serializes what they return into the cached representations.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable

import requests
from django.conf import settings

from products import selectors
from products.serializers import ProductOutputSerializer
from shared.cache import layered
from shared.errors import NotFound

logger = logging.getLogger(__name__)

DETAIL_TTL = 300
PAGE_TTL = 60
STOCK_L1_SECONDS = 0.5
VIEWS_KEY = "product:views"


def product_cache_key(product_id: int) -> str:
    return f"product:{product_id}"


def product_detail_data(*, product_id: int) -> dict:
    """The public representation of an active product: the long-lived cached part (everything but the
    stock, DETAIL_TTL) with the units in stock now (`product_stock`)."""
    data = layered.get_or_compute(
        product_cache_key(product_id),
        lambda: dict(ProductOutputSerializer(selectors.product_get(product_id=product_id)).data) | {"stock": None},
        ttl=DETAIL_TTL,
    )
    layered.count_view(VIEWS_KEY, str(product_id))
    return data | {"stock": product_stock(product_id=product_id)}  # in the same place of the object


def product_stock_key(product_id: int) -> str:
    return f"product-stock:{product_id}"


def product_stock(*, product_id: int) -> int | None:
    """Units of a product in stock now: a cache entry of its own, dropped by every reservation and release
    (`product_stock_changed`) and refilled from the primary (a replica may not have replayed the change
    yet). Each process keeps it STOCK_L1_SECONDS: what a product shows as available follows the saga
    within that and the edge's second (shared/http/cdn.py), while its long-lived part stays cached."""
    return layered.get_or_compute(
        product_stock_key(product_id),
        lambda: selectors.product_stock_now(product_id=product_id),
        ttl=DETAIL_TTL,
        l1_ttl=STOCK_L1_SECONDS,
    )


def product_stock_changed(*, product_ids: Iterable[int]) -> None:
    """Drop the stock entries of `product_ids` from every process and from L2 (after the change committed)."""
    for product_id in product_ids:
        layered.invalidate(product_stock_key(product_id))


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
        if number == 1 and not result.has_next:
            # the first page holds every match: that is the count, with no query of its own (a rare
            # search term would otherwise search each server twice: once to count, once for the page)
            counted = {"count": len(result.items), "count_is_estimate": False}
        else:
            counted = product_count_data(category=category, search=search)
        return {
            **counted,
            "page": number,
            "page_size": page_size,
            "next_page": number + 1 if has_next_number else None,
            "next": selectors.CATALOG.cursor(ordering, result.items[-1]) if result.has_next else None,
            "results": [dict(row) for row in ProductOutputSerializer(result.items, many=True).data],
        }

    # only first pages are hot enough for every process to keep (L1); a page further in is L2's alone
    l1_ttl = None if after is None and page in (None, 1) else 0
    return layered.get_or_compute(
        _catalog_key("catalog", **query, page_size=page_size), compute, ttl=PAGE_TTL, l1_ttl=l1_ttl
    )


def most_viewed_product_ids(*, limit: int) -> list[int]:
    return [int(member) for member in layered.top(VIEWS_KEY, limit)]


def catalog_changed() -> None:
    """Start a new catalog generation: cached pages and counts of the old one are never read again."""
    layered.bump("catalog")


class EdgePurgeFailed(Exception):
    """The edge did not confirm that it dropped a product's page."""


def edge_purge(*, product_id: int) -> None:
    """Drop the product's page from the edge cache (only its canonical URL is ever stored there, see
    shared/http/cdn.py). 200: dropped, 404: it was not cached; anything else raises EdgePurgeFailed."""
    try:
        response = requests.get(
            f"{settings.EDGE_PURGE_URL}/purge/api/products/{product_id}/",
            headers={"X-Purge-Token": settings.EDGE_PURGE_TOKEN},
            timeout=2,
        )
    except requests.RequestException as exc:
        raise EdgePurgeFailed(f"product {product_id}: {exc.__class__.__name__}") from exc
    if response.status_code not in (200, 404):
        raise EdgePurgeFailed(f"product {product_id}: the edge answered {response.status_code}")


def product_caches_drop(*, product_id: int, edge: bool = False) -> None:
    """Drop a product from the application's cache layers: each process's L1, L2, its stock, the catalog
    pages; with `edge`, from the edge cache too (`edge_purge`, which raises when the edge does not
    confirm). A change drops them when it commits; the product worker, the only holder of the edge's
    purge token, drops them again with the edge on `product.updated` (retried until the edge confirms)."""
    layered.invalidate(product_cache_key(product_id))
    product_stock_changed(product_ids=[product_id])
    catalog_changed()
    if edge:
        edge_purge(product_id=product_id)


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
