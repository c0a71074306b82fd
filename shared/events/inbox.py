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
            cursor.execute(_CLAIM, _claim_params(envelope, step))
            fresh = cursor.fetchone() is not None
        _count_duplicate(envelope, fresh)
        yield fresh


def inbox_apply(
    envelope: dict, *, using: str, effects: dict[str, str], params: dict, result: str = "", step: str = ""
) -> tuple[bool, list[tuple]]:
    """Claim the event and apply an effect written as SQL, both in a single statement.

    For a handler whose effect is a few data-modifying statements that SQL can chain: where `inbox()`
    needs a round trip for the claim and one for each statement of the effect (and, outside a
    transaction, BEGIN and COMMIT), this sends one. The claim is the first data-modifying `WITH`;
    `effects` are the next ones, by name and in order (each may read those before it, e.g. an INSERT
    from an UPDATE's RETURNING), and each says where it depends on the claim by `{claimed}` in its
    WHERE clause: true only when this claim inserted the key. `params` are named (`%(name)s`).

    One statement is one transaction: the claim and the effects commit together or not at all, as
    with `inbox()`, and inside the caller's transaction they commit with it. In autocommit, a commit
    whose wait for the synchronous standby was cancelled raises CommitUnconfirmed, as a transaction's
    COMMIT does (the task is retried; the claim makes the retry a no-op if the first attempt survived).
    A concurrent worker with the same event waits on the claim's key, then finds it taken and changes
    nothing. Returns whether
    this was the first time, and the rows of `result` (a SELECT over the effects' RETURNING; none
    without it; a row of NULLs only is taken for no row).
    """
    chain = ", ".join(f"{name} AS ({sql.format(claimed=_CLAIMED)})" for name, sql in effects.items())
    sql = f"WITH claim AS ({_CLAIM}), {chain} SELECT EXISTS (SELECT FROM claim)"
    if result:  # one row even when `result` has none, so that the claim's answer always comes back
        sql += f", result.* FROM (VALUES (0)) AS one (n) LEFT JOIN ({result}) AS result ON true"
    connection = connections[using]
    # outside a transaction the statement is the commit: one the standby did not confirm is not done
    with connection.statement_confirmed(), connection.cursor() as cursor:
        cursor.execute(sql, {**params, **_claim_params(envelope, step)})
        rows = cursor.fetchall()
    fresh = rows[0][0]
    _count_duplicate(envelope, fresh)
    return fresh, [row[1:] for row in rows if result and any(value is not None for value in row[1:])]


_CLAIM = (
    "INSERT INTO events_inboxevent (key, event_type, result, created_at, updated_at) "
    "VALUES (%(inbox_key)s, %(inbox_event_type)s, '', now(), now()) ON CONFLICT (key) DO NOTHING RETURNING key"
)
_CLAIMED = "EXISTS (SELECT FROM claim)"


def _claim_params(envelope: dict, step: str) -> dict:
    return {"inbox_key": _key(envelope, step), "inbox_event_type": envelope["type"]}


def _count_duplicate(envelope: dict, fresh: bool) -> None:
    if not fresh:
        DUPLICATES_SKIPPED.labels(envelope["type"]).inc()


def inbox_result(envelope: dict, *, using: str, step: str = "") -> str | None:
    """What was recorded for an event step (None if it was never applied)."""
    row = InboxEvent.objects.using(using).filter(key=_key(envelope, step)).only("result").first()
    return None if row is None else row.result


def set_inbox_result(envelope: dict, *, using: str, result: str, step: str = "") -> None:
    InboxEvent.objects.using(using).filter(key=_key(envelope, step)).update(result=result)
