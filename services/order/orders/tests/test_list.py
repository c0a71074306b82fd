"""A user's orders, newest first, walked with cursors: every order once; another user's cursor or a
tampered one is a 400."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from orders import clients
from orders.models import Order
from orders.services import order_place
from shared.db import ids, shards

pytestmark = pytest.mark.django_db(databases="__all__")
USER = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 5, shard=5, sequence=1)


@pytest.fixture(autouse=True)
def services(monkeypatch):
    monkeypatch.setattr(clients, "user_check", lambda **kwargs: None)
    monkeypatch.setattr(
        clients,
        "products_priced",
        lambda product_ids: {i: {"name": "P", "price": Decimal("2.00"), "is_active": True} for i in product_ids},
    )


def _client(user_id: int) -> APIClient:
    token = AccessToken()
    token["user_id"] = str(user_id)
    token["is_staff"] = False
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def orders() -> list[int]:
    """Seven orders of USER, and one more that was archived."""
    placed = [
        order_place(user_id=USER, items=[{"product_id": 1, "quantity": n}], authorization="").id for n in range(8)
    ]
    Order.objects.using(shards.primary_for_id(USER)).filter(id=placed[3]).update(archived_at=timezone.now())
    return [order_id for order_id in placed if order_id != placed[3]]


def test_cursors_walk_a_users_orders_newest_first(orders):
    # when
    client, bodies = _client(USER), []
    query = "/api/orders/?page_size=3"
    while True:
        response = client.get(query)
        assert response.status_code == 200, response.content
        bodies.append(response.json())
        if not bodies[-1]["next"]:
            break
        query = f"/api/orders/?page_size=3&cursor={bodies[-1]['next']}"
    # then
    assert [len(body["results"]) for body in bodies] == [3, 3, 1]
    assert [row["id"] for body in bodies for row in body["results"]] == [str(i) for i in sorted(orders, reverse=True)]


def test_the_default_page_is_fifty_orders_without_a_next(orders):
    body = _client(USER).get("/api/orders/").json()
    assert (len(body["results"]), body["page_size"], body["next"]) == (7, 50, None)


def test_a_tampered_cursor_is_a_400(orders):
    token = _client(USER).get("/api/orders/?page_size=2").json()["next"]
    for cursor in [token[:-2] + "xx", "not-a-cursor", token.replace(":", "")]:
        response = _client(USER).get(f"/api/orders/?cursor={cursor}")
        assert response.status_code == 400
        assert response.json()["error"]["fields"].keys() == {"cursor"}


def test_a_cursor_shows_nothing_of_another_user(orders):
    # given: a cursor from USER's list, used by someone else (cursors are positions, not grants)
    token = _client(USER).get("/api/orders/?page_size=2").json()["next"]
    other = ids.compose(timestamp_ms=ids.ID_EPOCH_MS + 5, shard=5, sequence=2)
    # when
    response = _client(other).get(f"/api/orders/?cursor={token}")
    # then
    assert response.status_code == 200 and response.json()["results"] == []
