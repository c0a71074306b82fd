"""Pruning the event tables on a schedule (`events.prune`, every worker's beat): none of them grows forever.

- outbox rows sent more than OUTBOX_RETENTION_DAYS ago (an unsent row is never deleted);
- inbox rows written more than INBOX_RETENTION_DAYS ago: far longer than any redelivery of an event
  (visibility timeout, retries with backoff), so a late duplicate still finds its claim;
- dead letters replayed more than DEAD_LETTER_RETENTION_DAYS ago (one never replayed is kept).

Each table is pruned on every shard primary (dead letters on the home server) in batches of
EVENT_PRUNE_BATCH rows, one short transaction each, oldest first, until nothing is left or the time
budget is spent; the next run goes on from there.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from shared.db import shards
from shared.events.consumers import dead_letter_alias

logger = logging.getLogger(__name__)

# table, the column that says how old a row is, its primary key; a row qualifies when that column is
# older than the cutoff (NULL never qualifies: unsent outbox rows, dead letters not replayed)
TABLES = {
    "outbox": ("events_outboxevent", "sent_at", "id"),
    "inbox": ("events_inboxevent", "created_at", "key"),
    "dead_letters": ("events_deadletter", "replayed_at", "id"),
}


def _delete_batch(alias: str, table: str, column: str, key: str, cutoff, batch: int) -> int:
    sql = (
        f"DELETE FROM {table} WHERE {key} IN "
        f"(SELECT {key} FROM {table} WHERE {column} < %s ORDER BY {column} LIMIT %s FOR UPDATE SKIP LOCKED)"
    )
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(sql, [cutoff, batch])
        return cursor.rowcount


def prune_table(alias: str, name: str, *, older_than: timedelta, batch: int, deadline: float) -> int:
    """Delete the rows of table `name` (a key of TABLES) on `alias` older than `older_than`; returns how many."""
    table, column, key = TABLES[name]
    cutoff = timezone.now() - older_than
    deleted = 0
    while time.monotonic() < deadline:
        count = _delete_batch(alias, table, column, key, cutoff, batch)
        deleted += count
        if count < batch:
            break
    return deleted


def prune(
    *,
    outbox_days: float | None = None,
    inbox_days: float | None = None,
    dead_letter_days: float | None = None,
    batch: int | None = None,
    budget_seconds: float = 10.0,
) -> dict[str, int]:
    """Prune every event table of this service (settings give what is not passed); rows deleted per table."""
    days = {
        "outbox": settings.OUTBOX_RETENTION_DAYS if outbox_days is None else outbox_days,
        "inbox": settings.INBOX_RETENTION_DAYS if inbox_days is None else inbox_days,
        "dead_letters": settings.DEAD_LETTER_RETENTION_DAYS if dead_letter_days is None else dead_letter_days,
    }
    batch = batch or settings.EVENT_PRUNE_BATCH
    deadline = time.monotonic() + budget_seconds
    deleted = dict.fromkeys(TABLES, 0)
    for name in TABLES:
        aliases = [dead_letter_alias()] if name == "dead_letters" else shards.primaries()
        for alias in aliases:
            deleted[name] += prune_table(
                alias, name, older_than=timedelta(days=days[name]), batch=batch, deadline=deadline
            )
    if any(deleted.values()):
        logger.info("pruned event tables: %s", deleted)
    return deleted
