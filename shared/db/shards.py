"""Logical shards on physical shard servers: the questions services ask.

Every service has `LOGICAL_SHARDS` logical shards (16 by default). The shard map assigns each to a
physical shard server; each server has a Django alias for its primary (`db0`) and one for each of
its streaming replicas (`db0_replica`), all reached through the service's PgBouncer.

Which logical shard a row lives on is decided once, when its ID is made, and the ID carries it
(see `ids.py`); every later request for that row goes straight to the right server with
`primary_for_id()` for writes and `replicas.read_by_id()` / `replicas.run_read_for_id()` for reads.

The rest of the data tier: `shardmap.py` (the map as a value), `mapstore.py` (the map in force,
with `move_shard`'s changes), `databases.py` (DATABASES and connection pooling).
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.db.models import Model

from shared import domains
from shared.db import ids, pinning
from shared.db.mapstore import map_store
from shared.db.shardmap import ShardMap, ShardServer, UnknownShard
from shared.errors import ApplicationError, ShardMoving

__all__ = [
    "ShardMap",
    "ShardServer",
    "UnknownShard",
    "home_primary",
    "insert_new",
    "map_store",
    "new_id",
    "primaries",
    "primary_for_id",
    "primary_for_shard",
    "shard_for_natural_key",
    "shard_map",
    "topology",
]


def topology() -> dict[str, ShardServer]:
    return domains.setting("SHARD_TOPOLOGY")


def shard_map() -> ShardMap:
    return map_store.current()


def primaries() -> list[str]:
    """Aliases of every shard primary, in a stable order."""
    return list(topology())


def home_primary() -> str:
    """The primary of the home server, the first of `SHARD_TOPOLOGY`.

    It holds what is not sharded: the shard map's changes, the master copy of reference data that
    every server keeps a copy of (categories), dead letters, and Django's own tables.
    """
    return next(iter(topology()))


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
    """The primary holding the row `object_id` (UnknownShard if no server holds its shard)."""
    return primary_for_shard(ids.shard_of(object_id))


def new_id(*, shard: int) -> int:
    """A new ID on logical `shard`, made by the primary that holds it."""
    return ids.new_ids(shard=shard, count=1, using=primary_for_shard(shard))[0]


def insert_new(row: Model, *, shard: int, on_duplicate: ApplicationError) -> Model:
    """Give `row` a new ID on logical `shard` and insert it on that shard's primary.

    A unique constraint it breaks (its natural key, hashed to this shard, is taken) raises
    `on_duplicate` instead of a database error.
    """
    alias = primary_for_shard(shard)
    row.id = new_id(shard=shard)
    try:
        with transaction.atomic(using=alias):
            row.save(using=alias, force_insert=True)
    except IntegrityError:
        raise on_duplicate from None
    return row
