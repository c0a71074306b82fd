"""Django's admin on every service, through the edge: `/ops/admin/<service>/<server>/`, one site per shard
server, reached with the one staff sign-in of `/ops/` (the user service's session in `cached_db`; the
product and order services ask the user service who a session's cookie belongs to). Changes go through
the services' own functions and rules, so they land where the API's would, and leave no cache stale."""

from __future__ import annotations

import collections
import re
import time
import uuid

import pytest

from support import BASE_URL, PASSWORD, Client, assert_error, compose, psql, register, server_of, wait_for

SERVICES = ("user", "product", "order")


def _token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _post(client: Client, url: str, data: dict):
    """A form posted as the browser posts it from the page at `url` (its CSRF token, and the page's Origin)."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code, page.text[:300])
    return client.post(
        url, data={"csrfmiddlewaretoken": _token(page), **data}, headers={"Origin": BASE_URL}, allow_redirects=False
    )


def test_one_sign_in_reaches_the_admin_of_every_service_and_every_server(staff):
    for service in SERVICES:
        # the bare prefix opens the home server's site, which names and links every server
        page = staff.get(f"/ops/admin/{service}/")
        assert page.status_code == 200, (service, page.text[:300])
        assert f"{service} admin · db0" in page.text and f'href="/ops/admin/{service}/db1/"' in page.text
        other = staff.get(f"/ops/admin/{service}/db1/")
        assert other.status_code == 200 and f"{service} admin · db1" in other.text
        assert {"private", "no-store"} <= {part.strip() for part in page.headers["Cache-Control"].split(",")}
    # the admin's static files come from nginx, as immutable files
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]+\.css)"', page.text).group(1)
    static = Client().get(css)
    assert static.status_code == 200 and "immutable" in static.headers["Cache-Control"]


def test_without_the_staff_session_every_admin_sends_to_the_sign_in(user):
    for service in SERVICES:
        response = Client().get(f"/ops/admin/{service}/db1/", allow_redirects=True)
        assert response.url.startswith(f"{BASE_URL}/ops/login/?next="), (service, response.url)
        assert f"%2Fops%2Fadmin%2F{service}%2Fdb1%2F" in response.url
    # a customer's JWT is not a staff session
    assert Client().get("/ops/admin/product/db0/", headers=user.auth, allow_redirects=False).status_code == 302


def test_a_price_changed_in_the_product_admin_is_in_its_shard_and_on_every_api_read_within_2s(staff, products):
    # given: a product, read through the edge (and so cached there and in the service)
    product = products[0]
    server = server_of(product["id"])
    assert Client().get(f"/api/products/{product['id']}/").json()["price"] == product["price"]
    # when: an operator changes its price and name in the admin of its server
    url = f"/ops/admin/product/db{server}/products/product/{product['id']}/change/"
    changed = _post(staff, url, {"name": "Repriced", "description": "", "price": "11.50", "is_active": "on"})
    # then
    assert changed.status_code == 302, changed.text[:500]
    changed_at = time.monotonic()
    stored = f"SELECT name, price FROM products_product WHERE id = {product['id']}"
    assert psql(f"product-db-{server}", "products", stored) == [["Repriced", "11.50"]]

    def api_shows_it():
        body = Client().get(f"/api/products/{product['id']}/").json()
        return body["price"] == "11.50" and body["name"] == "Repriced"

    wait_for(api_shows_it, timeout=2, interval=0.1)
    assert time.monotonic() - changed_at <= 2
    # and: a price the API refuses is refused here too, and nothing is written
    refused = _post(staff, url, {"name": "Repriced", "description": "", "price": "-1", "is_active": "on"})
    assert refused.status_code == 200 and "errorlist" in refused.text
    assert psql(f"product-db-{server}", "products", stored) == [["Repriced", "11.50"]]


def test_a_form_from_another_origin_is_a_json_403(staff, products):
    url = f"/ops/admin/product/db{server_of(products[0]['id'])}/products/product/{products[0]['id']}/change/"
    token = _token(staff.get(url))
    forged = staff.post(
        url,
        data={"csrfmiddlewaretoken": token, "name": "X", "price": "0.01"},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
    )
    assert_error(forged, 403, "csrf_failed")


def test_an_order_is_shown_with_its_items_and_cannot_be_changed_in_the_order_admin(staff, user, products):
    # given: an order, confirmed by its saga
    placed = user.client.post(
        "/api/orders/", json={"items": [{"product_id": products[1]["id"], "quantity": 2}]}, headers=user.auth
    )
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["id"]
    url = f"/ops/admin/order/db{server_of(order_id)}/orders/order/{order_id}/change/"
    # when / then: shown with its item, on its own server, without a save button
    page = staff.get(url)
    assert page.status_code == 200 and products[1]["name"] in page.text and 'name="_save"' not in page.text
    found = staff.get(f"/ops/admin/order/db{server_of(order_id)}/orders/order/", params={"q": user.id})
    assert f"/orders/order/{order_id}/change/" in found.text
    # and: a change posted anyway is a JSON 403, and the row is as the saga left it
    refused = _post(staff, url, {"status": "cancelled", "total": "0"})
    assert_error(refused, 403, "permission_denied")
    wait_for(lambda: user.client.get(f"/api/orders/{order_id}/", headers=user.auth).json()["status"] == "confirmed")
    rows = psql(f"order-db-{server_of(order_id)}", "orders", f"SELECT status FROM orders_order WHERE id = {order_id}")
    assert rows == [["confirmed"]]


def test_an_account_deactivated_in_the_user_admin_can_no_longer_log_in_or_refresh(staff):
    # given: a customer with a refresh token
    customer = register(email=f"deactivated-{uuid.uuid4().hex[:8]}@example.com")
    login = Client().post("/api/auth/login/", json={"email": customer.email, "password": PASSWORD})
    assert login.status_code == 200
    # when: deactivated in the admin of its server
    server = server_of(customer.id)
    url = f"/ops/admin/user/db{server}/users/user/{customer.id}/change/"
    assert _post(staff, url, {"name": "Gone"}).status_code == 302  # an unchecked box: is_active off
    # then
    assert psql(f"user-db-{server}", "users", f"SELECT is_active FROM users_user WHERE id = {customer.id}") == [["f"]]
    assert Client().post("/api/auth/login/", json={"email": customer.email, "password": PASSWORD}).status_code == 401
    refreshed = Client().post("/api/auth/refresh/", json={"refresh": login.json()["refresh"]})
    assert refreshed.status_code == 401, refreshed.text


@pytest.mark.topology  # scales the product service
def test_the_staff_session_is_served_by_every_product_replica_and_outlives_a_redis_restart(staff):
    compose("up", "-d", "--wait", "--no-recreate", "--scale", "product=3", "product", timeout=300)
    try:
        served = collections.Counter()

        def all_three_seen():
            response = staff.get("/ops/admin/product/db0/products/product/", allow_redirects=False)
            assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
            served[response.headers["X-Served-By"]] += 1
            return len(served) == 3

        wait_for(all_three_seen, timeout=30, interval=0.1)
        # and: redis-cache restarts (the session's cached copy and the kept answers are gone)
        compose("restart", "redis-cache", timeout=120)
        for _ in range(30):
            all_three_seen()  # each answer a 200: the session is still known to every replica
    finally:
        compose("up", "-d", "--wait", "--no-recreate", "--scale", "product=1", "product", timeout=300)
        compose("up", "-d", "--wait", "redis-cache", timeout=120)


def test_signing_out_in_one_admin_ends_the_staff_session_everywhere(staff):
    index = "/ops/admin/order/db0/"
    page = staff.get(index)
    assert page.status_code == 200
    assert_error(staff.get(f"{index}logout/", allow_redirects=False), 405, "method_not_allowed")  # a form's POST only
    token = {"csrfmiddlewaretoken": _token(page)}
    out = staff.post(f"{index}logout/", data=token, headers={"Origin": BASE_URL}, allow_redirects=False)
    assert out.status_code == 302 and out.headers["Location"] == "/ops/login/"
    for url in ("/ops/", "/ops/admin/user/db0/", "/ops/admin/product/db0/", index):
        assert staff.get(url, allow_redirects=False).status_code == 302, url
