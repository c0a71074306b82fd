"""Reads of the order service. A user's orders all sit on the user's shard: one server answers."""

from django.db.models import QuerySet

from orders.models import Order
from shared.db import replicas, shards
from shared.db.ids import shard_of
from shared.db.shards import UnknownShard
from shared.http.errors import NotFound


def _orders(alias: str) -> QuerySet:
    return Order.objects.using(alias).prefetch_related("items", "history")


def order_list(*, user_id: int, limit: int = 50) -> list[Order]:
    return replicas.run_read_for_id(
        user_id, lambda alias: list(_orders(alias).filter(user_id=user_id, archived_at=None)[:limit])
    )


def order_get(*, user_id: int, order_id: int) -> Order:
    """The order `order_id` of `user_id`; someone else's order is simply not found."""
    try:
        if shard_of(order_id) != shard_of(user_id):
            raise NotFound("No such order.")
        primary = shards.primary_for_id(order_id)
    except UnknownShard:
        raise NotFound("No such order.") from None
    order = replicas.run_read(primary, lambda alias: _orders(alias).filter(id=order_id, user_id=user_id).first())
    if order is None:
        raise NotFound("No such order.")
    return order
