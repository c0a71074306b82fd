"""Writes of the order service: placing and cancelling orders on the owner's shard primary."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from django.db import IntegrityError, transaction

from orders import clients
from orders.models import Order, OrderItem, OrderStatusChange
from orders.selectors import order_get
from shared.db import shards
from shared.db.ids import shard_of
from shared.events.outbox import publish
from shared.http.errors import ApplicationError, Conflict


def _fingerprint(items: list[dict]) -> str:
    canonical = json.dumps(sorted([str(i["product_id"]), i["quantity"]] for i in items))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _existing_for_key(*, alias: str, user_id: int, key: str, fingerprint: str) -> Order | None:
    order = Order.objects.using(alias).filter(user_id=user_id, idempotency_key=key).first()
    if order is not None and order.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was used with a different request.", code="idempotency_key_reused")
    return order


def order_place(*, user_id: int, items: list[dict], authorization: str, idempotency_key: str | None = None) -> Order:
    """Check the user and price the items over REST, then store the order as pending.

    With an `idempotency_key`, a retried request returns the order the first one made; the same key
    with different items is refused (409).
    """
    alias = shards.primary_for_id(user_id)
    fingerprint = _fingerprint(items)
    if idempotency_key:
        existing = _existing_for_key(alias=alias, user_id=user_id, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing

    clients.user_check(authorization=authorization)
    catalog = clients.products_priced(product_ids=[item["product_id"] for item in items])
    errors = {}
    for index, item in enumerate(items):
        product = catalog.get(item["product_id"])
        if product is None or not product["is_active"]:
            errors[str(index)] = {"product_id": ["No such product, or it is not for sale."]}
    if errors:
        raise ApplicationError("The request is invalid.", code="validation_error", fields={"items": errors})

    lines = [
        OrderItem(
            product_id=item["product_id"],
            product_name=catalog[item["product_id"]]["name"],
            quantity=item["quantity"],
            unit_price=catalog[item["product_id"]]["price"],
        )
        for item in items
    ]
    total = sum((line.unit_price * line.quantity for line in lines), Decimal("0.00"))
    order_id = shards.new_id(shard=shard_of(user_id))  # before the transaction: see shared/db/ids.py
    try:
        with transaction.atomic(using=alias):
            order = Order(
                id=order_id,
                user_id=user_id,
                total=total,
                idempotency_key=idempotency_key or None,
                request_fingerprint=fingerprint,
            )
            order.save(using=alias, force_insert=True)
            for line in lines:
                line.order = order
            OrderItem.objects.using(alias).bulk_create(lines)
            OrderStatusChange.objects.using(alias).create(order=order, status=Order.Status.PENDING)
            publish(
                "order.placed",
                {
                    "order_id": str(order.id),
                    "user_id": str(user_id),
                    "items": [{"product_id": str(line.product_id), "quantity": line.quantity} for line in lines],
                },
                using=alias,
            )
    except IntegrityError:
        # a concurrent retry with the same key won the race: answer with its order
        existing = _existing_for_key(alias=alias, user_id=user_id, key=idempotency_key or "", fingerprint=fingerprint)
        if existing is None:
            raise
        return existing
    return order_get(user_id=user_id, order_id=order.id)


def order_items_payload(order: Order) -> list[dict]:
    """An order's lines as events carry them (IDs as strings)."""
    return [{"product_id": str(item.product_id), "quantity": item.quantity} for item in order.items.all()]


def order_set_status(*, order: Order, status: str, reason: str = "") -> Order:
    alias = shards.primary_for_id(order.id)
    with transaction.atomic(using=alias):
        Order.objects.using(alias).filter(id=order.id).update(status=status)
        OrderStatusChange.objects.using(alias).create(order_id=order.id, status=status, reason=reason)
    return order_get(user_id=order.user_id, order_id=order.id)


CANCELLABLE = {Order.Status.PENDING, Order.Status.CONFIRMED}


def order_cancel(*, user_id: int, order_id: int) -> Order:
    alias = shards.primary_for_id(user_id)
    with transaction.atomic(using=alias):
        order = order_get(user_id=user_id, order_id=order_id)
        order = Order.objects.using(alias).select_for_update().get(id=order.id)
        if order.status not in CANCELLABLE:
            raise Conflict(f"An order that is {order.status} cannot be cancelled.", code="invalid_state")
        if order.status == Order.Status.CONFIRMED:
            # its stock was reserved: product gives it back
            publish("order.cancelled", {"order_id": str(order.id), "items": order_items_payload(order)}, using=alias)
        return order_set_status(order=order, status=Order.Status.CANCELLED, reason="cancelled by the customer")
