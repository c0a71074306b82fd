"""Pruning the event tables: old sent outbox rows, old inbox rows and old replayed dead letters go, in batches."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from shared.db import shards
from shared.events import pruning, tasks
from shared.events.consumers import dead_letter_alias
from shared.events.envelope import make_envelope
from shared.events.models import DeadLetter, InboxEvent, OutboxEvent

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
PLACED = {"order_id": "7", "user_id": "3", "items": [{"product_id": "5", "quantity": 1}]}
DAY = timedelta(days=1)


def _outbox(alias: str, *, sent_days_ago: float | None) -> OutboxEvent:
    envelope = make_envelope("order.placed", PLACED)
    sent_at = None if sent_days_ago is None else timezone.now() - sent_days_ago * DAY
    return OutboxEvent.objects.using(alias).create(
        id=envelope["id"], event_type="order.placed", envelope=envelope, sent_at=sent_at
    )


def _inbox(alias: str, *, days_ago: float) -> InboxEvent:
    row = InboxEvent.objects.using(alias).create(key=str(uuid.uuid4()), event_type="order.placed")
    InboxEvent.objects.using(alias).filter(key=row.key).update(created_at=timezone.now() - days_ago * DAY)
    return row


def _dead_letter(*, replayed_days_ago: float | None) -> DeadLetter:
    replayed_at = None if replayed_days_ago is None else timezone.now() - replayed_days_ago * DAY
    return DeadLetter.objects.using(dead_letter_alias()).create(
        event_id="x", event_type="order.placed", envelope={}, error="boom", replayed_at=replayed_at
    )


def _left(model, rows) -> set:
    found = (row.pk for alias in shards.primaries() for row in model.objects.using(alias).filter(pk__in=rows))
    return {str(pk) for pk in found}


def test_old_sent_outbox_rows_go_and_unsent_or_recent_ones_stay():
    # given: on every shard primary, an old sent row, a recent sent row and an old unsent row
    old, kept = [], []
    for alias in shards.primaries():
        old.append(_outbox(alias, sent_days_ago=8).pk)
        kept.append(_outbox(alias, sent_days_ago=1).pk)
        unsent = _outbox(alias, sent_days_ago=None)
        OutboxEvent.objects.using(alias).filter(pk=unsent.pk).update(created_at=timezone.now() - 30 * DAY)
        kept.append(unsent.pk)
    # when
    deleted = pruning.prune(outbox_days=7)
    # then
    assert deleted["outbox"] == len(old)
    assert _left(OutboxEvent, old) == set()
    assert _left(OutboxEvent, kept) == {str(pk) for pk in kept}


def test_inbox_rows_go_after_their_retention_only():
    old = [_inbox(alias, days_ago=31).pk for alias in shards.primaries()]
    recent = [_inbox(alias, days_ago=29).pk for alias in shards.primaries()]
    deleted = pruning.prune(inbox_days=30)
    assert deleted["inbox"] == len(old)
    assert _left(InboxEvent, old) == set()
    assert _left(InboxEvent, recent) == {str(pk) for pk in recent}


def test_only_dead_letters_replayed_long_ago_go():
    old = _dead_letter(replayed_days_ago=31)
    recent = _dead_letter(replayed_days_ago=1)
    waiting = _dead_letter(replayed_days_ago=None)
    waiting_long = _dead_letter(replayed_days_ago=None)
    DeadLetter.objects.using(dead_letter_alias()).filter(pk=waiting_long.pk).update(
        created_at=timezone.now() - 365 * DAY
    )
    assert pruning.prune(dead_letter_days=30)["dead_letters"] == 1
    left = set(DeadLetter.objects.using(dead_letter_alias()).values_list("pk", flat=True))
    assert old.pk not in left and {recent.pk, waiting.pk, waiting_long.pk} <= left


def test_rows_go_in_batches_until_none_is_left():
    alias = shards.primaries()[0]
    rows = [_inbox(alias, days_ago=40).pk for _ in range(7)]
    assert pruning.prune(inbox_days=30, batch=3)["inbox"] == 7
    assert _left(InboxEvent, rows) == set()


def test_a_spent_time_budget_leaves_the_rest_for_the_next_run():
    alias = shards.primaries()[0]
    rows = [_inbox(alias, days_ago=40).pk for _ in range(3)]
    assert pruning.prune(inbox_days=30, budget_seconds=0) == {"outbox": 0, "inbox": 0, "dead_letters": 0}
    assert _left(InboxEvent, rows) == {str(pk) for pk in rows}


def test_the_settings_give_the_retention_and_every_worker_prunes_on_its_beat():
    assert settings.INBOX_RETENTION_DAYS > settings.OUTBOX_RETENTION_DAYS >= 1
    assert settings.CELERY_BEAT_SCHEDULE["prune-events"]["task"] == tasks.prune_events.name == "events.prune"
    old = _inbox(shards.primaries()[0], days_ago=settings.INBOX_RETENTION_DAYS + 1)
    tasks.prune_events()
    assert _left(InboxEvent, [old.pk]) == set()


def test_the_command_prunes_with_the_given_retention(capsys):
    rows = [_inbox(alias, days_ago=3).pk for alias in shards.primaries()]
    call_command("prune_events", "--inbox-days", "2")
    assert f"inbox={len(rows)}" in capsys.readouterr().out
    assert _left(InboxEvent, rows) == set()
