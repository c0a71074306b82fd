"""The product side of the order saga: all-or-nothing reservations across shard servers, once."""

from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from products.models import Product
from products.services import catalog, stock
from shared.db import shards
from shared.events.envelope import make_envelope
from shared.events.models import OutboxEvent

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def two_servers(monkeypatch):
    """One product on each shard server, and no broker: events stay in the outbox."""
    monkeypatch.setattr("shared.events.outbox.send", lambda envelope: None)
    catalog.category_ensure(slug="tools", name="Tools")
    made = {}
    n = 0
    while len(made) < 2:
        product = catalog.product_create(sku=f"R-{n}", name="R", price=Decimal("1"), category="tools", stock=5)
        made.setdefault(shards.primary_for_id(product.id), product)
        n += 1
    return [made["db0"], made["db1"]]


def _stock(product):
    return Product.objects.using(shards.primary_for_id(product.id)).get(id=product.id).stock


def _placed(items):
    return make_envelope("order.placed", {"order_id": "1", "user_id": "2", "items": items})


def _outcomes():
    return [
        row.event_type
        for alias in shards.primaries()
        for row in OutboxEvent.objects.using(alias).all()
        if row.event_type.startswith("stock.")
    ]


def test_reserves_on_every_server_and_a_redelivery_changes_nothing(two_servers):
    a, b = two_servers
    envelope = _placed([{"product_id": str(a.id), "quantity": 2}, {"product_id": str(b.id), "quantity": 3}])
    stock.stock_reserve_for_order(envelope)
    stock.stock_reserve_for_order(envelope)
    assert (_stock(a), _stock(b)) == (3, 2)
    assert _outcomes() == ["stock.reserved"]


@pytest.mark.parametrize(("quantity", "outcome", "left"), [(2, "stock.reserved", 3), (9, "stock.rejected", 5)])
def test_one_item_is_claimed_taken_and_answered_in_one_statement_once(
    two_servers, monkeypatch, quantity, outcome, left
):
    a, _ = two_servers
    changed, sent = [], []
    monkeypatch.setattr(stock, "product_stock_changed", lambda product_ids: changed.append(product_ids))
    monkeypatch.setattr("shared.events.outbox.send", sent.append)
    envelope = _placed([{"product_id": str(a.id), "quantity": quantity}])
    with CaptureQueriesContext(connections[shards.primary_for_id(a.id)]) as queries:
        stock.stock_reserve_for_order(envelope)
    stock.stock_reserve_for_order(envelope)  # redelivered: nothing more is taken or announced
    assert _stock(a) == left
    assert _outcomes() == [outcome]
    # the product's cached stock is refreshed once, when something was taken
    assert changed == ([[a.id]] if outcome == "stock.reserved" else [])
    # the claim, the take and the answer: one statement (so no BEGIN and COMMIT either), then only the
    # relay's mark of the sent event (with OUTBOX_MARK_SECONDS > 0, one statement for many orders)
    statement, *marks = [query["sql"] for query in queries.captured_queries]
    assert all(mark.startswith('UPDATE "events_outboxevent" SET "sent_at"') for mark in marks), marks
    assert all(table in statement for table in ("events_inboxevent", "products_product", "events_outboxevent"))
    # the answer written is the one relayed, once (the fixture's products were announced as created)
    (row,) = [
        row
        for alias in shards.primaries()
        for row in OutboxEvent.objects.using(alias).all()
        if row.event_type.startswith("stock.")
    ]
    assert sent == [row.envelope] and row.envelope["type"] == outcome
    reason = "insufficient stock" if outcome == "stock.rejected" else ""
    assert row.envelope["payload"] == {"order_id": "1", "user_id": "2", "reason": reason}


def test_shortage_on_one_server_gives_back_the_other_and_rejects(two_servers):
    a, b = two_servers
    envelope = _placed([{"product_id": str(a.id), "quantity": 2}, {"product_id": str(b.id), "quantity": 9}])
    stock.stock_reserve_for_order(envelope)
    stock.stock_reserve_for_order(envelope)
    assert (_stock(a), _stock(b)) == (5, 5)
    assert _outcomes() == ["stock.rejected"]


def test_release_happens_once(two_servers):
    a, _ = two_servers
    stock.stock_reserve_for_order(_placed([{"product_id": str(a.id), "quantity": 4}]))
    cancelled = make_envelope("order.cancelled", {"order_id": "1", "items": [{"product_id": str(a.id), "quantity": 4}]})
    stock.stock_release_for_order(cancelled)
    stock.stock_release_for_order(cancelled)
    assert _stock(a) == 5
