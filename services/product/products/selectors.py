"""Reads of the product service: one product from its shard, the catalog by scatter-gather.

Selectors return models and pages of models; the cached public representations are built from them in
`products.caching`. Every query here has an index that answers it (`Product.Meta.indexes`), and
`products/tests/test_query_plans.py` checks with EXPLAIN that none reads the product table sequentially.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q, QuerySet

from products.models import Product
from shared.db import replicas, shards
from shared.db.counts import Count
from shared.db.keyset import Keyset, Page
from shared.db.scatter import group_ids_by_server, scatter_count, scatter_gather, scatter_keyset
from shared.errors import NotFound

# public ordering name -> ordering fields (one direction, ending in the key; see shared/db/keyset.py)
ORDERINGS = {
    "-created": ("-id",),
    "created": ("id",),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}
# the catalog's cursors: positions in one of ORDERINGS
CATALOG = Keyset(name="products", model=Product, orderings=ORDERINGS)
# orderings whose index holds every column a search tests (name, id and, included, sku): a search in
# them reads the sort keys first, walking that index only (`scatter_keyset(keys_first=True)`). Matches
# cluster in a name ordering (names that start alike), so a frequent word may lie thousands of index
# entries from the start of the list: index entries cost microseconds, rows from the table far more.
COVERED_BY_THEIR_INDEX = {"name", "-name"}
# pages asked for by number (`page`) go no deeper than this: each server reads page × page_size rows
PAGE_NUMBER_MAX = 200
# a search term matches names when it has at least this many characters (a trigram index finds them);
# any term matches the SKU exactly
NAME_SEARCH_MIN_LENGTH = 3


def product_get(*, product_id: int, include_inactive: bool = False) -> Product:
    queryset = Product.objects.all()
    product = replicas.read_by_id(queryset if include_inactive else queryset.filter(is_active=True), product_id)
    if product is None:
        raise NotFound("No such product.")
    return product


def product_stock_now(*, product_id: int) -> int | None:
    """Units of an active product in stock, read on the primary (what the saga last committed)."""
    alias = shards.primary_for_id(product_id)
    return Product.objects.using(alias).filter(id=product_id, is_active=True).values_list("stock", flat=True).first()


def _catalog(alias: str, *, category: str | None, search: str | None) -> QuerySet:
    # no select_related("category") here or in any read of this module: the representation names the
    # category by its slug, the foreign key's own column (`category_id`). The join made a Category
    # instance per row for nothing: 101 rows of a deep page took 5.9 ms to read and build, 3.8 without
    queryset = Product.objects.using(alias).filter(is_active=True)
    if category:
        queryset = queryset.filter(category_id=category)
    if search:
        # Django writes these as UPPER("sku"::text) = UPPER(%s) and UPPER("name"::text) LIKE UPPER(%s):
        # the expressions of the indexes product_sku_upper_idx and product_name_trgm_idx
        match = Q(sku__iexact=search)
        if len(search) >= NAME_SEARCH_MIN_LENGTH:
            match |= Q(name__icontains=search)
        queryset = queryset.filter(match)
    return queryset


def product_list(
    *,
    category: str | None = None,
    search: str | None = None,
    ordering: str = "-created",
    after: Sequence | None = None,
    page: int | None = None,
    page_size: int = 20,
) -> Page:
    """One page of the active catalog, filtered, in a stable global order.

    The page after the position `after` (see `CATALOG`), or from the start; or, when `page` is given,
    the page of that number (the bounded slow way: each server reads page × page_size rows).
    """

    def query(alias: str) -> QuerySet:
        return _catalog(alias, category=category, search=search)

    order = ORDERINGS[ordering]
    if page is not None:
        return scatter_gather(query=query, order=order, page=page, page_size=page_size)
    keys_first = bool(search) and ordering in COVERED_BY_THEIR_INDEX
    return scatter_keyset(query=query, order=order, after=after, page_size=page_size, keys_first=keys_first)


def product_count(*, category: str | None = None, search: str | None = None) -> Count:
    """How many active products the filters match: exact when few, else the planner's estimate."""
    return scatter_count(query=lambda alias: _catalog(alias, category=category, search=search))


def products_by_ids(*, product_ids: list[int]) -> list[Product]:
    """Every product among `product_ids` (active or not), each read from its own shard."""
    found: list[Product] = []
    for primary, ids in group_ids_by_server(product_ids).items():
        found += replicas.run_read(
            primary,
            lambda alias, ids=ids: list(Product.objects.using(alias).filter(id__in=ids)),
        )
    return found
