"""The 2,000,000 orders of `make seed SIZE=large`, by shared/seeding's rules, with COPY.

Each order lives on its user's shard, with its lines (names and prices as the seeded products have
them) and its history (placed, then confirmed, rejected or cancelled), in the same chunk transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db import connections

from orders.models import Order, OrderItem, OrderStatusChange
from shared.db import ids, shards
from shared.seeding import dataset
from shared.seeding.loader import Batch, chunked, columns, load

REASONS = {"confirmed": "", "rejected": "Not enough stock.", "cancelled": "Cancelled by the customer."}


def _batches(count: int, users: int) -> Iterator[Batch]:
    logical = shards.shard_map().logical_shards
    alias_of = {shard: shards.primary_for_shard(shard) for shard in range(logical)}
    order_cols, item_cols, change_cols = columns(Order), columns(OrderItem), columns(OrderStatusChange)
    for chunk in chunked(dataset.orders(count, users=users)):
        by_alias: dict[str, dict] = {}
        for order in chunk:
            order_id = dataset.order_id(order, logical)
            placed, decided = dataset.at(order.created_ms), dataset.at(order.created_ms + 1000)
            rows = by_alias.setdefault(
                alias_of[ids.shard_of(order_id)], {Order: [], OrderItem: [], OrderStatusChange: []}
            )
            total = 0
            for number, quantity in order.lines:
                p = dataset.product(number, logical)
                total += p.price * quantity
                item = {
                    "order_id": order_id,
                    "product_id": p.id,
                    "product_name": p.name,
                    "quantity": quantity,
                    "unit_price": p.price,
                    "created_at": placed,
                    "updated_at": placed,
                }
                rows[OrderItem].append(tuple(item[c] for c in item_cols))
            row = {
                "id": order_id,
                "user_id": dataset.user_id(order.user, logical),
                "status": order.status,
                "total": total,
                "idempotency_key": None,
                "request_fingerprint": "",
                "archived_at": None,
                "created_at": placed,
                "updated_at": decided,
            }
            rows[Order].append(tuple(row[c] for c in order_cols))
            for status, reason, when in (("pending", "", placed), (order.status, REASONS[order.status], decided)):
                change = {
                    "order_id": order_id,
                    "status": status,
                    "reason": reason,
                    "created_at": when,
                    "updated_at": when,
                }
                rows[OrderStatusChange].append(tuple(change[c] for c in change_cols))
        for alias, rows in by_alias.items():
            yield Batch(alias=alias, marker=rows[Order][-1][order_cols.index("id")], rows=rows)


def orders_seed_large(
    *, count: int = dataset.ORDERS, users: int = dataset.USERS, report: Callable[[str], None] = print
) -> dict[str, int]:
    """Load the large order history of the first `users` seeded users (idempotent); refresh the statistics."""
    written = load(_batches(count, users), label="orders", report=report)
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("ANALYZE orders_order, orders_orderitem, orders_orderstatuschange")
    return written
