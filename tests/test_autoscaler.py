"""The autoscaler on the real stack: a bounded burst of uncached catalog reads through nginx makes product
go from 1 replica to 2 or more, the new replicas get traffic, and once the load stops and the
scale-down window passes it is back at 1, with no failed request throughout; a backlog on the product
queue scales product-worker up and back the same way; a pinned service is left alone. The policy is
deploy/autoscaler/policy.yml (windows of 15 s up and 45 s down)."""

from __future__ import annotations

import collections
import itertools
import random
import subprocess
import threading
import time
import uuid

import pytest

from support import Client, autoscaler, compose, health, wait_for

pytestmark = pytest.mark.topology  # scales the product service

BURST_SECONDS = 150  # the most the load runs; it stops as soon as product has scaled up and spread
THREADS = 12


def _replicas(service: str) -> int:
    return len(compose("ps", "-q", service).split())


def _decisions(since: str) -> str:
    return compose("logs", "--no-log-prefix", "--since", since, "autoscaler")


ORDERINGS = ("-created", "created", "price", "-price", "name", "-name")


def _catalog_pages() -> list[str]:
    """Catalog pages by number, in an order no cache has seen: every (category, ordering, size, page)
    is its own cache key, and each answer serializes 50 to 100 products (product's CPU, not SQL)."""
    first = Client().get("/api/products/?page_size=100").json()["results"]
    categories = sorted({row["category"] for row in first}) + [""]
    pages = [
        f"/api/products/?category={c}&ordering={o}&page_size={size}&page={page}"
        for c, o, size, page in itertools.product(categories, ORDERINGS, range(50, 101), range(1, 11))
    ]
    random.shuffle(pages)
    return pages


class Load:
    """Requests from a few threads until stopped, each response counted by status and by the replica that
    served it: a burst of uncached catalog pages (no edge or service cache hit: product's CPU), or,
    `light`, a trickle of product reads (a fresh query string each: past the edge, to product)."""

    def __init__(self, light_on: str | None = None):
        self.statuses, self.served = collections.Counter(), collections.Counter()
        self.stop, self._lock = threading.Event(), threading.Lock()
        self._light_on = light_on
        self._pages = iter(_catalog_pages()) if light_on is None else None
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(THREADS if self._pages else 2)]

    def _next(self) -> str | None:
        if self._light_on is not None:
            time.sleep(0.2)
            return f"/api/products/{self._light_on}/?probe={uuid.uuid4().hex}"
        with self._lock:
            return next(self._pages, None)

    def _run(self):
        client = Client()
        while not self.stop.is_set() and (path := self._next()) is not None:
            response = client.get(path, timeout=30)
            with self._lock:
                self.statuses[response.status_code] += 1
                self.served[response.headers.get("X-Served-By", "-")] += 1

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.fixture
def released(request):
    """The service (the test's parameter) given to the autoscaler for the test, at 1 replica; pinned
    again, and at 1, after it."""
    service = request.param
    assert _replicas(service) == 1
    autoscaler("release", service)
    yield service
    autoscaler("pin", service, "1")
    compose("up", "-d", "--wait", "--no-recreate", "--scale", f"{service}=1", service, timeout=300)


@pytest.mark.parametrize("released", ["product"], indirect=True)
def test_a_load_burst_scales_product_up_spreads_traffic_and_it_comes_back_to_one(released, products):
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # when: a burst of uncached reads, until product has at least 2 replicas serving (bounded)
    with Load() as burst:
        deadline = time.monotonic() + BURST_SECONDS
        while time.monotonic() < deadline and not (_replicas("product") >= 2 and len(burst.served) >= 2):
            time.sleep(3)
        time.sleep(5)  # the new replica serves for a while under the load
    # then: scaled up on the seed's rule (two high signals), and the new replica got traffic
    assert _replicas("product") >= 2, _decisions(since)
    assert "product: 1 -> 2" in _decisions(since)
    assert len(burst.served) >= 2, burst.served
    assert set(burst.statuses) == {200}, burst.statuses
    # when: only light traffic, while the scale-down window passes
    with Load(light_on=products[0]["id"]) as light:
        wait_for(lambda: _replicas("product") == 1, timeout=180, interval=3)
        time.sleep(3)
    # then: back at one replica, and no request failed on the way down
    assert set(light.statuses) == {200}, light.statuses
    assert "every low condition holds" in _decisions(since)


@pytest.mark.parametrize("released", ["product-worker"], indirect=True)
def test_a_backlog_on_its_queue_scales_a_worker_up_and_back(released, admin, products):
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # given: product-worker-1 paused (a worker that cannot keep up), and 150 product.updated events for
    # the product queue (admin PATCHes)
    first = compose("ps", "-q", "product-worker").split()[0]
    subprocess.run(["docker", "pause", first], check=True, capture_output=True)
    try:
        for n in range(150):
            response = admin.client.patch(
                f"/api/products/{products[0]['id']}/", json={"price": f"{10 + n % 7}.00"}, headers=admin.auth
            )
            assert response.status_code == 200, response.text
        # then: more workers are started for the backlog
        wait_for(lambda: _replicas("product-worker") >= 2, timeout=90, interval=3)
    finally:
        subprocess.run(["docker", "unpause", first], check=True, capture_output=True)
    wait_for(lambda: health(first) == "healthy", timeout=120, interval=3)  # its health checks hung while paused
    # and: once the queue has stayed short through the scale-down window, it is back at one worker
    wait_for(lambda: _replicas("product-worker") == 1, timeout=240, interval=3)
    decisions = _decisions(since)
    assert "product-worker: 1 -> 2; up: 1 of 1 high: queue_length_per_replica > 50" in decisions, decisions
    assert "product-worker: 2 -> 1; down: every low condition holds" in decisions, decisions
    # drained when it went down
    assert decisions.rsplit("product-worker: 2 -> 1", 1)[1].split("\n", 1)[0].endswith("queue_length_per_replica=0")


def test_a_pinned_service_is_left_alone():
    # given: gateway pinned (as every web service is during the suite, like a human's `make scale`)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # then: the autoscaler says so in its log and does not scale it
    wait_for(lambda: "gateway: 1 replicas, pinned by a human at 1" in _decisions(since), timeout=30, interval=2)
    assert _replicas("gateway") == 1
