"""Read-your-writes: after a client writes, its reads go to the primary for `PIN_SECONDS`.

The pin travels with the client as a cookie, so it works through nginx and the gateway (which pass
cookies both ways) and whichever service replica answers the next request. The cookie is the time the
pin ends, signed (every Django process shares SECRET_KEY) and at most `PIN_SECONDS` ahead: a client
can drop its pin but cannot make one up or stretch one to send its reads to the primaries.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from django.conf import settings
from django.core import signing

_pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)
# a GET/HEAD request cannot write; anything else (unsafe requests, workers, commands) may
_read_only: ContextVar[bool] = ContextVar("read_only_request", default=False)

COOKIE = "primary_pin"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_SALT = "shared.db.pinning"


def is_pinned() -> bool:
    return _pinned.get()


def is_read_only() -> bool:
    return _read_only.get()


def pin_cookie_value(now: float | None = None) -> str:
    """The cookie value of a pin that ends `PIN_SECONDS` from `now`."""
    until_ms = int(((time.time() if now is None else now) + settings.PIN_SECONDS) * 1000)
    return signing.TimestampSigner(salt=_SALT).sign(str(until_ms))


def pinned_by_cookie(value: str | None, now: float | None = None) -> bool:
    """Whether a pin cookie is live: signed by us less than `PIN_SECONDS` ago, ending after `now` and
    at most `PIN_SECONDS` after it. Anything else (no cookie, a bad signature, garbage) is no pin."""
    if not value:
        return False
    now = time.time() if now is None else now
    try:
        # the signature's timestamp has whole seconds: allow the one second it may round down
        until = int(signing.TimestampSigner(salt=_SALT).unsign(value, max_age=settings.PIN_SECONDS + 1)) / 1000
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return False
    return now < until <= now + settings.PIN_SECONDS


class PrimaryPinMiddleware:
    """Pins a request to primaries if it writes or carries a live pin cookie; sets the cookie after a write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = request.method not in SAFE_METHODS
        token = _pinned.set(writes or pinned_by_cookie(request.COOKIES.get(COOKIE)))
        read_only_token = _read_only.set(not writes)
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
            _read_only.reset(read_only_token)
        if writes and response.status_code < 400:
            response.set_cookie(COOKIE, pin_cookie_value(), max_age=settings.PIN_SECONDS, httponly=True, samesite="Lax")
        return response
