"""The Celery tasks every service's worker runs: handling one event, sweeping the outbox, pruning."""

import logging

from celery import shared_task
from django.conf import settings

from shared.errors import ShardMoving
from shared.events import consumers, outbox, pruning
from shared.events.envelope import InvalidEnvelope
from shared.request_id import bind_request_id

logger = logging.getLogger(__name__)


@shared_task(name="events.handle", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def handle_event(self, envelope):
    """Apply an event; retry failures with backoff; after EVENT_MAX_RETRIES keep it as a dead letter."""
    # the request that caused the event: its ID is on every log line and on the events this one causes
    request_id = str(envelope.get("request_id") or envelope.get("id") or "-") if isinstance(envelope, dict) else "-"
    with bind_request_id(request_id):
        _handle(self, envelope)


def _handle(task, envelope) -> None:
    try:
        consumers.process(envelope)
    except InvalidEnvelope as exc:
        consumers.store_dead_letter(envelope, f"invalid: {exc}", attempts=task.request.retries + 1)
    except ShardMoving as exc:
        # not a failure of the event: its shard is being moved. Sent again after the move's Retry-After
        # with the retries it has, so a long move never spends the event's retry budget (the inbox
        # makes the new delivery harmless should this one be redelivered too)
        logger.info("event %s waits %ss: shard %s is moving", envelope.get("id"), exc.retry_after, exc.shard)
        task.apply_async((envelope,), countdown=exc.retry_after, retries=task.request.retries)
    except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
        if task.request.retries >= settings.EVENT_MAX_RETRIES:
            consumers.store_dead_letter(envelope, f"{exc.__class__.__name__}: {exc}", task.request.retries + 1)
            return
        delay = consumers.backoff_seconds(task.request.retries)
        logger.warning(
            "event %s failed (%s); retry %s in %.1fs", envelope.get("id"), exc, task.request.retries + 1, delay
        )
        raise task.retry(exc=exc, countdown=delay) from None


@shared_task(name="events.sweep_outbox", ignore_result=True, expires=10)
def sweep_outbox():
    sent = outbox.sweep()
    if sent:
        logger.info("outbox sweep sent %s events", sent)


@shared_task(name="events.prune", ignore_result=True, expires=300)
def prune_events():
    """Delete old sent outbox rows, old inbox rows and old replayed dead letters, in batches."""
    pruning.prune()
