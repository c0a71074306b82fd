"""Catalog writes: products and categories. A product is written on the primary of its shard; a
category on every server (reference data is copied everywhere)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from products.caching import product_caches_drop
from products.models import Category, Product
from shared.db import shards
from shared.db.ids import new_ids
from shared.errors import NotFound, ValidationFailed
from shared.events.outbox import publish


def normalize_sku(sku: str) -> str:
    return sku.strip().upper()


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
        raise ValidationFailed({"category": [f"Unknown category '{category}'."]})
    product = Product(
        sku=sku, name=name, price=price, category_id=category, stock=stock, description=description, is_active=is_active
    )
    taken = ValidationFailed({"sku": ["A product with this SKU exists."]})
    with transaction.atomic(using=alias):
        shards.insert_new(product, shard=shard, on_duplicate=taken)
        # a new product belongs on cached catalog pages (a first page, a search that found nothing
        # before): the same two drops as a change (`product_update`)
        transaction.on_commit(lambda: product_caches_drop(product_id=product.id), using=alias)
        publish("product.updated", {"product_id": str(product.id)}, using=alias)
    return product


UPDATABLE_FIELDS = ("name", "description", "price", "stock", "is_active", "category")


def _primary_of(product_id: int) -> str:
    try:
        return shards.primary_for_id(product_id)
    except shards.UnknownShard:
        raise NotFound("No such product.") from None


def _product_locked(*, alias: str, product_id: int) -> Product:
    """The product row (active or not) locked on its primary in the caller's transaction.

    Writes read what they change from the server they write to, never through a selector (a
    selector may answer from a replica that has not replayed the last change yet)."""
    product = Product.objects.using(alias).select_for_update().filter(id=product_id).first()
    if product is None:
        raise NotFound("No such product.")
    return product


def product_update(*, product_id: int, **changes) -> Product:
    """Change the given fields of a product (the SKU decides the shard and cannot change)."""
    alias = _primary_of(product_id)
    with transaction.atomic(using=alias):
        product = _product_locked(alias=alias, product_id=product_id)
        if "category" in changes:
            if not Category.objects.using(alias).filter(slug=changes["category"]).exists():
                raise ValidationFailed({"category": [f"Unknown category '{changes['category']}'."]})
            changes["category_id"] = changes.pop("category")
        for field, value in changes.items():
            setattr(product, field, value)
        product.save(using=alias, update_fields=[*changes, "updated_at"])
        # drop the caches now, and again when the event arrives (that second drop also clears a
        # value a concurrent read may have cached from a replica that had not replayed this yet)
        transaction.on_commit(lambda: product_caches_drop(product_id=product_id), using=alias)
        publish("product.updated", {"product_id": str(product_id)}, using=alias)
    return Product.objects.using(alias).get(id=product_id)


def product_delete(*, product_id: int) -> None:
    """Delete a product; like a change, it leaves every cache layer at once and again on the event."""
    alias = _primary_of(product_id)
    with transaction.atomic(using=alias):
        _product_locked(alias=alias, product_id=product_id).delete()
        transaction.on_commit(lambda: product_caches_drop(product_id=product_id), using=alias)
        publish("product.updated", {"product_id": str(product_id)}, using=alias)


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
        by_server.setdefault(alias, []).extend(Product(id=i, **row) for i, row in zip(ids, shard_rows, strict=True))
    created = 0
    for alias, products in by_server.items():
        before = Product.objects.using(alias).count()
        Product.objects.using(alias).bulk_create(products, batch_size=500, ignore_conflicts=True)
        created += Product.objects.using(alias).count() - before
    return created
