"""Row counts for list responses at a cost that does not grow with the table.

`count(*)` reads every matching row: on a table of millions, every request would pay for the whole
table. `count_rows` asks the planner first (`EXPLAIN`, which plans but runs nothing, reading the
statistics ANALYZE and autovacuum keep in `pg_class.reltuples` and `pg_statistic`). When the
planner expects more rows than `exact_up_to`, its estimate is the answer. Otherwise the rows are
counted, but never more than `exact_up_to + 1` of them (the planner, expecting few rows, finds them
through the filter's index): small results (a search, a small category, the demo catalog) get exact
counts, large ones an estimate, and each `Count` says which it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import QuerySet

EXACT_UP_TO = 1000


@dataclass(frozen=True)
class Count:
    """How many rows a list has; `is_estimate` when it is the planner's estimate rather than a count."""

    value: int
    is_estimate: bool

    def __add__(self, other: Count) -> Count:
        return Count(self.value + other.value, self.is_estimate or other.is_estimate)


def planner_rows(queryset: QuerySet) -> int:
    """The planner's estimate of the number of rows `queryset` returns (EXPLAIN: nothing is run)."""
    output = json.loads(queryset.explain(format="json"))
    plan = output[0] if isinstance(output, list) else output
    return int(plan["Plan"]["Plan Rows"])


def count_rows(queryset: QuerySet, *, exact_up_to: int = EXACT_UP_TO, estimate_from: QuerySet | None = None) -> Count:
    """The rows of `queryset` on its database: exact up to `exact_up_to`, else the planner's estimate.

    `estimate_from` is a queryset of about the same rows whose estimate is better (one without a
    condition the planner cannot estimate); by default `queryset` itself.
    """
    if queryset.query.is_empty():  # .none(): nothing to count, nor to EXPLAIN
        return Count(0, is_estimate=False)
    queryset = _for_counting(queryset)
    estimate = planner_rows(_for_counting(estimate_from) if estimate_from is not None else queryset)
    if estimate > exact_up_to:
        return Count(estimate, is_estimate=True)
    counted = queryset[: exact_up_to + 1].count()
    if counted <= exact_up_to:
        return Count(counted, is_estimate=False)
    return Count(max(estimate, counted), is_estimate=True)


def _for_counting(queryset: QuerySet) -> QuerySet:
    # neither a join to a parent row (select_related) nor an order changes how many rows there are
    return queryset.select_related(None).order_by()
