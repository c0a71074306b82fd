"""The autoscaler on the real stack: a bounded burst of uncached catalog reads through nginx makes product
go from 1 replica to 2 or more, the new replicas get traffic, and once the load stops and the
scale-down window passes it is back at 1, with no failed request throughout; a pinned service is left
alone. The policy is deploy/autoscaler/policy.yml (windows of 15 s up and 45 s down)."""

from __future__ import annotations

import collections
import itertools
import random
import threading
import time

import pytest

from support import Client, autoscaler, compose, wait_for

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
    """Uncached catalog pages (no edge or service cache hit) from THREADS threads until stopped; every
    response is counted by status and by the replica that served it."""

    def __init__(self, light: bool = False):
        self.statuses, self.served = collections.Counter(), collections.Counter()
        self.stop, self.light, self._lock = threading.Event(), light, threading.Lock()
        self._pages = iter(_catalog_pages())
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2 if light else THREADS)]

    def _run(self):
        client = Client()
        while not self.stop.is_set():
            with self._lock:
                path = next(self._pages, None)
            if path is None:
                return
            response = client.get(path, timeout=30)
            with self._lock:
                self.statuses[response.status_code] += 1
                self.served[response.headers.get("X-Served-By", "-")] += 1
            if self.light:
                time.sleep(0.2)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.fixture
def product_released():
    """product given to the autoscaler for this test, at 1 replica; pinned again (and at 1) after it."""
    assert _replicas("product") == 1
    autoscaler("release", "product")
    yield
    autoscaler("pin", "product", "1")
    compose("up", "-d", "--wait", "--no-recreate", "--scale", "product=1", "product", timeout=300)


def test_a_load_burst_scales_product_up_spreads_traffic_and_it_comes_back_to_one(product_released):
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
    with Load(light=True) as light:
        wait_for(lambda: _replicas("product") == 1, timeout=180, interval=3)
        time.sleep(3)
    # then: back at one replica, and no request failed on the way down
    assert set(light.statuses) == {200}, light.statuses
    assert "every low condition holds" in _decisions(since)


def test_a_pinned_service_is_left_alone():
    # given: gateway pinned (as every web service is during the suite, like a human's `make scale`)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # then: the autoscaler says so in its log and does not scale it
    wait_for(lambda: "gateway: 1 replicas, pinned by a human at 1" in _decisions(since), timeout=30, interval=2)
    assert _replicas("gateway") == 1
