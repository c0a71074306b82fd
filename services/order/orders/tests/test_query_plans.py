"""Every query the order selectors run is answered through an index: EXPLAIN shows no sequential scan of
an order table, for a user's orders (first page, next page, a page deep into a very active user's
orders), and one order by ID, with their items and status history.

The planner chooses freely (no `enable_seqscan = off`): the test loads enough orders for an index to be
worth it (about 33,000 on the two servers, three users far more active than the rest, two items and a
status change each) and runs ANALYZE, as autovacuum would. The selectors are called, every statement
they send is captured and EXPLAINed on the server it ran on.
"""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest
from django.db import connections

from orders import query_plans, selectors
from orders.models import Order, OrderItem, OrderStatusChange
from shared.db import ids, keyset, plans, shards

pytestmark = pytest.mark.django_db(databases="__all__")
USERS = [ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 1, shard=n % 16, sequence=n) for n in range(1200)]
ACTIVE_USERS = [USERS[0], USERS[8], USERS[9]]  # 2,000 orders each, on both servers (shards 0, 8, 9)
_sequences = itertools.count(1)


@pytest.fixture
def orders() -> None:
    rng = random.Random(16)
    by_server: dict[str, list[Order]] = {alias: [] for alias in shards.primaries()}
    for user_id in USERS:
        count = 2000 if user_id in ACTIVE_USERS else rng.randint(5, 40)
        for _ in range(count):
            order_id = ids.compose(  # orders of all users interleaved over a year
                timestamp_ms=ids.ID_EPOCH_MS + rng.randint(0, 365 * 86_400_000),
                shard=ids.shard_of(user_id),
                sequence=next(_sequences),
            )
            by_server[shards.primary_for_id(user_id)].append(
                Order(id=order_id, user_id=user_id, status="confirmed", total=Decimal("4.00"))
            )
    for alias, rows in by_server.items():
        Order.objects.using(alias).bulk_create(rows, batch_size=2000)
        OrderItem.objects.using(alias).bulk_create(
            [
                OrderItem(order_id=order.id, product_id=n, product_name="P", quantity=1, unit_price=Decimal("2.00"))
                for order in rows
                for n in (1, 2)
            ],
            batch_size=2000,
        )
        OrderStatusChange.objects.using(alias).bulk_create(
            [OrderStatusChange(order_id=order.id, status="confirmed") for order in rows], batch_size=2000
        )
        with connections[alias].cursor() as cursor:
            for table in sorted(query_plans.LARGE_TABLES):
                cursor.execute(f"ANALYZE {table}")
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'orders_order'")
            assert cursor.fetchone()[0] > 10_000  # the planner knows the table is large


def _statements(call) -> list[tuple[str, str]]:
    return plans.statements_sent(call, mentioning=query_plans.MENTIONING)


def test_no_order_query_reads_an_order_table_sequentially(orders):
    # given: users with few and with many orders, a position deep into the orders of one of the latter
    reads = query_plans.public_reads(users=[*ACTIVE_USERS, *USERS[600:604]], heavy=ACTIVE_USERS[0], depth=1000)
    # when
    count, scans = plans.check(reads, tables=query_plans.LARGE_TABLES, mentioning=query_plans.MENTIONING)
    # then: each read fetched orders, their items and their history, each statement through an index
    assert count == 3 * len(reads)
    assert scans == [], f"{len(scans)} of {count} statements scan an order table:\n\n" + "\n\n".join(scans[:5])


def test_a_deep_page_of_a_users_orders_seeks_with_the_user_index(orders):
    # given
    heavy = ACTIVE_USERS[1]
    alias = shards.primary_for_id(heavy)
    middle = Order.objects.using(alias).filter(user_id=heavy).order_by("-id").values_list("id", flat=True)[1000]
    # when
    page = selectors.order_list(user_id=heavy, after=(middle,), page_size=20)
    statements = _statements(lambda: selectors.order_list(user_id=heavy, after=(middle,), page_size=20))
    # then
    assert [order.id for order in page.items] == list(
        Order.objects.using(alias)
        .filter(user_id=heavy, id__lt=middle)
        .order_by("-id")
        .values_list("id", flat=True)[:20]
    )
    assert page.has_next and keyset.position(page.items[-1], ("-id",)) == (page.items[-1].id,)
    with connections[alias].cursor() as cursor:
        cursor.execute("EXPLAIN " + statements[0][1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using orders_orde_user_id_2d2cdc_idx" in plan, plan
    assert "Index Cond: ((user_id = " in plan and f"AND (id < '{middle}'::bigint))" in plan, plan
