"""The request ID of the work in hand, carried by log lines, calls to other services and new events.

The middleware binds the ID of each request (`shared/http/middleware.py`), the event task the ID of
the request that caused the event (`shared/events/tasks.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The ID bound for the work in hand; "-" outside any."""
    return _request_id.get()


@contextmanager
def bind_request_id(request_id: str) -> Iterator[str]:
    """Make `request_id` the current one inside the `with` block, and the previous one again after it."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)
