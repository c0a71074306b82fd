"""Query-plan checks for tests: what a call sends to the shard primaries, and which plans scan a table.

Used by each service's `test_query_plans.py`: call the selectors, capture every statement they send to
each primary, EXPLAIN it there, and fail on a sequential scan of a large table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import ExitStack

from django.db import connections
from django.test.utils import CaptureQueriesContext

from shared.db import shards


def statements_sent(call: Callable[[], object], *, mentioning: str) -> list[tuple[str, str]]:
    """(alias, SQL) of every statement `call()` sends to a shard primary whose SQL mentions `mentioning`
    (EXPLAINs that the call itself runs are left out)."""
    with ExitStack() as stack:
        captured = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in shards.primaries()
        }
        call()
    return [
        (alias, query["sql"])
        for alias, context in captured.items()
        for query in context.captured_queries
        if mentioning in query["sql"] and not query["sql"].startswith("EXPLAIN")
    ]


def sequential_scans(alias: str, sql: str, *, tables: Collection[str]) -> list[str]:
    """The statement with its plan (text) when its plan on `alias` scans one of `tables` sequentially."""
    with connections[alias].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        nodes, found = [cursor.fetchone()[0][0]["Plan"]], []
        while nodes:
            node = nodes.pop()
            nodes += node.get("Plans", [])
            if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables:
                cursor.execute("EXPLAIN " + sql)
                found.append(f"{sql}\n" + "\n".join(row[0] for row in cursor.fetchall()))
    return found
