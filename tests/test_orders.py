"""Orders through the gateway: priced by the product service, owned by their user, on the user's shard."""

import uuid
from decimal import Decimal

from support import assert_error, psql, server_of


def _order(user, items, **headers):
    return user.client.post("/api/orders/", json={"items": items}, headers={**user.auth, **headers})


def test_order_flow_register_login_browse_order_list_detail_cancel(user, products):
    # browse
    a, b = products[0], products[1]
    # order, with a client-sent price, status and user id that must all be ignored
    items = [
        {"product_id": a["id"], "quantity": 2, "unit_price": "0.01"},
        {"product_id": b["id"], "quantity": 1},
    ]
    response = user.client.post(
        "/api/orders/", json={"items": items, "status": "confirmed", "user_id": "1", "total": "0.01"}, headers=user.auth
    )
    assert response.status_code == 202, response.text
    order = response.json()
    assert order["status"] == "pending"
    expected = Decimal(a["price"]) * 2 + Decimal(b["price"])
    assert Decimal(order["total"]) == expected
    assert {(i["product_id"], i["unit_price"]) for i in order["items"]} == {
        (a["id"], a["price"]),
        (b["id"], b["price"]),
    }
    # stored on the user's shard server, owned by the user
    home = server_of(user.id)
    assert server_of(order["id"]) == home
    rows = psql(f"order-db-{home}", "orders", f"SELECT user_id, total FROM orders_order WHERE id = {order['id']}")
    assert rows == [[user.id, str(expected)]]
    # list and detail
    listed = user.client.get("/api/orders/", headers=user.auth).json()["results"]
    assert [o["id"] for o in listed] == [order["id"]]
    detail = user.client.get(f"/api/orders/{order['id']}/", headers=user.auth).json()
    assert detail["history"][0]["status"] == "pending"
    # cancel
    cancelled = user.client.post(f"/api/orders/{order['id']}/cancel/", headers=user.auth)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_error(user.client.post(f"/api/orders/{order['id']}/cancel/", headers=user.auth), 409)


def test_another_users_order_is_404(user, products):
    from support import login, register

    order = _order(user, [{"product_id": products[0]["id"], "quantity": 1}]).json()
    other = login(register())
    assert_error(other.client.get(f"/api/orders/{order['id']}/", headers=other.auth), 404)
    assert_error(other.client.post(f"/api/orders/{order['id']}/cancel/", headers=other.auth), 404)


def test_idempotency_key_returns_the_same_order_and_refuses_a_different_body(user, products):
    key = uuid.uuid4().hex
    items = [{"product_id": products[2]["id"], "quantity": 1}]
    first = _order(user, items, **{"Idempotency-Key": key})
    again = _order(user, items, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    other_items = [{"product_id": products[2]["id"], "quantity": 3}]
    assert_error(_order(user, other_items, **{"Idempotency-Key": key}), 409, "idempotency_key_reused")
    home = server_of(user.id)
    count = psql(f"order-db-{home}", "orders", f"SELECT count(*) FROM orders_order WHERE idempotency_key = '{key}'")
    assert count == [["1"]]


def test_bad_order_input_is_400_with_field_errors(user, products, admin):
    pid = products[3]["id"]
    for items in ([{"product_id": pid, "quantity": 0}], [{"product_id": pid, "quantity": -2}], []):
        error = assert_error(_order(user, items), 400, "validation_error")
        assert "items" in error["fields"]
    error = assert_error(_order(user, [{"product_id": "1234567", "quantity": 1}]), 400, "validation_error")
    assert "items" in error["fields"]
    assert_error(user.client.post("/api/orders/", json={"items": "nope"}, headers=user.auth), 400)
    # an inactive product cannot be ordered
    body = {"sku": f"OFF-{uuid.uuid4().hex[:8]}", "name": "Off sale", "category": "tools", "price": "5.00", "stock": 5}
    product = admin.client.post("/api/products/", json={**body, "is_active": False}, headers=admin.auth).json()
    error = assert_error(_order(user, [{"product_id": product["id"], "quantity": 1}]), 400, "validation_error")
    assert "items" in error["fields"]


def test_orders_need_a_login():
    from support import Client

    assert_error(Client().get("/api/orders/"), 401)
    assert_error(Client().post("/api/orders/", json={"items": []}), 401)
