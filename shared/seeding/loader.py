"""Loading millions of rows into the shard servers with COPY, in chunks that each commit whole.

A chunk is a batch of rows for one table tree on one shard server (e.g. 20,000 orders with their
lines and history), written with PostgreSQL's COPY in one transaction through the server's
maintenance pool (no statement timeout for the app role; each COPY stays well under PgBouncer's
`query_timeout`). A chunk already there is recognised by its last row's ID and skipped, so the seed
can be run again, or resumed after an interruption, and adds nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import Model

from shared.db import ids, shards

CHUNK = 20_000


@dataclass
class Batch:
    """Rows for one shard server: per model, tuples in `columns(model)` order; `marker` is the ID of
    the chunk's last row in the first model, which tells whether the chunk was loaded already."""

    alias: str
    marker: int
    rows: dict[type[Model], list[tuple]] = field(default_factory=dict)


def columns(model: type[Model], *, with_auto_id: bool = False) -> list[str]:
    """The columns COPY writes: every concrete field, less an auto-incremented ID the server makes."""
    auto = model._meta.pk if model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField") else None
    return [f.column for f in model._meta.concrete_fields if with_auto_id or f is not auto]


def _loaded(alias: str, model: type[Model], marker: int) -> bool:
    return model.objects.using(alias).filter(pk=marker).exists()


def _copy(alias: str, model: type[Model], rows: list[tuple]) -> None:
    table = connections[alias].ops.quote_name(model._meta.db_table)
    names = ", ".join(connections[alias].ops.quote_name(c) for c in columns(model))
    with connections[alias].cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def load(batches: Iterable[Batch], *, label: str, report: Callable[[str], None] = print) -> dict[str, int]:
    """Write every batch not loaded yet; returns rows written per table and batches skipped."""
    written: dict[str, int] = {"skipped_batches": 0}
    started = last_report = time.monotonic()
    for batch in batches:
        first_model = next(iter(batch.rows))
        if _loaded(batch.alias, first_model, batch.marker):
            written["skipped_batches"] += 1
            continue
        with transaction.atomic(using=batch.alias):
            for model, rows in batch.rows.items():
                _copy(batch.alias, model, rows)
                written[model._meta.db_table] = written.get(model._meta.db_table, 0) + len(rows)
        if time.monotonic() - last_report > 10:
            last_report = time.monotonic()
            report(f"{label}: {written} after {last_report - started:.0f} s")
    return written


def batches_by_server(count: int, *, model: type[Model], row_of: Callable[[int, int], dict]) -> Iterator[Batch]:
    """Rows 1..`count` of a one-table model, `row_of(n, logical_shards)` giving row n by column name
    (with its sharded "id"), batched per chunk and per shard server."""
    logical = shards.shard_map().logical_shards
    alias_of = {shard: shards.primary_for_shard(shard) for shard in range(logical)}
    names = columns(model)
    for numbers in chunked(range(1, count + 1)):
        by_alias: dict[str, list[tuple]] = {}
        for n in numbers:
            row = row_of(n, logical)
            by_alias.setdefault(alias_of[ids.shard_of(row["id"])], []).append(tuple(row[c] for c in names))
        for alias, rows in by_alias.items():
            yield Batch(alias=alias, marker=rows[-1][names.index("id")], rows={model: rows})


def chunked(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
