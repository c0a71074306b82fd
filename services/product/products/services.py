"""Writes of the product service. A product is written on the primary of its shard; categories on all."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from products.models import Category, Product
from products.selectors import product_get
from shared.db import shards
from shared.db.ids import new_ids
from shared.http.errors import ApplicationError


def normalize_sku(sku: str) -> str:
    return sku.strip().upper()


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("The request is invalid.", code="validation_error", fields={field: [message]})


def category_ensure(*, slug: str, name: str) -> None:
    """Create or rename a category on every shard server (reference data is copied everywhere)."""
    for alias in shards.primaries():
        Category.objects.using(alias).update_or_create(slug=slug, defaults={"name": name})


def product_create(
    *, sku: str, name: str, price: Decimal, category: str, stock: int = 0, description: str = "", is_active: bool = True
) -> Product:
    """Create a product on the shard its SKU hashes to. SKUs are stored upper-cased, unique everywhere."""
    sku = normalize_sku(sku)
    shard = shards.shard_for_natural_key(sku)
    alias = shards.primary_for_shard(shard)
    if not Category.objects.using(alias).filter(slug=category).exists():
        raise _invalid("category", f"Unknown category '{category}'.")
    product = Product(
        sku=sku, name=name, price=price, category_id=category, stock=stock, description=description, is_active=is_active
    )
    try:
        with transaction.atomic(using=alias):
            product.id = shards.new_id(shard=shard)
            product.save(using=alias, force_insert=True)
    except IntegrityError:
        raise _invalid("sku", "A product with this SKU exists.") from None
    return product


UPDATABLE_FIELDS = ("name", "description", "price", "stock", "is_active", "category")


def product_update(*, product_id: int, **changes) -> Product:
    """Change the given fields of a product (the SKU decides the shard and cannot change)."""
    alias = shards.primary_for_id(product_id)
    with transaction.atomic(using=alias):
        product = product_get(product_id=product_id, include_inactive=True)
        product = Product.objects.using(alias).select_for_update().get(id=product.id)
        if "category" in changes:
            if not Category.objects.using(alias).filter(slug=changes["category"]).exists():
                raise _invalid("category", f"Unknown category '{changes['category']}'.")
            changes["category_id"] = changes.pop("category")
        for field, value in changes.items():
            setattr(product, field, value)
        product.save(using=alias, update_fields=[*changes, "updated_at"])
    return Product.objects.using(alias).select_related("category").get(id=product_id)


def product_delete(*, product_id: int) -> None:
    product = product_get(product_id=product_id, include_inactive=True)
    Product.objects.using(shards.primary_for_id(product.id)).filter(id=product.id).delete()


def products_bulk_create(*, rows: list[dict]) -> int:
    """Insert many products with one `bulk_create` per shard server; SKUs already there are skipped.

    Returns how many rows were new. IDs are made in one round trip per logical shard.
    """
    by_shard: dict[int, list[dict]] = {}
    for row in rows:
        row = {**row, "sku": normalize_sku(row["sku"])}
        by_shard.setdefault(shards.shard_for_natural_key(row["sku"]), []).append(row)
    by_server: dict[str, list[Product]] = {}
    for shard, shard_rows in by_shard.items():
        alias = shards.primary_for_shard(shard)
        ids = new_ids(shard=shard, count=len(shard_rows), using=alias)
        by_server.setdefault(alias, []).extend(Product(id=i, **row) for i, row in zip(ids, shard_rows))
    created = 0
    for alias, products in by_server.items():
        before = Product.objects.using(alias).count()
        Product.objects.using(alias).bulk_create(products, batch_size=500, ignore_conflicts=True)
        created += Product.objects.using(alias).count() - before
    return created
