"""The application metrics that show a technique at work: inbox duplicates, Celery task latency, the
event's latency, the shard map's version."""

import time
from types import SimpleNamespace

import pytest
from celery.app.task import Context
from prometheus_client import REGISTRY

from shared import celery as celery_metrics
from shared.db import shards
from shared.db.models import ShardAssignment
from shared.events import consumers
from shared.events.envelope import make_envelope
from shared.events.inbox import inbox

PLACED = {"order_id": "7", "user_id": "3", "items": [{"product_id": "5", "quantity": 1}]}


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_redelivered_event_counts_as_an_inbox_duplicate():
    envelope = make_envelope("order.placed", PLACED)
    before = _value("events_inbox_duplicates_total", event_type="order.placed")
    for _ in range(3):
        with inbox(envelope, using="db0"):
            pass
    assert _value("events_inbox_duplicates_total", event_type="order.placed") - before == 2


def _task(name: str, **request) -> SimpleNamespace:
    return SimpleNamespace(name=name, request=Context(delivery_info={"routing_key": "product"}, **request))


def test_publishing_stamps_the_message_and_the_worker_measures_its_wait_and_runtime():
    headers: dict = {}
    celery_metrics._stamp_published(sender="events.handle", headers=headers, routing_key="product")
    assert time.time() - headers[celery_metrics.PUBLISHED_AT] < 5
    assert _value("celery_tasks_published_total", queue="product", task="events.handle") >= 1

    labels = {"queue": "product", "task": "t.wait"}
    task = _task("t.wait", published_at=time.time() - 2.0)
    celery_metrics._task_started(task_id="1", task=task)
    celery_metrics._task_finished(task_id="1", task=task, state="SUCCESS")
    assert _value("celery_task_queue_wait_seconds_count", **labels) == 1
    assert 2.0 <= _value("celery_task_queue_wait_seconds_sum", **labels) < 10
    assert _value("celery_task_runtime_seconds_count", **labels, state="SUCCESS") == 1


def test_a_delayed_task_waits_from_its_eta_not_from_its_publishing():
    eta = time.time() - 0.5
    from datetime import UTC, datetime

    task = _task("t.eta", published_at=eta - 60, eta=datetime.fromtimestamp(eta, UTC).isoformat())
    celery_metrics._task_started(task_id="2", task=task)
    assert _value("celery_task_queue_wait_seconds_sum", queue="product", task="t.eta") < 10


def test_a_task_without_the_stamp_is_timed_but_has_no_wait():
    task = _task("t.plain")
    celery_metrics._task_started(task_id="3", task=task)
    celery_metrics._task_finished(task_id="3", task=task, state="FAILURE")
    assert _value("celery_task_queue_wait_seconds_count", queue="product", task="t.plain") == 0
    assert _value("celery_task_runtime_seconds_count", queue="product", task="t.plain", state="FAILURE") == 1


def test_a_handled_event_records_its_latency_from_publishing(monkeypatch):
    monkeypatch.setitem(consumers._handlers, ("product", "order.placed"), lambda envelope: None)
    before = _value("events_handled_latency_seconds_count", event_type="order.placed")
    consumers.process(make_envelope("order.placed", PLACED))
    assert _value("events_handled_latency_seconds_count", event_type="order.placed") - before == 1


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_the_shard_map_version_is_the_time_of_its_newest_change():
    shards.map_store.forget()
    shards.shard_map()
    assert _value("shard_map_version") == 0  # the configured map alone
    ShardAssignment.objects.using(shards.home_primary()).create(shard=3, server="db0", moving=True)
    shards.map_store.forget()
    shards.shard_map()
    changed = ShardAssignment.objects.using(shards.home_primary()).get(shard=3).updated_at.timestamp()
    try:
        assert _value("shard_map_version") == pytest.approx(changed)
    finally:
        ShardAssignment.objects.using(shards.home_primary()).filter(shard=3).delete()
        shards.map_store.forget()
