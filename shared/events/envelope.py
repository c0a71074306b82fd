"""The versioned envelope every event travels in, checked against `contracts.events` on both sides."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts import events as contract
from shared import domains
from shared.request_id import current_request_id

REQUIRED = {"id": str, "type": str, "version": int, "occurred_at": str, "producer": str, "payload": dict}


class InvalidEnvelope(ValueError):
    """A malformed or unknown event: it goes to dead letters at once, without retries."""


def make_envelope(event_type: str, payload: dict, *, event_id: str | None = None) -> dict:
    errors = contract.payload_errors(event_type, payload)
    if errors:
        raise ValueError(f"{event_type}: {'; '.join(errors)} (see contracts/events.py)")
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "version": contract.VERSION,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": domains.current(),
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
    if envelope["type"] not in contract.EVENTS:
        raise InvalidEnvelope(f"unknown event type {envelope['type']!r}")
    if envelope["version"] != contract.VERSION:
        raise InvalidEnvelope(f"unsupported version {envelope['version']} of {envelope['type']}")
    errors = contract.payload_errors(envelope["type"], envelope["payload"])
    if errors:
        raise InvalidEnvelope("; ".join(errors))
    return envelope


def derived_event_id(source_event_id: str, name: str) -> str:
    """A stable ID for the event a handler emits in answer to `source_event_id` (so re-running the
    handler emits the same event again, which the outbox and the consumer's inbox then ignore)."""
    return str(uuid.uuid5(uuid.UUID(source_event_id), name))
