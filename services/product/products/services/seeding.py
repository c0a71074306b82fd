"""The large catalog of `make seed SIZE=large`: 2,000,000 products by shared/seeding's rules, with COPY."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connections

from products.caching import catalog_changed
from products.models import Product
from products.services.catalog import category_ensure
from shared.db import shards
from shared.seeding import dataset
from shared.seeding.loader import batches_by_server, load


def _row(n: int, logical: int) -> dict:
    p = dataset.product(n, logical)
    at = dataset.at(p.created_ms)
    return {
        "id": p.id,
        "sku": p.sku,
        "name": p.name,
        "description": f"Seeded product {n}: {p.name}.",
        "category_id": p.category,
        "price": p.price,
        "stock": p.stock,
        "is_active": p.is_active,
        "created_at": at,
        "updated_at": at,
    }


def products_seed_large(*, count: int = dataset.PRODUCTS, report: Callable[[str], None] = print) -> dict[str, int]:
    """Load the large catalog (idempotent), refresh the planner's statistics and the visibility map (what
    lets a search ordered by name walk its index only; autovacuum would do both a little later), start a
    new catalog generation."""
    for slug, name in dataset.CATEGORIES.items():
        category_ensure(slug=slug, name=name)
    written = load(batches_by_server(count, model=Product, row_of=_row), label="products", report=report)
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) products_product")
    catalog_changed()
    return written
