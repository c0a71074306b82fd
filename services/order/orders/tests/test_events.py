import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from orders import clients
from orders.events import on_stock_rejected, on_stock_reserved, on_user_deleted
from orders.models import Order
from orders.selectors import order_get, order_list
from orders.services import order_cancel, order_place
from shared.db import ids, shards
from shared.events.envelope import make_envelope
from shared.events.models import OutboxEvent

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
USER = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 9, shard=12, sequence=3)


@pytest.fixture
def order(monkeypatch):
    from decimal import Decimal

    monkeypatch.setattr("shared.events.outbox.send", lambda envelope: None)
    monkeypatch.setattr(clients, "user_check", lambda **kwargs: None)
    monkeypatch.setattr(
        clients,
        "products_priced",
        lambda product_ids: {i: {"name": "P", "price": Decimal("4.00"), "is_active": True} for i in product_ids},
    )
    return order_place(user_id=USER, items=[{"product_id": 77, "quantity": 2}], authorization="")


def _events(event_type):
    return [r for alias in ("db0", "db1") for r in OutboxEvent.objects.using(alias).filter(event_type=event_type)]


def test_placing_writes_order_placed_to_the_outbox(order):
    (event,) = _events("order.placed")
    assert event.envelope["payload"]["items"] == [{"product_id": "77", "quantity": 2}]


def test_reserved_confirms_once_and_announces_it(order):
    envelope = make_envelope("stock.reserved", {"order_id": str(order.id), "user_id": str(USER)})
    on_stock_reserved(envelope)
    on_stock_reserved(envelope)
    order = order_get(user_id=USER, order_id=order.id)
    assert order.status == "confirmed"
    assert [h.status for h in order.history.all()] == ["pending", "confirmed"]
    (confirmed,) = _events("order.confirmed")
    assert confirmed.envelope["payload"] == {"order_id": str(order.id), "user_id": str(USER), "total": str(order.total)}


def test_the_answer_is_claimed_and_the_order_settled_in_one_statement(order):
    envelope = make_envelope("stock.reserved", {"order_id": str(order.id), "user_id": str(USER)})
    with CaptureQueriesContext(connections[shards.primary_for_id(order.id)]) as queries:
        on_stock_reserved(envelope)
    claims = [query["sql"] for query in queries.captured_queries if "events_inboxevent" in query["sql"]]
    assert len(claims) == 1
    assert "UPDATE orders_order" in claims[0] and "INSERT INTO orders_orderstatuschange" in claims[0]


def test_rejected_order_and_cancel_after_confirmation_releases_stock(order):
    on_stock_rejected(
        make_envelope("stock.rejected", {"order_id": str(order.id), "user_id": str(USER), "reason": "none"})
    )
    rejected = order_get(user_id=USER, order_id=order.id)
    assert rejected.status == "rejected"
    assert [(h.status, h.reason) for h in rejected.history.all()] == [("pending", ""), ("rejected", "none")]


def test_cancel_of_a_confirmed_order_emits_order_cancelled(order):
    on_stock_reserved(make_envelope("stock.reserved", {"order_id": str(order.id), "user_id": str(USER)}))
    order_cancel(user_id=USER, order_id=order.id)
    assert len(_events("order.cancelled")) == 1


def test_reservation_arriving_after_a_cancel_gives_the_stock_back(order):
    order_cancel(user_id=USER, order_id=order.id)
    on_stock_reserved(make_envelope("stock.reserved", {"order_id": str(order.id), "user_id": str(USER)}))
    assert order_get(user_id=USER, order_id=order.id).status == "cancelled"
    assert len(_events("order.cancelled")) == 1


def test_user_deleted_archives_their_orders(order):
    on_user_deleted(make_envelope("user.deleted", {"user_id": str(USER)}))
    assert order_list(user_id=USER).items == []
    assert (
        Order.objects.using("db0").filter(id=order.id).exists()
        or Order.objects.using("db1").filter(id=order.id).exists()
    )


def _outcomes() -> dict[str, float]:
    from prometheus_client import REGISTRY

    names = ("placed", "confirmed", "rejected", "cancelled", "timed_out", "released")
    return {n: REGISTRY.get_sample_value("order_saga_outcomes_total", {"outcome": n}) or 0.0 for n in names}


def test_each_saga_step_is_counted_once_when_it_commits(order):
    before = _outcomes()
    envelope = make_envelope("stock.reserved", {"order_id": str(order.id), "user_id": str(USER)})
    on_stock_reserved(envelope)
    on_stock_reserved(envelope)  # redelivered: the inbox skips it, nothing more is counted
    order_cancel(user_id=USER, order_id=order.id)
    on_stock_reserved(make_envelope("stock.reserved", {"order_id": str(order.id), "user_id": str(USER)}))
    after = _outcomes()
    assert {n: after[n] - before[n] for n in after} == {
        "placed": 0,  # the fixture placed it before `before`
        "confirmed": 1,
        "rejected": 0,
        "cancelled": 1,
        "timed_out": 0,
        "released": 1,  # a second reservation for the cancelled order gives its stock back
    }
