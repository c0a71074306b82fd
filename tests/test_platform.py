"""The platform is up: health, routing through the gateway, JSON errors at the edge."""

import pytest

from support import Client, assert_error, assert_order_service_down_is_a_json_503


@pytest.mark.topology  # each service's own report (the monolith's: tests/monolith)
def test_health_reports_every_service_and_its_databases_and_cache_healthy():
    # when
    response = Client().get("/health/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["services"]) == {"user", "product", "order"}
    for name, report in body["services"].items():
        assert report["status"] == "healthy", (name, report)
        assert report["cache"] == "ok"
        assert set(report["database"]) == {"db0", "db0_replica", "db1", "db1_replica"}
        assert set(report["database"].values()) == {"ok"}
        # and who leads each shard server, and its synchronous standby streaming (names: Patroni's members)
        assert set(report["servers"]) == {"db0", "db1"}, report
        for alias, roles in report["servers"].items():
            server = f"{name}-db-{alias[2:]}"
            [standby] = roles["standbys"]
            assert {roles["leader"], standby["member"]} == {server, f"{server}-replica"}, roles
            assert (standby["state"], standby["sync_state"]) == ("streaming", "sync"), roles


def test_every_service_is_reachable_through_the_gateway():
    client = Client()
    # user: validation answered by the user service
    assert_error(client.post("/api/auth/register/", json={}), 400, "validation_error")
    # product: the catalog
    assert client.get("/api/products/?page_size=1").status_code == 200
    # order: needs a login
    assert_error(client.get("/api/orders/"), 401)


def test_responses_carry_request_id_and_served_by():
    response = Client().get("/api/products/?page_size=1", headers={"X-Request-ID": "trace-me-123"})
    assert response.headers["X-Request-ID"] == "trace-me-123"
    assert response.headers["X-Served-By"]
    assert Client().get("/health/").headers["X-Request-ID"]


def test_unknown_path_is_a_json_404():
    assert_error(Client().get("/no/such/path"), 404, "not_found")
    assert_error(Client().get("/api/nothing-here/"), 404, "not_found")


def test_malformed_json_body_is_a_json_400_from_the_gateway():
    response = Client().post("/api/auth/login/", data="{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "malformed_json")


def test_oversized_body_is_a_json_413():
    body = '{"email": "' + "a" * (2 * 1024 * 1024) + '"}'
    response = Client().post("/api/auth/register/", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def test_openapi_schema_covers_the_whole_public_api_and_docs_render_offline():
    client = Client()
    schema = client.get("/api/schema/").json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/auth/register/",
        "/api/auth/login/",
        "/api/auth/refresh/",
        "/api/users/me/",
        "/api/products/",
        "/api/products/{product_id}/",
        "/api/orders/",
        "/api/orders/{order_id}/",
        "/api/orders/{order_id}/cancel/",
    ):
        assert path in schema["paths"], path
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    # its assets come from this platform (no internet), served by nginx as immutable files
    asset = next(part.split('"')[0] for part in docs.text.split('src="')[1:] if part.startswith("/static/"))
    static = client.get(asset)
    assert static.status_code == 200
    assert "immutable" in static.headers["Cache-Control"]


@pytest.mark.topology  # the services' replicas
def test_prometheus_scrapes_every_service_replica():
    import json

    from support import compose, wait_for

    def targets():
        out = compose("exec", "-T", "prometheus", "curl", "-s", "http://localhost:9090/api/v1/targets?state=active")
        active = json.loads(out)["data"]["activeTargets"]
        up = {t["labels"].get("service") for t in active if t["health"] == "up"}
        return up >= {"gateway", "user", "product", "order"} and up

    wait_for(targets, timeout=60, interval=2)


@pytest.mark.topology  # the services' and workers' containers
def test_request_id_reaches_the_services_and_the_workers_logs(user, products):
    from support import compose, wait_for

    request_id = f"trace-{user.id}"
    response = user.client.post(
        "/api/orders/",
        json={"items": [{"product_id": products[0]["id"], "quantity": 1}]},
        headers={**user.auth, "X-Request-ID": request_id},
    )
    assert response.status_code == 202 and response.headers["X-Request-ID"] == request_id
    wait_for(lambda: request_id in compose("logs", "--since", "2m", "order", "product-worker"), timeout=30, interval=1)


@pytest.mark.topology  # stops the order service
def test_a_service_that_is_down_is_a_json_503_from_the_gateway(user):
    assert_order_service_down_is_a_json_503(user)


def test_nginx_follows_gateway_replicas_without_a_restart():
    from support import compose, wait_for

    def upstreams() -> int:
        return len(compose("exec", "-T", "nginx", "cat", "/etc/nginx/upstreams/gateway.conf").split("\n")) - 1

    started = compose("ps", "-q", "nginx").strip()
    compose("up", "-d", "--wait", "--no-recreate", "--scale", "gateway=2", "gateway", timeout=300)
    try:
        wait_for(lambda: upstreams() == 2, timeout=20, interval=1)
        assert {Client().get(f"/api/products/?page_size=1&g={n}").status_code for n in range(40)} == {200}
    finally:
        compose("up", "-d", "--wait", "--no-recreate", "--scale", "gateway=1", "gateway", timeout=300)
    wait_for(lambda: upstreams() == 1, timeout=20, interval=1)
    assert {Client().get(f"/api/products/?page_size=1&h={n}").status_code for n in range(40)} == {200}
    assert compose("ps", "-q", "nginx").strip() == started  # the same nginx container throughout
