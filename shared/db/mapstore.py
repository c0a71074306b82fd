"""The shard map in force: the configured `SHARD_MAP` with the changes `move_shard` made laid over it.

The changes are `ShardAssignment` rows on the home server (`shards.home_primary()`); every process
re-reads them at most every `SHARD_MAP_REFRESH_SECONDS`, which is what lets `resharding.py` wait
for "every process has seen the new map" by sleeping.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from prometheus_client import Gauge

from shared import domains
from shared.db.shardmap import ShardMap

logger = logging.getLogger(__name__)
# The version of the map a process routes by: the time of the newest change `move_shard` made (every step
# of a move writes its row again, and rows are never deleted), 0 for the configured map alone. Per
# container the highest of its live processes (each re-reads within SHARD_MAP_REFRESH_SECONDS).
SHARD_MAP_VERSION = Gauge(
    "shard_map_version",
    "Unix time of the newest shard map change this process has read (0: the configured map)",
    multiprocess_mode="livemax",
)


class _Loaded:
    """One domain's changes as last read, and when."""

    def __init__(self) -> None:
        self.overrides: tuple[dict[int, str], frozenset[int]] = ({}, frozenset())
        self.at = float("-inf")


class MapStore:
    """The configured shard map with the changes kept on the home server laid over it, per domain
    (one in a service; each of the monolith's has its own servers and map, shared/domains.py).

    If the changes cannot be read, the last map read stays in force.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, _Loaded] = {}

    def current(self) -> ShardMap:
        configured: ShardMap = domains.setting("SHARD_MAP")
        loaded = self._loaded.get(domains.current()) or self._loaded.setdefault(domains.current(), _Loaded())
        if time.monotonic() - loaded.at >= settings.SHARD_MAP_REFRESH_SECONDS:
            self._reload(loaded)
        overrides, moving = loaded.overrides
        if not overrides and not moving:
            return configured
        return ShardMap(configured.logical_shards, {**configured.assignments, **overrides}, moving)

    def _reload(self, loaded: _Loaded) -> None:
        # imported here: the model needs the app registry, and shards.py imports this module
        from shared.db.models import ShardAssignment
        from shared.db.shards import home_primary

        with self._lock:
            loaded.at = time.monotonic()
            try:
                rows = list(
                    ShardAssignment.objects.using(home_primary()).values_list("shard", "server", "moving", "updated_at")
                )
            except Exception as exc:  # noqa: BLE001 - keep serving with the last map we know
                logger.debug("shard map changes not read: %s", exc)
                return
            # the rows name servers as the shard map does (`db1`); this process's aliases may carry the domain
            loaded.overrides = (
                {s: domains.alias_of(server) for s, server, _, _ in rows},
                frozenset(s for s, _, m, _ in rows if m),
            )
            SHARD_MAP_VERSION.set(max((changed.timestamp() for *_, changed in rows), default=0))

    def forget(self) -> None:
        """Read the changes again on the next call (tests, and the move command)."""
        for loaded in self._loaded.values():
            loaded.at = float("-inf")


map_store = MapStore()
