"""Writes of the product service. A product is written on the primary of its shard; categories on all."""

from __future__ import annotations

import logging
from decimal import Decimal

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from products.models import Category, Product
from products.selectors import most_viewed_product_ids, product_cache_key, product_detail_data, product_get
from shared.cache import layered
from shared.db import shards
from shared.db.ids import new_ids
from shared.db.scatter import group_ids_by_server
from shared.events.envelope import derived_event_id
from shared.events.inbox import inbox, inbox_result, set_inbox_result
from shared.events.outbox import publish
from shared.http.errors import ApplicationError

logger = logging.getLogger(__name__)


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
    product.id = shards.new_id(shard=shard)
    try:
        with transaction.atomic(using=alias):
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
        # drop the caches now, and again when the event arrives (that second drop also clears a
        # value a concurrent read may have cached from a replica that had not replayed this yet)
        transaction.on_commit(lambda: product_caches_drop(product_id=product_id), using=alias)
        publish("product.updated", {"product_id": str(product_id)}, using=alias)
    return Product.objects.using(alias).select_related("category").get(id=product_id)


def product_delete(*, product_id: int) -> None:
    """Delete a product; like a change, it leaves every cache layer at once and again on the event."""
    product = product_get(product_id=product_id, include_inactive=True)
    alias = shards.primary_for_id(product.id)
    with transaction.atomic(using=alias):
        Product.objects.using(alias).filter(id=product.id).delete()
        transaction.on_commit(lambda: product_caches_drop(product_id=product.id), using=alias)
        publish("product.updated", {"product_id": str(product.id)}, using=alias)


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


# --- stock reservation (the product side of the order saga) -------------------------------------


def _quantities_by_server(items: list[dict]) -> dict[str, dict[int, int]]:
    quantities = {int(item["product_id"]): int(item["quantity"]) for item in items}
    return {
        alias: {product_id: quantities[product_id] for product_id in product_ids}
        for alias, product_ids in sorted(group_ids_by_server(list(quantities)).items())
    }


class _Shortage(Exception):
    pass


def _reserve_on_server(alias: str, quantities: dict[int, int]) -> bool:
    """Take every quantity on one server, all or nothing; a row never goes below zero."""
    try:
        with transaction.atomic(using=alias):  # a savepoint inside the caller's inbox transaction
            for product_id, quantity in sorted(quantities.items()):
                taken = (
                    Product.objects.using(alias)
                    .filter(id=product_id, is_active=True, stock__gte=quantity)
                    .update(stock=F("stock") - quantity)
                )
                if not taken:
                    raise _Shortage
    except _Shortage:
        return False
    return True


def stock_reserve_for_order(envelope: dict) -> None:
    """Reserve the stock of every item of a placed order, or none of it; answer with the outcome.

    Items may sit on several shard servers, so each server is one transaction that records in its
    inbox, with the stock change, what it did for this event. A redelivered event reuses what each
    server recorded; when one server cannot supply its items, the servers that reserved give their
    stock back (each once).
    """
    payload = envelope["payload"]
    by_server = _quantities_by_server(payload["items"])
    known = sum(len(quantities) for quantities in by_server.values())
    rejected = known < len(payload["items"])  # an ID of no shard we know
    reserved_on: list[str] = []
    for alias, quantities in [] if rejected else by_server.items():
        with inbox(envelope, using=alias) as fresh:
            if fresh:
                result = "reserved" if _reserve_on_server(alias, quantities) else "rejected"
                set_inbox_result(envelope, using=alias, result=result)
        if inbox_result(envelope, using=alias) != "reserved":
            rejected = True
            break
        reserved_on.append(alias)
    if rejected:
        for alias in reserved_on:
            _give_back(envelope, alias, by_server[alias], step="compensation")
    home = next(iter(by_server), shards.primaries()[0])
    with transaction.atomic(using=home):
        publish(
            "stock.rejected" if rejected else "stock.reserved",
            {
                "order_id": payload["order_id"],
                "user_id": payload["user_id"],
                "reason": "insufficient stock" if rejected else "",
            },
            using=home,
            event_id=derived_event_id(envelope["id"], "outcome"),
        )


def _give_back(envelope: dict, alias: str, quantities: dict[int, int], *, step: str) -> None:
    with inbox(envelope, using=alias, step=step) as fresh:
        if fresh:
            for product_id, quantity in quantities.items():
                Product.objects.using(alias).filter(id=product_id).update(stock=F("stock") + quantity)


def stock_release_for_order(envelope: dict) -> None:
    """Give back the stock of a cancelled order (once per server, however often the event comes)."""
    for alias, quantities in _quantities_by_server(envelope["payload"]["items"]).items():
        _give_back(envelope, alias, quantities, step="release")


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
        except ApplicationError:
            continue
    return warmed
