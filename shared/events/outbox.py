"""Publishing: the transactional outbox, its relay after commit, and the sweep of unsent rows."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from contracts.events import consumers_of
from shared.db import shards
from shared.events.envelope import make_envelope
from shared.events.models import OutboxEvent

logger = logging.getLogger(__name__)
HANDLE_TASK = "events.handle"
# sending must not hold a web request for long while the broker is down: the sweep sends later
SEND_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def publish(event_type: str, payload: dict, *, using: str, event_id: str | None = None) -> str:
    """Write an event to the outbox of `using` in the current transaction; relay it after commit.

    Call it inside `transaction.atomic(using=using)` with the change the event reports. An event ID
    given by the caller (see `derived_event_id`) is written once however often publish is called.
    """
    return publish_row(outbox_row(event_type, payload, event_id=event_id), using=using)


def publish_row(row: OutboxEvent, *, using: str) -> str:
    """`publish` for a row already prepared (`outbox_row`)."""
    OutboxEvent.objects.using(using).bulk_create([row], ignore_conflicts=True)
    relay_on_commit(using, [row.envelope])
    return row.id


def outbox_row(event_type: str, payload: dict, *, event_id: str | None = None) -> OutboxEvent:
    """The outbox row of a new event, not yet written: for a write that inserts it with its own rows in
    one statement (`shared.db.inserts.insert_together`), then calls `relay_on_commit` with its envelope."""
    envelope = make_envelope(event_type, payload, event_id=event_id)
    return OutboxEvent(id=envelope["id"], event_type=event_type, envelope=envelope)


def outbox_effect(row: OutboxEvent, *, when: str, using: str, name: str) -> tuple[str, dict]:
    """`row`'s INSERT as an effect of `inbox_apply` (`shared/events/inbox.py`), written only `when` (an
    SQL condition over the effects before it; `{claimed}` is the inbox claim): for a handler whose
    answer depends on what that same statement did, e.g. `stock.reserved` or `stock.rejected`, each
    prepared with the same ID and written under the opposite condition. Its parameters are named after
    `name`; a row of the same ID written before is left as it is (`publish` ignores it too). Once the
    statement has run, `relay_on_commit` the envelope that was written."""
    envelope = OutboxEvent._meta.get_field("envelope").get_db_prep_save(row.envelope, connections[using])
    sql = (
        f"INSERT INTO {OutboxEvent._meta.db_table} (id, event_type, envelope, attempts, created_at, updated_at) "
        f"SELECT %({name}_id)s::uuid, %({name}_type)s, %({name}_envelope)s, 0, now(), now() WHERE {when} "
        "ON CONFLICT (id) DO NOTHING"
    )
    return sql, {f"{name}_id": str(row.id), f"{name}_type": row.event_type, f"{name}_envelope": envelope}


def relay_on_commit(using: str, envelopes: list[dict]) -> None:
    """`relay` the events once the transaction that wrote them commits (at once outside a transaction)."""
    transaction.on_commit(lambda: relay(using, envelopes), using=using)


def send(envelope: dict) -> None:
    """Put the event on the queue of every consumer of its type.

    The message's `argsrepr` (what Flower and `celery inspect` show of a task) names the event; without
    it Celery builds a bounded repr of the whole envelope for every message it sends.
    """
    shown = f"{envelope['type']} {envelope['id']}"
    for service in consumers_of(envelope["type"]):
        current_app.send_task(
            HANDLE_TASK,
            args=[envelope],
            queue=service,
            retry=True,
            retry_policy=SEND_RETRY_POLICY,
            argsrepr=shown,
            kwargsrepr="{}",
        )


def _send_rows(using: str, rows) -> int:
    sent = 0
    for row in rows:
        try:
            send(row.envelope)
        except Exception as exc:  # noqa: BLE001 - the broker may be down; the row stays unsent
            OutboxEvent.objects.using(using).filter(id=row.id).update(attempts=row.attempts + 1)
            logger.warning("outbox %s: event %s not sent yet: %s", using, row.id, exc)
            break
        OutboxEvent.objects.using(using).filter(id=row.id).update(sent_at=timezone.now())
        sent += 1
    return sent


class SentMarks:
    """The events this process's relay sent, marked `sent_at` in one statement per server every
    `OUTBOX_MARK_SECONDS` by a thread of the process (started with the first mark, again in a forked
    child), instead of one UPDATE per commit: under load, one statement marks the events of many
    orders. A mark lost with its process, or a flush that fails, only means that the sweep sends the
    event again after its cutoff (2 s), which its consumers' inboxes ignore.
    """

    def __init__(self) -> None:
        self._start_over()
        # a forked child has no thread of its parent's, and must not inherit a lock its thread held
        # or marks that the parent flushes
        os.register_at_fork(after_in_child=self._start_over)

    def _start_over(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, set[str]] = {}
        self._flushing = False

    def add(self, using: str, event_ids: list[str]) -> None:
        if settings.OUTBOX_MARK_SECONDS <= 0:
            self._mark(using, set(event_ids))
            return
        with self._lock:
            self._pending.setdefault(using, set()).update(event_ids)
            if not self._flushing:
                self._flushing = True
                every = settings.OUTBOX_MARK_SECONDS
                threading.Thread(target=self._flush_forever, args=(every,), name="outbox-marks", daemon=True).start()

    def flush(self) -> None:
        """Mark everything waiting now (the thread's loop; a gunicorn worker's exit)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for using, event_ids in pending.items():
            self._mark(using, event_ids)

    def _flush_forever(self, every: float) -> None:
        while True:
            time.sleep(every)
            self.flush()

    @staticmethod
    def _mark(using: str, event_ids: set[str]) -> None:
        try:
            OutboxEvent.objects.using(using).filter(id__in=event_ids, sent_at=None).update(sent_at=timezone.now())
        except Exception:  # noqa: BLE001 - the sweep sends them again; a broken connection is made anew
            logger.exception("outbox %s: %d sent events not marked; the sweep will resend them", using, len(event_ids))
            connections[using].close()


sent_marks = SentMarks()
atexit.register(sent_marks.flush)


def relay(using: str, envelopes: list[dict]) -> None:
    """Send just-committed events now (runs after commit; never raises into the request).

    The envelopes are the ones just written, so nothing is read back: each is sent, then the sent
    ones are marked with those of other commits (`SentMarks`). An event whose row existed already (a
    handler that ran again published it with the same derived ID) may be sent twice; its consumers'
    inboxes ignore the second one. A failed send leaves the row unsent for the sweep.
    """
    sent: list[str] = []
    try:
        for envelope in envelopes:
            send(envelope)
            sent.append(envelope["id"])
    except Exception as exc:  # noqa: BLE001 - the broker may be down; the sweep sends the rest later
        logger.warning("outbox %s: events not sent yet, the sweep will: %s", using, exc)
    if sent:
        sent_marks.add(using, sent)


def sweep(*, older_than_seconds: float = 2.0, batch: int = 200) -> int:
    """Send every unsent outbox row of every shard primary (rows are claimed with SKIP LOCKED)."""
    total = 0
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    for alias in shards.primaries():
        with transaction.atomic(using=alias):
            rows = list(
                OutboxEvent.objects.using(alias)
                .select_for_update(skip_locked=True)
                .filter(sent_at=None, created_at__lt=cutoff)
                .order_by("created_at")[:batch]
            )
            total += _send_rows(alias, rows)
    return total
