"""Which service's worker consumes each event type: the one place this is declared.

A service's worker listens on the Celery queue named after the service.
"""

EVENT_ROUTES: dict[str, tuple[str, ...]] = {
    "order.placed": ("product",),  # product reserves stock
    "stock.reserved": ("order",),  # order becomes confirmed
    "stock.rejected": ("order",),  # order becomes rejected
    "order.confirmed": ("user",),  # user keeps order statistics
    "order.cancelled": ("product",),  # product releases the reserved stock
    "user.deleted": ("order",),  # order archives the user's orders
    "product.updated": ("product",),  # product drops the product from every cache layer
}
EVENT_VERSION = 1


def consumers_of(event_type: str) -> tuple[str, ...]:
    return EVENT_ROUTES.get(event_type, ())
