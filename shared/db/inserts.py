"""New rows of several tables written in one statement: one round trip, and one transaction by itself.

A write that inserts a row, its children and its outbox event takes, through the ORM, BEGIN, one INSERT
per table and COMMIT: six round trips to PgBouncer for an order. `insert_together` sends them as one
statement, each table's INSERT a data-modifying `WITH` (what the ORM's bulk_create would send for it),
so outside a transaction it needs no BEGIN and no COMMIT: the rows commit together or not at all, as
in `transaction.atomic`, and a commit the synchronous standby did not confirm raises CommitUnconfirmed
as a transaction's does (`shared/db/backend/base.py`). Inside the caller's transaction they commit
with it.

The sub-statements of a `WITH` do not see each other's rows, but PostgreSQL checks foreign keys when
the statement ends (Django makes them deferrable, checked at commit), so a child row may refer to a
parent written beside it. Unique constraints raise IntegrityError as a single INSERT would.

`commit_locally` (outside a transaction only) lets the statement commit without waiting for the
synchronous standby, as the ID counter's advance does (`shared.db.ids`): for rows whose loss in a
failover, in the milliseconds before the standby has them, costs a client no more than a retry.

The rows' primary keys must be set before (shared IDs: `shared.db.ids`), or be made by the server and
are then not read back (nothing is returned: that is the point). Fields with `auto_now_add` and
`auto_now` are filled in on the instances, as `save()` would.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import AutoField, Model
from django.db.models.sql import InsertQuery

from shared.db.ids import COMMIT_LOCALLY


def _insert_sql(rows: list[Model], using: str) -> tuple[str, tuple]:
    """The INSERT that bulk_create would send for `rows` (instances of one model), without RETURNING."""
    model = type(rows[0])
    fields = [field for field in model._meta.concrete_fields if not field.generated]
    if any(row.pk is None for row in rows):
        fields = [field for field in fields if not isinstance(field, AutoField)]
    for row in rows:
        row._prepare_related_fields_for_save(operation_name="insert_together")
    query = InsertQuery(model)
    query.insert_values(fields, rows)
    ((sql, params),) = query.get_compiler(using=using).as_sql()
    return sql, tuple(params)


def insert_together(*groups: list[Model], using: str, commit_locally: bool = False) -> None:
    """Insert each group of rows (instances of one model per group) on `using`, all in one statement;
    `commit_locally`: see the module's docstring."""
    groups = [rows for rows in groups if rows]
    parts, params = [], []
    for number, rows in enumerate(groups):
        sql, group_params = _insert_sql(rows, using)
        parts.append(f"w{number} AS ({sql})")
        params.extend(group_params)
    connection = connections[using]
    last = "SELECT 1"
    if commit_locally:
        # inside a transaction, set_config(..., true) would last until that transaction's own COMMIT
        if connection.in_atomic_block:
            raise ValueError("commit_locally is for a statement that is its own transaction")
        parts.append(f"local_commit AS (SELECT {COMMIT_LOCALLY})")
        last = "SELECT 1 FROM local_commit"
    # outside a transaction the statement is the commit: one the standby did not confirm is not done
    with connection.statement_confirmed(), connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {last}", params)
    for rows in groups:
        for row in rows:
            row._state.adding, row._state.db = False, using
