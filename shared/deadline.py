"""The time budget of the work in hand: one deadline per request, shared by every call it makes.

A request gets `REQUEST_BUDGET_SECONDS` (12 s; nginx answers 504 itself at 15 s) at the first hop, or
what its caller said is left (`X-Request-Budget-Ms`, which `clients.py` sends with every call: deadline
propagation, as gRPC does it). A call to another service may use only what is left, its one retry
included, so no hop keeps working, or retrying, after the hop before it has given up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

HEADER = "X-Request-Budget-Ms"
_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


def remaining() -> float:
    """Seconds left for the work in hand (the whole budget when none is bound: a task, a command)."""
    deadline = _deadline.get()
    return settings.REQUEST_BUDGET_SECONDS if deadline is None else deadline - time.monotonic()


def budget_from_header(value: str | None) -> float:
    """The budget a caller sent (milliseconds), never more than ours; ours when absent or not a number."""
    ours = settings.REQUEST_BUDGET_SECONDS
    if not value or not value.isascii() or not value.isdigit():
        return ours
    return min(ours, int(value) / 1000)


@contextmanager
def bind_budget(seconds: float) -> Iterator[None]:
    """Inside the `with` block, the work in hand must be done within `seconds`."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)
