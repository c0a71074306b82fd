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
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(_CLAIM, [_key(envelope, step), envelope["type"]])
            fresh = cursor.fetchone() is not None
        _count_duplicate(envelope, fresh)
        yield fresh


def inbox_apply(envelope: dict, *, using: str, effect: str, params: list, step: str = "") -> bool:
    """Claim the event and apply an effect of one statement, both in a single statement.

    For a handler whose whole effect is one UPDATE (or INSERT ... SELECT): where `inbox()` needs four
    round trips (BEGIN, the claim, the effect, COMMIT), this sends one. The claim is a data-modifying
    `WITH` before the effect, and `effect` says where the effect depends on it by `{claimed}` in its
    WHERE clause (true only when this claim inserted the key). One statement is one transaction, so
    the claim and the effect commit together or not at all, as with `inbox()`; a concurrent worker
    with the same event waits on the claim's key, then finds it taken and changes nothing. Returns
    whether this was the first time.
    """
    sql = f"WITH claim AS ({_CLAIM}), effect AS ({effect.format(claimed='EXISTS (SELECT FROM claim)')}) "
    with connections[using].cursor() as cursor:
        cursor.execute(sql + "SELECT EXISTS (SELECT FROM claim)", [_key(envelope, step), envelope["type"], *params])
        fresh = cursor.fetchone()[0]
    _count_duplicate(envelope, fresh)
    return fresh


_CLAIM = (
    "INSERT INTO events_inboxevent (key, event_type, result, created_at, updated_at) "
    "VALUES (%s, %s, '', now(), now()) ON CONFLICT (key) DO NOTHING RETURNING key"
)


def _count_duplicate(envelope: dict, fresh: bool) -> None:
    if not fresh:
        DUPLICATES_SKIPPED.labels(envelope["type"]).inc()


def inbox_result(envelope: dict, *, using: str, step: str = "") -> str | None:
    """What was recorded for an event step (None if it was never applied)."""
    row = InboxEvent.objects.using(using).filter(key=_key(envelope, step)).only("result").first()
    return None if row is None else row.result


def set_inbox_result(envelope: dict, *, using: str, result: str, step: str = "") -> None:
    InboxEvent.objects.using(using).filter(key=_key(envelope, step)).update(result=result)
