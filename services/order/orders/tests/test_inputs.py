"""Hostile input to the order endpoints is a 400 with field errors, and stores nothing."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from orders import apis, clients
from orders.models import Order
from orders.services import order_place
from shared.db import ids, shards
from shared.errors import ValidationFailed
from shared.http.fields import plain_input_fields

pytestmark = pytest.mark.django_db(databases="__all__")
USER = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 5, shard=3, sequence=1)


@pytest.fixture(autouse=True)
def catalog(monkeypatch):
    """Every product exists, at the highest price a product can have."""
    monkeypatch.setattr(clients, "user_check", lambda **kwargs: None)
    monkeypatch.setattr(
        clients,
        "products_priced",
        lambda product_ids: {i: {"name": "P", "price": Decimal("99999999.99"), "is_active": True} for i in product_ids},
    )


@pytest.fixture
def user() -> APIClient:
    token = AccessToken()
    token["user_id"] = str(USER)
    token["is_staff"] = False
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _stored() -> int:
    return sum(Order.objects.using(alias).count() for alias in shards.primaries())


def test_every_input_serializer_uses_the_platform_fields():
    assert plain_input_fields(apis) == []


@pytest.mark.parametrize(
    "item",
    [
        {"product_id": "\u0661\u0662", "quantity": 1},
        {"product_id": 12, "quantity": "\u0663"},
        {"product_id": 12, "quantity": 2**31},
        {"product_id": 2**63, "quantity": 1},
        {"product_id": "12\x00", "quantity": 1},
    ],
)
def test_hostile_items_are_400_and_store_nothing(user, item):
    # when
    response = user.post("/api/orders/", {"items": [item]}, format="json")
    # then
    assert response.status_code == 400, response.content
    assert "items" in response.json()["error"]["fields"]
    assert _stored() == 0


def test_a_body_nested_thousands_deep_is_a_400(user):
    response = user.post(
        "/api/orders/", '{"items": ' + "[" * 50_000 + "]" * 50_000 + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert _stored() == 0


def test_an_order_whose_total_the_column_cannot_hold_is_refused():
    # given: 11 lines of 1000 at 99,999,999.99 is over 10^12, more than Order.total (14 digits, 2 decimals) holds
    items = [{"product_id": n, "quantity": 1000} for n in range(1, 12)]
    # when / then
    with pytest.raises(ValidationFailed) as error:
        order_place(user_id=USER, items=items, authorization="")
    assert "items" in error.value.fields
    assert _stored() == 0
