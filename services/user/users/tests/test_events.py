import pytest

from shared.events.envelope import make_envelope
from users.events import on_order_confirmed
from users.selectors import user_get
from users.services import user_register

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_order_statistics_count_each_confirmed_order_once():
    user = user_register(email="stats@example.com", password="correct-horse-battery-9")
    first = make_envelope("order.confirmed", {"order_id": "1", "user_id": str(user.id), "total": "10.50"})
    second = make_envelope("order.confirmed", {"order_id": "2", "user_id": str(user.id), "total": "2.00"})
    for envelope in (first, first, second, first):
        on_order_confirmed(envelope)
    user = user_get(user_id=user.id)
    assert (user.orders_count, str(user.orders_total)) == (2, "12.50")
