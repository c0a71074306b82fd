"""One test (or more) per risk of the OWASP API Security Top 10 (2023), through nginx as a client would,
checking in the shard servers (psql) where data really landed when it matters.

Risks tested elsewhere too: forged tokens (test_auth.py), spoofed client addresses (test_client_address.py),
paths that climb to /metrics (test_paths.py), hostile input (test_hostile_input.py), and the whole contract
under fuzzing (test_contract.py).
"""

from __future__ import annotations

import json
import uuid

import requests

from support import BASE_URL, PASSWORD, assert_error, login, psql, register, server_of


def _order(user, product, quantity=1, **headers):
    body = {"items": [{"product_id": product["id"], "quantity": quantity}]}
    return user.client.post("/api/orders/", json=body, headers={**user.auth, **headers})


def test_api1_broken_object_level_authorization(user, products):
    """API1:2023 Broken Object Level Authorization: another user's order ID, read or cancelled, is a 404
    (never "forbidden", which would tell it exists), and the order in its shard stays as it was."""
    order = _order(user, products[0]).json()
    intruder = login(register())
    assert_error(intruder.client.get(f"/api/orders/{order['id']}/", headers=intruder.auth), 404)
    assert_error(intruder.client.post(f"/api/orders/{order['id']}/cancel/", headers=intruder.auth), 404)
    assert order["id"] not in [
        o["id"] for o in intruder.client.get("/api/orders/", headers=intruder.auth).json()["results"]
    ]
    rows = psql(
        f"order-db-{server_of(user.id)}", "orders", f"SELECT user_id FROM orders_order WHERE id = {order['id']}"
    )
    assert rows == [[user.id]]
    assert user.client.get(f"/api/orders/{order['id']}/", headers=user.auth).json()["status"] != "cancelled"


def test_api2_broken_authentication_failed_logins_lock_the_account_for_a_while():
    """API2:2023 Broken Authentication: guessing a password is throttled per account (429 with Retry-After
    after 5 failures), and while it is, even the right password is refused."""
    victim = register()
    for _ in range(5):
        wrong = victim.client.post("/api/auth/login/", json={"email": victim.email, "password": "guess-Passw0rd!"})
        assert_error(wrong, 401)
    throttled = victim.client.post("/api/auth/login/", json={"email": victim.email, "password": "guess-Passw0rd!"})
    assert_error(throttled, 429)
    assert int(throttled.headers["Retry-After"]) > 0

    assert_error(victim.client.post("/api/auth/login/", json={"email": victim.email, "password": PASSWORD}), 429)


def test_api2_broken_authentication_no_operation_but_the_public_ones_answers_without_a_token():
    """API2:2023 Broken Authentication: every operation the schema marks as needing the bearer token answers
    401 without one."""
    schema = requests.get(f"{BASE_URL}/api/schema/", timeout=30).json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue
            url = BASE_URL + path.replace("{order_id}", "1").replace("{product_id}", "1")
            response = requests.request(method.upper(), url, json={}, timeout=30)
            assert_error(response, 401)


def test_api3_broken_object_property_level_authorization(user):
    """API3:2023 Broken Object Property Level Authorization: properties a client may not set (is_staff,
    e-mail, order statistics) are ignored in a profile update, and no secret property (the password hash)
    is ever shown."""
    response = user.client.patch(
        "/api/users/me/",
        json={"name": "Renamed", "is_staff": True, "email": "other@example.com", "orders_count": 99},
        headers=user.auth,
    )
    assert response.status_code == 200, response.text
    profile = response.json()
    assert (profile["name"], profile["is_staff"], profile["email"], profile["orders_count"]) == (
        "Renamed",
        False,
        user.email,
        0,
    )
    assert not {"password", "password_hash"} & set(profile)
    rows = psql(
        f"user-db-{server_of(user.id)}", "users", f"SELECT is_staff, email FROM users_user WHERE id = {user.id}"
    )
    assert rows == [["f", user.email]]


def test_api4_unrestricted_resource_consumption(user, products):
    """API4:2023 Unrestricted Resource Consumption: page sizes, IDs per lookup, items per order, quantities
    and body sizes are bounded: each past its bound is a 4xx in the error shape."""
    assert_error(requests.get(f"{BASE_URL}/api/products/?page_size=101", timeout=30), 400)
    assert_error(requests.get(f"{BASE_URL}/api/products/?page=201", timeout=30), 400)
    ids = ",".join(str(n) for n in range(1, 102))
    assert_error(requests.get(f"{BASE_URL}/api/products/lookup/?ids={ids}", timeout=30), 400)
    too_many = [{"product_id": str(n), "quantity": 1} for n in range(1, 52)]
    assert_error(user.client.post("/api/orders/", json={"items": too_many}, headers=user.auth), 400)
    assert_error(_order(user, products[0], quantity=1001), 400)
    huge = json.dumps({"name": "x" * (2 * 1024 * 1024)})
    response = user.client.patch("/api/users/me/", data=huge, headers={**user.auth, "Content-Type": "application/json"})
    assert_error(response, 413)


def test_api5_broken_function_level_authorization(user, products):
    """API5:2023 Broken Function Level Authorization: a regular user's token cannot call an admin's
    functions (create, change, delete products; shard reports), and the product is unchanged in its shard;
    identity headers a client sends itself are dropped by the gateway."""
    product = products[0]
    staff_claim = {**user.auth, "X-User-Is-Staff": "1", "X-User-ID": "1"}
    assert_error(user.client.post("/api/products/", json={}, headers=staff_claim), 403)
    assert_error(user.client.patch(f"/api/products/{product['id']}/", json={"price": "0.01"}, headers=staff_claim), 403)
    assert_error(user.client.delete(f"/api/products/{product['id']}/", headers=staff_claim), 403)
    for service in ("users", "products", "orders"):
        assert_error(user.client.get(f"/api/{service}/admin/shards/", headers=staff_claim), 403)
    rows = psql(
        f"product-db-{server_of(product['id'])}",
        "products",
        f"SELECT price FROM products_product WHERE id = {product['id']}",
    )
    assert rows == [[product["price"]]]


def test_api6_unrestricted_access_to_sensitive_business_flows(user, products):
    """API6:2023 Unrestricted Access to Sensitive Business Flows: replaying a purchase with its
    Idempotency-Key makes one order, not one per request, and reusing the key for another basket is a 409."""
    key = uuid.uuid4().hex
    first = _order(user, products[1], **{"Idempotency-Key": key})
    replays = [_order(user, products[1], **{"Idempotency-Key": key}) for _ in range(3)]
    assert first.status_code == 202, first.text
    assert {r.json()["id"] for r in replays} == {first.json()["id"]}
    assert_error(_order(user, products[1], quantity=2, **{"Idempotency-Key": key}), 409)
    rows = psql(
        f"order-db-{server_of(user.id)}", "orders", f"SELECT count(*) FROM orders_order WHERE user_id = {user.id}"
    )
    assert rows == [["1"]]


def test_api7_server_side_request_forgery_no_operation_takes_a_url():
    """API7:2023 Server Side Request Forgery: not applicable by design, and kept so: no operation takes a
    URL (no parameter or property of format uri, or named like one), so nothing a client sends is fetched.
    The services fetch only their configured peers (SERVICE_URLS)."""
    schema = requests.get(f"{BASE_URL}/api/schema/", timeout=30).json()
    text = json.dumps({"paths": schema["paths"], "schemas": schema["components"]["schemas"]}).lower()
    for word in ('"format": "uri"', '"url"', '"uri"', "callback", "webhook", "redirect"):
        assert word not in text, word


def test_api8_security_misconfiguration():
    """API8:2023 Security Misconfiguration: errors are JSON in the one shape (no HTML, no stack trace),
    nginx does not tell its version, no cross-origin access is granted to any origin, /metrics is not public."""
    hostile_origin = {"Origin": "https://evil.example"}
    for response in (
        requests.get(f"{BASE_URL}/api/no-such-thing/", headers=hostile_origin, timeout=30),
        requests.post(
            f"{BASE_URL}/api/auth/login/", data="{not json", headers={"Content-Type": "application/json"}, timeout=30
        ),
        requests.get(f"{BASE_URL}/metrics", timeout=30),
    ):
        assert response.status_code in (400, 404), response.status_code
        assert_error(response, response.status_code)
        assert "Traceback" not in response.text and "<html" not in response.text.lower()
        assert response.headers.get("Server") == "nginx"
        assert "Access-Control-Allow-Origin" not in response.headers
    products = requests.get(f"{BASE_URL}/api/products/", headers=hostile_origin, timeout=30)
    assert "Access-Control-Allow-Origin" not in products.headers


def test_api9_improper_inventory_management():
    """API9:2023 Improper Inventory Management: the published schema is the whole inventory: its operations
    are exactly the platform's, and paths it does not list (old versions, services' own schemas, admin
    pages, debug tools) are a JSON 404 at the edge."""
    schema = requests.get(f"{BASE_URL}/api/schema/", timeout=30).json()
    inventory = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert len(inventory) == 20, sorted(inventory)
    assert {p.split("/")[2] for _, p in inventory} == {"auth", "users", "products", "orders"}
    for path in ("/api/v1/products/", "/api/v2/orders/", "/admin/", "/api/admin/", "/__debug__/", "/api/users/"):
        assert_error(requests.get(BASE_URL + path, timeout=30), 404)


def test_api10_unsafe_consumption_of_apis(user, admin):
    """API10:2023 Unsafe Consumption of APIs: what the order service takes from the product service (name,
    price) is data: stored as given, in its bounds, never interpreted, and the client's own price is ignored."""
    name = "<script>alert(1)</script> ' OR 1=1; -- \u202e"
    body = {"sku": f"SEC-{uuid.uuid4().hex[:10]}", "name": name, "category": "kitchen", "price": "2.50", "stock": 10}
    product = admin.client.post("/api/products/", json=body, headers=admin.auth)
    assert product.status_code == 201, product.text
    items = [{"product_id": product.json()["id"], "quantity": 1, "unit_price": "0.01", "product_name": "x"}]
    order = user.client.post("/api/orders/", json={"items": items}, headers=user.auth)
    assert order.status_code == 202, order.text
    assert order.headers["Content-Type"].startswith("application/json")
    assert order.json()["items"][0]["product_name"] == name and order.json()["total"] == "2.50"
    rows = psql(
        f"order-db-{server_of(user.id)}",
        "orders",
        f"SELECT i.unit_price FROM orders_orderitem i WHERE i.order_id = {order.json()['id']}",
    )
    assert rows == [["2.50"]]
