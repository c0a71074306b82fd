"""Reads of the order service. A user's orders all sit on the user's shard: one server answers."""

from django.db.models import QuerySet

from orders.models import Order
from shared.db import replicas
from shared.db.ids import shard_of
from shared.errors import NotFound


def _orders(alias: str) -> QuerySet:
    return Order.objects.using(alias).prefetch_related("items", "history")


def order_list(*, user_id: int, limit: int = 50) -> list[Order]:
    return replicas.run_read_for_id(
        user_id, lambda alias: list(_orders(alias).filter(user_id=user_id, archived_at=None)[:limit])
    )


def order_get(*, user_id: int, order_id: int) -> Order:
    """The order `order_id` of `user_id`; someone else's order is simply not found."""
    if shard_of(order_id) != shard_of(user_id):
        raise NotFound("No such order.")
    order = replicas.read_by_id(lambda alias: _orders(alias).filter(id=order_id, user_id=user_id).first(), order_id)
    if order is None:
        raise NotFound("No such order.")
    return order
