from decimal import Decimal

import pytest

from orders import clients
from orders.models import Order
from orders.selectors import order_get, order_list
from orders.services import order_cancel, order_place
from shared.db import ids, shards
from shared.errors import ApplicationError, Conflict, NotFound

pytestmark = pytest.mark.django_db(databases="__all__")
USER = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 5, shard=11, sequence=1)
OTHER_USER = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 5, shard=2, sequence=1)
CATALOG = {
    101: {"name": "Lamp", "price": Decimal("19.99"), "is_active": True},
    102: {"name": "Desk", "price": Decimal("150.00"), "is_active": True},
    103: {"name": "Old", "price": Decimal("1.00"), "is_active": False},
}


@pytest.fixture(autouse=True)
def services(monkeypatch):
    monkeypatch.setattr(clients, "user_check", lambda **kwargs: None)
    monkeypatch.setattr(
        clients, "products_priced", lambda product_ids: {i: CATALOG[i] for i in product_ids if i in CATALOG}
    )


def test_order_is_priced_by_the_catalog_and_stored_on_the_users_shard():
    order = order_place(
        user_id=USER, items=[{"product_id": 101, "quantity": 3}, {"product_id": 102, "quantity": 1}], authorization=""
    )
    assert order.total == Decimal("209.97")
    assert order.status == "pending"
    assert ids.shard_of(order.id) == 11
    assert Order.objects.using(shards.primary_for_shard(11)).filter(id=order.id).exists()
    assert [h.status for h in order.history.all()] == ["pending"]


def test_the_placed_order_is_answered_from_what_was_written_as_it_reads_back():
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from orders.apis import OrderOutputSerializer

    items = [{"product_id": 101, "quantity": 3}, {"product_id": 102, "quantity": 1}]
    alias = shards.primary_for_shard(11)
    with CaptureQueriesContext(connections[alias]) as written:
        order = order_place(user_id=USER, items=items, authorization="")
        answered = OrderOutputSerializer(order).data
    # nothing of the order was read back after the write
    assert not [q["sql"] for q in written.captured_queries if 'FROM "orders_' in q["sql"]]
    assert answered == OrderOutputSerializer(order_get(user_id=USER, order_id=order.id)).data


def test_the_order_its_lines_history_and_event_are_one_statement_after_the_id():
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from shared.events.models import OutboxEvent

    items = [{"product_id": 101, "quantity": 3}, {"product_id": 102, "quantity": 1}]
    alias = shards.primary_for_shard(11)
    with CaptureQueriesContext(connections[alias]) as sent:
        order = order_place(user_id=USER, items=items, authorization="")
    # the ID, then one statement that writes everything (each child refers to the order written beside it)
    assert [q["sql"].split()[0] for q in sent.captured_queries] == ["SELECT", "WITH"]
    stored = Order.objects.using(alias).get(id=order.id)
    assert stored.items.count() == 2 and [h.status for h in stored.history.all()] == ["pending"]
    event = OutboxEvent.objects.using(alias).get(event_type="order.placed", envelope__payload__order_id=str(order.id))
    lines = [{"product_id": "101", "quantity": 3}, {"product_id": "102", "quantity": 1}]
    assert event.envelope["payload"]["items"] == lines


def test_unknown_or_inactive_products_are_field_errors():
    for product_id in (103, 999):
        with pytest.raises(ApplicationError) as error:
            order_place(user_id=USER, items=[{"product_id": product_id, "quantity": 1}], authorization="")
        assert "items" in error.value.fields


def test_idempotency_key():
    items = [{"product_id": 101, "quantity": 1}]
    first = order_place(user_id=USER, items=items, authorization="", idempotency_key="k")
    again = order_place(user_id=USER, items=items, authorization="", idempotency_key="k")
    assert first.id == again.id
    with pytest.raises(Conflict):
        order_place(user_id=USER, items=[{"product_id": 101, "quantity": 2}], authorization="", idempotency_key="k")
    # another user may use the same key
    assert order_place(user_id=OTHER_USER, items=items, authorization="", idempotency_key="k").id != first.id


def test_orders_of_another_user_are_not_found_and_cancel_works_once():
    order = order_place(user_id=USER, items=[{"product_id": 101, "quantity": 1}], authorization="")
    with pytest.raises(NotFound):
        order_get(user_id=OTHER_USER, order_id=order.id)
    assert order_list(user_id=OTHER_USER).items == []
    assert order_cancel(user_id=USER, order_id=order.id).status == "cancelled"
    with pytest.raises(Conflict):
        order_cancel(user_id=USER, order_id=order.id)
