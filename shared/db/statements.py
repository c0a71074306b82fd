"""What the work in hand costs in SQL: how many statements it ran, how long they took, which were slow.

Every database connection of the process gets one execute wrapper, installed when Django opens the
connection (`connection_created`, connected in `shared.db.apps`). The wrapper adds each statement to
the counters bound for the work in hand (`measure()`: a request, in `RequestCostMiddleware`), and logs
and counts a statement slower than `SLOW_STATEMENT_MS` (30 ms, as the Postgres slow log and seed 003
say), with its alias, whether or not anything is being measured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from prometheus_client import Counter

logger = logging.getLogger(__name__)

SLOW_STATEMENTS = Counter(
    "django_db_slow_statements_total",
    "SQL statements slower than SLOW_STATEMENT_MS, by database alias",
    ["alias"],
)


@dataclass
class SqlCost:
    statements: int = 0
    seconds: float = 0.0


_cost: ContextVar[SqlCost | None] = ContextVar("sql_cost", default=None)


@contextmanager
def measure() -> Iterator[SqlCost]:
    """Count the statements run inside the `with` block (in this thread or task) and their time."""
    cost = SqlCost()
    token = _cost.set(cost)
    try:
        yield cost
    finally:
        _cost.reset(token)


def _wrapper(alias: str):
    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            cost = _cost.get()
            if cost is not None:
                cost.statements += 1
                cost.seconds += elapsed
            if elapsed * 1000 >= settings.SLOW_STATEMENT_MS:
                SLOW_STATEMENTS.labels(alias).inc()
                logger.warning("slow statement on %s: %.0f ms: %.300s", alias, elapsed * 1000, sql)

    return timed


def install(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: one timing wrapper per connection wrapper, however often it reconnects."""
    if not getattr(connection, "_statements_timed", False):
        connection.execute_wrappers.append(_wrapper(connection.alias))
        connection._statements_timed = True
