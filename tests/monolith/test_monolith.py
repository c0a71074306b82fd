"""The monolith mode (`make up MODE=monolith`): the same public API answered by one process.

Run by `make integration-monolith` (PLATFORM_MODE=monolith) beside the API suite it runs against the
monolith; these tests check the topology itself: who answered, who handled the events, where rows landed.
"""

from __future__ import annotations

from support import compose, hostnames, process_of, psql, server_of, wait_for


def test_the_services_are_stopped_and_the_monolith_answers_every_domain(user):
    for service in ("user", "product", "order", "user-worker", "product-worker", "order-worker"):
        assert compose("ps", "-q", service).strip() == "", f"{service} runs beside the monolith"
    monolith = hostnames("monolith")
    assert monolith
    for path in ("/api/users/me/", "/api/products/", "/api/orders/"):
        response = user.client.get(path, headers=user.auth)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["X-Served-By"] in monolith, path


def test_health_reports_each_domain_of_the_monolith_with_its_own_shard_servers(user):
    body = user.client.get("/health/").json()
    assert body["status"] == "healthy", body
    assert set(body["services"]) == {"monolith"}  # the upstreams the gateway's routes go to
    report = body["services"]["monolith"]
    assert report["service"] == "monolith" and set(report["domains"]) == {"user", "product", "order"}
    for domain, mine in report["domains"].items():
        assert mine["status"] == "healthy"
        assert set(mine["database"]) == {f"{domain}_db{n}{suffix}" for n in (0, 1) for suffix in ("", "_replica")}


def test_an_order_goes_through_the_saga_in_the_monolith_worker_and_lands_on_each_domains_servers(user, products):
    product = products[0]
    response = user.client.post(
        "/api/orders/", json={"items": [{"product_id": product["id"], "quantity": 3}]}, headers=user.auth
    )
    assert response.status_code == 202, response.text
    order = response.json()

    def confirmed():
        return user.client.get(f"/api/orders/{order['id']}/", headers=user.auth).json()["status"] == "confirmed"

    wait_for(confirmed, timeout=30, interval=0.5)
    # the order on the user's shard of the order domain's servers, the stock taken on the product's server
    home = server_of(user.id)
    assert psql(f"order-db-{home}", "orders", f"SELECT status FROM orders_order WHERE id = {order['id']}") == [
        ["confirmed"]
    ]
    stock = psql(
        f"product-db-{server_of(product['id'])}",
        "products",
        f"SELECT stock FROM products_product WHERE id = {product['id']}",
    )
    assert stock == [[str(product["stock"] - 3)]]
    # the user's statistics, from order.confirmed, on the user's server of the user domain
    wait_for(lambda: user.client.get("/api/users/me/", headers=user.auth).json()["orders_count"] == 1, timeout=30)
    # every event was handled by the monolith's worker
    logs = compose("logs", "--since", "5m", "monolith-worker")
    for event in ("order.placed", "stock.reserved", "order.confirmed"):
        assert f"applied {event}" in logs, event


def test_a_command_runs_for_the_domain_it_names():
    out = compose("exec", "-T", *process_of("product"), "python", "manage.py", "shard_report")
    # the product domain's servers, by the names the shard map gives them, and its rows only
    assert out.startswith("db0: logical shards") and "leader: product-db-" in out
    assert "products.Product" in out and "users.User" not in out and "orders.Order" not in out
