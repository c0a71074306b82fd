"""Logical shards on physical shard servers, and the DATABASES setting that reaches them.

Every service has `LOGICAL_SHARDS` logical shards (16 by default). The shard map assigns each to a
physical shard server; each server has a Django alias for its primary (`db0`) and one for each of
its streaming replicas (`db0_replica`), all reached through the service's PgBouncer.

Which logical shard a row lives on is decided once, when its ID is made, and the ID carries it
(see `ids.py`); every later request for that row goes straight to the right server with
`primary_for_id()` for writes and `replicas.run_read_for_id()` for reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from shared.db import ids, pinning
from shared.settings.environ import env, env_int

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardServer:
    """One physical shard server: its primary alias and its replica aliases with their weights."""

    primary: str
    replicas: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ShardMap:
    """Which physical server (primary alias) holds each logical shard."""

    logical_shards: int
    assignments: dict[int, str]
    moving: frozenset[int] = frozenset()

    def server_of(self, shard: int) -> str:
        try:
            return self.assignments[shard]
        except KeyError:
            raise UnknownShard(shard) from None

    def shards_on(self, server: str) -> list[int]:
        return sorted(shard for shard, owner in self.assignments.items() if owner == server)

    def moved(self, shard: int, to_server: str) -> ShardMap:
        """A copy of the map with `shard` assigned to `to_server` (what resharding flips to)."""
        return ShardMap(self.logical_shards, {**self.assignments, shard: to_server}, self.moving)

    @classmethod
    def parse(cls, spec: str, logical_shards: int) -> ShardMap:
        """Parse `"db0:0-7 db1:8-15"` (ranges or single shards, comma separated)."""
        assignments: dict[int, str] = {}
        for entry in spec.split():
            server, _, ranges = entry.partition(":")
            for part in ranges.split(","):
                low, _, high = part.partition("-")
                for shard in range(int(low), int(high or low) + 1):
                    assignments[shard] = server
        missing = set(range(logical_shards)) - set(assignments)
        if missing:
            raise ValueError(f"shard map leaves logical shards {sorted(missing)} unassigned")
        return cls(logical_shards, assignments)

    @classmethod
    def even(cls, servers: list[str], logical_shards: int) -> ShardMap:
        """Contiguous, equal ranges of logical shards per server."""
        per = -(-logical_shards // len(servers))
        return cls(logical_shards, {shard: servers[shard // per] for shard in range(logical_shards)})

    def describe(self) -> str:
        return " ".join(f"{server}:{','.join(map(str, self.shards_on(server)))}" for server in self.servers())

    def servers(self) -> list[str]:
        return sorted(set(self.assignments.values()))


class UnknownShard(LookupError):
    """A logical shard that the shard map does not assign (e.g. an ID made by another service)."""


class MapStore:
    """The shard map in force: the configured one with the changes `move_shard` made laid over it.

    Changes live in the `ShardAssignment` table of the home server (the first primary), read at
    most every SHARD_MAP_REFRESH_SECONDS per process; if they cannot be read, the last map read
    stays in force.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._overrides: tuple[dict[int, str], frozenset[int]] = ({}, frozenset())
        self._loaded_at = float("-inf")

    def current(self) -> ShardMap:
        configured: ShardMap = settings.SHARD_MAP
        if time.monotonic() - self._loaded_at >= settings.SHARD_MAP_REFRESH_SECONDS:
            self._reload()
        overrides, moving = self._overrides
        if not overrides and not moving:
            return configured
        return ShardMap(configured.logical_shards, {**configured.assignments, **overrides}, moving)

    def _reload(self) -> None:
        from shared.db.models import ShardAssignment

        with self._lock:
            self._loaded_at = time.monotonic()
            try:
                rows = list(ShardAssignment.objects.using(primaries()[0]).values_list("shard", "server", "moving"))
            except Exception as exc:  # noqa: BLE001 - keep serving with the last map we know
                logger.debug("shard map changes not read: %s", exc)
                return
            self._overrides = ({s: server for s, server, _ in rows}, frozenset(s for s, _, m in rows if m))

    def forget(self) -> None:
        """Read the changes again on the next call (tests, and the move command)."""
        self._loaded_at = float("-inf")


map_store = MapStore()


class ShardMoving(Exception):
    """A write to a logical shard whose rows are being moved to another server right now."""

    def __init__(self, shard: int):
        super().__init__(f"logical shard {shard} is moving")
        self.shard = shard


def topology_from_env() -> dict[str, ShardServer]:
    """`SHARD_TOPOLOGY` is JSON: primary alias -> {replica alias: weight}."""
    raw = json.loads(env("SHARD_TOPOLOGY", '{"db0": {"db0_replica": 1}, "db1": {"db1_replica": 1}}'))
    return {primary: ShardServer(primary, dict(replicas)) for primary, replicas in raw.items()}


def shard_map_from_env(servers: list[str]) -> ShardMap:
    logical = env_int("LOGICAL_SHARDS", 16)
    spec = env("SHARD_MAP", "")
    return ShardMap.parse(spec, logical) if spec else ShardMap.even(servers, logical)


def databases_from_env() -> dict[str, dict]:
    """The DATABASES setting: one alias per shard primary and per replica, all through PgBouncer.

    `default` is the first primary again: Django needs a default, and unsharded tables (contenttypes,
    migrations bookkeeping of the home shard) live there. It is never migrated on its own.
    Persistent connections to PgBouncer, no server-side cursors and no prepared statements: what
    transaction pooling needs.
    """
    topology = topology_from_env()
    common = {
        "ENGINE": "django_prometheus.db.backends.postgresql",
        "HOST": env("DB_HOST", "localhost"),
        "PORT": env("DB_PORT", "6432"),
        "USER": env("DB_USER", "app"),
        "PASSWORD": env("DB_PASSWORD", "app"),
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {"prepare_threshold": None, "connect_timeout": 3},
    }
    databases: dict[str, dict] = {}
    service = env("SERVICE_NAME", "service")
    for server in topology.values():
        databases[server.primary] = {
            **common,
            "NAME": server.primary,
            "TEST": {"NAME": f"test_{service}_{server.primary}", "DEPENDENCIES": []},
        }
        for replica in server.replicas:
            databases[replica] = {**common, "NAME": replica, "TEST": {"MIRROR": server.primary}}
    first = next(iter(topology.values())).primary
    return {"default": {**databases[first], "TEST": {"MIRROR": first}}, **databases}


# --- the questions services ask ----------------------------------------------------------------


def topology() -> dict[str, ShardServer]:
    return settings.SHARD_TOPOLOGY


def shard_map() -> ShardMap:
    return map_store.current()


def primaries() -> list[str]:
    """Aliases of every shard primary, in a stable order."""
    return list(topology())


def shard_for_natural_key(value: str) -> int:
    """The logical shard a new row goes to, decided by a stable hash of its natural key.

    Users hash their lower-cased email and products their SKU: the unique constraint on that key in
    one shard server then holds globally, and a lookup by the key (login by email) goes to one server.
    """
    digest = hashlib.blake2b(value.strip().lower().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shard_map().logical_shards


def primary_for_shard(shard: int) -> str:
    """The primary holding `shard`; refused (ShardMoving) for writers while the shard moves."""
    current = shard_map()
    server = current.server_of(shard)
    if shard in current.moving and not pinning.is_read_only():
        raise ShardMoving(shard)
    return server


def primary_for_id(object_id: int) -> str:
    return primary_for_shard(ids.shard_of(object_id))


def new_id(*, shard: int) -> int:
    return ids.new_ids(shard=shard, count=1, using=primary_for_shard(shard))[0]
