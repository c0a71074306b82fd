"""Reads of the product service: one product from its shard, the catalog by scatter-gather.

Selectors return models and pages of models; the cached public representations are built from them in
`products.caching`.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from products.models import Product
from shared.db import replicas
from shared.db.scatter import Page, group_ids_by_server, scatter_gather
from shared.errors import NotFound

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
    queryset = Product.objects.select_related("category")
    product = replicas.read_by_id(queryset if include_inactive else queryset.filter(is_active=True), product_id)
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
