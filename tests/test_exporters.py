"""Every process and exporter is scraped, and the application metrics move when their technique acts, on the
running stack: each worker replica (found through Docker DNS) and the PgBouncer, Redis and nginx exporters
are up in Prometheus; the edge counts its cache hits; a redelivered event counts as an inbox duplicate; an
order's saga counts its steps and its events' queue wait and runtime; the recording rules give each service's
database connections."""

from __future__ import annotations

import json

import pytest

from support import Client, compose, event_envelope, login, register, send_event, wait_for

pytestmark = pytest.mark.topology  # Prometheus' targets name the services and their workers


def _query(query: str) -> list[dict]:
    out = compose(
        "exec", "-T", "prometheus", "curl", "-fsS", "-G", "--data-urlencode", f"query={query}",
        "http://127.0.0.1:9090/api/v1/query",
    )  # fmt: skip
    return json.loads(out)["data"]["result"]


def _value(query: str) -> float:
    """The query's one value (0 when it returns nothing)."""
    return sum(float(series["value"][1]) for series in _query(query))


def _running(service: str) -> int:
    return len(compose("ps", "-q", service).split())


def test_every_worker_replica_is_scraped():
    for worker in ("user-worker", "product-worker", "order-worker"):
        replicas = _running(worker)
        assert replicas >= 1, worker
        wait_for(lambda w=worker, n=replicas: _value(f'sum(up{{job="celery", service="{w}"}})') == n, timeout=60)
    # the beat runs inside each worker: the outbox sweep it publishes is counted there
    wait_for(lambda: _value('sum(celery_tasks_published_total{task="events.sweep_outbox"})') > 0, timeout=60)


def test_every_exporter_is_scraped_and_reads_its_server():
    for job, targets in {"pgbouncer": 1, "redis": 2, "nginx": 1}.items():
        wait_for(lambda j=job, n=targets: _value(f'sum(up{{job="{j}"}} == 1)') == n, timeout=60)
    assert {s["metric"]["service"] for s in _query("pgbouncer_up == 1")} == {"user", "product", "order"}
    assert {s["metric"]["redis"] for s in _query('redis_up{job="redis"} == 1')} == {"redis-cache", "redis-broker"}
    assert _value("nginx_up") == 1
    # nginx's stub_status is on its unpublished port only: the published one answers 404 (from the gateway)
    assert Client().get("/stub_status").status_code == 404


def test_the_recording_rules_give_each_services_database_connections():
    def services(rule: str) -> set[str]:
        return {s["metric"]["service"] for s in _query(rule)}

    wait_for(lambda: services("service:db_server_connections:sum") == {"user", "product", "order"}, timeout=60)
    assert services("service:db_clients_waiting:sum") == {"user", "product", "order"}
    assert _value("sum(service:db_server_connections:sum)") > 0


def test_a_redelivered_event_counts_as_an_inbox_duplicate():
    user = register()
    duplicates = 'sum(events_inbox_duplicates_total{service="order-worker", event_type="user.deleted"})'
    before = _value(duplicates)
    # when: the same user.deleted reaches the order worker twice (the user exists; it has no orders)
    send_event("order", event_envelope("user.deleted", {"user_id": user.id}), times=2)
    # then: the second one had no effect, and the inbox counted it
    wait_for(lambda: _value(duplicates) >= before + 1, timeout=60, interval=2)


def test_an_order_counts_its_saga_steps_and_its_events_latency(products):
    confirmed = 'sum(order_saga_outcomes_total{outcome="confirmed"})'
    placed = 'sum(order_saga_outcomes_total{outcome="placed"})'
    waited = 'sum(celery_task_queue_wait_seconds_count{queue="order", task="events.handle"})'
    ran = 'sum(celery_task_runtime_seconds_count{queue="order", task="events.handle"})'
    latency = 'sum(events_handled_latency_seconds_count{service="order-worker", event_type="stock.reserved"})'
    queries = (confirmed, placed, waited, ran, latency)
    before = {q: _value(q) for q in queries}
    user = login(register())
    body = {"items": [{"product_id": products[0]["id"], "quantity": 1}]}
    response = user.client.post("/api/orders/", json=body, headers=user.auth)
    assert response.status_code == 202, response.text
    order = response.json()["id"]

    def status() -> str:
        return user.client.get(f"/api/orders/{order}/", headers=user.auth).json()["status"]

    wait_for(lambda: status() == "confirmed", timeout=30, interval=0.5)
    # then (after a scrape): each counter moved
    wait_for(lambda: all(_value(q) > before[q] for q in queries), timeout=60, interval=2)


def test_every_process_reports_its_shard_map_version():
    series = _query("shard_map_version")
    services = {s["metric"]["service"] for s in series}
    every = {"user", "product", "order", "user-worker", "product-worker", "order-worker"}
    assert every <= services, services
    assert all(float(s["value"][1]) >= 0 for s in series)


def test_the_edge_counts_its_cache_hits_and_misses(products):
    # given: a product's canonical URL, never read at the edge in this test run
    url = f"/api/products/{products[0]['id']}/"
    status = 'sum(nginx_edge_cache_requests_total{{status="{}"}})'
    before = {s: _value(status.format(s)) for s in ("HIT", "MISS")}
    # when: read twice within its edge TTL (the second from the edge cache)
    answers = [Client().get(url).headers["X-Cache-Status"] for _ in range(2)]
    assert answers[-1] == "HIT", answers
    # then (after a scrape): the counters moved as the answers say, and the hit ratio is recorded
    wait_for(
        lambda: all(_value(status.format(s)) >= before[s] + answers.count(s) for s in ("HIT", "MISS")),
        timeout=60,
        interval=2,
    )
    wait_for(lambda: _query("edge:cache_hit_ratio"), timeout=60, interval=2)
    # the counters are on nginx's unpublished port only
    assert Client().get("/edge-metrics").status_code == 404
