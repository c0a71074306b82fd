"""The large user base of `make seed SIZE=large`: 1,000,000 users by shared/seeding's rules, with COPY.

Every seeded user has the one password given (SEED_USER_PASSWORD in .env, random per machine), hashed
once: the benchmark logs in as seeded users. Each user's order count and total are those of the
seeded orders it confirmed (the order seed walks the same orders), as `user_stats_record` would have
kept them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connections

from shared.db import shards
from shared.seeding import dataset
from shared.seeding.loader import batches_by_server, load
from users.models import User


def _order_stats(logical: int, users: int, orders: int) -> dict[int, tuple[int, Decimal]]:
    stats: dict[int, tuple[int, Decimal]] = {}
    for order in dataset.orders(orders, users=users):
        if order.status == "confirmed":
            count, total = stats.get(order.user, (0, Decimal("0.00")))
            stats[order.user] = (count + 1, total + dataset.order_total(order, logical))
    return stats


def _row_maker(password_hash: str, stats: dict[int, tuple[int, Decimal]]):
    def row(n: int, logical: int) -> dict:
        at = dataset.at(dataset.USERS_FROM_MS + n)
        orders_count, orders_total = stats.get(n, (0, Decimal("0.00")))
        return {
            "id": dataset.user_id(n, logical),
            "password": password_hash,
            "last_login": None,
            "email": dataset.user_email(n),
            "name": f"Seed user {n}",
            "is_staff": False,
            "is_active": True,
            "orders_count": orders_count,
            "orders_total": orders_total,
            "created_at": at,
            "updated_at": at,
        }

    return row


def users_seed_large(
    *, password: str, count: int = dataset.USERS, orders: int = dataset.ORDERS, report: Callable[[str], None] = print
) -> dict:
    """Load the large user base (idempotent) and refresh the planner's statistics; `orders` is how many
    orders the order seed makes (`seed_orders --orders`), so that each user's statistics match them."""
    logical = shards.shard_map().logical_shards
    report("users: adding up each seeded user's confirmed orders")
    stats = _order_stats(logical, count, orders)
    rows = batches_by_server(count, model=User, row_of=_row_maker(make_password(password), stats))
    written = load(rows, label="users", report=report)
    for alias in shards.primaries():
        with connections[alias].cursor() as cursor:
            cursor.execute("ANALYZE users_user")
    return written
