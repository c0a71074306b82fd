"""Moving one logical shard to another shard server while the service keeps serving, and reporting.

    move_shard(shard=3, to_server="db1")

1. mark the shard `moving` in the shard map: from now on writers get 503 "shard_moving" (reads go on);
2. wait until every process has read the new map, then copy the shard's rows of every model in
   SHARDED_MODELS (parents first) to the target primary and verify the counts, model by model;
3. flip the map to the target (still moving), and wait until every process has read it;
4. clear `moving` (writes resume, on the target), then delete the rows from the source primary.

Nothing is lost: no write can reach the shard between the copy and the flip, and the source rows
are deleted only when no process routes to them any more. Run it with `manage.py move_shard`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.db import connections, models, transaction

from shared import domains
from shared.db import replicas, roles, shards
from shared.db.models import ShardAssignment
from shared.db.scatter import on_shards


class MoveError(RuntimeError):
    pass


def _sharded_models() -> list[tuple[type[models.Model], str]]:
    return [(apps.get_model(label), field) for label, field in domains.setting("SHARDED_MODELS")]


def _rows(model, field: str, alias: str, shard: int):
    return on_shards(model.objects.using(alias).all(), field, [shard])


def _set_assignment(shard: int, server: str, moving: bool) -> None:
    ShardAssignment.objects.using(shards.home_primary()).update_or_create(
        shard=shard, defaults={"server": domains.server_name(server), "moving": moving}
    )


def _wait_for_every_process() -> None:
    """Every process re-reads the map within SHARD_MAP_REFRESH_SECONDS; wait twice that, plus a margin."""
    time.sleep(2 * settings.SHARD_MAP_REFRESH_SECONDS + 1)


def _copy(model, field: str, source: str, target: str, shard: int, batch: int = 1000) -> int:
    auto_pk = isinstance(model._meta.pk, models.AutoField)  # per-server sequences: let the target number them
    fields = [f for f in model._meta.concrete_fields if not (auto_pk and f.primary_key)]
    copied = 0
    rows = _rows(model, field, source, shard).order_by(model._meta.pk.name)
    with transaction.atomic(using=target):
        buffer = []
        for row in rows.iterator(chunk_size=batch):
            buffer.append(model(**{f.attname: getattr(row, f.attname) for f in fields}))
            if len(buffer) >= batch:
                model.objects.using(target).bulk_create(buffer)
                copied, buffer = copied + len(buffer), []
        if buffer:
            model.objects.using(target).bulk_create(buffer)
            copied += len(buffer)
    return copied


def move_shard(*, shard: int, to_server: str, log: Callable[[str], None] = print) -> dict[str, int]:
    """Move logical `shard` to the primary `to_server` (its alias, or the server's name: `db1` is the
    monolith's `order_db1` when it runs for the order domain); returns the row count of each model moved."""
    to_server = domains.alias_of(domains.server_name(to_server))
    shards.map_store.forget()
    current = shards.shard_map()
    source = current.server_of(shard)
    if to_server not in shards.topology():
        raise MoveError(f"unknown shard server {to_server!r}; servers: {', '.join(shards.primaries())}")
    if source == to_server:
        raise MoveError(f"logical shard {shard} is already on {to_server}")
    pairs = _sharded_models()
    leftovers = {m._meta.label: _rows(m, f, to_server, shard).count() for m, f in pairs}
    if any(leftovers.values()):
        raise MoveError(f"{to_server} already holds rows of shard {shard}: {leftovers}; remove them first")

    log(f"marking shard {shard} read-only (on {source})")
    _set_assignment(shard, source, moving=True)
    _wait_for_every_process()
    counts: dict[str, int] = {}
    try:
        for model, field in pairs:
            expected = _rows(model, field, source, shard).count()
            copied = _copy(model, field, source, to_server, shard)
            landed = _rows(model, field, to_server, shard).count()
            log(f"copied {model._meta.label}: {copied} rows (source {expected}, target {landed})")
            if not expected == copied == landed:
                raise MoveError(f"{model._meta.label}: source has {expected}, copied {copied}, target has {landed}")
            counts[model._meta.label] = landed
    except Exception:
        log("copy failed: removing the partial copy and leaving the shard where it was")
        for model, field in reversed(pairs):
            _rows(model, field, to_server, shard).delete()
        _set_assignment(shard, source, moving=False)
        raise
    log(f"flipping the shard map: shard {shard} -> {to_server}")
    _set_assignment(shard, to_server, moving=True)
    _wait_for_every_process()
    _set_assignment(shard, to_server, moving=False)
    log(f"deleting the moved rows from {source}")
    for model, field in reversed(pairs):
        _rows(model, field, source, shard).delete()
    shards.map_store.forget()
    return counts


def _roles(primary: str, replicas: list[str]) -> dict | str:
    try:
        return roles.server_roles(primary, replicas)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        for alias in (primary, *replicas):  # a connection the failure broke is not used again
            connections[alias].close()
        return f"unknown ({exc.__class__.__name__})"


def shard_report() -> list[dict]:
    """Per shard server: its logical shards, row counts per sharded model, its replicas' lag, and who
    leads and who stands by (Patroni's members, as PostgreSQL names them: shared/db/roles.py)."""
    current = shards.shard_map()
    report = []
    for primary, server in shards.topology().items():
        lags = {}
        for replica in server.replicas:
            try:
                lag = replicas.replica_lag_seconds(replica)
                lags[domains.server_name(replica)] = (
                    "not a standby" if lag is None else "not streaming" if lag == math.inf else f"{lag:.3f}s"
                )
            except Exception as exc:  # noqa: BLE001
                connections[replica].close()
                lags[domains.server_name(replica)] = f"down ({exc.__class__.__name__})"
        report.append(
            {
                "server": domains.server_name(primary),  # as the shard map names it, in both modes
                "logical_shards": current.shards_on(primary),
                "moving": sorted(s for s in current.moving if current.server_of(s) == primary),
                "rows": {m._meta.label: m.objects.using(primary).count() for m, _ in _sharded_models()},
                "replica_lag": lags,
                "roles": _roles(primary, list(server.replicas)),
            }
        )
    return report
