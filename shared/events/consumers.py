"""Registering event handlers and running one event through them, with retries and dead letters."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from prometheus_client import Histogram

from shared import domains
from shared.db import shards
from shared.events.envelope import InvalidEnvelope, validate_envelope
from shared.events.models import DeadLetter

logger = logging.getLogger(__name__)
Handler = Callable[[dict], None]
# from the event's publishing (written to the outbox: its occurred_at) to its handler's end: outbox relay,
# queue and handling together (celery_task_queue_wait_seconds is the queue's part alone)
EVENT_LATENCY = Histogram(
    "events_handled_latency_seconds",
    "From an event's publishing to the end of its handler, per event type",
    ["event_type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
# (domain, event type) -> handler: a service has one domain; the monolith's domains may share a type
_handlers: dict[tuple[str, str], Handler] = {}


def consumer(event_type: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as its domain's handler of `event_type`."""

    def register(handler: Handler) -> Handler:
        _handlers[(domains.of_module(handler.__module__), event_type)] = handler
        return handler

    return register


def handler_for(event_type: str) -> Handler:
    try:
        return _handlers[(domains.current(), event_type)]
    except KeyError:
        raise InvalidEnvelope(f"{domains.current()} has no handler for {event_type!r}") from None


def dead_letter_alias() -> str:
    """Dead letters of a service are kept on its home server."""
    return shards.home_primary()


def store_dead_letter(envelope, error: str, attempts: int) -> DeadLetter:
    envelope_dict = envelope if isinstance(envelope, dict) else {"raw": repr(envelope)}
    letter = DeadLetter.objects.using(dead_letter_alias()).create(
        event_id=str(envelope_dict.get("id", ""))[:64],
        event_type=str(envelope_dict.get("type", ""))[:64],
        envelope=envelope_dict,
        error=error[:4000],
        attempts=attempts,
    )
    logger.error("event %s (%s) stored as dead letter %s: %s", letter.event_id, letter.event_type, letter.id, error)
    return letter


def backoff_seconds(retries: int) -> float:
    """Exponential backoff with full jitter: up to base * 2^retries seconds."""
    return random.uniform(0, settings.EVENT_RETRY_BASE_SECONDS * (2**retries)) + 0.1


def process(envelope) -> None:
    """Validate and apply one event; InvalidEnvelope means it can never succeed."""
    envelope = validate_envelope(envelope)
    handler_for(envelope["type"])(envelope)
    try:
        published = datetime.fromisoformat(envelope["occurred_at"])
    except ValueError:
        published = None
    if published is not None and published.tzinfo is not None:
        EVENT_LATENCY.labels(envelope["type"]).observe(max((timezone.now() - published).total_seconds(), 0.0))
    logger.info("applied %s %s from %s", envelope["type"], envelope["id"], envelope["producer"])


def replay(letter: DeadLetter) -> None:
    """Send a dead letter's event to this domain's queue again (its inbox still prevents doubles)."""
    from celery import current_app

    current_app.send_task("events.handle", args=[letter.envelope], queue=domains.current())
    DeadLetter.objects.using(dead_letter_alias()).filter(id=letter.id).update(replayed_at=timezone.now())
