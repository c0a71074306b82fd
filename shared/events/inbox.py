"""Consuming: the inbox that makes a handler's effect happen once per event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction
from prometheus_client import Counter

from shared.events.models import InboxEvent

# the inbox at work: a redelivered event (a retry, a relay and the sweep both sending) had no second effect
DUPLICATES_SKIPPED = Counter(
    "events_inbox_duplicates_total", "Events (or event steps) the inbox found applied already", ["event_type"]
)


def _key(envelope: dict, step: str) -> str:
    return f"{envelope['id']}:{step}" if step else envelope["id"]


@contextmanager
def inbox(envelope: dict, *, using: str, step: str = "") -> Iterator[bool]:
    """Open a transaction on `using` and claim the event (or one `step` of it) there.

    Yields True if this is the first time: the body applies its effect, and the claim commits with
    it. Yields False if it was applied before: the body must do nothing. Two workers handling the
    same event at once serialise on the claim's primary key.
    """
    key = _key(envelope, step)
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(
                "INSERT INTO events_inboxevent (key, event_type, result, created_at, updated_at) "
                "VALUES (%s, %s, '', now(), now()) ON CONFLICT (key) DO NOTHING RETURNING key",
                [key, envelope["type"]],
            )
            fresh = cursor.fetchone() is not None
        if not fresh:
            DUPLICATES_SKIPPED.labels(envelope["type"]).inc()
        yield fresh


def inbox_result(envelope: dict, *, using: str, step: str = "") -> str | None:
    """What was recorded for an event step (None if it was never applied)."""
    row = InboxEvent.objects.using(using).filter(key=_key(envelope, step)).only("result").first()
    return None if row is None else row.result


def set_inbox_result(envelope: dict, *, using: str, result: str, step: str = "") -> None:
    InboxEvent.objects.using(using).filter(key=_key(envelope, step)).update(result=result)
