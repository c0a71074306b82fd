"""Events the order service consumes: the outcome of stock reservation, and deleted users."""

from django.utils import timezone

from orders.models import Order, OrderStatusChange
from orders.services import order_items_payload
from shared.db import shards
from shared.events.consumers import consumer
from shared.events.envelope import derived_event_id
from shared.events.inbox import inbox
from shared.events.outbox import publish


def _apply_stock_outcome(envelope: dict, *, reserved: bool) -> None:
    payload = envelope["payload"]
    order_id = int(payload["order_id"])
    alias = shards.primary_for_id(order_id)
    with inbox(envelope, using=alias) as fresh:
        if not fresh:
            return
        order = Order.objects.using(alias).select_for_update().prefetch_related("items").get(id=order_id)
        if order.status == Order.Status.PENDING:
            order.status = Order.Status.CONFIRMED if reserved else Order.Status.REJECTED
            order.save(using=alias, update_fields=["status", "updated_at"])
            OrderStatusChange.objects.using(alias).create(
                order=order, status=order.status, reason="" if reserved else payload.get("reason", "")
            )
            if reserved:
                publish(
                    "order.confirmed",
                    {"order_id": str(order.id), "user_id": str(order.user_id), "total": str(order.total)},
                    using=alias,
                    event_id=derived_event_id(envelope["id"], "order.confirmed"),
                )
        elif reserved and order.status == Order.Status.CANCELLED:
            # cancelled while the reservation was under way: give the stock back
            publish(
                "order.cancelled",
                {"order_id": str(order.id), "items": order_items_payload(order)},
                using=alias,
                event_id=derived_event_id(envelope["id"], "order.cancelled"),
            )


@consumer("stock.reserved")
def on_stock_reserved(envelope: dict) -> None:
    _apply_stock_outcome(envelope, reserved=True)


@consumer("stock.rejected")
def on_stock_rejected(envelope: dict) -> None:
    _apply_stock_outcome(envelope, reserved=False)


@consumer("user.deleted")
def on_user_deleted(envelope: dict) -> None:
    user_id = int(envelope["payload"]["user_id"])
    alias = shards.primary_for_id(user_id)
    with inbox(envelope, using=alias) as fresh:
        if fresh:
            Order.objects.using(alias).filter(user_id=user_id, archived_at=None).update(archived_at=timezone.now())
