"""The order admin (`/ops/admin/order/<server>/`): orders of one shard server, read-only (an order changes
only through its saga), found by order or user ID."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orders.models import Order, OrderItem
from shared.db import shards

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def order() -> Order:
    shard = shards.shard_map().shards_on(shards.home_primary())[0]
    alias = shards.primary_for_shard(shard)
    placed = Order.objects.using(alias).create(id=shards.new_id(shard=shard), user_id=7, total=Decimal("9.00"))
    OrderItem.objects.using(alias).create(
        order=placed, product_id=5, product_name="Hammer", quantity=3, unit_price=Decimal("3.00")
    )
    return placed


def test_an_order_is_shown_with_its_items_and_cannot_be_changed(staff, order):
    # given
    alias = order._state.db
    url = f"/ops/admin/order/{alias}/orders/order/{order.id}/change/"
    # when
    page = staff.get(url)
    # then: shown, with its items, and no form to save
    assert page.status_code == 200
    body = page.content.decode()
    assert "Hammer" in body and 'name="_save"' not in body
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    # and: a change posted anyway is a JSON 403, and nothing changes
    refused = staff.post(url, {"csrfmiddlewaretoken": token, "status": "confirmed", "total": "0"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert Order.objects.using(alias).get(id=order.id).status == Order.Status.PENDING


def test_orders_are_found_by_order_or_user_id(staff, order):
    changelist = f"/ops/admin/order/{order._state.db}/orders/order/"
    for term, found in ((str(order.id), True), ("7", True), ("8", False), ("x", False)):
        page = staff.get(changelist, {"q": term})
        assert page.status_code == 200
        assert (f"/orders/order/{order.id}/change/" in page.content.decode()) is found, term
