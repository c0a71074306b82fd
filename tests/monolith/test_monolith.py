"""The monolith mode (`make up MODE=monolith`): the same public API answered by one process.

Run by `make integration-monolith` (PLATFORM_MODE=monolith) beside the API suite it runs against the
monolith; these tests check the topology itself: who answered, who handled the events, where rows landed.
"""

from __future__ import annotations

import collections
import json
import urllib.parse

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


def test_prometheus_scrapes_the_monolith_and_its_worker(user):
    # the monolith's requests are counted under its own service label, as each service's are
    assert user.client.get("/api/products/", headers=user.auth).status_code == 200

    def scraped():
        out = compose("exec", "-T", "prometheus", "curl", "-s", "http://localhost:9090/api/v1/targets?state=active")
        active = json.loads(out)["data"]["activeTargets"]
        return {(t["labels"]["job"], t["labels"].get("service")) for t in active if t["health"] == "up"}

    wait_for(lambda: {("django", "monolith"), ("celery", "monolith-worker")} <= scraped(), timeout=60, interval=2)
    query = 'sum(django_http_requests_total_by_view_transport_method_total{service="monolith"})'
    url = f"http://localhost:9090/api/v1/query?query={urllib.parse.quote(query)}"

    def counted():
        result = json.loads(compose("exec", "-T", "prometheus", "curl", "-s", url))["data"]["result"]
        return result and float(result[0]["value"][1]) > 0

    wait_for(counted, timeout=60, interval=2)


def test_the_monolith_scales_like_any_web_service_and_scaling_back_loses_nothing(user, products):
    compose("up", "-d", "--wait", "--no-recreate", "--scale", "monolith=2", "monolith", timeout=300)
    try:
        replicas = hostnames("monolith")
        assert len(replicas) == 2
        # the gateway finds the new replica through Docker's DNS within seconds, for every domain's paths
        seen = set()

        def both_answer():
            for path in ("/api/users/me/", f"/api/products/{products[0]['id']}/", "/api/orders/"):
                response = user.client.get(path, headers=user.auth)
                assert response.status_code == 200, (path, response.text)
                seen.add(response.headers["X-Served-By"])
            return seen == replicas

        wait_for(both_answer, timeout=30, interval=0.2)
        served = collections.Counter()
        for _ in range(100):
            response = user.client.get(f"/api/products/{products[0]['id']}/", headers=user.auth)
            assert response.status_code == 200, response.text
            served[response.headers["X-Served-By"]] += 1
        assert set(served) == replicas and min(served.values()) >= 20, served
    finally:
        compose("up", "-d", "--wait", "--no-recreate", "--scale", "monolith=1", "monolith", timeout=300)
    statuses = collections.Counter(
        user.client.get(f"/api/products/{products[0]['id']}/", headers=user.auth).status_code for _ in range(50)
    )
    assert statuses == {200: 50}
