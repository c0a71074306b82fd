"""An order left pending is rejected as "timed out", and a reservation that comes after gives the stock back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from orders import clients
from orders.events import on_stock_rejected, on_stock_reserved
from orders.models import Order
from orders.selectors import order_get
from orders.services import TIMED_OUT, order_expire_pending, order_place
from orders.tasks import expire_pending_orders
from shared.db import ids, shards
from shared.db.models import ShardAssignment
from shared.events.envelope import make_envelope
from shared.events.models import OutboxEvent

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
USER = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 9, shard=5, sequence=3)


@pytest.fixture(autouse=True)
def no_services(monkeypatch):
    monkeypatch.setattr("shared.events.outbox.send", lambda envelope: None)
    monkeypatch.setattr(clients, "user_check", lambda **kwargs: None)
    monkeypatch.setattr(
        clients,
        "products_priced",
        lambda product_ids: {i: {"name": "P", "price": Decimal("4.00"), "is_active": True} for i in product_ids},
    )


def _place(*, age_seconds: float) -> Order:
    order = order_place(user_id=USER, items=[{"product_id": 77, "quantity": 2}], authorization="")
    Order.objects.using(shards.primary_for_id(USER)).filter(id=order.id).update(
        created_at=timezone.now() - timedelta(seconds=age_seconds)
    )
    return order


def _events(event_type: str) -> list[OutboxEvent]:
    return [r for alias in shards.primaries() for r in OutboxEvent.objects.using(alias).filter(event_type=event_type)]


def _reserved(order: Order) -> dict:
    return make_envelope("stock.reserved", {"order_id": str(order.id), "user_id": str(USER)})


def test_an_order_pending_longer_than_the_timeout_is_rejected_as_timed_out(settings):
    # given: one order pending for longer than the timeout, one placed just now
    settings.ORDER_PENDING_TIMEOUT_SECONDS = 120
    old, fresh = _place(age_seconds=121), _place(age_seconds=0)
    # when
    expired = order_expire_pending()
    # then: the old one went through the usual transition, with its reason in the history
    assert expired == 1
    old = order_get(user_id=USER, order_id=old.id)
    assert old.status == "rejected"
    assert [(h.status, h.reason) for h in old.history.all()] == [("pending", ""), ("rejected", TIMED_OUT)]
    assert order_get(user_id=USER, order_id=fresh.id).status == "pending"
    assert order_expire_pending() == 0  # nothing twice
    assert _events("order.cancelled") == []  # no stock was known to be reserved: nothing to give back


def test_only_pending_orders_time_out():
    confirmed = _place(age_seconds=600)
    on_stock_reserved(_reserved(confirmed))
    assert order_expire_pending() == 0
    assert order_get(user_id=USER, order_id=confirmed.id).status == "confirmed"


def test_a_reservation_after_the_timeout_gives_the_stock_back_once():
    # given: an order rejected as timed out
    order = _place(age_seconds=600)
    order_expire_pending()
    # when: product's reservation arrives late, twice (a redelivery)
    envelope = _reserved(order)
    on_stock_reserved(envelope)
    on_stock_reserved(envelope)
    # then: the order stays rejected and one order.cancelled tells product to release the stock
    assert order_get(user_id=USER, order_id=order.id).status == "rejected"
    (released,) = _events("order.cancelled")
    assert released.envelope["payload"] == {"order_id": str(order.id), "items": [{"product_id": "77", "quantity": 2}]}
    assert _events("order.confirmed") == []


def test_a_rejection_after_the_timeout_changes_nothing():
    order = _place(age_seconds=600)
    order_expire_pending()
    on_stock_rejected(
        make_envelope("stock.rejected", {"order_id": str(order.id), "user_id": str(USER), "reason": "insufficient"})
    )
    order = order_get(user_id=USER, order_id=order.id)
    assert [h.reason for h in order.history.all()] == ["", TIMED_OUT]
    assert _events("order.cancelled") == []


def test_the_orders_of_a_moving_shard_wait_for_the_move(settings):
    # given: the order's logical shard is being moved
    settings.SHARD_MAP_REFRESH_SECONDS = 0
    order = _place(age_seconds=600)
    shard = ids.shard_of(order.id)
    home = shards.home_primary()
    ShardAssignment.objects.using(home).create(shard=shard, server=shards.primary_for_id(order.id), moving=True)
    shards.map_store.forget()
    try:
        # when / then: it is left alone while the shard moves, and times out once the move is over
        assert order_expire_pending() == 0
        ShardAssignment.objects.using(home).filter(shard=shard).update(moving=False)
        shards.map_store.forget()
        assert order_expire_pending() == 1
    finally:
        ShardAssignment.objects.using(home).filter(shard=shard).delete()
        shards.map_store.forget()


def test_the_worker_runs_the_timeout_on_its_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-pending-orders"]
    assert entry["task"] == expire_pending_orders.name == "orders.expire_pending"
    assert entry["schedule"] < settings.ORDER_PENDING_TIMEOUT_SECONDS
    order = _place(age_seconds=settings.ORDER_PENDING_TIMEOUT_SECONDS + 1)
    expire_pending_orders()
    assert order_get(user_id=USER, order_id=order.id).status == "rejected"
