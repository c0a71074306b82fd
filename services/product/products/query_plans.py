"""The catalog's public reads, for the query-plan checks (shared/db/plans.py).

Every ordering with every kind of filter (none, a category, a frequent word, a rarer one, an exact
SKU, two characters, a category and a word), as a first page, a page by number and a page deep into
the list by cursor; the counts; a product by ID; the lookup by IDs. `products/tests/test_query_plans.py`
runs them on a test catalog, `manage.py check_query_plans` on the live one.
"""

from __future__ import annotations

from collections.abc import Callable

from products import selectors
from products.models import Product
from shared.db import keyset, shards

LARGE_TABLES = {"products_product"}
MENTIONING = "products_product"
# the large seed's names are "<Adjective> <Category> <noun> <n>", its SKUs L-0000001 ...
SEARCHES = {
    "frequent word": "compact",
    "rarer words": "kettle 12345",
    "exact sku": "L-0012345",
    "two characters": "pr",
}
DEPTH = 5000  # how far into a list the deep pages start (250 pages of 20)


def _filters(searches: dict[str, str], categories: tuple[str, str]) -> list[dict]:
    big, small = categories
    return [
        {},
        {"category": big},
        {"category": small},
        *({"search": term} for term in searches.values()),
        {"category": big, "search": next(iter(searches.values()))},
    ]


def deep_position(ordering: str, filters: dict, *, depth: int = DEPTH) -> tuple | None:
    """The sort values of the product `depth` rows down a list on the first server (or of its last one),
    as a cursor holds them after many pages."""
    alias = shards.primaries()[0]
    matching = Product.objects.using(alias).filter(is_active=True)
    if filters.get("category"):
        matching = matching.filter(category_id=filters["category"])
    if filters.get("search"):
        matching = matching.filter(name__icontains=filters["search"])
    order = selectors.ORDERINGS[ordering]
    rows = list(matching.order_by(*order).values_list("id", flat=True)[:depth])
    if not rows:
        return None
    return keyset.position(Product.objects.using(alias).get(id=rows[-1]), order)


def public_reads(
    *, searches: dict[str, str] = SEARCHES, categories: tuple[str, str] = ("kitchen", "tools"), depth: int = DEPTH
) -> list[Callable[[], object]]:
    """Every public read of the catalog; `categories`: a large one and another, `searches`: as SEARCHES."""
    filters = _filters(searches, categories)
    reads: list[Callable[[], object]] = []
    for ordering in selectors.ORDERINGS:
        for query in ({"ordering": ordering, **f} for f in filters):
            reads.append(lambda query=query: selectors.product_list(**query))
            reads.append(lambda query=query: selectors.product_list(**query, page=5, page_size=20))
            middle = deep_position(ordering, query, depth=depth)
            if middle is not None:
                reads.append(lambda query=query, middle=middle: selectors.product_list(**query, after=middle))
    some = [Product.objects.using(alias).filter(is_active=True).first() for alias in shards.primaries()]
    some = [product for product in some if product is not None]
    reads += [lambda f=f: selectors.product_count(**f) for f in filters]
    reads += [lambda product=product: selectors.product_get(product_id=product.id) for product in some]
    reads.append(lambda: selectors.products_by_ids(product_ids=[product.id for product in some]))
    return reads
