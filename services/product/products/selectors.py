"""Reads of the product service: one product from its shard, the catalog by scatter-gather."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from products.models import Category, Product
from products.serializers import ProductOutputSerializer
from shared.cache import layered
from shared.db import replicas, shards
from shared.db.scatter import Page, group_ids_by_server, scatter_gather
from shared.db.shards import UnknownShard
from shared.http.errors import NotFound

# public ordering name -> ordering fields (one direction, ending in the key; see scatter_gather)
ORDERINGS = {
    "-created": ("-id",),
    "created": ("id",),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}


def product_get(*, product_id: int, include_inactive: bool = False) -> Product:
    def read(alias: str) -> Product | None:
        queryset = Product.objects.using(alias).select_related("category").filter(id=product_id)
        return queryset.first() if include_inactive else queryset.filter(is_active=True).first()

    try:
        product = replicas.run_read_for_id(product_id, read)
    except UnknownShard:
        product = None
    if product is None:
        raise NotFound("No such product.")
    return product


def product_list(
    *,
    category: str | None = None,
    search: str | None = None,
    ordering: str = "-created",
    page: int = 1,
    page_size: int = 20,
) -> Page:
    """The active catalog, filtered, in a stable global order, one page at a time."""

    def query(alias: str) -> QuerySet:
        queryset = Product.objects.using(alias).select_related("category").filter(is_active=True)
        if category:
            queryset = queryset.filter(category_id=category)
        if search:
            queryset = queryset.filter(Q(name__icontains=search) | Q(sku__iexact=search))
        return queryset

    return scatter_gather(query=query, order=ORDERINGS[ordering], page=page, page_size=page_size)


def products_by_ids(*, product_ids: list[int]) -> list[Product]:
    """Every product among `product_ids` (active or not), each read from its own shard."""
    found: list[Product] = []
    for primary, ids in group_ids_by_server(product_ids).items():
        found += replicas.run_read(
            primary,
            lambda alias, ids=ids: list(Product.objects.using(alias).select_related("category").filter(id__in=ids)),
        )
    return found


def category_list() -> list[Category]:
    """Categories (every server holds all of them; the first one answers)."""
    return replicas.run_read(shards.primaries()[0], lambda alias: list(Category.objects.using(alias).all()))


# --- cached representations (L1 in process, L2 on redis-cache; see shared/cache.py) ------------

DETAIL_TTL = 300
PAGE_TTL = 60
VIEWS_KEY = "product:views"


def product_cache_key(product_id: int) -> str:
    return f"product:{product_id}"


def product_detail_data(*, product_id: int) -> dict:
    """The public representation of an active product, from the cache layers when they have it."""
    data = layered.get_or_compute(
        product_cache_key(product_id),
        lambda: dict(ProductOutputSerializer(product_get(product_id=product_id)).data),
        ttl=DETAIL_TTL,
    )
    layered.count_view(VIEWS_KEY, str(product_id))
    return data


def product_page_data(**query) -> dict:
    """One page of the catalog as the API returns it; cached under the catalog's current generation."""
    key = "catalog:{}:{}".format(layered.generation("catalog"), ":".join(f"{k}={v}" for k, v in sorted(query.items())))

    def compute() -> dict:
        page = product_list(**query)
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
