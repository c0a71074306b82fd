"""The strangler path: the catalog taken out of the monolith, live, by moving one route in the gateway.

Under steady reads of the catalog and orders, the product service is started beside the monolith (its
worker consumes the product domain's queue beside the monolith's) and `/api/products/` is sent to it
(`make route PREFIX=/api/products/ TO=product`). No request fails, every order is confirmed at the price the
product domain holds, and the catalog's answers come from the product service from then on.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from support import Client, compose, hostnames, login, register, wait_for

PREFIX = "/api/products/"


def _route(upstream: str) -> None:
    compose("exec", "-T", "gateway", "python", "-m", "gateway.routing", "set", PREFIX, upstream)


class Traffic:
    """Catalog reads (bypassing the edge cache, as a signed-in client's do) and orders, from a few threads,
    until stopped; every answer recorded."""

    def __init__(self, buyer, products: list[dict]) -> None:
        self.buyer, self.products = buyer, products
        self.reads: list[tuple[float, int, str]] = []  # (time, status, X-Served-By)
        self.orders: list[tuple[int, dict]] = []  # (status, body)
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._read, args=(n,)) for n in range(3)]
        self._threads.append(threading.Thread(target=self._order))

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _read(self, n: int) -> None:
        client = Client()
        while not self._stop.is_set():
            product = self.products[n % len(self.products)]
            path = f"{PREFIX}{product['id']}/" if n % 2 else f"{PREFIX}?category=kitchen&page_size=5"
            response = client.get(path, headers=self.buyer.auth)
            self.reads.append((time.monotonic(), response.status_code, response.headers.get("X-Served-By", "")))
            if response.status_code != 200:
                self.failures.append(f"GET {path}: {response.status_code} {response.text[:200]}")
            time.sleep(0.02)

    def _order(self) -> None:
        client = Client()
        n = 0
        while not self._stop.is_set():
            product = self.products[n % len(self.products)]
            body = {"items": [{"product_id": product["id"], "quantity": 1 + n % 3}]}
            response = client.post("/api/orders/", json=body, headers=self.buyer.auth)
            if response.status_code != 202:
                self.failures.append(f"POST /api/orders/: {response.status_code} {response.text[:200]}")
            else:
                self.orders.append((1 + n % 3, product, response.json()))
            n += 1
            time.sleep(0.1)


def _answers(buyer, products: list[dict]) -> list[tuple]:
    """The catalog's answers to a signed-in client (past the edge cache): status, type and body bytes of
    reads, lists, a search, and the errors of a missing product and of bad parameters."""
    product = products[0]
    paths = [
        f"{PREFIX}{product['id']}/",
        f"{PREFIX}?category={product['category']}&page_size=5",
        f"{PREFIX}?search={product['name'].split()[0]}&ordering=-price&page_size=3",
        f"{PREFIX}lookup/?ids={','.join(str(p['id']) for p in products[:3])}",
        f"{PREFIX}999999999999/",
        f"{PREFIX}?page_size=0&ordering=colour",
        f"{PREFIX}?cursor=not-a-cursor",
    ]
    client = Client()
    answers = []
    for path in paths:
        response = client.get(path, headers=buyer.auth)
        answers.append((path, response.status_code, response.headers.get("Content-Type"), response.content))
    return answers


def _served_by(buyer, products: list[dict]) -> str:
    return Client().get(f"{PREFIX}{products[0]['id']}/", headers=buyer.auth).headers.get("X-Served-By", "")


def test_the_catalog_moves_from_the_monolith_to_the_product_service_under_traffic_losing_nothing(products):
    buyer = login(register())
    monolith = hostnames("monolith")
    compose("up", "-d", "--wait", "--no-deps", "product", "product-worker", timeout=300)
    try:
        service = hostnames("product")
        with Traffic(buyer, products) as traffic:
            time.sleep(4)
            moving_at = time.monotonic()
            _route("product")
            # the routes file is written by the time the `docker compose exec` returns (seconds after it
            # started, on a slow machine: CI of 2026-12-07), and every gateway process reads it within a
            # second of that (gateway/routing.py)
            moved_at = time.monotonic()
            wait_for(lambda: traffic.reads and traffic.reads[-1][2] in service, timeout=10, interval=0.2)
            time.sleep(4)
        assert traffic.failures == []
        before = {served for at, _, served in traffic.reads if at < moving_at}
        after = {served for at, _, served in traffic.reads if at > moved_at + 3}
        assert before <= monolith and after <= service, (before, after)
        assert before and after
        # every order confirmed, at the price the product domain holds
        assert len(traffic.orders) >= 40
        for quantity, product, order in traffic.orders:
            assert Decimal(order["total"]) == Decimal(product["price"]) * quantity, order

            def confirmed(order=order):
                body = buyer.client.get(f"/api/orders/{order['id']}/", headers=buyer.auth).json()
                return body["status"] == "confirmed"

            wait_for(confirmed, timeout=60, interval=0.5)
        # and the same answers, byte for byte, from the product service and from the monolith
        from_service = _answers(buyer, products)
        _route("monolith")
        wait_for(lambda: _served_by(buyer, products) in monolith, timeout=10, interval=0.2)
        from_monolith = _answers(buyer, products)
        assert {status for _, status, _, _ in from_service} >= {200, 400, 404}, from_service
        assert from_monolith == from_service
    finally:
        _route("monolith")
        compose("stop", "product", "product-worker")
