"""The versioned envelope every event travels in, and its validation on the consumer side."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings

from shared.events.routes import EVENT_ROUTES, EVENT_VERSION
from shared.http.middleware import current_request_id

REQUIRED = {"id": str, "type": str, "version": int, "occurred_at": str, "producer": str, "payload": dict}


class InvalidEnvelope(ValueError):
    """A malformed or unknown event: it goes to dead letters at once, without retries."""


def make_envelope(event_type: str, payload: dict, *, event_id: str | None = None) -> dict:
    if event_type not in EVENT_ROUTES:
        raise ValueError(f"unknown event type {event_type!r}: declare it in shared/events/routes.py")
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "version": EVENT_VERSION,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": settings.SERVICE_NAME,
        "request_id": current_request_id(),
        "payload": payload,
    }


def validate_envelope(envelope) -> dict:
    if not isinstance(envelope, dict):
        raise InvalidEnvelope("the event is not a JSON object")
    for field, kind in REQUIRED.items():
        if not isinstance(envelope.get(field), kind):
            raise InvalidEnvelope(f"field {field!r} is missing or not a {kind.__name__}")
    try:
        uuid.UUID(envelope["id"])
    except ValueError:
        raise InvalidEnvelope("field 'id' is not a UUID") from None
    if envelope["type"] not in EVENT_ROUTES:
        raise InvalidEnvelope(f"unknown event type {envelope['type']!r}")
    if envelope["version"] != EVENT_VERSION:
        raise InvalidEnvelope(f"unsupported version {envelope['version']} of {envelope['type']}")
    return envelope


def derived_event_id(source_event_id: str, name: str) -> str:
    """A stable ID for the event a handler emits in answer to `source_event_id` (so re-running the
    handler emits the same event again, which the outbox and the consumer's inbox then ignore)."""
    return str(uuid.uuid5(uuid.UUID(source_event_id), name))
