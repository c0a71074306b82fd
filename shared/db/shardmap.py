"""The shard map as a value: which physical shard server holds each logical shard.

Pure data, no Django: `ShardMap.parse("db0:0-7 db1:8-15", 16)` or `ShardMap.even(["db0", "db1"], 16)`.
The map in force (the configured one with `move_shard`'s changes laid over it) comes from
`shards.shard_map()`; see `mapstore.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class UnknownShard(LookupError):
    """A logical shard that the shard map does not assign (e.g. an ID made by another service)."""


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
