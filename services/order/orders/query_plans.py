"""The order service's public reads, for the query-plan checks (shared/db/plans.py).

A user's orders (first page, a smaller page, a page deep into a very active user's orders) and one
order by ID, with their items and status history, for users with many orders and with few.
`orders/tests/test_query_plans.py` runs them on a test data set, `manage.py check_query_plans` on
the live one, where the users are found among the newest orders of each server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from orders import selectors
from orders.models import Order
from shared.db import shards

LARGE_TABLES = {"orders_order", "orders_orderitem", "orders_orderstatuschange"}
MENTIONING = "orders_"
DEPTH = 1000


def _sample_users() -> tuple[list[int], int]:
    """Users of the newest 500 orders of each server, and the most frequent of them (a very active one)."""
    seen: Counter[int] = Counter()
    for alias in shards.primaries():
        seen.update(Order.objects.using(alias).order_by("-id").values_list("user_id", flat=True)[:500])
    users = [user for user, _ in seen.most_common()]
    return users[:3] + users[-3:], users[0]


def public_reads(*, users: list[int] | None = None, heavy: int | None = None, depth: int = DEPTH) -> list[Callable]:
    """Every public read; by default for users sampled from the live data."""
    if users is None or heavy is None:
        users, heavy = _sample_users()
    alias = shards.primary_for_id(heavy)
    heavy_orders = list(
        Order.objects.using(alias).filter(user_id=heavy).order_by("-id").values_list("id", flat=True)[:depth]
    )
    deep = heavy_orders[-1]
    return [
        *(lambda user_id=user_id: selectors.order_list(user_id=user_id) for user_id in users),
        *(lambda user_id=user_id: selectors.order_list(user_id=user_id, page_size=10) for user_id in users),
        lambda: selectors.order_list(user_id=heavy, after=(deep,)),
        lambda: selectors.order_get(user_id=heavy, order_id=deep),
    ]
