"""Query-plan checks: what a call sends to the shard servers, and which plans scan a large table.

Each service lists its public reads in `<app>/query_plans.py` (`public_reads()`, `LARGE_TABLES`,
`MENTIONING`), named by its `QUERY_PLANS` setting. Its `test_query_plans.py` runs them on a test data
set, and `manage.py check_query_plans` on the data the service holds (`make bench-sizes` runs it on the
large data set): call the reads, capture every statement they send to each server, EXPLAIN it there,
and fail on a sequential scan of a large table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import ExitStack

from django.db import connections
from django.test.utils import CaptureQueriesContext

from shared.db import shards


def statements_sent(
    call: Callable[[], object], *, mentioning: str, aliases: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """(alias, SQL) of every statement `call()` sends to a shard primary (or to each of `aliases`) whose
    SQL mentions `mentioning` (EXPLAINs that the call itself runs are left out)."""
    with ExitStack() as stack:
        captured = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in (aliases or shards.primaries())
        }
        call()
    return [
        (alias, query["sql"])
        for alias, context in captured.items()
        for query in context.captured_queries
        if mentioning in query["sql"] and not query["sql"].startswith("EXPLAIN")
    ]


def plan_nodes(alias: str, sql: str) -> list[dict]:
    """Every node of the plan of `sql` on `alias` (EXPLAIN, not run)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        pending, nodes = [cursor.fetchone()[0][0]["Plan"]], []
    while pending:
        node = pending.pop()
        pending += node.get("Plans", [])
        nodes.append(node)
    return nodes


def sequential_scans(alias: str, sql: str, *, tables: Collection[str]) -> list[str]:
    """The statement with its plan (text) when its plan on `alias` scans one of `tables` sequentially."""
    nodes = plan_nodes(alias, sql)
    if not any(node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables for node in nodes):
        return []
    with connections[alias].cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return [f"{sql}\n" + "\n".join(row[0] for row in cursor.fetchall())]


def indexes_read(alias: str, sql: str) -> set[str]:
    """The indexes the plan of `sql` on `alias` reads."""
    return {node["Index Name"] for node in plan_nodes(alias, sql) if "Index Name" in node}


def check(
    reads: list[Callable[[], object]],
    *,
    tables: Collection[str],
    mentioning: str,
    aliases: Collection[str] | None = None,
) -> tuple[int, list[str]]:
    """Run every read; (number of statements they sent, the ones whose plan scans one of `tables`)."""
    statements = [
        statement for read in reads for statement in statements_sent(read, mentioning=mentioning, aliases=aliases)
    ]
    return len(statements), [scan for alias, sql in statements for scan in sequential_scans(alias, sql, tables=tables)]
