"""Scatter-gather reads over every shard server, with a stable global order and page numbers.

Each server is asked for its first `page * page_size` rows in the same total order (the ordering
fields, then the primary key), and the sorted parts are merged; so page N is exactly rows
((N-1)*size, N*size] of the global order, with nothing repeated or skipped between pages.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice

from django.db.models import QuerySet

from shared.db import ids, replicas, shards


@dataclass(frozen=True)
class Page:
    items: list
    count: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count


def on_shards(queryset: QuerySet, field: str, logical_shards: Sequence[int]) -> QuerySet:
    """Only the rows whose `field` (an ID that carries its shard) belongs to `logical_shards`."""
    column = queryset.model._meta.get_field(field).column
    table = queryset.model._meta.db_table
    return queryset.extra(
        where=[f'(("{table}"."{column}" >> {ids.SEQUENCE_BITS}) & {ids.MAX_LOGICAL_SHARDS - 1}) = ANY(%s)'],
        params=[list(logical_shards)],
    )


def scatter_gather(
    *, query: Callable[[str], QuerySet], order: Sequence[str], page: int, page_size: int, shard_field: str = "id"
) -> Page:
    """Page `page` of `query(alias)` over all servers, ordered by `order`.

    `order` must be all ascending or all descending and end with the primary key, e.g.
    `("-price", "-id")`, so that the merge order equals the order inside each server. Each server
    answers only for the logical shards the map gives it (`shard_field` carries the shard), so rows
    being copied by `move_shard` are never counted twice.
    """
    directions = {field.startswith("-") for field in order}
    if len(directions) != 1:
        raise ValueError("scatter_gather needs one direction for every ordering field")
    fields = [field.lstrip("-") for field in order]
    limit = page * page_size

    shard_map = shards.shard_map()
    parts, total = [], 0
    for primary in shards.primaries():
        owned = shard_map.shards_on(primary)
        if not owned:
            continue

        def read(alias: str, owned: list[int] = owned) -> tuple[list, int]:
            queryset = on_shards(query(alias), shard_field, owned).order_by(*order)
            return list(queryset[:limit]), queryset.count()

        rows, count = replicas.run_read(primary, read)
        parts.append(rows)
        total += count
    merged = heapq.merge(*parts, key=lambda row: tuple(getattr(row, f) for f in fields), reverse=directions.pop())
    return Page(items=list(islice(merged, limit - page_size, limit)), count=total, page=page, page_size=page_size)


def group_ids_by_server(object_ids: Sequence[int]) -> dict[str, list[int]]:
    """Split IDs by the shard server that holds them (IDs of unknown shards are left out)."""
    groups: dict[str, list[int]] = {}
    for object_id in object_ids:
        try:
            groups.setdefault(shards.primary_for_id(object_id), []).append(object_id)
        except shards.UnknownShard:
            continue
    return groups
