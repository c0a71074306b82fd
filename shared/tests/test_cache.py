"""The layered cache, with redis-cache unreachable (as in the unit-test run): L1 works, nothing fails."""

import threading
import time

import pytest

from shared.cache import L1, LayeredCache


@pytest.fixture
def layered(settings):
    settings.CACHE_L1_SECONDS = 0.2
    settings.CACHE_RETRY_SECONDS = 5
    cache = LayeredCache()
    cache._ensure_listener = lambda: None  # no invalidation channel without Redis
    return cache


def test_l1_expires():
    l1 = L1()
    l1.set("k", 1, ttl=0.05)
    assert l1.get("k") == 1
    time.sleep(0.06)
    assert l1.get("k") != 1


def test_l1_sweeps_out_what_expired_and_stays_bounded(monkeypatch):
    l1 = L1(max_entries=10)
    clock = [100.0]
    monkeypatch.setattr("shared.cache.time.monotonic", lambda: clock[0])
    for n in range(5):
        l1.set(f"old{n}", n, ttl=0.5)
    # when: a second later, another key
    clock[0] += 1.5
    l1.set("new", 1, ttl=5)
    # then: the expired entries are gone, not just unreadable
    assert len(l1) == 1 and l1.get("new") == 1
    # and: never more than max_entries
    for n in range(25):
        l1.set(f"k{n}", n, ttl=5)
    assert len(l1) <= 10


def test_a_key_with_no_l1_time_is_kept_in_l2_only(layered):
    layered.get_or_compute("deep-page", lambda: {"rows": [1]}, ttl=60, l1_ttl=0)
    assert len(layered.l1) == 0


def test_a_cache_outage_never_fails_a_read_and_l1_still_serves(layered):
    calls = []
    value = layered.get_or_compute("p:1", lambda: calls.append(1) or "fresh", ttl=60)
    again = layered.get_or_compute("p:1", lambda: calls.append(1) or "fresh", ttl=60)
    assert (value, again, len(calls)) == ("fresh", "fresh", 1)
    assert layered._l2_down_until > time.monotonic()  # the breaker is open: L2 is skipped for a while


def test_concurrent_misses_of_one_key_compute_once_per_process(layered):
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.1)
        return "value"

    threads = [
        threading.Thread(target=layered.get_or_compute, args=("hot", slow), kwargs={"ttl": 60}) for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1


def test_invalidate_drops_the_local_copy(layered):
    layered.get_or_compute("p:2", lambda: "old", ttl=60)
    layered.invalidate("p:2")
    assert layered.get_or_compute("p:2", lambda: "new", ttl=60) == "new"


class _Channel:
    """Stands for redis-cache's invalidation channel: what was published on it."""

    def __init__(self):
        self.published = []

    def publish(self, channel, message):
        self.published.append((channel, message))


@pytest.fixture
def channel(layered, settings):
    """A working L2 in memory (LocMemCache raises on incr of a missing key, as Redis's backend does),
    with the invalidation channel recorded."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    recorded = _Channel()
    layered._redis = lambda: recorded
    return recorded


def test_a_generation_bump_without_a_counter_starts_one_and_is_not_taken_for_an_outage(layered, channel):
    # when: the first bump finds no counter, the second one does
    layered.bump("catalog")
    first = layered.generation("catalog")
    layered.bump("catalog")
    # then
    assert layered.generation("catalog") == first + 1
    assert first > 1  # started from the clock, never from a number an earlier generation had
    assert layered._l2_down_until <= time.monotonic()  # no breaker opened


def test_a_generation_is_read_from_l2_once_then_from_l1_until_a_bump(layered, channel):
    from django.core.cache import cache

    first = layered.generation("catalog")
    # when: the counter moves in L2 behind this process's back (no bump through this cache)
    cache.incr("gen:catalog")
    # then: this process keeps the version it read (no round trip per versioned key) ...
    assert layered.generation("catalog") == first
    # ... until a bump, which moves it on and drops it from this process's L1 and, through the
    # channel, from every other process's
    layered.bump("catalog")
    assert layered.generation("catalog") == first + 2
    assert channel.published == [("cache-invalidation", "gen:catalog")]
    assert layered._l2_down_until <= time.monotonic()


def test_a_generation_is_not_kept_while_l2_is_down(layered):
    # given: redis-cache unreachable (the fixture's)
    assert layered.generation("catalog") == 0
    # then: nothing in L1, so the first read once L2 answers again is the real counter
    assert len(layered.l1) == 0


def test_the_cache_backend_keeps_one_redis_client_per_server():
    from shared.cache import RedisCache

    backend = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"serializer": "shared.cache.JSONSerializer"}})
    client = backend._cache.get_client(write=True)
    assert backend._cache.get_client(write=False) is client  # one server: the same client, read or write
    assert client.connection_pool is backend._cache._get_connection_pool(True)


def test_lookups_are_counted_by_layer_and_result(layered):
    from shared.cache import LOOKUPS

    def count(layer, result):
        return LOOKUPS.labels(layer, result)._value.get()

    before = {key: count(*key) for key in [("l1", "hit"), ("l1", "miss"), ("l2", "miss")]}
    layered.get_or_compute("counted:1", lambda: "v", ttl=60)  # L1 miss, L2 unreachable: a miss, computed
    layered.get_or_compute("counted:1", lambda: "v", ttl=60)  # L1 hit
    assert {key: count(*key) - value for key, value in before.items()} == {
        ("l1", "hit"): 1,
        ("l1", "miss"): 1,
        ("l2", "miss"): 1,
    }
