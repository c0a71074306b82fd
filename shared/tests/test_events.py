import os
import threading
import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.db import DataError, connections, transaction
from django.test.utils import CaptureQueriesContext

from shared.errors import ShardMoving
from shared.events import consumers, outbox, tasks
from shared.events.envelope import InvalidEnvelope, derived_event_id, make_envelope, validate_envelope
from shared.events.inbox import inbox, inbox_apply
from shared.events.models import DeadLetter, InboxEvent, OutboxEvent

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
PLACED = {"order_id": "7", "user_id": "3", "items": [{"product_id": "5", "quantity": 1}]}


def test_envelope_is_versioned_and_validated():
    envelope = make_envelope("order.placed", PLACED)
    assert validate_envelope(envelope) is envelope
    assert {"id", "type", "version", "occurred_at", "producer", "request_id", "payload"} <= set(envelope)
    broken_payload = {**envelope, "payload": {"order_id": 7}}
    for broken in (
        {**envelope, "version": 2},
        {**envelope, "type": "nope"},
        {**envelope, "id": "x"},
        "text",
        broken_payload,
    ):
        with pytest.raises(InvalidEnvelope):
            validate_envelope(broken)


def test_a_payload_that_breaks_the_contract_is_refused_at_publishing():
    with pytest.raises(ValueError, match="user_id"):
        make_envelope("order.placed", {"order_id": "7", "items": []})


def test_derived_ids_are_stable():
    source = str(uuid.uuid4())
    assert derived_event_id(source, "outcome") == derived_event_id(source, "outcome") != derived_event_id(source, "x")


def test_inbox_claims_an_event_once():
    envelope = make_envelope("order.placed", PLACED)
    with inbox(envelope, using="db0") as first:
        pass
    with inbox(envelope, using="db0") as second:
        pass
    assert (first, second) == (True, False)


def test_a_failing_effect_releases_the_claim():
    envelope = make_envelope("order.placed", PLACED)
    with pytest.raises(RuntimeError), inbox(envelope, using="db0"):
        raise RuntimeError("effect failed")
    with inbox(envelope, using="db0") as fresh:
        assert fresh


def _count_once(envelope, user_id, *, value="1") -> bool:
    fresh, _ = inbox_apply(
        envelope,
        using="db0",
        effects={"counted": "UPDATE auth_user SET last_name = last_name || %(value)s WHERE id = %(id)s AND {claimed}"},
        params={"value": value, "id": user_id},
    )
    return fresh


def test_inbox_apply_claims_and_applies_in_one_statement_once():
    user = User.objects.using("db0").create(username="counted", last_name="")
    envelope = make_envelope("order.placed", PLACED)
    with CaptureQueriesContext(connections["db0"]) as first_time:
        first = _count_once(envelope, user.id)
    assert len(first_time.captured_queries) == 1  # no BEGIN, no COMMIT: one statement is one transaction
    assert (first, _count_once(envelope, user.id), _count_once(envelope, user.id)) == (True, False, False)
    assert User.objects.using("db0").get(id=user.id).last_name == "1"


def test_inbox_apply_records_no_claim_when_its_effect_fails():
    user = User.objects.using("db0").create(username="failing", last_name="")
    envelope = make_envelope("order.placed", PLACED)
    with pytest.raises(DataError):
        _count_once(envelope, user.id, value="x" * 200)  # longer than last_name's 150 characters
    assert not InboxEvent.objects.using("db0").filter(key=envelope["id"]).exists()
    assert _count_once(envelope, user.id)
    assert User.objects.using("db0").get(id=user.id).last_name == "1"


def test_inbox_apply_chains_effects_and_returns_their_rows_the_first_time_only():
    user = User.objects.using("db0").create(username="chained", last_name="")
    effects = {
        "renamed": "UPDATE auth_user SET last_name = %(name)s WHERE id = %(id)s AND {claimed} RETURNING last_name",
        "grouped": "INSERT INTO auth_group (name) SELECT 'group-' || last_name FROM renamed RETURNING name",
    }
    result = "SELECT renamed.last_name, grouped.name FROM renamed, grouped"

    def apply(envelope, user_id):
        return inbox_apply(envelope, using="db0", effects=effects, params={"name": "x", "id": user_id}, result=result)

    envelope = make_envelope("order.placed", PLACED)
    assert apply(envelope, user.id) == (True, [("x", "group-x")])
    assert apply(envelope, user.id) == (False, [])
    assert Group.objects.using("db0").filter(name="group-x").count() == 1
    # claimed, but no row to change: the claim is recorded, and no row comes back
    assert apply(make_envelope("order.placed", PLACED), user.id + 1000) == (True, [])


def test_publish_writes_the_outbox_in_the_transaction_and_relays_after_commit(monkeypatch):
    sent = []
    monkeypatch.setattr(outbox, "send", lambda envelope: sent.append(envelope["id"]))
    with transaction.atomic(using="db1"):
        event_id = outbox.publish("order.placed", PLACED, using="db1")
        assert sent == []  # nothing leaves before commit
    assert sent == [event_id]
    assert OutboxEvent.objects.using("db1").get(id=event_id).sent_at is not None


def test_sent_events_of_many_commits_are_marked_in_one_statement_by_the_processs_thread(monkeypatch, settings):
    settings.OUTBOX_MARK_SECONDS = 60  # the thread's first flush is a minute away: the test flushes itself
    marks = outbox.SentMarks()
    monkeypatch.setattr(outbox, "sent_marks", marks)
    monkeypatch.setattr(outbox, "send", lambda envelope: None)
    ids = []
    for _ in range(3):
        with transaction.atomic(using="db1"):
            ids.append(outbox.publish("order.placed", PLACED, using="db1"))
    sent = OutboxEvent.objects.using("db1").filter(id__in=ids, sent_at__isnull=False)
    assert not sent.exists()  # sent, the marks wait for the thread
    assert [t for t in threading.enumerate() if t.name == "outbox-marks" and t.is_alive()]
    with CaptureQueriesContext(connections["db1"]) as statements:
        marks.flush()
    assert len(statements) == 1 and sent.count() == 3


def test_a_forked_child_starts_its_marks_afresh_even_while_the_parents_thread_holds_the_lock():
    marks = outbox.SentMarks()
    marks._pending, marks._flushing = {"db1": {"sent-by-the-parent"}}, True
    readable, writable = os.pipe()
    with marks._lock:  # as the parent's flushing thread may hold it at the fork
        child = os.fork()
        if child == 0:
            fresh = marks._pending == {} and not marks._flushing and marks._lock.acquire(blocking=False)
            os.write(writable, b"1" if fresh else b"0")
            os._exit(0)
    os.waitpid(child, 0)
    assert os.read(readable, 1) == b"1"
    assert marks._pending == {"db1": {"sent-by-the-parent"}}  # the parent's marks stay the parent's


def test_rolled_back_event_is_never_sent(monkeypatch):
    sent = []
    monkeypatch.setattr(outbox, "send", lambda envelope: sent.append(envelope))
    with pytest.raises(ValueError), transaction.atomic(using="db0"):
        outbox.publish("order.placed", PLACED, using="db0")
        raise ValueError("the change failed")
    assert sent == [] and not OutboxEvent.objects.using("db0").exists()


def test_unsent_events_are_swept_later(monkeypatch):
    def broker_down(envelope):
        raise ConnectionError("broker down")

    monkeypatch.setattr(outbox, "send", broker_down)
    with transaction.atomic(using="db0"):
        event_id = outbox.publish("order.placed", PLACED, using="db0")
    assert OutboxEvent.objects.using("db0").get(id=event_id).sent_at is None
    sent = []
    monkeypatch.setattr(outbox, "send", lambda envelope: sent.append(envelope["id"]))
    assert outbox.sweep(older_than_seconds=0) == 1
    assert sent == [event_id]


def test_failing_handler_is_dead_lettered_after_the_last_retry(monkeypatch, settings):
    settings.EVENT_MAX_RETRIES = 0
    monkeypatch.setitem(consumers._handlers, ("product", "order.placed"), lambda envelope: 1 / 0)
    envelope = make_envelope("order.placed", PLACED)
    tasks.handle_event.apply(args=[envelope])
    letter = DeadLetter.objects.using("db0").get(event_id=envelope["id"])
    assert "ZeroDivisionError" in letter.error


def test_a_shard_move_delays_an_event_without_spending_its_retries(monkeypatch, settings):
    # given: a handler whose shard is moving, on the last retry an event has
    settings.EVENT_MAX_RETRIES = 0

    def moving(envelope):
        raise ShardMoving(shard=3)

    monkeypatch.setitem(consumers._handlers, ("product", "order.placed"), moving)
    sent = []
    monkeypatch.setattr(tasks.handle_event, "apply_async", lambda args, **options: sent.append((args, options)))
    envelope = make_envelope("order.placed", PLACED)
    # when
    tasks.handle_event.apply(args=[envelope])
    # then: sent again after the move's Retry-After with the retries it had, and no dead letter
    assert sent == [((envelope,), {"countdown": ShardMoving.retry_after, "retries": 0})]
    assert not DeadLetter.objects.using("db0").filter(event_id=envelope["id"]).exists()


def test_invalid_event_is_dead_lettered_at_once():
    tasks.handle_event.apply(args=[{"type": "order.placed"}])
    assert DeadLetter.objects.using("db0").get().error.startswith("invalid:")


def test_replay_sends_the_event_again(monkeypatch):
    calls = []
    from celery import current_app

    monkeypatch.setattr(current_app, "send_task", lambda name, args, queue: calls.append((name, args[0]["id"], queue)))
    letter = consumers.store_dead_letter(make_envelope("order.placed", PLACED), "boom", attempts=5)
    consumers.replay(letter)
    assert calls == [("events.handle", letter.event_id, "product")]
    assert DeadLetter.objects.using("db0").get(id=letter.id).replayed_at is not None


def test_a_sent_event_is_shown_by_its_type_and_id_not_by_a_repr_of_its_payload(monkeypatch):
    from celery import current_app

    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, **options: sent.append(options))
    envelope = make_envelope("order.placed", PLACED)
    outbox.send(envelope)
    assert [(o["queue"], o["argsrepr"], o["kwargsrepr"]) for o in sent] == [
        ("product", f"order.placed {envelope['id']}", "{}")
    ]
