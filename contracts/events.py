"""The events the services exchange: each type, its payload's fields, who produces and who consumes it.

An event travels in the versioned envelope of `shared.events.envelope`; its payload carries IDs as
strings (64-bit IDs are not safe in JavaScript), money as decimal strings, and order lines as
`[{"product_id": "...", "quantity": n}]`. A service's worker listens on the Celery queue named after
the service, so `consumers` are also queue names.

To add an event: declare it here, publish it from the producer's services with `publish()`, and
register the handler in each consumer's `events.py` with `@consumer("<type>")`.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = 1


@dataclass(frozen=True)
class EventType:
    name: str
    producer: str
    consumers: tuple[str, ...]
    payload: dict[str, type]  # required payload fields and their JSON types
    meaning: str


EVENTS: dict[str, EventType] = {
    event.name: event
    for event in (
        EventType(
            "order.placed",
            "order",
            ("product",),
            {"order_id": str, "user_id": str, "items": list},
            "an order was stored as pending: product reserves its stock",
        ),
        EventType(
            "stock.reserved",
            "product",
            ("order",),
            {"order_id": str, "user_id": str},
            "every item of the order was reserved: the order becomes confirmed",
        ),
        EventType(
            "stock.rejected",
            "product",
            ("order",),
            {"order_id": str, "user_id": str, "reason": str},
            "some item could not be reserved (nothing was): the order becomes rejected",
        ),
        EventType(
            "order.confirmed",
            "order",
            ("user",),
            {"order_id": str, "user_id": str, "total": str},
            "an order was confirmed: user counts it in the owner's statistics",
        ),
        EventType(
            "order.cancelled",
            "order",
            ("product",),
            {"order_id": str, "items": list},
            "a confirmed order was cancelled: product releases its reserved stock",
        ),
        EventType(
            "user.deleted",
            "user",
            ("order",),
            {"user_id": str},
            "an account was deleted: order archives the user's orders",
        ),
        EventType(
            "product.updated",
            "product",
            ("product",),
            {"product_id": str},
            "a product was created, changed or deleted: every product process drops it from every cache layer",
        ),
    )
}


def consumers_of(event_type: str) -> tuple[str, ...]:
    """The services (and queue names) that consume `event_type`; none for an unknown type."""
    event = EVENTS.get(event_type)
    return event.consumers if event else ()


def payload_errors(event_type: str, payload: dict) -> list[str]:
    """What is wrong with `payload` for `event_type` (empty when it matches the contract)."""
    event = EVENTS.get(event_type)
    if event is None:
        return [f"unknown event type {event_type!r}"]
    return [
        f"payload field {field!r} is missing or not a {kind.__name__}"
        for field, kind in event.payload.items()
        if not isinstance(payload.get(field), kind)
    ]
