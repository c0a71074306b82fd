"""The multi-level cache: L1 in each process, L2 on redis-cache, with stampede protection.

    value = layered.get_or_compute("product:42", compute, ttl=300)
    layered.invalidate("product:42")          # every process's L1 and L2
    layered.bump("catalog")                   # new generation of versioned keys (lists)

- L1 is a small in-process dict with a short TTL (`CACHE_L1_SECONDS`): no network hop at all.
- L2 is Django's RedisCache on `redis-cache`, shared by every replica (`RedisCache` below: Django's,
  with one Redis client per process and server instead of one per command).
- Invalidation deletes the L2 entry and publishes the key on a Redis channel; a listener thread in
  every process drops it from its L1, so no replica keeps serving the old value.
- On an L2 miss one caller computes, under a short Redis lock, while the others wait for its result
  instead of all hitting the database at once (and one process's threads share one computation).
- A generation (`generation`, `bump`) is an L1 entry too, dropped in every process on each bump: a
  versioned key costs no round trip for its version.
- When redis-cache is down the cache is bypassed: every call computes, the failure is logged, and
  L2 is not tried again for a few seconds (a circuit breaker), so requests stay fast.
- Values are JSON, never pickle (`JSONSerializer`, set in CACHES): whoever can write to redis-cache
  cannot make a process run code. A computed value that JSON cannot hold (a Decimal, a datetime) is an
  error at once, with or without Redis; L1 keeps the same JSON-shaped value L2 would return.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends import redis as django_redis
from prometheus_client import Counter

logger = logging.getLogger(__name__)
# L1 (this process) and L2 (Redis) lookups by result: the hit rate of each layer
LOOKUPS = Counter("cache_lookups_total", "cache lookups by layer (l1, l2) and result (hit, miss)", ["layer", "result"])
CHANNEL = "cache-invalidation"
_MISSING = object()


class UnserializableValue(TypeError):
    """A value to cache that JSON cannot hold: serialise it first (e.g. Decimal -> str)."""


def to_json(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UnserializableValue(f"not cacheable as JSON: {exc}") from exc


class JSONSerializer:
    """The serializer of Django's RedisCache (CACHES OPTIONS `serializer`): JSON instead of pickle.

    Integers are stored as they are, as Django's own serializer does, so that incr() works on them.
    """

    def dumps(self, value: Any) -> int | str:
        return value if type(value) is int else to_json(value)

    def loads(self, data: bytes) -> Any:
        try:
            return int(data)
        except ValueError:
            return json.loads(data)


class ReusingRedisCacheClient(django_redis.RedisCacheClient):
    """Django's client of RedisCache, keeping the `redis.Redis` it makes for each server.

    Django's makes a new one for every command; `redis.Redis.__init__` builds its table of response
    callbacks each time, which was about 5% of the product service's CPU on a catalog page that missed
    the cache (py-spy). A `redis.Redis` is safe to share between threads: each command takes a
    connection from the server's pool (which is the same either way) and gives it back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class RedisCache(django_redis.RedisCache):
    """Django's RedisCache (the CACHES backend) with `ReusingRedisCacheClient`."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient


class L1:
    """A bounded dict of (expires_at, value) for one process.

    Bounded twice: expired entries are swept out at most once a second (a process that sees many
    distinct keys, each read once, holds only the last few seconds' worth), and at `max_entries` it is
    emptied. Without the sweep, entries read once stayed until the dict filled: with pages of 100
    products as values, hundreds of MB per process."""

    SWEEP_SECONDS = 1.0

    def __init__(self, max_entries: int = 2000):
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self._next_sweep = 0.0

    def get(self, key: str):
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            return _MISSING
        return entry[1]

    def set(self, key: str, value, ttl: float) -> None:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._data = {k: entry for k, entry in self._data.items() if entry[0] >= now}
                self._next_sweep = now + self.SWEEP_SECONDS
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (now + ttl, value)

    def drop(self, key: str) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class LayeredCache:
    def __init__(self):
        self.l1 = L1()
        self._l2_down_until = 0.0
        self._key_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._listener: threading.Thread | None = None

    # --- L2 with a circuit breaker ---------------------------------------------------------------

    def _l2(self, operation: str, *args, default=None, **kwargs):
        if time.monotonic() < self._l2_down_until:
            return default
        try:
            return getattr(cache, operation)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a cache outage must never fail a request
            self._l2_down_until = time.monotonic() + settings.CACHE_RETRY_SECONDS
            logger.warning(
                "redis-cache unavailable (%s); bypassing it for %ss",
                exc.__class__.__name__,
                settings.CACHE_RETRY_SECONDS,
            )
            return default

    # --- reading ----------------------------------------------------------------------------------

    def get_or_compute(self, key: str, compute: Callable[[], Any], *, ttl: int, l1_ttl: float | None = None):
        """The cached value of `key`, computing (and storing) it once when no layer has it."""
        self._ensure_listener()
        value = self.l1.get(key)
        if value is not _MISSING:
            LOOKUPS.labels("l1", "hit").inc()
            return value
        LOOKUPS.labels("l1", "miss").inc()
        with self._key_lock(key):
            value = self.l1.get(key)  # another thread of this process may have just filled it
            if value is _MISSING:
                value = self._from_l2_or_compute(key, compute, ttl)
                l1_seconds = settings.CACHE_L1_SECONDS if l1_ttl is None else l1_ttl
                if l1_seconds > 0:  # 0: this key is worth L2 only (read once, or too big to keep per process)
                    self.l1.set(key, value, l1_seconds)
        return value

    def _from_l2_or_compute(self, key: str, compute, ttl: int):
        value = self._l2("get", key, _MISSING, default=_MISSING)
        LOOKUPS.labels("l2", "miss" if value is _MISSING else "hit").inc()
        if value is not _MISSING:
            return value
        lock_key = f"lock:{key}"
        if self._l2("add", lock_key, 1, timeout=5, default=True):
            try:
                value = json.loads(to_json(compute()))  # what every later hit returns, from L1 or L2
                self._l2("set", key, value, timeout=ttl)
                return value
            finally:
                self._l2("delete", lock_key)
        # someone else is computing it: wait a little for their result, then compute anyway
        deadline = time.monotonic() + settings.CACHE_STAMPEDE_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.02)
            value = self._l2("get", key, _MISSING, default=_MISSING)
            if value is not _MISSING:
                return value
        return json.loads(to_json(compute()))

    def _key_lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._key_locks) > 10_000:
                self._key_locks.clear()
            return self._key_locks.setdefault(key, threading.Lock())

    # --- versioned keys (for lists, which cannot be listed one by one) ------------------------------

    def generation(self, namespace: str) -> int:
        """The namespace's current generation: from this process's L1 (every `bump` drops it in every
        process, as `invalidate` does a key), else from L2, where a missing counter starts from the clock."""
        self._ensure_listener()
        key = f"gen:{namespace}"
        value = self.l1.get(key)
        if value is not _MISSING:
            return value
        value = self._l2("get", key, default=None)
        if value is None:
            self._l2("add", key, int(time.time()), timeout=None)
            value = self._l2("get", key, default=None)
        if value is None:  # L2 is down: no generation to keep; the cache is bypassed meanwhile anyway
            return 0
        self.l1.set(key, int(value), settings.CACHE_L1_SECONDS)
        return int(value)

    def bump(self, namespace: str) -> None:
        """Start a new generation: every key built with the old one is never read again."""
        # a missing counter (never made, or evicted) starts from the clock, never from a number an
        # old generation had; `incr` alone raises on a missing key, which would read as an outage
        key = f"gen:{namespace}"
        self._l2("add", key, int(time.time()), timeout=None)
        self._l2("incr", key)
        self._drop_from_every_l1(key)

    # --- invalidation -------------------------------------------------------------------------------

    def invalidate(self, key: str) -> None:
        """Drop `key` from L2 and from the L1 of every process (through Redis pub/sub)."""
        self._l2("delete", key)
        self._drop_from_every_l1(key)

    def _drop_from_every_l1(self, key: str) -> None:
        self.l1.drop(key)
        self._raw(lambda client: client.publish(CHANNEL, key))

    def _redis(self):
        try:
            return cache._cache.get_client(write=True)
        except Exception:  # noqa: BLE001
            return None

    def _raw(self, operation: Callable, default=None):
        """Run a raw Redis command on the L2 server, with the same circuit breaker as `_l2`."""
        if time.monotonic() < self._l2_down_until:
            return default
        try:
            return operation(self._redis())
        except Exception as exc:  # noqa: BLE001
            self._l2_down_until = time.monotonic() + settings.CACHE_RETRY_SECONDS
            logger.warning("redis-cache unavailable (%s); bypassing it", exc.__class__.__name__)
            return default

    # --- popularity, for warming the cache -----------------------------------------------------------

    def count_view(self, key: str, member: str, *, sample: int = 10) -> None:
        """Count a view of `member`, one in `sample` times with weight `sample`: an L1 hit stays
        free of network round trips nine times in ten, and the ranking stays the same on average."""
        if random.randrange(sample) == 0:
            self._raw(lambda client: client.zincrby(key, sample, member))

    def top(self, key: str, limit: int) -> list[str]:
        members = self._raw(lambda client: client.zrevrange(key, 0, limit - 1), default=[]) or []
        return [m.decode() if isinstance(m, bytes) else m for m in members]

    def _ensure_listener(self) -> None:
        if self._listener is not None and self._listener.is_alive():
            return
        with self._locks_guard:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, name="l1-invalidation", daemon=True)
                self._listener.start()

    def _listen(self) -> None:
        """Drop keys others invalidate; while disconnected L1 cannot be trusted, so it is emptied."""
        while True:
            try:
                # its own connection, without the cache's short socket timeout: it waits for messages
                client = redis.Redis.from_url(
                    settings.CACHES["default"]["LOCATION"], socket_connect_timeout=1, health_check_interval=15
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.l1.clear()
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        key = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
                        self.l1.drop(key)
            except Exception:  # noqa: BLE001
                self.l1.clear()
                time.sleep(1)


layered = LayeredCache()
