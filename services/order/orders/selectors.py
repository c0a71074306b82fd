"""Reads of the order service. A user's orders all sit on the user's shard: one server answers.

A user's orders are paged by keyset on the index (user_id, -id): each page seeks to its position and
reads one page, however many orders the user has (see shared/db/keyset.py). `orders/tests/test_query_plans.py`
checks with EXPLAIN that no query here reads an order table sequentially.
"""

from collections.abc import Sequence

from django.db.models import QuerySet

from orders.models import Order
from shared.db import replicas
from shared.db.ids import shard_of
from shared.db.keyset import Keyset, Page, keyset_page
from shared.errors import NotFound

# public ordering name -> ordering fields: newest first (IDs grow with time)
ORDERINGS = {"-created": ("-id",)}
# a user's orders' cursors
ORDER_LIST = Keyset(name="orders", model=Order, orderings=ORDERINGS)


def _orders(alias: str) -> QuerySet:
    return Order.objects.using(alias).prefetch_related("items", "history")


def order_list(*, user_id: int, after: Sequence | None = None, page_size: int = 50) -> Page:
    """The page of `user_id`'s orders (not archived), newest first, after the position `after`."""
    return replicas.run_read_for_id(
        user_id,
        lambda alias: keyset_page(
            _orders(alias).filter(user_id=user_id, archived_at=None),
            order=ORDERINGS["-created"],
            after=after,
            page_size=page_size,
        ),
    )


def order_get(*, user_id: int, order_id: int) -> Order:
    """The order `order_id` of `user_id`; someone else's order is simply not found."""
    if shard_of(order_id) != shard_of(user_id):
        raise NotFound("No such order.")
    order = replicas.read_by_id(lambda alias: _orders(alias).filter(id=order_id, user_id=user_id).first(), order_id)
    if order is None:
        raise NotFound("No such order.")
    return order
