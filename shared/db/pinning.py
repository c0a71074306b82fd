"""Read-your-writes: after a client writes, its reads go to the primary for `PIN_SECONDS`.

The pin travels with the client as a cookie, so it works through nginx and the gateway (which pass
cookies both ways) and whichever service replica answers the next request.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from django.conf import settings

_pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)
# a GET/HEAD request cannot write; anything else (unsafe requests, workers, commands) may
_read_only: ContextVar[bool] = ContextVar("read_only_request", default=False)

COOKIE = "primary_pin"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_pinned() -> bool:
    return _pinned.get()


def is_read_only() -> bool:
    return _read_only.get()


class PrimaryPinMiddleware:
    """Pins a request to primaries if it writes or carries a live pin cookie; sets the cookie after a write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = request.method not in SAFE_METHODS
        try:
            pinned_until = float(request.COOKIES.get(COOKIE, "0"))
        except ValueError:
            pinned_until = 0.0
        token = _pinned.set(writes or pinned_until > time.time())
        read_only_token = _read_only.set(not writes)
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
            _read_only.reset(read_only_token)
        if writes and response.status_code < 400:
            seconds = settings.PIN_SECONDS
            response.set_cookie(COOKIE, f"{time.time() + seconds:.3f}", max_age=seconds, httponly=True, samesite="Lax")
        return response
