"""Scatter-gather reads over every shard server, in one stable global order.

Each server answers for the logical shards the map gives it, in the same total order (the ordering
fields, then the primary key), and the sorted parts are merged. Two ways to page:

- `scatter_keyset`, the default way: each server seeks from a position with an index and returns at
  most one page (and one row more); the merge keeps the first page. Its cost does not depend on how
  deep the page is or how large the table (see `keyset.py`). With `keys_first`, each server returns
  only the sort keys, and the page's rows are then read by primary key: for a filter the ordering's
  index can test on its own, so that the server walks the index only (an index-only scan), never
  the table, however many rows the filter passes over.
- `scatter_gather`, pages by number, the bounded slow way: page N needs each server's first
  N × size rows, so callers bound N (the catalog allows 200).

`scatter_count` counts the rows of a list over every server at a bounded cost (see `counts.py`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from django.db.models import QuerySet

from shared.db import ids, keyset, replicas, shards
from shared.db.counts import EXACT_UP_TO, Count, count_rows
from shared.db.keyset import Page

T = TypeVar("T")
__all__ = [
    "Page",
    "group_ids_by_server",
    "on_shards",
    "scatter_count",
    "scatter_gather",
    "scatter_keyset",
    "shard_statistics_sql",
]


def on_shards(queryset: QuerySet, field: str, logical_shards: Sequence[int]) -> QuerySet:
    """Only the rows whose `field` (an ID that carries its shard) belongs to `logical_shards`."""
    column = queryset.model._meta.get_field(field).column
    table = queryset.model._meta.db_table
    return queryset.extra(
        where=[f'(("{table}"."{column}" >> {ids.SEQUENCE_BITS}) & {ids.MAX_LOGICAL_SHARDS - 1}) = ANY(%s)'],
        params=[list(logical_shards)],
    )


def shard_statistics_sql(table: str, column: str = "id") -> tuple[str, str]:
    """SQL that creates (and drops) the statistics of the shard inside `column`'s IDs, for a migration.

    Without them PostgreSQL guesses that `on_shards`' condition keeps a few percent of a server's rows,
    and underestimates every scatter-gather query on the table some 25 times: plans that should walk an
    index in order sort a bitmap scan instead. With them (ANALYZE fills them) it knows each shard's
    share of the rows (it still combines the shards of a list as if they were independent: about two
    thirds of the rows rather than all; so `scatter_count` estimates without the condition). Add them
    to every table that scatter-gather reads.
    """
    expression = f'(("{column}" >> {ids.SEQUENCE_BITS}) & {ids.MAX_LOGICAL_SHARDS - 1})'
    name = f'"{table}_shard_stats"'
    return (
        f'CREATE STATISTICS IF NOT EXISTS {name} ON ({expression}) FROM "{table}"',
        f"DROP STATISTICS IF EXISTS {name}",
    )


def _on_every_server(read: Callable[[str, list[int]], T]) -> list[T]:
    """`read(alias, owned)` on a replica of every server that holds logical shards (`owned`, from the map)."""
    shard_map = shards.shard_map()
    results = []
    for primary in shards.primaries():
        owned = shard_map.shards_on(primary)
        if owned:
            results.append(replicas.run_read(primary, lambda alias, owned=owned: read(alias, owned)))
    return results


def _owned_rows(query: Callable[[str], QuerySet], shard_field: str, read: Callable[[QuerySet], T]) -> list[T]:
    """`read(queryset)` on every server, each queryset limited to the shards the map gives that server.

    So rows being copied by `move_shard` are never read twice.
    """
    return _on_every_server(lambda alias, owned: read(on_shards(query(alias), shard_field, owned)))


def _merged(parts: list[list], order: Sequence[str]) -> Iterator:
    names, descending = keyset.directions(order)
    return heapq.merge(*parts, key=lambda row: tuple(getattr(row, name) for name in names), reverse=descending)


def scatter_keyset(
    *,
    query: Callable[[str], QuerySet],
    order: Sequence[str],
    after: Sequence | None,
    page_size: int,
    shard_field: str = "id",
    keys_first: bool = False,
) -> Page:
    """The page of `query(alias)` over all servers that follows the position `after` in `order`.

    `order` is all ascending or all descending and ends with the primary key (e.g. `("-price", "-id")`),
    so that the merge order equals the order inside each server. Each server reads at most
    `page_size + 1` rows from `after` on; the next page starts after `keyset.position(items[-1], order)`.
    `keys_first`: each server reads only the sort keys of those rows, then the page's rows are read by
    primary key (one more statement per server the page draws on; see the module's docstring). As with
    `scatter_gather`, a row deleted or changed out of the list between the two reads is left out.
    """
    if keys_first:
        chosen, owners = _merged_keys(query, order, after, page_size + 1, shard_field)
        items = _rows_of(query, chosen[:page_size], order[-1].lstrip("-"), owners, shard_field)
        return Page(items=items, page_size=page_size, has_next=len(chosen) > page_size)
    parts = _owned_rows(query, shard_field, lambda queryset: list(keyset.seek(queryset, order, after)[: page_size + 1]))
    rows = list(islice(_merged(parts, order), page_size + 1))
    return Page(items=rows[:page_size], page_size=page_size, has_next=len(rows) > page_size)


def scatter_gather(
    *, query: Callable[[str], QuerySet], order: Sequence[str], page: int, page_size: int, shard_field: str = "id"
) -> Page:
    """Page number `page` of `query(alias)` over all servers, ordered by `order` (as for `scatter_keyset`).

    Page N is exactly rows ((N-1)*size, N*size] of the global order, with nothing repeated or skipped
    between pages, but each server reads its first N × size + 1 rows: bound N. So that this costs the
    process little memory, each server first returns only those rows' sort keys (small tuples, not
    model instances); the merged keys pick the page, whose rows are then read by primary key from the
    servers that hold them. A row deleted or changed out of the list between the two reads is left out
    of its page.
    """
    limit = page * page_size
    merged, owners = _merged_keys(query, order, None, limit + 1, shard_field)
    chosen = merged[limit - page_size :]  # the page's keys, and one more if there is a next
    return Page(
        items=_rows_of(query, chosen[:page_size], order[-1].lstrip("-"), owners, shard_field),
        page_size=page_size,
        has_next=len(chosen) > page_size,
        page=page,
    )


def _merged_keys(
    query: Callable[[str], QuerySet], order: Sequence[str], after: Sequence | None, limit: int, shard_field: str
) -> tuple[list[tuple], dict[str, list[int]]]:
    """The first `limit` sort keys after `after` over all servers, each key ending with the primary key
    and the server; and the shards each server owns."""
    names, descending = keyset.directions(order)
    shard_map = shards.shard_map()
    owners = {primary: owned for primary in shards.primaries() if (owned := shard_map.shards_on(primary))}

    def keys(primary: str) -> list[tuple]:
        def read(alias: str) -> list[tuple]:
            queryset = keyset.seek(on_shards(query(alias), shard_field, owners[primary]), order, after)
            return [(*key, primary) for key in queryset.values_list(*names)[:limit]]

        return replicas.run_read(primary, read)

    merged = heapq.merge(*(keys(primary) for primary in owners), key=lambda key: key[:-1], reverse=descending)
    return list(islice(merged, limit)), owners


def _rows_of(
    query: Callable[[str], QuerySet], chosen: list[tuple], pk: str, owners: dict[str, list[int]], shard_field: str
) -> list:
    """The rows of `chosen` (sort keys ending with the primary key and the server), in their order."""
    wanted: dict[str, list] = {}
    for key in chosen:
        wanted.setdefault(key[-1], []).append(key[-2])
    found = {}
    for primary, pks in wanted.items():
        rows = replicas.run_read(
            primary,
            lambda alias, primary=primary, pks=pks: list(
                on_shards(query(alias), shard_field, owners[primary]).filter(**{f"{pk}__in": pks})
            ),
        )
        found.update((getattr(row, pk), row) for row in rows)
    return [found[key[-2]] for key in chosen if key[-2] in found]


def scatter_count(
    *, query: Callable[[str], QuerySet], exact_up_to: int = EXACT_UP_TO, shard_field: str = "id"
) -> Count:
    """The rows of `query(alias)` over all servers: counted up to `exact_up_to` per server, else estimated.

    A count is of the rows of the server's own shards; an estimate is of all the rows the server holds
    (the planner cannot tell how many rows a list of shards keeps), which differ only while
    `move_shard` copies a shard to it.
    """

    def count(alias: str, owned: list[int]) -> Count:
        queryset = query(alias)
        return count_rows(on_shards(queryset, shard_field, owned), exact_up_to=exact_up_to, estimate_from=queryset)

    return sum(_on_every_server(count), start=Count(0, is_estimate=False))


def group_ids_by_server(object_ids: Sequence[int]) -> dict[str, list[int]]:
    """Split IDs by the shard server that holds them (IDs of unknown shards are left out)."""
    groups: dict[str, list[int]] = {}
    for object_id in object_ids:
        try:
            groups.setdefault(shards.primary_for_id(object_id), []).append(object_id)
        except shards.UnknownShard:
            continue
    return groups
